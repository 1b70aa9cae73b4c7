/* handle_history.c — GET /v1/experiments/{id}/history[?interval=day|hour]
 * [&format=json|csv] (README "History"); CSV also for Accept: text/csv. */
#include "api/handlers.h"

#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "core/history_series.h"
#include "http/http.h"
#include "json/history_json.h"

/* The query: *hourly and *csv. -1 after answering 400. */
static int history_query(struct evhttp_request *req, int *hourly, int *csv)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    const char *accept = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
    struct evkeyvalq args;
    const char *v;
    int rc = 0;

    *hourly = 0;
    /* A spreadsheet's import asks for text/csv; ?format= wins over it. */
    *csv = accept && strstr(accept, "text/csv") != NULL;
    if (!q || !*q) return 0;
    if (evhttp_parse_query_str(q, &args)) {
        ab_http_error(req, 400, "malformed query string");
        return -1;
    }
    if ((v = evhttp_find_header(&args, "interval"))) {
        if (!strcmp(v, "day") || !strcmp(v, "hour")) {
            *hourly = !strcmp(v, "hour");
        } else {
            ab_http_error(req, 400, "interval must be \"day\" or \"hour\"");
            rc = -1;
        }
    }
    if (!rc && (v = evhttp_find_header(&args, "format"))) {
        if (!strcmp(v, "json") || !strcmp(v, "csv")) {
            *csv = !strcmp(v, "csv");
        } else {
            ab_http_error(req, 400, "format must be \"json\" or \"csv\"");
            rc = -1;
        }
    }
    evhttp_clear_headers(&args);
    return rc;
}

void ab_handle_history(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    ab_live *e = ab_registry_get(api->reg, call->id, strlen(call->id));
    ab_history_span span;
    ab_history_point *p;
    ab_error err;
    int hourly, csv;

    if (!e) {
        ab_http_error(req, 404, "experiment \"%s\" not found", call->id);
        return;
    }
    if (history_query(req, &hourly, &csv)) return;
    if (e->state.history.lost) {
        ab_http_error(req, 503, "the history of \"%s\" is incomplete (memory ran out while "
                                "counting): restart the daemon to rebuild it", call->id);
        return;
    }
    if (ab_history_plan(&e->state, hourly, ab_now_ms(), &span, &err)) {
        ab_http_fail(req, &err);
        return;
    }
    /* Large (two result blocks of every arm): on the heap, once. */
    if (!(p = malloc(sizeof *p))) {
        ab_http_error(req, 500, "out of memory");
        return;
    }
    if (csv) {
        size_t len = 0;
        char *text = ab_history_csv(&e->cfg, &e->state, &span, p, &len);
        free(p);
        if (!text) {
            ab_http_error(req, 500, "out of memory");
            return;
        }
        ab_http_owned(req, 200, "text/csv; charset=utf-8", text, len);
        return;
    }
    json_t *body = ab_history_json(&e->cfg, &e->state, &span, p);
    free(p);
    ab_http_json(req, 200, body);
}
