/* cuped.c — CUPED variance reduction of one comparison from per-arm
 * sufficient statistics of a covariate X and a metric Y (README "Statistics").
 *
 * theta = cov(X, Y)/var(X) over the users of both arms together (sample
 * moments of the pooled sums; the n - 1 cancels). Per arm
 *   Yhat = Ybar - theta (Xbar - Xbar_pooled),
 *   Var(Yhat) = (s²_Y + theta² s²_X - 2 theta s_XY)/n
 * with the arm's own sample (n - 1) moments; diff = Yhat_v - Yhat_c, its
 * interval, z and p as for NPS (normal), variance_reduction =
 * 1 - (Var_v(Yhat) + Var_c(Yhat)) / (Var_v(Ybar) + Var_c(Ybar)).
 *
 * Undefined figures are NaN with AB_OK: theta (and so everything adjusted)
 * when the pooled var(X) is 0 (every covariate equal, e.g. all absent) or
 * fewer than 2 users in all (R's lm gives the covariate an NA
 * coefficient); an arm's mean with no users; its variances with fewer than
 * 2; z and p when the variance of diff is 0; variance_reduction when the
 * unadjusted variances are 0. */
#include "internal.h"

#include <float.h>

/* Centred moments of n points: sxx = Σx² - (Σx)²/n and the like. */
typedef struct {
    double n, mx, my, sxx, syy, sxy;
} centred2;

/* Σx² - (Σx)²/n with the rounding guard of means.c: within 4 n eps Σx² of
 * 0 the data cannot be told from constant (0); further below it is
 * impossible (AB_EINVAL). */
static ab_status centred_ss(double n, double sum, double sumsq, double *ss)
{
    double v = sumsq - sum * (sum / n);
    double noise = 4.0 * n * DBL_EPSILON * sumsq;
    if (!isfinite(v) || v < -noise) return AB_EINVAL;
    *ss = v <= noise ? 0.0 : v;
    return AB_OK;
}

static int valid_moments(const ab_cuped_moments *m)
{
    return m && ab_valid_count(m->n) && isfinite(m->sum_x) &&
           isfinite(m->sum_x2) && m->sum_x2 >= 0.0 && isfinite(m->sum_y) &&
           isfinite(m->sum_y2) && m->sum_y2 >= 0.0 && isfinite(m->sum_xy) &&
           (m->n > 0.0 || (m->sum_x == 0.0 && m->sum_x2 == 0.0 &&
                           m->sum_y == 0.0 && m->sum_y2 == 0.0 &&
                           m->sum_xy == 0.0));
}

/* Means and centred sums of n >= 1 users (sums of squares 0 for n = 1). */
static ab_status centre2(double n, double sx, double sx2, double sy,
                         double sy2, double sxy, centred2 *c)
{
    c->n = n;
    c->mx = sx / n;
    c->my = sy / n;
    ab_status st = centred_ss(n, sx, sx2, &c->sxx);
    if (st != AB_OK) return st;
    st = centred_ss(n, sy, sy2, &c->syy);
    if (st != AB_OK) return st;
    c->sxy = sxy - sx * (sy / n);
    if (!isfinite(c->sxy)) return AB_EINVAL;
    /* Cauchy–Schwarz, with room for rounding: |sxy| <= sqrt(sxx syy). The
     * rounding of Σxy - ΣxΣy/n is within 4 n eps sqrt(Σx² Σy²) (both terms
     * are bounded by it); within that of 0, or when x or y is constant,
     * the covariance is 0, as R's cov of a constant. */
    double lim = sqrt(c->sxx) * sqrt(c->syy);
    double noise = 4.0 * n * DBL_EPSILON * sqrt(sx2) * sqrt(sy2);
    if (fabs(c->sxy) > lim * (1.0 + 1e-9) + noise) return AB_EINVAL;
    if (c->sxx == 0.0 || c->syy == 0.0 || fabs(c->sxy) <= noise) c->sxy = 0.0;
    return AB_OK;
}

/* The arm's Var(Yhat) and Var(Ybar), NaN below 2 users. */
static void arm_vars(const centred2 *a, double theta, double *adj, double *raw)
{
    *adj = *raw = NAN;
    if (a->n < 2.0) return;
    double d = a->n - 1.0;
    *raw = a->syy / d / a->n;
    /* The variance of Y - theta X: >= 0 for any theta once the moments
     * pass Cauchy–Schwarz, but the three terms may cancel to a hair below 0
     * when Y is (nearly) a linear function of X. */
    double r = a->syy + theta * theta * a->sxx - 2.0 * theta * a->sxy;
    double noise = 8.0 * a->n * DBL_EPSILON *
                   (a->syy + theta * theta * a->sxx + fabs(2.0 * theta * a->sxy));
    *adj = r <= noise ? 0.0 : r / d / a->n;
}

ab_status ab_cuped_compare(const ab_cuped_moments *v,
                           const ab_cuped_moments *c, double alpha,
                           ab_cuped_result *out)
{
    if (!out || !valid_moments(v) || !valid_moments(c) ||
        !ab_valid_level(alpha))
        return AB_EINVAL;
    out->theta = out->mean_v = out->mean_c = NAN;
    out->var_v = out->var_c = out->var = NAN;
    out->diff = out->z = out->p_value = out->variance_reduction = NAN;
    out->diff_ci = ab_interval_nan();

    double z_a = ab_z_crit(alpha);
    if (!isfinite(z_a)) return AB_ENUMERIC;
    double n = v->n + c->n;
    if (n > AB_MAX_COUNT) return AB_EINVAL;
    centred2 pv, pc, pool;
    ab_status st;
    if (v->n > 0.0 &&
        (st = centre2(v->n, v->sum_x, v->sum_x2, v->sum_y, v->sum_y2,
                      v->sum_xy, &pv)) != AB_OK)
        return st;
    if (c->n > 0.0 &&
        (st = centre2(c->n, c->sum_x, c->sum_x2, c->sum_y, c->sum_y2,
                      c->sum_xy, &pc)) != AB_OK)
        return st;
    if (n < 2.0) return AB_OK;
    st = centre2(n, v->sum_x + c->sum_x, v->sum_x2 + c->sum_x2,
                 v->sum_y + c->sum_y, v->sum_y2 + c->sum_y2,
                 v->sum_xy + c->sum_xy, &pool);
    if (st != AB_OK) return st;
    if (!(pool.sxx > 0.0)) return AB_OK; /* var(X) = 0: no adjustment exists */
    double theta = pool.sxy / pool.sxx;
    if (!isfinite(theta)) return AB_ENUMERIC;
    out->theta = theta;
    if (v->n == 0.0 || c->n == 0.0) return AB_OK;

    out->mean_v = pv.my - theta * (pv.mx - pool.mx);
    out->mean_c = pc.my - theta * (pc.mx - pool.mx);
    /* The difference from the arms' own means: X̄_pooled cancels. */
    out->diff = (pv.my - pc.my) - theta * (pv.mx - pc.mx);

    double raw_v, raw_c;
    arm_vars(&pv, theta, &out->var_v, &raw_v);
    arm_vars(&pc, theta, &out->var_c, &raw_c);
    out->var = out->var_v + out->var_c;
    if (isnan(out->var)) return AB_OK; /* an arm with one user */
    double se = sqrt(out->var);
    out->diff_ci.lo = out->diff - z_a * se;
    out->diff_ci.hi = out->diff + z_a * se;
    double raw = raw_v + raw_c;
    if (raw > 0.0) out->variance_reduction = 1.0 - out->var / raw;
    if (out->var > 0.0) {
        out->z = out->diff / se;
        out->p_value = ab_p_two_sided_z(out->z);
    }
    return AB_OK;
}
