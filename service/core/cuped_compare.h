/* cuped_compare.h — the CUPED comparisons of one experiment's arms (README "Statistics", CUPED), run by analysis.c after the unadjusted ones. */
#ifndef ABSTAT_CUPED_COMPARE_H
#define ABSTAT_CUPED_COMPARE_H

#include "core/analysis.h"

/* Fills out[i].cuped_rate (at opts->phase) and, when revenue is compared,
 * out[i].cuped_revenue for every non-control arm from the arms' covariate
 * sums; everything NaN when !opts->cuped. With opts->cuped_decides, the
 * comparison of the primary metric becomes the arm's primary (effect,
 * interval, p, sequential figures; the lift stays the unadjusted one)
 * wherever it is defined, and primary.p_adjusted is taken over the arms'
 * deciding p's. out holds the unadjusted figures already. */
ab_status ab_cuped_run(const ab_analysis_opts *opts, const ab_arm_counts *arms, size_t k,
                       ab_arm_result *out);

/* The CUPED comparison that would be arm r's primary (NULL for NPS). */
ab_cuped_vs *ab_cuped_primary(const ab_analysis_opts *opts, ab_arm_result *r);

#endif
