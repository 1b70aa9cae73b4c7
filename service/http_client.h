/* http_client.h — one blocking HTTP GET for the command line, on libevent's
 * client with a private event base. */
#ifndef ABSTAT_HTTP_CLIENT_H
#define ABSTAT_HTTP_CLIENT_H

#include <stddef.h>

typedef struct {
    int status;       /* HTTP status; 0 when no answer came */
    char *body;       /* NUL-terminated, caller frees */
    size_t len;
} ab_http_answer;

/* GETs base_url + path (base_url "http://host[:port][/prefix]"), with
 * "Authorization: Bearer token" when token is not NULL. Returns 0 when an
 * HTTP answer came (any status), -1 with err set otherwise. */
int ab_http_get(const char *base_url, const char *path, const char *token, int timeout_s,
                ab_http_answer *out, char *err, size_t errlen);

#endif
