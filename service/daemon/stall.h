/* stall.h — how long the event loop was held up: a 10 ms timer that
 * records how late it ran (abstat_loop_stall_max_seconds). */
#ifndef ABSTAT_STALL_H
#define ABSTAT_STALL_H

#include <event2/event.h>
#include <stdint.h>

#include "engine/metrics.h"

typedef struct {
    ab_metrics *metrics;      /* borrowed: loop_stall_max is raised here */
    struct event *timer;
    int64_t last_ns, last_wait_ns, logged_ns;
    int sched_fd;             /* /proc/thread-self/schedstat, or -1 */
} ab_stall;

/* Starts the timer on base (from the loop's own thread: the run delay is
 * that thread's). -1 when it cannot be set up; ab_stall_stop, called
 * after any ab_stall_start, cleans up either way. */
int ab_stall_start(ab_stall *s, struct event_base *base, ab_metrics *metrics);
void ab_stall_stop(ab_stall *s);

#endif
