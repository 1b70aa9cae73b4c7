/* cuped_compare.c — CUPED over the daemon's per-arm covariate sums (see cuped_compare.h). */
#include "core/cuped_compare.h"

#include <math.h>
#include <string.h>

static void nan_vs(ab_cuped_vs *c)
{
    c->r.theta = c->r.mean_v = c->r.mean_c = c->r.var_v = c->r.var_c = NAN;
    c->r.diff = c->r.z = c->r.p_value = c->r.var = c->r.variance_reduction = NAN;
    c->r.diff_ci = (ab_interval){NAN, NAN};
    c->seq.p_value = NAN;
    c->seq.ci = (ab_interval){NAN, NAN};
    c->p_adjusted = NAN;
    c->decides = 0;
}

/* Arm a's moments with Y the conversion at phase ph (0/1: ΣY² = ΣY), or
 * the user's revenue total (revenue). */
static ab_cuped_moments moments(const ab_arm_counts *a, int revenue, ab_phase ph)
{
    ab_cuped_moments m;
    m.n = a->users;
    m.sum_x = a->cov_x;
    m.sum_x2 = a->cov_x2;
    m.sum_y = revenue ? a->revenue.sum : a->conversions[ph];
    m.sum_y2 = revenue ? a->revenue.sumsq : a->conversions[ph];
    m.sum_xy = revenue ? a->cov_xy_revenue : a->cov_xy[ph];
    return m;
}

/* The comparison of arm v against arm c, with its sequential test: the
 * normal-mixture test of README "Statistics" on the adjusted difference and
 * its variance, N the users of both arms. Sums that rounding after refunds
 * made impossible leave it NaN, as for revenue itself. */
static ab_status compare(const ab_analysis_opts *opts, const ab_arm_counts *v,
                         const ab_arm_counts *c, int revenue, ab_cuped_vs *out)
{
    ab_cuped_moments mv = moments(v, revenue, opts->phase);
    ab_cuped_moments mc = moments(c, revenue, opts->phase);
    ab_status st = ab_cuped_compare(&mv, &mc, opts->cmp.alpha, &out->r);
    if (st == AB_EINVAL) {
        nan_vs(out);
        return AB_OK;
    }
    if (st) return st;
    if (isfinite(out->r.diff) && out->r.var > 0.0)
        return ab_seq_msprt(out->r.diff, out->r.var, v->users + c->users, opts->cmp.alpha,
                            opts->cmp.tuning, &out->seq);
    return AB_OK;
}

/* p_adjusted over arms 1..k-1 of the family pick() gives. */
static ab_status adjust(const ab_analysis_opts *opts, ab_arm_result *out, size_t k, int revenue)
{
    double p[AB_MAX_ARMS] = {0}, adj[AB_MAX_ARMS];
    ab_status st;
    for (size_t i = 1; i < k; i++) {
        const ab_cuped_vs *c = revenue ? &out[i].cuped_revenue : &out[i].cuped_rate;
        p[i - 1] = opts->cmp.method == AB_METHOD_SEQUENTIAL ? c->seq.p_value : c->r.p_value;
    }
    if ((st = ab_p_adjust(p, k - 1, opts->cmp.correction, adj))) return st;
    for (size_t i = 1; i < k; i++)
        (revenue ? &out[i].cuped_revenue : &out[i].cuped_rate)->p_adjusted = adj[i - 1];
    return AB_OK;
}

ab_cuped_vs *ab_cuped_primary(const ab_analysis_opts *opts, ab_arm_result *r)
{
    switch (opts->metric) {
    case AB_METRIC_CONVERSION: return &r->cuped_rate;
    case AB_METRIC_REVENUE: return &r->cuped_revenue;
    default: return NULL;
    }
}

/* The fixed-horizon family of the primary: each arm's deciding p (CUPED
 * where it decides, else the unadjusted one). Under sequential the
 * evaluation adjusts the running p's instead (README "How abstat
 * decides"). */
static ab_status adjust_primary(const ab_analysis_opts *opts, ab_arm_result *out, size_t k)
{
    double p[AB_MAX_ARMS] = {0}, adj[AB_MAX_ARMS];
    ab_status st;
    for (size_t i = 1; i < k; i++)
        p[i - 1] = opts->cmp.method == AB_METHOD_SEQUENTIAL ? out[i].primary.sequential_p
                                                             : out[i].primary.p_value;
    if ((st = ab_p_adjust(p, k - 1, opts->cmp.correction, adj))) return st;
    for (size_t i = 1; i < k; i++) out[i].primary.p_adjusted = adj[i - 1];
    return AB_OK;
}

ab_status ab_cuped_run(const ab_analysis_opts *opts, const ab_arm_counts *arms, size_t k,
                       ab_arm_result *out)
{
    int revenue = opts->revenue || opts->metric == AB_METRIC_REVENUE;
    int any = 0;
    ab_status st;

    for (size_t i = 0; i < k; i++) {
        nan_vs(&out[i].cuped_rate);
        nan_vs(&out[i].cuped_revenue);
    }
    if (!opts->cuped || k < 2) return AB_OK;
    for (size_t i = 1; i < k; i++) {
        if ((st = compare(opts, &arms[i], &arms[0], 0, &out[i].cuped_rate))) return st;
        if (revenue && (st = compare(opts, &arms[i], &arms[0], 1, &out[i].cuped_revenue)))
            return st;
    }
    if ((st = adjust(opts, out, k, 0))) return st;
    if (revenue && (st = adjust(opts, out, k, 1))) return st;
    if (!opts->cuped_decides) return AB_OK;

    for (size_t i = 1; i < k; i++) {
        ab_cuped_vs *c = ab_cuped_primary(opts, &out[i]);
        ab_primary *p = &out[i].primary;
        /* Defined: a covariate that varies and an adjusted variance above
         * 0. Else the unadjusted comparison stays the primary (the
         * evaluation warns). */
        if (!c || !isfinite(c->r.theta) || !(c->r.var > 0.0)) continue;
        c->decides = 1;
        any = 1;
        p->effect = c->r.diff;
        p->effect_ci = c->r.diff_ci;
        p->p_value = c->r.p_value;
        p->sequential_p = c->seq.p_value;
        p->sequential_ci = c->seq.ci;
    }
    return any ? adjust_primary(opts, out, k) : AB_OK;
}
