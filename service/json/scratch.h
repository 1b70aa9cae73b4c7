/* scratch.h — jansson's allocator: the heap, except for a tree that lives
 * only until it is printed, which comes from the thread's scratch region
 * and is let go of all at once. */
#ifndef ABSTAT_SCRATCH_H
#define ABSTAT_SCRATCH_H

#include <stddef.h>

/* Bytes of one thread's scratch region (address space reserved at the
 * first ab_json_scratch_begin; pages are touched as trees need them). A
 * tree larger than that continues on the heap. */
#define AB_JSON_SCRATCH_BYTES (4u << 20)

/* Makes jansson allocate through this file. Call it once, before any
 * jansson value exists (first thing in main): values made with another
 * allocator must not be freed by this one. Without it, begin and end do
 * nothing and every tree is on the heap as before. */
void ab_json_alloc_install(void);

/* From here until ab_json_scratch_end, jansson values this thread makes
 * are carved from its scratch region, and freeing them costs nothing. The
 * caller must json_decref every such value before ab_json_scratch_end and
 * must not keep any (nor hand one to another thread): the next begin
 * reuses the memory. Text made with malloc (ab_json_dump) is unaffected.
 * A results answer of 10 variants allocates about 4,000 small values,
 * which cost malloc and free more than the rest of its printing. No
 * nesting: 0, or -1 when a scratch is already open on this thread or the
 * region cannot be reserved (the heap is used then). */
int ab_json_scratch_begin(void);
/* Ends the scratch of this thread (nothing when none is open). Keeps at
 * most 1 MiB of the region's pages resident for the next answer. */
void ab_json_scratch_end(void);
/* Bytes the scratch of this thread has handed out since its begin. */
size_t ab_json_scratch_used(void);

#endif
