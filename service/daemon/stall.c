/* stall.c — the loop-stall timer (see stall.h). Lateness is measured less
 * the time the kernel kept the loop's thread waiting for a CPU (its
 * schedstat run delay, when the kernel keeps one): the longest the loop
 * was held up by its own work or a blocking call, however loaded the
 * machine. */
#include "daemon/stall.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

#define STALL_PERIOD_NS 10000000LL

/* Nanoseconds this thread has waited on a run queue; 0 when unknown. */
static int64_t run_wait_ns(const ab_stall *s)
{
    char buf[128];
    ssize_t n;
    long long cpu, wait;
    if (s->sched_fd < 0 || (n = pread(s->sched_fd, buf, sizeof buf - 1, 0)) <= 0) return 0;
    buf[n] = '\0';
    return sscanf(buf, "%lld %lld", &cpu, &wait) == 2 ? (int64_t)wait : 0;
}

static void stall_cb(evutil_socket_t fd, short what, void *arg)
{
    ab_stall *s = arg;
    int64_t now = ab_mono_ns(), wait = run_wait_ns(s);
    int64_t late = now - s->last_ns - STALL_PERIOD_NS - (wait - s->last_wait_ns);
    (void)fd;
    (void)what;
    if (late > 0 && (double)late * 1e-9 > s->metrics->loop_stall_max)
        s->metrics->loop_stall_max = (double)late * 1e-9;
    /* Worth an operator's attention: at most one line a minute. */
    if (late > 50000000LL && now - s->logged_ns > 60000000000LL) {
        s->logged_ns = now;
        ab_warn("event loop held up for %.0f ms (every request waited that long)",
                (double)late * 1e-6);
    }
    s->last_ns = now;
    s->last_wait_ns = wait;
}

int ab_stall_start(ab_stall *s, struct event_base *base, ab_metrics *metrics)
{
    struct timeval period = {0, STALL_PERIOD_NS / 1000};
    memset(s, 0, sizeof *s);
    s->metrics = metrics;
    s->sched_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    s->logged_ns = ab_mono_ns() - 60000000000LL; /* the first stall is logged */
    if (!(s->timer = event_new(base, -1, EV_PERSIST, stall_cb, s))) return -1;
    s->last_wait_ns = run_wait_ns(s);
    s->last_ns = ab_mono_ns();
    return event_add(s->timer, &period);
}

void ab_stall_stop(ab_stall *s)
{
    if (s->timer) event_free(s->timer);
    s->timer = NULL;
    if (s->sched_fd >= 0) close(s->sched_fd);
    s->sched_fd = -1;
}
