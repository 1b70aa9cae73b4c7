/* dump.c — compact JSON text of jansson values with a fast path for numbers (see dump.h). */
#include "json/dump.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/decimal.h"

/* jansson's own limit for dumping (JSON_MAX_INDENT is unrelated). */
#define MAX_DEPTH 2048

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} out_buf;

/* Makes room for more bytes; the common case (room left) is inline in
 * put and put_char. 0, or -1 (out of memory, o->failed set). */
static int grow(out_buf *o, size_t more)
{
    size_t cap = o->cap ? o->cap : 4096;
    char *p;
    if (o->failed) return -1;
    while (cap <= o->len + more) {
        if (cap > SIZE_MAX / 2) {
            o->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    if (!(p = realloc(o->buf, cap))) {
        o->failed = 1;
        return -1;
    }
    o->buf = p;
    o->cap = cap;
    return 0;
}

static inline void put(out_buf *o, const char *s, size_t n)
{
    if (o->len + n >= o->cap && grow(o, n)) return;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static inline void put_char(out_buf *o, char c)
{
    if (o->len + 1 >= o->cap && grow(o, 1)) return;
    o->buf[o->len++] = c;
}

/* What jansson's jsonp_dtostr makes of snprintf's %.15g. */
static size_t real_slow(double v, char *buf)
{
    int n = snprintf(buf, 32, "%.15g", v);
    size_t len = n > 0 && n < 32 ? (size_t)n : 0;
    char *e;
    if (!strchr(buf, '.') && !strchr(buf, 'e') && len + 3 < 32) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    if ((e = strchr(buf, 'e'))) {
        char *start = e + 1, *end = start + 1;
        if (*start == '-') start++;
        while (*end == '0') end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    return len;
}

/* 10^k in long double: exact up to 10^27, within an ulp or so beyond. */
static long double pow10_ld(int k)
{
    static const long double exact[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                        1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                        1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                        1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
    if (k >= 0 && k <= 27) return exact[k];
    return powl(10.0L, (long double)k);
}

/* The exponent as %g writes it and jansson trims it: "e-5", "e20". */
static size_t put_exponent(char *buf, int e)
{
    size_t n = 0;
    buf[n++] = 'e';
    if (e < 0) {
        buf[n++] = '-';
        e = -e;
    }
    return n + ab_decimal_u64(buf + n, (uint64_t)e);
}

size_t ab_json_real_text(double v, char *buf)
{
    double a = fabs(v);
    long double scaled, frac, tie_margin;
    uint64_t m;
    int e;
    size_t n = 0, digits, i;
    char d[AB_DECIMAL_MAX];
    if (a == 0) { /* %.15g writes "0" or "-0"; jansson adds ".0" */
        n = signbit(v) ? 1 : 0;
        memcpy(buf, "-0.0", 5);
        if (!n) memmove(buf, buf + 1, 4);
        return 3 + n;
    }
    if (!isfinite(a)) return real_slow(v, buf);
    e = (int)floor(log10(a));
    /* The 15 significant digits: a * 10^(14 - e), rounded once in long
     * double (64-bit mantissa: within 2^-14 of exact at 1e15 when 10^k is
     * exact, a little more beyond). Where that cannot tell the rounding
     * (a fraction near one half), or the estimate of e was off, printf
     * decides. */
    scaled = (long double)a * pow10_ld(14 - e);
    if (scaled < 1e14L || scaled >= 1e15L) return real_slow(v, buf);
    frac = scaled - floorl(scaled);
    tie_margin = 14 - e >= 0 && 14 - e <= 27 ? 1e-3L : 1e-2L;
    if (fabsl(frac - 0.5L) < tie_margin) return real_slow(v, buf);
    m = (uint64_t)floorl(scaled) + (frac > 0.5L);
    if (m >= 1000000000000000ull) return real_slow(v, buf); /* rounded up to 10^15 */
    digits = ab_decimal_u64(d, m);                          /* 15 digits */
    while (digits > 1 && d[digits - 1] == '0') digits--;    /* %g drops trailing zeros */
    if (v < 0) buf[n++] = '-';
    if (e < -4 || e >= 15) {
        /* %g's exponential form: d[.ddd]e-X (no ".0" added: it has an 'e'). */
        buf[n++] = d[0];
        if (digits > 1) {
            buf[n++] = '.';
            for (i = 1; i < digits; i++) buf[n++] = d[i];
        }
        n += put_exponent(buf + n, e);
    } else if (e >= 0) {
        size_t whole = (size_t)e + 1;
        for (i = 0; i < whole; i++) buf[n++] = i < digits ? d[i] : '0';
        buf[n++] = '.';
        if (digits > whole) {
            for (i = whole; i < digits; i++) buf[n++] = d[i];
        } else {
            buf[n++] = '0'; /* jansson's ".0" for an integral value */
        }
    } else {
        buf[n++] = '0';
        buf[n++] = '.';
        for (i = 0; i < (size_t)(-e - 1); i++) buf[n++] = '0';
        for (i = 0; i < digits; i++) buf[n++] = d[i];
    }
    buf[n] = '\0';
    return n;
}

static void put_string(out_buf *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;
    put_char(o, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t elen = 2;
        if (c != '"' && c != '\\' && c >= 0x20) continue;
        put(o, s + run, i - run);
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        put(o, esc, elen);
    }
    put(o, s + run, n - run);
    put_char(o, '"');
}

static void put_value(out_buf *o, const json_t *v, int depth)
{
    char num[40];
    if (depth > MAX_DEPTH) {
        o->failed = 1;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        int first = 1;
        put_char(o, '{');
        json_object_foreach((json_t *)v, key, val) {
            if (!first) put_char(o, ',');
            first = 0;
            put_string(o, key, strlen(key));
            put_char(o, ':');
            put_value(o, val, depth + 1);
        }
        put_char(o, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        put_char(o, '[');
        for (size_t i = 0; i < n; i++) {
            if (i) put_char(o, ',');
            put_value(o, json_array_get(v, i), depth + 1);
        }
        put_char(o, ']');
        break;
    }
    case JSON_STRING:
        put_string(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: {
        json_int_t x = json_integer_value(v);
        size_t n = 0;
        uint64_t u = (uint64_t)x;
        if (x < 0) {
            num[n++] = '-';
            u = 0 - u;
        }
        n += ab_decimal_u64(num + n, u);
        put(o, num, n);
        break;
    }
    case JSON_REAL:
        put(o, num, ab_json_real_text(json_real_value(v), num));
        break;
    case JSON_TRUE: put(o, "true", 4); break;
    case JSON_FALSE: put(o, "false", 5); break;
    case JSON_NULL: put(o, "null", 4); break;
    }
}

char *ab_json_dump(const json_t *v, const char *extra, size_t *len)
{
    out_buf o = {0};
    if (!v) return NULL;
    put_value(&o, v, 0);
    if (extra) put(&o, extra, strlen(extra));
    put_char(&o, '\0');
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    if (len) *len = o.len - 1;
    return o.buf;
}
