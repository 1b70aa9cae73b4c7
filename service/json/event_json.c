/* event_json.c — jansson values to raw events (see event_json.h). */
#include "json/event_json.h"

#include <stdio.h>
#include <string.h>

static void read_value(const json_t *v, ab_raw_val *rv)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        rv->kind = AB_RV_STRING;
        rv->s = json_string_value(v);
        rv->len = json_string_length(v);
        break;
    case JSON_INTEGER:
        rv->kind = AB_RV_INT;
        rv->i = json_integer_value(v);
        break;
    case JSON_REAL:
        rv->kind = AB_RV_REAL;
        rv->d = json_real_value(v);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        rv->kind = AB_RV_BOOL;
        break;
    case JSON_NULL:
        rv->kind = AB_RV_NULL;
        break;
    default:
        rv->kind = AB_RV_OTHER;
        break;
    }
}

int ab_event_from_json(const json_t *obj, ab_raw_event *r, char *msg)
{
    ab_raw_event_init(r);
    if (!json_is_object(obj)) {
        snprintf(msg, AB_EVENT_MSG_MAX, "event must be a JSON object");
        return -1;
    }
    for (void *it = json_object_iter((json_t *)obj); it;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = strlen(key); /* keys never hold NUL: jansson refuses them */
        int f = ab_event_field_of(key, klen);
        if (f < 0) {
            r->unknown = key;
            r->unknown_len = klen;
            return 0;
        }
        read_value(json_object_iter_value(it), &r->f[f]);
    }
    return 0;
}
