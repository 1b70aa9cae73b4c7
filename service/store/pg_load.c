/* pg_load.c — the PostgreSQL start: the replay of every row in commit order, its checks and --recover. */
#include "store/pg_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "store/record.h"

/* Rows and events one experiment holds (counted by the replay). */
typedef struct {
    int64_t key;
    uint64_t batches, events;
} tally;

typedef struct {
    uint64_t commits, batches, events; /* row 0 of abstat_commits: what must be there */
    tally *t;
    size_t nt, capt;
    int64_t *bad;                      /* seq of corrupt rows skipped */
    size_t nbad, capbad;
    uint64_t batches_read, events_read;
    unsigned logged;
} start;

static int64_t be64(const char *s)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | (unsigned char)s[i];
    return (int64_t)v;
}

/* One stored row: checked, then its events replayed. */
static ab_store_status replay_row(ab_pg *p, const ab_store_experiment *e, int64_t seq,
                                  const unsigned char *row, size_t len, const ab_store_loader *ld,
                                  void *ctx, start *ss, tally *t, ab_error *err)
{
    const unsigned char *q, *end = row + len;
    uint64_t nev = 0, n = 0;
    const char *why = "";
    if (ab_record_check_row(row, len, &q, &nev, &why)) {
        p->integ->corrupt_rows++;
        if (!p->recover)
            return ab_store_fail(err, AB_STORE_CORRUPT, "store: corrupt event record in "
                                 "experiment \"%s\" (abstat_log seq %lld: %s); start with "
                                 "--recover to skip it and report the loss", e->id,
                                 (long long)seq, why);
        p->integ->recovered = 1;
        if (ss->nbad == ss->capbad) {
            size_t cap = ss->capbad ? ss->capbad * 2 : 16;
            int64_t *b = realloc(ss->bad, cap * sizeof *b);
            if (!b) return ab_store_fail(err, AB_STORE_NOMEM, "out of memory");
            ss->bad = b;
            ss->capbad = cap;
        }
        ss->bad[ss->nbad++] = seq;
        if (ss->logged++ < 20)
            ab_logerr("store: skipping corrupt event record in experiment \"%s\" (abstat_log "
                      "seq %lld: %s)", e->id, (long long)seq, why);
        return AB_STORE_OK;
    }
    while (q < end) {
        ab_event ev;
        if (ab_record_decode(&q, end, &ev))
            /* checksum right, record wrong: written so (a bug), not damaged */
            return ab_store_fail(err, AB_STORE_CORRUPT, "store: malformed event record in "
                                 "experiment \"%s\" (abstat_log seq %lld)", e->id,
                                 (long long)seq);
        if (ld->on_event(ctx, e->key, &ev))
            return ab_store_fail(err, AB_STORE_INTERNAL, "store: replaying an event of "
                                 "experiment \"%s\" (abstat_log seq %lld) failed", e->id,
                                 (long long)seq);
        n++;
    }
    t->batches++;
    t->events += n;
    ss->batches_read++;
    ss->events_read += n;
    return AB_STORE_OK;
}

/* Replays one experiment's rows in seq order, a cursor's worth at a time. */
static ab_store_status load_events(ab_pg *p, const ab_store_experiment *e,
                                   const ab_store_loader *ld, void *ctx, start *ss,
                                   ab_error *err)
{
    char sql[200];
    ab_store_status kind;
    tally *t;
    if (ss->nt == ss->capt) {
        size_t cap = ss->capt ? ss->capt * 2 : 64;
        tally *v = realloc(ss->t, cap * sizeof *v);
        if (!v) return ab_store_fail(err, AB_STORE_NOMEM, "out of memory");
        ss->t = v;
        ss->capt = cap;
    }
    t = &ss->t[ss->nt++];
    *t = (tally){e->key, 0, 0};
    snprintf(sql, sizeof sql, "DECLARE abstat_ev NO SCROLL CURSOR FOR SELECT seq, batch FROM "
             "abstat_log WHERE exp_key = %lld ORDER BY seq", (long long)e->key);
    if ((kind = ab_pg_exec(p, "read events", sql, err))) return kind;
    for (;;) {
        PGresult *r;
        int rows;
        if ((kind = ab_pg_query(p, "read events", "FETCH 256 FROM abstat_ev", 0, NULL, NULL,
                                NULL, 1, &r, err)))
            return kind;
        rows = PQntuples(r);
        for (int i = 0; i < rows && !kind; i++) {
            if (PQgetlength(r, i, 0) != 8) {
                kind = ab_store_fail(err, AB_STORE_CORRUPT, "store: a malformed abstat_log row");
                break;
            }
            kind = replay_row(p, e, be64(PQgetvalue(r, i, 0)),
                              (const unsigned char *)PQgetvalue(r, i, 1),
                              (size_t)PQgetlength(r, i, 1), ld, ctx, ss, t, err);
        }
        PQclear(r);
        if (kind) return kind;
        if (rows == 0) break;
    }
    return ab_pg_exec(p, "read events", "CLOSE abstat_ev", err);
}

static ab_store_status load_monitors(ab_pg *p, const ab_store_loader *ld, void *ctx,
                                     ab_error *err)
{
    PGresult *r;
    ab_store_status kind = ab_pg_query(p, "read monitor state", "SELECT key, arm, min_p, status,"
                                       " since, lo, hi FROM abstat_monitor ORDER BY key, arm",
                                       0, NULL, NULL, NULL, 0, &r, err);
    if (kind) return kind;
    for (int i = 0; i < PQntuples(r); i++) {
        ab_store_monitor m;
        m.key = ab_pg_get_i64(r, i, 0);
        m.arm = (int)ab_pg_get_i64(r, i, 1);
        m.min_p = PQgetisnull(r, i, 2) ? NAN : strtod(PQgetvalue(r, i, 2), NULL);
        m.status = (int)ab_pg_get_i64(r, i, 3);
        m.significant_since_ms = ab_pg_get_i64(r, i, 4);
        m.lo = PQgetisnull(r, i, 5) ? NAN : strtod(PQgetvalue(r, i, 5), NULL);
        m.hi = PQgetisnull(r, i, 6) ? NAN : strtod(PQgetvalue(r, i, 6), NULL);
        if (ld->on_monitor && ld->on_monitor(ctx, &m)) {
            PQclear(r);
            return ab_store_fail(err, AB_STORE_INTERNAL, "store: loading monitor state failed");
        }
    }
    PQclear(r);
    return AB_STORE_OK;
}

/* Every experiment holds the rows and events its counter row says. */
static ab_store_status check_tallies(ab_pg *p, start *ss, ab_error *err)
{
    PGresult *r;
    ab_store_status kind = ab_pg_query(p, "read the commit counter", "SELECT c.key, c.batches,"
                                       " c.events, e.id FROM abstat_commits c JOIN"
                                       " abstat_experiments e ON e.key = c.key", 0, NULL, NULL,
                                       NULL, 0, &r, err);
    if (kind) return kind;
    for (int i = 0; i < PQntuples(r) && !kind; i++) {
        int64_t key = ab_pg_get_i64(r, i, 0);
        uint64_t b = (uint64_t)ab_pg_get_i64(r, i, 1), n = (uint64_t)ab_pg_get_i64(r, i, 2);
        for (size_t j = 0; j < ss->nt; j++) {
            char have[32], want[32];
            if (ss->t[j].key != key || (ss->t[j].batches >= b && ss->t[j].events >= n)) continue;
            ab_counter_thousands(ss->t[j].events, have, sizeof have);
            ab_counter_thousands(n, want, sizeof want);
            kind = ab_store_refuse(p->recover, p->integ, err, "experiment \"%s\" holds %s of its %s acknowledged events "
                          "(%llu of %llu rows)", PQgetvalue(r, i, 3), have, want,
                          (unsigned long long)ss->t[j].batches, (unsigned long long)b);
        }
    }
    PQclear(r);
    return kind;
}

/* After --recover: damaged rows leave the log (for abstat_damaged, where
 * an operator can still look at them) and the counters say what the
 * store holds now. */
static ab_store_status reset_counters(ab_pg *p, start *ss, ab_error *err)
{
    char sql[400];
    ab_store_status kind;
    if ((kind = ab_pg_exec(p, "recover", "BEGIN; SELECT seq FROM abstat_log_head FOR UPDATE;"
                           "DELETE FROM abstat_commits WHERE key <> 0", err)))
        goto fail;
    for (size_t i = 0; i < ss->nbad && !kind; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO abstat_damaged SELECT seq, exp_key, batch, %lld "
                 "FROM abstat_log WHERE seq = %lld; DELETE FROM abstat_log WHERE seq = %lld",
                 (long long)time(NULL), (long long)ss->bad[i], (long long)ss->bad[i]);
        kind = ab_pg_exec(p, "recover", sql, err);
    }
    for (size_t i = 0; i < ss->nt && !kind; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO abstat_commits VALUES(%lld, 0, %llu, %llu)",
                 (long long)ss->t[i].key, (unsigned long long)ss->t[i].batches,
                 (unsigned long long)ss->t[i].events);
        kind = ab_pg_exec(p, "recover", sql, err);
    }
    if (kind) goto fail;
    snprintf(sql, sizeof sql, "UPDATE abstat_commits SET commits = commits + 1, batches = %llu,"
             " events = %llu WHERE key = 0; COMMIT", (unsigned long long)ss->batches_read,
             (unsigned long long)ss->events_read);
    if ((kind = ab_pg_exec(p, "recover", sql, err))) goto fail;
    ss->commits++;
    ss->batches = ss->batches_read;
    ss->events = ss->events_read;
    return AB_STORE_OK;
fail:
    ab_pg_abort(p);
    return kind;
}

/* The replay, in one read-only snapshot: experiments in key order, each
 * one's rows in seq (commit) order, the monitor rows, the checks. */
static ab_store_status replay(ab_pg *p, const ab_store_loader *ld, void *ctx, start *ss,
                              ab_error *err)
{
    PGresult *r = NULL;
    ab_store_status kind;
    if ((kind = ab_pg_exec(p, "start the replay",
                           "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err)) ||
        (kind = ab_pg_query(p, "read the commit counter", "SELECT commits, batches, events, "
                            "(SELECT seq FROM abstat_log_head) FROM abstat_commits WHERE key = 0",
                            0, NULL, NULL, NULL, 0, &r, err)))
        return kind;
    if (PQntuples(r) == 1) {
        ss->commits = (uint64_t)ab_pg_get_i64(r, 0, 0);
        ss->batches = (uint64_t)ab_pg_get_i64(r, 0, 1);
        ss->events = (uint64_t)ab_pg_get_i64(r, 0, 2);
        /* This snapshot holds every item up to the head it sees (pg_follow.c):
         * following goes on from there. */
        p->applied = ab_pg_get_i64(r, 0, 3);
    } else if ((kind = ab_store_refuse(p->recover, p->integ, err, "the commit counter (abstat_commits row 0) is missing"))) {
        PQclear(r);
        return kind;
    }
    PQclear(r);
    if ((kind = ab_pg_query(p, "read experiments", "SELECT key, id, config, stopped, created_ms,"
                            " monitoring_since_ms, changes FROM abstat_experiments ORDER BY key",
                            0, NULL, NULL, NULL, 0, &r, err)))
        return kind;
    for (int i = 0; i < PQntuples(r) && !kind; i++) {
        ab_store_experiment e;
        e.key = ab_pg_get_i64(r, i, 0);
        e.id = PQgetvalue(r, i, 1);
        e.config = PQgetisnull(r, i, 2) ? "{}" : PQgetvalue(r, i, 2);
        e.stopped = (int)ab_pg_get_i64(r, i, 3);
        e.created_ms = ab_pg_get_i64(r, i, 4);
        e.monitoring_since_ms = ab_pg_get_i64(r, i, 5);
        e.changes = PQgetisnull(r, i, 6) ? "[]" : PQgetvalue(r, i, 6);
        if (ld->on_experiment(ctx, &e))
            kind = ab_store_fail(err, AB_STORE_INTERNAL, "store: loading experiment %s failed",
                                 e.id);
        else
            kind = load_events(p, &e, ld, ctx, ss, err);
    }
    PQclear(r);
    if (!kind) kind = load_monitors(p, ld, ctx, err);
    if (!kind) kind = check_tallies(p, ss, err);
    if (!kind) kind = ab_pg_exec(p, "end the replay", "COMMIT", err);
    return kind;
}

ab_store_status ab_pg_load(void *be, const ab_store_loader *ld, void *ctx, int recover,
                           ab_store_integrity *integ, ab_error *err)
{
    ab_pg *p = be;
    start ss;
    ab_store_status kind;
    memset(&ss, 0, sizeof ss);
    memset(integ, 0, sizeof *integ);
    p->integ = integ;
    p->recover = recover;
    if (!(kind = ab_pg_ready(p, err))) kind = replay(p, ld, ctx, &ss, err);
    if (kind) ab_pg_abort(p);
    if (!kind && (ss.events_read < ss.events || ss.batches_read < ss.batches)) {
        char have[32], want[32];
        ab_counter_thousands(ss.events_read, have, sizeof have);
        ab_counter_thousands(ss.events, want, sizeof want);
        kind = ab_store_refuse(p->recover, p->integ, err, "the PostgreSQL store holds %s of %s acknowledged events (%llu of "
                      "%llu rows)", have, want, (unsigned long long)ss.batches_read,
                      (unsigned long long)ss.batches);
        if (ss.events > ss.events_read) integ->lost_events = ss.events - ss.events_read;
        if (ss.batches > ss.batches_read) integ->lost_batches = ss.batches - ss.batches_read;
    }
    if (!kind && integ->recovered) {
        char lost[32];
        if ((kind = reset_counters(p, &ss, err)) == AB_STORE_OK) {
            ab_counter_thousands(integ->lost_events, lost, sizeof lost);
            ab_logerr("store recovered (--recover): %s acknowledged events lost (%llu rows, "
                      "%llu corrupt rows skipped); the store now holds %llu events", lost,
                      (unsigned long long)integ->lost_batches,
                      (unsigned long long)integ->corrupt_rows, (unsigned long long)ss.events);
        }
    }
    if (!kind) p->loaded = 1;
    integ->commits = ss.commits;
    integ->batches = ss.batches;
    integ->events = ss.events;
    free(ss.t);
    free(ss.bad);
    p->integ = NULL;
    return kind;
}

ab_store_status ab_pg_outbox_load(void *be, int (*cb)(void *ctx, const ab_store_delivery *d),
                                  void *ctx, ab_error *err)
{
    ab_pg *p = be;
    PGresult *r;
    ab_store_status kind = p->in_tx ? AB_STORE_OK : ab_pg_ready(p, err);
    if (kind || (kind = ab_pg_query(p, "read outbox", "SELECT id, url, body, created FROM "
                                    "abstat_outbox ORDER BY created, id", 0, NULL, NULL, NULL, 0,
                                    &r, err)))
        return kind;
    /* The whole result is read first: cb may call the store again. */
    for (int i = 0; i < PQntuples(r); i++) {
        ab_store_delivery d = {PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                               ab_pg_get_i64(r, i, 3)};
        if (cb(ctx, &d)) {
            PQclear(r);
            return ab_store_fail(err, AB_STORE_INTERNAL,
                                 "store: loading the webhook outbox failed");
        }
    }
    PQclear(r);
    return AB_STORE_OK;
}

ab_store_status ab_pg_monitor_load(void *be, int (*cb)(void *ctx, const ab_store_monitor *m),
                                   void *ctx, ab_error *err)
{
    ab_pg *p = be;
    ab_store_loader ld = {NULL, NULL, cb};
    ab_store_status kind = p->in_tx ? AB_STORE_OK : ab_pg_ready(p, err);
    return kind ? kind : load_monitors(p, &ld, ctx, err);
}
