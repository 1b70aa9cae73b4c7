/* evaluate.c — from an experiment's counts to statuses and a verdict,
 * keeping the sequential test's running minimum across evaluations. */
#include "evaluate.h"

#include <math.h>
#include <string.h>

#define MS_PER_DAY 86400000.0

/* The figures of the primary comparison of arm i, whatever the metric. */
static ab_seq_result *primary_seq(ab_evaluation *ev, size_t i)
{
    switch (ev->opts.metric) {
    case AB_METRIC_REVENUE: return &ev->res[i].revenue_vs.seq;
    case AB_METRIC_NPS: return &ev->res[i].nps_vs.seq;
    default: return &ev->res[i].rate[ev->opts.phase].seq;
    }
}

static double *primary_adjusted(ab_evaluation *ev, size_t i)
{
    switch (ev->opts.metric) {
    case AB_METRIC_REVENUE: return &ev->res[i].revenue_vs.p_adjusted;
    case AB_METRIC_NPS: return &ev->res[i].nps_vs.p_adjusted;
    default: return &ev->res[i].rate[ev->opts.phase].p_adjusted;
    }
}

/* Replaces the instantaneous sequential p of the primary metric by the
 * running minimum over all evaluations (SPEC section 6) and adjusts the
 * family again over those. */
static ab_status apply_running_min(ab_live *e, ab_evaluation *ev)
{
    double p[AB_MAX_ARMS], adj[AB_MAX_ARMS];
    size_t k = e->cfg.k;
    ab_status st;

    if (e->cfg.method != AB_METHOD_SEQUENTIAL) return AB_OK;
    for (size_t i = 1; i < k; i++) {
        ab_seq_result *s = primary_seq(ev, i);
        double inst = s->p_value, low = e->mon[i].min_p;
        if (isfinite(inst) && (!isfinite(low) || inst < low)) low = inst;
        e->mon[i].min_p = low;
        s->p_value = low;
        p[i - 1] = low;
    }
    if ((st = ab_p_adjust(p, k - 1, e->cfg.correction, adj))) return st;
    for (size_t i = 1; i < k; i++) {
        *primary_adjusted(ev, i) = adj[i - 1];
        ev->res[i].primary.sequential_p = p[i - 1];
        ev->res[i].primary.p_adjusted = adj[i - 1];
    }
    return AB_OK;
}

static void build_opts(const ab_live *e, ab_evaluation *ev)
{
    const ab_exp_state *s = &e->state;
    memset(&ev->opts, 0, sizeof ev->opts);
    ev->opts.cmp.alpha = e->cfg.alpha;
    ev->opts.cmp.method = e->cfg.method;
    ev->opts.cmp.tuning = e->cfg.tuning;
    ev->opts.cmp.correction = e->cfg.correction;
    ev->opts.phase = e->cfg.phase;
    ev->opts.metric = e->cfg.metric;
    for (size_t i = 0; i < e->cfg.k; i++) {
        for (unsigned ph = 0; ph < AB_PHASE_COUNT; ph++)
            if (s->arms[i].conversions[ph] > 0) ev->opts.phases |= 1u << ph;
        if (s->arms[i].revenue.sumsq > 0) ev->opts.revenue = 1;
        if (s->arms[i].promoters + s->arms[i].passives + s->arms[i].detractors > 0)
            ev->opts.nps = 1;
    }
}

/* Planned sample size per variant for the primary metric. */
static void plan(const ab_live *e, ab_evaluation *ev)
{
    const ab_experiment_config *c = &e->cfg;
    const ab_arm_counts *ctl = &ev->arms[0];
    double base = c->baseline, per = NAN, sd = NAN;

    switch (c->metric) {
    case AB_METRIC_CONVERSION:
        if (!isfinite(base) && ctl->users > 0) base = ctl->conversions[c->phase] / ctl->users;
        if (isfinite(base) && base > 0 && base < 1 && base * (1 + c->mde) < 1 &&
            base * (1 + c->mde) > 0 &&
            ab_sample_size_prop(base, c->mde, c->alpha, c->power, c->k, c->correction, &per))
            per = NAN;
        break;
    case AB_METRIC_REVENUE:
        if (!isfinite(base)) base = ev->res[0].revenue.mean;
        sd = ev->res[0].revenue.sd;
        if (isfinite(base) && base != 0 && isfinite(sd) && sd > 0 &&
            ab_sample_size_mean(base, sd, c->mde, c->alpha, c->power, c->k, c->correction, &per))
            per = NAN;
        break;
    case AB_METRIC_NPS:
        if (!isfinite(base)) base = ev->res[0].nps.score;
        /* The per-answer score (+100, 0, -100) has sd = SE * sqrt(r). */
        sd = ev->res[0].nps.se * sqrt(ev->res[0].nps.responses);
        if (isfinite(base) && base != 0 && isfinite(sd) && sd > 0 &&
            ab_sample_size_mean(base, sd, c->mde, c->alpha, c->power, c->k, c->correction, &per))
            per = NAN;
        break;
    }
    ev->baseline = base;
    ev->per_variant = per;
}

ab_status ab_evaluate(ab_live *e, int64_t now_ms, ab_evaluation *ev)
{
    const ab_experiment_config *c = &e->cfg;
    const ab_exp_state *s = &e->state;
    double x[AB_MAX_ARMS], sizes[AB_MAX_ARMS], min_users = INFINITY;
    ab_verdict_context ctx;
    ab_status st;
    size_t k = c->k;

    memset(ev, 0, sizeof *ev);
    build_opts(e, ev);
    for (size_t i = 0; i < k; i++) {
        ab_state_arm(s, i, &ev->arms[i]);
        ev->users[i] = s->arms[i].users;
        x[i] = s->arms[i].conversions[c->phase];
        if (ev->users[i] < min_users) min_users = ev->users[i];
    }
    if ((st = ab_analysis_run(&ev->opts, ev->arms, k, ev->res))) return st;
    if ((st = apply_running_min(e, ev))) return st;
    if ((st = ab_chisq_homogeneity(x, ev->users, k, &ev->omnibus))) return st;
    if ((st = ab_srm_check(ev->users, c->weights, k, &ev->srm, &ev->srm_alert))) return st;

    ev->days_running = s->first_ts_ms <= s->last_ts_ms
                           ? (double)(s->last_ts_ms - s->first_ts_ms) / MS_PER_DAY : 0.0;
    plan(e, ev);
    /* Progress counts answers for NPS (its N), users otherwise. */
    for (size_t i = 0; i < k; i++)
        sizes[i] = c->metric == AB_METRIC_NPS
                       ? ev->arms[i].promoters + ev->arms[i].passives + ev->arms[i].detractors
                       : ev->users[i];
    ev->progress.progress = ev->progress.days_remaining = NAN;
    if (isfinite(ev->per_variant) &&
        (st = ab_sample_progress(sizes, c->weights, k, ev->per_variant, ev->days_running,
                                 &ev->progress)))
        return st;
    ev->planned_reached = isfinite(ev->per_variant) && ev->progress.progress >= 1.0;
    ev->ready = ev->days_running >= c->min_days && min_users >= c->min_users;

    for (size_t i = 1; i < k; i++) {
        ab_monitor_arm *m = &e->mon[i];
        int ready = ev->ready && (c->method == AB_METHOD_SEQUENTIAL || ev->planned_reached);
        ab_arm_status was = m->status;
        ab_arm_status now = ab_arm_judge(c->method, c->alpha, ev->res[i].primary.p_adjusted,
                                         ev->res[i].primary.effect, ready, was);
        if ((now == AB_ARM_BETTER || now == AB_ARM_WORSE) && m->significant_since == 0) {
            m->significant_since = now_ms;
            ev->newly[ev->nnewly++] = i;
        }
        m->status = now;
        ev->status[i] = now;
    }

    memset(&ctx, 0, sizeof ctx);
    ctx.srm_alert = ev->srm_alert;
    ctx.srm_observed = ev->users;
    ctx.srm_p = ev->srm.p_value;
    ctx.progress = ev->progress.progress;
    ctx.days_remaining = ev->progress.days_remaining;
    ctx.days_running = ev->days_running;
    ctx.min_days = c->min_days;
    ctx.min_users = c->min_users;
    ctx.min_arm_users = min_users;
    ctx.planned_reached = ev->planned_reached;
    ab_verdict_decide(&ev->opts, (const char *const *)c->names, ev->status, ev->res, k, &ctx,
                      &ev->verdict);
    return AB_OK;
}
