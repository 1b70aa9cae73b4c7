/* handle_ops.c — GET /healthz and GET /metrics for operators. */
#include "handlers.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "http.h"

void ab_handle_healthz(ab_daemon *d, struct evhttp_request *req)
{
    if (ab_store_writable(d->store))
        ab_http_json(req, 200, json_pack("{s:s}", "status", "ok"));
    else
        ab_http_error(req, 503, "store is not writable");
}

void ab_handle_metrics(ab_daemon *d, struct evhttp_request *req)
{
    struct evbuffer *buf = evbuffer_new();
    double users = 0, experiments = 0;
    for (size_t i = 0; i < d->reg.cap; i++) {
        ab_live *e = ab_registry_at(&d->reg, i);
        if (!e) continue;
        experiments++;
        users += (double)e->state.users.count;
    }
    /* Count this scrape before rendering so the text includes it. */
    ab_metrics_request(&d->metrics, AB_ROUTE_METRICS, 200);
    if (!buf || ab_metrics_render(&d->metrics, users, experiments, buf)) {
        if (buf) evbuffer_free(buf);
        ab_http_error(req, 500, "out of memory rendering metrics");
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
}
