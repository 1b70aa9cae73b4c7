/* experiment.c — the experiment model (README "Experiments"): ids, names, cells, weights, the range rules of its settings, structure and test definition. */
#include "core/experiment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/defaults.h"

#define WEIGHT_TOL 1e-12

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

void ab_experiment_defaults(ab_experiment_config *cfg, const char *id)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->id, sizeof cfg->id, "%s", id ? id : "");
    cfg->phase = AB_DEFAULT_PHASE;
    cfg->metric = AB_DEFAULT_METRIC;
    cfg->alpha = AB_DEFAULT_ALPHA;
    cfg->power = AB_DEFAULT_POWER;
    cfg->mde = AB_DEFAULT_MDE;
    cfg->baseline = NAN;
    cfg->method = AB_DEFAULT_METHOD;
    cfg->tuning = AB_DEFAULT_TUNING;
    cfg->correction = AB_DEFAULT_CORRECTION;
    cfg->min_days = AB_DEFAULT_MIN_DAYS;
    cfg->min_users = AB_DEFAULT_MIN_USERS;
    cfg->guardrails_default = 1;
}

const char *ab_experiment_name_problem(const char *s, size_t len, int no_slash)
{
    if (len == 0) return "must not be empty";
    if (len > AB_VARIANT_NAME_MAX) return "must be at most 64 bytes";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        /* C0, DEL and the UTF-8 encoded C1 controls */
        if (c < 0x20 || c == 0x7f) return "must not contain control characters";
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9f)
            return "must not contain control characters";
        if (no_slash && c == '/') return "must not contain '/'";
    }
    return NULL;
}

int ab_experiment_make_cells(ab_experiment_config *cfg, ab_error *err)
{
    size_t nf = cfg->design.nfactors, cells = ab_design_cells(&cfg->design);
    if (!cfg->factors) return ab_error_set(err, 500, "internal error: no factors");
    if (cells == 0) {
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
            const char *lv;
            size_t len;
            stride /= cfg->design.levels[f];
            lv = cfg->factors[f].levels[(c / stride) % cfg->design.levels[f]];
            len = strlen(lv);
            if (f > 0) buf[pos++] = '/';
            memcpy(buf + pos, lv, len);
            pos += len;
        }
        buf[pos] = '\0';
        if (!(cfg->names[c] = strdup(buf))) return ab_error_set(err, 500, "out of memory");
        cfg->k = c + 1;
    }
    cfg->factorial = 1;
    return 0;
}

int ab_experiment_set_weights(ab_experiment_config *cfg, const double *raw, ab_error *err)
{
    double w[AB_MAX_ARMS], max = 0.0, sum = 0.0;
    if (!raw) {
        for (size_t i = 0; i < cfg->k; i++) cfg->weights[i] = 1.0 / (double)cfg->k;
        return 0;
    }
    for (size_t i = 0; i < cfg->k; i++) {
        w[i] = raw[i];
        if (!(w[i] > 0.0) || !isfinite(w[i]))
            return ab_error_set(err, 400, "weights[%zu]: must be a positive finite number", i);
        if (w[i] > max) max = w[i];
    }
    /* Dividing by the plain sum keeps simple splits exact ([1, 3] gives 0.25
     * and 0.75); only when that sum overflows are the weights scaled by the
     * largest first. */
    for (size_t i = 0; i < cfg->k; i++) sum += w[i];
    if (!isfinite(sum)) {
        sum = 0.0;
        for (size_t i = 0; i < cfg->k; i++) sum += (w[i] /= max);
    }
    for (size_t i = 0; i < cfg->k; i++) {
        cfg->weights[i] = w[i] / sum;
        if (!(cfg->weights[i] > 0.0))
            return ab_error_set(err, 400, "weights[%zu]: too small next to the others", i);
    }
    return 0;
}

int ab_experiment_check_mde(const ab_experiment_config *cfg, ab_error *err)
{
    if (cfg->mde == 0.0 || cfg->mde <= -1.0 || cfg->mde > AB_LARGE_MAX)
        return ab_error_set(err, 400,
                            "mde: must be non-zero, greater than -1 and at most %g (relative: "
                            "0.10 = +10 %%)",
                            AB_LARGE_MAX);
    return 0;
}

/* What a baseline can be depends on what it is the baseline of. */
int ab_experiment_check_baseline(const ab_experiment_config *cfg, ab_error *err)
{
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
        if (!(b > 0.0 && b <= AB_LARGE_MAX))
            return ab_error_set(err, 400,
                                "baseline: must be a positive mean revenue per user, at most %g",
                                AB_LARGE_MAX);
        break;
    case AB_METRIC_NPS:
        if (b < -100.0 || b > 100.0)
            return ab_error_set(err, 400, "baseline: must be an NPS score from -100 to 100");
        break;
    }
    return 0;
}

int ab_experiment_check_tuning(const ab_experiment_config *cfg, ab_error *err)
{
    if (!(cfg->tuning > 0.0 && cfg->tuning <= AB_LARGE_MAX))
        return ab_error_set(err, 400, "sequential_tuning: must be a positive number, at most %g",
                            AB_LARGE_MAX);
    return 0;
}

int ab_guardrail_check_margin(double margin, const char *where, ab_error *err)
{
    if (margin >= 0.0 && margin < 1.0) return 0;
    return ab_error_set(err, 400,
                        "%s.margin: must be from 0 to below 1, relative to the control "
                        "(0.02: the variant may be 2 %% worse)",
                        where);
}

int ab_guardrail_same(const ab_guardrail *a, const ab_guardrail *b)
{
    return a->metric == b->metric && (a->metric != AB_METRIC_CONVERSION || a->phase == b->phase);
}

/* "revenue", or "conversion at decision", for errors. */
static void guardrail_label(const ab_guardrail *g, char *buf, size_t size)
{
    if (g->metric == AB_METRIC_CONVERSION)
        snprintf(buf, size, "conversion at %s", ab_phase_name(g->phase));
    else
        snprintf(buf, size, "%s", ab_metric_name(g->metric));
}

int ab_experiment_add_guardrail(ab_experiment_config *cfg, const ab_guardrail *g,
                                const char *where, ab_error *err)
{
    ab_guardrail primary = {cfg->metric, cfg->phase, 0.0};
    char label[64];
    guardrail_label(g, label, sizeof label);
    if (cfg->nguardrails >= AB_MAX_GUARDRAILS)
        return ab_error_set(err, 400, "guardrails: at most %d", AB_MAX_GUARDRAILS);
    if (ab_guardrail_same(g, &primary))
        return ab_error_set(err, 400,
                            "%s: the primary metric cannot be its own guardrail (%s is "
                            "the experiment's metric)",
                            where, label);
    for (size_t j = 0; j < cfg->nguardrails; j++)
        if (ab_guardrail_same(g, &cfg->guardrails[j]))
            return ab_error_set(err, 400, "%s: duplicate guardrail (%s is guardrails[%zu])",
                                where, label, j);
    cfg->guardrails[cfg->nguardrails++] = *g;
    return 0;
}

static int same_str(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

static int same_factors(const ab_experiment_config *a, const ab_experiment_config *b)
{
    if (a->design.nfactors != b->design.nfactors || !a->factors || !b->factors) return 0;
    for (size_t f = 0; f < a->design.nfactors; f++) {
        if (a->design.levels[f] != b->design.levels[f] ||
            !same_str(a->factors[f].name, b->factors[f].name))
            return 0;
        for (size_t l = 0; l < a->design.levels[f]; l++)
            if (!same_str(a->factors[f].levels[l], b->factors[f].levels[l])) return 0;
    }
    return 1;
}

int ab_experiment_same_structure(const ab_experiment_config *a,
                                 const ab_experiment_config *b)
{
    if (!a || !b || a->k != b->k || !a->factorial != !b->factorial) return 0;
    for (size_t i = 0; i < a->k; i++) {
        if (!same_str(a->names[i], b->names[i])) return 0;
        /* Weights are compared after normalisation, which may round
         * differently for proportional inputs such as [1, 3] and [0.25, 0.75]. */
        if (fabs(a->weights[i] - b->weights[i]) > WEIGHT_TOL) return 0;
    }
    return !a->factorial || same_factors(a, b);
}

/* ---- The test definition ------------------------------------------------
 * README "Experiments": the fields a verdict is decided under. This table is the
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
            if (ab_guardrail_same(&a->guardrails[i], &b->guardrails[j]) &&
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

static int def_variance_reduction(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return a->cuped == b->cuped;
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
    {"variance_reduction", def_variance_reduction},
};

const char *ab_variance_reduction_name(int cuped)
{
    return cuped ? "cuped" : "none";
}

int ab_variance_reduction_parse(const char *s, int *cuped)
{
    if (!strcasecmp(s, "none")) *cuped = 0;
    else if (!strcasecmp(s, "cuped")) *cuped = 1;
    else return -1;
    return 0;
}

int ab_experiment_check_variance_reduction(const ab_experiment_config *cfg, ab_error *err)
{
    if (cfg->cuped && cfg->metric == AB_METRIC_NPS)
        return ab_error_set(err, 400, "variance_reduction: \"cuped\" adjusts a conversion rate "
                                      "or revenue per user; it cannot be used with metric "
                                      "\"nps\" (use \"none\")");
    return 0;
}

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

int ab_experiment_variant_index(const ab_experiment_config *cfg, const char *name,
                                size_t len)
{
    if (!cfg || !name) return -1;
    for (size_t i = 0; i < cfg->k && i < AB_MAX_ARMS; i++)
        if (cfg->names[i] && strlen(cfg->names[i]) == len && !memcmp(cfg->names[i], name, len))
            return (int)i;
    return -1;
}

void ab_experiment_free(ab_experiment_config *cfg)
{
    if (!cfg) return;
    free(cfg->description);
    for (size_t i = 0; i < AB_MAX_ARMS; i++) free(cfg->names[i]);
    for (size_t f = 0; cfg->factors && f < AB_MAX_FACTORS; f++) {
        free(cfg->factors[f].name);
        for (size_t l = 0; l < AB_MAX_ARMS; l++) free(cfg->factors[f].levels[l]);
    }
    free(cfg->factors);
    free(cfg->webhook);
    memset(cfg, 0, sizeof *cfg);
}
