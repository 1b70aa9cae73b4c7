/* webhook.h — POSTing JSON notifications with libevent's HTTP client,
 * retried with backoff, never blocking the loop. */
#ifndef ABSTAT_WEBHOOK_H
#define ABSTAT_WEBHOOK_H

#include <event2/event.h>
#include <jansson.h>

struct ab_metrics;

typedef struct ab_webhook ab_webhook;

typedef struct {
    struct event_base *base;
    struct ab_metrics *metrics;   /* delivered/failed counters; may be NULL */
    ab_webhook *inflight;         /* list of deliveries not finished */
    const double *backoff;        /* seconds before each retry */
    int attempts;                 /* total attempts, first included */
    int timeout_s;                /* per attempt */
} ab_webhooks;

/* Retries after 1 s, 5 s and 30 s: four attempts in all. */
void ab_webhooks_init(ab_webhooks *w, struct event_base *base, struct ab_metrics *metrics);

/* Queues a POST of body (stolen) to url (http:// only). Returns 0, or -1
 * when the URL is unusable or memory ran out (logged, body freed). */
int ab_webhook_post(ab_webhooks *w, const char *url, json_t *body);

/* Cancels every delivery still in flight (logged), at shutdown. */
void ab_webhooks_free(ab_webhooks *w);

#endif
