/* store_sqlite.c — the SQLite implementation of store.h: one database in
 * the data directory, WAL journal, one compact table of raw events per
 * experiment (so that deleting an experiment is a DROP, not a scan). */
#include "store/store.h"

#include "base/log.h"
#include "store/store_counter.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One experiment's event table: its cached INSERT, and the records
 * appended in the open transaction, written as one row at commit (a
 * request then costs a copy, not a run of SQLite's VDBE). */
typedef struct {
    int64_t key; /* 0 = empty slot */
    sqlite3_stmt *insert;
    unsigned char *buf;
    size_t len, cap;
    uint64_t nev; /* events in buf */
} stmt_slot;

/* Checkpoints run on their own thread and connection: SQLite's automatic
 * checkpoint would copy the WAL into the database and fsync it inside
 * some commit on the event loop, stalling every request for milliseconds
 * several times a second under load. */
typedef struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    sqlite3 *db;
    int started, stop, wanted;
    char path[4096];
} checkpointer;

/* WAL size (pages) at which the checkpointer is woken. */
#define CHECKPOINT_PAGES 4000

struct ab_store {
    sqlite3 *db;
    checkpointer ckpt;
    int lock_fd;
    int in_tx;
    stmt_slot *slots;
    size_t cap, count;
    sqlite3_stmt *put_new, *put_old, *put_monitor, *health;
    /* The commit counter (store_counter.h): ctr as of the last commit,
     * tx as the open transaction will leave it; mirrored in the database
     * (table commits, row 0) and in DIR/abstat.commits after each commit. */
    sqlite3_stmt *count_exp, *count_all;
    ab_counter ctr, tx;
    int ctr_fd, ctr_sync, ctr_write_failed;
    int recover;
    ab_store_integrity integ;
    char dir[4096];
};

/* 2: events as binary records, one row per stored batch. 3: test-definition
 * history. 4: the commit counter (table commits) and checksummed rows. */
#define SCHEMA_VERSION "4"

static int fail(ab_store *s, ab_error *err, const char *what)
{
    int code = s && s->db ? sqlite3_extended_errcode(s->db) : 0;
    int full = (code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_IOERR ||
               (code & 0xff) == SQLITE_READONLY || (code & 0xff) == SQLITE_CANTOPEN;
    return ab_error_set(err, full ? 503 : 500, "store: %s: %s", what,
                        s && s->db ? sqlite3_errmsg(s->db) : "no database");
}

static int exec(ab_store *s, const char *sql, ab_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int code = sqlite3_extended_errcode(s->db) & 0xff;
        ab_error_set(err, code == SQLITE_FULL || code == SQLITE_IOERR ||
                                  code == SQLITE_READONLY ? 503 : 500,
                     "store: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int prepare(ab_store *s, const char *sql, sqlite3_stmt **st, ab_error *err)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return fail(s, err, "prepare");
    return 0;
}

/* Takes an exclusive lock on DIR/LOCK so that two daemons never share a
 * store (SQLite would allow it; our in-memory state would not). */
static int lock_dir(const char *dir, ab_error *err)
{
    char path[4096];
    int fd;
    if (snprintf(path, sizeof path, "%s/LOCK", dir) >= (int)sizeof path)
        return ab_error_set(err, 500, "data directory path too long");
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ab_error_set(err, 500, "cannot open %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return ab_error_set(err, 500, "data directory %s is in use by another abstatd", dir);
    }
    return fd;
}

static void *checkpoint_main(void *arg)
{
    checkpointer *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1; /* at least once a second while there is work */
        while (!c->stop && !c->wanted)
            if (pthread_cond_timedwait(&c->wake, &c->lock, &until) != 0) break;
        if (c->stop) break;
        c->wanted = 0;
        pthread_mutex_unlock(&c->lock);
        /* PASSIVE: never waits for the writer; what it cannot copy now it
         * copies next time. Errors (disk full) are retried next round. */
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* SQLite calls this after each commit with the WAL's size in pages. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    checkpointer *c = arg;
    (void)db;
    (void)name;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&c->lock);
        c->wanted = 1;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
    }
    return SQLITE_OK;
}

static int checkpointer_start(ab_store *s, const char *path, const char *sync, ab_error *err)
{
    checkpointer *c = &s->ckpt;
    snprintf(c->path, sizeof c->path, "%s", path);
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(c->db, sync, NULL, NULL, NULL) != SQLITE_OK) {
        ab_error_set(err, 500, "store: checkpoint connection: %s",
                     c->db ? sqlite3_errmsg(c->db) : "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(c->db, 100);
    if (pthread_mutex_init(&c->lock, NULL) || pthread_cond_init(&c->wake, NULL))
        return ab_error_set(err, 500, "store: cannot create the checkpoint lock");
    if (pthread_create(&c->thread, NULL, checkpoint_main, c))
        return ab_error_set(err, 500, "store: cannot start the checkpoint thread");
    c->started = 1;
    /* Replaces the automatic checkpoint (it is a WAL hook too). */
    sqlite3_wal_hook(s->db, wal_hook, c);
    return 0;
}

static void checkpointer_stop(ab_store *s)
{
    checkpointer *c = &s->ckpt;
    if (c->started) {
        pthread_mutex_lock(&c->lock);
        c->stop = 1;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        c->started = 0;
    }
    if (s->db) sqlite3_wal_hook(s->db, NULL, NULL);
    if (c->db) sqlite3_close(c->db);
    c->db = NULL;
}

/* A store written by another format version is refused, not misread. */
/* Format 2 lacked the test-definition history and the intervals of the
 * monitoring state. Its running minima counted evaluations before the
 * variants were ready, which no verdict may rest on: they are dropped and
 * monitoring starts again from the stored events. */
static int migrate_from_2(ab_store *s, ab_error *err)
{
    return exec(s, "BEGIN IMMEDIATE;"
                   "ALTER TABLE experiments ADD COLUMN monitoring_since INTEGER NOT NULL DEFAULT 0;"
                   "ALTER TABLE experiments ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';"
                   "ALTER TABLE monitor ADD COLUMN lo REAL;"
                   "ALTER TABLE monitor ADD COLUMN hi REAL;"
                   "DELETE FROM monitor;"
                   "UPDATE meta SET value = '" SCHEMA_VERSION "' WHERE name = 'schema';"
                   "COMMIT;", err);
}

static int check_schema(ab_store *s, ab_error *err)
{
    sqlite3_stmt *st;
    int ok = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE name = 'schema'", -1, &st,
                           NULL) != SQLITE_OK)
        return fail(s, err, "read schema version");
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        ok = v && !strcmp(v, SCHEMA_VERSION);
        if (v && !strcmp(v, "3")) {
            sqlite3_finalize(st);
            return exec(s, "UPDATE meta SET value = '" SCHEMA_VERSION "' WHERE name = 'schema';",
                        err);
        }
        if (v && !strcmp(v, "2")) {
            sqlite3_finalize(st);
            if (migrate_from_2(s, err)) {
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                return -1;
            }
            return 0;
        }
        if (!ok)
            ab_error_set(err, 500, "store: format %s, this abstatd reads format %s",
                         v ? v : "?", SCHEMA_VERSION);
    }
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}

ab_store *ab_store_open(const char *dir, ab_durability durability, ab_error *err)
{
    char path[4096];
    ab_store *s;
    const char *sync = durability == AB_DURABILITY_FULL ? "PRAGMA synchronous=FULL;"
                                                        : "PRAGMA synchronous=NORMAL;";

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        ab_error_set(err, 500, "cannot create data directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    if (snprintf(path, sizeof path, "%s/abstat.db", dir) >= (int)sizeof path) {
        ab_error_set(err, 500, "data directory path too long");
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s))) {
        ab_error_set(err, 500, "out of memory");
        return NULL;
    }
    s->lock_fd = s->ctr_fd = -1;
    if ((s->lock_fd = lock_dir(dir, err)) < 0) goto fail;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fail(s, err, "open");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (exec(s, "PRAGMA journal_mode=WAL;", err) || exec(s, sync, err) ||
        exec(s, "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;"
                "PRAGMA cache_size=-8192;", err) ||
        exec(s, "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT);"
                "CREATE TABLE IF NOT EXISTS experiments("
                " key INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
                " config TEXT NOT NULL, stopped INTEGER NOT NULL DEFAULT 0,"
                " created INTEGER NOT NULL, monitoring_since INTEGER NOT NULL DEFAULT 0,"
                " changes TEXT NOT NULL DEFAULT '[]');"
                "CREATE TABLE IF NOT EXISTS monitor("
                " key INTEGER NOT NULL, arm INTEGER NOT NULL, min_p REAL,"
                " status INTEGER NOT NULL, since INTEGER NOT NULL, lo REAL, hi REAL,"
                " PRIMARY KEY(key, arm)) WITHOUT ROWID;"
                /* Row 0: the whole store (commits = the last commit's
                 * number); row KEY: experiment KEY's event rows and events. */
                "CREATE TABLE IF NOT EXISTS commits(key INTEGER PRIMARY KEY,"
                " commits INTEGER NOT NULL, batches INTEGER NOT NULL, events INTEGER NOT NULL);"
                "INSERT OR IGNORE INTO meta VALUES('schema', '" SCHEMA_VERSION "');",
             err))
        goto fail;
    if (check_schema(s, err)) goto fail;
    if (prepare(s, "INSERT INTO experiments(id, config, stopped, created, monitoring_since,"
                   " changes) VALUES(?,?,?,?,?,?)", &s->put_new, err) ||
        prepare(s, "UPDATE experiments SET config = ?, stopped = ?, monitoring_since = ?,"
                   " changes = ? WHERE key = ?", &s->put_old, err) ||
        prepare(s, "INSERT OR REPLACE INTO monitor(key, arm, min_p, status, since, lo, hi) "
                   "VALUES(?,?,?,?,?,?,?)", &s->put_monitor, err) ||
        prepare(s, "INSERT OR REPLACE INTO meta VALUES('health', ?)", &s->health, err) ||
        prepare(s, "INSERT INTO commits(key, commits, batches, events) VALUES(?1, 0, 1, ?2)"
                   " ON CONFLICT(key) DO UPDATE SET batches = batches + 1,"
                   " events = events + excluded.events", &s->count_exp, err) ||
        prepare(s, "INSERT OR REPLACE INTO commits(key, commits, batches, events)"
                   " VALUES(0, ?1, ?2, ?3)", &s->count_all, err))
        goto fail;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->ctr_sync = durability == AB_DURABILITY_FULL;
    if ((s->ctr_fd = ab_counter_open(dir)) < 0) {
        ab_error_set(err, 500, "cannot open %s/%s: %s", dir, AB_COUNTER_FILE, strerror(errno));
        goto fail;
    }
    if (checkpointer_start(s, path, sync, err)) goto fail;
    return s;
fail:
    ab_store_close(s);
    return NULL;
}

void ab_store_close(ab_store *s)
{
    if (!s) return;
    checkpointer_stop(s);
    for (size_t i = 0; i < s->cap; i++) {
        sqlite3_finalize(s->slots[i].insert);
        free(s->slots[i].buf);
    }
    free(s->slots);
    sqlite3_finalize(s->put_new);
    sqlite3_finalize(s->put_old);
    sqlite3_finalize(s->put_monitor);
    sqlite3_finalize(s->health);
    sqlite3_finalize(s->count_exp);
    sqlite3_finalize(s->count_all);
    if (s->db) sqlite3_close(s->db);
    if (s->ctr_fd >= 0) close(s->ctr_fd);
    if (s->lock_fd >= 0) close(s->lock_fd);
    free(s);
}

static int write_buffered(ab_store *s, ab_error *err);
static void discard_buffered(ab_store *s);

int ab_store_begin(ab_store *s, ab_error *err)
{
    if (s->in_tx) return 0;
    if (exec(s, "BEGIN IMMEDIATE", err)) return -1;
    s->in_tx = 1;
    s->tx = s->ctr;
    return 0;
}

static int write_counter_row(ab_store *s, const ab_counter *c, ab_error *err)
{
    int rc;
    sqlite3_bind_int64(s->count_all, 1, (sqlite3_int64)c->commits);
    sqlite3_bind_int64(s->count_all, 2, (sqlite3_int64)c->batches);
    sqlite3_bind_int64(s->count_all, 3, (sqlite3_int64)c->events);
    rc = sqlite3_step(s->count_all);
    sqlite3_reset(s->count_all);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "write the commit counter");
}

/* After a commit: the side file follows the database. Failing here loses
 * nothing (the file then says less than the database holds, which start
 * accepts); it is logged once. */
static void write_side(ab_store *s)
{
    if (ab_counter_write(s->ctr_fd, &s->ctr, s->ctr_sync) == 0) {
        s->ctr_write_failed = 0;
        return;
    }
    if (!s->ctr_write_failed)
        ab_logerr("cannot write %s/%s: %s (the commit itself is stored; start-up checks "
                  "will be weaker until this is fixed)", s->dir, AB_COUNTER_FILE,
                  strerror(errno));
    s->ctr_write_failed = 1;
}

int ab_store_commit(ab_store *s, ab_error *err)
{
    if (!s->in_tx) return 0;
    s->tx.commits = s->ctr.commits + 1;
    if (write_buffered(s, err) || write_counter_row(s, &s->tx, err) || exec(s, "COMMIT", err)) {
        ab_store_rollback(s);
        return -1;
    }
    s->in_tx = 0;
    s->ctr = s->tx;
    write_side(s);
    return 0;
}

void ab_store_rollback(ab_store *s)
{
    discard_buffered(s);
    if (!s->in_tx) return;
    /* After some errors SQLite has already rolled back; autocommit tells. */
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = 0;
}

int ab_store_in_transaction(const ab_store *s)
{
    return s->in_tx;
}

static size_t slot_of(const ab_store *s, int64_t key)
{
    uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (s->cap - 1);
}

static stmt_slot *find_slot(ab_store *s, int64_t key)
{
    if (!s->cap) return NULL;
    for (size_t i = slot_of(s, key);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i].key == key) return &s->slots[i];
        if (s->slots[i].key == 0) return NULL;
    }
}

static int grow_slots(ab_store *s)
{
    size_t cap = s->cap ? s->cap * 2 : 16;
    stmt_slot *old = s->slots, *fresh = calloc(cap, sizeof *fresh);
    size_t oldcap = s->cap;
    if (!fresh) return -1;
    s->slots = fresh;
    s->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key) continue;
        size_t j = slot_of(s, old[i].key);
        while (s->slots[j].key) j = (j + 1) & (cap - 1);
        s->slots[j] = old[i];
    }
    free(old);
    return 0;
}

/* The cached INSERT of experiment key's event table. */
static sqlite3_stmt *insert_stmt(ab_store *s, int64_t key, ab_error *err)
{
    char sql[160];
    stmt_slot *slot = find_slot(s, key);
    sqlite3_stmt *st;
    if (slot) return slot->insert;
    if ((s->count + 1) * 4 > s->cap * 3 && grow_slots(s)) {
        ab_error_set(err, 500, "out of memory");
        return NULL;
    }
    snprintf(sql, sizeof sql, "INSERT INTO ev_%lld(batch) VALUES(?)", (long long)key);
    if (prepare(s, sql, &st, err)) return NULL;
    size_t i = slot_of(s, key);
    while (s->slots[i].key) i = (i + 1) & (s->cap - 1);
    s->slots[i].key = key;
    s->slots[i].insert = st;
    s->count++;
    return st;
}

static void drop_slot(ab_store *s, int64_t key)
{
    /* Rebuild without the key: deletion from linear probing would
     * otherwise need tombstones, and deletes are rare. */
    stmt_slot *old = s->slots;
    size_t oldcap = s->cap;
    stmt_slot *slot = find_slot(s, key);
    if (!slot) return;
    sqlite3_finalize(slot->insert);
    free(slot->buf);
    memset(slot, 0, sizeof *slot);
    if (!(s->slots = calloc(oldcap, sizeof *s->slots))) {
        /* Out of memory: drop the whole cache; statements are re-prepared
         * (only called between transactions: no buffered records are lost). */
        for (size_t i = 0; i < oldcap; i++) {
            sqlite3_finalize(old[i].insert);
            free(old[i].buf);
        }
        free(old);
        s->cap = s->count = 0;
        return;
    }
    s->count = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key) continue;
        size_t j = slot_of(s, old[i].key);
        while (s->slots[j].key) j = (j + 1) & (s->cap - 1);
        s->slots[j] = old[i];
        s->count++;
    }
    free(old);
}

int ab_store_put_experiment(ab_store *s, ab_store_experiment *e, ab_error *err)
{
    sqlite3_stmt *st;
    int rc;
    if (!s->in_tx) return ab_error_set(err, 500, "store: write outside a transaction");
    if (e->key == 0) {
        char sql[256];
        st = s->put_new;
        sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e->config, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, e->stopped);
        sqlite3_bind_int64(st, 4, e->created_ms);
        sqlite3_bind_int64(st, 5, e->monitoring_since_ms);
        sqlite3_bind_text(st, 6, e->changes ? e->changes : "[]", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_DONE) return fail(s, err, "insert experiment");
        e->key = sqlite3_last_insert_rowid(s->db);
        snprintf(sql, sizeof sql, "CREATE TABLE ev_%lld(batch BLOB NOT NULL)",
                 (long long)e->key);
        return exec(s, sql, err);
    }
    st = s->put_old;
    sqlite3_bind_text(st, 1, e->config, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, e->stopped);
    sqlite3_bind_int64(st, 3, e->monitoring_since_ms);
    sqlite3_bind_text(st, 4, e->changes ? e->changes : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, e->key);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "update experiment");
}

int ab_store_delete_experiment(ab_store *s, int64_t key, ab_error *err)
{
    char sql[320];
    sqlite3_stmt *st;
    if (!s->in_tx) return ab_error_set(err, 500, "store: write outside a transaction");
    drop_slot(s, key);
    /* Its rows and events leave the counter with it. */
    if (sqlite3_prepare_v2(s->db, "SELECT batches, events FROM commits WHERE key = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return fail(s, err, "read the commit counter");
    sqlite3_bind_int64(st, 1, key);
    if (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t b = (uint64_t)sqlite3_column_int64(st, 0), n = (uint64_t)sqlite3_column_int64(st, 1);
        s->tx.batches -= b < s->tx.batches ? b : s->tx.batches;
        s->tx.events -= n < s->tx.events ? n : s->tx.events;
    }
    sqlite3_finalize(st);
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS ev_%lld; DELETE FROM experiments WHERE key = %lld;"
             "DELETE FROM monitor WHERE key = %lld; DELETE FROM commits WHERE key = %lld;",
             (long long)key, (long long)key, (long long)key, (long long)key);
    return exec(s, sql, err);
}

/* Event record, little-endian, events back to back in a row's blob:
 *   u8 type | u8 phase | i8 variant (-1: none) | u8 flags (1 value, 2 score, 4 id)
 *   i64 ts_ms | [f64 value] | [u8 score] | u16 user_len, user | [u8 id_len, id]
 * Every field the event had is kept; replay decodes without JSON. */
enum { F_VALUE = 1, F_SCORE = 2, F_ID = 4 };

/* Format 4 rows begin with a header: 0xff 'a' 'b' '1' | u32 events |
 * u64 checksum of the events' bytes (seeded with the count). A row
 * without it (format 3) is read without a checksum. 0xff is no event
 * type, so the two cannot be confused. */
#define ROW_HEADER 16

static uint64_t row_checksum(const unsigned char *body, size_t len, uint64_t nev)
{
    return ab_checksum64(body, len, 0xab5700000000ull ^ nev);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static size_t record_size(const ab_event *ev)
{
    return 12 + (isfinite(ev->value) ? 8 : 0) + (ev->score >= 0 ? 1 : 0) + 2 + ev->user_len +
           (ev->id ? 1 + ev->id_len : 0);
}

static unsigned char *encode(unsigned char *p, const ab_event *ev)
{
    uint64_t bits;
    int flags = (isfinite(ev->value) ? F_VALUE : 0) | (ev->score >= 0 ? F_SCORE : 0) |
                (ev->id ? F_ID : 0);
    *p++ = (unsigned char)ev->type;
    *p++ = (unsigned char)ev->phase;
    *p++ = (unsigned char)(signed char)ev->variant;
    *p++ = (unsigned char)flags;
    put_u64(p, (uint64_t)ev->ts_ms);
    p += 8;
    if (flags & F_VALUE) {
        memcpy(&bits, &ev->value, 8);
        put_u64(p, bits);
        p += 8;
    }
    if (flags & F_SCORE) *p++ = (unsigned char)ev->score;
    *p++ = (unsigned char)(ev->user_len & 0xff);
    *p++ = (unsigned char)(ev->user_len >> 8);
    memcpy(p, ev->user, ev->user_len);
    p += ev->user_len;
    if (flags & F_ID) {
        *p++ = (unsigned char)ev->id_len;
        memcpy(p, ev->id, ev->id_len);
        p += ev->id_len;
    }
    return p;
}

/* Decodes one record at *pp (end = the blob's end); -1 when malformed. */
static int decode(const unsigned char **pp, const unsigned char *end, ab_event *ev)
{
    const unsigned char *p = *pp;
    uint64_t bits;
    int flags;
    if (end - p < 14) return -1;
    if (p[0] > AB_EVENT_NPS || p[1] >= AB_PHASE_COUNT) return -1;
    ev->exp = NULL;
    ev->type = (ab_event_type)p[0];
    ev->phase = (ab_phase)p[1];
    ev->variant = (signed char)p[2];
    flags = p[3];
    ev->ts_ms = (int64_t)get_u64(p + 4);
    p += 12;
    ev->value = NAN;
    ev->score = -1;
    if (flags & F_VALUE) {
        if (end - p < 8) return -1;
        bits = get_u64(p);
        memcpy(&ev->value, &bits, 8);
        p += 8;
    }
    if (flags & F_SCORE) {
        if (end - p < 1 || *p > 10) return -1;
        ev->score = *p++;
    }
    if (end - p < 2) return -1;
    ev->user_len = (size_t)p[0] | (size_t)p[1] << 8;
    p += 2;
    if ((size_t)(end - p) < ev->user_len || ev->user_len == 0) return -1;
    ev->user = (const char *)p;
    p += ev->user_len;
    ev->id = NULL;
    ev->id_len = 0;
    if (flags & F_ID) {
        if (end - p < 1) return -1;
        ev->id_len = *p++;
        if ((size_t)(end - p) < ev->id_len || ev->id_len == 0) return -1;
        ev->id = (const char *)p;
        p += ev->id_len;
    }
    *pp = p;
    return 0;
}

int ab_store_append_events(ab_store *s, int64_t key, const ab_event *evs, size_t n,
                           ab_error *err)
{
    stmt_slot *slot;
    size_t need = 0;
    unsigned char *p;
    if (!s->in_tx) return ab_error_set(err, 500, "store: write outside a transaction");
    if (!insert_stmt(s, key, err) || !(slot = find_slot(s, key)))
        return ab_error_set(err, 500, "store: no event table for experiment %lld", (long long)key);
    for (size_t i = 0; i < n; i++) {
        /* Lengths fit the record's u16 / u8 (the parser allows 256 / 128). */
        if (evs[i].user_len > 0xffff || (evs[i].id && evs[i].id_len > 0xff))
            return ab_error_set(err, 500, "store: event field too long to store");
        need += record_size(&evs[i]);
    }
    if (!slot->len) need += ROW_HEADER; /* filled in at commit */
    if ((slot->len ? slot->nev : 0) + n > 0xffffffffu)
        return ab_error_set(err, 500, "store: too many events in one commit");
    if (slot->len + need > slot->cap) {
        size_t cap = (slot->len + need) * 2;
        unsigned char *grown = realloc(slot->buf, cap);
        if (!grown) return ab_error_set(err, 500, "out of memory");
        slot->buf = grown;
        slot->cap = cap;
    }
    p = slot->buf + slot->len;
    if (!slot->len) {
        p += ROW_HEADER;
        slot->nev = 0;
    }
    for (size_t i = 0; i < n; i++) p = encode(p, &evs[i]);
    slot->len += need;
    slot->nev += n;
    return 0;
}

/* Writes each experiment's records of this transaction as one row. */
static int write_buffered(ab_store *s, ab_error *err)
{
    for (size_t i = 0; i < s->cap; i++) {
        stmt_slot *slot = &s->slots[i];
        int rc;
        if (!slot->key || !slot->len) continue;
        slot->buf[0] = 0xff;
        slot->buf[1] = 'a';
        slot->buf[2] = 'b';
        slot->buf[3] = '1';
        for (int b = 0; b < 4; b++) slot->buf[4 + b] = (unsigned char)(slot->nev >> (8 * b));
        put_u64(slot->buf + 8, row_checksum(slot->buf + ROW_HEADER, slot->len - ROW_HEADER,
                                            slot->nev));
        sqlite3_bind_blob(slot->insert, 1, slot->buf, (int)slot->len, SQLITE_STATIC);
        rc = sqlite3_step(slot->insert);
        sqlite3_reset(slot->insert);
        slot->len = 0;
        if (rc != SQLITE_DONE) return fail(s, err, "insert events");
        sqlite3_bind_int64(s->count_exp, 1, slot->key);
        sqlite3_bind_int64(s->count_exp, 2, (sqlite3_int64)slot->nev);
        rc = sqlite3_step(s->count_exp);
        sqlite3_reset(s->count_exp);
        if (rc != SQLITE_DONE) return fail(s, err, "count events");
        s->tx.batches += 1;
        s->tx.events += slot->nev;
    }
    return 0;
}

static void discard_buffered(ab_store *s)
{
    for (size_t i = 0; i < s->cap; i++) s->slots[i].len = 0;
}

int ab_store_put_monitor(ab_store *s, const ab_store_monitor *m, ab_error *err)
{
    sqlite3_stmt *st = s->put_monitor;
    int rc;
    if (!s->in_tx) return ab_error_set(err, 500, "store: write outside a transaction");
    sqlite3_bind_int64(st, 1, m->key);
    sqlite3_bind_int(st, 2, m->arm);
    if (isfinite(m->min_p)) sqlite3_bind_double(st, 3, m->min_p);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, m->status);
    sqlite3_bind_int64(st, 5, m->significant_since_ms);
    if (isfinite(m->lo)) sqlite3_bind_double(st, 6, m->lo);
    else sqlite3_bind_null(st, 6);
    if (isfinite(m->hi)) sqlite3_bind_double(st, 7, m->hi);
    else sqlite3_bind_null(st, 7);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "write monitor");
}

int ab_store_clear_monitor(ab_store *s, int64_t key, ab_error *err)
{
    char sql[96];
    if (!s->in_tx) return ab_error_set(err, 500, "store: write outside a transaction");
    snprintf(sql, sizeof sql, "DELETE FROM monitor WHERE key = %lld;", (long long)key);
    return exec(s, sql, err);
}

/* ---- Start: checks, replay, recovery (SPEC section 9) ----------------- */

/* Rows and events one experiment holds (counted by the replay) and must
 * hold (its row in table commits). */
typedef struct {
    int64_t key;
    uint64_t batches, events;
} tally;

typedef struct {
    ab_counter db;          /* row 0 and meta store_id */
    int db_counted;         /* row 0 exists */
    int db_has_id;
    ab_counter side;
    ab_counter_status side_status;
    ab_counter ref;         /* what the store must hold */
    int has_ref;
    int fresh;              /* a new, empty store: counters are made now */
    int legacy;             /* written before the counter: counted now */
    tally *t;
    size_t nt, capt;
    tally *bad;             /* corrupt rows skipped: key and rowid (in batches) */
    size_t nbad, capbad;
    uint64_t batches, events; /* read */
    unsigned logged_rows;
} start_state;

/* A loss or a doubt: refused (err set, -1) unless --recover, which logs
 * it and goes on. */
static int refuse_or_note(ab_store *s, ab_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse_or_note(ab_store *s, ab_error *err, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!s->recover)
        return ab_error_set(err, 500, "store: %s; start with --recover to keep what is readable "
                            "and report the loss", msg);
    ab_logerr("store damaged, recovering (--recover): %s", msg);
    s->integ.recovered = 1;
    return 0;
}

static int query_u64(ab_store *s, const char *sql, uint64_t *out, int *found)
{
    sqlite3_stmt *st;
    int rc;
    *found = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_TEXT) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            *out = t ? strtoull(t, NULL, 16) : 0;
        } else {
            *out = (uint64_t)sqlite3_column_int64(st, 0);
        }
        *found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* SQLite's own check of its pages and indexes. It reads the whole file:
 * run it up to this size (a few tens of milliseconds); above it the
 * replay, which reads every event row, and the checksums stand in. */
#define QUICK_CHECK_MAX (256ll << 20)

static int quick_check(ab_store *s, ab_error *err)
{
    char path[4200];
    struct stat sb;
    sqlite3_stmt *st;
    int rc;
    snprintf(path, sizeof path, "%s/abstat.db", s->dir);
    if (stat(path, &sb) == 0 && sb.st_size > QUICK_CHECK_MAX) {
        ab_info("store: %lld MiB: skipping PRAGMA quick_check at start (the replay checks "
                "every event row)", (long long)(sb.st_size >> 20));
        return 0;
    }
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(5)", -1, &st, NULL) != SQLITE_OK)
        return refuse_or_note(s, err, "the database is damaged: %s", sqlite3_errmsg(s->db));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok")) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", t);
            sqlite3_finalize(st);
            return refuse_or_note(s, err, "the database is damaged (SQLite quick_check: %s)",
                                  msg);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return refuse_or_note(s, err, "the database is damaged: %s", sqlite3_errmsg(s->db));
    return 0;
}

/* Before the replay: the database against the side file. */
static int check_counter(ab_store *s, start_state *ss, ab_error *err)
{
    uint64_t v, nexp = 0;
    int found;
    char have[32], want[32];

    if (query_u64(s, "SELECT value FROM meta WHERE name = 'store_id'", &v, &found))
        return refuse_or_note(s, err, "cannot read the store's identity: %s",
                              sqlite3_errmsg(s->db));
    ss->db_has_id = found;
    ss->db.store_id = found ? v : 0;
    {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, "SELECT commits, batches, events FROM commits WHERE key = 0",
                               -1, &st, NULL) != SQLITE_OK)
            return fail(s, err, "read the commit counter");
        if (sqlite3_step(st) == SQLITE_ROW) {
            ss->db_counted = 1;
            ss->db.commits = (uint64_t)sqlite3_column_int64(st, 0);
            ss->db.batches = (uint64_t)sqlite3_column_int64(st, 1);
            ss->db.events = (uint64_t)sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
    }
    if (query_u64(s, "SELECT count(*) FROM experiments", &nexp, &found))
        return refuse_or_note(s, err, "cannot read the experiments: %s", sqlite3_errmsg(s->db));
    ss->side_status = ab_counter_read(s->dir, &ss->side);

    if (!ss->db_counted && !ss->db_has_id && nexp == 0 &&
        (ss->side_status == AB_COUNTER_MISSING ||
         (ss->side_status == AB_COUNTER_OK && ss->side.commits == 0))) {
        ss->fresh = 1;
        return 0;
    }
    if (quick_check(s, err)) return -1;
    if (ss->side_status == AB_COUNTER_OK) {
        ab_counter_thousands(ss->db.events, have, sizeof have);
        ab_counter_thousands(ss->side.events, want, sizeof want);
        if (ss->db_has_id && ss->db.store_id != ss->side.store_id) {
            if (refuse_or_note(s, err, "%s/abstat.db (store %016llx) is not the store %s "
                               "belongs to (store %016llx, %s events in %llu commits): the "
                               "database was replaced", s->dir,
                               (unsigned long long)ss->db.store_id, AB_COUNTER_FILE,
                               (unsigned long long)ss->side.store_id, want,
                               (unsigned long long)ss->side.commits))
                return -1;
        } else if (!ss->db_counted || ss->db.commits < ss->side.commits) {
            if (refuse_or_note(s, err, "the store in %s holds %s of %s acknowledged events "
                               "(commit %llu of %llu): %s", s->dir, have, want,
                               (unsigned long long)ss->db.commits,
                               (unsigned long long)ss->side.commits,
                               ss->db_counted ? "the WAL (abstat.db-wal) was lost or damaged"
                                              : "abstat.db is empty or was replaced, or its WAL was lost"))
                return -1;
            ss->ref = ss->side;
            ss->has_ref = 1;
            if (ss->side.commits > ss->db.commits)
                s->integ.lost_commits = ss->side.commits - ss->db.commits;
            return 0;
        } else if (ss->db.commits == ss->side.commits &&
                   (ss->db.events != ss->side.events || ss->db.batches != ss->side.batches)) {
            if (refuse_or_note(s, err, "the store in %s holds %s events but %s says %s at "
                               "the same commit %llu", s->dir, have, AB_COUNTER_FILE, want,
                               (unsigned long long)ss->side.commits))
                return -1;
            if (ss->side.events > ss->db.events) {
                ss->ref = ss->side;
                ss->has_ref = 1;
                return 0;
            }
        }
        /* db.commits > side.commits: the crash window between the
         * commit and the side file's write; the database is newer. */
    } else if (ss->db_counted && ss->db.commits > 0) {
        ab_counter_thousands(ss->db.events, have, sizeof have);
        if (refuse_or_note(s, err, "%s/%s is %s: cannot verify that the store holds every "
                           "acknowledged commit (the database holds %s events, commit %llu)",
                           s->dir, AB_COUNTER_FILE,
                           ss->side_status == AB_COUNTER_MISSING
                               ? "missing"
                               : "damaged (no copy with a valid checksum)",
                           have, (unsigned long long)ss->db.commits))
            return -1;
    } else if (!ss->db_counted) {
        ss->legacy = 1; /* written by format 3 or older: counted by the replay */
        if (ss->side_status == AB_COUNTER_DAMAGED &&
            refuse_or_note(s, err, "%s/%s is damaged and the database has no counter",
                           s->dir, AB_COUNTER_FILE))
            return -1;
    }
    if (ss->db_counted) {
        ss->ref = ss->db;
        ss->has_ref = 1;
    }
    return 0;
}

static tally *tally_for(start_state *ss, int64_t key)
{
    if (ss->nt == ss->capt) {
        size_t cap = ss->capt ? ss->capt * 2 : 64;
        tally *t = realloc(ss->t, cap * sizeof *t);
        if (!t) return NULL;
        ss->t = t;
        ss->capt = cap;
    }
    ss->t[ss->nt] = (tally){key, 0, 0};
    return &ss->t[ss->nt++];
}

/* Checks one stored row: 0 and the first record at *body, -1 when it is
 * damaged (why says how). A format 3 row has no header: its records are
 * decoded once to see that they are whole. */
static int check_row(const unsigned char *p, size_t len, const unsigned char **body,
                     uint64_t *nev, const char **why)
{
    const unsigned char *q, *end = p + len;
    if (!p || len == 0) {
        *why = "empty row";
        return -1;
    }
    if (p[0] == 0xff) {
        if (len < ROW_HEADER || p[1] != 'a' || p[2] != 'b' || p[3] != '1') {
            *why = "unknown row header";
            return -1;
        }
        *nev = (uint64_t)p[4] | (uint64_t)p[5] << 8 | (uint64_t)p[6] << 16 | (uint64_t)p[7] << 24;
        if (get_u64(p + 8) != row_checksum(p + ROW_HEADER, len - ROW_HEADER, *nev)) {
            *why = "checksum mismatch";
            return -1;
        }
        *body = p + ROW_HEADER;
        return 0;
    }
    *nev = 0;
    for (q = p; q < end; (*nev)++) {
        ab_event ev;
        if (decode(&q, end, &ev)) {
            *why = "malformed event record";
            return -1;
        }
    }
    *body = p;
    return 0;
}

static int load_events(ab_store *s, const ab_store_experiment *e, const ab_store_loader *ld,
                       void *ctx, start_state *ss, ab_error *err)
{
    char sql[160];
    sqlite3_stmt *st;
    int rc;
    int64_t key = e->key, last_row = 0;
    tally *t = tally_for(ss, key);
    if (!t) return ab_error_set(err, 500, "out of memory");
    snprintf(sql, sizeof sql, "SELECT rowid, batch FROM ev_%lld ORDER BY rowid", (long long)key);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return refuse_or_note(s, err, "the events of experiment \"%s\" (table ev_%lld) are "
                              "unreadable: %s", e->id, (long long)key, sqlite3_errmsg(s->db));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(st, 1), *end;
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        uint64_t nev = 0, n = 0;
        const char *why = "";
        last_row = sqlite3_column_int64(st, 0);
        if (check_row(p, len, &p, &nev, &why)) {
            s->integ.corrupt_rows++;
            if (!s->recover) {
                ab_error_set(err, 500, "store: corrupt event record in experiment \"%s\" "
                             "(table ev_%lld, row %lld: %s); start with --recover to skip it "
                             "and report the loss", e->id, (long long)key, (long long)last_row,
                             why);
                sqlite3_finalize(st);
                return -1;
            }
            s->integ.recovered = 1;
            if (ss->nbad == ss->capbad) {
                size_t cap = ss->capbad ? ss->capbad * 2 : 16;
                tally *b = realloc(ss->bad, cap * sizeof *b);
                if (!b) {
                    sqlite3_finalize(st);
                    return ab_error_set(err, 500, "out of memory");
                }
                ss->bad = b;
                ss->capbad = cap;
            }
            ss->bad[ss->nbad++] = (tally){key, (uint64_t)last_row, 0};
            if (ss->logged_rows++ < 20)
                ab_logerr("store: skipping corrupt event record in experiment \"%s\" (table "
                          "ev_%lld, row %lld: %s)", e->id, (long long)key, (long long)last_row,
                          why);
            continue;
        }
        end = sqlite3_column_blob(st, 1);
        end += len;
        while (p < end) {
            ab_event ev;
            if (decode(&p, end, &ev)) {
                /* checksum right, record wrong: written so (a bug), not damaged */
                sqlite3_finalize(st);
                return ab_error_set(err, 500, "store: malformed event record in experiment "
                                    "\"%s\" (table ev_%lld, row %lld)", e->id, (long long)key,
                                    (long long)last_row);
            }
            if (ld->on_event(ctx, key, &ev)) {
                sqlite3_finalize(st);
                return ab_error_set(err, 500, "store: replaying an event of experiment \"%s\" "
                                    "(table ev_%lld, row %lld) failed", e->id, (long long)key,
                                    (long long)last_row);
            }
            n++;
        }
        t->batches++;
        t->events += n;
        ss->batches++;
        ss->events += n;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return refuse_or_note(s, err, "the events of experiment \"%s\" (table ev_%lld) are "
                              "damaged after row %lld: %s", e->id, (long long)key,
                              (long long)last_row, sqlite3_errmsg(s->db));
    return 0;
}

/* After the replay: every experiment holds its rows and events. */
static int check_tallies(ab_store *s, start_state *ss, ab_error *err)
{
    sqlite3_stmt *st;
    if (!ss->db_counted) return 0;
    if (sqlite3_prepare_v2(s->db, "SELECT e.id, c.batches, c.events FROM commits c JOIN "
                                  "experiments e ON e.key = c.key WHERE c.key = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return fail(s, err, "read the commit counter");
    for (size_t i = 0; i < ss->nt; i++) {
        const tally *t = &ss->t[i];
        sqlite3_bind_int64(st, 1, t->key);
        if (sqlite3_step(st) == SQLITE_ROW) {
            uint64_t b = (uint64_t)sqlite3_column_int64(st, 1);
            uint64_t n = (uint64_t)sqlite3_column_int64(st, 2);
            if (t->batches < b || t->events < n) {
                char have[32], want[32];
                ab_counter_thousands(t->events, have, sizeof have);
                ab_counter_thousands(n, want, sizeof want);
                if (refuse_or_note(s, err, "experiment \"%s\" holds %s of its %s acknowledged "
                                   "events (%llu of %llu rows)",
                                   (const char *)sqlite3_column_text(st, 0), have, want,
                                   (unsigned long long)t->batches, (unsigned long long)b)) {
                    sqlite3_finalize(st);
                    return -1;
                }
            }
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return 0;
}

/* Makes the counters say what the store holds now (a new store, one from
 * before the counter, or after --recover), in one transaction, then the
 * side file. */
static int reset_counters(ab_store *s, start_state *ss, ab_error *err)
{
    sqlite3_stmt *st;
    char sql[128];
    ab_counter c;
    uint64_t id = ss->db_has_id ? ss->db.store_id
                  : ss->side_status == AB_COUNTER_OK ? ss->side.store_id : 0;
    while (!id && getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id)
        id = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    c.store_id = id;
    c.commits = (ss->db.commits > ss->side.commits ? ss->db.commits : ss->side.commits) + 1;
    if (ss->fresh) c.commits = 0;
    c.batches = ss->batches;
    c.events = ss->events;
    if (exec(s, "BEGIN IMMEDIATE; DELETE FROM commits;"
                "CREATE TABLE IF NOT EXISTS damaged(key INTEGER NOT NULL, row INTEGER NOT NULL,"
                " batch BLOB, found INTEGER NOT NULL);", err))
        goto fail;
    /* Skipped rows leave the event tables (a later start would refuse them
     * again) for table damaged, where an operator can still look at them. */
    for (size_t i = 0; i < ss->nbad; i++) {
        char q[400];
        snprintf(q, sizeof q,
                 "INSERT INTO damaged SELECT %lld, rowid, batch, %lld FROM ev_%lld WHERE rowid = "
                 "%llu; DELETE FROM ev_%lld WHERE rowid = %llu;",
                 (long long)ss->bad[i].key, (long long)time(NULL), (long long)ss->bad[i].key,
                 (unsigned long long)ss->bad[i].batches, (long long)ss->bad[i].key,
                 (unsigned long long)ss->bad[i].batches);
        if (exec(s, q, err)) goto fail;
    }
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta VALUES('store_id', '%016llx')",
             (unsigned long long)id);
    if (exec(s, sql, err) || write_counter_row(s, &c, err)) goto fail;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO commits VALUES(?, 0, ?, ?)", -1, &st, NULL) !=
        SQLITE_OK) {
        fail(s, err, "write the commit counter");
        goto fail;
    }
    for (size_t i = 0; i < ss->nt; i++) {
        int rc;
        sqlite3_bind_int64(st, 1, ss->t[i].key);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)ss->t[i].batches);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)ss->t[i].events);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            sqlite3_finalize(st);
            fail(s, err, "write the commit counter");
            goto fail;
        }
    }
    sqlite3_finalize(st);
    if (exec(s, "COMMIT", err)) goto fail;
    s->ctr = c;
    if (ab_counter_write(s->ctr_fd, &c, 1))
        return ab_error_set(err, 500, "cannot write %s/%s: %s", s->dir, AB_COUNTER_FILE,
                            strerror(errno));
    return 0;
fail:
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

void ab_store_set_recover(ab_store *s, int recover)
{
    s->recover = recover;
}

const ab_store_integrity *ab_store_integrity_of(const ab_store *s)
{
    return &s->integ;
}

static int load_all(ab_store *s, const ab_store_loader *ld, void *ctx, start_state *ss,
                    ab_error *err)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(s->db, "SELECT key, id, config, stopped, created, monitoring_since,"
                                  " changes FROM experiments"
                                  " ORDER BY key", -1, &st, NULL) != SQLITE_OK)
        return refuse_or_note(s, err, "the experiments are unreadable: %s",
                              sqlite3_errmsg(s->db));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ab_store_experiment e;
        e.key = sqlite3_column_int64(st, 0);
        e.id = (const char *)sqlite3_column_text(st, 1);
        e.config = (const char *)sqlite3_column_text(st, 2);
        e.stopped = sqlite3_column_int(st, 3);
        e.created_ms = sqlite3_column_int64(st, 4);
        e.monitoring_since_ms = sqlite3_column_int64(st, 5);
        e.changes = (const char *)sqlite3_column_text(st, 6);
        if (!e.id || !e.config || ld->on_experiment(ctx, &e) ||
            load_events(s, &e, ld, ctx, ss, err)) {
            sqlite3_finalize(st);
            if (err && !err->status) ab_error_set(err, 500, "store: loading experiment failed");
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE &&
        refuse_or_note(s, err, "the experiments are damaged: %s", sqlite3_errmsg(s->db)))
        return -1;

    if (sqlite3_prepare_v2(s->db, "SELECT key, arm, min_p, status, since, lo, hi FROM monitor",
                           -1, &st, NULL) != SQLITE_OK)
        return refuse_or_note(s, err, "the monitoring state is unreadable: %s",
                              sqlite3_errmsg(s->db));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ab_store_monitor m;
        m.key = sqlite3_column_int64(st, 0);
        m.arm = sqlite3_column_int(st, 1);
        m.min_p = sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2);
        m.status = sqlite3_column_int(st, 3);
        m.significant_since_ms = sqlite3_column_int64(st, 4);
        m.lo = sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5);
        m.hi = sqlite3_column_type(st, 6) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 6);
        if (ld->on_monitor && ld->on_monitor(ctx, &m)) {
            sqlite3_finalize(st);
            return ab_error_set(err, 500, "store: loading monitor state failed");
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE &&
        refuse_or_note(s, err, "the monitoring state is damaged: %s", sqlite3_errmsg(s->db)))
        return -1;
    return 0;
}

int ab_store_load(ab_store *s, const ab_store_loader *ld, void *ctx, ab_error *err)
{
    start_state ss;
    int rc;
    memset(&ss, 0, sizeof ss);
    memset(&s->integ, 0, sizeof s->integ);
    rc = check_counter(s, &ss, err);
    if (rc == 0) rc = load_all(s, ld, ctx, &ss, err);
    if (rc == 0) rc = check_tallies(s, &ss, err);
    if (rc == 0 && ss.has_ref && (ss.events < ss.ref.events || ss.batches < ss.ref.batches)) {
        char have[32], want[32];
        ab_counter_thousands(ss.events, have, sizeof have);
        ab_counter_thousands(ss.ref.events, want, sizeof want);
        rc = refuse_or_note(s, err, "the store in %s holds %s of %s acknowledged events "
                            "(%llu of %llu rows)", s->dir, have, want,
                            (unsigned long long)ss.batches, (unsigned long long)ss.ref.batches);
    }
    if (rc == 0) {
        if (ss.has_ref && ss.ref.events > ss.events)
            s->integ.lost_events = ss.ref.events - ss.events;
        if (ss.has_ref && ss.ref.batches > ss.batches)
            s->integ.lost_batches = ss.ref.batches - ss.batches;
        if (ss.fresh || ss.legacy || s->integ.recovered) {
            if (ss.legacy)
                ab_info("store: written before the commit counter: counted %llu events in "
                        "%llu rows", (unsigned long long)ss.events,
                        (unsigned long long)ss.batches);
            rc = reset_counters(s, &ss, err);
        } else {
            s->ctr = ss.db;
            /* The side file catches up after the crash window. */
            if (ss.side_status != AB_COUNTER_OK || ss.side.commits != s->ctr.commits)
                rc = ab_counter_write(s->ctr_fd, &s->ctr, 1)
                         ? ab_error_set(err, 500, "cannot write %s/%s: %s", s->dir,
                                        AB_COUNTER_FILE, strerror(errno))
                         : 0;
        }
    }
    if (rc == 0 && s->integ.recovered) {
        char lost[32];
        ab_counter_thousands(s->integ.lost_events, lost, sizeof lost);
        ab_logerr("store recovered (--recover): %s acknowledged events lost (%llu rows, %llu "
                  "commits, %llu corrupt rows skipped); the store now holds %llu events",
                  lost, (unsigned long long)s->integ.lost_batches,
                  (unsigned long long)s->integ.lost_commits,
                  (unsigned long long)s->integ.corrupt_rows, (unsigned long long)ss.events);
    }
    if (rc != 0) {
        /* Refused: leave the WAL as it is for whoever looks at it next
         * (closing would checkpoint it into the database and delete it). */
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        if (s->ckpt.db) sqlite3_db_config(s->ckpt.db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    }
    s->integ.commits = s->ctr.commits;
    s->integ.batches = s->ctr.batches;
    s->integ.events = s->ctr.events;
    free(ss.t);
    free(ss.bad);
    return rc;
}

int ab_store_writable(ab_store *s)
{
    int rc;
    if (s->in_tx) return 1; /* a group commit is open: its outcome will tell */
    if (exec(s, "BEGIN IMMEDIATE", NULL)) return 0;
    sqlite3_bind_int64(s->health, 1, (sqlite3_int64)time(NULL));
    rc = sqlite3_step(s->health);
    sqlite3_reset(s->health);
    if (rc != SQLITE_DONE) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return 0;
    }
    if (exec(s, "COMMIT", NULL)) {
        if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return 0;
    }
    return 1;
}

/* ---- Webhook outbox ---------------------------------------------------- */

static int outbox_table(ab_store *s, ab_error *err)
{
    return exec(s, "CREATE TABLE IF NOT EXISTS outbox(id TEXT PRIMARY KEY, url TEXT NOT NULL, "
                   "body TEXT NOT NULL, created INTEGER NOT NULL)", err);
}

/* Runs one statement (text parameters p1..p3, integer p4 when >= 0) inside
 * the open transaction, or in one of its own. */
static int outbox_exec(ab_store *s, const char *sql, const char *p1, const char *p2,
                       const char *p3, int64_t p4, ab_error *err)
{
    sqlite3_stmt *st = NULL;
    int own = !s->in_tx, rc;
    if (own && exec(s, "BEGIN IMMEDIATE", err)) return -1;
    if (outbox_table(s, err)) goto fail;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail(s, err, "outbox");
        goto fail;
    }
    if (p1) sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
    if (p2) sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
    if (p3) sqlite3_bind_text(st, 3, p3, -1, SQLITE_STATIC);
    if (p4 >= 0) sqlite3_bind_int64(st, 4, (sqlite3_int64)p4);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        fail(s, err, "outbox");
        goto fail;
    }
    sqlite3_finalize(st);
    if (own && exec(s, "COMMIT", err)) {
        if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
fail:
    sqlite3_finalize(st);
    if (own && !sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int ab_store_outbox_put(ab_store *s, const ab_store_delivery *d, ab_error *err)
{
    return outbox_exec(s, "INSERT OR REPLACE INTO outbox(id, url, body, created) "
                          "VALUES(?1, ?2, ?3, ?4)", d->id, d->url, d->body,
                       d->created_ms < 0 ? 0 : d->created_ms, err);
}

int ab_store_outbox_del(ab_store *s, const char *id, ab_error *err)
{
    return outbox_exec(s, "DELETE FROM outbox WHERE id = ?1", id, NULL, NULL, -1, err);
}

int ab_store_outbox_load(ab_store *s, int (*cb)(void *ctx, const ab_store_delivery *d),
                         void *ctx, ab_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (!s->in_tx && outbox_table(s, err)) return -1;
    if (sqlite3_prepare_v2(s->db, "SELECT id, url, body, created FROM outbox ORDER BY created, id",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(s, err, "read outbox");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ab_store_delivery d = {(const char *)sqlite3_column_text(st, 0),
                               (const char *)sqlite3_column_text(st, 1),
                               (const char *)sqlite3_column_text(st, 2),
                               sqlite3_column_int64(st, 3)};
        if (!d.id || !d.url || !d.body) continue;
        if (cb(ctx, &d)) {
            sqlite3_finalize(st);
            return ab_error_set(err, 500, "store: loading the webhook outbox failed");
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "read outbox");
}
