/* revenue.c — revenue per user beyond its mean (README "Statistics"): R's
 * type-7 quantile for the caps, capped mean/sd/t interval and capped Welch
 * moments, the delta-method relative lift, and average order value (AOV). */
#include "internal.h"

#include <float.h>

/* ---- Quantile and caps ------------------------------------------------- */

ab_status ab_quantile_type7_select(size_t n, double q,
                                   double (*order_stat)(size_t i, void *ctx),
                                   void *ctx, double *out)
{
    if (!out || !order_stat || !isfinite(q) || q < 0.0 || q > 1.0)
        return AB_EINVAL;
    if (n == 0) {
        *out = NAN; /* R: quantile(numeric(0), q) is NA */
        return AB_OK;
    }
    /* As R's quantile.default, type 7: index = 1 + (n - 1) q (1-based),
     * lo = floor(index), hi = ceiling(index), and where index > lo and
     * x[hi] != x[lo], (1 - h) x[lo] + h x[hi] with h = index - lo. */
    /* R's own arithmetic, 1-based, so that h rounds as R's does. */
    double index = 1.0 + (double)(n - 1) * q;
    double lo = floor(index);
    size_t ilo = (size_t)lo - 1;
    size_t ihi = (size_t)ceil(index) - 1;
    if (ihi >= n) ihi = n - 1;
    double qs = order_stat(ilo, ctx);
    if (index > lo) {
        double x_hi = order_stat(ihi, ctx);
        if (x_hi != qs) {
            double h = index - lo;
            qs = (1.0 - h) * qs + h * x_hi;
        }
    }
    *out = qs;
    return AB_OK;
}

typedef struct {
    const double *x;
} sorted_values;

static double sorted_at(size_t i, void *ctx)
{
    return ((const sorted_values *)ctx)->x[i];
}

ab_status ab_quantile_type7(const double *sorted, size_t n, double q,
                            double *out)
{
    if (!out || !isfinite(q) || q < 0.0 || q > 1.0 || (n > 0 && !sorted))
        return AB_EINVAL;
    /* The caller sorts; unsorted or non-finite data is refused rather than
     * silently giving a wrong cap. One pass, no allocation. */
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(sorted[i])) return AB_EINVAL;
        if (i > 0 && sorted[i] < sorted[i - 1]) return AB_EINVAL;
    }
    sorted_values v = {sorted};
    return ab_quantile_type7_select(n, q, sorted_at, &v, out);
}

/* Caps lo <= hi, each finite or the infinity on its own side (no cap). */
static int valid_caps(double lo, double hi)
{
    return !isnan(lo) && !isnan(hi) && lo != INFINITY && hi != -INFINITY &&
           lo <= hi;
}

/* The moments of 10^6 and more values keep their last digits in
 * compensated sums (ab_ksum), so the centred sum of squares that
 * ab_mean_summarize takes from them loses only what its own subtraction
 * must. */

ab_status ab_revenue_capped_moments(const double *x, size_t n, double lo,
                                    double hi, ab_moments *out)
{
    if (!out || (n > 0 && !x) || !valid_caps(lo, hi) ||
        (double)n > AB_MAX_COUNT)
        return AB_EINVAL;
    ab_ksum s = {0.0, 0.0}, s2 = {0.0, 0.0};
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) return AB_EINVAL;
        /* pmin(pmax(x, lo), hi) */
        double v = x[i] < lo ? lo : x[i];
        if (v > hi) v = hi;
        ab_ksum_add(&s, v);
        ab_ksum_add(&s2, v * v);
    }
    out->n = (double)n;
    out->sum = ab_ksum_value(&s);
    out->sumsq = ab_ksum_value(&s2);
    if (!isfinite(out->sum) || !isfinite(out->sumsq)) return AB_ERANGE;
    return AB_OK;
}

ab_status ab_revenue_capped_summary(const double *x, size_t n, double lo,
                                    double hi, double alpha,
                                    ab_mean_summary *out)
{
    ab_moments m;
    if (!out || !ab_valid_level(alpha)) return AB_EINVAL;
    ab_status st = ab_revenue_capped_moments(x, n, lo, hi, &m);
    if (st != AB_OK) return st;
    return ab_mean_summarize(&m, alpha, out);
}

/* ---- Relative lift by the delta method ---------------------------------- */

ab_status ab_lift_delta(double est_v, double var_v, double est_c, double var_c,
                        double alpha, ab_lift_result *out)
{
    /* NaN estimates or variances are "undefined" and propagate; negative
     * or infinite ones are wrong input. */
    if (!out || !ab_valid_level(alpha) || isinf(est_v) || isinf(est_c) ||
        isinf(var_v) || isinf(var_c) || var_v < 0.0 || var_c < 0.0)
        return AB_EINVAL;
    out->lift = out->var = NAN;
    out->ci = ab_interval_nan();
    /* A relative change from a control of 0 means nothing. */
    if (isnan(est_v) || isnan(est_c) || est_c == 0.0) return AB_OK;
    out->lift = est_v / est_c - 1.0;
    /* Var(v)/c^2 + v^2 Var(c)/c^4, written with the ratio r = v/c so that
     * nothing is raised to the fourth power (no overflow for large c). */
    double r = est_v / est_c, c2 = est_c * est_c;
    out->var = var_v / c2 + r * r * var_c / c2;
    if (isnan(out->var)) return AB_OK; /* an arm with fewer than 2 users */
    double z = ab_z_crit(alpha);
    if (!isfinite(z)) return AB_ENUMERIC;
    double w = z * sqrt(out->var);
    out->ci.lo = out->lift - w;
    out->ci.hi = out->lift + w;
    return AB_OK;
}

/* Mean and squared standard error s^2/n of valid moments (NaN for the
 * variance when n < 2, both NaN for n = 0). Validation is ab_mean_summarize's,
 * so the two can never disagree on what is a valid sample. */
static ab_status mean_and_se2(const ab_moments *m, double *mean, double *se2)
{
    ab_mean_summary s;
    ab_status st = ab_mean_summarize(m, 0.05, &s);
    if (st != AB_OK) return st;
    *mean = s.mean;
    *se2 = s.sd * s.sd / m->n;
    return AB_OK;
}

ab_status ab_revenue_lift(const ab_moments *v, const ab_moments *c,
                          double alpha, ab_lift_result *out)
{
    double mv, vv, mc, vc;
    if (!v || !c || !out || !ab_valid_level(alpha)) return AB_EINVAL;
    ab_status st = mean_and_se2(v, &mv, &vv);
    if (st != AB_OK) return st;
    st = mean_and_se2(c, &mc, &vc);
    if (st != AB_OK) return st;
    return ab_lift_delta(mv, vv, mc, vc, alpha, out);
}

/* ---- Average order value ------------------------------------------------ */

static int valid_aov(const ab_aov_moments *m)
{
    return m && ab_valid_count(m->n) && ab_valid_count(m->sum_d) &&
           m->sum_d <= m->n && isfinite(m->sum_m) && isfinite(m->sum_m2) &&
           m->sum_m2 >= 0.0 && isfinite(m->sum_md) &&
           (m->n > 0.0 || (m->sum_m == 0.0 && m->sum_m2 == 0.0 &&
                           m->sum_md == 0.0));
}

/* AOV and Var(AOV) of valid moments. With A = ΣM/ΣD the residuals
 * R = M - A D sum to 0, so s²_M - 2 A s_MD + A² s²_D (README "Statistics") equals
 * Σ R²/(n - 1) = (ΣM² - 2 A ΣMD + A² ΣD)/(n - 1) (D² = D): the terms in
 * (Σ)²/n cancel exactly and are left out, as is their rounding. */
static ab_status aov_of(const ab_aov_moments *m, double *value, double *var)
{
    *value = *var = NAN;
    if (m->sum_d == 0.0) return AB_OK; /* no orders: 0/0 or M/0 */
    double a = m->sum_m / m->sum_d;
    *value = a;
    if (m->n < 2.0) return AB_OK;
    double ss = m->sum_m2 - 2.0 * a * m->sum_md + a * a * m->sum_d;
    /* Rounding can leave a hair below 0 what is exactly 0 (every order of
     * the same value); further below, the moments are impossible. */
    double noise = 8.0 * m->n * DBL_EPSILON *
                   (m->sum_m2 + 2.0 * fabs(a * m->sum_md) + a * a * m->sum_d);
    if (!isfinite(ss) || ss < -noise) return AB_EINVAL;
    if (ss <= noise) ss = 0.0;
    double dbar = m->sum_d / m->n;
    *var = ss / (m->n - 1.0) / (m->n * dbar * dbar);
    if (!isfinite(*var)) return AB_ENUMERIC;
    return AB_OK;
}

ab_status ab_aov_summarize(const ab_aov_moments *m, double alpha,
                           ab_aov_summary *out)
{
    if (!out || !valid_aov(m) || !ab_valid_level(alpha)) return AB_EINVAL;
    ab_status st = aov_of(m, &out->value, &out->var);
    if (st != AB_OK) return st;
    double w = ab_z_crit(alpha) * sqrt(out->var); /* NaN stays NaN */
    out->ci.lo = out->value - w;
    out->ci.hi = out->value + w;
    return AB_OK;
}

ab_status ab_aov_compare(const ab_aov_moments *v, const ab_aov_moments *c,
                         double alpha, ab_aov_comparison *out)
{
    double av, vv, ac, vc;
    if (!out || !valid_aov(v) || !valid_aov(c) || !ab_valid_level(alpha))
        return AB_EINVAL;
    ab_status st = aov_of(v, &av, &vv);
    if (st != AB_OK) return st;
    st = aov_of(c, &ac, &vc);
    if (st != AB_OK) return st;
    out->diff = av - ac;
    out->var = vv + vc;
    double se = sqrt(out->var);
    double w = ab_z_crit(alpha) * se;
    out->diff_ci.lo = out->diff - w;
    out->diff_ci.hi = out->diff + w;
    /* No spread in either arm: z is 0/0 or ±Inf, undefined as for NPS. */
    if (!(out->var > 0.0)) {
        out->z = out->p_value = NAN;
        return AB_OK;
    }
    out->z = out->diff / se;
    out->p_value = ab_p_two_sided_z(out->z);
    return AB_OK;
}
