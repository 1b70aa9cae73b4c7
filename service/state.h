/* state.h — one experiment's live counts: the per-variant sufficient
 * statistics and the per-user records behind SPEC section 4's rules. */
#ifndef ABSTAT_STATE_H
#define ABSTAT_STATE_H

#include <stdint.h>

#include "analysis.h"
#include "event.h"
#include "usertable.h"

/* Not thread-safe: the caller serialises applies per experiment; readers
 * that copy the counts need the same lock. */
typedef struct {
    size_t k;
    ab_arm_counts arms[AB_MAX_ARMS]; /* revenue.n is kept equal to users */
    /* Neumaier compensation of arms[].revenue.sum and .sumsq: a refund of a
     * huge value must give back exactly what it took (read the sums with
     * ab_state_arm). */
    double rev_comp[AB_MAX_ARMS], rev2_comp[AB_MAX_ARMS];
    double conflicts;      /* exposures to another variant, ignored */
    double unattributed;   /* conversions/answers of never-exposed users */
    double duplicates;     /* events whose id was seen before */
    double events;         /* events stored for this experiment (all kinds) */
    /* The experiment's clock (started_at, days_running): the span of the
     * ts of its applied exposures (a new user's, a repeat or a conflict;
     * not duplicates, not out-of-range variants). Nothing else moves it,
     * so conversions of unexposed users at any time cannot start or
     * stretch it. INT64_MAX / INT64_MIN until the first exposure. */
    int64_t first_exposure_ms;
    int64_t last_exposure_ms;
    ab_usertable users;
    ab_keyset ids;
} ab_exp_state;

typedef enum {
    AB_APPLY_COUNTED = 0,   /* changed a count */
    AB_APPLY_NOOP,          /* valid, changes nothing (repeat exposure, second answer, ...) */
    AB_APPLY_DUPLICATE,     /* id seen before: counted as duplicate, not applied */
    AB_APPLY_CONFLICT,      /* exposure to another variant */
    AB_APPLY_UNATTRIBUTED,  /* conversion or answer of a never-exposed user */
    AB_APPLY_NOMEM = -1     /* out of memory: nothing changed */
} ab_apply_result;

/* An empty state for k variants (k <= AB_MAX_ARMS). Allocates nothing. */
void ab_state_init(ab_exp_state *s, size_t k);
/* Applies one event under the counting rules of SPEC section 4; events must
 * come in the order they were stored. Every result but AB_APPLY_NOMEM
 * counts the event in events; only non-duplicates record their id, and only
 * applied exposures move first/last_exposure_ms. On AB_APPLY_NOMEM no
 * count, user or id changed (the tables may have grown), so the same event
 * can be applied again later.
 * Events the parser would have rejected (variant or score out of range,
 * unknown type or phase) are counted as events and otherwise ignored. */
ab_apply_result ab_state_apply(ab_exp_state *s, const ab_event *ev);
/* The same with the user's hash, ab_hash(ev->user, ev->user_len), already
 * computed (replay computes it early to prefetch the user's slot). */
ab_apply_result ab_state_apply_keyed(ab_exp_state *s, const ab_event *ev, uint64_t ukey);
/* Arm i's counts with the compensated revenue sums. */
void ab_state_arm(const ab_exp_state *s, size_t i, ab_arm_counts *out);
/* Heap bytes held for users and ids. */
size_t ab_state_bytes(const ab_exp_state *s);
/* Frees the tables (the counts stay readable; ab_state_init to reuse). */
void ab_state_free(ab_exp_state *s);

#endif
