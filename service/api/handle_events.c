/* handle_events.c — POST /v1/events: parse and validate the whole batch
 * (on a worker thread when it is large), then hand it to the group commit,
 * which answers. */
#include "api/handlers.h"

#include <string.h>

#include "base/clock.h"
#include "base/decimal.h"
#include "http/auth.h"
#include "http/http.h"
#include "engine/ingest.h"
#include "engine/parse_pool.h"
#include "json/event_parse.h"

/* Resolves experiments for the parser from the live registry. Callers on
 * worker threads hold the registry's read lock. */
static void *lookup(void *ctx, const char *id, size_t len, const ab_experiment_config **cfg,
                    int *running)
{
    ab_live *e = ab_registry_get(ctx, id, len);
    if (!e) return NULL;
    *cfg = &e->cfg;
    *running = !e->stopped;
    return e;
}

#define MAX_ERRORS_LISTED 100

int ab_handle_events_parse(ab_api *api, ab_pending *p, const char *body, size_t len,
                           const ab_ts_window *window, ab_error *err)
{
    return ab_event_parse_body(body, len, window, lookup, api->reg, api->max_batch,
                               MAX_ERRORS_LISTED, &p->arena, &p->batch, err);
}

void ab_handle_events_finish(ab_api *api, ab_pending *p, int rc, const ab_error *err)
{
    struct evhttp_request *req = p->req;
    if (rc == 0) {
        ab_ingest_submit(api->ingest, p);
        return;
    }
    json_t *errors = json_array();
    api->metrics->rejected_requests++;
    api->metrics->rejected += p->batch.n + p->batch.nerr_total;
    for (size_t i = 0; errors && i < p->batch.nerr; i++)
        json_array_append_new(errors, json_pack("{s:I,s:s}", "index",
                                                (json_int_t)p->batch.errors[i].index,
                                                "error", p->batch.errors[i].text));
    if (err->status == 400 || !err->status) {
        ab_http_errors(req, err->text[0] ? err->text : "invalid events", errors);
    } else {
        json_decref(errors);
        ab_http_fail(req, err);
    }
    ab_pending_free(p);
}

void ab_handle_events_refused(ab_api *api, ab_pending *p, const ab_ingest_outcome *o)
{
    if (o->kind == AB_INGEST_NO_MEMORY) {
        ab_memory_refuse(api->memory, p->req, o->why);
    } else {
        /* The store failed the commit: nothing was stored and a retry may
         * succeed (a full disk, a lock) — unless the store calls the
         * request itself unstorable, which is a bug of ours. */
        int code = o->store == AB_STORE_INVALID ? 500 : 503;
        /* A store that is away (PostgreSQL down or restarting, a lock)
         * is back by itself: say when to try again (README "Storage and
         * durability"). */
        if (ab_store_status_transient(o->store))
            evhttp_add_header(evhttp_request_get_output_headers(p->req), "Retry-After", "1");
        ab_http_error(p->req, code, "storage unavailable, nothing was stored: %s",
                      o->why ? o->why : ab_store_status_name(o->store));
    }
}

/* The hot path's answer, written without printf or a JSON tree:
 * {"accepted":N,"duplicates":M} and a newline, as every JSON answer. */
static void accepted(struct evhttp_request *req, const ab_ingest_outcome *o)
{
    char text[64 + 2 * AB_DECIMAL_MAX];
    size_t n = 0;
    double dup = o->duplicates;
    memcpy(text, "{\"accepted\":", 12);
    n = 12;
    n += ab_decimal_u64(text + n, (uint64_t)o->accepted);
    memcpy(text + n, ",\"duplicates\":", 14);
    n += 14;
    n += ab_decimal_u64(text + n, dup > 0 && dup < 1.8e19 ? (uint64_t)dup : 0);
    memcpy(text + n, "}\n", 2);
    n += 2;
    ab_http_copy(req, 202, "application/json", text, n);
}

void ab_handle_events_done(void *arg, ab_pending *p, const ab_ingest_outcome *o)
{
    if (o->kind != AB_INGEST_COUNTED)
        ab_handle_events_refused(arg, p, o);
    else
        accepted(p->req, o);
}

void ab_api_parse_work(void *ctx, ab_parse_job *job)
{
    ab_api *api = ctx;
    /* Experiments cannot change while the registry is read-locked; the
     * generation tells the loop whether they changed since. */
    pthread_rwlock_rdlock(&api->reg_lock);
    job->generation = api->reg_generation;
    job->rc = ab_handle_events_parse(api, job->p, job->body, job->len, &job->window, &job->err);
    pthread_rwlock_unlock(&api->reg_lock);
}

void ab_api_parse_done(void *ctx, ab_parse_job *job)
{
    ab_api *api = ctx;
    if (job->generation != api->reg_generation) {
        /* An experiment changed meanwhile: parse again, here, against what
         * is current (rare: PUT, stop or DELETE during a parse). */
        ab_arena_reset(&job->p->arena);
        memset(&job->p->batch, 0, sizeof job->p->batch);
        memset(&job->err, 0, sizeof job->err);
        job->rc = ab_handle_events_parse(api, job->p, job->body, job->len, &job->window,
                                         &job->err);
    }
    ab_handle_events_finish(api, job->p, job->rc, &job->err);
}

void ab_handle_events(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    ab_error err = {0, ""};
    size_t len;
    const char *body = ab_http_body(req, &len);
    ab_pending *p;
    /* Backfilling history is an admin's act (a token that ingests from
     * web pages must not rewrite an experiment's past); an open daemon
     * holds every scope. */
    ab_ts_window window = ab_ts_window_at(ab_now_ms(), (call->held & AB_SCOPE_ADMIN) != 0);

    if (!body) {
        ab_http_error(req, 500, "out of memory reading the body");
        return;
    }
    /* At the limit already, or no room for parsing this body (its events
     * take about 1.5 times its size): refuse before any work. */
    if (!ab_memory_fits(api->memory, len + len / 2)) {
        ab_memory_refuse(api->memory, req, "no room to take this request");
        api->metrics->rejected_requests++;
        return;
    }
    if (!(p = ab_pending_new(req, len, ab_handle_events_done, api))) {
        ab_http_error(req, 500, "out of memory");
        return;
    }
    /* Large bodies are parsed on a worker; the completion comes back to
     * the loop and continues in ab_handle_events_finish. */
    if (len >= AB_PARSE_POOL_MIN_BODY &&
        ab_parse_pool_submit(api->parse_pool, p, body, len, &window) == 0)
        return;
    ab_handle_events_finish(api, p, ab_handle_events_parse(api, p, body, len, &window, &err), &err);
}
