/* test_decimal.c — ab_decimal_u64 against printf's %llu: the edges of each digit count and a
 * seeded stream of every magnitude. */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "base/decimal.h"

static void same(uint64_t v)
{
    char mine[AB_DECIMAL_MAX + 1], want[32];
    size_t n = ab_decimal_u64(mine, v);
    mine[n] = '\0';
    snprintf(want, sizeof want, "%llu", (unsigned long long)v);
    snprintf(test_context, sizeof test_context, "%s", want);
    CHECK(!strcmp(mine, want) && n == strlen(want));
}

int main(void)
{
    uint64_t p = 1, rng = 0x2545F4914F6CDD1DULL;
    same(0);
    same(UINT64_MAX);
    for (int d = 0; d < 20; d++, p *= 10) {
        same(p);
        same(p - 1);
        same(p + 1);
    }
    for (int i = 0; i < 20000; i++) same(test_rng(&rng) >> (test_rng(&rng) % 64));
    test_context[0] = '\0';
    return TEST_DONE("test_decimal");
}
