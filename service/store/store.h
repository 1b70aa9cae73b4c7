/* store.h — the narrow storage interface of the daemon: experiments, every
 * accepted event raw, and the monitoring state. One implementation today
 * (store_sqlite.c); everything else talks to storage only through this. */
#ifndef ABSTAT_STORE_H
#define ABSTAT_STORE_H

#include <stdint.h>

#include "base/error.h"
#include "core/event.h"

typedef struct ab_store ab_store;

typedef enum { AB_DURABILITY_NORMAL = 0, AB_DURABILITY_FULL } ab_durability;

/* Opens (creating) the store in directory dir. New handle (ab_store_close
 * frees it), or NULL with err set. */
ab_store *ab_store_open(const char *dir, ab_durability durability, ab_error *err);
void ab_store_close(ab_store *s);

/* Group commit is the caller's: begin once, write many, commit once. Writes
 * outside begin/commit are rejected. commit failing leaves nothing written
 * (the transaction is rolled back). */
int ab_store_begin(ab_store *s, ab_error *err);
int ab_store_commit(ab_store *s, ab_error *err);
void ab_store_rollback(ab_store *s);
int ab_store_in_transaction(const ab_store *s);

/* A stored experiment row. */
typedef struct {
    int64_t key;            /* the store's key, stable for the experiment's life */
    const char *id;
    const char *config;     /* the configuration as JSON text */
    int stopped;
    int64_t created_ms;
    int64_t monitoring_since_ms; /* when the current test definition began; 0 = creation */
    const char *changes;         /* JSON array text of test-definition changes; NULL = "[]" */
} ab_store_experiment;

/* Creates or updates an experiment; for a new one (e->key == 0) sets
 * e->key. */
int ab_store_put_experiment(ab_store *s, ab_store_experiment *e, ab_error *err);
/* Deletes the experiment and all its events and monitoring rows. */
int ab_store_delete_experiment(ab_store *s, int64_t key, ab_error *err);
/* Appends n events of experiment `key`, in order, raw: every field each
 * event had. They are stored as one compact binary record (see
 * store_sqlite.c), so a batch costs one row, not n. */
int ab_store_append_events(ab_store *s, int64_t key, const ab_event *evs, size_t n,
                           ab_error *err);

/* Monitoring state of one arm (SPEC section 6: running minimum of the
 * sequential p, running intersection of its intervals, status and when
 * significance was first reached). Row arm 0 (the control has no test of
 * its own) holds the experiment's state: min_p the running minimum of the
 * anytime-valid sample-ratio p, status 1 while the SRM alert is raised,
 * significant_since_ms when it was raised, lo/hi the frozen plan of a fixed
 * test (baseline, per-variant users). */
typedef struct {
    int64_t key;
    int arm;
    double min_p;             /* NaN when never evaluated */
    int status;               /* ab_arm_status */
    int64_t significant_since_ms; /* 0 when never */
    double lo, hi;            /* NaN when unset */
} ab_store_monitor;

int ab_store_put_monitor(ab_store *s, const ab_store_monitor *m, ab_error *err);
/* Deletes every monitor row of experiment `key` (a monitoring restart). */
int ab_store_clear_monitor(ab_store *s, int64_t key, ab_error *err);

/* Replay on start: every experiment (in key order), then for each its
 * events in arrival order and its monitor rows. A callback returning
 * non-zero stops the load with that error. Events passed to on_event live
 * only during the call (user and id point into SQLite's buffers). */
typedef struct {
    int (*on_experiment)(void *ctx, const ab_store_experiment *e);
    int (*on_event)(void *ctx, int64_t key, const ab_event *ev);
    int (*on_monitor)(void *ctx, const ab_store_monitor *m);
} ab_store_loader;

int ab_store_load(ab_store *s, const ab_store_loader *loader, void *ctx, ab_error *err);

/* Integrity on start (SPEC section 9). ab_store_load first compares the
 * commit counter kept apart from the events (DIR/abstat.commits, written
 * after every commit) with the one inside the database, then checks every
 * event row (checksum) and the rows and events each experiment must hold.
 * A store that holds less than was acknowledged, or any unreadable record,
 * fails the load with a message naming what is missing, unless recover
 * was set: then unreadable rows are skipped, the loss is counted here and
 * logged, and the counters are reset to what the store now holds. */
void ab_store_set_recover(ab_store *s, int recover);

typedef struct {
    int recovered;           /* --recover accepted a loss or a doubt */
    uint64_t lost_events;    /* acknowledged events not in the store */
    uint64_t lost_batches;   /* event rows (one per experiment per commit) */
    uint64_t lost_commits;   /* commits missing from the database */
    uint64_t corrupt_rows;   /* unreadable event rows skipped */
    uint64_t commits, batches, events; /* what the store holds after start */
} ab_store_integrity;

/* After ab_store_load: what the checks found. */
const ab_store_integrity *ab_store_integrity_of(const ab_store *s);

/* 1 when a write transaction can be started and committed now (for
 * /healthz); probes with an empty write. */
int ab_store_writable(ab_store *s);

/* The webhook outbox (SPEC section 6): a delivery is stored when
 * significance is reached and deleted when the receiver answered 2xx, so
 * one pending at a stop or a crash is sent again after the restart. The
 * table is made at the first use. put and del write inside the open
 * transaction when there is one, else in a transaction of their own. */
typedef struct {
    const char *id;           /* the body's "id": experiment/variant/significant_since_ms */
    const char *url;
    const char *body;         /* JSON text */
    int64_t created_ms;
} ab_store_delivery;

int ab_store_outbox_put(ab_store *s, const ab_store_delivery *d, ab_error *err);
int ab_store_outbox_del(ab_store *s, const char *id, ab_error *err);
/* Every stored delivery, oldest first; strings live only during the call. */
int ab_store_outbox_load(ab_store *s, int (*cb)(void *ctx, const ab_store_delivery *d),
                         void *ctx, ab_error *err);

#endif
