/* test_config_change.c — changing an experiment once events exist, against
 * a real abstatd (SPEC section 3): a change of the test definition is 409
 * without "restart_monitoring": true and, with it, is applied, clears the
 * monitoring state, is listed in `changes` and survives a restart; other
 * changes need no restart; structure changes stay 409; and no state of the
 * old definition decides under the new one. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

static td_daemon D;

static td_response put(const char *id, const char *body)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    return td_req(&D, "PUT", path, body);
}

/* PUT expecting `status`; for errors the message must contain needle. */
static void put_expect(const char *id, const char *body, int status, const char *needle)
{
    td_response r = put(id, body);
    snprintf(test_context, sizeof test_context, "PUT %s %.200s", id, body);
    CHECK_INT(r.status, status);
    if (r.status != status && r.body) fprintf(stderr, "  body: %.400s\n", r.body);
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

/* New reference: GET path as JSON (NULL on failure, which is counted). */
static json_t *get(const char *path)
{
    td_response r = td_req(&D, "GET", path, NULL);
    json_t *j = r.status == 200 ? json_incref(r.json) : NULL;
    if (!j) test_fail(__FILE__, __LINE__, "GET %s: %d %.200s", path, r.status, r.body ? r.body : "");
    td_free(&r);
    return j;
}

static json_t *experiment(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    return get(path);
}

static json_t *results(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s/results", id);
    return get(path);
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* users[a] users in arm a, conv[a] of them convert (at the decision phase);
 * users named by prefix. */
static void feed(const char *id, const char *const *names, const int *users, const int *conv,
                 size_t k, const char *prefix)
{
    size_t cap = 8u << 20, len = 0;
    char *buf = malloc(cap);
    td_response r;
    if (!buf) {
        test_fail(__FILE__, __LINE__, "out of memory");
        return;
    }
    for (size_t a = 0; a < k; a++)
        for (int u = 0; u < users[a]; u++) {
            len += (size_t)snprintf(buf + len, cap - len,
                                    "{\"experiment\":\"%s\",\"variant\":\"%s\",\"user\":\"%s%zu-%d\","
                                    "\"type\":\"exposure\"}\n",
                                    id, names[a], prefix, a, u);
            if (u < conv[a])
                len += (size_t)snprintf(buf + len, cap - len,
                                        "{\"experiment\":\"%s\",\"user\":\"%s%zu-%d\","
                                        "\"type\":\"conversion\",\"phase\":\"decision\"}\n",
                                        id, prefix, a, u);
        }
    r = td_request(&D, "POST", "/v1/events", buf, len, NULL);
    CHECK_INT(r.status, 202);
    td_free(&r);
    free(buf);
}

static const json_t *variant(const json_t *res, size_t i)
{
    return json_array_get(json_object_get(res, "variants"), i);
}

/* The first restart: 409 without the flag, then the change and its record. */
static void test_restart_rule(void)
{
    static const char *const two[] = {"control", "b"};
    json_t *g, *c, *entry;
    char created[64], since[64];

    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"description\":\"first\"}", 201, NULL);
    /* Before any event nothing has been monitored: no restart needed and
     * nothing recorded. */
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"alpha\":0.1}", 200, NULL);
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"alpha\":0.05,\"restart_monitoring\":true}",
               200, NULL);
    if (!(g = experiment("cc"))) return;
    CHECK_INT(json_array_size(json_object_get(g, "changes")), 0);
    CHECK(!strcmp(str(g, "monitoring_since"), str(g, "created_at")));
    CHECK(json_object_get(g, "restart_monitoring") == NULL);
    snprintf(created, sizeof created, "%s", str(g, "created_at"));
    json_decref(g);

    feed("cc", two, (const int[]){50, 50}, (const int[]){5, 8}, 2, "c");
    td_sleep_ms(20); /* monitoring_since must be visibly later than created_at */

    /* A change of the test definition alone is refused, naming the field,
     * the values and what to send. */
    {
        td_response r = put("cc", "{\"variants\":[\"control\",\"b\"],\"metric\":\"revenue\"}");
        const char *msg = str(r.json, "error");
        CHECK_INT(r.status, 409);
        CHECK(strstr(msg, "metric (conversion -> revenue)") != NULL);
        CHECK(strstr(msg, "\"restart_monitoring\": true") != NULL);
        CHECK(strstr(msg, "test definition") != NULL);
        CHECK_INT(json_array_size(json_object_get(r.json, "fields")), 1);
        CHECK(!strcmp(json_string_value(json_array_get(json_object_get(r.json, "fields"), 0)) ?
                          json_string_value(json_array_get(json_object_get(r.json, "fields"), 0)) : "",
                      "metric"));
        td_free(&r);
    }
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"alpha\":0.01,\"correction\":\"bh\"}", 409,
               "alpha (0.05 -> 0.01), correction (holm -> bh)");
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"guardrails\":[]}", 409, "guardrails");
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"metric\":\"revenue\",\"restart_monitoring\":false}",
               409, "metric");
    /* Refused requests changed nothing. */
    if ((g = experiment("cc"))) {
        CHECK(!strcmp(str(g, "metric"), "conversion"));
        CHECK(json_number_value(json_object_get(g, "alpha")) == 0.05);
        CHECK_INT(json_array_size(json_object_get(g, "changes")), 0);
        json_decref(g);
    }
    /* restart_monitoring is a boolean. */
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"metric\":\"revenue\",\"restart_monitoring\":\"yes\"}",
               400, "restart_monitoring: must be true or false");
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"restart_monitoring\":1}", 400,
               "restart_monitoring");
    /* Structure stays fixed, restart or not. */
    put_expect("cc", "{\"variants\":[\"control\",\"b\",\"c\"],\"restart_monitoring\":true}", 409,
               "variants, factors and weights");
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"weights\":[1,3],\"metric\":\"revenue\","
                     "\"restart_monitoring\":true}",
               409, "variants, factors and weights");
    /* What is not the test definition needs no restart and leaves no record. */
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"description\":\"second\",\"min_days\":3,"
                     "\"min_users\":10,\"webhook\":\"http://127.0.0.1:1/x\"}",
               200, NULL);
    if ((g = experiment("cc"))) {
        CHECK(!strcmp(str(g, "description"), "second"));
        CHECK_INT(json_array_size(json_object_get(g, "changes")), 0);
        CHECK(!strcmp(str(g, "monitoring_since"), created));
        json_decref(g);
    }

    /* With the flag: applied, recorded, monitoring from now. */
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"description\":\"second\",\"min_days\":3,"
                     "\"min_users\":10,\"webhook\":\"http://127.0.0.1:1/x\",\"metric\":\"revenue\","
                     "\"restart_monitoring\":true}",
               200, NULL);
    if (!(g = experiment("cc"))) return;
    CHECK(!strcmp(str(g, "metric"), "revenue"));
    CHECK(json_object_get(g, "restart_monitoring") == NULL);
    c = json_object_get(g, "changes");
    CHECK_INT(json_array_size(c), 1);
    entry = json_array_get(c, 0);
    CHECK_INT(json_array_size(json_object_get(entry, "fields")), 1);
    CHECK(!strcmp(json_string_value(json_array_get(json_object_get(entry, "fields"), 0)) ?
                      json_string_value(json_array_get(json_object_get(entry, "fields"), 0)) : "",
                  "metric"));
    CHECK(!strcmp(str(json_object_get(entry, "old"), "metric"), "conversion"));
    CHECK(!strcmp(str(json_object_get(entry, "new"), "metric"), "revenue"));
    CHECK(json_is_true(json_object_get(entry, "restart_monitoring")));
    CHECK(!strcmp(str(entry, "at"), str(g, "monitoring_since")));
    CHECK(strcmp(str(g, "monitoring_since"), created) > 0);
    CHECK(!strcmp(str(g, "created_at"), created));
    snprintf(since, sizeof since, "%s", str(g, "monitoring_since"));
    json_decref(g);

    /* The same body again is no change: 200, nothing more recorded. */
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"description\":\"second\",\"min_days\":3,"
                     "\"min_users\":10,\"webhook\":\"http://127.0.0.1:1/x\",\"metric\":\"revenue\"}",
               200, NULL);
    /* Guardrails are part of the definition, as a set. */
    td_sleep_ms(5);
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"metric\":\"revenue\",\"description\":\"second\","
                     "\"min_days\":3,\"min_users\":10,\"webhook\":\"http://127.0.0.1:1/x\","
                     "\"guardrails\":[{\"metric\":\"nps\",\"margin\":0.02},{\"metric\":\"conversion\"}],"
                     "\"restart_monitoring\":true}",
               200, NULL);
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"metric\":\"revenue\",\"description\":\"second\","
                     "\"min_days\":3,\"min_users\":10,\"webhook\":\"http://127.0.0.1:1/x\","
                     "\"guardrails\":[{\"metric\":\"conversion\",\"phase\":\"purchase\"},"
                     "{\"margin\":0.02,\"metric\":\"NPS\"}]}",
               200, NULL);
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"metric\":\"revenue\","
                     "\"guardrails\":[{\"metric\":\"revenue\"}],\"restart_monitoring\":true}",
               400, "the primary metric cannot be its own guardrail");
    /* An explicit restart with nothing changed is recorded with no fields. */
    td_sleep_ms(5);
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"metric\":\"revenue\",\"description\":\"second\","
                     "\"min_days\":3,\"min_users\":10,\"webhook\":\"http://127.0.0.1:1/x\","
                     "\"guardrails\":[{\"metric\":\"nps\",\"margin\":0.02},{\"metric\":\"conversion\"}],"
                     "\"restart_monitoring\":true}",
               200, NULL);
    if ((g = experiment("cc"))) {
        c = json_object_get(g, "changes");
        CHECK_INT(json_array_size(c), 3);
        entry = json_array_get(c, 1);
        CHECK(!strcmp(json_string_value(json_array_get(json_object_get(entry, "fields"), 0)) ?
                          json_string_value(json_array_get(json_object_get(entry, "fields"), 0)) : "",
                      "guardrails"));
        CHECK(json_is_null(json_object_get(json_object_get(entry, "old"), "guardrails")));
        CHECK_INT(json_array_size(json_object_get(json_object_get(entry, "new"), "guardrails")), 2);
        entry = json_array_get(c, 2);
        CHECK_INT(json_array_size(json_object_get(entry, "fields")), 0);
        CHECK_INT(json_object_size(json_object_get(entry, "old")), 0);
        CHECK(!strcmp(str(entry, "at"), str(g, "monitoring_since")));
        CHECK(strcmp(str(g, "monitoring_since"), since) > 0);
        /* GET shows the guardrails as PUT takes them. */
        CHECK(!strcmp(str(json_array_get(json_object_get(g, "guardrails"), 1), "phase"), "decision"));
        json_decref(g);
    }

    /* GET's config PUT back is the same test: no 409, nothing recorded. */
    if ((g = experiment("cc"))) {
        static const char *const extra[] = {"status", "created_at", "monitoring_since", "changes",
                                            "events", "users", NULL};
        char *text;
        for (size_t i = 0; extra[i]; i++) json_object_del(g, extra[i]);
        text = json_dumps(g, JSON_COMPACT);
        if (text) put_expect("cc", text, 200, NULL);
        free(text);
        json_decref(g);
    }
}

/* The history and monitoring_since survive a restart of the daemon. */
static void test_survives_restart(void)
{
    json_t *before = experiment("cc"), *after;
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    after = experiment("cc");
    if (before && after) {
        CHECK(json_equal(json_object_get(before, "changes"), json_object_get(after, "changes")));
        CHECK_INT(json_array_size(json_object_get(after, "changes")), 3);
        CHECK(!strcmp(str(before, "monitoring_since"), str(after, "monitoring_since")));
        CHECK(!strcmp(str(before, "created_at"), str(after, "created_at")));
        CHECK(json_equal(json_object_get(before, "guardrails"), json_object_get(after, "guardrails")));
        CHECK(!strcmp(str(after, "metric"), "revenue"));
        /* Still guarded after the restart: the events are still there. */
        CHECK(json_number_value(json_object_get(after, "events")) > 0);
    }
    json_decref(before);
    json_decref(after);
    put_expect("cc", "{\"variants\":[\"control\",\"b\"],\"metric\":\"nps\"}", 409, "metric (revenue -> nps)");
}

/* SPEC: no state of an earlier test definition may ever decide a verdict
 * under a later one. A clear conversion winner, then the metric changes to
 * revenue, of which there is none: nothing of the winner may remain. */
static void test_no_old_state_decides(void)
{
    static const char *const two[] = {"control", "buy-now"};
    json_t *res = NULL, *g;
    const json_t *v;
    int better = 0;

    put_expect("win", "{\"variants\":[\"control\",\"buy-now\"],\"min_days\":0,\"min_users\":0}", 201,
               NULL);
    /* 5 % against 15 % over 2,000 users each. */
    feed("win", two, (const int[]){2000, 2000}, (const int[]){100, 300}, 2, "w");
    for (int i = 0; i < 40 && !better; i++) {
        json_decref(res);
        if (!(res = results("win"))) return;
        better = !strcmp(str(variant(res, 1), "status"), "better");
        if (!better) td_sleep_ms(100);
    }
    CHECK(better);
    v = variant(res, 1);
    CHECK(json_is_string(json_object_get(v, "significant_since")));
    CHECK(!strcmp(str(json_object_get(res, "verdict"), "decision"), "ship"));
    json_decref(res);
    td_sleep_ms(1200); /* let the monitor store its state, so that a restart could bring it back */

    put_expect("win", "{\"variants\":[\"control\",\"buy-now\"],\"min_days\":0,\"min_users\":0,"
                      "\"metric\":\"revenue\",\"restart_monitoring\":true}",
               200, NULL);
    for (int pass = 0; pass < 2; pass++) {
        snprintf(test_context, sizeof test_context, "after the restart%s",
                 pass ? " of the daemon" : "");
        if ((res = results("win"))) {
            v = variant(res, 1);
            CHECK(!strcmp(str(v, "status"), "collecting"));
            CHECK(json_is_null(json_object_get(v, "significant_since")));
            CHECK(strcmp(str(json_object_get(res, "verdict"), "decision"), "ship") != 0);
            CHECK(!strcmp(str(res, "metric"), "revenue"));
            if (strcmp(str(v, "status"), "collecting"))
                fprintf(stderr, "  status %s, verdict %s\n", str(v, "status"),
                        str(json_object_get(res, "verdict"), "decision"));
            json_decref(res);
        }
        if ((g = experiment("win"))) {
            CHECK_INT(json_array_size(json_object_get(g, "changes")), 1);
            json_decref(g);
        }
        test_context[0] = '\0';
        /* The cleared monitoring state is stored cleared: a restart must
         * not bring back the old winner. */
        if (pass == 0) {
            td_sleep_ms(1200);
            CHECK_INT(td_stop(&D), 0);
            CHECK_INT(td_start(&D), 0);
        }
    }
}

int main(void)
{
    ab_stats_init();
    td_init(&D, "config_change");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_config_change");
    }
    test_restart_rule();
    test_survives_restart();
    test_no_old_state_decides();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    return TEST_DONE("test_config_change");
}
