/* tls.c — the TLS client policy shared by webhooks and the command line
 * (see tls.h). */
#include "http/tls.h"

#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* OpenSSL's reason for the last error of its queue, or a fallback. */
static void openssl_reason(char *buf, size_t len, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    if (e) ERR_error_string_n(e, buf, len);
    else snprintf(buf, len, "%s", fallback);
    ERR_clear_error();
}

SSL_CTX *ab_tls_client_ctx(const char *cafile, char *err, size_t errlen)
{
    char why[200];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        openssl_reason(why, sizeof why, "out of memory");
        snprintf(err, errlen, "cannot set up TLS: %s", why);
        return NULL;
    }
    /* TLS 1.0 and 1.1 are broken and disabled by every current server. */
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        openssl_reason(why, sizeof why, "TLS 1.2 unavailable");
        snprintf(err, errlen, "cannot set up TLS: %s", why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (cafile) {
        /* OpenSSL says "system lib" for a file that is not there. */
        FILE *fp = fopen(cafile, "r");
        if (!fp) {
            snprintf(err, errlen, "cannot load the CA bundle %s: %s", cafile, strerror(errno));
            SSL_CTX_free(ctx);
            return NULL;
        }
        fclose(fp);
        /* Replaces the system store, as curl's --cacert does: a private CA
         * is trusted for this server without trusting it for anything else,
         * and a test proves what the bundle alone accepts. */
        if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
            openssl_reason(why, sizeof why, "no certificate in it");
            snprintf(err, errlen, "cannot load the CA bundle %s: %s", cafile, why);
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        /* Not fatal: verification then fails with its own reason. */
        ERR_clear_error();
    }
    return ctx;
}

struct bufferevent *ab_tls_bufferevent(struct event_base *base, SSL_CTX *ctx, const char *host,
                                       SSL **ssl_out)
{
    unsigned char addr[16];
    struct bufferevent *bev;
    SSL *ssl = SSL_new(ctx);
    int literal = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;

    if (!ssl) return NULL;
    if (literal) {
        /* An address is checked against the certificate's IP names; SNI
         * carries names only (RFC 6066). */
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1) goto fail;
    } else {
        if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1) goto fail;
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) goto fail;
    /* Many servers close without close_notify after the answer: the answer
     * is complete by its Content-Length, so that is not an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    *ssl_out = ssl;
    return bev;
fail:
    ERR_clear_error();
    SSL_free(ssl);
    return NULL;
}

long ab_tls_failure(SSL *ssl, struct bufferevent *bev, char *why, size_t len)
{
    unsigned long e;
    long v;
    if (!ssl) return 0;
    if ((v = SSL_get_verify_result(ssl)) != X509_V_OK) {
        snprintf(why, len, "TLS certificate not accepted: %s", X509_verify_cert_error_string(v));
        return v;
    }
    /* libevent also queues SSL_get_error() codes (library 0: 5 is
     * SSL_ERROR_SYSCALL, a failed socket, not a TLS failure): skipped. */
    while (bev && (e = bufferevent_get_openssl_error(bev)) != 0) {
        char msg[160];
        if (ERR_GET_LIB(e) == 0) continue;
        ERR_error_string_n(e, msg, sizeof msg);
        snprintf(why, len, "TLS: %s", msg);
        return -1;
    }
    return 0;
}
