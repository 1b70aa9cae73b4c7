/* webhook_attempt.c — one attempt of a webhook delivery: a fresh evhttp connection (plain or TLS) through evdns, bounded by a deadline and caps on the answer, then success or the next retry. */
#include "engine/webhook_delivery.h"

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "engine/metrics.h"
#include "http/tls.h"

/* Seconds before retry n (1-based); the last repeats: at least once means
 * never giving up, but a dead receiver costs one attempt per 5 minutes. */
static const double backoff[] = {1.0, 5.0, 30.0, 300.0};
#define NBACKOFF (sizeof backoff / sizeof backoff[0])

static void start_attempt(ab_webhook *h);

/* Starts waiting deliveries while connection slots are free. */
void ab_webhook_pump(ab_webhooks *w)
{
    for (ab_webhook *h = w->all; h && w->inflight < w->lim.max_inflight; h = h->next)
        if (h->state == ST_QUEUED) start_attempt(h);
}

void ab_webhook_want_attempt(ab_webhook *h)
{
    h->state = ST_QUEUED;
    ab_webhook_pump(h->owner);
}

void ab_webhook_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ab_webhook_want_attempt(arg);
}

/* The attempt is over (outside every callback of its connection). */
static void finish(ab_webhook *h)
{
    ab_webhooks *w = h->owner;
    struct timeval tv;
    double wait;

    evtimer_del(h->deadline);
    if (h->conn) {
        /* The TLS reason beats "connection closed". */
        if (!h->code) ab_tls_failure(h->ssl, h->bev, h->why, sizeof h->why);
        evbuffer_remove_cb(bufferevent_get_input(evhttp_connection_get_bufferevent(h->conn)),
                           ab_webhook_input_cb, h);
        evhttp_connection_free(h->conn);
        h->conn = NULL;
        h->bev = NULL;
        h->ssl = NULL;
    }
    w->inflight--;
    if (h->code >= 200 && h->code < 300) {
        ab_info("webhook %s delivered to %s (attempt %d, HTTP %d)", h->id, h->logurl,
                h->attempt, h->code);
        if (w->metrics) w->metrics->webhooks_sent++;
        h->state = ST_DELIVERED;
        ab_webhook_forget(h);
        ab_webhook_pump(w);
        return;
    }
    if (w->metrics) w->metrics->webhooks_failed++;
    wait = backoff[(size_t)h->attempt - 1 < NBACKOFF ? (size_t)h->attempt - 1 : NBACKOFF - 1];
    if (h->code)
        snprintf(h->why, sizeof h->why, "HTTP %d", h->code);
    else if (!h->why[0])
        snprintf(h->why, sizeof h->why, "no answer");
    if (h->attempt <= 4 || h->attempt % 12 == 0)
        ab_webhook_log_failure(w, "webhook %s to %s: attempt %d failed (%s); next in %.0f s", h->id,
                    h->logurl, h->attempt, h->why, wait);
    h->state = ST_WAITING;
    tv.tv_sec = (long)wait;
    tv.tv_usec = (long)((wait - (double)tv.tv_sec) * 1e6);
    /* From now, not from the loop's cached time of an earlier moment. */
    event_base_update_cache_time(w->base);
    event_assign(h->timer, w->base, -1, 0, ab_webhook_retry_cb, h);
    evtimer_add(h->timer, &tv);
    ab_webhook_pump(w);
}

static void finish_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    finish(arg);
}

/* Deadline or abort: the connection is freed however far it got. */
void ab_webhook_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    ab_webhook *h = arg;
    (void)fd;
    (void)what;
    if (h->state != ST_ACTIVE) return;
    h->state = ST_FINISHING;
    h->code = 0;
    if (!h->why[0])
        snprintf(h->why, sizeof h->why, "no complete answer within %.0f s",
                 h->owner->lim.deadline_s);
    finish(h);
}

static void response_cb(struct evhttp_request *req, void *arg)
{
    ab_webhook *h = arg;
    struct timeval now = {0, 0};
    if (h->state != ST_ACTIVE) return;
    h->state = ST_FINISHING;
    h->code = req ? evhttp_request_get_response_code(req) : 0;
    evtimer_del(h->deadline);
    /* Inside libevent's callback the connection must not be freed. */
    event_assign(h->timer, h->owner->base, -1, 0, finish_cb, h);
    evtimer_add(h->timer, &now);
}

static void error_cb(enum evhttp_request_error e, void *arg)
{
    ab_webhook *h = arg;
    const char *what = e == EVREQ_HTTP_TIMEOUT ? "timed out"
                       : e == EVREQ_HTTP_EOF ? "connection closed or refused"
                       : e == EVREQ_HTTP_INVALID_HEADER ? "invalid answer"
                       : e == EVREQ_HTTP_BUFFER_ERROR ? "connection failed"
                       : e == EVREQ_HTTP_DATA_TOO_LONG ? "answer too large"
                                                       : "failed";
    if (!h->why[0]) snprintf(h->why, sizeof h->why, "%s", what);
}

/* Trusted certificates are loaded once (system store, see tls.h); err is
 * set when that fails. */
SSL_CTX *ab_webhook_tls_context(ab_webhooks *w, char *err, size_t errlen)
{
    if (!w->ssl_ctx) w->ssl_ctx = ab_tls_client_ctx(NULL, err, errlen);
    return w->ssl_ctx;
}

static struct bufferevent *tls_bufferevent(ab_webhook *h, const char *host)
{
    char err[300];
    SSL_CTX *ctx = ab_webhook_tls_context(h->owner, err, sizeof err);
    SSL *ssl = NULL;
    struct bufferevent *bev = ctx ? ab_tls_bufferevent(h->owner->base, ctx, host, &ssl) : NULL;
    if (bev) h->ssl = ssl;
    return bev;
}

static void start_attempt(ab_webhook *h)
{
    ab_webhooks *w = h->owner;
    struct evhttp_request *req = NULL;
    struct evkeyvalq *hdr;
    struct timeval tv;
    ab_webhook_parts to;

    h->attempt++;
    h->code = 0;
    h->why[0] = '\0';
    h->state = ST_ACTIVE;
    w->inflight++;
    tv.tv_sec = (long)w->lim.deadline_s;
    tv.tv_usec = (long)((w->lim.deadline_s - (double)tv.tv_sec) * 1e6);
    event_base_update_cache_time(w->base);
    evtimer_add(h->deadline, &tv);
    /* The parse PUT validated the URL with (base/webhook_url.h): a URL it
     * accepted is one this can send to. */
    if (ab_webhook_url_split(h->url, &to)) {
        snprintf(h->why, sizeof h->why, "unusable URL");
        goto fail;
    }
    if (to.tls) {
        if (!(h->bev = tls_bufferevent(h, to.host))) {
            snprintf(h->why, sizeof h->why, "cannot set up TLS");
            goto fail;
        }
    } else if (!(h->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE))) {
        snprintf(h->why, sizeof h->why, "out of memory");
        goto fail;
    }
    /* The connection owns the bufferevent from here (freed with it). */
    h->conn = evhttp_connection_base_bufferevent_new(w->base, w->dns, h->bev, to.host,
                                                     (ev_uint16_t)to.port);
    if (!h->conn) {
        bufferevent_free(h->bev);
        h->bev = NULL;
        h->ssl = NULL;
        snprintf(h->why, sizeof h->why, "out of memory");
        goto fail;
    }
    evhttp_connection_set_timeout(h->conn, (int)(w->lim.deadline_s + 0.999));
    evhttp_connection_set_max_headers_size(h->conn, (ev_ssize_t)w->lim.max_headers);
    evhttp_connection_set_max_body_size(h->conn, (ev_ssize_t)w->lim.max_body);
    h->answer_cap = w->lim.max_headers + w->lim.max_body + 16384;
    evbuffer_add_cb(bufferevent_get_input(h->bev), ab_webhook_input_cb, h);
    if (!(req = evhttp_request_new(response_cb, h))) {
        snprintf(h->why, sizeof h->why, "out of memory");
        goto fail;
    }
    evhttp_request_set_error_cb(req, error_cb);
    hdr = evhttp_request_get_output_headers(req);
    if (evhttp_add_header(hdr, "Host", to.authority) ||
        evhttp_add_header(hdr, "Content-Type", "application/json") ||
        evhttp_add_header(hdr, "User-Agent", "abstatd") ||
        evhttp_add_header(hdr, "Connection", "close") ||
        evhttp_add_header(hdr, "Idempotency-Key", h->id) ||
        evbuffer_add(evhttp_request_get_output_buffer(req), h->body, strlen(h->body))) {
        evhttp_request_free(req);
        snprintf(h->why, sizeof h->why, "out of memory");
        goto fail;
    }
    /* On failure libevent frees req and calls nothing. */
    if (evhttp_make_request(h->conn, req, EVHTTP_REQ_POST, to.target) != 0) {
        snprintf(h->why, sizeof h->why, "cannot send the request");
        goto fail;
    }
    return;
fail:
    /* Finished from a fresh callback, as every other outcome. */
    h->state = ST_FINISHING;
    evtimer_del(h->deadline);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    event_assign(h->timer, w->base, -1, 0, finish_cb, h);
    evtimer_add(h->timer, &tv);
}

