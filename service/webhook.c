/* webhook.c — asynchronous webhook delivery with bounded retries. */
#include "webhook.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

static const double default_backoff[] = {1.0, 5.0, 30.0};

struct ab_webhook {
    ab_webhooks *owner;
    struct evhttp_uri *uri;
    struct evhttp_connection *conn;
    struct event *retry;
    char *url;
    char *body;
    int attempt;          /* attempts made so far */
    ab_webhook *next;
};

void ab_webhooks_init(ab_webhooks *w, struct event_base *base, struct ab_metrics *metrics)
{
    memset(w, 0, sizeof *w);
    w->base = base;
    w->metrics = metrics;
    w->backoff = default_backoff;
    w->attempts = 4;
    w->timeout_s = 10;
}

static void unlink_hook(ab_webhook *h)
{
    ab_webhook **p = &h->owner->inflight;
    while (*p && *p != h) p = &(*p)->next;
    if (*p) *p = h->next;
}

static void destroy(ab_webhook *h)
{
    unlink_hook(h);
    if (h->retry) event_free(h->retry);
    if (h->conn) evhttp_connection_free(h->conn);
    if (h->uri) evhttp_uri_free(h->uri);
    free(h->url);
    free(h->body);
    free(h);
}

static void attempt(ab_webhook *h);

/* Frees the finished connection from outside its own callback. */
static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    ab_webhook *h = arg;
    (void)fd;
    (void)what;
    destroy(h);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    attempt(arg);
}

/* After an attempt: done, retry later, or give up. Runs inside libevent's
 * request callback, where the connection must not be freed, so teardown
 * is deferred to a zero timer. */
static void finish_attempt(ab_webhook *h, int code)
{
    ab_webhooks *w = h->owner;
    struct timeval tv = {0, 0};
    if (code >= 200 && code < 300) {
        ab_info("webhook delivered to %s (attempt %d, HTTP %d)", h->url, h->attempt, code);
        if (w->metrics) w->metrics->webhooks_sent++;
        event_free(h->retry);
        h->retry = evtimer_new(w->base, done_cb, h);
        if (h->retry) evtimer_add(h->retry, &tv);
        return;
    }
    if (h->attempt >= w->attempts) {
        ab_warn("webhook to %s failed after %d attempts (last: %s%d); giving up", h->url,
                h->attempt, code ? "HTTP " : "no answer", code);
        if (w->metrics) w->metrics->webhooks_failed++;
        event_free(h->retry);
        h->retry = evtimer_new(w->base, done_cb, h);
        if (h->retry) evtimer_add(h->retry, &tv);
        return;
    }
    double wait = w->backoff[h->attempt - 1 < 3 ? h->attempt - 1 : 2];
    tv.tv_sec = (long)wait;
    tv.tv_usec = (long)((wait - (double)tv.tv_sec) * 1e6);
    ab_info("webhook to %s: attempt %d got %s%d; retrying in %.0f s", h->url, h->attempt,
            code ? "HTTP " : "no answer ", code, wait);
    evtimer_add(h->retry, &tv);
}

static void response_cb(struct evhttp_request *req, void *arg)
{
    ab_webhook *h = arg;
    finish_attempt(h, req ? evhttp_request_get_response_code(req) : 0);
}

static void attempt(ab_webhook *h)
{
    struct evhttp_request *req;
    struct evkeyvalq *hdr;
    const char *host = evhttp_uri_get_host(h->uri), *path = evhttp_uri_get_path(h->uri);
    const char *query = evhttp_uri_get_query(h->uri);
    int port = evhttp_uri_get_port(h->uri);
    char target[2048];

    h->attempt++;
    if (!h->conn) {
        h->conn = evhttp_connection_base_new(h->owner->base, NULL, host, (ev_uint16_t)(port > 0 ? port : 80));
        if (!h->conn) {
            finish_attempt(h, 0);
            return;
        }
        evhttp_connection_set_timeout(h->conn, h->owner->timeout_s);
    }
    if (!(req = evhttp_request_new(response_cb, h))) {
        finish_attempt(h, 0);
        return;
    }
    hdr = evhttp_request_get_output_headers(req);
    evhttp_add_header(hdr, "Host", host);
    evhttp_add_header(hdr, "Content-Type", "application/json");
    evhttp_add_header(hdr, "User-Agent", "abstatd");
    evbuffer_add(evhttp_request_get_output_buffer(req), h->body, strlen(h->body));
    snprintf(target, sizeof target, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
             query ? query : "");
    /* On failure libevent frees req and calls nothing: count it here. */
    if (evhttp_make_request(h->conn, req, EVHTTP_REQ_POST, target) != 0) finish_attempt(h, 0);
}

int ab_webhook_post(ab_webhooks *w, const char *url, json_t *body)
{
    ab_webhook *h = calloc(1, sizeof *h);
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(body);
    if (!h || !text) goto fail;
    h->owner = w;
    h->body = text;
    text = NULL;
    if (!(h->url = strdup(url)) || !(h->uri = evhttp_uri_parse(url)) ||
        !evhttp_uri_get_scheme(h->uri) || strcmp(evhttp_uri_get_scheme(h->uri), "http") ||
        !evhttp_uri_get_host(h->uri)) {
        ab_warn("webhook URL %s is not usable", url);
        goto fail;
    }
    if (!(h->retry = evtimer_new(w->base, retry_cb, h))) goto fail;
    h->next = w->inflight;
    w->inflight = h;
    attempt(h);
    return 0;
fail:
    free(text);
    if (h) {
        if (h->uri) evhttp_uri_free(h->uri);
        if (h->retry) event_free(h->retry);
        free(h->url);
        free(h->body);
        free(h);
    }
    if (w->metrics) w->metrics->webhooks_failed++;
    return -1;
}

void ab_webhooks_free(ab_webhooks *w)
{
    while (w->inflight) {
        ab_warn("webhook to %s not delivered before shutdown", w->inflight->url);
        destroy(w->inflight);
    }
}
