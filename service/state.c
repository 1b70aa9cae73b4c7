/* state.c — SPEC section 4's counting rules applied to one experiment's
 * events in arrival order (see state.h). */
#include "state.h"

#include <math.h>
#include <string.h>

void ab_state_init(ab_exp_state *s, size_t k)
{
    memset(s, 0, sizeof *s);
    s->k = k;
    s->first_exposure_ms = INT64_MAX;
    s->last_exposure_ms = INT64_MIN;
    ab_usertable_init(&s->users);
    ab_keyset_init(&s->ids);
}

/* Exposure: the first one places the user; later ones to the same variant
 * change nothing, to another are conflicts (the user stays where it was,
 * so its later conversions keep counting for its first variant). */
static ab_apply_result apply_exposure(ab_exp_state *s, ab_user *u, uint64_t ukey,
                                      const ab_event *ev)
{
    if (ev->variant < 0 || (size_t)ev->variant >= s->k) return AB_APPLY_NOOP;
    if (u) {
        if (u->variant == (uint8_t)ev->variant) return AB_APPLY_NOOP;
        s->conflicts++;
        return AB_APPLY_CONFLICT;
    }
    /* The only fallible step, taken before any count moves. */
    if (!ab_usertable_insert(&s->users, ukey, (uint8_t)ev->variant)) return AB_APPLY_NOMEM;
    ab_arm_counts *a = &s->arms[ev->variant];
    a->users++;
    a->revenue.n++; /* revenue is per user over all users, buyers or not */
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

void ab_state_arm(const ab_exp_state *s, size_t i, ab_arm_counts *out)
{
    *out = s->arms[i];
    out->revenue.n = s->arms[i].users;
    out->revenue.sum += s->rev_comp[i];
    out->revenue.sumsq += s->rev2_comp[i];
    if (out->revenue.sumsq < 0) out->revenue.sumsq = 0; /* rounding below zero */
}

static ab_apply_result apply_conversion(ab_exp_state *s, ab_user *u, const ab_event *ev)
{
    if ((unsigned)ev->phase >= AB_PHASE_COUNT) return AB_APPLY_NOOP;
    if (!u) {
        s->unattributed++;
        return AB_APPLY_UNATTRIBUTED;
    }
    ab_arm_counts *a = &s->arms[u->variant];
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
        changed = 1;
    }
    unsigned bit = 1u << ev->phase;
    if (!(u->flags & bit)) {
        u->flags |= (uint8_t)bit;
        a->conversions[ev->phase]++;
        changed = 1;
    }
    return changed ? AB_APPLY_COUNTED : AB_APPLY_NOOP;
}

/* NPS: the first answer of an exposed user counts, later ones do not. */
static ab_apply_result apply_nps(ab_exp_state *s, ab_user *u, const ab_event *ev)
{
    if (ev->score < 0 || ev->score > 10) return AB_APPLY_NOOP;
    if (!u) {
        s->unattributed++;
        return AB_APPLY_UNATTRIBUTED;
    }
    if (u->flags & AB_USER_NPS) return AB_APPLY_NOOP;
    u->flags |= AB_USER_NPS;
    ab_arm_counts *a = &s->arms[u->variant];
    if (ev->score >= 9) a->promoters++;
    else if (ev->score >= 7) a->passives++;
    else a->detractors++;
    return AB_APPLY_COUNTED;
}

/* The clock runs from exposures only (SPEC section 4): what an unexposed
 * user sends says nothing about when the experiment ran, and a conversion's
 * ts (often the checkout's, or a replayed queue's) must not stretch it. A
 * repeat or conflicting exposure still shows the experiment running then. */
static void exposure_clock(ab_exp_state *s, const ab_event *ev)
{
    /* Duplicates and failures returned before; an exposure to a variant
     * out of range was ignored (AB_APPLY_NOOP) and shows nothing. */
    if (ev->variant < 0 || (size_t)ev->variant >= s->k) return;
    if (ev->ts_ms < s->first_exposure_ms) s->first_exposure_ms = ev->ts_ms;
    if (ev->ts_ms > s->last_exposure_ms) s->last_exposure_ms = ev->ts_ms;
}

ab_apply_result ab_state_apply(ab_exp_state *s, const ab_event *ev)
{
    return ab_state_apply_keyed(s, ev, ab_hash(ev->user, ev->user_len));
}

ab_apply_result ab_state_apply_keyed(ab_exp_state *s, const ab_event *ev, uint64_t ukey)
{
    /* Order matters for AB_APPLY_NOMEM leaving nothing changed: the id is
     * only looked up first, room for it is made next (a failure there
     * changes no count), then the rule runs with its own fallible step
     * before its counts, and only then is the id recorded, which cannot
     * fail any more. So no id is ever recorded for an event that was not
     * applied, and no undo is needed. */
    uint64_t idkey = 0;
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

size_t ab_state_bytes(const ab_exp_state *s)
{
    return ab_usertable_bytes(&s->users) + ab_keyset_bytes(&s->ids);
}

void ab_state_free(ab_exp_state *s)
{
    ab_usertable_free(&s->users);
    ab_keyset_free(&s->ids);
}
