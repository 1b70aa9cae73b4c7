/* webhook_url.h — the one rule for webhook URLs, and their redacted forms. */
#ifndef ABSTAT_WEBHOOK_URL_H
#define ABSTAT_WEBHOOK_URL_H

#include <stddef.h>

#define AB_WEBHOOK_URL_MAX 2048

/* Why a webhook URL is not usable, or NULL: http:// or https:// (any
 * case), a host (name, IPv4 or [IPv6]), an optional port 1-65535, no
 * credentials, no spaces or non-ASCII, at most 2048 bytes. The one home of
 * the rule: experiments are checked with it and deliveries use it. */
const char *ab_webhook_url_problem(const char *s, size_t len);

/* A usable webhook URL taken apart for a delivery: the parse that
 * ab_webhook_url_problem checks, so that what PUT accepts is exactly what
 * a delivery can send to. */
typedef struct {
    int tls;                 /* https:// (any case) */
    char host[256];          /* name or address to connect to; IPv6 without brackets */
    int port;                /* the URL's, or 443 / 80 */
    char authority[272];     /* the Host header: host[:port] as written, brackets kept */
    char target[AB_WEBHOOK_URL_MAX + 2]; /* path ("/" when empty) and ?query, no #fragment */
} ab_webhook_parts;

/* Fills *out from url (NUL-terminated). 0, or -1 when
 * ab_webhook_url_problem names a problem. */
int ab_webhook_url_split(const char *url, ab_webhook_parts *out);

/* scheme://host[:port]/path, without userinfo, query or fragment: what
 * logs show. Writes at most size bytes. */
void ab_webhook_url_for_log(const char *url, char *buf, size_t size);

/* The URL with every query value replaced by "***" (and no userinfo), for
 * readers without the admin scope. Caller frees; NULL when out of memory. */
char *ab_webhook_url_redacted(const char *url);

#endif
