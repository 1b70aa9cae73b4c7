/* http_client.h — one blocking HTTP or HTTPS GET for the command line, on
 * libevent's evhttp client with a private event base: evdns lookups,
 * every address of the name tried in turn, certificates verified (tls.h)
 * and one total deadline. */
#ifndef ABSTAT_HTTP_CLIENT_H
#define ABSTAT_HTTP_CLIENT_H

#include <stddef.h>

typedef struct {
    int status;       /* HTTP status; 0 when no answer came */
    char *body;       /* NUL-terminated, caller frees */
    size_t len;
} ab_http_answer;

typedef struct {
    const char *cacert;   /* https: PEM file of the CAs trusted instead of the
                           * system's; NULL for the system store */
    double timeout_s;     /* the whole request: lookup, connect, TLS, answer */
    size_t max_body;      /* bytes of the answer's body accepted */
} ab_http_opts;

/* Defaults: the system store, 30 s, 16 MiB. */
void ab_http_opts_init(ab_http_opts *o);

/* GETs base_url + path (base_url "http://host[:port][/prefix]" or
 * "https://…", scheme in any case), with "Authorization: Bearer token"
 * when token is not NULL. Returns 0 when an HTTP answer came (any status;
 * out->body is then the caller's), -1 with a one-line reason in err
 * (errlen bytes) otherwise: bad URL, lookup, connection, TLS (a refused
 * certificate reads "TLS certificate not accepted: …"), deadline. */
int ab_http_get(const char *base_url, const char *path, const char *token,
                const ab_http_opts *opts, ab_http_answer *out, char *err, size_t errlen);

#endif
