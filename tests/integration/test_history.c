/* test_history.c — GET /v1/experiments/{id}/history against a real abstatd:
 * a fortnight backfilled through the ts window, its points by day and by
 * hour (cumulative, every bucket from started_at to today), the last point
 * equal to /results, CSV (?format=csv and Accept: text/csv, RFC 4180
 * quoting), the same bytes after a restart (replay rebuilds it), HEAD, 404
 * for an unknown experiment, 400 for a bad interval or format and for more
 * buckets than one answer holds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
/* A variant name a CSV must quote. */
#define ODD "big, \\\"bold\\\""
#define ODD_CSV "\"big, \"\"bold\"\"\""

static td_daemon D;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double uniform(void)
{
    return test_uniform(&rng);
}

static void expect_status(td_response *r, int status, const char *what)
{
    snprintf(test_context, sizeof test_context, "%s: %.300s", what, r->body ? r->body : "");
    CHECK_INT(r->status, status);
    test_context[0] = '\0';
}

/* A fortnight of three variants: control 5 %, "buy-now" 9 %, ODD 4 %, with
 * revenue and NPS; sent as one NDJSON backfill. */
static void load(void)
{
    static const char *const v[] = {"control", "buy-now", ODD};
    static const double rate[] = {0.05, 0.09, 0.04};
    long long now = now_ms(), start = now - 14 * DAY_MS;
    size_t cap = 8 << 20, len = 0;
    char *b = malloc(cap);
    td_response r;
    if (!b) {
        test_fail(__FILE__, __LINE__, "out of memory");
        return;
    }
    r = td_req(&D, "PUT", "/v1/experiments/cta",
               "{\"variants\": [\"control\", \"buy-now\", \"" ODD "\"]}");
    expect_status(&r, 201, "PUT cta");
    td_free(&r);
    for (int i = 0; i < 6000 && len + 1024 < cap; i++) {
        int k = i % 3;
        long long ts = start + (long long)(uniform() * (double)(now - start - 600000));
        len += (size_t)snprintf(b + len, cap - len, "{\"experiment\":\"cta\",\"variant\":\"%s\","
                                "\"user\":\"u%d\",\"type\":\"exposure\",\"ts\":%lld}\n", v[k], i, ts);
        if (uniform() < rate[k])
            len += (size_t)snprintf(b + len, cap - len, "{\"experiment\":\"cta\",\"user\":\"u%d\","
                                    "\"type\":\"conversion\",\"value\":%.2f,\"ts\":%lld}\n", i,
                                    10 + 50 * uniform(), ts + 60000);
        if (uniform() < 0.1)
            len += (size_t)snprintf(b + len, cap - len, "{\"experiment\":\"cta\",\"user\":\"u%d\","
                                    "\"type\":\"nps\",\"score\":%d,\"ts\":%lld}\n", i,
                                    (int)(uniform() * 11), ts + 120000);
    }
    r = td_request(&D, "POST", "/v1/events", b, len, NULL);
    expect_status(&r, 202, "backfill");
    td_free(&r);
    free(b);
}

static td_response get(const char *path, const char *headers)
{
    return td_request(&D, "GET", path, NULL, 0, headers);
}

/* Two JSON numbers (or nulls) the same. */
static int same(json_t *a, json_t *b)
{
    if (json_is_null(a) || json_is_null(b)) return json_is_null(a) && json_is_null(b);
    return json_is_number(a) && json_is_number(b) &&
           json_number_value(a) == json_number_value(b);
}

/* The points: one a bucket from started_at's to today's, cumulative. */
static void check_points(json_t *h, long long step)
{
    json_t *points = json_object_get(h, "points");
    const char *started = json_string_value(json_object_get(h, "started_at"));
    long long first = -1, last_users[3] = {0, 0, 0};
    size_t n = json_array_size(points);
    CHECK(started != NULL);
    CHECK_INT(json_array_size(json_object_get(h, "points")) > 0, 1);
    if (!started || !n) return;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(points, i), *vs = json_object_get(p, "variants");
        struct tm tm;
        const char *t = json_string_value(json_object_get(p, "t"));
        memset(&tm, 0, sizeof tm);
        CHECK(t && strptime(t, "%Y-%m-%dT%H:%M:%S", &tm));
        long long ms = (long long)timegm(&tm) * 1000;
        if (i == 0) first = ms;
        CHECK(ms == first + (long long)i * step);
        CHECK(ms % step == 0);
        CHECK_INT(json_array_size(vs), 3);
        CHECK_INT(json_array_size(json_object_get(p, "comparisons")), 2);
        for (size_t v = 0; v < 3 && v < json_array_size(vs); v++) {
            long long u = json_integer_value(json_object_get(json_array_get(vs, v), "users"));
            CHECK(u >= last_users[v]);
            last_users[v] = u;
        }
    }
    /* The first bucket holds started_at, the last one now. */
    CHECK(strncmp(started, json_string_value(json_object_get(json_array_get(points, 0), "t")),
                  step == DAY_MS ? 10 : 13) == 0);
    long long now = now_ms();
    CHECK(first + (long long)n * step > now && first + (long long)(n - 1) * step <= now);
}

/* The last point's figures are /results' (all events are in the past). */
static void check_last_is_results(json_t *h, json_t *res)
{
    json_t *points = json_object_get(h, "points");
    json_t *last = json_array_get(points, json_array_size(points) - 1);
    json_t *vars = json_object_get(res, "variants");
    CHECK_INT(json_array_size(vars), 3);
    for (size_t v = 0; v < json_array_size(vars); v++) {
        json_t *rv = json_array_get(vars, v), *hv = json_array_get(json_object_get(last, "variants"), v);
        json_t *ph = json_object_get(json_object_get(rv, "phases"), "decision");
        snprintf(test_context, sizeof test_context, "variant %zu", v);
        CHECK(json_equal(json_object_get(rv, "name"), json_object_get(hv, "name")));
        CHECK(json_equal(json_object_get(rv, "users"), json_object_get(hv, "users")));
        CHECK(json_equal(json_object_get(ph, "conversions"), json_object_get(hv, "conversions")));
        CHECK(same(json_object_get(ph, "rate"), json_object_get(hv, "rate")));
        CHECK_REL(json_number_value(json_object_get(json_object_get(rv, "revenue"), "mean")),
                  json_number_value(json_object_get(hv, "revenue_per_user")), 1e-9);
        CHECK(same(json_object_get(json_object_get(rv, "nps"), "score"), json_object_get(hv, "nps")));
        if (!v) continue;
        json_t *vs = json_object_get(json_object_get(rv, "vs_control"), "decision");
        json_t *c = json_array_get(json_object_get(last, "comparisons"), v - 1);
        CHECK(json_equal(json_object_get(c, "variant"), json_object_get(rv, "name")));
        CHECK(same(json_object_get(c, "effect"), json_object_get(vs, "diff")));
        CHECK(same(json_object_get(c, "lift"), json_object_get(vs, "lift")));
        CHECK(json_equal(json_object_get(c, "ci"), json_object_get(vs, "diff_ci")));
        CHECK(json_equal(json_object_get(c, "sequential_ci"), json_object_get(vs, "sequential_ci_now")));
        CHECK(same(json_object_get(c, "sequential_p"), json_object_get(vs, "sequential_p_now")));
        CHECK(json_is_array(json_object_get(c, "ci")));
    }
    test_context[0] = '\0';
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, "\r\n")); p += 2) n++;
    return n;
}

static void check_csv(const td_response *r, size_t points)
{
    CHECK(strstr(r->headers, "Content-Type: text/csv; charset=utf-8") != NULL);
    static const char head[] = "t,end,variant,users,conversions,rate,revenue_per_user,nps,"
                               "effect,lift,ci_lower,ci_upper,sequential_ci_lower,"
                               "sequential_ci_upper,sequential_p\r\n";
    CHECK(r->body && !strncmp(r->body, head, sizeof head - 1));
    CHECK_INT(r->body ? count_lines(r->body) : 0, 1 + 3 * points);
    CHECK(r->body && strstr(r->body, "," ODD_CSV ",") != NULL);
    /* The control's row has no comparison: seven empty fields. */
    CHECK(r->body && strstr(r->body, ",,,,,,,\r\n") != NULL);
}

int main(void)
{
    td_response r, res, csv, csv2, hour;
    char *json1 = NULL;
    size_t npoints = 0;

    td_init(&D, "history");
    if (td_start(&D)) {
        test_fail(__FILE__, __LINE__, "daemon did not start (see %s)", D.log);
        return TEST_DONE("test_history");
    }
    load();

    r = get("/v1/experiments/cta/history", NULL);
    expect_status(&r, 200, "history");
    CHECK(strstr(r.headers, "Content-Type: application/json") != NULL);
    CHECK(r.json && !strcmp(json_string_value(json_object_get(r.json, "experiment")), "cta"));
    CHECK(!strcmp(json_string_value(json_object_get(r.json, "interval")), "day"));
    npoints = json_array_size(json_object_get(r.json, "points"));
    /* Today and the 14 days before; 14 when the earliest exposure fell
     * just after a UTC midnight. */
    CHECK(npoints == 14 || npoints == 15);
    check_points(r.json, DAY_MS);
    res = get("/v1/experiments/cta/results", NULL);
    expect_status(&res, 200, "results");
    check_last_is_results(r.json, res.json);
    td_free(&res);
    json1 = r.body ? strdup(r.body) : NULL;

    hour = get("/v1/experiments/cta/history?interval=hour", NULL);
    expect_status(&hour, 200, "hourly");
    CHECK(!strcmp(json_string_value(json_object_get(hour.json, "interval")), "hour"));
    CHECK(json_array_size(json_object_get(hour.json, "points")) >= 14 * 24);
    check_points(hour.json, HOUR_MS);
    {
        json_t *hp = json_object_get(hour.json, "points"), *dp = json_object_get(r.json, "points");
        json_t *hl = json_array_get(hp, json_array_size(hp) - 1), *dl = json_array_get(dp, npoints - 1);
        CHECK(json_equal(json_object_get(hl, "variants"), json_object_get(dl, "variants")));
        CHECK(json_equal(json_object_get(hl, "comparisons"), json_object_get(dl, "comparisons")));
    }
    td_free(&hour);
    td_free(&r);

    csv = get("/v1/experiments/cta/history?format=csv", NULL);
    expect_status(&csv, 200, "csv");
    check_csv(&csv, npoints);
    r = get("/v1/experiments/cta/history", "Accept: text/csv\r\n");
    expect_status(&r, 200, "Accept: text/csv");
    CHECK(r.body && csv.body && !strcmp(r.body, csv.body));
    td_free(&r);

    r = td_request(&D, "HEAD", "/v1/experiments/cta/history", NULL, 0, NULL);
    expect_status(&r, 200, "HEAD");
    CHECK(r.len == 0);
    CHECK(json1 && strstr(r.headers, "Content-Length: ") != NULL &&
          atol(strstr(r.headers, "Content-Length: ") + 16) == (long)strlen(json1));
    td_free(&r);

    r = get("/v1/experiments/nope/history", NULL);
    expect_status(&r, 404, "unknown experiment");
    td_free(&r);
    r = get("/v1/experiments/cta/history?interval=week", NULL);
    expect_status(&r, 400, "interval=week");
    CHECK(r.body && strstr(r.body, "interval"));
    td_free(&r);
    r = get("/v1/experiments/cta/history?format=xlsx", NULL);
    expect_status(&r, 400, "format=xlsx");
    td_free(&r);

    /* An exposure in 2000: 27 years of days are refused, not allocated. */
    r = td_req(&D, "PUT", "/v1/experiments/old", "{\"variants\": [\"a\", \"b\"]}");
    expect_status(&r, 201, "PUT old");
    td_free(&r);
    r = td_req(&D, "POST", "/v1/events", "{\"experiment\":\"old\",\"variant\":\"a\",\"user\":\"x\","
               "\"type\":\"exposure\",\"ts\":\"2000-01-02T00:00:00Z\"}");
    expect_status(&r, 202, "old exposure");
    td_free(&r);
    r = get("/v1/experiments/old/history?interval=hour", NULL);
    expect_status(&r, 400, "hours since 2000");
    CHECK(r.body && strstr(r.body, "interval=day"));
    td_free(&r);
    r = get("/v1/experiments/old/history", NULL);
    expect_status(&r, 400, "days since 2000");
    td_free(&r);
    /* No exposure yet: no started_at, no points. */
    r = td_req(&D, "PUT", "/v1/experiments/new", "{\"variants\": [\"a\", \"b\"]}");
    td_free(&r);
    r = get("/v1/experiments/new/history", NULL);
    expect_status(&r, 200, "empty history");
    CHECK(json_is_null(json_object_get(r.json, "started_at")));
    CHECK_INT(json_array_size(json_object_get(r.json, "points")), 0);
    td_free(&r);

    /* A restart replays the events: the same history, byte for byte. */
    CHECK_INT(td_stop(&D), 0);
    if (td_start(&D)) {
        test_fail(__FILE__, __LINE__, "daemon did not restart (see %s)", D.log);
    } else {
        r = get("/v1/experiments/cta/history", NULL);
        expect_status(&r, 200, "history after restart");
        CHECK(r.body && json1 && !strcmp(r.body, json1));
        td_free(&r);
        csv2 = get("/v1/experiments/cta/history?format=csv", NULL);
        CHECK(csv2.body && csv.body && !strcmp(csv2.body, csv.body));
        td_free(&csv2);
        CHECK_INT(td_stop(&D), 0);
    }
    td_free(&csv);
    free(json1);
    td_cleanup(&D);
    return TEST_DONE("test_history");
}
