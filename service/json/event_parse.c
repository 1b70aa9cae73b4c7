/* event_parse.c — ingest bodies (object, array or NDJSON) to validated events, all or nothing. */

/* SPEC section 4. Two readers feed one validator. jansson is the reference
 * reader and gives every syntax error its message. In front of it sits a
 * strict scanner for the
 * shape nearly every event has — a flat object of strings, numbers, booleans
 * and null, no escapes — because jansson alone tops out near 350k events/s
 * (a malloc per value, a function call per byte), below what ingest needs.
 * The scanner accepts a subset of what jansson accepts and reads the same
 * values; on anything else (an escape, nesting, a duplicate key, bad syntax)
 * it gives up and jansson reads that event again, so behaviour and messages
 * do not depend on which reader ran. */
#include "core/event.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_ID_MAX 128
/* Largest revenue of one conversion: above any real order in any currency's
 * smallest unit, small enough that per-user sums (of up to 2^53 events) and
 * their squares (over up to 2^53 users) stay far from overflowing. */
#define VALUE_MAX 1e20
#define MSG_MAX sizeof(((ab_event_error *)0)->text)

int ab_event_fast_scan = 1;

int ab_event_user_check(size_t len, char *msg, size_t cap)
{
    if (len >= 1 && len <= AB_USER_MAX) return 0;
    snprintf(msg, cap, "\"user\" must be 1 to %d bytes, not %zu", AB_USER_MAX, len);
    return -1;
}

/* ---- one event, whichever reader read it ---------------------------------- */

enum { F_EXPERIMENT, F_TYPE, F_USER, F_VARIANT, F_PHASE, F_VALUE, F_SCORE, F_ID, F_TS, F_COUNT };

typedef enum { RV_ABSENT = 0, RV_NULL, RV_STRING, RV_INT, RV_REAL, RV_BOOL, RV_OTHER } rv_kind;

typedef struct {
    rv_kind kind;
    const char *s; /* RV_STRING: len bytes of valid UTF-8 without NUL, borrowed */
    size_t len;
    int64_t i;     /* RV_INT */
    double d;      /* RV_REAL */
} raw_val;

typedef struct {
    raw_val f[F_COUNT];
    const char *unknown; /* the first key that is not a field, or NULL */
    size_t unknown_len;
} raw_event;

/* Field index of a key, or -1. */
static int field_of(const char *k, size_t len)
{
    switch (len) {
    case 2:
        if (!memcmp(k, "id", 2)) return F_ID;
        if (!memcmp(k, "ts", 2)) return F_TS;
        break;
    case 4:
        if (!memcmp(k, "type", 4)) return F_TYPE;
        if (!memcmp(k, "user", 4)) return F_USER;
        break;
    case 5:
        if (!memcmp(k, "phase", 5)) return F_PHASE;
        if (!memcmp(k, "value", 5)) return F_VALUE;
        if (!memcmp(k, "score", 5)) return F_SCORE;
        break;
    case 7:
        if (!memcmp(k, "variant", 7)) return F_VARIANT;
        break;
    case 10:
        if (!memcmp(k, "experiment", 10)) return F_EXPERIMENT;
        break;
    default:
        break;
    }
    return -1;
}

/* State shared by the events of one body. */
typedef struct {
    ab_ts_window window;
    ab_experiment_lookup lookup;
    void *lookup_ctx;
    ab_arena *arena;
    ab_event_batch *batch;
    size_t max_errors;
    size_t err_cap;      /* entries allocated for batch->errors */
    size_t count;        /* events in the body */
    ab_event *events;
    size_t ev_cap;       /* entries allocated for events */
    /* Bodies almost always name one experiment over and over: the last
     * answer of lookup is remembered so most events skip the callback. */
    char last_id[AB_ID_MAX + 1];
    size_t last_len;
    int have_last;
    void *last_exp;
    const ab_experiment_config *last_cfg;
    int last_running;
    /* The first error, for the one-line summary. */
    size_t first_index;
    char first_text[MSG_MAX];
    int oom;
} parse_ctx;

/* ---- error texts -------------------------------------------------------- */

/* Errors end up in JSON answers, so their text must be valid UTF-8 even when
 * snprintf cut a multi-byte character or an input slipped through: invalid
 * bytes become '?', an incomplete sequence at the end is dropped. */
static void utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4 : 0;
        size_t k;
        if (n == 0) {
            *p++ = '?';
            continue;
        }
        for (k = 1; k < n && p[k]; k++)
            if ((p[k] & 0xc0) != 0x80) break;
        if (k < n) {
            if (!p[k]) { /* cut off at the end */
                *p = '\0';
                return;
            }
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

/* Copies a (valid UTF-8) input string for quoting in a message, shortened at
 * a character boundary so one long value cannot crowd out the message. */
static const char *clip(char *buf, size_t cap, const char *s, size_t len)
{
    size_t n = len;
    if (n > cap - 1) {
        n = cap - 4;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
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

/* Grows an arena array of n used entries (first: the first capacity) to
 * hold at least n + 1, at most limit; the old copy stays in the arena until
 * it is reset: doubling keeps that waste below the final size. */
static void *grow(ab_arena *a, void *old, size_t n, size_t *cap, size_t size, size_t limit,
                  size_t first)
{
    size_t want = *cap ? (*cap > SIZE_MAX / 2 ? SIZE_MAX : *cap * 2) : first;
    void *p;
    if (want > limit) want = limit;
    if (want <= n || want > SIZE_MAX / size) return NULL;
    p = ab_arena_alloc(a, want * size);
    if (!p) return NULL;
    if (n) memcpy(p, old, n * size);
    *cap = want;
    return p;
}

static void record_error(parse_ctx *c, size_t index, char *msg)
{
    ab_event_batch *b = c->batch;
    utf8_sanitize(msg);
    if (b->nerr_total++ == 0) {
        c->first_index = index;
        memcpy(c->first_text, msg, MSG_MAX);
    }
    if (b->nerr >= c->max_errors) return;
    if (b->nerr == c->err_cap) {
        ab_event_error *e = grow(c->arena, b->errors, b->nerr, &c->err_cap, sizeof *e,
                                 c->max_errors, 16);
        if (!e) {
            c->oom = 1;
            return;
        }
        b->errors = e;
    }
    b->errors[b->nerr].index = index;
    memcpy(b->errors[b->nerr].text, msg, MSG_MAX);
    b->nerr++;
}

/* ---- validation ---------------------------------------------------------- */

/* JSON null counts as absent: many serialisers write null for "not set". */
static int present(const raw_val *v)
{
    return v->kind != RV_ABSENT && v->kind != RV_NULL;
}

static int resolve_experiment(parse_ctx *c, const char *s, size_t len, char *msg)
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

static int parse_phase(const char *s, size_t len, ab_phase *out)
{
    /* Canonical names first: they are what most clients send. */
    for (int p = 0; p < AB_PHASE_COUNT; p++) {
        const char *name = ab_phase_name((ab_phase)p);
        if (strlen(name) == len && !memcmp(name, s, len)) {
            *out = (ab_phase)p;
            return 0;
        }
    }
    return ab_phase_parse(s, len, out);
}

ab_ts_window ab_ts_window_at(int64_t now_ms, int may_backfill)
{
    ab_ts_window w;
    w.now_ms = now_ms;
    w.earliest_ms = AB_TS_MIN_MS;
    if (!may_backfill && now_ms - AB_TS_LATE_MS > AB_TS_MIN_MS)
        w.earliest_ms = now_ms - AB_TS_LATE_MS;
    return w;
}

/* Whether ts (read from v) lies in the window; else -1 with msg saying
 * which edge it crossed and what to do, quoting the value as sent. The
 * floor comes first: a 1970 time is a clock or unit error for everyone,
 * not a backfill an admin token would allow. */
static int ts_in_window(const ab_ts_window *w, const raw_val *v, int64_t ts, char *msg)
{
    char q[40], shown[48], edge[32];

    if (ts >= w->earliest_ms && ts >= AB_TS_MIN_MS && ts <= w->now_ms + AB_TS_AHEAD_MS) return 0;
    if (v->kind == RV_STRING)
        snprintf(shown, sizeof shown, "\"%s\"", clip(q, sizeof q, v->s, v->len));
    else
        snprintf(shown, sizeof shown, "%lld", (long long)ts);
    if (ts < AB_TS_MIN_MS) {
        ab_time_format_rfc3339(AB_TS_MIN_MS, edge, sizeof edge);
        if (v->kind == RV_INT && ts < AB_TS_SECONDS_BELOW)
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

/* Validates r into *ev. Returns 0, or -1 with msg (MSG_MAX bytes) saying
 * which field is wrong and how; -2 when out of memory. */
static int validate(parse_ctx *c, const raw_event *r, ab_event *ev, char *msg)
{
    const raw_val *f = r->f;
    char q[72];
    const char *s;
    size_t len;

    /* A typo such as "varaint" must not be silently ignored. */
    if (r->unknown)
        return fail(msg, "unknown key \"%s\"", clip(q, sizeof q, r->unknown, r->unknown_len));

    /* experiment: known and running */
    if (!present(&f[F_EXPERIMENT])) return fail(msg, "\"experiment\" is missing");
    if (f[F_EXPERIMENT].kind != RV_STRING) return fail(msg, "\"experiment\" must be a string");
    if (resolve_experiment(c, f[F_EXPERIMENT].s, f[F_EXPERIMENT].len, msg)) return -1;
    if (!c->last_exp) return fail(msg, "unknown experiment \"%s\"", c->last_id);
    if (!c->last_running) return fail(msg, "experiment \"%s\" is stopped", c->last_id);
    const ab_experiment_config *cfg = c->last_cfg;
    ev->exp = c->last_exp;

    /* type */
    if (!present(&f[F_TYPE])) return fail(msg, "\"type\" is missing");
    if (f[F_TYPE].kind != RV_STRING)
        return fail(msg, "\"type\" must be \"exposure\", \"conversion\" or \"nps\"");
    s = f[F_TYPE].s;
    len = f[F_TYPE].len;
    if (len == 8 && !memcmp(s, "exposure", 8)) ev->type = AB_EVENT_EXPOSURE;
    else if (len == 10 && !memcmp(s, "conversion", 10)) ev->type = AB_EVENT_CONVERSION;
    else if (len == 3 && !memcmp(s, "nps", 3)) ev->type = AB_EVENT_NPS;
    else
        return fail(msg, "\"type\" must be \"exposure\", \"conversion\" or \"nps\", not \"%s\"",
                    clip(q, sizeof q, s, len));

    /* user */
    if (!present(&f[F_USER])) return fail(msg, "\"user\" is missing");
    if (f[F_USER].kind != RV_STRING) return fail(msg, "\"user\" must be a string");
    ev->user_len = f[F_USER].len;
    if (ab_event_user_check(ev->user_len, msg, MSG_MAX)) return -1;

    /* variant: the exposure's arm. Other types may carry it (clients often
     * send it with everything) but it is not used: a user's variant is the
     * one of its first exposure. */
    ev->variant = -1;
    if (ev->type == AB_EVENT_EXPOSURE) {
        if (!present(&f[F_VARIANT]))
            return fail(msg, "\"variant\" is missing (exposures need it)");
        if (f[F_VARIANT].kind != RV_STRING) return fail(msg, "\"variant\" must be a string");
        s = f[F_VARIANT].s;
        len = f[F_VARIANT].len;
        ev->variant = ab_experiment_variant_index(cfg, s, len);
        if (ev->variant < 0)
            return fail(msg, "\"variant\" \"%s\" is not a variant of experiment \"%s\"",
                        clip(q, sizeof q, s, len), c->last_id);
    } else if (present(&f[F_VARIANT]) && f[F_VARIANT].kind != RV_STRING) {
        return fail(msg, "\"variant\" must be a string");
    }

    /* phase */
    ev->phase = ev->type == AB_EVENT_NPS ? AB_PHASE_ADVOCACY : cfg->phase;
    if (present(&f[F_PHASE])) {
        if (f[F_PHASE].kind != RV_STRING) return fail(msg, "\"phase\" must be a string");
        s = f[F_PHASE].s;
        len = f[F_PHASE].len;
        if (parse_phase(s, len, &ev->phase)) {
            ab_phase_unknown(msg, MSG_MAX, NULL, s, len);
            return -1;
        }
    }

    /* value: conversions only, a finite number (refunds may be negative) of
     * at most VALUE_MAX in size. Unbounded, one value of 1e200 overflowed
     * the sum of squares to infinity and every later results request of
     * its experiment failed with 500, for good (events cannot be removed). */
    ev->value = NAN;
    if (present(&f[F_VALUE])) {
        const raw_val *v = &f[F_VALUE];
        if (ev->type != AB_EVENT_CONVERSION)
            return fail(msg, "\"value\" is only allowed on conversions");
        if (v->kind == RV_INT) ev->value = (double)v->i;
        else if (v->kind == RV_REAL && isfinite(v->d)) ev->value = v->d;
        else return fail(msg, "\"value\" must be a finite number");
        if (!(fabs(ev->value) <= VALUE_MAX))
            return fail(msg, "\"value\" must be between -1e20 and 1e20");
    }

    /* score: nps only, a JSON integer 0..10 */
    ev->score = -1;
    if (ev->type == AB_EVENT_NPS) {
        const raw_val *v = &f[F_SCORE];
        if (!present(v)) return fail(msg, "\"score\" is missing (nps answers need it)");
        if (v->kind != RV_INT || v->i < 0 || v->i > 10)
            return fail(msg, "\"score\" must be an integer from 0 to 10");
        ev->score = (int)v->i;
    } else if (present(&f[F_SCORE])) {
        return fail(msg, "\"score\" is only allowed on nps answers");
    }

    /* id */
    ev->id_len = 0;
    if (present(&f[F_ID])) {
        if (f[F_ID].kind != RV_STRING) return fail(msg, "\"id\" must be a string");
        ev->id_len = f[F_ID].len;
        if (ev->id_len < 1 || ev->id_len > EVENT_ID_MAX)
            return fail(msg, "\"id\" must be 1 to %d bytes, not %zu", EVENT_ID_MAX, ev->id_len);
    }

    /* ts: RFC 3339 or integer epoch milliseconds, within the window */
    ev->ts_ms = c->window.now_ms;
    if (present(&f[F_TS])) {
        const raw_val *v = &f[F_TS];
        if (v->kind == RV_STRING) {
            if (ab_time_parse_rfc3339(v->s, v->len, &ev->ts_ms))
                return fail(msg, "\"ts\" \"%s\" is not an RFC 3339 time "
                            "(like 2026-11-22T10:00:00Z)", clip(q, sizeof q, v->s, v->len));
        } else if (v->kind == RV_INT) {
            ev->ts_ms = v->i;
        } else {
            return fail(msg, "\"ts\" must be an RFC 3339 string or integer epoch milliseconds");
        }
        if (ts_in_window(&c->window, v, ev->ts_ms, msg)) return -1;
    }

    /* Copy the strings out of the body/JSON (gone after we return), both in
     * one arena allocation. */
    {
        size_t need = ev->user_len + 1 + (ev->id_len ? ev->id_len + 1 : 0);
        char *p = ab_arena_alloc(c->arena, need);
        if (!p) return -2;
        memcpy(p, f[F_USER].s, ev->user_len);
        p[ev->user_len] = '\0';
        ev->user = p;
        ev->id = NULL;
        if (ev->id_len) {
            char *d = p + ev->user_len + 1;
            memcpy(d, f[F_ID].s, ev->id_len);
            d[ev->id_len] = '\0';
            ev->id = d;
        }
    }
    return 0;
}

/* Validates r as the event at index (whose slot exists); errors are
 * recorded. Returns -1 only when out of memory. */
static int accept_raw(parse_ctx *c, const raw_event *r, size_t index)
{
    char msg[MSG_MAX];
    int rc = validate(c, r, &c->events[index], msg);
    if (rc == -2) c->oom = 1;
    else if (rc) record_error(c, index, msg);
    return c->oom ? -1 : 0;
}

/* ---- the jansson reader --------------------------------------------------- */

static void raw_init(raw_event *r)
{
    for (int i = 0; i < F_COUNT; i++) r->f[i].kind = RV_ABSENT;
    r->unknown = NULL;
    r->unknown_len = 0;
}

static int raw_from_json(const json_t *obj, raw_event *r, char *msg)
{
    raw_init(r);
    if (!json_is_object(obj)) return fail(msg, "event must be a JSON object");
    for (void *it = json_object_iter((json_t *)obj); it;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        const json_t *v = json_object_iter_value(it);
        size_t klen = strlen(key); /* keys never hold NUL: jansson refuses them */
        int f = field_of(key, klen);
        raw_val *rv;
        if (f < 0) {
            r->unknown = key;
            r->unknown_len = klen;
            return 0; /* validate reports it first */
        }
        rv = &r->f[f];
        switch (json_typeof(v)) {
        case JSON_STRING:
            rv->kind = RV_STRING;
            rv->s = json_string_value(v);
            rv->len = json_string_length(v);
            break;
        case JSON_INTEGER:
            rv->kind = RV_INT;
            rv->i = json_integer_value(v);
            break;
        case JSON_REAL:
            rv->kind = RV_REAL;
            rv->d = json_real_value(v);
            break;
        case JSON_TRUE:
        case JSON_FALSE:
            rv->kind = RV_BOOL;
            break;
        case JSON_NULL:
            rv->kind = RV_NULL;
            break;
        default:
            rv->kind = RV_OTHER;
            break;
        }
    }
    return 0;
}

/* Validates a jansson value as the event at index. -1 only when out of memory. */
static int accept_json(parse_ctx *c, const json_t *v, size_t index)
{
    raw_event r;
    char msg[MSG_MAX];
    if (raw_from_json(v, &r, msg)) {
        record_error(c, index, msg);
        return c->oom ? -1 : 0;
    }
    return accept_raw(c, &r, index);
}

/* ---- the fast scanner ------------------------------------------------------
 * Each function returns the position after what it read, or NULL to give up
 * (never an error of its own: jansson then reads the input and judges it). */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Length of the strictly valid UTF-8 sequence (2-4 bytes) at q, or 0:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *q, const unsigned char *e)
{
    unsigned c = q[0], cp;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
    else return 0;
    if ((size_t)(e - q) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((q[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (q[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A string at p ('"'): its bytes, when they need no decoding. */
static const char *scan_string(const char *p, const char *end, const char **s, size_t *len)
{
    const unsigned char *q = (const unsigned char *)p + 1, *e = (const unsigned char *)end;
    while (q < e) {
        unsigned char ch = *q;
        if (ch == '"') {
            *s = p + 1;
            *len = (size_t)((const char *)q - (p + 1));
            return (const char *)q + 1;
        }
        if (ch == '\\' || ch < 0x20) return NULL; /* escapes, control characters */
        if (ch < 0x80) {
            q++;
        } else {
            size_t n = utf8_seq(q, e);
            if (!n) return NULL;
            q += n;
        }
    }
    return NULL;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A number by the JSON grammar, read as jansson reads it: without fraction
 * and exponent a 64-bit integer, else a double from strtod. */
static const char *scan_number(const char *p, const char *end, raw_val *v)
{
    const char *q = p, *digits;
    int neg = 0, real = 0;

    if (*q == '-') {
        neg = 1;
        q++;
    }
    digits = q;
    if (q >= end || !is_digit(*q)) return NULL;
    if (*q == '0') {
        q++;
        if (q < end && is_digit(*q)) return NULL; /* leading zero */
    } else {
        while (q < end && is_digit(*q)) q++;
    }
    if (q < end && *q == '.') {
        real = 1;
        q++;
        if (q >= end || !is_digit(*q)) return NULL;
        while (q < end && is_digit(*q)) q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        real = 1;
        q++;
        if (q < end && (*q == '+' || *q == '-')) q++;
        if (q >= end || !is_digit(*q)) return NULL;
        while (q < end && is_digit(*q)) q++;
    }
    if (!real) {
        int64_t x = 0;
        if (q - digits > 18) return NULL; /* may overflow: jansson decides */
        for (const char *d = digits; d < q; d++) x = x * 10 + (*d - '0');
        v->kind = RV_INT;
        v->i = neg ? -x : x;
    } else {
        char buf[64], *ep;
        size_t n = (size_t)(q - p);
        if (n >= sizeof buf) return NULL;
        memcpy(buf, p, n);
        buf[n] = '\0';
        v->d = strtod(buf, &ep);
        /* A locale whose decimal point is not '.' stops strtod early;
         * an overflow is an error in jansson: both go the slow way. */
        if (ep != buf + n || isinf(v->d)) return NULL;
        v->kind = RV_REAL;
    }
    return q;
}

/* A flat object at p ('{') into *r. */
static const char *scan_object(const char *p, const char *end, raw_event *r)
{
    unsigned seen = 0;
    raw_val other;

    raw_init(r);
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') return p + 1;
    for (;;) {
        const char *k;
        size_t klen;
        raw_val *v;
        int f;

        if (p >= end || *p != '"') return NULL;
        if (!(p = scan_string(p, end, &k, &klen))) return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p = skip_ws(p + 1, end);
        if (p >= end) return NULL;
        f = field_of(k, klen);
        if (f >= 0) {
            if (seen & (1u << f)) return NULL; /* duplicate: jansson reports it */
            seen |= 1u << f;
            v = &r->f[f];
        } else {
            /* A second unknown key might repeat the first: let jansson look. */
            if (r->unknown) return NULL;
            r->unknown = k;
            r->unknown_len = klen;
            v = &other;
        }
        switch (*p) {
        case '"':
            if (!(p = scan_string(p, end, &v->s, &v->len))) return NULL;
            v->kind = RV_STRING;
            break;
        case 't':
            if (end - p < 4 || memcmp(p, "true", 4)) return NULL;
            v->kind = RV_BOOL;
            p += 4;
            break;
        case 'f':
            if (end - p < 5 || memcmp(p, "false", 5)) return NULL;
            v->kind = RV_BOOL;
            p += 5;
            break;
        case 'n':
            if (end - p < 4 || memcmp(p, "null", 4)) return NULL;
            v->kind = RV_NULL;
            p += 4;
            break;
        case '-': case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
            if (!(p = scan_number(p, end, v))) return NULL;
            break;
        default: /* nested values and anything else */
            return NULL;
        }
        /* Only a separator may follow a value: "truex", "1 2" give up here. */
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == '}') return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

/* ---- bodies ------------------------------------------------------------- */

/* Start of the next non-blank line at or after p (end when none); *eol is
 * set to its '\n' or end. Blank: only spaces, tabs and '\r'. */
static const char *next_line(const char *p, const char *end, const char **eol)
{
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q < e) {
            *eol = e;
            return p;
        }
        p = e < end ? e + 1 : end;
    }
    *eol = end;
    return end;
}

static size_t count_lines(const char *p, const char *end)
{
    size_t n = 0;
    const char *eol;
    for (p = next_line(p, end, &eol); p < end; p = next_line(eol, end, &eol)) n++;
    return n;
}

static int alloc_events(parse_ctx *c, ab_error *err)
{
    if (c->count > SIZE_MAX / sizeof(ab_event) ||
        !(c->events = ab_arena_alloc(c->arena, c->count * sizeof(ab_event))))
        return ab_error_set(err, 500, "out of memory");
    c->ev_cap = c->count;
    return 0;
}

static int too_many(size_t max_events, ab_error *err)
{
    return ab_error_set(err, 413, "too many events in one request (max %zu)", max_events);
}

static int out_of_memory(ab_error *err)
{
    return ab_error_set(err, 500, "out of memory");
}

/* One NDJSON line [p, eol) as the event at index. */
static int ndjson_line(parse_ctx *c, const char *p, const char *eol, size_t index)
{
    raw_event r;
    const char *q = skip_ws(p, eol);
    json_error_t je;
    json_t *v;
    int rc;

    if (ab_event_fast_scan && q < eol && *q == '{' && (q = scan_object(q, eol, &r)) &&
        skip_ws(q, eol) == eol)
        return accept_raw(c, &r, index);
    v = json_loadb(p, (size_t)(eol - p), JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        char msg[MSG_MAX];
        snprintf(msg, sizeof msg, "not valid JSON: %.120s (column %d)", je.text, je.column);
        record_error(c, index, msg);
        return c->oom ? -1 : 0;
    }
    rc = accept_json(c, v, index);
    json_decref(v);
    return rc;
}

/* NDJSON: every non-blank line one object. */
static int parse_ndjson(parse_ctx *c, const char *p, const char *end, size_t max_events,
                        ab_error *err)
{
    const char *eol;
    size_t i = 0;

    c->count = count_lines(p, end);
    if (c->count > max_events) return too_many(max_events, err);
    if (alloc_events(c, err)) return -1;
    for (p = next_line(p, end, &eol); p < end; p = next_line(eol, end, &eol), i++)
        if (ndjson_line(c, p, eol, i)) return out_of_memory(err);
    return 0;
}

static int body_not_json(const json_error_t *je, ab_error *err)
{
    ab_error_set(err, 400, "body is not valid JSON: %s (line %d, column %d)", je->text,
                 je->line, je->column);
    utf8_sanitize(err->text);
    return -1;
}

/* An array by the fast scanner. Returns 0 (read; events validated), -1 (err
 * set), or 1: gave up, nothing decided; the caller starts over with jansson. */
static int fast_array(parse_ctx *c, const char *p, const char *end, size_t max_events,
                      ab_error *err)
{
    size_t n = 0;
    raw_event r;

    p = skip_ws(p + 1, end);
    if (p < end && *p == ']') {
        if (skip_ws(p + 1, end) != end) return 1;
        return ab_error_set(err, 400, "no events");
    }
    for (;;) {
        if (p >= end || *p != '{' || !(p = scan_object(p, end, &r))) return 1;
        if (n >= max_events) return too_many(max_events, err);
        if (n == c->ev_cap) {
            /* Events rarely take under 64 bytes: a first capacity guessed
             * from the body's size mostly avoids growing at all. */
            ab_event *e = grow(c->arena, c->events, n, &c->ev_cap, sizeof *e, max_events,
                               (size_t)(end - p) / 64 + 16);
            if (!e) return out_of_memory(err);
            c->events = e;
        }
        if (accept_raw(c, &r, n)) return out_of_memory(err);
        n++;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == ']' && skip_ws(p + 1, end) == end) break;
        return 1;
    }
    c->count = n;
    return 0;
}

static int parse_array(parse_ctx *c, const char *p, const char *end, size_t max_events,
                       ab_error *err)
{
    json_error_t je;
    json_t *root;
    int rc = ab_event_fast_scan ? fast_array(c, p, end, max_events, err) : 1;

    if (rc <= 0) return rc;
    /* Start over: forget what the scanner validated and recorded. */
    c->batch->nerr = c->batch->nerr_total = 0;
    c->batch->errors = NULL;
    c->err_cap = 0;
    c->events = NULL;
    c->ev_cap = 0;

    root = json_loadb(p, (size_t)(end - p), JSON_REJECT_DUPLICATES, &je);
    if (!root) return body_not_json(&je, err);
    c->count = json_array_size(root);
    if (c->count == 0) rc = ab_error_set(err, 400, "no events");
    else if (c->count > max_events) rc = too_many(max_events, err);
    else rc = alloc_events(c, err);
    for (size_t i = 0; !rc && i < c->count; i++)
        if (accept_json(c, json_array_get(root, i), i)) rc = out_of_memory(err);
    json_decref(root);
    return rc;
}

/* One object (which may span lines), or the first line of NDJSON. */
static int parse_object_or_ndjson(parse_ctx *c, const char *p, const char *end,
                                  size_t max_events, ab_error *err)
{
    json_error_t je;
    raw_event r;
    json_t *root = NULL;
    const char *after = ab_event_fast_scan ? scan_object(p, end, &r) : NULL;

    if (!after) {
        /* Read the first value only and look at what follows it. */
        root = json_loadb(p, (size_t)(end - p),
                          JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &je);
        if (root) after = p + je.position;
    }
    if (after) {
        if (skip_ws(after, end) == end) { /* a single object */
            int rc;
            c->count = 1;
            if (max_events < 1) rc = too_many(max_events, err);
            else if (!(rc = alloc_events(c, err)) &&
                     (root ? accept_json(c, root, 0) : accept_raw(c, &r, 0)))
                rc = out_of_memory(err);
            json_decref(root);
            return rc;
        }
        /* More follows: NDJSON, whose lines are read (again) one by one. */
        json_decref(root);
        return parse_ndjson(c, p, end, max_events, err);
    }

    /* The first value is broken. A body of several lines whose second line
     * starts a new object is NDJSON with a bad line (reported at its index);
     * otherwise it is one broken (perhaps pretty-printed) value. */
    {
        const char *eol, *l2;
        next_line(p, end, &eol);
        l2 = skip_ws(next_line(eol, end, &eol), end);
        if (l2 < end && *l2 == '{') return parse_ndjson(c, p, end, max_events, err);
    }
    return body_not_json(&je, err);
}

static int parse_body(parse_ctx *c, const char *body, size_t len, size_t max_events,
                      ab_error *err)
{
    const char *p = body, *end = body + len;

    /* A UTF-8 byte order mark, which some tools write, is not content. */
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) p += 3;
    p = skip_ws(p, end);
    if (p == end) return ab_error_set(err, 400, "no events");
    if (*p == '[') return parse_array(c, p, end, max_events, err);
    if (*p == '{') return parse_object_or_ndjson(c, p, end, max_events, err);
    return ab_error_set(err, 400, "body must be a JSON object, an array of objects or NDJSON");
}

int ab_event_parse_body(const char *body, size_t len, const ab_ts_window *window,
                        ab_experiment_lookup lookup, void *lookup_ctx, size_t max_events,
                        size_t max_errors, ab_arena *arena, ab_event_batch *batch,
                        ab_error *err)
{
    parse_ctx c;

    memset(batch, 0, sizeof *batch);
    memset(&c, 0, sizeof c);
    c.window = *window;
    c.lookup = lookup;
    c.lookup_ctx = lookup_ctx;
    c.arena = arena;
    c.batch = batch;
    c.max_errors = max_errors;
    if (!body) len = 0;

    if (parse_body(&c, body ? body : "", len, max_events, err)) {
        batch->n = 0;
        return -1;
    }
    if (batch->nerr_total) {
        if (c.count == 1)
            ab_error_set(err, 400, "invalid event: %s", c.first_text);
        else
            ab_error_set(err, 400, "%zu of %zu events are invalid; the first, at index %zu: %s",
                         batch->nerr_total, c.count, c.first_index, c.first_text);
        utf8_sanitize(err->text);
        batch->n = 0;
        return -1;
    }
    batch->events = c.events;
    batch->n = c.count;
    return 0;
}
