/* jsonout.c — jansson values for statistics: undefined figures are null. */
#include "json/jsonout.h"

#include <math.h>

json_t *ab_jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *ab_jcount(double v)
{
    if (!isfinite(v)) return json_null();
    return json_integer((json_int_t)v);
}

json_t *ab_jinterval(ab_interval ci)
{
    if (!isfinite(ci.lo) || !isfinite(ci.hi)) return json_null();
    return json_pack("[ff]", ci.lo, ci.hi);
}

int ab_jset(json_t *obj, const char *key, json_t *value)
{
    if (!value) return -1;
    return json_object_set_new(obj, key, value);
}

void ab_json_release(void *value)
{
    json_decref(value);
}
