/* pg.h (tests) — a private PostgreSQL server for a test: initdb in a
 * temporary directory, started on a Unix socket only, stopped and removed
 * at the end; databases made on it for each store under test. */
#ifndef ABSTAT_TEST_PG_H
#define ABSTAT_TEST_PG_H

#include <stddef.h>

typedef struct {
    char bindir[320];     /* where initdb, pg_ctl are ("" when on PATH) */
    char dir[256];        /* the temporary directory: data/, the socket, log */
    int port;             /* names the socket (.s.PGSQL.PORT); no TCP */
    char as_user[32];     /* runuser -u USER when run as root, else "" */
    char conninfo[512];   /* its database "abstat", as postgresql:///abstat?host=... */
    int running;
} test_pg;

/* Finds the server binaries (PATH, then /usr/lib/postgresql/<newest>/bin),
 * makes the cluster and starts it. 1 when running, 0 when no server is
 * installed (the caller prints a skip line), -1 on failure (printed). */
int test_pg_start(test_pg *pg);
/* pg_ctl -m fast stop (clients are disconnected); 0 or -1. The
 * directory stays: test_pg_restart starts the same cluster again. */
int test_pg_stop(test_pg *pg);
int test_pg_restart(test_pg *pg);
/* Stops it when running and removes the directory. */
void test_pg_destroy(test_pg *pg);
/* Creates database name on it and writes its connection string to out;
 * 0 or -1. */
int test_pg_create_db(test_pg *pg, const char *name, char *out, size_t len);
/* Runs SQL on database name (psql-free: libpq); 0 or -1 (printed). With
 * out, the first column of the first row is copied there ("" if none). */
int test_pg_sql(test_pg *pg, const char *conninfo, const char *sql, char *out, size_t len);

#endif
