/* Finding a child and seeing a team's caseload:
 *   GET /api/v1/children?nhs_number=&upn=&surname=&date_of_birth=   children of the caller's
 *       authorities matching every criterion (one of NHS number, UPN or surname required), each with
 *       their cases; the search is recorded in the access log without its terms
 *   GET /api/v1/caseload   open cases per officer and the unallocated queue, for the caller's teams
 *       (a service manager: the authority's) */
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
        else
            bad = "unknown query parameter";
        if (bad) {
            cJSON_Delete(q);
            char msg[128];
            snprintf(msg, sizeof msg, "%s: %s", more < 0 ? "query" : name, bad);
            ehc_http_reply_error(req, 400, "invalid_query", msg, more < 0 ? NULL : name);
            return;
        }
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
    const char *params[2] = {authorities, text};
    int rc = ehc_pg_query(app->pg, "SELECT ehc_child_search($1, $2::jsonb)", 2, params, SEARCH_TIMEOUT_MS,
                          ehc_api_reply_json_row, req);
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
                          ehc_api_reply_json_row, req);
    free(team_json);
    if (rc) ehc_api_reply_unavailable(req);
}

static void on_caseload(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, caseload_authed, NULL);
}

void ehc_api_children_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/api/v1/children", on_search, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/caseload", on_caseload, app))
        abort();
}
