/* test_cli.c — bin/abstat analyze and sample-size as people and CI use
 * them: output, exit codes, and a one-line error with exit 4 on bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "daemon.h"
#include "test.h"

/* Runs a shell command line; returns the exit code, output in out. */
static int run(const char *cmd, char *out, size_t cap)
{
    FILE *fp = popen(cmd, "r");
    size_t n = 0;
    int st;
    if (!fp) return -1;
    n = fread(out, 1, cap - 1, fp);
    out[n] = '\0';
    st = pclose(fp);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect_exit(const char *args, const char *input, int code, const char *needle)
{
    char cmd[2048], out[65536];
    if (input)
        snprintf(cmd, sizeof cmd, "printf '%%s' '%s' | %s %s 2>&1", input, td_bin("abstat"), args);
    else
        snprintf(cmd, sizeof cmd, "%s %s 2>&1", td_bin("abstat"), args);
    snprintf(test_context, sizeof test_context, "abstat %s <<< %.80s", args, input ? input : "");
    CHECK_INT(run(cmd, out, sizeof out), code);
    if (needle && !strstr(out, needle))
        test_fail(__FILE__, __LINE__, "output does not mention \"%s\": %.300s", needle, out);
    test_context[0] = '\0';
}

int main(void)
{
    char cmd[1024], out[65536];
    json_t *j;

    /* analyze: JSON on stdout, the SPEC example's figures. */
    snprintf(cmd, sizeof cmd, "printf '%%s' '{\"variants\":[{\"name\":\"c\",\"users\":5000,"
             "\"conversions\":250},{\"name\":\"v\",\"users\":5100,\"conversions\":300}]}' | %s analyze -",
             td_bin("abstat"));
    CHECK_INT(run(cmd, out, sizeof out), 0);
    j = json_loads(out, 0, NULL);
    CHECK(j != NULL);
    {
        json_t *d = json_object_get(json_object_get(json_array_get(json_object_get(j, "variants"), 1),
                                                    "vs_control"), "decision");
        CHECK_REL(json_number_value(json_object_get(d, "z")), 1.9538448938567112, 1e-6);
        CHECK_REL(json_number_value(json_object_get(d, "sequential_p")), 0.6821106257678865, 1e-6);
    }
    json_decref(j);

    expect_exit("analyze -", "{", 4, "invalid JSON");
    expect_exit("analyze -", "{\"variants\":[{\"name\":\"a\",\"users\":1,\"conversions\":2},{\"name\":\"b\",\"users\":1}]}", 4, "exceed users");
    expect_exit("analyze /nonexistent/file.json", NULL, 4, "cannot open");
    expect_exit("analyze", NULL, 4, "usage");
    expect_exit("", NULL, 4, "usage");
    expect_exit("frobnicate", NULL, 4, "unknown command");

    /* sample-size: the human sentence, and --json. */
    expect_exit("sample-size --baseline 0.05 --mde 10% --daily-users 5000", NULL, 0,
                "31,234 users per variant, 62,468 in total; at 5,000 users a day: 13 days, "
                "round up to 2 whole weeks");
    snprintf(cmd, sizeof cmd, "%s sample-size --baseline 0.05 --mde 0.1 --json", td_bin("abstat"));
    CHECK_INT(run(cmd, out, sizeof out), 0);
    j = json_loads(out, 0, NULL);
    CHECK_INT(json_integer_value(json_object_get(j, "per_variant")), 31234);
    CHECK(json_object_get(j, "days") == NULL);
    json_decref(j);
    expect_exit("sample-size --baseline 0.05 --mde 10% --variants 3 --correction bonferroni", NULL, 0,
                "users per variant");
    expect_exit("sample-size --mde 10%", NULL, 4, "baseline");
    expect_exit("sample-size --baseline 0.05 --mde 10% --alpha 2", NULL, 4, "alpha");
    expect_exit("sample-size --baseline 0.05 --mde abc", NULL, 4, "not a number");
    expect_exit("sample-size --baseline 0.05 --mde 10% --colour red", NULL, 4, "unknown");
    expect_exit("sample-size --baseline", NULL, 4, "unexpected argument");
    return TEST_DONE("test_cli");
}
