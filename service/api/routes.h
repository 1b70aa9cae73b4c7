/* routes.h — maps method and path to a handler (SPEC sections 3–9). */
#ifndef ABSTAT_ROUTES_H
#define ABSTAT_ROUTES_H

#include <event2/http.h>

#include "daemon/daemon.h"
#include "http/guard.h"
#include "engine/metrics.h"

/* The evhttp general callback; arg is the ab_daemon. */
void ab_route_request(struct evhttp_request *req, void *arg);

/* guard.c's admission check of a request head with a body, before the
 * body is read: the route exists and the token holds its scope (arg is the
 * ab_daemon). */
int ab_route_admit(void *arg, const ab_guard_head *h, ab_refusal *r);

/* The route label of a request, for metrics. */
ab_route ab_route_of(struct evhttp_request *req);

#endif
