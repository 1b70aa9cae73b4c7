/* defaults.h — the defaults of README "Experiments" and the ranges of the test settings, one home for experiments, /v1/analyze and /v1/sample-size. */
#ifndef ABSTAT_DEFAULTS_H
#define ABSTAT_DEFAULTS_H

#include "base/error.h"
#include "core/analysis.h"
#include "core/phase.h"

#define AB_DEFAULT_PHASE AB_PHASE_DECISION
#define AB_DEFAULT_METRIC AB_METRIC_CONVERSION
#define AB_DEFAULT_ALPHA 0.05
#define AB_DEFAULT_POWER 0.8
#define AB_DEFAULT_MDE 0.10
#define AB_DEFAULT_METHOD AB_METHOD_SEQUENTIAL
#define AB_DEFAULT_TUNING 5000.0
#define AB_DEFAULT_CORRECTION AB_CORRECT_HOLM
#define AB_DEFAULT_MIN_DAYS 7.0
#define AB_DEFAULT_MIN_USERS 100.0

/* An experiment's alpha: beyond this a "significant" result means
 * nothing. The calculators (/v1/analyze, /v1/sample-size) take any alpha
 * below 1: they answer what-if questions, not decide a test. */
#define AB_ALPHA_MAX_EXPERIMENT 0.5
#define AB_ALPHA_MAX_CALC 1.0
/* Largest mde, revenue baseline and sequential_tuning: far beyond any real
 * setting, and small enough that every rendering parses back (unbounded,
 * 1.7976931348623157e308 was stored, GET showed 1.79769313486232e+308,
 * which overflows: the config could not be PUT back). */
#define AB_LARGE_MAX 1e15
/* Largest |mean| and sd of a prior on a relative effect (1000 = +100,000 %). */
#define AB_PRIOR_MAX 1000.0

/* The one alpha rule: 0 < alpha, and alpha <= max (AB_ALPHA_MAX_EXPERIMENT)
 * or alpha < max (AB_ALPHA_MAX_CALC, where alpha 1 would reject
 * everything). 0, or -1 with err (400) naming where ("alpha" when NULL). */
int ab_alpha_check(double alpha, double max, const char *where, ab_error *err);

#endif
