/* event_json.h — the reference reader of events: a jansson value to the raw event the schema validates. */
#ifndef ABSTAT_EVENT_JSON_H
#define ABSTAT_EVENT_JSON_H

#include <jansson.h>

#include "core/event_schema.h"

/* Reads obj into *r, its strings borrowed from obj (keep obj until r has
 * been validated). 0, or -1 with msg (AB_EVENT_MSG_MAX bytes) when obj is
 * not an object. The first unknown key is noted, not judged: validation
 * reports it first. */
int ab_event_from_json(const json_t *obj, ab_raw_event *r, char *msg);

#endif
