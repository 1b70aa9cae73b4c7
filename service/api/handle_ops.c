/* handle_ops.c — GET /healthz and GET /metrics for operators. */
#include "api/handlers.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include <stdio.h>

#include "http/http.h"
#include "base/log.h"
#include "base/version.h"

void ab_handle_healthz(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    ab_memory *m = api->memory;
    (void)call;
    if (!ab_store_writable(api->store)) {
        ab_http_error(req, 503, "store is not writable");
    } else if (m->full) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", AB_MEMORY_RETRY_AFTER);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", secs);
        ab_http_json(req, 503, json_pack("{s:s,s:s,s:I,s:I}", "status", "memory",
                                         "error", "memory is at its limit: new events are "
                                         "refused (503) until there is room",
                                         "memory_bytes", (json_int_t)ab_memory_used(m),
                                         "memory_limit_bytes", (json_int_t)m->limit));
    } else {
        ab_http_json(req, 200, json_pack("{s:s}", "status", "ok"));
    }
}

/* The memory account's gauges (memory.h). */
static int render_memory(const ab_api *api, struct evbuffer *buf)
{
    const ab_memory *m = api->memory;
    return evbuffer_add_printf(buf,
        "# HELP abstat_memory_bytes Memory the daemon holds by its own account (compared with the limit).\n"
        "# TYPE abstat_memory_bytes gauge\n"
        "abstat_memory_bytes %zu\n"
        "# HELP abstat_memory_limit_bytes --max-memory (or its default).\n"
        "# TYPE abstat_memory_limit_bytes gauge\n"
        "abstat_memory_limit_bytes %zu\n"
        "# HELP abstat_memory_state_bytes User tables, id sets and counts of all experiments.\n"
        "# TYPE abstat_memory_state_bytes gauge\n"
        "abstat_memory_state_bytes %zu\n"
        "# HELP abstat_memory_rss_bytes Resident set size, read once a second (for reference).\n"
        "# TYPE abstat_memory_rss_bytes gauge\n"
        "abstat_memory_rss_bytes %zu\n"
        "# HELP abstat_memory_full 1 while new events are refused for memory.\n"
        "# TYPE abstat_memory_full gauge\n"
        "abstat_memory_full %d\n"
        "# HELP abstat_memory_refused_total Ingest requests refused (503) for memory.\n"
        "# TYPE abstat_memory_refused_total counter\n"
        "abstat_memory_refused_total %llu\n"
        "# HELP abstat_events_uncounted_total Stored events that could not be counted (expected 0).\n"
        "# TYPE abstat_events_uncounted_total counter\n"
        "abstat_events_uncounted_total %llu\n"
        "# HELP abstat_log_suppressed_total Log lines dropped by rate limits.\n"
        "# TYPE abstat_log_suppressed_total counter\n"
        "abstat_log_suppressed_total %llu\n",
        ab_memory_used(m), m->limit, m->state, m->rss, m->full,
        (unsigned long long)m->refused, (unsigned long long)api->metrics->uncounted,
        ab_log_suppressed_total()) < 0 ? -1 : 0;
}

/* The release serving (a constant 1, labelled: the Prometheus idiom for
 * telling which version runs where). */
static int render_build_info(struct evbuffer *buf)
{
    return evbuffer_add_printf(buf,
        "# HELP abstat_build_info The abstatd release running (always 1).\n"
        "# TYPE abstat_build_info gauge\n"
        "abstat_build_info{version=\"%s\"} 1\n", AB_VERSION) < 0 ? -1 : 0;
}

void ab_handle_metrics(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    struct evbuffer *buf = evbuffer_new();
    double users = 0, experiments = 0;
    (void)call;
    for (size_t i = 0; i < api->reg->cap; i++) {
        ab_live *e = ab_registry_at(api->reg, i);
        if (!e) continue;
        experiments++;
        users += (double)e->state.users.count;
    }
    /* Count this scrape before rendering so the text includes it (its
     * reply bypasses http.c, whose hook counts every other). */
    ab_api_count_reply(api, req, 200);
    if (!buf || ab_metrics_render(api->metrics, users, experiments, buf) ||
        render_memory(api, buf) || render_build_info(buf)) {
        if (buf) evbuffer_free(buf);
        ab_http_error(req, 500, "out of memory rendering metrics");
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    /* HEAD: the length of the text without it. evhttp would send the body
     * after the headers, and a keep-alive client would read it as the
     * next answer (as http.c's replies, which this one bypasses). */
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        char len[24];
        snprintf(len, sizeof len, "%zu", evbuffer_get_length(buf));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
        evbuffer_drain(buf, evbuffer_get_length(buf));
    }
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
}
