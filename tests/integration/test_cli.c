/* test_cli.c — bin/abstat as people and CI use it: analyze and
 * sample-size (output, exit codes, the ambiguous-fraction refusal),
 * --version and --help, and `abstat check` against a real daemon — its
 * summary (both rates, labelled effects, "—" for undefined figures, whole
 * counts), its exit codes and errors, over http:// and over https://
 * through a TLS proxy with a throwaway CA made here. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/version.h"
#include "daemon.h"
#include "test.h"

static td_daemon D;

/* Runs a shell command line; returns the exit code, output in out. */
static int run(const char *cmd, char *out, size_t cap)
{
    FILE *fp = popen(cmd, "r");
    size_t n = 0;
    int st;
    if (!fp) return -1;
    n = fread(out, 1, cap - 1, fp);
    out[n] = '\0';
    st = pclose(fp);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* abstat ARGS (stdout and stderr) into out; its exit code. */
static int abstat(const char *args, char *out, size_t cap)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", td_bin("abstat"), args);
    return run(cmd, out, cap);
}

static void mentions(const char *out, const char *needle, int line)
{
    if (strstr(out, needle)) test_passed++;
    else test_fail(__FILE__, line, "output does not mention \"%s\": %.1500s", needle, out);
}
#define MENTIONS(out, needle) mentions((out), (needle), __LINE__)

static void lacks(const char *out, const char *needle, int line)
{
    if (!strstr(out, needle)) test_passed++;
    else test_fail(__FILE__, line, "output mentions \"%s\": %.1500s", needle, out);
}
#define LACKS(out, needle) lacks((out), (needle), __LINE__)

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void expect_exit(const char *args, const char *input, int code, const char *needle)
{
    char cmd[2048], out[65536];
    if (input)
        snprintf(cmd, sizeof cmd, "printf '%%s' '%s' | %s %s 2>&1", input, td_bin("abstat"), args);
    else
        snprintf(cmd, sizeof cmd, "%s %s 2>&1", td_bin("abstat"), args);
    snprintf(test_context, sizeof test_context, "abstat %s <<< %.80s", args, input ? input : "");
    CHECK_INT(run(cmd, out, sizeof out), code);
    if (needle && !strstr(out, needle))
        test_fail(__FILE__, __LINE__, "output does not mention \"%s\": %.300s", needle, out);
    test_context[0] = '\0';
}

/* ---- Offline commands ---------------------------------------------------- */

static void offline(void)
{
    char cmd[1024], out[65536];
    json_t *j;

    /* analyze: JSON on stdout, the SPEC example's figures. */
    snprintf(cmd, sizeof cmd, "printf '%%s' '{\"variants\":[{\"name\":\"c\",\"users\":5000,"
             "\"conversions\":250},{\"name\":\"v\",\"users\":5100,\"conversions\":300}]}' | %s analyze -",
             td_bin("abstat"));
    CHECK_INT(run(cmd, out, sizeof out), 0);
    j = json_loads(out, 0, NULL);
    CHECK(j != NULL);
    {
        json_t *d = json_object_get(json_object_get(json_array_get(json_object_get(j, "variants"), 1),
                                                    "vs_control"), "decision");
        CHECK_REL(json_number_value(json_object_get(d, "z")), 1.9538448938567112, 1e-6);
        CHECK_REL(json_number_value(json_object_get(d, "sequential_p")), 0.6821106257678865, 1e-6);
    }
    json_decref(j);

    expect_exit("analyze -", "{", 4, "invalid JSON");
    expect_exit("analyze -", "{\"variants\":[{\"name\":\"a\",\"users\":1,\"conversions\":2},{\"name\":\"b\",\"users\":1}]}", 4, "exceed users");
    expect_exit("analyze /nonexistent/file.json", NULL, 4, "cannot open");
    expect_exit("analyze", NULL, 4, "usage");
    expect_exit("analyze --pretty -", NULL, 4, "unknown option \"--pretty\" (see abstat analyze --help)");
    expect_exit("", NULL, 4, "usage");
    expect_exit("frobnicate", NULL, 4, "unknown command \"frobnicate\" (see abstat --help)");

    /* sample-size: the human sentence (counts with separators), and --json. */
    expect_exit("sample-size --baseline 0.05 --mde 10% --daily-users 5000", NULL, 0,
                "31,234 users per variant, 62,468 in total; at 5,000 users a day: 13 days, "
                "round up to 2 whole weeks");
    expect_exit("sample-size --baseline=5% --mde=0.1", NULL, 0, "31,234 users per variant");
    snprintf(cmd, sizeof cmd, "%s sample-size --baseline 0.05 --mde 0.1 --json", td_bin("abstat"));
    CHECK_INT(run(cmd, out, sizeof out), 0);
    j = json_loads(out, 0, NULL);
    CHECK_INT(json_integer_value(json_object_get(j, "per_variant")), 31234);
    CHECK(json_object_get(j, "days") == NULL);
    json_decref(j);
    expect_exit("sample-size --baseline 0.05 --mde 10% --variants 3 --correction bonferroni", NULL, 0,
                "users per variant");
    expect_exit("sample-size --mde 10%", NULL, 4, "baseline");
    expect_exit("sample-size --baseline 0.05 --mde 10% --alpha 0", NULL, 4, "alpha");
    expect_exit("sample-size --baseline 0.05 --mde abc", NULL, 4, "not a number");
    expect_exit("sample-size --baseline 0.05 --mde 10% --colour red", NULL, 4,
                "unknown option \"--colour\" (see abstat sample-size --help)");
    expect_exit("sample-size --baseline", NULL, 4, "--baseline needs a value");
    expect_exit("sample-size --baseline 0.05 --mde 10% extra", NULL, 4, "unexpected argument");

    /* A bare number of 1 or more for a fraction is refused, not read as
     * x100 %: --mde 10 answered "12 users per variant" (+1000 %). */
    expect_exit("sample-size --baseline 0.05 --mde 10", NULL, 4,
                "--mde 10 is ambiguous: did you mean 10%? (a bare number is relative: 0.1 = +10 %)");
    expect_exit("sample-size --baseline 0.05 --mde 1", NULL, 4, "did you mean 1%?");
    expect_exit("sample-size --baseline 0.05 --mde -20", NULL, 4, "did you mean -20%?");
    expect_exit("sample-size --baseline 0.05 --mde=10", NULL, 4, "--mde 10 is ambiguous");
    expect_exit("sample-size --baseline 5 --mde 10%", NULL, 4,
                "--baseline 5 is ambiguous: did you mean 5%? (a bare number is a fraction: 0.05 = 5 %)");
    expect_exit("sample-size --baseline 0.05 --mde 10% --alpha 5", NULL, 4,
                "--alpha 5 is ambiguous: did you mean 5%?");
    expect_exit("sample-size --baseline 0.05 --mde 10% --power 80", NULL, 4,
                "--power 80 is ambiguous: did you mean 80%? (a bare number is a fraction: 0.8 = 80 %)");
    /* The percent forms and fractions keep working; --variants is a count. */
    expect_exit("sample-size --baseline 5% --mde 10% --alpha 5% --power 80%", NULL, 0,
                "31,234 users per variant");
    expect_exit("sample-size --baseline 0.05 --mde -0.1", NULL, 0, "users per variant");
    expect_exit("sample-size --baseline 0.05 --mde 10% --variants 4", NULL, 0, "users per variant");
    /* A big effect written as a percentage is not ambiguous. */
    expect_exit("sample-size --baseline 0.05 --mde 150%", NULL, 0, "users per variant");
    /* Revenue and NPS (README "The command line"): money and points are not
     * fractions, whatever order --metric comes in; the sequential size too. */
    expect_exit("sample-size --metric revenue --sd 40 --baseline 12.5 --mde 5%", NULL, 0,
                "64,299 users per variant");
    expect_exit("sample-size --mde 5 --metric nps --promoters 0.4 --detractors 0.2", NULL, 0,
                "3,517 users per variant");
    expect_exit("sample-size --baseline 0.05 --mde 10%", NULL, 0,
                "sequential test (monitored continuously): 61,315 users per variant");
    expect_exit("sample-size --metric nps --promoters 0.4 --mde 5", NULL, 4, "detractors");
    expect_exit("sample-size --metric nps --promoters 0.6 --detractors 0.5 --mde 5", NULL, 4,
                "more than 1");
    expect_exit("sample-size --metric nps --promoters 0.4 --detractors 0.2 --mde 0", NULL, 4,
                "mde");
    expect_exit("sample-size --metric revenue --baseline 12.5 --mde 5%", NULL, 4, "sd");
    expect_exit("sample-size --metric ctr --baseline 0.05 --mde 10%", NULL, 4,
                "conversion, revenue, nps");
    expect_exit("sample-size --metric revenue --sd 40 --baseline 12.5 --mde 5", NULL, 4,
                "--mde 5 is ambiguous");
}

/* ---- --version and --help -------------------------------------------------- */

static void version_and_help(void)
{
    static const char *const every_option[] = {
        "--server URL", "--token T", "--variant NAME", "--cacert FILE", "--timeout S", "--json",
        "--baseline P", "--mde M", "--alpha A", "--power P", "--variants K", "--correction C",
        "--daily-users N", "--version", "--help", "--data SRC", "--metric M", "--sd S",
        "--promoters P", "--detractors D", "--sequential-tuning N"};
    static const char *const commands[] = {"check EXPERIMENT", "analyze FILE|-", "sample-size",
                                           "backup", "help [COMMAND]"};
    char out[65536];

    CHECK_INT(abstat("--version", out, sizeof out), 0);
    CHECK(!strcmp(out, "abstat " AB_VERSION "\n"));

    CHECK_INT(abstat("--help", out, sizeof out), 0);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) MENTIONS(out, commands[i]);
    for (size_t i = 0; i < sizeof every_option / sizeof every_option[0]; i++)
        MENTIONS(out, every_option[i]);
    /* Meanings and defaults, not just names. */
    MENTIONS(out, "(default: $ABSTAT_SERVER, else");
    MENTIONS(out, "http://127.0.0.1:8080");
    MENTIONS(out, "(default: 30)");
    MENTIONS(out, "(default: 0.05)");
    MENTIONS(out, "(default: 0.8)");
    MENTIONS(out, "(default: holm)");
    MENTIONS(out, "(default: 2)");
    MENTIONS(out, "3 invalid (sample-ratio mismatch)");
    {
        char again[65536];
        CHECK_INT(abstat("help", again, sizeof again), 0);
        CHECK(!strcmp(out, again));
        CHECK_INT(abstat("-h", again, sizeof again), 0);
        CHECK(!strcmp(out, again));
    }

    CHECK_INT(abstat("check --help", out, sizeof out), 0);
    MENTIONS(out, "--cacert FILE");
    MENTIONS(out, "--timeout S");
    MENTIONS(out, "exit status: 0 ship");
    LACKS(out, "--mde");
    CHECK_INT(abstat("help check", out, sizeof out), 0);
    MENTIONS(out, "--variant NAME");
    CHECK_INT(abstat("sample-size --help", out, sizeof out), 0);
    MENTIONS(out, "--mde M");
    MENTIONS(out, "a bare number of 1 or more is refused");
    CHECK_INT(abstat("help sample-size", out, sizeof out), 0);
    MENTIONS(out, "--daily-users N");
    CHECK_INT(abstat("analyze --help", out, sizeof out), 0);
    MENTIONS(out, "abstat analyze FILE|-");
    CHECK_INT(abstat("help backup", out, sizeof out), 0);
    MENTIONS(out, "abstat backup --data SRC DEST");

    /* Unknown options: exit 4 and where to read more, on one line. */
    CHECK_INT(abstat("--frobnicate", out, sizeof out), 4);
    MENTIONS(out, "unknown option \"--frobnicate\" (see abstat --help)");
    CHECK_INT(lines(out), 1);
    CHECK_INT(abstat("check some-exp --frobnicate", out, sizeof out), 4);
    MENTIONS(out, "abstat check: unknown option \"--frobnicate\" (see abstat check --help)");
    CHECK_INT(lines(out), 1);
    CHECK_INT(abstat("check some-exp --server", out, sizeof out), 4);
    MENTIONS(out, "--server needs a value");
    CHECK_INT(abstat("check", out, sizeof out), 4);
    MENTIONS(out, "see abstat check --help");
    CHECK_INT(abstat("check a b", out, sizeof out), 4);
    MENTIONS(out, "unexpected argument \"b\"");
    CHECK_INT(abstat("help nothing", out, sizeof out), 4);
    CHECK_INT(abstat("check x --timeout 0", out, sizeof out), 4);
    MENTIONS(out, "--timeout 0: must be a number of seconds above 0");
}

/* ---- A daemon with figures ----------------------------------------------- */

/* Appends one NDJSON line to buf. */
static void add(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < cap - *len) *len += (size_t)n;
    else test_fail(__FILE__, __LINE__, "event buffer full");
}

static void post(char *buf, size_t *len)
{
    td_response r;
    if (!*len) return;
    r = td_request(&D, "POST", "/v1/events", buf, *len, NULL);
    CHECK_INT(r.status, 202);
    td_free(&r);
    *len = 0;
}

static void create(const char *id, const char *body)
{
    char path[128];
    td_response r;
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    r = td_req(&D, "PUT", path, body);
    CHECK_INT(r.status, 201);
    td_free(&r);
}

/* "zero": 1,163 users per arm and no conversion, so every rate is 0,
 * the effect's interval, p and the plan are undefined. "conv", "rev",
 * "nps": 1,000 users per arm; control 50 conversions worth 40.00 and NPS
 * 40/30/30 of 100, buy-now 62 worth 45.00 and NPS 50/30/20. */
static void fill(void)
{
    static const char *const figured[] = {"conv", "rev", "nps"};
    size_t cap = 1u << 20, len = 0;
    long long now_ms = (long long)time(NULL) * 1000;
    char *buf = malloc(cap);
    if (!buf) {
        test_fail(__FILE__, __LINE__, "out of memory");
        return;
    }
    create("zero", "{\"variants\":[\"control\",\"buy-now\"]}");
    create("conv", "{\"variants\":[\"control\",\"buy-now\"]}");
    create("rev", "{\"variants\":[\"control\",\"buy-now\"],\"metric\":\"revenue\"}");
    create("nps", "{\"variants\":[\"control\",\"buy-now\"],\"metric\":\"nps\"}");
    for (int u = 0; u < 2326; u++) {
        add(buf, cap, &len, "{\"experiment\":\"zero\",\"variant\":\"%s\",\"user\":\"z%d\","
            "\"type\":\"exposure\"}\n", u % 2 ? "control" : "buy-now", u);
        if (len > cap / 2) post(buf, &len);
    }
    post(buf, &len);
    for (size_t e = 0; e < 3; e++) {
        for (int arm = 0; arm < 2; arm++) {
            for (int u = 0; u < 1000; u++) {
                const char *x = figured[e];
                int conv = arm ? u < 62 : u < 50, score = -1;
                if (u < 100) score = u < (arm ? 50 : 40) ? 9 : u < (arm ? 80 : 70) ? 7 : 3;
                /* conv ran for the last 10 days: a daily rate, so days remaining. */
                long long ts = e ? now_ms - 60000 : now_ms - 864000000LL + 400000LL * u;
                add(buf, cap, &len, "{\"experiment\":\"%s\",\"variant\":\"%s\",\"user\":\"u%d-%d\","
                    "\"type\":\"exposure\",\"ts\":%lld}\n", x, arm ? "buy-now" : "control", arm,
                    u, ts);
                if (conv)
                    add(buf, cap, &len, "{\"experiment\":\"%s\",\"user\":\"u%d-%d\",\"type\":"
                        "\"conversion\",\"value\":%s,\"ts\":%lld}\n", x, arm, u,
                        arm ? "45.00" : "40.00", ts + 1000);
                if (score >= 0)
                    add(buf, cap, &len, "{\"experiment\":\"%s\",\"user\":\"u%d-%d\",\"type\":"
                        "\"nps\",\"score\":%d,\"ts\":%lld}\n", x, arm, u, score, ts + 2000);
                if (len > cap / 2) post(buf, &len);
            }
        }
        post(buf, &len);
    }
    free(buf);
}

static void check_summary(void)
{
    char args[512], out[65536];
    json_t *j;

    /* Undefined figures print as "—", counts as whole numbers. */
    snprintf(args, sizeof args, "check zero --server http://127.0.0.1:%d", D.port);
    CHECK_INT(abstat(args, out, sizeof out), 1);
    MENTIONS(out, "zero: keep_running");
    MENTIONS(out, "buy-now (collecting): conversion at decision 0.00 % (1,163 users) against "
                  "0.00 % for control (1,163 users)");
    MENTIONS(out, "effect +0.00 points (\xe2\x80\x94), anytime-valid CI \xe2\x80\x94, "
                  "p_adj \xe2\x80\x94");
    MENTIONS(out, "progress \xe2\x80\x94 of the planned sample, days remaining \xe2\x80\x94");
    LACKS(out, "nan");
    LACKS(out, "null");
    LACKS(out, "1163");
    LACKS(out, ".0 users");

    /* Both rates, the effect in points and per cent, its interval, p_adj,
     * the status and the guardrails with theirs. */
    snprintf(args, sizeof args, "check conv --server http://127.0.0.1:%d", D.port);
    CHECK_INT(abstat(args, out, sizeof out), 1);
    MENTIONS(out, "conv: keep_running");
    MENTIONS(out, "buy-now (collecting): conversion at decision 6.20 % (1,000 users) against "
                  "5.00 % for control (1,000 users)");
    MENTIONS(out, "effect +1.20 points (+24.0 %), anytime-valid CI [");
    MENTIONS(out, "] points, p_adj ");
    LACKS(out, "p_adj \xe2\x80\x94");
    MENTIONS(out, "guardrail revenue per user: ");
    MENTIONS(out, "+0.79 per user [");
    MENTIONS(out, "guardrail NPS: ");
    MENTIONS(out, "+20.0 points [");
    MENTIONS(out, "must stay above 0.00");
    MENTIONS(out, "progress ");
    MENTIONS(out, " % of the planned sample, about ");
    MENTIONS(out, " days remaining");
    LACKS(out, "nan");

    /* Revenue per user in currency units; NPS in points, with no ratio. */
    snprintf(args, sizeof args, "check rev --server http://127.0.0.1:%d", D.port);
    CHECK_INT(abstat(args, out, sizeof out), 1);
    MENTIONS(out, "buy-now (collecting): revenue per user 2.79 (1,000 users) against 2.00 for "
                  "control (1,000 users)");
    MENTIONS(out, "effect +0.79 per user (+39.5 %), anytime-valid CI [");
    MENTIONS(out, "guardrail conversion at decision: ");
    MENTIONS(out, "+1.20 points [");
    snprintf(args, sizeof args, "check nps --server http://127.0.0.1:%d", D.port);
    CHECK_INT(abstat(args, out, sizeof out), 1);
    MENTIONS(out, "buy-now (collecting): NPS 30.0 (1,000 users) against 10.0 for control "
                  "(1,000 users)");
    MENTIONS(out, "effect +20.0 points, anytime-valid CI [");

    /* --json: the decision document as the server sent it. */
    snprintf(args, sizeof args, "check conv --json --server http://127.0.0.1:%d", D.port);
    {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s %s", td_bin("abstat"), args);
        CHECK_INT(run(cmd, out, sizeof out), 1);
    }
    j = json_loads(out, 0, NULL);
    CHECK(j != NULL);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(j, "verdict"), "decision"))
                      ? json_string_value(json_object_get(json_object_get(j, "verdict"), "decision"))
                      : "", "keep_running"));
    CHECK_INT(json_integer_value(json_object_get(j, "control_users")), 1000);
    json_decref(j);

    /* Exit 4 with one line for what is not a decision. */
    snprintf(args, sizeof args, "check missing --server http://127.0.0.1:%d", D.port);
    CHECK_INT(abstat(args, out, sizeof out), 4);
    MENTIONS(out, "server answered 404");
    snprintf(args, sizeof args, "check conv --variant nobody --server=http://127.0.0.1:%d", D.port);
    CHECK_INT(abstat(args, out, sizeof out), 4);
    MENTIONS(out, "no variant \"nobody\"");
    snprintf(args, sizeof args, "check conv --variant buy-now --server http://127.0.0.1:%d", D.port);
    CHECK_INT(abstat(args, out, sizeof out), 1);
    /* $ABSTAT_SERVER is the default --server. */
    snprintf(args, sizeof args, "ABSTAT_SERVER=http://127.0.0.1:%d %s check conv >/dev/null 2>&1",
             D.port, td_bin("abstat"));
    CHECK_INT(run(args, out, sizeof out), 1);
}

static void check_errors(void)
{
    char out[65536];
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    char args[512];

    /* A port nobody listens on. */
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    snprintf(args, sizeof args, "check conv --server http://127.0.0.1:%d", port);
    CHECK_INT(abstat(args, out, sizeof out), 4);
    MENTIONS(out, "cannot connect to http://127.0.0.1:");
    MENTIONS(out, "connection refused");
    CHECK_INT(lines(out), 1);
    CHECK_INT(abstat("check conv --server ftp://127.0.0.1/", out, sizeof out), 4);
    MENTIONS(out, "must be http://host[:port] or https://host[:port]");
    CHECK_INT(abstat("check conv --server http://user:pw@127.0.0.1/", out, sizeof out), 4);
    MENTIONS(out, "must not hold credentials");
    CHECK_INT(abstat("check conv --server http://no-such-host.invalid:1 --timeout 10", out,
                     sizeof out), 4);
    MENTIONS(out, "cannot resolve no-such-host.invalid");
    CHECK_INT(lines(out), 1);
}

/* ---- https:// ---------------------------------------------------------------
 * A TLS proxy in front of the daemon: it takes one connection at a time,
 * records the SNI name and the request head, passes the request to the
 * daemon and its answer back. */

typedef struct {
    SSL_CTX *ctx;
    int fd, port, backend;
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t lock;
    char sni[256], head[4096];
    int served, refused;
} tls_proxy;

static void *proxy_main(void *arg)
{
    tls_proxy *p = arg;
    while (!p->stop) {
        struct pollfd q = {p->fd, POLLIN, 0};
        struct timeval tv = {5, 0};
        char head[4096], buf[16384];
        size_t used = 0;
        ssize_t n;
        SSL *ssl;
        int c, b;
        if (poll(&q, 1, 50) <= 0 || (c = accept(p->fd, NULL, NULL)) < 0) continue;
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (!(ssl = SSL_new(p->ctx))) {
            close(c);
            continue;
        }
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) != 1) {
            pthread_mutex_lock(&p->lock);
            p->refused++;
            pthread_mutex_unlock(&p->lock);
            goto next;
        }
        head[0] = '\0';
        while (used + 1 < sizeof head && !strstr(head, "\r\n\r\n")) {
            int got = SSL_read(ssl, head + used, (int)(sizeof head - 1 - used));
            if (got <= 0) break;
            used += (size_t)got;
            head[used] = '\0';
        }
        pthread_mutex_lock(&p->lock);
        {
            const char *sn = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
            snprintf(p->sni, sizeof p->sni, "%s", sn ? sn : "");
            snprintf(p->head, sizeof p->head, "%s", head);
        }
        pthread_mutex_unlock(&p->lock);
        if ((b = td_connect(p->backend)) >= 0) {
            setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            if (td_send_all(b, head, used) == 0)
                while ((n = recv(b, buf, sizeof buf, 0)) > 0)
                    if (SSL_write(ssl, buf, (int)n) <= 0) break;
            close(b);
        }
        SSL_shutdown(ssl);
        pthread_mutex_lock(&p->lock);
        p->served++;
        pthread_mutex_unlock(&p->lock);
    next:
        SSL_free(ssl);
        close(c);
    }
    return NULL;
}

static int proxy_start(tls_proxy *p, SSL_CTX *ctx, int backend)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(p, 0, sizeof *p);
    p->ctx = ctx;
    p->backend = backend;
    pthread_mutex_init(&p->lock, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) return -1;
    if (bind(p->fd, (struct sockaddr *)&sa, sizeof sa) || listen(p->fd, 16) ||
        getsockname(p->fd, (struct sockaddr *)&sa, &len)) {
        close(p->fd);
        return -1;
    }
    p->port = ntohs(sa.sin_port);
    if (pthread_create(&p->thread, NULL, proxy_main, p)) {
        close(p->fd);
        return -1;
    }
    return 0;
}

static void proxy_stop(tls_proxy *p)
{
    p->stop = 1;
    pthread_join(p->thread, NULL);
    close(p->fd);
    pthread_mutex_destroy(&p->lock);
}

/* Runs an openssl command in dir; 0 when it worked. */
static int openssl_cmd(const char *dir, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && openssl %s >/dev/null 2>&1", dir, args);
    return system(cmd);
}

/* A throwaway CA (ca.pem) and two server certificates it signs: NAME.pem
 * and NAME.key with the subjectAltName san. */
static int make_ca(const char *dir)
{
    return openssl_cmd(dir, "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                            "-days 2 -subj /CN=abstat-test-ca -keyout ca.key -out ca.pem "
                            "-addext basicConstraints=critical,CA:TRUE "
                            "-addext keyUsage=critical,keyCertSign,cRLSign");
}

static int make_server_cert(const char *dir, const char *name, const char *san)
{
    char args[1024], path[600];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s.ext", dir, name);
    if (!(fp = fopen(path, "w"))) return -1;
    fprintf(fp, "subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n", san);
    if (fclose(fp)) return -1;
    snprintf(args, sizeof args, "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-subj /CN=%s -keyout %s.key -out %s.csr", name, name, name);
    if (openssl_cmd(dir, args)) return -1;
    snprintf(args, sizeof args, "x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-days 2 -extfile %s.ext -out %s.pem", name, name, name);
    return openssl_cmd(dir, args);
}

static SSL_CTX *server_ctx(const char *dir, const char *name)
{
    char cert[600], key[600];
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

static void check_https(void)
{
    char dir[300], cmd[700], args[1200], out[65536], ca[400];
    SSL_CTX *good = NULL, *other = NULL;
    tls_proxy pg, po;
    int have_good = 0, have_other = 0;

    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        test_fail(__FILE__, __LINE__, "the openssl command is needed to make test certificates "
                                      "(apt-get install openssl)");
        return;
    }
    snprintf(dir, sizeof dir, "%s.certs", D.dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0 || make_ca(dir) ||
        make_server_cert(dir, "good", "DNS:localhost,IP:127.0.0.1") ||
        make_server_cert(dir, "other", "DNS:other.example")) {
        test_fail(__FILE__, __LINE__, "making the test certificates in %s failed", dir);
        return;
    }
    good = server_ctx(dir, "good");
    other = server_ctx(dir, "other");
    CHECK(good != NULL && other != NULL);
    if (good && proxy_start(&pg, good, D.port) == 0) have_good = 1;
    if (other && proxy_start(&po, other, D.port) == 0) have_other = 1;
    CHECK(have_good && have_other);

    if (have_good) {
        /* Trusted through --cacert, by name (SNI sent) and by address. */
        snprintf(args, sizeof args, "check conv --server https://localhost:%d --cacert %s "
                 "--token tok-123456 --timeout 10", pg.port, ca);
        CHECK_INT(abstat(args, out, sizeof out), 1);
        MENTIONS(out, "conv: keep_running");
        MENTIONS(out, "6.20 % (1,000 users) against 5.00 % for control");
        pthread_mutex_lock(&pg.lock);
        CHECK(!strcmp(pg.sni, "localhost"));
        MENTIONS(pg.head, "GET /v1/experiments/conv/decision HTTP/1.1\r\n");
        MENTIONS(pg.head, "Authorization: Bearer tok-123456\r\n");
        {
            char host[64];
            snprintf(host, sizeof host, "Host: localhost:%d\r\n", pg.port);
            MENTIONS(pg.head, host);
        }
        pthread_mutex_unlock(&pg.lock);
        snprintf(args, sizeof args, "check conv --server=HTTPS://127.0.0.1:%d/ --cacert=%s "
                 "--timeout 10", pg.port, ca);
        CHECK_INT(abstat(args, out, sizeof out), 1);
        MENTIONS(out, "conv: keep_running");

        /* Untrusted: the system store does not know the throwaway CA. */
        snprintf(args, sizeof args, "check conv --server https://localhost:%d --timeout 10",
                 pg.port);
        CHECK_INT(abstat(args, out, sizeof out), 4);
        MENTIONS(out, "abstat check: TLS certificate not accepted: unable to get local issuer "
                      "certificate");
        MENTIONS(out, "--cacert FILE");
        CHECK_INT(lines(out), 1);
        /* A bundle without its CA: the system store is replaced, not added to. */
        snprintf(args, sizeof args, "check conv --server https://localhost:%d --cacert %s/other.pem "
                 "--timeout 10", pg.port, dir);
        CHECK_INT(abstat(args, out, sizeof out), 4);
        MENTIONS(out, "TLS certificate not accepted: ");
        MENTIONS(out, "its CA is not in the --cacert bundle");
        /* A bundle that cannot be read. */
        snprintf(args, sizeof args, "check conv --server https://localhost:%d --cacert %s/none.pem "
                 "--timeout 10", pg.port, dir);
        CHECK_INT(abstat(args, out, sizeof out), 4);
        MENTIONS(out, "cannot load the CA bundle");
        CHECK_INT(lines(out), 1);
        /* Plain http to a TLS port. */
        snprintf(args, sizeof args, "check conv --server http://127.0.0.1:%d --timeout 10", pg.port);
        CHECK_INT(abstat(args, out, sizeof out), 4);
        MENTIONS(out, "(is it https://?)");
        CHECK_INT(lines(out), 1);
    }
    if (have_other) {
        /* Trusted CA, but the certificate is for another name. */
        snprintf(args, sizeof args, "check conv --server https://localhost:%d --cacert %s "
                 "--timeout 10", po.port, ca);
        CHECK_INT(abstat(args, out, sizeof out), 4);
        MENTIONS(out, "abstat check: TLS certificate not accepted: hostname mismatch (the "
                      "certificate of https://localhost:");
        MENTIONS(out, "is not made out to localhost)");
        CHECK_INT(lines(out), 1);
        snprintf(args, sizeof args, "check conv --server https://127.0.0.1:%d --cacert %s "
                 "--timeout 10", po.port, ca);
        CHECK_INT(abstat(args, out, sizeof out), 4);
        MENTIONS(out, "TLS certificate not accepted: IP address mismatch");
        pthread_mutex_lock(&po.lock);
        CHECK_INT(po.served, 0);
        CHECK(po.refused >= 2);
        pthread_mutex_unlock(&po.lock);
    }
    if (have_good) proxy_stop(&pg);
    if (have_other) proxy_stop(&po);
    SSL_CTX_free(good);
    SSL_CTX_free(other);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

int main(void)
{
    /* The proxy writes to clients that may have gone. */
    signal(SIGPIPE, SIG_IGN);
    unsetenv("ABSTAT_SERVER");
    unsetenv("ABSTAT_TOKEN");
    offline();
    version_and_help();

    td_init(&D, "cli");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_cli");
    }
    fill();
    check_summary();
    check_errors();
    check_https();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    return TEST_DONE("test_cli");
}
