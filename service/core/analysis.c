/* analysis.c — runs the statistics library over one experiment's arms. */
#include "core/analysis.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "core/cuped_compare.h"

static const char *const metric_names[] = {"conversion", "revenue", "nps"};
static const char *const method_names[] = {"sequential", "fixed"};
static const char *const correction_names[] = {"none", "holm", "bonferroni", "bh"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Index of s in names (any case: R spells BH in capitals), or -1. */
static int lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(s, names[i])) return (int)i;
    return -1;
}

static const char *name_of(const char *const *names, size_t n, unsigned i)
{
    return i < n ? names[i] : "unknown";
}

const char *ab_metric_name(ab_metric m) { return name_of(metric_names, COUNT(metric_names), m); }
const char *ab_method_name(ab_method m) { return name_of(method_names, COUNT(method_names), m); }

const char *ab_correction_name(ab_correction c)
{
    return name_of(correction_names, COUNT(correction_names), c);
}

int ab_metric_parse(const char *s, ab_metric *out)
{
    int i = lookup(metric_names, COUNT(metric_names), s);
    return i < 0 ? -1 : (*out = (ab_metric)i, 0);
}

int ab_method_parse(const char *s, ab_method *out)
{
    int i = lookup(method_names, COUNT(method_names), s);
    return i < 0 ? -1 : (*out = (ab_method)i, 0);
}

int ab_correction_parse(const char *s, ab_correction *out)
{
    int i = lookup(correction_names, COUNT(correction_names), s);
    return i < 0 ? -1 : (*out = (ab_correction)i, 0);
}

/* The primary metric's figures, whichever comparison they come from. */
static void set_primary(ab_primary *p, double diff, ab_interval diff_ci, double p_value,
                        double p_adjusted, const ab_seq_result *seq, double lift)
{
    p->effect = diff;
    p->effect_ci = diff_ci;
    p->p_value = p_value;
    p->p_adjusted = p_adjusted;
    p->sequential_p = seq->p_value;
    p->sequential_ci = seq->ci;
    p->lift = lift;
}

static void nan_revenue(ab_arm_result *out, ab_mean_vs_control *mean, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        out[i].revenue.mean = out[i].revenue.sd = NAN;
        out[i].revenue.ci = (ab_interval){NAN, NAN};
        mean[i].welch.diff = mean[i].welch.t = mean[i].welch.df = NAN;
        mean[i].welch.p_value = mean[i].welch.var = mean[i].p_adjusted = NAN;
        mean[i].welch.diff_ci = mean[i].seq.ci = (ab_interval){NAN, NAN};
        mean[i].seq.p_value = NAN;
    }
}

double ab_analysis_primary_value(const ab_analysis_opts *opts, const ab_arm_counts *a,
                                 const ab_arm_result *r)
{
    switch (opts->metric) {
    case AB_METRIC_REVENUE: return r->revenue.mean;
    case AB_METRIC_NPS: return r->nps.score;
    default: return a->users > 0 ? a->conversions[opts->phase] / a->users : NAN;
    }
}

/* The delta-method variance of arm i's primary lift against arm 0: the
 * lift of a rate at the goal phase or of revenue per user; NaN where the
 * metric has no lift (NPS) or it is undefined. */
static ab_status primary_lift_var(const ab_analysis_opts *opts, const ab_arm_counts *arms,
                                  const ab_arm_result *out, size_t i, double *var)
{
    ab_lift_result lr;
    ab_status st;
    *var = NAN;
    if (opts->metric == AB_METRIC_REVENUE) {
        *var = out[i].revenue_lift.var;
        return AB_OK;
    }
    if (opts->metric != AB_METRIC_CONVERSION || !(arms[i].users > 0) || !(arms[0].users > 0))
        return AB_OK;
    double xv = arms[i].conversions[opts->phase], nv = arms[i].users;
    double xc = arms[0].conversions[opts->phase], nc = arms[0].users;
    double pv = xv / nv, pc = xc / nc;
    if ((st = ab_lift_delta(pv, pv * ((nv - xv) / nv) / nv, pc, pc * ((nc - xc) / nc) / nc,
                            opts->cmp.alpha, &lr)))
        return st;
    *var = lr.var;
    return AB_OK;
}

/* README "Statistics", Prior: the posterior of each variant's primary lift
 * under the experiment's normal prior. */
static ab_status apply_prior(const ab_analysis_opts *opts, const ab_arm_counts *arms,
                             size_t k, ab_arm_result *out)
{
    ab_status st;
    for (size_t i = 0; i < k; i++) {
        ab_prior_result *p = &out[i].prior;
        double var;
        p->mean = p->var = p->sd = p->prob_beat_control = p->risk = NAN;
        if (i == 0 || !(opts->prior_sd > 0.0)) continue;
        if ((st = primary_lift_var(opts, arms, out, i, &var))) return st;
        if (!isfinite(out[i].primary.lift) || !isfinite(var)) continue;
        if ((st = ab_prior_posterior(out[i].primary.lift, var, opts->prior_mean, opts->prior_sd,
                                     p)))
            return st;
    }
    return AB_OK;
}

/* Average order value at the goal phase (README "Statistics"): revenue per
 * converter, by the delta method, against the control. Only where the
 * counts hold each phase's revenue (the daemon's, not /v1/analyze's). */
static void nan_aov(ab_arm_result *r)
{
    r->aov.value = r->aov.var = NAN;
    r->aov.ci = (ab_interval){NAN, NAN};
    r->aov_vs.diff = r->aov_vs.z = r->aov_vs.p_value = r->aov_vs.var = NAN;
    r->aov_vs.diff_ci = (ab_interval){NAN, NAN};
}

static ab_status apply_aov(const ab_analysis_opts *opts, const ab_arm_counts *arms, size_t k,
                           ab_arm_result *out)
{
    ab_aov_moments m[AB_MAX_ARMS];
    ab_status st;
    for (size_t i = 0; i < k; i++) nan_aov(&out[i]);
    if (!opts->aov || !(opts->revenue || opts->metric == AB_METRIC_REVENUE)) return AB_OK;
    for (size_t i = 0; i < k; i++) {
        m[i].n = arms[i].users;
        m[i].sum_d = arms[i].conversions[opts->phase];
        m[i].sum_m = arms[i].revenue.sum;
        m[i].sum_m2 = arms[i].revenue.sumsq;
        m[i].sum_md = arms[i].revenue_at[opts->phase];
        /* Sums that rounding after refunds made impossible leave it NaN,
         * as for revenue itself. */
        st = ab_aov_summarize(&m[i], opts->cmp.alpha, &out[i].aov);
        if (st == AB_EINVAL) nan_aov(&out[i]);
        else if (st) return st;
    }
    for (size_t i = 1; i < k; i++) {
        st = ab_aov_compare(&m[i], &m[0], opts->cmp.alpha, &out[i].aov_vs);
        if (st == AB_EINVAL) {
            ab_aov_summary keep = out[i].aov;
            nan_aov(&out[i]);
            out[i].aov = keep;
        } else if (st) {
            return st;
        }
    }
    return AB_OK;
}

ab_status ab_analysis_run(const ab_analysis_opts *opts, const ab_arm_counts *arms,
                          size_t k, ab_arm_result *out)
{
    double x[AB_MAX_ARMS], n[AB_MAX_ARMS];
    ab_moments mom[AB_MAX_ARMS];
    ab_nps_summary nps[AB_MAX_ARMS];
    ab_rate_vs_control rate[AB_MAX_ARMS];
    ab_mean_vs_control mean[AB_MAX_ARMS];
    ab_nps_vs_control npsv[AB_MAX_ARMS];
    ab_status st;
    const double alpha = opts->cmp.alpha;

    if (k < 2) return AB_EINVAL;
    if (k > AB_MAX_ARMS) return AB_ERANGE;

    for (size_t i = 0; i < k; i++) {
        n[i] = arms[i].users;
        out[i].primary.effect = out[i].primary.p_value = NAN;
        out[i].primary.p_adjusted = out[i].primary.sequential_p = NAN;
        out[i].primary.lift = NAN;
        out[i].primary.effect_ci = out[i].primary.sequential_ci = (ab_interval){NAN, NAN};
    }

    for (unsigned ph = 0; ph < AB_PHASE_COUNT; ph++) {
        int wanted = (opts->phases >> ph) & 1u;
        int primary = opts->metric == AB_METRIC_CONVERSION && ph == opts->phase;
        if (!wanted && !primary) continue;
        for (size_t i = 0; i < k; i++) {
            x[i] = arms[i].conversions[ph];
            if ((st = ab_prop_wilson_ci(x[i], n[i], alpha, &out[i].rate_ci[ph]))) return st;
        }
        if ((st = ab_compare_rates(&opts->cmp, x, n, k, rate))) return st;
        for (size_t i = 0; i < k; i++) {
            out[i].rate[ph] = rate[i];
            if (primary && i > 0)
                set_primary(&out[i].primary, rate[i].cmp.diff, rate[i].cmp.diff_ci,
                            rate[i].cmp.p_value, rate[i].p_adjusted, &rate[i].seq,
                            rate[i].cmp.lift);
        }
    }

    if (opts->revenue || opts->metric == AB_METRIC_REVENUE) {
        st = AB_OK;
        for (size_t i = 0; i < k && st == AB_OK; i++) {
            mom[i] = arms[i].revenue;
            st = ab_mean_summarize(&mom[i], alpha, &out[i].revenue);
        }
        if (st == AB_OK) st = ab_compare_means(&opts->cmp, mom, k, mean);
        /* Sums that no data could give (rounding after huge refunds) leave
         * revenue undefined rather than failing every other figure. */
        if (st == AB_EINVAL) nan_revenue(out, mean, k);
        else if (st) return st;
        for (size_t i = 0; i < k; i++) {
            out[i].revenue_vs = mean[i];
            out[i].revenue_lift.lift = out[i].revenue_lift.var = NAN;
            out[i].revenue_lift.ci = (ab_interval){NAN, NAN};
            /* The relative change of revenue per user (README "Statistics"),
             * from the same moments; undefined moments leave it NaN. */
            if (i > 0 && st == AB_OK &&
                (st = ab_revenue_lift(&mom[i], &mom[0], alpha, &out[i].revenue_lift)) != AB_OK)
                return st;
            if (opts->metric == AB_METRIC_REVENUE && i > 0)
                set_primary(&out[i].primary, mean[i].welch.diff, mean[i].welch.diff_ci,
                            mean[i].welch.p_value, mean[i].p_adjusted, &mean[i].seq,
                            out[i].revenue_lift.lift);
        }
    }

    if (opts->nps || opts->metric == AB_METRIC_NPS) {
        for (size_t i = 0; i < k; i++)
            if ((st = ab_nps_summarize(arms[i].promoters, arms[i].passives,
                                       arms[i].detractors, alpha, &nps[i])))
                return st;
        if ((st = ab_compare_nps(&opts->cmp, nps, k, npsv))) return st;
        for (size_t i = 0; i < k; i++) {
            out[i].nps = nps[i];
            out[i].nps_vs = npsv[i];
            /* A difference of scores has no meaningful ratio: no lift. */
            if (opts->metric == AB_METRIC_NPS && i > 0)
                set_primary(&out[i].primary, npsv[i].cmp.diff, npsv[i].cmp.diff_ci,
                            npsv[i].cmp.p_value, npsv[i].p_adjusted, &npsv[i].seq, NAN);
        }
    }
    if ((st = apply_aov(opts, arms, k, out))) return st;
    if ((st = ab_cuped_run(opts, arms, k, out))) return st;
    return apply_prior(opts, arms, k, out);
}
