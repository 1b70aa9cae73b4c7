/* http.h — replying to evhttp requests with JSON, the one way every
 * handler ends. */
#ifndef ABSTAT_HTTP_H
#define ABSTAT_HTTP_H

#include <event2/http.h>
#include <jansson.h>

#include "base/error.h"

struct ab_metrics;

/* Sends body (stolen; NULL sends {"error":"out of memory"} with 500) with
 * status code. Every handler calls exactly one of these once. */
void ab_http_json(struct evhttp_request *req, int code, json_t *body);
/* body (stolen) printed as the JSON replies print it, with the final
 * newline: new text of *len bytes (caller frees), or NULL when out of
 * memory. */
char *ab_http_json_text(json_t *body, size_t *len);
/* A JSON body printed from a format (for hot paths: no JSON tree). */
void ab_http_printf(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A reply of len bytes of static data (borrowed: must outlive the
 * connection, as embedded files do) with the given Content-Type. */
void ab_http_static(struct evhttp_request *req, int code, const char *type, const void *data,
                    size_t len);
/* A reply of a copy of len bytes of data (borrowed for the call only). */
void ab_http_copy(struct evhttp_request *req, int code, const char *type,
                  const void *data, size_t len);
/* A reply of len bytes of malloc'd data, owned from now on (freed once
 * sent, or at once when it cannot be), with the given Content-Type. */
void ab_http_owned(struct evhttp_request *req, int code, const char *type, char *data,
                   size_t len);
/* A reply with no body (204 for CORS preflights). */
void ab_http_empty(struct evhttp_request *req, int code);
/* {"error": text} with status code. */
void ab_http_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The error of an ab_error, status included (500 when unset). */
void ab_http_fail(struct evhttp_request *req, const ab_error *err);
/* 400 with {"error", "errors": [...]} (errors stolen). */
void ab_http_errors(struct evhttp_request *req, const char *text, json_t *errors);

/* The request body as a contiguous buffer (pulled up in place; valid until
 * the reply) and its length. */
const char *ab_http_body(struct evhttp_request *req, size_t *len);

/* Reply accounting: every reply's request and status go to hook(arg, ...)
 * just before it is sent (the metrics), set once at start-up; NULL: none. */
typedef void (*ab_http_reply_hook)(void *arg, struct evhttp_request *req, int code);
void ab_http_set_reply_hook(ab_http_reply_hook hook, void *arg);

#endif
