/* history_json.c — renders the points of GET /history (history_json.h). */
#include "json/history_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timefmt.h"
#include "json/jsonout.h"

/* What one variant shows at one point; NaN for null. The comparison comes
 * from the point's analysis (the same code /results uses), when it ran. */
typedef struct {
    double users, conversions, rate, revenue_per_user, nps;
    /* non-control variants */
    double effect, lift, seq_p;
    ab_interval ci, seq_ci;
} figures;

static void figures_of(const ab_experiment_config *c, const ab_history_point *p, size_t v,
                       figures *f)
{
    const ab_arm_counts *a = &p->arms[v];
    f->users = a->users;
    f->conversions = a->conversions[c->phase];
    f->rate = a->users > 0 ? f->conversions / a->users : NAN;
    f->revenue_per_user = p->revenue_per_user[v];
    f->nps = p->nps_score[v];
    f->effect = f->lift = f->seq_p = NAN;
    f->ci = f->seq_ci = (ab_interval){NAN, NAN};
    if (!p->analysed || v == 0) return;
    /* The primary comparison of this point: instantaneous figures, as
     * /results' sequential_p_now and sequential_ci_now. */
    f->effect = p->res[v].primary.effect;
    f->lift = p->res[v].primary.lift;
    f->ci = p->res[v].primary.effect_ci;
    f->seq_ci = p->res[v].primary.sequential_ci;
    f->seq_p = p->res[v].primary.sequential_p;
}

static json_t *time_json(int64_t ms)
{
    char at[40];
    ab_time_format_rfc3339(ms, at, sizeof at);
    return json_string(at);
}

static json_t *point_json(const ab_experiment_config *c, const ab_history_point *p)
{
    json_t *o = json_object(), *vars = json_array(), *cmps = json_array();
    if (!o || !vars || !cmps) goto fail;
    for (size_t v = 0; v < c->k; v++) {
        figures f;
        figures_of(c, p, v, &f);
        if (json_array_append_new(vars, json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "name",
                                                  c->names[v], "users", ab_jcount(f.users),
                                                  "conversions", ab_jcount(f.conversions),
                                                  "rate", ab_jnum(f.rate), "revenue_per_user",
                                                  ab_jnum(f.revenue_per_user), "nps",
                                                  ab_jnum(f.nps))))
            goto fail;
        if (v && json_array_append_new(cmps, json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "variant",
                                                       c->names[v], "effect", ab_jnum(f.effect),
                                                       "lift", ab_jnum(f.lift), "ci",
                                                       ab_jinterval(f.ci), "sequential_ci",
                                                       ab_jinterval(f.seq_ci), "sequential_p",
                                                       ab_jnum(f.seq_p))))
            goto fail;
    }
    if (ab_jset(o, "t", time_json(p->t_ms)) || ab_jset(o, "end", time_json(p->end_ms))) goto fail;
    if (ab_jset(o, "variants", vars)) {
        vars = NULL;
        goto fail;
    }
    if (ab_jset(o, "comparisons", cmps)) {
        cmps = NULL;
        goto fail;
    }
    return o;
fail:
    json_decref(o);
    json_decref(vars);
    json_decref(cmps);
    return NULL;
}

json_t *ab_history_json(const ab_experiment_config *c, const ab_counts *s,
                        const ab_history_span *sp, ab_history_point *p)
{
    json_t *o = json_object(), *points = json_array();
    if (!o || !points) goto fail;
    for (size_t i = 0; i < sp->npoints; i++) {
        ab_history_next(c, s, sp, i, p);
        if (json_array_append_new(points, point_json(c, p))) goto fail;
    }
    if (ab_jset(o, "experiment", json_string(c->id)) ||
        ab_jset(o, "interval", json_string(sp->hourly ? "hour" : "day")) ||
        ab_jset(o, "started_at", sp->started_ms == INT64_MIN ? json_null()
                                                            : time_json(sp->started_ms)))
        goto fail;
    if (ab_jset(o, "points", points)) {
        points = NULL;
        goto fail;
    }
    return o;
fail:
    json_decref(o);
    json_decref(points);
    return NULL;
}

/* ---- CSV ------------------------------------------------------------------ */

/* A field as RFC 4180 has it: quoted (quotes doubled) when it holds a
 * comma, a quote or a line break. */
static void csv_text(FILE *fp, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"') fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

/* ",x" with 15 significant digits, or "," for null. */
static void csv_num(FILE *fp, double x)
{
    if (isfinite(x)) fprintf(fp, ",%.15g", x);
    else fputc(',', fp);
}

static void csv_time(FILE *fp, int64_t ms)
{
    char at[40];
    ab_time_format_rfc3339(ms, at, sizeof at);
    fputs(at, fp);
}

char *ab_history_csv(const ab_experiment_config *c, const ab_counts *s,
                     const ab_history_span *sp, ab_history_point *p, size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&text, &size);
    if (!fp) return NULL;
    fputs("t,end,variant,users,conversions,rate,revenue_per_user,nps,effect,lift,ci_lower,"
          "ci_upper,sequential_ci_lower,sequential_ci_upper,sequential_p\r\n", fp);
    for (size_t i = 0; i < sp->npoints; i++) {
        ab_history_next(c, s, sp, i, p);
        for (size_t v = 0; v < c->k; v++) {
            figures f;
            figures_of(c, p, v, &f);
            csv_time(fp, p->t_ms);
            fputc(',', fp);
            csv_time(fp, p->end_ms);
            fputc(',', fp);
            csv_text(fp, c->names[v]);
            csv_num(fp, f.users);
            csv_num(fp, f.conversions);
            csv_num(fp, f.rate);
            csv_num(fp, f.revenue_per_user);
            csv_num(fp, f.nps);
            csv_num(fp, f.effect);
            csv_num(fp, f.lift);
            csv_num(fp, f.ci.lo);
            csv_num(fp, f.ci.hi);
            csv_num(fp, f.seq_ci.lo);
            csv_num(fp, f.seq_ci.hi);
            csv_num(fp, f.seq_p);
            fputs("\r\n", fp);
        }
    }
    /* A failed write (out of memory) shows in the stream's error flag. */
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad) {
        free(text);
        return NULL;
    }
    *len = size;
    return text;
}
