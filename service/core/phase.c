/* phase.c — journey phase names and aliases (README "Journey phases"). */
#include "core/phase.h"

#include <stdio.h>
#include <string.h>

static const char *const canonical[AB_PHASE_COUNT] = {
    "awareness", "consideration", "decision", "retention", "advocacy",
};

static const struct {
    const char *name;
    ab_phase phase;
} aliases[] = {
    {"awareness", AB_PHASE_AWARENESS},
    {"bewustwording", AB_PHASE_AWARENESS},
    {"bewustzijn", AB_PHASE_AWARENESS},
    {"consideration", AB_PHASE_CONSIDERATION},
    {"overweging", AB_PHASE_CONSIDERATION},
    {"orientation", AB_PHASE_CONSIDERATION},
    {"ori\xc3\xabntatie", AB_PHASE_CONSIDERATION}, /* oriëntatie */
    {"research", AB_PHASE_CONSIDERATION},
    {"onderzoek", AB_PHASE_CONSIDERATION},
    {"decision", AB_PHASE_DECISION},
    {"beslissing", AB_PHASE_DECISION},
    {"purchase", AB_PHASE_DECISION},
    {"aankoop", AB_PHASE_DECISION},
    {"koop", AB_PHASE_DECISION},
    {"checkout", AB_PHASE_DECISION},
    {"retention", AB_PHASE_RETENTION},
    {"retentie", AB_PHASE_RETENTION},
    {"loyalty", AB_PHASE_RETENTION},
    {"loyaliteit", AB_PHASE_RETENTION},
    {"service", AB_PHASE_RETENTION},
    {"advocacy", AB_PHASE_ADVOCACY},
    {"ambassadeurschap", AB_PHASE_ADVOCACY},
    {"ambassador", AB_PHASE_ADVOCACY},
};

const char *ab_phase_name(ab_phase p)
{
    return (unsigned)p < AB_PHASE_COUNT ? canonical[p] : "unknown";
}

int ab_phase_parse(const char *s, size_t len, ab_phase *out)
{
    char low[32];
    size_t i;

    if (!s || len == 0 || len >= sizeof low) return -1;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0) return -1; /* "decision\0x" must not pass as "decision" */
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        /* U+00CB (Ë, C3 8B) lowers to U+00EB (ë, C3 AB): the one non-ASCII
         * letter among the aliases. */
        if (c == 0x8b && i > 0 && (unsigned char)s[i - 1] == 0xc3) c = 0xab;
        low[i] = (char)c;
    }
    low[len] = '\0';
    for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (!strcmp(low, aliases[i].name)) {
            *out = aliases[i].phase;
            return 0;
        }
    }
    return -1;
}

const char *ab_phase_unknown(char *buf, size_t size, const char *where, const char *s,
                             size_t len)
{
    size_t n = s ? len : 0;
    const char *cut = "";

    if (!buf || size == 0) return buf;
    if (n > AB_PHASE_QUOTE_MAX) {
        /* A cut inside a character would make the text invalid UTF-8,
         * which jansson refuses to encode (the client would get a 500). */
        n = AB_PHASE_QUOTE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
        cut = "...";
    }
    snprintf(buf, size,
             "%s%sphase \"%.*s%s\" is not a journey phase: use awareness, consideration, "
             "decision, retention or advocacy (or an alias: see README, Journey phases)",
             where && *where ? where : "", where && *where ? ": " : "", (int)n, n ? s : "",
             cut);
    return buf;
}
