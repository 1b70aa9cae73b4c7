/* handle_assign.c — GET /v1/experiments/{id}/assign (being built). */
#include "handlers.h"

#include "http.h"

void ab_handle_assign(ab_daemon *d, struct evhttp_request *req, const char *id, unsigned held)
{
    (void)d; (void)id; (void)held;
    ab_http_error(req, 404, "no such resource");
}
