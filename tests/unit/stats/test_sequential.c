/* test_sequential.c — the mSPRT of SPEC section 6 against the formula
 * evaluated in R (tests/reference/sequential.tsv, made by sequential.R). */
#include "abstat/stats.h"
#include "test.h"

static void check_reference(void)
{
    ref_file *f = ref_open("sequential.tsv");
    ref_row r;
    int rows = 0;
    while (ref_next(f, &r)) {
        ab_seq_result s;
        CHECK_INT(r.nv, 8);
        CHECK_INT(ab_seq_msprt(r.v[0], r.v[1], r.v[2], r.v[3], r.v[4], &s), AB_OK);
        /* R evaluates Lambda itself, which overflows to Inf (p = 0) once
         * 1/Lambda drops below ~1e-308; we work in log space and give the
         * subnormal or 0 value there. Both are 0 for every purpose. */
        CHECK_CLOSE(s.p_value, r.v[5], 1e-6, 1e-300);
        CHECK_REL(s.ci.lo, r.v[6], 1e-6);
        CHECK_REL(s.ci.hi, r.v[7], 1e-6);
        CHECK(!isinf(s.p_value) && !isinf(s.ci.lo) && !isinf(s.ci.hi));
        rows++;
    }
    ref_close(f);
    test_context[0] = '\0';
    CHECK(rows >= 150);
}

static void check_invalid(void)
{
    ab_seq_result s;
    const double bad_tuning[] = {0.0, -1.0, NAN, INFINITY, -INFINITY};
    const double bad_alpha[] = {0.0, 1.0, NAN, -0.5, INFINITY};
    for (size_t i = 0; i < sizeof bad_tuning / sizeof *bad_tuning; i++)
        CHECK_INT(ab_seq_msprt(0.01, 1e-5, 1000, 0.05, bad_tuning[i], &s), AB_EINVAL);
    for (size_t i = 0; i < sizeof bad_alpha / sizeof *bad_alpha; i++)
        CHECK_INT(ab_seq_msprt(0.01, 1e-5, 1000, bad_alpha[i], 5000, &s), AB_EINVAL);
    CHECK_INT(ab_seq_msprt(0.01, 1e-5, -1, 0.05, 5000, &s), AB_EINVAL);
    CHECK_INT(ab_seq_msprt(0.01, 1e-5, 2.5, 0.05, 5000, &s), AB_EINVAL);
    CHECK_INT(ab_seq_msprt(0.01, 1e-5, INFINITY, 0.05, 5000, &s), AB_EINVAL);
    CHECK_INT(ab_seq_msprt(0.01, -1e-5, 1000, 0.05, 5000, &s), AB_EINVAL);
    CHECK_INT(ab_seq_msprt(0.01, INFINITY, 1000, 0.05, 5000, &s), AB_EINVAL);
    CHECK_INT(ab_seq_msprt(INFINITY, 1e-5, 1000, 0.05, 5000, &s), AB_EINVAL);
    CHECK_INT(ab_seq_msprt(0.01, 1e-5, 1000, 0.05, 5000, NULL), AB_EINVAL);
}

static void check_edges(void)
{
    ab_seq_result s;
    /* Undefined: V = 0 (0/1 against 1/1), no users, NaN estimate. */
    CHECK_INT(ab_seq_msprt(-1.0, 0.0, 2, 0.05, 5000, &s), AB_OK);
    CHECK(isnan(s.p_value) && isnan(s.ci.lo) && isnan(s.ci.hi));
    CHECK_INT(ab_seq_msprt(0.1, 0.01, 0, 0.05, 5000, &s), AB_OK);
    CHECK(isnan(s.p_value) && isnan(s.ci.lo) && isnan(s.ci.hi));
    CHECK_INT(ab_seq_msprt(NAN, NAN, 10, 0.05, 5000, &s), AB_OK);
    CHECK(isnan(s.p_value) && isnan(s.ci.lo) && isnan(s.ci.hi));
    /* Astronomical Lambda: p is 0, never NaN or Inf. */
    CHECK_INT(ab_seq_msprt(0.5, 1e-300, 9007199254740992.0, 0.05, 1e-3, &s), AB_OK);
    CHECK(s.p_value == 0.0 && isfinite(s.ci.lo) && isfinite(s.ci.hi));
    /* Found by fuzzing /v1/analyze: a tuning so small (or so large) that N
     * rho^2 (or the interval's width) overflows is p = 1 with an unbounded
     * interval, not AB_ENUMERIC (which answered 500). */
    CHECK_INT(ab_seq_msprt(0.2, 1e-3, 9007154741011.0, 0.05, 1e-300, &s), AB_OK);
    CHECK(s.p_value == 1.0 && s.ci.lo == -INFINITY && s.ci.hi == INFINITY);
    CHECK_INT(ab_seq_msprt(0.2, 1e-3, 2, 0.001, 1e-308, &s), AB_OK);
    CHECK(s.p_value == 1.0 && isinf(s.ci.lo) && isinf(s.ci.hi));
    CHECK_INT(ab_seq_msprt(5.0, 1e30, 2, 0.05, 1.7e308, &s), AB_OK);
    CHECK(s.p_value == 1.0 && s.ci.lo == -INFINITY && s.ci.hi == INFINITY);
    /* N adds two arms of up to 2^53 users each: more than one count may
     * hold, still valid (was AB_EINVAL, /v1/analyze's "invalid argument"). */
    CHECK_INT(ab_seq_msprt(0.1, 0.01, 2 * 9007199254740992.0, 0.05, 5000, &s), AB_OK);
    CHECK(s.p_value >= 0.0 && s.p_value <= 1.0 && isfinite(s.ci.lo) && isfinite(s.ci.hi));
    /* The SPEC section 5 example. */
    CHECK_INT(ab_seq_msprt(300.0 / 5100 - 0.05, 2.0355553293981951e-05, 10100, 0.05, 5000, &s), AB_OK);
    CHECK_CLOSE(s.p_value, 0.6821, 0, 5e-5);
    CHECK_CLOSE(s.ci.lo, -0.004992, 0, 5e-7);
    CHECK_CLOSE(s.ci.hi, 0.02264, 0, 5e-6);
}

int main(void)
{
    ab_stats_init();
    check_reference();
    check_invalid();
    check_edges();
    return TEST_DONE("test_sequential");
}
