/* server.h — the event loop and the HTTP listener. It knows nothing about
 * experiments: requests go to one callback; SIGTERM/SIGINT only break the
 * loop. */
#ifndef ABSTAT_SERVER_H
#define ABSTAT_SERVER_H

#include <event2/event.h>
#include <event2/http.h>
#include <stddef.h>

#include "error.h"
#include "guard.h"

typedef struct {
    size_t max_body;          /* bytes; larger bodies get 413 unread */
    size_t max_header_bytes;  /* request line and headers */
    int idle_timeout;         /* seconds of silence before a connection is closed */
    int max_connections;      /* client connections at once (counted by guard.c) */
    size_t max_headers;       /* header fields per request */
    size_t max_pending;       /* body bytes of all requests in flight */
    int header_timeout_ms;    /* from accept (or a request's first byte) to its whole head */
    /* Checks a request head before its body is read (guard.h); may be NULL. */
    ab_guard_admit_fn admit;
    void *admit_arg;
} ab_server_limits;

typedef struct {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    struct event *sigterm, *sigint;
    struct event *resume;     /* re-enables accepting after running out of fds */
    int port;
    int signalled; /* which signal broke the loop, 0 if none */
} ab_server;

/* Creates the event base (precise timers: libevent's default clock ticks
 * every few ms here). -1 with err set on failure. */
int ab_server_init(ab_server *s, ab_error *err);

/* Creates the HTTP server, routes every request to cb(req, arg), binds
 * host:port (0 = a free port, then s->port tells which). Every connection
 * goes through guard.c (bounded input, strict framing, counted
 * connections); cb must call ab_guard_request first. The file limit
 * (RLIMIT_NOFILE) leaves room for refusing connections over the limit; if
 * descriptors still run out, accepting pauses instead of failing. */
int ab_server_listen(ab_server *s, const char *host, int port, const ab_server_limits *lim,
                     void (*cb)(struct evhttp_request *, void *), void *arg, ab_error *err);

/* Runs until SIGTERM or SIGINT (or an error). */
int ab_server_run(ab_server *s);

/* Stops accepting and runs the loop up to `seconds` more so that replies
 * already queued reach their clients. */
void ab_server_drain(ab_server *s, double seconds);

void ab_server_free(ab_server *s);

#endif
