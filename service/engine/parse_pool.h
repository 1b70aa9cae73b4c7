/* parse_pool.h — parsing large ingest bodies on worker threads, so that
 * the event loop only stores, counts and answers them (and a results
 * request does not wait behind the parse of a 1,000-event batch). */
#ifndef ABSTAT_PARSE_POOL_H
#define ABSTAT_PARSE_POOL_H

#include <event2/event.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "engine/ingest.h"

struct ab_daemon;

typedef struct ab_parse_job {
    ab_pending *p;             /* the request and its arena; batch filled by the worker */
    const char *body;          /* the request's input buffer: the loop leaves it alone */
    size_t len;
    ab_ts_window window;       /* the request's arrival and ts range */
    uint64_t generation;       /* registry generation while parsing */
    int rc;
    ab_error err;
    struct ab_parse_job *next;
} ab_parse_job;

typedef struct {
    struct ab_daemon *d;
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

/* Starts nthreads workers (0: no pool; everything parses on the loop). */
int ab_parse_pool_start(ab_parse_pool *pool, struct ab_daemon *d, int nthreads);
/* Queues p's body; the completion (on the loop) submits or answers it. */
int ab_parse_pool_submit(ab_parse_pool *pool, ab_pending *p, const char *body, size_t len,
                         const ab_ts_window *window);
/* Waits for every queued job and completes them (at shutdown). */
void ab_parse_pool_drain(ab_parse_pool *pool);
void ab_parse_pool_stop(ab_parse_pool *pool);

#endif
