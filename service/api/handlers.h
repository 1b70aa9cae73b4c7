/* handlers.h — one handler per operation, each named by a line of the
 * route table (routes.c); each ends in exactly one reply (ingest's comes
 * after its commit). */
#ifndef ABSTAT_HANDLERS_H
#define ABSTAT_HANDLERS_H

#include <event2/http.h>
#include <stddef.h>

#include "api/api.h"
#include "api/routes.h"

/* handle_events.c: POST /v1/events; call->held decides how old its
 * events may be. */
void ab_handle_events(ab_api *api, struct evhttp_request *req, const ab_call *call);
/* Parses body into p->batch (any thread, under the registry read lock when
 * not on the loop) against window; 0 when every event is valid. */
int ab_handle_events_parse(ab_api *api, ab_pending *p, const char *body, size_t len,
                           const ab_ts_window *window, ab_error *err);
/* On the loop: submits p to the group commit, or answers its errors. */
void ab_handle_events_finish(ab_api *api, ab_pending *p, int rc, const ab_error *err);
/* Ingest's completion of an events request (arg: the ab_api): 202 with
 * what was counted, or the refusal. ab_handle_events_refused answers a
 * request that was not counted (o->kind != AB_INGEST_COUNTED). */
void ab_handle_events_done(void *arg, ab_pending *p, const ab_ingest_outcome *o);
void ab_handle_events_refused(ab_api *api, ab_pending *p, const ab_ingest_outcome *o);

/* handle_experiments.c. list and get: a token without AB_SCOPE_ADMIN sees
 * each webhook with its query values as "***" (they often hold secrets). */
void ab_handle_experiment_list(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_experiment_put(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_experiment_get(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_experiment_delete(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_experiment_stop(ab_api *api, struct evhttp_request *req, const ab_call *call);
/* POST /v1/experiments/{id}/start: a stopped experiment takes events again. */
void ab_handle_experiment_start(ab_api *api, struct evhttp_request *req, const ab_call *call);
/* handle_assign.c: GET /v1/experiments/{id}/assign?user=U[&expose=1]. */
void ab_handle_assign(ab_api *api, struct evhttp_request *req, const ab_call *call);
/* handle_asset.c: files embedded from service/assets/. */
void ab_handle_openapi(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_script(ab_api *api, struct evhttp_request *req, const ab_call *call);
/* Also handle_asset.c: GET / (the dashboard page), its two scripts, its style
 * and Chart.js; open, like the snippet: the page asks for a token itself. */
void ab_handle_dashboard(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_dashboard_js(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_dashboard_page(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_dashboard_css(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_chartjs(ab_api *api, struct evhttp_request *req, const ab_call *call);
/* handle_results.c */
void ab_handle_results(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_decision(ab_api *api, struct evhttp_request *req, const ab_call *call);
/* handle_history.c: GET /v1/experiments/{id}/history */
void ab_handle_history(ab_api *api, struct evhttp_request *req, const ab_call *call);
/* handle_calc.c */
void ab_handle_analyze(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_sample_size(ab_api *api, struct evhttp_request *req, const ab_call *call);
/* handle_ops.c */
void ab_handle_healthz(ab_api *api, struct evhttp_request *req, const ab_call *call);
void ab_handle_metrics(ab_api *api, struct evhttp_request *req, const ab_call *call);

#endif
