/* test_history.c — the per-hour history of core/history.c and the points of
 * core/history_series.c: bucketing by ts, cumulative sums, out-of-order
 * ts, hours summing to days, zero users, everyone converting, one user,
 * equal rates, 10^9-scale counts, far-apart timestamps, and the last point
 * equal to what ab_evaluate (the /results path) computes from the counts. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/evaluate.h"
#include "core/history_series.h"
#include "live.h"
#include "test.h"

#define H AB_HOUR_MS
#define D AB_DAY_MS
/* 2026-11-02T00:00:00Z: a UTC midnight. */
#define T0 1762041600000LL

static ab_event ev_of(ab_event_type type, const char *user, int64_t ts)
{
    ab_event ev = tl_event(type, user);
    ev.ts_ms = ts;
    return ev;
}

static void expose(ab_counts *s, const char *user, int variant, int64_t ts)
{
    ab_event ev = ev_of(AB_EVENT_EXPOSURE, user, ts);
    ev.variant = variant;
    CHECK(ab_state_apply(s, &ev) != AB_APPLY_NOMEM);
}

static void convert(ab_counts *s, const char *user, double value, int64_t ts)
{
    ab_event ev = ev_of(AB_EVENT_CONVERSION, user, ts);
    ev.value = value;
    CHECK(ab_state_apply(s, &ev) != AB_APPLY_NOMEM);
}

static void answer(ab_counts *s, const char *user, int score, int64_t ts)
{
    ab_event ev = ev_of(AB_EVENT_NPS, user, ts);
    ev.phase = AB_PHASE_ADVOCACY;
    ev.score = score;
    CHECK(ab_state_apply(s, &ev) != AB_APPLY_NOMEM);
}

static ab_history_point *point(void)
{
    ab_history_point *p = malloc(sizeof *p);
    if (!p) test_fail(__FILE__, __LINE__, "out of memory");
    return p;
}

/* Walks e's history to point `upto` (npoints - 1 when -1). */
static void walk(ab_live *e, int hourly, int64_t now, ab_history_span *sp, ab_history_point *p,
                 long upto)
{
    ab_error err;
    CHECK_INT(ab_history_plan(&e->state, hourly, now, sp, &err), 0);
    if (upto < 0) upto = (long)sp->npoints - 1;
    for (long i = 0; i <= upto && (size_t)i < sp->npoints; i++)
        ab_history_next(&e->cfg, &e->state, sp, (size_t)i, p);
}

/* Every event lands in the cell of its own hour and variant; a
 * conversion in its own hour, not its user's exposure hour. */
static void test_bucketing(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"]}");
    ab_arm_counts acc[2];
    char u[16];
    for (int i = 0; i < 10; i++) {
        snprintf(u, sizeof u, "u%d", i);
        expose(&e->state, u, i % 2, T0 + i * H + 5);
    }
    convert(&e->state, "u1", 12.5, T0 + 30 * H);
    answer(&e->state, "u2", 10, T0 + 2 * H + 1);
    memset(acc, 0, sizeof acc);
    ab_history_sum(&e->state.history, 2, T0 / H, T0 / H + 1, acc);
    CHECK(acc[0].users == 1 && acc[1].users == 0);
    memset(acc, 0, sizeof acc);
    ab_history_sum(&e->state.history, 2, T0 / H, T0 / H + 24, acc);
    CHECK(acc[0].users == 5 && acc[1].users == 5);
    CHECK(acc[1].conversions[AB_PHASE_DECISION] == 0);
    CHECK(acc[0].promoters == 1);
    memset(acc, 0, sizeof acc);
    ab_history_sum(&e->state.history, 2, T0 / H + 30, T0 / H + 31, acc);
    CHECK(acc[1].conversions[AB_PHASE_DECISION] == 1 && acc[1].users == 0);
    CHECK(acc[1].revenue.sum == 12.5 && acc[1].revenue.sumsq == 12.5 * 12.5);
    CHECK_INT(e->state.history.n, 2);
    CHECK(ab_history_last_hour(&e->state.history, 2) == T0 / H + 30);
    CHECK(ab_state_bytes(&e->state) >= ab_history_bytes(&e->state.history, 2));
    ab_live_free(e);
}

/* The same events in ts order and backwards give the same history; each
 * point is cumulative and the last equals the counts. */
static void test_cumulative_out_of_order(void)
{
    ab_live *a = tl_experiment("{\"variants\":[\"c\",\"v\"]}");
    ab_live *b = tl_experiment("{\"variants\":[\"c\",\"v\"]}");
    ab_history_point *p = point(), *q = point();
    ab_history_span sa, sb;
    ab_error err;
    char u[16];
    int64_t now = T0 + 10 * D;
    for (int pass = 0; pass < 2; pass++)
        for (int j = 0; j < 200; j++) {
            int i = pass ? 199 - j : j;
            ab_counts *s = pass ? &b->state : &a->state;
            snprintf(u, sizeof u, "u%d", i);
            expose(s, u, i % 2, T0 + i * (D / 20));
            if (i % 3 == 0) convert(s, u, 1.0 + i, T0 + i * (D / 20) + H);
        }
    CHECK_INT(ab_history_plan(&a->state, 0, now, &sa, &err), 0);
    CHECK_INT(ab_history_plan(&b->state, 0, now, &sb, &err), 0);
    CHECK_INT(sa.npoints, 11);
    CHECK_INT(sb.npoints, 11);
    CHECK(sa.first_ms == T0 && sa.started_ms == T0);
    double last_users = 0;
    for (size_t i = 0; i < sa.npoints; i++) {
        ab_history_next(&a->cfg, &a->state, &sa, i, p);
        ab_history_next(&b->cfg, &b->state, &sb, i, q);
        CHECK(!memcmp(p->arms, q->arms, 2 * sizeof p->arms[0]));
        CHECK(p->t_ms == T0 + (int64_t)i * D && p->end_ms == p->t_ms + D);
        CHECK(p->arms[0].users + p->arms[1].users >= last_users);
        last_users = p->arms[0].users + p->arms[1].users;
        if (i < 10) CHECK_INT(last_users, 20 * (i + 1));
    }
    for (size_t v = 0; v < 2; v++) {
        ab_arm_counts want;
        ab_state_arm(&a->state, v, &want);
        CHECK(p->arms[v].users == want.users);
        CHECK(p->arms[v].conversions[AB_PHASE_DECISION] == want.conversions[AB_PHASE_DECISION]);
        CHECK_REL(p->arms[v].revenue.sum, want.revenue.sum, 1e-12);
        CHECK_REL(p->arms[v].revenue.sumsq, want.revenue.sumsq, 1e-12);
    }
    free(p);
    free(q);
    ab_live_free(a);
    ab_live_free(b);
}

/* An hourly walk at every 24th hour is the daily walk. */
static void test_hours_make_days(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\",\"w\"]}");
    ab_history_point *ph = point(), *pd = point();
    ab_history_span sh, sd;
    ab_error err;
    char u[16];
    int64_t now = T0 + 4 * D;
    for (int i = 0; i < 300; i++) {
        snprintf(u, sizeof u, "u%d", i);
        expose(&e->state, u, i % 3, T0 + 7 * H + i * (3 * D / 300));
        if (i % 4 == 0) convert(&e->state, u, NAN, T0 + 8 * H + i * (3 * D / 300));
        if (i % 5 == 0) answer(&e->state, u, i % 11, T0 + 9 * H + i * (3 * D / 300));
    }
    CHECK_INT(ab_history_plan(&e->state, 1, now, &sh, &err), 0);
    CHECK_INT(ab_history_plan(&e->state, 0, now, &sd, &err), 0);
    CHECK(sh.first_ms == T0 + 7 * H);
    CHECK_INT(sd.npoints, 5);
    CHECK_INT(sh.npoints, 4 * 24 - 7 + 1);
    size_t d = 0;
    for (size_t i = 0; i < sh.npoints; i++) {
        ab_history_next(&e->cfg, &e->state, &sh, i, ph);
        if (ph->end_ms % D != 0) continue;
        ab_history_next(&e->cfg, &e->state, &sd, d++, pd);
        CHECK(ph->end_ms == pd->end_ms);
        CHECK(!memcmp(ph->arms, pd->arms, 3 * sizeof ph->arms[0]));
        CHECK(ph->analysed && pd->analysed);
        CHECK(ph->res[2].primary.effect == pd->res[2].primary.effect);
        CHECK(ph->nps && pd->nps && ph->nps_score[1] == pd->nps_score[1] && isfinite(pd->nps_score[1]));
    }
    CHECK_INT(d, 4);
    free(ph);
    free(pd);
    ab_live_free(e);
}

/* No exposure: no started_at, no points. A variant without users yet:
 * undefined rate and comparison. */
static void test_zero_users(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"]}");
    ab_history_point *p = point();
    ab_history_span sp;
    ab_error err;
    CHECK_INT(ab_history_plan(&e->state, 0, T0, &sp, &err), 0);
    CHECK_INT(sp.npoints, 0);
    CHECK(sp.started_ms == INT64_MIN);
    convert(&e->state, "ghost", 5, T0); /* unattributed: no history */
    CHECK_INT(e->state.history.n, 0);
    expose(&e->state, "a", 0, T0 + H);
    convert(&e->state, "a", NAN, T0 + 2 * H);
    expose(&e->state, "b", 1, T0 + D + H);
    walk(e, 0, T0 + D + 2 * H, &sp, p, 0);
    CHECK_INT(sp.npoints, 2);
    CHECK(p->analysed);
    CHECK(p->arms[1].users == 0);
    CHECK(isnan(p->res[1].primary.effect));
    CHECK(isnan(p->res[1].primary.sequential_p));
    free(p);
    ab_live_free(e);
}

/* Figures of the last point against ab_evaluate over the same counts:
 * effect and its interval, the instantaneous sequential p and interval. */
static void check_like_results(ab_live *e, const ab_history_point *p)
{
    static ab_evaluation ev;
    CHECK(ab_evaluate(e, 1, &ev) == AB_OK);
    for (size_t v = 1; v < e->cfg.k; v++) {
        const ab_primary *h = &p->res[v].primary, *r = &ev.res[v].primary;
        CHECK(test_close(h->effect, r->effect, 0, 0));
        CHECK(test_close(h->lift, r->lift, 0, 0));
        CHECK(test_close(h->effect_ci.lo, r->effect_ci.lo, 0, 0));
        CHECK(test_close(h->effect_ci.hi, r->effect_ci.hi, 0, 0));
        CHECK(test_close(h->sequential_p, ev.seq_now[v].p_value, 0, 0));
        CHECK(test_close(h->sequential_ci.lo, ev.seq_now[v].ci.lo, 0, 0));
        CHECK(test_close(h->sequential_ci.hi, ev.seq_now[v].ci.hi, 0, 0));
    }
}

/* One user (case 0), everyone converting (1: V = 0, undefined sequential
 * figures), equal rates (2): as /results has them. */
static void test_edges(void)
{
    static const int users[] = {1, 40, 40};
    for (int c = 0; c < 3; c++) {
        ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"]}");
        ab_history_point *p = point();
        ab_history_span sp;
        char u[16];
        for (int i = 0; i < users[c]; i++) {
            snprintf(u, sizeof u, "u%d", i);
            expose(&e->state, u, users[c] == 1 ? 1 : i % 2, T0 + i * H);
            if (c != 2) convert(&e->state, u, NAN, T0 + i * H + 1);
            if (c == 2 && i % 4 < 2) convert(&e->state, u, NAN, T0 + i * H + 2);
        }
        walk(e, 0, T0 + 2 * D, &sp, p, -1);
        snprintf(test_context, sizeof test_context, "case %d", c);
        CHECK(p->analysed);
        if (c == 1) {
            CHECK(p->res[1].primary.effect == 0);
            CHECK(isnan(p->res[1].primary.sequential_p));
            CHECK(isnan(p->res[1].primary.sequential_ci.lo));
        }
        if (c == 2) CHECK(p->res[1].primary.effect == 0);
        if (c == 0) CHECK(isnan(p->res[1].primary.effect)); /* no control user */
        e->state.last_exposure_ms = e->state.first_exposure_ms; /* clock irrelevant here */
        check_like_results(e, p);
        test_context[0] = '\0';
        free(p);
        ab_live_free(e);
    }
}

/* 10^9-scale counts (cells written directly, as a long life of events
 * would leave them): exact sums, the analysis as /results has it. */
static void test_billions(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"]}");
    ab_history_point *p = point();
    ab_history_span sp;
    for (int d = 0; d < 30; d++)
        for (size_t v = 0; v < 2; v++) {
            ab_history_cell *c = ab_history_cell_at(&e->state.history, 2, T0 + d * D + 3 * H, v);
            CHECK(c != NULL);
            if (!c) continue;
            c->users += 1e9;
            c->conversions[AB_PHASE_DECISION] += v ? 5.1e7 : 5e7;
            e->state.arms[v].users += 1e9;
            e->state.arms[v].revenue.n += 1e9;
            e->state.arms[v].conversions[AB_PHASE_DECISION] += v ? 5.1e7 : 5e7;
        }
    e->state.first_exposure_ms = T0 + 3 * H;
    e->state.last_exposure_ms = T0 + 29 * D + 3 * H;
    walk(e, 0, T0 + 30 * D, &sp, p, -1);
    CHECK_INT(sp.npoints, 31);
    CHECK(p->arms[0].users == 3e10 && p->arms[1].conversions[AB_PHASE_DECISION] == 30 * 5.1e7);
    CHECK(p->analysed);
    CHECK_REL(p->res[1].primary.effect, 0.001, 1e-9);
    CHECK(p->res[1].primary.sequential_p < 1e-6);
    check_like_results(e, p);
    free(p);
    ab_live_free(e);
}

/* An event in 2000 and one now: two day blocks, not 26 years of them; the
 * day walk is refused (400) before anything is allocated for it. A
 * conversion timestamped before its exposure: that point has no test. */
static void test_far_apart(void)
{
    ab_live *e = tl_experiment("{\"variants\":[\"c\",\"v\"]}");
    ab_history_point *p = point();
    ab_history_span sp;
    ab_error err = {0, ""};
    expose(&e->state, "old", 0, 946684800000LL);
    expose(&e->state, "new", 1, T0);
    CHECK_INT(e->state.history.n, 2);
    CHECK(ab_history_bytes(&e->state.history, 2) < 16384);
    CHECK_INT(ab_history_plan(&e->state, 0, T0, &sp, &err), -1);
    CHECK_INT(err.status, 400);
    CHECK(strstr(err.text, "days") != NULL);
    CHECK_INT(ab_history_plan(&e->state, 1, T0, &sp, &err), -1);
    CHECK(strstr(err.text, "interval=day") != NULL);
    ab_live_free(e);

    e = tl_experiment("{\"variants\":[\"c\",\"v\"]}");
    expose(&e->state, "b", 1, T0);
    expose(&e->state, "a", 0, T0 + 5 * D);
    convert(&e->state, "a", NAN, T0 + D); /* a clock behind: before the exposure */
    walk(e, 0, T0 + 6 * D, &sp, p, 1);
    CHECK_INT(sp.npoints, 7);
    CHECK(p->arms[0].conversions[AB_PHASE_DECISION] == 1 && p->arms[0].users == 0);
    CHECK(!p->analysed);
    walk(e, 0, T0 + 6 * D, &sp, p, -1);
    CHECK(p->analysed && p->arms[0].users == 1);
    free(p);
    ab_live_free(e);
}

int main(void)
{
    ab_stats_init();
    test_bucketing();
    test_cumulative_out_of_order();
    test_hours_make_days();
    test_zero_users();
    test_edges();
    test_billions();
    test_far_apart();
    return TEST_DONE("test_history");
}
