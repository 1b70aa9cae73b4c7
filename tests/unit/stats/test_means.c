/* test_means.c — ab_mean_summarize and ab_welch_test against R's t.test
 * (tests/reference/means.tsv, made by means.R) and on invalid input. */
#include <float.h>
#include <string.h>

#include "abstat/stats.h"
#include "test.h"

#define RTOL 1e-6

static void check_summary_row(const ref_row *r)
{
    /* n sum sumsq alpha mean sd lo hi */
    CHECK_INT(r->nv, 8);
    if (r->nv != 8) return;
    ab_moments m = {r->v[0], r->v[1], r->v[2]};
    ab_mean_summary s;
    CHECK_INT(ab_mean_summarize(&m, r->v[3], &s), AB_OK);
    CHECK_REL(s.mean, r->v[4], RTOL);
    CHECK_REL(s.sd, r->v[5], RTOL);
    CHECK_REL(s.ci.lo, r->v[6], RTOL);
    CHECK_REL(s.ci.hi, r->v[7], RTOL);
}

static void check_welch_row(const ref_row *r)
{
    /* n_v sum_v sumsq_v n_c sum_c sumsq_c alpha diff lo hi t df p var */
    CHECK_INT(r->nv, 14);
    if (r->nv != 14) return;
    ab_moments v = {r->v[0], r->v[1], r->v[2]};
    ab_moments c = {r->v[3], r->v[4], r->v[5]};
    ab_welch_result w;
    CHECK_INT(ab_welch_test(&v, &c, r->v[6], &w), AB_OK);
    /* diff is a difference of two means computed from sums: when the means
     * (nearly) coincide, as with equal constants where R's diff is exactly
     * 0, only digits relative to the means themselves are meaningful. */
    double scale = 0.0;
    if (v.n > 0 && c.n > 0) scale = fabs(v.sum / v.n) + fabs(c.sum / c.n);
    CHECK_CLOSE(w.diff, r->v[7], RTOL, 1e-12 * scale);
    CHECK_REL(w.diff_ci.lo, r->v[8], RTOL);
    CHECK_REL(w.diff_ci.hi, r->v[9], RTOL);
    CHECK_REL(w.t, r->v[10], RTOL);
    CHECK_REL(w.df, r->v[11], RTOL);
    CHECK_REL(w.p_value, r->v[12], RTOL);
    CHECK_REL(w.var, r->v[13], RTOL);
}

static void test_reference(void)
{
    ref_file *f = ref_open("means.tsv");
    ref_row r;
    int nsum = 0, nwelch = 0;
    while (ref_next(f, &r)) {
        if (!strncmp(r.tag, "sum_", 4)) {
            check_summary_row(&r);
            nsum++;
        } else if (!strncmp(r.tag, "welch_", 6)) {
            check_welch_row(&r);
            nwelch++;
        } else {
            test_fail(__FILE__, __LINE__, "unknown row %s", r.tag);
        }
    }
    ref_close(f);
    /* The file really was read, and whole. */
    CHECK(nsum >= 60);
    CHECK(nwelch >= 60);
}

/* Sums accumulated naively from a constant, as the service would: rounding
 * makes sumsq - sum²/n a little off 0, and that must still read as
 * constant data (R: "data are essentially constant"). */
static void test_constant_by_accumulation(void)
{
    ab_moments m = {0, 0, 0};
    for (int i = 0; i < 100000; i++) {
        m.n += 1;
        m.sum += 0.1;
        m.sumsq += 0.1 * 0.1;
    }
    ab_mean_summary s;
    CHECK_INT(ab_mean_summarize(&m, 0.05, &s), AB_OK);
    CHECK_REL(s.mean, 0.1, 1e-9);
    CHECK(s.sd == 0.0);
    CHECK(isnan(s.ci.lo) && isnan(s.ci.hi));

    ab_moments c = m;
    c.sum *= 2.0;       /* every value 0.2 */
    c.sumsq *= 4.0;
    ab_welch_result w;
    CHECK_INT(ab_welch_test(&m, &c, 0.05, &w), AB_OK);
    CHECK_REL(w.diff, -0.1, 1e-9);
    CHECK(w.var == 0.0);
    CHECK(isnan(w.t) && isnan(w.df) && isnan(w.p_value));
    CHECK(isnan(w.diff_ci.lo) && isnan(w.diff_ci.hi));
}

/* Undefined cases by hand: what stays defined and what is NaN. */
static void test_undefined(void)
{
    ab_mean_summary s;
    ab_moments none = {0, 0, 0}, one = {1, 4.5, 20.25}, two = {2, 4, 10};
    CHECK_INT(ab_mean_summarize(&none, 0.05, &s), AB_OK);
    CHECK(isnan(s.mean) && isnan(s.sd) && isnan(s.ci.lo) && isnan(s.ci.hi));
    CHECK_INT(ab_mean_summarize(&one, 0.05, &s), AB_OK);
    CHECK_REL(s.mean, 4.5, 1e-15);
    CHECK(isnan(s.sd) && isnan(s.ci.lo) && isnan(s.ci.hi));
    /* {1, 3}: mean 2, sd sqrt(2), se 1, qt(0.975, 1) = 12.706204736174694 */
    CHECK_INT(ab_mean_summarize(&two, 0.05, &s), AB_OK);
    CHECK_REL(s.mean, 2.0, 1e-15);
    CHECK_REL(s.sd, sqrt(2.0), 1e-15);
    CHECK_REL(s.ci.lo, 2.0 - 12.706204736174694, RTOL);
    CHECK_REL(s.ci.hi, 2.0 + 12.706204736174694, RTOL);

    ab_welch_result w;
    CHECK_INT(ab_welch_test(&none, &two, 0.05, &w), AB_OK);
    CHECK(isnan(w.diff) && isnan(w.var) && isnan(w.t) && isnan(w.df) &&
          isnan(w.p_value) && isnan(w.diff_ci.lo) && isnan(w.diff_ci.hi));
    CHECK_INT(ab_welch_test(&one, &two, 0.05, &w), AB_OK);
    CHECK_REL(w.diff, 2.5, 1e-15);
    CHECK(isnan(w.var) && isnan(w.t) && isnan(w.df) && isnan(w.p_value));

    /* Swapping the arms flips diff, t and the interval, keeps df, p, var. */
    ab_moments a = {10, 123.4, 2345.6}, b = {17, 150.2, 2100.9};
    ab_welch_result ab, ba;
    CHECK_INT(ab_welch_test(&a, &b, 0.05, &ab), AB_OK);
    CHECK_INT(ab_welch_test(&b, &a, 0.05, &ba), AB_OK);
    CHECK_REL(ab.diff, -ba.diff, 1e-15);
    CHECK_REL(ab.t, -ba.t, 1e-15);
    CHECK_REL(ab.diff_ci.lo, -ba.diff_ci.hi, 1e-12);
    CHECK_REL(ab.df, ba.df, 1e-15);
    CHECK_REL(ab.p_value, ba.p_value, 1e-15);
    CHECK_REL(ab.var, ba.var, 1e-15);
}

static void test_invalid(void)
{
    ab_mean_summary s;
    ab_welch_result w;
    const ab_moments ok = {10, 25, 100};
    const double bad_counts[] = {-1, 1.5, NAN, INFINITY, -INFINITY, 1e300};
    for (size_t i = 0; i < sizeof bad_counts / sizeof *bad_counts; i++) {
        ab_moments m = ok;
        m.n = bad_counts[i];
        CHECK_INT(ab_mean_summarize(&m, 0.05, &s), AB_EINVAL);
        CHECK_INT(ab_welch_test(&m, &ok, 0.05, &w), AB_EINVAL);
        CHECK_INT(ab_welch_test(&ok, &m, 0.05, &w), AB_EINVAL);
    }
    const double bad_sums[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_sums / sizeof *bad_sums; i++) {
        ab_moments m = ok;
        m.sum = bad_sums[i];
        CHECK_INT(ab_mean_summarize(&m, 0.05, &s), AB_EINVAL);
        CHECK_INT(ab_welch_test(&ok, &m, 0.05, &w), AB_EINVAL);
        m = ok;
        m.sumsq = bad_sums[i];
        CHECK_INT(ab_mean_summarize(&m, 0.05, &s), AB_EINVAL);
        CHECK_INT(ab_welch_test(&m, &ok, 0.05, &w), AB_EINVAL);
    }
    ab_moments neg = {10, 25, -1};
    CHECK_INT(ab_mean_summarize(&neg, 0.05, &s), AB_EINVAL);
    /* Σx² below (Σx)²/n is impossible (Cauchy–Schwarz). */
    ab_moments impossible = {2, 10, 1};
    CHECK_INT(ab_mean_summarize(&impossible, 0.05, &s), AB_EINVAL);
    CHECK_INT(ab_welch_test(&ok, &impossible, 0.05, &w), AB_EINVAL);
    /* Revenue without users. */
    ab_moments ghost = {0, 5, 25};
    CHECK_INT(ab_mean_summarize(&ghost, 0.05, &s), AB_EINVAL);

    const double bad_alpha[] = {0, 1, -0.05, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_alpha / sizeof *bad_alpha; i++) {
        CHECK_INT(ab_mean_summarize(&ok, bad_alpha[i], &s), AB_EINVAL);
        CHECK_INT(ab_welch_test(&ok, &ok, bad_alpha[i], &w), AB_EINVAL);
    }
    CHECK_INT(ab_mean_summarize(NULL, 0.05, &s), AB_EINVAL);
    CHECK_INT(ab_mean_summarize(&ok, 0.05, NULL), AB_EINVAL);
    CHECK_INT(ab_welch_test(NULL, &ok, 0.05, &w), AB_EINVAL);
    CHECK_INT(ab_welch_test(&ok, NULL, 0.05, &w), AB_EINVAL);
    CHECK_INT(ab_welch_test(&ok, &ok, 0.05, NULL), AB_EINVAL);

    /* Extreme but valid: tiny alpha and values near the top of the range. */
    CHECK_INT(ab_mean_summarize(&ok, 1e-300, &s), AB_OK);
    CHECK(isfinite(s.ci.lo) && isfinite(s.ci.hi));
    ab_moments big = {3, 3e150, 4e300};
    CHECK_INT(ab_mean_summarize(&big, 0.05, &s), AB_OK);
    CHECK(isfinite(s.sd) && isfinite(s.ci.lo));
}

int main(void)
{
    ab_stats_init();
    test_reference();
    test_constant_by_accumulation();
    test_undefined();
    test_invalid();
    return TEST_DONE("test_means");
}
