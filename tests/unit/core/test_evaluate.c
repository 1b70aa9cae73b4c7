/* test_evaluate.c — the decision rules of SPEC section 6 on hand-set
 * counts, through the same ab_evaluate the daemon runs: readiness
 * (min_days, min_users, planned sample under fixed), statuses, stickiness
 * under sequential, the running minimum, SRM, the verdict's choices and
 * the revenue and NPS primaries. */
#include <string.h>

#include "core/evaluate.h"
#include "abstat/stats.h"
#include "live.h"
#include "test.h"


static void set_arm(ab_live *e, size_t i, double users, double conv)
{
    e->state.arms[i].users = users;
    e->state.arms[i].revenue.n = users;
    e->state.arms[i].conversions[e->cfg.phase] = conv;
}

static ab_evaluation ev;

static void test_min_days_and_users(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":7,\"min_users\":100}");
    set_arm(e, 0, 5000, 100);
    set_arm(e, 1, 5000, 300);
    tl_set_days(e, 3);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_COLLECTING);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_KEEP_RUNNING);
    CHECK(strstr(ev.verdict.reason, "3.0 of the minimum 7 days") != NULL);
    tl_set_days(e, 7.5);
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_BETTER);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_SHIP);
    CHECK_INT(ev.verdict.variant, 1);
    CHECK_INT(e->mon[1].significant_since, 2);
    CHECK_INT(ev.nnewly, 1);
    ab_live_free(e);

    e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":1000}");
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
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0}");
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
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"method\":\"fixed\",\"min_days\":0,"
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
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"a\",\"b\",\"d\"],\"min_days\":0,\"min_users\":0}");
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
    e = tl_experiment("{\"variants\":[\"c\",\"a\",\"b\"],\"min_days\":0,\"min_users\":0}");
    set_arm(e, 0, 10000, 900);
    set_arm(e, 1, 10000, 500);
    set_arm(e, 2, 10000, 400);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_KEEP_CONTROL);
    ab_live_free(e);

    /* A skewed split outranks everything: invalid, naming the counts. */
    e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"weights\":[1,3],\"min_days\":0,\"min_users\":0}");
    set_arm(e, 0, 5000, 100);
    set_arm(e, 1, 5000, 400);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK(ev.srm_alert);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_INVALID);
    CHECK(strstr(ev.verdict.reason, "c 5000, v 5000") != NULL);
    /* The alert stays once raised, though the split then looks right. */
    set_arm(e, 0, 25000, 1000);
    set_arm(e, 1, 75000, 4000);
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK(ev.srm_alert);
    CHECK(ev.srm.p_value > 0.01); /* Pearson's figure of now alone passes */
    CHECK_INT(e->watch.srm_alert_since, 1);
    /* ... until monitoring restarts. */
    ab_live_reset_monitoring(e);
    CHECK(ab_evaluate(e, 3, &ev) == AB_OK);
    CHECK(!ev.srm_alert);
    ab_live_free(e);

    /* The intended 1:3 split passes. */
    e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"weights\":[1,3],\"min_days\":0,\"min_users\":0}");
    set_arm(e, 0, 2500, 100);
    set_arm(e, 1, 7500, 400);
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK(!ev.srm_alert);
    ab_live_free(e);
}

/* A sequential test with V = 0 (0/1 against 1/1) is never significant. */
static void test_undefined_sequential(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0}");
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
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"metric\":\"revenue\",\"min_days\":0,"
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

    e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"metric\":\"nps\",\"min_days\":0,\"min_users\":0}");
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
    CHECK(strstr(ev.verdict.reason, "raises NPS by at least +") != NULL);
    ab_live_free(e);
}

/* Evidence counts only from the first ready evaluation: a spike while the
 * experiment was too young cannot decide later. */
static void test_ready_gated(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":7,\"min_users\":0}");
    set_arm(e, 0, 3000, 300);
    set_arm(e, 1, 3000, 450);
    tl_set_days(e, 1);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK(ev.seq_now[1].p_value < 1e-6); /* overwhelming today... */
    CHECK(!ev.monitored[1]);
    CHECK(isnan(e->mon[1].min_p));       /* ...but not evidence yet */
    CHECK_INT(ev.status[1], AB_ARM_COLLECTING);
    /* By day 7 the rates are equal: nothing of day 1 remains. */
    set_arm(e, 0, 30000, 3000);
    set_arm(e, 1, 30000, 3000);
    tl_set_days(e, 7);
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK(ev.monitored[1]);
    CHECK_REL(e->mon[1].min_p, ev.seq_now[1].p_value, 0);
    CHECK(ev.res[1].primary.sequential_p > 0.5);
    /* Equal rates at 30000 users: shown to be within +-10 % of the baseline. */
    CHECK_INT(ev.status[1], AB_ARM_NO_EFFECT);
    ab_live_free(e);
}

/* sequential_ci is the running intersection; p < alpha exactly when it
 * excludes 0; sequential_ci_now is this evaluation's. */
static void test_running_interval(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0,\"mde\":0.01}");
    ab_interval first;
    set_arm(e, 0, 2000, 200);
    set_arm(e, 1, 2000, 230);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    first = ev.res[1].primary.sequential_ci;
    CHECK_REL(first.lo, ev.seq_now[1].ci.lo, 0);
    set_arm(e, 0, 4000, 400);
    set_arm(e, 1, 4000, 400);
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK_REL(ev.res[1].primary.sequential_ci.lo,
              first.lo > ev.seq_now[1].ci.lo ? first.lo : ev.seq_now[1].ci.lo, 0);
    CHECK_REL(ev.res[1].primary.sequential_ci.hi,
              first.hi < ev.seq_now[1].ci.hi ? first.hi : ev.seq_now[1].ci.hi, 0);
    CHECK((ev.res[1].primary.sequential_p < 0.05) ==
          (ev.res[1].primary.sequential_ci.lo > 0 || ev.res[1].primary.sequential_ci.hi < 0));
    /* The reported interval is the one in the rate block too. */
    CHECK_REL(ev.res[1].rate[AB_PHASE_DECISION].seq.ci.hi, ev.res[1].primary.sequential_ci.hi, 0);
    ab_live_free(e);
}

/* Futility: the running interval inside (-mde x baseline, +mde x baseline). */
static void test_futility(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0,"
                      "\"baseline\":0.1,\"mde\":0.1}");
    set_arm(e, 0, 5000, 500);
    set_arm(e, 1, 5000, 500);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_COLLECTING); /* interval still wider than 0.01 */
    CHECK_REL(ev.delta, 0.01, 1e-12);
    set_arm(e, 0, 400000, 40000);
    set_arm(e, 1, 400000, 40010);
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK(ev.res[1].primary.sequential_ci.lo > -0.01 && ev.res[1].primary.sequential_ci.hi < 0.01);
    CHECK_INT(ev.status[1], AB_ARM_NO_EFFECT);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_KEEP_CONTROL);
    CHECK(strstr(ev.verdict.reason, "less than the planned minimum effect of 10 %") != NULL);
    /* Sticky: a later swing does not undo it. */
    set_arm(e, 1, 400000, 41000);
    CHECK(ab_evaluate(e, 3, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_NO_EFFECT);
    ab_live_free(e);
}

/* Fixed: judged once; later data shows but never re-judges, the plan stays. */
static void test_fixed_frozen(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"method\":\"fixed\",\"min_days\":0,"
                      "\"min_users\":0,\"mde\":0.5}");
    double per, n;
    CHECK(ab_sample_size_prop(0.05, 0.5, 0.05, 0.8, 2, AB_CORRECT_HOLM, &per) == AB_OK);
    n = per + 10;
    set_arm(e, 0, n, floor(0.05 * n));
    set_arm(e, 1, n, floor(0.05 * n));
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_NO_EFFECT);
    CHECK(ev.plan_frozen == 0); /* frozen by this evaluation, shown so from the next */
    CHECK_REL(e->watch.plan_per_variant, ev.per_variant, 0);
    CHECK(fabs(ev.per_variant - per) <= 2); /* from the observed baseline, just under 5 % */
    per = ev.per_variant;
    /* Twice the users, a clear effect and another control rate: nothing moves. */
    set_arm(e, 0, 2 * n, floor(0.08 * 2 * n));
    set_arm(e, 1, 2 * n, floor(0.12 * 2 * n));
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK(ev.res[1].primary.p_value < 1e-6);
    CHECK_INT(ev.status[1], AB_ARM_NO_EFFECT);
    CHECK(ev.plan_frozen);
    CHECK_REL(ev.per_variant, per, 0);
    CHECK_REL(ev.baseline, 0.05, 1e-3);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_KEEP_CONTROL);
    ab_live_free(e);
}

static void set_revenue(ab_live *e, size_t i, double mean, double sd)
{
    double n = e->state.arms[i].users;
    e->state.arms[i].revenue = (ab_moments){n, n * mean, (n - 1) * sd * sd + n * mean * mean};
}

/* A winner that harms a guardrail is no ship; the reason names it. */
static void test_guardrails(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0}");
    set_arm(e, 0, 20000, 1000);
    set_arm(e, 1, 20000, 1200);
    set_revenue(e, 0, 5.0, 10.0);
    set_revenue(e, 1, 3.8, 10.0);
    e->state.arms[0].promoters = 500;
    e->state.arms[0].detractors = 200;
    e->state.arms[0].passives = 300;
    e->state.arms[1].promoters = 250;
    e->state.arms[1].detractors = 550;
    e->state.arms[1].passives = 200;
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_BETTER);
    CHECK_INT(ev.nguards, 2); /* the default: revenue and NPS, margin 0 */
    CHECK_INT(ev.guards[1][0].def.metric, AB_METRIC_REVENUE);
    CHECK_INT(ev.guards[1][0].status, AB_GUARD_FAILING);
    CHECK_INT(ev.guards[1][1].def.metric, AB_METRIC_NPS);
    CHECK_INT(ev.guards[1][1].status, AB_GUARD_FAILING);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_KEEP_CONTROL);
    CHECK(strstr(ev.verdict.reason, "but harms revenue per user") != NULL);
    CHECK(strstr(ev.verdict.reason, "and NPS") != NULL);
    ab_live_free(e);

    /* A 30 % margin tolerates the revenue loss; NPS is not a guardrail. */
    e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0,"
             "\"guardrails\":[{\"metric\":\"revenue\",\"margin\":0.3}]}");
    set_arm(e, 0, 20000, 1000);
    set_arm(e, 1, 20000, 1200);
    set_revenue(e, 0, 5.0, 10.0);
    set_revenue(e, 1, 4.8, 10.0);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.nguards, 1);
    CHECK_REL(ev.guards[1][0].threshold, -1.5, 1e-9);
    CHECK_INT(ev.guards[1][0].status, AB_GUARD_OK);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_SHIP);
    CHECK(strstr(ev.verdict.reason, "harms no guardrail (revenue per user)") != NULL);
    CHECK(strstr(ev.verdict.reason, "by at least +") != NULL);
    ab_live_free(e);

    /* Margin 0 and a small loss: unclear, which does not stop a ship. */
    e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0,"
             "\"guardrails\":[{\"metric\":\"revenue\"}]}");
    set_arm(e, 0, 20000, 1000);
    set_arm(e, 1, 20000, 1200);
    set_revenue(e, 0, 5.0, 10.0);
    set_revenue(e, 1, 4.9, 10.0);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.guards[1][0].status, AB_GUARD_UNCLEAR);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_SHIP);
    CHECK(strstr(ev.verdict.reason, "revenue per user is not clear yet") != NULL);
    ab_live_free(e);

    /* guardrails: [] — none. */
    e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0,\"guardrails\":[]}");
    set_arm(e, 0, 20000, 1000);
    set_arm(e, 1, 20000, 1200);
    set_revenue(e, 0, 5.0, 10.0);
    set_revenue(e, 1, 3.0, 10.0);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.nguards, 0);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_SHIP);
    ab_live_free(e);
}

/* k = 3: no ship while another variant is undecided; then the largest
 * lower bound, not the largest estimate, wins. */
static void test_ship_rule(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"a\",\"b\"],\"min_days\":0,\"min_users\":0,"
                      "\"baseline\":0.05,\"mde\":0.1}");
    set_arm(e, 0, 20000, 1000);
    set_arm(e, 1, 20000, 1300);
    set_arm(e, 2, 20000, 1030);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_BETTER);
    CHECK_INT(ev.status[2], AB_ARM_COLLECTING);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_KEEP_RUNNING);
    CHECK(strstr(ev.verdict.reason, "but b is still undecided") != NULL);
    ab_live_free(e);

    /* a: large but noisy (few users); b: smaller, precise. */
    e = tl_experiment("{\"variants\":[\"c\",\"a\",\"b\"],\"weights\":[40,1,40],\"min_days\":0,"
             "\"min_users\":0}");
    set_arm(e, 0, 200000, 10000);
    set_arm(e, 1, 5000, 400);     /* 8 % against 5 %, wide */
    set_arm(e, 2, 200000, 14000); /* 7 %, narrow */
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.status[1], AB_ARM_BETTER);
    CHECK_INT(ev.status[2], AB_ARM_BETTER);
    CHECK(ev.res[1].primary.effect > ev.res[2].primary.effect);
    CHECK(ev.res[2].primary.sequential_ci.lo > ev.res[1].primary.sequential_ci.lo);
    CHECK_INT(ev.verdict.decision, AB_VERDICT_SHIP);
    CHECK_INT(ev.verdict.variant, 2);
    ab_live_free(e);
}

static void test_warnings(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"],\"min_days\":0,\"min_users\":0}");
    set_arm(e, 0, 1000, 50);
    set_arm(e, 1, 1000, 50);
    e->state.conflicts = 30;
    e->state.unattributed = 20;
    e->state.arms[0].promoters = 300; /* 30 % answered */
    e->state.arms[1].promoters = 100; /* 10 % answered */
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_INT(ev.nwarnings, 3);
    CHECK(strstr(ev.warnings[0], "1.5 % of users were shown more than one variant") != NULL);
    CHECK(strstr(ev.warnings[1], "came from users who never saw a variant") != NULL);
    CHECK(strstr(ev.warnings[2], "answered the NPS question differs") != NULL);
    /* Below the thresholds: silent. */
    e->state.conflicts = 10;
    e->state.unattributed = 5;
    e->state.arms[1].promoters = 300;
    e->dirty = 1;
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK_INT(ev.nwarnings, 0);
    ab_live_free(e);
}

int main(void)
{
    ab_stats_init();
    test_ready_gated();
    test_running_interval();
    test_futility();
    test_fixed_frozen();
    test_guardrails();
    test_ship_rule();
    test_warnings();
    test_min_days_and_users();
    test_sticky_and_running_min();
    test_fixed();
    test_verdicts();
    test_undefined_sequential();
    test_other_metrics();
    return TEST_DONE("test_evaluate");
}
