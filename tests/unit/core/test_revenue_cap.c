/* test_revenue_cap.c — revenue_cap's capped figures (README "Statistics",
 * Revenue capping) through the daemon's own path (events counted by
 * core/state.c, then ab_evaluate): caps against R's type-7 quantile on a
 * hand example, and on seeded heavy-tailed streams with refunds every
 * figure against the library run on per-user totals the test keeps itself,
 * zeros of non-payers materialised; all-zero revenue, one user, no user,
 * q = 1 (no capping) and the absolute form. */
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

static ab_evaluation ev;

static void apply(ab_counts *s, ab_event_type type, const char *user, int variant, double value)
{
    ab_event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.phase = AB_PHASE_DECISION;
    e.variant = variant;
    e.value = value;
    e.score = -1;
    e.ts_ms = 1700000000000;
    e.user = user;
    e.user_len = strlen(user);
    if (ab_state_apply(s, &e) == AB_APPLY_NOMEM) CHECK(!"out of memory");
}

static void expose(ab_live *e, const char *user, int variant)
{
    apply(&e->state, AB_EVENT_EXPOSURE, user, variant, NAN);
}

static void pay(ab_live *e, const char *user, double value)
{
    apply(&e->state, AB_EVENT_CONVERSION, user, -1, value);
}

static ab_live *experiment(const char *cap, const char *variants)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"variants\": %s, \"metric\": \"revenue\", \"min_days\": 0, \"min_users\": 0, "
             "\"revenue_cap\": %s}",
             variants, cap);
    return tl_experiment(json);
}

static void same_or_both_nan(double got, double want, double rtol)
{
    if (isnan(want)) CHECK(isnan(got));
    else CHECK_CLOSE(got, want, rtol, 1e-12);
}

/* R: x <- c(0,0,0,0,3,7,10,100,-4,0); quantile(x, c(.9,.1), type = 7)
 * = 18.99999999999996803, -0.40000000000000036; mean(pmin(pmax(x, lo), hi))
 * = 3.8599999999999968. Four users never paid, one paid and got it all
 * back (an exact 0 among the totals), one only has a refund. */
static void test_hand_example(void)
{
    ab_live *e = experiment("{\"percentile\": 0.9, \"lower\": 0.1}", "[\"c\", \"v\"]");
    const char *none[] = {"n1", "n2", "n3", "n4"};
    CHECK(e != NULL);
    if (!e) return;
    for (int i = 0; i < 4; i++) expose(e, none[i], 0);
    expose(e, "p3", 0);
    pay(e, "p3", 1);
    pay(e, "p3", 2);
    expose(e, "p7", 0);
    pay(e, "p7", 7);
    expose(e, "p10", 0);
    pay(e, "p10", 10);
    expose(e, "p100", 0);
    pay(e, "p100", 100);
    expose(e, "r4", 0);
    pay(e, "r4", -4);
    expose(e, "back", 0);
    pay(e, "back", 5);
    pay(e, "back", -5);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK(ev.capped.on);
    CHECK_REL(ev.capped.hi, 18.99999999999996803, 1e-15);
    CHECK_REL(ev.capped.lo, -0.40000000000000036, 1e-15);
    CHECK_REL(ev.capped.arm[0].mean, 3.8599999999999968, 1e-14);
    ab_live_free(e);
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return ((double)((rng * 0x2545f4914f6cdd1du) >> 11) + 0.5) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Per-user totals kept by the test, beside the daemon's counts. */
typedef struct {
    size_t n;
    double *total;
    int *arm;
} model;

/* n users over k arms; about a quarter pay, 1 to 3 times, Pareto(1.2)
 * amounts (a tail heavy enough that the top 1 % dominate the mean), some
 * rounded to a price (ties), one payment in ten refunded in part or in
 * full. */
static void stream(ab_live *e, model *m, size_t n, int k)
{
    char user[32];
    m->n = n;
    m->total = calloc(n, sizeof *m->total);
    m->arm = calloc(n, sizeof *m->arm);
    CHECK(m->total && m->arm);
    for (size_t u = 0; u < n; u++) {
        snprintf(user, sizeof user, "user-%zu", u);
        m->arm[u] = (int)(uniform() * k);
        expose(e, user, m->arm[u]);
        if (uniform() > 0.25) continue;
        int times = 1 + (int)(uniform() * 3);
        for (int t = 0; t < times; t++) {
            double v = 5.0 * pow(uniform(), -1.0 / 1.2);
            if (uniform() < 0.3) v = floor(v) + 0.99;
            pay(e, user, v);
            m->total[u] += v;
            if (uniform() < 0.1) {
                double back = uniform() < 0.5 ? -v : -0.5 * v;
                pay(e, user, back);
                m->total[u] += back;
            }
        }
    }
}

/* The figures the daemon must give, from the library over the model. */
static void check_against_library(const model *m, int k, double qhi, double qlo, double alpha)
{
    double *sorted = malloc(m->n * sizeof *sorted), lo = -INFINITY, hi;
    double *x = malloc(m->n * sizeof *x);
    ab_moments mom[AB_MAX_ARMS];
    CHECK(sorted && x);
    if (!sorted || !x) return;
    memcpy(sorted, m->total, m->n * sizeof *sorted);
    qsort(sorted, m->n, sizeof *sorted, cmp_double);
    CHECK(ab_quantile_type7(sorted, m->n, qhi, &hi) == AB_OK);
    if (!isnan(qlo)) CHECK(ab_quantile_type7(sorted, m->n, qlo, &lo) == AB_OK);
    /* Both from the same per-user totals, summed in the same order. */
    CHECK_REL(ev.capped.hi, hi, 0);
    if (isnan(qlo)) CHECK(ev.capped.lo == -INFINITY);
    else CHECK_REL(ev.capped.lo, lo, 0);
    for (int a = 0; a < k; a++) {
        size_t n = 0;
        ab_mean_summary s;
        for (size_t u = 0; u < m->n; u++)
            if (m->arm[u] == a) x[n++] = m->total[u];
        CHECK(ab_revenue_capped_summary(x, n, lo, hi, alpha, &s) == AB_OK);
        CHECK(ab_revenue_capped_moments(x, n, lo, hi, &mom[a]) == AB_OK);
        CHECK_REL(ev.capped.arm[a].mean, s.mean, 1e-10);
        CHECK_REL(ev.capped.arm[a].sd, s.sd, 1e-10);
        CHECK_REL(ev.capped.arm[a].ci.lo, s.ci.lo, 1e-10);
        CHECK_REL(ev.capped.arm[a].ci.hi, s.ci.hi, 1e-10);
    }
    for (int a = 1; a < k; a++) {
        ab_welch_result w;
        CHECK(ab_welch_test(&mom[a], &mom[0], alpha, &w) == AB_OK);
        CHECK_REL(ev.capped.vs[a].diff, w.diff, 1e-9);
        CHECK_REL(ev.capped.vs[a].t, w.t, 1e-9);
        CHECK_REL(ev.capped.vs[a].df, w.df, 1e-9);
        CHECK_REL(ev.capped.vs[a].p_value, w.p_value, 1e-8);
        CHECK_REL(ev.capped.vs[a].diff_ci.lo, w.diff_ci.lo, 1e-9);
        CHECK_REL(ev.capped.vs[a].diff_ci.hi, w.diff_ci.hi, 1e-9);
    }
    free(sorted);
    free(x);
}

static void model_free(model *m)
{
    free(m->total);
    free(m->arm);
}

static void test_seeded(const char *cap, double qhi, double qlo, size_t n)
{
    ab_live *e = experiment(cap, "[\"c\", \"v1\", \"v2\"]");
    model m;
    CHECK(e != NULL);
    if (!e) return;
    stream(e, &m, n, 3);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK(ev.capped.on);
    check_against_library(&m, 3, qhi, qlo, 0.05);
    /* The raw figures stay as they were, beside the capped ones. */
    CHECK(ev.res[0].revenue.mean > ev.capped.arm[0].mean || qhi == 1.0);
    model_free(&m);
    ab_live_free(e);
}

/* q = 1 caps at the largest total: nothing changes, the capped figures
 * are the raw ones. */
static void test_no_capping(void)
{
    ab_live *e = experiment("{\"percentile\": 1}", "[\"c\", \"v\"]");
    model m;
    CHECK(e != NULL);
    if (!e) return;
    stream(e, &m, 3000, 2);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    check_against_library(&m, 2, 1.0, NAN, 0.05);
    CHECK_REL(ev.capped.arm[0].mean, ev.res[0].revenue.mean, 1e-12);
    CHECK_REL(ev.capped.arm[1].sd, ev.res[1].revenue.sd, 1e-12);
    CHECK_REL(ev.capped.vs[1].p_value, ev.res[1].revenue_vs.welch.p_value, 1e-10);
    CHECK_REL(ev.capped.vs[1].t, ev.res[1].revenue_vs.welch.t, 1e-10);
    model_free(&m);
    ab_live_free(e);
}

/* {"max": M, "min": m}: the caps are M and m whatever the data. */
static void test_absolute(void)
{
    ab_live *e = experiment("{\"max\": 50, \"min\": -10}", "[\"c\", \"v\"]");
    model m;
    double lo = -10, hi = 50;
    CHECK(e != NULL);
    if (!e) return;
    stream(e, &m, 2000, 2);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK_REL(ev.capped.hi, hi, 0);
    CHECK_REL(ev.capped.lo, lo, 0);
    for (int a = 0; a < 2; a++) {
        ab_mean_summary s;
        double *v = malloc(m.n * sizeof *v);
        size_t n = 0;
        CHECK(v != NULL);
        if (!v) break;
        for (size_t u = 0; u < m.n; u++)
            if (m.arm[u] == a) v[n++] = m.total[u];
        CHECK(ab_revenue_capped_summary(v, n, lo, hi, 0.05, &s) == AB_OK);
        CHECK_REL(ev.capped.arm[a].mean, s.mean, 1e-10);
        CHECK_REL(ev.capped.arm[a].sd, s.sd, 1e-10);
        free(v);
    }
    model_free(&m);
    ab_live_free(e);
}

/* Nobody paid: the caps are 0 and so is every capped value; the library
 * on the same zeros says what the rest is. */
static void test_all_zero(void)
{
    ab_live *e = experiment("{\"percentile\": 0.99, \"lower\": 0.01}", "[\"c\", \"v\"]");
    double zeros[40] = {0};
    ab_moments mz;
    ab_mean_summary s;
    ab_welch_result w;
    char user[16];
    CHECK(e != NULL);
    if (!e) return;
    for (int u = 0; u < 40; u++) {
        snprintf(user, sizeof user, "z%d", u);
        expose(e, user, u % 2);
    }
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK(ev.capped.on);
    CHECK_REL(ev.capped.hi, 0.0, 0);
    CHECK_REL(ev.capped.lo, 0.0, 0);
    CHECK(ab_revenue_capped_summary(zeros, 20, 0, 0, 0.05, &s) == AB_OK);
    CHECK(ab_revenue_capped_moments(zeros, 20, 0, 0, &mz) == AB_OK);
    CHECK(ab_welch_test(&mz, &mz, 0.05, &w) == AB_OK);
    CHECK_REL(ev.capped.arm[0].mean, 0.0, 0);
    same_or_both_nan(ev.capped.arm[1].sd, s.sd, 0);
    same_or_both_nan(ev.capped.arm[1].ci.lo, s.ci.lo, 0);
    same_or_both_nan(ev.capped.vs[1].diff, w.diff, 0);
    same_or_both_nan(ev.capped.vs[1].t, w.t, 0);
    same_or_both_nan(ev.capped.vs[1].p_value, w.p_value, 0);
    ab_live_free(e);
}

/* One user: its total is every quantile; no sd, no interval, no test. No
 * user: no cap at all. */
static void test_one_and_no_user(void)
{
    ab_live *e = experiment("{\"percentile\": 0.95}", "[\"c\", \"v\"]");
    CHECK(e != NULL);
    if (!e) return;
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK(ev.capped.on);
    CHECK(isnan(ev.capped.hi));
    CHECK(isnan(ev.capped.arm[0].mean));
    CHECK(isnan(ev.capped.vs[1].p_value));
    expose(e, "only", 1);
    pay(e, "only", 12.5);
    CHECK(ab_evaluate(e, 2, &ev) == AB_OK);
    CHECK_REL(ev.capped.hi, 12.5, 0);
    CHECK(ev.capped.lo == -INFINITY);
    CHECK_REL(ev.capped.arm[1].mean, 12.5, 0);
    CHECK(isnan(ev.capped.arm[1].sd));
    CHECK(isnan(ev.capped.arm[1].ci.lo));
    CHECK(isnan(ev.capped.arm[0].mean));
    CHECK(isnan(ev.capped.vs[1].t));
    ab_live_free(e);
}

/* Without revenue_cap nothing is computed. */
static void test_off(void)
{
    ab_live *e = tl_experiment("{\"variants\": [\"c\", \"v\"], \"metric\": \"revenue\"}");
    CHECK(e != NULL);
    if (!e) return;
    expose(e, "a", 0);
    pay(e, "a", 3);
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    CHECK(!ev.capped.on);
    ab_live_free(e);
}

int main(void)
{
    test_hand_example();
    test_seeded("{\"percentile\": 0.99}", 0.99, NAN, 20000);
    test_seeded("{\"percentile\": 0.95, \"lower\": 0.02}", 0.95, 0.02, 7000);
    test_seeded("{\"percentile\": 0.999}", 0.999, NAN, 60000);
    test_no_capping();
    test_absolute();
    test_all_zero();
    test_one_and_no_user();
    test_off();
    return test_done("test_revenue_cap");
}
