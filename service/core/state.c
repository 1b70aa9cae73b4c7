/* state.c — README "Events"'s counting rules applied to one experiment's
 * events in arrival order (see state.h). */
#include "core/state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The user slot's flags hold the phase bits in canonical order, which is
 * the bit order of the journey cells. */
_Static_assert(AB_PHASE_COUNT == AB_JOURNEY_PHASES, "a journey cell bit per phase");
#define PHASE_BITS (AB_JOURNEY_CELLS - 1u)

/* What every state without its own counts reads: never written. */
static ab_arm_counts zero_arms[AB_MAX_ARMS];
static double zero_comp[AB_MAX_ARMS]; /* every compensation array */
static double zero_journey[AB_MAX_ARMS * AB_JOURNEY_CELLS];

static void point_at_zeros(ab_counts *s)
{
    s->arms = zero_arms;
    s->rev_comp = s->rev2_comp = s->xy_comp = zero_comp;
    s->journey = zero_journey;
}

static int has_arms(const ab_counts *s)
{
    return s->arms != zero_arms;
}

static size_t arms_bytes(size_t k)
{
    return k * (sizeof(ab_arm_counts) + (3 + AB_JOURNEY_CELLS) * sizeof(double));
}

/* The per-arm block, before the first count moves. 0, or -1. */
static int alloc_arms(ab_counts *s)
{
    size_t k = s->k ? s->k : 1;
    char *b;
    if (has_arms(s)) return 0;
    if (!(b = calloc(1, arms_bytes(k)))) return -1;
    s->arms = (ab_arm_counts *)(void *)b;
    s->rev_comp = (double *)(void *)(b + k * sizeof(ab_arm_counts));
    s->rev2_comp = s->rev_comp + k;
    s->xy_comp = s->rev2_comp + k;
    s->journey = s->xy_comp + k;
    return 0;
}

void ab_state_init(ab_counts *s, size_t k)
{
    memset(s, 0, sizeof *s);
    s->k = k;
    point_at_zeros(s);
    s->first_exposure_ms = INT64_MAX;
    s->last_exposure_ms = INT64_MIN;
    ab_usertable_init(&s->users);
    ab_keyset_init(&s->ids);
    ab_history_init(&s->history);
}

/* The history's cell of the event's hour and variant v, or NULL. Its
 * failure (out of memory) never refuses the event: the counts are what
 * decides and stay whole; the history says it is incomplete (lost). */
static ab_history_cell *hist(ab_counts *s, const ab_event *ev, size_t v)
{
    return ab_history_cell_at(&s->history, s->k, ev->ts_ms, v);
}

/* Exposure: the first one places the user; later ones to the same variant
 * change nothing, to another are conflicts (the user stays where it was,
 * so its later conversions keep counting for its first variant). */
static ab_apply_result apply_exposure(ab_counts *s, ab_user *u, uint64_t ukey,
                                      const ab_event *ev)
{
    if (ev->variant < 0 || (size_t)ev->variant >= s->k) return AB_APPLY_NOOP;
    if (u) {
        if (u->variant == (uint8_t)ev->variant) return AB_APPLY_NOOP;
        s->conflicts++;
        return AB_APPLY_CONFLICT;
    }
    /* The fallible steps, taken before any count moves: room for the
     * covariate first (it never moves user slots), then the user. */
    int cov = isfinite(ev->covariate);
    if (cov && ab_usertable_reserve_covariates(&s->users, 1)) return AB_APPLY_NOMEM;
    if (!(u = ab_usertable_insert(&s->users, ukey, (uint8_t)ev->variant))) return AB_APPLY_NOMEM;
    ab_arm_counts *a = &s->arms[ev->variant];
    if (cov) {
        (void)ab_usertable_set_covariate(&s->users, u, ev->covariate); /* reserved */
        a->cov_users++;
        a->cov_x += ev->covariate;
        a->cov_x2 += ev->covariate * ev->covariate;
    }
    a->users++;
    a->revenue.n++; /* revenue is per user over all users, buyers or not */
    s->journey[(size_t)ev->variant * AB_JOURNEY_CELLS]++; /* no phase reached yet */
    ab_history_cell *c = hist(s, ev, (size_t)ev->variant);
    if (c) c->users++;
    return AB_APPLY_COUNTED;
}

/* Conversion: once per user and phase; values add up per user, so the
 * user's total, not each value, is one observation of the revenue mean. */
/* Neumaier's compensated summation: *c collects what rounding drops. */
static void add_compensated(double *sum, double *c, double x)
{
    double t = *sum + x;
    if (fabs(*sum) >= fabs(x)) *c += (*sum - t) + x;
    else *c += (x - t) + *sum;
    *sum = t;
}

void ab_state_arm(const ab_counts *s, size_t i, ab_arm_counts *out)
{
    *out = s->arms[i];
    out->revenue.n = s->arms[i].users;
    out->revenue.sum += s->rev_comp[i];
    out->revenue.sumsq += s->rev2_comp[i];
    out->cov_xy_revenue += s->xy_comp[i];
    if (out->revenue.sumsq < 0) out->revenue.sumsq = 0; /* rounding below zero */
}

const double *ab_state_journey(const ab_counts *s, size_t i)
{
    return s->journey + i * AB_JOURNEY_CELLS;
}

static ab_apply_result apply_conversion(ab_counts *s, ab_user *u, const ab_event *ev)
{
    if ((unsigned)ev->phase >= AB_PHASE_COUNT) return AB_APPLY_NOOP;
    if (!u) {
        s->unattributed++;
        return AB_APPLY_UNATTRIBUTED;
    }
    ab_arm_counts *a = &s->arms[u->variant];
    ab_history_cell *c;
    int changed = 0;
    /* A value of 0 leaves the total as it is: no revenue slot spent on it. */
    if (isfinite(ev->value) && ev->value != 0.0) {
        double old, v = ev->value;
        /* Fallible (the user's first value takes a revenue slot): first. */
        if (ab_usertable_add_revenue(&s->users, u, v, &old) < 0) return AB_APPLY_NOMEM;
        add_compensated(&a->revenue.sum, &s->rev_comp[u->variant], v);
        /* The user's square moves from old^2 to (old + v)^2. Written as
         * v (2 old + v) rather than the difference of the squares so that
         * large totals do not cancel catastrophically. */
        add_compensated(&a->revenue.sumsq, &s->rev2_comp[u->variant], v * (2.0 * old + v));
        /* Every phase the user reached holds its revenue (AOV's ΣMD). */
        for (unsigned ph = 0; ph < AB_PHASE_COUNT; ph++)
            if (u->flags & (1u << ph)) a->revenue_at[ph] += v;
        /* X·Y moves by X·v: the user's total changed by v. */
        if (a->cov_users > 0)
            add_compensated(&a->cov_xy_revenue, &s->xy_comp[u->variant],
                            ab_usertable_covariate(&s->users, u) * v);
        /* The history takes it by the conversion's own ts (README "History"). */
        if ((c = hist(s, ev, u->variant))) {
            c->revenue_sum += v;
            c->revenue_sumsq += v * (2.0 * old + v);
        }
        changed = 1;
    }
    unsigned bit = 1u << ev->phase;
    if (!(u->flags & bit)) {
        /* The user moves to the cell of the phases reached with this one
         * (README "Statistics", journey steps): the cells always sum to
         * the arm's users. */
        double *cells = s->journey + (size_t)u->variant * AB_JOURNEY_CELLS;
        unsigned old = u->flags & PHASE_BITS;
        cells[old]--;
        cells[old | bit]++;
        u->flags |= (uint8_t)bit;
        a->conversions[ev->phase]++;
        a->cov_xy[ev->phase] += ab_usertable_covariate(&s->users, u); /* Y = 1 */
        /* Its revenue so far, this event's value included, joins the phase. */
        a->revenue_at[ev->phase] += ab_usertable_revenue(&s->users, u);
        if ((c = hist(s, ev, u->variant))) c->conversions[ev->phase]++;
        changed = 1;
    }
    return changed ? AB_APPLY_COUNTED : AB_APPLY_NOOP;
}

/* NPS: the first answer of an exposed user counts, later ones do not. */
static ab_apply_result apply_nps(ab_counts *s, ab_user *u, const ab_event *ev)
{
    if (ev->score < 0 || ev->score > 10) return AB_APPLY_NOOP;
    if (!u) {
        s->unattributed++;
        return AB_APPLY_UNATTRIBUTED;
    }
    if (u->flags & AB_USER_NPS) return AB_APPLY_NOOP;
    u->flags |= AB_USER_NPS;
    ab_arm_counts *a = &s->arms[u->variant];
    ab_history_cell *c = hist(s, ev, u->variant);
    ab_history_cell none = {0};
    if (!c) c = &none;
    if (ev->score >= 9) a->promoters++, c->promoters++;
    else if (ev->score >= 7) a->passives++, c->passives++;
    else a->detractors++, c->detractors++;
    return AB_APPLY_COUNTED;
}

/* The clock runs from exposures only (README "Events"): what an unexposed
 * user sends says nothing about when the experiment ran, and a conversion's
 * ts (often the checkout's, or a replayed queue's) must not stretch it. A
 * repeat or conflicting exposure still shows the experiment running then. */
static void exposure_clock(ab_counts *s, const ab_event *ev)
{
    /* Duplicates and failures returned before; an exposure to a variant
     * out of range was ignored (AB_APPLY_NOOP) and shows nothing. */
    if (ev->variant < 0 || (size_t)ev->variant >= s->k) return;
    if (ev->ts_ms < s->first_exposure_ms) s->first_exposure_ms = ev->ts_ms;
    if (ev->ts_ms > s->last_exposure_ms) s->last_exposure_ms = ev->ts_ms;
}

ab_apply_result ab_state_apply(ab_counts *s, const ab_event *ev)
{
    return ab_state_apply_keyed(s, ev, ab_hash(ev->user, ev->user_len));
}

ab_apply_result ab_state_apply_keyed(ab_counts *s, const ab_event *ev, uint64_t ukey)
{
    /* Order matters for AB_APPLY_NOMEM leaving nothing changed: the id is
     * only looked up first, room for it is made next (a failure there
     * changes no count), then the rule runs with its own fallible step
     * before its counts, and only then is the id recorded, which cannot
     * fail any more. So no id is ever recorded for an event that was not
     * applied, and no undo is needed. */
    uint64_t idkey = 0;
    /* The counts' own block: the first fallible step, nothing moved yet. */
    if (!has_arms(s) && alloc_arms(s)) return AB_APPLY_NOMEM;
    if (ev->id) {
        idkey = ab_hash(ev->id, ev->id_len);
        if (ab_keyset_contains(&s->ids, idkey)) {
            s->events++;
            s->duplicates++;
            return AB_APPLY_DUPLICATE;
        }
        if (ab_keyset_reserve(&s->ids, 1) < 0) return AB_APPLY_NOMEM;
    }

    ab_user *u = ab_usertable_find(&s->users, ukey);
    ab_apply_result r;
    switch (ev->type) {
    case AB_EVENT_EXPOSURE: r = apply_exposure(s, u, ukey, ev); break;
    case AB_EVENT_CONVERSION: r = apply_conversion(s, u, ev); break;
    case AB_EVENT_NPS: r = apply_nps(s, u, ev); break;
    default: r = AB_APPLY_NOOP; break;
    }
    if (r == AB_APPLY_NOMEM) return r;

    if (ev->id) (void)ab_keyset_add(&s->ids, idkey); /* reserved: cannot fail */
    s->events++;
    if (ev->type == AB_EVENT_EXPOSURE) exposure_clock(s, ev);
    return r;
}

/* a + b, or SIZE_MAX when either is or the sum overflows. */
static size_t add_cost(size_t a, size_t b)
{
    return a == SIZE_MAX || b == SIZE_MAX || b > SIZE_MAX - a ? SIZE_MAX : a + b;
}

size_t ab_state_reserve_cost(const ab_counts *s, size_t users, size_t ids, size_t revenue)
{
    size_t c = has_arms(s) ? 0 : arms_bytes(s->k ? s->k : 1);
    if (users > SIZE_MAX - s->held_users || ids > SIZE_MAX - s->held_ids ||
        revenue > SIZE_MAX - s->held_revenue)
        return SIZE_MAX;
    if (users) c = add_cost(c, ab_usertable_reserve_cost(&s->users, s->held_users + users));
    if (ids) c = add_cost(c, ab_keyset_reserve_cost(&s->ids, s->held_ids + ids));
    if (revenue)
        c = add_cost(c, ab_usertable_revenue_cost(&s->users, s->held_revenue + revenue));
    return c;
}

int ab_state_reserve(ab_counts *s, size_t users, size_t ids, size_t revenue)
{
    if (users > SIZE_MAX - s->held_users || ids > SIZE_MAX - s->held_ids ||
        revenue > SIZE_MAX - s->held_revenue)
        return -1;
    /* Each step only grows a table (never shrinks a promise), so a failure
     * part-way leaves every earlier reservation intact. */
    if (alloc_arms(s) ||
        (users && ab_usertable_reserve(&s->users, s->held_users + users)) ||
        (ids && ab_keyset_reserve(&s->ids, s->held_ids + ids)) ||
        (revenue && ab_usertable_reserve_revenue(&s->users, s->held_revenue + revenue)))
        return -1;
    s->held_users += users;
    s->held_ids += ids;
    s->held_revenue += revenue;
    return 0;
}

size_t ab_state_covariates_cost(const ab_counts *s, size_t revenue)
{
    if (s->users.covariate) return 0;
    if (revenue > SIZE_MAX - s->held_revenue) return SIZE_MAX;
    return ab_usertable_covariates_cost(&s->users, s->held_revenue + revenue);
}

int ab_state_reserve_covariates(ab_counts *s)
{
    return ab_usertable_reserve_covariates(&s->users, 0);
}

int ab_state_has_covariates(const ab_counts *s)
{
    for (size_t i = 0; i < s->k; i++)
        if (s->arms[i].cov_users > 0) return 1;
    return 0;
}

void ab_state_release(ab_counts *s, size_t users, size_t ids, size_t revenue)
{
    s->held_users -= users < s->held_users ? users : s->held_users;
    s->held_ids -= ids < s->held_ids ? ids : s->held_ids;
    s->held_revenue -= revenue < s->held_revenue ? revenue : s->held_revenue;
}

size_t ab_state_bytes(const ab_counts *s)
{
    return ab_usertable_bytes(&s->users) + ab_keyset_bytes(&s->ids) +
           (has_arms(s) ? arms_bytes(s->k ? s->k : 1) : 0) +
           ab_history_bytes(&s->history, s->k);
}

void ab_state_free(ab_counts *s)
{
    ab_usertable_free(&s->users);
    ab_keyset_free(&s->ids);
    ab_history_free(&s->history);
    if (s->arms && has_arms(s)) free(s->arms);
    point_at_zeros(s);
    s->held_users = s->held_ids = s->held_revenue = 0;
}
