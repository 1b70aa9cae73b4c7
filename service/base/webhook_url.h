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

/* scheme://host[:port]/path, without userinfo, query or fragment: what
 * logs show. Writes at most size bytes. */
void ab_webhook_url_for_log(const char *url, char *buf, size_t size);

/* The URL with every query value replaced by "***" (and no userinfo), for
 * readers without the admin scope. Caller frees; NULL when out of memory. */
char *ab_webhook_url_redacted(const char *url);

#endif
