/* test_daemon.c — a real abstatd on port 0: every endpoint and every error
 * code of the spec, with the JSON body it returns, and that refused
 * requests change nothing. */
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

static td_daemon D;

/* Status and, for errors, a JSON {"error": "..."} mentioning needle. */
static void expect(td_response r, int status, const char *needle, const char *what)
{
    snprintf(test_context, sizeof test_context, "%s", what);
    CHECK_INT(r.status, status);
    CHECK(r.json != NULL);
    if (status >= 400) {
        const char *msg = json_string_value(json_object_get(r.json, "error"));
        CHECK(msg != NULL);
        if (needle && (!msg || !strstr(msg, needle)))
            test_fail(__FILE__, __LINE__, "error \"%s\" does not mention \"%s\"",
                      msg ? msg : "(none)", needle);
    }
    if (r.status != status && r.body) fprintf(stderr, "  body: %.300s\n", r.body);
    test_context[0] = '\0';
}

static void check(const char *method, const char *path, const char *body, int status,
                  const char *needle)
{
    char what[256];
    td_response r = td_req(&D, method, path, body);
    snprintf(what, sizeof what, "%s %s %.60s", method, path, body ? body : "");
    expect(r, status, needle, what);
    td_free(&r);
}

static double users_of(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    td_response r = td_req(&D, "GET", path, NULL);
    double n = json_number_value(json_object_get(r.json, "events"));
    td_free(&r);
    return n;
}

static void test_routes(void)
{
    check("GET", "/nope", NULL, 404, "no such resource");
    check("GET", "/v1/experiments/x/bogus", NULL, 404, NULL);
    check("DELETE", "/v1/events", NULL, 405, "POST");
    check("POST", "/v1/experiments", "{}", 405, "GET");
    check("PATCH", "/v1/experiments/a", "{}", 405, NULL);
    check("GET", "/v1/analyze", NULL, 405, "POST");
    check("POST", "/v1/sample-size", NULL, 405, "GET");
    check("POST", "/healthz", NULL, 405, NULL);
    check("PUT", "/v1/experiments/Bad_ID", "{\"variants\":[\"a\",\"b\"]}", 400, "invalid experiment id");
    check("PUT", "/v1/experiments/..", "{\"variants\":[\"a\",\"b\"]}", 400, "invalid experiment id");
    check("GET", "/v1/experiments/-x/results", NULL, 400, "invalid experiment id");
    {
        td_response r = td_req(&D, "DELETE", "/v1/events", NULL);
        CHECK(strstr(r.headers, "Allow: POST") != NULL);
        td_free(&r);
    }
}

static void test_experiments(void)
{
    td_response r;
    check("PUT", "/v1/experiments/e1", "{", 400, "invalid JSON");
    check("PUT", "/v1/experiments/e1", "{}", 400, "variants");
    check("PUT", "/v1/experiments/e1", "{\"variants\":[\"a\"]}", 400, "variants");
    check("PUT", "/v1/experiments/e1", "{\"variants\":[\"a\",\"b\"],\"alpha\":2}", 400, "alpha");
    check("PUT", "/v1/experiments/e1", "{\"variants\":[\"a\",\"b\"],\"colour\":1}", 400, "colour");
    check("GET", "/v1/experiments/e1", NULL, 404, "not found");

    r = td_req(&D, "PUT", "/v1/experiments/e1",
               "{\"variants\":[\"control\",\"b\"],\"min_days\":0,\"min_users\":1}");
    expect(r, 201, NULL, "create e1");
    CHECK(!strcmp(json_string_value(json_object_get(r.json, "status")), "running"));
    CHECK(!strcmp(json_string_value(json_object_get(r.json, "method")), "sequential"));
    td_free(&r);
    r = td_req(&D, "PUT", "/v1/experiments/e1",
               "{\"variants\":[\"control\",\"b\"],\"min_days\":0,\"min_users\":1,\"description\":\"x\"}");
    expect(r, 200, NULL, "update e1");
    CHECK(!strcmp(json_string_value(json_object_get(r.json, "description")), "x"));
    td_free(&r);
    /* Structure may change while there are no events. */
    r = td_req(&D, "PUT", "/v1/experiments/e1",
               "{\"variants\":[\"control\",\"b\",\"c\"],\"min_days\":0,\"min_users\":1}");
    expect(r, 200, NULL, "restructure e1 before events");
    td_free(&r);

    r = td_req(&D, "POST", "/v1/events",
               "{\"experiment\":\"e1\",\"variant\":\"b\",\"user\":\"u1\",\"type\":\"exposure\"}");
    expect(r, 202, NULL, "first event");
    CHECK_INT(json_integer_value(json_object_get(r.json, "accepted")), 1);
    td_free(&r);
    check("PUT", "/v1/experiments/e1", "{\"variants\":[\"control\",\"b\"]}", 409, "cannot change");
    check("PUT", "/v1/experiments/e1",
          "{\"variants\":[\"control\",\"b\",\"c\"],\"weights\":[1,1,2]}", 409, "cannot change");
    check("PUT", "/v1/experiments/e1",
          "{\"variants\":[\"control\",\"b\",\"c\"],\"min_days\":0,\"min_users\":1,\"alpha\":0.01,\"restart_monitoring\":true}",
          200, NULL);

    r = td_req(&D, "GET", "/v1/experiments", NULL);
    expect(r, 200, NULL, "list");
    CHECK_INT(json_array_size(json_object_get(r.json, "experiments")), 1);
    td_free(&r);

    r = td_req(&D, "POST", "/v1/experiments/e1/stop", NULL);
    expect(r, 200, NULL, "stop");
    CHECK(!strcmp(json_string_value(json_object_get(r.json, "status")), "stopped"));
    td_free(&r);
    check("POST", "/v1/events",
          "{\"experiment\":\"e1\",\"variant\":\"b\",\"user\":\"u2\",\"type\":\"exposure\"}", 400,
          "stopped");
    CHECK_REL(users_of("e1"), 1, 0);
    check("POST", "/v1/experiments/nope/stop", NULL, 404, "not found");
    check("DELETE", "/v1/experiments/nope", NULL, 404, "not found");
    check("DELETE", "/v1/experiments/e1", NULL, 200, NULL);
    check("GET", "/v1/experiments/e1", NULL, 404, "not found");
    check("GET", "/v1/experiments/e1/results", NULL, 404, "not found");
    check("GET", "/v1/experiments/e1/decision", NULL, 404, "not found");
}

static void test_events(void)
{
    td_response r;
    const char *before;
    char *snapshot;
    check("PUT", "/v1/experiments/ev", "{\"variants\":[\"a\",\"b\"]}", 201, NULL);
    /* Single object, array, NDJSON, text/plain (sendBeacon). */
    check("POST", "/v1/events", "{\"experiment\":\"ev\",\"variant\":\"a\",\"user\":\"1\",\"type\":\"exposure\"}", 202, NULL);
    r = td_req(&D, "POST", "/v1/events",
               "[{\"experiment\":\"ev\",\"variant\":\"b\",\"user\":\"2\",\"type\":\"exposure\"},"
               "{\"experiment\":\"ev\",\"user\":\"2\",\"type\":\"conversion\",\"value\":5}]");
    expect(r, 202, NULL, "array");
    CHECK_INT(json_integer_value(json_object_get(r.json, "accepted")), 2);
    CHECK_INT(json_integer_value(json_object_get(r.json, "duplicates")), 0);
    td_free(&r);
    {
        const char *nd = "{\"experiment\":\"ev\",\"variant\":\"a\",\"user\":\"3\",\"type\":\"exposure\",\"id\":\"x1\"}\n"
                         "{\"experiment\":\"ev\",\"variant\":\"a\",\"user\":\"3\",\"type\":\"exposure\",\"id\":\"x1\"}\n";
        r = td_request(&D, "POST", "/v1/events", nd, strlen(nd), "Content-Type: text/plain\r\n");
        expect(r, 202, NULL, "ndjson");
        CHECK_INT(json_integer_value(json_object_get(r.json, "accepted")), 2);
        CHECK_INT(json_integer_value(json_object_get(r.json, "duplicates")), 1);
        td_free(&r);
    }
    CHECK_REL(users_of("ev"), 5, 0);

    /* All or nothing: one bad event among good ones stores nothing. */
    r = td_req(&D, "GET", "/v1/experiments/ev/results", NULL);
    before = r.body;
    snapshot = strdup(before ? before : "");
    td_free(&r);
    r = td_req(&D, "POST", "/v1/events",
               "[{\"experiment\":\"ev\",\"variant\":\"a\",\"user\":\"9\",\"type\":\"exposure\"},"
               "{\"experiment\":\"ev\",\"variant\":\"zz\",\"user\":\"9\",\"type\":\"exposure\"},"
               "{\"experiment\":\"ev\",\"user\":\"9\",\"type\":\"nps\",\"score\":11}]");
    expect(r, 400, NULL, "bad batch");
    {
        json_t *errs = json_object_get(r.json, "errors");
        CHECK_INT(json_array_size(errs), 2);
        CHECK_INT(json_integer_value(json_object_get(json_array_get(errs, 0), "index")), 1);
        CHECK_INT(json_integer_value(json_object_get(json_array_get(errs, 1), "index")), 2);
    }
    td_free(&r);
    r = td_req(&D, "GET", "/v1/experiments/ev/results", NULL);
    /* days_running etc. come from event time, so nothing may differ. */
    CHECK(r.body && !strcmp(r.body, snapshot));
    td_free(&r);
    free(snapshot);
    CHECK_REL(users_of("ev"), 5, 0);

    check("POST", "/v1/events", "", 400, "no events");
    check("POST", "/v1/events", "[]", 400, "no events");
    check("POST", "/v1/events", "nonsense", 400, NULL);
    check("POST", "/v1/events", "{\"experiment\":\"nope\",\"variant\":\"a\",\"user\":\"1\",\"type\":\"exposure\"}", 400, "unknown experiment");
    check("POST", "/v1/events", "{\"experiment\":\"ev\",\"user\":\"1\",\"type\":\"exposure\"}", 400, "variant");
    check("POST", "/v1/events", "{\"experiment\":\"ev\",\"variant\":\"a\",\"type\":\"exposure\"}", 400, "user");
    check("POST", "/v1/events", "{\"experiment\":\"ev\",\"user\":\"1\",\"type\":\"click\"}", 400, "type");
    check("POST", "/v1/events", "{\"experiment\":\"ev\",\"user\":\"1\",\"type\":\"conversion\",\"phase\":\"mars\"}", 400, "phase");
    CHECK_REL(users_of("ev"), 5, 0);
}

/* GET /v1/sample-size for revenue and NPS (README "Calculators without
 * state"): the library's figures as it answers them directly, the
 * sequential size with each, and a 400 naming every bad parameter. */
static void test_sample_size_metrics(void)
{
    static const struct {
        const char *query, *needle;
    } bad[] = {
        {"metric=nps&detractors=0.2&mde=5", "promoters: required"},
        {"metric=nps&promoters=0.7&detractors=0.4&mde=5", "more than 1"},
        {"metric=nps&promoters=0.4&detractors=0.2&mde=0", "mde"},
        {"metric=revenue&baseline=12.5&mde=0.05", "sd: required"},
        {"metric=revenue&sd=40&baseline=12.5&mde=-1", "mde"},
        {"metric=ctr&baseline=0.05&mde=0.1", "conversion, revenue, nps"},
    };
    double per, seq, sd;
    char path[160];
    td_response r;

    r = td_req(&D, "GET", "/v1/sample-size?metric=revenue&sd=40&baseline=12.5&mde=0.05", NULL);
    expect(r, 200, NULL, "sample-size revenue");
    CHECK_INT(ab_sample_size_mean(12.5, 40, 0.05, 0.05, 0.8, 2, AB_CORRECT_HOLM, &per), AB_OK);
    CHECK_INT(ab_sample_size_seq(0.625, 1600, 1600, 0.05, 0.8, 2, AB_CORRECT_HOLM, 5000, &seq),
              AB_OK);
    CHECK_REL(json_number_value(json_object_get(r.json, "per_variant")), per, 0);
    CHECK_REL(json_number_value(json_object_get(r.json, "sequential_per_variant")), seq, 0);
    td_free(&r);
    r = td_req(&D, "GET", "/v1/sample-size?metric=nps&promoters=0.4&detractors=0.2&mde=5", NULL);
    expect(r, 200, NULL, "sample-size nps");
    CHECK_INT(ab_sample_size_nps(0.4, 0.2, 5, 0.05, 0.8, 2, AB_CORRECT_HOLM, &per), AB_OK);
    CHECK_INT(ab_nps_plan_sd(0.4, 0.2, &sd), AB_OK);
    CHECK_INT(ab_sample_size_seq(5, sd * sd, sd * sd, 0.05, 0.8, 2, AB_CORRECT_HOLM, 5000, &seq),
              AB_OK);
    CHECK_REL(json_number_value(json_object_get(r.json, "per_variant")), per, 0);
    CHECK_REL(json_number_value(json_object_get(r.json, "sequential_per_variant")), seq, 0);
    td_free(&r);
    r = td_req(&D, "GET", "/v1/sample-size?baseline=0.05&mde=0.1", NULL);
    expect(r, 200, NULL, "sample-size conversion");
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_HOLM, 5000, &seq),
              AB_OK);
    CHECK_REL(json_number_value(json_object_get(r.json, "sequential_per_variant")), seq, 0);
    td_free(&r);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(path, sizeof path, "/v1/sample-size?%s", bad[i].query);
        check("GET", path, NULL, 400, bad[i].needle);
    }
}

static void test_calculators(void)
{
    td_response r = td_req(&D, "POST", "/v1/analyze",
                           "{\"variants\":[{\"name\":\"c\",\"users\":5000,\"conversions\":250},"
                           "{\"name\":\"v\",\"users\":5100,\"conversions\":300}]}");
    expect(r, 200, NULL, "analyze");
    {
        json_t *d = json_object_get(json_object_get(json_array_get(json_object_get(r.json, "variants"), 1),
                                                    "vs_control"), "decision");
        CHECK_REL(json_number_value(json_object_get(d, "p_value")), 0.050719563194026429, 1e-6);
        CHECK_REL(json_number_value(json_object_get(d, "sequential_p")), 0.6821106257678865, 1e-6);
    }
    td_free(&r);
    check("POST", "/v1/analyze", "{\"variants\":[]}", 400, "variants");
    check("POST", "/v1/analyze", "[", 400, "invalid JSON");
    r = td_req(&D, "GET", "/v1/sample-size?baseline=0.05&mde=0.1&daily_users=5000", NULL);
    expect(r, 200, NULL, "sample-size");
    CHECK_INT(json_integer_value(json_object_get(r.json, "per_variant")), 31234);
    CHECK_INT(json_integer_value(json_object_get(r.json, "total")), 62468);
    CHECK_INT(json_integer_value(json_object_get(r.json, "days")), 13);
    CHECK_INT(json_integer_value(json_object_get(r.json, "weeks")), 2);
    td_free(&r);
    check("GET", "/v1/sample-size?baseline=0.05", NULL, 400, "mde");
    check("GET", "/v1/sample-size?baseline=x&mde=0.1", NULL, 400, "baseline");
    test_sample_size_metrics();
}

static void test_ops(void)
{
    td_response r = td_req(&D, "GET", "/healthz", NULL);
    expect(r, 200, NULL, "healthz");
    td_free(&r);
    r = td_req(&D, "GET", "/metrics", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "abstat_events_ingested_total{type=\"exposure\"}"));
    CHECK(r.body && strstr(r.body, "abstat_requests_total{route=\"events\",code=\"202\"}"));
    CHECK(r.body && strstr(r.body, "abstat_commit_seconds_count"));
    CHECK(r.body && strstr(r.body, "abstat_users_tracked"));
    CHECK(strstr(r.headers, "text/plain") != NULL);
    td_free(&r);
}

/* A body over --max-body is refused with 413 and nothing stored. */
static void test_max_body(void)
{
    char big[4096];
    td_response r;
    memset(big, ' ', sizeof big);
    memcpy(big, "[", 1);
    memcpy(big + sizeof big - 1, "]", 1);
    r = td_request(&D, "POST", "/v1/events", big, sizeof big, NULL);
    snprintf(test_context, sizeof test_context, "413");
    CHECK_INT(r.status, 413);
    test_context[0] = '\0';
    td_free(&r);
}

/* An unchanged experiment is answered from the text kept beside its
 * evaluation (api/handle_results.c): every change a reader can see must
 * still show at once — an event, a duplicate, a config change, stop and
 * start — and the same state must give the same bytes. */
static const char *field_str(const td_response *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

static void test_answer_cache(void)
{
    td_response a, b, c;
    check("PUT", "/v1/experiments/cached", "{\"variants\": [\"a\", \"b\"]}", 201, NULL);
    a = td_req(&D, "GET", "/v1/experiments/cached/results", NULL);
    b = td_req(&D, "GET", "/v1/experiments/cached/results", NULL);
    CHECK(a.body && b.body && !strcmp(a.body, b.body));
    td_free(&b);
    check("POST", "/v1/events", "{\"experiment\": \"cached\", \"variant\": \"b\", \"user\": "
          "\"u1\", \"type\": \"exposure\", \"id\": \"c-1\"}", 202, NULL);
    b = td_req(&D, "GET", "/v1/experiments/cached/results", NULL);
    CHECK(b.body && a.body && strcmp(a.body, b.body) != 0);
    CHECK(b.body && strstr(b.body, "\"users\":1") != NULL);
    /* A duplicate changes data_quality.duplicates. */
    check("POST", "/v1/events", "{\"experiment\": \"cached\", \"variant\": \"b\", \"user\": "
          "\"u1\", \"type\": \"exposure\", \"id\": \"c-1\"}", 202, NULL);
    c = td_req(&D, "GET", "/v1/experiments/cached/results", NULL);
    CHECK(c.body && b.body && strcmp(b.body, c.body) != 0);
    CHECK(c.body && strstr(c.body, "\"duplicates\":1") != NULL);
    td_free(&a);
    td_free(&b);
    td_free(&c);
    check("POST", "/v1/experiments/cached/stop", NULL, 200, NULL);
    a = td_req(&D, "GET", "/v1/experiments/cached/results", NULL);
    CHECK(field_str(&a, "status") && !strcmp(field_str(&a, "status"), "stopped"));
    td_free(&a);
    check("POST", "/v1/experiments/cached/start", NULL, 200, NULL);
    a = td_req(&D, "GET", "/v1/experiments/cached/results", NULL);
    CHECK(field_str(&a, "status") && !strcmp(field_str(&a, "status"), "running"));
    td_free(&a);
    /* The decision keeps its own text: an event shows there too. */
    a = td_req(&D, "GET", "/v1/experiments/cached/decision", NULL);
    check("POST", "/v1/events", "{\"experiment\": \"cached\", \"variant\": \"a\", \"user\": "
          "\"u2\", \"type\": \"exposure\"}", 202, NULL);
    b = td_req(&D, "GET", "/v1/experiments/cached/decision", NULL);
    CHECK(a.body && b.body && strcmp(a.body, b.body) != 0);
    td_free(&a);
    td_free(&b);
    check("PUT", "/v1/experiments/cached", "{\"variants\": [\"a\", \"b\"], \"alpha\": 0.01, "
          "\"restart_monitoring\": true}", 200, NULL);
    a = td_req(&D, "GET", "/v1/experiments/cached/results", NULL);
    CHECK(a.json && json_number_value(json_object_get(a.json, "alpha")) == 0.01);
    td_free(&a);
    check("DELETE", "/v1/experiments/cached", NULL, 200, NULL);
    check("GET", "/v1/experiments/cached/results", NULL, 404, "not found");
}

/* prior (README "Statistics", Prior): kept in the config, shown by GET,
 * put back as it is, and shaping only the primary comparison's prior
 * block; a wrong one is a 400 that changes nothing. */
static void test_prior(void)
{
    td_response r;
    const json_t *pr;
    check("PUT", "/v1/experiments/prior", "{\"variants\": [\"a\", \"b\"], \"prior\": "
          "{\"sd\": 0.2}}", 201, NULL);
    r = td_req(&D, "GET", "/v1/experiments/prior", NULL);
    pr = json_object_get(r.json, "prior");
    CHECK(json_number_value(json_object_get(pr, "sd")) == 0.2);
    CHECK(json_number_value(json_object_get(pr, "mean")) == 0.0);
    td_free(&r);
    check("PUT", "/v1/experiments/prior", "{\"variants\": [\"a\", \"b\"], \"prior\": {\"sd\": -1}}",
          400, "prior.sd");
    check("PUT", "/v1/experiments/prior", "{\"variants\": [\"a\", \"b\"], \"prior\": [0.3]}",
          400, "prior: must be an object");
    r = td_req(&D, "GET", "/v1/experiments/prior", NULL);
    CHECK(json_number_value(json_object_get(json_object_get(r.json, "prior"), "sd")) == 0.2);
    td_free(&r);
    /* 20 users a side; b converts 10, a 5. */
    for (int i = 0; i < 40; i++) {
        char ev[512], conv[160] = "";
        int b = i % 2, converts = b ? i % 4 == 1 : i % 8 == 0;
        if (converts)
            snprintf(conv, sizeof conv, ", {\"experiment\": \"prior\", \"user\": \"p%d\", "
                     "\"type\": \"conversion\", \"phase\": \"decision\"}", i);
        snprintf(ev, sizeof ev, "[{\"experiment\": \"prior\", \"variant\": \"%s\", "
                 "\"user\": \"p%d\", \"type\": \"exposure\"}%s]", b ? "b" : "a", i, conv);
        check("POST", "/v1/events", ev, 202, NULL);
    }
    r = td_req(&D, "GET", "/v1/experiments/prior/results", NULL);
    pr = json_object_get(json_object_get(json_object_get(
        json_array_get(json_object_get(r.json, "variants"), 1), "vs_control"), "decision"), "prior");
    CHECK(pr != NULL);
    CHECK(json_number_value(json_object_get(pr, "sd")) == 0.2);
    CHECK(json_is_number(json_object_get(pr, "prob_beat_control")));
    CHECK(json_is_number(json_object_get(pr, "risk")));
    td_free(&r);
    check("DELETE", "/v1/experiments/prior", NULL, 200, NULL);
}

int main(void)
{
    ab_stats_init();
    td_init(&D, "daemon");
    snprintf(D.extra, sizeof D.extra, "--max-body 2048");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_daemon");
    }
    test_routes();
    test_experiments();
    test_events();
    test_calculators();
    test_ops();
    test_max_body();
    test_answer_cache();
    test_prior();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    return TEST_DONE("test_daemon");
}
