/* segments.c — heterogeneity of an effect across the levels of a segment
 * key: Cochran's Q test (README "Statistics").
 *
 * Cochran (1954), "The combination of estimates from different
 * experiments": with per-level effects d_l of variances V_l and weights
 * w_l = 1/V_l, the fixed-effect pooled estimate is dbar = sum w d / sum w
 * and Q = sum w (d - dbar)^2 is chi-square with (L - 1) df when every level
 * has the same true effect (the QE of metafor's rma(method = "FE")).
 * A level with V = 0 (a rate of 0 or 1 in both arms) would get an infinite
 * weight and one with V or d undefined (NaN: an arm without users) has no
 * estimate: both are left out, and L counts the levels that remain. Fewer
 * than two leave nothing to compare: NaN statistic, df and p. */
#include "internal.h"

#include <gsl/gsl_cdf.h>

/* The weights of 10^9-user levels are ~10^9 and their products with the
 * effects vary widely in size: compensated sums (ab_ksum). */

static int level_used(double d, double v)
{
    return !isnan(d) && !isnan(v) && v > 0.0;
}

ab_status ab_segments_heterogeneity(const double *d, const double *v,
                                    size_t L, ab_heterogeneity_result *out)
{
    if (!out || (L > 0 && (!d || !v))) return AB_EINVAL;
    for (size_t l = 0; l < L; l++) {
        if (isinf(d[l]) || isinf(v[l]) || v[l] < 0.0) return AB_EINVAL;
    }
    ab_ksum sw = {0, 0}, swd = {0, 0};
    size_t used = 0;
    for (size_t l = 0; l < L; l++) {
        if (!level_used(d[l], v[l])) continue;
        double w = 1.0 / v[l];
        if (!isfinite(w)) return AB_EINVAL; /* a subnormal variance */
        ab_ksum_add(&sw, w);
        ab_ksum_add(&swd, w * d[l]);
        used++;
    }
    out->levels = used;
    out->statistic = out->df = out->p_value = NAN;
    out->pooled = NAN;
    if (used == 0) return AB_OK;
    double W = ab_ksum_value(&sw);
    if (!isfinite(W)) return AB_EINVAL;
    double dbar = ab_ksum_value(&swd) / W;
    out->pooled = dbar;
    if (used < 2) return AB_OK;

    /* Two passes: the squared deviations from dbar, never the textbook
     * sum w d^2 - (sum w d)^2 / sum w that cancels when the d agree. */
    ab_ksum q = {0, 0};
    for (size_t l = 0; l < L; l++) {
        if (!level_used(d[l], v[l])) continue;
        double e = d[l] - dbar;
        ab_ksum_add(&q, e * e / v[l]);
    }
    double Q = ab_ksum_value(&q);
    if (!isfinite(Q)) return AB_ENUMERIC;
    out->statistic = Q;
    out->df = (double)(used - 1);
    out->p_value = gsl_cdf_chisq_Q(Q, out->df);
    return AB_OK;
}
