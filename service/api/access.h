/* access.h — who may call a route (README "Storage and durability, Security"): bearer tokens and
 * their scopes, ?token= on the routes pages call, and the --cors-origin
 * allow-list with its CORS headers. */
#ifndef ABSTAT_ACCESS_H
#define ABSTAT_ACCESS_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/routes.h"
#include "http/guard.h"

/* The token check of a request from its headers and target alone (so
 * that guard.c can make it before a body is read): 0 with *held the
 * scopes it holds (all of them on a daemon without tokens, none on an
 * open route), or -1 with *r the answer. */
int ab_access_token(const ab_api *api, const struct evkeyvalq *headers,
                    const struct evhttp_uri *uri, const ab_route_match *m, unsigned *held,
                    ab_refusal *r);

/* 0 when a request with this Origin header (NULL: none) may go on;
 * otherwise -1 with *r the 403. */
int ab_access_origin(const ab_api *api, const char *origin, ab_refusal *r);

/* CORS on a route browsers call: the response headers for a listed
 * origin, the preflight's answer (OPTIONS), the 403 for an unlisted
 * origin. 0 when the request goes on; -1 when it has been answered. */
int ab_access_cors(const ab_api *api, struct evhttp_request *req, const ab_route_match *m,
                   enum evhttp_cmd_type cmd);

#endif
