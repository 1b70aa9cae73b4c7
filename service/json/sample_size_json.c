/* sample_size_json.c — parameters of the sample-size calculator in, the
 * plan out. */
#include "json/sample_size_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "core/defaults.h"
#include "core/experiment.h"
#include "json/jsonout.h"

void ab_sample_size_req_init(ab_sample_size_req *rq)
{
    memset(rq, 0, sizeof *rq);
    rq->metric = AB_METRIC_CONVERSION;
    rq->alpha = AB_DEFAULT_ALPHA;
    rq->power = AB_DEFAULT_POWER;
    rq->tuning = AB_DEFAULT_TUNING;
    rq->variants = 2;
    rq->correction = AB_DEFAULT_CORRECTION;
}

/* Most users or days the plan can state: beyond 2^53 a count is neither
 * exact as a double nor representable as a JSON integer (the cast to one
 * overflowed: daily_users=1e-300 answered "days": -9223372036854775808). */
#define PLAN_MAX AB_MAX_COUNT

/* A copy of s for quoting in an error, at most 32 bytes, bytes outside
 * printable ASCII as '?': query values are URL-decoded bytes, and one that
 * is not UTF-8 (%ff) made jansson refuse the error text (500 "out of
 * memory" instead of the 400 naming the parameter). */
static const char *printable(const char *s, char buf[static 33])
{
    size_t i;
    for (i = 0; i < 32 && s[i]; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

/* A finite number; "10%" is 0.10 when percent is allowed. */
static int parse_number(const char *s, int percent, double *out)
{
    char *end;
    double d;
    if (!s || !*s) return -1;
    errno = 0;
    d = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(d)) return -1;
    if (percent && *end == '%') {
        d /= 100.0;
        end++;
    }
    if (*end) return -1;
    *out = d;
    return 0;
}

int ab_sample_size_req_set(ab_sample_size_req *rq, const char *key, const char *value,
                           ab_error *err)
{
    char qk[33], qv[33];
    double d;
    if (!strcmp(key, "correction")) {
        if (ab_correction_parse(value, &rq->correction))
            return ab_error_set(err, 400, "correction: must be holm, bonferroni, bh or none");
        return 0;
    }
    if (!strcmp(key, "variants")) {
        if (parse_number(value, 0, &d) || d < 2 || d > AB_MAX_ARMS || floor(d) != d)
            return ab_error_set(err, 400, "variants: must be a whole number from 2 to %d",
                                AB_MAX_ARMS);
        rq->variants = d;
        return 0;
    }
    if (!strcmp(key, "daily_users") || !strcmp(key, "daily-users")) {
        if (parse_number(value, 0, &d) || d <= 0)
            return ab_error_set(err, 400, "daily_users: must be a positive number");
        rq->daily_users = d;
        rq->has_daily_users = 1;
        return 0;
    }
    if (!strcmp(key, "metric")) {
        if (ab_metric_parse(value, &rq->metric))
            return ab_error_set(err, 400, "metric: \"%s\" is not one of conversion, revenue, nps",
                                printable(value, qv));
        return 0;
    }
    if (!strcmp(key, "sequential_tuning") || !strcmp(key, "sequential-tuning")) {
        ab_experiment_config cfg;
        memset(&cfg, 0, sizeof cfg);
        /* The experiments' rule (core/experiment.c), one home. */
        if (parse_number(value, 0, &cfg.tuning)) cfg.tuning = NAN;
        if (ab_experiment_check_tuning(&cfg, err)) return -1;
        rq->tuning = cfg.tuning;
        return 0;
    }
    if (!strcmp(key, "sd")) {
        /* Squared by the sequential size: bounded as a revenue baseline is. */
        if (parse_number(value, 0, &d) || !(d > 0) || d > AB_LARGE_MAX)
            return ab_error_set(err, 400, "sd: must be a positive number, at most %g",
                                AB_LARGE_MAX);
        rq->sd = d;
        rq->has_sd = 1;
        return 0;
    }
    if (strcmp(key, "baseline") && strcmp(key, "mde") && strcmp(key, "alpha") &&
        strcmp(key, "power") && strcmp(key, "promoters") && strcmp(key, "detractors"))
        return ab_error_set(err, 400, "unknown parameter \"%s\"", printable(key, qk));
    if (parse_number(value, 1, &d))
        return ab_error_set(err, 400, "%s: \"%s\" is not a number", key,
                            printable(value, qv));
    if (!strcmp(key, "baseline")) {
        /* Its range depends on the metric: ab_sample_size_answer. */
        rq->baseline = d;
        rq->has_baseline = 1;
    } else if (!strcmp(key, "mde")) {
        rq->mde = d;
        rq->has_mde = 1;
        rq->mde_percent = strchr(value, '%') != NULL;
    } else if (!strcmp(key, "promoters") || !strcmp(key, "detractors")) {
        if (d < 0 || d > 1)
            return ab_error_set(err, 400, "%s: must be a share from 0 to 1 (0.4 or 40%%)", key);
        if (key[0] == 'p') {
            rq->promoters = d;
            rq->has_promoters = 1;
        } else {
            rq->detractors = d;
            rq->has_detractors = 1;
        }
    } else if (!strcmp(key, "alpha")) {
        if (ab_alpha_check(d, AB_ALPHA_MAX_CALC, "alpha", err)) return -1;
        rq->alpha = d;
    } else if (!strcmp(key, "power")) {
        if (d <= 0 || d >= 1) return ab_error_set(err, 400, "power: must be between 0 and 1");
        rq->power = d;
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX and '+' of one query component into out (cap bytes with the
 * NUL). Rejects truncated escapes, %00 and overlong input. */
static int url_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= len) return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap) return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int ab_sample_size_req_query(ab_sample_size_req *rq, const char *query, ab_error *err)
{
    const char *p = query;
    while (p && *p) {
        const char *amp = strchr(p, '&'), *eq;
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        char key[64], value[128];
        eq = memchr(p, '=', len);
        if (len == 0) {
            p = amp ? amp + 1 : NULL;
            continue;
        }
        if (!eq) {
            /* Raw query bytes: quoted as printable ASCII only, or a "%ff"
             * made the text invalid UTF-8, which jansson refused to put in
             * the JSON error answer (500 instead of this 400). */
            char q[33];
            size_t n;
            for (n = 0; n < len && n < 32; n++) q[n] = p[n] >= 0x20 && p[n] < 0x7f ? p[n] : '?';
            q[n] = '\0';
            return ab_error_set(err, 400, "query: \"%s\" has no value", q);
        }
        if (url_decode(p, (size_t)(eq - p), key, sizeof key) ||
            url_decode(eq + 1, len - (size_t)(eq - p) - 1, value, sizeof value))
            return ab_error_set(err, 400, "query: malformed or overlong parameter");
        if (!strcmp(key, "token")) { /* authentication, not a parameter */
            p = amp ? amp + 1 : NULL;
            continue;
        }
        if (ab_sample_size_req_set(rq, key, value, err)) return -1;
        p = amp ? amp + 1 : NULL;
    }
    return 0;
}

/* The plan of one metric before it is rendered: the fixed-horizon and the
 * sequential users per variant, the value planned from and the one to
 * detect, and (revenue, NPS) the sd planned with. */
typedef struct {
    double per, seq, baseline, target, sd;
} plan;

/* A parameter the metric does not take is refused, not ignored: sd with a
 * conversion rate would silently plan something else than was asked. */
static int not_taken(const ab_sample_size_req *rq, ab_error *err)
{
    const char *m = ab_metric_name(rq->metric), *what = NULL;
    if (rq->metric != AB_METRIC_REVENUE && rq->has_sd)
        what = "sd: only for metric=revenue (NPS takes its sd from promoters and detractors)";
    else if (rq->metric != AB_METRIC_NPS && (rq->has_promoters || rq->has_detractors))
        what = rq->has_promoters ? "promoters: only for metric=nps"
                                 : "detractors: only for metric=nps";
    else if (rq->metric == AB_METRIC_NPS && rq->has_baseline)
        return ab_error_set(err, 400, "baseline: not for metric=nps (its baseline is 100 x "
                                      "(promoters - detractors))");
    if (!what) return 0;
    return ab_error_set(err, 400, "%s; metric is %s", what, m);
}

/* A fixed-horizon size the library could not give, as the question's
 * fault (400) where it is one. */
static int size_failed(ab_status st, const ab_sample_size_req *rq, double baseline,
                       double effect, ab_error *err)
{
    if (st == AB_ERANGE || st == AB_ENUMERIC)
        /* Valid parameters whose plan cannot be stated (baseline=1e-300,
         * mde=1e-9): a question without a useful answer, not a server
         * failure, so 400 rather than the 500 it used to be. */
        return ab_error_set(err, 400,
                            "sample size: more than 2^53 users per variant would be needed "
                            "(baseline %g, mde %g, alpha %g, power %g); no experiment can do that",
                            baseline, rq->mde, rq->alpha, rq->power);
    if (st == AB_EINVAL) {
        /* Every parameter is valid on its own by now; what is left are the
         * two plans without an answer, which used to get the library's bare
         * "sample size: invalid argument". */
        if (effect == 0.0)
            return ab_error_set(err, 400, "mde: %g is too small to change a baseline of %g",
                                rq->mde, baseline);
        return ab_error_set(err, 400,
                            "power: %g is below the chance of a significant result without any "
                            "effect at alpha %g; ask for more power",
                            rq->power, rq->alpha);
    }
    return ab_error_set(err, 500, "sample size: %s", ab_strerror(st));
}

/* Conversion and revenue: a relative mde of a baseline whose range is the
 * experiments' rule (ab_experiment_check_baseline, one home). */
static int plan_relative(const ab_sample_size_req *rq, plan *pl, ab_error *err)
{
    ab_experiment_config cfg;
    size_t k = (size_t)rq->variants;
    int conv = rq->metric == AB_METRIC_CONVERSION;
    ab_status st;

    if (!rq->has_baseline)
        return ab_error_set(err, 400, conv ? "baseline: required (the control's expected "
                                             "rate, e.g. 0.05)"
                                           : "baseline: required (the control's expected "
                                             "revenue per user, e.g. 12.5)");
    if (!rq->has_mde)
        return ab_error_set(err, 400,
                            "mde: required (the relative effect to detect, e.g. 0.1 or 10%%)");
    if (!conv && !rq->has_sd)
        return ab_error_set(err, 400, "sd: required for metric=revenue (the standard "
                                      "deviation of revenue per user, e.g. 40)");
    if (rq->mde == 0 || rq->mde <= -1)
        return ab_error_set(err, 400, "mde: must be non-zero and above -100%%");
    memset(&cfg, 0, sizeof cfg);
    cfg.metric = rq->metric;
    cfg.baseline = rq->baseline;
    cfg.mde = rq->mde;
    if (ab_experiment_check_baseline(&cfg, err)) return -1;
    pl->baseline = rq->baseline;
    pl->target = rq->baseline * (1.0 + rq->mde);
    if (conv) {
        st = ab_sample_size_prop(rq->baseline, rq->mde, rq->alpha, rq->power, k,
                                 rq->correction, &pl->per);
        if (st != AB_OK)
            return size_failed(st, rq, rq->baseline, pl->target == rq->baseline ? 0.0 : 1.0,
                               err);
        if (ab_sample_size_seq_prop(rq->baseline, rq->mde, rq->alpha, rq->power, k,
                                    rq->correction, rq->tuning, &pl->seq))
            pl->seq = NAN;
        return 0;
    }
    /* README "Calculators without state":
     * n = ceil(2 (z_a' + z_b)² sd² / (mde · baseline)²);
     * the sequential size with that sd in both arms, as results plan it. */
    pl->sd = rq->sd;
    st = ab_sample_size_mean(rq->baseline, rq->sd, rq->mde, rq->alpha, rq->power, k,
                             rq->correction, &pl->per);
    if (st != AB_OK) return size_failed(st, rq, rq->baseline, rq->baseline * rq->mde, err);
    if (ab_sample_size_seq(rq->mde * rq->baseline, rq->sd * rq->sd, rq->sd * rq->sd, rq->alpha,
                           rq->power, k, rq->correction, rq->tuning, &pl->seq))
        pl->seq = NAN;
    return 0;
}

/* NPS (README "Calculators without state"): mde in points, sd from the planned shares. */
static int plan_nps(const ab_sample_size_req *rq, plan *pl, ab_error *err)
{
    size_t k = (size_t)rq->variants;
    ab_status st;

    if (!rq->has_promoters || !rq->has_detractors)
        return ab_error_set(err, 400, "%s: required for metric=nps (the planned share of %s, "
                                      "e.g. %s)",
                            rq->has_promoters ? "detractors" : "promoters",
                            rq->has_promoters ? "detractors" : "promoters",
                            rq->has_promoters ? "0.2" : "0.4");
    if (!rq->has_mde)
        return ab_error_set(err, 400, "mde: required (the effect to detect in NPS points, "
                                      "e.g. 5)");
    if (rq->promoters + rq->detractors > 1.0)
        return ab_error_set(err, 400, "promoters + detractors = %g: the shares add up to more "
                                      "than 1", rq->promoters + rq->detractors);
    if (rq->mde_percent)
        return ab_error_set(err, 400, "mde: in NPS points for metric=nps (5 is +5 points), "
                                      "not a percentage");
    if (!(rq->mde > 0))
        return ab_error_set(err, 400, "mde: must be a positive number of NPS points");
    pl->baseline = 100.0 * (rq->promoters - rq->detractors);
    pl->target = pl->baseline + rq->mde;
    if (pl->target > 100.0)
        return ab_error_set(err, 400, "mde: a score of %g + %g points is above 100, the "
                                      "highest NPS", pl->baseline, rq->mde);
    if (ab_nps_plan_sd(rq->promoters, rq->detractors, &pl->sd) != AB_OK)
        return ab_error_set(err, 500, "sample size: the NPS sd failed");
    if (!(pl->sd > 0))
        return ab_error_set(err, 400, "promoters, detractors: every answer would score the "
                                      "same (sd 0); no test tells such groups apart");
    st = ab_sample_size_nps(rq->promoters, rq->detractors, rq->mde, rq->alpha, rq->power, k,
                            rq->correction, &pl->per);
    if (st != AB_OK) return size_failed(st, rq, pl->baseline, rq->mde, err);
    if (ab_sample_size_seq(rq->mde, pl->sd * pl->sd, pl->sd * pl->sd, rq->alpha, rq->power, k,
                           rq->correction, rq->tuning, &pl->seq))
        pl->seq = NAN;
    return 0;
}

json_t *ab_sample_size_answer(const ab_sample_size_req *rq, ab_error *err)
{
    plan pl = {NAN, NAN, NAN, NAN, NAN};
    double alpha_each, total, days = NAN, weeks = NAN;
    size_t k = (size_t)rq->variants;
    int rc;
    json_t *out;

    if (not_taken(rq, err)) return NULL;
    rc = rq->metric == AB_METRIC_NPS ? plan_nps(rq, &pl, err) : plan_relative(rq, &pl, err);
    if (rc) return NULL;
    alpha_each = (rq->correction == AB_CORRECT_NONE || k == 2) ? rq->alpha
                                                              : rq->alpha / (double)(k - 1);
    total = pl.per * (double)k;
    if (rq->has_daily_users) {
        days = ceil(total / rq->daily_users);
        weeks = ceil(days / 7.0);
        if (!(days <= PLAN_MAX)) {
            ab_error_set(err, 400,
                         "daily_users: at %g users a day the plan would take more than "
                         "2^53 days",
                         rq->daily_users);
            return NULL;
        }
    }
    /* sequential_per_variant is null where the sequential test has no plan
     * (power below 0.5, README "How abstat decides"; beyond 2^53 users). */
    out = json_object();
    if (!out || ab_jset(out, "metric", json_string(ab_metric_name(rq->metric))) ||
        ab_jset(out, "per_variant", ab_jcount(pl.per)) ||
        ab_jset(out, "sequential_per_variant", ab_jcount(pl.seq)) ||
        ab_jset(out, "total", ab_jcount(total)) ||
        ab_jset(out, "target", json_real(pl.target)) ||
        ab_jset(out, "baseline", json_real(pl.baseline)) ||
        ab_jset(out, "mde", json_real(rq->mde)) ||
        (isfinite(pl.sd) && ab_jset(out, "sd", json_real(pl.sd))) ||
        (rq->metric == AB_METRIC_NPS &&
         (ab_jset(out, "promoters", json_real(rq->promoters)) ||
          ab_jset(out, "detractors", json_real(rq->detractors)))) ||
        ab_jset(out, "alpha", json_real(rq->alpha)) ||
        ab_jset(out, "alpha_per_comparison", json_real(alpha_each)) ||
        ab_jset(out, "power", json_real(rq->power)) ||
        ab_jset(out, "variants", json_integer((json_int_t)k)) ||
        ab_jset(out, "correction", json_string(ab_correction_name(rq->correction))) ||
        ab_jset(out, "sequential_tuning", json_real(rq->tuning)) ||
        (rq->has_daily_users &&
         (ab_jset(out, "daily_users", json_real(rq->daily_users)) ||
          ab_jset(out, "days", ab_jcount(days)) || ab_jset(out, "weeks", ab_jcount(weeks))))) {
        json_decref(out);
        ab_error_set(err, 500, "out of memory");
        return NULL;
    }
    return out;
}
