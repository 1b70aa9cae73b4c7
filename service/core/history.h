/* history.h — one experiment's counts over time: per UTC hour and variant
 * what the events of that hour added (by event ts), so that /history can
 * show the cumulative figures as they stood at the end of any hour or day. */
#ifndef ABSTAT_HISTORY_H
#define ABSTAT_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "core/analysis.h"

#define AB_HOUR_MS 3600000LL
#define AB_DAY_MS 86400000LL

/* floor(a / b) for b > 0: times before 1970 must not round towards zero
 * (the bucket of a ts is floor(ts / size) everywhere). */
static inline int64_t ab_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* What one variant gained in one hour; summed over hours it is the
 * variant's ab_arm_counts (revenue: the sum of values and of the changes
 * of the per-user squares, as state.c adds them). */
typedef struct {
    double users;
    double conversions[AB_PHASE_COUNT];
    double revenue_sum, revenue_sumsq;
    double promoters, passives, detractors;
} ab_history_cell;

/* One UTC day with data: 24 x k cells (hour-major), owned. */
typedef struct {
    int64_t day;              /* floor(ts / AB_DAY_MS) */
    ab_history_cell *cells;
} ab_history_day;

/* The days with data, sorted by day. Only days that saw an event hold a
 * block (an idle experiment holds nothing; an event in 2000 and one today
 * hold two blocks, not 26 years of them). Same thread rules as ab_counts. */
typedef struct {
    ab_history_day *days;     /* owned, cap entries */
    size_t n, cap;
    size_t hint;              /* index of the day last touched: most events hit it */
    int lost;                 /* an allocation failed: some event is missing from
                               * the history (the counts themselves are whole);
                               * a restart rebuilds it */
} ab_history;

void ab_history_init(ab_history *h);
/* Bytes of one day's block for k variants: what a day without a block
 * costs the memory account when an event of it is counted. */
size_t ab_history_day_bytes(size_t k);
/* 1 when day (floor(ts / AB_DAY_MS)) has its block already. */
int ab_history_has_day(const ab_history *h, int64_t day);
/* The cell of variant v (< k) at the hour of ts_ms, made on first use; NULL
 * when out of memory (then h->lost is set). The pointer is valid until the
 * next call that adds a day. */
ab_history_cell *ab_history_cell_at(ab_history *h, size_t k, int64_t ts_ms, size_t v);
/* Adds to acc[0..k) every cell of the hours [from_hour, to_hour) (hour
 * numbers: floor(ts / AB_HOUR_MS)). */
void ab_history_sum(const ab_history *h, size_t k, int64_t from_hour, int64_t to_hour,
                    ab_arm_counts *acc);
/* The last hour with data, or INT64_MIN when none. */
int64_t ab_history_last_hour(const ab_history *h, size_t k);
/* Heap bytes held. */
size_t ab_history_bytes(const ab_history *h, size_t k);
void ab_history_free(ab_history *h);

#endif
