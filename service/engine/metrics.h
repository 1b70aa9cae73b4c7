/* metrics.h — counters behind GET /metrics (Prometheus text format). */
#ifndef ABSTAT_METRICS_H
#define ABSTAT_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* Request counters are kept per route label: at most this many labels,
 * the last of them the one for everything else. */
#define AB_METRICS_ROUTES 32
#define AB_METRICS_CODES 16
#define AB_METRICS_BUCKETS 14

typedef struct ab_metrics {
    uint64_t ingested[3];            /* by event type */
    uint64_t duplicates[3];
    uint64_t rejected;               /* events in refused batches */
    uint64_t rejected_requests;
    uint64_t uncounted;              /* stored events counting failed for (never expected) */
    /* route_label[i] names requests[i] (borrowed: static strings); the
     * last label counts routes out of range. */
    const char *route_label[AB_METRICS_ROUTES];
    size_t nroutes;
    uint64_t requests[AB_METRICS_ROUTES][AB_METRICS_CODES];
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
    int evaluator;                   /* 1: this node runs the evaluation and webhooks */
} ab_metrics;

/* Zeroes m and names its request routes: labels[0..n-1] (borrowed), the
 * last one also counting any route index out of range. n is at most
 * AB_METRICS_ROUTES (labels past it are dropped). Labels may repeat: the
 * counts of one label are summed into one series when rendered. */
void ab_metrics_init(ab_metrics *m, const char *const *labels, size_t n);
/* Counts a reply with status code on route (an index into the labels). */
void ab_metrics_request(ab_metrics *m, size_t route, int code);
void ab_metrics_commit(ab_metrics *m, double seconds, int ok);
/* Appends the exposition text; users is the gauge of tracked users. */
int ab_metrics_render(const ab_metrics *m, double users, double experiments,
                      struct evbuffer *out);

#endif
