/* main_abstat.c — the abstat command line: the CI gate and offline
 * calculators for people and CI (README "The command line"). */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "json/analyze_json.h"
#include "cli/cli_backup.h"
#include "cli/cli_check.h"
#include "cli/cli_format.h"
#include "cli/cli_read.h"
#include "base/error.h"
#include "json/sample_size_json.h"
#include "base/version.h"
#include "core/defaults.h"

/* Exit codes shared with `abstat check` (README "The command line"). */
enum { EXIT_USAGE = 4 };

#define MAX_INPUT (64u * 1024u * 1024u)

static void analyze_help(FILE *fp)
{
    fputs("abstat analyze FILE|-\n"
          "  Answers a POST /v1/analyze body offline: FILE (or standard input for -)\n"
          "  holds {\"alpha\", \"correction\", \"method\", \"sequential_tuning\", \"variants\":\n"
          "  [{\"name\", \"users\", \"conversions\", ...}]}, the first variant the control;\n"
          "  prints the analysis as JSON: the variants block of /results, the omnibus\n"
          "  and sample-ratio tests and the verdict.\n"
          "  --help           this text\n",
          fp);
}

static void sample_size_help(FILE *fp)
{
    fputs("abstat sample-size --baseline P --mde M [OPTIONS]\n"
          "abstat sample-size --metric revenue --sd S --baseline B --mde M [OPTIONS]\n"
          "abstat sample-size --metric nps --promoters P --detractors D --mde POINTS [OPTIONS]\n"
          "  Users needed per variant to detect a relative change M of a conversion\n"
          "  rate P (or of a mean revenue B with sd S, or POINTS of NPS), fixed-horizon\n"
          "  and for the sequential test, and with --daily-users how many days and\n"
          "  whole weeks that takes.\n"
          "  A fraction is written 0.05 or 5%; a bare number of 1 or more is refused as\n"
          "  ambiguous (--mde 10 would be +1000 %: write 10% or 0.1).\n"
          "  --metric M       conversion, revenue or nps (default: conversion)\n"
          "  --baseline P     conversion: the control's expected rate, above 0 and below\n"
          "                   1; revenue: its mean revenue per user (required; not nps)\n"
          "  --mde M          the minimum detectable effect, relative to the baseline: 0.1\n"
          "                   or 10% is +10 %, -5% a drop; nps: in points, 5 is +5\n"
          "                   (required)\n"
          "  --sd S           revenue: the standard deviation of revenue per user\n"
          "  --promoters P    nps: the planned share of promoters (0.4 or 40%)\n"
          "  --detractors D   nps: the planned share of detractors (P + D at most 1)\n",
          fp);
    /* The defaults the daemon applies (core/defaults.h), not a copy of them. */
    fprintf(fp,
            "  --alpha A        significance level, two-sided (default: %g)\n"
            "  --power P        chance of detecting an effect of M when there is one\n"
            "                   (default: %g)\n"
            "  --variants K     arms including the control, 2 to 64 (default: 2)\n"
            "  --correction C   holm, bonferroni, bh or none, over the K - 1 comparisons\n"
            "                   with the control (default: %s)\n"
            "  --sequential-tuning N  the sequential test's sequential_tuning (default: %g)\n",
            AB_DEFAULT_ALPHA, AB_DEFAULT_POWER, ab_correction_name(AB_DEFAULT_CORRECTION),
            AB_DEFAULT_TUNING);
    fputs("  --daily-users N  users entering the experiment a day (default: none, no days)\n"
          "  --json           print the /v1/sample-size answer instead of the sentence\n"
          "  --help           this text\n",
          fp);
}

static void help(FILE *fp)
{
    fprintf(fp, "abstat %s: A/B-test statistics on the command line (the server is abstatd).\n\n",
            AB_VERSION);
    fputs("usage: abstat COMMAND [ARGUMENTS] [OPTIONS]\n"
          "       abstat help [COMMAND] | --help | --version\n\n"
          "commands:\n"
          "  check EXPERIMENT         ask an abstatd server for the experiment's decision;\n"
          "                           the exit status gates a rollout in CI\n"
          "  analyze FILE|-           answer a /v1/analyze body offline, as JSON\n"
          "  sample-size              plan the users (and days) an experiment needs\n"
          "  backup --data SRC DEST   copy the store of a (running) abstatd whose --data is\n"
          "                           SRC into the directory DEST, which must not hold one\n"
          "  help [COMMAND]           this text, or one command's\n\n"
          "  --version                print \"abstat VERSION\" and exit\n"
          "  --help, -h               this text (after a command: that command's)\n"
          "An option's value follows it (--server URL) or joins it with = (--server=URL).\n"
          "Bad usage prints one line on standard error and exits 4.\n\n",
          fp);
    ab_cli_check_help(fp);
    fputc('\n', fp);
    sample_size_help(fp);
    fputc('\n', fp);
    analyze_help(fp);
}

/* One line on stderr ending with where to read more; returns 4. */
static int usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    const char *sep = command ? " " : "";
    if (!command) command = "";
    fprintf(stderr, "abstat%s%s: ", sep, command);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see abstat%s%s --help)\n", sep, command);
    return EXIT_USAGE;
}

static int is_help(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help");
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

    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            analyze_help(stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return usage_error("analyze", "unknown option \"%s\"", argv[i]);
    }
    if (argc != 2) {
        fputs("usage: abstat analyze FILE|- (see abstat analyze --help)\n", stderr);
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

static void print_plan(const json_t *ans)
{
    char per[32], total[32], daily[32], days[32], weeks[32];
    const json_t *d = json_object_get(ans, "days");
    const json_t *seq = json_object_get(ans, "sequential_per_variant");
    ab_fmt_count(json_number_value(json_object_get(ans, "per_variant")), per, sizeof per);
    ab_fmt_count(json_number_value(json_object_get(ans, "total")), total, sizeof total);
    printf("%s users per variant, %s in total", per, total);
    if (d) {
        double nd = json_number_value(d), nw = json_number_value(json_object_get(ans, "weeks"));
        ab_fmt_count(json_number_value(json_object_get(ans, "daily_users")), daily, sizeof daily);
        ab_fmt_count(nd, days, sizeof days);
        ab_fmt_count(nw, weeks, sizeof weeks);
        printf("; at %s users a day: %s day%s, round up to %s whole week%s", daily, days,
               nd == 1 ? "" : "s", weeks, nw == 1 ? "" : "s");
    }
    putchar('\n');
    /* The size abstatd's default method (sequential) plans with; null
     * (power below 0.5) prints nothing. */
    if (json_is_integer(seq)) {
        ab_fmt_count(json_number_value(seq), per, sizeof per);
        printf("sequential test (monitored continuously): %s users per variant\n", per);
    }
}

/* The options of sample-size that take a value, and the example that
 * shows how a fraction is written (NULL: not a fraction). Whether baseline
 * and mde are fractions depends on the metric: plan_example. */
static const struct {
    const char *name, *example;
} plan_options[] = {
    {"baseline", "a fraction: 0.05 = 5 %"}, {"mde", "relative: 0.1 = +10 %"},
    {"alpha", "a fraction: 0.05 = 5 %"},    {"power", "a fraction: 0.8 = 80 %"},
    {"variants", NULL},                     {"correction", NULL},
    {"daily-users", NULL},                  {"metric", NULL},
    {"sd", NULL},                           {"promoters", "a share: 0.4 = 40 %"},
    {"detractors", "a share: 0.2 = 20 %"},  {"sequential-tuning", NULL},
};

/* A revenue baseline is money (--baseline 25 is 25 a user) and an NPS mde
 * points (--mde 5 is +5 points, README "The command line"): not fractions. */
static const char *plan_example(size_t k, ab_metric metric)
{
    const char *name = plan_options[k].name;
    if (!strcmp(name, "baseline") && metric != AB_METRIC_CONVERSION) return NULL;
    if (!strcmp(name, "mde") && metric == AB_METRIC_NPS) return NULL;
    return plan_options[k].example;
}

/* A bare number of 1 or more for a fraction is a percentage typed without
 * its %: --mde 10 meant +10 %, and read as +1000 % it answered "12 users
 * per variant". Refused rather than guessed. */
static int ambiguous_fraction(const char *name, const char *example, const char *value)
{
    char *end;
    double d;
    if (!example || strchr(value, '%')) return 0;
    d = strtod(value, &end);
    if (end == value || *end || !isfinite(d) || fabs(d) < 1.0) return 0;
    fprintf(stderr, "abstat sample-size: --%s %s is ambiguous: did you mean %s%%? (a bare number "
                    "is %s)\n", name, value, value, example);
    return 1;
}

static int cmd_sample_size(int argc, char **argv)
{
    ab_sample_size_req rq;
    ab_error err = {0, ""};
    int as_json = 0, rc, nset = 0;
    json_t *ans;
    /* Every option is read before any is applied: whether --mde 5 is
     * ambiguous depends on a --metric that may come after it. */
    size_t *which = calloc((size_t)argc, sizeof *which);
    const char **values = calloc((size_t)argc, sizeof *values);

    if (!which || !values) {
        free(which);
        free(values);
        fputs("abstat sample-size: out of memory\n", stderr);
        return EXIT_USAGE;
    }
    ab_sample_size_req_init(&rq);
    rc = -1;
    for (int i = 1; i < argc && rc < 0; i++) {
        const char *arg = argv[i], *eq;
        char name[32];
        size_t k, n = sizeof plan_options / sizeof plan_options[0];
        if (!strcmp(arg, "--json")) {
            as_json = 1;
            continue;
        }
        if (is_help(arg)) {
            sample_size_help(stdout);
            rc = 0;
        } else if (strncmp(arg, "--", 2)) {
            rc = usage_error("sample-size", "unexpected argument \"%s\"", arg);
        } else {
            eq = strchr(arg, '=');
            snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - arg - 2) : (int)strlen(arg + 2),
                     arg + 2);
            for (k = 0; k < n && strcmp(plan_options[k].name, name); k++) continue;
            if (k == n) rc = usage_error("sample-size", "unknown option \"%s\"", arg);
            else if (eq) values[nset] = eq + 1;
            else if (i + 1 < argc) values[nset] = argv[++i];
            else rc = usage_error("sample-size", "--%s needs a value", name);
            which[nset++] = k;
        }
    }
    /* The metric first, then the rest in the order given. */
    for (int pass = 0; pass < 2 && rc < 0; pass++) {
        for (int j = 0; j < nset && rc < 0; j++) {
            size_t k = which[j];
            const char *name = plan_options[k].name;
            if ((pass == 0) != !strcmp(name, "metric")) continue;
            if (ambiguous_fraction(name, plan_example(k, rq.metric), values[j]))
                rc = EXIT_USAGE;
            else if (ab_sample_size_req_set(&rq, name, values[j], &err)) {
                fprintf(stderr, "abstat sample-size: %s\n", err.text);
                rc = EXIT_USAGE;
            }
        }
    }
    free(which);
    free(values);
    if (rc >= 0) return rc;
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

/* `abstat help [COMMAND]`. */
static int cmd_help(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : NULL;
    if (!c) help(stdout);
    else if (!strcmp(c, "check")) ab_cli_check_help(stdout);
    else if (!strcmp(c, "sample-size")) sample_size_help(stdout);
    else if (!strcmp(c, "analyze")) analyze_help(stdout);
    else if (!strcmp(c, "backup")) {
        char *args[] = {"backup", "--help", NULL};
        return ab_cli_backup(2, args);
    } else {
        return usage_error(NULL, "no command \"%s\"", c);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *c;
    ab_stats_init();
    if (argc < 2) {
        fputs("usage: abstat check|analyze|sample-size|backup|help ... (see abstat --help)\n",
              stderr);
        return EXIT_USAGE;
    }
    c = argv[1];
    if (!strcmp(c, "check")) return ab_cli_check(argc - 1, argv + 1);
    if (!strcmp(c, "analyze")) return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(c, "backup")) return ab_cli_backup(argc - 1, argv + 1);
    if (!strcmp(c, "sample-size")) return cmd_sample_size(argc - 1, argv + 1);
    if (!strcmp(c, "help")) return cmd_help(argc - 1, argv + 1);
    if (is_help(c)) return cmd_help(1, argv + 1);
    if (!strcmp(c, "--version")) {
        printf("abstat %s\n", AB_VERSION);
        return 0;
    }
    if (c[0] == '-') return usage_error(NULL, "unknown option \"%s\"", c);
    return usage_error(NULL, "unknown command \"%s\"", c);
}
