/* test_simulation_cuped.c — CUPED's claims (README "Statistics", CUPED),
 * shown by seeded simulations through the daemon's own counting path
 * (events into core/state, then ab_evaluate on the live experiment, looked
 * at again and again as the monitoring timer does):
 *
 *   1. a covariate correlated 0.7 with revenue: variance reduction >= 40 %
 *      (theory 1 - 0.7² = 49 %), every figure equal to the library's on
 *      per-user values kept independently here
 *   2. A/A with variance_reduction cuped under continuous monitoring
 *      (revenue, and conversion): called better/worse and shipped <= alpha
 *
 * Each figure is printed on a "sim:" line; README quotes them. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "core/cuped_compare.h"
#include "core/evaluate.h"
#include "live.h"
#include "test.h"

#define DAY 86400000LL
#define ALPHA 0.05

static gsl_rng *rng;
static ab_evaluation ev;
static unsigned serial; /* user names unique across runs */

/* Per-arm sums of the per-user values, kept here and not by the daemon. */
static ab_cuped_moments mine[2];

static ab_event event(ab_event_type type, const char *user, int64_t ts)
{
    ab_event e = tl_event(type, user);
    e.ts_ms = ts;
    return e;
}

static int apply(ab_live *e, ab_event evt)
{
    if (ab_state_apply(&e->state, &evt) == AB_APPLY_NOMEM) {
        test_fail(__FILE__, __LINE__, "out of memory counting");
        return -1;
    }
    return 0;
}

/* One user of arm i: its covariate X ~ N(50, 10²) with the exposure, then
 * its outcome. Revenue: Y = 20 + 15 (0.7 Z + sqrt(0.51) W), Z the
 * standardised X, sent as a purchase of Y + 10 and a refund of 10.
 * Conversion: P(convert) = 0.10 + 0.06 Z clamped to [0.01, 0.99]. */
static int add_user(ab_live *e, int i, int revenue, int64_t ts)
{
    char name[48];
    snprintf(name, sizeof name, "u%u", serial++);
    double z = gsl_ran_gaussian(rng, 1.0), x = 50.0 + 10.0 * z, y;
    ab_event evt = event(AB_EVENT_EXPOSURE, name, ts);
    evt.variant = i;
    evt.covariate = x;
    if (apply(e, evt)) return -1;
    if (revenue) {
        y = 20.0 + 15.0 * (0.7 * z + sqrt(0.51) * gsl_ran_gaussian(rng, 1.0));
        evt = event(AB_EVENT_CONVERSION, name, ts);
        evt.value = y + 10.0;
        if (apply(e, evt)) return -1;
        evt.value = -10.0;
        if (apply(e, evt)) return -1;
        y = (y + 10.0) + -10.0; /* the total as the daemon adds it */
    } else {
        double p = 0.10 + 0.06 * z;
        p = p < 0.01 ? 0.01 : p > 0.99 ? 0.99 : p;
        y = gsl_rng_uniform(rng) < p;
        if (y > 0 && apply(e, event(AB_EVENT_CONVERSION, name, ts))) return -1;
    }
    ab_cuped_moments *m = &mine[i];
    m->n++;
    m->sum_x += x;
    m->sum_x2 += x * x;
    m->sum_y += y;
    m->sum_y2 += y * y;
    m->sum_xy += x * y;
    return 0;
}

static int look(ab_live *e, double days)
{
    tl_set_days(e, days);
    e->dirty = 1;
    if (ab_evaluate(e, (int64_t)(days * DAY) + 1, &ev) != AB_OK) {
        test_fail(__FILE__, __LINE__, "evaluation failed");
        return -1;
    }
    return 0;
}

/* 1. Variance reduction and equality with the library. */
static void reduction(void)
{
    const int runs = 20, users = 2000;
    double sum = 0, lo = 1;
    for (int r = 0; r < runs; r++) {
        ab_live *e = tl_experiment("{\"variants\":[\"a\",\"b\"],\"metric\":\"revenue\","
                                   "\"variance_reduction\":\"cuped\",\"min_days\":0}");
        if (!e) return;
        memset(mine, 0, sizeof mine);
        for (int u = 0; u < users; u++)
            if (add_user(e, 0, 1, 1000) || add_user(e, 1, 1, 1000)) break;
        if (look(e, 1)) break;
        const ab_cuped_vs *c = &ev.res[1].cuped_revenue;
        ab_cuped_result want;
        CHECK_INT(ab_cuped_compare(&mine[1], &mine[0], ALPHA, &want), AB_OK);
        CHECK_REL(c->r.theta, want.theta, 1e-9);
        CHECK_REL(c->r.diff, want.diff, 1e-9);
        CHECK_REL(c->r.diff_ci.lo, want.diff_ci.lo, 1e-9);
        CHECK_REL(c->r.diff_ci.hi, want.diff_ci.hi, 1e-9);
        CHECK_REL(c->r.z, want.z, 1e-9);
        CHECK_REL(c->r.p_value, want.p_value, 1e-8);
        CHECK_REL(c->r.variance_reduction, want.variance_reduction, 1e-9);
        CHECK(c->decides);
        sum += c->r.variance_reduction;
        if (c->r.variance_reduction < lo) lo = c->r.variance_reduction;
        ab_live_free(e);
    }
    printf("sim: CUPED, covariate correlated 0.7 with revenue, %d runs x %d users an arm: "
           "variance reduction mean %.1f %%, lowest %.1f %% (goal >= 40 %%, theory 49 %%)\n",
           runs, users, 100 * sum / runs, 100 * lo);
    CHECK(lo >= 0.40);
}

/* 2. A/A with variance_reduction cuped, sequential, a look every 6 hours
 * for 15 days (100 new users an arm each), min_days 1. */
static void aa(int revenue, int runs)
{
    int called = 0, shipped = 0, decided = 0;
    const int looks = 60;
    for (int r = 0; r < runs; r++) {
        ab_live *e = tl_experiment(revenue
                                       ? "{\"variants\":[\"a\",\"b\"],\"metric\":\"revenue\","
                                         "\"variance_reduction\":\"cuped\",\"min_days\":1,"
                                         "\"min_users\":100}"
                                       : "{\"variants\":[\"a\",\"b\"],"
                                         "\"variance_reduction\":\"cuped\",\"min_days\":1,"
                                         "\"min_users\":100}");
        int ship = 0, failed = 0;
        if (!e) return;
        memset(mine, 0, sizeof mine);
        for (int l = 1; l <= looks && !failed; l++) {
            int64_t ts = (int64_t)(l * DAY / 4);
            for (int u = 0; u < 100 && !failed; u++)
                failed = add_user(e, 0, revenue, ts) || add_user(e, 1, revenue, ts);
            if (failed || look(e, l / 4.0)) break;
            ship |= ev.verdict.decision == AB_VERDICT_SHIP;
        }
        called += e->mon[1].significant_since != 0;
        shipped += ship;
        decided += ab_cuped_primary(&ev.opts, &ev.res[1])->decides;
        ab_live_free(e);
    }
    printf("sim: A/A, variance_reduction cuped, %s, %d runs x %d looks over 15 days: called "
           "better/worse in %.1f %%, shipped in %.1f %% (goal <= %.0f %%)\n",
           revenue ? "revenue" : "conversion", runs, looks, 100.0 * called / runs,
           100.0 * shipped / runs, 100 * ALPHA);
    CHECK_INT(decided, runs); /* the adjusted test was the one deciding */
    CHECK((double)called / runs <= ALPHA);
    CHECK((double)shipped / runs <= ALPHA);
}

int main(void)
{
    ab_stats_init();
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng) return TEST_DONE("test_simulation_cuped");
    gsl_rng_set(rng, 20261203);
    reduction();
    aa(1, 400);
    aa(0, 200);
    gsl_rng_free(rng);
    return TEST_DONE("test_simulation_cuped");
}
