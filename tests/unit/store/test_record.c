/* test_record.c — the event record codec (store/record.h): an exposure's
 * covariate (flag 8) survives encoding, records written before covariates
 * existed decode as before (no covariate), damaged ones are refused. */
#include <math.h>
#include <string.h>

#include "store/record.h"
#include "test.h"

static ab_event exposure(double covariate)
{
    ab_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = AB_EVENT_EXPOSURE;
    ev.phase = AB_PHASE_DECISION;
    ev.variant = 1;
    ev.value = NAN;
    ev.covariate = covariate;
    ev.score = -1;
    ev.ts_ms = 1795341600000LL;
    ev.user = "u-1842";
    ev.user_len = 6;
    ev.id = "evt-1";
    ev.id_len = 5;
    return ev;
}

static void round_trip(double covariate)
{
    unsigned char buf[128];
    ab_event in = exposure(covariate), out;
    size_t n = ab_record_size(&in);
    CHECK_INT(n, 12 + 2 + 6 + 1 + 5 + (isfinite(covariate) ? 8 : 0));
    CHECK(ab_record_encode(buf, &in) == buf + n);
    const unsigned char *p = buf;
    CHECK_INT(ab_record_decode(&p, buf + n, &out), 0);
    CHECK(p == buf + n);
    if (isfinite(covariate)) CHECK(out.covariate == covariate && !signbit(out.covariate) == !signbit(covariate));
    else CHECK(isnan(out.covariate));
    CHECK(isnan(out.value) && out.score == -1 && out.variant == 1);
    CHECK(out.user_len == 6 && !memcmp(out.user, "u-1842", 6));
    CHECK(out.id_len == 5 && !memcmp(out.id, "evt-1", 5));
    /* Cut short anywhere: refused. */
    for (size_t cut = 0; cut < n; cut++) {
        p = buf;
        CHECK_INT(ab_record_decode(&p, buf + cut, &out), -1);
    }
}

int main(void)
{
    round_trip(NAN);
    round_trip(12.75);
    round_trip(-0.0);
    round_trip(-1e20);

    /* A record as written before covariates (a conversion with a value):
     * type 1, phase, variant -1, flags 1 | ts | f64 59.9 | user "ab". */
    unsigned char old[] = {1, AB_PHASE_DECISION, 0xff, 1, 0, 0, 0, 0, 0, 0, 0, 0,
                           0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 'a', 'b'};
    double v = 59.9;
    uint64_t bits;
    memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; i++) old[12 + i] = (unsigned char)(bits >> (8 * i));
    old[4] = 0x10; /* ts 16 */
    const unsigned char *p = old;
    ab_event ev;
    CHECK_INT(ab_record_decode(&p, old + sizeof old, &ev), 0);
    CHECK(p == old + sizeof old);
    CHECK(ev.type == AB_EVENT_CONVERSION && ev.value == 59.9 && ev.ts_ms == 16);
    CHECK(isnan(ev.covariate));
    CHECK(ev.user_len == 2 && !memcmp(ev.user, "ab", 2));

    /* A stored covariate that is not finite cannot come from the parser. */
    unsigned char buf[64];
    ab_event in = exposure(1.0);
    size_t n = ab_record_size(&in);
    ab_record_encode(buf, &in);
    v = INFINITY;
    memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; i++) buf[12 + i] = (unsigned char)(bits >> (8 * i));
    p = buf;
    CHECK_INT(ab_record_decode(&p, buf + n, &ev), -1);
    return TEST_DONE("test_record");
}
