/* main_abstatd.c — the abstat daemon: options, store, replay, serve, shut
 * down cleanly (README "Configuration" and "Storage and durability, Security"); what each part gets is wired here. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abstat/stats.h"
#include "daemon/daemon.h"
#include "daemon/process.h"
#include "daemon/replay.h"
#include "http/guard.h"
#include "http/server.h"
#include "json/jsonout.h"
#include "json/scratch.h"
#include "base/log.h"

static ab_daemon daemon_state;

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
    d->api.shutting_down = 1;
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

/* The handlers' view of the daemon: pointers into it, and the options
 * they read. */
static int api_init(ab_daemon *d)
{
    ab_api *api = &d->api;
    api->reg = &d->reg;
    api->ingest = &d->ingest;
    api->monitor = &d->monitor;
    api->metrics = &d->metrics;
    api->memory = &d->memory;
    api->parse_pool = &d->parse_pool;
    api->auth = &d->auth;
    api->cors_origin = d->opt.cors_origin;
    api->max_batch = d->opt.max_batch;
    return ab_api_init(api);
}

/* The tokens, or the refusal to serve a reachable address without them.
 * 0, or the exit status. */
static int auth_setup(ab_daemon *d)
{
    ab_error err = {0, ""};
    if (d->opt.tokens_file) {
        if (ab_auth_load(&d->auth, d->opt.tokens_file, &err)) {
            ab_logerr("%s", err.text);
            return 2;
        }
        ab_info("loaded %zu tokens from %s", d->auth.n, d->opt.tokens_file);
    } else if (!ab_process_is_loopback(d->opt.host)) {
        if (!d->opt.insecure) {
            ab_logerr("refusing to listen on %s without --tokens: the API would be open to "
                      "anyone who can reach it (--insecure overrides)", d->opt.host);
            return 2;
        }
        ab_warn("--insecure: listening on %s WITHOUT authentication; anyone who can reach "
                "it can read and change every experiment", d->opt.host);
    }
    return 0;
}

/* How far engines_start got: engines_stop undoes exactly that (each
 * part's free also cleans up after its own failed start). */
enum { UP_NONE, UP_INGEST, UP_POOL, UP_MONITOR, UP_MEMORY };

/* The subsystems on the loop, each given what it works on. 0, or -1 with
 * err set. */
static int engines_start(ab_daemon *d, int *up, ab_error *err)
{
    char why[1400] = "--max-memory";
    size_t limit;
    ab_ingest_deps ingest = {d->base, d->store, &d->memory, &d->metrics};
    ab_monitor_deps deps = {d->base, &d->reg, d->store, &d->ingest, &d->metrics, &d->memory};

    /* Before any event is added: ingest commits at the lowest priority. */
    if (event_base_priority_init(d->base, AB_INGEST_PRIORITIES))
        return ab_error_set(err, 500, "cannot set the event loop's priorities");
    *up = UP_INGEST;
    if (ab_ingest_init(&d->ingest, &ingest))
        return ab_error_set(err, 500, "cannot set up the commit event");
    /* Several nodes: what the others commit is counted here too, in the
     * store's order (README "Architecture"). */
    if (ab_store_shared(d->store)) {
        ab_ingest_follower f = ab_api_follower(&d->api);
        ab_ingest_follow(&d->ingest, &f);
    }
    *up = UP_POOL;
    if (ab_parse_pool_start(&d->parse_pool, d->base, d->opt.parse_threads, ab_api_parse_work,
                            ab_api_parse_done, &d->api))
        return ab_error_set(err, 500, "cannot start the parse workers");
    *up = UP_MONITOR;
    if (ab_monitor_init(&d->monitor, &deps))
        return ab_error_set(err, 500, "cannot set up the monitoring timer");
    *up = UP_MEMORY;
    limit = d->opt.max_memory ? d->opt.max_memory : ab_memory_default_limit(why, sizeof why);
    if (ab_memory_start(&d->memory, d->base, &d->reg, ab_ingest_inflight_bytes, limit))
        return ab_error_set(err, 500, "cannot set up the memory sweep");
    ab_info("memory: limit %zu bytes (%s); %zu in use after loading", limit, why,
            ab_memory_used(&d->memory));
    return 0;
}

/* Parse jobs still queued are completed (into ingest), then everything
 * accepted is committed and counted before the parts go. */
static void engines_stop(ab_daemon *d, int up)
{
    if (up >= UP_POOL) ab_parse_pool_stop(&d->parse_pool);
    if (up >= UP_POOL) ab_ingest_flush(&d->ingest);
    if (up >= UP_MONITOR) ab_monitor_free(&d->monitor);
    if (up >= UP_MEMORY) ab_memory_free(&d->memory);
    if (up >= UP_INGEST) ab_ingest_free(&d->ingest);
}

/* Binds the listener with the limits of the options, and says where. 0,
 * or -1 with err set. */
static int serve_setup(ab_daemon *d, ab_server *srv, ab_error *err)
{
    char where[600] = "PostgreSQL ";
    ab_server_limits lim;
    memset(&lim, 0, sizeof lim);
    lim.max_body = d->opt.max_body;
    lim.max_header_bytes = d->opt.max_header_bytes;
    lim.idle_timeout = d->opt.idle_timeout;
    lim.max_connections = d->opt.max_connections;
    lim.max_headers = d->opt.max_headers;
    lim.max_pending = d->opt.max_pending;
    lim.header_timeout_ms = d->opt.header_timeout * 1000;
    lim.admit = ab_api_admit;
    lim.admit_arg = &d->api;
    if (ab_server_listen(srv, d->opt.host, d->opt.port, &lim, ab_api_request, &d->api, err))
        return -1;
    ab_server_set_reload(srv, reload, d);
    /* Scripts look for this line; in JSON it is a log line like the rest. */
    if (d->opt.log_format == AB_LOG_JSON) {
        ab_info("abstatd listening on %s:%d", d->opt.host, srv->port);
    } else {
        fprintf(stderr, "abstatd listening on %s:%d\n", d->opt.host, srv->port);
        fflush(stderr);
    }
    if (d->opt.port_file && ab_process_write_port_file(d->opt.port_file, srv->port))
        return ab_error_set(err, 500, "cannot write %s: %s", d->opt.port_file, strerror(errno));
    /* The connection string's password never reaches the log (README
     * "Security"). */
    if (d->opt.store_url)
        ab_store_where_safe(d->opt.store_url, where + strlen("PostgreSQL "),
                            sizeof where - strlen("PostgreSQL "));
    ab_info("data in %s, durability %s, max body %zu bytes, max %d connections, idle "
            "timeout %d s, %s", d->opt.store_url ? where : d->opt.data_dir,
            d->opt.durability == AB_DURABILITY_FULL ? "full" : "normal", d->opt.max_body,
            d->opt.max_connections, d->opt.idle_timeout,
            d->auth.enabled ? "tokens required" : "open (loopback only)");
    return 0;
}

int main(int argc, char **argv)
{
    ab_daemon *d = &daemon_state;
    ab_server srv;
    ab_error err = {0, ""};
    int rc, status = 1, stalling = 0, up = UP_NONE;

    /* Before any JSON value exists (json/scratch.h). */
    ab_json_alloc_install();
    if ((rc = ab_options_parse(argc, argv, &d->opt)) != 0) return rc > 0 ? 0 : 2;
    ab_log_set_level(d->opt.log_level);
    ab_log_set_format(d->opt.log_format);
    if (d->opt.log_file && ab_log_open_file(d->opt.log_file)) {
        fprintf(stderr, "abstatd: --log-file %s: %s\n", d->opt.log_file, strerror(errno));
        return 2;
    }
    ab_process_log_libevent();
    /* Until the loop handles it: a logrotate during a long replay must not
     * kill the daemon (SIGHUP's default action). */
    signal(SIGHUP, SIG_IGN);
    ab_stats_init();
    ab_process_seed_hash();
    ab_registry_init(&d->reg);
    ab_live_changes_free(ab_json_release);
    memset(&srv, 0, sizeof srv);
    /* First: it names the metrics' routes (and zeroes the counters). */
    if (api_init(d)) {
        ab_logerr("out of memory setting up the API");
        return 1;
    }
    if ((rc = auth_setup(d)) != 0) return rc;
    /* --store is PostgreSQL, --data SQLite (README "Storage and
     * durability"); a --data directory named like a URI stays a directory. */
    d->store = d->opt.store_url ? ab_store_open_where(d->opt.store_url, d->opt.durability, &err)
                                : ab_store_open(d->opt.data_dir, d->opt.durability, &err);
    if (!d->store) {
        /* The store scrubs its messages; this is the last line of defence
         * for a password (README "Security"). */
        if (d->opt.store_url) ab_store_scrub(d->opt.store_url, err.text, sizeof err.text);
        ab_logerr("%s", err.text);
        return 1;
    }
    d->api.store = d->store;
    d->metrics.evaluator = !ab_store_shared(d->store); /* shared: the monitor's tick says */
    /* The fixed part of the memory account: before any experiment. */
    ab_memory_measure_base(&d->memory);
    ab_store_set_recover(d->store, d->opt.recover);
    if (ab_replay(&d->reg, d->store)) goto done;
    {
        const ab_store_integrity *in = ab_store_integrity_of(d->store);
        d->metrics.store_lost_events = in->lost_events;
        d->metrics.store_lost_commits = in->lost_commits;
        d->metrics.store_corrupt_rows = in->corrupt_rows;
        d->metrics.store_recovered = in->recovered;
    }
    if (ab_server_init(&srv, &err)) goto fail;
    d->base = srv.base;
    if (engines_start(d, &up, &err) || serve_setup(d, &srv, &err)) goto fail;

    /* Deliveries stored before this start (a stop, a crash) go out again;
     * on a shared store they are the evaluator's, once it is (monitor.c). */
    if (!ab_store_shared(d->store)) ab_webhooks_replay(&d->monitor.webhooks);
    stalling = 1;
    if (ab_stall_start(&d->stall, d->base, &d->metrics)) ab_warn("cannot start the loop-stall timer");
    /* After the replay (throughput) and the threads' start (they keep
     * the default slice): from here the loop serves requests. */
    if (ab_process_prefer_latency())
        ab_debug("no short time slice for the event loop: %s", strerror(errno));
    if (ab_server_run(&srv)) ab_logerr("event loop failed");
    stop(d, &srv);
    ab_monitor_save_all(&d->monitor);
    status = 0;
    ab_info("stopped cleanly");
    goto done;
fail:
    ab_logerr("%s", err.text);
done:
    if (stalling) ab_stall_stop(&d->stall);
    engines_stop(d, up);
    ab_server_free(&srv);
    ab_registry_free(&d->reg);
    ab_store_close(d->store);
    ab_auth_free(&d->auth);
    ab_api_free(&d->api);
    return status;
}
