/* test_srm_sequential.c — ab_srm_sequential (stats/chisq.c), the anytime-valid
 * sample-ratio test, against the lgamma formula evaluated in 256 bits by R
 * (tests/reference/srm_sequential.tsv, made by srm_sequential.R); invalid
 * input; and seeded simulations: healthy splits looked at 1,000 times alert
 * falsely in at most 1 % of experiments (Pearson's chi-square re-run at every
 * look: clearly more), and a 51/49 split is found by 10^5 users. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "abstat/stats.h"
#include "test.h"

/* Rows: tag k users1..k w1..k concentration log_bf p_value. */
static void reference_cases(void)
{
    ref_file *f = ref_open("srm_sequential.tsv");
    ref_row r;
    int rows = 0, big = 0, mid_p = 0;
    while (ref_next(f, &r)) {
        snprintf(test_context, sizeof test_context, "%s (line %d)", r.tag, r.line);
        if (r.nv < 1) {
            CHECK(r.nv >= 1);
            continue;
        }
        size_t k = (size_t)r.v[0];
        size_t want_nv = 1 + 2 * k + 3;
        CHECK_INT(r.nv, want_nv);
        if (r.nv != want_nv) continue;
        const double *users = &r.v[1], *w = &r.v[1 + k], *want = &r.v[1 + 2 * k];
        ab_srm_seq_result res;
        CHECK_INT(ab_srm_sequential(users, w, k, want[0], &res), AB_OK);
        /* p = exp(-ln BF): 1e-6 relative in p is 1e-6 absolute in ln BF. */
        CHECK_CLOSE(res.log_bf, want[1], 1e-9, 1e-9);
        CHECK_REL(res.p_value, want[2], 1e-6);
        rows++;
        double N = 0;
        for (size_t i = 0; i < k; i++) N += users[i];
        if (N >= 1e9) big++;
        if (want[2] > 1e-300 && want[2] < 1) mid_p++;
    }
    ref_close(f);
    test_context[0] = '\0';
    CHECK(rows >= 100);
    CHECK(big >= 20);
    CHECK(mid_p >= 30);
}

static void invalid_input(void)
{
    double u[AB_MAX_ARMS + 1], w[AB_MAX_ARMS + 1];
    ab_srm_seq_result res;
    const double c = AB_SRM_PRIOR_CONCENTRATION;
    for (size_t i = 0; i <= AB_MAX_ARMS; i++) {
        u[i] = 10;
        w[i] = 1;
    }
    /* Arms: as ab_srm_check. */
    CHECK_INT(ab_srm_sequential(u, w, 0, c, &res), AB_EINVAL);
    CHECK_INT(ab_srm_sequential(u, w, 1, c, &res), AB_EINVAL);
    CHECK_INT(ab_srm_sequential(u, w, AB_MAX_ARMS + 1, c, &res), AB_ERANGE);
    CHECK_INT(ab_srm_sequential(u, w, AB_MAX_ARMS, c, &res), AB_OK);
    CHECK_INT(ab_srm_sequential(NULL, w, 2, c, &res), AB_EINVAL);
    CHECK_INT(ab_srm_sequential(u, NULL, 2, c, &res), AB_EINVAL);
    CHECK_INT(ab_srm_sequential(u, w, 2, c, NULL), AB_EINVAL);
    /* Counts: negative, fractional, NaN, infinite, beyond 2^53. */
    const double bad[] = {-1, 0.5, NAN, INFINITY, -INFINITY, 9007199254740994.0, 1e300};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double bu[2] = {1, bad[i]}, half[2] = {0.5, 0.5};
        CHECK_INT(ab_srm_sequential(bu, half, 2, c, &res), AB_EINVAL);
    }
    /* 2^53 itself is a count. */
    double top[2] = {9007199254740992.0, 9007199254740992.0}, half[2] = {0.5, 0.5};
    CHECK_INT(ab_srm_sequential(top, half, 2, c, &res), AB_OK);
    CHECK(res.p_value == 1.0);
    /* Weights: negative, NaN, infinite, all zero. */
    const double badw[] = {-0.5, NAN, INFINITY};
    double obs[2] = {10, 12};
    for (size_t i = 0; i < sizeof badw / sizeof *badw; i++) {
        double bw[2] = {0.5, badw[i]};
        CHECK_INT(ab_srm_sequential(obs, bw, 2, c, &res), AB_EINVAL);
    }
    double w0[2] = {0, 0};
    CHECK_INT(ab_srm_sequential(obs, w0, 2, c, &res), AB_EINVAL);
    /* Concentration: positive and finite; c p_i must not underflow. */
    const double badc[] = {0, -1, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof badc / sizeof *badc; i++)
        CHECK_INT(ab_srm_sequential(obs, half, 2, badc[i], &res), AB_EINVAL);
    double skew[2] = {1, 1e-290};
    CHECK_INT(ab_srm_sequential(obs, skew, 2, 1e-20, &res), AB_EINVAL); /* 1e-310 */
    CHECK_INT(ab_srm_sequential(obs, skew, 2, 1e-10, &res), AB_OK);     /* 1e-300 */
    CHECK(isfinite(res.log_bf) && res.log_bf > 100);
    CHECK_INT(ab_srm_sequential(obs, half, 2, 1e300, &res), AB_OK);
    CHECK(isfinite(res.log_bf) && res.p_value == 1.0);
}

static void properties(void)
{
    ab_srm_seq_result a, b;
    const double c = AB_SRM_PRIOR_CONCENTRATION;
    /* No users: p = 1; with a single one: BF = 1 exactly (a prior centred
     * on the split predicts the first user as the split does). */
    double none[3] = {0, 0, 0}, one[3] = {0, 1, 0}, w3[3] = {1, 2, 3};
    CHECK_INT(ab_srm_sequential(none, w3, 3, c, &a), AB_OK);
    CHECK(a.log_bf == 0.0 && a.p_value == 1.0);
    CHECK_INT(ab_srm_sequential(one, w3, 3, c, &a), AB_OK);
    CHECK_CLOSE(a.log_bf, 0.0, 0.0, 1e-12);
    CHECK(a.p_value == 1.0);
    /* Weights are normalised; arm order does not matter. */
    double u[3] = {2300, 3000, 4700}, wa[3] = {2, 3, 5}, wb[3] = {0.2, 0.3, 0.5};
    double ur[3] = {4700, 2300, 3000}, wr[3] = {5, 2, 3};
    CHECK_INT(ab_srm_sequential(u, wa, 3, c, &a), AB_OK);
    CHECK_INT(ab_srm_sequential(u, wb, 3, c, &b), AB_OK);
    CHECK_CLOSE(a.log_bf, b.log_bf, 1e-12, 1e-12);
    CHECK_INT(ab_srm_sequential(ur, wr, 3, c, &b), AB_OK);
    CHECK_CLOSE(a.log_bf, b.log_bf, 1e-12, 1e-12);
    CHECK(a.p_value < 1e-6);
    /* A zero-weight arm without users is as if absent; with one user the
     * split is broken for certain. */
    double u2[2] = {480, 520}, h2[2] = {0.5, 0.5};
    double u3[3] = {480, 0, 520}, h3[3] = {0.5, 0, 0.5}, u3b[3] = {480, 1, 520};
    CHECK_INT(ab_srm_sequential(u2, h2, 2, c, &a), AB_OK);
    CHECK_INT(ab_srm_sequential(u3, h3, 3, c, &b), AB_OK);
    CHECK(a.log_bf == b.log_bf);
    CHECK_INT(ab_srm_sequential(u3b, h3, 3, c, &b), AB_OK);
    CHECK(isinf(b.log_bf) && b.log_bf > 0 && b.p_value == 0.0);
    /* Far from the split at 10^9 users: p underflows to 0, ln BF stays
     * finite and huge. */
    double far[2] = {1.2e9, 0.8e9};
    CHECK_INT(ab_srm_sequential(far, h2, 2, c, &a), AB_OK);
    CHECK(isfinite(a.log_bf) && a.log_bf > 1e7 && a.p_value == 0.0);
    /* Every user in one arm, all 64 arms even, 2^53 users. */
    double allin[2] = {9007199254740992.0, 0};
    CHECK_INT(ab_srm_sequential(allin, h2, 2, c, &a), AB_OK);
    CHECK(isfinite(a.log_bf) && a.p_value == 0.0);
    double many[AB_MAX_ARMS], wm[AB_MAX_ARMS];
    for (size_t i = 0; i < AB_MAX_ARMS; i++) {
        many[i] = 9007199254740992.0;
        wm[i] = 1;
    }
    CHECK_INT(ab_srm_sequential(many, wm, AB_MAX_ARMS, c, &a), AB_OK);
    CHECK(isfinite(a.log_bf) && a.p_value == 1.0);
    /* For large N, ln BF ~ (N/(N+c)) X²/2 - ((k-1)/2) ln(1 + N/c). */
    double s[2] = {51000, 49000};
    ab_chisq_result chi;
    int alert;
    CHECK_INT(ab_srm_sequential(s, h2, 2, c, &a), AB_OK);
    CHECK_INT(ab_srm_check(s, h2, 2, &chi, &alert), AB_OK);
    double approx = 1e5 / (1e5 + c) * chi.statistic / 2 - 0.5 * log1p(1e5 / c);
    CHECK_CLOSE(a.log_bf, approx, 0.01, 0.0);
}

/* Healthy 50/50 experiments, 100 users a look, 1,000 looks each. */
#define SIM_RUNS 2000
#define SIM_LOOKS 1000
#define SIM_USERS 100
#define SIM_ALERT 0.001

/* Runs `runs` experiments whose arm 0 gets each user with probability
 * share; counts those whose running minimum p fell below SIM_ALERT at any
 * look (*seq) and those where Pearson's check alerted at any look. */
static void simulate(gsl_rng *rng, int runs, double share, int *seq, int *pearson,
                     int *seq05)
{
    const double half[2] = {0.5, 0.5};
    *seq = *pearson = *seq05 = 0;
    for (int x = 0; x < runs; x++) {
        double u[2] = {0, 0}, min_p = 1;
        int chi_hit = 0;
        for (int look = 0; look < SIM_LOOKS; look++) {
            double a = gsl_ran_binomial(rng, share, SIM_USERS);
            u[0] += a;
            u[1] += SIM_USERS - a;
            ab_srm_seq_result r;
            if (ab_srm_sequential(u, half, 2, AB_SRM_PRIOR_CONCENTRATION, &r) != AB_OK) {
                test_fail(__FILE__, __LINE__, "ab_srm_sequential failed");
                return;
            }
            if (r.p_value < min_p) min_p = r.p_value;
            /* Pearson's statistic for an even split is (u0 - u1)²/N; below
             * 9 its p is above 0.0027, so ab_srm_check (whose chi-square
             * tail would take half the test's time) cannot alert there. */
            double diff = u[0] - u[1];
            if (!chi_hit && diff * diff > 9.0 * (u[0] + u[1])) {
                ab_chisq_result chi;
                int alert = 0;
                if (ab_srm_check(u, half, 2, &chi, &alert) != AB_OK) {
                    test_fail(__FILE__, __LINE__, "ab_srm_check failed");
                    return;
                }
                chi_hit = alert;
            }
            if (chi_hit && min_p < SIM_ALERT) break; /* all three have answered */
        }
        *seq += min_p < SIM_ALERT;
        *seq05 += min_p < 0.05;
        *pearson += chi_hit;
    }
}

static void simulation(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    CHECK(rng != NULL);
    if (!rng) return;
    clock_t t0 = clock();
    gsl_rng_set(rng, 20260917);
    int seq, pearson, seq05;
    simulate(rng, SIM_RUNS, 0.5, &seq, &pearson, &seq05);
    double seq_rate = (double)seq / SIM_RUNS, chi_rate = (double)pearson / SIM_RUNS;
    printf("srm_sim: healthy 50/50, %d experiments x %d looks (%d users a look): "
           "anytime-valid running-min p < %g in %.2f %% (%d), Pearson chi-square "
           "p < %g at any look in %.2f %% (%d)\n",
           SIM_RUNS, SIM_LOOKS, SIM_USERS, SIM_ALERT, 100 * seq_rate, seq, SIM_ALERT,
           100 * chi_rate, pearson);
    printf("srm_sim: healthy 50/50, same runs: running-min p < 0.05 in %.2f %% (Ville: <= 5 %%)\n",
           100.0 * seq05 / SIM_RUNS);
    CHECK(seq_rate <= 0.01);
    CHECK(seq05 <= 0.05 * SIM_RUNS);
    /* Ville: at most 0.1 % in expectation; 2000 runs make 10 (0.5 %) a
     * 5-sigma excess. */
    CHECK(seq <= 10);
    CHECK(chi_rate >= 0.01);
    CHECK(pearson >= 3 * seq + 10);

    /* What c buys: a 51/49 split (one share point off) over the same
     * looks, i.e. by 10^5 users. */
    gsl_rng_set(rng, 20260918);
    const int power_runs = 200;
    simulate(rng, power_runs, 0.51, &seq, &pearson, &seq05);
    printf("srm_sim: broken 51/49, %d experiments x %d looks: detected (running-min p < %g "
           "by %d users) in %.1f %%\n",
           power_runs, SIM_LOOKS, SIM_ALERT, SIM_LOOKS * SIM_USERS, 100.0 * seq / power_runs);
    CHECK(seq >= 0.9 * power_runs);
    gsl_rng_free(rng);
    printf("srm_sim: %.2f s of CPU\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
}

int main(void)
{
    ab_stats_init();
    reference_cases();
    invalid_input();
    properties();
    simulation();
    return TEST_DONE("test_srm_sequential");
}
