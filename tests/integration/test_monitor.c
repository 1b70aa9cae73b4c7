/* test_monitor.c — significance as it happens, against a real abstatd: a
 * clear winner becomes better, fires exactly one webhook (to a receiver in
 * this test, retried past a 500), `abstat check` exits 0; a loser 2; too
 * little data 1; a skewed split 3; a dead server 4; a restart keeps the
 * sequential p and significant_since. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "test.h"

static td_daemon D;

/* ---- A webhook receiver on 127.0.0.1 --------------------------------- */

static struct {
    int fd, port;
    pthread_mutex_t lock;
    int posts;          /* requests received */
    int fail_first;     /* answer 500 to this many first */
    char bodies[8][1024];
    volatile int stop;
} rx = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *receiver(void *arg)
{
    (void)arg;
    while (!rx.stop) {
        struct pollfd p = {rx.fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        int c = accept(rx.fd, NULL, NULL);
        if (c < 0) continue;
        char buf[8192];
        size_t used = 0;
        char *hdr_end = NULL;
        long clen = 0;
        for (;;) { /* read headers and the body by Content-Length */
            struct pollfd q = {c, POLLIN, 0};
            if (poll(&q, 1, 2000) <= 0) break;
            ssize_t n = recv(c, buf + used, sizeof buf - 1 - used, 0);
            if (n <= 0) break;
            used += (size_t)n;
            buf[used] = '\0';
            if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
                char *cl = strcasestr(buf, "Content-Length:");
                clen = cl ? strtol(cl + 15, NULL, 10) : 0;
            }
            if (hdr_end && (long)(used - (size_t)(hdr_end + 4 - buf)) >= clen) break;
        }
        pthread_mutex_lock(&rx.lock);
        int n = rx.posts++;
        int fail = n < rx.fail_first;
        if (hdr_end && n < 8) snprintf(rx.bodies[n], sizeof rx.bodies[n], "%s", hdr_end + 4);
        pthread_mutex_unlock(&rx.lock);
        const char *ans = fail ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                               : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        if (send(c, ans, strlen(ans), MSG_NOSIGNAL) < 0) {}
        close(c);
    }
    return NULL;
}

static int start_receiver(pthread_t *t)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    rx.fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (rx.fd < 0 || bind(rx.fd, (struct sockaddr *)&sa, sizeof sa) || listen(rx.fd, 16) ||
        getsockname(rx.fd, (struct sockaddr *)&sa, &len))
        return -1;
    rx.port = ntohs(sa.sin_port);
    return pthread_create(t, NULL, receiver, NULL);
}

static int posts(void)
{
    pthread_mutex_lock(&rx.lock);
    int n = rx.posts;
    pthread_mutex_unlock(&rx.lock);
    return n;
}

/* ---- Helpers ---------------------------------------------------------- */

static void create(const char *id, const char *body)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    td_response r = td_req(&D, "PUT", path, body);
    snprintf(test_context, sizeof test_context, "create %s", id);
    CHECK_INT(r.status, 201);
    test_context[0] = '\0';
    td_free(&r);
}

/* n users per arm; conv[i] of them convert; users named by prefix. */
static void feed(const char *id, const char *const *names, const int *users, const int *conv,
                 size_t k, const char *prefix)
{
    size_t cap = 16u << 20, len = 0;
    char *buf = malloc(cap);
    if (!buf) return;
    for (size_t a = 0; a < k; a++)
        for (int u = 0; u < users[a]; u++) {
            len += (size_t)snprintf(buf + len, cap - len,
                                    "{\"experiment\":\"%s\",\"variant\":\"%s\",\"user\":\"%s%zu-%d\","
                                    "\"type\":\"exposure\"}\n", id, names[a], prefix, a, u);
            if (u < conv[a])
                len += (size_t)snprintf(buf + len, cap - len,
                                        "{\"experiment\":\"%s\",\"user\":\"%s%zu-%d\","
                                        "\"type\":\"conversion\"}\n", id, prefix, a, u);
        }
    td_response r = td_request(&D, "POST", "/v1/events", buf, len, NULL);
    CHECK_INT(r.status, 202);
    td_free(&r);
    free(buf);
}

static json_t *decision(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s/decision", id);
    td_response r = td_req(&D, "GET", path, NULL);
    json_t *j = json_incref(r.json);
    td_free(&r);
    return j;
}

static const char *status_of(json_t *d, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(d, "variants"), i),
                                             "status"));
}

static int check_exit(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s check %s >/dev/null 2>&1", td_bin("abstat"), args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
    static const char *const two[] = {"control", "buy-now"};
    pthread_t rxt;
    char body[512], server[64], args[256];
    json_t *d;

    ab_stats_init();
    if (start_receiver(&rxt)) {
        test_fail(__FILE__, __LINE__, "cannot start the webhook receiver");
        return TEST_DONE("test_monitor");
    }
    rx.fail_first = 1; /* the first delivery gets a 500: the retry must follow */
    td_init(&D, "monitor");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_monitor");
    }
    snprintf(server, sizeof server, "--server http://127.0.0.1:%d", D.port);

    /* A clear winner: 5 % against 15 % over 2,000 users each. */
    snprintf(body, sizeof body, "{\"variants\":[\"control\",\"buy-now\"],\"min_days\":0,"
             "\"min_users\":100,\"webhook\":\"http://127.0.0.1:%d/hook?src=abstat\"}", rx.port);
    create("win", body);
    feed("win", two, (const int[]){2000, 2000}, (const int[]){100, 300}, 2, "w");
    for (int i = 0; i < 40 && posts() < 2; i++) td_sleep_ms(100); /* timer + 1 s retry */
    d = decision("win");
    CHECK(!strcmp(status_of(d, 0) ? status_of(d, 0) : "", "better"));
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(d, "verdict"), "decision")), "ship"));
    json_decref(d);
    CHECK_INT(posts(), 2); /* one 500, then the retry delivered */
    CHECK(strstr(rx.bodies[1], "\"event\":\"significance_reached\"") != NULL);
    CHECK(strstr(rx.bodies[1], "\"experiment\":\"win\"") != NULL);
    CHECK(strstr(rx.bodies[1], "\"variant\":\"buy-now\"") != NULL);
    CHECK(strstr(rx.bodies[1], "\"status\":\"better\"") != NULL);
    CHECK(strstr(rx.bodies[1], "\"p_value\":") != NULL && strstr(rx.bodies[1], "\"at\":") != NULL);
    snprintf(args, sizeof args, "win %s", server);
    CHECK_INT(check_exit(args), 0);
    snprintf(args, sizeof args, "win %s --variant buy-now", server);
    CHECK_INT(check_exit(args), 0);
    snprintf(args, sizeof args, "win %s --variant control", server);
    CHECK_INT(check_exit(args), 2);
    snprintf(args, sizeof args, "win %s --variant nosuch", server);
    CHECK_INT(check_exit(args), 4);
    /* More data later: significance stays, no second webhook. */
    feed("win", two, (const int[]){500, 500}, (const int[]){25, 25}, 2, "w2");
    td_sleep_ms(1300);
    CHECK_INT(posts(), 2);

    /* A clear loser. */
    create("lose", "{\"variants\":[\"control\",\"b\"],\"min_days\":0,\"min_users\":100}");
    feed("lose", (const char *const[]){"control", "b"}, (const int[]){2000, 2000},
         (const int[]){300, 100}, 2, "l");
    d = decision("lose");
    CHECK(!strcmp(status_of(d, 0) ? status_of(d, 0) : "", "worse"));
    json_decref(d);
    snprintf(args, sizeof args, "lose %s", server);
    CHECK_INT(check_exit(args), 2);

    /* Too little data. */
    create("early", "{\"variants\":[\"control\",\"b\"],\"min_days\":0,\"min_users\":1000}");
    feed("early", (const char *const[]){"control", "b"}, (const int[]){50, 50},
         (const int[]){2, 30}, 2, "e");
    snprintf(args, sizeof args, "early %s", server);
    CHECK_INT(check_exit(args), 1);
    d = decision("early");
    CHECK(strstr(json_string_value(json_object_get(json_object_get(d, "verdict"), "reason")),
                 "1000") != NULL);
    json_decref(d);

    /* A skewed split: 3,000 against 2,000 when 50/50 was intended. b is
     * far better, but nothing is announced while the split is wrong. */
    snprintf(body, sizeof body, "{\"variants\":[\"control\",\"b\"],\"min_days\":0,"
             "\"min_users\":10,\"webhook\":\"http://127.0.0.1:%d/hook?src=skew\"}", rx.port);
    create("skew", body);
    feed("skew", (const char *const[]){"control", "b"}, (const int[]){3000, 2000},
         (const int[]){150, 300}, 2, "s");
    td_sleep_ms(1300);
    CHECK_INT(posts(), 2);
    snprintf(args, sizeof args, "skew %s", server);
    CHECK_INT(check_exit(args), 3);
    d = decision("skew");
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(d, "verdict"), "decision")), "invalid"));
    CHECK(strstr(json_string_value(json_object_get(json_object_get(d, "verdict"), "reason")),
                 "3000") != NULL);
    json_decref(d);

    /* Dead server, unknown experiment. */
    CHECK_INT(check_exit("win --server http://127.0.0.1:1"), 4);
    snprintf(args, sizeof args, "nosuch %s", server);
    CHECK_INT(check_exit(args), 4);

    /* Restart: the running minimum and significant_since survive. */
    d = decision("win");
    json_t *v = json_array_get(json_object_get(d, "variants"), 0);
    double seq_before = json_number_value(json_object_get(v, "sequential_p"));
    char since[64];
    snprintf(since, sizeof since, "%s", json_string_value(json_object_get(v, "significant_since")));
    json_decref(d);
    CHECK_INT(td_stop(&D), 0);
    CHECK_INT(td_start(&D), 0);
    d = decision("win");
    v = json_array_get(json_object_get(d, "variants"), 0);
    CHECK_REL(json_number_value(json_object_get(v, "sequential_p")), seq_before, 0);
    CHECK(json_string_value(json_object_get(v, "significant_since")) &&
          !strcmp(json_string_value(json_object_get(v, "significant_since")), since));
    CHECK(!strcmp(status_of(d, 0) ? status_of(d, 0) : "", "better"));
    json_decref(d);
    td_sleep_ms(1200);
    CHECK_INT(posts(), 2); /* no webhook again after the restart */

    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    rx.stop = 1;
    pthread_join(rxt, NULL);
    close(rx.fd);
    return TEST_DONE("test_monitor");
}
