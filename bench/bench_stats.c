/* bench_stats.c — the cost of one full analysis of a 10-variant experiment
 * (every phase, revenue and NPS, all comparisons with corrections), at
 * small and huge counts, against a reference measured in the same run: the
 * cost of just reading the counts (a sum over the same arrays). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "core/analysis.h"
#include "abstat/stats.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fill(ab_arm_counts *arms, size_t k, double users, double rate)
{
    memset(arms, 0, k * sizeof *arms);
    for (size_t i = 0; i < k; i++) {
        double n = users + 37.0 * (double)i;
        double r = rate * (1.0 + 0.01 * (double)i);
        arms[i].users = n;
        for (int ph = 0; ph < AB_PHASE_COUNT; ph++)
            arms[i].conversions[ph] = (double)(long long)(n * r / (1 + ph));
        arms[i].revenue.n = n;
        arms[i].revenue.sum = 2.5 * n;
        arms[i].revenue.sumsq = 200.0 * n;
        arms[i].promoters = (double)(long long)(0.4 * n / 10);
        arms[i].passives = (double)(long long)(0.3 * n / 10);
        arms[i].detractors = (double)(long long)(0.3 * n / 10);
    }
}

/* Median-free: the mean over enough runs to take ~0.3 s. */
static double time_analysis(const ab_analysis_opts *opts, const ab_arm_counts *arms,
                            size_t k, ab_arm_result *res, int *ok)
{
    int reps = 0;
    double t0 = now(), t;
    *ok = 1;
    do {
        for (int i = 0; i < 50; i++)
            if (ab_analysis_run(opts, arms, k, res) != AB_OK) *ok = 0;
        reps += 50;
        t = now() - t0;
    } while (t < 0.3);
    return t / reps;
}

static double time_reference(const ab_arm_counts *arms, size_t k)
{
    volatile double sink = 0;
    int reps = 0;
    double t0 = now(), t;
    do {
        for (int r = 0; r < 1000; r++) {
            double s = 0;
            for (size_t i = 0; i < k; i++) {
                s += arms[i].users + arms[i].revenue.sum + arms[i].promoters;
                for (int ph = 0; ph < AB_PHASE_COUNT; ph++) s += arms[i].conversions[ph];
            }
            sink += s;
        }
        reps += 1000;
        t = now() - t0;
    } while (t < 0.1);
    (void)sink;
    return t / reps;
}

int main(void)
{
    static ab_arm_counts arms[10];
    static ab_arm_result res[10];
    const double sizes[] = {1000, 1e6, 1e9};
    struct utsname u;
    ab_analysis_opts opts;
    int all_ok = 1;

    ab_stats_init();
    memset(&opts, 0, sizeof opts);
    opts.cmp.alpha = 0.05;
    opts.cmp.method = AB_METHOD_SEQUENTIAL;
    opts.cmp.tuning = 5000;
    opts.cmp.correction = AB_CORRECT_HOLM;
    opts.phase = AB_PHASE_DECISION;
    opts.metric = AB_METRIC_CONVERSION;
    opts.phases = (1u << AB_PHASE_COUNT) - 1;
    opts.revenue = opts.nps = 1;

    uname(&u);
    printf("bench_stats: one full analysis of a 10-variant experiment "
           "(5 phases + revenue + NPS, Holm, sequential, Fisher where <= 10000 conversions)\n");
    printf("machine: %s %s, 1 thread\n", u.machine, u.release);
    printf("%-14s %16s %16s %18s\n", "users/variant", "full (us)", "goal phase (us)",
           "read counts (us)");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int ok, ok2;
        ab_analysis_opts primary = opts;
        fill(arms, 10, sizes[s], 0.05);
        double t = time_analysis(&opts, arms, 10, res, &ok);
        /* Only the goal phase: what the verdict needs. */
        primary.phases = 0;
        primary.revenue = primary.nps = 0;
        double t2 = time_analysis(&primary, arms, 10, res, &ok2);
        double r = time_reference(arms, 10);
        printf("%-14.0f %16.1f %16.1f %18.4f%s\n", sizes[s], t * 1e6, t2 * 1e6, r * 1e6,
               ok && ok2 ? "" : "  (FAILED)");
        all_ok &= ok && ok2;
    }
    printf("(the Bayesian integral, ~10 us a comparison, is most of it: 9 per phase)\n");
    return all_ok ? 0 : 1;
}
