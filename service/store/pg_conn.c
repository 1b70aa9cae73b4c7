/* pg_conn.c — the PostgreSQL backend's connection: (re)connecting, error kinds, queries with a deadline. */
#include "store/pg_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t ab_pg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *ab_pg_i64(char *buf, int64_t v)
{
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

int64_t ab_pg_get_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* NOTICEs (CREATE TABLE IF NOT EXISTS ... skipping) are not errors. But
 * the FATAL a server sends an idle connection as it goes away (57P01 on
 * a shutdown) arrives this way too: the connection is done. */
static void notice(void *arg, const PGresult *r)
{
    ab_pg *p = arg;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && (!strcmp(sev, "FATAL") || !strcmp(sev, "PANIC"))) p->broken = 1;
}

/* SQLSTATE to kind. Connection failures and a server going away are
 * transient (the API answers 503 + Retry-After, and the next operation
 * reconnects). Constraint and data errors (class 23, 22) are the caller's
 * request (INVALID, as with SQLite: an id used twice). */
static ab_store_status kind_of_state(const char *st)
{
    if (!st || strlen(st) != 5) return AB_STORE_BUSY; /* no SQLSTATE: the connection failed */
    if (!strncmp(st, "08", 2)) return AB_STORE_BUSY;
    if (!strcmp(st, "57P01") || !strcmp(st, "57P02") || !strcmp(st, "57P03"))
        return AB_STORE_BUSY;
    /* lock and serialisation conflicts, a cancelled statement, too many
     * connections: another attempt may well succeed */
    if (!strcmp(st, "40001") || !strcmp(st, "40P01") || !strcmp(st, "55P03") ||
        !strcmp(st, "57014") || !strcmp(st, "53300"))
        return AB_STORE_BUSY;
    if (!strcmp(st, "53100")) return AB_STORE_FULL;
    if (!strcmp(st, "53200")) return AB_STORE_NOMEM;
    if (!strcmp(st, "42501") || !strcmp(st, "25006")) return AB_STORE_READONLY;
    if (!strcmp(st, "XX001") || !strcmp(st, "XX002")) return AB_STORE_CORRUPT;
    if (!strncmp(st, "58", 2)) return AB_STORE_IO;
    if (!strncmp(st, "23", 2) || !strncmp(st, "22", 2)) return AB_STORE_INVALID;
    return AB_STORE_INTERNAL;
}

ab_store_status ab_pg_kind(ab_pg *p, const PGresult *r)
{
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        p->broken = 1;
        return AB_STORE_BUSY;
    }
    if (!r) return AB_STORE_BUSY;
    if (PQresultStatus(r) == PGRES_FATAL_ERROR || PQresultStatus(r) == PGRES_NONFATAL_ERROR) {
        ab_store_status k = kind_of_state(PQresultErrorField(r, PG_DIAG_SQLSTATE));
        if (k == AB_STORE_BUSY && PQresultErrorField(r, PG_DIAG_SQLSTATE) == NULL)
            p->broken = 1;
        return k;
    }
    return AB_STORE_INTERNAL; /* an unexpected status */
}

/* PostgreSQL's message on one line. */
static void one_line(char *dst, size_t len, const char *msg)
{
    size_t i = 0;
    if (!msg || !*msg) msg = "no message";
    for (; *msg && i + 1 < len; msg++) dst[i++] = *msg == '\n' || *msg == '\t' ? ' ' : *msg;
    while (i > 0 && dst[i - 1] == ' ') i--;
    dst[i] = '\0';
}

ab_store_status ab_pg_fail(ab_pg *p, const PGresult *r, const char *what, ab_error *err)
{
    char msg[200];
    ab_store_status k = ab_pg_kind(p, r);
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if ((!m || !*m) && r) m = PQresultErrorMessage(r);
    if ((!m || !*m) && p->conn) m = PQerrorMessage(p->conn);
    one_line(msg, sizeof msg, m);
    /* libpq's messages may quote the connection string (README "Security":
     * a password is never logged). */
    ab_store_scrub(p->conninfo, msg, sizeof msg);
    if (st) return ab_store_fail(err, k, "store: %s: PostgreSQL: %s (SQLSTATE %s)", what, msg, st);
    return ab_store_fail(err, k, "store: %s: PostgreSQL: %s", what, msg);
}

static ab_store_status connect_now(ab_pg *p, ab_error *err)
{
    /* The connection string comes after connect_timeout: its own wins. */
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const vals[] = {AB_PG_CONNECT_TIMEOUT, p->conninfo, NULL};
    char msg[200];
    ab_store_status kind;
    if (p->conn) PQfinish(p->conn);
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (!p->conn) return ab_store_fail(err, AB_STORE_NOMEM, "store: connect to PostgreSQL: out of memory");
    if (PQstatus(p->conn) != CONNECTION_OK) {
        one_line(msg, sizeof msg, PQerrorMessage(p->conn));
        ab_store_scrub(p->conninfo, msg, sizeof msg);
        PQfinish(p->conn);
        p->conn = NULL;
        p->broken = 1;
        return ab_store_fail(err, AB_STORE_BUSY, "store: connect to PostgreSQL: %s", msg);
    }
    PQsetNoticeReceiver(p->conn, notice, p);
    if (PQsetnonblocking(p->conn, 1) != 0) {
        one_line(msg, sizeof msg, PQerrorMessage(p->conn));
        return ab_store_fail(err, AB_STORE_INTERNAL, "store: PostgreSQL non-blocking mode: %s", msg);
    }
    p->broken = 0;
    /* A 202 means committed in PostgreSQL: synchronous_commit stays on
     * under both durabilities. With it off PostgreSQL acknowledges a
     * COMMIT before its WAL is flushed and a server crash may lose
     * transactions it reported committed; --durability normal relaxes
     * only what the embedded store can relax without losing an
     * acknowledged event (SQLite's fsync of the side file), and nothing
     * here is like that. */
    /* LISTEN: the other nodes' commits wake this one's follower
     * (pg_follow.c); a notification missed while disconnected is made up
     * for by reading from the position reached, not from the message. */
    kind = ab_pg_exec(p, "set up the session", "SET synchronous_commit TO on; "
                      "SET client_min_messages TO warning; LISTEN " AB_PG_CHANNEL, err);
    p->polled_ms = 0; /* read the log at once */
    __atomic_store_n(&p->leader, 0, __ATOMIC_RELEASE); /* the lock went with the old session */
    p->lead_tried_ms = 0;
    return kind;
}

ab_store_status ab_pg_ready(ab_pg *p, ab_error *err)
{
    if (p->conn && !p->broken && PQstatus(p->conn) == CONNECTION_OK) {
        /* A server that went away while we were idle has closed the
         * socket (after a FATAL message): notice it now, not on the next
         * statement, which would fail for nothing. */
        if (p->in_tx) return AB_STORE_OK;
        /* Twice: a read that got the FATAL's bytes does not look for the
         * end of the stream behind them. */
        if (PQconsumeInput(p->conn) && PQconsumeInput(p->conn) &&
            PQstatus(p->conn) == CONNECTION_OK) {
            /* Idle, nothing was asked: a result now means trouble. */
            PGresult *r = PQisBusy(p->conn) ? NULL : PQgetResult(p->conn);
            if (!r && !p->broken && PQstatus(p->conn) == CONNECTION_OK) return AB_STORE_OK;
            PQclear(r);
        }
        p->broken = 1;
    }
    if (p->in_tx)
        return ab_store_fail(err, AB_STORE_BUSY, "store: the connection to PostgreSQL was lost "
                             "inside a transaction (rolled back)");
    return connect_now(p, err);
}

/* Waits for the socket until deadline: 1 ready, 0 timed out, -1 error. */
static int wait_socket(ab_pg *p, int64_t deadline, short events)
{
    struct pollfd pfd;
    int64_t left = deadline - ab_pg_now_ms();
    int rc;
    if (left <= 0) return 0;
    pfd.fd = PQsocket(p->conn);
    if (pfd.fd < 0) return -1;
    pfd.events = events;
    pfd.revents = 0;
    do rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -1 : rc > 0 ? 1 : ab_pg_now_ms() >= deadline ? 0 : wait_socket(p, deadline, events);
}

static ab_store_status timed_out(ab_pg *p, const char *what, ab_error *err)
{
    p->broken = 1; /* the server did not answer: this connection is given up */
    return ab_store_fail(err, AB_STORE_BUSY, "store: %s: PostgreSQL did not answer within %d s",
                         what, AB_PG_TIMEOUT_MS / 1000);
}

ab_store_status ab_pg_flush(ab_pg *p, int64_t deadline, const char *what, ab_error *err)
{
    for (;;) {
        int rc = PQflush(p->conn), w;
        if (rc == 0) return AB_STORE_OK;
        if (rc < 0) return ab_pg_fail(p, NULL, what, err);
        if ((w = wait_socket(p, deadline, POLLOUT | POLLIN)) == 0) return timed_out(p, what, err);
        if (w < 0 || !PQconsumeInput(p->conn)) return ab_pg_fail(p, NULL, what, err);
    }
}

ab_store_status ab_pg_next(ab_pg *p, int64_t deadline, PGresult **r, const char *what,
                           ab_error *err)
{
    *r = NULL;
    for (;;) {
        int w;
        if (!PQconsumeInput(p->conn)) return ab_pg_fail(p, NULL, what, err);
        if (!PQisBusy(p->conn)) {
            *r = PQgetResult(p->conn);
            return AB_STORE_OK;
        }
        if ((w = wait_socket(p, deadline, POLLIN)) == 0) return timed_out(p, what, err);
        if (w < 0) return ab_pg_fail(p, NULL, what, err);
    }
}

ab_store_status ab_pg_query(ab_pg *p, const char *what, const char *sql, int n,
                            const char *const *vals, const int *lens, const int *fmts,
                            int binary, PGresult **out, ab_error *err)
{
    int64_t deadline = ab_pg_now_ms() + AB_PG_TIMEOUT_MS;
    PGresult *last = NULL, *bad = NULL, *r;
    ab_store_status kind = AB_STORE_OK;
    int sent;
    if (out) *out = NULL;
    if (!p->conn || p->broken || PQstatus(p->conn) != CONNECTION_OK) {
        p->broken = 1;
        return ab_store_fail(err, AB_STORE_BUSY, "store: %s: not connected to PostgreSQL", what);
    }
    sent = n < 0 ? PQsendQuery(p->conn, sql)
                 : PQsendQueryParams(p->conn, sql, n, NULL, vals, lens, fmts, binary);
    if (!sent) return ab_pg_fail(p, NULL, what, err);
    if ((kind = ab_pg_flush(p, deadline, what, err))) return kind;
    /* Every result up to the end: the first error, else the last result. */
    for (;;) {
        if ((kind = ab_pg_next(p, deadline, &r, what, err))) break;
        if (!r) break;
        switch (PQresultStatus(r)) {
        case PGRES_COMMAND_OK: case PGRES_TUPLES_OK: case PGRES_EMPTY_QUERY:
            PQclear(last);
            last = r;
            break;
        default:
            if (!bad) bad = r;
            else PQclear(r);
        }
    }
    if (kind == AB_STORE_OK && bad) kind = ab_pg_fail(p, bad, what, err);
    else if (kind == AB_STORE_OK && !last) kind = ab_pg_fail(p, NULL, what, err);
    PQclear(bad);
    if (kind == AB_STORE_OK && out) *out = last;
    else PQclear(last);
    return kind;
}

ab_store_status ab_pg_exec(ab_pg *p, const char *what, const char *sql, ab_error *err)
{
    return ab_pg_query(p, what, sql, -1, NULL, NULL, NULL, 0, NULL, err);
}

void ab_pg_abort(ab_pg *p)
{
    if (!p->conn || p->broken || PQstatus(p->conn) != CONNECTION_OK) return;
    if (PQtransactionStatus(p->conn) == PQTRANS_IDLE) return;
    ab_pg_exec(p, "roll back", "ROLLBACK", NULL);
}
