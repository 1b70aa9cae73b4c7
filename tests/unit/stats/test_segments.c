/* test_segments.c — ab_segments_heterogeneity (Cochran's Q) against R
 * (the het_ rows of tests/reference/journey.tsv, made by journey.R) and on
 * invalid input. */
#include <string.h>

#include "abstat/stats.h"
#include "test.h"

#define RTOL 1e-6

static void check_het_row(const ref_row *r)
{
    /* L d_1..d_L v_1..v_L | statistic df p_value pooled levels */
    if (r->nv < 1) {
        CHECK(r->nv >= 1);
        return;
    }
    size_t L = (size_t)r->v[0];
    CHECK_INT(r->nv, 1 + 2 * L + 5);
    if (r->nv != 1 + 2 * L + 5) return;
    const double *d = r->v + 1, *v = r->v + 1 + L, *w = r->v + 1 + 2 * L;
    ab_heterogeneity_result h;
    CHECK_INT(ab_segments_heterogeneity(L ? d : NULL, L ? v : NULL, L, &h), AB_OK);
    /* Q is exactly 0 when every level has the same effect; R's and this
     * sum then differ by rounding dust. */
    CHECK_CLOSE(h.statistic, w[0], RTOL, 1e-12);
    CHECK_REL(h.df, w[1], 0.0);
    CHECK_REL(h.p_value, w[2], RTOL);
    CHECK_REL(h.pooled, w[3], RTOL);
    CHECK_INT(h.levels, w[4]);
}

static void test_reference(void)
{
    ref_file *f = ref_open("journey.tsv");
    ref_row r;
    int n = 0;
    while (ref_next(f, &r)) {
        if (strncmp(r.tag, "het_", 4)) continue; /* test_journey.c */
        snprintf(test_context, sizeof test_context, "%s", r.tag);
        check_het_row(&r);
        n++;
    }
    test_context[0] = '\0';
    ref_close(f);
    printf("journey.tsv: %d heterogeneity rows\n", n);
    CHECK(n >= 25);
}

static void test_by_hand(void)
{
    /* d = 0.02, -0.01 with V = 1e-4, 2e-4: w = 1e4, 5e3, dbar = 0.01,
     * Q = 1e4 (0.01)^2 + 5e3 (0.02)^2 = 1 + 2 = 3 on 1 df. */
    const double d[] = {0.02, -0.01}, v[] = {1e-4, 2e-4};
    ab_heterogeneity_result h;
    CHECK_INT(ab_segments_heterogeneity(d, v, 2, &h), AB_OK);
    CHECK_REL(h.statistic, 3.0, 1e-12);
    CHECK_REL(h.df, 1.0, 0.0);
    CHECK_REL(h.pooled, 0.01, 1e-12);
    CHECK(h.levels == 2);

    /* Levels with V = 0 or NaN are left out; one left: undefined. */
    const double d2[] = {0.02, 0.5, NAN}, v2[] = {1e-4, 0.0, NAN};
    CHECK_INT(ab_segments_heterogeneity(d2, v2, 3, &h), AB_OK);
    CHECK(h.levels == 1 && isnan(h.statistic) && isnan(h.df) && isnan(h.p_value));
    CHECK_REL(h.pooled, 0.02, 1e-15);
    CHECK_INT(ab_segments_heterogeneity(NULL, NULL, 0, &h), AB_OK);
    CHECK(h.levels == 0 && isnan(h.statistic) && isnan(h.pooled));
}

static void test_invalid(void)
{
    ab_heterogeneity_result h;
    const double d[] = {0.02, -0.01}, v[] = {1e-4, 2e-4};
    const double bad_v[] = {-1e-4, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_v / sizeof *bad_v; i++) {
        double vv[] = {1e-4, bad_v[i]};
        CHECK_INT(ab_segments_heterogeneity(d, vv, 2, &h), AB_EINVAL);
    }
    const double bad_d[] = {INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_d / sizeof *bad_d; i++) {
        double dd[] = {0.01, bad_d[i]};
        CHECK_INT(ab_segments_heterogeneity(dd, v, 2, &h), AB_EINVAL);
    }
    CHECK_INT(ab_segments_heterogeneity(NULL, v, 2, &h), AB_EINVAL);
    CHECK_INT(ab_segments_heterogeneity(d, NULL, 2, &h), AB_EINVAL);
    CHECK_INT(ab_segments_heterogeneity(d, v, 2, NULL), AB_EINVAL);
}

int main(void)
{
    ab_stats_init();
    test_reference();
    test_by_hand();
    test_invalid();
    return TEST_DONE("test_segments");
}
