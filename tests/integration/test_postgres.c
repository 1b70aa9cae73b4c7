/* test_postgres.c — abstatd --store postgresql:// against a private PostgreSQL server: results
 * identical after a restart, a second daemon as a second node, PostgreSQL stopped under a running daemon
 * (503 + Retry-After, then 202 again by itself, nothing acknowledged lost) and kill -9 mid-stream
 * (README "Storage and durability", PostgreSQL). Skipped when no server is installed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "pg.h"
#include "test.h"

/* In the URI to see that it is never printed; the test server trusts
 * every local connection, so it is not checked. */
#define PASSWORD "pg-SECRET-pw-4711"
#define BATCH 100

static test_pg pg;
static td_daemon D;
static char url[700];

static void destroy_at_exit(void)
{
    td_kill(&D);
    test_pg_destroy(&pg);
}

/* n new users of experiment id from number `from`: exposures (a, b),
 * and with mixed set, conversions with revenue and NPS answers too. */
static size_t events(char *buf, size_t cap, const char *id, const char *tag, int from, int n,
                     int mixed)
{
    size_t len = 0;
    for (int i = from; i < from + n && len < cap; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "{\"experiment\":\"%s\",\"variant\":\"%s\","
                                "\"user\":\"%s%d\",\"type\":\"exposure\"}\n", id,
                                i % 2 ? "a" : "b", tag, i);
        if (mixed && i % 3 == 0 && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "{\"experiment\":\"%s\",\"user\":"
                                    "\"%s%d\",\"type\":\"conversion\",\"value\":%d.25}\n", id,
                                    tag, i, i % 7 + 1);
        if (mixed && i % 5 == 0 && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "{\"experiment\":\"%s\",\"user\":"
                                    "\"%s%d\",\"type\":\"nps\",\"score\":%d}\n", id, tag, i,
                                    i % 11);
    }
    return len < cap ? len : cap;
}

/* POSTs n new users; the status. */
static int post_users(const char *id, const char *tag, int from, int n, int mixed,
                      td_response *out)
{
    static char body[BATCH * 400];
    size_t len = events(body, sizeof body, id, tag, from, n, mixed);
    td_response r = td_request(&D, "POST", "/v1/events", body, len, NULL);
    int status = r.status;
    if (out) *out = r;
    else td_free(&r);
    return status;
}

static td_response results(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s/results", id);
    return td_req(&D, "GET", path, NULL);
}

/* Users over all variants, and the events the results count (-1 when
 * the experiment cannot be read). */
static double users_of(const char *id, double *nevents)
{
    td_response r = results(id);
    json_t *vars = json_object_get(r.json, "variants");
    double users = r.status == 200 ? 0 : -1;
    for (size_t i = 0; i < json_array_size(vars); i++)
        users += json_number_value(json_object_get(json_array_get(vars, i), "users"));
    if (nevents)
        *nevents = json_number_value(json_object_get(json_object_get(r.json, "data_quality"),
                                                     "events"));
    td_free(&r);
    return users;
}

static void put_experiment(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    td_response r = td_req(&D, "PUT", path, "{\"variants\":[\"a\",\"b\"],\"min_days\":0,"
                           "\"min_users\":0}");
    CHECK_INT(r.status, 201);
    td_free(&r);
}

/* Exposures, conversions with revenue and NPS answers; the results after
 * a stop and a start are the same, byte for byte; the log shows the URI
 * without its password. */
static void test_restart(void)
{
    td_response before, after;
    char *log;
    put_experiment("pg");
    for (int b = 0; b < 3; b++) CHECK_INT(post_users("pg", "u", b * BATCH, BATCH, 1, NULL), 202);
    before = results("pg");
    CHECK_INT(before.status, 200);
    CHECK_INT(users_of("pg", NULL), 3 * BATCH);
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    after = results("pg");
    CHECK(before.body && after.body && !strcmp(before.body, after.body));
    td_free(&before);
    td_free(&after);
    log = td_read_file(D.log);
    CHECK(log && strstr(log, "data in PostgreSQL postgresql://abstat:***@/abstat?"));
    CHECK(log && !strstr(log, PASSWORD));
    free(log);
}

/* A second daemon on the same database is a second node (README
 * "Architecture", several nodes): it answers what the first counted, and
 * the first counts what it accepts, within a second. test_nodes goes
 * further. */
static void test_second_daemon(void)
{
    td_daemon d2;
    td_response r;
    double before = users_of("pg", NULL), t0;
    td_init(&d2, "postgres2");
    d2.store = url;
    CHECK_INT(td_start(&d2), 0);
    r = td_req(&d2, "GET", "/v1/experiments/pg/results", NULL);
    CHECK_INT(r.status, 200);
    td_free(&r);
    r = td_request(&d2, "POST", "/v1/events", "{\"experiment\":\"pg\",\"variant\":\"a\","
                   "\"user\":\"second-node\",\"type\":\"exposure\"}", 72, NULL);
    CHECK_INT(r.status, 202);
    td_free(&r);
    t0 = td_now_s();
    while (users_of("pg", NULL) < before + 1 && td_now_s() - t0 < 2) td_sleep_ms(10);
    CHECK_INT(users_of("pg", NULL), before + 1);
    CHECK(td_now_s() - t0 < 1.0);
    CHECK_INT(td_stop(&d2), 0);
    td_cleanup(&d2);
}

/* PostgreSQL stops under a running daemon: ingest 503 with Retry-After,
 * /healthz 503, results still answered; started again, ingest is back
 * within seconds without a restart of the daemon, and every acknowledged
 * user is counted (and none refused). */
static void test_server_down(void)
{
    td_response r;
    double acked, users, t0;
    int next = 0, status = 0;
    put_experiment("down");
    CHECK_INT(post_users("down", "d", next, BATCH, 0, NULL), 202);
    next += BATCH;
    acked = BATCH;
    CHECK_INT(test_pg_stop(&pg), 0);
    CHECK_INT(post_users("down", "d", next, BATCH, 0, &r), 503);
    next += BATCH;
    CHECK(strstr(r.headers, "\r\nRetry-After: ") != NULL);
    CHECK(r.body && strstr(r.body, "nothing was stored"));
    td_free(&r);
    r = td_req(&D, "GET", "/healthz", NULL);
    CHECK_INT(r.status, 503);
    td_free(&r);
    CHECK_INT(users_of("down", NULL), acked); /* from memory */
    CHECK_INT(test_pg_restart(&pg), 0);
    t0 = td_now_s();
    while (td_now_s() - t0 < 10) {
        status = post_users("down", "d", next, BATCH, 0, NULL);
        next += BATCH;
        if (status == 202) break;
        td_sleep_ms(100);
    }
    CHECK_INT(status, 202);
    acked += BATCH;
    printf("test_postgres: ingest answered 202 again %.1f s after PostgreSQL was back\n",
           td_now_s() - t0);
    r = td_req(&D, "GET", "/healthz", NULL);
    CHECK_INT(r.status, 200);
    td_free(&r);
    users = users_of("down", NULL);
    CHECK_INT(users, acked);
    /* And so after a restart: the refused were not stored either. */
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    CHECK_INT(users_of("down", NULL), acked);
}

/* The streamer (a child process): batches of new users until a request
 * fails; then "acked" to fd. */
static void stream(int round, int fd)
{
    long acked = 0;
    char tag[32];
    snprintf(tag, sizeof tag, "r%d-", round);
    for (int b = 0;; b++) {
        if (post_users("crash", tag, b * BATCH, BATCH, 0, NULL) != 202) break;
        acked += BATCH;
    }
    dprintf(fd, "%ld\n", acked);
    close(fd);
    _exit(0);
}

/* kill -9 somewhere in a stream of acknowledged batches: after the
 * restart every acknowledged event is there once (each event is a new
 * user's exposure, so a duplicate would show as events != users); at
 * most the batch in flight at the kill was committed unanswered. */
static void test_kill(void)
{
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    put_experiment("crash");
    for (int round = 0; round < 3; round++) {
        int fds[2], status;
        long acked = -1;
        char buf[64] = "";
        double before_ev = 0, after_ev = 0, before = users_of("crash", &before_ev), after;
        long ms = 100 + rand() % 300;
        struct timespec ts = {0, ms * 1000000L};
        pid_t child;
        if (pipe(fds) != 0) break;
        if ((child = fork()) == 0) {
            close(fds[0]);
            stream(round, fds[1]);
        }
        close(fds[1]);
        nanosleep(&ts, NULL);
        td_kill(&D);
        if (read(fds[0], buf, sizeof buf - 1) <= 0 || sscanf(buf, "%ld", &acked) != 1)
            test_fail(__FILE__, __LINE__, "the streamer reported nothing");
        close(fds[0]);
        waitpid(child, &status, 0);
        CHECK(acked > 0);
        /* The killed daemon's server process lets go of the lock by
         * itself: the restart must not be refused as a second node. */
        CHECK_INT(td_start(&D), 0);
        after = users_of("crash", &after_ev);
        snprintf(test_context, sizeof test_context, "round %d (seed %u): acked %ld", round, seed,
                 acked);
        CHECK(after - before >= (double)acked);
        CHECK(after - before <= (double)(acked + BATCH));
        CHECK_INT(after_ev - before_ev, after - before);
        test_context[0] = '\0';
    }
}

int main(void)
{
    int up;
    ab_stats_init();
    up = test_pg_start(&pg);
    if (up == 0) {
        printf("skip: test_postgres (no PostgreSQL server installed: initdb and pg_ctl are "
               "neither on PATH nor in /usr/lib/postgresql/*/bin; scripts/configure.sh "
               "installs them)\n");
        return TEST_DONE("test_postgres");
    }
    atexit(destroy_at_exit);
    if (up < 0) {
        test_fail(__FILE__, __LINE__, "cannot start a PostgreSQL server");
        return TEST_DONE("test_postgres");
    }
    /* pg.conninfo is postgresql:///abstat?host=...: the same with a user
     * and a password in the URI. */
    snprintf(url, sizeof url, "postgresql://abstat:%s@/%s", PASSWORD,
             pg.conninfo + strlen("postgresql:///"));
    td_init(&D, "postgres");
    D.store = url;
    if (td_start(&D) != 0) {
        char *log = td_read_file(D.log);
        test_fail(__FILE__, __LINE__, "abstatd --store did not start: %.500s", log ? log : "");
        free(log);
        return TEST_DONE("test_postgres");
    }
    test_restart();
    test_second_daemon();
    test_server_down();
    test_kill();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    return TEST_DONE("test_postgres");
}
