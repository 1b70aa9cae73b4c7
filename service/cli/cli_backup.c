/* cli_backup.c — `abstat backup --data SRC DEST`. The store copies itself
 * as of one commit while a running abstatd goes on writing
 * (ab_store_backup); the counter file is written from the copy's own
 * counter, so that DEST starts as a data directory that passes the
 * start-up checks. */
#include "cli/cli_backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
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

int ab_cli_backup(int argc, char **argv)
{
    const char *src = NULL, *dest = NULL;
    char from[4096], to[4096], tmp[4200], msg[9000] = "", events[32];
    struct stat sb;
    ab_counter c;
    ab_error err = {0, ""};
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
    if ((has = ab_store_backup(src, tmp, &c, &err)) < 0) {
        snprintf(msg, sizeof msg, "%s", err.text);
        goto fail;
    }
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
