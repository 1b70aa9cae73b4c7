/* sqlite_checkpoint.c — WAL checkpoints on their own thread and connection (sqlite_impl.h). */
#include "store/sqlite_impl.h"

#include <time.h>

/* WAL size (pages) at which the checkpointer is woken. */
#define CHECKPOINT_PAGES 4000

static void *checkpoint_main(void *arg)
{
    ab_sqlite_checkpointer *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1; /* at least once a second while there is work */
        while (!c->stop && !c->wanted)
            if (pthread_cond_timedwait(&c->wake, &c->lock, &until) != 0) break;
        if (c->stop) break;
        c->wanted = 0;
        pthread_mutex_unlock(&c->lock);
        /* PASSIVE: never waits for the writer; what it cannot copy now it
         * copies next time. Errors (disk full) are retried next round. */
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* SQLite calls this after each commit with the WAL's size in pages. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    ab_sqlite_checkpointer *c = arg;
    (void)db;
    (void)name;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&c->lock);
        c->wanted = 1;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
    }
    return SQLITE_OK;
}

ab_store_status ab_sqlite_checkpointer_start(ab_sqlite_checkpointer *c, sqlite3 *db,
                                             const char *path, const char *sync,
                                             ab_error *err)
{
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(c->db, sync, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return ab_store_fail(err, ab_sqlite_kind(rc), "store: checkpoint connection: %s",
                             c->db ? sqlite3_errmsg(c->db) : "out of memory");
    sqlite3_busy_timeout(c->db, 100);
    if (pthread_mutex_init(&c->lock, NULL))
        return ab_store_fail(err, AB_STORE_INTERNAL, "store: cannot create the checkpoint lock");
    if (pthread_cond_init(&c->wake, NULL)) {
        pthread_mutex_destroy(&c->lock);
        return ab_store_fail(err, AB_STORE_INTERNAL, "store: cannot create the checkpoint lock");
    }
    if (pthread_create(&c->thread, NULL, checkpoint_main, c)) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        return ab_store_fail(err, AB_STORE_INTERNAL, "store: cannot start the checkpoint thread");
    }
    c->started = 1;
    (void)pthread_setname_np(c->thread, "abstat-ckpt"); /* for top -H; cosmetic */
    /* Replaces the automatic checkpoint (it is a WAL hook too). */
    sqlite3_wal_hook(db, wal_hook, c);
    return AB_STORE_OK;
}

void ab_sqlite_checkpointer_stop(ab_sqlite_checkpointer *c, sqlite3 *db)
{
    if (c->started) {
        pthread_mutex_lock(&c->lock);
        c->stop = 1;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        c->started = 0;
    }
    if (db) sqlite3_wal_hook(db, NULL, NULL);
    if (c->db) sqlite3_close(c->db);
    c->db = NULL;
}
