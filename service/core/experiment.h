/* experiment.h — an experiment's configuration (README "Experiments"): the model, its validation rules, structure and test definition (json/experiment_json.h reads and renders it). */
#ifndef ABSTAT_EXPERIMENT_H
#define ABSTAT_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include "abstat/stats.h"
#include "base/error.h"
#include "core/analysis.h"
#include "core/phase.h"
#include "core/revenue_cap.h"

#define AB_ID_MAX 64         /* ^[a-z0-9][a-z0-9._-]{0,63}$ */
#define AB_VARIANT_NAME_MAX 64
/* Longest variant name of a factorial design: one level (at most
 * AB_VARIANT_NAME_MAX bytes) per factor, joined by '/'. Variant names given
 * in "variants" stay within AB_VARIANT_NAME_MAX. */
#define AB_VARIANT_CELL_MAX (AB_MAX_FACTORS * (AB_VARIANT_NAME_MAX + 1) - 1)
#define AB_DESCRIPTION_MAX 1024
#define AB_MIN_DAYS_MAX 3650.0 /* ten years: anything longer is a typo */

/* A metric a winner must not harm (README "Experiments", "guardrails"). */
#define AB_MAX_GUARDRAILS 8
typedef struct {
    ab_metric metric;
    ab_phase phase;              /* the phase of a conversion guardrail */
    double margin;               /* non-inferiority margin relative to the control's
                                  * value: 0.02 lets the variant be 2 % worse */
} ab_guardrail;

/* One factor of a multivariate test: its name and its levels (as many as
 * design.levels[f] says). */
typedef struct {
    char *name;                  /* owned */
    char *levels[AB_MAX_ARMS];   /* owned */
} ab_factor;

/* ab_experiment_config: what a PUT says, validated, defaults filled in —
 * the configuration and nothing of the daemon's state. The one type of
 * it: the registry's live experiment (core/registry.h, ab_live) owns one
 * together with the counts, and the store keeps it as its JSON rendering. */
typedef struct {
    char id[AB_ID_MAX + 1];
    char *description;           /* owned, never NULL after parse */
    ab_phase phase;
    size_t k;                    /* number of variants (cells) */
    char *names[AB_MAX_ARMS];    /* owned; names[0] is the control */
    double weights[AB_MAX_ARMS]; /* normalised to sum 1 */
    int factorial;               /* variants come from factors */
    ab_design design;            /* when factorial */
    ab_factor *factors;          /* owned: design.nfactors of them when factorial,
                                  * else NULL (most experiments: no room for them) */
    ab_metric metric;
    double alpha, power, mde;
    double baseline;             /* NaN when null: use the observed control */
    /* prior: a normal prior N(prior_mean, prior_sd^2) on the primary
     * metric's relative effect for the Bayesian figures (README
     * "Statistics"); prior_sd 0 = none. Descriptive: it decides nothing,
     * so it is not part of the test definition. */
    double prior_mean, prior_sd;
    /* variance_reduction (README "Experiments"): 1 = "cuped", the
     * covariate-adjusted comparison decides (README "Statistics", CUPED);
     * 0 = "none". Part of the test definition. */
    int cuped;
    /* revenue_cap: capped revenue figures beside the raw ones (README
     * "Statistics", Revenue capping); kind AB_CAP_NONE = none. Descriptive
     * like the prior, so not part of the test definition either. */
    ab_revenue_cap revenue_cap;
    ab_method method;
    double tuning;               /* sequential_tuning */
    ab_correction correction;
    double min_days, min_users;
    char *webhook;               /* owned http(s):// URL (ab_webhook_url_problem), or NULL */
    /* guardrails: null (the default) makes every metric other than the
     * primary that has data a guardrail with margin 0; else the list
     * (possibly empty). */
    int guardrails_default;
    size_t nguardrails;
    ab_guardrail guardrails[AB_MAX_GUARDRAILS];
} ab_experiment_config;

/* Whether id (len bytes, not necessarily NUL-terminated) is a valid
 * experiment id. */
int ab_experiment_id_valid(const char *id, size_t len);

/* Zeroes *cfg, sets id (valid, checked by the caller) and every default
 * of README "Experiments" (core/defaults.h). */
void ab_experiment_defaults(ab_experiment_config *cfg, const char *id);

/* Why a variant, factor or level name cannot be used, or NULL. Names end
 * up in URLs, logs and CSV headers, so control characters are out;
 * no_slash: '/' is reserved for joining factor levels into cell names. */
const char *ab_experiment_name_problem(const char *s, size_t len, int no_slash);

/* Sets the variants from the factors already in cfg->factors and
 * cfg->design (every combination of levels, first factor varying slowest,
 * so that cell c matches ab_design's row-major order). -1 with err: too
 * many cells (400) or out of memory (500). */
int ab_experiment_make_cells(ab_experiment_config *cfg, ab_error *err);

/* Sets the weights from raw (cfg->k positive finite numbers), normalised
 * to sum 1; raw NULL: equal weights. -1 with err (400) naming the weight. */
int ab_experiment_set_weights(ab_experiment_config *cfg, const double *raw, ab_error *err);

/* The range rules of the settings read so far, each called as soon as its
 * field is read so that errors come in the order of the fields. 0, or -1
 * with err (400). */
int ab_experiment_check_mde(const ab_experiment_config *cfg, ab_error *err);
/* cfg->baseline given (not NaN), against the metric and the mde. */
int ab_experiment_check_baseline(const ab_experiment_config *cfg, ab_error *err);
int ab_experiment_check_tuning(const ab_experiment_config *cfg, ab_error *err);
/* variance_reduction against the metric: CUPED adjusts a conversion rate
 * or revenue per user, not an NPS score (no per-answer covariate sums). */
int ab_experiment_check_variance_reduction(const ab_experiment_config *cfg, ab_error *err);
/* The names of variance_reduction: "none", "cuped". */
const char *ab_variance_reduction_name(int cuped);
/* 0 with *cuped set, or -1 for an unknown name. */
int ab_variance_reduction_parse(const char *s, int *cuped);

/* The margin of a guardrail: from 0 to below 1. */
int ab_guardrail_check_margin(double margin, const char *where, ab_error *err);
/* Appends g (with the primary metric and phase set already) to cfg's
 * guardrails: not the primary itself, not a duplicate, at most
 * AB_MAX_GUARDRAILS. where names it in errors. */
int ab_experiment_add_guardrail(ab_experiment_config *cfg, const ab_guardrail *g,
                                const char *where, ab_error *err);
/* Whether a and b watch the same metric (revenue and NPS count every
 * user: only a conversion guardrail has a phase). */
int ab_guardrail_same(const ab_guardrail *a, const ab_guardrail *b);

/* 1 when variants, factors and weights are the same (README "Changing an experiment that has events": these cannot
 * change once events exist), else 0. */
int ab_experiment_same_structure(const ab_experiment_config *a,
                                 const ab_experiment_config *b);

/* The test definition (README "Experiments"): metric, phase, alpha, method,
 * sequential_tuning, correction, mde, baseline, power, guardrails,
 * variance_reduction. Once events exist it changes only with
 * "restart_monitoring": true. */
#define AB_DEFINITION_FIELDS 11

/* Which test-definition fields differ between a and b: fills fields (may
 * be NULL) with their names, the keys of ab_experiment_to_json, in the
 * order above, and returns how many (0: the same test). Guardrails compare
 * as a set. The one home of what the test definition is. */
size_t ab_experiment_definition_diff(const ab_experiment_config *a,
                                     const ab_experiment_config *b,
                                     const char *fields[AB_DEFINITION_FIELDS]);

/* Index of variant `name` (len bytes), or -1. */
int ab_experiment_variant_index(const ab_experiment_config *cfg, const char *name,
                                size_t len);

/* Frees what *cfg owns; leaves it zeroed. */
void ab_experiment_free(ab_experiment_config *cfg);

#endif
