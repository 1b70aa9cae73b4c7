/* test_webhook_url.c — the one webhook URL rule: what PUT accepts is exactly what a delivery can take apart and send to. */
#include <stdio.h>
#include <string.h>

#include "base/webhook_url.h"
#include "test.h"

/* Accepted by the rule and split for the delivery the same way. */
static void test_split(void)
{
    static const struct {
        const char *url;
        int tls, port;
        const char *host, *authority, *target;
    } ok[] = {
        {"HTTP://127.0.0.1:8080/Upper?key=secret", 0, 8080, "127.0.0.1", "127.0.0.1:8080",
         "/Upper?key=secret"},
        {"HtTpS://Example.COM/x#frag", 1, 443, "Example.COM", "Example.COM", "/x"},
        {"http://h.example", 0, 80, "h.example", "h.example", "/"},
        {"http://h.example?q=1", 0, 80, "h.example", "h.example", "/?q=1"},
        {"https://[::1]:65535/hook", 1, 65535, "::1", "[::1]:65535", "/hook"},
        {"http://[fe80::1]/", 0, 80, "fe80::1", "[fe80::1]", "/"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ab_webhook_parts p;
        snprintf(test_context, sizeof test_context, "%s", ok[i].url);
        CHECK(ab_webhook_url_problem(ok[i].url, strlen(ok[i].url)) == NULL);
        CHECK_INT(ab_webhook_url_split(ok[i].url, &p), 0);
        CHECK_INT(p.tls, ok[i].tls);
        CHECK_INT(p.port, ok[i].port);
        CHECK(!strcmp(p.host, ok[i].host));
        CHECK(!strcmp(p.authority, ok[i].authority));
        CHECK(!strcmp(p.target, ok[i].target));
    }
    test_context[0] = '\0';
}

/* Refused by PUT, and so never stored only to fail at every delivery. */
static void test_refused(void)
{
    char long_host[400];
    const char *bad[] = {
        "ftp://h.example/x", "https://u@h.example/x", "http://", "http://h.example:0/",
        "http://h.example:65536/", "http://h_x.example/", "http://[::1/", "http://[]/",
        "http://h.example/a b", "mailto:x@h.example", long_host,
    };
    /* A host name of 300 bytes: no resolver takes it (DNS names are at most
     * 253), and a delivery has no room for it. */
    memcpy(long_host, "http://", 7);
    memset(long_host + 7, 'a', 300);
    strcpy(long_host + 307, "/x");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ab_webhook_parts p;
        snprintf(test_context, sizeof test_context, "%.60s", bad[i]);
        CHECK(ab_webhook_url_problem(bad[i], strlen(bad[i])) != NULL);
        CHECK_INT(ab_webhook_url_split(bad[i], &p), -1);
    }
    test_context[0] = '\0';
}

int main(void)
{
    test_split();
    test_refused();
    return TEST_DONE("test_webhook_url");
}
