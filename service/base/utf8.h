/* utf8.h — the one UTF-8 rule (RFC 3629, as jansson checks it): sequences, repair of texts that quote input, cuts at character boundaries. */
#ifndef ABSTAT_UTF8_H
#define ABSTAT_UTF8_H

#include <stddef.h>

/* Length (1 to 4) of the well-formed character at p, of which avail bytes
 * are readable: no overlong forms, no surrogates, nothing past U+10FFFF.
 * 0 when p holds none (or it does not fit in avail). */
size_t ab_utf8_seq(const unsigned char *p, size_t avail);

/* Makes the NUL-terminated s valid UTF-8 in place, for error texts that go
 * into JSON answers (jansson refuses invalid UTF-8, which would turn a 4xx
 * into a 500): a character cut off at the very end (snprintf truncated it)
 * is dropped, every other byte that does not begin a well-formed character
 * becomes '?'. */
void ab_utf8_repair(char *s);

/* How many of the len bytes of s (valid UTF-8) fit in max bytes without
 * ending inside a character: len when it fits, else at most max. */
size_t ab_utf8_cut(const char *s, size_t len, size_t max);

#endif
