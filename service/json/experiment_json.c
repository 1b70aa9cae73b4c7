/* experiment_json.c — a PUT body read into an experiment config: JSON types and shapes here, the rules in core/experiment.c. */
#include "json/experiment_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/webhook_url.h"
#include "core/defaults.h"
#include "json/jsonin.h"
#include "json/revenue_cap_json.h"

static const char *const body_keys[] = {
    "id", "description", "phase", "variants", "factors", "weights", "metric",
    "alpha", "power", "mde", "baseline", "method", "sequential_tuning",
    "correction", "min_days", "min_users", "guardrails", "webhook", "prior",
    "variance_reduction", "revenue_cap", NULL,
};
static const char *const prior_keys[] = {"mean", "sd", NULL};
static const char *const factor_keys[] = {"name", "levels", NULL};
static const char *const guardrail_keys[] = {"metric", "phase", "margin", NULL};

#define GUARDRAIL_FORM                                                                  \
    "{\"metric\": \"conversion\"|\"revenue\"|\"nps\", \"phase\": (conversion only), "        \
    "\"margin\": from 0 to below 1}"

static int oom(ab_error *err)
{
    return ab_error_set(err, 500, "out of memory");
}

static int same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* A name out of v (where names it in errors) into an owned copy *out. */
static int read_name(const json_t *v, const char *where, int no_slash, char **out,
                     ab_error *err)
{
    const char *s, *why;
    size_t len;
    if (!json_is_string(v)) return ab_error_set(err, 400, "%s: must be a string", where);
    s = json_string_value(v);
    len = json_string_length(v);
    if ((why = ab_experiment_name_problem(s, len, no_slash)))
        return ab_error_set(err, 400, "%s: %s", where, why);
    /* No NUL inside: the name rule refuses control characters. */
    if (!(*out = strndup(s, len))) return oom(err);
    return 0;
}

/* Index of the first of names[0..n) equal to s, or -1. */
static int find_name(char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return (int)i;
    return -1;
}

static int parse_variants(const json_t *arr, ab_experiment_config *cfg, ab_error *err)
{
    size_t n;
    if (!json_is_array(arr))
        return ab_error_set(err, 400, "variants: must be an array of 2 to %d names",
                            AB_MAX_ARMS);
    n = json_array_size(arr);
    if (n < 2 || n > AB_MAX_ARMS)
        return ab_error_set(err, 400, "variants: must list 2 to %d names, not %zu",
                            AB_MAX_ARMS, n);
    for (size_t i = 0; i < n; i++) {
        char where[32];
        snprintf(where, sizeof where, "variants[%zu]", i);
        if (read_name(json_array_get(arr, i), where, 1, &cfg->names[i], err)) return -1;
        cfg->k = i + 1;
        if (find_name(cfg->names, i, cfg->names[i]) >= 0)
            return ab_error_set(err, 400, "%s: duplicate name \"%s\"", where, cfg->names[i]);
    }
    return 0;
}

/* Factor f: its name and levels into cfg->factors[f] and cfg->design. */
static int parse_factor(const json_t *fo, size_t f, ab_experiment_config *cfg, ab_error *err)
{
    char where[32], lw[48];
    const json_t *name, *levels;
    ab_factor *fac = &cfg->factors[f];
    size_t n;

    snprintf(where, sizeof where, "factors[%zu]", f);
    if (!json_is_object(fo))
        return ab_error_set(err, 400, "%s: must be an object with \"name\" and \"levels\"",
                            where);
    if (ab_jin_known_keys(fo, factor_keys, where, err)) return -1;

    name = json_object_get(fo, "name");
    snprintf(lw, sizeof lw, "%s.name", where);
    if (!name || json_is_null(name)) return ab_error_set(err, 400, "%s: required", lw);
    if (read_name(name, lw, 0, &fac->name, err)) return -1;
    for (size_t g = 0; g < f; g++)
        if (!strcmp(cfg->factors[g].name, fac->name))
            return ab_error_set(err, 400, "%s: duplicate factor name \"%s\"", lw, fac->name);

    levels = json_object_get(fo, "levels");
    snprintf(lw, sizeof lw, "%s.levels", where);
    if (!levels || json_is_null(levels)) return ab_error_set(err, 400, "%s: required", lw);
    if (!json_is_array(levels) || json_array_size(levels) < 2)
        return ab_error_set(err, 400, "%s: must be an array of at least 2 level names", lw);
    n = json_array_size(levels);
    if (n > AB_MAX_ARMS)
        return ab_error_set(err, 400, "%s: at most %d levels, not %zu", lw, AB_MAX_ARMS, n);
    for (size_t l = 0; l < n; l++) {
        char ew[64];
        snprintf(ew, sizeof ew, "%s[%zu]", lw, l);
        if (read_name(json_array_get(levels, l), ew, 1, &fac->levels[l], err)) return -1;
        if (find_name(fac->levels, l, fac->levels[l]) >= 0)
            return ab_error_set(err, 400, "%s: duplicate level \"%s\"", ew, fac->levels[l]);
    }
    cfg->design.levels[f] = n;
    return 0;
}

static int parse_factors(const json_t *arr, ab_experiment_config *cfg, ab_error *err)
{
    size_t nf;
    if (!json_is_array(arr) || json_array_size(arr) < 1 ||
        json_array_size(arr) > AB_MAX_FACTORS)
        return ab_error_set(err, 400,
                            "factors: must be an array of 1 to %d factors "
                            "({\"name\": ..., \"levels\": [...]})",
                            AB_MAX_FACTORS);
    nf = json_array_size(arr);
    /* Owned by cfg from here on: ab_experiment_free frees it on every error. */
    if (!(cfg->factors = calloc(AB_MAX_FACTORS, sizeof *cfg->factors))) return oom(err);
    for (size_t f = 0; f < nf; f++)
        if (parse_factor(json_array_get(arr, f), f, cfg, err)) return -1;
    cfg->design.nfactors = nf;
    return ab_experiment_make_cells(cfg, err);
}

/* With factors, "variants" may still be given (ab_experiment_to_json lists
 * it, so a stored config parses back), but only as exactly the cells. */
static int check_cells_listed(const json_t *arr, const ab_experiment_config *cfg,
                              ab_error *err)
{
    if (!json_is_array(arr) || json_array_size(arr) != cfg->k)
        return ab_error_set(err, 400,
                            "variants: with factors, leave variants out or list the %zu "
                            "cells in order",
                            cfg->k);
    for (size_t i = 0; i < cfg->k; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) || !same_bytes(json_string_value(v), json_string_length(v),
                                              cfg->names[i], strlen(cfg->names[i])))
            return ab_error_set(err, 400,
                                "variants[%zu]: must be \"%.*s\", cell %zu of factors "
                                "(or leave variants out)",
                                i, ab_jin_quote_len(cfg->names[i], 160), cfg->names[i], i);
    }
    return 0;
}

static int parse_weights(const json_t *arr, ab_experiment_config *cfg, ab_error *err)
{
    double raw[AB_MAX_ARMS];
    if (!arr || json_is_null(arr)) return ab_experiment_set_weights(cfg, NULL, err);
    if (!json_is_array(arr) || json_array_size(arr) != cfg->k)
        return ab_error_set(err, 400,
                            "weights: must be an array of %zu positive numbers, one per variant",
                            cfg->k);
    for (size_t i = 0; i < cfg->k; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_number(v))
            return ab_error_set(err, 400, "weights[%zu]: must be a number", i);
        raw[i] = json_number_value(v);
    }
    return ab_experiment_set_weights(cfg, raw, err);
}

/* A present string field into a lowercase copy (buf, size bytes); -1 when
 * too long to be any of the names it may be, which callers report as unknown. */
static int lower_copy(const char *s, char *buf, size_t size)
{
    size_t len = strlen(s);
    if (len >= size) return -1;
    for (size_t i = 0; i <= len; i++)
        buf[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    return 0;
}

/* A number field, rounded by ab_jin_round15, then range-checked like ab_jin_number
 * (lo -HUGE_VAL, hi HUGE_VAL: any finite number, for a rule of core). */
static int read_number(const json_t *body, const char *key, double lo, double hi, int open,
                       double *out, int *present, ab_error *err)
{
    double d;
    int had;

    if (ab_jin_number(body, key, NULL, -HUGE_VAL, HUGE_VAL, 0, &d, &had, err)) return -1;
    if (present) *present = had;
    if (!had) return 0;
    d = ab_jin_round15(d);
    if (!isfinite(d) || (open ? !(d > lo && d < hi) : !(d >= lo && d <= hi)))
        return ab_error_set(err, 400, "%s: must be %s %g and %g", key,
                            open ? "strictly between" : "between", lo, hi);
    *out = d;
    return 0;
}

/* A string field that names one of a fixed set (borrowed *s, NULL when absent). */
static int read_word(const json_t *body, const char *key, const char **s, ab_error *err)
{
    *s = NULL;
    return ab_jin_string(body, key, NULL, s, NULL, err);
}

static int read_metric(const char *s, const char *where, ab_metric *m, ab_error *err)
{
    char low[32];
    if (lower_copy(s, low, sizeof low) || ab_metric_parse(low, m))
        return ab_error_set(err, 400, "%s%smetric: unknown metric \"%.*s\" (conversion, revenue or nps)",
                            where ? where : "", where ? "." : "", ab_jin_quote_len(s, 64), s);
    return 0;
}

static int read_phase(const char *s, const char *where, ab_phase *ph, ab_error *err)
{
    char text[sizeof err->text];
    if (ab_phase_parse(s, strlen(s), ph) == 0) return 0;
    return ab_error_set(err, 400, "%s", ab_phase_unknown(text, sizeof text, where, s, strlen(s)));
}

/* One guardrail object, appended to cfg's; needs the primary metric and
 * phase read already. */
static int parse_guardrail(const json_t *go, size_t i, ab_experiment_config *cfg,
                           ab_error *err)
{
    char where[32];
    const char *s = NULL;
    double margin = 0.0;
    int present;
    ab_guardrail g = {AB_METRIC_CONVERSION, cfg->phase, 0.0};

    snprintf(where, sizeof where, "guardrails[%zu]", i);
    if (!json_is_object(go))
        return ab_error_set(err, 400, "%s: must be an object " GUARDRAIL_FORM, where);
    if (ab_jin_known_keys(go, guardrail_keys, where, err)) {
        /* Say what is allowed: the text has room, its fields are short. */
        size_t n = strlen(err->text);
        snprintf(err->text + n, sizeof err->text - n, " (metric, phase and margin are allowed)");
        return -1;
    }

    if (ab_jin_string(go, "metric", where, &s, NULL, err)) return -1;
    if (!s)
        return ab_error_set(err, 400, "%s.metric: required (conversion, revenue or nps)", where);
    if (read_metric(s, where, &g.metric, err)) return -1;

    s = NULL;
    if (ab_jin_string(go, "phase", where, &s, &present, err)) return -1;
    if (present && g.metric != AB_METRIC_CONVERSION)
        return ab_error_set(err, 400,
                            "%s.phase: only a conversion guardrail has a phase (%s counts "
                            "every user); leave it out",
                            where, ab_metric_name(g.metric));
    /* Absent, a conversion guardrail watches the experiment's own phase. */
    if (s && read_phase(s, where, &g.phase, err)) return -1;
    /* Unused for revenue and NPS; one fixed value keeps equal configs equal. */
    if (g.metric != AB_METRIC_CONVERSION) g.phase = AB_PHASE_DECISION;

    if (ab_jin_number(go, "margin", where, -HUGE_VAL, HUGE_VAL, 0, &margin, &present, err))
        return -1;
    margin = ab_jin_round15(margin);
    if (present && ab_guardrail_check_margin(margin, where, err)) return -1;
    g.margin = present ? margin : 0.0;
    return ab_experiment_add_guardrail(cfg, &g, where, err);
}

/* null or absent: the default (every other metric with data, margin 0);
 * []: none; else a list of guardrail objects. */
static int parse_guardrails(const json_t *arr, ab_experiment_config *cfg, ab_error *err)
{
    size_t n;
    cfg->guardrails_default = !arr || json_is_null(arr);
    cfg->nguardrails = 0;
    if (cfg->guardrails_default) return 0;
    if (!json_is_array(arr))
        return ab_error_set(err, 400,
                            "guardrails: must be null (every other metric with data, margin "
                            "0), [] (none) or a list of up to %d " GUARDRAIL_FORM,
                            AB_MAX_GUARDRAILS);
    n = json_array_size(arr);
    if (n > AB_MAX_GUARDRAILS)
        return ab_error_set(err, 400, "guardrails: at most %d, not %zu", AB_MAX_GUARDRAILS, n);
    for (size_t i = 0; i < n; i++)
        if (parse_guardrail(json_array_get(arr, i), i, cfg, err)) return -1;
    return 0;
}

/* The variant list first: weights depend on k. */
static int parse_structure(const json_t *body, ab_experiment_config *cfg, ab_error *err)
{
    const json_t *variants = json_object_get(body, "variants");
    const json_t *factors = json_object_get(body, "factors");

    if (json_is_null(variants)) variants = NULL;
    if (json_is_null(factors)) factors = NULL;
    if (factors) {
        if (parse_factors(factors, cfg, err)) return -1;
        if (variants && check_cells_listed(variants, cfg, err)) return -1;
    } else if (variants) {
        if (parse_variants(variants, cfg, err)) return -1;
    } else {
        return ab_error_set(err, 400,
                            "variants: required (2 to %d variant names, the first the "
                            "control), or factors for a multivariate test",
                            AB_MAX_ARMS);
    }
    return parse_weights(json_object_get(body, "weights"), cfg, err);
}

/* metric, alpha, power, mde, baseline: what the test decides on. */
static int parse_test(const json_t *body, ab_experiment_config *cfg, ab_error *err)
{
    const char *s;
    int present;

    if (read_word(body, "metric", &s, err)) return -1;
    if (s && read_metric(s, NULL, &cfg->metric, err)) return -1;
    if (read_number(body, "alpha", -HUGE_VAL, HUGE_VAL, 0, &cfg->alpha, NULL, err) ||
        ab_alpha_check(cfg->alpha, AB_ALPHA_MAX_EXPERIMENT, NULL, err))
        return -1;
    if (read_number(body, "power", 0.0, 1.0, 1, &cfg->power, NULL, err)) return -1;
    if (read_number(body, "mde", -HUGE_VAL, HUGE_VAL, 0, &cfg->mde, NULL, err) ||
        ab_experiment_check_mde(cfg, err))
        return -1;
    if (read_number(body, "baseline", -HUGE_VAL, HUGE_VAL, 0, &cfg->baseline, &present, err))
        return -1;
    return present ? ab_experiment_check_baseline(cfg, err) : 0;
}

int ab_prior_parse(const json_t *p, double *mean, double *sd, ab_error *err)
{
    int had;
    *mean = *sd = 0.0;
    if (!p || json_is_null(p)) return 0;
    if (!json_is_object(p))
        return ab_error_set(err, 400, "prior: must be an object {\"mean\": m, \"sd\": s} or null");
    if (ab_jin_known_keys(p, prior_keys, "prior", err)) return -1;
    if (ab_jin_number(p, "mean", "prior", -AB_PRIOR_MAX, AB_PRIOR_MAX, 0, mean, NULL, err) ||
        ab_jin_number(p, "sd", "prior", 0.0, AB_PRIOR_MAX, 0, sd, &had, err))
        return -1;
    if (!had) return ab_error_set(err, 400, "prior.sd: required (the prior's standard "
                                            "deviation of the relative effect, e.g. 0.3)");
    if (!(*sd > 0.0)) return ab_error_set(err, 400, "prior.sd: must be greater than 0");
    *mean = ab_jin_round15(*mean);
    *sd = ab_jin_round15(*sd);
    return 0;
}

static int parse_fields(const json_t *body, ab_experiment_config *cfg, ab_error *err)
{
    const char *s;
    char low[32];

    if (parse_structure(body, cfg, err)) return -1;
    s = "";
    if (ab_jin_string(body, "description", NULL, &s, NULL, err)) return -1;
    if (strlen(s) > AB_DESCRIPTION_MAX)
        return ab_error_set(err, 400, "description: must be at most %d bytes", AB_DESCRIPTION_MAX);
    if (!(cfg->description = strdup(s))) return oom(err);

    if (read_word(body, "phase", &s, err)) return -1;
    if (s && read_phase(s, NULL, &cfg->phase, err)) return -1;
    if (parse_test(body, cfg, err)) return -1;

    if (read_word(body, "method", &s, err)) return -1;
    if (s && (lower_copy(s, low, sizeof low) || ab_method_parse(low, &cfg->method)))
        return ab_error_set(err, 400,
                            "method: unknown method \"%.*s\" (sequential or fixed)",
                            ab_jin_quote_len(s, 64), s);
    if (read_number(body, "sequential_tuning", -HUGE_VAL, HUGE_VAL, 0, &cfg->tuning, NULL,
                    err) ||
        ab_experiment_check_tuning(cfg, err))
        return -1;
    if (read_word(body, "correction", &s, err)) return -1;
    if (s && ab_correction_parse(s, &cfg->correction))
        return ab_error_set(err, 400,
                            "correction: unknown correction \"%.*s\" (holm, bonferroni, bh "
                            "or none)",
                            ab_jin_quote_len(s, 64), s);

    if (read_word(body, "variance_reduction", &s, err)) return -1;
    if (s && ab_variance_reduction_parse(s, &cfg->cuped))
        return ab_error_set(err, 400,
                            "variance_reduction: unknown \"%.*s\" (none or cuped)",
                            ab_jin_quote_len(s, 64), s);
    if (ab_experiment_check_variance_reduction(cfg, err)) return -1;

    if (parse_guardrails(json_object_get(body, "guardrails"), cfg, err)) return -1;
    if (ab_prior_parse(json_object_get(body, "prior"), &cfg->prior_mean, &cfg->prior_sd, err))
        return -1;
    if (ab_revenue_cap_parse(json_object_get(body, "revenue_cap"), &cfg->revenue_cap, err))
        return -1;
    if (read_number(body, "min_days", 0.0, AB_MIN_DAYS_MAX, 0, &cfg->min_days, NULL, err))
        return -1;
    if (ab_jin_count(body, "min_users", NULL, &cfg->min_users, NULL, err)) return -1;

    if (read_word(body, "webhook", &s, err)) return -1;
    if (s) {
        const char *why = ab_webhook_url_problem(s, strlen(s));
        if (why) return ab_error_set(err, 400, "webhook: %s", why);
        if (!(cfg->webhook = strdup(s))) return oom(err);
    }
    return 0;
}

int ab_experiment_parse(const char *id, const json_t *body, ab_experiment_config *out,
                        ab_error *err)
{
    const json_t *body_id;
    size_t idlen;

    if (!out) return ab_error_set(err, 500, "internal error: no config to fill");
    memset(out, 0, sizeof *out);
    idlen = id ? strlen(id) : 0;
    if (!ab_experiment_id_valid(id, idlen))
        return ab_error_set(err, 400,
                            "id: must match ^[a-z0-9][a-z0-9._-]{0,63}$ (lowercase letters, "
                            "digits, '.', '_', '-'; at most 64)");
    if (!json_is_object(body)) return ab_error_set(err, 400, "body: must be a JSON object");
    if (ab_jin_known_keys(body, body_keys, NULL, err)) return -1;

    /* "id" in the body is tolerated so that a fetched config can be PUT
     * back, but it must not contradict the path. */
    body_id = json_object_get(body, "id");
    if (body_id && !json_is_null(body_id) &&
        (!json_is_string(body_id) ||
         !same_bytes(json_string_value(body_id), json_string_length(body_id), id, idlen)))
        return ab_error_set(err, 400, "id: must be \"%s\" as in the path, or left out", id);

    ab_experiment_defaults(out, id);
    if (parse_fields(body, out, err)) {
        ab_experiment_free(out);
        return -1;
    }
    return 0;
}
