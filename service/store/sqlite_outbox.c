/* sqlite_outbox.c — the SQLite backend's webhook outbox (store.h), a table made at first use. */
#include "store/sqlite_impl.h"

static ab_store_status outbox_table(ab_sqlite *s, ab_error *err)
{
    return ab_sqlite_exec(s, "CREATE TABLE IF NOT EXISTS outbox(id TEXT PRIMARY KEY,"
                             " url TEXT NOT NULL, body TEXT NOT NULL, created INTEGER NOT NULL)",
                          err);
}

/* Runs one statement (text parameters p1..p3, integer p4 when >= 0) inside
 * the open transaction, or in one of its own. */
static ab_store_status outbox_exec(ab_sqlite *s, const char *sql, const char *p1,
                                   const char *p2, const char *p3, int64_t p4, ab_error *err)
{
    sqlite3_stmt *st = NULL;
    int own = !s->in_tx;
    ab_store_status kind;
    if (own && (kind = ab_sqlite_exec(s, "BEGIN IMMEDIATE", err))) return kind;
    if ((kind = outbox_table(s, err))) goto fail;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        kind = ab_sqlite_fail(s, err, "outbox");
        goto fail;
    }
    if (p1) sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
    if (p2) sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
    if (p3) sqlite3_bind_text(st, 3, p3, -1, SQLITE_STATIC);
    if (p4 >= 0) sqlite3_bind_int64(st, 4, (sqlite3_int64)p4);
    if (sqlite3_step(st) != SQLITE_DONE) {
        kind = ab_sqlite_fail(s, err, "outbox");
        goto fail;
    }
    sqlite3_finalize(st);
    if (own && (kind = ab_sqlite_exec(s, "COMMIT", err))) {
        ab_sqlite_abort(s);
        return kind;
    }
    return AB_STORE_OK;
fail:
    sqlite3_finalize(st);
    if (own) ab_sqlite_abort(s);
    return kind;
}

ab_store_status ab_sqlite_outbox_put(void *be, const ab_store_delivery *d, ab_error *err)
{
    return outbox_exec(be, "INSERT OR REPLACE INTO outbox(id, url, body, created) "
                           "VALUES(?1, ?2, ?3, ?4)", d->id, d->url, d->body,
                       d->created_ms < 0 ? 0 : d->created_ms, err);
}

ab_store_status ab_sqlite_outbox_del(void *be, const char *id, ab_error *err)
{
    return outbox_exec(be, "DELETE FROM outbox WHERE id = ?1", id, NULL, NULL, -1, err);
}

ab_store_status ab_sqlite_outbox_load(void *be, int (*cb)(void *ctx, const ab_store_delivery *d),
                                      void *ctx, ab_error *err)
{
    ab_sqlite *s = be;
    sqlite3_stmt *st = NULL;
    ab_store_status kind;
    int rc;
    if (!s->in_tx && (kind = outbox_table(s, err))) return kind;
    if (sqlite3_prepare_v2(s->db, "SELECT id, url, body, created FROM outbox ORDER BY created, id",
                           -1, &st, NULL) != SQLITE_OK)
        return ab_sqlite_fail(s, err, "read outbox");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ab_store_delivery d = {(const char *)sqlite3_column_text(st, 0),
                               (const char *)sqlite3_column_text(st, 1),
                               (const char *)sqlite3_column_text(st, 2),
                               sqlite3_column_int64(st, 3)};
        if (!d.id || !d.url || !d.body) continue;
        if (cb(ctx, &d)) {
            sqlite3_finalize(st);
            return ab_store_fail(err, AB_STORE_INTERNAL,
                                 "store: loading the webhook outbox failed");
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AB_STORE_OK : ab_sqlite_fail(s, err, "read outbox");
}
