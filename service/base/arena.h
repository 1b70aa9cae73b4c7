/* arena.h — a bump allocator for the short-lived allocations of one
 * request or one commit batch: many small strings, freed all at once. */
#ifndef ABSTAT_ARENA_H
#define ABSTAT_ARENA_H

#include <stddef.h>

typedef struct ab_arena_block ab_arena_block;

typedef struct {
    ab_arena_block *head;
    size_t block_size;
    size_t total;      /* bytes handed out, for limits and metrics */
} ab_arena;

/* Initialises an empty arena whose blocks are at least block_size bytes. */
void ab_arena_init(ab_arena *a, size_t block_size);
/* size bytes aligned for any type, or NULL when out of memory. */
void *ab_arena_alloc(ab_arena *a, size_t size);
/* A NUL-terminated copy of len bytes of s, or NULL. */
char *ab_arena_strndup(ab_arena *a, const char *s, size_t len);
/* Frees every block; the arena is empty and reusable afterwards. */
void ab_arena_reset(ab_arena *a);

#endif
