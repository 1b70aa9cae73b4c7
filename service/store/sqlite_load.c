/* sqlite_load.c — the SQLite start: the replay of every row, its checks and --recover. */
#include "store/sqlite_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "store/record.h"

/* The side file could not be written at start: the checks of the next
 * start would rest on nothing. */
static ab_store_status side_failed(ab_sqlite *s, ab_error *err)
{
    int e = errno;
    return ab_store_fail(err, e == ENOSPC || e == EFBIG ? AB_STORE_FULL
                              : e == EACCES || e == EROFS ? AB_STORE_READONLY : AB_STORE_IO,
                         "cannot write %s/%s: %s", s->dir, AB_COUNTER_FILE, strerror(e));
}

static ab_sqlite_tally *tally_for(ab_sqlite_start *ss, int64_t key)
{
    if (ss->nt == ss->capt) {
        size_t cap = ss->capt ? ss->capt * 2 : 64;
        ab_sqlite_tally *t = realloc(ss->t, cap * sizeof *t);
        if (!t) return NULL;
        ss->t = t;
        ss->capt = cap;
    }
    ss->t[ss->nt] = (ab_sqlite_tally){key, 0, 0};
    return &ss->t[ss->nt++];
}

/* Replays one experiment's rows, checking each. */
static ab_store_status load_events(ab_sqlite *s, const ab_store_experiment *e,
                                   const ab_store_loader *ld, void *ctx, ab_sqlite_start *ss,
                                   ab_error *err)
{
    char sql[160];
    sqlite3_stmt *st;
    int rc;
    int64_t key = e->key, last_row = 0;
    ab_sqlite_tally *t = tally_for(ss, key);
    if (!t) return ab_store_fail(err, AB_STORE_NOMEM, "out of memory");
    snprintf(sql, sizeof sql, "SELECT rowid, batch FROM ev_%lld ORDER BY rowid", (long long)key);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return ab_store_refuse(s->recover, s->integ, err, "the events of experiment \"%s\" (table ev_%lld) are "
                                "unreadable: %s", e->id, (long long)key, sqlite3_errmsg(s->db));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(st, 1), *end;
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        uint64_t nev = 0, n = 0;
        const char *why = "";
        last_row = sqlite3_column_int64(st, 0);
        if (ab_record_check_row(p, len, &p, &nev, &why)) {
            s->integ->corrupt_rows++;
            if (!s->recover) {
                ab_store_fail(err, AB_STORE_CORRUPT, "store: corrupt event record in experiment "
                              "\"%s\" (table ev_%lld, row %lld: %s); start with --recover to "
                              "skip it and report the loss", e->id, (long long)key,
                              (long long)last_row, why);
                sqlite3_finalize(st);
                return AB_STORE_CORRUPT;
            }
            s->integ->recovered = 1;
            if (ss->nbad == ss->capbad) {
                size_t cap = ss->capbad ? ss->capbad * 2 : 16;
                ab_sqlite_tally *b = realloc(ss->bad, cap * sizeof *b);
                if (!b) {
                    sqlite3_finalize(st);
                    return ab_store_fail(err, AB_STORE_NOMEM, "out of memory");
                }
                ss->bad = b;
                ss->capbad = cap;
            }
            ss->bad[ss->nbad++] = (ab_sqlite_tally){key, (uint64_t)last_row, 0};
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
            if (ab_record_decode(&p, end, &ev)) {
                /* checksum right, record wrong: written so (a bug), not damaged */
                sqlite3_finalize(st);
                return ab_store_fail(err, AB_STORE_CORRUPT, "store: malformed event record in "
                                     "experiment \"%s\" (table ev_%lld, row %lld)", e->id,
                                     (long long)key, (long long)last_row);
            }
            if (ld->on_event(ctx, key, &ev)) {
                sqlite3_finalize(st);
                return ab_store_fail(err, AB_STORE_INTERNAL, "store: replaying an event of "
                                     "experiment \"%s\" (table ev_%lld, row %lld) failed", e->id,
                                     (long long)key, (long long)last_row);
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
        return ab_store_refuse(s->recover, s->integ, err, "the events of experiment \"%s\" (table ev_%lld) are "
                                "damaged after row %lld: %s", e->id, (long long)key,
                                (long long)last_row, sqlite3_errmsg(s->db));
    return 0;
}

/* After the replay: every experiment holds its rows and events. */
static ab_store_status check_tallies(ab_sqlite *s, ab_sqlite_start *ss, ab_error *err)
{
    sqlite3_stmt *st;
    if (!ss->db_counted) return 0;
    if (sqlite3_prepare_v2(s->db, "SELECT e.id, c.batches, c.events FROM commits c JOIN "
                                  "experiments e ON e.key = c.key WHERE c.key = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return ab_sqlite_fail(s, err, "read the commit counter");
    for (size_t i = 0; i < ss->nt; i++) {
        const ab_sqlite_tally *t = &ss->t[i];
        sqlite3_bind_int64(st, 1, t->key);
        if (sqlite3_step(st) == SQLITE_ROW) {
            uint64_t b = (uint64_t)sqlite3_column_int64(st, 1);
            uint64_t n = (uint64_t)sqlite3_column_int64(st, 2);
            if (t->batches < b || t->events < n) {
                char have[32], want[32];
                ab_counter_thousands(t->events, have, sizeof have);
                ab_counter_thousands(n, want, sizeof want);
                if (ab_store_refuse(s->recover, s->integ, err, "experiment \"%s\" holds %s of its %s acknowledged "
                                     "events (%llu of %llu rows)",
                                     (const char *)sqlite3_column_text(st, 0), have, want,
                                     (unsigned long long)t->batches, (unsigned long long)b)) {
                    sqlite3_finalize(st);
                    return AB_STORE_CORRUPT;
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
static ab_store_status reset_counters(ab_sqlite *s, ab_sqlite_start *ss, ab_error *err)
{
    sqlite3_stmt *st;
    char sql[128];
    ab_counter c;
    ab_store_status kind;
    uint64_t id = ss->db_has_id ? ss->db.store_id
                  : ss->side_status == AB_COUNTER_OK ? ss->side.store_id : 0;
    while (!id && getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id)
        id = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    c.store_id = id;
    c.commits = (ss->db.commits > ss->side.commits ? ss->db.commits : ss->side.commits) + 1;
    if (ss->fresh) c.commits = 0;
    c.batches = ss->batches;
    c.events = ss->events;
    if ((kind = ab_sqlite_exec(s, "BEGIN IMMEDIATE; DELETE FROM commits;"
                               "CREATE TABLE IF NOT EXISTS damaged(key INTEGER NOT NULL,"
                               " row INTEGER NOT NULL, batch BLOB, found INTEGER NOT NULL);",
                               err)))
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
        if ((kind = ab_sqlite_exec(s, q, err))) goto fail;
    }
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta VALUES('store_id', '%016llx')",
             (unsigned long long)id);
    if ((kind = ab_sqlite_exec(s, sql, err)) || (kind = ab_sqlite_write_counter_row(s, &c, err)))
        goto fail;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO commits VALUES(?, 0, ?, ?)", -1, &st, NULL) !=
        SQLITE_OK) {
        kind = ab_sqlite_fail(s, err, "write the commit counter");
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
            kind = ab_sqlite_fail(s, err, "write the commit counter");
            goto fail;
        }
    }
    sqlite3_finalize(st);
    if ((kind = ab_sqlite_exec(s, "COMMIT", err))) goto fail;
    s->ctr = c;
    if (ab_counter_write(s->ctr_fd, &c, 1))
        return side_failed(s, err);
    s->side_commits = c.commits;
    return AB_STORE_OK;
fail:
    ab_sqlite_abort(s);
    return kind;
}

static ab_store_status load_all(ab_sqlite *s, const ab_store_loader *ld, void *ctx,
                                ab_sqlite_start *ss, ab_error *err)
{
    sqlite3_stmt *st;
    ab_store_status kind;
    int rc;
    if (sqlite3_prepare_v2(s->db, "SELECT key, id, config, stopped, created, monitoring_since,"
                                  " changes FROM experiments"
                                  " ORDER BY key", -1, &st, NULL) != SQLITE_OK)
        return ab_store_refuse(s->recover, s->integ, err, "the experiments are unreadable: %s",
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
        if (!e.id || !e.config)
            kind = ab_store_fail(err, AB_STORE_CORRUPT, "store: an experiment row without id");
        else if (ld->on_experiment(ctx, &e))
            kind = ab_store_fail(err, AB_STORE_INTERNAL, "store: loading experiment %s failed",
                                 e.id);
        else
            kind = load_events(s, &e, ld, ctx, ss, err);
        if (kind) {
            sqlite3_finalize(st);
            return kind;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE &&
        ab_store_refuse(s->recover, s->integ, err, "the experiments are damaged: %s", sqlite3_errmsg(s->db)))
        return AB_STORE_CORRUPT;

    if (sqlite3_prepare_v2(s->db, "SELECT key, arm, min_p, status, since, lo, hi FROM monitor",
                           -1, &st, NULL) != SQLITE_OK)
        return ab_store_refuse(s->recover, s->integ, err, "the monitoring state is unreadable: %s",
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
            return ab_store_fail(err, AB_STORE_INTERNAL, "store: loading monitor state failed");
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE &&
        ab_store_refuse(s->recover, s->integ, err, "the monitoring state is damaged: %s",
                         sqlite3_errmsg(s->db)))
        return AB_STORE_CORRUPT;
    return AB_STORE_OK;
}

ab_store_status ab_sqlite_load(void *be, const ab_store_loader *ld, void *ctx, int recover,
                               ab_store_integrity *integ, ab_error *err)
{
    ab_sqlite *s = be;
    ab_sqlite_start ss;
    ab_store_status rc;
    memset(&ss, 0, sizeof ss);
    memset(integ, 0, sizeof *integ);
    s->integ = integ;
    s->recover = recover;
    rc = ab_sqlite_check_counter(s, &ss, err);
    if (rc == 0) rc = load_all(s, ld, ctx, &ss, err);
    if (rc == 0) rc = check_tallies(s, &ss, err);
    if (rc == 0 && ss.has_ref && (ss.events < ss.ref.events || ss.batches < ss.ref.batches)) {
        char have[32], want[32];
        ab_counter_thousands(ss.events, have, sizeof have);
        ab_counter_thousands(ss.ref.events, want, sizeof want);
        rc = ab_store_refuse(s->recover, s->integ, err, "the store in %s holds %s of %s acknowledged events "
                              "(%llu of %llu rows)", s->dir, have, want,
                              (unsigned long long)ss.batches, (unsigned long long)ss.ref.batches);
    }
    if (rc == 0) {
        if (ss.has_ref && ss.ref.events > ss.events)
            s->integ->lost_events = ss.ref.events - ss.events;
        if (ss.has_ref && ss.ref.batches > ss.batches)
            s->integ->lost_batches = ss.ref.batches - ss.batches;
        if (ss.fresh || ss.legacy || s->integ->recovered) {
            if (ss.legacy)
                ab_info("store: written before the commit counter: counted %llu events in "
                        "%llu rows", (unsigned long long)ss.events,
                        (unsigned long long)ss.batches);
            rc = reset_counters(s, &ss, err);
        } else {
            s->ctr = ss.db;
            /* The side file catches up after the crash window. */
            if (ss.side_status != AB_COUNTER_OK || ss.side.commits != s->ctr.commits)
                rc = ab_counter_write(s->ctr_fd, &s->ctr, 1) ? side_failed(s, err) : AB_STORE_OK;
            if (rc == AB_STORE_OK) s->side_commits = s->ctr.commits;
        }
    }
    if (rc == 0 && s->integ->recovered) {
        char lost[32];
        ab_counter_thousands(s->integ->lost_events, lost, sizeof lost);
        ab_logerr("store recovered (--recover): %s acknowledged events lost (%llu rows, %llu "
                  "commits, %llu corrupt rows skipped); the store now holds %llu events",
                  lost, (unsigned long long)s->integ->lost_batches,
                  (unsigned long long)s->integ->lost_commits,
                  (unsigned long long)s->integ->corrupt_rows, (unsigned long long)ss.events);
    }
    if (rc != 0) {
        /* Refused: leave the WAL as it is for whoever looks at it next
         * (closing would checkpoint it into the database and delete it). */
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        if (s->ckpt.db) sqlite3_db_config(s->ckpt.db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    }
    s->integ->commits = s->ctr.commits;
    s->integ->batches = s->ctr.batches;
    s->integ->events = s->ctr.events;
    free(ss.t);
    free(ss.bad);
    s->integ = NULL;
    return rc;
}

