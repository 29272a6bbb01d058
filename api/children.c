/* Finding a child and seeing a team's caseload:
 *   GET /api/v1/children?nhs_number=&upn=&surname=&date_of_birth=   children of the caller's
 *       authorities matching every criterion (one of NHS number, UPN or surname required), each with
 *       their cases; each case of each child found is recorded in the access log as read (never
 *       the search terms)
 *   GET /api/v1/caseload   open cases per officer and the unallocated queue, for the caller's teams
 *       (a service manager: the authority's)
 *   POST /api/v1/children/{id}/merge {"into_child_id", "reason"}   two records of one child become
 *       one: the cases move to the record kept; an audited act, for managers and service managers */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/identifiers.h"
#include "ehc/log.h"

#define CASE_ROLES (EHC_ROLE_OFFICER | EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER)
#define SEARCH_TIMEOUT_MS 5000

static void search_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    char authorities[512];
    ehc_api_authorities(who, CASE_ROLES, authorities, sizeof authorities);
    if (!*authorities) {
        ehc_http_reply_error(req, 403, "forbidden", "only officers and managers search for children", NULL);
        return;
    }
    cJSON *q = cJSON_CreateObject();
    const char *query = ehc_http_req_query(req);
    char name[32], value[128];
    int more;
    while ((more = ehc_api_query_next(&query, name, sizeof name, value, sizeof value)) != 0) {
        const char *bad = NULL;
        ehc_date dob;
        if (more < 0)
            bad = "query parameters must be name=value, URL-encoded";
        else if (strcmp(name, "nhs_number") == 0)
            bad = ehc_nhs_number_valid(value) ? NULL : "not a valid NHS number";
        else if (strcmp(name, "upn") == 0)
            bad = ehc_upn_valid(value) ? NULL : "not a valid UPN";
        else if (strcmp(name, "surname") == 0)
            bad = *value && strlen(value) <= 100 ? NULL : "1 to 100 characters";
        else if (strcmp(name, "date_of_birth") == 0)
            bad = ehc_date_parse_iso(value, &dob) == 0 ? NULL : "a date written YYYY-MM-DD";
        else if (strcmp(name, "format") == 0)
            bad = ehc_api_list_format_ok(value) ? NULL : "json or csv";
        else
            bad = "unknown query parameter";
        if (bad) {
            cJSON_Delete(q);
            char msg[128];
            snprintf(msg, sizeof msg, "%s: %s", more < 0 ? "query" : name, bad);
            ehc_http_reply_error(req, 400, "invalid_query", msg, more < 0 ? NULL : name);
            return;
        }
        if (strcmp(name, "format") == 0) continue;
        cJSON_DeleteItemFromObject(q, name);
        cJSON_AddStringToObject(q, name, value);
    }
    if (!cJSON_GetObjectItemCaseSensitive(q, "nhs_number") && !cJSON_GetObjectItemCaseSensitive(q, "upn") &&
        !cJSON_GetObjectItemCaseSensitive(q, "surname")) {
        cJSON_Delete(q);
        ehc_http_reply_error(req, 400, "invalid_query", "give an NHS number, a UPN or a surname", NULL);
        return;
    }
    char *text = cJSON_PrintUnformatted(q);
    cJSON_Delete(q);
    /* the terms are personal data: the log says that a search happened, not what was searched */
    ehc_log(EHC_LOG_INFO, "child_search", ehc_http_req_id(req), "by user %lld", (long long)who->user_id);
    char user[24];
    snprintf(user, sizeof user, "%lld", (long long)who->user_id);
    const char *params[4] = {authorities, text, user, ehc_http_req_id(req)};
    int rc = ehc_pg_query(app->pg, "SELECT ehc_child_search_logged($1, $2::jsonb, $3::bigint, $4)", 4, params,
                          SEARCH_TIMEOUT_MS, ehc_api_reply_list_row, req);
    free(text);
    if (rc) ehc_api_reply_unavailable(req);
}

static void on_search(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, search_authed, NULL);
}

static void caseload_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    char authorities[512];
    ehc_api_authorities(who, CASE_ROLES, authorities, sizeof authorities);
    if (!*authorities) {
        ehc_http_reply_error(req, 403, "forbidden", "only officers and managers see caseloads", NULL);
        return;
    }
    cJSON *teams = ehc_api_team_scope(who);
    char *team_json = teams ? cJSON_PrintUnformatted(teams) : NULL;
    cJSON_Delete(teams);
    const char *params[2] = {authorities, team_json};
    int rc = ehc_pg_query(app->pg, "SELECT ehc_caseload($1, $2::jsonb)", 2, params, SEARCH_TIMEOUT_MS,
                          ehc_api_reply_list_row, req);
    free(team_json);
    if (rc) ehc_api_reply_unavailable(req);
}

static void on_caseload(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, caseload_authed, NULL);
}

/* ---- merging two records of one child ------------------------------------------------------------- */

#define MERGE_ROLES (EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER)

typedef struct merge_ctx {
    ehc_http_req *req;
    int64_t from_id, user_id;
} merge_ctx;

static void on_merged(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    merge_ctx *m = data;
    if (status != 0) {
        ehc_api_reply_unavailable(m->req);
        free(m);
        return;
    }
    cJSON *out = cJSON_Parse(PQgetvalue(res, 0, 0));
    char error[32] = "";
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "error"));
    if (e) snprintf(error, sizeof error, "%s", e);
    if (!out) {
        ehc_api_reply_unavailable(m->req);
    } else if (!*error) {
        cJSON_DeleteItemFromObject(out, "ok");
        ehc_log(EHC_LOG_INFO, "child_merged", ehc_http_req_id(m->req),
                "child %" PRId64 " merged by user %" PRId64, m->from_id, m->user_id);
        ehc_api_reply_json(m->req, 200, out);
    } else {
        cJSON_Delete(out);
        if (strcmp(error, "not_found") == 0 || strcmp(error, "different_authorities") == 0)
            ehc_http_reply_error(m->req, 404, "not_found", "no such child in your authorities",
                                 strcmp(error, "not_found") == 0 ? NULL : "into_child_id");
        else if (strcmp(error, "already_merged") == 0)
            ehc_http_reply_error(m->req, 409, "already_merged", "one of the two records was merged already",
                                 NULL);
        else
            ehc_http_reply_error(m->req, 422, "invalid_field", "a record cannot be merged into itself",
                                 "into_child_id");
    }
    free(m);
}

static void merge_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    merge_ctx *m = data;
    m->user_id = who->user_id;
    char authorities[512];
    ehc_api_authorities(who, MERGE_ROLES, authorities, sizeof authorities);
    if (!*authorities) {
        free(m);
        ehc_http_reply_error(req, 403, "forbidden", "only managers merge children's records", NULL);
        return;
    }
    cJSON *body = ehc_api_body_object(req);
    if (!body) return free(m);
    const char *bad_field = NULL, *why = NULL;
    cJSON *into = cJSON_GetObjectItemCaseSensitive(body, "into_child_id");
    cJSON *reason = cJSON_GetObjectItemCaseSensitive(body, "reason");
    for (cJSON *it = body->child; it && !bad_field; it = it->next)
        if (strcmp(it->string, "into_child_id") != 0 && strcmp(it->string, "reason") != 0)
            bad_field = it->string, why = "unknown field";
    if (bad_field) {
    } else if (!cJSON_IsNumber(into) || into->valuedouble < 1 || into->valuedouble > 1e15 ||
               into->valuedouble != (double)(int64_t)into->valuedouble) {
        bad_field = "into_child_id", why = "into_child_id is required: the record to keep";
    } else if (!cJSON_IsString(reason) || !*reason->valuestring || strlen(reason->valuestring) > 500) {
        bad_field = "reason",
        why = "reason is required: why these are the same child (at most 500 characters)";
    }
    if (bad_field) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s", why);
        ehc_http_reply_error(req, 422, "invalid_field", msg, bad_field);
        cJSON_Delete(body);
        free(m);
        return;
    }
    char from[24], to[24], user[24];
    snprintf(from, sizeof from, "%" PRId64, m->from_id);
    snprintf(to, sizeof to, "%.0f", into->valuedouble);
    snprintf(user, sizeof user, "%" PRId64, who->user_id);
    const char *params[6] = {authorities, from, to, user, reason->valuestring, ehc_http_req_id(req)};
    int rc = ehc_pg_query(app->pg, "SELECT ehc_child_merge($1, $2::bigint, $3::bigint, $4::bigint, $5, $6)",
                          6, params, SEARCH_TIMEOUT_MS, on_merged, m);
    cJSON_Delete(body);
    if (rc) {
        ehc_api_reply_unavailable(req);
        free(m);
    }
}

static void on_merge(ehc_http_req *req, void *ctx)
{
    const char *rest = ehc_http_req_path(req) + strlen("/api/v1/children/");
    const char *slash = strchr(rest, '/');
    int64_t id = 0;
    size_t len = slash ? (size_t)(slash - rest) : 0;
    bool ok = slash && strcmp(slash, "/merge") == 0 && len > 0 && len <= 15 && rest[0] != '0';
    for (size_t i = 0; ok && i < len; i++) {
        ok = isdigit((unsigned char)rest[i]);
        id = id * 10 + (rest[i] - '0');
    }
    if (!ok) {
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
        return;
    }
    merge_ctx *m = ehc_calloc(1, sizeof *m);
    m->req = req;
    m->from_id = id;
    ehc_api_authenticate(ctx, req, merge_authed, m);
}

void ehc_api_children_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/api/v1/children", on_search, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/caseload", on_caseload, app) ||
        ehc_http_route(app->http, "POST", "/api/v1/children/{id}/merge", on_merge, app))
        abort();
}
