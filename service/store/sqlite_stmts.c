/* sqlite_stmts.c — the cache of each experiment's prepared INSERT, by key (sqlite_impl.h). */
#include "store/sqlite_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Index of the first entry with a key >= key. */
static size_t lower_bound(const ab_sqlite_stmts *c, int64_t key)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

ab_store_status ab_sqlite_stmt_insert(ab_sqlite_stmts *c, sqlite3 *db, int64_t key,
                                      sqlite3_stmt **out, ab_error *err)
{
    char sql[160];
    sqlite3_stmt *st;
    size_t i = lower_bound(c, key);
    int rc;
    if (i < c->n && c->v[i].key == key) {
        *out = c->v[i].insert;
        return AB_STORE_OK;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        ab_sqlite_stmt *v = realloc(c->v, cap * sizeof *v);
        if (!v) return ab_store_fail(err, AB_STORE_NOMEM, "store: out of memory");
        c->v = v;
        c->cap = cap;
    }
    snprintf(sql, sizeof sql, "INSERT INTO ev_%lld(batch) VALUES(?)", (long long)key);
    if ((rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL)) !=
        SQLITE_OK) {
        return ab_store_fail(err, ab_sqlite_kind(rc),
                             "store: no event table for experiment %lld: %s", (long long)key,
                             sqlite3_errmsg(db));
    }
    memmove(&c->v[i + 1], &c->v[i], (c->n - i) * sizeof *c->v);
    c->v[i].key = key;
    c->v[i].insert = st;
    c->n++;
    *out = st;
    return AB_STORE_OK;
}

void ab_sqlite_stmt_drop(ab_sqlite_stmts *c, int64_t key)
{
    size_t i = lower_bound(c, key);
    if (i == c->n || c->v[i].key != key) return;
    sqlite3_finalize(c->v[i].insert);
    memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof *c->v);
    c->n--;
}

void ab_sqlite_stmts_free(ab_sqlite_stmts *c)
{
    for (size_t i = 0; i < c->n; i++) sqlite3_finalize(c->v[i].insert);
    free(c->v);
    memset(c, 0, sizeof *c);
}
