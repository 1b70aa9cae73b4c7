/* test_signals.c — abstatd's signals against a real daemon: SIGHUP rereads
 * the tokens file (a bad one keeps the old tokens) and reopens --log-file
 * without stopping the daemon; SIGTERM answers and commits every upload
 * that had begun before it, refuses later requests with 503 and
 * Connection: close, refuses new connections, closes uploads that miss
 * --drain-timeout unanswered, and exits 0. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "test.h"

#define TOKEN_A "aaaaaaaaaaaaaaaaaaaaaaaa-first"
#define TOKEN_B "bbbbbbbbbbbbbbbbbbbbbbbb-second"

/* The whole of a file, NUL-terminated (caller frees), or NULL. */
/* Waits up to secs for needle to appear in the file: 1 when it did. */
static int wait_log(const char *path, const char *needle, double secs)
{
    double until = td_now_s() + secs;
    do {
        char *text = td_read_file(path);
        int found = text && strstr(text, needle);
        free(text);
        if (found) return 1;
        td_sleep_ms(20);
    } while (td_now_s() < until);
    return 0;
}

/* Waits up to secs for the daemon to exit: its exit status, or -1 (then
 * it is killed). */
static int wait_exit(td_daemon *d, double secs)
{
    double until = td_now_s() + secs;
    int status;
    while (td_now_s() < until) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        td_sleep_ms(10);
    }
    td_kill(d);
    return -1;
}

static int write_file(const char *path, const char *text)
{
    char tmp[600];
    FILE *fp;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(fp = fopen(tmp, "w"))) return -1;
    if (fputs(text, fp) < 0 || fclose(fp) != 0) return -1;
    chmod(tmp, 0600);
    return rename(tmp, path);
}

static int status_with(const td_daemon *d, const char *token)
{
    char h[256];
    td_response r;
    int status;
    snprintf(h, sizeof h, "Authorization: Bearer %s\r\n", token);
    r = td_request(d, "GET", "/v1/experiments", NULL, 0, h);
    status = r.status;
    td_free(&r);
    return status;
}

/* ---- SIGHUP ------------------------------------------------------------ */

static void test_sighup(void)
{
    td_daemon d;
    char tokens[300], logf[300], rotated[320];
    char *text;

    td_init(&d, "sig-hup");
    snprintf(tokens, sizeof tokens, "%s.tokens", d.dir);
    snprintf(logf, sizeof logf, "%s.file.log", d.dir);
    snprintf(rotated, sizeof rotated, "%s.1", logf);
    unlink(logf);
    unlink(rotated);
    CHECK(write_file(tokens, "admin " TOKEN_A "\n") == 0);
    snprintf(d.extra, sizeof d.extra, "--tokens %.200s --log-file %.200s", tokens, logf);
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "daemon did not start");
        return;
    }
    CHECK_INT(status_with(&d, TOKEN_A), 200);
    CHECK_INT(status_with(&d, TOKEN_B), 401);

    /* A token added to the file works after SIGHUP. */
    CHECK(write_file(tokens, "admin " TOKEN_A "\nread " TOKEN_B "\n") == 0);
    kill(d.pid, SIGHUP);
    CHECK(wait_log(logf, "SIGHUP: loaded 2 tokens", 5));
    CHECK_INT(status_with(&d, TOKEN_B), 200);
    CHECK_INT(status_with(&d, TOKEN_A), 200);

    /* A removed one gets 401. */
    CHECK(write_file(tokens, "read " TOKEN_B "\n") == 0);
    kill(d.pid, SIGHUP);
    CHECK(wait_log(logf, "SIGHUP: loaded 1 tokens", 5));
    CHECK_INT(status_with(&d, TOKEN_A), 401);
    CHECK_INT(status_with(&d, TOKEN_B), 200);

    /* A bad file keeps the old tokens, and the log says why, naming the
     * line but not the token. */
    CHECK(write_file(tokens, "admin " TOKEN_A "\nsuperuser " TOKEN_B "\n") == 0);
    kill(d.pid, SIGHUP);
    CHECK(wait_log(logf, "tokens not reloaded", 5));
    CHECK(wait_log(logf, "line 2", 1));
    CHECK_INT(status_with(&d, TOKEN_B), 200);
    CHECK_INT(status_with(&d, TOKEN_A), 401);
    CHECK(write_file(tokens, "") == 0);
    kill(d.pid, SIGHUP);
    CHECK(wait_log(logf, "holds no token", 5));
    CHECK_INT(status_with(&d, TOKEN_B), 200);

    /* logrotate: the file is renamed, SIGHUP makes the daemon write to a
     * new one under the old name. */
    CHECK(rename(logf, rotated) == 0);
    kill(d.pid, SIGHUP);
    CHECK(wait_log(logf, "log file", 5));
    CHECK(wait_log(logf, "reopened", 1));
    CHECK(kill(d.pid, 0) == 0); /* still running */
    CHECK_INT(status_with(&d, TOKEN_B), 200);

    text = td_read_file(rotated);
    CHECK(text && strstr(text, "holds no token"));
    CHECK(text && !strstr(text, TOKEN_A) && !strstr(text, TOKEN_B));
    free(text);
    text = td_read_file(logf);
    CHECK(text && !strstr(text, TOKEN_A) && !strstr(text, TOKEN_B));
    free(text);

    CHECK_INT(td_stop(&d), 0);
    text = td_read_file(logf);
    CHECK(text && strstr(text, "stopped cleanly"));
    free(text);
    text = td_read_file(rotated);
    CHECK(text && !strstr(text, "stopped cleanly"));
    free(text);
    td_cleanup(&d);
    unlink(tokens);
    unlink(logf);
    unlink(rotated);
}

/* ---- SIGTERM ----------------------------------------------------------- */

#define UPLOADS 12          /* large uploads in flight at the signal */
#define EARLY 4             /* of them, sent whole before the signal */
#define EVENTS_EACH 6000    /* about 420 KB a body */

typedef struct {
    int fd;
    char *body;
    size_t len, sent;
    int status;
    long accepted;
    int closes;             /* the answer said Connection: close */
} upload;

static char *ndjson(int conn, int n, size_t *len)
{
    size_t cap = (size_t)n * 96 + 1, used = 0;
    char *b = malloc(cap);
    if (!b) return NULL;
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(b + used, cap - used,
                                 "{\"experiment\":\"up\",\"variant\":\"%s\",\"user\":\"c%d-u%d\","
                                 "\"type\":\"exposure\"}\n", i % 2 ? "a" : "b", conn, i);
    *len = used;
    return b;
}

/* Opens a connection and sends the head and the first `part` bytes of the
 * body (keep-alive: the daemon has to close it). */
static int begin_upload(const td_daemon *d, upload *u, int conn, int events, size_t part)
{
    char head[256];
    int n;
    memset(u, 0, sizeof *u);
    u->fd = -1;
    if (!(u->body = ndjson(conn, events, &u->len))) return -1;
    if ((u->fd = td_connect(d->port)) < 0) return -1;
    n = snprintf(head, sizeof head,
                 "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n"
                 "Content-Length: %zu\r\n\r\n", u->len);
    if (part > u->len) part = u->len;
    if (td_send_all(u->fd, head, (size_t)n) || td_send_all(u->fd, u->body, part)) return -1;
    u->sent = part;
    return 0;
}

/* Whether buf holds a whole answer (head and Content-Length body). */
static int complete(const char *buf, size_t used)
{
    const char *end = strstr(buf, "\r\n\r\n"), *cl = strstr(buf, "Content-Length: ");
    if (!end || !cl || cl > end) return 0;
    return used >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10);
}

/* Reads one answer (up to secs): status, accepted count, and whether it
 * said Connection: close. */
static void read_answer(upload *u, double secs)
{
    char buf[8192];
    size_t used = 0;
    double until = td_now_s() + secs;
    const char *body;
    buf[0] = '\0';
    while (td_now_s() < until && used + 1 < sizeof buf && !complete(buf, used)) {
        struct pollfd p = {u->fd, POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, 100) <= 0) continue;
        n = recv(u->fd, buf + used, sizeof buf - 1 - used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        used += (size_t)n;
        buf[used] = '\0';
    }
    buf[used] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &u->status) != 1) u->status = 0;
    u->closes = strstr(buf, "Connection: close") != NULL;
    body = strstr(buf, "\r\n\r\n");
    if (body && (body = strstr(body, "\"accepted\":"))) u->accepted = strtol(body + 11, NULL, 10);
}

static double events_of(const td_daemon *d)
{
    td_response r = td_req(d, "GET", "/v1/experiments/up", NULL);
    double n = json_number_value(json_object_get(r.json, "events"));
    td_free(&r);
    return n;
}

static int create_experiment(const td_daemon *d)
{
    td_response r = td_req(d, "PUT", "/v1/experiments/up", "{\"variants\":[\"a\",\"b\"]}");
    int ok = r.status == 201;
    td_free(&r);
    return ok ? 0 : -1;
}

static void test_sigterm_drain(void)
{
    td_daemon d;
    upload up[UPLOADS], idle, partial;
    long acknowledged = 0;
    int got_503 = 0;
    double t0;
    char part_head[] = "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n";

    td_init(&d, "sig-term");
    snprintf(d.extra, sizeof d.extra, "--drain-timeout 20");
    if (td_start(&d) != 0 || create_experiment(&d)) {
        test_fail(__FILE__, __LINE__, "daemon did not start");
        return;
    }
    /* Uploads in flight: most have sent half their body, some all of it. */
    for (int i = 0; i < UPLOADS; i++) {
        size_t half = (size_t)EVENTS_EACH * 70 / 2;
        if (begin_upload(&d, &up[i], i, EVENTS_EACH, i < EARLY ? (size_t)-1 : half)) {
            test_fail(__FILE__, __LINE__, "upload %d could not start", i);
            td_kill(&d);
            return;
        }
    }
    /* An idle keep-alive connection, and one that has sent half a head. */
    memset(&idle, 0, sizeof idle);
    memset(&partial, 0, sizeof partial);
    idle.fd = td_connect(d.port);
    partial.body = ndjson(1000, 10, &partial.len);
    partial.fd = td_connect(d.port);
    CHECK(idle.fd >= 0 && partial.fd >= 0 && partial.body);
    CHECK(td_send_all(partial.fd, part_head, strlen(part_head)) == 0);
    td_sleep_ms(300); /* the daemon has read what was sent */

    t0 = td_now_s();
    kill(d.pid, SIGTERM);
    CHECK(wait_log(d.log, "stopping", 10));

    /* New connections are refused: the listener closed at once. */
    {
        int fd = td_connect(d.port);
        CHECK(fd < 0);
        if (fd >= 0) close(fd);
    }
    /* A request that begins after the signal: 503, Connection: close. */
    {
        const char *req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        CHECK(td_send_all(idle.fd, req, strlen(req)) == 0);
        read_answer(&idle, 10);
        CHECK_INT(idle.status, 503);
        CHECK(idle.closes);
    }
    /* The rest of every body, then of the half head. */
    for (int i = EARLY; i < UPLOADS; i++)
        CHECK(td_send_all(up[i].fd, up[i].body + up[i].sent, up[i].len - up[i].sent) == 0);
    {
        char rest[128];
        int n = snprintf(rest, sizeof rest, "Content-Length: %zu\r\n\r\n", partial.len);
        CHECK(td_send_all(partial.fd, rest, (size_t)n) == 0);
        CHECK(td_send_all(partial.fd, partial.body, partial.len) == 0);
    }
    for (int i = 0; i < UPLOADS; i++) {
        read_answer(&up[i], 30);
        snprintf(test_context, sizeof test_context, "upload %d", i);
        CHECK_INT(up[i].status, 202);
        CHECK_INT(up[i].accepted, EVENTS_EACH);
        /* Those answered before the signal stay open until the exit. */
        if (i >= EARLY) CHECK(up[i].closes);
        test_context[0] = '\0';
        got_503 += up[i].status == 503;
        if (up[i].status == 202) acknowledged += up[i].accepted;
    }
    read_answer(&partial, 30);
    CHECK_INT(partial.status, 202);
    CHECK_INT(partial.accepted, 10);
    if (partial.status == 202) acknowledged += partial.accepted;
    CHECK_INT(got_503, 0);
    CHECK_INT(wait_exit(&d, 30), 0);
    printf("test_signals: %d uploads in flight at SIGTERM answered, exit after %.2f s\n",
           UPLOADS + 1, td_now_s() - t0);

    /* Every acknowledged event is in the store, and nothing else. */
    if (td_start(&d) == 0) {
        CHECK_INT((long)events_of(&d), acknowledged);
        CHECK_INT(acknowledged, (long)UPLOADS * EVENTS_EACH + 10);
        CHECK_INT(td_stop(&d), 0);
    } else {
        test_fail(__FILE__, __LINE__, "daemon did not restart");
    }
    for (int i = 0; i < UPLOADS; i++) {
        close(up[i].fd);
        free(up[i].body);
    }
    close(idle.fd);
    close(partial.fd);
    free(partial.body);
    td_cleanup(&d);
}

/* An upload that never completes its body holds the stop up only for
 * --drain-timeout; its connection then closes unanswered and nothing of
 * it is stored. */
static void test_drain_deadline(void)
{
    td_daemon d;
    upload slow, done;
    double t0, took;
    char buf[256];
    ssize_t n;

    td_init(&d, "sig-deadline");
    snprintf(d.extra, sizeof d.extra, "--drain-timeout 1");
    if (td_start(&d) != 0 || create_experiment(&d)) {
        test_fail(__FILE__, __LINE__, "daemon did not start");
        return;
    }
    CHECK(begin_upload(&d, &slow, 1, 2000, 1000) == 0);
    CHECK(begin_upload(&d, &done, 2, 100, (size_t)-1) == 0);
    read_answer(&done, 10);
    CHECK_INT(done.status, 202);
    td_sleep_ms(200);
    t0 = td_now_s();
    kill(d.pid, SIGTERM);
    CHECK_INT(wait_exit(&d, 20), 0);
    took = td_now_s() - t0;
    CHECK(took >= 0.9 && took < 10);
    /* Closed without an answer. */
    n = recv(slow.fd, buf, sizeof buf, 0);
    CHECK(n <= 0);
    CHECK(wait_log(d.log, "closed unanswered", 1));
    if (td_start(&d) == 0) {
        CHECK_INT((long)events_of(&d), 100);
        CHECK_INT(td_stop(&d), 0);
    }
    close(slow.fd);
    close(done.fd);
    free(slow.body);
    free(done.body);
    td_cleanup(&d);
}

/* SIGINT stops like SIGTERM. */
static void test_sigint(void)
{
    td_daemon d;
    td_init(&d, "sig-int");
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "daemon did not start");
        return;
    }
    kill(d.pid, SIGINT);
    CHECK_INT(wait_exit(&d, 20), 0);
    CHECK(wait_log(d.log, "stopped cleanly", 1));
    td_cleanup(&d);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_sighup();
    test_sigterm_drain();
    test_drain_deadline();
    test_sigint();
    return TEST_DONE("test_signals");
}
