/* store_counter.c — the side file of the commit counter and the checksum
 * of stored bytes (see store_counter.h). */
#include "store/store_counter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const unsigned char magic[8] = {'a', 'b', 's', 't', 'a', 't', 'C', '1'};

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t ab_checksum64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (0x9e3779b97f4a7c15ull * (len + 1));
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8); /* host order: the checksum is of this machine's bytes */
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 31;
        p += 8;
        len -= 8;
    }
    {
        uint64_t w = 0;
        for (size_t i = 0; i < len; i++) w |= (uint64_t)p[i] << (8 * i);
        h = (h ^ w) * 0x100000001b3ull;
    }
    return mix(h);
}

/* Record: magic | store_id | commits | batches | events | checksum. */
void ab_counter_encode(const ab_counter *c, unsigned char out[AB_COUNTER_RECORD])
{
    memcpy(out, magic, 8);
    put64(out + 8, c->store_id);
    put64(out + 16, c->commits);
    put64(out + 24, c->batches);
    put64(out + 32, c->events);
    put64(out + 40, ab_checksum64(out, 40, 0x61627374));
}

int ab_counter_decode(const unsigned char *in, size_t len, ab_counter *c)
{
    if (len < AB_COUNTER_RECORD || memcmp(in, magic, 8) ||
        get64(in + 40) != ab_checksum64(in, 40, 0x61627374))
        return -1;
    c->store_id = get64(in + 8);
    c->commits = get64(in + 16);
    c->batches = get64(in + 24);
    c->events = get64(in + 32);
    return 0;
}

ab_counter_status ab_counter_parse(const unsigned char *file, size_t len, ab_counter *c)
{
    ab_counter a, b;
    int va;
    if (len == 0) return AB_COUNTER_MISSING; /* created, never written */
    va = ab_counter_decode(file, len, &a) == 0;
    int vb = len > AB_COUNTER_SLOT &&
             ab_counter_decode(file + AB_COUNTER_SLOT, len - AB_COUNTER_SLOT, &b) == 0;
    if (va && vb) *c = a.commits >= b.commits ? a : b;
    else if (va) *c = a;
    else if (vb) *c = b;
    else return AB_COUNTER_DAMAGED;
    return AB_COUNTER_OK;
}

static int path_of(const char *dir, char *path, size_t len)
{
    return snprintf(path, len, "%s/%s", dir, AB_COUNTER_FILE) >= (int)len ? -1 : 0;
}

ab_counter_status ab_counter_read(const char *dir, ab_counter *c)
{
    unsigned char buf[AB_COUNTER_SLOT + AB_COUNTER_RECORD];
    char path[4096];
    size_t got = 0;
    int fd;
    if (path_of(dir, path, sizeof path)) return AB_COUNTER_DAMAGED;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno == ENOENT ? AB_COUNTER_MISSING : AB_COUNTER_DAMAGED;
    while (got < sizeof buf) {
        ssize_t n = read(fd, buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    return ab_counter_parse(buf, got, c);
}

int ab_counter_open(const char *dir)
{
    char path[4096];
    if (path_of(dir, path, sizeof path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
}

int ab_counter_write(int fd, const ab_counter *c, int sync)
{
    unsigned char rec[AB_COUNTER_RECORD];
    off_t off = (c->commits & 1) ? AB_COUNTER_SLOT : 0;
    ab_counter_encode(c, rec);
    if (pwrite(fd, rec, sizeof rec, off) != (ssize_t)sizeof rec) {
        if (errno == 0) errno = EIO;
        return -1;
    }
    return sync && fdatasync(fd) != 0 ? -1 : 0;
}

void ab_counter_thousands(uint64_t v, char *buf, size_t len)
{
    char digits[32];
    size_t n, o = 0;
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    n = strlen(digits);
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}
