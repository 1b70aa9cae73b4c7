/* test_memory.c — memory as a limit (SPEC section 9, issue 10 item 5):
 * against a real abstatd with a small --max-memory, new events are refused
 * with 503 + Retry-After before the limit, /healthz says so, every 202 is
 * counted (also after a restart), the log does not flood, and a DELETE
 * makes room again. Also GET /v1/experiments pagination and the footprint
 * of idle experiments. Assertions use the daemon's own account (its
 * /metrics), so they hold under AddressSanitizer too; the RSS figure is
 * checked only in plain builds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "base/log.h"
#include "daemon.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static td_daemon D;

/* A gauge or counter from /metrics (-1 when absent). */
static int put_experiment(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    td_response r = td_req(&D, "PUT", path, "{\"variants\":[\"control\",\"treat\"]}");
    int st = r.status;
    td_free(&r);
    return st;
}

/* The experiment's user count (GET /v1/experiments/ID), -1 on failure. */
static double users_of(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    td_response r = td_req(&D, "GET", path, NULL);
    double u = r.status == 200 ? json_number_value(json_object_get(r.json, "users")) : -1;
    td_free(&r);
    return u;
}

/* Posts n exposures of new users from *next on (with ids); returns the
 * response (caller frees). */
static td_response post_users(const char *exp, long *next, size_t n)
{
    size_t cap = n * 120 + 16, len = 0;
    char *body = malloc(cap);
    for (size_t i = 0; i < n; i++, (*next)++)
        len += (size_t)snprintf(body + len, cap - len,
                                "{\"experiment\":\"%s\",\"variant\":\"%s\",\"user\":\"user-%ld\","
                                "\"type\":\"exposure\",\"id\":\"ev-%ld\"}\n",
                                exp, *next % 2 ? "treat" : "control", *next, *next);
    td_response r = td_request(&D, "POST", "/v1/events", body, len, NULL);
    free(body);
    return r;
}

static long log_lines(void)
{
    FILE *fp = fopen(D.log, "r");
    long n = 0;
    int c;
    if (!fp) return -1;
    while ((c = getc(fp)) != EOF) n += c == '\n';
    fclose(fp);
    return n;
}

static long log_lines_with(const char *s)
{
    FILE *fp = fopen(D.log, "r");
    char line[4096];
    long n = 0;
    if (!fp) return -1;
    while (fgets(line, sizeof line, fp)) n += strstr(line, s) != NULL;
    fclose(fp);
    return n;
}

/* ---- The limit ------------------------------------------------------------- */

static void test_limit(void)
{
    double idle, limit;
    long next = 0, acked = 0, refused = 0, lines_before;
    int saw_retry = 0, saw_text = 0;

    td_init(&D, "memory");
    if (td_start(&D)) {
        test_fail(__FILE__, __LINE__, "daemon did not start");
        return;
    }
    /* The default limit: positive, and not more than the machine has. */
    limit = td_metric(&D, "abstat_memory_limit_bytes");
    idle = td_metric(&D, "abstat_memory_bytes");
    CHECK(limit > 64e6);
    CHECK(idle > 0 && idle < limit);
    CHECK(td_metric(&D, "abstat_memory_full") == 0);
    td_stop(&D);

    /* 24 MiB above what it holds idle (SQLite takes up to 8 MiB of page
     * cache of it): a user table of 2^19 slots (8 MiB)
     * and an id set of 2^19 (4 MiB) fit, their next doubling does not. */
    snprintf(D.extra, sizeof D.extra, "--max-memory %.0f", idle + 24.0 * 1048576);
    if (td_start(&D)) {
        test_fail(__FILE__, __LINE__, "daemon did not start with --max-memory");
        return;
    }
    CHECK_INT(put_experiment("mem"), 201);
    CHECK_INT((long)td_metric(&D, "abstat_memory_limit_bytes"), (long)(idle + 24.0 * 1048576));
    lines_before = log_lines();
    /* Stream new users in batches of 2,000 until refused. */
    for (int i = 0; i < 400 && !refused; i++) {
        td_response r = post_users("mem", &next, 2000);
        if (r.status == 202) {
            acked += (long)json_integer_value(json_object_get(r.json, "accepted"));
        } else {
            refused = 1;
            CHECK_INT(r.status, 503);
            saw_retry = strstr(r.headers, "Retry-After:") != NULL ||
                        strstr(r.headers, "retry-after:") != NULL;
            saw_text = r.body && strstr(r.body, "memory") != NULL && r.json &&
                       json_is_string(json_object_get(r.json, "error"));
        }
        td_free(&r);
    }
    CHECK(refused);
    CHECK(saw_retry);
    CHECK(saw_text);
    CHECK(acked >= 100000); /* a few MiB hold about 150k users with ids */
    printf("ok memory: %ld users acknowledged before the first 503 at a limit of %.1f MiB\n",
           acked, (idle + 24.0 * 1048576) / 1048576);
    /* At the limit: /healthz is 503 and says why; reads keep working. */
    {
        td_response h = td_req(&D, "GET", "/healthz", NULL);
        CHECK_INT(h.status, 503);
        CHECK(h.body && strstr(h.body, "memory"));
        td_free(&h);
    }
    CHECK(td_metric(&D, "abstat_memory_bytes") <= td_metric(&D, "abstat_memory_limit_bytes"));
    CHECK(td_metric(&D, "abstat_memory_full") == 1);
    /* Every acknowledged event is counted, none of the refused ones. */
    CHECK_INT((long)users_of("mem"), acked);
    {
        td_response r = td_req(&D, "GET", "/v1/experiments/mem/results", NULL);
        CHECK_INT(r.status, 200);
        td_free(&r);
    }
    /* Hammering the limit: every request refused, nothing stored, and the
     * log takes a few lines, not one per request. */
    {
        /* (A few small ones may still fit the table's last free slots:
         * those are 202 and counted like any other.) */
        int other = 0, n503 = 0;
        for (int i = 0; i < 300; i++) {
            td_response r = post_users("mem", &next, 20);
            if (r.status == 202) acked += (long)json_integer_value(json_object_get(r.json, "accepted"));
            else if (r.status == 503) n503++;
            else other++;
            td_free(&r);
        }
        CHECK_INT(other, 0);
        CHECK(n503 >= 250);
    }
    CHECK_INT((long)users_of("mem"), acked);
    CHECK(td_metric(&D, "abstat_memory_refused_total") >= 251);
    CHECK_INT((long)td_metric(&D, "abstat_events_uncounted_total"), 0);
    /* A refusal a second later writes its line with the count of the
     * ones held back. */
    td_sleep_ms(1100);
    {
        td_response r = post_users("mem", &next, 2000);
        CHECK_INT(r.status, 503);
        td_free(&r);
    }
    {
        long grew = log_lines() - lines_before;
        CHECK(grew < 40);
        /* The rate limit said how many it held back. */
        CHECK(log_lines_with("similar messages suppressed") >= 1);
        printf("ok memory: %ld log lines for 301 refused requests\n", grew);
    }
    /* After a restart the store holds exactly what was acknowledged. */
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    CHECK_INT((long)users_of("mem"), acked);
    {
        td_response r = post_users("mem", &next, 2000);
        CHECK_INT(r.status, 503); /* still full after the replay */
        td_free(&r);
    }
    CHECK_INT((long)users_of("mem"), acked);
    /* DELETE frees its tables: ingest works again at once. */
    {
        td_response r = td_req(&D, "DELETE", "/v1/experiments/mem", NULL);
        CHECK_INT(r.status, 200);
        td_free(&r);
    }
    CHECK_INT(put_experiment("mem2"), 201);
    {
        long n2 = 0;
        td_response r = post_users("mem2", &n2, 2000);
        CHECK_INT(r.status, 202);
        td_free(&r);
        td_response h = td_req(&D, "GET", "/healthz", NULL);
        CHECK_INT(h.status, 200);
        td_free(&h);
        CHECK_INT((long)users_of("mem2"), 2000);
    }
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
}

/* ---- Pagination ----------------------------------------------------------- */

/* The ids of one page, comma-joined into buf; returns the status. */
static int page(const char *query, char *buf, size_t size, char *next, size_t nsize)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/experiments%s", query);
    td_response r = td_req(&D, "GET", path, NULL);
    int st = r.status;
    size_t len = 0;
    buf[0] = next[0] = '\0';
    if (st == 200) {
        json_t *list = json_object_get(r.json, "experiments"), *nx = json_object_get(r.json, "next");
        for (size_t i = 0; i < json_array_size(list); i++)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "",
                                    json_string_value(json_object_get(json_array_get(list, i), "id")));
        snprintf(next, nsize, "%s", json_is_null(nx) ? "null" : json_is_string(nx) ? json_string_value(nx) : "?");
    } else if (!r.json || !json_is_string(json_object_get(r.json, "error"))) {
        st = -st; /* an error without its JSON body */
    }
    td_free(&r);
    return st;
}

static void test_pagination(void)
{
    char ids[4096], next[80], want[4096];
    size_t len = 0;
    td_init(&D, "page");
    if (td_start(&D)) {
        test_fail(__FILE__, __LINE__, "daemon did not start");
        return;
    }
    /* Created out of order: the list is sorted by id. */
    for (int i = 24; i >= 0; i--) {
        char id[16];
        snprintf(id, sizeof id, "p%02d", i);
        CHECK_INT(put_experiment(id), 201);
    }
    for (int i = 0; i < 25; i++) len += (size_t)snprintf(want + len, sizeof want - len, "%sp%02d", i ? "," : "", i);
    CHECK_INT(page("", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(ids, want));
    CHECK(!strcmp(next, "null"));
    CHECK_INT(page("?limit=10", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(ids, "p00,p01,p02,p03,p04,p05,p06,p07,p08,p09"));
    CHECK(!strcmp(next, "p09"));
    CHECK_INT(page("?limit=10&after=p09", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(ids, "p10,p11,p12,p13,p14,p15,p16,p17,p18,p19"));
    CHECK(!strcmp(next, "p19"));
    CHECK_INT(page("?after=p19&limit=10", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(ids, "p20,p21,p22,p23,p24"));
    CHECK(!strcmp(next, "null"));
    /* Exactly the rest: no next. */
    CHECK_INT(page("?limit=5&after=p19", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(ids, "p20,p21,p22,p23,p24"));
    CHECK(!strcmp(next, "null"));
    CHECK_INT(page("?limit=4&after=p19", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(next, "p23"));
    /* after need not exist: it is a position. */
    CHECK_INT(page("?limit=2&after=p115", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(ids, "p12,p13"));
    CHECK_INT(page("?after=p24", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(ids, "") && !strcmp(next, "null"));
    CHECK_INT(page("?after=a", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(ids, want));
    CHECK_INT(page("?limit=1", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(ids, "p00") && !strcmp(next, "p00"));
    CHECK_INT(page("?limit=1000", ids, sizeof ids, next, sizeof next), 200);
    CHECK(!strcmp(ids, want));
    /* Bad values: 400 with a JSON error. */
    static const char *const bad[] = {"?limit=0", "?limit=1001", "?limit=-1", "?limit=abc",
                                      "?limit=10x", "?limit=", "?limit=+5", "?limit= 5",
                                      "?limit=99999999999999999999", "?after=", "?after=P01",
                                      "?after=a%20b", "?after=-x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(test_context, sizeof test_context, "GET /v1/experiments%s", bad[i]);
        CHECK_INT(page(bad[i], ids, sizeof ids, next, sizeof next), 400);
    }
    test_context[0] = '\0';
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
}

/* ---- Idle experiments ------------------------------------------------------- */

static double rss_of(pid_t pid)
{
    char path[64];
    unsigned long long size, res;
    FILE *fp;
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    if (!(fp = fopen(path, "r"))) return -1;
    int ok = fscanf(fp, "%llu %llu", &size, &res) == 2;
    fclose(fp);
    return ok ? (double)res * 4096.0 : -1;
}

#define IDLE_EXPERIMENTS 4000

static void test_idle(void)
{
    double rss0, rss1, acct0, acct1, t0, worst = 0;
    int bad = 0;
    td_init(&D, "idle");
    if (td_start(&D)) {
        test_fail(__FILE__, __LINE__, "daemon did not start");
        return;
    }
    /* Warm up allocator and store with a few first. */
    for (int i = 0; i < 50; i++) {
        char id[16];
        snprintf(id, sizeof id, "w%03d", i);
        bad += put_experiment(id) != 201;
    }
    td_sleep_ms(1200);
    rss0 = rss_of(D.pid);
    acct0 = td_metric(&D, "abstat_memory_bytes");
    t0 = td_now_s();
    for (int i = 0; i < IDLE_EXPERIMENTS; i++) {
        char id[16];
        snprintf(id, sizeof id, "idle%04d", i);
        bad += put_experiment(id) != 201;
    }
    printf("ok memory: %d experiments created in %.2f s\n", IDLE_EXPERIMENTS, td_now_s() - t0);
    CHECK_INT(bad, 0);
    /* Read a few results (each takes an evaluation cache for a while). */
    for (int i = 0; i < 20; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/experiments/idle%04d/results", i);
        td_response r = td_req(&D, "GET", path, NULL);
        bad += r.status != 200;
        td_free(&r);
    }
    CHECK_INT(bad, 0);
    /* The monitor has evaluated every new experiment once by now. */
    td_sleep_ms(1500);
    /* A list page is cheap however many experiments there are. */
    for (int i = 0; i < 5; i++) {
        double t = td_now_s();
        td_response r = td_req(&D, "GET", "/v1/experiments?limit=100&after=idle1000", NULL);
        t = td_now_s() - t;
        CHECK_INT(r.status, 200);
        CHECK_INT(json_array_size(json_object_get(r.json, "experiments")), 100);
        td_free(&r);
        if (t > worst) worst = t;
    }
    printf("ok memory: GET /v1/experiments?limit=100 of %d: worst %.1f ms\n",
           IDLE_EXPERIMENTS + 50, worst * 1e3);
    CHECK(worst < (UNDER_ASAN ? 0.5 : 0.1));
    rss1 = rss_of(D.pid);
    acct1 = td_metric(&D, "abstat_memory_bytes");
    double per_rss = (rss1 - rss0) / IDLE_EXPERIMENTS, per_acct = (acct1 - acct0) / IDLE_EXPERIMENTS;
    printf("ok memory: idle experiment: %.0f bytes of RSS, %.0f bytes by the daemon's account\n",
           per_rss, per_acct);
    /* The daemon's account (what the limit sees), and RSS in plain builds. */
    CHECK(per_acct > 0 && per_acct <= 8192);
    if (!UNDER_ASAN) CHECK(per_rss <= 8192);
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
}

/* ---- Rate-limited log lines ----------------------------------------------- */

static void emit(int i)
{
    ab_log_ratelimited(AB_LOG_WARN, "refused request %d", i); /* one call site */
}

static void test_ratelimit(void)
{
    char path[] = "/tmp/abstat-ratelimit-XXXXXX", line[512];
    int fd = mkstemp(path), saved = dup(2), lines = 0, with_count = 0;
    FILE *fp;
    if (fd < 0 || saved < 0) {
        test_fail(__FILE__, __LINE__, "cannot redirect stderr");
        return;
    }
    fflush(stderr);
    dup2(fd, 2);
    /* Start at the beginning of a second so that all 100 fall in one. */
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        td_sleep_ms((int)(1000 - ts.tv_nsec / 1000000) + 5);
    }
    for (int i = 0; i < 100; i++) emit(i);
    td_sleep_ms(1050);
    emit(100);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    if (!(fp = fopen(path, "r"))) return;
    while (fgets(line, sizeof line, fp)) {
        lines++;
        if (strstr(line, "refused request 100 (95 similar messages suppressed)")) with_count++;
    }
    fclose(fp);
    unlink(path);
    CHECK_INT(lines, AB_LOG_BURST + 1);
    CHECK_INT(with_count, 1);
    CHECK(ab_log_suppressed_total() == 95);
}

int main(void)
{
    test_ratelimit();
    test_pagination();
    test_limit();
    test_idle();
    return TEST_DONE("test_memory");
}
