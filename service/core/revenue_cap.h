/* revenue_cap.h — revenue capping (README "Statistics", Revenue capping):
 * the experiment's revenue_cap setting and its rules, and each arm's capped
 * revenue figures computed from the per-user totals at evaluation time. */
#ifndef ABSTAT_REVENUE_CAP_H
#define ABSTAT_REVENUE_CAP_H

#include "abstat/stats.h"
#include "base/error.h"
#include "base/usertable.h"

typedef enum {
    AB_CAP_NONE = 0,       /* revenue_cap null: no capped figures */
    AB_CAP_PERCENTILE,     /* {"percentile": q[, "lower": q0]} */
    AB_CAP_ABSOLUTE        /* {"max": M[, "min": m]} */
} ab_cap_kind;

/* What "revenue_cap" says. PERCENTILE: upper = q in (0, 1], lower = q0 in
 * [0, q) or NaN for no lower cap. ABSOLUTE: upper = M, lower = m < M or
 * NaN for no lower cap. Descriptive: it decides nothing (README "How
 * abstat decides"), so it is not part of the test definition. */
typedef struct {
    ab_cap_kind kind;
    double upper, lower;
} ab_revenue_cap;

/* The rules above (finite numbers within their ranges, m < M). 0, or -1
 * with err (400) naming the field ("revenue_cap.percentile", ...). The one
 * home of them: the JSON reader calls it after reading the numbers. */
int ab_revenue_cap_check(const ab_revenue_cap *cap, ab_error *err);

/* One evaluation's capped figures. */
typedef struct {
    int on;               /* a cap is configured and the figures were computed */
    /* The caps used, pmin(pmax(x, lo), hi): -INFINITY / +INFINITY for no
     * cap on that side; NaN when percentile caps have no user to come from. */
    double lo, hi;
    ab_mean_summary arm[AB_MAX_ARMS];    /* R's t.test(pmin(pmax(x, lo), hi)) */
    ab_welch_result vs[AB_MAX_ARMS];     /* arm i against arm 0 (arm 0: unused) */
} ab_capped_result;

/* Computes the capped figures of k arms at level 1 - alpha from the
 * experiment's users (the counts' table, ab_counts.users) and each arm's
 * number of users (users[i]). Percentile caps are R's quantile(x, q,
 * type = 7) over every exposed user of the experiment, users without
 * revenue counting as 0 (they are counted, not materialised): the work is
 * linear in the users with revenue, not in all users. Allocates scratch for the users with revenue (16 bytes each) and
 * frees it before returning; never called on the ingest path.
 * 0 with out filled (figures that cannot be computed, e.g. of an arm with
 * fewer than 2 users, are NaN), or -1 when out of memory (out->on 0).
 * cap->kind AB_CAP_NONE gives 0 with out->on 0. */
int ab_revenue_cap_run(const ab_revenue_cap *cap, const ab_usertable *t,
                       const double *users, size_t k, double alpha, ab_capped_result *out);

#endif
