/* decimal.c — unsigned integers to decimal text without printf (a formatted print costs more than the rest of an acknowledgement). */
#include "base/decimal.h"

size_t ab_decimal_u64(char *buf, uint64_t v)
{
    char tmp[AB_DECIMAL_MAX];
    size_t n = 0, i;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    return n;
}
