/* metrics.h — counters behind GET /metrics (Prometheus text format). */
#ifndef ABSTAT_METRICS_H
#define ABSTAT_METRICS_H

#include <event2/buffer.h>
#include <stdint.h>

#include "core/event.h"

typedef enum {
    AB_ROUTE_EVENTS = 0, AB_ROUTE_EXPERIMENTS, AB_ROUTE_EXPERIMENT, AB_ROUTE_STOP,
    AB_ROUTE_RESULTS, AB_ROUTE_DECISION, AB_ROUTE_ANALYZE, AB_ROUTE_SAMPLE_SIZE,
    AB_ROUTE_HEALTHZ, AB_ROUTE_METRICS, AB_ROUTE_START, AB_ROUTE_ASSIGN, AB_ROUTE_OPENAPI,
    AB_ROUTE_SCRIPT, AB_ROUTE_OTHER, AB_ROUTE_COUNT
} ab_route;

#define AB_METRICS_CODES 16
#define AB_METRICS_BUCKETS 14

typedef struct ab_metrics {
    uint64_t ingested[3];            /* by event type */
    uint64_t duplicates[3];
    uint64_t rejected;               /* events in refused batches */
    uint64_t rejected_requests;
    uint64_t uncounted;              /* stored events counting failed for (never expected) */
    uint64_t requests[AB_ROUTE_COUNT][AB_METRICS_CODES];
    uint64_t commit_buckets[AB_METRICS_BUCKETS]; /* cumulative at render */
    uint64_t commits, commit_failures;
    double commit_seconds;
    uint64_t significance;           /* significance_reached events */
    uint64_t webhooks_sent, webhooks_failed;
    uint64_t webhooks_pending;       /* deliveries not yet answered 2xx (gauge) */
    double loop_stall_max;           /* seconds: the event loop's worst lateness since start */
    /* What the start-up checks of the store found (--recover). */
    uint64_t store_lost_events, store_lost_commits, store_corrupt_rows;
    int store_recovered;
} ab_metrics;

void ab_metrics_request(ab_metrics *m, ab_route route, int code);
void ab_metrics_commit(ab_metrics *m, double seconds, int ok);
/* Appends the exposition text; users is the gauge of tracked users. */
int ab_metrics_render(const ab_metrics *m, double users, double experiments,
                      struct evbuffer *out);

#endif
