/* history_series.h — the points of GET /history: the buckets (UTC hours or
 * days) from started_at on, each with the cumulative counts as they stood at
 * its end and the primary comparison computed by the same analysis as
 * /results (core/analysis.c) over those counts. */
#ifndef ABSTAT_HISTORY_SERIES_H
#define ABSTAT_HISTORY_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "core/experiment.h"
#include "core/state.h"

/* The most points one answer holds (README "History"): three years of days, a
 * quarter of hours. */
#define AB_HISTORY_MAX_DAYS 1096
#define AB_HISTORY_MAX_HOURS (24 * 92)

typedef struct {
    int hourly;          /* buckets of an hour, else of a UTC day */
    int64_t started_ms;  /* the experiment's started_at (first exposure), or
                          * INT64_MIN when it has none (then npoints is 0) */
    int64_t first_ms;    /* start of the first bucket */
    int64_t step_ms;
    size_t npoints;
} ab_history_span;

/* One bucket. Owned by the caller (large: heap it); ab_history_next fills
 * it from the previous one, so it is reused across the walk. */
typedef struct {
    int64_t t_ms, end_ms;           /* [t, end) */
    ab_arm_counts arms[AB_MAX_ARMS];/* cumulative up to end, k of them */
    ab_arm_result res[AB_MAX_ARMS]; /* ab_analysis_run over arms */
    int analysed;                   /* 0: the counts are not a valid table (a
                                     * conversion timestamped before its user's
                                     * exposure left more conversions than users
                                     * at that point): every comparison is null */
    int revenue, nps;               /* some revenue value / NPS answer so far */
    double revenue_per_user[AB_MAX_ARMS]; /* NaN while !revenue or without users */
    double nps_score[AB_MAX_ARMS];  /* NaN without answers */
    ab_analysis_opts opts;
} ab_history_point;

/* The buckets from started_at's to the one holding max(now, the last
 * data). 0, or -1 with err 400 when they would be more than the interval's
 * limit. */
int ab_history_plan(const ab_counts *s, int hourly, int64_t now_ms, ab_history_span *out,
                    ab_error *err);
/* Point i of the walk: call with i = 0, 1, ... npoints - 1 in order on the
 * same p (cumulative sums carry over). */
void ab_history_next(const ab_experiment_config *c, const ab_counts *s,
                     const ab_history_span *sp, size_t i, ab_history_point *p);

#endif
