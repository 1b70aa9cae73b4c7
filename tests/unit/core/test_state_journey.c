/* test_state_journey.c — the journey cells of core/state.h (users per
 * combination of phases reached) on hand-made event streams: exposure
 * then conversions at phases in any order, duplicates, conversions before
 * the exposure, conflicting exposures, NPS answers, a seeded stream
 * against an independent count, reservations and the journey block built
 * from the cells (core/journey.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/journey.h"
#include "core/state.h"
#include "abstat/stats.h"
#include "live.h"
#include "test.h"

#define A (1u << AB_PHASE_AWARENESS)
#define C (1u << AB_PHASE_CONSIDERATION)
#define D (1u << AB_PHASE_DECISION)
#define R (1u << AB_PHASE_RETENTION)
#define V (1u << AB_PHASE_ADVOCACY)

static ab_apply_result expo(ab_counts *s, const char *user, int variant)
{
    ab_event ev = tl_event(AB_EVENT_EXPOSURE, user);
    ev.variant = variant;
    return ab_state_apply(s, &ev);
}

static ab_apply_result conv(ab_counts *s, const char *user, ab_phase phase)
{
    ab_event ev = tl_event(AB_EVENT_CONVERSION, user);
    ev.phase = phase;
    return ab_state_apply(s, &ev);
}

static ab_apply_result conv_id(ab_counts *s, const char *user, ab_phase phase, const char *id)
{
    ab_event ev = tl_event(AB_EVENT_CONVERSION, user);
    ev.phase = phase;
    ev.id = id;
    ev.id_len = strlen(id);
    return ab_state_apply(s, &ev);
}

static double cell(const ab_counts *s, size_t arm, unsigned mask)
{
    return ab_state_journey(s, arm)[mask];
}

/* The arm's cells add up to its users (every user is in exactly one). */
static double cell_sum(const ab_counts *s, size_t arm)
{
    double t = 0;
    for (unsigned m = 0; m < AB_JOURNEY_CELLS; m++) t += cell(s, arm, m);
    return t;
}

/* Nonzero cells of an arm, for "only these moved". */
static int nonzero_cells(const ab_counts *s, size_t arm)
{
    int n = 0;
    for (unsigned m = 0; m < AB_JOURNEY_CELLS; m++) n += cell(s, arm, m) != 0;
    return n;
}

static void check_idle(void)
{
    ab_counts s;
    ab_state_init(&s, 3);
    CHECK(cell_sum(&s, 0) == 0 && cell_sum(&s, 2) == 0);
    CHECK_INT(ab_state_bytes(&s), 0);
    ab_state_free(&s);
    CHECK(cell_sum(&s, 1) == 0); /* freed: zeros again */
}

/* A new user enters cell 0; each new phase moves it from the cell of the
 * phases it had to the cell with this one too, whatever the order. */
static void check_moves(void)
{
    ab_counts s;
    ab_state_init(&s, 2);
    CHECK_INT(expo(&s, "u1", 0), AB_APPLY_COUNTED);
    CHECK(cell(&s, 0, 0) == 1 && nonzero_cells(&s, 0) == 1);
    /* Decision first, then awareness, then consideration: out of order. */
    CHECK_INT(conv(&s, "u1", AB_PHASE_DECISION), AB_APPLY_COUNTED);
    CHECK(cell(&s, 0, 0) == 0 && cell(&s, 0, D) == 1);
    CHECK_INT(conv(&s, "u1", AB_PHASE_AWARENESS), AB_APPLY_COUNTED);
    CHECK(cell(&s, 0, D) == 0 && cell(&s, 0, A | D) == 1);
    /* The same phase again moves nothing. */
    CHECK_INT(conv(&s, "u1", AB_PHASE_DECISION), AB_APPLY_NOOP);
    CHECK(cell(&s, 0, A | D) == 1 && nonzero_cells(&s, 0) == 1);
    CHECK_INT(conv(&s, "u1", AB_PHASE_CONSIDERATION), AB_APPLY_COUNTED);
    CHECK(cell(&s, 0, A | C | D) == 1 && nonzero_cells(&s, 0) == 1);
    /* Advocacy, skipping retention: a cell with a gap. */
    CHECK_INT(conv(&s, "u1", AB_PHASE_ADVOCACY), AB_APPLY_COUNTED);
    CHECK(cell(&s, 0, A | C | D | V) == 1 && nonzero_cells(&s, 0) == 1);
    CHECK_INT(conv(&s, "u1", AB_PHASE_RETENTION), AB_APPLY_COUNTED);
    CHECK(cell(&s, 0, A | C | D | R | V) == 1 && nonzero_cells(&s, 0) == 1);

    /* A second user in the other arm, a third who never converts. */
    CHECK_INT(expo(&s, "u2", 1), AB_APPLY_COUNTED);
    CHECK_INT(conv(&s, "u2", AB_PHASE_RETENTION), AB_APPLY_COUNTED);
    CHECK_INT(expo(&s, "u3", 1), AB_APPLY_COUNTED);
    CHECK(cell(&s, 1, R) == 1 && cell(&s, 1, 0) == 1 && nonzero_cells(&s, 1) == 2);
    CHECK(cell_sum(&s, 0) == s.arms[0].users && cell_sum(&s, 1) == s.arms[1].users);
    /* Revenue and NPS answers are no phase: nothing moves. */
    ab_event ev = tl_event(AB_EVENT_CONVERSION, "u3");
    ev.phase = AB_PHASE_RETENTION;
    ev.value = 12.5;
    CHECK_INT(ab_state_apply(&s, &ev), AB_APPLY_COUNTED);
    CHECK(cell(&s, 1, R) == 2 && cell(&s, 1, 0) == 0);
    ev = tl_event(AB_EVENT_NPS, "u2");
    ev.phase = AB_PHASE_ADVOCACY;
    ev.score = 10;
    CHECK_INT(ab_state_apply(&s, &ev), AB_APPLY_COUNTED);
    CHECK(cell(&s, 1, R) == 2 && nonzero_cells(&s, 1) == 1);
    /* A phase out of range (what the parser refuses) moves nothing. */
    ev = tl_event(AB_EVENT_CONVERSION, "u2");
    ev.phase = (ab_phase)AB_PHASE_COUNT;
    CHECK_INT(ab_state_apply(&s, &ev), AB_APPLY_NOOP);
    CHECK(cell(&s, 1, R) == 2 && nonzero_cells(&s, 1) == 1);
    ab_state_free(&s);
}

/* Duplicates (an id seen before) are not applied: no cell moves. */
static void check_duplicates(void)
{
    ab_counts s;
    ab_state_init(&s, 2);
    CHECK_INT(expo(&s, "d1", 1), AB_APPLY_COUNTED);
    CHECK_INT(conv_id(&s, "d1", AB_PHASE_AWARENESS, "e1"), AB_APPLY_COUNTED);
    CHECK_INT(conv_id(&s, "d1", AB_PHASE_CONSIDERATION, "e1"), AB_APPLY_DUPLICATE);
    CHECK(cell(&s, 1, A) == 1 && cell(&s, 1, A | C) == 0 && nonzero_cells(&s, 1) == 1);
    CHECK(s.duplicates == 1);
    ab_state_free(&s);
}

/* Conversions of a user never exposed are unattributed and stay so after
 * the exposure: the user enters cell 0 and only later phases move it. */
static void check_unattributed(void)
{
    ab_counts s;
    ab_state_init(&s, 2);
    CHECK_INT(conv(&s, "early", AB_PHASE_DECISION), AB_APPLY_UNATTRIBUTED);
    CHECK(cell_sum(&s, 0) == 0 && cell_sum(&s, 1) == 0);
    CHECK_INT(expo(&s, "early", 0), AB_APPLY_COUNTED);
    CHECK(cell(&s, 0, 0) == 1 && nonzero_cells(&s, 0) == 1);
    CHECK_INT(conv(&s, "early", AB_PHASE_CONSIDERATION), AB_APPLY_COUNTED);
    CHECK(cell(&s, 0, C) == 1 && nonzero_cells(&s, 0) == 1);
    CHECK(s.unattributed == 1);
    ab_state_free(&s);
}

/* A conflicting exposure moves no user to the other arm: its cells stay,
 * and the user's later phases count in its first arm. */
static void check_conflict(void)
{
    ab_counts s;
    ab_state_init(&s, 3);
    CHECK_INT(expo(&s, "c1", 2), AB_APPLY_COUNTED);
    CHECK_INT(conv(&s, "c1", AB_PHASE_AWARENESS), AB_APPLY_COUNTED);
    CHECK_INT(expo(&s, "c1", 0), AB_APPLY_CONFLICT);
    CHECK(cell_sum(&s, 0) == 0 && cell(&s, 2, A) == 1);
    CHECK_INT(conv(&s, "c1", AB_PHASE_CONSIDERATION), AB_APPLY_COUNTED);
    CHECK(cell(&s, 2, A | C) == 1 && nonzero_cells(&s, 2) == 1 && cell_sum(&s, 0) == 0);
    /* A repeat exposure to its own arm is nothing. */
    CHECK_INT(expo(&s, "c1", 2), AB_APPLY_NOOP);
    CHECK(cell(&s, 2, A | C) == 1 && cell(&s, 2, 0) == 0);
    ab_state_free(&s);
}

/* xorshift64*: a seeded, platform-independent stream. */
static uint64_t rng = 0x9e3779b97f4a7c15u;
static unsigned draw(unsigned n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 0x2545f4914f6cdd1du) >> 33) % n;
}

/* A seeded stream of exposures, conversions (some before exposure, some
 * repeated, some with duplicate ids) and conflicts, against a plain model
 * of each user's arm and phases; then the same stream applied again to a
 * fresh state (what replay does) gives the same cells. */
static void check_stream(void)
{
    enum { USERS = 600, EVENTS = 6000, K = 3 };
    static int arm[USERS];
    static unsigned phases[USERS];
    double want[K][AB_JOURNEY_CELLS];
    ab_counts s, again;
    char user[32], id[32];
    int bad = 0;

    memset(want, 0, sizeof want);
    for (int u = 0; u < USERS; u++) arm[u] = -1;
    ab_state_init(&s, K);
    ab_state_init(&again, K);
    for (int i = 0; i < EVENTS; i++) {
        unsigned u = draw(USERS), kind = draw(10);
        ab_event ev;
        snprintf(user, sizeof user, "s-%u", u);
        if (kind < 3) {
            ev = tl_event(AB_EVENT_EXPOSURE, user);
            ev.variant = (int)draw(K);
        } else {
            ev = tl_event(AB_EVENT_CONVERSION, user);
            ev.phase = (ab_phase)draw(AB_PHASE_COUNT);
        }
        /* One event in ten takes an id that may have come before: then it
         * is a duplicate, and the model must not count it either. */
        if (i > 10 && draw(10) == 0)
            ev.id_len = (size_t)snprintf(id, sizeof id, "id-%u", draw((unsigned)i / 2));
        else
            ev.id_len = (size_t)snprintf(id, sizeof id, "id-x%d", i);
        ev.id = id;
        ab_apply_result r = ab_state_apply(&s, &ev);
        bad += r == AB_APPLY_NOMEM;
        (void)ab_state_apply(&again, &ev);
        if (r == AB_APPLY_DUPLICATE) continue;
        /* The model: first exposure wins; conversions of unexposed users
         * are unattributed. */
        if (ev.type == AB_EVENT_EXPOSURE && arm[u] < 0) arm[u] = ev.variant;
        if (ev.type == AB_EVENT_CONVERSION && arm[u] >= 0) phases[u] |= 1u << ev.phase;
    }
    CHECK_INT(bad, 0);
    for (int u = 0; u < USERS; u++)
        if (arm[u] >= 0) want[arm[u]][phases[u]]++;
    int differ = 0;
    for (size_t a = 0; a < K; a++) {
        for (unsigned m = 0; m < AB_JOURNEY_CELLS; m++) {
            differ += cell(&s, a, m) != want[a][m];
            differ += cell(&again, a, m) != cell(&s, a, m);
        }
        CHECK(cell_sum(&s, a) == s.arms[a].users);
    }
    CHECK_INT(differ, 0);
    CHECK(s.conflicts > 0 && s.unattributed > 0 && s.duplicates > 0);

    /* The journey block from these cells: reached at each step's phase is
     * that phase's conversions; continued counts users with both. */
    ab_journey_result *j = malloc(sizeof *j);
    CHECK(j != NULL);
    if (j) {
        CHECK(ab_journey_run(&s, K, 0.05, j) == AB_OK);
        for (size_t a = 0; a < K; a++)
            for (unsigned p = 0; p < AB_JOURNEY_STEPS; p++) {
                double cont = 0;
                for (int u = 0; u < USERS; u++)
                    cont += arm[u] == (int)a && (phases[u] >> p & 3u) == 3u;
                CHECK(j->steps[p].arm[a].users == s.arms[a].users);
                CHECK(j->steps[p].arm[a].reached == s.arms[a].conversions[p]);
                CHECK(j->steps[p].arm[a].continued == cont);
            }
        ab_journey_bounds b;
        CHECK(ab_journey_step_bounds(&j->steps[1].arm[2], &j->steps[1].arm[0], 0.05, &b) ==
              AB_OK);
        CHECK(b.bounds.lo == j->steps[1].vs[2].bounds.lo &&
              b.bounds_ci.hi == j->steps[1].vs[2].bounds_ci.hi);
        free(j);
    }
    ab_state_free(&s);
    ab_state_free(&again);
}

/* Counting after a reservation cannot fail (state.h): the cells live in
 * the per-arm block the reservation made, so moving users allocates
 * nothing and the bytes stay as reserved. */
static void check_reserved(void)
{
    enum { N = 500 };
    ab_counts s;
    char user[32];
    int bad = 0;
    ab_state_init(&s, 2);
    CHECK_INT(ab_state_reserve(&s, N, 0, 0), 0);
    const double *cells = ab_state_journey(&s, 1);
    size_t bytes = ab_state_bytes(&s) - ab_history_bytes(&s.history, s.k);
    for (int i = 0; i < N; i++) {
        snprintf(user, sizeof user, "r-%d", i);
        bad += expo(&s, user, i % 2) != AB_APPLY_COUNTED;
        bad += conv(&s, user, (ab_phase)(i % AB_PHASE_COUNT)) != AB_APPLY_COUNTED;
    }
    CHECK_INT(bad, 0);
    CHECK(ab_state_journey(&s, 1) == cells);
    CHECK_INT(ab_state_bytes(&s) - ab_history_bytes(&s.history, s.k), bytes);
    CHECK(cell_sum(&s, 0) == N / 2 && cell_sum(&s, 1) == N / 2);
    CHECK(cell(&s, 0, A) == N / 10 && cell(&s, 1, C) == N / 10);
    ab_state_release(&s, N, 0, 0);
    ab_state_free(&s);
}

int main(void)
{
    ab_stats_init();
    check_idle();
    check_moves();
    check_duplicates();
    check_unattributed();
    check_conflict();
    check_stream();
    check_reserved();
    return TEST_DONE("test_state_journey");
}
