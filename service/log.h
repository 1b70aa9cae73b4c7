/* log.h — leveled log lines on standard error, one line per event. */
#ifndef ABSTAT_LOG_H
#define ABSTAT_LOG_H

typedef enum { AB_LOG_DEBUG = 0, AB_LOG_INFO, AB_LOG_WARN, AB_LOG_ERROR } ab_log_level;

/* "debug", "info", "warn" (or "warning"), "error"; -1 when unknown. */
int ab_log_parse_level(const char *s, ab_log_level *out);
void ab_log_set_level(ab_log_level level);

/* Writes "2026-11-23T05:00:00.123Z level message\n" when level is enabled.
 * Never call from a signal handler. */
void ab_log(ab_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log lines of one kind, rate-limited: per call site at most
 * AB_LOG_BURST lines a second; the next line let through after some were
 * dropped ends in "(K similar messages suppressed)". For every line that a
 * client can cause once per event or per request (SPEC 9: no log flood). */
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
