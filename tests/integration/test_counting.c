/* test_counting.c — SPEC section 4's counting rules on hand-made event
 * streams with known answers, results equal to the statistics library's
 * (R-checked) figures for the same counts, and a restart that changes
 * nothing. Against a real abstatd. */
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

static td_daemon D;

static void post(const char *body, int accepted, int duplicates)
{
    td_response r = td_req(&D, "POST", "/v1/events", body);
    snprintf(test_context, sizeof test_context, "post %.100s", body);
    CHECK_INT(r.status, 202);
    CHECK_INT(json_integer_value(json_object_get(r.json, "accepted")), accepted);
    CHECK_INT(json_integer_value(json_object_get(r.json, "duplicates")), duplicates);
    if (r.status != 202 && r.body) fprintf(stderr, "  body: %.300s\n", r.body);
    test_context[0] = '\0';
    td_free(&r);
}

static json_t *results(const char *id)
{
    char path[128];
    td_response r;
    json_t *j;
    snprintf(path, sizeof path, "/v1/experiments/%s/results", id);
    r = td_req(&D, "GET", path, NULL);
    CHECK_INT(r.status, 200);
    j = json_incref(r.json);
    td_free(&r);
    return j;
}

static const json_t *variant(const json_t *res, size_t i)
{
    return json_array_get(json_object_get(res, "variants"), i);
}

static double at(const json_t *o, const char *path)
{
    char buf[256], *save = NULL, *tok;
    const json_t *cur = o;
    snprintf(buf, sizeof buf, "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
        if (tok[0] >= '0' && tok[0] <= '9') cur = json_array_get(cur, (size_t)atoi(tok));
        else cur = json_object_get(cur, tok);
    }
    return json_is_number(cur) ? json_number_value(cur) : NAN;
}

static void test_rules(void)
{
    json_t *res;
    const json_t *a, *b;
    td_response r = td_req(&D, "PUT", "/v1/experiments/rules",
                           "{\"variants\":[\"a\",\"b\"],\"min_days\":0,\"min_users\":0}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    /* u1: first exposure wins (a); b later is a conflict; a again is nothing. */
    post("{\"experiment\":\"rules\",\"variant\":\"a\",\"user\":\"u1\",\"type\":\"exposure\"}\n"
         "{\"experiment\":\"rules\",\"variant\":\"b\",\"user\":\"u1\",\"type\":\"exposure\"}\n"
         "{\"experiment\":\"rules\",\"variant\":\"a\",\"user\":\"u1\",\"type\":\"exposure\"}\n"
         "{\"experiment\":\"rules\",\"variant\":\"b\",\"user\":\"u2\",\"type\":\"exposure\"}\n", 4, 0);
    /* u3 converts before any exposure: unattributed, and stays so. */
    post("{\"experiment\":\"rules\",\"user\":\"u3\",\"type\":\"conversion\",\"value\":99}", 1, 0);
    post("{\"experiment\":\"rules\",\"variant\":\"a\",\"user\":\"u3\",\"type\":\"exposure\"}", 1, 0);
    /* u1: one decision conversion however often; values add up (10 + 5). */
    post("[{\"experiment\":\"rules\",\"user\":\"u1\",\"type\":\"conversion\",\"value\":10},"
         "{\"experiment\":\"rules\",\"user\":\"u1\",\"type\":\"conversion\",\"phase\":\"checkout\",\"value\":5},"
         "{\"experiment\":\"rules\",\"user\":\"u1\",\"type\":\"conversion\",\"phase\":\"Bewustwording\"}]", 3, 0);
    post("{\"experiment\":\"rules\",\"user\":\"u2\",\"type\":\"conversion\"}", 1, 0);
    /* NPS: first answer counts; a never-exposed user's is unattributed. */
    post("{\"experiment\":\"rules\",\"user\":\"u2\",\"type\":\"nps\",\"score\":9}\n"
         "{\"experiment\":\"rules\",\"user\":\"u2\",\"type\":\"nps\",\"score\":3}\n"
         "{\"experiment\":\"rules\",\"user\":\"u1\",\"type\":\"nps\",\"score\":7}\n"
         "{\"experiment\":\"rules\",\"user\":\"u4\",\"type\":\"nps\",\"score\":10}\n", 4, 0);
    /* Idempotency: the same id again is a duplicate, counted, not applied. */
    post("{\"experiment\":\"rules\",\"variant\":\"b\",\"user\":\"u5\",\"type\":\"exposure\",\"id\":\"k1\"}", 1, 0);
    post("{\"experiment\":\"rules\",\"variant\":\"a\",\"user\":\"u6\",\"type\":\"exposure\",\"id\":\"k1\"}", 1, 1);

    res = results("rules");
    a = variant(res, 0);
    b = variant(res, 1);
    CHECK_REL(at(res, "data_quality.conflicts"), 1, 0);
    CHECK_REL(at(res, "data_quality.unattributed"), 2, 0);
    CHECK_REL(at(res, "data_quality.duplicates"), 1, 0);
    CHECK_REL(at(res, "data_quality.events"), 16, 0);
    CHECK_REL(at(a, "users"), 2, 0);   /* u1, u3 */
    CHECK_REL(at(b, "users"), 2, 0);   /* u2, u5 */
    CHECK_REL(at(a, "phases.decision.conversions"), 1, 0);
    CHECK_REL(at(a, "phases.awareness.conversions"), 1, 0);
    CHECK_REL(at(b, "phases.decision.conversions"), 1, 0);
    CHECK_REL(at(b, "phases.awareness.conversions"), 0, 0);
    /* Revenue per user in a: u1 15, u3 0 -> mean 7.5, sd sqrt(112.5). */
    CHECK_REL(at(a, "revenue.mean"), 7.5, 1e-12);
    CHECK_REL(at(a, "revenue.sd"), sqrt(112.5), 1e-12);
    CHECK_REL(at(b, "revenue.mean"), 0, 0);
    CHECK_REL(at(a, "nps.passives"), 1, 0);
    CHECK_REL(at(a, "nps.responses"), 1, 0);
    CHECK_REL(at(b, "nps.promoters"), 1, 0);
    CHECK_REL(at(b, "nps.detractors"), 0, 0);
    CHECK_REL(at(b, "nps.score"), 100, 1e-12);
    CHECK_REL(at(res, "srm.observed.0"), 2, 0);
    json_decref(res);
}

/* A large body (parsed on a worker thread) with one bad event: 400 with
 * its index, and nothing of it stored. */
static void test_large_bad_batch(void)
{
    size_t cap = 200000, len = 0;
    char *big = malloc(cap);
    double before;
    td_response r = td_req(&D, "GET", "/v1/experiments/rules", NULL);
    before = json_number_value(json_object_get(r.json, "events"));
    td_free(&r);
    if (!big) return;
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(big + len, cap - len,
                                "{\"experiment\":\"rules\",\"variant\":\"%s\",\"user\":\"big%d\","
                                "\"type\":\"exposure\"}\n", i == 500 ? "nope" : "a", i);
    r = td_request(&D, "POST", "/v1/events", big, len, NULL);
    CHECK_INT(r.status, 400);
    CHECK(strstr(json_string_value(json_object_get(r.json, "error")), "1 of 1000 events") != NULL);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(json_object_get(r.json, "errors"), 0),
                                                 "index")), 500);
    td_free(&r);
    free(big);
    r = td_req(&D, "GET", "/v1/experiments/rules", NULL);
    CHECK_REL(json_number_value(json_object_get(r.json, "events")), before, 0);
    td_free(&r);
}

/* SPEC section 5's example: 250/5000 against 300/5100, posted as events. */
static void test_reference_figures(void)
{
    size_t cap = 12u << 20, len = 0;
    char *buf = malloc(cap);
    json_t *res;
    const json_t *v, *c, *d;
    ab_analysis_opts opts;
    ab_arm_counts arms[2];
    ab_arm_result out[2];
    td_response r;

    r = td_req(&D, "PUT", "/v1/experiments/spec",
               "{\"variants\":[\"control\",\"buy-now\"],\"min_days\":0,\"min_users\":0,"
               "\"mde\":0.1}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    if (!buf) return;
    for (int i = 0; i < 10100; i++) {
        int ctl = i < 5000, conv = ctl ? i < 250 : i - 5000 < 300;
        len += (size_t)snprintf(buf + len, cap - len,
                                "{\"experiment\":\"spec\",\"variant\":\"%s\",\"user\":\"s%d\","
                                "\"type\":\"exposure\",\"ts\":%lld}\n",
                                ctl ? "control" : "buy-now", i, 1700000000000LL + 1000LL * i);
        if (conv)
            len += (size_t)snprintf(buf + len, cap - len,
                                    "{\"experiment\":\"spec\",\"user\":\"s%d\",\"type\":\"conversion\","
                                    "\"ts\":%lld}\n", i, 1700000000500LL + 1000LL * i);
    }
    r = td_request(&D, "POST", "/v1/events", buf, len, NULL);
    CHECK_INT(r.status, 202);
    CHECK_INT(json_integer_value(json_object_get(r.json, "accepted")), 10650);
    td_free(&r);
    free(buf);

    memset(&opts, 0, sizeof opts);
    memset(arms, 0, sizeof arms);
    opts.cmp.alpha = 0.05;
    opts.cmp.method = AB_METHOD_SEQUENTIAL;
    opts.cmp.tuning = 5000;
    opts.cmp.correction = AB_CORRECT_HOLM;
    opts.phase = AB_PHASE_DECISION;
    arms[0].users = 5000;
    arms[0].conversions[AB_PHASE_DECISION] = 250;
    arms[0].revenue.n = 5000;
    arms[1].users = 5100;
    arms[1].conversions[AB_PHASE_DECISION] = 300;
    arms[1].revenue.n = 5100;
    CHECK(ab_analysis_run(&opts, arms, 2, out) == AB_OK);

    res = results("spec");
    c = variant(res, 0);
    v = variant(res, 1);
    d = json_object_get(json_object_get(v, "vs_control"), "decision");
    /* R's figures (SPEC section 5), then the library's for every field. */
    CHECK_REL(at(c, "phases.decision.ci.0"), 0.04430, 1e-3);
    CHECK_REL(at(c, "phases.decision.ci.1"), 0.05639, 1e-3);
    CHECK_REL(at(d, "z"), 1.9538448938567112, 1e-6);
    CHECK_REL(at(d, "p_value"), 0.050719563194026429, 1e-6);
    CHECK_REL(at(d, "fisher_p"), 0.053621950900394774, 1e-6);
    CHECK_REL(at(d, "sequential_p"), 0.6821106257678865, 1e-6);
    CHECK_REL(at(d, "sequential_ci.0"), -0.0049922535175358461, 1e-6);
    CHECK_REL(at(d, "sequential_ci.1"), 0.022639312341065251, 1e-6);
    CHECK_REL(at(d, "prob_beat_control"), 0.97458, 1e-4);
    CHECK_REL(at(d, "diff"), out[1].rate[AB_PHASE_DECISION].cmp.diff, 1e-12);
    CHECK_REL(at(d, "diff_ci.0"), out[1].rate[AB_PHASE_DECISION].cmp.diff_ci.lo, 1e-12);
    CHECK_REL(at(d, "diff_ci.1"), out[1].rate[AB_PHASE_DECISION].cmp.diff_ci.hi, 1e-12);
    CHECK_REL(at(d, "lift"), out[1].rate[AB_PHASE_DECISION].cmp.lift, 1e-12);
    CHECK_REL(at(d, "lift_ci.0"), out[1].rate[AB_PHASE_DECISION].cmp.lift_ci.lo, 1e-12);
    CHECK_REL(at(d, "lift_ci.1"), out[1].rate[AB_PHASE_DECISION].cmp.lift_ci.hi, 1e-12);
    CHECK_REL(at(d, "expected_loss"), out[1].rate[AB_PHASE_DECISION].bayes.expected_loss, 1e-12);
    CHECK_REL(at(d, "p_adjusted"), 0.6821106257678865, 1e-6);
    CHECK_REL(at(res, "omnibus.statistic"), 3.817509869249943, 1e-6);
    CHECK_REL(at(res, "omnibus.p_value"), 0.050719563194026429, 1e-6);
    {
        const double users[2] = {5000, 5100}, w[2] = {0.5, 0.5};
        ab_chisq_result gof;
        CHECK(ab_chisq_gof(users, w, 2, &gof) == AB_OK);
        CHECK_REL(at(res, "srm.p_value"), gof.p_value, 1e-12);
        CHECK(json_is_false(json_object_get(json_object_get(res, "srm"), "alert")));
    }
    CHECK_REL(at(res, "sample_size.baseline"), 0.05, 1e-12);
    CHECK_REL(at(res, "sample_size.per_variant"), 31234, 0);
    CHECK(at(res, "days_running") > 0.116 && at(res, "days_running") < 0.118);
    json_decref(res);
}

/* A 2x2 factorial: cells named by levels, main effects and interaction
 * equal to the library's (R-checked) figures for the same counts. */
static void test_factorial(void)
{
    static const char *const cells[4] = {"a/x", "a/y", "b/x", "b/y"};
    const double n[4] = {400, 400, 400, 400}, x[4] = {20, 30, 25, 60};
    ab_design design = {2, {2, 2}};
    double lx[2], ln[2];
    ab_chisq_result chi;
    ab_lrt_result lrt;
    size_t cap = 1u << 20, len = 0;
    char *buf = malloc(cap);
    td_response r = td_req(&D, "PUT", "/v1/experiments/hero",
                           "{\"factors\":[{\"name\":\"headline\",\"levels\":[\"a\",\"b\"]},"
                           "{\"name\":\"cta\",\"levels\":[\"x\",\"y\"]}],"
                           "\"min_days\":0,\"min_users\":0}");
    CHECK_INT(r.status, 201);
    CHECK_INT(json_array_size(json_object_get(r.json, "variants")), 4);
    td_free(&r);
    if (!buf) return;
    for (int c = 0; c < 4; c++)
        for (int u = 0; u < (int)n[c]; u++) {
            len += (size_t)snprintf(buf + len, cap - len,
                                    "{\"experiment\":\"hero\",\"variant\":\"%s\",\"user\":\"f%d-%d\","
                                    "\"type\":\"exposure\"}\n", cells[c], c, u);
            if (u < (int)x[c])
                len += (size_t)snprintf(buf + len, cap - len,
                                        "{\"experiment\":\"hero\",\"user\":\"f%d-%d\","
                                        "\"type\":\"conversion\"}\n", c, u);
        }
    r = td_request(&D, "POST", "/v1/events", buf, len, NULL);
    CHECK_INT(r.status, 202);
    td_free(&r);
    free(buf);

    json_t *res = results("hero");
    const json_t *f = json_object_get(res, "factorial");
    CHECK(json_is_object(f));
    CHECK(!strcmp(json_string_value(json_object_get(variant(res, 3), "name")), "b/y"));
    for (size_t k = 0; k < 2; k++) {
        const json_t *me = json_array_get(json_object_get(f, "main_effects"), k);
        CHECK(ab_factorial_main_effect(&design, x, n, k, lx, ln, &chi) == AB_OK);
        CHECK_REL(at(me, "levels.0.users"), ln[0], 0);
        CHECK_REL(at(me, "levels.1.conversions"), lx[1], 0);
        CHECK_REL(at(me, "statistic"), chi.statistic, 1e-12);
        CHECK_REL(at(me, "p_value"), chi.p_value, 1e-12);
    }
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(json_object_get(f, "main_effects"), 1),
                                                    "factor")), "cta"));
    CHECK(ab_factorial_interaction(&design, x, n, &lrt) == AB_OK);
    CHECK_REL(at(f, "interaction.statistic"), lrt.statistic, 1e-9);
    CHECK_REL(at(f, "interaction.df"), 1, 0);
    CHECK_REL(at(f, "interaction.p_value"), lrt.p_value, 1e-9);
    json_decref(res);
}

/* Stop and start on the same data: the same answer, byte for byte. */
static void test_restart(void)
{
    const char *ids[] = {"rules", "spec", "hero"};
    char *before[3];
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/experiments/%s/results", ids[i]);
        td_response r = td_req(&D, "GET", path, NULL);
        before[i] = strdup(r.body ? r.body : "");
        td_free(&r);
    }
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/experiments/%s/results", ids[i]);
        td_response r = td_req(&D, "GET", path, NULL);
        snprintf(test_context, sizeof test_context, "restart %s", ids[i]);
        CHECK(r.body && !strcmp(r.body, before[i]));
        test_context[0] = '\0';
        td_free(&r);
        free(before[i]);
    }
}

int main(void)
{
    ab_stats_init();
    td_init(&D, "counting");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_counting");
    }
    test_rules();
    test_large_bad_batch();
    test_reference_figures();
    test_factorial();
    test_restart();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    return TEST_DONE("test_counting");
}
