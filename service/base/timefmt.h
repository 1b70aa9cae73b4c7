/* timefmt.h — RFC 3339 timestamps to and from epoch milliseconds. */
#ifndef ABSTAT_TIMEFMT_H
#define ABSTAT_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* The latest time RFC 3339 can write: 9999-12-31T23:59:59.999Z. */
#define AB_TS_MAX_MS 253402300799999LL

/* RFC 3339 ("2026-11-22T10:00:00Z", "...+01:00", fractional seconds) to
 * epoch milliseconds; 't', 'z' and a space for 'T' are accepted, the
 * fraction is truncated to milliseconds, a leap second :60 reads as :59.999.
 * Dates are checked (no February 30th, hours < 24). Years 0000-9999, so the
 * result may be negative. Returns 0 or -1. */
int ab_time_parse_rfc3339(const char *s, size_t len, int64_t *ms);

/* Epoch milliseconds to "2026-11-22T10:00:00.000Z" (buf >= 32 bytes). */
void ab_time_format_rfc3339(int64_t ms, char *buf, size_t len);

#endif
