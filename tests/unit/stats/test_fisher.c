/* test_fisher.c — Fisher's exact test against R's fisher.test
 * (tests/reference/fisher.tsv, made by fisher.R), invalid input and speed. */
#include <time.h>

#include "abstat/stats.h"
#include "test.h"

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check_reference(void)
{
    ref_file *f = ref_open("fisher.tsv");
    ref_row r;
    int rows = 0;
    while (ref_next(f, &r)) {
        double p = NAN;
        CHECK_INT(r.nv, 5);
        CHECK_INT(ab_fisher_exact_2x2(r.v[0], r.v[1], r.v[2], r.v[3], &p), AB_OK);
        CHECK_REL(p, r.v[4], 1e-6);
        CHECK(p >= 0.0 && p <= 1.0);
        /* The test is symmetric in rows and in columns, as R's is. */
        double q = NAN;
        CHECK_INT(ab_fisher_exact_2x2(r.v[2], r.v[3], r.v[0], r.v[1], &q), AB_OK);
        CHECK_REL(q, r.v[4], 1e-6);
        CHECK_INT(ab_fisher_exact_2x2(r.v[0], r.v[2], r.v[1], r.v[3], &q), AB_OK);
        CHECK_REL(q, r.v[4], 1e-6);
        rows++;
    }
    ref_close(f);
    test_context[0] = '\0';
    CHECK(rows >= 300);
}

static void check_invalid(void)
{
    double p;
    const double bad[] = {-1.0, 2.5, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(ab_fisher_exact_2x2(bad[i], 1, 1, 1, &p), AB_EINVAL);
        CHECK_INT(ab_fisher_exact_2x2(1, bad[i], 1, 1, &p), AB_EINVAL);
        CHECK_INT(ab_fisher_exact_2x2(1, 1, bad[i], 1, &p), AB_EINVAL);
        CHECK_INT(ab_fisher_exact_2x2(1, 1, 1, bad[i], &p), AB_EINVAL);
    }
    CHECK_INT(ab_fisher_exact_2x2(1, 1, 1, 1, NULL), AB_EINVAL);
    /* Margins beyond 2^53 are no longer exact integers. */
    CHECK_INT(ab_fisher_exact_2x2(4e15, 4e15, 4e15, 4e15, &p), AB_ERANGE);
}

/* Tables of a billion per cell are answered at once: only the part of the
 * support that carries the probability is walked. */
static void check_speed(void)
{
    const double tables[][4] = {
        {1e9, 1e9, 1e9, 1e9},
        {1e9 + 3e5, 1e9, 1e9, 1e9},
        {1e9 + 1e6, 1e9, 1e9, 1e9},       /* d_obs near the underflow */
        {1e9 + 1.2e6, 1e9, 1e9, 1e9},
        {1e9, 0, 0, 1e9},                 /* as extreme as can be */
        {5000, 1e9, 5000, 1e9},
        {1e12, 1e12, 1e12, 1e12 + 1e6},   /* beyond 1e9: O(sqrt(N)) steps */
    };
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        double p = NAN, t0 = seconds();
        const double *t = tables[i];
        CHECK_INT(ab_fisher_exact_2x2(t[0], t[1], t[2], t[3], &p), AB_OK);
        CHECK(p >= 0.0 && p <= 1.0);
        if (i < 6) CHECK(seconds() - t0 < 0.5);
    }
}

int main(void)
{
    ab_stats_init();
    check_reference();
    check_invalid();
    check_speed();
    return TEST_DONE("test_fisher");
}
