/* planning.c — planned users per variant for NPS (README "Statistics",
 * Planning). Revenue needs nothing new: ab_sample_size_mean is
 * n = ceil(2 (z_a' + z_b)² sd² / (mde · baseline)²) already. */
#include "internal.h"

ab_status ab_nps_plan_sd(double promoters, double detractors, double *sd)
{
    if (!sd || !isfinite(promoters) || !isfinite(detractors) ||
        promoters < 0.0 || detractors < 0.0 || promoters + detractors > 1.0)
        return AB_EINVAL;
    /* The per-answer SE of section 6 with r = 1, in points. */
    double s = promoters - detractors;
    double var = promoters + detractors - s * s;
    *sd = 100.0 * sqrt(var > 0.0 ? var : 0.0);
    return AB_OK;
}

ab_status ab_sample_size_nps(double promoters, double detractors,
                             double mde_points, double alpha, double power,
                             size_t k, ab_correction correction,
                             double *per_variant)
{
    double sd;
    if (!per_variant) return AB_EINVAL;
    ab_status st = ab_nps_plan_sd(promoters, detractors, &sd);
    if (st != AB_OK) return st;
    /* An effect of mde_points is baseline · mde with baseline = mde_points
     * and mde = 1; sd = 0 (every answer alike) is refused there, as the
     * test itself would be undefined. */
    return ab_sample_size_mean(mde_points, sd, 1.0, alpha, power, k,
                               correction, per_variant);
}
