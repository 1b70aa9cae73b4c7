/* follow.c — several nodes: applying on this node the configuration changes and deletions the shared log brings, in its order. */
#include "api/handlers.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "json/experiment_json.h"
#include "json/jsonin.h"

void ab_api_change_begin(ab_api *api)
{
    pthread_rwlock_wrlock(&api->reg_lock);
}

void ab_api_change_end(ab_api *api)
{
    api->reg_generation++;
    pthread_rwlock_unlock(&api->reg_lock);
}

ab_live *ab_api_live_from_row(const ab_store_experiment *row, ab_error *err)
{
    ab_experiment_config cfg;
    json_t *doc;
    ab_live *e;
    if (!(doc = ab_jin_parse_text(row->config, err)) ||
        ab_experiment_parse(row->id, doc, &cfg, err)) {
        json_decref(doc);
        return NULL;
    }
    json_decref(doc);
    if (!(e = ab_live_new(&cfg, row->key, row->stopped, row->created_ms))) {
        ab_experiment_free(&cfg);
        ab_error_set(err, 500, "out of memory");
        return NULL;
    }
    e->monitoring_since_ms = row->monitoring_since_ms;
    if (row->changes) {
        json_t *changes = ab_jin_parse_text(row->changes, err);
        if (!json_is_array(changes)) {
            json_decref(changes);
            ab_live_free(e);
            ab_error_set(err, 500, "its change history is unreadable");
            return NULL;
        }
        json_decref(e->changes);
        e->changes = changes;
    }
    return e;
}

static ab_live *by_key(const ab_api *api, int64_t key)
{
    for (size_t i = 0; i < api->reg->cap; i++) {
        ab_live *e = ab_registry_at(api->reg, i);
        if (e && e->key == key) return e;
    }
    return NULL;
}

static void *resolve(void *arg, int64_t key)
{
    return by_key(arg, key);
}

int ab_api_note_deleted(ab_api *api, int64_t key)
{
    if (api->ndeleted == api->capdeleted) {
        size_t cap = api->capdeleted ? api->capdeleted * 2 : 16;
        int64_t *d = realloc(api->deleted, cap * sizeof *d);
        if (!d) return -1;
        api->deleted = d;
        api->capdeleted = cap;
    }
    api->deleted[api->ndeleted++] = key;
    return 0;
}

static int deleted_here(const ab_api *api, int64_t key)
{
    for (size_t i = 0; i < api->ndeleted; i++)
        if (api->deleted[i] == key) return 1;
    return 0;
}

/* Frees the deleted experiments whose last events in flight are done. */
static void sweep(ab_api *api, int all)
{
    size_t kept = 0;
    for (size_t i = 0; i < api->ngone; i++) {
        ab_live *e = api->gone[i];
        if (all || e->pending < 0.5) ab_live_free(e);
        else api->gone[kept++] = e;
    }
    api->ngone = kept;
}

void ab_api_follow_free(ab_api *api)
{
    sweep(api, 1);
    free(api->gone);
    free(api->deleted);
    api->gone = NULL;
    api->deleted = NULL;
    api->ngone = api->capgone = api->ndeleted = api->capdeleted = 0;
}

/* Another node deleted e. Events of it this node still has in flight
 * point at it: it leaves the registry now (new events get 404) and is
 * freed when they are done (their commit fails: the store's foreign key). */
static void drop(ab_api *api, ab_live *e)
{
    ab_api_change_begin(api);
    if (e->pending < 0.5) {
        ab_registry_remove(api->reg, e);
    } else {
        if (api->ngone == api->capgone) {
            size_t cap = api->capgone ? api->capgone * 2 : 8;
            void **g = realloc(api->gone, cap * sizeof *g);
            if (!g) {
                /* Kept live rather than freed under its events: a restart drops it. */
                ab_api_change_end(api);
                ab_logerr("experiment %s deleted by another node: out of memory to drop it", e->cfg.id);
                return;
            }
            api->gone = g;
            api->capgone = cap;
        }
        ab_registry_detach(api->reg, e);
        api->gone[api->ngone++] = e;
    }
    ab_api_change_end(api);
    ab_memory_recount(api->memory);
}

/* Another node's (or this node's own, again) change: the experiment
 * becomes what its row says. */
static void update(ab_api *api, ab_live *e, const ab_store_experiment *row)
{
    ab_error err = {0, ""};
    ab_live *n = ab_api_live_from_row(row, &err);
    ab_experiment_config old;
    if (!n) {
        ab_logerr("experiment %s changed by another node is unreadable here: %s", row->id, err.text);
        return;
    }
    ab_api_change_begin(api);
    old = e->cfg;
    e->cfg = n->cfg;
    n->cfg = old; /* freed with n */
    if (e->cfg.k != n->cfg.k) {
        /* Only ever without events (PUT refuses it otherwise). */
        ab_state_free(&e->state);
        ab_state_init(&e->state, e->cfg.k);
    }
    e->stopped = row->stopped;
    if (e->monitoring_since_ms != row->monitoring_since_ms) {
        void *c = e->changes;
        e->changes = n->changes;
        n->changes = c;
        e->monitoring_since_ms = row->monitoring_since_ms;
        ab_live_reset_monitoring(e);
        e->mon_unsaved = 0;
    }
    e->dirty = 1;
    ab_api_change_end(api);
    ab_live_free(n);
}

static void create(ab_api *api, const ab_store_experiment *row)
{
    ab_error err = {0, ""};
    ab_live *e = ab_api_live_from_row(row, &err);
    if (!e) {
        ab_logerr("experiment %s created by another node is unreadable here: %s", row->id, err.text);
        return;
    }
    ab_api_change_begin(api);
    if (ab_registry_add(api->reg, e)) {
        ab_live_free(e);
        e = NULL;
    }
    ab_api_change_end(api);
    if (!e) ab_logerr("experiment %s created by another node: out of memory to load it", row->id);
}

static void change(void *arg, const ab_store_feed_item *it)
{
    ab_api *api = arg;
    ab_live *e;
    sweep(api, 0);
    if (deleted_here(api, it->key)) return;
    e = by_key(api, it->key);
    if (it->kind == AB_FEED_DELETE) {
        if (e) {
            ab_info("experiment %s deleted by another node", e->cfg.id);
            drop(api, e);
        }
        return;
    }
    if (e) update(api, e, it->exp);
    else create(api, it->exp);
}

ab_ingest_follower ab_api_follower(ab_api *api)
{
    ab_ingest_follower f = {resolve, change, api};
    return f;
}
