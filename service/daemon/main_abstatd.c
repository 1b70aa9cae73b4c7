/* main_abstatd.c — the abstat daemon: options, store, replay, serve,
 * shut down cleanly (SPEC sections 1 and 9). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "abstat/stats.h"
#include "daemon/daemon.h"
#include "http/guard.h"
#include "http/http.h"
#include "json/jsonin.h"
#include "base/log.h"
#include "api/routes.h"
#include "http/server.h"
#include "base/usertable.h"

int64_t ab_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ab_daemon daemon_state;

/* ---- Loop stall ------------------------------------------------------- */

/* A 10 ms timer that records how late it ran, less the time the kernel
 * kept the loop's thread waiting for a CPU (its schedstat run delay, when
 * the kernel keeps one): the longest the loop was held up by its own work
 * or a blocking call, however loaded the machine
 * (abstat_loop_stall_max_seconds). */
#define STALL_PERIOD_NS 10000000LL

static struct event *stall_timer;
static int64_t stall_last_ns, stall_last_wait_ns, stall_logged_ns = -60000000000LL;
static int stall_sched_fd = -1;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Nanoseconds this thread has waited on a run queue; 0 when unknown. */
static int64_t run_wait_ns(void)
{
    char buf[128];
    ssize_t n;
    long long cpu, wait;
    if (stall_sched_fd < 0 || (n = pread(stall_sched_fd, buf, sizeof buf - 1, 0)) <= 0) return 0;
    buf[n] = '\0';
    return sscanf(buf, "%lld %lld", &cpu, &wait) == 2 ? (int64_t)wait : 0;
}

static void stall_cb(evutil_socket_t fd, short what, void *arg)
{
    ab_daemon *d = arg;
    int64_t now = mono_ns(), wait = run_wait_ns();
    int64_t late = now - stall_last_ns - STALL_PERIOD_NS - (wait - stall_last_wait_ns);
    (void)fd;
    (void)what;
    if (late > 0 && (double)late * 1e-9 > d->metrics.loop_stall_max)
        d->metrics.loop_stall_max = (double)late * 1e-9;
    /* Worth an operator's attention: at most one line a minute. */
    if (late > 50000000LL && now - stall_logged_ns > 60000000000LL) {
        stall_logged_ns = now;
        ab_warn("event loop held up for %.0f ms (every request waited that long)",
                (double)late * 1e-6);
    }
    stall_last_ns = now;
    stall_last_wait_ns = wait;
}

static int stall_start(ab_daemon *d)
{
    struct timeval period = {0, STALL_PERIOD_NS / 1000};
    if (!(stall_timer = event_new(d->base, -1, EV_PERSIST, stall_cb, d))) return -1;
    stall_sched_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    stall_last_wait_ns = run_wait_ns();
    stall_last_ns = mono_ns();
    return event_add(stall_timer, &period);
}

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

/* ---- Start, reload and stop ------------------------------------------ */

/* libevent's own warnings go into the same log, in the same format. */
static void libevent_log(int severity, const char *msg)
{
    ab_log_level level = severity == EVENT_LOG_DEBUG ? AB_LOG_DEBUG
                         : severity == EVENT_LOG_MSG ? AB_LOG_INFO
                         : severity == EVENT_LOG_WARN ? AB_LOG_WARN : AB_LOG_ERROR;
    ab_log_ratelimited(level, "libevent: %s", msg);
}

/* SIGHUP (on the loop): the log file first, so that what the reload says
 * lands in the new one; then the tokens, all or nothing. */
static void reload(void *arg)
{
    ab_daemon *d = arg;
    ab_error err = {0, ""};
    if (d->opt.log_file) {
        if (ab_log_open_file(d->opt.log_file))
            ab_logerr("SIGHUP: cannot reopen --log-file %s (%s): logging on where it went before",
                      d->opt.log_file, strerror(errno));
        else
            ab_info("SIGHUP: log file %s reopened", d->opt.log_file);
    }
    if (!d->opt.tokens_file) return;
    if (ab_auth_reload(&d->auth, d->opt.tokens_file, &err))
        ab_logerr("SIGHUP: tokens not reloaded, the %zu loaded before stay in force: %s",
                  d->auth.n, err.text);
    else
        ab_info("SIGHUP: loaded %zu tokens from %s", d->auth.n, d->opt.tokens_file);
}

static int drained(void *arg)
{
    (void)arg;
    return ab_guard_in_flight() == 0;
}

/* Time the last answers get to reach their clients, and requests that
 * were complete at the drain deadline to be served. */
#define FINAL_DRAIN_SECONDS 2.0

/* SIGTERM or SIGINT. The listener closes at once; every request that had
 * begun to arrive is served (guard.c answers later ones 503); bodies still
 * arriving get --drain-timeout to complete, then their connections close
 * unanswered, nothing of them stored. Whatever was accepted is committed
 * before the exit. */
static void stop(ab_daemon *d, ab_server *srv)
{
    int sig = srv->signalled;
    size_t waiting;

    ab_server_close_listener(srv);
    d->shutting_down = 1;
    waiting = ab_guard_stop();
    ab_info("signal %d (%s): stopping; no new connections; answering %zu requests in flight "
            "(bodies still arriving get %d s, --drain-timeout)", sig, strsignal(sig), waiting,
            d->opt.drain_timeout);
    if (!ab_server_drain(srv, d->opt.drain_timeout, drained, d)) {
        size_t cut;
        if (srv->signalled)
            ab_warn("signal %d again: not waiting for request bodies any longer",
                    srv->signalled);
        if ((cut = ab_guard_cut()))
            ab_warn("%zu requests had not finished sending their body: closed unanswered, "
                    "nothing of them stored", cut);
    }
    ab_parse_pool_drain(&d->parse_pool); /* large bodies still being parsed */
    ab_ingest_flush(&d->ingest);
    ab_server_drain(srv, FINAL_DRAIN_SECONDS, drained, d);
    if (ab_guard_in_flight())
        ab_warn("%zu answers could not be delivered before the exit", ab_guard_in_flight());
    ab_parse_pool_drain(&d->parse_pool);
    ab_ingest_flush(&d->ingest); /* anything that arrived while draining */
}

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
    ab_log_set_format(d->opt.log_format);
    if (d->opt.log_file && ab_log_open_file(d->opt.log_file)) {
        fprintf(stderr, "abstatd: --log-file %s: %s\n", d->opt.log_file, strerror(errno));
        return 2;
    }
    event_set_log_callback(libevent_log);
    /* Until the loop handles it: a logrotate during a long replay must not
     * kill the daemon (SIGHUP's default action). */
    signal(SIGHUP, SIG_IGN);
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
    /* The fixed part of the memory account: before any experiment. */
    ab_memory_measure_base(&d->memory);
    ab_store_set_recover(d->store, d->opt.recover);
    if (replay(d)) goto done;
    {
        const ab_store_integrity *in = ab_store_integrity_of(d->store);
        d->metrics.store_lost_events = in->lost_events;
        d->metrics.store_lost_commits = in->lost_commits;
        d->metrics.store_corrupt_rows = in->corrupt_rows;
        d->metrics.store_recovered = in->recovered;
    }
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
    {
        char why[1400] = "--max-memory";
        size_t limit = d->opt.max_memory ? d->opt.max_memory
                                         : ab_memory_default_limit(why, sizeof why);
        if (ab_memory_start(&d->memory, d, limit)) {
            ab_error_set(&err, 500, "cannot set up the memory sweep");
            goto fail;
        }
        ab_info("memory: limit %zu bytes (%s); %zu in use after loading", limit, why,
                ab_memory_used(&d->memory));
    }
    ab_http_set_reply_hook(count_reply);
    {
        ab_server_limits lim;
        memset(&lim, 0, sizeof lim);
        lim.max_body = d->opt.max_body;
        lim.max_header_bytes = d->opt.max_header_bytes;
        lim.idle_timeout = d->opt.idle_timeout;
        lim.max_connections = d->opt.max_connections;
        lim.max_headers = d->opt.max_headers;
        lim.max_pending = d->opt.max_pending;
        lim.header_timeout_ms = d->opt.header_timeout * 1000;
        lim.admit = ab_route_admit;
        lim.admit_arg = d;
        if (ab_server_listen(&srv, d->opt.host, d->opt.port, &lim, ab_route_request, d, &err))
            goto fail;
    }
    d->http = srv.http;
    ab_server_set_reload(&srv, reload, d);
    /* Scripts look for this line; in JSON it is a log line like the rest. */
    if (d->opt.log_format == AB_LOG_JSON) {
        ab_info("abstatd listening on %s:%d", d->opt.host, srv.port);
    } else {
        fprintf(stderr, "abstatd listening on %s:%d\n", d->opt.host, srv.port);
        fflush(stderr);
    }
    if (d->opt.port_file && write_port_file(d->opt.port_file, srv.port)) {
        ab_error_set(&err, 500, "cannot write %s: %s", d->opt.port_file, strerror(errno));
        goto fail;
    }
    ab_info("data in %s, durability %s, max body %zu bytes, max %d connections, idle "
            "timeout %d s, %s", d->opt.data_dir,
            d->opt.durability == AB_DURABILITY_FULL ? "full" : "normal", d->opt.max_body,
            d->opt.max_connections, d->opt.idle_timeout,
            d->auth.enabled ? "tokens required" : "open (loopback only)");

    /* Deliveries stored before this start (a stop, a crash) go out again. */
    ab_webhooks_replay(&d->monitor.webhooks);
    if (stall_start(d)) ab_warn("cannot start the loop-stall timer");
    if (ab_server_run(&srv)) ab_logerr("event loop failed");
    stop(d, &srv);
    ab_monitor_save_all(&d->monitor);
    status = 0;
    ab_info("stopped cleanly");
    goto done;
fail:
    ab_logerr("%s", err.text);
done:
    ab_parse_pool_stop(&d->parse_pool);
    ab_ingest_flush(&d->ingest);
    if (stall_timer) event_free(stall_timer);
    stall_timer = NULL;
    if (stall_sched_fd >= 0) close(stall_sched_fd);
    ab_monitor_free(&d->monitor);
    ab_memory_free(&d->memory);
    ab_ingest_free(&d->ingest);
    ab_server_free(&srv);
    ab_registry_free(&d->reg);
    ab_store_close(d->store);
    ab_auth_free(&d->auth);
    return status;
}
