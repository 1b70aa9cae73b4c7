/* main_abstatd.c — the abstat daemon: options, store, replay, serve,
 * shut down cleanly (SPEC sections 1 and 9). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "abstat/stats.h"
#include "daemon.h"
#include "http.h"
#include "jsonin.h"
#include "log.h"
#include "routes.h"
#include "server.h"
#include "usertable.h"

int64_t ab_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ab_daemon daemon_state;

static void count_reply(struct evhttp_request *req, int code)
{
    ab_metrics_request(&daemon_state.metrics, ab_route_of(req), code);
}

/* ---- Replay ---------------------------------------------------------- */

/* Replay looks this many events ahead: each user's slot is prefetched
 * when its event is read and used only when it is applied, so the random
 * memory access of a large user table overlaps with reading the store. */
#define REPLAY_AHEAD 16
#define REPLAY_USER_MAX 256
#define REPLAY_ID_MAX 128

typedef struct {
    ab_event ev;
    uint64_t ukey;
    char user[REPLAY_USER_MAX + 1];
    char id[REPLAY_ID_MAX + 1];
} replay_slot;

typedef struct {
    ab_daemon *d;
    ab_live *current;   /* events arrive right after their experiment */
    double events;
    replay_slot ring[REPLAY_AHEAD];
    size_t head, count;
    int failed;
} replay_ctx;

static void replay_apply_oldest(replay_ctx *rc)
{
    replay_slot *sl = &rc->ring[rc->head];
    if (ab_state_apply_keyed(&rc->current->state, &sl->ev, sl->ukey) == AB_APPLY_NOMEM)
        rc->failed = 1;
    rc->head = (rc->head + 1) % REPLAY_AHEAD;
    rc->count--;
}

static int replay_drain(replay_ctx *rc)
{
    while (rc->count) replay_apply_oldest(rc);
    return rc->failed ? -1 : 0;
}

static int replay_experiment(void *arg, const ab_store_experiment *row)
{
    replay_ctx *rc = arg;
    ab_error err = {0, ""};
    ab_experiment_config cfg;
    json_t *doc;
    ab_live *e;

    if (replay_drain(rc)) return -1;
    rc->current = NULL;
    if (!(doc = ab_jin_parse_text(row->config, &err)) ||
        ab_experiment_parse(row->id, doc, &cfg, &err)) {
        json_decref(doc);
        ab_logerr("stored experiment %s is unreadable: %s", row->id, err.text);
        return -1;
    }
    json_decref(doc);
    if (!(e = ab_live_new(&cfg, row->key, row->stopped, row->created_ms))) {
        ab_experiment_free(&cfg);
        ab_logerr("out of memory loading experiment %s", row->id);
        return -1;
    }
    e->monitoring_since_ms = row->monitoring_since_ms;
    if (row->changes) {
        json_t *changes = ab_jin_parse_text(row->changes, &err);
        if (!json_is_array(changes)) {
            json_decref(changes);
            ab_live_free(e);
            ab_logerr("stored change history of experiment %s is unreadable", row->id);
            return -1;
        }
        json_decref(e->changes);
        e->changes = changes;
    }
    if (ab_registry_add(&rc->d->reg, e)) {
        ab_live_free(e);
        ab_logerr("out of memory loading experiment %s", row->id);
        return -1;
    }
    rc->current = e;
    return 0;
}

static int replay_event(void *arg, int64_t key, const ab_event *ev)
{
    replay_ctx *rc = arg;
    replay_slot *sl;
    if (!rc->current || rc->current->key != key || ev->user_len > REPLAY_USER_MAX ||
        (ev->id && ev->id_len > REPLAY_ID_MAX))
        return -1;
    if (ev->type == AB_EVENT_EXPOSURE &&
        (ev->variant < 0 || (size_t)ev->variant >= rc->current->cfg.k))
        return -1;
    if (rc->count == REPLAY_AHEAD) replay_apply_oldest(rc);
    if (rc->failed) return -1;
    /* The row's strings live only during this call: copy them. */
    sl = &rc->ring[(rc->head + rc->count) % REPLAY_AHEAD];
    sl->ev = *ev;
    memcpy(sl->user, ev->user, ev->user_len);
    sl->user[ev->user_len] = '\0';
    sl->ev.user = sl->user;
    if (ev->id) {
        memcpy(sl->id, ev->id, ev->id_len);
        sl->id[ev->id_len] = '\0';
        sl->ev.id = sl->id;
    }
    sl->ukey = ab_hash(sl->user, ev->user_len);
    ab_usertable_prefetch(&rc->current->state.users, sl->ukey);
    rc->count++;
    rc->events++;
    return 0;
}

static int replay_monitor(void *arg, const ab_store_monitor *m)
{
    replay_ctx *rc = arg;
    for (size_t i = 0; i < rc->d->reg.cap; i++) {
        ab_live *e = ab_registry_at(&rc->d->reg, i);
        if (!e || e->key != m->key) continue;
        if (m->arm == 0) {
            e->watch.srm_min_p = m->min_p;
            e->watch.srm_alert_since = m->status ? m->significant_since_ms : 0;
            e->watch.plan_baseline = m->lo;
            e->watch.plan_per_variant = m->hi;
        } else if ((size_t)m->arm < e->cfg.k) {
            e->mon[m->arm].min_p = m->min_p;
            e->mon[m->arm].ci.lo = m->lo;
            e->mon[m->arm].ci.hi = m->hi;
            e->mon[m->arm].status = (ab_arm_status)m->status;
            e->mon[m->arm].significant_since = m->significant_since_ms;
        }
        return 0;
    }
    return 0; /* rows of deleted experiments are harmless */
}

static int replay(ab_daemon *d)
{
    ab_error err = {0, ""};
    static replay_ctx rc; /* the ring is ~6 KiB: not on the stack */
    ab_store_loader loader = {replay_experiment, replay_event, replay_monitor};
    struct timespec t0, t1;
    double secs;

    memset(&rc, 0, sizeof rc);
    rc.d = d;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ab_store_load(d->store, &loader, &rc, &err) || replay_drain(&rc)) {
        ab_logerr("cannot rebuild state from the store: %s", err.text);
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    ab_info("replayed %.0f events of %zu experiments in %.3f s (%.0f events/s)", rc.events,
            d->reg.count, secs, secs > 0 ? rc.events / secs : 0.0);
    return 0;
}

/* ---- Start and stop -------------------------------------------------- */

static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcmp(host, "localhost")) return 1;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    FILE *fp;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
    if (!(fp = fopen(tmp, "w"))) return -1;
    if (fprintf(fp, "%d\n", port) < 0 || fclose(fp) != 0) return -1;
    /* rename: a reader never sees a half-written file */
    return rename(tmp, path);
}

static void seed_hash(void)
{
    uint8_t key[16];
    if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) {
        /* Still unique per process; weaker against deliberate flooding. */
        uint64_t t = (uint64_t)ab_now_ms() ^ ((uint64_t)getpid() << 32);
        memcpy(key, &t, 8);
        memcpy(key + 8, &t, 8);
        ab_warn("getrandom failed (%s): hash key from time and pid", strerror(errno));
    }
    ab_hash_seed(key);
}

int main(int argc, char **argv)
{
    ab_daemon *d = &daemon_state;
    ab_server srv;
    ab_error err = {0, ""};
    int rc, status = 1;

    if ((rc = ab_options_parse(argc, argv, &d->opt)) != 0) return rc > 0 ? 0 : 2;
    ab_log_set_level(d->opt.log_level);
    ab_stats_init();
    seed_hash();
    ab_registry_init(&d->reg);
    if (pthread_rwlock_init(&d->reg_lock, NULL)) return 1;
    memset(&srv, 0, sizeof srv);

    if (d->opt.tokens_file) {
        if (ab_auth_load(&d->auth, d->opt.tokens_file, &err)) {
            ab_logerr("%s", err.text);
            return 2;
        }
        ab_info("loaded %zu tokens from %s", d->auth.n, d->opt.tokens_file);
    } else if (!is_loopback(d->opt.host)) {
        if (!d->opt.insecure) {
            ab_logerr("refusing to listen on %s without --tokens: the API would be open to "
                      "anyone who can reach it (--insecure overrides)", d->opt.host);
            return 2;
        }
        ab_warn("--insecure: listening on %s WITHOUT authentication; anyone who can reach "
                "it can read and change every experiment", d->opt.host);
    }
    if (!(d->store = ab_store_open(d->opt.data_dir, d->opt.durability, &err))) {
        ab_logerr("%s", err.text);
        return 1;
    }
    if (replay(d)) goto done;
    if (ab_server_init(&srv, &err)) goto fail;
    d->base = srv.base;
    d->started_ms = ab_now_ms();
    if (ab_ingest_init(&d->ingest, d)) {
        ab_error_set(&err, 500, "cannot set up the commit event");
        goto fail;
    }
    if (ab_parse_pool_start(&d->parse_pool, d, d->opt.parse_threads)) {
        ab_error_set(&err, 500, "cannot start the parse workers");
        goto fail;
    }
    if (ab_monitor_init(&d->monitor, d)) {
        ab_error_set(&err, 500, "cannot set up the monitoring timer");
        goto fail;
    }
    ab_http_set_reply_hook(count_reply);
    {
        ab_server_limits lim = {d->opt.max_body, d->opt.max_header_bytes, d->opt.idle_timeout,
                                d->opt.max_connections};
        if (ab_server_listen(&srv, d->opt.host, d->opt.port, &lim, ab_route_request, d, &err))
            goto fail;
    }
    d->http = srv.http;
    fprintf(stderr, "abstatd listening on %s:%d\n", d->opt.host, srv.port);
    fflush(stderr);
    if (d->opt.port_file && write_port_file(d->opt.port_file, srv.port)) {
        ab_error_set(&err, 500, "cannot write %s: %s", d->opt.port_file, strerror(errno));
        goto fail;
    }
    ab_info("data in %s, durability %s, max body %zu bytes, max %d connections, idle "
            "timeout %d s, %s", d->opt.data_dir,
            d->opt.durability == AB_DURABILITY_FULL ? "full" : "normal", d->opt.max_body,
            d->opt.max_connections, d->opt.idle_timeout,
            d->auth.enabled ? "tokens required" : "open (loopback only)");

    if (ab_server_run(&srv)) ab_logerr("event loop failed");
    ab_info("signal %d: stopping; answering in-flight requests", srv.signalled);
    d->shutting_down = 1;
    ab_parse_pool_drain(&d->parse_pool); /* large bodies still being parsed */
    ab_ingest_flush(&d->ingest);
    ab_server_drain(&srv, 0.25);
    ab_ingest_flush(&d->ingest); /* anything that arrived while draining */
    ab_monitor_save_all(&d->monitor);
    status = 0;
    ab_info("stopped cleanly");
    goto done;
fail:
    ab_logerr("%s", err.text);
done:
    ab_parse_pool_stop(&d->parse_pool);
    ab_ingest_flush(&d->ingest);
    ab_monitor_free(&d->monitor);
    ab_ingest_free(&d->ingest);
    ab_server_free(&srv);
    ab_registry_free(&d->reg);
    ab_store_close(d->store);
    ab_auth_free(&d->auth);
    return status;
}
