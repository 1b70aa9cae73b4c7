/* verdict.h — from adjusted p-values to each variant's status and the
 * experiment's plain verdict (SPEC section 6, "Decision"). */
#ifndef ABSTAT_VERDICT_H
#define ABSTAT_VERDICT_H

#include <stddef.h>

#include "analysis.h"

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

const char *ab_arm_status_name(ab_arm_status s);
const char *ab_verdict_name(ab_verdict_kind v);

/* Status of one non-control arm. `ready` says min_days, min_users and, under
 * fixed, the planned sample size are reached. `previous` is the stored status:
 * under sequential a better/worse arm stays so. */
ab_arm_status ab_arm_judge(ab_method method, double alpha, double p_adjusted,
                           double effect, int ready, ab_arm_status previous);

/* What the verdict's reason may mention about progress. */
typedef struct {
    int srm_alert;
    const double *srm_observed;   /* users per arm, k entries */
    double srm_p;
    double progress;              /* NaN when unknown */
    double days_remaining;        /* NaN when unknown */
    double days_running;          /* NaN when unknown */
    double min_days;              /* 0 when none */
    double min_users;             /* 0 when none */
    double min_arm_users;
    int planned_reached;          /* every arm has the planned sample size */
} ab_verdict_context;

typedef struct {
    ab_verdict_kind decision;
    size_t variant;               /* winning arm when decision is SHIP */
    char reason[512];
} ab_verdict;

/* The verdict over k arms (arm 0 the control) with their statuses and
 * primary figures. names[i] label the arms in the reason. */
void ab_verdict_decide(const ab_analysis_opts *opts, const char *const *names,
                       const ab_arm_status *status, const ab_arm_result *res,
                       size_t k, const ab_verdict_context *ctx, ab_verdict *out);

#endif
