/* results.c — renders an evaluation: data quality, sample-ratio check,
 * omnibus test, variants, factorial analysis, journey, sample size and
 * verdict. */
#include "json/results.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/event.h"
#include "json/journey_json.h"
#include "json/jsonout.h"
#include "json/revenue_cap_json.h"
#include "json/variants_json.h"

static void fill_views(const ab_live *e, const ab_evaluation *ev, ab_arm_view *view,
                       char since[][40])
{
    memset(view, 0, e->cfg.k * sizeof *view);
    for (size_t i = 0; i < e->cfg.k; i++) {
        view[i].name = e->cfg.names[i];
        view[i].status = ev->status[i];
        view[i].capped = ev->capped.on ? &ev->capped : NULL;
        view[i].index = i;
        if (!i) continue;
        view[i].seq_now = &ev->seq_now[i];
        view[i].guards = ev->guards[i];
        view[i].nguards = ev->nguards;
        if (e->mon[i].significant_since) {
            ab_time_format_rfc3339(e->mon[i].significant_since, since[i], 40);
            view[i].significant_since = since[i];
        }
    }
}

static json_t *chisq_json(const ab_chisq_result *r)
{
    return json_pack("{s:o,s:o,s:o}", "statistic", ab_jnum(r->statistic), "df", ab_jnum(r->df),
                     "p_value", ab_jnum(r->p_value));
}

static json_t *srm_json(const ab_live *e, const ab_evaluation *ev)
{
    json_t *obs = json_array(), *exp = json_array();
    for (size_t i = 0; obs && exp && i < e->cfg.k; i++) {
        json_array_append_new(obs, ab_jcount(ev->users[i]));
        json_array_append_new(exp, json_real(e->cfg.weights[i]));
    }
    if (!obs || !exp) {
        json_decref(obs);
        json_decref(exp);
        return NULL;
    }
    char since[40] = "";
    if (e->watch.srm_alert_since)
        ab_time_format_rfc3339(e->watch.srm_alert_since, since, sizeof since);
    /* p_value and statistic: Pearson's chi-square at this evaluation, for
     * reference; the alert rests on the anytime-valid sequential_p. */
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o}", "observed", obs, "expected", exp,
                     "statistic", ab_jnum(ev->srm.statistic), "p_value",
                     ab_jnum(ev->srm.p_value), "sequential_p", ab_jnum(ev->srm_p),
                     "sequential_p_now", ab_jnum(ev->srm_p_now), "alert", ev->srm_alert,
                     "alert_since", since[0] ? json_string(since) : json_null());
}

static json_t *warnings_json(const ab_evaluation *ev)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < ev->nwarnings; i++)
        if (json_array_append_new(list, json_string(ev->warnings[i]))) {
            json_decref(list);
            return NULL;
        }
    return list;
}

/* monitoring_since: the creation time until a restart moved it. */
static json_t *monitoring_since_json(const ab_live *e)
{
    char at[40];
    ab_time_format_rfc3339(e->monitoring_since_ms ? e->monitoring_since_ms : e->created_ms, at,
                           sizeof at);
    return json_string(at);
}

/* Main effects per factor and the interaction test, on the goal phase. */
static json_t *factorial_json(const ab_live *e, const ab_evaluation *ev)
{
    const ab_experiment_config *c = &e->cfg;
    double x[AB_MAX_ARMS], n[AB_MAX_ARMS], lx[AB_MAX_ARMS], ln[AB_MAX_ARMS];
    json_t *mains = json_array(), *out;
    ab_lrt_result lrt;
    ab_status st;

    if (!c->factorial || !mains) {
        json_decref(mains);
        return json_null();
    }
    for (size_t i = 0; i < c->k; i++) {
        x[i] = ev->arms[i].conversions[c->phase];
        n[i] = ev->arms[i].users;
    }
    for (size_t f = 0; f < c->design.nfactors; f++) {
        const ab_factor *fac = &c->factors[f];
        json_t *levels = json_array();
        ab_chisq_result chi = {NAN, NAN, NAN};
        if (!levels) goto oom;
        if (ab_factorial_main_effect(&c->design, x, n, f, lx, ln, &chi) != AB_OK)
            for (size_t l = 0; l < c->design.levels[f]; l++) lx[l] = ln[l] = NAN;
        for (size_t l = 0; l < c->design.levels[f]; l++)
            json_array_append_new(levels, json_pack("{s:s,s:o,s:o,s:o}", "level",
                                                    fac->levels[l], "users",
                                                    ab_jcount(ln[l]), "conversions",
                                                    ab_jcount(lx[l]), "rate",
                                                    ab_jnum(ln[l] > 0 ? lx[l] / ln[l] : NAN)));
        if (json_array_append_new(mains, json_pack("{s:s,s:o,s:o,s:o,s:o}", "factor",
                                                   fac->name, "levels", levels,
                                                   "statistic", ab_jnum(chi.statistic), "df",
                                                   ab_jnum(chi.df), "p_value",
                                                   ab_jnum(chi.p_value))))
            goto oom;
    }
    st = ab_factorial_interaction(&c->design, x, n, &lrt);
    /* No convergence (separated cells) or one factor: the test is undefined. */
    if (st != AB_OK) lrt.deviance_main = lrt.deviance_full = lrt.statistic = lrt.df =
                         lrt.p_value = NAN;
    out = json_pack("{s:s,s:o,s:{s:o,s:o,s:o,s:o,s:o}}", "phase", ab_phase_name(c->phase),
                    "main_effects", mains, "interaction", "deviance_main",
                    ab_jnum(lrt.deviance_main), "deviance_full", ab_jnum(lrt.deviance_full),
                    "statistic", ab_jnum(lrt.statistic), "df", ab_jnum(lrt.df), "p_value",
                    ab_jnum(lrt.p_value));
    return out;
oom:
    json_decref(mains);
    return NULL;
}

/* progress and days_remaining count towards the method's own size:
 * sequential_per_variant under sequential, per_variant under fixed. */
static json_t *sample_size_json(const ab_live *e, const ab_evaluation *ev)
{
    return json_pack("{s:s,s:o,s:f,s:o,s:o,s:s,s:o,s:o,s:b,s:b}", "metric",
                     ab_metric_name(e->cfg.metric), "baseline", ab_jnum(ev->baseline), "mde",
                     e->cfg.mde, "per_variant", ab_jcount(ev->per_variant),
                     "sequential_per_variant", ab_jcount(ev->sequential_per_variant),
                     "progress_towards",
                     e->cfg.method == AB_METHOD_FIXED ? "per_variant" : "sequential_per_variant",
                     "progress", ab_jnum(ev->progress.progress), "days_remaining",
                     ab_jnum(ev->progress.days_remaining), "reached", ev->planned_reached,
                     "frozen", ev->plan_frozen);
}

json_t *ab_results_json(const ab_live *e, const ab_evaluation *ev)
{
    const ab_experiment_config *c = &e->cfg;
    const ab_counts *s = &e->state;
    ab_arm_view view[AB_MAX_ARMS];
    char since[AB_MAX_ARMS][40], started[40];
    json_t *o = json_object();

    fill_views(e, ev, view, since);
    if (s->first_exposure_ms <= s->last_exposure_ms) ab_time_format_rfc3339(s->first_exposure_ms, started, 40);
    if (!o ||
        ab_jset(o, "experiment", json_string(c->id)) ||
        ab_jset(o, "status", json_string(e->stopped ? "stopped" : "running")) ||
        ab_jset(o, "phase", json_string(ab_phase_name(c->phase))) ||
        ab_jset(o, "metric", json_string(ab_metric_name(c->metric))) ||
        ab_jset(o, "method", json_string(ab_method_name(c->method))) ||
        ab_jset(o, "alpha", json_real(c->alpha)) ||
        ab_jset(o, "ci_level", json_real(1.0 - c->alpha)) ||
        ab_jset(o, "correction", json_string(ab_correction_name(c->correction))) ||
        ab_jset(o, "revenue_cap", ab_revenue_cap_json(&c->revenue_cap)) ||
        ab_jset(o, "started_at", s->first_exposure_ms <= s->last_exposure_ms ? json_string(started)
                                                                 : json_null()) ||
        ab_jset(o, "days_running", json_real(ev->days_running)) ||
        ab_jset(o, "monitoring_since", monitoring_since_json(e)) ||
        ab_jset(o, "changes", e->changes ? json_copy(e->changes) : json_array()) ||
        ab_jset(o, "data_quality",
                json_pack("{s:o,s:o,s:o,s:o,s:o}", "conflicts", ab_jcount(s->conflicts),
                          "unattributed", ab_jcount(s->unattributed), "duplicates",
                          ab_jcount(s->duplicates), "events", ab_jcount(s->events),
                          "warnings", warnings_json(ev))) ||
        ab_jset(o, "srm", srm_json(e, ev)) ||
        ab_jset(o, "omnibus", chisq_json(&ev->omnibus)) ||
        ab_jset(o, "variants", ab_variants_json(&ev->opts, ev->arms, ev->res, view, c->k)) ||
        ab_jset(o, "factorial", factorial_json(e, ev)) ||
        ab_jset(o, "journey",
                ab_journey_json(&ev->journey, (const char *const *)c->names, c->k)) ||
        ab_jset(o, "sample_size", sample_size_json(e, ev)) ||
        ab_jset(o, "verdict", ab_verdict_json(&ev->verdict, view))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *ab_decision_json(const ab_live *e, const ab_evaluation *ev)
{
    const ab_experiment_config *c = &e->cfg;
    ab_arm_view view[AB_MAX_ARMS];
    char since[AB_MAX_ARMS][40];
    json_t *vars = json_array(), *o;

    fill_views(e, ev, view, since);
    for (size_t i = 1; vars && i < c->k; i++) {
        const ab_primary *p = &ev->res[i].primary;
        double value = ab_analysis_primary_value(&ev->opts, &ev->arms[i], &ev->res[i]);
        if (json_array_append_new(vars, json_pack(
            "{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
            "name", c->names[i], "status", ab_arm_status_name(ev->status[i]),
            "p_value", ab_jnum(p->p_value), "p_adjusted", ab_jnum(p->p_adjusted),
            "sequential_p", ab_jnum(p->sequential_p), "effect", ab_jnum(p->effect),
            "ci", ab_jinterval(c->method == AB_METHOD_SEQUENTIAL ? p->sequential_ci
                                                                 : p->effect_ci),
            "sequential_ci_now", ab_jinterval(ev->seq_now[i].ci),
            "lift", ab_jnum(p->lift), "value", ab_jnum(value), "users", ab_jcount(ev->users[i]),
            "significant_since", view[i].significant_since
                                     ? json_string(view[i].significant_since) : json_null(),
            "guardrails", ab_guardrails_json(ev->guards[i], ev->nguards)))) {
            json_decref(vars);
            return NULL;
        }
    }
    if (!vars) return NULL;
    o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o}", "experiment",
                  c->id, "metric", ab_metric_name(c->metric), "phase", ab_phase_name(c->phase),
                  "method", ab_method_name(c->method), "control", c->names[0], "verdict",
                  ab_verdict_json(&ev->verdict, view), "variants", vars, "progress",
                  ab_jnum(ev->progress.progress), "days_remaining",
                  ab_jnum(ev->progress.days_remaining), "control_users",
                  ab_jcount(ev->users[0]), "control_value",
                  ab_jnum(ab_analysis_primary_value(&ev->opts, &ev->arms[0], &ev->res[0])),
                  "srm_alert", ev->srm_alert, "monitoring_since", monitoring_since_json(e));
    return o;
}
