/* webhook.h — significance notifications that cannot hurt the daemon
 * (README "Statistics" and "Storage and durability, Security"): every delivery is stored in the store's outbox
 * until the receiver answers 2xx (at least once, across restarts; the body
 * carries an `id` for the receiver to drop repeats), host names are
 * resolved asynchronously (evdns), each attempt has a total deadline and
 * caps on the answer's headers and body, at most max_inflight deliveries
 * hold a connection, and retries back off from the current time. http://
 * and https:// (certificate and host name verified against the system
 * store). URLs are logged without query or credentials. */
#ifndef ABSTAT_WEBHOOK_H
#define ABSTAT_WEBHOOK_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/webhook_url.h"

struct ab_metrics;
struct ab_store;
struct evdns_base;

typedef struct ab_webhook ab_webhook;

typedef struct {
    int max_inflight;         /* deliveries holding a connection at once */
    double deadline_s;        /* per attempt, DNS and TLS included */
    size_t max_headers;       /* bytes of the answer's status line and headers */
    size_t max_body;          /* bytes of the answer's body (it is discarded) */
} ab_webhook_limits;

typedef struct ab_webhooks {
    struct event_base *base;
    struct evdns_base *dns;
    void *ssl_ctx;            /* SSL_CTX *, made at start (trusted certificates loaded once) */
    struct ab_store *store;   /* the outbox; NULL keeps deliveries in memory only */
    struct ab_metrics *metrics;
    ab_webhook_limits lim;
    ab_webhook *all;          /* every delivery not yet done */
    size_t count;
    int inflight;
    struct event *sweep;      /* store work that had to wait for the group commit */
    /* rate limit of failure lines */
    int64_t log_window_ms;
    int log_lines, log_suppressed;
} ab_webhooks;

/* Defaults: 8 in flight, 10 s per attempt, 16 KiB of headers, 64 KiB of
 * body; the resolver is made once here, from /etc/resolv.conf and
 * /etc/hosts. -1 when it cannot be set up. */
int ab_webhooks_init(ab_webhooks *w, struct event_base *base, struct ab_store *store,
                     struct ab_metrics *metrics);

/* Queues the delivery of body (JSON text, copied) to url under the
 * delivery id (a repeat of a pending id is dropped). It is written to the
 * outbox at once when the store is not inside another transaction, else by
 * ab_webhooks_write_unsaved in the caller's transaction or at the next
 * sweep. Returns 0, or -1 when the URL is unusable or memory ran out. */
int ab_webhook_post(ab_webhooks *w, const char *url, const char *id, const char *body);

/* Inside a transaction the caller owns (not the group commit's): writes
 * the deliveries not yet stored. After the caller's commit succeeded,
 * ab_webhooks_mark_saved records that they are stored. */
int ab_webhooks_write_unsaved(ab_webhooks *w, ab_error *err);
void ab_webhooks_mark_saved(ab_webhooks *w);

/* On start: queues every delivery of the outbox again. Returns how many. */
int ab_webhooks_replay(ab_webhooks *w);

/* Stores what is unsaved and removes delivered rows (at shutdown). */
void ab_webhooks_sync(ab_webhooks *w);

/* Cancels every delivery in flight (they stay in the outbox). */
void ab_webhooks_free(ab_webhooks *w);


#endif
