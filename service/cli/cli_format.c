/* cli_format.c — figures for people on the command line (see
 * cli_format.h). */
#include "cli/cli_format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void ab_fmt_count(double v, char *buf, size_t len)
{
    char digits[64];
    size_t n, o = 0, start;
    if (!len) return;
    if (!isfinite(v)) {
        snprintf(buf, len, "%s", AB_UNDEFINED);
        return;
    }
    /* Beyond 2^53 no count is exact; 1e21 and up would not fit digits. */
    if (fabs(v) >= 1e21) {
        snprintf(buf, len, "%.3g", v);
        return;
    }
    snprintf(digits, sizeof digits, "%.0f", v);
    n = strlen(digits);
    start = digits[0] == '-' ? 1 : 0;
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i > start && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

const char *ab_fmt_num(double v, int decimals, int sign, char *buf, size_t len)
{
    if (!isfinite(v)) {
        snprintf(buf, len, "%s", AB_UNDEFINED);
        return buf;
    }
    /* -0.0 + 0.0 is +0.0, and what rounds to zero prints as "0.00". */
    if (fabs(v) < 0.5 * pow(10.0, -decimals)) v = 0.0;
    snprintf(buf, len, sign ? "%+.*f" : "%.*f", decimals, v + 0.0);
    return buf;
}
