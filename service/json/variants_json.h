/* variants_json.h — the "variants" block of README "Results and decision" as JSON. */
#ifndef ABSTAT_VARIANTS_JSON_H
#define ABSTAT_VARIANTS_JSON_H

#include <jansson.h>

#include "core/analysis.h"
#include "core/revenue_cap.h"
#include "core/verdict.h"

/* What the caller knows of an arm beyond its counts. */
typedef struct {
    const char *name;              /* borrowed */
    ab_arm_status status;
    const char *significant_since; /* borrowed RFC 3339 time, or NULL */
    /* The primary comparison's sequential figures at this evaluation alone
     * (its seq block then holds the running ones); NULL when the seq block
     * is already of this evaluation (stateless analysis). Borrowed. */
    const ab_seq_result *seq_now;
    const ab_guard_result *guards; /* borrowed, nguards entries */
    size_t nguards;
    /* revenue_cap's figures of every arm (README "Statistics", Revenue
     * capping) and this arm's index in them; NULL: no cap (borrowed). */
    const ab_capped_result *capped;
    size_t index;
} ab_arm_view;

/* New reference: [{"metric", "phase"?, "margin", "control", "diff", "ci",
 * "threshold", "status"}], or NULL. */
json_t *ab_guardrails_json(const ab_guard_result *g, size_t n);

/* New reference: the variants array, or NULL when out of memory. */
json_t *ab_variants_json(const ab_analysis_opts *opts, const ab_arm_counts *arms,
                         const ab_arm_result *res, const ab_arm_view *view, size_t k);

/* New reference: {"decision", "variant", "reason"}, or NULL. */
json_t *ab_verdict_json(const ab_verdict *v, const ab_arm_view *view);

#endif
