/* ingest.c — the group-commit pipeline between POST /v1/events and the
 * store: write at request time, commit when idle, acknowledge after. */
#include "engine/ingest.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "http/http.h"
#include "base/log.h"
#include "core/registry.h"
#include "core/state.h"
#include "base/usertable.h"

/* A batch this large is committed at once rather than when the loop is
 * idle: under sustained load the loop may never be idle. */
#define MAX_BATCH_REQUESTS 512
#define MAX_BATCH_EVENTS 200000
#define MAX_BATCH_AGE_NS 20000000LL /* 20 ms */

#define COMMIT_PRIORITY 2
#define PRIORITIES 3

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Arena bytes of the pending requests alive (loop thread only). */
static size_t inflight_bytes;

size_t ab_ingest_inflight_bytes(void)
{
    return inflight_bytes;
}

ab_pending *ab_pending_new(struct evhttp_request *req, size_t body_len)
{
    ab_pending *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->req = req;
    /* Events and their strings take about as much as the body: one block
     * for most requests, small for the common single event (a fixed 16 KiB
     * block per request made glibc consolidate its heap constantly). */
    ab_arena_init(&p->arena, body_len < 768 ? 1024 : body_len + body_len / 2);
    p->mem = sizeof *p + p->arena.block_size;
    inflight_bytes += p->mem;
    return p;
}

/* Gives back what p reserved (its events are counted, or never will be). */
static void release(ab_pending *p)
{
    for (size_t i = 0; i < p->nres; i++) {
        ab_reservation *r = &p->res[i];
        ab_state_release(&((ab_live *)r->exp)->state, r->users, r->ids, r->revenue);
    }
    p->nres = 0;
}

void ab_pending_free(ab_pending *p)
{
    if (!p) return;
    release(p);
    inflight_bytes -= p->mem < inflight_bytes ? p->mem : inflight_bytes;
    ab_arena_reset(&p->arena);
    free(p);
}

/* Reserves room for counting p's events in each experiment (SPEC 9: a 202
 * is only ever sent for counted events, and counting comes after the
 * commit, when failing is no longer an option). Upper bounds per run of
 * one experiment: every exposure may be a new user, every id new, every
 * conversion with a value a user's first. Most of the time the tables have
 * room and this is a capacity check per run. 0, or -1 after answering 503
 * (nothing reserved, nothing stored). */
static int reserve(ab_ingest *in, ab_pending *p)
{
    ab_memory *mem = &in->d->memory;
    const ab_event *ev = p->batch.events;
    size_t n = p->batch.n, runs = 0;
    const char *why = NULL;

    /* The arena as it is after parsing: its growth is in flight too. */
    if (p->arena.total > p->mem - sizeof *p) {
        size_t more = p->arena.total - (p->mem - sizeof *p);
        inflight_bytes += more;
        p->mem += more;
    }
    for (size_t i = 0; i < n; i++) runs += !i || ev[i].exp != ev[i - 1].exp;
    if (runs && !(p->res = ab_arena_alloc(&p->arena, runs * sizeof *p->res))) {
        why = "out of memory for the request";
        goto refuse;
    }
    for (size_t i = 0, j; i < n; i = j) {
        ab_live *e = ev[i].exp;
        ab_reservation r = {e, 0, 0, 0};
        size_t cost, before;
        for (j = i; j < n && ev[j].exp == e; j++) {
            r.users += ev[j].type == AB_EVENT_EXPOSURE;
            r.ids += ev[j].id != NULL;
            r.revenue += ev[j].type == AB_EVENT_CONVERSION && isfinite(ev[j].value) &&
                         ev[j].value != 0.0;
        }
        cost = ab_state_reserve_cost(&e->state, r.users, r.ids, r.revenue);
        if (cost && (cost == SIZE_MAX || !ab_memory_fits(mem, cost))) {
            why = "counting these events would need more";
            goto refuse;
        }
        before = ab_state_bytes(&e->state);
        if (ab_state_reserve(&e->state, r.users, r.ids, r.revenue)) {
            mem->state += ab_state_bytes(&e->state) - before;
            why = "out of memory reserving room to count these events";
            goto refuse;
        }
        mem->state += ab_state_bytes(&e->state) - before;
        p->res[p->nres++] = r;
    }
    return 0;
refuse:
    release(p);
    ab_log_ratelimited(AB_LOG_WARN, "refused %zu events (503): %s (%zu of %zu bytes in use)",
                       n, why, ab_memory_used(mem), mem->limit);
    in->d->metrics.rejected += n;
    in->d->metrics.rejected_requests++;
    ab_memory_refuse(mem, p->req, why);
    ab_pending_free(p);
    return -1;
}

/* Events counted per slice when the loop is idle: about half a
 * millisecond, so that a results request never waits long behind ingest. */
#define APPLY_SLICE 2000

static int commit_open(ab_ingest *in);
static void apply_committed(ab_ingest *in, size_t budget);

/* Idle: commit what is open, count one slice, and come back (still at the
 * lowest priority) while anything is left. */
static void commit_cb(evutil_socket_t fd, short what, void *arg)
{
    ab_ingest *in = arg;
    (void)fd;
    (void)what;
    commit_open(in);
    apply_committed(in, APPLY_SLICE);
    if (in->done || in->head) event_active(in->commit_ev, EV_TIMEOUT, 0);
}

int ab_ingest_init(ab_ingest *in, struct ab_daemon *d)
{
    memset(in, 0, sizeof *in);
    in->d = d;
    if (event_base_priority_init(d->base, PRIORITIES) != 0) return -1;
    in->commit_ev = event_new(d->base, -1, 0, commit_cb, in);
    if (!in->commit_ev) return -1;
    if (event_priority_set(in->commit_ev, COMMIT_PRIORITY) != 0) return -1;
    return 0;
}

void ab_ingest_free(ab_ingest *in)
{
    if (in->commit_ev) event_free(in->commit_ev);
    in->commit_ev = NULL;
}

/* Un-counts the pending events of every queued request from their
 * experiments (they will never be applied). */
static void forget_pending(ab_pending *p)
{
    for (size_t i = 0; i < p->batch.n; i++) ((ab_live *)p->batch.events[i].exp)->pending -= 1;
}

/* Answers every queued request 503: their transaction is gone. */
static void fail_all(ab_ingest *in, const ab_error *err)
{
    ab_pending *p = in->head, *next;
    for (; p; p = next) {
        next = p->next;
        forget_pending(p);
        in->d->metrics.rejected += p->batch.n;
        ab_http_error(p->req, 503, "storage unavailable, nothing was stored: %s",
                      err->text);
        ab_pending_free(p);
    }
    in->head = in->tail = NULL;
    in->requests = in->events = 0;
}

/* Events are applied with the user's slot fetched this many events ahead:
 * with millions of users every lookup is a cache miss otherwise. */
#define APPLY_AHEAD 8

static uint64_t hash_and_prefetch(const ab_event *ev)
{
    uint64_t h = ab_hash(ev->user, ev->user_len);
    ab_usertable_prefetch(&((ab_live *)ev->exp)->state.users, h);
    return h;
}

/* Counts up to budget events of p from where it stopped; answers 202 once
 * all are counted. Returns the events counted. */
static size_t apply_some(ab_ingest *in, ab_pending *p, size_t budget)
{
    ab_metrics *m = &in->d->metrics;
    uint64_t ahead[APPLY_AHEAD];
    size_t start = p->applied, n = p->batch.n, end = start + budget < n ? start + budget : n;

    for (size_t i = start; i < end && i < start + APPLY_AHEAD; i++)
        ahead[(i - start) % APPLY_AHEAD] = hash_and_prefetch(&p->batch.events[i]);
    for (size_t i = start; i < end; i++) {
        ab_event *ev = &p->batch.events[i];
        ab_live *e = ev->exp;
        uint64_t key = ahead[(i - start) % APPLY_AHEAD];
        if (i + APPLY_AHEAD < end)
            ahead[(i - start) % APPLY_AHEAD] = hash_and_prefetch(&p->batch.events[i + APPLY_AHEAD]);
        ab_apply_result r = ab_state_apply_keyed(&e->state, ev, key);
        e->pending -= 1;
        e->dirty = 1;
        m->ingested[ev->type]++;
        if (r == AB_APPLY_DUPLICATE) {
            p->duplicates++;
            m->duplicates[ev->type]++;
        } else if (r == AB_APPLY_NOMEM) {
            /* Cannot happen: the room was reserved before the events were
             * stored (reserve). Should it anyway, the event is stored and a
             * restart counts it; say so, but not once per event. */
            m->uncounted++;
            ab_log_ratelimited(AB_LOG_ERROR, "out of memory counting an event of %s despite "
                               "its reservation: counts are behind the store until restart",
                               e->cfg.id);
        }
    }
    p->applied = end;
    if (end == n && p->reply)
        ab_http_printf(p->req, 200, "%s", p->reply);
    else if (end == n)
        /* The hot path's answer: printed directly, no JSON tree. */
        ab_http_printf(p->req, 202, "{\"accepted\":%zu,\"duplicates\":%.0f}", n, p->duplicates);
    return end - start;
}

/* Counts committed events, at most budget (SIZE_MAX: all), oldest first. */
static void apply_committed(ab_ingest *in, size_t budget)
{
    while (in->done && budget) {
        ab_pending *p = in->done;
        budget -= apply_some(in, p, budget);
        if (p->applied < p->batch.n) break;
        in->done = p->next;
        if (!in->done) in->done_tail = NULL;
        ab_pending_free(p);
    }
}

/* Commits the open transaction and moves its requests to the counting
 * queue; -1 (requests answered 503) when the commit failed. */
static int commit_open(ab_ingest *in)
{
    ab_error err = {0, ""};
    int64_t t0;
    int rc;
    if (!in->head) return 0;
    t0 = mono_ns();
    rc = ab_store_commit(in->d->store, &err);
    ab_metrics_commit(&in->d->metrics, (double)(mono_ns() - t0) * 1e-9, rc == 0);
    if (rc != 0) {
        ab_log_ratelimited(AB_LOG_ERROR, "group commit of %zu requests failed: %s",
                           in->requests, err.text);
        fail_all(in, &err);
        return -1;
    }
    if (in->done_tail) in->done_tail->next = in->head;
    else in->done = in->head;
    in->done_tail = in->tail;
    in->head = in->tail = NULL;
    in->requests = in->events = 0;
    return 0;
}

int ab_ingest_flush(ab_ingest *in)
{
    int rc;
    event_del(in->commit_ev);
    rc = commit_open(in);
    apply_committed(in, SIZE_MAX);
    return rc;
}

void ab_ingest_submit(ab_ingest *in, ab_pending *p)
{
    ab_error err = {0, ""};
    ab_store *st = in->d->store;

    /* Nothing is stored that could not be counted. */
    if (reserve(in, p)) return;
    if (ab_store_begin(st, &err)) goto fail;
    /* One record per run of events of the same experiment (usually the
     * whole request). */
    for (size_t i = 0, j; i < p->batch.n; i = j) {
        ab_live *e = p->batch.events[i].exp;
        for (j = i + 1; j < p->batch.n && p->batch.events[j].exp == e; j++) {}
        if (ab_store_append_events(st, e->key, &p->batch.events[i], j - i, &err)) goto fail;
    }
    for (size_t i = 0; i < p->batch.n; i++) ((ab_live *)p->batch.events[i].exp)->pending += 1;
    if (!in->head) {
        in->head = p;
        in->opened_ns = mono_ns();
    } else {
        in->tail->next = p;
    }
    in->tail = p;
    in->requests++;
    in->events += p->batch.n;
    /* A large or old batch is committed now; counting still goes in
     * slices (the commit event below). */
    if (in->requests >= MAX_BATCH_REQUESTS || in->events >= MAX_BATCH_EVENTS ||
        mono_ns() - in->opened_ns >= MAX_BATCH_AGE_NS)
        commit_open(in);
    /* Lowest priority: libevent runs it only once a loop iteration finds no
     * other ready callbacks, i.e. when every ready socket has been served. */
    if (!event_pending(in->commit_ev, EV_TIMEOUT, NULL))
        event_active(in->commit_ev, EV_TIMEOUT, 0);
    return;
fail:
    ab_store_rollback(st);
    ab_log_ratelimited(AB_LOG_ERROR, "writing %zu events failed: %s", p->batch.n, err.text);
    /* The open transaction held the queued requests too: all are lost. */
    if (!in->tail) in->head = p;
    else in->tail->next = p;
    in->tail = p;
    /* p's events were never counted as pending. */
    for (size_t i = 0; i < p->batch.n; i++) ((ab_live *)p->batch.events[i].exp)->pending += 1;
    if (err.status != 503) err.status = 503;
    fail_all(in, &err);
}
