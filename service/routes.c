/* routes.c — dispatch by method and path; 404 and 405 for the rest. */
#include "routes.h"

#include <string.h>

#include "experiment.h"
#include "handlers.h"
#include "http.h"

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
    if (strncmp(path, prefix, sizeof prefix - 1)) return -1;

    const char *id = path + sizeof prefix - 1, *slash = strchr(id, '/');
    size_t len = slash ? (size_t)(slash - id) : strlen(id);
    const char *action = slash ? slash + 1 : NULL;
    if (!action) m->route = AB_ROUTE_EXPERIMENT;
    else if (!strcmp(action, "results")) m->route = AB_ROUTE_RESULTS;
    else if (!strcmp(action, "decision")) m->route = AB_ROUTE_DECISION;
    else if (!strcmp(action, "stop")) m->route = AB_ROUTE_STOP;
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
    return uri ? evhttp_uri_get_path(uri) : NULL;
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

void ab_route_request(struct evhttp_request *req, void *arg)
{
    ab_daemon *d = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    route_match m;

    if (match(request_path(req), &m) != 0) {
        ab_http_error(req, 404, "no such resource");
        return;
    }
    if (d->shutting_down) {
        ab_http_error(req, 503, "shutting down");
        return;
    }
    if (m.bad_id) {
        ab_http_error(req, 400, "invalid experiment id: must match ^[a-z0-9][a-z0-9._-]{0,63}$");
        return;
    }
    switch (m.route) {
    case AB_ROUTE_EVENTS:
        if (cmd == EVHTTP_REQ_POST) ab_handle_events(d, req);
        else not_allowed(req, "POST");
        return;
    case AB_ROUTE_EXPERIMENTS:
        if (cmd == EVHTTP_REQ_GET) ab_handle_experiment_list(d, req);
        else not_allowed(req, "GET");
        return;
    case AB_ROUTE_EXPERIMENT:
        if (cmd == EVHTTP_REQ_PUT) ab_handle_experiment_put(d, req, m.id);
        else if (cmd == EVHTTP_REQ_GET) ab_handle_experiment_get(d, req, m.id);
        else if (cmd == EVHTTP_REQ_DELETE) ab_handle_experiment_delete(d, req, m.id);
        else not_allowed(req, "GET, PUT, DELETE");
        return;
    case AB_ROUTE_STOP:
        if (cmd == EVHTTP_REQ_POST) ab_handle_experiment_stop(d, req, m.id);
        else not_allowed(req, "POST");
        return;
    case AB_ROUTE_RESULTS:
        if (cmd == EVHTTP_REQ_GET) ab_handle_results(d, req, m.id);
        else not_allowed(req, "GET");
        return;
    case AB_ROUTE_DECISION:
        if (cmd == EVHTTP_REQ_GET) ab_handle_decision(d, req, m.id);
        else not_allowed(req, "GET");
        return;
    case AB_ROUTE_ANALYZE:
        if (cmd == EVHTTP_REQ_POST) ab_handle_analyze(d, req);
        else not_allowed(req, "POST");
        return;
    case AB_ROUTE_SAMPLE_SIZE:
        if (cmd == EVHTTP_REQ_GET) ab_handle_sample_size(d, req);
        else not_allowed(req, "GET");
        return;
    case AB_ROUTE_HEALTHZ:
        if (cmd == EVHTTP_REQ_GET) ab_handle_healthz(d, req);
        else not_allowed(req, "GET");
        return;
    case AB_ROUTE_METRICS:
        if (cmd == EVHTTP_REQ_GET) ab_handle_metrics(d, req);
        else not_allowed(req, "GET");
        return;
    default:
        ab_http_error(req, 404, "no such resource");
        return;
    }
}
