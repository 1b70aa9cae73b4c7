/* history_series.c — walks the buckets of GET /history (history_series.h). */
#include "core/history_series.h"

#include <math.h>
#include <string.h>

int ab_history_plan(const ab_counts *s, int hourly, int64_t now_ms, ab_history_span *out,
                    ab_error *err)
{
    int64_t step = hourly ? AB_HOUR_MS : AB_DAY_MS, last, end_ms;
    size_t max = hourly ? AB_HISTORY_MAX_HOURS : AB_HISTORY_MAX_DAYS;
    int64_t last_hour = ab_history_last_hour(&s->history, s->k);

    memset(out, 0, sizeof *out);
    out->hourly = hourly;
    out->step_ms = step;
    out->started_ms = INT64_MIN;
    /* started_at is /results': the first exposure. Without one there is
     * no point: nothing has started. */
    if (s->first_exposure_ms > s->last_exposure_ms) return 0;
    out->started_ms = s->first_exposure_ms;
    out->first_ms = ab_floor_div(s->first_exposure_ms, step) * step;
    /* Up to now, or to later data (ts may run 5 minutes ahead of now). */
    end_ms = now_ms;
    if (last_hour != INT64_MIN && last_hour * AB_HOUR_MS > end_ms) end_ms = last_hour * AB_HOUR_MS;
    if (s->last_exposure_ms > end_ms) end_ms = s->last_exposure_ms;
    last = ab_floor_div(end_ms, step) * step;
    /* Checked against the limit before anything is allocated for it; the
     * ts window (2000 to now + 5 min) keeps both ends near, and a span no
     * int64 holds counts as too long. */
    int64_t span;
    uint64_t n = 1;
    if (__builtin_sub_overflow(last, out->first_ms, &span)) n = UINT64_MAX;
    else if (span > 0) n = (uint64_t)(span / step) + 1;
    if (n > max)
        return ab_error_set(err, 400, "the history has %llu %s, more than the %zu one answer "
                            "holds%s", (unsigned long long)n, hourly ? "hours" : "days", max,
                            hourly ? ": ask for interval=day" : "");
    out->npoints = (size_t)n;
    return 0;
}

static void build_opts(const ab_experiment_config *c, ab_history_point *p)
{
    memset(&p->opts, 0, sizeof p->opts);
    p->opts.cmp.alpha = c->alpha;
    p->opts.cmp.method = c->method;
    p->opts.cmp.tuning = c->tuning;
    p->opts.cmp.correction = c->correction;
    /* Neither Fisher's p nor the Bayesian figures are shown per point; the
     * effect, its interval and the sequential figures are computed exactly
     * as for /results (ab_prop_compare, ab_seq_msprt inside
     * ab_compare_rates). */
    p->opts.cmp.no_exact_or_bayes = 1;
    p->opts.phase = c->phase;
    p->opts.metric = c->metric;
    /* The primary comparison only: the other phases', revenue's and NPS's
     * tests are not shown here (a revenue or NPS primary is run all the
     * same by ab_analysis_run). */
}

/* Revenue per user and NPS of arm v: the mean as ab_mean_summarize takes it
 * (sum / n; its t interval, the costly part, is not shown) and the score
 * of ab_nps_summarize, as /results has them. */
static void summaries(const ab_experiment_config *c, ab_history_point *p, size_t v)
{
    const ab_arm_counts *a = &p->arms[v];
    ab_nps_summary nps;
    p->revenue_per_user[v] = p->revenue && a->users > 0 ? a->revenue.sum / a->users : NAN;
    p->nps_score[v] = NAN;
    if (a->promoters + a->passives + a->detractors > 0 &&
        ab_nps_summarize(a->promoters, a->passives, a->detractors, c->alpha, &nps) == AB_OK)
        p->nps_score[v] = nps.score;
}

void ab_history_next(const ab_experiment_config *c, const ab_counts *s,
                     const ab_history_span *sp, size_t i, ab_history_point *p)
{
    size_t k = c->k;
    int64_t from_hour;

    if (i == 0) {
        memset(p->arms, 0, k * sizeof p->arms[0]);
        /* Conversions timestamped before the first exposure belong to the
         * first point: everything before its end counts. */
        from_hour = INT64_MIN / 2;
    } else {
        from_hour = ab_floor_div(p->end_ms, AB_HOUR_MS);
    }
    p->t_ms = sp->first_ms + (int64_t)i * sp->step_ms;
    p->end_ms = p->t_ms + sp->step_ms;
    ab_history_sum(&s->history, k, from_hour, ab_floor_div(p->end_ms, AB_HOUR_MS), p->arms);

    p->revenue = p->nps = 0;
    p->analysed = 1;
    for (size_t v = 0; v < k; v++) {
        ab_arm_counts *a = &p->arms[v];
        /* Rounding of the sums of squares' changes may leave a hair below 0. */
        if (a->revenue.sumsq < 0) a->revenue.sumsq = 0;
        p->revenue |= a->revenue.sumsq > 0;
        p->nps |= a->promoters + a->passives + a->detractors > 0;
        for (unsigned ph = 0; ph < AB_PHASE_COUNT; ph++)
            if (a->conversions[ph] > a->users) p->analysed = 0;
    }
    build_opts(c, p);
    for (size_t v = 0; v < k; v++) summaries(c, p, v);
    if (p->analysed && ab_analysis_run(&p->opts, p->arms, k, p->res) != AB_OK) p->analysed = 0;
}
