/* store_status.c — the storage error kinds of store.h: their names and what an error says. */
#include "store/store_backend.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"

const char *ab_store_status_name(ab_store_status kind)
{
    switch (kind) {
    case AB_STORE_OK: return "ok";
    case AB_STORE_FULL: return "full";
    case AB_STORE_READONLY: return "readonly";
    case AB_STORE_BUSY: return "busy";
    case AB_STORE_IO: return "io";
    case AB_STORE_CORRUPT: return "corrupt";
    case AB_STORE_NOMEM: return "nomem";
    case AB_STORE_INVALID: return "invalid";
    case AB_STORE_INTERNAL: return "internal";
    }
    return "internal";
}

int ab_store_status_transient(ab_store_status kind)
{
    return kind == AB_STORE_FULL || kind == AB_STORE_READONLY || kind == AB_STORE_BUSY ||
           kind == AB_STORE_IO;
}

ab_store_status ab_store_fail(ab_error *err, ab_store_status kind, const char *fmt, ...)
{
    va_list ap;
    if (kind == AB_STORE_OK) kind = AB_STORE_INTERNAL;
    if (!err) return kind;
    err->status = 0; /* no HTTP here: the kind says what happened */
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    return kind;
}

ab_store_status ab_store_refuse(int recover, ab_store_integrity *integ, ab_error *err,
                                const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!recover)
        return ab_store_fail(err, AB_STORE_CORRUPT, "store: %s; start with --recover to keep "
                             "what is readable and report the loss", msg);
    ab_logerr("store damaged, recovering (--recover): %s", msg);
    integ->recovered = 1;
    return AB_STORE_OK;
}
