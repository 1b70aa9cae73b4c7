/* test_store_integrity.c — a damaged store is never silently smaller
 * (SPEC section 9, issue 10 item 8): the commit counter and the row
 * checksums on their own, then a real abstatd killed with kill -9 and its
 * store damaged five ways (truncated WAL, flipped WAL bytes, deleted WAL,
 * an empty database, one corrupt event record), the side file damaged or
 * missing, and `abstat backup` of a daemon under ingest. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "store/store_counter.h"
#include "test.h"

#define USERS 10000
#define PER_POST 500

static int keep_files;

/* ---- The counter and the checksum alone ------------------------------ */

static void test_counter_record(void)
{
    ab_counter c = {0x1234567890abcdefull, 130, 129, 10000}, got;
    unsigned char rec[AB_COUNTER_RECORD];
    int all_detected = 1;
    ab_counter_encode(&c, rec);
    CHECK_INT(ab_counter_decode(rec, sizeof rec, &got), 0);
    CHECK(got.store_id == c.store_id && got.commits == 130 && got.batches == 129 &&
          got.events == 10000);
    /* Every single flipped bit is found. */
    for (size_t i = 0; i < sizeof rec; i++)
        for (int b = 0; b < 8; b++) {
            rec[i] ^= (unsigned char)(1u << b);
            if (ab_counter_decode(rec, sizeof rec, &got) == 0) all_detected = 0;
            rec[i] ^= (unsigned char)(1u << b);
        }
    CHECK(all_detected);
    CHECK_INT(ab_counter_decode(rec, sizeof rec - 1, &got), -1);
}

static void test_counter_slots(void)
{
    static unsigned char file[AB_COUNTER_SLOT + AB_COUNTER_RECORD];
    ab_counter a = {7, 40, 40, 3000}, b = {7, 41, 41, 3100}, got;
    memset(file, 0, sizeof file);
    CHECK_INT(ab_counter_parse(file, 0, &got), AB_COUNTER_MISSING);
    CHECK_INT(ab_counter_parse(file, sizeof file, &got), AB_COUNTER_DAMAGED);
    ab_counter_encode(&a, file);
    ab_counter_encode(&b, file + AB_COUNTER_SLOT);
    CHECK_INT(ab_counter_parse(file, sizeof file, &got), AB_COUNTER_OK);
    CHECK_INT(got.commits, 41); /* the newer slot */
    /* A torn write of the newer slot: the one before still stands (never
     * more than the database holds, never read as 0). */
    file[AB_COUNTER_SLOT + 20] ^= 0x40;
    CHECK_INT(ab_counter_parse(file, sizeof file, &got), AB_COUNTER_OK);
    CHECK_INT(got.commits, 40);
    CHECK_INT(got.events, 3000);
    file[3] ^= 1; /* both torn: unknown, not zero */
    CHECK_INT(ab_counter_parse(file, sizeof file, &got), AB_COUNTER_DAMAGED);
    /* Only the first slot ever written (commit 0). */
    ab_counter_encode(&a, file);
    CHECK_INT(ab_counter_parse(file, AB_COUNTER_RECORD, &got), AB_COUNTER_OK);
    CHECK_INT(got.commits, 40);
}

static void test_counter_file(void)
{
    char dir[128];
    ab_counter c = {99, 0, 0, 0}, got;
    int fd;
    snprintf(dir, sizeof dir, "/tmp/abstat-test-ctr-%d", (int)getpid());
    mkdir(dir, 0755);
    CHECK_INT(ab_counter_read(dir, &got), AB_COUNTER_MISSING);
    fd = ab_counter_open(dir);
    CHECK(fd >= 0);
    CHECK_INT(ab_counter_read(dir, &got), AB_COUNTER_MISSING); /* empty */
    for (uint64_t i = 1; i <= 5; i++) {
        c.commits = i;
        c.events = i * 100;
        CHECK_INT(ab_counter_write(fd, &c, i == 5), 0);
        CHECK_INT(ab_counter_read(dir, &got), AB_COUNTER_OK);
        CHECK_INT(got.commits, i);
        CHECK_INT(got.events, i * 100);
    }
    close(fd);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
}

static void test_checksum(void)
{
    unsigned char buf[301];
    uint64_t h;
    int distinct = 1;
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 7);
    h = ab_checksum64(buf, sizeof buf, 5);
    CHECK(h == ab_checksum64(buf, sizeof buf, 5));
    CHECK(h != ab_checksum64(buf, sizeof buf, 6));
    CHECK(h != ab_checksum64(buf, sizeof buf - 1, 5));
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] ^= 0x10;
        if (ab_checksum64(buf, sizeof buf, 5) == h) distinct = 0;
        buf[i] ^= 0x10;
    }
    CHECK(distinct);
    char t[32];
    ab_counter_thousands(10000, t, sizeof t);
    CHECK(!strcmp(t, "10,000"));
    ab_counter_thousands(999, t, sizeof t);
    CHECK(!strcmp(t, "999"));
}

/* ---- Against a real daemon -------------------------------------------- */

static int post_users(const td_daemon *d, int from, int to)
{
    static char body[PER_POST * 128];
    for (int u = from; u < to;) {
        size_t len = 0;
        int end = u + PER_POST < to ? u + PER_POST : to;
        for (; u < end; u++)
            len += (size_t)snprintf(body + len, sizeof body - len,
                                    "{\"experiment\":\"integ\",\"variant\":\"%s\",\"user\":"
                                    "\"user%06d\",\"type\":\"exposure\"}\n",
                                    u % 2 ? "a" : "b", u);
        td_response r = td_request(d, "POST", "/v1/events", body, len, NULL);
        int ok = r.status == 202;
        td_free(&r);
        if (!ok) return -1;
    }
    return 0;
}

/* Users the daemon counts in experiment integ (-1: no such experiment). */
static double users_of(const td_daemon *d, const char *exp)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/experiments/%s/results", exp);
    td_response r = td_req(d, "GET", path, NULL);
    json_t *vars = json_object_get(r.json, "variants");
    double users = r.status == 200 ? 0 : -1;
    for (size_t i = 0; i < json_array_size(vars); i++)
        users += json_number_value(json_object_get(json_array_get(vars, i), "users"));
    td_free(&r);
    return users;
}

static int healthz(const td_daemon *d)
{
    td_response r = td_req(d, "GET", "/healthz", NULL);
    int s = r.status;
    td_free(&r);
    return s;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) n = 0;
    if (buf) buf[n] = '\0';
    fclose(fp);
    if (len) *len = (size_t)n;
    return buf;
}

static int log_has(const td_daemon *d, const char *text)
{
    char *log = slurp(d->log, NULL);
    int has = log && strstr(log, text);
    free(log);
    return has;
}

static void clear_log(const td_daemon *d)
{
    if (truncate(d->log, 0) != 0) {}
}

static void path_in(const td_daemon *d, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", d->dir, name);
}

typedef enum { TRUNCATE_WAL, FLIP_WAL, DELETE_WAL, EMPTY_DB, CORRUPT_RECORD, NO_DAMAGE,
               SIDE_DAMAGED, SIDE_MISSING } damage;
static const char *const damage_name[] = {"truncated WAL", "flipped WAL bytes", "deleted WAL",
                                          "empty database", "one corrupt event record",
                                          "no damage", "damaged counter file",
                                          "missing counter file"};

static void do_damage(td_daemon *d, damage how)
{
    char wal[400], db[400], side[400];
    struct stat sb;
    path_in(d, "abstat.db-wal", wal, sizeof wal);
    path_in(d, "abstat.db", db, sizeof db);
    path_in(d, AB_COUNTER_FILE, side, sizeof side);
    switch (how) {
    case TRUNCATE_WAL:
        CHECK(stat(wal, &sb) == 0 && sb.st_size > 0);
        CHECK_INT(truncate(wal, sb.st_size / 2), 0);
        break;
    case FLIP_WAL: {
        int fd = open(wal, O_RDWR);
        CHECK(fd >= 0 && fstat(fd, &sb) == 0);
        /* a run of bytes a third of the way in: a frame's checksum fails,
         * and SQLite's recovery keeps the frames before it */
        for (off_t o = sb.st_size / 3; o < sb.st_size / 3 + 64; o++) {
            unsigned char c;
            if (pread(fd, &c, 1, o) == 1) {
                c ^= 0x5a;
                CHECK(pwrite(fd, &c, 1, o) == 1);
            }
        }
        close(fd);
        break;
    }
    case DELETE_WAL:
        CHECK_INT(unlink(wal), 0);
        {
            char shm[400];
            path_in(d, "abstat.db-shm", shm, sizeof shm);
            unlink(shm);
        }
        break;
    case EMPTY_DB: {
        char shm[400];
        path_in(d, "abstat.db-shm", shm, sizeof shm);
        unlink(wal);
        unlink(shm);
        CHECK_INT(unlink(db), 0);
        int fd = open(db, O_CREAT | O_WRONLY, 0644); /* an empty file, as a new store has */
        CHECK(fd >= 0);
        close(fd);
        break;
    }
    case CORRUPT_RECORD: {
        /* One user id inside one stored row: the row's checksum fails. */
        size_t len;
        char *bytes = slurp(db, &len);
        char *hit = NULL;
        CHECK(bytes != NULL);
        for (size_t i = 0; bytes && i + 10 < len; i++)
            if (!memcmp(bytes + i, "user004321", 10)) {
                hit = bytes + i;
                break;
            }
        CHECK(hit != NULL);
        if (hit) {
            int fd = open(db, O_RDWR);
            char c = 'X';
            CHECK(pwrite(fd, &c, 1, (off_t)(hit - bytes) + 9) == 1);
            close(fd);
        }
        free(bytes);
        break;
    }
    case SIDE_DAMAGED: {
        int fd = open(side, O_RDWR);
        char junk[64];
        memset(junk, 0x77, sizeof junk);
        CHECK(fd >= 0);
        CHECK(pwrite(fd, junk, sizeof junk, 0) == (ssize_t)sizeof junk);
        CHECK(pwrite(fd, junk, sizeof junk, AB_COUNTER_SLOT) == (ssize_t)sizeof junk);
        close(fd);
        break;
    }
    case SIDE_MISSING:
        CHECK_INT(unlink(side), 0);
        break;
    case NO_DAMAGE:
        break;
    }
}

/* 10,000 acknowledged users, then kill -9 (or a clean stop for the cases
 * that damage the database file itself), the damage, and the starts. */
static void damaged_start(damage how)
{
    td_daemon d;
    char name[64];
    int refused;
    snprintf(name, sizeof name, "integ%d", (int)how);
    td_init(&d, name);
    snprintf(test_context, sizeof test_context, "%s", damage_name[how]);
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", d.log);
        return;
    }
    td_response r = td_req(&d, "PUT", "/v1/experiments/integ", "{\"variants\":[\"a\",\"b\"]}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    CHECK_INT(post_users(&d, 0, USERS), 0);
    CHECK_REL(users_of(&d, "integ"), USERS, 0);
    if (how == CORRUPT_RECORD || how == SIDE_DAMAGED || how == SIDE_MISSING)
        CHECK_INT(td_stop(&d), 0); /* everything in abstat.db, no WAL */
    else
        td_kill(&d);
    do_damage(&d, how);

    /* Without --recover: refused, naming the loss; or (no loss at all)
     * started with every user. Never 200 with fewer. */
    clear_log(&d);
    refused = td_start(&d) != 0;
    if (!refused) {
        CHECK_INT(healthz(&d), 200);
        CHECK_REL(users_of(&d, "integ"), USERS, 0);
        td_kill(&d);
    } else {
        CHECK(log_has(&d, "--recover"));
        if (how == CORRUPT_RECORD) {
            CHECK(log_has(&d, "corrupt event record in experiment \"integ\""));
            CHECK(log_has(&d, "row "));
        } else if (how == SIDE_DAMAGED) {
            CHECK(log_has(&d, "abstat.commits is damaged"));
        } else if (how == SIDE_MISSING) {
            CHECK(log_has(&d, "abstat.commits is missing"));
        } else {
            CHECK(log_has(&d, "of 10,000 acknowledged events"));
        }
    }
    /* These always lose something (or cannot be verified): refused. The
     * WAL cases lose what the last checkpoint (once a second) had not
     * copied into abstat.db: almost always something, but a checkpoint
     * between the last commit and the kill leaves nothing to lose, and the
     * start with every user above is right. */
    if (how == EMPTY_DB || how == CORRUPT_RECORD || how == SIDE_DAMAGED || how == SIDE_MISSING)
        CHECK(refused);
    if (how == NO_DAMAGE) CHECK(!refused);

    /* --recover: starts with what is readable and says what was lost. */
    clear_log(&d);
    snprintf(d.extra, sizeof d.extra, "--recover");
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd --recover did not start (see %s)", d.log);
        td_cleanup(&d);
        return;
    }
    CHECK_INT(healthz(&d), 200);
    double users = users_of(&d, "integ");
    double lost = td_metric(&d, "abstat_store_lost_events");
    if (users < 0) users = 0; /* the experiment itself was lost */
    printf("test_store_integrity: %s: %s, --recover kept %.0f of %d users, reports %.0f lost\n",
           damage_name[how], refused ? "refused" : "started", users, USERS, lost);
    /* Nothing vanishes unreported: kept + reported lost = acknowledged. */
    CHECK_REL(users + lost, USERS, 0);
    if (refused && how != SIDE_DAMAGED && how != SIDE_MISSING) {
        CHECK(lost > 0);
        CHECK(log_has(&d, "acknowledged events lost"));
        CHECK_INT(td_metric(&d, "abstat_store_recovered"), 1);
    }
    if (how == CORRUPT_RECORD) {
        CHECK_INT(td_metric(&d, "abstat_store_corrupt_records"), 1);
        CHECK_REL(lost, PER_POST, 0); /* one row: one request's events */
    }
    if (how == EMPTY_DB) CHECK_REL(lost, USERS, 0);
    if (refused && (how == TRUNCATE_WAL || how == FLIP_WAL || how == DELETE_WAL))
        CHECK(td_metric(&d, "abstat_store_lost_commits") > 0);
    /* The recovered store takes new events and starts cleanly again. */
    td_response r2 = td_req(&d, "PUT", "/v1/experiments/integ", "{\"variants\":[\"a\",\"b\"]}");
    CHECK(r2.status == 200 || r2.status == 201);
    td_free(&r2);
    CHECK_INT(post_users(&d, USERS, USERS + 1000), 0);
    CHECK_INT(td_stop(&d), 0);
    d.extra[0] = '\0';
    clear_log(&d);
    CHECK_INT(td_start(&d), 0);
    CHECK_REL(users_of(&d, "integ"), users + 1000, 0);
    CHECK_INT(td_metric(&d, "abstat_store_lost_events"), 0);
    CHECK_INT(td_stop(&d), 0);
    test_context[0] = '\0';
    if (!keep_files) td_cleanup(&d);
}

/* Deleting an experiment takes its rows and events out of the counter:
 * the next start, after a kill -9, still passes (and still counts). */
static void test_delete_and_restart(void)
{
    td_daemon d;
    static char body[200 * 100];
    size_t len = 0;
    td_init(&d, "integ-delete");
    if (td_start(&d) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", d.log);
        return;
    }
    td_response r = td_req(&d, "PUT", "/v1/experiments/integ", "{\"variants\":[\"a\",\"b\"]}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    r = td_req(&d, "PUT", "/v1/experiments/gone", "{\"variants\":[\"a\",\"b\"]}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    CHECK_INT(post_users(&d, 0, 3000), 0);
    for (int i = 0; i < 200; i++)
        len += (size_t)snprintf(body + len, sizeof body - len,
                                "{\"experiment\":\"gone\",\"variant\":\"a\",\"user\":\"g%d\","
                                "\"type\":\"exposure\"}\n", i);
    r = td_request(&d, "POST", "/v1/events", body, len, NULL);
    CHECK_INT(r.status, 202);
    td_free(&r);
    r = td_req(&d, "DELETE", "/v1/experiments/gone", NULL);
    CHECK_INT(r.status, 200);
    td_free(&r);
    CHECK_INT(post_users(&d, 3000, 4000), 0);
    td_kill(&d);
    CHECK_INT(td_start(&d), 0);
    CHECK_REL(users_of(&d, "integ"), 4000, 0);
    CHECK_REL(users_of(&d, "gone"), -1, 0);
    CHECK_INT(td_metric(&d, "abstat_store_recovered"), 0);
    CHECK_INT(td_stop(&d), 0);
    CHECK_INT(td_start(&d), 0); /* and after a clean stop */
    CHECK_REL(users_of(&d, "integ"), 4000, 0);
    CHECK_INT(td_stop(&d), 0);
    td_cleanup(&d);
}

/* ---- abstat backup ----------------------------------------------------- */

static int run_backup(const char *src, const char *dest)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' backup --data '%s' '%s' >/dev/null", td_bin("abstat"), src,
             dest);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_backup(void)
{
    td_daemon src, copy, copy2;
    int fds[2];
    pid_t child;
    double before, after, copied;
    td_init(&src, "backup-src");
    td_init(&copy, "backup-copy");
    td_init(&copy2, "backup-copy2");
    if (td_start(&src) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", src.log);
        return;
    }
    td_response r = td_req(&src, "PUT", "/v1/experiments/integ", "{\"variants\":[\"a\",\"b\"]}");
    CHECK_INT(r.status, 201);
    td_free(&r);
    CHECK_INT(post_users(&src, 0, 5000), 0);

    /* Light ingest while the backup runs. */
    if (pipe(fds) != 0) return;
    child = fork();
    if (child == 0) {
        close(fds[1]);
        for (int u = 100000;; u += 50) {
            fd_set rd;
            struct timeval tv = {0, 0};
            FD_ZERO(&rd);
            FD_SET(fds[0], &rd);
            if (select(fds[0] + 1, &rd, NULL, NULL, &tv) > 0) _exit(0);
            if (post_users(&src, u, u + 50)) _exit(1);
            td_sleep_ms(2);
        }
    }
    close(fds[0]);
    td_sleep_ms(100);
    before = users_of(&src, "integ");
    CHECK_INT(run_backup(src.dir, copy.dir), 0);
    after = users_of(&src, "integ");
    close(fds[1]);
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(after > before); /* ingest did go on during the backup */

    /* The copy starts as a data directory (no --recover) and holds the
     * source at one moment between before and after. */
    CHECK_INT(td_start(&copy), 0);
    copied = users_of(&copy, "integ");
    printf("test_store_integrity: backup under ingest: source %.0f..%.0f users, copy %.0f\n",
           before, after, copied);
    CHECK(copied >= before && copied <= after);
    CHECK_INT(td_metric(&copy, "abstat_store_recovered"), 0);
    CHECK_INT(td_stop(&copy), 0);

    /* Quiet source: the copy has exactly its results. */
    double now = users_of(&src, "integ");
    CHECK_INT(run_backup(src.dir, copy2.dir), 0);
    CHECK_INT(run_backup(src.dir, copy2.dir), 4); /* never over an existing store */
    CHECK_INT(run_backup("/nonexistent/abstat", "/tmp/abstat-test-nothing"), 4);
    CHECK_INT(td_start(&copy2), 0);
    td_response a = td_req(&src, "GET", "/v1/experiments/integ/results", NULL);
    td_response b = td_req(&copy2, "GET", "/v1/experiments/integ/results", NULL);
    CHECK_REL(users_of(&copy2, "integ"), now, 0);
    CHECK(json_equal(json_object_get(a.json, "variants"), json_object_get(b.json, "variants")));
    td_free(&a);
    td_free(&b);
    CHECK_INT(td_stop(&copy2), 0);
    CHECK_INT(td_stop(&src), 0);
    td_cleanup(&src);
    td_cleanup(&copy);
    td_cleanup(&copy2);
}

/* With an argument, only that damage case (0..7), keeping its files. */
int main(int argc, char **argv)
{
    if (argc > 1) {
        keep_files = 1;
        damaged_start((damage)atoi(argv[1]));
        return TEST_DONE("test_store_integrity");
    }
    test_counter_record();
    test_counter_slots();
    test_counter_file();
    test_checksum();
    for (int how = TRUNCATE_WAL; how <= SIDE_MISSING; how++) damaged_start((damage)how);
    test_delete_and_restart();
    test_backup();
    return TEST_DONE("test_store_integrity");
}
