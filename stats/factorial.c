/* factorial.c — factorial designs: cell counts, pooled main effects and the likelihood-ratio test of two-factor interactions (binomial GLM by IRLS). */
#include "internal.h"

#include <float.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_permutation.h>
#include <gsl/gsl_vector.h>

/* Rows of the model matrix: one per cell. */
#define MAX_CELLS AB_MAX_ARMS
/* Columns of the model matrix. The treatment-coded columns of the model
 * with all interactions of every order number exactly prod(L_f) (expand
 * prod(1 + (L_f - 1))), one per cell; the two-factor model takes a subset of
 * them, so it never has more columns than cells: 1 + sum(L_f - 1) +
 * sum_{f<g} (L_f - 1)(L_g - 1) <= cells <= AB_MAX_ARMS. The bound is reached
 * by two factors (saturated, e.g. 8 x 8), so every valid design fits the
 * fixed 64 x 64 stack buffers below (32 KiB of doubles; the whole fit uses
 * about 44 KiB of stack). */
#define MAX_COLS AB_MAX_ARMS

/* R's glm.control(): epsilon and maxit; glm.fit hands Cdqrls the rank
 * tolerance min(1e-7, epsilon / 1000) = 1e-11. */
#define GLM_EPSILON 1e-8
#define GLM_MAXIT 25
#define GLM_QR_TOL 1e-11
/* R's logit link clamps eta to +-30 (THRESH / MTHRESH in family.c). */
#define LOGIT_THRESH 30.0

size_t ab_design_cells(const ab_design *d)
{
    if (!d || d->nfactors < 1 || d->nfactors > AB_MAX_FACTORS) return 0;
    size_t cells = 1;
    for (size_t f = 0; f < d->nfactors; f++) {
        /* Checking each factor against the cap first keeps the product
         * from overflowing whatever the caller put in levels[]. */
        if (d->levels[f] < 2 || d->levels[f] > AB_MAX_ARMS) return 0;
        cells *= d->levels[f];
        if (cells > AB_MAX_ARMS) return 0;
    }
    return cells;
}

/* Level (0-based) of factor f in cell c: row-major, first factor slowest. */
static size_t cell_level(const ab_design *d, size_t c, size_t f)
{
    size_t stride = 1;
    for (size_t g = f + 1; g < d->nfactors; g++) stride *= d->levels[g];
    return (c / stride) % d->levels[f];
}

static ab_status check_cells(const ab_design *d, const double *x,
                             const double *n, size_t *cells)
{
    if (!d || !x || !n) return AB_EINVAL;
    *cells = ab_design_cells(d);
    if (*cells == 0) {
        /* Too many cells is a size limit; anything else a bad design. */
        if (d->nfactors >= 1 && d->nfactors <= AB_MAX_FACTORS) {
            int all_ok = 1;
            for (size_t f = 0; f < d->nfactors; f++)
                if (d->levels[f] < 2) all_ok = 0;
            if (all_ok) return AB_ERANGE;
        }
        return AB_EINVAL;
    }
    for (size_t c = 0; c < *cells; c++)
        if (!ab_valid_prop(x[c], n[c])) return AB_EINVAL;
    return AB_OK;
}

ab_status ab_factorial_main_effect(const ab_design *d, const double *x,
                                   const double *n, size_t f,
                                   double *level_x, double *level_n,
                                   ab_chisq_result *out)
{
    size_t cells;
    ab_status st = check_cells(d, x, n, &cells);
    if (st != AB_OK) return st;
    if (f >= d->nfactors || !level_x || !level_n || !out) return AB_EINVAL;

    size_t L = d->levels[f];
    for (size_t l = 0; l < L; l++) level_x[l] = level_n[l] = 0.0;
    for (size_t c = 0; c < cells; c++) {
        size_t l = cell_level(d, c, f);
        /* Integer sums stay exact only up to 2^53; the bound is checked
         * before adding because past it the sum would round silently. */
        if (level_n[l] > AB_MAX_COUNT - n[c]) return AB_ERANGE;
        level_x[l] += x[c];
        level_n[l] += n[c];
    }
    return ab_chisq_homogeneity(level_x, level_n, L, out);
}

/* ---- Binomial GLM ---------------------------------------------------------- */

/* A treatment-coded model matrix: entries are 0/1 (dummies and their
 * products), so bytes keep it small on the stack. */
typedef struct {
    size_t rows, cols;
    unsigned char v[MAX_CELLS][MAX_COLS];
} model_matrix;

/* Columns in R's model.matrix order: (Intercept), each factor's levels 2..L,
 * then (when interactions) the pairs f:g in formula order with the level of
 * f varying fastest. The order only matters for which aliased column is
 * dropped, not for the deviance, but following R keeps the fits alike. */
static ab_status build_model(const ab_design *d, size_t cells,
                             int interactions, model_matrix *m)
{
    size_t lev[MAX_CELLS][AB_MAX_FACTORS];
    size_t col = 0;
    for (size_t c = 0; c < cells; c++)
        for (size_t f = 0; f < d->nfactors; f++) lev[c][f] = cell_level(d, c, f);

    m->rows = cells;
    for (size_t c = 0; c < cells; c++) m->v[c][col] = 1;
    col++;
    for (size_t f = 0; f < d->nfactors; f++)
        for (size_t l = 1; l < d->levels[f]; l++, col++) {
            if (col >= MAX_COLS) return AB_ERANGE; /* unreachable, see MAX_COLS */
            for (size_t c = 0; c < cells; c++) m->v[c][col] = lev[c][f] == l;
        }
    if (interactions)
        for (size_t f = 0; f < d->nfactors; f++)
            for (size_t g = f + 1; g < d->nfactors; g++)
                for (size_t lg = 1; lg < d->levels[g]; lg++)
                    for (size_t lf = 1; lf < d->levels[f]; lf++, col++) {
                        if (col >= MAX_COLS) return AB_ERANGE;
                        for (size_t c = 0; c < cells; c++)
                            m->v[c][col] = lev[c][f] == lf && lev[c][g] == lg;
                    }
    m->cols = col;
    return AB_OK;
}

/* The logit family exactly as R's C code (family.c) computes it, so that the
 * iterations follow R's step for step, including the clamping that keeps
 * mu inside (0, 1) once a cell is (quasi-)separated. */
static double logit_linkinv(double eta)
{
    double t = eta < -LOGIT_THRESH ? DBL_EPSILON
             : eta > LOGIT_THRESH  ? 1.0 / DBL_EPSILON
                                   : exp(eta);
    return t / (1.0 + t);
}

static double logit_mu_eta(double eta)
{
    double opexp = 1.0 + exp(eta);
    return (eta > LOGIT_THRESH || eta < -LOGIT_THRESH)
               ? DBL_EPSILON
               : exp(eta) / (opexp * opexp);
}

static double y_log_y(double y, double mu)
{
    return y != 0.0 ? y * log(y / mu) : 0.0;
}

/* R's binomial()$dev.resids summed as R's sum() does, in long double. */
static double binomial_deviance(const double *y, const double *mu,
                                const double *wt, size_t cells)
{
    long double s = 0.0L;
    for (size_t c = 0; c < cells; c++)
        s += 2.0 * wt[c] * (y_log_y(y[c], mu[c]) + y_log_y(1.0 - y[c], 1.0 - mu[c]));
    return (double)s;
}

/* One weighted least-squares step: solves min |A b - z| for the good rows
 * with column pivoting. A column counts as aliased, like in LINPACK's
 * dqrdc2 that R uses, when its norm left after the columns before it falls
 * below GLM_QR_TOL times its own original norm. The tolerance is per column
 * on purpose: near separation a cell's weight n mu (1 - mu) drops to 1e-8
 * of the others', and a threshold relative to |R11| would wrongly drop the
 * columns that only that cell supports. Aliased coefficients are 0, as in
 * R's Cdqrls, which glm.fit then uses for eta. */
static ab_status wls_step(double *a, double *z, size_t rows, size_t cols,
                          double *beta, size_t *rank)
{
    double tau_d[MAX_COLS], norm_d[MAX_COLS], norm0[MAX_COLS];
    size_t perm_d[MAX_COLS];
    size_t kmin = rows < cols ? rows : cols;
    gsl_matrix_view A = gsl_matrix_view_array(a, rows, cols);
    gsl_vector_view b = gsl_vector_view_array(z, rows);
    gsl_vector_view tau = gsl_vector_view_array(tau_d, kmin);
    gsl_vector_view norm = gsl_vector_view_array(norm_d, cols);
    gsl_permutation perm = {cols, perm_d};
    int signum;

    for (size_t j = 0; j < cols; j++) {
        gsl_vector_view cj = gsl_matrix_column(&A.matrix, j);
        norm0[j] = gsl_blas_dnrm2(&cj.vector);
        if (norm0[j] == 0.0) norm0[j] = 1.0; /* dqrdc2: a zero column is aliased */
    }
    if (gsl_linalg_QRPT_decomp(&A.matrix, &tau.vector, &perm, &signum,
                               &norm.vector) != GSL_SUCCESS)
        return AB_ENUMERIC;

    size_t r = 0;
    while (r < kmin && fabs(gsl_matrix_get(&A.matrix, r, r)) >=
                           GLM_QR_TOL * norm0[gsl_permutation_get(&perm, r)])
        r++;
    *rank = r;
    for (size_t j = 0; j < cols; j++) beta[j] = 0.0;
    if (r == 0) return AB_OK;

    if (gsl_linalg_QR_QTvec(&A.matrix, &tau.vector, &b.vector) != GSL_SUCCESS)
        return AB_ENUMERIC;
    gsl_matrix_const_view R11 = gsl_matrix_const_submatrix(&A.matrix, 0, 0, r, r);
    gsl_vector_view c = gsl_vector_subvector(&b.vector, 0, r);
    if (gsl_blas_dtrsv(CblasUpper, CblasNoTrans, CblasNonUnit, &R11.matrix,
                       &c.vector) != GSL_SUCCESS)
        return AB_ENUMERIC;
    for (size_t j = 0; j < r; j++) {
        double v = gsl_vector_get(&c.vector, j);
        if (!isfinite(v)) return AB_ENUMERIC; /* R: "non-finite coefficients" */
        beta[gsl_permutation_get(&perm, j)] = v;
    }
    return AB_OK;
}

/* Residual deviance and rank of glm(cbind(x, n - x) ~ m, binomial), following
 * glm.fit: mustart = (n y + 0.5)/(n + 1), IRLS until
 * |dev - devold| / (|dev| + 0.1) < 1e-8, at most 25 iterations. Cells
 * without users have prior weight 0 and are left out of the least squares.
 * *dev is NaN when no cell has users (R stops).
 *
 * After 25 iterations R warns and keeps the last iterate. We keep it too
 * when the last change is within the deviance's rounding noise: each term
 * 2 n y log(y/mu) carries ~n DBL_EPSILON, so with 10^9 users a (nearly)
 * saturated fit wanders by ~1e-7 for ever, above the 1e-9 that the relative
 * criterion asks of a deviance ~0 (R then stops by luck on some iteration;
 * both values are 0 to within that noise). Any larger change at iteration 25
 * is AB_ENUMERIC: it is not a fit. It happens when an undamped Newton
 * step throws a cell with 0 < y < 1 past the logit clamp (|eta| > 30), where
 * z = eta + (y - mu)/DBL_EPSILON ~ 1e15 and the iterates jump chaotically
 * (coefficients ~1e15, deviances 100x the true minimum). Such an iterate
 * hangs on the last bit of every step, so it is neither meaningful nor
 * reproducible: in one such case (a cell converting 100% of 10^6 users
 * among 11 cells of ~10%) R's iterates and ours part at the 4th digit by
 * the 5th iteration. */
static ab_status glm_binomial(const model_matrix *m, const double *x,
                              const double *n, double *dev_out, size_t *rank_out)
{
    const size_t cells = m->rows, cols = m->cols;
    double y[MAX_CELLS], wt[MAX_CELLS], eta[MAX_CELLS], mu[MAX_CELLS];
    double z[MAX_CELLS], beta[MAX_COLS];
    double a[MAX_CELLS * MAX_COLS];
    size_t good[MAX_CELLS], ngood = 0, rank = 0;

    for (size_t c = 0; c < cells; c++) {
        wt[c] = n[c];
        y[c] = n[c] > 0.0 ? x[c] / n[c] : 0.0;
        double mustart = (n[c] * y[c] + 0.5) / (n[c] + 1.0);
        eta[c] = log(mustart / (1.0 - mustart));
        mu[c] = logit_linkinv(eta[c]);
        /* mu_eta is never 0 (clamped at DBL_EPSILON), so good = n > 0. */
        if (n[c] > 0.0) good[ngood++] = c;
    }
    if (ngood == 0) {
        *dev_out = NAN;
        *rank_out = 0;
        return AB_OK;
    }

    double devold = binomial_deviance(y, mu, wt, cells), dev = devold;
    double noise = 0.0, change = 0.0;
    for (size_t r = 0; r < ngood; r++) noise += 8.0 * DBL_EPSILON * n[good[r]];
    int conv = 0;
    for (int iter = 1; iter <= GLM_MAXIT && !conv; iter++) {
        for (size_t r = 0; r < ngood; r++) {
            size_t c = good[r];
            double me = logit_mu_eta(eta[c]);
            double var = mu[c] * (1.0 - mu[c]);
            double w = sqrt(wt[c] * me * me / var);
            z[r] = (eta[c] + (y[c] - mu[c]) / me) * w;
            for (size_t j = 0; j < cols; j++) a[r * cols + j] = m->v[c][j] * w;
        }
        ab_status st = wls_step(a, z, ngood, cols, beta, &rank);
        if (st != AB_OK) return st;
        for (size_t c = 0; c < cells; c++) {
            double e = 0.0;
            for (size_t j = 0; j < cols; j++)
                if (m->v[c][j]) e += beta[j];
            eta[c] = e;
            mu[c] = logit_linkinv(e);
        }
        dev = binomial_deviance(y, mu, wt, cells);
        /* The clamped logit keeps every term finite; if not, R would halve
         * the step, which this family never needs. */
        if (!isfinite(dev)) return AB_ENUMERIC;
        change = fabs(dev - devold);
        conv = change / (fabs(dev) + 0.1) < GLM_EPSILON;
        devold = dev;
    }
    if (!conv && !(change <= noise)) return AB_ENUMERIC;
    *dev_out = dev;
    *rank_out = rank;
    return AB_OK;
}

static void lrt_nan(ab_lrt_result *out)
{
    out->deviance_main = out->deviance_full = NAN;
    out->statistic = out->df = out->p_value = NAN;
}

ab_status ab_factorial_interaction(const ab_design *d, const double *x,
                                   const double *n, ab_lrt_result *out)
{
    size_t cells;
    if (!out) return AB_EINVAL;
    /* NaN until known, so a caller that maps any failure to null is safe. */
    lrt_nan(out);
    ab_status st = check_cells(d, x, n, &cells);
    if (st != AB_OK) return st;
    if (d->nfactors < 2) return AB_OK; /* no two-factor interaction to test */

    model_matrix m;
    double dev_main, dev_full;
    size_t rank_main, rank_full;
    if ((st = build_model(d, cells, 0, &m)) != AB_OK) return st;
    if ((st = glm_binomial(&m, x, n, &dev_main, &rank_main)) != AB_OK) return st;
    if ((st = build_model(d, cells, 1, &m)) != AB_OK) return st;
    if ((st = glm_binomial(&m, x, n, &dev_full, &rank_full)) != AB_OK) return st;
    if (isnan(dev_main) || isnan(dev_full)) return AB_OK; /* no users at all */

    out->deviance_main = dev_main;
    out->deviance_full = dev_full;
    out->statistic = dev_main - dev_full;
    out->df = (double)rank_full - (double)rank_main;
    /* R's stat.anova: no p for 0 df or a negative deviance difference. */
    if (out->df <= 0.0 || out->statistic < 0.0) out->p_value = NAN;
    else out->p_value = gsl_cdf_chisq_Q(out->statistic, out->df);
    return AB_OK;
}
