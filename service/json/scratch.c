/* scratch.c — jansson's allocator with a per-thread scratch region for
 * short-lived trees (see scratch.h). */
#include "json/scratch.h"

#include <jansson.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN alignof(max_align_t)
/* Pages kept resident between answers: a 10-variant answer's tree. */
#define KEEP_RESIDENT (1u << 20)

typedef struct {
    char *base;  /* NULL until reserved; never unmapped (one per thread) */
    size_t used; /* bytes handed out since begin */
    size_t high; /* bytes touched since the last trim */
    int open;
} scratch;

static _Thread_local scratch here;
static int installed;

static int in_region(const void *p)
{
    /* Unsigned arithmetic: a pointer below base wraps to a large offset. */
    return here.base &&
           (uintptr_t)p - (uintptr_t)here.base < (uintptr_t)AB_JSON_SCRATCH_BYTES;
}

static void *scratch_malloc(size_t size)
{
    if (here.open) {
        size_t n = size ? (size + ALIGN - 1) & ~(size_t)(ALIGN - 1) : ALIGN;
        if (n >= size && n <= AB_JSON_SCRATCH_BYTES - here.used) {
            char *p = here.base + here.used;
            here.used += n;
            if (here.used > here.high) here.high = here.used;
            UNPOISON(p, size);
            return p;
        }
    }
    return malloc(size);
}

static void scratch_free(void *p)
{
    /* A scratch value is let go of with its region. */
    if (!in_region(p)) free(p);
}

void ab_json_alloc_install(void)
{
    json_set_alloc_funcs(scratch_malloc, scratch_free);
    installed = 1;
}

int ab_json_scratch_begin(void)
{
    if (!installed || here.open) return -1;
    if (!here.base) {
        void *m = mmap(NULL, AB_JSON_SCRATCH_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) return -1;
        here.base = m;
        POISON(here.base, AB_JSON_SCRATCH_BYTES);
    }
    here.used = 0;
    here.open = 1;
    return 0;
}

void ab_json_scratch_end(void)
{
    if (!here.open) return;
    here.open = 0;
    /* Whatever a caller kept past the end is caught by ASan here. */
    POISON(here.base, here.used);
    if (here.high > KEEP_RESIDENT) {
        /* A rare large answer does not keep its pages: they go back. */
        (void)madvise(here.base + KEEP_RESIDENT, here.high - KEEP_RESIDENT, MADV_DONTNEED);
        here.high = KEEP_RESIDENT;
    }
    here.used = 0;
}

size_t ab_json_scratch_used(void)
{
    return here.open ? here.used : 0;
}
