/* browser.h — finding the headless browser the browser tests drive. */
#ifndef ABSTAT_TEST_BROWSER_H
#define ABSTAT_TEST_BROWSER_H

/* The browser: $ABSTAT_CHROMIUM, or the first of chromium, chromium-browser,
 * google-chrome, google-chrome-stable on PATH; NULL when there is none.
 * Borrowed (a static buffer or the environment). */
const char *tb_find_chromium(void);

#endif
