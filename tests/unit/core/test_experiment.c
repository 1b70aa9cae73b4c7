/* test_experiment.c — experiment configs (SPEC section 3): defaults, every
 * field's valid and invalid values, factorial cells, guardrails, round trip,
 * structure, the test definition and its change history entries. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/experiment.h"
#include "json/experiment_json.h"
#include "abstat/stats.h"
#include "test.h"

static const char *const all_keys[] = {
    "description", "phase", "variants", "factors", "weights", "metric",
    "alpha", "power", "mde", "baseline", "method", "sequential_tuning",
    "correction", "min_days", "min_users", "guardrails", "webhook", "prior",
    "variance_reduction", "revenue_cap", NULL,
};
#define ALL_KEYS 20

/* Parses JSON text (any value) as the body of experiment "exp-1". */
static int parse_text(const char *text, ab_experiment_config *cfg, ab_error *err)
{
    json_error_t jerr;
    json_t *body = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    int rc;
    if (!body) {
        test_fail(__FILE__, __LINE__, "test body is not JSON: %s: %s", text, jerr.text);
        memset(cfg, 0, sizeof *cfg);
        return -2;
    }
    rc = ab_experiment_parse("exp-1", body, cfg, err);
    json_decref(body);
    return rc;
}

static int is_zeroed(const ab_experiment_config *cfg)
{
    static const ab_experiment_config zero;
    return memcmp(cfg, &zero, sizeof zero) == 0;
}

/* A body must be refused with 400, an error naming `field`, nothing held. */
static void expect_bad(const char *text, const char *field)
{
    ab_experiment_config cfg;
    ab_error err = {0, ""};
    int rc = parse_text(text, &cfg, &err);
    snprintf(test_context, sizeof test_context, "%.900s", text);
    CHECK_INT(rc, -1);
    CHECK_INT(err.status, 400);
    if (!strstr(err.text, field))
        test_fail(__FILE__, __LINE__, "error \"%s\" does not name \"%s\"", err.text, field);
    else
        test_passed++;
    CHECK(is_zeroed(&cfg));
    if (rc == 0) ab_experiment_free(&cfg);
    test_context[0] = '\0';
}

/* A body must be accepted; the caller frees cfg. */
static int expect_ok(const char *text, ab_experiment_config *cfg)
{
    ab_error err = {0, ""};
    int rc = parse_text(text, cfg, &err);
    if (rc != 0) {
        test_fail(__FILE__, __LINE__, "refused %s: %s", text, err.text);
        return -1;
    }
    test_passed++;
    return 0;
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int cfg_equal(const ab_experiment_config *a, const ab_experiment_config *b)
{
    if (strcmp(a->id, b->id) || !same_str(a->description, b->description) ||
        a->phase != b->phase || a->k != b->k || a->factorial != b->factorial ||
        a->metric != b->metric || !same_double(a->alpha, b->alpha) ||
        !same_double(a->power, b->power) || !same_double(a->mde, b->mde) ||
        !same_double(a->baseline, b->baseline) || a->method != b->method ||
        !same_double(a->tuning, b->tuning) || a->correction != b->correction ||
        !same_double(a->min_days, b->min_days) || !same_double(a->min_users, b->min_users) ||
        !same_str(a->webhook, b->webhook))
        return 0;
    for (size_t i = 0; i < a->k; i++)
        if (!same_str(a->names[i], b->names[i]) || fabs(a->weights[i] - b->weights[i]) > 1e-15)
            return 0;
    if (a->factorial != b->factorial || (a->factorial && !ab_experiment_same_structure(a, b)))
        return 0;
    if (a->guardrails_default != b->guardrails_default || a->nguardrails != b->nguardrails)
        return 0;
    for (size_t i = 0; i < a->nguardrails; i++)
        if (a->guardrails[i].metric != b->guardrails[i].metric ||
            a->guardrails[i].phase != b->guardrails[i].phase ||
            a->guardrails[i].margin != b->guardrails[i].margin)
            return 0;
    if (a->factorial &&
        (a->design.nfactors != b->design.nfactors ||
         memcmp(a->design.levels, b->design.levels, sizeof a->design.levels)))
        return 0;
    return 1;
}

static void test_id(void)
{
    char long_id[80];
    ab_experiment_config cfg;
    ab_error err = {0, ""};
    json_t *body = json_pack("{s:[s,s]}", "variants", "a", "b");

    CHECK(ab_experiment_id_valid("a", 1));
    CHECK(ab_experiment_id_valid("0", 1));
    CHECK(ab_experiment_id_valid("checkout-cta.v2_x", 17));
    memset(long_id, 'a', sizeof long_id);
    CHECK(ab_experiment_id_valid(long_id, 64));
    CHECK(!ab_experiment_id_valid(long_id, 65));
    CHECK(!ab_experiment_id_valid("", 0));
    CHECK(!ab_experiment_id_valid(NULL, 1));
    CHECK(!ab_experiment_id_valid("-a", 2));
    CHECK(!ab_experiment_id_valid(".a", 2));
    CHECK(!ab_experiment_id_valid("_a", 2));
    CHECK(!ab_experiment_id_valid("Abc", 3));
    CHECK(!ab_experiment_id_valid("a b", 3));
    CHECK(!ab_experiment_id_valid("a/b", 3));
    CHECK(!ab_experiment_id_valid("a\0b", 3));
    CHECK(!ab_experiment_id_valid("caf\xc3\xa9", 5));
    /* Only len bytes are looked at. */
    CHECK(ab_experiment_id_valid("ab CD", 2));

    CHECK_INT(ab_experiment_parse("Bad", body, &cfg, &err), -1);
    CHECK_INT(err.status, 400);
    CHECK(strstr(err.text, "id") != NULL);
    CHECK(is_zeroed(&cfg));
    long_id[65] = '\0';
    CHECK_INT(ab_experiment_parse(long_id, body, &cfg, &err), -1);
    CHECK(strstr(err.text, "id") != NULL);
    CHECK_INT(ab_experiment_parse(NULL, body, &cfg, &err), -1);
    long_id[64] = '\0';
    CHECK_INT(ab_experiment_parse(long_id, body, &cfg, &err), 0);
    CHECK(!strcmp(cfg.id, long_id));
    ab_experiment_free(&cfg);
    json_decref(body);
}

static void test_defaults(void)
{
    ab_experiment_config cfg;
    if (expect_ok("{\"variants\": [\"control\", \"buy-now\"]}", &cfg)) return;
    CHECK(!strcmp(cfg.id, "exp-1"));
    CHECK(cfg.description && !strcmp(cfg.description, ""));
    CHECK_INT(cfg.phase, AB_PHASE_DECISION);
    CHECK_INT(cfg.k, 2);
    CHECK(!strcmp(cfg.names[0], "control"));
    CHECK(!strcmp(cfg.names[1], "buy-now"));
    CHECK(cfg.names[2] == NULL);
    CHECK(cfg.weights[0] == 0.5 && cfg.weights[1] == 0.5);
    CHECK_INT(cfg.factorial, 0);
    CHECK(!cfg.factorial && !cfg.factors);
    CHECK_INT(cfg.metric, AB_METRIC_CONVERSION);
    CHECK(cfg.alpha == 0.05);
    CHECK(cfg.power == 0.8);
    CHECK(cfg.mde == 0.10);
    CHECK(isnan(cfg.baseline));
    CHECK_INT(cfg.method, AB_METHOD_SEQUENTIAL);
    CHECK(cfg.tuning == 5000);
    CHECK_INT(cfg.correction, AB_CORRECT_HOLM);
    CHECK(cfg.min_days == 7);
    CHECK(cfg.min_users == 100);
    CHECK(cfg.webhook == NULL);
    CHECK_INT(cfg.guardrails_default, 1);
    CHECK_INT(cfg.nguardrails, 0);
    ab_experiment_free(&cfg);
    CHECK(is_zeroed(&cfg));
    ab_experiment_free(&cfg); /* freeing twice is harmless: it was zeroed */

    /* null is the same as absent for every optional key. */
    if (expect_ok("{\"variants\": [\"a\", \"b\", \"c\"], \"description\": null, \"phase\": null,"
                  " \"weights\": null, \"factors\": null, \"metric\": null, \"alpha\": null,"
                  " \"power\": null, \"mde\": null, \"baseline\": null, \"method\": null,"
                  " \"sequential_tuning\": null, \"correction\": null, \"min_days\": null,"
                  " \"min_users\": null, \"webhook\": null, \"id\": null, \"guardrails\": null}",
                  &cfg))
        return;
    CHECK_INT(cfg.k, 3);
    CHECK(cfg.weights[0] == 1.0 / 3 && cfg.weights[2] == 1.0 / 3);
    CHECK(!strcmp(cfg.description, ""));
    CHECK_INT(cfg.phase, AB_PHASE_DECISION);
    CHECK(cfg.alpha == 0.05 && cfg.min_users == 100 && isnan(cfg.baseline));
    CHECK_INT(cfg.guardrails_default, 1);
    ab_experiment_free(&cfg);
}

static void test_valid_fields(void)
{
    ab_experiment_config cfg;
    char big[2200];

    if (!expect_ok("{\"id\": \"exp-1\", \"description\": \"Koop nu \\u00e9\\u00e9n knop\\n\","
                   " \"phase\": \"Aankoop\", \"variants\": [\"control\", \"Buy now!\", \"\\u00e9\"],"
                   " \"weights\": [1, 2, 1], \"metric\": \"REVENUE\", \"alpha\": 0.01,"
                   " \"power\": 0.9, \"mde\": -0.05, \"baseline\": 42.5, \"method\": \"Fixed\","
                   " \"sequential_tuning\": 1e4, \"correction\": \"BH\", \"min_days\": 14.5,"
                   " \"min_users\": 1000, \"webhook\": \"http://hooks.example.com:8080/ab?x=1\"}",
                   &cfg)) {
        CHECK(!strcmp(cfg.description, "Koop nu \xc3\xa9\xc3\xa9n knop\n"));
        CHECK_INT(cfg.phase, AB_PHASE_DECISION);
        CHECK_INT(cfg.k, 3);
        CHECK(!strcmp(cfg.names[1], "Buy now!"));
        CHECK(!strcmp(cfg.names[2], "\xc3\xa9"));
        CHECK(cfg.weights[0] == 0.25 && cfg.weights[1] == 0.5 && cfg.weights[2] == 0.25);
        CHECK_INT(cfg.metric, AB_METRIC_REVENUE);
        CHECK(cfg.alpha == 0.01 && cfg.power == 0.9 && cfg.mde == -0.05);
        CHECK(cfg.baseline == 42.5);
        CHECK_INT(cfg.method, AB_METHOD_FIXED);
        CHECK(cfg.tuning == 10000);
        CHECK_INT(cfg.correction, AB_CORRECT_BH);
        CHECK(cfg.min_days == 14.5 && cfg.min_users == 1000);
        CHECK(cfg.webhook && !strcmp(cfg.webhook, "http://hooks.example.com:8080/ab?x=1"));
        ab_experiment_free(&cfg);
    }

    /* Phase aliases (SPEC section 2), any case, Dutch names included. */
    {
        static const struct {
            const char *name;
            ab_phase phase;
        } ph[] = {
            {"Aankoop", AB_PHASE_DECISION},          {"checkout", AB_PHASE_DECISION},
            {"KOOP", AB_PHASE_DECISION},             {"bewustwording", AB_PHASE_AWARENESS},
            {"Awareness", AB_PHASE_AWARENESS},       {"ORI\xc3\x8bNTATIE", AB_PHASE_CONSIDERATION},
            {"research", AB_PHASE_CONSIDERATION},    {"retentie", AB_PHASE_RETENTION},
            {"Loyalty", AB_PHASE_RETENTION},         {"ambassadeurschap", AB_PHASE_ADVOCACY},
            {"advocacy", AB_PHASE_ADVOCACY},
        };
        for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++) {
            char body[200];
            snprintf(body, sizeof body, "{\"variants\": [\"a\", \"b\"], \"phase\": \"%s\"}",
                     ph[i].name);
            if (expect_ok(body, &cfg)) continue;
            CHECK_INT(cfg.phase, ph[i].phase);
            ab_experiment_free(&cfg);
        }
    }

    /* Edge values that are allowed. */
    {
        static const char *const ok[] = {
            "\"alpha\": 0.5", "\"alpha\": 1e-9", "\"power\": 0.999", "\"power\": 0.05",
            "\"mde\": -0.99", "\"mde\": 3", "\"baseline\": 0.999, \"mde\": 0.0001",
            "\"baseline\": 1e-6", "\"metric\": \"revenue\", \"baseline\": 1e9",
            "\"metric\": \"nps\", \"baseline\": -100", "\"metric\": \"nps\", \"baseline\": 100",
            "\"metric\": \"nps\", \"baseline\": 0", "\"sequential_tuning\": 0.5",
            "\"min_days\": 0", "\"min_days\": 3650", "\"min_users\": 0",
            "\"min_users\": 9007199254740992", "\"correction\": \"none\"",
            "\"correction\": \"Bonferroni\"", "\"correction\": \"holm\"", "\"method\": \"sequential\"",
            "\"weights\": [1e308, 1e308]", "\"weights\": [1e-300, 3e-300]",
            "\"webhook\": \"http://localhost\"", "\"webhook\": \"http://127.0.0.1:1/\"",
            "\"webhook\": \"http://[::1]:65535/hook\"", "\"webhook\": \"HTTP://Example.COM/x#y\"",
            "\"webhook\": \"https://example.com/hook\"", "\"webhook\": \"HTTPS://[::1]:8443/h?k=v\"",
            "\"webhook\": \"http://a.b-c.example/p%20q?r=s&t=u\"", "\"description\": \"\"",
            "\"id\": \"exp-1\"",
        };
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
            char body[300];
            snprintf(body, sizeof body, "{\"variants\": [\"a\", \"b\"], %s}", ok[i]);
            if (!expect_ok(body, &cfg)) ab_experiment_free(&cfg);
        }
    }
    if (!expect_ok("{\"variants\": [\"a\", \"b\"], \"weights\": [1e308, 1e308]}", &cfg)) {
        CHECK(cfg.weights[0] == 0.5 && cfg.weights[1] == 0.5);
        ab_experiment_free(&cfg);
    }

    /* 64 variants of 64 bytes each; a description of exactly 1024 bytes. */
    {
        json_t *body = json_object(), *vars = json_array();
        ab_error err = {0, ""};
        for (unsigned i = 0; i < AB_MAX_ARMS; i++) {
            char name[65];
            memset(name, 'v', 64);
            snprintf(name + 60, 5, "%04u", i % 10000u);
            json_array_append_new(vars, json_string(name));
        }
        json_object_set_new(body, "variants", vars);
        memset(big, 'd', 1024);
        big[1024] = '\0';
        json_object_set_new(body, "description", json_string(big));
        CHECK_INT(ab_experiment_parse("exp-1", body, &cfg, &err), 0);
        CHECK_INT(cfg.k, 64);
        CHECK(strlen(cfg.names[63]) == 64);
        CHECK(cfg.weights[63] == 1.0 / 64);
        CHECK(strlen(cfg.description) == 1024);
        ab_experiment_free(&cfg);
        json_decref(body);
    }
    /* A webhook of exactly 2048 bytes. */
    {
        json_t *body = json_pack("{s:[s,s]}", "variants", "a", "b");
        ab_error err = {0, ""};
        memset(big, 'p', 2048);
        memcpy(big, "http://h/", 9);
        big[2048] = '\0';
        json_object_set_new(body, "webhook", json_string(big));
        CHECK_INT(ab_experiment_parse("exp-1", body, &cfg, &err), 0);
        CHECK(cfg.webhook && strlen(cfg.webhook) == 2048);
        ab_experiment_free(&cfg);
        json_decref(body);
    }
}

/* Builds {"variants": [...n names...]} as text. */
static char *variants_body(size_t n)
{
    char *s = malloc(16 + n * 12);
    size_t pos = 0;
    if (!s) return NULL;
    pos += (size_t)sprintf(s + pos, "{\"variants\": [");
    for (size_t i = 0; i < n; i++) pos += (size_t)sprintf(s + pos, "%s\"v%zu\"", i ? "," : "", i);
    sprintf(s + pos, "]}");
    return s;
}

static void test_invalid(void)
{
    static const struct {
        const char *body, *field;
    } bad[] = {
        /* the body as a whole */
        {"[]", "body"},
        {"\"variants\"", "body"},
        {"null", "body"},
        {"{}", "variants"},
        {"{\"description\": \"x\"}", "variants"},
        {"{\"variants\": [\"a\", \"b\"], \"colour\": \"red\"}", "colour"},
        {"{\"variants\": [\"a\", \"b\"], \"Alpha\": 0.1}", "Alpha"},
        {"{\"variants\": [\"a\", \"b\"], \"id\": \"exp-2\"}", "id"},
        {"{\"variants\": [\"a\", \"b\"], \"id\": 1}", "id"},
        /* variants */
        {"{\"variants\": \"a,b\"}", "variants"},
        {"{\"variants\": {\"a\": 1}}", "variants"},
        {"{\"variants\": []}", "variants"},
        {"{\"variants\": [\"a\"]}", "variants"},
        {"{\"variants\": [\"a\", 1]}", "variants[1]"},
        {"{\"variants\": [\"a\", null]}", "variants[1]"},
        {"{\"variants\": [\"a\", \"\"]}", "variants[1]"},
        {"{\"variants\": [\"a\", \"b/c\"]}", "variants[1]"},
        {"{\"variants\": [\"a\", \"b\", \"a\"]}", "variants[2]: duplicate name \"a\""},
        {"{\"variants\": [\"a\", \"b\\u0001\"]}", "variants[1]"},
        {"{\"variants\": [\"a\", \"b\\nc\"]}", "variants[1]"},
        {"{\"variants\": [\"a\", \"b\\u0000c\"]}", "variants[1]"},
        {"{\"variants\": [\"a\", \"b\\u007f\"]}", "variants[1]"},
        {"{\"variants\": [\"a\", \"\\u0085\"]}", "variants[1]"},
        {"{\"variants\": [\"a\", \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]}",
         "variants[1]"},
        /* factors */
        {"{\"factors\": {}}", "factors"},
        {"{\"factors\": []}", "factors"},
        {"{\"factors\": \"h\"}", "factors"},
        {"{\"factors\": [1]}", "factors[0]"},
        {"{\"factors\": [{\"name\": \"h\"}]}", "factors[0].levels"},
        {"{\"factors\": [{\"levels\": [\"a\", \"b\"]}]}", "factors[0].name"},
        {"{\"factors\": [{\"name\": \"\", \"levels\": [\"a\", \"b\"]}]}", "factors[0].name"},
        {"{\"factors\": [{\"name\": 5, \"levels\": [\"a\", \"b\"]}]}", "factors[0].name"},
        {"{\"factors\": [{\"name\": \"h\\t\", \"levels\": [\"a\", \"b\"]}]}", "factors[0].name"},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\"]}]}", "factors[0].levels"},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": \"ab\"}]}", "factors[0].levels"},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"a\"]}]}",
         "factors[0].levels[1]: duplicate level \"a\""},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"b/c\"]}]}", "factors[0].levels[1]"},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"\"]}]}", "factors[0].levels[1]"},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", 2]}]}", "factors[0].levels[1]"},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"b\"], \"weight\": 1}]}",
         "factors[0]: unknown field \"weight\""},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"b\"]},"
         " {\"name\": \"h\", \"levels\": [\"x\", \"y\"]}]}",
         "factors[1].name: duplicate"},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"b\"]},"
         " {\"name\": \"c\", \"levels\": [\"x\", \"y\"]}], \"variants\": [\"a\", \"b\"]}",
         "variants"},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"b\"]},"
         " {\"name\": \"c\", \"levels\": [\"x\", \"y\"]}],"
         " \"variants\": [\"a/x\", \"a/y\", \"b/y\", \"b/x\"]}",
         "variants[2]"},
        {"{\"factors\": [{\"name\": \"f1\", \"levels\": [\"a\", \"b\"]},"
         " {\"name\": \"f2\", \"levels\": [\"a\", \"b\"]}, {\"name\": \"f3\", \"levels\": [\"a\", \"b\"]},"
         " {\"name\": \"f4\", \"levels\": [\"a\", \"b\"]}, {\"name\": \"f5\", \"levels\": [\"a\", \"b\"]},"
         " {\"name\": \"f6\", \"levels\": [\"a\", \"b\"]}, {\"name\": \"f7\", \"levels\": [\"a\", \"b\"]}]}",
         "factors"},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"1\",\"2\",\"3\",\"4\",\"5\"]},"
         " {\"name\": \"c\", \"levels\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\","
         "\"10\",\"11\",\"12\",\"13\"]}]}",
         "factors: the levels make 65 cells"},
        {"{\"factors\": [{\"name\": \"f1\", \"levels\": [\"a\", \"b\"]},"
         " {\"name\": \"f2\", \"levels\": [\"a\", \"b\"]}, {\"name\": \"f3\", \"levels\": [\"a\", \"b\"]},"
         " {\"name\": \"f4\", \"levels\": [\"a\", \"b\"]}, {\"name\": \"f5\", \"levels\": [\"a\", \"b\"]},"
         " {\"name\": \"f6\", \"levels\": [\"a\", \"b\", \"c\"]}]}",
         "factors: the levels make 96 cells"},
        /* weights */
        {"{\"variants\": [\"a\", \"b\"], \"weights\": \"50/50\"}", "weights"},
        {"{\"variants\": [\"a\", \"b\"], \"weights\": [1]}", "weights"},
        {"{\"variants\": [\"a\", \"b\"], \"weights\": [1, 2, 3]}", "weights"},
        {"{\"variants\": [\"a\", \"b\"], \"weights\": [1, 0]}", "weights[1]"},
        {"{\"variants\": [\"a\", \"b\"], \"weights\": [-1, 1]}", "weights[0]"},
        {"{\"variants\": [\"a\", \"b\"], \"weights\": [1, \"1\"]}", "weights[1]"},
        {"{\"variants\": [\"a\", \"b\"], \"weights\": [1, null]}", "weights[1]"},
        {"{\"variants\": [\"a\", \"b\"], \"weights\": [1e-320, 1e308]}", "weights[0]"},
        {"{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"b\", \"c\"]}], \"weights\": [1, 1]}",
         "weights"},
        /* description */
        {"{\"variants\": [\"a\", \"b\"], \"description\": 5}", "description"},
        {"{\"variants\": [\"a\", \"b\"], \"description\": [\"x\"]}", "description"},
        {"{\"variants\": [\"a\", \"b\"], \"description\": \"a\\u0000b\"}", "description"},
        /* phase */
        {"{\"variants\": [\"a\", \"b\"], \"phase\": \"nope\"}", "phase"},
        {"{\"variants\": [\"a\", \"b\"], \"phase\": \"\"}", "phase"},
        {"{\"variants\": [\"a\", \"b\"], \"phase\": 2}", "phase"},
        /* metric */
        {"{\"variants\": [\"a\", \"b\"], \"metric\": \"clicks\"}", "metric"},
        {"{\"variants\": [\"a\", \"b\"], \"metric\": 1}", "metric"},
        {"{\"variants\": [\"a\", \"b\"], \"metric\": \"conversionconversionconversionconversion\"}",
         "metric"},
        /* alpha, power, mde */
        {"{\"variants\": [\"a\", \"b\"], \"alpha\": 0}", "alpha"},
        {"{\"variants\": [\"a\", \"b\"], \"alpha\": 1}", "alpha"},
        {"{\"variants\": [\"a\", \"b\"], \"alpha\": 0.6}", "alpha"},
        {"{\"variants\": [\"a\", \"b\"], \"alpha\": -0.05}", "alpha"},
        {"{\"variants\": [\"a\", \"b\"], \"alpha\": \"0.05\"}", "alpha"},
        {"{\"variants\": [\"a\", \"b\"], \"power\": 0}", "power"},
        {"{\"variants\": [\"a\", \"b\"], \"power\": 1}", "power"},
        {"{\"variants\": [\"a\", \"b\"], \"power\": 80}", "power"},
        {"{\"variants\": [\"a\", \"b\"], \"power\": true}", "power"},
        {"{\"variants\": [\"a\", \"b\"], \"mde\": 0}", "mde"},
        {"{\"variants\": [\"a\", \"b\"], \"mde\": -1}", "mde"},
        {"{\"variants\": [\"a\", \"b\"], \"mde\": -1.5}", "mde"},
        {"{\"variants\": [\"a\", \"b\"], \"mde\": \"10%\"}", "mde"},
        {"{\"variants\": [\"a\", \"b\"], \"baseline\": 0.5, \"mde\": 1}", "mde"},
        /* baseline */
        {"{\"variants\": [\"a\", \"b\"], \"baseline\": 0}", "baseline"},
        {"{\"variants\": [\"a\", \"b\"], \"baseline\": 1}", "baseline"},
        {"{\"variants\": [\"a\", \"b\"], \"baseline\": 5}", "baseline"},
        {"{\"variants\": [\"a\", \"b\"], \"baseline\": -0.1}", "baseline"},
        {"{\"variants\": [\"a\", \"b\"], \"baseline\": \"0.05\"}", "baseline"},
        {"{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", \"baseline\": 0}", "baseline"},
        {"{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", \"baseline\": -5}", "baseline"},
        {"{\"variants\": [\"a\", \"b\"], \"metric\": \"nps\", \"baseline\": 150}", "baseline"},
        {"{\"variants\": [\"a\", \"b\"], \"metric\": \"nps\", \"baseline\": -101}", "baseline"},
        /* method, sequential_tuning, correction */
        {"{\"variants\": [\"a\", \"b\"], \"method\": \"bayes\"}", "method"},
        {"{\"variants\": [\"a\", \"b\"], \"method\": 0}", "method"},
        {"{\"variants\": [\"a\", \"b\"], \"sequential_tuning\": 0}", "sequential_tuning"},
        /* Found by fuzzing: beyond 1e15 (1.8e308 was stored, and GET's 15
         * digits overflowed when PUT back). */
        {"{\"variants\": [\"a\", \"b\"], \"sequential_tuning\": 1.7976931348623157e308}",
         "sequential_tuning"},
        {"{\"variants\": [\"a\", \"b\"], \"mde\": 1.7976931348623157e308}", "mde"},
        /* Found by fuzzing: next to a bound, but at the bound in the 15
         * digits GET shows, so a fetched config could not be PUT back. */
        {"{\"variants\": [\"a\", \"b\"], \"power\": 0.99999999999999989}", "power"},
        {"{\"variants\": [\"a\", \"b\"], \"baseline\": 0.5, \"mde\": 0.9999999999999997}", "mde"},
        {"{\"variants\": [\"a\", \"b\"], \"baseline\": 0.99999999999999978, \"mde\": 1e-16}",
         "baseline"},
        {"{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", "
         "\"baseline\": 1.7976931348623157e308}",
         "baseline"},
        {"{\"variants\": [\"a\", \"b\"], \"sequential_tuning\": -5000}", "sequential_tuning"},
        {"{\"variants\": [\"a\", \"b\"], \"sequential_tuning\": \"5000\"}", "sequential_tuning"},
        {"{\"variants\": [\"a\", \"b\"], \"correction\": \"sidak\"}", "correction"},
        {"{\"variants\": [\"a\", \"b\"], \"correction\": true}", "correction"},
        {"{\"variants\": [\"a\", \"b\"], \"correction\": \"\"}", "correction"},
        /* min_days, min_users */
        {"{\"variants\": [\"a\", \"b\"], \"min_days\": -1}", "min_days"},
        {"{\"variants\": [\"a\", \"b\"], \"min_days\": 3651}", "min_days"},
        {"{\"variants\": [\"a\", \"b\"], \"min_days\": \"7\"}", "min_days"},
        {"{\"variants\": [\"a\", \"b\"], \"min_users\": -1}", "min_users"},
        {"{\"variants\": [\"a\", \"b\"], \"min_users\": 1.5}", "min_users"},
        {"{\"variants\": [\"a\", \"b\"], \"min_users\": \"100\"}", "min_users"},
        {"{\"variants\": [\"a\", \"b\"], \"min_users\": 1e17}", "min_users"},
        /* webhook */
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": 5}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"ftp://example.com/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"example.com/hook\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http:///hook\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://:80/hook\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://exa mple.com/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://example.com/a b\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://example.com/\\n\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://example.com/\\u00e9\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://example.com:0/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://example.com:65536/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://example.com:/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://example.com:80x/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://example.com:0000080/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://user:pw@example.com/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://exa_mple.com/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://[::1/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://[]/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://[::1]x/\"}", "webhook"},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": [\"http://example.com/\"]}", "webhook"},
    };
    size_t nbad = sizeof bad / sizeof bad[0];
    char *body;

    for (size_t i = 0; i < nbad; i++) expect_bad(bad[i].body, bad[i].field);
    CHECK(nbad >= 40);

    /* Sizes that need building. */
    body = variants_body(65);
    if (body) expect_bad(body, "variants");
    free(body);
    {
        char text[3000];
        int n;
        n = snprintf(text, sizeof text, "{\"variants\": [\"a\", \"b\"], \"description\": \"");
        memset(text + n, 'd', 1025);
        snprintf(text + n + 1025, sizeof text - (size_t)n - 1025, "\"}");
        expect_bad(text, "description");
        n = snprintf(text, sizeof text, "{\"variants\": [\"a\", \"b\"], \"webhook\": \"http://h/");
        memset(text + n, 'p', 2049 - 9);
        snprintf(text + n + 2049 - 9, sizeof text - (size_t)n - 2049 + 9, "\"}");
        expect_bad(text, "webhook");
        /* 65 levels in one factor. */
        n = snprintf(text, sizeof text, "{\"factors\": [{\"name\": \"h\", \"levels\": [");
        for (int i = 0; i < 65; i++) n += snprintf(text + n, sizeof text - (size_t)n, "%s\"l%d\"",
                                                   i ? "," : "", i);
        snprintf(text + n, sizeof text - (size_t)n, "]}]}");
        expect_bad(text, "factors[0].levels");
    }
}

static void test_factorial(void)
{
    ab_experiment_config cfg;
    static const char *const want6[] = {"a/x", "a/y", "a/z", "b/x", "b/y", "b/z"};

    if (!expect_ok("{\"factors\": [{\"levels\": [\"a\", \"b\"], \"name\": \"headline\"},"
                   " {\"name\": \"cta\", \"levels\": [\"x\", \"y\", \"z\"]}]}",
                   &cfg)) {
        json_t *want = json_pack("[{s:s,s:[s,s]},{s:s,s:[s,s,s]}]", "name", "headline", "levels",
                                 "a", "b", "name", "cta", "levels", "x", "y", "z");
        CHECK_INT(cfg.k, 6);
        CHECK_INT(cfg.factorial, 1);
        for (size_t i = 0; i < 6; i++) CHECK(cfg.names[i] && !strcmp(cfg.names[i], want6[i]));
        CHECK(!strcmp(cfg.names[0], "a/x")); /* the control: all first levels */
        CHECK_INT(cfg.design.nfactors, 2);
        CHECK_INT(cfg.design.levels[0], 2);
        CHECK_INT(cfg.design.levels[1], 3);
        CHECK_INT(ab_design_cells(&cfg.design), 6);
        {
            json_t *got = ab_experiment_factors_json(&cfg);
            CHECK(got && json_equal(got, want));
            json_decref(got);
        }
        CHECK(cfg.weights[5] == 1.0 / 6);
        CHECK_INT(ab_experiment_variant_index(&cfg, "b/z", 3), 5);
        CHECK_INT(ab_experiment_variant_index(&cfg, "a/x", 3), 0);
        CHECK_INT(ab_experiment_variant_index(&cfg, "b", 1), -1);
        json_decref(want);
        ab_experiment_free(&cfg);
    }

    /* Three factors: the first varies slowest, the last fastest. */
    if (!expect_ok("{\"factors\": [{\"name\": \"f\", \"levels\": [\"a\", \"b\"]},"
                   " {\"name\": \"g\", \"levels\": [\"x\", \"y\"]},"
                   " {\"name\": \"h\", \"levels\": [\"p\", \"q\"]}], \"weights\": [1,1,1,1,1,1,1,9]}",
                   &cfg)) {
        static const char *const want8[] = {"a/x/p", "a/x/q", "a/y/p", "a/y/q",
                                            "b/x/p", "b/x/q", "b/y/p", "b/y/q"};
        CHECK_INT(cfg.k, 8);
        for (size_t i = 0; i < 8; i++) CHECK(!strcmp(cfg.names[i], want8[i]));
        CHECK(cfg.weights[7] == 9.0 / 16 && cfg.weights[0] == 1.0 / 16);
        ab_experiment_free(&cfg);
    }

    /* One factor is a plain k-arm test with named levels. */
    if (!expect_ok("{\"factors\": [{\"name\": \"color\", \"levels\": [\"red\", \"blue\"]}]}", &cfg)) {
        CHECK_INT(cfg.k, 2);
        CHECK(!strcmp(cfg.names[1], "blue"));
        ab_experiment_free(&cfg);
    }

    /* Exactly 64 cells: 4 x 4 x 4 and 2^6 are allowed. */
    if (!expect_ok("{\"factors\": [{\"name\": \"a\", \"levels\": [\"1\",\"2\",\"3\",\"4\"]},"
                   " {\"name\": \"b\", \"levels\": [\"1\",\"2\",\"3\",\"4\"]},"
                   " {\"name\": \"c\", \"levels\": [\"1\",\"2\",\"3\",\"4\"]}]}",
                   &cfg)) {
        CHECK_INT(cfg.k, 64);
        CHECK(!strcmp(cfg.names[63], "4/4/4"));
        CHECK(!strcmp(cfg.names[17], "2/1/2"));
        ab_experiment_free(&cfg);
    }
    if (!expect_ok("{\"factors\": [{\"name\": \"f1\", \"levels\": [\"a\", \"b\"]},"
                   " {\"name\": \"f2\", \"levels\": [\"a\", \"b\"]}, {\"name\": \"f3\", \"levels\": [\"a\", \"b\"]},"
                   " {\"name\": \"f4\", \"levels\": [\"a\", \"b\"]}, {\"name\": \"f5\", \"levels\": [\"a\", \"b\"]},"
                   " {\"name\": \"f6\", \"levels\": [\"a\", \"b\"]}]}",
                   &cfg)) {
        CHECK_INT(cfg.k, 64);
        CHECK_INT(cfg.design.nfactors, 6);
        CHECK(!strcmp(cfg.names[0], "a/a/a/a/a/a"));
        CHECK(!strcmp(cfg.names[1], "a/a/a/a/a/b"));
        CHECK(!strcmp(cfg.names[63], "b/b/b/b/b/b"));
        ab_experiment_free(&cfg);
    }

    /* Listing the cells as variants alongside factors is accepted. */
    if (!expect_ok("{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"b\"]},"
                   " {\"name\": \"c\", \"levels\": [\"x\", \"y\"]}],"
                   " \"variants\": [\"a/x\", \"a/y\", \"b/x\", \"b/y\"]}",
                   &cfg)) {
        CHECK_INT(cfg.k, 4);
        ab_experiment_free(&cfg);
    }

    /* Longest cell names: six levels of 64 bytes. */
    {
        json_t *body = json_object(), *factors = json_array();
        ab_error err = {0, ""};
        for (unsigned f = 0; f < AB_MAX_FACTORS; f++) {
            char name[16], l1[65], l2[65];
            snprintf(name, sizeof name, "f%u", f);
            memset(l1, (int)('a' + f), 64);
            l1[64] = '\0';
            memcpy(l2, l1, sizeof l2);
            l2[0] = 'z';
            json_array_append_new(factors, json_pack("{s:s,s:[s,s]}", "name", name, "levels", l1, l2));
        }
        json_object_set_new(body, "factors", factors);
        CHECK_INT(ab_experiment_parse("exp-1", body, &cfg, &err), 0);
        CHECK_INT(cfg.k, 64);
        CHECK_INT(strlen(cfg.names[63]), AB_VARIANT_CELL_MAX);
        CHECK_INT(ab_experiment_variant_index(&cfg, cfg.names[63], strlen(cfg.names[63])), 63);
        ab_experiment_free(&cfg);
        json_decref(body);
    }
}

static void round_trip(const char *text)
{
    ab_experiment_config a, b;
    ab_error err = {0, ""};
    json_t *j1, *j2;
    char *dumped;

    snprintf(test_context, sizeof test_context, "round trip %.900s", text);
    if (expect_ok(text, &a)) goto out;
    j1 = ab_experiment_to_json(&a);
    CHECK(j1 != NULL);
    if (!j1) {
        ab_experiment_free(&a);
        goto out;
    }
    for (size_t i = 0; all_keys[i]; i++) CHECK(json_object_get(j1, all_keys[i]) != NULL);
    CHECK_INT(json_object_size(j1), ALL_KEYS);
    CHECK_INT(json_array_size(json_object_get(j1, "variants")), a.k);
    CHECK_INT(json_array_size(json_object_get(j1, "weights")), a.k);
    /* Through text, as it is stored. */
    dumped = json_dumps(j1, JSON_COMPACT);
    CHECK(dumped != NULL);
    if (dumped) {
        json_t *back = json_loads(dumped, 0, NULL);
        CHECK_INT(ab_experiment_parse("exp-1", back, &b, &err), 0);
        if (err.status) fprintf(stderr, "  %s\n  %s\n", dumped, err.text);
        CHECK(cfg_equal(&a, &b));
        CHECK(ab_experiment_same_structure(&a, &b));
        j2 = ab_experiment_to_json(&b);
        /* Weights may move in the last bit when normalised again. */
        json_object_del(j1, "weights");
        json_object_del(j2, "weights");
        CHECK(json_equal(j1, j2));
        json_decref(j2);
        json_decref(back);
        ab_experiment_free(&b);
        free(dumped);
    }
    json_decref(j1);
    ab_experiment_free(&a);
out:
    test_context[0] = '\0';
}

static void test_round_trip(void)
{
    ab_experiment_config cfg;
    json_t *j;

    round_trip("{\"variants\": [\"control\", \"buy-now\"]}");
    round_trip("{\"variants\": [\"a\", \"b\"], \"revenue_cap\": {\"percentile\": 0.99, \"lower\": 0.01}}");
    round_trip("{\"variants\": [\"a\", \"b\"], \"revenue_cap\": {\"max\": 412.5, \"min\": -20}}");
    round_trip("{\"description\": \"Koop nu \\\"knop\\\" \\u00e9\", \"phase\": \"oRi\\u00cbntatie\","
               " \"variants\": [\"control\", \"b\", \"c\"], \"weights\": [0.1, 0.3, 0.7],"
               " \"metric\": \"nps\", \"alpha\": 0.1, \"power\": 0.95, \"mde\": 0.123456789,"
               " \"baseline\": -12.5, \"method\": \"fixed\", \"sequential_tuning\": 1234.5,"
               " \"correction\": \"BH\", \"min_days\": 0.5, \"min_users\": 9007199254740992,"
               " \"webhook\": \"http://[::1]:9000/hook?x=1\"}");
    round_trip("{\"factors\": [{\"name\": \"headline\", \"levels\": [\"a\", \"b\"]},"
               " {\"name\": \"cta\", \"levels\": [\"x\", \"y\", \"z\"]}], \"weights\": [1, 2, 3, 4, 5, 6],"
               " \"metric\": \"revenue\", \"baseline\": 19.99, \"correction\": \"none\"}");
    round_trip("{\"variants\": [\"a\", \"b\"], \"guardrails\": []}");
    round_trip("{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", \"phase\": \"retentie\","
               " \"guardrails\": [{\"metric\": \"nps\", \"margin\": 0.123456789012345},"
               " {\"metric\": \"conversion\"}, {\"metric\": \"conversion\", \"phase\": \"checkout\","
               " \"margin\": 0.02}]}");
    round_trip("{\"variants\": [\"a\", \"b\"], \"weights\": [1, 3], \"baseline\": 0.031,"
               " \"mde\": -0.2, \"min_days\": 0, \"min_users\": 0, \"correction\": \"bonferroni\"}");

    /* Numbers are kept to the 15 significant digits GET shows, so that
     * what a client fetched PUTs back as it was (found by fuzzing). */
    if (!expect_ok("{\"variants\": [\"a\", \"b\"], \"power\": 0.84999999999999987,"
                   " \"alpha\": 0.012345678901234567}",
                   &cfg)) {
        CHECK(cfg.power == 0.85);
        CHECK(cfg.alpha == 0.0123456789012346);
        ab_experiment_free(&cfg);
    }

    /* Canonical names and nulls in the rendering. */
    if (!expect_ok("{\"variants\": [\"a\", \"b\"], \"phase\": \"Aankoop\", \"correction\": \"BH\","
                   " \"metric\": \"Conversion\", \"method\": \"SEQUENTIAL\", \"weights\": [1, 3]}",
                   &cfg)) {
        j = ab_experiment_to_json(&cfg);
        CHECK(j != NULL);
        CHECK(!strcmp(json_string_value(json_object_get(j, "phase")), "decision"));
        CHECK(!strcmp(json_string_value(json_object_get(j, "correction")), "bh"));
        CHECK(!strcmp(json_string_value(json_object_get(j, "metric")), "conversion"));
        CHECK(!strcmp(json_string_value(json_object_get(j, "method")), "sequential"));
        CHECK(json_is_null(json_object_get(j, "baseline")));
        CHECK(json_is_null(json_object_get(j, "webhook")));
        CHECK(json_is_null(json_object_get(j, "factors")));
        CHECK(json_number_value(json_array_get(json_object_get(j, "weights"), 1)) == 0.75);
        CHECK(json_is_integer(json_object_get(j, "min_days")));
        CHECK(json_integer_value(json_object_get(j, "min_users")) == 100);
        CHECK(json_number_value(json_object_get(j, "alpha")) == 0.05);
        CHECK(!strcmp(json_string_value(json_object_get(j, "description")), ""));
        json_decref(j);
        ab_experiment_free(&cfg);
    }
    CHECK(ab_experiment_to_json(NULL) == NULL);
}

static void test_same_structure(void)
{
    static const char *const bodies[] = {
        /* 0 */ "{\"variants\": [\"a\", \"b\"], \"weights\": [1, 3]}",
        /* 1: same, other non-structural fields changed */
        "{\"variants\": [\"a\", \"b\"], \"weights\": [0.25, 0.75], \"alpha\": 0.01,"
        " \"description\": \"x\", \"phase\": \"retention\", \"webhook\": \"http://h/\"}",
        /* 2: other weights */ "{\"variants\": [\"a\", \"b\"]}",
        /* 3: other order */ "{\"variants\": [\"b\", \"a\"], \"weights\": [3, 1]}",
        /* 4: other name */ "{\"variants\": [\"a\", \"c\"], \"weights\": [1, 3]}",
        /* 5: a variant more */ "{\"variants\": [\"a\", \"b\", \"c\"], \"weights\": [1, 3, 1]}",
        /* 6: factorial */
        "{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"b\"]}, {\"name\": \"c\", \"levels\": [\"x\", \"y\"]}]}",
        /* 7: same factorial, keys in another order */
        "{\"factors\": [{\"levels\": [\"a\", \"b\"], \"name\": \"h\"}, {\"name\": \"c\", \"levels\": [\"x\", \"y\"]}],"
        " \"weights\": [2, 2, 2, 2]}",
        /* 8: same cells, a factor renamed */
        "{\"factors\": [{\"name\": \"head\", \"levels\": [\"a\", \"b\"]}, {\"name\": \"c\", \"levels\": [\"x\", \"y\"]}]}",
        /* 9: one factor with levels a, b */ "{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"b\"]}]}",
        /* 10: plain variants with the same names */ "{\"variants\": [\"a\", \"b\"]}",
    };
    enum { N = sizeof bodies / sizeof bodies[0] };
    ab_experiment_config cfg[N];
    int ok[N];
    for (size_t i = 0; i < N; i++) ok[i] = expect_ok(bodies[i], &cfg[i]) == 0;
    for (size_t i = 0; i < N; i++)
        if (!ok[i]) return;

    CHECK(ab_experiment_same_structure(&cfg[0], &cfg[0]));
    CHECK(ab_experiment_same_structure(&cfg[0], &cfg[1]));
    CHECK(ab_experiment_same_structure(&cfg[1], &cfg[0]));
    CHECK(!ab_experiment_same_structure(&cfg[0], &cfg[2]));
    CHECK(!ab_experiment_same_structure(&cfg[0], &cfg[3]));
    CHECK(!ab_experiment_same_structure(&cfg[0], &cfg[4]));
    CHECK(!ab_experiment_same_structure(&cfg[0], &cfg[5]));
    CHECK(!ab_experiment_same_structure(&cfg[5], &cfg[0]));
    CHECK(ab_experiment_same_structure(&cfg[6], &cfg[7]));
    CHECK(!ab_experiment_same_structure(&cfg[6], &cfg[8]));
    CHECK(!ab_experiment_same_structure(&cfg[6], &cfg[2]));
    CHECK(!ab_experiment_same_structure(&cfg[9], &cfg[10]));
    CHECK(!ab_experiment_same_structure(&cfg[10], &cfg[9]));
    CHECK(ab_experiment_same_structure(&cfg[2], &cfg[10]));
    CHECK(!ab_experiment_same_structure(&cfg[0], NULL));
    for (size_t i = 0; i < N; i++) ab_experiment_free(&cfg[i]);
}

static void test_variant_index(void)
{
    ab_experiment_config cfg;
    const char buf[] = "buy-nowXYZ";
    if (expect_ok("{\"variants\": [\"control\", \"buy-now\", \"buy\", \"\\u00e9\"]}", &cfg)) return;
    CHECK_INT(ab_experiment_variant_index(&cfg, "control", 7), 0);
    CHECK_INT(ab_experiment_variant_index(&cfg, "buy-now", 7), 1);
    CHECK_INT(ab_experiment_variant_index(&cfg, "buy", 3), 2);
    CHECK_INT(ab_experiment_variant_index(&cfg, "\xc3\xa9", 2), 3);
    /* Not NUL-terminated: only len bytes count. */
    CHECK_INT(ab_experiment_variant_index(&cfg, buf, 7), 1);
    CHECK_INT(ab_experiment_variant_index(&cfg, buf, 3), 2);
    CHECK_INT(ab_experiment_variant_index(&cfg, buf, 10), -1);
    CHECK_INT(ab_experiment_variant_index(&cfg, "contro", 6), -1);
    CHECK_INT(ab_experiment_variant_index(&cfg, "controls", 8), -1);
    CHECK_INT(ab_experiment_variant_index(&cfg, "Control", 7), -1);
    CHECK_INT(ab_experiment_variant_index(&cfg, "control\0", 8), -1);
    CHECK_INT(ab_experiment_variant_index(&cfg, "", 0), -1);
    CHECK_INT(ab_experiment_variant_index(&cfg, NULL, 0), -1);
    CHECK_INT(ab_experiment_variant_index(NULL, "control", 7), -1);
    ab_experiment_free(&cfg);
}

/* ---- Guardrails ------------------------------------------------------- */

static void test_guardrails(void)
{
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": \"revenue\"}", "guardrails: must be null"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": {\"metric\": \"revenue\"}}",
         "guardrails: must be null"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": true}", "[] (none)"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [\"revenue\"]}",
         "guardrails[0]: must be an object"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [null]}", "guardrails[0]: must be an object"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{}]}", "guardrails[0].metric: required"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": null}]}",
         "guardrails[0].metric: required (conversion, revenue or nps)"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": 1}]}",
         "guardrails[0].metric: must be a string"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"clicks\"}]}",
         "guardrails[0].metric: unknown metric \"clicks\" (conversion, revenue or nps)"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\", \"colour\": 1}]}",
         "guardrails[0]: unknown field \"colour\" (metric, phase and margin are allowed)"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\", \"phase\": \"decision\"}]}",
         "guardrails[0].phase: only a conversion guardrail has a phase"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"nps\", \"phase\": \"advocacy\"}]}",
         "guardrails[0].phase: only a conversion guardrail has a phase (nps"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"conversion\", \"phase\": \"nope\"}]}",
         "guardrails[0]: phase \"nope\" is not a journey phase: use awareness"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"conversion\", \"phase\": 3}]}",
         "guardrails[0].phase: must be a string"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\", \"margin\": 1}]}",
         "guardrails[0].margin: must be from 0 to below 1"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\", \"margin\": -0.01}]}",
         "guardrails[0].margin: must be from 0 to below 1"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\", \"margin\": 0.99999999999999999}]}",
         "guardrails[0].margin"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\", \"margin\": \"2%\"}]}",
         "guardrails[0].margin: must be a number"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\", \"margin\": 1e300}]}",
         "guardrails[0].margin"},
        /* the primary metric itself */
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"conversion\"}]}",
         "guardrails[0]: the primary metric cannot be its own guardrail (conversion at decision"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"conversion\", \"phase\": \"Aankoop\"}]}",
         "the primary metric cannot be its own guardrail"},
        {"{\"variants\": [\"a\", \"b\"], \"phase\": \"retention\", \"guardrails\":"
         " [{\"metric\": \"conversion\", \"phase\": \"loyalty\"}]}",
         "the primary metric cannot be its own guardrail (conversion at retention"},
        {"{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", \"guardrails\": [{\"metric\": \"nps\"},"
         " {\"metric\": \"Revenue\"}]}",
         "guardrails[1]: the primary metric cannot be its own guardrail (revenue"},
        {"{\"variants\": [\"a\", \"b\"], \"metric\": \"nps\", \"guardrails\": [{\"metric\": \"nps\"}]}",
         "the primary metric cannot be its own guardrail (nps"},
        /* duplicates */
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\"},"
         " {\"metric\": \"revenue\", \"margin\": 0.1}]}",
         "guardrails[1]: duplicate guardrail (revenue is guardrails[0])"},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"conversion\", \"phase\": \"retention\"},"
         " {\"metric\": \"nps\"}, {\"metric\": \"conversion\", \"phase\": \"loyalty\"}]}",
         "guardrails[2]: duplicate guardrail (conversion at retention is guardrails[0])"},
        {"{\"variants\": [\"a\", \"b\"], \"phase\": \"retention\", \"metric\": \"revenue\", \"guardrails\":"
         " [{\"metric\": \"conversion\"}, {\"metric\": \"conversion\", \"phase\": \"retention\"}]}",
         "guardrails[1]: duplicate guardrail (conversion at retention"},
        /* too many */
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\"}, {\"metric\": \"nps\"},"
         " {\"metric\": \"conversion\", \"phase\": \"awareness\"}, {\"metric\": \"conversion\", \"phase\": \"consideration\"},"
         " {\"metric\": \"conversion\", \"phase\": \"retention\"}, {\"metric\": \"conversion\", \"phase\": \"advocacy\"},"
         " {\"metric\": \"revenue\"}, {\"metric\": \"nps\"}, {\"metric\": \"nps\"}]}",
         "guardrails: at most 8, not 9"},
    };
    ab_experiment_config cfg;
    json_t *j, *g;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_bad(bad[i].body, bad[i].field);

    /* [] is none at all, unlike null. */
    if (!expect_ok("{\"variants\": [\"a\", \"b\"], \"guardrails\": []}", &cfg)) {
        CHECK_INT(cfg.guardrails_default, 0);
        CHECK_INT(cfg.nguardrails, 0);
        j = ab_experiment_to_json(&cfg);
        g = json_object_get(j, "guardrails");
        CHECK(json_is_array(g) && json_array_size(g) == 0);
        json_decref(j);
        ab_experiment_free(&cfg);
    }
    /* A list: defaults filled in, aliases and case accepted, a conversion
     * guardrail without phase at the experiment's phase. */
    if (!expect_ok("{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", \"phase\": \"checkout\","
                   " \"guardrails\": [{\"metric\": \"NPS\", \"margin\": 0.02},"
                   " {\"metric\": \"conversion\"}, {\"metric\": \"conversion\", \"phase\": \"Loyaliteit\","
                   " \"margin\": 0.5}, {\"metric\": \"conversion\", \"phase\": \"awareness\", \"margin\": null}]}",
                   &cfg)) {
        CHECK_INT(cfg.guardrails_default, 0);
        CHECK_INT(cfg.nguardrails, 4);
        CHECK_INT(cfg.guardrails[0].metric, AB_METRIC_NPS);
        CHECK(cfg.guardrails[0].margin == 0.02);
        CHECK_INT(cfg.guardrails[1].metric, AB_METRIC_CONVERSION);
        CHECK_INT(cfg.guardrails[1].phase, AB_PHASE_DECISION);
        CHECK(cfg.guardrails[1].margin == 0.0);
        CHECK_INT(cfg.guardrails[2].phase, AB_PHASE_RETENTION);
        CHECK(cfg.guardrails[2].margin == 0.5);
        CHECK_INT(cfg.guardrails[3].phase, AB_PHASE_AWARENESS);
        CHECK(cfg.guardrails[3].margin == 0.0);
        /* Rendered canonically: names, a phase only on conversion, and
         * the phase named even where it was left out. */
        j = ab_experiment_to_json(&cfg);
        g = json_object_get(j, "guardrails");
        CHECK_INT(json_array_size(g), 4);
        CHECK(!strcmp(json_string_value(json_object_get(json_array_get(g, 0), "metric")), "nps"));
        CHECK(json_object_get(json_array_get(g, 0), "phase") == NULL);
        CHECK(json_number_value(json_object_get(json_array_get(g, 0), "margin")) == 0.02);
        CHECK(!strcmp(json_string_value(json_object_get(json_array_get(g, 1), "phase")), "decision"));
        CHECK(json_is_integer(json_object_get(json_array_get(g, 1), "margin")));
        CHECK(!strcmp(json_string_value(json_object_get(json_array_get(g, 2), "phase")), "retention"));
        CHECK_INT(json_object_size(json_array_get(g, 3)), 3);
        json_decref(j);
        ab_experiment_free(&cfg);
    }
    /* A conversion primary with revenue, NPS and other phases as guardrails. */
    if (!expect_ok("{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\"},"
                   " {\"metric\": \"nps\"}, {\"metric\": \"conversion\", \"phase\": \"awareness\"},"
                   " {\"metric\": \"conversion\", \"phase\": \"consideration\"},"
                   " {\"metric\": \"conversion\", \"phase\": \"retention\"},"
                   " {\"metric\": \"conversion\", \"phase\": \"advocacy\", \"margin\": 0.999}]}",
                   &cfg)) {
        CHECK_INT(cfg.nguardrails, 6);
        CHECK(cfg.guardrails[5].margin == 0.999);
        ab_experiment_free(&cfg);
    }
    /* null is absent here too, even for the phase of revenue or NPS. */
    if (!expect_ok("{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"nps\","
                   " \"phase\": null, \"margin\": null}]}",
                   &cfg)) {
        CHECK_INT(cfg.nguardrails, 1);
        CHECK(cfg.guardrails[0].margin == 0.0);
        ab_experiment_free(&cfg);
    }
    /* The margin is kept to the 15 digits GET shows. */
    if (!expect_ok("{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\","
                   " \"margin\": 0.012345678901234567}]}",
                   &cfg)) {
        CHECK(cfg.guardrails[0].margin == 0.0123456789012346);
        ab_experiment_free(&cfg);
    }
    /* null renders as null. */
    if (!expect_ok("{\"variants\": [\"a\", \"b\"]}", &cfg)) {
        j = ab_experiment_to_json(&cfg);
        CHECK(json_is_null(json_object_get(j, "guardrails")));
        json_decref(j);
        ab_experiment_free(&cfg);
    }
}

/* ---- The test definition ---------------------------------------------- */

/* The fields that differ between two bodies, joined by ','. */
static void expect_diff(const char *a_text, const char *b_text, const char *want)
{
    ab_experiment_config a, b;
    const char *fields[AB_DEFINITION_FIELDS];
    char got[256] = "";
    size_t n;

    if (expect_ok(a_text, &a)) return;
    if (expect_ok(b_text, &b)) {
        ab_experiment_free(&a);
        return;
    }
    n = ab_experiment_definition_diff(&a, &b, fields);
    for (size_t i = 0; i < n; i++) {
        strcat(got, i ? "," : "");
        strcat(got, fields[i]);
    }
    if (strcmp(got, want))
        test_fail(__FILE__, __LINE__, "diff of %s and %s: \"%s\", want \"%s\"", a_text, b_text,
                  got, want);
    else
        test_passed++;
    /* Symmetric, and the count needs no array. */
    CHECK_INT(ab_experiment_definition_diff(&b, &a, NULL), n);
    CHECK_INT(ab_experiment_definition_diff(&a, &a, NULL), 0);
    ab_experiment_free(&a);
    ab_experiment_free(&b);
}

static void test_definition_diff(void)
{
    const char *base = "{\"variants\": [\"a\", \"b\"]}";
    ab_experiment_config cfg;

    expect_diff(base, base, "");
    /* Defaults written out are the same test. */
    expect_diff(base,
                "{\"variants\": [\"a\", \"b\"], \"metric\": \"conversion\", \"phase\": \"Koop\","
                " \"alpha\": 0.05, \"method\": \"sequential\", \"sequential_tuning\": 5000,"
                " \"correction\": \"HOLM\", \"mde\": 0.1, \"baseline\": null, \"power\": 0.8,"
                " \"guardrails\": null}",
                "");
    /* What is not the test definition. */
    expect_diff(base,
                "{\"variants\": [\"a\", \"b\"], \"description\": \"x\", \"webhook\": \"http://h/\","
                " \"min_days\": 0, \"min_users\": 0}",
                "");
    expect_diff(base, "{\"variants\": [\"a\", \"b\", \"c\"], \"weights\": [1, 2, 3]}", "");
    /* Each field on its own. */
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\"}", "metric");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"phase\": \"retention\"}", "phase");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"alpha\": 0.01}", "alpha");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"method\": \"fixed\"}", "method");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"sequential_tuning\": 10000}",
                "sequential_tuning");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"correction\": \"bh\"}", "correction");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"mde\": 0.2}", "mde");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"baseline\": 0.05}", "baseline");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"power\": 0.9}", "power");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"guardrails\": []}", "guardrails");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"variance_reduction\": \"cuped\"}",
                "variance_reduction");
    expect_diff(base, "{\"variants\": [\"a\", \"b\"], \"variance_reduction\": \"none\"}", "");
    /* All of them, in the order of SPEC section 3. */
    expect_diff(base,
                "{\"variants\": [\"a\", \"b\"], \"metric\": \"nps\", \"phase\": \"advocacy\","
                " \"alpha\": 0.1, \"method\": \"fixed\", \"sequential_tuning\": 1,"
                " \"correction\": \"none\", \"mde\": 0.5, \"baseline\": 10, \"power\": 0.5,"
                " \"guardrails\": [{\"metric\": \"revenue\"}], \"description\": \"x\"}",
                "metric,phase,alpha,method,sequential_tuning,correction,mde,baseline,power,"
                "guardrails");
    /* Guardrails compare as a set: order does not matter, margins and
     * phases do; a phase left out is the experiment's. */
    expect_diff("{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\"},"
                " {\"metric\": \"nps\", \"margin\": 0.1}]}",
                "{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"nps\", \"margin\": 0.1},"
                " {\"metric\": \"revenue\", \"margin\": 0}]}",
                "");
    expect_diff("{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\"}]}",
                "{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\", \"margin\": 0.01}]}",
                "guardrails");
    expect_diff("{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\"}]}",
                "{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\"}, {\"metric\": \"nps\"}]}",
                "guardrails");
    expect_diff("{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"revenue\"}]}",
                "{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"nps\"}]}", "guardrails");
    expect_diff("{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"conversion\", \"phase\": \"retention\"}]}",
                "{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"conversion\", \"phase\": \"advocacy\"}]}",
                "guardrails");
    expect_diff("{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", \"guardrails\": [{\"metric\": \"conversion\"}]}",
                "{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", \"guardrails\": [{\"metric\": \"conversion\","
                " \"phase\": \"decision\"}]}",
                "");
    expect_diff("{\"variants\": [\"a\", \"b\"], \"guardrails\": []}",
                "{\"variants\": [\"a\", \"b\"], \"guardrails\": null}", "guardrails");
    /* A baseline of null against a number, and numbers to the last digit. */
    expect_diff("{\"variants\": [\"a\", \"b\"], \"baseline\": 0.05}",
                "{\"variants\": [\"a\", \"b\"], \"baseline\": 0.0500000000001}", "baseline");
    if (!expect_ok(base, &cfg)) {
        CHECK_INT(ab_experiment_definition_diff(&cfg, NULL, NULL), 0);
        CHECK_INT(ab_experiment_definition_diff(NULL, &cfg, NULL), 0);
        ab_experiment_free(&cfg);
    }
}

static void test_change_entry(void)
{
    ab_experiment_config a, b;
    json_t *e, *f;
    char *text;

    if (expect_ok("{\"variants\": [\"a\", \"b\"], \"description\": \"old\"}", &a)) return;
    if (expect_ok("{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", \"alpha\": 0.01,"
                  " \"baseline\": 12.5, \"guardrails\": [{\"metric\": \"conversion\", \"margin\": 0.05}],"
                  " \"description\": \"new\"}",
                  &b)) {
        ab_experiment_free(&a);
        return;
    }
    /* 2026-11-22T10:00:00.250Z */
    e = ab_experiment_change_entry(&a, &b, 1795341600250LL);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(json_object_size(e), 5);
        CHECK(!strcmp(json_string_value(json_object_get(e, "at")), "2026-11-22T10:00:00.250Z"));
        CHECK(json_is_true(json_object_get(e, "restart_monitoring")));
        f = json_object_get(e, "fields");
        CHECK_INT(json_array_size(f), 4);
        CHECK(!strcmp(json_string_value(json_array_get(f, 0)), "metric"));
        CHECK(!strcmp(json_string_value(json_array_get(f, 1)), "alpha"));
        CHECK(!strcmp(json_string_value(json_array_get(f, 2)), "baseline"));
        CHECK(!strcmp(json_string_value(json_array_get(f, 3)), "guardrails"));
        /* Only the changed fields, with values as GET renders them. */
        CHECK_INT(json_object_size(json_object_get(e, "old")), 4);
        CHECK_INT(json_object_size(json_object_get(e, "new")), 4);
        CHECK(!strcmp(json_string_value(json_object_get(json_object_get(e, "old"), "metric")),
                      "conversion"));
        CHECK(!strcmp(json_string_value(json_object_get(json_object_get(e, "new"), "metric")),
                      "revenue"));
        CHECK(json_number_value(json_object_get(json_object_get(e, "old"), "alpha")) == 0.05);
        CHECK(json_number_value(json_object_get(json_object_get(e, "new"), "alpha")) == 0.01);
        CHECK(json_is_null(json_object_get(json_object_get(e, "old"), "baseline")));
        CHECK(json_number_value(json_object_get(json_object_get(e, "new"), "baseline")) == 12.5);
        CHECK(json_is_null(json_object_get(json_object_get(e, "old"), "guardrails")));
        text = json_dumps(json_object_get(json_object_get(e, "new"), "guardrails"),
                          JSON_COMPACT | JSON_REAL_PRECISION(15));
        CHECK(text && !strcmp(text, "[{\"metric\":\"conversion\",\"phase\":\"decision\",\"margin\":0.05}]"));
        free(text);
        CHECK(json_object_get(json_object_get(e, "new"), "description") == NULL);
        json_decref(e);
    }
    /* An explicit restart with nothing changed lists no field. */
    e = ab_experiment_change_entry(&a, &a, 0);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(json_array_size(json_object_get(e, "fields")), 0);
        CHECK_INT(json_object_size(json_object_get(e, "old")), 0);
        CHECK(!strcmp(json_string_value(json_object_get(e, "at")), "1970-01-01T00:00:00.000Z"));
        json_decref(e);
    }
    CHECK(ab_experiment_change_entry(NULL, &a, 0) == NULL);
    CHECK(ab_experiment_change_entry(&a, NULL, 0) == NULL);
    ab_experiment_free(&a);
    ab_experiment_free(&b);
}

/* restart_monitoring is a request option: taken out of the body, boolean. */
static void test_take_restart(void)
{
    static const struct {
        const char *body;
        int rc, restart;
    } cases[] = {
        {"{\"variants\": [\"a\", \"b\"]}", 0, 0},
        {"{\"variants\": [\"a\", \"b\"], \"restart_monitoring\": true}", 0, 1},
        {"{\"variants\": [\"a\", \"b\"], \"restart_monitoring\": false}", 0, 0},
        {"{\"variants\": [\"a\", \"b\"], \"restart_monitoring\": null}", 0, 0},
        {"{\"variants\": [\"a\", \"b\"], \"restart_monitoring\": \"yes\"}", -1, 0},
        {"{\"variants\": [\"a\", \"b\"], \"restart_monitoring\": 1}", -1, 0},
        {"{\"variants\": [\"a\", \"b\"], \"restart_monitoring\": \"true\"}", -1, 0},
        {"{\"variants\": [\"a\", \"b\"], \"restart_monitoring\": [true]}", -1, 0},
        {"[]", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *body = json_loads(cases[i].body, JSON_DECODE_ANY, NULL);
        ab_error err = {0, ""};
        int restart = -1;
        snprintf(test_context, sizeof test_context, "%s", cases[i].body);
        CHECK(body != NULL);
        if (!body) continue;
        CHECK_INT(ab_experiment_take_restart(body, &restart, &err), cases[i].rc);
        CHECK_INT(restart, cases[i].restart);
        if (cases[i].rc) {
            CHECK_INT(err.status, 400);
            CHECK(strstr(err.text, "restart_monitoring: must be true or false") != NULL);
        } else {
            ab_experiment_config cfg;
            CHECK(json_object_get(body, "restart_monitoring") == NULL);
            /* What is left is a config body (the key is not one). */
            if (json_is_object(body)) {
                CHECK_INT(ab_experiment_parse("exp-1", body, &cfg, &err), 0);
                ab_experiment_free(&cfg);
            }
        }
        json_decref(body);
    }
    test_context[0] = '\0';
    /* Not a config field: ab_experiment_parse refuses it. */
    expect_bad("{\"variants\": [\"a\", \"b\"], \"restart_monitoring\": true}",
               "unknown field \"restart_monitoring\"");
}

/* ---- Out of memory: every jansson allocation failing in turn ---------- */

static long alloc_budget = -1; /* allocations left before failing; -1: never fail */

static void *failing_malloc(size_t n)
{
    if (alloc_budget == 0) return NULL;
    if (alloc_budget > 0) alloc_budget--;
    return malloc(n);
}

static void test_out_of_memory(void)
{
    const char *text =
        "{\"factors\": [{\"name\": \"h\", \"levels\": [\"a\", \"b\"]},"
        " {\"name\": \"c\", \"levels\": [\"x\", \"y\", \"z\"]}], \"webhook\": \"http://h/\","
        " \"baseline\": 0.1, \"guardrails\": [{\"metric\": \"revenue\", \"margin\": 0.02},"
        " {\"metric\": \"conversion\", \"phase\": \"retention\"}]}";
    json_t *body = json_loads(text, 0, NULL);
    ab_experiment_config cfg;
    int parsed = 0, rendered = 0;

    json_set_alloc_funcs(failing_malloc, free);
    for (long n = 0; n < 500 && !parsed; n++) {
        ab_error err = {0, ""};
        alloc_budget = n;
        if (ab_experiment_parse("exp-1", body, &cfg, &err) == 0) {
            parsed = 1;
        } else {
            CHECK_INT(err.status, 500);
            CHECK(is_zeroed(&cfg));
        }
    }
    alloc_budget = -1;
    CHECK(parsed);
    if (parsed) {
        for (long n = 0; n < 500 && !rendered; n++) {
            json_t *j;
            alloc_budget = n;
            j = ab_experiment_to_json(&cfg);
            alloc_budget = -1;
            if (j) {
                rendered = 1;
                CHECK_INT(json_object_size(j), ALL_KEYS);
                json_decref(j);
            }
        }
        CHECK(rendered);
    }
    /* A change entry against the defaults: every field differs but alpha
     * and friends, so every allocation of the entry is tried. */
    if (parsed) {
        ab_experiment_config plain;
        ab_error err = {0, ""};
        int built = 0;
        json_t *pb = json_pack("{s:[s,s],s:s,s:s,s:f}", "variants", "a", "b", "metric", "nps",
                               "method", "fixed", "power", 0.9);
        CHECK(pb && ab_experiment_parse("exp-1", pb, &plain, &err) == 0);
        json_decref(pb);
        for (long n = 0; n < 2000 && !built && !err.status; n++) {
            json_t *e;
            alloc_budget = n;
            e = ab_experiment_change_entry(&plain, &cfg, 0);
            alloc_budget = -1;
            if (e) {
                built = 1;
                CHECK_INT(json_array_size(json_object_get(e, "fields")), 5);
                json_decref(e);
            }
        }
        CHECK(built);
        ab_experiment_free(&plain);
    }
    if (parsed) ab_experiment_free(&cfg);
    json_set_alloc_funcs(malloc, free);
    json_decref(body);
}

/* variance_reduction (README "Experiments"): none (default, null) or cuped
 * in any case; GET renders it and a PUT of that reads the same; anything
 * else, and cuped with metric nps, is refused. */
static void test_variance_reduction(void)
{
    ab_experiment_config cfg;
    json_t *j;
    if (!expect_ok("{\"variants\": [\"a\", \"b\"]}", &cfg)) {
        CHECK_INT(cfg.cuped, 0);
        j = ab_experiment_to_json(&cfg);
        CHECK(j && !strcmp(json_string_value(json_object_get(j, "variance_reduction")), "none"));
        json_decref(j);
        ab_experiment_free(&cfg);
    }
    if (!expect_ok("{\"variants\": [\"a\", \"b\"], \"variance_reduction\": null}", &cfg)) {
        CHECK_INT(cfg.cuped, 0);
        ab_experiment_free(&cfg);
    }
    if (!expect_ok("{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", "
                   "\"variance_reduction\": \"CUPED\"}", &cfg)) {
        CHECK_INT(cfg.cuped, 1);
        j = ab_experiment_to_json(&cfg);
        CHECK(j && !strcmp(json_string_value(json_object_get(j, "variance_reduction")), "cuped"));
        ab_experiment_config back;
        char *text = json_dumps(j, JSON_COMPACT);
        if (text && !expect_ok(text, &back)) {
            CHECK_INT(back.cuped, 1);
            CHECK_INT(ab_experiment_definition_diff(&cfg, &back, NULL), 0);
            ab_experiment_free(&back);
        }
        free(text);
        json_decref(j);
        ab_experiment_free(&cfg);
    }
    expect_bad("{\"variants\": [\"a\", \"b\"], \"variance_reduction\": \"cupid\"}",
               "variance_reduction");
    expect_bad("{\"variants\": [\"a\", \"b\"], \"variance_reduction\": true}",
               "variance_reduction");
    expect_bad("{\"variants\": [\"a\", \"b\"], \"variance_reduction\": 1}",
               "variance_reduction");
    expect_bad("{\"variants\": [\"a\", \"b\"], \"metric\": \"nps\", "
               "\"variance_reduction\": \"cuped\"}",
               "variance_reduction");
}

int main(void)
{
    ab_stats_init();
    test_variance_reduction();
    test_id();
    test_defaults();
    test_valid_fields();
    test_invalid();
    test_factorial();
    test_round_trip();
    test_same_structure();
    test_variant_index();
    test_guardrails();
    test_definition_diff();
    test_change_entry();
    test_take_restart();
    test_out_of_memory();
    return TEST_DONE("test_experiment");
}
