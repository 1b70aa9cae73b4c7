/* test_revenue_cap_daemon.c — revenue_cap against a real abstatd: refused forms
 * are 400s that change nothing; a seeded heavy-tailed stream with refunds
 * sent over HTTP gives results whose capped figures equal the library's on
 * the per-user totals the test keeps itself; the figures survive a restart
 * (replay); changing the cap needs no restart of monitoring and leaves the
 * raw figures and the verdict as they were. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

#define USERS 3000
#define ARMS 3

static td_daemon D;
static const char *const NAMES[ARMS] = {"control", "v1", "v2"};
static double total[USERS];
static int arm_of[USERS];

static void expect(const char *method, const char *path, const char *body, int status,
                   const char *needle)
{
    td_response r = td_req(&D, method, path, body);
    snprintf(test_context, sizeof test_context, "%s %s %.200s", method, path, body ? body : "");
    CHECK_INT(r.status, status);
    if (needle) {
        const char *msg = json_string_value(json_object_get(r.json, "error"));
        CHECK(msg && strstr(msg, needle));
        if (!msg || !strstr(msg, needle)) fprintf(stderr, "  error: %s\n", msg ? msg : "(none)");
    }
    test_context[0] = '\0';
    td_free(&r);
}

static uint64_t rng = 0x243f6a8885a308d3u;
static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return ((double)((rng * 0x2545f4914f6cdd1du) >> 11) + 0.5) / 9007199254740992.0;
}

/* Appends one event to the batch text; sends it when it is full. */
static char batch[1 << 20];
static size_t blen;
static void flush(void)
{
    if (blen <= 1) return;
    batch[blen++] = ']';
    batch[blen] = '\0';
    expect("POST", "/v1/events", batch, 202, NULL);
    blen = 0;
}
static void add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add(const char *fmt, ...)
{
    va_list ap;
    char sep;
    if (blen > sizeof batch - 400) flush();
    sep = blen ? ',' : '[';
    batch[blen++] = sep;
    va_start(ap, fmt);
    blen += (size_t)vsnprintf(batch + blen, sizeof batch - blen, fmt, ap);
    va_end(ap);
}

/* Pareto(1.1) amounts, a quarter of the users pay, one payment in eight
 * refunded in part or in full; values keep two decimals, as prices do. */
static void send_stream(void)
{
    for (int u = 0; u < USERS; u++) {
        arm_of[u] = (int)(uniform() * ARMS);
        add("{\"experiment\":\"cap\",\"variant\":\"%s\",\"user\":\"u%d\",\"type\":\"exposure\"}",
            NAMES[arm_of[u]], u);
        if (uniform() > 0.25) continue;
        for (int t = 1 + (int)(uniform() * 2); t > 0; t--) {
            double v = round(100.0 * 4.0 * pow(uniform(), -1.0 / 1.1)) / 100.0;
            add("{\"experiment\":\"cap\",\"user\":\"u%d\",\"type\":\"conversion\","
                "\"phase\":\"decision\",\"value\":%.17g}", u, v);
            total[u] += v;
            if (uniform() < 0.125) {
                double back = uniform() < 0.5 ? -v : -round(50.0 * v) / 100.0;
                add("{\"experiment\":\"cap\",\"user\":\"u%d\",\"type\":\"conversion\","
                    "\"phase\":\"decision\",\"value\":%.17g}", u, back);
                total[u] += back;
            }
        }
    }
    flush();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static double at(const json_t *arr, size_t i)
{
    const json_t *v = json_array_get(arr, i);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The results' capped figures against the library's with caps at the qlo
 * and qhi quantiles (qlo NaN: none) of every user's total. */
static void check_results(double qhi, double qlo)
{
    static double sorted[USERS], x[USERS];
    double lo = -INFINITY, hi;
    ab_moments m[ARMS];
    td_response r = td_req(&D, "GET", "/v1/experiments/cap/results", NULL);
    const json_t *vars = json_object_get(r.json, "variants");

    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(vars), ARMS);
    memcpy(sorted, total, sizeof sorted);
    qsort(sorted, USERS, sizeof *sorted, cmp_double);
    CHECK(ab_quantile_type7(sorted, USERS, qhi, &hi) == AB_OK);
    if (!isnan(qlo)) CHECK(ab_quantile_type7(sorted, USERS, qlo, &lo) == AB_OK);
    CHECK(hi < sorted[USERS - 1]); /* the cap bites */
    for (int a = 0; a < ARMS && json_array_size(vars) == ARMS; a++) {
        const json_t *v = json_array_get(vars, (size_t)a);
        const json_t *cap = json_object_get(json_object_get(v, "revenue"), "capped");
        const json_t *caps = json_object_get(cap, "caps");
        ab_mean_summary s;
        size_t n = 0;
        for (int u = 0; u < USERS; u++)
            if (arm_of[u] == a) x[n++] = total[u];
        CHECK(ab_revenue_capped_summary(x, n, lo, hi, 0.05, &s) == AB_OK);
        CHECK(ab_revenue_capped_moments(x, n, lo, hi, &m[a]) == AB_OK);
        CHECK(cap != NULL);
        CHECK_REL(at(caps, 1), hi, 1e-14);
        if (isnan(qlo)) CHECK(json_is_null(json_array_get(caps, 0)));
        else CHECK_CLOSE(at(caps, 0), lo, 1e-14, 1e-300);
        CHECK_REL(num(cap, "mean"), s.mean, 1e-12);
        CHECK_REL(num(cap, "sd"), s.sd, 1e-12);
        CHECK_REL(at(json_object_get(cap, "ci"), 0), s.ci.lo, 1e-12);
        CHECK_REL(at(json_object_get(cap, "ci"), 1), s.ci.hi, 1e-12);
        if (!a) continue;
        ab_welch_result w;
        const json_t *vs = json_object_get(
            json_object_get(json_object_get(v, "vs_control"), "revenue"), "capped");
        CHECK(ab_welch_test(&m[a], &m[0], 0.05, &w) == AB_OK);
        CHECK(vs != NULL);
        CHECK_REL(num(vs, "diff"), w.diff, 1e-10);
        CHECK_REL(num(vs, "t"), w.t, 1e-10);
        CHECK_REL(num(vs, "df"), w.df, 1e-10);
        CHECK_REL(num(vs, "p_value"), w.p_value, 1e-9);
        CHECK_REL(at(json_object_get(vs, "diff_ci"), 0), w.diff_ci.lo, 1e-10);
        CHECK_REL(at(json_object_get(vs, "diff_ci"), 1), w.diff_ci.hi, 1e-10);
    }
    /* The control has no comparison, so no capped comparison either. */
    CHECK(json_object_get(json_array_get(vars, 0), "vs_control") == NULL);
    td_free(&r);
}

/* A field of the results that capping must leave alone. */
static char *raw_part(void)
{
    td_response r = td_req(&D, "GET", "/v1/experiments/cap/results", NULL);
    json_t *keep = json_object();
    char *text;
    json_object_set(keep, "verdict", json_object_get(r.json, "verdict"));
    json_t *vars = json_deep_copy(json_object_get(r.json, "variants"));
    size_t i;
    json_t *v;
    json_array_foreach(vars, i, v) {
        json_object_del(json_object_get(v, "revenue"), "capped");
        json_object_del(json_object_get(json_object_get(v, "vs_control"), "revenue"), "capped");
    }
    json_object_set_new(keep, "variants", vars);
    text = json_dumps(keep, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(keep);
    td_free(&r);
    return text;
}

static void test_refused(void)
{
    static const struct {
        const char *cap, *needle;
    } bad[] = {
        {"{\"percentile\": 0}", "revenue_cap.percentile"},
        {"{\"percentile\": 1.01}", "revenue_cap.percentile"},
        {"{\"percentile\": 0.9, \"lower\": 0.9}", "revenue_cap.lower"},
        {"{\"percentile\": 0.9, \"lower\": -0.1}", "revenue_cap.lower"},
        {"{\"percentile\": 0.9, \"max\": 10}", "not both"},
        {"{\"max\": 10, \"min\": 10}", "revenue_cap.min"},
        {"{\"max\": 10, \"lower\": 0.1}", "revenue_cap.lower"},
        {"{\"min\": 1}", "needs an upper"},
        {"{}", "needs"},
        {"{\"percentile\": \"0.99\"}", "must be a number"},
        {"{\"percentile\": 0.99, \"upper\": 1}", "unknown field \"upper\""},
        {"{\"max\": 1e300}", "revenue_cap.max"},
        {"\"p99\"", "must be an object"},
    };
    char body[300];
    td_response r;
    expect("PUT", "/v1/experiments/cap",
           "{\"variants\": [\"control\", \"v1\", \"v2\"], \"metric\": \"revenue\", "
           "\"min_days\": 0, \"min_users\": 10, \"revenue_cap\": {\"percentile\": 0.99}}",
           201, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, "{\"variants\": [\"control\", \"v1\", \"v2\"], "
                 "\"metric\": \"revenue\", \"revenue_cap\": %s}", bad[i].cap);
        expect("PUT", "/v1/experiments/cap", body, 400, bad[i].needle);
    }
    /* Nothing changed. */
    r = td_req(&D, "GET", "/v1/experiments/cap", NULL);
    CHECK(num(json_object_get(r.json, "revenue_cap"), "percentile") == 0.99);
    CHECK(json_object_get(json_object_get(r.json, "revenue_cap"), "lower") == NULL);
    CHECK_INT(json_integer_value(json_object_get(r.json, "min_users")), 10);
    td_free(&r);
}

int main(void)
{
    char *before, *after;
    ab_stats_init();
    td_init(&D, "revenue_cap");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_revenue_cap_daemon");
    }
    test_refused();
    send_stream();
    check_results(0.99, NAN);
    before = raw_part();

    /* Replay rebuilds the totals the caps come from. */
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    check_results(0.99, NAN);

    /* A new cap with events: no restart of monitoring, new figures at once,
     * the raw figures and the verdict as they were. */
    expect("PUT", "/v1/experiments/cap",
           "{\"variants\": [\"control\", \"v1\", \"v2\"], \"metric\": \"revenue\", "
           "\"min_days\": 0, \"min_users\": 10, "
           "\"revenue_cap\": {\"percentile\": 0.95, \"lower\": 0.02}}", 200, NULL);
    check_results(0.95, 0.02);
    after = raw_part();
    CHECK(before && after && !strcmp(before, after));
    free(before);
    free(after);

    /* Without a cap the capped blocks are gone. */
    expect("PUT", "/v1/experiments/cap",
           "{\"variants\": [\"control\", \"v1\", \"v2\"], \"metric\": \"revenue\", "
           "\"min_days\": 0, \"min_users\": 10}", 200, NULL);
    {
        td_response r = td_req(&D, "GET", "/v1/experiments/cap/results", NULL);
        const json_t *v1 = json_array_get(json_object_get(r.json, "variants"), 1);
        CHECK(json_object_get(json_object_get(v1, "revenue"), "mean") != NULL);
        CHECK(json_object_get(json_object_get(v1, "revenue"), "capped") == NULL);
        td_free(&r);
    }
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    return TEST_DONE("test_revenue_cap_daemon");
}
