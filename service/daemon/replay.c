/* replay.c — rebuilding the live experiments from the store at start:
 * experiments, then their events in commit order, then their monitoring
 * state. */
#include "daemon/replay.h"

#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/usertable.h"
#include "core/event.h"
#include "api/api.h"
#include "engine/monitor.h"

/* Replay looks this many events ahead: each user's slot is prefetched
 * when its event is read and used only when it is applied, so the random
 * memory access of a large user table overlaps with reading the store. */
#define REPLAY_AHEAD 16

typedef struct {
    ab_event ev;
    uint64_t ukey;
    char user[AB_USER_MAX + 1];
    char id[AB_EVENT_ID_MAX + 1];
} replay_slot;

typedef struct {
    ab_registry *reg;
    ab_live *current;   /* events arrive right after their experiment */
    double events;
    replay_slot ring[REPLAY_AHEAD];
    size_t head, count;
    int failed;
} replay_ctx;

static void replay_apply_oldest(replay_ctx *rc)
{
    replay_slot *sl = &rc->ring[rc->head];
    if (ab_state_apply_keyed(&rc->current->state, &sl->ev, sl->ukey) == AB_APPLY_NOMEM)
        rc->failed = 1;
    rc->head = (rc->head + 1) % REPLAY_AHEAD;
    rc->count--;
}

static int replay_drain(replay_ctx *rc)
{
    while (rc->count) replay_apply_oldest(rc);
    return rc->failed ? -1 : 0;
}

static int replay_experiment(void *arg, const ab_store_experiment *row)
{
    replay_ctx *rc = arg;
    ab_error err = {0, ""};
    ab_live *e;

    if (replay_drain(rc)) return -1;
    rc->current = NULL;
    if (!(e = ab_api_live_from_row(row, &err))) {
        ab_logerr("stored experiment %s is unreadable: %s", row->id, err.text);
        return -1;
    }
    if (ab_registry_add(rc->reg, e)) {
        ab_live_free(e);
        ab_logerr("out of memory loading experiment %s", row->id);
        return -1;
    }
    rc->current = e;
    return 0;
}

static int replay_event(void *arg, int64_t key, const ab_event *ev)
{
    replay_ctx *rc = arg;
    replay_slot *sl;
    if (!rc->current || rc->current->key != key || ev->user_len > AB_USER_MAX ||
        (ev->id && ev->id_len > AB_EVENT_ID_MAX))
        return -1;
    if (ev->type == AB_EVENT_EXPOSURE &&
        (ev->variant < 0 || (size_t)ev->variant >= rc->current->cfg.k))
        return -1;
    if (rc->count == REPLAY_AHEAD) replay_apply_oldest(rc);
    if (rc->failed) return -1;
    /* The row's strings live only during this call: copy them. */
    sl = &rc->ring[(rc->head + rc->count) % REPLAY_AHEAD];
    sl->ev = *ev;
    memcpy(sl->user, ev->user, ev->user_len);
    sl->user[ev->user_len] = '\0';
    sl->ev.user = sl->user;
    if (ev->id) {
        memcpy(sl->id, ev->id, ev->id_len);
        sl->id[ev->id_len] = '\0';
        sl->ev.id = sl->id;
    }
    sl->ukey = ab_hash(sl->user, ev->user_len);
    ab_usertable_prefetch(&rc->current->state.users, sl->ukey);
    rc->count++;
    rc->events++;
    return 0;
}

static int replay_monitor(void *arg, const ab_store_monitor *m)
{
    replay_ctx *rc = arg;
    ab_monitor_apply_row(rc->reg, m);
    return 0;
}

int ab_replay(ab_registry *reg, ab_store *store)
{
    ab_error err = {0, ""};
    static replay_ctx rc; /* the ring is ~6 KiB: not on the stack */
    ab_store_loader loader = {replay_experiment, replay_event, replay_monitor};
    int64_t t0;
    double secs;

    memset(&rc, 0, sizeof rc);
    rc.reg = reg;
    t0 = ab_mono_ns();
    if (ab_store_load(store, &loader, &rc, &err) || replay_drain(&rc)) {
        ab_logerr("cannot rebuild state from the store: %s", err.text);
        return -1;
    }
    secs = (double)(ab_mono_ns() - t0) * 1e-9;
    ab_info("replayed %.0f events of %zu experiments in %.3f s (%.0f events/s)", rc.events,
            reg->count, secs, secs > 0 ? rc.events / secs : 0.0);
    return 0;
}
