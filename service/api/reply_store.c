/* reply_store.c — how a storage failure is answered: the store says what
 * kind of failure it was, the API which status that is. */
#include "api/api.h"

#include <event2/http.h>

#include "http/http.h"

void ab_api_store_fail(struct evhttp_request *req, ab_store_status kind, const ab_error *err)
{
    const char *text = err && err->text[0] ? err->text : ab_store_status_name(kind);
    int transient = ab_store_status_transient(kind);
    if (transient) evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
    ab_http_error(req, transient ? 503 : 500, "%s", text);
}
