/* guard.c — the per-connection input filter in front of evhttp (see
 * guard.h for why it exists: what libevent 2.1 cannot do itself). */
#include "http/guard.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "http/http.h"
#include "base/log.h"

/* Longest chunk-size line (with extensions): far beyond any real client,
 * and an endless one is refused after this many bytes, not rescanned. */
#define MAX_CHUNK_LINE 1024
/* Unread socket input kept per connection on top of one request head,
 * while a request is being answered: TCP holds back the rest. */
#define INPUT_SLACK (16 * 1024)
/* Reply bytes queued per connection before evhttp waits for the client
 * to read (a pipelining client that never reads its answers). */
#define OUTPUT_CAP (64 * 1024)
/* At the connection limit, the connection that has waited longest for a
 * request head (idle, or trickling one) gives its slot to the new one, if
 * it has waited at least this long. A client that sends its request gets
 * it read within a round trip, and leaves that state. */
#define EVICT_AFTER_MS 0

enum {
    ST_HEAD,        /* reading a request head */
    ST_BODY,        /* passing on a Content-Length body */
    ST_CHUNK_SIZE,  /* de-chunking: a chunk-size line */
    ST_CHUNK_DATA,
    ST_CHUNK_END,   /* the CRLF after a chunk's data */
    ST_TRAILER,     /* trailer fields after the last chunk (dropped) */
    ST_WAIT,        /* the request is with evhttp: pass nothing on */
    ST_DISCARD,     /* the body of a HEAD or TRACE request: dropped */
    ST_CLOSING      /* refused: discard input, close after the answer */
};

typedef struct guard_conn {
    struct guard_conn *prev, *next;  /* every connection, oldest first */
    struct guard_conn *hnext;        /* hash chain by bev */
    struct bufferevent *bev;         /* the filter: evhttp's bufferevent */
    struct bufferevent *under;       /* the socket */
    struct event *deadline;          /* --header-timeout */
    struct event *kick;              /* passes on the next pipelined request */
    int state;
    int counted;                     /* holds a --max-connections slot */
    int doomed;                      /* being closed */
    int demoted;                     /* pipelines: socket at the lowest priority */
    int replied;                     /* answered while its body is still dropped */
    int64_t since_ms;                /* waiting for a head since */
    size_t scanned;                  /* bytes of the head (or line) seen */
    size_t lines;                    /* head lines so far */
    uint64_t remaining;              /* body bytes still to pass on */
    uint64_t chunk_left;
    struct evbuffer *fwd;            /* a re-framed head held back (chunked) */
    struct evbuffer *body;           /* the de-chunked body so far */
    size_t charged;                  /* bytes of the --max-pending-bytes budget */
    ab_refusal refusal;              /* code 0: not refused */
    int nodelay;                     /* TCP_NODELAY set on the socket */
    int64_t head_ns;                 /* when the current request's head was complete */
    uint64_t body_in;                /* its body bytes passed to evhttp */
    int draining;                    /* its request came before the stop: awaited */
    int grace;                       /* its head had begun before the stop: admitted */
} guard_conn;

static struct {
    struct event_base *base;
    struct evhttp *http;
    ab_guard_limits lim;
    ab_guard_admit_fn admit;
    void *admit_arg;
    guard_conn *oldest, *newest;
    guard_conn **table;
    size_t table_mask;
    size_t counted;                  /* connections holding a slot */
    size_t pending;                  /* body bytes charged */
    int stopping;                    /* ab_guard_stop: new heads get 503 */
    size_t draining;                 /* connections with draining set */
} G;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t now_ms(void)
{
    return now_ns() / 1000000;
}

/* ---- bookkeeping ------------------------------------------------------- */

static size_t slot(const struct bufferevent *bev)
{
    uintptr_t p = (uintptr_t)bev;
    return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 20) & G.table_mask;
}

static guard_conn *lookup(const struct bufferevent *bev)
{
    guard_conn *c;
    if (!G.table || !bev) return NULL;
    for (c = G.table[slot(bev)]; c; c = c->hnext)
        if (c->bev == bev) return c;
    return NULL;
}

static void uncount(guard_conn *c)
{
    if (!c->counted) return;
    c->counted = 0;
    G.counted--;
}

/* The request of c has been answered, or never will be. */
static void undrain(guard_conn *c)
{
    if (!c->draining) return;
    c->draining = 0;
    G.draining--;
}

static void release(guard_conn *c)
{
    G.pending -= c->charged;
    c->charged = 0;
}

static int charge(guard_conn *c, size_t n)
{
    if (n > G.lim.max_pending || G.pending > G.lim.max_pending - n) return -1;
    G.pending += n;
    c->charged += n;
    return 0;
}

/* Closes the connection through evhttp's own error path (a read timeout),
 * which is safe in every state, from the loop rather than from inside one
 * of libevent's callbacks. */
static void doom(guard_conn *c)
{
    if (c->doomed) return;
    c->doomed = 1;
    uncount(c);
    if (c->deadline) evtimer_del(c->deadline);
    bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT,
                              BEV_TRIG_DEFER_CALLBACKS);
}

static void arm_deadline(guard_conn *c)
{
    struct timeval tv;
    if (!c->deadline || G.lim.header_timeout_ms <= 0 || evtimer_pending(c->deadline, NULL))
        return;
    tv.tv_sec = G.lim.header_timeout_ms / 1000;
    tv.tv_usec = (G.lim.header_timeout_ms % 1000) * 1000;
    evtimer_add(c->deadline, &tv);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    guard_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == ST_HEAD) {
        ab_debug("request head not complete within --header-timeout: connection closed");
        doom(c);
    }
}

static void free_conn(void *arg)
{
    guard_conn *c = arg, **pp;
    if (!c) return;
    uncount(c);
    undrain(c);
    release(c);
    if (G.table)
        for (pp = &G.table[slot(c->bev)]; *pp; pp = &(*pp)->hnext)
            if (*pp == c) {
                *pp = c->hnext;
                break;
            }
    if (c->prev) c->prev->next = c->next;
    else G.oldest = c->next;
    if (c->next) c->next->prev = c->prev;
    else G.newest = c->prev;
    if (c->deadline) event_free(c->deadline);
    if (c->kick) event_free(c->kick);
    if (c->fwd) evbuffer_free(c->fwd);
    if (c->body) evbuffer_free(c->body);
    free(c);
}

/* ---- refusing ------------------------------------------------------------ */

static const char *const method_names[] = {"GET", "POST", "HEAD", "PUT", "DELETE",
                                           "OPTIONS", "TRACE", "CONNECT", "PATCH"};
static const enum evhttp_cmd_type method_cmds[] = {
    EVHTTP_REQ_GET, EVHTTP_REQ_POST, EVHTTP_REQ_HEAD, EVHTTP_REQ_PUT, EVHTTP_REQ_DELETE,
    EVHTTP_REQ_OPTIONS, EVHTTP_REQ_TRACE, EVHTTP_REQ_CONNECT, EVHTTP_REQ_PATCH};

static void refusal_set(ab_refusal *r, int code, const char *hname, const char *hvalue,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void refusal_set(ab_refusal *r, int code, const char *hname, const char *hvalue,
                        const char *fmt, ...)
{
    va_list ap;
    r->code = code;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof r->text, fmt, ap);
    va_end(ap);
    snprintf(r->hname, sizeof r->hname, "%s", hname ? hname : "");
    snprintf(r->hvalue, sizeof r->hvalue, "%s", hvalue ? hvalue : "");
}

/* Hands evhttp a bodiless stand-in for the refused request (the router
 * answers it with c->refusal, see ab_guard_request) and discards the rest
 * of the input. path is the request's when it was well-formed (for the
 * metrics' route label), else "/". */
static void refuse(guard_conn *c, struct evbuffer *dst, const char *method, const char *path)
{
    release(c);
    if (c->deadline) evtimer_del(c->deadline);
    if (c->fwd) evbuffer_drain(c->fwd, evbuffer_get_length(c->fwd));
    if (c->body) evbuffer_drain(c->body, evbuffer_get_length(c->body));
    c->state = ST_CLOSING;
    evbuffer_add_printf(dst, "%s %s HTTP/1.1\r\nHost: abstat\r\nConnection: close\r\n\r\n",
                        method ? method : "GET", path ? path : "/");
}

/* ---- the request head ------------------------------------------------------ */

static int is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* RFC 9112 6.3: Content-Length = 1*DIGIT. Leading zeros are refused as
 * well (a "05" is read as 5 by some parsers and as octal by others). */
static int parse_length(const char *v, uint64_t *out)
{
    uint64_t n = 0;
    size_t len = strlen(v);
    if (len == 0 || len > 19 || (v[0] == '0' && len > 1)) return -1;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    *out = n;
    return 0;
}

/* Parses and checks the head in text (len bytes, ending "\n\n" or
 * "\r\n\r\n"), then re-frames it into c->fwd (without the empty line and
 * without Content-Length, Transfer-Encoding and Expect), or refuses it.
 * Returns the body kind: 0 none, 1 Content-Length (in *length), 2 chunked;
 * -1 refused. */
static int parse_head(guard_conn *c, char *text, size_t len, struct evbuffer *dst,
                      uint64_t *length, int *expect_continue)
{
    ab_refusal *r = &c->refusal;
    char *line, *next, *end = text + len;
    char *method = NULL, *target = NULL, *version = NULL;
    struct evhttp_uri *uri = NULL;
    struct evkeyvalq headers;
    enum evhttp_cmd_type cmd = EVHTTP_REQ_GET;
    int have_cmd = 0, n_cl = 0, n_te = 0, n_host = 0, chunked = 0, kind = 0;
    size_t fields = 0;
    const char *okpath = NULL;

    TAILQ_INIT(&headers);
    *length = 0;
    *expect_continue = 0;
    if (memchr(text, '\0', len)) {
        refusal_set(r, 400, NULL, NULL, "NUL byte in the request head");
        goto refused;
    }
    for (line = text; line < end; line = next) {
        char *lf = memchr(line, '\n', (size_t)(end - line)), *eol;
        next = lf + 1;
        eol = lf;
        if (eol > line && eol[-1] == '\r') eol--;
        *eol = '\0';
        if (memchr(line, '\r', (size_t)(eol - line))) {
            refusal_set(r, 400, NULL, NULL, "bare CR in the request head");
            goto refused;
        }
        if (!method) { /* the request line: METHOD SP TARGET SP VERSION */
            char *sp1 = strchr(line, ' '), *sp2 = strrchr(line, ' ');
            if (!sp1 || sp1 == sp2 || sp1 == line || sp2[1] == '\0' || sp2 == sp1 + 1) {
                method = "";
                refusal_set(r, 400, NULL, NULL, "malformed request line");
                goto refused;
            }
            *sp1 = *sp2 = '\0';
            method = line;
            target = sp1 + 1;
            version = sp2 + 1;
            for (size_t i = 0; i < sizeof method_names / sizeof *method_names; i++)
                if (!strcmp(method, method_names[i])) cmd = method_cmds[i], have_cmd = 1;
            if (!have_cmd) {
                refusal_set(r, 501, NULL, NULL, "unknown method");
                goto refused;
            }
            if (strcmp(version, "HTTP/1.1") && strcmp(version, "HTTP/1.0")) {
                refusal_set(r, 400, NULL, NULL, "unsupported HTTP version");
                goto refused;
            }
            for (const char *p = target; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f) {
                    refusal_set(r, 400, NULL, NULL, "malformed request target");
                    goto refused;
                }
            /* evhttp parses CONNECT's authority-form with a function 2.1
             * does not export: left to evhttp (the router answers 405). */
            if (cmd == EVHTTP_REQ_CONNECT) uri = evhttp_uri_new();
            else uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
            if (!uri) {
                refusal_set(r, 400, NULL, NULL, "malformed request target");
                goto refused;
            }
            okpath = cmd == EVHTTP_REQ_CONNECT ? "/" : target;
            if (c->fwd) evbuffer_add_printf(c->fwd, "%s %s %s\r\n", method, target, version);
            continue;
        }
        if (*line == '\0') break; /* the end of the head */
        if (*line == ' ' || *line == '\t') {
            refusal_set(r, 400, NULL, NULL, "obsolete line folding in header fields");
            goto refused;
        }
        if (++fields > G.lim.max_headers) {
            refusal_set(r, 400, NULL, NULL, "more than %zu header fields", G.lim.max_headers);
            goto refused;
        }
        char *colon = strchr(line, ':'), *value, *vend;
        if (!colon || colon == line) {
            refusal_set(r, 400, NULL, NULL, "malformed header field");
            goto refused;
        }
        for (char *p = line; p < colon; p++)
            if (!is_tchar((unsigned char)*p)) {
                refusal_set(r, 400, NULL, NULL, "malformed header field name");
                goto refused;
            }
        *colon = '\0';
        value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        vend = value + strlen(value);
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t')) *--vend = '\0';
        for (const char *p = value; *p; p++)
            if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f) {
                refusal_set(r, 400, NULL, NULL, "control character in header field %.40s", line);
                goto refused;
            }
        if (!strcasecmp(line, "Content-Length")) {
            if (++n_cl > 1) {
                refusal_set(r, 400, NULL, NULL, "more than one Content-Length");
                goto refused;
            }
            if (parse_length(value, length)) {
                refusal_set(r, 400, NULL, NULL, "malformed Content-Length: digits only, "
                                                "without sign, spaces or leading zeros");
                goto refused;
            }
            continue;
        }
        if (!strcasecmp(line, "Transfer-Encoding")) {
            n_te++;
            if (strcasecmp(value, "chunked") || n_te > 1) {
                refusal_set(r, 400, NULL, NULL, "unsupported Transfer-Encoding: only a single "
                                                "\"chunked\" is accepted");
                goto refused;
            }
            chunked = 1;
            continue;
        }
        if (!strcasecmp(line, "Expect")) {
            if (strcasecmp(value, "100-continue")) {
                refusal_set(r, 417, NULL, NULL, "unsupported Expect");
                goto refused;
            }
            *expect_continue = 1;
            continue;
        }
        if (!strcasecmp(line, "Host") && ++n_host > 1) {
            refusal_set(r, 400, NULL, NULL, "more than one Host");
            goto refused;
        }
        if (evhttp_add_header(&headers, line, value)) {
            refusal_set(r, 400, NULL, NULL, "malformed header field");
            goto refused;
        }
        if (c->fwd) evbuffer_add_printf(c->fwd, "%s: %s\r\n", line, value);
    }
    if (!method) {
        refusal_set(r, 400, NULL, NULL, "malformed request line");
        goto refused;
    }
    if (chunked && n_cl) {
        refusal_set(r, 400, NULL, NULL, "Content-Length together with Transfer-Encoding");
        goto refused;
    }
    if (chunked && !strcmp(version, "HTTP/1.0")) {
        refusal_set(r, 400, NULL, NULL, "Transfer-Encoding in an HTTP/1.0 request");
        goto refused;
    }
    if (G.stopping && !c->grace) {
        /* Its head began after the stop signal: no new work. */
        refusal_set(r, 503, NULL, NULL, "shutting down: the daemon is stopping and takes no "
                                        "new requests");
        goto refused;
    }
    kind = chunked ? 2 : *length > 0 ? 1 : 0;
    if (kind && (cmd == EVHTTP_REQ_HEAD || cmd == EVHTTP_REQ_TRACE)) {
        /* evhttp reads no body for these and would parse it as the next
         * request: the body is dropped here instead (chunked: refused). */
        if (chunked || *length > G.lim.max_body) {
            refusal_set(r, 400, NULL, NULL, "a %s request has no body", method);
            goto refused;
        }
        evhttp_clear_headers(&headers);
        evhttp_uri_free(uri);
        return 3;
    }
    if (kind) {
        ab_guard_head h = {cmd, uri, target, &headers, chunked ? UINT64_MAX : *length};
        r->code = 0;
        if (G.admit && G.admit(G.admit_arg, &h, r) != 0) {
            if (!r->code) refusal_set(r, 403, NULL, NULL, "refused");
            goto refused;
        }
        if (!chunked && *length > G.lim.max_body) {
            refusal_set(r, 413, NULL, NULL, "body of %llu bytes is over --max-body (%zu bytes)",
                        (unsigned long long)*length, G.lim.max_body);
            goto refused;
        }
        if (!chunked && charge(c, (size_t)*length)) {
            refusal_set(r, 503, "Retry-After", "1", "too many request bodies in flight "
                                                    "(--max-pending-bytes); retry later");
            goto refused;
        }
    }
    evhttp_clear_headers(&headers);
    evhttp_uri_free(uri);
    return kind;
refused:
    evhttp_clear_headers(&headers);
    if (uri) evhttp_uri_free(uri);
    refuse(c, dst, have_cmd ? method : "GET", okpath);
    return -1;
}

/* Appends c->fwd (the re-framed head) with its Content-Length to dst. */
static void pass_head(guard_conn *c, struct evbuffer *dst, uint64_t length, int has_body)
{
    if (has_body) evbuffer_add_printf(c->fwd, "Content-Length: %llu\r\n", (unsigned long long)length);
    c->body_in = has_body ? length : 0;
    evbuffer_add(c->fwd, "\r\n", 2);
    evbuffer_add_buffer(dst, c->fwd);
}

/* The offset of the next LF in src at or after from, or -1. */
static ssize_t find_lf(struct evbuffer *src, size_t from)
{
    struct evbuffer_ptr p;
    if (from >= evbuffer_get_length(src)) return -1;
    if (evbuffer_ptr_set(src, &p, from, EVBUFFER_PTR_SET) < 0) return -1;
    p = evbuffer_search(src, "\n", 1, &p);
    return p.pos;
}

/* One step in ST_HEAD: 1 progress, 0 wait for more input. */
static int step_head(guard_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
    size_t have = evbuffer_get_length(src);
    ssize_t lf;
    /* Empty lines before a request are ignored (RFC 9112 2.2). */
    while (c->scanned == 0 && have) {
        unsigned char *p = evbuffer_pullup(src, have >= 2 ? 2 : 1);
        if (p[0] == '\n') evbuffer_drain(src, 1);
        else if (p[0] == '\r' && have >= 2 && p[1] == '\n') evbuffer_drain(src, 2);
        else if (p[0] == '\r' && have < 2) return 0;
        else break;
        have = evbuffer_get_length(src);
    }
    if (!have) return 0;
    arm_deadline(c);
    for (;;) {
        lf = find_lf(src, c->scanned);
        if (lf < 0) {
            c->scanned = evbuffer_get_length(src);
            break;
        }
        size_t line_start = c->scanned, line_len = (size_t)lf - line_start;
        c->scanned = (size_t)lf + 1;
        if (c->scanned > G.lim.max_header_bytes) break;
        if (c->lines > 0 && (line_len == 0 || line_len == 1)) {
            char cr = 0;
            if (line_len == 1) {
                struct evbuffer_ptr p;
                evbuffer_ptr_set(src, &p, line_start, EVBUFFER_PTR_SET);
                evbuffer_copyout_from(src, &p, &cr, 1);
            }
            if (line_len == 0 || cr == '\r') { /* the head is complete */
                size_t n = c->scanned;
                char *text = malloc(n + 1);
                uint64_t length;
                int expect, kind;
                if (!text) {
                    doom(c);
                    return 0;
                }
                evbuffer_remove(src, text, n);
                text[n] = '\0';
                c->scanned = 0;
                c->lines = 0;
                if (c->deadline) evtimer_del(c->deadline);
                if (!c->fwd) c->fwd = evbuffer_new();
                if (!c->fwd) {
                    free(text);
                    doom(c);
                    return 0;
                }
                evbuffer_drain(c->fwd, evbuffer_get_length(c->fwd));
                c->head_ns = now_ns();
                c->body_in = 0;
                kind = parse_head(c, text, n, dst, &length, &expect);
                c->grace = 0;
                free(text);
                if (kind < 0) return 1;
                if (kind == 2) {
                    /* evhttp would answer 100 Continue only once it has the
                     * head, which it gets after the body: answer it here. */
                    if (expect) bufferevent_write(c->under, "HTTP/1.1 100 Continue\r\n\r\n", 25);
                    if (!c->body) c->body = evbuffer_new();
                    if (!c->body) {
                        doom(c);
                        return 0;
                    }
                    c->state = ST_CHUNK_SIZE;
                    return 1;
                }
                if (kind == 3) { /* HEAD or TRACE with a body to drop */
                    pass_head(c, dst, 0, 0);
                    c->remaining = length;
                    c->replied = 0;
                    c->state = ST_DISCARD;
                    return 1;
                }
                /* Content-Length (or none): evhttp handles Expect itself. */
                if (expect) evbuffer_add_printf(c->fwd, "Expect: 100-continue\r\n");
                pass_head(c, dst, length, kind == 1);
                c->remaining = length;
                c->state = kind == 1 ? ST_BODY : ST_WAIT;
                return 1;
            }
        }
        c->lines++;
    }
    if (c->scanned > G.lim.max_header_bytes) {
        c->scanned = 0;
        c->lines = 0;
        refusal_set(&c->refusal, 400, NULL, NULL,
                    "request head over --max-header-bytes (%zu bytes)", G.lim.max_header_bytes);
        refuse(c, dst, NULL, NULL);
        return 1;
    }
    return 0;
}

/* Reads a line of at most cap bytes at the start of src into buf (without
 * CRLF): 1 done, 0 need more, -1 too long. */
static int take_line(guard_conn *c, struct evbuffer *src, char *buf, size_t cap)
{
    ssize_t lf = find_lf(src, c->scanned);
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
    pass_head(c, dst, n, n > 0);
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
            refusal_set(&c->refusal, 400, NULL, NULL, "chunk-size line over %d bytes",
                        MAX_CHUNK_LINE);
            refuse(c, dst, NULL, NULL);
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
            refusal_set(&c->refusal, 400, NULL, NULL, "malformed chunk size");
            refuse(c, dst, NULL, NULL);
            return 1;
        }
        if (size > G.lim.max_body || evbuffer_get_length(c->body) + size > G.lim.max_body) {
            refusal_set(&c->refusal, 413, NULL, NULL, "chunked body is over --max-body (%zu bytes)",
                        G.lim.max_body);
            refuse(c, dst, NULL, NULL);
            return 1;
        }
        if (size && charge(c, (size_t)size)) {
            refusal_set(&c->refusal, 503, "Retry-After", "1",
                        "too many request bodies in flight (--max-pending-bytes); retry later");
            refuse(c, dst, NULL, NULL);
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
            refusal_set(&c->refusal, 400, NULL, NULL, "chunk data longer than its size");
            refuse(c, dst, NULL, NULL);
            return 1;
        }
        c->state = ST_CHUNK_SIZE;
        return 1;
    case ST_TRAILER:
        got = take_line(c, src, line, MAX_CHUNK_LINE);
        if (got == 0) return 0;
        if (got < 0 || ++c->lines > G.lim.max_headers) {
            refusal_set(&c->refusal, 400, NULL, NULL, "trailer fields too long");
            refuse(c, dst, NULL, NULL);
            return 1;
        }
        if (!line[0]) finish_chunked(c, dst);
        return 1;
    }
    return 0;
}

static enum bufferevent_filter_result filter_in(struct evbuffer *src, struct evbuffer *dst,
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
            progress = step_head(c, src, dst);
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

/* ---- evhttp's hooks ---------------------------------------------------------- */

/* The output side. evhttp closes a connection (Connection: close, a
 * refusal) as soon as its own output buffer is empty, with shutdown() and
 * close() on the socket; behind a filter that is before the socket has
 * sent the reply, which would be lost. So the last byte of the output is
 * held back until everything before it has reached the kernel, and
 * written to it directly: evhttp sees its buffer empty only when the
 * reply is on its way. */
static enum bufferevent_filter_result filter_out(struct evbuffer *src, struct evbuffer *dst,
                                                 ev_ssize_t limit, enum bufferevent_flush_mode mode,
                                                 void *arg)
{
    guard_conn *c = arg;
    size_t n = evbuffer_get_length(src);
    evutil_socket_t fd = bufferevent_getfd(c->under);
    (void)mode;
    /* A reply leaves in two writes (all but its last byte, then that
     * byte): with Nagle's algorithm the second waits for the client's
     * delayed ACK, 40 ms a request. evhttp sets the socket up after this
     * filter exists, so the option is set at the first write. */
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
    if (fd >= 0 && evbuffer_get_length(dst)) evbuffer_write(dst, fd);
    if (evbuffer_get_length(src) == 1 && evbuffer_get_length(dst) == 0) {
        evbuffer_remove_buffer(src, dst, 1);
        if (fd >= 0) evbuffer_write(dst, fd);
    }
    return evbuffer_get_length(src) < n ? BEV_OK : BEV_NEED_MORE;
}

/* libevent's filter moves output only while the filter is write-enabled,
 * and evhttp enables writing after it has queued its reply: without a
 * nudge the reply would wait for the next socket event. So every addition
 * to evhttp's output schedules a pass of the filter's output side. */
static void output_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    guard_conn *c = arg;
    (void)buf;
    if (info->n_added)
        bufferevent_trigger(c->under, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void on_kick(evutil_socket_t fd, short what, void *arg);

/* A new connection (evhttp_set_bevcb): count it, and at the limit give the
 * slot of the connection that has waited longest for a request head, or
 * refuse the new one with 503. */
static struct bufferevent *new_conn(struct event_base *base, void *arg)
{
    guard_conn *c = calloc(1, sizeof *c);
    (void)arg;
    if (!c) return NULL;
    c->under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->under) goto fail;
    /* Deferred callbacks: libevent 2.1's filter calls evhttp back without
     * holding a reference (be_filter_writecb); evhttp may free the
     * connection in that callback, and the filter then re-arms a timeout on
     * freed memory. Deferred, every callback holds a reference. */
    c->bev = bufferevent_filter_new(c->under, filter_in, filter_out,
                                   BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, free_conn, c);
    if (!c->bev) {
        bufferevent_free(c->under);
        goto fail;
    }
    evbuffer_add_cb(bufferevent_get_output(c->bev), output_added, c);
    bufferevent_setwatermark(c->under, EV_READ, 0, G.lim.max_header_bytes + INPUT_SLACK);
    bufferevent_setwatermark(c->under, EV_WRITE, 0, OUTPUT_CAP);
    c->deadline = evtimer_new(base, on_deadline, c);
    c->kick = event_new(base, -1, 0, on_kick, c);
    if (c->kick) event_priority_set(c->kick, event_base_get_npriorities(base) - 1);
    c->since_ms = now_ms();
    c->head_ns = now_ns();
    c->prev = G.newest;
    if (G.newest) G.newest->next = c;
    else G.oldest = c;
    G.newest = c;
    c->hnext = G.table[slot(c->bev)];
    G.table[slot(c->bev)] = c;

    if (G.counted >= (size_t)G.lim.max_connections) {
        guard_conn *v;
        for (v = G.oldest; v; v = v->next)
            if (v->counted && !v->doomed && v->state == ST_HEAD &&
                c->since_ms - v->since_ms >= EVICT_AFTER_MS)
                break;
        if (v) {
            ab_debug("connection limit: closing one still without a request head");
            doom(v);
        }
    }
    if (G.counted >= (size_t)G.lim.max_connections) {
        /* evhttp parses what is already in its input before reading. */
        refusal_set(&c->refusal, 503, "Retry-After", "1",
                    "too many connections (--max-connections %d); retry later",
                    G.lim.max_connections);
        c->state = ST_CLOSING;
        evbuffer_add_printf(bufferevent_get_input(c->bev),
                            "GET / HTTP/1.1\r\nHost: abstat\r\nConnection: close\r\n\r\n");
        return c->bev;
    }
    c->counted = 1;
    G.counted++;
    arm_deadline(c);
    return c->bev;
fail:
    free(c);
    return NULL;
}

/* --log-level debug: the request line (without its query, which may
 * carry ?token=), status, time from the complete head to the written
 * reply, and body bytes. Never a header value, a body or a user. */
static void log_request(guard_conn *c, struct evhttp_request *req)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *method = "?", *cl;
    uint64_t out = 0;
    for (size_t i = 0; i < sizeof method_cmds / sizeof *method_cmds; i++)
        if (method_cmds[i] == cmd) method = method_names[i];
    cl = evhttp_find_header(evhttp_request_get_output_headers(req), "Content-Length");
    if (cl && cmd != EVHTTP_REQ_HEAD) out = strtoull(cl, NULL, 10);
    ab_log_request(method, path && *path ? path : "-", evhttp_request_get_response_code(req),
                   (double)(now_ns() - c->head_ns) * 1e-6, c->body_in, out);
}

/* The reply to a request has been written: pass on the next one. */
static void request_done(struct evhttp_request *req, void *arg)
{
    guard_conn *c = arg;
    if (ab_log_enabled(AB_LOG_DEBUG)) log_request(c, req);
    undrain(c);
    release(c);
    if (c->state == ST_CLOSING || c->doomed) return;
    if (c->state == ST_DISCARD) { /* the rest of the body is dropped first */
        c->replied = 1;
        return;
    }
    c->state = ST_HEAD;
    c->since_ms = now_ms();
    /* The socket may be paused at its watermark with the next request
     * already read: run the filter again, at the loop's lowest priority
     * (with the ingest commit), so that a pipelining client gets a request
     * per turn and cannot starve new clients or the commit. */
    if (c->kick && evbuffer_get_length(bufferevent_get_input(c->under))) {
        /* Its socket reads go to the lowest priority too: a client that
         * keeps a queue of requests waits behind everyone else. */
        if (!c->demoted && bufferevent_priority_set(c->under, event_get_priority(c->kick)) == 0)
            c->demoted = 1;
        event_active(c->kick, EV_TIMEOUT, 0);
    }
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    guard_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == ST_HEAD && !c->doomed)
        bufferevent_trigger(c->under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

int ab_guard_request(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    guard_conn *c = evcon ? lookup(evhttp_connection_get_bufferevent(evcon)) : NULL;
    struct evkeyvalq *out;
    if (!c) return 0;
    evhttp_request_set_on_complete_cb(req, request_done, c);
    if (!c->refusal.code) return 0;
    out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Connection", "close");
    if (c->refusal.hname[0]) evhttp_add_header(out, c->refusal.hname, c->refusal.hvalue);
    ab_http_error(req, c->refusal.code, "%s", c->refusal.text);
    return 1;
}

int ab_guard_init(struct event_base *base, struct evhttp *http, const ab_guard_limits *lim,
                  ab_guard_admit_fn admit, void *admit_arg)
{
    size_t n = 64;
    memset(&G, 0, sizeof G);
    G.base = base;
    G.http = http;
    G.lim = *lim;
    G.admit = admit;
    G.admit_arg = admit_arg;
    while (n < (size_t)lim->max_connections * 4) n *= 2;
    if (!(G.table = calloc(n, sizeof *G.table))) return -1;
    G.table_mask = n - 1;
    evhttp_set_bevcb(http, new_conn, NULL);
    return 0;
}

void ab_guard_stats(size_t *connections, size_t *pending_bytes)
{
    if (connections) *connections = G.counted;
    if (pending_bytes) *pending_bytes = G.pending;
}

/* Whether the client had begun sending a request when the stop came:
 * bytes read and not yet looked at, or waiting in the socket. */
static int has_begun(guard_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->under);
    char b;
    if (evbuffer_get_length(bufferevent_get_input(c->under))) return 1;
    return fd >= 0 && recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

size_t ab_guard_stop(void)
{
    G.stopping = 1;
    for (guard_conn *c = G.oldest; c; c = c->next) {
        if (c->doomed || c->draining || c->state == ST_CLOSING) continue;
        if (c->state == ST_DISCARD && c->replied) continue;
        if (c->state == ST_HEAD) {
            if (!has_begun(c)) continue;
            c->grace = 1;
        }
        c->draining = 1;
        G.draining++;
    }
    return G.draining;
}

size_t ab_guard_in_flight(void)
{
    return G.draining;
}

size_t ab_guard_cut(void)
{
    size_t n = 0;
    for (guard_conn *c = G.oldest; c; c = c->next) {
        if (!c->draining || c->doomed) continue;
        if (c->state != ST_HEAD && c->state != ST_BODY && c->state != ST_CHUNK_SIZE &&
            c->state != ST_CHUNK_DATA && c->state != ST_CHUNK_END && c->state != ST_TRAILER)
            continue;
        doom(c);
        n++;
    }
    return n;
}

void ab_guard_free(void)
{
    /* Connections still open are freed by evhttp_free (free_conn). */
    free(G.table);
    G.table = NULL;
}
