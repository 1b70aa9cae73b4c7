/* server.h — the event loop and the HTTP listener. It knows nothing about
 * experiments: requests go to one callback; SIGTERM/SIGINT only break the
 * loop; SIGHUP calls the reload callback (on the loop, as libevent runs
 * signal events: never inside a signal handler). */
#ifndef ABSTAT_SERVER_H
#define ABSTAT_SERVER_H

#include <event2/event.h>
#include <event2/http.h>
#include <stddef.h>

#include "base/error.h"
#include "http/guard.h"

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
    struct event *sigterm, *sigint, *sighup;
    struct event *resume;     /* re-enables accepting after running out of fds */
    struct event *drain_check; /* ab_server_drain's poll of its condition */
    int port;
    int signalled; /* which signal broke the loop, 0 if none */
    void (*reload)(void *arg); /* SIGHUP; may be NULL */
    void *reload_arg;
    /* ab_server_drain's state */
    int (*drained)(void *arg);
    void *drained_arg;
    double drain_until;       /* monotonic seconds */
    int drain_done;
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

/* What SIGHUP does: reload(arg), run on the loop. Set before
 * ab_server_run. */
void ab_server_set_reload(ab_server *s, void (*reload)(void *arg), void *arg);

/* Runs until SIGTERM or SIGINT (or an error). */
int ab_server_run(ab_server *s);

/* Closes the listening socket: new connections are refused by the
 * kernel. Connections that had completed their handshake before (in the
 * kernel's backlog) are accepted first, by a pass of the loop that does
 * not wait, so that what they sent before the signal is looked at like
 * every other request. */
void ab_server_close_listener(ab_server *s);

/* Runs the loop until drained(arg) is true (checked every 10 ms), for at
 * most `seconds`, or until another SIGTERM/SIGINT. 1 when drained, 0 when
 * the time ran out or a signal cut it short. */
int ab_server_drain(ab_server *s, double seconds, int (*drained)(void *arg), void *arg);

void ab_server_free(ab_server *s);

#endif
