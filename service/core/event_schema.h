/* event_schema.h — the event schema (README "Events"): the fields an event may have, read by any reader into one raw form, and their validation into an ab_event. */
#ifndef ABSTAT_EVENT_SCHEMA_H
#define ABSTAT_EVENT_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "core/event.h"

/* The fields of an event, in no particular order. */
typedef enum {
    AB_EF_EXPERIMENT, AB_EF_TYPE, AB_EF_USER, AB_EF_VARIANT, AB_EF_PHASE,
    AB_EF_VALUE, AB_EF_SCORE, AB_EF_ID, AB_EF_TS, AB_EF_COVARIATE, AB_EF_COUNT
} ab_event_field;

/* A field's value as a reader found it, before any rule is applied. */
typedef enum {
    AB_RV_ABSENT = 0, AB_RV_NULL, AB_RV_STRING, AB_RV_INT, AB_RV_REAL, AB_RV_BOOL, AB_RV_OTHER
} ab_raw_kind;

typedef struct {
    ab_raw_kind kind;
    const char *s; /* AB_RV_STRING: len bytes of valid UTF-8 without NUL, borrowed */
    size_t len;
    int64_t i;     /* AB_RV_INT */
    double d;      /* AB_RV_REAL */
} ab_raw_val;

/* One event as read: every field borrowed from the reader's input, which
 * must outlive ab_event_validate. */
typedef struct {
    ab_raw_val f[AB_EF_COUNT];
    const char *unknown; /* the first key that is not a field, or NULL */
    size_t unknown_len;
} ab_raw_event;

/* Room for one event's error text (ab_event_error.text). */
#define AB_EVENT_MSG_MAX sizeof(((ab_event_error *)0)->text)

/* Field index of a key of len bytes, or -1. */
int ab_event_field_of(const char *k, size_t len);

/* Every field absent, no unknown key. */
void ab_raw_event_init(ab_raw_event *r);

/* What validating the events of one body shares: the window, the lookup,
 * the arena the strings are copied into, and the last experiment found
 * (bodies almost always name one experiment over and over, so most events
 * skip the callback). Zero it, then set window, lookup, lookup_ctx, arena. */
typedef struct {
    ab_ts_window window;
    ab_experiment_lookup lookup;
    void *lookup_ctx;
    ab_arena *arena;
    char last_id[AB_ID_MAX + 1];
    size_t last_len;
    int have_last;
    void *last_exp;
    const ab_experiment_config *last_cfg;
    int last_running;
} ab_event_checker;

/* Validates r into *ev: fields, types, lengths, experiment known and
 * running, variant known, phase, score, finite value, ts in the window;
 * unknown keys are refused and JSON null counts as absent. user and id are
 * copied into the arena. Returns 0, -1 with msg (AB_EVENT_MSG_MAX bytes)
 * saying which field is wrong and how, or -2 when out of memory. */
int ab_event_validate(ab_event_checker *c, const ab_raw_event *r, ab_event *ev, char *msg);

/* Copies the len bytes of s into buf (cap bytes) for quoting in a
 * message, shortened at a character boundary with "..." so that one long
 * value cannot crowd out the rest. Returns buf. */
const char *ab_event_quote(char *buf, size_t cap, const char *s, size_t len);

#endif
