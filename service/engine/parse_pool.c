/* parse_pool.c — worker threads for parsing ingest bodies; completions
 * return to the event loop through an eventfd. */
#include "engine/parse_pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

static void *worker(void *arg)
{
    ab_parse_pool *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        ab_parse_job *job;
        while (!pool->stop && !pool->todo) pthread_cond_wait(&pool->work, &pool->lock);
        if (pool->stop && !pool->todo) break;
        job = pool->todo;
        pool->todo = job->next;
        if (!pool->todo) pool->todo_tail = NULL;
        pool->busy++;
        pthread_mutex_unlock(&pool->lock);

        pool->parse(pool->ctx, job);

        pthread_mutex_lock(&pool->lock);
        job->next = NULL;
        if (pool->done_tail) pool->done_tail->next = job;
        else pool->done = job;
        pool->done_tail = job;
        pool->busy--;
        if (!pool->todo && !pool->busy) pthread_cond_broadcast(&pool->idle);
        {
            uint64_t one = 1;
            /* A full eventfd counter still wakes the loop: ignore EAGAIN. */
            if (write(pool->efd, &one, sizeof one) < 0 && errno != EAGAIN) {}
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* On the loop: finish every completed job. */
static void complete(ab_parse_pool *pool)
{
    ab_parse_job *job, *next;
    pthread_mutex_lock(&pool->lock);
    job = pool->done;
    pool->done = pool->done_tail = NULL;
    pthread_mutex_unlock(&pool->lock);
    for (; job; job = next) {
        next = job->next;
        pool->complete(pool->ctx, job);
        free(job);
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    uint64_t n;
    (void)what;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN) ab_warn("parse pool: eventfd read failed");
    complete(arg);
}

int ab_parse_pool_start(ab_parse_pool *pool, struct event_base *base, int nthreads,
                        ab_parse_fn parse, ab_parse_done_fn done, void *ctx)
{
    memset(pool, 0, sizeof *pool);
    pool->parse = parse;
    pool->complete = done;
    pool->ctx = ctx;
    pool->efd = -1;
    if (nthreads <= 0) return 0;
    if (nthreads > 8) nthreads = 8;
    if (pthread_mutex_init(&pool->lock, NULL) || pthread_cond_init(&pool->work, NULL) ||
        pthread_cond_init(&pool->idle, NULL))
        return -1;
    if ((pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) return -1;
    pool->done_ev = event_new(base, pool->efd, EV_READ | EV_PERSIST, on_done, pool);
    if (!pool->done_ev || event_add(pool->done_ev, NULL)) return -1;
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker, pool)) return -1;
        /* A name for top -H and perf; failing to set one changes nothing. */
        (void)pthread_setname_np(pool->threads[i], "abstat-parse");
        pool->nthreads++;
    }
    return 0;
}

int ab_parse_pool_submit(ab_parse_pool *pool, ab_pending *p, const char *body, size_t len,
                         const ab_ts_window *window)
{
    ab_parse_job *job;
    if (!pool->nthreads || !(job = calloc(1, sizeof *job))) return -1;
    job->p = p;
    job->body = body;
    job->len = len;
    job->window = *window;
    pthread_mutex_lock(&pool->lock);
    if (pool->todo_tail) pool->todo_tail->next = job;
    else pool->todo = job;
    pool->todo_tail = job;
    pthread_cond_signal(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

void ab_parse_pool_drain(ab_parse_pool *pool)
{
    if (!pool->nthreads) return;
    pthread_mutex_lock(&pool->lock);
    while (pool->todo || pool->busy) pthread_cond_wait(&pool->idle, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    complete(pool);
}

void ab_parse_pool_stop(ab_parse_pool *pool)
{
    if (pool->nthreads) {
        pthread_mutex_lock(&pool->lock);
        pool->stop = 1;
        pthread_cond_broadcast(&pool->work);
        pthread_mutex_unlock(&pool->lock);
        for (int i = 0; i < pool->nthreads; i++) pthread_join(pool->threads[i], NULL);
        complete(pool); /* jobs finished while stopping still get their answer */
        pthread_cond_destroy(&pool->idle);
        pthread_cond_destroy(&pool->work);
        pthread_mutex_destroy(&pool->lock);
        pool->nthreads = 0;
    }
    if (pool->done_ev) event_free(pool->done_ev);
    pool->done_ev = NULL;
    if (pool->efd >= 0) close(pool->efd);
    pool->efd = -1;
}
