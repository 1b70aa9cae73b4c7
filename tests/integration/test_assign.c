/* test_assign.c — assignment: the hash (reference vectors and pinned
 * answers, so that no version moves a user), the weights grid, the
 * distribution over 100,000 users, and GET /v1/experiments/{id}/assign on a
 * real daemon: answers, errors, scopes, expose=1 through the group commit,
 * stopped experiments, and the same answers after a restart. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/assign.h"
#include "daemon.h"
#include "test.h"

#define ADMIN "admin-0123456789abcdef"
#define READ "read-0123456789abcdef"
#define INGEST "ingest-0123456789abcdef"

static td_daemon D;

/* ---- the hash ------------------------------------------------------------ */

static void test_murmur(void)
{
    /* The reference vectors of MurmurHash3_x86_32 (SMHasher's
     * verification set as usually quoted). */
    static const struct {
        const char *s;
        size_t len;
        uint32_t seed, want;
    } v[] = {
        {"", 0, 0, 0},
        {"", 0, 1, 0x514e28b7u},
        {"", 0, 0xffffffffu, 0x81f16f39u},
        {"\0\0\0\0", 4, 0, 0x2362f9deu},
        {"aaaa", 4, 0x9747b28cu, 0x5a97808au},
        {"aaa", 3, 0x9747b28cu, 0x283e0130u},
        {"aa", 2, 0x9747b28cu, 0x5d211726u},
        {"a", 1, 0x9747b28cu, 0x7fa09ea6u},
        {"abcd", 4, 0x9747b28cu, 0xf0478627u},
        {"abc", 3, 0x9747b28cu, 0xc84a62ddu},
        {"ab", 2, 0x9747b28cu, 0x74875592u},
        {"Hello, world!", 13, 0x9747b28cu, 0x24884cbau},
        {"The quick brown fox jumps over the lazy dog", 43, 0x9747b28cu, 0x2fa826cdu},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(test_context, sizeof test_context, "murmur3(\"%s\", %#x)", v[i].s, v[i].seed);
        CHECK_INT(ab_murmur3_32(v[i].s, v[i].len, v[i].seed), v[i].want);
    }
    test_context[0] = '\0';

    /* Fed in pieces, the hash is the hash of the joined bytes, for every
     * split against the 4-byte blocks. */
    {
        char e[40], u[40], joined[90];
        int bad = 0;
        for (size_t el = 0; el < 14; el++)
            for (size_t ul = 0; ul < 14; ul++) {
                for (size_t i = 0; i < el; i++) e[i] = (char)('a' + (i * 7 + el) % 26);
                for (size_t i = 0; i < ul; i++) u[i] = (char)(0x80 + (i * 13 + ul) % 100);
                memcpy(joined, e, el);
                joined[el] = ':';
                memcpy(joined + el + 1, u, ul);
                bad += ab_assign_hash(e, el, u, ul) != ab_murmur3_32(joined, el + 1 + ul, 0);
            }
        CHECK_INT(bad, 0);
    }
}

/* Answers fixed forever: a change here moves users of running experiments
 * between variants. abstat.js and README's description give the same. */
static void test_pinned(void)
{
    static const struct {
        const char *experiment, *user;
        uint32_t hash;
        size_t variant; /* under weights 0.2, 0.3, 0.5 */
    } p[] = {
        {"checkout-cta", "u-1842", 0x4d96b72fu, 1},
        {"checkout-cta", "u-1", 0xcd164c26u, 2},
        {"checkout-cta", "J\xc3\xbcrgen", 0xc18d096du, 2},
        {"hero-2026", "u-1842", 0x1a416d73u, 0},
        {"hero-2026", "a:b", 0x3a57a2ebu, 1},
        {"x", "\xf0\x9f\x98\x80", 0xb01e1e81u, 2},
    };
    const double w[3] = {0.2, 0.3, 0.5};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        const char *e = p[i].experiment, *u = p[i].user;
        snprintf(test_context, sizeof test_context, "%s / %s", e, u);
        CHECK_INT(ab_assign_hash(e, strlen(e), u, strlen(u)), p[i].hash);
        CHECK_INT(ab_assign_variant(e, strlen(e), u, strlen(u), w, 3), p[i].variant);
    }
    test_context[0] = '\0';
}

/* ---- the weights --------------------------------------------------------- */

static void test_thresholds(void)
{
    uint32_t t[8], t2[8];
    const double half[2] = {0.5, 0.5}, tenth[2] = {0.1, 0.9}, raw[2] = {1, 3},
                 quarter[2] = {0.25, 0.75}, third[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3},
                 printed[3] = {0.333333333333333, 0.333333333333333, 0.333333333333333},
                 ones[3] = {1, 1, 1}, bad[2] = {0.5, 0}, inf[2] = {1, INFINITY},
                 nan2[2] = {1, NAN}, huge[2] = {1e308, 1e308};

    CHECK_INT(ab_assign_thresholds(half, 2, t), 0);
    CHECK_INT(t[0], 524288);
    CHECK_INT(t[1], AB_ASSIGN_BUCKETS);
    CHECK_INT(ab_assign_thresholds(tenth, 2, t), 0);
    CHECK_INT(t[0], 104858); /* 0.1 * 2^20 = 104857.6 */
    /* The same split however it is written. */
    CHECK_INT(ab_assign_thresholds(raw, 2, t), 0);
    CHECK_INT(ab_assign_thresholds(quarter, 2, t2), 0);
    CHECK(!memcmp(t, t2, 2 * sizeof t[0]));
    CHECK_INT(ab_assign_thresholds(third, 3, t), 0);
    CHECK_INT(t[0], 349525);
    CHECK_INT(t[1], 699051);
    CHECK_INT(ab_assign_thresholds(printed, 3, t2), 0);
    CHECK(!memcmp(t, t2, 3 * sizeof t[0]));
    CHECK_INT(ab_assign_thresholds(ones, 3, t2), 0);
    CHECK(!memcmp(t, t2, 3 * sizeof t[0]));
    /* Normalising again (as a restart does) changes nothing. */
    {
        double w[5] = {0.07, 0.13, 0.29, 0.31, 0.2}, n[5], sum = 0;
        for (int i = 0; i < 5; i++) sum += w[i];
        for (int i = 0; i < 5; i++) n[i] = w[i] / sum;
        CHECK_INT(ab_assign_thresholds(w, 5, t), 0);
        CHECK_INT(ab_assign_thresholds(n, 5, t2), 0);
        CHECK(!memcmp(t, t2, 5 * sizeof t[0]));
    }
    CHECK_INT(ab_assign_thresholds(bad, 2, t), -1);
    CHECK_INT(ab_assign_thresholds(inf, 2, t), -1);
    CHECK_INT(ab_assign_thresholds(nan2, 2, t), -1);
    CHECK_INT(ab_assign_thresholds(huge, 2, t), -1);
    CHECK_INT(ab_assign_thresholds(half, 0, t), -1);
    CHECK_INT(ab_assign_variant("e", 1, "u", 1, half, 65), (size_t)-1);

    /* The bucket is the top 20 bits; the edges fall on either side. */
    CHECK_INT(ab_assign_thresholds(half, 2, t), 0);
    CHECK_INT(ab_assign_pick(t, 2, 0), 0);
    CHECK_INT(ab_assign_pick(t, 2, 0x7fffffffu), 0);
    CHECK_INT(ab_assign_pick(t, 2, 0x80000000u), 1);
    CHECK_INT(ab_assign_pick(t, 2, 0xffffffffu), 1);
    /* One variant takes everyone. */
    CHECK_INT(ab_assign_thresholds(half, 1, t), 0);
    CHECK_INT(ab_assign_pick(t, 1, 0xffffffffu), 0);
}

static void test_text(void)
{
    CHECK(ab_assign_text_ok("u-1", 3));
    CHECK(ab_assign_text_ok("J\xc3\xbcrgen", 7));
    CHECK(ab_assign_text_ok("\xe2\x82\xac", 3));
    CHECK(ab_assign_text_ok("\xf0\x9f\x98\x80", 4));
    CHECK(ab_assign_text_ok("", 0));
    CHECK(!ab_assign_text_ok("a\0b", 3));
    CHECK(!ab_assign_text_ok("\xff", 1));
    CHECK(!ab_assign_text_ok("\xc3", 1));            /* cut short */
    CHECK(!ab_assign_text_ok("\xc0\xaf", 2));        /* overlong '/' */
    CHECK(!ab_assign_text_ok("\xe0\x80\xaf", 3));    /* overlong */
    CHECK(!ab_assign_text_ok("\xed\xa0\x80", 3));    /* a surrogate */
    CHECK(!ab_assign_text_ok("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    CHECK(!ab_assign_text_ok("\xe2\x28\xa1", 3));    /* bad continuation */
}

/* ---- the distribution ---------------------------------------------------- */

#define USERS 100000

static size_t variant_of(const char *exp, int i, const double *w, size_t k)
{
    char u[32];
    int n = snprintf(u, sizeof u, "u-%d", i);
    return ab_assign_variant(exp, strlen(exp), u, (size_t)n, w, k);
}

/* Each count within 4.5 standard deviations of its binomial mean (a false
 * alarm about once in 150,000 runs per count; the users are fixed, so a run
 * either always passes or always fails). */
static void check_split(const char *exp, const double *w, size_t k)
{
    double n[8] = {0}, sum = 0;
    for (size_t i = 0; i < k; i++) sum += w[i];
    for (int i = 0; i < USERS; i++) n[variant_of(exp, i, w, k)]++;
    for (size_t i = 0; i < k; i++) {
        double p = w[i] / sum, mean = USERS * p, sd = sqrt(USERS * p * (1 - p));
        snprintf(test_context, sizeof test_context, "%s variant %zu: %.0f users, expected %.0f +- %.0f",
                 exp, i, n[i], mean, 4.5 * sd);
        CHECK(fabs(n[i] - mean) <= 4.5 * sd);
    }
    test_context[0] = '\0';
}

static void test_distribution(void)
{
    const double half[2] = {0.5, 0.5}, tenth[2] = {0.1, 0.9}, five[5] = {0.05, 0.15, 0.3, 0.2, 0.3};
    double table[2][2] = {{0}};
    check_split("checkout-cta", half, 2);
    check_split("checkout-cta", tenth, 2);
    check_split("hero-2026", five, 5);
    /* Experiments are independent: the variant in one says nothing about
     * the variant in another (chi-square of the 2x2 table, df 1, < 20.8:
     * p < 5e-6). */
    for (int i = 0; i < USERS; i++)
        table[variant_of("checkout-cta", i, half, 2)][variant_of("hero-2026", i, half, 2)]++;
    {
        double chi = 0;
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
                double row = table[a][0] + table[a][1], col = table[0][b] + table[1][b];
                double want = row * col / USERS;
                chi += (table[a][b] - want) * (table[a][b] - want) / want;
            }
        snprintf(test_context, sizeof test_context, "independence chi-square %.2f", chi);
        CHECK(chi < 20.8);
        test_context[0] = '\0';
    }
}

/* ---- the daemon ---------------------------------------------------------- */

static td_response as(const char *token, const char *method, const char *path)
{
    char hdr[256] = "";
    if (token) snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
    return td_request(&D, method, path, NULL, 0, hdr);
}

static void expect(td_response r, int status, const char *needle, const char *what)
{
    snprintf(test_context, sizeof test_context, "%s", what);
    CHECK_INT(r.status, status);
    if (needle) {
        const char *msg = json_string_value(json_object_get(r.json, "error"));
        if (!msg || !strstr(msg, needle))
            test_fail(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"", msg ? msg : "(none)", needle);
        else
            test_passed++;
    }
    test_context[0] = '\0';
    td_free(&r);
}

static double count_of(const char *id, const char *field)
{
    char path[100];
    td_response r;
    double n;
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    r = as(READ, "GET", path);
    n = r.status == 200 ? json_number_value(json_object_get(r.json, field)) : -1;
    td_free(&r);
    return n;
}

static const struct {
    const char *id, *body;
    double w[4];
    size_t k;
} exps[] = {
    {"a50", "{\"variants\":[\"control\",\"buy-now\"]}", {0.5, 0.5}, 2},
    {"a1090", "{\"variants\":[\"control\",\"buy-now\"],\"weights\":[0.1,0.9]}", {0.1, 0.9}, 2},
    {"a3", "{\"variants\":[\"x\",\"y\",\"z\"],\"weights\":[1,1,1]}", {1, 1, 1}, 3},
    {"fact", "{\"factors\":[{\"name\":\"h\",\"levels\":[\"a\",\"b\"]},"
             "{\"name\":\"c\",\"levels\":[\"x\",\"y\"]}]}", {1, 1, 1, 1}, 4},
};
#define NEXP (sizeof exps / sizeof exps[0])
#define SAMPLE 200

/* The variant index the daemon answers for user u-i of exps[e], checking
 * the answer's shape on the way; -1 when it failed. */
static int ask(size_t e, int i, const char *token)
{
    char path[160], user[32];
    td_response r;
    int idx = -1;
    snprintf(user, sizeof user, "u-%d", i);
    snprintf(path, sizeof path, "/v1/experiments/%s/assign?user=%s", exps[e].id, user);
    r = as(token, "GET", path);
    if (r.status == 200 && json_object_size(r.json) == 5 &&
        !strcmp(json_string_value(json_object_get(r.json, "experiment")), exps[e].id) &&
        !strcmp(json_string_value(json_object_get(r.json, "user")), user) &&
        json_is_false(json_object_get(r.json, "exposed")) &&
        json_is_string(json_object_get(r.json, "status"))) {
        const char *v = json_string_value(json_object_get(r.json, "variant"));
        td_response g;
        snprintf(path, sizeof path, "/v1/experiments/%s", exps[e].id);
        g = as(READ, "GET", path);
        for (size_t j = 0; v && j < json_array_size(json_object_get(g.json, "variants")); j++)
            if (!strcmp(v, json_string_value(json_array_get(json_object_get(g.json, "variants"), j))))
                idx = (int)j;
        td_free(&g);
    }
    td_free(&r);
    return idx;
}

static int answers[NEXP][SAMPLE];

static void test_answers(void)
{
    int bad = 0;
    for (size_t e = 0; e < NEXP; e++) {
        td_response r;
        char path[100];
        snprintf(path, sizeof path, "/v1/experiments/%s", exps[e].id);
        r = td_request(&D, "PUT", path, exps[e].body, strlen(exps[e].body),
                       "Authorization: Bearer " ADMIN "\r\n");
        CHECK_INT(r.status, 201);
        td_free(&r);
    }
    /* The daemon answers what the C function says, for read and ingest
     * tokens alike. */
    for (size_t e = 0; e < NEXP; e++)
        for (int i = 0; i < SAMPLE; i++) {
            answers[e][i] = ask(e, i, i % 2 ? READ : INGEST);
            bad += answers[e][i] != (int)variant_of(exps[e].id, i, exps[e].w, exps[e].k);
        }
    CHECK_INT(bad, 0);
}

static void test_errors(void)
{
    char path[700], user[300];
    expect(as(READ, "GET", "/v1/experiments/nope/assign?user=u-1"), 404, "not found", "unknown");
    expect(as(READ, "GET", "/v1/experiments/Bad!/assign?user=u-1"), 400, "invalid experiment id",
           "bad id");
    expect(as(READ, "GET", "/v1/experiments/a50/assign"), 400, "\"user\" is missing", "no user");
    expect(as(READ, "GET", "/v1/experiments/a50/assign?user="), 400, "1 to 256 bytes", "empty");
    memset(user, 'x', 257);
    user[257] = '\0';
    snprintf(path, sizeof path, "/v1/experiments/a50/assign?user=%s", user);
    expect(as(READ, "GET", path), 400, "must be 1 to 256 bytes, not 257", "257 bytes");
    user[256] = '\0';
    snprintf(path, sizeof path, "/v1/experiments/a50/assign?user=%s", user);
    expect(as(READ, "GET", path), 200, NULL, "256 bytes");
    expect(as(READ, "GET", "/v1/experiments/a50/assign?user=a%00b"), 400, "UTF-8", "NUL");
    expect(as(READ, "GET", "/v1/experiments/a50/assign?user=%FF"), 400, "UTF-8", "not UTF-8");
    expect(as(READ, "GET", "/v1/experiments/a50/assign?user=a&user=b"), 400, "twice", "twice");
    expect(as(READ, "GET", "/v1/experiments/a50/assign?user=a&expsoe=1"), 400,
           "unknown query parameter \"expsoe\"", "typo");
    expect(as(READ, "GET", "/v1/experiments/a50/assign?user=a&expose=yes"), 400, "1 or 0",
           "expose=yes");
    expect(as(READ, "POST", "/v1/experiments/a50/assign?user=a"), 405, NULL, "POST");
    {
        /* '+' and %20 are spaces, %C3%BC is ü: the user as decoded. */
        td_response r = as(READ, "GET", "/v1/experiments/a50/assign?user=J%C3%BCrgen+M%2B");
        CHECK_INT(r.status, 200);
        CHECK(!strcmp(json_string_value(json_object_get(r.json, "user")), "J\xc3\xbcrgen M+"));
        CHECK(strstr(r.headers, "Cache-Control: no-store") != NULL);
        td_free(&r);
    }
    {
        td_response r = as(READ, "HEAD", "/v1/experiments/a50/assign?user=u-1");
        CHECK_INT(r.status, 200);
        CHECK_INT(r.len, 0);
        td_free(&r);
    }
}

static void test_scopes(void)
{
    expect(as(NULL, "GET", "/v1/experiments/a50/assign?user=u-1"), 401, "?token=", "no token");
    expect(as("wrong-token-0123456789", "GET", "/v1/experiments/a50/assign?user=u-1"), 401,
           "invalid token", "bad token");
    expect(as(ADMIN, "GET", "/v1/experiments/a50/assign?user=u-1"), 200, NULL, "admin");
    expect(as(NULL, "GET", "/v1/experiments/a50/assign?user=u-1&token=" INGEST), 200, NULL,
           "ingest in the query");
    /* A read token in a URL does not count (browser histories, logs). */
    expect(as(NULL, "GET", "/v1/experiments/a50/assign?user=u-1&token=" READ), 403,
           "only for the ingest scope", "read in the query");
    expect(as(NULL, "GET", "/v1/experiments/a50/assign?user=u-1&token=" ADMIN), 200, NULL,
           "admin in the query is ingest");
    /* ... there it is only an ingest token: it may expose, and it opens no
     * other route. */
    expect(as(NULL, "GET", "/v1/experiments/a50/assign?user=q-1&expose=1&token=" ADMIN), 200,
           NULL, "admin in the query exposes");
    expect(as(NULL, "GET", "/v1/experiments/a50/results?token=" ADMIN), 401, "?token=",
           "query token elsewhere");
}

static void test_expose(void)
{
    td_response r;
    double before = count_of("a1090", "events");
    /* Exposing needs ingest: a read token is refused, nothing stored. */
    expect(as(READ, "GET", "/v1/experiments/a1090/assign?user=e-1&expose=1"), 403, "ingest",
           "read exposes");
    CHECK_INT(count_of("a1090", "events"), before);
    /* With ingest in the query, as a page sends it: answered after the
     * commit, and counted by then. */
    r = as(NULL, "GET", "/v1/experiments/a1090/assign?user=e-1&expose=1&token=" INGEST);
    CHECK_INT(r.status, 200);
    CHECK(json_is_true(json_object_get(r.json, "exposed")));
    CHECK_INT(json_object_size(r.json), 5);
    CHECK(!strcmp(json_string_value(json_object_get(r.json, "status")), "running"));
    {
        const char *v = json_string_value(json_object_get(r.json, "variant"));
        const double w[2] = {0.1, 0.9};
        CHECK(v && !strcmp(v, ab_assign_variant("a1090", 5, "e-1", 3, w, 2) ? "buy-now"
                                                                             : "control"));
    }
    td_free(&r);
    CHECK_INT(count_of("a1090", "events"), before + 1);
    CHECK_INT(count_of("a1090", "users"), 1);
    /* Again: another exposure stored, the same user and variant. */
    expect(as(INGEST, "GET", "/v1/experiments/a1090/assign?user=e-1&expose=true"), 200, NULL,
           "expose again");
    CHECK_INT(count_of("a1090", "events"), before + 2);
    CHECK_INT(count_of("a1090", "users"), 1);
    expect(as(INGEST, "HEAD", "/v1/experiments/a1090/assign?user=e-2&expose=1"), 400, NULL,
           "HEAD exposes");
    CHECK_INT(count_of("a1090", "users"), 1);
    /* expose=0 is a plain assignment. */
    expect(as(INGEST, "GET", "/v1/experiments/a1090/assign?user=e-3&expose=0"), 200, NULL,
           "expose=0");
    CHECK_INT(count_of("a1090", "users"), 1);

    /* Stopped: assignments still answer (pages fall back to them), an
     * exposure is refused and nothing stored. */
    r = td_request(&D, "POST", "/v1/experiments/a1090/stop", NULL, 0,
                   "Authorization: Bearer " ADMIN "\r\n");
    CHECK_INT(r.status, 200);
    td_free(&r);
    expect(as(INGEST, "GET", "/v1/experiments/a1090/assign?user=e-4&expose=1"), 409, "stopped",
           "stopped exposes");
    CHECK_INT(count_of("a1090", "events"), before + 2);
    r = as(INGEST, "GET", "/v1/experiments/a1090/assign?user=e-4");
    CHECK_INT(r.status, 200);
    CHECK(!strcmp(json_string_value(json_object_get(r.json, "status")), "stopped"));
    td_free(&r);
    r = td_request(&D, "POST", "/v1/experiments/a1090/start", NULL, 0,
                   "Authorization: Bearer " ADMIN "\r\n");
    CHECK_INT(r.status, 200);
    td_free(&r);
    expect(as(INGEST, "GET", "/v1/experiments/a1090/assign?user=e-4&expose=1"), 200, NULL,
           "started again");
    CHECK_INT(count_of("a1090", "users"), 2);
}

static void test_restart(void)
{
    int bad = 0;
    CHECK_INT(td_stop(&D), 0);
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not restart (see %s)", D.log);
        return;
    }
    for (size_t e = 0; e < NEXP; e++)
        for (int i = 0; i < SAMPLE; i++) bad += ask(e, i, READ) != answers[e][i];
    CHECK_INT(bad, 0);
    /* The exposures recorded are still there. */
    CHECK_INT(count_of("a1090", "users"), 2);
}

int main(void)
{
    char tokens[300], cmd[400];
    FILE *fp;
    test_murmur();
    test_pinned();
    test_thresholds();
    test_text();
    test_distribution();

    td_init(&D, "assign");
    snprintf(tokens, sizeof tokens, "%s.tokens", D.dir);
    if (!(fp = fopen(tokens, "w"))) {
        test_fail(__FILE__, __LINE__, "cannot write %s", tokens);
        return TEST_DONE("test_assign");
    }
    fprintf(fp, "admin %s\nread %s\ningest %s\n", ADMIN, READ, INGEST);
    fclose(fp);
    snprintf(D.extra, sizeof D.extra, "--tokens %s", tokens);
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_assign");
    }
    test_answers();
    test_errors();
    test_scopes();
    test_expose();
    test_restart();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    snprintf(cmd, sizeof cmd, "rm -f '%s'", tokens);
    if (system(cmd) != 0) {}
    return TEST_DONE("test_assign");
}
