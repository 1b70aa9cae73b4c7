/* daemon.h — everything one abstatd process holds, passed to handlers. */
#ifndef ABSTAT_DAEMON_H
#define ABSTAT_DAEMON_H

#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdint.h>

#include "http/auth.h"
#include "engine/ingest.h"
#include "engine/memory.h"
#include "engine/metrics.h"
#include "engine/monitor.h"
#include "daemon/options.h"
#include "engine/parse_pool.h"
#include "core/registry.h"
#include "store/store.h"

typedef struct ab_daemon {
    ab_options opt;
    ab_auth auth;
    struct event_base *base;
    struct evhttp *http;
    ab_store *store;
    ab_registry reg;
    /* Parse workers read experiments under this lock; the loop writes them
     * under it and bumps the generation, so a parse that overlapped a
     * change is done again. */
    pthread_rwlock_t reg_lock;
    uint64_t reg_generation;
    ab_parse_pool parse_pool;
    ab_ingest ingest;
    ab_metrics metrics;
    ab_monitor monitor;
    ab_memory memory;        /* the account behind --max-memory */
    int64_t started_ms;
    int shutting_down;       /* new requests get 503 while draining */
} ab_daemon;

/* Wall-clock time in epoch milliseconds. */
int64_t ab_now_ms(void);

#endif
