/* daemon.c (tests) — process control and a blocking HTTP client for the
 * integration tests of abstatd. */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *td_bin(const char *name)
{
    static char path[4][512];
    static int next;
    const char *dir = getenv("ABSTAT_BIN");
    char *p = path[next++ % 4];
    snprintf(p, 512, "%s/%s", dir ? dir : "bin", name);
    return p;
}

void td_init(td_daemon *d, const char *name)
{
    char cmd[600];
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/abstat-test-%s-%d", name, (int)getpid());
    snprintf(d->log, sizeof d->log, "%s.log", d->dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not clear %s\n", d->dir);
}

void td_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int td_start(td_daemon *d)
{
    char portfile[300];
    char *argv[48];
    int argc = 0;
    char extra[512], *save = NULL, *tok;

    snprintf(portfile, sizeof portfile, "%s.port", d->dir);
    unlink(portfile);
    /* ABSTAT_WRAP runs the daemon under a tool, e.g. valgrind (make valgrind). */
    char wrap[512];
    const char *w = getenv("ABSTAT_WRAP");
    snprintf(wrap, sizeof wrap, "%s", w ? w : "");
    for (char *t = strtok_r(wrap, " ", &save); t && argc < 16; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    save = NULL;
    argv[argc++] = (char *)td_bin("abstatd");
    argv[argc++] = "--listen";
    argv[argc++] = "127.0.0.1:0";
    argv[argc++] = d->store ? "--store" : "--data";
    argv[argc++] = d->store ? (char *)d->store : d->dir;
    argv[argc++] = "--port-file";
    argv[argc++] = portfile;
    snprintf(extra, sizeof extra, "%s", d->extra);
    for (tok = strtok_r(extra, " ", &save); tok && argc < 30; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;

    d->pid = fork();
    if (d->pid < 0) return -1;
    if (d->pid == 0) {
        /* The daemon dies with its test: an aborted test must not leave it
         * running (it would hold the test runner's pipe open). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < 3000; i++) { /* up to 60 s (valgrind and big replays are slow) */
        FILE *fp = fopen(portfile, "r");
        int status;
        if (fp) {
            int ok = fscanf(fp, "%d", &d->port) == 1;
            fclose(fp);
            if (ok && d->port > 0) return 0;
        }
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return -1;
        }
        td_sleep_ms(20);
    }
    return -1;
}

int td_stop(td_daemon *d)
{
    int status = -1;
    if (d->pid <= 0) return -1;
    kill(d->pid, SIGTERM);
    for (int i = 0; i < 1500; i++) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        td_sleep_ms(20);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, &status, 0);
    d->pid = 0;
    return -1;
}

void td_kill(td_daemon *d)
{
    int status;
    if (d->pid <= 0) return;
    kill(d->pid, SIGKILL);
    waitpid(d->pid, &status, 0);
    d->pid = 0;
}

void td_cleanup(td_daemon *d)
{
    char cmd[900];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s.port'", d->dir, d->log, d->dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", d->dir);
}

int td_connect(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int td_send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until the peer closes (we always send Connection: close) or 30 s. */
static td_response read_response(int fd)
{
    td_response r;
    size_t cap = 65536, used = 0;
    char *buf = malloc(cap + 1);
    memset(&r, 0, sizeof r);
    if (!buf) return r;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 30000) <= 0) break;
        if (used == cap) {
            char *g = realloc(buf, cap * 2 + 1);
            if (!g) break;
            buf = g;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + used, cap - used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &r.status) != 1) r.status = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (sep) {
        size_t hl = (size_t)(sep - buf);
        snprintf(r.headers, sizeof r.headers, "%.*s", (int)(hl < 2047 ? hl : 2047), buf);
        r.len = used - hl - 4;
        r.body = malloc(r.len + 1);
        if (r.body) {
            memcpy(r.body, sep + 4, r.len);
            r.body[r.len] = '\0';
            r.json = json_loadb(r.body, r.len, 0, NULL);
        }
    }
    free(buf);
    return r;
}

td_response td_raw(const td_daemon *d, const char *bytes, size_t len)
{
    td_response r;
    int fd = td_connect(d->port);
    memset(&r, 0, sizeof r);
    if (fd < 0) return r;
    if (td_send_all(fd, bytes, len) == 0) {
        shutdown(fd, SHUT_WR);
        r = read_response(fd);
    }
    close(fd);
    return r;
}

td_response td_request(const td_daemon *d, const char *method, const char *path,
                       const char *body, size_t len, const char *extra_headers)
{
    td_response r;
    char head[4096];
    int fd = td_connect(d->port), n;
    memset(&r, 0, sizeof r);
    if (fd < 0) return r;
    n = snprintf(head, sizeof head,
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                 "Content-Length: %zu\r\n\r\n",
                 method, path, extra_headers ? extra_headers : "", body ? len : 0);
    if (n > 0 && (size_t)n < sizeof head && td_send_all(fd, head, (size_t)n) == 0 &&
        (!body || td_send_all(fd, body, len) == 0))
        r = read_response(fd);
    close(fd);
    return r;
}

td_response td_req(const td_daemon *d, const char *method, const char *path, const char *body)
{
    return td_request(d, method, path, body, body ? strlen(body) : 0, NULL);
}

void td_free(td_response *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

double td_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double td_metric_in(const char *body, const char *name, double absent)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = body ? strstr(body, key) : NULL;
    return p ? strtod(p + strlen(key), NULL) : absent;
}

double td_events_of(const td_daemon *d, const char *id)
{
    char path[300];
    td_response r;
    double n;
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    r = td_req(d, "GET", path, NULL);
    n = r.status == 200 ? json_number_value(json_object_get(r.json, "events")) : -1;
    td_free(&r);
    return n;
}

double td_metric(const td_daemon *d, const char *name)
{
    td_response r = td_req(d, "GET", "/metrics", NULL);
    double v = td_metric_in(r.body, name, -1);
    td_free(&r);
    return v;
}

char *td_read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!fp) return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1))) {
        size_t got = fread(buf, 1, (size_t)n, fp);
        buf[got] = '\0';
    }
    fclose(fp);
    return buf;
}
