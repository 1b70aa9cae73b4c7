/* tls.h — the one TLS client policy of abstat, shared by webhook
 * deliveries (webhook.c) and the command line's HTTP client
 * (http_client.c): TLS 1.2 or later, the peer's certificate verified
 * against trusted CAs, its host name (or IP address) checked, SNI sent,
 * on libevent 2.1's OpenSSL bufferevents. */
#ifndef ABSTAT_TLS_H
#define ABSTAT_TLS_H

#include <stddef.h>

struct bufferevent;
struct event_base;
struct ssl_ctx_st;
struct ssl_st;

/* A new client context (caller frees with SSL_CTX_free). cafile NULL: the
 * system's trusted certificates (OpenSSL's default paths, which honour
 * $SSL_CERT_FILE and $SSL_CERT_DIR); else only the CAs of that PEM file.
 * NULL with a reason in err (errlen bytes) when OpenSSL cannot set up a
 * context or cafile cannot be loaded; a system store that cannot be read
 * is not an error here (every certificate is then refused, with the
 * reason). */
struct ssl_ctx_st *ab_tls_client_ctx(const char *cafile, char *err, size_t errlen);

/* A new OpenSSL bufferevent on base that will connect to host (a name, or
 * a bare IPv4/IPv6 address without brackets) and verify it: SNI and the
 * certificate's DNS names for a name, its IP names for an address. fd -1,
 * BEV_OPT_CLOSE_ON_FREE: made for evhttp_connection_base_bufferevent_new,
 * which then owns it (the SSL is freed with it). *ssl_out receives the
 * SSL for ab_tls_failure. NULL when out of memory. */
struct bufferevent *ab_tls_bufferevent(struct event_base *base, struct ssl_ctx_st *ctx,
                                       const char *host, struct ssl_st **ssl_out);

/* Why the TLS connection ssl (on bev, may be NULL) failed, in one line:
 * "TLS certificate not accepted: <OpenSSL's verify reason>" when the
 * certificate was refused, else "TLS: <OpenSSL's error>". Returns the
 * X509_V_* verify result when the certificate was refused, -1 for another
 * TLS error, 0 when TLS recorded no failure (why untouched). */
long ab_tls_failure(struct ssl_st *ssl, struct bufferevent *bev, char *why, size_t len);

#endif
