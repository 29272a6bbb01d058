/* GET /api/v1/openapi.json: the API described in OpenAPI 3.1 (api/doc/openapi.json, compiled in).
 * At start ehcd compares the document with the routes it registered and refuses to serve if a
 * route is undocumented or a documented route does not exist, so the two cannot drift apart. The
 * browser interface's static routes (api/web.c: GET /, /app, /app/..., /assets/...) are the one
 * exception: they serve files, not the API, and none lies under /api/. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"

extern const char ehc_openapi_json[];

static void on_openapi(ehc_http_req *req, void *ctx)
{
    ehc_http_reply(req, 200, "application/json", ehc_openapi_json, strlen(ehc_openapi_json));
}

void ehc_api_openapi_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/api/v1/openapi.json", on_openapi, app)) abort();
}

int ehc_api_openapi_check(const ehc_http_server *http, char *err, size_t size)
{
    cJSON *doc = cJSON_Parse(ehc_openapi_json);
    cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    int rc = 0;
    if (!cJSON_IsObject(paths)) {
        snprintf(err, size, "api/doc/openapi.json has no paths");
        rc = EHC_EINVAL;
    }
    /* every route is documented */
    for (size_t i = 0; rc == 0 && i < ehc_http_route_count(http); i++) {
        const char *method, *path;
        ehc_http_route_at(http, i, &method, &path);
        if (ehc_api_web_route(method, path)) continue; /* the UI's files, not the API (api/web.c) */
        char lower[16];
        size_t n = 0;
        for (; method[n] && n + 1 < sizeof lower; n++)
            lower[n] = (char)tolower((unsigned char)method[n]);
        lower[n] = '\0';
        if (!cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(paths, path), lower)) {
            snprintf(err, size, "route %s %s is not in api/doc/openapi.json", method, path);
            rc = EHC_EINVAL;
        }
    }
    /* every documented operation is a route */
    static const char *const methods[] = {"get", "post", "put", "patch", "delete"};
    for (cJSON *p = paths ? paths->child : NULL; rc == 0 && p; p = p->next) {
        for (size_t m = 0; rc == 0 && m < EHC_ARRAY_SIZE(methods); m++) {
            if (!cJSON_GetObjectItemCaseSensitive(p, methods[m])) continue;
            bool found = false;
            for (size_t i = 0; !found && i < ehc_http_route_count(http); i++) {
                const char *method, *path;
                ehc_http_route_at(http, i, &method, &path);
                found = strcmp(path, p->string) == 0 && strlen(method) == strlen(methods[m]);
                for (size_t k = 0; found && method[k]; k++)
                    found = tolower((unsigned char)method[k]) == methods[m][k];
            }
            if (!found) {
                snprintf(err, size, "api/doc/openapi.json documents %s %s, which ehcd does not serve",
                         methods[m], p->string);
                rc = EHC_EINVAL;
            }
        }
    }
    cJSON_Delete(doc);
    return rc;
}
