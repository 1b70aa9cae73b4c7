/* arena.c — the bump allocator of arena.h: per-request allocations freed in one go. */
#include "base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN alignof(max_align_t)
/* Used when ab_arena_init is given 0: large enough that a typical ingest
 * request (a few thousand short strings) needs one or two blocks. */
#define ARENA_DEFAULT_BLOCK 65536

struct ab_arena_block {
    ab_arena_block *next;
    size_t size; /* usable bytes in data */
    size_t used;
    /* max_align_t elements make data suitably aligned for any object. */
    max_align_t data[];
};

void ab_arena_init(ab_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : ARENA_DEFAULT_BLOCK;
    a->total = 0;
}

static ab_arena_block *new_block(size_t size)
{
    ab_arena_block *b;
    if (size > SIZE_MAX - sizeof *b) return NULL;
    b = malloc(sizeof *b + size);
    if (!b) return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

void *ab_arena_alloc(ab_arena *a, size_t size)
{
    ab_arena_block *b = a->head;
    void *p;

    /* Zero-byte requests still get a distinct, usable pointer. */
    if (size == 0) size = 1;
    if (size > SIZE_MAX - (ARENA_ALIGN - 1)) return NULL;
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

    if (!b || b->size - b->used < size) {
        if (size > a->block_size) {
            /* An oversized request (a whole events array) gets a block of its
             * own, linked behind the head so the head's free space stays in use. */
            ab_arena_block *big = new_block(size);
            if (!big) return NULL;
            if (b) {
                big->next = b->next;
                b->next = big;
            } else {
                a->head = big;
            }
            big->used = size;
            a->total += size;
            return big->data;
        }
        b = new_block(a->block_size);
        if (!b) return NULL;
        b->next = a->head;
        a->head = b;
    }
    p = (char *)b->data + b->used;
    b->used += size;
    a->total += size;
    return p;
}

char *ab_arena_strndup(ab_arena *a, const char *s, size_t len)
{
    char *p;
    if (len == SIZE_MAX) return NULL;
    p = ab_arena_alloc(a, len + 1);
    if (!p) return NULL;
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void ab_arena_reset(ab_arena *a)
{
    ab_arena_block *b = a->head;
    while (b) {
        ab_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}
