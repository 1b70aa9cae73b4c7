/* ptrmap.h — the reusable open-addressing table: 64-bit keys (hashes) to pointers, for any map by hashed name (the registry of experiments; auth tokens or statement caches that outgrow a scan). */
#ifndef ABSTAT_PTRMAP_H
#define ABSTAT_PTRMAP_H

#include <stddef.h>
#include <stdint.h>

/* Linear probing over a power-of-two array, grown x2 past a load of 0.75
 * (base/probe.h, the arithmetic of every table here);
 * removal shifts the entries after it back (no tombstones, so probe chains
 * never fill up with dead slots). Keys are hashes: two values may share a
 * key (two names with one hash), and a lookup walks every value of its key
 * for the caller to compare the names. Values are borrowed, never NULL (a
 * NULL value marks an empty slot). Not thread-safe. */
typedef struct {
    uint64_t key;
    void *val;
} ab_ptrmap_slot;

typedef struct {
    ab_ptrmap_slot *slots;
    size_t cap;        /* power of two, or 0 before the first add */
    size_t count;
} ab_ptrmap;

void ab_ptrmap_init(ab_ptrmap *m);
/* Adds val under key (val != NULL). 0, or -1 when out of memory (the map
 * is then unchanged). */
int ab_ptrmap_add(ab_ptrmap *m, uint64_t key, void *val);
/* The values under key, one per call: *pos starts at 0; NULL when there
 * are no more. Valid while the map is not changed. */
void *ab_ptrmap_next(const ab_ptrmap *m, uint64_t key, size_t *pos);
/* Removes the entry (key, val): one value may be stored under several
 * keys, so both must match. 0, or -1 when it is not there. */
int ab_ptrmap_remove(ab_ptrmap *m, uint64_t key, const void *val);
/* The value in slot i (0 <= i < cap), or NULL when it is empty: for
 * iterating every value. */
void *ab_ptrmap_at(const ab_ptrmap *m, size_t i);
/* Frees the slots (not the values). */
void ab_ptrmap_free(ab_ptrmap *m);

#endif
