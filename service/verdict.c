/* verdict.c — arm statuses and the one-sentence verdict for marketers. */
#include "verdict.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *ab_arm_status_name(ab_arm_status s)
{
    static const char *const names[] = {"collecting", "better", "worse", "no_effect"};
    return (unsigned)s < 4 ? names[s] : "collecting";
}

const char *ab_verdict_name(ab_verdict_kind v)
{
    static const char *const names[] = {"keep_running", "ship", "keep_control", "invalid"};
    return (unsigned)v < 4 ? names[v] : "keep_running";
}

ab_arm_status ab_arm_judge(ab_method method, double alpha, double p_adjusted,
                           double effect, int ready, ab_arm_status previous)
{
    /* A confidence sequence stays valid once crossed: significance is kept. */
    if (method == AB_METHOD_SEQUENTIAL &&
        (previous == AB_ARM_BETTER || previous == AB_ARM_WORSE))
        return previous;
    if (!ready) return AB_ARM_COLLECTING;
    if (isfinite(p_adjusted) && p_adjusted < alpha && isfinite(effect) && effect != 0.0)
        return effect > 0.0 ? AB_ARM_BETTER : AB_ARM_WORSE;
    return method == AB_METHOD_FIXED ? AB_ARM_NO_EFFECT : AB_ARM_COLLECTING;
}

/* The effect in words: "+17.6 % conversion" / "+0.40 revenue per user". */
static void describe_effect(const ab_analysis_opts *opts, const ab_arm_result *r,
                            char *buf, size_t len)
{
    const ab_primary *p = &r->primary;
    switch (opts->metric) {
    case AB_METRIC_CONVERSION:
        if (isfinite(p->lift))
            snprintf(buf, len, "%+.1f %% %s conversion", 100.0 * p->lift,
                     ab_phase_name(opts->phase));
        else
            snprintf(buf, len, "%+.2f points of %s conversion", 100.0 * p->effect,
                     ab_phase_name(opts->phase));
        break;
    case AB_METRIC_REVENUE:
        snprintf(buf, len, "%+.2f revenue per user", p->effect);
        break;
    case AB_METRIC_NPS:
        snprintf(buf, len, "%+.1f NPS points", p->effect);
        break;
    }
}

static void reason_invalid(const ab_verdict_context *ctx, const char *const *names,
                           size_t k, ab_verdict *out)
{
    size_t used = 0;
    int n = snprintf(out->reason, sizeof out->reason,
                     "The traffic split does not match the configured weights "
                     "(sample-ratio mismatch, p = %.2g; users:", ctx->srm_p);
    used = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < k && used < sizeof out->reason; i++) {
        n = snprintf(out->reason + used, sizeof out->reason - used, "%s %s %.0f",
                     i ? "," : "", names[i], ctx->srm_observed ? ctx->srm_observed[i] : NAN);
        if (n < 0) break;
        used += (size_t)n;
    }
    if (used < sizeof out->reason)
        snprintf(out->reason + used, sizeof out->reason - used,
                 "), so the results cannot be trusted: check the assignment.");
}

static void reason_running(const ab_verdict_context *ctx, ab_verdict *out)
{
    char progress[160] = "";
    if (isfinite(ctx->min_days) && ctx->min_days > 0 && isfinite(ctx->days_running) &&
        ctx->days_running < ctx->min_days) {
        snprintf(out->reason, sizeof out->reason,
                 "Too early to call: the experiment has run %.1f of the minimum %.0f days.",
                 ctx->days_running, ctx->min_days);
        return;
    }
    if (ctx->min_users > 0 && ctx->min_arm_users < ctx->min_users) {
        snprintf(out->reason, sizeof out->reason,
                 "Too early to call: every variant needs %.0f users and the smallest has %.0f.",
                 ctx->min_users, ctx->min_arm_users);
        return;
    }
    if (isfinite(ctx->progress)) {
        if (isfinite(ctx->days_remaining) && ctx->days_remaining > 0)
            snprintf(progress, sizeof progress,
                     " (%.0f %% of the planned sample, about %.0f more days)",
                     100.0 * ctx->progress, ctx->days_remaining);
        else
            snprintf(progress, sizeof progress, " (%.0f %% of the planned sample)",
                     100.0 * ctx->progress);
    }
    if (ctx->planned_reached)
        snprintf(out->reason, sizeof out->reason,
                 "No variant is significantly different yet although the planned sample "
                 "is reached%s; keep running or stop and keep the control.", progress);
    else
        snprintf(out->reason, sizeof out->reason,
                 "No variant is significantly different yet%s; keep collecting data.",
                 progress);
}

void ab_verdict_decide(const ab_analysis_opts *opts, const char *const *names,
                       const ab_arm_status *status, const ab_arm_result *res,
                       size_t k, const ab_verdict_context *ctx, ab_verdict *out)
{
    size_t best = 0, settled = 0;
    char effect[128];

    memset(out, 0, sizeof *out);
    if (ctx->srm_alert) {
        out->decision = AB_VERDICT_INVALID;
        reason_invalid(ctx, names, k, out);
        return;
    }
    for (size_t i = 1; i < k; i++) {
        if (status[i] == AB_ARM_BETTER &&
            (best == 0 || res[i].primary.effect > res[best].primary.effect))
            best = i;
        if (status[i] == AB_ARM_WORSE || status[i] == AB_ARM_NO_EFFECT) settled++;
    }
    if (best) {
        out->decision = AB_VERDICT_SHIP;
        out->variant = best;
        describe_effect(opts, &res[best], effect, sizeof effect);
        snprintf(out->reason, sizeof out->reason,
                 "Ship %s: it beats %s by %s, significant at adjusted p = %.3g.",
                 names[best], names[0], effect, res[best].primary.p_adjusted);
        return;
    }
    if (k > 1 && settled == k - 1) {
        out->decision = AB_VERDICT_KEEP_CONTROL;
        snprintf(out->reason, sizeof out->reason,
                 "Keep %s: no variant beats it%s.", names[0],
                 settled && status[1] == AB_ARM_WORSE && k == 2
                     ? " (the variant is significantly worse)" : "");
        return;
    }
    out->decision = AB_VERDICT_KEEP_RUNNING;
    reason_running(ctx, out);
}
