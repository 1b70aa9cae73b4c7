/* event_scan.h — a strict, allocation-free JSON scanner for the flat objects nearly every event is. */
#ifndef ABSTAT_EVENT_SCAN_H
#define ABSTAT_EVENT_SCAN_H

#include "core/event_schema.h"

/* Each scanner returns the position after what it read, or NULL to give
 * up: never an error of its own, jansson then reads the input and judges
 * it. It accepts a subset of what jansson accepts (no escapes, no nesting,
 * no duplicate keys) and reads the same values. Strings are borrowed from
 * the input. */

/* The first byte at or after p that is not JSON whitespace (end when none). */
const char *ab_scan_ws(const char *p, const char *end);

/* A flat object at p ('{') of strings, numbers, booleans and null into *r. */
const char *ab_scan_event(const char *p, const char *end, ab_raw_event *r);

#endif
