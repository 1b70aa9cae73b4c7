/* handle_results.c — GET results and decision of one experiment. */
#include "api/handlers.h"

#include <stdlib.h>
#include <string.h>

#include "core/evaluate.h"
#include "engine/monitor.h"
#include "http/http.h"
#include "base/log.h"
#include "json/results.h"

typedef json_t *(*render_fn)(const ab_live *, const ab_evaluation *);

static void answer(ab_api *api, struct evhttp_request *req, const char *id, render_fn render)
{
    ab_live *e = ab_registry_get(api->reg, id, strlen(id));
    ab_evaluation *ev;
    ab_status st;

    if (!e) {
        ab_http_error(req, 404, "experiment \"%s\" not found", id);
        return;
    }
    if (!(ev = malloc(sizeof *ev))) {
        ab_http_error(req, 500, "out of memory");
        return;
    }
    if ((st = ab_monitor_evaluate(api->monitor, e, ev, 0)) != AB_OK) {
        free(ev);
        ab_log_ratelimited(AB_LOG_ERROR, "evaluating %s failed: %s", id, ab_strerror(st));
        ab_http_error(req, 500, "evaluating the experiment failed: %s", ab_strerror(st));
        return;
    }
    ab_http_json(req, 200, render(e, ev));
    free(ev);
}

void ab_handle_results(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    answer(api, req, call->id, ab_results_json);
}

void ab_handle_decision(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    answer(api, req, call->id, ab_decision_json);
}
