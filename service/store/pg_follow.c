/* pg_follow.c — several nodes on one database: reading the shared log (events and configuration changes) in seq order. */
#include "store/pg_impl.h"

#include <stdlib.h>
#include <string.h>

/* Why this gives every node the same order (README "Architecture",
 * several nodes): every writer takes the single row of abstat_log_head
 * and keeps its lock until COMMIT (pg_write.c), so seq order is commit
 * order, and the lock is granted to the next writer only after the last
 * one's commit is visible. A snapshot that sees seq s therefore sees
 * every seq below it: reading "seq > applied" never skips an item that
 * becomes visible later. Deleted rows leave gaps, but a deletion's own
 * item follows them, so nothing that was read would have counted. */

static int64_t be64(const char *s)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | (unsigned char)s[i];
    return (int64_t)v;
}

static int32_t be32(const char *s)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = v << 8 | (unsigned char)s[i];
    return (int32_t)v;
}

static int64_t col64(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) || PQgetlength(r, i, c) != 8 ? 0 : be64(PQgetvalue(r, i, c));
}

static int32_t col32(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) || PQgetlength(r, i, c) != 4 ? 0 : be32(PQgetvalue(r, i, c));
}

static const char *text(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

static int own_change(ab_pg *p, int64_t seq);

ab_store_status ab_pg_feed_parse(ab_pg *p, const PGresult *r, ab_store_feed *out, int64_t *last,
                                 ab_error *err)
{
    if (PQnfields(r) != 10)
        return ab_store_fail(err, AB_STORE_INTERNAL, "store: follow the log: %d columns",
                             PQnfields(r));
    for (int i = 0; i < PQntuples(r); i++) {
        ab_store_feed_item it;
        ab_store_experiment e;
        ab_store_status kind;
        int op = col32(r, i, 2);
        memset(&it, 0, sizeof it);
        it.seq = col64(r, i, 0);
        it.key = col64(r, i, 1);
        if (op == 0) {
            it.kind = AB_FEED_EVENTS;
            it.row = (const unsigned char *)PQgetvalue(r, i, 3);
            it.len = (size_t)PQgetlength(r, i, 3);
        } else if (op == 1) {
            it.kind = AB_FEED_EXPERIMENT;
            e.key = it.key;
            e.id = text(r, i, 4);
            e.config = text(r, i, 5);
            e.stopped = col32(r, i, 6);
            e.created_ms = col64(r, i, 7);
            e.monitoring_since_ms = col64(r, i, 8);
            e.changes = text(r, i, 9);
            if (!e.id || !e.config)
                return ab_store_fail(err, AB_STORE_CORRUPT, "store: follow the log: change "
                                     "seq %lld has no experiment row", (long long)it.seq);
            it.exp = &e;
        } else {
            it.kind = AB_FEED_DELETE;
        }
        if (it.kind != AB_FEED_EVENTS && own_change(p, it.seq)) {
            *last = it.seq;
            continue;
        }
        if ((kind = ab_store_feed_add(out, &it, err))) return kind;
        *last = it.seq;
    }
    return AB_STORE_OK;
}

/* Items read per query when idle; a full read is followed at once by the next. */
#define FOLLOW_LIMIT 4096

/* 1 when another node notified since the last look (a local read of what
 * the socket holds, no round trip). */
static int notified(ab_pg *p)
{
    PGnotify *n;
    int any = 0;
    if (!p->conn || p->broken || PQstatus(p->conn) != CONNECTION_OK) return 0;
    if (!PQconsumeInput(p->conn)) return 0;
    while ((n = PQnotifies(p->conn))) {
        any = 1;
        PQfreemem(n);
    }
    return any;
}

int ab_pg_evaluator(const void *be)
{
    const ab_pg *p = be;
    return __atomic_load_n(&p->leader, __ATOMIC_ACQUIRE);
}

/* Tries the evaluator lock (at most every AB_STORE_LEAD_TRY_MS). */
static void try_lead(ab_pg *p)
{
    PGresult *r = NULL;
    int64_t now = ab_pg_now_ms();
    if (p->leader || now - p->lead_tried_ms < AB_STORE_LEAD_TRY_MS) return;
    p->lead_tried_ms = now;
    if (!p->conn || p->broken || PQstatus(p->conn) != CONNECTION_OK) return;
    if (ab_pg_query(p, "take the evaluator lock", "SELECT pg_try_advisory_lock("
                    AB_PG_EVALUATOR_LOCK ")", 0, NULL, NULL, NULL, 0, &r, NULL))
        return;
    if (PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t"))
        __atomic_store_n(&p->leader, 1, __ATOMIC_RELEASE);
    PQclear(r);
}

ab_store_status ab_pg_follow(void *be, int poll, ab_store_feed *out, ab_error *err)
{
    ab_pg *p = be;
    PGresult *r = NULL;
    ab_store_status kind;
    char a[24], lim[24];
    const char *v[3];
    int fmts[3] = {0, 0, 0};
    int64_t now = ab_pg_now_ms(), last;
    ab_store_feed_move(out, &p->got);
    if (p->in_tx || !p->loaded) return AB_STORE_OK;
    /* A connection lost since makes the lock lost too. */
    if (p->leader && (p->broken || !p->conn || PQstatus(p->conn) != CONNECTION_OK))
        __atomic_store_n(&p->leader, 0, __ATOMIC_RELEASE);
    try_lead(p);
    if (!poll) return AB_STORE_OK;
    if (!notified(p) && !p->more && now - p->polled_ms < AB_STORE_FOLLOW_POLL_MS)
        return AB_STORE_OK;
    p->polled_ms = now;
    if ((kind = ab_pg_ready(p, err))) return kind;
    v[0] = ab_pg_i64(a, p->applied);
    v[1] = "9223372036854775807";
    v[2] = ab_pg_i64(lim, FOLLOW_LIMIT);
    if ((kind = ab_pg_query(p, "follow the log", AB_PG_FEED_SQL, 3, v, NULL, fmts, 1, &r, err)))
        return kind;
    last = p->applied;
    kind = ab_pg_feed_parse(p, r, out, &last, err);
    p->more = kind == AB_STORE_OK && PQntuples(r) == FOLLOW_LIMIT;
    PQclear(r);
    /* Items copied before a failure are handed on; the rest is read again. */
    p->applied = last;
    return kind;
}

ab_store_status ab_pg_take_seq(ab_pg *p, int64_t *seq, ab_error *err)
{
    PGresult *r = NULL;
    ab_store_status kind = ab_pg_query(p, "take the log position", "UPDATE abstat_log_head SET "
                                       "seq = seq + 1 RETURNING seq", 0, NULL, NULL, NULL, 0, &r,
                                       err);
    if (kind) return kind;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ab_store_fail(err, AB_STORE_CORRUPT, "store: the log head row (abstat_log_head) "
                             "is missing");
    }
    *seq = ab_pg_get_i64(r, 0, 0);
    PQclear(r);
    /* Not noted (more than fit): it comes back and is applied again, which
     * is harmless but for the moment described at own_tx. */
    if (p->nown_tx < sizeof p->own_tx / sizeof p->own_tx[0]) p->own_tx[p->nown_tx++] = *seq;
    return AB_STORE_OK;
}

void ab_pg_own_settle(ab_pg *p, int committed)
{
    for (size_t i = 0; committed && i < p->nown_tx; i++)
        if (p->nown < sizeof p->own / sizeof p->own[0]) p->own[p->nown++] = p->own_tx[i];
    p->nown_tx = 0;
}

/* 1 (and forgotten) when seq is one of this node's own committed changes. */
static int own_change(ab_pg *p, int64_t seq)
{
    for (size_t i = 0; i < p->nown; i++)
        if (p->own[i] == seq) {
            p->own[i] = p->own[--p->nown];
            return 1;
        }
    return 0;
}
