/* test_cuped.c — ab_cuped_compare (stats/cuped.c) against R
 * (tests/reference/cuped.tsv, made by cuped.R), on invalid input, and a
 * seeded simulation of its variance reduction and interval coverage. */
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "abstat/stats.h"
#include "test.h"

#define RTOL 1e-6

static void check_row(const ref_row *r)
{
    /* v(6) c(6) alpha theta mean_v mean_c var_v var_c diff lo hi z p var vr
     * lm_slope lm_diff */
    CHECK_INT(r->nv, 27);
    if (r->nv != 27) return;
    ab_cuped_moments v = {r->v[0], r->v[1], r->v[2], r->v[3], r->v[4], r->v[5]};
    ab_cuped_moments c = {r->v[6], r->v[7], r->v[8], r->v[9], r->v[10], r->v[11]};
    const double *w = r->v + 13;
    ab_cuped_result o;
    CHECK_INT(ab_cuped_compare(&v, &c, r->v[12], &o), AB_OK);
    /* Absolute floors only where R's figure is 0 or rounding dust (theta of
     * a constant metric, diff and z of equal arms): there the digits that
     * count are relative to the metric's own scale, ymax, and to the
     * theta-scale ymax/xmax. */
    double n = v.n + c.n;
    double ymax = n > 0 ? sqrt((v.sum_y2 + c.sum_y2) / n) : 0.0;
    double xmax = n > 0 ? sqrt((v.sum_x2 + c.sum_x2) / n) : 0.0;
    double tscale = xmax > 0 ? ymax / xmax : 0.0;
    CHECK_CLOSE(o.theta, w[0], RTOL, 1e-9 * tscale);
    CHECK_REL(o.mean_v, w[1], RTOL);
    CHECK_REL(o.mean_c, w[2], RTOL);
    CHECK_CLOSE(o.var_v, w[3], RTOL, 1e-15 * ymax * ymax);
    CHECK_CLOSE(o.var_c, w[4], RTOL, 1e-15 * ymax * ymax);
    CHECK_CLOSE(o.diff, w[5], RTOL, 1e-9 * ymax);
    CHECK_CLOSE(o.diff_ci.lo, w[6], RTOL, 1e-9 * ymax);
    CHECK_CLOSE(o.diff_ci.hi, w[7], RTOL, 1e-9 * ymax);
    CHECK_CLOSE(o.z, w[8], RTOL, 1e-9);
    CHECK_REL(o.p_value, w[9], RTOL);
    CHECK_CLOSE(o.var, w[10], RTOL, 1e-15 * ymax * ymax);
    CHECK_CLOSE(o.variance_reduction, w[11], RTOL, 1e-9);
}

static void test_reference(void)
{
    ref_file *f = ref_open("cuped.tsv");
    ref_row r;
    int rows = 0;
    while (f && ref_next(f, &r)) {
        snprintf(test_context, sizeof test_context, "cuped.tsv:%d %s", r.line, r.tag);
        if (!strncmp(r.tag, "cuped_", 6)) {
            check_row(&r);
            rows++;
        } else {
            test_fail(__FILE__, __LINE__, "unknown row %s", r.tag);
        }
    }
    test_context[0] = '\0';
    if (f) ref_close(f);
    printf("cuped.tsv: %d rows\n", rows);
    CHECK(rows >= 40);
}

/* Arms swapped: diff, z and the interval flip; theta, variances, p and the
 * reduction stay. */
static void test_symmetry(void)
{
    ab_cuped_moments a = {50, 510, 5600, 260, 1700, 2900};
    ab_cuped_moments b = {70, 690, 7300, 330, 1900, 3550};
    ab_cuped_result ab, ba;
    CHECK_INT(ab_cuped_compare(&a, &b, 0.05, &ab), AB_OK);
    CHECK_INT(ab_cuped_compare(&b, &a, 0.05, &ba), AB_OK);
    CHECK_REL(ab.theta, ba.theta, 1e-14);
    CHECK_REL(ab.diff, -ba.diff, 1e-12);
    CHECK_REL(ab.z, -ba.z, 1e-12);
    CHECK_REL(ab.diff_ci.lo, -ba.diff_ci.hi, 1e-12);
    CHECK_REL(ab.p_value, ba.p_value, 1e-12);
    CHECK_REL(ab.var, ba.var, 1e-14);
    CHECK_REL(ab.variance_reduction, ba.variance_reduction, 1e-12);
}

static void test_invalid(void)
{
    const ab_cuped_moments ok = {100, 500, 3000, 200, 900, 1100};
    const ab_cuped_moments bad[] = {
        {-1, 0, 0, 0, 0, 0},        {1.5, 1, 1, 1, 1, 1},
        {NAN, 1, 1, 1, 1, 1},       {INFINITY, 1, 1, 1, 1, 1},
        {100, NAN, 3000, 200, 900, 1100}, {100, 500, INFINITY, 200, 900, 1100},
        {100, 500, 3000, -INFINITY, 900, 1100}, {100, 500, 3000, 200, NAN, 1100},
        {100, 500, 3000, 200, 900, INFINITY},   {100, 500, -1, 200, 900, 1100},
        {100, 500, 3000, 200, -1, 1100},
        {100, 500, 2000, 200, 900, 1100}, /* Σx² < (Σx)²/n */
        {100, 500, 3000, 200, 900, 5000}, /* |cov| > sd_x sd_y */
        {0, 1, 1, 0, 0, 0},               /* sums without users */
        {1e300, 1, 1, 1, 1, 1},
    };
    ab_cuped_result o;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(test_context, sizeof test_context, "bad moments %zu", i);
        CHECK_INT(ab_cuped_compare(&bad[i], &ok, 0.05, &o), AB_EINVAL);
        CHECK_INT(ab_cuped_compare(&ok, &bad[i], 0.05, &o), AB_EINVAL);
    }
    test_context[0] = '\0';
    const double bad_alpha[] = {0, 1, -0.1, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_alpha / sizeof *bad_alpha; i++)
        CHECK_INT(ab_cuped_compare(&ok, &ok, bad_alpha[i], &o), AB_EINVAL);
    CHECK_INT(ab_cuped_compare(NULL, &ok, 0.05, &o), AB_EINVAL);
    CHECK_INT(ab_cuped_compare(&ok, NULL, 0.05, &o), AB_EINVAL);
    CHECK_INT(ab_cuped_compare(&ok, &ok, 0.05, NULL), AB_EINVAL);
}

/* 2,000 seeded experiments of 1,000 users per arm: revenue y ~ N(50 + effect,
 * 20²) whose covariate x (the pre-period revenue) has correlation 0.7 with
 * it. The variance reduction should be about rho² = 0.49, and the adjusted
 * interval should cover the true effect about 1 - alpha of the time. */
#define SIM_EXPERIMENTS 2000
#define SIM_USERS 1000
#define SIM_RHO 0.7
#define SIM_EFFECT 1.5

static void arm(gsl_rng *rng, double effect, ab_cuped_moments *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < SIM_USERS; i++) {
        double z1 = gsl_ran_gaussian(rng, 1.0), z2 = gsl_ran_gaussian(rng, 1.0);
        double x = 50.0 + 20.0 * z1;
        double y = 50.0 + effect +
                   20.0 * (SIM_RHO * z1 + sqrt(1.0 - SIM_RHO * SIM_RHO) * z2);
        m->n += 1.0;
        m->sum_x += x;
        m->sum_x2 += x * x;
        m->sum_y += y;
        m->sum_y2 += y * y;
        m->sum_xy += x * y;
    }
}

static void test_simulation(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng) {
        test_fail(__FILE__, __LINE__, "gsl_rng_alloc failed");
        return;
    }
    gsl_rng_set(rng, 20261203UL);
    int covered = 0, covered_raw = 0, ok = 1;
    double vr_sum = 0.0, vr_min = 1.0;
    for (int e = 0; e < SIM_EXPERIMENTS; e++) {
        ab_cuped_moments v, c;
        ab_cuped_result o;
        arm(rng, SIM_EFFECT, &v);
        arm(rng, 0.0, &c);
        if (ab_cuped_compare(&v, &c, 0.05, &o) != AB_OK) {
            ok = 0;
            break;
        }
        vr_sum += o.variance_reduction;
        if (o.variance_reduction < vr_min) vr_min = o.variance_reduction;
        if (o.diff_ci.lo <= SIM_EFFECT && SIM_EFFECT <= o.diff_ci.hi) covered++;
        /* The unadjusted Welch-type interval, for comparison. */
        ab_moments mv = {v.n, v.sum_y, v.sum_y2}, mc = {c.n, c.sum_y, c.sum_y2};
        ab_welch_result w;
        if (ab_welch_test(&mv, &mc, 0.05, &w) == AB_OK &&
            w.diff_ci.lo <= SIM_EFFECT && SIM_EFFECT <= w.diff_ci.hi)
            covered_raw++;
    }
    gsl_rng_free(rng);
    CHECK(ok);
    double vr = vr_sum / SIM_EXPERIMENTS;
    double cover = (double)covered / SIM_EXPERIMENTS;
    printf("cuped simulation: %d experiments x %d users/arm, rho %.2f: "
           "mean variance_reduction %.4f (min %.4f), adjusted 95%% coverage "
           "%.4f (unadjusted %.4f)\n",
           SIM_EXPERIMENTS, SIM_USERS, SIM_RHO, vr, vr_min, cover,
           (double)covered_raw / SIM_EXPERIMENTS);
    CHECK(vr >= 0.40);
    CHECK(cover >= 0.93);
    CHECK(cover <= 0.97); /* and not a needlessly wide interval */
}

int main(void)
{
    ab_stats_init();
    test_reference();
    test_symmetry();
    test_invalid();
    test_simulation();
    return TEST_DONE("test_cuped");
}
