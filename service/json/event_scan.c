/* event_scan.c — the fast scanner of event_scan.h: jansson alone tops out near 350k events/s (a malloc per value, a call per byte), below what ingest needs. */
#include "json/event_scan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

const char *ab_scan_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* A string at p ('"'): its bytes, when they need no decoding. */
static const char *scan_string(const char *p, const char *end, const char **s, size_t *len)
{
    const unsigned char *q = (const unsigned char *)p + 1, *e = (const unsigned char *)end;
    while (q < e) {
        unsigned char ch = *q;
        if (ch == '"') {
            *s = p + 1;
            *len = (size_t)((const char *)q - (p + 1));
            return (const char *)q + 1;
        }
        if (ch == '\\' || ch < 0x20) return NULL; /* escapes, control characters */
        if (ch < 0x80) {
            q++;
        } else {
            size_t n = ab_utf8_seq(q, (size_t)(e - q));
            if (!n) return NULL;
            q += n;
        }
    }
    return NULL;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A number by the JSON grammar, read as jansson reads it: without fraction
 * and exponent a 64-bit integer, else a double from strtod. */
static const char *scan_number(const char *p, const char *end, ab_raw_val *v)
{
    const char *q = p, *digits;
    int neg = 0, real = 0;

    if (*q == '-') {
        neg = 1;
        q++;
    }
    digits = q;
    if (q >= end || !is_digit(*q)) return NULL;
    if (*q == '0') {
        q++;
        if (q < end && is_digit(*q)) return NULL; /* leading zero */
    } else {
        while (q < end && is_digit(*q)) q++;
    }
    if (q < end && *q == '.') {
        real = 1;
        q++;
        if (q >= end || !is_digit(*q)) return NULL;
        while (q < end && is_digit(*q)) q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        real = 1;
        q++;
        if (q < end && (*q == '+' || *q == '-')) q++;
        if (q >= end || !is_digit(*q)) return NULL;
        while (q < end && is_digit(*q)) q++;
    }
    if (!real) {
        int64_t x = 0;
        if (q - digits > 18) return NULL; /* may overflow: jansson decides */
        for (const char *d = digits; d < q; d++) x = x * 10 + (*d - '0');
        v->kind = AB_RV_INT;
        v->i = neg ? -x : x;
    } else {
        char buf[64], *ep;
        size_t n = (size_t)(q - p);
        if (n >= sizeof buf) return NULL;
        memcpy(buf, p, n);
        buf[n] = '\0';
        v->d = strtod(buf, &ep);
        /* A locale whose decimal point is not '.' stops strtod early;
         * an overflow is an error in jansson: both go the slow way. */
        if (ep != buf + n || isinf(v->d)) return NULL;
        v->kind = AB_RV_REAL;
    }
    return q;
}

/* The literal word (true, false, null) at p. */
static const char *scan_word(const char *p, const char *end, const char *word, ab_raw_kind kind,
                             ab_raw_val *v)
{
    size_t n = strlen(word);
    if ((size_t)(end - p) < n || memcmp(p, word, n)) return NULL;
    v->kind = kind;
    return p + n;
}

static const char *scan_value(const char *p, const char *end, ab_raw_val *v)
{
    switch (*p) {
    case '"':
        if (!(p = scan_string(p, end, &v->s, &v->len))) return NULL;
        v->kind = AB_RV_STRING;
        return p;
    case 't': return scan_word(p, end, "true", AB_RV_BOOL, v);
    case 'f': return scan_word(p, end, "false", AB_RV_BOOL, v);
    case 'n': return scan_word(p, end, "null", AB_RV_NULL, v);
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return scan_number(p, end, v);
    default: /* nested values and anything else */
        return NULL;
    }
}

const char *ab_scan_event(const char *p, const char *end, ab_raw_event *r)
{
    unsigned seen = 0;
    ab_raw_val other;

    ab_raw_event_init(r);
    p = ab_scan_ws(p + 1, end);
    if (p < end && *p == '}') return p + 1;
    for (;;) {
        const char *k;
        size_t klen;
        ab_raw_val *v;
        int f;

        if (p >= end || *p != '"') return NULL;
        if (!(p = scan_string(p, end, &k, &klen))) return NULL;
        p = ab_scan_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p = ab_scan_ws(p + 1, end);
        if (p >= end) return NULL;
        f = ab_event_field_of(k, klen);
        if (f >= 0) {
            if (seen & (1u << f)) return NULL; /* duplicate: jansson reports it */
            seen |= 1u << f;
            v = &r->f[f];
        } else {
            /* A second unknown key might repeat the first: let jansson look. */
            if (r->unknown) return NULL;
            r->unknown = k;
            r->unknown_len = klen;
            v = &other;
        }
        if (!(p = scan_value(p, end, v))) return NULL;
        /* Only a separator may follow a value: "truex", "1 2" give up here. */
        p = ab_scan_ws(p, end);
        if (p >= end) return NULL;
        if (*p == '}') return p + 1;
        if (*p != ',') return NULL;
        p = ab_scan_ws(p + 1, end);
    }
}
