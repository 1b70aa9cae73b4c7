/* webhook.c — stored, bounded, asynchronous webhook deliveries (see
 * webhook.h).
 *
 * One delivery is one row of the store's outbox and one ab_webhook here.
 * Each attempt makes a fresh evhttp connection on its own bufferevent
 * (plain, or OpenSSL for https://) resolved through the daemon's evdns
 * base, so nothing on the loop waits for DNS, a connect or a peer. The
 * answer is bounded three ways: evhttp's header and body limits, a guard
 * on the connection's input buffer (libevent 2.1 buffers an endless
 * chunk-size line without limit), and a deadline timer that frees the
 * connection however far the attempt got. Only the status code matters. */
#include "engine/webhook.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/log.h"
#include "engine/metrics.h"
#include "store/store.h"
#include "http/tls.h"


/* Seconds before retry n (1-based); the last repeats: at least once means
 * never giving up, but a dead receiver costs one attempt per 5 minutes. */
static const double backoff[] = {1.0, 5.0, 30.0, 300.0};
#define NBACKOFF (sizeof backoff / sizeof backoff[0])

enum { ST_WAITING = 0, ST_QUEUED, ST_ACTIVE, ST_FINISHING, ST_DELIVERED };

struct ab_webhook {
    ab_webhooks *owner;
    char *id, *url, *body;
    char logurl[256];
    int64_t created_ms;
    int state;
    int saved;               /* the outbox holds it */
    int attempt;             /* attempts started */
    int code;                /* HTTP status of the finished attempt, 0 none */
    char why[160];           /* why the attempt failed */
    size_t answer_cap;       /* bytes the input buffer may hold */
    struct evhttp_connection *conn;
    struct bufferevent *bev;
    SSL *ssl;
    struct event *deadline;  /* the attempt's total deadline; also aborts */
    struct event *timer;     /* finishing, then the retry */
    ab_webhook *next;
    ab_webhook *qnext;       /* waiting for a connection slot */
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* ---- Logging, rate-limited --------------------------------------------- */

/* Failure lines: each delivery logs its first four failed attempts, then
 * every twelfth (about hourly at the 5-minute backoff), and all of them
 * together at most 20 lines in 10 s; the next line after a suppressed run
 * says how many were left out. */
static void log_failure(ab_webhooks *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_failure(ab_webhooks *w, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int64_t now = wall_ms();
    if (now - w->log_window_ms >= 10000) {
        w->log_window_ms = now;
        w->log_lines = 0;
    }
    if (w->log_lines >= 20) {
        w->log_suppressed++;
        return;
    }
    w->log_lines++;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (w->log_suppressed)
        ab_warn("%s (%d similar webhook lines suppressed before this one)", line,
                w->log_suppressed);
    else
        ab_warn("%s", line);
    w->log_suppressed = 0;
}

/* ---- Store work -------------------------------------------------------- */

/* Writes to the outbox only in a transaction of our own: never into the
 * group commit's (a failed commit would take the delivery with it). */
static int store_free(const ab_webhooks *w)
{
    return w->store && !ab_store_in_transaction(w->store);
}

static void save_one(ab_webhook *h)
{
    ab_webhooks *w = h->owner;
    ab_error err = {0, ""};
    ab_store_delivery d = {h->id, h->url, h->body, h->created_ms};
    if (h->saved || !store_free(w)) return;
    if (ab_store_outbox_put(w->store, &d, &err) == 0) h->saved = 1;
    else log_failure(w, "webhook %s: storing it in the outbox failed: %s", h->id, err.text);
}

static void input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

static void destroy(ab_webhook *h)
{
    ab_webhooks *w = h->owner;
    ab_webhook **p = &w->all;
    while (*p && *p != h) p = &(*p)->next;
    if (*p) {
        *p = h->next;
        w->count--;
    }
    if (h->deadline) event_free(h->deadline);
    if (h->timer) event_free(h->timer);
    if (h->conn) {
        /* A lookup still pending keeps the bufferevent alive after this:
         * nothing of it may call back into h. */
        evbuffer_remove_cb(bufferevent_get_input(evhttp_connection_get_bufferevent(h->conn)),
                           input_cb, h);
        evhttp_connection_free(h->conn); /* frees bev and ssl */
    }
    free(h->id);
    free(h->url);
    free(h->body);
    free(h);
    if (w->metrics) w->metrics->webhooks_pending = w->count;
}

/* A delivered one leaves the outbox, then memory. */
static void forget_delivered(ab_webhook *h)
{
    ab_error err = {0, ""};
    if (h->saved) {
        if (!store_free(h->owner)) return; /* the sweep comes back */
        if (ab_store_outbox_del(h->owner->store, h->id, &err)) {
            log_failure(h->owner, "webhook %s: removing it from the outbox failed: %s", h->id,
                        err.text);
            return;
        }
    }
    destroy(h);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    ab_webhooks *w = arg;
    ab_webhook *h, *next;
    (void)fd;
    (void)what;
    for (h = w->all; h; h = next) {
        next = h->next;
        if (h->state == ST_DELIVERED) forget_delivered(h);
        else if (!h->saved) save_one(h);
    }
}

int ab_webhooks_write_unsaved(ab_webhooks *w, ab_error *err)
{
    for (ab_webhook *h = w->all; h; h = h->next) {
        ab_store_delivery d = {h->id, h->url, h->body, h->created_ms};
        if (h->saved || h->state == ST_DELIVERED || !w->store) continue;
        if (ab_store_outbox_put(w->store, &d, err)) return -1;
    }
    return 0;
}

void ab_webhooks_mark_saved(ab_webhooks *w)
{
    for (ab_webhook *h = w->all; h; h = h->next)
        if (h->state != ST_DELIVERED && w->store) h->saved = 1;
}

void ab_webhooks_sync(ab_webhooks *w)
{
    sweep_cb(-1, 0, w);
}

/* ---- Attempts ---------------------------------------------------------- */

static void start_attempt(ab_webhook *h);

/* Starts waiting deliveries while connection slots are free. */
static void pump(ab_webhooks *w)
{
    for (ab_webhook *h = w->all; h && w->inflight < w->lim.max_inflight; h = h->next)
        if (h->state == ST_QUEUED) start_attempt(h);
}

static void want_attempt(ab_webhook *h)
{
    h->state = ST_QUEUED;
    pump(h->owner);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    want_attempt(arg);
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
                           input_cb, h);
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
        forget_delivered(h);
        pump(w);
        return;
    }
    if (w->metrics) w->metrics->webhooks_failed++;
    wait = backoff[(size_t)h->attempt - 1 < NBACKOFF ? (size_t)h->attempt - 1 : NBACKOFF - 1];
    if (h->code)
        snprintf(h->why, sizeof h->why, "HTTP %d", h->code);
    else if (!h->why[0])
        snprintf(h->why, sizeof h->why, "no answer");
    if (h->attempt <= 4 || h->attempt % 12 == 0)
        log_failure(w, "webhook %s to %s: attempt %d failed (%s); next in %.0f s", h->id,
                    h->logurl, h->attempt, h->why, wait);
    h->state = ST_WAITING;
    tv.tv_sec = (long)wait;
    tv.tv_usec = (long)((wait - (double)tv.tv_sec) * 1e6);
    /* From now, not from the loop's cached time of an earlier moment. */
    event_base_update_cache_time(w->base);
    event_assign(h->timer, w->base, -1, 0, retry_cb, h);
    evtimer_add(h->timer, &tv);
    pump(w);
}

static void finish_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    finish(arg);
}

/* Deadline or abort: the connection is freed however far it got. */
static void deadline_cb(evutil_socket_t fd, short what, void *arg)
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

/* Watches the connection's input buffer: evhttp caps headers and body, but
 * buffers an unterminated chunk-size line without limit. */
static void input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    ab_webhook *h = arg;
    (void)info;
    if (h->state == ST_ACTIVE && evbuffer_get_length(buf) > h->answer_cap) {
        snprintf(h->why, sizeof h->why, "answer larger than %zu bytes", h->answer_cap);
        evbuffer_remove_cb(buf, input_cb, h);
        event_active(h->deadline, EV_TIMEOUT, 1);
    }
}

/* Trusted certificates are loaded once (system store, see tls.h); err is
 * set when that fails. */
static SSL_CTX *tls_context(ab_webhooks *w, char *err, size_t errlen)
{
    if (!w->ssl_ctx) w->ssl_ctx = ab_tls_client_ctx(NULL, err, errlen);
    return w->ssl_ctx;
}

static struct bufferevent *tls_bufferevent(ab_webhook *h, const char *host)
{
    char err[300];
    SSL_CTX *ctx = tls_context(h->owner, err, sizeof err);
    SSL *ssl = NULL;
    struct bufferevent *bev = ctx ? ab_tls_bufferevent(h->owner->base, ctx, host, &ssl) : NULL;
    if (bev) h->ssl = ssl;
    return bev;
}

static void start_attempt(ab_webhook *h)
{
    ab_webhooks *w = h->owner;
    struct evhttp_uri *uri = evhttp_uri_parse(h->url);
    struct evhttp_request *req = NULL;
    struct evkeyvalq *hdr;
    struct timeval tv;
    char target[AB_WEBHOOK_URL_MAX + 8], hostbuf[300], name[270];
    const char *host, *path, *query, *scheme;
    int port, tls;

    h->attempt++;
    h->code = 0;
    h->why[0] = '\0';
    h->state = ST_ACTIVE;
    w->inflight++;
    tv.tv_sec = (long)w->lim.deadline_s;
    tv.tv_usec = (long)((w->lim.deadline_s - (double)tv.tv_sec) * 1e6);
    event_base_update_cache_time(w->base);
    evtimer_add(h->deadline, &tv);
    if (!uri || !(scheme = evhttp_uri_get_scheme(uri)) || !(host = evhttp_uri_get_host(uri)) ||
        strlen(host) >= sizeof name) {
        snprintf(h->why, sizeof h->why, "unusable URL");
        goto fail;
    }
    /* libevent keeps an IPv6 literal's brackets; connecting needs it bare. */
    if (host[0] == '[') snprintf(name, sizeof name, "%.*s", (int)strlen(host) - 2, host + 1);
    else snprintf(name, sizeof name, "%s", host);
    tls = !strcasecmp(scheme, "https");
    port = evhttp_uri_get_port(uri);
    if (port <= 0) port = tls ? 443 : 80;
    path = evhttp_uri_get_path(uri);
    query = evhttp_uri_get_query(uri);
    if (tls) {
        if (!(h->bev = tls_bufferevent(h, name))) {
            snprintf(h->why, sizeof h->why, "cannot set up TLS");
            goto fail;
        }
    } else if (!(h->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE))) {
        snprintf(h->why, sizeof h->why, "out of memory");
        goto fail;
    }
    /* The connection owns the bufferevent from here (freed with it). */
    h->conn = evhttp_connection_base_bufferevent_new(w->base, w->dns, h->bev, name,
                                                     (ev_uint16_t)port);
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
    evbuffer_add_cb(bufferevent_get_input(h->bev), input_cb, h);
    if (!(req = evhttp_request_new(response_cb, h))) {
        snprintf(h->why, sizeof h->why, "out of memory");
        goto fail;
    }
    evhttp_request_set_error_cb(req, error_cb);
    hdr = evhttp_request_get_output_headers(req);
    if (evhttp_uri_get_port(uri) > 0)
        snprintf(hostbuf, sizeof hostbuf, "%s:%d", host, port);
    else
        snprintf(hostbuf, sizeof hostbuf, "%s", host);
    evhttp_add_header(hdr, "Host", hostbuf);
    evhttp_add_header(hdr, "Content-Type", "application/json");
    evhttp_add_header(hdr, "User-Agent", "abstatd");
    evhttp_add_header(hdr, "Connection", "close");
    evhttp_add_header(hdr, "Idempotency-Key", h->id);
    evbuffer_add(evhttp_request_get_output_buffer(req), h->body, strlen(h->body));
    snprintf(target, sizeof target, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
             query ? query : "");
    evhttp_uri_free(uri);
    uri = NULL;
    /* On failure libevent frees req and calls nothing. */
    if (evhttp_make_request(h->conn, req, EVHTTP_REQ_POST, target) != 0) {
        snprintf(h->why, sizeof h->why, "cannot send the request");
        goto fail;
    }
    return;
fail:
    if (uri) evhttp_uri_free(uri);
    /* Finished from a fresh callback, as every other outcome. */
    h->state = ST_FINISHING;
    evtimer_del(h->deadline);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    event_assign(h->timer, w->base, -1, 0, finish_cb, h);
    evtimer_add(h->timer, &tv);
}

/* ---- Life cycle -------------------------------------------------------- */

int ab_webhooks_init(ab_webhooks *w, struct event_base *base, struct ab_store *store,
                     struct ab_metrics *metrics)
{
    struct timeval second = {1, 0};
    char err[300];
    memset(w, 0, sizeof *w);
    w->base = base;
    w->store = store;
    w->metrics = metrics;
    w->lim.max_inflight = 8;
    w->lim.deadline_s = 10.0;
    w->lim.max_headers = 16384;
    w->lim.max_body = 65536;
    /* The resolver is asynchronous: a server that never answers costs
     * this delivery its deadline, and nobody else anything. */
    w->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                      EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!w->dns) {
        ab_warn("webhooks: cannot read /etc/resolv.conf; host names will not resolve");
        if (!(w->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE))) return -1;
        evdns_base_load_hosts(w->dns, NULL);
    }
    /* OpenSSL's set-up and the system's trusted certificates take tens of
     * milliseconds: paid here, at start, not by the first https delivery
     * on the running loop. */
    if (!tls_context(w, err, sizeof err))
        ab_warn("webhooks: %s: https:// deliveries will fail", err);
    w->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, w);
    if (!w->sweep || event_add(w->sweep, &second)) return -1;
    return 0;
}

static ab_webhook *find(ab_webhooks *w, const char *id)
{
    for (ab_webhook *h = w->all; h; h = h->next)
        if (!strcmp(h->id, id)) return h;
    return NULL;
}

static ab_webhook *add(ab_webhooks *w, const char *url, const char *id, const char *body,
                       int64_t created_ms, int saved)
{
    ab_webhook *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->owner = w;
    h->created_ms = created_ms;
    h->saved = saved;
    if (!(h->id = strdup(id)) || !(h->url = strdup(url)) || !(h->body = strdup(body)) ||
        !(h->deadline = evtimer_new(w->base, deadline_cb, h)) ||
        !(h->timer = evtimer_new(w->base, retry_cb, h))) {
        if (h->deadline) event_free(h->deadline);
        free(h->id);
        free(h->url);
        free(h->body);
        free(h);
        return NULL;
    }
    ab_webhook_url_for_log(url, h->logurl, sizeof h->logurl);
    /* Appended: deliveries start in the order they were made. */
    ab_webhook **p = &w->all;
    while (*p) p = &(*p)->next;
    *p = h;
    w->count++;
    if (w->metrics) w->metrics->webhooks_pending = w->count;
    return h;
}

int ab_webhook_post(ab_webhooks *w, const char *url, const char *id, const char *body)
{
    ab_webhook *h;
    char logurl[256];
    if (ab_webhook_url_problem(url, strlen(url))) {
        ab_webhook_url_for_log(url, logurl, sizeof logurl);
        ab_warn("webhook URL %s is not usable", logurl);
        if (w->metrics) w->metrics->webhooks_failed++;
        return -1;
    }
    if (find(w, id)) return 0;
    if (!(h = add(w, url, id, body, wall_ms(), 0))) {
        ab_logerr("out of memory queueing webhook %s", id);
        if (w->metrics) w->metrics->webhooks_failed++;
        return -1;
    }
    save_one(h);
    want_attempt(h);
    return 0;
}

static int replay_one(void *ctx, const ab_store_delivery *d)
{
    ab_webhooks *w = ctx;
    ab_webhook *h;
    if (find(w, d->id)) return 0;
    if (!(h = add(w, d->url, d->id, d->body, d->created_ms, 1))) return -1;
    h->state = ST_QUEUED;
    return 0;
}

int ab_webhooks_replay(ab_webhooks *w)
{
    ab_error err = {0, ""};
    size_t before = w->count;
    if (!w->store) return 0;
    if (ab_store_outbox_load(w->store, replay_one, w, &err)) {
        ab_logerr("webhooks: reading the outbox failed: %s", err.text);
        return -1;
    }
    if (w->count > before)
        ab_info("webhooks: %zu stored deliveries pending from before the restart; sending "
                "them again", w->count - before);
    pump(w);
    return (int)(w->count - before);
}

void ab_webhooks_free(ab_webhooks *w)
{
    size_t left = 0;
    int active = 0;
    while (w->all) {
        if (w->all->state != ST_DELIVERED) left++;
        if (w->all->state == ST_ACTIVE) active = 1;
        destroy(w->all);
    }
    if (left)
        ab_info("webhooks: %zu deliveries not yet delivered; %s", left,
                w->store ? "they stay in the outbox for the next start" : "dropped");
    if (w->sweep) event_free(w->sweep);
    w->sweep = NULL;
    /* Fails the lookups still pending, whose callbacks free their
     * bufferevents. */
    if (w->dns) evdns_base_free(w->dns, 1);
    w->dns = NULL;
    /* evdns fails them through deferred callbacks: let those run (a few
     * passes: each may defer the next), or their bufferevents leak. */
    for (int i = 0; active && i < 4; i++) event_base_loop(w->base, EVLOOP_NONBLOCK);
    if (w->ssl_ctx) SSL_CTX_free(w->ssl_ctx);
    w->ssl_ctx = NULL;
}
