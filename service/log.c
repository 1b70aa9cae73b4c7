/* log.c — timestamped, leveled log lines on standard error. */
#include "log.h"

#include <pthread.h>
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

/* Formats and writes one line; suppressed > 0 appends the count. */
static void vlog(ab_log_level level, unsigned long long suppressed, const char *fmt, va_list ap)
{
    static const char *const tags[] = {"debug", "info", "warn", "error"};
    char line[2048], stamp[40];
    struct timespec ts;
    struct tm tm;
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof line, "%s.%03ldZ %s ", stamp, ts.tv_nsec / 1000000L,
                 tags[(unsigned)level < 4 ? level : 3]);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    /* One write per line so that lines from concurrent writers never mix. */
    if (suppressed)
        fprintf(stderr, "%s (%llu similar messages suppressed)\n", line, suppressed);
    else
        fprintf(stderr, "%s\n", line);
}

void ab_log(ab_log_level level, const char *fmt, ...)
{
    va_list ap;
    if (level < current) return;
    va_start(ap, fmt);
    vlog(level, 0, fmt, ap);
    va_end(ap);
}

/* Limits are shared by the loop and the parse workers. */
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long suppressed_total;

unsigned long long ab_log_suppressed_total(void)
{
    unsigned long long n;
    pthread_mutex_lock(&limit_lock);
    n = suppressed_total;
    pthread_mutex_unlock(&limit_lock);
    return n;
}

void ab_log_limited(ab_log_limit *lim, ab_log_level level, const char *fmt, ...)
{
    struct timespec ts;
    unsigned long long dropped = 0;
    int write;
    va_list ap;

    if (level < current) return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    pthread_mutex_lock(&limit_lock);
    if (lim->second != (long long)ts.tv_sec) {
        lim->second = (long long)ts.tv_sec;
        lim->lines = 0;
    }
    write = lim->lines < AB_LOG_BURST;
    if (write) {
        lim->lines++;
        dropped = lim->suppressed;
        lim->suppressed = 0;
    } else {
        lim->suppressed++;
        suppressed_total++;
    }
    pthread_mutex_unlock(&limit_lock);
    if (!write) return;
    va_start(ap, fmt);
    vlog(level, dropped, fmt, ap);
    va_end(ap);
}
