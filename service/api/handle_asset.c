/* handle_asset.c — GET of an embedded file: the dashboard (/, /ui/...),
 * /v1/openapi.json and /v1/abstat.js (README "The dashboard", "Assignment"). */
#include "api/handlers.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include "base/assets.h"
#include "base/usertable.h"
#include "http/http.h"

/* A fixed key: the ETag must be the same in every process serving these bytes. */
static const uint8_t etag_key[16];

/* The page may load only what this daemon serves: its own scripts, styles
 * and API (no CDN, no web font, no inline code, no framing). Chart.js
 * sets canvas sizes through the CSSOM, which style-src does not govern. */
static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                          "base-uri 'none'; frame-ancestors 'none'";

/* Serves the embedded file name. cache: its Cache-Control. The page and
 * its own script and style are revalidated on every load ("no-cache":
 * a 304 when unchanged), so after an upgrade the three never mix
 * versions; Chart.js changes only with its Debian package. */
static void serve(struct evhttp_request *req, const char *name, const char *cache, int page)
{
    const ab_asset *a = ab_asset_find(name);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *match;
    char etag[40];
    if (!a) {
        ab_http_error(req, 404, "no such resource");
        return;
    }
    snprintf(etag, sizeof etag, "\"%016llx\"",
             (unsigned long long)ab_siphash24(etag_key, a->data, a->len));
    evhttp_add_header(out, "ETag", etag);
    evhttp_add_header(out, "Cache-Control", cache);
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    if (page) {
        evhttp_add_header(out, "Content-Security-Policy", csp);
        evhttp_add_header(out, "Referrer-Policy", "no-referrer");
        evhttp_add_header(out, "X-Frame-Options", "DENY");
    }
    match = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
    if (match && !strcmp(match, etag)) {
        ab_http_empty(req, 304);
        return;
    }
    ab_http_static(req, 200, a->content_type, a->data, a->len);
}

void ab_handle_dashboard(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    (void)api;
    (void)call;
    serve(req, "dashboard.html", "no-cache", 1);
}

void ab_handle_dashboard_js(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    (void)api;
    (void)call;
    serve(req, "dashboard.js", "no-cache", 0);
}

/* One experiment's page (the list and the helpers are dashboard.js). */
void ab_handle_dashboard_page(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    (void)api;
    (void)call;
    serve(req, "dashboard.experiment.js", "no-cache", 0);
}

void ab_handle_dashboard_css(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    (void)api;
    (void)call;
    serve(req, "dashboard.css", "no-cache", 0);
}

/* Debian's libjs-chart.js, embedded at build time (Makefile CHARTJS). */
void ab_handle_chartjs(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    (void)api;
    (void)call;
    serve(req, "chart.min.js", "public, max-age=86400", 0);
}

/* The snippet and the API description: pages and tools revalidate them
 * after five minutes. */
void ab_handle_openapi(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    (void)api;
    (void)call;
    serve(req, "openapi.json", "public, max-age=300", 0);
}

void ab_handle_script(ab_api *api, struct evhttp_request *req, const ab_call *call)
{
    (void)api;
    (void)call;
    serve(req, "abstat.js", "public, max-age=300", 0);
}
