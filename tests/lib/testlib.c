/* testlib.c — assertion counting and the reference-file reader of test.h. */
#include "test.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int test_passed, test_failed;
char test_context[1024];

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    test_failed++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    if (test_context[0]) fprintf(stderr, "[%s] ", test_context);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int test_close(double got, double want, double rtol, double atol)
{
    if (isnan(want) || isnan(got)) return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got)) return got == want;
    double diff = fabs(got - want);
    return diff <= atol || diff <= rtol * fabs(want);
}

int test_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
    return test_failed ? 1 : 0;
}

struct ref_file {
    FILE *fp;
    char path[512];
    int line;
};

ref_file *ref_open(const char *name)
{
    const char *dir = getenv("ABSTAT_REF_DIR");
    ref_file *f = calloc(1, sizeof *f);
    if (!f) {
        test_fail(__FILE__, __LINE__, "out of memory");
        return NULL;
    }
    snprintf(f->path, sizeof f->path, "%s/%s", dir ? dir : "tests/reference", name);
    f->fp = fopen(f->path, "r");
    if (!f->fp) {
        test_fail(__FILE__, __LINE__, "cannot open %s: %s", f->path, strerror(errno));
        free(f);
        return NULL;
    }
    return f;
}

static double parse_num(const char *s, int *ok)
{
    char *end;
    *ok = 1;
    if (!strcmp(s, "NA") || !strcmp(s, "NaN")) return NAN;
    if (!strcmp(s, "Inf")) return INFINITY;
    if (!strcmp(s, "-Inf")) return -INFINITY;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end) *ok = 0;
    return v;
}

int ref_next(ref_file *f, ref_row *row)
{
    char buf[8192];
    if (!f) return 0;
    while (fgets(buf, sizeof buf, f->fp)) {
        f->line++;
        char *save = NULL, *tok = strtok_r(buf, " \t\r\n", &save);
        if (!tok || tok[0] == '#') continue;
        snprintf(row->tag, sizeof row->tag, "%s", tok);
        row->nv = 0;
        row->line = f->line;
        while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
            int ok;
            if (row->nv == REF_MAX_FIELDS) {
                test_fail(__FILE__, __LINE__, "%s:%d: too many fields", f->path, f->line);
                break;
            }
            row->v[row->nv] = parse_num(tok, &ok);
            if (!ok) test_fail(__FILE__, __LINE__, "%s:%d: bad number '%s'", f->path, f->line, tok);
            row->nv++;
        }
        snprintf(test_context, sizeof test_context, "%s:%d %s", f->path, f->line, row->tag);
        return 1;
    }
    test_context[0] = '\0';
    return 0;
}

void ref_close(ref_file *f)
{
    if (!f) return;
    fclose(f->fp);
    free(f);
}

uint64_t test_rng(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

double test_uniform(uint64_t *state)
{
    return (double)(test_rng(state) >> 11) / 9007199254740992.0;
}
