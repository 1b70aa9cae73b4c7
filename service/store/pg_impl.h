/* pg_impl.h — what the PostgreSQL backend's files share: the handle and the query helpers. */
#ifndef ABSTAT_STORE_PG_IMPL_H
#define ABSTAT_STORE_PG_IMPL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "store/store_backend.h"

/* The schema this code writes (table abstat_schema); open() creates it,
 * migrates an older one and refuses a newer one. */
#define AB_PG_SCHEMA 2

/* How long one statement (or one batch's pipeline) may take before the
 * connection is given up as dead (AB_STORE_BUSY): a server that stopped
 * answering must not hang the store thread for ever. */
#define AB_PG_TIMEOUT_MS 30000
/* libpq's connect_timeout (seconds) unless the connection string sets one. */
#define AB_PG_CONNECT_TIMEOUT "10"

/* The channel every commit and configuration change notifies, and every
 * node listens on (pg_follow.c). */
#define AB_PG_CHANNEL "abstat_log"
/* The session advisory lock of the one evaluator (README "Architecture",
 * several nodes); 7303001 is the schema's transaction lock (pg.c). A
 * session lock goes with its connection: a node killed or cut off lets go
 * of it as its server process ends. */
#define AB_PG_EVALUATOR_LOCK "7303003"

/* The backend's handle: one connection, used by one thread at a time
 * (store.c serialises the ops). */
typedef struct {
    PGconn *conn;
    char *conninfo;
    int in_tx;      /* a synchronous transaction (begin ... commit) is open */
    int broken;     /* the connection failed: reconnect before the next op */
    int recover;
    ab_store_integrity *integ; /* during load: the caller's */
    /* Following the shared log (pg_follow.c): every item up to seq
     * `applied` has been handed on (or is this node's own); `got` holds
     * the others' items the last commit read, for follow. */
    int64_t applied;
    ab_store_feed got;
    int64_t polled_ms;  /* when the log was last read (monotonic) */
    int more;           /* the last read stopped at its limit */
    int loaded;         /* load has set applied: following may begin */
    /* This session holds AB_PG_EVALUATOR_LOCK (read by any thread:
     * atomics); lead_tried_ms: when it was last tried. */
    int leader;
    int64_t lead_tried_ms;
    /* This node's own configuration changes: seqs taken in the open
     * transaction (own_tx), then, once committed, until the log brings
     * them back (own), so that they are not applied twice: an older one
     * coming back after a newer one was made here would undo it for a
     * moment. A seq of a transaction rolled back is another's to take. */
    int64_t own_tx[8], own[64];
    size_t nown_tx, nown;
} ab_pg;

/* Connects (again) when there is no usable connection: after a lost one
 * the next operation reconnects, so the daemon recovers by itself when
 * PostgreSQL is back. Inside a transaction a lost connection lost the
 * transaction too: BUSY, no reconnect. */
ab_store_status ab_pg_ready(ab_pg *p, ab_error *err);

/* The kind of a failed result (SQLSTATE) or, r NULL, of the connection. */
ab_store_status ab_pg_kind(ab_pg *p, const PGresult *r);

/* Runs one statement with n text/binary parameters (n < 0: sql is one or
 * more statements without parameters, the simple protocol), asynchronously
 * with a deadline. On success *out (when out is not NULL) holds the last
 * result, the caller PQclear()s it; on failure err says "store: WHAT:
 * PostgreSQL's message" and the kind is returned. binary: results in
 * binary format. */
ab_store_status ab_pg_query(ab_pg *p, const char *what, const char *sql, int n,
                            const char *const *vals, const int *lens, const int *fmts,
                            int binary, PGresult **out, ab_error *err);
/* ab_pg_query without parameters or results. */
ab_store_status ab_pg_exec(ab_pg *p, const char *what, const char *sql, ab_error *err);

/* Low level, for the pipeline of a batch: flushes what was sent, and
 * waits for the next result (*r, NULL at the end of a query's results),
 * both until deadline (a CLOCK_MONOTONIC time in ms). */
ab_store_status ab_pg_flush(ab_pg *p, int64_t deadline, const char *what, ab_error *err);
ab_store_status ab_pg_next(ab_pg *p, int64_t deadline, PGresult **r, const char *what,
                           ab_error *err);
int64_t ab_pg_now_ms(void);
/* Sets err from a failed result (r may be NULL: the connection's message). */
ab_store_status ab_pg_fail(ab_pg *p, const PGresult *r, const char *what, ab_error *err);
/* Rolls back whatever transaction is open (best effort, errors ignored). */
void ab_pg_abort(ab_pg *p);

/* Integers as text parameters: buf of 24 bytes. */
const char *ab_pg_i64(char *buf, int64_t v);
/* A column as an integer (text result; 0 when NULL). */
int64_t ab_pg_get_i64(const PGresult *r, int row, int col);

/* The writes (pg_write.c). */
ab_store_status ab_pg_commit_batch(void *be, const ab_store_batch *b, ab_store_seal *seal,
                                   ab_error *err);
ab_store_status ab_pg_put_experiment(void *be, ab_store_experiment *e, ab_error *err);
ab_store_status ab_pg_delete_experiment(void *be, int64_t key, ab_error *err);
ab_store_status ab_pg_put_monitor(void *be, const ab_store_monitor *m, ab_error *err);
ab_store_status ab_pg_clear_monitor(void *be, int64_t key, ab_error *err);
ab_store_status ab_pg_outbox_put(void *be, const ab_store_delivery *d, ab_error *err);
ab_store_status ab_pg_outbox_del(void *be, const char *id, ab_error *err);

/* Following the shared log (pg_follow.c). FEED_SQL's parameters: after,
 * up to (inclusive) and a limit; results in binary. */
#define AB_PG_FEED_SQL                                                                    \
    "SELECT seq, exp_key, 0, batch, NULL::text, NULL::text, 0, 0::bigint, 0::bigint,"     \
    " NULL::text FROM abstat_log WHERE seq > $1 AND seq <= $2 UNION ALL"                  \
    " SELECT seq, key, op, NULL::bytea, id, config, stopped, created_ms,"                 \
    " monitoring_since_ms, changes FROM abstat_config_log WHERE seq > $1 AND seq <= $2"   \
    " ORDER BY 1 LIMIT $3"
/* Appends FEED_SQL's rows to out; *last is the highest seq read (unchanged
 * when none). */
ab_store_status ab_pg_feed_parse(ab_pg *p, const PGresult *r, ab_store_feed *out, int64_t *last,
                                 ab_error *err);
ab_store_status ab_pg_follow(void *be, int poll, ab_store_feed *out, ab_error *err);
int ab_pg_evaluator(const void *be);
ab_store_status ab_pg_monitor_load(void *be, int (*cb)(void *ctx, const ab_store_monitor *m),
                                   void *ctx, ab_error *err);
/* Takes the next position in the log (and with it the head row's lock,
 * until the transaction ends) for a configuration change. */
ab_store_status ab_pg_take_seq(ab_pg *p, int64_t *seq, ab_error *err);
/* The open transaction's own seqs: committed (1) or rolled back (0). */
void ab_pg_own_settle(ab_pg *p, int committed);

/* The start and the outbox replay (pg_load.c). */
ab_store_status ab_pg_load(void *be, const ab_store_loader *ld, void *ctx, int recover,
                           ab_store_integrity *integ, ab_error *err);
ab_store_status ab_pg_outbox_load(void *be, int (*cb)(void *ctx, const ab_store_delivery *d),
                                  void *ctx, ab_error *err);

#endif
