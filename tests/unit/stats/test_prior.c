/* test_prior.c — ab_prior_posterior (stats/prior.c) against R's closed form,
 * itself checked by integrate() (tests/reference/prior.tsv, made by
 * prior.R), alone and chained after ab_lift_delta, and on invalid input. */
#include <string.h>

#include "abstat/stats.h"
#include "test.h"

#define RTOL 1e-6

static void check_post(const ab_prior_result *p, const double *w)
{
    /* w: mean var prob_beat_control risk */
    CHECK_CLOSE(p->mean, w[0], RTOL, 1e-15); /* a mean of 0 exactly */
    CHECK_REL(p->var, w[1], RTOL);
    CHECK_REL(p->sd, sqrt(w[1]), RTOL);
    CHECK_REL(p->prob_beat_control, w[2], RTOL);
    CHECK_REL(p->risk, w[3], RTOL);
}

static void check_prior(const ref_row *r)
{
    /* lift var_lift mu0 sd0 mean var prob risk */
    CHECK_INT(r->nv, 8);
    if (r->nv != 8) return;
    ab_prior_result p;
    CHECK_INT(ab_prior_posterior(r->v[0], r->v[1], r->v[2], r->v[3], &p), AB_OK);
    check_post(&p, r->v + 4);
}

static void check_chain(const ref_row *r)
{
    /* x_v n_v x_c n_c mu0 sd0 lift var_lift mean var prob risk */
    CHECK_INT(r->nv, 12);
    if (r->nv != 12) return;
    double xv = r->v[0], nv = r->v[1], xc = r->v[2], nc = r->v[3];
    /* rates and p(1-p)/n as SPEC section 6; no users: undefined */
    double pv = nv > 0 ? xv / nv : NAN, pc = nc > 0 ? xc / nc : NAN;
    double vv = nv > 0 ? pv * (nv - xv) / nv / nv : NAN;
    double vc = nc > 0 ? pc * (nc - xc) / nc / nc : NAN;
    ab_lift_result l;
    CHECK_INT(ab_lift_delta(pv, vv, pc, vc, 0.05, &l), AB_OK);
    CHECK_CLOSE(l.lift, r->v[6], RTOL, 1e-12); /* lift 0 of equal rates */
    CHECK_CLOSE(l.var, r->v[7], RTOL, 1e-300);
    ab_prior_result p;
    CHECK_INT(ab_prior_posterior(l.lift, l.var, r->v[4], r->v[5], &p), AB_OK);
    check_post(&p, r->v + 8);
}

static void test_reference(void)
{
    ref_file *f = ref_open("prior.tsv");
    ref_row r;
    int np = 0, nc = 0;
    while (f && ref_next(f, &r)) {
        snprintf(test_context, sizeof test_context, "prior.tsv:%d %s", r.line, r.tag);
        if (!strncmp(r.tag, "prior_", 6)) {
            check_prior(&r);
            np++;
        } else if (!strncmp(r.tag, "chain_", 6)) {
            check_chain(&r);
            nc++;
        } else {
            test_fail(__FILE__, __LINE__, "unknown row %s", r.tag);
        }
    }
    test_context[0] = '\0';
    if (f) ref_close(f);
    printf("prior.tsv: %d prior_ rows, %d chain_ rows\n", np, nc);
    CHECK(np >= 25);
    CHECK(nc >= 10);
}

/* Properties: a flat prior gives the data's own normal; a tighter prior
 * pulls the mean toward mu0; P + P(L < 0) = 1 and risk - E[max(L, 0)] =
 * -mean (by symmetry of the closed form). */
static void test_properties(void)
{
    ab_prior_result a, b, m;
    CHECK_INT(ab_prior_posterior(0.05, 4e-4, 0, INFINITY, &a), AB_OK);
    CHECK(a.mean == 0.05 && a.var == 4e-4);
    CHECK_INT(ab_prior_posterior(0.05, 4e-4, 0, 0.05, &b), AB_OK);
    CHECK(b.mean < a.mean && b.mean > 0.0 && b.var < a.var);
    CHECK_INT(ab_prior_posterior(-0.05, 4e-4, 0, 0.05, &m), AB_OK);
    CHECK_REL(m.mean, -b.mean, 1e-15);
    CHECK_REL(m.prob_beat_control, 1.0 - b.prob_beat_control, 1e-12);
    /* E[max(-L, 0)] for -L is E[max(L, 0)]: their difference is E[-L]. */
    CHECK_REL(b.risk - m.risk, -b.mean, 1e-12);
}

static void test_invalid(void)
{
    ab_prior_result p;
    CHECK_INT(ab_prior_posterior(INFINITY, 1e-4, 0, 0.1, &p), AB_EINVAL);
    CHECK_INT(ab_prior_posterior(-INFINITY, 1e-4, 0, 0.1, &p), AB_EINVAL);
    CHECK_INT(ab_prior_posterior(0.1, -1e-4, 0, 0.1, &p), AB_EINVAL);
    CHECK_INT(ab_prior_posterior(0.1, INFINITY, 0, 0.1, &p), AB_EINVAL);
    CHECK_INT(ab_prior_posterior(0.1, 1e-4, NAN, 0.1, &p), AB_EINVAL);
    CHECK_INT(ab_prior_posterior(0.1, 1e-4, INFINITY, 0.1, &p), AB_EINVAL);
    CHECK_INT(ab_prior_posterior(0.1, 1e-4, 0, 0, &p), AB_EINVAL);
    CHECK_INT(ab_prior_posterior(0.1, 1e-4, 0, -0.1, &p), AB_EINVAL);
    CHECK_INT(ab_prior_posterior(0.1, 1e-4, 0, NAN, &p), AB_EINVAL);
    CHECK_INT(ab_prior_posterior(0.1, 1e-4, 0, 0.1, NULL), AB_EINVAL);
    /* Undefined estimates are not errors. */
    CHECK_INT(ab_prior_posterior(NAN, 1e-4, 0, 0.1, &p), AB_OK);
    CHECK(isnan(p.mean) && isnan(p.prob_beat_control) && isnan(p.risk));
}

int main(void)
{
    ab_stats_init();
    test_reference();
    test_properties();
    test_invalid();
    return TEST_DONE("test_prior");
}
