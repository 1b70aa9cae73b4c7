/* test_sample_size.c — ab_sample_size_prop/_mean against R (power.prop.test
 * and the normal formula, tests/reference/sample_size.tsv made by
 * sample_size.R), the sequential test's ab_sample_size_seq(_prop) against
 * sample_size_seq.R, the documented crossing probability behind it (its
 * monotonicity on a grid), a seeded simulation of the continuously
 * monitored test at the planned n, ab_sample_progress on hand-computed
 * cases, invalid input. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_erf.h>
#include <string.h>

#include "abstat/stats.h"
#include "test.h"

static void check_prop_row(const ref_row *r)
{
    /* p1 mde alpha power k correction n_formula n_power_prop_test per_variant */
    CHECK_INT(r->nv, 9);
    if (r->nv != 9) return;
    double n = NAN;
    CHECK_INT(ab_sample_size_prop(r->v[0], r->v[1], r->v[2], r->v[3],
                                  (size_t)r->v[4], (ab_correction)r->v[5], &n),
              AB_OK);
    /* Whole users: the ceiling must be the very integer R gives. */
    CHECK_REL(n, r->v[8], 0.0);
    /* ... and the smallest whole number at or above power.prop.test's root,
     * unless uniroot's tolerance (~1e-4 users) straddles an integer. */
    double root = r->v[7];
    if (fabs(root - round(root)) > 1e-3) CHECK_REL(n, ceil(root), 0.0);
    else CHECK(fabs(n - ceil(root)) <= 1.0);
}

static void check_mean_row(const ref_row *r)
{
    /* baseline sd mde alpha power k correction n_formula per_variant */
    CHECK_INT(r->nv, 9);
    if (r->nv != 9) return;
    double n = NAN;
    CHECK_INT(ab_sample_size_mean(r->v[0], r->v[1], r->v[2], r->v[3], r->v[4],
                                  (size_t)r->v[5], (ab_correction)r->v[6], &n),
              AB_OK);
    CHECK_REL(n, r->v[8], 0.0);
}

static void test_reference(void)
{
    ref_file *f = ref_open("sample_size.tsv");
    ref_row r;
    int nprop = 0, nmean = 0;
    while (ref_next(f, &r)) {
        if (!strncmp(r.tag, "prop_", 5)) {
            check_prop_row(&r);
            nprop++;
        } else if (!strncmp(r.tag, "mean_", 5)) {
            check_mean_row(&r);
            nmean++;
        } else {
            test_fail(__FILE__, __LINE__, "unknown row %s", r.tag);
        }
    }
    ref_close(f);
    CHECK(nprop >= 150);
    CHECK(nmean >= 25);
}

/* ---- The sequential test's sample size (sample_size_seq.tsv) ------------ */

/* R's and our doubles may round P at n and n - 1 differently only where
 * one of them is within rounding of the power: the reference's margin
 * (the smaller |P - power| at n and n - 1, in 256 bits) says where. There
 * one user either way. */
static void check_seq_n(double got, double want, double margin)
{
    if (margin >= 1e-11) CHECK_REL(got, want, 0.0);
    else CHECK(fabs(got - want) <= 1.0);
}

static void check_seqp_row(const ref_row *r)
{
    /* p1 mde alpha power k correction tuning n_root per_variant margin */
    CHECK_INT(r->nv, 10);
    if (r->nv != 10) return;
    double n = NAN;
    CHECK_INT(ab_sample_size_seq_prop(r->v[0], r->v[1], r->v[2], r->v[3], (size_t)r->v[4],
                                      (ab_correction)r->v[5], r->v[6], &n),
              AB_OK);
    check_seq_n(n, r->v[8], r->v[9]);
    /* The general form with the rates' variances is the same plan. */
    double p1 = r->v[0], p2 = p1 * (1 + r->v[1]), g = NAN;
    CHECK_INT(ab_sample_size_seq(p2 - p1, p1 * (1 - p1), p2 * (1 - p2), r->v[2], r->v[3],
                                 (size_t)r->v[4], (ab_correction)r->v[5], r->v[6], &g),
              AB_OK);
    CHECK_REL(g, n, 0.0);
}

static void check_seqv_row(const ref_row *r)
{
    /* delta var_c var_v alpha power k correction tuning n_root per_variant margin */
    CHECK_INT(r->nv, 11);
    if (r->nv != 11) return;
    double n = NAN;
    CHECK_INT(ab_sample_size_seq(r->v[0], r->v[1], r->v[2], r->v[3], r->v[4], (size_t)r->v[5],
                                 (ab_correction)r->v[6], r->v[7], &n),
              AB_OK);
    check_seq_n(n, r->v[9], r->v[10]);
}

static void test_seq_reference(void)
{
    ref_file *f = ref_open("sample_size_seq.tsv");
    ref_row r;
    int np = 0, nv = 0;
    while (ref_next(f, &r)) {
        snprintf(test_context, sizeof test_context, "%s (line %d)", r.tag, r.line);
        if (!strncmp(r.tag, "seqp_", 5)) {
            check_seqp_row(&r);
            np++;
        } else if (!strncmp(r.tag, "seqv_", 5)) {
            check_seqv_row(&r);
            nv++;
        } else {
            test_fail(__FILE__, __LINE__, "unknown row %s", r.tag);
        }
    }
    test_context[0] = '\0';
    ref_close(f);
    CHECK(np >= 200);
    CHECK(nv >= 15);
}

static void test_examples(void)
{
    double n;
    /* SPEC sections 5 and 7: baseline 5 %, +10 %: power.prop.test's root is
     * 31233.44, so 31234 users per variant. */
    CHECK_INT(ab_sample_size_prop(0.05, 0.10, 0.05, 0.8, 2, AB_CORRECT_HOLM, &n), AB_OK);
    CHECK_REL(n, 31234.0, 0.0);
    /* With two arms every correction is the uncorrected test. */
    double none, bh;
    CHECK_INT(ab_sample_size_prop(0.05, 0.10, 0.05, 0.8, 2, AB_CORRECT_NONE, &none), AB_OK);
    CHECK_INT(ab_sample_size_prop(0.05, 0.10, 0.05, 0.8, 2, AB_CORRECT_BH, &bh), AB_OK);
    CHECK(none == n && bh == n);
    /* More arms need more users per arm under a correction, not without. */
    double k4, k4none;
    CHECK_INT(ab_sample_size_prop(0.05, 0.10, 0.05, 0.8, 4, AB_CORRECT_BONFERRONI, &k4), AB_OK);
    CHECK_INT(ab_sample_size_prop(0.05, 0.10, 0.05, 0.8, 4, AB_CORRECT_NONE, &k4none), AB_OK);
    CHECK(k4 > n);
    CHECK(k4none == n);
}

static void test_invalid(void)
{
    double n;
    const double bad_p1[] = {0, 1, -0.1, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_p1 / sizeof *bad_p1; i++)
        CHECK_INT(ab_sample_size_prop(bad_p1[i], 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    /* mde 0 or not finite; p2 = p1 (1 + mde) at or beyond 0 or 1 */
    const double bad_mde[] = {0, NAN, INFINITY, -INFINITY, 1.0, 3.0, -1.0, -1.5};
    for (size_t i = 0; i < sizeof bad_mde / sizeof *bad_mde; i++)
        CHECK_INT(ab_sample_size_prop(0.5, bad_mde[i], 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_prop(0.6, 0.7, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    const double bad_level[] = {0, 1, -0.05, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_level / sizeof *bad_level; i++) {
        CHECK_INT(ab_sample_size_prop(0.05, 0.1, bad_level[i], 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
        CHECK_INT(ab_sample_size_prop(0.05, 0.1, 0.05, bad_level[i], 2, AB_CORRECT_NONE, &n), AB_EINVAL);
        CHECK_INT(ab_sample_size_mean(2.5, 14.2, 0.1, bad_level[i], 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
        CHECK_INT(ab_sample_size_mean(2.5, 14.2, 0.1, 0.05, bad_level[i], 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    }
    const size_t bad_k[] = {0, 1, AB_MAX_ARMS + 1, 1000};
    for (size_t i = 0; i < sizeof bad_k / sizeof *bad_k; i++) {
        CHECK_INT(ab_sample_size_prop(0.05, 0.1, 0.05, 0.8, bad_k[i], AB_CORRECT_HOLM, &n), AB_EINVAL);
        CHECK_INT(ab_sample_size_mean(2.5, 14.2, 0.1, 0.05, 0.8, bad_k[i], AB_CORRECT_HOLM, &n), AB_EINVAL);
    }
    CHECK_INT(ab_sample_size_prop(0.05, 0.1, 0.05, 0.8, AB_MAX_ARMS, AB_CORRECT_HOLM, &n), AB_OK);
    CHECK_INT(ab_sample_size_prop(0.05, 0.1, 0.05, 0.8, 2, (ab_correction)7, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, NULL), AB_EINVAL);
    /* A power no larger than what no users give has no positive root. */
    CHECK_INT(ab_sample_size_prop(0.05, 0.1, 0.05, 1e-6, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    /* An effect too small to ever reach: more than 2^53 users. */
    CHECK_INT(ab_sample_size_prop(0.5, 1e-9, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_ERANGE);

    const double bad_sd[] = {0, -1, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_sd / sizeof *bad_sd; i++)
        CHECK_INT(ab_sample_size_mean(2.5, bad_sd[i], 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_mean(0, 14.2, 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_mean(NAN, 14.2, 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_mean(2.5, 14.2, 0, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_mean(2.5, 14.2, INFINITY, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_mean(1e200, 14.2, 1e200, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_mean(2.5, 14.2, 0.1, 0.05, 0.8, 2, (ab_correction)-1, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_mean(2.5, 14.2, 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, NULL), AB_EINVAL);
}

static void test_seq_invalid(void)
{
    double n;
    const double T = 5000;
    /* The rate form refuses what ab_sample_size_prop refuses. */
    const double bad_p1[] = {0, 1, -0.1, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_p1 / sizeof *bad_p1; i++)
        CHECK_INT(ab_sample_size_seq_prop(bad_p1[i], 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n),
                  AB_EINVAL);
    const double bad_mde[] = {0, NAN, INFINITY, -INFINITY, 1.0, 3.0, -1.0, -1.5};
    for (size_t i = 0; i < sizeof bad_mde / sizeof *bad_mde; i++)
        CHECK_INT(ab_sample_size_seq_prop(0.5, bad_mde[i], 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n),
                  AB_EINVAL);
    const double bad_level[] = {0, 1, -0.05, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_level / sizeof *bad_level; i++) {
        CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, bad_level[i], 0.8, 2, AB_CORRECT_NONE, T, &n),
                  AB_EINVAL);
        CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, bad_level[i], 2, AB_CORRECT_NONE, T, &n),
                  AB_EINVAL);
        CHECK_INT(ab_sample_size_seq(0.1, 1, 1, bad_level[i], 0.8, 2, AB_CORRECT_NONE, T, &n),
                  AB_EINVAL);
    }
    /* Power below 1/2: refused (the bound is not monotone there); 1/2 is
     * a plan (the interval's bound at the effect). */
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.4999, 2, AB_CORRECT_NONE, T, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 1e-6, 2, AB_CORRECT_NONE, T, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.5, 2, AB_CORRECT_NONE, T, &n), AB_OK);
    const size_t bad_k[] = {0, 1, AB_MAX_ARMS + 1, 1000};
    for (size_t i = 0; i < sizeof bad_k / sizeof *bad_k; i++) {
        CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, bad_k[i], AB_CORRECT_HOLM, T, &n),
                  AB_EINVAL);
        CHECK_INT(ab_sample_size_seq(0.1, 1, 1, 0.05, 0.8, bad_k[i], AB_CORRECT_HOLM, T, &n),
                  AB_EINVAL);
    }
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, AB_MAX_ARMS, AB_CORRECT_HOLM, T, &n), AB_OK);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, (ab_correction)7, T, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, T, NULL), AB_EINVAL);
    CHECK_INT(ab_sample_size_seq(0.1, 1, 1, 0.05, 0.8, 2, AB_CORRECT_NONE, T, NULL), AB_EINVAL);
    /* Tuning: positive and finite. */
    const double bad_t[] = {0, -1, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_t / sizeof *bad_t; i++) {
        CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, bad_t[i], &n),
                  AB_EINVAL);
        CHECK_INT(ab_sample_size_seq(0.1, 1, 1, 0.05, 0.8, 2, AB_CORRECT_NONE, bad_t[i], &n),
                  AB_EINVAL);
    }
    /* The general form: an effect, and a spread (not both variances 0). */
    const double bad_d[] = {0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_d / sizeof *bad_d; i++)
        CHECK_INT(ab_sample_size_seq(bad_d[i], 1, 1, 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_EINVAL);
    const double bad_v[] = {-1, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_v / sizeof *bad_v; i++) {
        CHECK_INT(ab_sample_size_seq(0.1, bad_v[i], 1, 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_EINVAL);
        CHECK_INT(ab_sample_size_seq(0.1, 1, bad_v[i], 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_EINVAL);
    }
    CHECK_INT(ab_sample_size_seq(0.1, 0, 0, 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_seq(0.1, 1e308, 1e308, 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_seq(0.1, 0, 1, 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_OK);
    /* Effects too small to reach: more than 2^53 users, a failure without
     * NaN; and no value is written. */
    n = 42;
    CHECK_INT(ab_sample_size_seq_prop(0.5, 1e-9, 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_ERANGE);
    CHECK_INT(ab_sample_size_seq(1e-300, 1, 1, 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_ERANGE);
    CHECK_INT(ab_sample_size_seq(1e-9, 1e300, 1e300, 0.05, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_ERANGE);
    CHECK_REL(n, 42.0, 0.0);
    /* Tunings at the ends of the doubles, never NaN: 1e-300 makes
     * N rho² overflow from ~10^7 users on (the width is then +inf, "not
     * reached") but the answer, where ln(N rho²) ~ 700 widens the interval,
     * lies below (and above the 61315 of tuning 5000); 1e300 would need
     * ~10^150 users. */
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, 1e-300, &n), AB_OK);
    CHECK(n > 61315 && n < 1e7);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_NONE, 1e300, &n), AB_ERANGE);
    /* Alpha at its ends. */
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 1e-300, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_OK);
    CHECK(n > 1e6 && n < 1e8);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 1 - 1e-16, 0.8, 2, AB_CORRECT_NONE, T, &n), AB_OK);
    CHECK(isfinite(n) && n >= 1);
}

static void test_seq_properties(void)
{
    double fixed, seq, seq2, a, b;
    /* The sequential test costs more users than one fixed-horizon look,
     * and less than it would at tuning far from the sample. */
    CHECK_INT(ab_sample_size_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_HOLM, &fixed), AB_OK);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_HOLM, 5000, &seq), AB_OK);
    CHECK(seq > fixed && seq < 4 * fixed);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_HOLM, 1e8, &seq2), AB_OK);
    CHECK(seq2 > seq);
    /* SPEC example: P(n) first reaches 0.8 at 61315 (R: 61314.74). */
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_HOLM, 5000, &seq), AB_OK);
    CHECK_REL(seq, 61315.0, 0.0);
    /* More power, a smaller effect, more arms under a correction: more
     * users; without a correction the arms do not matter. */
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.9, 2, AB_CORRECT_HOLM, 5000, &a), AB_OK);
    CHECK(a > seq);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.05, 0.05, 0.8, 2, AB_CORRECT_HOLM, 5000, &a), AB_OK);
    CHECK(a > 3 * seq);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 4, AB_CORRECT_HOLM, 5000, &a), AB_OK);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 4, AB_CORRECT_NONE, 5000, &b), AB_OK);
    CHECK(a > seq);
    CHECK_REL(b, seq, 0.0);
    /* rho² follows the test's alpha, the width alpha' = alpha/(k - 1):
     * 4 arms at alpha 0.15 under Bonferroni is not 2 arms at 0.05. */
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.15, 0.8, 4, AB_CORRECT_BONFERRONI, 5000, &a), AB_OK);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_BONFERRONI, 5000, &b), AB_OK);
    CHECK(a != b);
    /* The sign of the effect does not matter in the general form. */
    CHECK_INT(ab_sample_size_seq(0.3, 2, 3, 0.05, 0.8, 2, AB_CORRECT_NONE, 100, &a), AB_OK);
    CHECK_INT(ab_sample_size_seq(-0.3, 3, 2, 0.05, 0.8, 2, AB_CORRECT_NONE, 100, &b), AB_OK);
    CHECK_REL(a, b, 0.0);
    /* An effect larger than any noise: one user. */
    CHECK_INT(ab_sample_size_seq(100, 1, 1, 0.05, 0.8, 2, AB_CORRECT_NONE, 1, &a), AB_OK);
    CHECK_REL(a, 1.0, 0.0);
}

/* ---- The documented criterion, written out again ------------------------
 * b(t) = sqrt(t (x + 1)/x G), x = 2 t rho², G = 2 ln(1/alpha') + ln(x + 1);
 * its tangent at T: beta = (G + 1)/(2 b), a = b - beta T; m = mu - beta;
 * P(T) = Phi((mT - a)/sqrt T) + exp(2am + ln Phi((-mT - a)/sqrt T)), the
 * log through gsl_sf_log_erfc (the library takes another route to the
 * second term, so this is a second evaluation, not a copy). */
static double seq_rho2(double alpha, double tuning)
{
    double l2a = -2.0 * log(alpha);
    return (l2a + log(l2a + 1.0)) / tuning;
}

static double seq_b(double t, double rho2, double alpha_ci)
{
    double x = 2.0 * t * rho2;
    return sqrt(t * (x + 1.0) / x * (-2.0 * log(alpha_ci) + log1p(x)));
}

static double tangent_power(double T, double mu, double alpha, double alpha_ci, double tuning)
{
    double rho2 = seq_rho2(alpha, tuning), x = 2.0 * T * rho2;
    double G = -2.0 * log(alpha_ci) + log1p(x);
    double b = seq_b(T, rho2, alpha_ci);
    double beta = (G + 1.0) / (2.0 * b), a = b - beta * T, m = mu - beta;
    double first = gsl_cdf_ugaussian_P((m * T - a) / sqrt(T));
    double lphi = gsl_sf_log_erfc((m * T + a) / sqrt(2.0 * T)) - log(2.0);
    return first + exp(2.0 * a * m + lphi);
}

/* b(t) sqrt(v)/t is the half-width ab_seq_msprt reports at N = 2t, beta is
 * b'(t), and the tangent lies above b before t. */
static void test_seq_boundary(void)
{
    const double alphas[] = {0.01, 0.05, 0.2}, tunings[] = {1, 100, 5000, 1e6};
    const double ts[] = {1, 10, 1234, 61315, 1e7, 1e12};
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++)
            for (size_t l = 0; l < sizeof ts / sizeof *ts; l++) {
                double alpha = alphas[i], tuning = tunings[j], t = ts[l], v = 0.37;
                double rho2 = seq_rho2(alpha, tuning);
                snprintf(test_context, sizeof test_context, "boundary alpha %g tuning %g t %g",
                         alpha, tuning, t);
                ab_seq_result r;
                CHECK_INT(ab_seq_msprt(0.0, v / t, 2 * t, alpha, tuning, &r), AB_OK);
                double b = seq_b(t, rho2, alpha);
                CHECK_REL(b * sqrt(v) / t, r.ci.hi, 1e-14);
                /* beta against central differences at h = t/100 and t/200,
                 * Richardson-extrapolated: truncation ~(h/t)^4, rounding
                 * ~1e-16 b/(h b'), up to ~1e-9 where b is nearly flat
                 * (tuning 1e6, t = 1). */
                double x = 2 * t * rho2, G = -2 * log(alpha) + log1p(x), h = t / 100;
                double d1 = (seq_b(t + h, rho2, alpha) - seq_b(t - h, rho2, alpha)) / (2 * h);
                double d2 = (seq_b(t + h / 2, rho2, alpha) - seq_b(t - h / 2, rho2, alpha)) / h;
                double num = (4 * d2 - d1) / 3;
                double beta = (G + 1) / (2 * b), a = b - beta * t;
                CHECK_REL(beta, num, 1e-7);
                /* The library's form of a, and a > 0. */
                CHECK_REL(a, t * ((G - 1) / 2 + G / x) / b, 1e-12);
                CHECK(a > 0);
                /* Concave: the tangent lies above b before t. */
                CHECK(a + beta * t / 2 >= seq_b(t / 2, rho2, alpha));
                CHECK(a + beta * t / 10 >= seq_b(t / 10, rho2, alpha));
            }
    test_context[0] = '\0';
}

/* P(T) on a log grid over [1, 2^53] for many settings: once it has reached
 * 1/2 it does not fall again unless alpha' > 0.95 (there it may; the dips
 * are counted and printed). The library's n is the first crossing: P(n) >=
 * power > P(n - 1), and P < power at every grid T below n. */
static void test_seq_tangent_power(void)
{
    const double p1s[] = {0.01, 0.05, 0.2, 0.5}, mdes[] = {0.02, 0.1, 0.5, -0.3};
    const double alphas[] = {0.01, 0.05, 0.1, 0.5, 0.999}, tunings[] = {1, 100, 5000, 1e6};
    const size_t ks[] = {2, 5};
    const double powers[] = {0.5, 0.8, 0.95};
    int settings = 0, dips = 0, falls = 0, consistent = 0;
    double dip_p = 0.0, dip_size = 0.0, fall_size = 0.0;
    for (size_t i1 = 0; i1 < 4; i1++)
        for (size_t i2 = 0; i2 < 4; i2++)
            for (size_t i3 = 0; i3 < 5; i3++)
                for (size_t i4 = 0; i4 < 4; i4++)
                    for (size_t i5 = 0; i5 < 2; i5++) {
                        double p1 = p1s[i1], p2 = p1 * (1 + mdes[i2]), alpha = alphas[i3];
                        double tuning = tunings[i4], ac = alpha / (double)(ks[i5] - 1);
                        double mu = fabs(p2 - p1) / sqrt(p1 * (1 - p1) + p2 * (1 - p2));
                        snprintf(test_context, sizeof test_context,
                                 "tangent p1 %g mde %g alpha %g tuning %g k %zu", p1, mdes[i2],
                                 alpha, tuning, ks[i5]);
                        double T[601], P[601], prev = -1.0;
                        int bad = 0;
                        for (int g = 0; g <= 600; g++) {
                            T[g] = round(exp(g / 600.0 * log(9007199254740992.0)));
                            P[g] = tangent_power(T[g], mu, alpha, ac, tuning);
                            if (!(P[g] >= 0 && P[g] <= 1 + 1e-15)) bad = 1;
                            if (P[g] < prev - 1e-15) {
                                if (prev >= 0.5) {
                                    if (!(ac > 0.95)) bad = 1;
                                    falls++;
                                    if (prev - P[g] > fall_size) fall_size = prev - P[g];
                                } else {
                                    dips++;
                                    if (prev > dip_p) dip_p = prev;
                                    if (prev - P[g] > dip_size) dip_size = prev - P[g];
                                }
                            }
                            prev = P[g];
                        }
                        CHECK(!bad);
                        settings++;
                        for (size_t ip = 0; ip < 3; ip++) {
                            double n, pw = powers[ip];
                            CHECK_INT(ab_sample_size_seq_prop(p1, mdes[i2], alpha, pw, ks[i5],
                                                              AB_CORRECT_BONFERRONI, tuning, &n),
                                      AB_OK);
                            double hi = tangent_power(n, mu, alpha, ac, tuning) - pw;
                            double lo = n > 1 ? tangent_power(n - 1, mu, alpha, ac, tuning) - pw
                                              : -1.0;
                            int first = 1;
                            for (int g = 0; g <= 600 && T[g] < n; g++)
                                if (P[g] >= pw + 1e-11) first = 0;
                            CHECK(first);
                            /* Within rounding of the power either way is right. */
                            if (fabs(hi) > 1e-11 && fabs(lo) > 1e-11) {
                                CHECK(hi >= 0 && lo < 0);
                                consistent++;
                            }
                        }
                    }
    test_context[0] = '\0';
    printf("seq_tangent: %d settings on a log grid of T: %d dips below P = 1/2 (largest %.2g, "
           "at P <= %.3g), %d falls from >= 1/2 (all at alpha' > 0.95, largest %.2g); "
           "n = first T with P >= power in %d of %d plans (the rest within 1e-11)\n",
           settings, dips, dip_size, dip_p, falls, fall_size, consistent, 3 * settings);
    CHECK(consistent >= 3 * settings - 5);

    /* Where P falls back: alpha 0.999 (no correction), tuning 2.5, p 5 %
     * +10 %: P reaches 0.5133 at T = 421, falls to 0.5038 by 1807 and rises
     * again, above 0.513 from 3353 on. At power 0.513 the answer is the
     * first crossing, 352 (doubling from 1 would have stepped over it, from
     * 256 to 512), though P is below 0.513 again at 1000. */
    double n, mu = 0.005 / sqrt(0.05 * 0.95 + 0.055 * 0.945);
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.999, 0.513, 2, AB_CORRECT_NONE, 2.5, &n),
              AB_OK);
    CHECK_REL(n, 352.0, 0.0);
    int below = 1;
    for (double t = 1; t < n; t++)
        if (tangent_power(t, mu, 0.999, 0.999, 2.5) >= 0.513) below = 0;
    CHECK(below);
    CHECK(tangent_power(352, mu, 0.999, 0.999, 2.5) >= 0.513);
    CHECK(tangent_power(256, mu, 0.999, 0.999, 2.5) < 0.513);
    CHECK(tangent_power(512, mu, 0.999, 0.999, 2.5) < 0.513);
    CHECK(tangent_power(1000, mu, 0.999, 0.999, 2.5) < 0.513);
}

/* GrowthBook's single-look bound, the plan before: the smallest n with
 * |delta| >= w(2n) + z_beta sqrt(V), w from ab_seq_msprt. For comparison. */
static int single_look_holds(double n, double s, double d, double alpha, double tuning,
                             double zb)
{
    ab_seq_result r;
    if (ab_seq_msprt(0.0, s / n, 2 * n, alpha, tuning, &r) != AB_OK) return -1;
    return r.ci.hi + zb * sqrt(s / n) <= d;
}

static double single_look_n(double p1, double mde, double alpha, double power, double tuning)
{
    double p2 = p1 * (1 + mde), s = p1 * (1 - p1) + p2 * (1 - p2), d = fabs(p2 - p1);
    double zb = gsl_cdf_ugaussian_Pinv(power), lo = 0, hi = 1;
    int r;
    while ((r = single_look_holds(hi, s, d, alpha, tuning, zb)) == 0 && hi < 1e15) {
        lo = hi;
        hi *= 2;
    }
    if (r != 1) return NAN;
    while (hi - lo > 1) {
        double mid = lo + floor((hi - lo) / 2);
        r = single_look_holds(mid, s, d, alpha, tuning, zb);
        if (r < 0) return NAN;
        if (r) hi = mid;
        else lo = mid;
    }
    return hi;
}

/* The plan's promise, simulated: the test monitored on a fine grid. Per arm
 * the summed differences S(t) get Gaussian increments of mean delta dt and
 * variance (p1 q1 + p2 q2) dt between `looks` evenly spaced whole t up to
 * n; at each look diff = S/t with V = (p1 q1 + p2 q2)/t goes into
 * ab_seq_msprt, and a run rejects once (k - 1)·p < alpha (alpha under no
 * correction) with diff on the effect's side: the same as diff exceeding
 * the half-width w(2t) at alpha', as p < alpha' exactly when |diff| > w.
 * Returns the share of runs that ever rejected by n. */
static double seq_monitor_sim(gsl_rng *rng, double n, double p1, double mde, double alpha,
                              size_t k, ab_correction corr, double tuning, int runs, int looks)
{
    double p2 = p1 * (1 + mde), d = p2 - p1, v = p1 * (1 - p1) + p2 * (1 - p2);
    double m = corr == AB_CORRECT_NONE ? 1.0 : (double)(k - 1);
    int rejected = 0;
    for (int i = 0; i < runs; i++) {
        double S = 0, t = 0;
        for (int j = 1; j <= looks; j++) {
            double tj = round(n * j / looks), dt = tj - t;
            if (dt <= 0) continue;
            S += d * dt + gsl_ran_gaussian(rng, sqrt(v * dt));
            t = tj;
            ab_seq_result r;
            if (ab_seq_msprt(S / t, v / t, 2 * t, alpha, tuning, &r) != AB_OK) return NAN;
            if (m * r.p_value < alpha && (S > 0) == (d > 0)) {
                rejected++;
                break;
            }
        }
    }
    return (double)rejected / runs;
}

static void test_seq_power_simulation(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    CHECK(rng != NULL);
    if (!rng) return;
    const int runs = 20000, looks = 200;
    double n, got, old, got_old;

    /* Baseline 0.1, +10 %, two arms; and the single-look plan's n for
     * comparison (the same seed: common random numbers). */
    CHECK_INT(ab_sample_size_seq_prop(0.1, 0.1, 0.05, 0.8, 2, AB_CORRECT_HOLM, 5000, &n), AB_OK);
    old = single_look_n(0.1, 0.1, 0.05, 0.8, 5000);
    gsl_rng_set(rng, 20260917);
    got = seq_monitor_sim(rng, n, 0.1, 0.1, 0.05, 2, AB_CORRECT_HOLM, 5000, runs, looks);
    gsl_rng_set(rng, 20260917);
    got_old = seq_monitor_sim(rng, old, 0.1, 0.1, 0.05, 2, AB_CORRECT_HOLM, 5000, runs, looks);
    printf("seq_power_sim: baseline 0.1, mde +10 %%, alpha 0.05, power 0.8, tuning 5000: "
           "n = %.0f per arm, monitored (%d looks) rejection by n %.1f %% of %d "
           "(single-look plan n = %.0f: %.1f %%)\n",
           n, looks, 100 * got, runs, old, 100 * got_old);
    CHECK(got >= 0.8 - 0.02 && got <= 0.8 + 0.05);
    CHECK_REL(old, 31835.0, 0.0);
    CHECK(got_old > got);

    /* Baseline 0.05, -20 %, three arms under Bonferroni, alpha 0.1. */
    CHECK_INT(ab_sample_size_seq_prop(0.05, -0.2, 0.1, 0.9, 3, AB_CORRECT_BONFERRONI, 1000, &n),
              AB_OK);
    gsl_rng_set(rng, 20260918);
    got = seq_monitor_sim(rng, n, 0.05, -0.2, 0.1, 3, AB_CORRECT_BONFERRONI, 1000, runs, looks);
    printf("seq_power_sim: baseline 0.05, mde -20 %%, alpha 0.1, power 0.9, 3 arms Bonferroni, "
           "tuning 1000: n = %.0f per arm, monitored (%d looks) rejection by n %.1f %% of %d\n",
           n, looks, 100 * got, runs);
    CHECK(got >= 0.9 - 0.02 && got <= 0.9 + 0.05);

    /* SPEC example (5 %, +10 %, tuning 5000): the plan before and now. */
    CHECK_INT(ab_sample_size_seq_prop(0.05, 0.1, 0.05, 0.8, 2, AB_CORRECT_HOLM, 5000, &n), AB_OK);
    old = single_look_n(0.05, 0.1, 0.05, 0.8, 5000);
    printf("seq_plan: SPEC example baseline 0.05, mde +10 %%, alpha 0.05, power 0.8, "
           "tuning 5000: single-look n = %.0f, monitored n = %.0f per arm\n", old, n);
    CHECK_REL(old, 71121.0, 0.0);
    CHECK_REL(n, 61315.0, 0.0);
    gsl_rng_free(rng);
}

/* Runs ab_sample_progress and checks both figures (NaN equals NaN). */
static void progress_case(const char *name, const double *users,
                          const double *weights, size_t k, double per_variant,
                          double days, double want_progress, double want_days)
{
    ab_progress p;
    snprintf(test_context, sizeof test_context, "progress %s", name);
    CHECK_INT(ab_sample_progress(users, weights, k, per_variant, days, &p), AB_OK);
    CHECK_REL(p.progress, want_progress, 1e-15);
    CHECK_REL(p.days_remaining, want_days, 0.0);
    test_context[0] = '\0';
}

static void test_progress(void)
{
    const double half[] = {0.5, 0.5};
    /* 900 users in 9 days = 100 a day, 50 per arm; arm 1 needs 600 more:
     * 12 days; progress min(500, 400)/1000. */
    const double u1[] = {500, 400};
    progress_case("even", u1, half, 2, 1000, 9, 0.4, 12);
    progress_case("even, no weights", u1, NULL, 2, 1000, 9, 0.4, 12);
    /* 75/25 split: 2000 users in 10 days = 150 and 50 a day; arm 0 needs
     * 500/150 = 3.33 -> 4 days, arm 1 1500/50 = 30 days. */
    const double u2[] = {1500, 500}, w2[] = {0.75, 0.25}, w2raw[] = {3, 1};
    progress_case("75/25", u2, w2, 2, 2000, 10, 0.25, 30);
    progress_case("weights normalised", u2, w2raw, 2, 2000, 10, 0.25, 30);
    /* Arm 0 done; arm 1 needs 600 at 100 a day. */
    const double u3[] = {1000, 400};
    progress_case("one arm done", u3, half, 2, 1000, 7, 0.4, 6);
    /* 15 more users at 10 a day: 1.5 -> 2 whole days. */
    const double u4[] = {10, 10};
    progress_case("part day", u4, NULL, 2, 25, 1, 0.4, 2);
    /* Five arms of 100 after 3 days: 100/3 a day each; 300 more is exactly
     * 9 days, though with these weights the quotient rounds to 9 + 2 ulp. */
    const double u5[] = {100, 100, 100, 100, 100},
                 w5[] = {0.01, 0.01, 0.01, 0.01, 0.01};
    progress_case("exact quotient", u5, w5, 5, 400, 3, 0.25, 9);
    /* Reached (and beyond): progress capped at 1, no days left. */
    const double u6[] = {5000, 3000};
    progress_case("reached", u6, half, 2, 1000, 20, 1, 0);
    progress_case("nothing needed", u4, half, 2, 0, 0, 1, 0);
    /* No time or no users yet: no rate to go by. */
    progress_case("day 0", u1, half, 2, 1000, 0, 0.4, NAN);
    const double u7[] = {0, 0};
    progress_case("no users", u7, half, 2, 1000, 5, 0, NAN);
    /* Half a day of traffic (100 a day, 50 an arm), fractional target:
     * arm 1 needs 60.5 more, 1.21 -> 2 days. */
    const double u8[] = {30, 20};
    progress_case("half day", u8, half, 2, 80.5, 0.5, 20 / 80.5, 2);

    ab_progress p;
    CHECK_INT(ab_sample_progress(NULL, half, 2, 1000, 1, &p), AB_EINVAL);
    CHECK_INT(ab_sample_progress(u1, half, 2, 1000, 1, NULL), AB_EINVAL);
    CHECK_INT(ab_sample_progress(u1, half, 1, 1000, 1, &p), AB_EINVAL);
    CHECK_INT(ab_sample_progress(u1, NULL, AB_MAX_ARMS + 1, 1000, 1, &p), AB_EINVAL);
    const double bad[] = {-1, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(ab_sample_progress(u1, half, 2, bad[i], 1, &p), AB_EINVAL);
        CHECK_INT(ab_sample_progress(u1, half, 2, 1000, bad[i], &p), AB_EINVAL);
        const double ub[] = {bad[i], 10}, wb[] = {bad[i], 1};
        CHECK_INT(ab_sample_progress(ub, half, 2, 1000, 1, &p), AB_EINVAL);
        CHECK_INT(ab_sample_progress(u1, wb, 2, 1000, 1, &p), AB_EINVAL);
    }
    const double ufrac[] = {10.5, 3}, wzero[] = {0, 1};
    CHECK_INT(ab_sample_progress(ufrac, half, 2, 1000, 1, &p), AB_EINVAL);
    CHECK_INT(ab_sample_progress(u1, wzero, 2, 1000, 1, &p), AB_EINVAL);
}

int main(void)
{
    ab_stats_init();
    test_reference();
    test_seq_reference();
    test_examples();
    test_invalid();
    test_seq_invalid();
    test_seq_properties();
    test_seq_boundary();
    test_seq_tangent_power();
    test_seq_power_simulation();
    test_progress();
    return TEST_DONE("test_sample_size");
}
