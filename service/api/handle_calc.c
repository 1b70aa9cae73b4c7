/* handle_calc.c — the stateless calculators: POST /v1/analyze and
 * GET /v1/sample-size, the same code as the CLI's. */
#include "api/handlers.h"

#include "json/analyze_json.h"
#include "http/http.h"
#include "json/sample_size_json.h"

void ab_handle_analyze(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    ab_error err = {0, ""};
    size_t len;
    const char *body = ab_http_body(req, &len);
    json_t *ans;
    (void)api;
    (void)call;
    if (!body) {
        ab_http_error(req, 500, "out of memory reading the body");
        return;
    }
    if (!(ans = ab_analyze_buffer(body, len, &err))) {
        ab_http_fail(req, &err);
        return;
    }
    ab_http_json(req, 200, ans);
}

void ab_handle_sample_size(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    ab_sample_size_req rq;
    ab_error err = {0, ""};
    json_t *ans;
    (void)api;
    (void)call;
    ab_sample_size_req_init(&rq);
    if (ab_sample_size_req_query(&rq, query ? query : "", &err) ||
        !(ans = ab_sample_size_answer(&rq, &err))) {
        ab_http_fail(req, &err);
        return;
    }
    ab_http_json(req, 200, ans);
}
