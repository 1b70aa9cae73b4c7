/* cuped_json.h — the "cuped" blocks of vs_control (README "Results and decision"). */
#ifndef ABSTAT_CUPED_JSON_H
#define ABSTAT_CUPED_JSON_H

#include <jansson.h>

#include "core/analysis.h"

/* Whether arm r's primary comparison is its CUPED one. */
int ab_cuped_json_decides(const ab_analysis_opts *opts, const ab_arm_result *r);

/* Sets "cuped" in vs's primary-phase object and in its "revenue" object
 * (those that exist) when opts->cuped; now: the instantaneous sequential
 * figures of the comparison that decides (NULL: none to show). 0, or -1
 * when out of memory. */
int ab_cuped_json_set(json_t *vs, const ab_analysis_opts *opts, const ab_arm_result *r,
                      const ab_seq_result *now);

#endif
