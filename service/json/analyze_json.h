/* analyze_json.h — POST /v1/analyze and `abstat analyze`: counts in, the
 * variants block (with omnibus test and verdict) out (README "Calculators without state"). */
#ifndef ABSTAT_ANALYZE_JSON_H
#define ABSTAT_ANALYZE_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

/* New reference to the answer for the request body (borrowed), or NULL
 * with err set (400 for bad input, 500 when out of memory). */
json_t *ab_analyze_json(const json_t *body, ab_error *err);

/* The same from raw bytes. */
json_t *ab_analyze_buffer(const char *buf, size_t len, ab_error *err);

#endif
