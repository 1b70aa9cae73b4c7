/* live.c (tests) — see live.h. */
#include "live.h"

#include <math.h>
#include <string.h>

#include "json/experiment_json.h"
#include "json/jsonin.h"
#include "test.h"

#define DAY_MS 86400000.0

ab_live *tl_experiment(const char *json)
{
    ab_error err = {0, ""};
    ab_experiment_config cfg;
    json_t *body = ab_jin_parse_text(json, &err);
    ab_live *e = NULL;
    if (body && ab_experiment_parse("t", body, &cfg, &err) == 0) {
        e = ab_live_new(&cfg, 1, 0, 0);
        if (!e) ab_experiment_free(&cfg);
        /* Its own (writable) counts: the tests set them by hand. */
        else if (ab_state_reserve(&e->state, 0, 0, 0)) {
            ab_live_free(e);
            e = NULL;
        }
    }
    if (!e) test_fail(__FILE__, __LINE__, "config %s: %s", json, err.text);
    json_decref(body);
    return e;
}

void tl_set_days(ab_live *e, double days)
{
    e->state.first_exposure_ms = 0;
    e->state.last_exposure_ms = (int64_t)(days * DAY_MS);
}

ab_event tl_event(ab_event_type type, const char *user)
{
    ab_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.phase = AB_PHASE_DECISION;
    ev.variant = -1;
    ev.value = NAN;
    ev.covariate = NAN;
    ev.score = -1;
    ev.ts_ms = 1700000000000;
    ev.user = user;
    ev.user_len = strlen(user);
    return ev;
}
