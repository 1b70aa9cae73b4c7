/* test_bayes.c — ab_bayes_beta_compare against R's reference values
 * (tests/reference/bayes.tsv, made by bayes.R), closed forms, symmetry and
 * invalid input. */
#include "test.h"

#include "abstat/stats.h"

/* Probabilities below this are compared absolutely: the C code truncates
 * each posterior at < 1e-19 of its mass, and a P(p_v > p_c) of 1e-20 means
 * "never" to every reader. Above it the comparison is relative. */
#define P_FLOOR 1e-15
/* The same for the loss, whose scale follows the rates (1e-10 at 1 in 1e9,
 * where relative accuracy still matters). */
#define L_FLOOR 1e-18

static double mean(double x, double n) { return (x + 1) / (n + 2); }

/* Both figures of (v, c) against those of (c, v): P(v > c) + P(c > v) = 1
 * and E[(p_c - p_v)^+] - E[(p_v - p_c)^+] = E[p_c] - E[p_v]. */
static void check_symmetry(double xv, double nv, double xc, double nc,
                           const ab_bayes_result *r)
{
    ab_bayes_result s;
    CHECK_INT(ab_bayes_beta_compare(xc, nc, xv, nv, &s), AB_OK);
    CHECK_CLOSE(r->prob_beat_control + s.prob_beat_control, 1.0, 0.0, 1e-12);
    double d = mean(xc, nc) - mean(xv, nv);
    double big = fmax(r->expected_loss, s.expected_loss);
    /* d here is rounded to ~eps of the means. */
    CHECK_CLOSE(r->expected_loss - s.expected_loss, d, 0.0,
                1e-9 * big + 4e-16 * fmax(mean(xc, nc), mean(xv, nv)));
}

static void test_reference(void)
{
    ref_file *f = ref_open("bayes.tsv");
    ref_row row;
    int rows = 0;
    while (ref_next(f, &row)) {
        CHECK_INT(row.nv, 6);
        if (row.nv != 6) continue;
        double xv = row.v[0], nv = row.v[1], xc = row.v[2], nc = row.v[3];
        double want_p = row.v[4], want_l = row.v[5];
        ab_bayes_result r;
        CHECK_INT(ab_bayes_beta_compare(xv, nv, xc, nc, &r), AB_OK);
        if (want_p <= 0.5) {
            CHECK_CLOSE(r.prob_beat_control, want_p, 1e-6, P_FLOOR);
        } else {
            CHECK_REL(r.prob_beat_control, want_p, 1e-6);
            /* Near 1 the figure that matters is 1 - P (1 - 1e-12 is not
             * 1 - 1e-11): relative again, down to the same floor. */
            CHECK_CLOSE(1.0 - r.prob_beat_control, 1.0 - want_p, 1e-6, P_FLOOR);
        }
        CHECK_CLOSE(r.expected_loss, want_l, 1e-6, L_FLOOR);
        check_symmetry(xv, nv, xc, nc, &r);
        rows++;
    }
    ref_close(f);
    test_context[0] = '\0';
    CHECK(rows >= 70);
}

/* SPEC section 5's example: control 250/5000, variant 300/5100. */
static void test_spec_example(void)
{
    ab_bayes_result r;
    CHECK_INT(ab_bayes_beta_compare(300, 5100, 250, 5000, &r), AB_OK);
    CHECK_CLOSE(r.prob_beat_control, 0.97458, 0.0, 5e-6);
    /* Exact (50-digit sum): 4.35588242638959e-05, i.e. 0.0000436. */
    CHECK_REL(r.expected_loss, 4.35588242638959e-05, 1e-6);
}

/* A uniform posterior (no users) against Beta(a, b) has closed forms at any
 * n: P(U > p) = 1 - E[p], E[(p - U)^+] = E[p^2] / 2, and the other way
 * P(p > U) = E[p], E[(U - p)^+] = E[(1 - p)^2] / 2. */
static void test_uniform_closed_forms(void)
{
    static const double ns[] = {0, 1, 2, 10, 13, 1000, 1e6, 1e9, 1e12};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        double n = ns[i], xs[] = {0, 1, floor(n / 3), n - 1, n};
        for (size_t j = 0; j < 5; j++) {
            double x = xs[j];
            if (x < 0 || x > n) continue;
            double a = x + 1, b = n - x + 1, m = a / (a + b);
            double ep2 = a * (a + 1) / ((a + b) * (a + b + 1));
            double eq2 = b * (b + 1) / ((a + b) * (a + b + 1));
            ab_bayes_result r;
            snprintf(test_context, sizeof test_context, "uniform vs %g/%g", x, n);
            CHECK_INT(ab_bayes_beta_compare(0, 0, x, n, &r), AB_OK);
            CHECK_CLOSE(r.prob_beat_control, b / (a + b), 1e-9, 1e-15);
            CHECK_REL(r.expected_loss, ep2 / 2, 1e-9);
            snprintf(test_context, sizeof test_context, "%g/%g vs uniform", x, n);
            CHECK_INT(ab_bayes_beta_compare(x, n, 0, 0, &r), AB_OK);
            CHECK_CLOSE(r.prob_beat_control, m, 1e-9, 1e-15);
            CHECK_REL(r.expected_loss, eq2 / 2, 1e-9);
        }
    }
    test_context[0] = '\0';
    ab_bayes_result r;
    CHECK_INT(ab_bayes_beta_compare(0, 0, 0, 0, &r), AB_OK);
    CHECK_REL(r.prob_beat_control, 0.5, 1e-12);
    CHECK_REL(r.expected_loss, 1.0 / 6, 1e-12); /* E|U1 - U2| / 2 */
}

/* Identical arms: P = 1/2 by symmetry, at every size. */
static void test_equal_arms(void)
{
    static const double c[][2] = {{0, 1},      {1, 2},     {3, 10},        {50, 1000},
                                  {1, 1e9},    {5e7, 1e9}, {999999999, 1e9}, {1e9, 1e9},
                                  {4503599627370496.0, 9007199254740992.0}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        ab_bayes_result r;
        snprintf(test_context, sizeof test_context, "equal %g/%g", c[i][0], c[i][1]);
        CHECK_INT(ab_bayes_beta_compare(c[i][0], c[i][1], c[i][0], c[i][1], &r), AB_OK);
        CHECK_CLOSE(r.prob_beat_control, 0.5, 0.0, 1e-12);
        CHECK(r.expected_loss > 0);
    }
    test_context[0] = '\0';
}

/* Valid input never gives NaN, Inf or a status other than AB_OK, and the
 * figures stay in range; a pseudo-random sweep over sizes and rates up to
 * the largest exact count. */
static void test_sweep(void)
{
    static const double ns[] = {0, 1, 2, 3, 7, 10, 11, 12, 20, 50, 100, 1000, 12345,
                                1e6, 1e8, 1e9, 1e12, 1e15, 9007199254740992.0};
    const size_t nn = sizeof ns / sizeof ns[0];
    unsigned long long s = 88172645463325252ULL; /* xorshift64 */
    int bad = 0;
    for (int i = 0; i < 4000; i++) {
        double u[4];
        for (int k = 0; k < 4; k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            u[k] = (double)(s >> 11) / 9007199254740992.0;
        }
        double nv = ns[(size_t)(u[0] * nn)], nc = ns[(size_t)(u[1] * nn)];
        /* Rates spread on a log scale from 1e-12 to 1, and their mirrors. */
        double rv = pow(10, -12 * u[2] * u[2]), rc = rv * (0.5 + u[3]);
        double xv = floor(fmin(rv, 1) * nv), xc = floor(fmin(rc, 1) * nc);
        if (i & 1) xv = nv - xv;
        if (i & 2) xc = nc - xc;
        ab_bayes_result r;
        ab_status st = ab_bayes_beta_compare(xv, nv, xc, nc, &r);
        int ok = st == AB_OK && isfinite(r.prob_beat_control) && isfinite(r.expected_loss) &&
                 r.prob_beat_control >= 0 && r.prob_beat_control <= 1 &&
                 r.expected_loss >= 0 && r.expected_loss <= 1;
        if (!ok && ++bad <= 10) /* the first few, then only the count */
            fprintf(stderr, "sweep: %.17g/%.17g vs %.17g/%.17g: status %d, P %g, loss %g\n",
                    xv, nv, xc, nc, (int)st, r.prob_beat_control, r.expected_loss);
    }
    CHECK_INT(bad, 0);
}

static void test_invalid(void)
{
    ab_bayes_result r;
    const double bad[][4] = {
        {6, 5, 1, 10},         {1, 10, 11, 10},       {-1, 10, 1, 10},
        {1, -10, 1, 10},       {1, 10, -1, 10},       {1, 10, 1, -10},
        {NAN, 10, 1, 10},      {1, NAN, 1, 10},       {1, 10, NAN, 10},
        {1, 10, 1, NAN},       {INFINITY, INFINITY, 1, 10},
        {1, INFINITY, 1, 10},  {1, 10, 1, INFINITY},  {0.5, 10, 1, 10},
        {1, 10.5, 1, 10},      {1, 10, 1.25, 10},     {1, 10, 1, 9.75},
        {1, 18014398509481984.0, 1, 10} /* 2^54: beyond exact counts */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(test_context, sizeof test_context, "invalid #%zu", i);
        CHECK_INT(ab_bayes_beta_compare(bad[i][0], bad[i][1], bad[i][2], bad[i][3], &r),
                  AB_EINVAL);
    }
    test_context[0] = '\0';
    CHECK_INT(ab_bayes_beta_compare(1, 10, 1, 10, NULL), AB_EINVAL);
}

int main(void)
{
    ab_stats_init();
    test_reference();
    test_spec_example();
    test_uniform_closed_forms();
    test_equal_arms();
    test_sweep();
    test_invalid();
    return TEST_DONE("test_bayes");
}
