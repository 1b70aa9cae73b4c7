/* store_where.c — a store's place as it may be shown: a connection string with its passwords masked. */
#include "store/store.h"

#include <stdio.h>
#include <string.h>

/* Where the passwords of a connection string are (byte ranges of where),
 * found the way libpq reads it (README "Storage and durability",
 * PostgreSQL): in a URI the user information ends at the first '@' or
 * '/' after "://" and the password is what follows its first ':', and a
 * query parameter password= ends at '&'; in key=value form a password
 * value is a word or a quoted string. A directory has none. */
typedef struct {
    size_t off, len;
    int quoted; /* key=value 'quoted': \' and \\ are escapes */
} span;

#define MAX_SPANS 8

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static size_t uri_spans(const char *w, const char *scheme_end, span *sp)
{
    const char *p = scheme_end + 3, *q;
    size_t n = 0;
    while (*p && *p != '@' && *p != '/') p++;
    if (*p == '@') {
        const char *colon = memchr(scheme_end + 3, ':', (size_t)(p - scheme_end - 3));
        if (colon && p > colon + 1)
            sp[n++] = (span){(size_t)(colon + 1 - w), (size_t)(p - colon - 1), 0};
    }
    if (!(q = strchr(p, '?'))) return n;
    for (q++; *q && n < MAX_SPANS;) {
        size_t len = strcspn(q, "&");
        if (len > 9 && !strncmp(q, "password=", 9))
            sp[n++] = (span){(size_t)(q + 9 - w), len - 9, 0};
        q += len;
        if (*q == '&') q++;
    }
    return n;
}

static size_t keyword_spans(const char *w, span *sp)
{
    const char *p = w;
    size_t n = 0;
    while (*p && n < MAX_SPANS) {
        const char *key, *v;
        size_t klen;
        while (is_space(*p)) p++;
        key = p;
        while (*p && *p != '=' && !is_space(*p)) p++;
        klen = (size_t)(p - key);
        while (is_space(*p)) p++;
        if (*p != '=' || klen == 0) break; /* not key=value: nothing to mask */
        for (p++; is_space(*p); p++) {}
        if (*p == '\'') {
            v = ++p;
            while (*p && *p != '\'') p += p[0] == '\\' && p[1] ? 2 : 1;
            if (klen == 8 && !strncmp(key, "password", 8) && p > v)
                sp[n++] = (span){(size_t)(v - w), (size_t)(p - v), 1};
            if (*p) p++;
        } else {
            v = p;
            while (*p && !is_space(*p)) p++;
            if (klen == 8 && !strncmp(key, "password", 8) && p > v)
                sp[n++] = (span){(size_t)(v - w), (size_t)(p - v), 0};
        }
    }
    return n;
}

static size_t spans_of(const char *w, span *sp)
{
    const char *s;
    if (!w) return 0;
    if ((s = strstr(w, "://"))) return uri_spans(w, s, sp);
    return keyword_spans(w, sp);
}

const char *ab_store_where_safe(const char *where, char *buf, size_t len)
{
    span sp[MAX_SPANS];
    size_t n = spans_of(where, sp), at = 0, used = 0;
    if (!len) return buf;
    buf[0] = '\0';
    if (!where) return buf;
    for (size_t i = 0; i <= n; i++) {
        size_t end = i < n ? sp[i].off : strlen(where);
        used += (size_t)snprintf(buf + used, len - used, "%.*s%s", (int)(end - at), where + at,
                                 i < n ? "***" : "");
        if (used >= len) return buf; /* cut short, but never past a password */
        if (i < n) at = sp[i].off + sp[i].len;
    }
    return buf;
}

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A password as libpq sees it: percent-decoded (URI) or unescaped (quoted). */
static void decode(const char *raw, size_t len, int quoted, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (quoted && raw[i] == '\\' && i + 1 < len) {
            out[o++] = raw[++i];
        } else if (!quoted && raw[i] == '%' && i + 2 < len && hex(raw[i + 1]) >= 0 &&
                   hex(raw[i + 2]) >= 0) {
            out[o++] = (char)(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
            i += 2;
        } else {
            out[o++] = raw[i];
        }
    }
    out[o] = '\0';
}

/* Replaces every occurrence of secret in text (of capacity cap) by ***,
 * or by as many stars as it is long when there is no room to grow. */
static void mask_in(char *text, size_t cap, const char *secret)
{
    size_t sl = strlen(secret);
    char *p = text;
    if (!sl) return;
    while ((p = strstr(p, secret))) {
        size_t tail = strlen(p + sl);
        if ((size_t)(p - text) + 3 + tail < cap) {
            memmove(p + 3, p + sl, tail + 1);
            memcpy(p, "***", 3);
            p += 3;
        } else {
            memset(p, '*', sl);
            p += sl;
        }
    }
}

void ab_store_scrub(const char *where, char *text, size_t cap)
{
    span sp[MAX_SPANS];
    size_t n = spans_of(where, sp);
    char secret[512];
    if (!text || !cap) return;
    for (size_t i = 0; i < n; i++) {
        if (sp[i].len >= sizeof secret) continue;
        memcpy(secret, where + sp[i].off, sp[i].len);
        secret[sp[i].len] = '\0';
        mask_in(text, cap, secret);
        decode(where + sp[i].off, sp[i].len, sp[i].quoted, secret, sizeof secret);
        mask_in(text, cap, secret);
    }
}
