/* guard_state.c — the guard's bookkeeping: connection slots, the body budget, deadlines and refusals. */
#include "http/guard_conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ab_guard_state ab_guard_g;

void ab_guard_uncount(guard_conn *c)
{
    if (!c->counted) return;
    c->counted = 0;
    ab_guard_g.counted--;
}

/* The request of c has been answered, or never will be. */
void ab_guard_undrain(guard_conn *c)
{
    if (!c->draining) return;
    c->draining = 0;
    ab_guard_g.draining--;
}

void ab_guard_release(guard_conn *c)
{
    ab_guard_g.pending -= c->charged;
    c->charged = 0;
}

int ab_guard_charge(guard_conn *c, size_t n)
{
    if (n > ab_guard_g.lim.max_pending || ab_guard_g.pending > ab_guard_g.lim.max_pending - n) return -1;
    ab_guard_g.pending += n;
    c->charged += n;
    return 0;
}

/* Closes the connection through evhttp's own error path (a read timeout),
 * which is safe in every state, from the loop rather than from inside one
 * of libevent's callbacks. */
void ab_guard_doom(guard_conn *c)
{
    if (c->doomed) return;
    c->doomed = 1;
    ab_guard_uncount(c);
    if (c->deadline) evtimer_del(c->deadline);
    bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT,
                              BEV_TRIG_DEFER_CALLBACKS);
}

void ab_guard_arm_deadline(guard_conn *c)
{
    struct timeval tv;
    if (!c->deadline || ab_guard_g.lim.header_timeout_ms <= 0 || evtimer_pending(c->deadline, NULL))
        return;
    tv.tv_sec = ab_guard_g.lim.header_timeout_ms / 1000;
    tv.tv_usec = (ab_guard_g.lim.header_timeout_ms % 1000) * 1000;
    evtimer_add(c->deadline, &tv);
}

/* ---- refusing ------------------------------------------------------------ */

const char *const ab_guard_method_names[] = {"GET", "POST", "HEAD", "PUT", "DELETE",
                                           "OPTIONS", "TRACE", "CONNECT", "PATCH"};
const enum evhttp_cmd_type ab_guard_method_cmds[] = {
    EVHTTP_REQ_GET, EVHTTP_REQ_POST, EVHTTP_REQ_HEAD, EVHTTP_REQ_PUT, EVHTTP_REQ_DELETE,
    EVHTTP_REQ_OPTIONS, EVHTTP_REQ_TRACE, EVHTTP_REQ_CONNECT, EVHTTP_REQ_PATCH};

void ab_guard_refusal_set(ab_refusal *r, int code, const char *hname, const char *hvalue,
                        const char *fmt, ...)
{
    va_list ap;
    r->code = code;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof r->text, fmt, ap);
    va_end(ap);
    snprintf(r->hname, sizeof r->hname, "%s", hname ? hname : "");
    snprintf(r->hvalue, sizeof r->hvalue, "%s", hvalue ? hvalue : "");
}

/* Hands evhttp a bodiless stand-in for the refused request (the router
 * answers it with c->refusal, see ab_guard_request) and discards the rest
 * of the input. path is the request's when it was well-formed (for the
 * metrics' route label), else "/". */
void ab_guard_refuse(guard_conn *c, struct evbuffer *dst, const char *method, const char *path)
{
    ab_guard_release(c);
    if (c->deadline) evtimer_del(c->deadline);
    if (c->fwd) evbuffer_drain(c->fwd, evbuffer_get_length(c->fwd));
    if (c->body) evbuffer_drain(c->body, evbuffer_get_length(c->body));
    c->state = ST_CLOSING;
    evbuffer_add_printf(dst, "%s %s HTTP/1.1\r\nHost: abstat\r\nConnection: close\r\n\r\n",
                        method ? method : "GET", path ? path : "/");
}
