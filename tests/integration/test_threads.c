/* test_threads.c — abstatd's threads on a real daemon: each worker is named
 * for top -H, and the event loop alone asks the kernel for a short time
 * slice (daemon/process.h), so a request never waits a whole slice of a
 * busy worker; the workers keep the kernel's default. */
#include <dirent.h>
#include <linux/sched.h>
#include <linux/sched/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "daemon/process.h"
#include "test.h"

static int get_slice(long tid, unsigned long long *ns)
{
    struct sched_attr a;
    memset(&a, 0, sizeof a);
    if (syscall(SYS_sched_getattr, (pid_t)tid, &a, sizeof a, 0)) return -1;
    *ns = a.sched_runtime;
    return 0;
}

static int try_slice(void)
{
    struct sched_attr a;
    unsigned long long ns = 0;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.sched_policy = SCHED_NORMAL;
    a.sched_runtime = AB_LOOP_SLICE_NS;
    return syscall(SYS_sched_setattr, 0, &a, 0) == 0 && get_slice(getpid(), &ns) == 0 &&
           ns == AB_LOOP_SLICE_NS;
}

/* Whether this kernel takes a custom slice for a normal thread (EEVDF,
 * Linux 6.12 and later): tried in a child, so that the daemon started
 * later inherits nothing. */
static int probe(void)
{
    pid_t child = fork();
    int status;
    if (child == 0) _exit(try_slice());
    if (child < 0 || waitpid(child, &status, 0) != child) return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

int main(void)
{
    td_daemon d;
    char path[64];
    DIR *dir;
    struct dirent *de;
    int supported = probe(), loop_seen = 0, named = 0, unnamed = 0;
    unsigned long long loop_ns = 0, worker_min = ~0ull;

    td_init(&d, "threads");
    CHECK(td_start(&d) == 0);
    {
        /* The loop runs requests from its first one on. */
        td_response r = td_req(&d, "GET", "/healthz", NULL);
        CHECK_INT(r.status, 200);
        td_free(&r);
    }
    snprintf(path, sizeof path, "/proc/%d/task", (int)d.pid);
    CHECK((dir = opendir(path)) != NULL);
    while (dir && (de = readdir(dir))) {
        char file[128], comm[64] = "";
        long tid = strtol(de->d_name, NULL, 10);
        unsigned long long ns;
        FILE *fp;
        if (tid <= 0) continue;
        snprintf(file, sizeof file, "%s/%ld/comm", path, tid);
        if ((fp = fopen(file, "r"))) {
            if (!fgets(comm, sizeof comm, fp)) comm[0] = '\0';
            fclose(fp);
        }
        comm[strcspn(comm, "\n")] = '\0';
        if (get_slice(tid, &ns)) continue;
        if (tid == (long)d.pid) {
            loop_seen = 1;
            loop_ns = ns;
        } else {
            if (strncmp(comm, "abstat-", 7) == 0) named++;
            else unnamed++;
            if (ns < worker_min) worker_min = ns;
        }
        printf("test_threads: tid %ld %-16s slice %llu ns\n", tid, comm, ns);
    }
    if (dir) closedir(dir);
    CHECK(loop_seen);
    CHECK(named >= 3); /* abstat-parse, abstat-commit, abstat-witness at least */
    CHECK_INT(unnamed, 0);
    if (supported) {
        CHECK(loop_ns == AB_LOOP_SLICE_NS);
        CHECK(worker_min > AB_LOOP_SLICE_NS); /* the workers keep the default */
    } else {
        printf("test_threads: this kernel takes no custom time slice; the loop's is not checked\n");
    }
    td_stop(&d);
    td_cleanup(&d);
    return TEST_DONE("test_threads");
}
