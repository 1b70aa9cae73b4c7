/* revenue_cap_json.h — the experiment's "revenue_cap" (README
 * "Configuration" of an experiment; README "Statistics", Revenue capping)
 * read from and rendered to JSON. */
#ifndef ABSTAT_REVENUE_CAP_JSON_H
#define ABSTAT_REVENUE_CAP_JSON_H

#include <jansson.h>

#include "base/error.h"
#include "core/revenue_cap.h"

/* v (borrowed) absent or null: no cap. Else one of {"percentile": q},
 * {"percentile": q, "lower": q0}, {"max": M}, {"max": M, "min": m}, by the
 * rules of ab_revenue_cap_check; other keys or a mix of the two forms are
 * refused. 0 with *out set, or -1 with err (400) and *out untouched. */
int ab_revenue_cap_parse(const json_t *v, ab_revenue_cap *out, ab_error *err);

/* New reference: the form above, or null for no cap; NULL when out of
 * memory. */
json_t *ab_revenue_cap_json(const ab_revenue_cap *cap);

#endif
