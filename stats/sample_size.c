/* sample_size.c — planned users per variant (rates and means) and how far an
 * experiment is towards them, README "Statistics" "Sample size". */
#include "internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_sf_result.h>

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

    /* README "Statistics": n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p1 q1 + p2 q2))² / (p2 - p1)²,
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

/* ---- Sequential test (README "Statistics", sample_size.sequential_per_variant) --
 *
 * The daemon evaluates the test continually and keeps the running
 * intersection of the intervals, so the plan is for a test monitored
 * continuously. Per-arm users are the time t. The summed per-pair differences
 * S(t) = t·diff(t) have drift delta and variance v = var_c + var_v per unit of
 * t, so S(t)/sqrt(v) = mu t + W(t), mu = |delta|/sqrt(v), W a standard
 * Brownian motion. The interval excludes 0 on the effect's side once
 * diff(t) >= w(2t), i.e. once S(t)/sqrt(v) >= b(t) with
 *   b(t) = t w(2t)/sqrt(v) = sqrt(t h(t)),
 *   h(t) = (1 + 1/x)(2 ln(1/alpha') + ln(1 + x)),  x = 2 t rho²,
 * which is ab_seq_half_width(t, x, alpha'): the half-width with "variance" t.
 * Write G = 2 ln(1/alpha') + ln(1 + x). Then b² = (t + 1/(2 rho²)) G and
 * (t + 1/(2 rho²)) G' = 1, so (b²)' = G + 1,
 *   b'(t) = (G + 1) / (2 b),   b''(t) = -(G² + 1) / (4 b³) < 0:
 * b is concave, and its tangent at T, a + beta t with
 *   beta = b'(T) = (G + 1) / (2 b(T)),
 *   a = b(T) - beta T = T ((G - 1)/2 + G/x) / b(T),
 * lies above b for t < T (and meets it at T). a > 0 for alpha' < 1: it is
 * at least (T/b)(ln(1 + x)(1/2 + 1/x) - 1/2), and (x + 2) ln(1 + x) > x.
 * Crossing the line by T therefore implies crossing b by T, and the
 * probability of the former, Brownian motion with drift m = mu - beta
 * reaching the level a by T, is a lower bound of the power by T:
 *   P(T) = Phi((m T - a)/sqrt(T)) + exp(2 a m) Phi((-m T - a)/sqrt(T)).
 * The lower boundary (a rejection on the wrong side) is ignored: negligible
 * at power >= 1/2. The users needed are the smallest whole T with
 * P(T) >= power.
 *
 * P is not monotone everywhere. Scaling time by rho² leaves it a function
 * of T rho², mu/rho and alpha' only; on a grid of those it dips (by up to
 * ~0.01) at small T rho², where the tangent is a loose bound, and for
 * alpha' <= 0.95 only while below 1/2; for alpha' of 0.99 and more (a
 * per-comparison level few would use) it can reach up to ~0.53, fall back
 * by up to ~0.025 and rise again. The answer is then the first crossing,
 * and that is still a valid plan: the true power by T (crossing b itself)
 * is non-decreasing in T and at least P(T), so once P(T0) >= power the
 * power stays reached for every T >= T0, whatever P does after T0.
 * To find the first crossing the bracket steps up from 1 on a fine grid,
 * hi -> hi + ceil(hi/16) (by about 6 %, at most ~560 steps up to 2^53,
 * rather than by doubling), and bisects on whole numbers in the first step
 * that reaches the power; it would step over an excursion above the power
 * narrower than that step, giving a later (still valid) crossing.
 * tests/reference/sample_size_seq.R compares it with a brute force over
 * every whole T below 3e6, and tests/test_sample_size.c with its own grid.
 * Below power 1/2, P's dips are the rule: such a power is AB_EINVAL, as
 * before.
 *
 * Where x = 2 T rho² overflows (or 1/x does) the test's interval is
 * infinite and never rejects, and b is +inf: "not reached", as the
 * single-look bound had it. */

/* P(T) >= power: 1 when reached, 0 when not, -1 when GSL fails.
 *
 * The second term, exp(2am) Phi(z) with z = (-mT - a)/sqrt(T) = -w: exp(2am)
 * overflows where Phi(z) underflows, and ln Phi(z) from gsl_sf_log_erfc
 * would cancel against 2am (both ~ w²), besides being NaN (with
 * GSL_SUCCESS) for |w| beyond ~1e61. With u = (mT - a)/sqrt(T) the first
 * term's argument, 2am = (w² - u²)/2, so exactly
 *   exp(2am) Phi(-w) = phi(u) Q(w)/phi(w)
 *                    = exp(-u²/2 - ln hazard(w)) / sqrt(2 pi),
 * hazard(w) = phi(w)/Q(w) (gsl_sf_hazard, ~w for large w): the exponent is
 * computed in logs without cancellation. That is used for w > 1; for w <= 1
 * the product itself is safe, as 2am <= 2a(sqrt(T) - a)/T <= 1/2 there and
 * Phi(-w) >= Phi(-1). */
static int seq_power_reached(double T, double mu, double rho2, double alpha_ci,
                             double power)
{
    double x = 2.0 * T * rho2;
    double b = ab_seq_half_width(T, x, alpha_ci);
    if (!isfinite(x) || !(x > 0.0) || !isfinite(b)) return 0;
    double G = -2.0 * log(alpha_ci) + log1p(x);
    double beta = (G + 1.0) / (2.0 * b);
    double a = T * ((G - 1.0) / 2.0 + G / x) / b;
    double m = mu - beta, st = sqrt(T);
    double u = (m * T - a) / st, w = (m * T + a) / st;
    double first = gsl_cdf_ugaussian_P(u);
    if (first >= power) return 1; /* also where mu = +inf */
    double second;
    if (w > 1.0) {
        gsl_sf_result hz;
        if (gsl_sf_hazard_e(w, &hz) != GSL_SUCCESS || !(hz.val > 0.0)) return -1;
        second = exp(-0.5 * u * u - log(hz.val)) / sqrt(2.0 * M_PI);
    } else {
        second = exp(2.0 * a * m) * gsl_cdf_ugaussian_P(-w);
    }
    if (isnan(second) || isnan(first)) return -1;
    return first + second >= power;
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
    /* No spread: the test itself is undefined (README "Statistics": V = 0). */
    if (!(s > 0.0) || !isfinite(s)) return AB_EINVAL;
    ab_status st = planning_alpha(alpha, k, correction, &alpha_ci);
    if (st != AB_OK) return st;
    double rho2 = ab_seq_rho2(alpha, tuning); /* the test's own alpha */
    if (!isfinite(rho2) || !(rho2 > 0.0)) return AB_ENUMERIC;
    /* mu may be +inf (a huge effect, a tiny spread): then one user. */
    double mu = fabs(delta) / sqrt(s);

    /* Bracket: lo fails (or is 0), hi holds, no grid point below hi holds.
     * The steps are whole numbers (hi/16 is exact) and stop at 2^53 =
     * AB_MAX_COUNT exactly; beyond that no count could represent (nor any
     * experiment reach) the answer. */
    double lo = 0.0, hi = 1.0;
    int r;
    while ((r = seq_power_reached(hi, mu, rho2, alpha_ci, power)) != 1) {
        if (r < 0) return AB_ENUMERIC;
        if (hi >= AB_MAX_COUNT) return AB_ERANGE;
        lo = hi;
        hi = fmin(hi + ceil(hi / 16.0), AB_MAX_COUNT);
    }
    /* Bisect on whole numbers, all exact below 2^53. */
    while (hi - lo > 1.0) {
        double mid = lo + floor((hi - lo) / 2.0);
        r = seq_power_reached(mid, mu, rho2, alpha_ci, power);
        if (r < 0) return AB_ENUMERIC;
        if (r) hi = mid;
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
