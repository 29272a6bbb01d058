/* Deadline alerts through the API:
 *   GET  /api/v1/alerts?status=&level=&officer_id=&team_id=&case_id=&limit=&offset=
 *   POST /api/v1/alerts/{id}/acknowledge     records who acknowledged it and when
 * Officers and managers see their teams' alerts, a service manager the authority's; another
 * authority's alert answers 404. An alert resolves itself when its deadline is met or cancelled
 * (the store does that in the same transaction as the event). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"

#define CASE_ROLES (EHC_ROLE_OFFICER | EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER)
#define ALERT_TIMEOUT_MS 5000

static int parse_positive(const char *s, int64_t max, int64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15) return EHC_EINVAL;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return EHC_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max) return EHC_EINVAL;
    *out = v;
    return 0;
}

static void list_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    char authorities[512];
    ehc_api_authorities(who, CASE_ROLES, authorities, sizeof authorities);
    if (!*authorities) {
        ehc_api_reply_list(req, "[]");
        return;
    }
    cJSON *filter = cJSON_CreateObject();
    cJSON *teams = ehc_api_team_scope(who);
    if (teams) cJSON_AddItemToObject(filter, "team_ids", teams);
    const char *q = ehc_http_req_query(req);
    char name[32], value[64];
    int more;
    while ((more = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) != 0) {
        int64_t n = 0;
        int bad = more < 0;
        if (bad) {
        } else if (strcmp(name, "status") == 0) {
            bad = strcmp(value, "open") != 0 && strcmp(value, "acknowledged") != 0 &&
                  strcmp(value, "resolved") != 0;
            if (!bad) cJSON_AddStringToObject(filter, "status", value);
        } else if (strcmp(name, "level") == 0) {
            bad = !*value || strlen(value) > 20;
            if (!bad) cJSON_AddStringToObject(filter, "level", value);
        } else if (strcmp(name, "officer_id") == 0 || strcmp(name, "case_id") == 0 ||
                   strcmp(name, "limit") == 0 || strcmp(name, "offset") == 0) {
            bad =
                parse_positive(value, strcmp(name, "limit") == 0 ? 500 : INT64_C(999999999999999), &n) != 0 ||
                (strcmp(name, "limit") == 0 && n < 1);
            if (!bad) cJSON_AddNumberToObject(filter, name, (double)n);
        } else if (strcmp(name, "team_id") == 0) {
            bad = parse_positive(value, INT64_C(999999999999999), &n) != 0;
            bool allowed = teams == NULL;
            for (size_t i = 0; !bad && i < who->grant_count; i++)
                allowed |= who->grants[i].team_id == n;
            if (!bad && !allowed) {
                cJSON_Delete(filter);
                ehc_http_reply_error(req, 403, "forbidden", "you do not work in that team", "team_id");
                return;
            }
            if (!bad) {
                cJSON_DeleteItemFromObject(filter, "team_ids");
                cJSON *one = cJSON_AddArrayToObject(filter, "team_ids");
                cJSON_AddItemToArray(one, cJSON_CreateNumber((double)n));
            }
        } else if (strcmp(name, "format") == 0) {
            bad = !ehc_api_list_format_ok(value);
        } else {
            cJSON_Delete(filter);
            return ehc_api_reply_bad_query(req, more, name, false);
        }
        if (bad) {
            cJSON_Delete(filter);
            return ehc_api_reply_bad_query(req, more, name, true);
        }
    }
    char *f = cJSON_PrintUnformatted(filter);
    cJSON_Delete(filter);
    const char *params[2] = {authorities, f};
    int rc = ehc_pg_query(app->pg, "SELECT ehc_alert_list($1, $2::jsonb)", 2, params, ALERT_TIMEOUT_MS,
                          ehc_api_reply_list_row, req);
    free(f);
    if (rc) ehc_api_reply_unavailable(req);
}

static void on_list_route(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, list_authed, NULL);
}

typedef struct ack_ctx {
    int64_t alert_id;
} ack_ctx;

static void on_acknowledged(void *data, int status, PGresult *res, const char *message)
{
    ehc_http_req *req = data;
    if (status != 0) return ehc_api_reply_unavailable(req);
    const char *outcome = PQgetvalue(res, 0, 0);
    if (strcmp(outcome, "not_found") == 0) {
        ehc_http_reply_error(req, 404, "not_found", "no such alert", NULL);
    } else if (strcmp(outcome, "done") != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "the alert is already %s", outcome);
        ehc_http_reply_error(req, 409, "alert_state", msg, NULL);
    } else {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "status", "acknowledged");
        ehc_api_reply_json(req, 200, body);
    }
}

static void ack_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    ack_ctx *a = data;
    char authorities[512], id[24], user[24];
    ehc_api_authorities(who, CASE_ROLES, authorities, sizeof authorities);
    cJSON *teams = ehc_api_team_scope(who);
    char *team_json = teams ? cJSON_PrintUnformatted(teams) : NULL;
    cJSON_Delete(teams);
    snprintf(id, sizeof id, "%" PRId64, a->alert_id);
    snprintf(user, sizeof user, "%" PRId64, who->user_id);
    free(a);
    if (!*authorities) {
        free(team_json);
        ehc_http_reply_error(req, 404, "not_found", "no such alert", NULL);
        return;
    }
    const char *params[4] = {authorities, team_json, id, user};
    int rc = ehc_pg_query(app->pg, "SELECT ehc_alert_acknowledge($1, $2::jsonb, $3::bigint, $4::bigint)", 4,
                          params, ALERT_TIMEOUT_MS, on_acknowledged, req);
    free(team_json);
    if (rc) ehc_api_reply_unavailable(req);
}

static void on_alert_path(ehc_http_req *req, void *ctx)
{
    const char *rest = ehc_http_req_path(req) + strlen("/api/v1/alerts/");
    const char *slash = strchr(rest, '/');
    char id_text[24];
    size_t n = slash ? (size_t)(slash - rest) : 0;
    int64_t id;
    if (!slash || strcmp(slash, "/acknowledge") != 0 || n == 0 || n >= sizeof id_text) {
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
        return;
    }
    memcpy(id_text, rest, n);
    id_text[n] = '\0';
    if (parse_positive(id_text, INT64_C(999999999999999), &id) || id == 0) {
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
        return;
    }
    ack_ctx *a = ehc_calloc(1, sizeof *a);
    a->alert_id = id;
    ehc_api_authenticate(ctx, req, ack_authed, a);
}

void ehc_api_alerts_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/api/v1/alerts", on_list_route, app) ||
        ehc_http_route(app->http, "POST", "/api/v1/alerts/{id}/acknowledge", on_alert_path, app))
        abort();
}
