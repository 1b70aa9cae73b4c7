/* handle_events.c — POST /v1/events: parse and validate the whole batch
 * (on a worker thread when it is large), then hand it to the group commit,
 * which answers. */
#include "api/handlers.h"

#include <string.h>

#include "http/auth.h"
#include "http/http.h"
#include "engine/ingest.h"
#include "engine/parse_pool.h"

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

int ab_handle_events_parse(ab_daemon *d, ab_pending *p, const char *body, size_t len,
                           const ab_ts_window *window, ab_error *err)
{
    return ab_event_parse_body(body, len, window, lookup, &d->reg, d->opt.max_batch,
                               MAX_ERRORS_LISTED, &p->arena, &p->batch, err);
}

void ab_handle_events_finish(ab_daemon *d, ab_pending *p, int rc, const ab_error *err)
{
    struct evhttp_request *req = p->req;
    if (rc == 0) {
        ab_ingest_submit(&d->ingest, p);
        return;
    }
    json_t *errors = json_array();
    d->metrics.rejected_requests++;
    d->metrics.rejected += p->batch.n + p->batch.nerr_total;
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

void ab_handle_events(ab_daemon *d, struct evhttp_request *req, unsigned held)
{
    ab_error err = {0, ""};
    size_t len;
    const char *body = ab_http_body(req, &len);
    ab_pending *p;
    /* Backfilling history is an admin's act (a token that ingests from
     * web pages must not rewrite an experiment's past); an open daemon
     * holds every scope. */
    ab_ts_window window = ab_ts_window_at(ab_now_ms(), (held & AB_SCOPE_ADMIN) != 0);

    if (!body) {
        ab_http_error(req, 500, "out of memory reading the body");
        return;
    }
    /* At the limit already, or no room for parsing this body (its events
     * take about 1.5 times its size): refuse before any work. */
    if (!ab_memory_fits(&d->memory, len + len / 2)) {
        ab_memory_refuse(&d->memory, req, "no room to take this request");
        d->metrics.rejected_requests++;
        return;
    }
    if (!(p = ab_pending_new(req, len))) {
        ab_http_error(req, 500, "out of memory");
        return;
    }
    /* Large bodies are parsed on a worker; the completion comes back to
     * the loop and continues in ab_handle_events_finish. */
    if (len >= AB_PARSE_POOL_MIN_BODY &&
        ab_parse_pool_submit(&d->parse_pool, p, body, len, &window) == 0)
        return;
    ab_handle_events_finish(d, p, ab_handle_events_parse(d, p, body, len, &window, &err), &err);
}
