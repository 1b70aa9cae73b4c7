/* webhook.c — the webhook sender's life cycle (see webhook.h): set-up, queueing a delivery, the outbox replayed at start, shutdown.
 *
 * One delivery is one row of the store's outbox (webhook_outbox.c) and one
 * ab_webhook; each attempt (webhook_attempt.c) makes a fresh connection, so
 * nothing on the loop waits for DNS, a connect or a peer. */
#include "engine/webhook.h"

#include <event2/dns.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "engine/metrics.h"
#include "engine/webhook_delivery.h"
#include "store/store.h"

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
    if (!ab_webhook_tls_context(w, err, sizeof err))
        ab_warn("webhooks: %s: https:// deliveries will fail", err);
    w->sweep = event_new(base, -1, EV_PERSIST, ab_webhook_sweep_cb, w);
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
        !(h->deadline = evtimer_new(w->base, ab_webhook_deadline_cb, h)) ||
        !(h->timer = evtimer_new(w->base, ab_webhook_retry_cb, h))) {
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
    if (!(h = add(w, url, id, body, ab_now_ms(), 0))) {
        ab_logerr("out of memory queueing webhook %s", id);
        if (w->metrics) w->metrics->webhooks_failed++;
        return -1;
    }
    ab_webhook_save(h);
    ab_webhook_want_attempt(h);
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
    ab_webhook_pump(w);
    return (int)(w->count - before);
}

void ab_webhooks_free(ab_webhooks *w)
{
    size_t left = 0;
    int active = 0;
    while (w->all) {
        if (w->all->state != ST_DELIVERED) left++;
        if (w->all->state == ST_ACTIVE) active = 1;
        ab_webhook_destroy(w->all);
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
