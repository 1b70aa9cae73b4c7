/* sample_size_json.h — GET /v1/sample-size and `abstat sample-size`: the
 * planning calculator of README "Calculators without state", from string parameters. */
#ifndef ABSTAT_SAMPLE_SIZE_JSON_H
#define ABSTAT_SAMPLE_SIZE_JSON_H

#include <jansson.h>

#include "abstat/stats.h"
#include "base/error.h"
#include "core/analysis.h"

typedef struct {
    ab_metric metric;          /* conversion (the default), revenue or nps */
    double baseline, mde, alpha, power, daily_users;
    double sd;                 /* revenue: the sd of revenue per user */
    double promoters, detractors; /* nps: the planned shares of answers */
    double tuning;             /* sequential_tuning */
    double variants;
    ab_correction correction;
    int has_baseline, has_mde, has_daily_users, has_sd, has_promoters, has_detractors;
    int mde_percent;           /* mde was written with %: not NPS points */
} ab_sample_size_req;

/* Defaults: metric conversion, alpha 0.05, power 0.8, 2 variants, holm,
 * sequential_tuning 5000 (core/defaults.h). */
void ab_sample_size_req_init(ab_sample_size_req *rq);

/* Sets one parameter from its text ("0.05", "10%" for fractions, "5000").
 * Unknown keys and bad values: -1 with err set (400). Rules that depend on
 * the metric (a conversion baseline below 1, NPS mde in points) are checked
 * by ab_sample_size_answer, as the metric may come last in a query. */
int ab_sample_size_req_set(ab_sample_size_req *rq, const char *key, const char *value,
                           ab_error *err);

/* Parses a URL query string ("baseline=0.05&mde=0.1"). */
int ab_sample_size_req_query(ab_sample_size_req *rq, const char *query, ab_error *err);

/* New reference: {"metric", "per_variant", "sequential_per_variant",
 * "total", "target", "days", "weeks", ...} or NULL with err set (400 when a
 * parameter the metric needs is missing, one it does not take is given, or
 * the plan has no answer, e.g. a target rate outside (0, 1)). */
json_t *ab_sample_size_answer(const ab_sample_size_req *rq, ab_error *err);

#endif
