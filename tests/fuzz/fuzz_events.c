/* fuzz_events.c — libFuzzer harness: ingest bodies through ab_event_parse_body, fast scanner against jansson. */

/* Every input is parsed twice, once with the fast scanner and once by
 * jansson alone (ab_event_fast_scan), into two arenas; the two results must
 * be identical — event_parse.c promises that behaviour and messages do not
 * depend on which reader ran. The low bit of the first byte picks which
 * reader goes first, so state left behind by one run cannot hide behind a
 * fixed order; the next bit picks the ts window (an ingest-only token's,
 * 72 hours deep, or a backfilling sender's, down to 2000). Beyond
 * agreement, the invariants the daemon relies on are checked: a 400/413 on
 * failure (never 500: nothing here runs out of memory), accepted events
 * within the documented limits (ts inside the window), and error texts
 * that jansson accepts as UTF-8 (they go into JSON answers; an invalid one
 * turns the 400 into a 500). Violations end in __builtin_trap(). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "core/event.h"
#include "json/event_parse.h"
#include "abstat/stats.h"

#define NOW_MS 1795341600000LL /* 2026-11-22T10:00:00Z */
#define MAX_EVENTS 1000
#define MAX_ERRORS 10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the experiments the lookup serves ---------------------------------- */

static char n_control[] = "control", n_b[] = "b";
static char n_ax[] = "a/x", n_ay[] = "a/y", n_bx[] = "b/x", n_by[] = "b/y";

/* Hand-built (no heap), so nothing is left to free at exit. */
static ab_experiment_config running = {
    .id = "checkout-cta", .phase = AB_PHASE_DECISION, .k = 2,
    .names = {n_control, n_b}, .weights = {0.5, 0.5},
};
static ab_experiment_config factorial = {
    .id = "mvt.home_1", .phase = AB_PHASE_CONSIDERATION, .k = 4,
    .names = {n_ax, n_ay, n_bx, n_by}, .weights = {0.25, 0.25, 0.25, 0.25},
    .factorial = 1, .design = {.nfactors = 2, .levels = {2, 2}},
};
static ab_experiment_config stopped = {
    .id = "old-test", .phase = AB_PHASE_RETENTION, .k = 2,
    .names = {n_control, n_b}, .weights = {0.5, 0.5},
};

static void *lookup(void *ctx, const char *id, size_t len, const ab_experiment_config **cfg,
                    int *is_running)
{
    ab_experiment_config *all[] = {&running, &factorial, &stopped};
    (void)ctx;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        if (strlen(all[i]->id) == len && !memcmp(all[i]->id, id, len)) {
            *cfg = all[i];
            *is_running = all[i] != &stopped;
            return all[i];
        }
    }
    return NULL;
}

/* ---- one run -------------------------------------------------------------- */

typedef struct {
    ab_arena arena;
    ab_event_batch batch;
    ab_error err;
    int rc;
} run;

static void parse(run *r, const uint8_t *data, size_t size, int fast, const ab_ts_window *w)
{
    memset(&r->err, 0, sizeof r->err);
    ab_event_fast_scan = fast;
    r->rc = ab_event_parse_body((const char *)data, size, w, lookup, NULL, MAX_EVENTS,
                                MAX_ERRORS, &r->arena, &r->batch, &r->err);
    ab_event_fast_scan = 1;
}

/* Whether jansson takes text (NUL-terminated within cap bytes) as a string. */
static int json_text_ok(const char *text, size_t cap)
{
    json_t *s;
    if (!memchr(text, '\0', cap)) return 0;
    s = json_string(text);
    if (!s) return 0;
    json_decref(s);
    return 1;
}

/* The invariants one result must hold on its own. */
static void check_one(const run *r, const ab_ts_window *w)
{
    const ab_event_batch *b = &r->batch;
    if (r->rc != 0 && r->rc != -1) __builtin_trap();
    if (b->nerr > MAX_ERRORS || b->nerr > b->nerr_total) __builtin_trap();
    for (size_t i = 0; i < b->nerr; i++)
        if (!json_text_ok(b->errors[i].text, sizeof b->errors[i].text)) __builtin_trap();
    if (r->rc) {
        if (b->n != 0) __builtin_trap();
        if (r->err.status != 400 && r->err.status != 413) __builtin_trap();
        if (!r->err.text[0] || !json_text_ok(r->err.text, sizeof r->err.text))
            __builtin_trap();
        return;
    }
    if (b->n < 1 || b->n > MAX_EVENTS || b->nerr_total) __builtin_trap();
    for (size_t i = 0; i < b->n; i++) {
        const ab_event *e = &b->events[i];
        const ab_experiment_config *cfg = e->exp;
        if (cfg != &running && cfg != &factorial) __builtin_trap();
        if ((unsigned)e->phase >= AB_PHASE_COUNT) __builtin_trap();
        if (e->type == AB_EVENT_EXPOSURE) {
            if (e->variant < 0 || (size_t)e->variant >= cfg->k) __builtin_trap();
        } else if (e->variant != -1) {
            __builtin_trap();
        }
        if (e->type == AB_EVENT_NPS ? (e->score < 0 || e->score > 10) : e->score != -1)
            __builtin_trap();
        if (e->type == AB_EVENT_CONVERSION ? !(isnan(e->value) || isfinite(e->value))
                                           : !isnan(e->value))
            __builtin_trap();
        if (e->type == AB_EVENT_EXPOSURE
                ? !(isnan(e->covariate) || fabs(e->covariate) <= AB_EVENT_COVARIATE_MAX)
                : !isnan(e->covariate))
            __builtin_trap();
        if (e->ts_ms < AB_TS_MIN_MS || e->ts_ms < w->earliest_ms ||
            e->ts_ms > w->now_ms + AB_TS_AHEAD_MS)
            __builtin_trap();
        if (e->user_len < 1 || e->user_len > 256 || e->user[e->user_len] != '\0')
            __builtin_trap();
        if (e->id ? (e->id_len < 1 || e->id_len > 128 || e->id[e->id_len] != '\0')
                  : e->id_len != 0)
            __builtin_trap();
    }
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* The two readers must agree on everything the caller can see. */
static void check_same(const run *a, const run *b)
{
    const ab_event_batch *x = &a->batch, *y = &b->batch;
    if (a->rc != b->rc || x->n != y->n || x->nerr != y->nerr || x->nerr_total != y->nerr_total)
        __builtin_trap();
    if (a->rc && (a->err.status != b->err.status || strcmp(a->err.text, b->err.text)))
        __builtin_trap();
    for (size_t i = 0; i < x->nerr; i++)
        if (x->errors[i].index != y->errors[i].index ||
            strcmp(x->errors[i].text, y->errors[i].text))
            __builtin_trap();
    for (size_t i = 0; i < x->n; i++) {
        const ab_event *e = &x->events[i], *f = &y->events[i];
        if (e->exp != f->exp || e->type != f->type || e->phase != f->phase ||
            e->variant != f->variant || !same_double(e->value, f->value) ||
            !same_double(e->covariate, f->covariate) ||
            e->score != f->score || e->ts_ms != f->ts_ms || e->user_len != f->user_len ||
            memcmp(e->user, f->user, e->user_len) || e->id_len != f->id_len ||
            !e->id != !f->id || (e->id && memcmp(e->id, f->id, e->id_len)))
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    static run fast, slow;
    int jansson_first = size > 0 && (data[0] & 1);
    ab_ts_window w = ab_ts_window_at(NOW_MS, size > 0 && (data[0] & 2));

    if (!initialised) {
        ab_stats_init();
        ab_arena_init(&fast.arena, 4096);
        ab_arena_init(&slow.arena, 4096);
        initialised = 1;
    }
    if (jansson_first) {
        parse(&slow, data, size, 0, &w);
        parse(&fast, data, size, 1, &w);
    } else {
        parse(&fast, data, size, 1, &w);
        parse(&slow, data, size, 0, &w);
    }
    check_one(&fast, &w);
    check_one(&slow, &w);
    check_same(&fast, &slow);
    /* Each input starts from empty arenas, as each request does. */
    ab_arena_reset(&fast.arena);
    ab_arena_reset(&slow.arena);
    return 0;
}
