/* registry.c — the live experiments by id (a base/ptrmap.h table) and the life of one. */
#include "core/registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/usertable.h"

void ab_registry_init(ab_registry *r)
{
    ab_ptrmap_init(r);
}

ab_live *ab_registry_get(const ab_registry *r, const char *id, size_t len)
{
    uint64_t key = ab_hash(id, len);
    size_t pos = 0;
    ab_live *e;
    /* Two ids may share a hash: the id decides. */
    while ((e = ab_ptrmap_next(r, key, &pos)))
        if (strlen(e->cfg.id) == len && !memcmp(e->cfg.id, id, len)) return e;
    return NULL;
}

int ab_registry_add(ab_registry *r, ab_live *e)
{
    return ab_ptrmap_add(r, ab_hash(e->cfg.id, strlen(e->cfg.id)), e);
}

void ab_registry_remove(ab_registry *r, ab_live *e)
{
    if (ab_ptrmap_remove(r, ab_hash(e->cfg.id, strlen(e->cfg.id)), e) == 0) ab_live_free(e);
}

int ab_registry_detach(ab_registry *r, ab_live *e)
{
    return ab_ptrmap_remove(r, ab_hash(e->cfg.id, strlen(e->cfg.id)), e);
}

ab_live *ab_registry_at(const ab_registry *r, size_t i)
{
    return ab_ptrmap_at(r, i);
}

void ab_registry_free(ab_registry *r)
{
    for (size_t i = 0; i < r->cap; i++) ab_live_free(ab_ptrmap_at(r, i));
    ab_ptrmap_free(r);
}

static void (*changes_release)(void *);

void ab_live_changes_free(void (*release)(void *changes))
{
    changes_release = release;
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
    if (e->changes && changes_release) changes_release(e->changes);
    free(e->cache);
    ab_live_drop_answers(e);
    free(e);
}

size_t ab_live_drop_answers(ab_live *e)
{
    size_t n = 0;
    for (size_t i = 0; i < 2; i++) {
        n += e->answer_len[i];
        free(e->answer[i]);
        e->answer[i] = NULL;
        e->answer_len[i] = 0;
    }
    return n;
}
