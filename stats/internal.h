/* internal.h — helpers shared by the stats/ modules; not part of the API. */
#ifndef ABSTAT_STATS_INTERNAL_H
#define ABSTAT_STATS_INTERNAL_H

#include <math.h>
#include <stddef.h>

#include "abstat/stats.h"

/* A count: finite, non-negative, integral, exact as a double. */
int ab_valid_count(double x);
/* A significance level or power: finite and strictly inside (0, 1). */
int ab_valid_level(double a);
/* x of n: both valid counts and x <= n. */
int ab_valid_prop(double x, double n);

/* Phi^-1(1 - alpha/2): the two-sided critical value. */
double ab_z_crit(double alpha);
/* Two-sided normal p-value of z: 2 (1 - Phi(|z|)); NaN for NaN z. */
double ab_p_two_sided_z(double z);

/* The normal-mixture sequential test's rho^2 for level alpha and tuning,
 * and its confidence-sequence half-width at level alpha for a variance var
 * after nr = N rho^2 (stats/sequential.c: one home for README "Statistics"'s
 * formulas, used by the test and by its sample size). */
double ab_seq_rho2(double alpha, double tuning);
double ab_seq_half_width(double var, double nr, double alpha);

/* Neumaier's compensated sum, for totals of terms of very different sizes
 * (10^9 users next to a handful), where plain summation drops the small
 * ones. Start from {0, 0}. */
typedef struct {
    double sum, comp;
} ab_ksum;
void ab_ksum_add(ab_ksum *s, double v);
double ab_ksum_value(const ab_ksum *s);

/* An interval of NaNs, for undefined results. */
ab_interval ab_interval_nan(void);

#endif
