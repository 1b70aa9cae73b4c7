/* event.c — the rules of event.h that are not the schema: the ts window of a request and the user id's length. */
#include "core/event.h"

#include <stdio.h>

ab_ts_window ab_ts_window_at(int64_t now_ms, int may_backfill)
{
    ab_ts_window w;
    w.now_ms = now_ms;
    w.earliest_ms = AB_TS_MIN_MS;
    if (!may_backfill && now_ms - AB_TS_LATE_MS > AB_TS_MIN_MS)
        w.earliest_ms = now_ms - AB_TS_LATE_MS;
    return w;
}

int ab_event_user_check(size_t len, char *msg, size_t cap)
{
    if (len >= 1 && len <= AB_USER_MAX) return 0;
    snprintf(msg, cap, "\"user\" must be 1 to %d bytes, not %zu", AB_USER_MAX, len);
    return -1;
}
