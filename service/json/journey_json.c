/* journey_json.c — renders the journey steps and the NPS response of an
 * evaluation as JSON (README "Results and decision"; undefined figures are
 * null). */
#include "json/journey_json.h"

#include <math.h>

#include "core/phase.h"
#include "json/jsonout.h"

static double ratio(double x, double n)
{
    return n > 0 ? x / n : NAN;
}

/* The name of the arm whose users the bounds trim, or null when none. */
static json_t *trimmed_json(int trimmed, const char *const *names, size_t i)
{
    return trimmed < 0 ? json_null() : json_string(names[trimmed ? i : 0]);
}

/* Appends o to list, stealing it (NULL: out of memory): 0, or -1. */
static int append(json_t *list, json_t *o)
{
    return json_array_append_new(list, o) ? -1 : 0;
}

static json_t *step_arm_json(const ab_journey_arm *a, const char *name)
{
    json_t *o = json_object();
    if (!o || ab_jset(o, "name", json_string(name)) ||
        ab_jset(o, "users", ab_jcount(a->users)) ||
        ab_jset(o, "reached", ab_jcount(a->reached)) ||
        ab_jset(o, "continued", ab_jcount(a->continued)) ||
        ab_jset(o, "rate", ab_jnum(ratio(a->continued, a->reached))) ||
        ab_jset(o, "reach", ab_jnum(ratio(a->reached, a->users)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* reach_diff: how many more (or fewer) of the variant's users reach the
 * step's first phase; the bounds trim the arm that brings more. */
static json_t *step_vs_json(const ab_journey_bounds *b, const char *const *names, size_t i)
{
    json_t *o = json_object();
    if (!o || ab_jset(o, "variant", json_string(names[i])) ||
        ab_jset(o, "diff", ab_jnum(b->diff)) ||
        ab_jset(o, "bounds", ab_jinterval(b->bounds)) ||
        ab_jset(o, "bounds_ci", ab_jinterval(b->bounds_ci)) ||
        ab_jset(o, "reach_diff", ab_jnum(b->reach_v - b->reach_c)) ||
        ab_jset(o, "trimmed", trimmed_json(b->trimmed, names, i)) ||
        ab_jset(o, "trim", ab_jnum(b->trim))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *step_json(const ab_journey_step_result *r, unsigned from,
                         const char *const *names, size_t k)
{
    json_t *o = json_object(), *vars = json_array(), *vs = json_array(), *v, *c;
    if (!o || !vars || !vs) goto fail;
    if (ab_jset(o, "from", json_string(ab_phase_name((ab_phase)from))) ||
        ab_jset(o, "to", json_string(ab_phase_name((ab_phase)(from + 1)))))
        goto fail;
    for (size_t i = 0; i < k; i++)
        if (append(vars, step_arm_json(&r->arm[i], names[i]))) goto fail;
    for (size_t i = 1; i < k; i++)
        if (append(vs, step_vs_json(&r->vs[i], names, i))) goto fail;
    /* ab_jset steals even when it fails: the lists are o's from here. */
    v = vars;
    c = vs;
    vars = vs = NULL;
    if (ab_jset(o, "variants", v) || ab_jset(o, "vs_control", c)) goto fail;
    return o;
fail:
    json_decref(vars);
    json_decref(vs);
    json_decref(o);
    return NULL;
}

static json_t *nps_arm_json(const ab_nps_response_arm *a, const char *name)
{
    double r = a->promoters + a->passives + a->detractors;
    json_t *o = json_object();
    if (!o || ab_jset(o, "name", json_string(name)) ||
        ab_jset(o, "users", ab_jcount(a->users)) ||
        ab_jset(o, "responses", ab_jcount(r)) ||
        ab_jset(o, "rate", ab_jnum(ratio(r, a->users)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *nps_vs_json(const ab_nps_response_result *n, const char *const *names, size_t i)
{
    json_t *o = json_object();
    if (!o || ab_jset(o, "variant", json_string(names[i])) ||
        ab_jset(o, "z", ab_jnum(n->z)) ||
        ab_jset(o, "p_value", ab_jnum(n->p_value)) ||
        ab_jset(o, "bounds", ab_jinterval(n->bounds)) ||
        ab_jset(o, "diff", ab_jnum(n->diff)) ||
        ab_jset(o, "trimmed", trimmed_json(n->trimmed, names, i)) ||
        ab_jset(o, "trim", ab_jnum(n->trim))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *nps_response_json(const ab_journey_result *j, const char *const *names, size_t k)
{
    json_t *o = json_object(), *vars = json_array(), *vs = json_array(), *v, *c;
    if (!o || !vars || !vs) goto fail;
    for (size_t i = 0; i < k; i++)
        if (append(vars, nps_arm_json(&j->nps[i], names[i]))) goto fail;
    for (size_t i = 1; i < k; i++)
        if (append(vs, nps_vs_json(&j->nps_vs[i], names, i))) goto fail;
    v = vars;
    c = vs;
    vars = vs = NULL;
    if (ab_jset(o, "variants", v) || ab_jset(o, "vs_control", c)) goto fail;
    return o;
fail:
    json_decref(vars);
    json_decref(vs);
    json_decref(o);
    return NULL;
}

json_t *ab_journey_json(const ab_journey_result *j, const char *const *names, size_t k)
{
    json_t *o = json_object(), *steps = json_array(), *s;
    if (!o || !steps) goto fail;
    for (unsigned p = 0; p < AB_JOURNEY_STEPS; p++)
        if (append(steps, step_json(&j->steps[p], p, names, k))) goto fail;
    s = steps;
    steps = NULL;
    if (ab_jset(o, "steps", s) || ab_jset(o, "nps_response", nps_response_json(j, names, k)))
        goto fail;
    return o;
fail:
    json_decref(steps);
    json_decref(o);
    return NULL;
}
