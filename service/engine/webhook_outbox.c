/* webhook_outbox.c — webhook deliveries in the store's outbox, their failure log, and freeing them. */
#include "engine/webhook_delivery.h"

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "engine/metrics.h"
#include "store/store.h"


/* ---- Logging, rate-limited --------------------------------------------- */

/* Failure lines: each delivery logs its first four failed attempts, then
 * every twelfth (about hourly at the 5-minute backoff), and all of them
 * together at most 20 lines in 10 s; the next line after a suppressed run
 * says how many were left out. */
void ab_webhook_log_failure(ab_webhooks *w, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int64_t now = ab_now_ms();
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

void ab_webhook_save(ab_webhook *h)
{
    ab_webhooks *w = h->owner;
    ab_error err = {0, ""};
    ab_store_delivery d = {h->id, h->url, h->body, h->created_ms};
    if (h->saved || !store_free(w)) return;
    if (ab_store_outbox_put(w->store, &d, &err) == 0) h->saved = 1;
    else ab_webhook_log_failure(w, "webhook %s: storing it in the outbox failed: %s", h->id, err.text);
}

void ab_webhook_destroy(ab_webhook *h)
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
                           ab_webhook_input_cb, h);
        evhttp_connection_free(h->conn); /* frees bev and ssl */
    }
    free(h->id);
    free(h->url);
    free(h->body);
    free(h);
    if (w->metrics) w->metrics->webhooks_pending = w->count;
}

/* A delivered one leaves the outbox, then memory. */
void ab_webhook_forget(ab_webhook *h)
{
    ab_error err = {0, ""};
    if (h->saved) {
        if (!store_free(h->owner)) return; /* the sweep comes back */
        if (ab_store_outbox_del(h->owner->store, h->id, &err)) {
            ab_webhook_log_failure(h->owner, "webhook %s: removing it from the outbox failed: %s", h->id,
                        err.text);
            return;
        }
    }
    ab_webhook_destroy(h);
}

void ab_webhook_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    ab_webhooks *w = arg;
    ab_webhook *h, *next;
    (void)fd;
    (void)what;
    for (h = w->all; h; h = next) {
        next = h->next;
        if (h->state == ST_DELIVERED) ab_webhook_forget(h);
        else if (!h->saved) ab_webhook_save(h);
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
    ab_webhook_sweep_cb(-1, 0, w);
}

/* Watches the connection's input buffer: evhttp caps headers and body, but
 * buffers an unterminated chunk-size line without limit. */
void ab_webhook_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    ab_webhook *h = arg;
    (void)info;
    if (h->state == ST_ACTIVE && evbuffer_get_length(buf) > h->answer_cap) {
        snprintf(h->why, sizeof h->why, "answer larger than %zu bytes", h->answer_cap);
        evbuffer_remove_cb(buf, ab_webhook_input_cb, h);
        event_active(h->deadline, EV_TIMEOUT, 1);
    }
}
