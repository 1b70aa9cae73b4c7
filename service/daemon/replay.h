/* replay.h — the state of every experiment rebuilt from the store. */
#ifndef ABSTAT_REPLAY_H
#define ABSTAT_REPLAY_H

#include "core/registry.h"
#include "store/store.h"

/* Loads every stored experiment into reg (empty before) with its counts
 * and monitoring state, and logs how long it took. 0, or -1 after logging
 * why (a row unreadable, out of memory). */
int ab_replay(ab_registry *reg, ab_store *store);

#endif
