/* prior.c — a normal prior N(mu0, sd0²) on the relative effect (lift)
 * combined with its delta-method estimate: the normal posterior,
 * P(L > 0) and the risk E[max(-L, 0)] (README "Statistics", Prior). */
#include "internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

ab_status ab_prior_posterior(double lift, double var_lift, double prior_mean,
                             double prior_sd, ab_prior_result *out)
{
    /* The estimate may be undefined (NaN, e.g. a control mean of 0); an
     * infinite one, a negative variance or a prior that is not N(finite,
     * sd > 0) is wrong input. prior_sd = +inf is the flat prior. */
    if (!out || isinf(lift) || isinf(var_lift) || var_lift < 0.0 ||
        !isfinite(prior_mean) || isnan(prior_sd) || !(prior_sd > 0.0))
        return AB_EINVAL;
    out->mean = out->var = out->sd = NAN;
    out->prob_beat_control = out->risk = NAN;
    /* var_lift = 0 is an estimate without spread (constant data): the
     * sequential tests call that undefined (README "Statistics"), and so does
     * this. */
    if (isnan(lift) || isnan(var_lift) || var_lift == 0.0) return AB_OK;

    /* Precisions add: 1/V_L + 1/sd0²; the flat prior adds 0. */
    double w0 = isinf(prior_sd) ? 0.0 : 1.0 / (prior_sd * prior_sd);
    double wl = 1.0 / var_lift;
    double prec = wl + w0;
    if (!isfinite(prec) || !(prec > 0.0)) return AB_ENUMERIC;
    /* The mean as a weighted average of lift and mu0, which stays between
     * the two whatever the scales. */
    double share = wl / prec;
    out->mean = share * lift + (1.0 - share) * prior_mean;
    out->var = 1.0 / prec;
    out->sd = sqrt(out->var);
    double t = out->mean / out->sd;
    if (!isfinite(t)) return AB_ENUMERIC;
    /* L ~ N(m, s²): P(L > 0) = Phi(m/s) = Q(-m/s);
     * E[max(-L, 0)] = s phi(m/s) - m Phi(-m/s) = s (phi(t) - t Q(t)). */
    out->prob_beat_control = gsl_cdf_ugaussian_Q(-t);
    double risk = out->sd * (gsl_ran_ugaussian_pdf(t) - t * gsl_cdf_ugaussian_Q(t));
    /* Far into the upper tail the two terms cancel to rounding noise. */
    out->risk = risk > 0.0 ? risk : 0.0;
    return AB_OK;
}
