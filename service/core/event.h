/* event.h — one validated event (README "Events"), the limits on its fields and the ts window. */
#ifndef ABSTAT_EVENT_H
#define ABSTAT_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/timefmt.h" /* ts: RFC 3339 or epoch milliseconds */
#include "core/experiment.h"
#include "core/phase.h"

typedef enum { AB_EVENT_EXPOSURE = 0, AB_EVENT_CONVERSION = 1, AB_EVENT_NPS = 2 } ab_event_type;

typedef struct {
    void *exp;                 /* the experiment it belongs to (lookup's handle) */
    ab_event_type type;
    ab_phase phase;
    int variant;               /* index into the experiment's variants; -1 if none */
    double value;              /* conversion revenue; NaN when absent */
    double covariate;          /* exposure's pre-exposure covariate (CUPED); NaN when absent */
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

/* ---- the limits of one event's fields: their one home -------------------- */

/* The longest user id (README "Events"): events and assignment alike. */
#define AB_USER_MAX 256
/* The longest idempotency key ("id"); replay and the store keep the same. */
#define AB_EVENT_ID_MAX 128
/* Largest revenue of one conversion: above any real order in any currency's
 * smallest unit, small enough that per-user sums (of up to 2^53 events) and
 * their squares (over up to 2^53 users) stay far from overflowing. */
#define AB_EVENT_VALUE_MAX 1e20
/* Largest covariate of an exposure (README "Events", covariate): the same
 * reasoning as for values, since covariates are multiplied by revenue
 * totals and squared in the per-arm sums. */
#define AB_EVENT_COVARIATE_MAX 1e20
/* The highest NPS score. */
#define AB_EVENT_SCORE_MAX 10

/* ---- the ts window (README "Events"): every limit on an event's time ------
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

/* The one length rule for a user id of len bytes, 1 to AB_USER_MAX: 0, or
 * -1 with why in msg (cap bytes). (Users read from JSON are valid UTF-8
 * without NUL already; other callers check that themselves.) */
int ab_event_user_check(size_t len, char *msg, size_t cap);

#endif
