/* fisher.c — Fisher's exact test of a 2x2 table, two-sided as R's fisher.test. */
#include "internal.h"

#include <float.h>

/* R's fisher.test counts a table as extreme as the observed one when its
 * density is within this factor of the observed density (ties in floating
 * point). */
#define FISHER_REL_ERR (1.0 + 1e-7)
/* A tail is summed until its next term is this small against what it adds
 * up to; the terms then fall faster than geometrically. */
#define FISHER_TAIL_EPS 1e-20

/* The hypergeometric law of the top-left cell given the margins, in R's
 * names: m = first column total, n = second column total, k = first row
 * total. Its support is [lo, hi]. */
typedef struct {
    double m, n, k, lo, hi;
} hyper;

/* d(x + 1) / d(x), for lo <= x < hi. */
static double ratio_up(const hyper *h, double x)
{
    return ((h->m - x) * (h->k - x)) / ((x + 1.0) * (h->n - h->k + x + 1.0));
}

/* d(x - 1) / d(x), for lo < x <= hi. */
static double ratio_down(const hyper *h, double x)
{
    return (x * (h->n - h->k + x)) / ((h->m - x + 1.0) * (h->k - x + 1.0));
}

/* The mode: floor((k+1)(m+1)/(N+2)) is exact in theory but the product can
 * exceed 2^53, so the estimate is nudged until neither neighbour is higher. */
static double hyper_mode(const hyper *h)
{
    double x = floor((h->k + 1.0) * ((h->m + 1.0) / (h->m + h->n + 2.0)));
    x = fmin(fmax(x, h->lo), h->hi);
    while (x < h->hi && ratio_up(h, x) > 1.0) x += 1.0;
    while (x > h->lo && ratio_down(h, x) > 1.0) x -= 1.0;
    return x;
}

/* Density at x relative to the density at the mode, by the product of the
 * ratios between them: exact to a few ulps per step, where differences of
 * lgamma at 1e9 would keep only ~6 digits. Returns 0 once it leaves the
 * normal range: there R's exp(logd - max) is subnormal or 0 too, and a
 * subnormal product would stick at the smallest subnormal when the ratios
 * are close to 1 instead of reaching 0. */
static double relative_density(const hyper *h, double mode, double x)
{
    double d = 1.0;
    if (x > mode) {
        for (double t = mode; t < x && d >= DBL_MIN; t += 1.0) d *= ratio_up(h, t);
    } else {
        for (double t = mode; t > x && d >= DBL_MIN; t -= 1.0) d *= ratio_down(h, t);
    }
    return d >= DBL_MIN ? d : 0.0;
}

/* Walks one side of the mode outward (dir = +1 or -1), the mode itself
 * excluded, adding every density to *total and those at most thr to *tail.
 * Stops at the end of the support or once the terms are negligible against
 * the sums they belong to: unimodality makes the rest of the side smaller. */
static void walk_side(const hyper *h, double mode, int dir, double thr,
                      double *total, double *tail)
{
    double d = 1.0;
    double x = mode;
    for (;;) {
        if (dir > 0) {
            if (x >= h->hi) break;
            d *= ratio_up(h, x);
            x += 1.0;
        } else {
            if (x <= h->lo) break;
            d *= ratio_down(h, x);
            x -= 1.0;
        }
        /* Subnormal terms add nothing R would see (see relative_density). */
        if (d < DBL_MIN) break;
        *total += d;
        /* Above thr the walk goes on however small d is against the total:
         * the tail beyond may be all the p there is. */
        if (d <= thr) {
            *tail += d;
            if (d < FISHER_TAIL_EPS * *tail) break;
        }
    }
}

ab_status ab_fisher_exact_2x2(double a, double b, double c, double d,
                              double *p_value)
{
    if (!p_value || !ab_valid_count(a) || !ab_valid_count(b) ||
        !ab_valid_count(c) || !ab_valid_count(d))
        return AB_EINVAL;
    /* The margins must stay exact integers for the support to be right. */
    if (a + b + c + d > AB_MAX_COUNT) return AB_ERANGE;

    hyper h;
    h.m = a + c;
    h.n = b + d;
    h.k = a + b;
    h.lo = fmax(0.0, h.k - h.n);
    h.hi = fmin(h.k, h.m);
    if (h.lo == h.hi) {
        /* One table has these margins (the empty table among them): R's
         * p is 1. */
        *p_value = 1.0;
        return AB_OK;
    }

    double mode = hyper_mode(&h);
    double d_obs = relative_density(&h, mode, a);
    if (d_obs == 0.0) {
        /* The observed table is over 700 natural-log units less likely
         * than the mode: R's p underflows to 0 (or a subnormal) there. */
        *p_value = 0.0;
        return AB_OK;
    }
    double thr = d_obs * FISHER_REL_ERR;
    double total = 1.0, tail = 1.0 <= thr ? 1.0 : 0.0;
    walk_side(&h, mode, +1, thr, &total, &tail);
    walk_side(&h, mode, -1, thr, &total, &tail);

    double p = tail / total;
    if (!isfinite(p)) return AB_ENUMERIC;
    *p_value = p > 1.0 ? 1.0 : p;
    return AB_OK;
}
