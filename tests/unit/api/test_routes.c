/* test_routes.c — the route table on its own: every line matches its path
 * and methods, other paths are 404 and other methods 405 with the path's
 * Allow, scopes and labels are what SPEC section 9 and the metrics say,
 * and the table is the OpenAPI document's list of operations. */
#include <jansson.h>
#include <string.h>

#include "api/routes.h"
#include "base/assets.h"
#include "engine/metrics.h"
#include "http/auth.h"
#include "test.h"

/* The pattern with "hero" for {id}. */
static void sample_path(const char *pattern, char *buf, size_t cap)
{
    const char *hole = strstr(pattern, "{id}");
    if (hole)
        snprintf(buf, cap, "%.*shero%s", (int)(hole - pattern), pattern, hole + 4);
    else
        snprintf(buf, cap, "%s", pattern);
}

static const unsigned all_methods[] = {EVHTTP_REQ_GET, EVHTTP_REQ_HEAD, EVHTTP_REQ_POST,
                                       EVHTTP_REQ_PUT, EVHTTP_REQ_DELETE, EVHTTP_REQ_OPTIONS,
                                       EVHTTP_REQ_PATCH, EVHTTP_REQ_TRACE, EVHTTP_REQ_CONNECT};
#define NMETHODS (sizeof all_methods / sizeof all_methods[0])

/* Every method of every line finds that line, its id and its scope; the
 * methods of no line of the path find none. */
static void test_every_line_matches(void)
{
    size_t n;
    const ab_route *t = ab_routes(&n);
    CHECK(n > 0);
    for (size_t i = 0; i < n; i++) {
        char path[128];
        sample_path(t[i].pattern, path, sizeof path);
        snprintf(test_context, sizeof test_context, "%s", path);
        for (size_t k = 0; k < NMETHODS; k++) {
            ab_route_match m;
            CHECK_INT(ab_route_match_path(path, (enum evhttp_cmd_type)all_methods[k], &m), 0);
            CHECK(!m.bad_id);
            CHECK(!strcmp(m.id, strstr(t[i].pattern, "{id}") ? "hero" : ""));
            if (t[i].methods & all_methods[k]) {
                CHECK(m.route == &t[i]);
                CHECK_INT(m.index, i);
                CHECK_INT(m.scope, t[i].scope);
            } else if (m.route) {
                /* another line of the same path */
                CHECK(!strcmp(m.route->pattern, t[i].pattern));
                CHECK(m.route->methods & all_methods[k]);
            } else {
                CHECK(!strcmp(t[m.index].pattern, t[i].pattern));
            }
        }
    }
    test_context[0] = '\0';
}

static void test_not_found(void)
{
    static const char *const paths[] = {"/ui/", "", "/v1", "/nope", "/v1/events/", "/v1/event",
                                        "/v1/experiments/hero/bogus",
                                        "/v1/experiments/hero/results/x", "/healthz/",
                                        "/v1/experiments/hero/history/x", "//v1/events"};
    ab_route_match m;
    size_t n;
    ab_routes(&n);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        snprintf(test_context, sizeof test_context, "%s", paths[i]);
        CHECK_INT(ab_route_match_path(paths[i], EVHTTP_REQ_GET, &m), -1);
        CHECK(m.route == NULL);
        CHECK_INT(m.index, n); /* the metrics' "other" */
    }
    test_context[0] = '\0';
    CHECK_INT(ab_route_match_path(NULL, EVHTTP_REQ_GET, &m), -1);
}

/* 405: no line, the path's Allow (OPTIONS where the preflight is
 * answered), and the path's strictest scope, so that a wrong method is
 * no way round the token check. */
static void test_not_allowed(void)
{
    static const struct { const char *path, *allow; unsigned scope; } t[] = {
        {"/v1/events", "POST, OPTIONS", AB_SCOPE_INGEST},
        {"/v1/experiments", "GET, HEAD", AB_SCOPE_READ},
        {"/v1/experiments/hero", "GET, HEAD, PUT, DELETE", AB_SCOPE_ADMIN},
        {"/v1/experiments/hero/stop", "POST", AB_SCOPE_ADMIN},
        {"/v1/experiments/hero/start", "POST", AB_SCOPE_ADMIN},
        {"/v1/experiments/hero/results", "GET, HEAD", AB_SCOPE_READ},
        {"/v1/experiments/hero/decision", "GET, HEAD", AB_SCOPE_READ},
        {"/v1/experiments/hero/assign", "GET, HEAD, OPTIONS", AB_SCOPE_INGEST | AB_SCOPE_READ},
        {"/v1/analyze", "POST", AB_SCOPE_READ},
        {"/v1/sample-size", "GET, HEAD", AB_SCOPE_READ},
        {"/healthz", "GET, HEAD", 0},
        {"/metrics", "GET, HEAD", AB_SCOPE_READ},
        {"/v1/openapi.json", "GET, HEAD", 0},
        {"/v1/abstat.js", "GET, HEAD", 0},
    };
    size_t n;
    ab_routes(&n);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ab_route_match m;
        snprintf(test_context, sizeof test_context, "PATCH %s", t[i].path);
        CHECK_INT(ab_route_match_path(t[i].path, EVHTTP_REQ_PATCH, &m), 0);
        CHECK(m.route == NULL);
        CHECK(!strcmp(m.allow, t[i].allow));
        CHECK_INT(m.scope, t[i].scope);
        CHECK(m.index < n);
    }
    test_context[0] = '\0';
}

/* What each operation needs (SPEC section 9), written out rather than
 * read off the table: a changed scope must be a decision. */
static void test_scopes(void)
{
    static const struct { enum evhttp_cmd_type cmd; const char *path; unsigned scope, flags; } t[] = {
        {EVHTTP_REQ_POST, "/v1/events", AB_SCOPE_INGEST, AB_ROUTE_CORS | AB_ROUTE_BEACON},
        {EVHTTP_REQ_GET, "/v1/experiments", AB_SCOPE_READ, 0},
        {EVHTTP_REQ_HEAD, "/v1/experiments/hero", AB_SCOPE_READ, 0},
        {EVHTTP_REQ_PUT, "/v1/experiments/hero", AB_SCOPE_ADMIN, 0},
        {EVHTTP_REQ_DELETE, "/v1/experiments/hero", AB_SCOPE_ADMIN, 0},
        {EVHTTP_REQ_POST, "/v1/experiments/hero/stop", AB_SCOPE_ADMIN, 0},
        {EVHTTP_REQ_GET, "/v1/experiments/hero/results", AB_SCOPE_READ, 0},
        {EVHTTP_REQ_GET, "/v1/experiments/hero/assign", AB_SCOPE_INGEST | AB_SCOPE_READ,
         AB_ROUTE_CORS | AB_ROUTE_BEACON},
        {EVHTTP_REQ_GET, "/healthz", 0, 0},
        {EVHTTP_REQ_GET, "/metrics", AB_SCOPE_READ, 0},
        {EVHTTP_REQ_GET, "/v1/abstat.js", 0, 0},
        /* The dashboard's page and files are open: the page asks for a token. */
        {EVHTTP_REQ_GET, "/", 0, 0},
        {EVHTTP_REQ_HEAD, "/ui/dashboard.js", 0, 0},
        {EVHTTP_REQ_GET, "/ui/dashboard.css", 0, 0},
        {EVHTTP_REQ_GET, "/ui/chart.min.js", 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ab_route_match m;
        snprintf(test_context, sizeof test_context, "%s", t[i].path);
        CHECK_INT(ab_route_match_path(t[i].path, t[i].cmd, &m), 0);
        CHECK(m.route != NULL);
        CHECK_INT(m.scope, t[i].scope);
        CHECK_INT(m.flags, t[i].flags);
    }
    test_context[0] = '\0';
}

static void test_ids(void)
{
    ab_route_match m;
    char longid[80];
    memset(longid, 'a', 65);
    longid[65] = '\0';
    static const char *const bad[] = {"/v1/experiments/Bad_ID", "/v1/experiments/",
                                      "/v1/experiments/..", "/v1/experiments//results",
                                      "/v1/experiments/-x/assign"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(test_context, sizeof test_context, "%s", bad[i]);
        CHECK_INT(ab_route_match_path(bad[i], EVHTTP_REQ_GET, &m), 0);
        CHECK(m.bad_id);
        CHECK(!strcmp(m.id, ""));
    }
    {
        char path[128];
        snprintf(path, sizeof path, "/v1/experiments/%s", longid);
        CHECK_INT(ab_route_match_path(path, EVHTTP_REQ_GET, &m), 0);
        CHECK(m.bad_id);
        longid[64] = '\0'; /* 64 characters: the longest id */
        snprintf(path, sizeof path, "/v1/experiments/%s/results", longid);
        CHECK_INT(ab_route_match_path(path, EVHTTP_REQ_GET, &m), 0);
        CHECK(!m.bad_id);
        CHECK(!strcmp(m.id, longid));
    }
    test_context[0] = '\0';
    CHECK_INT(ab_route_match_path("/v1/experiments/a.b-c_9/stop", EVHTTP_REQ_POST, &m), 0);
    CHECK(!m.bad_id && !strcmp(m.id, "a.b-c_9"));
}

/* The lines of a path are together and agree on label and flags; two
 * paths never share a label; the labels fit the metrics and end with
 * "other". */
static void test_labels(void)
{
    size_t n, nl;
    const ab_route *t = ab_routes(&n);
    const char *labels[AB_METRICS_ROUTES];
    nl = ab_route_labels(labels, AB_METRICS_ROUTES);
    CHECK_INT(nl, n + 1);
    CHECK(nl <= AB_METRICS_ROUTES);
    CHECK(nl && !strcmp(labels[nl - 1], "other"));
    CHECK_INT(ab_route_labels(labels, n), 0);
    for (size_t i = 0; i < n; i++) {
        snprintf(test_context, sizeof test_context, "%s", t[i].pattern);
        CHECK(t[i].handler != NULL && t[i].methods != 0);
        for (size_t j = i + 1; j < n; j++) {
            int same_path = !strcmp(t[i].pattern, t[j].pattern);
            CHECK(same_path == !strcmp(t[i].label, t[j].label));
            if (same_path) {
                CHECK(t[i].flags == t[j].flags);
                CHECK_INT(t[i].methods & t[j].methods, 0);
                for (size_t k = i + 1; k < j; k++) CHECK(!strcmp(t[k].pattern, t[i].pattern));
            }
        }
    }
    test_context[0] = '\0';
}

/* The document's paths and methods are the table's (OPTIONS where the
 * route takes browser requests), and the other way round. */
static void test_openapi_agrees(void)
{
    const ab_asset *a = ab_asset_find("openapi.json");
    json_error_t jerr;
    json_t *doc = a ? json_loadb((const char *)a->data, a->len, 0, &jerr) : NULL, *paths;
    static const struct { const char *name; unsigned bit; } names[] = {
        {"get", EVHTTP_REQ_GET}, {"head", EVHTTP_REQ_HEAD}, {"post", EVHTTP_REQ_POST},
        {"put", EVHTTP_REQ_PUT}, {"delete", EVHTTP_REQ_DELETE},
        {"options", EVHTTP_REQ_OPTIONS}, {"patch", EVHTTP_REQ_PATCH}};
    size_t n, seen = 0;
    const ab_route *t = ab_routes(&n);
    const char *tmpl;
    json_t *item;

    CHECK(doc != NULL);
    paths = json_object_get(doc, "paths");
    CHECK(json_is_object(paths));
    json_object_foreach(paths, tmpl, item) {
        unsigned doc_methods = 0, table_methods = 0, flags = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (json_object_get(item, names[k].name)) doc_methods |= names[k].bit;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(t[i].pattern, tmpl)) {
                table_methods |= t[i].methods;
                flags = t[i].flags;
                seen++;
            }
        if (flags & AB_ROUTE_CORS) table_methods |= EVHTTP_REQ_OPTIONS;
        snprintf(test_context, sizeof test_context, "%s", tmpl);
        CHECK_INT(doc_methods, table_methods);
    }
    test_context[0] = '\0';
    CHECK_INT(seen, n); /* every line's path is in the document */
    json_decref(doc);
}

int main(void)
{
    test_every_line_matches();
    test_not_found();
    test_not_allowed();
    test_scopes();
    test_ids();
    test_labels();
    test_openapi_agrees();
    return TEST_DONE("test_routes");
}
