/* test_roundtrip.c — GET then PUT of what GET answered, against a real
 * abstatd: 200 and nothing changes, for every example config of README
 * (checkout-cta, the hero factorial, price-test with guardrails), after the
 * restart_monitoring example, with events, stopped, for the list entries
 * and for a webhook a read token sees redacted; the read-only fields are
 * taken, unknown keys still refused, and a status that differs is 409. */
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

#define ADMIN "admin-roundtrip-0123456789abcdef"
#define READ "read-roundtrip-0123456789abcdef"
#define AUTH_ADMIN "Authorization: Bearer " ADMIN "\r\n"
#define AUTH_READ "Authorization: Bearer " READ "\r\n"

static td_daemon D;

static td_response as(const char *auth, const char *method, const char *path, const char *body)
{
    return td_request(&D, method, path, body, body ? strlen(body) : 0, auth);
}

static void path_of(char *buf, size_t cap, const char *id, const char *tail)
{
    snprintf(buf, cap, "/v1/experiments/%s%s", id, tail ? tail : "");
}

/* PUT body (admin) expecting status; an error must mention needle. */
static void put_expect(const char *id, const char *body, int status, const char *needle)
{
    char path[160];
    td_response r;
    path_of(path, sizeof path, id, NULL);
    r = as(AUTH_ADMIN, "PUT", path, body);
    snprintf(test_context, sizeof test_context, "PUT %s %.300s", id, body);
    CHECK_INT(r.status, status);
    if (r.status != status && r.body) fprintf(stderr, "  body: %.500s\n", r.body);
    if (needle) {
        const char *msg = json_string_value(json_object_get(r.json, "error"));
        if (!msg || !strstr(msg, needle))
            test_fail(__FILE__, __LINE__, "error \"%s\" does not mention \"%s\"",
                      msg ? msg : "(none)", needle);
        else
            test_passed++;
    }
    test_context[0] = '\0';
    td_free(&r);
}

/* New reference: GET of the experiment with the token auth, NULL (counted) on failure. */
static json_t *get_as(const char *auth, const char *id)
{
    char path[160];
    td_response r;
    json_t *j;
    path_of(path, sizeof path, id, NULL);
    r = as(auth, "GET", path, NULL);
    j = r.status == 200 ? json_incref(r.json) : NULL;
    if (!j) test_fail(__FILE__, __LINE__, "GET %s: %d %.200s", path, r.status, r.body ? r.body : "");
    td_free(&r);
    return j;
}

/* A string field of o, or dflt when it is absent or not a string. */
static const char *str(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
}

/* The round trip: GET (as reader), PUT exactly that text back (admin) ->
 * 200, answering the experiment as it was; GET again -> the same document,
 * every field, read-only ones included. */
static void round_trip(const char *id, const char *reader)
{
    char path[160];
    json_t *before = get_as(reader, id), *after;
    char *text, *a, *b;
    td_response r;

    if (!before) return;
    text = json_dumps(before, JSON_COMPACT | JSON_REAL_PRECISION(15));
    CHECK(text != NULL);
    path_of(path, sizeof path, id, NULL);
    r = as(AUTH_ADMIN, "PUT", path, text);
    snprintf(test_context, sizeof test_context, "round trip of %s: PUT %.400s", id, text ? text : "");
    CHECK_INT(r.status, 200);
    if (r.status != 200) fprintf(stderr, "  body: %.500s\n", r.body ? r.body : "");
    td_free(&r);
    after = get_as(reader, id);
    a = dump(before);
    b = dump(after);
    CHECK(a && b);
    if (a && b && strcmp(a, b))
        test_fail(__FILE__, __LINE__, "GET changed:\n  before %.700s\n  after  %.700s", a, b);
    else
        test_passed++;
    test_context[0] = '\0';
    free(a);
    free(b);
    free(text);
    json_decref(before);
    json_decref(after);
}

static void post_events(const char *body)
{
    td_response r = as(AUTH_ADMIN, "POST", "/v1/events", body);
    snprintf(test_context, sizeof test_context, "POST /v1/events %.200s", body);
    CHECK_INT(r.status, 202);
    if (r.status != 202) fprintf(stderr, "  body: %.500s\n", r.body ? r.body : "");
    test_context[0] = '\0';
    td_free(&r);
}

/* README, Experiments and Guardrails: every example config. */
static void test_readme_examples(void)
{
    put_expect("checkout-cta",
               "{\"description\": \"Buy-now button\", \"variants\": [\"control\", \"buy-now\"],"
               " \"phase\": \"decision\", \"metric\": \"conversion\", \"alpha\": 0.05, \"power\": 0.8,"
               " \"mde\": 0.10, \"method\": \"sequential\", \"correction\": \"holm\","
               " \"min_days\": 7, \"min_users\": 100 }",
               201, NULL);
    round_trip("checkout-cta", AUTH_ADMIN);
    put_expect("hero",
               "{\"factors\": [{\"name\": \"headline\", \"levels\": [\"a\", \"b\"]},"
               " {\"name\": \"cta\", \"levels\": [\"x\", \"y\", \"z\"]}] }",
               201, NULL);
    round_trip("hero", AUTH_ADMIN);
    put_expect("price-test",
               "{\"variants\": [\"control\", \"premium\"], \"metric\": \"revenue\","
               " \"guardrails\": [{\"metric\": \"conversion\", \"phase\": \"checkout\", \"margin\": 0.02},"
               " {\"metric\": \"nps\"}] }",
               201, NULL);
    round_trip("price-test", AUTH_ADMIN);
    /* Every field given, none the default: all of them survive. */
    put_expect("everything",
               "{\"description\": \"all fields\", \"phase\": \"bewustwording\","
               " \"variants\": [\"c\", \"v1\", \"v2\"], \"weights\": [0.5, 0.3, 0.2],"
               " \"metric\": \"nps\", \"alpha\": 0.01, \"power\": 0.9, \"mde\": 0.123456789012345,"
               " \"baseline\": 0.0333333333333333, \"method\": \"fixed\", \"sequential_tuning\": 12345,"
               " \"correction\": \"bh\", \"min_days\": 14.5, \"min_users\": 250,"
               " \"guardrails\": [], \"webhook\": \"https://hooks.example.com/abstat\"}",
               201, NULL);
    round_trip("everything", AUTH_ADMIN);
    /* revenue_cap in each of its forms, digits beyond the 15th included. */
    {
        static const char *const caps[] = {
            "{\"percentile\": 0.99}", "{\"percentile\": 0.975, \"lower\": 0.0123456789012345678}",
            "{\"percentile\": 1}", "{\"max\": 412.5}", "{\"max\": 500, \"min\": -49.99}", "null"};
        for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
            char body[300];
            snprintf(body, sizeof body, "{\"variants\": [\"a\", \"b\"], \"metric\": \"revenue\", "
                     "\"revenue_cap\": %s}", caps[i]);
            put_expect("capped", body, i ? 200 : 201, NULL);
            round_trip("capped", AUTH_ADMIN);
            json_t *got = get_as(AUTH_ADMIN, "capped");
            const json_t *rc = json_object_get(got, "revenue_cap");
            CHECK(strcmp(caps[i], "null") ? json_is_object(rc) : json_is_null(rc));
            json_decref(got);
        }
    }
}

/* README, Changing an experiment that has events: after the restart the
 * document carries monitoring_since and a changes entry; PUT back, it is
 * no change of the test definition (200, no restart, changes unchanged). */
static void test_after_restart(void)
{
    json_t *j;
    post_events("[{\"experiment\": \"checkout-cta\", \"variant\": \"buy-now\", \"user\": \"u-1842\","
                " \"type\": \"exposure\"},"
                "{\"experiment\": \"checkout-cta\", \"variant\": \"control\", \"user\": \"u-7\","
                " \"type\": \"exposure\"},"
                "{\"experiment\": \"checkout-cta\", \"user\": \"u-1842\", \"type\": \"conversion\","
                " \"phase\": \"aankoop\", \"value\": 59.90}]");
    round_trip("checkout-cta", AUTH_ADMIN);
    put_expect("checkout-cta", "{\"variants\": [\"control\", \"buy-now\"], \"metric\": \"revenue\"}",
               409, "restart_monitoring");
    put_expect("checkout-cta",
               "{\"variants\": [\"control\", \"buy-now\"], \"metric\": \"revenue\","
               " \"restart_monitoring\": true}",
               200, NULL);
    j = get_as(AUTH_ADMIN, "checkout-cta");
    CHECK_INT(json_array_size(json_object_get(j, "changes")), 1);
    json_decref(j);
    round_trip("checkout-cta", AUTH_ADMIN);
    j = get_as(AUTH_ADMIN, "checkout-cta");
    CHECK_INT(json_array_size(json_object_get(j, "changes")), 1);
    json_decref(j);

    /* A stale GET (taken before more events came) is PUT back too: the
     * counts it carries are ignored. */
    {
        json_t *old = get_as(AUTH_ADMIN, "checkout-cta"), *now;
        char *text = old ? json_dumps(old, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
        post_events("{\"experiment\": \"checkout-cta\", \"variant\": \"control\", \"user\": \"u-8\","
                    " \"type\": \"exposure\"}");
        CHECK(text != NULL);
        if (text) put_expect("checkout-cta", text, 200, NULL);
        now = get_as(AUTH_ADMIN, "checkout-cta");
        CHECK(json_integer_value(json_object_get(now, "events")) ==
              json_integer_value(json_object_get(old, "events")) + 1);
        CHECK_INT(json_array_size(json_object_get(now, "changes")), 1);
        free(text);
        json_decref(old);
        json_decref(now);
    }
}

/* A stopped experiment round-trips and stays stopped; a status that is not
 * the experiment's is 409 naming the route that changes it. */
static void test_status(void)
{
    char path[160];
    td_response r;
    json_t *j;

    path_of(path, sizeof path, "hero", "/stop");
    r = as(AUTH_ADMIN, "POST", path, NULL);
    CHECK_INT(r.status, 200);
    td_free(&r);
    round_trip("hero", AUTH_ADMIN);
    j = get_as(AUTH_ADMIN, "hero");
    CHECK(!strcmp(str(j, "status", ""), "stopped"));
    json_decref(j);
    put_expect("hero",
               "{\"factors\": [{\"name\": \"headline\", \"levels\": [\"a\", \"b\"]},"
               " {\"name\": \"cta\", \"levels\": [\"x\", \"y\", \"z\"]}], \"status\": \"running\"}",
               409, "/v1/experiments/hero/start");
    path_of(path, sizeof path, "hero", "/start");
    r = as(AUTH_ADMIN, "POST", path, NULL);
    CHECK_INT(r.status, 200);
    td_free(&r);
    put_expect("hero",
               "{\"factors\": [{\"name\": \"headline\", \"levels\": [\"a\", \"b\"]},"
               " {\"name\": \"cta\", \"levels\": [\"x\", \"y\", \"z\"]}], \"status\": \"stopped\"}",
               409, "/v1/experiments/hero/stop");
    put_expect("hero",
               "{\"factors\": [{\"name\": \"headline\", \"levels\": [\"a\", \"b\"]},"
               " {\"name\": \"cta\", \"levels\": [\"x\", \"y\", \"z\"]}], \"status\": \"running\"}",
               200, NULL);

    /* New experiments start running. */
    put_expect("fresh", "{\"variants\": [\"a\", \"b\"], \"status\": \"stopped\"}", 409,
               "starts running");
    put_expect("fresh", "{\"variants\": [\"a\", \"b\"], \"status\": \"paused\"}", 400, "status");
    put_expect("fresh", "{\"variants\": [\"a\", \"b\"], \"status\": 1}", 400, "status");
    put_expect("fresh",
               "{\"variants\": [\"a\", \"b\"], \"status\": \"running\", \"id\": \"fresh\","
               " \"created_at\": \"1999-01-01T00:00:00Z\", \"monitoring_since\": null,"
               " \"changes\": [{\"bogus\": 1}], \"events\": 12345, \"users\": -1}",
               201, NULL);
    j = get_as(AUTH_ADMIN, "fresh");
    CHECK_INT(json_integer_value(json_object_get(j, "events")), 0);
    CHECK_INT(json_array_size(json_object_get(j, "changes")), 0);
    CHECK(strcmp(str(j, "created_at", "1999"), "2000") > 0);
    json_decref(j);

    /* Still refused: unknown keys (a typo of a read-only one too) and an
     * id that contradicts the path. */
    put_expect("fresh", "{\"variants\": [\"a\", \"b\"], \"statuss\": \"running\"}", 400,
               "unknown field \"statuss\"");
    put_expect("fresh", "{\"variants\": [\"a\", \"b\"], \"created\": \"x\"}", 400,
               "unknown field \"created\"");
    put_expect("fresh", "{\"variants\": [\"a\", \"b\"], \"id\": \"other\"}", 400, "as in the path");
}

/* Every entry of GET /v1/experiments PUT back to its id: 200, and the list
 * is the same afterwards. */
static void test_list_entries(void)
{
    td_response r = as(AUTH_ADMIN, "GET", "/v1/experiments", NULL);
    json_t *list = r.status == 200 ? json_incref(json_object_get(r.json, "experiments")) : NULL;
    char *before = list ? dump(list) : NULL, *after;
    size_t i;
    json_t *e;

    CHECK_INT(r.status, 200);
    td_free(&r);
    CHECK(json_array_size(list) >= 5);
    json_array_foreach(list, i, e) {
        const char *id = json_string_value(json_object_get(e, "id"));
        char *text = json_dumps(e, JSON_COMPACT | JSON_REAL_PRECISION(15));
        CHECK(id && text);
        if (id && text) put_expect(id, text, 200, NULL);
        free(text);
    }
    r = as(AUTH_ADMIN, "GET", "/v1/experiments", NULL);
    after = r.status == 200 ? dump(json_object_get(r.json, "experiments")) : NULL;
    td_free(&r);
    CHECK(before && after && !strcmp(before, after));
    free(before);
    free(after);
    json_decref(list);
}

/* A read token sees the webhook's query values as "***"; that document PUT
 * back by an admin keeps the real webhook. */
static void test_redacted_webhook(void)
{
    json_t *j;
    put_expect("hooked",
               "{\"variants\": [\"a\", \"b\"], \"webhook\": \"https://hooks.example.com/ab?key=s3cret&x=1\"}",
               201, NULL);
    j = get_as(AUTH_READ, "hooked");
    CHECK(j && !strstr(str(j, "webhook", "s3cret"), "s3cret"));
    json_decref(j);
    round_trip("hooked", AUTH_READ);
    j = get_as(AUTH_ADMIN, "hooked");
    CHECK(!strcmp(str(j, "webhook", ""),
                  "https://hooks.example.com/ab?key=s3cret&x=1"));
    json_decref(j);
    /* A webhook that merely differs is a change, as ever. */
    put_expect("hooked", "{\"variants\": [\"a\", \"b\"], \"webhook\": \"https://hooks.example.com/ab?key=***\"}",
               200, NULL);
    j = get_as(AUTH_ADMIN, "hooked");
    CHECK(!strcmp(str(j, "webhook", ""),
                  "https://hooks.example.com/ab?key=***"));
    json_decref(j);
}

int main(void)
{
    char tokens[300];
    FILE *fp;
    ab_stats_init();
    td_init(&D, "roundtrip");
    snprintf(tokens, sizeof tokens, "%s.tokens", D.dir);
    if (!(fp = fopen(tokens, "w"))) {
        test_fail(__FILE__, __LINE__, "cannot write %s", tokens);
        return TEST_DONE("test_roundtrip");
    }
    fprintf(fp, "admin %s\nread %s\n", ADMIN, READ);
    CHECK(fclose(fp) == 0);
    snprintf(D.extra, sizeof D.extra, "--tokens %s", tokens);
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_roundtrip");
    }
    test_readme_examples();
    test_after_restart();
    test_status();
    test_list_entries();
    test_redacted_webhook();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    remove(tokens);
    return TEST_DONE("test_roundtrip");
}
