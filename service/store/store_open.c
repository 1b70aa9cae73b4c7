/* store_open.c — picking the backend of a store from the form of its --store argument. */
#include "store/store_backend.h"

#include <string.h>

ab_store *ab_store_open_where(const char *where, ab_durability durability, ab_error *err)
{
    if (where && (!strncmp(where, "postgresql://", 13) || !strncmp(where, "postgres://", 11)))
        return ab_store_open_with(&ab_store_postgresql, where, durability, err);
    return ab_store_open_with(&ab_store_sqlite, where, durability, err);
}
