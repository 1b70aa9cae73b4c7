/* handle_results.c — GET results and decision of one experiment. */
#include "api/handlers.h"

#include <stdlib.h>
#include <string.h>

#include "core/evaluate.h"
#include "engine/monitor.h"
#include "http/http.h"
#include "base/log.h"
#include "engine/memory.h"
#include "json/results.h"
#include "json/scratch.h"

typedef json_t *(*render_fn)(const ab_live *, const ab_evaluation *);

/* One answer, results (which 0) or decision (1). An experiment whose
 * counts and config did not change since its last evaluation answers
 * every reader with the same text, so that text is kept beside the
 * evaluation cache (core/registry.h) and sent again as it is: printing
 * a 10-variant answer costs more than evaluating it. */
static void answer(ab_api *api, struct evhttp_request *req, const char *id, int which,
                   render_fn render)
{
    ab_live *e = ab_registry_get(api->reg, id, strlen(id));
    ab_evaluation *ev;
    ab_status st;
    char *text, *keep;
    size_t len;
    int scratch;

    if (!e) {
        ab_http_error(req, 404, "experiment \"%s\" not found", id);
        return;
    }
    /* Most reads of a busy experiment find nothing changed: they need
     * neither an evaluation (about 200 KB to copy) nor a new text. */
    if (e->answer[which] && ab_monitor_current(api->monitor, e)) {
        ab_http_copy(req, 200, "application/json", e->answer[which], e->answer_len[which]);
        return;
    }
    if (!(ev = malloc(sizeof *ev))) {
        ab_http_error(req, 500, "out of memory");
        return;
    }
    if ((st = ab_monitor_evaluate(api->monitor, e, ev, 0)) != AB_OK) {
        free(ev);
        ab_log_ratelimited(AB_LOG_ERROR, "evaluating %s failed: %s", id, ab_strerror(st));
        ab_http_error(req, 500, "evaluating the experiment failed: %s", ab_strerror(st));
        return;
    }
    if (e->cache && e->answer[which]) {
        free(ev);
        ab_http_copy(req, 200, "application/json", e->answer[which],
                     e->answer_len[which]);
        return;
    }
    /* The tree lives only until it is printed (json/scratch.h). */
    scratch = ab_json_scratch_begin() == 0;
    text = ab_http_json_text(render(e, ev), &len);
    if (scratch) ab_json_scratch_end();
    free(ev);
    if (!text) {
        ab_http_error(req, 500, "out of memory");
        return;
    }
    /* Kept only beside a cache the memory account admitted, and only
     * when it fits too: a reader must never cost ingest its room. */
    if (e->cache && ab_memory_answer_admit(api->memory, len)) {
        if ((keep = malloc(len))) {
            memcpy(keep, text, len);
            e->answer[which] = keep;
            e->answer_len[which] = len;
        } else {
            ab_memory_answers_freed(api->memory, len);
        }
    }
    ab_http_owned(req, 200, "application/json", text, len);
}

void ab_handle_results(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    answer(api, req, call->id, 0, ab_results_json);
}

void ab_handle_decision(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    answer(api, req, call->id, 1, ab_decision_json);
}
