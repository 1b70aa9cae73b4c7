/* test_security.c — tokens and scopes, CORS, body/header/idle limits, 415,
 * the loopback rule, secrets kept out of logs, and storage failure: 503,
 * nothing acknowledged or counted, recovery by itself. Real abstatd. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

#define ADMIN "admin-0123456789abcdef"
#define READ "read-0123456789abcdef"
#define INGEST "ingest-0123456789abcdef"

static td_daemon D;

static td_response as(const char *token, const char *method, const char *path, const char *body)
{
    char hdr[256] = "";
    if (token) snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
    return td_request(&D, method, path, body, body ? strlen(body) : 0, hdr);
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

static const char *event = "{\"experiment\":\"sec\",\"variant\":\"a\",\"user\":\"u1\",\"type\":\"exposure\"}";

static void test_tokens(void)
{
    td_response r;
    expect(as(NULL, "GET", "/v1/experiments", NULL), 401, "authentication required", "no token");
    r = as(NULL, "GET", "/v1/experiments", NULL);
    CHECK(strstr(r.headers, "WWW-Authenticate: Bearer") != NULL);
    td_free(&r);
    expect(as("wrong-token-0123456789", "GET", "/v1/experiments", NULL), 401, "invalid token", "bad token");
    expect(as(READ, "PUT", "/v1/experiments/sec", "{\"variants\":[\"a\",\"b\"]}"), 403, "admin", "read PUT");
    expect(as(INGEST, "PUT", "/v1/experiments/sec", "{\"variants\":[\"a\",\"b\"]}"), 403, NULL, "ingest PUT");
    expect(as(ADMIN, "PUT", "/v1/experiments/sec", "{\"variants\":[\"a\",\"b\"]}"), 201, NULL, "admin PUT");
    expect(as(READ, "POST", "/v1/events", event), 403, "ingest", "read ingest");
    expect(as(INGEST, "POST", "/v1/events", event), 202, NULL, "ingest");
    expect(as(ADMIN, "POST", "/v1/events", event), 202, NULL, "admin ingests too");
    expect(as(INGEST, "GET", "/v1/experiments/sec/results", NULL), 403, "read", "ingest reads");
    expect(as(READ, "GET", "/v1/experiments/sec/results", NULL), 200, NULL, "read reads");
    expect(as(READ, "POST", "/v1/experiments/sec/stop", NULL), 403, NULL, "read stops");
    expect(as(READ, "DELETE", "/v1/experiments/sec", NULL), 403, NULL, "read deletes");
    expect(as(NULL, "GET", "/healthz", NULL), 200, NULL, "healthz is open");
    expect(as(NULL, "GET", "/metrics", NULL), 401, NULL, "metrics need read");
    /* sendBeacon: ?token= on ingest only. */
    expect(as(NULL, "POST", "/v1/events?token=" INGEST, event), 202, NULL, "query token ingest");
    expect(as(NULL, "POST", "/v1/events?token=nope-0123456789abcdef", event), 401, NULL, "bad query token");
    expect(as(NULL, "GET", "/v1/experiments/sec/results?token=" READ, NULL), 401, NULL,
           "query token only for ingest");
    /* Scheme case and spacing. */
    r = td_request(&D, "GET", "/v1/experiments", NULL, 0, "Authorization: bearer   " READ "\r\n");
    expect(r, 200, NULL, "lower-case scheme");
    r = td_request(&D, "GET", "/v1/experiments", NULL, 0, "Authorization: Basic " READ "\r\n");
    expect(r, 401, NULL, "basic auth is not bearer");
}

static void test_cors(void)
{
    td_response r = td_request(&D, "OPTIONS", "/v1/events", NULL, 0,
                               "Origin: https://shop.example\r\n"
                               "Access-Control-Request-Method: POST\r\n"
                               "Access-Control-Request-Headers: content-type\r\n");
    CHECK_INT(r.status, 204);
    CHECK(strstr(r.headers, "Access-Control-Allow-Origin: https://shop.example") != NULL);
    CHECK(strstr(r.headers, "Access-Control-Allow-Methods: POST") != NULL);
    CHECK(strstr(r.headers, "Access-Control-Allow-Headers: Content-Type, Authorization") != NULL);
    td_free(&r);
    r = td_request(&D, "OPTIONS", "/v1/events", NULL, 0, "Origin: https://evil.example\r\n");
    CHECK_INT(r.status, 204);
    CHECK(strstr(r.headers, "Access-Control-Allow-Origin") == NULL);
    td_free(&r);
    r = td_request(&D, "POST", "/v1/events?token=" INGEST, event, strlen(event),
                   "Origin: https://shop.example\r\nContent-Type: text/plain\r\n");
    CHECK_INT(r.status, 202);
    CHECK(strstr(r.headers, "Access-Control-Allow-Origin: https://shop.example") != NULL);
    td_free(&r);
    /* CORS is for the ingest endpoint only; elsewhere authentication comes
     * first (anonymous callers learn nothing about routes), then 405. */
    r = td_request(&D, "OPTIONS", "/v1/experiments", NULL, 0, "Origin: https://shop.example\r\n");
    CHECK_INT(r.status, 401);
    td_free(&r);
    r = td_request(&D, "OPTIONS", "/v1/experiments", NULL, 0,
                   "Origin: https://shop.example\r\nAuthorization: Bearer " READ "\r\n");
    CHECK_INT(r.status, 405);
    td_free(&r);
}

static void test_limits(void)
{
    char big[6000];
    td_response r = td_request(&D, "POST", "/v1/events", event, strlen(event),
                               "Authorization: Bearer " INGEST "\r\nContent-Encoding: gzip\r\n");
    expect(r, 415, "Content-Encoding", "gzip");
    /* Headers over --max-header-bytes (4096). */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    {
        char hdr[6100];
        snprintf(hdr, sizeof hdr, "X-Junk: %s\r\n", big);
        r = td_request(&D, "GET", "/healthz", NULL, 0, hdr);
        snprintf(test_context, sizeof test_context, "oversized headers");
        CHECK(r.status == 0 || r.status == 400 || r.status == 413 || r.status == 431);
        test_context[0] = '\0';
        td_free(&r);
    }
    /* A body over --max-body is refused from Content-Length, unread. */
    {
        static const char big_post[] = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                        "10000000\r\nAuthorization: Bearer " INGEST "\r\n\r\n{";
        r = td_raw(&D, big_post, sizeof big_post - 1);
    }
    CHECK_INT(r.status, 413);
    td_free(&r);
    /* A silent connection is closed after --idle-timeout (2 s). */
    {
        struct sockaddr_in sa;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        char c;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)D.port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
        if (send(fd, "GET /hea", 8, MSG_NOSIGNAL) < 0) {}
        struct pollfd p = {fd, POLLIN, 0};
        int ready = poll(&p, 1, 6000);
        CHECK(ready == 1 && recv(fd, &c, 1, 0) <= 0); /* closed, not answered */
        close(fd);
    }
    expect(as(NULL, "GET", "/healthz", NULL), 200, NULL, "alive after the limits");
}

static int file_contains(const char *path, const char *needle)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -q -- '%s' '%s'", needle, path);
    return system(cmd) == 0;
}

static void test_logs_hold_no_secret(void)
{
    CHECK(!file_contains(D.log, ADMIN));
    CHECK(!file_contains(D.log, READ));
    CHECK(!file_contains(D.log, INGEST));
    CHECK(file_contains(D.log, "loaded 3 tokens"));
}

/* The file-size limit of the running daemon set to 1 byte: every write to
 * the store fails (EFBIG) until it is lifted again. */
static int limit_writes(int on)
{
    struct rlimit rl = {on ? 1 : RLIM_INFINITY, RLIM_INFINITY};
    return prlimit(D.pid, RLIMIT_FSIZE, &rl, NULL);
}

static void test_storage_failure(void)
{
    td_response r = as(READ, "GET", "/v1/experiments/sec/results", NULL);
    char *before = strdup(r.body ? r.body : "");
    td_free(&r);
    CHECK(limit_writes(1) == 0);
    expect(as(INGEST, "POST", "/v1/events",
              "{\"experiment\":\"sec\",\"variant\":\"b\",\"user\":\"u9\",\"type\":\"exposure\"}"),
           503, "nothing was stored", "ingest on a full disk");
    expect(as(NULL, "GET", "/healthz", NULL), 503, "not writable", "healthz on a full disk");
    expect(as(ADMIN, "PUT", "/v1/experiments/other", "{\"variants\":[\"a\",\"b\"]}"), 503, NULL,
           "PUT on a full disk");
    r = as(READ, "GET", "/v1/experiments/sec/results", NULL);
    CHECK(r.body && !strcmp(r.body, before)); /* nothing counted */
    td_free(&r);
    CHECK(limit_writes(0) == 0);
    expect(as(NULL, "GET", "/healthz", NULL), 200, NULL, "healthz recovered");
    expect(as(INGEST, "POST", "/v1/events",
              "{\"experiment\":\"sec\",\"variant\":\"b\",\"user\":\"u9\",\"type\":\"exposure\"}"),
           202, NULL, "ingest recovered");
    r = as(READ, "GET", "/v1/experiments/sec", NULL);
    CHECK_REL(json_number_value(json_object_get(r.json, "events")), 5, 0);
    td_free(&r);
    free(before);
    /* And all of it is on disk. */
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    r = as(READ, "GET", "/v1/experiments/sec", NULL);
    CHECK_REL(json_number_value(json_object_get(r.json, "events")), 5, 0);
    td_free(&r);
}

/* Without tokens only loopback is served, unless --insecure says so. */
static void test_loopback_rule(void)
{
    char cmd[1024];
    int st;
    snprintf(cmd, sizeof cmd, "%s --listen 0.0.0.0:0 --data %s-open 2>&1 | grep -q 'refusing to listen'",
             td_bin("abstatd"), D.dir);
    st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    snprintf(cmd, sizeof cmd, "%s --listen 0.0.0.0:0 --data %s-open >/dev/null 2>&1", td_bin("abstatd"),
             D.dir);
    st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    snprintf(cmd, sizeof cmd, "rm -rf %s-open", D.dir);
    if (system(cmd) != 0) {}
}

/* At the connection limit accepting pauses (no spinning, no failure):
 * extra clients wait in the backlog and are served once idle connections
 * time out. The limit is the file limit: --max-connections plus a reserve
 * of 64 for the store and webhooks, so 150 idle sockets exceed it. */
static void test_connection_limit(void)
{
    td_daemon L;
    int fds[150], n = 0;
    long t0, t1;
    char stat[64];
    FILE *fp;
    td_init(&L, "connlimit");
    snprintf(L.extra, sizeof L.extra, "--max-connections 4 --idle-timeout 2");
    if (td_start(&L) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start");
        return;
    }
    for (int i = 0; i < 150; i++) {
        struct sockaddr_in sa;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)L.port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) fds[n++] = fd;
        else if (fd >= 0) close(fd);
    }
    snprintf(stat, sizeof stat, "/proc/%d/stat", (int)L.pid);
    /* CPU ticks (utime + stime) of the daemon while it is at the limit. */
    t0 = t1 = 0;
    if ((fp = fopen(stat, "r"))) {
        if (fscanf(fp, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %*d", &t0) != 1) t0 = 0;
        fclose(fp);
    }
    td_response r = td_req(&L, "GET", "/healthz", NULL); /* waits for a slot */
    CHECK_INT(r.status, 200);
    td_free(&r);
    if ((fp = fopen(stat, "r"))) {
        if (fscanf(fp, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %*d", &t1) != 1) t1 = 0;
        fclose(fp);
    }
    /* Waiting ~2 s for the idle timeout must not burn the CPU (libevent
     * alone would retry accept() in a loop): under half a second of user time. */
    CHECK(t1 - t0 < 50);
    for (int i = 0; i < n; i++) close(fds[i]);
    CHECK_INT(td_stop(&L), 0);
    td_cleanup(&L);
}

int main(void)
{
    char tokens[300], cmd[700];
    FILE *fp;
    ab_stats_init();
    td_init(&D, "security");
    snprintf(tokens, sizeof tokens, "%s.tokens", D.dir);
    if (!(fp = fopen(tokens, "w"))) return TEST_DONE("test_security");
    fprintf(fp, "# abstat tokens\nadmin %s\nread %s\n\ningest %s\n", ADMIN, READ, INGEST);
    fclose(fp);
    snprintf(D.extra, sizeof D.extra,
             "--tokens %s --cors-origin https://shop.example,https://www.shop.example "
             "--max-header-bytes 4096 --idle-timeout 2 --max-body 65536", tokens);
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_security");
    }
    test_tokens();
    test_cors();
    test_limits();
    test_storage_failure();
    test_logs_hold_no_secret();
    test_loopback_rule();
    test_connection_limit();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    snprintf(cmd, sizeof cmd, "rm -f %s", tokens);
    if (system(cmd) != 0) {}
    return TEST_DONE("test_security");
}
