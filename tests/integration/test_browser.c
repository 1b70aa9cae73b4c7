/* test_browser.c — abstat in a real browser: headless Chromium loads pages
 * that this test serves from its own HTTP server (other origins than the
 * daemon's) and that talk to a real abstatd. Checked: sendBeacon with
 * text/plain, sendBeacon with a JSON Blob (a credentialed preflight), fetch
 * with credentials: 'include', /assign with expose=1, a beacon fired while a
 * document unloads, an unlisted origin refused with nothing stored, and
 * abstat.js's assignment equal to the C function's for 100,000 users.
 * Results come back through the DOM (--dump-dom) and the daemon's counts.
 * Without Chromium the test skips with a message, except as root (CI),
 * where `make test` installs it (scripts/test-deps.sh) and its absence fails. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/assign.h"
#include "browser.h"
#include "daemon.h"
#include "test.h"

#define ADMIN "admin-0123456789abcdef"
#define READ "read-0123456789abcdef"
#define INGEST "ingest-0123456789abcdef"
#define USERS 100000
/* Chromium's wall-clock limit per page; it takes 1-3 s when all is well. */
#define BROWSER_TIMEOUT_S 120

static td_daemon D;

/* ---- the pages' server ---------------------------------------------------- */

#define MAX_PAGES 8

typedef struct {
    char path[32];
    char *body; /* owned */
} page;

/* Two listening sockets: two origins (http://127.0.0.1:PORT differs by
 * port), one of them on --cors-origin. */
static struct {
    int fd[2], port[2];
    int stop[2];          /* a pipe: a byte in it ends the thread */
    pthread_t thread;
    pthread_mutex_t lock; /* pages are set while the thread may serve */
    page pages[MAX_PAGES];
    size_t n;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int listen_any(int *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64) ||
        getsockname(fd, (struct sockaddr *)&sa, &len)) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Adds or replaces the page at path (body copied). */
static int set_page(const char *path, const char *body)
{
    char *copy = strdup(body);
    size_t i;
    if (!copy) return -1;
    pthread_mutex_lock(&S.lock);
    for (i = 0; i < S.n && strcmp(S.pages[i].path, path); i++) {}
    if (i == MAX_PAGES) {
        pthread_mutex_unlock(&S.lock);
        free(copy);
        return -1;
    }
    if (i == S.n) {
        snprintf(S.pages[i].path, sizeof S.pages[i].path, "%s", path);
        S.n++;
    }
    free(S.pages[i].body);
    S.pages[i].body = copy;
    pthread_mutex_unlock(&S.lock);
    return 0;
}

/* The answer to one request head: the page, or 404. */
static void answer(int fd, const char *req)
{
    char path[64], head[256], *body = NULL;
    size_t len;
    int status = 404;
    if (sscanf(req, "GET %63[^ ?]", path) == 1) {
        pthread_mutex_lock(&S.lock);
        for (size_t i = 0; i < S.n; i++)
            if (!strcmp(S.pages[i].path, path)) {
                body = strdup(S.pages[i].body);
                break;
            }
        pthread_mutex_unlock(&S.lock);
        if (body) status = 200;
    }
    len = body ? strlen(body) : 0;
    snprintf(head, sizeof head,
             "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
             "Cache-Control: no-store\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
             status, status == 200 ? "OK" : "Not Found", len);
    if (td_send_all(fd, head, strlen(head)) == 0 && body) td_send_all(fd, body, len);
    free(body);
}

/* Connections at once: Chromium opens spare ones (preconnects) that may
 * never carry a request, so each is read on its own, and one that closes
 * or idles without a request is closed unanswered (an answer to nothing
 * would be taken as the answer to the next request sent on it). */
#define MAX_CONNS 64
#define HEAD_MAX 8192

typedef struct {
    int fd;
    size_t used;
    char head[HEAD_MAX];
} conn;

static void *serve(void *arg)
{
    static conn c[MAX_CONNS];
    size_t nc = 0;
    (void)arg;
    for (;;) {
        struct pollfd p[3 + MAX_CONNS] = {{S.fd[0], POLLIN, 0}, {S.fd[1], POLLIN, 0},
                                          {S.stop[0], POLLIN, 0}};
        for (size_t i = 0; i < nc; i++) p[3 + i] = (struct pollfd){c[i].fd, POLLIN, 0};
        if (poll(p, 3 + nc, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[2].revents) break;
        /* Reading first: accepting may move entries of c. */
        for (size_t i = nc; i-- > 0;) {
            ssize_t n;
            if (!p[3 + i].revents) continue;
            n = recv(c[i].fd, c[i].head + c[i].used, HEAD_MAX - 1 - c[i].used, 0);
            if (n > 0) {
                c[i].used += (size_t)n;
                c[i].head[c[i].used] = '\0';
                if (!strstr(c[i].head, "\r\n\r\n") && c[i].used < HEAD_MAX - 1) continue;
                answer(c[i].fd, c[i].head);
            }
            close(c[i].fd);
            c[i] = c[--nc];
        }
        for (int i = 0; i < 2; i++) {
            int fd;
            if (!(p[i].revents & POLLIN)) continue;
            if ((fd = accept4(S.fd[i], NULL, NULL, SOCK_CLOEXEC)) < 0) continue;
            if (nc == MAX_CONNS) {
                close(fd);
                continue;
            }
            c[nc].fd = fd;
            c[nc].used = 0;
            c[nc].head[0] = '\0';
            nc++;
        }
    }
    for (size_t i = 0; i < nc; i++) close(c[i].fd);
    return NULL;
}

static int server_start(void)
{
    if ((S.fd[0] = listen_any(&S.port[0])) < 0 || (S.fd[1] = listen_any(&S.port[1])) < 0 ||
        pipe(S.stop) != 0)
        return -1;
    return pthread_create(&S.thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

static void server_stop(void)
{
    if (write(S.stop[1], "x", 1) == 1) pthread_join(S.thread, NULL);
    for (int i = 0; i < 2; i++) close(S.fd[i]);
    close(S.stop[0]);
    close(S.stop[1]);
    for (size_t i = 0; i < S.n; i++) free(S.pages[i].body);
    S.n = 0;
}

/* ---- Chromium ------------------------------------------------------------- */


/* Loads url in headless Chromium and returns the DOM it dumps (caller
 * frees), or NULL after a counted failure. --virtual-time-budget lets the
 * page's work finish: virtual time waits while requests are in flight. */
static char *browse(const char *chromium, const char *url, const char *name)
{
    char profile[300], out[300], err[300], cmd[700];
    char *dom = NULL;
    int status = -1, done = 0;
    pid_t pid;
    snprintf(profile, sizeof profile, "%s-%s-profile", D.dir, name);
    snprintf(out, sizeof out, "%s-%s.dom", D.dir, name);
    snprintf(err, sizeof err, "%s-%s.chromium.log", D.dir, name);
    pid = fork();
    if (pid < 0) {
        test_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
        return NULL;
    }
    if (pid == 0) {
        char dir_flag[340];
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        /* Its own process group: the browser's helpers go with it. */
        setpgid(0, 0);
        if (fo >= 0) dup2(fo, 1);
        if (fe >= 0) dup2(fe, 2);
        snprintf(dir_flag, sizeof dir_flag, "--user-data-dir=%s", profile);
        execl(chromium, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
              "--disable-extensions", "--disable-background-networking", "--disable-sync",
              "--disable-component-update", dir_flag, "--virtual-time-budget=20000",
              "--dump-dom", url, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    for (int i = 0; i < BROWSER_TIMEOUT_S * 50 && !done; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) done = 1;
        else td_sleep_ms(20);
    }
    /* Whatever of its group is left (all of it after a timeout). */
    kill(-pid, SIGKILL);
    if (!done) waitpid(pid, &status, 0);
    if (!done || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        test_fail(__FILE__, __LINE__, "chromium on %s: %s (see %s)", url,
                  !done ? "timed out" : "failed", err);
        return NULL;
    }
    dom = td_read_file(out);
    if (!dom) test_fail(__FILE__, __LINE__, "chromium on %s: no DOM in %s", url, out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", profile, out);
    if (system(cmd) != 0) {}
    unlink(err);
    return dom;
}

/* The text of <pre id="id"> in a dumped DOM (caller frees; &lt; &gt; &amp;
 * decoded), or NULL. */
static char *pre(const char *dom, const char *id)
{
    char open_tag[80];
    const char *s, *e;
    char *out, *o;
    snprintf(open_tag, sizeof open_tag, "<pre id=\"%s\">", id);
    if (!dom || !(s = strstr(dom, open_tag))) return NULL;
    s += strlen(open_tag);
    if (!(e = strstr(s, "</pre>")) || !(out = malloc((size_t)(e - s) + 1))) return NULL;
    for (o = out; s < e;) {
        if (!strncmp(s, "&lt;", 4)) *o++ = '<', s += 4;
        else if (!strncmp(s, "&gt;", 4)) *o++ = '>', s += 4;
        else if (!strncmp(s, "&amp;", 5)) *o++ = '&', s += 5;
        else *o++ = *s++;
    }
    *o = '\0';
    return out;
}

/* Checks that <pre id="id"> holds want (a prefix, or anywhere when
 * anywhere is set). */
static void expect_pre(const char *dom, const char *id, const char *want, int anywhere)
{
    char *got = pre(dom, id);
    int ok = got && (anywhere ? strstr(got, want) != NULL : !strncmp(got, want, strlen(want)));
    if (ok) test_passed++;
    else test_fail(__FILE__, __LINE__, "page result %s is \"%.300s\", expected %s\"%s\"", id,
                   got ? got : "(missing)", anywhere ? "something with " : "", want);
    free(got);
}

/* ---- the daemon's side ---------------------------------------------------- */

static td_response admin(const char *method, const char *path, const char *body)
{
    return td_request(&D, method, path, body, body ? strlen(body) : 0,
                      "Authorization: Bearer " ADMIN "\r\n");
}

static void put(const char *id, const char *body)
{
    char path[100];
    td_response r;
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    r = admin("PUT", path, body);
    snprintf(test_context, sizeof test_context, "PUT %s", id);
    CHECK_INT(r.status, 201);
    test_context[0] = '\0';
    td_free(&r);
}

/* GET's "field" of experiment id (-1 when it cannot be read). */
static double count_of(const char *id, const char *field)
{
    char path[100];
    td_response r;
    double n;
    snprintf(path, sizeof path, "/v1/experiments/%s", id);
    r = admin("GET", path, NULL);
    n = r.status == 200 ? json_number_value(json_object_get(r.json, field)) : -1;
    td_free(&r);
    return n;
}

/* Waits up to 5 s for experiment id to reach users users (beacons are
 * sent after the page has moved on). */
static double wait_users(const char *id, double users)
{
    double n = -1;
    for (int i = 0; i < 100 && (n = count_of(id, "users")) < users; i++) td_sleep_ms(50);
    return n;
}

static double metric(const char *name)
{
    td_response r = admin("GET", "/metrics", NULL);
    double v = td_metric_in(r.body, name, 0);
    td_free(&r);
    return v;
}

/* ---- the cases ------------------------------------------------------------ */

/* Experiments whose assignment the page computes: as the daemon holds
 * them (GET's variants and weights, printed to 15 digits), while C uses
 * the weights the experiment was created with. */
static const struct {
    const char *id, *body;
    double w[8];
    size_t k;
} agree[] = {
    {"agree-50", "{\"variants\":[\"a\",\"b\"]}", {0.5, 0.5}, 2},
    {"agree-10-90", "{\"variants\":[\"a\",\"b\"],\"weights\":[0.1,0.9]}", {0.1, 0.9}, 2},
    {"agree-3", "{\"variants\":[\"a\",\"b\",\"c\"],\"weights\":[1,1,1]}", {1, 1, 1}, 3},
    {"agree-5", "{\"variants\":[\"a\",\"b\",\"c\",\"d\",\"e\"],"
                "\"weights\":[0.05,0.15,0.3,0.2,0.3]}", {0.05, 0.15, 0.3, 0.2, 0.3}, 5},
    {"agree-cells", "{\"factors\":[{\"name\":\"h\",\"levels\":[\"a\",\"b\"]},"
                    "{\"name\":\"c\",\"levels\":[\"x\",\"y\",\"z\"]}]}", {1, 1, 1, 1, 1, 1}, 6},
};
#define NAGREE (sizeof agree / sizeof agree[0])

/* Users beyond ASCII, hashed by the page and by C. */
static const char *odd_users[] = {"J\xc3\xbcrgen", "\xe7\x94\xa8\xe6\x88\xb7-1",
                                  "\xf0\x9f\x98\x80", "a:b", "x y", "\xe2\x82\xac\xf0\x9d\x84\x9e",
                                  "\xc3\xa9t\xc3\xa9"};
#define NODD (sizeof odd_users / sizeof odd_users[0])

/* The JSON array of {experiment, variants, weights} the page gets, from
 * the daemon's GET of each experiment (caller frees), or NULL. */
static char *configs_json(void)
{
    json_t *arr = json_array();
    char *text;
    for (size_t i = 0; arr && i < NAGREE; i++) {
        char path[100];
        td_response r;
        snprintf(path, sizeof path, "/v1/experiments/%s", agree[i].id);
        r = admin("GET", path, NULL);
        if (r.status != 200 ||
            json_array_append_new(arr, json_pack("{s:s,s:O,s:O}", "experiment", agree[i].id,
                                                 "variants", json_object_get(r.json, "variants"),
                                                 "weights", json_object_get(r.json, "weights")))) {
            td_free(&r);
            json_decref(arr);
            return NULL;
        }
        td_free(&r);
    }
    text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return text;
}

static const char *page_head =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>abstat</title></head><body>\n"
    "<pre id=\"status\">running</pre>\n";

/* The listed origin's page: every case that must store its event. */
static int main_page(const char *daemon_url)
{
    char *configs = configs_json(), *odd = NULL, *html = NULL;
    json_t *users = json_array();
    size_t cap;
    int rc = -1;
    for (size_t i = 0; users && i < NODD; i++) json_array_append_new(users, json_string(odd_users[i]));
    odd = users ? json_dumps(users, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(users);
    if (!configs || !odd) goto done;
    cap = strlen(configs) + strlen(odd) + 8192;
    if (!(html = malloc(cap))) goto done;
    snprintf(html, cap,
        "%s<script src=\"%s/v1/abstat.js\"></script>\n<script>\n"
        "var D = '%s', T = '%s', jobs = [];\n"
        "abstat.init({server: D, token: T});\n"
        "function put(id, text) { var p = document.createElement('pre'); p.id = id;\n"
        "  p.textContent = text; document.body.appendChild(p); }\n"
        "function ev(exp, user) { return {experiment: exp, variant: 'a', user: user, type: 'exposure'}; }\n"
        "/* sendBeacon with a string: text/plain, no preflight (abstat.track). */\n"
        "put('beacon-text', String(abstat.track(ev('br-text', 'u-text'))));\n"
        "/* sendBeacon with a JSON Blob: a preflight in credentials mode. */\n"
        "put('beacon-blob', String(navigator.sendBeacon(D + '/v1/events?token=' + T,\n"
        "  new Blob([JSON.stringify(ev('br-blob', 'u-blob'))], {type: 'application/json'}))));\n"
        "/* fetch with credentials: 'include' and an Authorization header. */\n"
        "jobs.push(fetch(D + '/v1/events', {method: 'POST', credentials: 'include',\n"
        "  headers: {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + T},\n"
        "  body: JSON.stringify(ev('br-fetch', 'u-fetch'))}).then(function (r) {\n"
        "    return r.text().then(function (t) { put('fetch', r.status + ' ' + t); }); },\n"
        "  function (e) { put('fetch', 'error ' + e); }));\n"
        "/* The daemon's assignment, recording the exposure. */\n"
        "jobs.push(abstat.fetchAssignment('br-assign', 'u-assign', {expose: true}).then(\n"
        "  function (a) { put('assign', JSON.stringify(a)); },\n"
        "  function (e) { put('assign', 'error ' + e); }));\n"
        "/* A beacon sent from pagehide while a frame's document unloads. */\n"
        "jobs.push(new Promise(function (done) {\n"
        "  var f = document.createElement('iframe'), n = 0;\n"
        "  f.onload = function () { if (++n === 1) f.src = '/blank.html';\n"
        "    else { put('unload', 'unloaded'); done(); } };\n"
        "  f.src = '/unload.html'; document.body.appendChild(f); }));\n"
        "/* Assignments of u-0 .. u-%d, one digit (the variant index) each. */\n"
        "%s.forEach(function (c) { var s = [];\n"
        "  for (var i = 0; i < %d; i++) s.push(c.variants.indexOf(abstat.assign(c, 'u-' + i)));\n"
        "  put('agree-' + c.experiment, s.join('')); });\n"
        "put('hashes', %s.map(function (u) { return abstat.hash('odd', u).toString(16); }).join(' '));\n"
        "Promise.all(jobs).then(function () { document.getElementById('status').textContent = 'done'; });\n"
        "</script></body></html>\n",
        page_head, daemon_url, daemon_url, INGEST, USERS - 1, configs, USERS, odd);
    rc = set_page("/main.html", html);
done:
    free(configs);
    free(odd);
    free(html);
    return rc;
}

static int small_pages(const char *daemon_url)
{
    char html[2048];
    snprintf(html, sizeof html,
        "<!doctype html><html><body><script src=\"%s/v1/abstat.js\"></script>\n"
        "<script>abstat.init({server: '%s', token: '%s'});\n"
        "addEventListener('pagehide', function () {\n"
        "  parent.put('pagehide', String(abstat.track({experiment: 'br-unload', variant: 'b',\n"
        "    user: 'u-unload', type: 'exposure'})));\n"
        "});</script></body></html>\n", daemon_url, daemon_url, INGEST);
    if (set_page("/unload.html", html)) return -1;
    if (set_page("/blank.html", "<!doctype html><html><body>blank</body></html>\n")) return -1;
    /* The unlisted origin: everything a page can try. The beacons are
     * handed to the browser (true); the daemon must refuse what arrives. */
    snprintf(html, sizeof html,
        "%s<script src=\"%s/v1/abstat.js\"></script>\n<script>\n"
        "var D = '%s', T = '%s', jobs = [];\n"
        "abstat.init({server: D, token: T});\n"
        "function put(id, text) { var p = document.createElement('pre'); p.id = id;\n"
        "  p.textContent = text; document.body.appendChild(p); }\n"
        "function ev(user) { return {experiment: 'br-evil', variant: 'a', user: user, type: 'exposure'}; }\n"
        "put('beacon-text', String(abstat.track(ev('evil-text'))));\n"
        "put('beacon-blob', String(navigator.sendBeacon(D + '/v1/events?token=' + T,\n"
        "  new Blob([JSON.stringify(ev('evil-blob'))], {type: 'application/json'}))));\n"
        "jobs.push(fetch(D + '/v1/events?token=' + T, {method: 'POST', mode: 'no-cors',\n"
        "  headers: {'Content-Type': 'text/plain'}, body: JSON.stringify(ev('evil-simple'))})\n"
        "  .then(function (r) { put('simple', 'sent ' + r.type); }, function (e) { put('simple', 'error ' + e); }));\n"
        "jobs.push(fetch(D + '/v1/events', {method: 'POST', credentials: 'include',\n"
        "  headers: {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + T},\n"
        "  body: JSON.stringify(ev('evil-fetch'))}).then(function (r) { put('fetch', 'status ' + r.status); },\n"
        "  function (e) { put('fetch', 'error ' + e); }));\n"
        "jobs.push(abstat.fetchAssignment('br-evil', 'evil-assign', {expose: true}).then(\n"
        "  function (a) { put('assign', JSON.stringify(a)); }, function (e) { put('assign', 'error ' + e); }));\n"
        "Promise.all(jobs).then(function () { document.getElementById('status').textContent = 'done'; });\n"
        "</script></body></html>\n", page_head, daemon_url, daemon_url, INGEST);
    return set_page("/evil.html", html);
}

static void test_listed_origin(const char *chromium)
{
    char url[100], *dom, *got;
    const char *exps[] = {"br-text", "br-blob", "br-fetch", "br-assign", "br-unload"};
    snprintf(url, sizeof url, "http://127.0.0.1:%d/main.html", S.port[0]);
    if (!(dom = browse(chromium, url, "main"))) return;
    expect_pre(dom, "status", "done", 0);
    expect_pre(dom, "beacon-text", "true", 0);
    expect_pre(dom, "beacon-blob", "true", 0);
    expect_pre(dom, "fetch", "202 {\"accepted\":1", 0);
    expect_pre(dom, "assign", "\"exposed\":true", 1);
    expect_pre(dom, "unload", "unloaded", 0);
    expect_pre(dom, "pagehide", "true", 0);
    /* Each case's event is stored: one user in each experiment. */
    for (size_t i = 0; i < sizeof exps / sizeof exps[0]; i++) {
        snprintf(test_context, sizeof test_context, "%s stored", exps[i]);
        CHECK_INT(wait_users(exps[i], 1), 1);
    }
    test_context[0] = '\0';
    /* The page's assignment is the C function's, user by user. */
    for (size_t e = 0; e < NAGREE; e++) {
        char id[64];
        size_t bad = 0, first = 0, len;
        snprintf(id, sizeof id, "agree-%s", agree[e].id);
        got = pre(dom, id);
        len = got ? strlen(got) : 0;
        for (int i = 0; got && i < USERS && (size_t)i < len; i++) {
            char u[32];
            int n = snprintf(u, sizeof u, "u-%d", i);
            size_t want = ab_assign_variant(agree[e].id, strlen(agree[e].id), u, (size_t)n,
                                            agree[e].w, agree[e].k);
            if ((size_t)(got[i] - '0') != want && !bad++) first = (size_t)i;
        }
        snprintf(test_context, sizeof test_context, "%s: %zu of %d differ, the first u-%zu",
                 agree[e].id, bad, USERS, first);
        CHECK_INT(len, USERS);
        CHECK_INT(bad, 0);
        test_context[0] = '\0';
        free(got);
    }
    /* Users beyond ASCII hash alike (the page encodes them as UTF-8). */
    got = pre(dom, "hashes");
    {
        char want[NODD * 9 + 1] = "";
        size_t o = 0;
        for (size_t i = 0; i < NODD; i++)
            o += (size_t)snprintf(want + o, sizeof want - o, "%s%x", i ? " " : "",
                                  ab_assign_hash("odd", 3, odd_users[i], strlen(odd_users[i])));
        snprintf(test_context, sizeof test_context, "hashes: page \"%s\", C \"%s\"",
                 got ? got : "(missing)", want);
        CHECK(got && !strcmp(got, want));
        test_context[0] = '\0';
    }
    free(got);
    free(dom);
}

static void test_unlisted_origin(const char *chromium)
{
    char url[100], *dom;
    double events403 = metric("abstat_requests_total{route=\"events\",code=\"403\"}");
    double assign403 = metric("abstat_requests_total{route=\"assign\",code=\"403\"}");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/evil.html", S.port[1]);
    if (!(dom = browse(chromium, url, "evil"))) return;
    expect_pre(dom, "status", "done", 0);
    expect_pre(dom, "beacon-text", "true", 0);
    expect_pre(dom, "simple", "sent opaque", 0);
    expect_pre(dom, "fetch", "error TypeError", 0);
    expect_pre(dom, "assign", "error", 0);
    free(dom);
    /* The requests that need no preflight reached the daemon and were
     * refused there (the text beacon, the no-cors POST, the assignment);
     * the preflighted ones were never sent. Nothing is stored. */
    for (int i = 0; i < 100 && metric("abstat_requests_total{route=\"events\",code=\"403\"}") <
                                   events403 + 2; i++)
        td_sleep_ms(50);
    CHECK(metric("abstat_requests_total{route=\"events\",code=\"403\"}") >= events403 + 2);
    CHECK(metric("abstat_requests_total{route=\"assign\",code=\"403\"}") >= assign403 + 1);
    CHECK_INT(count_of("br-evil", "events"), 0);
}

int main(void)
{
    char tokens[300], cmd[400], daemon_url[64];
    const char *chromium = tb_find_chromium();
    FILE *fp;

    if (!chromium) {
        if (geteuid() == 0) {
            test_fail(__FILE__, __LINE__, "chromium is not installed: `make test` installs it "
                      "(scripts/test-deps.sh), or apt-get install chromium");
        } else {
            printf("test_browser: SKIPPED: chromium is not installed and installing it needs "
                   "root (apt-get install chromium, or set ABSTAT_CHROMIUM)\n");
        }
        return TEST_DONE("test_browser");
    }
    if (server_start() != 0) {
        test_fail(__FILE__, __LINE__, "the pages' server did not start: %s", strerror(errno));
        return TEST_DONE("test_browser");
    }
    td_init(&D, "browser");
    snprintf(tokens, sizeof tokens, "%s.tokens", D.dir);
    if (!(fp = fopen(tokens, "w"))) {
        test_fail(__FILE__, __LINE__, "cannot write %s", tokens);
        server_stop();
        return TEST_DONE("test_browser");
    }
    fprintf(fp, "admin %s\nread %s\ningest %s\n", ADMIN, READ, INGEST);
    fclose(fp);
    /* Only the first port's origin is listed. */
    snprintf(D.extra, sizeof D.extra, "--tokens %s --cors-origin http://127.0.0.1:%d", tokens,
             S.port[0]);
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        server_stop();
        return TEST_DONE("test_browser");
    }
    snprintf(daemon_url, sizeof daemon_url, "http://127.0.0.1:%d", D.port);
    put("br-text", "{\"variants\":[\"a\",\"b\"]}");
    put("br-blob", "{\"variants\":[\"a\",\"b\"]}");
    put("br-fetch", "{\"variants\":[\"a\",\"b\"]}");
    put("br-assign", "{\"variants\":[\"a\",\"b\"]}");
    put("br-unload", "{\"variants\":[\"a\",\"b\"]}");
    put("br-evil", "{\"variants\":[\"a\",\"b\"]}");
    for (size_t i = 0; i < NAGREE; i++) put(agree[i].id, agree[i].body);
    if (main_page(daemon_url) || small_pages(daemon_url)) {
        test_fail(__FILE__, __LINE__, "out of memory building the pages");
    } else {
        printf("test_browser: %s\n", chromium);
        test_listed_origin(chromium);
        test_unlisted_origin(chromium);
    }
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);
    server_stop();
    snprintf(cmd, sizeof cmd, "rm -f '%s'", tokens);
    if (system(cmd) != 0) {}
    return TEST_DONE("test_browser");
}
