/* sample_size.c — planned users per variant (rates and means) and how far an
 * experiment is towards them, SPEC section 6 "Sample size". */
#include "internal.h"

#include <gsl/gsl_cdf.h>

/* The per-comparison level: the k - 1 comparisons with the control share
 * alpha (Bonferroni) unless no correction is asked for. Holm and BH are
 * never stricter than Bonferroni on their smallest p, so planning with
 * alpha/(k-1) is the conservative choice for all three. */
static ab_status planning_alpha(double alpha, size_t k,
                                ab_correction correction, double *out)
{
    if (!ab_valid_level(alpha) || k < 2 || k > AB_MAX_ARMS) return AB_EINVAL;
    switch (correction) {
    case AB_CORRECT_NONE:
        *out = alpha;
        return AB_OK;
    case AB_CORRECT_HOLM:
    case AB_CORRECT_BONFERRONI:
    case AB_CORRECT_BH:
        *out = alpha / (double)(k - 1);
        return AB_OK;
    }
    return AB_EINVAL;
}

/* z_{alpha'} = Phi^-1(1 - alpha'/2) and z_beta = Phi^-1(power). */
static ab_status critical_values(double alpha, double power, size_t k,
                                 ab_correction correction, double *za,
                                 double *zb)
{
    double a;
    if (!ab_valid_level(power)) return AB_EINVAL;
    ab_status st = planning_alpha(alpha, k, correction, &a);
    if (st != AB_OK) return st;
    *za = ab_z_crit(a);
    *zb = gsl_cdf_ugaussian_Pinv(power);
    if (!isfinite(*za) || !isfinite(*zb)) return AB_ENUMERIC;
    return AB_OK;
}

/* Rounds the unrounded size up to whole users; beyond 2^53 users the count
 * could not be represented (nor reached). */
static ab_status whole_users(double n, double *per_variant)
{
    if (!isfinite(n) || n <= 0.0) return AB_ENUMERIC;
    double c = ceil(n);
    if (c > AB_MAX_COUNT) return AB_ERANGE;
    *per_variant = c;
    return AB_OK;
}

ab_status ab_sample_size_prop(double p1, double mde, double alpha,
                              double power, size_t k, ab_correction correction,
                              double *per_variant)
{
    double za, zb;
    if (!per_variant || !isfinite(p1) || !(p1 > 0.0 && p1 < 1.0) ||
        !isfinite(mde) || mde == 0.0)
        return AB_EINVAL;
    double p2 = p1 * (1.0 + mde);
    if (!(p2 > 0.0 && p2 < 1.0) || p2 == p1) return AB_EINVAL;
    ab_status st = critical_values(alpha, power, k, correction, &za, &zb);
    if (st != AB_OK) return st;

    /* SPEC: n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p1 q1 + p2 q2))² / (p2 - p1)²,
     * the root power.prop.test finds with uniroot. */
    double pbar = (p1 + p2) / 2.0;
    double root = za * sqrt(2.0 * pbar * (1.0 - pbar)) +
                  zb * sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2));
    /* A power below what no users at all give (about alpha'/2) has no
     * positive root. */
    if (!(root > 0.0)) return AB_EINVAL;
    double d = p2 - p1;
    return whole_users(root * root / (d * d), per_variant);
}

ab_status ab_sample_size_mean(double baseline, double sd, double mde,
                              double alpha, double power, size_t k,
                              ab_correction correction, double *per_variant)
{
    double za, zb;
    /* The effect baseline·mde must be a real difference, and sd > 0: with
     * no spread the t-test itself is undefined (R: constant data). */
    if (!per_variant || !isfinite(baseline) || !isfinite(mde) ||
        !isfinite(sd) || !(sd > 0.0))
        return AB_EINVAL;
    double delta = baseline * mde;
    if (!isfinite(delta) || delta == 0.0) return AB_EINVAL;
    ab_status st = critical_values(alpha, power, k, correction, &za, &zb);
    if (st != AB_OK) return st;

    /* Two-sample normal approximation, n = 2 (z_a + z_b)² sd² / delta². */
    double root = za + zb;
    if (!(root > 0.0)) return AB_EINVAL; /* power too low to need any user */
    double ratio = sd / delta;
    return whole_users(2.0 * root * root * ratio * ratio, per_variant);
}

/* Progress and the time still needed.
 *
 * progress = min_i users[i] / per_variant, capped at 1 (1 when nothing is
 * needed, per_variant = 0).
 *
 * days_remaining: the experiment's observed traffic, sum(users) / days, is
 * split over the arms by the intended (normalised) weights to give each arm's
 * daily rate; an arm below target needs ceil((per_variant - users[i]) /
 * rate_i) more days, and the answer is the largest of these (0 once every arm
 * has reached per_variant). The weights, not each arm's own observed rate,
 * are used because the split is what the assignment will do from here on,
 * while an arm's own count early on is noisy (and may be 0, which would
 * predict never). NaN when there is no rate to go by: days == 0 or no users
 * yet. weights == NULL means an even split. */
ab_status ab_sample_progress(const double *users, const double *weights,
                             size_t k, double per_variant, double days,
                             ab_progress *out)
{
    if (!users || !out || k < 2 || k > AB_MAX_ARMS ||
        !isfinite(per_variant) || per_variant < 0.0 || !isfinite(days) ||
        days < 0.0)
        return AB_EINVAL;
    double total = 0.0, wsum = 0.0;
    for (size_t i = 0; i < k; i++) {
        if (!ab_valid_count(users[i])) return AB_EINVAL;
        /* A zero weight would be an arm that never gets users. */
        if (weights && (!isfinite(weights[i]) || !(weights[i] > 0.0)))
            return AB_EINVAL;
        total += users[i];
        wsum += weights ? weights[i] : 1.0;
    }
    if (!isfinite(wsum) || !ab_valid_count(total)) return AB_EINVAL;

    double progress = 1.0;
    int reached = 1;
    for (size_t i = 0; i < k; i++) {
        if (users[i] < per_variant) {
            reached = 0;
            double f = users[i] / per_variant;
            if (f < progress) progress = f;
        }
    }
    out->progress = progress;
    if (reached) {
        out->days_remaining = 0.0;
        return AB_OK;
    }
    if (days == 0.0 || total == 0.0) {
        out->days_remaining = NAN;
        return AB_OK;
    }

    double need_days = 0.0;
    for (size_t i = 0; i < k; i++) {
        if (users[i] >= per_variant) continue;
        double share = (weights ? weights[i] : 1.0) / wsum;
        /* (per_variant - users) / (total/days · share), grouped so that
         * exact cases (say 500 more users at 100 a day) stay exact. */
        double d = (per_variant - users[i]) * days / (total * share);
        /* Counts and days make whole quotients common; a rounding error
         * must not add a day to them. */
        double r = round(d);
        if (fabs(d - r) <= 1e-9 * r) d = r;
        d = ceil(d);
        if (!isfinite(d)) return AB_ENUMERIC;
        if (d > need_days) need_days = d;
    }
    out->days_remaining = need_days;
    return AB_OK;
}

/* ---- Sequential test (SPEC section 6, sample_size.sequential_per_variant) --
 *
 * GrowthBook's single-look bound for the normal-mixture test: at n users per
 * arm the test's interval theta ± w(2n) excludes 0 with probability about
 * Phi((delta - w(2n)) / sqrt(V)), so the power is reached at the smallest n
 * with delta >= w(2n) + z_beta sqrt(V). With s = var_c + var_v, V = s/n and
 * x = 2n rho², that is
 *   delta >= sqrt(s/n) (sqrt(g(x)) + z_beta),  g(x) = (1 + 1/x)(2 ln(1/alpha') + ln(1 + x)).
 * sqrt(s/n) sqrt(g) = sqrt(2 rho² s · (1/x)(1 + 1/x)(2L + ln(1 + x))), and the
 * logarithmic derivative of (1/x)(1 + 1/x)(2L + ln(1 + x)) is
 *   -1/x - 1/(x(1 + x)) + 1/((1 + x)(2L + ln(1 + x))) < 0
 * for every x > 0 and L >= 0 (as x < (x + 2) ln(1 + x) for x > 0). So for
 * z_beta >= 0 (power >= 1/2) the right-hand side falls strictly with n and
 * the users needed are found by doubling from n = 1 and bisecting on whole
 * numbers. Below power 1/2 the term z_beta sqrt(s/n) rises with n and the
 * condition can hold on an island of small n and fail after it: no "smallest
 * n" worth planning with, so such a power is AB_EINVAL. */

/* The bound at n users per arm: 1 when it holds, 0 when not. */
static int seq_power_reached(double n, double s, double delta, double rho2,
                             double alpha_ci, double zb)
{
    double V = s / n;
    double half = ab_seq_half_width(V, 2.0 * n * rho2, alpha_ci);
    /* half is +inf, never NaN, where the double overflows: not reached. */
    return half + zb * sqrt(V) <= delta;
}

ab_status ab_sample_size_seq(double delta, double var_c, double var_v,
                             double alpha, double power, size_t k,
                             ab_correction correction, double tuning,
                             double *per_variant)
{
    double alpha_ci;
    if (!per_variant || !isfinite(delta) || delta == 0.0 || !isfinite(var_c) ||
        !isfinite(var_v) || !(var_c >= 0.0) || !(var_v >= 0.0) ||
        !isfinite(tuning) || !(tuning > 0.0) || !ab_valid_level(power) ||
        power < 0.5)
        return AB_EINVAL;
    double s = var_c + var_v;
    /* No spread: the test itself is undefined (SPEC: V = 0). */
    if (!(s > 0.0) || !isfinite(s)) return AB_EINVAL;
    ab_status st = planning_alpha(alpha, k, correction, &alpha_ci);
    if (st != AB_OK) return st;
    double zb = gsl_cdf_ugaussian_Pinv(power);
    double rho2 = ab_seq_rho2(alpha, tuning); /* the test's own alpha */
    if (!isfinite(zb) || !isfinite(rho2) || !(rho2 > 0.0)) return AB_ENUMERIC;
    delta = fabs(delta);

    /* Bracket: lo fails (or is 0), hi holds. Doubling reaches 2^53 =
     * AB_MAX_COUNT exactly; beyond that no count could represent (nor any
     * experiment reach) the answer. */
    double lo = 0.0, hi = 1.0;
    while (!seq_power_reached(hi, s, delta, rho2, alpha_ci, zb)) {
        if (hi >= AB_MAX_COUNT) return AB_ERANGE;
        lo = hi;
        hi *= 2.0;
    }
    /* Bisect on whole numbers, all exact below 2^53. */
    while (hi - lo > 1.0) {
        double mid = lo + floor((hi - lo) / 2.0);
        if (seq_power_reached(mid, s, delta, rho2, alpha_ci, zb)) hi = mid;
        else lo = mid;
    }
    *per_variant = hi;
    return AB_OK;
}

ab_status ab_sample_size_seq_prop(double p1, double mde, double alpha,
                                  double power, size_t k,
                                  ab_correction correction, double tuning,
                                  double *per_variant)
{
    /* The checks of ab_sample_size_prop: a rate strictly inside (0, 1)
     * moved to another one. */
    if (!per_variant || !isfinite(p1) || !(p1 > 0.0 && p1 < 1.0) ||
        !isfinite(mde) || mde == 0.0)
        return AB_EINVAL;
    double p2 = p1 * (1.0 + mde);
    if (!(p2 > 0.0 && p2 < 1.0) || p2 == p1) return AB_EINVAL;
    return ab_sample_size_seq(p2 - p1, p1 * (1.0 - p1), p2 * (1.0 - p2), alpha,
                              power, k, correction, tuning, per_variant);
}
