/* bench_revenue_cap.c — the cost of revenue_cap's figures at evaluation
 * time (README "Performance"): users counted in-process through the
 * daemon's own counting (ab_state_apply), a share of them paying
 * heavy-tailed amounts, then the median of RUNS full evaluations
 * (ab_evaluate) with {"percentile": 0.99, "lower": 0.01} against the same
 * without a cap, and the capped figures alone (ab_revenue_cap_run).
 * Users: argv[1] (default 1000000); paying share: argv[2] (default 0.05). */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/evaluate.h"
#include "core/registry.h"
#include "json/experiment_json.h"
#include "json/jsonin.h"

#define RUNS 7

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static unsigned long long rng = 88172645463325252ULL;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static ab_live *make(const char *json)
{
    ab_error err = {0, ""};
    ab_experiment_config cfg;
    json_t *body = ab_jin_parse_text(json, &err);
    ab_live *e = NULL;
    if (!body || ab_experiment_parse("bench", body, &cfg, &err) || !(e = ab_live_new(&cfg, 1, 0, 0)))
        fprintf(stderr, "bench_revenue_cap: cannot make the experiment: %s\n", err.text);
    json_decref(body);
    return e;
}

/* Median ms of RUNS evaluations; the cache is the monitor's, not used here. */
static double time_eval(ab_live *e, ab_evaluation *ev)
{
    double t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        if (ab_evaluate(e, 1, ev) != AB_OK) return -1;
        t[r] = (now() - t0) * 1e3;
    }
    qsort(t, RUNS, sizeof t[0], cmp);
    return t[RUNS / 2];
}

static double time_capped(ab_live *e, const double *users, ab_capped_result *out)
{
    double t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        if (ab_revenue_cap_run(&e->cfg.revenue_cap, &e->state.users, users, e->cfg.k, 0.05, out))
            return -1;
        t[r] = (now() - t0) * 1e3;
    }
    qsort(t, RUNS, sizeof t[0], cmp);
    return t[RUNS / 2];
}

int main(int argc, char **argv)
{
    long users = argc > 1 ? atol(argv[1]) : 1000000L;
    double paying = argc > 2 ? atof(argv[2]) : 0.05;
    ab_live *e = make("{\"variants\": [\"c\", \"v\"], \"metric\": \"revenue\", \"min_days\": 0, "
                      "\"revenue_cap\": {\"percentile\": 0.99, \"lower\": 0.01}}");
    ab_evaluation *ev = malloc(sizeof *ev);
    ab_capped_result *cr = malloc(sizeof *cr);
    char name[32];
    double with, without, alone, arm_users[2];

    ab_stats_init();
    if (!e || !ev || !cr) return 1;
    for (long i = 0; i < users; i++) {
        ab_event x;
        memset(&x, 0, sizeof x);
        snprintf(name, sizeof name, "u%ld", i);
        x.user = name;
        x.user_len = strlen(name);
        x.type = AB_EVENT_EXPOSURE;
        x.variant = (int)(i % 2);
        x.phase = AB_PHASE_DECISION;
        x.value = NAN;
        x.score = -1;
        x.ts_ms = 1788220800000LL;
        if (ab_state_apply(&e->state, &x) == AB_APPLY_NOMEM) return 1;
        if (uniform() < paying) {
            x.type = AB_EVENT_CONVERSION;
            x.value = round(100.0 * 5.0 * pow(uniform(), -1.0 / 1.2)) / 100.0;
            if (uniform() < 0.05) x.value = -x.value; /* refunds */
            if (ab_state_apply(&e->state, &x) == AB_APPLY_NOMEM) return 1;
        }
    }
    arm_users[0] = e->state.arms[0].users;
    arm_users[1] = e->state.arms[1].users;
    with = time_eval(e, ev);
    alone = time_capped(e, arm_users, cr);
    e->cfg.revenue_cap.kind = AB_CAP_NONE;
    without = time_eval(e, ev);
    printf("bench_revenue_cap: %ld users, %u with revenue (%.0f %%): evaluation %.1f ms with "
           "revenue_cap, %.3f ms without; the capped figures alone %.1f ms (median of %d); "
           "caps [%.2f, %.2f]\n",
           users, e->state.users.revenue_count, 100.0 * paying, with, without, alone, RUNS,
           cr->lo, cr->hi);
    ab_live_free(e);
    free(ev);
    free(cr);
    return with < 0 || without < 0 || alone < 0;
}
