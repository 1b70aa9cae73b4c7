/* test.h — the tiny test harness every test under tests/unit/ and tests/integration/ uses.
 *
 * A test file defines its cases as functions and ends main() with
 * TEST_DONE("name"), which prints "name: P passed, F failed" and returns the
 * exit status. Every CHECK counts as one assertion. */
#ifndef ABSTAT_TEST_H
#define ABSTAT_TEST_H

#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

extern int test_passed, test_failed;
/* Label printed with each failure, e.g. the reference row being checked. */
extern char test_context[1024];

void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (cond) test_passed++;                                            \
        else test_fail(__FILE__, __LINE__, "%s", #cond);                    \
    } while (0)

/* Relative comparison; NaN equals NaN (both "undefined", JSON null). */
int test_close(double got, double want, double rtol, double atol);
#define CHECK_REL(got, want, rtol)                                          \
    do {                                                                    \
        double g_ = (got), w_ = (want);                                     \
        if (test_close(g_, w_, (rtol), 0.0)) test_passed++;                 \
        else test_fail(__FILE__, __LINE__, "%s = %.17g, want %.17g",        \
                       #got, g_, w_);                                       \
    } while (0)
/* Relative with an absolute floor, for values that may be ~0. */
#define CHECK_CLOSE(got, want, rtol, atol)                                  \
    do {                                                                    \
        double g_ = (got), w_ = (want);                                     \
        if (test_close(g_, w_, (rtol), (atol))) test_passed++;              \
        else test_fail(__FILE__, __LINE__, "%s = %.17g, want %.17g",        \
                       #got, g_, w_);                                       \
    } while (0)
#define CHECK_INT(got, want)                                                \
    do {                                                                    \
        long long g_ = (long long)(got), w_ = (long long)(want);            \
        if (g_ == w_) test_passed++;                                        \
        else test_fail(__FILE__, __LINE__, "%s = %lld, want %lld",          \
                       #got, g_, w_);                                       \
    } while (0)

int test_done(const char *name);
#define TEST_DONE(name) test_done(name)

/* ---- Reference values (tests/reference/NAME.tsv, made by NAME.R) ----------
 * Lines of whitespace-separated fields; '#' starts a comment line. The first
 * field is a tag (a case name), the others are numbers: NA / NaN read as NaN,
 * Inf and -Inf as infinities. */
#define REF_MAX_FIELDS 128
typedef struct {
    char tag[128];
    double v[REF_MAX_FIELDS];
    size_t nv;
    int line;
} ref_row;

typedef struct ref_file ref_file;

/* Opens tests/reference/NAME (under $ABSTAT_REF_DIR when set); NULL and a
 * counted failure when it cannot be read. Caller closes. */
ref_file *ref_open(const char *name);
/* Next data row into *row: 1, or 0 at the end. A malformed row fails. */
int ref_next(ref_file *f, ref_row *row);
void ref_close(ref_file *f);

/* ---- Seeded random numbers (xorshift64): the same stream on every run ---- */
/* The next 64 bits of the stream in *state (never 0). */
uint64_t test_rng(uint64_t *state);
/* Uniform in [0, 1), 53 bits, from the same stream. */
double test_uniform(uint64_t *state);

#endif
