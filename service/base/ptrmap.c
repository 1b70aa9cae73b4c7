/* ptrmap.c — the open-addressing pointer table of ptrmap.h. */
#include "base/ptrmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/probe.h"

void ab_ptrmap_init(ab_ptrmap *m)
{
    memset(m, 0, sizeof *m);
}

static size_t home(const ab_ptrmap *m, uint64_t key)
{
    return ab_probe_home(key, m->cap - 1);
}

static void place(ab_ptrmap_slot *slots, size_t cap, uint64_t key, void *val)
{
    size_t i = ab_probe_home(key, cap - 1);
    while (slots[i].val) i = (i + 1) & (cap - 1);
    slots[i].key = key;
    slots[i].val = val;
}

int ab_ptrmap_add(ab_ptrmap *m, uint64_t key, void *val)
{
    if (!val) return -1;
    size_t cap = ab_probe_grown_cap(m->cap, m->count, 1, sizeof(ab_ptrmap_slot));
    if (cap == SIZE_MAX) return -1;
    if (cap) {
        ab_ptrmap_slot *fresh = calloc(cap, sizeof *fresh);
        if (!fresh) return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].val) place(fresh, cap, m->slots[i].key, m->slots[i].val);
        free(m->slots);
        m->slots = fresh;
        m->cap = cap;
    }
    place(m->slots, m->cap, key, val);
    m->count++;
    return 0;
}

void *ab_ptrmap_next(const ab_ptrmap *m, uint64_t key, size_t *pos)
{
    if (!m->cap) return NULL;
    /* *pos counts the slots of the chain looked at so far. */
    for (size_t n = *pos; n < m->cap; n++) {
        const ab_ptrmap_slot *s = &m->slots[(home(m, key) + n) & (m->cap - 1)];
        if (!s->val) return NULL;
        if (s->key == key) {
            *pos = n + 1;
            return s->val;
        }
    }
    return NULL;
}

int ab_ptrmap_remove(ab_ptrmap *m, uint64_t key, const void *val)
{
    size_t i, j, mask = m->cap - 1;
    if (!m->cap) return -1;
    for (i = home(m, key);; i = (i + 1) & mask) {
        if (!m->slots[i].val) return -1;
        if (m->slots[i].key == key && m->slots[i].val == val) break;
    }
    /* Backward shift: move each later entry of the run into the hole
     * unless that would put it before its home slot. */
    for (j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
        size_t h = home(m, m->slots[j].key);
        /* The entry at j may move to i when i lies cyclically in [h, j). */
        if (((j - h) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].val = NULL;
    m->slots[i].key = 0;
    m->count--;
    return 0;
}

void *ab_ptrmap_at(const ab_ptrmap *m, size_t i)
{
    return i < m->cap ? m->slots[i].val : NULL;
}

void ab_ptrmap_free(ab_ptrmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}
