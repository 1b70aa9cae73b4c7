/* auth.c — loading the tokens file and checking bearer tokens. */
#include "http/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/usertable.h"

#define MIN_TOKEN 16
#define MAX_TOKEN 1024

static int scope_of(const char *s, unsigned *out)
{
    if (!strcmp(s, "ingest")) return *out = AB_SCOPE_INGEST, 0;
    if (!strcmp(s, "read")) return *out = AB_SCOPE_READ, 0;
    if (!strcmp(s, "admin"))
        return *out = AB_SCOPE_ALL, 0;
    return -1;
}

static int add(ab_auth *a, uint64_t h, unsigned scopes)
{
    ab_token *grown;
    for (size_t i = 0; i < a->n; i++)
        if (a->tokens[i].hash == h) return a->tokens[i].scopes |= scopes, 0;
    if (!(grown = realloc(a->tokens, (a->n + 1) * sizeof *grown))) return -1;
    a->tokens = grown;
    a->tokens[a->n].hash = h;
    a->tokens[a->n].scopes = scopes;
    a->n++;
    return 0;
}

int ab_auth_load(ab_auth *a, const char *path, ab_error *err)
{
    char line[MAX_TOKEN + 64];
    struct stat st;
    int lineno = 0;
    FILE *fp;

    memset(a, 0, sizeof *a);
    if (getrandom(a->key, sizeof a->key, 0) != (ssize_t)sizeof a->key)
        return ab_error_set(err, 500, "tokens: no randomness for the token key");
    if (!(fp = fopen(path, "r")))
        return ab_error_set(err, 500, "tokens: cannot open %s: %s", path, strerror(errno));
    if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 077))
        ab_warn("tokens file %s is readable by group or others; chmod 600 it", path);
    while (fgets(line, sizeof line, fp)) {
        char *save = NULL, *scope, *token, *extra;
        unsigned scopes;
        lineno++;
        if (!strchr(line, '\n') && !feof(fp)) {
            ab_error_set(err, 500, "tokens: %s line %d is too long", path, lineno);
            goto fail;
        }
        scope = strtok_r(line, " \t\r\n", &save);
        if (!scope || scope[0] == '#') continue;
        token = strtok_r(NULL, " \t\r\n", &save);
        extra = strtok_r(NULL, " \t\r\n", &save);
        if (!token || extra || scope_of(scope, &scopes)) {
            ab_error_set(err, 500, "tokens: %s line %d: expected \"ingest|read|admin TOKEN\"",
                         path, lineno);
            goto fail;
        }
        if (strlen(token) < MIN_TOKEN) {
            ab_error_set(err, 500, "tokens: %s line %d: tokens need at least %d characters",
                         path, lineno, MIN_TOKEN);
            goto fail;
        }
        if (add(a, ab_siphash24(a->key, token, strlen(token)), scopes)) {
            ab_error_set(err, 500, "out of memory");
            goto fail;
        }
        /* Do not keep the secret around longer than needed. */
        memset(line, 0, sizeof line);
    }
    fclose(fp);
    if (!a->n) return ab_error_set(err, 500, "tokens: %s holds no token", path);
    a->enabled = 1;
    return 0;
fail:
    memset(line, 0, sizeof line);
    fclose(fp);
    ab_auth_free(a);
    return -1;
}

int ab_auth_reload(ab_auth *a, const char *path, ab_error *err)
{
    ab_auth fresh;
    if (ab_auth_load(&fresh, path, err)) return -1;
    ab_auth_free(a);
    *a = fresh;
    return 0;
}

ab_auth_result ab_auth_check(const ab_auth *a, const char *token, size_t len, unsigned need,
                             unsigned *held)
{
    unsigned scopes = 0;
    int known = 0;
    uint64_t h;
    if (held) *held = 0;
    if (!token || len == 0) return AB_AUTH_MISSING;
    if (len > MAX_TOKEN) return AB_AUTH_INVALID;
    h = ab_siphash24(a->key, token, len);
    for (size_t i = 0; i < a->n; i++) {
        /* No early exit: every request costs the same. */
        int hit = a->tokens[i].hash == h;
        known |= hit;
        scopes |= hit ? a->tokens[i].scopes : 0;
    }
    if (!known) return AB_AUTH_INVALID;
    if (held) *held = scopes;
    return (scopes & need) == need ? AB_AUTH_OK : AB_AUTH_FORBIDDEN;
}

void ab_auth_free(ab_auth *a)
{
    free(a->tokens);
    memset(a, 0, sizeof *a);
}
