/* store_backup.c — a consistent online copy of a running daemon's SQLite store. */
#include "store/store_backend.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_impl.h"

/* SQLite's online backup copies the database as of one read transaction:
 * a running abstatd goes on writing (readers and the writer do not block
 * each other in WAL mode). */
static int copy_db(const char *from, const char *to, ab_error *err)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b;
    int rc = -1, st;
    if ((st = sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL)) != SQLITE_OK) {
        ab_store_fail(err, ab_sqlite_kind(st), "cannot open %s: %s", from,
                      src ? sqlite3_errmsg(src) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(src, 5000);
    if ((st = sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)) !=
        SQLITE_OK) {
        ab_store_fail(err, ab_sqlite_kind(st), "cannot create %s: %s", to,
                      dst ? sqlite3_errmsg(dst) : "out of memory");
        goto done;
    }
    if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
        ab_store_fail(err, ab_sqlite_kind(sqlite3_errcode(dst)), "backup: %s",
                      sqlite3_errmsg(dst));
        goto done;
    }
    /* All pages in one step: one read transaction on the source, so the
     * copy is one commit's state even while the daemon writes. */
    for (int tries = 0;; tries++) {
        st = sqlite3_backup_step(b, -1);
        if (st == SQLITE_DONE) break;
        if ((st == SQLITE_BUSY || st == SQLITE_LOCKED) && tries < 100) {
            sqlite3_sleep(50);
            continue;
        }
        ab_store_fail(err, ab_sqlite_kind(st), "backup of %s: %s", from, sqlite3_errstr(st));
        sqlite3_backup_finish(b);
        goto done;
    }
    if ((st = sqlite3_backup_finish(b)) != SQLITE_OK) {
        ab_store_fail(err, ab_sqlite_kind(st), "backup: %s", sqlite3_errmsg(dst));
        goto done;
    }
    rc = 0;
done:
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc;
}

/* The copy's counter (row 0 and store_id); 1 when it has one. */
static int read_counter(const char *db, ab_counter *c, ab_error *err)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int found = 0, rc;
    memset(c, 0, sizeof *c);
    if ((rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL)) != SQLITE_OK) goto bad;
    /* The copy must be whole: SQLite's check of every page. */
    if ((rc = sqlite3_prepare_v2(h, "PRAGMA quick_check(1)", -1, &st, NULL)) != SQLITE_OK)
        goto bad;
    if (sqlite3_step(st) != SQLITE_ROW || !sqlite3_column_text(st, 0) ||
        strcmp((const char *)sqlite3_column_text(st, 0), "ok")) {
        const unsigned char *why = sqlite3_column_text(st, 0);
        ab_store_fail(err, AB_STORE_CORRUPT, "the copy fails SQLite's quick_check: %s",
                      why ? (const char *)why : sqlite3_errmsg(h));
        sqlite3_finalize(st);
        sqlite3_close(h);
        return -1;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(h, "SELECT value FROM meta WHERE name = 'store_id'", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        c->store_id = strtoull((const char *)sqlite3_column_text(st, 0), NULL, 16);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(h, "SELECT commits, batches, events FROM commits WHERE key = 0", -1,
                           &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        c->commits = (uint64_t)sqlite3_column_int64(st, 0);
        c->batches = (uint64_t)sqlite3_column_int64(st, 1);
        c->events = (uint64_t)sqlite3_column_int64(st, 2);
        found = 1;
    }
    sqlite3_finalize(st);
    /* A self-contained file: no WAL next to the copy. */
    sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(h);
    return found && c->store_id ? 1 : 0;
bad:
    ab_store_fail(err, ab_sqlite_kind(rc), "cannot read the copy %s: %s", db,
                  h ? sqlite3_errmsg(h) : "out of memory");
    sqlite3_close(h);
    return -1;
}

int ab_store_backup(const char *dir, const char *to, ab_counter *c, ab_error *err)
{
    char from[4096];
    if (snprintf(from, sizeof from, "%s/abstat.db", dir) >= (int)sizeof from) {
        ab_store_fail(err, AB_STORE_INVALID, "path too long");
        return -1;
    }
    if (copy_db(from, to, err)) return -1;
    return read_counter(to, c, err);
}
