/* sqlite_check.c — the SQLite checks before the replay: the database against its counter. */
#include "store/sqlite_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"

static int query_u64(ab_sqlite *s, const char *sql, uint64_t *out, int *found)
{
    sqlite3_stmt *st;
    int rc;
    *found = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_TEXT) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            *out = t ? strtoull(t, NULL, 16) : 0;
        } else {
            *out = (uint64_t)sqlite3_column_int64(st, 0);
        }
        *found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* SQLite's own check of its pages and indexes. It reads the whole file:
 * run it up to this size (a few tens of milliseconds); above it the
 * replay, which reads every event row, and the checksums stand in. */
#define QUICK_CHECK_MAX (256ll << 20)

static ab_store_status quick_check(ab_sqlite *s, ab_error *err)
{
    char path[4200];
    struct stat sb;
    sqlite3_stmt *st;
    int rc;
    snprintf(path, sizeof path, "%s/abstat.db", s->dir);
    if (stat(path, &sb) == 0 && sb.st_size > QUICK_CHECK_MAX) {
        ab_info("store: %lld MiB: skipping PRAGMA quick_check at start (the replay checks "
                "every event row)", (long long)(sb.st_size >> 20));
        return 0;
    }
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(5)", -1, &st, NULL) != SQLITE_OK)
        return ab_store_refuse(s->recover, s->integ, err, "the database is damaged: %s", sqlite3_errmsg(s->db));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok")) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", t);
            sqlite3_finalize(st);
            return ab_store_refuse(s->recover, s->integ, err, "the database is damaged (SQLite quick_check: %s)",
                                    msg);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return ab_store_refuse(s->recover, s->integ, err, "the database is damaged: %s", sqlite3_errmsg(s->db));
    return 0;
}

/* Before the replay: the database against the side file. */
ab_store_status ab_sqlite_check_counter(ab_sqlite *s, ab_sqlite_start *ss, ab_error *err)
{
    ab_store_status kind;
    uint64_t v, nexp = 0;
    int found;
    char have[32], want[32];

    if (query_u64(s, "SELECT value FROM meta WHERE name = 'store_id'", &v, &found))
        return ab_store_refuse(s->recover, s->integ, err, "cannot read the store's identity: %s",
                                sqlite3_errmsg(s->db));
    ss->db_has_id = found;
    ss->db.store_id = found ? v : 0;
    {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, "SELECT commits, batches, events FROM commits WHERE key = 0",
                               -1, &st, NULL) != SQLITE_OK)
            return ab_sqlite_fail(s, err, "read the commit counter");
        if (sqlite3_step(st) == SQLITE_ROW) {
            ss->db_counted = 1;
            ss->db.commits = (uint64_t)sqlite3_column_int64(st, 0);
            ss->db.batches = (uint64_t)sqlite3_column_int64(st, 1);
            ss->db.events = (uint64_t)sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
    }
    if (query_u64(s, "SELECT count(*) FROM experiments", &nexp, &found))
        return ab_store_refuse(s->recover, s->integ, err, "cannot read the experiments: %s", sqlite3_errmsg(s->db));
    ss->side_status = ab_counter_read(s->dir, &ss->side);

    if (!ss->db_counted && !ss->db_has_id && nexp == 0 &&
        (ss->side_status == AB_COUNTER_MISSING ||
         (ss->side_status == AB_COUNTER_OK && ss->side.commits == 0))) {
        ss->fresh = 1;
        return 0;
    }
    if ((kind = quick_check(s, err))) return kind;
    if (ss->side_status == AB_COUNTER_OK) {
        ab_counter_thousands(ss->db.events, have, sizeof have);
        ab_counter_thousands(ss->side.events, want, sizeof want);
        if (ss->db_has_id && ss->db.store_id != ss->side.store_id) {
            if (ab_store_refuse(s->recover, s->integ, err, "%s/abstat.db (store %016llx) is not the store %s "
                                 "belongs to (store %016llx, %s events in %llu commits): the "
                                 "database was replaced", s->dir,
                                 (unsigned long long)ss->db.store_id, AB_COUNTER_FILE,
                                 (unsigned long long)ss->side.store_id, want,
                                 (unsigned long long)ss->side.commits))
                return AB_STORE_CORRUPT;
        } else if (!ss->db_counted || ss->db.commits < ss->side.commits) {
            if (ab_store_refuse(s->recover, s->integ, err, "the store in %s holds %s of %s acknowledged events "
                                 "(commit %llu of %llu): %s", s->dir, have, want,
                                 (unsigned long long)ss->db.commits,
                                 (unsigned long long)ss->side.commits,
                                 ss->db_counted ? "the WAL (abstat.db-wal) was lost or damaged"
                                 : "abstat.db is empty or was replaced, or its WAL was lost"))
                return AB_STORE_CORRUPT;
            ss->ref = ss->side;
            ss->has_ref = 1;
            if (ss->side.commits > ss->db.commits)
                s->integ->lost_commits = ss->side.commits - ss->db.commits;
            return 0;
        } else if (ss->db.commits == ss->side.commits &&
                   (ss->db.events != ss->side.events || ss->db.batches != ss->side.batches)) {
            if (ab_store_refuse(s->recover, s->integ, err, "the store in %s holds %s events but %s says %s at "
                                 "the same commit %llu", s->dir, have, AB_COUNTER_FILE, want,
                                 (unsigned long long)ss->side.commits))
                return AB_STORE_CORRUPT;
            if (ss->side.events > ss->db.events) {
                ss->ref = ss->side;
                ss->has_ref = 1;
                return 0;
            }
        }
        /* db.commits > side.commits: the crash window between the
         * commit and the side file's write; the database is newer. */
    } else if (ss->db_counted && ss->db.commits > 0) {
        ab_counter_thousands(ss->db.events, have, sizeof have);
        if (ab_store_refuse(s->recover, s->integ, err, "%s/%s is %s: cannot verify that the store holds every "
                             "acknowledged commit (the database holds %s events, commit %llu)",
                             s->dir, AB_COUNTER_FILE,
                             ss->side_status == AB_COUNTER_MISSING
                                 ? "missing"
                                 : "damaged (no copy with a valid checksum)",
                             have, (unsigned long long)ss->db.commits))
            return AB_STORE_CORRUPT;
    } else if (!ss->db_counted) {
        ss->legacy = 1; /* written by format 3 or older: counted by the replay */
        if (ss->side_status == AB_COUNTER_DAMAGED &&
            ab_store_refuse(s->recover, s->integ, err, "%s/%s is damaged and the database has no counter",
                             s->dir, AB_COUNTER_FILE))
            return AB_STORE_CORRUPT;
    }
    if (ss->db_counted) {
        ss->ref = ss->db;
        ss->has_ref = 1;
    }
    return 0;
}
