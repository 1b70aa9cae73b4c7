/* results.h — GET /v1/experiments/{id}/results and /decision as JSON
 * (README "Results and decision"), from one evaluation. */
#ifndef ABSTAT_RESULTS_H
#define ABSTAT_RESULTS_H

#include <jansson.h>

#include "core/evaluate.h"
#include "core/registry.h"

/* New references, or NULL when out of memory. */
json_t *ab_results_json(const ab_live *e, const ab_evaluation *ev);
json_t *ab_decision_json(const ab_live *e, const ab_evaluation *ev);

#endif
