/* nps.c — Net Promoter Score of one arm and its comparison with the control,
 * with the normal-approximation formulas of README "Statistics". */
#include "internal.h"

/* Score and standard error of P promoters and D detractors among r answers.
 * Counts are validated by the caller; r = 0 leaves both undefined. */
static void nps_score(double promoters, double detractors, double r,
                      double *score, double *se)
{
    if (r == 0.0) {
        *score = NAN;
        *se = NAN;
        return;
    }
    double p = promoters / r, d = detractors / r, s = p - d;
    /* The variance of a per-answer +1/0/-1 score; rounding can push it a
     * hair below 0 when every answer is the same. */
    double var = p + d - s * s;
    if (var < 0.0) var = 0.0;
    *score = 100.0 * s;
    *se = 100.0 * sqrt(var / r);
}

/* Counts of a summary (or the arguments of summarize): each a valid count and
 * the total exact. A true total above 2^53 rounds to 2^53 or more, so the
 * strict bound catches every inexact one. */
static int nps_counts_valid(double promoters, double passives,
                            double detractors)
{
    return ab_valid_count(promoters) && ab_valid_count(passives) &&
           ab_valid_count(detractors) &&
           promoters + passives + detractors < AB_MAX_COUNT;
}

ab_status ab_nps_summarize(double promoters, double passives,
                           double detractors, double alpha,
                           ab_nps_summary *out)
{
    if (!out || !ab_valid_level(alpha) ||
        !nps_counts_valid(promoters, passives, detractors))
        return AB_EINVAL;
    double z = ab_z_crit(alpha);
    if (!isfinite(z)) return AB_ENUMERIC;

    out->promoters = promoters;
    out->passives = passives;
    out->detractors = detractors;
    out->responses = promoters + passives + detractors;
    nps_score(promoters, detractors, out->responses, &out->score, &out->se);
    if (out->responses == 0.0) {
        out->ci = ab_interval_nan();
        return AB_OK;
    }
    out->ci.lo = out->score - z * out->se;
    out->ci.hi = out->score + z * out->se;
    return AB_OK;
}

/* The score and SE of a summary are recomputed from its counts rather than
 * trusted, so a summary that was never filled in (or filled in by hand)
 * cannot yield a comparison inconsistent with its counts. */
static ab_status nps_from_summary(const ab_nps_summary *s, double *score,
                                  double *se)
{
    if (!s || !nps_counts_valid(s->promoters, s->passives, s->detractors) ||
        s->responses != s->promoters + s->passives + s->detractors)
        return AB_EINVAL;
    nps_score(s->promoters, s->detractors, s->responses, score, se);
    return AB_OK;
}

ab_status ab_nps_compare(const ab_nps_summary *v, const ab_nps_summary *c,
                         double alpha, ab_nps_comparison *out)
{
    double score_v, se_v, score_c, se_c;
    if (!out || !ab_valid_level(alpha)) return AB_EINVAL;
    ab_status st = nps_from_summary(v, &score_v, &se_v);
    if (st != AB_OK) return st;
    st = nps_from_summary(c, &score_c, &se_c);
    if (st != AB_OK) return st;
    double z = ab_z_crit(alpha);
    if (!isfinite(z)) return AB_ENUMERIC;

    /* NaN (no answers in an arm) propagates through every field. */
    out->diff = score_v - score_c;
    out->var = se_v * se_v + se_c * se_c;
    double se = sqrt(out->var);
    out->diff_ci.lo = out->diff - z * se;
    out->diff_ci.hi = out->diff + z * se;
    /* With no spread in either arm the z statistic is 0/0 (R: NaN) or
     * ±Inf; like a sequential test with V = 0 (README "Statistics"), the test
     * is undefined rather than infinitely significant. */
    if (!(out->var > 0.0)) {
        out->z = NAN;
        out->p_value = NAN;
        return AB_OK;
    }
    out->z = out->diff / se;
    out->p_value = ab_p_two_sided_z(out->z);
    return AB_OK;
}
