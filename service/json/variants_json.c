/* variants_json.c — renders per-variant counts and comparisons as JSON. */
#include "json/variants_json.h"

#include <math.h>

#include "json/cuped_json.h"
#include "json/jsonout.h"

/* Phases shown for an arm: those asked for, and the goal phase when it is
 * the primary metric. */
static int phase_shown(const ab_analysis_opts *opts, unsigned ph)
{
    return ((opts->phases >> ph) & 1u) ||
           (opts->metric == AB_METRIC_CONVERSION && ph == (unsigned)opts->phase);
}

static json_t *rate_json(double x, double n, ab_interval ci)
{
    json_t *o = json_object();
    if (!o) return NULL;
    if (ab_jset(o, "conversions", ab_jcount(x)) ||
        ab_jset(o, "rate", ab_jnum(n > 0 ? x / n : NAN)) ||
        ab_jset(o, "ci", ab_jinterval(ci))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The primary's instantaneous sequential figures beside its running ones. */
static int set_now(json_t *o, const ab_seq_result *now)
{
    if (!now) return 0;
    return ab_jset(o, "sequential_p_now", ab_jnum(now->p_value)) ||
           ab_jset(o, "sequential_ci_now", ab_jinterval(now->ci));
}

static json_t *rate_vs_json(const ab_rate_vs_control *r, const ab_seq_result *now)
{
    json_t *o = json_object();
    if (!o) return NULL;
    if (ab_jset(o, "diff", ab_jnum(r->cmp.diff)) ||
        ab_jset(o, "diff_ci", ab_jinterval(r->cmp.diff_ci)) ||
        ab_jset(o, "lift", ab_jnum(r->cmp.lift)) ||
        ab_jset(o, "lift_ci", ab_jinterval(r->cmp.lift_ci)) ||
        ab_jset(o, "z", ab_jnum(r->cmp.z)) ||
        ab_jset(o, "p_value", ab_jnum(r->cmp.p_value)) ||
        ab_jset(o, "p_adjusted", ab_jnum(r->p_adjusted)) ||
        ab_jset(o, "fisher_p", ab_jnum(r->fisher_p)) ||
        ab_jset(o, "prob_beat_control", ab_jnum(r->bayes.prob_beat_control)) ||
        ab_jset(o, "expected_loss", ab_jnum(r->bayes.expected_loss)) ||
        ab_jset(o, "sequential_p", ab_jnum(r->seq.p_value)) ||
        ab_jset(o, "sequential_ci", ab_jinterval(r->seq.ci)) || set_now(o, now)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *revenue_json(const ab_mean_summary *m)
{
    json_t *o = json_object();
    if (!o) return NULL;
    if (ab_jset(o, "mean", ab_jnum(m->mean)) || ab_jset(o, "sd", ab_jnum(m->sd)) ||
        ab_jset(o, "ci", ab_jinterval(m->ci))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *revenue_vs_json(const ab_mean_vs_control *r, const ab_lift_result *lift,
                               const ab_seq_result *now)
{
    json_t *o = json_object();
    if (!o) return NULL;
    if (ab_jset(o, "diff", ab_jnum(r->welch.diff)) ||
        ab_jset(o, "diff_ci", ab_jinterval(r->welch.diff_ci)) ||
        ab_jset(o, "lift", ab_jnum(lift->lift)) ||
        ab_jset(o, "lift_ci", ab_jinterval(lift->ci)) ||
        ab_jset(o, "t", ab_jnum(r->welch.t)) || ab_jset(o, "df", ab_jnum(r->welch.df)) ||
        ab_jset(o, "p_value", ab_jnum(r->welch.p_value)) ||
        ab_jset(o, "p_adjusted", ab_jnum(r->p_adjusted)) ||
        ab_jset(o, "sequential_p", ab_jnum(r->seq.p_value)) ||
        ab_jset(o, "sequential_ci", ab_jinterval(r->seq.ci)) || set_now(o, now)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *nps_json(const ab_nps_summary *s)
{
    json_t *o = json_object();
    if (!o) return NULL;
    if (ab_jset(o, "responses", ab_jcount(s->responses)) ||
        ab_jset(o, "promoters", ab_jcount(s->promoters)) ||
        ab_jset(o, "passives", ab_jcount(s->passives)) ||
        ab_jset(o, "detractors", ab_jcount(s->detractors)) ||
        ab_jset(o, "score", ab_jnum(s->score)) || ab_jset(o, "ci", ab_jinterval(s->ci))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *nps_vs_json(const ab_nps_vs_control *r, const ab_seq_result *now)
{
    json_t *o = json_object();
    if (!o) return NULL;
    if (ab_jset(o, "diff", ab_jnum(r->cmp.diff)) ||
        ab_jset(o, "diff_ci", ab_jinterval(r->cmp.diff_ci)) ||
        ab_jset(o, "z", ab_jnum(r->cmp.z)) || ab_jset(o, "p_value", ab_jnum(r->cmp.p_value)) ||
        ab_jset(o, "p_adjusted", ab_jnum(r->p_adjusted)) ||
        ab_jset(o, "sequential_p", ab_jnum(r->seq.p_value)) ||
        ab_jset(o, "sequential_ci", ab_jinterval(r->seq.ci)) || set_now(o, now)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *ab_guardrails_json(const ab_guard_result *g, size_t n)
{
    json_t *list = json_array();
    if (!list) return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(list, o) ||
            ab_jset(o, "metric", json_string(ab_metric_name(g[i].def.metric))) ||
            (g[i].def.metric == AB_METRIC_CONVERSION &&
             ab_jset(o, "phase", json_string(ab_phase_name(g[i].def.phase)))) ||
            ab_jset(o, "margin", json_real(g[i].def.margin)) ||
            ab_jset(o, "control", ab_jnum(g[i].control)) ||
            ab_jset(o, "diff", ab_jnum(g[i].diff)) ||
            ab_jset(o, "ci", ab_jinterval(g[i].ci)) ||
            ab_jset(o, "threshold", ab_jnum(g[i].threshold)) ||
            ab_jset(o, "status", json_string(ab_guard_status_name(g[i].status)))) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* The primary comparison's "prior" block (README "Statistics", Prior):
 * the prior, the posterior of the lift, P(lift > 0) and the risk. */
static int set_prior(json_t *vs, const ab_analysis_opts *opts, const ab_arm_result *r)
{
    const char *key = opts->metric == AB_METRIC_CONVERSION ? ab_phase_name(opts->phase)
                      : opts->metric == AB_METRIC_REVENUE  ? "revenue"
                                                           : "nps";
    json_t *primary = json_object_get(vs, key);
    if (!(opts->prior_sd > 0.0) || !primary) return 0;
    return ab_jset(primary, "prior",
                   json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "mean", json_real(opts->prior_mean),
                             "sd", json_real(opts->prior_sd), "posterior_mean",
                             ab_jnum(r->prior.mean), "posterior_sd", ab_jnum(r->prior.sd),
                             "prob_beat_control", ab_jnum(r->prior.prob_beat_control), "risk",
                             ab_jnum(r->prior.risk)));
}

static json_t *aov_json(const ab_aov_summary *m)
{
    return json_pack("{s:o,s:o}", "value", ab_jnum(m->value), "ci", ab_jinterval(m->ci));
}

static json_t *aov_vs_json(const ab_aov_comparison *c)
{
    return json_pack("{s:o,s:o,s:o,s:o}", "diff", ab_jnum(c->diff), "diff_ci",
                     ab_jinterval(c->diff_ci), "z", ab_jnum(c->z), "p_value",
                     ab_jnum(c->p_value));
}

/* revenue.capped and vs_control.revenue.capped (README "Statistics",
 * Revenue capping): a side without a cap shows null in caps. */
static int set_capped(json_t *o, json_t *vs, const ab_arm_view *v)
{
    const ab_capped_result *c = v->capped;
    json_t *rev = json_object_get(o, "revenue"), *rev_vs = vs ? json_object_get(vs, "revenue") : NULL;
    if (!c || !rev) return 0;
    const ab_mean_summary *m = &c->arm[v->index];
    if (ab_jset(rev, "capped",
                json_pack("{s:o,s:o,s:o,s:[oo]}", "mean", ab_jnum(m->mean), "sd", ab_jnum(m->sd),
                          "ci", ab_jinterval(m->ci), "caps", ab_jnum(c->lo), ab_jnum(c->hi))))
        return -1;
    if (!rev_vs) return 0;
    const ab_welch_result *w = &c->vs[v->index];
    return ab_jset(rev_vs, "capped",
                   json_pack("{s:o,s:o,s:o,s:o,s:o}", "diff", ab_jnum(w->diff), "diff_ci",
                             ab_jinterval(w->diff_ci), "t", ab_jnum(w->t), "df", ab_jnum(w->df),
                             "p_value", ab_jnum(w->p_value)));
}

static json_t *arm_json(const ab_analysis_opts *opts, const ab_arm_counts *a,
                        const ab_arm_result *r, const ab_arm_view *v, int control)
{
    json_t *o = json_object(), *phases = json_object(), *vs = NULL;
    int revenue = opts->revenue || opts->metric == AB_METRIC_REVENUE;
    int nps = opts->nps || opts->metric == AB_METRIC_NPS;

    if (!o || !phases) goto fail;
    if (ab_jset(o, "name", json_string(v->name)) || ab_jset(o, "users", ab_jcount(a->users)))
        goto fail;
    for (unsigned ph = 0; ph < AB_PHASE_COUNT; ph++)
        if (phase_shown(opts, ph) &&
            ab_jset(phases, ab_phase_name((ab_phase)ph),
                    rate_json(a->conversions[ph], a->users, r->rate_ci[ph])))
            goto fail;
    if (ab_jset(o, "phases", phases)) {
        phases = NULL;
        goto fail;
    }
    phases = NULL;
    if (revenue && ab_jset(o, "revenue", revenue_json(&r->revenue))) goto fail;
    if (revenue && opts->aov && ab_jset(o, "aov", aov_json(&r->aov))) goto fail;
    if (nps && ab_jset(o, "nps", nps_json(&r->nps))) goto fail;
    if (control && set_capped(o, NULL, v)) goto fail;
    if (!control) {
        if (!(vs = json_object())) goto fail;
        /* The instantaneous figures go beside the running ones: in the
         * CUPED block when it decides (README "Results and decision"). */
        int cuped = ab_cuped_json_decides(opts, r);
        const ab_seq_result *now_conv =
            opts->metric == AB_METRIC_CONVERSION && !cuped ? v->seq_now : NULL;
        for (unsigned ph = 0; ph < AB_PHASE_COUNT; ph++)
            if (phase_shown(opts, ph) &&
                ab_jset(vs, ab_phase_name((ab_phase)ph),
                        rate_vs_json(&r->rate[ph], ph == (unsigned)opts->phase ? now_conv : NULL)))
                goto fail;
        if (revenue && ab_jset(vs, "revenue",
                               revenue_vs_json(&r->revenue_vs, &r->revenue_lift,
                                               opts->metric == AB_METRIC_REVENUE && !cuped
                                                   ? v->seq_now : NULL)))
            goto fail;
        if (nps && ab_jset(vs, "nps", nps_vs_json(&r->nps_vs, opts->metric == AB_METRIC_NPS
                                                                  ? v->seq_now : NULL)))
            goto fail;
        if (revenue && opts->aov && ab_jset(vs, "aov", aov_vs_json(&r->aov_vs))) goto fail;
        if (set_prior(vs, opts, r) || ab_cuped_json_set(vs, opts, r, v->seq_now)) goto fail;
        if (set_capped(o, vs, v)) goto fail;
        if (ab_jset(o, "vs_control", vs)) {
            vs = NULL;
            goto fail;
        }
        vs = NULL;
        if ((v->guards && ab_jset(o, "guardrails", ab_guardrails_json(v->guards, v->nguards))) ||
            ab_jset(o, "status", json_string(ab_arm_status_name(v->status))) ||
            ab_jset(o, "significant_since",
                    v->significant_since ? json_string(v->significant_since) : json_null()))
            goto fail;
    }
    return o;
fail:
    json_decref(vs);
    json_decref(phases);
    json_decref(o);
    return NULL;
}

json_t *ab_variants_json(const ab_analysis_opts *opts, const ab_arm_counts *arms,
                         const ab_arm_result *res, const ab_arm_view *view, size_t k)
{
    json_t *list = json_array();
    if (!list) return NULL;
    for (size_t i = 0; i < k; i++) {
        if (json_array_append_new(list, arm_json(opts, &arms[i], &res[i], &view[i], i == 0))) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

json_t *ab_verdict_json(const ab_verdict *v, const ab_arm_view *view)
{
    json_t *o = json_object();
    if (!o) return NULL;
    if (ab_jset(o, "decision", json_string(ab_verdict_name(v->decision))) ||
        ab_jset(o, "variant", v->decision == AB_VERDICT_SHIP
                                  ? json_string(view[v->variant].name) : json_null()) ||
        ab_jset(o, "reason", json_string(v->reason))) {
        json_decref(o);
        return NULL;
    }
    return o;
}
