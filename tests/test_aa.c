/* test_aa.c — why the sequential test exists: a seeded simulation of A/A
 * experiments, each evaluated after every increment exactly as the daemon
 * does (ab_evaluate), must call a variant better or worse in at most alpha
 * of them, while reading the fixed-horizon p at every look would flag far
 * more. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <string.h>

#include "../service/evaluate.h"
#include "../service/jsonin.h"
#include "abstat/stats.h"
#include "test.h"

#define EXPERIMENTS 400
#define LOOKS 25
#define USERS_PER_LOOK 400 /* per arm */
#define RATE 0.10

static ab_live *new_experiment(void)
{
    ab_error err = {0, ""};
    ab_experiment_config cfg;
    json_t *body = ab_jin_parse_text("{\"variants\":[\"a\",\"b\"],\"min_days\":0,\"min_users\":0}",
                                     &err);
    ab_live *e = NULL;
    if (body && ab_experiment_parse("aa", body, &cfg, &err) == 0) {
        e = ab_live_new(&cfg, 1, 0, 0);
        if (!e) ab_experiment_free(&cfg);
    }
    json_decref(body);
    return e;
}

int main(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    static ab_evaluation ev;
    int seq_flagged = 0, naive_flagged = 0, final_flagged = 0, ran = 0;

    ab_stats_init();
    if (!rng) return TEST_DONE("test_aa");
    gsl_rng_set(rng, 20261123);
    for (int x = 0; x < EXPERIMENTS; x++) {
        ab_live *e = new_experiment();
        int seq = 0, naive = 0;
        CHECK(e != NULL);
        if (!e) break;
        for (int look = 0; look < LOOKS; look++) {
            for (size_t arm = 0; arm < 2; arm++) {
                ab_arm_counts *a = &e->state.arms[arm];
                a->users += USERS_PER_LOOK;
                a->revenue.n = a->users;
                a->conversions[AB_PHASE_DECISION] +=
                    gsl_ran_binomial(rng, RATE, USERS_PER_LOOK);
            }
            /* Event time advances a day per look (no minimum days here). */
            e->state.first_ts_ms = 0;
            e->state.last_ts_ms = (int64_t)look * 86400000;
            if (ab_evaluate(e, (int64_t)look * 86400000, &ev) != AB_OK) {
                test_fail(__FILE__, __LINE__, "evaluation failed");
                break;
            }
            if (ev.status[1] == AB_ARM_BETTER || ev.status[1] == AB_ARM_WORSE) seq = 1;
            if (ev.res[1].primary.p_value < 0.05) naive = 1;
        }
        final_flagged += ev.res[1].primary.p_value < 0.05;
        seq_flagged += seq;
        naive_flagged += naive;
        ran++;
        ab_live_free(e);
    }
    gsl_rng_free(rng);
    double seq_rate = (double)seq_flagged / ran, naive_rate = (double)naive_flagged / ran;
    printf("test_aa: %d A/A experiments x %d looks (%d users/arm/look, rate %.2f): "
           "sequential ever significant %.1f %%, fixed-horizon p < 0.05 at any look %.1f %% "
           "(at the last look only %.1f %%)\n",
           ran, LOOKS, USERS_PER_LOOK, RATE, 100 * seq_rate, 100 * naive_rate,
           100.0 * final_flagged / ran);
    CHECK_INT(ran, EXPERIMENTS);
    CHECK(seq_rate <= 0.05);
    CHECK(naive_rate >= 0.15);
    CHECK(naive_rate >= 3 * seq_rate);
    return TEST_DONE("test_aa");
}
