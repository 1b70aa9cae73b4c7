/* fuzz_experiment.c — libFuzzer harness: experiment configs (PUT bodies) parsed, rendered and parsed back. */

/* The daemon stores ab_experiment_to_json's rendering (17 digits) and
 * parses it again on every start, so a config that is accepted once must
 * come back the same: same structure (variants, factors, weights:
 * ab_experiment_same_structure) and the same settings. GET answers render it
 * with 15 digits, and SPEC lets a client PUT that back: it must parse, with
 * the same structure (else the PUT would be a 409 once events exist).
 * Rejections must be 400s whose text jansson accepts as UTF-8 (it goes
 * into the JSON answer; an invalid one turns the 400 into a 500).
 * Violations end in __builtin_trap(). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/experiment.h"
#include "json/experiment_json.h"
#include "json/jsonin.h"
#include "abstat/stats.h"

#define ID "fuzz-exp.1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const ab_error *err)
{
    json_t *s;
    if (err->status != 400 || !memchr(err->text, '\0', sizeof err->text) || !err->text[0])
        __builtin_trap();
    s = json_string(err->text);
    if (!s) __builtin_trap();
    json_decref(s);
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Everything but the structure, which ab_experiment_same_structure checks. */
static int same_settings(const ab_experiment_config *a, const ab_experiment_config *b)
{
    return !strcmp(a->id, b->id) && same_string(a->description, b->description) &&
           a->phase == b->phase && a->metric == b->metric && a->alpha == b->alpha &&
           a->power == b->power && a->mde == b->mde && same_double(a->baseline, b->baseline) &&
           a->method == b->method && a->tuning == b->tuning &&
           a->correction == b->correction && a->min_days == b->min_days &&
           a->min_users == b->min_users && same_string(a->webhook, b->webhook) &&
           a->factorial == b->factorial && a->design.nfactors == b->design.nfactors &&
           !memcmp(a->design.levels, b->design.levels, sizeof a->design.levels);
}

/* Renders cfg, dumps it with the given precision, reads it back and parses
 * it again into *out; any failure on the way is a finding. */
static void reparse(const ab_experiment_config *cfg, int digits, ab_experiment_config *out)
{
    ab_error err;
    json_t *o = ab_experiment_to_json(cfg), *back;
    char *text;

    if (!o) __builtin_trap();
    text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(digits));
    json_decref(o);
    if (!text) __builtin_trap();
    back = ab_jin_parse(text, strlen(text), &err);
    free(text);
    if (!back) __builtin_trap();
    if (ab_experiment_parse(ID, back, out, &err)) __builtin_trap();
    json_decref(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    ab_experiment_config first, again;
    ab_error err;
    json_t *body;

    if (!initialised) {
        ab_stats_init();
        initialised = 1;
    }
    memset(&err, 0, sizeof err);
    body = ab_jin_parse((const char *)data, size, &err);
    if (!body) {
        check_error(&err);
        return 0;
    }
    if (ab_experiment_parse(ID, body, &first, &err)) {
        check_error(&err);
        json_decref(body);
        return 0;
    }
    json_decref(body);
    if (first.k < 2 || first.k > AB_MAX_ARMS || !first.description) __builtin_trap();

    /* As the store keeps it: everything comes back. */
    reparse(&first, 17, &again);
    if (!ab_experiment_same_structure(&first, &again) || !same_settings(&first, &again))
        __builtin_trap();
    ab_experiment_free(&again);
    /* As GET shows it: the structure comes back. */
    reparse(&first, 15, &again);
    if (!ab_experiment_same_structure(&first, &again)) __builtin_trap();
    ab_experiment_free(&again);
    ab_experiment_free(&first);
    return 0;
}
