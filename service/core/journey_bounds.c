/* journey_bounds.c — the bounds of a journey block whose arms are filled in (see journey.h); apart from journey.c so that what does not read the state (the calculators, their fuzzer) links without it. */
#include "core/journey.h"

ab_status ab_journey_bound(ab_journey_result *out, size_t k, double alpha)
{
    ab_status st;
    if (k < 2) return AB_EINVAL;
    if (k > AB_MAX_ARMS) return AB_ERANGE;
    for (size_t p = 0; p < AB_JOURNEY_STEPS; p++) {
        ab_journey_step_result *r = &out->steps[p];
        for (size_t i = 1; i < k; i++)
            if ((st = ab_journey_step_bounds(&r->arm[i], &r->arm[0], alpha, &r->vs[i])))
                return st;
    }
    for (size_t i = 1; i < k; i++)
        if ((st = ab_nps_response_bounds(&out->nps[i], &out->nps[0], alpha, &out->nps_vs[i])))
            return st;
    return AB_OK;
}
