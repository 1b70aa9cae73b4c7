/* routes.c — the route table and matching a request's path against it. */
#include "api/routes.h"

#include <string.h>

#include "api/handlers.h"
#include "http/auth.h"

#define INGEST AB_SCOPE_INGEST
#define READ AB_SCOPE_READ
#define ADMIN AB_SCOPE_ADMIN
#define CORS AB_ROUTE_CORS
#define BEACON AB_ROUTE_BEACON

/* Assignment takes ingest or read tokens: pages hold ingest-only tokens,
 * servers read tokens. The health check, the contract and the snippet
 * are open: load balancers probe without secrets and pages load the
 * script; so are the dashboard's files, whose page asks for a token. */
static const ab_route table[] = {
    /* methods  path                             scope        flags        label          handler */
    {AB_POST,   "/v1/events",                    INGEST,      CORS|BEACON, "events",      ab_handle_events},
    {AB_GET,    "/v1/experiments",               READ,        0,           "experiments", ab_handle_experiment_list},
    {AB_GET,    "/v1/experiments/{id}",          READ,        0,           "experiment",  ab_handle_experiment_get},
    {AB_PUT,    "/v1/experiments/{id}",          ADMIN,       0,           "experiment",  ab_handle_experiment_put},
    {AB_DELETE, "/v1/experiments/{id}",          ADMIN,       0,           "experiment",  ab_handle_experiment_delete},
    {AB_POST,   "/v1/experiments/{id}/stop",     ADMIN,       0,           "stop",        ab_handle_experiment_stop},
    {AB_POST,   "/v1/experiments/{id}/start",    ADMIN,       0,           "start",       ab_handle_experiment_start},
    {AB_GET,    "/v1/experiments/{id}/results",  READ,        0,           "results",     ab_handle_results},
    {AB_GET,    "/v1/experiments/{id}/decision", READ,        0,           "decision",    ab_handle_decision},
    {AB_GET,    "/v1/experiments/{id}/history",  READ,        0,           "history",     ab_handle_history},
    {AB_GET,    "/v1/experiments/{id}/assign",   INGEST|READ, CORS|BEACON, "assign",      ab_handle_assign},
    {AB_POST,   "/v1/analyze",                   READ,        0,           "analyze",     ab_handle_analyze},
    {AB_GET,    "/v1/sample-size",               READ,        0,           "sample_size", ab_handle_sample_size},
    {AB_GET,    "/healthz",                      0,           0,           "healthz",     ab_handle_healthz},
    {AB_GET,    "/metrics",                      READ,        0,           "metrics",     ab_handle_metrics},
    {AB_GET,    "/v1/openapi.json",              0,           0,           "openapi",     ab_handle_openapi},
    {AB_GET,    "/v1/abstat.js",                 0,           0,           "script",      ab_handle_script},
    {AB_GET,    "/",                             0,           0,           "dashboard",   ab_handle_dashboard},
    {AB_GET,    "/ui/dashboard.js",              0,           0,           "ui_script",   ab_handle_dashboard_js},
    {AB_GET,    "/ui/dashboard.experiment.js",   0,           0,           "ui_page",     ab_handle_dashboard_page},
    {AB_GET,    "/ui/dashboard.css",             0,           0,           "ui_style",    ab_handle_dashboard_css},
    {AB_GET,    "/ui/chart.min.js",              0,           0,           "ui_chartjs",  ab_handle_chartjs},
};
#define NROUTES (sizeof table / sizeof table[0])

const ab_route *ab_routes(size_t *n)
{
    *n = NROUTES;
    return table;
}

size_t ab_route_labels(const char **labels, size_t cap)
{
    if (cap < NROUTES + 1) return 0;
    for (size_t i = 0; i < NROUTES; i++) labels[i] = table[i].label;
    labels[NROUTES] = "other";
    return NROUTES + 1;
}

/* Whether path fits pattern; the segment in place of "{id}" goes to
 * *id, *id_len (any text without '/', even empty: its validity is the
 * handler's 400, not a 404). */
static int fits(const char *pattern, const char *path, const char **id, size_t *id_len)
{
    static const char hole[] = "{id}";
    while (*pattern) {
        if (!strncmp(pattern, hole, sizeof hole - 1)) {
            size_t n = strcspn(path, "/");
            *id = path;
            *id_len = n;
            path += n;
            pattern += sizeof hole - 1;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *path == '\0';
}

/* "GET, HEAD, POST" from EVHTTP_REQ_* bits, in a fixed order (without
 * printf: this runs for every request). */
static void allow_text(unsigned methods, char *buf, size_t cap)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {EVHTTP_REQ_GET, "GET"}, {EVHTTP_REQ_HEAD, "HEAD"}, {EVHTTP_REQ_POST, "POST"},
        {EVHTTP_REQ_PUT, "PUT"}, {EVHTTP_REQ_DELETE, "DELETE"},
        {EVHTTP_REQ_OPTIONS, "OPTIONS"}};
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i].name), sep = pos ? 2 : 0;
        if (!(methods & names[i].bit)) continue;
        if (pos + sep + n >= cap) return;
        memcpy(buf + pos, ", ", sep);
        memcpy(buf + pos + sep, names[i].name, n + 1);
        pos += sep + n;
    }
}

int ab_route_match_path(const char *path, enum evhttp_cmd_type cmd, ab_route_match *m)
{
    const char *id = NULL;
    size_t id_len = 0, first = NROUTES, i;
    unsigned methods = 0, scopes = 0;

    memset(m, 0, sizeof *m);
    m->index = NROUTES;
    if (!path) return -1;
    for (i = 0; i < NROUTES && first == NROUTES; i++)
        if (fits(table[i].pattern, path, &id, &id_len)) first = i;
    if (first == NROUTES) return -1;
    /* The lines of this path: they follow each other in the table. */
    for (i = first; i < NROUTES && !strcmp(table[i].pattern, table[first].pattern); i++) {
        methods |= table[i].methods;
        scopes |= table[i].scope;
        if (!m->route && (table[i].methods & (unsigned)cmd)) m->route = &table[i];
    }
    m->flags = table[first].flags;
    if (m->flags & AB_ROUTE_CORS) methods |= EVHTTP_REQ_OPTIONS;
    allow_text(methods, m->allow, sizeof m->allow);
    m->index = m->route ? (size_t)(m->route - table) : first;
    /* A method the path does not serve asks as much as its strictest
     * line, so that a 405 is not a way round the token check. */
    m->scope = m->route ? m->route->scope : (scopes & AB_SCOPE_ADMIN) ? AB_SCOPE_ADMIN : scopes;
    if (id) {
        if (!ab_experiment_id_valid(id, id_len)) {
            m->bad_id = 1;
        } else {
            memcpy(m->id, id, id_len);
            m->id[id_len] = '\0';
        }
    }
    return 0;
}
