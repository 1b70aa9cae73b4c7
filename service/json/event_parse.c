/* event_parse.c — body framing of ingest requests (see event_parse.h): object, array or NDJSON, each event read by the fast scanner or jansson and validated by the schema. */

/* Two readers feed one validator. jansson is the reference reader and
 * gives every syntax error its message; in front of it the strict scanner
 * (event_scan.h) reads the shape nearly every event has. On anything else
 * it gives up and jansson reads that event again, so behaviour and
 * messages do not depend on which reader ran. */
#include "json/event_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/utf8.h"
#include "core/event_schema.h"
#include "json/event_json.h"
#include "json/event_scan.h"

#define MSG_MAX AB_EVENT_MSG_MAX

int ab_event_fast_scan = 1;

/* State shared by the events of one body. */
typedef struct {
    ab_event_checker check;
    ab_arena *arena;
    ab_event_batch *batch;
    size_t max_errors;
    size_t err_cap;      /* entries allocated for batch->errors */
    size_t count;        /* events in the body */
    ab_event *events;
    size_t ev_cap;       /* entries allocated for events */
    /* The first error, for the one-line summary. */
    size_t first_index;
    char first_text[MSG_MAX];
    int oom;
} parse_ctx;

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
    ab_utf8_repair(msg);
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

/* Validates r as the event at index (whose slot exists); errors are
 * recorded. Returns -1 only when out of memory. */
static int accept_raw(parse_ctx *c, const ab_raw_event *r, size_t index)
{
    char msg[MSG_MAX];
    int rc = ab_event_validate(&c->check, r, &c->events[index], msg);
    if (rc == -2) c->oom = 1;
    else if (rc) record_error(c, index, msg);
    return c->oom ? -1 : 0;
}

/* Validates a jansson value as the event at index. -1 only when out of memory. */
static int accept_json(parse_ctx *c, const json_t *v, size_t index)
{
    ab_raw_event r;
    char msg[MSG_MAX];
    if (ab_event_from_json(v, &r, msg)) {
        record_error(c, index, msg);
        return c->oom ? -1 : 0;
    }
    return accept_raw(c, &r, index);
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
    ab_raw_event r;
    const char *q = ab_scan_ws(p, eol);
    json_error_t je;
    json_t *v;
    int rc;

    if (ab_event_fast_scan && q < eol && *q == '{' && (q = ab_scan_event(q, eol, &r)) &&
        ab_scan_ws(q, eol) == eol)
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
    ab_utf8_repair(err->text);
    return -1;
}

/* An array by the fast scanner. Returns 0 (read; events validated), -1 (err
 * set), or 1: gave up, nothing decided; the caller starts over with jansson. */
static int fast_array(parse_ctx *c, const char *p, const char *end, size_t max_events,
                      ab_error *err)
{
    size_t n = 0;
    ab_raw_event r;

    p = ab_scan_ws(p + 1, end);
    if (p < end && *p == ']') {
        if (ab_scan_ws(p + 1, end) != end) return 1;
        return ab_error_set(err, 400, "no events");
    }
    for (;;) {
        if (p >= end || *p != '{' || !(p = ab_scan_event(p, end, &r))) return 1;
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
        p = ab_scan_ws(p, end);
        if (p < end && *p == ',') {
            p = ab_scan_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == ']' && ab_scan_ws(p + 1, end) == end) break;
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
    ab_raw_event r;
    json_t *root = NULL;
    const char *after = ab_event_fast_scan ? ab_scan_event(p, end, &r) : NULL;

    if (!after) {
        /* Read the first value only and look at what follows it. */
        root = json_loadb(p, (size_t)(end - p),
                          JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &je);
        if (root) after = p + je.position;
    }
    if (after) {
        if (ab_scan_ws(after, end) == end) { /* a single object */
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
        l2 = ab_scan_ws(next_line(eol, end, &eol), end);
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
    p = ab_scan_ws(p, end);
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
    c.check.window = *window;
    c.check.lookup = lookup;
    c.check.lookup_ctx = lookup_ctx;
    c.check.arena = arena;
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
        ab_utf8_repair(err->text);
        batch->n = 0;
        return -1;
    }
    batch->events = c.events;
    batch->n = c.count;
    return 0;
}
