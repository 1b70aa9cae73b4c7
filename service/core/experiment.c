/* experiment.c — experiment configs (SPEC 3): PUT body validation with
 * defaults, JSON rendering, structure checks and the test definition (what
 * a change must restart monitoring for). */
#include "core/experiment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/event.h"
#include "json/jsonin.h"
#include "base/webhook_url.h"

#define DESCRIPTION_MAX 1024
#define MIN_DAYS_MAX 3650.0 /* ten years: anything longer is a typo */
#define ALPHA_MAX 0.5       /* beyond this a "significant" result means nothing */
#define WEIGHT_TOL 1e-12
#define EXACT_MAX 9007199254740992.0 /* 2^53 */
/* Largest mde, revenue baseline and sequential_tuning: far beyond any real
 * setting, and small enough that every rendering parses back. Unbounded,
 * 1.7976931348623157e308 was stored, but GET shows 15 digits,
 * 1.79769313486232e+308, which overflows: the config could not be PUT back.
 * The same bound as /v1/analyze's sequential_tuning. */
#define LARGE_MAX 1e15

static const char *const body_keys[] = {
    "id", "description", "phase", "variants", "factors", "weights", "metric",
    "alpha", "power", "mde", "baseline", "method", "sequential_tuning",
    "correction", "min_days", "min_users", "guardrails", "webhook", NULL,
};
static const char *const factor_keys[] = {"name", "levels", NULL};
/* What GET shows beside the config: the daemon's state, never a setting. */
static const char *const readonly_keys[] = {
    "status", "created_at", "monitoring_since", "changes", "events", "users", NULL,
};
static const char *const guardrail_keys[] = {"metric", "phase", "margin", NULL};

int ab_experiment_id_valid(const char *id, size_t len)
{
    if (!id || len < 1 || len > AB_ID_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 (i > 0 && (c == '.' || c == '_' || c == '-'));
        if (!ok) return 0;
    }
    return 1;
}

static int oom(ab_error *err)
{
    return ab_error_set(err, 500, "out of memory");
}

static char *dup_bytes(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (!p) return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Why a name cannot be used, or NULL. Names end up in URLs, logs and CSV
 * headers, so control characters (C0, DEL and UTF-8-encoded C1) are out;
 * '/' is reserved for joining factor levels into cell names. */
static const char *name_problem(const char *s, size_t len, int no_slash)
{
    if (len == 0) return "must not be empty";
    if (len > AB_VARIANT_NAME_MAX) return "must be at most 64 bytes";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) return "must not contain control characters";
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9f)
            return "must not contain control characters";
        if (no_slash && c == '/') return "must not contain '/'";
    }
    return NULL;
}

/* Reads a name out of v; where names it in errors. *s is borrowed. */
static int read_name(const json_t *v, const char *where, int no_slash, const char **s,
                     size_t *len, ab_error *err)
{
    const char *why;
    if (!json_is_string(v)) return ab_error_set(err, 400, "%s: must be a string", where);
    *s = json_string_value(v);
    *len = json_string_length(v);
    why = name_problem(*s, *len, no_slash);
    if (why) return ab_error_set(err, 400, "%s: %s", where, why);
    return 0;
}

static int same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
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
        const char *s;
        size_t len;
        snprintf(where, sizeof where, "variants[%zu]", i);
        if (read_name(json_array_get(arr, i), where, 1, &s, &len, err)) return -1;
        for (size_t j = 0; j < i; j++)
            if (same_bytes(cfg->names[j], strlen(cfg->names[j]), s, len))
                return ab_error_set(err, 400, "%s: duplicate name \"%s\"", where, s);
        cfg->names[i] = dup_bytes(s, len);
        if (!cfg->names[i]) return oom(err);
        cfg->k = i + 1;
    }
    return 0;
}

/* Validates one factor object and appends its canonical form to canon. */
static int parse_factor(const json_t *fo, size_t f, const char **names_seen,
                        json_t *canon, const json_t **levels_out, const char **name_out,
                        ab_error *err)
{
    char where[32], lw[48];
    const json_t *name, *levels;
    const char *s;
    size_t len, n;
    json_t *obj;

    snprintf(where, sizeof where, "factors[%zu]", f);
    if (!json_is_object(fo))
        return ab_error_set(err, 400, "%s: must be an object with \"name\" and \"levels\"",
                            where);
    if (ab_jin_known_keys(fo, factor_keys, where, err)) return -1;

    name = json_object_get(fo, "name");
    snprintf(lw, sizeof lw, "%s.name", where);
    if (!name || json_is_null(name)) return ab_error_set(err, 400, "%s: required", lw);
    if (read_name(name, lw, 0, &s, &len, err)) return -1;
    for (size_t g = 0; g < f; g++)
        if (same_bytes(names_seen[g], strlen(names_seen[g]), s, len))
            return ab_error_set(err, 400, "%s: duplicate factor name \"%s\"", lw, s);
    *name_out = s;

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
        if (read_name(json_array_get(levels, l), ew, 1, &s, &len, err)) return -1;
        for (size_t m = 0; m < l; m++) {
            const json_t *o = json_array_get(levels, m);
            if (same_bytes(json_string_value(o), json_string_length(o), s, len))
                return ab_error_set(err, 400, "%s: duplicate level \"%s\"", ew, s);
        }
    }
    *levels_out = levels;

    /* A fresh object rather than a copy of the body's keeps the stored form
     * canonical, whatever key order or spacing the client used. */
    obj = json_object();
    if (!obj) return oom(err);
    if (json_object_set_new(obj, "name", json_stringn(*name_out, json_string_length(name))) ||
        json_object_set_new(obj, "levels", json_deep_copy(levels))) {
        json_decref(obj);
        return oom(err);
    }
    if (json_array_append_new(canon, obj)) return oom(err);
    return 0;
}

/* Factors give the variants: every combination of levels, first factor
 * varying slowest, so that cell c matches ab_design's row-major order. */
static int parse_factors(const json_t *arr, ab_experiment_config *cfg, ab_error *err)
{
    const json_t *levels[AB_MAX_FACTORS];
    const char *names[AB_MAX_FACTORS];
    size_t nf, cells;
    json_t *canon;

    if (!json_is_array(arr) || json_array_size(arr) < 1 ||
        json_array_size(arr) > AB_MAX_FACTORS)
        return ab_error_set(err, 400,
                            "factors: must be an array of 1 to %d factors "
                            "({\"name\": ..., \"levels\": [...]})",
                            AB_MAX_FACTORS);
    nf = json_array_size(arr);
    canon = json_array();
    if (!canon) return oom(err);
    /* Owned by cfg from here on, so every error path below frees it. */
    cfg->factors = canon;
    for (size_t f = 0; f < nf; f++) {
        if (parse_factor(json_array_get(arr, f), f, names, canon, &levels[f],
                         &names[f], err))
            return -1;
        cfg->design.levels[f] = json_array_size(levels[f]);
    }
    cfg->design.nfactors = nf;
    cells = ab_design_cells(&cfg->design);
    if (cells == 0) {
        /* Every factor is valid by now, so only the cap can have failed. */
        unsigned long long product = 1;
        for (size_t f = 0; f < nf; f++) product *= cfg->design.levels[f];
        return ab_error_set(err, 400,
                            "factors: the levels make %llu cells; at most %d are allowed",
                            product, AB_MAX_ARMS);
    }
    for (size_t c = 0; c < cells; c++) {
        char buf[AB_VARIANT_CELL_MAX + 1];
        size_t pos = 0, stride = cells;
        for (size_t f = 0; f < nf; f++) {
            const json_t *lv;
            size_t len;
            stride /= cfg->design.levels[f];
            lv = json_array_get(levels[f], (c / stride) % cfg->design.levels[f]);
            len = json_string_length(lv);
            if (f > 0) buf[pos++] = '/';
            memcpy(buf + pos, json_string_value(lv), len);
            pos += len;
        }
        cfg->names[c] = dup_bytes(buf, pos);
        if (!cfg->names[c]) return oom(err);
        cfg->k = c + 1;
    }
    cfg->factorial = 1;
    return 0;
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
    double raw[AB_MAX_ARMS], max = 0.0, sum = 0.0;
    if (!arr || json_is_null(arr)) {
        for (size_t i = 0; i < cfg->k; i++) cfg->weights[i] = 1.0 / (double)cfg->k;
        return 0;
    }
    if (!json_is_array(arr) || json_array_size(arr) != cfg->k)
        return ab_error_set(err, 400,
                            "weights: must be an array of %zu positive numbers, one per variant",
                            cfg->k);
    for (size_t i = 0; i < cfg->k; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_number(v))
            return ab_error_set(err, 400, "weights[%zu]: must be a number", i);
        raw[i] = json_number_value(v);
        if (!(raw[i] > 0.0) || !isfinite(raw[i]))
            return ab_error_set(err, 400, "weights[%zu]: must be a positive finite number", i);
        if (raw[i] > max) max = raw[i];
    }
    /* Dividing by the plain sum keeps simple splits exact ([1, 3] gives 0.25
     * and 0.75); only when that sum overflows are the weights scaled by the
     * largest first. */
    for (size_t i = 0; i < cfg->k; i++) sum += raw[i];
    if (!isfinite(sum)) {
        sum = 0.0;
        for (size_t i = 0; i < cfg->k; i++) sum += (raw[i] /= max);
    }
    for (size_t i = 0; i < cfg->k; i++) {
        cfg->weights[i] = raw[i] / sum;
        if (!(cfg->weights[i] > 0.0))
            return ab_error_set(err, 400, "weights[%zu]: too small next to the others", i);
    }
    return 0;
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

/* Every number of a config is kept to the 15 significant digits that GET
 * answers show (http.c renders JSON_REAL_PRECISION(15)). A client may PUT
 * back what it fetched; unrounded, a value next to a bound did not survive
 * that (power 0.99999999999999989 was accepted, GET showed 1.0 and the PUT
 * failed). Digits beyond the 15th mean nothing to anyone setting up a test. */
static double round15(double d)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", d);
    return strtod(buf, NULL);
}

/* A number field, rounded by round15, then range-checked like ab_jin_number. */
static int read_number(const json_t *body, const char *key, double lo, double hi, int open,
                       double *out, int *present, ab_error *err)
{
    double d;
    int had;

    if (ab_jin_number(body, key, NULL, -HUGE_VAL, HUGE_VAL, 0, &d, &had, err)) return -1;
    if (present) *present = had;
    if (!had) return 0;
    d = round15(d);
    if (!isfinite(d) || (open ? !(d > lo && d < hi) : !(d >= lo && d <= hi)))
        return ab_error_set(err, 400, "%s: must be %s %g and %g", key,
                            open ? "strictly between" : "between", lo, hi);
    *out = d;
    return 0;
}

/* Reads a string field that names one of a fixed set (borrowed *s, NULL
 * when absent). */
static int read_word(const json_t *body, const char *key, const char **s, ab_error *err)
{
    *s = NULL;
    return ab_jin_string(body, key, NULL, s, NULL, err);
}

#define GUARDRAIL_FORM                                                                  \
    "{\"metric\": \"conversion\"|\"revenue\"|\"nps\", \"phase\": (conversion only), "        \
    "\"margin\": from 0 to below 1}"

static int same_guardrail(const ab_guardrail *a, const ab_guardrail *b)
{
    /* Revenue and NPS count every user: only conversion has a phase. */
    return a->metric == b->metric && (a->metric != AB_METRIC_CONVERSION || a->phase == b->phase);
}

/* "revenue", or "conversion at decision", for errors. */
static void guardrail_label(ab_metric m, ab_phase ph, char *buf, size_t size)
{
    if (m == AB_METRIC_CONVERSION)
        snprintf(buf, size, "conversion at %s", ab_phase_name(ph));
    else
        snprintf(buf, size, "%s", ab_metric_name(m));
}

/* One guardrail object into cfg->guardrails[i]; needs the primary metric
 * and phase parsed already. */
static int parse_guardrail(const json_t *go, size_t i, ab_experiment_config *cfg,
                           ab_error *err)
{
    char where[32], label[64];
    const char *s = NULL;
    char low[32];
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
    if (lower_copy(s, low, sizeof low) || ab_metric_parse(low, &g.metric))
        return ab_error_set(err, 400,
                            "%s.metric: unknown metric \"%.*s\" (conversion, revenue or nps)",
                            where, ab_jin_quote_len(s, 64), s);

    s = NULL;
    if (ab_jin_string(go, "phase", where, &s, &present, err)) return -1;
    if (present && g.metric != AB_METRIC_CONVERSION)
        return ab_error_set(err, 400,
                            "%s.phase: only a conversion guardrail has a phase (%s counts "
                            "every user); leave it out",
                            where, ab_metric_name(g.metric));
    /* Absent, a conversion guardrail watches the experiment's own phase. */
    if (s && ab_phase_parse(s, strlen(s), &g.phase)) {
        char text[sizeof err->text];
        return ab_error_set(err, 400, "%s",
                            ab_phase_unknown(text, sizeof text, where, s, strlen(s)));
    }
    /* Unused for revenue and NPS; one fixed value keeps equal configs equal. */
    if (g.metric != AB_METRIC_CONVERSION) g.phase = AB_PHASE_DECISION;

    if (ab_jin_number(go, "margin", where, -HUGE_VAL, HUGE_VAL, 0, &margin, &present, err))
        return -1;
    margin = round15(margin);
    if (present && !(margin >= 0.0 && margin < 1.0))
        return ab_error_set(err, 400,
                            "%s.margin: must be from 0 to below 1, relative to the control "
                            "(0.02: the variant may be 2 %% worse)",
                            where);
    g.margin = present ? margin : 0.0;

    guardrail_label(g.metric, g.phase, label, sizeof label);
    {
        ab_guardrail primary = {cfg->metric, cfg->phase, 0.0};
        if (same_guardrail(&g, &primary))
            return ab_error_set(err, 400,
                                "%s: the primary metric cannot be its own guardrail (%s is "
                                "the experiment's metric)",
                                where, label);
    }
    for (size_t j = 0; j < i; j++)
        if (same_guardrail(&g, &cfg->guardrails[j]))
            return ab_error_set(err, 400, "%s: duplicate guardrail (%s is guardrails[%zu])",
                                where, label, j);
    cfg->guardrails[i] = g;
    cfg->nguardrails = i + 1;
    return 0;
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

static int parse_fields(const json_t *body, ab_experiment_config *cfg, ab_error *err)
{
    const json_t *variants = json_object_get(body, "variants");
    const json_t *factors = json_object_get(body, "factors");
    const char *s;
    char low[32];
    int present;

    if (json_is_null(variants)) variants = NULL;
    if (json_is_null(factors)) factors = NULL;

    /* The variant list first: weights depend on k. */
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
    if (parse_weights(json_object_get(body, "weights"), cfg, err)) return -1;

    s = "";
    if (ab_jin_string(body, "description", NULL, &s, NULL, err)) return -1;
    if (strlen(s) > DESCRIPTION_MAX)
        return ab_error_set(err, 400, "description: must be at most %d bytes", DESCRIPTION_MAX);
    cfg->description = dup_bytes(s, strlen(s));
    if (!cfg->description) return oom(err);

    if (read_word(body, "phase", &s, err)) return -1;
    if (s && ab_phase_parse(s, strlen(s), &cfg->phase)) {
        char text[sizeof err->text];
        return ab_error_set(err, 400, "%s",
                            ab_phase_unknown(text, sizeof text, NULL, s, strlen(s)));
    }

    if (read_word(body, "metric", &s, err)) return -1;
    if (s && (lower_copy(s, low, sizeof low) || ab_metric_parse(low, &cfg->metric)))
        return ab_error_set(err, 400,
                            "metric: unknown metric \"%.*s\" (conversion, revenue or nps)",
                            ab_jin_quote_len(s, 64), s);

    if (read_number(body, "alpha", -HUGE_VAL, HUGE_VAL, 0, &cfg->alpha, NULL, err))
        return -1;
    if (!(cfg->alpha > 0.0 && cfg->alpha <= ALPHA_MAX))
        return ab_error_set(err, 400, "alpha: must be greater than 0 and at most %g", ALPHA_MAX);
    if (read_number(body, "power", 0.0, 1.0, 1, &cfg->power, NULL, err)) return -1;

    if (read_number(body, "mde", -HUGE_VAL, HUGE_VAL, 0, &cfg->mde, NULL, err))
        return -1;
    if (cfg->mde == 0.0 || cfg->mde <= -1.0 || cfg->mde > LARGE_MAX)
        return ab_error_set(err, 400,
                            "mde: must be non-zero, greater than -1 and at most %g (relative: "
                            "0.10 = +10 %%)",
                            LARGE_MAX);

    if (read_number(body, "baseline", -HUGE_VAL, HUGE_VAL, 0, &cfg->baseline, &present,
                    err))
        return -1;
    if (present) {
        /* What a baseline can be depends on what it is the baseline of. */
        double b = cfg->baseline, target;
        switch (cfg->metric) {
        case AB_METRIC_CONVERSION:
            if (!(b > 0.0 && b < 1.0))
                return ab_error_set(err, 400,
                                    "baseline: must be a conversion rate strictly between 0 and 1");
            target = b * (1.0 + cfg->mde);
            if (!(target > 0.0 && target < 1.0))
                return ab_error_set(err, 400,
                                    "mde: baseline x (1 + mde) = %g must be between 0 and 1",
                                    target);
            break;
        case AB_METRIC_REVENUE:
            if (!(b > 0.0 && b <= LARGE_MAX))
                return ab_error_set(err, 400,
                                    "baseline: must be a positive mean revenue per user, at "
                                    "most %g",
                                    LARGE_MAX);
            break;
        case AB_METRIC_NPS:
            if (b < -100.0 || b > 100.0)
                return ab_error_set(err, 400,
                                    "baseline: must be an NPS score from -100 to 100");
            break;
        }
    }

    if (read_word(body, "method", &s, err)) return -1;
    if (s && (lower_copy(s, low, sizeof low) || ab_method_parse(low, &cfg->method)))
        return ab_error_set(err, 400,
                            "method: unknown method \"%.*s\" (sequential or fixed)",
                            ab_jin_quote_len(s, 64), s);

    if (read_number(body, "sequential_tuning", -HUGE_VAL, HUGE_VAL, 0, &cfg->tuning, NULL,
                    err))
        return -1;
    if (!(cfg->tuning > 0.0 && cfg->tuning <= LARGE_MAX))
        return ab_error_set(err, 400, "sequential_tuning: must be a positive number, at most %g",
                            LARGE_MAX);

    if (read_word(body, "correction", &s, err)) return -1;
    if (s && ab_correction_parse(s, &cfg->correction))
        return ab_error_set(err, 400,
                            "correction: unknown correction \"%.*s\" (holm, bonferroni, bh "
                            "or none)",
                            ab_jin_quote_len(s, 64), s);

    if (parse_guardrails(json_object_get(body, "guardrails"), cfg, err)) return -1;

    if (read_number(body, "min_days", 0.0, MIN_DAYS_MAX, 0, &cfg->min_days, NULL, err))
        return -1;
    if (ab_jin_count(body, "min_users", NULL, &cfg->min_users, NULL, err)) return -1;

    if (read_word(body, "webhook", &s, err)) return -1;
    if (s) {
        const char *why = ab_webhook_url_problem(s, strlen(s));
        if (why) return ab_error_set(err, 400, "webhook: %s", why);
        cfg->webhook = dup_bytes(s, strlen(s));
        if (!cfg->webhook) return oom(err);
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
    memcpy(out->id, id, idlen + 1);

    out->phase = AB_PHASE_DECISION;
    out->metric = AB_METRIC_CONVERSION;
    out->alpha = 0.05;
    out->power = 0.8;
    out->mde = 0.10;
    out->baseline = NAN;
    out->method = AB_METHOD_SEQUENTIAL;
    out->tuning = 5000.0;
    out->correction = AB_CORRECT_HOLM;
    out->min_days = 7.0;
    out->min_users = 100.0;
    out->guardrails_default = 1;

    if (parse_fields(body, out, err)) {
        ab_experiment_free(out);
        return -1;
    }
    return 0;
}

/* Whole numbers as JSON integers ("min_days": 7, not 7.0), the rest as reals;
 * either parses back to the same double. */
static json_t *number_json(double d)
{
    if (floor(d) == d && fabs(d) <= EXACT_MAX) return json_integer((json_int_t)d);
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
        put(o, "factors", cfg->factors ? json_deep_copy(cfg->factors) : json_null()) ||
        put(o, "weights", json_array()) ||
        put(o, "metric", json_string(ab_metric_name(cfg->metric))) ||
        put(o, "alpha", json_real(cfg->alpha)) || put(o, "power", json_real(cfg->power)) ||
        put(o, "mde", json_real(cfg->mde)) ||
        put(o, "baseline", isnan(cfg->baseline) ? json_null() : json_real(cfg->baseline)) ||
        put(o, "method", json_string(ab_method_name(cfg->method))) ||
        put(o, "sequential_tuning", number_json(cfg->tuning)) ||
        put(o, "correction", json_string(ab_correction_name(cfg->correction))) ||
        put(o, "min_days", number_json(cfg->min_days)) ||
        put(o, "min_users", number_json(cfg->min_users)) ||
        put(o, "guardrails", guardrails_json(cfg)) ||
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

int ab_experiment_same_structure(const ab_experiment_config *a,
                                 const ab_experiment_config *b)
{
    if (!a || !b || a->k != b->k || !a->factorial != !b->factorial) return 0;
    for (size_t i = 0; i < a->k; i++) {
        if (!a->names[i] || !b->names[i] || strcmp(a->names[i], b->names[i])) return 0;
        /* Weights are compared after normalisation, which may round
         * differently for proportional inputs such as [1, 3] and [0.25, 0.75]. */
        if (fabs(a->weights[i] - b->weights[i]) > WEIGHT_TOL) return 0;
    }
    if (!a->factors != !b->factors) return 0;
    if (a->factors && !json_equal(a->factors, b->factors)) return 0;
    return 1;
}

/* ---- The test definition ------------------------------------------------
 * SPEC section 3: the fields a verdict is decided under. This table is the
 * one place that says which they are; PUT's 409, the restart and the
 * `changes` history all go by it. */

static int same_number(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int same_guardrails(const ab_experiment_config *a, const ab_experiment_config *b)
{
    if (a->guardrails_default || b->guardrails_default)
        return a->guardrails_default == b->guardrails_default;
    if (a->nguardrails != b->nguardrails) return 0;
    /* A set: the order of the list decides nothing, and duplicates are
     * refused, so equal sizes and a in b make the sets equal. */
    for (size_t i = 0; i < a->nguardrails; i++) {
        size_t j;
        for (j = 0; j < b->nguardrails; j++)
            if (same_guardrail(&a->guardrails[i], &b->guardrails[j]) &&
                a->guardrails[i].margin == b->guardrails[j].margin)
                break;
        if (j == b->nguardrails) return 0;
    }
    return 1;
}

static int def_metric(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return a->metric == b->metric;
}
static int def_phase(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return a->phase == b->phase;
}
static int def_alpha(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return same_number(a->alpha, b->alpha);
}
static int def_method(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return a->method == b->method;
}
static int def_tuning(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return same_number(a->tuning, b->tuning);
}
static int def_correction(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return a->correction == b->correction;
}
static int def_mde(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return same_number(a->mde, b->mde);
}
static int def_baseline(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return same_number(a->baseline, b->baseline);
}
static int def_power(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return same_number(a->power, b->power);
}

static const struct {
    const char *name; /* the key of ab_experiment_to_json */
    int (*same)(const ab_experiment_config *, const ab_experiment_config *);
} definition[AB_DEFINITION_FIELDS] = {
    {"metric", def_metric},         {"phase", def_phase},
    {"alpha", def_alpha},           {"method", def_method},
    {"sequential_tuning", def_tuning}, {"correction", def_correction},
    {"mde", def_mde},               {"baseline", def_baseline},
    {"power", def_power},           {"guardrails", same_guardrails},
};

size_t ab_experiment_definition_diff(const ab_experiment_config *a,
                                     const ab_experiment_config *b,
                                     const char *fields[AB_DEFINITION_FIELDS])
{
    size_t n = 0;
    if (!a || !b) return 0;
    for (size_t i = 0; i < AB_DEFINITION_FIELDS; i++)
        if (!definition[i].same(a, b)) {
            if (fields) fields[n] = definition[i].name;
            n++;
        }
    return n;
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

int ab_experiment_variant_index(const ab_experiment_config *cfg, const char *name,
                                size_t len)
{
    if (!cfg || !name) return -1;
    for (size_t i = 0; i < cfg->k && i < AB_MAX_ARMS; i++)
        if (cfg->names[i] && same_bytes(cfg->names[i], strlen(cfg->names[i]), name, len))
            return (int)i;
    return -1;
}

void ab_experiment_free(ab_experiment_config *cfg)
{
    if (!cfg) return;
    free(cfg->description);
    for (size_t i = 0; i < AB_MAX_ARMS; i++) free(cfg->names[i]);
    json_decref(cfg->factors);
    free(cfg->webhook);
    memset(cfg, 0, sizeof *cfg);
}
