/* live.h (tests) — live experiments built from a config text, for the tests
 * that drive ab_evaluate on hand-set counts. */
#ifndef ABSTAT_TEST_LIVE_H
#define ABSTAT_TEST_LIVE_H

#include "core/event.h"
#include "core/registry.h"

/* A new live experiment "t" with the configuration `json`, empty counts
 * (caller frees with ab_live_free), or NULL after a counted failure. */
ab_live *tl_experiment(const char *json);

/* Sets the experiment clock: exposures span [0, days]. */
void tl_set_days(ab_live *e, double days);

/* An event as the parser would hand it over, every optional field absent
 * (no variant, value, covariate or score), at phase decision and a fixed
 * time; user points at the caller's text. */
ab_event tl_event(ab_event_type type, const char *user);

#endif
