/* feed.c — the rows other nodes wrote, copied off the connection for the caller's thread. */
#include "store/store_backend.h"

#include <stdlib.h>
#include <string.h>

/* One item and, behind it in the same block, the bytes it points at. */
struct ab_store_feed_row {
    ab_store_feed_item it;
    ab_store_experiment exp;
    struct ab_store_feed_row *next;
};

static size_t len_of(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static char *put_text(char **at, const char *s)
{
    char *d = *at;
    size_t n = len_of(s);
    if (!s) return NULL;
    memcpy(d, s, n);
    *at += n;
    return d;
}

ab_store_status ab_store_feed_add(ab_store_feed *f, const ab_store_feed_item *it, ab_error *err)
{
    const ab_store_experiment *e = it->exp;
    size_t extra = it->len + (e ? len_of(e->id) + len_of(e->config) + len_of(e->changes) : 0);
    ab_store_feed_row *r = malloc(sizeof *r + extra);
    char *at;
    if (!r) return ab_store_fail(err, AB_STORE_NOMEM, "out of memory following the log");
    at = (char *)(r + 1);
    r->it = *it;
    r->next = NULL;
    if (it->len) {
        memcpy(at, it->row, it->len);
        r->it.row = (const unsigned char *)at;
        at += it->len;
    }
    if (e) {
        r->exp = *e;
        r->exp.id = put_text(&at, e->id);
        r->exp.config = put_text(&at, e->config);
        r->exp.changes = put_text(&at, e->changes);
        r->it.exp = &r->exp;
    }
    if (f->tail) f->tail->next = r;
    else f->head = r;
    f->tail = r;
    f->n++;
    return AB_STORE_OK;
}

void ab_store_feed_move(ab_store_feed *to, ab_store_feed *from)
{
    if (!from->head) return;
    if (to->tail) to->tail->next = from->head;
    else to->head = from->head;
    to->tail = from->tail;
    to->n += from->n;
    memset(from, 0, sizeof *from);
}

void ab_store_feed_run(ab_store_feed *f, ab_store_follow follow, void *arg)
{
    ab_store_feed_row *r, *next;
    for (r = f->head; r; r = next) {
        next = r->next;
        if (follow) follow(arg, &r->it);
        free(r);
    }
    memset(f, 0, sizeof *f);
}

void ab_store_feed_free(ab_store_feed *f)
{
    ab_store_feed_run(f, NULL, NULL);
}
