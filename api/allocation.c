/* Allocating cases, one or many at once:
 *   POST /api/v1/allocations  {"case_ids": [..], "team_id", "officer_id" | null, "reason"?, "effective_on"?}
 * Each case gets a case_allocated event (who holds a case is part of its record, like everything
 * else), committed on its own: the answer lists each case's outcome. A team manager moves cases
 * between the teams they manage; a service manager anywhere in the authority. The officer must work
 * in the team; null puts the case in the team's unallocated queue. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"

#define MANAGING_ROLES (EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER)
#define READ_TIMEOUT_MS 5000

typedef struct alloc_ctx alloc_ctx;

struct alloc_ctx {
    ehc_app *app;
    ehc_http_req *req;
    ehc_principal who;
    char authority_ids[512];
    cJSON *body;
    int64_t team_id, officer_id, team_authority_id;
    char *reason;
    ehc_date effective_on;
    ehc_api_batch batch;
};

static void alloc_free(alloc_ctx *a)
{
    cJSON_Delete(a->body);
    free(a->reason);
    free(a->batch.items);
    free(a);
}

static void batch_done(ehc_api_batch *b)
{
    alloc_ctx *a = ehc_container_of(b, alloc_ctx, batch);
    b->items = NULL; /* freed with the answer */
    alloc_free(a);
}

static void reply_field(ehc_http_req *req, int status, const char *field, const char *message)
{
    ehc_http_reply_error(req, status, "invalid_field", message, field);
}

/* The principal manages this team: a manager grant for it, or service manager of its authority. */
static bool manages_team(const ehc_principal *who, int64_t authority_id, int64_t team_id)
{
    return (ehc_api_case_roles(who, authority_id, team_id) & MANAGING_ROLES) != 0;
}

static ehc_role managing_role(const ehc_principal *who, int64_t authority_id, int64_t team_id)
{
    unsigned held = ehc_api_case_roles(who, authority_id, team_id);
    return (held & EHC_ROLE_MANAGER)           ? EHC_ROLE_MANAGER
           : (held & EHC_ROLE_SERVICE_MANAGER) ? EHC_ROLE_SERVICE_MANAGER
                                               : 0;
}

static void on_case_header(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    ehc_api_batch_item *it = data;
    alloc_ctx *a = ehc_container_of(it->batch, alloc_ctx, batch);
    if (status != 0)
        return ehc_api_batch_fail(it, 503, "unavailable", "the database could not be reached", NULL);
    if (PQntuples(res) != 1) return ehc_api_batch_fail(it, 404, "not_found", "no such case", NULL);
    int64_t authority_id = atoll(PQgetvalue(res, 0, 0));
    int64_t team_id = PQgetisnull(res, 0, 1) ? 0 : atoll(PQgetvalue(res, 0, 1));
    int64_t officer_id = PQgetisnull(res, 0, 2) ? 0 : atoll(PQgetvalue(res, 0, 2));
    int32_t version = (int32_t)atol(PQgetvalue(res, 0, 3));
    if (authority_id != a->team_authority_id)
        return ehc_api_batch_fail(it, 404, "not_found", "no such case", NULL);
    ehc_role role = managing_role(&a->who, authority_id, team_id);
    if (!role)
        return ehc_api_batch_fail(it, 403, "forbidden", "this case belongs to a team you do not manage",
                                  NULL);
    /* already so: nothing to record */
    if (team_id == a->team_id && officer_id == a->officer_id) return ehc_api_batch_ok(it, 200, version);
    cJSON *fields = cJSON_CreateObject();
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, a->team_id);
    cJSON_AddStringToObject(fields, "team_id", num);
    snprintf(num, sizeof num, "%" PRId64, a->officer_id);
    cJSON_AddStringToObject(fields, "officer_id", a->officer_id ? num : "");
    if (a->reason) cJSON_AddStringToObject(fields, "reason", a->reason);
    char *fields_json = cJSON_PrintUnformatted(fields);
    cJSON_Delete(fields);
    ehc_store_record_cmd cmd = {
        .authority_id = authority_id,
        .case_id = it->case_id,
        .expected_version = version,
        .event = {.type = EHC_MACHINE_CASE_ALLOCATED,
                  .actor_role = ehc_role_name(role),
                  .actor_id = a->who.user_id,
                  .effective_on = a->effective_on,
                  .fields_json = fields_json,
                  .access_resource = "allocation",
                  .request_id = ehc_http_req_id(a->req)},
    };
    int rc = ehc_store_record_event(a->app->store, &cmd, ehc_api_batch_recorded, it);
    free(fields_json);
    if (rc) {
        ehc_store_result r = {.status = rc, .current_version = -1};
        ehc_api_batch_recorded(it, &r);
    }
}

static void on_target(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    alloc_ctx *a = data;
    if (status != 0) {
        ehc_api_reply_unavailable(a->req);
        return alloc_free(a);
    }
    if (PQntuples(res) != 1) {
        /* another authority's team, or none: the same answer, as if it did not exist */
        ehc_http_reply_error(a->req, 404, "not_found", "no such team in your authorities", "team_id");
        return alloc_free(a);
    }
    a->team_authority_id = atoll(PQgetvalue(res, 0, 0));
    if (!manages_team(&a->who, a->team_authority_id, a->team_id)) {
        ehc_http_reply_error(a->req, 403, "forbidden", "you do not manage that team", "team_id");
        return alloc_free(a);
    }
    if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        reply_field(a->req, 422, "officer_id", "officer_id must be an officer or manager of that team");
        return alloc_free(a);
    }
    a->batch.done = batch_done;
    ehc_api_batch_start(&a->batch, a->app, a->authority_ids, on_case_header);
}

static void authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    alloc_ctx *a = data;
    a->who = *who;
    ehc_api_authorities(who, MANAGING_ROLES, a->authority_ids, sizeof a->authority_ids);
    if (!*a->authority_ids) {
        ehc_http_reply_error(req, 403, "forbidden", "allocating cases is for team and service managers",
                             NULL);
        return alloc_free(a);
    }
    if (!(a->body = ehc_api_body_object(req))) return alloc_free(a);
    static const char *const known[] = {"case_ids", "team_id", "officer_id", "reason", "effective_on", NULL};
    if (ehc_api_only_known(req, a->body, known, "")) return alloc_free(a);
    const char *bad = ehc_api_batch_cases(&a->batch, req, "allocated",
                                          cJSON_GetObjectItemCaseSensitive(a->body, "case_ids"));
    if (bad) {
        reply_field(req, 422, "case_ids", bad);
        return alloc_free(a);
    }
    if (!(a->team_id = ehc_api_json_id(cJSON_GetObjectItemCaseSensitive(a->body, "team_id")))) {
        reply_field(req, 422, "team_id", "team_id is required: the team that will hold the cases");
        return alloc_free(a);
    }
    cJSON *officer = cJSON_GetObjectItemCaseSensitive(a->body, "officer_id");
    if (officer && !cJSON_IsNull(officer) && !(a->officer_id = ehc_api_json_id(officer))) {
        reply_field(req, 422, "officer_id",
                    "officer_id must be a user id, or null for the unallocated queue");
        return alloc_free(a);
    }
    cJSON *reason = cJSON_GetObjectItemCaseSensitive(a->body, "reason");
    if (reason && (!cJSON_IsString(reason) || strlen(reason->valuestring) > 500)) {
        reply_field(req, 422, "reason", "reason must be text of at most 500 characters");
        return alloc_free(a);
    }
    if (reason) a->reason = ehc_strdup(reason->valuestring);
    cJSON *on = cJSON_GetObjectItemCaseSensitive(a->body, "effective_on");
    if (on ? !cJSON_IsString(on) || ehc_date_parse_iso(on->valuestring, &a->effective_on)
           : ehc_clock_today(&app->clock, &a->effective_on) != 0) {
        reply_field(req, 422, "effective_on", "effective_on must be a real date written YYYY-MM-DD");
        return alloc_free(a);
    }
    char team[24], off[24];
    snprintf(team, sizeof team, "%" PRId64, a->team_id);
    snprintf(off, sizeof off, "%" PRId64, a->officer_id);
    const char *params[3] = {a->authority_ids, team, a->officer_id ? off : NULL};
    if (ehc_pg_query(app->pg, "SELECT * FROM ehc_allocation_target($1, $2::bigint, $3::bigint)", 3, params,
                     READ_TIMEOUT_MS, on_target, a) != 0) {
        ehc_api_reply_unavailable(req);
        alloc_free(a);
    }
}

static void on_allocate(ehc_http_req *req, void *ctx)
{
    alloc_ctx *a = ehc_calloc(1, sizeof *a);
    a->app = ctx;
    a->req = req;
    ehc_api_authenticate(ctx, req, authed, a);
}

void ehc_api_allocation_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "POST", "/api/v1/allocations", on_allocate, app)) abort();
}
