/* experiment_json.h — experiment configs from and to JSON (README "Experiments"): the PUT body read into the model, rendered back for GET and the store. */
#ifndef ABSTAT_EXPERIMENT_JSON_H
#define ABSTAT_EXPERIMENT_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "base/error.h"
#include "core/experiment.h"

/* Parses and validates a PUT body for experiment `id` into *out (which the
 * caller later frees with ab_experiment_free). Defaults of README "Experiments"
 * fill what is absent. On error returns -1, err names the field (400), and
 * *out holds nothing to free. */
int ab_experiment_parse(const char *id, const json_t *body, ab_experiment_config *out,
                        ab_error *err);

/* New reference: the full configuration as a JSON object (every key of the
 * PUT body, defaults filled in, baseline/webhook null when unset), suitable
 * for storing and for parsing back with ab_experiment_parse. NULL when out
 * of memory. */
json_t *ab_experiment_to_json(const ab_experiment_config *cfg);

/* "prior" of an experiment or of /v1/analyze (README "Statistics", Prior):
 * null or absent gives *sd = 0 (none); else {"mean": m, "sd": s} with
 * s > 0 and m 0 when left out, on the relative effect. 0, or -1 with err
 * set (400). */
int ab_prior_parse(const json_t *p, double *mean, double *sd, ab_error *err);

/* New reference: the factors as PUT takes them ([{"name", "levels"}]),
 * null when cfg is not factorial; NULL when out of memory. */
json_t *ab_experiment_factors_json(const ab_experiment_config *cfg);

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

#endif
