/* metrics.c — counting requests, events and commits; the /metrics text. */
#include "engine/metrics.h"

#include <event2/buffer.h>
#include <string.h>

static const int codes[AB_METRICS_CODES] = {200, 201, 202, 204, 304, 400, 401, 403,
                                            404, 405, 409, 413, 415, 500, 503, 0};
static const double bounds[AB_METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                  0.005, 0.01, 0.025, 0.05, 0.1,
                                                  0.25, 0.5, 1.0, 5.0};
static const char *const type_names[3] = {"exposure", "conversion", "nps"};

void ab_metrics_init(ab_metrics *m, const char *const *labels, size_t n)
{
    memset(m, 0, sizeof *m);
    if (n > AB_METRICS_ROUTES) n = AB_METRICS_ROUTES;
    for (size_t i = 0; i < n; i++) m->route_label[i] = labels[i];
    m->nroutes = n;
}

void ab_metrics_request(ab_metrics *m, size_t route, int code)
{
    size_t i;
    if (!m->nroutes) return; /* no labels: nothing could name the count */
    if (route >= m->nroutes) route = m->nroutes - 1;
    for (i = 0; i < AB_METRICS_CODES - 1 && codes[i] && codes[i] != code; i++) {}
    /* The last column counts codes outside the list. */
    if (!codes[i] || codes[i] != code) i = AB_METRICS_CODES - 1;
    m->requests[route][i]++;
}

void ab_metrics_commit(ab_metrics *m, double seconds, int ok)
{
    if (!ok) {
        m->commit_failures++;
        return;
    }
    m->commits++;
    m->commit_seconds += seconds;
    for (size_t i = 0; i < AB_METRICS_BUCKETS; i++)
        if (seconds <= bounds[i]) {
            m->commit_buckets[i]++;
            break;
        }
}

/* The first route index with the label of route r: one series a label. */
static size_t first_of_label(const ab_metrics *m, size_t r)
{
    for (size_t i = 0; i < r; i++)
        if (!strcmp(m->route_label[i], m->route_label[r])) return i;
    return r;
}

/* Replies with code column c over every route index labelled as r. */
static uint64_t label_count(const ab_metrics *m, size_t r, int c)
{
    uint64_t n = 0;
    for (size_t i = r; i < m->nroutes; i++)
        if (!strcmp(m->route_label[i], m->route_label[r])) n += m->requests[i][c];
    return n;
}

int ab_metrics_render(const ab_metrics *m, double users, double experiments,
                      struct evbuffer *out)
{
    int bad = 0;
    uint64_t cum = 0;
    bad |= evbuffer_add_printf(out, "# HELP abstat_events_ingested_total Events stored, by type.\n"
                                    "# TYPE abstat_events_ingested_total counter\n") < 0;
    for (int t = 0; t < 3; t++)
        bad |= evbuffer_add_printf(out, "abstat_events_ingested_total{type=\"%s\"} %llu\n",
                                   type_names[t], (unsigned long long)m->ingested[t]) < 0;
    bad |= evbuffer_add_printf(out, "# HELP abstat_events_duplicate_total Events whose id was seen before, by type.\n"
                                    "# TYPE abstat_events_duplicate_total counter\n") < 0;
    for (int t = 0; t < 3; t++)
        bad |= evbuffer_add_printf(out, "abstat_events_duplicate_total{type=\"%s\"} %llu\n",
                                   type_names[t], (unsigned long long)m->duplicates[t]) < 0;
    bad |= evbuffer_add_printf(out,
        "# HELP abstat_events_rejected_total Events in refused batches.\n"
        "# TYPE abstat_events_rejected_total counter\n"
        "abstat_events_rejected_total %llu\n"
        "# HELP abstat_requests_total HTTP requests by route and status code.\n"
        "# TYPE abstat_requests_total counter\n",
        (unsigned long long)m->rejected) < 0;
    for (size_t r = 0; r < m->nroutes; r++) {
        if (first_of_label(m, r) != r) continue; /* summed with its first */
        for (int c = 0; c < AB_METRICS_CODES; c++) {
            uint64_t n = label_count(m, r, c);
            if (!n) continue;
            if (codes[c])
                bad |= evbuffer_add_printf(out, "abstat_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                                           m->route_label[r], codes[c], (unsigned long long)n) < 0;
            else
                bad |= evbuffer_add_printf(out, "abstat_requests_total{route=\"%s\",code=\"other\"} %llu\n",
                                           m->route_label[r], (unsigned long long)n) < 0;
        }
    }
    bad |= evbuffer_add_printf(out, "# HELP abstat_commit_seconds Latency of the store's group commits.\n"
                                    "# TYPE abstat_commit_seconds histogram\n") < 0;
    for (size_t i = 0; i < AB_METRICS_BUCKETS; i++) {
        cum += m->commit_buckets[i];
        bad |= evbuffer_add_printf(out, "abstat_commit_seconds_bucket{le=\"%g\"} %llu\n", bounds[i],
                                   (unsigned long long)cum) < 0;
    }
    bad |= evbuffer_add_printf(out,
        "abstat_commit_seconds_bucket{le=\"+Inf\"} %llu\n"
        "abstat_commit_seconds_sum %.9f\n"
        "abstat_commit_seconds_count %llu\n"
        "# HELP abstat_commit_failures_total Group commits that failed (nothing acknowledged).\n"
        "# TYPE abstat_commit_failures_total counter\n"
        "abstat_commit_failures_total %llu\n"
        "# HELP abstat_users_tracked Users with an exposure, over all experiments.\n"
        "# TYPE abstat_users_tracked gauge\n"
        "abstat_users_tracked %.0f\n"
        "# HELP abstat_experiments Experiments defined.\n"
        "# TYPE abstat_experiments gauge\n"
        "abstat_experiments %.0f\n"
        "# HELP abstat_significance_reached_total Variants that reached significance.\n"
        "# TYPE abstat_significance_reached_total counter\n"
        "abstat_significance_reached_total %llu\n"
        "# HELP abstat_webhooks_total Webhook deliveries by outcome.\n"
        "# TYPE abstat_webhooks_total counter\n"
        "abstat_webhooks_total{outcome=\"delivered\"} %llu\n"
        "abstat_webhooks_total{outcome=\"failed\"} %llu\n",
        (unsigned long long)m->commits, m->commit_seconds, (unsigned long long)m->commits,
        (unsigned long long)m->commit_failures, users, experiments,
        (unsigned long long)m->significance, (unsigned long long)m->webhooks_sent,
        (unsigned long long)m->webhooks_failed) < 0;
    bad |= evbuffer_add_printf(out,
        "# HELP abstat_store_lost_events Acknowledged events missing from the store at start (accepted by --recover).\n"
        "# TYPE abstat_store_lost_events gauge\n"
        "abstat_store_lost_events %llu\n"
        "# HELP abstat_store_lost_commits Acknowledged commits missing from the database at start.\n"
        "# TYPE abstat_store_lost_commits gauge\n"
        "abstat_store_lost_commits %llu\n"
        "# HELP abstat_store_corrupt_records Unreadable event rows skipped at start (--recover).\n"
        "# TYPE abstat_store_corrupt_records gauge\n"
        "abstat_store_corrupt_records %llu\n"
        "# HELP abstat_store_recovered 1 when this process started with --recover on a damaged store.\n"
        "# TYPE abstat_store_recovered gauge\n"
        "abstat_store_recovered %d\n",
        (unsigned long long)m->store_lost_events, (unsigned long long)m->store_lost_commits,
        (unsigned long long)m->store_corrupt_rows, m->store_recovered) < 0;
    bad |= evbuffer_add_printf(out,
        "# HELP abstat_webhooks_pending Webhook deliveries stored and not yet answered 2xx.\n"
        "# TYPE abstat_webhooks_pending gauge\n"
        "abstat_webhooks_pending %llu\n"
        "# HELP abstat_evaluator 1 when this node runs the once-a-second evaluation, the running minima and the webhooks (always on one node; on PostgreSQL the holder of the evaluator lock).\n"
        "# TYPE abstat_evaluator gauge\n"
        "abstat_evaluator %d\n"
        "# HELP abstat_loop_stall_max_seconds Longest the event loop was late for a 10 ms timer since start.\n"
        "# TYPE abstat_loop_stall_max_seconds gauge\n"
        "abstat_loop_stall_max_seconds %.6f\n",
        (unsigned long long)m->webhooks_pending, m->evaluator, m->loop_stall_max) < 0;
    return bad ? -1 : 0;
}
