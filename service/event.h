/* event.h — one parsed, validated event and the parsing of ingest bodies
 * (SPEC section 4): a JSON object, an array of objects, or NDJSON. */
#ifndef ABSTAT_EVENT_H
#define ABSTAT_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "error.h"
#include "experiment.h"
#include "phase.h"

typedef enum { AB_EVENT_EXPOSURE = 0, AB_EVENT_CONVERSION = 1, AB_EVENT_NPS = 2 } ab_event_type;

typedef struct {
    void *exp;                 /* the experiment it belongs to (lookup's handle) */
    ab_event_type type;
    ab_phase phase;
    int variant;               /* index into the experiment's variants; -1 if none */
    double value;              /* conversion revenue; NaN when absent */
    int score;                 /* NPS 0..10; -1 otherwise */
    int64_t ts_ms;             /* event time, epoch milliseconds */
    const char *user;          /* arena-owned copy, user_len bytes, NUL-terminated */
    size_t user_len;
    const char *id;            /* arena-owned idempotency key, or NULL */
    size_t id_len;
} ab_event;

/* Resolves an experiment id for the parser. Returns the caller's handle
 * (stored in ab_event.exp) and its configuration, or NULL when unknown.
 * *running is set to 0 when the experiment is stopped. */
typedef void *(*ab_experiment_lookup)(void *ctx, const char *id, size_t len,
                                      const ab_experiment_config **cfg, int *running);

/* One rejected event of a batch. */
typedef struct {
    size_t index;
    char text[160];
} ab_event_error;

typedef struct {
    ab_event *events;          /* arena-owned, n entries */
    size_t n;
    ab_event_error *errors;    /* arena-owned, nerr entries (at most max_errors kept) */
    size_t nerr;               /* errors kept */
    size_t nerr_total;         /* errors found */
} ab_event_batch;

/* Latest accepted event time: 9999-12-31T23:59:59.999Z. */
#define AB_TS_MAX_MS 253402300799999LL

/* Parses body (len bytes) into events allocated from arena. now_ms is the
 * arrival time used when an event has no ts. Every event is validated
 * (fields, types, lengths, experiment known and running, variant known,
 * phase, score, finite value; unknown keys are rejected; JSON null counts as
 * an absent key). Returns 0 when all events are valid: batch->events[0..n)
 * are then usable until the arena is reset (user/id copied into it).
 * Returns -1 when the body is not JSON/NDJSON at all or any event is
 * invalid: then err says why (400; batch->n is 0) and batch->errors lists up
 * to max_errors per-index errors (nerr_total counts them all). The index of
 * an event is its position in the array, its line among the non-blank lines
 * of NDJSON, or 0 for a single object. An empty body or array is "no
 * events". More than max_events events: err->status 413, nothing parsed
 * further. Out of memory: 500. Thread-safe when lookup is; lookup is asked
 * again only when the experiment id differs from the previous event's. */
int ab_event_parse_body(const char *body, size_t len, int64_t now_ms,
                        ab_experiment_lookup lookup, void *lookup_ctx, size_t max_events,
                        size_t max_errors, ab_arena *arena, ab_event_batch *batch,
                        ab_error *err);

/* Whether ab_event_parse_body may use its fast scanner for plain events
 * (default 1). Tests set 0 to check that jansson alone gives the same
 * results; never changed while parsing. */
extern int ab_event_fast_scan;

/* RFC 3339 ("2026-11-22T10:00:00Z", "...+01:00", fractional seconds) to
 * epoch milliseconds; 't', 'z' and a space for 'T' are accepted, the
 * fraction is truncated to milliseconds, a leap second :60 reads as :59.999.
 * Dates are checked (no February 30th, hours < 24). Years 0000-9999, so the
 * result may be negative. Returns 0 or -1. */
int ab_time_parse_rfc3339(const char *s, size_t len, int64_t *ms);

/* Epoch milliseconds to "2026-11-22T10:00:00.000Z" (buf >= 32 bytes). */
void ab_time_format_rfc3339(int64_t ms, char *buf, size_t len);

#endif
