/* jsonout.h — building jansson values from statistics: NaN becomes null. */
#ifndef ABSTAT_JSONOUT_H
#define ABSTAT_JSONOUT_H

#include <jansson.h>

#include "abstat/stats.h"

/* New reference: a real, or null when v is NaN or infinite. */
json_t *ab_jnum(double v);
/* New reference: an integer for a count (exact up to 2^53). */
json_t *ab_jcount(double v);
/* New reference: [lo, hi], or null when either bound is undefined. */
json_t *ab_jinterval(ab_interval ci);

/* Adds key -> value to obj, stealing value (jansson's _new semantics).
 * Returns 0, or -1 when value is NULL or the set failed. */
int ab_jset(json_t *obj, const char *key, json_t *value);

/* json_decref for an untyped pointer: how the domain, which does not know
 * JSON, frees a value json/ gave it (ab_live_changes_free). */
void ab_json_release(void *value);

#endif
