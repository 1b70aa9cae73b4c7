/* error.c — filling in the caller-owned ab_error. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>

int ab_error_set(ab_error *err, int status, const char *fmt, ...)
{
    va_list ap;
    if (!err) return -1;
    err->status = status;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    return -1;
}
