/* test_nps.c — ab_nps_summarize and ab_nps_compare against the SPEC formulas
 * evaluated in R (tests/reference/nps.tsv, made by nps.R) and on invalid input. */
#include <string.h>

#include "abstat/stats.h"
#include "test.h"

#define RTOL 1e-6

static void check_summary_row(const ref_row *r)
{
    /* promoters passives detractors alpha responses score se lo hi */
    CHECK_INT(r->nv, 9);
    if (r->nv != 9) return;
    ab_nps_summary s;
    CHECK_INT(ab_nps_summarize(r->v[0], r->v[1], r->v[2], r->v[3], &s), AB_OK);
    CHECK(s.promoters == r->v[0] && s.passives == r->v[1] &&
          s.detractors == r->v[2]);
    CHECK_REL(s.responses, r->v[4], 0.0);
    /* The score is 100 (P - D)/r: exactly 0 when P = D, where the formula in
     * R and here may differ only by rounding dust. */
    CHECK_CLOSE(s.score, r->v[5], RTOL, 1e-12);
    CHECK_REL(s.se, r->v[6], RTOL);
    CHECK_CLOSE(s.ci.lo, r->v[7], RTOL, 1e-12); /* 0 for one passive */
    CHECK_CLOSE(s.ci.hi, r->v[8], RTOL, 1e-12);
}

static void check_compare_row(const ref_row *r)
{
    /* P_v N_v D_v P_c N_c D_c alpha diff diff_lo diff_hi z p_value var */
    CHECK_INT(r->nv, 13);
    if (r->nv != 13) return;
    ab_nps_summary v, c;
    ab_nps_comparison cmp;
    double alpha = r->v[6];
    CHECK_INT(ab_nps_summarize(r->v[0], r->v[1], r->v[2], alpha, &v), AB_OK);
    CHECK_INT(ab_nps_summarize(r->v[3], r->v[4], r->v[5], alpha, &c), AB_OK);
    CHECK_INT(ab_nps_compare(&v, &c, alpha, &cmp), AB_OK);
    /* diff (and z with it) is exactly 0 for equal scores. */
    CHECK_CLOSE(cmp.diff, r->v[7], RTOL, 1e-12);
    CHECK_REL(cmp.diff_ci.lo, r->v[8], RTOL);
    CHECK_REL(cmp.diff_ci.hi, r->v[9], RTOL);
    CHECK_CLOSE(cmp.z, r->v[10], RTOL, 1e-12);
    CHECK_REL(cmp.p_value, r->v[11], RTOL);
    CHECK_REL(cmp.var, r->v[12], RTOL);
}

static void test_reference(void)
{
    ref_file *f = ref_open("nps.tsv");
    ref_row r;
    int nsum = 0, ncmp = 0;
    while (ref_next(f, &r)) {
        if (!strncmp(r.tag, "sum_", 4)) {
            check_summary_row(&r);
            nsum++;
        } else if (!strncmp(r.tag, "cmp_", 4)) {
            check_compare_row(&r);
            ncmp++;
        } else {
            test_fail(__FILE__, __LINE__, "unknown row %s", r.tag);
        }
    }
    ref_close(f);
    CHECK(nsum >= 50);
    CHECK(ncmp >= 30);
}

/* By hand: 180/120/100 of 400 (SPEC's illustration) scores 20 with SE
 * 100 sqrt((0.45 + 0.25 - 0.04)/400) = 100 sqrt(0.00165). */
static void test_by_hand(void)
{
    ab_nps_summary s, e;
    CHECK_INT(ab_nps_summarize(180, 120, 100, 0.05, &s), AB_OK);
    CHECK_REL(s.score, 20.0, 1e-14);
    CHECK_REL(s.se, 100.0 * sqrt(0.00165), 1e-14);

    /* No answers: counts kept, figures undefined. */
    CHECK_INT(ab_nps_summarize(0, 0, 0, 0.05, &e), AB_OK);
    CHECK(e.responses == 0.0);
    CHECK(isnan(e.score) && isnan(e.se) && isnan(e.ci.lo) && isnan(e.ci.hi));
    ab_nps_comparison cmp;
    CHECK_INT(ab_nps_compare(&s, &e, 0.05, &cmp), AB_OK);
    CHECK(isnan(cmp.diff) && isnan(cmp.var) && isnan(cmp.z) && isnan(cmp.p_value) &&
          isnan(cmp.diff_ci.lo) && isnan(cmp.diff_ci.hi));

    /* All promoters against all detractors: no spread in either arm, so the
     * test is undefined even though the difference (200) is not. */
    ab_nps_summary p, d;
    CHECK_INT(ab_nps_summarize(30, 0, 0, 0.05, &p), AB_OK);
    CHECK_INT(ab_nps_summarize(0, 0, 40, 0.05, &d), AB_OK);
    CHECK_INT(ab_nps_compare(&p, &d, 0.05, &cmp), AB_OK);
    CHECK_REL(cmp.diff, 200.0, 0.0);
    CHECK(cmp.var == 0.0);
    CHECK(cmp.diff_ci.lo == 200.0 && cmp.diff_ci.hi == 200.0);
    CHECK(isnan(cmp.z) && isnan(cmp.p_value));

    /* The comparison follows the counts, not stale score fields. */
    ab_nps_summary stale = s;
    stale.score = 99.0;
    stale.se = 0.0;
    ab_nps_comparison a, b;
    CHECK_INT(ab_nps_compare(&stale, &d, 0.05, &a), AB_OK);
    CHECK_INT(ab_nps_compare(&s, &d, 0.05, &b), AB_OK);
    CHECK_REL(a.diff, b.diff, 0.0);
    CHECK_REL(a.var, b.var, 0.0);
}

static void test_invalid(void)
{
    ab_nps_summary s, ok;
    ab_nps_comparison cmp;
    CHECK_INT(ab_nps_summarize(10, 5, 3, 0.05, &ok), AB_OK);
    const double bad[] = {-1, 0.5, NAN, INFINITY, -INFINITY, 1e17};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(ab_nps_summarize(bad[i], 5, 3, 0.05, &s), AB_EINVAL);
        CHECK_INT(ab_nps_summarize(10, bad[i], 3, 0.05, &s), AB_EINVAL);
        CHECK_INT(ab_nps_summarize(10, 5, bad[i], 0.05, &s), AB_EINVAL);
        ab_nps_summary broken = ok;
        broken.promoters = bad[i];
        CHECK_INT(ab_nps_compare(&broken, &ok, 0.05, &cmp), AB_EINVAL);
        CHECK_INT(ab_nps_compare(&ok, &broken, 0.05, &cmp), AB_EINVAL);
    }
    /* Each count fine, but the total not exactly representable. */
    CHECK_INT(ab_nps_summarize(9007199254740992.0, 1, 0, 0.05, &s), AB_EINVAL);
    /* responses must be the sum of the three counts */
    ab_nps_summary inconsistent = ok;
    inconsistent.responses = 19;
    CHECK_INT(ab_nps_compare(&inconsistent, &ok, 0.05, &cmp), AB_EINVAL);

    const double bad_alpha[] = {0, 1, -0.05, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_alpha / sizeof *bad_alpha; i++) {
        CHECK_INT(ab_nps_summarize(10, 5, 3, bad_alpha[i], &s), AB_EINVAL);
        CHECK_INT(ab_nps_compare(&ok, &ok, bad_alpha[i], &cmp), AB_EINVAL);
    }
    CHECK_INT(ab_nps_summarize(10, 5, 3, 0.05, NULL), AB_EINVAL);
    CHECK_INT(ab_nps_compare(NULL, &ok, 0.05, &cmp), AB_EINVAL);
    CHECK_INT(ab_nps_compare(&ok, NULL, 0.05, &cmp), AB_EINVAL);
    CHECK_INT(ab_nps_compare(&ok, &ok, 0.05, NULL), AB_EINVAL);
}

int main(void)
{
    ab_stats_init();
    test_reference();
    test_by_hand();
    test_invalid();
    return TEST_DONE("test_nps");
}
