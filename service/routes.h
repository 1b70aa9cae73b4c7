/* routes.h — maps method and path to a handler (SPEC sections 3–9). */
#ifndef ABSTAT_ROUTES_H
#define ABSTAT_ROUTES_H

#include <event2/http.h>

#include "daemon.h"
#include "metrics.h"

/* The evhttp general callback; arg is the ab_daemon. */
void ab_route_request(struct evhttp_request *req, void *arg);

/* The route label of a request, for metrics. */
ab_route ab_route_of(struct evhttp_request *req);

#endif
