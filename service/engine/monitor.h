/* monitor.h — continuous evaluation: at least once a second every
 * experiment that received events is evaluated; the running minimum of the
 * sequential p and the moment of significance are stored, and a
 * decision-phase variant reaching significance is reported (log line,
 * metric, webhook). */
#ifndef ABSTAT_MONITOR_H
#define ABSTAT_MONITOR_H

#include <event2/event.h>

#include "core/evaluate.h"
#include "core/registry.h"
#include "engine/ingest.h"
#include "engine/memory.h"
#include "engine/metrics.h"
#include "engine/webhook.h"
#include "store/store.h"

/* What the monitor works on; every pointer is borrowed and outlives it. */
typedef struct {
    struct event_base *base;  /* the timer's and the webhooks' loop */
    ab_registry *reg;         /* the experiments evaluated */
    ab_store *store;          /* monitoring rows and the webhook outbox */
    ab_ingest *ingest;        /* flushed before the last save at shutdown; NULL: none */
    ab_metrics *metrics;      /* significance and webhook counters */
    ab_memory *memory;        /* the evaluation caches' budget; NULL: no caches */
} ab_monitor_deps;

typedef struct {
    ab_monitor_deps deps;
    struct event *timer;
    ab_webhooks webhooks;
    int evaluator;            /* a shared store: this node was the evaluator at the last tick */
} ab_monitor;

/* Sets up the webhooks and starts the once-a-second timer. -1 on
 * failure (ab_monitor_free cleans up). */
int ab_monitor_init(ab_monitor *m, const ab_monitor_deps *deps);
void ab_monitor_free(ab_monitor *m);

/* What the timer does each second: evaluates every experiment that
 * changed since its last evaluation (or has state still to store). */
void ab_monitor_tick(ab_monitor *m);

/* Evaluates e now, over the events counted so far (never waiting for a
 * commit in flight), stores what changed in its monitoring state and
 * reports new significance. ev receives the evaluation. The timer passes
 * timer = 1; a results request passes 0, which may also keep the
 * evaluation as e's cache. */
ab_status ab_monitor_evaluate(ab_monitor *m, ab_live *e, ab_evaluation *ev, int timer);

/* A read of e that needs no new evaluation: 1 when e's cached evaluation
 * is current (no count or config changed since it was made), after doing
 * what ab_monitor_evaluate does for a read of it (it keeps the cache and
 * stores a monitoring state still unsaved); 0 otherwise, and nothing
 * happens. The cache is e->cache (borrowed). */
int ab_monitor_current(ab_monitor *m, ab_live *e);

/* Sets the monitoring state of one stored row on its experiment in reg
 * (none: nothing); 1 when that changed anything, else 0. */
int ab_monitor_apply_row(ab_registry *reg, const ab_store_monitor *m);

/* Writes every experiment's unsaved monitoring state (at shutdown). */
void ab_monitor_save_all(ab_monitor *m);

#endif
