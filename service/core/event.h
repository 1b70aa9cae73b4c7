/* event.h — one parsed, validated event and the parsing of ingest bodies
 * (SPEC section 4): a JSON object, an array of objects, or NDJSON. */
#ifndef ABSTAT_EVENT_H
#define ABSTAT_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "core/experiment.h"
#include "core/phase.h"

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

/* One rejected event of a batch; room for the longest text, the phase
 * error that lists every phase (phase.h). */
typedef struct {
    size_t index;
    char text[192];
} ab_event_error;

typedef struct {
    ab_event *events;          /* arena-owned, n entries */
    size_t n;
    ab_event_error *errors;    /* arena-owned, nerr entries (at most max_errors kept) */
    size_t nerr;               /* errors kept */
    size_t nerr_total;         /* errors found */
} ab_event_batch;

/* The latest time RFC 3339 can write: 9999-12-31T23:59:59.999Z. */
#define AB_TS_MAX_MS 253402300799999LL

/* ---- the ts window (SPEC section 4): every limit on an event's time ------
 * A ts a sender may give lies between a floor and a few minutes after the
 * request's arrival. The floor is 2000-01-01 for senders that may backfill
 * history (an admin token, or a daemon without tokens), and 72 hours before
 * arrival for the rest (a token with only the ingest scope: late beacons and
 * offline queues, not history). Stored events are replayed without it. */

/* Earliest ts from anyone: 2000-01-01T00:00:00Z. Earlier times are clock
 * or unit errors (1970 is an unset clock), never data. */
#define AB_TS_MIN_MS 946684800000LL
/* How far after arrival a ts may lie: clients' clocks run a little ahead;
 * more is a wrong clock, and such an event would stretch the experiment's
 * days into the future. */
#define AB_TS_AHEAD_MS (5 * 60 * 1000LL)
/* How old a ts a sender that may not backfill may send. */
#define AB_TS_LATE_MS (72 * 3600 * 1000LL)
/* Integer ts below 10^11 (milliseconds of March 1973; as seconds, year
 * 5138) are named in the error as probably epoch seconds. */
#define AB_TS_SECONDS_BELOW 100000000000LL

typedef struct {
    int64_t now_ms;      /* arrival: the ts of events without one; a ts may
                            be up to AB_TS_AHEAD_MS later */
    int64_t earliest_ms; /* earliest ts accepted: AB_TS_MIN_MS, or later for
                            a sender that may not backfill (errors say an
                            admin token is needed) */
} ab_ts_window;

/* The window of a request arriving at now_ms. may_backfill: whether its
 * sender may send history of any age; otherwise a ts at most AB_TS_LATE_MS
 * before now_ms. */
ab_ts_window ab_ts_window_at(int64_t now_ms, int may_backfill);

/* Parses body (len bytes) into events allocated from arena. window gives
 * the arrival time (the ts of events without one) and the range of ts
 * accepted. Every event is validated (fields, types, lengths, experiment
 * known and running, variant known, phase, score, finite value, ts in the
 * window; unknown keys are rejected; JSON null counts as an absent key).
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

/* The longest user id (SPEC section 4): events and assignment alike. */
#define AB_USER_MAX 256
/* The one length rule for a user id of len bytes, 1 to AB_USER_MAX: 0, or
 * -1 with why in msg (cap bytes). (Users read from JSON are valid UTF-8
 * without NUL already; other callers check that themselves.) */
int ab_event_user_check(size_t len, char *msg, size_t cap);

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
