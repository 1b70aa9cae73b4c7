/* bayes.c — Bayesian comparison of two rates: P(p_v > p_c) and the expected
 * loss E[max(p_c - p_v, 0)] under Beta(1 + x, 1 + n - x) posteriors.
 *
 * Method. Both figures are one-dimensional integrals of the two posterior
 * densities f and their running integrals:
 *   P  = P(p_v > p_c)      = int f_v F_c        Q  = P(p_c > p_v) = int f_c F_v
 *   L  = E[(p_c - p_v)^+]  = int f_c H_v        L' = E[(p_v - p_c)^+] = int f_v H_c
 * with F(t) = int_0^t f and H(t) = E[(t - p)^+] = int_0^t F. We walk once from
 * left to right over panels, and on each panel an m-point Gauss-Legendre rule
 * gives the integrals, while F and H at its nodes come from the running
 * values at the panel's left end plus the exact integral of the interpolating
 * polynomial (a precomputed m x m matrix), so no incomplete beta function is
 * ever called. That matters: GSL's gsl_sf_beta_inc runs out of continued-
 * fraction iterations near the mean once a + b ~ 1e9, and loses ~ n * eps in
 * its log-space prefactor well before that.
 *  - Every integrand is non-negative and every running integral starts from
 *    the left, where it is 0: a tiny P, Q or L is a sum of tiny positive
 *    terms, so it keeps its relative accuracy (no 1 - P, no differences).
 *    We report P / (P + Q), which also cancels any common normalisation
 *    error, and the smaller loss directly, the larger one by the exact
 *    identity L - L' = E[p_c] - E[p_v].
 *  - Densities are Loader's saddle-point form (as R's dbinom): f(t) =
 *    (n + 1) dbinom(x; n, t) = exp(logc - D(t)) with the deviance D(t) =
 *    bd0(x, n t) + bd0(n - x, n (1 - t)) >= 0, exact near the mode even for
 *    n = 1e9, where x log t + (n - x) log(1 - t) - lbeta would lose ~1e-6.
 *  - Panels follow each posterior's own scale: break points at steps of 2.5
 *    in the signed root deviance r = sqrt(2 D) (the posterior's standard-
 *    normal scale) and of at most 8 nats of density in the tails, out to
 *    D = 45 on either side; beyond that a posterior holds < 1e-19 of its
 *    mass. Where the walk toward 0 turns geometric (f ~ t^x, x small) one or
 *    two panels reach 0, f being a polynomial times a smooth factor there
 *    (the same toward 1). Posteriors with n <= 10 are polynomials of degree
 *    n: one panel [0, 1] is exact for them. The common panels span at most
 *    one panel of either posterior's partition.
 *  - Doubles resolve t near 1 only absolutely, so when the pooled rate is
 *    above 1/2 we work with 1 - p ~ Beta(1 + n - x, 1 + x) (P and Q, L and
 *    L' swap roles), and nodes are panel start + offset so that n t - x is
 *    exact even at n ~ 2^53 (see arm_dev).
 *  - Posteriors whose windows do not overlap give P = 0 or 1 and L = 0 or
 *    E[p_c] - E[p_v], to within < 1e-19.
 * Cost: 5 to 28 panels of 12 nodes, so at most ~700 density evaluations
 * (two bd0 and one exp each) whatever the counts: ~10 us per call.
 * Accuracy against tests/reference/bayes.tsv (made in R by other means):
 * ~1e-12 relative. The identities P + Q = 1 and L - L' = E[p_c] - E[p_v]
 * are checked on every call (to 1e-9) and a failure is AB_ENUMERIC. */
#include "internal.h"

#include <float.h>
#include <pthread.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_math.h>

/* Gauss-Legendre nodes per panel. */
#define NODES 12
/* Deviance at the edge of a posterior's window (e^-45 ~ 3e-20). */
#define WINDOW_DEV 45.0
/* Largest step of root deviance, and of deviance, per panel. */
#define STEP_R 2.5
#define STEP_D 8.0
/* A boundary factor t^e (or (1 - t)^e) with e up to this is left to the
 * polynomial rule: the walk then ends in a panel reaching the boundary. */
#define POLY_EXP (NODES - 1)
/* Break points per side of one posterior; the walk needs at most ~ 16. */
#define SIDE_MAX 48
#define BP_MAX (4 * SIDE_MAX + 4)
/* Tolerance of the self-checks P + Q = 1 and L - L' = E[p_c] - E[p_v]. */
#define CHECK_TOL 1e-9

/* ---- Gauss-Legendre panel rule, built once --------------------------- */

static double gl_x[NODES];          /* nodes on [0, 1], ascending */
static double gl_w[NODES];          /* weights on [0, 1] */
static double gl_a[NODES][NODES];   /* gl_a[j][k] = int_0^{x_j} l_k, l_k the
                                     * Lagrange basis of the nodes */
static int gl_ok;
static pthread_once_t gl_once = PTHREAD_ONCE_INIT;

static double lagrange(int k, double y)
{
    double p = 1.0;
    for (int i = 0; i < NODES; i++)
        if (i != k) p *= (y - gl_x[i]) / (gl_x[k] - gl_x[i]);
    return p;
}

static void gl_init(void)
{
    /* The one allocation of this module, once per process; GSL's table for
     * 12 points is precomputed to full precision. */
    gsl_integration_glfixed_table *tab = gsl_integration_glfixed_table_alloc(NODES);
    if (!tab) return;
    int ok = 1;
    for (size_t i = 0; i < NODES; i++)
        if (gsl_integration_glfixed_point(0.0, 1.0, i, &gl_x[i], &gl_w[i], tab) != GSL_SUCCESS)
            ok = 0;
    gsl_integration_glfixed_table_free(tab);
    if (!ok) return;
    /* Insertion sort: GSL lists the nodes from the centre outward. */
    for (int i = 1; i < NODES; i++)
        for (int j = i; j > 0 && gl_x[j - 1] > gl_x[j]; j--) {
            double tx = gl_x[j], tw = gl_w[j];
            gl_x[j] = gl_x[j - 1], gl_w[j] = gl_w[j - 1];
            gl_x[j - 1] = tx, gl_w[j - 1] = tw;
        }
    /* int_0^{x_j} l_k by the same rule mapped onto [0, x_j]: exact, since
     * l_k has degree NODES - 1. */
    for (int j = 0; j < NODES; j++)
        for (int k = 0; k < NODES; k++) {
            double s = 0.0;
            for (int i = 0; i < NODES; i++) s += gl_w[i] * lagrange(k, gl_x[j] * gl_x[i]);
            gl_a[j][k] = gl_x[j] * s;
        }
    gl_ok = 1;
}

/* ---- Posterior densities --------------------------------------------- */

/* Loader's bd0(x, M) = x log(x / M) + M - x >= 0, taking dm = M - x (see
 * arm_dev for why): the series in v = (x - M) / (x + M) when |v| < 1/10,
 * where the direct form would cancel. */
static double bd0(double x, double dm)
{
    if (x == 0.0) return dm;
    if (fabs(dm) < 0.1 * (2.0 * x + dm)) {
        /* 1 / (2j + 1); v^2 < 1/121, so 9 terms reach double precision. */
        static const double inv_odd[10] = {
            1.0, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13,
            1.0 / 15, 1.0 / 17, 1.0 / 19};
        double v = -dm / (2.0 * x + dm), s = -dm * v, ej = 2.0 * x * v;
        v *= v;
        for (int j = 1; j < 10; j++) {
            ej *= v;
            double s1 = s + ej * inv_odd[j];
            if (s1 == s) break;
            s = s1;
        }
        return s;
    }
    return dm - x * log1p(dm / x);
}

/* stirlerr(k) = log(k!) - log(sqrt(2 pi k) (k / e)^k) for an integer k >= 1:
 * exact values to 15, the Stirling series beyond (error < 1e-17). */
static double stirlerr(double k)
{
    static const double small[16] = {
        0.0,
        0.08106146679532725821967026, 0.04134069595540929409382208,
        0.02767792568499833914878929, 0.02079067210376509311152277,
        0.01664469118982119216319487, 0.01387612882307074799874573,
        0.01189670994589177009505572, 0.01041126526197209649747857,
        0.009255462182712732917728637, 0.008330563433362871256469319,
        0.007573675487951840794972024, 0.006942840107209529865664153,
        0.006408994188004207068439631, 0.005951370112758847735624416,
        0.00555473355196280137103869};
    if (k <= 15.0) return small[(int)k];
    double kk = k * k;
    const double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680,
                 s4 = 1.0 / 1188;
    if (k > 500) return (s0 - s1 / kk) / k;
    if (k > 80) return (s0 - (s1 - s2 / kk) / kk) / k;
    if (k > 35) return (s0 - (s1 - (s2 - s3 / kk) / kk) / kk) / k;
    return (s0 - (s1 - (s2 - (s3 - s4 / kk) / kk) / kk) / kk) / k;
}

/* One posterior Beta(1 + x, 1 + n - x). */
typedef struct {
    double x, n;
    double logc;    /* f(t) = exp(logc - D(t)) */
    double lo, hi;  /* window: outside it f < e^-WINDOW_DEV * max f */
    double bp[2 * SIDE_MAX + 2]; /* its panels' break points, ascending */
    int nbp;
} arm;

/* Deviance D(t) = log f(mode) - log f(t) (n times a Kullback-Leibler
 * divergence) at t = t0 + dt, given base = n t0 - x. Both terms of D depend on
 * t only through dm = n t - x (n (1 - t) - (n - x) = -dm), and dm = base + n dt
 * keeps full relative precision even where t itself is only resolved to
 * 1e-16 and the posterior is 1e-8 wide (n ~ 2^53): n * t - x would cancel. */
static double arm_dev(const arm *a, double base, double dt)
{
    double dm = base + a->n * dt;
    return bd0(a->x, dm) + bd0(a->n - a->x, -dm);
}

/* n t0 - x with a single rounding. */
static double arm_base(const arm *a, double t0)
{
    return fma(a->n, t0, -a->x);
}

static void arm_set(arm *a, double x, double n)
{
    a->x = x;
    a->n = n;
    /* (n + 1) dbinom(x; n, t); dbinom as Loader: the constant holds the
     * Stirling remainders and the sqrt(2 pi x (n - x) / n) normalisation, all
     * small and exact, so nothing large cancels. log(n - x) - log(n), not
     * log1p(-x / n): x / n near 1 is rounded. */
    a->logc = log1p(n);
    if (x > 0 && x < n)
        a->logc += stirlerr(n) - stirlerr(x) - stirlerr(n - x) -
                   0.5 * (M_LN2 + M_LNPI + log(x) + log(n - x) - log(n));
}

/* Root deviance r at distance s from the mode on side dir (+1: toward 1). */
static double arm_r(const arm *a, double mode, int dir, double s)
{
    return sqrt(2.0 * arm_dev(a, arm_base(a, mode), dir * s));
}

/* The distance s in (s_lo, s_max) from the mode on side dir where the root
 * deviance reaches r_want (r(s_lo) = r_lo < r_want): safeguarded Newton, to
 * a loose tolerance since break points need not sit anywhere exactly. */
static int arm_solve(const arm *a, double mode, int dir, double s_lo, double r_lo,
                     double r_want, double s_max, double *s_out)
{
    double s_hi = s_max, s;
    if (r_lo > 0.0) {
        double t = mode + dir * s_lo;
        double slope = fabs((a->n * t - a->x) / (t * (1.0 - t))) / r_lo;
        s = s_lo + (r_want - r_lo) / slope;
    } else if (a->x > 0 && a->x < a->n) {
        s = r_want * sqrt(mode * (1.0 - mode) / a->n); /* r ~ s / sd */
    } else {
        s = r_want * r_want / (2.0 * a->n); /* mode at a boundary: D ~ n s */
    }
    for (int it = 0; it < 200; it++) {
        if (!(s > s_lo && s < s_hi)) /* Newton left the bracket */
            s = s_lo > 0.0 ? sqrt(s_lo * s_hi) : 0.5 * s_hi;
        double r = arm_r(a, mode, dir, s);
        if (fabs(r - r_want) <= 0.02 || s_hi - s_lo <= 4 * DBL_EPSILON * s_hi) {
            *s_out = s;
            return 0;
        }
        if (r < r_want) s_lo = s;
        else s_hi = s;
        double t = mode + dir * s;
        double slope = fabs((a->n * t - a->x) / (t * (1.0 - t))) / r;
        s -= (r - r_want) / slope;
    }
    return -1;
}

/* Walks from the mode toward the boundary on side dir, storing the distances
 * from the mode of the break points in s_out. Returns their number or -1. */
static int arm_walk(const arm *a, double mode, int dir, double *s_out)
{
    double s_max = dir > 0 ? 1.0 - mode : mode;
    double e = dir > 0 ? a->n - a->x : a->x; /* f ~ (distance to boundary)^e */
    double s = 0.0, r = 0.0;
    const double r_end = sqrt(2.0 * WINDOW_DEV);
    int k = 0;
    if (s_max <= 0.0) return 0;
    while (r < r_end) {
        double r_want = fmin(r + STEP_R, sqrt(r * r + 2.0 * STEP_D)), s_next;
        if (k == SIDE_MAX) return -1;
        if (arm_solve(a, mode, dir, s, r, r_want, s_max, &s_next)) return -1;
        if (s_max - s_next < 0.5 * (s_max - s)) {
            /* The walk turns geometric toward the boundary. */
            if (e <= POLY_EXP) {
                if (e > NODES / 2) s_out[k++] = s_max - 0.5 * (s_max - s);
                s_out[k++] = s_max; /* f is polynomial-like up to it */
                return k;
            }
            s_next = s_max - 0.5 * (s_max - s);
        }
        s_out[k++] = s_next;
        s = s_next;
        r = arm_r(a, mode, dir, s);
    }
    return k;
}

/* Break points and window of a posterior. */
static int arm_panels(arm *a)
{
    if (a->n <= NODES - 2) {
        /* A polynomial of degree n: the rule is exact on one panel. */
        a->bp[0] = 0.0, a->bp[1] = 1.0, a->nbp = 2;
        a->lo = 0.0, a->hi = 1.0;
        return 0;
    }
    double mode = a->x / a->n, left[SIDE_MAX], right[SIDE_MAX];
    int nl = arm_walk(a, mode, -1, left), nr = arm_walk(a, mode, +1, right);
    if (nl < 0 || nr < 0) return -1;
    int k = 0;
    for (int i = nl - 1; i >= 0; i--) a->bp[k++] = mode - left[i];
    if (nl == 0 || a->bp[k - 1] < mode) a->bp[k++] = mode;
    for (int i = 0; i < nr; i++) {
        /* The walk's last point may be the boundary itself: keep it exact. */
        double t = right[i] == 1.0 - mode ? 1.0 : mode + right[i];
        if (t > a->bp[k - 1]) a->bp[k++] = t;
    }
    a->nbp = k;
    a->lo = a->bp[0];
    a->hi = a->bp[k - 1];
    return k >= 2 ? 0 : -1;
}

/* ---- The integrals ---------------------------------------------------- */

/* The point one panel of a's partition beyond t: with a's panels numbered
 * 0, 1, ... and t at fraction u of panel k, the point at fraction u of panel
 * k + 1 (a's first break point after its first panel left of its window;
 * its window's end past its last). *k carries the panel search between
 * calls, t never decreasing. */
static double arm_advance(const arm *a, double t, int *k)
{
    if (t < a->bp[0]) return a->bp[1];
    while (*k + 2 < a->nbp && a->bp[*k + 1] <= t) ++*k;
    int i = *k;
    if (i + 2 >= a->nbp) return a->bp[a->nbp - 1];
    double u = (t - a->bp[i]) / (a->bp[i + 1] - a->bp[i]);
    return a->bp[i + 1] + u * (a->bp[i + 2] - a->bp[i + 1]);
}

typedef struct {
    double p, q;     /* P(p_v > p_c), P(p_c > p_v) */
    double l, lp;    /* E[(p_c - p_v)^+], E[(p_v - p_c)^+] */
} integrals;

static int integrate(const arm *v, const arm *c, integrals *out)
{
    double bp[BP_MAX];
    int nb = 0, i = 0, j = 0;

    /* Disjoint windows: one posterior lies wholly below the other. */
    if (v->hi <= c->lo || c->hi <= v->lo) {
        double mv = (v->x + 1) / (v->n + 2), mc = (c->x + 1) / (c->n + 2);
        int below = v->hi <= c->lo;
        out->p = below ? 0.0 : 1.0;
        out->q = below ? 1.0 : 0.0;
        out->l = below ? mc - mv : 0.0;
        out->lp = below ? 0.0 : mv - mc;
        return 0;
    }
    /* Common panels over the union of the windows, each spanning at most
     * one panel's worth of either posterior's own partition. (Taking all
     * break points of both would double the panels of two similar arms.) */
    double t = fmin(v->lo, c->lo), end = fmax(v->hi, c->hi);
    bp[nb++] = t;
    while (t < end) {
        double next = end;
        if (t < v->hi) next = fmin(next, arm_advance(v, t, &i));
        if (t < c->hi) next = fmin(next, arm_advance(c, t, &j));
        if (!(next > t) || nb == BP_MAX) return -1;
        bp[nb++] = t = next;
    }

    double fv0 = 0, fc0 = 0, hv0 = 0, hc0 = 0; /* F and H at the panel's left end */
    double p = 0, q = 0, l = 0, lp = 0;
    for (int b = 0; b + 1 < nb; b++) {
        double a0 = bp[b], h = bp[b + 1] - a0;
        double fv[NODES], fc[NODES], Fv[NODES], Fc[NODES], Hv[NODES], Hc[NODES];
        /* Outside its window a density is negligible: skip the work. */
        int in_v = a0 < v->hi && bp[b + 1] > v->lo;
        int in_c = a0 < c->hi && bp[b + 1] > c->lo;
        double base_v = arm_base(v, a0), base_c = arm_base(c, a0);
        for (int k = 0; k < NODES; k++) {
            fv[k] = in_v ? exp(v->logc - arm_dev(v, base_v, h * gl_x[k])) : 0.0;
            fc[k] = in_c ? exp(c->logc - arm_dev(c, base_c, h * gl_x[k])) : 0.0;
        }
        for (int k = 0; k < NODES; k++) {
            double sv = 0, sc = 0;
            for (int m = 0; m < NODES; m++) {
                sv += gl_a[k][m] * fv[m];
                sc += gl_a[k][m] * fc[m];
            }
            Fv[k] = fv0 + h * sv;
            Fc[k] = fc0 + h * sc;
        }
        double pv = 0, pc = 0, pp = 0, pq = 0, pl = 0, plp = 0, iFv = 0, iFc = 0;
        for (int k = 0; k < NODES; k++) {
            double sv = 0, sc = 0;
            for (int m = 0; m < NODES; m++) {
                sv += gl_a[k][m] * Fv[m];
                sc += gl_a[k][m] * Fc[m];
            }
            Hv[k] = hv0 + h * sv;
            Hc[k] = hc0 + h * sc;
            pv += gl_w[k] * fv[k];
            pc += gl_w[k] * fc[k];
            iFv += gl_w[k] * Fv[k];
            iFc += gl_w[k] * Fc[k];
            pp += gl_w[k] * fv[k] * Fc[k];
            pq += gl_w[k] * fc[k] * Fv[k];
            pl += gl_w[k] * fc[k] * Hv[k];
            plp += gl_w[k] * fv[k] * Hc[k];
        }
        p += h * pp, q += h * pq, l += h * pl, lp += h * plp;
        fv0 += h * pv, fc0 += h * pc, hv0 += h * iFv, hc0 += h * iFc;
    }
    out->p = p, out->q = q, out->l = l, out->lp = lp;
    return 0;
}

/* E[p_c] - E[p_v] = ((x_c + 1)(n_v + 2) - (x_v + 1)(n_c + 2)) / ((n_c + 2)(n_v + 2))
 * to a few ulps even when the two means nearly cancel (both near 1, where
 * mc - mv keeps only eps / d of it). The numerator is expanded as
 * (x_c n_v - x_v n_c) + 2 (x_c - x_v) + (n_v - n_c): the last two are exact
 * for counts up to 2^53 (x + 1 need not be), and fma gives each product's
 * rounding error exactly. */
static double mean_diff(double x_v, double n_v, double x_c, double n_c)
{
    double p1 = x_c * n_v, p2 = x_v * n_c;
    double e1 = fma(x_c, n_v, -p1), e2 = fma(x_v, n_c, -p2);
    double num = (p1 - p2) + ((e1 - e2) + (2.0 * (x_c - x_v) + (n_v - n_c)));
    return num / ((n_c + 2) * (n_v + 2));
}

ab_status ab_bayes_beta_compare(double x_v, double n_v, double x_c, double n_c,
                                ab_bayes_result *out)
{
    if (!out || !ab_valid_prop(x_v, n_v) || !ab_valid_prop(x_c, n_c)) return AB_EINVAL;
    pthread_once(&gl_once, gl_init);
    if (!gl_ok) return AB_ENUMERIC;

    /* Above a pooled rate of 1/2 work with 1 - p (see the top). */
    int flip = x_v + x_c > (n_v - x_v) + (n_c - x_c);
    arm v, c;
    arm_set(&v, flip ? n_v - x_v : x_v, n_v);
    arm_set(&c, flip ? n_c - x_c : x_c, n_c);
    integrals r;
    if (arm_panels(&v) || arm_panels(&c) || integrate(&v, &c, &r)) return AB_ENUMERIC;
    if (flip) { /* p_v > p_c is 1 - p_v < 1 - p_c */
        double t = r.p;
        r.p = r.q, r.q = t;
        t = r.l;
        r.l = r.lp, r.lp = t;
    }

    /* Interpolated running integrals may dip below 0 by ~1e-30 far out in
     * a tail: that is 0. */
    r.p = fmax(r.p, 0.0), r.q = fmax(r.q, 0.0), r.l = fmax(r.l, 0.0), r.lp = fmax(r.lp, 0.0);
    double mv = (x_v + 1) / (n_v + 2), mc = (x_c + 1) / (n_c + 2);
    double d = mean_diff(x_v, n_v, x_c, n_c);
    double pq = r.p + r.q;
    if (!isfinite(pq) || !isfinite(r.l) || !isfinite(r.lp) || fabs(pq - 1.0) > CHECK_TOL ||
        fabs(r.l - r.lp - d) > CHECK_TOL * fmax(r.l, r.lp) + 4 * DBL_EPSILON * fmax(mc, mv))
        return AB_ENUMERIC;
    out->prob_beat_control = r.p / pq;
    /* The smaller loss directly; the larger through the identity, exact
     * whichever side is the far tail (and then d > 0, no cancellation). */
    out->expected_loss = r.l <= r.lp ? r.l : d + r.lp;
    return AB_OK;
}
