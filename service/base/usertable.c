/* usertable.c — the per-user table, the idempotency-key set and SipHash-2-4
 * that keys both (see usertable.h). */
#include "base/usertable.h"

#include <stdlib.h>
#include <string.h>

#include "base/probe.h"

/* ---- SipHash-2-4 ----------------------------------------------------------
 * Written from the algorithm description of Aumasson and Bernstein,
 * "SipHash: a fast short-input PRF" (2012): four 64-bit words of state
 * initialised from the key and four constants, two SipRounds per 8-byte
 * little-endian message word, the length in the top byte of the last word,
 * then 0xff into v2 and four SipRounds. */

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64u - b));
}

/* Little-endian load whatever the host order, without alignment demands. */
static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

#define SIPROUND(v0, v1, v2, v3)                                            \
    do {                                                                    \
        v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);       \
        v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                            \
        v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                            \
        v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);       \
    } while (0)

static uint64_t siphash24_k(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    size_t whole = len & ~(size_t)7;

    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(p + i);
        v3 ^= m;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    /* Last word: the 0-7 remaining bytes, and len mod 256 in the top byte. */
    uint64_t b = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)p[whole + i] << (8 * i);
    v3 ^= b;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* Until ab_hash_seed runs, a fixed key: hashes are still well spread, only
 * not secret (tests and tools that never seed stay reproducible). */
static uint64_t hash_k0 = 0x5f3c9a1e7d2b4c68ULL, hash_k1 = 0xa4e1f0b7c3d29586ULL;

void ab_hash_seed(const uint8_t key[16])
{
    hash_k0 = load_le64(key);
    hash_k1 = load_le64(key + 8);
}

uint64_t ab_siphash24(const uint8_t key[16], const void *data, size_t len)
{
    return siphash24_k(load_le64(key), load_le64(key + 8), data, len);
}

uint64_t ab_hash(const void *data, size_t len)
{
    uint64_t h = siphash24_k(hash_k0, hash_k1, data, len);
    return h ? h : 1; /* 0 marks an empty slot in the tables */
}

/* ---- Probing: base/probe.h, shared with ptrmap.c ----------------------- */

/* 0 is the empty marker, so 0 is stored as 1, as ab_hash does. */
static inline uint64_t fix_key(uint64_t key)
{
    return key ? key : 1;
}

/* ---- User table ---------------------------------------------------------- */

void ab_usertable_init(ab_usertable *t)
{
    memset(t, 0, sizeof *t);
}

ab_user *ab_usertable_find(ab_usertable *t, uint64_t key)
{
    if (!t->count) return NULL;
    key = fix_key(key);
    size_t mask = t->cap - 1;
    for (size_t i = ab_probe_home(key, mask);; i = (i + 1) & mask) {
        ab_user *u = &t->slots[i];
        if (u->key == key) return u;
        if (!u->key) return NULL; /* the load cap guarantees an empty slot */
    }
}

void ab_usertable_prefetch(const ab_usertable *t, uint64_t key)
{
    if (t->cap) __builtin_prefetch(&t->slots[ab_probe_home(fix_key(key), t->cap - 1)], 1, 1);
}

/* Moves every user into a fresh array of new_cap slots. The old array is
 * only freed once the new one exists, so failure leaves the table as it was. */
static int usertable_rehash(ab_usertable *t, size_t new_cap)
{
    ab_user *slots = calloc(new_cap, sizeof *slots);
    if (!slots) return -1;
    size_t mask = new_cap - 1;
    for (size_t j = 0; j < t->cap; j++) {
        const ab_user *u = &t->slots[j];
        if (!u->key) continue;
        size_t i = ab_probe_home(u->key, mask);
        while (slots[i].key) i = (i + 1) & mask;
        slots[i] = *u;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = new_cap;
    return 0;
}

int ab_usertable_reserve(ab_usertable *t, size_t n)
{
    size_t cap = ab_probe_grown_cap(t->cap, t->count, n, sizeof(ab_user));
    if (cap == SIZE_MAX) return -1;
    return cap ? usertable_rehash(t, cap) : 0;
}

size_t ab_usertable_reserve_cost(const ab_usertable *t, size_t n)
{
    size_t cap = ab_probe_grown_cap(t->cap, t->count, n, sizeof(ab_user));
    return cap == SIZE_MAX ? SIZE_MAX : cap * sizeof(ab_user);
}

ab_user *ab_usertable_insert(ab_usertable *t, uint64_t key, uint8_t variant)
{
    if (ab_usertable_reserve(t, 1) < 0) return NULL;
    key = fix_key(key);
    size_t mask = t->cap - 1;
    size_t i = ab_probe_home(key, mask);
    while (t->slots[i].key) i = (i + 1) & mask;
    ab_user *u = &t->slots[i];
    u->key = key;
    u->revenue = 0;
    u->variant = variant;
    u->flags = 0;
    u->pad = 0;
    t->count++;
    return u;
}

double ab_usertable_revenue(const ab_usertable *t, const ab_user *u)
{
    return u->revenue ? t->revenue[u->revenue - 1] : 0.0;
}

/* Each total takes its double and its user's variant (revenue_arm). */
#define REVENUE_BYTES (sizeof(double) + sizeof(uint8_t))

/* The revenue capacity that holds need totals: doubling from the current
 * one (or AB_PROBE_MIN_CAP); 0 when need is past UINT32_MAX (index 0 means "none",
 * so at most UINT32_MAX users have values). */
static uint32_t revenue_cap_for(uint32_t cur, size_t need)
{
    uint64_t cap = cur ? cur : AB_PROBE_MIN_CAP;
    if (need > UINT32_MAX) return 0;
    while (cap < need) cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
#if SIZE_MAX / 8 < UINT32_MAX /* only where size_t is narrower than 35 bits */
    if ((size_t)cap > SIZE_MAX / REVENUE_BYTES) return 0;
#endif
    return (uint32_t)cap;
}

/* Bytes of a covariate array at cap slots. */
static size_t cov_bytes(uint32_t cap)
{
    return (size_t)cap * sizeof(double);
}

/* Bytes of the per-slot arrays at cap slots: revenue with its variants,
 * and covariates when the table keeps them (or is about to: with_cov). */
static size_t slot_bytes(uint32_t cap, int with_cov)
{
    return (size_t)cap * REVENUE_BYTES + (with_cov ? cov_bytes(cap) : 0);
}

/* The per-slot capacity that holds n more, or 0 when none can; *grow says
 * whether it differs from the current one. */
static uint32_t slots_cap_for(const ab_usertable *t, size_t n, int *grow)
{
    size_t need = (size_t)t->revenue_count + n;
    *grow = 0;
    if (n > UINT32_MAX || need > UINT32_MAX) return 0;
    if (need <= t->revenue_cap) return t->revenue_cap ? t->revenue_cap : AB_PROBE_MIN_CAP;
    *grow = 1;
    return revenue_cap_for(t->revenue_cap, need);
}

size_t ab_usertable_revenue_cost(const ab_usertable *t, size_t n)
{
    int grow;
    uint32_t cap = slots_cap_for(t, n, &grow);
    if (!cap) return SIZE_MAX;
    return grow ? slot_bytes(cap, t->covariate != NULL) : 0;
}

size_t ab_usertable_covariates_cost(const ab_usertable *t, size_t n)
{
    int grow;
    uint32_t cap = slots_cap_for(t, n, &grow);
    if (!cap) return SIZE_MAX;
    if (t->covariate) return grow ? slot_bytes(cap, 1) : 0;
    /* The covariate array comes new; revenue grows when it must (an empty
     * table gets its first block too). */
    return cov_bytes(cap) + (grow || !t->revenue_cap ? slot_bytes(cap, 0) : 0);
}

/* Grows the per-slot arrays to cap. A failure part-way leaves a larger
 * block whose extra room is simply not used yet (revenue_cap unchanged). */
static int grow_slots(ab_usertable *t, uint32_t cap)
{
    double *r = realloc(t->revenue, (size_t)cap * sizeof(double));
    uint8_t *a;
    if (!r) return -1;
    t->revenue = r;
    if (!(a = realloc(t->revenue_arm, cap))) return -1;
    t->revenue_arm = a;
    if (t->covariate) {
        double *c = realloc(t->covariate, (size_t)cap * sizeof(double));
        if (!c) return -1;
        t->covariate = c;
    }
    t->revenue_cap = cap;
    return 0;
}

int ab_usertable_reserve_revenue(ab_usertable *t, size_t n)
{
    int grow;
    uint32_t cap = slots_cap_for(t, n, &grow);
    if (!cap) return -1;
    return grow ? grow_slots(t, cap) : 0;
}

int ab_usertable_reserve_covariates(ab_usertable *t, size_t n)
{
    if (ab_usertable_reserve_revenue(t, n)) return -1;
    if (!t->covariate) {
        /* Zeros: the users holding slots so far sent no covariate. */
        size_t cap = t->revenue_cap ? t->revenue_cap : AB_PROBE_MIN_CAP;
        if (!t->revenue_cap && ab_usertable_reserve_revenue(t, cap)) return -1;
        if (!(t->covariate = calloc(t->revenue_cap, sizeof(double)))) return -1;
    }
    return 0;
}

int ab_usertable_set_covariate(ab_usertable *t, ab_user *u, double x)
{
    if (u->revenue || ab_usertable_reserve_covariates(t, 1) < 0) return -1;
    t->revenue[t->revenue_count] = 0.0;
    t->revenue_arm[t->revenue_count] = u->variant;
    t->covariate[t->revenue_count] = x;
    u->revenue = ++t->revenue_count;
    return 0;
}

double ab_usertable_covariate(const ab_usertable *t, const ab_user *u)
{
    return u->revenue && t->covariate ? t->covariate[u->revenue - 1] : 0.0;
}

int ab_usertable_add_revenue(ab_usertable *t, ab_user *u, double v, double *old)
{
    if (!u->revenue) {
        if (ab_usertable_reserve_revenue(t, 1) < 0) return -1;
        t->revenue[t->revenue_count] = 0.0;
        if (t->covariate) t->covariate[t->revenue_count] = 0.0;
        t->revenue_arm[t->revenue_count] = u->variant;
        u->revenue = ++t->revenue_count;
    }
    double *total = &t->revenue[u->revenue - 1];
    if (old) *old = *total;
    *total += v;
    return 0;
}

size_t ab_usertable_bytes(const ab_usertable *t)
{
    return t->cap * sizeof(ab_user) + slot_bytes(t->revenue_cap, t->covariate != NULL);
}

void ab_usertable_free(ab_usertable *t)
{
    free(t->slots);
    free(t->revenue);
    free(t->covariate);
    free(t->revenue_arm);
    memset(t, 0, sizeof *t);
}

/* ---- Key set ---------------------------------------------------------------- */

void ab_keyset_init(ab_keyset *s)
{
    memset(s, 0, sizeof *s);
}

/* The slot holding key, or the empty slot where it would go. cap > 0. */
static size_t keyset_slot(const ab_keyset *s, uint64_t key)
{
    size_t mask = s->cap - 1;
    size_t i = ab_probe_home(key, mask);
    while (s->slots[i] && s->slots[i] != key) i = (i + 1) & mask;
    return i;
}

int ab_keyset_contains(const ab_keyset *s, uint64_t key)
{
    if (!s->count) return 0;
    key = fix_key(key);
    return s->slots[keyset_slot(s, key)] == key;
}

static int keyset_rehash(ab_keyset *s, size_t new_cap)
{
    uint64_t *slots = calloc(new_cap, sizeof *slots);
    if (!slots) return -1;
    size_t mask = new_cap - 1;
    for (size_t j = 0; j < s->cap; j++) {
        uint64_t k = s->slots[j];
        if (!k) continue;
        size_t i = ab_probe_home(k, mask);
        while (slots[i]) i = (i + 1) & mask;
        slots[i] = k;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = new_cap;
    return 0;
}

int ab_keyset_reserve(ab_keyset *s, size_t n)
{
    size_t cap = ab_probe_grown_cap(s->cap, s->count, n, sizeof(uint64_t));
    if (cap == SIZE_MAX) return -1;
    return cap ? keyset_rehash(s, cap) : 0;
}

size_t ab_keyset_reserve_cost(const ab_keyset *s, size_t n)
{
    size_t cap = ab_probe_grown_cap(s->cap, s->count, n, sizeof(uint64_t));
    return cap == SIZE_MAX ? SIZE_MAX : cap * sizeof(uint64_t);
}

int ab_keyset_add(ab_keyset *s, uint64_t key)
{
    key = fix_key(key);
    /* Look first so that a key already there never needs memory. */
    if (ab_keyset_contains(s, key)) return 1;
    if (ab_keyset_reserve(s, 1) < 0) return -1;
    s->slots[keyset_slot(s, key)] = key;
    s->count++;
    return 0;
}

size_t ab_keyset_bytes(const ab_keyset *s)
{
    return s->cap * sizeof(uint64_t);
}

void ab_keyset_free(ab_keyset *s)
{
    free(s->slots);
    memset(s, 0, sizeof *s);
}
