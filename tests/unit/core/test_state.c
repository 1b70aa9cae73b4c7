/* test_state.c — SPEC section 4's counting rules on hand-made event streams
 * whose counts are known: every rule, its edge cases and the bookkeeping. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/state.h"
#include "abstat/stats.h"
#include "live.h"
#include "test.h"

/* One arm's block of counts: its ab_arm_counts, two compensation sums of
 * revenue and its journey cells (state.h). */
#define ARM_BYTES (sizeof(ab_arm_counts) + (3 + AB_JOURNEY_CELLS) * sizeof(double))

/* ---- Event builders --------------------------------------------------------
 * Events as the parser would hand them over; user and id point at literals. */

static ab_event expo(const char *user, int variant)
{
    ab_event ev = tl_event(AB_EVENT_EXPOSURE, user);
    ev.variant = variant;
    return ev;
}

static ab_event conv(const char *user, ab_phase phase, double value)
{
    ab_event ev = tl_event(AB_EVENT_CONVERSION, user);
    ev.phase = phase;
    ev.value = value;
    return ev;
}

static ab_event nps(const char *user, int score)
{
    ab_event ev = tl_event(AB_EVENT_NPS, user);
    ev.phase = AB_PHASE_ADVOCACY;
    ev.score = score;
    return ev;
}

static ab_event with_id(ab_event ev, const char *id)
{
    ev.id = id;
    ev.id_len = strlen(id);
    return ev;
}

static ab_event at(ab_event ev, int64_t ts)
{
    ev.ts_ms = ts;
    return ev;
}

static ab_apply_result apply(ab_counts *s, ab_event ev)
{
    return ab_state_apply(s, &ev);
}

/* ---- Cases ------------------------------------------------------------------ */

static void check_init(void)
{
    ab_counts s;
    ab_state_init(&s, 3);
    CHECK_INT(s.k, 3);
    CHECK(s.events == 0 && s.duplicates == 0 && s.conflicts == 0 && s.unattributed == 0);
    CHECK(s.first_exposure_ms == INT64_MAX);
    CHECK(s.last_exposure_ms == INT64_MIN);
    int nonzero = 0;
    for (size_t v = 0; v < AB_MAX_ARMS; v++) {
        const ab_arm_counts *a = &s.arms[v];
        if (a->users || a->revenue.n || a->revenue.sum || a->revenue.sumsq || a->promoters ||
            a->passives || a->detractors)
            nonzero++;
        for (int p = 0; p < AB_PHASE_COUNT; p++)
            if (a->conversions[p]) nonzero++;
    }
    CHECK_INT(nonzero, 0);
    CHECK_INT(ab_state_bytes(&s), 0); /* nothing allocated before the first event */
    ab_state_free(&s);
}

/* A user belongs to the variant of its first exposure; later exposures to
 * it change nothing, to another are conflicts and ignored. */
static void check_first_exposure_wins(void)
{
    ab_counts s;
    ab_state_init(&s, 2);
    CHECK_INT(apply(&s, expo("alice", 0)), AB_APPLY_COUNTED);
    CHECK(s.arms[0].users == 1 && s.arms[0].revenue.n == 1);
    CHECK_INT(apply(&s, expo("alice", 1)), AB_APPLY_CONFLICT);
    CHECK_INT(apply(&s, expo("alice", 1)), AB_APPLY_CONFLICT);
    CHECK_INT(apply(&s, expo("alice", 0)), AB_APPLY_NOOP);
    CHECK(s.conflicts == 2);
    CHECK(s.arms[0].users == 1 && s.arms[1].users == 0);
    CHECK(s.arms[1].revenue.n == 0);

    /* Her conversion still counts for her first variant. */
    CHECK_INT(apply(&s, conv("alice", AB_PHASE_DECISION, NAN)), AB_APPLY_COUNTED);
    CHECK(s.arms[0].conversions[AB_PHASE_DECISION] == 1);
    CHECK(s.arms[1].conversions[AB_PHASE_DECISION] == 0);

    /* Users are told apart by every byte: "alic" and "alice " are others. */
    CHECK_INT(apply(&s, expo("alic", 1)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, expo("alice ", 1)), AB_APPLY_COUNTED);
    CHECK(s.arms[1].users == 2 && s.arms[1].revenue.n == 2);
    CHECK(s.events == 7);
    CHECK_INT(s.users.count, 3);
    ab_state_free(&s);
}

/* Conversions and answers of never-exposed users are unattributed and stay
 * so: a later exposure does not pick them up. */
static void check_unattributed(void)
{
    ab_counts s;
    ab_state_init(&s, 2);
    CHECK_INT(apply(&s, conv("bob", AB_PHASE_DECISION, 20.0)), AB_APPLY_UNATTRIBUTED);
    CHECK_INT(apply(&s, conv("bob", AB_PHASE_DECISION, 20.0)), AB_APPLY_UNATTRIBUTED);
    CHECK_INT(apply(&s, nps("bob", 10)), AB_APPLY_UNATTRIBUTED);
    CHECK(s.unattributed == 3);
    CHECK_INT(s.users.count, 0); /* not tracked: no memory for strangers */

    CHECK_INT(apply(&s, expo("bob", 1)), AB_APPLY_COUNTED);
    const ab_arm_counts *a = &s.arms[1];
    CHECK(a->users == 1);
    CHECK(a->conversions[AB_PHASE_DECISION] == 0);
    CHECK(a->revenue.sum == 0 && a->revenue.sumsq == 0 && a->revenue.n == 1);
    CHECK(a->promoters == 0);

    /* From now on he counts, his earlier answer did not use up his first. */
    CHECK_INT(apply(&s, conv("bob", AB_PHASE_DECISION, 7.0)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, nps("bob", 3)), AB_APPLY_COUNTED);
    CHECK(a->conversions[AB_PHASE_DECISION] == 1);
    CHECK(a->revenue.sum == 7.0 && a->revenue.sumsq == 49.0);
    CHECK(a->detractors == 1 && a->promoters == 0);
    CHECK(s.unattributed == 3);
    CHECK(s.events == 6);
    ab_state_free(&s);
}

/* Conversions count once per user and phase; phases are independent. */
static void check_once_per_phase(void)
{
    ab_counts s;
    ab_state_init(&s, 2);
    apply(&s, expo("carol", 1));
    apply(&s, expo("dave", 1));
    CHECK_INT(apply(&s, conv("carol", AB_PHASE_DECISION, NAN)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, conv("carol", AB_PHASE_DECISION, NAN)), AB_APPLY_NOOP);
    CHECK_INT(apply(&s, conv("carol", AB_PHASE_AWARENESS, NAN)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, conv("carol", AB_PHASE_ADVOCACY, NAN)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, conv("carol", AB_PHASE_ADVOCACY, NAN)), AB_APPLY_NOOP);
    CHECK_INT(apply(&s, conv("dave", AB_PHASE_DECISION, NAN)), AB_APPLY_COUNTED);
    const ab_arm_counts *a = &s.arms[1];
    CHECK(a->conversions[AB_PHASE_AWARENESS] == 1);
    CHECK(a->conversions[AB_PHASE_CONSIDERATION] == 0);
    CHECK(a->conversions[AB_PHASE_DECISION] == 2);
    CHECK(a->conversions[AB_PHASE_RETENTION] == 0);
    CHECK(a->conversions[AB_PHASE_ADVOCACY] == 1);
    CHECK(s.arms[0].conversions[AB_PHASE_DECISION] == 0);

    /* Conversions and the NPS answer live in separate bits. */
    CHECK_INT(apply(&s, nps("carol", 9)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, conv("carol", AB_PHASE_RETENTION, NAN)), AB_APPLY_COUNTED);
    CHECK(a->promoters == 1 && a->conversions[AB_PHASE_RETENTION] == 1);
    /* No value anywhere: nobody took a revenue slot. */
    CHECK(a->revenue.sum == 0 && a->revenue.sumsq == 0);
    CHECK_INT(s.users.revenue_count, 0);
    ab_state_free(&s);
}

/* Values add up per user: the user's total is one observation, so sumsq
 * holds the squares of totals, not of single values. */
static void check_revenue(void)
{
    ab_counts s;
    ab_state_init(&s, 2);
    apply(&s, expo("erin", 0));
    apply(&s, expo("frank", 0));
    apply(&s, expo("gina", 0)); /* never buys: a zero in the mean */
    apply(&s, expo("hank", 1));

    CHECK_INT(apply(&s, conv("erin", AB_PHASE_DECISION, 10.0)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, conv("erin", AB_PHASE_DECISION, 5.0)), AB_APPLY_COUNTED);
    const ab_arm_counts *a = &s.arms[0];
    CHECK(a->conversions[AB_PHASE_DECISION] == 1); /* value, but no second conversion */
    CHECK(a->revenue.sum == 15.0);
    CHECK(a->revenue.sumsq == 225.0); /* 15^2, not 10^2 + 5^2 = 125 */

    CHECK_INT(apply(&s, conv("frank", AB_PHASE_DECISION, 3.0)), AB_APPLY_COUNTED);
    CHECK(a->revenue.sum == 18.0 && a->revenue.sumsq == 234.0);

    /* A value at another phase adds to the same total: 15 + 2.5 = 17.5. */
    CHECK_INT(apply(&s, conv("erin", AB_PHASE_RETENTION, 2.5)), AB_APPLY_COUNTED);
    CHECK(a->conversions[AB_PHASE_RETENTION] == 1);
    CHECK(a->revenue.sum == 20.5);
    CHECK(a->revenue.sumsq == 17.5 * 17.5 + 9.0);

    /* No value, or 0, at a phase already counted changes nothing. */
    CHECK_INT(apply(&s, conv("erin", AB_PHASE_DECISION, NAN)), AB_APPLY_NOOP);
    CHECK_INT(apply(&s, conv("erin", AB_PHASE_DECISION, 0.0)), AB_APPLY_NOOP);
    /* A value-less conversion counts without taking a revenue slot. */
    CHECK_INT(apply(&s, conv("gina", AB_PHASE_DECISION, NAN)), AB_APPLY_COUNTED);
    CHECK(a->conversions[AB_PHASE_DECISION] == 3);
    CHECK(a->revenue.sum == 20.5);

    /* A refund lowers the total: 3 - 1 = 2. */
    CHECK_INT(apply(&s, conv("frank", AB_PHASE_DECISION, -1.0)), AB_APPLY_COUNTED);
    CHECK(a->revenue.sum == 19.5);
    CHECK(a->revenue.sumsq == 17.5 * 17.5 + 4.0);

    /* The other arm's revenue is its own. */
    CHECK_INT(apply(&s, conv("hank", AB_PHASE_DECISION, 59.9)), AB_APPLY_COUNTED);
    CHECK(s.arms[1].revenue.sum == 59.9);
    CHECK_REL(s.arms[1].revenue.sumsq, 59.9 * 59.9, 1e-15);
    CHECK(a->revenue.n == 3 && s.arms[1].revenue.n == 1);

    /* Users with values hold a slot of the revenue array, gina does not. */
    CHECK_INT(s.users.revenue_count, 3);
    ab_user *u = ab_usertable_find(&s.users, ab_hash("erin", 4));
    CHECK(u && ab_usertable_revenue(&s.users, u) == 17.5);
    u = ab_usertable_find(&s.users, ab_hash("gina", 4));
    CHECK(u && u->revenue == 0);

    /* The same moments straight from the per-user totals. */
    ab_moments m = {0, 0, 0};
    const double totals[3] = {17.5, 2.0, 0.0};
    for (int i = 0; i < 3; i++) {
        m.n++;
        m.sum += totals[i];
        m.sumsq += totals[i] * totals[i];
    }
    CHECK(a->revenue.n == m.n && a->revenue.sum == m.sum && a->revenue.sumsq == m.sumsq);
    ab_state_free(&s);
}

/* Many users with several values each: the incremental sums equal the sums
 * over the final per-user totals. */
static void check_revenue_many(void)
{
    enum { N = 2000 };
    static char names[N][16];
    static double totals[N];
    ab_counts s;
    ab_state_init(&s, 3);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "r-%d", i);
        apply(&s, expo(names[i], i % 3));
    }
    uint64_t x = 88172645463325252ULL; /* xorshift64: values reproducible */
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < N; i++) {
            test_rng(&x);
            if (x % 4 == 0) continue; /* some users skip rounds, some never buy */
            if (i % 7 == 0) continue;
            double v = (double)(x % 100000) / 100.0; /* cents */
            totals[i] += v;
            apply(&s, conv(names[i], (ab_phase)(round % AB_PHASE_COUNT), v));
        }
    int bad = 0;
    for (int arm = 0; arm < 3; arm++) {
        double n = 0, sum = 0, sumsq = 0;
        for (int i = arm; i < N; i += 3) {
            n++;
            sum += totals[i];
            sumsq += totals[i] * totals[i];
        }
        const ab_moments *m = &s.arms[arm].revenue;
        if (m->n != n || fabs(m->sum - sum) > 1e-12 * sum || fabs(m->sumsq - sumsq) > 1e-12 * sumsq)
            bad++;
    }
    CHECK_INT(bad, 0);
    for (int i = 0; i < N; i++) {
        ab_user *u = ab_usertable_find(&s.users, ab_hash(names[i], strlen(names[i])));
        if (!u || fabs(ab_usertable_revenue(&s.users, u) - totals[i]) > 1e-9) bad++;
        if (u && (totals[i] != 0.0) != (u->revenue != 0)) bad++; /* a slot iff a value */
    }
    CHECK_INT(bad, 0);
    ab_state_free(&s);
}

/* A user's first NPS answer counts; the categories split at 6|7 and 8|9. */
static void check_nps(void)
{
    ab_counts s;
    ab_state_init(&s, 2);
    static const char *users[11] = {"n0", "n1", "n2", "n3", "n4", "n5",
                                    "n6", "n7", "n8", "n9", "n10"};
    for (int sc = 0; sc <= 10; sc++) {
        apply(&s, expo(users[sc], 0));
        CHECK_INT(apply(&s, nps(users[sc], sc)), AB_APPLY_COUNTED);
    }
    const ab_arm_counts *a = &s.arms[0];
    CHECK(a->detractors == 7); /* 0..6 */
    CHECK(a->passives == 2);   /* 7, 8 */
    CHECK(a->promoters == 2);  /* 9, 10 */

    /* Second answers change nothing, whatever they say. */
    CHECK_INT(apply(&s, nps("n6", 10)), AB_APPLY_NOOP);
    CHECK_INT(apply(&s, nps("n9", 0)), AB_APPLY_NOOP);
    CHECK(a->detractors == 7 && a->passives == 2 && a->promoters == 2);

    /* Exact boundaries one user each, in the other arm. */
    ab_counts t;
    ab_state_init(&t, 2);
    const int scores[4] = {6, 7, 8, 9};
    static const char *b[4] = {"b6", "b7", "b8", "b9"};
    for (int i = 0; i < 4; i++) {
        apply(&t, expo(b[i], 1));
        apply(&t, nps(b[i], scores[i]));
    }
    CHECK(t.arms[1].detractors == 1 && t.arms[1].passives == 2 && t.arms[1].promoters == 1);
    CHECK(t.arms[0].detractors == 0 && t.arms[0].passives == 0 && t.arms[0].promoters == 0);
    ab_state_free(&t);
    ab_state_free(&s);
}

/* An event whose id was stored before is a duplicate: counted as an event
 * and a duplicate, not applied, whatever it says. Ids are per experiment. */
static void check_duplicates(void)
{
    ab_counts s, other;
    ab_state_init(&s, 2);
    ab_state_init(&other, 2);

    ab_event e = at(with_id(expo("ivan", 0), "evt-1"), 1000);
    CHECK_INT(ab_state_apply(&s, &e), AB_APPLY_COUNTED);
    CHECK_INT(ab_state_apply(&s, &e), AB_APPLY_DUPLICATE);
    CHECK(s.duplicates == 1 && s.events == 2);
    CHECK(s.arms[0].users == 1);

    /* Same id, different content: still a duplicate, not a conflict. */
    CHECK_INT(apply(&s, with_id(expo("ivan", 1), "evt-1")), AB_APPLY_DUPLICATE);
    CHECK_INT(apply(&s, with_id(conv("ivan", AB_PHASE_DECISION, 9.0), "evt-1")),
              AB_APPLY_DUPLICATE);
    CHECK(s.conflicts == 0);
    CHECK(s.arms[0].conversions[AB_PHASE_DECISION] == 0 && s.arms[0].revenue.sum == 0);
    CHECK(s.duplicates == 3 && s.events == 4);

    /* The same event in another experiment is that experiment's first. */
    CHECK_INT(ab_state_apply(&other, &e), AB_APPLY_COUNTED);
    CHECK(other.duplicates == 0 && other.arms[0].users == 1);

    /* A conversion with a value sent twice counts its value once. */
    CHECK_INT(apply(&s, with_id(conv("ivan", AB_PHASE_DECISION, 9.0), "evt-2")),
              AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, with_id(conv("ivan", AB_PHASE_DECISION, 9.0), "evt-2")),
              AB_APPLY_DUPLICATE);
    CHECK(s.arms[0].revenue.sum == 9.0 && s.arms[0].revenue.sumsq == 81.0);

    /* Ids of events that were no-ops, conflicts or unattributed are stored too. */
    CHECK_INT(apply(&s, with_id(expo("ivan", 0), "evt-3")), AB_APPLY_NOOP);
    CHECK_INT(apply(&s, with_id(expo("ivan", 0), "evt-3")), AB_APPLY_DUPLICATE);
    CHECK_INT(apply(&s, with_id(expo("ivan", 1), "evt-4")), AB_APPLY_CONFLICT);
    CHECK_INT(apply(&s, with_id(expo("ivan", 1), "evt-4")), AB_APPLY_DUPLICATE);
    CHECK_INT(apply(&s, with_id(nps("judy", 10), "evt-5")), AB_APPLY_UNATTRIBUTED);
    CHECK_INT(apply(&s, with_id(nps("judy", 10), "evt-5")), AB_APPLY_DUPLICATE);
    CHECK(s.conflicts == 1 && s.unattributed == 1);

    /* Without ids nothing is a duplicate. */
    CHECK_INT(apply(&s, expo("kim", 1)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, expo("kim", 1)), AB_APPLY_NOOP);
    /* Ids compare by every byte, and an empty id is an id. */
    CHECK_INT(apply(&s, with_id(expo("kim", 1), "evt-")), AB_APPLY_NOOP);
    CHECK_INT(apply(&s, with_id(expo("kim", 1), "")), AB_APPLY_NOOP);
    CHECK_INT(apply(&s, with_id(expo("kim", 1), "")), AB_APPLY_DUPLICATE);

    CHECK(s.duplicates == 8);
    CHECK(s.events == 17);
    CHECK_INT(s.ids.count, 7); /* evt-1..5, evt-, "" */
    /* The tables and the per-arm counts (k of them, with two compensation
     * sums and the journey cells each). */
    CHECK_INT(ab_state_bytes(&s), ab_usertable_bytes(&s.users) + ab_keyset_bytes(&s.ids) +
                                      s.k * ARM_BYTES +
                                      ab_history_bytes(&s.history, s.k));
    ab_state_free(&other);
    ab_state_free(&s);
}

/* The experiment's clock spans its applied exposures only (SPEC 4: it runs
 * from the first exposure; no event of an unexposed user moves it);
 * arrival order is not time order. */
static void check_clock(void)
{
    ab_counts s;
    ab_state_init(&s, 2);
#define CLOCK_IS(first, last) CHECK(s.first_exposure_ms == (first) && s.last_exposure_ms == (last))
    /* Unattributed conversions and answers, even at absurd times, leave it unset. */
    CHECK_INT(apply(&s, at(conv("ghost", AB_PHASE_DECISION, 5.0), 0)), AB_APPLY_UNATTRIBUTED);
    CHECK_INT(apply(&s, at(conv("ghost", AB_PHASE_DECISION, NAN), 253402300799999LL)),
              AB_APPLY_UNATTRIBUTED);
    CHECK_INT(apply(&s, at(nps("ghost", 9), INT64_MAX)), AB_APPLY_UNATTRIBUTED);
    CHECK_INT(apply(&s, at(nps("ghost", 9), INT64_MIN)), AB_APPLY_UNATTRIBUTED);
    CLOCK_IS(INT64_MAX, INT64_MIN);
    /* Exposures the state ignores (a variant out of range) do not start it. */
    CHECK_INT(apply(&s, at(expo("ghost", 7), 1)), AB_APPLY_NOOP);
    CLOCK_IS(INT64_MAX, INT64_MIN);

    /* The first exposure starts it. */
    CHECK_INT(apply(&s, at(with_id(expo("liz", 0), "t1"), 500)), AB_APPLY_COUNTED);
    CLOCK_IS(500, 500);
    /* An exposed user's conversions and answers do not move it either way. */
    CHECK_INT(apply(&s, at(conv("liz", AB_PHASE_DECISION, NAN), 100)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, at(conv("liz", AB_PHASE_CONSIDERATION, 3.0), 900)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, at(nps("liz", 10), 0)), AB_APPLY_COUNTED);
    CHECK_INT(apply(&s, at(nps("liz", 10), 99999)), AB_APPLY_NOOP);
    CHECK_INT(apply(&s, at(conv("nobody", AB_PHASE_DECISION, NAN), 50)), AB_APPLY_UNATTRIBUTED);
    CLOCK_IS(500, 500);
    /* A repeat exposure is an exposure: earlier in time, it moves the start. */
    CHECK_INT(apply(&s, at(expo("liz", 0), 300)), AB_APPLY_NOOP);
    CLOCK_IS(300, 500);
    /* So is a conflicting one (the user stays where it was). */
    CHECK_INT(apply(&s, at(expo("liz", 1), 800)), AB_APPLY_CONFLICT);
    CLOCK_IS(300, 800);
    /* A duplicate is not applied, so it does not stretch the span. */
    CHECK_INT(apply(&s, at(with_id(expo("liz", 0), "t1"), 5)), AB_APPLY_DUPLICATE);
    CHECK_INT(apply(&s, at(with_id(expo("new", 0), "t1"), 5000)), AB_APPLY_DUPLICATE);
    CLOCK_IS(300, 800);
    /* A new user's exposure; negative epochs are times too. */
    CHECK_INT(apply(&s, at(expo("mo", 1), -86400000)), AB_APPLY_COUNTED);
    CLOCK_IS(-86400000, 800);
    CHECK_INT(apply(&s, at(expo("pat", 1), 7000)), AB_APPLY_COUNTED);
    CLOCK_IS(-86400000, 7000);
    /* The exposed user "mo" converting later still leaves the end alone. */
    CHECK_INT(apply(&s, at(conv("mo", AB_PHASE_DECISION, NAN), 9000)), AB_APPLY_COUNTED);
    CLOCK_IS(-86400000, 7000);
#undef CLOCK_IS
    CHECK(s.events == 18);
    ab_state_free(&s);
}

/* One mixed stream with every outcome, tallied by hand. */
static void check_stream(void)
{
    ab_counts s;
    ab_state_init(&s, 3);
    struct {
        ab_event ev;
        ab_apply_result want;
    } steps[] = {
        {conv("p1", AB_PHASE_DECISION, 12.0), AB_APPLY_UNATTRIBUTED},
        {expo("p1", 2), AB_APPLY_COUNTED},
        {expo("p2", 0), AB_APPLY_COUNTED},
        {expo("p3", 1), AB_APPLY_COUNTED},
        {expo("p1", 0), AB_APPLY_CONFLICT},
        {expo("p2", 0), AB_APPLY_NOOP},
        {conv("p1", AB_PHASE_DECISION, 12.0), AB_APPLY_COUNTED},
        {conv("p1", AB_PHASE_CONSIDERATION, NAN), AB_APPLY_COUNTED},
        {conv("p2", AB_PHASE_DECISION, 4.0), AB_APPLY_COUNTED},
        {conv("p2", AB_PHASE_DECISION, 4.0), AB_APPLY_COUNTED}, /* value: total 8 */
        {nps("p3", 8), AB_APPLY_COUNTED},
        {nps("p3", 10), AB_APPLY_NOOP},
        {nps("p4", 10), AB_APPLY_UNATTRIBUTED},
        {with_id(expo("p4", 1), "x"), AB_APPLY_COUNTED},
        {with_id(nps("p4", 2), "x"), AB_APPLY_DUPLICATE},
        {nps("p4", 2), AB_APPLY_COUNTED},
    };
    size_t n = sizeof steps / sizeof steps[0];
    for (size_t i = 0; i < n; i++) {
        snprintf(test_context, sizeof test_context, "stream step %zu", i);
        CHECK_INT(ab_state_apply(&s, &steps[i].ev), steps[i].want);
    }
    test_context[0] = '\0';
    CHECK(s.events == (double)n);
    CHECK(s.duplicates == 1 && s.conflicts == 1 && s.unattributed == 2);
    CHECK(s.arms[0].users == 1 && s.arms[1].users == 2 && s.arms[2].users == 1);
    CHECK(s.arms[2].conversions[AB_PHASE_DECISION] == 1);
    CHECK(s.arms[2].conversions[AB_PHASE_CONSIDERATION] == 1);
    CHECK(s.arms[2].revenue.sum == 12.0 && s.arms[2].revenue.sumsq == 144.0);
    CHECK(s.arms[0].conversions[AB_PHASE_DECISION] == 1);
    CHECK(s.arms[0].revenue.sum == 8.0 && s.arms[0].revenue.sumsq == 64.0);
    CHECK(s.arms[1].passives == 1 && s.arms[1].detractors == 1 && s.arms[1].promoters == 0);
    CHECK(s.arms[1].revenue.n == 2 && s.arms[1].revenue.sum == 0);
    ab_state_free(&s);
}

/* Events the parser would reject change nothing but the event count. */
static void check_malformed(void)
{
    ab_counts s;
    ab_state_init(&s, 2);
    CHECK_INT(apply(&s, expo("q", 2)), AB_APPLY_NOOP);  /* variant == k */
    CHECK_INT(apply(&s, expo("q", -1)), AB_APPLY_NOOP);
    CHECK_INT(s.users.count, 0);
    apply(&s, expo("q", 1));
    CHECK_INT(apply(&s, nps("q", 11)), AB_APPLY_NOOP);
    CHECK_INT(apply(&s, nps("q", -1)), AB_APPLY_NOOP);
    CHECK_INT(apply(&s, conv("q", AB_PHASE_COUNT, 5.0)), AB_APPLY_NOOP);
    ab_event bad = expo("q", 1);
    bad.type = (ab_event_type)7;
    CHECK_INT(ab_state_apply(&s, &bad), AB_APPLY_NOOP);
    /* A value that is not finite adds no revenue (the conversion counts). */
    CHECK_INT(apply(&s, conv("q", AB_PHASE_DECISION, INFINITY)), AB_APPLY_COUNTED);
    CHECK(s.arms[1].revenue.sum == 0 && s.arms[1].conversions[AB_PHASE_DECISION] == 1);
    /* ... so the first answer after the bad ones still counts. */
    CHECK_INT(apply(&s, nps("q", 0)), AB_APPLY_COUNTED);
    CHECK(s.arms[1].users == 1 && s.arms[1].detractors == 1);
    CHECK(s.conflicts == 0 && s.unattributed == 0);
    CHECK(s.events == 9);
    ab_state_free(&s);
}

/* 200k users over 4 arms through growth of both tables. */
static void check_many_users(void)
{
    enum { N = 200000 };
    ab_counts s;
    ab_state_init(&s, 4);
    char user[32], id[32];
    int bad = 0;
    for (int i = 0; i < N; i++) {
        snprintf(user, sizeof user, "m-%d", i);
        ab_event ev = expo(user, i % 4);
        ev.id = id;
        ev.id_len = (size_t)snprintf(id, sizeof id, "e-%d", i);
        if (ab_state_apply(&s, &ev) != AB_APPLY_COUNTED) bad++;
    }
    for (int i = 0; i < N; i += 2) {
        snprintf(user, sizeof user, "m-%d", i);
        ab_event ev = conv(user, AB_PHASE_DECISION, 1.0);
        if (ab_state_apply(&s, &ev) != AB_APPLY_COUNTED) bad++;
    }
    CHECK_INT(bad, 0);
    for (int v = 0; v < 4; v++) {
        CHECK(s.arms[v].users == N / 4);
        /* even users are in arms 0 and 2 */
        CHECK(s.arms[v].conversions[AB_PHASE_DECISION] == (v % 2 ? 0 : N / 4));
        CHECK(s.arms[v].revenue.sum == (v % 2 ? 0 : N / 4));
    }
    CHECK_INT(s.users.count, N);
    CHECK_INT(s.ids.count, N);
    CHECK(s.events == N + N / 2);
    size_t bytes = ab_state_bytes(&s);
    /* 2^19 user slots of 16 bytes, 2^19 id slots of 8, revenue for 100k
     * (a total and its user's variant: 9 bytes). */
    CHECK_INT(bytes, (1u << 19) * 16 + (1u << 19) * 8 + (size_t)s.users.revenue_cap * 9 +
                         4 * ARM_BYTES +
                         ab_history_bytes(&s.history, s.k));
    printf("ok state: %d users, %.1f bytes a user with ids\n", N, (double)bytes / N);
    ab_state_free(&s);
}


/* An idle state holds no heap memory and reads zeros; the first event
 * gives it its own counts. */
static void check_idle(void)
{
    ab_counts s, t;
    ab_state_init(&s, 3);
    ab_state_init(&t, 2);
    CHECK_INT(ab_state_bytes(&s), 0);
    CHECK(s.arms[2].users == 0 && s.arms[0].revenue.sum == 0 && s.rev_comp[1] == 0);
    CHECK_INT(apply(&s, expo("i1", 2)), AB_APPLY_COUNTED);
    CHECK(s.arms[2].users == 1);
    /* Another idle state still reads zeros (nothing was shared). */
    CHECK(t.arms[0].users == 0 && t.arms[1].users == 0 && t.arms[2].users == 0);
    CHECK_INT(ab_state_bytes(&s), ab_usertable_bytes(&s.users) +
                                      3 * ARM_BYTES +
                                      ab_history_bytes(&s.history, s.k));
    ab_state_free(&s);
    CHECK_INT(ab_state_bytes(&s), 0);
    CHECK(s.arms[2].users == 0); /* freed counts read as zeros */
    ab_state_free(&t);
}

/* Reservations (SPEC 9, ingest: nothing stored that cannot be counted):
 * the cost names what a reservation would allocate, a reservation makes
 * every apply within it allocation-free, reservations add up until
 * released, and a refused one holds nothing. */
static void check_reserve(void)
{
    enum { N = 3000 };
    ab_counts s;
    char user[32], id[32];
    int bad = 0;
    ab_state_init(&s, 2);
    size_t arms = 2 * ARM_BYTES;
    /* Nothing asked: only the counts' own block. */
    CHECK_INT(ab_state_reserve_cost(&s, 0, 0, 0), arms);
    /* 3000 users: 4096 slots (load 0.75); ids: 4096 keys; revenue: 4096
     * totals of 9 bytes. */
    CHECK_INT(ab_state_reserve_cost(&s, N, N, N), arms + 4096 * 16 + 4096 * 8 + 4096 * 9);
    CHECK(ab_state_reserve_cost(&s, SIZE_MAX, 0, 0) == SIZE_MAX);
    CHECK(ab_state_reserve_cost(&s, 0, 0, (size_t)UINT32_MAX + 1) == SIZE_MAX);
    CHECK_INT(ab_state_bytes(&s), 0); /* costs allocate nothing */
    CHECK_INT(ab_state_reserve(&s, 0, 0, (size_t)UINT32_MAX + 1), -1);
    CHECK_INT(s.held_users + s.held_ids + s.held_revenue, 0); /* refused: nothing held */
    CHECK_INT(ab_state_reserve(&s, N, N, N), 0);
    CHECK_INT(s.held_users, N);
    CHECK_INT(ab_state_reserve_cost(&s, 0, 0, 0), 0);
    /* Reservations add up: room for N more on top needs the next sizes. */
    CHECK_INT(ab_state_reserve_cost(&s, N, 0, 0), 8192 * 16);
    CHECK_INT(ab_state_reserve_cost(&s, 72, 72, 0), 0); /* 3072 = 4096 * 0.75 */
    CHECK_INT(ab_state_reserve_cost(&s, 73, 0, 0), 8192 * 16);
    ab_user *slots = s.users.slots;
    uint64_t *ids = s.ids.slots;
    double *rev = s.users.revenue;
    /* The history's day blocks are outside reservations (counting never
     * waits on them, state.h): the tables are what must not grow. */
    size_t bytes = ab_state_bytes(&s) - ab_history_bytes(&s.history, s.k);
    for (int i = 0; i < N; i++) {
        snprintf(user, sizeof user, "r-%d", i);
        ab_event ev = expo(user, i % 2);
        ev.id = id;
        ev.id_len = (size_t)snprintf(id, sizeof id, "rid-%d", i);
        bad += ab_state_apply(&s, &ev) != AB_APPLY_COUNTED;
        ab_event c = conv(user, AB_PHASE_DECISION, 2.0);
        bad += ab_state_apply(&s, &c) != AB_APPLY_COUNTED;
    }
    CHECK_INT(bad, 0);
    /* Not one allocation while applying within the reservation. */
    CHECK(s.users.slots == slots && s.ids.slots == ids && s.users.revenue == rev);
    CHECK_INT(ab_state_bytes(&s) - ab_history_bytes(&s.history, s.k), bytes);
    CHECK(s.arms[0].users == N / 2 && s.arms[1].revenue.sum == N);
    /* Released: applied users count for themselves now. */
    ab_state_release(&s, N, N, N);
    CHECK_INT(s.held_users + s.held_ids + s.held_revenue, 0);
    CHECK_INT(ab_state_reserve_cost(&s, 72, 72, 0), 0);
    CHECK_INT(ab_state_reserve_cost(&s, 73, 0, 0), 8192 * 16);
    CHECK_INT(ab_state_reserve_cost(&s, 0, 0, 4096 - N), 0);
    CHECK_INT(ab_state_reserve_cost(&s, 0, 0, 4097 - N), 8192 * 9);
    /* Over-release is clamped. */
    CHECK_INT(ab_state_reserve(&s, 5, 0, 0), 0);
    ab_state_release(&s, 50, 50, 50);
    CHECK_INT(s.held_users + s.held_ids + s.held_revenue, 0);
    ab_state_free(&s);
}

int main(void)
{
    ab_stats_init();
    check_init();
    check_first_exposure_wins();
    check_unattributed();
    check_once_per_phase();
    check_revenue();
    check_revenue_many();
    check_nps();
    check_duplicates();
    check_clock();
    check_stream();
    check_malformed();
    check_many_users();
    check_idle();
    check_reserve();
    return TEST_DONE("test_state");
}
