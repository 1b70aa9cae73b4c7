/* ingest.c — the group-commit pipeline between POST /v1/events and the
 * store: batch at request time, commit on the store thread when the loop
 * is idle, count and complete after. */
#include "engine/ingest.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/usertable.h"
#include "core/history.h"
#include "core/registry.h"
#include "core/state.h"

/* A batch this large or old is submitted at once, even behind a commit in
 * flight: under sustained load the loop may never be idle. */
#define MAX_BATCH_REQUESTS 512
#define MAX_BATCH_EVENTS 200000
#define MAX_BATCH_AGE_NS 20000000LL /* 20 ms */

/* The requests of one submitted batch, in order. */
struct ab_commit_group {
    ab_ingest *in;
    ab_pending *head, *tail;
    size_t requests;
};

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

ab_pending *ab_pending_new(struct evhttp_request *req, size_t body_len, ab_ingest_done done,
                           void *done_arg)
{
    ab_pending *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->req = req;
    p->done = done;
    p->done_arg = done_arg;
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

/* Calls p's completion, then frees p. */
static void complete(ab_pending *p, const ab_ingest_outcome *o)
{
    if (p->done) p->done(p->done_arg, p, o);
    ab_pending_free(p);
}

static void complete_failed(ab_pending *p, ab_ingest_kind kind, ab_store_status store,
                            const char *why)
{
    ab_ingest_outcome o = {kind, 0, 0, store, why};
    complete(p, &o);
}

/* Reserves room for counting p's events in each experiment (README "Storage and durability, Security": a 202
 * is only ever sent for counted events, and counting comes after the
 * commit, when failing is no longer an option). Upper bounds per run of
 * one experiment: every exposure may be a new user, every id new, every
 * conversion with a value a user's first. Most of the time the tables have
 * room and this is a capacity check per run (ingest.h). */
int ab_ingest_reserve(ab_ingest *in, ab_pending *p, int force, const char **why_out)
{
    ab_memory *mem = in->dep.memory;
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
        size_t cost, before, days = 0, covs = 0;
        int64_t day = INT64_MIN;
        for (j = i; j < n && ev[j].exp == e; j++) {
            int64_t d = ab_floor_div(ev[j].ts_ms, AB_DAY_MS);
            r.users += ev[j].type == AB_EVENT_EXPOSURE;
            r.ids += ev[j].id != NULL;
            r.revenue += ev[j].type == AB_EVENT_CONVERSION && isfinite(ev[j].value) &&
                         ev[j].value != 0.0;
            /* A new user's covariate takes a per-user slot too. */
            covs += ev[j].type == AB_EVENT_EXPOSURE && isfinite(ev[j].covariate);
            /* A backfill over many days adds a history block a day: a
             * bound that is exact for events in ts order. */
            if (d != day) days += !ab_history_has_day(&e->state.history, day = d);
        }
        r.revenue += covs;
        cost = ab_state_reserve_cost(&e->state, r.users, r.ids, r.revenue);
        if (covs && cost != SIZE_MAX) {
            size_t more = ab_state_covariates_cost(&e->state, r.revenue);
            cost = more > SIZE_MAX - cost ? SIZE_MAX : cost + more;
        }
        if (cost != SIZE_MAX && days) {
            size_t per = ab_history_day_bytes(e->state.k);
            cost = days > (SIZE_MAX - cost) / per ? SIZE_MAX : cost + days * per;
        }
        if (!force && cost && (cost == SIZE_MAX || !ab_memory_fits(mem, cost))) {
            why = "counting these events would need more";
            goto refuse;
        }
        before = ab_state_bytes(&e->state);
        if ((covs && ab_state_reserve_covariates(&e->state)) ||
            ab_state_reserve(&e->state, r.users, r.ids, r.revenue)) {
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
    *why_out = why;
    return -1;
}

/* ab_ingest_reserve for a request: 0, or -1 after completing p NO_MEMORY
 * (nothing reserved, nothing stored). */
static int reserve(ab_ingest *in, ab_pending *p)
{
    const char *why = NULL;
    size_t n = p->batch.n;
    ab_memory *mem = in->dep.memory;
    if (!ab_ingest_reserve(in, p, 0, &why)) return 0;
    ab_log_ratelimited(AB_LOG_WARN, "refused %zu events (503): %s (%zu of %zu bytes in use)",
                       n, why, ab_memory_used(mem), mem->limit);
    in->dep.metrics->rejected += n;
    in->dep.metrics->rejected_requests++;
    complete_failed(p, AB_INGEST_NO_MEMORY, AB_STORE_OK, why);
    return -1;
}

/* Events counted per slice when the loop is idle: about a tenth of a
 * millisecond at 10 M users, so that a results request never waits long
 * behind ingest. */
#define APPLY_SLICE 500

/* Events are applied with the user's slot fetched this many events ahead:
 * with millions of users every lookup is a cache miss otherwise. */
#define APPLY_AHEAD 8

static uint64_t hash_and_prefetch(const ab_event *ev)
{
    uint64_t h = ab_hash(ev->user, ev->user_len);
    ab_usertable_prefetch(&((ab_live *)ev->exp)->state.users, h);
    return h;
}

/* Counts up to budget events of p from where it stopped. Returns the
 * events counted. */
static size_t apply_some(ab_ingest *in, ab_pending *p, size_t budget)
{
    ab_metrics *m = in->dep.metrics;
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
        /* Other nodes' events (no request) are theirs to count in metrics. */
        if (p->done) m->ingested[ev->type]++;
        if (r == AB_APPLY_DUPLICATE) {
            p->duplicates++;
            if (p->done) m->duplicates[ev->type]++;
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
    return end - start;
}

void ab_ingest_count(ab_ingest *in, size_t budget)
{
    while (in->done && budget) {
        ab_pending *p = in->done;
        budget -= apply_some(in, p, budget);
        if (p->applied < p->batch.n) break;
        in->done = p->next;
        if (!in->done) in->done_tail = NULL;
        {
            ab_ingest_outcome o = {AB_INGEST_COUNTED, p->batch.n, p->duplicates, AB_STORE_OK,
                                   NULL};
            complete(p, &o);
        }
    }
}

/* Un-counts p's events from their experiments' pending (they will never
 * be applied). */
static void forget_pending(ab_pending *p)
{
    for (size_t i = 0; i < p->batch.n; i++) ((ab_live *)p->batch.events[i].exp)->pending -= 1;
}

/* Completes every request of the list NOT_STORED: nothing of them was
 * stored. */
static void fail_list(ab_ingest *in, ab_pending *p, ab_store_status kind, const char *why)
{
    ab_pending *next;
    for (; p; p = next) {
        next = p->next;
        forget_pending(p);
        in->dep.metrics->rejected += p->batch.n;
        complete_failed(p, AB_INGEST_NOT_STORED, kind, why);
    }
}

/* On the loop, in submission order: a batch's outcome. */
static void group_done(void *arg, const ab_store_result *r)
{
    ab_commit_group *g = arg;
    ab_ingest *in = g->in;
    ab_metrics_commit(in->dep.metrics, r->seconds, r->kind == AB_STORE_OK);
    in->last_failed = r->kind != AB_STORE_OK;
    if (r->kind == AB_STORE_OK) {
        if (in->done_tail) in->done_tail->next = g->head;
        else in->done = g->head;
        in->done_tail = g->tail;
    } else {
        ab_log_ratelimited(AB_LOG_ERROR, "group commit of %zu requests failed (%s): %s",
                           g->requests, ab_store_status_name(r->kind), r->err.text);
        fail_list(in, g->head, r->kind, r->err.text);
    }
    free(g);
}

/* Hands the open batch to the store thread. */
static void submit_open(ab_ingest *in)
{
    ab_store_batch *b = in->open;
    ab_commit_group *g;
    if (!in->head) return;
    in->open = NULL;
    if (!(g = calloc(1, sizeof *g))) {
        ab_store_batch_free(b);
        fail_list(in, in->head, AB_STORE_NOMEM, "out of memory handing the batch to the store");
        in->head = in->tail = NULL;
        in->requests = 0;
        return;
    }
    g->in = in;
    g->head = in->head;
    g->tail = in->tail;
    g->requests = in->requests;
    in->head = in->tail = NULL;
    in->requests = 0;
    if (ab_store_submit(in->dep.store, b, group_done, g) != AB_STORE_OK) {
        ab_store_result r;
        memset(&r, 0, sizeof r);
        r.kind = AB_STORE_NOMEM;
        snprintf(r.err.text, sizeof r.err.text, "out of memory handing the batch to the store");
        group_done(g, &r);
    }
}

/* Idle: hand over what is open unless the store is still writing a batch
 * (it goes when that one is written), count one slice, and come back
 * (still at the lowest priority) while anything is left to count. */
static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
    ab_ingest *in = arg;
    (void)fd;
    (void)what;
    if (in->head && ab_store_accepting(in->dep.store)) submit_open(in);
    ab_ingest_count(in, APPLY_SLICE);
    if (in->done) event_active(in->idle_ev, EV_TIMEOUT, 0);
}

/* The store thread finished writing a batch or a commit: hear the
 * outcomes, send the batch that filled meanwhile, and count at idle. */
static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    ab_ingest *in = arg;
    uint64_t n;
    (void)what;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
        ab_log_ratelimited(AB_LOG_ERROR, "ingest: reading the commit wake-up: %s",
                           strerror(errno));
    ab_store_complete(in->dep.store);
    if (in->head && ab_store_accepting(in->dep.store)) submit_open(in);
    if (in->done && !event_pending(in->idle_ev, EV_TIMEOUT, NULL))
        event_active(in->idle_ev, EV_TIMEOUT, 0);
}

/* On the store thread: wakes the loop (an eventfd write never blocks
 * short of 2^64 - 1 unread wake-ups). */
static void notify(void *arg)
{
    ab_ingest *in = arg;
    uint64_t one = 1;
    ssize_t w = write(in->wake_fd, &one, sizeof one);
    (void)w; /* EAGAIN: the counter is saturated, the loop is woken anyway */
}

int ab_ingest_init(ab_ingest *in, const ab_ingest_deps *dep)
{
    int lowest = event_base_get_npriorities(dep->base) - 1;
    memset(in, 0, sizeof *in);
    in->dep = *dep;
    in->wake_fd = -1;
    /* Idle work needs a priority of its own below the default one. */
    if (lowest < AB_INGEST_PRIORITIES - 1) {
        ab_logerr("ingest: the event base has %d priorities, %d needed (see ingest.h)",
                  lowest + 1, AB_INGEST_PRIORITIES);
        return -1;
    }
    if ((in->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) return -1;
    if (!(in->idle_ev = event_new(dep->base, -1, 0, idle_cb, in)) ||
        event_priority_set(in->idle_ev, lowest) != 0)
        return -1;
    if (!(in->wake_ev = event_new(dep->base, in->wake_fd, EV_READ | EV_PERSIST, wake_cb, in)) ||
        event_add(in->wake_ev, NULL) != 0)
        return -1;
    ab_store_set_notify(dep->store, notify, in);
    return 0;
}

void ab_ingest_free(ab_ingest *in)
{
    if (!in->dep.store) return; /* never set up */
    ab_store_set_notify(in->dep.store, NULL, NULL);
    ab_store_set_follow(in->dep.store, NULL, NULL);
    if (in->idle_ev) event_free(in->idle_ev);
    if (in->wake_ev) event_free(in->wake_ev);
    if (in->wake_fd >= 0) close(in->wake_fd);
    ab_store_batch_free(in->open);
    in->idle_ev = in->wake_ev = NULL;
    in->wake_fd = -1;
    in->open = NULL;
}

int ab_ingest_flush(ab_ingest *in)
{
    if (!in->dep.store) return 0; /* never set up: nothing was submitted */
    if (in->idle_ev) event_del(in->idle_ev);
    submit_open(in);
    in->last_failed = 0;
    ab_store_wait(in->dep.store);
    ab_ingest_count(in, SIZE_MAX);
    return in->last_failed ? -1 : 0;
}

void ab_ingest_submit(ab_ingest *in, ab_pending *p)
{
    ab_error err = {0, ""};
    ab_store_status kind = AB_STORE_OK;

    /* Nothing is stored that could not be counted. */
    if (reserve(in, p)) return;
    if (!in->open && !(in->open = ab_store_batch_new())) {
        kind = AB_STORE_NOMEM;
        snprintf(err.text, sizeof err.text, "out of memory for the batch");
    }
    /* One row per experiment per commit; all of p or nothing of it
     * (ab_store_batch_append leaves the batch as it was), so a failure
     * here costs p alone. A request's events of one experiment usually
     * come as one run. */
    if (!kind) {
        ab_store_batch *b = in->open;
        uint64_t before = ab_store_batch_events(b);
        for (size_t i = 0, j; i < p->batch.n && !kind; i = j) {
            ab_live *e = p->batch.events[i].exp;
            for (j = i + 1; j < p->batch.n && p->batch.events[j].exp == e; j++) {}
            kind = ab_store_batch_append(b, e->key, &p->batch.events[i], j - i, &err);
        }
        if (kind && ab_store_batch_events(b) != before) {
            /* A later run failed after earlier ones went in: the batch now
             * holds part of p, so the whole open batch must go. */
            fail_list(in, in->head, kind, err.text);
            in->head = in->tail = NULL;
            in->requests = 0;
            ab_store_batch_free(in->open);
            in->open = NULL;
        }
    }
    if (kind) {
        ab_log_ratelimited(AB_LOG_ERROR, "storing %zu events failed (%s): %s", p->batch.n,
                           ab_store_status_name(kind), err.text);
        in->dep.metrics->rejected += p->batch.n;
        complete_failed(p, AB_INGEST_NOT_STORED, kind, err.text);
        return;
    }
    for (size_t i = 0; i < p->batch.n; i++) ((ab_live *)p->batch.events[i].exp)->pending += 1;
    p->next = NULL;
    if (!in->head) {
        in->head = p;
        in->opened_ns = mono_ns();
    } else {
        in->tail->next = p;
    }
    in->tail = p;
    in->requests++;
    /* A large or old batch goes now, behind a commit in flight if need be. */
    if (in->requests >= MAX_BATCH_REQUESTS ||
        ab_store_batch_events(in->open) >= MAX_BATCH_EVENTS ||
        mono_ns() - in->opened_ns >= MAX_BATCH_AGE_NS)
        submit_open(in);
    /* Lowest priority: libevent runs it only once a loop iteration finds no
     * other ready callbacks, i.e. when every ready socket has been served. */
    if (!event_pending(in->idle_ev, EV_TIMEOUT, NULL))
        event_active(in->idle_ev, EV_TIMEOUT, 0);
}
