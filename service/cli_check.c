/* cli_check.c — asks the daemon for an experiment's decision and turns it
 * into an exit code and a short summary for CI logs. */
#include "cli_check.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "http_client.h"

static void usage(FILE *fp)
{
    fputs("usage: abstat check EXPERIMENT [--server URL] [--token T] [--variant NAME] [--json]\n"
          "exit: 0 ship (with --variant: that variant wins), 1 keep running,\n"
          "      2 keep control / the variant is worse or has no effect,\n"
          "      3 invalid (sample-ratio mismatch), 4 usage, connection or server error\n",
          fp);
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "    guardrail revenue: failing (diff -1.2 [-1.9, -0.5], limit -0)" */
static void print_guardrails(const json_t *guards)
{
    size_t i;
    const json_t *g;
    json_array_foreach(guards, i, g) {
        const char *phase = json_string_value(json_object_get(g, "phase"));
        const json_t *ci = json_object_get(g, "ci");
        printf("    guardrail %s%s%s: %s, diff %+.4g", json_string_value(json_object_get(g, "metric")),
               phase ? " at " : "", phase ? phase : "",
               json_string_value(json_object_get(g, "status")), num(g, "diff"));
        if (json_is_array(ci))
            printf(" [%.4g, %.4g]", json_number_value(json_array_get(ci, 0)),
                   json_number_value(json_array_get(ci, 1)));
        printf(", must stay above %.4g\n", num(g, "threshold"));
    }
}

static void print_summary(const char *id, const json_t *d)
{
    const json_t *verdict = json_object_get(d, "verdict"), *vars = json_object_get(d, "variants");
    const char *decision = json_string_value(json_object_get(verdict, "decision"));
    size_t i;
    json_t *v;
    printf("%s: %s\n", id, decision ? decision : "?");
    printf("  %s\n", json_string_value(json_object_get(verdict, "reason")));
    json_array_foreach(vars, i, v) {
        const json_t *ci = json_object_get(v, "ci");
        double lift = num(v, "lift");
        printf("  %-24s %-10s effect %+.4g", json_string_value(json_object_get(v, "name")),
               json_string_value(json_object_get(v, "status")), num(v, "effect"));
        if (isfinite(lift)) printf(" (%+.1f %%)", 100.0 * lift);
        if (json_is_array(ci))
            printf(" [%.4g, %.4g]", json_number_value(json_array_get(ci, 0)),
                   json_number_value(json_array_get(ci, 1)));
        printf("  p_adj %.4g\n", num(v, "p_adjusted"));
        print_guardrails(json_object_get(v, "guardrails"));
    }
    if (isfinite(num(d, "progress"))) {
        printf("  progress %.0f %% of the planned sample", 100.0 * num(d, "progress"));
        if (isfinite(num(d, "days_remaining")) && num(d, "days_remaining") > 0)
            printf(", about %.0f days remaining", num(d, "days_remaining"));
        putchar('\n');
    }
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
    json_array_foreach(vars, i, v)
        if (!strcmp(json_string_value(json_object_get(v, "name")), variant)) mine = v;
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

int ab_cli_check(int argc, char **argv)
{
    const char *id = NULL, *variant = NULL, *server = getenv("ABSTAT_SERVER"),
               *token = getenv("ABSTAT_TOKEN");
    int as_json = 0, code;
    char path[256], err[512], why[256] = "";
    ab_http_answer ans;
    json_t *d;

    if (!server || !*server) server = "http://127.0.0.1:8080";
    if (token && !*token) token = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) as_json = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout), 0;
        else if (!strcmp(a, "--server") && i + 1 < argc) server = argv[++i];
        else if (!strcmp(a, "--token") && i + 1 < argc) token = argv[++i];
        else if (!strcmp(a, "--variant") && i + 1 < argc) variant = argv[++i];
        else if (a[0] != '-' && !id) id = a;
        else {
            fprintf(stderr, "abstat check: unexpected argument \"%s\"\n", a);
            usage(stderr);
            return AB_CHECK_ERROR;
        }
    }
    if (!id) {
        usage(stderr);
        return AB_CHECK_ERROR;
    }
    if (!ab_experiment_id_valid(id, strlen(id))) {
        fprintf(stderr, "abstat check: \"%s\" is not a valid experiment id\n", id);
        return AB_CHECK_ERROR;
    }
    snprintf(path, sizeof path, "/v1/experiments/%s/decision", id);
    if (ab_http_get(server, path, token, 30, &ans, err, sizeof err)) {
        fprintf(stderr, "abstat check: %s\n", err);
        return AB_CHECK_ERROR;
    }
    d = json_loadb(ans.body ? ans.body : "", ans.len, 0, NULL);
    if (ans.status != 200 || !d) {
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
