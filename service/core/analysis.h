/* analysis.h — one experiment's counts in, every figure of its results out.
 * Shared by the daemon, /v1/analyze and the offline CLI so that all three
 * give the same numbers for the same counts. */
#ifndef ABSTAT_ANALYSIS_H
#define ABSTAT_ANALYSIS_H

#include "abstat/stats.h"
#include "core/phase.h"

typedef enum { AB_METRIC_CONVERSION = 0, AB_METRIC_REVENUE, AB_METRIC_NPS } ab_metric;

const char *ab_metric_name(ab_metric m);
int ab_metric_parse(const char *s, ab_metric *out);
const char *ab_method_name(ab_method m);
int ab_method_parse(const char *s, ab_method *out);
const char *ab_correction_name(ab_correction c);
/* "holm", "bonferroni", "bh" (any case), "none". */
int ab_correction_parse(const char *s, ab_correction *out);

/* Sufficient statistics of one arm. */
typedef struct {
    double users;
    double conversions[AB_PHASE_COUNT];
    ab_moments revenue; /* over all users: n = users, 0 for non-buyers */
    /* Per phase, the revenue of the users who converted at it (the ΣMD of
     * average order value, README "Statistics"). */
    double revenue_at[AB_PHASE_COUNT];
    double promoters, passives, detractors;
    /* CUPED (README "Statistics"): X is the covariate of the user's
     * deciding (first) exposure, 0 when it carried none. */
    double cov_users;                /* users whose deciding exposure carried one */
    double cov_x, cov_x2;            /* ΣX, ΣX² over the arm's users */
    double cov_xy[AB_PHASE_COUNT];   /* ΣXY, Y = converted at the phase (0/1) */
    double cov_xy_revenue;           /* ΣXY, Y = the user's revenue total */
} ab_arm_counts;

typedef struct {
    ab_compare_config cmp;
    ab_phase phase;          /* the goal phase: primary when metric is conversion */
    ab_metric metric;
    unsigned phases;         /* bit per phase to compare (phases with conversions) */
    int revenue;             /* compare revenue */
    int nps;                 /* compare NPS */
    double prior_mean, prior_sd; /* a prior on the primary lift; sd 0 = none */
    int aov;                 /* arms carry revenue_at: average order value at phase */
    int cuped;               /* arms carry covariate sums: CUPED comparisons */
    int cuped_decides;       /* variance_reduction cuped: they are the primary where defined */
} ab_analysis_opts;

/* The primary metric's figures of one non-control arm, whatever the metric. */
typedef struct {
    double effect;          /* diff on the primary metric */
    ab_interval effect_ci;
    double p_value;         /* fixed-horizon p */
    double p_adjusted;
    double sequential_p;    /* instantaneous */
    ab_interval sequential_ci;
    double lift;            /* relative effect where defined */
} ab_primary;

/* One CUPED comparison (README "Statistics", CUPED): the library's
 * figures, the sequential test of the adjusted estimate and variance, and
 * its p adjusted over the experiment's family. */
typedef struct {
    ab_cuped_result r;
    ab_seq_result seq;       /* instantaneous; the running one where it decides */
    double p_adjusted;       /* over the arms' CUPED p's (seq.p_value or r.p_value, by method) */
    int decides;             /* it is the primary comparison of this arm */
} ab_cuped_vs;

typedef struct {
    ab_interval rate_ci[AB_PHASE_COUNT];
    ab_mean_summary revenue;
    ab_nps_summary nps;
    ab_rate_vs_control rate[AB_PHASE_COUNT];
    ab_mean_vs_control revenue_vs;
    ab_lift_result revenue_lift; /* mean_v / mean_c - 1, delta-method interval */
    ab_prior_result prior;   /* posterior of the primary lift (opts.prior_sd > 0) */
    ab_aov_summary aov;      /* average order value at the goal phase (opts.aov) */
    ab_aov_comparison aov_vs;
    ab_nps_vs_control nps_vs;
    ab_cuped_vs cuped_rate;  /* at the goal phase (opts.cuped) */
    ab_cuped_vs cuped_revenue; /* revenue per user (opts.cuped, revenue compared) */
    ab_primary primary;
} ab_arm_result;

/* One arm's value of the primary metric: its rate at the goal phase, its
 * revenue per user or its NPS score (r from ab_analysis_run); NaN when
 * undefined. */
double ab_analysis_primary_value(const ab_analysis_opts *opts, const ab_arm_counts *a,
                                 const ab_arm_result *r);

/* Runs every comparison the options ask for over k arms (arm 0 the control).
 * out has k entries. Returns AB_OK or the first failing status. */
ab_status ab_analysis_run(const ab_analysis_opts *opts, const ab_arm_counts *arms,
                          size_t k, ab_arm_result *out);

#endif
