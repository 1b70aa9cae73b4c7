/* state.h — one experiment's live counts: the per-variant sufficient
 * statistics and the per-user records behind README "Events"'s rules. */
#ifndef ABSTAT_STATE_H
#define ABSTAT_STATE_H

#include <stdint.h>

#include "core/analysis.h"
#include "core/event.h"
#include "core/history.h"
#include "base/usertable.h"

/* ab_counts: what the events of one experiment add up to, by the counting
 * rules — nothing of its configuration (ab_experiment_config) or its
 * monitoring (ab_live holds all three). Not thread-safe: the caller
 * serialises applies per experiment; readers that copy the counts need the
 * same lock. */
typedef struct {
    size_t k;
    /* k counts each; revenue.n is kept equal to users. Until the first
     * event that needs them they point at shared zeros (read-only): an idle
     * experiment holds no per-arm memory (README "Storage and durability, Security": an idle experiment is
     * cheap). Never write through them outside state.c. */
    ab_arm_counts *arms;
    /* Neumaier compensation of arms[].revenue.sum and .sumsq: a refund of a
     * huge value must give back exactly what it took (read the sums with
     * ab_state_arm). k each, in the same block as arms. */
    double *rev_comp, *rev2_comp;
    /* The same for arms[].cov_xy_revenue, which refunds move down as
     * purchases move it up. */
    double *xy_comp;
    /* Users per combination of phases reached (README "Statistics",
     * journey steps): journey[i * AB_JOURNEY_CELLS + mask] counts arm i's
     * users whose conversions reached exactly the phases of mask (bit p =
     * phase p; mask 0: none yet), so each arm's cells sum to its users.
     * k x AB_JOURNEY_CELLS, in the same block as arms; read them with
     * ab_state_journey. */
    double *journey;
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
    /* The same counts per UTC hour of the events' ts (history.h), for
     * GET /history; rebuilt by replay like everything here. */
    ab_history history;
    /* Room promised by ab_state_reserve and not yet released: the tables
     * always hold count + held more of each without allocating. */
    size_t held_users, held_ids, held_revenue;
} ab_counts;

typedef enum {
    AB_APPLY_COUNTED = 0,   /* changed a count */
    AB_APPLY_NOOP,          /* valid, changes nothing (repeat exposure, second answer, ...) */
    AB_APPLY_DUPLICATE,     /* id seen before: counted as duplicate, not applied */
    AB_APPLY_CONFLICT,      /* exposure to another variant */
    AB_APPLY_UNATTRIBUTED,  /* conversion or answer of a never-exposed user */
    AB_APPLY_NOMEM = -1     /* out of memory: nothing changed */
} ab_apply_result;

/* An empty state for k variants (k <= AB_MAX_ARMS). Allocates nothing
 * (the counts read as zeros until the first applied event). */
void ab_state_init(ab_counts *s, size_t k);
/* Applies one event under the counting rules of README "Events"; events must
 * come in the order they were stored. Every result but AB_APPLY_NOMEM
 * counts the event in events; only non-duplicates record their id, and only
 * applied exposures move first/last_exposure_ms. On AB_APPLY_NOMEM no
 * count, user or id changed (the tables may have grown), so the same event
 * can be applied again later.
 * Events the parser would have rejected (variant or score out of range,
 * unknown type or phase) are counted as events and otherwise ignored. */
ab_apply_result ab_state_apply(ab_counts *s, const ab_event *ev);
/* The same with the user's hash, ab_hash(ev->user, ev->user_len), already
 * computed (replay computes it early to prefetch the user's slot). */
ab_apply_result ab_state_apply_keyed(ab_counts *s, const ab_event *ev, uint64_t ukey);
/* Reservations: room for up to `users` new users, `ids` new idempotency
 * ids and `revenue` per-user slots (a user's first revenue value, or a new
 * user's covariate: README "Events"), on top of every earlier
 * reservation not yet released. Once it returned 0, applying events that
 * need no more than that cannot return AB_APPLY_NOMEM. The history's day
 * blocks are not reserved: an event of a new UTC day allocates one while
 * counting (24 x k cells), and a failure there marks the history lost
 * rather than refusing the event. Callers that must not
 * fail after a commit (ingest) reserve before storing and release after
 * counting. A capacity check when the tables have room.
 * ab_state_reserve_cost: the bytes the reservation would allocate now (new
 * arrays; the old ones are freed once moved), 0 when it fits, SIZE_MAX when
 * it cannot be held at all. Allocates nothing.
 * ab_state_reserve: 0, or -1 when out of memory (then nothing is held and
 * the counts are unchanged; the tables may have grown). Any reservation,
 * even of nothing, gives the state its own writable counts. */
size_t ab_state_reserve_cost(const ab_counts *s, size_t users, size_t ids, size_t revenue);
int ab_state_reserve(ab_counts *s, size_t users, size_t ids, size_t revenue);
/* Room for covariates: the per-user covariate array exists afterwards (it
 * is made on the first covariate; slots come from ab_state_reserve's
 * revenue). Call it before ab_state_reserve for events carrying a
 * covariate. ab_state_covariates_cost: the bytes that would allocate with
 * `revenue` more slots reserved (an upper bound, on top of
 * ab_state_reserve_cost), 0 when it exists, SIZE_MAX when it cannot. ab_state_reserve_covariates: 0,
 * or -1 when out of memory (counts unchanged). */
size_t ab_state_covariates_cost(const ab_counts *s, size_t revenue);
int ab_state_reserve_covariates(ab_counts *s);
/* Whether any user's deciding exposure carried a covariate. */
int ab_state_has_covariates(const ab_counts *s);
/* Gives back a reservation (after its events were applied, or when they
 * never will be). Amounts beyond what is held are clamped. */
void ab_state_release(ab_counts *s, size_t users, size_t ids, size_t revenue);
/* Arm i's counts with the compensated revenue sums. */
void ab_state_arm(const ab_counts *s, size_t i, ab_arm_counts *out);
/* Arm i's AB_JOURNEY_CELLS journey cells (see journey above): borrowed,
 * valid until the next apply or reserve. */
const double *ab_state_journey(const ab_counts *s, size_t i);
/* Heap bytes held for users, ids, the per-arm counts and the history. */
size_t ab_state_bytes(const ab_counts *s);
/* Frees the tables and the counts (they read as zeros afterwards;
 * ab_state_init to reuse). */
void ab_state_free(ab_counts *s);

#endif
