/* options.c — parsing and checking abstatd's flags. */
#include "daemon/options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/cors.h"
#include "base/version.h"

/* One flag of --help: its meaning (lines split at '\n') and default. */
static void flag(FILE *fp, const char *name, const char *meaning, const char *def)
{
    const char *p = meaning;
    fprintf(fp, "  %-30s", name);
    for (;;) {
        size_t n = strcspn(p, "\n");
        fprintf(fp, " %.*s\n", (int)n, p);
        if (!p[n]) break;
        p += n + 1;
        fprintf(fp, "  %-30s", "");
    }
    if (*def) fprintf(fp, "  %-30s %s%s\n", "", *def == '(' ? "" : "default: ", def);
}

/* A size as people write it: "8 MiB", "16 KiB", else bytes. */
static const char *size_text(char *buf, size_t cap, size_t v)
{
    if (v && v % ((size_t)1 << 30) == 0) snprintf(buf, cap, "%zu GiB", v >> 30);
    else if (v && v % ((size_t)1 << 20) == 0) snprintf(buf, cap, "%zu MiB", v >> 20);
    else if (v && v % 1024 == 0) snprintf(buf, cap, "%zu KiB", v >> 10);
    else snprintf(buf, cap, "%zu bytes", v);
    return buf;
}

static void usage(FILE *fp)
{
    char b[64];
    fputs("usage: abstatd --listen HOST:PORT --data DIR|--store URL [FLAG VALUE]... [--insecure]\n"
          "               [--recover]\n"
          "       abstatd --version | --help\n"
          "\n"
          "Sizes take k, M and G suffixes (powers of 1024).\n"
          "\n",
          fp);
    flag(fp, "--listen HOST:PORT", "address to serve ([::1]:PORT for IPv6); port 0 takes a\n"
         "free one, printed as \"abstatd listening on HOST:PORT\"", "(required)");
    flag(fp, "--data DIR", "directory of the SQLite store (created if missing;\n"
         "locked against a second daemon)", "(required, or --store)");
    flag(fp, "--store URL", "PostgreSQL store instead: postgresql://USER@HOST/DB (or\n"
         "postgres://); several daemons may share one database", "(required, or --data)");
    flag(fp, "--tokens FILE", "bearer tokens, lines \"ingest|read|admin TOKEN\"; reread\n"
         "on SIGHUP", "none: open, loopback only");
    flag(fp, "--durability normal|full", "normal survives a crash of the process; full also\n"
         "power loss (fsync per commit)", "normal");
    flag(fp, "--max-body BYTES", "larger request bodies get 413",
         size_text(b, sizeof b, AB_DEFAULT_MAX_BODY));
    snprintf(b, sizeof b, "%zu", AB_DEFAULT_MAX_BATCH);
    flag(fp, "--max-batch N", "most events in one request (413 past it)", b);
    flag(fp, "--max-memory BYTES", "memory the daemon may hold; new events get 503 before\n"
         "it is crossed (at least 1M)", "the cgroup's limit or the RAM, less 10 %");
    flag(fp, "--max-pending-bytes BYTES", "request bodies in flight, all connections together\n"
         "(503 past it; at least 64k)", size_text(b, sizeof b, AB_DEFAULT_MAX_PENDING));
    flag(fp, "--max-header-bytes N", "request line and header fields of one request (400\n"
         "past it; at least 1024)", size_text(b, sizeof b, AB_DEFAULT_MAX_HEADER_BYTES));
    snprintf(b, sizeof b, "%zu", AB_DEFAULT_MAX_HEADERS);
    flag(fp, "--max-headers N", "header fields of one request (400 past it; 8 to 10000)", b);
    snprintf(b, sizeof b, "%d s", AB_DEFAULT_HEADER_TIMEOUT);
    flag(fp, "--header-timeout SECONDS", "from accept (or the end of the previous request) to\n"
         "a complete request head; then the connection closes", b);
    snprintf(b, sizeof b, "%d s", AB_DEFAULT_IDLE_TIMEOUT);
    flag(fp, "--idle-timeout SECONDS", "silence after which a connection is closed", b);
    snprintf(b, sizeof b, "%d", AB_DEFAULT_MAX_CONNECTIONS);
    flag(fp, "--max-connections N", "client connections at once (503 past it)", b);
    snprintf(b, sizeof b, "%d", AB_DEFAULT_PARSE_THREADS);
    flag(fp, "--parse-threads N", "threads parsing request bodies of 16 KiB and more\n"
         "(0 to 8; 0: on the event loop)", b);
    flag(fp, "--cors-origin ORIGIN[,ORIGIN]", "origins whose pages may send events and ask for\n"
         "assignments (scheme://host[:port], or *)",
         "none");
    flag(fp, "--log-level LEVEL", "debug, info, warn or error; debug adds one line per\n"
         "request (method, path without query, status, time, bytes)",
         ab_log_level_name(AB_DEFAULT_LOG_LEVEL));
    flag(fp, "--log-format text|json", "json: one JSON object a line (ts, level, msg)",
         AB_DEFAULT_LOG_FORMAT == AB_LOG_JSON ? "json" : "text");
    flag(fp, "--log-file FILE", "append the log (and all of standard error) to FILE;\n"
         "reopened on SIGHUP, for logrotate", "standard error");
    flag(fp, "--port-file FILE", "write the bound port to FILE (for --listen HOST:0)", "none");
    snprintf(b, sizeof b, "%d s", AB_DEFAULT_DRAIN_TIMEOUT);
    flag(fp, "--drain-timeout SECONDS", "on SIGTERM/SIGINT, how long requests whose head came\n"
         "before the signal may take to send their body (0 to 3600)", b);
    flag(fp, "--insecure", "allow a non-loopback --listen without --tokens", "off");
    flag(fp, "--recover", "start on a damaged store: keep what is readable, report\n"
         "what was lost", "off");
    flag(fp, "--version", "print \"abstatd VERSION\" and exit", "");
    flag(fp, "--help", "print this and exit", "");
    fputs("\nSignals: SIGHUP rereads --tokens and reopens --log-file; SIGTERM and SIGINT stop\n"
          "after answering the requests in flight (see --drain-timeout).\n",
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

/* The flags that take a value (the others: --insecure, --recover,
 * --version, --help). */
static int takes_value(const char *a)
{
    static const char *const names[] = {
        "--listen", "--data", "--store", "--tokens", "--port-file", "--cors-origin", "--durability",
        "--max-body", "--max-memory", "--max-pending-bytes", "--max-headers",
        "--header-timeout", "--max-batch", "--max-header-bytes", "--idle-timeout",
        "--max-connections", "--parse-threads", "--log-level", "--log-format", "--log-file",
        "--drain-timeout"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(a, names[i])) return 1;
    return 0;
}

int ab_options_parse(int argc, char **argv, ab_options *o)
{
    int have_listen = 0;
    memset(o, 0, sizeof *o);
    o->durability = AB_DURABILITY_NORMAL;
    o->max_body = AB_DEFAULT_MAX_BODY;
    o->max_batch = AB_DEFAULT_MAX_BATCH;
    o->max_header_bytes = AB_DEFAULT_MAX_HEADER_BYTES;
    o->idle_timeout = AB_DEFAULT_IDLE_TIMEOUT;
    o->max_connections = AB_DEFAULT_MAX_CONNECTIONS;
    o->max_pending = AB_DEFAULT_MAX_PENDING;
    o->max_headers = AB_DEFAULT_MAX_HEADERS;
    o->header_timeout = AB_DEFAULT_HEADER_TIMEOUT;
    o->drain_timeout = AB_DEFAULT_DRAIN_TIMEOUT;
    o->parse_threads = AB_DEFAULT_PARSE_THREADS;
    o->log_level = AB_DEFAULT_LOG_LEVEL;
    o->log_format = AB_DEFAULT_LOG_FORMAT;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--version")) {
            printf("abstatd %s\n", AB_VERSION);
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
        if (!takes_value(a)) {
            fprintf(stderr, "abstatd: unknown %s %s (abstatd --help lists them)\n",
                    strncmp(a, "--", 2) ? "argument" : "flag", a);
            return -1;
        }
        if (!v) {
            fprintf(stderr, "abstatd: %s needs a value (abstatd --help)\n", a);
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
        } else if (!strcmp(a, "--store")) {
            /* Only a PostgreSQL URI: a directory is --data, and anything
             * else would silently become one. Shown without its password
             * (README "Security"). */
            if (strncmp(v, "postgresql://", 13) && strncmp(v, "postgres://", 11)) {
                char shown[300];
                fprintf(stderr, "abstatd: --store: a PostgreSQL connection URI, "
                        "postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?PARAM=VALUE...] "
                        "(or postgres://...), got \"%s\"; an SQLite store is --data DIR\n",
                        ab_store_where_safe(v, shown, sizeof shown));
                return -1;
            }
            o->store_url = v;
        } else if (!strcmp(a, "--tokens")) {
            o->tokens_file = v;
        } else if (!strcmp(a, "--port-file")) {
            o->port_file = v;
        } else if (!strcmp(a, "--cors-origin")) {
            /* A value no browser's Origin can equal would refuse every
             * page in silence: stop here and say why (cors.h). */
            char why[400];
            if (ab_cors_check(v, why, sizeof why)) {
                fprintf(stderr, "abstatd: --cors-origin \"%s\": %s\n", v, why);
                return -1;
            }
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
        } else if (!strcmp(a, "--log-format")) {
            if (ab_log_parse_format(v, &o->log_format)) {
                fprintf(stderr, "abstatd: --log-format: text or json, got \"%s\"\n", v);
                return -1;
            }
        } else if (!strcmp(a, "--log-file")) {
            if (!*v) {
                fprintf(stderr, "abstatd: --log-file: a file name\n");
                return -1;
            }
            o->log_file = v;
        } else if (!strcmp(a, "--drain-timeout")) {
            char *end;
            long n;
            errno = 0;
            n = strtol(v, &end, 10);
            if (errno || *end || end == v || n < 0 || n > 3600) {
                fprintf(stderr, "abstatd: --drain-timeout: 0 to 3600 seconds\n");
                return -1;
            }
            o->drain_timeout = (int)n;
        }
    }
    if (o->data_dir && o->store_url) {
        fprintf(stderr, "abstatd: --data and --store both given: the store is a directory "
                        "(--data, SQLite) or a PostgreSQL database (--store), not both\n");
        return -1;
    }
    if (!have_listen || (!o->data_dir && !o->store_url)) {
        fprintf(stderr, "abstatd: --listen and --data DIR (or --store URL) are required "
                        "(abstatd --help lists every flag)\n");
        return -1;
    }
    return 0;
}
