/* test_cuped.c — CUPED against a real abstatd (README "Events", covariate;
 * "Experiments", variance_reduction; "Results and decision", cuped): the
 * config's validation and GET -> PUT round trip, refused covariates that
 * store nothing, a seeded stream (first exposure's covariate only, users
 * without one, revenue in several events with refunds) whose
 * vs_control.decision.cuped and vs_control.revenue.cuped equal the
 * library's on per-user values kept here, the adjusted comparison deciding
 * (/decision), no cuped block without covariates, and the same answer after
 * a restart (replay of the stored covariates). */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

static td_daemon D;

enum { USERS = 1200 };

typedef struct {
    int arm; /* -1: never exposed */
    double x, revenue;
    int converted;
} user_model;

static user_model users[USERS];

static uint64_t rng = 0x7c0ffee123456789u;
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

static void post(buf *b, int want)
{
    td_response r = td_request(&D, "POST", "/v1/events", b->p, b->len, NULL);
    CHECK_INT(r.status, want);
    if (r.status != want && r.body) fprintf(stderr, "  body: %.300s\n", r.body);
    td_free(&r);
    b->len = 0;
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The stream, NDJSON bodies of ~100 events: every user's first exposure
 * (most with a covariate, a few without), some repeated with another
 * covariate (ignored), conversions at the goal phase with values, refunds,
 * and conversions without a value. */
static void send_stream(void)
{
    buf b = {0};
    for (int u = 0; u < USERS; u++) {
        user_model *m = &users[u];
        m->arm = unif() < 0.5 ? 0 : 1;
        double z = unif() * 2 - 1;
        int has_x = unif() < 0.9;
        m->x = has_x ? round((40 + 20 * z) * 1000) / 1000 : 0.0;
        if (has_x)
            put(&b, "{\"experiment\":\"cu\",\"type\":\"exposure\",\"user\":\"u%d\",\"variant\":\"%s\","
                    "\"covariate\":%.3f}\n", u, m->arm ? "b" : "control", m->x);
        else
            put(&b, "{\"experiment\":\"cu\",\"type\":\"exposure\",\"user\":\"u%d\",\"variant\":\"%s\"}\n",
                u, m->arm ? "b" : "control");
        if (unif() < 0.2)
            put(&b, "{\"experiment\":\"cu\",\"type\":\"exposure\",\"user\":\"u%d\",\"variant\":\"%s\","
                    "\"covariate\":%d}\n", u, m->arm ? "b" : "control", 999);
        /* Conversion chance and value grow with the covariate. */
        if (unif() < 0.05 + 0.6 * (z + 1) / 2 + 0.03 * m->arm) {
            double v = round((10 + 30 * (z + 1) + 20 * unif()) * 100) / 100;
            m->converted = 1;
            m->revenue += v;
            put(&b, "{\"experiment\":\"cu\",\"type\":\"conversion\",\"user\":\"u%d\",\"value\":%.2f}\n",
                u, v);
            if (unif() < 0.2) {
                m->revenue += -5.0;
                put(&b, "{\"experiment\":\"cu\",\"type\":\"conversion\",\"user\":\"u%d\",\"value\":-5}\n",
                    u);
            }
            if (unif() < 0.2)
                put(&b, "{\"experiment\":\"cu\",\"type\":\"conversion\",\"user\":\"u%d\"}\n", u);
        }
        if (u % 20 == 19) post(&b, 202);
    }
    if (b.len) post(&b, 202);
    free(b.p);
}

static ab_cuped_moments moments(int arm, int revenue)
{
    ab_cuped_moments m = {0, 0, 0, 0, 0, 0};
    for (int u = 0; u < USERS; u++) {
        const user_model *um = &users[u];
        if (um->arm != arm) continue;
        double y = revenue ? um->revenue : um->converted;
        m.n++;
        m.sum_x += um->x;
        m.sum_x2 += um->x * um->x;
        m.sum_y += y;
        m.sum_y2 += y * y;
        m.sum_xy += um->x * y;
    }
    return m;
}

static void check_block(const json_t *cu, int revenue, int decides)
{
    ab_cuped_moments mv = moments(1, revenue), mc = moments(0, revenue);
    ab_cuped_result want;
    ab_seq_result seq;
    CHECK(json_is_object(cu));
    CHECK_INT(ab_cuped_compare(&mv, &mc, 0.05, &want), AB_OK);
    CHECK_INT(ab_seq_msprt(want.diff, want.var, mv.n + mc.n, 0.05, 5000, &seq), AB_OK);
    CHECK_REL(num(cu, "theta"), want.theta, 1e-9);
    CHECK_REL(num(cu, "diff"), want.diff, 1e-9);
    const json_t *ci = json_object_get(cu, "diff_ci");
    CHECK_REL(json_number_value(json_array_get(ci, 0)), want.diff_ci.lo, 1e-9);
    CHECK_REL(json_number_value(json_array_get(ci, 1)), want.diff_ci.hi, 1e-9);
    CHECK_REL(num(cu, "z"), want.z, 1e-9);
    CHECK_REL(num(cu, "p_value"), want.p_value, 1e-8);
    CHECK_REL(num(cu, "variance_reduction"), want.variance_reduction, 1e-9);
    printf("cuped %s: theta %g, variance reduction %.1f %%\n", revenue ? "revenue" : "decision",
           want.theta, 100 * want.variance_reduction);
    CHECK(want.variance_reduction > 0.05); /* the covariate helps in this stream */
    CHECK(json_is_true(json_object_get(cu, "decides")) == decides);
    if (decides) {
        /* Ready from the first look (min_days 0): the running p is at most
         * this look's, and this look's is the library's. */
        CHECK_REL(num(cu, "sequential_p_now"), seq.p_value, 1e-9);
        CHECK(num(cu, "sequential_p") <= seq.p_value * (1 + 1e-12));
    } else {
        CHECK_REL(num(cu, "sequential_p"), seq.p_value, 1e-9);
        CHECK(json_object_get(cu, "sequential_p_now") == NULL);
    }
}

static void check_config(void)
{
    td_response r = td_req(&D, "PUT", "/v1/experiments/cu",
                           "{\"variants\":[\"control\",\"b\"],\"metric\":\"revenue\","
                           "\"variance_reduction\":\"cupid\"}");
    CHECK_INT(r.status, 400);
    CHECK(r.body && strstr(r.body, "variance_reduction"));
    td_free(&r);
    r = td_req(&D, "PUT", "/v1/experiments/cu",
               "{\"variants\":[\"control\",\"b\"],\"metric\":\"nps\",\"variance_reduction\":\"cuped\"}");
    CHECK_INT(r.status, 400);
    td_free(&r);
    r = td_req(&D, "GET", "/v1/experiments/cu", NULL);
    CHECK_INT(r.status, 404); /* refused: nothing made */
    td_free(&r);
    r = td_req(&D, "PUT", "/v1/experiments/cu",
               "{\"variants\":[\"control\",\"b\"],\"metric\":\"revenue\","
               "\"variance_reduction\":\"cuped\",\"min_days\":0,\"min_users\":0}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    r = td_req(&D, "GET", "/v1/experiments/cu", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.json && !strcmp(json_string_value(json_object_get(r.json, "variance_reduction")), "cuped"));
    char *body = r.body ? strdup(r.body) : NULL;
    td_free(&r);
    /* GET -> PUT: the same experiment. */
    r = td_req(&D, "PUT", "/v1/experiments/cu", body);
    CHECK_INT(r.status, 200);
    td_free(&r);
    free(body);
    r = td_req(&D, "GET", "/v1/experiments/cu", NULL);
    CHECK(r.json && !strcmp(json_string_value(json_object_get(r.json, "variance_reduction")), "cuped"));
    td_free(&r);
}

/* A refused covariate refuses its batch and stores nothing. */
static void check_refused(void)
{
    static const char *const bad[] = {
        "[{\"experiment\":\"cu\",\"type\":\"exposure\",\"user\":\"z\",\"variant\":\"b\",\"covariate\":1},"
        "{\"experiment\":\"cu\",\"type\":\"conversion\",\"user\":\"z\",\"covariate\":1}]",
        "{\"experiment\":\"cu\",\"type\":\"exposure\",\"user\":\"z\",\"variant\":\"b\",\"covariate\":\"7\"}",
        "{\"experiment\":\"cu\",\"type\":\"exposure\",\"user\":\"z\",\"variant\":\"b\",\"covariate\":1e21}",
        "{\"experiment\":\"cu\",\"type\":\"exposure\",\"user\":\"z\",\"variant\":\"b\",\"covariate\":1e999}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        td_response r = td_req(&D, "POST", "/v1/events", bad[i]);
        CHECK_INT(r.status, 400);
        td_free(&r);
    }
    td_response r = td_req(&D, "GET", "/v1/experiments/cu/results", NULL);
    const json_t *v = json_array_get(json_object_get(r.json, "variants"), 1);
    CHECK_INT(json_integer_value(json_object_get(v, "users")), 0);
    td_free(&r);
}

static char *check_results(void)
{
    td_response r = td_req(&D, "GET", "/v1/experiments/cu/results", NULL);
    CHECK_INT(r.status, 200);
    const json_t *v = json_array_get(json_object_get(r.json, "variants"), 1);
    const json_t *vs = json_object_get(v, "vs_control");
    check_block(json_object_get(json_object_get(vs, "revenue"), "cuped"), 1, 1);
    check_block(json_object_get(json_object_get(vs, "decision"), "cuped"), 0, 0);
    /* The running figures sit in the block that decides. */
    CHECK(json_object_get(json_object_get(vs, "revenue"), "sequential_p_now") == NULL);
    const json_t *w = json_object_get(json_object_get(r.json, "data_quality"), "warnings");
    for (size_t i = 0; i < json_array_size(w); i++)
        CHECK(!strstr(json_string_value(json_array_get(w, i)), "variance_reduction"));
    char *body = r.body ? strdup(r.body) : NULL;
    td_free(&r);

    /* /decision reports the adjusted comparison as the primary. */
    ab_cuped_moments mv = moments(1, 1), mc = moments(0, 1);
    ab_cuped_result want;
    CHECK_INT(ab_cuped_compare(&mv, &mc, 0.05, &want), AB_OK);
    r = td_req(&D, "GET", "/v1/experiments/cu/decision", NULL);
    CHECK_INT(r.status, 200);
    v = json_array_get(json_object_get(r.json, "variants"), 0);
    CHECK_REL(num(v, "effect"), want.diff, 1e-9);
    CHECK_REL(num(v, "p_value"), want.p_value, 1e-8);
    td_free(&r);
    return body;
}

/* An experiment without covariates has no cuped block; with
 * variance_reduction cuped it says that the unadjusted test decides. */
static void check_without(void)
{
    td_response r = td_req(&D, "PUT", "/v1/experiments/plain",
                           "{\"variants\":[\"a\",\"b\"],\"variance_reduction\":\"cuped\","
                           "\"min_days\":0,\"min_users\":0}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    buf b = {0};
    for (int u = 0; u < 40; u++) {
        put(&b, "{\"experiment\":\"plain\",\"type\":\"exposure\",\"user\":\"p%d\",\"variant\":\"%s\"}\n",
            u, u % 2 ? "b" : "a");
        if (u % 3 == 0)
            put(&b, "{\"experiment\":\"plain\",\"type\":\"conversion\",\"user\":\"p%d\"}\n", u);
    }
    post(&b, 202);
    free(b.p);
    r = td_req(&D, "GET", "/v1/experiments/plain/results", NULL);
    const json_t *v = json_array_get(json_object_get(r.json, "variants"), 1);
    const json_t *dec = json_object_get(json_object_get(v, "vs_control"), "decision");
    CHECK(json_is_object(dec) && json_object_get(dec, "cuped") == NULL);
    CHECK(json_is_number(json_object_get(dec, "sequential_p_now")));
    const json_t *w = json_object_get(json_object_get(r.json, "data_quality"), "warnings");
    int said = 0;
    for (size_t i = 0; i < json_array_size(w); i++)
        said |= strstr(json_string_value(json_array_get(w, i)), "no exposure has carried a covariate") != NULL;
    CHECK(said);
    td_free(&r);
}

int main(void)
{
    ab_stats_init();
    td_init(&D, "cuped");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_cuped");
    }
    check_config();
    check_refused();
    send_stream();
    char *before = check_results();
    check_without();

    /* Once events exist, variance_reduction is part of the test: 409. */
    td_response r = td_req(&D, "PUT", "/v1/experiments/cu",
                           "{\"variants\":[\"control\",\"b\"],\"metric\":\"revenue\","
                           "\"min_days\":0,\"min_users\":0}");
    CHECK_INT(r.status, 409);
    CHECK(r.body && strstr(r.body, "variance_reduction"));
    td_free(&r);

    /* Replay rebuilds the covariates: the same answer, byte for byte. */
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    r = td_req(&D, "GET", "/v1/experiments/cu/results", NULL);
    CHECK(r.body && before && !strcmp(r.body, before));
    td_free(&r);
    free(before);
    char *again = check_results();
    free(again);
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    return TEST_DONE("test_cuped");
}
