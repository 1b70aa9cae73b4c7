/* dump.h — JSON text of a jansson value, as json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(15)) writes it, without a printf per number. */
#ifndef ABSTAT_DUMP_H
#define ABSTAT_DUMP_H

#include <jansson.h>
#include <stddef.h>

/* New text (caller frees) of v, byte for byte what json_dumps(v,
 * JSON_COMPACT | JSON_REAL_PRECISION(15)) returns, followed by extra
 * (NULL: nothing) and a NUL; *len (when not NULL) its length without the
 * NUL. NULL when out of memory or v nests deeper than jansson would dump.
 * Results carry a few thousand numbers, and glibc's printf of a double
 * costs as much as the rest of an answer's printing. */
char *ab_json_dump(const json_t *v, const char *extra, size_t *len);

/* The text of one real as that dump writes it (%.15g, then ".0" when it
 * has neither '.' nor 'e', and the exponent without '+' or leading
 * zeros), into buf (at least 32 bytes); returns its length. Exposed for
 * the tests. */
size_t ab_json_real_text(double v, char *buf);

#endif
