/* GET /healthz: the process is alive and its loop turns (no database call).
 * GET /readyz: the database answers and its schema is at the version this ehcd needs; otherwise
 * 503 with the reason and Retry-After, answered at once when no connection is up. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/app.h"
#include "ehc/migrate.h"

#define EHC_READYZ_TIMEOUT_MS 1500

static void reply_json(ehc_http_req *req, int status, cJSON *root)
{
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (status == 503) ehc_http_res_header(req, "retry-after", "2");
    ehc_http_reply(req, status, "application/json", body, strlen(body));
    free(body);
}

static void on_healthz(ehc_http_req *req, void *ctx)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", "alive");
    cJSON_AddStringToObject(root, "version", EHC_VERSION);
    reply_json(req, 200, root);
}

static void reply_not_ready(ehc_http_req *req, const char *reason)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", "unavailable");
    cJSON_AddStringToObject(root, "reason", reason);
    reply_json(req, 503, root);
}

static void on_readyz_result(void *data, int status, PGresult *res, const char *message)
{
    ehc_http_req *req = data;
    char reason[512];
    if (status == EHC_EINVAL) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        if (state && strcmp(state, "42P01") == 0) {
            reply_not_ready(req, "migrations not applied: run `ehcd migrate`");
            return;
        }
    }
    if (status != 0) {
        snprintf(reason, sizeof reason, "database check failed: %s",
                 message ? message : ehc_strerror(status));
        reply_not_ready(req, reason);
        return;
    }
    int current = atoi(PQgetvalue(res, 0, 0));
    int needed = ehc_migrate_latest_version();
    if (current != needed) {
        snprintf(reason, sizeof reason,
                 "migrations not current: the database is at version %d, ehcd needs %d", current, needed);
        reply_not_ready(req, reason);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", "ready");
    cJSON_AddStringToObject(root, "database", "ok");
    cJSON_AddNumberToObject(root, "schema_version", current);
    reply_json(req, 200, root);
}

static void on_readyz(ehc_http_req *req, void *ctx)
{
    ehc_app *app = ctx;
    if (app->stopping) {
        reply_not_ready(req, "shutting down");
        return;
    }
    if (app->simclock && !ehc_simclock_loaded(app->simclock)) {
        /* until the stored simulated instant is loaded, "now" would be the real time */
        reply_not_ready(req, "the simulated clock is not loaded yet");
        return;
    }
    int rc =
        ehc_pg_query(app->pg, ehc_migrate_version_sql, 0, NULL, EHC_READYZ_TIMEOUT_MS, on_readyz_result, req);
    if (rc == 0) return;
    char reason[512];
    const char *last = ehc_pg_pool_last_error(app->pg);
    snprintf(reason, sizeof reason, "database unreachable%s%s", *last ? ": " : "", last);
    reply_not_ready(req, reason);
}

void ehc_api_health_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/healthz", on_healthz, app) ||
        ehc_http_route(app->http, "GET", "/readyz", on_readyz, app))
        abort();
}
