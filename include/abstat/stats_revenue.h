/* abstat/stats_revenue.h — revenue capping, average order value, the lift
 * of revenue, CUPED, planning for revenue and NPS, and an informative prior:
 * part of the statistics library's public interface, split from stats.h by
 * concern. Include <abstat/stats.h>, which includes this after the types it
 * uses; the conventions there hold. */
#ifndef ABSTAT_STATS_REVENUE_H
#define ABSTAT_STATS_REVENUE_H

#ifndef ABSTAT_STATS_H
#error "include <abstat/stats.h>, not abstat/stats_revenue.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Revenue, ratio metrics, CUPED, planning, prior (README Statistics) --- */

/* R's quantile(x, q, type = 7) of n values that the CALLER HAS SORTED
 * ascending (checked: unsorted or non-finite data is AB_EINVAL, as is q
 * outside [0, 1]). n == 0 gives NaN, as R's NA. (stats/revenue.c) */
ab_status ab_quantile_type7(const double *sorted, size_t n, double q,
                            double *out);

/* The same quantile of n values the caller holds in any form: order_stat(i,
 * ctx) gives the i-th smallest (0-based) and is asked for at most two of
 * them, so a caller with many equal values (the zeros of users who never
 * paid) or unsorted data can count or select rather than sort. The rule
 * (index and blend) is ab_quantile_type7's, which calls this. q outside
 * [0, 1] is AB_EINVAL; n == 0 gives NaN. (stats/revenue.c) */
ab_status ab_quantile_type7_select(size_t n, double q,
                                   double (*order_stat)(size_t i, void *ctx),
                                   void *ctx, double *out);

/* Moments of the capped values pmin(pmax(x, lo), hi) of n per-user values
 * in one pass, without allocating (compensated sums), for ab_mean_summarize
 * and ab_welch_test. lo = -INFINITY / hi = +INFINITY mean no cap; lo > hi,
 * NaN caps or non-finite x are AB_EINVAL. */
ab_status ab_revenue_capped_moments(const double *x, size_t n, double lo,
                                    double hi, ab_moments *out);

/* Capped mean, sd and t interval: R's t.test(pmin(pmax(x, lo), hi)). */
ab_status ab_revenue_capped_summary(const double *x, size_t n, double lo,
                                    double hi, double alpha,
                                    ab_mean_summary *out);

typedef struct {
    double lift;     /* est_v / est_c - 1 */
    ab_interval ci;  /* lift ± z sqrt(var) */
    double var;      /* delta-method variance V_L of lift */
} ab_lift_result;

/* Relative lift of two estimates with squared standard errors var_v, var_c
 * by the delta method of README "Statistics":
 *   V_L = var_v/est_c² + est_v² var_c/est_c⁴.
 * For rates (est = p, var = p(1-p)/n) it is ab_prop_compare's lift_ci. NaN
 * estimates or variances (undefined upstream) propagate; est_c == 0 gives
 * NaN figures; infinite input or a negative variance is AB_EINVAL. */
ab_status ab_lift_delta(double est_v, double var_v, double est_c, double var_c,
                        double alpha, ab_lift_result *out);

/* Revenue lift mean_v/mean_c - 1 with est = mean, var = s²/n from the
 * moments (validated as ab_mean_summarize does; capped moments work too).
 * Fewer than 2 users in an arm leaves var and ci NaN. */
ab_status ab_revenue_lift(const ab_moments *v, const ab_moments *c,
                          double alpha, ab_lift_result *out);

/* Average order value of one arm from per-user D (0/1 converted at the
 * phase) and M (revenue): n users, ΣD, ΣM, ΣM², ΣMD (ΣD² = ΣD). */
typedef struct {
    double n, sum_d, sum_m, sum_m2, sum_md;
} ab_aov_moments;

typedef struct {
    double value;    /* ΣM / ΣD; NaN when ΣD = 0 */
    double var;      /* (s²_M - 2 AOV s_MD + AOV² s²_D) / (n D̄²); NaN n < 2 */
    ab_interval ci;  /* value ± z sqrt(var) */
} ab_aov_summary;

ab_status ab_aov_summarize(const ab_aov_moments *m, double alpha,
                           ab_aov_summary *out);

typedef struct {
    double diff;          /* AOV_v - AOV_c */
    ab_interval diff_ci;  /* diff ± z sqrt(var) */
    double z, p_value;    /* normal; NaN when var is 0 or undefined */
    double var;           /* Var_v + Var_c */
} ab_aov_comparison;

ab_status ab_aov_compare(const ab_aov_moments *v, const ab_aov_moments *c,
                         double alpha, ab_aov_comparison *out);

/* CUPED (stats/cuped.c): per-arm sums of covariate X and metric Y. */
typedef struct {
    double n, sum_x, sum_x2, sum_y, sum_y2, sum_xy;
} ab_cuped_moments;

typedef struct {
    double theta;            /* cov(X, Y)/var(X) over both arms */
    double mean_v, mean_c;   /* adjusted means Yhat */
    double var_v, var_c;     /* Var(Yhat) per arm */
    double diff;             /* mean_v - mean_c */
    ab_interval diff_ci;     /* diff ± z sqrt(var) */
    double z, p_value;       /* normal, as for NPS */
    double var;              /* var_v + var_c, the V of diff */
    double variance_reduction; /* 1 - var / (s²_Yv/n_v + s²_Yc/n_c) */
} ab_cuped_result;

/* CUPED (README "Statistics") for variant v against control c. Undefined figures are NaN
 * with AB_OK: all but what needs no theta when the pooled var(X) is 0 or
 * fewer than 2 users in all; means without users; variances with fewer
 * than 2 users in an arm; z, p with var = 0. */
ab_status ab_cuped_compare(const ab_cuped_moments *v,
                           const ab_cuped_moments *c, double alpha,
                           ab_cuped_result *out);

/* Planning (stats/planning.c). Revenue: ab_sample_size_mean (exactly the
 * formula of README "Calculators without state"). NPS: sd in points of one answer from the planned
 * promoter and detractor shares (section 6's SE with r = 1),
 *   sd = 100 sqrt(P + D - (P - D)²),
 * and users per variant to detect mde_points (NPS points) with it. Shares
 * in [0, 1] with P + D <= 1; sd = 0 is AB_EINVAL for the size. */
ab_status ab_nps_plan_sd(double promoters, double detractors, double *sd);
ab_status ab_sample_size_nps(double promoters, double detractors,
                             double mde_points, double alpha, double power,
                             size_t k, ab_correction correction,
                             double *per_variant);

/* Prior N(prior_mean, prior_sd²) on the relative effect (stats/prior.c). */
typedef struct {
    double mean, var, sd;     /* posterior of L */
    double prob_beat_control; /* P(L > 0) */
    double risk;              /* E[max(-L, 0)] */
} ab_prior_result;

/* Posterior N((L/V + mu0/sd0²)/(1/V + 1/sd0²), 1/(1/V + 1/sd0²)) of the
 * lift L with delta-method variance V (ab_lift_result). prior_sd = +INFINITY
 * is the flat prior. NaN lift or V, or V = 0, gives NaN figures; infinite
 * lift or V, V < 0, a non-finite prior mean or prior_sd <= 0 is AB_EINVAL. */
ab_status ab_prior_posterior(double lift, double var_lift, double prior_mean,
                             double prior_sd, ab_prior_result *out);

#ifdef __cplusplus
}
#endif

#endif /* ABSTAT_STATS_REVENUE_H */
