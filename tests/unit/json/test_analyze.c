/* test_analyze.c — /v1/analyze's JSON mapping end to end: the k-arm figures
 * against R (tests/reference/analyze.tsv) and every kind of bad body; the
 * sample-size calculator's conversion, revenue and NPS plans. */
#include <jansson.h>
#include <string.h>

#include "json/analyze_json.h"
#include "json/sample_size_json.h"
#include "abstat/stats.h"
#include "test.h"

static const char *const corr_names[] = {"none", "holm", "bonferroni", "bh"};

static double num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static double bound(const json_t *obj, const char *key, size_t i)
{
    const json_t *v = json_array_get(json_object_get(obj, key), i);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void check_row(const ref_row *r)
{
    size_t k = (size_t)r->v[0];
    const double *x = &r->v[5], *n = &r->v[5 + k], *omni = &r->v[5 + 2 * k];
    json_t *body = json_pack("{s:f,s:s,s:s,s:f}", "alpha", r->v[3], "correction",
                             corr_names[(int)r->v[2]], "method",
                             r->v[1] == 0 ? "sequential" : "fixed", "sequential_tuning", r->v[4]);
    json_t *vars = json_array();
    ab_error err = {0, ""};
    for (size_t i = 0; i < k; i++) {
        char name[32];
        snprintf(name, sizeof name, "v%zu", i);
        json_array_append_new(vars, json_pack("{s:s,s:I,s:I}", "name", name, "users",
                                              (json_int_t)n[i], "conversions", (json_int_t)x[i]));
    }
    json_object_set_new(body, "variants", vars);
    json_t *ans = ab_analyze_json(body, &err);
    json_decref(body);
    CHECK(ans != NULL);
    if (!ans) {
        fprintf(stderr, "  error: %s\n", err.text);
        return;
    }
    const json_t *om = json_object_get(ans, "omnibus");
    CHECK_REL(num(om, "statistic"), omni[0], 1e-6);
    CHECK_REL(num(om, "df"), omni[1], 1e-6);
    CHECK_REL(num(om, "p_value"), omni[2], 1e-6);
    const json_t *variants = json_object_get(ans, "variants");
    CHECK_INT(json_array_size(variants), k);
    for (size_t i = 1; i < k && i < json_array_size(variants); i++) {
        const double *e = &r->v[5 + 2 * k + 3 + (i - 1) * 13];
        const json_t *d = json_object_get(json_object_get(json_array_get(variants, i),
                                                          "vs_control"), "decision");
        CHECK(d != NULL);
        /* diff and its bounds may be ~0 (equal rates): absolute floor 1e-15. */
        CHECK_CLOSE(num(d, "diff"), e[0], 1e-6, 1e-15);
        CHECK_CLOSE(bound(d, "diff_ci", 0), e[1], 1e-6, 1e-15);
        CHECK_CLOSE(bound(d, "diff_ci", 1), e[2], 1e-6, 1e-15);
        CHECK_CLOSE(num(d, "lift"), e[3], 1e-6, 1e-13);
        CHECK_CLOSE(bound(d, "lift_ci", 0), e[4], 1e-6, 1e-13);
        CHECK_CLOSE(bound(d, "lift_ci", 1), e[5], 1e-6, 1e-13);
        CHECK_CLOSE(num(d, "z"), e[6], 1e-6, 1e-12);
        CHECK_REL(num(d, "p_value"), e[7], 1e-6);
        CHECK_REL(num(d, "fisher_p"), e[8], 1e-6);
        CHECK_REL(num(d, "sequential_p"), e[9], 1e-6);
        CHECK_CLOSE(bound(d, "sequential_ci", 0), e[10], 1e-6, 1e-15);
        CHECK_CLOSE(bound(d, "sequential_ci", 1), e[11], 1e-6, 1e-15);
        CHECK_REL(num(d, "p_adjusted"), e[12], 1e-6);
    }
    json_decref(ans);
}

/* A body that must be refused with 400 and an error mentioning `needle`. */
static void bad(const char *body, const char *needle)
{
    ab_error err = {0, ""};
    json_t *ans = ab_analyze_buffer(body, strlen(body), &err);
    snprintf(test_context, sizeof test_context, "bad body %.120s", body);
    CHECK(ans == NULL);
    CHECK_INT(err.status, 400);
    if (!strstr(err.text, needle)) {
        test_fail(__FILE__, __LINE__, "error \"%s\" does not mention \"%s\"", err.text, needle);
    } else {
        test_passed++;
    }
    json_decref(ans);
}

static void test_bad_bodies(void)
{
    const char *two = "{\"name\":\"b\",\"users\":10,\"conversions\":1}";
    char buf[512];
    bad("", "invalid JSON");
    bad("{", "invalid JSON");
    bad("[]", "object");
    bad("{\"variants\":[]}", "variants");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"conversions\":1}]}", "variants");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"a\",\"users\":5,\"conversions\":6},%s]}", two);
    bad(buf, "exceed users");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"a\",\"users\":-5,\"conversions\":0},%s]}", two);
    bad(buf, "negative");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"a\",\"users\":5.5,\"conversions\":0},%s]}", two);
    bad(buf, "whole number");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"a\",\"users\":\"5\",\"conversions\":0},%s]}", two);
    bad(buf, "must be a number");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"a\",\"users\":1e300,\"conversions\":0},%s]}", two);
    bad(buf, "too large");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"users\":5,\"conversions\":0},%s]}", two);
    bad(buf, "name");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"b\",\"users\":5,\"conversions\":0},%s]}", two);
    bad(buf, "used twice");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"a\",\"conversions\":0},%s]}", two);
    bad(buf, "users: required");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"a\",\"users\":5,\"conversion\":0},%s]}", two);
    bad(buf, "unknown field \"conversion\"");
    snprintf(buf, sizeof buf, "{\"alpha\":1.5,\"variants\":[{\"name\":\"a\",\"users\":5},%s]}", two);
    bad(buf, "alpha");
    snprintf(buf, sizeof buf, "{\"alpha\":0,\"variants\":[{\"name\":\"a\",\"users\":5},%s]}", two);
    bad(buf, "alpha");
    snprintf(buf, sizeof buf, "{\"method\":\"bayes\",\"variants\":[{\"name\":\"a\",\"users\":5},%s]}", two);
    bad(buf, "method");
    snprintf(buf, sizeof buf, "{\"correction\":\"fdr\",\"variants\":[{\"name\":\"a\",\"users\":5},%s]}", two);
    bad(buf, "correction");
    snprintf(buf, sizeof buf, "{\"phase\":\"nowhere\",\"variants\":[{\"name\":\"a\",\"users\":5},%s]}", two);
    bad(buf, "phase");
    snprintf(buf, sizeof buf, "{\"sequential_tuning\":-1,\"variants\":[{\"name\":\"a\",\"users\":5},%s]}", two);
    bad(buf, "sequential_tuning");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"a\",\"users\":5,\"revenue_sum\":3,\"revenue_sumsq\":9},%s]}", two);
    bad(buf, "every variant or none");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"a\",\"users\":5,\"revenue_sum\":3},%s]}", two);
    bad(buf, "go together");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":2,\"revenue_sum\":10,\"revenue_sumsq\":1},"
        "{\"name\":\"b\",\"users\":2,\"revenue_sum\":1,\"revenue_sumsq\":1}]}", "too small");
    snprintf(buf, sizeof buf, "{\"metric\":\"nps\",\"variants\":[{\"name\":\"a\",\"users\":5},%s]}", two);
    bad(buf, "nps needs");
    snprintf(buf, sizeof buf, "{\"weights\":[1],\"variants\":[{\"name\":\"a\",\"users\":5},%s]}", two);
    bad(buf, "weights");
    snprintf(buf, sizeof buf, "{\"weights\":[1,-1],\"variants\":[{\"name\":\"a\",\"users\":5},%s]}", two);
    bad(buf, "weights[1]");
    snprintf(buf, sizeof buf, "{\"variants\":[{\"name\":\"a\",\"users\":5,\"phases\":{\"x\":1}},%s]}", two);
    bad(buf, "is not a journey phase: use awareness");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":5},{\"name\":\"a\",\"users\":5}],\"variants\":[]}",
        "duplicate");
    bad("{\"alpha\":NaN,\"variants\":[]}", "invalid JSON");
    /* Found by fuzzing: 2^53 + 9 answers passed the parser and the NPS
     * summary refused them ("analysis failed: invalid argument"). */
    bad("{\"metric\":\"nps\",\"variants\":[{\"name\":\"a\",\"users\":10,\"promoters\":5,"
        "\"passives\":3,\"detractors\":2},{\"name\":\"b\",\"users\":10,"
        "\"promoters\":9007199254740992,\"detractors\":9}]}",
        "variants[1]: promoters + passives + detractors");
    /* 65 variants: one more than allowed. */
    {
        json_t *b = json_object(), *v = json_array();
        for (int i = 0; i < 65; i++) {
            char nm[8];
            snprintf(nm, sizeof nm, "v%d", i);
            json_array_append_new(v, json_pack("{s:s,s:i}", "name", nm, "users", 10));
        }
        json_object_set_new(b, "variants", v);
        char *s = json_dumps(b, 0);
        bad(s, "2 to 64");
        free(s);
        json_decref(b);
    }
    test_context[0] = '\0';
}

/* Revenue, NPS, phases and the verdict come through with the right shape. */
static void test_shape(void)
{
    const char *body =
        "{\"metric\":\"revenue\",\"weights\":[1,1],\"variants\":["
        "{\"name\":\"control\",\"users\":1000,\"conversions\":50,\"phases\":{\"awareness\":400},"
        "\"revenue_sum\":2500,\"revenue_sumsq\":250000,\"promoters\":40,\"passives\":30,\"detractors\":30},"
        "{\"name\":\"b\",\"users\":1010,\"conversions\":70,\"phases\":{\"Bewustwording\":420},"
        "\"revenue_sum\":3500,\"revenue_sumsq\":350000,\"promoters\":50,\"passives\":30,\"detractors\":20}]}";
    ab_error err = {0, ""};
    json_t *ans = ab_analyze_buffer(body, strlen(body), &err);
    CHECK(ans != NULL);
    if (!ans) return;
    const json_t *b = json_array_get(json_object_get(ans, "variants"), 1);
    const json_t *vs = json_object_get(b, "vs_control");
    CHECK(json_object_get(json_object_get(b, "phases"), "awareness") != NULL);
    CHECK(json_object_get(json_object_get(b, "phases"), "decision") != NULL);
    CHECK(json_object_get(vs, "awareness") != NULL);
    CHECK(json_object_get(vs, "revenue") != NULL);
    CHECK(json_object_get(vs, "nps") != NULL);
    CHECK(json_is_object(json_object_get(b, "revenue")));
    CHECK_REL(num(json_object_get(b, "nps"), "score"), 100.0 * 30 / 100, 1e-12);
    CHECK(json_is_string(json_object_get(b, "status")));
    CHECK(json_is_null(json_object_get(b, "significant_since")));
    CHECK(json_object_get(json_array_get(json_object_get(ans, "variants"), 0), "vs_control") == NULL);
    CHECK(json_is_string(json_object_get(json_object_get(ans, "verdict"), "reason")));
    CHECK(json_is_false(json_object_get(json_object_get(ans, "srm"), "alert")));
    CHECK(json_is_null(json_object_get(ans, "omnibus"))); /* metric revenue */
    /* The lift of revenue per user is the library's delta method on the
     * same moments (README "Statistics"). */
    {
        const ab_moments mc = {1000, 2500, 250000}, mv = {1010, 3500, 350000};
        ab_lift_result want;
        const json_t *rev = json_object_get(vs, "revenue");
        CHECK_INT(ab_revenue_lift(&mv, &mc, 0.05, &want), AB_OK);
        CHECK_REL(num(rev, "lift"), want.lift, 1e-12);
        CHECK_REL(bound(rev, "lift_ci", 0), want.ci.lo, 1e-12);
        CHECK_REL(bound(rev, "lift_ci", 1), want.ci.hi, 1e-12);
        CHECK_REL(want.lift, (3500.0 / 1010) / (2500.0 / 1000) - 1, 1e-12);
    }
    json_decref(ans);
}

/* Valid bodies the fuzzer (tests/fuzz/fuzz_analyze.c) found answered with
 * a 500 or the statistics library's "invalid argument". */
static void test_fuzz_finds(void)
{
    static const char *const bodies[] = {
        /* sequential_tuning 1e-300: N rho^2 overflowed, ln Lambda was NaN. */
        "{\"sequential_tuning\": 1e-300, \"variants\": [{\"name\": \"c\", \"users\": 20, "
        "\"conversions\": 5}, {\"name\": \"v\", \"users\": 9007154740991}]}",
        /* 2^53 + 10 users in the two arms: Fisher's test refused the table
         * (AB_ERANGE: 500) and the sequential test its N (AB_EINVAL). */
        "{\"alpha\": 0.9, \"variants\": [{\"name\": \"c\", \"users\": 10, \"conversions\": 1}, "
        "{\"name\": \"v\", \"users\": 9007199254740992, \"conversions\": 0}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        ab_error err = {0, ""};
        json_t *ans = ab_analyze_buffer(bodies[i], strlen(bodies[i]), &err);
        const json_t *vs;
        snprintf(test_context, sizeof test_context, "fuzz find %zu: %s", i, err.text);
        CHECK(ans != NULL);
        vs = json_object_get(json_object_get(json_array_get(json_object_get(ans, "variants"), 1),
                                             "vs_control"), "decision");
        CHECK(json_is_object(vs));
        if (i == 0) {
            /* Lambda -> 0: p is 1, the interval unbounded (null). */
            CHECK_REL(num(vs, "sequential_p"), 1.0, 0);
            CHECK(json_is_null(json_object_get(vs, "sequential_ci")));
        } else {
            CHECK(json_is_null(json_object_get(vs, "fisher_p")));
            CHECK(json_is_number(json_object_get(vs, "sequential_p")));
        }
        json_decref(ans);
    }
    test_context[0] = '\0';
}

/* Whether jansson takes text as a string: error texts go into JSON answers. */
static int utf8_ok(const char *text)
{
    json_t *s = json_string(text);
    json_decref(s);
    return s != NULL;
}

/* Refusals the fuzzer found answered with an error text jansson cannot
 * encode (the daemon's 400 became a 500) or the library's bare "sample
 * size: invalid argument". */
static void test_fuzz_errors(void)
{
    static const struct {
        const char *query, *needle;
    } queries[] = {
        {"baselin\xc4", "has no value"},
        {"m\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "has no value"},
        {"baseline=0.005&power=0.05&mde=0.1&alpha=0.8", "power"},
        {"baseline=0.5&mde=1e-17", "too small"},
    };
    /* "\u2" then the first byte of U+00CB: jansson's "near" ends there. */
    static const char body[] = "{\"description\": \"NPS test \\u2\xc3\x8bNTATIE\"}";
    ab_error err = {0, ""};
    json_t *ans;

    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        ab_sample_size_req rq;
        snprintf(test_context, sizeof test_context, "query #%zu", i);
        ab_sample_size_req_init(&rq);
        err.status = 0;
        ans = NULL;
        if (ab_sample_size_req_query(&rq, queries[i].query, &err) == 0)
            ans = ab_sample_size_answer(&rq, &err);
        CHECK(ans == NULL);
        CHECK_INT(err.status, 400);
        CHECK(utf8_ok(err.text));
        CHECK(strstr(err.text, queries[i].needle) != NULL);
        json_decref(ans);
    }
    test_context[0] = '\0';
    ans = ab_analyze_buffer(body, sizeof body - 1, &err);
    CHECK(ans == NULL);
    CHECK_INT(err.status, 400);
    CHECK(strstr(err.text, "invalid JSON") != NULL);
    CHECK(utf8_ok(err.text));
}

/* The sample-size calculator of SPEC section 7, and its bad parameters. */
static void test_sample_size(void)
{
    ab_sample_size_req rq;
    ab_error err = {0, ""};
    json_t *ans;
    const char *bad_queries[] = {
        "mde=0.1", "baseline=0.05", "baseline=2&mde=0.1", "baseline=0.05&mde=0",
        "baseline=0.05&mde=0.1&alpha=1", "baseline=0.05&mde=0.1&power=0",
        "baseline=0.05&mde=0.1&variants=1", "baseline=0.05&mde=0.1&variants=65",
        "baseline=0.05&mde=0.1&variants=2.5", "baseline=0.05&mde=0.1&daily_users=-3",
        "baseline=0.05&mde=0.1&correction=fdr", "baseline=0.05&mde=0.1&colour=red",
        "baseline=abc&mde=0.1", "baseline=0.05&mde=%zz", "baseline=0.05&mde=0.1%",
        "baseline=0.5&mde=1.5", "baseline", "baseline=0.05&mde=%00", NULL};

    ab_sample_size_req_init(&rq);
    CHECK(ab_sample_size_req_query(&rq, "baseline=0.05&mde=10%25&daily_users=5000", &err) == 0);
    ans = ab_sample_size_answer(&rq, &err);
    CHECK(ans != NULL);
    if (ans) {
        double per = num(ans, "per_variant");
        /* ceil(power.prop.test(0.05, 0.055, 0.05, 0.8)$n) */
        CHECK(per > 31000 && per < 31300);
        CHECK_REL(num(ans, "total"), 2 * per, 0);
        CHECK_REL(num(ans, "target"), 0.055, 1e-12);
        CHECK_REL(num(ans, "days"), ceil(2 * per / 5000), 0);
        CHECK_REL(num(ans, "weeks"), ceil(ceil(2 * per / 5000) / 7), 0);
        json_decref(ans);
    }
    for (int i = 0; bad_queries[i]; i++) {
        snprintf(test_context, sizeof test_context, "query %s", bad_queries[i]);
        ab_sample_size_req_init(&rq);
        err.status = 0;
        ans = NULL;
        if (ab_sample_size_req_query(&rq, bad_queries[i], &err) == 0)
            ans = ab_sample_size_answer(&rq, &err);
        CHECK(ans == NULL);
        CHECK_INT(err.status, 400);
        json_decref(ans);
    }
    test_context[0] = '\0';
}

/* One query's answer, NULL with err on a refusal. */
static json_t *plan_of(const char *query, ab_error *err)
{
    ab_sample_size_req rq;
    ab_sample_size_req_init(&rq);
    err->status = 0;
    if (ab_sample_size_req_query(&rq, query, err)) return NULL;
    return ab_sample_size_answer(&rq, err);
}

/* Revenue and NPS plans (SPEC 12 "Planning") are the library's own figures,
 * whatever order the query gives the metric in; every plan carries the
 * sequential size (README "Calculators without state"). */
static void test_sample_size_metrics(void)
{
    static const struct {
        const char *query, *needle;
    } bad[] = {
        {"metric=nps&mde=5", "promoters: required"},
        {"metric=nps&promoters=0.4&mde=5", "detractors: required"},
        {"metric=nps&promoters=0.4&detractors=0.2", "mde: required"},
        {"metric=nps&promoters=0.7&detractors=0.4&mde=5", "more than 1"},
        {"metric=nps&promoters=0.4&detractors=0.2&mde=0", "positive"},
        {"metric=nps&promoters=0.4&detractors=0.2&mde=-5", "positive"},
        {"metric=nps&promoters=0.4&detractors=0.2&mde=5%25", "not a percentage"},
        {"metric=nps&promoters=1.5&detractors=0&mde=5", "promoters"},
        {"metric=nps&promoters=0&detractors=0&mde=5", "sd 0"},
        {"metric=nps&promoters=0.95&detractors=0&mde=10", "above 100"},
        {"metric=nps&promoters=0.4&detractors=0.2&mde=5&baseline=0.1", "baseline: not for"},
        {"metric=revenue&baseline=12.5&mde=0.05", "sd: required"},
        {"metric=revenue&sd=40&mde=0.05", "baseline: required"},
        {"metric=revenue&sd=40&baseline=12.5", "mde: required"},
        {"metric=revenue&sd=40&baseline=12.5&mde=0", "mde"},
        {"metric=revenue&sd=40&baseline=-3&mde=0.1", "positive mean revenue"},
        {"metric=revenue&sd=0&baseline=12.5&mde=0.1", "sd"},
        {"metric=revenue&sd=40&baseline=12.5&mde=0.1&promoters=0.4", "only for metric=nps"},
        {"baseline=0.05&mde=0.1&sd=3", "sd: only for metric=revenue"},
        {"baseline=0.05&mde=0.1&sequential_tuning=0", "sequential_tuning"},
        {"metric=ctr&baseline=0.05&mde=0.1", "conversion, revenue, nps"},
    };
    ab_error err = {0, ""};
    double per, seq, sd;
    json_t *ans;

    /* Revenue, the baseline above 1 before the metric says it is money. */
    ans = plan_of("baseline=12.5&metric=revenue&sd=40&mde=0.05&variants=3&correction=bonferroni",
                  &err);
    CHECK(ans != NULL);
    CHECK_INT(ab_sample_size_mean(12.5, 40, 0.05, 0.05, 0.8, 3, AB_CORRECT_BONFERRONI, &per),
              AB_OK);
    CHECK_INT(ab_sample_size_seq(0.05 * 12.5, 1600, 1600, 0.05, 0.8, 3, AB_CORRECT_BONFERRONI,
                                 5000, &seq), AB_OK);
    CHECK_REL(num(ans, "per_variant"), per, 0);
    CHECK_REL(num(ans, "sequential_per_variant"), seq, 0);
    CHECK_REL(num(ans, "total"), 3 * per, 0);
    CHECK_REL(num(ans, "target"), 12.5 * 1.05, 1e-12);
    CHECK_REL(num(ans, "sd"), 40, 0);
    CHECK(seq > per);
    CHECK(!strcmp(json_string_value(json_object_get(ans, "metric")), "revenue"));
    json_decref(ans);

    /* NPS: mde in points, sd from the shares; 40% is a share too. */
    ans = plan_of("metric=nps&promoters=40%25&detractors=0.2&mde=5&sequential_tuning=2000", &err);
    CHECK(ans != NULL);
    CHECK_INT(ab_sample_size_nps(0.4, 0.2, 5, 0.05, 0.8, 2, AB_CORRECT_HOLM, &per), AB_OK);
    CHECK_INT(ab_nps_plan_sd(0.4, 0.2, &sd), AB_OK);
    CHECK_INT(ab_sample_size_seq(5, sd * sd, sd * sd, 0.05, 0.8, 2, AB_CORRECT_HOLM, 2000, &seq),
              AB_OK);
    CHECK_REL(num(ans, "per_variant"), per, 0);
    CHECK_REL(num(ans, "sequential_per_variant"), seq, 0);
    CHECK_REL(num(ans, "baseline"), 20, 1e-12);
    CHECK_REL(num(ans, "target"), 25, 1e-12);
    CHECK_REL(num(ans, "sd"), sd, 1e-15);
    CHECK_REL(num(ans, "promoters"), 0.4, 0);
    CHECK_REL(num(ans, "sequential_tuning"), 2000, 0);
    json_decref(ans);

    /* Conversion, the default, gains the sequential size of results. */
    ans = plan_of("baseline=0.05&mde=0.1", &err);
    CHECK(ans != NULL);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_HOLM, 5000, &seq),
              AB_OK);
    CHECK_REL(num(ans, "sequential_per_variant"), seq, 0);
    CHECK(!strcmp(json_string_value(json_object_get(ans, "metric")), "conversion"));
    CHECK(json_object_get(ans, "sd") == NULL);
    json_decref(ans);
    /* Below power 0.5 the sequential test has no plan: null, not a 400. */
    ans = plan_of("metric=nps&promoters=0.4&detractors=0.2&mde=5&power=0.3", &err);
    CHECK(ans != NULL);
    CHECK(json_is_null(json_object_get(ans, "sequential_per_variant")));
    json_decref(ans);

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(test_context, sizeof test_context, "query %s", bad[i].query);
        ans = plan_of(bad[i].query, &err);
        CHECK(ans == NULL);
        CHECK_INT(err.status, 400);
        CHECK(strstr(err.text, bad[i].needle) != NULL);
        json_decref(ans);
    }
    test_context[0] = '\0';
}

/* prior (README "Statistics", Prior): the posterior of the primary lift
 * equals the library's on the delta-method lift, and a wrong prior is a
 * 400 that names it. */
static void test_prior(void)
{
    const char *body =
        "{\"prior\":{\"mean\":0,\"sd\":0.1},\"variants\":["
        "{\"name\":\"control\",\"users\":2000,\"conversions\":100},"
        "{\"name\":\"b\",\"users\":2000,\"conversions\":130}]}";
    ab_error err = {0, ""};
    json_t *ans = ab_analyze_buffer(body, strlen(body), &err);
    ab_lift_result lr;
    ab_prior_result want;
    CHECK(ans != NULL);
    if (!ans) return;
    const json_t *p = json_object_get(json_object_get(json_object_get(
        json_array_get(json_object_get(ans, "variants"), 1), "vs_control"), "decision"), "prior");
    CHECK_INT(ab_lift_delta(0.065, 0.065 * 0.935 / 2000, 0.05, 0.05 * 0.95 / 2000, 0.05, &lr),
              AB_OK);
    CHECK_INT(ab_prior_posterior(lr.lift, lr.var, 0.0, 0.1, &want), AB_OK);
    CHECK_REL(num(p, "posterior_mean"), want.mean, 1e-12);
    CHECK_REL(num(p, "posterior_sd"), want.sd, 1e-12);
    CHECK_REL(num(p, "prob_beat_control"), want.prob_beat_control, 1e-12);
    CHECK_REL(num(p, "risk"), want.risk, 1e-12);
    CHECK_REL(num(p, "sd"), 0.1, 0);
    /* The prior pulls the lift (+30 %) towards 0. */
    CHECK(want.mean > 0.0 && want.mean < lr.lift);
    json_decref(ans);
    bad("{\"prior\":5,\"variants\":[{\"name\":\"a\",\"users\":5},{\"name\":\"b\",\"users\":5}]}",
        "prior: must be an object");
    bad("{\"prior\":{\"mean\":0},\"variants\":[{\"name\":\"a\",\"users\":5},{\"name\":\"b\",\"users\":5}]}",
        "prior.sd: required");
    bad("{\"prior\":{\"sd\":0},\"variants\":[{\"name\":\"a\",\"users\":5},{\"name\":\"b\",\"users\":5}]}",
        "prior.sd: must be greater than 0");
    bad("{\"prior\":{\"sd\":0.3,\"shape\":2},\"variants\":[{\"name\":\"a\",\"users\":5},{\"name\":\"b\",\"users\":5}]}",
        "shape");
    /* Without a prior there is no block. */
    body = "{\"variants\":[{\"name\":\"control\",\"users\":2000,\"conversions\":100},"
           "{\"name\":\"b\",\"users\":2000,\"conversions\":130}]}";
    ans = ab_analyze_buffer(body, strlen(body), &err);
    CHECK(ans && !json_object_get(json_object_get(json_object_get(
        json_array_get(json_object_get(ans, "variants"), 1), "vs_control"), "decision"), "prior"));
    json_decref(ans);
}

/* steps (README "Calculators without state"): the journey block from
 * given step counts equals the library's bounds on the same counts, NPS
 * response included; refusals name what to fix. */
static void test_journey(void)
{
    static const double reached[2][4] = {{4000, 1300, 260, 120}, {4300, 1500, 310, 130}};
    static const double cont[2][4] = {{1200, 400, 100, 30}, {1400, 420, 110, 35}};
    static const double users[2] = {5000, 5100};
    char body[2048];
    int n = snprintf(body, sizeof body, "{\"alpha\":0.1,\"variants\":[");
    ab_error err = {0, ""};
    json_t *ans, *steps;
    for (int i = 0; i < 2; i++)
        n += snprintf(body + n, sizeof body - (size_t)n,
                      "%s{\"name\":\"%s\",\"users\":%.0f,\"conversions\":%.0f,"
                      "\"promoters\":%d,\"passives\":%d,\"detractors\":%d,\"steps\":{"
                      "\"awareness\":{\"reached\":%.0f,\"continued\":%.0f},"
                      "\"consideration\":{\"reached\":%.0f,\"continued\":%.0f},"
                      "\"aankoop\":{\"reached\":%.0f,\"continued\":%.0f},"
                      "\"retention\":{\"reached\":%.0f,\"continued\":%.0f}}}",
                      i ? "," : "", i ? "buy-now" : "control", users[i], reached[i][2],
                      i ? 300 : 200, 100, i ? 90 : 150, reached[i][0], cont[i][0], reached[i][1],
                      cont[i][1], reached[i][2], cont[i][2], reached[i][3], cont[i][3]);
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    ans = ab_analyze_buffer(body, strlen(body), &err);
    CHECK(ans != NULL);
    if (!ans) {
        printf("test_analyze: journey: %s\n", err.text);
        return;
    }
    steps = json_object_get(json_object_get(ans, "journey"), "steps");
    CHECK_INT(json_array_size(steps), 4);
    for (size_t p = 0; p < 4 && p < json_array_size(steps); p++) {
        ab_journey_arm v = {users[1], reached[1][p], cont[1][p]};
        ab_journey_arm c = {users[0], reached[0][p], cont[0][p]};
        ab_journey_bounds want;
        const json_t *vs = json_array_get(json_object_get(json_array_get(steps, p), "vs_control"), 0);
        CHECK_INT(ab_journey_step_bounds(&v, &c, 0.1, &want), AB_OK);
        CHECK_REL(num(vs, "diff"), want.diff, 1e-12);
        CHECK_REL(bound(vs, "bounds", 0), want.bounds.lo, 1e-12);
        CHECK_REL(bound(vs, "bounds", 1), want.bounds.hi, 1e-12);
        CHECK_REL(bound(vs, "bounds_ci", 0), want.bounds_ci.lo, 1e-12);
        CHECK_REL(bound(vs, "bounds_ci", 1), want.bounds_ci.hi, 1e-12);
    }
    {
        ab_nps_response_arm v = {users[1], 300, 100, 90}, c = {users[0], 200, 100, 150};
        ab_nps_response_result want;
        const json_t *vs = json_array_get(json_object_get(json_object_get(json_object_get(ans,
                                              "journey"), "nps_response"), "vs_control"), 0);
        CHECK_INT(ab_nps_response_bounds(&v, &c, 0.1, &want), AB_OK);
        CHECK_REL(num(vs, "z"), want.z, 1e-12);
        CHECK_REL(bound(vs, "bounds", 0), want.bounds.lo, 1e-12);
        CHECK_REL(bound(vs, "bounds", 1), want.bounds.hi, 1e-12);
    }
    json_decref(ans);
#define V2 ",{\"name\":\"b\",\"users\":100,\"conversions\":5}]}"
#define ALL4 "\"awareness\":{\"reached\":9,\"continued\":5},\"consideration\":{\"reached\":5,"  \
             "\"continued\":2},\"decision\":{\"reached\":2,\"continued\":1},"                   \
             "\"retention\":{\"reached\":1,\"continued\":1}"
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"steps\":{" ALL4 "}}" V2,
        "variants[1]: steps must be given for every variant or none");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"steps\":{\"awareness\":{\"reached\":9,"
        "\"continued\":5}}}" V2, "give all four steps");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"steps\":{\"advocacy\":{\"reached\":9,"
        "\"continued\":5}}}" V2, "no step starts at the last phase");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"steps\":{\"buy\":{}}}" V2, "buy");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"steps\":{\"awareness\":{\"reached\":11,"
        "\"continued\":5}}}" V2, "reached (11) exceeds users (10)");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"steps\":{\"awareness\":{\"reached\":5,"
        "\"continued\":6}}}" V2, "continued (6) exceeds reached (5)");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"steps\":{\"awareness\":{\"reached\":5}}}" V2,
        "reached and continued are both required");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"steps\":{\"awareness\":{\"reached\":5,"
        "\"continued\":1,\"left\":2}}}" V2, "left");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"steps\":{\"awareness\":{\"reached\":5,"
        "\"continued\":1},\"bewustwording\":{\"reached\":5,\"continued\":1}}}" V2, "given twice");
    bad("{\"variants\":[{\"name\":\"a\",\"users\":10,\"steps\":[1,2]}" V2, "must be an object");
#undef V2
#undef ALL4
    /* Without steps there is no block. */
    {
        static const char plain[] =
            "{\"variants\":[{\"name\":\"a\",\"users\":10},{\"name\":\"b\",\"users\":10}]}";
        ans = ab_analyze_buffer(plain, sizeof plain - 1, &err);
    }
    CHECK(ans && !json_object_get(ans, "journey"));
    json_decref(ans);
}

int main(void)
{
    ref_file *f;
    ref_row row;
    int rows = 0;

    ab_stats_init();
    if ((f = ref_open("analyze.tsv"))) {
        while (ref_next(f, &row)) {
            check_row(&row);
            rows++;
        }
        ref_close(f);
    }
    CHECK(rows >= 50);
    test_bad_bodies();
    test_prior();
    test_journey();
    test_shape();
    test_fuzz_finds();
    test_fuzz_errors();
    test_sample_size();
    test_sample_size_metrics();
    return TEST_DONE("test_analyze");
}
