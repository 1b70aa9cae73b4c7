/* abstat/stats.h — the abstat statistics library: pure functions over GSL.
 *
 * Conventions (GSL style):
 *  - Every function returns an ab_status; results go to caller-owned structs.
 *  - Counts are doubles holding non-negative integers (exact up to 2^53), so
 *    that 10^9 users and more are represented exactly and arithmetic needs no
 *    casts. A count that is negative, fractional, NaN or infinite is AB_EINVAL.
 *  - A figure that R leaves undefined (NA/NaN or an error: no users, both
 *    rates 0, zero variance, ...) is returned as NaN and the call still
 *    returns AB_OK; the service maps NaN to JSON null. AB_EINVAL is only for
 *    input that is wrong (x > n, alpha outside (0,1), ...).
 *  - Nothing here allocates on the heap, prints, or aborts. Call
 *    ab_stats_init() once at start-up: it turns GSL's abort-on-error handler
 *    off, so every GSL status is checked by the library instead.
 *  - All tests are two-sided. z = Phi^-1(1 - alpha/2).
 */
#ifndef ABSTAT_STATS_H
#define ABSTAT_STATS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most arms (variants) an experiment may have; bounds every stack buffer. */
#define AB_MAX_ARMS 64
/* Most factors of a factorial design (64 cells allow at most 6 of 2 levels). */
#define AB_MAX_FACTORS 6
/* 2^53, the largest count a double holds exactly: every whole number up to
 * it is exact, and as a JSON integer every client reads it back the same.
 * Counts, sums of counts and whole-number settings stay at or below it. */
#define AB_MAX_COUNT 9007199254740992.0

typedef enum {
    AB_OK = 0,
    AB_EINVAL = 1,   /* invalid argument */
    AB_ENUMERIC = 2, /* a numerical routine failed (no convergence, GSL error) */
    AB_ERANGE = 3    /* a size limit was exceeded (too many arms, cells, ...) */
} ab_status;

/* Static English description of a status; never NULL. */
const char *ab_strerror(ab_status status);

/* Turns GSL's default error handler (abort) off. Idempotent. */
void ab_stats_init(void);

typedef struct {
    double lo, hi;
} ab_interval;

typedef enum {
    AB_CORRECT_NONE = 0,
    AB_CORRECT_HOLM,
    AB_CORRECT_BONFERRONI,
    AB_CORRECT_BH
} ab_correction;

typedef enum { AB_METHOD_SEQUENTIAL = 0, AB_METHOD_FIXED } ab_method;

/* ---- Proportions (stats/prop.c) ----------------------------------------- */

/* Wilson score interval for x of n at level 1 - alpha, as R's
 * prop.test(x, n, correct = FALSE)$conf.int. n == 0 gives NaN bounds. */
ab_status ab_prop_wilson_ci(double x, double n, double alpha, ab_interval *ci);

typedef struct {
    double diff;          /* p_v - p_c */
    ab_interval diff_ci;  /* unpooled Wald interval of diff */
    double lift;          /* p_v / p_c - 1 */
    ab_interval lift_ci;  /* delta-method interval of lift */
    double z;             /* pooled two-proportion z statistic */
    double p_value;       /* two-sided p of z (= prop.test, correct = FALSE) */
    double var;           /* p_v(1-p_v)/n_v + p_c(1-p_c)/n_c, the V of diff */
} ab_prop_comparison;

/* Variant x_v of n_v against control x_c of n_c. */
ab_status ab_prop_compare(double x_v, double n_v, double x_c, double n_c,
                          double alpha, ab_prop_comparison *out);

/* ---- Fisher's exact test (stats/fisher.c) ------------------------------- */

/* Two-sided p of the 2x2 table [[a, b], [c, d]], as R's fisher.test. */
ab_status ab_fisher_exact_2x2(double a, double b, double c, double d,
                              double *p_value);

/* ---- Pearson chi-square (stats/chisq.c) --------------------------------- */

typedef struct {
    double statistic;
    double df;
    double p_value;
} ab_chisq_result;

/* Homogeneity of k rates x[i] of n[i] (the k x 2 table), as R's
 * chisq.test(cbind(x, n - x), correct = FALSE). */
ab_status ab_chisq_homogeneity(const double *x, const double *n, size_t k,
                               ab_chisq_result *out);

/* Goodness of fit of counts obs[i] to the proportions weights[i] (normalised
 * here), as R's chisq.test(obs, p = weights, rescale.p = TRUE). */
ab_status ab_chisq_gof(const double *obs, const double *weights, size_t k,
                       ab_chisq_result *out);

/* Sample-ratio check: gof of users per arm against the intended weights.
 * *alert is set when p < 0.001. */
ab_status ab_srm_check(const double *users, const double *weights, size_t k,
                       ab_chisq_result *out, int *alert);

/* Anytime-valid sample-ratio test (Lindon & Malek, "Anytime-valid inference
 * for multinomial count data", NeurIPS 2022): the Bayes factor of a
 * Dirichlet(c p) mixture of multinomials against the intended split p,
 *   BF = G(c)/G(c + N) prod_i G(c p_i + n_i)/G(c p_i) / prod_i p_i^n_i,
 * N = sum n_i, p = weights normalised. Under a healthy split BF is a
 * non-negative martingale of mean 1 in the users as they arrive, so by
 * Ville's inequality P(BF ever >= 1/a) <= a, for any c and however often it
 * is looked at: the running minimum of p_value is an anytime-valid p.
 * The default concentration, and why, is in stats/chisq.c. */
#define AB_SRM_PRIOR_CONCENTRATION 1000.0

typedef struct {
    double log_bf;  /* ln BF; 0 with no users, +inf when an arm of weight 0
                       has users (the split is broken for certain) */
    double p_value; /* min(1, exp(-log_bf)), the instantaneous anytime-valid
                       p; the caller keeps the running minimum */
} ab_srm_seq_result;

/* users and weights as for ab_srm_check (counts up to 2^53 each, weights
 * >= 0 and not all 0, 2 <= k <= AB_MAX_ARMS); concentration c > 0, finite,
 * with c p_i >= DBL_MIN for every arm of weight > 0 (else AB_EINVAL)
 * (AB_SRM_PRIOR_CONCENTRATION unless there is a reason). An arm of weight 0
 * without users takes no part; with users it gives log_bf = +inf, p = 0.
 * No users at all: log_bf = 0, p = 1. */
ab_status ab_srm_sequential(const double *users, const double *weights,
                            size_t k, double concentration,
                            ab_srm_seq_result *out);

/* ---- Multiple comparisons (stats/adjust.c) ------------------------------ */

/* R's p.adjust(p, method) over the k p-values; NaN entries are left out of
 * the family and stay NaN. k <= AB_MAX_ARMS. out may alias p. */
ab_status ab_p_adjust(const double *p, size_t k, ab_correction method,
                      double *out);

/* ---- Sequential test (stats/sequential.c) ------------------------------- */

typedef struct {
    double p_value;  /* instantaneous p = min(1, 1/Lambda) */
    ab_interval ci;  /* confidence sequence at this evaluation */
} ab_seq_result;

/* Normal-mixture SPRT of README "Statistics" for estimate theta with variance var
 * on N observations in all. var == 0 or N == 0 gives NaN fields. */
ab_status ab_seq_msprt(double theta, double var, double N, double alpha,
                       double tuning, ab_seq_result *out);

/* ---- Bayesian comparison (stats/bayes.c) -------------------------------- */

typedef struct {
    double prob_beat_control; /* P(p_v > p_c) */
    double expected_loss;     /* E[max(p_c - p_v, 0)] */
} ab_bayes_result;

/* Beta(1 + x, 1 + n - x) posteriors for variant and control. */
ab_status ab_bayes_beta_compare(double x_v, double n_v, double x_c, double n_c,
                                ab_bayes_result *out);

/* ---- Means: revenue per user (stats/means.c) ---------------------------- */

/* Sufficient statistics of a sample: size, sum and sum of squares. */
typedef struct {
    double n, sum, sumsq;
} ab_moments;

typedef struct {
    double mean;
    double sd;       /* n - 1 denominator; NaN for n < 2 */
    ab_interval ci;  /* Student t interval of the mean */
} ab_mean_summary;

ab_status ab_mean_summarize(const ab_moments *m, double alpha,
                            ab_mean_summary *out);

typedef struct {
    double diff;          /* mean_v - mean_c */
    ab_interval diff_ci;
    double t, df, p_value; /* Welch, as R's t.test(v, c, var.equal = FALSE) */
    double var;            /* s_v^2/n_v + s_c^2/n_c, the V of diff */
} ab_welch_result;

ab_status ab_welch_test(const ab_moments *v, const ab_moments *c, double alpha,
                        ab_welch_result *out);

/* ---- Net Promoter Score (stats/nps.c) ----------------------------------- */

typedef struct {
    double responses, promoters, passives, detractors;
    double score;    /* 100 (P - D) / r */
    double se;       /* standard error of score */
    ab_interval ci;
} ab_nps_summary;

ab_status ab_nps_summarize(double promoters, double passives,
                           double detractors, double alpha,
                           ab_nps_summary *out);

typedef struct {
    double diff;
    ab_interval diff_ci;
    double z, p_value;
    double var; /* se_v^2 + se_c^2, the V of diff */
} ab_nps_comparison;

ab_status ab_nps_compare(const ab_nps_summary *v, const ab_nps_summary *c,
                         double alpha, ab_nps_comparison *out);

/* ---- Sample size (stats/sample_size.c) ---------------------------------- */

/* Users per variant to detect p2 = p1 (1 + mde) against p1 at significance
 * alpha' = alpha / (k - 1) (alpha when correction is NONE or k == 2) with
 * the given power; README "Statistics", rounded up. */
ab_status ab_sample_size_prop(double p1, double mde, double alpha,
                              double power, size_t k, ab_correction correction,
                              double *per_variant);

/* The same for a difference in means: relative mde of the mean `baseline`
 * with standard deviation sd (normal approximation). */
ab_status ab_sample_size_mean(double baseline, double sd, double mde,
                              double alpha, double power, size_t k,
                              ab_correction correction, double *per_variant);

/* Users per variant at which the sequential test of README "Statistics" (the
 * normal-mixture confidence sequence), monitored continuously as the daemon
 * does (the running intersection of the intervals), has at least the given
 * power against an effect delta. With n users per arm as time t and
 * v = var_c + var_v, the summed differences standardise to
 * S(t)/sqrt(v) = mu t + W(t), mu = |delta|/sqrt(v), W a standard Brownian
 * motion, and the test rejects on the effect's side once S(t)/sqrt(v) >= b(t),
 *   b(t) = sqrt( t (x + 1)/x (2 ln(1/alpha') + ln(x + 1)) ),  x = 2 t rho^2,
 * i.e. once diff >= w(2t) = b(t) sqrt(v)/t, the interval's half-width
 *   w(N) = sqrt( V (N rho^2 + 1)/(N rho^2) (2 ln(1/alpha') + ln(N rho^2 + 1)) ),
 * V = v/t; rho^2 from alpha and tuning as the test has it, alpha' the
 * per-comparison level of ab_sample_size_prop. b is concave, so its tangent
 * at T, a + beta t with
 *   beta = b'(T) = (G + 1) / (2 b(T)),  G = 2 ln(1/alpha') + ln(2 T rho^2 + 1),
 *   a = b(T) - beta T > 0,
 * lies above b before T, and the probability that W(t) + (mu - beta) t
 * reaches a by T is a lower bound of the power by T (conservative):
 *   P(T) = Phi((m T - a)/sqrt(T)) + exp(2 a m) Phi((-m T - a)/sqrt(T)),
 *   m = mu - beta.
 * The answer is the smallest whole T with P(T) >= power (the first
 * crossing); the lower boundary is ignored. P is not monotone at small T:
 * for alpha' <= 0.95 it dips only while below 1/2 (checked numerically),
 * for alpha' >= 0.99 it can reach ~0.53 and fall back by ~0.025. The first
 * crossing is a valid plan even so: the true power by T is non-decreasing
 * and at least P(T), so it stays reached for every T >= n. The search steps
 * T up from 1 by hi + ceil(hi/16) (~6 %) and bisects on whole numbers in
 * the first step that reaches the power (an excursion above the power
 * narrower than a step would be stepped over: a later, still valid, n).
 * Where 2 T rho^2 overflows the test's interval is infinite and P is taken
 * as 0. var_c and var_v are per-user variances (>= 0, not both 0). power
 * must be in [0.5, 1) (else AB_EINVAL). AB_ERANGE when more than 2^53 users
 * per variant would be needed. */
ab_status ab_sample_size_seq(double delta, double var_c, double var_v,
                             double alpha, double power, size_t k,
                             ab_correction correction, double tuning,
                             double *per_variant);

/* The same for rates, with the parameters of ab_sample_size_prop:
 * p2 = p1 (1 + mde), var = p q in each arm, delta = p2 - p1. */
ab_status ab_sample_size_seq_prop(double p1, double mde, double alpha,
                                  double power, size_t k,
                                  ab_correction correction, double tuning,
                                  double *per_variant);

typedef struct {
    double progress;       /* min over arms of users / per_variant, capped at 1 */
    double days_remaining; /* whole days until every arm has per_variant users */
} ab_progress;

/* users[i] users per arm so far after `days` days of running, weights[i] the
 * intended split. days_remaining is NaN when it cannot be estimated (no days
 * or no users yet), 0 once reached. */
ab_status ab_sample_progress(const double *users, const double *weights,
                             size_t k, double per_variant, double days,
                             ab_progress *out);

/* ---- Factorial designs (stats/factorial.c) ------------------------------ */

/* Cells are the level combinations in row-major order: the first factor
 * varies slowest, as the variant list "a/x", "a/y", "b/x", "b/y". */
typedef struct {
    size_t nfactors;
    size_t levels[AB_MAX_FACTORS];
} ab_design;

/* Number of cells of the design, or 0 when it is invalid (a factor with
 * fewer than 2 levels, more than AB_MAX_ARMS cells, ...). */
size_t ab_design_cells(const ab_design *d);

/* Main effect of factor f: per level conversions and users pooled over the
 * other factors (level_x, level_n: caller arrays of d->levels[f]) and the
 * chi-square test of homogeneity of the levels. */
ab_status ab_factorial_main_effect(const ab_design *d, const double *x,
                                   const double *n, size_t f,
                                   double *level_x, double *level_n,
                                   ab_chisq_result *out);

typedef struct {
    double deviance_main; /* residual deviance of the main-effects model */
    double deviance_full; /* ... of the model with all two-factor interactions */
    double statistic;     /* deviance_main - deviance_full */
    double df;            /* difference in the models' ranks */
    double p_value;
} ab_lrt_result;

/* Likelihood-ratio test of the binomial logistic model with all two-factor
 * interactions against the main-effects model, fitted by IRLS on the cell
 * counts as R's glm(cbind(x, n - x) ~ ..., binomial). Designs with one
 * factor give NaN fields. */
ab_status ab_factorial_interaction(const ab_design *d, const double *x,
                                   const double *n, ab_lrt_result *out);

/* ---- Comparisons of k arms (stats/compare.c) ---------------------------- */

typedef struct {
    double alpha;
    ab_method method;
    double tuning;           /* sequential_tuning */
    ab_correction correction;
    /* Non-zero: ab_compare_rates leaves fisher_p and the Bayesian figures
     * NaN, for a caller that shows neither (GET /history, a comparison per
     * point): they are most of a comparison's cost. 0 computes them. */
    int no_exact_or_bayes;
} ab_compare_config;

/* One non-control arm against the control on a rate. */
typedef struct {
    ab_prop_comparison cmp;
    double fisher_p;          /* NaN when x_v + x_c > 10000 */
    ab_bayes_result bayes;
    ab_seq_result seq;
    double p_adjusted;        /* of sequential p or p_value, by method */
} ab_rate_vs_control;

/* Compares arms 1..k-1 with arm 0 (the control); out has k entries and
 * out[0] is set to NaN. The correction applies over the k - 1 comparisons. */
ab_status ab_compare_rates(const ab_compare_config *cfg, const double *x,
                           const double *n, size_t k, ab_rate_vs_control *out);

typedef struct {
    ab_welch_result welch;
    ab_seq_result seq;
    double p_adjusted;
} ab_mean_vs_control;

ab_status ab_compare_means(const ab_compare_config *cfg, const ab_moments *m,
                           size_t k, ab_mean_vs_control *out);

typedef struct {
    ab_nps_comparison cmp;
    ab_seq_result seq;
    double p_adjusted;
} ab_nps_vs_control;

ab_status ab_compare_nps(const ab_compare_config *cfg, const ab_nps_summary *s,
                         size_t k, ab_nps_vs_control *out);

#ifdef __cplusplus
}
#endif

/* The deeper statistics (README "Statistics"), split by concern. */
#include "abstat/stats_revenue.h"
#include "abstat/stats_journey.h"

#endif /* ABSTAT_STATS_H */
