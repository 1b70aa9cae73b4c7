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
