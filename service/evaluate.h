/* evaluate.h — one evaluation of a live experiment: every statistic, the
 * running minimum of the sequential p, each variant's status and the
 * verdict. Results, decision and the monitoring timer all go through it. */
#ifndef ABSTAT_EVALUATE_H
#define ABSTAT_EVALUATE_H

#include <stdint.h>

#include "registry.h"
#include "verdict.h"

typedef struct ab_evaluation {
    ab_analysis_opts opts;
    ab_arm_counts arms[AB_MAX_ARMS];
    ab_arm_result res[AB_MAX_ARMS];
    ab_arm_status status[AB_MAX_ARMS];
    double users[AB_MAX_ARMS];
    ab_chisq_result srm, omnibus;
    int srm_alert;
    double days_running;
    double baseline;          /* used for the sample size; NaN when unknown */
    double per_variant;       /* planned users per variant; NaN when unknown */
    ab_progress progress;
    int planned_reached;
    int ready;                /* min_days and min_users met */
    ab_verdict verdict;
    /* Arms that became better/worse in this evaluation for the first time. */
    size_t newly[AB_MAX_ARMS];
    size_t nnewly;
} ab_evaluation;

/* Evaluates e at wall-clock time now_ms, updating e->mon (running minimum,
 * status, significant_since). Returns AB_OK or the failing status. */
ab_status ab_evaluate(ab_live *e, int64_t now_ms, ab_evaluation *out);

#endif
