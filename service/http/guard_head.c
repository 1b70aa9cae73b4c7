/* guard_head.c — the request head, checked and re-framed before evhttp sees it (RFC 9112: size, fields, framing, the route's admission). */
#include "base/clock.h"
#include "http/guard_conn.h"
#include "base/decimal.h"

#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

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

/* What parse_head has read of one head so far. */
typedef struct {
    char *method, *target, *version;    /* in the head's text */
    struct evhttp_uri *uri;             /* owned */
    struct evkeyvalq headers;           /* owned: every field passed on */
    enum evhttp_cmd_type cmd;
    int have_cmd, n_cl, n_te, n_host, chunked, expect_continue;
    size_t fields;
    uint64_t length;                    /* Content-Length */
    const char *okpath;                 /* the target, once well-formed */
} head_parse;

/* Appends the n strings to the re-framed head, without printf and, for
 * a line that fits on the stack, in one piece: this runs for every line
 * of every request. 0, or -1 (out of memory) with the refusal set. */
static int forward(guard_conn *c, const char *const *parts, size_t n)
{
    char line[1024];
    size_t len[8], total = 0;
    int rc = 0;
    for (size_t i = 0; i < n && i < 8; i++) total += len[i] = strlen(parts[i]);
    if (n <= 8 && total <= sizeof line) {
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(line + at, parts[i], len[i]);
            at += len[i];
        }
        rc = evbuffer_add(c->fwd, line, total);
    } else {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = evbuffer_add(c->fwd, parts[i], strlen(parts[i]));
    }
    if (rc != 0) {
        ab_guard_refusal_set(&c->refusal, 503, "Retry-After", "1",
                             "out of memory reading the request head");
        return -1;
    }
    return 0;
}

/* The request line: METHOD SP TARGET SP VERSION. 0, or -1 refused (r set). */
static int request_line(guard_conn *c, head_parse *h, char *line)
{
    ab_refusal *r = &c->refusal;
    char *sp1 = strchr(line, ' '), *sp2 = strrchr(line, ' ');
    if (!sp1 || sp1 == sp2 || sp1 == line || sp2[1] == '\0' || sp2 == sp1 + 1) {
        h->method = "";
        ab_guard_refusal_set(r, 400, NULL, NULL, "malformed request line");
        return -1;
    }
    *sp1 = *sp2 = '\0';
    h->method = line;
    h->target = sp1 + 1;
    h->version = sp2 + 1;
    for (size_t i = 0; i < AB_GUARD_NMETHODS; i++)
        if (!strcmp(h->method, ab_guard_method_names[i]))
            h->cmd = ab_guard_method_cmds[i], h->have_cmd = 1;
    if (!h->have_cmd) {
        ab_guard_refusal_set(r, 501, NULL, NULL, "unknown method");
        return -1;
    }
    if (strcmp(h->version, "HTTP/1.1") && strcmp(h->version, "HTTP/1.0")) {
        ab_guard_refusal_set(r, 400, NULL, NULL, "unsupported HTTP version");
        return -1;
    }
    for (const char *p = h->target; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            ab_guard_refusal_set(r, 400, NULL, NULL, "malformed request target");
            return -1;
        }
    /* evhttp parses CONNECT's authority-form with a function 2.1 does not
     * export: left to evhttp (the router answers 405). */
    if (h->cmd == EVHTTP_REQ_CONNECT) h->uri = evhttp_uri_new();
    else h->uri = evhttp_uri_parse_with_flags(h->target, EVHTTP_URI_NONCONFORMANT);
    if (!h->uri) {
        ab_guard_refusal_set(r, 400, NULL, NULL, "malformed request target");
        return -1;
    }
    h->okpath = h->cmd == EVHTTP_REQ_CONNECT ? "/" : h->target;
    if (c->fwd) {
        const char *parts[] = {h->method, " ", h->target, " ", h->version, "\r\n"};
        return forward(c, parts, sizeof parts / sizeof *parts);
    }
    return 0;
}

/* The framing fields (Content-Length, Transfer-Encoding, Expect), which
 * the guard takes out of the head: 1 taken, 0 another field, -1 refused. */
static int framing_field(guard_conn *c, head_parse *h, const char *name, const char *value)
{
    ab_refusal *r = &c->refusal;
    if (!strcasecmp(name, "Content-Length")) {
        if (++h->n_cl > 1) {
            ab_guard_refusal_set(r, 400, NULL, NULL, "more than one Content-Length");
            return -1;
        }
        if (parse_length(value, &h->length)) {
            ab_guard_refusal_set(r, 400, NULL, NULL, "malformed Content-Length: digits only, "
                                                     "without sign, spaces or leading zeros");
            return -1;
        }
        return 1;
    }
    if (!strcasecmp(name, "Transfer-Encoding")) {
        h->n_te++;
        if (strcasecmp(value, "chunked") || h->n_te > 1) {
            ab_guard_refusal_set(r, 400, NULL, NULL, "unsupported Transfer-Encoding: only a "
                                                     "single \"chunked\" is accepted");
            return -1;
        }
        h->chunked = 1;
        return 1;
    }
    if (!strcasecmp(name, "Expect")) {
        if (strcasecmp(value, "100-continue")) {
            ab_guard_refusal_set(r, 417, NULL, NULL, "unsupported Expect");
            return -1;
        }
        h->expect_continue = 1;
        return 1;
    }
    return 0;
}

/* One header field line. 0, or -1 refused. */
static int header_field(guard_conn *c, head_parse *h, char *line)
{
    ab_refusal *r = &c->refusal;
    char *colon, *value, *vend;
    int taken;
    if (*line == ' ' || *line == '\t') {
        ab_guard_refusal_set(r, 400, NULL, NULL, "obsolete line folding in header fields");
        return -1;
    }
    if (++h->fields > ab_guard_g.lim.max_headers) {
        ab_guard_refusal_set(r, 400, NULL, NULL, "more than %zu header fields",
                             ab_guard_g.lim.max_headers);
        return -1;
    }
    colon = strchr(line, ':');
    if (!colon || colon == line) {
        ab_guard_refusal_set(r, 400, NULL, NULL, "malformed header field");
        return -1;
    }
    for (char *p = line; p < colon; p++)
        if (!is_tchar((unsigned char)*p)) {
            ab_guard_refusal_set(r, 400, NULL, NULL, "malformed header field name");
            return -1;
        }
    *colon = '\0';
    value = colon + 1;
    while (*value == ' ' || *value == '\t') value++;
    vend = value + strlen(value);
    while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t')) *--vend = '\0';
    for (const char *p = value; *p; p++)
        if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f) {
            ab_guard_refusal_set(r, 400, NULL, NULL, "control character in header field %.40s",
                                 line);
            return -1;
        }
    if ((taken = framing_field(c, h, line, value))) return taken < 0 ? -1 : 0;
    if (!strcasecmp(line, "Host") && ++h->n_host > 1) {
        ab_guard_refusal_set(r, 400, NULL, NULL, "more than one Host");
        return -1;
    }
    if (evhttp_add_header(&h->headers, line, value)) {
        ab_guard_refusal_set(r, 400, NULL, NULL, "malformed header field");
        return -1;
    }
    if (c->fwd) {
        const char *parts[] = {line, ": ", value, "\r\n"};
        return forward(c, parts, sizeof parts / sizeof *parts);
    }
    return 0;
}

/* The whole head read: its framing, the stop, the route's admission and
 * the limits. The body kind (0 none, 1 Content-Length, 2 chunked, 3 a body
 * of HEAD or TRACE to drop), or -1 refused. */
static int judge_head(guard_conn *c, head_parse *h)
{
    ab_refusal *r = &c->refusal;
    int kind;
    if (!h->method) {
        ab_guard_refusal_set(r, 400, NULL, NULL, "malformed request line");
        return -1;
    }
    if (h->chunked && h->n_cl) {
        ab_guard_refusal_set(r, 400, NULL, NULL, "Content-Length together with Transfer-Encoding");
        return -1;
    }
    if (h->chunked && !strcmp(h->version, "HTTP/1.0")) {
        ab_guard_refusal_set(r, 400, NULL, NULL, "Transfer-Encoding in an HTTP/1.0 request");
        return -1;
    }
    if (ab_guard_g.stopping && !c->grace) {
        /* Its head began after the stop signal: no new work. */
        ab_guard_refusal_set(r, 503, NULL, NULL, "shutting down: the daemon is stopping and "
                                                 "takes no new requests");
        return -1;
    }
    kind = h->chunked ? 2 : h->length > 0 ? 1 : 0;
    if (kind && (h->cmd == EVHTTP_REQ_HEAD || h->cmd == EVHTTP_REQ_TRACE)) {
        /* evhttp reads no body for these and would parse it as the next
         * request: the body is dropped here instead (chunked: refused). */
        if (h->chunked || h->length > ab_guard_g.lim.max_body) {
            ab_guard_refusal_set(r, 400, NULL, NULL, "a %s request has no body", h->method);
            return -1;
        }
        return 3;
    }
    if (kind) {
        ab_guard_head gh = {h->cmd, h->uri, h->target, &h->headers,
                            h->chunked ? UINT64_MAX : h->length};
        r->code = 0;
        if (ab_guard_g.admit && ab_guard_g.admit(ab_guard_g.admit_arg, &gh, r) != 0) {
            if (!r->code) ab_guard_refusal_set(r, 403, NULL, NULL, "refused");
            return -1;
        }
        if (!h->chunked && h->length > ab_guard_g.lim.max_body) {
            ab_guard_refusal_set(r, 413, NULL, NULL,
                                 "body of %llu bytes is over --max-body (%zu bytes)",
                                 (unsigned long long)h->length, ab_guard_g.lim.max_body);
            return -1;
        }
        if (!h->chunked && ab_guard_charge(c, (size_t)h->length)) {
            ab_guard_refusal_set(r, 503, "Retry-After", "1", "too many request bodies in "
                                                             "flight (--max-pending-bytes); "
                                                             "retry later");
            return -1;
        }
    }
    return kind;
}

/* Parses and checks the head in text (len bytes, ending "\n\n" or
 * "\r\n\r\n"), then re-frames it into c->fwd (without the empty line and
 * without Content-Length, Transfer-Encoding and Expect), or refuses it.
 * Returns the body kind (see judge_head), *length its Content-Length; -1
 * refused. */
static int parse_head(guard_conn *c, char *text, size_t len, struct evbuffer *dst,
                      uint64_t *length, int *expect_continue)
{
    char *line, *next, *end = text + len;
    head_parse h;
    int kind = -1;

    memset(&h, 0, sizeof h);
    h.cmd = EVHTTP_REQ_GET;
    TAILQ_INIT(&h.headers);
    if (memchr(text, '\0', len)) {
        ab_guard_refusal_set(&c->refusal, 400, NULL, NULL, "NUL byte in the request head");
        goto done;
    }
    for (line = text; line < end; line = next) {
        char *lf = memchr(line, '\n', (size_t)(end - line)), *eol;
        next = lf + 1;
        eol = lf;
        if (eol > line && eol[-1] == '\r') eol--;
        *eol = '\0';
        if (memchr(line, '\r', (size_t)(eol - line))) {
            ab_guard_refusal_set(&c->refusal, 400, NULL, NULL, "bare CR in the request head");
            goto done;
        }
        if (!h.method) {
            if (request_line(c, &h, line)) goto done;
            continue;
        }
        if (*line == '\0') break; /* the end of the head */
        if (header_field(c, &h, line)) goto done;
    }
    kind = judge_head(c, &h);
done:
    evhttp_clear_headers(&h.headers);
    if (h.uri) evhttp_uri_free(h.uri);
    *length = h.length;
    *expect_continue = h.expect_continue;
    if (kind < 0) ab_guard_refuse(c, dst, h.have_cmd ? h.method : "GET", h.okpath);
    return kind;
}

/* Appends c->fwd (the re-framed head) with its Content-Length to dst. */
void ab_guard_pass_head(guard_conn *c, struct evbuffer *dst, uint64_t length, int has_body)
{
    if (has_body) {
        char line[32 + AB_DECIMAL_MAX];
        size_t n = sizeof "Content-Length: " - 1;
        memcpy(line, "Content-Length: ", n);
        n += ab_decimal_u64(line + n, length);
        memcpy(line + n, "\r\n\r\n", 4);
        evbuffer_add(c->fwd, line, n + 4);
    } else {
        evbuffer_add(c->fwd, "\r\n", 2);
    }
    c->body_in = has_body ? length : 0;
    evbuffer_add_buffer(dst, c->fwd);
}

/* The offset of the next LF in src at or after from, or -1. */
ssize_t ab_guard_find_lf(struct evbuffer *src, size_t from)
{
    struct evbuffer_ptr p;
    if (from >= evbuffer_get_length(src)) return -1;
    if (evbuffer_ptr_set(src, &p, from, EVBUFFER_PTR_SET) < 0) return -1;
    p = evbuffer_search(src, "\n", 1, &p);
    return p.pos;
}

/* One step in ST_HEAD: 1 progress, 0 wait for more input. */
/* The head of n bytes at the start of src is complete: takes it, parses
 * it and sets the state for its body. 1 progress, 0 the connection is
 * doomed (out of memory). */
static int head_complete(guard_conn *c, struct evbuffer *src, struct evbuffer *dst, size_t n)
{
    char *text = malloc(n + 1);
    uint64_t length;
    int expect, kind;
    if (!text) {
        ab_guard_doom(c);
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
        ab_guard_doom(c);
        return 0;
    }
    evbuffer_drain(c->fwd, evbuffer_get_length(c->fwd));
    c->head_ns = ab_mono_ns();
    c->body_in = 0;
    kind = parse_head(c, text, n, dst, &length, &expect);
    c->grace = 0;
    free(text);
    if (kind < 0) return 1;
    if (kind == 2) {
        /* evhttp would answer 100 Continue only once it has the head,
         * which it gets after the body: answer it here. */
        if (expect) bufferevent_write(c->under, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        if (!c->body) c->body = evbuffer_new();
        if (!c->body) {
            ab_guard_doom(c);
            return 0;
        }
        c->state = ST_CHUNK_SIZE;
        return 1;
    }
    if (kind == 3) { /* HEAD or TRACE with a body to drop */
        ab_guard_pass_head(c, dst, 0, 0);
        c->remaining = length;
        c->replied = 0;
        c->state = ST_DISCARD;
        return 1;
    }
    /* Content-Length (or none): evhttp handles Expect itself. */
    if (expect) evbuffer_add_printf(c->fwd, "Expect: 100-continue\r\n");
    ab_guard_pass_head(c, dst, length, kind == 1);
    c->remaining = length;
    c->state = kind == 1 ? ST_BODY : ST_WAIT;
    return 1;
}

/* Whether the line of len bytes at start in src ends the head: empty, or
 * a lone CR before its LF. */
static int is_blank_line(struct evbuffer *src, size_t start, size_t len)
{
    struct evbuffer_ptr p;
    char cr = 0;
    if (len == 0) return 1;
    if (len != 1) return 0;
    evbuffer_ptr_set(src, &p, start, EVBUFFER_PTR_SET);
    evbuffer_copyout_from(src, &p, &cr, 1);
    return cr == '\r';
}

int ab_guard_step_head(guard_conn *c, struct evbuffer *src, struct evbuffer *dst)
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
    ab_guard_arm_deadline(c);
    for (;;) {
        lf = ab_guard_find_lf(src, c->scanned);
        if (lf < 0) {
            c->scanned = evbuffer_get_length(src);
            break;
        }
        size_t line_start = c->scanned, line_len = (size_t)lf - line_start;
        c->scanned = (size_t)lf + 1;
        if (c->scanned > ab_guard_g.lim.max_header_bytes) break;
        if (c->lines > 0 && is_blank_line(src, line_start, line_len))
            return head_complete(c, src, dst, c->scanned);
        c->lines++;
    }
    if (c->scanned > ab_guard_g.lim.max_header_bytes) {
        c->scanned = 0;
        c->lines = 0;
        ab_guard_refusal_set(&c->refusal, 400, NULL, NULL,
                             "request head over --max-header-bytes (%zu bytes)",
                             ab_guard_g.lim.max_header_bytes);
        ab_guard_refuse(c, dst, NULL, NULL);
        return 1;
    }
    return 0;
}
