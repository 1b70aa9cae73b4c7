/* pg.c (tests) — starting and stopping a private PostgreSQL server for a test (pg.h). */
#include "pg.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char *dir, const char *prog)
{
    char path[400];
    snprintf(path, sizeof path, "%s%s%s", dir, *dir ? "/" : "", prog);
    return access(path, X_OK) == 0;
}

/* initdb on PATH, else the newest /usr/lib/postgresql/N/bin. */
static int find_bindir(char *out, size_t len)
{
    const char *path = getenv("PATH");
    DIR *d;
    struct dirent *de;
    int best = -1;
    if (path) {
        char buf[4096], *save = NULL;
        snprintf(buf, sizeof buf, "%s", path);
        for (char *p = strtok_r(buf, ":", &save); p; p = strtok_r(NULL, ":", &save))
            if (*p && exists(p, "initdb") && exists(p, "pg_ctl")) {
                snprintf(out, len, "%s", p);
                return 0;
            }
    }
    if (!(d = opendir("/usr/lib/postgresql"))) return -1;
    while ((de = readdir(d))) {
        char bin[300];
        int v = atoi(de->d_name);
        snprintf(bin, sizeof bin, "/usr/lib/postgresql/%s/bin", de->d_name);
        if (v > best && exists(bin, "initdb") && exists(bin, "pg_ctl")) {
            best = v;
            snprintf(out, len, "%s", bin);
        }
    }
    closedir(d);
    return best >= 0 ? 0 : -1;
}

/* A port number nobody listens on (it only names the socket file). */
static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &n) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port ? port : 20000 + (int)(getpid() % 20000);
}

/* Runs a server program with args (as as_user when set), its output to DIR/log. */
static int run(test_pg *pg, const char *prog, const char *args)
{
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "%s%s%s'%s/%s' %s >>'%s/log' 2>&1",
             pg->as_user[0] ? "runuser -u " : "", pg->as_user, pg->as_user[0] ? " -- " : "",
             pg->bindir, prog, args, pg->dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int start_server(test_pg *pg)
{
    char args[1200];
    /* fsync=off: only here, in tests (a crash of the test machine may lose
     * the cluster, which is thrown away anyway); the backend itself keeps
     * synchronous_commit on. */
    snprintf(args, sizeof args, "-D '%s/data' -l '%s/server.log' -o \"-k '%s' -p %d -c "
             "listen_addresses='' -c fsync=off\" -w -t 60 start", pg->dir, pg->dir, pg->dir,
             pg->port);
    if (run(pg, "pg_ctl", args)) {
        fprintf(stderr, "pg: pg_ctl start failed (see %s/log, %s/server.log)\n", pg->dir,
                pg->dir);
        return -1;
    }
    pg->running = 1;
    return 0;
}

int test_pg_start(test_pg *pg)
{
    char args[1000], tmpl[256];
    const char *tmp = getenv("TMPDIR");
    memset(pg, 0, sizeof *pg);
    if (find_bindir(pg->bindir, sizeof pg->bindir)) return 0;
    /* initdb refuses to run as root: the server runs as postgres (the
     * package's user), which must own its directory. */
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw) pw = getpwnam("nobody");
        if (!pw) {
            fprintf(stderr, "pg: running as root and no postgres user to run the server as\n");
            return -1;
        }
        snprintf(pg->as_user, sizeof pg->as_user, "%s", pw->pw_name);
        snprintf(tmpl, sizeof tmpl, "/tmp/abstat-pg-XXXXXX"); /* reachable by that user */
        if (!mkdtemp(tmpl) || chown(tmpl, pw->pw_uid, pw->pw_gid) != 0) {
            perror("pg: temporary directory");
            return -1;
        }
    } else {
        snprintf(tmpl, sizeof tmpl, "%s/abstat-pg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(tmpl)) {
            perror("pg: temporary directory");
            return -1;
        }
    }
    snprintf(pg->dir, sizeof pg->dir, "%s", tmpl);
    pg->port = free_port();
    snprintf(args, sizeof args, "-D '%s/data' -A trust -U abstat -E UTF8 --locale=C "
             "--no-sync", pg->dir);
    if (run(pg, "initdb", args)) {
        fprintf(stderr, "pg: initdb failed (see %s/log)\n", pg->dir);
        return -1;
    }
    if (start_server(pg)) return -1;
    snprintf(pg->conninfo, sizeof pg->conninfo, "postgresql:///postgres?host=%s&port=%d&user=abstat",
             pg->dir, pg->port);
    if (test_pg_create_db(pg, "abstat", pg->conninfo, sizeof pg->conninfo)) return -1;
    return 1;
}

int test_pg_stop(test_pg *pg)
{
    char args[400];
    if (!pg->running) return 0;
    snprintf(args, sizeof args, "-D '%s/data' -m fast -w -t 60 stop", pg->dir);
    if (run(pg, "pg_ctl", args)) {
        fprintf(stderr, "pg: pg_ctl stop failed (see %s/log)\n", pg->dir);
        return -1;
    }
    pg->running = 0;
    return 0;
}

int test_pg_restart(test_pg *pg)
{
    if (test_pg_stop(pg)) return -1;
    return start_server(pg);
}

void test_pg_destroy(test_pg *pg)
{
    char cmd[400];
    if (!pg->dir[0]) return;
    test_pg_stop(pg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pg->dir);
    if (system(cmd) != 0) fprintf(stderr, "pg: could not remove %s\n", pg->dir);
    pg->dir[0] = '\0';
}

int test_pg_sql(test_pg *pg, const char *conninfo, const char *sql, char *out, size_t len)
{
    PGconn *c = PQconnectdb(conninfo ? conninfo : pg->conninfo);
    PGresult *r;
    int rc = -1;
    if (out && len) out[0] = '\0';
    if (!c || PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg: connect: %s", c ? PQerrorMessage(c) : "out of memory\n");
        PQfinish(c);
        return -1;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) {
        rc = 0;
        if (out && len && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
            PQnfields(r) > 0)
            snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
    } else {
        fprintf(stderr, "pg: %s: %s", sql, PQresultErrorMessage(r));
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

int test_pg_create_db(test_pg *pg, const char *name, char *out, size_t len)
{
    char sql[300], admin[512];
    snprintf(admin, sizeof admin, "postgresql:///postgres?host=%s&port=%d&user=abstat", pg->dir,
             pg->port);
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
    if (test_pg_sql(pg, admin, sql, NULL, 0)) return -1;
    snprintf(out, len, "postgresql:///%s?host=%s&port=%d&user=abstat", name, pg->dir, pg->port);
    return 0;
}
