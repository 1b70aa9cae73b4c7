/* assets.c — looking up an embedded file by name. */
#include "base/assets.h"

#include <string.h>

const ab_asset *ab_asset_find(const char *name)
{
    for (const ab_asset *a = ab_assets; name && a->name; a++)
        if (!strcmp(a->name, name)) return a;
    return NULL;
}
