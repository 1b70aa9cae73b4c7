/* common.c — status strings, start-up, validation and normal critical values
 * shared by every statistics module. */
#include "internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>

const char *ab_strerror(ab_status status)
{
    switch (status) {
    case AB_OK: return "ok";
    case AB_EINVAL: return "invalid argument";
    case AB_ENUMERIC: return "numerical failure";
    case AB_ERANGE: return "size limit exceeded";
    }
    return "unknown status";
}

void ab_stats_init(void)
{
    /* GSL's default handler aborts the process; every caller here checks
     * the status codes instead. */
    gsl_set_error_handler_off();
}

int ab_valid_count(double x)
{
    return isfinite(x) && x >= 0.0 && x <= AB_MAX_COUNT && floor(x) == x;
}

int ab_valid_level(double a)
{
    return isfinite(a) && a > 0.0 && a < 1.0;
}

int ab_valid_prop(double x, double n)
{
    return ab_valid_count(x) && ab_valid_count(n) && x <= n;
}

double ab_z_crit(double alpha)
{
    /* Q^-1(alpha/2) keeps full precision for tiny alpha, where
     * P^-1(1 - alpha/2) would lose digits in the subtraction. */
    return gsl_cdf_ugaussian_Qinv(alpha / 2.0);
}

double ab_p_two_sided_z(double z)
{
    if (isnan(z)) return NAN;
    double p = 2.0 * gsl_cdf_ugaussian_Q(fabs(z));
    return p > 1.0 ? 1.0 : p;
}

ab_interval ab_interval_nan(void)
{
    ab_interval ci = {NAN, NAN};
    return ci;
}

void ab_ksum_add(ab_ksum *s, double v)
{
    double t = s->sum + v;
    if (fabs(s->sum) >= fabs(v)) s->comp += (s->sum - t) + v;
    else s->comp += (v - t) + s->sum;
    s->sum = t;
}

double ab_ksum_value(const ab_ksum *s)
{
    return s->sum + s->comp;
}
