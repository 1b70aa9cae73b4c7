/* cli_backup.c — `abstat backup --data SRC DEST`. SQLite's online backup
 * copies SRC/abstat.db as of one read transaction (a running abstatd keeps
 * writing: readers and the writer do not block each other in WAL mode);
 * the counter file is written from the copy's own counter row, so that
 * DEST starts as a data directory that passes the start-up checks. */
#include "cli/cli_backup.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_counter.h"

enum { BACKUP_ERROR = 4 };

static void usage(FILE *fp)
{
    fputs("usage: abstat backup --data SRC DEST\n"
          "  copies the store in SRC (a running abstatd's --data) to DEST/abstat.db with its\n"
          "  commit counter; DEST must not hold a store yet. Exit status 4 on error.\n",
          fp);
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC), rc;
    if (fd < 0) return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

static int copy_db(const char *from, const char *to, char *msg, size_t len)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b;
    int rc = -1;
    if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(msg, len, "cannot open %s: %s", from, src ? sqlite3_errmsg(src) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(src, 5000);
    if (sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(msg, len, "cannot create %s: %s", to, dst ? sqlite3_errmsg(dst) : "out of memory");
        goto done;
    }
    if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
        snprintf(msg, len, "backup: %s", sqlite3_errmsg(dst));
        goto done;
    }
    /* All pages in one step: one read transaction on the source, so the
     * copy is one commit's state even while the daemon writes. */
    for (int tries = 0;; tries++) {
        int st = sqlite3_backup_step(b, -1);
        if (st == SQLITE_DONE) break;
        if ((st == SQLITE_BUSY || st == SQLITE_LOCKED) && tries < 100) {
            sqlite3_sleep(50);
            continue;
        }
        snprintf(msg, len, "backup of %s: %s", from, sqlite3_errstr(st));
        sqlite3_backup_finish(b);
        goto done;
    }
    if (sqlite3_backup_finish(b) != SQLITE_OK) {
        snprintf(msg, len, "backup: %s", sqlite3_errmsg(dst));
        goto done;
    }
    rc = 0;
done:
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc;
}

/* The copy's counter (row 0 and store_id); 1 when it has one. */
static int read_counter(const char *db, ab_counter *c, char *msg, size_t len)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int found = 0;
    memset(c, 0, sizeof *c);
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) goto bad;
    /* The copy must be whole: SQLite's check of every page. */
    if (sqlite3_prepare_v2(h, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK) goto bad;
    if (sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok")) {
        snprintf(msg, len, "the copy fails SQLite's quick_check: %s",
                 (const char *)sqlite3_column_text(st, 0));
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
    snprintf(msg, len, "cannot read the copy %s: %s", db, h ? sqlite3_errmsg(h) : "out of memory");
    sqlite3_close(h);
    return -1;
}

int ab_cli_backup(int argc, char **argv)
{
    const char *src = NULL, *dest = NULL;
    char from[4096], to[4096], tmp[4200], msg[9000] = "", events[32];
    struct stat sb;
    ab_counter c;
    int has, fd;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--data") && i + 1 < argc) src = argv[++i];
        else if (argv[i][0] != '-' && !dest) dest = argv[i];
        else {
            fprintf(stderr, "abstat backup: unexpected argument \"%s\"\n", argv[i]);
            usage(stderr);
            return BACKUP_ERROR;
        }
    }
    if (!src || !dest) {
        usage(stderr);
        return BACKUP_ERROR;
    }
    if (snprintf(from, sizeof from, "%s/abstat.db", src) >= (int)sizeof from ||
        snprintf(to, sizeof to, "%s/abstat.db", dest) >= (int)sizeof to) {
        fprintf(stderr, "abstat backup: path too long\n");
        return BACKUP_ERROR;
    }
    snprintf(tmp, sizeof tmp, "%s.backup-tmp", to);
    if (stat(from, &sb) != 0) {
        fprintf(stderr, "abstat backup: %s: %s (is --data the daemon's data directory?)\n", from,
                strerror(errno));
        return BACKUP_ERROR;
    }
    if (mkdir(dest, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "abstat backup: cannot create %s: %s\n", dest, strerror(errno));
        return BACKUP_ERROR;
    }
    if (stat(to, &sb) == 0) {
        fprintf(stderr, "abstat backup: %s exists: back up into an empty directory\n", to);
        return BACKUP_ERROR;
    }
    unlink(tmp);
    if (copy_db(from, tmp, msg, sizeof msg) || (has = read_counter(tmp, &c, msg, sizeof msg)) < 0)
        goto fail;
    if (fsync_path(tmp, 0)) {
        snprintf(msg, sizeof msg, "cannot sync %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (has) {
        if ((fd = ab_counter_open(dest)) < 0 || ab_counter_write(fd, &c, 1)) {
            snprintf(msg, sizeof msg, "cannot write %s/%s: %s", dest, AB_COUNTER_FILE,
                     strerror(errno));
            if (fd >= 0) close(fd);
            goto fail;
        }
        close(fd);
    }
    if (rename(tmp, to) != 0) {
        snprintf(msg, sizeof msg, "cannot rename %s: %s", tmp, strerror(errno));
        goto fail;
    }
    fsync_path(dest, 1);
    ab_counter_thousands(c.events, events, sizeof events);
    if (has)
        printf("backed up %s to %s: %s events, commit %llu\n", src, dest, events,
               (unsigned long long)c.commits);
    else
        printf("backed up %s to %s (a store from before the commit counter)\n", src, dest);
    return 0;
fail:
    fprintf(stderr, "abstat backup: %s\n", msg);
    unlink(tmp);
    char wal[4300];
    snprintf(wal, sizeof wal, "%s-wal", tmp);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", tmp);
    unlink(wal);
    return BACKUP_ERROR;
}
