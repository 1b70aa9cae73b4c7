/* test_dispatch.c — requests through the real server, guard and route
 * table, in one process: 404, 405 with Allow, the CORS preflight, the
 * token check ahead of the method, admission of a body before it is read,
 * and every reply counted once on its route's series. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/reply_route.h"
#include "http/server.h"
#include "test.h"

#define READ_TOKEN "read-token-0123456789abcdef"
#define INGEST_TOKEN "ingest-token-0123456789abcdef"
#define ADMIN_TOKEN "admin-token-0123456789abcdef"

static ab_server srv;
static ab_api api;
static ab_registry reg;
static ab_metrics metrics;
static ab_memory memory;
static ab_auth open_auth, token_auth;

typedef struct {
    int code;
    char allow[128], www[160], vary[32];
    char body[8192];
} response;

static void on_reply(struct evhttp_request *req, void *arg)
{
    response *r = arg;
    const char *h;
    r->code = req ? evhttp_request_get_response_code(req) : -1;
    if (req) {
        struct evkeyvalq *in = evhttp_request_get_input_headers(req);
        struct evbuffer *b = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(b);
        if ((h = evhttp_find_header(in, "Allow"))) snprintf(r->allow, sizeof r->allow, "%s", h);
        if ((h = evhttp_find_header(in, "WWW-Authenticate")))
            snprintf(r->www, sizeof r->www, "%s", h);
        if (n >= sizeof r->body) n = sizeof r->body - 1;
        evbuffer_remove(b, r->body, n);
        r->body[n] = '\0';
    }
    event_base_loopbreak(srv.base);
}

/* One request on a connection of its own; extra: "Name: value" or NULL. */
static response request(enum evhttp_cmd_type cmd, const char *path, const char *token,
                        const char *extra, const char *body)
{
    static response r;
    struct evhttp_connection *c;
    struct evhttp_request *req;
    struct timeval limit = {5, 0};
    memset(&r, 0, sizeof r);
    r.code = -2;
    c = evhttp_connection_base_new(srv.base, NULL, "127.0.0.1", (unsigned short)srv.port);
    req = c ? evhttp_request_new(on_reply, &r) : NULL;
    if (!req) {
        test_fail(__FILE__, __LINE__, "cannot make a request");
        if (c) evhttp_connection_free(c);
        return r;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
    if (token) {
        char auth[128];
        snprintf(auth, sizeof auth, "Bearer %s", token);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Authorization", auth);
    }
    if (extra) {
        char name[64];
        const char *colon = strchr(extra, ':');
        snprintf(name, sizeof name, "%.*s", (int)(colon - extra), extra);
        evhttp_add_header(evhttp_request_get_output_headers(req), name, colon + 2);
    }
    if (body) evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    if (evhttp_make_request(c, req, cmd, path)) {
        test_fail(__FILE__, __LINE__, "cannot send %s", path);
    } else {
        event_base_loopexit(srv.base, &limit); /* a lost answer fails, not hangs */
        event_base_dispatch(srv.base);
    }
    evhttp_connection_free(c);
    return r;
}

/* Requests counted on route label and code so far. */
static uint64_t counted(const char *label, int code)
{
    static const int codes[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
                                409, 413, 415, 500, 503};
    uint64_t n = 0;
    for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++)
        if (codes[c] == code)
            for (size_t i = 0; i < metrics.nroutes; i++)
                if (!strcmp(metrics.route_label[i], label)) n += metrics.requests[i][c];
    return n;
}

static void test_open(void)
{
    response r;
    api.auth = &open_auth;
    r = request(EVHTTP_REQ_GET, "/v1/openapi.json", NULL, NULL, NULL);
    CHECK_INT(r.code, 200);
    CHECK(strstr(r.body, "\"openapi\"") != NULL);
    r = request(EVHTTP_REQ_GET, "/nope", NULL, NULL, NULL);
    CHECK_INT(r.code, 404);
    r = request(EVHTTP_REQ_GET, "/v1/experiments/hero/bogus", NULL, NULL, NULL);
    CHECK_INT(r.code, 404);
    r = request(EVHTTP_REQ_PATCH, "/v1/experiments/hero", NULL, NULL, NULL);
    CHECK_INT(r.code, 405);
    CHECK(!strcmp(r.allow, "GET, HEAD, PUT, DELETE"));
    CHECK(strstr(r.body, "allowed: GET, HEAD, PUT, DELETE") != NULL);
    /* The preflight is answered, so Allow says OPTIONS. */
    r = request(EVHTTP_REQ_DELETE, "/v1/events", NULL, NULL, NULL);
    CHECK_INT(r.code, 405);
    CHECK(!strcmp(r.allow, "POST, OPTIONS"));
    r = request(EVHTTP_REQ_OPTIONS, "/v1/events", NULL, NULL, NULL);
    CHECK_INT(r.code, 204);
    CHECK(!strcmp(r.allow, "POST, OPTIONS"));
    r = request(EVHTTP_REQ_OPTIONS, "/v1/experiments/hero/assign", NULL, NULL, NULL);
    CHECK_INT(r.code, 204);
    CHECK(!strcmp(r.allow, "GET, HEAD, OPTIONS"));
    /* No preflight where browsers are not served. */
    r = request(EVHTTP_REQ_OPTIONS, "/v1/experiments", NULL, NULL, NULL);
    CHECK_INT(r.code, 405);
    CHECK(!strcmp(r.allow, "GET, HEAD"));
    r = request(EVHTTP_REQ_GET, "/v1/experiments/Bad_ID/results", NULL, NULL, NULL);
    CHECK_INT(r.code, 400);
    CHECK(strstr(r.body, "invalid experiment id") != NULL);
    r = request(EVHTTP_REQ_GET, "/v1/experiments/hero/results", NULL, NULL, NULL);
    CHECK_INT(r.code, 404);
    CHECK(strstr(r.body, "experiment \\\"hero\\\" not found") != NULL);
    r = request(EVHTTP_REQ_GET, "/v1/experiments", NULL, NULL, NULL);
    CHECK_INT(r.code, 200);
    CHECK(strstr(r.body, "\"experiments\":[]") != NULL);
    r = request(EVHTTP_REQ_HEAD, "/v1/experiments", NULL, NULL, NULL);
    CHECK_INT(r.code, 200);
    CHECK(!strcmp(r.body, ""));
    r = request(EVHTTP_REQ_GET, "/v1/experiments", NULL, "Content-Encoding: gzip", NULL);
    CHECK_INT(r.code, 415);

    /* Each reply once, on its route; paths no route has on "other". */
    CHECK_INT(counted("openapi", 200), 1);
    CHECK_INT(counted("other", 404), 2);
    CHECK_INT(counted("experiment", 405), 1);
    CHECK_INT(counted("events", 405), 1);
    CHECK_INT(counted("events", 204), 1);
    CHECK_INT(counted("assign", 204), 1);
    CHECK_INT(counted("experiments", 405), 1);
    CHECK_INT(counted("results", 400), 1);
    CHECK_INT(counted("results", 404), 1);
    CHECK_INT(counted("experiments", 200), 2);
    CHECK_INT(counted("experiments", 415), 1);
    r = request(EVHTTP_REQ_GET, "/metrics", NULL, NULL, NULL);
    CHECK_INT(r.code, 200);
    CHECK(strstr(r.body, "abstat_requests_total{route=\"experiment\",code=\"405\"} 1\n") != NULL);
    CHECK(strstr(r.body, "abstat_requests_total{route=\"other\",code=\"404\"} 2\n") != NULL);
    CHECK(strstr(r.body, "abstat_requests_total{route=\"metrics\",code=\"200\"} 1\n") != NULL);
    CHECK_INT(counted("metrics", 200), 1); /* the scrape, counted once */
    CHECK_INT(api.tags.count, 0);          /* every request's route given back */
}

static void test_tokens(void)
{
    response r;
    uint64_t refused;
    api.auth = &token_auth;
    r = request(EVHTTP_REQ_GET, "/v1/experiments", NULL, NULL, NULL);
    CHECK_INT(r.code, 401);
    CHECK(strstr(r.www, "Bearer realm=\"abstat\"") == r.www);
    r = request(EVHTTP_REQ_GET, "/v1/experiments", "not-a-token-of-this-daemon", NULL, NULL);
    CHECK_INT(r.code, 401);
    CHECK(strstr(r.www, "invalid_token") != NULL);
    r = request(EVHTTP_REQ_GET, "/v1/experiments", READ_TOKEN, NULL, NULL);
    CHECK_INT(r.code, 200);
    /* A method the path lacks asks for the path's strictest scope first. */
    r = request(EVHTTP_REQ_PATCH, "/v1/experiments/hero", READ_TOKEN, NULL, NULL);
    CHECK_INT(r.code, 403);
    CHECK(strstr(r.body, "admin scope needed") != NULL);
    r = request(EVHTTP_REQ_PATCH, "/v1/experiments/hero", ADMIN_TOKEN, NULL, NULL);
    CHECK_INT(r.code, 405);
    r = request(EVHTTP_REQ_GET, "/v1/experiments/hero", INGEST_TOKEN, NULL, NULL);
    CHECK_INT(r.code, 403);
    /* The open documents need none. */
    r = request(EVHTTP_REQ_GET, "/v1/abstat.js", NULL, NULL, NULL);
    CHECK_INT(r.code, 200);
    /* ?token= only where pages need it, and only for ingest. */
    r = request(EVHTTP_REQ_GET, "/v1/experiments?token=" READ_TOKEN, NULL, NULL, NULL);
    CHECK_INT(r.code, 401);
    CHECK(strstr(r.body, "\"?token= is accepted only on POST /v1/events and GET "
                         "/v1/experiments/{id}/assign; send Authorization: Bearer TOKEN\"") != NULL);
    r = request(EVHTTP_REQ_GET, "/v1/experiments/hero/assign?user=u&token=" INGEST_TOKEN, NULL,
                NULL, NULL);
    CHECK_INT(r.code, 404); /* past the token check: there is no such experiment */
    r = request(EVHTTP_REQ_GET, "/v1/experiments/hero/assign?user=u&token=" READ_TOKEN, NULL,
                NULL, NULL);
    CHECK_INT(r.code, 403);
    CHECK(strstr(r.body, "only for the ingest scope") != NULL);
    r = request(EVHTTP_REQ_GET, "/v1/experiments/hero/assign?user=u", READ_TOKEN, NULL, NULL);
    CHECK_INT(r.code, 404);
    /* A body is judged at its head, before it is read (guard.c): an
     * unlisted origin and a missing token are refused there. */
    refused = counted("events", 403);
    r = request(EVHTTP_REQ_POST, "/v1/events", INGEST_TOKEN, "Origin: https://evil.example",
                "{\"experiment\":\"x\"}");
    CHECK_INT(r.code, 403);
    CHECK(strstr(r.body, "origin \\\"https://evil.example\\\" is not allowed") != NULL);
    CHECK_INT(counted("events", 403), refused + 1);
    r = request(EVHTTP_REQ_POST, "/v1/analyze", NULL, NULL, "{}");
    CHECK_INT(r.code, 401);
    r = request(EVHTTP_REQ_POST, "/v1/nope", ADMIN_TOKEN, NULL, "{}");
    CHECK_INT(r.code, 404);
    CHECK_INT(api.tags.count, 0);
}

/* Replies in any order, long after their dispatch (as ingest's come),
 * each counted on its own request's route. The requests are never looked
 * into: stand-ins from an array do. */
static void test_many_in_flight(void)
{
    enum { N = 3000 };
    static char reqs[N];
    uint64_t before[3];
    const char *names[3];
    size_t routes = metrics.nroutes;
    for (int k = 0; k < 3; k++) {
        names[k] = metrics.route_label[k];
        before[k] = counted(names[k], 202);
    }
    for (int i = 0; i < N; i++) ab_api_tag(&api, (struct evhttp_request *)&reqs[i], (size_t)(i % 3));
    CHECK_INT(api.tags.count, N);
    /* A stride coprime with N: every request once, far from tag order. */
    for (int j = 0, i = 0; j < N; j++, i = (i + 1777) % N)
        ab_api_count_reply(&api, (struct evhttp_request *)&reqs[i], 202);
    CHECK_INT(api.tags.count, 0);
    for (int k = 0; k < 3; k++) {
        /* Lines of one path share a label: count what this label got. */
        uint64_t want = 0;
        for (int j = 0; j < 3; j++) want += !strcmp(names[j], names[k]) ? N / 3 : 0;
        CHECK_INT(counted(names[k], 202) - before[k], want);
    }
    /* An untagged reply counts on "other". */
    before[0] = counted("other", 202);
    ab_api_count_reply(&api, (struct evhttp_request *)&reqs[0], 202);
    CHECK_INT(counted("other", 202), before[0] + 1);
    CHECK(routes == metrics.nroutes);
}

int main(void)
{
    char dir[] = "/tmp/abstat-dispatch-XXXXXX", path[64];
    ab_server_limits lim = {.max_body = 1 << 20, .max_header_bytes = 16384, .idle_timeout = 15,
                            .max_connections = 64, .max_headers = 100, .max_pending = 8 << 20,
                            .header_timeout_ms = 5000, .admit = ab_api_admit, .admit_arg = &api};
    ab_error err = {0, ""};
    FILE *fp;

    ab_registry_init(&reg);
    api.reg = &reg;
    api.metrics = &metrics;
    api.memory = &memory;
    api.max_batch = 1000;
    CHECK_INT(ab_api_init(&api), 0);
    snprintf(path, sizeof path, "%s/tokens", mkdtemp(dir) ? dir : "/tmp");
    if (!(fp = fopen(path, "w")) ||
        fprintf(fp, "read %s\ningest %s\nadmin %s\n", READ_TOKEN, INGEST_TOKEN, ADMIN_TOKEN) < 0 ||
        fclose(fp) || chmod(path, 0600) || ab_auth_load(&token_auth, path, &err)) {
        test_fail(__FILE__, __LINE__, "tokens: %s", err.text);
        return TEST_DONE("test_dispatch");
    }
    unlink(path);
    rmdir(dir);
    if (ab_server_init(&srv, &err) ||
        ab_server_listen(&srv, "127.0.0.1", 0, &lim, ab_api_request, &api, &err)) {
        test_fail(__FILE__, __LINE__, "server: %s", err.text);
        return TEST_DONE("test_dispatch");
    }
    test_open();
    test_tokens();
    test_many_in_flight();
    ab_server_free(&srv);
    ab_api_free(&api);
    ab_auth_free(&token_auth);
    ab_registry_free(&reg);
    return TEST_DONE("test_dispatch");
}
