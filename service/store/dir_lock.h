/* dir_lock.h — the exclusive lock that keeps two daemons off one data directory. */
#ifndef ABSTAT_STORE_DIR_LOCK_H
#define ABSTAT_STORE_DIR_LOCK_H

#include "store/store.h"

/* Takes an exclusive lock on DIR/LOCK (held until the fd is closed) so
 * that two daemons never share a store: the database would allow it, the
 * counts each keeps in memory would not. The fd, or -1 with err set
 * (BUSY when another process holds it). */
int ab_dir_lock(const char *dir, ab_error *err);

#endif
