/* phase.h — the five journey phases and their accepted names. */
#ifndef ABSTAT_PHASE_H
#define ABSTAT_PHASE_H

#include <stddef.h>

typedef enum {
    AB_PHASE_AWARENESS = 0,
    AB_PHASE_CONSIDERATION,
    AB_PHASE_DECISION,
    AB_PHASE_RETENTION,
    AB_PHASE_ADVOCACY,
    AB_PHASE_COUNT
} ab_phase;

/* Canonical name of a phase ("decision"); static, never NULL for a valid phase. */
const char *ab_phase_name(ab_phase p);

/* Parses a canonical name or an alias of SPEC section 2, case-insensitively
 * (Dutch names included, "ORIËNTATIE" too). len is the byte length of s,
 * which need not be NUL-terminated. Returns 0 and sets *out, or -1. */
int ab_phase_parse(const char *s, size_t len, ab_phase *out);

#endif
