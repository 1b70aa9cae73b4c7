/* sqlite.c — the SQLite backend of store.h: one database abstat.db in the
 * data directory, WAL journal, one compact table of raw events per
 * experiment (so that deleting an experiment is a DROP, not a scan). This
 * file opens and closes it and runs its transactions; the writes, the
 * start and the outbox are in sqlite_*.c. */
#include "store/sqlite_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/dir_lock.h"

static ab_store_status prepare(ab_sqlite *s, const char *sql, sqlite3_stmt **st, ab_error *err)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return ab_sqlite_fail(s, err, "prepare");
    return AB_STORE_OK;
}

/* Format 2 lacked the test-definition history and the intervals of the
 * monitoring state. Its running minima counted evaluations before the
 * variants were ready, which no verdict may rest on: they are dropped and
 * monitoring starts again from the stored events. */
static ab_store_status migrate_from_2(ab_sqlite *s, ab_error *err)
{
    return ab_sqlite_exec(
        s, "BEGIN IMMEDIATE;"
           "ALTER TABLE experiments ADD COLUMN monitoring_since INTEGER NOT NULL DEFAULT 0;"
           "ALTER TABLE experiments ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';"
           "ALTER TABLE monitor ADD COLUMN lo REAL;"
           "ALTER TABLE monitor ADD COLUMN hi REAL;"
           "DELETE FROM monitor;"
           "UPDATE meta SET value = '" AB_SQLITE_SCHEMA "' WHERE name = 'schema';"
           "COMMIT;", err);
}

/* A store written by another format version is refused, not misread. */
static ab_store_status check_schema(ab_sqlite *s, ab_error *err)
{
    sqlite3_stmt *st;
    ab_store_status rc = AB_STORE_CORRUPT;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE name = 'schema'", -1, &st,
                           NULL) != SQLITE_OK)
        return ab_sqlite_fail(s, err, "read schema version");
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if (v && !strcmp(v, AB_SQLITE_SCHEMA)) {
            rc = AB_STORE_OK;
        } else if (v && !strcmp(v, "3")) {
            sqlite3_finalize(st);
            return ab_sqlite_exec(s, "UPDATE meta SET value = '" AB_SQLITE_SCHEMA
                                     "' WHERE name = 'schema';", err);
        } else if (v && !strcmp(v, "2")) {
            sqlite3_finalize(st);
            if ((rc = migrate_from_2(s, err)) != AB_STORE_OK) ab_sqlite_abort(s);
            return rc;
        } else {
            ab_store_fail(err, AB_STORE_CORRUPT, "store: format %s, this abstatd reads format %s",
                          v ? v : "?", AB_SQLITE_SCHEMA);
        }
    } else {
        ab_store_fail(err, AB_STORE_CORRUPT, "store: no format version in the database");
    }
    sqlite3_finalize(st);
    return rc;
}

static void sqlite_close(void *be)
{
    ab_sqlite *s = be;
    if (!s) return;
    ab_sqlite_checkpointer_stop(&s->ckpt, s->db);
    ab_sqlite_stmts_free(&s->stmts);
    sqlite3_finalize(s->put_new);
    sqlite3_finalize(s->put_old);
    sqlite3_finalize(s->put_monitor);
    sqlite3_finalize(s->health);
    sqlite3_finalize(s->count_exp);
    sqlite3_finalize(s->count_all);
    if (s->db) sqlite3_close(s->db);
    if (s->ctr_fd >= 0) close(s->ctr_fd);
    if (s->lock_fd >= 0) close(s->lock_fd);
    if (s->side_lock_made) pthread_mutex_destroy(&s->side_lock);
    free(s);
}

static const char *const SCHEMA =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS experiments("
    " key INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " config TEXT NOT NULL, stopped INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL, monitoring_since INTEGER NOT NULL DEFAULT 0,"
    " changes TEXT NOT NULL DEFAULT '[]');"
    "CREATE TABLE IF NOT EXISTS monitor("
    " key INTEGER NOT NULL, arm INTEGER NOT NULL, min_p REAL,"
    " status INTEGER NOT NULL, since INTEGER NOT NULL, lo REAL, hi REAL,"
    " PRIMARY KEY(key, arm)) WITHOUT ROWID;"
    /* Row 0: the whole store (commits = the last commit's number); row
     * KEY: experiment KEY's event rows and events. */
    "CREATE TABLE IF NOT EXISTS commits(key INTEGER PRIMARY KEY,"
    " commits INTEGER NOT NULL, batches INTEGER NOT NULL, events INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta VALUES('schema', '" AB_SQLITE_SCHEMA "');";

static ab_store_status prepare_all(ab_sqlite *s, ab_error *err)
{
    ab_store_status rc;
    if ((rc = prepare(s, "INSERT INTO experiments(id, config, stopped, created, "
                         "monitoring_since, changes) VALUES(?,?,?,?,?,?)", &s->put_new, err)) ||
        (rc = prepare(s, "UPDATE experiments SET config = ?, stopped = ?, monitoring_since = ?,"
                         " changes = ? WHERE key = ?", &s->put_old, err)) ||
        (rc = prepare(s, "INSERT OR REPLACE INTO monitor(key, arm, min_p, status, since, lo, hi)"
                         " VALUES(?,?,?,?,?,?,?)", &s->put_monitor, err)) ||
        (rc = prepare(s, "INSERT OR REPLACE INTO meta VALUES('health', ?)", &s->health, err)) ||
        (rc = prepare(s, "INSERT INTO commits(key, commits, batches, events) VALUES(?1, 0, 1, ?2)"
                         " ON CONFLICT(key) DO UPDATE SET batches = batches + 1,"
                         " events = events + excluded.events", &s->count_exp, err)) ||
        (rc = prepare(s, "INSERT OR REPLACE INTO commits(key, commits, batches, events)"
                         " VALUES(0, ?1, ?2, ?3)", &s->count_all, err)))
        return rc;
    return AB_STORE_OK;
}

static void *sqlite_open(const char *dir, ab_durability durability, ab_error *err)
{
    char path[4096];
    ab_sqlite *s;
    int rc;
    /* Under full too: commits are made durable by ab_sqlite_sync_wal. */
    const char *sync = "PRAGMA synchronous=NORMAL;";

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        ab_store_fail(err, errno == EACCES || errno == EROFS ? AB_STORE_READONLY
                           : errno == ENOSPC ? AB_STORE_FULL : AB_STORE_IO,
                      "cannot create data directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    if (snprintf(path, sizeof path, "%s/abstat.db", dir) >= (int)sizeof path ||
        strlen(dir) >= sizeof s->dir) {
        ab_store_fail(err, AB_STORE_INVALID, "data directory path too long");
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s))) {
        ab_store_fail(err, AB_STORE_NOMEM, "out of memory");
        return NULL;
    }
    s->lock_fd = s->ctr_fd = -1;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    if (pthread_mutex_init(&s->side_lock, NULL)) {
        ab_store_fail(err, AB_STORE_INTERNAL, "store: cannot create the side file's lock");
        goto fail;
    }
    s->side_lock_made = 1;
    if ((s->lock_fd = ab_dir_lock(dir, err)) < 0) goto fail;
    if ((rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                SQLITE_OPEN_NOMUTEX, NULL)) != SQLITE_OK) {
        ab_store_fail(err, ab_sqlite_kind(rc), "store: open %s: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (ab_sqlite_exec(s, "PRAGMA journal_mode=WAL;", err) || ab_sqlite_exec(s, sync, err) ||
        ab_sqlite_exec(s, "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;"
                          "PRAGMA cache_size=-8192;", err) ||
        ab_sqlite_exec(s, SCHEMA, err) || check_schema(s, err) || prepare_all(s, err))
        goto fail;
    s->ctr_sync = durability == AB_DURABILITY_FULL;
    if ((s->ctr_fd = ab_counter_open(dir)) < 0) {
        ab_store_fail(err, errno == EACCES || errno == EROFS ? AB_STORE_READONLY : AB_STORE_IO,
                      "cannot open %s/%s: %s", dir, AB_COUNTER_FILE, strerror(errno));
        goto fail;
    }
    if (ab_sqlite_checkpointer_start(&s->ckpt, s->db, path, sync, err)) goto fail;
    return s;
fail:
    sqlite_close(s);
    return NULL;
}

static ab_store_status sqlite_begin(void *be, ab_error *err)
{
    ab_sqlite *s = be;
    ab_store_status rc;
    if (s->in_tx) return AB_STORE_OK;
    if ((rc = ab_sqlite_exec(s, "BEGIN IMMEDIATE", err))) return rc;
    s->in_tx = 1;
    s->tx = s->ctr;
    return AB_STORE_OK;
}

static void sqlite_rollback(void *be)
{
    ab_sqlite *s = be;
    if (!s->in_tx) return;
    ab_sqlite_abort(s);
    s->in_tx = 0;
}

static ab_store_status sqlite_commit(void *be, ab_error *err)
{
    ab_sqlite *s = be;
    ab_store_status rc;
    if (!s->in_tx) return AB_STORE_OK;
    s->tx.commits = s->ctr.commits + 1;
    if ((rc = ab_sqlite_write_counter_row(s, &s->tx, err)) ||
        (rc = ab_sqlite_exec(s, "COMMIT", err))) {
        sqlite_rollback(s);
        return rc;
    }
    s->in_tx = 0;
    s->ctr = s->tx;
    if (s->ctr_sync && (rc = ab_sqlite_sync_wal(s, err))) return rc;
    ab_sqlite_write_side(s, &s->ctr, s->ctr_sync);
    return AB_STORE_OK;
}

static int sqlite_writable(void *be)
{
    ab_sqlite *s = be;
    int rc;
    if (s->in_tx) return 1; /* a transaction is open: its outcome will tell */
    if (ab_sqlite_exec(s, "BEGIN IMMEDIATE", NULL)) return 0;
    sqlite3_bind_int64(s->health, 1, (sqlite3_int64)time(NULL));
    rc = sqlite3_step(s->health);
    sqlite3_reset(s->health);
    if (rc != SQLITE_DONE || ab_sqlite_exec(s, "COMMIT", NULL)) {
        ab_sqlite_abort(s);
        return 0;
    }
    return 1;
}

/* SQLite's heap is one figure for the process (every connection). */
static size_t sqlite_memory_bytes(const void *be)
{
    (void)be;
    return (size_t)sqlite3_memory_used();
}

const ab_store_backend ab_store_sqlite = {
    "sqlite",
    sqlite_open,
    sqlite_close,
    ab_sqlite_commit_batch,
    ab_sqlite_witness,
    sqlite_begin,
    sqlite_commit,
    sqlite_rollback,
    ab_sqlite_put_experiment,
    ab_sqlite_delete_experiment,
    ab_sqlite_put_monitor,
    ab_sqlite_clear_monitor,
    ab_sqlite_load,
    sqlite_writable,
    sqlite_memory_bytes,
    ab_sqlite_outbox_put,
    ab_sqlite_outbox_del,
    ab_sqlite_outbox_load,
    NULL, /* follow: one daemon per data directory (dir_lock.c) */
    NULL,
    NULL,
};
