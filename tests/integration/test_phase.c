/* test_phase.c — journey phase names (SPEC section 2): every name and alias
 * of the fixed table, nothing else (buy, order, cart, signup stay unknown),
 * and the one error text that lists the valid names, as events,
 * experiments, guardrails and /v1/analyze answer it from a real abstatd. */
#include <stdlib.h>
#include <string.h>

#include "core/phase.h"
#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

#define HINT                                                                           \
    " is not a journey phase: use awareness, consideration, decision, retention or " \
    "advocacy (or an alias: see README, Journey phases)"

static td_daemon D;

static void test_names(void)
{
    static const struct {
        const char *name;
        ab_phase phase;
    } known[] = {
        {"awareness", AB_PHASE_AWARENESS},         {"bewustwording", AB_PHASE_AWARENESS},
        {"bewustzijn", AB_PHASE_AWARENESS},        {"consideration", AB_PHASE_CONSIDERATION},
        {"overweging", AB_PHASE_CONSIDERATION},    {"orientation", AB_PHASE_CONSIDERATION},
        {"ORI\xc3\x8bNTATIE", AB_PHASE_CONSIDERATION}, {"research", AB_PHASE_CONSIDERATION},
        {"onderzoek", AB_PHASE_CONSIDERATION},     {"decision", AB_PHASE_DECISION},
        {"beslissing", AB_PHASE_DECISION},         {"purchase", AB_PHASE_DECISION},
        {"aankoop", AB_PHASE_DECISION},            {"koop", AB_PHASE_DECISION},
        {"Checkout", AB_PHASE_DECISION},           {"retention", AB_PHASE_RETENTION},
        {"retentie", AB_PHASE_RETENTION},          {"loyalty", AB_PHASE_RETENTION},
        {"loyaliteit", AB_PHASE_RETENTION},        {"service", AB_PHASE_RETENTION},
        {"advocacy", AB_PHASE_ADVOCACY},           {"ambassadeurschap", AB_PHASE_ADVOCACY},
        {"AMBASSADOR", AB_PHASE_ADVOCACY},
    };
    /* Words shops use that are no alias: the table is fixed. */
    static const char *const unknown[] = {"buy", "order", "cart", "signup", "sale", "", "decisions"};
    char buf[256];
    ab_phase p;

    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        snprintf(test_context, sizeof test_context, "%s", known[i].name);
        p = AB_PHASE_COUNT;
        CHECK_INT(ab_phase_parse(known[i].name, strlen(known[i].name), &p), 0);
        CHECK_INT(p, known[i].phase);
    }
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        snprintf(test_context, sizeof test_context, "%s", unknown[i]);
        CHECK_INT(ab_phase_parse(unknown[i], strlen(unknown[i]), &p), -1);
    }
    test_context[0] = '\0';

    CHECK(!strcmp(ab_phase_unknown(buf, sizeof buf, NULL, "buy", 3), "phase \"buy\"" HINT));
    CHECK(!strcmp(ab_phase_unknown(buf, sizeof buf, "", "buy", 3), "phase \"buy\"" HINT));
    CHECK(!strcmp(ab_phase_unknown(buf, sizeof buf, "guardrails[1]", "cart", 4),
                  "guardrails[1]: phase \"cart\"" HINT));
    /* Only len bytes of the name count. */
    CHECK(!strcmp(ab_phase_unknown(buf, sizeof buf, NULL, "orderly", 5), "phase \"order\"" HINT));
    /* A long name is cut to AB_PHASE_QUOTE_MAX bytes, never inside a character. */
    {
        char name[80];
        for (int i = 0; i < 31; i++) name[i] = 'x';
        memcpy(name + 31, "\xc3\xab" "abcdefghijklmnopqrstuvwxyz", 29);
        ab_phase_unknown(buf, sizeof buf, NULL, name, strlen(name));
        CHECK(!strcmp(buf, "phase \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"" HINT));
    }
    /* A small buffer is cut and terminated, never overrun. */
    memset(buf, 'Z', sizeof buf);
    ab_phase_unknown(buf, 16, NULL, "signup", 6);
    CHECK(!strcmp(buf, "phase \"signup\" "));
    CHECK(buf[16] == 'Z');
}

/* The error of a request, or "" (counted) when there is none. */
static const char *error_of(const td_response *r, int status)
{
    const char *msg = json_string_value(json_object_get(r->json, "error"));
    CHECK_INT(r->status, status);
    if (!msg) test_fail(__FILE__, __LINE__, "no error in %.200s", r->body ? r->body : "");
    return msg ? msg : "";
}

static void expect_error(const char *method, const char *path, const char *body, const char *want)
{
    td_response r = td_req(&D, method, path, body);
    const char *msg;
    snprintf(test_context, sizeof test_context, "%s %s %.200s", method, path, body);
    msg = error_of(&r, 400);
    if (strcmp(msg, want)) test_fail(__FILE__, __LINE__, "error \"%s\", want \"%s\"", msg, want);
    else test_passed++;
    test_context[0] = '\0';
    td_free(&r);
}

static void test_daemon(void)
{
    td_response r;

    r = td_req(&D, "PUT", "/v1/experiments/shop", "{\"variants\": [\"control\", \"b\"]}");
    CHECK_INT(r.status, 201);
    td_free(&r);

    /* Experiments and guardrails. */
    expect_error("PUT", "/v1/experiments/x1", "{\"variants\": [\"a\", \"b\"], \"phase\": \"order\"}",
                 "phase \"order\"" HINT);
    expect_error("PUT", "/v1/experiments/x1",
                 "{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"nps\"},"
                 " {\"metric\": \"conversion\", \"phase\": \"cart\"}]}",
                 "guardrails[1]: phase \"cart\"" HINT);

    /* Events: one, and the batch's summary that quotes the first error. */
    r = td_req(&D, "POST", "/v1/events",
               "{\"experiment\": \"shop\", \"user\": \"u1\", \"type\": \"conversion\", \"phase\": \"buy\"}");
    CHECK_INT(r.status, 400);
    {
        json_t *e = json_array_get(json_object_get(r.json, "errors"), 0);
        const char *msg = json_string_value(json_object_get(e, "error"));
        CHECK(msg && !strcmp(msg, "phase \"buy\"" HINT));
        if (msg && strcmp(msg, "phase \"buy\"" HINT)) fprintf(stderr, "  got: %s\n", msg);
    }
    td_free(&r);
    r = td_req(&D, "POST", "/v1/events",
               "[{\"experiment\": \"shop\", \"user\": \"u1\", \"type\": \"exposure\", \"variant\": \"b\"},"
               "{\"experiment\": \"shop\", \"user\": \"u1\", \"type\": \"conversion\","
               " \"phase\": \"signupsignupsignupsignupsignupsignupsignup\"}]");
    CHECK_INT(r.status, 400);
    {
        json_t *e = json_array_get(json_object_get(r.json, "errors"), 0);
        const char *msg = json_string_value(json_object_get(e, "error"));
        CHECK_INT(json_integer_value(json_object_get(e, "index")), 1);
        CHECK(msg && !strcmp(msg, "phase \"signupsignupsignupsignupsignupsi...\"" HINT));
        CHECK(strstr(error_of(&r, 400), "is not a journey phase") != NULL);
    }
    td_free(&r);
    /* The same text from the NDJSON scanner and from jansson's path. */
    r = td_req(&D, "POST", "/v1/events",
               "{\"experiment\":\"shop\",\"user\":\"u1\",\"type\":\"conversion\",\"phase\":\"cart\"}\n"
               "{\"experiment\":\"shop\",\"user\":\"u2\",\"type\":\"conversion\",\"phase\":\"checkout\"}\n");
    CHECK_INT(r.status, 400);
    {
        json_t *e = json_array_get(json_object_get(r.json, "errors"), 0);
        const char *msg = json_string_value(json_object_get(e, "error"));
        CHECK(msg && !strcmp(msg, "phase \"cart\"" HINT));
        CHECK_INT(json_array_size(json_object_get(r.json, "errors")), 1);
    }
    td_free(&r);

    /* /v1/analyze: the goal phase and a key of "phases". */
    expect_error("POST", "/v1/analyze",
                 "{\"phase\": \"signup\", \"variants\": [{\"name\": \"c\", \"users\": 10},"
                 " {\"name\": \"v\", \"users\": 10}]}",
                 "phase \"signup\"" HINT);
    expect_error("POST", "/v1/analyze",
                 "{\"variants\": [{\"name\": \"c\", \"users\": 10, \"phases\": {\"buy\": 1}},"
                 " {\"name\": \"v\", \"users\": 10}]}",
                 "variants[0].phases: phase \"buy\"" HINT);

    /* An alias is still taken, and answered by its canonical name. */
    r = td_req(&D, "PUT", "/v1/experiments/x2", "{\"variants\": [\"a\", \"b\"], \"phase\": \"Loyaliteit\"}");
    CHECK_INT(r.status, 201);
    CHECK(!strcmp(json_string_value(json_object_get(r.json, "phase")), "retention"));
    td_free(&r);
}

int main(void)
{
    ab_stats_init();
    test_names();
    td_init(&D, "phase");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_phase");
    }
    test_daemon();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    return TEST_DONE("test_phase");
}
