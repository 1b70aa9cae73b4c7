/* http_client.c — a synchronous GET over libevent's evhttp client, plain
 * or TLS (see http_client.h).
 *
 * Everything runs on a private event base until the answer, a failure or
 * the total deadline: the name is resolved with evdns_getaddrinfo (never
 * the blocking getaddrinfo, so the deadline holds for the lookup too),
 * then each of its addresses is tried on a fresh bufferevent (OpenSSL for
 * https, verifying the URL's host name, not the address) under evhttp.
 * Only a failure to connect moves on to the next address: a refused
 * certificate or a TLS error ends it at once, since every address of the
 * name presents the same certificate. */
#include "http/http_client.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "base/clock.h"
#include "http/tls.h"
#include "base/version.h"

#define MAX_HEADERS_BYTES 65536

void ab_http_opts_init(ab_http_opts *o)
{
    o->cacert = NULL;
    o->timeout_s = 30.0;
    o->max_body = 16u * 1024u * 1024u;
}

typedef struct {
    const ab_http_opts *opts;
    ab_http_answer *out;
    struct event_base *base;
    struct evdns_base *dns;
    SSL_CTX *ctx;                          /* https only */
    struct evdns_getaddrinfo_request *lookup;
    struct evutil_addrinfo *addrs, *next;  /* the name's addresses; the next to try */
    struct event *deadline;                /* the whole request */
    struct event *step;                    /* an attempt failed: next address */
    double end_s;                          /* monotonic time of the deadline */
    struct evhttp_connection *conn;        /* the attempt's; owns bev and ssl */
    struct bufferevent *bev;
    SSL *ssl;
    char host[256];                        /* bare: no IPv6 brackets */
    char hosthdr[300];                     /* the Host header */
    char target[2048];
    char auth[1100];                       /* "" without a token */
    char server[320];                      /* scheme://host:port, for messages */
    char addr[64];                         /* the address being tried */
    int port, tls;
    int req_error;                         /* evhttp_request_error + 1; 0 none */
    int sent;                              /* the request left: the attempt connected */
    int over;                              /* answered or given up */
    char last[512];                        /* why the last address failed */
    char why[800];                         /* why it all failed */
} client;

static double now_s(void)
{
    return (double)ab_mono_ns() * 1e-9;
}

static void give_up(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void give_up(client *c, const char *fmt, ...)
{
    va_list ap;
    if (c->over) return;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    c->over = 1;
    event_base_loopbreak(c->base);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    client *c = arg;
    (void)fd;
    (void)what;
    if (!c->addrs)
        give_up(c, "cannot resolve %s within %g s", c->host, c->opts->timeout_s);
    else
        give_up(c, "no answer from %s within %g s", c->server, c->opts->timeout_s);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    client *c = arg;
    c->req_error = (int)e + 1;
}

static void on_answer(struct evhttp_request *req, void *arg)
{
    static const struct timeval now = {0, 0};
    client *c = arg;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (c->over) return;
    if (code > 0) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        if (!(c->out->body = malloc(n + 1))) {
            give_up(c, "out of memory reading the answer of %s", c->server);
            return;
        }
        evbuffer_copyout(in, c->out->body, n);
        c->out->body[n] = '\0';
        c->out->len = n;
        c->out->status = code;
        c->over = 1;
        event_base_loopbreak(c->base);
        return;
    }
    /* The connection must not be freed inside its own callback. */
    evtimer_add(c->step, &now);
}

static void drop_connection(client *c)
{
    if (c->conn) evhttp_connection_free(c->conn); /* frees bev and ssl */
    c->conn = NULL;
    c->bev = NULL;
    c->ssl = NULL;
}

/* libevent's last warning, for the one failure it explains nowhere else:
 * a connect() that fails at once ("...failed: Network is unreachable").
 * libevent's log is process-wide; the command line has one request at a
 * time, and nothing of libevent's reaches stderr on its own. */
static char libevent_warning[256];

static void on_libevent_log(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_WARN) snprintf(libevent_warning, sizeof libevent_warning, "%s", msg);
}

/* The request's bytes leave the output buffer only once connected. */
static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    client *c = arg;
    (void)buf;
    if (info->n_deleted > 0 && c->conn) c->sent = 1;
}

/* Why an attempt that never sent its request failed. evhttp does not keep
 * the socket error: it calls the request back without an error only after
 * ECONNREFUSED, or after a connect() that failed at once (logged). */
static const char *connect_failure(const client *c)
{
    const char *colon = strrchr(libevent_warning, ':');
    if (c->req_error) return "connection failed";
    if (strstr(libevent_warning, "connection to") && colon && colon[1] == ' ') return colon + 2;
    return "connection refused";
}

/* Turns the refused certificate's reason into what to do about it. */
static void certificate_refused(client *c, long verify, const char *reason)
{
    switch (verify) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        give_up(c, "%s (server %s; %s)", reason, c->server,
                c->opts->cacert ? "its CA is not in the --cacert bundle"
                                : "a private CA's certificate can be given with --cacert FILE");
        return;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        give_up(c, "%s (the certificate of %s is not made out to %s)", reason, c->server,
                c->host);
        return;
    default:
        give_up(c, "%s (server %s)", reason, c->server);
    }
}

static int start_attempt(client *c, int family);

/* The next address, or the end with the last one's reason. */
static void try_next(client *c)
{
    drop_connection(c);
    while (c->next && !c->over) {
        struct evutil_addrinfo *ai = c->next;
        const void *bin;
        c->next = ai->ai_next;
        if (ai->ai_family == AF_INET)
            bin = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            bin = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
        else
            continue;
        if (!evutil_inet_ntop(ai->ai_family, bin, c->addr, sizeof c->addr)) continue;
        start_attempt(c, ai->ai_family);
        return;
    }
    give_up(c, "%s", c->last[0] ? c->last : "the host name has no usable address");
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
    client *c = arg;
    char tlswhy[300];
    long verify;
    (void)fd;
    (void)what;
    if (c->over) return;
    if (c->tls && (verify = ab_tls_failure(c->ssl, c->bev, tlswhy, sizeof tlswhy)) != 0) {
        if (verify > 0) certificate_refused(c, verify, tlswhy);
        else give_up(c, "%s (server %s; does it speak https on that port?)", tlswhy, c->server);
        return;
    }
    switch (c->req_error - 1) {
    case EVREQ_HTTP_DATA_TOO_LONG:
        give_up(c, "the answer of %s is larger than %zu bytes", c->server, c->opts->max_body);
        return;
    case EVREQ_HTTP_INVALID_HEADER:
        give_up(c, "%s did not answer HTTP%s", c->server,
                c->tls ? "" : " (is it https://?)");
        return;
    default:
        break;
    }
    if (!c->sent)
        snprintf(c->last, sizeof c->last, "cannot connect to %s (%s): %s", c->server, c->addr,
                 connect_failure(c));
    else
        snprintf(c->last, sizeof c->last, "%s (%s) closed the connection without an answer%s",
                 c->server, c->addr, c->tls ? "" : " (is it https://?)");
    try_next(c);
}

static int add_header(client *c, struct evkeyvalq *h, const char *name, const char *value)
{
    if (evhttp_add_header(h, name, value) == 0) return 0;
    give_up(c, "the %s header cannot carry that value (control characters?)", name);
    return -1;
}

static int start_attempt(client *c, int family)
{
    struct evhttp_request *req;
    struct evkeyvalq *h;
    double left = c->end_s - now_s();
    struct timeval tv;

    c->req_error = 0;
    c->sent = 0;
    libevent_warning[0] = '\0';
    c->bev = c->tls ? ab_tls_bufferevent(c->base, c->ctx, c->host, &c->ssl)
                    : bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        give_up(c, "out of memory");
        return -1;
    }
    /* The address is numeric: evhttp connects without a lookup of its own. */
    if (!(c->conn = evhttp_connection_base_bufferevent_new(c->base, NULL, c->bev, c->addr,
                                                           (ev_uint16_t)c->port))) {
        bufferevent_free(c->bev);
        c->bev = NULL;
        c->ssl = NULL;
        give_up(c, "out of memory");
        return -1;
    }
    evhttp_connection_set_family(c->conn, family);
    if (evbuffer_add_cb(bufferevent_get_output(c->bev), on_output, c) == NULL) {
        give_up(c, "out of memory");
        return -1;
    }
    /* Our own deadline speaks first; evhttp's is only a backstop. */
    if (left < 0) left = 0;
    tv.tv_sec = (long)left + 1;
    tv.tv_usec = 0;
    evhttp_connection_set_timeout_tv(c->conn, &tv);
    evhttp_connection_set_max_headers_size(c->conn, MAX_HEADERS_BYTES);
    evhttp_connection_set_max_body_size(c->conn, (ev_ssize_t)c->opts->max_body);
    if (!(req = evhttp_request_new(on_answer, c))) {
        give_up(c, "out of memory");
        return -1;
    }
    evhttp_request_set_error_cb(req, on_error);
    h = evhttp_request_get_output_headers(req);
    if (add_header(c, h, "Host", c->hosthdr) || add_header(c, h, "Accept", "application/json") ||
        add_header(c, h, "User-Agent", "abstat/" AB_VERSION) ||
        add_header(c, h, "Connection", "close") ||
        (c->auth[0] && add_header(c, h, "Authorization", c->auth))) {
        evhttp_request_free(req);
        return -1;
    }
    /* On failure libevent frees req and calls nothing. */
    if (evhttp_make_request(c->conn, req, EVHTTP_REQ_GET, c->target) != 0) {
        give_up(c, "cannot send the request to %s", c->server);
        return -1;
    }
    return 0;
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
    client *c = arg;
    c->lookup = NULL;
    if (result == EVUTIL_EAI_CANCEL || c->over) {
        if (res) evutil_freeaddrinfo(res);
        return;
    }
    if (result != 0 || !res) {
        give_up(c, "cannot resolve %s: %s", c->host,
                result ? evutil_gai_strerror(result) : "no address");
        if (res) evutil_freeaddrinfo(res);
        return;
    }
    c->addrs = c->next = res;
    try_next(c);
}

/* Splits base_url into c's parts; 0, or -1 with c->why set. */
static int parse_url(client *c, const char *base_url, const char *path)
{
    struct evhttp_uri *uri = evhttp_uri_parse(base_url);
    const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
    const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
    const char *prefix;
    size_t plen, hlen;
    int rc = -1;

    if (!scheme || (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) || !host ||
        !*host) {
        snprintf(c->why, sizeof c->why,
                 "the server URL must be http://host[:port] or https://host[:port], not \"%.200s\"",
                 base_url);
        goto done;
    }
    if (evhttp_uri_get_userinfo(uri)) {
        snprintf(c->why, sizeof c->why,
                 "the server URL must not hold credentials: give the token with --token");
        goto done;
    }
    if (evhttp_uri_get_query(uri) || evhttp_uri_get_fragment(uri)) {
        snprintf(c->why, sizeof c->why, "the server URL takes no query or fragment: \"%.200s\"",
                 base_url);
        goto done;
    }
    hlen = strlen(host);
    if (hlen >= sizeof c->host) {
        snprintf(c->why, sizeof c->why, "the server's host name is too long");
        goto done;
    }
    c->tls = !strcasecmp(scheme, "https");
    c->port = evhttp_uri_get_port(uri);
    /* libevent keeps an IPv6 literal's brackets: Host wants them, the
     * connection and the certificate check do not. */
    if (host[0] == '[' && hlen > 2) snprintf(c->host, sizeof c->host, "%.*s", (int)hlen - 2, host + 1);
    else snprintf(c->host, sizeof c->host, "%s", host);
    if (c->port > 0) snprintf(c->hosthdr, sizeof c->hosthdr, "%s:%d", host, c->port);
    else snprintf(c->hosthdr, sizeof c->hosthdr, "%s", host);
    if (c->port <= 0) c->port = c->tls ? 443 : 80;
    snprintf(c->server, sizeof c->server, "%s://%s:%d", c->tls ? "https" : "http", host, c->port);
    prefix = evhttp_uri_get_path(uri);
    plen = prefix ? strlen(prefix) : 0;
    while (plen && prefix[plen - 1] == '/') plen--;
    if ((size_t)snprintf(c->target, sizeof c->target, "%.*s%s", (int)plen, prefix ? prefix : "",
                         path) >= sizeof c->target) {
        snprintf(c->why, sizeof c->why, "the server URL's path is too long");
        goto done;
    }
    rc = 0;
done:
    if (uri) evhttp_uri_free(uri);
    return rc;
}

int ab_http_get(const char *base_url, const char *path, const char *token,
                const ab_http_opts *opts, ab_http_answer *out, char *err, size_t errlen)
{
    struct evutil_addrinfo hints;
    struct timeval tv;
    char portstr[16];
    unsigned char bin[16];
    client *c = calloc(1, sizeof *c);
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->opts = opts;
    c->out = out;
    event_set_log_callback(on_libevent_log);
    if (parse_url(c, base_url, path)) goto done;
    if (token) {
        if (strlen(token) > 1024) {
            snprintf(c->why, sizeof c->why, "the token is longer than 1024 bytes");
            goto done;
        }
        snprintf(c->auth, sizeof c->auth, "Bearer %s", token);
    }
    if (c->tls && !(c->ctx = ab_tls_client_ctx(opts->cacert, c->why, sizeof c->why))) goto done;
    if (!(c->base = event_base_new()) || !(c->deadline = evtimer_new(c->base, on_deadline, c)) ||
        !(c->step = evtimer_new(c->base, on_step, c))) {
        snprintf(c->why, sizeof c->why, "out of memory");
        goto done;
    }
    /* /etc/resolv.conf and /etc/hosts, as getaddrinfo would read them. */
    c->dns = evdns_base_new(c->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                         EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!c->dns) {
        if (!(c->dns = evdns_base_new(c->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE))) {
            snprintf(c->why, sizeof c->why, "out of memory");
            goto done;
        }
        evdns_base_load_hosts(c->dns, NULL);
    }
    c->end_s = now_s() + opts->timeout_s;
    tv.tv_sec = (long)opts->timeout_s;
    tv.tv_usec = (long)((opts->timeout_s - (double)tv.tv_sec) * 1e6);
    if (evtimer_add(c->deadline, &tv)) {
        snprintf(c->why, sizeof c->why, "cannot arm the deadline");
        goto done;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    /* A name: no IPv6 address tried on a machine without IPv6, and vice
     * versa. An address is taken as it is. */
    hints.ai_flags = evutil_inet_pton(AF_INET, c->host, bin) == 1 ||
                             evutil_inet_pton(AF_INET6, c->host, bin) == 1
                         ? EVUTIL_AI_NUMERICHOST
                         : EVUTIL_AI_ADDRCONFIG;
    snprintf(portstr, sizeof portstr, "%d", c->port);
    /* It may answer at once (an address, /etc/hosts) and return NULL. */
    c->lookup = evdns_getaddrinfo(c->dns, c->host, portstr, &hints, on_resolved, c);
    /* A loopbreak before the loop starts would be forgotten by it. */
    if (!c->over) event_base_dispatch(c->base);
    if (out->status > 0) rc = 0;
    else if (!c->why[0])
        snprintf(c->why, sizeof c->why, "no answer from %s", c->server);
done:
    c->over = 1;
    drop_connection(c);
    if (c->lookup) evdns_getaddrinfo_cancel(c->lookup);
    if (c->dns) evdns_base_free(c->dns, 1);
    /* Cancelled lookups report through deferred callbacks: let them run. */
    for (int i = 0; c->base && i < 4; i++) event_base_loop(c->base, EVLOOP_NONBLOCK);
    if (c->addrs) evutil_freeaddrinfo(c->addrs);
    if (c->deadline) event_free(c->deadline);
    if (c->step) event_free(c->step);
    if (c->ctx) SSL_CTX_free(c->ctx);
    if (c->base) event_base_free(c->base);
    event_set_log_callback(NULL);
    if (rc) {
        snprintf(err, errlen, "%s", c->why);
        free(out->body);
        memset(out, 0, sizeof *out);
    }
    free(c);
    return rc;
}
