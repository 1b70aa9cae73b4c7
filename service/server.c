/* server.c — libevent base, evhttp listener and signal handling. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/util.h>

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    ab_server *s = arg;
    (void)what;
    /* A libevent signal callback runs in the loop, not in the handler, but
     * it still only breaks the loop: main logs and shuts down. */
    s->signalled = (int)sig;
    event_base_loopbreak(s->base);
}

int ab_server_init(ab_server *s, ab_error *err)
{
    struct event_config *cfg;
    memset(s, 0, sizeof *s);
    /* Writing to a peer that went away must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    if (!(cfg = event_config_new())) return ab_error_set(err, 500, "out of memory");
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    s->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!s->base) return ab_error_set(err, 500, "cannot create the event base");
    return 0;
}

int ab_server_listen(ab_server *s, const char *host, int port, size_t max_body,
                     void (*cb)(struct evhttp_request *, void *), void *arg, ab_error *err)
{
    struct sockaddr_storage ss;
    ev_socklen_t len = sizeof ss;
    evutil_socket_t fd;

    if (!(s->http = evhttp_new(s->base))) return ab_error_set(err, 500, "cannot create evhttp");
    evhttp_set_gencb(s->http, cb, arg);
    evhttp_set_max_body_size(s->http, (ev_ssize_t)max_body);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                            EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH);
    evhttp_set_timeout(s->http, 60);
    if (!(s->sock = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port)))
        return ab_error_set(err, 500, "cannot listen on %s:%d: %s", host, port,
                            strerror(errno));
    fd = evhttp_bound_socket_get_fd(s->sock);
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return ab_error_set(err, 500, "getsockname: %s", strerror(errno));
    s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    s->sigterm = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sigint = evsignal_new(s->base, SIGINT, on_signal, s);
    if (!s->sigterm || !s->sigint || evsignal_add(s->sigterm, NULL) ||
        evsignal_add(s->sigint, NULL))
        return ab_error_set(err, 500, "cannot install signal handlers");
    return 0;
}

int ab_server_run(ab_server *s)
{
    return event_base_dispatch(s->base) < 0 ? -1 : 0;
}

void ab_server_drain(ab_server *s, double seconds)
{
    struct timeval tv;
    if (s->sock) {
        evhttp_del_accept_socket(s->http, s->sock);
        s->sock = NULL;
    }
    tv.tv_sec = (long)seconds;
    tv.tv_usec = (long)((seconds - (double)tv.tv_sec) * 1e6);
    event_base_loopexit(s->base, &tv);
    event_base_dispatch(s->base);
}

void ab_server_free(ab_server *s)
{
    if (s->sigterm) event_free(s->sigterm);
    if (s->sigint) event_free(s->sigint);
    if (s->http) evhttp_free(s->http);
    if (s->base) event_base_free(s->base);
    memset(s, 0, sizeof *s);
}
