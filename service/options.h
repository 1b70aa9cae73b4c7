/* options.h — abstatd's command-line flags (SPEC section 1). */
#ifndef ABSTAT_OPTIONS_H
#define ABSTAT_OPTIONS_H

#include <stddef.h>

#include "log.h"
#include "store.h"

typedef struct {
    char host[256];
    int port;                 /* 0 = any free port */
    const char *data_dir;     /* borrowed from argv */
    const char *tokens_file;  /* borrowed, or NULL */
    const char *port_file;    /* borrowed, or NULL */
    const char *cors_origin;  /* borrowed, or NULL */
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
    int insecure;
    int recover;              /* --recover: start on a damaged store, keeping what is readable */
    int parse_threads;        /* workers parsing large ingest bodies; 0: on the loop */             /* allow a non-loopback address without tokens */
    ab_log_level log_level;
} ab_options;

/* Parses argv into *o. Returns 0, 1 when --help was printed, or -1 after
 * printing the problem and the usage to stderr. */
int ab_options_parse(int argc, char **argv, ab_options *o);

#endif
