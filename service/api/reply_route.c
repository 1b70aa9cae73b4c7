/* reply_route.c — the route each request in flight was dispatched to, so
 * that its reply, whenever it comes, is counted on that route's metrics. */
#include "api/reply_route.h"

#include <stdint.h>

#include "api/routes.h"
#include "http/http.h"

/* The table maps a request's address to its entry of the route table; a
 * request is tagged at dispatch and untagged by its reply, so the table
 * holds the requests in flight. */
static uint64_t key_of(const struct evhttp_request *req)
{
    return (uint64_t)(uintptr_t)req;
}

void ab_api_tag(ab_api *api, const struct evhttp_request *req, size_t route)
{
    const ab_route *routes = api->routes;
    if (route >= api->nroutes) return;
    /* The entry is read only; the table stores untyped pointers. Out of
     * memory the reply counts as `other`, which is all it costs. */
    (void)ab_ptrmap_add(&api->tags, key_of(req), (void *)(uintptr_t)&routes[route]);
}

/* The route req was tagged with, untagging it; none: the "other" label. */
static size_t tag_take(ab_api *api, const struct evhttp_request *req)
{
    size_t pos = 0;
    const ab_route *routes = api->routes;
    const ab_route *r = ab_ptrmap_next(&api->tags, key_of(req), &pos);
    if (!r) return api->tags_other;
    (void)ab_ptrmap_remove(&api->tags, key_of(req), r);
    return (size_t)(r - routes);
}

void ab_api_count_reply(ab_api *api, struct evhttp_request *req, int code)
{
    ab_metrics_request(api->metrics, tag_take(api, req), code);
}

static void reply_hook(void *arg, struct evhttp_request *req, int code)
{
    ab_api_count_reply(arg, req, code);
}

void ab_api_tags_init(ab_api *api, const ab_route *routes, size_t nroutes, size_t other)
{
    api->routes = routes;
    api->nroutes = nroutes;
    ab_ptrmap_init(&api->tags);
    api->tags_other = other;
    ab_http_set_reply_hook(reply_hook, api);
}

void ab_api_tags_free(ab_api *api)
{
    ab_http_set_reply_hook(NULL, NULL);
    ab_ptrmap_free(&api->tags);
}
