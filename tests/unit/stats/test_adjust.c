/* test_adjust.c — p-value adjustment against R's p.adjust
 * (tests/reference/adjust.tsv, made by adjust.R). */
#include "abstat/stats.h"
#include "test.h"

static void check_reference(void)
{
    ref_file *f = ref_open("adjust.tsv");
    ref_row r;
    int rows = 0;
    while (ref_next(f, &r)) {
        double out[AB_MAX_ARMS], inplace[AB_MAX_ARMS];
        ab_correction m = (ab_correction)(int)r.v[0];
        size_t k = (size_t)r.v[1];
        CHECK_INT(r.nv, 2 + 2 * k);
        if (r.nv != 2 + 2 * k) continue;
        CHECK_INT(ab_p_adjust(&r.v[2], k, m, out), AB_OK);
        for (size_t i = 0; i < k; i++) {
            CHECK_REL(out[i], r.v[2 + k + i], 1e-6);
            inplace[i] = r.v[2 + i];
        }
        /* out aliasing p gives the same answer. */
        CHECK_INT(ab_p_adjust(inplace, k, m, inplace), AB_OK);
        for (size_t i = 0; i < k; i++) CHECK_REL(inplace[i], r.v[2 + k + i], 1e-6);
        rows++;
    }
    ref_close(f);
    test_context[0] = '\0';
    CHECK(rows >= 150);
}

static void check_invalid(void)
{
    double p[AB_MAX_ARMS + 1], out[AB_MAX_ARMS + 1];
    for (size_t i = 0; i <= AB_MAX_ARMS; i++) p[i] = 0.5;
    CHECK_INT(ab_p_adjust(p, AB_MAX_ARMS + 1, AB_CORRECT_HOLM, out), AB_ERANGE);
    /* AB_MAX_ARMS itself is allowed: Bonferroni multiplies by 64. */
    p[0] = 0.001;
    CHECK_INT(ab_p_adjust(p, AB_MAX_ARMS, AB_CORRECT_BONFERRONI, out), AB_OK);
    CHECK_REL(out[0], 0.064, 1e-12);
    CHECK_REL(out[1], 1.0, 0);

    const double bad[] = {-0.1, 1.5, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double q[3] = {0.1, bad[i], 0.2};
        CHECK_INT(ab_p_adjust(q, 3, AB_CORRECT_BH, out), AB_EINVAL);
        CHECK_INT(ab_p_adjust(q, 3, AB_CORRECT_NONE, out), AB_EINVAL);
    }
    CHECK_INT(ab_p_adjust(p, 2, (ab_correction)17, out), AB_EINVAL);
    CHECK_INT(ab_p_adjust(NULL, 2, AB_CORRECT_HOLM, out), AB_EINVAL);
    CHECK_INT(ab_p_adjust(p, 2, AB_CORRECT_HOLM, NULL), AB_EINVAL);
    /* An empty family is fine. */
    CHECK_INT(ab_p_adjust(NULL, 0, AB_CORRECT_HOLM, NULL), AB_OK);
}

int main(void)
{
    ab_stats_init();
    check_reference();
    check_invalid();
    return TEST_DONE("test_adjust");
}
