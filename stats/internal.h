/* internal.h — helpers shared by the stats/ modules; not part of the API. */
#ifndef ABSTAT_STATS_INTERNAL_H
#define ABSTAT_STATS_INTERNAL_H

#include <math.h>
#include <stddef.h>

#include "abstat/stats.h"

/* Largest count represented exactly by a double. */
#define AB_MAX_COUNT 9007199254740992.0 /* 2^53 */

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

/* An interval of NaNs, for undefined results. */
ab_interval ab_interval_nan(void);

#endif
