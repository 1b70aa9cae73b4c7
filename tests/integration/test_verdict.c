/* test_verdict.c — the decision against a real abstatd, as a skeptical
 * user tries it: a winner that loses revenue and NPS, a fixed test judged
 * once, a third variant still undecided, a change of metric, and clocks
 * moved by hostile timestamps. Each scenario checks status, verdict,
 * reason and `abstat check`'s exit code, before and after a restart. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

static td_daemon D;

static int put(const char *id, const char *body)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    td_response r = td_req(&D, "PUT", path, body);
    int st = r.status;
    if (st >= 500) printf("# PUT %s: %d %s\n", id, st, r.body ? r.body : "");
    td_free(&r);
    return st;
}

/* One arm's users: users[a] exposures named PREFIX-a-u; the first conv[a]
 * convert at decision (each with value rev[a] when rev is given); the
 * first answers[a] answer, every other one with score[a], the rest with
 * 8 (a passive). */
typedef struct {
    int users, conv;
    double value;      /* revenue of each converter; 0 for none */
    int answers, score;
} arm_spec;

static int feed(const char *id, const char *const *names, const arm_spec *arms, size_t k,
                const char *prefix)
{
    size_t cap = 32u << 20, len = 0;
    char *buf = malloc(cap);
    int status;
    if (!buf) return 0;
    for (size_t a = 0; a < k; a++)
        for (int u = 0; u < arms[a].users; u++) {
            len += (size_t)snprintf(buf + len, cap - len,
                                    "{\"experiment\":\"%s\",\"variant\":\"%s\",\"user\":\"%s-%zu-%d\","
                                    "\"type\":\"exposure\"}\n", id, names[a], prefix, a, u);
            if (u < arms[a].conv) {
                len += (size_t)snprintf(buf + len, cap - len,
                                        "{\"experiment\":\"%s\",\"user\":\"%s-%zu-%d\","
                                        "\"type\":\"conversion\"", id, prefix, a, u);
                if (arms[a].value != 0)
                    len += (size_t)snprintf(buf + len, cap - len, ",\"value\":%.2f",
                                            arms[a].value);
                len += (size_t)snprintf(buf + len, cap - len, "}\n");
            }
            if (u < arms[a].answers)
                len += (size_t)snprintf(buf + len, cap - len,
                                        "{\"experiment\":\"%s\",\"user\":\"%s-%zu-%d\","
                                        "\"type\":\"nps\",\"score\":%d}\n", id, prefix, a, u,
                                        u % 2 ? arms[a].score : 8);
        }
    td_response r = td_request(&D, "POST", "/v1/events", buf, len, NULL);
    status = r.status;
    if (status != 202) printf("# feed %s: %d %s\n", id, status, r.body ? r.body : "");
    td_free(&r);
    free(buf);
    return status;
}

static json_t *get(const char *id, const char *what)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/experiments/%s/%s", id, what);
    td_response r = td_req(&D, "GET", path, NULL);
    json_t *j = json_incref(r.json);
    td_free(&r);
    return j;
}

static const char *verdict_of(json_t *d, const char *key)
{
    return json_string_value(json_object_get(json_object_get(d, "verdict"), key));
}

static json_t *variant(json_t *d, size_t i)
{
    return json_array_get(json_object_get(d, "variants"), i);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int check_exit(const char *id, const char *more)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s check %s --server http://127.0.0.1:%d %s >/dev/null 2>&1",
             td_bin("abstat"), id, D.port, more ? more : "");
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Waits for the monitoring timer to have looked at every experiment. */
static void settle(void)
{
    td_sleep_ms(1300);
}

static void restart(void)
{
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    settle();
}

/* +20 % conversion, but revenue per user and NPS much lower: no ship. */
static void guardrail_loser(int after_restart)
{
    json_t *d = get("guard", "decision"), *r = get("guard", "results");
    json_t *v = variant(d, 0), *g = json_object_get(v, "guardrails");
    snprintf(test_context, sizeof test_context, "guardrail loser%s",
             after_restart ? " after a restart" : "");
    CHECK(!strcmp(str(v, "status"), "better"));
    CHECK(!strcmp(verdict_of(d, "decision"), "keep_control"));
    CHECK(strstr(verdict_of(d, "reason"), "but harms revenue per user") != NULL);
    CHECK(strstr(verdict_of(d, "reason"), "NPS") != NULL);
    CHECK_INT(json_array_size(g), 2);
    CHECK(!strcmp(str(json_array_get(g, 0), "metric"), "revenue"));
    CHECK(!strcmp(str(json_array_get(g, 0), "status"), "failing"));
    CHECK(!strcmp(str(json_array_get(g, 1), "metric"), "nps"));
    CHECK(!strcmp(str(json_array_get(g, 1), "status"), "failing"));
    /* The results show the same block per variant. */
    CHECK_INT(json_array_size(json_object_get(variant(r, 1), "guardrails")), 2);
    CHECK_INT(check_exit("guard", NULL), 2);
    CHECK_INT(check_exit("guard", "--variant buy-now"), 2);
    test_context[0] = '\0';
    json_decref(d);
    json_decref(r);
}

/* Fixed: judged once at the planned sample; more data never re-judges. */
static void fixed_frozen(int after_restart)
{
    json_t *d = get("fixed", "decision"), *r = get("fixed", "results");
    json_t *ss = json_object_get(r, "sample_size");
    snprintf(test_context, sizeof test_context, "fixed freeze%s",
             after_restart ? " after a restart" : "");
    CHECK(!strcmp(str(variant(d, 0), "status"), "no_effect"));
    CHECK(!strcmp(verdict_of(d, "decision"), "keep_control"));
    CHECK(strstr(verdict_of(d, "reason"), "not significantly different") != NULL);
    CHECK(json_is_true(json_object_get(ss, "frozen")));
    /* Later data is shown (a clear effect now) but never judged. */
    CHECK(json_number_value(json_object_get(variant(d, 0), "p_value")) < 1e-6);
    CHECK_INT(check_exit("fixed", NULL), 2);
    test_context[0] = '\0';
    json_decref(d);
    json_decref(r);
}

/* k = 3: a is clearly better, b undecided: keep running. */
static void undecided(int after_restart)
{
    json_t *d = get("three", "decision");
    snprintf(test_context, sizeof test_context, "k = 3 undecided%s",
             after_restart ? " after a restart" : "");
    CHECK(!strcmp(str(variant(d, 0), "status"), "better"));
    CHECK(!strcmp(str(variant(d, 1), "status"), "collecting"));
    CHECK(!strcmp(verdict_of(d, "decision"), "keep_running"));
    CHECK(strstr(verdict_of(d, "reason"), "but b is still undecided") != NULL);
    CHECK_INT(check_exit("three", NULL), 1);
    CHECK_INT(check_exit("three", "--variant a"), 1);
    test_context[0] = '\0';
    json_decref(d);
}

/* A change of metric with restart_monitoring: the old winner decides nothing. */
static void changed(int after_restart)
{
    json_t *d = get("change", "decision"), *r = get("change", "results");
    snprintf(test_context, sizeof test_context, "metric change%s",
             after_restart ? " after a restart" : "");
    CHECK(!strcmp(str(d, "metric"), "revenue"));
    CHECK(!strcmp(str(variant(d, 0), "status"), "collecting"));
    CHECK(json_is_null(json_object_get(variant(d, 0), "significant_since")));
    CHECK(strcmp(verdict_of(d, "decision"), "ship") != 0);
    CHECK_INT(json_array_size(json_object_get(r, "changes")), 1);
    CHECK_INT(check_exit("change", NULL), 1);
    test_context[0] = '\0';
    json_decref(d);
    json_decref(r);
}

/* Timestamps that would move the clock are refused; the clock is exposures'. */
static void clock_hostile(int after_restart)
{
    json_t *r = get("clock", "results");
    snprintf(test_context, sizeof test_context, "hostile ts%s",
             after_restart ? " after a restart" : "");
    CHECK(json_number_value(json_object_get(r, "days_running")) < 1.0);
    CHECK(!strcmp(verdict_of(r, "decision"), "keep_running"));
    CHECK(strstr(verdict_of(r, "reason"), "Too early to call") != NULL);
    CHECK_INT(check_exit("clock", NULL), 1);
    test_context[0] = '\0';
    json_decref(r);
}

static void send_ts(const char *ts, int want)
{
    char body[256];
    snprintf(body, sizeof body, "{\"experiment\":\"clock\",\"user\":\"x\",\"type\":\"conversion\","
             "\"ts\":%s}", ts);
    td_response r = td_req(&D, "POST", "/v1/events", body);
    snprintf(test_context, sizeof test_context, "ts %s", ts);
    CHECK_INT(r.status, want);
    if (want == 400 && !strcmp(ts, "1764000000"))
        CHECK(r.body && strstr(r.body, "epoch seconds") != NULL);
    test_context[0] = '\0';
    td_free(&r);
}

int main(void)
{
    static const char *const two[] = {"control", "buy-now"};
    static const char *const three[] = {"control", "a", "b"};

    ab_stats_init();
    td_init(&D, "verdict");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_verdict");
    }

    /* Guardrail loser: 10 % -> 12 % conversion, revenue 50 -> 30 per buyer,
     * NPS +50 -> -50. */
    CHECK_INT(put("guard", "{\"variants\":[\"control\",\"buy-now\"],\"min_days\":0,"
                           "\"min_users\":100}"), 201);
    CHECK_INT(feed("guard", two, (const arm_spec[]){{10000, 1000, 50.0, 1000, 9},
                                                    {10000, 1200, 30.0, 1000, 3}}, 2, "g"),
              202);

    /* Fixed: plan for 5 % -> 7.5 % is 1471 per variant; equal rates at
     * 1600 users, then a huge effect that must not re-judge. */
    CHECK_INT(put("fixed", "{\"variants\":[\"control\",\"buy-now\"],\"method\":\"fixed\","
                           "\"baseline\":0.05,\"mde\":0.5,\"min_days\":0,\"min_users\":100}"),
              201);
    CHECK_INT(feed("fixed", two, (const arm_spec[]){{1600, 80, 0, 0, 0}, {1600, 80, 0, 0, 0}},
                   2, "f1"), 202);
    settle();
    CHECK_INT(feed("fixed", two, (const arm_spec[]){{4000, 200, 0, 0, 0}, {4000, 800, 0, 0, 0}},
                   2, "f2"), 202);

    /* k = 3: a 5 % -> 8 % over 5000 users; b equal to control on 300. */
    CHECK_INT(put("three", "{\"variants\":[\"control\",\"a\",\"b\"],\"weights\":[5000,5000,300],"
                           "\"min_days\":0,\"min_users\":100}"), 201);
    CHECK_INT(feed("three", three, (const arm_spec[]){{5000, 250, 0, 0, 0}, {5000, 400, 0, 0, 0},
                                                      {300, 15, 0, 0, 0}}, 3, "t"), 202);

    /* Metric change: a conversion winner, then revenue with a restart. */
    CHECK_INT(put("change", "{\"variants\":[\"control\",\"buy-now\"],\"min_days\":0,"
                            "\"min_users\":100}"), 201);
    CHECK_INT(feed("change", two, (const arm_spec[]){{2000, 100, 0, 0, 0}, {2000, 300, 0, 0, 0}},
                   2, "c"), 202);
    settle();
    {
        json_t *d = get("change", "decision");
        CHECK(!strcmp(verdict_of(d, "decision"), "ship"));
        CHECK_INT(check_exit("change", NULL), 0);
        json_decref(d);
    }
    CHECK_INT(put("change", "{\"variants\":[\"control\",\"buy-now\"],\"min_days\":0,"
                            "\"min_users\":100,\"metric\":\"revenue\"}"), 409);
    CHECK_INT(put("change", "{\"variants\":[\"control\",\"buy-now\"],\"min_days\":0,"
                            "\"min_users\":100,\"metric\":\"revenue\",\"restart_monitoring\":true}"),
              200);

    /* Hostile clocks: min_days 7, exposures now; ts 0, year 9999 and epoch
     * seconds are refused and move nothing. */
    CHECK_INT(put("clock", "{\"variants\":[\"control\",\"buy-now\"],\"min_days\":7,"
                           "\"min_users\":1}"), 201);
    CHECK_INT(feed("clock", two, (const arm_spec[]){{500, 25, 0, 0, 0}, {500, 100, 0, 0, 0}}, 2,
                   "k"), 202);
    send_ts("0", 400);
    send_ts("\"9999-12-31T23:59:59Z\"", 400);
    send_ts("1764000000", 400);
    send_ts("\"1970-01-01T00:00:00Z\"", 400);

    settle();
    guardrail_loser(0);
    fixed_frozen(0);
    undecided(0);
    changed(0);
    clock_hostile(0);

    restart();
    guardrail_loser(1);
    fixed_frozen(1);
    undecided(1);
    changed(1);
    clock_hostile(1);

    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    return TEST_DONE("test_verdict");
}
