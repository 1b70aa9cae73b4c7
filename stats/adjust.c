/* adjust.c — multiple-comparison adjustment of p-values, as R's p.adjust. */
#include "internal.h"

/* Stable insertion sort of idx[0..n) by val[idx[i]], ascending: at most
 * AB_MAX_ARMS entries, and stability keeps R's order() for ties. */
static void sort_index(const double *val, size_t *idx, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        size_t t = idx[i], j = i;
        while (j > 0 && val[idx[j - 1]] > val[t]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = t;
    }
}

ab_status ab_p_adjust(const double *p, size_t k, ab_correction method,
                      double *out)
{
    double q[AB_MAX_ARMS], adj[AB_MAX_ARMS];
    size_t idx[AB_MAX_ARMS];
    size_t n = 0;

    if (k > AB_MAX_ARMS) return AB_ERANGE;
    if (k > 0 && (!p || !out)) return AB_EINVAL;
    if (method != AB_CORRECT_NONE && method != AB_CORRECT_HOLM &&
        method != AB_CORRECT_BONFERRONI && method != AB_CORRECT_BH)
        return AB_EINVAL;
    for (size_t i = 0; i < k; i++)
        if (!isnan(p[i]) && !(p[i] >= 0.0 && p[i] <= 1.0)) return AB_EINVAL;

    /* Copies first, so that out may alias p. NaN (R's NA) is not part of
     * the family: n counts only the defined p-values, as in R. */
    for (size_t i = 0; i < k; i++) {
        q[i] = p[i];
        if (!isnan(p[i])) idx[n++] = i;
    }
    for (size_t i = 0; i < k; i++) adj[i] = q[i];

    /* R returns a family of one (or none) unchanged. */
    if (n > 1) {
        double dn = (double)n;
        switch (method) {
        case AB_CORRECT_NONE:
            break;
        case AB_CORRECT_BONFERRONI:
            for (size_t j = 0; j < n; j++) adj[idx[j]] = fmin(1.0, dn * q[idx[j]]);
            break;
        case AB_CORRECT_HOLM: {
            /* Step-down: ascending p, (n + 1 - i) p, running maximum. */
            double run = 0.0;
            sort_index(q, idx, n);
            for (size_t j = 0; j < n; j++) {
                double v = (dn - (double)j) * q[idx[j]];
                run = fmax(run, v);
                adj[idx[j]] = fmin(1.0, run);
            }
            break;
        }
        case AB_CORRECT_BH: {
            /* Step-up: descending p, (n / i) p, running minimum. */
            double run = INFINITY;
            sort_index(q, idx, n);
            for (size_t j = n; j-- > 0;) {
                double v = dn / (double)(j + 1) * q[idx[j]];
                run = fmin(run, v);
                adj[idx[j]] = fmin(1.0, run);
            }
            break;
        }
        }
    }
    for (size_t i = 0; i < k; i++) out[i] = adj[i];
    return AB_OK;
}
