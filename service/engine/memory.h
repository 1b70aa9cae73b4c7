/* memory.h — memory as a limit (README "Storage and durability, Security"): what the daemon holds, the
 * --max-memory it must stay under, and the refusals before it is reached.
 *
 * Accounting, not RSS: the figure compared with the limit is
 *   base (the process as measured at start, before any experiment was
 *         loaded: code, libraries, the event loop, thread stacks)
 * + the user tables, id sets and counts of every experiment (ab_state_bytes)
 * + the arenas of ingest requests in flight
 * + the evaluation caches held (a fixed size each)
 * + the store's own heap (ab_store_memory_bytes: SQLite's page cache, schema).
 * Everything that grows with what clients send is in one of those terms,
 * and each is known exactly and cheaply where it changes, so the check on
 * the ingest path is a few additions. RSS is read once a second for the
 * abstat_memory_rss_bytes gauge only: it lags (freed heap is not always
 * returned), and under AddressSanitizer it says nothing about the daemon.
 * What neither counts (connection buffers, bounded by the server's own
 * limits; heap fragmentation) is what the default margin leaves room for. */
#ifndef ABSTAT_MEMORY_H
#define ABSTAT_MEMORY_H

#include <event2/event.h>
#include <event2/http.h>
#include <stddef.h>
#include <stdint.h>

#include "core/registry.h"

/* Seconds a client is told to wait (Retry-After) when refused for memory. */
#define AB_MEMORY_RETRY_AFTER 5

/* Bytes held outside the experiments that grow with requests (ingest's
 * arenas in flight). */
typedef size_t (*ab_memory_inflight_fn)(void);

typedef struct ab_memory {
    ab_registry *reg;        /* borrowed: the experiments counted; NULL before start */
    ab_memory_inflight_fn inflight; /* may be NULL */
    size_t limit;            /* --max-memory, or the default */
    size_t base;             /* measured at start */
    size_t state;            /* sum of ab_state_bytes over experiments */
    size_t caches;           /* evaluation caches held */
    size_t cache_max;        /* at most this many */
    size_t answers;          /* bytes of the answers rendered from them */
    size_t rss;              /* last read of /proc/self/statm (gauge) */
    size_t headroom;         /* largest next growth of one experiment (sweep) */
    int full;                /* refusing: /healthz says 503 */
    int refused_recently;    /* a refusal since the last sweep */
    uint64_t refused;        /* requests refused for memory */
    struct event *sweep;     /* once a second */
} ab_memory;

/* The default limit: the cgroup's (v2 memory.max, v1 memory.limit_in_bytes)
 * or the machine's RAM, whichever is smaller, less a margin of 10 % (at
 * least 64 MiB, at most half). Fills why (may be NULL) with where it came
 * from. */
size_t ab_memory_default_limit(char *why, size_t why_size);
/* Resident bytes of this process (/proc/self/statm), 0 when unknown. */
size_t ab_memory_rss(void);

/* Records the fixed part; call at start before any experiment is loaded. */
void ab_memory_measure_base(ab_memory *m);
/* After replay: counts what the experiments of reg hold (and, through
 * inflight, the requests in flight) and starts the once-a-second sweep
 * on base, which also frees the caches of experiments not read for a
 * while. -1 when the timer cannot be set up. */
int ab_memory_start(ab_memory *m, struct event_base *base, ab_registry *reg,
                    ab_memory_inflight_fn inflight, size_t limit);
void ab_memory_free(ab_memory *m);

/* Bytes held by the daemon's account (see above). */
size_t ab_memory_used(const ab_memory *m);
/* 1 when extra more bytes stay within the limit. */
int ab_memory_fits(const ab_memory *m, size_t extra);
/* Recounts every experiment's tables and the caches, frees the caches of
 * experiments not read for a while, and decides whether the daemon is at
 * its limit (after a DELETE, and once a second). */
void ab_memory_recount(ab_memory *m);
/* Answers req 503 with Retry-After: memory is at its limit and nothing was
 * stored. Marks the daemon full until a recount finds room again. */
void ab_memory_refuse(ab_memory *m, struct evhttp_request *req, const char *what);
/* Whether one more evaluation cache may be kept (and counts it when so). */
int ab_memory_cache_admit(ab_memory *m);
/* Whether a rendered answer of len bytes may be kept beside a cache (and
 * counts it when so); ab_memory_answers_freed gives bytes back. m may be
 * NULL: nothing is kept then. */
int ab_memory_answer_admit(ab_memory *m, size_t len);
void ab_memory_answers_freed(ab_memory *m, size_t len);

#endif
