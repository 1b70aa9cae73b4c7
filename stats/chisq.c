/* chisq.c — Pearson chi-square tests: homogeneity of k rates, goodness of
 * fit and the sample-ratio check; and the anytime-valid sample-ratio test
 * (Dirichlet-multinomial Bayes factor) that stays valid when the check is
 * repeated at every evaluation. */
#include "internal.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_result.h>

/* The totals and the statistic add up to 2 x 64 terms of very different
 * sizes (10^9 users next to a handful): compensated sums (ab_ksum). */

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

    ab_ksum ts = {0, 0}, tx = {0, 0}, ty = {0, 0};
    for (size_t i = 0; i < k; i++) {
        ab_ksum_add(&ts, n[i]);
        ab_ksum_add(&tx, x[i]);
        ab_ksum_add(&ty, n[i] - x[i]);
    }
    double N = ab_ksum_value(&ts), X = ab_ksum_value(&tx), Y = ab_ksum_value(&ty);
    /* R stops ("at least one entry of 'x' must be positive"): undefined. */
    if (N == 0.0) {
        result_nan(out);
        return AB_OK;
    }

    /* Row i contributes d^2/E1 + d^2/E2 with E1 = n X/N, E2 = n Y/N and
     * d = x - E1 = -(y - E2) = (x Y - y X)/N. A zero row or column total
     * makes an expected count 0 and 0/0 = NaN, exactly as R answers. */
    ab_ksum stat = {0, 0};
    for (size_t i = 0; i < k; i++) {
        double y = n[i] - x[i];
        double d = diff_of_products(x[i], Y, y, X) / N;
        double e1 = n[i] * X / N, e2 = n[i] * Y / N;
        ab_ksum_add(&stat, d * d / e1);
        ab_ksum_add(&stat, d * d / e2);
    }
    out->statistic = isnan(stat.sum) ? NAN : ab_ksum_value(&stat);
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
    ab_ksum tw = {0, 0}, tn = {0, 0};
    for (size_t i = 0; i < k; i++) {
        if (!ab_valid_count(obs[i])) return AB_EINVAL;
        if (!isfinite(weights[i]) || weights[i] < 0.0) return AB_EINVAL;
        ab_ksum_add(&tw, weights[i]);
        ab_ksum_add(&tn, obs[i]);
    }
    double wsum = ab_ksum_value(&tw), N = ab_ksum_value(&tn);
    if (!(wsum > 0.0) || !isfinite(wsum)) return AB_EINVAL;
    if (N == 0.0) { /* R stops: no observations */
        result_nan(out);
        return AB_OK;
    }
    /* R rescales only when the weights are off 1 by more than sqrt(eps);
     * doing the same keeps the last digits identical to R's. */
    double scale = fabs(wsum - 1.0) > sqrt(DBL_EPSILON) ? wsum : 1.0;

    ab_ksum stat = {0, 0};
    for (size_t i = 0; i < k; i++) {
        double p = weights[i] / scale;
        /* E is rounded before the subtraction, as R does: an exact split
         * such as 2000 of 10000 at weight 0.2 must give 0, not the
         * 1e-29 that the binary 0.2 would leave with an exact residual.
         * A zero weight gives Inf (obs > 0) or NaN (obs = 0), as in R. */
        double e = N * p;
        double d = obs[i] - e;
        ab_ksum_add(&stat, d * d / e);
    }
    out->statistic = isnan(stat.sum) || isinf(stat.sum) ? stat.sum
                                                        : ab_ksum_value(&stat);
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

/* ---- Anytime-valid sample-ratio test ---------------------------------------
 *
 * The prior. Dirichlet(c p) is centred on the intended split p with c
 * pseudo-users: a priori each share deviates from p_i by about
 * sqrt(p_i (1 - p_i) / (c + 1)). Whatever c, Ville's inequality bounds the
 * lifetime false-alarm rate of "alert when the running minimum of p is below
 * a" by a; c only decides which deviations are found how soon. For large N,
 * ln BF ~ (N/(N + c)) X²/2 - ((k - 1)/2) ln(1 + N/c), X² Pearson's statistic,
 * so an alert at p < 0.001 needs about X² > (13.8 + ln(1 + N/c)) (1 + c/N),
 * against 10.8 for a single fixed-horizon look. That threshold is smallest
 * (~17.7) at N/c ~ 15, rises only logarithmically for N >> c (18.6 at N/c =
 * 100, 20.7 at 1000) but steeply for N < c (29 at N = c). The deviations that
 * matter here -- a share off by 1-2 points (51/49 or 52/48) -- become
 * detectable at all (X² ~ 4 N delta² reaching ~20) between 10^4 and 10^5
 * users, which puts the best c at 10^4/15 .. 10^5/15, i.e. some hundreds to
 * a few thousand. c = 1000 needs within 1-5 % of the best c's X² at every N
 * from 10^4 to 10^5, and 20.7 instead of 17.7 at 10^6 users, where a 1-point
 * deviation has X² ~ 400 anyway. Simulated (100 looks, 400 runs, 50/50
 * intended): a 52/48 split is found by 10^4 users in 50 % of runs (c = 100:
 * 49 %, c = 10^4: 11 %), a 51/49 split by 3·10^4 in 31 % (23 %, 17 %) and by
 * 10^5 in 98.5 %, a 50.5/49.5 split by 3·10^5 in 87 % (c = 100, Lindon &
 * Malek's reference code's default: 79 %). tests/test_srm_sequential.c
 * prints the false-alarm and the 51/49 figures for this default. */

/* Stirling's remainder r(x) = ln G(x) - S(x), S(x) = (x - 1/2) ln x - x +
 * ln(2 pi)/2, for x > 0: the series to x^-13 for x >= 10 (the next term is
 * below 3e-17 there), else from gsl_sf_lngamma_e, where both are small. */
static ab_status stirling_rem(double x, double *out)
{
    if (x >= 10.0) {
        double y = 1.0 / x, y2 = y * y;
        *out = y * (1.0 / 12 + y2 * (-1.0 / 360 + y2 * (1.0 / 1260 + y2 * (-1.0 / 1680 +
               y2 * (1.0 / 1188 + y2 * (-691.0 / 360360 + y2 * (1.0 / 156)))))));
        return AB_OK;
    }
    gsl_sf_result lg;
    if (gsl_sf_lngamma_e(x, &lg) != GSL_SUCCESS || !isfinite(lg.val))
        return AB_ENUMERIC;
    *out = lg.val - ((x - 0.5) * log(x) - x + 0.5 * log(2.0 * M_PI));
    return AB_OK;
}

/* ln(1 + e) - e for |e| <= 1/2. Near 0, where the subtraction would cancel,
 * the series -e²/2 + e³/3 - ... to e^11 (the first term left out is below
 * 1e-17 of the sum for |e| <= 0.01); beyond, the subtraction loses at most
 * 2e-14 of its value, a few 1e-11 of the term it goes into at 10^9 users.
 * (GSL's gsl_sf_log_1plusx_mx_e agrees to 1e-16 but took a third of the
 * time of the whole test, which the SRM simulation repeats 2 million times.) */
static double log1pmx(double e)
{
    if (fabs(e) > 0.01) return log1p(e) - e;
    double s = 1.0 / 11;
    for (int j = 10; j >= 2; j--) s = (j % 2 ? 1.0 : -1.0) / j + e * s;
    return e * e * s;
}

/* Arm i's share of ln BF (see below) and its Stirling remainders. */
static ab_status srm_arm_term(double n, double p, double N, double A,
                              double X, double *term)
{
    double a = A * p, x = n + a;
    double d = fma(-N, p, n);       /* n - N p = x - X p, to one rounding */
    double e = d / (X * p);         /* x / (X p) - 1 */
    double t, rx, ra;
    ab_status st;
    if (fabs(e) <= 0.5) {
        t = (x - 0.5) * log1pmx(e) + d * e - 0.5 * e;
    } else {
        /* The same, (x - 1/2) ln(1 + e) - d, as it stands: far from the
         * split its two parts do not cancel, while d e could be 1e300 (a
         * weight of 1e-290) and e may be -1 + 1e-19 (an empty arm, tiny
         * c), where 1 + e would round to 0. */
        t = (x - 0.5) * (log(x) - log(X * p)) - d;
    }
    if ((st = stirling_rem(x, &rx)) != AB_OK || (st = stirling_rem(a, &ra)) != AB_OK)
        return st;
    *term = t + (rx - ra);
    return AB_OK;
}

/* ln BF is a difference of log-gammas of up to 64 x 2^53 users, each near
 * N ln N (2e10 at N = 10^9), while ln BF itself is of order 1 to 100 and p =
 * exp(-ln BF) must keep 1e-6 relative: adding the log-gammas up as they
 * stand leaves an error of some 1e-6 in ln BF at 10^9 users and of many units
 * at 2^53. So ln G = S + r is split and the S parts are added up exactly in
 * the algebra first. With a_i = c p_i, x_i = n_i + a_i, X = N + c and
 * e_i = x_i/(X p_i) - 1 = (n_i - N p_i)/(X p_i) = d_i/(X p_i):
 *   ln BF = sum_i (x_i - 1/2) ln(1 + e_i) - ((k - 1)/2) ln(1 + N/c)
 *           + sum_i (r(x_i) - r(a_i)) - r(X) + r(c),
 * and since sum_i x_i e_i = sum_i d_i + sum_i d_i e_i with sum_i d_i = 0,
 *   (x_i - 1/2) ln(1 + e_i) -> (x_i - 1/2)(ln(1 + e_i) - e_i) + d_i e_i - e_i/2
 *                            = (x_i - 1/2) ln(1 + e_i) - d_i,
 * which leaves no term of the order of N to cancel (and drops the N (1 -
 * sum p_i) that the rounding of the normalised weights would add). Every
 * term is then of the order of its d_i at most, so the absolute error of ln
 * BF is ~1e-16 sum |d_i|: 1e-11 at 10^9 users. */
ab_status ab_srm_sequential(const double *users, const double *weights,
                            size_t k, double concentration,
                            ab_srm_seq_result *out)
{
    if (!users || !weights || !out) return AB_EINVAL;
    ab_status st = check_k(k);
    if (st != AB_OK) return st;
    if (!isfinite(concentration) || !(concentration > 0.0)) return AB_EINVAL;
    ab_ksum tw = {0, 0}, tn = {0, 0};
    for (size_t i = 0; i < k; i++) {
        if (!ab_valid_count(users[i])) return AB_EINVAL;
        if (!isfinite(weights[i]) || weights[i] < 0.0) return AB_EINVAL;
        ab_ksum_add(&tw, weights[i]);
        ab_ksum_add(&tn, users[i]);
    }
    double W = ab_ksum_value(&tw), N = ab_ksum_value(&tn), A = concentration;
    if (!(W > 0.0) || !isfinite(W)) return AB_EINVAL;
    int broken = 0;
    for (size_t i = 0; i < k; i++) {
        if (weights[i] == 0.0) {
            /* An arm the split never sends anyone to: it takes no part
             * (its factor is 1) until it has users, which the null cannot
             * explain at all. */
            if (users[i] > 0.0) broken = 1;
        } else if (!(A * (weights[i] / W) >= DBL_MIN)) {
            /* c p_i below the normal doubles: ln G(c p_i) overflows. */
            return AB_EINVAL;
        }
    }
    if (broken) {
        out->log_bf = INFINITY;
        out->p_value = 0.0;
        return AB_OK;
    }
    if (N == 0.0) {
        out->log_bf = 0.0;
        out->p_value = 1.0;
        return AB_OK;
    }

    double X = N + A, rX, rA;
    if ((st = stirling_rem(X, &rX)) != AB_OK || (st = stirling_rem(A, &rA)) != AB_OK)
        return st;
    ab_ksum lbf = {0, 0};
    size_t active = 0;
    for (size_t i = 0; i < k; i++) {
        if (weights[i] == 0.0) continue;
        double term;
        st = srm_arm_term(users[i], weights[i] / W, N, A, X, &term);
        if (st != AB_OK) return st;
        ab_ksum_add(&lbf, term);
        active++;
    }
    ab_ksum_add(&lbf, -0.5 * (double)(active - 1) * log1p(N / A));
    ab_ksum_add(&lbf, rA - rX);
    double v = ab_ksum_value(&lbf);
    if (!isfinite(v)) return AB_ENUMERIC;
    out->log_bf = v;
    out->p_value = v <= 0.0 ? 1.0 : exp(-v);
    return AB_OK;
}
