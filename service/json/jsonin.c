/* jsonin.c — typed, range-checked field readers over jansson objects. */
#include "json/jsonin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "base/utf8.h"

static const char *sep(const char *where)
{
    return where && *where ? "." : "";
}

static const char *w(const char *where)
{
    return where ? where : "";
}

static const json_t *lookup(const json_t *obj, const char *key, int *present)
{
    const json_t *v = json_object_get(obj, key);
    if (present) *present = v && !json_is_null(v);
    return json_is_null(v) ? NULL : v;
}

int ab_jin_count(const json_t *obj, const char *key, const char *where,
                 double *out, int *present, ab_error *err)
{
    const json_t *v = lookup(obj, key, present);
    double d;
    if (!v) return 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return ab_error_set(err, 400, "%s%s%s: must not be negative", w(where), sep(where), key);
        /* Compared as an integer: 2^53 + 1 rounds to 2^53 as a double and
         * slipped through the check below, silently changed. */
        if (i > (json_int_t)AB_MAX_COUNT)
            return ab_error_set(err, 400, "%s%s%s: too large (at most 2^53)", w(where),
                                sep(where), key);
        d = (double)i;
    } else if (json_is_real(v)) {
        d = json_real_value(v);
        if (!(d >= 0.0) || floor(d) != d)
            return ab_error_set(err, 400, "%s%s%s: must be a non-negative whole number",
                                w(where), sep(where), key);
    } else {
        return ab_error_set(err, 400, "%s%s%s: must be a number", w(where), sep(where), key);
    }
    if (d > AB_MAX_COUNT)
        return ab_error_set(err, 400, "%s%s%s: too large (at most 2^53)", w(where), sep(where), key);
    *out = d;
    return 0;
}

int ab_jin_number(const json_t *obj, const char *key, const char *where,
                  double lo, double hi, int open, double *out, int *present,
                  ab_error *err)
{
    const json_t *v = lookup(obj, key, present);
    double d;
    if (!v) return 0;
    if (!json_is_number(v))
        return ab_error_set(err, 400, "%s%s%s: must be a number", w(where), sep(where), key);
    d = json_number_value(v);
    if (!isfinite(d) || (open ? (d <= lo || d >= hi) : (d < lo || d > hi)))
        return ab_error_set(err, 400, "%s%s%s: must be %s %g and %g", w(where), sep(where),
                            key, open ? "strictly between" : "between", lo, hi);
    *out = d;
    return 0;
}

int ab_jin_string(const json_t *obj, const char *key, const char *where,
                  const char **out, int *present, ab_error *err)
{
    const json_t *v = lookup(obj, key, present);
    if (!v) return 0;
    if (!json_is_string(v))
        return ab_error_set(err, 400, "%s%s%s: must be a string", w(where), sep(where), key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return ab_error_set(err, 400, "%s%s%s: must not contain NUL characters",
                            w(where), sep(where), key);
    *out = json_string_value(v);
    return 0;
}

/* How many bytes of s (valid UTF-8, as jansson gives it) to quote: at most
 * max, never ending inside a character. A "%.64s" that cut one made the
 * error text invalid UTF-8, which jansson then refused to encode: the
 * client got 500 "out of memory" instead of the 400 naming its key. */
int ab_jin_quote_len(const char *s, size_t max)
{
    return (int)ab_utf8_cut(s, strlen(s), max);
}

int ab_jin_known_keys(const json_t *obj, const char *const *keys,
                      const char *where, ab_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        size_t i;
        (void)value;
        for (i = 0; keys[i]; i++)
            if (!strcmp(keys[i], key)) break;
        if (!keys[i])
            return ab_error_set(err, 400, "%s%sunknown field \"%.*s\"", w(where),
                                where && *where ? ": " : "", ab_jin_quote_len(key, 64), key);
    }
    return 0;
}

json_t *ab_jin_parse(const char *buf, size_t len, ab_error *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        /* jansson's "near '...'" ends where it stopped reading, which can be
         * inside a character ("\\u2" then the first byte of "\u00cb"). The
         * text went into the JSON error answer, which jansson then refused
         * to build: 500 instead of this 400. */
        ab_utf8_repair(jerr.text);
        ab_error_set(err, 400, "invalid JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
    }
    return v;
}

json_t *ab_jin_parse_text(const char *text, ab_error *err)
{
    return ab_jin_parse(text, strlen(text), err);
}

/* Every number of a config is kept to the 15 significant digits that GET
 * answers show (http.c renders JSON_REAL_PRECISION(15)). A client may PUT
 * back what it fetched; unrounded, a value next to a bound did not survive
 * that (power 0.99999999999999989 was accepted, GET showed 1.0 and the PUT
 * failed). Digits beyond the 15th mean nothing to anyone setting up a test. */
double ab_jin_round15(double d)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", d);
    return strtod(buf, NULL);
}
