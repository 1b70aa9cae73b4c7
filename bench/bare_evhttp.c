/* bare_evhttp.c — the ceiling for abstatd's HTTP layer: an evhttp server
 * on the same libevent settings that answers every request 204 without
 * looking at it. Usage: bare_evhttp PORT */
#include <event2/event.h>
#include <event2/http.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static void answer(struct evhttp_request *req, void *arg)
{
    (void)arg;
    evhttp_send_reply(req, 204, "No Content", NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;
    struct evhttp *http;
    struct event *term;
    if (argc != 2 || !cfg) {
        fprintf(stderr, "usage: bare_evhttp PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!base || !(http = evhttp_new(base))) return 1;
    evhttp_set_gencb(http, answer, NULL);
    evhttp_set_max_body_size(http, 8 << 20);
    if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1])) != 0) {
        perror("bind");
        return 1;
    }
    term = evsignal_new(base, SIGTERM, on_signal, base);
    if (!term || evsignal_add(term, NULL)) return 1;
    event_base_dispatch(base);
    event_free(term);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
