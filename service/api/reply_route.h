/* reply_route.h — the route of each request in flight, for the metrics of
 * its reply (ab_api_count_reply in api.h counts and forgets it). */
#ifndef ABSTAT_REPLY_ROUTE_H
#define ABSTAT_REPLY_ROUTE_H

#include <event2/http.h>
#include <stddef.h>

#include "api/api.h"
#include "api/routes.h"

/* An empty map over the route table (routes[0..nroutes), borrowed); a
 * reply without a tag counts on route `other`. Makes http.c's reply hook
 * count every reply. */
void ab_api_tags_init(ab_api *api, const ab_route *routes, size_t nroutes, size_t other);
void ab_api_tags_free(ab_api *api);
/* Remembers req's route until its reply (out of memory, it is not: the
 * reply counts as `other`). */
void ab_api_tag(ab_api *api, const struct evhttp_request *req, size_t route);

#endif
