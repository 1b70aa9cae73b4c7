/* test_guard_output.c — the guard's output side on a real socket pair: a reply leaves in one
 * writev when the kernel takes it, and its held-back last byte is never stranded when the
 * kernel takes nothing (a client that does not read). */
#include "test.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/guard_conn.h"

/* Fills fd's send side until the kernel refuses more; the bytes written. */
static size_t fill(int fd)
{
    char junk[512];
    size_t total = 0;
    ssize_t n;
    memset(junk, 'x', sizeof junk);
    while ((n = write(fd, junk, sizeof junk)) > 0) total += (size_t)n;
    while ((n = write(fd, junk, 1)) > 0) total += (size_t)n;
    return total;
}

/* frozen: the socket's bufferevent made with its descriptor, so that its
 * output stays frozen at the front (evhttp's are made without one and get
 * it later, which unfreezes them). */
static void run(const char *reply, int full_socket, int frozen)
{
    int sv[2];
    struct event_base *base = event_base_new();
    struct bufferevent *under;
    struct evbuffer *src = evbuffer_new(), *dst;
    guard_conn c;
    size_t len = strlen(reply), got = 0, filled = 0;
    char tail[64] = "";
    CHECK(base && src && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    under = bufferevent_socket_new(base, frozen ? sv[0] : -1, 0);
    CHECK(under != NULL);
    if (!under) return;
    if (!frozen) bufferevent_setfd(under, sv[0]);
    bufferevent_enable(under, EV_WRITE);
    dst = bufferevent_get_output(under);
    memset(&c, 0, sizeof c);
    c.under = under;
    c.nodelay = 1; /* not a TCP socket */
    if (full_socket) filled = fill(sv[0]);
    evbuffer_add(src, reply, len);

    /* libevent calls the filter again while it answers BEV_OK and src is
     * not empty: the same here. */
    for (int round = 0; round < 4 && evbuffer_get_length(src); round++)
        if (ab_guard_filter_out(src, dst, -1, BEV_NORMAL, &c) != BEV_OK) break;
    if (frozen) {
        /* Nothing written around the buffer: the socket's own write sends
         * dst, the last byte waits for the filter's next pass. */
        CHECK_INT(evbuffer_get_length(src), 1);
        CHECK_INT(evbuffer_get_length(dst), len - 1);
    } else if (!full_socket) {
        /* The kernel took the whole reply: nothing is left anywhere. */
        CHECK_INT(evbuffer_get_length(src), 0);
        CHECK_INT(evbuffer_get_length(dst), 0);
    } else {
        /* Nothing could be written: evhttp's buffer may hold nothing but
         * the last byte, and that only while something before it waits. */
        CHECK(evbuffer_get_length(src) == 0 ||
              (evbuffer_get_length(src) == 1 && evbuffer_get_length(dst) > 0));
        CHECK_INT(evbuffer_get_length(src) + evbuffer_get_length(dst), len);
    }
    /* The client reads: the socket's own writes deliver the rest, each
     * byte once. */
    for (int i = 0; i < 200; i++) {
        char buf[65536];
        ssize_t n;
        event_base_loop(base, EVLOOP_NONBLOCK);
        /* As the filter's bufferevent does once the socket's output has
         * drained: another pass for what it held back. */
        if (evbuffer_get_length(src) && !evbuffer_get_length(dst))
            ab_guard_filter_out(src, dst, -1, BEV_NORMAL, &c);
        while ((n = read(sv[1], buf, sizeof buf)) > 0) {
            size_t keep = (size_t)n < sizeof tail - 1 ? (size_t)n : sizeof tail - 1;
            got += (size_t)n;
            memcpy(tail, buf + n - keep, keep);
            tail[keep] = '\0';
        }
        if (!evbuffer_get_length(dst) && !evbuffer_get_length(src) && i > 2) break;
    }
    CHECK_INT(evbuffer_get_length(dst), 0);
    CHECK_INT(evbuffer_get_length(src), 0);
    CHECK_INT(got, filled + len);
    CHECK(tail[0] && tail[strlen(tail) - 1] == reply[len - 1]);
    bufferevent_free(under);
    evbuffer_free(src);
    close(sv[0]);
    close(sv[1]);
    event_base_free(base);
}

int main(void)
{
    static const char reply[] = "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}";
    run(reply, 0, 0);
    run(reply, 1, 0);
    run("}", 1, 0); /* only the last byte left, and no room for it */
    run(reply, 0, 1);
    return TEST_DONE("test_guard_output");
}
