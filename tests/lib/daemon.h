/* daemon.h (tests) — starting a real abstatd on 127.0.0.1 port 0 and
 * talking HTTP/1.1 to it, for the integration tests. */
#ifndef ABSTAT_TEST_DAEMON_H
#define ABSTAT_TEST_DAEMON_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
    char dir[256];       /* data directory */
    char log[300];       /* its stderr */
    char extra[512];     /* extra flags, space-separated */
    const char *store;   /* --store URL instead of --data dir (dir still names the log) */
} td_daemon;

typedef struct {
    int status;          /* HTTP status, 0 when the request failed */
    char *body;          /* NUL-terminated, caller frees (td_free) */
    size_t len;
    json_t *json;        /* parsed body or NULL */
    char headers[2048];
} td_response;

/* Makes a fresh data directory under /tmp. */
void td_init(td_daemon *d, const char *name);
/* Starts abstatd on the data directory; 0 when it is listening. */
int td_start(td_daemon *d);
/* SIGTERM and wait: returns the exit status (0 for a clean stop). */
int td_stop(td_daemon *d);
/* SIGKILL and wait. */
void td_kill(td_daemon *d);
/* Removes the data directory. */
void td_cleanup(td_daemon *d);

/* One request on a fresh connection; body may be NULL. */
td_response td_request(const td_daemon *d, const char *method, const char *path,
                       const char *body, size_t len, const char *extra_headers);
/* The same with a NUL-terminated body. */
td_response td_req(const td_daemon *d, const char *method, const char *path, const char *body);
void td_free(td_response *r);

/* Raw bytes in, raw response out (for malformed HTTP). */
td_response td_raw(const td_daemon *d, const char *bytes, size_t len);

/* Writes all n bytes to fd: 0, or -1 on a send error. */
int td_send_all(int fd, const char *p, size_t n);
/* Monotonic seconds. */
double td_now_s(void);
/* A gauge or counter of d's /metrics (unauthenticated), -1 when absent. */
double td_metric(const td_daemon *d, const char *name);
/* The "events" GET /v1/experiments/ID answers on d, -1 when not 200. */
double td_events_of(const td_daemon *d, const char *id);
/* The same read from a /metrics body; `absent` when it is not there. */
double td_metric_in(const char *body, const char *name, double absent);
/* A blocking TCP connection to 127.0.0.1:port, or -1. */
int td_connect(int port);

/* The whole file at path, NUL-terminated (caller frees), or NULL. */
char *td_read_file(const char *path);
/* Sleeps ms milliseconds. */
void td_sleep_ms(int ms);

/* Path to a program in ABSTAT_BIN (or ./bin). */
const char *td_bin(const char *name);

#endif
