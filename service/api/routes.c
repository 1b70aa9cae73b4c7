/* routes.c — dispatch by method and path; 404 and 405 for the rest. */
#include "api/routes.h"

#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <sys/queue.h>
#include <string.h>
#include <strings.h>

#include "http/auth.h"
#include "http/cors.h"
#include "core/experiment.h"
#include "http/guard.h"
#include "api/handlers.h"
#include "http/http.h"

typedef struct {
    ab_route route;
    char id[AB_ID_MAX + 1]; /* for the per-experiment routes */
    int bad_id;
} route_match;

/* Splits "/v1/experiments/{id}[/action]" and recognises the fixed paths. */
static int match(const char *path, route_match *m)
{
    static const char prefix[] = "/v1/experiments/";
    memset(m, 0, sizeof *m);
    m->route = AB_ROUTE_OTHER;
    if (!path) return -1;
    if (!strcmp(path, "/v1/events")) return m->route = AB_ROUTE_EVENTS, 0;
    if (!strcmp(path, "/v1/experiments")) return m->route = AB_ROUTE_EXPERIMENTS, 0;
    if (!strcmp(path, "/v1/analyze")) return m->route = AB_ROUTE_ANALYZE, 0;
    if (!strcmp(path, "/v1/sample-size")) return m->route = AB_ROUTE_SAMPLE_SIZE, 0;
    if (!strcmp(path, "/healthz")) return m->route = AB_ROUTE_HEALTHZ, 0;
    if (!strcmp(path, "/metrics")) return m->route = AB_ROUTE_METRICS, 0;
    if (!strcmp(path, "/v1/openapi.json")) return m->route = AB_ROUTE_OPENAPI, 0;
    if (!strcmp(path, "/v1/abstat.js")) return m->route = AB_ROUTE_SCRIPT, 0;
    if (strncmp(path, prefix, sizeof prefix - 1)) return -1;

    const char *id = path + sizeof prefix - 1, *slash = strchr(id, '/');
    size_t len = slash ? (size_t)(slash - id) : strlen(id);
    const char *action = slash ? slash + 1 : NULL;
    if (!action) m->route = AB_ROUTE_EXPERIMENT;
    else if (!strcmp(action, "results")) m->route = AB_ROUTE_RESULTS;
    else if (!strcmp(action, "decision")) m->route = AB_ROUTE_DECISION;
    else if (!strcmp(action, "stop")) m->route = AB_ROUTE_STOP;
    else if (!strcmp(action, "start")) m->route = AB_ROUTE_START;
    else if (!strcmp(action, "assign")) m->route = AB_ROUTE_ASSIGN;
    else return m->route = AB_ROUTE_OTHER, -1;
    if (!ab_experiment_id_valid(id, len)) {
        m->bad_id = 1;
        return 0;
    }
    memcpy(m->id, id, len);
    m->id[len] = '\0';
    return 0;
}

static const char *request_path(struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    /* CONNECT's target is parsed as an authority, leaving no path: use the
     * target as sent, so the route is found and gets its 405. */
    if ((!path || !*path) && evhttp_request_get_command(req) == EVHTTP_REQ_CONNECT)
        path = evhttp_request_get_uri(req);
    return path;
}

ab_route ab_route_of(struct evhttp_request *req)
{
    route_match m;
    match(request_path(req), &m);
    return m.route;
}

static void not_allowed(struct evhttp_request *req, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    ab_http_error(req, 405, "method not allowed here; allowed: %s", allow);
}

/* The scope a request needs (SPEC section 9); 0 when it is open. Both
 * bits for assignment mean either of them (check_token): pages hold
 * ingest-only tokens, servers read tokens. */
static unsigned scope_needed(ab_route route, enum evhttp_cmd_type cmd)
{
    switch (route) {
    case AB_ROUTE_EVENTS: return AB_SCOPE_INGEST;
    case AB_ROUTE_ASSIGN: return AB_SCOPE_INGEST | AB_SCOPE_READ;
    case AB_ROUTE_EXPERIMENT:
        return cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD ? AB_SCOPE_READ : AB_SCOPE_ADMIN;
    case AB_ROUTE_STOP:
    case AB_ROUTE_START: return AB_SCOPE_ADMIN;
    case AB_ROUTE_HEALTHZ: return 0; /* load balancers probe without secrets */
    case AB_ROUTE_OPENAPI:
    case AB_ROUTE_SCRIPT: return 0; /* public documents: pages load the script */
    default: return AB_SCOPE_READ;
    }
}

/* "Authorization: Bearer TOKEN"; the scheme is case-insensitive. */
static const char *bearer(const struct evkeyvalq *headers, size_t *len)
{
    const char *h = evhttp_find_header(headers, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) return NULL;
    h += 7;
    while (*h == ' ') h++;
    *len = strcspn(h, " \t");
    return *len ? h : NULL;
}

/* "?token=..." on ingest, for navigator.sendBeacon, which cannot set
 * headers. Decoded into buf; *present says whether the query had one. */
static const char *query_token(const struct evhttp_uri *uri, char *buf, size_t cap, size_t *len,
                               int *present)
{
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq params;
    const char *v;
    *present = 0;
    if (!q) return NULL;
    TAILQ_INIT(&params);
    if (evhttp_parse_query_str(q, &params) != 0) {
        evhttp_clear_headers(&params);
        return NULL;
    }
    v = evhttp_find_header(&params, "token");
    *present = v != NULL;
    *len = v ? strlen(v) : 0;
    if (v && *len < cap) memcpy(buf, v, *len + 1);
    evhttp_clear_headers(&params);
    return v && *len < cap ? buf : NULL;
}

static void refusal(ab_refusal *r, int code, const char *hname, const char *hvalue,
                    const char *text)
{
    r->code = code;
    snprintf(r->text, sizeof r->text, "%s", text);
    snprintf(r->hname, sizeof r->hname, "%s", hname ? hname : "");
    snprintf(r->hvalue, sizeof r->hvalue, "%s", hvalue ? hvalue : "");
}

/* The token check of a request from its headers and target alone (so that
 * guard.c can make it before a body is read): 0 with *held the scopes it
 * holds (all of them on a daemon without tokens, none on an open route),
 * or -1 with *r the answer. ?token= is taken on POST /v1/events and GET
 * .../assign only (pages: sendBeacon cannot set headers, and a GET with
 * Authorization costs a preflight), and then only for its ingest scope: a
 * token in a URL ends up in browser histories and proxy logs, so a read or
 * admin token there must not work. */
static int check_token(ab_daemon *d, const struct evkeyvalq *headers, const struct evhttp_uri *uri,
                       ab_route route, enum evhttp_cmd_type cmd, unsigned *held, ab_refusal *r)
{
    unsigned need = scope_needed(route, cmd);
    int either = route == AB_ROUTE_ASSIGN; /* ingest or read will do */
    int beacon = (route == AB_ROUTE_EVENTS && cmd == EVHTTP_REQ_POST) ||
                 (either && (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD));
    int in_query = 0;
    char qbuf[1100];
    size_t len = 0;
    const char *tok;
    *held = d->auth.enabled ? 0 : AB_SCOPE_ALL;
    if (!d->auth.enabled || !need) return 0;
    tok = bearer(headers, &len);
    if (!tok) {
        tok = query_token(uri, qbuf, sizeof qbuf, &len, &in_query);
        if (in_query && !beacon) {
            refusal(r, 401, "WWW-Authenticate", "Bearer realm=\"abstat\"",
                    "?token= is accepted only on POST /v1/events and GET "
                    "/v1/experiments/{id}/assign; send Authorization: Bearer TOKEN");
            return -1;
        }
    }
    switch (ab_auth_check(&d->auth, tok, len, either ? AB_SCOPE_INGEST : need, held)) {
    case AB_AUTH_OK:
        if (in_query) *held &= AB_SCOPE_INGEST;
        return 0;
    case AB_AUTH_MISSING:
        refusal(r, 401, "WWW-Authenticate", "Bearer realm=\"abstat\"",
                beacon ? "authentication required: send Authorization: Bearer TOKEN or ?token=TOKEN"
                       : "authentication required: send Authorization: Bearer TOKEN");
        return -1;
    case AB_AUTH_INVALID:
        refusal(r, 401, "WWW-Authenticate", "Bearer realm=\"abstat\", error=\"invalid_token\"",
                "invalid token");
        return -1;
    case AB_AUTH_FORBIDDEN:
        if (either && !in_query && (*held & AB_SCOPE_READ)) return 0;
        refusal(r, 403, NULL, NULL,
                either && in_query ? "?token= counts only for the ingest scope: send a read "
                                     "token as Authorization: Bearer TOKEN"
                : either ? "this token may not ask for assignments (ingest or read scope needed)"
                : need == AB_SCOPE_INGEST ? "this token may not ingest events"
                : need == AB_SCOPE_ADMIN ? "this token may not change experiments (admin scope needed)"
                                         : "this token may not read results");
        return -1;
    }
    refusal(r, 401, NULL, NULL, "invalid token");
    return -1;
}

/* 0 when the request may proceed, with *held its scopes; otherwise it has
 * been answered. */
static int authorize(ab_daemon *d, struct evhttp_request *req, ab_route route,
                     enum evhttp_cmd_type cmd, unsigned *held)
{
    ab_refusal r;
    if (check_token(d, evhttp_request_get_input_headers(req), evhttp_request_get_evhttp_uri(req),
                    route, cmd, held, &r) == 0)
        return 0;
    if (r.hname[0]) evhttp_add_header(evhttp_request_get_output_headers(req), r.hname, r.hvalue);
    ab_http_error(req, r.code, "%s", r.text);
    return -1;
}

/* The routes browsers call, where --cors-origin applies. */
static int cors_route(ab_route route)
{
    return route == AB_ROUTE_EVENTS || route == AB_ROUTE_ASSIGN;
}

/* 0 when a request with this Origin header may go on: none (servers, curl:
 * no page can send without one), or one --cors-origin allows. Otherwise -1
 * with *r the 403. A beacon or a simple POST gets no preflight, so refusing
 * here, before anything is stored, is what keeps unlisted pages out; the
 * browser's own CORS check would only hide the answer from them. */
static int origin_admitted(const ab_daemon *d, const char *origin, ab_refusal *r)
{
    char shown[101], text[256];
    size_t i;
    if (!origin || ab_cors_allows(d->opt.cors_origin, origin, strlen(origin))) return 0;
    /* Origin is ASCII when a browser sends it; anything else is shown as
     * '?' so that the error stays valid JSON text. */
    for (i = 0; origin[i] && i + 1 < sizeof shown; i++)
        shown[i] = origin[i] >= 0x20 && origin[i] < 0x7f && origin[i] != '"' ? origin[i] : '?';
    shown[i] = '\0';
    if (d->opt.cors_origin)
        snprintf(text, sizeof text, "origin \"%s\" is not allowed (--cors-origin)", shown);
    else
        snprintf(text, sizeof text, "origin \"%s\" is not allowed (--cors-origin): this daemon "
                 "lists no origins, so it takes no requests from web pages", shown);
    refusal(r, 403, NULL, NULL, text);
    return -1;
}

int ab_route_admit(void *arg, const ab_guard_head *h, ab_refusal *r)
{
    ab_daemon *d = arg;
    route_match m;
    unsigned held;
    const char *path = h->uri ? evhttp_uri_get_path(h->uri) : NULL;
    if ((!path || !*path) && h->cmd == EVHTTP_REQ_CONNECT) path = h->target;
    if (match(path, &m) != 0) {
        refusal(r, 404, NULL, NULL, "no such resource");
        return -1;
    }
    if (cors_route(m.route)) {
        if (h->cmd == EVHTTP_REQ_OPTIONS) return 0; /* CORS preflight */
        if (origin_admitted(d, evhttp_find_header(h->headers, "Origin"), r)) return -1;
    }
    return check_token(d, h->headers, h->uri, m.route, h->cmd, &held, r);
}

/* CORS on the routes browsers call: the response headers for a listed
 * origin, the preflight's answer, and the 403 for an unlisted one. 0 when
 * the request goes on; -1 when it has been answered. */
static int cors(ab_daemon *d, struct evhttp_request *req, ab_route route, enum evhttp_cmd_type cmd)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *origin = evhttp_find_header(in, "Origin");
    const char *methods = route == AB_ROUTE_EVENTS ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
    const char *pna = evhttp_find_header(in, "Access-Control-Request-Private-Network");
    int allowed = origin && ab_cors_allows(d->opt.cors_origin, origin, strlen(origin));
    ab_refusal r;

    /* The headers depend on Origin: caches must keep the answers apart. */
    if (d->opt.cors_origin) evhttp_add_header(out, "Vary", "Origin");
    if (allowed) {
        /* The origin itself even under "*": browsers refuse "*" for
         * credentialed requests, and sendBeacon always is one (a JSON Blob
         * is preflighted with credentials), as is fetch with credentials:
         * 'include'. abstat reads no cookies: the token authorises. */
        evhttp_add_header(out, "Access-Control-Allow-Origin", origin);
        evhttp_add_header(out, "Access-Control-Allow-Credentials", "true");
    }
    if (cmd == EVHTTP_REQ_OPTIONS) {
        /* An unlisted origin's preflight gets no CORS headers: the browser
         * then sends nothing. */
        evhttp_add_header(out, "Allow", methods);
        if (allowed) {
            evhttp_add_header(out, "Access-Control-Allow-Methods", methods);
            evhttp_add_header(out, "Access-Control-Allow-Headers", "Content-Type, Authorization");
            evhttp_add_header(out, "Access-Control-Max-Age", "86400");
            /* A listed public page may reach a daemon on a private address. */
            if (pna && !strcasecmp(pna, "true"))
                evhttp_add_header(out, "Access-Control-Allow-Private-Network", "true");
        }
        ab_http_empty(req, 204);
        return -1;
    }
    if (origin_admitted(d, origin, &r)) {
        ab_http_error(req, r.code, "%s", r.text);
        return -1;
    }
    return 0;
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

void ab_route_request(struct evhttp_request *req, void *arg)
{
    ab_daemon *d = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    unsigned held;
    route_match m;
    int get;

    if (ab_guard_request(req)) return; /* refused at its head (guard.c) */
    /* HTTP/1.1 requires Host (RFC 9112, 3.2). */
    if (req->major == 1 && req->minor >= 1 &&
        !evhttp_find_header(evhttp_request_get_input_headers(req), "Host")) {
        ab_http_error(req, 400, "missing Host header");
        return;
    }
    if (match(request_path(req), &m) != 0) {
        ab_http_error(req, 404, "no such resource");
        return;
    }
    /* Stopping: this request began before the signal (guard.c answers
     * later ones 503), so it is served; its connection closes after. */
    if (d->shutting_down)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    if (cors_route(m.route) && cors(d, req, m.route, cmd)) return;
    if (authorize(d, req, m.route, cmd, &held)) return;
    if (!encoding_ok(req)) return;
    /* HEAD is answered as GET without the body (http.c keeps its
     * Content-Length); evhttp would send the body. */
    get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
    if (m.bad_id) {
        ab_http_error(req, 400, "invalid experiment id: must match ^[a-z0-9][a-z0-9._-]{0,63}$");
        return;
    }
    switch (m.route) {
    case AB_ROUTE_EVENTS:
        if (cmd == EVHTTP_REQ_POST) ab_handle_events(d, req, held);
        else not_allowed(req, "POST");
        return;
    case AB_ROUTE_EXPERIMENTS:
        if (get) ab_handle_experiment_list(d, req, held);
        else not_allowed(req, "GET, HEAD");
        return;
    case AB_ROUTE_EXPERIMENT:
        if (cmd == EVHTTP_REQ_PUT) ab_handle_experiment_put(d, req, m.id);
        else if (get) ab_handle_experiment_get(d, req, m.id, held);
        else if (cmd == EVHTTP_REQ_DELETE) ab_handle_experiment_delete(d, req, m.id);
        else not_allowed(req, "GET, HEAD, PUT, DELETE");
        return;
    case AB_ROUTE_STOP:
        if (cmd == EVHTTP_REQ_POST) ab_handle_experiment_stop(d, req, m.id);
        else not_allowed(req, "POST");
        return;
    case AB_ROUTE_START:
        if (cmd == EVHTTP_REQ_POST) ab_handle_experiment_start(d, req, m.id);
        else not_allowed(req, "POST");
        return;
    case AB_ROUTE_ASSIGN:
        if (get) ab_handle_assign(d, req, m.id, held);
        else not_allowed(req, "GET, HEAD");
        return;
    case AB_ROUTE_OPENAPI:
        if (get) ab_handle_asset(d, req, "openapi.json");
        else not_allowed(req, "GET, HEAD");
        return;
    case AB_ROUTE_SCRIPT:
        if (get) ab_handle_asset(d, req, "abstat.js");
        else not_allowed(req, "GET, HEAD");
        return;
    case AB_ROUTE_RESULTS:
        if (get) ab_handle_results(d, req, m.id);
        else not_allowed(req, "GET, HEAD");
        return;
    case AB_ROUTE_DECISION:
        if (get) ab_handle_decision(d, req, m.id);
        else not_allowed(req, "GET, HEAD");
        return;
    case AB_ROUTE_ANALYZE:
        if (cmd == EVHTTP_REQ_POST) ab_handle_analyze(d, req);
        else not_allowed(req, "POST");
        return;
    case AB_ROUTE_SAMPLE_SIZE:
        if (get) ab_handle_sample_size(d, req);
        else not_allowed(req, "GET, HEAD");
        return;
    case AB_ROUTE_HEALTHZ:
        if (get) ab_handle_healthz(d, req);
        else not_allowed(req, "GET, HEAD");
        return;
    case AB_ROUTE_METRICS:
        if (get) ab_handle_metrics(d, req);
        else not_allowed(req, "GET, HEAD");
        return;
    default:
        ab_http_error(req, 404, "no such resource");
        return;
    }
}
