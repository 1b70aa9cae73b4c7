/* test_evaluate.c — the decision rules of SPEC section 6 on hand-set
 * counts, through the same ab_evaluate the daemon runs: readiness
 * (min_days, min_users, planned sample under fixed), statuses, stickiness
 * under sequential, the running minimum, SRM, the verdict's choices and
 * the revenue and NPS primaries. */
#include <string.h>

#include "../service/evaluate.h"
#include "../service/jsonin.h"
#include "abstat/stats.h"
#include "test.h"

#define DAY 86400000LL

static ab_live *make(const char *json)
{
    ab_error err = {0, ""};
    ab_experiment_config cfg;
    json_t *body = ab_jin_parse_text(json, &err);
    ab_live *e = NULL;
    if (body && ab_experiment_parse("t", body, &cfg, &err) == 0) {
        e = ab_live_new(&cfg, 1, 0, 0);
        if (!e) ab_experiment_free(&cfg);
    } else {
        test_fail(__FILE__, __LINE__, "config: %s", err.text);
    }
    json_decref(body);
    return e;
}

static void set_arm(ab_live *e, size_t i, double users, double conv)
{
    e->state.arms[i].users = users;
    e->state.arms[i].revenue.n = users;
    e->state.arms[i].conversions[e->cfg.phase] = conv;
}

static void set_days(ab_live *e, double days)
{
    e->state.first_ts_ms = 0;
    e->state.last_ts_ms = (int64_t)(days * DAY);
}

static ab_evaluation ev;

static void test_min_days_and_users(void)
{
    ab_live *e = make("{\"variants\":[\"c\",\"v\"],\"min_days\":7,\"min_users\":100}");
    set_arm(e, 0, 5000, 100);
    set_arm(e, 1, 5000, 300);
    set_days(e, 3);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_COLLECTING);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_KEEP_RUNNING);
    CHECK(strstr(ev.verdict.reason, "3.0 of the minimum 7 days") != NULL);
    set_days(e, 7.5);
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_BETTER);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_SHIP);
    CHECK_INT(ev.verdict.variant, 1);
    CHECK_INT(e->mon[1].significant_since, 2);
    CHECK_INT(ev.nnewly, 1);
    ab_live_free(e);

    e = make("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":1000}");
    set_arm(e, 0, 999, 10);
    set_arm(e, 1, 1000, 500);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_COLLECTING);
    CHECK(strstr(ev.verdict.reason, "1000 users") != NULL);
    ab_live_free(e);
}

/* Sequential: once better, it stays so; the reported p never rises. */
static void test_sticky_and_running_min(void)
{
    ab_live *e = make("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0}");
    double p1, p2;
    set_arm(e, 0, 4000, 200);
    set_arm(e, 1, 4000, 320);
    CHECK(ab_evaluate(e, 10, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_BETTER);
    p1 = ev.res[1].primary.sequential_p;
    /* The difference shrinks to nothing: instantaneous p rises. */
    set_arm(e, 0, 40000, 2000);
    set_arm(e, 1, 40000, 2001);
    CHECK(ab_evaluate(e, 20, &ev) == AB_OK);
    p2 = ev.res[1].primary.sequential_p;
    CHECK_REL(p2, p1, 0);                 /* running minimum */
    CHECK_INT(ev.status[1], AB_ARM_BETTER); /* sticky */
    CHECK_INT(e->mon[1].significant_since, 10);
    CHECK_INT(ev.nnewly, 0);              /* reported once only */
    ab_live_free(e);
}

/* Fixed horizon: judged only at the planned sample, then no_effect too. */
static void test_fixed(void)
{
    ab_live *e = make("{\"variants\":[\"c\",\"v\"],\"method\":\"fixed\",\"min_days\":0,"
                      "\"min_users\":0,\"baseline\":0.05,\"mde\":0.5}");
    double per;
    CHECK(ab_sample_size_prop(0.05, 0.5, 0.05, 0.8, 2, AB_CORRECT_HOLM, &per) == AB_OK);
    set_arm(e, 0, per - 1, floor((per - 1) * 0.05));
    set_arm(e, 1, per - 1, floor((per - 1) * 0.09));
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_COLLECTING); /* p is tiny, but not yet */
    CHECK_REL(ev.per_variant, per, 0);
    CHECK(!ev.planned_reached);
    set_arm(e, 0, per, floor(0.05 * per));
    set_arm(e, 1, per, floor(0.051 * per));
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK(ev.planned_reached);
    CHECK_INT(ev.status[1], AB_ARM_NO_EFFECT);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_KEEP_CONTROL);
    /* Fixed uses the fixed-horizon p in the family. */
    CHECK_REL(ev.res[1].primary.p_adjusted, ev.res[1].primary.p_value, 1e-12);
    ab_live_free(e);
}

static void test_verdicts(void)
{
    /* Two winners: ship the larger effect; a loser beside them is fine. */
    ab_live *e = make("{\"variants\":[\"c\",\"a\",\"b\",\"d\"],\"min_days\":0,\"min_users\":0}");
    set_arm(e, 0, 10000, 500);
    set_arm(e, 1, 10000, 700);
    set_arm(e, 2, 10000, 900);
    set_arm(e, 3, 10000, 300);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_BETTER);
    CHECK_INT(ev.status[2], AB_ARM_BETTER);
    CHECK_INT(ev.status[3], AB_ARM_WORSE);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_SHIP);
    CHECK_INT(ev.verdict.variant, 2);
    CHECK(strstr(ev.verdict.reason, "Ship b") != NULL);
    ab_live_free(e);

    /* Every variant worse: keep the control. */
    e = make("{\"variants\":[\"c\",\"a\",\"b\"],\"min_days\":0,\"min_users\":0}");
    set_arm(e, 0, 10000, 900);
    set_arm(e, 1, 10000, 500);
    set_arm(e, 2, 10000, 400);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_KEEP_CONTROL);
    ab_live_free(e);

    /* A skewed split outranks everything: invalid, naming the counts. */
    e = make("{\"variants\":[\"c\",\"v\"],\"weights\":[1,3],\"min_days\":0,\"min_users\":0}");
    set_arm(e, 0, 5000, 100);
    set_arm(e, 1, 5000, 400);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK(ev.srm_alert);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_INVALID);
    CHECK(strstr(ev.verdict.reason, "c 5000, v 5000") != NULL);
    /* ... while the intended 1:3 split passes. */
    set_arm(e, 0, 2500, 100);
    set_arm(e, 1, 7500, 400);
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK(!ev.srm_alert);
    ab_live_free(e);
}

/* A sequential test with V = 0 (0/1 against 1/1) is never significant. */
static void test_undefined_sequential(void)
{
    ab_live *e = make("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0}");
    set_arm(e, 0, 1, 0);
    set_arm(e, 1, 1, 1);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK(isnan(ev.res[1].primary.sequential_p));
    CHECK_INT(ev.status[1], AB_ARM_COLLECTING);
    /* No users at all: nothing defined, nothing crashes. */
    set_arm(e, 0, 0, 0);
    set_arm(e, 1, 0, 0);
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_KEEP_RUNNING);
    CHECK(isnan(ev.res[1].primary.p_value));
    ab_live_free(e);
}

/* Revenue and NPS as the primary metric. */
static void test_other_metrics(void)
{
    ab_live *e = make("{\"variants\":[\"c\",\"v\"],\"metric\":\"revenue\",\"min_days\":0,"
                      "\"min_users\":0}");
    ab_welch_result w;
    set_arm(e, 0, 4000, 200);
    set_arm(e, 1, 4000, 200);
    e->state.arms[0].revenue = (ab_moments){4000, 4000 * 2.0, 4000 * 104.0};
    e->state.arms[1].revenue = (ab_moments){4000, 4000 * 3.0, 4000 * 109.0};
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK(ab_welch_test(&e->state.arms[1].revenue, &e->state.arms[0].revenue, 0.05, &w) == AB_OK);
    CHECK_REL(ev.res[1].primary.effect, w.diff, 1e-12);
    CHECK_REL(ev.res[1].primary.p_value, w.p_value, 1e-12);
    CHECK_REL(ev.res[1].primary.lift, 0.5, 1e-12);
    CHECK(isfinite(ev.per_variant));
    ab_live_free(e);

    e = make("{\"variants\":[\"c\",\"v\"],\"metric\":\"nps\",\"min_days\":0,\"min_users\":0}");
    set_arm(e, 0, 1000, 0);
    set_arm(e, 1, 1000, 0);
    e->state.arms[0].promoters = 300;
    e->state.arms[0].passives = 400;
    e->state.arms[0].detractors = 300;
    e->state.arms[1].promoters = 500;
    e->state.arms[1].passives = 300;
    e->state.arms[1].detractors = 200;
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_REL(ev.res[1].primary.effect, 30.0, 1e-12);
    CHECK_INT(ev.status[1], AB_ARM_BETTER);
    CHECK(strstr(ev.verdict.reason, "NPS points") != NULL);
    ab_live_free(e);
}

int main(void)
{
    ab_stats_init();
    test_min_days_and_users();
    test_sticky_and_running_min();
    test_fixed();
    test_verdicts();
    test_undefined_sequential();
    test_other_metrics();
    return TEST_DONE("test_evaluate");
}
