/* cli_read.c — slurps a request body from a file or standard input. */
#include "cli/cli_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ab_read_all(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    size_t cap = 65536, used = 0;
    char *buf = NULL;

    if (!fp) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!(buf = malloc(cap + 1))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (;;) {
        size_t got = fread(buf + used, 1, cap - used, fp);
        used += got;
        if (used < cap) {
            if (ferror(fp)) {
                snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
                goto fail;
            }
            break;
        }
        if (cap >= max) {
            snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
            goto fail;
        }
        cap = cap * 2 > max ? max : cap * 2;
        char *grown = realloc(buf, cap + 1);
        if (!grown) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        buf = grown;
    }
    buf[used] = '\0';
    *len = used;
    if (fp != stdin) fclose(fp);
    return buf;
fail:
    free(buf);
    if (fp != stdin) fclose(fp);
    return NULL;
}
