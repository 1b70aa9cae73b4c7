/* history_json.h — GET /v1/experiments/{id}/history as JSON or CSV (README
 * "History"), from the walk of core/history_series.h. */
#ifndef ABSTAT_HISTORY_JSON_H
#define ABSTAT_HISTORY_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "core/history_series.h"

/* {"experiment", "interval", "started_at", "points": [...]}: a new
 * reference, or NULL when out of memory. p: the caller's scratch point
 * (history_series.h), overwritten. */
json_t *ab_history_json(const ab_experiment_config *c, const ab_counts *s,
                        const ab_history_span *sp, ab_history_point *p);
/* The same as CSV (RFC 4180, CRLF lines, a header line, one row per bucket
 * and variant, 15 significant digits, empty for null): a malloc'd text of
 * *len bytes the caller frees, or NULL when out of memory. */
char *ab_history_csv(const ab_experiment_config *c, const ab_counts *s,
                     const ab_history_span *sp, ab_history_point *p, size_t *len);

#endif
