/* test_store_witness.c — the store's witness thread with a backend of its own: outcomes in
 * submission order, one witness run covering every commit that queued behind a slow one, and a
 * failed witness failing exactly the batches it covered. */
#include "test.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "store/store_backend.h"

#define NBATCH 40

/* The fake backend: commit k leaves seal k (1-based) and returns at once;
 * the witness sleeps, so that commits pile up behind it, and records the
 * seal it was given. */
static struct {
    pthread_mutex_t lock;
    uint64_t committed;
    uint64_t seals[NBATCH + 1];
    size_t runs;
    uint64_t fail_seal_at_least; /* 0: never; else the first run whose seal >= it fails */
    int failed_once;
} fake = {PTHREAD_MUTEX_INITIALIZER, 0, {0}, 0, 0, 0};

static void *fake_open(const char *where, ab_durability d, ab_error *err)
{
    (void)where;
    (void)d;
    (void)err;
    return &fake;
}

static void fake_close(void *be)
{
    (void)be;
}

static ab_store_status fake_commit(void *be, const ab_store_batch *b, ab_store_seal *seal,
                                   ab_error *err)
{
    (void)be;
    (void)b;
    (void)err;
    pthread_mutex_lock(&fake.lock);
    fake.committed++;
    seal->needed = 1;
    seal->v[0] = fake.committed;
    pthread_mutex_unlock(&fake.lock);
    return AB_STORE_OK;
}

static ab_store_status fake_witness(void *be, const ab_store_seal *seal, ab_error *err)
{
    struct timespec nap = {0, 20 * 1000 * 1000};
    int fail;
    (void)be;
    nanosleep(&nap, NULL);
    pthread_mutex_lock(&fake.lock);
    if (fake.runs < NBATCH + 1) fake.seals[fake.runs] = seal->v[0];
    fake.runs++;
    fail = fake.fail_seal_at_least && !fake.failed_once && seal->v[0] >= fake.fail_seal_at_least;
    if (fail) fake.failed_once = 1;
    pthread_mutex_unlock(&fake.lock);
    if (fail) return ab_store_fail(err, AB_STORE_IO, "store: fdatasync failed (test)");
    return AB_STORE_OK;
}

static const ab_store_backend fake_backend = {
    .name = "fake",
    .open = fake_open,
    .close = fake_close,
    .commit_batch = fake_commit,
    .witness = fake_witness,
};

static struct {
    size_t n;
    size_t order[NBATCH];
    ab_store_status kind[NBATCH];
} seen;

static void on_done(void *arg, const ab_store_result *r)
{
    size_t i = (size_t)(uintptr_t)arg;
    if (seen.n < NBATCH) {
        seen.order[seen.n] = i;
        seen.kind[seen.n] = r->kind;
    }
    seen.n++;
}

static void run(uint64_t fail_at)
{
    ab_error err = {0};
    ab_store *s;
    memset(&seen, 0, sizeof seen);
    pthread_mutex_lock(&fake.lock);
    fake.committed = 0;
    fake.runs = 0;
    memset(fake.seals, 0, sizeof fake.seals);
    fake.fail_seal_at_least = fail_at;
    fake.failed_once = 0;
    pthread_mutex_unlock(&fake.lock);

    s = ab_store_open_with(&fake_backend, "fake", AB_DURABILITY_FULL, &err);
    CHECK(s != NULL);
    if (!s) return;
    for (size_t i = 0; i < NBATCH; i++) {
        ab_store_batch *b = ab_store_batch_new();
        CHECK(b != NULL);
        if (!b) break;
        CHECK_INT(ab_store_submit(s, b, on_done, (void *)(uintptr_t)i), AB_STORE_OK);
    }
    ab_store_wait(s);
    CHECK_INT(seen.n, NBATCH);
    for (size_t i = 0; i < NBATCH && i < seen.n; i++) CHECK_INT(seen.order[i], i);

    /* 40 commits, each witness run 20 ms: the first run covers commit 1,
     * and every later one all that queued meanwhile, so there are far
     * fewer runs than commits, and each covers a later seal than the last. */
    CHECK(fake.runs >= 1 && fake.runs < NBATCH / 2);
    CHECK_INT(fake.seals[fake.runs - 1], NBATCH);
    for (size_t r = 1; r < fake.runs && r <= NBATCH; r++) CHECK(fake.seals[r] > fake.seals[r - 1]);

    if (!fail_at) {
        for (size_t i = 0; i < NBATCH; i++) CHECK_INT(seen.kind[i], AB_STORE_OK);
    } else {
        /* The failing run covered the seals after the previous run up to its
         * own: exactly those batches fail, the others are committed. */
        size_t r = 0;
        uint64_t lo, hi;
        while (r < fake.runs && fake.seals[r] < fail_at) r++;
        CHECK(r < fake.runs);
        lo = r ? fake.seals[r - 1] : 0;
        hi = fake.seals[r];
        for (size_t i = 0; i < NBATCH; i++) {
            uint64_t k = i + 1;
            snprintf(test_context, sizeof test_context, "batch %zu (failed run covered %llu..%llu)",
                     k, (unsigned long long)lo + 1, (unsigned long long)hi);
            CHECK_INT(seen.kind[i], k > lo && k <= hi ? AB_STORE_IO : AB_STORE_OK);
        }
        test_context[0] = '\0';
    }
    ab_store_close(s);
}

int main(void)
{
    run(0);
    run(10);
    return TEST_DONE("test_store_witness");
}
