/* pg_impl.h — what the PostgreSQL backend's files share: the handle and the query helpers. */
#ifndef ABSTAT_STORE_PG_IMPL_H
#define ABSTAT_STORE_PG_IMPL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "store/store_backend.h"

/* The schema this code writes (table abstat_schema); open() creates it,
 * migrates an older one and refuses a newer one. */
#define AB_PG_SCHEMA 1

/* How long one statement (or one batch's pipeline) may take before the
 * connection is given up as dead (AB_STORE_BUSY): a server that stopped
 * answering must not hang the store thread for ever. */
#define AB_PG_TIMEOUT_MS 30000
/* libpq's connect_timeout (seconds) unless the connection string sets one. */
#define AB_PG_CONNECT_TIMEOUT "10"

/* One abstatd per database (README "Storage and durability", PostgreSQL):
 * the key of the session-level advisory lock each daemon holds on its
 * database for as long as it is connected (pg_conn.c says why). Schema
 * changes use 7303001 (pg.c), a transaction lock. */
#define AB_PG_NODE_LOCK 7303002
#define AB_PG_STR_(x) #x
#define AB_PG_STR(x) AB_PG_STR_(x)
/* How long open waits for that lock before refusing: a daemon killed a
 * moment ago holds it until its server process has noticed the closed
 * connection, a few milliseconds on a local server. */
#define AB_PG_LOCK_WAIT_MS 3000
#define AB_PG_NODE_REFUSED "another abstatd uses this database; several nodes are not supported yet"

/* The backend's handle: one connection, used by one thread at a time
 * (store.c serialises the ops). */
typedef struct {
    PGconn *conn;
    char *conninfo;
    int in_tx;      /* a synchronous transaction (begin ... commit) is open */
    int broken;     /* the connection failed: reconnect before the next op */
    int recover;
    int locked;     /* this connection holds AB_PG_NODE_LOCK */
    int opened;     /* open succeeded: a reconnect takes the lock without waiting */
    ab_store_integrity *integ; /* during load: the caller's */
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
/* Lets go of AB_PG_NODE_LOCK before the connection closes (best effort),
 * so that a daemon started right after a stop needs not wait for it. */
void ab_pg_unlock(ab_pg *p);

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

/* The start and the outbox replay (pg_load.c). */
ab_store_status ab_pg_load(void *be, const ab_store_loader *ld, void *ctx, int recover,
                           ab_store_integrity *integ, ab_error *err);
ab_store_status ab_pg_outbox_load(void *be, int (*cb)(void *ctx, const ab_store_delivery *d),
                                  void *ctx, ab_error *err);

#endif
