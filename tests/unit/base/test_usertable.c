/* test_usertable.c — SipHash-2-4 against the published vectors, the user
 * table (1e6 users, growth, revenue side array) and the idempotency key set. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "abstat/stats.h"
#include "test.h"

#include "base/usertable.h"

/* A revenue total: its double and its user's variant byte. */
#define REVENUE_BYTES (sizeof(double) + 1)

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* SipHash-2-4, 64-bit output, key 00 01 .. 0f, message the first i bytes of
 * 00 01 02 ..: the vectors of the SipHash paper's reference code (i = 15 is
 * the paper's Appendix A example, a129ca6149be45e5). */
static const uint64_t sip_vectors[64] = {
    0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL,
    0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL, 0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL,
    0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
    0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL, 0xa129ca6149be45e5ULL,
    0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL, 0x4bc1b3f0968dd39cULL, 0xbb6dc91da77961bdULL,
    0xbed65cf21aa2ee98ULL, 0xd0f2cbb02e3b67c7ULL, 0x93536795e3a33e88ULL, 0xa80c038ccd5ccec8ULL,
    0xb8ad50c6f649af94ULL, 0xbce192de8a85b8eaULL, 0x17d835b85bbb15f3ULL, 0x2f2e6163076bcfadULL,
    0xde4daaaca71dc9a5ULL, 0xa6a2506687956571ULL, 0xad87a3535c49ef28ULL, 0x32d892fad841c342ULL,
    0x7127512f72f27cceULL, 0xa7f32346f95978e3ULL, 0x12e0b01abb051238ULL, 0x15e034d40fa197aeULL,
    0x314dffbe0815a3b4ULL, 0x027990f029623981ULL, 0xcadcd4e59ef40c4dULL, 0x9abfd8766a33735cULL,
    0x0e3ea96b5304a7d0ULL, 0xad0c42d6fc585992ULL, 0x187306c89bc215a9ULL, 0xd4a60abcf3792b95ULL,
    0xf935451de4f21df2ULL, 0xa9538f0419755787ULL, 0xdb9acddff56ca510ULL, 0xd06c98cd5c0975ebULL,
    0xe612a3cb9ecba951ULL, 0xc766e62cfcadaf96ULL, 0xee64435a9752fe72ULL, 0xa192d576b245165aULL,
    0x0a8787bf8ecb74b2ULL, 0x81b3e73d20b49b6fULL, 0x7fa8220ba3b2eceaULL, 0x245731c13ca42499ULL,
    0xb78dbfaf3a8d83bdULL, 0xea1ad565322a1a0bULL, 0x60e61c23a3795013ULL, 0x6606d7e446282b93ULL,
    0x6ca4ecb15c5f91e1ULL, 0x9f626da15c9625f3ULL, 0xe51b38608ef25f57ULL, 0x958a324ceb064572ULL,
};

static void check_siphash(void)
{
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++) msg[i] = (uint8_t)i;

    /* Every message length 0..63 walks every tail length and 0-7 whole words. */
    for (size_t len = 0; len < 64; len++) {
        snprintf(test_context, sizeof test_context, "siphash len %zu", len);
        CHECK(ab_siphash24(key, msg, len) == sip_vectors[len]);
    }
    test_context[0] = '\0';

    /* The unseeded default key is a fixed one: reproducible, not the vector key. */
    uint64_t h_default = ab_hash(msg, 15);
    CHECK(h_default == ab_hash(msg, 15));
    CHECK(h_default != sip_vectors[15]);

    /* Seeded with the vector key, ab_hash is that SipHash (none of them is 0). */
    ab_hash_seed(key);
    for (size_t len = 0; len < 64; len++) CHECK(ab_hash(msg, len) == sip_vectors[len]);

    /* The input need not be aligned. */
    uint8_t shifted[65];
    memcpy(shifted + 1, msg, 64);
    CHECK(ab_hash(shifted + 1, 63) == sip_vectors[63]);

    /* A different key gives different hashes. */
    uint8_t key2[16];
    memcpy(key2, key, 16);
    key2[15] ^= 1;
    ab_hash_seed(key2);
    CHECK(ab_hash(msg, 15) != sip_vectors[15]);
    CHECK(ab_siphash24(key, msg, 15) == sip_vectors[15]); /* explicit key unaffected */
    ab_hash_seed(key);
}

/* No input hashing to 0 can be found, so the remapping is checked where it
 * matters: the tables take key 0 as key 1 instead of as "empty". */
static void check_key_zero(void)
{
    ab_usertable t;
    ab_usertable_init(&t);
    ab_user *u = ab_usertable_insert(&t, 0, 3);
    CHECK(u != NULL);
    CHECK(u && u->key == 1);
    CHECK(ab_usertable_find(&t, 0) == u);
    CHECK(ab_usertable_find(&t, 1) == u);
    CHECK_INT(t.count, 1);
    ab_usertable_free(&t);

    ab_keyset s;
    ab_keyset_init(&s);
    CHECK(!ab_keyset_contains(&s, 0));
    CHECK_INT(ab_keyset_add(&s, 0), 0);
    CHECK(ab_keyset_contains(&s, 0));
    CHECK(ab_keyset_contains(&s, 1));
    CHECK_INT(ab_keyset_add(&s, 1), 1);
    CHECK_INT(s.count, 1);
    ab_keyset_free(&s);

    /* ab_hash of many inputs is never 0 (the remap itself is one line). */
    int zeros = 0;
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(buf, sizeof buf, "z-%d", i);
        if (!ab_hash(buf, (size_t)n)) zeros++;
    }
    CHECK_INT(zeros, 0);
}

static void check_empty(void)
{
    ab_usertable t;
    ab_usertable_init(&t);
    CHECK(ab_usertable_find(&t, 42) == NULL);
    CHECK_INT(ab_usertable_bytes(&t), 0);
    ab_usertable_free(&t);
    ab_usertable_free(&t); /* twice is harmless */

    ab_keyset s;
    ab_keyset_init(&s);
    CHECK(!ab_keyset_contains(&s, 42));
    CHECK_INT(ab_keyset_bytes(&s), 0);
    ab_keyset_free(&s);
}

#define NUSERS 1000000

static uint64_t user_key(int i)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "user-%d", i);
    return ab_hash(buf, (size_t)n);
}

/* 1e6 users in, every one found back with its variant, strangers not found,
 * the load never above 0.75 and the capacity a power of two throughout. */
static void check_million(void)
{
    ab_usertable t;
    ab_usertable_init(&t);
    int bad_insert = 0, bad_load = 0, grows = 0;
    size_t last_cap = 0;
    double t0 = seconds();
    for (int i = 0; i < NUSERS; i++) {
        uint64_t k = user_key(i);
        if (ab_usertable_find(&t, k)) { bad_insert++; continue; }
        ab_user *u = ab_usertable_insert(&t, k, (uint8_t)(i % 64));
        if (!u || u->key != k || u->variant != i % 64 || u->flags || u->revenue) bad_insert++;
        if (t.cap != last_cap) {
            grows++;
            if (last_cap && t.cap != 2 * last_cap) bad_load++;
            last_cap = t.cap;
        }
        if (t.count * 4 > t.cap * 3 || (t.cap & (t.cap - 1))) bad_load++;
    }
    double t_insert = seconds() - t0;
    CHECK_INT(bad_insert, 0);
    CHECK_INT(bad_load, 0);
    CHECK_INT(t.count, NUSERS);
    /* 1e6 / 0.75 -> 2^21 slots, reached by doubling from 16: 18 growths. */
    CHECK_INT(t.cap, 1u << 21);
    CHECK_INT(grows, 18);
    CHECK_INT(ab_usertable_bytes(&t), (1u << 21) * sizeof(ab_user));

    t0 = seconds();
    int missing = 0;
    for (int i = 0; i < NUSERS; i++) {
        ab_user *u = ab_usertable_find(&t, user_key(i));
        if (!u || u->variant != i % 64) missing++;
    }
    double t_find = seconds() - t0;
    CHECK_INT(missing, 0);

    int strangers = 0;
    for (int i = NUSERS; i < NUSERS + 100000; i++)
        if (ab_usertable_find(&t, user_key(i))) strangers++;
    CHECK_INT(strangers, 0);

    printf("ok usertable: 1e6 inserts %.0f ns each, finds %.0f ns each (hash included)\n",
           1e9 * t_insert / NUSERS, 1e9 * t_find / NUSERS);
    ab_usertable_free(&t);
    CHECK(t.slots == NULL && t.cap == 0 && t.count == 0);
}

/* Keys that differ only in their high bits (not hashes) still spread, and
 * keys that collide in their home slot all stay reachable. */
static void check_patterned_keys(void)
{
    ab_usertable t;
    ab_usertable_init(&t);
    int bad = 0;
    for (uint64_t i = 1; i <= 50000; i++)
        if (!ab_usertable_insert(&t, i << 40, (uint8_t)(i & 7))) bad++;
    for (uint64_t i = 1; i <= 50000; i++) {
        ab_user *u = ab_usertable_find(&t, i << 40);
        if (!u || u->variant != (i & 7)) bad++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(t.count, 50000);
    ab_usertable_free(&t);
}

static void check_reserve(void)
{
    ab_usertable t;
    ab_usertable_init(&t);
    CHECK_INT(ab_usertable_reserve(&t, 1000), 0);
    size_t cap = t.cap;
    CHECK_INT(cap, 2048); /* 1024 slots hold only 768 */
    CHECK_INT(t.count, 0);
    int bad = 0;
    for (uint64_t i = 1; i <= 1000; i++)
        if (!ab_usertable_insert(&t, i * 0x9E3779B97F4A7C15ULL, 0)) bad++;
    CHECK_INT(bad, 0);
    CHECK_INT(t.cap, cap); /* no growth inside the reservation */
    CHECK_INT(ab_usertable_reserve(&t, 0), 0);
    CHECK_INT(t.cap, cap);
    CHECK_INT(ab_usertable_reserve(&t, SIZE_MAX), -1); /* impossible: unchanged */
    CHECK_INT(t.cap, cap);
    CHECK_INT(t.count, 1000);
    CHECK(ab_usertable_find(&t, 7 * 0x9E3779B97F4A7C15ULL) != NULL);
    ab_usertable_free(&t);

    ab_keyset s;
    ab_keyset_init(&s);
    CHECK_INT(ab_keyset_reserve(&s, 100), 0);
    cap = s.cap;
    CHECK_INT(cap, 256);
    for (uint64_t i = 1; i <= 100; i++) CHECK_INT(ab_keyset_add(&s, i), 0);
    CHECK_INT(s.cap, cap);
    CHECK_INT(ab_keyset_reserve(&s, SIZE_MAX), -1);
    CHECK_INT(s.cap, cap);
    CHECK_INT(s.count, 100);
    ab_keyset_free(&s);
}

/* Only users with values take a revenue slot; totals add up per user and
 * survive the table growing under them. */
static void check_revenue(void)
{
    ab_usertable t;
    ab_usertable_init(&t);
    ab_user *u = ab_usertable_insert(&t, 11, 0);
    CHECK(ab_usertable_revenue(&t, u) == 0.0);
    CHECK_INT(u->revenue, 0);
    CHECK_INT(t.revenue_count, 0);

    double old = -1.0;
    CHECK_INT(ab_usertable_add_revenue(&t, u, 10.0, &old), 0);
    CHECK(old == 0.0);
    CHECK_INT(u->revenue, 1);
    CHECK_INT(ab_usertable_add_revenue(&t, u, 5.0, &old), 0);
    CHECK(old == 10.0);
    CHECK(ab_usertable_revenue(&t, u) == 15.0);
    CHECK_INT(t.revenue_count, 1);
    CHECK_INT(ab_usertable_add_revenue(&t, u, -2.5, NULL), 0); /* refund; old optional */
    CHECK(ab_usertable_revenue(&t, u) == 12.5);

    /* 999 more users, every third with a value of its number. */
    for (uint64_t i = 1; i < 1000; i++) {
        ab_user *v = ab_usertable_insert(&t, 1000 + i, 1);
        if (i % 3 == 0) CHECK_INT(ab_usertable_add_revenue(&t, v, (double)i, NULL), 0);
    }
    CHECK_INT(t.revenue_count, 1 + 333);
    CHECK(t.revenue_cap >= t.revenue_count);
    int bad = 0;
    for (uint64_t i = 1; i < 1000; i++) {
        ab_user *v = ab_usertable_find(&t, 1000 + i);
        double want = i % 3 == 0 ? (double)i : 0.0;
        if (!v || ab_usertable_revenue(&t, v) != want || (i % 3 != 0) != (v->revenue == 0)) bad++;
    }
    CHECK_INT(bad, 0);
    u = ab_usertable_find(&t, 11);
    CHECK(u && ab_usertable_revenue(&t, u) == 12.5);
    CHECK_INT(ab_usertable_bytes(&t),
              t.cap * sizeof(ab_user) + (size_t)t.revenue_cap * REVENUE_BYTES);
    ab_usertable_free(&t);
    CHECK(t.revenue == NULL && t.revenue_count == 0);
}

static void check_keyset(void)
{
    ab_keyset s;
    ab_keyset_init(&s);
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "evt-%d", i);
        if (ab_keyset_add(&s, ab_hash(buf, (size_t)n)) != 0) bad++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(s.count, 200000);
    CHECK_INT(s.cap, 1u << 19); /* 2^18 slots hold only 196608 */
    CHECK_INT(ab_keyset_bytes(&s), (1u << 19) * sizeof(uint64_t));
    /* Every id again is a duplicate, and a duplicate never grows the set. */
    size_t cap = s.cap;
    for (int i = 0; i < 200000; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "evt-%d", i);
        uint64_t k = ab_hash(buf, (size_t)n);
        if (!ab_keyset_contains(&s, k) || ab_keyset_add(&s, k) != 1) bad++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(s.count, 200000);
    CHECK_INT(s.cap, cap);
    CHECK(!ab_keyset_contains(&s, ab_hash("evt-200000", 10)));
    ab_keyset_free(&s);
    CHECK(s.slots == NULL && s.count == 0);
}


/* Reservation costs are capacity checks that name the bytes a growth
 * would allocate; after the reservation, inserts up to it never move the
 * table (no allocation), and revenue and key-set room work the same way. */
static void check_reserve_costs(void)
{
    ab_usertable t;
    ab_keyset k;
    ab_usertable_init(&t);
    ab_keyset_init(&k);
    /* Empty: the first block is 16 slots (holds 12). */
    CHECK_INT(ab_usertable_reserve_cost(&t, 0), 16 * sizeof(ab_user));
    CHECK_INT(ab_usertable_reserve_cost(&t, 12), 16 * sizeof(ab_user));
    CHECK_INT(ab_usertable_reserve_cost(&t, 13), 32 * sizeof(ab_user));
    CHECK_INT(ab_usertable_reserve_cost(&t, 1000), 2048 * sizeof(ab_user));
    CHECK(ab_usertable_reserve_cost(&t, SIZE_MAX) == SIZE_MAX);
    CHECK(ab_usertable_reserve_cost(&t, SIZE_MAX / 4) == SIZE_MAX);
    CHECK_INT(ab_usertable_bytes(&t), 0); /* a cost allocates nothing */
    CHECK_INT(ab_usertable_reserve(&t, 1000), 0);
    CHECK_INT(ab_usertable_reserve_cost(&t, 1000), 0);
    CHECK_INT(ab_usertable_reserve_cost(&t, 1536), 0);  /* 2048 * 0.75 */
    CHECK_INT(ab_usertable_reserve_cost(&t, 1537), 4096 * sizeof(ab_user));
    ab_user *slots = t.slots;
    int bad = 0;
    for (uint64_t i = 1; i <= 1536; i++) bad += !ab_usertable_insert(&t, i * 0x9e3779b97f4a7c15ULL, 0);
    CHECK_INT(bad, 0);
    CHECK(t.slots == slots && t.cap == 2048); /* never grew */
    CHECK_INT(ab_usertable_reserve_cost(&t, 0), 0);
    CHECK_INT(ab_usertable_reserve_cost(&t, 1), 4096 * sizeof(ab_user));

    /* Revenue: doubling from 16, each total with its user's variant. */
    CHECK_INT(ab_usertable_revenue_cost(&t, 0), 0);
    CHECK_INT(ab_usertable_revenue_cost(&t, 1), 16 * REVENUE_BYTES);
    CHECK_INT(ab_usertable_revenue_cost(&t, 17), 32 * REVENUE_BYTES);
    CHECK(ab_usertable_revenue_cost(&t, (size_t)UINT32_MAX + 1) == SIZE_MAX);
    CHECK_INT(ab_usertable_reserve_revenue(&t, 100), 0);
    CHECK_INT(t.revenue_cap, 128);
    CHECK_INT(ab_usertable_revenue_cost(&t, 128), 0);
    CHECK_INT(ab_usertable_revenue_cost(&t, 129), 256 * REVENUE_BYTES);
    CHECK_INT(ab_usertable_reserve_revenue(&t, (size_t)UINT32_MAX + 1), -1);
    CHECK_INT(t.revenue_cap, 128); /* a refused reservation changes nothing */
    double *rev = t.revenue;
    bad = 0;
    for (uint64_t i = 1; i <= 128; i++) {
        ab_user *u = ab_usertable_find(&t, i * 0x9e3779b97f4a7c15ULL);
        bad += !u || ab_usertable_add_revenue(&t, u, 1.5, NULL) != 0;
    }
    CHECK_INT(bad, 0);
    CHECK(t.revenue == rev && t.revenue_cap == 128 && t.revenue_count == 128);
    CHECK_INT(ab_usertable_revenue_cost(&t, 1), 256 * REVENUE_BYTES);

    /* Key set. */
    CHECK_INT(ab_keyset_reserve_cost(&k, 1), 16 * sizeof(uint64_t));
    CHECK_INT(ab_keyset_reserve_cost(&k, 100), 256 * sizeof(uint64_t));
    CHECK(ab_keyset_reserve_cost(&k, SIZE_MAX) == SIZE_MAX);
    CHECK_INT(ab_keyset_reserve(&k, 100), 0);
    CHECK_INT(ab_keyset_reserve_cost(&k, 192), 0);
    CHECK_INT(ab_keyset_reserve_cost(&k, 193), 512 * sizeof(uint64_t));
    uint64_t *ks = k.slots;
    bad = 0;
    for (uint64_t i = 1; i <= 192; i++) bad += ab_keyset_add(&k, i * 31) != 0;
    CHECK_INT(bad, 0);
    CHECK(k.slots == ks && k.cap == 256);
    ab_keyset_free(&k);
    ab_usertable_free(&t);
}

/* Covariates: none kept until the first (a table without them costs what
 * it did), then one beside every per-user slot, 0 for users without one;
 * the costs are what reserving allocates, and reserved room is used
 * without allocating. */
static void check_covariates(void)
{
    ab_usertable t;
    double old;
    ab_usertable_init(&t);
    ab_user *a = ab_usertable_insert(&t, 101, 0);
    CHECK_INT(ab_usertable_add_revenue(&t, a, 7.0, &old), 0);
    CHECK(t.covariate == NULL);
    CHECK(ab_usertable_covariate(&t, a) == 0.0);
    size_t before = ab_usertable_bytes(&t);
    /* Each revenue slot: its total and its user's variant (one byte). */
    CHECK_INT(before, t.cap * sizeof(ab_user) + (size_t)t.revenue_cap * (sizeof(double) + 1));
    size_t cost = ab_usertable_covariates_cost(&t, 1);
    CHECK_INT(cost, (size_t)t.revenue_cap * sizeof(double)); /* room enough: the array only */
    CHECK_INT(ab_usertable_reserve_covariates(&t, 1), 0);
    CHECK_INT(ab_usertable_bytes(&t) - before, cost);
    CHECK_INT(ab_usertable_covariates_cost(&t, 1), 0);
    a = ab_usertable_find(&t, 101);
    CHECK(a && ab_usertable_covariate(&t, a) == 0.0); /* sent none */
    CHECK(a && ab_usertable_revenue(&t, a) == 7.0);
    CHECK_INT(ab_usertable_set_covariate(&t, a, 3.0), -1); /* has a slot already */
    ab_user *b = ab_usertable_insert(&t, 202, 1);
    CHECK_INT(ab_usertable_set_covariate(&t, b, -2.5), 0);
    CHECK(ab_usertable_covariate(&t, b) == -2.5 && ab_usertable_revenue(&t, b) == 0.0);
    CHECK_INT(ab_usertable_add_revenue(&t, b, 4.0, &old), 0);
    CHECK(old == 0.0 && ab_usertable_revenue(&t, b) == 4.0 && ab_usertable_covariate(&t, b) == -2.5);
    /* Growth moves both arrays: a thousand more users with covariates. */
    size_t grow = ab_usertable_revenue_cost(&t, 1000);
    size_t slots_before = (size_t)t.revenue_cap;
    CHECK(grow > 0);
    CHECK_INT(ab_usertable_reserve_revenue(&t, 1000), 0);
    CHECK_INT(grow, (size_t)t.revenue_cap * (2 * sizeof(double) + 1));
    CHECK(t.revenue_cap > slots_before);
    int bad = 0;
    for (uint64_t k = 1000; k < 2000; k++) {
        ab_user *u = ab_usertable_find(&t, k);
        if (u) continue;
        u = ab_usertable_insert(&t, k, 0);
        size_t slots = (size_t)t.revenue_cap;
        if (!u || ab_usertable_set_covariate(&t, u, (double)k)) bad++;
        if ((size_t)t.revenue_cap != slots) bad++; /* reserved: no growth */
    }
    CHECK_INT(bad, 0);
    int wrong = 0;
    for (uint64_t k = 1000; k < 2000; k++) {
        ab_user *u = ab_usertable_find(&t, k);
        if (!u || ab_usertable_covariate(&t, u) != (double)k) wrong++;
    }
    CHECK_INT(wrong, 0);
    CHECK(ab_usertable_covariate(&t, ab_usertable_find(&t, 202)) == -2.5);
    ab_usertable_free(&t);
    CHECK(t.covariate == NULL);

    /* An empty table: the first covariate makes both arrays. */
    ab_usertable_init(&t);
    cost = ab_usertable_covariates_cost(&t, 0);
    CHECK_INT(cost, 16 * (2 * sizeof(double) + 1));
    CHECK_INT(ab_usertable_reserve_covariates(&t, 0), 0);
    CHECK_INT(ab_usertable_bytes(&t), cost);
    ab_usertable_free(&t);
}

int main(void)
{
    ab_stats_init();
    check_siphash();
    check_key_zero();
    check_empty();
    check_million();
    check_patterned_keys();
    check_reserve();
    check_revenue();
    check_covariates();
    check_keyset();
    check_reserve_costs();
    return TEST_DONE("test_usertable");
}
