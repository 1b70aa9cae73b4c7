/* assets.h — the files of service/assets/, embedded in the binary at build
 * time (scripts/embed.sh): the OpenAPI description, the browser snippet. */
#ifndef ABSTAT_ASSETS_H
#define ABSTAT_ASSETS_H

#include <stddef.h>

typedef struct ab_asset {
    const char *name;          /* the file name in service/assets/ */
    const char *content_type;
    const unsigned char *data; /* len bytes, then a NUL */
    size_t len;
} ab_asset;

/* Terminated by an entry with a NULL name. */
extern const ab_asset ab_assets[];

/* The asset called name (borrowed, static), or NULL. */
const ab_asset *ab_asset_find(const char *name);

#endif
