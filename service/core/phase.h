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

/* Parses a canonical name or an alias of README "Journey phases", case-insensitively
 * (Dutch names included, "ORIËNTATIE" too). len is the byte length of s,
 * which need not be NUL-terminated. Returns 0 and sets *out, or -1. */
int ab_phase_parse(const char *s, size_t len, ab_phase *out);

/* The one error text for a name that is no phase (events, experiments,
 * guardrails and /v1/analyze alike), so that every refusal lists the valid
 * names: `phase "buy" is not a journey phase: use awareness, ...`, after
 * "WHERE: " when where is not NULL or empty. The name (len bytes) is cut
 * to AB_PHASE_QUOTE_MAX bytes, never inside a character. Writes at most
 * size bytes to buf, NUL-terminated, and returns buf. */
#define AB_PHASE_QUOTE_MAX 32
const char *ab_phase_unknown(char *buf, size_t size, const char *where, const char *s,
                             size_t len);

#endif
