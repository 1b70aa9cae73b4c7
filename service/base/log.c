/* log.c — timestamped, leveled log lines (text or JSON) on standard error
 * or in --log-file. */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/timefmt.h"
#include "base/utf8.h"

/* Set once at start-up, before any thread that logs exists. */
static ab_log_level current = AB_LOG_INFO;
static ab_log_format format = AB_LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

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

const char *ab_log_level_name(ab_log_level level)
{
    return level_names[(unsigned)level < 4 ? level : 3];
}

int ab_log_enabled(ab_log_level level)
{
    return level >= current;
}

int ab_log_parse_format(const char *s, ab_log_format *out)
{
    if (!strcasecmp(s, "text")) return *out = AB_LOG_TEXT, 0;
    if (!strcasecmp(s, "json")) return *out = AB_LOG_JSON, 0;
    return -1;
}

void ab_log_set_format(ab_log_format f)
{
    format = f;
}

ab_log_format ab_log_get_format(void)
{
    return format;
}

int ab_log_open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) return -1;
    if (fd != STDERR_FILENO) {
        int rc = dup2(fd, STDERR_FILENO), saved = errno;
        close(fd);
        if (rc < 0) {
            errno = saved;
            return -1;
        }
    }
    return 0;
}

/* Appends s to out (used bytes *n of cap, always NUL-terminated), escaped
 * for the format: in JSON as a string's contents, in text with control
 * characters and bytes that are not UTF-8 as \xNN, so that a message
 * quoting client input can neither forge a line nor break a parser. What
 * does not fit is cut at a character boundary. */
static void put_escaped(char *out, size_t cap, size_t *n, const char *s, int json)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p && *n + 8 < cap) {
        /* s is NUL-terminated and a NUL is never a continuation byte: the
         * check stops there before reading further. */
        size_t len = ab_utf8_seq(p, 4);
        if (*p >= 0x20 && *p != 0x7f && len) {
            if (json && (*p == '"' || *p == '\\')) out[(*n)++] = '\\';
            memcpy(out + *n, p, len);
            *n += len;
            p += len;
            continue;
        }
        if (json && len) /* a control character */
            *n += (size_t)snprintf(out + *n, cap - *n, "\\u%04x", *p);
        else if (json)
            *n += (size_t)snprintf(out + *n, cap - *n, "\\ufffd");
        else
            *n += (size_t)snprintf(out + *n, cap - *n, "\\x%02x", *p);
        p++;
    }
    out[*n] = '\0';
}

/* Appends a formatted piece (no escaping: callers pass numbers and fixed
 * text only). */
static void put(char *out, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *out, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    int w;
    if (*n + 1 >= cap) return;
    va_start(ap, fmt);
    w = vsnprintf(out + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w > 0) *n += (size_t)w < cap - *n ? (size_t)w : cap - *n - 1;
}

/* Writes all of buf to standard error in one write where the kernel
 * allows: lines from the loop and the parse workers never mix. */
static void write_line(const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(STDERR_FILENO, buf, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return; /* nowhere to say so */
        buf += w;
        len -= (size_t)w;
    }
}

/* One line: msg (escaped here), and in JSON the extra fields, already
 * rendered (",\"k\":v..."), or in text their rendering appended to msg by
 * the caller. suppressed > 0 adds the count of dropped lines. */
static void emit(ab_log_level level, const char *msg, unsigned long long suppressed,
                 const char *json_fields)
{
    /* A message is at most 2 KiB; escaped it can grow six-fold. */
    char line[16384], stamp[40];
    const char *tag = level_names[(unsigned)level < 4 ? level : 3];
    size_t n = 0;

    /* The one RFC 3339 writer (base/timefmt.h), as every time abstat shows. */
    ab_time_format_rfc3339(ab_now_ms(), stamp, sizeof stamp);
    if (format == AB_LOG_JSON) {
        put(line, sizeof line, &n, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", stamp, tag);
        put_escaped(line, sizeof line - 64, &n, msg, 1);
        put(line, sizeof line, &n, "\"");
        if (json_fields && n + strlen(json_fields) + 48 < sizeof line)
            put(line, sizeof line, &n, "%s", json_fields);
        if (suppressed) put(line, sizeof line, &n, ",\"suppressed\":%llu", suppressed);
        put(line, sizeof line, &n, "}\n");
    } else {
        put(line, sizeof line, &n, "%s %s ", stamp, tag);
        put_escaped(line, sizeof line - 64, &n, msg, 0);
        if (suppressed) put(line, sizeof line, &n, " (%llu similar messages suppressed)", suppressed);
        put(line, sizeof line, &n, "\n");
    }
    write_line(line, n);
}

static void vlog(ab_log_level level, unsigned long long suppressed, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    emit(level, msg, suppressed, NULL);
}

void ab_log(ab_log_level level, const char *fmt, ...)
{
    va_list ap;
    if (level < current) return;
    va_start(ap, fmt);
    vlog(level, 0, fmt, ap);
    va_end(ap);
}

void ab_log_request(const char *method, const char *path, int status, double ms,
                    uint64_t bytes_in, uint64_t bytes_out)
{
    char msg[2048], fields[1200];
    size_t n = 0;
    if (AB_LOG_DEBUG < current) return;
    if (format == AB_LOG_JSON) {
        put(fields, sizeof fields, &n, ",\"method\":\"");
        put_escaped(fields, 40 + n, &n, method, 1);
        put(fields, sizeof fields, &n, "\",\"path\":\"");
        put_escaped(fields, sizeof fields - 160, &n, path, 1);
        put(fields, sizeof fields, &n,
            "\",\"status\":%d,\"ms\":%.3f,\"bytes_in\":%llu,\"bytes_out\":%llu", status, ms,
            (unsigned long long)bytes_in, (unsigned long long)bytes_out);
        emit(AB_LOG_DEBUG, "request", 0, fields);
        return;
    }
    snprintf(msg, sizeof msg, "request %.16s %.1000s %d %.3f ms, body %llu B in, %llu B out",
             method, path, status, ms, (unsigned long long)bytes_in,
             (unsigned long long)bytes_out);
    emit(AB_LOG_DEBUG, msg, 0, NULL);
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
    long long second;
    unsigned long long dropped = 0;
    int write;
    va_list ap;

    if (level < current) return;
    second = (long long)(ab_mono_ns() / 1000000000);
    pthread_mutex_lock(&limit_lock);
    if (lim->second != second) {
        lim->second = second;
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
