/* test_event_time.c — event times against a real abstatd: the ts window
 * (2000-01-01 to 5 minutes after arrival), the 72-hour limit of ingest-only
 * tokens that an admin token lifts, refused events changing nothing, and the
 * experiment's clock running from exposures only, across a restart. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

#define ADMIN "admin-time-0123456789abcdef"
#define READ "read-time-0123456789abcdef"
#define INGEST "ingest-time-0123456789abcdef"
#define HOUR 3600000LL

static td_daemon D;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A request with a bearer token (NULL: none). */
static td_response as(const char *token, const char *method, const char *path, const char *body)
{
    char hdr[256] = "";
    if (token) snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
    return td_request(&D, method, path, body, body ? strlen(body) : 0, hdr);
}

/* Status, and for a 400 that the error and errors[0] (at index) name needle. */
static void expect(td_response r, int status, long index, const char *needle, const char *what)
{
    snprintf(test_context, sizeof test_context, "%s", what);
    CHECK_INT(r.status, status);
    if (r.status != status && r.body) fprintf(stderr, "  body: %.300s\n", r.body);
    if (needle) {
        const char *msg = json_string_value(json_object_get(r.json, "error"));
        json_t *e0 = json_array_get(json_object_get(r.json, "errors"), 0);
        const char *text = json_string_value(json_object_get(e0, "error"));
        if (!msg || !strstr(msg, needle) || !text || !strstr(text, needle))
            test_fail(__FILE__, __LINE__, "error \"%s\" / \"%s\" lacks \"%s\"",
                      msg ? msg : "(none)", text ? text : "(none)", needle);
        else
            test_passed++;
        CHECK_INT(json_integer_value(json_object_get(e0, "index")), index);
    }
    test_context[0] = '\0';
    td_free(&r);
}

/* What a refused request must leave alone, and the clock. */
typedef struct {
    double events, unattributed, users;
    char started_at[64]; /* "" when null */
    double days_running;
} snapshot;

static snapshot results(void)
{
    snapshot s;
    td_response r = as(READ, "GET", "/v1/experiments/clock/results", NULL);
    json_t *dq = json_object_get(r.json, "data_quality"), *v;
    size_t i;
    memset(&s, 0, sizeof s);
    CHECK_INT(r.status, 200);
    s.events = json_number_value(json_object_get(dq, "events"));
    s.unattributed = json_number_value(json_object_get(dq, "unattributed"));
    json_array_foreach(json_object_get(r.json, "variants"), i, v)
        s.users += json_number_value(json_object_get(v, "users"));
    v = json_object_get(r.json, "started_at");
    CHECK(json_is_string(v) || json_is_null(v));
    if (json_is_string(v)) snprintf(s.started_at, sizeof s.started_at, "%s", json_string_value(v));
    s.days_running = json_number_value(json_object_get(r.json, "days_running"));
    CHECK(json_is_number(json_object_get(r.json, "days_running")));
    td_free(&r);
    return s;
}

static void check_same(const snapshot *a, const snapshot *b, const char *what)
{
    snprintf(test_context, sizeof test_context, "unchanged after %s", what);
    CHECK(a->events == b->events);
    CHECK(a->unattributed == b->unattributed);
    CHECK(a->users == b->users);
    CHECK(!strcmp(a->started_at, b->started_at));
    CHECK(a->days_running == b->days_running);
    test_context[0] = '\0';
}

static const char *event(char *buf, size_t cap, const char *user, const char *type,
                         const char *ts)
{
    snprintf(buf, cap, "{\"experiment\":\"clock\",\"user\":\"%s\",\"type\":\"%s\"%s,\"ts\":%s}",
             user, type, strcmp(type, "exposure") ? "" : ",\"variant\":\"a\"", ts);
    return buf;
}

static const char *ms(char *buf, size_t cap, long long t)
{
    snprintf(buf, cap, "%lld", t);
    return buf;
}

/* Unattributed conversions days apart start no clock. */
static void test_unexposed_no_clock(long long t0)
{
    char ev[300], ts[32];
    snapshot s = results();
    CHECK_INT(s.events, 0);
    CHECK(!s.started_at[0]);
    CHECK(s.days_running == 0);

    expect(as(INGEST, "POST", "/v1/events",
              event(ev, sizeof ev, "ghost", "conversion", ms(ts, sizeof ts, t0 - 60 * HOUR))),
           202, 0, NULL, "unattributed conversion 60 h old");
    expect(as(INGEST, "POST", "/v1/events",
              event(ev, sizeof ev, "ghost", "conversion", ms(ts, sizeof ts, t0 - 1 * HOUR))),
           202, 0, NULL, "unattributed conversion 1 h old");
    s = results();
    CHECK_INT(s.events, 2);
    CHECK_INT(s.unattributed, 2);
    snprintf(test_context, sizeof test_context, "clock of unexposed events: %s %g", s.started_at,
             s.days_running);
    CHECK(!s.started_at[0]);
    CHECK(s.days_running == 0);
    test_context[0] = '\0';
}

/* The window, with refused requests changing nothing. */
static void test_window(long long t0)
{
    char ev[300], ev2[300], body[700], ts[32];
    snapshot before = results(), after;

    /* 73 hours old from an ingest-only token: refused, naming the admin token. */
    expect(as(INGEST, "POST", "/v1/events",
              event(ev, sizeof ev, "late", "exposure", ms(ts, sizeof ts, t0 - 73 * HOUR))),
           400, 0, "backfilling history needs an admin token", "ingest 73 h");
    /* The same by ?token= (sendBeacon), and inside a batch: at its index, all or nothing. */
    expect(td_req(&D, "POST", "/v1/events?token=" INGEST, ev), 400, 0, "needs an admin token",
           "ingest 73 h by ?token=");
    snprintf(body, sizeof body, "[%s,%s]",
             event(ev2, sizeof ev2, "fresh", "exposure", ms(ts, sizeof ts, t0 - HOUR)), ev);
    expect(as(INGEST, "POST", "/v1/events", body), 400, 1, "needs an admin token",
           "batch with a 73 h event");
    /* Far outside the window for every token, the open floor included. */
    expect(as(ADMIN, "POST", "/v1/events", event(ev, sizeof ev, "zero", "exposure", "0")), 400, 0,
           "epoch seconds", "admin ts 0");
    expect(as(INGEST, "POST", "/v1/events", event(ev, sizeof ev, "zero", "conversion", "0")), 400,
           0, "epoch seconds", "ingest ts 0");
    expect(as(ADMIN, "POST", "/v1/events",
              event(ev, sizeof ev, "future", "exposure", "\"9999-12-31T23:59:59Z\"")),
           400, 0, "more than 5 minutes after arrival", "admin ts 9999");
    expect(as(INGEST, "POST", "/v1/events",
              event(ev, sizeof ev, "future", "conversion", "\"9999-12-31T23:59:59Z\"")),
           400, 0, "after arrival", "ingest ts 9999");
    expect(as(ADMIN, "POST", "/v1/events",
              event(ev, sizeof ev, "secs", "exposure", ms(ts, sizeof ts, t0 / 1000))),
           400, 0, "(x 1000)", "epoch seconds");
    expect(as(ADMIN, "POST", "/v1/events",
              event(ev, sizeof ev, "y1999", "exposure", "\"1999-12-31T23:59:59.999Z\"")),
           400, 0, "before 2000-01-01", "1999");
    after = results();
    check_same(&before, &after, "refused events");
    CHECK(!after.started_at[0]);
}

/* An admin backfills; the clock spans exposures only, and survives a restart. */
static void test_backfill_and_clock(long long t0)
{
    char ev[300], ts[32], want[64];
    snapshot s;

    expect(as(ADMIN, "POST", "/v1/events",
              event(ev, sizeof ev, "late", "exposure", ms(ts, sizeof ts, t0 - 73 * HOUR))),
           202, 0, NULL, "admin backfills 73 h");
    s = results();
    CHECK_INT(s.users, 1);
    CHECK(s.started_at[0] != '\0');
    CHECK(s.days_running == 0); /* one exposure: a span of nothing */

    /* Within 72 hours an ingest-only token is fine. */
    expect(as(INGEST, "POST", "/v1/events",
              event(ev, sizeof ev, "fresh", "exposure", ms(ts, sizeof ts, t0 - HOUR))),
           202, 0, NULL, "ingest 1 h");
    expect(as(INGEST, "POST", "/v1/events",
              event(ev, sizeof ev, "fresh2", "exposure", ms(ts, sizeof ts, t0 - 71 * HOUR))),
           202, 0, NULL, "ingest 71 h");
    /* Conversions of exposed users, later than any exposure, do not stretch it. */
    expect(as(INGEST, "POST", "/v1/events",
              event(ev, sizeof ev, "fresh", "conversion", ms(ts, sizeof ts, t0 + 4 * 60000))),
           202, 0, NULL, "conversion 4 min ahead");
    expect(as(INGEST, "POST", "/v1/events", "{\"experiment\":\"clock\",\"user\":\"late\","
              "\"type\":\"conversion\"}"), 202, 0, NULL, "conversion at arrival");
    s = results();
    CHECK_INT(s.users, 3);
    CHECK_INT(s.events, 7);
    CHECK_INT(s.unattributed, 2);
    /* 73 h before t0 to 1 h before t0: exactly 3 days. */
    snprintf(test_context, sizeof test_context, "days_running %.17g", s.days_running);
    CHECK(s.days_running == 3.0);
    test_context[0] = '\0';

    /* Replay does not apply the window: the backfill stays, and the clock. */
    strcpy(want, s.started_at);
    CHECK_INT(td_stop(&D), 0);
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not restart (see %s)", D.log);
        return;
    }
    {
        snapshot r = results();
        check_same(&s, &r, "a restart");
        CHECK(!strcmp(r.started_at, want));
    }
}

/* Without a tokens file there is no 72-hour limit, but the window stays. */
static void test_open_daemon(long long t0)
{
    char ev[300], ts[32];
    td_daemon saved = D;
    td_init(&D, "event-time-open");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "open abstatd did not start (see %s)", D.log);
        D = saved;
        return;
    }
    expect(td_req(&D, "PUT", "/v1/experiments/clock", "{\"variants\":[\"a\",\"b\"]}"), 201, 0,
           NULL, "open PUT");
    expect(td_req(&D, "POST", "/v1/events",
                  event(ev, sizeof ev, "old", "exposure", ms(ts, sizeof ts, t0 - 30 * 24 * HOUR))),
           202, 0, NULL, "open daemon: 30 days old");
    expect(td_req(&D, "POST", "/v1/events", event(ev, sizeof ev, "zero", "exposure", "0")), 400,
           0, "epoch seconds", "open daemon: ts 0");
    expect(td_req(&D, "POST", "/v1/events",
                  event(ev, sizeof ev, "f", "exposure", "\"9999-12-31T23:59:59Z\"")),
           400, 0, "after arrival", "open daemon: 9999");
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    D = saved;
}

int main(void)
{
    char tokens[300], cmd[700];
    FILE *fp;
    long long t0 = now_ms();

    ab_stats_init();
    td_init(&D, "event-time");
    snprintf(tokens, sizeof tokens, "%s.tokens", D.dir);
    if (!(fp = fopen(tokens, "w"))) {
        test_fail(__FILE__, __LINE__, "cannot write %s", tokens);
        return TEST_DONE("test_event_time");
    }
    fprintf(fp, "admin %s\nread %s\ningest %s\n", ADMIN, READ, INGEST);
    if (fclose(fp) != 0) {
        test_fail(__FILE__, __LINE__, "cannot write %s", tokens);
        return TEST_DONE("test_event_time");
    }
    snprintf(D.extra, sizeof D.extra, "--tokens %s", tokens);
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_event_time");
    }
    expect(as(ADMIN, "PUT", "/v1/experiments/clock", "{\"variants\":[\"a\",\"b\"]}"), 201, 0,
           NULL, "PUT");
    test_unexposed_no_clock(t0);
    test_window(t0);
    test_backfill_and_clock(t0);
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    test_open_daemon(t0);
    snprintf(cmd, sizeof cmd, "rm -f '%s'", tokens);
    if (system(cmd) != 0) {}
    return TEST_DONE("test_event_time");
}
