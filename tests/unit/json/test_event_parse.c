/* test_event_parse.c — ingest body parsing (SPEC section 4), the ts window, RFC 3339 times and the arena. */
#include "abstat/stats.h"
#include "test.h"
#include "base/arena.h"
#include "core/event.h"
#include "json/event_parse.h"

#include <math.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW 1795341600000LL /* 2026-11-22T10:00:00Z */

/* ---- experiments served by the lookup callback -------------------------- */

static ab_experiment_config cta, other, stopped;
static char n_control[] = "control", n_buynow[] = "buy-now", n_bz[] = "b/z", n_a[] = "a",
            n_b[] = "b";
static int lookups;

static void setup_experiments(void)
{
    strcpy(cta.id, "checkout-cta");
    cta.phase = AB_PHASE_DECISION;
    cta.k = 3;
    cta.names[0] = n_control;
    cta.names[1] = n_buynow;
    cta.names[2] = n_bz;

    strcpy(other.id, "landing.v2");
    other.phase = AB_PHASE_CONSIDERATION;
    other.k = 2;
    other.names[0] = n_a;
    other.names[1] = n_b;

    strcpy(stopped.id, "old-test");
    stopped.phase = AB_PHASE_DECISION;
    stopped.k = 2;
    stopped.names[0] = n_a;
    stopped.names[1] = n_b;
}

static void *lookup(void *ctx, const char *id, size_t len, const ab_experiment_config **cfg,
                    int *running)
{
    ab_experiment_config *all[] = {&cta, &other, &stopped};
    (void)ctx;
    lookups++;
    for (size_t i = 0; i < 3; i++) {
        if (strlen(all[i]->id) == len && !memcmp(all[i]->id, id, len)) {
            *cfg = all[i];
            *running = all[i] != &stopped;
            return all[i];
        }
    }
    return NULL;
}

/* ---- parsing helpers ----------------------------------------------------- */

static ab_arena arena;
static ab_event_batch batch;
static ab_error err;
/* The windows of a request arriving at NOW: from a sender that may
 * backfill (admin token, open daemon), and from an ingest-only token. */
static ab_ts_window any_age, late_only;
static const ab_ts_window *window = &any_age;

static int parse_n(const char *body, size_t len, size_t max_events, size_t max_errors)
{
    ab_arena_reset(&arena);
    memset(&err, 0, sizeof err);
    return ab_event_parse_body(body, len, window, lookup, NULL, max_events, max_errors, &arena,
                               &batch, &err);
}

static int parse(const char *body)
{
    return parse_n(body, strlen(body), 10000, 100);
}

static int contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* Growable string for building bodies. */
typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        b->cap = (b->n + l + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) abort();
    }
    memcpy(b->s + b->n, s, l + 1);
    b->n += l;
}

#define EXPO(user, variant)                                                          \
    "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\",\"user\":\"" user        \
    "\",\"variant\":\"" variant "\"}"

/* ---- single objects, arrays, NDJSON -------------------------------------- */

static void test_single_object(void)
{
    int rc = parse("{\"experiment\": \"checkout-cta\", \"variant\": \"buy-now\", \"user\": \"u-1842\",\n"
                   " \"type\": \"exposure\", \"phase\": \"decision\", \"id\": \"evt-77f1\",\n"
                   " \"ts\": \"2026-11-22T10:00:00Z\"}\n");
    CHECK_INT(rc, 0);
    CHECK_INT(batch.n, 1);
    CHECK_INT(batch.nerr_total, 0);
    if (batch.n == 1) {
        ab_event *e = &batch.events[0];
        CHECK(e->exp == &cta);
        CHECK_INT(e->type, AB_EVENT_EXPOSURE);
        CHECK_INT(e->phase, AB_PHASE_DECISION);
        CHECK_INT(e->variant, 1);
        CHECK(isnan(e->value));
        CHECK_INT(e->score, -1);
        CHECK_INT(e->ts_ms, 1795341600000LL);
        CHECK_INT(e->user_len, 6);
        CHECK(!strcmp(e->user, "u-1842"));
        CHECK_INT(e->id_len, 8);
        CHECK(e->id && !strcmp(e->id, "evt-77f1"));
    }

    /* Minimal exposure: defaults. The third variant has a '/' in its name. */
    CHECK_INT(parse(EXPO("u1", "b/z")), 0);
    if (batch.n == 1) {
        CHECK_INT(batch.events[0].variant, 2);
        CHECK_INT(batch.events[0].ts_ms, NOW);
        CHECK(batch.events[0].id == NULL);
        CHECK_INT(batch.events[0].id_len, 0);
        CHECK_INT(batch.events[0].phase, AB_PHASE_DECISION);
    }

    /* Conversion with revenue; phase defaults to the experiment's. */
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"u-1842\",\"type\":\"conversion\","
                    "\"phase\":\"decision\",\"value\":59.90}"), 0);
    if (batch.n == 1) {
        CHECK_INT(batch.events[0].type, AB_EVENT_CONVERSION);
        CHECK(batch.events[0].value == 59.90);
        CHECK_INT(batch.events[0].variant, -1);
    }
    CHECK_INT(parse("{\"experiment\":\"landing.v2\",\"user\":\"x\",\"type\":\"conversion\"}"), 0);
    if (batch.n == 1) {
        CHECK(batch.events[0].exp == &other);
        CHECK_INT(batch.events[0].phase, AB_PHASE_CONSIDERATION);
        CHECK(isnan(batch.events[0].value));
    }
    /* An exposure's covariate: integer, real, negative, 0, the largest; null
     * counts as absent. */
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"x\",\"type\":\"exposure\","
                    "\"variant\":\"control\",\"covariate\":42.5}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].covariate == 42.5);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"x\",\"type\":\"exposure\","
                    "\"variant\":\"control\",\"covariate\":-7}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].covariate == -7.0);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"x\",\"type\":\"exposure\","
                    "\"variant\":\"control\",\"covariate\":0}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].covariate == 0.0);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"x\",\"type\":\"exposure\","
                    "\"variant\":\"control\",\"covariate\":1e20}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].covariate == 1e20);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"x\",\"type\":\"exposure\","
                    "\"variant\":\"control\",\"covariate\":null}"), 0);
    if (batch.n == 1) CHECK(isnan(batch.events[0].covariate));
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"x\",\"type\":\"conversion\"}"), 0);
    if (batch.n == 1) CHECK(isnan(batch.events[0].covariate));
    /* Integer, zero and negative (refund) values are finite numbers. */
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"x\",\"type\":\"conversion\",\"value\":60}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].value == 60.0);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"x\",\"type\":\"conversion\",\"value\":0}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].value == 0.0);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"x\",\"type\":\"conversion\",\"value\":-12.5}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].value == -12.5);
    /* A variant on a conversion is accepted and not used. */
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"x\",\"type\":\"conversion\",\"variant\":\"whatever\"}"), 0);
    if (batch.n == 1) CHECK_INT(batch.events[0].variant, -1);

    /* NPS: phase defaults to advocacy; an explicit phase wins. */
    CHECK_INT(parse("{\"experiment\": \"checkout-cta\", \"user\": \"u-1842\", \"type\": \"nps\", \"score\": 9}"), 0);
    if (batch.n == 1) {
        CHECK_INT(batch.events[0].type, AB_EVENT_NPS);
        CHECK_INT(batch.events[0].score, 9);
        CHECK_INT(batch.events[0].phase, AB_PHASE_ADVOCACY);
        CHECK(isnan(batch.events[0].value));
    }
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"u\",\"type\":\"nps\",\"score\":0,\"phase\":\"retentie\"}"), 0);
    if (batch.n == 1) {
        CHECK_INT(batch.events[0].score, 0);
        CHECK_INT(batch.events[0].phase, AB_PHASE_RETENTION);
    }
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"u\",\"type\":\"nps\",\"score\":10}"), 0);
    if (batch.n == 1) CHECK_INT(batch.events[0].score, 10);

    /* null counts as absent for optional keys. */
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"user\":\"u\",\"type\":\"conversion\","
                    "\"id\":null,\"ts\":null,\"phase\":null,\"value\":null,\"score\":null,\"variant\":null}"), 0);
    if (batch.n == 1) {
        CHECK(batch.events[0].id == NULL);
        CHECK_INT(batch.events[0].ts_ms, NOW);
        CHECK_INT(batch.events[0].phase, AB_PHASE_DECISION);
        CHECK(isnan(batch.events[0].value));
    }

    /* Non-ASCII user, leading BOM and whitespace, CRLF after the object. */
    CHECK_INT(parse("\xef\xbb\xbf \r\n\t{\"experiment\":\"checkout-cta\",\"type\":\"exposure\","
                    "\"user\":\"J\\u00fcrgen \xe2\x82\xac\",\"variant\":\"control\"}\r\n\r\n"), 0);
    if (batch.n == 1) {
        CHECK(!strcmp(batch.events[0].user, "J\xc3\xbcrgen \xe2\x82\xac"));
        CHECK_INT(batch.events[0].user_len, 11);
        CHECK_INT(batch.events[0].variant, 0);
    }

    /* Length limits: user 256 and id 128 bytes pass. */
    {
        char body[1024], user[257], id[129];
        memset(user, 'u', 256);
        user[256] = '\0';
        memset(id, 'i', 128);
        id[128] = '\0';
        snprintf(body, sizeof body, "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\","
                 "\"user\":\"%s\",\"variant\":\"control\",\"id\":\"%s\"}", user, id);
        CHECK_INT(parse(body), 0);
        if (batch.n == 1) {
            CHECK_INT(batch.events[0].user_len, 256);
            CHECK_INT(batch.events[0].id_len, 128);
            CHECK(!strcmp(batch.events[0].user, user));
            CHECK(!strcmp(batch.events[0].id, id));
        }
    }
}

static void test_array(void)
{
    CHECK_INT(parse("[" EXPO("u1", "control") ",\n " EXPO("u2", "buy-now") ", "
                    "{\"experiment\":\"landing.v2\",\"type\":\"exposure\",\"user\":\"u3\",\"variant\":\"b\"}]"), 0);
    CHECK_INT(batch.n, 3);
    if (batch.n == 3) {
        CHECK(!strcmp(batch.events[0].user, "u1"));
        CHECK(!strcmp(batch.events[1].user, "u2"));
        CHECK(!strcmp(batch.events[2].user, "u3"));
        CHECK_INT(batch.events[1].variant, 1);
        CHECK(batch.events[2].exp == &other);
        CHECK_INT(batch.events[2].variant, 1);
        CHECK_INT(batch.events[2].phase, AB_PHASE_CONSIDERATION);
    }
    /* Single element, whitespace around. */
    CHECK_INT(parse("  [ " EXPO("u1", "control") " ]  \n"), 0);
    CHECK_INT(batch.n, 1);

    /* Non-object elements are errors at their index. */
    CHECK_INT(parse("[" EXPO("u1", "control") ", 1, \"x\", null, [], " EXPO("u2", "control") "]"), -1);
    CHECK_INT(err.status, 400);
    CHECK_INT(batch.nerr_total, 4);
    CHECK_INT(batch.nerr, 4);
    CHECK_INT(batch.n, 0);
    for (size_t i = 0; i < batch.nerr && i < 4; i++) {
        CHECK_INT(batch.errors[i].index, i + 1);
        CHECK(contains(batch.errors[i].text, "JSON object"));
    }
    CHECK(contains(err.text, "4 of 6"));
    CHECK(contains(err.text, "index 1"));
}

static void test_ndjson(void)
{
    /* Blank lines ignored, CRLF, no trailing newline. */
    const char *body = "\n\r\n" EXPO("u1", "control") "\r\n\r\n  \t\n" EXPO("u2", "buy-now")
                       "\r\n" "{\"experiment\":\"checkout-cta\",\"user\":\"u1\",\"type\":\"nps\",\"score\":7}";
    CHECK_INT(parse(body), 0);
    CHECK_INT(batch.n, 3);
    if (batch.n == 3) {
        CHECK(!strcmp(batch.events[0].user, "u1"));
        CHECK_INT(batch.events[1].variant, 1);
        CHECK_INT(batch.events[2].score, 7);
    }
    /* Trailing newline, LF only. */
    CHECK_INT(parse(EXPO("u1", "control") "\n" EXPO("u2", "control") "\n"), 0);
    CHECK_INT(batch.n, 2);
    /* Many trailing blank lines. */
    CHECK_INT(parse(EXPO("u1", "control") "\n" EXPO("u2", "control") "\n\n\n \n"), 0);
    CHECK_INT(batch.n, 2);

    /* The index of a bad line counts non-blank lines only. */
    CHECK_INT(parse("\n" EXPO("u1", "control") "\n\n" EXPO("u2", "control") "\n\n"
                    EXPO("u3", "nope") "\n"), -1);
    CHECK_INT(batch.nerr, 1);
    if (batch.nerr) {
        CHECK_INT(batch.errors[0].index, 2);
        CHECK(contains(batch.errors[0].text, "\"variant\""));
        CHECK(contains(batch.errors[0].text, "nope"));
    }
    /* A line that is not JSON is an error at its index; the others are still checked. */
    CHECK_INT(parse(EXPO("u1", "control") "\n{\"experiment\": \"checkout-cta\", \"user\n"
                    EXPO("u2", "zzz") "\n"), -1);
    CHECK_INT(batch.nerr_total, 2);
    if (batch.nerr == 2) {
        CHECK_INT(batch.errors[0].index, 1);
        CHECK(contains(batch.errors[0].text, "not valid JSON"));
        CHECK_INT(batch.errors[1].index, 2);
        CHECK(contains(batch.errors[1].text, "zzz"));
    }
    /* The first line broken. */
    CHECK_INT(parse("{\"experiment\":}\n" EXPO("u2", "control")), -1);
    CHECK_INT(batch.nerr, 1);
    if (batch.nerr) {
        CHECK_INT(batch.errors[0].index, 0);
        CHECK(contains(batch.errors[0].text, "not valid JSON"));
    }
    /* Two objects on one line. */
    CHECK_INT(parse(EXPO("u1", "control") " " EXPO("u2", "control") "\n" EXPO("u3", "control")), -1);
    CHECK_INT(batch.nerr, 1);
    if (batch.nerr) CHECK_INT(batch.errors[0].index, 0);
    CHECK_INT(parse(EXPO("u1", "control") "\n" EXPO("u2", "control") " {}\n"), -1);
    CHECK_INT(batch.nerr, 1);
    if (batch.nerr) CHECK_INT(batch.errors[0].index, 1);
    /* A line that is an array, a number or a string. */
    CHECK_INT(parse(EXPO("u1", "control") "\n[" EXPO("u2", "control") "]\n5\n\"x\"\n"), -1);
    CHECK_INT(batch.nerr_total, 3);
    if (batch.nerr == 3) {
        CHECK_INT(batch.errors[0].index, 1);
        CHECK(contains(batch.errors[0].text, "JSON object"));
        CHECK_INT(batch.errors[1].index, 2);
        CHECK_INT(batch.errors[2].index, 3);
    }
    /* Duplicate key on one line, \u0000 on another: errors at those lines. */
    CHECK_INT(parse(EXPO("u1", "control") "\n"
                    "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\",\"user\":\"a\",\"user\":\"b\",\"variant\":\"control\"}\n"
                    "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\",\"user\":\"a\\u0000b\",\"variant\":\"control\"}\n"), -1);
    CHECK_INT(batch.nerr_total, 2);
    if (batch.nerr == 2) {
        CHECK_INT(batch.errors[0].index, 1);
        CHECK(contains(batch.errors[0].text, "duplicate"));
        CHECK_INT(batch.errors[1].index, 2);
    }
    /* Invalid UTF-8 on a line. */
    CHECK_INT(parse(EXPO("u1", "control") "\n" EXPO("u\xff", "control") "\n"), -1);
    CHECK_INT(batch.nerr, 1);
    if (batch.nerr) CHECK_INT(batch.errors[0].index, 1);
}

/* ---- bodies that are not events at all ------------------------------------ */

static void test_bad_bodies(void)
{
    static const char *const no_events[] = {"", " ", "\r\n\t \n", "[]", " [ ]\n", "\xef\xbb\xbf"};
    for (size_t i = 0; i < sizeof no_events / sizeof *no_events; i++) {
        snprintf(test_context, sizeof test_context, "no events #%zu", i);
        CHECK_INT(parse(no_events[i]), -1);
        CHECK_INT(err.status, 400);
        CHECK(contains(err.text, "no events"));
        CHECK_INT(batch.n, 0);
    }
    test_context[0] = '\0';
    CHECK_INT(ab_event_parse_body(NULL, 0, &any_age, lookup, NULL, 10, 10, &arena, &batch, &err),
              -1);
    CHECK_INT(err.status, 400);

    static const char *const not_json[] = {
        "5", "\"x\"", "null", "true", "nul", "x{}", "]",
        "[" EXPO("u1", "control") ",]",                      /* trailing comma */
        "[" EXPO("u1", "control") "] [" EXPO("u2", "control") "]",
        "[" EXPO("u1", "control"),                           /* unterminated */
        "{",
        "{\"experiment\": \"checkout-cta\",",
        "{\n  \"experiment\": \"checkout-cta\",\n  \"user\": \"u\",\n  \"type\": \"exposure\"\n  \"variant\": \"a\"\n}\n",
        "[{\"experiment\":\"checkout-cta\",\"experiment\":\"checkout-cta\",\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\"}]",
        "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\",\"type\":\"exposure\",\"user\":\"u\",\"variant\":\"control\"}",
        "[{\"experiment\":\"checkout-cta\",\"type\":\"exposure\",\"user\":\"a\\u0000\",\"variant\":\"control\"}]",
        "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\",\"user\":\"\xc3\x28\",\"variant\":\"control\"}",
        "[{\"experiment\":\"checkout-cta\",\"type\":\"exposure\",\"user\":\"u\",\"variant\":\"control\",\"value\":1e999}]",
        "{\"experiment\":\"checkout-cta\",\"type\":\"nps\",\"user\":\"u\",\"score\":99999999999999999999999}",
    };
    for (size_t i = 0; i < sizeof not_json / sizeof *not_json; i++) {
        snprintf(test_context, sizeof test_context, "not json #%zu", i);
        CHECK_INT(parse(not_json[i]), -1);
        CHECK_INT(err.status, 400);
        CHECK_INT(batch.n, 0);
        CHECK(err.text[0] != '\0');
    }
    test_context[0] = '\0';
    CHECK_INT(parse("[{\"a\":1,\"a\":2}]"), -1);
    CHECK(contains(err.text, "duplicate"));
    CHECK(contains(err.text, "not valid JSON"));
    /* A NUL byte in the body outside strings. */
    CHECK_INT(parse_n("{\"a\":1}\0", 8, 10, 10), -1);
    CHECK_INT(err.status, 400);
    /* Body bytes after len are never read: a prefix that is a whole event parses. */
    {
        const char *b = EXPO("u1", "control") "garbage";
        CHECK_INT(parse_n(b, strlen(b) - 7, 10, 10), 0);
        CHECK_INT(batch.n, 1);
    }
}

/* ---- invalid events, field by field --------------------------------------- */

typedef struct {
    const char *event;  /* one JSON object */
    const char *needle; /* must appear in the error */
} bad_case;

#define E "\"experiment\":\"checkout-cta\","
static const bad_case bad_cases[] = {
    /* experiment */
    {"{\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\"}", "\"experiment\""},
    {"{\"experiment\":null,\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\"}", "\"experiment\""},
    {"{\"experiment\":7,\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\"}", "\"experiment\""},
    {"{\"experiment\":[\"checkout-cta\"],\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\"}", "\"experiment\""},
    {"{\"experiment\":\"Checkout-CTA\",\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\"}", "\"experiment\""},
    {"{\"experiment\":\"\",\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\"}", "\"experiment\""},
    {"{\"experiment\":\"-cta\",\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\"}", "\"experiment\""},
    {"{\"experiment\":\"nope\",\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\"}", "unknown experiment \"nope\""},
    {"{\"experiment\":\"old-test\",\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"a\"}", "experiment \"old-test\" is stopped"},
    {"{\"experiment\":\"old-test\",\"user\":\"u\",\"type\":\"nps\",\"score\":3}", "is stopped"},
    /* type */
    {"{" E "\"user\":\"u\",\"variant\":\"control\"}", "\"type\""},
    {"{" E "\"user\":\"u\",\"type\":\"click\",\"variant\":\"control\"}", "\"type\""},
    {"{" E "\"user\":\"u\",\"type\":\"Exposure\",\"variant\":\"control\"}", "\"type\""},
    {"{" E "\"user\":\"u\",\"type\":\"\",\"variant\":\"control\"}", "\"type\""},
    {"{" E "\"user\":\"u\",\"type\":0,\"variant\":\"control\"}", "\"type\""},
    {"{" E "\"user\":\"u\",\"type\":null,\"variant\":\"control\"}", "\"type\""},
    /* user */
    {"{" E "\"type\":\"exposure\",\"variant\":\"control\"}", "\"user\""},
    {"{" E "\"user\":\"\",\"type\":\"exposure\",\"variant\":\"control\"}", "\"user\""},
    {"{" E "\"user\":42,\"type\":\"exposure\",\"variant\":\"control\"}", "\"user\""},
    {"{" E "\"user\":null,\"type\":\"exposure\",\"variant\":\"control\"}", "\"user\""},
    {"{" E "\"user\":{\"id\":1},\"type\":\"exposure\",\"variant\":\"control\"}", "\"user\""},
    {NULL, "\"user\""}, /* 257 bytes, built below */
    /* variant */
    {"{" E "\"user\":\"u\",\"type\":\"exposure\"}", "\"variant\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":null}", "\"variant\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"nope\"}", "\"variant\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"Control\"}", "\"variant\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"b\"}", "\"variant\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":1}", "\"variant\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"variant\":5}", "\"variant\""},
    {"{" E "\"user\":\"u\",\"type\":\"nps\",\"score\":5,\"variant\":true}", "\"variant\""},
    /* phase */
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"phase\":\"purchasing\"}", "is not a journey phase"},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"phase\":\"\"}", "is not a journey phase"},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"phase\":2}", "\"phase\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"phase\":\"decision \"}", "is not a journey phase"},
    /* covariate: exposures only, a finite number within 1e20 */
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"covariate\":\"3\"}", "\"covariate\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"covariate\":true}", "\"covariate\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"covariate\":[1]}", "\"covariate\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"covariate\":2e20}", "\"covariate\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"covariate\":1}", "only allowed on exposures"},
    {"{" E "\"user\":\"u\",\"type\":\"nps\",\"score\":5,\"covariate\":1}", "only allowed on exposures"},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"Covariate\":1}", "unknown key"},
    /* value */
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"value\":\"59.90\"}", "\"value\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"value\":true}", "\"value\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"value\":[1]}", "\"value\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"value\":1}", "\"value\""},
    {"{" E "\"user\":\"u\",\"type\":\"nps\",\"score\":5,\"value\":1}", "\"value\""},
    /* score */
    {"{" E "\"user\":\"u\",\"type\":\"nps\"}", "\"score\""},
    {"{" E "\"user\":\"u\",\"type\":\"nps\",\"score\":null}", "\"score\""},
    {"{" E "\"user\":\"u\",\"type\":\"nps\",\"score\":9.5}", "\"score\""},
    {"{" E "\"user\":\"u\",\"type\":\"nps\",\"score\":-1}", "\"score\""},
    {"{" E "\"user\":\"u\",\"type\":\"nps\",\"score\":11}", "\"score\""},
    {"{" E "\"user\":\"u\",\"type\":\"nps\",\"score\":\"9\"}", "\"score\""},
    {"{" E "\"user\":\"u\",\"type\":\"nps\",\"score\":true}", "\"score\""},
    {"{" E "\"user\":\"u\",\"type\":\"nps\",\"score\":9223372036854775807}", "\"score\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"score\":5}", "\"score\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"score\":5}", "\"score\""},
    /* id */
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"id\":\"\"}", "\"id\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"id\":5}", "\"id\""},
    {NULL, "\"id\""}, /* 129 bytes, built below */
    /* ts */
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"2026-02-30T10:00:00Z\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"2025-02-29T10:00:00Z\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"2026-11-22T24:00:00Z\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"2026-11-22T10:60:00Z\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"2026-13-01T10:00:00Z\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"2026-11-22\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"2026-11-22T10:00:00\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"2026-11-22T10:00:00+24:00\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"1969-12-31T23:59:59Z\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"9999-12-31T23:59:59-01:00\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"\"}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":-1}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":1795341600000.5}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":1.7e12}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":253402300800000}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":true}", "\"ts\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":{}}", "\"ts\""},
    /* ts outside the window, each with its reason */
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":0}", "epoch seconds"},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":1764000000}", "(x 1000)"},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"1999-12-31T23:59:59.999Z\"}",
     "is before 2000-01-01"},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"9999-12-31T23:59:59Z\"}",
     "more than 5 minutes after arrival"},
    /* unknown keys */
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"varaint\":\"control\"}", "\"varaint\""},
    {"{" E "\"user\":\"u\",\"Type\":\"exposure\",\"variant\":\"control\"}", "\"Type\""},
    {"{" E "\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"control\",\"\":1}", "unknown key"},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"revenue\":5}", "\"revenue\""},
    {"{" E "\"user\":\"u\",\"type\":\"conversion\",\"timestamp\":5}", "\"timestamp\""},
};
#undef E

static char *bad_event(size_t i, char *buf, size_t cap)
{
    if (bad_cases[i].event) return (char *)bad_cases[i].event;
    char big[130];
    if (!strcmp(bad_cases[i].needle, "\"user\"")) {
        char user[258];
        memset(user, 'u', 257);
        user[257] = '\0';
        snprintf(buf, cap, "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\","
                 "\"user\":\"%s\",\"variant\":\"control\"}", user);
    } else {
        memset(big, 'i', 129);
        big[129] = '\0';
        snprintf(buf, cap, "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\",\"user\":\"u\","
                 "\"variant\":\"control\",\"id\":\"%s\"}", big);
    }
    return buf;
}

static void test_invalid_events(void)
{
    size_t ncases = sizeof bad_cases / sizeof *bad_cases;
    char built[1024];
    sbuf b = {0};

    CHECK(ncases >= 40);
    for (size_t i = 0; i < ncases; i++) {
        const char *ev = bad_event(i, built, sizeof built);
        snprintf(test_context, sizeof test_context, "bad #%zu %.900s", i, ev);

        /* Alone. */
        CHECK_INT(parse(ev), -1);
        CHECK_INT(err.status, 400);
        CHECK_INT(batch.n, 0);
        CHECK_INT(batch.nerr, 1);
        CHECK_INT(batch.nerr_total, 1);
        if (batch.nerr == 1) {
            CHECK_INT(batch.errors[0].index, 0);
            if (!contains(batch.errors[0].text, bad_cases[i].needle))
                test_fail(__FILE__, __LINE__, "error \"%s\" does not name %s",
                          batch.errors[0].text, bad_cases[i].needle);
            else
                test_passed++;
        }
        CHECK(contains(err.text, bad_cases[i].needle));

        /* As element 2 of an array of 4. */
        b.n = 0;
        sb_add(&b, "[" EXPO("v1", "control") "," EXPO("v2", "control") ",");
        sb_add(&b, ev);
        sb_add(&b, "," EXPO("v3", "control") "]");
        CHECK_INT(parse(b.s), -1);
        CHECK_INT(err.status, 400);
        CHECK_INT(batch.nerr, 1);
        if (batch.nerr == 1) {
            CHECK_INT(batch.errors[0].index, 2);
            CHECK(contains(batch.errors[0].text, bad_cases[i].needle));
        }
        CHECK(contains(err.text, "1 of 4"));
        CHECK(contains(err.text, "index 2"));

        /* As NDJSON line 1 (after a blank line). */
        b.n = 0;
        sb_add(&b, EXPO("v1", "control") "\n\n");
        sb_add(&b, ev);
        sb_add(&b, "\n" EXPO("v3", "control") "\n");
        CHECK_INT(parse(b.s), -1);
        CHECK_INT(batch.nerr, 1);
        if (batch.nerr == 1) {
            CHECK_INT(batch.errors[0].index, 1);
            CHECK(contains(batch.errors[0].text, bad_cases[i].needle));
        }
    }
    test_context[0] = '\0';
    free(b.s);
}

/* ---- batches: all or nothing, limits -------------------------------------- */

static void test_all_or_nothing(void)
{
    sbuf b = {0};
    char ev[256];

    sb_add(&b, "[");
    for (int i = 0; i < 100; i++) {
        snprintf(ev, sizeof ev, "%s{\"experiment\":\"checkout-cta\",\"type\":\"exposure\","
                 "\"user\":\"user-%d\",\"variant\":\"%s\"}", i ? "," : "", i,
                 i == 57 ? "buy-later" : i % 2 ? "buy-now" : "control");
        sb_add(&b, ev);
    }
    sb_add(&b, "]");
    CHECK_INT(parse(b.s), -1);
    CHECK_INT(err.status, 400);
    CHECK_INT(batch.n, 0);
    CHECK_INT(batch.nerr, 1);
    CHECK_INT(batch.nerr_total, 1);
    if (batch.nerr) {
        CHECK_INT(batch.errors[0].index, 57);
        CHECK(contains(batch.errors[0].text, "buy-later"));
    }
    CHECK(contains(err.text, "1 of 100 events are invalid"));
    CHECK(contains(err.text, "index 57"));

    /* A valid batch passes, in order (two experiments interleaved). */
    b.n = 0;
    sb_add(&b, "[");
    for (int i = 0; i < 100; i++) {
        snprintf(ev, sizeof ev, "%s{\"experiment\":\"%s\",\"type\":\"exposure\","
                 "\"user\":\"user-%d\",\"variant\":\"%s\"}", i ? "," : "",
                 i % 10 == 3 ? "landing.v2" : "checkout-cta", i,
                 i % 10 == 3 ? "a" : i % 2 ? "buy-now" : "control");
        sb_add(&b, ev);
    }
    sb_add(&b, "]");
    lookups = 0;
    CHECK_INT(parse(b.s), 0);
    CHECK_INT(batch.n, 100);
    /* The last experiment is remembered: lookup runs per change, not per event. */
    CHECK(lookups <= 21);
    for (size_t i = 0; i < batch.n; i++) {
        char want[32];
        snprintf(want, sizeof want, "user-%zu", i);
        if (strcmp(batch.events[i].user, want) ||
            batch.events[i].exp != (i % 10 == 3 ? (void *)&other : (void *)&cta) ||
            batch.events[i].variant != (i % 10 == 3 ? 0 : (int)(i % 2))) {
            test_fail(__FILE__, __LINE__, "event %zu wrong", i);
            break;
        }
    }
    test_passed++;

    /* Every event bad: max_errors keeps the first ones, all are counted. */
    b.n = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(ev, sizeof ev, "{\"experiment\":\"checkout-cta\",\"type\":\"nps\","
                 "\"user\":\"user-%d\",\"score\":%d}\n", i, 11 + i);
        sb_add(&b, ev);
    }
    CHECK_INT(parse_n(b.s, b.n, 1000, 10), -1);
    CHECK_INT(batch.nerr, 10);
    CHECK_INT(batch.nerr_total, 100);
    for (size_t i = 0; i < batch.nerr; i++) CHECK_INT(batch.errors[i].index, i);
    CHECK(contains(err.text, "100 of 100"));
    CHECK_INT(parse_n(b.s, b.n, 1000, 0), -1);
    CHECK_INT(batch.nerr, 0);
    CHECK_INT(batch.nerr_total, 100);
    CHECK_INT(err.status, 400);
    CHECK(contains(err.text, "\"score\""));

    /* Errors from different events and causes, in index order. */
    CHECK_INT(parse("[" EXPO("u1", "control") ","
                    "{\"experiment\":\"nope\",\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"a\"},"
                    "{\"experiment\":\"old-test\",\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"a\"},"
                    "{\"experiment\":\"nope\",\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"a\"},"
                    EXPO("u2", "x") "]"), -1);
    CHECK_INT(batch.nerr, 4);
    if (batch.nerr == 4) {
        CHECK_INT(batch.errors[0].index, 1);
        CHECK(contains(batch.errors[0].text, "unknown experiment \"nope\""));
        CHECK_INT(batch.errors[1].index, 2);
        CHECK(contains(batch.errors[1].text, "experiment \"old-test\" is stopped"));
        CHECK_INT(batch.errors[2].index, 3);
        CHECK(contains(batch.errors[2].text, "unknown experiment"));
        CHECK_INT(batch.errors[3].index, 4);
        CHECK(contains(batch.errors[3].text, "\"variant\""));
    }
    free(b.s);
}

static void test_max_events(void)
{
    sbuf arr = {0}, nd = {0};
    char ev[256];

    sb_add(&arr, "[");
    for (int i = 0; i < 11; i++) {
        snprintf(ev, sizeof ev, "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\","
                 "\"user\":\"u%d\",\"variant\":\"control\"}", i);
        if (i) sb_add(&arr, ",");
        sb_add(&arr, ev);
        sb_add(&nd, ev);
        sb_add(&nd, "\n\n");
    }
    sb_add(&arr, "]");
    CHECK_INT(parse_n(arr.s, arr.n, 10, 10), -1);
    CHECK_INT(err.status, 413);
    CHECK(contains(err.text, "too many events in one request (max 10)"));
    CHECK_INT(batch.n, 0);
    CHECK_INT(parse_n(nd.s, nd.n, 10, 10), -1);
    CHECK_INT(err.status, 413);
    CHECK(contains(err.text, "max 10"));
    CHECK_INT(parse_n(arr.s, arr.n, 11, 10), 0);
    CHECK_INT(batch.n, 11);
    CHECK_INT(parse_n(nd.s, nd.n, 11, 10), 0);
    CHECK_INT(batch.n, 11);
    /* 413 wins over invalid events (it is decided before parsing them). */
    CHECK_INT(parse_n("{\"x\":1}\n{\"y\":2}\n", 16, 1, 10), -1);
    CHECK_INT(err.status, 413);
    CHECK_INT(parse_n(EXPO("u", "control"), strlen(EXPO("u", "control")), 0, 10), -1);
    CHECK_INT(err.status, 413);
    free(arr.s);
    free(nd.s);
}

static void test_phases(void)
{
    static const struct {
        const char *name;
        ab_phase want;
    } cases[] = {
        {"awareness", AB_PHASE_AWARENESS},       {"Bewustwording", AB_PHASE_AWARENESS},
        {"bewustzijn", AB_PHASE_AWARENESS},      {"consideration", AB_PHASE_CONSIDERATION},
        {"ORI\xc3\x8bNTATIE", AB_PHASE_CONSIDERATION}, {"ori\xc3\xabntatie", AB_PHASE_CONSIDERATION},
        {"Ori\\u00ebntatie", AB_PHASE_CONSIDERATION},  {"orientation", AB_PHASE_CONSIDERATION},
        {"Onderzoek", AB_PHASE_CONSIDERATION},   {"research", AB_PHASE_CONSIDERATION},
        {"overweging", AB_PHASE_CONSIDERATION},  {"Aankoop", AB_PHASE_DECISION},
        {"koop", AB_PHASE_DECISION},             {"CHECKOUT", AB_PHASE_DECISION},
        {"purchase", AB_PHASE_DECISION},         {"beslissing", AB_PHASE_DECISION},
        {"retention", AB_PHASE_RETENTION},       {"LOYALTY", AB_PHASE_RETENTION},
        {"loyaliteit", AB_PHASE_RETENTION},      {"service", AB_PHASE_RETENTION},
        {"Ambassador", AB_PHASE_ADVOCACY},       {"ambassadeurschap", AB_PHASE_ADVOCACY},
        {"advocacy", AB_PHASE_ADVOCACY},
    };
    char body[512];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(test_context, sizeof test_context, "phase %s", cases[i].name);
        snprintf(body, sizeof body, "{\"experiment\":\"checkout-cta\",\"type\":\"conversion\","
                 "\"user\":\"u\",\"phase\":\"%s\"}", cases[i].name);
        CHECK_INT(parse(body), 0);
        if (batch.n == 1) CHECK_INT(batch.events[0].phase, cases[i].want);
    }
    test_context[0] = '\0';
}

static void test_event_ts(void)
{
    static const struct {
        const char *ts;
        long long want;
    } cases[] = {
        {"\"2026-11-22T10:00:00Z\"", 1795341600000LL},
        {"\"2026-11-22T11:00:00+01:00\"", 1795341600000LL},
        {"\"2026-11-22T05:30:00-04:30\"", 1795341600000LL},
        {"\"2026-11-22t10:00:00z\"", 1795341600000LL},
        {"\"2026-11-22 10:00:00Z\"", 1795341600000LL},
        {"\"2026-11-22T10:00:00.250Z\"", 1795341600250LL},
        {"\"2000-02-29T12:34:56Z\"", 951827696000LL},
        {"\"2000-01-01T00:00:00Z\"", 946684800000LL},
        {"\"2000-01-01T01:00:00+01:00\"", 946684800000LL},
        {"\"2026-11-22T10:05:00Z\"", NOW + 300000},
        {"1795341600000", 1795341600000LL},
        {"946684800000", 946684800000LL},
        {"1795341900000", NOW + 300000},
    };
    char body[512];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(test_context, sizeof test_context, "ts %s", cases[i].ts);
        snprintf(body, sizeof body, "{\"experiment\":\"checkout-cta\",\"type\":\"conversion\","
                 "\"user\":\"u\",\"ts\":%s}", cases[i].ts);
        CHECK_INT(parse(body), 0);
        if (batch.n == 1) CHECK_INT(batch.events[0].ts_ms, cases[i].want);
    }
    test_context[0] = '\0';
}

/* The ts window: 2000-01-01 to 5 minutes after arrival, and for senders
 * that may not backfill (ingest-only tokens) at most 72 hours old. */
static int parse_ts(const ab_ts_window *w, const char *ts)
{
    char body[256];
    int rc;
    snprintf(body, sizeof body, "{\"experiment\":\"checkout-cta\",\"type\":\"conversion\","
             "\"user\":\"u\",\"ts\":%s}", ts);
    snprintf(test_context, sizeof test_context, "%s ts %s",
             w == &late_only ? "ingest-only" : "any age", ts);
    window = w;
    rc = parse(body);
    window = &any_age;
    return rc;
}

/* The single error of the last parse names needle (and not avoid, if set). */
static void check_ts_error(const char *needle, const char *avoid)
{
    CHECK_INT(err.status, 400);
    CHECK_INT(batch.nerr, 1);
    CHECK_INT(batch.n, 0);
    if (batch.nerr != 1) return;
    if (!contains(batch.errors[0].text, needle) || (avoid && contains(batch.errors[0].text, avoid)))
        test_fail(__FILE__, __LINE__, "error \"%s\": want \"%s\"%s%s", batch.errors[0].text,
                  needle, avoid ? ", not " : "", avoid ? avoid : "");
    else
        test_passed++;
}

static void test_ts_window(void)
{
    static const ab_ts_window *const both[] = {&any_age, &late_only};
    char ts[64];

    CHECK_INT(any_age.now_ms, NOW);
    CHECK_INT(any_age.earliest_ms, AB_TS_MIN_MS);
    CHECK_INT(late_only.now_ms, NOW);
    CHECK_INT(late_only.earliest_ms, NOW - AB_TS_LATE_MS);
    CHECK_INT(AB_TS_MIN_MS, 946684800000LL);         /* 2000-01-01T00:00:00Z */
    CHECK_INT(AB_TS_AHEAD_MS, 5 * 60 * 1000);
    CHECK_INT(AB_TS_LATE_MS, 72LL * 3600 * 1000);

    for (size_t i = 0; i < 2; i++) {
        const ab_ts_window *w = both[i];
        /* The future edge is the same for everyone: arrival + 5 minutes. */
        CHECK_INT(parse_ts(w, "\"2026-11-22T10:05:00Z\""), 0);
        if (batch.n == 1) CHECK_INT(batch.events[0].ts_ms, NOW + AB_TS_AHEAD_MS);
        CHECK_INT(parse_ts(w, "1795341900000"), 0);
        CHECK_INT(parse_ts(w, "\"2026-11-22T11:05:00+01:00\""), 0);
        CHECK_INT(parse_ts(w, "\"2026-11-22T10:05:00.001Z\""), -1);
        check_ts_error("more than 5 minutes after arrival", NULL);
        CHECK_INT(parse_ts(w, "1795341900001"), -1);
        check_ts_error("after arrival (2026-11-22T10:00:00.000Z)", NULL);
        CHECK_INT(parse_ts(w, "\"9999-12-31T23:59:59Z\""), -1);
        check_ts_error("\"ts\" \"9999-12-31T23:59:59Z\" is more than 5 minutes after arrival", NULL);
        CHECK_INT(parse_ts(w, "\"9999-12-31T23:59:59-01:00\""), -1); /* past 9999 by its offset */
        check_ts_error("after arrival", NULL);
        CHECK_INT(parse_ts(w, "9223372036854775807"), -1);
        check_ts_error("after arrival", NULL);
        /* Arrival itself, and no ts at all. */
        CHECK_INT(parse_ts(w, "1795341600000"), 0);
        CHECK_INT(parse_ts(w, "null"), 0);
        if (batch.n == 1) CHECK_INT(batch.events[0].ts_ms, NOW);

        /* The floor, 2000-01-01, holds for everyone and is named as such. */
        CHECK_INT(parse_ts(w, "\"1999-12-31T23:59:59.999Z\""), -1);
        check_ts_error("\"ts\" \"1999-12-31T23:59:59.999Z\" is before 2000-01-01", "admin");
        CHECK_INT(parse_ts(w, "\"2000-01-01T00:59:59.999+01:00\""), -1);
        check_ts_error("is before 2000-01-01", "admin");
        CHECK_INT(parse_ts(w, "\"1970-01-01T00:00:00Z\""), -1);
        check_ts_error("is before 2000-01-01", "seconds");
        CHECK_INT(parse_ts(w, "946684799999"), -1);
        check_ts_error("\"ts\" 946684799999 is before 2000-01-01", "seconds");
        CHECK_INT(parse_ts(w, "100000000000"), -1); /* 10^11: milliseconds of 1973 */
        check_ts_error("is before 2000-01-01", "seconds");
        /* Integers below 10^11 are named as probably epoch seconds. */
        CHECK_INT(parse_ts(w, "1764000000"), -1);
        check_ts_error("\"ts\" 1764000000 is before 2000-01-01: it looks like epoch seconds; "
                       "send epoch milliseconds (x 1000) or an RFC 3339 time", NULL);
        CHECK_INT(parse_ts(w, "99999999999"), -1);
        check_ts_error("epoch seconds", NULL);
        CHECK_INT(parse_ts(w, "0"), -1);
        check_ts_error("\"ts\" 0 is before 2000-01-01: it looks like epoch seconds", NULL);
        CHECK_INT(parse_ts(w, "-1"), -1);
        check_ts_error("is before 2000-01-01", NULL);
        CHECK_INT(parse_ts(w, "-9223372036854775807"), -1);
        check_ts_error("is before 2000-01-01", NULL);
    }

    /* 72 hours before arrival: the oldest an ingest-only token may send. */
    snprintf(ts, sizeof ts, "%lld", (long long)(NOW - AB_TS_LATE_MS));
    CHECK_INT(parse_ts(&late_only, ts), 0);
    if (batch.n == 1) CHECK_INT(batch.events[0].ts_ms, NOW - AB_TS_LATE_MS);
    CHECK_INT(parse_ts(&late_only, "\"2026-11-19T10:00:00Z\""), 0);
    CHECK_INT(parse_ts(&late_only, "\"2026-11-19T09:00:00-01:00\""), 0);
    snprintf(ts, sizeof ts, "%lld", (long long)(NOW - AB_TS_LATE_MS - 1));
    CHECK_INT(parse_ts(&late_only, ts), -1);
    check_ts_error("is more than 72 hours before arrival: backfilling history needs an admin token",
                   NULL);
    CHECK_INT(parse_ts(&late_only, "\"2026-11-19T09:59:59.999Z\""), -1);
    check_ts_error("\"ts\" \"2026-11-19T09:59:59.999Z\" is more than 72 hours before arrival", NULL);
    CHECK_INT(parse_ts(&late_only, "\"2000-01-01T00:00:00Z\""), -1);
    check_ts_error("needs an admin token", NULL);
    /* ... which an admin (or an open daemon) may send, down to 2000. */
    CHECK_INT(parse_ts(&any_age, ts), 0);
    if (batch.n == 1) CHECK_INT(batch.events[0].ts_ms, NOW - AB_TS_LATE_MS - 1);
    CHECK_INT(parse_ts(&any_age, "\"2000-01-01T00:00:00Z\""), 0);
    if (batch.n == 1) CHECK_INT(batch.events[0].ts_ms, AB_TS_MIN_MS);
    CHECK_INT(parse_ts(&any_age, "\"2026-01-01T00:00:00Z\""), 0);
    test_context[0] = '\0';

    /* In a batch the window is per event: all or nothing, errors at their index. */
    window = &late_only;
    CHECK_INT(parse("[" EXPO("u1", "control") ","
                    "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\",\"user\":\"u2\","
                    "\"variant\":\"control\",\"ts\":\"2026-11-18T10:00:00Z\"},"
                    EXPO("u3", "control") ","
                    "{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"user\":\"u1\","
                    "\"ts\":1764000000}]"), -1);
    CHECK_INT(batch.n, 0);
    CHECK_INT(batch.nerr, 2);
    if (batch.nerr == 2) {
        CHECK_INT(batch.errors[0].index, 1);
        CHECK(contains(batch.errors[0].text, "needs an admin token"));
        CHECK_INT(batch.errors[1].index, 3);
        CHECK(contains(batch.errors[1].text, "epoch seconds"));
    }
    CHECK(contains(err.text, "2 of 4 events are invalid; the first, at index 1"));
    CHECK_INT(parse(EXPO("u1", "control") "\n"
                    "{\"experiment\":\"checkout-cta\",\"type\":\"nps\",\"user\":\"u1\",\"score\":3,"
                    "\"ts\":\"9999-12-31T23:59:59Z\"}\n"), -1);
    CHECK_INT(batch.nerr, 1);
    if (batch.nerr == 1) {
        CHECK_INT(batch.errors[0].index, 1);
        CHECK(contains(batch.errors[0].text, "after arrival"));
    }
    window = &any_age;
}

/* ---- RFC 3339 ------------------------------------------------------------- */

static int tparse(const char *s, int64_t *ms)
{
    return ab_time_parse_rfc3339(s, strlen(s), ms);
}

static void test_time(void)
{
    static const struct {
        const char *s;
        long long want;
    } good[] = {
        {"2026-11-22T10:00:00Z", 1795341600000LL},
        {"2026-11-22T10:00:00.5Z", 1795341600500LL},
        {"2026-11-22T10:00:00.1Z", 1795341600100LL},
        {"2026-11-22T10:00:00.123456789Z", 1795341600123LL},
        {"2026-11-22T10:00:00.999999Z", 1795341600999LL},
        {"2026-11-22T10:00:00.000+00:00", 1795341600000LL},
        {"2026-11-22T10:00:00-00:00", 1795341600000LL},
        {"2026-11-23T00:00:00+14:00", 1795341600000LL},
        {"2026-11-21T22:00:00-12:00", 1795341600000LL},
        {"2026-11-22T10:00:00+23:59", 1795341600000LL - 86340000LL},
        {"2024-02-29T00:00:00Z", 1709164800000LL},
        {"2000-02-29T12:34:56Z", 951827696000LL},
        {"2016-12-31T23:59:60Z", 1483228799999LL}, /* leap second */
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59.999Z", -1},
        {"0000-01-01T00:00:00Z", -62167219200000LL},
        {"9999-12-31T23:59:59.999Z", 253402300799999LL},
        {"2026-12-31T23:59:59Z", 1798761599000LL},
    };
    static const char *const bad[] = {
        "", "2026", "2026-11-22", "2026-11-22T", "2026-11-22T10:00Z", "2026-11-22T10:00:00",
        "2026-11-22T10:00:00ZZ", "2026-11-22T10:00:00Z ", " 2026-11-22T10:00:00Z",
        "2026-11-22T10:00:00+0100", "2026-11-22T10:00:00+01", "2026-11-22T10:00:00+1:00",
        "2026-11-22T10:00:00.Z", "2026-11-22T10:00:00,5Z", "2026-11-22T10:00:00 Z",
        "2026-1-22T10:00:00Z", "26-11-22T10:00:00Z", "+2026-11-22T10:00:00Z",
        "2026/11/22T10:00:00Z", "2026-11-22X10:00:00Z", "2026-11-22_10:00:00Z",
        "2026-00-22T10:00:00Z", "2026-13-22T10:00:00Z", "2026-11-00T10:00:00Z",
        "2026-11-31T10:00:00Z", "2026-02-30T10:00:00Z", "2026-02-29T10:00:00Z",
        "1900-02-29T10:00:00Z", "2100-02-29T10:00:00Z", "2026-04-31T10:00:00Z",
        "2026-11-22T24:00:00Z", "2026-11-22T25:00:00Z", "2026-11-22T10:60:00Z",
        "2026-11-22T10:00:61Z", "2026-11-22T10:00:00+24:00", "2026-11-22T10:00:00+01:60",
        "2026-11-22T1a:00:00Z", "2026-11-22T10:00:00.5x", "2026-11-22T10:00:00.-5Z",
        "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-11-22T10:00:00Z",
    };
    int64_t ms;
    char buf[64];

    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        snprintf(test_context, sizeof test_context, "time %s", good[i].s);
        ms = 12345;
        CHECK_INT(tparse(good[i].s, &ms), 0);
        CHECK_INT(ms, good[i].want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(test_context, sizeof test_context, "bad time \"%s\"", bad[i]);
        CHECK_INT(tparse(bad[i], &ms), -1);
    }
    test_context[0] = '\0';
    /* len bounds the string: a valid prefix is not enough, and nothing past
     * len is read. */
    CHECK_INT(ab_time_parse_rfc3339("2026-11-22T10:00:00Zjunk", 20, &ms), 0);
    CHECK_INT(ms, 1795341600000LL);
    CHECK_INT(ab_time_parse_rfc3339("2026-11-22T10:00:00Z", 19, &ms), -1);
    CHECK_INT(ab_time_parse_rfc3339(NULL, 0, &ms), -1);

    ab_time_format_rfc3339(1795341600000LL, buf, sizeof buf);
    CHECK(!strcmp(buf, "2026-11-22T10:00:00.000Z"));
    ab_time_format_rfc3339(0, buf, sizeof buf);
    CHECK(!strcmp(buf, "1970-01-01T00:00:00.000Z"));
    ab_time_format_rfc3339(-1, buf, sizeof buf);
    CHECK(!strcmp(buf, "1969-12-31T23:59:59.999Z"));
    ab_time_format_rfc3339(951827696789LL, buf, sizeof buf);
    CHECK(!strcmp(buf, "2000-02-29T12:34:56.789Z"));
    ab_time_format_rfc3339(AB_TS_MAX_MS, buf, sizeof buf);
    CHECK(!strcmp(buf, "9999-12-31T23:59:59.999Z"));
    ab_time_format_rfc3339(-62167219200000LL, buf, sizeof buf);
    CHECK(!strcmp(buf, "0000-01-01T00:00:00.000Z"));
    /* Truncates, never overflows. */
    memset(buf, 'x', sizeof buf);
    ab_time_format_rfc3339(0, buf, 8);
    CHECK(!strcmp(buf, "1970-01"));
    ab_time_format_rfc3339(INT64_MIN, buf, sizeof buf);
    ab_time_format_rfc3339(INT64_MAX, buf, sizeof buf);
    CHECK(strlen(buf) < sizeof buf);

    /* Every day from 1970 to 2400 (at a moving time of day) against the C
     * library's calendar, and format/parse round trips. */
    int mismatches = 0;
    for (int64_t day = 0; day < 157000 && mismatches < 5; day++) {
        int64_t t = day * 86400000LL + (day * 7919 % 86400000LL);
        time_t secs = (time_t)(t / 1000);
        struct tm tm;
        char want[64];
        gmtime_r(&secs, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(t % 1000));
        ab_time_format_rfc3339(t, buf, sizeof buf);
        if (strcmp(buf, want) || tparse(buf, &ms) || ms != t) {
            test_fail(__FILE__, __LINE__, "day %lld: %s, want %s", (long long)day, buf, want);
            mismatches++;
        }
    }
    if (!mismatches) test_passed++;
    /* Round trips over the whole accepted range, negative years included. */
    mismatches = 0;
    for (int64_t t = -62167219200000LL; t <= AB_TS_MAX_MS && mismatches < 5;
         t += 999999937LL * 13) {
        ab_time_format_rfc3339(t, buf, sizeof buf);
        if (tparse(buf, &ms) || ms != t) {
            test_fail(__FILE__, __LINE__, "round trip %lld: %s", (long long)t, buf);
            mismatches++;
        }
    }
    if (!mismatches) test_passed++;
}

/* ---- arena --------------------------------------------------------------- */

static void test_arena(void)
{
    ab_arena a;
    size_t total = 0;

    ab_arena_init(&a, 256);
    CHECK(a.head == NULL);
    for (size_t i = 0; i < 1000; i++) {
        size_t n = (i * 37) % 300;
        unsigned char *p = ab_arena_alloc(&a, n);
        CHECK(p != NULL);
        if (!p) break;
        CHECK((uintptr_t)p % alignof(max_align_t) == 0);
        memset(p, (int)i, n); /* ASan checks every byte is ours */
        total += n;
    }
    CHECK(a.total >= total);
    /* Larger than a block, then small ones still fit in the current block. */
    char *big = ab_arena_alloc(&a, 100000);
    CHECK(big != NULL);
    if (big) memset(big, 1, 100000);
    char *s = ab_arena_strndup(&a, "hello, world", 5);
    CHECK(s && !strcmp(s, "hello"));
    s = ab_arena_strndup(&a, "", 0);
    CHECK(s && !strcmp(s, ""));
    CHECK(ab_arena_alloc(&a, SIZE_MAX) == NULL);
    CHECK(ab_arena_alloc(&a, SIZE_MAX - 8) == NULL);
    CHECK(ab_arena_strndup(&a, "x", SIZE_MAX) == NULL);
    ab_arena_reset(&a);
    CHECK(a.head == NULL);
    CHECK_INT(a.total, 0);
    /* Reusable after reset; a zero-byte request gets a distinct pointer. */
    void *z1 = ab_arena_alloc(&a, 0), *z2 = ab_arena_alloc(&a, 0);
    CHECK(z1 && z2 && z1 != z2);
    ab_arena_reset(&a);
    ab_arena_reset(&a);
    /* block_size 0 picks a default. */
    ab_arena_init(&a, 0);
    CHECK(a.block_size > 0);
    CHECK(ab_arena_alloc(&a, 10) != NULL);
    ab_arena_reset(&a);
}

/* ---- a large batch ------------------------------------------------------- */

static void test_large_batch(void)
{
    sbuf b = {0};
    char ev[320];
    for (int i = 0; i < 5000; i++) {
        snprintf(ev, sizeof ev, "{\"experiment\":\"checkout-cta\",\"type\":\"%s\",\"user\":\"user-%d\","
                 "\"variant\":\"%s\",\"id\":\"evt-%d\",\"ts\":%lld}\n",
                 i % 3 == 2 ? "conversion" : "exposure", i, i % 2 ? "buy-now" : "control", i,
                 NOW - i);
        sb_add(&b, ev);
    }
    CHECK_INT(parse_n(b.s, b.n, 10000, 100), 0);
    CHECK_INT(batch.n, 5000);
    if (batch.n == 5000) {
        CHECK(!strcmp(batch.events[4999].user, "user-4999"));
        CHECK(!strcmp(batch.events[4999].id, "evt-4999"));
        CHECK_INT(batch.events[4999].ts_ms, NOW - 4999);
        CHECK_INT(batch.events[4997].type, AB_EVENT_CONVERSION);
        CHECK_INT(batch.events[4997].variant, -1);
        CHECK_INT(batch.events[4998].type, AB_EVENT_EXPOSURE);
        CHECK_INT(batch.events[4998].variant, 0);
    }
    free(b.s);
}

/* ---- the fast scanner agrees with jansson --------------------------------- */

static void test_scanner_fallbacks(void)
{
    /* Inputs the scanner hands to jansson: escapes, nesting, long numbers,
     * exponents. Values must come out the same as without it. */
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"exposure\",\"user\":\"a\\\"b\\\\c\\/\\u00fc\\ud83d\\ude00\","
                    "\"variant\":\"b\\/z\"}"), 0);
    if (batch.n == 1) {
        CHECK(!strcmp(batch.events[0].user, "a\"b\\c/\xc3\xbc\xf0\x9f\x98\x80"));
        CHECK_INT(batch.events[0].variant, 2);
    }
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"user\":\"u\",\"value\":1.5e2}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].value == 150.0);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"user\":\"u\",\"value\":-0.0}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].value == 0.0 && signbit(batch.events[0].value));
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"user\":\"u\",\"value\":1E+2}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].value == 100.0);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"user\":\"u\",\"value\":1e-400}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].value == 0.0);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"user\":\"u\",\"value\":9223372036854775807}"), 0);
    if (batch.n == 1) CHECK(batch.events[0].value == 9223372036854775807.0);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"user\":\"u\",\"ts\":0000000000000000001}"), -1);
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"user\":\"u\",\"ts\":1000000000000000000}"), -1);
    CHECK(contains(err.text, "\"ts\""));
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"user\":\"u\",\"score\":-0}"), -1);
    CHECK(contains(err.text, "\"score\""));
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"nps\",\"user\":\"u\",\"score\":-0}"), 0);
    if (batch.n == 1) CHECK_INT(batch.events[0].score, 0);
    /* An unknown key whose value is nested, and two unknown keys. */
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"user\":\"u\",\"meta\":{\"a\":[1,2]}}"), -1);
    CHECK(contains(err.text, "unknown key \"meta\""));
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"x\":1,\"user\":\"u\",\"y\":2}"), -1);
    CHECK(contains(err.text, "unknown key \"x\""));
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"type\":\"conversion\",\"x\":1,\"user\":\"u\",\"x\":2}"), -1);
    CHECK(contains(err.text, "duplicate"));
    /* Raw bytes jansson refuses inside strings, and edge characters it takes. */
    {
        static const char *const refused[] = {
            "\xed\xa0\x80", "\xed\xbf\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
            "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
            "\x80", "a\xbf", "\xc3", "\xe2\x82", "\xc3\x28", "\x01", "\t", "\x1f", "a\nb",
        };
        static const char *const taken[] = {
            "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
            "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
        };
        char body[256];
        for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
            snprintf(test_context, sizeof test_context, "refused string #%zu", i);
            snprintf(body, sizeof body, "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\","
                     "\"user\":\"u%s\",\"variant\":\"control\"}", refused[i]);
            CHECK_INT(parse(body), -1);
            CHECK_INT(err.status, 400);
            snprintf(body, sizeof body, "{\"experiment\":\"checkout-cta\",\"type\":\"conversion\","
                     "\"user\":\"u\",\"x%s\":1}", refused[i]);
            CHECK_INT(parse(body), -1);
            CHECK(contains(err.text, "not valid JSON"));
        }
        for (size_t i = 0; i < sizeof taken / sizeof *taken; i++) {
            snprintf(test_context, sizeof test_context, "taken string #%zu", i);
            snprintf(body, sizeof body, "{\"experiment\":\"checkout-cta\",\"type\":\"exposure\","
                     "\"user\":\"u%s\",\"variant\":\"control\"}", taken[i]);
            CHECK_INT(parse(body), 0);
            if (batch.n == 1) CHECK(!strcmp(batch.events[0].user + 1, taken[i]));
        }
        test_context[0] = '\0';
    }
    /* Numbers jansson refuses. */
    {
        static const char *const refused[] = {"01", "-", "1.", ".5", "1e", "1e+", "+1", "--1", "1.5.3",
                                              "0x10", "1e999", "-1e999", "Infinity", "NaN", "1 2",
                                              "99999999999999999999", "tru", "truex", "nul", "null1"};
        char body[256];
        for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
            snprintf(test_context, sizeof test_context, "refused number %s", refused[i]);
            snprintf(body, sizeof body, "{\"experiment\":\"checkout-cta\",\"type\":\"conversion\","
                     "\"user\":\"u\",\"value\":%s}", refused[i]);
            CHECK_INT(parse(body), -1);
            CHECK(contains(err.text, "not valid JSON"));
        }
        test_context[0] = '\0';
    }
    /* Escaped key names are still keys. */
    CHECK_INT(parse("{\"experiment\":\"checkout-cta\",\"typ\\u0065\":\"conversion\",\"user\":\"u\"}"), 0);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    return test_rng(&rng_state);
}

/* Everything a parse produced, as text, to compare two runs. */
static void describe(sbuf *out, int rc)
{
    char line[512];
    out->n = 0;
    snprintf(line, sizeof line, "rc=%d n=%zu nerr=%zu/%zu", rc, batch.n, batch.nerr,
             batch.nerr_total);
    sb_add(out, line);
    if (rc) {
        snprintf(line, sizeof line, " status=%d %s", err.status, err.text);
        sb_add(out, line);
    }
    for (size_t i = 0; i < batch.nerr; i++) {
        snprintf(line, sizeof line, "\n  error %zu: %s", batch.errors[i].index, batch.errors[i].text);
        sb_add(out, line);
    }
    for (size_t i = 0; rc == 0 && i < batch.n; i++) {
        const ab_event *e = &batch.events[i];
        snprintf(line, sizeof line, "\n  %s t%d p%d v%d %a c%a s%d ts%lld u[%zu]%.*s id[%zu]%.*s",
                 e->exp == &cta ? "cta" : e->exp == &other ? "other" : "?", e->type, e->phase,
                 e->variant, e->value, e->covariate, e->score, (long long)e->ts_ms, e->user_len,
                 (int)e->user_len, e->user, e->id_len, (int)e->id_len, e->id ? e->id : "");
        sb_add(out, line);
    }
}

static void test_differential(void)
{
    static const char *const seeds[] = {
        EXPO("u-1", "control"),
        "{\"experiment\": \"checkout-cta\", \"variant\": \"buy-now\", \"user\": \"u-1842\", "
        "\"type\": \"exposure\", \"phase\": \"decision\", \"id\": \"evt-77f1\", \"ts\": \"2026-11-22T10:00:00Z\"}",
        "{\"experiment\":\"checkout-cta\",\"user\":\"u-1842\",\"type\":\"conversion\",\"value\":59.90,\"ts\":1795341600000}",
        "{\"experiment\":\"landing.v2\",\"user\":\"J\xc3\xbcrgen\",\"type\":\"nps\",\"score\":9,\"phase\":\"Aankoop\"}",
        "[" EXPO("u1", "control") ",{\"experiment\":\"checkout-cta\",\"user\":\"u1\",\"type\":\"conversion\",\"value\":-1e3}]",
        "{\"experiment\":\"checkout-cta\",\"variant\":\"control\",\"user\":\"u9\",\"type\":\"exposure\",\"covariate\":12.75}",
        EXPO("u1", "control") "\n\n{\"experiment\":\"checkout-cta\",\"user\":\"u1\",\"type\":\"nps\",\"score\":10}\r\n",
        "[{\"experiment\":\"old-test\",\"user\":\"u\",\"type\":\"exposure\",\"variant\":\"a\"}, {}, 5]",
        "{\"experiment\":\"checkout-cta\",\"user\":\"u\",\"type\":\"conversion\",\"id\":null,\"ts\":\"2024-02-29 23:59:59.5+01:00\"}",
        "[{\"experiment\":\"checkout-cta\",\"user\":\"u\",\"type\":\"nps\",\"score\":1,\"ts\":1795082400000},"
        "{\"experiment\":\"checkout-cta\",\"user\":\"u\",\"type\":\"conversion\",\"ts\":1764000000}]",
        "{\"experiment\":\"checkout-cta\",\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"1999-12-31T23:59:59.999Z\"}\n"
        "{\"experiment\":\"checkout-cta\",\"user\":\"u\",\"type\":\"conversion\",\"ts\":\"2026-11-22T10:05:00Z\"}",
    };
    static const char alphabet[] = "\"\\{}[],: \n\r\t0123456789-+.eEtfnulxz/\xc3\xbc\x80\xff";
    sbuf a = {0}, b = {0};
    int mismatches = 0, cases = 0;

    for (int iter = 0; iter < 30000 && mismatches < 5; iter++) {
        const char *seed = seeds[rng() % (sizeof seeds / sizeof *seeds)];
        size_t len = strlen(seed);
        char buf[1024];
        memcpy(buf, seed, len);
        int nmut = 1 + (int)(rng() % 3);
        for (int m = 0; m < nmut && len > 0 && len < sizeof buf - 2; m++) {
            size_t at = rng() % len;
            char ch = alphabet[rng() % (sizeof alphabet - 1)];
            switch (rng() % 3) {
            case 0: buf[at] = ch; break;
            case 1: memmove(buf + at, buf + at + 1, len - at - 1); len--; break;
            default: memmove(buf + at + 1, buf + at, len - at); buf[at] = ch; len++; break;
            }
        }
        window = iter % 2 ? &late_only : &any_age;
        ab_event_fast_scan = 1;
        describe(&a, parse_n(buf, len, 100, 10));
        ab_event_fast_scan = 0;
        describe(&b, parse_n(buf, len, 100, 10));
        ab_event_fast_scan = 1;
        window = &any_age;
        cases++;
        if (strcmp(a.s, b.s)) {
            test_fail(__FILE__, __LINE__, "readers differ on %.*s:\nfast:    %s\njansson: %s",
                      (int)len, buf, a.s, b.s);
            mismatches++;
        }
    }
    if (!mismatches) test_passed++;
    CHECK_INT(cases, 30000);
    free(a.s);
    free(b.s);
}

int main(void)
{
    ab_stats_init();
    setup_experiments();
    ab_arena_init(&arena, 4096);
    any_age = ab_ts_window_at(NOW, 1);
    late_only = ab_ts_window_at(NOW, 0);

    /* Every body test twice: with the fast scanner, then jansson alone. */
    for (int fast = 1; fast >= 0; fast--) {
        ab_event_fast_scan = fast;
        test_single_object();
        test_array();
        test_ndjson();
        test_bad_bodies();
        test_invalid_events();
        test_all_or_nothing();
        test_max_events();
        test_phases();
        test_event_ts();
        test_ts_window();
        test_scanner_fallbacks();
        test_large_batch();
    }
    ab_event_fast_scan = 1;
    test_differential();
    test_time();
    test_arena();

    ab_arena_reset(&arena);
    return TEST_DONE("test_event_parse");
}
