/* test_simulation.c — the decision rules' error rates, shown by seeded
 * simulations through the daemon's own evaluation (ab_evaluate on a live
 * experiment, looked at again and again as the monitoring timer does):
 *
 *   1. A/A under continuous monitoring, sequential: called better/worse <= alpha
 *   2. A/A, fixed: judged once at the planned sample, false positives <= alpha
 *      (and what re-judging at every look would have given)
 *   3. a day-1 novelty spike and nothing after: called better by day 14 <= 2 alpha
 *   4. a true effect at the MDE: better by sequential_per_variant within
 *      +-5 points of the requested power, wrongly ended no_effect <= 2 %
 *   5. A/A futility: >= 90 % end no_effect by 3 x sequential_per_variant
 *   6. healthy splits: the anytime-valid SRM alert over 1,000 looks <= 1 %
 *
 * Each figure is printed on a "sim:" line; README quotes them. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/evaluate.h"
#include "abstat/stats.h"
#include "live.h"
#include "test.h"

#define DAY 86400000LL
#define ALPHA 0.05

static gsl_rng *rng;
static ab_evaluation ev;

/* n more users in arm i converting at rate p (at the goal phase). */
static void add_users(ab_live *e, size_t i, unsigned n, double p)
{
    ab_arm_counts *a = &e->state.arms[i];
    a->users += n;
    a->revenue.n = a->users;
    a->conversions[e->cfg.phase] += gsl_ran_binomial(rng, p, n);
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

/* An upper limit that a true rate of `rate` exceeds by chance with
 * probability ~0.1 % over `n` runs: a rate at the goal must pass. */
static double upper(double rate, int n)
{
    return rate + 3.1 * sqrt(rate * (1 - rate) / n);
}

/* 1. A/A, sequential, one look every 6 hours for 28 days, min_days 7. */
static void aa_sequential(void)
{
    const int runs = 400;
    int flagged = 0;
    for (int r = 0; r < runs; r++) {
        ab_live *e = tl_experiment("{\"variants\":[\"a\",\"b\"],\"min_days\":7,\"min_users\":100}");
        if (!e) return;
        for (int l = 1; l <= 28 * 4; l++) {
            add_users(e, 0, 100, 0.10);
            add_users(e, 1, 100, 0.10);
            if (look(e, l / 4.0)) break;
        }
        flagged += e->mon[1].significant_since != 0;
        ab_live_free(e);
    }
    double rate = (double)flagged / runs;
    printf("sim: A/A sequential, %d runs x 112 looks over 28 days: called better/worse in "
           "%.1f %% (goal <= %.0f %%)\n", runs, 100 * rate, 100 * ALPHA);
    CHECK(rate <= ALPHA);
}

/* 2. A/A, fixed: the planned sample (31234 per arm for 5 % +10 %) is
 * reached on day ~16 of 40; judged once, however often it is looked at. */
static void aa_fixed(void)
{
    const int runs = 1000;
    int judged = 0, flagged = 0, naive = 0, after_flagged_changed = 0;
    for (int r = 0; r < runs; r++) {
        ab_live *e = tl_experiment("{\"variants\":[\"a\",\"b\"],\"method\":\"fixed\",\"baseline\":0.05,"
                          "\"min_days\":7,\"min_users\":100}");
        int naive_hit = 0;
        ab_arm_status at_judgement = AB_ARM_COLLECTING;
        if (!e) return;
        for (int l = 1; l <= 80; l++) { /* two looks a day, 1000 users per arm each */
            add_users(e, 0, 1000, 0.05);
            add_users(e, 1, 1000, 0.05);
            if (look(e, l / 2.0)) break;
            if (at_judgement == AB_ARM_COLLECTING && ev.status[1] != AB_ARM_COLLECTING)
                at_judgement = ev.status[1];
            if (at_judgement != AB_ARM_COLLECTING && ev.status[1] != at_judgement)
                after_flagged_changed++;
            /* What re-judging every look past the plan would say. */
            if (ev.planned_reached && ev.res[1].primary.p_adjusted < ALPHA) naive_hit = 1;
        }
        judged += at_judgement != AB_ARM_COLLECTING;
        flagged += at_judgement == AB_ARM_BETTER || at_judgement == AB_ARM_WORSE;
        naive += naive_hit;
        ab_live_free(e);
    }
    double rate = (double)flagged / runs, naive_rate = (double)naive / runs;
    printf("sim: A/A fixed, %d runs x 80 looks to 2.6 x the plan: judged once in %d, false "
           "positives %.1f %% (goal <= %.0f %%); re-judged at every look they would be "
           "%.1f %%\n", runs, judged, 100 * rate, 100 * ALPHA, 100 * naive_rate);
    CHECK_INT(judged, runs);
    CHECK_INT(after_flagged_changed, 0);
    CHECK(rate <= upper(ALPHA, runs));
    CHECK(naive_rate > 2 * rate);
}

/* 3. Novelty: +30 % on day 1 only, no effect after; 14 days of looks every
 * hour; min_days 7. */
static void novelty(void)
{
    const int runs = 400;
    int better = 0;
    for (int r = 0; r < runs; r++) {
        ab_live *e = tl_experiment("{\"variants\":[\"a\",\"b\"],\"min_days\":7,\"min_users\":100}");
        if (!e) return;
        for (int h = 1; h <= 14 * 24; h++) {
            add_users(e, 0, 60, 0.10);
            add_users(e, 1, 60, h <= 24 ? 0.13 : 0.10);
            if (look(e, h / 24.0)) break;
        }
        better += e->mon[1].status == AB_ARM_BETTER;
        ab_live_free(e);
    }
    double rate = (double)better / runs;
    printf("sim: day-1 novelty (+30 %% on day 1 only), %d runs x 336 hourly looks: called "
           "better by day 14 in %.1f %% (goal <= %.0f %%)\n", runs, 100 * rate, 200 * ALPHA);
    CHECK(rate <= 2 * ALPHA);
}

/* The experiment's sequential_per_variant (with the baseline given). */
static double seq_n(const char *json)
{
    ab_live *e = tl_experiment(json);
    double n = NAN;
    if (!e) return NAN;
    add_users(e, 0, 1000, 0.1);
    add_users(e, 1, 1000, 0.1);
    if (look(e, 1) == 0) n = ev.sequential_per_variant;
    ab_live_free(e);
    return n;
}

/* 4 and 5: a true effect at the MDE, and none, looked at 150 times up to
 * 3 x sequential_per_variant (50 looks per n: the daemon looks every
 * second, so far more often than that). */
static void power_and_futility(void)
{
    static const char cfg[] = "{\"variants\":[\"a\",\"b\"],\"baseline\":0.1,\"mde\":0.1,"
                              "\"power\":0.8,\"min_days\":0,\"min_users\":0}";
    const int runs = 300, per_n = 50;
    double n = seq_n(cfg);
    int power_hits = 0, wrong_no_effect = 0, aa_no_effect = 0, aa_called = 0;
    CHECK(isfinite(n) && n > 1000);
    if (!isfinite(n)) return;
    unsigned step = (unsigned)ceil(n / per_n);
    for (int r = 0; r < runs; r++) {
        ab_live *t = tl_experiment(cfg), *a = tl_experiment(cfg);
        if (!t || !a) return;
        for (int l = 1; l <= 3 * per_n; l++) {
            add_users(t, 0, step, 0.10);
            add_users(t, 1, step, 0.11);
            add_users(a, 0, step, 0.10);
            add_users(a, 1, step, 0.10);
            if (look(t, l) || look(a, l)) break;
            if (l == per_n) power_hits += t->mon[1].status == AB_ARM_BETTER;
        }
        wrong_no_effect += t->mon[1].status == AB_ARM_NO_EFFECT;
        aa_no_effect += a->mon[1].status == AB_ARM_NO_EFFECT;
        aa_called += a->mon[1].status == AB_ARM_BETTER || a->mon[1].status == AB_ARM_WORSE;
        ab_live_free(t);
        ab_live_free(a);
    }
    double power = (double)power_hits / runs;
    printf("sim: power at sequential_per_variant (%.0f users per arm, 10 %% -> 11 %%), %d runs "
           "x %d looks: %.1f %% (goal 80 +- 5)\n", n, runs, per_n, 100 * power);
    printf("sim: true effect at the MDE wrongly ended no_effect by 3 x that: %.1f %% "
           "(goal <= 2 %%)\n", 100.0 * wrong_no_effect / runs);
    printf("sim: A/A ended no_effect by 3 x sequential_per_variant: %.1f %% (goal >= 90 %%); "
           "called better/worse %.1f %%\n", 100.0 * aa_no_effect / runs,
           100.0 * aa_called / runs);
    CHECK(fabs(power - 0.80) <= 0.05);
    CHECK((double)wrong_no_effect / runs <= 0.02);
    CHECK((double)aa_no_effect / runs >= 0.90);
}

/* 6. Healthy 50/50 splits looked at 1,000 times: the SRM alert. */
static void srm_false_alarms(void)
{
    const int runs = 300;
    int alarms = 0, pearson = 0;
    for (int r = 0; r < runs; r++) {
        ab_live *e = tl_experiment("{\"variants\":[\"a\",\"b\"],\"min_days\":0,\"min_users\":0}");
        int p_hit = 0;
        if (!e) return;
        for (int l = 1; l <= 1000; l++) {
            unsigned n = 200, x = gsl_ran_binomial(rng, 0.5, n);
            /* No conversions: the split alone is under test, and the
             * evaluation stays cheap enough for 300,000 looks. */
            add_users(e, 0, x, 0.0);
            add_users(e, 1, n - x, 0.0);
            if (look(e, l / 100.0)) break;
            if (ev.srm.p_value < AB_SRM_ALERT_P) p_hit = 1;
        }
        alarms += e->watch.srm_alert_since != 0;
        pearson += p_hit;
        ab_live_free(e);
    }
    printf("sim: SRM on healthy 50/50 splits, %d runs x 1000 looks (200 users each): "
           "anytime-valid alert %.2f %% (goal <= 1 %%); Pearson p < 0.001 at some look "
           "%.2f %%\n", runs, 100.0 * alarms / runs, 100.0 * pearson / runs);
    CHECK((double)alarms / runs <= 0.01);
}

int main(void)
{
    ab_stats_init();
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng) return TEST_DONE("test_simulation");
    gsl_rng_set(rng, 20261202);
    aa_sequential();
    aa_fixed();
    novelty();
    power_and_futility();
    srm_false_alarms();
    gsl_rng_free(rng);
    return TEST_DONE("test_simulation");
}
