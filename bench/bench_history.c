/* bench_history.c — the cost of GET /history's rendering (the walk over the
 * buckets, the analysis of every point, the JSON text) for 90 days x 10
 * variants x 10 M users, built in-process through the daemon's own counting
 * (ab_state_apply: exposures spread over 90 days, conversions with values,
 * NPS answers), so the per-hour history is what the daemon would hold.
 * Prints the median of 21 renders by day, by hour and as CSV, and the
 * history's bytes. Users: argv[1] (default 10000000). */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "core/history_series.h"
#include "core/registry.h"
#include "json/experiment_json.h"
#include "json/history_json.h"
#include "json/jsonin.h"

#define RUNS 21
#define DAYS 90
#define K 10
/* 2026-09-01T00:00:00Z */
#define T0 1788220800000LL

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
static unsigned long long next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Median ms of RUNS renders (hourly, csv). -1 on failure. */
static double time_render(ab_live *e, int hourly, int csv, size_t *bytes, size_t *points)
{
    double t[RUNS];
    ab_history_point *p = malloc(sizeof *p);
    if (!p) return -1;
    for (int r = 0; r < RUNS; r++) {
        ab_history_span sp;
        ab_error err;
        size_t len = 0;
        double t0 = now();
        if (ab_history_plan(&e->state, hourly, T0 + DAYS * AB_DAY_MS - 1, &sp, &err)) {
            fprintf(stderr, "bench_history: %s\n", err.text);
            free(p);
            return -1;
        }
        if (csv) {
            char *text = ab_history_csv(&e->cfg, &e->state, &sp, p, &len);
            free(text);
            if (!text) len = 0;
        } else {
            json_t *o = ab_history_json(&e->cfg, &e->state, &sp, p);
            char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
            len = text ? strlen(text) : 0;
            free(text);
            json_decref(o);
        }
        t[r] = (now() - t0) * 1e3;
        if (!len) {
            free(p);
            return -1;
        }
        *bytes = len;
        *points = sp.npoints;
    }
    free(p);
    qsort(t, RUNS, sizeof t[0], cmp);
    return t[RUNS / 2];
}

int main(int argc, char **argv)
{
    long users = argc > 1 ? atol(argv[1]) : 10000000L;
    ab_error err = {0, ""};
    ab_experiment_config cfg;
    json_t *body = ab_jin_parse_text("{\"variants\": [\"v0\",\"v1\",\"v2\",\"v3\",\"v4\",\"v5\","
                                     "\"v6\",\"v7\",\"v8\",\"v9\"], \"min_days\": 0}", &err);
    ab_live *e;
    struct utsname u;
    char name[32];
    double t0;

    ab_stats_init();
    if (!body || ab_experiment_parse("big", body, &cfg, &err) || !(e = ab_live_new(&cfg, 1, 0, 0))) {
        fprintf(stderr, "bench_history: cannot make the experiment: %s\n", err.text);
        return 1;
    }
    json_decref(body);
    t0 = now();
    for (long i = 0; i < users; i++) {
        ab_event ev;
        int v = (int)(i % K);
        memset(&ev, 0, sizeof ev);
        snprintf(name, sizeof name, "u%ld", i);
        ev.user = name;
        ev.user_len = strlen(name);
        ev.type = AB_EVENT_EXPOSURE;
        ev.variant = v;
        ev.phase = AB_PHASE_DECISION;
        ev.value = NAN;
        ev.covariate = NAN;
        ev.score = -1;
        ev.ts_ms = T0 + (int64_t)(next() % (unsigned long long)(DAYS * AB_DAY_MS - 600000));
        if (ab_state_apply(&e->state, &ev) == AB_APPLY_NOMEM) goto oom;
        unsigned long long r = next() % 1000;
        if (r < 50 + (unsigned)v) {
            ev.type = AB_EVENT_CONVERSION;
            ev.value = 10.0 + (double)(r % 50);
            ev.ts_ms += 60000;
            if (ab_state_apply(&e->state, &ev) == AB_APPLY_NOMEM) goto oom;
        }
        if (r >= 900 && r < 950) {
            ev.type = AB_EVENT_NPS;
            ev.phase = AB_PHASE_ADVOCACY;
            ev.score = (int)(r % 11);
            ev.ts_ms += 120000;
            if (ab_state_apply(&e->state, &ev) == AB_APPLY_NOMEM) goto oom;
        }
    }
    uname(&u);
    printf("bench_history: GET /history rendered in-process (walk, analysis per point, text)\n");
    printf("machine: %s %s, 1 thread; %ld users, %d variants, %d days, counted in %.1f s\n",
           u.machine, u.release, users, K, DAYS, now() - t0);
    printf("history: %zu bytes (%zu days with data)\n",
           ab_history_bytes(&e->state.history, K), e->state.history.n);
    printf("render          points   bytes      median (ms)\n");
    static const struct { const char *what; int hourly, csv; } r[] = {
        {"json, day", 0, 0}, {"csv, day", 0, 1}, {"json, hour", 1, 0}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        size_t bytes = 0, points = 0;
        double ms = time_render(e, r[i].hourly, r[i].csv, &bytes, &points);
        if (ms < 0) {
            fprintf(stderr, "bench_history: rendering failed\n");
            ab_live_free(e);
            return 1;
        }
        printf("%-15s %6zu %9zu %12.2f\n", r[i].what, points, bytes, ms);
    }
    ab_live_free(e);
    return 0;
oom:
    fprintf(stderr, "bench_history: out of memory counting\n");
    ab_live_free(e);
    return 1;
}
