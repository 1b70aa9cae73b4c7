/* dir_lock.c — the exclusive lock on a data directory (dir_lock.h). */
#include "store/dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "store/store_backend.h"

int ab_dir_lock(const char *dir, ab_error *err)
{
    char path[4096];
    int fd;
    if (snprintf(path, sizeof path, "%s/LOCK", dir) >= (int)sizeof path) {
        ab_store_fail(err, AB_STORE_INVALID, "data directory path too long");
        return -1;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        ab_store_fail(err, errno == EACCES || errno == EROFS ? AB_STORE_READONLY : AB_STORE_IO,
                      "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        ab_store_fail(err, AB_STORE_BUSY, "data directory %s is in use by another abstatd", dir);
        return -1;
    }
    return fd;
}
