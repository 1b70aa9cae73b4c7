/* options.h — abstatd's command-line flags (README "Configuration"). */
#ifndef ABSTAT_OPTIONS_H
#define ABSTAT_OPTIONS_H

#include <stddef.h>

#include "base/log.h"
#include "store/store.h"

/* The defaults: ab_options_parse starts from these and --help prints
 * them, so the two cannot disagree. */
#define AB_DEFAULT_MAX_BODY ((size_t)8 << 20)
#define AB_DEFAULT_MAX_BATCH ((size_t)100000)
#define AB_DEFAULT_MAX_HEADER_BYTES ((size_t)16 << 10)
#define AB_DEFAULT_MAX_HEADERS ((size_t)100)
#define AB_DEFAULT_HEADER_TIMEOUT 5     /* seconds */
#define AB_DEFAULT_IDLE_TIMEOUT 15      /* seconds */
#define AB_DEFAULT_MAX_CONNECTIONS 1024
#define AB_DEFAULT_MAX_PENDING ((size_t)128 << 20)
#define AB_DEFAULT_PARSE_THREADS 1
#define AB_DEFAULT_DRAIN_TIMEOUT 5      /* seconds */
#define AB_DEFAULT_LOG_LEVEL AB_LOG_INFO
#define AB_DEFAULT_LOG_FORMAT AB_LOG_TEXT

typedef struct {
    char host[256];
    int port;                 /* 0 = any free port */
    const char *data_dir;     /* --data, borrowed from argv, or NULL with --store */
    const char *store_url;    /* --store postgresql://..., borrowed, or NULL with --data */
    const char *tokens_file;  /* borrowed, or NULL */
    const char *port_file;    /* borrowed, or NULL */
    const char *cors_origin;  /* borrowed, or NULL */
    const char *log_file;     /* borrowed, or NULL: standard error */
    ab_durability durability;
    size_t max_body;          /* bytes */
    size_t max_batch;         /* events per request */
    size_t max_header_bytes;  /* request line and headers */
    size_t max_memory;        /* --max-memory bytes; 0: the default (memory.h) */
    int idle_timeout;         /* seconds a connection may stay silent */
    int max_connections;      /* open client connections at once */
    size_t max_pending;       /* --max-pending-bytes: request bodies in flight, all together */
    size_t max_headers;       /* --max-headers: header fields per request */
    int header_timeout;       /* --header-timeout: seconds from accept to a complete request head */
    int drain_timeout;        /* --drain-timeout: seconds a stop waits for bodies under way */
    int insecure;             /* allow a non-loopback address without tokens */
    int recover;              /* --recover: start on a damaged store, keeping what is readable */
    int parse_threads;        /* workers parsing large ingest bodies; 0: on the loop */
    ab_log_level log_level;
    ab_log_format log_format;
} ab_options;

/* Parses argv into *o. Returns 0, 1 when --help or --version was printed
 * (on standard output), or -1 after printing the problem (and, for an
 * unknown flag, the usage) to standard error. */
int ab_options_parse(int argc, char **argv, ab_options *o);

#endif
