/* test_attack.c — issue 10, items 1, 4, 7 and 9 (HEAD, ?token=): a real
 * abstatd attacked as a hostile network would — smuggling and malformed
 * framing, pipelining floods, endless chunk-size lines, slow clients and
 * parked uploads — keeps its memory bounded and serves a well-behaved
 * client within a second.
 *
 * ABSTAT_SOAK=1 (make soak) runs the long versions: 16 pipelining
 * connections for 30 s (ABSTAT_SOAK_SECONDS), 1,000 slow clients, 50 parked
 * uploads, and prints peak RSS and the well-behaved client's p99. The RSS
 * limit is 256 MB (ABSTAT_RSS_LIMIT_MB), doubled under sanitizers or a
 * wrapper (ABSTAT_WRAP). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "test.h"

#define ADMIN "admin-0123456789abcdef"
#define READ "read-0123456789abcdef"
#define INGEST "ingest-0123456789abcdef"

static int soak;
static double rss_limit_mb = 256;
static double peak_rss_mb;

/* The daemon's resident memory in MB (0 when it cannot be read). */
static double rss_mb(const td_daemon *d)
{
    char path[64], line[256];
    double kb = 0;
    FILE *fp;
    snprintf(path, sizeof path, "/proc/%d/status", (int)d->pid);
    if (!(fp = fopen(path, "r"))) return 0;
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, "VmRSS:", 6)) kb = atof(line + 6);
    fclose(fp);
    if (kb / 1024 > peak_rss_mb) peak_rss_mb = kb / 1024;
    return kb / 1024;
}

static int dial(int port, int nonblock)
{
    int fd = td_connect(port);
    if (fd >= 0 && nonblock) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Reads from fd until the peer closes, until `want` bytes, or ms pass;
 * returns what arrived (NUL-terminated, caller frees) in *out. */
static size_t read_for(int fd, int ms, size_t want, char **out)
{
    size_t cap = 65536, used = 0;
    char *buf = malloc(cap + 1);
    double end = td_now_s() + ms / 1000.0;
    while (buf) {
        int left = (int)((end - td_now_s()) * 1000);
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0) break;
        if (used == cap) {
            char *g = realloc(buf, cap * 2 + 1);
            if (!g) break;
            buf = g;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + used, cap - used, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;
        used += (size_t)n;
        if (want && used >= want) break;
    }
    if (buf) buf[used] = '\0';
    *out = buf;
    return used;
}

/* One raw exchange on a fresh connection: bytes out, then what comes back
 * within ms (the daemon closes or the time runs out). */
static char *exchange(const td_daemon *d, const char *bytes, size_t len, int ms)
{
    char *out = NULL;
    int fd = dial(d->port, 0);
    if (fd < 0) return NULL;
    if (td_send_all(fd, bytes, len) == 0) read_for(fd, ms, 0, &out);
    close(fd);
    return out;
}

static int status_of(const char *resp)
{
    int s = 0;
    if (!resp || sscanf(resp, "HTTP/1.%*d %d", &s) != 1) return 0;
    return s;
}

/* The "error" text of the (first) reply's JSON body, or "". */
static const char *error_of(const char *resp, char *buf, size_t cap)
{
    const char *b = resp ? strstr(resp, "\r\n\r\n") : NULL;
    json_t *j = b ? json_loadb(b + 4, strcspn(b + 4, "\n"), 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(j, "error"));
    snprintf(buf, cap, "%s", e ? e : "");
    json_decref(j);
    return buf;
}

static int exists(const td_daemon *d, const char *id)
{
    char path[128];
    td_response r;
    int s;
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    r = td_request(d, "GET", path, NULL, 0, "Authorization: Bearer " ADMIN "\r\n");
    s = r.status;
    td_free(&r);
    return s == 200;
}

static int healthz_ms(const td_daemon *d)
{
    double t0 = td_now_s();
    td_response r = td_req(d, "GET", "/healthz", NULL);
    int ok = r.status == 200;
    td_free(&r);
    return ok ? (int)((td_now_s() - t0) * 1000) : -1;
}

/* ---- smuggling and framing (RFC 9112 6.3) --------------------------------- */

#define PUT_BODY "{\"variants\":[\"a\",\"b\"]}"

static void framing_case(const td_daemon *d, const char *what, const char *bytes, int status,
                         const char *needle)
{
    char err[300];
    char *resp = exchange(d, bytes, strlen(bytes), 3000);
    snprintf(test_context, sizeof test_context, "%s", what);
    CHECK_INT(status_of(resp), status);
    error_of(resp, err, sizeof err);
    if (needle && strstr(err, needle)) test_passed++;
    else if (needle) test_fail(__FILE__, __LINE__, "error \"%s\" does not mention \"%s\"", err, needle);
    free(resp);
    test_context[0] = '\0';
}

static void test_smuggling(const td_daemon *d)
{
    /* Two Content-Lengths: the first (5) would end the body at "hello" and
     * run the hidden PUT as a second request. */
    framing_case(d, "two Content-Lengths, hidden PUT",
                 "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 77\r\n\r\n"
                 "helloPUT /v1/experiments/smuggled1 HTTP/1.1\r\nHost: x\r\nContent-Length: 22\r\n\r\n"
                 PUT_BODY, 400, "Content-Length");
    CHECK(!exists(d, "smuggled1"));
    /* The same value twice is refused as well (a duplicate). */
    framing_case(d, "the same Content-Length twice",
                 "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n[]",
                 400, "Content-Length");
    /* CL.TE: Content-Length ends the body after "0\r\n\r\n"; chunked would
     * end it there too, with the PUT as the next request. */
    framing_case(d, "Content-Length with chunked, hidden PUT",
                 "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                 "PUT /v1/experiments/smuggled2 HTTP/1.1\r\nHost: x\r\nContent-Length: 22\r\n\r\n" PUT_BODY,
                 400, "Transfer-Encoding");
    CHECK(!exists(d, "smuggled2"));
    framing_case(d, "Transfer-Encoding gzip, chunked",
                 "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                 400, "Transfer-Encoding");
    /* A body on HEAD is not read by evhttp: it would be the next request.
     * It is dropped (the reply to HEAD has no body to check). */
    framing_case(d, "HEAD with a body, hidden PUT",
                 "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 77\r\n\r\n"
                 "PUT /v1/experiments/smuggled3 HTTP/1.1\r\nHost: x\r\nContent-Length: 22\r\n\r\n" PUT_BODY,
                 200, NULL);
    CHECK(!exists(d, "smuggled3"));
    framing_case(d, "obsolete line folding",
                 "POST /v1/events HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\n[]",
                 400, "folding");
    framing_case(d, "space before the colon",
                 "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n[]", 400, "header");
    framing_case(d, "two Hosts", "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "Host");
}

static void test_content_length(const td_daemon *d)
{
    static const char *const bad[] = {"+5", "-5", "5 5", "05", "00", "5x", "0x5", "", "5,5",
                                      "99999999999999999999999", "\t"};
    char req[256], what[64];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(req, sizeof req,
                 "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\nhello", bad[i]);
        snprintf(what, sizeof what, "Content-Length \"%s\"", bad[i]);
        framing_case(d, what, req, 400, "Content-Length");
    }
    /* Optional whitespace around the value is not part of it. */
    framing_case(d, "Content-Length \" 2 \"",
                 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length:  2 \r\n\r\n[]",
                 400, "no events");
}

/* HEAD: the GET reply's headers (Content-Length of its body), no body; the
 * next reply on the connection starts right after. */
static void test_head(const td_daemon *d)
{
    static const char two[] = "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char *resp = exchange(d, two, sizeof two - 1, 3000);
    const char *sep = resp ? strstr(resp, "\r\n\r\n") : NULL;
    const char *second = sep ? sep + 4 : NULL;
    snprintf(test_context, sizeof test_context, "HEAD then GET");
    CHECK_INT(status_of(resp), 200);
    CHECK(resp && strstr(resp, "Content-Length: 16\r\n") && strstr(resp, "Content-Length: 16\r\n") < sep);
    CHECK(second && !strncmp(second, "HTTP/1.1 200", 12));
    CHECK(second && strstr(second, "{\"status\":\"ok\"}") != NULL);
    free(resp);
    {
        td_response g = td_req(d, "GET", "/v1/experiments/nope/results", NULL);
        td_response h = td_req(d, "HEAD", "/v1/experiments/nope/results", NULL);
        char want[64];
        snprintf(test_context, sizeof test_context, "HEAD of a 404");
        CHECK_INT(h.status, g.status);
        CHECK_INT(h.len, 0);
        snprintf(want, sizeof want, "Content-Length: %zu", g.len);
        CHECK(strstr(h.headers, want) != NULL);
        td_free(&g);
        td_free(&h);
    }
    {
        td_response r = td_req(d, "PATCH", "/healthz", NULL);
        snprintf(test_context, sizeof test_context, "405 Allow lists HEAD");
        CHECK_INT(r.status, 405);
        CHECK(strstr(r.headers, "Allow: GET, HEAD") != NULL);
        td_free(&r);
    }
    test_context[0] = '\0';
}

static void test_header_count(const td_daemon *d)
{
    size_t cap = 200 * 16 + 256, len;
    char *h = malloc(cap), *resp, err[300];
    for (int n = 90; n <= 150; n += 60) {
        len = (size_t)snprintf(h, cap, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for (int i = 2; i < n; i++) len += (size_t)snprintf(h + len, cap - len, "X-H%d: v\r\n", i);
        len += (size_t)snprintf(h + len, cap - len, "\r\n");
        resp = exchange(d, h, len, 3000);
        snprintf(test_context, sizeof test_context, "%d header fields", n);
        if (n <= 100) CHECK_INT(status_of(resp), 200);
        else {
            CHECK_INT(status_of(resp), 400);
            CHECK(strstr(error_of(resp, err, sizeof err), "header fields") != NULL);
        }
        free(resp);
    }
    free(h);
    test_context[0] = '\0';
}

/* An endless chunk-size line (and an endless header line): refused after a
 * bounded number of bytes, while /healthz stays quick. */
static void test_endless_lines(const td_daemon *d)
{
    static const char *const heads[] = {
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: a"};
    char junk[4096];
    memset(junk, '1', sizeof junk);
    for (size_t k = 0; k < 2; k++) {
        int fd = dial(d->port, 1), closed = 0, status = 0, worst = 0;
        double t0 = td_now_s(), closed_at = 0;
        snprintf(test_context, sizeof test_context, "endless %s line", k ? "header" : "chunk-size");
        if (fd < 0 || td_send_all(fd, heads[k], strlen(heads[k]))) {
            test_fail(__FILE__, __LINE__, "cannot connect");
            continue;
        }
        while (td_now_s() - t0 < 3.0 && !closed) {
            char buf[4096];
            ssize_t n;
            (void)!send(fd, junk, sizeof junk, MSG_NOSIGNAL);
            while ((n = recv(fd, buf, sizeof buf - 1, 0)) > 0) {
                buf[n] = '\0';
                if (!status) status = status_of(buf);
            }
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                closed = 1;
                closed_at = td_now_s() - t0;
            }
            if ((int)((td_now_s() - t0) * 10) % 5 == 0) {
                int ms = healthz_ms(d);
                if (ms < 0 || ms > worst) worst = ms < 0 ? 99999 : ms;
            }
        }
        close(fd);
        CHECK(closed);
        CHECK_INT(status, 400);
        CHECK(closed_at < 2.0);
        CHECK(worst < 1000);
        CHECK(rss_mb(d) < rss_limit_mb);
        printf("endless %s line: answered %d, closed after %.3f s; /healthz worst %d ms\n",
               k ? "header" : "chunk-size", status, closed_at, worst);
    }
    CHECK(healthz_ms(d) >= 0);
    test_context[0] = '\0';
}

/* ---- floods: a well-behaved client measured while others misbehave --------- */

typedef struct {
    const td_daemon *d;
    const char *token_header;
    volatile int stop;
    double lat[20000];
    int n, failed;
} good_client;

static void *good_run(void *arg)
{
    good_client *g = arg;
    static const char ev[] = "{\"experiment\":\"atk\",\"variant\":\"a\",\"user\":\"good\",\"type\":\"exposure\"}";
    while (!g->stop && g->n < (int)(sizeof g->lat / sizeof *g->lat)) {
        double t0 = td_now_s();
        td_response r = td_request(g->d, "POST", "/v1/events", ev, sizeof ev - 1, g->token_header);
        if (r.status != 202) g->failed++;
        g->lat[g->n++] = (td_now_s() - t0) * 1000;
        td_free(&r);
        td_sleep_ms(20);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(good_client *g, double p)
{
    int i;
    if (!g->n) return 1e9;
    qsort(g->lat, (size_t)g->n, sizeof *g->lat, cmp_double);
    i = (int)(p * (g->n - 1) + 0.5);
    return g->lat[i];
}

/* nconn connections pipelining GET path as fast as they can for seconds;
 * half of them never read a reply. The well-behaved client posts single
 * events with token_header. */
static void pipeline_flood(const td_daemon *d, int nconn, double seconds, const char *path,
                           const char *token_header, const char *label)
{
    char req[256], *burst;
    size_t rlen, blen = 0, bcap = 65536;
    int fds[64];
    good_client *g = calloc(1, sizeof *g);
    pthread_t th;
    double t0, max_rss = 0;
    long replies = 0;

    rlen = (size_t)snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    burst = malloc(bcap);
    while (blen + rlen <= bcap) memcpy(burst + blen, req, rlen), blen += rlen;
    for (int i = 0; i < nconn; i++) fds[i] = dial(d->port, 1);
    g->d = d;
    g->token_header = token_header;
    pthread_create(&th, NULL, good_run, g);
    t0 = td_now_s();
    while (td_now_s() - t0 < seconds) {
        struct pollfd p[64];
        for (int i = 0; i < nconn; i++) p[i] = (struct pollfd){fds[i], POLLOUT | (i % 2 ? 0 : POLLIN), 0};
        poll(p, (nfds_t)nconn, 50);
        for (int i = 0; i < nconn; i++) {
            if (fds[i] < 0) continue;
            if (p[i].revents & POLLOUT) (void)!send(fds[i], burst, blen, MSG_NOSIGNAL);
            if (p[i].revents & POLLIN) {
                char buf[65536];
                ssize_t n = recv(fds[i], buf, sizeof buf, 0);
                if (n > 0) {
                    for (ssize_t j = 0; j + 12 < n; j++)
                        if (buf[j] == 'H' && !memcmp(buf + j, "HTTP/1.1 ", 9)) replies++;
                }
            }
        }
        double m = rss_mb(d);
        if (m > max_rss) max_rss = m;
        if (m > rss_limit_mb) break; /* do not take the machine down */
    }
    g->stop = 1;
    pthread_join(th, NULL);
    for (int i = 0; i < nconn; i++)
        if (fds[i] >= 0) close(fds[i]);
    snprintf(test_context, sizeof test_context, "%s", label);
    CHECK(max_rss < rss_limit_mb);
    CHECK(g->n > 0);
    CHECK_INT(g->failed, 0);
    double p99 = percentile(g, 0.99), worst = g->n ? g->lat[g->n - 1] : 1e9;
    CHECK(worst < 1000);
    CHECK(replies > 0);
    printf("%s: %d connections x %.0f s: peak RSS %.1f MB (limit %.0f), %ld replies read, "
           "well-behaved POST p50 %.1f ms p99 %.1f ms max %.1f ms (%d requests)\n",
           label, nconn, seconds, max_rss, rss_limit_mb, replies, percentile(g, 0.5), p99, worst, g->n);
    test_context[0] = '\0';
    free(burst);
    free(g);
}

/* n slow clients, each sending its request head a byte every 2 s; after
 * 0.5 s a new client must be served within 1 s. */
static void slow_clients(const td_daemon *d, int n, double seconds)
{
    static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    int *fds = malloc(sizeof(int) * (size_t)n), opened = 0, worst = 0, ok = 0, tries = 0;
    double t0 = td_now_s(), last_byte = t0;
    size_t pos = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = dial(d->port, 1);
        if (fds[i] >= 0) opened++, (void)!send(fds[i], head, 1, MSG_NOSIGNAL);
    }
    pos = 1;
    td_sleep_ms(500);
    while (td_now_s() - t0 < seconds) {
        int ms = healthz_ms(d);
        tries++;
        if (ms >= 0 && ms < 1000) ok++;
        if (ms < 0 || ms > worst) worst = ms < 0 ? 99999 : ms;
        if (td_now_s() - last_byte >= 2.0 && pos < sizeof head - 2) {
            for (int i = 0; i < n; i++)
                if (fds[i] >= 0) (void)!send(fds[i], head + pos, 1, MSG_NOSIGNAL);
            pos++;
            last_byte = td_now_s();
        }
        td_sleep_ms(200);
    }
    snprintf(test_context, sizeof test_context, "%d slow clients", n);
    CHECK(opened > 0);
    CHECK_INT(ok, tries);
    CHECK(worst < 1000);
    CHECK(rss_mb(d) < rss_limit_mb);
    printf("%d slow clients (%d connected) for %.0f s: /healthz answered %d of %d, worst %d ms\n", n,
           opened, seconds, ok, tries, worst);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
    free(fds);
    test_context[0] = '\0';
}

/* n uploads announcing 8 MiB, sending 64 KiB of it, then waiting. */
static void parked_uploads(const td_daemon *d, int n, const char *token_header, int want_status)
{
    char head[512], *part = malloc(65536), *resp;
    int *fds = malloc(sizeof(int) * (size_t)n), answered = 0, retry_after = 0;
    double base = rss_mb(d), top = base;
    memset(part, ' ', 65536);
    snprintf(head, sizeof head, "POST /v1/events HTTP/1.1\r\nHost: x\r\n%sContent-Length: 8388608\r\n\r\n[",
             token_header ? token_header : "");
    for (int i = 0; i < n; i++) {
        fds[i] = dial(d->port, 0);
        if (fds[i] < 0) continue;
        td_send_all(fds[i], head, strlen(head));
        (void)!send(fds[i], part, 65536, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0) continue;
        read_for(fds[i], 2000, 0, &resp);
        if (status_of(resp) == want_status) answered++;
        if (resp && strstr(resp, "Retry-After: ")) retry_after++;
        free(resp);
        double m = rss_mb(d);
        if (m > top) top = m;
    }
    snprintf(test_context, sizeof test_context, "%d parked uploads, want %d", n, want_status);
    if (want_status == 401) CHECK_INT(answered, n);
    else CHECK(answered >= n - 5); /* a few fit in --max-pending-bytes */
    if (want_status == 503) CHECK_INT(retry_after, answered);
    CHECK(top - base < 64);
    printf("%d parked 8 MiB uploads (%s): %d answered %d at the head, RSS %.1f -> %.1f MB\n", n,
           token_header ? "with a token" : "no token", answered, want_status, base, top);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
    free(fds);
    free(part);
    test_context[0] = '\0';
}

/* ?token= is for sendBeacon on ingest; nowhere else, and never more than
 * the ingest scope. */
static void test_query_token(const td_daemon *d)
{
    td_response r;
    const char *msg;
    r = td_req(d, "GET", "/v1/experiments/atk/results?token=" ADMIN, NULL);
    msg = json_string_value(json_object_get(r.json, "error"));
    snprintf(test_context, sizeof test_context, "admin ?token= on a read route");
    CHECK_INT(r.status, 401);
    CHECK(msg && strstr(msg, "?token=") && strstr(msg, "POST /v1/events"));
    td_free(&r);
    r = td_req(d, "DELETE", "/v1/experiments/atk?token=" ADMIN, NULL);
    snprintf(test_context, sizeof test_context, "admin ?token= on DELETE");
    CHECK_INT(r.status, 401);
    td_free(&r);
    CHECK(exists(d, "atk"));
    r = td_req(d, "POST", "/v1/events?token=" INGEST,
               "{\"experiment\":\"atk\",\"variant\":\"a\",\"user\":\"q1\",\"type\":\"exposure\"}");
    snprintf(test_context, sizeof test_context, "ingest ?token= on POST /v1/events");
    CHECK_INT(r.status, 202);
    td_free(&r);
    test_context[0] = '\0';
}

static int write_tokens(const char *path)
{
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    fprintf(fp, "admin %s\nread %s\ningest %s\n", ADMIN, READ, INGEST);
    return fclose(fp);
}

static int start(td_daemon *d, const char *name, const char *flags)
{
    td_init(d, name);
    snprintf(d->extra, sizeof d->extra, "%s", flags);
    if (td_start(d) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", d->log);
        return -1;
    }
    return 0;
}

static void create_experiment(const td_daemon *d)
{
    td_response r = td_request(d, "PUT", "/v1/experiments/atk", PUT_BODY, strlen(PUT_BODY),
                               "Authorization: Bearer " ADMIN "\r\n");
    CHECK_INT(r.status, 201);
    td_free(&r);
}

int main(void)
{
    td_daemon open_d, tok_d, slow_d;
    char flags[512], tokens[300];
    const char *e = getenv("ABSTAT_RSS_LIMIT_MB");
    double secs;
    struct rlimit rl;

    soak = getenv("ABSTAT_SOAK") && atoi(getenv("ABSTAT_SOAK")) > 0;
    secs = soak ? (getenv("ABSTAT_SOAK_SECONDS") ? atof(getenv("ABSTAT_SOAK_SECONDS")) : 30) : 3;
    if (e && atof(e) > 0) rss_limit_mb = atof(e);
#if defined(__SANITIZE_ADDRESS__)
    rss_limit_mb *= 2;
    {
        /* ASan keeps 256 MB of freed memory in quarantine by default, which
         * a flood fills in seconds; that is ASan's memory, not the daemon's.
         * Appended, so that CI's own options (abort_on_error, …) still hold. */
        static char opts[512];
        const char *old = getenv("ASAN_OPTIONS");
        snprintf(opts, sizeof opts, "%s%squarantine_size_mb=16", old ? old : "", old && *old ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
    }
#endif
    if (getenv("ABSTAT_WRAP") && *getenv("ABSTAT_WRAP")) rss_limit_mb *= 2;
    /* 1,000 slow clients need the descriptors. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* An open daemon: framing, HEAD, header count, endless lines, floods. */
    if (start(&open_d, "attack", "--max-body 1M") == 0) {
        create_experiment(&open_d);
        test_smuggling(&open_d);
        test_content_length(&open_d);
        test_head(&open_d);
        test_header_count(&open_d);
        test_endless_lines(&open_d);
        pipeline_flood(&open_d, soak ? 16 : 4, secs, "/healthz", NULL, "pipelining, no tokens");
        CHECK(healthz_ms(&open_d) >= 0);
        CHECK_INT(td_stop(&open_d), 0);
        td_cleanup(&open_d);
    }

    /* With tokens: ?token=, parked uploads refused at the head, the budget
     * of bodies in flight, and pipelining answered 401. */
    td_init(&tok_d, "attack-tok");
    snprintf(tokens, sizeof tokens, "%s.tokens", tok_d.dir);
    if (write_tokens(tokens) == 0) {
        snprintf(flags, sizeof flags, "--tokens %s --max-pending-bytes 32M", tokens);
        if (start(&tok_d, "attack-tok", flags) == 0) {
            create_experiment(&tok_d);
            test_query_token(&tok_d);
            parked_uploads(&tok_d, soak ? 50 : 20, NULL, 401);
            parked_uploads(&tok_d, soak ? 50 : 20, "Authorization: Bearer " INGEST "\r\n", 503);
            /* Every pipelined request answered 401. */
            pipeline_flood(&tok_d, soak ? 16 : 4, soak ? secs : 2, "/v1/experiments",
                           "Authorization: Bearer " INGEST "\r\n", "pipelining, tokens, all 401");
            CHECK_INT(td_stop(&tok_d), 0);
            td_cleanup(&tok_d);
        }
    }
    unlink(tokens);

    /* Slow clients against a small connection limit. */
    if (start(&slow_d, "attack-slow",
              soak ? "--max-connections 256 --header-timeout 5" : "--max-connections 64 --header-timeout 5") == 0) {
        create_experiment(&slow_d);
        slow_clients(&slow_d, soak ? 1000 : 200, soak ? (secs < 10 ? secs : 10) : 3);
        CHECK_INT(td_stop(&slow_d), 0);
        td_cleanup(&slow_d);
    }
    printf("test_attack: peak daemon RSS %.1f MB (limit %.0f MB)\n", peak_rss_mb, rss_limit_mb);
    return TEST_DONE("test_attack");
}
