/* history.c — per-hour, per-variant counts kept as a sorted array of the
 * days with data (see history.h). */
#include "core/history.h"

#include <stdlib.h>
#include <string.h>

void ab_history_init(ab_history *h)
{
    memset(h, 0, sizeof *h);
}

/* Index of the first day >= day (n when none). */
static size_t lower_bound(const ab_history *h, int64_t day)
{
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->days[mid].day < day) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

size_t ab_history_day_bytes(size_t k)
{
    return 24 * (k ? k : 1) * sizeof(ab_history_cell);
}

int ab_history_has_day(const ab_history *h, int64_t day)
{
    size_t i = lower_bound(h, day);
    return i < h->n && h->days[i].day == day;
}

/* The block of day, inserted at its place when new; NULL when out of
 * memory. Events mostly come in ts order, so the hint (and the end) is
 * checked before searching; an insert in the middle moves only pointers. */
static ab_history_cell *day_block(ab_history *h, size_t k, int64_t day)
{
    size_t i;
    if (h->hint < h->n && h->days[h->hint].day == day) return h->days[h->hint].cells;
    i = h->n && h->days[h->n - 1].day < day ? h->n : lower_bound(h, day);
    if (i < h->n && h->days[i].day == day) {
        h->hint = i;
        return h->days[i].cells;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        ab_history_day *d = realloc(h->days, cap * sizeof *d);
        if (!d) return NULL;
        h->days = d;
        h->cap = cap;
    }
    ab_history_cell *cells = calloc(1, ab_history_day_bytes(k));
    if (!cells) return NULL;
    memmove(&h->days[i + 1], &h->days[i], (h->n - i) * sizeof *h->days);
    h->days[i].day = day;
    h->days[i].cells = cells;
    h->n++;
    h->hint = i;
    return cells;
}

ab_history_cell *ab_history_cell_at(ab_history *h, size_t k, int64_t ts_ms, size_t v)
{
    int64_t hour = ab_floor_div(ts_ms, AB_HOUR_MS), day = ab_floor_div(hour, 24);
    ab_history_cell *cells;
    if (v >= k) return NULL;
    if (!(cells = day_block(h, k, day))) {
        h->lost = 1;
        return NULL;
    }
    return &cells[(size_t)(hour - day * 24) * k + v];
}

static void add_cell(ab_arm_counts *a, const ab_history_cell *c)
{
    a->users += c->users;
    a->revenue.n += c->users;
    for (unsigned ph = 0; ph < AB_PHASE_COUNT; ph++) a->conversions[ph] += c->conversions[ph];
    a->revenue.sum += c->revenue_sum;
    a->revenue.sumsq += c->revenue_sumsq;
    a->promoters += c->promoters;
    a->passives += c->passives;
    a->detractors += c->detractors;
}

void ab_history_sum(const ab_history *h, size_t k, int64_t from_hour, int64_t to_hour,
                    ab_arm_counts *acc)
{
    if (to_hour <= from_hour) return;
    for (size_t i = lower_bound(h, ab_floor_div(from_hour, 24)); i < h->n; i++) {
        int64_t first = h->days[i].day * 24;
        if (first >= to_hour) break;
        for (int hr = 0; hr < 24; hr++) {
            int64_t hour = first + hr;
            if (hour < from_hour || hour >= to_hour) continue;
            const ab_history_cell *row = &h->days[i].cells[(size_t)hr * k];
            for (size_t v = 0; v < k; v++) add_cell(&acc[v], &row[v]);
        }
    }
}

/* A cell that any event touched has a non-zero field (every rule adds a
 * count or a non-zero value), except a revenue change that cancelled. */
static int cell_used(const ab_history_cell *c)
{
    static const ab_history_cell zero;
    return memcmp(c, &zero, sizeof zero) != 0;
}

int64_t ab_history_last_hour(const ab_history *h, size_t k)
{
    if (!h->n) return INT64_MIN;
    const ab_history_day *d = &h->days[h->n - 1];
    for (int hr = 23; hr >= 0; hr--)
        for (size_t v = 0; v < k; v++)
            if (cell_used(&d->cells[(size_t)hr * k + v])) return d->day * 24 + hr;
    return d->day * 24;
}

size_t ab_history_bytes(const ab_history *h, size_t k)
{
    return h->cap * sizeof *h->days + h->n * ab_history_day_bytes(k);
}

void ab_history_free(ab_history *h)
{
    for (size_t i = 0; i < h->n; i++) free(h->days[i].cells);
    free(h->days);
    ab_history_init(h);
}
