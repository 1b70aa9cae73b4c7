/* journey.c — the journey block from an experiment's counts: the step
 * counts from its journey cells and the library's bounds against control
 * (README "Statistics", journey steps). */
#include "core/journey.h"

#include <string.h>

ab_status ab_journey_run(const ab_counts *s, size_t k, double alpha, ab_journey_result *out)
{
    ab_journey_arm steps[AB_JOURNEY_STEPS];
    double users;
    ab_status st;

    if (k < 2) return AB_EINVAL;
    if (k > AB_MAX_ARMS) return AB_ERANGE;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < k; i++) {
        const ab_arm_counts *a = &s->arms[i];
        if ((st = ab_journey_cells(ab_state_journey(s, i), &users, steps))) return st;
        for (size_t p = 0; p < AB_JOURNEY_STEPS; p++) out->steps[p].arm[i] = steps[p];
        /* Every exposed user was asked (README "Statistics"): the answers
         * are the first one of each user. */
        out->nps[i] = (ab_nps_response_arm){a->users, a->promoters, a->passives, a->detractors};
    }
    return ab_journey_bound(out, k, alpha);
}
