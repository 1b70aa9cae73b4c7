/* webhook_url.c — what a webhook URL may be, and how logs and readers
 * without the admin scope see it (no libevent: experiments are validated
 * with the same rule that deliveries use). */
#include "base/webhook_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Length of the scheme's "http://" or "https://" (any case), or 0. */
static size_t scheme_len(const char *s, size_t len, int *tls)
{
    if (len >= 7 && !strncasecmp(s, "http://", 7)) return *tls = 0, 7;
    if (len >= 8 && !strncasecmp(s, "https://", 8)) return *tls = 1, 8;
    return 0;
}

/* The one parse of a webhook URL: why it is not usable, or NULL with *out
 * filled (out may be NULL). */
static const char *parse(const char *s, size_t len, ab_webhook_parts *out)
{
    const char *p, *end, *host, *host_end, *q;
    int tls;
    size_t sl;
    unsigned long port = 0;
    if (len > AB_WEBHOOK_URL_MAX) return "must be at most 2048 bytes";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return "must not contain spaces, control or non-ASCII characters "
                   "(percent-encode them)";
    }
    if (!(sl = scheme_len(s, len, &tls)))
        return "must be an http:// or https:// URL (https://host[:port]/path)";
    p = s + sl;
    end = p + strcspn(p, "/?#");
    if (end > s + len) end = s + len;
    if (memchr(p, '@', (size_t)(end - p))) return "must not contain user credentials";
    if (p < end && *p == '[') {
        q = memchr(p, ']', (size_t)(end - p));
        if (!q || q == p + 1) return "has an invalid IPv6 host";
        for (const char *h = p + 1; h < q; h++)
            if (!strchr("0123456789abcdefABCDEF:.", *h)) return "has an invalid IPv6 host";
        host = p + 1;
        host_end = q + 1;
        if (host_end < end && *host_end != ':') return "has an invalid host";
    } else {
        host = p;
        host_end = p;
        while (host_end < end && *host_end != ':') {
            char c = *host_end;
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-'))
                return "has an invalid host";
            host_end++;
        }
        if (host_end == p) return "must name a host";
    }
    if (host_end < end) {
        q = host_end + 1;
        if (q == end || end - q > 5) return "must have a port from 1 to 65535";
        for (; q < end; q++) {
            if (*q < '0' || *q > '9') return "must have a port from 1 to 65535";
            port = port * 10 + (unsigned long)(*q - '0');
        }
        if (port < 1 || port > 65535) return "must have a port from 1 to 65535";
    }
    if (out) {
        /* host_end is past ']' for IPv6: the name to connect to has no brackets. */
        size_t hlen = (size_t)((*p == '[' ? host_end - 1 : host_end) - host);
        const char *path = end, *frag = memchr(end, '#', (size_t)(s + len - end));
        size_t tlen = (size_t)((frag ? frag : s + len) - path);
        if (hlen >= sizeof out->host) return "has a host name over 255 bytes";
        out->tls = tls;
        out->port = port ? (int)port : tls ? 443 : 80;
        snprintf(out->host, sizeof out->host, "%.*s", (int)hlen, host);
        snprintf(out->authority, sizeof out->authority, "%.*s", (int)(end - p), p);
        snprintf(out->target, sizeof out->target, "%s%.*s", *path == '/' ? "" : "/", (int)tlen,
                 path);
    }
    return NULL;
}

const char *ab_webhook_url_problem(const char *s, size_t len)
{
    ab_webhook_parts parts;
    /* The full parse, so that a URL is refused here for every reason a
     * delivery would fail to take it apart. */
    return parse(s, len, &parts);
}

int ab_webhook_url_split(const char *url, ab_webhook_parts *out)
{
    return parse(url, strlen(url), out) ? -1 : 0;
}

/* Start of the authority (after "scheme://"), skipping any userinfo;
 * *auth_end its end. NULL when there is no "://". */
static const char *authority(const char *url, const char **auth_end)
{
    const char *p = strstr(url, "://"), *end, *at;
    if (!p) return NULL;
    p += 3;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at) p = at + 1;
    *auth_end = end;
    return p;
}

void ab_webhook_url_for_log(const char *url, char *buf, size_t size)
{
    const char *end, *a = authority(url, &end), *path;
    size_t plen;
    if (!size) return;
    if (!a) {
        snprintf(buf, size, "(unusable URL)");
        return;
    }
    path = end;
    plen = strcspn(path, "?#");
    snprintf(buf, size, "%.*s%.*s%.*s%s", (int)(strstr(url, "://") + 3 - url), url,
             (int)(end - a), a, (int)plen, path,
             path[plen] == '?' ? "?..." : "");
}

char *ab_webhook_url_redacted(const char *url)
{
    const char *end, *a = authority(url, &end), *q;
    size_t cap = strlen(url) * 2 + 16, n;
    char *out = malloc(cap);
    if (!out) return NULL;
    if (!a) {
        snprintf(out, cap, "%s", "***");
        return out;
    }
    n = (size_t)snprintf(out, cap, "%.*s%.*s", (int)(strstr(url, "://") + 3 - url), url,
                         (int)(end - a), a);
    q = end + strcspn(end, "?#");
    n += (size_t)snprintf(out + n, cap - n, "%.*s", (int)(q - end), end);
    if (*q == '?') {
        const char *p = q + 1, *qend = p + strcspn(p, "#");
        out[n++] = '?';
        while (p < qend) {
            size_t plen = strcspn(p, "&#"), klen = strcspn(p, "=&#");
            if (p + plen > qend) plen = (size_t)(qend - p);
            if (klen > plen) klen = plen;
            n += (size_t)snprintf(out + n, cap - n, "%.*s%s", (int)klen, p,
                                  klen < plen ? "=***" : "");
            p += plen;
            if (p < qend && *p == '&') {
                out[n++] = '&';
                p++;
            }
        }
        out[n] = '\0';
    }
    return out;
}
