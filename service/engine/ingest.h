/* ingest.h — group commit of ingested events: each request's events are
 * added to the open batch; the batch goes to the store's commit thread
 * when the event loop runs out of ready I/O and the store is not writing
 * another (or it is large or old), so the next batch fills while one
 * commits.
 * Once a batch is committed its requests' events are counted, in commit
 * order, and only then is each request's completion called.
 *
 * Ingest never answers a request: the handler that submitted it does, in
 * its completion, from the outcome given.
 *
 * The loop's priorities. ab_ingest_init needs a base with at least
 * AB_INGEST_PRIORITIES priorities (event_base_priority_init, which the
 * daemon calls right after making the base and before any event is added
 * to it): committing and counting run at the lowest one, so libevent runs
 * them only once every ready socket has been served; every other event
 * keeps the default (middle) one. */
#ifndef ABSTAT_INGEST_H
#define ABSTAT_INGEST_H

#include <event2/event.h>
#include <event2/http.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "core/event.h"
#include "engine/memory.h"
#include "engine/metrics.h"
#include "store/store.h"

#define AB_INGEST_PRIORITIES 3

/* Room reserved in one experiment for a request's events (see
 * ab_state_reserve): held from before the events are stored until they
 * are counted, so that counting after the commit cannot fail. */
typedef struct {
    void *exp;                /* ab_live */
    size_t users, ids, revenue;
} ab_reservation;

/* What became of a submitted request. */
typedef enum {
    AB_INGEST_COUNTED = 0,    /* stored durably and counted */
    AB_INGEST_NO_MEMORY,      /* refused before anything was stored: --max-memory */
    AB_INGEST_NOT_STORED      /* the store failed: nothing of it was stored */
} ab_ingest_kind;

typedef struct {
    ab_ingest_kind kind;
    size_t accepted;          /* COUNTED: events counted */
    double duplicates;        /* COUNTED: of those, duplicates */
    ab_store_status store;    /* NOT_STORED: the store's kind */
    const char *why;          /* otherwise: what happened, for the answer (lives
                               * during the call) */
} ab_ingest_outcome;

struct ab_pending;
/* Called on the loop once per submitted request with its outcome; answers
 * the request. p is freed by ingest when it returns. */
typedef void (*ab_ingest_done)(void *arg, struct ab_pending *p, const ab_ingest_outcome *o);

/* One ingest request, from its parse to its completion. */
typedef struct ab_pending {
    struct evhttp_request *req; /* the handler's; ingest never touches it */
    ab_arena arena;
    ab_event_batch batch;
    ab_ingest_done done;
    void *done_arg;
    void *user;               /* the handler's (arena-owned, say), for its completion */
    size_t applied;           /* events counted so far (after the commit) */
    double duplicates;        /* of those, duplicates */
    ab_reservation *res;      /* in arena: one per run of an experiment */
    size_t nres;
    size_t mem;               /* bytes counted in flight for it */
    struct ab_pending *next;
} ab_pending;

/* What ingest works with, borrowed; each must outlive the ingest. */
typedef struct {
    struct event_base *base;  /* with AB_INGEST_PRIORITIES priorities (see above) */
    ab_store *store;
    ab_memory *memory;        /* reservations are counted in it */
    ab_metrics *metrics;
} ab_ingest_deps;

typedef struct ab_commit_group ab_commit_group;

/* What ingest asks of its owner to count what other nodes committed
 * (store.h, "Several nodes"; ingest_follow.c). */
typedef struct {
    /* The live experiment (ab_live) of store key `key`, or NULL when this
     * node does not hold it (deleted). */
    void *(*resolve)(void *arg, int64_t key);
    /* A configuration change or a deletion, applied on the loop once every
     * event before it in the log is counted. */
    void (*change)(void *arg, const ab_store_feed_item *it);
    void *arg;
} ab_ingest_follower;

typedef struct {
    ab_ingest_deps dep;
    struct event *idle_ev;    /* lowest priority: runs when no I/O is ready */
    struct event *wake_ev;    /* the store thread finished a commit */
    int wake_fd;              /* eventfd behind wake_ev */
    ab_store_batch *open;     /* the events of head..tail, not submitted yet */
    ab_pending *head, *tail;
    size_t requests;
    int64_t opened_ns;        /* when the open batch got its first request */
    ab_pending *done, *done_tail; /* committed, being counted in slices */
    int last_failed;          /* the last outcome heard was a failure */
    ab_ingest_follower follower; /* all NULL on a store of one node */
    uint64_t followed;        /* other nodes' events counted here */
} ab_ingest;

/* Sets up the commit and wake events on dep->base and the store's
 * notification. -1 on failure (ab_ingest_free cleans up). */
int ab_ingest_init(ab_ingest *in, const ab_ingest_deps *dep);
/* Call after a last ab_ingest_flush. */
void ab_ingest_free(ab_ingest *in);

/* A new pending request with an empty arena sized for a body of body_len
 * bytes and its completion (the caller fills batch), or NULL. */
ab_pending *ab_pending_new(struct evhttp_request *req, size_t body_len, ab_ingest_done done,
                           void *done_arg);
/* Frees p, releasing what it reserved (for a request never submitted). */
void ab_pending_free(ab_pending *p);
/* Bytes held by pending requests' arenas (for the memory account). */
size_t ab_ingest_inflight_bytes(void);

/* Adds p's events to the open batch, taking ownership of p; its
 * completion is called later, or at once when p is refused. First
 * reserves what counting them may need: when that would cross
 * --max-memory or fails, p is refused (NO_MEMORY) and nothing of it is
 * stored, so that COUNTED always means counted. */
void ab_ingest_submit(ab_ingest *in, ab_pending *p);

/* Reserves room for counting p's events in each experiment (README
 * "Storage and durability, Security": a 202 is only ever sent for counted
 * events, and counting comes after the commit, when failing is no longer
 * an option). 0, or -1 with *why set and nothing reserved: --max-memory
 * would be crossed (only unless force: events other nodes stored are
 * counted whatever it costs) or memory ran out. */
int ab_ingest_reserve(ab_ingest *in, ab_pending *p, int force, const char **why);
/* Counts committed events, at most budget (SIZE_MAX: all), oldest first,
 * completing each request once all its events are counted. */
void ab_ingest_count(ab_ingest *in, size_t budget);

/* Counts on this node what other nodes commit, in the store's order: sets
 * the store's follower (ab_store_set_follow) to ingest_follow.c's. Call
 * after ab_ingest_init, when the store is shared. */
void ab_ingest_follow(ab_ingest *in, const ab_ingest_follower *f);

/* Commits the open batch now, waits for every commit in flight, counts
 * every committed event and completes the requests; 0, or -1 when the
 * last commit failed (its requests completed NOT_STORED). Handlers that
 * change experiments call this first so that the order of events and
 * changes is the order of requests. (When the loop is idle, committed
 * events are counted in slices instead, so that other requests are
 * served between.) */
int ab_ingest_flush(ab_ingest *in);

#endif
