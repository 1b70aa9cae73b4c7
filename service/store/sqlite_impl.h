/* sqlite_impl.h — what the SQLite backend's files share: the handle, threads, helpers. */
#ifndef ABSTAT_STORE_SQLITE_IMPL_H
#define ABSTAT_STORE_SQLITE_IMPL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store/store_backend.h"
#include "store/store_counter.h"

/* Checkpoints run on their own thread and connection: SQLite's automatic
 * checkpoint would copy the WAL into the database and fsync it inside
 * some commit, holding up the commits behind it for milliseconds several
 * times a second under load (sqlite_checkpoint.c). */
typedef struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    sqlite3 *db;
    int started, stop, wanted;
} ab_sqlite_checkpointer;

/* Starts the checkpointer on its own connection to path (PRAGMA sync
 * applied) and installs it as db's WAL hook. 0, or the kind with err set
 * (then call ab_sqlite_checkpointer_stop all the same). */
ab_store_status ab_sqlite_checkpointer_start(ab_sqlite_checkpointer *c, sqlite3 *db,
                                             const char *path, const char *sync,
                                             ab_error *err);
/* Stops the thread and closes its connection; db's hook is removed. */
void ab_sqlite_checkpointer_stop(ab_sqlite_checkpointer *c, sqlite3 *db);

/* The prepared INSERT of each experiment's event table, by key: a sorted
 * array (experiments are few and change rarely; a commit looks up one
 * statement per experiment it holds) (sqlite_stmts.c). */
typedef struct {
    int64_t key;
    sqlite3_stmt *insert;
} ab_sqlite_stmt;

typedef struct {
    ab_sqlite_stmt *v;
    size_t n, cap;
} ab_sqlite_stmts;

/* The INSERT for experiment key's table in *out, prepared on first use;
 * the kind, err set on failure. */
ab_store_status ab_sqlite_stmt_insert(ab_sqlite_stmts *c, sqlite3 *db, int64_t key,
                                      sqlite3_stmt **out, ab_error *err);
/* Finalizes and forgets key's statement (its table is dropped). */
void ab_sqlite_stmt_drop(ab_sqlite_stmts *c, int64_t key);
void ab_sqlite_stmts_free(ab_sqlite_stmts *c);

/* The backend's handle. */
typedef struct {
    sqlite3 *db;
    ab_sqlite_checkpointer ckpt;
    int lock_fd;
    int in_tx;
    ab_sqlite_stmts stmts;
    sqlite3_stmt *put_new, *put_old, *put_monitor, *health;
    /* The commit counter (store_counter.h): ctr as of the last commit,
     * tx as the open transaction will leave it; mirrored in the database
     * (table commits, row 0) and in DIR/abstat.commits after each commit. */
    sqlite3_stmt *count_exp, *count_all;
    ab_counter ctr, tx;
    int ctr_fd, ctr_sync;
    int dir_synced;  /* the directory was synced after the log existed */
    /* The side file is written by the witness thread and by synchronous
     * commits: side_lock orders them, and a counter older than the one
     * written last is not written (the file never goes back). */
    pthread_mutex_t side_lock;
    int side_lock_made, ctr_write_failed;
    uint64_t side_commits;
    int recover;
    ab_store_integrity *integ; /* during load: the caller's */
    char dir[4096];
} ab_sqlite;

/* 2: events as binary records, one row per stored batch. 3: test-definition
 * history. 4: the commit counter (table commits) and checksummed rows. */
#define AB_SQLITE_SCHEMA "4"

/* The kind of SQLite result code rc. */
ab_store_status ab_sqlite_kind(int rc);
/* Sets err from the connection's last error ("store: WHAT: message") and
 * returns its kind. */
ab_store_status ab_sqlite_fail(ab_sqlite *s, ab_error *err, const char *what);
/* Runs sql (several statements); the kind, err set on failure. */
ab_store_status ab_sqlite_exec(ab_sqlite *s, const char *sql, ab_error *err);
/* Rolls back whatever transaction the connection has open. */
void ab_sqlite_abort(ab_sqlite *s);
/* Writes c as row 0 of table commits (inside a transaction). */
ab_store_status ab_sqlite_write_counter_row(ab_sqlite *s, const ab_counter *c, ab_error *err);

/* The whole start (sqlite_load.c). */
ab_store_status ab_sqlite_load(void *be, const ab_store_loader *ld, void *ctx, int recover,
                               ab_store_integrity *integ, ab_error *err);

/* ---- Start state, shared by the checks and the replay ------------------ */

/* Rows and events one experiment holds (counted by the replay) and must
 * hold (its row in table commits). */
typedef struct {
    int64_t key;
    uint64_t batches, events;
} ab_sqlite_tally;

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
    ab_sqlite_tally *t;
    size_t nt, capt;
    ab_sqlite_tally *bad;   /* corrupt rows skipped: key and rowid (in batches) */
    size_t nbad, capbad;
    uint64_t batches, events; /* read */
    unsigned logged_rows;
} ab_sqlite_start;

/* Before the replay: the database against the side file (sqlite_check.c). */
ab_store_status ab_sqlite_check_counter(ab_sqlite *s, ab_sqlite_start *ss, ab_error *err);

/* The outbox (sqlite_outbox.c). */
ab_store_status ab_sqlite_outbox_put(void *be, const ab_store_delivery *d, ab_error *err);
ab_store_status ab_sqlite_outbox_del(void *be, const char *id, ab_error *err);
ab_store_status ab_sqlite_outbox_load(void *be, int (*cb)(void *ctx, const ab_store_delivery *d),
                                      void *ctx, ab_error *err);

/* The writes (sqlite_write.c). */
ab_store_status ab_sqlite_commit_batch(void *be, const ab_store_batch *b, ab_store_seal *seal,
                                       ab_error *err);
ab_store_status ab_sqlite_witness(void *be, const ab_store_seal *seal, ab_error *err);
/* fdatasync of the write-ahead log (and, the first time, of the data
 * directory): what makes a commit durable under --durability full. */
ab_store_status ab_sqlite_sync_wal(ab_sqlite *s, ab_error *err);
ab_store_status ab_sqlite_put_experiment(void *be, ab_store_experiment *e, ab_error *err);
ab_store_status ab_sqlite_delete_experiment(void *be, int64_t key, ab_error *err);
ab_store_status ab_sqlite_put_monitor(void *be, const ab_store_monitor *m, ab_error *err);
ab_store_status ab_sqlite_clear_monitor(void *be, int64_t key, ab_error *err);
/* After a commit: the side file follows the database, with c (synced
 * when sync). */
void ab_sqlite_write_side(ab_sqlite *s, const ab_counter *c, int sync);

#endif
