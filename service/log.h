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

#define ab_debug(...) ab_log(AB_LOG_DEBUG, __VA_ARGS__)
#define ab_info(...) ab_log(AB_LOG_INFO, __VA_ARGS__)
#define ab_warn(...) ab_log(AB_LOG_WARN, __VA_ARGS__)
#define ab_logerr(...) ab_log(AB_LOG_ERROR, __VA_ARGS__)

#endif
