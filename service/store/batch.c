/* batch.c — the events of one commit, encoded as rows on the caller's thread (store.h). */
#include "store/store_backend.h"

#include <stdlib.h>
#include <string.h>

#include "store/record.h"

ab_store_batch *ab_store_batch_new(void)
{
    return calloc(1, sizeof(ab_store_batch));
}

void ab_store_batch_free(ab_store_batch *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->n; i++) free(b->rows[i].buf);
    free(b->rows);
    free(b);
}

uint64_t ab_store_batch_events(const ab_store_batch *b)
{
    return b->events;
}

size_t ab_store_batch_bytes(const ab_store_batch *b)
{
    return b->bytes;
}

static size_t hint_of(int64_t key)
{
    return (size_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> 58) % AB_STORE_BATCH_HINTS;
}

/* The row of key, or NULL. A batch holds few experiments as a rule: the
 * hint finds the row at once, a scan otherwise. */
static ab_store_row *row_of(ab_store_batch *b, int64_t key)
{
    uint32_t h = b->hint[hint_of(key)];
    if (h && b->rows[h - 1].key == key) return &b->rows[h - 1];
    for (size_t i = b->n; i-- > 0;)
        if (b->rows[i].key == key) {
            b->hint[hint_of(key)] = (uint32_t)(i + 1);
            return &b->rows[i];
        }
    return NULL;
}

ab_store_status ab_store_batch_append(ab_store_batch *b, int64_t key, const ab_event *evs,
                                      size_t n, ab_error *err)
{
    ab_store_row *row;
    size_t need = 0;
    unsigned char *p;
    if (n == 0) return AB_STORE_OK;
    for (size_t i = 0; i < n; i++) {
        size_t one = ab_record_size(&evs[i]);
        if (!one)
            return ab_store_fail(err, AB_STORE_INVALID,
                                 "store: an event's user or id is too long to store");
        need += one;
    }
    if (!(row = row_of(b, key))) {
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 4;
            ab_store_row *rows = realloc(b->rows, cap * sizeof *rows);
            if (!rows) return ab_store_fail(err, AB_STORE_NOMEM, "store: out of memory");
            b->rows = rows;
            b->cap = cap;
        }
        if (b->n >= UINT32_MAX - 1)
            return ab_store_fail(err, AB_STORE_INVALID, "store: too many experiments in a batch");
        row = &b->rows[b->n];
        memset(row, 0, sizeof *row);
        row->key = key;
        row->len = AB_RECORD_ROW_HEADER;
        /* Counted in only once its records are in (below). */
    }
    if (row->nev + n > AB_RECORD_ROW_EVENTS_MAX)
        return ab_store_fail(err, AB_STORE_INVALID, "store: too many events in one commit");
    if (row->len + need > row->cap) {
        size_t cap = (row->len + need) * 2;
        unsigned char *grown = realloc(row->buf, cap);
        if (!grown) return ab_store_fail(err, AB_STORE_NOMEM, "store: out of memory");
        row->buf = grown;
        row->cap = cap;
    }
    p = row->buf + row->len;
    for (size_t i = 0; i < n; i++) p = ab_record_encode(p, &evs[i]);
    if (row == &b->rows[b->n]) {
        b->hint[hint_of(key)] = (uint32_t)(b->n + 1);
        b->n++;
        b->bytes += AB_RECORD_ROW_HEADER;
    }
    row->len += need;
    row->nev += n;
    b->events += n;
    b->bytes += need;
    return AB_STORE_OK;
}
