/* compare.c — every non-control arm against the control on one metric, with
 * the family-wise correction over the k - 1 comparisons. */
#include "internal.h"

/* Above this many conversions in the two arms R's fisher.test is not asked
 * for (README "Statistics"): the normal tests are exact enough there. */
#define AB_FISHER_MAX_CONVERSIONS 10000.0

static int valid_config(const ab_compare_config *cfg, size_t k)
{
    return cfg && ab_valid_level(cfg->alpha) && isfinite(cfg->tuning) &&
           cfg->tuning > 0.0 && k >= 2 && k <= AB_MAX_ARMS &&
           (cfg->method == AB_METHOD_SEQUENTIAL || cfg->method == AB_METHOD_FIXED) &&
           cfg->correction >= AB_CORRECT_NONE && cfg->correction <= AB_CORRECT_BH;
}

/* The p-value the correction applies to: the method's own. */
static double family_p(const ab_compare_config *cfg, double fixed_p, double seq_p)
{
    return cfg->method == AB_METHOD_SEQUENTIAL ? seq_p : fixed_p;
}

/* Adjusts raw[1..k-1] and stores each result through the setter's stride. */
static ab_status adjust_family(const ab_compare_config *cfg, const double *raw,
                               size_t k, double *adjusted)
{
    return ab_p_adjust(raw + 1, k - 1, cfg->correction, adjusted + 1);
}

ab_status ab_compare_rates(const ab_compare_config *cfg, const double *x,
                           const double *n, size_t k, ab_rate_vs_control *out)
{
    double raw[AB_MAX_ARMS], adj[AB_MAX_ARMS];
    ab_status st;

    if (!x || !n || !out) return AB_EINVAL;
    if (k > AB_MAX_ARMS) return AB_ERANGE;
    if (!valid_config(cfg, k)) return AB_EINVAL;
    for (size_t i = 0; i < k; i++)
        if (!ab_valid_prop(x[i], n[i])) return AB_EINVAL;

    for (size_t i = 0; i < k; i++) {
        ab_rate_vs_control *r = &out[i];
        raw[i] = adj[i] = NAN;
        if (i == 0) {
            r->cmp.diff = r->cmp.lift = r->cmp.z = r->cmp.p_value = r->cmp.var = NAN;
            r->cmp.diff_ci = r->cmp.lift_ci = ab_interval_nan();
            r->fisher_p = NAN;
            r->bayes.prob_beat_control = r->bayes.expected_loss = NAN;
            r->seq.p_value = NAN;
            r->seq.ci = ab_interval_nan();
            continue;
        }
        if ((st = ab_prop_compare(x[i], n[i], x[0], n[0], cfg->alpha, &r->cmp)))
            return st;
        r->fisher_p = NAN;
        /* A table of more than 2^53 users has margins a double cannot hold
         * exactly: Fisher's test is AB_ERANGE there (R's fails on integer
         * overflow long before), so fisher_p is left undefined rather than
         * failing the whole comparison (/v1/analyze answered 500). */
        if (!cfg->no_exact_or_bayes && x[i] + x[0] <= AB_FISHER_MAX_CONVERSIONS &&
            n[i] + n[0] <= AB_MAX_COUNT &&
            (st = ab_fisher_exact_2x2(x[i], n[i] - x[i], x[0], n[0] - x[0], &r->fisher_p)))
            return st;
        /* With no users in an arm the posterior is only the prior: saying
         * "50 % chance to beat control" would read as evidence. */
        if (n[i] > 0 && n[0] > 0 && !cfg->no_exact_or_bayes) {
            if ((st = ab_bayes_beta_compare(x[i], n[i], x[0], n[0], &r->bayes)))
                return st;
        } else {
            r->bayes.prob_beat_control = r->bayes.expected_loss = NAN;
        }
        if ((st = ab_seq_msprt(r->cmp.diff, r->cmp.var, n[i] + n[0], cfg->alpha,
                               cfg->tuning, &r->seq)))
            return st;
        raw[i] = family_p(cfg, r->cmp.p_value, r->seq.p_value);
    }
    if ((st = adjust_family(cfg, raw, k, adj))) return st;
    for (size_t i = 0; i < k; i++) out[i].p_adjusted = adj[i];
    return AB_OK;
}

ab_status ab_compare_means(const ab_compare_config *cfg, const ab_moments *m,
                           size_t k, ab_mean_vs_control *out)
{
    double raw[AB_MAX_ARMS], adj[AB_MAX_ARMS];
    ab_status st;

    if (!m || !out) return AB_EINVAL;
    if (k > AB_MAX_ARMS) return AB_ERANGE;
    if (!valid_config(cfg, k)) return AB_EINVAL;

    for (size_t i = 0; i < k; i++) {
        ab_mean_vs_control *r = &out[i];
        raw[i] = adj[i] = NAN;
        if (i == 0) {
            r->welch.diff = r->welch.t = r->welch.df = r->welch.p_value = r->welch.var = NAN;
            r->welch.diff_ci = ab_interval_nan();
            r->seq.p_value = NAN;
            r->seq.ci = ab_interval_nan();
            continue;
        }
        if ((st = ab_welch_test(&m[i], &m[0], cfg->alpha, &r->welch))) return st;
        /* Welch's t is undefined for constant data; so is the sequential
         * test there, even though V may be a rounding residue above 0. */
        if (isnan(r->welch.t)) {
            r->seq.p_value = NAN;
            r->seq.ci = ab_interval_nan();
        } else if ((st = ab_seq_msprt(r->welch.diff, r->welch.var, m[i].n + m[0].n,
                                      cfg->alpha, cfg->tuning, &r->seq))) {
            return st;
        }
        raw[i] = family_p(cfg, r->welch.p_value, r->seq.p_value);
    }
    if ((st = adjust_family(cfg, raw, k, adj))) return st;
    for (size_t i = 0; i < k; i++) out[i].p_adjusted = adj[i];
    return AB_OK;
}

ab_status ab_compare_nps(const ab_compare_config *cfg, const ab_nps_summary *s,
                         size_t k, ab_nps_vs_control *out)
{
    double raw[AB_MAX_ARMS], adj[AB_MAX_ARMS];
    ab_status st;

    if (!s || !out) return AB_EINVAL;
    if (k > AB_MAX_ARMS) return AB_ERANGE;
    if (!valid_config(cfg, k)) return AB_EINVAL;

    for (size_t i = 0; i < k; i++) {
        ab_nps_vs_control *r = &out[i];
        raw[i] = adj[i] = NAN;
        if (i == 0) {
            r->cmp.diff = r->cmp.z = r->cmp.p_value = r->cmp.var = NAN;
            r->cmp.diff_ci = ab_interval_nan();
            r->seq.p_value = NAN;
            r->seq.ci = ab_interval_nan();
            continue;
        }
        if ((st = ab_nps_compare(&s[i], &s[0], cfg->alpha, &r->cmp))) return st;
        if ((st = ab_seq_msprt(r->cmp.diff, r->cmp.var, s[i].responses + s[0].responses,
                               cfg->alpha, cfg->tuning, &r->seq)))
            return st;
        raw[i] = family_p(cfg, r->cmp.p_value, r->seq.p_value);
    }
    if ((st = adjust_family(cfg, raw, k, adj))) return st;
    for (size_t i = 0; i < k; i++) out[i].p_adjusted = adj[i];
    return AB_OK;
}
