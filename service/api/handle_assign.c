/* handle_assign.c — GET /v1/experiments/{id}/assign?user=U[&expose=1]: the
 * user's variant by the rule of assign.h, and with expose=1 its exposure
 * recorded through the ingest path (answered after the group commit). */
#include "api/handlers.h"

#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "core/assign.h"
#include "http/auth.h"
#include "core/event.h"
#include "http/http.h"
#include "engine/ingest.h"

typedef struct {
    char *user;       /* decoded, malloc'd, user_len bytes (may hold a NUL: refused) */
    size_t user_len;
    int expose;
} assign_query;

/* Decodes one name or value of the query ('+' is a space, as forms and
 * URLSearchParams write it). Caller frees; NULL when out of memory. */
static char *decode(const char *s, size_t n, size_t *len)
{
    char *raw = malloc(n + 1), *out;
    if (!raw) return NULL;
    memcpy(raw, s, n);
    raw[n] = '\0';
    out = evhttp_uridecode(raw, 1, len);
    free(raw);
    return out;
}

/* Reads user, expose and token (which routes.c checked) from the query;
 * anything else is refused so that a misspelt "expose" cannot silently
 * record nothing. 0, or -1 after answering; either way the caller frees
 * q->user. */
static int parse_query(struct evhttp_request *req, assign_query *q)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *p = uri ? evhttp_uri_get_query(uri) : NULL;
    memset(q, 0, sizeof q[0]);
    while (p && *p) {
        size_t n = strcspn(p, "&"), klen = strcspn(p, "=");
        size_t vlen, nlen;
        char *name, *value;
        if (klen > n) klen = n;
        if (n == 0) {
            p++;
            continue;
        }
        name = decode(p, klen, &nlen);
        value = decode(p + klen + (klen < n), n - klen - (klen < n), &vlen);
        if (!name || !value) {
            free(name);
            free(value);
            ab_http_error(req, 500, "out of memory");
            return -1;
        }
        if (!strcmp(name, "user") && nlen == 4) {
            if (q->user) {
                ab_http_error(req, 400, "\"user\" is given twice");
                free(name);
                free(value);
                return -1;
            }
            q->user = value;
            q->user_len = vlen;
            value = NULL;
        } else if (!strcmp(name, "expose") && nlen == 6) {
            if (!strcmp(value, "1") || !strcmp(value, "true")) {
                q->expose = 1;
            } else if (strcmp(value, "0") && strcmp(value, "false")) {
                ab_http_error(req, 400, "\"expose\" must be 1 or 0 (true or false)");
                free(name);
                free(value);
                return -1;
            }
        } else if (strcmp(name, "token") || nlen != 5) {
            ab_http_error(req, 400, "unknown query parameter \"%.40s\": assign takes user, "
                          "expose and token", ab_assign_text_ok(name, nlen) ? name : "?");
            free(name);
            free(value);
            return -1;
        }
        free(name);
        free(value);
        p += n;
        if (*p == '&') p++;
    }
    return 0;
}

/* Records the exposure as POST /v1/events would: the same parser and
 * checks, the same group commit; the answer (reply, the 200 of a plain
 * assignment with "exposed": true) goes out after the commit. */
/* Ingest's completion of an exposure: the assignment's answer (p->user),
 * or the refusal as for events. */
static void exposed(void *arg, ab_pending *p, const ab_ingest_outcome *o)
{
    if (o->kind == AB_INGEST_COUNTED) ab_http_printf(p->req, 200, "%s", (const char *)p->user);
    else ab_handle_events_refused(arg, p, o);
}

static void expose(ab_api *api, struct evhttp_request *req, ab_live *e, size_t variant,
                   const assign_query *q, unsigned held, json_t *answer)
{
    ab_error err = {0, ""};
    ab_ts_window window = ab_ts_window_at(ab_now_ms(), (held & AB_SCOPE_ADMIN) != 0);
    json_t *ev = json_object();
    char *body = NULL, *reply = NULL, *copy;
    size_t blen, rlen;
    ab_pending *p = NULL;

    if (!ev || json_object_set_new(ev, "experiment", json_string(e->cfg.id)) ||
        json_object_set_new(ev, "variant", json_string(e->cfg.names[variant])) ||
        json_object_set_new(ev, "user", json_stringn(q->user, q->user_len)) ||
        json_object_set_new(ev, "type", json_string("exposure")) ||
        json_object_set_new(answer, "exposed", json_true()) ||
        !(body = json_dumps(ev, JSON_COMPACT)) ||
        !(reply = json_dumps(answer, JSON_COMPACT))) {
        ab_http_error(req, 500, "out of memory");
        goto done;
    }
    blen = strlen(body);
    rlen = strlen(reply);
    if (!ab_memory_fits(api->memory, blen + blen / 2 + rlen)) {
        ab_memory_refuse(api->memory, req, "no room to record this exposure");
        api->metrics->rejected_requests++;
        goto done;
    }
    if (!(p = ab_pending_new(req, blen + rlen, exposed, api)) ||
        !(copy = ab_arena_alloc(&p->arena, rlen + 1))) {
        ab_pending_free(p);
        ab_http_error(req, 500, "out of memory");
        goto done;
    }
    memcpy(copy, reply, rlen + 1);
    p->user = copy;
    /* The parser copies what the events keep into p's arena: body may go
     * once it has run. Finishing submits p (which then answers) or
     * answers its errors and frees it. */
    ab_handle_events_finish(api, p, ab_handle_events_parse(api, p, body, blen, &window, &err),
                            &err);
done:
    free(body);
    free(reply);
    json_decref(ev);
}

void ab_handle_assign(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    const char *id = call->id;
    unsigned held = call->held;
    char msg[160];
    assign_query q;
    ab_live *e;
    size_t variant;
    json_t *answer;

    /* An assignment is cheap to ask again, and with expose=1 a cached
     * answer would record nothing. */
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    if (!(e = ab_registry_get(api->reg, id, strlen(id)))) {
        ab_http_error(req, 404, "experiment \"%s\" not found", id);
        return;
    }
    if (parse_query(req, &q)) goto done; /* q.user may hold the first user */
    if (!q.user) {
        ab_http_error(req, 400, "\"user\" is missing: GET /v1/experiments/%s/assign?user=USER", id);
        goto done;
    }
    /* The rule of events' "user" (event.h), and what JSON would have
     * guaranteed: UTF-8 text without NUL. */
    if (ab_event_user_check(q.user_len, msg, sizeof msg)) {
        ab_http_error(req, 400, "%s", msg);
        goto done;
    }
    if (!ab_assign_text_ok(q.user, q.user_len)) {
        ab_http_error(req, 400, "\"user\" must be UTF-8 text without NUL bytes "
                      "(percent-encoded as encodeURIComponent does)");
        goto done;
    }
    variant = ab_assign_variant(e->cfg.id, strlen(e->cfg.id), q.user, q.user_len, e->cfg.weights,
                                e->cfg.k);
    if (variant >= e->cfg.k) {
        /* Cannot happen: PUT accepted only positive, finite weights. */
        ab_http_error(req, 500, "experiment \"%s\" has weights no variant can be drawn from", id);
        goto done;
    }
    answer = json_pack("{s:s,s:s%,s:s,s:b,s:s}", "experiment", e->cfg.id, "user", q.user,
                       q.user_len, "variant", e->cfg.names[variant], "exposed", 0, "status",
                       e->stopped ? "stopped" : "running");
    if (!q.expose) {
        ab_http_json(req, 200, answer);
        goto done;
    }
    if (!answer) {
        ab_http_error(req, 500, "out of memory");
    } else if (!(held & AB_SCOPE_INGEST)) {
        ab_http_error(req, 403, "expose=1 records an exposure: it needs a token with the ingest "
                      "scope");
    } else if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        ab_http_error(req, 400, "expose=1 records an exposure: send GET, not HEAD");
    } else if (e->stopped) {
        ab_http_error(req, 409, "experiment \"%s\" is stopped: no exposure was recorded "
                      "(POST /v1/experiments/%s/start resumes it)", id, id);
    } else {
        expose(api, req, e, variant, &q, held, answer);
    }
    json_decref(answer);
done:
    free(q.user);
}
