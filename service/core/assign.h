/* assign.h — which variant a user sees (README "Assignment"): a fixed hash
 * of experiment and user through the experiment's weights. No libevent and
 * no state, so that the daemon, the tests and the fuzz harness share it, and
 * service/assets/abstat.js computes the same answer in a browser.
 *
 * The rule, fixed for all versions (changing it would move users between
 * variants of running experiments):
 *   h  = MurmurHash3_x86_32, seed 0, of the bytes experiment ":" user
 *        (UTF-8; an experiment id holds no ':', so the split is unambiguous)
 *   b  = h >> 12, the top 20 bits: a bucket in [0, 2^20)
 *   W_i = w_0 + ... + w_i in doubles, left to right; S = W_{k-1}
 *   t_i = floor(W_i / S * 2^20 + 0.5) (IEEE double arithmetic), t_{k-1} = 2^20
 *   the variant is the first i with b < t_i.
 * Thresholds on a 2^20 grid rather than raw doubles keep the answer the
 * same when the weights differ in their last bits (normalised again after a
 * restart, printed with 15 digits by GET, given as [1, 3] instead of
 * [0.25, 0.75]); only one part in 2^20 of the traffic is rounded. */
#ifndef ABSTAT_ASSIGN_H
#define ABSTAT_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

/* Buckets of the assignment grid: 2^20. */
#define AB_ASSIGN_BUCKETS 1048576u

/* MurmurHash3_x86_32 (Austin Appleby's public-domain reference) of len
 * bytes with seed. */
uint32_t ab_murmur3_32(const void *data, size_t len, uint32_t seed);

/* The assignment hash: MurmurHash3_x86_32 (seed 0) of experiment (elen
 * bytes), ":" and user (ulen bytes), without building the joined string. */
uint32_t ab_assign_hash(const char *experiment, size_t elen, const char *user, size_t ulen);

/* The thresholds t[0..k) of weights[0..k) (positive, finite; not
 * necessarily normalised). 0, or -1 when k is 0 or a weight (or their sum)
 * is not positive and finite. */
int ab_assign_thresholds(const double *weights, size_t k, uint32_t *t);

/* The variant index of hash h under thresholds t[0..k) (k >= 1). */
size_t ab_assign_pick(const uint32_t *t, size_t k, uint32_t h);

/* Both in one: the variant index of user in experiment under weights[0..k),
 * or (size_t)-1 when the weights are invalid (see ab_assign_thresholds).
 * k at most 64 (AB_MAX_ARMS). */
size_t ab_assign_variant(const char *experiment, size_t elen, const char *user, size_t ulen,
                         const double *weights, size_t k);

/* Whether s (len bytes) is valid UTF-8 (shortest forms, no surrogates, at
 * most U+10FFFF) without NUL: the rest of a user id's rule, for users that
 * did not come through a JSON parser (a query string). */
int ab_assign_text_ok(const char *s, size_t len);

#endif
