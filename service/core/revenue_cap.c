/* revenue_cap.c — revenue capping (README "Statistics", Revenue capping):
 * the rules of revenue_cap, and the capped figures of each arm from the
 * per-user revenue totals, with the pooled type-7 quantile found by
 * selection over the users who have revenue and by counting the many who
 * have none. */
#include "core/revenue_cap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ab_revenue_cap_check(const ab_revenue_cap *c, ab_error *err)
{
    switch (c->kind) {
    case AB_CAP_NONE: return 0;
    case AB_CAP_PERCENTILE:
        if (!(isfinite(c->upper) && c->upper > 0.0 && c->upper <= 1.0))
            return ab_error_set(err, 400, "revenue_cap.percentile: must be a number greater "
                                          "than 0 and at most 1 (0.99 caps the top 1%%)");
        if (!isnan(c->lower) && !(isfinite(c->lower) && c->lower >= 0.0 && c->lower < c->upper))
            return ab_error_set(err, 400, "revenue_cap.lower: must be a number from 0 to below "
                                          "revenue_cap.percentile (%g)", c->upper);
        return 0;
    case AB_CAP_ABSOLUTE:
        if (!isfinite(c->upper))
            return ab_error_set(err, 400, "revenue_cap.max: must be a finite number");
        if (!isnan(c->lower) && !(isfinite(c->lower) && c->lower < c->upper))
            return ab_error_set(err, 400, "revenue_cap.min: must be a finite number below "
                                          "revenue_cap.max (%g)", c->upper);
        return 0;
    }
    return ab_error_set(err, 400, "revenue_cap: unknown form");
}

static void swap(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The i-th smallest of x[0..n) (i < n), reordering x: quickselect with a
 * three-way partition (many users pay the same price: equal values must
 * not make it quadratic) and a median-of-three pivot, falling back to
 * sorting what is left after too many rounds. */
static double select_nth(double *x, size_t n, size_t i)
{
    size_t lo = 0, hi = n, rounds = 0;
    while (hi - lo > 1) {
        if (++rounds > 64) {
            qsort(x + lo, hi - lo, sizeof *x, cmp_double);
            return x[i];
        }
        size_t mid = lo + (hi - lo) / 2;
        double a = x[lo], b = x[mid], c = x[hi - 1];
        double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        /* [lo, lt) < pivot, [lt, j) == pivot, (gt, hi) > pivot */
        size_t lt = lo, j = lo, gt = hi;
        while (j < gt) {
            if (x[j] < pivot) swap(&x[lt++], &x[j++]);
            else if (x[j] > pivot) swap(&x[j], &x[--gt]);
            else j++;
        }
        if (i < lt) hi = lt;
        else if (i >= gt) lo = gt;
        else return pivot;
    }
    return x[i];
}

/* The pooled values in sorted order without sorting them: the users with
 * revenue, split into negatives, zeros and positives, and `zeros` more
 * users (those without revenue) between the negatives and the positives. */
typedef struct {
    double *x;          /* [0, nneg) negative, [nneg, nneg + npos) positive */
    size_t nneg, npos;
    size_t zeros;       /* every user whose total is 0 */
} pooled;

static double pooled_at(size_t i, void *ctx)
{
    pooled *p = ctx;
    if (i < p->nneg) return select_nth(p->x, p->nneg, i);
    i -= p->nneg;
    if (i < p->zeros) return 0.0;
    i -= p->zeros;
    return select_nth(p->x + p->nneg, p->npos, i);
}

/* Percentile caps into out->lo / out->hi; NaN without users. */
static void percentile_caps(const ab_revenue_cap *cap, pooled *p, size_t users,
                            ab_capped_result *out)
{
    double lo = -INFINITY, hi;
    if (ab_quantile_type7_select(users, cap->upper, pooled_at, p, &hi) != AB_OK) hi = NAN;
    if (!isnan(cap->lower) &&
        ab_quantile_type7_select(users, cap->lower, pooled_at, p, &lo) != AB_OK)
        lo = NAN;
    /* The quantile is monotone in q; the blend's rounding must not turn two
     * caps between the same two values the wrong way round. */
    if (lo > hi) lo = hi;
    out->lo = lo;
    out->hi = hi;
}

/* The moments of arm's capped values: the library's over its users with
 * revenue, then its users without revenue, each of them pmin(pmax(0, lo),
 * hi). Non-finite or missing caps give NaN moments. */
static ab_moments arm_moments(const double *x, size_t n, double users, double lo, double hi)
{
    ab_moments m;
    if (isnan(lo) || isnan(hi) ||
        ab_revenue_capped_moments(x, n, lo, hi, &m) != AB_OK)
        return (ab_moments){NAN, NAN, NAN};
    double z = users - (double)n, c0 = 0.0 < lo ? lo : 0.0;
    if (c0 > hi) c0 = hi;
    m.n += z;
    m.sum += z * c0;
    m.sumsq += z * c0 * c0;
    return m;
}

static void figures(const ab_moments *m, size_t k, double alpha, ab_capped_result *out)
{
    const ab_mean_summary none = {NAN, NAN, {NAN, NAN}};
    for (size_t i = 0; i < k; i++) {
        if (isnan(m[i].n) || ab_mean_summarize(&m[i], alpha, &out->arm[i]) != AB_OK)
            out->arm[i] = none;
        if (i == 0) continue;
        if (isnan(m[i].n) || isnan(m[0].n) ||
            ab_welch_test(&m[i], &m[0], alpha, &out->vs[i]) != AB_OK) {
            memset(&out->vs[i], 0, sizeof out->vs[i]);
            out->vs[i].diff = out->vs[i].t = out->vs[i].df = out->vs[i].p_value = NAN;
            out->vs[i].var = NAN;
            out->vs[i].diff_ci.lo = out->vs[i].diff_ci.hi = NAN;
        }
    }
}

int ab_revenue_cap_run(const ab_revenue_cap *cap, const ab_usertable *t,
                       const double *arm_users, size_t k, double alpha, ab_capped_result *out)
{
    size_t r = t->revenue_count, n = 0;
    size_t per[AB_MAX_ARMS] = {0}, off[AB_MAX_ARMS + 1] = {0}, fill[AB_MAX_ARMS];
    double users = 0;
    ab_moments m[AB_MAX_ARMS];
    int finite = 1;

    memset(out, 0, sizeof *out);
    if (cap->kind == AB_CAP_NONE || k > AB_MAX_ARMS) return 0;
    for (size_t i = 0; i < k; i++) users += arm_users[i];
    /* x: the pooled totals, reordered by selection; grouped: the same arm
     * by arm, for the library's moments. Only users with a total are read:
     * the rest are counted from the arms' users. */
    double *x = malloc((r ? r : 1) * 2 * sizeof *x);
    if (!x) return -1;
    double *grouped = x + r;
    for (size_t j = 0; j < r; j++) {
        if (t->revenue_arm[j] >= k) continue;
        x[n++] = t->revenue[j];
        finite &= isfinite(t->revenue[j]);
        per[t->revenue_arm[j]]++;
    }
    for (size_t i = 0; i < k; i++) off[i + 1] = off[i] + per[i];
    memcpy(fill, off, sizeof fill);
    for (size_t j = 0; j < r; j++)
        if (t->revenue_arm[j] < k) grouped[fill[t->revenue_arm[j]]++] = t->revenue[j];

    if (!finite) {
        /* A total beyond a double: no cap can be trusted. */
        out->lo = out->hi = NAN;
    } else if (cap->kind == AB_CAP_ABSOLUTE) {
        out->hi = cap->upper;
        out->lo = isnan(cap->lower) ? -INFINITY : cap->lower;
    } else {
        /* Negatives first, positives after them, zeros counted. */
        pooled p = {x, 0, 0, (size_t)users - n};
        size_t end = n;
        for (size_t j = 0; j < end;) {
            if (x[j] < 0) swap(&x[p.nneg++], &x[j++]);
            else if (x[j] > 0) j++;
            else { /* an exact 0 (refunded to nothing): a zero like the rest */
                x[j] = x[--end];
                p.zeros++;
            }
        }
        p.npos = end - p.nneg;
        percentile_caps(cap, &p, (size_t)users, out);
    }
    for (size_t i = 0; i < k; i++)
        m[i] = arm_moments(grouped + off[i], per[i], arm_users[i], out->lo, out->hi);
    figures(m, k, alpha, out);
    free(x);
    out->on = 1;
    return 0;
}
