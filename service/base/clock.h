/* clock.h — the two clocks of the service: wall time for what is stored
 * and shown, monotonic time for durations and deadlines. */
#ifndef ABSTAT_CLOCK_H
#define ABSTAT_CLOCK_H

#include <stdint.h>

/* Wall-clock time in epoch milliseconds (CLOCK_REALTIME). */
int64_t ab_now_ms(void);
/* Monotonic nanoseconds from an arbitrary start (CLOCK_MONOTONIC): for
 * measuring, never for storing. */
int64_t ab_mono_ns(void);

#endif
