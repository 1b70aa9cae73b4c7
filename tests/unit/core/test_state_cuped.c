/* test_state_cuped.c — CUPED's counting in core/state.h (README "Events",
 * covariate; README "Statistics", CUPED): the per-arm ΣX, ΣX², ΣXY on a
 * hand-made stream and on a seeded one against a plain per-user model, the
 * evaluation's cuped figures against the library on the model's own sums,
 * and the memory rules (nothing more per user without covariates, the
 * reservation covering what counting a covariate needs). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "core/evaluate.h"
#include "core/state.h"
#include "live.h"
#include "test.h"

static void apply(ab_counts *s, ab_event ev)
{
    ab_apply_result r = ab_state_apply(s, &ev);
    CHECK(r != AB_APPLY_NOMEM);
}

static void expo(ab_counts *s, const char *user, int variant, double x)
{
    ab_event ev = tl_event(AB_EVENT_EXPOSURE, user);
    ev.variant = variant;
    ev.covariate = x;
    apply(s, ev);
}

static void conv(ab_counts *s, const char *user, ab_phase phase, double value)
{
    ab_event ev = tl_event(AB_EVENT_CONVERSION, user);
    ev.phase = phase;
    ev.value = value;
    apply(s, ev);
}

/* The first exposure's covariate is the user's; a later one (same variant
 * or a conflict) changes nothing; users without one count X = 0; ΣXY
 * follows every revenue event, refunds included, and each phase once. */
static void check_by_hand(void)
{
    ab_counts s;
    ab_arm_counts a;
    ab_state_init(&s, 2);
    CHECK(!ab_state_has_covariates(&s));
    expo(&s, "u1", 1, 2.0);
    expo(&s, "u1", 1, 100.0); /* a repeat: ignored */
    expo(&s, "u1", 0, 50.0);  /* a conflict: ignored */
    conv(&s, "u1", AB_PHASE_DECISION, 10);
    conv(&s, "u1", AB_PHASE_DECISION, 5);  /* the phase counts once, revenue adds */
    conv(&s, "u1", AB_PHASE_RETENTION, -4); /* a refund */
    expo(&s, "u2", 1, NAN);                 /* no covariate: X = 0 */
    conv(&s, "u2", AB_PHASE_DECISION, 7);
    expo(&s, "u3", 1, -3.0);
    conv(&s, "nobody", AB_PHASE_DECISION, 99); /* unattributed: nothing */
    expo(&s, "c1", 0, 1.5);
    conv(&s, "c1", AB_PHASE_DECISION, NAN);
    CHECK(ab_state_has_covariates(&s));
    ab_state_arm(&s, 1, &a);
    CHECK_INT(a.users, 3);
    CHECK_INT(a.cov_users, 2);
    CHECK_REL(a.cov_x, -1.0, 0);
    CHECK_REL(a.cov_x2, 13.0, 0);
    CHECK_REL(a.cov_xy[AB_PHASE_DECISION], 2.0, 0);  /* u1 (2) and u2 (0) */
    CHECK_REL(a.cov_xy[AB_PHASE_RETENTION], 2.0, 0);
    CHECK(a.cov_xy[AB_PHASE_AWARENESS] == 0.0);
    CHECK_REL(a.cov_xy_revenue, 22.0, 0); /* 2 x 11 + 0 x 7 + -3 x 0 */
    ab_state_arm(&s, 0, &a);
    CHECK_INT(a.cov_users, 1);
    CHECK_REL(a.cov_x, 1.5, 0);
    CHECK_REL(a.cov_xy[AB_PHASE_DECISION], 1.5, 0);
    CHECK(a.cov_xy_revenue == 0.0);
    CHECK_INT(s.conflicts, 1);
    ab_state_free(&s);
}

/* ---- a seeded stream against a per-user model ---------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    return test_rng(&rng);
}
static unsigned draw(unsigned n)
{
    return (unsigned)(next() % n);
}
static double unif(void)
{
    return (double)(next() >> 11) / 9007199254740992.0;
}

#define K 3
#define USERS 3000

typedef struct {
    int exposed, variant, conv[AB_PHASE_COUNT];
    double x, revenue;
} model_user;

static model_user model[USERS];

/* Moments of arm i of the model, with Y the conversion at ph (revenue 0)
 * or the revenue total (revenue 1). */
static ab_cuped_moments model_moments(int i, int revenue, ab_phase ph)
{
    ab_cuped_moments m = {0, 0, 0, 0, 0, 0};
    for (int u = 0; u < USERS; u++) {
        const model_user *mu = &model[u];
        if (!mu->exposed || mu->variant != i) continue;
        double y = revenue ? mu->revenue : mu->conv[ph];
        m.n++;
        m.sum_x += mu->x;
        m.sum_x2 += mu->x * mu->x;
        m.sum_y += y;
        m.sum_y2 += y * y;
        m.sum_xy += mu->x * y;
    }
    return m;
}

static void check_cuped_equal(const ab_cuped_result *got, const ab_cuped_result *want)
{
    CHECK_REL(got->theta, want->theta, 1e-9);
    CHECK_REL(got->diff, want->diff, 1e-9);
    CHECK_REL(got->diff_ci.lo, want->diff_ci.lo, 1e-9);
    CHECK_REL(got->diff_ci.hi, want->diff_ci.hi, 1e-9);
    CHECK_REL(got->z, want->z, 1e-9);
    CHECK_REL(got->p_value, want->p_value, 1e-8);
    CHECK_REL(got->variance_reduction, want->variance_reduction, 1e-9);
}

static void check_stream(void)
{
    static const char *cfg =
        "{\"variants\":[\"a\",\"b\",\"c\"],\"metric\":\"revenue\",\"variance_reduction\":\"cuped\","
        "\"min_days\":0,\"min_users\":10}";
    ab_live *e = tl_experiment(cfg);
    ab_evaluation *ev = calloc(1, sizeof *ev);
    char name[32];
    if (!e || !ev) {
        free(ev);
        return;
    }
    memset(model, 0, sizeof model);
    for (int step = 0; step < 40000; step++) {
        int u = (int)draw(USERS);
        model_user *mu = &model[u];
        snprintf(name, sizeof name, "user-%d", u);
        ab_event evt;
        switch (draw(4)) {
        case 0: case 1: { /* exposure, most with a covariate */
            evt = tl_event(AB_EVENT_EXPOSURE, name);
            evt.variant = (int)draw(K);
            if (draw(10)) evt.covariate = round((unif() * 200.0 - 50.0) * 100) / 100;
            apply(&e->state, evt);
            if (!mu->exposed) {
                mu->exposed = 1;
                mu->variant = evt.variant;
                mu->x = isfinite(evt.covariate) ? evt.covariate : 0.0;
            }
            break;
        }
        default: { /* a conversion, with a value, a refund or none */
            evt = tl_event(AB_EVENT_CONVERSION, name);
            evt.phase = draw(3) ? AB_PHASE_DECISION : AB_PHASE_RETENTION;
            unsigned w = draw(5);
            evt.value = w == 0 ? NAN : w == 1 ? -(double)draw(30) : (double)(1 + draw(90));
            apply(&e->state, evt);
            if (mu->exposed) {
                mu->conv[evt.phase] = 1;
                if (isfinite(evt.value)) mu->revenue += evt.value;
            }
            break;
        }
        }
    }
    tl_set_days(e, 3);
    e->dirty = 1;
    CHECK_INT(ab_evaluate(e, 3 * 86400000LL + 1, ev), AB_OK);
    CHECK(ev->opts.cuped);
    for (int i = 0; i < K; i++) {
        ab_cuped_moments m = model_moments(i, 1, AB_PHASE_DECISION);
        ab_arm_counts a;
        ab_state_arm(&e->state, (size_t)i, &a);
        CHECK_REL(a.users, m.n, 0);
        CHECK_REL(a.cov_x, m.sum_x, 1e-12);
        CHECK_REL(a.cov_x2, m.sum_x2, 1e-12);
        CHECK_REL(a.cov_xy_revenue, m.sum_xy, 1e-12);
        CHECK_REL(a.cov_xy[AB_PHASE_DECISION], model_moments(i, 0, AB_PHASE_DECISION).sum_xy, 1e-12);
        CHECK_REL(a.cov_xy[AB_PHASE_RETENTION], model_moments(i, 0, AB_PHASE_RETENTION).sum_xy, 1e-12);
    }
    for (size_t i = 1; i < K; i++) {
        ab_cuped_result want;
        ab_cuped_moments mv = model_moments((int)i, 1, 0), mc = model_moments(0, 1, 0);
        CHECK_INT(ab_cuped_compare(&mv, &mc, 0.05, &want), AB_OK);
        check_cuped_equal(&ev->res[i].cuped_revenue.r, &want);
        CHECK(ev->res[i].cuped_revenue.decides);
        /* The primary is the adjusted comparison; its sequential test
         * runs on the adjusted estimate and variance. */
        CHECK_REL(ev->res[i].primary.effect, want.diff, 1e-9);
        CHECK_REL(ev->res[i].primary.p_value, want.p_value, 1e-8);
        ab_seq_result seq;
        CHECK_INT(ab_seq_msprt(want.diff, want.var, mv.n + mc.n, 0.05, 5000, &seq), AB_OK);
        CHECK_REL(ev->seq_now[i].p_value, seq.p_value, 1e-9);
        CHECK_REL(ev->seq_now[i].ci.lo, seq.ci.lo, 1e-9);
        mv = model_moments((int)i, 0, AB_PHASE_DECISION);
        mc = model_moments(0, 0, AB_PHASE_DECISION);
        CHECK_INT(ab_cuped_compare(&mv, &mc, 0.05, &want), AB_OK);
        check_cuped_equal(&ev->res[i].cuped_rate.r, &want);
        CHECK(!ev->res[i].cuped_rate.decides); /* revenue is the metric */
    }
    for (size_t w = 0; w < ev->nwarnings; w++)
        CHECK(strstr(ev->warnings[w], "variance_reduction") == NULL);
    free(ev);
    ab_live_free(e);
}

/* Undefined figures: no covariate at all (no CUPED, the warning); every
 * covariate equal (theta undefined, the unadjusted test decides). */
static void check_undefined(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"a\",\"b\"],\"variance_reduction\":\"cuped\","
                               "\"min_days\":0,\"min_users\":1}");
    ab_evaluation *ev = calloc(1, sizeof *ev);
    char name[32];
    if (!e || !ev) {
        free(ev);
        return;
    }
    for (int u = 0; u < 50; u++) {
        snprintf(name, sizeof name, "u%d", u);
        expo(&e->state, name, u % 2, NAN);
        if (u % 3 == 0) conv(&e->state, name, AB_PHASE_DECISION, NAN);
    }
    tl_set_days(e, 1);
    CHECK_INT(ab_evaluate(e, 86400001, ev), AB_OK);
    CHECK(!ev->opts.cuped);
    CHECK(isnan(ev->res[1].cuped_rate.r.theta));
    CHECK(!ev->res[1].cuped_rate.decides);
    CHECK_REL(ev->res[1].primary.p_value, ev->res[1].rate[AB_PHASE_DECISION].cmp.p_value, 0);
    CHECK_INT(ev->nwarnings, 1);
    CHECK(strstr(ev->warnings[0], "no exposure has carried a covariate") != NULL);
    for (int u = 50; u < 100; u++) {
        snprintf(name, sizeof name, "u%d", u);
        expo(&e->state, name, u % 2, 7.0);
    }
    CHECK_INT(ab_evaluate(e, 86400002, ev), AB_OK);
    CHECK(ev->opts.cuped);
    /* X is 0 for the first 50 and 7 for the rest: it varies. */
    CHECK(isfinite(ev->res[1].cuped_rate.r.theta));
    ab_live_free(e);

    e = tl_experiment("{\"variants\":[\"a\",\"b\"],\"variance_reduction\":\"cuped\","
                      "\"min_days\":0,\"min_users\":1}");
    if (!e) {
        free(ev);
        return;
    }
    for (int u = 0; u < 40; u++) {
        snprintf(name, sizeof name, "u%d", u);
        expo(&e->state, name, u % 2, 3.25);
        if (u % 4 == 0) conv(&e->state, name, AB_PHASE_DECISION, 1e6);
    }
    tl_set_days(e, 1);
    CHECK_INT(ab_evaluate(e, 86400001, ev), AB_OK);
    CHECK(ev->opts.cuped);
    CHECK(isnan(ev->res[1].cuped_rate.r.theta));
    CHECK(isnan(ev->res[1].cuped_rate.r.variance_reduction));
    CHECK(!ev->res[1].cuped_rate.decides);
    CHECK_INT(ev->nwarnings, 1);
    CHECK(strstr(ev->warnings[0], "undefined") != NULL);
    ab_live_free(e);

    /* One user: nothing defined, nothing fails. */
    e = tl_experiment("{\"variants\":[\"a\",\"b\"],\"variance_reduction\":\"cuped\"}");
    if (!e) {
        free(ev);
        return;
    }
    expo(&e->state, "solo", 1, 1e20); /* the largest covariate */
    conv(&e->state, "solo", AB_PHASE_DECISION, 1e20);
    CHECK_INT(ab_evaluate(e, 1, ev), AB_OK);
    CHECK(isnan(ev->res[1].cuped_rate.r.diff));
    CHECK(isnan(ev->res[1].cuped_rate.seq.p_value));
    ab_live_free(e);
    free(ev);
}

static double gauss(void)
{
    double u = unif(), v = unif();
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

/* The same events decided with and without "variance_reduction": "cuped":
 * an effect the plain test cannot see yet and the adjusted one can. The
 * adjusted test makes the status, significant_since and the verdict; the
 * plain one keeps running. */
static void check_decides(void)
{
    ab_live *with = tl_experiment("{\"variants\":[\"a\",\"b\"],\"metric\":\"revenue\","
                                  "\"variance_reduction\":\"cuped\",\"min_days\":0,"
                                  "\"min_users\":100,\"guardrails\":[],\"mde\":0.01}");
    ab_live *without = tl_experiment("{\"variants\":[\"a\",\"b\"],\"metric\":\"revenue\","
                                     "\"min_days\":0,\"min_users\":100,\"guardrails\":[],\"mde\":0.01}");
    ab_evaluation *ev = calloc(1, sizeof *ev);
    char name[32];
    if (!with || !without || !ev) {
        free(ev);
        if (with) ab_live_free(with);
        if (without) ab_live_free(without);
        return;
    }
    for (int u = 0; u < 1000; u++) {
        double z = gauss(), y = 50.0 + 15.0 * (0.95 * z + sqrt(1 - 0.9025) * gauss()) +
                                (u % 2 ? 2.0 : 0.0);
        snprintf(name, sizeof name, "d%d", u);
        expo(&with->state, name, u % 2, 100.0 + 10.0 * z);
        conv(&with->state, name, AB_PHASE_DECISION, y);
        expo(&without->state, name, u % 2, 100.0 + 10.0 * z);
        conv(&without->state, name, AB_PHASE_DECISION, y);
    }
    tl_set_days(with, 1);
    tl_set_days(without, 1);
    CHECK_INT(ab_evaluate(with, 86400001, ev), AB_OK);
    CHECK(ev->res[1].cuped_revenue.decides);
    CHECK(ev->res[1].primary.sequential_p < 0.05);
    CHECK_REL(ev->res[1].primary.sequential_p, ev->res[1].cuped_revenue.seq.p_value, 0);
    CHECK_INT(ev->status[1], AB_ARM_BETTER);
    CHECK_INT(ev->verdict.decision, AB_VERDICT_SHIP);
    CHECK(with->mon[1].significant_since == 86400001);
    double adjusted_p = ev->res[1].primary.sequential_p;
    CHECK_INT(ab_evaluate(without, 86400001, ev), AB_OK);
    CHECK(!ev->res[1].cuped_revenue.decides); /* shown, not deciding */
    CHECK(isfinite(ev->res[1].cuped_revenue.r.p_value));
    CHECK(ev->res[1].primary.sequential_p > 0.05);
    CHECK_INT(ev->status[1], AB_ARM_COLLECTING);
    CHECK_INT(ev->verdict.decision, AB_VERDICT_KEEP_RUNNING);
    CHECK(without->mon[1].significant_since == 0);
    printf("decides: sequential p %.3g adjusted, %.3g plain\n", adjusted_p,
           ev->res[1].primary.sequential_p);

    /* Fixed horizon: the adjusted p is the primary's and its family's. */
    ab_live *fixed = tl_experiment("{\"variants\":[\"a\",\"b\",\"c\"],\"metric\":\"revenue\","
                                   "\"variance_reduction\":\"cuped\",\"method\":\"fixed\","
                                   "\"min_days\":0,\"min_users\":10,\"correction\":\"bonferroni\"}");
    if (fixed) {
        for (int u = 0; u < 300; u++) {
            double z = gauss();
            snprintf(name, sizeof name, "f%d", u);
            expo(&fixed->state, name, u % 3, 10.0 * z);
            conv(&fixed->state, name, AB_PHASE_DECISION, 20.0 + 5.0 * z + gauss() + (u % 3));
        }
        tl_set_days(fixed, 1);
        CHECK_INT(ab_evaluate(fixed, 86400001, ev), AB_OK);
        for (size_t i = 1; i < 3; i++) {
            const ab_cuped_vs *c = &ev->res[i].cuped_revenue;
            CHECK(c->decides);
            CHECK_REL(ev->res[i].primary.p_value, c->r.p_value, 0);
            CHECK_REL(ev->res[i].primary.effect, c->r.diff, 0);
            CHECK_REL(ev->res[i].primary.effect_ci.lo, c->r.diff_ci.lo, 0);
            double bonf = 2 * c->r.p_value < 1 ? 2 * c->r.p_value : 1;
            CHECK_REL(ev->res[i].primary.p_adjusted, bonf, 1e-15);
            CHECK_REL(c->p_adjusted, bonf, 1e-15);
        }
        ab_live_free(fixed);
    }
    free(ev);
    ab_live_free(with);
    ab_live_free(without);
}

/* Memory: a table that never saw a covariate keeps none (no more bytes per
 * user); one that did keeps a covariate beside each slot, and a
 * reservation made before counting covers it: counting then allocates
 * nothing. */
static void check_memory(void)
{
    ab_counts plain, cov;
    char name[32];
    ab_state_init(&plain, 2);
    ab_state_init(&cov, 2);
    for (int u = 0; u < 1000; u++) {
        snprintf(name, sizeof name, "u%d", u);
        expo(&plain, name, u % 2, NAN);
    }
    CHECK(plain.users.covariate == NULL);
    CHECK_INT(plain.users.revenue_count, 0);
    CHECK_INT(ab_state_covariates_cost(&plain, 0) > 0, 1);

    /* Reserve for 500 covariate exposures, then count them. */
    size_t cost = ab_state_reserve_cost(&cov, 500, 0, 500) + ab_state_covariates_cost(&cov, 500);
    size_t before = ab_state_bytes(&cov);
    CHECK_INT(ab_state_reserve_covariates(&cov), 0);
    CHECK_INT(ab_state_reserve(&cov, 500, 0, 500), 0);
    size_t reserved = ab_state_bytes(&cov);
    CHECK(reserved - before <= cost);
    /* The history's day block is not reserved (state.h): the tables are. */
    reserved = ab_usertable_bytes(&cov.users);
    CHECK_INT(ab_state_covariates_cost(&cov, 500), 0);
    for (int u = 0; u < 500; u++) {
        snprintf(name, sizeof name, "u%d", u);
        expo(&cov, name, u % 2, (double)u);
    }
    CHECK_INT(ab_usertable_bytes(&cov.users), reserved); /* nothing allocated while counting */
    ab_state_release(&cov, 500, 0, 500);
    CHECK(cov.users.covariate != NULL);
    CHECK_INT(cov.users.revenue_count, 500);
    /* A first revenue value of a user without covariate gets X = 0. */
    expo(&cov, "late", 0, NAN);
    conv(&cov, "late", AB_PHASE_DECISION, 5);
    ab_arm_counts a;
    ab_state_arm(&cov, 0, &a);
    CHECK_REL(a.cov_x, 250.0 * 249.0, 0); /* 0 + 2 + ... + 498 */
    CHECK(a.cov_xy_revenue == 0.0);
    printf("memory: 1000 users without covariates %zu bytes, 501 with %zu bytes\n",
           ab_state_bytes(&plain), ab_state_bytes(&cov));
    ab_state_free(&plain);
    ab_state_free(&cov);
}

int main(void)
{
    ab_stats_init();
    check_by_hand();
    check_stream();
    check_undefined();
    check_decides();
    check_memory();
    return TEST_DONE("test_state_cuped");
}
