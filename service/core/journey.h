/* journey.h — the journey block of an experiment's results (README
 * "Statistics", journey steps): per step between consecutive phases each
 * arm's users who reached the phase and went on, each variant's step effect
 * bounded against control, and the NPS response rates with the bounds of
 * the NPS difference among users who would answer under either arm. */
#ifndef ABSTAT_JOURNEY_H
#define ABSTAT_JOURNEY_H

#include "abstat/stats.h"
#include "core/state.h"

/* One step s -> s + 1 over the arms. */
typedef struct {
    ab_journey_arm arm[AB_MAX_ARMS];   /* users, reached s, reached s and s + 1 */
    ab_journey_bounds vs[AB_MAX_ARMS]; /* vs[i]: arm i against control; vs[0] unused */
} ab_journey_step_result;

typedef struct {
    ab_journey_step_result steps[AB_JOURNEY_STEPS];
    ab_nps_response_arm nps[AB_MAX_ARMS];     /* users asked and their answers */
    ab_nps_response_result nps_vs[AB_MAX_ARMS]; /* nps_vs[i]: arm i against control */
} ab_journey_result;

/* The journey block of the k arms of s (arm 0 the control) at level
 * 1 - alpha, from the state's journey cells and NPS answers. AB_OK or the
 * first failing status (out is then partly written). */
ab_status ab_journey_run(const ab_counts *s, size_t k, double alpha, ab_journey_result *out);

/* The bounds (steps[].vs, nps_vs) of out's k arms whose steps[].arm and
 * nps are filled in: what ab_journey_run does after reading the state, and
 * /v1/analyze with counts it was given. */
ab_status ab_journey_bound(ab_journey_result *out, size_t k, double alpha);

#endif
