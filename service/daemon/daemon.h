/* daemon.h — everything one abstatd process holds: main's own aggregate,
 * from which each subsystem is handed what it needs (daemon/ only). */
#ifndef ABSTAT_DAEMON_H
#define ABSTAT_DAEMON_H

#include <event2/event.h>

#include "api/api.h"
#include "core/registry.h"
#include "daemon/options.h"
#include "daemon/stall.h"
#include "engine/ingest.h"
#include "engine/memory.h"
#include "engine/metrics.h"
#include "engine/monitor.h"
#include "engine/parse_pool.h"
#include "http/auth.h"
#include "store/store.h"

typedef struct ab_daemon {
    ab_options opt;
    ab_auth auth;
    struct event_base *base;
    ab_store *store;
    ab_registry reg;
    ab_parse_pool parse_pool;
    ab_ingest ingest;
    ab_metrics metrics;
    ab_monitor monitor;
    ab_memory memory;        /* the account behind --max-memory */
    ab_stall stall;
    ab_api api;              /* what the handlers see of all this */
} ab_daemon;

#endif
