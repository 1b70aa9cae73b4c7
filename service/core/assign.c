/* assign.c — the assignment rule of assign.h: MurmurHash3_x86_32 of
 * "experiment:user" and the weights on a grid of 2^20 buckets. */
#include "core/assign.h"

#include <math.h>
#include <string.h>

#define C1 0xcc9e2d51u
#define C2 0x1b873593u
#define MAX_ARMS 64

static uint32_t rotl(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

/* MurmurHash3 fed in pieces: whole 4-byte blocks are mixed as they fill,
 * so hashing "experiment", ":" and "user" one after the other gives the
 * hash of the joined bytes. */
typedef struct {
    uint32_t h;
    uint8_t block[4];
    size_t fill;      /* bytes in block */
    size_t total;     /* bytes fed */
} murmur;

static uint32_t mix_k(uint32_t k)
{
    k *= C1;
    k = rotl(k, 15);
    return k * C2;
}

static void feed(murmur *m, const uint8_t *p, size_t n)
{
    m->total += n;
    while (n) {
        m->block[m->fill++] = *p++;
        n--;
        if (m->fill == 4) {
            /* Little-endian, whatever the machine: the hash is a format. */
            uint32_t k = (uint32_t)m->block[0] | (uint32_t)m->block[1] << 8 |
                         (uint32_t)m->block[2] << 16 | (uint32_t)m->block[3] << 24;
            m->h ^= mix_k(k);
            m->h = rotl(m->h, 13);
            m->h = m->h * 5 + 0xe6546b64u;
            m->fill = 0;
        }
    }
}

static uint32_t finish(murmur *m)
{
    uint32_t k = 0, h = m->h;
    switch (m->fill) {
    case 3: k ^= (uint32_t)m->block[2] << 16; /* fall through */
    case 2: k ^= (uint32_t)m->block[1] << 8;  /* fall through */
    case 1:
        k ^= m->block[0];
        h ^= mix_k(k);
        break;
    default: break;
    }
    /* The reference mixes in the length as a 32-bit int. */
    h ^= (uint32_t)m->total;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t ab_murmur3_32(const void *data, size_t len, uint32_t seed)
{
    murmur m = {seed, {0}, 0, 0};
    feed(&m, data, len);
    return finish(&m);
}

uint32_t ab_assign_hash(const char *experiment, size_t elen, const char *user, size_t ulen)
{
    murmur m = {0, {0}, 0, 0};
    feed(&m, (const uint8_t *)experiment, elen);
    feed(&m, (const uint8_t *)":", 1);
    feed(&m, (const uint8_t *)user, ulen);
    return finish(&m);
}

int ab_assign_thresholds(const double *weights, size_t k, uint32_t *t)
{
    double sum = 0.0, cum = 0.0;
    if (k == 0) return -1;
    for (size_t i = 0; i < k; i++) {
        if (!(weights[i] > 0.0) || !isfinite(weights[i])) return -1;
        sum += weights[i];
    }
    if (!isfinite(sum)) return -1;
    /* Each operation is one IEEE double operation in this order, which is
     * what JavaScript's numbers do too (no fused multiply-add: with
     * -std=c11 GCC does not contract, and x86-64 has none by default). */
    for (size_t i = 0; i + 1 < k; i++) {
        double x;
        cum += weights[i];
        x = floor(cum / sum * (double)AB_ASSIGN_BUCKETS + 0.5);
        t[i] = x >= (double)AB_ASSIGN_BUCKETS ? AB_ASSIGN_BUCKETS : (uint32_t)x;
    }
    t[k - 1] = AB_ASSIGN_BUCKETS;
    return 0;
}

size_t ab_assign_pick(const uint32_t *t, size_t k, uint32_t h)
{
    uint32_t b = h >> 12;
    for (size_t i = 0; i < k; i++)
        if (b < t[i]) return i;
    return k - 1; /* unreachable: t[k - 1] is 2^20 */
}

size_t ab_assign_variant(const char *experiment, size_t elen, const char *user, size_t ulen,
                         const double *weights, size_t k)
{
    uint32_t t[MAX_ARMS];
    if (k > MAX_ARMS || ab_assign_thresholds(weights, k, t)) return (size_t)-1;
    return ab_assign_pick(t, k, ab_assign_hash(experiment, elen, user, ulen));
}

int ab_assign_text_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        size_t n;
        uint32_t cp, min;
        if (c == 0) return 0;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) n = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef) n = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4) n = 3, cp = c & 0x07, min = 0x10000;
        else return 0;
        if ((size_t)(end - p) <= n) return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        p += n + 1;
    }
    return 1;
}
