/* test_event_schema.c — the event schema on its own, without JSON: raw fields in, a validated event or the field's error out. */
#include <math.h>
#include <string.h>

#include "base/arena.h"
#include "core/event_schema.h"
#include "test.h"

#define NOW 1795341600000LL /* 2026-11-22T10:00:00Z */

static ab_experiment_config cta;
static char n_control[] = "control", n_buy[] = "buy-now";

static void *lookup(void *ctx, const char *id, size_t len, const ab_experiment_config **cfg,
                    int *running)
{
    int *calls = ctx;
    (*calls)++;
    if (len != strlen(cta.id) || memcmp(id, cta.id, len)) return NULL;
    *cfg = &cta;
    *running = 1;
    return &cta;
}

static void set_str(ab_raw_event *r, ab_event_field f, const char *s)
{
    r->f[f].kind = AB_RV_STRING;
    r->f[f].s = s;
    r->f[f].len = strlen(s);
}

/* Validates r; 0 or -1, with the error text in msg. */
static int check(ab_event_checker *c, const ab_raw_event *r, ab_event *ev, char *msg)
{
    msg[0] = '\0';
    return ab_event_validate(c, r, ev, msg);
}

int main(void)
{
    ab_arena arena;
    ab_event_checker c;
    ab_raw_event r;
    ab_event ev;
    char msg[AB_EVENT_MSG_MAX];
    int calls = 0;

    strcpy(cta.id, "checkout-cta");
    cta.phase = AB_PHASE_DECISION;
    cta.k = 2;
    cta.names[0] = n_control;
    cta.names[1] = n_buy;
    ab_arena_init(&arena, 4096);
    memset(&c, 0, sizeof c);
    c.window = ab_ts_window_at(NOW, 1);
    c.lookup = lookup;
    c.lookup_ctx = &calls;
    c.arena = &arena;

    CHECK_INT(ab_event_field_of("variant", 7), AB_EF_VARIANT);
    CHECK_INT(ab_event_field_of("varaint", 7), -1);

    /* An exposure with every field. */
    ab_raw_event_init(&r);
    set_str(&r, AB_EF_EXPERIMENT, "checkout-cta");
    set_str(&r, AB_EF_TYPE, "exposure");
    set_str(&r, AB_EF_USER, "u1");
    set_str(&r, AB_EF_VARIANT, "buy-now");
    set_str(&r, AB_EF_ID, "e-1");
    set_str(&r, AB_EF_TS, "2026-11-22T09:00:00Z");
    CHECK_INT(check(&c, &r, &ev, msg), 0);
    CHECK(ev.exp == &cta);
    CHECK_INT(ev.type, AB_EVENT_EXPOSURE);
    CHECK_INT(ev.variant, 1);
    CHECK_INT(ev.phase, AB_PHASE_DECISION);
    CHECK(ev.ts_ms == NOW - 3600000LL);
    CHECK(ev.user && !strcmp(ev.user, "u1") && ev.user != r.f[AB_EF_USER].s);
    CHECK(ev.id && !strcmp(ev.id, "e-1"));
    CHECK(isnan(ev.value) && ev.score == -1);

    /* The same experiment again: the lookup is not asked twice. */
    CHECK_INT(check(&c, &r, &ev, msg), 0);
    CHECK_INT(calls, 1);

    /* A conversion with a value at the limit, then past it. */
    ab_raw_event_init(&r);
    set_str(&r, AB_EF_EXPERIMENT, "checkout-cta");
    set_str(&r, AB_EF_TYPE, "conversion");
    set_str(&r, AB_EF_USER, "u1");
    r.f[AB_EF_VALUE].kind = AB_RV_REAL;
    r.f[AB_EF_VALUE].d = AB_EVENT_VALUE_MAX;
    CHECK_INT(check(&c, &r, &ev, msg), 0);
    CHECK(ev.value == AB_EVENT_VALUE_MAX && ev.ts_ms == NOW);
    r.f[AB_EF_VALUE].d = 2 * AB_EVENT_VALUE_MAX;
    CHECK_INT(check(&c, &r, &ev, msg), -1);
    CHECK(strstr(msg, "\"value\"") != NULL);

    /* Each rule names its field. */
    r.f[AB_EF_VALUE].kind = AB_RV_NULL; /* null is absent */
    r.f[AB_EF_SCORE].kind = AB_RV_INT;
    r.f[AB_EF_SCORE].i = 5;
    CHECK_INT(check(&c, &r, &ev, msg), -1);
    CHECK(strstr(msg, "\"score\" is only allowed on nps") != NULL);
    r.f[AB_EF_SCORE].kind = AB_RV_ABSENT;
    set_str(&r, AB_EF_TYPE, "nps");
    CHECK_INT(check(&c, &r, &ev, msg), -1);
    CHECK(strstr(msg, "\"score\" is missing") != NULL);
    r.f[AB_EF_SCORE].kind = AB_RV_INT;
    r.f[AB_EF_SCORE].i = AB_EVENT_SCORE_MAX + 1;
    CHECK_INT(check(&c, &r, &ev, msg), -1);
    r.f[AB_EF_SCORE].i = AB_EVENT_SCORE_MAX;
    CHECK_INT(check(&c, &r, &ev, msg), 0);
    CHECK_INT(ev.phase, AB_PHASE_ADVOCACY);
    r.f[AB_EF_TS].kind = AB_RV_INT;
    r.f[AB_EF_TS].i = 1795341600; /* seconds, not milliseconds */
    CHECK_INT(check(&c, &r, &ev, msg), -1);
    CHECK(strstr(msg, "epoch seconds") != NULL);
    r.f[AB_EF_TS].kind = AB_RV_ABSENT;
    set_str(&r, AB_EF_EXPERIMENT, "unknown-one");
    CHECK_INT(check(&c, &r, &ev, msg), -1);
    CHECK(strstr(msg, "unknown experiment \"unknown-one\"") != NULL);
    r.unknown = "varaint";
    r.unknown_len = 7;
    CHECK_INT(check(&c, &r, &ev, msg), -1);
    CHECK(strstr(msg, "unknown key \"varaint\"") != NULL);

    /* Quoting cuts at a character boundary. */
    {
        char q[8];
        /* 8 bytes into 8: cut at 4, inside the é, so back to 3. */
        CHECK(!strcmp(ab_event_quote(q, sizeof q, "abc\xc3\xa9xyz", 8), "abc..."));
        CHECK(!strcmp(ab_event_quote(q, sizeof q, "abc", 3), "abc"));
    }
    ab_arena_reset(&arena);
    return TEST_DONE("test_event_schema");
}
