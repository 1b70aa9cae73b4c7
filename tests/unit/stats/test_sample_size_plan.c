/* test_sample_size_plan.c — SPEC section 12 planning: revenue by
 * ab_sample_size_mean and NPS by ab_sample_size_nps / ab_nps_plan_sd
 * (stats/planning.c) against tests/reference/sample_size_plan.tsv (made by
 * sample_size_plan.R, which also records R's power.t.test). */
#include <string.h>

#include "abstat/stats.h"
#include "test.h"

#define RTOL 1e-6

static void check_rev(const ref_row *r)
{
    /* baseline sd mde alpha power k correction n_formula per_variant n_t */
    CHECK_INT(r->nv, 10);
    if (r->nv != 10) return;
    double n;
    CHECK_INT(ab_sample_size_mean(r->v[0], r->v[1], r->v[2], r->v[3], r->v[4],
                                  (size_t)r->v[5], (ab_correction)r->v[6], &n),
              AB_OK);
    CHECK(n == r->v[8]);
    /* power.t.test rounded up: never fewer users, at most 3 more. */
    CHECK(ceil(r->v[9]) >= n && ceil(r->v[9]) - n <= 3);
}

static void check_nps(const ref_row *r)
{
    /* P D mde alpha power k correction sd n_formula per_variant n_t */
    CHECK_INT(r->nv, 11);
    if (r->nv != 11) return;
    double sd, n;
    CHECK_INT(ab_nps_plan_sd(r->v[0], r->v[1], &sd), AB_OK);
    CHECK_REL(sd, r->v[7], 1e-12);
    CHECK_INT(ab_sample_size_nps(r->v[0], r->v[1], r->v[2], r->v[3], r->v[4],
                                 (size_t)r->v[5], (ab_correction)r->v[6], &n),
              AB_OK);
    CHECK(n == r->v[9]);
    CHECK(ceil(r->v[10]) >= n && ceil(r->v[10]) - n <= 3);
}

static void test_reference(void)
{
    ref_file *f = ref_open("sample_size_plan.tsv");
    ref_row r;
    int nr = 0, nn = 0;
    while (f && ref_next(f, &r)) {
        snprintf(test_context, sizeof test_context, "sample_size_plan.tsv:%d %s",
                 r.line, r.tag);
        if (!strncmp(r.tag, "rev_", 4)) {
            check_rev(&r);
            nr++;
        } else if (!strncmp(r.tag, "nps_", 4)) {
            check_nps(&r);
            nn++;
        } else {
            test_fail(__FILE__, __LINE__, "unknown row %s", r.tag);
        }
    }
    test_context[0] = '\0';
    if (f) ref_close(f);
    printf("sample_size_plan.tsv: %d rev_ rows, %d nps_ rows\n", nr, nn);
    CHECK(nr >= 30);
    CHECK(nn >= 20);
}

static void test_invalid(void)
{
    double sd, n;
    CHECK_INT(ab_nps_plan_sd(-0.1, 0.2, &sd), AB_EINVAL);
    CHECK_INT(ab_nps_plan_sd(0.5, -0.2, &sd), AB_EINVAL);
    CHECK_INT(ab_nps_plan_sd(0.7, 0.4, &sd), AB_EINVAL);
    CHECK_INT(ab_nps_plan_sd(NAN, 0.2, &sd), AB_EINVAL);
    CHECK_INT(ab_nps_plan_sd(0.5, INFINITY, &sd), AB_EINVAL);
    CHECK_INT(ab_nps_plan_sd(0.5, 0.2, NULL), AB_EINVAL);
    /* Every answer alike: no spread, nothing to plan. */
    CHECK_INT(ab_nps_plan_sd(1, 0, &sd), AB_OK);
    CHECK(sd == 0.0);
    CHECK_INT(ab_sample_size_nps(1, 0, 5, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_nps(0, 0, 5, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_nps(0.5, 0.2, 0, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_nps(0.5, 0.2, NAN, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_nps(0.5, 0.2, INFINITY, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_nps(0.5, 0.2, 5, 0, 0.8, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_nps(0.5, 0.2, 5, 0.05, 1, 2, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_nps(0.5, 0.2, 5, 0.05, 0.8, 1, AB_CORRECT_NONE, &n), AB_EINVAL);
    CHECK_INT(ab_sample_size_nps(0.5, 0.2, 5, 0.05, 0.8, 2, AB_CORRECT_NONE, NULL), AB_EINVAL);
    /* A tiny effect needs more users than a count holds. */
    CHECK_INT(ab_sample_size_nps(0.5, 0.2, 1e-9, 0.05, 0.8, 2, AB_CORRECT_NONE, &n), AB_ERANGE);
}

int main(void)
{
    ab_stats_init();
    test_reference();
    test_invalid();
    return TEST_DONE("test_sample_size_plan");
}
