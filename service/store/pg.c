/* pg.c — the PostgreSQL backend of store.h: open (schema made and migrated), transactions, health. */
#include "store/pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every table, made when missing (version 1). abstat_log holds the event
 * rows of every experiment, seq assigned in commit order from the single
 * row of abstat_log_head (pg_write.c). abstat_commits is the commit
 * counter as the SQLite backend keeps it: row 0 the whole store (commits,
 * rows, events), row KEY experiment KEY's rows and events. */
static const char *const SCHEMA =
    "CREATE TABLE IF NOT EXISTS abstat_schema(version int NOT NULL);"
    "CREATE TABLE IF NOT EXISTS abstat_experiments(key bigserial PRIMARY KEY,"
    " id text UNIQUE NOT NULL, config text, stopped int, created_ms bigint,"
    " monitoring_since_ms bigint, changes text, version bigint);"
    "CREATE TABLE IF NOT EXISTS abstat_log_head(one int PRIMARY KEY CHECK (one = 1),"
    " seq bigint NOT NULL);"
    "INSERT INTO abstat_log_head VALUES(1, 0) ON CONFLICT DO NOTHING;"
    "CREATE TABLE IF NOT EXISTS abstat_log(seq bigint PRIMARY KEY, exp_key bigint NOT NULL,"
    " batch bytea NOT NULL);"
    "CREATE INDEX IF NOT EXISTS abstat_log_exp ON abstat_log(exp_key, seq);"
    "CREATE TABLE IF NOT EXISTS abstat_commits(key bigint PRIMARY KEY, commits bigint NOT NULL,"
    " batches bigint NOT NULL, events bigint NOT NULL);"
    "INSERT INTO abstat_commits VALUES(0, 0, 0, 0) ON CONFLICT DO NOTHING;"
    "CREATE TABLE IF NOT EXISTS abstat_monitor(key bigint NOT NULL, arm int NOT NULL,"
    " min_p double precision, status int NOT NULL, since bigint NOT NULL,"
    " lo double precision, hi double precision, PRIMARY KEY(key, arm));"
    "CREATE TABLE IF NOT EXISTS abstat_outbox(id text PRIMARY KEY, url text NOT NULL,"
    " body text NOT NULL, created bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS abstat_damaged(seq bigint, exp_key bigint, batch bytea,"
    " found bigint);"
    "CREATE TABLE IF NOT EXISTS abstat_health(one int PRIMARY KEY, at bigint);";

/* Version 2: several nodes. abstat_config_log holds every configuration
 * change (op 1: the experiment row as written, op 2: its deletion) at its
 * place in the same seq order as the event rows, so that every node
 * applies changes and events in one order (pg_follow.c). The foreign key
 * makes a batch of a node that has not yet seen a deletion fail (and be
 * answered 503) instead of storing events of an experiment that no
 * longer exists; NOT VALID: it is checked for new rows only. */
static const char *const SCHEMA_2 =
    "CREATE TABLE IF NOT EXISTS abstat_config_log(seq bigint PRIMARY KEY, key bigint NOT NULL,"
    " op int NOT NULL, id text, config text, stopped int, created_ms bigint,"
    " monitoring_since_ms bigint, changes text);"
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'abstat_log_exp_fk')"
    " THEN ALTER TABLE abstat_log ADD CONSTRAINT abstat_log_exp_fk FOREIGN KEY (exp_key)"
    " REFERENCES abstat_experiments(key) NOT VALID; END IF; END $$;";

/* Creates, checks or migrates the schema in one transaction, under an
 * advisory lock so that daemons starting together do it once. */
static ab_store_status schema(ab_pg *p, ab_error *err)
{
    PGresult *r = NULL;
    ab_store_status kind;
    long v = 0;
    if ((kind = ab_pg_exec(p, "create the schema", "BEGIN;"
                           "SELECT pg_advisory_xact_lock(7303001);", err)) ||
        (kind = ab_pg_exec(p, "create the schema", SCHEMA, err)) ||
        (kind = ab_pg_query(p, "read the schema version", "SELECT max(version), count(*) "
                            "FROM abstat_schema", 0, NULL, NULL, NULL, 0, &r, err)))
        goto fail;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (v > AB_PG_SCHEMA) {
        kind = ab_store_fail(err, AB_STORE_CORRUPT, "store: the PostgreSQL database holds schema "
                             "version %ld, this abstatd knows up to version %d: run a newer "
                             "abstatd", v, AB_PG_SCHEMA);
        goto fail;
    }
    /* New (or made by a start that failed half-way), or version 1: the
     * tables of version 2 are added (both idempotent). */
    if (v < 2 && ((kind = ab_pg_exec(p, "migrate the schema to version 2", SCHEMA_2, err)) ||
                  (kind = ab_pg_exec(p, "write the schema version", "DELETE FROM abstat_schema;"
                                     "INSERT INTO abstat_schema VALUES(2);", err))))
        goto fail;
    /* Migrations from version v to v + 1 go here. */
    return ab_pg_exec(p, "create the schema", "COMMIT", err);
fail:
    ab_pg_abort(p);
    return kind;
}

static void pg_close(void *be)
{
    ab_pg *p = be;
    if (!p) return;
    ab_store_feed_free(&p->got);
    if (p->conn) PQfinish(p->conn);
    free(p->conninfo);
    free(p);
}

static void *pg_open(const char *where, ab_durability durability, ab_error *err)
{
    ab_pg *p;
    (void)durability; /* synchronous_commit is on under both (pg_conn.c) */
    if (!where || !*where) {
        ab_store_fail(err, AB_STORE_INVALID, "store: no PostgreSQL connection string");
        return NULL;
    }
    if (!(p = calloc(1, sizeof *p)) || !(p->conninfo = strdup(where))) {
        free(p);
        ab_store_fail(err, AB_STORE_NOMEM, "out of memory");
        return NULL;
    }
    if (ab_pg_ready(p, err) || schema(p, err)) {
        if (err) ab_store_scrub(where, err->text, sizeof err->text);
        pg_close(p);
        return NULL;
    }
    return p;
}

static ab_store_status pg_begin(void *be, ab_error *err)
{
    ab_pg *p = be;
    ab_store_status kind;
    if (p->in_tx) return AB_STORE_OK;
    if ((kind = ab_pg_ready(p, err)) || (kind = ab_pg_exec(p, "begin", "BEGIN", err)))
        return kind;
    p->in_tx = 1;
    return AB_STORE_OK;
}

static void pg_rollback(void *be)
{
    ab_pg *p = be;
    if (!p->in_tx) return;
    ab_pg_abort(p);
    ab_pg_own_settle(p, 0);
    p->in_tx = 0;
}

/* Every commit counts one in the counter (store_counter.h). */
static ab_store_status pg_commit(void *be, ab_error *err)
{
    ab_pg *p = be;
    ab_store_status kind;
    if (!p->in_tx) return AB_STORE_OK;
    if ((kind = ab_pg_exec(p, "commit", "UPDATE abstat_commits SET commits = commits + 1 "
                           "WHERE key = 0; COMMIT", err))) {
        pg_rollback(p);
        return kind;
    }
    ab_pg_own_settle(p, 1);
    p->in_tx = 0;
    return AB_STORE_OK;
}

static int pg_writable(void *be)
{
    ab_pg *p = be;
    char sql[200];
    if (p->in_tx) return 1; /* a transaction is open: its outcome will tell */
    if (ab_pg_ready(p, NULL)) return 0;
    snprintf(sql, sizeof sql, "BEGIN; INSERT INTO abstat_health VALUES(1, %lld) ON CONFLICT "
             "(one) DO UPDATE SET at = excluded.at; COMMIT", (long long)time(NULL));
    if (ab_pg_exec(p, "health probe", sql, NULL)) {
        ab_pg_abort(p);
        return 0;
    }
    return 1;
}

/* libpq's buffers (its input and output buffers grow to the largest row
 * sent or read; a few tens of KiB usually) and the handle. */
static size_t pg_memory_bytes(const void *be)
{
    const ab_pg *p = be;
    return sizeof *p + (p && p->conninfo ? strlen(p->conninfo) : 0) + (64u << 10);
}

const ab_store_backend ab_store_postgresql = {
    "postgresql",
    pg_open,
    pg_close,
    ab_pg_commit_batch,
    NULL, /* witness: a COMMIT that returned is durable in PostgreSQL */
    pg_begin,
    pg_commit,
    pg_rollback,
    ab_pg_put_experiment,
    ab_pg_delete_experiment,
    ab_pg_put_monitor,
    ab_pg_clear_monitor,
    ab_pg_load,
    pg_writable,
    pg_memory_bytes,
    ab_pg_outbox_put,
    ab_pg_outbox_del,
    ab_pg_outbox_load,
    ab_pg_follow,
    ab_pg_evaluator,
    ab_pg_monitor_load,
};
