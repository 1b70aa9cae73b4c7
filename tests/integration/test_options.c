/* test_options.c — abstatd's flags and logs: --version, --help listing
 * every flag with its meaning and the default README's Configuration
 * table gives, refused values, --log-format json (every line a JSON
 * object, valid UTF-8 whatever a message quotes), and --log-level debug:
 * one line per request, never a token, a query string or a user id. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/version.h"
#include "daemon.h"
#include "test.h"

#define SECRET "SECRET-ingest-0123456789abcdef"
#define ADMIN "admin-token-0123456789abcdef"
#define PRIVATE_USER "user-PRIVATE-4711"

/* Runs abstatd with args (a shell word list); its standard output and
 * error in *out (caller frees); returns the exit status. */
static int run(const char *args, char **out)
{
    char cmd[2048];
    size_t cap = 1 << 16, used = 0, n;
    FILE *fp;
    int status;
    *out = calloc(1, cap + 1);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", td_bin("abstatd"), args);
    if (!*out || !(fp = popen(cmd, "r"))) return -1;
    while (used < cap && (n = fread(*out + used, 1, cap - used, fp)) > 0) used += n;
    (*out)[used] = '\0';
    status = pclose(fp);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_version(void)
{
    char *out, want[64];
    snprintf(want, sizeof want, "abstatd %s\n", AB_VERSION);
    CHECK_INT(run("--version", &out), 0);
    CHECK(out && !strcmp(out, want));
    free(out);
}

/* The flags of README's Configuration section, each with the text of its
 * default cell (one row a flag). */
typedef struct {
    char name[40];
    char def[160];
} readme_flag;

static size_t readme_flags(readme_flag *f, size_t cap, char **section)
{
    char *text = td_read_file("README.md"), *start, *end, *line;
    size_t n = 0;
    *section = NULL;
    if (!text || !(start = strstr(text, "\n## Configuration\n"))) {
        free(text);
        return 0;
    }
    start++;
    end = strstr(start + 3, "\n## ");
    if (end) *end = '\0';
    *section = strdup(start);
    for (line = strtok(start, "\n"); line && n < cap; line = strtok(NULL, "\n")) {
        /* | `--flag` | default | meaning | */
        const char *name = line + 3, *tick, *d;
        char *w = f[n].def;
        size_t room = sizeof f[n].def - 1;
        if (strncmp(line, "| `--", 5) || !(tick = strchr(name, '`')) ||
            (size_t)(tick - name) >= sizeof f[n].name || strncmp(tick, "` |", 3))
            continue;
        memcpy(f[n].name, name, (size_t)(tick - name));
        f[n].name[tick - name] = '\0';
        for (d = tick + 3; *d == ' '; d++) {}
        for (; *d && *d != '|' && room; d++)
            if (*d != '`') *w++ = *d, room--;
        *w = '\0';
        while (w > f[n].def && w[-1] == ' ') *--w = '\0';
        n++;
    }
    free(text);
    return n;
}

/* The default --help prints for flag ("" for none), or NULL when the
 * flag is not listed. */
static const char *help_default(const char *help, const char *flag, char *buf, size_t cap)
{
    char key[64];
    const char *p, *next, *d;
    snprintf(key, sizeof key, "\n  %.40s", flag);
    for (p = help; (p = strstr(p, key)); p++) {
        char after = p[strlen(key)];
        if (after == ' ' || after == '\n') break;
    }
    if (!p) return NULL;
    next = strstr(p + 1, "\n  --");
    d = strstr(p, "default: ");
    buf[0] = '\0';
    if (d && (!next || d < next)) {
        size_t n = strcspn(d + 9, "\n");
        snprintf(buf, cap, "%.*s", (int)n, d + 9);
    } else if ((d = strstr(p, "(required")) && (!next || d < next)) {
        size_t n = strcspn(d, "\n"); /* "(required)", "(required, or --store)" */
        snprintf(buf, cap, "%.*s", (int)n, d);
    }
    return buf;
}

static void test_help(void)
{
    readme_flag flags[64];
    char *help, *section, def[256];
    size_t n = readme_flags(flags, 64, &section);
    const char *p;

    CHECK_INT(run("--help", &help), 0);
    CHECK(help && strstr(help, "usage: abstatd"));
    CHECK(n >= 20);
    /* Every flag of the README's table is in --help with the same default. */
    for (size_t i = 0; i < n && help; i++) {
        const char *hd = help_default(help, flags[i].name, def, sizeof def);
        snprintf(test_context, sizeof test_context, "%.40s", flags[i].name);
        CHECK(hd != NULL);
        if (!hd) continue;
        if (!strcmp(flags[i].name, "--help") || !strcmp(flags[i].name, "--version")) continue;
        CHECK(hd[0] != '\0');
        if (strncmp(flags[i].def, hd, strlen(hd)))
            test_fail(__FILE__, __LINE__, "%s: README says default \"%s\", --help \"%s\"",
                      flags[i].name, flags[i].def, hd);
    }
    test_context[0] = '\0';
    /* And every flag of --help is in the README's table. */
    for (p = help; p && (p = strstr(p, "\n  --")); p++) {
        char name[64];
        int found = 0;
        if (sscanf(p + 3, "%63[a-z-]", name) != 1) continue;
        for (size_t i = 0; i < n; i++) found |= !strcmp(flags[i].name, name);
        if (!found) test_fail(__FILE__, __LINE__, "%s is in --help, not in README's table", name);
        else test_passed++;
    }
    CHECK(section && strstr(section, "SIGHUP"));
    free(section);
    free(help);
}

static void test_refused(void)
{
    static const struct {
        const char *args, *needle;
    } cases[] = {
        {"--listen 127.0.0.1:0 --data /tmp/x --log-format xml", "--log-format"},
        {"--listen 127.0.0.1:0 --data /tmp/x --log-level loud", "--log-level"},
        {"--listen 127.0.0.1:0 --data /tmp/x --drain-timeout -1", "--drain-timeout"},
        {"--listen 127.0.0.1:0 --data /tmp/x --drain-timeout 99999", "--drain-timeout"},
        {"--listen 127.0.0.1:0 --data /tmp/x --log-file /nonexistent-dir/abstatd.log",
         "/nonexistent-dir/abstatd.log"},
        {"--listen 127.0.0.1:0 --data /tmp/x --bogus 1", "unknown flag --bogus"},
        {"--listen 127.0.0.1:0 --data /tmp/x --log-file", "needs a value"},
        {"--data /tmp/x", "--listen and --data DIR (or --store URL) are required"},
        {"--listen 127.0.0.1:0", "--data DIR (or --store URL) are required"},
        {"--listen 127.0.0.1:0 --data /tmp/x --store postgresql:///abstat",
         "--data and --store both given"},
        {"--listen 127.0.0.1:0 --store /tmp/x", "a PostgreSQL connection URI"},
        {"--listen 127.0.0.1:0 --store mysql://u@h/db", "an SQLite store is --data DIR"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out;
        snprintf(test_context, sizeof test_context, "%s", cases[i].args);
        CHECK_INT(run(cases[i].args, &out), 2);
        if (!out || !strstr(out, cases[i].needle))
            test_fail(__FILE__, __LINE__, "output \"%.300s\" lacks \"%s\"", out ? out : "",
                      cases[i].needle);
        free(out);
    }
    test_context[0] = '\0';
}

/* Lines a client can make the daemon write quote what it sent: whatever
 * the bytes, a JSON line stays one valid JSON object and a text line one
 * line without control characters. */
static void test_escaping(void)
{
    char path[] = "/tmp/abstat-test-logesc-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    char *text;
    json_t *line;
    CHECK(fd >= 0 && saved >= 0);
    if (fd < 0 || saved < 0) return;
    close(fd);
    CHECK(ab_log_open_file(path) == 0);
    ab_log_set_format(AB_LOG_JSON);
    ab_info("bad \xff\xfe bytes, \xe2\x82 cut, \xed\xa0\x80 surrogate, \"quoted\" \\ "
            "line\nbreak \x01 caf\xc3\xa9 \xf0\x9f\x98\x80");
    ab_log_set_format(AB_LOG_TEXT);
    ab_info("forged\n2026-01-01T00:00:00.000Z error fake \xff");
    ab_log_set_format(AB_LOG_JSON);
    ab_log_set_level(AB_LOG_DEBUG);
    ab_log_request("GET", "/v1/\"x\"", 200, 1.5, 3, 4);
    ab_log_set_level(AB_LOG_INFO);
    ab_log_set_format(AB_LOG_TEXT);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);

    text = td_read_file(path);
    CHECK(text != NULL);
    if (text) {
        char *l1 = text, *l2 = strchr(l1, '\n'), *l3, *l4;
        CHECK(l2 != NULL);
        if (!l2) goto out;
        *l2++ = '\0';
        line = json_loads(l1, JSON_REJECT_DUPLICATES, NULL);
        CHECK(json_is_object(line));
        CHECK(json_is_string(json_object_get(line, "ts")));
        CHECK(json_is_string(json_object_get(line, "level")) &&
              !strcmp(json_string_value(json_object_get(line, "level")), "info"));
        {
            const char *msg = json_string_value(json_object_get(line, "msg"));
            CHECK(msg && strstr(msg, "bad \xef\xbf\xbd\xef\xbf\xbd bytes"));
            CHECK(msg && strstr(msg, "\"quoted\" \\ line\nbreak \x01 caf\xc3\xa9 \xf0\x9f\x98\x80"));
        }
        json_decref(line);
        l3 = strchr(l2, '\n');
        CHECK(l3 != NULL);
        if (!l3) goto out;
        *l3++ = '\0';
        CHECK(strstr(l2, "forged\\x0a2026-01-01") != NULL);
        CHECK(strstr(l2, "fake \\xff") != NULL);
        l4 = strchr(l3, '\n');
        CHECK(l4 != NULL && l4[1] == '\0');
        if (l4) *l4 = '\0';
        line = json_loads(l3, 0, NULL);
        CHECK(json_is_object(line));
        CHECK(json_is_string(json_object_get(line, "path")) &&
              !strcmp(json_string_value(json_object_get(line, "path")), "/v1/\"x\""));
        CHECK_INT(json_integer_value(json_object_get(line, "status")), 200);
        CHECK_INT(json_integer_value(json_object_get(line, "bytes_in")), 3);
        CHECK_INT(json_integer_value(json_object_get(line, "bytes_out")), 4);
        CHECK_REL(json_number_value(json_object_get(line, "ms")), 1.5, 1e-9);
        json_decref(line);
    }
out:
    free(text);
    unlink(path);
}

static int write_tokens(const char *path)
{
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    fprintf(fp, "ingest %s\nadmin %s\n", SECRET, ADMIN);
    if (fclose(fp) != 0) return -1;
    return chmod(path, 0600);
}

/* Requests that carry the secret both ways, and a user id in the query. */
static size_t secret_requests(const td_daemon *d)
{
    char body[256];
    td_response r;
    size_t len = (size_t)snprintf(body, sizeof body,
                                  "{\"experiment\":\"lg\",\"variant\":\"a\",\"user\":\"%s\","
                                  "\"type\":\"exposure\"}", PRIVATE_USER);
    const char *config = "{\"variants\":[\"a\",\"b\"]}";
    r = td_request(d, "PUT", "/v1/experiments/lg", config, strlen(config),
                   "Authorization: Bearer " ADMIN "\r\n");
    CHECK_INT(r.status, 201);
    td_free(&r);
    r = td_request(d, "POST", "/v1/events?token=" SECRET, body, len,
                   "Authorization: Bearer " SECRET "\r\n");
    CHECK_INT(r.status, 202);
    td_free(&r);
    r = td_request(d, "POST", "/v1/events?token=" SECRET, body, len, NULL);
    CHECK_INT(r.status, 202);
    td_free(&r);
    r = td_request(d, "GET", "/v1/experiments/lg/assign?user=" PRIVATE_USER, NULL, 0,
                   "Authorization: Bearer " ADMIN "\r\n");
    td_free(&r);
    r = td_req(d, "GET", "/healthz", NULL);
    CHECK_INT(r.status, 200);
    td_free(&r);
    return len;
}

static void no_secrets(const char *log)
{
    CHECK(log && !strstr(log, SECRET));
    CHECK(log && !strstr(log, ADMIN));
    CHECK(log && !strstr(log, PRIVATE_USER));
    CHECK(log && !strstr(log, "token="));
    CHECK(log && !strstr(log, "?user"));
}

static void test_json_debug_log(void)
{
    td_daemon d;
    char tokens[300], logf[300], *log, *line, *save = NULL;
    size_t body_len, lines = 0, requests = 0, events_202 = 0;

    td_init(&d, "opt-json");
    snprintf(tokens, sizeof tokens, "%s.tokens", d.dir);
    snprintf(logf, sizeof logf, "%s.json.log", d.dir);
    unlink(logf);
    CHECK(write_tokens(tokens) == 0);
    snprintf(d.extra, sizeof d.extra, "--tokens %.150s --log-format json --log-level debug "
             "--log-file %.150s", tokens, logf);
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "daemon did not start");
        return;
    }
    body_len = secret_requests(&d);
    CHECK_INT(td_stop(&d), 0);

    log = td_read_file(logf);
    CHECK(log != NULL);
    no_secrets(log);
    for (line = log ? strtok_r(log, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &e);
        lines++;
        if (!json_is_object(o) || !json_is_string(json_object_get(o, "ts")) ||
            !json_is_string(json_object_get(o, "level")) ||
            !json_is_string(json_object_get(o, "msg"))) {
            test_fail(__FILE__, __LINE__, "not a log object: %s", line);
            json_decref(o);
            continue;
        }
        test_passed++;
        if (!strcmp(json_string_value(json_object_get(o, "msg")), "request")) {
            const char *path = json_string_value(json_object_get(o, "path"));
            requests++;
            CHECK(!strcmp(json_string_value(json_object_get(o, "level")), "debug")); /* checked a string above */
            CHECK(json_is_string(json_object_get(o, "method")));
            CHECK(path && !strchr(path, '?'));
            CHECK(json_is_number(json_object_get(o, "ms")));
            if (path && !strcmp(path, "/v1/events") &&
                json_integer_value(json_object_get(o, "status")) == 202) {
                events_202++;
                CHECK_INT(json_integer_value(json_object_get(o, "bytes_in")), (long long)body_len);
                CHECK(json_integer_value(json_object_get(o, "bytes_out")) > 10);
            }
        }
        json_decref(o);
    }
    CHECK(lines >= 8);
    CHECK_INT(requests, 5);
    CHECK_INT(events_202, 2);
    free(log);
    log = td_read_file(logf);
    CHECK(log && strstr(log, "\"msg\":\"abstatd listening on 127.0.0.1:"));
    free(log);
    unlink(logf);
    unlink(tokens);
    td_cleanup(&d);
}

static void test_text_debug_log(void)
{
    td_daemon d;
    char tokens[300], *log;

    td_init(&d, "opt-text");
    snprintf(tokens, sizeof tokens, "%s.tokens", d.dir);
    CHECK(write_tokens(tokens) == 0);
    snprintf(d.extra, sizeof d.extra, "--tokens %.200s --log-level debug", tokens);
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "daemon did not start");
        return;
    }
    secret_requests(&d);
    {
        td_response r = td_req(&d, "GET", "/metrics", NULL);
        CHECK_INT(r.status, 401);
        td_free(&r);
        r = td_request(&d, "GET", "/metrics", NULL, 0, "Authorization: Bearer " ADMIN "\r\n");
        CHECK(r.body && strstr(r.body, "# TYPE abstat_build_info gauge\n"));
        CHECK(r.body && strstr(r.body, "\nabstat_build_info{version=\"" AB_VERSION "\"} 1\n"));
        td_free(&r);
    }
    CHECK_INT(td_stop(&d), 0);
    log = td_read_file(d.log);
    no_secrets(log);
    CHECK(log && strstr(log, " debug request POST /v1/events 202 "));
    CHECK(log && strstr(log, " debug request GET /healthz 200 "));
    CHECK(log && strstr(log, " debug request GET /metrics 401 "));
    CHECK(log && strstr(log, "abstatd listening on 127.0.0.1:"));
    free(log);
    unlink(tokens);
    td_cleanup(&d);
}

/* Without --log-level debug there is no line per request. */
static void test_info_is_quiet(void)
{
    td_daemon d;
    char *log;
    td_init(&d, "opt-quiet");
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "daemon did not start");
        return;
    }
    for (int i = 0; i < 3; i++) {
        td_response r = td_req(&d, "GET", "/healthz", NULL);
        td_free(&r);
    }
    CHECK_INT(td_stop(&d), 0);
    log = td_read_file(d.log);
    CHECK(log && !strstr(log, "request GET"));
    free(log);
    td_cleanup(&d);
}

/* The password of a --store connection string is never printed: not in
 * the refusal of a URI that is not PostgreSQL's, not in the error of a
 * server that is not there, not when libpq quotes the string it could
 * not parse (README "Security"). */
static void test_store_password(void)
{
    static const struct {
        const char *args;
        int status;
        const char *needle;
    } cases[] = {
        {"--listen 127.0.0.1:0 --store mysql://abstat:hunter2pw@db/x", 2, "mysql://abstat:***@db/x"},
        {"--listen 127.0.0.1:0 --store 'postgresql://abstat:hunter2pw@/x?host=/nonexistent-dir"
         "&connect_timeout=2'", 1, "PostgreSQL"},
        {"--listen 127.0.0.1:0 --store 'postgresql:///x?host=/nonexistent-dir&password=hunter2pw'",
         1, "PostgreSQL"},
        /* a broken percent escape: libpq's message quotes the token */
        {"--listen 127.0.0.1:0 --store 'postgresql://abstat:hunter2pw%zz@/x?host=/nonexistent-dir'",
         1, "store"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out;
        snprintf(test_context, sizeof test_context, "%s", cases[i].args);
        CHECK_INT(run(cases[i].args, &out), cases[i].status);
        CHECK(out && strstr(out, cases[i].needle));
        CHECK(out && !strstr(out, "hunter2pw") && !strstr(out, "2pw%zz"));
        if (out && strstr(out, "hunter2pw")) fprintf(stderr, "  output: %.300s\n", out);
        free(out);
    }
    test_context[0] = '\0';
}

int main(void)
{
    test_version();
    test_help();
    test_refused();
    test_store_password();
    test_escaping();
    test_json_debug_log();
    test_text_debug_log();
    test_info_is_quiet();
    return TEST_DONE("test_options");
}
