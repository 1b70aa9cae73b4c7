/* test_store_contract.c — what every storage backend must do (store.h),
 * run against each backend of the table below through the interface
 * only: open and close, experiments, events appended and replayed in
 * commit order with every field, batch commits on the store thread with
 * their outcomes in order, synchronous transactions between them, the
 * monitoring rows and the outbox, reopening, durability, and the error
 * kinds of a full disk, a taken directory and a damaged database.
 *
 * A backend joins by a row in BACKENDS. PostgreSQL runs on a private
 * server the suite starts itself (tests/lib/pg.c), skipped with a line
 * saying so when no server is installed; each store is a database of its
 * own there. */
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "store/record.h"
#include "store/store_backend.h"

#include <libpq-fe.h>
#include <time.h>

#include "pg.h"

typedef struct {
    const char *name;
    const ab_store_backend *be;
    /* Whether the backend lives in a directory (the full-disk and damage
     * cases need one). */
    int in_dir;
} backend_case;

static const backend_case BACKENDS[] = {
    {"sqlite", &ab_store_sqlite, 1},
    {"postgresql", &ab_store_postgresql, 0},
};

static const backend_case *B; /* the backend under test */
static char root[256];
static int dirs;
static test_pg pg; /* the PostgreSQL server, while its row runs */

static int is_pg(void)
{
    return B->be == &ab_store_postgresql;
}

/* A fresh, empty place for a store: a directory, or a new database. */
static void fresh_dir(char *out, size_t len)
{
    if (is_pg()) {
        char name[32];
        snprintf(name, sizeof name, "store%d", dirs++);
        if (test_pg_create_db(&pg, name, out, len))
            test_fail(__FILE__, __LINE__, "cannot create database %s", name);
        return;
    }
    snprintf(out, len, "%s/%s-%d", root, B->name, dirs++);
}

static ab_store *open_at(const char *where, ab_durability dur)
{
    ab_error err = {0, ""};
    ab_store *s = ab_store_open_with(B->be, where, dur, &err);
    if (!s) test_fail(__FILE__, __LINE__, "open %s: %s", where, err.text);
    return s;
}

/* ---- What a replay saw -------------------------------------------------- */

#define MAX_SEEN 300000

typedef struct {
    int64_t key;
    ab_event ev;
    char user[300], id[300];
} seen_event;

typedef struct {
    size_t nexp, nev, nmon;
    ab_store_experiment exp[16];
    char exp_id[16][200], exp_config[16][200], exp_changes[16][200];
    seen_event *ev;
    ab_store_monitor mon[16];
    int fail_on_experiment;
} seen;

static int on_experiment(void *ctx, const ab_store_experiment *e)
{
    seen *s = ctx;
    if (s->fail_on_experiment) return -1;
    if (s->nexp < 16) {
        size_t i = s->nexp;
        s->exp[i] = *e;
        snprintf(s->exp_id[i], sizeof s->exp_id[i], "%s", e->id);
        snprintf(s->exp_config[i], sizeof s->exp_config[i], "%s", e->config);
        snprintf(s->exp_changes[i], sizeof s->exp_changes[i], "%s", e->changes ? e->changes : "");
    }
    s->nexp++;
    return 0;
}

static int on_event(void *ctx, int64_t key, const ab_event *ev)
{
    seen *s = ctx;
    if (s->nev < MAX_SEEN) {
        seen_event *x = &s->ev[s->nev];
        x->key = key;
        x->ev = *ev;
        memcpy(x->user, ev->user, ev->user_len < 299 ? ev->user_len : 299);
        x->user[ev->user_len < 299 ? ev->user_len : 299] = '\0';
        if (ev->id) {
            memcpy(x->id, ev->id, ev->id_len);
            x->id[ev->id_len] = '\0';
        }
    }
    s->nev++;
    return 0;
}

static int on_monitor(void *ctx, const ab_store_monitor *m)
{
    seen *s = ctx;
    if (s->nmon < 16) s->mon[s->nmon] = *m;
    s->nmon++;
    return 0;
}

static const ab_store_loader LOADER = {on_experiment, on_event, on_monitor};

static seen *load(ab_store *s, ab_store_status want)
{
    ab_error err = {0, ""};
    seen *x = calloc(1, sizeof *x);
    ab_store_status got;
    if (!x || !(x->ev = calloc(MAX_SEEN, sizeof *x->ev))) abort();
    got = ab_store_load(s, &LOADER, x, &err);
    if (got != want)
        test_fail(__FILE__, __LINE__, "load: %s (%s), want %s", ab_store_status_name(got),
                  err.text, ab_store_status_name(want));
    else
        test_passed++;
    return x;
}

static void seen_free(seen *x)
{
    if (!x) return;
    free(x->ev);
    free(x);
}

/* ---- Helpers ------------------------------------------------------------ */

static ab_event event(ab_event_type type, const char *user, int variant, int64_t ts)
{
    ab_event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.phase = AB_PHASE_DECISION;
    e.variant = variant;
    e.value = NAN;
    e.covariate = NAN;
    e.score = -1;
    e.ts_ms = ts;
    e.user = user;
    e.user_len = strlen(user);
    return e;
}

static int64_t put_exp(ab_store *s, const char *id, int64_t key)
{
    ab_error err = {0, ""};
    ab_store_experiment e = {key, id, "{\"variants\":[\"a\",\"b\"]}", 0, 1700000000000, 0, NULL};
    CHECK_INT(ab_store_begin(s, &err), AB_STORE_OK);
    CHECK_INT(ab_store_put_experiment(s, &e, &err), AB_STORE_OK);
    CHECK_INT(ab_store_commit(s, &err), AB_STORE_OK);
    return e.key;
}

/* Outcomes as the callbacks heard them, in the order heard. */
typedef struct {
    int order[4096];
    ab_store_status kind[4096];
    uint64_t events[4096];
    size_t n;
} outcomes;

typedef struct {
    outcomes *o;
    int seq;
} ticket;

static void heard(void *arg, const ab_store_result *r)
{
    ticket *t = arg;
    outcomes *o = t->o;
    if (o->n < 4096) {
        o->order[o->n] = t->seq;
        o->kind[o->n] = r->kind;
        o->events[o->n] = r->events;
        if (r->kind != AB_STORE_OK && getenv("ABSTAT_TEST_VERBOSE"))
            fprintf(stderr, "batch %d: %s\n", t->seq, r->err.text);
    }
    o->n++;
    free(t);
}

static void submit(ab_store *s, ab_store_batch *b, outcomes *o, int seq)
{
    ticket *t = malloc(sizeof *t);
    if (!t) abort();
    t->o = o;
    t->seq = seq;
    CHECK_INT(ab_store_submit(s, b, heard, t), AB_STORE_OK);
}

static atomic_int notified;

static void count_notify(void *arg)
{
    (void)arg;
    atomic_fetch_add(&notified, 1);
}

/* One batch of n exposures of experiment key, users prefix0..prefixN-1. */
static ab_store_batch *batch_of(int64_t key, const char *prefix, size_t n, int64_t ts)
{
    ab_store_batch *b = ab_store_batch_new();
    char user[64];
    ab_error err = {0, ""};
    if (!b) abort();
    for (size_t i = 0; i < n; i++) {
        ab_event e;
        snprintf(user, sizeof user, "%s%zu", prefix, i);
        e = event(AB_EVENT_EXPOSURE, user, (int)(i % 2), ts + (int64_t)i);
        if (ab_store_batch_append(b, key, &e, 1, &err) != AB_STORE_OK) abort();
    }
    return b;
}

/* ---- Cases -------------------------------------------------------------- */

static void test_status_names(void)
{
    for (int k = AB_STORE_OK; k <= AB_STORE_INTERNAL; k++)
        CHECK(ab_store_status_name((ab_store_status)k)[0] != '\0');
    CHECK(!strcmp(ab_store_status_name(AB_STORE_FULL), "full"));
    CHECK(ab_store_status_transient(AB_STORE_FULL));
    CHECK(ab_store_status_transient(AB_STORE_BUSY));
    CHECK(ab_store_status_transient(AB_STORE_IO));
    CHECK(ab_store_status_transient(AB_STORE_READONLY));
    CHECK(!ab_store_status_transient(AB_STORE_CORRUPT));
    CHECK(!ab_store_status_transient(AB_STORE_INVALID));
    CHECK(!ab_store_status_transient(AB_STORE_OK));
}

static void test_open_empty(void)
{
    char dir[300];
    ab_store *s;
    seen *x;
    fresh_dir(dir, sizeof dir);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nexp, 0);
    CHECK_INT(x->nev, 0);
    CHECK_INT(x->nmon, 0);
    CHECK_INT(ab_store_integrity_of(s)->events, 0);
    CHECK_INT(ab_store_integrity_of(s)->recovered, 0);
    CHECK_INT(ab_store_in_flight(s), 0);
    CHECK_INT(ab_store_in_transaction(s), 0);
    CHECK(ab_store_accepting(s));
    CHECK(ab_store_writable(s));
    CHECK(ab_store_memory_bytes(s) > 0);
    seen_free(x);
    ab_store_close(s);
    ab_store_close(NULL); /* a no-op */
    /* Reopening an empty store is still empty. */
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nexp + x->nev, 0);
    seen_free(x);
    ab_store_close(s);
}

static void test_one_owner(void)
{
    char dir[300];
    ab_error err = {0, ""};
    ab_store *s, *t;
    if (!B->in_dir) return;
    fresh_dir(dir, sizeof dir);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    t = ab_store_open_with(B->be, dir, AB_DURABILITY_NORMAL, &err);
    CHECK(t == NULL);
    CHECK(strstr(err.text, "in use") != NULL);
    CHECK_INT(err.status, 0); /* the store has no notion of HTTP */
    ab_store_close(t);
    ab_store_close(s);
    /* Free again once closed. */
    if ((t = open_at(dir, AB_DURABILITY_NORMAL))) ab_store_close(t);
}

static void test_experiments(void)
{
    char dir[300];
    ab_error err = {0, ""};
    ab_store *s;
    seen *x;
    int64_t k1, k2, k3;
    const char *uni = "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x9a\x80";
    fresh_dir(dir, sizeof dir);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    k1 = put_exp(s, "first", 0);
    k2 = put_exp(s, uni, 0);
    k3 = put_exp(s, "third", 0);
    CHECK(k1 > 0 && k2 > k1 && k3 > k2);
    /* Writes outside a transaction are refused, and say so. */
    {
        ab_store_experiment e = {0, "nope", "{}", 0, 0, 0, NULL};
        ab_store_monitor m = {k1, 1, 0.5, 0, 0, NAN, NAN};
        CHECK_INT(ab_store_put_experiment(s, &e, &err), AB_STORE_INVALID);
        CHECK(strstr(err.text, "outside a transaction") != NULL);
        CHECK_INT(ab_store_put_monitor(s, &m, &err), AB_STORE_INVALID);
        CHECK_INT(ab_store_delete_experiment(s, k1, &err), AB_STORE_INVALID);
        CHECK_INT(ab_store_clear_monitor(s, k1, &err), AB_STORE_INVALID);
    }
    /* An update keeps the key and changes the rest. */
    {
        ab_store_experiment e = {k1, "first", "{\"variants\":[\"x\",\"y\",\"z\"]}", 1,
                                 1700000000000, 1700000005000, "[{\"at\":1}]"};
        CHECK_INT(ab_store_begin(s, &err), AB_STORE_OK);
        CHECK_INT(ab_store_in_transaction(s), 1);
        CHECK_INT(ab_store_begin(s, &err), AB_STORE_OK); /* nested: the same one */
        CHECK_INT(ab_store_put_experiment(s, &e, &err), AB_STORE_OK);
        CHECK_INT(e.key, k1);
        CHECK_INT(ab_store_commit(s, &err), AB_STORE_OK);
        CHECK_INT(ab_store_in_transaction(s), 0);
        CHECK_INT(ab_store_commit(s, &err), AB_STORE_OK); /* none open: nothing */
    }
    /* A rolled-back create leaves nothing. */
    {
        ab_store_experiment e = {0, "ghost", "{}", 0, 0, 0, NULL};
        CHECK_INT(ab_store_begin(s, &err), AB_STORE_OK);
        CHECK_INT(ab_store_put_experiment(s, &e, &err), AB_STORE_OK);
        ab_store_rollback(s);
        CHECK_INT(ab_store_in_transaction(s), 0);
        ab_store_rollback(s); /* none open: nothing */
    }
    /* The same id twice is refused (the id is unique), as INVALID. */
    {
        ab_store_experiment e = {0, "third", "{}", 0, 0, 0, NULL};
        CHECK_INT(ab_store_begin(s, &err), AB_STORE_OK);
        CHECK_INT(ab_store_put_experiment(s, &e, &err), AB_STORE_INVALID);
        ab_store_rollback(s);
    }
    CHECK_INT(ab_store_begin(s, &err), AB_STORE_OK);
    CHECK_INT(ab_store_delete_experiment(s, k3, &err), AB_STORE_OK);
    CHECK_INT(ab_store_commit(s, &err), AB_STORE_OK);
    ab_store_close(s);

    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nexp, 2);
    CHECK_INT(x->exp[0].key, k1);
    CHECK(!strcmp(x->exp_id[0], "first"));
    CHECK(!strcmp(x->exp_config[0], "{\"variants\":[\"x\",\"y\",\"z\"]}"));
    CHECK_INT(x->exp[0].stopped, 1);
    CHECK_INT(x->exp[0].created_ms, 1700000000000);
    CHECK_INT(x->exp[0].monitoring_since_ms, 1700000005000);
    CHECK(!strcmp(x->exp_changes[0], "[{\"at\":1}]"));
    CHECK_INT(x->exp[1].key, k2);
    CHECK(!strcmp(x->exp_id[1], uni));
    CHECK(!strcmp(x->exp_changes[1], "[]")); /* NULL changes read back as none */
    seen_free(x);
    /* Keys are never reused after a delete. */
    CHECK(put_exp(s, "fourth", 0) > k3);
    ab_store_close(s);
}

static void test_events_round_trip(void)
{
    char dir[300], longuser[300], longid[200];
    ab_error err = {0, ""};
    ab_store *s;
    seen *x;
    outcomes *o = calloc(1, sizeof *o);
    ab_store_batch *b;
    ab_event evs[6];
    int64_t ka, kb;
    if (!o) abort();
    memset(longuser, 'u', 256);
    longuser[256] = '\0';
    memset(longid, 'i', AB_EVENT_ID_MAX);
    longid[AB_EVENT_ID_MAX] = '\0';
    fresh_dir(dir, sizeof dir);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    ka = put_exp(s, "a", 0);
    kb = put_exp(s, "b", 0);

    /* Every field of every type, unicode users and ids, the longest. */
    evs[0] = event(AB_EVENT_EXPOSURE, "\xe3\x83\xa6\xe3\x83\xbc\xe3\x82\xb6", 1, 1);
    evs[1] = event(AB_EVENT_CONVERSION, "u2", 0, -5);
    evs[1].value = -12.25;
    evs[1].phase = AB_PHASE_AWARENESS;
    evs[1].id = "\xf0\x9f\x94\x91key";
    evs[1].id_len = strlen(evs[1].id);
    evs[2] = event(AB_EVENT_NPS, longuser, -1, INT64_MAX);
    evs[2].score = 10;
    evs[2].id = longid;
    evs[2].id_len = strlen(longid);
    evs[3] = event(AB_EVENT_CONVERSION, "u4", 1, 4);
    evs[3].value = 0.0; /* zero is a value, not its absence */
    evs[4] = event(AB_EVENT_NPS, "u5", 0, 5);
    evs[4].score = 0;
    evs[5] = event(AB_EVENT_CONVERSION, "u6", 0, 6);
    evs[5].value = INFINITY; /* not finite: stored as no value (NaN) */

    b = ab_store_batch_new();
    CHECK(b != NULL);
    CHECK_INT(ab_store_batch_append(b, ka, evs, 3, &err), AB_STORE_OK);
    CHECK_INT(ab_store_batch_append(b, kb, &evs[3], 3, &err), AB_STORE_OK);
    CHECK_INT(ab_store_batch_append(b, ka, evs, 0, &err), AB_STORE_OK); /* nothing */
    CHECK_INT(ab_store_batch_events(b), 6);
    CHECK(ab_store_batch_bytes(b) > 6 * 14);
    submit(s, b, o, 1);
    /* The same events again: the store keeps every event it is given;
     * duplicates are for counting to find (idempotency is by id, there). */
    b = ab_store_batch_new();
    CHECK_INT(ab_store_batch_append(b, kb, &evs[3], 1, &err), AB_STORE_OK);
    CHECK_INT(ab_store_batch_append(b, ka, &evs[1], 1, &err), AB_STORE_OK);
    submit(s, b, o, 2);
    ab_store_wait(s);
    CHECK_INT(o->n, 2);
    CHECK_INT(o->kind[0], AB_STORE_OK);
    CHECK_INT(o->events[0], 6);
    CHECK_INT(o->kind[1], AB_STORE_OK);
    CHECK_INT(ab_store_in_flight(s), 0);
    ab_store_close(s);

    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nev, 8);
    CHECK_INT(ab_store_integrity_of(s)->events, 8);
    CHECK_INT(ab_store_integrity_of(s)->batches, 4); /* a row per experiment per commit */
    /* Experiment by experiment (key order), each in commit order. */
    if (x->nev == 8) {
        seen_event *e = x->ev;
        CHECK_INT(e[0].key, ka);
        CHECK(!strcmp(e[0].user, "\xe3\x83\xa6\xe3\x83\xbc\xe3\x82\xb6"));
        CHECK_INT(e[0].ev.type, AB_EVENT_EXPOSURE);
        CHECK_INT(e[0].ev.variant, 1);
        CHECK_INT(e[0].ev.ts_ms, 1);
        CHECK(isnan(e[0].ev.value));
        CHECK_INT(e[0].ev.score, -1);
        CHECK(e[0].ev.id == NULL);
        CHECK(e[0].ev.exp == NULL);
        CHECK_INT(e[1].ev.type, AB_EVENT_CONVERSION);
        CHECK_INT(e[1].ev.phase, AB_PHASE_AWARENESS);
        CHECK_INT(e[1].ev.ts_ms, -5);
        CHECK_REL(e[1].ev.value, -12.25, 0);
        CHECK(!strcmp(e[1].id, "\xf0\x9f\x94\x91key"));
        CHECK_INT(e[2].ev.type, AB_EVENT_NPS);
        CHECK_INT(e[2].ev.variant, -1);
        CHECK_INT(e[2].ev.score, 10);
        CHECK_INT(e[2].ev.ts_ms, INT64_MAX);
        CHECK_INT(e[2].ev.user_len, 256);
        CHECK(!strcmp(e[2].user, longuser));
        CHECK(!strcmp(e[2].id, longid));
        CHECK_INT(e[3].key, ka); /* the second commit's event of a */
        CHECK(!strcmp(e[3].user, "u2"));
        CHECK_INT(e[4].key, kb);
        CHECK(!strcmp(e[4].user, "u4"));
        CHECK(!isnan(e[4].ev.value) && e[4].ev.value == 0.0);
        CHECK_INT(e[5].ev.score, 0);
        CHECK(isnan(e[6].ev.value));
        CHECK(!strcmp(e[7].user, "u4")); /* the duplicate, kept */
    }
    seen_free(x);
    ab_store_close(s);
    free(o);
}

static void test_batch_limits(void)
{
    ab_error err = {0, ""};
    ab_store_batch *b = ab_store_batch_new();
    char *huge = malloc(0x10001);
    ab_event e[2];
    if (!b || !huge) abort();
    memset(huge, 'h', 0x10000);
    huge[0x10000] = '\0';
    e[0] = event(AB_EVENT_EXPOSURE, "fine", 0, 1);
    e[1] = event(AB_EVENT_EXPOSURE, huge, 0, 1);
    /* All or nothing: the good event before the bad one is not kept. */
    CHECK_INT(ab_store_batch_append(b, 1, e, 2, &err), AB_STORE_INVALID);
    CHECK(strstr(err.text, "too long") != NULL);
    CHECK_INT(ab_store_batch_events(b), 0);
    CHECK_INT(ab_store_batch_bytes(b), 0);
    e[1] = event(AB_EVENT_EXPOSURE, "", 0, 1); /* no user: not storable either */
    CHECK_INT(ab_store_batch_append(b, 1, e, 2, &err), AB_STORE_INVALID);
    e[1] = event(AB_EVENT_EXPOSURE, "ok", 0, 1);
    e[1].id = huge;
    e[1].id_len = 256;
    CHECK_INT(ab_store_batch_append(b, 1, e, 2, &err), AB_STORE_INVALID);
    CHECK_INT(ab_store_batch_events(b), 0);
    /* The longest user a record holds. */
    e[1] = event(AB_EVENT_EXPOSURE, huge, 0, 1);
    e[1].user_len = 0xffff;
    CHECK_INT(ab_store_batch_append(b, 1, e, 2, &err), AB_STORE_OK);
    CHECK_INT(ab_store_batch_events(b), 2);
    ab_store_batch_free(b);
    ab_store_batch_free(NULL);
    free(huge);
}

/* Many batches at once: the outcomes come back in submission order, every
 * one notified; a large batch and empty ones among them. */
static void test_async_order(void)
{
    char dir[300];
    ab_store *s;
    seen *x;
    outcomes *o = calloc(1, sizeof *o);
    int64_t k[20];
    size_t want = 0, ok = 1;
    if (!o) abort();
    fresh_dir(dir, sizeof dir);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%02d", i);
        k[i] = put_exp(s, id, 0);
    }
    atomic_store(&notified, 0);
    ab_store_set_notify(s, count_notify, NULL);
    for (int i = 0; i < 200; i++) {
        size_t n = i == 100 ? 200000 : i % 10 == 0 ? 0 : (size_t)(i % 7) + 1;
        ab_store_batch *b = batch_of(k[i % 20], "u", n, i * 1000);
        /* Several experiments in one batch. */
        if (n && i % 3 == 0) {
            ab_event e = event(AB_EVENT_EXPOSURE, "other", 0, 0);
            ab_error err = {0, ""};
            CHECK_INT(ab_store_batch_append(b, k[(i + 1) % 20], &e, 1, &err), AB_STORE_OK);
            n++;
        }
        want += n;
        submit(s, b, o, i);
        /* Outcomes are heard only when asked for, on this thread. */
        if (i % 50 == 49) ab_store_complete(s);
    }
    CHECK(ab_store_in_flight(s) <= 200);
    ab_store_wait(s);
    CHECK_INT(ab_store_in_flight(s), 0);
    CHECK(ab_store_accepting(s)); /* nothing being written */
    CHECK_INT(o->n, 200);
    for (size_t i = 0; i < o->n && i < 200; i++)
        ok &= o->order[i] == (int)i && o->kind[i] == AB_STORE_OK;
    CHECK(ok);
    CHECK(atomic_load(&notified) >= 1);
    CHECK_INT(ab_store_complete(s), 0); /* nothing left */
    ab_store_close(s);

    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nev, want);
    CHECK_INT(ab_store_integrity_of(s)->events, want);
    /* Within an experiment, events come back in the order committed. */
    ok = 1;
    for (size_t i = 1; i < x->nev && i < MAX_SEEN; i++)
        if (x->ev[i].key == x->ev[i - 1].key && strcmp(x->ev[i].user, "other") &&
            strcmp(x->ev[i - 1].user, "other"))
            ok &= x->ev[i].ev.ts_ms >= x->ev[i - 1].ev.ts_ms;
    CHECK(ok);
    seen_free(x);
    ab_store_close(s);
    free(o);
}

/* Synchronous writes between batches: a transaction begun while batches
 * are queued waits for the one committing, and batches submitted while it
 * is open commit after it. */
static void test_sync_between_batches(void)
{
    char dir[300];
    ab_error err = {0, ""};
    ab_store *s;
    seen *x;
    outcomes *o = calloc(1, sizeof *o);
    int64_t k, k2;
    if (!o) abort();
    fresh_dir(dir, sizeof dir);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    k = put_exp(s, "a", 0);
    for (int i = 0; i < 20; i++) submit(s, batch_of(k, "x", 500, i * 1000), o, i);
    k2 = put_exp(s, "b", 0); /* while those commit */
    CHECK(k2 > k);
    CHECK_INT(ab_store_begin(s, &err), AB_STORE_OK);
    submit(s, batch_of(k2, "y", 10, 0), o, 20); /* queued behind the transaction */
    {
        ab_store_monitor m = {k2, 1, 0.25, 2, 1234, NAN, 0.5};
        CHECK_INT(ab_store_put_monitor(s, &m, &err), AB_STORE_OK);
    }
    /* Waiting inside a transaction would never end: it returns. */
    ab_store_wait(s);
    CHECK_INT(ab_store_commit(s, &err), AB_STORE_OK);
    ab_store_wait(s);
    CHECK_INT(o->n, 21);
    CHECK(ab_store_writable(s));
    ab_store_close(s);

    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nexp, 2);
    CHECK_INT(x->nev, 20 * 500 + 10);
    CHECK_INT(x->nmon, 1);
    CHECK_INT(x->mon[0].key, k2);
    CHECK_INT(x->mon[0].arm, 1);
    CHECK_REL(x->mon[0].min_p, 0.25, 0);
    CHECK_INT(x->mon[0].status, 2);
    CHECK_INT(x->mon[0].significant_since_ms, 1234);
    CHECK(isnan(x->mon[0].lo));
    CHECK_REL(x->mon[0].hi, 0.5, 0);
    seen_free(x);
    /* Clearing the monitor rows, and deleting an experiment takes its
     * events with it. */
    CHECK_INT(ab_store_begin(s, &err), AB_STORE_OK);
    CHECK_INT(ab_store_clear_monitor(s, k2, &err), AB_STORE_OK);
    CHECK_INT(ab_store_delete_experiment(s, k, &err), AB_STORE_OK);
    CHECK_INT(ab_store_commit(s, &err), AB_STORE_OK);
    ab_store_close(s);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nexp, 1);
    CHECK_INT(x->nev, 10);
    CHECK_INT(x->nmon, 0);
    CHECK_INT(ab_store_integrity_of(s)->events, 10);
    seen_free(x);
    ab_store_close(s);
    free(o);
}

/* Closing with batches in flight commits them first; both durabilities
 * keep what was committed. */
static void test_close_and_durability(void)
{
    for (int d = 0; d < 2; d++) {
        char dir[300];
        ab_store *s;
        seen *x;
        outcomes *o = calloc(1, sizeof *o);
        int64_t k;
        ab_durability dur = d ? AB_DURABILITY_FULL : AB_DURABILITY_NORMAL;
        if (!o) abort();
        fresh_dir(dir, sizeof dir);
        if (!(s = open_at(dir, dur))) return;
        seen_free(load(s, AB_STORE_OK));
        k = put_exp(s, "a", 0);
        for (int i = 0; i < 30; i++) submit(s, batch_of(k, "z", 100, i * 100), o, i);
        ab_store_close(s); /* no wait: close waits */
        CHECK_INT(o->n, 30);
        if (!(s = open_at(dir, d ? AB_DURABILITY_NORMAL : AB_DURABILITY_FULL))) return;
        x = load(s, AB_STORE_OK);
        CHECK_INT(x->nev, 3000);
        CHECK_INT(ab_store_integrity_of(s)->commits >= 31, 1);
        seen_free(x);
        ab_store_close(s);
        free(o);
    }
}

static int replayed(void *ctx, const ab_store_delivery *d)
{
    int *n = ctx;
    if (*n == 0 && strcmp(d->id, "e/b/1")) return -1;
    if (*n == 0 && (strcmp(d->url, "https://x.test/h") || strcmp(d->body, "{\"a\":1}")))
        return -1;
    ++*n;
    return 0;
}

static int refuse_delivery(void *ctx, const ab_store_delivery *d)
{
    (void)ctx;
    (void)d;
    return -1;
}

/* Calls the store again from inside its own callback: deletes each
 * delivery as it is read (a transaction cannot begin there). */
static ab_store *reentered;
static int delete_each(void *ctx, const ab_store_delivery *d)
{
    ab_error err = {0, ""};
    int *n = ctx;
    if (ab_store_begin(reentered, &err) != AB_STORE_INVALID) return -1;
    if (ab_store_outbox_del(reentered, d->id, &err) != AB_STORE_OK) return -1;
    ++*n;
    return 0;
}

static void test_outbox(void)
{
    char dir[300];
    ab_error err = {0, ""};
    ab_store *s;
    int n = 0;
    ab_store_delivery d1 = {"e/b/1", "https://x.test/h", "{\"a\":1}", 10};
    ab_store_delivery d2 = {"e/c/2", "https://x.test/h", "{\"a\":2}", 20};
    fresh_dir(dir, sizeof dir);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    CHECK_INT(ab_store_outbox_load(s, replayed, &n, &err), AB_STORE_OK);
    CHECK_INT(n, 0);
    CHECK_INT(ab_store_outbox_put(s, &d1, &err), AB_STORE_OK); /* a transaction of its own */
    CHECK_INT(ab_store_begin(s, &err), AB_STORE_OK);
    CHECK_INT(ab_store_outbox_put(s, &d2, &err), AB_STORE_OK); /* inside this one */
    CHECK_INT(ab_store_commit(s, &err), AB_STORE_OK);
    CHECK_INT(ab_store_outbox_put(s, &d2, &err), AB_STORE_OK); /* again: replaced */
    ab_store_close(s);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    CHECK_INT(ab_store_outbox_load(s, replayed, &n, &err), AB_STORE_OK);
    CHECK_INT(n, 2);
    CHECK(ab_store_outbox_load(s, refuse_delivery, NULL, &err) != AB_STORE_OK);
    CHECK_INT(ab_store_outbox_del(s, "e/b/1", &err), AB_STORE_OK);
    CHECK_INT(ab_store_outbox_del(s, "never", &err), AB_STORE_OK);
    n = 1; /* skip the first-row check */
    CHECK_INT(ab_store_outbox_load(s, replayed, &n, &err), AB_STORE_OK);
    CHECK_INT(n, 2);
    reentered = s;
    n = 0;
    CHECK_INT(ab_store_outbox_load(s, delete_each, &n, &err), AB_STORE_OK);
    CHECK_INT(n, 1);
    n = 0;
    CHECK_INT(ab_store_outbox_load(s, replayed, &n, &err), AB_STORE_OK);
    CHECK_INT(n, 0);
    ab_store_close(s);
}

/* A replay callback's failure stops the load, and says so. */
static void test_load_callback_fails(void)
{
    char dir[300];
    ab_error err = {0, ""};
    ab_store *s;
    seen *x;
    fresh_dir(dir, sizeof dir);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    put_exp(s, "a", 0);
    ab_store_close(s);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    x = calloc(1, sizeof *x);
    if (!x || !(x->ev = calloc(1, sizeof *x->ev))) abort();
    x->fail_on_experiment = 1;
    CHECK(ab_store_load(s, &LOADER, x, &err) != AB_STORE_OK);
    CHECK(err.text[0] != '\0');
    seen_free(x);
    ab_store_close(s);
}

/* The file-size limit at 1 byte: every write of the store fails, as on a
 * full disk. The kinds say "unavailable" (transient), nothing of the
 * failed batch stays, and the store works again once writes can. */
static void test_full_disk(void)
{
    char dir[300];
    ab_error err = {0, ""};
    ab_store *s;
    seen *x;
    outcomes *o = calloc(1, sizeof *o);
    struct rlimit old, one = {1, RLIM_INFINITY};
    int64_t k;
    if (!o) abort();
    if (!B->in_dir) {
        free(o);
        return;
    }
    fresh_dir(dir, sizeof dir);
    if (!(s = open_at(dir, AB_DURABILITY_FULL))) return;
    seen_free(load(s, AB_STORE_OK));
    k = put_exp(s, "a", 0);
    submit(s, batch_of(k, "before", 10, 0), o, 0);
    ab_store_wait(s);
    signal(SIGXFSZ, SIG_IGN);
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    one.rlim_max = old.rlim_max;
    CHECK(setrlimit(RLIMIT_FSIZE, &one) == 0);
    submit(s, batch_of(k, "lost", 5000, 100), o, 1);
    ab_store_wait(s);
    CHECK_INT(o->n, 2);
    CHECK(o->kind[1] != AB_STORE_OK);
    CHECK(ab_store_status_transient(o->kind[1]));
    CHECK(!ab_store_writable(s));
    {
        ab_store_experiment e = {0, "b", "{\"variants\":[\"a\",\"b\"]}", 0, 0, 0, NULL};
        ab_store_status kind = ab_store_begin(s, &err);
        if (kind == AB_STORE_OK) {
            kind = ab_store_put_experiment(s, &e, &err);
            if (kind == AB_STORE_OK) kind = ab_store_commit(s, &err);
            else ab_store_rollback(s);
        }
        CHECK(kind != AB_STORE_OK && ab_store_status_transient(kind));
        CHECK_INT(err.status, 0);
    }
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    CHECK(ab_store_writable(s));
    submit(s, batch_of(k, "after", 7, 200), o, 2);
    ab_store_wait(s);
    CHECK_INT(o->kind[2], AB_STORE_OK);
    ab_store_close(s);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nev, 17);
    CHECK_INT(x->nexp, 1);
    seen_free(x);
    ab_store_close(s);
    free(o);
}

/* A place that cannot hold a store, and a database that is not one. */
static void test_bad_places(void)
{
    char dir[300], path[400];
    ab_error err = {0, ""};
    ab_store *s;
    FILE *fp;
    if (!B->in_dir) return;
    fresh_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s.file", dir);
    fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (fp) fclose(fp);
    snprintf(path, sizeof path, "%s.file/sub", dir);
    s = ab_store_open_with(B->be, path, AB_DURABILITY_NORMAL, &err);
    CHECK(s == NULL);
    CHECK(err.text[0] != '\0');
    ab_store_close(s);

    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/abstat.db", dir);
    fp = fopen(path, "w");
    if (fp) {
        for (int i = 0; i < 4096; i++) fputc("not a database"[i % 14], fp);
        fclose(fp);
    }
    memset(&err, 0, sizeof err);
    s = ab_store_open_with(B->be, dir, AB_DURABILITY_NORMAL, &err);
    CHECK(s == NULL);
    CHECK_INT(err.status, 0);
    CHECK(err.text[0] != 0);
    ab_store_close(s);
}

/* The online copy of a store in use has all it committed. */
static void test_backup(void)
{
    char dir[300], copy[400], copydir[300];
    ab_error err = {0, ""};
    ab_counter c;
    ab_store *s;
    seen *x;
    outcomes *o = calloc(1, sizeof *o);
    int64_t k;
    if (!o) abort();
    if (!B->in_dir) {
        free(o);
        return;
    }
    fresh_dir(dir, sizeof dir);
    fresh_dir(copydir, sizeof copydir);
    if (!(s = open_at(dir, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    k = put_exp(s, "a", 0);
    submit(s, batch_of(k, "b", 123, 0), o, 0);
    ab_store_wait(s);
    CHECK(mkdir(copydir, 0755) == 0);
    snprintf(copy, sizeof copy, "%s/abstat.db", copydir);
    CHECK_INT(ab_store_backup(dir, copy, &c, &err), 1);
    CHECK_INT(c.events, 123);
    ab_store_close(s);
    /* The copy opens as a store (its counter file written as the CLI does). */
    {
        int fd = ab_counter_open(copydir);
        CHECK(fd >= 0 && ab_counter_write(fd, &c, 1) == 0);
        if (fd >= 0) close(fd);
    }
    if (!(s = open_at(copydir, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nev, 123);
    seen_free(x);
    ab_store_close(s);
    CHECK_INT(ab_store_backup("/nonexistent/abstat", copy, &c, &err), -1);
    free(o);
}

/* ---- PostgreSQL only ---------------------------------------------------- */

/* The schema's version is in table abstat_schema; a newer one than this
 * code knows is refused, and says so. ab_store_open_where picks the
 * backend by the form of its argument. */
static void test_pg_schema(void)
{
    char where[300], v[64], dir[300];
    ab_error err = {0, ""};
    ab_store *s;
    fresh_dir(where, sizeof where);
    if (!(s = ab_store_open_where(where, AB_DURABILITY_NORMAL, &err))) {
        test_fail(__FILE__, __LINE__, "open_where %s: %s", where, err.text);
        return;
    }
    seen_free(load(s, AB_STORE_OK));
    put_exp(s, "a", 0);
    ab_store_close(s);
    CHECK_INT(test_pg_sql(&pg, where, "SELECT string_agg(version::text, ',') FROM abstat_schema",
                          v, sizeof v), 0);
    CHECK(!strcmp(v, "2"));
    CHECK_INT(test_pg_sql(&pg, where, "SELECT count(*) FROM abstat_experiments", v, sizeof v), 0);
    CHECK(!strcmp(v, "1"));
    CHECK_INT(test_pg_sql(&pg, where, "UPDATE abstat_schema SET version = 99", NULL, 0), 0);
    s = ab_store_open_with(B->be, where, AB_DURABILITY_NORMAL, &err);
    CHECK(s == NULL);
    CHECK(strstr(err.text, "schema version 99") != NULL);
    CHECK_INT(err.status, 0);
    ab_store_close(s);
    CHECK_INT(test_pg_sql(&pg, where, "UPDATE abstat_schema SET version = 1", NULL, 0), 0);
    if ((s = open_at(where, AB_DURABILITY_NORMAL))) {
        seen *x = load(s, AB_STORE_OK);
        CHECK_INT(x->nexp, 1);
        seen_free(x);
        ab_store_close(s);
    }
    /* A server that is not there: no store, a transient kind. */
    memset(&err, 0, sizeof err);
    s = ab_store_open_where("postgresql:///x?host=/nonexistent&connect_timeout=2",
                            AB_DURABILITY_NORMAL, &err);
    CHECK(s == NULL);
    CHECK(strstr(err.text, "PostgreSQL") != NULL);
    ab_store_close(s);
    /* Anything else is a data directory (SQLite). */
    snprintf(dir, sizeof dir, "%s/open-where", root);
    if ((s = ab_store_open_where(dir, AB_DURABILITY_NORMAL, &err))) {
        struct stat sb;
        char db[400];
        snprintf(db, sizeof db, "%s/abstat.db", dir);
        CHECK(stat(db, &sb) == 0);
        ab_store_close(s);
    } else {
        test_fail(__FILE__, __LINE__, "open_where %s: %s", dir, err.text);
    }
}

/* The server stops under a running store: commits fail as BUSY
 * (transient: 503 + Retry-After), nothing of them stays, and once the
 * server is back the store reconnects by itself. */
static void test_pg_server_restart(void)
{
    char where[300];
    ab_error err = {0, ""};
    ab_store *s;
    seen *x;
    outcomes *o = calloc(1, sizeof *o);
    int64_t k;
    if (!o) abort();
    fresh_dir(where, sizeof where);
    if (!(s = open_at(where, AB_DURABILITY_FULL))) return;
    seen_free(load(s, AB_STORE_OK));
    k = put_exp(s, "a", 0);
    submit(s, batch_of(k, "before", 10, 0), o, 0);
    ab_store_wait(s);
    CHECK_INT(o->kind[0], AB_STORE_OK);
    CHECK_INT(test_pg_stop(&pg), 0);
    submit(s, batch_of(k, "lost", 5, 100), o, 1);
    ab_store_wait(s);
    CHECK_INT(o->n, 2);
    CHECK_INT(o->kind[1], AB_STORE_BUSY);
    CHECK(ab_store_status_transient(o->kind[1]));
    CHECK(!ab_store_writable(s));
    CHECK_INT(ab_store_begin(s, &err), AB_STORE_BUSY);
    CHECK(strstr(err.text, "PostgreSQL") != NULL);
    CHECK_INT(test_pg_restart(&pg), 0);
    submit(s, batch_of(k, "after", 7, 200), o, 2);
    ab_store_wait(s);
    CHECK_INT(o->kind[2], AB_STORE_OK);
    CHECK(ab_store_writable(s));
    /* The same with the server restarted while the store was idle: the
     * first commit after it already succeeds. */
    CHECK_INT(test_pg_restart(&pg), 0);
    submit(s, batch_of(k, "again", 3, 300), o, 3);
    ab_store_wait(s);
    CHECK_INT(o->kind[3], AB_STORE_OK);
    ab_store_close(s);
    if (!(s = open_at(where, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nev, 20);
    CHECK_INT(ab_store_integrity_of(s)->events, 20);
    seen_free(x);
    ab_store_close(s);
    free(o);
}

/* The log's seq follows the commit order across experiments, and the
 * replay after a reopen gives each experiment's events in that order. */
static void test_pg_commit_order(void)
{
    char where[300], got[512], want[512] = "";
    ab_store *s;
    seen *x;
    outcomes *o = calloc(1, sizeof *o);
    int64_t k[3];
    size_t w = 0;
    if (!o) abort();
    fresh_dir(where, sizeof where);
    if (!(s = open_at(where, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    k[0] = put_exp(s, "x", 0);
    k[1] = put_exp(s, "y", 0);
    k[2] = put_exp(s, "z", 0);
    for (int i = 0; i < 12; i++) {
        int e = (i * 7) % 3; /* 0, 1, 2, 0, ... in a shuffled order */
        submit(s, batch_of(k[e], "u", 2, i * 10), o, i);
        w += (size_t)snprintf(want + w, sizeof want - w, "%s%lld", i ? "," : "", (long long)k[e]);
    }
    ab_store_wait(s);
    ab_store_close(s);
    CHECK_INT(test_pg_sql(&pg, where, "SELECT string_agg(exp_key::text, ',' ORDER BY seq) FROM "
                          "abstat_log", got, sizeof got), 0);
    CHECK(!strcmp(got, want));
    /* Event rows and configuration changes share the one seq, without gaps. */
    CHECK_INT(test_pg_sql(&pg, where, "SELECT (SELECT seq FROM abstat_log_head) = max(s) AND "
                          "count(*) = max(s) FROM (SELECT seq AS s FROM abstat_log UNION ALL "
                          "SELECT seq FROM abstat_config_log) u", got, sizeof got), 0);
    CHECK(!strcmp(got, "t"));
    if (!(s = open_at(where, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nev, 24);
    {
        int ok = 1;
        for (size_t i = 1; i < x->nev; i++) {
            if (x->ev[i].key == x->ev[i - 1].key)
                ok &= x->ev[i].ev.ts_ms > x->ev[i - 1].ev.ts_ms;
            else
                ok &= x->ev[i].key > x->ev[i - 1].key;
        }
        CHECK(ok);
    }
    CHECK_INT(ab_store_integrity_of(s)->batches, 12);
    CHECK_INT(ab_store_integrity_of(s)->commits, 12 + 3);
    seen_free(x);
    ab_store_close(s);
    free(o);
}

/* A damaged row is refused (CORRUPT) at start, skipped under --recover. */
static void test_pg_corrupt_row(void)
{
    char where[300];
    ab_store *s;
    seen *x;
    outcomes *o = calloc(1, sizeof *o);
    int64_t k;
    if (!o) abort();
    fresh_dir(where, sizeof where);
    if (!(s = open_at(where, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    k = put_exp(s, "a", 0);
    submit(s, batch_of(k, "u", 4, 0), o, 0);
    submit(s, batch_of(k, "v", 6, 100), o, 1);
    ab_store_wait(s);
    ab_store_close(s);
    /* flip a byte in the first row's events */
    CHECK_INT(test_pg_sql(&pg, where, "UPDATE abstat_log SET batch = set_byte(batch, 20, "
                          "get_byte(batch, 20) # 1) WHERE seq = (SELECT min(seq) FROM abstat_log)", NULL, 0), 0);
    if (!(s = open_at(where, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_CORRUPT));
    ab_store_close(s);
    if (!(s = open_at(where, AB_DURABILITY_NORMAL))) return;
    ab_store_set_recover(s, 1);
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nev, 6);
    CHECK_INT(ab_store_integrity_of(s)->recovered, 1);
    CHECK_INT(ab_store_integrity_of(s)->corrupt_rows, 1);
    CHECK_INT(ab_store_integrity_of(s)->lost_events, 4);
    CHECK_INT(ab_store_integrity_of(s)->events, 6);
    seen_free(x);
    ab_store_close(s);
    /* The counters now say what is there: a plain start is clean. */
    if (!(s = open_at(where, AB_DURABILITY_NORMAL))) return;
    x = load(s, AB_STORE_OK);
    CHECK_INT(x->nev, 6);
    CHECK_INT(ab_store_integrity_of(s)->recovered, 0);
    seen_free(x);
    ab_store_close(s);
    free(o);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* What a store's follower heard (store.h, "Several nodes"): each item's
 * kind, seq and experiment, and outcomes as markers between them. */
typedef struct {
    int kind[256];
    int64_t seq[256], key[256];
    uint64_t nev[256];
    size_t n;
} followed;

static void on_follow(void *arg, const ab_store_feed_item *it)
{
    followed *f = arg;
    const unsigned char *q;
    uint64_t nev = 0;
    const char *why = "";
    if (f->n >= 256) return;
    f->kind[f->n] = (int)it->kind;
    f->seq[f->n] = it->seq;
    f->key[f->n] = it->key;
    if (it->kind == AB_FEED_EVENTS) CHECK_INT(ab_record_check_row(it->row, it->len, &q, &nev, &why), 0);
    if (it->kind == AB_FEED_EXPERIMENT) CHECK(it->exp && it->exp->id && it->exp->config);
    f->nev[f->n] = nev;
    f->n++;
}

/* Runs b's callbacks until f holds n items (at most 2 s: the follower
 * polls every AB_STORE_FOLLOW_POLL_MS and listens meanwhile); the time. */
static double follow_until(ab_store *b, followed *f, size_t n)
{
    double t0 = now_s();
    while (f->n < n && now_s() - t0 < 2) {
        ab_store_complete(b);
        usleep(5000);
    }
    return now_s() - t0;
}

/* Several stores (nodes) on one database: each hears the others' commits
 * and the others' configuration changes, in seq order, its own rows and changes left
 * out; a batch committed after another node's hears that node's earlier
 * rows before its own outcome; a batch for an experiment another node
 * deleted fails BUSY (503, retry) instead of storing orphans; a restart
 * replays everything once. */
static void test_pg_nodes(void)
{
    char where[300];
    ab_store *a, *b;
    seen *x;
    outcomes *o = calloc(1, sizeof *o);
    followed *fa = calloc(1, sizeof *fa), *fb = calloc(1, sizeof *fb);
    int64_t k;
    double took;
    ab_error err = {0, ""};
    if (!o || !fa || !fb) abort();
    fresh_dir(where, sizeof where);
    if (!(a = open_at(where, AB_DURABILITY_NORMAL))) return;
    if (!(b = open_at(where, AB_DURABILITY_NORMAL))) return;
    seen_free(load(a, AB_STORE_OK));
    seen_free(load(b, AB_STORE_OK));
    ab_store_set_follow(a, on_follow, fa);
    ab_store_set_follow(b, on_follow, fb);
    CHECK(ab_store_shared(a));
    k = put_exp(a, "one", 0);
    submit(a, batch_of(k, "a", 5, 0), o, 0);
    ab_store_wait(a);
    CHECK_INT(o->kind[0], AB_STORE_OK);
    took = follow_until(b, fb, 2);
    printf("  node b heard node a's change and commit in %.0f ms\n", took * 1000);
    CHECK_INT(fb->n, 2);
    CHECK_INT(fb->kind[0], AB_FEED_EXPERIMENT);
    CHECK_INT(fb->key[0], k);
    CHECK_INT(fb->kind[1], AB_FEED_EVENTS);
    CHECK_INT(fb->nev[1], 5);
    CHECK(fb->seq[0] < fb->seq[1]);
    CHECK(took < 1.0);
    /* Neither a's own change nor its own rows come back to it. */
    usleep(300 * 1000);
    ab_store_complete(a);
    CHECK_INT(fa->n, 0);
    /* a commits, then b at once: b hears a's rows before its own outcome. */
    submit(a, batch_of(k, "c", 3, 100), o, 1);
    ab_store_wait(a);
    fb->n = 0;
    submit(b, batch_of(k, "d", 4, 200), o, 2);
    ab_store_wait(b);
    CHECK_INT(o->kind[2], AB_STORE_OK);
    CHECK_INT(fb->n, 1);
    CHECK_INT(fb->nev[0], 3);
    follow_until(a, fa, 1);
    CHECK_INT(fa->n, 1);
    CHECK_INT(fa->kind[0], AB_FEED_EVENTS);
    CHECK_INT(fa->nev[0], 4);
    /* a deletes; b, not having heard it yet, commits for k: refused. */
    CHECK_INT(ab_store_begin(a, &err), AB_STORE_OK);
    CHECK_INT(ab_store_delete_experiment(a, k, &err), AB_STORE_OK);
    CHECK_INT(ab_store_commit(a, &err), AB_STORE_OK);
    submit(b, batch_of(k, "e", 2, 300), o, 3);
    ab_store_wait(b);
    CHECK_INT(o->kind[3], AB_STORE_BUSY);
    fb->n = 0;
    follow_until(b, fb, 1);
    CHECK_INT(fb->n, 1);
    CHECK_INT(fb->kind[0], AB_FEED_DELETE);
    /* A new experiment; a restart of b replays both nodes' rows once. */
    k = put_exp(b, "two", 0);
    submit(a, batch_of(k, "f", 6, 400), o, 4);
    submit(b, batch_of(k, "g", 7, 500), o, 5);
    ab_store_wait(a);
    ab_store_wait(b);
    ab_store_close(b);
    if (!(b = open_at(where, AB_DURABILITY_NORMAL))) return;
    x = load(b, AB_STORE_OK);
    CHECK_INT(x->nev, 13);
    CHECK_INT(ab_store_integrity_of(b)->events, 13);
    seen_free(x);
    ab_store_close(a);
    ab_store_close(b);
    free(o);
    free(fa);
    free(fb);
}

/* A database that became read-only (as a standby is, or by an
 * administrator) answers READONLY once the store reconnects. */
static void test_pg_readonly(void)
{
    char where[300], sql[200];
    ab_store *s;
    outcomes *o = calloc(1, sizeof *o);
    int64_t k;
    if (!o) abort();
    fresh_dir(where, sizeof where);
    if (!(s = open_at(where, AB_DURABILITY_NORMAL))) return;
    seen_free(load(s, AB_STORE_OK));
    k = put_exp(s, "a", 0);
    snprintf(sql, sizeof sql, "ALTER DATABASE store%d SET default_transaction_read_only = on",
             dirs - 1);
    CHECK_INT(test_pg_sql(&pg, NULL, sql, NULL, 0), 0);
    CHECK_INT(test_pg_restart(&pg), 0); /* the store's next connection is a new session */
    submit(s, batch_of(k, "u", 3, 0), o, 0);
    ab_store_wait(s);
    CHECK_INT(o->kind[0], AB_STORE_READONLY);
    CHECK(!ab_store_writable(s));
    snprintf(sql, sizeof sql, "ALTER DATABASE store%d SET default_transaction_read_only = off",
             dirs - 1);
    CHECK_INT(test_pg_sql(&pg, NULL, sql, NULL, 0), 0);
    ab_store_close(s);
    free(o);
}

/* A test that exits early leaves no server running. */
static void stop_pg_at_exit(void)
{
    test_pg_destroy(&pg);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/abstat-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_status_names();
    test_batch_limits();
    for (size_t i = 0; i < sizeof BACKENDS / sizeof BACKENDS[0]; i++) {
        int before = test_passed + test_failed;
        B = &BACKENDS[i];
        snprintf(test_context, sizeof test_context, "backend %s", B->name);
        if (is_pg()) {
            int up = test_pg_start(&pg);
            atexit(stop_pg_at_exit);
            if (up == 0) {
                printf("skip: backend postgresql (no PostgreSQL server installed: initdb, "
                       "pg_ctl)\n");
                continue;
            }
            if (up < 0) {
                test_fail(__FILE__, __LINE__, "cannot start a PostgreSQL server");
                test_pg_destroy(&pg);
                continue;
            }
        }
        test_open_empty();
        test_one_owner();
        test_experiments();
        test_events_round_trip();
        test_async_order();
        test_sync_between_batches();
        test_close_and_durability();
        test_outbox();
        test_load_callback_fails();
        test_full_disk();
        test_bad_places();
        test_backup();
        if (is_pg()) {
            test_pg_schema();
            test_pg_server_restart();
            test_pg_commit_order();
            test_pg_corrupt_row();
            test_pg_nodes();
            test_pg_readonly();
            test_pg_destroy(&pg);
        }
        printf("backend %s: %d checks\n", B->name, test_passed + test_failed - before);
    }
    {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    }
    return TEST_DONE("test_store_contract");
}
