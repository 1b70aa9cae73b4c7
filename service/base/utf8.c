/* utf8.c — UTF-8 well-formedness, repair and cutting (see utf8.h). */
#include "base/utf8.h"

#include <string.h>

size_t ab_utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned c, lo = 0x80, hi = 0xbf;
    size_t n;
    if (avail == 0) return 0;
    c = p[0];
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        /* E0 would be overlong below A0; ED A0.. are surrogates. */
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        /* F0 would be overlong below 90; F4 90.. lies past U+10FFFF. */
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (avail < n || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return n;
}

/* Whether what is left at p (rest bytes up to the NUL) is the beginning of
 * a character that snprintf cut off: a lead byte and only continuation
 * bytes, fewer than it needs. */
static int cut_at_end(const unsigned char *p, size_t rest)
{
    size_t need = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
    if (need == 0 || rest >= need) return 0;
    for (size_t i = 1; i < rest; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return 1;
}

void ab_utf8_repair(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t rest = strlen(s);
    while (rest) {
        size_t n = ab_utf8_seq(p, rest);
        if (n) {
            p += n;
            rest -= n;
            continue;
        }
        if (cut_at_end(p, rest)) {
            *p = '\0';
            return;
        }
        *p++ = '?';
        rest--;
    }
}

size_t ab_utf8_cut(const char *s, size_t len, size_t max)
{
    size_t n = max;
    if (len <= max) return len;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    return n;
}
