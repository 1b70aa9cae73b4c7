/* server.c — libevent base, evhttp listener, signal handling and the
 * drain at a stop. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/listener.h>
#include <event2/util.h>

#include "base/clock.h"
#include "base/log.h"

/* Descriptors kept for the store (database, WAL, shm, lock), logs, the
 * listener and webhook connections, beyond the client connections. */
#define RESERVED_FDS 64

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    ab_server *s = arg;
    (void)what;
    /* A libevent signal callback runs in the loop, not in the handler, but
     * it still only breaks the loop: main logs and shuts down. */
    s->signalled = (int)sig;
    event_base_loopbreak(s->base);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    ab_server *s = arg;
    (void)sig;
    (void)what;
    /* Runs on the loop between callbacks (libevent's signal events), so
     * the reload may touch everything the loop owns. */
    if (s->reload) s->reload(s->reload_arg);
}

void ab_server_set_reload(ab_server *s, void (*reload)(void *arg), void *arg)
{
    s->reload = reload;
    s->reload_arg = arg;
}

int ab_server_init(ab_server *s, ab_error *err)
{
    struct event_config *cfg;
    memset(s, 0, sizeof *s);
    /* Writing to a peer that went away must not kill the daemon, and a
     * file-size limit must fail the write (then 503), not kill it. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    if (!(cfg = event_config_new())) return ab_error_set(err, 500, "out of memory");
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    s->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!s->base) return ab_error_set(err, 500, "cannot create the event base");
    return 0;
}

static void resume_accepting(evutil_socket_t fd, short what, void *arg)
{
    ab_server *s = arg;
    (void)fd;
    (void)what;
    if (s && s->sock) evconnlistener_enable(evhttp_bound_socket_get_listener(s->sock));
}

/* accept() failed. Out of descriptors means at the connection limit:
 * pause accepting for a moment (libevent would otherwise retry at once,
 * spinning) and let new clients wait in the kernel's backlog. */
/* The listener's user data is evhttp's, so its error callback finds the
 * server here (one server per process). */
static ab_server *listening_server;

static void accept_error(struct evconnlistener *lev, void *arg)
{
    ab_server *s = listening_server;
    (void)arg;
    int e = EVUTIL_SOCKET_ERROR();
    struct timeval pause = {0, 100000};
    if (s && (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)) {
        evconnlistener_disable(lev);
        evtimer_add(s->resume, &pause);
        ab_debug("connection limit reached: accepting paused for 100 ms");
        return;
    }
    ab_warn("accept failed: %s", evutil_socket_error_to_string(e));
}

static int set_fd_limit(int max_connections, ab_error *err)
{
    struct rlimit rl;
    /* Twice the connection limit: connections over it are accepted, to be
     * answered 503 or to displace one that never sent a request head. */
    rlim_t want = 2 * (rlim_t)max_connections + RESERVED_FDS;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return ab_error_set(err, 500, "getrlimit: %s", strerror(errno));
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
        return ab_error_set(err, 500, "--max-connections %d needs %llu file descriptors; the "
                            "hard limit is %llu", max_connections, (unsigned long long)want,
                            (unsigned long long)rl.rlim_max);
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return ab_error_set(err, 500, "setrlimit: %s", strerror(errno));
    return 0;
}

int ab_server_listen(ab_server *s, const char *host, int port, const ab_server_limits *lim,
                     void (*cb)(struct evhttp_request *, void *), void *arg, ab_error *err)
{
    struct sockaddr_storage ss;
    ev_socklen_t len = sizeof ss;
    evutil_socket_t fd;

    if (set_fd_limit(lim->max_connections, err)) return -1;
    if (!(s->http = evhttp_new(s->base))) return ab_error_set(err, 500, "cannot create evhttp");
    evhttp_set_gencb(s->http, cb, arg);
    {
        ab_guard_limits g = {lim->max_body, lim->max_header_bytes,
                             lim->max_headers ? lim->max_headers : 100,
                             lim->max_pending ? lim->max_pending : (size_t)128 << 20,
                             lim->header_timeout_ms, lim->max_connections};
        if (ab_guard_init(s->base, s->http, &g, lim->admit, lim->admit_arg))
            return ab_error_set(err, 500, "out of memory");
    }
    /* guard.c refuses larger bodies and heads first, in JSON; these are
     * evhttp's own limits behind it (a re-framed head can be a few bytes
     * longer than the one sent). */
    evhttp_set_max_body_size(s->http, (ev_ssize_t)lim->max_body);
    evhttp_set_max_headers_size(s->http, (ev_ssize_t)lim->max_header_bytes + 256);
    /* Every method reaches the router, which answers 405 in JSON with an
     * Allow header (libevent would answer 501 in HTML). */
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                            EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
    /* Read and write inactivity: a silent or half-open connection, or one
     * trickling less than a byte per period, is closed. */
    evhttp_set_timeout(s->http, lim->idle_timeout);
    if (!(s->sock = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port)))
        return ab_error_set(err, 500, "cannot listen on %s:%d: %s", host, port,
                            strerror(errno));
    if (!(s->resume = evtimer_new(s->base, resume_accepting, s)))
        return ab_error_set(err, 500, "out of memory");
    listening_server = s;
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(s->sock), accept_error);
    fd = evhttp_bound_socket_get_fd(s->sock);
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return ab_error_set(err, 500, "getsockname: %s", strerror(errno));
    s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    s->sigterm = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sigint = evsignal_new(s->base, SIGINT, on_signal, s);
    s->sighup = evsignal_new(s->base, SIGHUP, on_hup, s);
    if (!s->sigterm || !s->sigint || !s->sighup || evsignal_add(s->sigterm, NULL) ||
        evsignal_add(s->sigint, NULL) || evsignal_add(s->sighup, NULL))
        return ab_error_set(err, 500, "cannot install signal handlers");
    return 0;
}

int ab_server_run(ab_server *s)
{
    return event_base_dispatch(s->base) < 0 ? -1 : 0;
}

/* Passes of the loop that do not wait, to accept the backlog: one pass
 * runs the callbacks of one priority only, and the listener's is not the
 * highest. */
#define ACCEPT_PASSES 3

void ab_server_close_listener(ab_server *s)
{
    if (!s->sock) return;
    for (int i = 0; i < ACCEPT_PASSES; i++) event_base_loop(s->base, EVLOOP_NONBLOCK);
    if (s->resume) evtimer_del(s->resume);
    evhttp_del_accept_socket(s->http, s->sock);
    s->sock = NULL;
    listening_server = NULL;
}

static double mono_s(void)
{
    return (double)ab_mono_ns() * 1e-9;
}

/* Every 10 ms of a drain: stop when the condition holds or time is up.
 * (A timer of our own rather than event_base_loopexit, whose timer would
 * outlive a drain that ends early and cut the next one short.) */
static void drain_check(evutil_socket_t fd, short what, void *arg)
{
    ab_server *s = arg;
    (void)fd;
    (void)what;
    if (s->drained(s->drained_arg)) {
        s->drain_done = 1;
        event_base_loopbreak(s->base);
    } else if (mono_s() >= s->drain_until) {
        event_base_loopbreak(s->base);
    }
}

int ab_server_drain(ab_server *s, double seconds, int (*drained)(void *arg), void *arg)
{
    struct timeval period = {0, 10000};
    if (drained(arg)) return 1;
    if (seconds <= 0) return 0;
    if (!s->drain_check && !(s->drain_check = event_new(s->base, -1, EV_PERSIST, drain_check, s)))
        return 0;
    s->drained = drained;
    s->drained_arg = arg;
    s->drain_until = mono_s() + seconds;
    s->drain_done = 0;
    s->signalled = 0;
    if (event_add(s->drain_check, &period) != 0) return 0;
    /* A signal breaks this loop as it broke the main one. */
    event_base_dispatch(s->base);
    event_del(s->drain_check);
    return s->drain_done || drained(arg);
}

void ab_server_free(ab_server *s)
{
    if (listening_server == s) listening_server = NULL;
    if (s->resume) event_free(s->resume);
    if (s->sigterm) event_free(s->sigterm);
    if (s->sigint) event_free(s->sigint);
    if (s->sighup) event_free(s->sighup);
    if (s->drain_check) event_free(s->drain_check);
    if (s->http) evhttp_free(s->http);
    if (s->base) event_base_free(s->base);
    ab_guard_free();
    memset(s, 0, sizeof *s);
}
