/* api.h — what the HTTP handlers work on: the narrow context the daemon
 * hands them, instead of itself. */
#ifndef ABSTAT_API_H
#define ABSTAT_API_H

#include <event2/http.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ptrmap.h"
#include "core/registry.h"
#include "engine/ingest.h"
#include "engine/memory.h"
#include "engine/metrics.h"
#include "engine/monitor.h"
#include "engine/parse_pool.h"
#include "http/auth.h"
#include "http/guard.h"
#include "store/store.h"

typedef struct ab_api {
    /* Borrowed from the daemon, set before the first request; each
     * outlives the api. parse_pool may have no threads (bodies parse on
     * the loop). */
    ab_registry *reg;
    ab_store *store;
    ab_ingest *ingest;
    ab_monitor *monitor;
    ab_metrics *metrics;
    ab_memory *memory;
    ab_parse_pool *parse_pool;
    const ab_auth *auth;
    const char *cors_origin;  /* --cors-origin (cors.h), or NULL */
    size_t max_batch;         /* events per request */
    int shutting_down;        /* set by the daemon: answers close their connection */

    /* Owned. Parse workers read experiments under reg_lock; handlers
     * change them under it and bump reg_generation, so that a parse that
     * overlapped a change is done again. */
    pthread_rwlock_t reg_lock;
    uint64_t reg_generation;
    /* The metrics route of each request in flight (reply_route.c): the
     * request's address to its route-table entry; tags.count in flight. */
    ab_ptrmap tags;
    const struct ab_route *routes; /* the route table the tags point into */
    size_t nroutes;
    size_t tags_other;        /* the route of a reply without a tag */
    int ready;                /* ab_api_init succeeded */
    /* Experiments another node deleted while this one still had events of
     * them in flight (follow.c): out of the registry, freed once those
     * are done. Owned. */
    void **gone;
    size_t ngone, capgone;
    /* Keys this node deleted itself: older changes of them still to come
     * from the log must not bring them back (keys are never reused). */
    int64_t *deleted;
    size_t ndeleted, capdeleted;
} ab_api;

/* Sets up what the api owns (the fields above "Owned" are the caller's),
 * names the routes' metrics (zeroing them: call before anything counts)
 * and makes every reply counted by its route. -1 on failure. */
int ab_api_init(ab_api *api);
void ab_api_free(ab_api *api);

/* Changes to experiments are made between these, under the registry's
 * write lock, for the parse workers (reg_lock above). */
void ab_api_change_begin(ab_api *api);
void ab_api_change_end(ab_api *api);

/* Several nodes (follow.c): what ingest needs to count and apply what
 * other nodes write (ab_ingest_follow), with arg api. */
ab_ingest_follower ab_api_follower(ab_api *api);
/* A live experiment from its stored row (config and change history
 * parsed), not in any registry: new, or NULL with err set. */
ab_live *ab_api_live_from_row(const ab_store_experiment *row, ab_error *err);
/* Remembers that this node deleted key (see deleted above); -1 when out
 * of memory. */
int ab_api_note_deleted(ab_api *api, int64_t key);
/* Frees what follow.c holds (at ab_api_free). */
void ab_api_follow_free(ab_api *api);

/* The evhttp general callback (arg: the ab_api): guard, route, CORS,
 * token, then the route's handler, which answers. */
void ab_api_request(struct evhttp_request *req, void *arg);
/* guard.c's admission of a request head with a body, before the body is
 * read (arg: the ab_api): the route exists, the origin and the token are
 * admitted. */
int ab_api_admit(void *arg, const ab_guard_head *h, ab_refusal *r);

/* Answers a storage failure: 503 with Retry-After for the kinds a later
 * attempt may not meet (ab_store_status_transient: full, read-only, busy,
 * I/O), 500 for the rest; err's text says what failed. */
void ab_api_store_fail(struct evhttp_request *req, ab_store_status kind, const ab_error *err);

/* Counts the reply to req with code on the route it was dispatched to
 * (http.c's reply hook; the metrics handler calls it for its own reply,
 * which bypasses http.c). Each request's route is counted once. */
void ab_api_count_reply(ab_api *api, struct evhttp_request *req, int code);

/* The parse pool's callbacks for ingest bodies (ctx: the ab_api): on a
 * worker, the parse under the registry's read lock; on the loop, a parse
 * again when an experiment changed meanwhile, then the submit or the
 * answer. */
void ab_api_parse_work(void *ctx, ab_parse_job *job);
void ab_api_parse_done(void *ctx, ab_parse_job *job);

#endif
