/* guard_frame.c — the guard's filter: de-chunked bodies and one request at a time in, replies held until they reach the kernel out. */
#include "http/guard_conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Reads a line of at most cap bytes at the start of src into buf (without
 * CRLF): 1 done, 0 need more, -1 too long. */
static int take_line(guard_conn *c, struct evbuffer *src, char *buf, size_t cap)
{
    ssize_t lf = ab_guard_find_lf(src, c->scanned);
    size_t n;
    if (lf < 0) {
        c->scanned = evbuffer_get_length(src);
        return c->scanned > cap ? -1 : 0;
    }
    n = (size_t)lf;
    if (n > cap) return -1;
    evbuffer_remove(src, buf, n + 1);
    buf[n] = '\0';
    if (n && buf[n - 1] == '\r') buf[--n] = '\0';
    c->scanned = 0;
    return 1;
}

static void finish_chunked(guard_conn *c, struct evbuffer *dst)
{
    size_t n = evbuffer_get_length(c->body);
    ab_guard_pass_head(c, dst, n, n > 0);
    evbuffer_add_buffer(dst, c->body);
    c->lines = 0;
    c->state = ST_WAIT;
}

/* One step of de-chunking: 1 progress, 0 wait for more input. */
static int step_chunked(guard_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
    char line[MAX_CHUNK_LINE + 2];
    int got;
    switch (c->state) {
    case ST_CHUNK_SIZE: {
        uint64_t size = 0;
        size_t digits = 0;
        const char *p;
        got = take_line(c, src, line, MAX_CHUNK_LINE);
        if (got == 0) return 0;
        if (got < 0) {
            ab_guard_refusal_set(&c->refusal, 400, NULL, NULL, "chunk-size line over %d bytes",
                        MAX_CHUNK_LINE);
            ab_guard_refuse(c, dst, NULL, NULL);
            return 1;
        }
        for (p = line; *p; p++, digits++) {
            int v = *p >= '0' && *p <= '9' ? *p - '0'
                    : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                    : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
            if (v < 0) break;
            if (digits >= 15) break;
            size = size * 16 + (uint64_t)v;
        }
        while (*p == ' ' || *p == '\t') p++;
        if (!digits || (*p && *p != ';')) {
            ab_guard_refusal_set(&c->refusal, 400, NULL, NULL, "malformed chunk size");
            ab_guard_refuse(c, dst, NULL, NULL);
            return 1;
        }
        if (size > ab_guard_g.lim.max_body || evbuffer_get_length(c->body) + size > ab_guard_g.lim.max_body) {
            ab_guard_refusal_set(&c->refusal, 413, NULL, NULL, "chunked body is over --max-body (%zu bytes)",
                        ab_guard_g.lim.max_body);
            ab_guard_refuse(c, dst, NULL, NULL);
            return 1;
        }
        if (size && ab_guard_charge(c, (size_t)size)) {
            ab_guard_refusal_set(&c->refusal, 503, "Retry-After", "1",
                        "too many request bodies in flight (--max-pending-bytes); retry later");
            ab_guard_refuse(c, dst, NULL, NULL);
            return 1;
        }
        c->chunk_left = size;
        c->state = size ? ST_CHUNK_DATA : ST_TRAILER;
        c->lines = 0;
        return 1;
    }
    case ST_CHUNK_DATA: {
        size_t have = evbuffer_get_length(src);
        size_t n = have < c->chunk_left ? have : (size_t)c->chunk_left;
        if (!n) return 0;
        evbuffer_remove_buffer(src, c->body, n);
        c->chunk_left -= n;
        if (!c->chunk_left) c->state = ST_CHUNK_END;
        return 1;
    }
    case ST_CHUNK_END:
        got = take_line(c, src, line, 2);
        if (got == 0) return 0;
        if (got < 0 || line[0]) {
            ab_guard_refusal_set(&c->refusal, 400, NULL, NULL, "chunk data longer than its size");
            ab_guard_refuse(c, dst, NULL, NULL);
            return 1;
        }
        c->state = ST_CHUNK_SIZE;
        return 1;
    case ST_TRAILER:
        got = take_line(c, src, line, MAX_CHUNK_LINE);
        if (got == 0) return 0;
        if (got < 0 || ++c->lines > ab_guard_g.lim.max_headers) {
            ab_guard_refusal_set(&c->refusal, 400, NULL, NULL, "trailer fields too long");
            ab_guard_refuse(c, dst, NULL, NULL);
            return 1;
        }
        if (!line[0]) finish_chunked(c, dst);
        return 1;
    }
    return 0;
}

enum bufferevent_filter_result ab_guard_filter_in(struct evbuffer *src, struct evbuffer *dst,
                                                ev_ssize_t limit, enum bufferevent_flush_mode mode,
                                                void *arg)
{
    guard_conn *c = arg;
    size_t before = evbuffer_get_length(dst);
    int progress = 1;
    (void)limit;
    (void)mode;
    while (progress && !c->doomed) {
        progress = 0;
        switch (c->state) {
        case ST_HEAD:
            progress = ab_guard_step_head(c, src, dst);
            break;
        case ST_BODY: {
            size_t have = evbuffer_get_length(src);
            size_t n = have < c->remaining ? have : (size_t)c->remaining;
            if (n) {
                evbuffer_remove_buffer(src, dst, n);
                c->remaining -= n;
                progress = 1;
            }
            if (!c->remaining) c->state = ST_WAIT;
            break;
        }
        case ST_CHUNK_SIZE:
        case ST_CHUNK_DATA:
        case ST_CHUNK_END:
        case ST_TRAILER:
            progress = step_chunked(c, src, dst);
            break;
        case ST_CLOSING:
            evbuffer_drain(src, evbuffer_get_length(src));
            break;
        case ST_DISCARD: {
            size_t have = evbuffer_get_length(src);
            size_t n = have < c->remaining ? have : (size_t)c->remaining;
            evbuffer_drain(src, n);
            c->remaining -= n;
            if (!c->remaining) {
                c->state = c->replied ? ST_HEAD : ST_WAIT;
                progress = 1;
            }
            break;
        }
        case ST_WAIT:
        default:
            break;
        }
    }
    return evbuffer_get_length(dst) > before ? BEV_OK : BEV_NEED_MORE;
}

/* The output side. evhttp closes a connection (Connection: close, a
 * refusal) as soon as its own output buffer is empty, with shutdown() and
 * close() on the socket; behind a filter that is before the socket has
 * sent the reply, which would be lost. So the last byte of the output
 * leaves evhttp's buffer only together with, or after, everything before
 * it reaching the kernel: evhttp sees its buffer empty only when the
 * reply is on its way. */

/* Writes dst and then src's one remaining byte in a single writev, the
 * usual case of a whole reply the kernel takes at once (a second write of
 * one byte would cost a TCP segment per request). What the kernel took is
 * drained; the byte leaves src only when all of dst went before it. */
static void write_with_last(struct evbuffer *src, struct evbuffer *dst, evutil_socket_t fd)
{
    struct evbuffer_iovec v[17];
    struct iovec iov[17];
    size_t have = evbuffer_get_length(dst);
    int k = have ? evbuffer_peek(dst, -1, NULL, v, 16) : 0;
    ssize_t put;
    /* What writev sends must be drained from dst after it. A socket
     * bufferevent's output is frozen at its front until its descriptor is
     * set (libevent 2.1 unfreezes it in bufferevent_setfd, as evhttp's
     * connections have it): draining 0 bytes tells, and a frozen buffer is
     * left to the socket's own writes. */
    if (k < 0 || k > 16 || (have && evbuffer_drain(dst, 0) != 0) ||
        evbuffer_peek(src, 1, NULL, &v[k], 1) != 1) {
        /* Too many pieces, or a frozen buffer: the two-step path. */
        if (have) evbuffer_write(dst, fd);
        if (evbuffer_get_length(dst) == 0) {
            evbuffer_remove_buffer(src, dst, 1);
            evbuffer_write(dst, fd);
        }
        return;
    }
    for (int i = 0; i <= k; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = i < k ? v[i].iov_len : 1;
    }
    put = writev(fd, iov, k + 1);
    if (put <= 0) {
        /* EAGAIN (a client that does not read) or an error. With dst
         * empty everything before the byte is in the kernel, so the byte
         * goes to the socket's buffer, whose own write waits for room (or
         * meets the error); left here, nothing would ever send it. */
        if (!have) evbuffer_remove_buffer(src, dst, 1);
        return;
    }
    if ((size_t)put <= have) {
        evbuffer_drain(dst, (size_t)put);
        return;
    }
    evbuffer_drain(dst, have);
    evbuffer_drain(src, 1);
}

enum bufferevent_filter_result ab_guard_filter_out(struct evbuffer *src, struct evbuffer *dst,
                                                 ev_ssize_t limit, enum bufferevent_flush_mode mode,
                                                 void *arg)
{
    guard_conn *c = arg;
    size_t n = evbuffer_get_length(src);
    evutil_socket_t fd = bufferevent_getfd(c->under);
    (void)mode;
    /* With Nagle's algorithm a reply's held-back last byte, when it does
     * leave in a second write, waits for the client's delayed ACK: 40 ms.
     * evhttp sets the socket up after this filter exists, so the option is
     * set at the first write. */
    if (fd >= 0 && !c->nodelay) {
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) c->nodelay = 1;
    }
    /* libevent calls again while this returns BEV_OK and src is not empty:
     * BEV_NEED_MORE when the held-back byte has to wait. */
    if (n > 1) {
        size_t move = n - 1;
        if (limit >= 0 && (size_t)limit < move) move = (size_t)limit;
        evbuffer_remove_buffer(src, dst, move);
    }
    if (fd >= 0 && evbuffer_get_length(src) == 1) write_with_last(src, dst, fd);
    else if (fd >= 0 && evbuffer_get_length(dst)) evbuffer_write(dst, fd);
    return evbuffer_get_length(src) < n ? BEV_OK : BEV_NEED_MORE;
}

/* libevent's filter moves output only while the filter is write-enabled,
 * and evhttp enables writing after it has queued its reply: without a
 * nudge the reply would wait for the next socket event. So every addition
 * to evhttp's output schedules a pass of the filter's output side. */
void ab_guard_output_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    guard_conn *c = arg;
    (void)buf;
    if (info->n_added)
        bufferevent_trigger(c->under, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}
