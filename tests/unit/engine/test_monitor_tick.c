/* test_monitor_tick.c — the monitor's once-a-second evaluation on an
 * in-process registry and store: a clear winner is judged better, its
 * significance reported once (metric, outbox delivery) and stored with
 * the monitoring state in one transaction; too little data decides
 * nothing; a later read or tick reports nothing again. */
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abstat/stats.h"
#include "base/clock.h"
#include "engine/monitor.h"
#include "json/experiment_json.h"
#include "json/jsonin.h"
#include "test.h"

static int64_t now_ms;

/* A stored experiment, live in reg; NULL after a counted failure. */
static ab_live *experiment(ab_store *st, ab_registry *reg, const char *id, const char *json)
{
    ab_error err = {0, ""};
    ab_experiment_config cfg;
    ab_store_experiment row = {0, id, json, 0, now_ms, 0, NULL};
    json_t *doc = ab_jin_parse_text(json, &err);
    ab_live *e;
    int ok = doc && ab_experiment_parse(id, doc, &cfg, &err) == 0;
    json_decref(doc);
    if (!ok) {
        test_fail(__FILE__, __LINE__, "config %s: %s", json, err.text);
        return NULL;
    }
    if (ab_store_begin(st, &err) || ab_store_put_experiment(st, &row, &err) ||
        ab_store_commit(st, &err)) {
        test_fail(__FILE__, __LINE__, "storing %s: %s", id, err.text);
        ab_experiment_free(&cfg);
        return NULL;
    }
    if (!(e = ab_live_new(&cfg, row.key, 0, now_ms))) {
        ab_experiment_free(&cfg);
        CHECK(e != NULL);
        return NULL;
    }
    CHECK_INT(ab_registry_add(reg, e), 0);
    CHECK_INT(ab_state_reserve(&e->state, 0, 0, 0), 0);
    return e;
}

/* users exposures to variant v, the first conversions of them converting. */
static void feed(ab_live *e, int v, int users, int conversions, const char *tag)
{
    char user[64];
    int nomem = 0;
    for (int i = 0; i < users; i++) {
        ab_event ev;
        memset(&ev, 0, sizeof ev);
        snprintf(user, sizeof user, "%s-%d-%d", tag, v, i);
        ev.exp = e;
        ev.type = AB_EVENT_EXPOSURE;
        ev.phase = AB_PHASE_DECISION;
        ev.variant = v;
        ev.value = NAN;
        ev.covariate = NAN;
        ev.score = -1;
        ev.ts_ms = now_ms - 60000;
        ev.user = user;
        ev.user_len = strlen(user);
        nomem += ab_state_apply(&e->state, &ev) == AB_APPLY_NOMEM;
        if (i < conversions) {
            ev.type = AB_EVENT_CONVERSION;
            ev.variant = -1;
            nomem += ab_state_apply(&e->state, &ev) == AB_APPLY_NOMEM;
        }
    }
    CHECK_INT(nomem, 0);
    e->dirty = 1;
}

typedef struct {
    int64_t key;
    int rows, better_rows;
    int64_t since;
    int deliveries;
    char delivery_id[200];
} stored;

static int on_experiment(void *ctx, const ab_store_experiment *e)
{
    (void)ctx;
    (void)e;
    return 0;
}

static int on_event(void *ctx, int64_t key, const ab_event *ev)
{
    (void)ctx;
    (void)key;
    (void)ev;
    return 0;
}

static int on_monitor(void *ctx, const ab_store_monitor *m)
{
    stored *s = ctx;
    if (m->key != s->key) return 0;
    s->rows++;
    if (m->arm == 1 && m->status == AB_ARM_BETTER) {
        s->better_rows++;
        s->since = m->significant_since_ms;
    }
    return 0;
}

static int on_delivery(void *ctx, const ab_store_delivery *d)
{
    stored *s = ctx;
    s->deliveries++;
    snprintf(s->delivery_id, sizeof s->delivery_id, "%s", d->id);
    if (!strstr(d->body, "\"event\":\"significance_reached\"") ||
        !strstr(d->body, "\"variant\":\"b\"") || !strstr(d->url, "127.0.0.1"))
        s->deliveries += 1000; /* shows up as a wrong count */
    return 0;
}

int main(void)
{
    char dir[] = "/tmp/abstat-monitor-XXXXXX";
    static const char *const labels[] = {"other"};
    ab_error err = {0, ""};
    ab_registry reg;
    ab_metrics metrics;
    ab_monitor mon;
    ab_store *st;
    struct event_base *base;
    ab_live *win, *early;
    ab_evaluation *ev = malloc(sizeof *ev);
    stored s;

    ab_stats_init();
    now_ms = ab_now_ms();
    ab_registry_init(&reg);
    ab_metrics_init(&metrics, labels, 1);
    if (!ev || !mkdtemp(dir) || !(base = event_base_new()) ||
        !(st = ab_store_open(dir, AB_DURABILITY_NORMAL, &err))) {
        test_fail(__FILE__, __LINE__, "setting up in %s: %s", dir, err.text);
        return TEST_DONE("test_monitor_tick");
    }
    win = experiment(st, &reg, "win", "{\"variants\":[\"a\",\"b\"],\"min_days\":0,"
                     "\"min_users\":100,\"webhook\":\"http://127.0.0.1:9/hook\"}");
    early = experiment(st, &reg, "early", "{\"variants\":[\"a\",\"b\"],\"min_days\":0,"
                       "\"min_users\":1000}");
    if (!win || !early) return TEST_DONE("test_monitor_tick");
    {
        ab_monitor_deps deps = {base, &reg, st, NULL, &metrics, NULL};
        CHECK_INT(ab_monitor_init(&mon, &deps), 0);
    }
    /* 5 % against 15 % over 2,000 users each: a clear winner. */
    feed(win, 0, 2000, 100, "w");
    feed(win, 1, 2000, 300, "w");
    feed(early, 0, 50, 2, "e");
    feed(early, 1, 50, 20, "e");

    ab_monitor_tick(&mon);
    CHECK_INT(win->mon[1].status, AB_ARM_BETTER);
    CHECK(win->mon[1].significant_since > 0);
    CHECK(!win->dirty && !win->mon_unsaved);
    CHECK_INT(early->mon[1].status, AB_ARM_COLLECTING);
    CHECK_INT(early->mon[1].significant_since, 0);
    CHECK(!early->dirty);
    CHECK_INT(metrics.significance, 1);
    CHECK_INT(mon.webhooks.count, 1);

    /* A read sees the same judgement and reports nothing new. */
    CHECK_INT(ab_monitor_evaluate(&mon, win, ev, 0), AB_OK);
    CHECK_INT(ev->status[1], AB_ARM_BETTER);
    CHECK_INT(ev->nnewly, 0);
    /* Nothing changed: the next tick reports nothing; more data neither. */
    ab_monitor_tick(&mon);
    CHECK_INT(metrics.significance, 1);
    feed(win, 0, 200, 10, "w2");
    feed(win, 1, 200, 30, "w2");
    ab_monitor_tick(&mon);
    CHECK_INT(metrics.significance, 1);
    CHECK_INT(win->mon[1].status, AB_ARM_BETTER);

    ab_monitor_save_all(&mon);
    ab_monitor_free(&mon);
    ab_store_close(st);

    /* What a restart would find: the state and the delivery, together. */
    memset(&s, 0, sizeof s);
    s.key = win->key;
    if (!(st = ab_store_open(dir, AB_DURABILITY_NORMAL, &err))) {
        test_fail(__FILE__, __LINE__, "reopening: %s", err.text);
    } else {
        ab_store_loader loader = {on_experiment, on_event, on_monitor};
        char want[200];
        CHECK_INT(ab_store_load(st, &loader, &s, &err), AB_STORE_OK);
        CHECK_INT(ab_store_outbox_load(st, on_delivery, &s, &err), AB_STORE_OK);
        CHECK(s.rows >= 2); /* the experiment's row and arm 1's */
        CHECK_INT(s.better_rows, 1);
        CHECK_INT(s.since, win->mon[1].significant_since);
        CHECK_INT(s.deliveries, 1);
        snprintf(want, sizeof want, "win/b/%lld", (long long)win->mon[1].significant_since);
        CHECK(!strcmp(s.delivery_id, want));
        ab_store_close(st);
    }
    ab_registry_free(&reg);
    event_base_free(base);
    free(ev);
    {
        char cmd[100];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) test_fail(__FILE__, __LINE__, "cannot remove %s", dir);
    }
    return TEST_DONE("test_monitor_tick");
}
