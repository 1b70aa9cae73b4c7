/* test_ptrmap.c — the reusable pointer table: adds, shared keys, removal that keeps every chain findable, growth. */
#include <stdint.h>
#include <stdlib.h>

#include "base/ptrmap.h"
#include "test.h"

#define N 5000

/* Keys that collide on purpose: many share their low bits. */
static uint64_t key_of(size_t i)
{
    return (uint64_t)(i % 97) << 40 | (uint64_t)(i % 7);
}

static int found(const ab_ptrmap *m, uint64_t key, const void *val)
{
    size_t pos = 0;
    void *v;
    while ((v = ab_ptrmap_next(m, key, &pos)))
        if (v == val) return 1;
    return 0;
}

int main(void)
{
    static int vals[N];
    ab_ptrmap m;
    size_t seen = 0, missing = 0;

    ab_ptrmap_init(&m);
    CHECK(ab_ptrmap_next(&m, 1, &seen) == NULL);
    CHECK_INT(ab_ptrmap_remove(&m, 1, &vals[0]), -1);
    CHECK_INT(ab_ptrmap_add(&m, 1, NULL), -1);
    for (size_t i = 0; i < N; i++) CHECK_INT(ab_ptrmap_add(&m, key_of(i), &vals[i]), 0);
    CHECK_INT(m.count, N);
    CHECK(m.cap - m.cap / 4 >= N); /* the load limit of base/probe.h */
    for (size_t i = 0; i < N; i++) missing += !found(&m, key_of(i), &vals[i]);
    CHECK_INT(missing, 0);
    /* Every other one out: the rest must stay reachable past the holes. */
    for (size_t i = 0; i < N; i += 2) CHECK_INT(ab_ptrmap_remove(&m, key_of(i), &vals[i]), 0);
    CHECK_INT(m.count, N / 2);
    missing = 0;
    for (size_t i = 0; i < N; i++) missing += found(&m, key_of(i), &vals[i]) != (int)(i % 2);
    CHECK_INT(missing, 0);
    CHECK_INT(ab_ptrmap_remove(&m, key_of(0), &vals[0]), -1);
    seen = 0;
    for (size_t i = 0; i < m.cap; i++) seen += ab_ptrmap_at(&m, i) != NULL;
    CHECK_INT(seen, N / 2);
    ab_ptrmap_free(&m);
    CHECK_INT(m.cap, 0);

    /* One value under many keys (many requests, one route): removing
     * (key, val) takes that entry, not the first slot holding val. */
    ab_ptrmap_init(&m);
    for (size_t i = 0; i < N; i++) CHECK_INT(ab_ptrmap_add(&m, key_of(i) + i, &vals[0]), 0);
    for (size_t i = 0; i < N; i += 2) CHECK_INT(ab_ptrmap_remove(&m, key_of(i) + i, &vals[0]), 0);
    missing = 0;
    for (size_t i = 0; i < N; i++) missing += found(&m, key_of(i) + i, &vals[0]) != (int)(i % 2);
    CHECK_INT(missing, 0);
    CHECK_INT(m.count, N / 2);
    CHECK_INT(ab_ptrmap_remove(&m, key_of(0), &vals[0]), -1);
    ab_ptrmap_free(&m);
    return TEST_DONE("test_ptrmap");
}
