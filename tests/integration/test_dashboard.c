/* test_dashboard.c — the marketers' dashboard (GET /, SPEC section 10) in
 * headless Chromium against a real abstatd, driven over the DevTools
 * protocol on a pipe (--remote-debugging-pipe: NUL-separated JSON, no
 * WebSocket needed). A fortnight of backfilled events (a clear winner, a
 * worse variant, revenue and NPS guardrails) and a factorial experiment with
 * a broken split; checked: the list, the verdict and its reason, every
 * variant, each chart with data, the warnings, that every request the page
 * made went to the daemon (the DevTools network log, and Chromium resolving
 * no other host), no script error or CSP violation, and the token form under
 * --tokens (a wrong token and an ingest token refused, a read token shows the
 * page, sign-out and a 401 return to the form). The history charts are
 * checked twice: against the daemon's GET /history (real points, every
 * chart with data), and against a history of the documented shape handed
 * to the page by DevTools (Fetch.fulfillRequest).
 * The files themselves: types, Cache-Control, ETag, the page's CSP, and
 * Debian's Chart.js embedded.
 * Screenshots (phone and desktop) go to $ABSTAT_SCREENSHOTS (make
 * screenshots: docs/screenshots); without it they are taken all the same,
 * into a directory under /tmp that is removed at the end.
 * Without Chromium: skipped with a message, except as root (CI), where
 * `make test` installs it (scripts/test-deps.sh) and its absence fails. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "browser.h"
#include "daemon.h"
#include "test.h"

#define ADMIN "admin-0123456789abcdef"
#define READ "read-0123456789abcdef"
#define INGEST "ingest-0123456789abcdef"
#define DAY_MS 86400000LL
#define WAIT_MS 30000

/* ---- Chromium over a DevTools pipe ---------------------------------------- */

static struct {
    pid_t pid;
    int to, from;         /* our ends: commands in, answers and events out */
    char *buf;            /* what was read and not yet split at a NUL */
    size_t used, cap;
    int next_id;
    char session[128];
    char origin[64];      /* "http://127.0.0.1:PORT" of the daemon under test */
    json_t *fake_history; /* handed to the page for /history when set */
    int fulfilled;        /* how many /history requests got fake_history */
    int requests, outside, errors;
} B;


static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* All n bytes to the pipe (send() is for sockets). */
static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int cdp_send(const char *method, json_t *params, int with_session)
{
    json_t *msg = json_pack("{s:i,s:s,s:o}", "id", ++B.next_id, "method", method,
                            "params", params ? params : json_object());
    char *text;
    int rc;
    if (!msg) return -1;
    if (with_session && B.session[0]) json_object_set_new(msg, "sessionId", json_string(B.session));
    text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text) return -1;
    rc = write_all(B.to, text, strlen(text) + 1); /* with its NUL */
    free(text);
    return rc ? -1 : B.next_id;
}

static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

static size_t unb64(const char *in, unsigned char *out)
{
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (; *in && *in != '='; in++) {
        const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = strchr(tab, *in);
        if (!p) continue;
        v = v << 6 | (unsigned)(p - tab);
        if ((bits += 6) >= 8) out[o++] = (unsigned char)(v >> (bits -= 8));
    }
    return o;
}

/* What the page did: every request it sent, script errors, CSP reports,
 * and the /history requests DevTools answers when a fake history is set. */
static void on_event(const char *method, json_t *params)
{
    if (!strcmp(method, "Network.requestWillBeSent")) {
        const char *url = json_string_value(json_object_get(json_object_get(params, "request"), "url"));
        size_t n = strlen(B.origin);
        B.requests++;
        if (url && !(strncmp(url, B.origin, n) == 0 && (url[n] == '/' || url[n] == '\0')) &&
            strncmp(url, "data:", 5) && strcmp(url, "about:blank")) {
            B.outside++;
            fprintf(stderr, "  the page requested %s (not the daemon)\n", url);
        }
    } else if (!strcmp(method, "Runtime.exceptionThrown")) {
        B.errors++;
        fprintf(stderr, "  page script error: %.400s\n",
                json_string_value(json_object_get(json_object_get(json_object_get(params, "exceptionDetails"),
                                                                  "exception"), "description")));
    } else if (!strcmp(method, "Log.entryAdded")) {
        const json_t *e = json_object_get(params, "entry");
        const char *src = json_string_value(json_object_get(e, "source"));
        const char *lvl = json_string_value(json_object_get(e, "level"));
        /* network: the refusals the token form provokes (401) are expected; security: CSP. */
        if (lvl && !strcmp(lvl, "error") && src && strcmp(src, "network")) {
            B.errors++;
            fprintf(stderr, "  page %s error: %.400s\n", src,
                    json_string_value(json_object_get(e, "text")));
        }
    } else if (!strcmp(method, "Fetch.requestPaused")) {
        const char *id = json_string_value(json_object_get(params, "requestId"));
        const char *url = json_string_value(json_object_get(json_object_get(params, "request"), "url"));
        char *text = B.fake_history ? json_dumps(B.fake_history, JSON_COMPACT) : NULL;
        if (text && url && strstr(url, "/history")) {
            char *enc = malloc(strlen(text) * 4 / 3 + 8);
            if (enc) {
                b64((const unsigned char *)text, strlen(text), enc);
                cdp_send("Fetch.fulfillRequest",
                         json_pack("{s:s,s:i,s:[{s:s,s:s}],s:s}", "requestId", id, "responseCode", 200,
                                   "responseHeaders", "name", "Content-Type", "value", "application/json",
                                   "body", enc), 1);
                B.fulfilled++;
                free(enc);
            }
        } else if (id) {
            cdp_send("Fetch.continueRequest", json_pack("{s:s}", "requestId", id), 1);
        }
        free(text);
    }
}

/* The next message from the browser, or NULL after timeout_ms. */
static json_t *cdp_read(int timeout_ms)
{
    long long until = now_ms() + timeout_ms;
    for (;;) {
        char *nul = B.used ? memchr(B.buf, '\0', B.used) : NULL;
        if (nul) {
            size_t n = (size_t)(nul - B.buf) + 1;
            json_t *msg = json_loads(B.buf, 0, NULL);
            memmove(B.buf, B.buf + n, B.used - n);
            B.used -= n;
            if (msg) return msg;
            continue;
        }
        if (B.cap - B.used < 65536) {
            char *grown = realloc(B.buf, B.cap * 2 + 65536);
            if (!grown) return NULL;
            B.buf = grown;
            B.cap = B.cap * 2 + 65536;
        }
        struct pollfd p = {B.from, POLLIN, 0};
        long long left = until - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) return NULL;
        ssize_t got = read(B.from, B.buf + B.used, B.cap - B.used);
        if (got <= 0) return NULL;
        B.used += (size_t)got;
    }
}

/* Sends a command and waits for its answer: the "result" (caller frees),
 * or NULL (an error, or no answer within WAIT_MS). Events meanwhile go to
 * on_event. */
static json_t *cdp_call(const char *method, json_t *params, int with_session)
{
    int id = cdp_send(method, params, with_session);
    json_t *msg;
    if (id < 0) return NULL;
    while ((msg = cdp_read(WAIT_MS))) {
        const char *ev = json_string_value(json_object_get(msg, "method"));
        if (ev) {
            on_event(ev, json_object_get(msg, "params"));
        } else if (json_integer_value(json_object_get(msg, "id")) == id) {
            json_t *res = json_incref(json_object_get(msg, "result"));
            if (!res) fprintf(stderr, "  DevTools %s: %.300s\n", method,
                              json_string_value(json_object_get(json_object_get(msg, "error"), "message")));
            json_decref(msg);
            return res;
        }
        json_decref(msg);
    }
    fprintf(stderr, "  DevTools %s: no answer\n", method);
    return NULL;
}

static int cdp_ok(const char *method, json_t *params)
{
    json_t *r = cdp_call(method, params, 1);
    json_decref(r);
    return r ? 0 : -1;
}

static int browser_start(const char *chromium, const char *profile)
{
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC)) return -1;
    B.pid = fork();
    if (B.pid < 0) return -1;
    if (B.pid == 0) {
        char dir_flag[400];
        int null = open("/dev/null", O_WRONLY);
        setpgid(0, 0);
        /* The protocol's pipe: Chromium reads fd 3 and writes fd 4. Copied
         * above 10 first (without close-on-exec): the pipes may be 3 and 4. */
        int in = fcntl(to[0], F_DUPFD, 10), out = fcntl(from[1], F_DUPFD, 10);
        if (in < 0 || out < 0 || dup2(in, 3) < 0 || dup2(out, 4) < 0) _exit(126);
        if (null >= 0) dup2(null, 2);
        if (null >= 0) dup2(null, 1);
        snprintf(dir_flag, sizeof dir_flag, "--user-data-dir=%s", profile);
        /* Every host but 127.0.0.1 fails to resolve: the page can reach
         * nothing else even if it tried (the network log says whether it did). */
        execl(chromium, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
              "--disable-extensions", "--disable-background-networking", "--disable-sync",
              "--disable-component-update", "--hide-scrollbars", "--remote-debugging-pipe",
              "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", dir_flag,
              "about:blank", (char *)NULL);
        _exit(127);
    }
    setpgid(B.pid, B.pid);
    close(to[0]);
    close(from[1]);
    B.to = to[1];
    B.from = from[0];
    B.session[0] = '\0';
    {
        json_t *t = cdp_call("Target.createTarget", json_pack("{s:s}", "url", "about:blank"), 0), *a;
        const char *tid = json_string_value(json_object_get(t, "targetId"));
        a = tid ? cdp_call("Target.attachToTarget", json_pack("{s:s,s:b}", "targetId", tid, "flatten", 1), 0)
                : NULL;
        json_decref(t);
        if (!a || !json_string_value(json_object_get(a, "sessionId"))) {
            json_decref(a);
            return -1;
        }
        snprintf(B.session, sizeof B.session, "%s", json_string_value(json_object_get(a, "sessionId")));
        json_decref(a);
    }
    if (cdp_ok("Page.enable", NULL) || cdp_ok("Network.enable", NULL) ||
        cdp_ok("Runtime.enable", NULL) || cdp_ok("Log.enable", NULL) ||
        cdp_ok("Fetch.enable", json_pack("{s:[{s:s}]}", "patterns", "urlPattern", "*/history*")))
        return -1;
    return 0;
}

static void browser_stop(void)
{
    if (B.pid > 0) {
        json_decref(cdp_call("Browser.close", NULL, 0));
        close(B.to);
        close(B.from);
        for (int i = 0; i < 100 && waitpid(B.pid, NULL, WNOHANG) != B.pid; i++) td_sleep_ms(50);
        kill(-B.pid, SIGKILL);
        waitpid(B.pid, NULL, WNOHANG);
        B.pid = 0;
    }
    free(B.buf);
    B.buf = NULL;
    B.used = B.cap = 0;
}

/* expr evaluated in the page (promises awaited), as JSON text (caller
 * frees), or NULL. */
static char *eval(const char *expr)
{
    char wrapped[4096];
    json_t *r;
    char *out = NULL;
    snprintf(wrapped, sizeof wrapped, "Promise.resolve((function(){return %s;})()).then(function(v){return JSON.stringify(v === undefined ? null : v);})", expr);
    r = cdp_call("Runtime.evaluate", json_pack("{s:s,s:b,s:b}", "expression", wrapped, "awaitPromise", 1,
                                               "returnByValue", 1), 1);
    if (r && json_string_value(json_object_get(json_object_get(r, "result"), "value")))
        out = strdup(json_string_value(json_object_get(json_object_get(r, "result"), "value")));
    json_decref(r);
    return out;
}

static json_t *eval_json(const char *expr)
{
    char *text = eval(expr);
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    free(text);
    return v;
}

static int eval_int(const char *expr)
{
    json_t *v = eval_json(expr);
    int n = json_is_number(v) ? (int)json_number_value(v) : json_is_true(v) ? 1 : json_is_false(v) ? 0 : -1;
    json_decref(v);
    return n;
}

/* The page's data-state once it is ready, login or error (caller frees). */
static char *wait_state(void)
{
    for (int i = 0; i < WAIT_MS / 100; i++) {
        char *s = eval("document.body ? document.body.getAttribute('data-state') : ''");
        if (s && (!strcmp(s, "\"ready\"") || !strcmp(s, "\"login\"") || !strcmp(s, "\"error\"")))
            return s;
        free(s);
        td_sleep_ms(100);
    }
    return strdup("\"timeout\"");
}

/* Loads path of the daemon and waits for the page to settle; 0 when it
 * reached state want ("ready", "login"). */
static int open_page(const char *path, const char *want)
{
    char url[300], quoted[40];
    char *s;
    int ok;
    /* Through about:blank: a full load even when only the #fragment differs. */
    json_decref(cdp_call("Page.navigate", json_pack("{s:s}", "url", "about:blank"), 1));
    snprintf(url, sizeof url, "%s%s", B.origin, path);
    json_decref(cdp_call("Page.navigate", json_pack("{s:s}", "url", url), 1));
    s = wait_state();
    snprintf(quoted, sizeof quoted, "\"%s\"", want);
    ok = !strcmp(s, quoted);
    if (!ok) test_fail(__FILE__, __LINE__, "%s: the page's state is %s, want %s", path, s, quoted);
    else test_passed++;
    free(s);
    return ok ? 0 : -1;
}

static void expect_text(const char *selector, const char *want)
{
    char expr[600];
    json_t *v;
    snprintf(expr, sizeof expr, "(document.querySelector(%s) || {}).textContent || ''", selector);
    v = eval_json(expr);
    snprintf(test_context, sizeof test_context, "%s has \"%s\" (it is \"%.300s\")", selector, want,
             json_string_value(v) ? json_string_value(v) : "(missing)");
    CHECK(json_string_value(v) && strstr(json_string_value(v), want));
    test_context[0] = '\0';
    json_decref(v);
}

/* The canvas of chart id draws at least min figures, as the page says in
 * data-points and window.abstatCharts (datasets with a non-null value). */
static void expect_chart(const char *id, int min_points, int datasets)
{
    char expr[600];
    int points, sets;
    snprintf(expr, sizeof expr, "+((document.getElementById('%s') || {getAttribute: function () { return -1; }})"
             ".getAttribute('data-points'))", id);
    points = eval_int(expr);
    snprintf(expr, sizeof expr, "(window.abstatCharts['%s'] || {datasets: []}).datasets.filter(function (d) "
             "{ return d.data.some(function (x) { return x !== null; }); }).length", id);
    sets = eval_int(expr);
    snprintf(test_context, sizeof test_context, "chart %s: %d points in %d datasets", id, points, sets);
    CHECK(points >= min_points);
    CHECK_INT(sets, datasets);
    test_context[0] = '\0';
}

static void screenshot(const char *dir, const char *name, int width, int height, int mobile)
{
    char path[600];
    json_t *m, *shot;
    double full;
    unsigned char *png;
    const char *data;
    FILE *fp;
    if (cdp_ok("Emulation.setDeviceMetricsOverride",
               json_pack("{s:i,s:i,s:f,s:b}", "width", width, "height", height, "deviceScaleFactor", 1.0,
                         "mobile", mobile))) {
        test_fail(__FILE__, __LINE__, "screenshot %s: cannot set the screen size", name);
        return;
    }
    /* Charts redraw on resize in the next frames. */
    free(eval("new Promise(function (r) { setTimeout(r, 400); })"));
    m = cdp_call("Page.getLayoutMetrics", NULL, 1);
    full = json_number_value(json_object_get(json_object_get(m, "cssContentSize"), "height"));
    json_decref(m);
    if (full < height) full = height;
    shot = cdp_call("Page.captureScreenshot",
                    json_pack("{s:s,s:b,s:{s:i,s:i,s:i,s:f,s:i}}", "format", "png", "captureBeyondViewport", 1,
                              "clip", "x", 0, "y", 0, "width", width, "height", full, "scale", 1), 1);
    data = json_string_value(json_object_get(shot, "data"));
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    png = data ? malloc(strlen(data)) : NULL;
    if (png && (fp = fopen(path, "wb"))) {
        size_t n = unb64(data, png);
        CHECK(fwrite(png, 1, n, fp) == n && n > 1000);
        CHECK(fclose(fp) == 0);
        printf("test_dashboard: screenshot %s (%dx%.0f)\n", path, width, full);
    } else {
        test_fail(__FILE__, __LINE__, "screenshot %s: none written to %s", name, path);
    }
    free(png);
    json_decref(shot);
    json_decref(cdp_call("Emulation.clearDeviceMetricsOverride", NULL, 1));
}

/* ---- the daemon's side ---------------------------------------------------- */

static td_response call(const td_daemon *d, const char *method, const char *path, const char *body)
{
    return td_request(d, method, path, body, body ? strlen(body) : 0,
                      "Authorization: Bearer " ADMIN "\r\n");
}

static void put(const td_daemon *d, const char *id, const char *body)
{
    char path[100];
    td_response r;
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    r = call(d, "PUT", path, body);
    snprintf(test_context, sizeof test_context, "PUT %s: %.200s", id, r.body ? r.body : "");
    CHECK_INT(r.status, 201);
    test_context[0] = '\0';
    td_free(&r);
}

static uint64_t rng = 88172645463325252ULL;
static double uniform(void)
{
    return test_uniform(&rng);
}

typedef struct {
    char *text;
    size_t len, cap;
} buf;

static void line(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->cap - b->len < 512) {
        char *g = realloc(b->text, b->cap * 2 + 4096);
        if (!g) return;
        b->text = g;
        b->cap = b->cap * 2 + 4096;
    }
    va_start(ap, fmt);
    n = vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < b->cap - b->len) b->len += (size_t)n;
}

/* x as the dashboard writes a difference in points: "+4.1", "−3.0". */
static void points(char *out, size_t n, double x)
{
    snprintf(out, n, "%s%.1f", x > 0 ? "+" : x < 0 ? "\u2212" : "", fabs(x * 100));
}

/* Under the funnel, buy-now's sentence for consideration -> decision says
 * what the results' journey block holds: its reach and its bounds. */
static void expect_journey_words(const td_daemon *d)
{
    static const char sel[] =
        "'#journey-words li[data-step=\"consideration-decision\"][data-variant=\"buy-now\"]'";
    td_response r = call(d, "GET", "/v1/experiments/checkout-cta/results", NULL);
    const json_t *st = json_array_get(json_object_get(json_object_get(r.json, "journey"), "steps"), 1);
    const json_t *c = json_array_get(json_object_get(st, "vs_control"), 0);
    const json_t *b = json_object_get(c, "bounds");
    char want[200], lo[16], hi[16];
    CHECK(json_is_array(b));
    expect_text(sel, "buy-now brings ");
    points(lo, sizeof lo, json_number_value(json_object_get(c, "reach_diff")));
    snprintf(want, sizeof want, "people to consideration (reach %s points); ", lo);
    expect_text(sel, want);
    points(lo, sizeof lo, json_number_value(json_array_get(b, 0)));
    points(hi, sizeof hi, json_number_value(json_array_get(b, 1)));
    snprintf(want, sizeof want, "between %s and %s points (with 95\u00a0%% confidence ", lo, hi);
    expect_text(sel, want);
    td_free(&r);
}

/* The revenue panel shows buy-now's average order value as results give it. */
static void expect_aov_words(const td_daemon *d)
{
    static const char sel[] = "'#guardrails tr[data-variant=\"buy-now\"] .aov'";
    td_response r = call(d, "GET", "/v1/experiments/checkout-cta/results", NULL);
    const json_t *b = json_array_get(json_object_get(r.json, "variants"), 1);
    double aov = json_number_value(json_object_get(json_object_get(b, "aov"), "value"));
    char want[80];
    CHECK(aov > 0);
    snprintf(want, sizeof want, "per buyer %.2f, vs control ", aov);
    expect_text(sel, want);
    td_free(&r);
}

/* With revenue_cap, the revenue panel says in words what was capped and
 * gives the capped mean and difference as results give them. */
static void expect_capped_words(const td_daemon *d)
{
    static const char sel[] = "'#guardrails tr[data-variant=\"buy-now\"] .capped'";
    td_response r = call(d, "GET", "/v1/experiments/checkout-cta/results", NULL);
    const json_t *b = json_array_get(json_object_get(r.json, "variants"), 1);
    const json_t *c = json_object_get(json_object_get(b, "revenue"), "capped");
    const json_t *vs = json_object_get(json_object_get(json_object_get(b, "vs_control"), "revenue"),
                                       "capped");
    double hi = json_number_value(json_array_get(json_object_get(c, "caps"), 1));
    double mean = json_number_value(json_object_get(c, "mean"));
    double diff = json_number_value(json_object_get(vs, "diff"));
    char want[200];
    CHECK(c != NULL && vs != NULL && hi > 0);
    snprintf(want, sizeof want, "With the top 1\u00a0%% of revenue per user capped at %.2f: %.2f per user, "
             "vs control %s%.2f", hi, mean, diff > 0 ? "+" : diff < 0 ? "\u2212" : "", fabs(diff));
    expect_text(sel, want);
    expect_text("'#guardrails'", "decide nothing");
    td_free(&r);
}

/* A fortnight of checkout-cta (buy-now wins, green loses, revenue and NPS
 * guardrails; phases written in Dutch) and five days of the factorial hero
 * whose control cell gets too many users (a sample-ratio alert) and some
 * users two cells (conflicts). */
static void load(const td_daemon *d, int users)
{
    static const char *const v[] = {"control", "buy-now", "green"};
    static const double rate[] = {0.05, 0.085, 0.02};
    static const char *const cells[] = {"a/x", "a/y", "b/x", "b/y"};
    long long now = now_ms(), start = now - 14 * DAY_MS;
    buf b = {0};
    td_response r;
    put(d, "checkout-cta", "{\"description\": \"Buy-now button at checkout\", \"phase\": \"aankoop\","
        "\"variants\": [\"control\", \"buy-now\", \"green\"], \"guardrails\": [{\"metric\": \"revenue\","
        "\"margin\": 0.02}, {\"metric\": \"nps\", \"margin\": 0}], \"revenue_cap\": {\"percentile\": 0.99}}");
    put(d, "hero", "{\"description\": \"Hero headline and call to action\", \"phase\": \"overweging\","
        "\"factors\": [{\"name\": \"headline\", \"levels\": [\"a\", \"b\"]}, {\"name\": \"cta\","
        "\"levels\": [\"x\", \"y\"]}]}");
    for (int i = 0; i < users; i++) {
        int k = i % 3;
        long long ts = start + (long long)(uniform() * (double)(now - start - 600000));
        line(&b, "{\"experiment\":\"checkout-cta\",\"variant\":\"%s\",\"user\":\"u-%d\",\"type\":\"exposure\",\"ts\":%lld}\n", v[k], i, ts);
        if (uniform() < 0.3)
            line(&b, "{\"experiment\":\"checkout-cta\",\"user\":\"u-%d\",\"type\":\"conversion\",\"phase\":\"overweging\",\"ts\":%lld}\n", i, ts + 1000);
        if (uniform() < rate[k]) {
            line(&b, "{\"experiment\":\"checkout-cta\",\"user\":\"u-%d\",\"type\":\"conversion\",\"phase\":\"aankoop\",\"value\":%.2f,\"ts\":%lld}\n", i, 20 + 70 * uniform(), ts + 2000);
            if (uniform() < 0.4)
                line(&b, "{\"experiment\":\"checkout-cta\",\"user\":\"u-%d\",\"type\":\"conversion\",\"phase\":\"retentie\",\"ts\":%lld}\n", i, ts + 3000);
        }
        if (uniform() < 0.15)
            line(&b, "{\"experiment\":\"checkout-cta\",\"user\":\"u-%d\",\"type\":\"nps\",\"score\":%d,\"ts\":%lld}\n", i, (int)(uniform() * 5) + 6, ts + 4000);
    }
    for (int i = 0; i < users / 4; i++) {
        int k = uniform() < 0.35 ? 0 : (int)(uniform() * 4);
        long long ts = now - 5 * DAY_MS + (long long)(uniform() * (double)(5 * DAY_MS - 600000));
        line(&b, "{\"experiment\":\"hero\",\"variant\":\"%s\",\"user\":\"h-%d\",\"type\":\"exposure\",\"ts\":%lld}\n", cells[k], i, ts);
        if (uniform() < 0.04)
            line(&b, "{\"experiment\":\"hero\",\"variant\":\"%s\",\"user\":\"h-%d\",\"type\":\"exposure\",\"ts\":%lld}\n", cells[(k + 1) % 4], i, ts + 10);
        if (uniform() < (k >= 2 ? 0.1 : 0.07))
            line(&b, "{\"experiment\":\"hero\",\"user\":\"h-%d\",\"type\":\"conversion\",\"ts\":%lld}\n", i, ts + 500);
    }
    r = call(d, "POST", "/v1/events", b.text);
    snprintf(test_context, sizeof test_context, "backfill: %.300s", r.body ? r.body : "");
    CHECK_INT(r.status, 202);
    test_context[0] = '\0';
    td_free(&r);
    free(b.text);
    /* Evaluations run once a second: wait for the verdict. */
    for (int i = 0; i < 100; i++) {
        r = call(d, "GET", "/v1/experiments/checkout-cta/decision", NULL);
        int done = r.body && strstr(r.body, "\"decision\":\"ship\"");
        td_free(&r);
        if (done) break;
        td_sleep_ms(100);
    }
}

/* A history of the shape GET /history is specified to answer (the
 * contract the dashboard is written against): 14 days, 3 variants. */
static json_t *contract_history(void)
{
    json_t *points = json_array();
    long long day0 = (now_ms() / DAY_MS - 14) * DAY_MS;
    static const char *const v[] = {"control", "buy-now", "green"};
    static const double rate[] = {0.05, 0.085, 0.02};
    for (int dd = 0; dd < 14; dd++) {
        char t[40], e[40];
        time_t s = (time_t)((day0 + dd * DAY_MS) / 1000), s2 = s + 86400;
        struct tm tm;
        json_t *vs = json_array(), *cs = json_array();
        strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S.000Z", gmtime_r(&s, &tm));
        strftime(e, sizeof e, "%Y-%m-%dT%H:%M:%S.000Z", gmtime_r(&s2, &tm));
        for (int k = 0; k < 3; k++) {
            int users = (214 + 4 * k) * (dd + 1);
            double r = rate[k] * (1 + (dd < 3 ? 0.3 : 0) * (k == 1));
            json_array_append_new(vs, json_pack("{s:s,s:i,s:i,s:f,s:f,s:n}", "name", v[k], "users", users,
                                                "conversions", (int)(users * r), "rate", r,
                                                "revenue_per_user", 55 * r, "nps"));
            if (k) {
                double eff = r - rate[0], w = 0.06 / (1 + dd);
                json_array_append_new(cs, json_pack("{s:s,s:f,s:f,s:[f,f],s:[f,f],s:f}", "variant", v[k],
                                                    "effect", eff, "lift", eff / rate[0], "ci", eff - w / 2,
                                                    eff + w / 2, "sequential_ci", eff - w, eff + w,
                                                    "sequential_p", dd > 6 ? 0.001 : 0.3));
            }
        }
        json_array_append_new(points, json_pack("{s:s,s:s,s:o,s:o}", "t", t, "end", e, "variants", vs,
                                                "comparisons", cs));
    }
    return json_pack("{s:s,s:s,s:s,s:o}", "experiment", "checkout-cta", "interval", "day", "started_at",
                     "2026-11-18T10:00:00.000Z", "points", points);
}

/* ---- the cases ------------------------------------------------------------ */

/* The files as served: types, caching, the page's policy, Chart.js embedded. */
static void test_files(const td_daemon *d)
{
    static const struct {
        const char *path, *type, *cache, *starts;
    } f[] = {
        {"/", "text/html", "no-cache", "<!doctype html>"},
        {"/ui/dashboard.js", "text/javascript", "no-cache", "/* dashboard.js"},
        {"/ui/dashboard.experiment.js", "text/javascript", "no-cache", "/* dashboard.experiment.js"},
        {"/ui/dashboard.css", "text/css", "no-cache", "/* dashboard.css"},
        {"/ui/chart.min.js", "text/javascript", "max-age=86400", "/*!\n * Chart.js v3.9"},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        td_response r = td_req(d, "GET", f[i].path, NULL);
        snprintf(test_context, sizeof test_context, "GET %s: %d", f[i].path, r.status);
        CHECK_INT(r.status, 200);
        CHECK(strstr(r.headers, f[i].type) != NULL);
        CHECK(strstr(r.headers, f[i].cache) != NULL);
        CHECK(strstr(r.headers, "ETag: ") != NULL);
        CHECK(r.body && !strncmp(r.body, f[i].starts, strlen(f[i].starts)));
        if (i == 0) CHECK(strstr(r.headers, "Content-Security-Policy: default-src 'none'; script-src 'self'"));
        td_free(&r);
    }
    test_context[0] = '\0';
}

static void test_list(const char *shots)
{
    if (open_page("/", "ready")) return;
    expect_text("'h1'", "Experiments");
    expect_text("'[data-experiment=\"checkout-cta\"] .verdict-line'", "Ship buy-now");
    expect_text("'[data-experiment=\"hero\"] .verdict-line'", "Do not trust these results");
    expect_text("'[data-experiment=\"hero\"] .badge.warn'", "2 warnings");
    expect_text("'[data-experiment=\"checkout-cta\"] .facts'", "Days running1");
    CHECK_INT(eval_int("document.querySelectorAll('#experiments progress').length"), 2);
    screenshot(shots, "list-desktop", 1280, 800, 0);
    screenshot(shots, "list-phone", 390, 844, 1);
}

static void test_experiment(const td_daemon *d, const char *shots)
{
    /* The daemon's history: a point a day of the fortnight, three variants. */
    td_response r = td_request(d, "GET", "/v1/experiments/checkout-cta/history?interval=day", NULL, 0,
                               "Authorization: Bearer " ADMIN "\r\n");
    snprintf(test_context, sizeof test_context, "GET /history: %d %.200s", r.status, r.body ? r.body : "");
    CHECK_INT(r.status, 200);
    CHECK(json_array_size(json_object_get(r.json, "points")) >= 14);
    CHECK_INT(json_array_size(json_object_get(json_array_get(json_object_get(r.json, "points"), 0),
                                              "variants")), 3);
    test_context[0] = '\0';
    td_free(&r);

    if (open_page("/#/e/checkout-cta", "ready")) return;
    expect_text("'#verdict h2'", "Ship buy-now");
    expect_text("'#reason'", "Ship buy-now: it raises decision conversion by at least +");
    expect_text("'#variants'", "At least +");
    expect_text("'#variants'", "confidence buy-now is better than control");
    for (int i = 0; i < 3; i++) {
        static const char *const v[] = {"control", "buy-now", "green"};
        char sel[100];
        snprintf(sel, sizeof sel, "'#variants tr[data-variant=\"%s\"]'", v[i]);
        expect_text(sel, v[i]);
        expect_text(sel, "%");
    }
    expect_text("'#variants tr[data-variant=\"buy-now\"]'", "better than control");
    expect_text("'#variants tr[data-variant=\"green\"]'", "worse than control");
    expect_text("'#funnel'", "Decision (aankoop)");
    expect_chart("chart-funnel", 9, 3);
    expect_journey_words(d);
    expect_aov_words(d);
    expect_capped_words(d);
    expect_text("'#guardrails tr[data-variant=\"buy-now\"]'", "ok: not harmed");
    expect_text("'#guardrails'", "answers");
    expect_text("'#progress-words'", "users per variant planned");
    expect_text("'#progress-words'", "The verdict is already in");
    expect_text("'#warnings'", "No data-quality problems found");
    expect_text("'#srm'", "Split as configured");
    /* The history charts from the daemon's points: 14 or more days. */
    expect_chart("chart-effect", 14 * 2 * 3, 2);
    expect_chart("chart-users", 14 * 3, 3);
    CHECK_INT(eval_int("document.querySelectorAll('#effect .nohistory, #users .nohistory').length"), 0);
    screenshot(shots, "experiment-desktop", 1280, 900, 0);
    screenshot(shots, "experiment-phone", 390, 844, 1);

    /* The broken experiment: its warnings, the invalid verdict, the factors. */
    if (open_page("/#/e/hero", "ready")) return;
    expect_text("'#verdict h2'", "Do not trust these results");
    expect_text("'#warnings .warnings'", "sample-ratio mismatch");
    expect_text("'#warnings .warnings'", "more than one variant");
    expect_text("'#srm'", "Sample-ratio mismatch");
    expect_text("'#factorial'", "headline");
    expect_text("'#factorial'", "cta");
    expect_text("'#funnel'", "Consideration (overweging)");
    expect_chart("chart-funnel", 4, 4);
    screenshot(shots, "experiment-warnings-desktop", 1280, 900, 0);
}

/* The charts against a history of the documented shape, handed to the
 * page by DevTools in place of the daemon's answer. */
static void test_history_contract(const char *shots)
{
    B.fake_history = contract_history();
    B.fulfilled = 0;
    if (open_page("/#/e/checkout-cta", "ready") == 0) {
        CHECK(B.fulfilled >= 1);
        expect_chart("chart-effect", 14 * 2 * 3, 2);
        expect_chart("chart-users", 14 * 3, 3);
        /* The lift at the last day: buy-now +70 %. */
        CHECK_INT(eval_int("Math.round(window.abstatCharts['chart-effect'].datasets.filter(function (d) "
                           "{ return d.label === 'buy-now'; })[0].data[13])"), 70);
        screenshot(shots, "experiment-history-preview", 1280, 900, 0);
    }
    json_decref(B.fake_history);
    B.fake_history = NULL;
}

static void submit_token(const char *token)
{
    char expr[300];
    free(eval("(function () { var t = document.getElementById('token'); t.value = ''; t.focus(); })()"));
    json_decref(cdp_call("Input.insertText", json_pack("{s:s}", "text", token), 1));
    snprintf(expr, sizeof expr, "document.body.setAttribute('data-state', 'navigating'), "
             "document.querySelector('#login button[type=submit]').click()");
    free(eval(expr));
}

static void test_tokens(const char *shots)
{
    char *s;
    if (open_page("/", "login")) return;
    expect_text("'#login label[for=token]'", "Read token");
    CHECK_INT(eval_int("document.querySelectorAll('#experiments, .card').length"), 0);
    CHECK_INT(eval_int("document.body.textContent.indexOf('checkout-cta')"), -1);
    CHECK_INT(eval_int("document.getElementById('signout').hidden"), 1);
    screenshot(shots, "login-phone", 390, 700, 1);

    submit_token("wrong-token-0123456789");
    free(s = wait_state());
    expect_text("'#login-error'", "That token was refused");
    submit_token(INGEST);
    free(s = wait_state());
    expect_text("'#login-error'", "may not read");

    submit_token(READ);
    s = wait_state();
    CHECK(!strcmp(s, "\"ready\""));
    free(s);
    expect_text("'[data-experiment=\"checkout-cta\"] .verdict-line'", "Ship buy-now");
    CHECK_INT(eval_int("sessionStorage.getItem('abstat.token') === '" READ "'"), 1);
    CHECK_INT(eval_int("localStorage.getItem('abstat.token') === null"), 1);
    CHECK_INT(eval_int("document.getElementById('signout').hidden"), 0);
    /* A reload keeps the session; the experiment page opens with it. */
    if (open_page("/#/e/checkout-cta", "ready") == 0) expect_text("'#verdict h2'", "Ship buy-now");
    /* Sign-out forgets the token. */
    free(eval("document.body.setAttribute('data-state', 'navigating'), document.getElementById('signout').click()"));
    free(s = wait_state());
    expect_text("'#login label[for=token]'", "Read token");
    CHECK_INT(eval_int("sessionStorage.getItem('abstat.token') === null"), 1);
    /* A token the daemon no longer takes (401) returns to the form. */
    free(eval("sessionStorage.setItem('abstat.token', 'revoked-token-0123456789')"));
    if (open_page("/#/e/checkout-cta", "login") == 0) expect_text("'#login-error'", "refused");
}

static int start(td_daemon *d, const char *name, const char *extra)
{
    td_init(d, name);
    snprintf(d->extra, sizeof d->extra, "%s", extra);
    if (td_start(d) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", d->log);
        return -1;
    }
    return 0;
}

int main(void)
{
    const char *chromium = tb_find_chromium(), *env = getenv("ABSTAT_SCREENSHOTS");
    char tokens[300], profile[300], shots[300], cmd[700];
    td_daemon d, t;
    FILE *fp;

    if (!chromium) {
        if (geteuid() == 0)
            test_fail(__FILE__, __LINE__, "chromium is not installed: `make test` installs it "
                      "(scripts/test-deps.sh), or apt-get install chromium");
        else
            printf("test_dashboard: SKIPPED: chromium is not installed and installing it needs "
                   "root (apt-get install chromium, or set ABSTAT_CHROMIUM)\n");
        return TEST_DONE("test_dashboard");
    }
    printf("test_dashboard: %s\n", chromium);
    signal(SIGPIPE, SIG_IGN); /* a browser that died is a failed write, not our end */

    if (env && *env) snprintf(shots, sizeof shots, "%s", env);
    else snprintf(shots, sizeof shots, "/tmp/abstat-test-dashboard-screenshots-%d", (int)getpid());
    if (mkdir(shots, 0755) != 0 && errno != EEXIST)
        test_fail(__FILE__, __LINE__, "mkdir %s: %s", shots, strerror(errno));

    /* An open daemon: the pages, the charts, the screenshots. */
    if (start(&d, "dashboard", "") == 0) {
        test_files(&d);
        load(&d, 9000);
        snprintf(profile, sizeof profile, "%s-profile", d.dir);
        snprintf(B.origin, sizeof B.origin, "http://127.0.0.1:%d", d.port);
        if (browser_start(chromium, profile) != 0) {
            test_fail(__FILE__, __LINE__, "chromium did not start over DevTools");
        } else {
            test_list(shots);
            test_experiment(&d, shots);
            test_history_contract(shots);
            snprintf(test_context, sizeof test_context, "%d requests, %d outside the daemon",
                     B.requests, B.outside);
            CHECK(B.requests >= 4);
            CHECK_INT(B.outside, 0);
            CHECK_INT(B.errors, 0);
            test_context[0] = '\0';
        }
        browser_stop();
        CHECK_INT(td_stop(&d), 0);
        td_cleanup(&d);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", profile);
        if (system(cmd) != 0) {}
    }

    /* Under --tokens: nothing but the form until a read token is given. */
    td_init(&t, "dashboard-tokens");
    snprintf(tokens, sizeof tokens, "%s.tokens", t.dir);
    if (!(fp = fopen(tokens, "w"))) {
        test_fail(__FILE__, __LINE__, "cannot write %s", tokens);
        return TEST_DONE("test_dashboard");
    }
    fprintf(fp, "admin %s\nread %s\ningest %s\n", ADMIN, READ, INGEST);
    if (fclose(fp) != 0) test_fail(__FILE__, __LINE__, "cannot write %s", tokens);
    snprintf(cmd, sizeof cmd, "--tokens %s", tokens);
    if (start(&t, "dashboard-tokens", cmd) == 0) {
        load(&t, 9000);
        snprintf(profile, sizeof profile, "%s-profile", t.dir);
        snprintf(B.origin, sizeof B.origin, "http://127.0.0.1:%d", t.port);
        B.requests = B.outside = B.errors = 0;
        if (browser_start(chromium, profile) != 0) {
            test_fail(__FILE__, __LINE__, "chromium did not start over DevTools");
        } else {
            test_tokens(shots);
            snprintf(test_context, sizeof test_context, "%d requests, %d outside the daemon",
                     B.requests, B.outside);
            CHECK_INT(B.outside, 0);
            CHECK_INT(B.errors, 0);
            test_context[0] = '\0';
        }
        browser_stop();
        CHECK_INT(td_stop(&t), 0);
        td_cleanup(&t);
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", profile, tokens);
        if (system(cmd) != 0) {}
    }
    if (!(env && *env)) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", shots);
        if (system(cmd) != 0) {}
    }
    return TEST_DONE("test_dashboard");
}
