/* handle_experiments.c — PUT, GET, list, stop and DELETE of experiments
 * (README "Experiments"). Each change is flushed after the pending events and
 * committed on its own, so the store sees requests in their order. */
#include "api/handlers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "base/clock.h"
#include "http/http.h"
#include "json/jsonin.h"
#include "json/jsonout.h"
#include "json/experiment_json.h"
#include "base/log.h"
#include "base/webhook_url.h"

/* New reference: the experiment's config, status, test-definition history
 * and a few counts. */
static json_t *experiment_json(const ab_live *e)
{
    char created[40], since[40];
    double users = 0;
    json_t *o = ab_experiment_to_json(&e->cfg);
    if (!o) return NULL;
    for (size_t i = 0; i < e->cfg.k; i++) users += e->state.arms[i].users;
    ab_time_format_rfc3339(e->created_ms, created, sizeof created);
    /* Never restarted: monitoring has run since the creation. */
    ab_time_format_rfc3339(e->monitoring_since_ms ? e->monitoring_since_ms : e->created_ms,
                           since, sizeof since);
    if (ab_jset(o, "id", json_string(e->cfg.id)) ||
        ab_jset(o, "status", json_string(e->stopped ? "stopped" : "running")) ||
        ab_jset(o, "created_at", json_string(created)) ||
        ab_jset(o, "monitoring_since", json_string(since)) ||
        ab_jset(o, "changes", e->changes ? json_deep_copy(e->changes) : json_array()) ||
        ab_jset(o, "events", ab_jcount(e->state.events + e->pending)) ||
        ab_jset(o, "users", ab_jcount(users))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* experiment_json for a reader: without the admin scope the webhook's
 * query values are replaced by "***" (README "Storage and durability, Security": secrets). */
static json_t *experiment_json_for(const ab_live *e, unsigned held)
{
    json_t *o = experiment_json(e);
    char *red;
    if (!o || (held & AB_SCOPE_ADMIN) || !e->cfg.webhook) return o;
    if (!(red = ab_webhook_url_redacted(e->cfg.webhook)) ||
        ab_jset(o, "webhook", json_string(red))) {
        free(red);
        json_decref(o);
        return NULL;
    }
    free(red);
    return o;
}

/* Writes the experiment row (row->key 0 creates it) with cfg and the
 * test-definition history `changes` (NULL: none) in its own transaction;
 * clear_monitor also drops the stored monitoring state in it. */
static ab_store_status save(ab_api *api, const ab_experiment_config *cfg, const json_t *changes,
                            int clear_monitor, ab_store_experiment *row, ab_error *err)
{
    json_t *conf = ab_experiment_to_json(cfg);
    char *text = conf ? json_dumps(conf, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    char *hist = changes ? json_dumps(changes, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    ab_store_status kind;
    json_decref(conf);
    if (!text || (changes && !hist)) {
        free(text);
        free(hist);
        ab_error_set(err, 500, "out of memory");
        return AB_STORE_NOMEM;
    }
    row->id = cfg->id;
    row->config = text;
    row->changes = hist;
    if ((kind = ab_store_begin(api->store, err)) == AB_STORE_OK) {
        kind = ab_store_put_experiment(api->store, row, err);
        if (kind == AB_STORE_OK && clear_monitor)
            kind = ab_store_clear_monitor(api->store, row->key, err);
        if (kind == AB_STORE_OK) kind = ab_store_commit(api->store, err);
        else ab_store_rollback(api->store);
    }
    free(text);
    free(hist);
    row->config = row->changes = NULL;
    return kind;
}

static int by_id(const void *a, const void *b)
{
    return strcmp((*(const ab_live *const *)a)->cfg.id, (*(const ab_live *const *)b)->cfg.id);
}

/* GET /v1/experiments?limit=&after= : pages of at most limit (default
 * LIST_DEFAULT, at most LIST_MAX) experiments sorted by id, starting after
 * the id `after` (exclusive); "next" is the last id when more remain, else
 * null. Each entry is the experiment's config and counts, no evaluation. */
#define LIST_DEFAULT 100
#define LIST_MAX 1000

/* Reads the query into *limit and after (empty when absent); -1 after
 * answering 400. */
static int list_query(struct evhttp_request *req, size_t *limit, char after[AB_ID_MAX + 1])
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq args;
    const char *v;
    int rc = 0;

    *limit = LIST_DEFAULT;
    after[0] = '\0';
    if (!q || !*q) return 0;
    if (evhttp_parse_query_str(q, &args)) {
        ab_http_error(req, 400, "malformed query string");
        return -1;
    }
    if ((v = evhttp_find_header(&args, "limit"))) {
        char *end;
        unsigned long n;
        errno = 0;
        n = v[0] >= '0' && v[0] <= '9' ? strtoul(v, &end, 10) : 0;
        if (v[0] < '0' || v[0] > '9' || errno || *end || n < 1 || n > LIST_MAX) {
            ab_http_error(req, 400, "limit must be a whole number from 1 to %d", LIST_MAX);
            rc = -1;
        } else {
            *limit = n;
        }
    }
    if (!rc && (v = evhttp_find_header(&args, "after"))) {
        if (!ab_experiment_id_valid(v, strlen(v))) {
            ab_http_error(req, 400, "after must be an experiment id "
                                    "(^[a-z0-9][a-z0-9._-]{0,63}$)");
            rc = -1;
        } else {
            memcpy(after, v, strlen(v) + 1);
        }
    }
    evhttp_clear_headers(&args);
    return rc;
}

void ab_handle_experiment_list(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    char after[AB_ID_MAX + 1];
    size_t limit, n = 0, shown;
    json_t *list, *body;
    ab_live **all;

    if (list_query(req, &limit, after)) return;
    list = json_array();
    all = calloc(api->reg->count + 1, sizeof *all);
    if (!list || !all) goto oom;
    for (size_t i = 0; i < api->reg->cap; i++) {
        ab_live *e = ab_registry_at(api->reg, i);
        if (e && (!after[0] || strcmp(e->cfg.id, after) > 0)) all[n++] = e;
    }
    qsort(all, n, sizeof *all, by_id);
    shown = n < limit ? n : limit;
    for (size_t i = 0; i < shown; i++)
        if (json_array_append_new(list, experiment_json_for(all[i], call->held))) goto oom;
    body = json_pack("{s:o,s:o}", "experiments", list,
                     "next", shown < n ? json_string(all[shown - 1]->cfg.id) : json_null());
    free(all);
    if (!body) {
        ab_http_error(req, 500, "out of memory");
        return;
    }
    ab_http_json(req, 200, body);
    return;
oom:
    json_decref(list);
    free(all);
    ab_http_error(req, 500, "out of memory");
}

void ab_handle_experiment_get(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    const char *id = call->id;
    ab_live *e = ab_registry_get(api->reg, id, strlen(id));
    if (!e) {
        ab_http_error(req, 404, "experiment \"%s\" not found", id);
        return;
    }
    ab_http_json(req, 200, experiment_json_for(e, call->held));
}

/* A config value for people: a name as it is, anything else as JSON.
 * Caller frees; NULL when out of memory. */
static char *value_text(const json_t *v)
{
    if (json_is_string(v)) return strdup(json_string_value(v));
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
}

/* "metric (conversion -> revenue), alpha (0.05 -> 0.01)" from a `changes`
 * entry, for the log and the 409; cut (ending in "...") to fit size; ""
 * when no field changed. */
static void describe_change(const json_t *entry, char *buf, size_t size)
{
    const json_t *fields = json_object_get(entry, "fields");
    const json_t *was = json_object_get(entry, "old"), *now = json_object_get(entry, "new");
    size_t pos = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(fields) && pos < size; i++) {
        const char *f = json_string_value(json_array_get(fields, i));
        char *a = value_text(json_object_get(was, f));
        char *b = value_text(json_object_get(now, f));
        int n = snprintf(buf + pos, size - pos, "%s%s (%s -> %s)", i ? ", " : "", f ? f : "?",
                         a ? a : "?", b ? b : "?");
        free(a);
        free(b);
        if (n < 0) break;
        pos += (size_t)n;
    }
    if (pos >= size && size > 4) memcpy(buf + size - 4, "...", 4);
}

/* The 409 for a test-definition change without "restart_monitoring": true,
 * with the changed fields also as a list for programs. */
static void refuse_definition_change(struct evhttp_request *req, const json_t *entry)
{
    char what[300];
    json_t *body;
    describe_change(entry, what, sizeof what);
    body = json_pack("{s:s+,s:O}", "error", what,
                     ": the test definition cannot change once events exist unless the body "
                     "says \"restart_monitoring\": true, which starts monitoring again (the "
                     "evidence gathered so far would otherwise decide under the new test)",
                     "fields", json_object_get(entry, "fields"));
    if (!body) {
        ab_http_error(req, 500, "out of memory");
        return;
    }
    ab_http_json(req, 409, body);
}

/* A reader without the admin scope sees the webhook redacted (its query
 * values "***"); that form PUT back, by an admin, means the webhook as it
 * is, not a new one: the real URL is kept. -1 when out of memory. */
static int keep_webhook(const ab_live *e, ab_experiment_config *cfg)
{
    char *red, *real;
    if (!e->cfg.webhook || !cfg->webhook || !strcmp(e->cfg.webhook, cfg->webhook)) return 0;
    if (!(red = ab_webhook_url_redacted(e->cfg.webhook))) return -1;
    if (strcmp(red, cfg->webhook)) {
        free(red);
        return 0;
    }
    free(red);
    if (!(real = strdup(e->cfg.webhook))) return -1;
    free(cfg->webhook);
    cfg->webhook = real;
    return 0;
}

void ab_handle_experiment_put(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    ab_store_status kind;
    const char *id = call->id;
    ab_error err = {0, ""};
    ab_experiment_config cfg;
    ab_store_experiment row = {0, NULL, NULL, 0, 0, 0, NULL};
    size_t len;
    const char *body = ab_http_body(req, &len);
    json_t *doc, *entry = NULL, *changes_new = NULL;
    ab_live *e;
    int restart_asked, stopped_given, has_events, restart = 0;
    int64_t now = ab_now_ms();
    char what[300] = "";

    if (!body) {
        ab_http_error(req, 500, "out of memory reading the body");
        return;
    }
    if (!(doc = ab_jin_parse(body, len, &err))) {
        ab_http_fail(req, &err);
        return;
    }
    if (ab_experiment_take_restart(doc, &restart_asked, &err) ||
        ab_experiment_take_readonly(doc, &stopped_given, &err) ||
        ab_experiment_parse(id, doc, &cfg, &err)) {
        json_decref(doc);
        ab_http_fail(req, &err);
        return;
    }
    json_decref(doc);
    /* Events queued before this request belong to the old configuration. */
    ab_ingest_flush(api->ingest);
    e = ab_registry_get(api->reg, id, strlen(id));
    if (stopped_given >= 0 && stopped_given != (e ? e->stopped : 0)) {
        ab_experiment_free(&cfg);
        if (e)
            ab_http_error(req, 409, "status: \"%s\" is %s; a PUT does not %s it (POST "
                                    "/v1/experiments/%s/%s does), leave status out or as GET "
                                    "shows it", id, e->stopped ? "stopped" : "running",
                          e->stopped ? "start" : "stop", id, e->stopped ? "start" : "stop");
        else
            ab_http_error(req, 409, "status: a new experiment starts running; create it, then "
                                    "POST /v1/experiments/%s/stop", id);
        return;
    }
    if (e && keep_webhook(e, &cfg)) {
        ab_experiment_free(&cfg);
        ab_http_error(req, 500, "out of memory");
        return;
    }
    has_events = e && e->state.events + e->pending > 0;
    if (has_events && !ab_experiment_same_structure(&e->cfg, &cfg)) {
        ab_experiment_free(&cfg);
        ab_http_error(req, 409, "variants, factors and weights of \"%s\" cannot change once "
                                "events exist (delete the experiment to start over)", id);
        return;
    }
    if (has_events &&
        (restart_asked || ab_experiment_definition_diff(&e->cfg, &cfg, NULL) > 0)) {
        /* Without events nothing has been monitored: a change needs no
         * restart and leaves no history. */
        if (!(entry = ab_experiment_change_entry(&e->cfg, &cfg, now))) {
            ab_experiment_free(&cfg);
            ab_http_error(req, 500, "out of memory");
            return;
        }
        if (!restart_asked) {
            ab_experiment_free(&cfg);
            refuse_definition_change(req, entry);
            json_decref(entry);
            return;
        }
        /* The history with this change, swapped in only once it is stored:
         * a failed save must leave the experiment as it was. */
        describe_change(entry, what, sizeof what);
        if (!(changes_new = e->changes ? json_copy(e->changes) : json_array()) ||
            json_array_append_new(changes_new, entry)) {
            json_decref(changes_new);
            if (!changes_new) json_decref(entry);
            ab_experiment_free(&cfg);
            ab_http_error(req, 500, "out of memory");
            return;
        }
        restart = 1;
    }
    if (e) {
        row.key = e->key;
        row.stopped = e->stopped;
        row.created_ms = e->created_ms;
        row.monitoring_since_ms = restart ? now : e->monitoring_since_ms;
    } else {
        row.created_ms = now;
    }
    /* One transaction: the config, its history and, on a restart, the
     * removal of the stored monitoring state of the old definition. */
    if ((kind = save(api, &cfg, restart ? changes_new : e ? e->changes : NULL, restart, &row,
                     &err)) != AB_STORE_OK) {
        json_decref(changes_new);
        ab_experiment_free(&cfg);
        ab_logerr("saving experiment %s failed: %s", id, err.text);
        ab_api_store_fail(req, kind, &err);
        return;
    }
    if (e) {
        int resize = e->cfg.k != cfg.k;
        ab_api_change_begin(api);
        ab_experiment_free(&e->cfg);
        e->cfg = cfg;
        if (resize) { /* no events (checked above): start the counts afresh */
            ab_state_free(&e->state);
            ab_state_init(&e->state, e->cfg.k);
        }
        if (restart) {
            json_decref(e->changes);
            e->changes = changes_new;
            e->monitoring_since_ms = now;
            /* No state of the old definition may decide under the new. */
            ab_live_reset_monitoring(e);
            /* The store's monitor rows were deleted in the same
             * transaction, so the store already holds this empty state. */
            e->mon_unsaved = 0;
        }
        e->dirty = 1;
        ab_api_change_end(api);
        if (restart && what[0])
            ab_info("experiment %s: monitoring restarted after a change of %s", id, what);
        else if (restart)
            ab_info("experiment %s: monitoring restarted on request (no field changed)", id);
        else
            ab_info("experiment %s updated", id);
        ab_http_json(req, 200, experiment_json(e));
        return;
    }
    ab_api_change_begin(api);
    if (!(e = ab_live_new(&cfg, row.key, 0, row.created_ms)) || ab_registry_add(api->reg, e)) {
        ab_api_change_end(api);
        /* Stored but not live: a restart loads it; say so rather than lie. */
        ab_live_free(e);
        ab_experiment_free(&cfg);
        ab_logerr("experiment %s stored but out of memory to load it", id);
        ab_http_error(req, 500, "out of memory (the experiment is stored; restart to load it)");
        return;
    }
    ab_api_change_end(api);
    ab_info("experiment %s created with %zu variants", id, e->cfg.k);
    ab_http_json(req, 201, experiment_json(e));
}

/* Stopping refuses further events; starting takes them again. Both keep
 * every count and all monitoring state: a paused experiment resumes the
 * same test (a change of the test needs a PUT with restart_monitoring). */
static void set_stopped(ab_api *api, struct evhttp_request *req, const char *id, int stopped)
{
    ab_store_status kind;
    ab_error err = {0, ""};
    ab_live *e = ab_registry_get(api->reg, id, strlen(id));
    ab_store_experiment row = {0, NULL, NULL, 0, 0, 0, NULL};

    if (e && e->stopped != stopped) {
        /* Flushing hears what other nodes wrote too: e may be gone after. */
        ab_ingest_flush(api->ingest);
        e = ab_registry_get(api->reg, id, strlen(id));
    }
    if (!e) {
        ab_http_error(req, 404, "experiment \"%s\" not found", id);
        return;
    }
    if (e->stopped != stopped) {
        row.key = e->key;
        row.stopped = stopped;
        row.created_ms = e->created_ms;
        row.monitoring_since_ms = e->monitoring_since_ms;
        if ((kind = save(api, &e->cfg, e->changes, 0, &row, &err)) != AB_STORE_OK) {
            ab_api_store_fail(req, kind, &err);
            return;
        }
        ab_api_change_begin(api);
        e->stopped = stopped;
        e->dirty = 1; /* the status is in every answer */
        ab_api_change_end(api);
        ab_info("experiment %s %s", id, stopped ? "stopped" : "started again");
    }
    ab_http_json(req, 200, experiment_json(e));
}

void ab_handle_experiment_stop(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    set_stopped(api, req, call->id, 1);
}

void ab_handle_experiment_start(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    set_stopped(api, req, call->id, 0);
}

void ab_handle_experiment_delete(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    ab_store_status kind;
    const char *id = call->id;
    ab_error err = {0, ""};
    ab_live *e = ab_registry_get(api->reg, id, strlen(id));
    if (e) {
        /* Pending events point at e: commit and count them before it goes
         * (and hear what other nodes wrote: e may be gone after). */
        ab_ingest_flush(api->ingest);
        e = ab_registry_get(api->reg, id, strlen(id));
    }
    if (!e) {
        ab_http_error(req, 404, "experiment \"%s\" not found", id);
        return;
    }
    if ((kind = ab_store_begin(api->store, &err)) != AB_STORE_OK ||
        (kind = ab_store_delete_experiment(api->store, e->key, &err)) != AB_STORE_OK ||
        (kind = ab_store_commit(api->store, &err)) != AB_STORE_OK) {
        ab_store_rollback(api->store);
        ab_api_store_fail(req, kind, &err);
        return;
    }
    /* Its older changes may still come back from the shared log. */
    if (ab_store_shared(api->store) && ab_api_note_deleted(api, e->key))
        ab_logerr("experiment %s: out of memory noting its deletion; a change of it another "
                  "node made before may bring it back here until a restart", id);
    ab_api_change_begin(api);
    ab_registry_remove(api->reg, e);
    ab_api_change_end(api);
    /* Its tables are freed: room for events again, at once. */
    ab_memory_recount(api->memory);
    ab_info("experiment %s deleted", id);
    ab_http_json(req, 200, json_pack("{s:s,s:b}", "id", id, "deleted", 1));
}
