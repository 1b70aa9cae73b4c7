/* process.c — the daemon's own process: hashing seed, libevent's log,
 * port file, the loop's time slice, loopback check (see process.h). */
#include "daemon/process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/sched.h>
#include <linux/sched/types.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/usertable.h"

void ab_process_seed_hash(void)
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

static void libevent_log(int severity, const char *msg)
{
    ab_log_level level = severity == EVENT_LOG_DEBUG ? AB_LOG_DEBUG
                         : severity == EVENT_LOG_MSG ? AB_LOG_INFO
                         : severity == EVENT_LOG_WARN ? AB_LOG_WARN : AB_LOG_ERROR;
    ab_log_ratelimited(level, "libevent: %s", msg);
}

void ab_process_log_libevent(void)
{
    event_set_log_callback(libevent_log);
}

int ab_process_write_port_file(const char *path, int port)
{
    char tmp[4096];
    FILE *fp;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!(fp = fopen(tmp, "w"))) return -1;
    if (fprintf(fp, "%d\n", port) < 0) {
        fclose(fp);
        return -1;
    }
    if (fclose(fp) != 0) return -1;
    return rename(tmp, path);
}

int ab_process_prefer_latency(void)
{
    struct sched_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.sched_policy = SCHED_NORMAL;
    attr.sched_runtime = AB_LOOP_SLICE_NS;
    /* glibc has no wrapper; the nice value stays 0 (sched_nice). */
    return syscall(SYS_sched_setattr, 0, &attr, 0) == 0 ? 0 : -1;
}

int ab_process_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcmp(host, "localhost")) return 1;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}
