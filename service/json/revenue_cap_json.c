/* revenue_cap_json.c — reads and renders an experiment's "revenue_cap":
 * either a percentile form or an absolute form, never both. */
#include "json/revenue_cap_json.h"

#include <math.h>

#include "core/defaults.h"
#include "json/jsonin.h"

static const char *const cap_keys[] = {"percentile", "lower", "max", "min", NULL};

/* A number of the cap, rounded as every config number is; *present
 * whether it was given (null is not). */
static int read_cap_number(const json_t *v, const char *key, double *out, int *present,
                           ab_error *err)
{
    double d = NAN;
    if (ab_jin_number(v, key, "revenue_cap", -AB_LARGE_MAX, AB_LARGE_MAX, 0, &d, present, err))
        return -1;
    *out = *present ? ab_jin_round15(d) : NAN;
    return 0;
}

int ab_revenue_cap_parse(const json_t *v, ab_revenue_cap *out, ab_error *err)
{
    ab_revenue_cap c = {AB_CAP_NONE, NAN, NAN};
    double pct, lower, max, min;
    int has_pct, has_lower, has_max, has_min;

    if (!v || json_is_null(v)) {
        *out = c;
        return 0;
    }
    if (!json_is_object(v))
        return ab_error_set(err, 400, "revenue_cap: must be an object ({\"percentile\": 0.99}, "
                                      "{\"max\": 500}) or null");
    if (ab_jin_known_keys(v, cap_keys, "revenue_cap", err) ||
        read_cap_number(v, "percentile", &pct, &has_pct, err) ||
        read_cap_number(v, "lower", &lower, &has_lower, err) ||
        read_cap_number(v, "max", &max, &has_max, err) ||
        read_cap_number(v, "min", &min, &has_min, err))
        return -1;
    if (has_pct && (has_max || has_min))
        return ab_error_set(err, 400, "revenue_cap: give either \"percentile\" (with "
                                      "\"lower\") or \"max\" (with \"min\"), not both");
    if (has_max && has_lower)
        return ab_error_set(err, 400, "revenue_cap.lower: goes with \"percentile\"; with "
                                      "\"max\" the lower cap is \"min\"");
    if (!has_pct && !has_max)
        return ab_error_set(err, 400, has_lower || has_min
                                          ? "revenue_cap: a lower cap needs an upper one "
                                            "(\"percentile\" or \"max\")"
                                          : "revenue_cap: needs \"percentile\" (e.g. 0.99) "
                                            "or \"max\" (e.g. 500)");
    if (has_pct) {
        c.kind = AB_CAP_PERCENTILE;
        c.upper = pct;
        c.lower = has_lower ? lower : NAN;
    } else {
        c.kind = AB_CAP_ABSOLUTE;
        c.upper = max;
        c.lower = has_min ? min : NAN;
    }
    if (ab_revenue_cap_check(&c, err)) return -1;
    *out = c;
    return 0;
}

json_t *ab_revenue_cap_json(const ab_revenue_cap *cap)
{
    int pct = cap->kind == AB_CAP_PERCENTILE;
    json_t *o;
    if (cap->kind == AB_CAP_NONE) return json_null();
    if (!(o = json_object())) return NULL;
    if (json_object_set_new(o, pct ? "percentile" : "max", json_real(cap->upper)) ||
        (!isnan(cap->lower) &&
         json_object_set_new(o, pct ? "lower" : "min", json_real(cap->lower)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}
