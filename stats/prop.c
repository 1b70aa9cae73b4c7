/* prop.c — one rate's Wilson interval and the comparison of two rates (README "Statistics"). */
#include "internal.h"

ab_status ab_prop_wilson_ci(double x, double n, double alpha, ab_interval *ci)
{
    if (!ci || !ab_valid_prop(x, n) || !ab_valid_level(alpha)) return AB_EINVAL;
    if (n == 0.0) {
        /* prop.test refuses n = 0: there is no rate to bound. */
        *ci = ab_interval_nan();
        return AB_OK;
    }
    /* The score interval exactly as prop.test(x, n, correct = FALSE) writes
     * it, including its exact 0 and 1 at x = 0 and x = n. */
    double z = ab_z_crit(alpha);
    double p = x / n;
    double z22n = z * z / (2.0 * n);
    double half = z * sqrt(p * (1.0 - p) / n + z22n / (2.0 * n));
    double lo = p <= 0.0 ? 0.0 : (p + z22n - half) / (1.0 + 2.0 * z22n);
    double hi = p >= 1.0 ? 1.0 : (p + z22n + half) / (1.0 + 2.0 * z22n);
    ci->lo = lo < 0.0 ? 0.0 : lo;
    ci->hi = hi > 1.0 ? 1.0 : hi;
    return AB_OK;
}

/* Every figure of a comparison undefined: an arm has no users. */
static void prop_comparison_nan(ab_prop_comparison *out)
{
    out->diff = out->lift = out->z = out->p_value = out->var = NAN;
    out->diff_ci = out->lift_ci = ab_interval_nan();
}

ab_status ab_prop_compare(double x_v, double n_v, double x_c, double n_c,
                          double alpha, ab_prop_comparison *out)
{
    if (!out || !ab_valid_prop(x_v, n_v) || !ab_valid_prop(x_c, n_c) ||
        !ab_valid_level(alpha))
        return AB_EINVAL;
    if (n_v == 0.0 || n_c == 0.0) {
        prop_comparison_nan(out);
        return AB_OK;
    }

    double z_a = ab_z_crit(alpha);
    double pv = x_v / n_v, pc = x_c / n_c;
    /* Complements from the counts: 1 - x/n would keep only ~7 digits of a
     * rate of 1 - 1e-9. */
    double qv = (n_v - x_v) / n_v, qc = (n_c - x_c) / n_c;
    double var = pv * qv / n_v + pc * qc / n_c;
    double diff = pv - pc;
    double width = z_a * sqrt(var);

    out->diff = diff;
    out->var = var;
    /* prop.test clamps its interval of a difference of two rates to the
     * possible range [-1, 1]; with small n the Wald bounds leave it. */
    out->diff_ci.lo = fmax(diff - width, -1.0);
    out->diff_ci.hi = fmin(diff + width, 1.0);

    /* The delta method for p_v / p_c, shared with revenue's lift (no
     * control conversions: a relative change from 0 means nothing). */
    ab_lift_result lr;
    ab_status lst = ab_lift_delta(pv, pv * qv / n_v, pc, pc * qc / n_c, alpha, &lr);
    if (lst != AB_OK) return lst;
    out->lift = lr.lift;
    out->lift_ci = lr.ci;

    /* Pooled z: its square is prop.test's X-squared, so 2 Q(|z|) is its
     * p-value. Both rates 0 or both 1 give 0/0 = NaN, as R's NaN. */
    double pool = (x_v + x_c) / (n_v + n_c);
    double qpool = ((n_v - x_v) + (n_c - x_c)) / (n_v + n_c);
    double se0 = sqrt(pool * qpool * (1.0 / n_v + 1.0 / n_c));
    out->z = se0 > 0.0 ? diff / se0 : NAN;
    out->p_value = ab_p_two_sided_z(out->z);
    return AB_OK;
}
