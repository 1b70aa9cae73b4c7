/* guard_conn.h — what the files of the connection guard share (guard.h is its interface): the state of one connection and of all, and the bookkeeping each file needs. */
#ifndef ABSTAT_GUARD_CONN_H
#define ABSTAT_GUARD_CONN_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/guard.h"

/* Longest chunk-size line (with extensions): far beyond any real client,
 * and an endless one is refused after this many bytes, not rescanned. */
#define MAX_CHUNK_LINE 1024
/* Unread socket input kept per connection on top of one request head,
 * while a request is being answered: TCP holds back the rest. */
#define INPUT_SLACK (16 * 1024)
/* Reply bytes queued per connection before evhttp waits for the client
 * to read (a pipelining client that never reads its answers). */
#define OUTPUT_CAP (64 * 1024)
/* At the connection limit, the connection that has waited longest for a
 * request head (idle, or trickling one) gives its slot to the new one, if
 * it has waited at least this long. A client that sends its request gets
 * it read within a round trip, and leaves that state. */
#define EVICT_AFTER_MS 0

enum {
    ST_HEAD,        /* reading a request head */
    ST_BODY,        /* passing on a Content-Length body */
    ST_CHUNK_SIZE,  /* de-chunking: a chunk-size line */
    ST_CHUNK_DATA,
    ST_CHUNK_END,   /* the CRLF after a chunk's data */
    ST_TRAILER,     /* trailer fields after the last chunk (dropped) */
    ST_WAIT,        /* the request is with evhttp: pass nothing on */
    ST_DISCARD,     /* the body of a HEAD or TRACE request: dropped */
    ST_CLOSING      /* refused: discard input, close after the answer */
};

/* One client connection: its filter, where its request is in the framing,
 * and what it holds of the limits. */
typedef struct guard_conn {
    struct guard_conn *prev, *next;  /* every connection, oldest first */
    struct guard_conn *hnext;        /* hash chain by bev */
    struct bufferevent *bev;         /* the filter: evhttp's bufferevent */
    struct bufferevent *under;       /* the socket */
    struct event *deadline;          /* --header-timeout */
    struct event *kick;              /* passes on the next pipelined request */
    int state;
    int counted;                     /* holds a --max-connections slot */
    int doomed;                      /* being closed */
    int demoted;                     /* pipelines: socket at the lowest priority */
    int replied;                     /* answered while its body is still dropped */
    int64_t since_ms;                /* waiting for a head since */
    size_t scanned;                  /* bytes of the head (or line) seen */
    size_t lines;                    /* head lines so far */
    uint64_t remaining;              /* body bytes still to pass on */
    uint64_t chunk_left;
    struct evbuffer *fwd;            /* a re-framed head held back (chunked) */
    struct evbuffer *body;           /* the de-chunked body so far */
    size_t charged;                  /* bytes of the --max-pending-bytes budget */
    ab_refusal refusal;              /* code 0: not refused */
    int nodelay;                     /* TCP_NODELAY set on the socket */
    int64_t head_ns;                 /* when the current request's head was complete */
    uint64_t body_in;                /* its body bytes passed to evhttp */
    int draining;                    /* its request came before the stop: awaited */
    int grace;                       /* its head had begun before the stop: admitted */
} guard_conn;

/* The guard's state: one per process (ab_guard_init), used on the loop only. */
typedef struct {
    struct event_base *base;
    struct evhttp *http;
    ab_guard_limits lim;
    ab_guard_admit_fn admit;
    void *admit_arg;
    guard_conn *oldest, *newest;
    guard_conn **table;
    size_t table_mask;
    size_t counted;                  /* connections holding a slot */
    size_t pending;                  /* body bytes charged */
    int stopping;                    /* ab_guard_stop: new heads get 503 */
    size_t draining;                 /* connections with draining set */
} ab_guard_state;

extern ab_guard_state ab_guard_g;

/* The methods evhttp knows, by name. */
#define AB_GUARD_NMETHODS 9
extern const char *const ab_guard_method_names[AB_GUARD_NMETHODS];
extern const enum evhttp_cmd_type ab_guard_method_cmds[AB_GUARD_NMETHODS];

/* ---- guard_state.c: bookkeeping ------------------------------------------ */

/* c gives up its --max-connections slot. */
void ab_guard_uncount(guard_conn *c);
/* The request of c has been answered, or never will be. */
void ab_guard_undrain(guard_conn *c);
/* c's body bytes leave the --max-pending-bytes budget. */
void ab_guard_release(guard_conn *c);
/* Charges n body bytes to c: 0, or -1 over the budget. */
int ab_guard_charge(guard_conn *c, size_t n);
/* Closes the connection through evhttp's own error path (a read timeout),
 * which is safe in every state, from the loop rather than from inside one
 * of libevent's callbacks. */
void ab_guard_doom(guard_conn *c);
/* Starts --header-timeout unless it runs already. */
void ab_guard_arm_deadline(guard_conn *c);
void ab_guard_refusal_set(ab_refusal *r, int code, const char *hname, const char *hvalue,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Hands evhttp a bodiless stand-in for the refused request (the router
 * answers it with c->refusal, see ab_guard_request) and discards the rest
 * of the input. path is the request's when it was well-formed (for the
 * metrics' route label), else "/". */
void ab_guard_refuse(guard_conn *c, struct evbuffer *dst, const char *method, const char *path);

/* ---- guard_head.c: the request head -------------------------------------- */

/* The offset of the next LF in src at or after from, or -1. */
ssize_t ab_guard_find_lf(struct evbuffer *src, size_t from);
/* Appends c->fwd (the re-framed head) with its Content-Length to dst. */
void ab_guard_pass_head(guard_conn *c, struct evbuffer *dst, uint64_t length, int has_body);
/* One step in ST_HEAD: 1 progress, 0 wait for more input. */
int ab_guard_step_head(guard_conn *c, struct evbuffer *src, struct evbuffer *dst);

/* ---- guard_frame.c: the filter's two sides ------------------------------- */

enum bufferevent_filter_result ab_guard_filter_in(struct evbuffer *src, struct evbuffer *dst,
                                                  ev_ssize_t limit,
                                                  enum bufferevent_flush_mode mode, void *arg);
enum bufferevent_filter_result ab_guard_filter_out(struct evbuffer *src, struct evbuffer *dst,
                                                   ev_ssize_t limit,
                                                   enum bufferevent_flush_mode mode, void *arg);
void ab_guard_output_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

#endif
