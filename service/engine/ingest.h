/* ingest.h — group commit of ingested events: requests are written into
 * one open transaction, committed when the event loop runs out of ready
 * I/O (or the batch is large), and only then answered 202 and counted. */
#ifndef ABSTAT_INGEST_H
#define ABSTAT_INGEST_H

#include <event2/event.h>
#include <event2/http.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "core/event.h"

struct ab_daemon;

/* Room reserved in one experiment for a request's events (see
 * ab_state_reserve): held from before the events are stored until they
 * are counted, so that counting after the commit cannot fail. */
typedef struct {
    void *exp;                /* ab_live */
    size_t users, ids, revenue;
} ab_reservation;

/* One ingest request waiting for its commit. */
typedef struct ab_pending {
    struct evhttp_request *req;
    ab_arena arena;
    ab_event_batch batch;
    size_t applied;           /* events counted so far (after the commit) */
    double duplicates;        /* of those, duplicates */
    ab_reservation *res;      /* in arena: one per run of an experiment */
    size_t nres;
    size_t mem;               /* bytes counted in flight for it */
    const char *reply;        /* NULL: answered 202 {"accepted", "duplicates"}; else
                               * 200 with this JSON (arena-owned; GET .../assign?expose=1) */
    struct ab_pending *next;
} ab_pending;

typedef struct {
    struct ab_daemon *d;
    struct event *commit_ev;  /* lowest priority: runs when no I/O is ready */
    ab_pending *head, *tail;  /* written into the open transaction */
    ab_pending *done, *done_tail; /* committed, being counted in slices */
    size_t requests, events;
    int64_t opened_ns;        /* when the open batch got its first request */
} ab_ingest;

/* Sets up the commit event on the daemon's base. -1 on failure. */
int ab_ingest_init(ab_ingest *in, struct ab_daemon *d);
void ab_ingest_free(ab_ingest *in);

/* A new pending request with an empty arena sized for a body of body_len
 * bytes (caller fills batch), or NULL. */
ab_pending *ab_pending_new(struct evhttp_request *req, size_t body_len);
/* Frees p, releasing what it reserved. */
void ab_pending_free(ab_pending *p);
/* Bytes held by pending requests' arenas (for the memory account). */
size_t ab_ingest_inflight_bytes(void);

/* Writes p's events into the open transaction and queues p for the next
 * commit, taking ownership of p. First reserves what counting them may
 * need: when that would cross --max-memory or fails, p alone is answered
 * 503 (Retry-After) and nothing of it is stored, so a 202 always means
 * counted. On a storage error every queued request, p included, is
 * answered 503 and nothing of them is kept. */
void ab_ingest_submit(ab_ingest *in, ab_pending *p);

/* Commits the open batch now, counts every committed event and answers
 * the requests; 0 when there was nothing to do or it committed, -1 when the
 * commit failed (its requests were answered 503). Handlers that change
 * experiments call this first so that the order of events and changes is
 * the order of requests. (When the loop is idle, committed events are
 * counted in slices instead, so that other requests are served between.) */
int ab_ingest_flush(ab_ingest *in);

#endif
