/* test_readme.c — README.md runs as written: its shell examples, in order, against a real daemon. */
/*
 * The convention (README.md, "Tests", says it in one paragraph):
 *
 * - Every ```sh and ```console block of README.md is run, in README order,
 *   against one daemon started as `make run` starts it (open, loopback, an
 *   empty data directory) on a free port. ```json, ```yaml, ```html, plain
 *   ``` and any other blocks are documents; ```bash, ```shell and ```zsh are
 *   refused (write ```sh), so that no example is skipped by accident.
 * - A command is a line and its continuations (a trailing `\`, `|`, `&&` or
 *   `||`, a quote or here-document still open) or a multi-line
 *   if/case/for/while/until ... fi/esac/done. It runs under /bin/sh -c in a
 *   scratch directory where `data` is the daemon's data directory (make
 *   run's ./data), with `$?` set to the exit status of the previous command
 *   of its block, stdin empty, and 60 s to finish. `localhost:8080` and
 *   `127.0.0.1:8080` become the daemon's address; `abstat`, `abstatd`,
 *   `bin/abstat` and `bin/abstatd` are the built programs, ABSTAT_SERVER
 *   names the daemon; `curl` is the real curl behind a wrapper that records
 *   each call's status and body. Not run: a command whose first word is
 *   `make` (the setup commands). Nothing else is left out.
 * - ```sh: a command must exit 0 unless `# exit N` follows it (text after N
 *   is prose). Every curl call must answer 2xx, except that `# STATUS [BODY]`,
 *   at the end of the command's last line or on a comment line right after
 *   it, states the answer of the command's last curl call: its status and,
 *   when BODY follows (JSON; it runs on over the next comment lines while a
 *   bracket or string is open, joined by a space; text after it is prose),
 *   that the answer is JSON matching BODY. An object has every key BODY
 *   names and no other unless BODY lists `...` among them; an array has the
 *   elements shown, or begins with those before a `...` among them; a number
 *   matches when the answer rounds to it at the digits shown; a string is
 *   equal, except that `...` in it matches any text and an RFC 3339 time
 *   matches any such time; `...` or "..." as a value matches any value.
 * - ```console: a line starting `$ ` is a command (its continuation lines may
 *   start `> `); the lines up to the next `$ ` are its output, standard
 *   output and error together, compared line by line: `...` in a line matches
 *   any text and a line of only `...` any number of lines. A command must
 *   exit 0 unless the next one is `echo $?`, whose output then shows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "test.h"

#define CMD_TIMEOUT_MS 60000
/* Marks in the JSON a BODY is rewritten into: `...` and numbers as written. */
#define ANY_MARK "\x01..."
#define NUM_MARK '\x02'

typedef struct {
    int line;          /* README line of the command's first line */
    int block;         /* commands of one block share $? */
    int console;       /* from a ```console block */
    char *cmd;         /* as written */
    int status;        /* stated HTTP status of the last curl call, 0: none */
    char *body;        /* stated BODY, NULL: not stated */
    int exit_code;     /* stated exit status */
    char **out;        /* console: expected output lines */
    size_t nout;
} step;

static step *steps;
static size_t nsteps, capsteps;
static int skipped;

static char scratch[300], calls_path[400], real_curl[PATH_MAX];
static long calls_seen;     /* bytes of the calls log already read */
static td_daemon D;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "test_readme: out of memory\n");
        exit(2);
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

/* Appends n bytes of s to the heap string *dst (NULL starts one). */
static void append(char **dst, const char *s, size_t n)
{
    size_t have = *dst ? strlen(*dst) : 0;
    char *p = realloc(*dst, have + n + 1);
    if (!p) {
        fprintf(stderr, "test_readme: out of memory\n");
        exit(2);
    }
    memcpy(p + have, s, n);
    p[have + n] = '\0';
    *dst = p;
}

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

static int is_blank(const char *s) { return *skip_ws(s) == '\0'; }
static int is_comment_line(const char *s) { return *skip_ws(s) == '#'; }

/* Reports a failure of the command at README line `line`. */
static void fail_at(const step *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_at(const step *s, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(test_context, sizeof test_context, "README.md:%d `%.70s%s`", s->line, s->cmd,
             strlen(s->cmd) > 70 ? "..." : "");
    test_fail(__FILE__, __LINE__, "%s", msg);
    test_context[0] = '\0';
}

/* ---- Splitting shell text into commands ---------------------------------- */

typedef struct {
    int open_quote;      /* a quote is still open at the end */
    int continues;       /* the last line ends with \, |, && or || */
    int depth;           /* compound commands still open */
    const char *comment; /* the '#' of the last line's comment, or NULL */
} scan_result;

static int is_word(const char *w, size_t n, const char *k) { return strlen(k) == n && !memcmp(w, k, n); }

/* Word ended: keywords at a command's position open and close compounds. */
static void end_word(const char *w, size_t n, int quoted, int *cmdpos, int *depth)
{
    if (!n) return;
    if (!*cmdpos || quoted) {
        *cmdpos = 0;
        return;
    }
    if (is_word(w, n, "if") || is_word(w, n, "while") || is_word(w, n, "until")) {
        (*depth)++;
        *cmdpos = 1;
    } else if (is_word(w, n, "case") || is_word(w, n, "for")) {
        (*depth)++;
        *cmdpos = 0;
    } else if (is_word(w, n, "fi") || is_word(w, n, "esac") || is_word(w, n, "done")) {
        if (*depth > 0) (*depth)--;
        *cmdpos = 0;
    } else {
        *cmdpos = is_word(w, n, "then") || is_word(w, n, "do") || is_word(w, n, "else") ||
                  is_word(w, n, "elif") || is_word(w, n, "{") || is_word(w, n, "!");
    }
}

/* A small sh lexer: enough to know whether a command goes on. */
static void scan(const char *s, scan_result *r)
{
    int sq = 0, dq = 0, cmdpos = 1, depth = 0, quoted = 0, strip_tabs = 0;
    char last = 0, before_last = 0;  /* last two operator-or-word chars of the line */
    char here[64] = "";              /* the delimiter of a here-document to come */
    const char *word = NULL;
    size_t wlen = 0;
    memset(r, 0, sizeof *r);
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (sq) {
            if (c == '\'') sq = 0;
            continue;
        }
        if (dq) {
            if (c == '\\' && p[1]) p++;
            else if (c == '"') dq = 0;
            continue;
        }
        if (c == '\\') {
            if (!p[1]) {
                last = '\\';
                break;
            }
            p++;
            if (*p != '\n') {
                if (!word) word = p;
                wlen++;
                last = 'w';
            }
            continue;
        }
        if (c == '<' && p[1] == '<' && p[2] != '<') {
            const char *q = p + 2;
            size_t n = 0;
            strip_tabs = *q == '-';
            q = skip_ws(q + strip_tabs);
            for (; *q && !strchr(" \t\n;&|<>()", *q); q++)
                if (*q != '\'' && *q != '"' && *q != '\\' && n < sizeof here - 1) here[n++] = *q;
            here[n] = '\0';
            last = 'w';
            p = q - 1;
            continue;
        }
        if (c == '\'' || c == '"') {
            if (c == '\'') sq = 1;
            else dq = 1;
            if (!word) word = p;
            quoted = 1;
            wlen++;
            last = 'w';
            continue;
        }
        if (c == '#' && !word) {
            const char *nl = strchr(p, '\n');
            if (!nl) {
                r->comment = p;
                break;
            }
            p = nl - 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || strchr(";&|()<>", c)) {
            end_word(word, wlen, quoted, &cmdpos, &depth);
            word = NULL;
            wlen = 0;
            quoted = 0;
            if (c == '\n') {
                cmdpos = 1;
                last = before_last = 0;
            }
            /* A here-document's lines are not shell: skip to its delimiter. */
            while (c == '\n' && here[0]) {
                const char *line = p + 1, *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                if (strip_tabs)
                    while (*line == '\t') line++, len--;
                if (len == strlen(here) && !strncmp(line, here, len)) here[0] = '\0';
                if (!nl) break;
                p = nl;
            }
            if (c == '\n' && here[0]) break; /* it runs on past the text */
            if (c != ' ' && c != '\t' && c != '\n') {
                if (strchr(";&|(", c) || (c == ')' && depth > 0)) cmdpos = 1;
                before_last = last;
                last = c;
            }
            continue;
        }
        if (!word) word = p;
        wlen++;
        before_last = last;
        last = 'w';
    }
    if (word) end_word(word, wlen, quoted, &cmdpos, &depth);
    r->open_quote = sq || dq || here[0];
    r->continues = last == '\\' || last == '|' || (last == '&' && before_last == '&');
    r->depth = depth;
}

/* ---- Reading README.md --------------------------------------------------- */

static step *new_step(int line, int block, int console, char *cmd)
{
    if (nsteps == capsteps) {
        capsteps = capsteps ? capsteps * 2 : 64;
        step *g = realloc(steps, capsteps * sizeof *steps);
        if (!g) {
            fprintf(stderr, "test_readme: out of memory\n");
            exit(2);
        }
        steps = g;
    }
    step *s = &steps[nsteps++];
    memset(s, 0, sizeof *s);
    s->line = line;
    s->block = block;
    s->console = console;
    s->cmd = cmd;
    return s;
}

/* Length of the JSON value at the start of s, or 0 while it is unclosed. */
static size_t value_length(const char *s)
{
    int depth = 0, str = 0;
    for (const char *p = s; *p; p++) {
        if (str) {
            if (*p == '\\' && p[1]) {
                p++;
            } else if (*p == '"') {
                str = 0;
                if (depth == 0) return (size_t)(p - s + 1);
            }
            continue;
        }
        if (*p == '"') str = 1;
        else if (*p == '{' || *p == '[') depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0) return (size_t)(p - s + 1);
    }
    return 0;
}

/* A note is `exit N` or `STATUS [BODY]`. Returns 1 when text (after '#') is
 * one; a BODY still open takes the next comment lines (*used counts them). */
static int read_note(step *s, const char *text, char **lines, size_t from, size_t to, size_t *used)
{
    const char *t = skip_ws(text);
    *used = 0;
    if (!strncmp(t, "exit ", 5) && t[5] >= '0' && t[5] <= '9') {
        s->exit_code = atoi(t + 5);
        return 1;
    }
    if (!(t[0] >= '1' && t[0] <= '5' && t[1] >= '0' && t[1] <= '9' && t[2] >= '0' &&
          t[2] <= '9' && (t[3] == ' ' || t[3] == '\0')))
        return 0;
    s->status = atoi(t);
    t = skip_ws(t + 3);
    if (*t != '{' && *t != '[' && *t != '"') return 1;
    char *body = xstrdup(t);
    size_t n;
    while (!(n = value_length(body)) && from + *used < to && is_comment_line(lines[from + *used])) {
        append(&body, " ", 1);
        const char *more = skip_ws(skip_ws(lines[from + *used]) + 1);
        append(&body, more, strlen(more));
        (*used)++;
    }
    if (!n) {
        fail_at(s, "README line %d: the answer stated after the command never closes: %.200s",
                s->line, body);
        free(body);
        return 1;
    }
    body[n] = '\0';
    free(s->body);
    s->body = body;
    return 1;
}

/* Joins lines[a..b) with newlines; `strip` drops a console's "> " prompt. */
static char *join_lines(char **lines, size_t a, size_t b, int strip)
{
    char *cmd = NULL;
    for (size_t k = a; k < b; k++) {
        const char *l = lines[k];
        if (k > a) {
            append(&cmd, "\n", 1);
            if (strip && !strncmp(l, "> ", 2)) l += 2;
        } else if (strip) {
            l += 2;
        }
        append(&cmd, l, strlen(l));
    }
    return cmd ? cmd : xstrdup("");
}

/* How many lines from `first` make one command (its continuations). */
static size_t command_lines(char **lines, size_t first, size_t end, int console)
{
    size_t k = first + 1;
    for (;;) {
        char *cmd = join_lines(lines, first, k, console);
        scan_result r;
        scan(cmd, &r);
        free(cmd);
        if (!(r.open_quote || r.continues || r.depth > 0) || k >= end) return k - first;
        k++;
    }
}

static void read_sh(char **lines, size_t a, size_t b, int block)
{
    size_t i = a;
    while (i < b) {
        if (is_blank(lines[i]) || is_comment_line(lines[i])) {
            i++;
            continue;
        }
        size_t n = command_lines(lines, i, b, 0);
        step *s = new_step((int)i + 1, block, 0, join_lines(lines, i, i + n, 0));
        scan_result r;
        size_t used;
        scan(s->cmd, &r);
        if (r.comment) read_note(s, r.comment + 1, lines, i + n, b, &used);
        i += n;
        /* Notes right after the command; a comment that is not one ends them. */
        while (i < b && is_comment_line(lines[i]) &&
               read_note(s, skip_ws(lines[i]) + 1, lines, i + 1, b, &used))
            i += 1 + used;
    }
}

static void read_console(char **lines, size_t a, size_t b, int block)
{
    size_t i = a;
    step *s = NULL;
    while (i < b) {
        if (!strncmp(lines[i], "$ ", 2)) {
            size_t n = command_lines(lines, i, b, 1);
            s = new_step((int)i + 1, block, 1, join_lines(lines, i, i + n, 1));
            i += n;
            continue;
        }
        if (!s) {
            fprintf(stderr, "README.md:%zu: output before any `$ ` command\n", i + 1);
            test_failed++;
            i++;
            continue;
        }
        char **g = realloc(s->out, (s->nout + 1) * sizeof *g);
        if (!g) {
            fprintf(stderr, "test_readme: out of memory\n");
            exit(2);
        }
        s->out = g;
        s->out[s->nout++] = xstrdup(lines[i]);
        i++;
    }
}

static int read_readme(const char *path)
{
    FILE *fp = fopen(path, "r");
    char **lines = NULL, buf[8192];
    size_t n = 0, cap = 0;
    int block = 0;
    if (!fp) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(buf, sizeof buf, fp)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **g = realloc(lines, cap * sizeof *g);
            if (!g) {
                fprintf(stderr, "test_readme: out of memory\n");
                exit(2);
            }
            lines = g;
        }
        lines[n++] = xstrdup(buf);
    }
    if (fclose(fp) != 0) fprintf(stderr, "warning: closing %s: %s\n", path, strerror(errno));
    for (size_t i = 0; i < n; i++) {
        const char *f = skip_ws(lines[i]);
        if (strncmp(f, "```", 3)) continue;
        char info[64];
        snprintf(info, sizeof info, "%s", skip_ws(f + 3));
        info[strcspn(info, " \t{")] = '\0';
        size_t end = i + 1;
        while (end < n && strncmp(skip_ws(lines[end]), "```", 3)) end++;
        block++;
        if (!strcmp(info, "sh")) {
            read_sh(lines, i + 1, end, block);
        } else if (!strcmp(info, "console")) {
            read_console(lines, i + 1, end, block);
        } else if (!strcmp(info, "bash") || !strcmp(info, "shell") || !strcmp(info, "zsh")) {
            fprintf(stderr, "FAIL README.md:%zu: a ```%s block is not run: write ```sh\n", i + 1, info);
            test_failed++;
        }
        i = end;
    }
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
    return 0;
}

/* ---- Matching answers ---------------------------------------------------- */

/* `...` in pat matches any text. */
static int glob(const char *pat, const char *s)
{
    const char *star = strstr(pat, "...");
    if (!star) return !strcmp(pat, s);
    size_t lit = (size_t)(star - pat);
    if (strncmp(pat, s, lit)) return 0;
    for (const char *t = s + lit;; t++) {
        if (glob(star + 3, t)) return 1;
        if (!*t) return 0;
    }
}

static int is_time(const char *s)
{
    static const char form[] = "dddd-dd-ddTdd:dd:dd";
    size_t k;
    for (k = 0; form[k]; k++)
        if (form[k] == 'd' ? !(s[k] >= '0' && s[k] <= '9') : s[k] != form[k]) return 0;
    s += k;
    if (*s == '.') {
        do s++;
        while (*s >= '0' && *s <= '9');
    }
    return !strcmp(s, "Z") || (strlen(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':');
}

static int is_any(const json_t *p)
{
    const char *s = json_string_value(p);
    return s && (!strcmp(s, ANY_MARK) || !strcmp(s, "..."));
}

/* BODY as JSON: bare `...` become ANY_MARK (a member "ANY_MARK": null in an
 * object), numbers strings of NUM_MARK and the number as written. */
static char *pattern_json(const char *b)
{
    char *out = NULL, ctx[64];
    int top = 0, key = 0;
    for (const char *p = b; *p;) {
        if (*p == '"') {
            size_t n = 1;
            while (p[n] && p[n] != '"') n += p[n] == '\\' && p[n + 1] ? 2 : 1;
            if (p[n]) n++;
            append(&out, p, n);
            p += n;
            continue;
        }
        if (!strncmp(p, "...", 3)) {
            if (top && ctx[top - 1] == '{' && key) append(&out, "\"\\u0001...\": null", 17);
            else append(&out, "\"\\u0001...\"", 11);
            p += 3;
            continue;
        }
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            size_t n = strspn(p, "-+0123456789.eE");
            append(&out, "\"\\u0002", 7);
            append(&out, p, n);
            append(&out, "\"", 1);
            p += n;
            continue;
        }
        if ((*p == '{' || *p == '[') && top < (int)sizeof ctx) ctx[top++] = *p;
        else if ((*p == '}' || *p == ']') && top) top--;
        if (*p == '{' || (*p == ',' && top && ctx[top - 1] == '{')) key = 1;
        else if (*p == ':') key = 0;
        append(&out, p, 1);
        p++;
    }
    return out ? out : xstrdup("");
}

/* 1 when got matches the pattern; else why not in why. */
static int match(const json_t *pat, const json_t *got, const char *path, char *why, size_t cap)
{
    char sub[512], *g;
    if (is_any(pat)) return 1;
    if (json_is_string(pat) && json_string_value(pat)[0] == NUM_MARK) {
        const char *text = json_string_value(pat) + 1, *dot = strchr(text, '.'), *e = strpbrk(text, "eE");
        double want = strtod(text, NULL);
        int decimals = dot ? (int)((e ? e : text + strlen(text)) - dot - 1) : 0;
        double tol = 0.5 * pow(10.0, (e ? atoi(e + 1) : 0) - decimals);
        if (json_is_number(got) && fabs(json_number_value(got) - want) <= tol * (1 + 1e-9)) return 1;
        g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(why, cap, "%s is %.200s, README says %s", path, g ? g : "?", text);
        free(g);
        return 0;
    }
    if (json_is_string(pat)) {
        const char *w = json_string_value(pat), *s = json_string_value(got);
        if (s && (strstr(w, "...") ? glob(w, s) : is_time(w) ? is_time(s) : !strcmp(w, s))) return 1;
        g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(why, cap, "%s is %.300s, README says \"%.300s\"", path, g ? g : "?", w);
        free(g);
        return 0;
    }
    if (json_is_object(pat)) {
        const char *k;
        json_t *v;
        int open = 0;
        size_t named = 0;
        if (!json_is_object(got)) {
            snprintf(why, cap, "%s is not an object", path);
            return 0;
        }
        json_object_foreach((json_t *)pat, k, v) {
            if (!strcmp(k, ANY_MARK) || !strcmp(k, "...")) {
                open = 1;
                continue;
            }
            named++;
            snprintf(sub, sizeof sub, "%s.%s", path, k);
            json_t *gv = json_object_get(got, k);
            if (!gv) {
                snprintf(why, cap, "%s is missing", sub);
                return 0;
            }
            if (!match(v, gv, sub, why, cap)) return 0;
        }
        if (!open && json_object_size(got) != named) {
            g = json_dumps(got, JSON_COMPACT);
            snprintf(why, cap, "%s has keys README does not show (add `...`): %.300s", path, g ? g : "?");
            free(g);
            return 0;
        }
        return 1;
    }
    if (json_is_array(pat)) {
        size_t shown = json_array_size(pat), i;
        int open = 0;
        if (!json_is_array(got)) {
            snprintf(why, cap, "%s is not an array", path);
            return 0;
        }
        for (i = 0; i < shown; i++)
            if (is_any(json_array_get(pat, i))) {
                open = 1;
                shown = i;
            }
        if (open ? json_array_size(got) < shown : json_array_size(got) != shown) {
            snprintf(why, cap, "%s has %zu elements, README shows %zu%s", path, json_array_size(got),
                     shown, open ? " and more" : "");
            return 0;
        }
        for (i = 0; i < shown; i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (!match(json_array_get(pat, i), json_array_get(got, i), sub, why, cap)) return 0;
        }
        return 1;
    }
    if (json_equal((json_t *)pat, (json_t *)got)) return 1;
    g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(why, cap, "%s is %.200s", path, g ? g : "?");
    free(g);
    return 0;
}

/* ---- Running commands ---------------------------------------------------- */

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL, chunk[65536];
    size_t n;
    if (!fp) return xstrdup("");
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) append(&buf, chunk, n);
    if (fclose(fp) != 0) fprintf(stderr, "warning: closing %s\n", path);
    return buf ? buf : xstrdup("");
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    int ok = fputs(text, fp) >= 0;
    if (fclose(fp) != 0) ok = 0;
    return ok && chmod(path, mode) == 0 ? 0 : -1;
}

/* Every occurrence of from in *s replaced by to. */
static void replace_all(char **s, const char *from, const char *to)
{
    char *out = NULL, *p = *s, *hit;
    while ((hit = strstr(p, from))) {
        append(&out, p, (size_t)(hit - p));
        append(&out, to, strlen(to));
        p = hit + strlen(from);
    }
    append(&out, p, strlen(p));
    free(*s);
    *s = out;
}

/* Runs script under /bin/sh -c in the scratch directory; the exit status
 * (128 + signal when killed, -1 on timeout), output in out (and err). */
static int run_sh(const char *script, const char *out, const char *err)
{
    pid_t pid = fork();
    int status;
    if (pid < 0) return -2;
    if (pid == 0) {
        /* Its own process group, so that a timeout kills what it started too. */
        if (setpgid(0, 0) != 0) _exit(126);
        int in = open("/dev/null", O_RDONLY);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644) : o;
        if (in < 0 || o < 0 || e < 0 || chdir(scratch) != 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 ||
            dup2(e, 2) < 0)
            _exit(126);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    for (int waited = 0;; waited += 10) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (w < 0 && errno != EINTR) return -2;
        if (waited >= CMD_TIMEOUT_MS) {
            if (kill(-pid, SIGKILL) != 0 && kill(pid, SIGKILL) != 0) return -2;
            return waitpid(pid, &status, 0) == pid ? -1 : -2;
        }
        td_sleep_ms(10);
    }
}

typedef struct {
    int status, rc;
    char body_path[512];
} curl_call;

/* The curl calls logged since the last look. */
static size_t new_calls(curl_call *calls, size_t cap)
{
    char *log = read_file(calls_path), *p = log + calls_seen, *nl;
    size_t n = 0;
    if ((long)strlen(log) < calls_seen) p = log + strlen(log);
    while ((nl = strchr(p, '\n'))) {
        *nl = '\0';
        if (n < cap && sscanf(p, "%d %d %511s", &calls[n].status, &calls[n].rc, calls[n].body_path) == 3) n++;
        p = nl + 1;
    }
    calls_seen = (long)(p - log);
    free(log);
    return n;
}

static void check_body(const step *s, const curl_call *c)
{
    char *body = read_file(c->body_path), *text = body, *pj = pattern_json(s->body), why[1024];
    json_error_t jerr;
    json_t *pat = json_loads(pj, JSON_DECODE_ANY, &jerr), *got;
    /* `curl -i` puts the head in front of the body. */
    if (!strncmp(text, "HTTP/", 5) && strstr(text, "\r\n\r\n")) text = strstr(text, "\r\n\r\n") + 4;
    got = json_loads(text, JSON_DECODE_ANY, NULL);
    if (!pat) fail_at(s, "cannot read the answer README states (%s): %.300s", jerr.text, s->body);
    else if (!got) fail_at(s, "the answer is not JSON: %.300s", text);
    else if (!match(pat, got, "answer", why, sizeof why)) fail_at(s, "%s; the answer: %.600s", why, text);
    else test_passed++;
    json_decref(pat);
    json_decref(got);
    free(pj);
    free(body);
}

static void check_sh(const step *s, int rc, const char *out, const char *err)
{
    curl_call calls[64];
    size_t n = new_calls(calls, 64);
    if (rc == s->exit_code) test_passed++;
    else
        fail_at(s, "exited %d, README says %d%s; output: %.300s; errors: %.300s", rc, s->exit_code,
                rc == -1 ? " (timed out)" : "", out, err);
    for (size_t i = 0; i < n; i++) {
        int stated = s->status && i + 1 == n;
        char *body = read_file(calls[i].body_path);
        if (calls[i].status == 0)
            fail_at(s, "curl call %zu got no answer (curl exit %d)", i + 1, calls[i].rc);
        else if (stated && calls[i].status != s->status)
            fail_at(s, "curl call %zu answered %d, README says %d: %.400s", i + 1, calls[i].status,
                    s->status, body);
        else if (!stated && calls[i].status / 100 != 2)
            fail_at(s, "curl call %zu answered %d and README states no answer (so 2xx): %.400s", i + 1,
                    calls[i].status, body);
        else {
            test_passed++;
            if (stated && s->body) check_body(s, &calls[i]);
        }
        free(body);
    }
    if (s->status && !n) fail_at(s, "README states an answer (%d) but the command made no curl call", s->status);
}

/* Output lines against the README's, `...` lines matching any number. */
static int lines_match(char **want, size_t nw, char **got, size_t ng)
{
    if (!nw) return ng == 0;
    if (!strcmp(want[0], "...")) {
        for (size_t k = 0; k <= ng; k++)
            if (lines_match(want + 1, nw - 1, got + k, ng - k)) return 1;
        return 0;
    }
    return ng && glob(want[0], got[0]) && lines_match(want + 1, nw - 1, got + 1, ng - 1);
}

static void rtrim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
}

static void check_console(const step *s, const step *next, int rc, char *out)
{
    char **got = NULL, *p = out, *nl;
    size_t ng = 0, nw = s->nout;
    int shows_rc = next && next->console && next->block == s->block && !strcmp(next->cmd, "echo $?");
    new_calls(NULL, 0);
    if (rc == 0 || shows_rc) test_passed++;
    else fail_at(s, "exited %d%s (show it with `$ echo $?`); output: %.400s", rc,
                 rc == -1 ? " (timed out)" : "", out);
    while (*p) {
        nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        char **g = realloc(got, (ng + 1) * sizeof *g);
        if (!g) {
            fprintf(stderr, "test_readme: out of memory\n");
            exit(2);
        }
        got = g;
        rtrim(p);
        got[ng++] = p;
        if (!nl) break;
        p = nl + 1;
    }
    while (ng && !got[ng - 1][0]) ng--;
    while (nw && is_blank(s->out[nw - 1])) nw--;
    for (size_t i = 0; i < nw; i++) rtrim(s->out[i]);
    if (lines_match(s->out, nw, got, ng)) test_passed++;
    else {
        char *shown = NULL;
        for (size_t i = 0; i < ng && i < 30; i++) {
            append(&shown, "\n    | ", 7);
            append(&shown, got[i], strlen(got[i]));
        }
        fail_at(s, "output differs from README's (lines %d..%d); it printed:%s", s->line + 1,
                s->line + (int)s->nout, shown ? shown : " nothing");
        free(shown);
    }
    free(got);
}

static int first_word_is(const char *cmd, const char *w)
{
    const char *t = skip_ws(cmd);
    size_t n = strlen(w);
    return !strncmp(t, w, n) && (t[n] == ' ' || t[n] == '\t' || t[n] == '\0');
}

/* ---- The scratch directory ----------------------------------------------- */

static int find_curl(void)
{
    const char *path = getenv("PATH");
    char dirs[4096], *save = NULL;
    snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(real_curl, sizeof real_curl, "%s/curl", d);
        if (access(real_curl, X_OK) == 0) return 0;
    }
    return -1;
}

static int setup_scratch(void)
{
    char p[700], target[PATH_MAX], wrapper[8192];
    const char *names[] = {"abstat", "abstatd"};
    snprintf(scratch, sizeof scratch, "/tmp/abstat-test-readme-%d.work", (int)getpid());
    snprintf(p, sizeof p, "rm -rf '%s'", scratch);
    if (system(p) != 0 || mkdir(scratch, 0755) != 0) return -1;
    snprintf(p, sizeof p, "%s/.path", scratch);
    if (mkdir(p, 0755) != 0) return -1;
    snprintf(p, sizeof p, "%s/.calls", scratch);
    if (mkdir(p, 0755) != 0) return -1;
    snprintf(calls_path, sizeof calls_path, "%s/.calls/log", scratch);
    for (size_t i = 0; i < 2; i++) {
        if (!realpath(td_bin(names[i]), target)) return -1;
        snprintf(p, sizeof p, "%s/.path/%s", scratch, names[i]);
        if (symlink(target, p) != 0) return -1;
    }
    /* bin/ in the scratch directory: examples may name bin/abstat as in the tree. */
    *strrchr(target, '/') = '\0';
    snprintf(p, sizeof p, "%s/bin", scratch);
    if (symlink(target, p) != 0) return -1;
    snprintf(p, sizeof p, "%s/data", scratch);
    if (symlink(D.dir, p) != 0) return -1;
    snprintf(wrapper, sizeof wrapper,
             "#!/bin/sh\n"
             "# curl for tests/integration/test_readme.c: the real one, each call's status and body logged.\n"
             "body=$(mktemp '%s/.calls/body.XXXXXX') || exit 99\n"
             "code=$('%s' \"$@\" -o \"$body\" -w '%%{http_code}')\n"
             "rc=$?\n"
             "cat \"$body\"\n"
             "printf '%%s %%s %%s\\n' \"${code:-0}\" \"$rc\" \"$body\" >> '%s'\n"
             "exit $rc\n",
             scratch, real_curl, calls_path);
    snprintf(p, sizeof p, "%s/.path/curl", scratch);
    return write_file(p, wrapper, 0755);
}

static void show_daemon_log(void)
{
    char *log = read_file(D.log);
    size_t n = strlen(log);
    fprintf(stderr, "daemon log (last 2000 bytes):\n%s\n", n > 2000 ? log + n - 2000 : log);
    free(log);
}

int main(void)
{
    const char *readme = getenv("ABSTAT_README") ? getenv("ABSTAT_README") : "README.md";
    char addr[64], server[80], path[4200], out[400], err[400];
    int prev = 0, prev_block = -1, curl_calls = 0;

    if (read_readme(readme) != 0) {
        test_failed++;
        return TEST_DONE("readme");
    }
    if (find_curl() != 0) {
        fprintf(stderr, "curl not found on PATH (scripts/test-deps.sh installs it)\n");
        test_failed++;
        return TEST_DONE("readme");
    }
    td_init(&D, "readme");
    if (td_start(&D) != 0) {
        fprintf(stderr, "abstatd did not start\n");
        show_daemon_log();
        test_failed++;
        return TEST_DONE("readme");
    }
    if (setup_scratch() != 0) {
        fprintf(stderr, "cannot set up %s: %s\n", scratch, strerror(errno));
        test_failed++;
        td_kill(&D);
        td_cleanup(&D);
        return TEST_DONE("readme");
    }
    snprintf(addr, sizeof addr, "127.0.0.1:%d", D.port);
    snprintf(server, sizeof server, "http://%s", addr);
    snprintf(path, sizeof path, "%s/.path:%s", scratch, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    if (setenv("PATH", path, 1) != 0 || setenv("ABSTAT_SERVER", server, 1) != 0 ||
        unsetenv("ABSTAT_TOKEN") != 0) {
        test_failed++;
        return TEST_DONE("readme");
    }
    snprintf(out, sizeof out, "%s/.calls/out", scratch);
    snprintf(err, sizeof err, "%s/.calls/err", scratch);

    for (size_t i = 0; i < nsteps; i++) {
        step *s = &steps[i];
        if (s->block != prev_block) prev = 0;
        prev_block = s->block;
        if (first_word_is(s->cmd, "make")) {
            skipped++;
            continue;
        }
        char *script = NULL, head[32];
        snprintf(head, sizeof head, "(exit %d)\n", prev < 0 ? 1 : prev);
        append(&script, head, strlen(head));
        append(&script, s->cmd, strlen(s->cmd));
        replace_all(&script, "localhost:8080", addr);
        replace_all(&script, "127.0.0.1:8080", addr);
        prev = run_sh(script, out, s->console ? NULL : err);
        free(script);
        char *o = read_file(out), *e = s->console ? xstrdup("") : read_file(err);
        int failed_before = test_failed;
        if (s->console) check_console(s, i + 1 < nsteps ? &steps[i + 1] : NULL, prev, o);
        else check_sh(s, prev, o, e);
        /* tests/run.sh hides "ok " lines; run by hand they show what ran. */
        if (test_failed == failed_before)
            printf("ok README.md:%d %.*s\n", s->line, (int)strcspn(s->cmd, "\n"), s->cmd);
        if (strstr(s->cmd, "curl")) curl_calls++;
        free(o);
        free(e);
    }
    /* A README whose examples were not found must not pass quietly. */
    if (curl_calls >= 10) test_passed++;
    else
        test_fail(__FILE__, __LINE__, "only %d commands with curl found in %s: the blocks were not read",
                  curl_calls, readme);
    printf("ok readme: %zu commands run (%d `make` commands not)\n", nsteps - (size_t)skipped, skipped);
    if (test_failed) show_daemon_log();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    snprintf(path, sizeof path, "rm -rf '%s'", scratch);
    if (system(path) != 0) fprintf(stderr, "warning: could not remove %s\n", scratch);
    for (size_t i = 0; i < nsteps; i++) {
        free(steps[i].cmd);
        free(steps[i].body);
        for (size_t k = 0; k < steps[i].nout; k++) free(steps[i].out[k]);
        free(steps[i].out);
    }
    free(steps);
    return TEST_DONE("readme");
}
