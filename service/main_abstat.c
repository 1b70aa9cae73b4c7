/* main_abstat.c — the abstat command line: offline calculators for people
 * and CI (SPEC section 8). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "analyze_json.h"
#include "cli_backup.h"
#include "cli_check.h"
#include "cli_read.h"
#include "error.h"
#include "sample_size_json.h"

/* Exit codes shared with `abstat check` (SPEC section 8). */
enum { EXIT_USAGE = 4 };

#define MAX_INPUT (64u * 1024u * 1024u)

static void usage(FILE *fp)
{
    fputs("usage: abstat check EXPERIMENT [--server URL] [--token T] [--variant NAME] [--json]\n"
          "       abstat analyze FILE|-\n"
          "       abstat backup --data SRC DEST\n"
          "       abstat sample-size --baseline P --mde M [--alpha A] [--power P]\n"
          "                          [--variants K] [--correction holm|bonferroni|bh|none]\n"
          "                          [--daily-users N] [--json]\n"
          "check exits 0 ship, 1 keep running, 2 keep control, 3 invalid, 4 error.\n"
          "Exit status 4 on bad input. See README.md.\n",
          fp);
}

static int print_json(const json_t *v)
{
    if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0) return -1;
    return fputc('\n', stdout) == EOF ? -1 : 0;
}

static int cmd_analyze(int argc, char **argv)
{
    char msg[256];
    size_t len;
    char *buf;
    ab_error err = {0, ""};
    json_t *out;
    int rc;

    if (argc != 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!(buf = ab_read_all(argv[1], MAX_INPUT, &len, msg, sizeof msg))) {
        fprintf(stderr, "abstat analyze: %s\n", msg);
        return EXIT_USAGE;
    }
    out = ab_analyze_buffer(buf, len, &err);
    free(buf);
    if (!out) {
        fprintf(stderr, "abstat analyze: %s\n", err.text);
        return EXIT_USAGE;
    }
    rc = print_json(out) ? EXIT_USAGE : 0;
    json_decref(out);
    return rc;
}

/* 31234 -> "31,234". */
static void thousands(double v, char *buf, size_t len)
{
    char digits[32];
    size_t n, o = 0;
    snprintf(digits, sizeof digits, "%.0f", v);
    n = strlen(digits);
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

static void print_plan(const json_t *ans)
{
    char per[32], total[32], daily[32];
    json_t *days = json_object_get(ans, "days");
    thousands(json_number_value(json_object_get(ans, "per_variant")), per, sizeof per);
    thousands(json_number_value(json_object_get(ans, "total")), total, sizeof total);
    printf("%s users per variant, %s in total", per, total);
    if (days) {
        double d = json_number_value(days);
        double w = json_number_value(json_object_get(ans, "weeks"));
        thousands(json_number_value(json_object_get(ans, "daily_users")), daily, sizeof daily);
        printf("; at %s users a day: %.0f day%s, round up to %.0f whole week%s", daily, d,
               d == 1 ? "" : "s", w, w == 1 ? "" : "s");
    }
    putchar('\n');
}

static int cmd_sample_size(int argc, char **argv)
{
    ab_sample_size_req rq;
    ab_error err = {0, ""};
    int as_json = 0, rc;
    json_t *ans;

    ab_sample_size_req_init(&rq);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--json")) {
            as_json = 1;
            continue;
        }
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 0;
        }
        if (strncmp(arg, "--", 2) || i + 1 >= argc) {
            fprintf(stderr, "abstat sample-size: unexpected argument \"%s\"\n", arg);
            usage(stderr);
            return EXIT_USAGE;
        }
        if (ab_sample_size_req_set(&rq, arg + 2, argv[i + 1], &err)) {
            fprintf(stderr, "abstat sample-size: %s\n", err.text);
            return EXIT_USAGE;
        }
        i++;
    }
    if (!(ans = ab_sample_size_answer(&rq, &err))) {
        fprintf(stderr, "abstat sample-size: %s\n", err.text);
        return EXIT_USAGE;
    }
    rc = 0;
    if (as_json) rc = print_json(ans) ? EXIT_USAGE : 0;
    else print_plan(ans);
    json_decref(ans);
    return rc;
}

int main(int argc, char **argv)
{
    ab_stats_init();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "check")) return ab_cli_check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "analyze")) return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(argv[1], "backup")) return ab_cli_backup(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sample-size")) return cmd_sample_size(argc - 1, argv + 1);
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "abstat: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
