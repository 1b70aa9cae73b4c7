/* auth.h — bearer tokens with scopes (README "Storage and durability, Security"): a tokens file of
 * "SCOPE TOKEN" lines; admin includes ingest and read. */
#ifndef ABSTAT_AUTH_H
#define ABSTAT_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum { AB_SCOPE_INGEST = 1u, AB_SCOPE_READ = 2u, AB_SCOPE_ADMIN = 4u };
/* What a request holds on a daemon without tokens: everything. */
#define AB_SCOPE_ALL (AB_SCOPE_INGEST | AB_SCOPE_READ | AB_SCOPE_ADMIN)

typedef struct {
    uint64_t hash;    /* keyed hash of the token; the token itself is not kept */
    unsigned scopes;  /* AB_SCOPE_* bits; admin implies the others */
} ab_token;

typedef struct {
    ab_token *tokens;
    size_t n;
    uint8_t key[16];  /* random per process */
    int enabled;      /* a tokens file was loaded */
} ab_auth;

/* Loads path. Blank lines and '#' comments are skipped; a token may appear
 * with several scopes. Errors name the line, never the token. */
int ab_auth_load(ab_auth *a, const char *path, ab_error *err);

/* Loads path afresh (SIGHUP) and only when the whole file is good
 * replaces *a with it, in one step: a request is checked against the old
 * tokens or the new ones, never a mix. On error *a is left as it was. */
int ab_auth_reload(ab_auth *a, const char *path, ab_error *err);

typedef enum {
    AB_AUTH_OK = 0,
    AB_AUTH_MISSING,    /* no token given: 401 */
    AB_AUTH_INVALID,    /* unknown token: 401 */
    AB_AUTH_FORBIDDEN   /* known token without the scope: 403 */
} ab_auth_result;

/* Checks token (len bytes; NULL when none) for the scope `need`. *held
 * (when held is not NULL) is set to the scopes the token holds, 0 when it
 * is unknown: a handler may allow more to some holders (an admin token may
 * backfill events). The time taken does not depend on how much of a stored
 * token matches: tokens are compared as keyed hashes, every stored token
 * each time. */
ab_auth_result ab_auth_check(const ab_auth *a, const char *token, size_t len, unsigned need,
                             unsigned *held);

void ab_auth_free(ab_auth *a);

#endif
