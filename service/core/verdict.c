/* verdict.c — variant and guardrail statuses, and the one-sentence verdict
 * a marketer reads. */
#include "core/verdict.h"

#include <math.h>
#include <stdarg.h>
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

const char *ab_guard_status_name(ab_guard_status s)
{
    static const char *const names[] = {"ok", "unclear", "failing"};
    return (unsigned)s < 3 ? names[s] : "unclear";
}

static ab_arm_status by_sign(double side)
{
    return side > 0.0 ? AB_ARM_BETTER : AB_ARM_WORSE;
}

ab_arm_status ab_arm_judge_sequential(double alpha, double p_adjusted, ab_interval ci,
                                      double effect, double delta, int ready)
{
    if (!ready) return AB_ARM_COLLECTING;
    if (isfinite(p_adjusted) && p_adjusted < alpha) {
        /* The interval, not today's estimate, says which side of 0 the
         * effect was shown to be on. */
        if (ci.lo > 0.0 || ci.hi < 0.0) return by_sign(ci.lo > 0.0 ? 1.0 : -1.0);
        if (isfinite(effect) && effect != 0.0) return by_sign(effect);
        return AB_ARM_COLLECTING;
    }
    if (isfinite(delta) && delta > 0.0 && ci.lo > -delta && ci.hi < delta)
        return AB_ARM_NO_EFFECT;
    return AB_ARM_COLLECTING;
}

ab_arm_status ab_arm_judge_fixed(double alpha, double p_adjusted, double effect)
{
    if (isfinite(p_adjusted) && p_adjusted < alpha && isfinite(effect) && effect != 0.0)
        return by_sign(effect);
    return AB_ARM_NO_EFFECT;
}

ab_guard_status ab_guard_judge(ab_interval ci, double threshold)
{
    if (!isfinite(threshold) || isnan(ci.lo) || isnan(ci.hi)) return AB_GUARD_UNCLEAR;
    if (ci.hi < threshold) return AB_GUARD_FAILING;
    if (ci.lo > threshold) return AB_GUARD_OK;
    return AB_GUARD_UNCLEAR;
}

void ab_metric_label(ab_metric m, ab_phase phase, char *buf, size_t len)
{
    switch (m) {
    case AB_METRIC_REVENUE: snprintf(buf, len, "revenue per user"); break;
    case AB_METRIC_NPS: snprintf(buf, len, "NPS"); break;
    default: snprintf(buf, len, "%s conversion", ab_phase_name(phase)); break;
    }
}

/* ---- the reason, built in one buffer ----------------------------------- */

typedef struct {
    char *buf;
    size_t len, used;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (t->used >= t->len) return;
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
    va_end(ap);
    if (n > 0) t->used += (size_t)n;
    if (t->used >= t->len) t->used = t->len; /* cut: the buffer stays terminated */
}

/* A value of metric m as a marketer reads it. */
static void add_value(text *t, ab_metric m, double v)
{
    switch (m) {
    case AB_METRIC_CONVERSION: add(t, "%.2f %%", 100.0 * v); break;
    case AB_METRIC_REVENUE: add(t, "%.2f", v); break;
    case AB_METRIC_NPS: add(t, "%.1f", v); break;
    }
}

/* A difference of metric m (always with its sign). */
static void add_diff(text *t, ab_metric m, double d)
{
    switch (m) {
    case AB_METRIC_CONVERSION: add(t, "%+.2f points", 100.0 * d); break;
    case AB_METRIC_REVENUE: add(t, "%+.2f per user", d); break;
    case AB_METRIC_NPS: add(t, "%+.1f points", d); break;
    }
}

/* "raises decision conversion by at least +3.2 % (+0.16 points; 5.88 %
 * against 5.00 % for control)": the bound of the interval nearer 0, so the
 * claim holds at the test's confidence. */
static void add_effect(text *t, const ab_verdict_context *ctx, const ab_verdict_arm *a)
{
    char label[64];
    int up = a->status != AB_ARM_WORSE;
    double bound = up ? a->ci.lo : a->ci.hi;
    ab_metric_label(ctx->metric, ctx->phase, label, sizeof label);
    add(t, "%s %s", up ? "raises" : "lowers", label);
    int open = 0;
    if (isfinite(bound)) {
        /* A ratio of NPS scores means nothing: points only. */
        int relative = ctx->metric != AB_METRIC_NPS && isfinite(a->control) && a->control != 0.0;
        add(t, " by at least ");
        if (relative) {
            add(t, "%+.1f %% (", 100.0 * bound / fabs(a->control));
            open = 1;
        }
        add_diff(t, ctx->metric, bound);
    }
    if (isfinite(a->value) && isfinite(a->control)) {
        add(t, open ? "; " : " (");
        open = 1;
        add_value(t, ctx->metric, a->value);
        add(t, " against ");
        add_value(t, ctx->metric, a->control);
        add(t, " for %s", ctx->names[0]);
    }
    if (open) add(t, ")");
}

static size_t count_guards(const ab_verdict_arm *a, ab_guard_status s)
{
    size_t n = 0;
    for (size_t g = 0; g < a->nguards; g++) n += a->guards[g].status == s;
    return n;
}

/* "revenue per user (-1.20 per user) and NPS (-35.0 points)" */
static void add_guards(text *t, const ab_verdict_arm *a, ab_guard_status s, int with_diff)
{
    size_t n = count_guards(a, s), said = 0;
    for (size_t g = 0; g < a->nguards; g++) {
        const ab_guard_result *r = &a->guards[g];
        char label[64];
        if (r->status != s) continue;
        ab_metric_label(r->def.metric, r->def.phase, label, sizeof label);
        add(t, "%s%s", said == 0 ? "" : said + 1 == n ? " and " : ", ", label);
        if (with_diff && isfinite(r->diff)) {
            add(t, " (");
            add_diff(t, r->def.metric, r->diff);
            add(t, ")");
        }
        said++;
    }
}

/* "b, c and 3 more" of the variants with status s. */
static size_t add_names(text *t, const ab_verdict_context *ctx, const ab_verdict_arm *arms,
                        ab_arm_status s)
{
    size_t n = 0, said = 0;
    for (size_t i = 1; i < ctx->k; i++) n += arms[i].status == s;
    for (size_t i = 1; i < ctx->k && said < n; i++) {
        if (arms[i].status != s) continue;
        if (said == 3 && n > 4) {
            add(t, " and %zu more", n - 3);
            break;
        }
        add(t, "%s%s", said == 0 ? "" : said + 1 == n ? " and " : ", ", ctx->names[i]);
        said++;
    }
    return n;
}

static void reason_invalid(const ab_verdict_context *ctx, text *t)
{
    add(t, "The traffic split does not match the configured weights (sample-ratio mismatch, "
           "p = %.2g; users:", ctx->srm_p);
    for (size_t i = 0; i < ctx->k; i++)
        add(t, "%s %s %.0f", i ? "," : "", ctx->names[i],
            ctx->srm_observed ? ctx->srm_observed[i] : NAN);
    add(t, "), so no result can be trusted: fix the assignment and restart the experiment.");
}

static void add_progress(text *t, const ab_verdict_context *ctx)
{
    if (!isfinite(ctx->progress)) return;
    add(t, " (%.0f %% of the planned sample", 100.0 * ctx->progress);
    if (isfinite(ctx->days_remaining) && ctx->days_remaining > 0)
        add(t, ", about %.0f more days", ceil(ctx->days_remaining));
    add(t, ")");
}

static int too_early(const ab_verdict_context *ctx, text *t)
{
    if (ctx->min_days > 0 && ctx->days_running < ctx->min_days) {
        add(t, "Too early to call: the experiment has run %.1f of the minimum %.0f days.",
            ctx->days_running, ctx->min_days);
        return 1;
    }
    if (ctx->min_users > 0 && ctx->min_arm_users < ctx->min_users) {
        add(t, "Too early to call: every variant needs %.0f users and the smallest has %.0f.",
            ctx->min_users, ctx->min_arm_users);
        return 1;
    }
    return 0;
}

/* What was decided about a variant, as a clause. */
static void add_decided(text *t, const ab_verdict_context *ctx, const ab_verdict_arm *a,
                            size_t i)
{
    char label[64];
    ab_metric_label(ctx->metric, ctx->phase, label, sizeof label);
    add(t, "%s ", ctx->names[i]);
    switch (a->status) {
    case AB_ARM_WORSE:
        add_effect(t, ctx, a);
        break;
    case AB_ARM_NO_EFFECT:
        if (ctx->method == AB_METHOD_FIXED)
            add(t, "is not significantly different on %s at the planned sample "
                   "(adjusted p = %.2g)", label, a->p);
        else
            add(t, "changes %s by less than the planned minimum effect of %.0f %%", label,
                100.0 * ctx->mde);
        break;
    default:
        add_effect(t, ctx, a);
        if (count_guards(a, AB_GUARD_FAILING)) {
            add(t, " but harms ");
            add_guards(t, a, AB_GUARD_FAILING, 1);
        }
        break;
    }
}

static void reason_ship(const ab_verdict_context *ctx, const ab_verdict_arm *arms, size_t w,
                        text *t)
{
    const ab_verdict_arm *a = &arms[w];
    add(t, "Ship %s: it ", ctx->names[w]);
    add_effect(t, ctx, a);
    add(t, ", significant at adjusted %s p = %.2g",
        ctx->method == AB_METHOD_SEQUENTIAL ? "sequential" : "fixed-horizon", a->p);
    if (count_guards(a, AB_GUARD_UNCLEAR)) {
        add(t, "; no guardrail is failing, but ");
        add_guards(t, a, AB_GUARD_UNCLEAR, 0);
        add(t, " %s not clear yet.", count_guards(a, AB_GUARD_UNCLEAR) > 1 ? "are" : "is");
    } else if (a->nguards) {
        add(t, ", and it harms no guardrail (");
        add_guards(t, a, AB_GUARD_OK, 0);
        add(t, ").");
    } else {
        add(t, ".");
    }
}

static void reason_control(const ab_verdict_context *ctx, const ab_verdict_arm *arms,
                           text *t)
{
    int first = 1;
    add(t, "Keep %s: ", ctx->names[0]);
    for (size_t i = 1; i < ctx->k; i++) {
        if (!first) add(t, "; ");
        add_decided(t, ctx, &arms[i], i);
        first = 0;
    }
    add(t, ".");
}

static void reason_running(const ab_verdict_context *ctx, const ab_verdict_arm *arms,
                           int some_decided, text *t)
{
    if (too_early(ctx, t)) return;
    if (some_decided) {
        /* Decided variants first, then who is still undecided. */
        int first = 1;
        for (size_t i = 1; i < ctx->k; i++) {
            if (arms[i].status == AB_ARM_COLLECTING) continue;
            if (!first) add(t, "; ");
            add_decided(t, ctx, &arms[i], i);
            first = 0;
        }
        add(t, ", but ");
        size_t n = add_names(t, ctx, arms, AB_ARM_COLLECTING);
        add(t, " %s still undecided; keep running until every variant is decided",
            n > 1 ? "are" : "is");
        add_progress(t, ctx);
        add(t, ".");
        return;
    }
    if (isfinite(ctx->progress) && ctx->progress >= 1.0) {
        add(t, "No variant is decided yet although the planned sample is reached");
        add_progress(t, ctx);
        add(t, ": the effect is smaller than planned or not yet clear; keep running until "
               "it is significant or shown to be below the minimum effect.");
        return;
    }
    add(t, "No variant is decided yet");
    add_progress(t, ctx);
    add(t, "; keep collecting data.");
}

void ab_verdict_decide(const ab_verdict_context *ctx, const ab_verdict_arm *arms,
                       ab_verdict *out)
{
    text t;
    size_t winner = 0, undecided = 0;

    memset(out, 0, sizeof *out);
    t.buf = out->reason;
    t.len = sizeof out->reason;
    t.used = 0;
    if (ctx->srm_alert) {
        out->decision = AB_VERDICT_INVALID;
        reason_invalid(ctx, &t);
        return;
    }
    for (size_t i = 1; i < ctx->k; i++) {
        const ab_verdict_arm *a = &arms[i];
        if (a->status == AB_ARM_COLLECTING) undecided++;
        if (a->status != AB_ARM_BETTER) continue;
        if (count_guards(a, AB_GUARD_FAILING)) continue;
        if (!winner || a->ci.lo > arms[winner].ci.lo ||
            (isnan(arms[winner].ci.lo) && !isnan(a->ci.lo)))
            winner = i;
    }
    if (winner && !undecided) {
        out->decision = AB_VERDICT_SHIP;
        out->variant = winner;
        reason_ship(ctx, arms, winner, &t);
        return;
    }
    if (ctx->k > 1 && !undecided) {
        out->decision = AB_VERDICT_KEEP_CONTROL;
        reason_control(ctx, arms, &t);
        return;
    }
    out->decision = AB_VERDICT_KEEP_RUNNING;
    reason_running(ctx, arms, undecided < ctx->k - 1, &t);
}
