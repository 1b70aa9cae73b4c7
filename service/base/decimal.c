/* decimal.c — unsigned integers to decimal text without printf (a formatted print costs more than the rest of an acknowledgement). */
#include "base/decimal.h"

#include <string.h>

/* Two digits at a time: a 64-bit division costs tens of cycles, and an
 * answer of results prints a few thousand numbers. */
static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233"
                               "34353637383940414243444546474849505152535455565758596061626364656667"
                               "6869707172737475767778798081828384858687888990919293949596979899";

size_t ab_decimal_u64(char *buf, uint64_t v)
{
    char tmp[AB_DECIMAL_MAX];
    size_t at = sizeof tmp, n;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        tmp[--at] = pairs[d + 1];
        tmp[--at] = pairs[d];
    }
    if (v >= 10) {
        unsigned d = (unsigned)v * 2;
        tmp[--at] = pairs[d + 1];
        tmp[--at] = pairs[d];
    } else {
        tmp[--at] = (char)('0' + v);
    }
    n = sizeof tmp - at;
    memcpy(buf, tmp + at, n);
    return n;
}
