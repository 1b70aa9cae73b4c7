/* test_metrics.c — the /metrics text: request series by route label
 * (repeated labels summed into one series, unknown codes and routes in
 * their own), the commit histogram's cumulative buckets, the gauges. */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "engine/metrics.h"
#include "test.h"

/* The rendered text (caller frees), or NULL after a counted failure. */
static char *render(const ab_metrics *m)
{
    struct evbuffer *b = evbuffer_new();
    char *text = NULL;
    size_t n;
    CHECK(b != NULL);
    if (!b) return NULL;
    CHECK_INT(ab_metrics_render(m, 12, 3, b), 0);
    n = evbuffer_get_length(b);
    if ((text = malloc(n + 1))) {
        evbuffer_remove(b, text, n);
        text[n] = '\0';
    }
    evbuffer_free(b);
    CHECK(text != NULL);
    return text;
}

/* The value of the series `name` (whole line up to the space), -1 when absent. */
static double value_of(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name, len) && p[len] == ' ') return strtod(p + len + 1, NULL);
    return -1;
}

static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += !strncmp(p, prefix, len);
    return n;
}

static void test_requests(void)
{
    static const char *const labels[] = {"events", "experiment", "experiment", "healthz", "other"};
    ab_metrics m;
    char *text;
    ab_metrics_init(&m, labels, 5);
    ab_metrics_request(&m, 0, 202);
    ab_metrics_request(&m, 0, 202);
    ab_metrics_request(&m, 0, 400);
    ab_metrics_request(&m, 1, 200);   /* GET of /v1/experiments/{id} */
    ab_metrics_request(&m, 2, 200);   /* PUT of the same path: one series */
    ab_metrics_request(&m, 2, 201);
    ab_metrics_request(&m, 3, 418);   /* a code outside the list */
    ab_metrics_request(&m, 4, 404);
    ab_metrics_request(&m, 99, 404);  /* out of range: the last label */
    if (!(text = render(&m))) return;
    CHECK_INT(value_of(text, "abstat_requests_total{route=\"events\",code=\"202\"}"), 2);
    CHECK_INT(value_of(text, "abstat_requests_total{route=\"events\",code=\"400\"}"), 1);
    CHECK_INT(value_of(text, "abstat_requests_total{route=\"experiment\",code=\"200\"}"), 2);
    CHECK_INT(value_of(text, "abstat_requests_total{route=\"experiment\",code=\"201\"}"), 1);
    CHECK_INT(count_lines(text, "abstat_requests_total{route=\"experiment\",code=\"200\"}"), 1);
    CHECK_INT(value_of(text, "abstat_requests_total{route=\"healthz\",code=\"other\"}"), 1);
    CHECK_INT(value_of(text, "abstat_requests_total{route=\"other\",code=\"404\"}"), 2);
    /* Series with no requests are left out. */
    CHECK_INT(value_of(text, "abstat_requests_total{route=\"healthz\",code=\"200\"}"), -1);
    CHECK_INT(count_lines(text, "abstat_requests_total{"), 6);
    CHECK(strstr(text, "# TYPE abstat_requests_total counter\n") != NULL);
    free(text);
}

static void test_commits_and_gauges(void)
{
    static const char *const labels[] = {"other"};
    ab_metrics m;
    char *text;
    ab_metrics_init(&m, labels, 1);
    ab_metrics_commit(&m, 0.00005, 1);  /* first bucket */
    ab_metrics_commit(&m, 0.003, 1);    /* le 0.005 */
    ab_metrics_commit(&m, 7.0, 1);      /* past the last bound: +Inf only */
    ab_metrics_commit(&m, 0.001, 0);    /* a failure is no latency */
    m.ingested[0] = 5;
    m.duplicates[1] = 2;
    m.significance = 1;
    m.loop_stall_max = 0.25;
    if (!(text = render(&m))) return;
    CHECK_INT(value_of(text, "abstat_commit_seconds_bucket{le=\"0.0001\"}"), 1);
    CHECK_INT(value_of(text, "abstat_commit_seconds_bucket{le=\"0.0025\"}"), 1);
    CHECK_INT(value_of(text, "abstat_commit_seconds_bucket{le=\"0.005\"}"), 2);
    CHECK_INT(value_of(text, "abstat_commit_seconds_bucket{le=\"5\"}"), 2);
    CHECK_INT(value_of(text, "abstat_commit_seconds_bucket{le=\"+Inf\"}"), 3);
    CHECK_INT(value_of(text, "abstat_commit_seconds_count"), 3);
    CHECK_CLOSE(value_of(text, "abstat_commit_seconds_sum"), 7.00305, 1e-9, 0);
    CHECK_INT(value_of(text, "abstat_commit_failures_total"), 1);
    CHECK_INT(value_of(text, "abstat_events_ingested_total{type=\"exposure\"}"), 5);
    CHECK_INT(value_of(text, "abstat_events_duplicate_total{type=\"conversion\"}"), 2);
    CHECK_INT(value_of(text, "abstat_users_tracked"), 12);
    CHECK_INT(value_of(text, "abstat_experiments"), 3);
    CHECK_INT(value_of(text, "abstat_significance_reached_total"), 1);
    CHECK_CLOSE(value_of(text, "abstat_loop_stall_max_seconds"), 0.25, 1e-12, 0);
    CHECK_INT(count_lines(text, "abstat_requests_total{"), 0);
    free(text);
}

int main(void)
{
    test_requests();
    test_commits_and_gauges();
    return TEST_DONE("test_metrics");
}
