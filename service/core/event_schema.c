/* event_schema.c — an event's fields and their rules (README "Events"): one validator for every reader. */
#include "core/event_schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

#define MSG_MAX AB_EVENT_MSG_MAX

int ab_event_field_of(const char *k, size_t len)
{
    switch (len) {
    case 2:
        if (!memcmp(k, "id", 2)) return AB_EF_ID;
        if (!memcmp(k, "ts", 2)) return AB_EF_TS;
        break;
    case 4:
        if (!memcmp(k, "type", 4)) return AB_EF_TYPE;
        if (!memcmp(k, "user", 4)) return AB_EF_USER;
        break;
    case 5:
        if (!memcmp(k, "phase", 5)) return AB_EF_PHASE;
        if (!memcmp(k, "value", 5)) return AB_EF_VALUE;
        if (!memcmp(k, "score", 5)) return AB_EF_SCORE;
        break;
    case 7:
        if (!memcmp(k, "variant", 7)) return AB_EF_VARIANT;
        break;
    case 9:
        if (!memcmp(k, "covariate", 9)) return AB_EF_COVARIATE;
        break;
    case 10:
        if (!memcmp(k, "experiment", 10)) return AB_EF_EXPERIMENT;
        break;
    default:
        break;
    }
    return -1;
}

void ab_raw_event_init(ab_raw_event *r)
{
    for (int i = 0; i < AB_EF_COUNT; i++) r->f[i].kind = AB_RV_ABSENT;
    r->unknown = NULL;
    r->unknown_len = 0;
}

const char *ab_event_quote(char *buf, size_t cap, const char *s, size_t len)
{
    size_t n = len;
    if (n > cap - 1) {
        n = ab_utf8_cut(s, len, cap - 4);
        memcpy(buf, s, n);
        memcpy(buf + n, "...", 4);
        return buf;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

static int fail(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, MSG_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

/* JSON null counts as absent: many serialisers write null for "not set". */
static int present(const ab_raw_val *v)
{
    return v->kind != AB_RV_ABSENT && v->kind != AB_RV_NULL;
}

static int resolve_experiment(ab_event_checker *c, const char *s, size_t len, char *msg)
{
    if (c->have_last && c->last_len == len && !memcmp(c->last_id, s, len)) return 0;
    if (!ab_experiment_id_valid(s, len))
        return fail(msg, "\"experiment\" is not a valid experiment id");
    c->last_cfg = NULL;
    c->last_running = 1;
    c->last_exp = c->lookup(c->lookup_ctx, s, len, &c->last_cfg, &c->last_running);
    if (c->last_exp && !c->last_cfg) c->last_exp = NULL;
    memcpy(c->last_id, s, len); /* len <= AB_ID_MAX: the id is valid */
    c->last_id[len] = '\0';
    c->last_len = len;
    c->have_last = 1;
    return 0;
}

/* experiment: known and running */
static int check_experiment(ab_event_checker *c, const ab_raw_val *v, ab_event *ev, char *msg)
{
    if (!present(v)) return fail(msg, "\"experiment\" is missing");
    if (v->kind != AB_RV_STRING) return fail(msg, "\"experiment\" must be a string");
    if (resolve_experiment(c, v->s, v->len, msg)) return -1;
    if (!c->last_exp) return fail(msg, "unknown experiment \"%s\"", c->last_id);
    if (!c->last_running) return fail(msg, "experiment \"%s\" is stopped", c->last_id);
    ev->exp = c->last_exp;
    return 0;
}

static int check_type(const ab_raw_val *v, ab_event *ev, char *msg)
{
    char q[72];
    if (!present(v)) return fail(msg, "\"type\" is missing");
    if (v->kind != AB_RV_STRING)
        return fail(msg, "\"type\" must be \"exposure\", \"conversion\" or \"nps\"");
    if (v->len == 8 && !memcmp(v->s, "exposure", 8)) ev->type = AB_EVENT_EXPOSURE;
    else if (v->len == 10 && !memcmp(v->s, "conversion", 10)) ev->type = AB_EVENT_CONVERSION;
    else if (v->len == 3 && !memcmp(v->s, "nps", 3)) ev->type = AB_EVENT_NPS;
    else
        return fail(msg, "\"type\" must be \"exposure\", \"conversion\" or \"nps\", not \"%s\"",
                    ab_event_quote(q, sizeof q, v->s, v->len));
    return 0;
}

static int check_user(const ab_raw_val *v, ab_event *ev, char *msg)
{
    if (!present(v)) return fail(msg, "\"user\" is missing");
    if (v->kind != AB_RV_STRING) return fail(msg, "\"user\" must be a string");
    ev->user_len = v->len;
    return ab_event_user_check(ev->user_len, msg, MSG_MAX);
}

/* variant: the exposure's arm. Other types may carry it (clients often
 * send it with everything) but it is not used: a user's variant is the one
 * of its first exposure. */
static int check_variant(const ab_event_checker *c, const ab_raw_val *v, ab_event *ev,
                         char *msg)
{
    char q[72];
    ev->variant = -1;
    if (ev->type != AB_EVENT_EXPOSURE) {
        if (present(v) && v->kind != AB_RV_STRING) return fail(msg, "\"variant\" must be a string");
        return 0;
    }
    if (!present(v)) return fail(msg, "\"variant\" is missing (exposures need it)");
    if (v->kind != AB_RV_STRING) return fail(msg, "\"variant\" must be a string");
    ev->variant = ab_experiment_variant_index(c->last_cfg, v->s, v->len);
    if (ev->variant < 0)
        return fail(msg, "\"variant\" \"%s\" is not a variant of experiment \"%s\"",
                    ab_event_quote(q, sizeof q, v->s, v->len), c->last_id);
    return 0;
}

static int check_phase(const ab_event_checker *c, const ab_raw_val *v, ab_event *ev, char *msg)
{
    ev->phase = ev->type == AB_EVENT_NPS ? AB_PHASE_ADVOCACY : c->last_cfg->phase;
    if (!present(v)) return 0;
    if (v->kind != AB_RV_STRING) return fail(msg, "\"phase\" must be a string");
    /* Canonical names first: they are what most clients send. */
    for (int p = 0; p < AB_PHASE_COUNT; p++) {
        const char *name = ab_phase_name((ab_phase)p);
        if (strlen(name) == v->len && !memcmp(name, v->s, v->len)) {
            ev->phase = (ab_phase)p;
            return 0;
        }
    }
    if (ab_phase_parse(v->s, v->len, &ev->phase) == 0) return 0;
    ab_phase_unknown(msg, MSG_MAX, NULL, v->s, v->len);
    return -1;
}

/* value: conversions only, a finite number (refunds may be negative) of at
 * most AB_EVENT_VALUE_MAX in size. Unbounded, one value of 1e200 overflowed
 * the sum of squares to infinity and every later results request of its
 * experiment failed with 500, for good (events cannot be removed). */
static int check_value(const ab_raw_val *v, ab_event *ev, char *msg)
{
    ev->value = NAN;
    if (!present(v)) return 0;
    if (ev->type != AB_EVENT_CONVERSION) return fail(msg, "\"value\" is only allowed on conversions");
    if (v->kind == AB_RV_INT) ev->value = (double)v->i;
    else if (v->kind == AB_RV_REAL && isfinite(v->d)) ev->value = v->d;
    else return fail(msg, "\"value\" must be a finite number");
    if (!(fabs(ev->value) <= AB_EVENT_VALUE_MAX))
        return fail(msg, "\"value\" must be between -1e20 and 1e20"); /* AB_EVENT_VALUE_MAX */
    return 0;
}

/* covariate: exposures only, a finite number known before the exposure
 * (README "Events"), within AB_EVENT_COVARIATE_MAX so that its square and
 * its products with revenue stay finite in the per-arm sums. */
static int check_covariate(const ab_raw_val *v, ab_event *ev, char *msg)
{
    ev->covariate = NAN;
    if (!present(v)) return 0;
    if (ev->type != AB_EVENT_EXPOSURE)
        return fail(msg, "\"covariate\" is only allowed on exposures");
    if (v->kind == AB_RV_INT) ev->covariate = (double)v->i;
    else if (v->kind == AB_RV_REAL && isfinite(v->d)) ev->covariate = v->d;
    else return fail(msg, "\"covariate\" must be a finite number");
    if (!(fabs(ev->covariate) <= AB_EVENT_COVARIATE_MAX))
        return fail(msg, "\"covariate\" must be between -1e20 and 1e20"); /* AB_EVENT_COVARIATE_MAX */
    return 0;
}

/* score: nps only, a JSON integer 0..10 */
static int check_score(const ab_raw_val *v, ab_event *ev, char *msg)
{
    ev->score = -1;
    if (ev->type != AB_EVENT_NPS) {
        if (present(v)) return fail(msg, "\"score\" is only allowed on nps answers");
        return 0;
    }
    if (!present(v)) return fail(msg, "\"score\" is missing (nps answers need it)");
    if (v->kind != AB_RV_INT || v->i < 0 || v->i > AB_EVENT_SCORE_MAX)
        return fail(msg, "\"score\" must be an integer from 0 to %d", AB_EVENT_SCORE_MAX);
    ev->score = (int)v->i;
    return 0;
}

static int check_id(const ab_raw_val *v, ab_event *ev, char *msg)
{
    ev->id_len = 0;
    if (!present(v)) return 0;
    if (v->kind != AB_RV_STRING) return fail(msg, "\"id\" must be a string");
    ev->id_len = v->len;
    if (ev->id_len < 1 || ev->id_len > AB_EVENT_ID_MAX)
        return fail(msg, "\"id\" must be 1 to %d bytes, not %zu", AB_EVENT_ID_MAX, ev->id_len);
    return 0;
}

/* Whether ts (read from v) lies in the window; else -1 with msg saying
 * which edge it crossed and what to do, quoting the value as sent. The
 * floor comes first: a 1970 time is a clock or unit error for everyone,
 * not a backfill an admin token would allow. */
static int ts_in_window(const ab_ts_window *w, const ab_raw_val *v, int64_t ts, char *msg)
{
    char q[40], shown[48], edge[32];

    if (ts >= w->earliest_ms && ts >= AB_TS_MIN_MS && ts <= w->now_ms + AB_TS_AHEAD_MS) return 0;
    if (v->kind == AB_RV_STRING)
        snprintf(shown, sizeof shown, "\"%s\"", ab_event_quote(q, sizeof q, v->s, v->len));
    else
        snprintf(shown, sizeof shown, "%lld", (long long)ts);
    if (ts < AB_TS_MIN_MS) {
        ab_time_format_rfc3339(AB_TS_MIN_MS, edge, sizeof edge);
        if (v->kind == AB_RV_INT && ts < AB_TS_SECONDS_BELOW)
            return fail(msg, "\"ts\" %s is before %.10s: it looks like epoch seconds; send epoch "
                        "milliseconds (x 1000) or an RFC 3339 time", shown, edge);
        return fail(msg, "\"ts\" %s is before %.10s, the earliest time accepted", shown, edge);
    }
    if (ts >= w->earliest_ms) {
        ab_time_format_rfc3339(w->now_ms, edge, sizeof edge);
        return fail(msg, "\"ts\" %s is more than %lld minutes after arrival (%s): check the "
                    "sender's clock", shown, AB_TS_AHEAD_MS / 60000, edge);
    }
    return fail(msg, "\"ts\" %s is more than %lld hours before arrival: backfilling history "
                "needs an admin token", shown, (long long)((w->now_ms - w->earliest_ms) / 3600000));
}

/* ts: RFC 3339 or integer epoch milliseconds, within the window */
static int check_ts(const ab_event_checker *c, const ab_raw_val *v, ab_event *ev, char *msg)
{
    char q[72];
    ev->ts_ms = c->window.now_ms;
    if (!present(v)) return 0;
    if (v->kind == AB_RV_STRING) {
        if (ab_time_parse_rfc3339(v->s, v->len, &ev->ts_ms))
            return fail(msg, "\"ts\" \"%s\" is not an RFC 3339 time (like 2026-11-22T10:00:00Z)",
                        ab_event_quote(q, sizeof q, v->s, v->len));
    } else if (v->kind == AB_RV_INT) {
        ev->ts_ms = v->i;
    } else {
        return fail(msg, "\"ts\" must be an RFC 3339 string or integer epoch milliseconds");
    }
    return ts_in_window(&c->window, v, ev->ts_ms, msg);
}

/* Copies user and id out of the reader's input (gone after the body is
 * parsed), both in one arena allocation. -2 when out of memory. */
static int copy_strings(ab_event_checker *c, const ab_raw_event *r, ab_event *ev)
{
    size_t need = ev->user_len + 1 + (ev->id_len ? ev->id_len + 1 : 0);
    char *p = ab_arena_alloc(c->arena, need);
    if (!p) return -2;
    memcpy(p, r->f[AB_EF_USER].s, ev->user_len);
    p[ev->user_len] = '\0';
    ev->user = p;
    ev->id = NULL;
    if (ev->id_len) {
        char *d = p + ev->user_len + 1;
        memcpy(d, r->f[AB_EF_ID].s, ev->id_len);
        d[ev->id_len] = '\0';
        ev->id = d;
    }
    return 0;
}

int ab_event_validate(ab_event_checker *c, const ab_raw_event *r, ab_event *ev, char *msg)
{
    const ab_raw_val *f = r->f;
    char q[72];

    /* A typo such as "varaint" must not be silently ignored. */
    if (r->unknown)
        return fail(msg, "unknown key \"%s\"", ab_event_quote(q, sizeof q, r->unknown, r->unknown_len));
    if (check_experiment(c, &f[AB_EF_EXPERIMENT], ev, msg) || check_type(&f[AB_EF_TYPE], ev, msg) ||
        check_user(&f[AB_EF_USER], ev, msg) || check_variant(c, &f[AB_EF_VARIANT], ev, msg) ||
        check_phase(c, &f[AB_EF_PHASE], ev, msg) || check_value(&f[AB_EF_VALUE], ev, msg) ||
        check_covariate(&f[AB_EF_COVARIATE], ev, msg) ||
        check_score(&f[AB_EF_SCORE], ev, msg) || check_id(&f[AB_EF_ID], ev, msg) ||
        check_ts(c, &f[AB_EF_TS], ev, msg))
        return -1;
    return copy_strings(c, r, ev);
}
