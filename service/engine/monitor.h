/* monitor.h — continuous evaluation: at least once a second every
 * experiment that received events is evaluated; the running minimum of the
 * sequential p and the moment of significance are stored, and a
 * decision-phase variant reaching significance is reported (log line,
 * metric, webhook). */
#ifndef ABSTAT_MONITOR_H
#define ABSTAT_MONITOR_H

#include <event2/event.h>

#include "core/evaluate.h"
#include "engine/webhook.h"

struct ab_daemon;

typedef struct {
    struct ab_daemon *d;
    struct event *timer;
    ab_webhooks webhooks;
} ab_monitor;

int ab_monitor_init(ab_monitor *m, struct ab_daemon *d);
void ab_monitor_free(ab_monitor *m);

/* Evaluates e now, stores what changed in its monitoring state and reports
 * new significance. ev receives the evaluation. The timer passes flush = 1
 * (pending events are committed and counted first); a results request
 * passes 0 and evaluates what is committed, without waiting for the batch
 * in flight. */
ab_status ab_monitor_evaluate(ab_monitor *m, ab_live *e, ab_evaluation *ev, int flush);

/* Writes every experiment's unsaved monitoring state (at shutdown). */
void ab_monitor_save_all(ab_monitor *m);

#endif
