/* test_chisq.c — stats/chisq.c against R's chisq.test (tests/reference/chisq.tsv) and on invalid input. */
#include "abstat/stats.h"
#include "test.h"

#include <string.h>

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Rows: tag k a1..ak b1..bk statistic df p [alert]; see chisq.R. */
static void reference_cases(void)
{
    ref_file *f = ref_open("chisq.tsv");
    ref_row r;
    int rows = 0;
    while (ref_next(f, &r)) {
        if (r.nv < 1) {
            CHECK(r.nv >= 1);
            continue;
        }
        size_t k = (size_t)r.v[0];
        int srm = starts(r.tag, "srm_");
        size_t want_nv = 1 + 2 * k + 3 + (srm ? 1 : 0);
        CHECK_INT(r.nv, want_nv);
        if (r.nv != want_nv) continue;
        const double *a = &r.v[1], *b = &r.v[1 + k], *want = &r.v[1 + 2 * k];
        ab_chisq_result res;
        ab_status st;
        int alert = -1;
        if (starts(r.tag, "hom_")) st = ab_chisq_homogeneity(a, b, k, &res);
        else if (starts(r.tag, "gof_")) st = ab_chisq_gof(a, b, k, &res);
        else if (srm) st = ab_srm_check(a, b, k, &res, &alert);
        else {
            CHECK(!"unknown tag prefix");
            continue;
        }
        CHECK_INT(st, AB_OK);
        if (st != AB_OK) continue;
        CHECK_REL(res.statistic, want[0], 1e-6);
        CHECK_REL(res.df, want[1], 1e-6);
        CHECK_REL(res.p_value, want[2], 1e-6);
        if (srm) CHECK_INT(alert, want[3]);
        rows++;
    }
    ref_close(f);
    test_context[0] = '\0';
    CHECK(rows >= 100);
}

static void invalid_input(void)
{
    double x[AB_MAX_ARMS + 1] = {0}, n[AB_MAX_ARMS + 1] = {0};
    ab_chisq_result res;
    int alert;
    for (size_t i = 0; i <= AB_MAX_ARMS; i++) {
        x[i] = 1;
        n[i] = 10;
    }
    /* Sizes: fewer than two arms is wrong input, more than the cap a limit. */
    CHECK_INT(ab_chisq_homogeneity(x, n, 0, &res), AB_EINVAL);
    CHECK_INT(ab_chisq_homogeneity(x, n, 1, &res), AB_EINVAL);
    CHECK_INT(ab_chisq_homogeneity(x, n, AB_MAX_ARMS + 1, &res), AB_ERANGE);
    CHECK_INT(ab_chisq_homogeneity(x, n, AB_MAX_ARMS, &res), AB_OK);
    CHECK_INT(ab_chisq_gof(x, n, 1, &res), AB_EINVAL);
    CHECK_INT(ab_chisq_gof(x, n, AB_MAX_ARMS + 1, &res), AB_ERANGE);
    CHECK_INT(ab_chisq_gof(x, n, AB_MAX_ARMS, &res), AB_OK);
    CHECK_INT(ab_srm_check(x, n, 1, &res, &alert), AB_EINVAL);
    CHECK_INT(ab_srm_check(x, n, AB_MAX_ARMS + 1, &res, &alert), AB_ERANGE);
    CHECK_INT(ab_chisq_homogeneity(NULL, n, 2, &res), AB_EINVAL);
    CHECK_INT(ab_chisq_homogeneity(x, NULL, 2, &res), AB_EINVAL);
    CHECK_INT(ab_chisq_homogeneity(x, n, 2, NULL), AB_EINVAL);
    CHECK_INT(ab_chisq_gof(NULL, n, 2, &res), AB_EINVAL);
    CHECK_INT(ab_chisq_gof(x, NULL, 2, &res), AB_EINVAL);
    CHECK_INT(ab_srm_check(x, n, 2, &res, NULL), AB_EINVAL);

    /* Counts: negative, fractional, NaN, infinite, x > n, beyond 2^53. */
    const double bad[] = {-1, 0.5, NAN, INFINITY, 1e300};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double bx[2] = {1, bad[i]}, bn[2] = {10, 10};
        double cx[2] = {1, 1}, cn[2] = {10, bad[i]};
        CHECK_INT(ab_chisq_homogeneity(bx, bn, 2, &res), AB_EINVAL);
        CHECK_INT(ab_chisq_homogeneity(cx, cn, 2, &res), AB_EINVAL);
        double w[2] = {0.5, 0.5};
        CHECK_INT(ab_chisq_gof(bx, w, 2, &res), AB_EINVAL);
        CHECK_INT(ab_srm_check(bx, w, 2, &res, &alert), AB_EINVAL);
    }
    double gx[2] = {11, 1}, gn[2] = {10, 10};
    CHECK_INT(ab_chisq_homogeneity(gx, gn, 2, &res), AB_EINVAL);

    /* Weights: negative, NaN, infinite, all zero. */
    const double badw[] = {-0.5, NAN, INFINITY};
    double obs[2] = {10, 12};
    for (size_t i = 0; i < sizeof badw / sizeof badw[0]; i++) {
        double w[2] = {0.5, badw[i]};
        CHECK_INT(ab_chisq_gof(obs, w, 2, &res), AB_EINVAL);
        CHECK_INT(ab_srm_check(obs, w, 2, &res, &alert), AB_EINVAL);
    }
    double w0[2] = {0, 0};
    CHECK_INT(ab_chisq_gof(obs, w0, 2, &res), AB_EINVAL);
}

/* Properties R's tables do not show directly. */
static void properties(void)
{
    ab_chisq_result res, res2;
    int alert = -1;
    /* The homogeneity statistic of two arms is the square of the pooled z. */
    double x[2] = {120, 150}, n[2] = {1000, 1000};
    CHECK_INT(ab_chisq_homogeneity(x, n, 2, &res), AB_OK);
    double p1 = 0.12, p2 = 0.15, pp = 0.135;
    double z = (p2 - p1) / sqrt(pp * (1 - pp) * (2.0 / 1000));
    CHECK_REL(res.statistic, z * z, 1e-12);
    /* Row order does not matter. */
    double xr[2] = {150, 120};
    CHECK_INT(ab_chisq_homogeneity(xr, n, 2, &res2), AB_OK);
    CHECK_REL(res2.statistic, res.statistic, 1e-12);
    /* Weights are normalised: 2:3:5 equals 0.2:0.3:0.5. */
    double u[3] = {210, 290, 500}, wa[3] = {2, 3, 5}, wb[3] = {0.2, 0.3, 0.5};
    CHECK_INT(ab_chisq_gof(u, wa, 3, &res), AB_OK);
    CHECK_INT(ab_chisq_gof(u, wb, 3, &res2), AB_OK);
    CHECK_REL(res.statistic, res2.statistic, 1e-12);
    /* No users: NaN p and no alert. */
    double none[2] = {0, 0}, half[2] = {0.5, 0.5};
    CHECK_INT(ab_srm_check(none, half, 2, &res, &alert), AB_OK);
    CHECK(isnan(res.p_value));
    CHECK_INT(alert, 0);
    /* Just either side of the 0.001 threshold (chi-square 1 df: 10.828). */
    double below[2] = {10165 + 200, 9835 - 200}, above[2] = {10100, 9900};
    CHECK_INT(ab_srm_check(below, half, 2, &res, &alert), AB_OK);
    CHECK_INT(alert, res.p_value < 0.001);
    CHECK_INT(alert, 1);
    CHECK_INT(ab_srm_check(above, half, 2, &res, &alert), AB_OK);
    CHECK_INT(alert, 0);
}

int main(void)
{
    ab_stats_init();
    reference_cases();
    invalid_input();
    properties();
    return TEST_DONE("test_chisq");
}
