/* store_sqlite.c — the SQLite implementation of store.h: one database in
 * the data directory, WAL journal, one compact table of raw events per
 * experiment (so that deleting an experiment is a DROP, not a scan). */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
};

/* 2: events as binary records, one row per stored batch. */
#define SCHEMA_VERSION "3"

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
    s->lock_fd = -1;
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
        prepare(s, "INSERT OR REPLACE INTO meta VALUES('health', ?)", &s->health, err))
        goto fail;
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
    if (s->db) sqlite3_close(s->db);
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
    return 0;
}

int ab_store_commit(ab_store *s, ab_error *err)
{
    if (!s->in_tx) return 0;
    if (write_buffered(s, err) || exec(s, "COMMIT", err)) {
        ab_store_rollback(s);
        return -1;
    }
    s->in_tx = 0;
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
    char sql[256];
    if (!s->in_tx) return ab_error_set(err, 500, "store: write outside a transaction");
    drop_slot(s, key);
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS ev_%lld; DELETE FROM experiments WHERE key = %lld;"
             "DELETE FROM monitor WHERE key = %lld;",
             (long long)key, (long long)key, (long long)key);
    return exec(s, sql, err);
}

/* Event record, little-endian, events back to back in a row's blob:
 *   u8 type | u8 phase | i8 variant (-1: none) | u8 flags (1 value, 2 score, 4 id)
 *   i64 ts_ms | [f64 value] | [u8 score] | u16 user_len, user | [u8 id_len, id]
 * Every field the event had is kept; replay decodes without JSON. */
enum { F_VALUE = 1, F_SCORE = 2, F_ID = 4 };

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
    if (slot->len + need > slot->cap) {
        size_t cap = (slot->len + need) * 2;
        unsigned char *grown = realloc(slot->buf, cap);
        if (!grown) return ab_error_set(err, 500, "out of memory");
        slot->buf = grown;
        slot->cap = cap;
    }
    p = slot->buf + slot->len;
    for (size_t i = 0; i < n; i++) p = encode(p, &evs[i]);
    slot->len += need;
    return 0;
}

/* Writes each experiment's records of this transaction as one row. */
static int write_buffered(ab_store *s, ab_error *err)
{
    for (size_t i = 0; i < s->cap; i++) {
        stmt_slot *slot = &s->slots[i];
        int rc;
        if (!slot->key || !slot->len) continue;
        sqlite3_bind_blob(slot->insert, 1, slot->buf, (int)slot->len, SQLITE_STATIC);
        rc = sqlite3_step(slot->insert);
        sqlite3_reset(slot->insert);
        slot->len = 0;
        if (rc != SQLITE_DONE) return fail(s, err, "insert events");
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

static int load_events(ab_store *s, int64_t key, const ab_store_loader *ld, void *ctx,
                       ab_error *err)
{
    char sql[160];
    sqlite3_stmt *st;
    int rc;
    snprintf(sql, sizeof sql, "SELECT batch FROM ev_%lld ORDER BY rowid", (long long)key);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail(s, err, "read events");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(st, 0);
        const unsigned char *end = p + sqlite3_column_bytes(st, 0);
        while (p && p < end) {
            ab_event ev;
            if (decode(&p, end, &ev)) {
                sqlite3_finalize(st);
                return ab_error_set(err, 500, "store: corrupt event record in ev_%lld",
                                    (long long)key);
            }
            if (ld->on_event(ctx, key, &ev)) {
                sqlite3_finalize(st);
                return ab_error_set(err, 500, "store: replaying an event of ev_%lld failed",
                                    (long long)key);
            }
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "read events");
}

int ab_store_load(ab_store *s, const ab_store_loader *ld, void *ctx, ab_error *err)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(s->db, "SELECT key, id, config, stopped, created, monitoring_since,"
                                  " changes FROM experiments"
                                  " ORDER BY key", -1, &st, NULL) != SQLITE_OK)
        return fail(s, err, "read experiments");
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
            load_events(s, e.key, ld, ctx, err)) {
            sqlite3_finalize(st);
            if (err && !err->status) ab_error_set(err, 500, "store: loading experiment failed");
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail(s, err, "read experiments");

    if (sqlite3_prepare_v2(s->db, "SELECT key, arm, min_p, status, since, lo, hi FROM monitor",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(s, err, "read monitor");
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
    return rc == SQLITE_DONE ? 0 : fail(s, err, "read monitor");
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
