/* experiment_render.c — experiment configs rendered as JSON (GET, the store, the `changes` history) and the request options taken out of a PUT body. */
#include "json/experiment_json.h"

#include <math.h>
#include <string.h>

#include "abstat/stats.h"
#include "base/timefmt.h"
#include "json/revenue_cap_json.h"

/* What GET shows beside the config: the daemon's state, never a setting. */
static const char *const readonly_keys[] = {
    "status", "created_at", "monitoring_since", "changes", "events", "users", NULL,
};

/* Whole numbers as JSON integers ("min_days": 7, not 7.0), the rest as reals;
 * either parses back to the same double. */
static json_t *number_json(double d)
{
    if (floor(d) == d && fabs(d) <= AB_MAX_COUNT) return json_integer((json_int_t)d);
    return json_real(d);
}

static int put(json_t *obj, const char *key, json_t *value)
{
    /* json_object_set_new frees value on failure and rejects NULL. */
    return json_object_set_new(obj, key, value);
}

/* New reference: the guardrails as PUT takes them, null for the default.
 * A conversion guardrail names its phase even when it was left out, so
 * that a later change of the experiment's phase does not move it. */
static json_t *guardrails_json(const ab_experiment_config *cfg)
{
    json_t *arr;
    if (cfg->guardrails_default) return json_null();
    if (!(arr = json_array())) return NULL;
    for (size_t i = 0; i < cfg->nguardrails && i < AB_MAX_GUARDRAILS; i++) {
        const ab_guardrail *g = &cfg->guardrails[i];
        json_t *o = json_object();
        if (json_array_append_new(arr, o) ||
            put(o, "metric", json_string(ab_metric_name(g->metric))) ||
            (g->metric == AB_METRIC_CONVERSION &&
             put(o, "phase", json_string(ab_phase_name(g->phase)))) ||
            put(o, "margin", number_json(g->margin))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *ab_experiment_factors_json(const ab_experiment_config *cfg)
{
    json_t *arr;
    if (!cfg->factorial || !cfg->factors) return json_null();
    if (!(arr = json_array())) return NULL;
    for (size_t f = 0; f < cfg->design.nfactors && f < AB_MAX_FACTORS; f++) {
        json_t *o = json_object(), *levels;
        /* Appended first, so that one decref of arr frees them on failure. */
        if (json_array_append_new(arr, o) || put(o, "name", json_string(cfg->factors[f].name)) ||
            put(o, "levels", json_array())) {
            json_decref(arr);
            return NULL;
        }
        levels = json_object_get(o, "levels");
        for (size_t l = 0; l < cfg->design.levels[f] && l < AB_MAX_ARMS; l++)
            if (json_array_append_new(levels, json_string(cfg->factors[f].levels[l]))) {
                json_decref(arr);
                return NULL;
            }
    }
    return arr;
}

json_t *ab_experiment_to_json(const ab_experiment_config *cfg)
{
    json_t *o, *variants, *weights;
    if (!cfg) return NULL;
    o = json_object();
    if (!o) return NULL;
    /* The arrays go into o as soon as they exist so that one decref of o
     * cleans up on every failure; they are filled in afterwards. */
    if (put(o, "description", json_string(cfg->description ? cfg->description : "")) ||
        put(o, "phase", json_string(ab_phase_name(cfg->phase))) ||
        put(o, "variants", json_array()) ||
        put(o, "factors", ab_experiment_factors_json(cfg)) ||
        put(o, "weights", json_array()) ||
        put(o, "metric", json_string(ab_metric_name(cfg->metric))) ||
        put(o, "alpha", json_real(cfg->alpha)) || put(o, "power", json_real(cfg->power)) ||
        put(o, "mde", json_real(cfg->mde)) ||
        put(o, "baseline", isnan(cfg->baseline) ? json_null() : json_real(cfg->baseline)) ||
        put(o, "method", json_string(ab_method_name(cfg->method))) ||
        put(o, "sequential_tuning", number_json(cfg->tuning)) ||
        put(o, "correction", json_string(ab_correction_name(cfg->correction))) ||
        put(o, "variance_reduction", json_string(ab_variance_reduction_name(cfg->cuped))) ||
        put(o, "min_days", number_json(cfg->min_days)) ||
        put(o, "min_users", number_json(cfg->min_users)) ||
        put(o, "guardrails", guardrails_json(cfg)) ||
        put(o, "prior", cfg->prior_sd > 0.0
                            ? json_pack("{s:o,s:o}", "mean", number_json(cfg->prior_mean),
                                        "sd", number_json(cfg->prior_sd))
                            : json_null()) ||
        put(o, "revenue_cap", ab_revenue_cap_json(&cfg->revenue_cap)) ||
        put(o, "webhook", cfg->webhook ? json_string(cfg->webhook) : json_null()))
        goto fail;
    variants = json_object_get(o, "variants");
    weights = json_object_get(o, "weights");
    for (size_t i = 0; i < cfg->k && i < AB_MAX_ARMS; i++) {
        if (json_array_append_new(variants, json_string(cfg->names[i])) ||
            json_array_append_new(weights, json_real(cfg->weights[i])))
            goto fail;
    }
    return o;

fail:
    json_decref(o);
    return NULL;
}

json_t *ab_experiment_change_entry(const ab_experiment_config *old,
                                   const ab_experiment_config *cur, int64_t at_ms)
{
    const char *fields[AB_DEFINITION_FIELDS];
    char at[40];
    size_t n;
    json_t *entry, *names, *was, *now, *jold, *jcur;

    if (!old || !cur) return NULL;
    n = ab_experiment_definition_diff(old, cur, fields);
    jold = ab_experiment_to_json(old);
    jcur = ab_experiment_to_json(cur);
    entry = json_object();
    ab_time_format_rfc3339(at_ms, at, sizeof at);
    /* The parts go into entry as soon as they exist so that one decref
     * frees them all; they are filled in afterwards. */
    if (!jold || !jcur || !entry || put(entry, "at", json_string(at)) ||
        put(entry, "fields", json_array()) || put(entry, "old", json_object()) ||
        put(entry, "new", json_object()) || put(entry, "restart_monitoring", json_true()))
        goto fail;
    names = json_object_get(entry, "fields");
    was = json_object_get(entry, "old");
    now = json_object_get(entry, "new");
    for (size_t i = 0; i < n; i++) {
        /* Values exactly as GET renders them: what a client compares with. */
        json_t *a = json_object_get(jold, fields[i]), *b = json_object_get(jcur, fields[i]);
        if (!a || !b || json_array_append_new(names, json_string(fields[i])) ||
            json_object_set(was, fields[i], a) || json_object_set(now, fields[i], b))
            goto fail;
    }
    json_decref(jold);
    json_decref(jcur);
    return entry;

fail:
    json_decref(entry);
    json_decref(jold);
    json_decref(jcur);
    return NULL;
}

int ab_experiment_take_restart(json_t *body, int *restart, ab_error *err)
{
    json_t *v = json_object_get(body, "restart_monitoring");
    *restart = 0;
    if (!v) return 0;
    if (!json_is_null(v) && !json_is_boolean(v))
        return ab_error_set(err, 400,
                            "restart_monitoring: must be true or false (true: apply a change "
                            "of the test definition and start monitoring again)");
    *restart = json_is_true(v);
    if (json_object_del(body, "restart_monitoring"))
        return ab_error_set(err, 500, "internal error: cannot take restart_monitoring");
    return 0;
}

int ab_experiment_take_readonly(json_t *body, int *stopped, ab_error *err)
{
    const json_t *st = json_object_get(body, "status");
    const char *v = json_string_value(st);

    *stopped = -1;
    if (st && !json_is_null(st)) {
        if (v && !strcmp(v, "running")) *stopped = 0;
        else if (v && !strcmp(v, "stopped")) *stopped = 1;
        else
            return ab_error_set(err, 400,
                                "status: read-only, \"running\" or \"stopped\" as GET shows "
                                "it (POST .../stop and .../start change it)");
    }
    /* The times and counts move on between a GET and the PUT (events keep
     * arriving): comparing them would make the round trip fail at random. */
    for (size_t i = 0; readonly_keys[i]; i++)
        if (json_object_get(body, readonly_keys[i]) && json_object_del(body, readonly_keys[i]))
            return ab_error_set(err, 500, "internal error: cannot take %s", readonly_keys[i]);
    return 0;
}
