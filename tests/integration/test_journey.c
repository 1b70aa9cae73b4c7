/* test_journey.c — the results' journey block (README "Results and
 * decision", "Statistics") against a real abstatd: a seeded stream of
 * exposures, conversions at phases in any order, NPS answers, duplicates,
 * conflicts and unattributed events; reached and continued equal to an
 * independent count of that stream, bounds equal to the statistics
 * library's for those counts, factorial cells as arms, and the same answer
 * after a restart. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

static td_daemon D;

enum { K = 3, USERS = 3000, STRANGERS = 60 };
static const char *const NAMES[K] = {"control", "buy-now", "one-click"};
static const char *const PHASE[AB_JOURNEY_PHASES] = {"awareness", "consideration", "decision",
                                                     "retention", "advocacy"};

/* The test's own count: each user's arm (-1: never exposed) and phases,
 * and its NPS class (0 none, 1 promoter, 2 passive, 3 detractor). */
static int arm_of[USERS];
static unsigned phases_of[USERS];
static int nps_of[USERS];

/* xorshift64*: the same stream on every run. */
static uint64_t rng = 0x2545f4914f6cdd1du;
static double unif(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0;
}

typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->cap - b->len < 512) {
        b->cap = 2 * b->cap + 4096;
        if (!(b->p = realloc(b->p, b->cap))) abort();
    }
    va_start(ap, fmt);
    b->len += (size_t)vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
}

static void post(buf *b)
{
    td_response r = td_request(&D, "POST", "/v1/events", b->p, b->len, NULL);
    CHECK_INT(r.status, 202);
    if (r.status != 202 && r.body) fprintf(stderr, "  body: %.300s\n", r.body);
    td_free(&r);
    b->len = 0;
}

/* Each arm brings its users further with its own chances; the phases of a
 * user are sent in shuffled order, some twice, so that the daemon sees
 * every order. */
static void send_stream(void)
{
    static const double reach[K][AB_JOURNEY_PHASES] = {
        {0.60, 0.40, 0.20, 0.10, 0.05}, {0.65, 0.48, 0.22, 0.12, 0.05}, {0.55, 0.35, 0.25, 0.09, 0.07}};
    buf b = {0};
    int eid = 0;
    for (int u = 0; u < USERS; u++) {
        int a = (int)(unif() * K);
        unsigned ph[AB_JOURNEY_PHASES], n = 0;
        arm_of[u] = a;
        /* A conversion before the exposure: unattributed, and it stays so. */
        if (unif() < 0.02)
            put(&b, "{\"experiment\":\"journey\",\"user\":\"j%d\",\"type\":\"conversion\","
                    "\"phase\":\"consideration\"}\n", u);
        put(&b, "{\"experiment\":\"journey\",\"variant\":\"%s\",\"user\":\"j%d\",\"type\":"
                "\"exposure\",\"id\":\"e%d\"}\n", NAMES[a], u, eid++);
        /* A conflicting exposure: ignored. */
        if (unif() < 0.02)
            put(&b, "{\"experiment\":\"journey\",\"variant\":\"%s\",\"user\":\"j%d\","
                    "\"type\":\"exposure\"}\n", NAMES[(a + 1) % K], u);
        /* Mostly one phase after the other; a few users' events skip one. */
        int prev = 1;
        for (unsigned p = 0; p < AB_JOURNEY_PHASES; p++) {
            double q = p ? reach[a][p] / reach[a][p - 1] : reach[a][0];
            int got = unif() < (prev ? q : 0.05);
            if (got) ph[n++] = p;
            prev = got;
        }
        /* Shuffled: the phases arrive in any order. */
        for (unsigned i = n; i > 1; i--) {
            unsigned j = (unsigned)(unif() * i), t = ph[i - 1];
            ph[i - 1] = ph[j];
            ph[j] = t;
        }
        for (unsigned i = 0; i < n; i++) {
            int id = eid++;
            phases_of[u] |= 1u << ph[i];
            put(&b, "{\"experiment\":\"journey\",\"user\":\"j%d\",\"type\":\"conversion\","
                    "\"phase\":\"%s\",\"id\":\"e%d\"}\n", u, PHASE[ph[i]], id);
            /* The same event again (a retried beacon): a duplicate. */
            if (unif() < 0.05)
                put(&b, "{\"experiment\":\"journey\",\"user\":\"j%d\",\"type\":\"conversion\","
                        "\"phase\":\"%s\",\"id\":\"e%d\"}\n", u, PHASE[(ph[i] + 1) % 5], id);
            /* The same phase again: counts once. */
            if (unif() < 0.05)
                put(&b, "{\"experiment\":\"journey\",\"user\":\"j%d\",\"type\":\"conversion\","
                        "\"phase\":\"%s\"}\n", u, PHASE[ph[i]]);
        }
        if (unif() < (a == 1 ? 0.30 : 0.22)) {
            int score = (int)(unif() * 11);
            nps_of[u] = score >= 9 ? 1 : score >= 7 ? 2 : 3;
            put(&b, "{\"experiment\":\"journey\",\"user\":\"j%d\",\"type\":\"nps\",\"score\":%d}\n",
                u, score);
            put(&b, "{\"experiment\":\"journey\",\"user\":\"j%d\",\"type\":\"nps\",\"score\":0}\n", u);
        }
        if (b.len > 200000) post(&b);
    }
    /* Users never exposed: everything of theirs is unattributed. */
    for (int u = 0; u < STRANGERS; u++)
        put(&b, "{\"experiment\":\"journey\",\"user\":\"x%d\",\"type\":\"conversion\","
                "\"phase\":\"%s\"}\n{\"experiment\":\"journey\",\"user\":\"x%d\",\"type\":\"nps\","
                "\"score\":10}\n", u, PHASE[u % 5], u);
    post(&b);
    free(b.p);
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static double item(const json_t *o, const char *key, size_t i)
{
    const json_t *v = json_array_get(json_object_get(o, key), i);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *results(void)
{
    td_response r = td_req(&D, "GET", "/v1/experiments/journey/results", NULL);
    json_t *j;
    CHECK_INT(r.status, 200);
    j = json_incref(r.json);
    td_free(&r);
    return j;
}

static void check_steps(const json_t *journey)
{
    const json_t *steps = json_object_get(journey, "steps");
    CHECK_INT(json_array_size(steps), AB_JOURNEY_STEPS);
    for (size_t s = 0; s < AB_JOURNEY_STEPS; s++) {
        const json_t *st = json_array_get(steps, s);
        const json_t *vars = json_object_get(st, "variants"), *vs = json_object_get(st, "vs_control");
        ab_journey_arm arm[K];
        snprintf(test_context, sizeof test_context, "step %zu", s);
        CHECK(!strcmp(json_string_value(json_object_get(st, "from")), PHASE[s]));
        CHECK(!strcmp(json_string_value(json_object_get(st, "to")), PHASE[s + 1]));
        CHECK_INT(json_array_size(vars), K);
        CHECK_INT(json_array_size(vs), K - 1);
        memset(arm, 0, sizeof arm);
        for (int u = 0; u < USERS; u++) {
            ab_journey_arm *a = &arm[arm_of[u]];
            a->users++;
            a->reached += (phases_of[u] >> s) & 1u;
            a->continued += ((phases_of[u] >> s) & 3u) == 3u;
        }
        for (size_t i = 0; i < K; i++) {
            const json_t *v = json_array_get(vars, i);
            CHECK(!strcmp(json_string_value(json_object_get(v, "name")), NAMES[i]));
            CHECK_REL(num(v, "users"), arm[i].users, 0);
            CHECK_REL(num(v, "reached"), arm[i].reached, 0);
            CHECK_REL(num(v, "continued"), arm[i].continued, 0);
            CHECK_REL(num(v, "rate"), arm[i].continued / arm[i].reached, 1e-12);
        }
        for (size_t i = 1; i < K; i++) {
            const json_t *c = json_array_get(vs, i - 1);
            ab_journey_bounds b;
            CHECK(ab_journey_step_bounds(&arm[i], &arm[0], 0.05, &b) == AB_OK);
            CHECK(!strcmp(json_string_value(json_object_get(c, "variant")), NAMES[i]));
            CHECK_REL(num(c, "diff"), b.diff, 1e-12);
            CHECK_REL(item(c, "bounds", 0), b.bounds.lo, 1e-12);
            CHECK_REL(item(c, "bounds", 1), b.bounds.hi, 1e-12);
            CHECK_REL(item(c, "bounds_ci", 0), b.bounds_ci.lo, 1e-12);
            CHECK_REL(item(c, "bounds_ci", 1), b.bounds_ci.hi, 1e-12);
            CHECK_REL(num(c, "reach_diff"), b.reach_v - b.reach_c, 1e-12);
            CHECK(isfinite(b.bounds.lo) && b.bounds.lo <= b.diff + 1e-12 && b.diff <= b.bounds.hi + 1e-12);
            CHECK(b.bounds_ci.lo <= b.bounds.lo && b.bounds.hi <= b.bounds_ci.hi);
        }
    }
    test_context[0] = '\0';
}

static void check_nps(const json_t *journey)
{
    const json_t *n = json_object_get(journey, "nps_response");
    const json_t *vars = json_object_get(n, "variants"), *vs = json_object_get(n, "vs_control");
    ab_nps_response_arm arm[K];
    memset(arm, 0, sizeof arm);
    for (int u = 0; u < USERS; u++) {
        ab_nps_response_arm *a = &arm[arm_of[u]];
        a->users++;
        a->promoters += nps_of[u] == 1;
        a->passives += nps_of[u] == 2;
        a->detractors += nps_of[u] == 3;
    }
    CHECK_INT(json_array_size(vars), K);
    CHECK_INT(json_array_size(vs), K - 1);
    for (size_t i = 0; i < K; i++) {
        const json_t *v = json_array_get(vars, i);
        double r = arm[i].promoters + arm[i].passives + arm[i].detractors;
        CHECK(!strcmp(json_string_value(json_object_get(v, "name")), NAMES[i]));
        CHECK_REL(num(v, "users"), arm[i].users, 0);
        CHECK_REL(num(v, "responses"), r, 0);
        CHECK_REL(num(v, "rate"), r / arm[i].users, 1e-12);
    }
    for (size_t i = 1; i < K; i++) {
        const json_t *c = json_array_get(vs, i - 1);
        ab_nps_response_result b;
        CHECK(ab_nps_response_bounds(&arm[i], &arm[0], 0.05, &b) == AB_OK);
        CHECK(!strcmp(json_string_value(json_object_get(c, "variant")), NAMES[i]));
        CHECK_REL(num(c, "z"), b.z, 1e-12);
        CHECK_REL(num(c, "p_value"), b.p_value, 1e-12);
        CHECK_REL(item(c, "bounds", 0), b.bounds.lo, 1e-12);
        CHECK_REL(item(c, "bounds", 1), b.bounds.hi, 1e-12);
        CHECK(isfinite(b.bounds.lo) && isfinite(b.bounds.hi));
    }
}

/* An experiment without events: every step's figures that need users are
 * null, the counts 0. */
static void check_empty(void)
{
    td_response r = td_req(&D, "PUT", "/v1/experiments/quiet", "{\"variants\":[\"a\",\"b\"]}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    r = td_req(&D, "GET", "/v1/experiments/quiet/results", NULL);
    CHECK_INT(r.status, 200);
    const json_t *st = json_array_get(json_object_get(json_object_get(r.json, "journey"), "steps"), 0);
    const json_t *v = json_array_get(json_object_get(st, "variants"), 1);
    const json_t *c = json_array_get(json_object_get(st, "vs_control"), 0);
    CHECK_REL(num(v, "reached"), 0, 0);
    CHECK(json_is_null(json_object_get(v, "rate")));
    CHECK(json_is_null(json_object_get(c, "diff")));
    CHECK(json_is_null(json_object_get(c, "bounds")));
    CHECK(json_is_null(json_object_get(c, "bounds_ci")));
    td_free(&r);
}

/* A factorial experiment's cells are its arms here too: counted per cell. */
static void check_factorial(void)
{
    static const char *const cells[4] = {"a/x", "a/y", "b/x", "b/y"};
    buf b = {0};
    td_response r = td_req(&D, "PUT", "/v1/experiments/cells",
                           "{\"factors\":[{\"name\":\"headline\",\"levels\":[\"a\",\"b\"]},"
                           "{\"name\":\"cta\",\"levels\":[\"x\",\"y\"]}]}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    /* Cell c: 10 users, c + 1 of them at decision, one of those at retention. */
    for (int c = 0; c < 4; c++)
        for (int u = 0; u < 10; u++) {
            put(&b, "{\"experiment\":\"cells\",\"variant\":\"%s\",\"user\":\"f%d-%d\","
                    "\"type\":\"exposure\"}\n", cells[c], c, u);
            if (u <= c)
                put(&b, "{\"experiment\":\"cells\",\"user\":\"f%d-%d\",\"type\":\"conversion\"}\n",
                    c, u);
            if (u == 0)
                put(&b, "{\"experiment\":\"cells\",\"user\":\"f%d-%d\",\"type\":\"conversion\","
                        "\"phase\":\"retentie\"}\n", c, u);
        }
    post(&b);
    free(b.p);
    r = td_req(&D, "GET", "/v1/experiments/cells/results", NULL);
    CHECK_INT(r.status, 200);
    const json_t *st = json_array_get(json_object_get(json_object_get(r.json, "journey"), "steps"), 2);
    CHECK(!strcmp(json_string_value(json_object_get(st, "from")), "decision"));
    CHECK_INT(json_array_size(json_object_get(st, "variants")), 4);
    CHECK_INT(json_array_size(json_object_get(st, "vs_control")), 3);
    for (size_t c = 0; c < 4; c++) {
        const json_t *v = json_array_get(json_object_get(st, "variants"), c);
        CHECK(!strcmp(json_string_value(json_object_get(v, "name")), cells[c]));
        CHECK_REL(num(v, "users"), 10, 0);
        CHECK_REL(num(v, "reached"), (double)c + 1, 0);
        CHECK_REL(num(v, "continued"), 1, 0);
    }
    td_free(&r);
}

int main(void)
{
    char *before = NULL;
    ab_stats_init();
    td_init(&D, "journey");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_journey");
    }
    td_response r = td_req(&D, "PUT", "/v1/experiments/journey",
                           "{\"variants\":[\"control\",\"buy-now\",\"one-click\"],"
                           "\"min_days\":0,\"min_users\":0}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    for (int u = 0; u < USERS; u++) arm_of[u] = -1;
    send_stream();

    json_t *res = results();
    const json_t *j = json_object_get(res, "journey");
    CHECK(json_is_object(j));
    check_steps(j);
    check_nps(j);
    CHECK(num(json_object_get(res, "data_quality"), "unattributed") > STRANGERS);
    CHECK(num(json_object_get(res, "data_quality"), "duplicates") > 0);
    CHECK(num(json_object_get(res, "data_quality"), "conflicts") > 0);
    json_decref(res);
    check_empty();
    check_factorial();

    /* Replay rebuilds the cells: the same answer, byte for byte. */
    r = td_req(&D, "GET", "/v1/experiments/journey/results", NULL);
    before = strdup(r.body ? r.body : "");
    td_free(&r);
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    r = td_req(&D, "GET", "/v1/experiments/journey/results", NULL);
    CHECK(r.body && before && !strcmp(r.body, before));
    json_t *again = json_incref(r.json);
    td_free(&r);
    if (again) {
        check_steps(json_object_get(again, "journey"));
        json_decref(again);
    }
    free(before);
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    return TEST_DONE("test_journey");
}
