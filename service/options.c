/* options.c — parsing and checking abstatd's flags. */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fputs("usage: abstatd --listen HOST:PORT --data DIR [--tokens FILE]\n"
          "               [--durability normal|full] [--max-body BYTES] [--max-batch N]\n"
          "               [--cors-origin ORIGIN[,ORIGIN...]] [--log-level debug|info|warn|error]\n"
          "               [--port-file FILE] [--max-header-bytes N] [--idle-timeout SECONDS]\n"
          "               [--max-connections N] [--parse-threads N] [--insecure]\n"
          "               [--max-pending-bytes BYTES] [--max-headers N] [--header-timeout SECONDS]\n"
          "               [--max-memory BYTES]\n"
          "               [--recover]\n"
          "  --listen 127.0.0.1:0 takes a free port (printed, and written to --port-file).\n",
          fp);
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || *s == '-' || !*s) return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s) return -1;
    if (*end == 'k' || *end == 'K') v *= 1024ull, end++;
    else if (*end == 'm' || *end == 'M') v *= 1024ull * 1024ull, end++;
    else if ((*end == 'g' || *end == 'G') && v <= 1024) v *= 1024ull * 1024ull * 1024ull, end++;
    if (*end || v == 0 || v > (1ull << 40)) return -1;
    *out = (size_t)v;
    return 0;
}

/* "127.0.0.1:8080", "[::1]:8080", "localhost:0". */
static int parse_listen(const char *s, ab_options *o)
{
    const char *colon = strrchr(s, ':');
    const char *host = s;
    size_t hlen;
    char *end;
    long port;
    if (!colon) return -1;
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
        host = s + 1;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof o->host) return -1;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535) return -1;
    memcpy(o->host, host, hlen);
    o->host[hlen] = '\0';
    o->port = (int)port;
    return 0;
}

int ab_options_parse(int argc, char **argv, ab_options *o)
{
    int have_listen = 0;
    memset(o, 0, sizeof *o);
    o->durability = AB_DURABILITY_NORMAL;
    o->max_body = 8u * 1024u * 1024u;
    o->max_batch = 100000;
    o->max_header_bytes = 16384;
    o->idle_timeout = 15;
    o->max_connections = 1024;
    o->max_pending = 128u * 1024u * 1024u;
    o->max_headers = 100;
    o->header_timeout = 5;
    o->parse_threads = 1;
    o->log_level = AB_LOG_INFO;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--insecure")) {
            o->insecure = 1;
            continue;
        }
        if (!strcmp(a, "--recover")) {
            o->recover = 1;
            continue;
        }
        if (strncmp(a, "--", 2) || !v) {
            fprintf(stderr, "abstatd: %s: %s\n", a, v ? "unknown argument" : "needs a value");
            usage(stderr);
            return -1;
        }
        i++;
        if (!strcmp(a, "--listen")) {
            if (parse_listen(v, o)) {
                fprintf(stderr, "abstatd: --listen: expected HOST:PORT, got \"%s\"\n", v);
                return -1;
            }
            have_listen = 1;
        } else if (!strcmp(a, "--data")) {
            o->data_dir = v;
        } else if (!strcmp(a, "--tokens")) {
            o->tokens_file = v;
        } else if (!strcmp(a, "--port-file")) {
            o->port_file = v;
        } else if (!strcmp(a, "--cors-origin")) {
            o->cors_origin = v;
        } else if (!strcmp(a, "--durability")) {
            if (!strcmp(v, "normal")) o->durability = AB_DURABILITY_NORMAL;
            else if (!strcmp(v, "full")) o->durability = AB_DURABILITY_FULL;
            else {
                fprintf(stderr, "abstatd: --durability: normal or full, got \"%s\"\n", v);
                return -1;
            }
        } else if (!strcmp(a, "--max-body")) {
            if (parse_size(v, &o->max_body)) {
                fprintf(stderr, "abstatd: --max-body: a positive size in bytes (k/M suffix ok)\n");
                return -1;
            }
        } else if (!strcmp(a, "--max-memory")) {
            if (parse_size(v, &o->max_memory) || o->max_memory < (1u << 20)) {
                fprintf(stderr, "abstatd: --max-memory: a size in bytes of at least 1M "
                                "(k/M/G suffix ok)\n");
                return -1;
            }
        } else if (!strcmp(a, "--max-pending-bytes")) {
            if (parse_size(v, &o->max_pending) || o->max_pending < 65536) {
                fprintf(stderr, "abstatd: --max-pending-bytes: a size of at least 64k "
                                "(k/M/G suffix ok)\n");
                return -1;
            }
        } else if (!strcmp(a, "--max-headers")) {
            if (parse_size(v, &o->max_headers) || o->max_headers < 8 || o->max_headers > 10000) {
                fprintf(stderr, "abstatd: --max-headers: 8 to 10000 header fields\n");
                return -1;
            }
        } else if (!strcmp(a, "--header-timeout")) {
            size_t n;
            if (parse_size(v, &n) || n > 3600) {
                fprintf(stderr, "abstatd: --header-timeout: 1 to 3600 seconds\n");
                return -1;
            }
            o->header_timeout = (int)n;
        } else if (!strcmp(a, "--max-batch")) {
            if (parse_size(v, &o->max_batch)) {
                fprintf(stderr, "abstatd: --max-batch: a positive number of events\n");
                return -1;
            }
        } else if (!strcmp(a, "--max-header-bytes")) {
            if (parse_size(v, &o->max_header_bytes) || o->max_header_bytes < 1024) {
                fprintf(stderr, "abstatd: --max-header-bytes: at least 1024\n");
                return -1;
            }
        } else if (!strcmp(a, "--idle-timeout") || !strcmp(a, "--max-connections")) {
            size_t n;
            if (parse_size(v, &n) || n > 1000000) {
                fprintf(stderr, "abstatd: %s: a positive whole number\n", a);
                return -1;
            }
            if (a[2] == 'i') o->idle_timeout = (int)n;
            else o->max_connections = (int)n;
        } else if (!strcmp(a, "--parse-threads")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || end == v || n < 0 || n > 8) {
                fprintf(stderr, "abstatd: --parse-threads: 0 to 8\n");
                return -1;
            }
            o->parse_threads = (int)n;
        } else if (!strcmp(a, "--log-level")) {
            if (ab_log_parse_level(v, &o->log_level)) {
                fprintf(stderr, "abstatd: --log-level: debug, info, warn or error\n");
                return -1;
            }
        } else {
            fprintf(stderr, "abstatd: unknown option %s\n", a);
            usage(stderr);
            return -1;
        }
    }
    if (!have_listen || !o->data_dir) {
        fprintf(stderr, "abstatd: --listen and --data are required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}
