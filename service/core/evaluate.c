/* evaluate.c — from an experiment's counts to statuses, guardrails and a
 * verdict, keeping the evidence that must last between evaluations: the
 * running minimum of the sequential p and the running intersection of its
 * intervals from the first ready evaluation on, the frozen judgement and
 * plan of a fixed test, and the anytime-valid sample-ratio alert. */
#include "core/evaluate.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/cuped_compare.h"

#define MS_PER_DAY 86400000.0

/* The primary comparison's sequential block of arm i, whatever the metric:
 * the CUPED one where it decides (README "Statistics", CUPED). */
static ab_seq_result *primary_seq(ab_evaluation *ev, size_t i)
{
    ab_cuped_vs *c = ab_cuped_primary(&ev->opts, &ev->res[i]);
    if (c && c->decides) return &c->seq;
    switch (ev->opts.metric) {
    case AB_METRIC_REVENUE: return &ev->res[i].revenue_vs.seq;
    case AB_METRIC_NPS: return &ev->res[i].nps_vs.seq;
    default: return &ev->res[i].rate[ev->opts.phase].seq;
    }
}

static double *primary_adjusted(ab_evaluation *ev, size_t i)
{
    ab_cuped_vs *c = ab_cuped_primary(&ev->opts, &ev->res[i]);
    if (c && c->decides) return &c->p_adjusted;
    switch (ev->opts.metric) {
    case AB_METRIC_REVENUE: return &ev->res[i].revenue_vs.p_adjusted;
    case AB_METRIC_NPS: return &ev->res[i].nps_vs.p_adjusted;
    default: return &ev->res[i].rate[ev->opts.phase].p_adjusted;
    }
}

/* NPS sizes count answers (its N); the others count users. */
static double arm_size(const ab_evaluation *ev, size_t i)
{
    const ab_arm_counts *a = &ev->arms[i];
    return ev->opts.metric == AB_METRIC_NPS ? a->promoters + a->passives + a->detractors
                                             : a->users;
}

/* The guardrails of this evaluation: the configured ones, or each metric
 * other than the primary that has data. */
static void pick_guardrails(const ab_experiment_config *c, const ab_counts *s,
                            ab_guardrail *out, size_t *n)
{
    int revenue = 0, nps = 0, conv = 0;
    *n = 0;
    if (!c->guardrails_default) {
        memcpy(out, c->guardrails, c->nguardrails * sizeof *out);
        *n = c->nguardrails;
        return;
    }
    for (size_t i = 0; i < c->k; i++) {
        const ab_arm_counts *a = &s->arms[i];
        revenue |= a->revenue.sumsq > 0;
        nps |= a->promoters + a->passives + a->detractors > 0;
        conv |= a->conversions[c->phase] > 0;
    }
    if (c->metric != AB_METRIC_CONVERSION && conv)
        out[(*n)++] = (ab_guardrail){AB_METRIC_CONVERSION, c->phase, 0.0};
    if (c->metric != AB_METRIC_REVENUE && revenue)
        out[(*n)++] = (ab_guardrail){AB_METRIC_REVENUE, c->phase, 0.0};
    if (c->metric != AB_METRIC_NPS && nps)
        out[(*n)++] = (ab_guardrail){AB_METRIC_NPS, c->phase, 0.0};
}

static void build_opts(const ab_live *e, const ab_guardrail *guards, size_t nguards,
                       ab_evaluation *ev)
{
    const ab_counts *s = &e->state;
    memset(&ev->opts, 0, sizeof ev->opts);
    ev->opts.cmp.alpha = e->cfg.alpha;
    ev->opts.cmp.method = e->cfg.method;
    ev->opts.cmp.tuning = e->cfg.tuning;
    ev->opts.cmp.correction = e->cfg.correction;
    ev->opts.phase = e->cfg.phase;
    ev->opts.metric = e->cfg.metric;
    ev->opts.prior_mean = e->cfg.prior_mean;
    ev->opts.prior_sd = e->cfg.prior_sd;
    ev->opts.aov = 1; /* the counts keep each phase's revenue */
    ev->opts.cuped = ab_state_has_covariates(s);
    ev->opts.cuped_decides = e->cfg.cuped;
    for (size_t i = 0; i < e->cfg.k; i++) {
        for (unsigned ph = 0; ph < AB_PHASE_COUNT; ph++)
            if (s->arms[i].conversions[ph] > 0) ev->opts.phases |= 1u << ph;
        if (s->arms[i].revenue.sumsq > 0) ev->opts.revenue = 1;
        if (s->arms[i].promoters + s->arms[i].passives + s->arms[i].detractors > 0)
            ev->opts.nps = 1;
    }
    /* A guardrail is compared even before it has data (it is then unclear). */
    for (size_t g = 0; g < nguards; g++) {
        if (guards[g].metric == AB_METRIC_CONVERSION) ev->opts.phases |= 1u << guards[g].phase;
        if (guards[g].metric == AB_METRIC_REVENUE) ev->opts.revenue = 1;
        if (guards[g].metric == AB_METRIC_NPS) ev->opts.nps = 1;
    }
}

/* Folds this evaluation's primary sequential figures into the running
 * evidence of each ready arm, reports the running values and adjusts the
 * family over them. */
static ab_status sequential_evidence(const ab_experiment_config *c, ab_monitor_arm *mon,
                                     ab_evaluation *ev)
{
    double p[AB_MAX_ARMS], adj[AB_MAX_ARMS];
    ab_status st;

    for (size_t i = 1; i < c->k; i++) {
        ab_seq_result *s = primary_seq(ev, i);
        ab_monitor_arm *m = &mon[i];
        ev->seq_now[i] = *s;
        if (c->method == AB_METHOD_SEQUENTIAL && ev->ready[i] && isfinite(s->p_value)) {
            if (isnan(m->min_p) || s->p_value < m->min_p) m->min_p = s->p_value;
            if (isnan(m->ci.lo) || isnan(m->ci.hi)) {
                m->ci = s->ci;
            } else {
                if (s->ci.lo > m->ci.lo) m->ci.lo = s->ci.lo;
                if (s->ci.hi < m->ci.hi) m->ci.hi = s->ci.hi;
            }
        }
        ev->monitored[i] = c->method == AB_METHOD_SEQUENTIAL && !isnan(m->min_p);
        if (ev->monitored[i]) {
            s->p_value = m->min_p;
            s->ci = m->ci;
        }
        p[i - 1] = s->p_value;
    }
    if (c->method != AB_METHOD_SEQUENTIAL) return AB_OK;
    if ((st = ab_p_adjust(p, c->k - 1, c->correction, adj))) return st;
    for (size_t i = 1; i < c->k; i++) {
        *primary_adjusted(ev, i) = adj[i - 1];
        ev->res[i].primary.sequential_p = p[i - 1];
        ev->res[i].primary.sequential_ci = primary_seq(ev, i)->ci;
        ev->res[i].primary.p_adjusted = adj[i - 1];
    }
    return AB_OK;
}

/* Planned sample sizes of the primary metric, fixed-horizon and
 * sequential, from the configured or observed baseline; a fixed test's
 * plan once frozen stays. */
static void plan(const ab_experiment_config *c, const ab_monitor_exp *w, ab_evaluation *ev)
{
    const ab_arm_counts *ctl = &ev->arms[0];
    double base = c->baseline, per = NAN, seq = NAN, sd = NAN;

    switch (c->metric) {
    case AB_METRIC_CONVERSION:
        if (!isfinite(base) && ctl->users > 0) base = ctl->conversions[c->phase] / ctl->users;
        if (isfinite(base) && base > 0 && base < 1 && base * (1 + c->mde) < 1 &&
            base * (1 + c->mde) > 0) {
            if (ab_sample_size_prop(base, c->mde, c->alpha, c->power, c->k, c->correction, &per))
                per = NAN;
            if (ab_sample_size_seq_prop(base, c->mde, c->alpha, c->power, c->k, c->correction,
                                        c->tuning, &seq))
                seq = NAN;
        }
        break;
    case AB_METRIC_REVENUE:
    case AB_METRIC_NPS:
        if (c->metric == AB_METRIC_REVENUE) {
            if (!isfinite(base)) base = ev->res[0].revenue.mean;
            sd = ev->res[0].revenue.sd;
        } else {
            if (!isfinite(base)) base = ev->res[0].nps.score;
            /* The per-answer score (+100, 0, -100) has sd = SE * sqrt(r). */
            sd = ev->res[0].nps.se * sqrt(ev->res[0].nps.responses);
        }
        if (isfinite(base) && base != 0 && isfinite(sd) && sd > 0) {
            if (ab_sample_size_mean(base, sd, c->mde, c->alpha, c->power, c->k, c->correction,
                                    &per))
                per = NAN;
            if (ab_sample_size_seq(c->mde * fabs(base), sd * sd, sd * sd, c->alpha, c->power,
                                   c->k, c->correction, c->tuning, &seq))
                seq = NAN;
        }
        break;
    }
    ev->plan_frozen = c->method == AB_METHOD_FIXED && isfinite(w->plan_per_variant);
    if (ev->plan_frozen) {
        base = w->plan_baseline;
        per = w->plan_per_variant;
    }
    ev->baseline = base;
    ev->per_variant = per;
    ev->sequential_per_variant = seq;
    ev->delta = isfinite(base) ? c->mde * fabs(base) : NAN;
}

/* Each non-control arm's status. Sequential: sticky once decided. Fixed:
 * judged at the first evaluation with the planned sample, then frozen
 * with the plan. */
static void judge(const ab_experiment_config *c, int64_t now_ms, ab_monitor_arm *mon,
                  ab_monitor_exp *w, ab_evaluation *ev)
{
    double need = c->method == AB_METHOD_FIXED ? ev->per_variant : ev->sequential_per_variant;
    for (size_t i = 1; i < c->k; i++) {
        ab_monitor_arm *m = &mon[i];
        const ab_primary *p = &ev->res[i].primary;
        ab_arm_status now = m->status;
        int reached = isfinite(need) && arm_size(ev, i) >= need && arm_size(ev, 0) >= need;
        if (now == AB_ARM_COLLECTING) {
            if (c->method == AB_METHOD_SEQUENTIAL) {
                now = ab_arm_judge_sequential(c->alpha, p->p_adjusted, m->ci, p->effect,
                                              ev->delta, ev->ready[i] && ev->monitored[i]);
            } else if (ev->ready[i] && reached) {
                now = ab_arm_judge_fixed(c->alpha, p->p_adjusted, p->effect);
                m->min_p = p->p_adjusted;
                m->ci = p->effect_ci;
                if (!isfinite(w->plan_per_variant)) {
                    w->plan_baseline = ev->baseline;
                    w->plan_per_variant = ev->per_variant;
                }
            }
        }
        if ((now == AB_ARM_BETTER || now == AB_ARM_WORSE) && m->significant_since == 0) {
            m->significant_since = now_ms;
            ev->newly[ev->nnewly++] = i;
        }
        m->status = now;
        ev->status[i] = now;
    }
}

/* One guardrail of arm i at this evaluation. */
static void guard_eval(const ab_evaluation *ev, ab_method method, size_t i, ab_guardrail def,
                       ab_guard_result *out)
{
    const ab_arm_result *r = &ev->res[i], *ctl = &ev->res[0];
    int seq = method == AB_METHOD_SEQUENTIAL;
    out->def = def;
    switch (def.metric) {
    case AB_METRIC_REVENUE:
        out->control = ctl->revenue.mean;
        out->diff = r->revenue_vs.welch.diff;
        out->ci = seq ? r->revenue_vs.seq.ci : r->revenue_vs.welch.diff_ci;
        break;
    case AB_METRIC_NPS:
        out->control = ctl->nps.score;
        out->diff = r->nps_vs.cmp.diff;
        out->ci = seq ? r->nps_vs.seq.ci : r->nps_vs.cmp.diff_ci;
        break;
    default:
        out->control = ev->arms[0].users > 0
                           ? ev->arms[0].conversions[def.phase] / ev->arms[0].users : NAN;
        out->diff = r->rate[def.phase].cmp.diff;
        out->ci = seq ? r->rate[def.phase].seq.ci : r->rate[def.phase].cmp.diff_ci;
        break;
    }
    /* + 0.0: a margin of 0 gives 0, not -0. */
    out->threshold = isfinite(out->control) ? -def.margin * fabs(out->control) + 0.0 : NAN;
    out->status = ab_guard_judge(out->ci, out->threshold);
}

/* The anytime-valid sample-ratio check: running minimum of its p; the
 * alert, once raised, stays until monitoring restarts. */
static ab_status srm_check(const ab_experiment_config *c, int64_t now_ms, ab_monitor_exp *w,
                           ab_evaluation *ev)
{
    ab_srm_seq_result seq;
    int pearson_alert;
    ab_status st;

    if ((st = ab_srm_check(ev->users, c->weights, c->k, &ev->srm, &pearson_alert))) return st;
    if ((st = ab_srm_sequential(ev->users, c->weights, c->k, AB_SRM_PRIOR_CONCENTRATION, &seq)))
        return st;
    ev->srm_p_now = seq.p_value;
    if (isfinite(seq.p_value) && (isnan(w->srm_min_p) || seq.p_value < w->srm_min_p))
        w->srm_min_p = seq.p_value;
    if (!w->srm_alert_since && isfinite(w->srm_min_p) && w->srm_min_p < AB_SRM_ALERT_P)
        w->srm_alert_since = now_ms;
    ev->srm_p = w->srm_min_p;
    ev->srm_alert = w->srm_alert_since != 0;
    return AB_OK;
}

static void warn(ab_evaluation *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(ab_evaluation *ev, const char *fmt, ...)
{
    va_list ap;
    if (ev->nwarnings == AB_EVAL_WARNINGS) return;
    va_start(ap, fmt);
    vsnprintf(ev->warnings[ev->nwarnings++], sizeof ev->warnings[0], fmt, ap);
    va_end(ap);
}

/* variance_reduction cuped where CUPED cannot decide: the unadjusted
 * comparison does, and the results say so rather than pretend. */
static void cuped_warning(const ab_live *e, ab_evaluation *ev)
{
    size_t undecided = 0;
    for (size_t i = 1; i < e->cfg.k; i++) {
        const ab_cuped_vs *c = ab_cuped_primary(&ev->opts, &ev->res[i]);
        undecided += !c || !c->decides;
    }
    if (!undecided) return;
    if (!ev->opts.cuped)
        warn(ev, "variance_reduction is cuped, but no exposure has carried a covariate: the "
                 "unadjusted comparison decides until exposures send one.");
    else
        warn(ev, "variance_reduction is cuped, but for %zu of %zu variants the adjustment is "
                 "undefined (too few users, or every covariate equal): the unadjusted comparison "
                 "decides for them.", undecided, e->cfg.k - 1);
}

/* data_quality.warnings: what makes the data doubtful, in plain words. */
static void data_warnings(const ab_live *e, ab_evaluation *ev)
{
    const ab_counts *s = &e->state;
    double users = 0, conversions = 0, resp[AB_MAX_ARMS];
    ab_chisq_result chi;
    size_t k = e->cfg.k;

    for (size_t i = 0; i < k; i++) {
        users += ev->users[i];
        for (unsigned ph = 0; ph < AB_PHASE_COUNT; ph++) conversions += ev->arms[i].conversions[ph];
        resp[i] = ev->arms[i].promoters + ev->arms[i].passives + ev->arms[i].detractors;
    }
    if (ev->srm_alert)
        warn(ev, "The traffic split does not match the configured weights (sample-ratio "
                 "mismatch): no result of this experiment can be trusted until the assignment "
                 "is fixed.");
    if (users > 0 && s->conflicts > 0.01 * users)
        warn(ev, "%.1f %% of users were shown more than one variant (%.0f conflicting "
                 "exposures): check that the assignment is sticky.",
             100.0 * s->conflicts / users, s->conflicts);
    if (s->unattributed > 0.05 * (s->unattributed + conversions))
        warn(ev, "%.0f conversions or NPS answers (%.1f %%) came from users who never saw a "
                 "variant: check that every page reports the exposure first.",
             s->unattributed, 100.0 * s->unattributed / (s->unattributed + conversions));
    if (ab_chisq_homogeneity(resp, ev->users, k, &chi) == AB_OK && isfinite(chi.p_value) &&
        chi.p_value < 0.001)
        warn(ev, "The share of users who answered the NPS question differs between variants "
                 "(p = %.2g): the NPS comparison may be biased.", chi.p_value);
    if (e->cfg.cuped) cuped_warning(e, ev);
    for (size_t i = 1; i < k; i++)
        if (ev->monitored[i] && ev->res[i].primary.sequential_ci.lo >
                                    ev->res[i].primary.sequential_ci.hi)
            warn(ev, "The running interval of %s has become empty: its effect changed over "
                     "time (a novelty effect or a change of the site?); look at its history "
                     "before trusting it.", e->cfg.names[i]);
}

static void decide(const ab_live *e, const ab_evaluation *ev, double min_users,
                   ab_verdict *out)
{
    const ab_experiment_config *c = &e->cfg;
    ab_verdict_arm arms[AB_MAX_ARMS];
    ab_verdict_context ctx;

    memset(arms, 0, sizeof arms);
    for (size_t i = 1; i < c->k; i++) {
        arms[i].status = ev->status[i];
        /* The interval the status rests on: the running one, or a fixed
         * test's at its judgement. */
        int frozen = c->method == AB_METHOD_FIXED && ev->status[i] != AB_ARM_COLLECTING;
        arms[i].ci = frozen ? e->mon[i].ci
                     : c->method == AB_METHOD_SEQUENTIAL ? ev->res[i].primary.sequential_ci
                                                         : ev->res[i].primary.effect_ci;
        arms[i].p = frozen ? e->mon[i].min_p : ev->res[i].primary.p_adjusted;
        arms[i].value = ab_analysis_primary_value(&ev->opts, &ev->arms[i], &ev->res[i]);
        arms[i].control = ab_analysis_primary_value(&ev->opts, &ev->arms[0], &ev->res[0]);
        arms[i].guards = ev->guards[i];
        arms[i].nguards = ev->nguards;
    }
    memset(&ctx, 0, sizeof ctx);
    ctx.names = (const char *const *)c->names;
    ctx.k = c->k;
    ctx.metric = c->metric;
    ctx.phase = c->phase;
    ctx.method = c->method;
    ctx.mde = c->mde;
    ctx.srm_alert = ev->srm_alert;
    ctx.srm_observed = ev->users;
    ctx.srm_p = ev->srm_p;
    ctx.progress = ev->progress.progress;
    ctx.days_remaining = ev->progress.days_remaining;
    ctx.days_running = ev->days_running;
    ctx.min_days = c->min_days;
    ctx.min_users = c->min_users;
    ctx.min_arm_users = min_users;
    ab_verdict_decide(&ctx, arms, out);
}

ab_status ab_evaluate(ab_live *e, int64_t now_ms, ab_evaluation *ev)
{
    const ab_experiment_config *c = &e->cfg;
    const ab_counts *s = &e->state;
    ab_monitor_arm mon[AB_MAX_ARMS];
    ab_monitor_exp watch = e->watch;
    ab_guardrail guards[AB_EVAL_GUARDS];
    double x[AB_MAX_ARMS], sizes[AB_MAX_ARMS], min_users = INFINITY;
    double need;
    ab_status st;
    size_t k = c->k;

    /* Work on copies: a failure leaves the experiment's state untouched. */
    memcpy(mon, e->mon, sizeof mon);
    memset(ev, 0, sizeof *ev);
    pick_guardrails(c, s, guards, &ev->nguards);
    build_opts(e, guards, ev->nguards, ev);
    for (size_t i = 0; i < k; i++) {
        ab_state_arm(s, i, &ev->arms[i]);
        ev->users[i] = s->arms[i].users;
        x[i] = s->arms[i].conversions[c->phase];
        if (ev->users[i] < min_users) min_users = ev->users[i];
    }
    ev->days_running = s->first_exposure_ms <= s->last_exposure_ms
                           ? (double)(s->last_exposure_ms - s->first_exposure_ms) / MS_PER_DAY
                           : 0.0;
    for (size_t i = 1; i < k; i++)
        ev->ready[i] = ev->days_running >= c->min_days && ev->users[i] >= c->min_users &&
                       ev->users[0] >= c->min_users;

    if ((st = ab_analysis_run(&ev->opts, ev->arms, k, ev->res))) return st;
    if ((st = ab_journey_run(s, k, c->alpha, &ev->journey))) return st;
    if ((st = sequential_evidence(c, mon, ev))) return st;
    if ((st = ab_chisq_homogeneity(x, ev->users, k, &ev->omnibus))) return st;
    if ((st = srm_check(c, now_ms, &watch, ev))) return st;

    plan(c, &watch, ev);
    for (size_t i = 0; i < k; i++) sizes[i] = arm_size(ev, i);
    need = c->method == AB_METHOD_FIXED ? ev->per_variant : ev->sequential_per_variant;
    ev->progress.progress = ev->progress.days_remaining = NAN;
    if (isfinite(need) &&
        (st = ab_sample_progress(sizes, c->weights, k, need, ev->days_running, &ev->progress)))
        return st;
    ev->planned_reached = isfinite(need) && ev->progress.progress >= 1.0;

    judge(c, now_ms, mon, &watch, ev);
    for (size_t i = 1; i < k; i++)
        for (size_t g = 0; g < ev->nguards; g++)
            guard_eval(ev, c->method, i, guards[g], &ev->guards[i][g]);

    memcpy(e->mon, mon, sizeof mon);
    e->watch = watch;
    /* Descriptive (README "How abstat decides"): nothing above reads it. */
    if ((ev->opts.revenue || c->metric == AB_METRIC_REVENUE) &&
        ab_revenue_cap_run(&c->revenue_cap, &s->users, ev->users, k, c->alpha, &ev->capped) < 0)
        warn(ev, "Out of memory for the capped revenue figures (revenue_cap): they are left "
                 "out of this evaluation.");
    data_warnings(e, ev);
    decide(e, ev, min_users, &ev->verdict);
    return AB_OK;
}
