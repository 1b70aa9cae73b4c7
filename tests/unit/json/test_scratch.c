/* test_scratch.c — jansson's allocator of json/scratch.h: trees in a scope come from the thread's
 * region and print as heap trees do, heap values survive a scope that borrowed them, a tree larger
 * than the region continues on the heap, and two threads keep to their own regions. */
#include "test.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/dump.h"
#include "json/scratch.h"

/* A results-like tree: n variants, each an object of numbers, strings and arrays. */
static json_t *tree(size_t n, json_t *shared)
{
    json_t *root = json_object(), *vars = json_array();
    if (!root || !vars) return NULL;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        json_t *v = json_object();
        snprintf(name, sizeof name, "v%zu", i);
        json_object_set_new(v, "name", json_string(name));
        json_object_set_new(v, "users", json_integer((json_int_t)(i * 1000003u)));
        json_object_set_new(v, "rate", json_real(1.0 / (double)(i + 3)));
        json_object_set_new(v, "ci", json_pack("[ff]", 0.1 * (double)i, 0.2 * (double)i));
        json_object_set_new(v, "note", json_string("a \"quoted\"\nline"));
        json_array_append_new(vars, v);
    }
    json_object_set_new(root, "variants", vars);
    if (shared) json_object_set(root, "shared", shared);
    return root;
}

static int inside(const void *p, const void *first)
{
    return (uintptr_t)p - (uintptr_t)first < AB_JSON_SCRATCH_BYTES;
}

static void *other_thread(void *arg)
{
    json_t *t;
    char *text;
    (void)arg;
    if (ab_json_scratch_begin()) return NULL;
    t = tree(50, NULL);
    text = t ? ab_json_dump(t, NULL, NULL) : NULL;
    json_decref(t);
    ab_json_scratch_end();
    return text;
}

int main(void)
{
    json_t *heap, *t;
    char *want, *got;
    void *first;
    pthread_t th;
    void *theirs = NULL;

    /* Until installed, a scope is refused and jansson uses the heap. */
    CHECK(ab_json_scratch_begin() == -1);
    ab_json_alloc_install();

    /* The same tree printed from the heap and from a scope. */
    heap = json_string("kept");
    t = tree(200, heap);
    want = ab_json_dump(t, NULL, NULL);
    json_decref(t);
    CHECK(want != NULL);

    CHECK(ab_json_scratch_begin() == 0);
    CHECK(ab_json_scratch_begin() == -1); /* no nesting */
    first = json_object();
    CHECK(first != NULL);
    json_decref(first);
    t = tree(200, heap);
    CHECK(t != NULL);
    CHECK(inside(t, first));
    CHECK(!inside(heap, first));
    CHECK(ab_json_scratch_used() > 200 * 5 * 32);
    got = ab_json_dump(t, NULL, NULL);
    CHECK(got && want && strcmp(got, want) == 0);
    json_decref(t);
    ab_json_scratch_end();
    CHECK(ab_json_scratch_used() == 0);
    free(got);

    /* The borrowed heap value lives on, and is freed by jansson as ever. */
    CHECK(strcmp(json_string_value(heap), "kept") == 0);
    CHECK(heap->refcount == 1);
    json_decref(heap);

    /* The next scope starts the region again from its beginning. */
    CHECK(ab_json_scratch_begin() == 0);
    t = json_object();
    CHECK(t == first);
    json_decref(t);
    ab_json_scratch_end();

    /* Larger than the region: the rest is on the heap, and all of it frees. */
    CHECK(ab_json_scratch_begin() == 0);
    {
        size_t n = 0, beyond = 0;
        json_t *big = json_array();
        while (ab_json_scratch_used() + 4096 < AB_JSON_SCRATCH_BYTES || beyond < 1000) {
            json_t *s = json_string("0123456789012345678901234567890123456789");
            if (!s) break;
            if (!inside(s, first)) beyond++;
            json_array_append_new(big, s);
            n++;
        }
        CHECK(beyond >= 1000);
        CHECK_INT(json_array_size(big), n);
        got = ab_json_dump(big, NULL, NULL);
        CHECK(got != NULL);
        free(got);
        json_decref(big);
    }
    ab_json_scratch_end();

    /* Text jansson makes outside a scope is the heap's, freed by free(). */
    t = tree(3, NULL);
    got = json_dumps(t, JSON_COMPACT);
    CHECK(got != NULL);
    free(got);
    json_decref(t);

    /* Another thread's scope is its own region; both print the same. */
    CHECK(ab_json_scratch_begin() == 0);
    t = tree(50, NULL);
    CHECK(pthread_create(&th, NULL, other_thread, NULL) == 0);
    CHECK(pthread_join(th, &theirs) == 0);
    got = ab_json_dump(t, NULL, NULL);
    CHECK(got && theirs && strcmp(got, theirs) == 0);
    CHECK(inside(t, first));
    json_decref(t);
    ab_json_scratch_end();
    free(got);
    free(theirs);
    free(want);
    return TEST_DONE("test_scratch");
}
