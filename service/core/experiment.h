/* experiment.h — an experiment's configuration (SPEC section 3): parsed
 * and validated from a PUT body, rendered back, compared for structure and
 * for its test definition. */
#ifndef ABSTAT_EXPERIMENT_H
#define ABSTAT_EXPERIMENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "abstat/stats.h"
#include "core/analysis.h"
#include "base/error.h"
#include "core/phase.h"

#define AB_ID_MAX 64         /* ^[a-z0-9][a-z0-9._-]{0,63}$ */
#define AB_VARIANT_NAME_MAX 64
/* Longest variant name of a factorial design: one level (at most
 * AB_VARIANT_NAME_MAX bytes) per factor, joined by '/'. Variant names given
 * in "variants" stay within AB_VARIANT_NAME_MAX. */
#define AB_VARIANT_CELL_MAX (AB_MAX_FACTORS * (AB_VARIANT_NAME_MAX + 1) - 1)

/* A metric a winner must not harm (SPEC section 3, "guardrails"). */
#define AB_MAX_GUARDRAILS 8
typedef struct {
    ab_metric metric;
    ab_phase phase;              /* the phase of a conversion guardrail */
    double margin;               /* non-inferiority margin relative to the control's
                                  * value: 0.02 lets the variant be 2 % worse */
} ab_guardrail;

typedef struct {
    char id[AB_ID_MAX + 1];
    char *description;           /* owned, never NULL after parse */
    ab_phase phase;
    size_t k;                    /* number of variants (cells) */
    char *names[AB_MAX_ARMS];    /* owned; names[0] is the control */
    double weights[AB_MAX_ARMS]; /* normalised to sum 1 */
    int factorial;               /* variants come from factors */
    ab_design design;            /* when factorial */
    json_t *factors;             /* owned copy of the factors array, or NULL */
    ab_metric metric;
    double alpha, power, mde;
    double baseline;             /* NaN when null: use the observed control */
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

/* Parses and validates a PUT body for experiment `id` into *out (which the
 * caller later frees with ab_experiment_free). Defaults of SPEC section 3
 * fill what is absent. On error returns -1, err names the field (400), and
 * *out holds nothing to free. */
int ab_experiment_parse(const char *id, const json_t *body, ab_experiment_config *out,
                        ab_error *err);

/* New reference: the full configuration as a JSON object (every key of the
 * PUT body, defaults filled in, baseline/webhook null when unset), suitable
 * for storing and for parsing back with ab_experiment_parse. */
json_t *ab_experiment_to_json(const ab_experiment_config *cfg);

/* 1 when variants, factors and weights are the same (SPEC: these cannot
 * change once events exist), else 0. */
int ab_experiment_same_structure(const ab_experiment_config *a,
                                 const ab_experiment_config *b);

/* The test definition (SPEC section 3): metric, phase, alpha, method,
 * sequential_tuning, correction, mde, baseline, power, guardrails. Once
 * events exist it changes only with "restart_monitoring": true. */
#define AB_DEFINITION_FIELDS 10

/* Which test-definition fields differ between a and b: fills fields (may
 * be NULL) with their names, the keys of ab_experiment_to_json, in the
 * order above, and returns how many (0: the same test). Guardrails compare
 * as a set. The one home of what the test definition is. */
size_t ab_experiment_definition_diff(const ab_experiment_config *a,
                                     const ab_experiment_config *b,
                                     const char *fields[AB_DEFINITION_FIELDS]);

/* New reference: the entry of an experiment's `changes` for a monitoring
 * restart at at_ms from config old to cur: {"at": RFC 3339, "fields":
 * [...], "old": {field: value}, "new": {field: value}, "restart_monitoring":
 * true}, values as ab_experiment_to_json renders them. NULL when out of
 * memory. */
json_t *ab_experiment_change_entry(const ab_experiment_config *old,
                                   const ab_experiment_config *cur, int64_t at_ms);

/* Takes the request option "restart_monitoring" out of a PUT body (it is
 * not part of the config): *restart 1 for true, 0 for false, null or
 * absent. A value of another type is an error (400). */
int ab_experiment_take_restart(json_t *body, int *restart, ab_error *err);

/* Takes out of a PUT body the read-only fields that GET adds to the config
 * (status, created_at, monitoring_since, changes, events, users), so that
 * what GET answered can be PUT back. Their values are ignored but for
 * status: *stopped is 1 for "stopped", 0 for "running", -1 when absent or
 * null, for the caller to compare with the experiment's (a PUT never stops
 * or starts one); another value is an error (400). "id" stays: the parser
 * checks it against the path. */
int ab_experiment_take_readonly(json_t *body, int *stopped, ab_error *err);

/* Index of variant `name` (len bytes), or -1. */
int ab_experiment_variant_index(const ab_experiment_config *cfg, const char *name,
                                size_t len);

/* Frees what *cfg owns; leaves it zeroed. */
void ab_experiment_free(ab_experiment_config *cfg);

#endif
