/* abstat/stats_journey.h — journey steps with their bounds, the NPS response
 * bounds, and the heterogeneity of segments: part of the statistics
 * library's public interface, split from stats.h by concern. Include
 * <abstat/stats.h>, which includes this after the types it uses; the
 * conventions there hold. */
#ifndef ABSTAT_STATS_JOURNEY_H
#define ABSTAT_STATS_JOURNEY_H

#ifndef ABSTAT_STATS_H
#error "include <abstat/stats.h>, not abstat/stats_journey.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Journey steps, bounds and segments (README Statistics) -------------- */

/* Canonical journey phases (awareness .. advocacy) and the steps between
 * consecutive ones (awareness -> consideration, ..., retention -> advocacy). */
#define AB_JOURNEY_PHASES 5
#define AB_JOURNEY_STEPS (AB_JOURNEY_PHASES - 1)
#define AB_JOURNEY_CELLS (1u << AB_JOURNEY_PHASES)

/* One arm at one step s -> s': users exposed, users who reached s, and users
 * who reached s and s' (continued <= reached <= users). */
typedef struct {
    double users, reached, continued;
} ab_journey_arm;

/* From the users per combination of phases reached (cells[mask], bit i set
 * when phase i was reached, phases in canonical order; cells[0] = users who
 * reached none), the users and, per step s = 0..3 (s -> s + 1), reached[s]
 * = users with bit s and continued[s] = users with bits s and s + 1. The
 * total must be exact (below 2^53). steps: caller array of AB_JOURNEY_STEPS. */
ab_status ab_journey_cells(const double *cells, double *users,
                           ab_journey_arm *steps);

typedef struct {
    double rate_v, rate_c;  /* step rates continued / reached */
    double reach_v, reach_c;/* reached / users */
    double diff;            /* rate_v - rate_c */
    double trim;            /* q: share of the trimmed arm's reached users
                               that would not reach s under the other arm */
    int trimmed;            /* arm trimmed: 1 variant, 0 control, -1 none
                               (undefined) */
    ab_interval bounds;     /* Lee bounds on the step-rate difference of the
                               users who would reach s under either arm */
    double se_lo, se_hi;    /* delta-method standard errors of the bounds */
    double crit;            /* Imbens-Manski critical value c */
    ab_interval bounds_ci;  /* Imbens-Manski interval at 1 - alpha, within
                               [-1, 1] */
} ab_journey_bounds;

/* Lee bounds and their Imbens-Manski interval for a step (README
 * "Statistics"; stats/journey.c says how). An arm without users, or without
 * users who reached s, leaves the rates, bounds and interval that need it
 * NaN. */
ab_status ab_journey_step_bounds(const ab_journey_arm *v,
                                 const ab_journey_arm *c, double alpha,
                                 ab_journey_bounds *out);

/* One arm's NPS survey: users asked (exposed) and their answers. */
typedef struct {
    double users, promoters, passives, detractors;
} ab_nps_response_arm;

typedef struct {
    double responses_v, responses_c; /* promoters + passives + detractors */
    double rate_v, rate_c;           /* responses / users */
    double z, p_value;  /* pooled z-test of the response rates (as
                           ab_prop_compare) */
    double diff;        /* score_v - score_c over all answers */
    double trim;        /* q from the response rates */
    int trimmed;        /* 1 variant, 0 control, -1 none (undefined) */
    ab_interval bounds; /* NPS difference among always-responders, in
                           points */
} ab_nps_response_result;

/* Response rates compared and the NPS difference bounded by trimming the
 * answers of the arm that answers more often (README "Statistics"). An arm
 * without users, or without answers, leaves what needs it NaN; answers
 * above users is AB_EINVAL. */
ab_status ab_nps_response_bounds(const ab_nps_response_arm *v,
                                 const ab_nps_response_arm *c, double alpha,
                                 ab_nps_response_result *out);

typedef struct {
    double statistic; /* Cochran's Q */
    double df;        /* usable levels - 1 */
    double p_value;   /* upper chi-square tail of Q on df */
    double pooled;    /* inverse-variance weighted mean of the d */
    size_t levels;    /* usable levels: finite d, v > 0 */
} ab_heterogeneity_result;

/* Cochran's Q test of heterogeneity of L per-level effects d[l] with
 * variances v[l]: Q = sum w (d - dbar)^2, w = 1/v, dbar = sum w d / sum w,
 * chi-square with (levels - 1) df. Levels with v = 0 or NaN (or d NaN) are
 * left out; fewer than 2 usable levels give NaN statistic, df and p (pooled
 * NaN with none). A negative or infinite v or an infinite d is AB_EINVAL. */
ab_status ab_segments_heterogeneity(const double *d, const double *v,
                                    size_t L, ab_heterogeneity_result *out);

#ifdef __cplusplus
}
#endif

#endif /* ABSTAT_STATS_JOURNEY_H */
