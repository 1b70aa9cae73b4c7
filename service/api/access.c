/* access.c — tokens, scopes and origins of API requests (see access.h). */
#include "api/access.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "http/auth.h"
#include "http/cors.h"
#include "http/http.h"

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

/* "?token=..." for navigator.sendBeacon, which cannot set headers.
 * Decoded into buf; *present says whether the query had one. */
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

/* "POST /v1/events and GET /v1/experiments/{id}/assign": the lines that
 * take ?token=, each by its first method, as the table has them. */
static void beacon_routes(char *buf, size_t cap)
{
    static const struct { unsigned bit; const char *name; } first[] = {
        {EVHTTP_REQ_GET, "GET"}, {EVHTTP_REQ_POST, "POST"}, {EVHTTP_REQ_PUT, "PUT"},
        {EVHTTP_REQ_DELETE, "DELETE"}};
    size_t n, shown = 0, total = 0, pos = 0;
    const ab_route *t = ab_routes(&n);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) total += (t[i].flags & AB_ROUTE_BEACON) != 0;
    for (size_t i = 0; i < n && pos < cap; i++) {
        const char *method = "?";
        int w;
        if (!(t[i].flags & AB_ROUTE_BEACON)) continue;
        for (size_t k = 0; k < sizeof first / sizeof first[0]; k++)
            if (t[i].methods & first[k].bit) {
                method = first[k].name;
                break;
            }
        shown++;
        w = snprintf(buf + pos, cap - pos, "%s%s %s",
                     shown == 1 ? "" : shown == total ? " and " : ", ", method, t[i].pattern);
        if (w < 0) break;
        pos += (size_t)w;
    }
}

/* ?token= counts on the lines flagged AB_ROUTE_BEACON only (pages:
 * sendBeacon cannot set headers, and a GET with Authorization costs a
 * preflight), and then only for its ingest scope: a token in a URL ends
 * up in browser histories and proxy logs, so a read or admin token there
 * must not work. Both bits in the scope mean either of them. */
int ab_access_token(const ab_api *api, const struct evkeyvalq *headers,
                    const struct evhttp_uri *uri, const ab_route_match *m, unsigned *held,
                    ab_refusal *r)
{
    unsigned need = m->scope;
    int either = need == (AB_SCOPE_INGEST | AB_SCOPE_READ);
    int beacon = m->route && (m->route->flags & AB_ROUTE_BEACON);
    int in_query = 0;
    char qbuf[1100];
    size_t len = 0;
    const char *tok;
    *held = api->auth->enabled ? 0 : AB_SCOPE_ALL;
    if (!api->auth->enabled || !need) return 0;
    tok = bearer(headers, &len);
    if (!tok) {
        tok = query_token(uri, qbuf, sizeof qbuf, &len, &in_query);
        if (in_query && !beacon) {
            char text[sizeof r->text], where[160];
            beacon_routes(where, sizeof where);
            snprintf(text, sizeof text, "?token= is accepted only on %s; send Authorization: "
                     "Bearer TOKEN", where);
            refusal(r, 401, "WWW-Authenticate", "Bearer realm=\"abstat\"", text);
            return -1;
        }
    }
    switch (ab_auth_check(api->auth, tok, len, either ? AB_SCOPE_INGEST : need, held)) {
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

/* No Origin (servers, curl: no page can send without one) or one
 * --cors-origin allows. A beacon or a simple POST gets no preflight, so
 * refusing here, before anything is stored, is what keeps unlisted pages
 * out; the browser's own CORS check would only hide the answer from them. */
int ab_access_origin(const ab_api *api, const char *origin, ab_refusal *r)
{
    char shown[101], text[256];
    size_t i;
    if (!origin || ab_cors_allows(api->cors_origin, origin, strlen(origin))) return 0;
    /* Origin is ASCII when a browser sends it; anything else is shown as
     * '?' so that the error stays valid JSON text. */
    for (i = 0; origin[i] && i + 1 < sizeof shown; i++)
        shown[i] = origin[i] >= 0x20 && origin[i] < 0x7f && origin[i] != '"' ? origin[i] : '?';
    shown[i] = '\0';
    if (api->cors_origin)
        snprintf(text, sizeof text, "origin \"%s\" is not allowed (--cors-origin)", shown);
    else
        snprintf(text, sizeof text, "origin \"%s\" is not allowed (--cors-origin): this daemon "
                 "lists no origins, so it takes no requests from web pages", shown);
    refusal(r, 403, NULL, NULL, text);
    return -1;
}

int ab_access_cors(const ab_api *api, struct evhttp_request *req, const ab_route_match *m,
                   enum evhttp_cmd_type cmd)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *origin = evhttp_find_header(in, "Origin");
    const char *pna = evhttp_find_header(in, "Access-Control-Request-Private-Network");
    int allowed = origin && ab_cors_allows(api->cors_origin, origin, strlen(origin));
    ab_refusal r;

    /* The headers depend on Origin: caches must keep the answers apart. */
    if (api->cors_origin) evhttp_add_header(out, "Vary", "Origin");
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
        evhttp_add_header(out, "Allow", m->allow);
        if (allowed) {
            evhttp_add_header(out, "Access-Control-Allow-Methods", m->allow);
            evhttp_add_header(out, "Access-Control-Allow-Headers", "Content-Type, Authorization");
            evhttp_add_header(out, "Access-Control-Max-Age", "86400");
            /* A listed public page may reach a daemon on a private address. */
            if (pna && !strcasecmp(pna, "true"))
                evhttp_add_header(out, "Access-Control-Allow-Private-Network", "true");
        }
        ab_http_empty(req, 204);
        return -1;
    }
    if (ab_access_origin(api, origin, &r)) {
        ab_http_error(req, r.code, "%s", r.text);
        return -1;
    }
    return 0;
}
