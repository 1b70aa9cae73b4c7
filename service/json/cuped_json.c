/* cuped_json.c — renders the CUPED comparisons (see cuped_json.h). */
#include "json/cuped_json.h"

#include "core/phase.h"
#include "json/jsonout.h"

int ab_cuped_json_decides(const ab_analysis_opts *opts, const ab_arm_result *r)
{
    switch (opts->metric) {
    case AB_METRIC_CONVERSION: return r->cuped_rate.decides;
    case AB_METRIC_REVENUE: return r->cuped_revenue.decides;
    default: return 0;
    }
}

static json_t *block(const ab_cuped_vs *c, const ab_seq_result *now)
{
    json_t *o = json_object();
    if (!o) return NULL;
    if (ab_jset(o, "theta", ab_jnum(c->r.theta)) || ab_jset(o, "diff", ab_jnum(c->r.diff)) ||
        ab_jset(o, "diff_ci", ab_jinterval(c->r.diff_ci)) || ab_jset(o, "z", ab_jnum(c->r.z)) ||
        ab_jset(o, "p_value", ab_jnum(c->r.p_value)) ||
        ab_jset(o, "variance_reduction", ab_jnum(c->r.variance_reduction)) ||
        ab_jset(o, "p_adjusted", ab_jnum(c->p_adjusted)) ||
        ab_jset(o, "sequential_p", ab_jnum(c->seq.p_value)) ||
        ab_jset(o, "sequential_ci", ab_jinterval(c->seq.ci)) ||
        ab_jset(o, "decides", json_boolean(c->decides)) ||
        (c->decides && now &&
         (ab_jset(o, "sequential_p_now", ab_jnum(now->p_value)) ||
          ab_jset(o, "sequential_ci_now", ab_jinterval(now->ci))))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int ab_cuped_json_set(json_t *vs, const ab_analysis_opts *opts, const ab_arm_result *r,
                      const ab_seq_result *now)
{
    json_t *rate = json_object_get(vs, ab_phase_name(opts->phase));
    json_t *revenue = json_object_get(vs, "revenue");
    if (!opts->cuped) return 0;
    if (rate && ab_jset(rate, "cuped", block(&r->cuped_rate, now))) return -1;
    if (revenue && ab_jset(revenue, "cuped", block(&r->cuped_revenue, now))) return -1;
    return 0;
}
