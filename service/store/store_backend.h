/* store_backend.h — what a storage backend implements (SQLite today, a
 * PostgreSQL one next) behind store.h, and the batch as backends read it.
 * store.c owns the threads and the order; a backend only stores. */
#ifndef ABSTAT_STORE_BACKEND_H
#define ABSTAT_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* One experiment's records of a batch: a row as the backend stores it,
 * AB_RECORD_ROW_HEADER bytes of header (unfilled: ab_record_seal) then
 * nev records. */
typedef struct {
    int64_t key;
    unsigned char *buf;
    size_t len, cap;
    uint64_t nev;
} ab_store_row;

#define AB_STORE_BATCH_HINTS 64

struct ab_store_batch {
    ab_store_row *rows;      /* in the order experiments first appeared */
    size_t n, cap;
    uint64_t events;
    size_t bytes;
    uint32_t hint[AB_STORE_BATCH_HINTS]; /* key hash -> row index + 1 (a cache, may miss) */
};

/* What a batch commit leaves for its witness (backend-defined words,
 * copied): needed 0 when the commit is complete as it is. */
typedef struct {
    int needed;
    uint64_t v[6];
} ab_store_seal;

/* Items of the shared log copied for the caller's thread (feed.c), in
 * order; an empty feed is all zeros. */
typedef struct ab_store_feed_row ab_store_feed_row;
typedef struct {
    ab_store_feed_row *head, *tail;
    size_t n;
} ab_store_feed;

/* Appends a copy of it (its row and strings too). */
ab_store_status ab_store_feed_add(ab_store_feed *f, const ab_store_feed_item *it, ab_error *err);
/* Appends every item of from to to; from is left empty. */
void ab_store_feed_move(ab_store_feed *to, ab_store_feed *from);
/* Calls follow (when not NULL) on each item in order, then empties f. */
void ab_store_feed_run(ab_store_feed *f, ab_store_follow follow, void *arg);
void ab_store_feed_free(ab_store_feed *f);

/* The operations, each on the backend handle open returned. store.c calls
 * them one at a time (never two at once, whatever the thread), so a
 * backend needs no locking of its own; commit_batch runs on the store
 * thread, everything else on the caller's, except witness (below).
 * Errors are set with ab_store_fail. The sync writes (put_*, delete_*,
 * clear_*) are called only between begin and commit/rollback. */
typedef struct {
    const char *name;
    /* Opens (creating) the store at where (SQLite: a data directory). */
    void *(*open)(const char *where, ab_durability durability, ab_error *err);
    void (*close)(void *be);
    /* Commits every row of b in one transaction of its own, durable per
     * the durability before it returns OK; on failure nothing of b stays.
     * It may leave the last durable step to witness by filling *seal. */
    ab_store_status (*commit_batch)(void *be, const ab_store_batch *b, ab_store_seal *seal,
                                    ab_error *err);
    /* The rest of a commit that needs no access to the database (SQLite,
     * under --durability full: the write-ahead log's fdatasync, then the
     * side file's counter and its own), on a thread of its own while the
     * next batch commits: the two waits overlap. seal is that of the
     * latest commit waiting; one witness covers it and every commit
     * before it, and those batches count as committed once it returns OK.
     * A failure fails them all. The backend guards what it shares with
     * the other ops. NULL when commits never leave a seal. */
    ab_store_status (*witness)(void *be, const ab_store_seal *seal, ab_error *err);
    ab_store_status (*begin)(void *be, ab_error *err);
    ab_store_status (*commit)(void *be, ab_error *err);
    void (*rollback)(void *be);
    ab_store_status (*put_experiment)(void *be, ab_store_experiment *e, ab_error *err);
    ab_store_status (*delete_experiment)(void *be, int64_t key, ab_error *err);
    ab_store_status (*put_monitor)(void *be, const ab_store_monitor *m, ab_error *err);
    ab_store_status (*clear_monitor)(void *be, int64_t key, ab_error *err);
    /* The replay and the start-up checks of store.h; fills *integ. */
    ab_store_status (*load)(void *be, const ab_store_loader *ld, void *ctx, int recover,
                            ab_store_integrity *integ, ab_error *err);
    int (*writable)(void *be);
    size_t (*memory_bytes)(const void *be);
    /* Outside a transaction these run in one of their own. */
    ab_store_status (*outbox_put)(void *be, const ab_store_delivery *d, ab_error *err);
    ab_store_status (*outbox_del)(void *be, const char *id, ab_error *err);
    ab_store_status (*outbox_load)(void *be, int (*cb)(void *ctx, const ab_store_delivery *d),
                                   void *ctx, ab_error *err);
    /* A shared store (NULL otherwise): moves into *out the other nodes'
     * items that the last commit_batch read (those before its own), and
     * with poll set also reads what was committed since (when a
     * notification came or AB_STORE_FOLLOW_POLL_MS passed), in order. On
     * the store thread, between commits. */
    ab_store_status (*follow)(void *be, int poll, ab_store_feed *out, ab_error *err);
    /* A shared store: 1 while this node holds the evaluator lock (follow
     * tries to take it); any thread. */
    int (*evaluator)(const void *be);
    /* A shared store: every monitor row, on the caller's thread. */
    ab_store_status (*monitor_load)(void *be, int (*cb)(void *ctx, const ab_store_monitor *m),
                                    void *ctx, ab_error *err);
} ab_store_backend;

/* SQLite: a database abstat.db in a data directory (sqlite.c). */
extern const ab_store_backend ab_store_sqlite;
/* PostgreSQL: where is a libpq connection string (postgresql://... or
 * key=value ...); tables abstat_* in that database (pg*.c). Any number
 * of daemons may share one database (follow). */
extern const ab_store_backend ab_store_postgresql;

/* ab_store_open with a given backend (the contract tests run each). */
ab_store *ab_store_open_with(const ab_store_backend *be, const char *where,
                             ab_durability durability, ab_error *err);

/* Sets *err (err may be NULL) with the kind's conventional status (see
 * store.h) and returns kind. */
ab_store_status ab_store_fail(ab_error *err, ab_store_status kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A loss or a doubt found while loading: CORRUPT with err naming it and
 * the way out, unless recover: then it is logged, integ->recovered is set
 * and the load goes on (OK). */
ab_store_status ab_store_refuse(int recover, ab_store_integrity *integ, ab_error *err,
                                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
