/* sqlite_write.c — the SQLite writes: event rows, experiments, monitoring, the counter. */
#include "store/sqlite_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "store/record.h"

ab_store_status ab_sqlite_write_counter_row(ab_sqlite *s, const ab_counter *c, ab_error *err)
{
    int rc;
    sqlite3_bind_int64(s->count_all, 1, (sqlite3_int64)c->commits);
    sqlite3_bind_int64(s->count_all, 2, (sqlite3_int64)c->batches);
    sqlite3_bind_int64(s->count_all, 3, (sqlite3_int64)c->events);
    rc = sqlite3_step(s->count_all);
    sqlite3_reset(s->count_all);
    return rc == SQLITE_DONE ? AB_STORE_OK : ab_sqlite_fail(s, err, "write the commit counter");
}

/* Failing here loses nothing (the file then says less than the database
 * holds, which start accepts); it is logged once. */
void ab_sqlite_write_side(ab_sqlite *s, const ab_counter *c, int sync)
{
    pthread_mutex_lock(&s->side_lock);
    if (c->commits >= s->side_commits) {
        if (ab_counter_write(s->ctr_fd, c, sync) == 0) {
            s->ctr_write_failed = 0;
            s->side_commits = c->commits;
        } else {
            if (!s->ctr_write_failed)
                ab_logerr("cannot write %s/%s: %s (the commit itself is stored; start-up "
                          "checks will be weaker until this is fixed)", s->dir,
                          AB_COUNTER_FILE, strerror(errno));
            s->ctr_write_failed = 1;
        }
    }
    pthread_mutex_unlock(&s->side_lock);
}

/* Under --durability full the writer runs with synchronous=NORMAL and
 * makes its commits durable here instead, with one fdatasync of the
 * write-ahead log for every commit that has returned so far: what
 * synchronous=FULL does inside each COMMIT, but off the commit thread and
 * shared by the commits that queue behind it. The log is opened each time,
 * so that a log SQLite re-created is the one synced; the first time, the
 * directory is synced too, so that the log's name survives a crash. */
ab_store_status ab_sqlite_sync_wal(ab_sqlite *s, ab_error *err)
{
    char path[4096 + 16];
    int fd, rc, saved;
    snprintf(path, sizeof path, "%s/abstat.db-wal", s->dir);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return ab_store_fail(err, AB_STORE_IO, "store: open %s for fdatasync: %s", path,
                             strerror(errno));
    rc = fdatasync(fd);
    saved = errno;
    close(fd);
    if (rc == 0 && !s->dir_synced) {
        if ((fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
            rc = -1;
            saved = errno;
        } else {
            rc = fsync(fd);
            saved = errno;
            close(fd);
        }
        if (rc == 0) s->dir_synced = 1;
    }
    if (rc != 0)
        return ab_store_fail(err, saved == ENOSPC ? AB_STORE_FULL : AB_STORE_IO,
                             "store: fdatasync of %s: %s", path, strerror(saved));
    return AB_STORE_OK;
}

/* The seal of a batch commit is the counter it left: the log first, so
 * that the side file never claims a commit the disk does not hold. */
ab_store_status ab_sqlite_witness(void *be, const ab_store_seal *seal, ab_error *err)
{
    ab_counter c = {seal->v[0], seal->v[1], seal->v[2], seal->v[3]};
    ab_store_status rc = ab_sqlite_sync_wal(be, err);
    if (rc) return rc;
    ab_sqlite_write_side(be, &c, 1);
    return AB_STORE_OK;
}

/* One experiment's records of the batch as one row, counted. */
static ab_store_status write_row(ab_sqlite *s, const ab_store_row *row, ab_error *err)
{
    sqlite3_stmt *insert;
    ab_store_status kind = ab_sqlite_stmt_insert(&s->stmts, s->db, row->key, &insert, err);
    int rc;
    if (kind) return kind;
    if (row->len > 0x7fffffff)
        return ab_store_fail(err, AB_STORE_INVALID, "store: a row of %zu bytes is too large",
                             row->len);
    ab_record_seal(row->buf, row->len, row->nev);
    sqlite3_bind_blob(insert, 1, row->buf, (int)row->len, SQLITE_STATIC);
    rc = sqlite3_step(insert);
    sqlite3_reset(insert);
    sqlite3_clear_bindings(insert);
    if (rc != SQLITE_DONE) return ab_sqlite_fail(s, err, "insert events");
    sqlite3_bind_int64(s->count_exp, 1, row->key);
    sqlite3_bind_int64(s->count_exp, 2, (sqlite3_int64)row->nev);
    rc = sqlite3_step(s->count_exp);
    sqlite3_reset(s->count_exp);
    if (rc != SQLITE_DONE) return ab_sqlite_fail(s, err, "count events");
    s->tx.batches += 1;
    s->tx.events += row->nev;
    return AB_STORE_OK;
}

ab_store_status ab_sqlite_commit_batch(void *be, const ab_store_batch *b, ab_store_seal *seal,
                                       ab_error *err)
{
    ab_sqlite *s = be;
    ab_store_status rc;
    if (s->in_tx)
        return ab_store_fail(err, AB_STORE_INVALID, "store: a batch inside a transaction");
    if (b->n == 0) return AB_STORE_OK; /* nothing to store, nothing to count */
    if ((rc = ab_sqlite_exec(s, "BEGIN IMMEDIATE", err))) return rc;
    s->tx = s->ctr;
    s->tx.commits = s->ctr.commits + 1;
    for (size_t i = 0; i < b->n; i++)
        if ((rc = write_row(s, &b->rows[i], err))) goto fail;
    if ((rc = ab_sqlite_write_counter_row(s, &s->tx, err)) ||
        (rc = ab_sqlite_exec(s, "COMMIT", err)))
        goto fail;
    s->ctr = s->tx;
    /* Under --durability full the log's and the side file's fdatasync are
     * left to the witness thread, overlapping the next commit; without
     * sync the side file is a write, done here. */
    if (s->ctr_sync) {
        seal->needed = 1;
        seal->v[0] = s->ctr.store_id;
        seal->v[1] = s->ctr.commits;
        seal->v[2] = s->ctr.batches;
        seal->v[3] = s->ctr.events;
    } else {
        ab_sqlite_write_side(s, &s->ctr, 0);
    }
    return AB_STORE_OK;
fail:
    ab_sqlite_abort(s);
    return rc;
}

ab_store_status ab_sqlite_put_experiment(void *be, ab_store_experiment *e, ab_error *err)
{
    ab_sqlite *s = be;
    sqlite3_stmt *st;
    int rc;
    if (e->key == 0) {
        char sql[256];
        st = s->put_new;
        sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e->config, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, e->stopped);
        sqlite3_bind_int64(st, 4, e->created_ms);
        sqlite3_bind_int64(st, 5, e->monitoring_since_ms);
        sqlite3_bind_text(st, 6, e->changes ? e->changes : "[]", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_DONE) return ab_sqlite_fail(s, err, "insert experiment");
        e->key = sqlite3_last_insert_rowid(s->db);
        snprintf(sql, sizeof sql, "CREATE TABLE ev_%lld(batch BLOB NOT NULL)",
                 (long long)e->key);
        return ab_sqlite_exec(s, sql, err);
    }
    st = s->put_old;
    sqlite3_bind_text(st, 1, e->config, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, e->stopped);
    sqlite3_bind_int64(st, 3, e->monitoring_since_ms);
    sqlite3_bind_text(st, 4, e->changes ? e->changes : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, e->key);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? AB_STORE_OK : ab_sqlite_fail(s, err, "update experiment");
}

ab_store_status ab_sqlite_delete_experiment(void *be, int64_t key, ab_error *err)
{
    ab_sqlite *s = be;
    char sql[320];
    sqlite3_stmt *st;
    ab_sqlite_stmt_drop(&s->stmts, key);
    /* Its rows and events leave the counter with it. */
    if (sqlite3_prepare_v2(s->db, "SELECT batches, events FROM commits WHERE key = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return ab_sqlite_fail(s, err, "read the commit counter");
    sqlite3_bind_int64(st, 1, key);
    if (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t b = (uint64_t)sqlite3_column_int64(st, 0);
        uint64_t n = (uint64_t)sqlite3_column_int64(st, 1);
        s->tx.batches -= b < s->tx.batches ? b : s->tx.batches;
        s->tx.events -= n < s->tx.events ? n : s->tx.events;
    }
    sqlite3_finalize(st);
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS ev_%lld; DELETE FROM experiments WHERE key = %lld;"
             "DELETE FROM monitor WHERE key = %lld; DELETE FROM commits WHERE key = %lld;",
             (long long)key, (long long)key, (long long)key, (long long)key);
    return ab_sqlite_exec(s, sql, err);
}

ab_store_status ab_sqlite_put_monitor(void *be, const ab_store_monitor *m, ab_error *err)
{
    ab_sqlite *s = be;
    sqlite3_stmt *st = s->put_monitor;
    int rc;
    sqlite3_bind_int64(st, 1, m->key);
    sqlite3_bind_int(st, 2, m->arm);
    if (isfinite(m->min_p)) sqlite3_bind_double(st, 3, m->min_p);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, m->status);
    sqlite3_bind_int64(st, 5, m->significant_since_ms);
    if (isfinite(m->lo)) sqlite3_bind_double(st, 6, m->lo);
    else sqlite3_bind_null(st, 6);
    if (isfinite(m->hi)) sqlite3_bind_double(st, 7, m->hi);
    else sqlite3_bind_null(st, 7);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? AB_STORE_OK : ab_sqlite_fail(s, err, "write monitor");
}

ab_store_status ab_sqlite_clear_monitor(void *be, int64_t key, ab_error *err)
{
    char sql[96];
    snprintf(sql, sizeof sql, "DELETE FROM monitor WHERE key = %lld;", (long long)key);
    return ab_sqlite_exec(be, sql, err);
}
