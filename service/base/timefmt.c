/* timefmt.c — RFC 3339 timestamps to and from epoch milliseconds (pure calendar arithmetic). */
#include "base/timefmt.h"

#include <inttypes.h>
#include <stdio.h>

#define MS_PER_DAY 86400000LL

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): exact for every year, with no table and no loops. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;        /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* The inverse: a day count since 1970-01-01 to year, month, day. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                     /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                   /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n ASCII digits at s[*i]; -1 when they are not all digits. */
static int digits(const char *s, size_t len, size_t *i, int n)
{
    int v = 0;
    if (len - *i < (size_t)n) return -1;
    for (int k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[*i + (size_t)k];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)n;
    return v;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c) return -1;
    (*i)++;
    return 0;
}

int ab_time_parse_rfc3339(const char *s, size_t len, int64_t *ms)
{
    size_t i = 0;
    int y, mo, d, h, mi, sec, frac = 0, off = 0;

    if (!s) return -1;
    if ((y = digits(s, len, &i, 4)) < 0 || expect(s, len, &i, '-') ||
        (mo = digits(s, len, &i, 2)) < 0 || expect(s, len, &i, '-') ||
        (d = digits(s, len, &i, 2)) < 0)
        return -1;
    /* RFC 3339 5.6 allows lower-case t and, in its note, a space. */
    if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return -1;
    i++;
    if ((h = digits(s, len, &i, 2)) < 0 || expect(s, len, &i, ':') ||
        (mi = digits(s, len, &i, 2)) < 0 || expect(s, len, &i, ':') ||
        (sec = digits(s, len, &i, 2)) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return -1;
    if (i < len && s[i] == '.') {
        int n = 0;
        i++;
        /* Any number of digits; what is below a millisecond is truncated. */
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (n < 3) frac = frac * 10 + (s[i] - '0');
            n++;
            i++;
        }
        if (n == 0) return -1;
        for (; n < 3; n++) frac *= 10;
    }
    if (i >= len) return -1;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1, oh, om;
        i++;
        if ((oh = digits(s, len, &i, 2)) < 0 || expect(s, len, &i, ':') ||
            (om = digits(s, len, &i, 2)) < 0 || oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    if (i != len) return -1;
    /* A leap second (:60) cannot be told apart on a POSIX time line; it is
     * kept as the last millisecond of its minute so that order is preserved. */
    if (sec == 60) {
        sec = 59;
        frac = 999;
    }
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off * 60;
    *ms = secs * 1000 + frac;
    return 0;
}

void ab_time_format_rfc3339(int64_t ms, char *buf, size_t len)
{
    int64_t days, rem, y;
    int m, d;

    if (!buf || len == 0) return;
    /* Floor division so that times before 1970 land on the right day. */
    days = ms / MS_PER_DAY;
    rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
             (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000));
}
