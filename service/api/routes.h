/* routes.h — the route table (README "The API"): one line per method set
 * of a path, with the scope it needs and its handler. Dispatch, 404 and
 * 405 with Allow, the token check, CORS and the metrics labels are all
 * read off it, so that a new route is a line and its handler. */
#ifndef ABSTAT_ROUTES_H
#define ABSTAT_ROUTES_H

#include <event2/http.h>
#include <stddef.h>

#include "api/api.h"
#include "core/experiment.h"

/* What a handler gets besides the request. */
typedef struct {
    const char *id;   /* the path's {id}: a valid experiment id; "" when the path has none */
    unsigned held;    /* the scopes of the request's token (AB_SCOPE_*; all of them
                       * on a daemon without tokens, none on an open route) */
} ab_call;

/* Ends in exactly one reply (ingest's may come after its commit). */
typedef void (*ab_handler)(ab_api *api, struct evhttp_request *req, const ab_call *call);

enum {
    AB_ROUTE_CORS = 1u,    /* browsers call it: --cors-origin applies, OPTIONS is its preflight */
    AB_ROUTE_BEACON = 2u   /* ?token= is accepted, for its ingest scope only */
};

/* HEAD goes wherever GET does: it is answered as GET without the body. */
#define AB_GET (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)
#define AB_POST EVHTTP_REQ_POST
#define AB_PUT EVHTTP_REQ_PUT
#define AB_DELETE EVHTTP_REQ_DELETE

typedef struct ab_route {
    unsigned methods;     /* EVHTTP_REQ_* bits */
    const char *pattern;  /* the path; "{id}" stands for one segment, an experiment id */
    unsigned scope;       /* AB_SCOPE_* the token must hold; 0: open; ingest|read: either */
    unsigned flags;       /* AB_ROUTE_*; the same on every line of a path */
    const char *label;    /* its series in abstat_requests_total; the same for a path */
    ab_handler handler;
} ab_route;

typedef struct {
    const ab_route *route; /* the line serving the method; NULL: 405 */
    size_t index;          /* for the metrics: route's line, or the path's first line */
    unsigned scope;        /* needed: the line's, or for a 405 the path's strictest
                            * (admin when a line needs it, else what its lines need) */
    unsigned flags;        /* the path's AB_ROUTE_* */
    char allow[64];        /* the path's methods, "GET, HEAD, OPTIONS" */
    char id[AB_ID_MAX + 1];
    int bad_id;            /* the {id} segment is no valid id: 400 */
} ab_route_match;

/* The table, its lines in order (those of one path together). */
const ab_route *ab_routes(size_t *n);

/* Matches path (NULL: none) and cmd against the table: 0 with *m filled,
 * or -1 when no path matches (404). */
int ab_route_match_path(const char *path, enum evhttp_cmd_type cmd, ab_route_match *m);

/* The metrics labels: one per line of the table, then "other" for
 * requests no path matched. Fills labels (cap entries); returns the
 * count, or 0 when cap is too small. */
size_t ab_route_labels(const char **labels, size_t cap);

#endif
