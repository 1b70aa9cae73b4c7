/* http.c — JSON replies and bodies over evhttp. */
#include "http/http.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "json/dump.h"

static ab_http_reply_hook reply_hook;
static void *reply_hook_arg;

void ab_http_set_reply_hook(ab_http_reply_hook hook, void *arg)
{
    reply_hook = hook;
    reply_hook_arg = arg;
}

static const char *reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 503: return "Service Unavailable";
    case 501: return "Not Implemented";
    default: return code >= 500 ? "Internal Server Error" : "Error";
    }
}

/* A reply to HEAD: the headers of the GET reply, its Content-Length
 * included, and no body. evhttp 2.1 would write the body after the
 * headers without a Content-Length, and a keep-alive client would read it
 * as the start of the next reply. */
static void head_reply(struct evhttp_request *req)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    char len[24];
    if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) return;
    snprintf(len, sizeof len, "%zu", evbuffer_get_length(out));
    evhttp_remove_header(evhttp_request_get_output_headers(req), "Content-Length");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
    evbuffer_drain(out, evbuffer_get_length(out));
}

/* Sends what is in the request's own output buffer (no copy). */
static void send_typed(struct evhttp_request *req, int code, const char *type)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    if (reply_hook) reply_hook(reply_hook_arg, req, code);
    head_reply(req);
    evhttp_send_reply(req, code, reason(code), NULL);
}

static void send_reply(struct evhttp_request *req, int code)
{
    send_typed(req, code, "application/json");
}

void ab_http_static(struct evhttp_request *req, int code, const char *type, const void *data,
                    size_t len)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    if (evbuffer_add_reference(out, data, len, NULL, NULL) != 0) {
        ab_http_error(req, 500, "out of memory");
        return;
    }
    send_typed(req, code, type);
}

void ab_http_copy(struct evhttp_request *req, int code, const char *type,
                  const void *data, size_t len)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    if (evbuffer_add(out, data, len) != 0) {
        ab_http_error(req, 500, "out of memory");
        return;
    }
    send_typed(req, code, type);
}

static void free_owned(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

void ab_http_owned(struct evhttp_request *req, int code, const char *type, char *data,
                   size_t len)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    if (evbuffer_add_reference(out, data, len, free_owned, NULL) != 0) {
        free(data);
        ab_http_error(req, 500, "out of memory");
        return;
    }
    send_typed(req, code, type);
}

char *ab_http_json_text(json_t *body, size_t *len)
{
    /* jansson's compact text at 15 digits, and a newline (json/dump.h). */
    char *line = body ? ab_json_dump(body, "\n", len) : NULL;
    json_decref(body);
    return line;
}

void ab_http_json(struct evhttp_request *req, int code, json_t *body)
{
    size_t len;
    char *text = ab_http_json_text(body, &len);
    if (!text) {
        evbuffer_add_printf(evhttp_request_get_output_buffer(req),
                            "{\"error\":\"out of memory\"}\n");
        send_reply(req, 500);
        return;
    }
    ab_http_owned(req, code, "application/json", text, len);
}

void ab_http_printf(struct evhttp_request *req, int code, const char *fmt, ...)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    va_list ap;
    va_start(ap, fmt);
    evbuffer_add_vprintf(out, fmt, ap);
    va_end(ap);
    evbuffer_add(out, "\n", 1);
    send_reply(req, code);
}

void ab_http_empty(struct evhttp_request *req, int code)
{
    if (reply_hook) reply_hook(reply_hook_arg, req, code);
    evhttp_send_reply(req, code, reason(code), NULL);
}

void ab_http_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
    char text[512];
    json_t *body;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* Error texts quote what clients sent (a header, a truncated key);
     * jansson refuses invalid UTF-8, which would turn a 4xx into a 500. */
    ab_utf8_repair(text);
    body = json_pack("{s:s}", "error", text);
    /* Still unencodable: say what kind of error it was, not "out of memory". */
    if (!body) body = json_pack("{s:s}", "error", code >= 500 ? "internal error" : "bad request");
    ab_http_json(req, code, body);
}

void ab_http_fail(struct evhttp_request *req, const ab_error *err)
{
    int code = err && err->status ? err->status : 500;
    ab_http_error(req, code, "%s", err && err->text[0] ? err->text : "internal error");
}

void ab_http_errors(struct evhttp_request *req, const char *text, json_t *errors)
{
    ab_http_json(req, 400, json_pack("{s:s,s:o}", "error", text, "errors",
                                     errors ? errors : json_array()));
}

const char *ab_http_body(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    const char *p;
    *len = n;
    if (n == 0) return "";
    p = (const char *)evbuffer_pullup(in, -1);
    return p ? p : NULL;
}
