/* test_ingest.c — the group commit on an in-process loop, store and
 * registry: completions come in submission order and only after the
 * commit, with the events counted; a flush commits and counts everything
 * at once; a request that would cross the memory limit is refused alone
 * with nothing stored; a failing store completes the batch's requests
 * NOT_STORED and counts nothing; what was completed COUNTED is in the
 * store after a reopen. */
#include <event2/event.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/registry.h"
#include "core/state.h"
#include "core/history.h"
#include "engine/ingest.h"
#include "json/experiment_json.h"
#include "json/jsonin.h"
#include "test.h"

static char dir[256];

typedef struct {
    int order[1024];
    ab_ingest_kind kind[1024];
    size_t accepted[1024];
    int counted_at_completion[1024]; /* the experiment's pending when completed */
    size_t n;
} heard;

typedef struct {
    heard *h;
    int seq;
    ab_live *e;
} tag;

static void done(void *arg, ab_pending *p, const ab_ingest_outcome *o)
{
    tag *t = arg;
    heard *h = t->h;
    (void)p;
    if (h->n < 1024) {
        h->order[h->n] = t->seq;
        h->kind[h->n] = o->kind;
        h->accepted[h->n] = o->accepted;
        h->counted_at_completion[h->n] = (int)t->e->pending;
    }
    h->n++;
    free(t);
}

static ab_live *experiment(ab_store *st, ab_registry *reg, const char *id)
{
    ab_error err = {0, ""};
    ab_experiment_config cfg;
    const char *json = "{\"variants\":[\"a\",\"b\"]}";
    ab_store_experiment row = {0, id, json, 0, 1700000000000, 0, NULL};
    json_t *doc = ab_jin_parse_text(json, &err);
    ab_live *e;
    int ok = doc && ab_experiment_parse(id, doc, &cfg, &err) == 0;
    json_decref(doc);
    if (!ok || ab_store_begin(st, &err) || ab_store_put_experiment(st, &row, &err) ||
        ab_store_commit(st, &err)) {
        test_fail(__FILE__, __LINE__, "experiment %s: %s", id, err.text);
        return NULL;
    }
    if (!(e = ab_live_new(&cfg, row.key, 0, 1700000000000))) {
        ab_experiment_free(&cfg);
        return NULL;
    }
    CHECK_INT(ab_registry_add(reg, e), 0);
    return e;
}

/* A pending request of n exposures of users PREFIX-i. */
static ab_pending *request(ab_live *e, heard *h, int seq, const char *prefix, size_t n)
{
    tag *t = malloc(sizeof *t);
    ab_pending *p;
    if (!t) abort();
    t->h = h;
    t->seq = seq;
    t->e = e;
    if (!(p = ab_pending_new(NULL, 64 * n, done, t))) abort();
    p->batch.events = ab_arena_alloc(&p->arena, n * sizeof *p->batch.events + 1);
    if (!p->batch.events) abort();
    for (size_t i = 0; i < n; i++) {
        ab_event *ev = &p->batch.events[i];
        char user[64];
        char *copy;
        int len = snprintf(user, sizeof user, "%s-%zu", prefix, i);
        if (!(copy = ab_arena_alloc(&p->arena, (size_t)len + 1))) abort();
        memcpy(copy, user, (size_t)len + 1);
        memset(ev, 0, sizeof *ev);
        ev->exp = e;
        ev->type = AB_EVENT_EXPOSURE;
        ev->phase = AB_PHASE_DECISION;
        ev->variant = (int)(i % 2);
        ev->value = NAN;
        ev->covariate = NAN;
        ev->score = -1;
        ev->ts_ms = 1700000000000 + (int64_t)i;
        ev->user = copy;
        ev->user_len = (size_t)len;
    }
    p->batch.n = n;
    return p;
}

/* Runs the loop until n completions were heard (or 5 s passed). */
static void run_until(struct event_base *base, heard *h, size_t n)
{
    for (int i = 0; i < 5000 && h->n < n; i++) {
        struct timeval ms = {0, 1000};
        event_base_loopexit(base, &ms);
        event_base_dispatch(base);
    }
}

typedef struct {
    struct event_base *base;
    ab_store *store;
    ab_registry reg;
    ab_memory mem;
    ab_metrics metrics;
    ab_ingest in;
} rig;

static int rig_up(rig *r, ab_durability dur)
{
    ab_error err = {0, ""};
    ab_ingest_deps deps;
    memset(r, 0, sizeof *r);
    if (!(r->base = event_base_new())) return -1;
    CHECK_INT(event_base_priority_init(r->base, AB_INGEST_PRIORITIES), 0);
    if (!(r->store = ab_store_open(dir, dur, &err))) {
        test_fail(__FILE__, __LINE__, "open: %s", err.text);
        return -1;
    }
    ab_registry_init(&r->reg);
    r->mem.limit = (size_t)1 << 40;
    deps.base = r->base;
    deps.store = r->store;
    deps.memory = &r->mem;
    deps.metrics = &r->metrics;
    CHECK_INT(ab_ingest_init(&r->in, &deps), 0);
    return 0;
}

static void rig_down(rig *r)
{
    ab_ingest_flush(&r->in);
    ab_ingest_free(&r->in);
    ab_store_close(r->store);
    ab_registry_free(&r->reg);
    event_base_free(r->base);
}

static int ignore_exp(void *ctx, const ab_store_experiment *e)
{
    (void)ctx;
    (void)e;
    return 0;
}

static int count_ev(void *ctx, int64_t key, const ab_event *ev)
{
    (void)key;
    (void)ev;
    ++*(size_t *)ctx;
    return 0;
}

/* Events the store in dir holds. */
static size_t stored_events(void)
{
    ab_error err = {0, ""};
    ab_store *s = ab_store_open(dir, AB_DURABILITY_NORMAL, &err);
    ab_store_loader ld = {ignore_exp, count_ev, NULL};
    size_t n = 0;
    if (!s) {
        test_fail(__FILE__, __LINE__, "reopen: %s", err.text);
        return 0;
    }
    CHECK_INT(ab_store_load(s, &ld, &n, &err), AB_STORE_OK);
    ab_store_close(s);
    return n;
}

static void test_priorities_required(void)
{
    ab_ingest in;
    ab_metrics metrics;
    ab_memory mem;
    ab_error err = {0, ""};
    struct event_base *base = event_base_new();
    ab_store *st = ab_store_open(dir, AB_DURABILITY_NORMAL, &err);
    ab_ingest_deps deps = {base, st, &mem, &metrics};
    memset(&metrics, 0, sizeof metrics);
    memset(&mem, 0, sizeof mem);
    CHECK(base && st);
    if (!base || !st) return;
    CHECK_INT(ab_ingest_init(&in, &deps), -1); /* one priority: refused */
    ab_ingest_free(&in);
    ab_store_close(st);
    event_base_free(base);
    /* Never set up: flush and free are no-ops. */
    memset(&in, 0, sizeof in);
    CHECK_INT(ab_ingest_flush(&in), 0);
    ab_ingest_free(&in);
}

static void test_order_and_counting(void)
{
    rig r;
    heard *h = calloc(1, sizeof *h);
    ab_live *e;
    int ok = 1;
    if (!h || rig_up(&r, AB_DURABILITY_FULL)) return;
    ab_store_wait(r.store);
    if (!(e = experiment(r.store, &r.reg, "order"))) return;
    for (int i = 0; i < 300; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "r%d", i);
        ab_ingest_submit(&r.in, request(e, h, i, prefix, (size_t)(i % 5) + 1));
    }
    CHECK_INT(h->n, 0); /* nothing is complete before its commit */
    CHECK(e->pending > 0);
    run_until(r.base, h, 300);
    CHECK_INT(h->n, 300);
    for (size_t i = 0; i < h->n && i < 300; i++)
        ok &= h->order[i] == (int)i && h->kind[i] == AB_INGEST_COUNTED &&
              h->accepted[i] == (size_t)(i % 5) + 1;
    CHECK(ok);
    CHECK_INT(e->pending, 0);
    CHECK_INT(r.metrics.ingested[AB_EVENT_EXPOSURE], 300 * 3);
    CHECK(r.metrics.commits >= 1);
    CHECK_INT(ab_ingest_inflight_bytes(), 0);
    /* An event with the id of one counted before: a duplicate, stored
     * and completed all the same. */
    for (int i = 0; i < 2; i++) {
        ab_pending *p = request(e, h, 300 + i, "dup", 1);
        p->batch.events[0].id = "the-id";
        p->batch.events[0].id_len = 6;
        ab_ingest_submit(&r.in, p);
        CHECK_INT(ab_ingest_flush(&r.in), 0); /* commits and counts at once */
    }
    CHECK_INT(h->n, 302);
    CHECK_INT(r.metrics.duplicates[AB_EVENT_EXPOSURE], 1);
    rig_down(&r);
    CHECK_INT(stored_events(), 900 + 2);
    free(h);
}

static void test_memory_refusal(void)
{
    rig r;
    heard *h = calloc(1, sizeof *h);
    ab_live *e;
    size_t before = stored_events();
    if (!h || rig_up(&r, AB_DURABILITY_NORMAL)) return;
    if (!(e = experiment(r.store, &r.reg, "tight"))) return;
    r.mem.limit = 1; /* room for nothing */
    ab_ingest_submit(&r.in, request(e, h, 0, "m", 10));
    CHECK_INT(h->n, 1); /* at once */
    CHECK_INT(h->kind[0], AB_INGEST_NO_MEMORY);
    CHECK_INT(r.metrics.rejected, 10);
    CHECK_INT(e->pending, 0);
    r.mem.limit = (size_t)1 << 40;
    ab_ingest_submit(&r.in, request(e, h, 1, "m", 10));
    CHECK_INT(ab_ingest_flush(&r.in), 0);
    CHECK_INT(h->kind[1], AB_INGEST_COUNTED);
    rig_down(&r);
    CHECK_INT(stored_events(), before + 10);
    free(h);
}

/* A backfill over many days costs a history block a day: refused when
 * those blocks would cross the limit, though its users alone would fit. */
static void test_memory_history_days(void)
{
    rig r;
    heard *h = calloc(1, sizeof *h);
    ab_live *e;
    ab_pending *p;
    size_t n = 2000, users_cost;
    if (!h || rig_up(&r, AB_DURABILITY_NORMAL)) return;
    if (!(e = experiment(r.store, &r.reg, "days"))) return;
    users_cost = ab_state_reserve_cost(&e->state, n, 0, 0);
    /* Room for the users and ten days' blocks, not for 2,000 days. */
    r.mem.limit = ab_memory_used(&r.mem) + users_cost + 10 * ab_history_day_bytes(e->state.k);
    p = request(e, h, 0, "d", n);
    for (size_t i = 0; i < n; i++) p->batch.events[i].ts_ms = 1700000000000 + (int64_t)i * AB_DAY_MS;
    ab_ingest_submit(&r.in, p);
    CHECK_INT(h->n, 1);
    CHECK_INT(h->kind[0], AB_INGEST_NO_MEMORY);
    /* The same users on one day fit. */
    ab_ingest_submit(&r.in, request(e, h, 1, "d", n));
    CHECK_INT(ab_ingest_flush(&r.in), 0);
    CHECK_INT(h->kind[1], AB_INGEST_COUNTED);
    rig_down(&r);
    free(h);
}

static void test_store_failure(void)
{
    rig r;
    heard *h = calloc(1, sizeof *h);
    ab_live *e;
    struct rlimit old, one = {1, RLIM_INFINITY};
    size_t before = stored_events();
    if (!h || rig_up(&r, AB_DURABILITY_NORMAL)) return;
    if (!(e = experiment(r.store, &r.reg, "fails"))) return;
    signal(SIGXFSZ, SIG_IGN);
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    one.rlim_max = old.rlim_max;
    CHECK(setrlimit(RLIMIT_FSIZE, &one) == 0);
    for (int i = 0; i < 5; i++) ab_ingest_submit(&r.in, request(e, h, i, "f", 2000));
    CHECK_INT(ab_ingest_flush(&r.in), -1);
    CHECK_INT(h->n, 5);
    for (size_t i = 0; i < 5 && i < h->n; i++) CHECK_INT(h->kind[i], AB_INGEST_NOT_STORED);
    CHECK_INT(e->pending, 0);
    CHECK(r.metrics.commit_failures >= 1);
    CHECK_INT(r.metrics.ingested[AB_EVENT_EXPOSURE], 0); /* nothing counted */
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    ab_ingest_submit(&r.in, request(e, h, 5, "f", 3));
    run_until(r.base, h, 6);
    CHECK_INT(h->kind[5], AB_INGEST_COUNTED);
    rig_down(&r);
    CHECK_INT(stored_events(), before + 3);
    free(h);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char cmd[300];
    snprintf(dir, sizeof dir, "%s/abstat-ingest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    ab_hash_seed((const uint8_t *)"0123456789abcdef");
    test_priorities_required();
    test_order_and_counting();
    test_memory_refusal();
    test_memory_history_days();
    test_store_failure();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return TEST_DONE("test_ingest");
}
