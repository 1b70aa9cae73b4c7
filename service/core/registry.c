/* registry.c — an open-addressing map from experiment id to live state. */
#include "core/registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/usertable.h"

/* Tombstone: keeps probe chains intact after a removal. */
static ab_live tombstone;
#define TOMB (&tombstone)

void ab_registry_init(ab_registry *r)
{
    memset(r, 0, sizeof *r);
}

static size_t home(const ab_registry *r, const char *id, size_t len)
{
    return (size_t)ab_hash(id, len) & (r->cap - 1);
}

ab_live *ab_registry_get(const ab_registry *r, const char *id, size_t len)
{
    if (!r->cap) return NULL;
    for (size_t i = home(r, id, len), n = 0; n < r->cap; i = (i + 1) & (r->cap - 1), n++) {
        ab_live *e = r->slots[i];
        if (!e) return NULL;
        if (e != TOMB && strlen(e->cfg.id) == len && !memcmp(e->cfg.id, id, len)) return e;
    }
    return NULL;
}

static void place(ab_registry *r, ab_live *e)
{
    size_t i = home(r, e->cfg.id, strlen(e->cfg.id));
    while (r->slots[i] && r->slots[i] != TOMB) i = (i + 1) & (r->cap - 1);
    r->slots[i] = e;
}

int ab_registry_add(ab_registry *r, ab_live *e)
{
    /* Grow at half full (counting tombstones via a rebuild each growth). */
    if ((r->count + 1) * 2 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16, old = r->cap;
        ab_live **prev = r->slots, **fresh = calloc(cap, sizeof *fresh);
        if (!fresh) return -1;
        r->slots = fresh;
        r->cap = cap;
        for (size_t i = 0; i < old; i++)
            if (prev[i] && prev[i] != TOMB) place(r, prev[i]);
        free(prev);
    }
    place(r, e);
    r->count++;
    return 0;
}

void ab_registry_remove(ab_registry *r, ab_live *e)
{
    for (size_t i = 0; i < r->cap; i++) {
        if (r->slots[i] == e) {
            r->slots[i] = TOMB;
            r->count--;
            ab_live_free(e);
            return;
        }
    }
}

ab_live *ab_registry_at(const ab_registry *r, size_t i)
{
    ab_live *e = i < r->cap ? r->slots[i] : NULL;
    return e == TOMB ? NULL : e;
}

void ab_registry_free(ab_registry *r)
{
    for (size_t i = 0; i < r->cap; i++)
        if (r->slots[i] && r->slots[i] != TOMB) ab_live_free(r->slots[i]);
    free(r->slots);
    memset(r, 0, sizeof *r);
}

ab_live *ab_live_new(ab_experiment_config *cfg, int64_t key, int stopped, int64_t created_ms)
{
    ab_live *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    e->key = key;
    e->stopped = stopped;
    e->created_ms = created_ms;
    ab_state_init(&e->state, e->cfg.k);
    if (!(e->changes = json_array())) {
        *cfg = e->cfg;
        free(e);
        return NULL;
    }
    ab_live_reset_monitoring(e);
    return e;
}

void ab_live_reset_monitoring(ab_live *e)
{
    for (size_t i = 0; i < AB_MAX_ARMS; i++) {
        e->mon[i].min_p = NAN;
        e->mon[i].ci.lo = e->mon[i].ci.hi = NAN;
        e->mon[i].status = AB_ARM_COLLECTING;
        e->mon[i].significant_since = 0;
    }
    e->watch.srm_min_p = NAN;
    e->watch.srm_alert_since = 0;
    e->watch.plan_baseline = e->watch.plan_per_variant = NAN;
    e->dirty = 1;
}

void ab_live_free(ab_live *e)
{
    if (!e) return;
    ab_state_free(&e->state);
    ab_experiment_free(&e->cfg);
    json_decref(e->changes);
    free(e->cache);
    free(e);
}
