/* test_journey.c — ab_journey_cells, ab_journey_step_bounds (Lee bounds and
 * their Imbens-Manski interval) and ab_nps_response_bounds against
 * R (tests/reference/journey.tsv, made by journey.R), on invalid input, and a
 * seeded simulation of the interval's coverage. */
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "abstat/stats.h"
#include "test.h"

#define RTOL 1e-6
/* Absolute floor for figures that are differences of rates (or of NPS
 * scores, in points) and so may be exactly 0 or ~1e-9 (equal rates, a
 * bound at 0, 10^9-user arms one user apart), where R's and this formula
 * differ only by rounding dust of ~1e-16 per unit of the terms. */
#define ATOL_RATE 1e-12
#define ATOL_POINTS 1e-10

static void check_cells_row(const ref_row *r)
{
    /* 32 cells, users, r0 y0 .. r3 y3 */
    CHECK_INT(r->nv, 32 + 1 + 2 * AB_JOURNEY_STEPS);
    if (r->nv != 32 + 1 + 2 * AB_JOURNEY_STEPS) return;
    double users;
    ab_journey_arm st[AB_JOURNEY_STEPS];
    CHECK_INT(ab_journey_cells(r->v, &users, st), AB_OK);
    CHECK_REL(users, r->v[32], 0.0);
    for (int s = 0; s < AB_JOURNEY_STEPS; s++) {
        CHECK_REL(st[s].users, r->v[32], 0.0);
        CHECK_REL(st[s].reached, r->v[33 + 2 * s], 0.0);
        CHECK_REL(st[s].continued, r->v[34 + 2 * s], 0.0);
    }
}

static void check_step_row(const ref_row *r)
{
    /* n_v r_v y_v n_c r_c y_c alpha | rate_v rate_c reach_v reach_c diff
     * trim trimmed lo hi se_lo se_hi crit ci_lo ci_hi */
    CHECK_INT(r->nv, 21);
    if (r->nv != 21) return;
    const double *x = r->v, *w = r->v + 7;
    ab_journey_arm v = {x[0], x[1], x[2]}, c = {x[3], x[4], x[5]};
    ab_journey_bounds b;
    CHECK_INT(ab_journey_step_bounds(&v, &c, x[6], &b), AB_OK);
    CHECK_REL(b.rate_v, w[0], RTOL);
    CHECK_REL(b.rate_c, w[1], RTOL);
    CHECK_REL(b.reach_v, w[2], RTOL);
    CHECK_REL(b.reach_c, w[3], RTOL);
    CHECK_CLOSE(b.diff, w[4], RTOL, ATOL_RATE);
    CHECK_CLOSE(b.trim, w[5], RTOL, ATOL_RATE); /* 0 at equal reach */
    CHECK_INT(b.trimmed, w[6]);
    CHECK_CLOSE(b.bounds.lo, w[7], RTOL, ATOL_RATE);
    CHECK_CLOSE(b.bounds.hi, w[8], RTOL, ATOL_RATE);
    /* Standard errors are 0 exactly where rates are 0 or 1 (both y = 0 ...) */
    CHECK_CLOSE(b.se_lo, w[9], RTOL, 1e-15);
    CHECK_CLOSE(b.se_hi, w[10], RTOL, 1e-15);
    CHECK_REL(b.crit, w[11], RTOL);
    CHECK_CLOSE(b.bounds_ci.lo, w[12], RTOL, ATOL_RATE);
    CHECK_CLOSE(b.bounds_ci.hi, w[13], RTOL, ATOL_RATE);
}

static void check_npsr_row(const ref_row *r)
{
    /* n_v P_v N_v D_v n_c P_c N_c D_c alpha | r_v r_c rate_v rate_c z p
     * diff trim trimmed lo hi */
    CHECK_INT(r->nv, 20);
    if (r->nv != 20) return;
    const double *x = r->v, *w = r->v + 9;
    ab_nps_response_arm v = {x[0], x[1], x[2], x[3]}, c = {x[4], x[5], x[6], x[7]};
    ab_nps_response_result b;
    CHECK_INT(ab_nps_response_bounds(&v, &c, x[8], &b), AB_OK);
    CHECK_REL(b.responses_v, w[0], 0.0);
    CHECK_REL(b.responses_c, w[1], 0.0);
    CHECK_REL(b.rate_v, w[2], RTOL);
    CHECK_REL(b.rate_c, w[3], RTOL);
    CHECK_CLOSE(b.z, w[4], RTOL, 1e-12); /* 0 at equal response rates */
    CHECK_REL(b.p_value, w[5], RTOL);
    CHECK_CLOSE(b.diff, w[6], RTOL, ATOL_POINTS);
    CHECK_CLOSE(b.trim, w[7], RTOL, ATOL_RATE);
    CHECK_INT(b.trimmed, w[8]);
    CHECK_CLOSE(b.bounds.lo, w[9], RTOL, ATOL_POINTS);
    CHECK_CLOSE(b.bounds.hi, w[10], RTOL, ATOL_POINTS);
}

static void test_reference(void)
{
    ref_file *f = ref_open("journey.tsv");
    ref_row r;
    int ncells = 0, nstep = 0, nnps = 0;
    while (ref_next(f, &r)) {
        snprintf(test_context, sizeof test_context, "%s", r.tag);
        if (!strncmp(r.tag, "cells_", 6)) {
            check_cells_row(&r);
            ncells++;
        } else if (!strncmp(r.tag, "step_", 5)) {
            check_step_row(&r);
            nstep++;
        } else if (!strncmp(r.tag, "npsr_", 5)) {
            check_npsr_row(&r);
            nnps++;
        } else if (strncmp(r.tag, "het_", 4)) { /* het_: test_segments.c */
            test_fail(__FILE__, __LINE__, "unknown row %s", r.tag);
        }
    }
    test_context[0] = '\0';
    ref_close(f);
    printf("journey.tsv: %d cells, %d step, %d NPS response rows\n", ncells, nstep, nnps);
    CHECK(ncells >= 10);
    CHECK(nstep >= 80);
    CHECK(nnps >= 40);
}

/* By hand: 10 of 20 variant users reached s, 7 continued; control 6 of 20,
 * 3 continued. q = (0.5 - 0.3)/0.5 = 0.4, m = 6 always-reachers of the
 * variant's 10: their rate is at least (7 - 4)/6 and at most 6/6. */
static void test_by_hand(void)
{
    ab_journey_arm v = {20, 10, 7}, c = {20, 6, 3};
    ab_journey_bounds b;
    CHECK_INT(ab_journey_step_bounds(&v, &c, 0.05, &b), AB_OK);
    CHECK_REL(b.trim, 0.4, 1e-15);
    CHECK(b.trimmed == 1);
    CHECK_CLOSE(b.bounds.lo, 0.5 - 0.5, 0, 1e-15);
    CHECK_REL(b.bounds.hi, 1.0 - 0.5, 1e-15);
    CHECK(b.bounds_ci.lo <= b.bounds.lo && b.bounds_ci.hi >= b.bounds.hi);

    /* Equal reach: the bounds are the plain difference, and the interval's
     * critical value the two-sided one. */
    ab_journey_arm v2 = {1000, 300, 120}, c2 = {1000, 300, 100};
    CHECK_INT(ab_journey_step_bounds(&v2, &c2, 0.05, &b), AB_OK);
    CHECK(b.trim == 0.0);
    CHECK_REL(b.bounds.lo, 0.4 - 1.0 / 3, 1e-14);
    CHECK_REL(b.bounds.hi, 0.4 - 1.0 / 3, 1e-14);
    CHECK_REL(b.crit, 1.959963984540054, 1e-14);

    /* Swapping the arms mirrors the bounds. */
    ab_journey_bounds s;
    ab_journey_arm v3 = {5000, 1600, 700}, c3 = {4000, 1100, 500};
    CHECK_INT(ab_journey_step_bounds(&v3, &c3, 0.05, &b), AB_OK);
    CHECK_INT(ab_journey_step_bounds(&c3, &v3, 0.05, &s), AB_OK);
    CHECK(b.trimmed == 1 && s.trimmed == 0);
    CHECK_REL(s.bounds.lo, -b.bounds.hi, 1e-14);
    CHECK_REL(s.bounds.hi, -b.bounds.lo, 1e-14);
    CHECK_REL(s.bounds_ci.lo, -b.bounds_ci.hi, 1e-14);
    CHECK_REL(s.bounds_ci.hi, -b.bounds_ci.lo, 1e-14);

    /* NPS: 12 answers of 40 users against 4 of 20: q = (0.3 - 0.2)/0.3 =
     * 1/3 of 12, four answers dropped; best first leaves 2 P 4 N 2 D of
     * 6/4/2 (score 0), worst first 6 P 2 N 0 D (75); control scores 25. */
    ab_nps_response_arm nv = {40, 6, 4, 2}, nc = {20, 2, 1, 1};
    ab_nps_response_result nb;
    CHECK_INT(ab_nps_response_bounds(&nv, &nc, 0.05, &nb), AB_OK);
    CHECK(nb.trimmed == 1);
    CHECK_REL(nb.trim, 1.0 / 3, 1e-14);
    CHECK_REL(nb.bounds.lo, 0.0 - 25.0, 1e-14);
    CHECK_REL(nb.bounds.hi, 75.0 - 25.0, 1e-14);
}

static void test_invalid(void)
{
    ab_journey_bounds b;
    ab_journey_arm ok = {100, 30, 10};
    const double bad[] = {-1, 0.5, NAN, INFINITY, -INFINITY, 1e17};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ab_journey_arm a = ok;
        a.users = bad[i];
        CHECK_INT(ab_journey_step_bounds(&a, &ok, 0.05, &b), AB_EINVAL);
        CHECK_INT(ab_journey_step_bounds(&ok, &a, 0.05, &b), AB_EINVAL);
        a = ok;
        a.reached = bad[i];
        CHECK_INT(ab_journey_step_bounds(&a, &ok, 0.05, &b), AB_EINVAL);
        a = ok;
        a.continued = bad[i];
        CHECK_INT(ab_journey_step_bounds(&ok, &a, 0.05, &b), AB_EINVAL);
    }
    ab_journey_arm y_gt_r = {100, 30, 31}, r_gt_n = {100, 101, 10};
    CHECK_INT(ab_journey_step_bounds(&y_gt_r, &ok, 0.05, &b), AB_EINVAL);
    CHECK_INT(ab_journey_step_bounds(&ok, &r_gt_n, 0.05, &b), AB_EINVAL);
    const double bad_alpha[] = {0, 1, -0.05, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_alpha / sizeof *bad_alpha; i++) {
        CHECK_INT(ab_journey_step_bounds(&ok, &ok, bad_alpha[i], &b), AB_EINVAL);
        ab_nps_response_arm n = {100, 10, 5, 5};
        ab_nps_response_result nb;
        CHECK_INT(ab_nps_response_bounds(&n, &n, bad_alpha[i], &nb), AB_EINVAL);
    }
    CHECK_INT(ab_journey_step_bounds(NULL, &ok, 0.05, &b), AB_EINVAL);
    CHECK_INT(ab_journey_step_bounds(&ok, NULL, 0.05, &b), AB_EINVAL);
    CHECK_INT(ab_journey_step_bounds(&ok, &ok, 0.05, NULL), AB_EINVAL);

    double cells[AB_JOURNEY_CELLS] = {0}, users;
    ab_journey_arm st[AB_JOURNEY_STEPS];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cells[5] = bad[i];
        CHECK_INT(ab_journey_cells(cells, &users, st), AB_EINVAL);
    }
    cells[5] = 9007199254740992.0; /* each fine, the total inexact */
    cells[6] = 1;
    CHECK_INT(ab_journey_cells(cells, &users, st), AB_EINVAL);
    cells[5] = cells[6] = 0;
    CHECK_INT(ab_journey_cells(NULL, &users, st), AB_EINVAL);
    CHECK_INT(ab_journey_cells(cells, NULL, st), AB_EINVAL);
    CHECK_INT(ab_journey_cells(cells, &users, NULL), AB_EINVAL);

    ab_nps_response_arm n = {100, 10, 5, 5};
    ab_nps_response_result nb;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        for (int f = 0; f < 4; f++) {
            ab_nps_response_arm a = n;
            double *fld[4] = {&a.users, &a.promoters, &a.passives, &a.detractors};
            *fld[f] = bad[i];
            CHECK_INT(ab_nps_response_bounds(&a, &n, 0.05, &nb), AB_EINVAL);
            CHECK_INT(ab_nps_response_bounds(&n, &a, 0.05, &nb), AB_EINVAL);
        }
    }
    ab_nps_response_arm more = {19, 10, 5, 5}; /* 20 answers of 19 users */
    CHECK_INT(ab_nps_response_bounds(&more, &n, 0.05, &nb), AB_EINVAL);
    CHECK_INT(ab_nps_response_bounds(NULL, &n, 0.05, &nb), AB_EINVAL);
    CHECK_INT(ab_nps_response_bounds(&n, NULL, 0.05, &nb), AB_EINVAL);
    CHECK_INT(ab_nps_response_bounds(&n, &n, 0.05, NULL), AB_EINVAL);
}

/* ---- Coverage ------------------------------------------------------------
 * Each user of an arm is an always-reacher (reaches s under either arm), a
 * complier (reaches s only under the arm that reaches more) or never
 * reaches s; monotonicity holds by construction. The step effect on the
 * always-reachers is known; the share of experiments whose interval covers
 * it must be at least 1 - alpha - 0.01 (Imbens-Manski: 1 - alpha for the
 * true effect, asymptotically, wherever it lies in the identified set). */
typedef struct {
    const char *name;
    double always, compliers;  /* population shares */
    double s_av, s_ac;         /* always-reachers' step rates, variant/control */
    double s_comp;             /* compliers' step rate */
    int variant_more;          /* compliers reach s under the variant */
    double users;              /* per arm */
} cov_model;

static void draw_arm(gsl_rng *rng, double users, double reach, double cont,
                     ab_journey_arm *a)
{
    double p[3] = {1.0 - reach, reach - cont, cont};
    unsigned int k[3];
    gsl_ran_multinomial(rng, 3, (unsigned int)users, p, k);
    a->users = users;
    a->reached = (double)k[1] + (double)k[2];
    a->continued = (double)k[2];
}

static double coverage(const cov_model *m, int reps, unsigned long seed,
                       double alpha)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng) return NAN;
    gsl_rng_set(rng, seed);
    double truth = m->s_av - m->s_ac;
    double cv = m->variant_more ? m->compliers : 0.0;
    double cc = m->variant_more ? 0.0 : m->compliers;
    int covered = 0, ok = 1;
    for (int i = 0; i < reps; i++) {
        ab_journey_arm v, c;
        draw_arm(rng, m->users, m->always + cv, m->always * m->s_av + cv * m->s_comp, &v);
        draw_arm(rng, m->users, m->always + cc, m->always * m->s_ac + cc * m->s_comp, &c);
        ab_journey_bounds b;
        if (ab_journey_step_bounds(&v, &c, alpha, &b) != AB_OK) ok = 0;
        if (b.bounds_ci.lo <= truth && truth <= b.bounds_ci.hi) covered++;
    }
    gsl_rng_free(rng);
    CHECK(ok);
    return (double)covered / reps;
}

static void test_coverage(void)
{
    const double alpha = 0.05;
    const int reps = 20000;
    /* The true effect at an end of the identified set is the hard case:
     * compliers who all continue make the variant's always-reachers exactly
     * its worst-case users (the lower end); control compliers who all
     * continue put it at the upper end of the control-trimmed bounds. */
    const cov_model models[] = {
        {"variant reaches more, truth at the lower end", 0.30, 0.06, 0.46, 0.40, 1.0, 1, 20000},
        {"control reaches more, truth at the upper end", 0.25, 0.05, 0.50, 0.45, 1.0, 0, 20000},
        {"variant reaches more, truth inside", 0.30, 0.06, 0.46, 0.40, 0.46, 1, 5000},
        {"small arms, truth at the lower end", 0.30, 0.06, 0.46, 0.40, 1.0, 1, 2000},
    };
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        double cov = coverage(&models[i], reps, 20261203UL + i, alpha);
        printf("coverage (%s, %g users per arm, %d experiments): %.4f (need >= %.2f)\n",
               models[i].name, models[i].users, reps, cov, 1.0 - alpha - 0.01);
        CHECK(cov >= 1.0 - alpha - 0.01);
    }
    /* For information: no change in reach (a point, q = 0 in truth). */
    const cov_model point = {"reach unchanged", 0.30, 0.0, 0.46, 0.40, 0.0, 1, 20000};
    double cov = coverage(&point, reps, 7UL, alpha);
    printf("coverage (reach unchanged, point-identified, %d experiments): %.4f\n", reps, cov);
}

int main(void)
{
    ab_stats_init();
    test_reference();
    test_by_hand();
    test_invalid();
    test_coverage();
    return TEST_DONE("test_journey");
}
