/* registry.h — the live experiments by id: configuration, counts and
 * monitoring state of each. */
#ifndef ABSTAT_REGISTRY_H
#define ABSTAT_REGISTRY_H

#include <stdint.h>

#include "experiment.h"
#include "state.h"
#include "verdict.h"

/* Monitoring of one arm across evaluations (SPEC section 6). */
typedef struct {
    double min_p;                /* running minimum of the sequential p; NaN before any */
    ab_arm_status status;        /* last judged status */
    int64_t significant_since;   /* epoch ms when first better/worse; 0 when never */
} ab_monitor_arm;

struct ab_evaluation;

typedef struct {
    int64_t key;                 /* store key */
    ab_experiment_config cfg;
    int stopped;
    int64_t created_ms;
    ab_exp_state state;
    double pending;              /* events in the open, uncommitted batch */
    ab_monitor_arm mon[AB_MAX_ARMS];
    int dirty;                   /* counts or config changed since the last evaluation */
    int mon_unsaved;             /* monitoring state newer than the store's */
    struct ab_evaluation *cache; /* the last evaluation (owned), valid while !dirty */
} ab_live;

typedef struct {
    ab_live **slots;
    size_t cap, count;
} ab_registry;

void ab_registry_init(ab_registry *r);
/* The experiment with this id (len bytes), or NULL. Borrowed. */
ab_live *ab_registry_get(const ab_registry *r, const char *id, size_t len);
/* Adds e (the registry takes ownership); -1 when out of memory. */
int ab_registry_add(ab_registry *r, ab_live *e);
/* Removes and frees e. */
void ab_registry_remove(ab_registry *r, ab_live *e);
/* The i-th occupied slot for iteration: for (i = 0; i < r->cap; i++). */
ab_live *ab_registry_at(const ab_registry *r, size_t i);
void ab_registry_free(ab_registry *r);

/* A new live experiment owning cfg (moved in) with empty counts. NULL when
 * out of memory (cfg is then still the caller's). */
ab_live *ab_live_new(ab_experiment_config *cfg, int64_t key, int stopped, int64_t created_ms);
void ab_live_free(ab_live *e);

#endif
