/* browser.c — finding the headless browser the browser tests drive (browser.h). */
#include "browser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *tb_find_chromium(void)
{
    static char found[512];
    static const char *names[] = {"chromium", "chromium-browser", "google-chrome",
                                  "google-chrome-stable"};
    const char *env = getenv("ABSTAT_CHROMIUM"), *path = getenv("PATH");
    if (env && *env) return access(env, X_OK) == 0 ? env : NULL;
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        const char *p = path ? path : "/usr/bin:/bin";
        while (*p) {
            size_t len = strcspn(p, ":");
            snprintf(found, sizeof found, "%.*s/%s", (int)len, p, names[n]);
            if (len && access(found, X_OK) == 0) return found;
            p += len;
            if (*p == ':') p++;
        }
    }
    return NULL;
}
