/* journey_json.h — the "journey" block of README "Results and decision" as JSON. */
#ifndef ABSTAT_JOURNEY_JSON_H
#define ABSTAT_JOURNEY_JSON_H

#include <jansson.h>

#include "core/journey.h"

/* New reference: {"steps": [...], "nps_response": {...}} of the k arms
 * named names (arm 0 the control), or NULL when out of memory. */
json_t *ab_journey_json(const ab_journey_result *j, const char *const *names, size_t k);

#endif
