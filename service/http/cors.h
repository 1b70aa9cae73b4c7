/* cors.h — the --cors-origin allow-list: checked once at start, matched
 * against each browser request's Origin. No libevent, for tests and fuzzing.
 *
 * A value is "*" or origins separated by commas, each exactly as browsers
 * send them in Origin: scheme://host[:port] with scheme http or https, in
 * lower case, no path, no trailing "/", no default port, no spaces. Being
 * strict at start is what makes matching a plain comparison: an entry that
 * could never equal a browser's Origin is an error, not a silent refusal of
 * every request. */
#ifndef ABSTAT_CORS_H
#define ABSTAT_CORS_H

#include <stddef.h>

/* 0 when spec is a valid --cors-origin value; else -1 with why in msg (cap
 * bytes): the entry at fault, what is wrong and what to write instead
 * ("an origin has no path or trailing \"/\"; use https://shop.example"). */
int ab_cors_check(const char *spec, char *msg, size_t cap);

/* Whether a request whose Origin header is origin (len bytes) may be
 * served under spec (a value ab_cors_check accepted, or NULL: the daemon
 * lists no origins and no browser request is served). "*" allows any. */
int ab_cors_allows(const char *spec, const char *origin, size_t len);

#endif
