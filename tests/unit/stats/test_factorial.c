/* test_factorial.c — stats/factorial.c against R's chisq.test, glm and anova (tests/reference/factorial.tsv) and on invalid input. */
#include "abstat/stats.h"
#include "test.h"

/* Deviances below DEV_ZERO are the residue of a model that fits (nearly)
 * exactly, e.g. a saturated one: R's own value is rounding noise or what a
 * separated cell leaves when the 1e-8 relative criterion stops IRLS, so they
 * are compared with an absolute floor, not relatively. The floor grows with
 * the users: a deviance adds terms 2 n y log(y/mu), and each log of a ratio
 * ~1 carries ~DBL_EPSILON, i.e. ~1e-15 n of noise (4e-7 for 4 x 10^9). */
#define DEV_ZERO 1e-6
#define DEV_ATOL 1e-9
static double dev_floor; /* DEV_ATOL + 1e-15 x the row's users */

static double max_lrt_rel; /* worst relative error of the LRT figures */

static void track(double got, double want)
{
    if (isnan(got) || isnan(want) || fabs(want) < DEV_ZERO) return;
    double rel = fabs(got - want) / fabs(want);
    if (rel > max_lrt_rel) max_lrt_rel = rel;
}

static void check_dev(double got, double want)
{
    track(got, want);
    if (fabs(want) < DEV_ZERO) CHECK_CLOSE(got, want, 1e-6, dev_floor); /* ~0: see DEV_ZERO */
    else CHECK_REL(got, want, 1e-6);
}

/* Row: tag nf L1..Lnf x1..xc n1..nc, per factor lx.. ln.. stat df p, then
 * dev_main dev_full stat df p conv; see factorial.R. */
static void reference_cases(void)
{
    ref_file *f = ref_open("factorial.tsv");
    ref_row r;
    int rows = 0, nonconv = 0;
    while (ref_next(f, &r)) {
        ab_design d = {0, {0}};
        size_t nf = r.nv > 0 ? (size_t)r.v[0] : 0;
        CHECK(nf >= 1 && nf <= AB_MAX_FACTORS && r.nv > nf);
        if (!(nf >= 1 && nf <= AB_MAX_FACTORS && r.nv > nf)) continue;
        d.nfactors = nf;
        size_t want_nv = 1 + nf + 6;
        for (size_t k = 0; k < nf; k++) {
            d.levels[k] = (size_t)r.v[1 + k];
            want_nv += 2 * d.levels[k] + 3;
        }
        size_t cells = ab_design_cells(&d);
        CHECK(cells > 0);
        want_nv += 2 * cells;
        CHECK_INT(r.nv, want_nv);
        if (cells == 0 || r.nv != want_nv) continue;
        const double *x = &r.v[1 + nf], *n = x + cells, *w = n + cells;

        for (size_t k = 0; k < nf; k++) {
            double lx[AB_MAX_ARMS], ln[AB_MAX_ARMS];
            ab_chisq_result res;
            size_t L = d.levels[k];
            CHECK_INT(ab_factorial_main_effect(&d, x, n, k, lx, ln, &res), AB_OK);
            for (size_t l = 0; l < L; l++) {
                CHECK_REL(lx[l], w[l], 1e-15);     /* integer sums: exact */
                CHECK_REL(ln[l], w[L + l], 1e-15);
            }
            w += 2 * L;
            CHECK_REL(res.statistic, w[0], 1e-6);
            CHECK_REL(res.df, w[1], 1e-6);
            CHECK_REL(res.p_value, w[2], 1e-6);
            w += 3;
        }

        ab_lrt_result lrt;
        ab_status st = ab_factorial_interaction(&d, x, n, &lrt);
        if (w[5] == 0) {
            /* R gave up after 25 iterations on a chaotic iterate: we call
             * that a numerical failure (see factorial.c) with NaN fields.
             * (conv 2, R stopping at 25 within the rounding noise, is a fit
             * and is compared like a converged one.) */
            CHECK_INT(st, AB_ENUMERIC);
            CHECK(isnan(lrt.deviance_main) && isnan(lrt.deviance_full));
            CHECK(isnan(lrt.statistic) && isnan(lrt.df) && isnan(lrt.p_value));
            nonconv++;
            continue;
        }
        CHECK_INT(st, AB_OK);
        dev_floor = DEV_ATOL;
        for (size_t c = 0; c < cells; c++) dev_floor += 1e-15 * n[c];
        check_dev(lrt.deviance_main, w[0]);
        check_dev(lrt.deviance_full, w[1]);
        check_dev(lrt.statistic, w[2]);
        CHECK_REL(lrt.df, w[3], 0.0);
        track(lrt.p_value, w[4]);
        CHECK_REL(lrt.p_value, w[4], 1e-6);
        rows++;
    }
    ref_close(f);
    test_context[0] = '\0';
    CHECK(rows >= 100);
    printf("factorial: %d reference cases (%d where R did not converge), "
           "max relative error of the LRT vs R %.3g\n", rows + nonconv, nonconv,
           max_lrt_rel);
}

static void designs(void)
{
    ab_design d = {2, {2, 3}};
    CHECK_INT(ab_design_cells(&d), 6);
    ab_design d6 = {6, {2, 2, 2, 2, 2, 2}};
    CHECK_INT(ab_design_cells(&d6), 64);
    ab_design big = {2, {8, 9}};
    CHECK_INT(ab_design_cells(&big), 0);           /* 72 cells > AB_MAX_ARMS */
    ab_design one_level = {2, {2, 1}};
    CHECK_INT(ab_design_cells(&one_level), 0);
    ab_design none = {0, {0}};
    CHECK_INT(ab_design_cells(&none), 0);
    ab_design seven = {7, {2, 2, 2, 2, 2, 2}};
    CHECK_INT(ab_design_cells(&seven), 0);
    ab_design huge = {2, {(size_t)-1, (size_t)-1}}; /* no overflow to a small product */
    CHECK_INT(ab_design_cells(&huge), 0);
    CHECK_INT(ab_design_cells(NULL), 0);
    ab_design single = {1, {64}};
    CHECK_INT(ab_design_cells(&single), 64);
}

static void invalid_input(void)
{
    ab_design d = {2, {2, 2}};
    double x[4] = {1, 2, 3, 4}, n[4] = {10, 10, 10, 10};
    double lx[2], ln[2];
    ab_chisq_result res;
    ab_lrt_result lrt;

    CHECK_INT(ab_factorial_main_effect(&d, x, n, 2, lx, ln, &res), AB_EINVAL);
    CHECK_INT(ab_factorial_main_effect(NULL, x, n, 0, lx, ln, &res), AB_EINVAL);
    CHECK_INT(ab_factorial_main_effect(&d, NULL, n, 0, lx, ln, &res), AB_EINVAL);
    CHECK_INT(ab_factorial_main_effect(&d, x, n, 0, NULL, ln, &res), AB_EINVAL);
    CHECK_INT(ab_factorial_main_effect(&d, x, n, 0, lx, ln, NULL), AB_EINVAL);
    CHECK_INT(ab_factorial_interaction(&d, x, NULL, &lrt), AB_EINVAL);
    CHECK_INT(ab_factorial_interaction(&d, x, n, NULL), AB_EINVAL);

    ab_design bad = {2, {2, 1}};
    CHECK_INT(ab_factorial_main_effect(&bad, x, n, 0, lx, ln, &res), AB_EINVAL);
    CHECK_INT(ab_factorial_interaction(&bad, x, n, &lrt), AB_EINVAL);
    ab_design big = {2, {8, 9}};
    CHECK_INT(ab_factorial_interaction(&big, x, n, &lrt), AB_ERANGE);

    const double badv[] = {-1, 0.5, NAN, INFINITY, 11};
    for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++) {
        double bx[4] = {1, 2, 3, badv[i]};
        CHECK_INT(ab_factorial_main_effect(&d, bx, n, 0, lx, ln, &res), AB_EINVAL);
        CHECK_INT(ab_factorial_interaction(&d, bx, n, &lrt), AB_EINVAL);
    }
    /* Pooled users beyond 2^53 would no longer be exact. */
    double hx[4] = {0, 0, 0, 0}, hn[4] = {9007199254740992.0, 9007199254740992.0, 1, 1};
    CHECK_INT(ab_factorial_main_effect(&d, hx, hn, 1, lx, ln, &res), AB_ERANGE);
}

/* The largest model matrices: 8 x 8 (64 columns, saturated) and 2^6 (22
 * columns), which bound the stack buffers. */
static void largest_designs(void)
{
    double x[64], n[64];
    ab_lrt_result lrt;
    for (size_t c = 0; c < 64; c++) {
        n[c] = 1000 + 37 * (double)c;
        x[c] = 100 + (double)((c * 7) % 13);
    }
    ab_design sq = {2, {8, 8}};
    CHECK_INT(ab_factorial_interaction(&sq, x, n, &lrt), AB_OK);
    CHECK_CLOSE(lrt.deviance_full, 0.0, 0.0, DEV_ATOL); /* saturated: fits exactly */
    CHECK_INT(lrt.df, 49);
    CHECK_CLOSE(lrt.statistic, lrt.deviance_main, 1e-9, DEV_ATOL);
    ab_design six = {6, {2, 2, 2, 2, 2, 2}};
    CHECK_INT(ab_factorial_interaction(&six, x, n, &lrt), AB_OK);
    CHECK_INT(lrt.df, 15);
    CHECK(lrt.statistic > 0 && lrt.p_value > 0 && lrt.p_value <= 1);
    ab_design one = {1, {64}};
    CHECK_INT(ab_factorial_interaction(&one, x, n, &lrt), AB_OK);
    CHECK(isnan(lrt.deviance_main) && isnan(lrt.statistic) && isnan(lrt.p_value));
}

int main(void)
{
    ab_stats_init();
    reference_cases();
    designs();
    invalid_input();
    largest_designs();
    return TEST_DONE("test_factorial");
}
