/* cli_check.c — asks the daemon for an experiment's decision and turns it
 * into an exit code and a short summary for CI logs. */
#include "cli/cli_check.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_format.h"
#include "core/experiment.h"
#include "http/http_client.h"

void ab_cli_check_help(FILE *fp)
{
    fputs("abstat check EXPERIMENT [OPTIONS]\n"
          "  Asks an abstatd server for the experiment's decision, prints a short summary\n"
          "  and exits with the decision, to gate a rollout in CI.\n"
          "  --server URL     the server: http://host[:port] or https://host[:port], with an\n"
          "                   optional path prefix (default: $ABSTAT_SERVER, else\n"
          "                   http://127.0.0.1:8080)\n"
          "  --token T        bearer token with the read scope (default: $ABSTAT_TOKEN;\n"
          "                   none when unset)\n"
          "  --variant NAME   judge this variant: exit 0 only when it is the winner\n"
          "  --cacert FILE    https: trust the CA certificates of this PEM file instead of\n"
          "                   the system's (default: the system store, or $SSL_CERT_FILE)\n"
          "  --timeout S      give up after S seconds in all: lookup, connect, TLS and\n"
          "                   answer (default: 30)\n"
          "  --json           print the server's decision document instead of the summary\n"
          "  --help           this text\n"
          "  exit status: 0 ship (with --variant: that variant wins), 1 keep running,\n"
          "    2 keep control (or the variant is worse, has no effect or is beaten),\n"
          "    3 invalid (sample-ratio mismatch), 4 usage, connection or server error\n",
          fp);
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : AB_UNDEFINED;
}

/* How one metric's figures read: a conversion rate in per cent and its
 * differences in percentage points, revenue per user in currency units,
 * NPS (a score from -100 to 100) and its differences in points. */
typedef struct {
    double scale;           /* printed = value x scale */
    int decimals;
    const char *value_unit; /* after a value */
    const char *diff_unit;  /* after a difference or interval */
    int relative;           /* a ratio of two values means something */
} unit;

static unit unit_of(const char *metric)
{
    /* The label says "revenue per user": the value needs no unit. */
    if (metric && !strcmp(metric, "revenue")) return (unit){1.0, 2, "", " per user", 1};
    /* A ratio of two scores that may be negative means nothing: no lift. */
    if (metric && !strcmp(metric, "nps")) return (unit){1.0, 1, "", " points", 0};
    return (unit){100.0, 2, " %", " points", 1};
}

static const char *metric_label(const char *metric, const char *phase, char *buf, size_t len)
{
    if (metric && !strcmp(metric, "revenue")) snprintf(buf, len, "revenue per user");
    else if (metric && !strcmp(metric, "nps")) snprintf(buf, len, "NPS");
    else snprintf(buf, len, "conversion at %s", phase ? phase : AB_UNDEFINED);
    return buf;
}

/* "[-0.02, +3.07]" and the unit when with_unit, or "—" when the interval
 * is undefined. */
static const char *interval(const json_t *ci, unit u, int with_unit, char *buf, size_t len)
{
    char lo[32], hi[32];
    if (!json_is_array(ci) || !json_is_number(json_array_get(ci, 0)) ||
        !json_is_number(json_array_get(ci, 1))) {
        snprintf(buf, len, "%s", AB_UNDEFINED);
        return buf;
    }
    snprintf(buf, len, "[%s, %s]%s",
             ab_fmt_num(json_number_value(json_array_get(ci, 0)) * u.scale, u.decimals, 1, lo,
                        sizeof lo),
             ab_fmt_num(json_number_value(json_array_get(ci, 1)) * u.scale, u.decimals, 1, hi,
                        sizeof hi),
             with_unit ? u.diff_unit : "");
    return buf;
}

static const char *p_value(double p, char *buf, size_t len)
{
    if (!isfinite(p)) snprintf(buf, len, "%s", AB_UNDEFINED);
    else snprintf(buf, len, "%.4g", p);
    return buf;
}

/* "    guardrail revenue per user: failing, -1.20 per user [-1.90, -0.50],
 *     must stay above 0.00": the unit once, after the difference. */
static void print_guardrails(const json_t *guards)
{
    size_t i;
    const json_t *g;
    json_array_foreach(guards, i, g) {
        const char *metric = json_string_value(json_object_get(g, "metric"));
        const char *phase = json_string_value(json_object_get(g, "phase"));
        unit u = unit_of(metric);
        char label[80], diff[32], ci[80], limit[32];
        if (phase) snprintf(label, sizeof label, "conversion at %s", phase);
        else metric_label(metric, NULL, label, sizeof label);
        ab_fmt_num(num(g, "diff") * u.scale, u.decimals, 1, diff, sizeof diff);
        printf("    guardrail %s: %s, %s%s %s, must stay above %s\n", label, str(g, "status"),
               diff, isfinite(num(g, "diff")) ? u.diff_unit : "",
               interval(json_object_get(g, "ci"), u, 0, ci, sizeof ci),
               ab_fmt_num(num(g, "threshold") * u.scale, u.decimals, 0, limit, sizeof limit));
    }
}

/* One non-control variant: both values, the effect in absolute and
 * relative terms with its interval, p_adj, status and guardrails. */
static void print_variant(const json_t *d, const json_t *v, unit u, const char *label)
{
    char mine[32], theirs[32], users[32], cusers[32], effect[32], lift[32], ci[96], p[32];
    double e = num(v, "effect"), l = num(v, "lift");
    const char *method = json_string_value(json_object_get(d, "method"));

    ab_fmt_num(num(v, "value") * u.scale, u.decimals, 0, mine, sizeof mine);
    ab_fmt_num(num(d, "control_value") * u.scale, u.decimals, 0, theirs, sizeof theirs);
    ab_fmt_count(num(v, "users"), users, sizeof users);
    ab_fmt_count(num(d, "control_users"), cusers, sizeof cusers);
    printf("  %s (%s): %s %s%s (%s user%s) against %s%s for %s (%s user%s)\n", str(v, "name"),
           str(v, "status"), label, mine, isfinite(num(v, "value")) ? u.value_unit : "", users,
           num(v, "users") == 1 ? "" : "s", theirs,
           isfinite(num(d, "control_value")) ? u.value_unit : "", str(d, "control"), cusers,
           num(d, "control_users") == 1 ? "" : "s");
    ab_fmt_num(e * u.scale, u.decimals, 1, effect, sizeof effect);
    printf("    effect %s%s", effect, isfinite(e) ? u.diff_unit : "");
    if (u.relative) {
        ab_fmt_num(100.0 * l, 1, 1, lift, sizeof lift);
        printf(" (%s%s)", lift, isfinite(l) ? " %" : "");
    }
    printf(", %s %s, p_adj %s\n",
           method && !strcmp(method, "sequential") ? "anytime-valid CI" : "CI",
           interval(json_object_get(v, "ci"), u, 1, ci, sizeof ci),
           p_value(num(v, "p_adjusted"), p, sizeof p));
    print_guardrails(json_object_get(v, "guardrails"));
}

static void print_summary(const char *id, const json_t *d)
{
    const json_t *verdict = json_object_get(d, "verdict"), *vars = json_object_get(d, "variants");
    const char *metric = json_string_value(json_object_get(d, "metric"));
    unit u = unit_of(metric);
    double progress = num(d, "progress"), days = num(d, "days_remaining");
    char label[80], pct[32], left[32];
    size_t i;
    json_t *v;

    printf("%s: %s\n", id, str(verdict, "decision"));
    printf("  %s\n", str(verdict, "reason"));
    metric_label(metric, json_string_value(json_object_get(d, "phase")), label, sizeof label);
    json_array_foreach(vars, i, v) print_variant(d, v, u, label);
    ab_fmt_num(100.0 * progress, 0, 0, pct, sizeof pct);
    ab_fmt_count(days, left, sizeof left);
    printf("  progress %s%s of the planned sample, ", pct, isfinite(progress) ? " %" : "");
    if (isfinite(days)) printf("about %s day%s remaining\n", left, days == 1 ? "" : "s");
    else printf("days remaining %s\n", left);
}

/* The exit code for the decision, and for one variant when asked. */
static int exit_code(const json_t *d, const char *variant, char *why, size_t len)
{
    const json_t *verdict = json_object_get(d, "verdict");
    const char *decision = json_string_value(json_object_get(verdict, "decision"));
    const char *winner = json_string_value(json_object_get(verdict, "variant"));
    const json_t *vars = json_object_get(d, "variants"), *mine = NULL, *v;
    size_t i;

    if (!decision) {
        snprintf(why, len, "the server's answer has no verdict");
        return AB_CHECK_ERROR;
    }
    if (!strcmp(decision, "invalid")) return AB_CHECK_INVALID;
    if (!variant) {
        if (!strcmp(decision, "ship")) return AB_CHECK_SHIP;
        if (!strcmp(decision, "keep_control")) return AB_CHECK_CONTROL;
        return AB_CHECK_RUNNING;
    }
    json_array_foreach(vars, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (name && !strcmp(name, variant)) mine = v;
    }
    if (!mine) {
        const char *control = json_string_value(json_object_get(d, "control"));
        if (control && !strcmp(control, variant)) {
            /* Asking about the control: it "wins" when we keep it. */
            return !strcmp(decision, "keep_control") ? AB_CHECK_SHIP
                   : !strcmp(decision, "ship")       ? AB_CHECK_CONTROL
                                                     : AB_CHECK_RUNNING;
        }
        snprintf(why, len, "no variant \"%s\" in this experiment", variant);
        return AB_CHECK_ERROR;
    }
    if (winner && !strcmp(winner, variant)) return AB_CHECK_SHIP;
    const char *status = json_string_value(json_object_get(mine, "status"));
    if (winner) {
        snprintf(why, len, "%s wins, not %s", winner, variant);
        return AB_CHECK_CONTROL;
    }
    /* keep_control covers a winner whose guardrail fails as well. */
    if (!strcmp(decision, "keep_control") ||
        (status && (!strcmp(status, "worse") || !strcmp(status, "no_effect"))))
        return AB_CHECK_CONTROL;
    return AB_CHECK_RUNNING;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 with *value set (and *i
 * past it), 0 when argv[*i] is another option, -1 when the value is
 * missing (reported). */
static int option(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n)) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n]) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "abstat check: %s needs a value (see abstat check --help)\n", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int ab_cli_check(int argc, char **argv)
{
    const char *id = NULL, *variant = NULL, *server = getenv("ABSTAT_SERVER"),
               *token = getenv("ABSTAT_TOKEN"), *timeout = NULL, *val;
    int as_json = 0, code, r;
    char path[256], err[900], why[256] = "", *end;
    ab_http_opts opts;
    ab_http_answer ans;
    json_t *d;

    ab_http_opts_init(&opts);
    struct {
        const char *name;
        const char **dest;
    } valued[] = {{"--server", &server}, {"--token", &token}, {"--variant", &variant},
                  {"--cacert", &opts.cacert}, {"--timeout", &timeout}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        r = 0;
        if (!strcmp(a, "--json")) {
            as_json = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ab_cli_check_help(stdout);
            return 0;
        }
        for (size_t k = 0, n = sizeof valued / sizeof valued[0]; k < n && !r; k++)
            if ((r = option(argc, argv, &i, valued[k].name, &val)) > 0) *valued[k].dest = val;
        if (r < 0) return AB_CHECK_ERROR;
        if (r) continue;
        if (a[0] == '-') {
            fprintf(stderr, "abstat check: unknown option \"%s\" (see abstat check --help)\n", a);
            return AB_CHECK_ERROR;
        }
        if (id) {
            fprintf(stderr, "abstat check: unexpected argument \"%s\": one EXPERIMENT only (see "
                            "abstat check --help)\n", a);
            return AB_CHECK_ERROR;
        }
        id = a;
    }
    if (!server || !*server) server = "http://127.0.0.1:8080";
    if (token && !*token) token = NULL;
    if (!id) {
        fprintf(stderr, "abstat check: which EXPERIMENT? (see abstat check --help)\n");
        return AB_CHECK_ERROR;
    }
    if (!ab_experiment_id_valid(id, strlen(id))) {
        fprintf(stderr, "abstat check: \"%s\" is not a valid experiment id\n", id);
        return AB_CHECK_ERROR;
    }
    if (timeout) {
        opts.timeout_s = strtod(timeout, &end);
        if (end == timeout || *end || !(opts.timeout_s > 0 && opts.timeout_s <= 86400)) {
            fprintf(stderr, "abstat check: --timeout %s: must be a number of seconds above 0\n",
                    timeout);
            return AB_CHECK_ERROR;
        }
    }
    snprintf(path, sizeof path, "/v1/experiments/%s/decision", id);
    if (ab_http_get(server, path, token, &opts, &ans, err, sizeof err)) {
        fprintf(stderr, "abstat check: %s\n", err);
        return AB_CHECK_ERROR;
    }
    d = json_loadb(ans.body ? ans.body : "", ans.len, 0, NULL);
    if (ans.status != 200 || !json_is_object(d)) {
        const char *msg = json_string_value(json_object_get(d, "error"));
        fprintf(stderr, "abstat check: server answered %d: %s\n", ans.status,
                msg ? msg : "not the expected JSON");
        json_decref(d);
        free(ans.body);
        return AB_CHECK_ERROR;
    }
    free(ans.body);
    code = exit_code(d, variant, why, sizeof why);
    if (as_json) {
        if (json_dumpf(d, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) == 0) putchar('\n');
    } else {
        print_summary(id, d);
    }
    if (why[0]) fprintf(stderr, "abstat check: %s\n", why);
    json_decref(d);
    return code;
}
