/* Delivery failures for an authority's admins:
 *   GET  /api/v1/admin/dead-letters                 webhooks and emails that ran out of tries
 *   POST /api/v1/admin/dead-letters/{id}/requeue    try one again (after the receiver was fixed)
 * Only a user with the admin role for an authority sees that authority's; others get 403. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"

#define DELIVERIES_TIMEOUT_MS 5000

static void list_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    char authorities[512];
    ehc_api_authorities(who, EHC_ROLE_ADMIN, authorities, sizeof authorities);
    if (!*authorities) {
        ehc_http_reply_error(req, 403, "forbidden", "only an authority's admins see its delivery failures",
                             NULL);
        return;
    }
    const char *params[2] = {authorities, "500"};
    if (ehc_pg_query(app->pg, "SELECT ehc_dead_letters($1, $2::int)", 2, params, DELIVERIES_TIMEOUT_MS,
                     ehc_api_reply_list_row, req) != 0)
        ehc_api_reply_unavailable(req);
}

static void on_list_route(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, list_authed, NULL);
}

static void on_requeued(void *data, int status, PGresult *res, const char *message)
{
    ehc_http_req *req = data;
    if (status != 0) return ehc_api_reply_unavailable(req);
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        ehc_http_reply_error(req, 404, "not_found", "no such dead letter", NULL);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "status", "queued");
    ehc_api_reply_json(req, 200, body);
}

typedef struct requeue_ctx {
    int64_t id;
} requeue_ctx;

static void requeue_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    requeue_ctx *r = data;
    char authorities[512], id[24];
    snprintf(id, sizeof id, "%" PRId64, r->id);
    free(r);
    ehc_api_authorities(who, EHC_ROLE_ADMIN, authorities, sizeof authorities);
    if (!*authorities) {
        ehc_http_reply_error(req, 403, "forbidden", "only an authority's admins may requeue its deliveries",
                             NULL);
        return;
    }
    const char *params[2] = {authorities, id};
    if (ehc_pg_query(app->pg, "SELECT ehc_outbox_requeue($1, $2::bigint)", 2, params, DELIVERIES_TIMEOUT_MS,
                     on_requeued, req) != 0)
        ehc_api_reply_unavailable(req);
}

static void on_requeue_route(ehc_http_req *req, void *ctx)
{
    const char *rest = ehc_http_req_path(req) + strlen("/api/v1/admin/dead-letters/");
    char *end;
    long long id = strtoll(rest, &end, 10);
    if (id <= 0 || strcmp(end, "/requeue") != 0 || !(*rest >= '1' && *rest <= '9')) {
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
        return;
    }
    requeue_ctx *r = ehc_calloc(1, sizeof *r);
    r->id = id;
    ehc_api_authenticate(ctx, req, requeue_authed, r);
}

void ehc_api_deliveries_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/api/v1/admin/dead-letters", on_list_route, app) ||
        ehc_http_route(app->http, "POST", "/api/v1/admin/dead-letters/{id}/requeue", on_requeue_route, app))
        abort();
}
