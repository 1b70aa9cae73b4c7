/* sequential.c — the normal-mixture sequential test (mSPRT) of README "Statistics". */
#include "internal.h"

/* rho^2 = (-2 ln alpha + ln(-2 ln alpha + 1)) / tuning (README "Statistics").
 * Shared with the sequential sample size (sample_size.c). */
double ab_seq_rho2(double alpha, double tuning)
{
    double l2a = -2.0 * log(alpha); /* 2 ln(1/alpha) */
    return (l2a + log(l2a + 1.0)) / tuning;
}

/* sqrt( var (N rho^2 + 1)/(N rho^2) (2 ln(1/alpha) + ln(N rho^2 + 1)) ) with
 * nr = N rho^2: the confidence sequence's half-width. (N rho^2 + 1)/(N rho^2)
 * is written 1 + 1/nr, so that it stays 1 when nr overflows; where the
 * double overflows the width is +inf, never NaN for nr >= 0, var >= 0. */
double ab_seq_half_width(double var, double nr, double alpha)
{
    return sqrt(var * (1.0 + 1.0 / nr) * (-2.0 * log(alpha) + log1p(nr)));
}

static void seq_nan(ab_seq_result *out)
{
    out->p_value = NAN;
    out->ci = ab_interval_nan();
}

ab_status ab_seq_msprt(double theta, double var, double N, double alpha,
                       double tuning, ab_seq_result *out)
{
    /* N adds up two arms, so it may exceed the 2^53 of one count
     * (ab_valid_count): two arms of 2^53 users each are valid input, which
     * used to be refused as AB_EINVAL. A whole number all the same. */
    if (!out || !ab_valid_level(alpha) || !isfinite(tuning) || tuning <= 0.0 ||
        !isfinite(N) || N < 0.0 || floor(N) != N || isinf(theta) || var < 0.0 || isinf(var))
        return AB_EINVAL;
    /* An undefined estimate or variance (an arm without users, constant
     * data) or no spread at all leaves the test undefined, never
     * significant. */
    if (isnan(theta) || isnan(var) || var == 0.0 || N == 0.0) {
        seq_nan(out);
        return AB_OK;
    }

    double rho2 = ab_seq_rho2(alpha, tuning);
    double nr = N * rho2;                      /* N rho^2 */
    double log1p_nr = log1p(nr);               /* ln(N rho^2 + 1) */

    /* ln Lambda, not Lambda: at 10^9 users exp() of the second term
     * overflows while 1/Lambda is just a p of 0. N rho^2 / (N rho^2 + 1) is
     * written as 1 / (1 + 1 / N rho^2) so that it stays 1 when N rho^2
     * overflows (a tuning of 1e-300): inf / inf made ln Lambda NaN and the
     * whole analysis a 500. There Lambda -> 0, so p is 1. */
    double log_lambda = -0.5 * log1p_nr + theta * theta / (2.0 * var) / (1.0 + 1.0 / nr);
    if (isnan(log_lambda)) return AB_ENUMERIC;
    out->p_value = log_lambda <= 0.0 ? 1.0 : exp(-log_lambda);

    /* The width grows without bound as N rho^2 goes to infinity (tiny
     * tuning) or to 0 (huge tuning); where the double overflows the
     * interval is (-inf, inf) — the service shows it as null — rather
     * than a numerical failure of the whole analysis. */
    double half = ab_seq_half_width(var, nr, alpha);
    if (isnan(half)) return AB_ENUMERIC;
    out->ci.lo = theta - half;
    out->ci.hi = theta + half;
    return AB_OK;
}
