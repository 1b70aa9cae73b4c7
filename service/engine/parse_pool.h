/* parse_pool.h — parsing large ingest bodies on worker threads, so that
 * the event loop only stores, counts and answers them (and a results
 * request does not wait behind the parse of a 1,000-event batch). */
#ifndef ABSTAT_PARSE_POOL_H
#define ABSTAT_PARSE_POOL_H

#include <event2/event.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "core/event.h"
#include "engine/ingest.h"

/* One body to parse: submit fills in the request, the rest is the
 * callbacks' to fill and read. */
typedef struct ab_parse_job {
    ab_pending *p;             /* the request and its arena; batch filled by the parse */
    const char *body;          /* the request's input buffer: the loop leaves it alone */
    size_t len;
    ab_ts_window window;       /* the request's arrival and ts range */
    uint64_t generation;       /* for the callbacks: what the parse saw */
    int rc;                    /* the parse's outcome, for the completion */
    ab_error err;
    struct ab_parse_job *next;
} ab_parse_job;

/* Runs on a worker thread: parses job->body into job->p, sets job->rc
 * and job->err. */
typedef void (*ab_parse_fn)(void *ctx, ab_parse_job *job);
/* Runs on the loop once the parse is done; owns job->p from then on (the
 * pool frees the job itself after it returns). */
typedef void (*ab_parse_done_fn)(void *ctx, ab_parse_job *job);

typedef struct {
    ab_parse_fn parse;
    ab_parse_done_fn complete;
    void *ctx;                 /* both callbacks' first argument */
    pthread_t threads[8];
    int nthreads;
    pthread_mutex_t lock;
    pthread_cond_t work;
    pthread_cond_t idle;
    ab_parse_job *todo, *todo_tail, *done, *done_tail;
    int busy;                  /* jobs taken by workers, not yet done */
    int stop;
    int efd;                   /* eventfd: workers wake the loop */
    struct event *done_ev;
} ab_parse_pool;

/* Bodies at least this large go to the pool (smaller ones parse faster
 * than a hand-off). */
#define AB_PARSE_POOL_MIN_BODY 16384

/* Starts nthreads workers (at most 8; 0: no pool, submit refuses and
 * everything parses on the loop) whose completions come back on base.
 * -1 when threads or the wake-up cannot be set up (stop cleans up). */
int ab_parse_pool_start(ab_parse_pool *pool, struct event_base *base, int nthreads,
                        ab_parse_fn parse, ab_parse_done_fn done, void *ctx);
/* Queues p's body (borrowed until the completion); parse runs on a
 * worker, then done on the loop. -1 when there is no pool or no memory:
 * the caller parses itself. */
int ab_parse_pool_submit(ab_parse_pool *pool, ab_pending *p, const char *body, size_t len,
                         const ab_ts_window *window);
/* Waits for every queued job and completes them (at shutdown). */
void ab_parse_pool_drain(ab_parse_pool *pool);
void ab_parse_pool_stop(ab_parse_pool *pool);

#endif
