/* monitor.c — the once-a-second evaluation timer, persistence of the
 * sequential state and significance reports. */
#include "engine/monitor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "json/jsonout.h"
#include "base/log.h"
#include "json/variants_json.h"

static int same_num(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int arm_same(const ab_monitor_arm *a, const ab_monitor_arm *b)
{
    return same_num(a->min_p, b->min_p) && same_num(a->ci.lo, b->ci.lo) &&
           same_num(a->ci.hi, b->ci.hi) && a->status == b->status &&
           a->significant_since == b->significant_since;
}

static int watch_same(const ab_monitor_exp *a, const ab_monitor_exp *b)
{
    return same_num(a->srm_min_p, b->srm_min_p) && a->srm_alert_since == b->srm_alert_since &&
           same_num(a->plan_baseline, b->plan_baseline) &&
           same_num(a->plan_per_variant, b->plan_per_variant);
}

/* The experiment's own state goes in the row of arm 0 (see store.h). */
static ab_store_monitor watch_row(const ab_live *e)
{
    ab_store_monitor row = {e->key, 0, e->watch.srm_min_p, e->watch.srm_alert_since != 0,
                            e->watch.srm_alert_since, e->watch.plan_baseline,
                            e->watch.plan_per_variant};
    return row;
}

/* Writes the monitoring rows that changed (all of them when an earlier
 * write had to wait), in a transaction of their own. While the group
 * commit's transaction is open the write waits for a later evaluation:
 * written into it, a failed commit would lose it unnoticed. */
static void persist(ab_monitor *m, ab_live *e, const ab_monitor_arm *before,
                    const ab_monitor_exp *watch_before)
{
    ab_store *st = m->deps.store;
    ab_error err = {0, ""};
    int wrote = 0;

    if (ab_store_in_transaction(st)) {
        e->mon_unsaved = 1;
        return;
    }
    if (e->mon_unsaved || !watch_same(&e->watch, watch_before)) {
        ab_store_monitor row = watch_row(e);
        if (ab_store_begin(st, &err) == 0) {
            wrote = 1;
            (void)ab_store_put_monitor(st, &row, &err);
        }
    }
    for (size_t i = 1; i < e->cfg.k && !err.text[0]; i++) {
        const ab_monitor_arm *a = &e->mon[i];
        if (!e->mon_unsaved && arm_same(a, &before[i])) continue;
        ab_store_monitor row = {e->key, (int)i, a->min_p, (int)a->status, a->significant_since,
                                a->ci.lo, a->ci.hi};
        if (!wrote && ab_store_begin(st, &err)) break;
        wrote = 1;
        if (ab_store_put_monitor(st, &row, &err)) break;
    }
    if (err.text[0]) {
        ab_logerr("storing the monitoring state of %s failed: %s", e->cfg.id, err.text);
        ab_store_rollback(st);
        e->mon_unsaved = 1;
        return;
    }
    /* A significance reported in this evaluation is stored with the state
     * that records it: no crash can keep the one and lose the other. */
    if (wrote && ab_webhooks_write_unsaved(&m->webhooks, &err)) {
        ab_logerr("storing the webhook outbox with %s failed: %s", e->cfg.id, err.text);
        ab_store_rollback(st);
        e->mon_unsaved = 1;
        return;
    }
    if (wrote && ab_store_commit(st, &err)) {
        ab_logerr("storing the monitoring state of %s failed: %s", e->cfg.id, err.text);
        e->mon_unsaved = 1;
        return;
    }
    if (wrote) ab_webhooks_mark_saved(&m->webhooks);
    e->mon_unsaved = 0;
}

void ab_monitor_save_all(ab_monitor *m)
{
    if (m->deps.ingest) ab_ingest_flush(m->deps.ingest);
    for (size_t i = 0; i < m->deps.reg->cap; i++) {
        ab_live *e = ab_registry_at(m->deps.reg, i);
        if (e && e->mon_unsaved) persist(m, e, e->mon, &e->watch);
    }
    ab_webhooks_sync(&m->webhooks);
}

static void report(ab_monitor *m, const ab_live *e, const ab_evaluation *ev, size_t arm)
{
    const ab_primary *p = &ev->res[arm].primary;
    ab_interval ci = e->mon[arm].ci;
    const char *status = ab_arm_status_name(ev->status[arm]);
    char at[40], id[AB_ID_MAX + AB_VARIANT_CELL_MAX + 48];

    ab_time_format_rfc3339(e->mon[arm].significant_since, at, sizeof at);
    /* The same significance always has the same id, so a receiver can drop
     * a repeated delivery. */
    snprintf(id, sizeof id, "%s/%s/%lld", e->cfg.id, e->cfg.names[arm],
             (long long)e->mon[arm].significant_since);
    m->deps.metrics->significance++;
    ab_info("significance reached: experiment %s variant %s is %s than %s on %s (%s): "
            "effect %+.6g [%.6g, %.6g], adjusted p %.4g",
            e->cfg.id, e->cfg.names[arm], ev->status[arm] == AB_ARM_BETTER ? "better" : "worse",
            e->cfg.names[0], ab_metric_name(e->cfg.metric), ab_method_name(e->cfg.method),
            p->effect, ci.lo, ci.hi, e->cfg.method == AB_METHOD_FIXED ? e->mon[arm].min_p
                                                                      : p->p_adjusted);
    if (e->cfg.webhook) {
        json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o}",
                                  "event", "significance_reached", "id", id, "experiment",
                                  e->cfg.id, "variant", e->cfg.names[arm], "status", status,
                                  "p_value", ab_jnum(e->cfg.method == AB_METHOD_FIXED
                                                         ? e->mon[arm].min_p : p->p_adjusted),
                                  "at", at, "metric", ab_metric_name(e->cfg.metric),
                                  "method", ab_method_name(e->cfg.method),
                                  "effect", ab_jnum(p->effect), "ci", ab_jinterval(ci),
                                  "lift", ab_jnum(p->lift), "guardrails",
                                  ab_guardrails_json(ev->guards[arm], ev->nguards),
                                  "verdict", json_string(ab_verdict_name(ev->verdict.decision)));
        char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
        json_decref(body);
        if (!text) ab_logerr("out of memory for the webhook of %s", id);
        else ab_webhook_post(&m->webhooks, e->cfg.webhook, id, text);
        free(text);
    }
}

int ab_monitor_apply_row(ab_registry *reg, const ab_store_monitor *m)
{
    for (size_t i = 0; i < reg->cap; i++) {
        ab_live *e = ab_registry_at(reg, i);
        ab_monitor_exp w;
        ab_monitor_arm a;
        if (!e || e->key != m->key) continue;
        if (m->arm == 0) {
            w = e->watch;
            w.srm_min_p = m->min_p;
            w.srm_alert_since = m->status ? m->significant_since_ms : 0;
            w.plan_baseline = m->lo;
            w.plan_per_variant = m->hi;
            if (watch_same(&w, &e->watch)) return 0;
            e->watch = w;
            return 1;
        }
        if ((size_t)m->arm >= e->cfg.k) return 0;
        a.min_p = m->min_p;
        a.ci.lo = m->lo;
        a.ci.hi = m->hi;
        a.status = (ab_arm_status)m->status;
        a.significant_since = m->significant_since_ms;
        if (arm_same(&a, &e->mon[m->arm])) return 0;
        e->mon[m->arm] = a;
        return 1;
    }
    return 0; /* rows of deleted experiments are harmless */
}

/* Several nodes: only the evaluator (ab_store_evaluator) moves the
 * monitoring state, stores it and reports; every other node answers from
 * the evaluator's stored state (refreshed each second, tick below), so
 * that every node gives the same answers for the same counts. */
static int follower(const ab_monitor *m)
{
    return ab_store_shared(m->deps.store) && !ab_store_evaluator(m->deps.store);
}

/* Unchanged counts and config give the same evaluation: the running
 * minimum cannot move, nor can any status. */
static int reuse(ab_monitor *m, ab_live *e, int read)
{
    if (e->dirty || !e->cache) return 0;
    if (read) e->read_ms = ab_now_ms(); /* a read: its cache is worth keeping */
    if (e->mon_unsaved && !follower(m)) persist(m, e, e->mon, &e->watch);
    return 1;
}

int ab_monitor_current(ab_monitor *m, ab_live *e)
{
    return reuse(m, e, 1);
}

ab_status ab_monitor_evaluate(ab_monitor *m, ab_live *e, ab_evaluation *ev, int timer)
{
    ab_monitor_arm before[AB_MAX_ARMS];
    ab_monitor_exp watch_before;
    ab_status st;

    /* Both evaluate what is counted, never waiting for a batch in flight:
     * its events are not acknowledged yet, and counting them marks the
     * experiment dirty for the next tick. (Waiting here held the loop up
     * for a commit every second.) */
    if (reuse(m, e, !timer)) {
        memcpy(ev, e->cache, sizeof *ev);
        ev->nnewly = 0;
        return AB_OK;
    }
    if (!timer) e->read_ms = ab_now_ms();
    memcpy(before, e->mon, sizeof before);
    watch_before = e->watch;
    if ((st = ab_evaluate(e, ab_now_ms(), ev)) != AB_OK) return st;
    /* The answers printed from the old evaluation are stale now. */
    ab_memory_answers_freed(m->deps.memory, ab_live_drop_answers(e));
    /* Only a read (not the timer) starts a cache, within the memory
     * account's budget; an unread one is freed by the memory sweep, so an
     * idle experiment holds none. Without a cache, !dirty still tells the
     * timer that nothing changed. */
    if (e->cache || (!timer && m->deps.memory && ab_memory_cache_admit(m->deps.memory) &&
                     (e->cache = malloc(sizeof *e->cache))))
        memcpy(e->cache, ev, sizeof *ev);
    e->dirty = 0;
    if (follower(m)) {
        /* The evaluator's state stays as stored: this evaluation only answers. */
        memcpy(e->mon, before, sizeof before);
        e->watch = watch_before;
        return AB_OK;
    }
    /* README "Monitoring, significance and webhooks": the goal phase "decision" is what gets announced, and nothing
     * while the split is wrong: its significance cannot be trusted. The
     * reports come first so that persist stores their deliveries in the
     * transaction of the state that records the significance. */
    if (e->cfg.phase == AB_PHASE_DECISION && !ev->srm_alert)
        for (size_t i = 0; i < ev->nnewly; i++) report(m, e, ev, ev->newly[i]);
    persist(m, e, before, &watch_before);
    if (ev->srm_alert && !watch_before.srm_alert_since)
        ab_warn("sample-ratio mismatch in experiment %s (anytime-valid p %.3g): its "
                   "verdict is invalid and no significance is announced until monitoring "
                   "restarts", e->cfg.id, ev->srm_p);
    return AB_OK;
}

static int refresh_row(void *ctx, const ab_store_monitor *row)
{
    ab_monitor *m = ctx;
    if (ab_monitor_apply_row(m->deps.reg, row)) {
        for (size_t i = 0; i < m->deps.reg->cap; i++) {
            ab_live *e = ab_registry_at(m->deps.reg, i);
            if (e && e->key == row->key) e->dirty = 1; /* its answers change */
        }
    }
    return 0;
}

/* Several nodes: the evaluator's stored state read again; 0, or -1. */
static int refresh(ab_monitor *m)
{
    ab_error err = {0, ""};
    if (ab_store_monitor_load(m->deps.store, refresh_row, m, &err)) {
        ab_log_ratelimited(AB_LOG_WARN, "reading the evaluator's monitoring state: %s", err.text);
        return -1;
    }
    return 0;
}

void ab_monitor_tick(ab_monitor *m)
{
    ab_evaluation *ev;
    if (ab_store_shared(m->deps.store)) {
        int lead = ab_store_evaluator(m->deps.store);
        m->deps.metrics->evaluator = lead;
        if (!lead) {
            if (m->evaluator) ab_warn("this node is no longer the evaluator (its connection "
                                      "to PostgreSQL was lost)");
            m->evaluator = 0;
            refresh(m);
            return;
        }
        if (!m->evaluator) {
            /* Taking over: from the last evaluator's stored state, and its
             * outbox's deliveries still pending are this node's to send. */
            if (refresh(m)) return;
            m->evaluator = 1;
            ab_info("this node is now the evaluator (PostgreSQL advisory lock %s)",
                    "7303003");
            ab_webhooks_replay(&m->webhooks);
        }
    }
    ev = malloc(sizeof *ev);
    if (!ev) {
        ab_logerr("out of memory for the monitoring evaluation");
        return;
    }
    for (size_t i = 0; i < m->deps.reg->cap; i++) {
        ab_live *e = ab_registry_at(m->deps.reg, i);
        ab_status st;
        if (!e || (!e->dirty && !e->mon_unsaved)) continue;
        if ((st = ab_monitor_evaluate(m, e, ev, 1)) != AB_OK)
            ab_logerr("evaluating %s failed: %s", e->cfg.id, ab_strerror(st));
    }
    free(ev);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ab_monitor_tick(arg);
}

int ab_monitor_init(ab_monitor *m, const ab_monitor_deps *deps)
{
    struct timeval second = {1, 0};
    memset(m, 0, sizeof *m);
    m->deps = *deps;
    if (ab_webhooks_init(&m->webhooks, deps->base, deps->store, deps->metrics)) return -1;
    m->timer = event_new(deps->base, -1, EV_PERSIST, tick, m);
    if (!m->timer || event_add(m->timer, &second)) return -1;
    return 0;
}

void ab_monitor_free(ab_monitor *m)
{
    if (m->timer) event_free(m->timer);
    m->timer = NULL;
    ab_webhooks_free(&m->webhooks);
}
