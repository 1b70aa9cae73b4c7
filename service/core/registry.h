/* registry.h — the live experiments by id: configuration, counts and
 * monitoring state of each. */
#ifndef ABSTAT_REGISTRY_H
#define ABSTAT_REGISTRY_H

#include <stdint.h>

#include "base/ptrmap.h"
#include "core/experiment.h"
#include "core/state.h"
#include "core/verdict.h"

/* Monitoring of one arm across evaluations (README "Statistics"). The evidence
 * counts only from the first evaluation at which the arm is ready
 * (min_days and min_users met): earlier looks must not decide. */
typedef struct {
    double min_p;                /* running minimum of the primary instantaneous
                                  * sequential p over ready evaluations; NaN before */
    ab_interval ci;              /* sequential: running intersection of the
                                  * primary's intervals over the same evaluations;
                                  * fixed: the interval it was judged on; NaN before */
    ab_arm_status status;        /* last judged status */
    int64_t significant_since;   /* epoch ms when first better/worse; 0 when never */
} ab_monitor_arm;

/* Monitoring of the experiment as a whole. */
typedef struct {
    double srm_min_p;            /* running minimum of the anytime-valid SRM p; NaN before */
    int64_t srm_alert_since;     /* epoch ms when the SRM alert was raised; 0 when not
                                  * (it stays raised until a monitoring restart) */
    double plan_baseline;        /* fixed: the plan frozen at the first judgement; */
    double plan_per_variant;     /* NaN until then */
} ab_monitor_exp;

struct ab_evaluation;

/* The names of an experiment, one meaning each:
 *   ab_experiment_config (experiment.h): its settings, as PUT gives them;
 *   ab_counts (state.h): what its events add up to;
 *   ab_live (here): the experiment as the daemon holds it — one config,
 *     its counts and its monitoring state, owned by the registry;
 *   ab_store_experiment (store/store.h): its stored row, the config as
 *     JSON text (json/experiment_json.h renders and reads it back). */
typedef struct {
    int64_t key;                 /* store key */
    ab_experiment_config cfg;
    int stopped;
    int64_t created_ms;
    ab_counts state;
    double pending;              /* events in the open, uncommitted batch */
    ab_monitor_arm mon[AB_MAX_ARMS];
    ab_monitor_exp watch;
    int64_t monitoring_since_ms; /* when the current test definition began; 0 = creation */
    void *changes;               /* owned: the JSON array of test-definition changes
                                  * (README "Experiments") that json/ builds, or NULL for none;
                                  * opaque here, freed by the ab_live_changes_free hook */
    int dirty;                   /* counts or config changed since the last evaluation */
    int mon_unsaved;             /* monitoring state newer than the store's */
    struct ab_evaluation *cache; /* the last evaluation (owned), valid while !dirty;
                                  * only reads keep one, freed when not read for a
                                  * while (memory.c) */
    int64_t read_ms;             /* when results or decision were last read */
    /* The results [0] and decision [1] answers rendered from cache (owned
     * text, or NULL), so that an unchanged experiment is not printed again
     * for every reader; answer_len[i] bytes each. Valid exactly as long as
     * cache: whoever refreshes or frees cache drops them
     * (ab_live_drop_answers). */
    char *answer[2];
    size_t answer_len[2];
} ab_live;

/* Frees e's rendered answers; returns the bytes they held. */
size_t ab_live_drop_answers(ab_live *e);

/* The live experiments by the hash of their id (base/ptrmap.h): cap and
 * count are the map's, and ab_registry_at(r, i) for i < cap iterates. */
typedef ab_ptrmap ab_registry;

void ab_registry_init(ab_registry *r);
/* The experiment with this id (len bytes), or NULL. Borrowed. */
ab_live *ab_registry_get(const ab_registry *r, const char *id, size_t len);
/* Adds e (the registry takes ownership); -1 when out of memory. */
int ab_registry_add(ab_registry *r, ab_live *e);
/* Removes and frees e. */
void ab_registry_remove(ab_registry *r, ab_live *e);
/* Removes e without freeing it (the caller owns it now); 0, or -1 when
 * it was not there. */
int ab_registry_detach(ab_registry *r, ab_live *e);
/* The i-th occupied slot for iteration: for (i = 0; i < r->cap; i++). */
ab_live *ab_registry_at(const ab_registry *r, size_t i);
void ab_registry_free(ab_registry *r);

/* A new live experiment owning cfg (moved in) with empty counts. NULL when
 * out of memory (cfg is then still the caller's). */
ab_live *ab_live_new(ab_experiment_config *cfg, int64_t key, int stopped, int64_t created_ms);
void ab_live_free(ab_live *e);

/* How ab_live_free frees a live experiment's `changes`: set once at start
 * (ab_json_release of json/jsonout.h) before any is set; the domain does
 * not know JSON. */
void ab_live_changes_free(void (*release)(void *changes));

/* Forgets every variant's and the experiment's monitoring state (running
 * minima, intervals, statuses, significant_since, SRM alert, frozen plan):
 * a new test definition starts from nothing. Marks e dirty. */
void ab_live_reset_monitoring(ab_live *e);

#endif
