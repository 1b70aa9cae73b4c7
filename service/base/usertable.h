/* usertable.h — compact open-addressing tables keyed by 64-bit hashes:
 * the per-user records the counting rules need (16 bytes a slot, no malloc
 * per user) and a plain set for idempotency keys. */
#ifndef ABSTAT_USERTABLE_H
#define ABSTAT_USERTABLE_H

#include <stddef.h>
#include <stdint.h>

/* One tracked user. key 0 marks an empty slot (hashes of 0 are remapped). */
typedef struct {
    uint64_t key;      /* keyed 64-bit hash of the user id */
    uint32_t revenue;  /* 1-based index into the table's revenue array; 0 = none */
    uint8_t variant;   /* arm index */
    uint8_t flags;     /* bit p: converted at phase p; bit 7: answered NPS */
    uint16_t pad;
} ab_user;

#define AB_USER_NPS 0x80u

/* Linear probing over a power-of-two array, grown x2 past a load of 0.75
 * (base/probe.h: the same arithmetic as ptrmap.h, compact slots here).
 * Keys are hashes already, so growing never touches the user ids again.
 * Not thread-safe: one writer at a time, as for the experiment it serves.
 * Keys 0 and 1 are the same key to these tables (0 marks an empty slot). */
typedef struct {
    ab_user *slots;
    size_t cap;        /* power of two, or 0 before the first insert */
    size_t count;
    double *revenue;   /* per-user revenue totals of users with values */
    /* Per-user covariates (README "Events", covariate), beside revenue:
     * covariate[i] belongs to the user of revenue slot i + 1 (0 for users
     * that sent none). NULL until the first covariate, so a table without
     * covariates costs nothing more; once there, it grows with revenue. */
    double *covariate;
    /* Each total's user's variant (fixed at its first exposure), so that
     * the totals can be read arm by arm without walking every user slot
     * (README "Statistics", Revenue capping). */
    uint8_t *revenue_arm;
    uint32_t revenue_count, revenue_cap;
} ab_usertable;

/* Initialises an empty table (no allocation until the first insert). */
void ab_usertable_init(ab_usertable *t);
/* The user with this key, or NULL. */
ab_user *ab_usertable_find(ab_usertable *t, uint64_t key);
/* Makes room for n more users so that the next n inserts cannot fail.
 * 0, or -1 when out of memory (the table is then unchanged). Invalidates
 * user pointers when it grows the table. */
int ab_usertable_reserve(ab_usertable *t, size_t n);
/* Bytes ab_usertable_reserve(t, n) would allocate: the new slot array
 * (the old one is freed once the users moved), 0 when they fit already,
 * SIZE_MAX when no table can hold them. A capacity check, no allocation. */
size_t ab_usertable_reserve_cost(const ab_usertable *t, size_t n);
/* Makes room for n more revenue totals, so that the next n first values of
 * users (ab_usertable_add_revenue) cannot fail. 0, or -1 when out of memory
 * or past UINT32_MAX totals (the table is then unchanged). Never moves user
 * slots. */
int ab_usertable_reserve_revenue(ab_usertable *t, size_t n);
/* Bytes ab_usertable_reserve_revenue(t, n) would allocate (the grown
 * arrays of totals, their variants and covariates), 0 when they fit,
 * SIZE_MAX when they cannot. */
size_t ab_usertable_revenue_cost(const ab_usertable *t, size_t n);
/* Makes room for n more per-user slots (as ab_usertable_reserve_revenue)
 * and for covariates in them: the covariate array exists afterwards, so
 * the next n ab_usertable_set_covariate cannot fail. 0, or -1 when out of
 * memory (the table is then unchanged, or only grown). Never moves user
 * slots. */
int ab_usertable_reserve_covariates(ab_usertable *t, size_t n);
/* Bytes ab_usertable_reserve_covariates(t, n) would allocate, 0 when they
 * fit, SIZE_MAX when they cannot. */
size_t ab_usertable_covariates_cost(const ab_usertable *t, size_t n);
/* Gives a user without a slot yet (a new one) covariate x: it takes a
 * slot, its revenue total 0. 0, or -1 when out of memory or the user has
 * a slot already (nothing changed). Never moves user slots. */
int ab_usertable_set_covariate(ab_usertable *t, ab_user *u, double x);
/* The user's covariate (0 when it sent none). */
double ab_usertable_covariate(const ab_usertable *t, const ab_user *u);
/* Inserts a new user (key must be absent) with the variant; returns it, or
 * NULL when out of memory (the table is then unchanged). Pointers are
 * invalidated by the next insert or reserve. */
ab_user *ab_usertable_insert(ab_usertable *t, uint64_t key, uint8_t variant);
/* Asks the CPU to fetch the slot where key would start its probe, so that
 * a find a little later does not wait for memory (replay pipelines this). */
void ab_usertable_prefetch(const ab_usertable *t, uint64_t key);
/* The user's revenue total (0 when none). */
double ab_usertable_revenue(const ab_usertable *t, const ab_user *u);
/* Adds v to the user's revenue total; returns the old total in *old (old
 * may be NULL). The user's first value takes a slot of the revenue array.
 * 0, or -1 when out of memory (nothing changed). Never moves user slots. */
int ab_usertable_add_revenue(ab_usertable *t, ab_user *u, double v, double *old);
/* Bytes the table holds on the heap. */
size_t ab_usertable_bytes(const ab_usertable *t);
void ab_usertable_free(ab_usertable *t);

/* The same scheme over bare keys: the idempotency ids of one experiment. */
typedef struct {
    uint64_t *slots;
    size_t cap, count;
} ab_keyset;

void ab_keyset_init(ab_keyset *s);
/* Whether key is in the set. */
int ab_keyset_contains(const ab_keyset *s, uint64_t key);
/* Makes room for n more keys so that the next n adds cannot fail.
 * 0, or -1 when out of memory (the set is then unchanged). */
int ab_keyset_reserve(ab_keyset *s, size_t n);
/* 1 when key was already there, 0 when added now, -1 when out of memory
 * (the set is then unchanged). A key already there never fails. */
int ab_keyset_add(ab_keyset *s, uint64_t key);
/* Bytes ab_keyset_reserve(s, n) would allocate, 0 when they fit, SIZE_MAX
 * when they cannot. */
size_t ab_keyset_reserve_cost(const ab_keyset *s, size_t n);
size_t ab_keyset_bytes(const ab_keyset *s);
void ab_keyset_free(ab_keyset *s);

/* SipHash-2-4 of len bytes under the process key (set once at start-up by
 * ab_hash_seed, before any thread hashes, random so that hostile user ids
 * cannot flood one probe chain; a fixed default key until then). Never
 * returns 0: a SipHash of 0 is returned as 1. */
void ab_hash_seed(const uint8_t key[16]);
uint64_t ab_hash(const void *data, size_t len);
/* Plain SipHash-2-4 (64-bit output) under an explicit key, 0 included:
 * what the published test vectors check. */
uint64_t ab_siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
