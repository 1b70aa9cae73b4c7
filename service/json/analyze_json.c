/* analyze_json.c — the stateless calculator: parses an analyze body, runs
 * the analysis and renders the answer. */
#include "json/analyze_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "core/defaults.h"
#include "core/journey.h"
#include "json/experiment_json.h"
#include "json/jsonin.h"
#include "json/journey_json.h"
#include "json/jsonout.h"
#include "json/variants_json.h"
#include "core/verdict.h"

static const char *const top_keys[] = {
    "alpha", "correction", "method", "sequential_tuning", "phase", "metric",
    "weights", "variants", "prior", NULL};
static const char *const variant_keys[] = {
    "name", "users", "conversions", "phases", "revenue_sum", "revenue_sumsq",
    "promoters", "passives", "detractors", "steps", NULL};
static const char *const step_keys[] = {"reached", "continued", NULL};

typedef struct {
    ab_analysis_opts opts;
    size_t k;
    const char *names[AB_MAX_ARMS];
    ab_arm_counts arms[AB_MAX_ARMS];
    double weights[AB_MAX_ARMS];
    int has_weights;
    int has_journey;               /* every variant gave its steps */
    ab_journey_result journey;     /* their step counts, then the bounds */
} analyze_req;

static int parse_options(const json_t *body, analyze_req *rq, ab_error *err)
{
    const char *s;
    int present;

    rq->opts.cmp.alpha = AB_DEFAULT_ALPHA;
    rq->opts.cmp.method = AB_DEFAULT_METHOD;
    rq->opts.cmp.tuning = AB_DEFAULT_TUNING;
    rq->opts.cmp.correction = AB_DEFAULT_CORRECTION;
    rq->opts.phase = AB_DEFAULT_PHASE;
    rq->opts.metric = AB_DEFAULT_METRIC;

    if (ab_jin_number(body, "alpha", "", -HUGE_VAL, HUGE_VAL, 0, &rq->opts.cmp.alpha, &present,
                      err) ||
        (present && ab_alpha_check(rq->opts.cmp.alpha, AB_ALPHA_MAX_CALC, "alpha", err)) ||
        ab_jin_number(body, "sequential_tuning", "", 0.0, AB_LARGE_MAX, 1, &rq->opts.cmp.tuning,
                      NULL, err))
        return -1;
    s = NULL;
    if (ab_jin_string(body, "correction", "", &s, &present, err)) return -1;
    if (s && ab_correction_parse(s, &rq->opts.cmp.correction))
        return ab_error_set(err, 400, "correction: must be holm, bonferroni, bh or none");
    s = NULL;
    if (ab_jin_string(body, "method", "", &s, &present, err)) return -1;
    if (s && ab_method_parse(s, &rq->opts.cmp.method))
        return ab_error_set(err, 400, "method: must be sequential or fixed");
    s = NULL;
    if (ab_jin_string(body, "phase", "", &s, &present, err)) return -1;
    if (s && ab_phase_parse(s, strlen(s), &rq->opts.phase)) {
        char text[sizeof err->text];
        return ab_error_set(err, 400, "%s",
                            ab_phase_unknown(text, sizeof text, NULL, s, strlen(s)));
    }
    s = NULL;
    if (ab_jin_string(body, "metric", "", &s, &present, err)) return -1;
    if (s && ab_metric_parse(s, &rq->opts.metric))
        return ab_error_set(err, 400, "metric: must be conversion, revenue or nps");
    return ab_prior_parse(json_object_get(body, "prior"), &rq->opts.prior_mean,
                          &rq->opts.prior_sd, err);
}

/* Conversions per phase: "conversions" counts the goal phase, "phases"
 * (an object of phase name -> count) any others. */
static int parse_conversions(const json_t *v, const char *where, analyze_req *rq,
                             ab_arm_counts *a, ab_error *err)
{
    const json_t *phases = json_object_get(v, "phases");
    unsigned given = 0; /* phases already read: aliases may name one twice */
    int present;
    double x;

    if (ab_jin_count(v, "conversions", where, &x, &present, err)) return -1;
    if (present) {
        a->conversions[rq->opts.phase] = x;
        rq->opts.phases |= 1u << rq->opts.phase;
        given |= 1u << rq->opts.phase;
    }
    if (phases && !json_is_null(phases)) {
        const char *key;
        json_t *val;
        if (!json_is_object(phases))
            return ab_error_set(err, 400, "%s.phases: must be an object of phase: count", where);
        json_object_foreach((json_t *)phases, key, val) {
            ab_phase ph;
            char inner[96];
            (void)val;
            if (ab_phase_parse(key, strlen(key), &ph)) {
                char at[96], text[sizeof err->text];
                snprintf(at, sizeof at, "%s.phases", where);
                return ab_error_set(err, 400, "%s",
                                    ab_phase_unknown(text, sizeof text, at, key, strlen(key)));
            }
            /* "aankoop" and "checkout" are both the decision phase: the
             * second used to overwrite the first without a word. */
            if (given & (1u << ph))
                return ab_error_set(err, 400, "%s: the %s phase is given twice", where,
                                    ab_phase_name(ph));
            snprintf(inner, sizeof inner, "%s.phases", where);
            if (ab_jin_count(phases, key, inner, &a->conversions[ph], NULL, err)) return -1;
            rq->opts.phases |= 1u << ph;
            given |= 1u << ph;
        }
    }
    for (unsigned ph = 0; ph < AB_PHASE_COUNT; ph++)
        if (a->conversions[ph] > a->users)
            return ab_error_set(err, 400, "%s: %s conversions (%.0f) exceed users (%.0f)",
                                where, ab_phase_name((ab_phase)ph), a->conversions[ph], a->users);
    return 0;
}

/* "steps": {"awareness": {"reached": r, "continued": y}, ...}, one entry
 * for each of the four steps, keyed by its first phase (aliases as
 * anywhere): of the variant's users, r reached that phase and y of those
 * the next one. 0 when absent, 1 when read, -1 refused. */
static int parse_steps(const json_t *v, const char *where, analyze_req *rq, size_t i,
                       ab_error *err)
{
    const json_t *steps = json_object_get(v, "steps");
    const ab_arm_counts *a = &rq->arms[i];
    unsigned given = 0;
    const char *key;
    json_t *val;
    if (!steps || json_is_null(steps)) return 0;
    if (!json_is_object(steps))
        return ab_error_set(err, 400, "%s.steps: must be an object of phase: "
                                      "{\"reached\": n, \"continued\": n}", where);
    json_object_foreach((json_t *)steps, key, val) {
        ab_phase ph;
        char at[96];
        ab_journey_arm *s;
        if (ab_phase_parse(key, strlen(key), &ph)) {
            char text[sizeof err->text];
            snprintf(at, sizeof at, "%s.steps", where);
            return ab_error_set(err, 400, "%s",
                                ab_phase_unknown(text, sizeof text, at, key, strlen(key)));
        }
        snprintf(at, sizeof at, "%s.steps.%s", where, ab_phase_name(ph));
        if ((unsigned)ph >= AB_JOURNEY_STEPS)
            return ab_error_set(err, 400, "%s: no step starts at the last phase", at);
        if (given & (1u << ph))
            return ab_error_set(err, 400, "%s: the step is given twice", at);
        given |= 1u << ph;
        if (!json_is_object(val))
            return ab_error_set(err, 400, "%s: must be {\"reached\": n, \"continued\": n}", at);
        s = &rq->journey.steps[ph].arm[i];
        s->users = a->users;
        s->reached = s->continued = NAN;
        if (ab_jin_known_keys(val, step_keys, at, err) ||
            ab_jin_count(val, "reached", at, &s->reached, NULL, err) ||
            ab_jin_count(val, "continued", at, &s->continued, NULL, err))
            return -1;
        if (isnan(s->reached) || isnan(s->continued))
            return ab_error_set(err, 400, "%s: reached and continued are both required", at);
        if (s->reached > a->users)
            return ab_error_set(err, 400, "%s: reached (%.0f) exceeds users (%.0f)", at,
                                s->reached, a->users);
        if (s->continued > s->reached)
            return ab_error_set(err, 400, "%s: continued (%.0f) exceeds reached (%.0f)", at,
                                s->continued, s->reached);
    }
    if (given != (1u << AB_JOURNEY_STEPS) - 1)
        return ab_error_set(err, 400, "%s.steps: give all four steps (awareness, "
                                      "consideration, decision, retention)", where);
    return 1;
}

/* Counts the optional groups (revenue, NPS) given; all arms or none. */
static int group_given(int given, size_t i, int *seen, const char *what,
                       const char *where, ab_error *err)
{
    if (i == 0) *seen = given;
    else if (given != *seen)
        return ab_error_set(err, 400, "%s: %s must be given for every variant or none",
                            where, what);
    return 0;
}

static int parse_variant(const json_t *v, size_t i, analyze_req *rq, int *rev_seen,
                         int *nps_seen, int *steps_seen, ab_error *err)
{
    int steps;
    char where[32];
    ab_arm_counts *a = &rq->arms[i];
    int p_users, p_sum, p_sq, p_pro, p_pas, p_det;
    const char *name = NULL;

    snprintf(where, sizeof where, "variants[%zu]", i);
    if (!json_is_object(v)) return ab_error_set(err, 400, "%s: must be an object", where);
    if (ab_jin_known_keys(v, variant_keys, where, err)) return -1;
    if (ab_jin_string(v, "name", where, &name, NULL, err)) return -1;
    if (!name || !*name || strlen(name) > 64)
        return ab_error_set(err, 400, "%s.name: required, 1 to 64 bytes", where);
    for (size_t j = 0; j < i; j++)
        if (!strcmp(rq->names[j], name))
            return ab_error_set(err, 400, "%s.name: \"%s\" is used twice", where, name);
    rq->names[i] = name;

    if (ab_jin_count(v, "users", where, &a->users, &p_users, err)) return -1;
    if (!p_users) return ab_error_set(err, 400, "%s.users: required", where);
    if (parse_conversions(v, where, rq, a, err)) return -1;
    if ((steps = parse_steps(v, where, rq, i, err)) < 0 ||
        group_given(steps, i, steps_seen, "steps", where, err))
        return -1;

    if (ab_jin_count(v, "promoters", where, &a->promoters, &p_pro, err) ||
        ab_jin_count(v, "passives", where, &a->passives, &p_pas, err) ||
        ab_jin_count(v, "detractors", where, &a->detractors, &p_det, err))
        return -1;
    if (group_given(p_pro || p_pas || p_det, i, nps_seen, "promoters/passives/detractors",
                    where, err))
        return -1;
    /* Each count may be 2^53, their total must stay exact (the NPS
     * summary's own check): the library refused it, and the client got
     * "analysis failed: invalid argument" naming nothing to fix. */
    if (!(a->promoters + a->passives + a->detractors < AB_MAX_COUNT))
        return ab_error_set(err, 400,
                            "%s: promoters + passives + detractors must be below 2^53", where);

    if (ab_jin_number(v, "revenue_sum", where, -1e300, 1e300, 0, &a->revenue.sum, &p_sum, err) ||
        ab_jin_number(v, "revenue_sumsq", where, 0.0, 1e300, 0, &a->revenue.sumsq, &p_sq, err))
        return -1;
    if (p_sum != p_sq)
        return ab_error_set(err, 400, "%s: revenue_sum and revenue_sumsq go together", where);
    if (group_given(p_sum, i, rev_seen, "revenue_sum and revenue_sumsq", where, err)) return -1;
    a->revenue.n = a->users;
    /* Cauchy–Schwarz: (sum x)^2 <= n sum x^2 for any real data. */
    if (p_sum && a->revenue.sum * a->revenue.sum > a->users * a->revenue.sumsq * (1 + 1e-12))
        return ab_error_set(err, 400,
                            "%s: revenue_sumsq is too small for revenue_sum over %.0f users",
                            where, a->users);
    return 0;
}

static int parse_weights(const json_t *body, analyze_req *rq, ab_error *err)
{
    const json_t *wv = json_object_get(body, "weights");
    size_t i;
    double sum = 0.0, max = 0.0;
    json_t *e;

    if (!wv || json_is_null(wv)) return 0;
    if (!json_is_array(wv) || json_array_size(wv) != rq->k)
        return ab_error_set(err, 400, "weights: must be an array of one number per variant");
    json_array_foreach(wv, i, e) {
        double d = json_is_number(e) ? json_number_value(e) : NAN;
        if (!isfinite(d) || d <= 0.0)
            return ab_error_set(err, 400, "weights[%zu]: must be a positive number", i);
        rq->weights[i] = d;
        sum += d;
        if (d > max) max = d;
    }
    /* As in experiment.c: the plain sum keeps simple splits exact; only when
     * it overflows are the weights scaled by the largest first. ([1e308,
     * 1e308] summed to infinity, every weight became 0 and the sample-ratio
     * test failed with a 500.) */
    if (!isfinite(sum)) {
        sum = 0.0;
        for (i = 0; i < rq->k; i++) sum += (rq->weights[i] /= max);
    }
    for (i = 0; i < rq->k; i++) {
        rq->weights[i] /= sum;
        if (!(rq->weights[i] > 0.0))
            return ab_error_set(err, 400, "weights[%zu]: too small next to the others", i);
    }
    rq->has_weights = 1;
    return 0;
}

static int parse_request(const json_t *body, analyze_req *rq, ab_error *err)
{
    const json_t *vars;
    size_t i;
    json_t *v;
    int rev_seen = 0, nps_seen = 0, steps_seen = 0;

    if (!json_is_object(body)) return ab_error_set(err, 400, "body: must be a JSON object");
    if (ab_jin_known_keys(body, top_keys, "", err) || parse_options(body, rq, err)) return -1;
    vars = json_object_get(body, "variants");
    if (!json_is_array(vars) || json_array_size(vars) < 2 ||
        json_array_size(vars) > AB_MAX_ARMS)
        return ab_error_set(err, 400, "variants: must be an array of 2 to %d variants",
                            AB_MAX_ARMS);
    rq->k = json_array_size(vars);
    json_array_foreach(vars, i, v)
        if (parse_variant(v, i, rq, &rev_seen, &nps_seen, &steps_seen, err)) return -1;
    rq->has_journey = steps_seen;
    rq->opts.revenue = rev_seen;
    rq->opts.nps = nps_seen;
    if (rq->opts.metric == AB_METRIC_REVENUE && !rev_seen)
        return ab_error_set(err, 400, "metric: revenue needs revenue_sum and revenue_sumsq");
    if (rq->opts.metric == AB_METRIC_NPS && !nps_seen)
        return ab_error_set(err, 400, "metric: nps needs promoters, passives and detractors");
    return parse_weights(body, rq, err);
}

static json_t *build_answer(const analyze_req *rq, const ab_arm_result *res, ab_error *err)
{
    ab_arm_view view[AB_MAX_ARMS];
    ab_verdict_arm arms[AB_MAX_ARMS];
    ab_verdict verdict;
    ab_verdict_context ctx;
    ab_chisq_result omni = {NAN, NAN, NAN}, srm = {NAN, NAN, NAN};
    double x[AB_MAX_ARMS], n[AB_MAX_ARMS];
    int alert = 0;
    json_t *out = NULL;

    memset(&ctx, 0, sizeof ctx);
    memset(view, 0, sizeof view);
    memset(arms, 0, sizeof arms);
    for (size_t i = 0; i < rq->k; i++) {
        const ab_primary *p = &res[i].primary;
        int seq = rq->opts.cmp.method == AB_METHOD_SEQUENTIAL;
        x[i] = rq->arms[i].conversions[rq->opts.phase];
        n[i] = rq->arms[i].users;
        view[i].name = rq->names[i];
        if (!i) continue;
        /* Stateless: no minimum duration, no plan and no history: judged
         * as it stands, without futility. */
        arms[i].ci = seq ? p->sequential_ci : p->effect_ci;
        arms[i].status = view[i].status =
            seq ? ab_arm_judge_sequential(rq->opts.cmp.alpha, p->p_adjusted, arms[i].ci,
                                          p->effect, NAN, 1)
                : ab_arm_judge_fixed(rq->opts.cmp.alpha, p->p_adjusted, p->effect);
        arms[i].p = p->p_adjusted;
    }
    for (size_t i = 1; i < rq->k; i++) {
        arms[i].value = ab_analysis_primary_value(&rq->opts, &rq->arms[i], &res[i]);
        arms[i].control = ab_analysis_primary_value(&rq->opts, &rq->arms[0], &res[0]);
    }
    if (rq->opts.metric == AB_METRIC_CONVERSION &&
        ab_chisq_homogeneity(x, n, rq->k, &omni) != AB_OK)
        goto numeric;
    if (rq->has_weights && ab_srm_check(n, rq->weights, rq->k, &srm, &alert) != AB_OK)
        goto numeric;
    ctx.names = (const char *const *)rq->names;
    ctx.k = rq->k;
    ctx.metric = rq->opts.metric;
    ctx.phase = rq->opts.phase;
    ctx.method = rq->opts.cmp.method;
    ctx.mde = NAN;
    ctx.srm_alert = alert;
    ctx.srm_observed = n;
    ctx.srm_p = srm.p_value;
    ctx.progress = ctx.days_remaining = ctx.days_running = NAN;
    ab_verdict_decide(&ctx, arms, &verdict);

    out = json_object();
    if (!out ||
        ab_jset(out, "phase", json_string(ab_phase_name(rq->opts.phase))) ||
        ab_jset(out, "metric", json_string(ab_metric_name(rq->opts.metric))) ||
        ab_jset(out, "method", json_string(ab_method_name(rq->opts.cmp.method))) ||
        ab_jset(out, "alpha", json_real(rq->opts.cmp.alpha)) ||
        ab_jset(out, "ci_level", json_real(1.0 - rq->opts.cmp.alpha)) ||
        ab_jset(out, "correction", json_string(ab_correction_name(rq->opts.cmp.correction))) ||
        ab_jset(out, "omnibus", rq->opts.metric == AB_METRIC_CONVERSION
                    ? json_pack("{s:o,s:o,s:o}", "statistic", ab_jnum(omni.statistic),
                                "df", ab_jnum(omni.df), "p_value", ab_jnum(omni.p_value))
                    : json_null()) ||
        ab_jset(out, "srm", rq->has_weights
                    ? json_pack("{s:o,s:o,s:b}", "statistic", ab_jnum(srm.statistic),
                                "p_value", ab_jnum(srm.p_value), "alert", alert)
                    : json_null()) ||
        ab_jset(out, "variants", ab_variants_json(&rq->opts, rq->arms, res, view, rq->k)) ||
        (rq->has_journey && ab_jset(out, "journey", ab_journey_json(&rq->journey, rq->names,
                                                                     rq->k))) ||
        ab_jset(out, "verdict", ab_verdict_json(&verdict, view))) {
        json_decref(out);
        ab_error_set(err, 500, "out of memory");
        return NULL;
    }
    return out;
numeric:
    ab_error_set(err, 500, "numerical failure in the omnibus or sample-ratio test");
    return NULL;
}

json_t *ab_analyze_json(const json_t *body, ab_error *err)
{
    analyze_req *rq = calloc(1, sizeof *rq);
    ab_arm_result *res = calloc(AB_MAX_ARMS, sizeof *res);
    json_t *out = NULL;
    ab_status st;

    if (!rq || !res) {
        ab_error_set(err, 500, "out of memory");
        goto done;
    }
    if (parse_request(body, rq, err)) goto done;
    if (rq->has_journey) {
        /* Every variant was asked the NPS question, as in an experiment. */
        for (size_t i = 0; i < rq->k; i++)
            rq->journey.nps[i] = (ab_nps_response_arm){rq->arms[i].users, rq->arms[i].promoters,
                                                       rq->arms[i].passives,
                                                       rq->arms[i].detractors};
        if ((st = ab_journey_bound(&rq->journey, rq->k, rq->opts.cmp.alpha)) != AB_OK) {
            ab_error_set(err, st == AB_EINVAL ? 400 : 500, "journey bounds failed: %s",
                         ab_strerror(st));
            goto done;
        }
    }
    if ((st = ab_analysis_run(&rq->opts, rq->arms, rq->k, res)) != AB_OK) {
        ab_error_set(err, st == AB_EINVAL ? 400 : 500, "analysis failed: %s",
                     ab_strerror(st));
        goto done;
    }
    out = build_answer(rq, res, err);
done:
    free(res);
    free(rq);
    return out;
}

json_t *ab_analyze_buffer(const char *buf, size_t len, ab_error *err)
{
    json_t *body = ab_jin_parse(buf, len, err), *out;
    if (!body) return NULL;
    out = ab_analyze_json(body, err);
    json_decref(body);
    return out;
}
