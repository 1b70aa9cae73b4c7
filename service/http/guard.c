/* guard.c — the per-connection input filter in front of evhttp (see guard.h for why it exists: what libevent 2.1 cannot do itself): connections, requests done, the stop. */
#include "http/guard.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/log.h"
#include "base/clock.h"
#include "http/guard_conn.h"
#include "http/http.h"

static size_t slot(const struct bufferevent *bev)
{
    uintptr_t p = (uintptr_t)bev;
    return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 20) & ab_guard_g.table_mask;
}

static guard_conn *lookup(const struct bufferevent *bev)
{
    guard_conn *c;
    if (!ab_guard_g.table || !bev) return NULL;
    for (c = ab_guard_g.table[slot(bev)]; c; c = c->hnext)
        if (c->bev == bev) return c;
    return NULL;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    guard_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == ST_HEAD) {
        ab_debug("request head not complete within --header-timeout: connection closed");
        ab_guard_doom(c);
    }
}

static void free_conn(void *arg)
{
    guard_conn *c = arg, **pp;
    if (!c) return;
    ab_guard_uncount(c);
    ab_guard_undrain(c);
    ab_guard_release(c);
    if (ab_guard_g.table)
        for (pp = &ab_guard_g.table[slot(c->bev)]; *pp; pp = &(*pp)->hnext)
            if (*pp == c) {
                *pp = c->hnext;
                break;
            }
    if (c->prev) c->prev->next = c->next;
    else ab_guard_g.oldest = c->next;
    if (c->next) c->next->prev = c->prev;
    else ab_guard_g.newest = c->prev;
    if (c->deadline) event_free(c->deadline);
    if (c->kick) event_free(c->kick);
    if (c->fwd) evbuffer_free(c->fwd);
    if (c->body) evbuffer_free(c->body);
    free(c);
}
static void on_kick(evutil_socket_t fd, short what, void *arg);

/* A new connection (evhttp_set_bevcb): count it, and at the limit give the
 * slot of the connection that has waited longest for a request head, or
 * refuse the new one with 503. */
static struct bufferevent *new_conn(struct event_base *base, void *arg)
{
    guard_conn *c = calloc(1, sizeof *c);
    (void)arg;
    if (!c) return NULL;
    c->under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->under) goto fail;
    /* Deferred callbacks: libevent 2.1's filter calls evhttp back without
     * holding a reference (be_filter_writecb); evhttp may free the
     * connection in that callback, and the filter then re-arms a timeout on
     * freed memory. Deferred, every callback holds a reference. */
    c->bev = bufferevent_filter_new(c->under, ab_guard_filter_in, ab_guard_filter_out,
                                   BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, free_conn, c);
    if (!c->bev) {
        bufferevent_free(c->under);
        goto fail;
    }
    evbuffer_add_cb(bufferevent_get_output(c->bev), ab_guard_output_added, c);
    bufferevent_setwatermark(c->under, EV_READ, 0, ab_guard_g.lim.max_header_bytes + INPUT_SLACK);
    bufferevent_setwatermark(c->under, EV_WRITE, 0, OUTPUT_CAP);
    c->deadline = evtimer_new(base, on_deadline, c);
    c->kick = event_new(base, -1, 0, on_kick, c);
    if (c->kick) event_priority_set(c->kick, event_base_get_npriorities(base) - 1);
    c->since_ms = ab_mono_ns() / 1000000;
    c->head_ns = ab_mono_ns();
    c->prev = ab_guard_g.newest;
    if (ab_guard_g.newest) ab_guard_g.newest->next = c;
    else ab_guard_g.oldest = c;
    ab_guard_g.newest = c;
    c->hnext = ab_guard_g.table[slot(c->bev)];
    ab_guard_g.table[slot(c->bev)] = c;

    if (ab_guard_g.counted >= (size_t)ab_guard_g.lim.max_connections) {
        guard_conn *v;
        for (v = ab_guard_g.oldest; v; v = v->next)
            if (v->counted && !v->doomed && v->state == ST_HEAD &&
                c->since_ms - v->since_ms >= EVICT_AFTER_MS)
                break;
        if (v) {
            ab_debug("connection limit: closing one still without a request head");
            ab_guard_doom(v);
        }
    }
    if (ab_guard_g.counted >= (size_t)ab_guard_g.lim.max_connections) {
        /* evhttp parses what is already in its input before reading. */
        ab_guard_refusal_set(&c->refusal, 503, "Retry-After", "1",
                    "too many connections (--max-connections %d); retry later",
                    ab_guard_g.lim.max_connections);
        c->state = ST_CLOSING;
        evbuffer_add_printf(bufferevent_get_input(c->bev),
                            "GET / HTTP/1.1\r\nHost: abstat\r\nConnection: close\r\n\r\n");
        return c->bev;
    }
    c->counted = 1;
    ab_guard_g.counted++;
    ab_guard_arm_deadline(c);
    return c->bev;
fail:
    free(c);
    return NULL;
}

/* --log-level debug: the request line (without its query, which may
 * carry ?token=), status, time from the complete head to the written
 * reply, and body bytes. Never a header value, a body or a user. */
static void log_request(guard_conn *c, struct evhttp_request *req)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *method = "?", *cl;
    uint64_t out = 0;
    for (size_t i = 0; i < AB_GUARD_NMETHODS; i++)
        if (ab_guard_method_cmds[i] == cmd) method = ab_guard_method_names[i];
    cl = evhttp_find_header(evhttp_request_get_output_headers(req), "Content-Length");
    if (cl && cmd != EVHTTP_REQ_HEAD) out = strtoull(cl, NULL, 10);
    ab_log_request(method, path && *path ? path : "-", evhttp_request_get_response_code(req),
                   (double)(ab_mono_ns() - c->head_ns) * 1e-6, c->body_in, out);
}

/* The reply to a request has been written: pass on the next one. */
static void request_done(struct evhttp_request *req, void *arg)
{
    guard_conn *c = arg;
    if (ab_log_enabled(AB_LOG_DEBUG)) log_request(c, req);
    ab_guard_undrain(c);
    ab_guard_release(c);
    if (c->state == ST_CLOSING || c->doomed) return;
    if (c->state == ST_DISCARD) { /* the rest of the body is dropped first */
        c->replied = 1;
        return;
    }
    c->state = ST_HEAD;
    c->since_ms = ab_mono_ns() / 1000000;
    /* The socket may be paused at its watermark with the next request
     * already read: run the filter again, at the loop's lowest priority
     * (with the ingest commit), so that a pipelining client gets a request
     * per turn and cannot starve new clients or the commit. */
    if (c->kick && evbuffer_get_length(bufferevent_get_input(c->under))) {
        /* Its socket reads go to the lowest priority too: a client that
         * keeps a queue of requests waits behind everyone else. */
        if (!c->demoted && bufferevent_priority_set(c->under, event_get_priority(c->kick)) == 0)
            c->demoted = 1;
        event_active(c->kick, EV_TIMEOUT, 0);
    }
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    guard_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == ST_HEAD && !c->doomed)
        bufferevent_trigger(c->under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

int ab_guard_request(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    guard_conn *c = evcon ? lookup(evhttp_connection_get_bufferevent(evcon)) : NULL;
    struct evkeyvalq *out;
    if (!c) return 0;
    evhttp_request_set_on_complete_cb(req, request_done, c);
    if (!c->refusal.code) return 0;
    out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Connection", "close");
    if (c->refusal.hname[0]) evhttp_add_header(out, c->refusal.hname, c->refusal.hvalue);
    ab_http_error(req, c->refusal.code, "%s", c->refusal.text);
    return 1;
}

int ab_guard_init(struct event_base *base, struct evhttp *http, const ab_guard_limits *lim,
                  ab_guard_admit_fn admit, void *admit_arg)
{
    size_t n = 64;
    memset(&ab_guard_g, 0, sizeof ab_guard_g);
    ab_guard_g.base = base;
    ab_guard_g.http = http;
    ab_guard_g.lim = *lim;
    ab_guard_g.admit = admit;
    ab_guard_g.admit_arg = admit_arg;
    while (n < (size_t)lim->max_connections * 4) n *= 2;
    if (!(ab_guard_g.table = calloc(n, sizeof *ab_guard_g.table))) return -1;
    ab_guard_g.table_mask = n - 1;
    evhttp_set_bevcb(http, new_conn, NULL);
    return 0;
}

void ab_guard_stats(size_t *connections, size_t *pending_bytes)
{
    if (connections) *connections = ab_guard_g.counted;
    if (pending_bytes) *pending_bytes = ab_guard_g.pending;
}

/* Whether the client had begun sending a request when the stop came:
 * bytes read and not yet looked at, or waiting in the socket. */
static int has_begun(guard_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->under);
    char b;
    if (evbuffer_get_length(bufferevent_get_input(c->under))) return 1;
    return fd >= 0 && recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

size_t ab_guard_stop(void)
{
    ab_guard_g.stopping = 1;
    for (guard_conn *c = ab_guard_g.oldest; c; c = c->next) {
        if (c->doomed || c->draining || c->state == ST_CLOSING) continue;
        if (c->state == ST_DISCARD && c->replied) continue;
        if (c->state == ST_HEAD) {
            if (!has_begun(c)) continue;
            c->grace = 1;
        }
        c->draining = 1;
        ab_guard_g.draining++;
    }
    return ab_guard_g.draining;
}

size_t ab_guard_in_flight(void)
{
    return ab_guard_g.draining;
}

size_t ab_guard_cut(void)
{
    size_t n = 0;
    for (guard_conn *c = ab_guard_g.oldest; c; c = c->next) {
        if (!c->draining || c->doomed) continue;
        if (c->state != ST_HEAD && c->state != ST_BODY && c->state != ST_CHUNK_SIZE &&
            c->state != ST_CHUNK_DATA && c->state != ST_CHUNK_END && c->state != ST_TRAILER)
            continue;
        ab_guard_doom(c);
        n++;
    }
    return n;
}

void ab_guard_free(void)
{
    /* Connections still open are freed by evhttp_free (free_conn). */
    free(ab_guard_g.table);
    ab_guard_g.table = NULL;
}
