/* cors.c — checking --cors-origin and matching an Origin against it. */
#include "http/cors.h"

#include <stdio.h>
#include <string.h>

/* Longer entries are no origin a browser sends (a host is at most 253
 * bytes); the cap keeps the suggested fix within a fixed buffer. */
#define ENTRY_MAX 300

static int is_lower_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int is_ipv6_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
}

/* The entry as browsers would write it, for the "use ..." of a message:
 * lower case, from the scheme to the end of the host and port, without a
 * default port. Falls back to the entry itself. */
static void suggest(const char *e, size_t n, char *out, size_t cap)
{
    size_t o = 0, i = 0, hs;
    const char *sep = NULL;
    for (size_t j = 0; j + 2 < n; j++)
        if (e[j] == ':' && e[j + 1] == '/' && e[j + 2] == '/') {
            sep = e + j;
            break;
        }
    if (!sep) {
        /* No scheme: https is what a shop's pages use. */
        o = (size_t)snprintf(out, cap, "https://");
        hs = 0;
    } else {
        for (; e + i < sep && o + 1 < cap; i++)
            if (e[i] != ' ' && e[i] != '\t')
                out[o++] = (char)(e[i] >= 'A' && e[i] <= 'Z' ? e[i] - 'A' + 'a' : e[i]);
        for (int k = 0; k < 3 && o + 1 < cap; k++) out[o++] = "://"[k];
        hs = (size_t)(sep - e) + 3;
    }
    for (i = hs; i < n && e[i] != '/' && e[i] != '?' && e[i] != '#' && o + 1 < cap; i++) {
        char c = e[i];
        if (c == ' ' || c == '\t') continue;
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (o >= cap) o = cap - 1;
    out[o] = '\0';
    /* Browsers leave the default port out. */
    if (!strncmp(out, "https://", 8) && o > 4 && !strcmp(out + o - 4, ":443")) out[o - 4] = '\0';
    if (!strncmp(out, "http://", 7) && o > 3 && !strcmp(out + o - 3, ":80")) out[o - 3] = '\0';
}

/* Checks one entry (n bytes, no comma); 0 or -1 with msg. */
static int check_entry(const char *e, size_t n, int several, char *msg, size_t cap)
{
    char fix[ENTRY_MAX + 16], where[ENTRY_MAX + 16];
    const char *why = NULL, *host, *end = e + n, *p;
    size_t scheme_len;
    int https;

    if (n > ENTRY_MAX) {
        snprintf(msg, cap, "an origin of %zu bytes is no origin a browser sends", n);
        return -1;
    }
    suggest(e, n, fix, sizeof fix);
    /* With several entries, say which one is wrong. */
    if (several) snprintf(where, sizeof where, "in \"%.*s\": ", (int)n, e);
    else where[0] = '\0';

    if (n == 1 && e[0] == '*') {
        snprintf(msg, cap, "\"*\" allows every origin and cannot be part of a list");
        return -1;
    }
    if (n == 4 && !memcmp(e, "null", 4)) {
        snprintf(msg, cap, "%s\"null\" is the Origin of sandboxed frames and local files, "
                 "which any page can produce: it cannot be allowed", where);
        return -1;
    }
    if (n >= 8 && !strncmp(e, "https://", 8)) scheme_len = 8, https = 1;
    else if (n >= 7 && !strncmp(e, "http://", 7)) scheme_len = 7, https = 0;
    else {
        for (p = e; p < end && *p != ':'; p++) {}
        if (p + 2 < end && p[1] == '/' && p[2] == '/') {
            char scheme[16];
            size_t sl = (size_t)(p - e);
            int lower_ok = sl < sizeof scheme;
            for (size_t i = 0; lower_ok && i < sl; i++)
                scheme[i] = (char)(e[i] >= 'A' && e[i] <= 'Z' ? e[i] - 'A' + 'a' : e[i]);
            if (lower_ok) scheme[sl] = '\0';
            if (lower_ok && (!strcmp(scheme, "http") || !strcmp(scheme, "https"))) {
                why = "browsers send the scheme in lower case";
            } else {
                why = "the scheme must be http:// or https://";
                fix[0] = '\0'; /* which of the two is the owner's to say */
            }
        } else {
            why = "an origin starts with http:// or https://";
        }
        goto bad;
    }
    host = e + scheme_len;
    for (p = host; p < end; p++)
        if (*p == '/' || *p == '?' || *p == '#') {
            why = "an origin has no path or trailing \"/\"";
            goto bad;
        }
    for (p = host; p < end; p++)
        if (*p == '@') {
            why = "an origin has no user name or password";
            goto bad;
        }
    if (host == end) {
        why = "the host is missing";
        goto bad;
    }
    /* The host: a bracketed IPv6 address or letters, digits, '-' and '.'. */
    p = host;
    if (*p == '[') {
        for (p++; p < end && is_ipv6_char(*p); p++) {}
        if (p == end || *p != ']' || p == host + 1) {
            why = "an IPv6 host is written in brackets, in lower case: [::1]";
            goto bad;
        }
        p++;
    } else {
        for (; p < end && *p != ':'; p++) {
            if (*p >= 'A' && *p <= 'Z') {
                why = "browsers send the host in lower case";
                goto bad;
            }
            if (!is_lower_host_char(*p)) {
                why = "a host holds only letters, digits, \"-\" and \".\" (or an [IPv6] "
                      "address); write an international name in its xn-- form";
                goto bad;
            }
        }
        if (p == host || host[0] == '.' || host[0] == '-' || p[-1] == '.' || p[-1] == '-') {
            why = "the host is not a host name";
            goto bad;
        }
    }
    if (p < end) {
        /* ":PORT": 1 to 65535, no leading zero, not the scheme's default. */
        unsigned long port = 0;
        const char *digits = ++p;
        if (*(p - 1) != ':' || p == end) {
            why = "after the host comes only \":PORT\"";
            goto bad;
        }
        for (; p < end && *p >= '0' && *p <= '9' && port <= 65535; p++)
            port = port * 10 + (unsigned long)(*p - '0');
        if (p != end || port == 0 || port > 65535 || *digits == '0') {
            why = "the port must be a number from 1 to 65535";
            goto bad;
        }
        if (port == (https ? 443ul : 80ul)) {
            why = "browsers leave the default port out of an origin";
            goto bad;
        }
    }
    return 0;
bad:
    if (!fix[0] || (strlen(fix) == n && !strncmp(fix, e, n)))
        snprintf(msg, cap, "%s%s", where, why);
    else
        snprintf(msg, cap, "%s%s; use %s", where, why, fix);
    return -1;
}

int ab_cors_check(const char *spec, char *msg, size_t cap)
{
    const char *p;
    int several;
    if (!spec || !*spec) {
        snprintf(msg, cap, "needs an origin such as https://shop.example (several separated "
                 "by commas), or *");
        return -1;
    }
    if (!strcmp(spec, "*")) return 0;
    if (strpbrk(spec, " \t\r\n")) {
        /* The usual slip: "a, b". The fix is the value without them. */
        size_t o = 0;
        char fix[4 * ENTRY_MAX];
        for (p = spec; *p && o + 1 < sizeof fix; p++)
            if (!strchr(" \t\r\n", *p)) fix[o++] = *p;
        fix[o] = '\0';
        snprintf(msg, cap, "origins are separated by commas without spaces; use \"%s\"", fix);
        return -1;
    }
    several = strchr(spec, ',') != NULL;
    for (p = spec;;) {
        size_t n = strcspn(p, ",");
        if (n == 0) {
            snprintf(msg, cap, "an empty entry (two commas in a row, or a comma at an end)");
            return -1;
        }
        if (check_entry(p, n, several, msg, cap)) return -1;
        p += n;
        if (!*p) return 0;
        p++;
        if (!*p) {
            snprintf(msg, cap, "an empty entry (two commas in a row, or a comma at an end)");
            return -1;
        }
    }
}

int ab_cors_allows(const char *spec, const char *origin, size_t len)
{
    const char *p;
    if (!spec || !origin || !len) return 0;
    if (!strcmp(spec, "*")) return 1;
    for (p = spec; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && !memcmp(p, origin, n)) return 1;
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}
