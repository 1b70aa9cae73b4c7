/* test_cors.c — the --cors-origin allow-list: its values checked at start
 * (a bad one stops abstatd, saying why), and enforced on /v1/events and
 * /assign against a real daemon: unlisted origins get 403 and store nothing,
 * listed ones get credentialed CORS, requests without Origin are unaffected,
 * and a daemon without the flag serves no web page. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http/cors.h"
#include "daemon.h"
#include "test.h"

static const char *ev_a =
    "{\"experiment\":\"c\",\"variant\":\"a\",\"user\":\"u-1\",\"type\":\"exposure\"}";

/* ---- ab_cors_check and ab_cors_allows ----------------------------------- */

static void check_ok(const char *spec)
{
    char msg[400] = "";
    int rc = ab_cors_check(spec, msg, sizeof msg);
    snprintf(test_context, sizeof test_context, "spec \"%s\": %s", spec, msg);
    CHECK_INT(rc, 0);
    test_context[0] = '\0';
}

/* A value refused, with a message holding `why` (and `fix` when given). */
static void check_bad(const char *spec, const char *why, const char *fix)
{
    char msg[400] = "";
    int rc = ab_cors_check(spec, msg, sizeof msg);
    snprintf(test_context, sizeof test_context, "spec \"%s\": \"%s\"", spec, msg);
    CHECK_INT(rc, -1);
    CHECK(strstr(msg, why) != NULL);
    if (fix) CHECK(strstr(msg, fix) != NULL);
    test_context[0] = '\0';
}

static void test_check(void)
{
    check_ok("*");
    check_ok("https://shop.example");
    check_ok("https://shop.example,https://www.shop.example");
    check_ok("http://127.0.0.1:8080");
    check_ok("http://localhost:3000,https://[::1]:8443");
    check_ok("https://xn--bcher-kva.example");
    check_ok("http://shop.example:443"); /* 443 is not http's default */

    check_bad("https://shop.example/", "no path or trailing \"/\"", "use https://shop.example");
    check_bad("https://shop.example/checkout", "no path", "use https://shop.example");
    check_bad("https://a.example, https://b.example", "without spaces",
              "use \"https://a.example,https://b.example\"");
    check_bad(" https://a.example", "without spaces", "use \"https://a.example\"");
    check_bad("https://a.example,", "empty entry", NULL);
    check_bad(",https://a.example", "empty entry", NULL);
    check_bad("https://a.example,,https://b.example", "empty entry", NULL);
    check_bad("", "needs an origin", NULL);
    check_bad("shop.example", "starts with http:// or https://", "use https://shop.example");
    check_bad("HTTPS://Shop.Example", "lower case", "use https://shop.example");
    check_bad("https://Shop.example", "lower case", "use https://shop.example");
    check_bad("ftp://shop.example", "http:// or https://", NULL);
    check_bad("https://shop.example:443", "default port", "use https://shop.example");
    check_bad("http://shop.example:80", "default port", "use http://shop.example");
    check_bad("https://shop.example:0", "port", NULL);
    check_bad("https://shop.example:65536", "port", NULL);
    check_bad("https://shop.example:08080", "port", NULL);
    check_bad("https://shop.example:", "PORT", NULL);
    check_bad("https://", "host is missing", NULL);
    check_bad("https://user@shop.example", "user name", NULL);
    check_bad("https://shop_example", "letters, digits", NULL);
    check_bad("https://shop.example?x=1", "no path", "use https://shop.example");
    check_bad("null", "cannot be allowed", NULL);
    check_bad("https://a.example,*", "\"*\"", NULL);
    /* With several entries the message names the one at fault. */
    check_bad("https://a.example,https://b.example/", "in \"https://b.example/\"",
              "use https://b.example");

    CHECK(ab_cors_allows("https://a.example,https://b.example", "https://b.example", 17));
    CHECK(ab_cors_allows("https://a.example,https://b.example", "https://a.example", 17));
    CHECK(!ab_cors_allows("https://a.example,https://b.example", "https://a.exampl", 16));
    CHECK(!ab_cors_allows("https://a.example", "https://a.example.evil", 22));
    CHECK(!ab_cors_allows("https://a.example", "http://a.example", 16));
    CHECK(!ab_cors_allows(NULL, "https://a.example", 17));
    CHECK(!ab_cors_allows("https://a.example", "", 0));
    CHECK(ab_cors_allows("*", "https://anything.example", 24));
    CHECK(ab_cors_allows("*", "null", 4));
}

/* ---- at start ------------------------------------------------------------ */

/* abstatd with --cors-origin value on a scratch data dir: its exit status,
 * and its stderr in err (cap bytes). */
static int start_with(const char *value, char *err, size_t cap)
{
    char dir[200], log[220];
    int status = -1, fd;
    pid_t pid;
    snprintf(dir, sizeof dir, "/tmp/abstat-test-cors-start-%d", (int)getpid());
    snprintf(log, sizeof log, "%s.err", dir);
    pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 2);
        execl(td_bin("abstatd"), "abstatd", "--listen", "127.0.0.1:0", "--data", dir,
              "--cors-origin", value, (char *)NULL);
        _exit(127);
    }
    /* A value that passes would start the daemon: stop it. */
    for (int i = 0; i < 250; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) break;
        if (i == 249) {
            kill(pid, SIGTERM);
            waitpid(pid, &status, 0);
        }
        td_sleep_ms(20);
    }
    err[0] = '\0';
    fd = open(log, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, err, cap - 1);
        err[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    unlink(log);
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) {}
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_start(void)
{
    char err[2048];
    CHECK_INT(start_with("https://shop.example/", err, sizeof err), 2);
    CHECK(strstr(err, "--cors-origin \"https://shop.example/\": an origin has no path or "
                      "trailing \"/\"; use https://shop.example") != NULL);
    CHECK_INT(start_with("https://a.example, https://b.example", err, sizeof err), 2);
    CHECK(strstr(err, "without spaces") != NULL);
    CHECK_INT(start_with("https://a.example,", err, sizeof err), 2);
    CHECK(strstr(err, "empty entry") != NULL);
}

/* ---- enforced ------------------------------------------------------------ */

static int has_header(const td_response *r, const char *line)
{
    return strstr(r->headers, line) != NULL;
}

static void expect_refused(const td_response *r, const char *origin)
{
    const char *msg = json_string_value(json_object_get(r->json, "error"));
    char want[200];
    snprintf(want, sizeof want, "origin \"%s\" is not allowed (--cors-origin)", origin);
    CHECK_INT(r->status, 403);
    CHECK(msg && strstr(msg, want));
    CHECK(!has_header(r, "Access-Control-Allow-Origin"));
}

static void test_listed(void)
{
    td_daemon d;
    td_response r;
    td_init(&d, "cors-listed");
    snprintf(d.extra, sizeof d.extra,
             "--cors-origin https://shop.example,http://127.0.0.1:3000");
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", d.log);
        return;
    }
    r = td_req(&d, "PUT", "/v1/experiments/c", "{\"variants\":[\"a\",\"b\"]}");
    CHECK_INT(r.status, 201);
    td_free(&r);

    /* Unlisted: a beacon (text/plain, no preflight), a form-like POST, an
     * empty POST and an assignment are all refused; nothing is stored. */
    r = td_request(&d, "POST", "/v1/events", ev_a, strlen(ev_a),
                   "Origin: https://evil.example\r\nContent-Type: text/plain;charset=UTF-8\r\n");
    expect_refused(&r, "https://evil.example");
    td_free(&r);
    r = td_request(&d, "POST", "/v1/events", "", 0, "Origin: https://evil.example\r\n");
    expect_refused(&r, "https://evil.example");
    td_free(&r);
    /* A prefix or a variant of a listed origin is another origin. */
    r = td_request(&d, "POST", "/v1/events", ev_a, strlen(ev_a),
                   "Origin: https://shop.example.evil\r\n");
    expect_refused(&r, "https://shop.example.evil");
    td_free(&r);
    r = td_request(&d, "POST", "/v1/events", ev_a, strlen(ev_a), "Origin: http://shop.example\r\n");
    expect_refused(&r, "http://shop.example");
    td_free(&r);
    r = td_request(&d, "GET", "/v1/experiments/c/assign?user=u-1&expose=1", NULL, 0,
                   "Origin: https://evil.example\r\n");
    expect_refused(&r, "https://evil.example");
    td_free(&r);
    r = td_request(&d, "POST", "/v1/events", ev_a, strlen(ev_a), "Origin: null\r\n");
    expect_refused(&r, "null");
    td_free(&r);
    /* Bytes no browser sends are shown as '?' and the answer stays JSON. */
    r = td_request(&d, "POST", "/v1/events", ev_a, strlen(ev_a), "Origin: https://\xff\xfe\"x\r\n");
    CHECK_INT(r.status, 403);
    CHECK(r.json != NULL);
    td_free(&r);
    CHECK_INT(td_events_of(&d, "c"), 0);
    /* Its preflight gets no CORS headers, so a browser sends nothing. */
    r = td_request(&d, "OPTIONS", "/v1/events", NULL, 0,
                   "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n");
    CHECK_INT(r.status, 204);
    CHECK(!has_header(&r, "Access-Control-Allow-Origin"));
    CHECK(!has_header(&r, "Access-Control-Allow-Credentials"));
    td_free(&r);

    /* Listed: stored, with the origin echoed and credentials allowed. */
    r = td_request(&d, "POST", "/v1/events", ev_a, strlen(ev_a),
                   "Origin: https://shop.example\r\nContent-Type: text/plain\r\n");
    CHECK_INT(r.status, 202);
    CHECK(has_header(&r, "Access-Control-Allow-Origin: https://shop.example\r\n"));
    CHECK(has_header(&r, "Access-Control-Allow-Credentials: true"));
    CHECK(has_header(&r, "Vary: Origin"));
    td_free(&r);
    CHECK_INT(td_events_of(&d, "c"), 1);
    r = td_request(&d, "OPTIONS", "/v1/events", NULL, 0,
                   "Origin: http://127.0.0.1:3000\r\nAccess-Control-Request-Method: POST\r\n"
                   "Access-Control-Request-Headers: content-type\r\n"
                   "Access-Control-Request-Private-Network: true\r\n");
    CHECK_INT(r.status, 204);
    CHECK(has_header(&r, "Access-Control-Allow-Origin: http://127.0.0.1:3000\r\n"));
    CHECK(has_header(&r, "Access-Control-Allow-Credentials: true"));
    CHECK(has_header(&r, "Access-Control-Allow-Methods: POST, OPTIONS"));
    CHECK(has_header(&r, "Access-Control-Allow-Headers: Content-Type, Authorization"));
    CHECK(has_header(&r, "Access-Control-Allow-Private-Network: true"));
    td_free(&r);
    r = td_request(&d, "OPTIONS", "/v1/experiments/c/assign", NULL, 0,
                   "Origin: https://shop.example\r\nAccess-Control-Request-Method: GET\r\n"
                   "Access-Control-Request-Headers: authorization\r\n");
    CHECK_INT(r.status, 204);
    CHECK(has_header(&r, "Access-Control-Allow-Methods: GET, HEAD, OPTIONS"));
    CHECK(has_header(&r, "Access-Control-Allow-Origin: https://shop.example\r\n"));
    td_free(&r);
    r = td_request(&d, "GET", "/v1/experiments/c/assign?user=u-1", NULL, 0,
                   "Origin: https://shop.example\r\n");
    CHECK_INT(r.status, 200);
    CHECK(has_header(&r, "Access-Control-Allow-Origin: https://shop.example\r\n"));
    CHECK(has_header(&r, "Access-Control-Allow-Credentials: true"));
    td_free(&r);

    /* No Origin (servers, curl): as before, and no CORS headers. */
    r = td_req(&d, "POST", "/v1/events", ev_a);
    CHECK_INT(r.status, 202);
    CHECK(!has_header(&r, "Access-Control-Allow-Origin"));
    td_free(&r);
    CHECK_INT(td_events_of(&d, "c"), 2);
    /* Other routes are not for pages: no CORS headers there. */
    r = td_request(&d, "GET", "/v1/experiments/c", NULL, 0, "Origin: https://shop.example\r\n");
    CHECK_INT(r.status, 200);
    CHECK(!has_header(&r, "Access-Control-Allow-Origin"));
    td_free(&r);
    CHECK_INT(td_stop(&d), 0);
    td_cleanup(&d);
}

static void test_unlisted_daemon(void)
{
    td_daemon d;
    td_response r;
    const char *msg;
    td_init(&d, "cors-none");
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", d.log);
        return;
    }
    r = td_req(&d, "PUT", "/v1/experiments/c", "{\"variants\":[\"a\",\"b\"]}");
    td_free(&r);
    /* Without --cors-origin no page may send: the message says which flag. */
    r = td_request(&d, "POST", "/v1/events", ev_a, strlen(ev_a),
                   "Origin: https://shop.example\r\nContent-Type: text/plain\r\n");
    CHECK_INT(r.status, 403);
    msg = json_string_value(json_object_get(r.json, "error"));
    CHECK(msg && strstr(msg, "--cors-origin") && strstr(msg, "lists no origins"));
    td_free(&r);
    r = td_request(&d, "OPTIONS", "/v1/events", NULL, 0, "Origin: https://shop.example\r\n");
    CHECK_INT(r.status, 204);
    CHECK(!has_header(&r, "Access-Control-Allow-Origin"));
    td_free(&r);
    CHECK_INT(td_events_of(&d, "c"), 0);
    r = td_req(&d, "POST", "/v1/events", ev_a);
    CHECK_INT(r.status, 202);
    td_free(&r);
    CHECK_INT(td_events_of(&d, "c"), 1);
    CHECK_INT(td_stop(&d), 0);
    td_cleanup(&d);
}

static void test_star(void)
{
    td_daemon d;
    td_response r;
    td_init(&d, "cors-star");
    snprintf(d.extra, sizeof d.extra, "--cors-origin *");
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", d.log);
        return;
    }
    r = td_req(&d, "PUT", "/v1/experiments/c", "{\"variants\":[\"a\",\"b\"]}");
    td_free(&r);
    /* "*" is echoed as the origin itself: browsers refuse a literal "*"
     * on credentialed requests (every beacon is one). */
    r = td_request(&d, "POST", "/v1/events", ev_a, strlen(ev_a), "Origin: https://any.example\r\n");
    CHECK_INT(r.status, 202);
    CHECK(has_header(&r, "Access-Control-Allow-Origin: https://any.example\r\n"));
    CHECK(has_header(&r, "Access-Control-Allow-Credentials: true"));
    CHECK(has_header(&r, "Vary: Origin"));
    td_free(&r);
    CHECK_INT(td_events_of(&d, "c"), 1);
    CHECK_INT(td_stop(&d), 0);
    td_cleanup(&d);
}

int main(void)
{
    test_check();
    test_start();
    test_listed();
    test_unlisted_daemon();
    test_star();
    return TEST_DONE("test_cors");
}
