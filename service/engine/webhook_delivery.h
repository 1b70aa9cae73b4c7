/* webhook_delivery.h — what the files of the webhook sender share (webhook.h is its interface): one delivery and the steps the others call. */
#ifndef ABSTAT_WEBHOOK_DELIVERY_H
#define ABSTAT_WEBHOOK_DELIVERY_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/webhook.h"

/* Where a delivery is: waiting for its retry, queued for a connection
 * slot, in an attempt, finishing it (outside libevent's callbacks), done. */
enum { ST_WAITING = 0, ST_QUEUED, ST_ACTIVE, ST_FINISHING, ST_DELIVERED };

/* One delivery: a row of the store's outbox and its attempts. */
struct ab_webhook {
    ab_webhooks *owner;
    char *id, *url, *body;
    char logurl[256];
    int64_t created_ms;
    int state;
    int saved;               /* the outbox holds it */
    int attempt;             /* attempts started */
    int code;                /* HTTP status of the finished attempt, 0 none */
    char why[160];           /* why the attempt failed */
    size_t answer_cap;       /* bytes the input buffer may hold */
    struct evhttp_connection *conn;
    struct bufferevent *bev;
    SSL *ssl;
    struct event *deadline;  /* the attempt's total deadline; also aborts */
    struct event *timer;     /* finishing, then the retry */
    ab_webhook *next;
    ab_webhook *qnext;       /* waiting for a connection slot */
};

/* ---- webhook_outbox.c: logging and the store's outbox -------------------- */

/* A failure line, rate-limited (see there). */
void ab_webhook_log_failure(ab_webhooks *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes h to the outbox unless it is there or the store is inside
 * another transaction (the sweep comes back). */
void ab_webhook_save(ab_webhook *h);
/* Frees h and its connection. */
void ab_webhook_destroy(ab_webhook *h);
/* A delivered one leaves the outbox, then memory. */
void ab_webhook_forget(ab_webhook *h);
/* The sweep: store work that had to wait for the group commit. */
void ab_webhook_sweep_cb(evutil_socket_t fd, short what, void *arg);
/* Watches an attempt's input buffer: evhttp caps headers and body, but
 * buffers an unterminated chunk-size line without limit. */
void ab_webhook_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

/* ---- webhook_attempt.c: attempts ---------------------------------------- */

/* Starts waiting deliveries while connection slots are free. */
void ab_webhook_pump(ab_webhooks *w);
void ab_webhook_want_attempt(ab_webhook *h);
/* Timer callbacks of a delivery (arg: the ab_webhook). */
void ab_webhook_retry_cb(evutil_socket_t fd, short what, void *arg);
void ab_webhook_deadline_cb(evutil_socket_t fd, short what, void *arg);
/* Trusted certificates are loaded once (system store, see tls.h); err is
 * set when that fails. */
SSL_CTX *ab_webhook_tls_context(ab_webhooks *w, char *err, size_t errlen);

#endif
