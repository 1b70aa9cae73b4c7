/* ingest_follow.c — counting what other nodes committed: their rows join this node's committed requests in the store's (log) order. */
#include "engine/ingest.h"

#include <string.h>

#include "base/log.h"
#include "core/registry.h"
#include "store/record.h"

/* Decodes row into p's events, strings copied into its arena. 0, or -1
 * (damaged, or a field this experiment cannot hold: logged). */
static int decode_row(ab_pending *p, ab_live *e, const ab_store_feed_item *it)
{
    const unsigned char *q, *end = it->row + it->len;
    uint64_t nev = 0;
    const char *why = "";
    if (ab_record_check_row(it->row, it->len, &q, &nev, &why)) {
        ab_log_ratelimited(AB_LOG_ERROR, "another node's row (abstat_log seq %lld) of %s is "
                           "damaged (%s): not counted here", (long long)it->seq, e->cfg.id, why);
        return -1;
    }
    if (nev > SIZE_MAX / sizeof(ab_event) ||
        !(p->batch.events = ab_arena_alloc(&p->arena, (size_t)nev * sizeof(ab_event))))
        return -1;
    while (q < end && p->batch.n < nev) {
        ab_event *ev = &p->batch.events[p->batch.n];
        if (ab_record_decode(&q, end, ev) ||
            (ev->type == AB_EVENT_EXPOSURE && (ev->variant < 0 || (size_t)ev->variant >= e->cfg.k)))
            return -1;
        ev->exp = e;
        if (!(ev->user = ab_arena_strndup(&p->arena, ev->user, ev->user_len)) ||
            (ev->id && !(ev->id = ab_arena_strndup(&p->arena, ev->id, ev->id_len))))
            return -1;
        p->batch.n++;
    }
    return 0;
}

/* Another node's events: a pending request of no client, counted after
 * every request of this node committed before it. */
static void follow_events(ab_ingest *in, const ab_store_feed_item *it)
{
    ab_live *e = in->follower.resolve(in->follower.arg, it->key);
    ab_pending *p;
    const char *why = NULL;
    if (!e) return; /* deleted here already: its deletion is further on in the log */
    if (!(p = ab_pending_new(NULL, it->len * 2, NULL, NULL))) goto lost;
    if (decode_row(p, e, it)) {
        ab_pending_free(p);
        goto lost;
    }
    if (ab_ingest_reserve(in, p, 1, &why))
        ab_log_ratelimited(AB_LOG_ERROR, "counting another node's events: %s", why);
    for (size_t i = 0; i < p->batch.n; i++) e->pending += 1;
    in->followed += p->batch.n;
    p->next = NULL;
    if (in->done_tail) in->done_tail->next = p;
    else in->done = p;
    in->done_tail = p;
    if (!event_pending(in->idle_ev, EV_TIMEOUT, NULL)) event_active(in->idle_ev, EV_TIMEOUT, 0);
    return;
lost:
    in->dep.metrics->uncounted += 1;
    ab_log_ratelimited(AB_LOG_ERROR, "another node's events of %s (abstat_log seq %lld) could not "
                       "be counted here: this node's counts are behind until it restarts",
                       e->cfg.id, (long long)it->seq);
}

static void follow_item(void *arg, const ab_store_feed_item *it)
{
    ab_ingest *in = arg;
    if (it->kind == AB_FEED_EVENTS) {
        follow_events(in, it);
        return;
    }
    /* A change applies to the counts as they are at its place in the log. */
    ab_ingest_count(in, SIZE_MAX);
    in->follower.change(in->follower.arg, it);
}

void ab_ingest_follow(ab_ingest *in, const ab_ingest_follower *f)
{
    in->follower = *f;
    ab_store_set_follow(in->dep.store, follow_item, in);
}
