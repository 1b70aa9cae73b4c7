/* store.c — the backend-independent half of store.h: the commit thread and its order. */
#include "store/store_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A job is done: its outcome goes to the caller, who is woken. Called
 * and returns with s->lock held. The job counts as unfinished until the
 * wake-up has returned: ab_store_wait returns only then, so a caller that
 * waited may take its waker away (ab_store_set_notify). */
static void finish(ab_store *s, job *j)
{
    if (s->done_tail) s->done_tail->next = j;
    else s->done = j;
    s->done_tail = j;
    if (s->notify) {
        /* Outside the lock: the waker may take locks of its own. */
        void (*notify)(void *) = s->notify;
        void *narg = s->notify_arg;
        pthread_mutex_unlock(&s->lock);
        notify(narg);
        pthread_mutex_lock(&s->lock);
    }
    s->unfinished--;
    pthread_cond_broadcast(&s->finished);
}

/* The commit thread: commits queued batches one after the other, in
 * order; a commit that left a seal (or follows one still being sealed)
 * goes on to the witness thread, so that outcomes keep their order. */
/* How often an idle store thread looks for a notification of a shared
 * store (a local check, no round trip; the backend queries at most every
 * AB_STORE_FOLLOW_POLL_MS without one). */
#define FOLLOW_TICK_MS 20

/* Idle, on a shared store: what the others committed since goes to the
 * caller as a job of its own, behind every outcome before it. Called and
 * returns with s->lock held. */
static void follow_idle(ab_store *s)
{
    ab_error err = {0, ""};
    ab_store_status kind;
    /* The job first: items once read must reach the caller, in order. */
    job *j = calloc(1, sizeof *j);
    if (!j) return;
    j->followed = 1;
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_lock(&s->backend);
    kind = s->be->follow(s->impl, 1, &j->feed, &err);
    pthread_mutex_unlock(&s->backend);
    if (kind && kind != AB_STORE_BUSY)
        ab_log_ratelimited(AB_LOG_ERROR, "following the shared log: %s", err.text);
    pthread_mutex_lock(&s->lock);
    if (!j->feed.n) {
        free(j);
        return;
    }
    s->unfinished++;
    finish(s, j);
}

static void wait_work(ab_store *s)
{
    struct timespec ts;
    if (!s->be->follow) {
        pthread_cond_wait(&s->work, &s->lock);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += FOLLOW_TICK_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    if (pthread_cond_timedwait(&s->work, &s->lock, &ts) != 0 && !s->queue && !s->stop)
        follow_idle(s);
}

static void *commit_main(void *arg)
{
    ab_store *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        job *j;
        double t0;
        while (!s->queue && !s->stop) wait_work(s);
        if (!s->queue) break; /* stopping, and nothing left */
        j = s->queue;
        s->queue = j->next;
        if (!s->queue) s->queue_tail = NULL;
        pthread_mutex_unlock(&s->lock);

        j->next = NULL;
        memset(&j->result, 0, sizeof j->result);
        memset(&j->seal, 0, sizeof j->seal);
        j->result.events = j->batch->events;
        t0 = mono_seconds();
        pthread_mutex_lock(&s->backend);
        j->result.kind = s->be->commit_batch(s->impl, j->batch, &j->seal, &j->result.err);
        /* The others' items below this batch's seq come before its outcome. */
        if (j->result.kind == AB_STORE_OK && s->be->follow) {
            ab_error ferr = {0, ""};
            if (s->be->follow(s->impl, 0, &j->feed, &ferr))
                ab_log_ratelimited(AB_LOG_ERROR, "following the shared log: %s", ferr.text);
        }
        pthread_mutex_unlock(&s->backend);
        j->result.seconds = mono_seconds() - t0;

        pthread_mutex_lock(&s->lock);
        s->uncommitted--;
        if (s->be->witness && (j->seal.needed || s->sealq || s->sealing)) {
            if (s->sealq_tail) s->sealq_tail->next = j;
            else s->sealq = j;
            s->sealq_tail = j;
            pthread_cond_signal(&s->seal);
            /* The caller may send the next batch now (ab_store_accepting). */
            if (s->notify) {
                void (*notify)(void *) = s->notify;
                void *narg = s->notify_arg;
                pthread_mutex_unlock(&s->lock);
                notify(narg);
                pthread_mutex_lock(&s->lock);
            }
        } else {
            finish(s, j);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* The witness thread: the backend's last step of sealed commits, in
 * order, while the commit thread goes on with the next batch. Every
 * commit sealed while one witness ran is covered by the next one, so a
 * slow fdatasync serves all the batches that queued behind it. */
static void *witness_main(void *arg)
{
    ab_store *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        job *group, *j, *last = NULL;
        while (!s->sealq && !s->stop_witness) pthread_cond_wait(&s->seal, &s->lock);
        if (!s->sealq) break;
        group = s->sealq;
        s->sealq = s->sealq_tail = NULL;
        s->sealing = 1;
        pthread_mutex_unlock(&s->lock);
        for (j = group; j; j = j->next)
            if (j->result.kind == AB_STORE_OK && j->seal.needed) last = j;
        if (last) {
            ab_error err = {0};
            double t0 = mono_seconds(), took;
            ab_store_status kind = s->be->witness(s->impl, &last->seal, &err);
            took = mono_seconds() - t0;
            for (j = group; j; j = j->next) {
                if (j->result.kind != AB_STORE_OK || !j->seal.needed) continue;
                j->result.seconds += took;
                if (kind != AB_STORE_OK) {
                    j->result.kind = kind;
                    j->result.err = err;
                }
                if (j == last) break;
            }
        }
        pthread_mutex_lock(&s->lock);
        s->sealing = 0;
        while (group) {
            j = group;
            group = j->next;
            j->next = NULL;
            finish(s, j);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Stops the threads once they have run out of work. */
static void stop_threads(ab_store *s)
{
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    if (s->started) pthread_join(s->thread, NULL);
    s->started = 0;
    pthread_mutex_lock(&s->lock);
    s->stop_witness = 1;
    pthread_cond_signal(&s->seal);
    pthread_mutex_unlock(&s->lock);
    if (s->witness_started) pthread_join(s->witness, NULL);
    s->witness_started = 0;
}

ab_store *ab_store_open_with(const ab_store_backend *be, const char *where,
                             ab_durability durability, ab_error *err)
{
    ab_store *s = calloc(1, sizeof *s);
    if (!s) {
        ab_store_fail(err, AB_STORE_NOMEM, "out of memory");
        return NULL;
    }
    s->be = be;
    if (pthread_mutex_init(&s->backend, NULL)) goto no_locks;
    if (pthread_mutex_init(&s->lock, NULL)) goto no_lock;
    if (pthread_cond_init(&s->work, NULL)) goto no_work;
    if (pthread_cond_init(&s->finished, NULL)) goto no_finished;
    if (pthread_cond_init(&s->seal, NULL)) goto no_seal;
    if (!(s->impl = be->open(where, durability, err))) goto no_impl;
    if (pthread_create(&s->witness, NULL, witness_main, s)) {
        ab_store_fail(err, AB_STORE_INTERNAL, "store: cannot start the witness thread");
        be->close(s->impl);
        goto no_impl;
    }
    s->witness_started = 1;
    /* Names for top -H and perf; failing to set one changes nothing. */
    (void)pthread_setname_np(s->witness, "abstat-witness");
    if (pthread_create(&s->thread, NULL, commit_main, s)) {
        ab_store_fail(err, AB_STORE_INTERNAL, "store: cannot start the commit thread");
        stop_threads(s);
        be->close(s->impl);
        goto no_impl;
    }
    s->started = 1;
    (void)pthread_setname_np(s->thread, "abstat-commit");
    return s;
no_impl:
    pthread_cond_destroy(&s->seal);
no_seal:
    pthread_cond_destroy(&s->finished);
no_finished:
    pthread_cond_destroy(&s->work);
no_work:
    pthread_mutex_destroy(&s->lock);
no_lock:
    pthread_mutex_destroy(&s->backend);
no_locks:
    if (err && !err->text[0])
        ab_store_fail(err, AB_STORE_INTERNAL, "store: cannot create its locks");
    free(s);
    return NULL;
}

ab_store *ab_store_open(const char *dir, ab_durability durability, ab_error *err)
{
    return ab_store_open_with(&ab_store_sqlite, dir, durability, err);
}

void ab_store_close(ab_store *s)
{
    if (!s) return;
    if (s->in_tx) ab_store_rollback(s);
    ab_store_wait(s);
    stop_threads(s);
    ab_store_complete(s); /* anything the joins let finish */
    s->be->close(s->impl);
    pthread_cond_destroy(&s->seal);
    pthread_cond_destroy(&s->finished);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->backend);
    free(s);
}

/* ---- Batches ----------------------------------------------------------- */

void ab_store_set_notify(ab_store *s, void (*notify)(void *arg), void *arg)
{
    pthread_mutex_lock(&s->lock);
    s->notify = notify;
    s->notify_arg = arg;
    pthread_mutex_unlock(&s->lock);
}

void ab_store_set_follow(ab_store *s, ab_store_follow follow, void *arg)
{
    s->follow = follow;
    s->follow_arg = arg;
}

int ab_store_shared(const ab_store *s)
{
    return s->be->follow != NULL;
}

int ab_store_evaluator(const ab_store *s)
{
    return s->be->evaluator ? s->be->evaluator(s->impl) : 1;
}

ab_store_status ab_store_submit(ab_store *s, ab_store_batch *b, ab_store_done done, void *arg)
{
    job *j = calloc(1, sizeof *j);
    if (!j) {
        ab_store_batch_free(b);
        return AB_STORE_NOMEM;
    }
    j->batch = b;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&s->lock);
    if (s->queue_tail) s->queue_tail->next = j;
    else s->queue = j;
    s->queue_tail = j;
    s->unfinished++;
    s->uncommitted++;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    s->in_flight++;
    return AB_STORE_OK;
}

size_t ab_store_complete(ab_store *s)
{
    job *list, *next;
    size_t n = 0;
    pthread_mutex_lock(&s->lock);
    list = s->done;
    s->done = s->done_tail = NULL;
    pthread_mutex_unlock(&s->lock);
    for (; list; list = next) {
        next = list->next;
        ab_store_feed_run(&list->feed, s->follow, s->follow_arg);
        if (list->followed) {
            free(list);
            n++;
            continue;
        }
        s->in_flight--;
        if (list->done) list->done(list->arg, &list->result);
        ab_store_batch_free(list->batch);
        free(list);
        n++;
    }
    return n;
}

void ab_store_wait(ab_store *s)
{
    /* Holding the backend (a transaction, a callback of a load) the thread
     * could not commit: waiting would never end, so run what is done. */
    int can_wait = !s->in_tx && !s->held;
    do {
        if (can_wait) {
            pthread_mutex_lock(&s->lock);
            while (s->unfinished) pthread_cond_wait(&s->finished, &s->lock);
            pthread_mutex_unlock(&s->lock);
        }
        /* Callbacks may submit again: until nothing is left. */
    } while (ab_store_complete(s) && can_wait);
}

size_t ab_store_in_flight(const ab_store *s)
{
    return s->in_flight;
}

int ab_store_accepting(ab_store *s)
{
    int idle;
    pthread_mutex_lock(&s->lock);
    idle = s->uncommitted == 0;
    pthread_mutex_unlock(&s->lock);
    return idle;
}

