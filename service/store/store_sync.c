/* store_sync.c — the caller's side of store.h: synchronous writes, the start, operations. */
#include "store/store_impl.h"

#include <string.h>

/* ---- Synchronous writes ------------------------------------------------ */

ab_store_status ab_store_begin(ab_store *s, ab_error *err)
{
    ab_store_status rc;
    if (s->in_tx) return AB_STORE_OK;
    if (s->held)
        return ab_store_fail(err, AB_STORE_INVALID, "store: a transaction inside a callback");
    pthread_mutex_lock(&s->backend);
    if ((rc = s->be->begin(s->impl, err)) != AB_STORE_OK) {
        pthread_mutex_unlock(&s->backend);
        return rc;
    }
    s->in_tx = 1;
    return AB_STORE_OK;
}

ab_store_status ab_store_commit(ab_store *s, ab_error *err)
{
    ab_store_status rc;
    if (!s->in_tx) return AB_STORE_OK;
    rc = s->be->commit(s->impl, err);
    s->in_tx = 0;
    pthread_mutex_unlock(&s->backend);
    return rc;
}

void ab_store_rollback(ab_store *s)
{
    if (!s->in_tx) return;
    s->be->rollback(s->impl);
    s->in_tx = 0;
    pthread_mutex_unlock(&s->backend);
}

int ab_store_in_transaction(const ab_store *s)
{
    return s->in_tx;
}

static ab_store_status outside(ab_error *err)
{
    return ab_store_fail(err, AB_STORE_INVALID, "store: write outside a transaction");
}

ab_store_status ab_store_put_experiment(ab_store *s, ab_store_experiment *e, ab_error *err)
{
    return s->in_tx ? s->be->put_experiment(s->impl, e, err) : outside(err);
}

ab_store_status ab_store_delete_experiment(ab_store *s, int64_t key, ab_error *err)
{
    return s->in_tx ? s->be->delete_experiment(s->impl, key, err) : outside(err);
}

ab_store_status ab_store_put_monitor(ab_store *s, const ab_store_monitor *m, ab_error *err)
{
    return s->in_tx ? s->be->put_monitor(s->impl, m, err) : outside(err);
}

ab_store_status ab_store_clear_monitor(ab_store *s, int64_t key, ab_error *err)
{
    return s->in_tx ? s->be->clear_monitor(s->impl, key, err) : outside(err);
}

/* ---- Start and operations ---------------------------------------------- */

/* Runs one backend call with the backend held, unless the caller holds
 * it already: a transaction, or a load or outbox callback that calls the
 * store again. */
#define HELD(s, call)                                                       \
    do {                                                                    \
        int take_ = !(s)->in_tx && !(s)->held;                              \
        if (take_) pthread_mutex_lock(&(s)->backend);                       \
        (s)->held++;                                                        \
        call;                                                               \
        (s)->held--;                                                        \
        if (take_) pthread_mutex_unlock(&(s)->backend);                     \
    } while (0)

ab_store_status ab_store_load(ab_store *s, const ab_store_loader *loader, void *ctx,
                              ab_error *err)
{
    ab_store_status rc;
    memset(&s->integ, 0, sizeof s->integ);
    HELD(s, rc = s->be->load(s->impl, loader, ctx, s->recover, &s->integ, err));
    return rc;
}

void ab_store_set_recover(ab_store *s, int recover)
{
    s->recover = recover;
}

const ab_store_integrity *ab_store_integrity_of(const ab_store *s)
{
    return &s->integ;
}

int ab_store_writable(ab_store *s)
{
    int ok;
    if (s->in_tx) return 1; /* a transaction is open: its commit will tell */
    HELD(s, ok = s->be->writable(s->impl));
    return ok;
}

size_t ab_store_memory_bytes(const ab_store *s)
{
    return s ? s->be->memory_bytes(s->impl) : ab_store_sqlite.memory_bytes(NULL);
}

ab_store_status ab_store_outbox_put(ab_store *s, const ab_store_delivery *d, ab_error *err)
{
    ab_store_status rc;
    HELD(s, rc = s->be->outbox_put(s->impl, d, err));
    return rc;
}

ab_store_status ab_store_outbox_del(ab_store *s, const char *id, ab_error *err)
{
    ab_store_status rc;
    HELD(s, rc = s->be->outbox_del(s->impl, id, err));
    return rc;
}

ab_store_status ab_store_outbox_load(ab_store *s,
                                     int (*cb)(void *ctx, const ab_store_delivery *d),
                                     void *ctx, ab_error *err)
{
    ab_store_status rc;
    HELD(s, rc = s->be->outbox_load(s->impl, cb, ctx, err));
    return rc;
}

ab_store_status ab_store_monitor_load(ab_store *s, int (*cb)(void *ctx, const ab_store_monitor *m),
                                      void *ctx, ab_error *err)
{
    ab_store_status rc;
    if (!s->be->monitor_load) return AB_STORE_OK; /* one node: its memory is the state */
    HELD(s, rc = s->be->monitor_load(s->impl, cb, ctx, err));
    return rc;
}
