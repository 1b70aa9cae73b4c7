/* means.c — revenue per user: mean, sd and t interval of one arm and Welch's
 * t-test of two arms (R's t.test), from the sufficient statistics n, Σx, Σx². */
#include "internal.h"

#include <float.h>
#include <math.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_result.h>

/* Above this many degrees of freedom the t tail comes from Hill's normal
 * transformation instead of the incomplete beta function: GSL's
 * gsl_sf_beta_inc (and so gsl_cdf_tdist_Q) takes x = n/(n+t²), whose
 * rounding costs about n·eps of relative accuracy (1e-7 at n = 1e9, 1e-4 at
 * 1e12), while Hill's series is within 1e-12 of R's pt from n = 1e4 on.
 * Both agree with R to better than 1e-11 at the switch. */
#define T_HILL_DF 1e5

/* Newton steps allowed when inverting the t tail. */
#define T_QUANTILE_ITER 60

/* G. W. Hill (1970), ACM Algorithm 395: the normal deviate z with Φ(z) = the
 * t cdf at x >= 0 to O(n⁻³), for large n. log1p keeps w exact when x²/n is
 * far below eps. *dw_dx, when asked for, gets the slope of its leading term
 * w = sqrt((n - 1/2) log(1 + x²/n)). */
static double hill_z(double x, double n, double *dw_dx)
{
    double w = sqrt((n - 0.5) * log1p(x * x / n));
    double b = 48.0 * (n - 0.5) * (n - 0.5);
    double w2 = w * w;
    if (dw_dx) {
        *dw_dx = w > 0.0 ? (n - 0.5) * x / (n * (1.0 + x * x / n) * w)
                         : sqrt((n - 0.5) / n); /* the limit as x -> 0 */
    }
    /* Far out (x² may even overflow) the tail is 0 whatever the terms. */
    if (!(w < 1e3)) return w;
    return w + (w2 * w + 3.0 * w) / b
           - (((4.0 * w2 + 33.0) * w2 + 240.0) * w2 + 855.0) * w
                 / (10.0 * b * (b + 0.8 * w2 * w2 + 100.0));
}

/* Two-sided tail 2·P(T > |t|) of Student's t with n > 0 degrees of freedom,
 * as R's 2 * pt(-abs(t), n). */
static ab_status t_p_two_sided(double t, double n, double *p)
{
    double x = fabs(t);
    if (isnan(x) || isnan(n)) {
        *p = NAN;
        return AB_OK;
    }
    if (isinf(x)) {
        *p = 0.0;
        return AB_OK;
    }
    if (n > T_HILL_DF) {
        *p = 2.0 * gsl_cdf_ugaussian_Q(hill_z(x, n, NULL));
        return isfinite(*p) ? AB_OK : AB_ENUMERIC;
    }

    double nx = 1.0 + (x / n) * x;
    if (nx > 1e100) {
        /* As R: the leading term of the tail, in logs, where the incomplete
         * beta's argument n/(n+t²) would underflow. */
        gsl_sf_result lb;
        if (gsl_sf_lnbeta_e(0.5 * n, 0.5, &lb) != GSL_SUCCESS) return AB_ENUMERIC;
        *p = exp(-0.5 * n * (2.0 * log(x) - log(n)) - lb.val - log(0.5 * n));
        return isfinite(*p) ? AB_OK : AB_ENUMERIC;
    }
    gsl_sf_result r;
    int st;
    if (x < 1.0) {
        /* The answer is above 0.3: take the complement of the small lower
         * tail of Beta(1/2, n/2) at t²/(n+t²), which keeps full precision
         * as t → 0 where n/(n+t²) would round to 1. */
        st = gsl_sf_beta_inc_e(0.5, 0.5 * n, x * x / (n + x * x), &r);
        if (st == GSL_EUNDRFLW) {
            r.val = 0.0;
            st = GSL_SUCCESS;
        }
        if (st != GSL_SUCCESS) return AB_ENUMERIC;
        *p = 1.0 - r.val;
    } else {
        /* The tail itself: the lower tail of Beta(n/2, 1/2) at n/(n+t²). */
        st = gsl_sf_beta_inc_e(0.5 * n, 0.5, 1.0 / nx, &r);
        /* Below DBL_MIN R's pt gives subnormal dust; 0 is as good. */
        if (st == GSL_EUNDRFLW) {
            r.val = 0.0;
            st = GSL_SUCCESS;
        }
        if (st != GSL_SUCCESS) return AB_ENUMERIC;
        *p = r.val;
    }
    if (!isfinite(*p)) return AB_ENUMERIC;
    if (*p > 1.0) *p = 1.0;
    if (*p < 0.0) *p = 0.0;
    return AB_OK;
}

/* log f(t), the log of the slope of the t cdf, for Newton's method. For
 * huge n it is the slope of Hill's transformation (the cdf used there),
 * where the difference of log-gammas would lose every digit. Stays finite
 * for t so large that t² overflows. */
static ab_status t_log_density(double t, double n, double *out)
{
    double x = fabs(t);
    if (n > T_HILL_DF) {
        double dw_dx, z = hill_z(x, n, &dw_dx);
        *out = -0.5 * z * z - 0.5 * log(2.0 * M_PI) + log(dw_dx);
        return isfinite(*out) ? AB_OK : AB_ENUMERIC;
    }
    gsl_sf_result lg1, lg2;
    if (gsl_sf_lngamma_e(0.5 * (n + 1.0), &lg1) != GSL_SUCCESS ||
        gsl_sf_lngamma_e(0.5 * n, &lg2) != GSL_SUCCESS)
        return AB_ENUMERIC;
    /* log(1 + t²/n), also where t² overflows */
    double l = x < 1e150 ? log1p(x * x / n) : 2.0 * log(x) - log(n);
    *out = lg1.val - lg2.val - 0.5 * log(n * M_PI) - 0.5 * (n + 1.0) * l;
    return isfinite(*out) ? AB_OK : AB_ENUMERIC;
}

/* q with 2·P(T > q) = alpha: the two-sided critical value, as R's
 * qt(1 - alpha/2, n). GSL's quantile (the normal one for huge n) is the
 * starting point: it is off by up to 1e-6 in far tails, and R's qt, too,
 * refines its first guess with Newton steps on its own pt. The steps here
 * are on log p as a function of log q: the t tail is close to a power of q
 * (linear in those coordinates), so even a poor start for a tiny alpha
 * converges in a few steps. */
static ab_status t_crit(double alpha, double n, double *q)
{
    double x = n > T_HILL_DF ? ab_z_crit(alpha) : gsl_cdf_tdist_Qinv(alpha / 2.0, n);
    if (!isfinite(x) || x <= 0.0) x = ab_z_crit(alpha);
    if (!isfinite(x) || x <= 0.0) return AB_ENUMERIC;
    double log_alpha = log(alpha);
    for (int i = 0; i < T_QUANTILE_ITER; i++) {
        double p, log_f;
        ab_status st = t_p_two_sided(x, n, &p);
        if (st != AB_OK) return st;
        if (!(p > 0.0)) {
            /* Far beyond the root, where p underflows: step back. */
            x /= 2.0;
            continue;
        }
        st = t_log_density(x, n, &log_f);
        if (st != AB_OK) return st;
        /* d(log p)/d(log q) = -2 q f(q) / p */
        double log_p = log(p);
        double du = (log_p - log_alpha) * exp(log_p - M_LN2 - log(x) - log_f);
        if (!isfinite(du)) return AB_ENUMERIC;
        if (du > 20.0) du = 20.0; /* keep a wild first step in range */
        if (du < -20.0) du = -20.0;
        x *= exp(du);
        /* Convergence is quadratic, so once a step is this small the one
         * just taken leaves q at the noise floor of p (~1e-12 relative),
         * which smaller tolerances would chase forever. */
        if (fabs(du) <= 1e-10) {
            *q = x;
            return isfinite(x) ? AB_OK : AB_ENUMERIC;
        }
    }
    return AB_ENUMERIC;
}

/* Mean and centred sum of squares of valid moments; the sum of squares is
 * NaN for n < 2. */
typedef struct {
    double n, mean, ss;
} centred;

/* Validates m and centres it. The centred sum of squares Σx² − (Σx)²/n loses
 * digits to cancellation: sums accumulated naively carry relative errors up
 * to about n·eps, so |error| <= 4·n·eps·Σx² bounds what rounding can do.
 * Within that bound of zero the data cannot be told from constant ones (as
 * R's "data are essentially constant") and the sum of squares is taken as 0;
 * further below zero the moments are impossible (Cauchy–Schwarz) and
 * invalid. */
static ab_status centre(const ab_moments *m, centred *c)
{
    if (!m || !ab_valid_count(m->n) || !isfinite(m->sum) ||
        !isfinite(m->sumsq) || m->sumsq < 0.0)
        return AB_EINVAL;
    c->n = m->n;
    c->mean = NAN;
    c->ss = NAN;
    if (m->n == 0.0) {
        /* No users: no revenue either. */
        return (m->sum == 0.0 && m->sumsq == 0.0) ? AB_OK : AB_EINVAL;
    }
    c->mean = m->sum / m->n;
    double ss = m->sumsq - c->mean * m->sum;
    double noise = 4.0 * m->n * DBL_EPSILON * m->sumsq;
    if (!isfinite(ss) || ss < -noise) return AB_EINVAL;
    if (ss <= noise) ss = 0.0;
    if (m->n >= 2.0) c->ss = ss;
    return AB_OK;
}

ab_status ab_mean_summarize(const ab_moments *m, double alpha,
                            ab_mean_summary *out)
{
    centred c;
    if (!out || !ab_valid_level(alpha)) return AB_EINVAL;
    ab_status st = centre(m, &c);
    if (st != AB_OK) return st;

    out->mean = c.mean; /* NaN for n = 0, as R's mean(numeric(0)) */
    out->sd = NAN;
    out->ci = ab_interval_nan();
    if (c.n < 2.0) return AB_OK; /* R: "not enough 'x' observations" */

    double var = c.ss / (c.n - 1.0);
    out->sd = sqrt(var);
    double se = sqrt(var / c.n);
    /* R stops with "data are essentially constant" here; with mean 0 it
     * goes on to 0/0. Either way the interval is undefined. */
    if (se == 0.0 || se < 10.0 * DBL_EPSILON * fabs(c.mean)) return AB_OK;

    double q;
    st = t_crit(alpha, c.n - 1.0, &q);
    if (st != AB_OK) return st;
    out->ci.lo = c.mean - q * se;
    out->ci.hi = c.mean + q * se;
    if (!isfinite(out->ci.lo) || !isfinite(out->ci.hi)) return AB_ENUMERIC;
    return AB_OK;
}

ab_status ab_welch_test(const ab_moments *v, const ab_moments *c, double alpha,
                        ab_welch_result *out)
{
    centred cv, cc;
    if (!out || !ab_valid_level(alpha)) return AB_EINVAL;
    ab_status st = centre(v, &cv);
    if (st != AB_OK) return st;
    st = centre(c, &cc);
    if (st != AB_OK) return st;

    out->diff = cv.mean - cc.mean; /* NaN when an arm has no users */
    out->diff_ci = ab_interval_nan();
    out->t = out->df = out->p_value = NAN;
    out->var = NAN;
    if (cv.n < 2.0 || cc.n < 2.0) return AB_OK; /* R: not enough observations */

    double vv = cv.ss / (cv.n - 1.0) / cv.n; /* s_v²/n_v */
    double vc = cc.ss / (cc.n - 1.0) / cc.n; /* s_c²/n_c */
    out->var = vv + vc;
    double se = sqrt(out->var);
    /* R: "data are essentially constant", or 0/0 when both means are 0. */
    if (se == 0.0 ||
        se < 10.0 * DBL_EPSILON * fmax(fabs(cv.mean), fabs(cc.mean)))
        return AB_OK;

    /* Welch–Satterthwaite, V²/(vv²/(n_v-1) + vc²/(n_c-1)), written with the
     * shares of V so that no square can overflow. */
    double a = vv / out->var, b = vc / out->var;
    out->df = 1.0 / (a * a / (cv.n - 1.0) + b * b / (cc.n - 1.0));
    out->t = out->diff / se;
    if (!isfinite(out->df) || !isfinite(out->t)) return AB_ENUMERIC;

    st = t_p_two_sided(out->t, out->df, &out->p_value);
    if (st != AB_OK) return st;
    double q;
    st = t_crit(alpha, out->df, &q);
    if (st != AB_OK) return st;
    out->diff_ci.lo = out->diff - q * se;
    out->diff_ci.hi = out->diff + q * se;
    if (!isfinite(out->diff_ci.lo) || !isfinite(out->diff_ci.hi))
        return AB_ENUMERIC;
    return AB_OK;
}
