/* guard.h — bounded, strictly framed input for every client connection
 * (README "Storage and durability, Security", issue 10).
 *
 * libevent 2.1's evhttp reads without bound: while a reply is written it
 * keeps reading pipelined requests into memory, it waits for a whole
 * chunk (or chunk-size line) before looking at it, it reads a body before
 * anyone can look at the headers (2.1 has no evhttp_set_newreqcb, so
 * evhttp_request_set_header_cb cannot be set on an incoming request), it
 * takes the first of two Content-Length headers and it counts connections
 * only through the file limit. We do not patch libevent: every connection
 * gets a bufferevent filter (evhttp_set_bevcb) that sees the bytes before
 * evhttp does and hands evhttp one request at a time, re-framed:
 *
 * - the request head is checked (size, field count, framing per RFC 9112
 *   section 6.3, the route's token) before a byte of its body is passed
 *   on; a refused request reaches evhttp as a bodiless stand-in that the
 *   router answers with the refusal (JSON), then the connection closes;
 * - a chunked body is de-chunked here (chunk-size lines capped) and
 *   passed on with a Content-Length, so evhttp never parses chunks;
 * - the next pipelined request is not passed on before the reply to the
 *   previous one has been written; meanwhile the socket is read only up
 *   to a watermark, so TCP pushes back on the client;
 * - bodies in flight share one budget (--max-pending-bytes): 503;
 * - connections are counted here (--max-connections) and a request head
 *   must be complete within --header-timeout;
 * - at a stop it tells the requests that had begun (awaited) from those
 *   that begin later (503), which evhttp cannot. */
#ifndef ABSTAT_GUARD_H
#define ABSTAT_GUARD_H

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t max_body;          /* body bytes per request: 413 */
    size_t max_header_bytes;  /* request line and header fields: 400 */
    size_t max_headers;       /* header fields per request: 400 */
    size_t max_pending;       /* body bytes of all requests in flight: 503 */
    int header_timeout_ms;    /* accept (or first byte) to complete head */
    int max_connections;      /* client connections at once */
} ab_guard_limits;

/* A request head as the guard saw it, for the admission check. */
typedef struct {
    enum evhttp_cmd_type cmd;
    const struct evhttp_uri *uri;   /* parsed target */
    const char *target;             /* as sent */
    struct evkeyvalq *headers;
    uint64_t content_length;        /* UINT64_MAX: chunked, length unknown */
} ab_guard_head;

/* What a refused request is answered. */
typedef struct {
    int code;
    char text[256];
    char hname[32], hvalue[96];     /* one extra header, or hname[0] == 0 */
} ab_refusal;

/* Called at the end of the head of every request that has a body, before
 * any of it is read: 0 admits it; otherwise fill *r (the body is never
 * read and the connection closes after the answer). */
typedef int (*ab_guard_admit_fn)(void *arg, const ab_guard_head *h, ab_refusal *r);

/* Installs the guard on http (one per process). 0, or -1 out of memory. */
int ab_guard_init(struct event_base *base, struct evhttp *http, const ab_guard_limits *lim,
                  ab_guard_admit_fn admit, void *admit_arg);

/* First thing in the request callback: 1 when the guard refused the
 * request and has answered it; 0 to go on. */
int ab_guard_request(struct evhttp_request *req);

/* Connections counted now, and body bytes in flight. */
void ab_guard_stats(size_t *connections, size_t *pending_bytes);

/* The stop (SIGTERM): every request that had begun to arrive — its head
 * complete, or some of it read or waiting in the socket — is let through
 * and awaited; every head that begins later is answered 503 "shutting
 * down" with Connection: close, its body unread. Returns the requests
 * awaited. */
size_t ab_guard_stop(void);
/* Awaited requests not yet answered (0: drained). */
size_t ab_guard_in_flight(void);
/* The drain deadline: closes, unanswered, the connections of awaited
 * requests whose head or body is still incomplete (nothing of them was
 * stored). Requests already complete are left to be answered. Returns how
 * many were closed. */
size_t ab_guard_cut(void);

void ab_guard_free(void);

#endif
