/* test_prop.c — Wilson intervals and two-rate comparisons against R's
 * prop.test (tests/reference/prop.tsv, made by prop.R). */
#include <string.h>

#include "abstat/stats.h"
#include "test.h"

/* A figure that is defined must be finite: no Inf leaks into JSON. */
#define CHECK_NOT_INF(v) CHECK(!isinf(v))

static void check_reference(void)
{
    ref_file *f = ref_open("prop.tsv");
    ref_row r;
    int wilson = 0, cmp = 0;
    while (ref_next(f, &r)) {
        if (!strncmp(r.tag, "wilson_", 7)) {
            ab_interval ci;
            CHECK_INT(r.nv, 5);
            CHECK_INT(ab_prop_wilson_ci(r.v[0], r.v[1], r.v[2], &ci), AB_OK);
            CHECK_REL(ci.lo, r.v[3], 1e-6);
            CHECK_REL(ci.hi, r.v[4], 1e-6);
            wilson++;
        } else if (!strncmp(r.tag, "cmp_", 4)) {
            ab_prop_comparison c;
            CHECK_INT(r.nv, 14);
            CHECK_INT(ab_prop_compare(r.v[0], r.v[1], r.v[2], r.v[3], r.v[4], &c), AB_OK);
            CHECK_REL(c.diff, r.v[5], 1e-6);
            CHECK_REL(c.diff_ci.lo, r.v[6], 1e-6);
            CHECK_REL(c.diff_ci.hi, r.v[7], 1e-6);
            CHECK_REL(c.lift, r.v[8], 1e-6);
            CHECK_REL(c.lift_ci.lo, r.v[9], 1e-6);
            CHECK_REL(c.lift_ci.hi, r.v[10], 1e-6);
            CHECK_REL(c.z, r.v[11], 1e-6);
            /* Below 1e-300 R's p (pchisq of z^2) and ours (2 Q(|z|)) are
             * both in or near the subnormal range, where neither keeps six
             * digits; both are 0 for every purpose. */
            CHECK_CLOSE(c.p_value, r.v[12], 1e-6, 1e-300);
            CHECK_REL(c.var, r.v[13], 1e-6);
            CHECK_NOT_INF(c.diff);
            CHECK_NOT_INF(c.lift);
            CHECK_NOT_INF(c.lift_ci.lo);
            CHECK_NOT_INF(c.lift_ci.hi);
            CHECK_NOT_INF(c.z);
            cmp++;
        } else {
            CHECK(!"unknown tag");
        }
    }
    ref_close(f);
    CHECK(wilson >= 100);
    CHECK(cmp >= 200);
}

static void check_invalid(void)
{
    ab_interval ci;
    ab_prop_comparison c;
    const double bad_counts[] = {-1.0, 0.5, NAN, INFINITY, -INFINITY, 1e300};
    const double bad_alpha[] = {0.0, 1.0, -0.1, 1.5, NAN, INFINITY};

    for (size_t i = 0; i < sizeof bad_counts / sizeof *bad_counts; i++) {
        double b = bad_counts[i];
        CHECK_INT(ab_prop_wilson_ci(b, 10, 0.05, &ci), AB_EINVAL);
        CHECK_INT(ab_prop_wilson_ci(1, b, 0.05, &ci), AB_EINVAL);
        CHECK_INT(ab_prop_compare(b, 10, 1, 10, 0.05, &c), AB_EINVAL);
        CHECK_INT(ab_prop_compare(1, b, 1, 10, 0.05, &c), AB_EINVAL);
        CHECK_INT(ab_prop_compare(1, 10, b, 10, 0.05, &c), AB_EINVAL);
        CHECK_INT(ab_prop_compare(1, 10, 1, b, 0.05, &c), AB_EINVAL);
    }
    for (size_t i = 0; i < sizeof bad_alpha / sizeof *bad_alpha; i++) {
        CHECK_INT(ab_prop_wilson_ci(1, 10, bad_alpha[i], &ci), AB_EINVAL);
        CHECK_INT(ab_prop_compare(1, 10, 1, 10, bad_alpha[i], &c), AB_EINVAL);
    }
    /* More conversions than users. */
    CHECK_INT(ab_prop_wilson_ci(11, 10, 0.05, &ci), AB_EINVAL);
    CHECK_INT(ab_prop_wilson_ci(1, 0, 0.05, &ci), AB_EINVAL);
    CHECK_INT(ab_prop_compare(11, 10, 1, 10, 0.05, &c), AB_EINVAL);
    CHECK_INT(ab_prop_compare(1, 10, 3, 2, 0.05, &c), AB_EINVAL);
    CHECK_INT(ab_prop_wilson_ci(1, 10, 0.05, NULL), AB_EINVAL);
    CHECK_INT(ab_prop_compare(1, 10, 1, 10, 0.05, NULL), AB_EINVAL);
}

static void check_edges(void)
{
    ab_interval ci;
    ab_prop_comparison c;

    /* n = 0: undefined rate, not an error. */
    CHECK_INT(ab_prop_wilson_ci(0, 0, 0.05, &ci), AB_OK);
    CHECK(isnan(ci.lo) && isnan(ci.hi));
    CHECK_INT(ab_prop_compare(0, 0, 0, 0, 0.05, &c), AB_OK);
    CHECK(isnan(c.diff) && isnan(c.z) && isnan(c.p_value) && isnan(c.var));
    CHECK(isnan(c.lift) && isnan(c.diff_ci.lo) && isnan(c.lift_ci.hi));

    /* Both rates 0 or both 1: z and p undefined, diff and its CI 0. */
    CHECK_INT(ab_prop_compare(0, 1e9, 0, 1e9, 0.05, &c), AB_OK);
    CHECK(isnan(c.z) && isnan(c.p_value) && isnan(c.lift));
    CHECK(c.diff == 0.0 && c.var == 0.0);
    CHECK_INT(ab_prop_compare(1e9, 1e9, 5, 5, 0.05, &c), AB_OK);
    CHECK(isnan(c.z) && isnan(c.p_value));
    CHECK(c.lift == 0.0 && c.lift_ci.lo == 0.0 && c.lift_ci.hi == 0.0);

    /* The largest exact counts still give finite figures. */
    CHECK_INT(ab_prop_compare(1, 9007199254740992.0, 2, 9007199254740992.0, 0.05, &c), AB_OK);
    CHECK(isfinite(c.diff) && isfinite(c.z) && isfinite(c.p_value) && isfinite(c.lift));
    CHECK_INT(ab_prop_wilson_ci(1, 9007199254740992.0, 1e-10, &ci), AB_OK);
    CHECK(isfinite(ci.lo) && isfinite(ci.hi) && ci.lo >= 0.0 && ci.hi <= 1.0 && ci.lo < ci.hi);

    /* The SPEC section 5 example, to the digits printed there. */
    CHECK_INT(ab_prop_compare(300, 5100, 250, 5000, 0.05, &c), AB_OK);
    CHECK_CLOSE(c.diff, 0.008824, 0, 5e-7);
    CHECK_CLOSE(c.z, 1.9538, 0, 5e-5);
    CHECK_CLOSE(c.p_value, 0.05072, 0, 5e-6);
    CHECK_CLOSE(c.lift, 0.1765, 0, 5e-5);
    CHECK_CLOSE(c.diff_ci.lo, -0.0000193, 0, 5e-8);
    CHECK_CLOSE(c.diff_ci.hi, 0.01767, 0, 5e-6);
    CHECK_CLOSE(c.lift_ci.lo, -0.01558, 0, 5e-6);
    CHECK_CLOSE(c.lift_ci.hi, 0.3685, 0, 5e-5);
    CHECK_INT(ab_prop_wilson_ci(250, 5000, 0.05, &ci), AB_OK);
    CHECK_CLOSE(ci.lo, 0.04430, 0, 5e-6);
    CHECK_CLOSE(ci.hi, 0.05639, 0, 5e-6);
}

int main(void)
{
    ab_stats_init();
    check_reference();
    test_context[0] = '\0';
    check_invalid();
    check_edges();
    return TEST_DONE("test_prop");
}
