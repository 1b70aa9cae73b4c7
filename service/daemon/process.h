/* process.h — what the daemon sets up about its own process: the hashing
 * seed, libevent's log, the port file, whether an address is loopback. */
#ifndef ABSTAT_PROCESS_H
#define ABSTAT_PROCESS_H

/* Seeds the keyed hash of the user tables from getrandom (time and pid,
 * with a warning, when that fails): a per-process key keeps a client from
 * choosing users that collide. Before any table is filled. */
void ab_process_seed_hash(void);

/* libevent's own warnings go into abstatd's log, in its format. */
void ab_process_log_libevent(void);

/* Writes port to path, whole or not at all (a reader never sees half).
 * 0, or -1 with errno set. */
int ab_process_write_port_file(const char *path, int port);

/* Asks the kernel for a short time slice (AB_LOOP_SLICE_NS) for the
 * calling thread, the event loop: the commit, parse and witness threads
 * keep the default slice and the same share of the CPU, but a request
 * that wakes the loop no longer waits for one of them to finish a whole
 * slice (Linux's EEVDF scheduler, 6.12 and later). Returns 0, or -1 with
 * errno set when the kernel has no such setting; nothing else changes. */
int ab_process_prefer_latency(void);
/* The shortest slice the kernel grants (it clamps to 0.1–100 ms): a
 * results answer takes a fraction of a millisecond, so the loop rarely
 * needs a second slice for one. */
#define AB_LOOP_SLICE_NS 100000u

/* Whether host is "localhost" or a loopback address (IPv4 127/8, ::1). */
int ab_process_is_loopback(const char *host);

#endif
