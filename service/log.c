/* log.c — timestamped, leveled log lines on standard error. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static ab_log_level current = AB_LOG_INFO;

int ab_log_parse_level(const char *s, ab_log_level *out)
{
    static const struct {
        const char *name;
        ab_log_level level;
    } names[] = {{"debug", AB_LOG_DEBUG}, {"info", AB_LOG_INFO}, {"warn", AB_LOG_WARN},
                 {"warning", AB_LOG_WARN}, {"error", AB_LOG_ERROR}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(s, names[i].name)) return *out = names[i].level, 0;
    return -1;
}

void ab_log_set_level(ab_log_level level)
{
    current = level;
}

void ab_log(ab_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"debug", "info", "warn", "error"};
    char line[2048], stamp[40];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n;

    if (level < current) return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof line, "%s.%03ldZ %s ", stamp, ts.tv_nsec / 1000000L,
                 tags[(unsigned)level < 4 ? level : 3]);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One write per line so that lines from concurrent writers never mix. */
    fprintf(stderr, "%s\n", line);
}
