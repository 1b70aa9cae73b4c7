/* test_revenue.c — ab_quantile_type7, capped revenue, revenue lift and AOV
 * (stats/revenue.c) against R (tests/reference/revenue.tsv, made by
 * revenue.R) and on invalid input. */
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "abstat/stats.h"
#include "test.h"

#define RTOL 1e-6

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The R script's deterministic sample: users s+1..s+n (see revenue.R). */
static double *gen(double n, double s, double mu, double sigma, double pzero)
{
    size_t k = (size_t)n;
    double *x = malloc((k ? k : 1) * sizeof *x);
    if (!x) abort();
    for (size_t j = 0; j < k; j++) {
        double i = s + (double)(j + 1);
        double u = i * 0.6180339887498949, w = i * 1.4142135623730951;
        u -= floor(u);
        w -= floor(w);
        x[j] = w < pzero ? 0.0 : exp(mu + sigma * gsl_cdf_ugaussian_Pinv(u));
    }
    return x;
}

/* Caps: R's quantile of the (pooled) values where qlo/qhi are given, else
 * the listed absolute caps; checked against R's. R's NA cap (no values)
 * becomes "no cap" for the summary, which is undefined anyway. */
static void caps(const double *x, size_t n, const double *r, double *lo,
                 double *hi)
{
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (!s) abort();
    if (n) memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double qlo = r[0], qhi = r[1];
    *lo = r[2];
    *hi = r[3];
    if (!isnan(qlo)) {
        CHECK_INT(ab_quantile_type7(s, n, qlo, lo), AB_OK);
        CHECK_REL(*lo, r[2], RTOL);
    }
    if (!isnan(qhi)) {
        CHECK_INT(ab_quantile_type7(s, n, qhi, hi), AB_OK);
        CHECK_REL(*hi, r[3], RTOL);
    }
    if (isnan(*lo)) *lo = -INFINITY;
    if (isnan(*hi)) *hi = INFINITY;
    free(s);
}

static void check_summary(const double *x, size_t n, const double *r)
{
    /* r: qlo qhi lo hi alpha mean sd ci_lo ci_hi */
    double lo, hi;
    caps(x, n, r, &lo, &hi);
    ab_mean_summary s;
    CHECK_INT(ab_revenue_capped_summary(x, n, lo, hi, r[4], &s), AB_OK);
    CHECK_REL(s.mean, r[5], RTOL);
    /* sd of data all at one value is 0 in R; rounding may leave ~1e-14. */
    CHECK_CLOSE(s.sd, r[6], RTOL, 1e-12 * fabs(r[5]));
    CHECK_REL(s.ci.lo, r[7], RTOL);
    CHECK_REL(s.ci.hi, r[8], RTOL);
}

static void check_q7(const ref_row *r)
{
    size_t n = (size_t)r->v[2];
    CHECK_INT(r->nv, 3 + n);
    if (r->nv != 3 + n) return;
    double q;
    CHECK_INT(ab_quantile_type7(r->v + 3, n, r->v[0], &q), AB_OK);
    CHECK_REL(q, r->v[1], 1e-12);
}

static void check_cap(const ref_row *r)
{
    size_t n = (size_t)r->v[9];
    CHECK_INT(r->nv, 10 + n);
    if (r->nv != 10 + n) return;
    check_summary(r->v + 10, n, r->v);
}

static void check_gen(const ref_row *r)
{
    CHECK_INT(r->nv, 14);
    if (r->nv != 14) return;
    double *x = gen(r->v[0], r->v[1], r->v[2], r->v[3], r->v[4]);
    check_summary(x, (size_t)r->v[0], r->v + 5);
    free(x);
}

static void check_gwelch(const ref_row *r)
{
    /* gv(5) gc(5) qlo qhi lo hi alpha diff lo hi t df p */
    CHECK_INT(r->nv, 21);
    if (r->nv != 21) return;
    const double *gv = r->v, *gc = r->v + 5, *w = r->v + 15;
    size_t nv = (size_t)gv[0], nc = (size_t)gc[0];
    double *xv = gen(gv[0], gv[1], gv[2], gv[3], gv[4]);
    double *xc = gen(gc[0], gc[1], gc[2], gc[3], gc[4]);
    double *all = malloc((nv + nc + 1) * sizeof *all);
    if (!all) abort();
    if (nv) memcpy(all, xv, nv * sizeof *all);
    if (nc) memcpy(all + nv, xc, nc * sizeof *all);
    double lo, hi;
    caps(all, nv + nc, r->v + 10, &lo, &hi);
    ab_moments mv, mc;
    CHECK_INT(ab_revenue_capped_moments(xv, nv, lo, hi, &mv), AB_OK);
    CHECK_INT(ab_revenue_capped_moments(xc, nc, lo, hi, &mc), AB_OK);
    ab_welch_result res;
    CHECK_INT(ab_welch_test(&mv, &mc, r->v[14], &res), AB_OK);
    /* A difference of equal means is 0 up to the means' own rounding. */
    double scale = nv && nc ? fabs(mv.sum / mv.n) + fabs(mc.sum / mc.n) : 0.0;
    CHECK_CLOSE(res.diff, w[0], RTOL, 1e-12 * scale);
    CHECK_REL(res.diff_ci.lo, w[1], RTOL);
    CHECK_REL(res.diff_ci.hi, w[2], RTOL);
    CHECK_CLOSE(res.t, w[3], RTOL, 1e-9); /* t = 0 for equal samples */
    CHECK_REL(res.df, w[4], RTOL);
    CHECK_REL(res.p_value, w[5], RTOL);
    free(xv);
    free(xc);
    free(all);
}

static void check_lift(const ref_row *r)
{
    /* n_v sum_v sumsq_v n_c sum_c sumsq_c alpha lift lo hi var */
    CHECK_INT(r->nv, 11);
    if (r->nv != 11) return;
    ab_moments v = {r->v[0], r->v[1], r->v[2]}, c = {r->v[3], r->v[4], r->v[5]};
    ab_lift_result l;
    CHECK_INT(ab_revenue_lift(&v, &c, r->v[6], &l), AB_OK);
    /* lift of equal means is 0: digits relative to 1 (the ratio) count */
    CHECK_CLOSE(l.lift, r->v[7], RTOL, 1e-12);
    CHECK_REL(l.ci.lo, r->v[8], RTOL);
    CHECK_REL(l.ci.hi, r->v[9], RTOL);
    /* var of constant arms is 0 in R; from sums it is rounding dust */
    CHECK_CLOSE(l.var, r->v[10], RTOL, 1e-15);
}

static void check_aov(const ref_row *r)
{
    /* n sum_d sum_m sum_m2 sum_md alpha value var lo hi */
    CHECK_INT(r->nv, 10);
    if (r->nv != 10) return;
    ab_aov_moments m = {r->v[0], r->v[1], r->v[2], r->v[3], r->v[4]};
    ab_aov_summary s;
    CHECK_INT(ab_aov_summarize(&m, r->v[5], &s), AB_OK);
    CHECK_REL(s.value, r->v[6], RTOL);
    CHECK_CLOSE(s.var, r->v[7], RTOL, 1e-12 * s.value * s.value / fmax(m.n, 1));
    CHECK_REL(s.ci.lo, r->v[8], RTOL);
    CHECK_REL(s.ci.hi, r->v[9], RTOL);
}

static void check_aovcmp(const ref_row *r)
{
    /* v(5) c(5) alpha diff lo hi z p var */
    CHECK_INT(r->nv, 17);
    if (r->nv != 17) return;
    const double *a = r->v, *b = r->v + 5, *w = r->v + 11;
    ab_aov_moments v = {a[0], a[1], a[2], a[3], a[4]};
    ab_aov_moments c = {b[0], b[1], b[2], b[3], b[4]};
    ab_aov_comparison o;
    CHECK_INT(ab_aov_compare(&v, &c, r->v[10], &o), AB_OK);
    CHECK_CLOSE(o.diff, w[0], RTOL, 1e-12 * (fabs(a[2] / fmax(a[1], 1)) + 1));
    CHECK_REL(o.diff_ci.lo, w[1], RTOL);
    CHECK_REL(o.diff_ci.hi, w[2], RTOL);
    CHECK_CLOSE(o.z, w[3], RTOL, 1e-9); /* z = 0 for equal arms */
    CHECK_REL(o.p_value, w[4], RTOL);
    CHECK_CLOSE(o.var, w[5], RTOL, 1e-15);
}

static void test_reference(void)
{
    static const struct {
        const char *prefix;
        void (*check)(const ref_row *);
        int min;
    } kinds[] = {
        {"q7_", check_q7, 20},      {"cap_", check_cap, 30},
        {"gen_", check_gen, 15},    {"gwelch_", check_gwelch, 10},
        {"lift_", check_lift, 15},  {"aovcmp_", check_aovcmp, 6},
        {"aov_", check_aov, 10},
    };
    int count[sizeof kinds / sizeof *kinds] = {0};
    ref_file *f = ref_open("revenue.tsv");
    ref_row r;
    while (f && ref_next(f, &r)) {
        size_t k;
        snprintf(test_context, sizeof test_context, "revenue.tsv:%d %s", r.line, r.tag);
        for (k = 0; k < sizeof kinds / sizeof *kinds; k++)
            if (!strncmp(r.tag, kinds[k].prefix, strlen(kinds[k].prefix))) break;
        if (k == sizeof kinds / sizeof *kinds) {
            test_fail(__FILE__, __LINE__, "unknown row %s", r.tag);
            continue;
        }
        kinds[k].check(&r);
        count[k]++;
    }
    test_context[0] = '\0';
    if (f) ref_close(f);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        printf("revenue.tsv: %d %s rows\n", count[k], kinds[k].prefix);
        CHECK(count[k] >= kinds[k].min); /* the file really was read, whole */
    }
}

/* The shared delta formula gives ab_prop_compare's lift interval when fed
 * rates and p(1-p)/n: one formula for both. */
static void test_lift_matches_prop(void)
{
    const double c[][4] = {{120, 1000, 100, 1000}, {3, 20, 7, 25},
                           {5e8, 1e9, 4.9e8, 1e9}, {0, 50, 4, 60}};
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        ab_prop_comparison p;
        ab_lift_result l;
        double pv = c[i][0] / c[i][1], pc = c[i][2] / c[i][3];
        CHECK_INT(ab_prop_compare(c[i][0], c[i][1], c[i][2], c[i][3], 0.05, &p), AB_OK);
        CHECK_INT(ab_lift_delta(pv, pv * (1 - pv) / c[i][1], pc,
                                pc * (1 - pc) / c[i][3], 0.05, &l), AB_OK);
        CHECK_CLOSE(l.lift, p.lift, 1e-12, 1e-15);
        CHECK_REL(l.ci.lo, p.lift_ci.lo, 1e-9);
        CHECK_REL(l.ci.hi, p.lift_ci.hi, 1e-9);
    }
}

static void test_invalid(void)
{
    const double x[] = {0, 1, 2, 5, 9}, unsorted[] = {0, 2, 1};
    const double bad[] = {0, NAN, 2}, inf[] = {0, 1, INFINITY};
    double q;
    ab_moments m;
    ab_mean_summary s;
    CHECK_INT(ab_quantile_type7(x, 5, -0.1, &q), AB_EINVAL);
    CHECK_INT(ab_quantile_type7(x, 5, 1.1, &q), AB_EINVAL);
    CHECK_INT(ab_quantile_type7(x, 5, NAN, &q), AB_EINVAL);
    CHECK_INT(ab_quantile_type7(unsorted, 3, 0.5, &q), AB_EINVAL);
    CHECK_INT(ab_quantile_type7(bad, 3, 0.5, &q), AB_EINVAL);
    CHECK_INT(ab_quantile_type7(inf, 3, 0.5, &q), AB_EINVAL);
    CHECK_INT(ab_quantile_type7(NULL, 3, 0.5, &q), AB_EINVAL);
    CHECK_INT(ab_quantile_type7(x, 5, 0.5, NULL), AB_EINVAL);
    CHECK_INT(ab_quantile_type7(NULL, 0, 0.5, &q), AB_OK);
    CHECK(isnan(q));

    CHECK_INT(ab_revenue_capped_moments(bad, 3, -INFINITY, INFINITY, &m), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_moments(inf, 3, -INFINITY, 10, &m), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_moments(x, 5, 3, 2, &m), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_moments(x, 5, NAN, 2, &m), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_moments(x, 5, 0, NAN, &m), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_moments(x, 5, INFINITY, INFINITY, &m), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_moments(x, 5, -INFINITY, -INFINITY, &m), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_moments(NULL, 5, 0, 1, &m), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_moments(x, 5, 0, 1, NULL), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_summary(x, 5, 0, 1, 0.0, &s), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_summary(x, 5, 0, 1, 1.0, &s), AB_EINVAL);
    CHECK_INT(ab_revenue_capped_summary(x, 5, 0, 1, NAN, &s), AB_EINVAL);
    /* Capped to one value: R's "data are essentially constant". */
    CHECK_INT(ab_revenue_capped_summary(x, 5, 3, 3, 0.05, &s), AB_OK);
    CHECK(s.mean == 3.0 && s.sd == 0.0 && isnan(s.ci.lo));

    ab_lift_result l;
    const ab_moments ok = {10, 25, 100}, negn = {-1, 0, 0}, nann = {NAN, 1, 1};
    CHECK_INT(ab_revenue_lift(&negn, &ok, 0.05, &l), AB_EINVAL);
    CHECK_INT(ab_revenue_lift(&ok, &nann, 0.05, &l), AB_EINVAL);
    CHECK_INT(ab_revenue_lift(NULL, &ok, 0.05, &l), AB_EINVAL);
    CHECK_INT(ab_revenue_lift(&ok, &ok, 0.05, NULL), AB_EINVAL);
    CHECK_INT(ab_revenue_lift(&ok, &ok, 1.5, &l), AB_EINVAL);
    CHECK_INT(ab_lift_delta(1, -1, 1, 1, 0.05, &l), AB_EINVAL);
    CHECK_INT(ab_lift_delta(INFINITY, 1, 1, 1, 0.05, &l), AB_EINVAL);
    CHECK_INT(ab_lift_delta(1, 1, 1, INFINITY, 0.05, &l), AB_EINVAL);
    CHECK_INT(ab_lift_delta(NAN, 1, 1, 1, 0.05, &l), AB_OK); /* undefined */
    CHECK(isnan(l.lift) && isnan(l.var) && isnan(l.ci.lo));

    ab_aov_summary a;
    ab_aov_comparison ac;
    const ab_aov_moments good = {100, 10, 500, 30000, 500};
    const ab_aov_moments bads[] = {
        {-1, 0, 0, 0, 0},    {100, 101, 5, 5, 5},   {100.5, 1, 5, 25, 5},
        {NAN, 1, 1, 1, 1},   {100, NAN, 1, 1, 1},   {100, 1, INFINITY, 1, 1},
        {100, 1, 1, -1, 1},  {100, 1, 1, 1, NAN},   {0, 0, 5, 25, 5},
        {1e300, 1, 1, 1, 1}, {10, 5, 10, 1, 10}, /* ΣM² impossibly small */
    };
    for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
        snprintf(test_context, sizeof test_context, "aov bad %zu", i);
        CHECK_INT(ab_aov_summarize(&bads[i], 0.05, &a), AB_EINVAL);
        CHECK_INT(ab_aov_compare(&bads[i], &good, 0.05, &ac), AB_EINVAL);
        CHECK_INT(ab_aov_compare(&good, &bads[i], 0.05, &ac), AB_EINVAL);
    }
    test_context[0] = '\0';
    CHECK_INT(ab_aov_summarize(&good, 0.0, &a), AB_EINVAL);
    CHECK_INT(ab_aov_summarize(NULL, 0.05, &a), AB_EINVAL);
    CHECK_INT(ab_aov_summarize(&good, 0.05, NULL), AB_EINVAL);
    CHECK_INT(ab_aov_compare(&good, &good, 0.05, NULL), AB_EINVAL);
    CHECK_INT(ab_aov_compare(&good, &good, NAN, &ac), AB_EINVAL);
}

int main(void)
{
    ab_stats_init();
    test_reference();
    test_lift_matches_prop();
    test_invalid();
    return TEST_DONE("test_revenue");
}
