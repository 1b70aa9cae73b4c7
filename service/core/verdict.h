/* verdict.h — from one evaluation's figures to each variant's status, its
 * guardrails' statuses and the experiment's plain verdict (README "Statistics",
 * "Decision"). No state: evaluate.c keeps what lasts between evaluations. */
#ifndef ABSTAT_VERDICT_H
#define ABSTAT_VERDICT_H

#include <stddef.h>

#include "core/analysis.h"
#include "core/experiment.h"

typedef enum {
    AB_ARM_COLLECTING = 0,
    AB_ARM_BETTER,
    AB_ARM_WORSE,
    AB_ARM_NO_EFFECT
} ab_arm_status;

typedef enum {
    AB_VERDICT_KEEP_RUNNING = 0,
    AB_VERDICT_SHIP,
    AB_VERDICT_KEEP_CONTROL,
    AB_VERDICT_INVALID
} ab_verdict_kind;

typedef enum { AB_GUARD_OK = 0, AB_GUARD_UNCLEAR, AB_GUARD_FAILING } ab_guard_status;

const char *ab_arm_status_name(ab_arm_status s);
const char *ab_verdict_name(ab_verdict_kind v);
const char *ab_guard_status_name(ab_guard_status s);

/* Status under `sequential` of an arm not decided before: better/worse
 * when p_adjusted < alpha (the side of 0 its interval ci lies on; the
 * effect's sign when ci is undefined), no_effect when ci lies inside
 * (-delta, +delta), else collecting. Not ready: collecting. */
ab_arm_status ab_arm_judge_sequential(double alpha, double p_adjusted, ab_interval ci,
                                      double effect, double delta, int ready);

/* Status under `fixed` at the one evaluation that judges it: better/worse
 * when p_adjusted < alpha, else no_effect. */
ab_arm_status ab_arm_judge_fixed(double alpha, double p_adjusted, double effect);

/* One guardrail of one variant at one evaluation. */
typedef struct {
    ab_guardrail def;        /* metric, phase, margin */
    double control;          /* the control's value: rate, revenue per user or score */
    double diff;             /* variant minus control */
    ab_interval ci;          /* the interval judged */
    double threshold;        /* -margin * |control| */
    ab_guard_status status;
} ab_guard_result;

/* failing when ci lies wholly below threshold, ok when wholly above,
 * unclear otherwise (also when ci is undefined). */
ab_guard_status ab_guard_judge(ab_interval ci, double threshold);

/* "revenue per user", "NPS", "retention conversion". */
void ab_metric_label(ab_metric m, ab_phase phase, char *buf, size_t len);

/* What the verdict knows of one non-control variant. */
typedef struct {
    ab_arm_status status;
    ab_interval ci;          /* the interval its status rests on, effect scale */
    double value, control;   /* primary value of the variant and of the control */
    double p;                /* the adjusted p its status rests on */
    const ab_guard_result *guards; /* borrowed, nguards entries */
    size_t nguards;
} ab_verdict_arm;

/* The experiment's situation beyond its variants. */
typedef struct {
    const char *const *names;     /* k variant names, [0] the control */
    size_t k;
    ab_metric metric;
    ab_phase phase;
    ab_method method;
    double mde;
    int srm_alert;
    const double *srm_observed;   /* users per arm, k entries */
    double srm_p;                 /* the p the alert rests on */
    double progress;              /* NaN when unknown */
    double days_remaining;        /* NaN when unknown */
    double days_running;
    double min_days;              /* 0 when none */
    double min_users;             /* 0 when none */
    double min_arm_users;
} ab_verdict_context;

typedef struct {
    ab_verdict_kind decision;
    size_t variant;               /* winning arm when decision is SHIP */
    char reason[1024];
} ab_verdict;

/* The verdict over ctx->k arms; arms[0] (the control) is not read. Ship X
 * when X is better, none of its guardrails fails and every other variant
 * is decided; among several, the largest lower bound of ci wins.
 * keep_control when every variant is worse, no_effect or better only with
 * a failing guardrail; keep_running otherwise; invalid under an SRM alert. */
void ab_verdict_decide(const ab_verdict_context *ctx, const ab_verdict_arm *arms,
                       ab_verdict *out);

#endif
