/* event_parse.h — ingest bodies (README "Events"): a JSON object, an array of objects, or NDJSON, to validated events, all or nothing. */
#ifndef ABSTAT_EVENT_PARSE_H
#define ABSTAT_EVENT_PARSE_H

#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"
#include "core/event.h"

/* Parses body (len bytes) into events allocated from arena. window gives
 * the arrival time (the ts of events without one) and the range of ts
 * accepted. Every event is validated by the schema (core/event_schema.h).
 * Returns 0 when all events are valid: batch->events[0..n) are then usable
 * until the arena is reset (user/id copied into it).
 * Returns -1 when the body is not JSON/NDJSON at all or any event is
 * invalid: then err says why (400; batch->n is 0) and batch->errors lists up
 * to max_errors per-index errors (nerr_total counts them all). The index of
 * an event is its position in the array, its line among the non-blank lines
 * of NDJSON, or 0 for a single object. An empty body or array is "no
 * events". More than max_events events: err->status 413, nothing parsed
 * further. Out of memory: 500. Thread-safe when lookup is; lookup is asked
 * again only when the experiment id differs from the previous event's. */
int ab_event_parse_body(const char *body, size_t len, const ab_ts_window *window,
                        ab_experiment_lookup lookup, void *lookup_ctx, size_t max_events,
                        size_t max_errors, ab_arena *arena, ab_event_batch *batch,
                        ab_error *err);

/* Whether ab_event_parse_body may use its fast scanner for plain events
 * (default 1). Tests set 0 to check that jansson alone gives the same
 * results; never changed while parsing. */
extern int ab_event_fast_scan;

#endif
