/* fuzz_analyze.c — libFuzzer harness: POST /v1/analyze bodies and GET /v1/sample-size queries. */

/* The same bytes go to both stateless calculators: as an analyze body
 * (ab_analyze_buffer) and, NUL-terminated, as a sample-size query string
 * (ab_sample_size_req_query + ab_sample_size_answer). An answer must render
 * as the daemon renders it (json_dumps fails on NaN or infinity, which
 * would turn it into a 500); a refusal must be a 400 naming what to fix —
 * nothing here runs out of memory, so a 500, or a 400 with the statistics
 * library's "invalid argument", means a numerical routine refused input
 * the parser let through — and its text must be UTF-8 that jansson
 * accepts, since it goes into a JSON answer.
 * Violations end in __builtin_trap(). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/analyze_json.h"
#include "json/sample_size_json.h"
#include "abstat/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether text is one of the service's wrappers around ab_strerror (the
 * statistics library refused): the parser let through what the library
 * cannot take, and the client gets an error that names nothing to fix.
 * Matched whole, as input quoted in other errors may hold the same words. */
static int library_refusal(const char *text)
{
    static const char *const wrapper[] = {"analysis failed: ", "sample size: "};
    static const char *const why[] = {"invalid argument", "numerical failure",
                                      "size limit exceeded"};
    for (size_t i = 0; i < sizeof wrapper / sizeof *wrapper; i++) {
        size_t n = strlen(wrapper[i]);
        if (strncmp(text, wrapper[i], n)) continue;
        for (size_t j = 0; j < sizeof why / sizeof *why; j++)
            if (!strcmp(text + n, why[j])) return 1;
    }
    return 0;
}

static void check_error(const ab_error *err)
{
    json_t *s;
    if (err->status != 400 || !memchr(err->text, '\0', sizeof err->text) || !err->text[0] ||
        library_refusal(err->text))
        __builtin_trap();
    s = json_string(err->text);
    if (!s) __builtin_trap();
    json_decref(s);
}

/* Renders an answer as http.c does; consumes the reference. */
static void check_answer(json_t *out)
{
    char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!text) __builtin_trap();
    free(text);
    json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    ab_error err;
    ab_sample_size_req rq;
    json_t *out;
    char *query;

    if (!initialised) {
        ab_stats_init();
        initialised = 1;
    }

    memset(&err, 0, sizeof err);
    out = ab_analyze_buffer((const char *)data, size, &err);
    if (out) check_answer(out);
    else check_error(&err);

    /* A query string never holds NUL: what follows one is not seen. */
    query = malloc(size + 1);
    if (!query) return 0;
    memcpy(query, data, size);
    query[size] = '\0';
    memset(&err, 0, sizeof err);
    ab_sample_size_req_init(&rq);
    if (ab_sample_size_req_query(&rq, query, &err)) {
        check_error(&err);
    } else if ((out = ab_sample_size_answer(&rq, &err))) {
        check_answer(out);
    } else {
        check_error(&err);
    }
    free(query);
    return 0;
}
