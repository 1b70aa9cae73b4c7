/* probe.h — the probing arithmetic of every open-addressing table (usertable.c, ptrmap.c): where a key starts, the load limit, how a table grows. */
#ifndef ABSTAT_PROBE_H
#define ABSTAT_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* Linear probing over power-of-two arrays of at least this many slots. */
#define AB_PROBE_MIN_CAP 16u

/* The slot where key's probe starts in a table of mask + 1 slots. A final
 * mix before taking the low bits: ab_hash keys are uniform already, but the
 * tables also take arbitrary keys (tests, future callers) and keys that
 * differ only in their high bits would otherwise pile into one probe run.
 * One xor-shift-multiply round (MurmurHash3's finaliser half) costs a
 * multiply per probe. */
static inline size_t ab_probe_home(uint64_t key, size_t mask)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & mask;
}

/* Largest count a table of cap slots holds: load factor 0.75. Linear
 * probing's expected probe lengths are still short there (about 2.5 for a
 * hit, 8.5 for a miss) and at 10 M users the table is then 16 Mi slots,
 * 27 bytes a user. */
static inline size_t ab_probe_max_count(size_t cap)
{
    return cap - cap / 4;
}

/* The capacity a table of cap slots (count used) needs for n more entries
 * of size bytes: 0 when it has room already, SIZE_MAX when it cannot be
 * represented. One rule for reserving and for pricing a reservation. */
static inline size_t ab_probe_grown_cap(size_t cap, size_t count, size_t n, size_t size)
{
    size_t c = cap ? cap : AB_PROBE_MIN_CAP;
    if (n > SIZE_MAX - count) return SIZE_MAX;
    if (cap && count + n <= ab_probe_max_count(cap)) return 0;
    while (ab_probe_max_count(c) < count + n) {
        if (c > SIZE_MAX / 2 / size) return SIZE_MAX;
        c *= 2;
    }
    return c;
}

#endif
