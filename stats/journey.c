/* journey.c — journey steps and survey response: step rates from the
 * phase-combination counts, Lee bounds on a step's effect among the users
 * who would reach its phase under either arm with their Imbens-Manski
 * interval, and the NPS response bounds (README "Statistics").
 *
 * The model (Lee 2009, "Training, wages, and sample selection"; principal
 * strata of Frangakis & Rubin 2002). A step s -> s' is observed only on the
 * users who reached s, and the variant may change who reaches s. Assume
 * monotonicity: whoever reaches s under the arm with the smaller reach share
 * would also reach it under the other. The users who reach s under either
 * arm ("always-reachers") are then a share rho_lo / rho_hi of the reached
 * users of the arm with the larger share rho = reached / users, and the rest,
 * q = (rho_hi - rho_lo) / rho_hi, reach s only because of that arm. Which
 * of its reached users those are is unknown, so its always-reacher step rate
 * lies between the rate left after dropping a share q of its continuers
 * (the lowest possible) and the rate left after dropping q of the others:
 *   [max(0, (y - q r) / ((1 - q) r)), min(1, y / ((1 - q) r))],
 * and the other arm's users who reached s are all always-reachers, so its
 * rate is y / r as observed. Those are the bounds of README "Statistics", sharp
 * (no narrower interval holds without more assumptions): tests/reference/
 * journey.R checks them against every choice of always-reachers on small
 * tables. Ties (equal shares) trim the variant with q = 0: the bounds are
 * then the plain difference of the step rates.
 *
 * Standard errors (delta method). With m = (1 - q) r = n_t rho_o the
 * always-reachers of the trimmed arm t (rho_o the other arm's share), its
 * bounds are functions of three frequencies of the arm's n_t users:
 *   upper U_t = tau_t / rho_o,        tau_t = y_t / n_t (continued),
 *   lower L_t = 1 - mu_t / rho_o,     mu_t = (r_t - y_t) / n_t (stopped),
 * so the r_t of the trimmed arm drops out. Per arm the multinomial
 * frequencies (none, reached and stopped, continued) give Var(tau) =
 * tau (1 - tau)/n, Var(rho) = rho (1 - rho)/n, and the step rate
 * s = y / r is uncorrelated with rho (E[s | r] = s), Var(s) = s (1 - s)/r.
 * The arms are independent, hence
 *   Var(U_t) = tau_t (1 - tau_t) / (n_t rho_o^2) + U_t^2 (1 - rho_o) / (n_o rho_o),
 *   Var(L_t) = mu_t (1 - mu_t) / (n_t rho_o^2) + (1 - L_t)^2 (1 - rho_o) / (n_o rho_o),
 * each plus Var(s_o) of the untrimmed arm's rate. The second term is the
 * uncertainty of the trimming share, which Lee's own variance also carries.
 * Where a bound is cut at 0 or 1 it no longer moves with the data and its
 * variance is that of s_o alone; at the cut exactly the uncut (larger)
 * variance is used: the conservative side of the kink. Whether a bound is
 * cut is decided on the counts exactly (y_t n_o > n_t r_o, (r_t - y_t) n_o
 * > n_t r_o), not on a rounded quotient. The trimmed arm is
 * the one with the larger estimated share (the plug-in branch).
 *
 * The interval (Imbens & Manski 2004, "Confidence intervals for partially
 * identified parameters", Econometrica 72). For the identified set [L, U]
 * with standard errors s_L, s_U:  [L - c s_L, U + c s_U], c solving
 *   Phi(c + (U - L) / max(s_L, s_U)) - Phi(-c) = 1 - alpha,
 * i.e. Q(c) + Q(c + k) = alpha (Q the upper normal tail, k = (U - L)/max),
 * whose root lies in [z_{1-alpha}, z_{1-alpha/2}]: the one-sided value for
 * a wide set, the two-sided one for a point. It covers the true effect (not
 * the whole set) with probability 1 - alpha; tests/unit/stats/test_journey.c
 * simulates that. Both standard errors 0 make k 0/0 or +inf: the limits
 * z_{1-alpha/2} (a point) and z_{1-alpha} are taken, and the interval is the
 * set itself. As prop.test does with a difference of rates, the interval is
 * kept within [-1, 1]. */
#include "internal.h"

#include <float.h>
#include <stdalign.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>

/* a*d - b*c to a few ulps (Kahan's fma trick): the shares are compared and
 * q formed from products of 10^9-scale counts, which exceed 2^53. */
static double diff_of_products(double a, double d, double b, double c)
{
    double w = b * c;
    double e = fma(-b, c, w);
    double f = fma(a, d, -w);
    return f + e;
}

static int arm_valid(const ab_journey_arm *a)
{
    return a && ab_valid_prop(a->reached, a->users) &&
           ab_valid_prop(a->continued, a->reached);
}

ab_status ab_journey_cells(const double *cells, double *users,
                           ab_journey_arm *steps)
{
    if (!cells || !users || !steps) return AB_EINVAL;
    double total = 0.0;
    for (unsigned m = 0; m < AB_JOURNEY_CELLS; m++) {
        if (!ab_valid_count(cells[m])) return AB_EINVAL;
        total += cells[m];
    }
    /* Every partial sum below is at most the total; a total that reaches
     * 2^53 may already have been rounded. */
    if (!(total < AB_MAX_COUNT)) return AB_EINVAL;
    for (unsigned s = 0; s < AB_JOURNEY_STEPS; s++) {
        double r = 0.0, y = 0.0;
        unsigned bs = 1u << s, bn = 1u << (s + 1);
        for (unsigned m = 0; m < AB_JOURNEY_CELLS; m++) {
            if (!(m & bs)) continue;
            r += cells[m];
            if (m & bn) y += cells[m];
        }
        steps[s].users = total;
        steps[s].reached = r;
        steps[s].continued = y;
    }
    *users = total;
    return AB_OK;
}

/* ---- Imbens-Manski critical value ------------------------------------ */

typedef struct {
    double alpha, k;
} im_params;

/* alpha - Q(c) - Q(c + k): increasing in c; the complement form keeps the
 * digits that Phi(c + k) - Phi(-c) - (1 - alpha) would lose near 1. */
static double im_eq(double c, void *p)
{
    const im_params *ip = p;
    return ip->alpha - gsl_cdf_ugaussian_Q(c) - gsl_cdf_ugaussian_Q(c + ip->k);
}

/* Brent's method on a solver that lives on the stack: gsl_root_fsolver is
 * a public struct and its state is type->size bytes, so the library's rule
 * of no heap allocation holds without gsl_root_fsolver_alloc. */
static ab_status im_crit(double alpha, double k, double *crit)
{
    double lo = gsl_cdf_ugaussian_Qinv(alpha);      /* z_{1-alpha} */
    double hi = gsl_cdf_ugaussian_Qinv(alpha / 2.0); /* z_{1-alpha/2} */
    if (!isfinite(lo) || !isfinite(hi)) return AB_ENUMERIC;
    if (k == 0.0) { /* a point: the two-sided value, exactly */
        *crit = hi;
        return AB_OK;
    }
    im_params ip = {alpha, k};
    double flo = im_eq(lo, &ip), fhi = im_eq(hi, &ip);
    /* A root at an end (to rounding): k so large that Q(c + k) vanishes,
     * or so small that Q(c + k) = Q(c) to the last digit. */
    if (flo >= 0.0) {
        *crit = lo;
        return AB_OK;
    }
    if (fhi <= 0.0) {
        *crit = hi;
        return AB_OK;
    }

    const gsl_root_fsolver_type *T = gsl_root_fsolver_brent;
    alignas(max_align_t) unsigned char state[256];
    if (T->size > sizeof state) return AB_ENUMERIC;
    gsl_root_fsolver s = {T, NULL, 0.0, 0.0, 0.0, state};
    gsl_function F = {im_eq, &ip};
    if (gsl_root_fsolver_set(&s, &F, lo, hi) != GSL_SUCCESS) return AB_ENUMERIC;
    for (int it = 0; it < 200; it++) {
        if (gsl_root_fsolver_iterate(&s) != GSL_SUCCESS) return AB_ENUMERIC;
        double a = gsl_root_fsolver_x_lower(&s), b = gsl_root_fsolver_x_upper(&s);
        int st = gsl_root_test_interval(a, b, 0.0, 4.0 * DBL_EPSILON);
        if (st == GSL_SUCCESS) {
            *crit = gsl_root_fsolver_root(&s);
            return isfinite(*crit) ? AB_OK : AB_ENUMERIC;
        }
        if (st != GSL_CONTINUE) return AB_ENUMERIC;
    }
    return AB_ENUMERIC;
}

/* ---- Lee bounds ------------------------------------------------------- */

/* Bounds [*lo, *hi] on the always-reacher step rate of the trimmed arm t,
 * given the other arm o (both with reached > 0), and their variances (see
 * the top of the file). */
static void trimmed_rate(const ab_journey_arm *t, const ab_journey_arm *o,
                         double *lo, double *var_lo, double *hi,
                         double *var_hi)
{
    double rho_o = o->reached / o->users;
    /* (1 - rho_o) / (n_o rho_o), from the counts. */
    double share_var = (o->users - o->reached) / (o->users * o->reached);
    double tau = t->continued / t->users;
    double mu = (t->reached - t->continued) / t->users;
    double tau_c = (t->users - t->continued) / t->users; /* 1 - tau */
    double mu_c = (t->users - t->reached + t->continued) / t->users;

    /* U_t = y_t n_o / (n_t r_o) = y_t / ((1 - q) r_t). */
    double u = t->continued * o->users / (t->users * o->reached);
    /* The cuts are decided on the counts exactly (y_t n_o > n_t r_o), so
     * that a bound at the cut (1 to the last digit) takes the same side in
     * every implementation; the value is cut as well where rounding took
     * it a hair beyond. */
    if (diff_of_products(t->continued, o->users, t->users, o->reached) > 0.0) {
        *hi = 1.0;
        *var_hi = 0.0;
    } else {
        *hi = fmin(u, 1.0);
        *var_hi = tau * tau_c / (t->users * rho_o * rho_o) + u * u * share_var;
    }
    /* L_t = 1 - (r_t - y_t) n_o / (n_t r_o) = (y_t - q r_t) / ((1 - q) r_t). */
    double w = (t->reached - t->continued) * o->users / (t->users * o->reached);
    double l = 1.0 - w;
    if (diff_of_products(t->reached - t->continued, o->users, t->users,
                         o->reached) > 0.0) {
        *lo = 0.0;
        *var_lo = 0.0;
    } else {
        *lo = fmax(l, 0.0);
        *var_lo = mu * mu_c / (t->users * rho_o * rho_o) + w * w * share_var;
    }
}

static void bounds_nan(ab_journey_bounds *out)
{
    out->diff = NAN;
    out->bounds = out->bounds_ci = ab_interval_nan();
    out->se_lo = out->se_hi = out->crit = NAN;
}

ab_status ab_journey_step_bounds(const ab_journey_arm *v,
                                 const ab_journey_arm *c, double alpha,
                                 ab_journey_bounds *out)
{
    if (!out || !arm_valid(v) || !arm_valid(c) || !ab_valid_level(alpha))
        return AB_EINVAL;
    out->reach_v = v->users > 0.0 ? v->reached / v->users : NAN;
    out->reach_c = c->users > 0.0 ? c->reached / c->users : NAN;
    out->rate_v = v->reached > 0.0 ? v->continued / v->reached : NAN;
    out->rate_c = c->reached > 0.0 ? c->continued / c->reached : NAN;
    out->trim = NAN;
    out->trimmed = -1;
    bounds_nan(out);
    /* No users in an arm: no share to compare. Nobody reached s in either
     * arm: nothing to trim. */
    if (v->users == 0.0 || c->users == 0.0) return AB_OK;
    if (v->reached == 0.0 && c->reached == 0.0) return AB_OK;

    /* rho_v >= rho_c exactly when r_v n_c - r_c n_v >= 0. */
    double dp = diff_of_products(v->reached, c->users, c->reached, v->users);
    int trim_v = dp >= 0.0;
    const ab_journey_arm *t = trim_v ? v : c, *o = trim_v ? c : v;
    out->trimmed = trim_v;
    /* q = (rho_t - rho_o) / rho_t = (r_t n_o - r_o n_t) / (r_t n_o). */
    out->trim = fabs(dp) / (t->reached * o->users);
    /* The other arm has nobody at s: no always-reachers are observed, and
     * its step rate is undefined. */
    if (o->reached == 0.0) return AB_OK;

    out->diff = out->rate_v - out->rate_c;
    double tl, tvl, th, tvh;
    trimmed_rate(t, o, &tl, &tvl, &th, &tvh);
    double s_o = o->continued / o->reached;
    double var_o = s_o * ((o->reached - o->continued) / o->reached) / o->reached;
    double var_lo, var_hi;
    if (trim_v) {
        out->bounds.lo = tl - s_o;
        out->bounds.hi = th - s_o;
        var_lo = tvl + var_o;
        var_hi = tvh + var_o;
    } else {
        /* Bounds on s_v minus the control's trimmed rate. */
        out->bounds.lo = s_o - th;
        out->bounds.hi = s_o - tl;
        var_lo = tvh + var_o;
        var_hi = tvl + var_o;
    }
    out->se_lo = sqrt(var_lo);
    out->se_hi = sqrt(var_hi);

    double delta = out->bounds.hi - out->bounds.lo;
    if (delta < 0.0) delta = 0.0; /* rounding; U >= L in exact arithmetic */
    double smax = fmax(out->se_lo, out->se_hi);
    double k = smax > 0.0 ? delta / smax : (delta > 0.0 ? INFINITY : 0.0);
    ab_status st = im_crit(alpha, k, &out->crit);
    if (st != AB_OK) return st;
    out->bounds_ci.lo = fmax(-1.0, out->bounds.lo - out->crit * out->se_lo);
    out->bounds_ci.hi = fmin(1.0, out->bounds.hi + out->crit * out->se_hi);
    return AB_OK;
}

/* ---- NPS response bounds ----------------------------------------------
 *
 * The same principal-stratum argument for a survey: an arm may change who
 * answers it. With monotonicity, the always-responders are a share
 * rho_lo / rho_hi of the answers of the arm that answers more often (rho =
 * answers / users); the other q = (rho_hi - rho_lo) / rho_hi of its answers
 * are dropped, m = (1 - q) r of them kept, fractionally where q r is not
 * whole (the limit of the discrete trimming, as in Lee's bounds). Its
 * lowest possible score drops the best answers first (promoters, then
 * passives, then detractors), its highest the worst first (detractors,
 * passives, promoters); the other arm's score is as observed. The response
 * rates are compared by the pooled two-proportion z-test of README
 * "Statistics" (ab_prop_compare). Equal rates trim the variant with q = 0:
 * the bounds are the plain score difference. */

/* 100 (P - D) / m after dropping t answers from the first category, then
 * the second, then the third (first..third = the categories in the order
 * they are dropped; sign +1 when the first is the promoters). */
static double trimmed_score(double first, double second, double third,
                            double t, double m, double sign)
{
    double d1 = fmin(first, t);
    t -= d1;
    double d2 = fmin(second, t);
    t -= d2;
    double d3 = fmin(third, t);
    double a = first - d1, cc = third - d3;
    /* a and cc are what remains of the promoters and the detractors, in
     * the order the sign says. */
    return 100.0 * sign * (a - cc) / m;
}

static int nps_arm_valid(const ab_nps_response_arm *a)
{
    if (!a || !ab_valid_count(a->users) || !ab_valid_count(a->promoters) ||
        !ab_valid_count(a->passives) || !ab_valid_count(a->detractors))
        return 0;
    double r = a->promoters + a->passives + a->detractors;
    return r < AB_MAX_COUNT && r <= a->users;
}

static double nps_score_of(const ab_nps_response_arm *a, double r)
{
    return r > 0.0 ? 100.0 * (a->promoters - a->detractors) / r : NAN;
}

ab_status ab_nps_response_bounds(const ab_nps_response_arm *v,
                                 const ab_nps_response_arm *c, double alpha,
                                 ab_nps_response_result *out)
{
    if (!out || !nps_arm_valid(v) || !nps_arm_valid(c) || !ab_valid_level(alpha))
        return AB_EINVAL;
    double rv = v->promoters + v->passives + v->detractors;
    double rc = c->promoters + c->passives + c->detractors;
    out->responses_v = rv;
    out->responses_c = rc;
    out->rate_v = v->users > 0.0 ? rv / v->users : NAN;
    out->rate_c = c->users > 0.0 ? rc / c->users : NAN;
    ab_prop_comparison cmp;
    ab_status st = ab_prop_compare(rv, v->users, rc, c->users, alpha, &cmp);
    if (st != AB_OK) return st;
    out->z = cmp.z;
    out->p_value = cmp.p_value;
    double sv = nps_score_of(v, rv), sc = nps_score_of(c, rc);
    out->diff = sv - sc;
    out->trim = NAN;
    out->trimmed = -1;
    out->bounds = ab_interval_nan();
    if (v->users == 0.0 || c->users == 0.0 || (rv == 0.0 && rc == 0.0))
        return AB_OK;

    double dp = diff_of_products(rv, c->users, rc, v->users);
    int trim_v = dp >= 0.0;
    const ab_nps_response_arm *t = trim_v ? v : c, *o = trim_v ? c : v;
    double rt = trim_v ? rv : rc, ro = trim_v ? rc : rv;
    out->trimmed = trim_v;
    out->trim = fabs(dp) / (rt * o->users);
    if (ro == 0.0) return AB_OK; /* no always-responders seen */

    /* Dropped answers t = q r_t = (r_t n_o - r_o n_t) / n_o, kept m. */
    double drop = fabs(dp) / o->users;
    if (drop > rt) drop = rt;
    double m = ro * t->users / o->users; /* = r_t - drop, without cancelling */
    if (!(m > 0.0)) return AB_OK;
    double lo = trimmed_score(t->promoters, t->passives, t->detractors, drop, m, 1.0);
    double hi = trimmed_score(t->detractors, t->passives, t->promoters, drop, m, -1.0);
    double so = nps_score_of(o, ro);
    if (trim_v) {
        out->bounds.lo = lo - so;
        out->bounds.hi = hi - so;
    } else {
        out->bounds.lo = so - hi;
        out->bounds.hi = so - lo;
    }
    return AB_OK;
}
