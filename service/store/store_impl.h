/* store_impl.h — what store.c (the threads) and store_sync.c (the caller's writes) share: the handle. */
#ifndef ABSTAT_STORE_IMPL_H
#define ABSTAT_STORE_IMPL_H

#include <pthread.h>

#include "store/store_backend.h"

/* One submitted batch: queued, then committed and waiting for its
 * callback on the caller's thread. */
typedef struct job {
    ab_store_batch *batch;
    ab_store_done done;
    void *arg;
    ab_store_result result;
    ab_store_seal seal;
    ab_store_feed feed;          /* other nodes' items, before this batch's outcome */
    int followed;                /* no batch: only what the log brought (never submitted) */
    struct job *next;
} job;

struct ab_store {
    const ab_store_backend *be;
    void *impl;
    /* The backend is used by one thread at a time: the store thread holds
     * this during a batch commit, the caller from begin to commit (and
     * around each write outside a transaction). */
    pthread_mutex_t backend;
    /* lock guards the queues, unfinished, sealing and the stops; work
     * wakes the commit thread, seal the witness thread, finished
     * ab_store_wait. */
    pthread_mutex_t lock;
    pthread_cond_t work, seal, finished;
    job *queue, *queue_tail;     /* submitted, not committed yet */
    job *sealq, *sealq_tail;     /* committed, the backend's witness to run */
    job *done, *done_tail;       /* committed, callback not run yet */
    size_t unfinished;           /* submitted and not finished */
    size_t uncommitted;          /* submitted and not through commit_batch yet */
    size_t in_flight;            /* submitted and callback not run (caller's thread) */
    int sealing;                 /* the witness thread holds a job */
    int stop, stop_witness;
    pthread_t thread, witness;
    int started, witness_started;
    void (*notify)(void *arg);
    void *notify_arg;
    ab_store_follow follow;      /* caller's thread only */
    void *follow_arg;
    int in_tx;                   /* caller's thread only */
    int held;                    /* caller's thread only: inside a HELD call */
    int recover;
    ab_store_integrity integ;
};

#endif
