/* jsonin.h — reading validated fields out of parsed JSON request bodies.
 * Every reader names the offending field in its error. */
#ifndef ABSTAT_JSONIN_H
#define ABSTAT_JSONIN_H

#include <jansson.h>

#include "base/error.h"

/* Each reader looks up key in obj (borrowed). A missing or null key leaves
 * *out untouched and returns 0 (callers preset defaults); a present key of
 * the wrong type or range returns -1 with err set (status 400) naming
 * `where` (e.g. "variants[2]") and key. *present, when given, says whether
 * the key was there. */

/* A non-negative integer count, exact as a double (<= 2^53). */
int ab_jin_count(const json_t *obj, const char *key, const char *where,
                 double *out, int *present, ab_error *err);
/* A finite number in [lo, hi]; open selects (lo, hi). */
int ab_jin_number(const json_t *obj, const char *key, const char *where,
                  double lo, double hi, int open, double *out, int *present,
                  ab_error *err);
/* A string; *out borrowed from obj. */
int ab_jin_string(const json_t *obj, const char *key, const char *where,
                  const char **out, int *present, ab_error *err);
/* Fails on the first key of obj that is not in the NULL-terminated list. */
int ab_jin_known_keys(const json_t *obj, const char *const *keys,
                      const char *where, ab_error *err);

/* How many bytes of s (valid UTF-8, as jansson gives it) an error may
 * quote with "%.*s": at most max, never ending inside a character (a cut
 * character makes the error text invalid UTF-8, which jansson refuses to
 * encode: the client would get a 500 instead of the 400). */
int ab_jin_quote_len(const char *s, size_t max);

/* d to the 15 significant digits that answers show (%.15g), so that a
 * config read back and PUT again keeps its numbers. */
double ab_jin_round15(double d);

/* Parses a whole buffer as one JSON value (duplicate keys rejected).
 * New reference, or NULL with err set (400, with line and column). */
json_t *ab_jin_parse(const char *buf, size_t len, ab_error *err);

/* The same for a NUL-terminated text. */
json_t *ab_jin_parse_text(const char *text, ab_error *err);

#endif
