/* defaults.c — the rules of defaults.h that are code: the range of alpha. */
#include "core/defaults.h"

#include <math.h>

int ab_alpha_check(double alpha, double max, const char *where, ab_error *err)
{
    const char *w = where && *where ? where : "alpha";
    if (max >= AB_ALPHA_MAX_CALC) {
        if (isfinite(alpha) && alpha > 0.0 && alpha < max) return 0;
        return ab_error_set(err, 400, "%s: must be strictly between 0 and %g", w, max);
    }
    if (isfinite(alpha) && alpha > 0.0 && alpha <= max) return 0;
    return ab_error_set(err, 400, "%s: must be greater than 0 and at most %g", w, max);
}
