/* handle_asset.c — GET of an embedded file: /v1/openapi.json, /v1/abstat.js. */
#include "api/handlers.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include "base/assets.h"
#include "base/usertable.h"
#include "http/http.h"

/* A fixed key: the ETag must be the same in every process serving these bytes. */
static const uint8_t etag_key[16];

void ab_handle_asset(ab_daemon *d, struct evhttp_request *req, const char *name)
{
    const ab_asset *a = ab_asset_find(name);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *match;
    char etag[40];
    (void)d;
    if (!a) {
        ab_http_error(req, 404, "no such resource");
        return;
    }
    /* The content changes only with the binary: an ETag of its bytes lets
     * pages revalidate the snippet cheaply after an upgrade. */
    snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)ab_siphash24(etag_key, a->data, a->len));
    evhttp_add_header(out, "ETag", etag);
    evhttp_add_header(out, "Cache-Control", "public, max-age=300");
    match = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
    if (match && !strcmp(match, etag)) {
        ab_http_empty(req, 304);
        return;
    }
    ab_http_static(req, 200, a->content_type, a->data, a->len);
}
