/* sample_size_json.h — GET /v1/sample-size and `abstat sample-size`: the
 * planning calculator of README "Calculators without state", from string parameters. */
#ifndef ABSTAT_SAMPLE_SIZE_JSON_H
#define ABSTAT_SAMPLE_SIZE_JSON_H

#include <jansson.h>

#include "abstat/stats.h"
#include "base/error.h"

typedef struct {
    double baseline, mde, alpha, power, daily_users;
    double variants;
    ab_correction correction;
    int has_baseline, has_mde, has_daily_users;
} ab_sample_size_req;

/* Defaults: alpha 0.05, power 0.8, 2 variants, holm. */
void ab_sample_size_req_init(ab_sample_size_req *rq);

/* Sets one parameter from its text ("0.05", "10%" for fractions, "5000").
 * Unknown keys and bad values: -1 with err set (400). */
int ab_sample_size_req_set(ab_sample_size_req *rq, const char *key, const char *value,
                           ab_error *err);

/* Parses a URL query string ("baseline=0.05&mde=0.1"). */
int ab_sample_size_req_query(ab_sample_size_req *rq, const char *query, ab_error *err);

/* New reference: {"per_variant", "total", "target", "days", "weeks", ...}
 * or NULL with err set (400 when baseline or mde is missing or the target
 * rate falls outside (0, 1)). */
json_t *ab_sample_size_answer(const ab_sample_size_req *rq, ab_error *err);

#endif
