/* api.c — the request's way through the API: guard, route table, CORS,
 * token, handler; and the route of each reply for the metrics. */
#include "api/api.h"

#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/access.h"
#include "api/reply_route.h"
#include "api/routes.h"
#include "http/http.h"

int ab_api_init(ab_api *api)
{
    const char *labels[AB_METRICS_ROUTES];
    size_t n = ab_route_labels(labels, AB_METRICS_ROUTES);
    if (!n) return -1; /* the table outgrew the metrics (tests/unit/api/test_routes.c) */
    api->reg_generation = 0;
    if (pthread_rwlock_init(&api->reg_lock, NULL)) return -1;
    ab_metrics_init(api->metrics, labels, n);
    /* The last label, after the table's lines, is "other". */
    {
        size_t nroutes;
        const ab_route *routes = ab_routes(&nroutes);
        ab_api_tags_init(api, routes, nroutes, n - 1);
    }
    api->ready = 1;
    return 0;
}

void ab_api_free(ab_api *api)
{
    if (!api->ready) return;
    ab_api_tags_free(api);
    ab_api_follow_free(api);
    pthread_rwlock_destroy(&api->reg_lock);
    api->ready = 0;
}

/* ---- Dispatch ----------------------------------------------------------- */

static const char *path_of(const struct evhttp_uri *uri, enum evhttp_cmd_type cmd,
                           const char *target)
{
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    /* CONNECT's target is parsed as an authority, leaving no path: use the
     * target as sent, so the route is found and gets its 405. */
    if ((!path || !*path) && cmd == EVHTTP_REQ_CONNECT) path = target;
    return path;
}

int ab_api_admit(void *arg, const ab_guard_head *h, ab_refusal *r)
{
    ab_api *api = arg;
    ab_route_match m;
    unsigned held;
    if (ab_route_match_path(path_of(h->uri, h->cmd, h->target), h->cmd, &m) != 0) {
        memset(r, 0, sizeof *r);
        r->code = 404;
        snprintf(r->text, sizeof r->text, "no such resource");
        return -1;
    }
    if (m.flags & AB_ROUTE_CORS) {
        if (h->cmd == EVHTTP_REQ_OPTIONS) return 0; /* CORS preflight */
        if (ab_access_origin(api, evhttp_find_header(h->headers, "Origin"), r)) return -1;
    }
    return ab_access_token(api, h->headers, h->uri, &m, &held, r);
}

/* 0 when the request may proceed, with *held its scopes; otherwise it has
 * been answered. */
static int authorize(const ab_api *api, struct evhttp_request *req, const ab_route_match *m,
                     unsigned *held)
{
    ab_refusal r;
    if (ab_access_token(api, evhttp_request_get_input_headers(req),
                        evhttp_request_get_evhttp_uri(req), m, held, &r) == 0)
        return 0;
    if (r.hname[0]) evhttp_add_header(evhttp_request_get_output_headers(req), r.hname, r.hvalue);
    ab_http_error(req, r.code, "%s", r.text);
    return -1;
}

/* Bodies we cannot decode are refused rather than parsed as garbage. */
static int encoding_ok(struct evhttp_request *req)
{
    const char *enc = evhttp_find_header(evhttp_request_get_input_headers(req),
                                         "Content-Encoding");
    if (!enc || !strcasecmp(enc, "identity")) return 1;
    ab_http_error(req, 415, "Content-Encoding \"%.32s\" is not supported: send the body "
                            "uncompressed", enc);
    return 0;
}

void ab_api_request(struct evhttp_request *req, void *arg)
{
    ab_api *api = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    ab_route_match m;
    ab_call call;
    int found = ab_route_match_path(path_of(evhttp_request_get_evhttp_uri(req), cmd,
                                            evhttp_request_get_uri(req)), cmd, &m) == 0;

    /* From here every answer, the guard's included, counts on m's route. */
    ab_api_tag(api, req, m.index);
    if (ab_guard_request(req)) return; /* refused at its head (guard.c) */
    /* HTTP/1.1 requires Host (RFC 9112, 3.2). */
    if (req->major == 1 && req->minor >= 1 &&
        !evhttp_find_header(evhttp_request_get_input_headers(req), "Host")) {
        ab_http_error(req, 400, "missing Host header");
        return;
    }
    if (!found) {
        ab_http_error(req, 404, "no such resource");
        return;
    }
    /* Stopping: this request began before the signal (guard.c answers
     * later ones 503), so it is served; its connection closes after. */
    if (api->shutting_down)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    if ((m.flags & AB_ROUTE_CORS) && ab_access_cors(api, req, &m, cmd)) return;
    if (authorize(api, req, &m, &call.held)) return;
    if (!encoding_ok(req)) return;
    if (m.bad_id) {
        ab_http_error(req, 400, "invalid experiment id: must match ^[a-z0-9][a-z0-9._-]{0,63}$");
        return;
    }
    if (!m.route) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", m.allow);
        ab_http_error(req, 405, "method not allowed here; allowed: %s", m.allow);
        return;
    }
    call.id = m.id;
    m.route->handler(api, req, &call);
}
