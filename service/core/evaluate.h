/* evaluate.h — one evaluation of a live experiment: every statistic, the
 * ready-gated sequential evidence (running minimum of p, running
 * intersection of intervals), each variant's status and guardrails, the
 * anytime-valid sample-ratio check and the verdict. Results, decision and
 * the monitoring timer all go through it. */
#ifndef ABSTAT_EVALUATE_H
#define ABSTAT_EVALUATE_H

#include <stdint.h>

#include "core/journey.h"
#include "core/registry.h"
#include "core/revenue_cap.h"
#include "core/verdict.h"

/* Guardrails one variant can have: the configured ones, or by default
 * each metric other than the primary. */
#define AB_EVAL_GUARDS (AB_MAX_GUARDRAILS > 3 ? AB_MAX_GUARDRAILS : 3)
#define AB_EVAL_WARNINGS 8

typedef struct ab_evaluation {
    ab_analysis_opts opts;
    ab_arm_counts arms[AB_MAX_ARMS];
    /* res[i].primary.sequential_p / sequential_ci and the primary metric's
     * own seq block are the running (monitored) values; the values of this
     * evaluation alone are in seq_now. */
    ab_arm_result res[AB_MAX_ARMS];
    ab_seq_result seq_now[AB_MAX_ARMS];
    ab_arm_status status[AB_MAX_ARMS];
    int ready[AB_MAX_ARMS];   /* min_days and min_users met for arm and control */
    int monitored[AB_MAX_ARMS]; /* the running evidence has begun */
    ab_guard_result guards[AB_MAX_ARMS][AB_EVAL_GUARDS];
    size_t nguards;           /* the same guardrails for every arm */
    double users[AB_MAX_ARMS];
    ab_capped_result capped;  /* revenue_cap's figures (on: computed) */
    ab_journey_result journey; /* steps and NPS response (README "Statistics") */
    ab_chisq_result srm, omnibus;   /* srm: Pearson's chi-square, for reference */
    double srm_p;             /* anytime-valid SRM p: running minimum */
    double srm_p_now;         /* its value at this evaluation */
    int srm_alert;
    double days_running;
    double baseline;          /* of the plan; NaN when unknown */
    double delta;             /* futility margin: mde x |baseline| */
    double per_variant;       /* fixed-horizon users per variant; NaN when unknown */
    double sequential_per_variant; /* the sequential test's; NaN when unknown */
    int plan_frozen;          /* fixed: the plan was frozen at the first judgement */
    ab_progress progress;     /* towards the method's own sample size */
    int planned_reached;
    char warnings[AB_EVAL_WARNINGS][256];
    size_t nwarnings;
    ab_verdict verdict;
    /* Arms that became better/worse in this evaluation for the first time. */
    size_t newly[AB_MAX_ARMS];
    size_t nnewly;
} ab_evaluation;

/* Evaluates e at wall-clock time now_ms, updating e->mon and e->watch
 * (running minima and intervals, statuses, significant_since, the SRM
 * alert, a fixed test's frozen plan). On failure nothing of e changed.
 * Returns AB_OK or the failing status. */
ab_status ab_evaluate(ab_live *e, int64_t now_ms, ab_evaluation *out);

/* The anytime-valid SRM p below which the alert is raised. */
#define AB_SRM_ALERT_P 0.001

#endif
