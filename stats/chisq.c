/* chisq.c — Pearson chi-square tests: homogeneity of k rates, goodness of fit and the sample-ratio check. */
#include "internal.h"

#include <float.h>
#include <gsl/gsl_cdf.h>

/* Neumaier's compensated sum: the totals and the statistic add up to 2 x 64
 * terms of very different sizes (10^9 users next to a handful), where plain
 * summation would drop the small ones. */
typedef struct {
    double sum, comp;
} ksum;

static void ksum_add(ksum *s, double v)
{
    double t = s->sum + v;
    if (fabs(s->sum) >= fabs(v)) s->comp += (s->sum - t) + v;
    else s->comp += (v - t) + s->sum;
    s->sum = t;
}

static double ksum_value(const ksum *s)
{
    return s->sum + s->comp;
}

/* a*d - b*c to within a couple of ulps (Kahan's fma trick): the products of
 * 10^9-scale counts exceed 2^53 and their difference is exactly what the
 * statistic measures, so a naive subtraction could cancel to noise. */
static double diff_of_products(double a, double d, double b, double c)
{
    double w = b * c;
    double e = fma(-b, c, w);
    double f = fma(a, d, -w);
    return f + e;
}

/* Upper tail of chi-square; R's pchisq(Inf, df, lower = FALSE) is 0 and a
 * NaN statistic (a zero expected count) stays NaN. */
static double chisq_q(double stat, double df)
{
    if (isnan(stat) || isnan(df)) return NAN;
    if (isinf(stat)) return 0.0;
    return gsl_cdf_chisq_Q(stat, df);
}

static void result_nan(ab_chisq_result *out)
{
    out->statistic = NAN;
    out->df = NAN;
    out->p_value = NAN;
}

static ab_status check_k(size_t k)
{
    if (k > AB_MAX_ARMS) return AB_ERANGE;
    if (k < 2) return AB_EINVAL;
    return AB_OK;
}

ab_status ab_chisq_homogeneity(const double *x, const double *n, size_t k,
                               ab_chisq_result *out)
{
    if (!x || !n || !out) return AB_EINVAL;
    ab_status st = check_k(k);
    if (st != AB_OK) return st;
    for (size_t i = 0; i < k; i++)
        if (!ab_valid_prop(x[i], n[i])) return AB_EINVAL;

    ksum ts = {0, 0}, tx = {0, 0}, ty = {0, 0};
    for (size_t i = 0; i < k; i++) {
        ksum_add(&ts, n[i]);
        ksum_add(&tx, x[i]);
        ksum_add(&ty, n[i] - x[i]);
    }
    double N = ksum_value(&ts), X = ksum_value(&tx), Y = ksum_value(&ty);
    /* R stops ("at least one entry of 'x' must be positive"): undefined. */
    if (N == 0.0) {
        result_nan(out);
        return AB_OK;
    }

    /* Row i contributes d^2/E1 + d^2/E2 with E1 = n X/N, E2 = n Y/N and
     * d = x - E1 = -(y - E2) = (x Y - y X)/N. A zero row or column total
     * makes an expected count 0 and 0/0 = NaN, exactly as R answers. */
    ksum stat = {0, 0};
    for (size_t i = 0; i < k; i++) {
        double y = n[i] - x[i];
        double d = diff_of_products(x[i], Y, y, X) / N;
        double e1 = n[i] * X / N, e2 = n[i] * Y / N;
        ksum_add(&stat, d * d / e1);
        ksum_add(&stat, d * d / e2);
    }
    out->statistic = isnan(stat.sum) ? NAN : ksum_value(&stat);
    out->df = (double)(k - 1);
    out->p_value = chisq_q(out->statistic, out->df);
    return AB_OK;
}

ab_status ab_chisq_gof(const double *obs, const double *weights, size_t k,
                       ab_chisq_result *out)
{
    if (!obs || !weights || !out) return AB_EINVAL;
    ab_status st = check_k(k);
    if (st != AB_OK) return st;
    ksum tw = {0, 0}, tn = {0, 0};
    for (size_t i = 0; i < k; i++) {
        if (!ab_valid_count(obs[i])) return AB_EINVAL;
        if (!isfinite(weights[i]) || weights[i] < 0.0) return AB_EINVAL;
        ksum_add(&tw, weights[i]);
        ksum_add(&tn, obs[i]);
    }
    double wsum = ksum_value(&tw), N = ksum_value(&tn);
    if (!(wsum > 0.0) || !isfinite(wsum)) return AB_EINVAL;
    if (N == 0.0) { /* R stops: no observations */
        result_nan(out);
        return AB_OK;
    }
    /* R rescales only when the weights are off 1 by more than sqrt(eps);
     * doing the same keeps the last digits identical to R's. */
    double scale = fabs(wsum - 1.0) > sqrt(DBL_EPSILON) ? wsum : 1.0;

    ksum stat = {0, 0};
    for (size_t i = 0; i < k; i++) {
        double p = weights[i] / scale;
        /* E is rounded before the subtraction, as R does: an exact split
         * such as 2000 of 10000 at weight 0.2 must give 0, not the
         * 1e-29 that the binary 0.2 would leave with an exact residual.
         * A zero weight gives Inf (obs > 0) or NaN (obs = 0), as in R. */
        double e = N * p;
        double d = obs[i] - e;
        ksum_add(&stat, d * d / e);
    }
    out->statistic = isnan(stat.sum) || isinf(stat.sum) ? stat.sum
                                                        : ksum_value(&stat);
    out->df = (double)(k - 1);
    out->p_value = chisq_q(out->statistic, out->df);
    return AB_OK;
}

ab_status ab_srm_check(const double *users, const double *weights, size_t k,
                       ab_chisq_result *out, int *alert)
{
    if (!alert) return AB_EINVAL;
    ab_status st = ab_chisq_gof(users, weights, k, out);
    if (st != AB_OK) return st;
    /* An undefined p (no users yet) is no evidence of a broken split. */
    *alert = out->p_value < 0.001;
    return AB_OK;
}
