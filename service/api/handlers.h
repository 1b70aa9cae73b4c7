/* handlers.h — one handler per resource; each ends in exactly one reply
 * (ingest's comes after its commit). */
#ifndef ABSTAT_HANDLERS_H
#define ABSTAT_HANDLERS_H

#include <event2/http.h>
#include <stddef.h>

#include "daemon/daemon.h"

/* handle_events.c; held: the scopes of the request's token (AB_SCOPE_*;
 * all of them without tokens), which decide how old its events may be. */
void ab_handle_events(ab_daemon *d, struct evhttp_request *req, unsigned held);
/* Parses body into p->batch (any thread, under the registry read lock when
 * not on the loop) against window; 0 when every event is valid. */
int ab_handle_events_parse(ab_daemon *d, ab_pending *p, const char *body, size_t len,
                           const ab_ts_window *window, ab_error *err);
/* On the loop: submits p to the group commit, or answers its errors. */
void ab_handle_events_finish(ab_daemon *d, ab_pending *p, int rc, const ab_error *err);
/* handle_experiments.c: id is validated, NUL-terminated. */
/* list and get: held (the token's scopes) without AB_SCOPE_ADMIN shows each
 * webhook with its query values as "***" (they often hold secrets). */
void ab_handle_experiment_list(ab_daemon *d, struct evhttp_request *req, unsigned held);
void ab_handle_experiment_put(ab_daemon *d, struct evhttp_request *req, const char *id);
void ab_handle_experiment_get(ab_daemon *d, struct evhttp_request *req, const char *id,
                              unsigned held);
void ab_handle_experiment_delete(ab_daemon *d, struct evhttp_request *req, const char *id);
void ab_handle_experiment_stop(ab_daemon *d, struct evhttp_request *req, const char *id);
/* POST /v1/experiments/{id}/start: a stopped experiment takes events again. */
void ab_handle_experiment_start(ab_daemon *d, struct evhttp_request *req, const char *id);
/* handle_assign.c: GET /v1/experiments/{id}/assign?user=U[&expose=1]. */
void ab_handle_assign(ab_daemon *d, struct evhttp_request *req, const char *id, unsigned held);
/* handle_asset.c: a file embedded from service/assets/ (name as there). */
void ab_handle_asset(ab_daemon *d, struct evhttp_request *req, const char *name);
/* handle_results.c */
void ab_handle_results(ab_daemon *d, struct evhttp_request *req, const char *id);
void ab_handle_decision(ab_daemon *d, struct evhttp_request *req, const char *id);
/* handle_calc.c */
void ab_handle_analyze(ab_daemon *d, struct evhttp_request *req);
void ab_handle_sample_size(ab_daemon *d, struct evhttp_request *req);
/* handle_ops.c */
void ab_handle_healthz(ab_daemon *d, struct evhttp_request *req);
void ab_handle_metrics(ab_daemon *d, struct evhttp_request *req);

#endif
