/* log.h — leveled log lines on standard error (or --log-file), one line per
 * event, as text or as one JSON object a line. */
#ifndef ABSTAT_LOG_H
#define ABSTAT_LOG_H

#include <stdint.h>

typedef enum { AB_LOG_DEBUG = 0, AB_LOG_INFO, AB_LOG_WARN, AB_LOG_ERROR } ab_log_level;
typedef enum { AB_LOG_TEXT = 0, AB_LOG_JSON } ab_log_format;

/* "debug", "info", "warn" (or "warning"), "error"; -1 when unknown. */
int ab_log_parse_level(const char *s, ab_log_level *out);
void ab_log_set_level(ab_log_level level);
/* "debug", "info", "warn", "error". */
const char *ab_log_level_name(ab_log_level level);
/* Whether lines of this level are written (to skip building them). */
int ab_log_enabled(ab_log_level level);

/* "text" or "json"; -1 when unknown. */
int ab_log_parse_format(const char *s, ab_log_format *out);
/* text: "2026-11-23T05:00:00.123Z info message"; json:
 * {"ts":"2026-11-23T05:00:00.123Z","level":"info","msg":"message"}. Either
 * way a line is valid UTF-8 and holds no control character: bytes that are
 * not UTF-8 and control characters in a message are escaped. */
void ab_log_set_format(ab_log_format format);
ab_log_format ab_log_get_format(void);

/* Points standard error (descriptor 2) at path, opened for appending and
 * created 0640 when missing, so that log lines and anything else written
 * to standard error land there. Called again with the same path (SIGHUP)
 * it reopens it: after logrotate has renamed the file, writing goes on in
 * a new one. The switch is atomic (dup2): a line is in one file or the
 * other. 0, or -1 with errno set (the old destination is kept). */
int ab_log_open_file(const char *path);

/* Writes one line when level is enabled. Never call from a signal
 * handler. */
void ab_log(ab_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The debug line of one answered request: method, path (the caller passes
 * it without the query string, which may carry ?token=), status, time
 * taken and body bytes in and out. Nothing else of a request is logged.
 * In JSON the figures are fields of their own. */
void ab_log_request(const char *method, const char *path, int status, double ms,
                    uint64_t bytes_in, uint64_t bytes_out);

/* Log lines of one kind, rate-limited: per call site at most
 * AB_LOG_BURST lines a second; the next line let through after some were
 * dropped ends in "(K similar messages suppressed)" (json: a "suppressed"
 * field). For every line that a client can cause once per event or per
 * request (README "Storage and durability, Security": no log flood). */
#define AB_LOG_BURST 5
typedef struct {
    long long second;        /* the current one-second window */
    unsigned lines;          /* written in it */
    unsigned long long suppressed;
} ab_log_limit;
void ab_log_limited(ab_log_limit *lim, ab_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One limit per call site. */
#define ab_log_ratelimited(level, ...)                                       \
    do {                                                                    \
        static ab_log_limit ab_lim_;                                        \
        ab_log_limited(&ab_lim_, (level), __VA_ARGS__);                     \
    } while (0)
/* Lines suppressed so far, over all call sites (for tests and metrics). */
unsigned long long ab_log_suppressed_total(void);

#define ab_debug(...) ab_log(AB_LOG_DEBUG, __VA_ARGS__)
#define ab_info(...) ab_log(AB_LOG_INFO, __VA_ARGS__)
#define ab_warn(...) ab_log(AB_LOG_WARN, __VA_ARGS__)
#define ab_logerr(...) ab_log(AB_LOG_ERROR, __VA_ARGS__)

#endif
