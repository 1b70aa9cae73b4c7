/* memory.c — the daemon's memory account and its limit (see memory.h). */
#include "engine/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "core/evaluate.h"
#include "http/http.h"
#include "store/store.h"

/* An evaluation cache not read for this long is freed: an idle experiment
 * holds none (an evaluation is ~110 KB, README "Storage and durability, Security" allows 8 KB when idle). */
#define CACHE_IDLE_MS 10000

/* ---- The default limit ------------------------------------------------ */

/* The first number in a file, or 0 when unreadable; "max" reads as 0. */
static size_t read_number(const char *path)
{
    char buf[64];
    FILE *fp = fopen(path, "r");
    size_t n;
    unsigned long long v;
    if (!fp) return 0;
    n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    if (sscanf(buf, "%llu", &v) != 1) return 0;
    return (size_t)v;
}

/* The memory limit of this process's cgroup (v2, then v1), 0 when none. */
static size_t cgroup_limit(char *path, size_t size)
{
    char line[512], own[512] = "", own_v1[512] = "";
    FILE *fp = fopen("/proc/self/cgroup", "r");
    size_t v;
    if (fp) {
        while (fgets(line, sizeof line, fp)) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = '\0';
            if (!strncmp(line, "0::", 3)) snprintf(own, sizeof own, "%s", line + 3);
            else if (strstr(line, ":memory:"))
                snprintf(own_v1, sizeof own_v1, "%s", strstr(line, ":memory:") + 8);
        }
        fclose(fp);
    }
    const char *tries[4][2] = {{"/sys/fs/cgroup", own}, {"/sys/fs/cgroup", ""},
                               {"/sys/fs/cgroup/memory", own_v1},
                               {"/sys/fs/cgroup/memory", ""}};
    for (size_t i = 0; i < 4; i++) {
        if (i % 2 == 0 && !tries[i][1][0]) continue;
        snprintf(path, size, "%s%s/%s", tries[i][0], strcmp(tries[i][1], "/") ? tries[i][1] : "",
                 i < 2 ? "memory.max" : "memory.limit_in_bytes");
        /* v1 says "no limit" with a number near 2^63. */
        if ((v = read_number(path)) > 0 && v < ((size_t)1 << 50)) return v;
    }
    return 0;
}

size_t ab_memory_default_limit(char *why, size_t why_size)
{
    char path[1200];
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t ram = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)1 << 30;
    size_t cg = cgroup_limit(path, sizeof path), total = cg && cg < ram ? cg : ram;
    size_t margin = total / 10;
    if (margin < (size_t)64 << 20) margin = (size_t)64 << 20;
    if (margin > total / 2) margin = total / 2;
    if (why)
        snprintf(why, why_size, "%s %zu bytes less a margin of %zu", cg && cg < ram ? path
                 : "the machine's RAM", total, margin);
    return total - margin;
}

size_t ab_memory_rss(void)
{
    unsigned long long size, resident;
    FILE *fp = fopen("/proc/self/statm", "r");
    long page = sysconf(_SC_PAGESIZE);
    int ok;
    if (!fp) return 0;
    ok = fscanf(fp, "%llu %llu", &size, &resident) == 2;
    fclose(fp);
    return ok && page > 0 ? (size_t)resident * (size_t)page : 0;
}

/* ---- The account ------------------------------------------------------- */

void ab_memory_measure_base(ab_memory *m)
{
    size_t rss = ab_memory_rss(), sq = ab_store_memory_bytes(NULL);
    m->base = rss > sq ? rss - sq : rss;
}

/* What one experiment holds besides its tables: its ab_live, config
 * strings, history and the store's statement for it (an estimate; SQLite's
 * schema is in ab_store_memory_bytes). */
#define PER_EXPERIMENT (sizeof(ab_live) + 512)

size_t ab_memory_used(const ab_memory *m)
{
    return m->base + m->state + (m->inflight ? m->inflight() : 0) +
           m->caches * sizeof(ab_evaluation) + m->answers + (m->reg ? m->reg->count * PER_EXPERIMENT : 0) +
           ab_store_memory_bytes(NULL);
}

int ab_memory_fits(const ab_memory *m, size_t extra)
{
    size_t used = ab_memory_used(m);
    return extra <= m->limit && used <= m->limit - extra;
}

static void recount(ab_memory *m, int sweep)
{
    ab_registry *r = m->reg;
    int64_t now = ab_now_ms();
    size_t state = 0, caches = 0, answers = 0, headroom = 0;
    for (size_t i = 0; i < r->cap; i++) {
        ab_live *e = ab_registry_at(r, i);
        size_t g;
        if (!e) continue;
        state += ab_state_bytes(&e->state);
        if (e->cache && sweep && now - e->read_ms > CACHE_IDLE_MS) {
            free(e->cache);
            e->cache = NULL;
            ab_live_drop_answers(e);
        }
        caches += e->cache != NULL;
        answers += e->answer_len[0] + e->answer_len[1];
        /* What one more user, id and value would need now. */
        if (!e->stopped && (g = ab_state_reserve_cost(&e->state, 1, 1, 1)) != SIZE_MAX &&
            g > headroom)
            headroom = g;
    }
    m->state = state;
    m->caches = caches;
    m->answers = answers;
    m->headroom = headroom;
    if (sweep) m->rss = ab_memory_rss();
    int was = m->full;
    /* Full: a request was refused since the last look, or the largest next
     * growth would not fit. */
    m->full = (sweep && m->refused_recently) || !ab_memory_fits(m, headroom);
    m->refused_recently = 0;
    if (was && !m->full)
        ab_info("memory: %zu of %zu bytes in use, accepting events again", ab_memory_used(m),
                m->limit);
}

void ab_memory_recount(ab_memory *m)
{
    recount(m, 0);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    recount(arg, 1);
}

int ab_memory_start(ab_memory *m, struct event_base *base, ab_registry *reg,
                    ab_memory_inflight_fn inflight, size_t limit)
{
    struct timeval second = {1, 0};
    m->reg = reg;
    m->inflight = inflight;
    m->limit = limit;
    m->cache_max = limit / 32 / sizeof(ab_evaluation);
    if (m->cache_max < 16) m->cache_max = 16;
    recount(m, 0);
    m->rss = ab_memory_rss();
    if (!ab_memory_fits(m, 0))
        ab_warn("memory: the stored experiments take %zu bytes, over --max-memory %zu: new "
                "events are refused until experiments are deleted or the limit raised",
                ab_memory_used(m), m->limit);
    m->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, m);
    if (!m->sweep || event_add(m->sweep, &second)) return -1;
    return 0;
}

void ab_memory_free(ab_memory *m)
{
    if (m->sweep) event_free(m->sweep);
    m->sweep = NULL;
}

void ab_memory_refuse(ab_memory *m, struct evhttp_request *req, const char *what)
{
    char secs[16];
    size_t used = ab_memory_used(m);
    if (!m->full)
        ab_warn("memory: %zu of %zu bytes in use: refusing new events (503) until there is "
                "room", used, m->limit);
    m->full = 1;
    m->refused_recently = 1;
    m->refused++;
    snprintf(secs, sizeof secs, "%d", AB_MEMORY_RETRY_AFTER);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", secs);
    ab_http_error(req, 503, "not enough memory to count these events (%zu bytes in use, "
                            "limit %zu): %s; nothing was stored, retry later",
                  used, m->limit, what);
}

int ab_memory_cache_admit(ab_memory *m)
{
    if (m->caches >= m->cache_max) return 0;
    m->caches++;
    return 1;
}

int ab_memory_answer_admit(ab_memory *m, size_t len)
{
    if (!m || !ab_memory_fits(m, len)) return 0;
    m->answers += len;
    return 1;
}

void ab_memory_answers_freed(ab_memory *m, size_t len)
{
    if (m) m->answers = len < m->answers ? m->answers - len : 0;
}
