/* test_state_aov.c — each phase's revenue of its converters in core/state.h
 * (the ΣMD of average order value, README "Statistics") on a hand-made
 * stream and a seeded one against a plain model, and the analysis's AOV
 * against the library on the model's moments. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abstat/stats.h"
#include "core/analysis.h"
#include "core/state.h"
#include "live.h"
#include "test.h"

static void apply(ab_counts *s, ab_event ev)
{
    ab_apply_result r = ab_state_apply(s, &ev);
    CHECK(r != AB_APPLY_NOMEM);
}

static void expo(ab_counts *s, const char *user, int variant)
{
    ab_event ev = tl_event(AB_EVENT_EXPOSURE, user);
    ev.variant = variant;
    apply(s, ev);
}

static void conv(ab_counts *s, const char *user, ab_phase phase, double value)
{
    ab_event ev = tl_event(AB_EVENT_CONVERSION, user);
    ev.phase = phase;
    ev.value = value;
    apply(s, ev);
}

/* A user's revenue belongs to every phase it reached, whenever the value
 * came: before the phase, with it, or after it, refunds included. */
static void check_by_hand(void)
{
    ab_counts s;
    ab_arm_counts a;
    ab_state_init(&s, 2);
    expo(&s, "u1", 1);
    conv(&s, "u1", AB_PHASE_CONSIDERATION, 10);
    conv(&s, "u1", AB_PHASE_DECISION, 5);      /* decision gets 15 */
    conv(&s, "u1", AB_PHASE_CONSIDERATION, 3); /* both get 3 more */
    conv(&s, "u1", AB_PHASE_RETENTION, NAN);   /* retention gets 18 */
    conv(&s, "u1", AB_PHASE_DECISION, -8);     /* a refund: all three */
    conv(&s, "nobody", AB_PHASE_DECISION, 99); /* unattributed: nothing */
    expo(&s, "u2", 1);
    conv(&s, "u2", AB_PHASE_DECISION, 0);      /* converted, no revenue */
    ab_state_arm(&s, 1, &a);
    CHECK_REL(a.revenue_at[AB_PHASE_CONSIDERATION], 10.0, 0);
    CHECK_REL(a.revenue_at[AB_PHASE_DECISION], 10.0, 0);
    CHECK_REL(a.revenue_at[AB_PHASE_RETENTION], 10.0, 0);
    CHECK(a.revenue_at[AB_PHASE_AWARENESS] == 0.0);
    CHECK_REL(a.revenue.sum, 10.0, 0);
    ab_state_arm(&s, 0, &a);
    CHECK(a.revenue_at[AB_PHASE_DECISION] == 0.0);
    ab_state_free(&s);
}

static uint64_t rng = 0x2545f4914f6cdd1du;
static unsigned draw(unsigned n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 0x2545f4914f6cdd1du) >> 33) % n;
}

/* A seeded stream against a model of each user's arm, phases and revenue;
 * the AOV of the analysis equals the library's on the model's moments. */
static void check_stream(void)
{
    enum { USERS = 500, EVENTS = 5000, K = 3 };
    static int arm[USERS];
    static unsigned phases[USERS];
    static double revenue[USERS];
    ab_counts s;
    ab_arm_counts arms[K];
    ab_arm_result res[K];
    ab_analysis_opts opts;
    ab_aov_moments m[K];
    char user[32];

    for (int u = 0; u < USERS; u++) arm[u] = -1;
    ab_state_init(&s, K);
    for (int i = 0; i < EVENTS; i++) {
        unsigned u = draw(USERS), kind = draw(10);
        snprintf(user, sizeof user, "s-%u", u);
        if (kind < 3) {
            int v = (int)draw(K);
            expo(&s, user, v);
            if (arm[u] < 0) arm[u] = v;
            continue;
        }
        ab_phase ph = (ab_phase)draw(AB_PHASE_COUNT);
        double value = draw(3) ? (double)draw(20000) / 100.0 - 20.0 : NAN;
        conv(&s, user, ph, value);
        if (arm[u] < 0) continue;
        phases[u] |= 1u << ph;
        if (isfinite(value)) revenue[u] += value;
    }
    memset(m, 0, sizeof m);
    for (int u = 0; u < USERS; u++) {
        if (arm[u] < 0) continue;
        ab_aov_moments *x = &m[arm[u]];
        int d = (phases[u] >> AB_PHASE_DECISION) & 1u;
        x->n++;
        x->sum_d += d;
        x->sum_m += revenue[u];
        x->sum_m2 += revenue[u] * revenue[u];
        x->sum_md += d * revenue[u];
    }
    for (size_t i = 0; i < K; i++) {
        ab_state_arm(&s, i, &arms[i]);
        snprintf(test_context, sizeof test_context, "arm %zu", i);
        CHECK_REL(arms[i].revenue_at[AB_PHASE_DECISION], m[i].sum_md, 1e-9);
        CHECK_REL(arms[i].conversions[AB_PHASE_DECISION], m[i].sum_d, 0);
    }
    test_context[0] = '\0';

    memset(&opts, 0, sizeof opts);
    opts.cmp.alpha = 0.05;
    opts.cmp.tuning = 5000;
    opts.cmp.correction = AB_CORRECT_HOLM;
    opts.phase = AB_PHASE_DECISION;
    opts.metric = AB_METRIC_CONVERSION;
    opts.revenue = 1;
    opts.aov = 1;
    CHECK_INT(ab_analysis_run(&opts, arms, K, res), AB_OK);
    for (size_t i = 0; i < K; i++) {
        ab_aov_summary want;
        CHECK_INT(ab_aov_summarize(&m[i], 0.05, &want), AB_OK);
        CHECK_REL(res[i].aov.value, want.value, 1e-9);
        CHECK_REL(res[i].aov.ci.lo, want.ci.lo, 1e-9);
        CHECK_REL(res[i].aov.ci.hi, want.ci.hi, 1e-9);
        if (i == 0) continue;
        ab_aov_comparison cmp;
        CHECK_INT(ab_aov_compare(&m[i], &m[0], 0.05, &cmp), AB_OK);
        CHECK_REL(res[i].aov_vs.diff, cmp.diff, 1e-9);
        CHECK_REL(res[i].aov_vs.p_value, cmp.p_value, 1e-9);
    }
    /* Without each phase's revenue (/v1/analyze) there is no AOV at all. */
    opts.aov = 0;
    CHECK_INT(ab_analysis_run(&opts, arms, K, res), AB_OK);
    CHECK(isnan(res[1].aov.value) && isnan(res[1].aov_vs.diff));
    ab_state_free(&s);
}

int main(void)
{
    ab_stats_init();
    check_by_hand();
    check_stream();
    return TEST_DONE("test_state_aov");
}
