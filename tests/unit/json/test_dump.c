/* test_dump.c — ab_json_dump against json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(15)) byte
 * for byte: reals of every magnitude and the hard cases of rounding, strings that need escapes,
 * and random nested values. */
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/dump.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    return test_rng(&rng);
}

static double unit(void)
{
    return test_uniform(&rng);
}

static size_t mismatches;

static void real_is(double v)
{
    char mine[40], *theirs;
    json_t *j = json_real(v);
    ab_json_real_text(v, mine);
    theirs = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    /* One check per group of reals (below), the first differences named. */
    if (!theirs || strcmp(mine, theirs)) {
        if (mismatches < 10)
            printf("test_dump: %.17g printed \"%s\", jansson \"%s\"\n", v, mine,
                   theirs ? theirs : "(null)");
        mismatches++;
    }
    free(theirs);
    json_decref(j);
}

static void group_done(const char *what, size_t *before)
{
    snprintf(test_context, sizeof test_context, "%s", what);
    CHECK_INT(mismatches - *before, 0);
    test_context[0] = '\0';
    *before = mismatches;
}

static void reals(void)
{
    size_t before = 0;
    static const double fixed[] = {
        0.0, -0.0, 1.0, -1.0, 0.5, 0.05, 0.1, 0.2, 0.3, 1e-4, 9.99999999999999e-5, 1e-5,
        0.00010000000000000005, 999999999999999.0, 999999999999999.4, 999999999999999.6,
        1e15, 1e16, 1e300, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
        123456789012345.6, 12345678901234.56, 0.123456789012345678, 2.5, 0.125, 1.0000000000000002,
        0.99999999999999994, 9.9999999999999995, 99.999999999999995, 1e-4 * 0.999999999999999,
        0.30000000000000004, 100.0, 120.0, 1e14, 1.5e14, 4503599627370495.5,
        0.0001000000000000000048, 12.3456789012345, 3.141592653589793, 2.718281828459045};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) real_is(fixed[i]);
    group_done("fixed cases", &before);
    /* Random bit patterns: every magnitude. */
    for (int i = 0; i < 300000; i++) {
        uint64_t bits = next();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isfinite(v)) real_is(v);
    }
    group_done("random bit patterns", &before);
    /* What statistics print: rates, intervals, p-values, means. */
    for (int i = 0; i < 300000; i++) real_is(unit());
    for (int i = 0; i < 200000; i++) real_is((unit() - 0.5) * pow(10, (int)(next() % 40) - 20));
    group_done("rates and scaled values", &before);
    /* Short decimals (k / 10^j) and halves at the 16th digit: ties for %.15g. */
    for (int i = 0; i < 200000; i++) {
        double k = (double)(next() % 100000000);
        real_is(k / pow(10, (int)(next() % 12)));
        real_is(((double)(next() % 1000000000000000ull) + 0.5) / pow(10, (int)(next() % 16)));
    }
    group_done("short decimals and halves", &before);
    /* Integers held as reals. */
    for (int i = 0; i < 100000; i++) real_is((double)(next() % 10000000000000000ull));
    group_done("integral reals", &before);
}

static json_t *random_value(int depth);

static json_t *random_string(void)
{
    char s[24];
    size_t n = next() % sizeof s;
    static const char pool[] = "ab\"\\/\b\f\n\r\t\x01\x1f\x7f" "\xc3\xa9" "z ";
    for (size_t i = 0; i < n; i++) s[i] = pool[next() % (sizeof pool - 1)];
    /* Keep it valid UTF-8: drop a lone byte of the two-byte é. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] == 0xc3 && (i + 1 >= n || (unsigned char)s[i + 1] != 0xa9))
            s[i] = 'x';
        else if ((unsigned char)s[i] == 0xa9 && (i == 0 || (unsigned char)s[i - 1] != 0xc3))
            s[i] = 'y';
    return json_stringn(s, n);
}

static json_t *random_value(int depth)
{
    unsigned kind = (unsigned)(next() % (depth > 5 ? 6 : 8));
    switch (kind) {
    case 0: return json_null();
    case 1: return next() & 1 ? json_true() : json_false();
    case 2: return json_integer((json_int_t)(next() >> (next() % 64)) * (next() & 1 ? -1 : 1));
    case 3: return json_real((unit() - 0.5) * pow(10, (int)(next() % 30) - 15));
    case 4: return json_real(unit());
    case 5: return random_string();
    case 6: {
        json_t *a = json_array();
        size_t n = next() % 6;
        for (size_t i = 0; i < n; i++) json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        size_t n = next() % 6;
        for (size_t i = 0; i < n; i++) {
            char key[16];
            json_t *k = random_string();
            snprintf(key, sizeof key, "%zu%s", i, json_string_value(k));
            json_decref(k);
            json_object_set_new(o, key, random_value(depth + 1));
        }
        return o;
    }
    }
}

static void trees(void)
{
    for (int i = 0; i < 20000; i++) {
        json_t *v = random_value(0);
        char *theirs = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
        size_t len = 0;
        char *mine = ab_json_dump(v, "\n", &len);
        CHECK(mine != NULL && theirs != NULL);
        if (mine && theirs) {
            size_t tl = strlen(theirs);
            CHECK(len == tl + 1 && !memcmp(mine, theirs, tl) && mine[tl] == '\n' &&
                  mine[tl + 1] == '\0');
        }
        free(mine);
        free(theirs);
        json_decref(v);
    }
    /* Deeper than jansson dumps: refused, as json_dumps refuses it. */
    {
        json_t *root = json_array(), *at = root;
        for (int i = 0; i < 2100; i++) {
            json_t *a = json_array();
            json_array_append_new(at, a);
            at = a;
        }
        CHECK(ab_json_dump(root, NULL, NULL) == NULL);
        json_decref(root);
    }
    CHECK(ab_json_dump(NULL, NULL, NULL) == NULL);
}

int main(void)
{
    reals();
    trees();
    printf("test_dump: %zu real(s) printed differently from jansson\n", mismatches);
    return TEST_DONE("test_dump");
}
