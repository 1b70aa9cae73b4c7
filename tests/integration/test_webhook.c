/* test_webhook.c — webhooks that cannot hurt the daemon (issue 10, SPEC
 * sections 6 and 9), against real abstatd processes and receivers in this
 * test:
 *  A. one daemon in its own mount namespace whose /etc/resolv.conf names a
 *     UDP socket here that never answers; at once: a webhook to a host name
 *     (DNS never answers), four hostile receivers (200 with Content-Length
 *     1e11 and a streamed body, an endless chunked body, endless headers, an
 *     endless chunk-size line) and one that never answers. Throughout,
 *     /healthz answers within 100 ms, the loop's worst stall stays under
 *     10 ms, RSS stays bounded, the hostile ones are retried, the silent
 *     one is cut at the 10 s deadline and retried 1 s after that moment.
 *  B. twelve deliveries to a receiver that holds every connection: at most
 *     8 at once, the rest queued, all delivered once it answers.
 *  C. a receiver down across a SIGTERM restart and a kill -9: the delivery
 *     arrives after it comes back, with the same id; not again after that.
 *  D. ?key=secret: never in the log; GET shows it to admin only; HTTP:// in
 *     capitals is accepted and delivered; https:// with a certificate that
 *     the daemon trusts is delivered, one for another name is refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"
#include "engine/webhook.h"

/* ---- Receivers ---------------------------------------------------------- */

enum {
    RX_OK = 0,      /* reads the request, answers 200 */
    RX_BIGLEN,      /* 200, Content-Length: 100000000000, then bytes forever */
    RX_CHUNKED,     /* 200, chunked, 4 KiB chunks forever */
    RX_HEADERS,     /* 200, then header lines forever */
    RX_CHUNKLINE,   /* 200, chunked, a chunk-size line that never ends */
    RX_SILENT,      /* reads the request, never answers, holds the connection */
    RX_TLS          /* TLS with the test's certificate, then like RX_OK */
};

#define RX_MAX_CONN 64

typedef struct {
    int mode, fd, port;
    pthread_t thread;
    volatile int stop;
    volatile int release;           /* RX_SILENT: answer 200 from now on */
    SSL_CTX *tls;
    pthread_mutex_t lock;
    int conns;                      /* connections accepted */
    int open, max_open;             /* held at once (RX_SILENT) */
    double accepted_at[RX_MAX_CONN], closed_at[RX_MAX_CONN]; /* by the daemon */
    int posts;                      /* complete requests read */
    char bodies[16][1024];
    int handshake_failures;
} receiver;

typedef struct {
    receiver *rx;
    int c, n;
    SSL *ssl;
} rx_conn;

static int listen_on(int port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64) ||
        getsockname(fd, (struct sockaddr *)&sa, &len)) {
        close(fd);
        return -1;
    }
    return fd;
}

static int port_of(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    return ntohs(sa.sin_port);
}

static ssize_t c_recv(rx_conn *k, char *buf, size_t n)
{
    if (k->ssl) return SSL_read(k->ssl, buf, (int)n);
    return recv(k->c, buf, n, 0);
}

static int c_send(rx_conn *k, const char *buf, size_t n)
{
    if (k->ssl) return SSL_write(k->ssl, buf, (int)n) > 0 ? 0 : -1;
    while (n) {
        ssize_t w = send(k->c, buf, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one request (headers and Content-Length body) into buf; 0 when whole. */
static int read_request(rx_conn *k, char *buf, size_t cap, char **body)
{
    size_t used = 0;
    char *hdr_end = NULL;
    long clen = 0;
    for (;;) {
        struct pollfd q = {k->c, POLLIN, 0};
        if (!(k->ssl && SSL_pending(k->ssl)) && poll(&q, 1, 3000) <= 0) return -1;
        ssize_t n = c_recv(k, buf + used, cap - 1 - used);
        if (n <= 0) return -1;
        used += (size_t)n;
        buf[used] = '\0';
        if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
            char *cl = strcasestr(buf, "Content-Length:");
            clen = cl ? strtol(cl + 15, NULL, 10) : 0;
        }
        if (hdr_end && (long)(used - (size_t)(hdr_end + 4 - buf)) >= clen) {
            *body = hdr_end + 4;
            return 0;
        }
        if (used + 1 >= cap) return -1;
    }
}

static void record_body(receiver *rx, const char *body)
{
    pthread_mutex_lock(&rx->lock);
    if (rx->posts < 16) snprintf(rx->bodies[rx->posts], sizeof rx->bodies[0], "%s", body);
    rx->posts++;
    pthread_mutex_unlock(&rx->lock);
}

/* Streams buf until the daemon closes the connection (or 30 s). */
static void stream(rx_conn *k, const char *buf, size_t len)
{
    double end = td_now_s() + 30;
    while (!k->rx->stop && td_now_s() < end)
        if (c_send(k, buf, len)) break;
}

static void *serve_conn(void *arg)
{
    rx_conn *k = arg;
    receiver *rx = k->rx;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    char req[16384], *body = NULL, big[16384];

    if (rx->mode == RX_TLS) {
        k->ssl = SSL_new(rx->tls);
        SSL_set_fd(k->ssl, k->c);
        if (SSL_accept(k->ssl) != 1) {
            pthread_mutex_lock(&rx->lock);
            rx->handshake_failures++;
            pthread_mutex_unlock(&rx->lock);
            goto out;
        }
    }
    if (read_request(k, req, sizeof req, &body)) goto out;
    record_body(rx, body);
    switch (rx->mode) {
    case RX_OK:
    case RX_TLS:
        c_send(k, ok, strlen(ok));
        break;
    case RX_BIGLEN:
        memset(big, 'x', sizeof big);
        if (c_send(k, "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n", 49)) break;
        stream(k, big, sizeof big);
        break;
    case RX_CHUNKED: {
        size_t n = (size_t)snprintf(big, sizeof big, "1000\r\n");
        memset(big + n, 'y', 4096);
        memcpy(big + n + 4096, "\r\n", 2);
        if (c_send(k, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 47)) break;
        stream(k, big, n + 4098);
        break;
    }
    case RX_HEADERS: {
        size_t n = 0;
        while (n + 40 < sizeof big) n += (size_t)snprintf(big + n, sizeof big - n, "X-Pad-%zu: abcdefghijklmnop\r\n", n);
        if (c_send(k, "HTTP/1.1 200 OK\r\n", 17)) break;
        stream(k, big, n);
        break;
    }
    case RX_CHUNKLINE:
        memset(big, '1', sizeof big);
        if (c_send(k, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 47)) break;
        stream(k, big, sizeof big);
        break;
    case RX_SILENT: {
        /* Hold the connection until the daemon closes it or we are told to
         * answer. */
        char b[512];
        while (!rx->stop) {
            struct pollfd q = {k->c, POLLIN, 0};
            if (rx->release) {
                c_send(k, ok, strlen(ok));
                break;
            }
            if (poll(&q, 1, 20) > 0 && recv(k->c, b, sizeof b, 0) <= 0) break;
        }
        break;
    }
    }
out:
    pthread_mutex_lock(&rx->lock);
    if (k->n < RX_MAX_CONN) rx->closed_at[k->n] = td_now_s();
    rx->open--;
    pthread_mutex_unlock(&rx->lock);
    if (k->ssl) {
        SSL_shutdown(k->ssl);
        SSL_free(k->ssl);
    }
    close(k->c);
    free(k);
    return NULL;
}

static void *rx_main(void *arg)
{
    receiver *rx = arg;
    while (!rx->stop) {
        struct pollfd p = {rx->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept(rx->fd, NULL, NULL);
        if (c < 0) continue;
        rx_conn *k = calloc(1, sizeof *k);
        pthread_t t;
        if (!k) {
            close(c);
            continue;
        }
        k->rx = rx;
        k->c = c;
        pthread_mutex_lock(&rx->lock);
        k->n = rx->conns++;
        if (k->n < RX_MAX_CONN) rx->accepted_at[k->n] = td_now_s();
        if (++rx->open > rx->max_open) rx->max_open = rx->open;
        pthread_mutex_unlock(&rx->lock);
        if (pthread_create(&t, NULL, serve_conn, k) == 0) pthread_detach(t);
        else {
            close(c);
            free(k);
        }
    }
    return NULL;
}

/* port 0: any free one. */
static int rx_start(receiver *rx, int mode, int port)
{
    memset(rx, 0, sizeof *rx);
    pthread_mutex_init(&rx->lock, NULL);
    rx->mode = mode;
    if ((rx->fd = listen_on(port)) < 0) return -1;
    rx->port = port_of(rx->fd);
    return pthread_create(&rx->thread, NULL, rx_main, rx);
}

static void rx_stop(receiver *rx)
{
    rx->stop = 1;
    pthread_join(rx->thread, NULL);
    close(rx->fd);
    td_sleep_ms(100); /* connection threads see stop */
}

static int rx_count(receiver *rx, int *field)
{
    pthread_mutex_lock(&rx->lock);
    int n = *field;
    pthread_mutex_unlock(&rx->lock);
    return n;
}

/* ---- Daemon helpers ------------------------------------------------------- */

static td_daemon D;
static const char *auth_admin = "Authorization: Bearer admin-token-1234567890\r\n";
static const char *auth_read = "Authorization: Bearer read-token-1234567890\r\n";
static const char *auth_ingest = "Authorization: Bearer ingest-token-1234567890\r\n";
static int use_tokens;

static td_response req_as(const char *method, const char *path, const char *body,
                          const char *auth)
{
    return td_request(&D, method, path, body, body ? strlen(body) : 0, use_tokens ? auth : NULL);
}

static void create(const char *id, const char *webhook)
{
    char path[128], body[2600];
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    snprintf(body, sizeof body, "{\"variants\":[\"control\",\"buy-now\"],\"min_days\":0,"
             "\"min_users\":100,\"webhook\":\"%s\"}", webhook);
    td_response r = req_as("PUT", path, body, auth_admin);
    snprintf(test_context, sizeof test_context, "create %s", id);
    CHECK_INT(r.status, 201);
    test_context[0] = '\0';
    td_free(&r);
}

/* A clear winner: 5 % against 15 % over 1,000 users each. */
static void feed_winner(const char *id)
{
    size_t cap = 1u << 20, len = 0;
    char *buf = malloc(cap);
    if (!buf) return;
    for (int a = 0; a < 2; a++)
        for (int u = 0; u < 1000; u++) {
            len += (size_t)snprintf(buf + len, cap - len,
                                    "{\"experiment\":\"%s\",\"variant\":\"%s\",\"user\":\"u%d-%d\","
                                    "\"type\":\"exposure\"}\n", id, a ? "buy-now" : "control", a, u);
            if (u < (a ? 150 : 50))
                len += (size_t)snprintf(buf + len, cap - len,
                                        "{\"experiment\":\"%s\",\"user\":\"u%d-%d\","
                                        "\"type\":\"conversion\"}\n", id, a, u);
        }
    td_response r = td_request(&D, "POST", "/v1/events", buf, len, use_tokens ? auth_ingest : NULL);
    snprintf(test_context, sizeof test_context, "feed %s", id);
    CHECK_INT(r.status, 202);
    test_context[0] = '\0';
    td_free(&r);
    free(buf);
}

/* A figure from /metrics; NaN when absent. */
static double metric(const char *name)
{
    td_response r = req_as("GET", "/metrics", NULL, auth_read);
    double v = td_metric_in(r.body, name, NAN);
    td_free(&r);
    return v;
}

/* kB of "VmRSS:" or "VmHWM:" in /proc/PID/status; -1 when unreadable. */
static long proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    long v = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, field, strlen(field))) v = strtol(line + strlen(field), NULL, 10);
    fclose(fp);
    return v;
}

static int file_count(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "r");
    char line[4096];
    int n = 0;
    if (!fp) return 0;
    while (fgets(line, sizeof line, fp))
        if (strstr(line, needle)) n++;
    fclose(fp);
    return n;
}

/* The loop-stall goal: 10 ms; 50 ms on a machine loaded far beyond its
 * CPUs (see scenario A) or for a daemon slowed down by a sanitizer or
 * valgrind. A blocking lookup would stall for seconds either way. */
static double loop_stall_goal(double measured)
{
    double load = 0;
#ifdef __SANITIZE_ADDRESS__
    const int slowed = 1;
#else
    const int slowed = getenv("ABSTAT_WRAP") != NULL;
#endif
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf", &load) != 1) load = 0;
        fclose(lf);
    }
    double goal = slowed || load > 2.0 * (double)sysconf(_SC_NPROCESSORS_ONLN) ? 0.050 : 0.010;
    if (goal > 0.010 && measured >= 0.010)
        printf("ok load average %.1f on %ld CPUs: loop stall goal relaxed to 50 ms\n", load,
               sysconf(_SC_NPROCESSORS_ONLN));
    return goal;
}

/* ---- The /healthz prober ---------------------------------------------------- */

static struct {
    volatile int stop;
    double worst;      /* seconds, the slowest /healthz */
    int probes, failures;
} probe;

static void *prober(void *arg)
{
    (void)arg;
    while (!probe.stop) {
        double t0 = td_now_s();
        td_response r = td_req(&D, "GET", "/healthz", NULL);
        double dt = td_now_s() - t0;
        if (r.status != 200) probe.failures++;
        if (dt > probe.worst) probe.worst = dt;
        probe.probes++;
        td_free(&r);
        td_sleep_ms(20);
    }
    return NULL;
}

/* ---- A: DNS, hostile and silent receivers at once ----------------------------- */

static void scenario_hostile(void)
{
    receiver hostile[4], silent;
    static const int modes[4] = {RX_BIGLEN, RX_CHUNKED, RX_HEADERS, RX_CHUNKLINE};
    static const char *const names[4] = {"biglen", "chunked", "headers", "chunkline"};
    char url[256], resolv[300], wrap[300];
    int dns_fd, dns_port, dns_queries = 0;
    pthread_t pt;
    FILE *fp;

    /* A name server that never answers: a UDP socket nobody reads, on
     * port 53 of a loopback address of its own (glibc's resolver knows no
     * other port, evdns takes any). */
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    sa.sin_addr.s_addr = htonl(0x7f540000u | ((unsigned)getpid() & 0xfffe) | 1u); /* 127.84.x.y */
    if (dns_fd < 0 || bind(dns_fd, (struct sockaddr *)&sa, sizeof sa) ||
        getsockname(dns_fd, (struct sockaddr *)&sa, &sl)) {
        test_fail(__FILE__, __LINE__, "cannot bind the silent name server");
        return;
    }
    dns_port = ntohs(sa.sin_port);
    snprintf(resolv, sizeof resolv, "/tmp/abstat-test-resolv-%d.conf", (int)getpid());
    snprintf(wrap, sizeof wrap, "/tmp/abstat-test-netns-%d.sh", (int)getpid());
    if (!(fp = fopen(resolv, "w"))) return;
    (void)dns_port;
    fprintf(fp, "nameserver %s\n", inet_ntoa(sa.sin_addr));
    fclose(fp);
    /* The daemon runs in its own mount namespace with that resolv.conf. */
    if (!(fp = fopen(wrap, "w"))) return;
    fprintf(fp, "#!/bin/sh\nexec unshare -m sh -c 'mount --bind \"$0\" /etc/resolv.conf && "
                "exec \"$@\"' %s \"$@\"\n", resolv);
    fclose(fp);
    chmod(wrap, 0755);

    for (int i = 0; i < 4; i++)
        if (rx_start(&hostile[i], modes[i], 0)) {
            test_fail(__FILE__, __LINE__, "cannot start a receiver");
            return;
        }
    if (rx_start(&silent, RX_SILENT, 0)) return;

    td_init(&D, "webhook-a");
    char *saved_wrap = getenv("ABSTAT_WRAP") ? strdup(getenv("ABSTAT_WRAP")) : NULL;
    setenv("ABSTAT_WRAP", wrap, 1);
    int started = td_start(&D);
    if (saved_wrap) setenv("ABSTAT_WRAP", saved_wrap, 1);
    else unsetenv("ABSTAT_WRAP");
    free(saved_wrap);
    if (started != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start in its namespace (see %s)", D.log);
        return;
    }
    long rss0 = proc_kb(D.pid, "VmRSS:");

    create("dns", "http://hook.abstat-test.invalid:8080/hook");
    for (int i = 0; i < 4; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", hostile[i].port);
        create(names[i], url);
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", silent.port);
    create("silent", url);

    probe.stop = 0;
    pthread_create(&pt, NULL, prober, NULL);
    feed_winner("dns");
    for (int i = 0; i < 4; i++) feed_winner(names[i]);
    feed_winner("silent");

    /* The silent receiver's first connection is cut at 10 s; its retry
     * follows 1 s later. Wait for that retry (at most 20 s). */
    long peak = 0;
    for (int i = 0; i < 200 && rx_count(&silent, &silent.conns) < 2; i++) {
        long kb = proc_kb(D.pid, "VmRSS:");
        if (kb > peak) peak = kb;
        char b[512];
        while (recv(dns_fd, b, sizeof b, 0) > 0) dns_queries++;
        td_sleep_ms(100);
    }
    td_sleep_ms(300);
    probe.stop = 1;
    pthread_join(pt, NULL);
    {
        char b[512];
        while (recv(dns_fd, b, sizeof b, 0) > 0) dns_queries++;
    }

    /* Nothing waited for DNS or a peer. */
    double stall = metric("abstat_loop_stall_max_seconds");
    printf("ok A: %d /healthz probes, slowest %.1f ms, loop stall max %.2f ms, DNS queries %d, "
           "RSS %ld kB at start, peak %ld kB (VmHWM %ld kB)\n", probe.probes, probe.worst * 1e3,
           stall * 1e3, dns_queries, rss0, peak, proc_kb(D.pid, "VmHWM:"));
    CHECK(probe.probes > 100);
    CHECK_INT(probe.failures, 0);
    /* The goal is 10 ms. On a machine loaded far beyond its CPUs (other
     * test suites at once) a lock holder or a page fault can still hold the
     * loop up a little: then 50 ms, which a blocking lookup (seconds) or a
     * copied answer would still exceed by far. */
    double stall_goal = loop_stall_goal(stall);
    CHECK(stall < stall_goal);
    /* /healthz within 100 ms (250 ms on the overloaded machine, where the
     * prober's own thread waits for a CPU that long). */
    CHECK(probe.worst < (stall_goal > 0.010 ? 0.250 : 0.100));
    CHECK(dns_queries >= 1); /* the lookup did go to the silent server */
    CHECK(file_count(D.log, "webhook dns/buy-now/") >= 1);

    /* Memory stayed bounded while four receivers streamed. */
    CHECK(rss0 > 0 && peak > 0);
    CHECK(peak - rss0 < 64 * 1024);
    /* Each hostile answer was cut and the delivery retried. */
    for (int i = 0; i < 4; i++) {
        snprintf(test_context, sizeof test_context, "%s", names[i]);
        CHECK(rx_count(&hostile[i], &hostile[i].conns) >= 2);
        CHECK(rx_count(&hostile[i], &hostile[i].posts) >= 2);
        test_context[0] = '\0';
    }
    CHECK(file_count(D.log, "answer larger than") + file_count(D.log, "answer too large") >= 4);

    /* The deadline cut the silent attempt at 10 s; the retry came 1 s
     * after that moment (timers armed from the current time). */
    CHECK(rx_count(&silent, &silent.conns) >= 2);
    pthread_mutex_lock(&silent.lock);
    double held = silent.closed_at[0] - silent.accepted_at[0];
    double gap = silent.accepted_at[1] - silent.closed_at[0];
    pthread_mutex_unlock(&silent.lock);
    printf("ok A: silent receiver held %.2f s, retry %.2f s after the cut\n", held, gap);
    CHECK(held > 9.5 && held < 11.5);
    CHECK(gap > 0.8 && gap < 2.0);
    CHECK(file_count(D.log, "no complete answer within 10 s") >= 1);
    CHECK(metric("abstat_webhooks_pending") >= 6);

    /* B: the connection budget. 12 deliveries to a receiver that holds
     * each connection: at most 8 at once; once it answers, all arrive. */
    receiver hold;
    if (rx_start(&hold, RX_SILENT, 0) == 0) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hold", hold.port);
        for (int i = 0; i < 12; i++) {
            char id[32];
            snprintf(id, sizeof id, "budget%d", i);
            create(id, url);
            feed_winner(id);
        }
        td_sleep_ms(2500);
        int max_open = rx_count(&hold, &hold.max_open);
        printf("ok B: %d connections held at most at once\n", max_open);
        CHECK(max_open <= 8);
        CHECK(max_open >= 4); /* the others in flight (dns, silent) use slots too */
        hold.release = 1;
        for (int i = 0; i < 100 && rx_count(&hold, &hold.posts) < 12; i++) td_sleep_ms(100);
        CHECK(rx_count(&hold, &hold.posts) >= 12);
        CHECK(file_count(D.log, "webhook budget") >= 12);
        rx_stop(&hold);
    }

    CHECK_INT(td_stop(&D), 0);
    if (!getenv("ABSTAT_TEST_KEEP")) td_cleanup(&D);
    for (int i = 0; i < 4; i++) rx_stop(&hostile[i]);
    rx_stop(&silent);
    close(dns_fd);
    unlink(resolv);
    unlink(wrap);
}

/* ---- C and D: restarts, redaction, schemes, TLS ------------------------------ */

/* The receiver's id from a body: "experiment/variant/ms". */
static void body_id(const char *body, char *id, size_t size)
{
    json_t *j = json_loads(body, 0, NULL);
    snprintf(id, size, "%s", j && json_string_value(json_object_get(j, "id"))
                                 ? json_string_value(json_object_get(j, "id")) : "");
    json_decref(j);
}

static int make_cert(const char *dir, const char *name, const char *san)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=%s "
             "-addext subjectAltName=%s -keyout %s/%s.key -out %s/%s.pem >/dev/null 2>&1",
             name, san, dir, name, dir, name);
    return system(cmd);
}

static SSL_CTX *server_ctx(const char *dir, const char *name)
{
    char cert[400], key[400];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
    snprintf(key, sizeof key, "%s/%s.key", dir, name);
    if (!ctx || SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static void scenario_restart(void)
{
    char tokens[300], url[300], extra[400], id0[200] = "", certdir[300], cmd[1000];
    receiver rx, shout, tls_ok, tls_bad;
    int port, have_tls = 0;
    FILE *fp;

    /* A port with nobody listening (yet). */
    int fd = listen_on(0);
    port = port_of(fd);
    close(fd);

    td_init(&D, "webhook-c");
    snprintf(tokens, sizeof tokens, "%s.tokens", D.dir);
    if (!(fp = fopen(tokens, "w"))) return;
    fprintf(fp, "admin admin-token-1234567890\nread read-token-1234567890\n"
                "ingest ingest-token-1234567890\n");
    fclose(fp);
    snprintf(D.extra, sizeof D.extra, "--tokens %s", tokens);
    use_tokens = 1;

    /* TLS: a certificate for 127.0.0.1 that the daemon trusts (its
     * SSL_CERT_FILE), and one for another name. */
    snprintf(certdir, sizeof certdir, "%s.certs", D.dir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", certdir);
    if (system(cmd) == 0 && make_cert(certdir, "good", "IP:127.0.0.1") == 0 &&
        make_cert(certdir, "other", "DNS:other.example") == 0) {
        char bundle[1200];
        snprintf(bundle, sizeof bundle, "cat %s/good.pem %s/other.pem > %s/trusted.pem", certdir,
                 certdir, certdir);
        if (system(bundle) == 0) {
            snprintf(bundle, sizeof bundle, "%s/trusted.pem", certdir);
            setenv("SSL_CERT_FILE", bundle, 1);
            have_tls = 1;
        }
    }
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return;
    }

    /* D: the scheme rule in one place. */
    {
        td_response r = req_as("PUT", "/v1/experiments/bad-scheme",
                               "{\"variants\":[\"a\",\"b\"],\"webhook\":\"ftp://x.example/\"}",
                               auth_admin);
        CHECK_INT(r.status, 400);
        td_free(&r);
    }
    if (rx_start(&shout, RX_OK, 0) == 0) {
        snprintf(url, sizeof url, "HTTP://127.0.0.1:%d/Upper?key=secret-upper", shout.port);
        create("upper", url);
        feed_winner("upper");
    }
    if (have_tls) {
        SSL_CTX *good = server_ctx(certdir, "good"), *other = server_ctx(certdir, "other");
        if (good && other && rx_start(&tls_ok, RX_TLS, 0) == 0 && rx_start(&tls_bad, RX_TLS, 0) == 0) {
            tls_ok.tls = good;
            tls_bad.tls = other;
            snprintf(url, sizeof url, "https://127.0.0.1:%d/tls?key=secret-tls", tls_ok.port);
            create("tls-good", url);
            feed_winner("tls-good");
            snprintf(url, sizeof url, "HTTPS://127.0.0.1:%d/tls", tls_bad.port);
            create("tls-other", url);
            feed_winner("tls-other");
        } else {
            have_tls = 0;
            test_fail(__FILE__, __LINE__, "cannot set up the TLS receivers");
        }
    }

    /* C: the receiver is down when significance is reached. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook?key=secret-value&src=abstat", port);
    create("rs", url);
    feed_winner("rs");
    for (int i = 0; i < 50 && file_count(D.log, "webhook rs/buy-now/") < 1; i++) td_sleep_ms(100);
    CHECK(file_count(D.log, "webhook rs/buy-now/") >= 1);
    CHECK_INT(td_stop(&D), 0);          /* pending at a clean stop */
    int before = file_count(D.log, "webhook rs/buy-now/");
    CHECK_INT(td_start(&D), 0);
    for (int i = 0; i < 50 && file_count(D.log, "webhook rs/buy-now/") <= before; i++) td_sleep_ms(100);
    CHECK(file_count(D.log, "webhook rs/buy-now/") > before); /* tried again after the restart */
    CHECK(file_count(D.log, "stored deliveries pending from before the restart") >= 1);
    td_kill(&D);                         /* pending at a crash */
    CHECK_INT(td_start(&D), 0);
    td_sleep_ms(200);
    if (rx_start(&rx, RX_OK, port) != 0) {
        test_fail(__FILE__, __LINE__, "cannot listen on port %d again", port);
    } else {
        for (int i = 0; i < 100 && rx_count(&rx, &rx.posts) < 1; i++) td_sleep_ms(100);
        CHECK(rx_count(&rx, &rx.posts) >= 1);
        body_id(rx.bodies[0], id0, sizeof id0);
        printf("ok C: delivered after two restarts, id %s\n", id0);
        CHECK(!strncmp(id0, "rs/buy-now/", 11));
        CHECK(strstr(rx.bodies[0], "\"event\":\"significance_reached\"") != NULL);
        /* the id is the one significance_since gives */
        {
            td_response r = req_as("GET", "/v1/experiments/rs/decision", NULL, auth_read);
            json_t *v = json_array_get(json_object_get(r.json, "variants"), 0);
            const char *since = json_string_value(json_object_get(v, "significant_since"));
            CHECK(since != NULL);
            CHECK(since && strstr(rx.bodies[0], since) != NULL);
            td_free(&r);
        }
        td_sleep_ms(1500);
        /* only the refused TLS one is still pending */
        CHECK_INT(metric("abstat_webhooks_pending"), have_tls ? 1 : 0);
        int got = rx_count(&rx, &rx.posts);
        for (int i = 1; i < got && i < 16; i++) {
            char idn[200];
            body_id(rx.bodies[i], idn, sizeof idn);
            CHECK(!strcmp(idn, id0)); /* a repeat carries the same id */
        }
        /* Delivered: gone from the outbox; no new delivery after a restart. */
        CHECK_INT(td_stop(&D), 0);
        CHECK_INT(td_start(&D), 0);
        td_sleep_ms(1500);
        CHECK_INT(rx_count(&rx, &rx.posts), got);
        rx_stop(&rx);
    }

    /* D: the capital HTTP:// was delivered; TLS verified. */
    CHECK(rx_count(&shout, &shout.posts) >= 1);
    if (have_tls) {
        for (int i = 0; i < 30 && rx_count(&tls_ok, &tls_ok.posts) < 1; i++) td_sleep_ms(100);
        CHECK(rx_count(&tls_ok, &tls_ok.posts) >= 1);
        CHECK(tls_ok.posts && strstr(tls_ok.bodies[0], "\"experiment\":\"tls-good\"") != NULL);
        CHECK_INT(rx_count(&tls_bad, &tls_bad.posts), 0);
        CHECK(rx_count(&tls_bad, &tls_bad.conns) >= 1);
        CHECK(file_count(D.log, "TLS certificate not accepted") >= 1);
    }

    /* D: redaction. The read token sees no secret; admin sees it all. */
    td_response r = req_as("GET", "/v1/experiments/rs", NULL, auth_read);
    CHECK_INT(r.status, 200);
    snprintf(extra, sizeof extra, "http://127.0.0.1:%d/hook?key=***&src=***", port);
    CHECK(!strcmp(json_string_value(json_object_get(r.json, "webhook")) ?
                  json_string_value(json_object_get(r.json, "webhook")) : "", extra));
    CHECK(r.body && !strstr(r.body, "secret"));
    td_free(&r);
    r = req_as("GET", "/v1/experiments", NULL, auth_read);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "key=***") && !strstr(r.body, "secret"));
    td_free(&r);
    r = req_as("GET", "/v1/experiments/rs", NULL, auth_admin);
    CHECK(r.body && strstr(r.body, "key=secret-value&src=abstat"));
    td_free(&r);
    r = req_as("GET", "/v1/experiments", NULL, auth_admin);
    CHECK(r.body && strstr(r.body, "secret-value") && strstr(r.body, "secret-upper"));
    td_free(&r);
    /* TLS handshakes, refused certificates and restarts held nothing up. */
    double stall = metric("abstat_loop_stall_max_seconds");
    printf("ok D: loop stall max %.2f ms since the last start\n", stall * 1e3);
    CHECK(stall < loop_stall_goal(stall));
    CHECK_INT(td_stop(&D), 0);
    /* Every attempt was logged, never with its query. */
    CHECK(file_count(D.log, "webhook") >= 4);
    CHECK_INT(file_count(D.log, "secret"), 0);
    if (file_count(D.log, "secret")) {
        snprintf(cmd, sizeof cmd, "grep -m3 secret %s >&2", D.log);
        if (system(cmd)) {}
    }

    rx_stop(&shout);
    if (have_tls) {
        rx_stop(&tls_ok);
        rx_stop(&tls_bad);
        SSL_CTX_free(tls_ok.tls);
        SSL_CTX_free(tls_bad.tls);
    }
    unsetenv("SSL_CERT_FILE");
    if (!getenv("ABSTAT_TEST_KEEP")) td_cleanup(&D);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", certdir, tokens);
    if (system(cmd)) {}
    use_tokens = 0;
}

/* The URL helpers on their own. */
static void unit_urls(void)
{
    static const char *const red[][2] = {
        {"https://h.example/p?key=secret&src=x", "https://h.example/p?key=***&src=***"},
        {"http://h.example:8080/a/b", "http://h.example:8080/a/b"},
        {"http://h.example/?flag&k=&t=1#frag", "http://h.example/?flag&k=***&t=***"},
        {"HTTP://u:pw@h.example/x?a=b", "HTTP://h.example/x?a=***"},
        {"http://[::1]:9/h?token=t", "http://[::1]:9/h?token=***"},
    };
    static const char *const logs[][2] = {
        {"https://h.example/p?key=secret", "https://h.example/p?..."},
        {"http://u:pw@h.example:81/x#f", "http://h.example:81/x"},
        {"http://h.example", "http://h.example"},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof red / sizeof red[0]; i++) {
        char *r = ab_webhook_url_redacted(red[i][0]);
        snprintf(test_context, sizeof test_context, "redact %s -> %s", red[i][0], r ? r : "NULL");
        CHECK(r && !strcmp(r, red[i][1]));
        free(r);
    }
    for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++) {
        ab_webhook_url_for_log(logs[i][0], buf, sizeof buf);
        snprintf(test_context, sizeof test_context, "log %s -> %s", logs[i][0], buf);
        CHECK(!strcmp(buf, logs[i][1]));
    }
    test_context[0] = '\0';
    CHECK(ab_webhook_url_problem("HtTpS://h.example/x", 19) == NULL);
    CHECK(ab_webhook_url_problem("ftp://h.example/x", 17) != NULL);
    CHECK(ab_webhook_url_problem("https://u@h.example/x", 21) != NULL);
}

int main(void)
{
    /* Receivers write to connections the daemon closes (TLS too). */
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    ab_stats_init();
    unit_urls();
    scenario_hostile();
    scenario_restart();
    return TEST_DONE("test_webhook");
}
