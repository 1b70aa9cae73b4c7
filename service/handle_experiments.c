/* handle_experiments.c — PUT, GET, list, stop and DELETE of experiments
 * (SPEC section 3). Each change is flushed after the pending events and
 * committed on its own, so the store sees requests in their order. */
#include "handlers.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "jsonin.h"
#include "jsonout.h"
#include "log.h"

/* Changes to experiments are made under the registry's write lock, for
 * the parse workers (see daemon.h). */
static void change_begin(ab_daemon *d)
{
    pthread_rwlock_wrlock(&d->reg_lock);
}

static void change_end(ab_daemon *d)
{
    d->reg_generation++;
    pthread_rwlock_unlock(&d->reg_lock);
}

/* New reference: the experiment's config, status and a few counts. */
static json_t *experiment_json(const ab_live *e)
{
    char created[40];
    double users = 0;
    json_t *o = ab_experiment_to_json(&e->cfg);
    if (!o) return NULL;
    for (size_t i = 0; i < e->cfg.k; i++) users += e->state.arms[i].users;
    ab_time_format_rfc3339(e->created_ms, created, sizeof created);
    if (ab_jset(o, "id", json_string(e->cfg.id)) ||
        ab_jset(o, "status", json_string(e->stopped ? "stopped" : "running")) ||
        ab_jset(o, "created_at", json_string(created)) ||
        ab_jset(o, "events", ab_jcount(e->state.events + e->pending)) ||
        ab_jset(o, "users", ab_jcount(users))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Writes the experiment row (row->key 0 creates it) in its own transaction. */
static int save(ab_daemon *d, const ab_experiment_config *cfg, ab_store_experiment *row,
                ab_error *err)
{
    json_t *conf = ab_experiment_to_json(cfg);
    char *text = conf ? json_dumps(conf, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    int rc = -1;
    json_decref(conf);
    if (!text) return ab_error_set(err, 500, "out of memory");
    row->id = cfg->id;
    row->config = text;
    if (ab_store_begin(d->store, err) == 0) {
        if (ab_store_put_experiment(d->store, row, err) == 0 &&
            ab_store_commit(d->store, err) == 0)
            rc = 0;
        else
            ab_store_rollback(d->store);
    }
    free(text);
    row->config = NULL;
    return rc;
}

static int by_id(const void *a, const void *b)
{
    return strcmp((*(const ab_live *const *)a)->cfg.id, (*(const ab_live *const *)b)->cfg.id);
}

void ab_handle_experiment_list(ab_daemon *d, struct evhttp_request *req)
{
    json_t *list = json_array();
    ab_live **all = calloc(d->reg.count + 1, sizeof *all);
    size_t n = 0;

    if (!list || !all) goto oom;
    for (size_t i = 0; i < d->reg.cap; i++) {
        ab_live *e = ab_registry_at(&d->reg, i);
        if (e) all[n++] = e;
    }
    qsort(all, n, sizeof *all, by_id);
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(list, experiment_json(all[i]))) goto oom;
    free(all);
    ab_http_json(req, 200, json_pack("{s:o}", "experiments", list));
    return;
oom:
    json_decref(list);
    free(all);
    ab_http_error(req, 500, "out of memory");
}

void ab_handle_experiment_get(ab_daemon *d, struct evhttp_request *req, const char *id)
{
    ab_live *e = ab_registry_get(&d->reg, id, strlen(id));
    if (!e) {
        ab_http_error(req, 404, "experiment \"%s\" not found", id);
        return;
    }
    ab_http_json(req, 200, experiment_json(e));
}

void ab_handle_experiment_put(ab_daemon *d, struct evhttp_request *req, const char *id)
{
    ab_error err = {0, ""};
    ab_experiment_config cfg;
    ab_store_experiment row = {0, NULL, NULL, 0, 0};
    size_t len;
    const char *body = ab_http_body(req, &len);
    json_t *doc;
    ab_live *e;

    if (!body) {
        ab_http_error(req, 500, "out of memory reading the body");
        return;
    }
    if (!(doc = ab_jin_parse(body, len, &err))) {
        ab_http_fail(req, &err);
        return;
    }
    if (ab_experiment_parse(id, doc, &cfg, &err)) {
        json_decref(doc);
        ab_http_fail(req, &err);
        return;
    }
    json_decref(doc);
    /* Events queued before this request belong to the old configuration. */
    ab_ingest_flush(&d->ingest);
    e = ab_registry_get(&d->reg, id, strlen(id));
    if (e && e->state.events + e->pending > 0 && !ab_experiment_same_structure(&e->cfg, &cfg)) {
        ab_experiment_free(&cfg);
        ab_http_error(req, 409, "variants, factors and weights of \"%s\" cannot change once "
                                "events exist (delete the experiment to start over)", id);
        return;
    }
    if (e) {
        row.key = e->key;
        row.stopped = e->stopped;
        row.created_ms = e->created_ms;
    } else {
        row.created_ms = ab_now_ms();
    }
    if (save(d, &cfg, &row, &err)) {
        ab_experiment_free(&cfg);
        ab_logerr("saving experiment %s failed: %s", id, err.text);
        ab_http_fail(req, &err);
        return;
    }
    if (e) {
        int resize = e->cfg.k != cfg.k;
        change_begin(d);
        ab_experiment_free(&e->cfg);
        e->cfg = cfg;
        if (resize) { /* no events (checked above): start the counts afresh */
            ab_state_free(&e->state);
            ab_state_init(&e->state, e->cfg.k);
        }
        e->dirty = 1;
        change_end(d);
        ab_info("experiment %s updated", id);
        ab_http_json(req, 200, experiment_json(e));
        return;
    }
    change_begin(d);
    if (!(e = ab_live_new(&cfg, row.key, 0, row.created_ms)) || ab_registry_add(&d->reg, e)) {
        change_end(d);
        /* Stored but not live: a restart loads it; say so rather than lie. */
        ab_live_free(e);
        ab_experiment_free(&cfg);
        ab_logerr("experiment %s stored but out of memory to load it", id);
        ab_http_error(req, 500, "out of memory (the experiment is stored; restart to load it)");
        return;
    }
    change_end(d);
    ab_info("experiment %s created with %zu variants", id, e->cfg.k);
    ab_http_json(req, 201, experiment_json(e));
}

void ab_handle_experiment_stop(ab_daemon *d, struct evhttp_request *req, const char *id)
{
    ab_error err = {0, ""};
    ab_live *e = ab_registry_get(&d->reg, id, strlen(id));
    ab_store_experiment row;

    if (!e) {
        ab_http_error(req, 404, "experiment \"%s\" not found", id);
        return;
    }
    if (!e->stopped) {
        ab_ingest_flush(&d->ingest);
        row.key = e->key;
        row.stopped = 1;
        row.created_ms = e->created_ms;
        if (save(d, &e->cfg, &row, &err)) {
            ab_http_fail(req, &err);
            return;
        }
        change_begin(d);
        e->stopped = 1;
        change_end(d);
        ab_info("experiment %s stopped", id);
    }
    ab_http_json(req, 200, experiment_json(e));
}

void ab_handle_experiment_delete(ab_daemon *d, struct evhttp_request *req, const char *id)
{
    ab_error err = {0, ""};
    ab_live *e = ab_registry_get(&d->reg, id, strlen(id));
    if (!e) {
        ab_http_error(req, 404, "experiment \"%s\" not found", id);
        return;
    }
    /* Pending events point at e: commit and count them before it goes. */
    ab_ingest_flush(&d->ingest);
    if (ab_store_begin(d->store, &err) || ab_store_delete_experiment(d->store, e->key, &err) ||
        ab_store_commit(d->store, &err)) {
        ab_store_rollback(d->store);
        ab_http_fail(req, &err);
        return;
    }
    change_begin(d);
    ab_registry_remove(&d->reg, e);
    change_end(d);
    ab_info("experiment %s deleted", id);
    ab_http_json(req, 200, json_pack("{s:s,s:b}", "id", id, "deleted", 1));
}
