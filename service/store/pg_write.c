/* pg_write.c — the PostgreSQL writes: event rows in commit order, experiments, monitoring, the outbox. */
#include "store/pg_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/record.h"

#define INSERT_ROW "INSERT INTO abstat_log(seq, exp_key, batch) VALUES($1, $2, $3)"
#define COUNT_EXP                                                                       \
    "INSERT INTO abstat_commits(key, commits, batches, events) VALUES($1, 0, 1, $2)"    \
    " ON CONFLICT (key) DO UPDATE SET batches = abstat_commits.batches + 1,"           \
    " events = abstat_commits.events + excluded.events"
#define COUNT_ALL                                                                       \
    "UPDATE abstat_commits SET commits = commits + 1, batches = batches + $1,"          \
    " events = events + $2 WHERE key = 0"

/* Sends one statement into the pipeline (binary: its results in binary). */
static ab_store_status send_fmt(ab_pg *p, const char *sql, int n, const char *const *vals,
                                const int *lens, const int *fmts, int binary, ab_error *err)
{
    if (!PQsendQueryParams(p->conn, sql, n, NULL, vals, lens, fmts, binary))
        return ab_pg_fail(p, NULL, "commit events (send)", err);
    return AB_STORE_OK;
}

static ab_store_status send(ab_pg *p, const char *sql, int n, const char *const *vals,
                            const int *lens, const int *fmts, ab_error *err)
{
    return send_fmt(p, sql, n, vals, lens, fmts, 0, err);
}

/* A batch of a node that had not seen an experiment's deletion yet: its
 * rows break abstat_log's foreign key. Not the client's fault and gone on
 * a retry (which the node then refuses with 404 or counts in the
 * experiment as it now is): BUSY, 503 with Retry-After. */
static ab_store_status fail_row(ab_pg *p, const PGresult *r, ab_error *err)
{
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (st && !strcmp(st, "23503"))
        return ab_store_fail(err, AB_STORE_BUSY, "store: commit events: an experiment of this "
                             "batch was deleted by another node meanwhile; send again");
    return ab_pg_fail(p, r, "commit events", err);
}

/* Reads the pipeline's results: nq statements, then the sync. The first
 * failure is the outcome; later statements come back aborted. The first
 * statement's result is kept in *first (the caller clears it). */
static ab_store_status drain(ab_pg *p, int nq, int64_t deadline, PGresult **first,
                             ab_error *err)
{
    ab_store_status kind = AB_STORE_OK, k;
    PGresult *r;
    for (int i = 0; i <= nq; i++) {
        for (;;) {
            if ((k = ab_pg_next(p, deadline, &r, "commit events", err))) return k;
            if (!r) break; /* the end of this statement's results */
            if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
                PQclear(r);
                return kind;
            }
            if (kind == AB_STORE_OK && PQresultStatus(r) != PGRES_COMMAND_OK &&
                PQresultStatus(r) != PGRES_TUPLES_OK)
                kind = PQresultStatus(r) == PGRES_PIPELINE_ABORTED
                           ? ab_store_fail(err, AB_STORE_INTERNAL, "store: commit events: "
                                           "the pipeline was aborted")
                           : fail_row(p, r, err);
            if (i == 0 && !*first && PQresultStatus(r) == PGRES_TUPLES_OK) *first = r;
            else PQclear(r);
        }
    }
    /* not reached: the sync ends the loop */
    return kind ? kind : ab_store_fail(err, AB_STORE_INTERNAL, "store: commit events: no sync");
}

ab_store_status ab_pg_commit_batch(void *be, const ab_store_batch *b, ab_store_seal *seal,
                                   ab_error *err)
{
    ab_pg *p = be;
    PGresult *r = NULL, *feed = NULL;
    ab_store_status kind;
    int64_t head, deadline;
    uint64_t events = 0;
    char n[24], nb[24], ne[24], fa[24], fh[24];
    const char *v[3];
    int nq = 0, fmt_bin[3] = {0, 0, 0};
    (void)seal; /* nothing is left to a witness: COMMIT returned means durable */
    if (p->in_tx)
        return ab_store_fail(err, AB_STORE_INVALID, "store: a batch inside a transaction");
    if (b->n == 0) return AB_STORE_OK; /* nothing to store, nothing to count */
    if ((kind = ab_pg_ready(p, err))) return kind;
    /* seq is assigned in commit order. The UPDATE takes the row lock of
     * the single row of abstat_log_head and keeps it until COMMIT, so
     * committers (this daemon's and every other's on the same database)
     * run this section one at a time: the one that got seq range S
     * commits before the next can get a range above S. A reader that
     * reads the log in seq order therefore never sees a later seq become
     * visible before an earlier one (no gaps filled in afterwards), and
     * "everything up to seq N" stays a stable position to resume from. A
     * sequence (nextval) would not do: its numbers are taken outside the
     * transaction's order, and a transaction that took a lower number
     * may commit after one that took a higher. */
    v[0] = ab_pg_i64(n, (int64_t)b->n);
    if ((kind = ab_pg_exec(p, "commit events (begin)", "BEGIN", err)) ||
        (kind = ab_pg_query(p, "commit events (take the log position)",
                            "UPDATE abstat_log_head SET seq = seq + $1 RETURNING seq", 1, v,
                            NULL, NULL, 0, &r, err)))
        goto fail;
    if (PQntuples(r) != 1) {
        PQclear(r);
        kind = ab_store_fail(err, AB_STORE_CORRUPT, "store: the log head row "
                             "(abstat_log_head) is missing");
        goto fail;
    }
    head = ab_pg_get_i64(r, 0, 0) - (int64_t)b->n;
    PQclear(r);
    /* The rows, their counts and the COMMIT in one pipeline: one round
     * trip for the whole batch. */
    deadline = ab_pg_now_ms() + AB_PG_TIMEOUT_MS;
    if (!PQenterPipelineMode(p->conn)) {
        kind = ab_pg_fail(p, NULL, "commit events (pipeline mode)", err);
        goto fail;
    }
    /* First what the other nodes committed since this one last read: all
     * of it is visible now (the head row's lock was granted only after
     * the last writer before this one committed), and nothing above head
     * can be (this transaction holds the lock). Those items come before
     * this batch in every node's order (store.h, "Several nodes"). */
    v[0] = ab_pg_i64(fa, p->applied);
    v[1] = ab_pg_i64(fh, head);
    v[2] = "9223372036854775807";
    if (!(kind = send_fmt(p, AB_PG_FEED_SQL, 3, v, NULL, fmt_bin, 1, err))) nq++;
    for (size_t i = 0; i < b->n && !kind; i++) {
        const ab_store_row *row = &b->rows[i];
        char s[24], k[24], c[24];
        const char *vals[3];
        int lens[3] = {0, 0, 0}, fmts[3] = {0, 0, 1};
        if (row->len > 0x7fffffff) {
            kind = ab_store_fail(err, AB_STORE_INVALID, "store: a row of %zu bytes is too "
                                 "large", row->len);
            break;
        }
        ab_record_seal(row->buf, row->len, row->nev);
        vals[0] = ab_pg_i64(s, head + (int64_t)i + 1);
        vals[1] = ab_pg_i64(k, row->key);
        vals[2] = (const char *)row->buf;
        lens[2] = (int)row->len;
        if (!(kind = send(p, INSERT_ROW, 3, vals, lens, fmts, err))) nq++;
        vals[1] = ab_pg_i64(c, (int64_t)row->nev);
        vals[0] = k;
        if (!kind && !(kind = send(p, COUNT_EXP, 2, vals, NULL, NULL, err))) nq++;
        events += row->nev;
    }
    v[0] = ab_pg_i64(nb, (int64_t)b->n);
    v[1] = ab_pg_i64(ne, (int64_t)events);
    if (!kind && !(kind = send(p, COUNT_ALL, 2, v, NULL, NULL, err))) nq++;
    if (!kind && !(kind = send(p, "NOTIFY " AB_PG_CHANNEL, 0, NULL, NULL, NULL, err))) nq++;
    if (!kind && !(kind = send(p, "COMMIT", 0, NULL, NULL, NULL, err))) nq++;
    if (!PQpipelineSync(p->conn) && !kind) kind = ab_pg_fail(p, NULL, "commit events (sync)", err);
    /* Sent even after a failure: the sync's results end the pipeline. */
    if (!p->broken) {
        ab_store_status kf = ab_pg_flush(p, deadline, "commit events", kind ? NULL : err);
        if (!kind) kind = kf;
    }
    if (!p->broken) {
        ab_store_status k2 = drain(p, nq, deadline, &feed, kind ? NULL : err);
        if (!kind) kind = k2;
    }
    /* A connection lost after the COMMIT was sent and before its answer
     * leaves the outcome unknown: it is reported BUSY like any lost
     * connection (the client sends again; idempotency keys, not the
     * store, make that safe), and the start-up checks count what is
     * there. */
    if (!p->broken && !PQexitPipelineMode(p->conn)) p->broken = 1;
    if (kind == AB_STORE_OK) {
        int64_t last = p->applied;
        ab_error ferr = {0, ""};
        /* Committed: the items read are this node's to apply, then its own
         * rows, head + 1 .. head + n. Should copying them fail (out of
         * memory) this node's counts would miss them: say so loudly. */
        if (feed && ab_pg_feed_parse(p, feed, &p->got, &last, &ferr))
            ab_logerr("store: %s; this node's counts now miss other nodes' events: restart it",
                      ferr.text);
        PQclear(feed);
        p->applied = head + (int64_t)b->n;
        return AB_STORE_OK;
    }
    PQclear(feed);
fail:
    ab_pg_abort(p);
    return kind;
}

static const char *text_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

/* The change just written goes into the log at seq, as the row now is. */
static ab_store_status log_experiment(ab_pg *p, int64_t seq, int64_t key, ab_error *err)
{
    char s[24], k[24];
    const char *v[2] = {ab_pg_i64(s, seq), ab_pg_i64(k, key)};
    ab_store_status kind = ab_pg_query(p, "log the change", "INSERT INTO abstat_config_log "
                                       "SELECT $1, key, 1, id, config, stopped, created_ms, "
                                       "monitoring_since_ms, changes FROM abstat_experiments "
                                       "WHERE key = $2", 2, v, NULL, NULL, 0, NULL, err);
    return kind ? kind : ab_pg_exec(p, "log the change", "NOTIFY " AB_PG_CHANNEL, err);
}

static ab_store_status write_experiment(ab_pg *p, ab_store_experiment *e, ab_error *err)
{
    char st[24], cr[24], ms[24], k[24];
    PGresult *r = NULL;
    ab_store_status kind;
    if (e->key == 0) {
        const char *v[6] = {e->id, e->config, ab_pg_i64(st, e->stopped),
                            ab_pg_i64(cr, e->created_ms), ab_pg_i64(ms, e->monitoring_since_ms),
                            text_or(e->changes, "[]")};
        if ((kind = ab_pg_query(p, "insert experiment",
                                "INSERT INTO abstat_experiments(id, config, stopped, created_ms,"
                                " monitoring_since_ms, changes, version)"
                                " VALUES($1, $2, $3, $4, $5, $6, 1) RETURNING key", 6, v, NULL,
                                NULL, 0, &r, err)))
            return kind;
        e->key = PQntuples(r) == 1 ? ab_pg_get_i64(r, 0, 0) : 0;
        PQclear(r);
        return e->key > 0 ? AB_STORE_OK
                          : ab_store_fail(err, AB_STORE_INTERNAL, "store: insert experiment: "
                                          "no key returned");
    }
    {
        const char *v[5] = {e->config, ab_pg_i64(st, e->stopped),
                            ab_pg_i64(ms, e->monitoring_since_ms), text_or(e->changes, "[]"),
                            ab_pg_i64(k, e->key)};
        return ab_pg_query(p, "update experiment",
                           "UPDATE abstat_experiments SET config = $1, stopped = $2,"
                           " monitoring_since_ms = $3, changes = $4, version = version + 1"
                           " WHERE key = $5", 5, v, NULL, NULL, 0, NULL, err);
    }
}

/* The log position first: every writer takes the head row before any
 * other row, so that two nodes' writes never wait for each other in
 * opposite orders. */
ab_store_status ab_pg_put_experiment(void *be, ab_store_experiment *e, ab_error *err)
{
    ab_pg *p = be;
    int64_t seq;
    ab_store_status kind;
    if ((kind = ab_pg_take_seq(p, &seq, err)) || (kind = write_experiment(p, e, err)))
        return kind;
    return log_experiment(p, seq, e->key, err);
}

ab_store_status ab_pg_delete_experiment(void *be, int64_t key, ab_error *err)
{
    char sql[900];
    long long k = (long long)key;
    int64_t seq;
    ab_store_status kind = ab_pg_take_seq(be, &seq, err);
    if (kind) return kind;
    /* Its rows and events leave the counter with it. */
    snprintf(sql, sizeof sql,
             "INSERT INTO abstat_config_log(seq, key, op) VALUES(%lld, %lld, 2);"
             "NOTIFY " AB_PG_CHANNEL ";"
             "UPDATE abstat_commits SET batches = abstat_commits.batches - c.batches,"
             " events = abstat_commits.events - c.events"
             " FROM (SELECT batches, events FROM abstat_commits WHERE key = %lld) c"
             " WHERE abstat_commits.key = 0;"
             "DELETE FROM abstat_commits WHERE key = %lld;"
             "DELETE FROM abstat_log WHERE exp_key = %lld;"
             "DELETE FROM abstat_monitor WHERE key = %lld;"
             "DELETE FROM abstat_experiments WHERE key = %lld;", (long long)seq, k, k, k, k, k, k);
    return ab_pg_exec(be, "delete experiment", sql, err);
}

/* A double as a text parameter, NULL when not finite. */
static const char *dbl(char *buf, double x)
{
    if (!isfinite(x)) return NULL;
    snprintf(buf, 32, "%.17g", x);
    return buf;
}

ab_store_status ab_pg_put_monitor(void *be, const ab_store_monitor *m, ab_error *err)
{
    char k[24], a[24], st[24], since[24], mp[32], lo[32], hi[32];
    const char *v[7] = {ab_pg_i64(k, m->key), ab_pg_i64(a, m->arm), dbl(mp, m->min_p),
                        ab_pg_i64(st, m->status), ab_pg_i64(since, m->significant_since_ms),
                        dbl(lo, m->lo), dbl(hi, m->hi)};
    return ab_pg_query(be, "write monitor",
                       "INSERT INTO abstat_monitor(key, arm, min_p, status, since, lo, hi)"
                       " VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key, arm) DO UPDATE"
                       " SET min_p = excluded.min_p, status = excluded.status,"
                       " since = excluded.since, lo = excluded.lo, hi = excluded.hi",
                       7, v, NULL, NULL, 0, NULL, err);
}

ab_store_status ab_pg_clear_monitor(void *be, int64_t key, ab_error *err)
{
    char k[24];
    const char *v[1] = {ab_pg_i64(k, key)};
    return ab_pg_query(be, "clear monitor", "DELETE FROM abstat_monitor WHERE key = $1", 1, v,
                       NULL, NULL, 0, NULL, err);
}

/* Outside a transaction a single statement is a transaction of its own;
 * a lost connection is reconnected first. */
static ab_store_status outbox_ready(ab_pg *p, ab_error *err)
{
    return p->in_tx ? AB_STORE_OK : ab_pg_ready(p, err);
}

ab_store_status ab_pg_outbox_put(void *be, const ab_store_delivery *d, ab_error *err)
{
    char c[24];
    const char *v[4] = {d->id, d->url, d->body, ab_pg_i64(c, d->created_ms < 0 ? 0 : d->created_ms)};
    ab_store_status kind = outbox_ready(be, err);
    if (kind) return kind;
    return ab_pg_query(be, "outbox",
                       "INSERT INTO abstat_outbox(id, url, body, created) VALUES($1, $2, $3, $4)"
                       " ON CONFLICT (id) DO UPDATE SET url = excluded.url,"
                       " body = excluded.body, created = excluded.created",
                       4, v, NULL, NULL, 0, NULL, err);
}

ab_store_status ab_pg_outbox_del(void *be, const char *id, ab_error *err)
{
    const char *v[1] = {id};
    ab_store_status kind = outbox_ready(be, err);
    if (kind) return kind;
    return ab_pg_query(be, "outbox", "DELETE FROM abstat_outbox WHERE id = $1", 1, v, NULL, NULL,
                       0, NULL, err);
}
