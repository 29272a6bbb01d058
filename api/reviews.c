/* Annual reviews and work on many cases at once:
 *   GET  /api/v1/reviews?due_by=&setting=&transfer_by=   open plans under review in the caller's scope,
 *        soonest date first: next review (CFA s44), review decision (Reg 20(10)), phase transfer
 *        (Reg 18(1)); by setting, and the transfer cohort the autumn before
 *   POST /api/v1/bulk-events {"case_ids", "type", "effective_on"?, "fields"?}   the same event on many
 *        cases (invitations sent for a term's reviews, say): each case's event is checked by the
 *        machine and committed on its own, at the case's current version; the answer lists each
 *        case's outcome */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"

#define CASE_ROLES (EHC_ROLE_OFFICER | EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER)
#define READ_TIMEOUT_MS 5000

/* ---- the review list ------------------------------------------------------------------------------ */

static void list_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    (void)data;
    char authorities[512];
    ehc_api_authorities(who, CASE_ROLES, authorities, sizeof authorities);
    if (!*authorities) {
        ehc_http_reply_error(req, 403, "forbidden", "reviews are for officers and managers", NULL);
        return;
    }
    cJSON *filter = cJSON_CreateObject();
    cJSON *teams = ehc_api_team_scope(who);
    if (teams) cJSON_AddItemToObject(filter, "team_ids", teams);
    const char *q = ehc_http_req_query(req);
    char name[32], value[64];
    int more;
    while ((more = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) != 0) {
        ehc_date on;
        bool bad = more < 0, known = true;
        if (bad) {
        } else if (strcmp(name, "due_by") == 0 || strcmp(name, "transfer_by") == 0) {
            bad = ehc_date_parse_iso(value, &on) != 0;
        } else if (strcmp(name, "setting") == 0) {
            bad = strlen(value) != 6 || strspn(value, "0123456789") != 6; /* a URN */
        } else if (strcmp(name, "limit") == 0 || strcmp(name, "offset") == 0) {
            char *end;
            long n = strtol(value, &end, 10);
            bad = !*value || *end || n < (name[0] == 'l') || n > (name[0] == 'l' ? 500 : 1000000);
            if (!bad) cJSON_AddNumberToObject(filter, name, (double)n);
            continue;
        } else if (strcmp(name, "format") == 0) {
            if (ehc_api_list_format_ok(value)) continue;
            bad = true;
        } else {
            known = false;
        }
        if (!known || bad) {
            cJSON_Delete(filter);
            return ehc_api_reply_bad_query(req, more, name, known);
        }
        cJSON_AddStringToObject(filter, name, value);
    }
    char *f = cJSON_PrintUnformatted(filter);
    cJSON_Delete(filter);
    char user[24];
    snprintf(user, sizeof user, "%" PRId64, who->user_id);
    const char *params[4] = {authorities, f, user, ehc_http_req_id(req)};
    int rc = ehc_pg_query(app->pg, "SELECT ehc_review_list($1, $2::jsonb, $3::bigint, $4)", 4, params,
                          READ_TIMEOUT_MS, ehc_api_reply_list_row, req);
    free(f);
    if (rc) ehc_api_reply_unavailable(req);
}

static void on_list(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, list_authed, NULL);
}

/* ---- one event on many cases ----------------------------------------------------------------------- */

typedef struct bulk_ctx bulk_ctx;

struct bulk_ctx {
    ehc_app *app;
    ehc_http_req *req;
    ehc_principal who;
    char authority_ids[512];
    cJSON *body;
    const char *type; /* in body */
    char *fields_json;
    ehc_date effective_on;
    ehc_api_batch batch;
};

static void bulk_free(bulk_ctx *b)
{
    cJSON_Delete(b->body);
    free(b->fields_json);
    free(b->batch.items);
    free(b);
}

static void batch_done(ehc_api_batch *batch)
{
    bulk_ctx *b = ehc_container_of(batch, bulk_ctx, batch);
    batch->items = NULL; /* freed with the answer */
    bulk_free(b);
}

static void on_case_header(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    ehc_api_batch_item *it = data;
    bulk_ctx *b = ehc_container_of(it->batch, bulk_ctx, batch);
    if (status != 0)
        return ehc_api_batch_fail(it, 503, "unavailable", "the database could not be reached", NULL);
    if (PQntuples(res) != 1) return ehc_api_batch_fail(it, 404, "not_found", "no such case", NULL);
    int64_t authority_id = atoll(PQgetvalue(res, 0, 0));
    int64_t team_id = PQgetisnull(res, 0, 1) ? 0 : atoll(PQgetvalue(res, 0, 1));
    int32_t version = (int32_t)atol(PQgetvalue(res, 0, 3));
    unsigned held = ehc_api_case_roles(&b->who, authority_id, team_id);
    if (!held)
        return ehc_api_batch_fail(it, 403, "forbidden", "this case belongs to a team you do not work in",
                                  NULL);
    /* each case's own copy: a move (definitions_updated) names the versions of the case's workflow */
    char *fields_json = b->fields_json ? ehc_strdup(b->fields_json) : NULL;
    ehc_role role;
    if (ehc_api_event_role(b->app, PQgetvalue(res, 0, 4), b->type, held, &role, &fields_json) != 0) {
        free(fields_json);
        return ehc_api_batch_fail(it, 422, "unknown_event", "that event is not part of this case's process",
                                  "type");
    }
    if (!role) {
        free(fields_json);
        return ehc_api_batch_fail(it, 403, "role_forbidden", "none of your roles for this case may record it",
                                  "type");
    }
    ehc_store_record_cmd cmd = {
        .authority_id = authority_id,
        .case_id = it->case_id,
        .expected_version = version,
        .event = {.type = b->type,
                  .actor_role = ehc_role_name(role),
                  .actor_id = b->who.user_id,
                  .effective_on = b->effective_on,
                  .fields_json = fields_json,
                  .access_resource = "bulk event",
                  .request_id = ehc_http_req_id(b->req)},
    };
    int rc = ehc_store_record_event(b->app->store, &cmd, ehc_api_batch_recorded, it);
    free(fields_json);
    if (rc) {
        ehc_store_result r = {.status = rc, .current_version = -1};
        ehc_api_batch_recorded(it, &r);
    }
}

static void bulk_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    bulk_ctx *b = data;
    b->who = *who;
    ehc_api_authorities(who, CASE_ROLES, b->authority_ids, sizeof b->authority_ids);
    if (!*b->authority_ids) {
        ehc_http_reply_error(req, 403, "forbidden", "recording events is for officers and managers", NULL);
        return bulk_free(b);
    }
    if (!(b->body = ehc_api_body_object(req))) return bulk_free(b);
    static const char *const known[] = {"case_ids", "type", "effective_on", "fields"};
    const char *field = NULL, *why = NULL;
    for (cJSON *it = b->body->child; it && !field; it = it->next) {
        bool ok = false;
        for (size_t i = 0; i < EHC_ARRAY_SIZE(known) && !ok; i++)
            ok = strcmp(it->string, known[i]) == 0;
        if (!ok) field = it->string, why = "unknown field";
    }
    cJSON *type = cJSON_GetObjectItemCaseSensitive(b->body, "type");
    cJSON *on = cJSON_GetObjectItemCaseSensitive(b->body, "effective_on");
    cJSON *fields = cJSON_GetObjectItemCaseSensitive(b->body, "fields");
    if (field) {
    } else if ((why = ehc_api_batch_cases(&b->batch, req, "recorded",
                                          cJSON_GetObjectItemCaseSensitive(b->body, "case_ids"))) != NULL) {
        field = "case_ids";
    } else if (!cJSON_IsString(type) || !*type->valuestring || strlen(type->valuestring) > 63) {
        field = "type", why = "type is required: the event's id in the workflow";
    } else if (on ? !cJSON_IsString(on) || ehc_date_parse_iso(on->valuestring, &b->effective_on)
                  : ehc_clock_today(&app->clock, &b->effective_on) != 0) {
        field = "effective_on", why = "effective_on must be a real date written YYYY-MM-DD";
    } else if (fields && !cJSON_IsObject(fields)) {
        field = "fields", why = "fields must be an object";
    }
    if (field) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s", why);
        ehc_http_reply_error(req, 422, "invalid_field", msg, field);
        return bulk_free(b);
    }
    b->type = type->valuestring;
    if (fields) b->fields_json = cJSON_PrintUnformatted(fields);
    b->batch.done = batch_done;
    ehc_api_batch_start(&b->batch, app, b->authority_ids, on_case_header);
}

static void on_bulk(ehc_http_req *req, void *ctx)
{
    bulk_ctx *b = ehc_calloc(1, sizeof *b);
    b->app = ctx;
    b->req = req;
    ehc_api_authenticate(ctx, req, bulk_authed, b);
}

void ehc_api_reviews_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/api/v1/reviews", on_list, app) ||
        ehc_http_route(app->http, "POST", "/api/v1/bulk-events", on_bulk, app))
        abort();
}
