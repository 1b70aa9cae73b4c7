/* http_client.c — a synchronous GET over libevent's evhttp client. */
#include "http_client.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ab_http_answer *out;
    struct event_base *base;
    int done;
} get_ctx;

static void on_answer(struct evhttp_request *req, void *arg)
{
    get_ctx *c = arg;
    c->done = 1;
    if (req && evhttp_request_get_response_code(req) > 0) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        c->out->status = evhttp_request_get_response_code(req);
        c->out->body = malloc(n + 1);
        if (c->out->body) {
            evbuffer_copyout(in, c->out->body, n);
            c->out->body[n] = '\0';
            c->out->len = n;
        }
    }
    event_base_loopbreak(c->base);
}

int ab_http_get(const char *base_url, const char *path, const char *token, int timeout_s,
                ab_http_answer *out, char *err, size_t errlen)
{
    struct evhttp_uri *uri = evhttp_uri_parse(base_url);
    struct event_base *base = NULL;
    struct evhttp_connection *conn = NULL;
    struct evhttp_request *req;
    char target[2048], auth[1100];
    get_ctx c;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!uri || !evhttp_uri_get_scheme(uri) || strcmp(evhttp_uri_get_scheme(uri), "http") ||
        !evhttp_uri_get_host(uri)) {
        snprintf(err, errlen, "server URL must be http://host[:port]: %s", base_url);
        goto done;
    }
    const char *host = evhttp_uri_get_host(uri), *prefix = evhttp_uri_get_path(uri);
    int port = evhttp_uri_get_port(uri);
    size_t plen = prefix ? strlen(prefix) : 0;
    while (plen && prefix[plen - 1] == '/') plen--;
    snprintf(target, sizeof target, "%.*s%s", (int)plen, prefix ? prefix : "", path);
    if (!(base = event_base_new()) ||
        !(conn = evhttp_connection_base_new(base, NULL, host, (ev_uint16_t)(port > 0 ? port : 80)))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    evhttp_connection_set_timeout(conn, timeout_s);
    c.out = out;
    c.base = base;
    c.done = 0;
    if (!(req = evhttp_request_new(on_answer, &c))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Accept", "application/json");
    if (token) {
        snprintf(auth, sizeof auth, "Bearer %.1024s", token);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Authorization", auth);
    }
    if (evhttp_make_request(conn, req, EVHTTP_REQ_GET, target) != 0) {
        snprintf(err, errlen, "cannot send the request to %s", base_url);
        goto done;
    }
    event_base_dispatch(base);
    if (!out->status) {
        snprintf(err, errlen, "no answer from %s (connection refused or timed out)", base_url);
        goto done;
    }
    rc = 0;
done:
    if (conn) evhttp_connection_free(conn);
    if (base) event_base_free(base);
    if (uri) evhttp_uri_free(uri);
    return rc;
}
