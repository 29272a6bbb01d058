/* Advice requests through the API, for the advisers' side of Reg 6-8:
 *   GET  /api/v1/advice-requests                      the requests the caller may see
 *   POST /api/v1/advice-requests/{id}/forward         a DCO passes a health request on to a service
 *   POST /api/v1/advice-requests/{id}/return          the advice came back
 *   POST /api/v1/advice-requests/{id}/nil-return      the adviser has nothing to give, and why
 * A designated clinical officer or social-care team sees only the requests addressed (or forwarded)
 * to its service, in the authorities it serves; officers and managers their teams' cases; a service
 * manager the authority's. Each action is the case's workflow event with that "advice" action,
 * checked by the machine like any other; officers request advice with POST /cases/{id}/events. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/log.h"

#define ADVICE_ROLES                                                                                         \
    (EHC_ROLE_OFFICER | EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER | EHC_ROLE_DCO | EHC_ROLE_SOCIAL_CARE)
#define SERVICE_ROLES (EHC_ROLE_DCO | EHC_ROLE_SOCIAL_CARE)
#define READ_TIMEOUT_MS 5000

typedef struct advice_ctx {
    ehc_app *app;
    ehc_http_req *req;
    ehc_principal who;
    int64_t advice_id;
    ehc_wf_advice action;
    cJSON *body;
    char authority_ids[512];
    /* from the request's header row */
    int64_t authority_id, case_id, team_id;
    char request_key[64];
    int32_t version;
    char workflow_id[64];
    /* the event to record */
    ehc_role role;
    const ehc_wf_event *event;
    cJSON *fields;
    ehc_date effective_on;
    int32_t expected_version;
} advice_ctx;

static void advice_free(advice_ctx *a)
{
    cJSON_Delete(a->body);
    cJSON_Delete(a->fields);
    free(a);
}

static void reply_field(ehc_http_req *req, const char *field, const char *message)
{
    ehc_http_reply_error(req, 422, "invalid_field", message, field);
}

/* The roles the principal holds for one request: its service's (DCO, social care) through a grant
 * for the organisation it is addressed or forwarded to, in the case's authority; a case role
 * through the case's team or authority. */
static unsigned request_roles(const ehc_principal *who, int64_t authority_id, int64_t team_id, int64_t org_id,
                              int64_t forwarded_id)
{
    unsigned held = ehc_api_case_roles(who, authority_id, team_id);
    for (size_t i = 0; i < who->grant_count; i++) {
        const ehc_grant *g = &who->grants[i];
        if (!(g->role & SERVICE_ROLES) || g->authority_id != authority_id || !g->organisation_id) continue;
        if (g->organisation_id == org_id || g->organisation_id == forwarded_id) held |= g->role;
    }
    return held;
}

static ehc_role acting_role(const ehc_wf_event *ev, unsigned held)
{
    static const ehc_role order[] = {EHC_ROLE_DCO, EHC_ROLE_SOCIAL_CARE, EHC_ROLE_OFFICER, EHC_ROLE_MANAGER,
                                     EHC_ROLE_SERVICE_MANAGER};
    for (size_t i = 0; i < EHC_ARRAY_SIZE(order); i++)
        if ((held & order[i]) && (ev->roles & order[i])) return order[i];
    return 0;
}

/* ---- the list --------------------------------------------------------------------------------------- */

static void list_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    (void)data;
    bool service_manager = false, team_roles = false, service_roles = false;
    for (size_t i = 0; i < who->grant_count; i++) {
        service_manager |= who->grants[i].role == EHC_ROLE_SERVICE_MANAGER;
        team_roles |= (who->grants[i].role & (EHC_ROLE_OFFICER | EHC_ROLE_MANAGER)) != 0;
        service_roles |= (who->grants[i].role & SERVICE_ROLES) && who->grants[i].organisation_id;
    }
    char authorities[512];
    cJSON *filter = cJSON_CreateObject();
    /* the widest view the caller has: the authority, else their teams, else their services */
    if (service_manager) {
        ehc_api_authorities(who, EHC_ROLE_SERVICE_MANAGER, authorities, sizeof authorities);
    } else if (team_roles) {
        ehc_api_authorities(who, EHC_ROLE_OFFICER | EHC_ROLE_MANAGER, authorities, sizeof authorities);
        cJSON_AddItemToObject(filter, "team_ids", ehc_api_team_scope(who));
    } else if (service_roles) {
        ehc_api_authorities(who, SERVICE_ROLES, authorities, sizeof authorities);
        cJSON *scopes = cJSON_AddArrayToObject(filter, "scopes");
        for (size_t i = 0; i < who->grant_count; i++) {
            const ehc_grant *g = &who->grants[i];
            if (!(g->role & SERVICE_ROLES) || !g->organisation_id) continue;
            cJSON *pair = cJSON_CreateArray();
            cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)g->authority_id));
            cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)g->organisation_id));
            cJSON_AddItemToArray(scopes, pair);
        }
    } else {
        cJSON_Delete(filter);
        ehc_http_reply_error(req, 403, "forbidden", "advice requests are for case workers and advisers",
                             NULL);
        return;
    }
    ehc_date today_on;
    if (ehc_clock_today(&app->clock, &today_on)) {
        cJSON_Delete(filter);
        ehc_http_reply_error(req, 500, "internal", "cannot tell today's date", NULL);
        return;
    }
    const char *q = ehc_http_req_query(req);
    char name[32], value[64];
    int more;
    while ((more = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) != 0) {
        int64_t n = 0;
        bool bad = more < 0;
        if (bad) {
        } else if (strcmp(name, "status") == 0) {
            bad = strcmp(value, "open") && strcmp(value, "returned") && strcmp(value, "all");
            if (!bad) cJSON_AddStringToObject(filter, "status", value);
        } else if (strcmp(name, "overdue") == 0) {
            bad = strcmp(value, "true") && strcmp(value, "false");
            if (!bad && value[0] == 't') {
                char iso[EHC_DATE_ISO_SIZE];
                ehc_date_format_iso(today_on, iso);
                cJSON_AddStringToObject(filter, "overdue_on", iso);
            }
        } else if (strcmp(name, "case_id") == 0 || strcmp(name, "limit") == 0 ||
                   strcmp(name, "offset") == 0) {
            bad = strcmp(value, "0") == 0 ? name[0] != 'o' : ehc_api_parse_id(value, strlen(value), &n) != 0;
            bad = bad || (name[0] == 'l' && n > 500) || (name[0] == 'o' && n > 1000000);
            if (!bad) cJSON_AddNumberToObject(filter, name, (double)n);
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
    if (!*authorities) {
        cJSON_Delete(filter);
        ehc_api_reply_list(req, "[]");
        return;
    }
    char *f = cJSON_PrintUnformatted(filter);
    cJSON_Delete(filter);
    char user[24];
    snprintf(user, sizeof user, "%" PRId64, who->user_id);
    const char *params[4] = {authorities, f, user, ehc_http_req_id(req)};
    int rc = ehc_pg_query(app->pg, "SELECT ehc_advice_list($1, $2::jsonb, $3::bigint, $4)", 4, params,
                          READ_TIMEOUT_MS, ehc_api_reply_list_row, req);
    free(f);
    if (rc) ehc_api_reply_unavailable(req);
}

static void on_list(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, list_authed, NULL);
}

/* ---- actions ---------------------------------------------------------------------------------------- */

static void on_recorded(void *data, const ehc_store_result *r)
{
    advice_ctx *a = data;
    if (r->status != 0) {
        ehc_api_reply_store_error(a->req, r);
    } else {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddNumberToObject(body, "id", (double)a->advice_id);
        cJSON_AddNumberToObject(body, "case_id", (double)r->case_id);
        cJSON_AddNumberToObject(body, "version", r->version);
        cJSON_AddStringToObject(body, "event", a->event->id);
        cJSON_AddBoolToObject(body, "replayed", r->replayed);
        ehc_log(EHC_LOG_INFO, "advice_action", ehc_http_req_id(a->req),
                "advice request %" PRId64 ": %s by user %" PRId64, a->advice_id, a->event->id,
                a->who.user_id);
        ehc_api_reply_json(a->req, r->replayed ? 200 : 201, body);
    }
    advice_free(a);
}

static void record_now(advice_ctx *a)
{
    cJSON_AddStringToObject(a->fields, "request_key", a->request_key);
    char *fields_json = cJSON_PrintUnformatted(a->fields);
    const char *idem = ehc_http_req_header(a->req, "idempotency-key");
    ehc_store_record_cmd cmd = {
        .authority_id = a->authority_id,
        .case_id = a->case_id,
        .expected_version = a->expected_version,
        .event = {.type = a->event->id,
                  .actor_role = ehc_role_name(a->role),
                  .actor_id = a->who.user_id,
                  .effective_on = a->effective_on,
                  .fields_json = fields_json,
                  .idempotency_key = idem,
                  .access_resource = "advice request",
                  .request_id = ehc_http_req_id(a->req)},
    };
    int rc = ehc_store_record_event(a->app->store, &cmd, on_recorded, a);
    free(fields_json);
    if (rc) {
        ehc_store_result r = {.status = rc, .current_version = -1};
        snprintf(r.message, sizeof r.message, "%s", ehc_strerror(rc));
        on_recorded(a, &r);
        return;
    }
}

static void on_service_kind(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    advice_ctx *a = data;
    if (status != 0) {
        ehc_api_reply_unavailable(a->req);
        return advice_free(a);
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 0), "health") != 0) {
        reply_field(a->req, "organisation_id",
                    "organisation_id must name a health service that serves this "
                    "case's authority");
        return advice_free(a);
    }
    record_now(a);
}

/* The body's members for this action, checked, into a->fields; 0, or a 4xx sent. */
static int check_body(advice_ctx *a)
{
    ehc_http_req *req = a->req;
    static const char *const plain[] = {"effective_on", "expected_version", NULL};
    static const char *const forward[] = {"effective_on", "expected_version", "organisation_id",
                                          "health_service", NULL};
    static const char *const nil[] = {"effective_on", "expected_version", "reason", "detail", NULL};
    const char *const *known = a->action == EHC_WF_ADVICE_FORWARDED    ? forward
                               : a->action == EHC_WF_ADVICE_NIL_RETURN ? nil
                                                                       : plain;
    if (ehc_api_only_known(req, a->body, known, "")) return EHC_EINVAL;
    const char *const *extra = known == plain ? NULL : known + 2; /* the action's own two members */
    cJSON *on = cJSON_GetObjectItemCaseSensitive(a->body, "effective_on");
    if (!cJSON_IsString(on) || ehc_date_parse_iso(on->valuestring, &a->effective_on)) {
        reply_field(req, "effective_on", "effective_on must be a real date written YYYY-MM-DD");
        return EHC_EINVAL;
    }
    cJSON *version = cJSON_GetObjectItemCaseSensitive(a->body, "expected_version");
    a->expected_version = a->version;
    if (version) {
        if (!cJSON_IsNumber(version) || version->valuedouble < 0 || version->valuedouble > 1e9 ||
            version->valuedouble != (double)(int32_t)version->valuedouble) {
            reply_field(req, "expected_version", "expected_version must be the case version you last read");
            return EHC_EINVAL;
        }
        a->expected_version = (int32_t)version->valuedouble;
    }
    a->fields = cJSON_CreateObject();
    for (size_t i = 0; extra && i < 2; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(a->body, extra[i]);
        if (!v) continue;
        if (strcmp(extra[i], "organisation_id") == 0) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 2147483647 ||
                v->valuedouble != (double)(int64_t)v->valuedouble) {
                reply_field(req, "organisation_id", "organisation_id must be a service's id");
                return EHC_EINVAL;
            }
            cJSON_AddNumberToObject(a->fields, extra[i], v->valuedouble);
        } else {
            if (!cJSON_IsString(v)) {
                char msg[96];
                snprintf(msg, sizeof msg, "%s must be text", extra[i]);
                reply_field(req, extra[i], msg);
                return EHC_EINVAL;
            }
            cJSON_AddStringToObject(a->fields, extra[i], v->valuestring);
        }
    }
    if (a->action == EHC_WF_ADVICE_FORWARDED &&
        !cJSON_GetObjectItemCaseSensitive(a->fields, "organisation_id")) {
        reply_field(req, "organisation_id",
                    "organisation_id is required: the service the request goes on to");
        return EHC_EINVAL;
    }
    return 0;
}

static void on_header(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    advice_ctx *a = data;
    if (status != 0) {
        ehc_api_reply_unavailable(a->req);
        return advice_free(a);
    }
    if (PQntuples(res) != 1) {
        ehc_http_reply_error(a->req, 404, "not_found", "no such advice request", NULL);
        return advice_free(a);
    }
    a->authority_id = atoll(PQgetvalue(res, 0, 0));
    a->case_id = atoll(PQgetvalue(res, 0, 1));
    a->team_id = PQgetisnull(res, 0, 2) ? 0 : atoll(PQgetvalue(res, 0, 2));
    int64_t org = PQgetisnull(res, 0, 3) ? 0 : atoll(PQgetvalue(res, 0, 3));
    int64_t forwarded = PQgetisnull(res, 0, 4) ? 0 : atoll(PQgetvalue(res, 0, 4));
    snprintf(a->request_key, sizeof a->request_key, "%s", PQgetvalue(res, 0, 5));
    a->version = (int32_t)atol(PQgetvalue(res, 0, 7));
    snprintf(a->workflow_id, sizeof a->workflow_id, "%s", PQgetvalue(res, 0, 8));
    bool returned = !PQgetisnull(res, 0, 6);
    unsigned held = request_roles(&a->who, a->authority_id, a->team_id, org, forwarded);
    if (!held) {
        /* in the caller's authority, but neither their service's request nor their team's case */
        ehc_http_reply_error(a->req, 403, "forbidden", "this advice request is not addressed to your service",
                             NULL);
        return advice_free(a);
    }
    if (returned) {
        ehc_http_reply_error(a->req, 409, "already_returned",
                             "this advice request has been answered already; a mistake is put right by a "
                             "correction on the case",
                             NULL);
        return advice_free(a);
    }
    const ehc_workflow *wf;
    a->event = NULL;
    if (ehc_definitions_find(a->app->defs, a->workflow_id, &wf) == 0) {
        for (size_t i = 0; i < ehc_workflow_event_count(wf) && !a->event; i++)
            if (ehc_workflow_event(wf, i)->advice == a->action) a->event = ehc_workflow_event(wf, i);
    }
    if (!a->event) {
        ehc_http_reply_error(a->req, 409, "case_state", "this case's process has no such step for advice",
                             NULL);
        return advice_free(a);
    }
    if (!(a->role = acting_role(a->event, held))) {
        ehc_http_reply_error(a->req, 403, "role_forbidden", "none of your roles for this request may do that",
                             NULL);
        return advice_free(a);
    }
    if (check_body(a)) return advice_free(a);
    if (a->action != EHC_WF_ADVICE_FORWARDED) return record_now(a);
    char org_text[24], auth[24];
    snprintf(org_text, sizeof org_text, "%.0f",
             cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a->fields, "organisation_id")));
    snprintf(auth, sizeof auth, "%" PRId64, a->authority_id);
    const char *params[2] = {org_text, auth};
    if (ehc_pg_query(a->app->pg, "SELECT ehc_service_kind($1::bigint, $2::bigint)", 2, params,
                     READ_TIMEOUT_MS, on_service_kind, a) != 0) {
        ehc_api_reply_unavailable(a->req);
        advice_free(a);
    }
}

static void action_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    advice_ctx *a = data;
    a->who = *who;
    ehc_api_authorities(who, ADVICE_ROLES, a->authority_ids, sizeof a->authority_ids);
    if (!*a->authority_ids) {
        ehc_http_reply_error(req, 404, "not_found", "no such advice request", NULL);
        return advice_free(a);
    }
    if (!(a->body = ehc_api_body_object(req))) return advice_free(a);
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, a->advice_id);
    const char *params[2] = {a->authority_ids, id};
    if (ehc_pg_query(app->pg, "SELECT * FROM ehc_advice_header($1, $2::bigint)", 2, params, READ_TIMEOUT_MS,
                     on_header, a) != 0) {
        ehc_api_reply_unavailable(req);
        advice_free(a);
    }
}

/* /api/v1/advice-requests/{id}/{forward,return,nil-return} */
static void on_action(ehc_http_req *req, void *ctx)
{
    static const struct {
        const char *suffix;
        ehc_wf_advice action;
    } actions[] = {{"/forward", EHC_WF_ADVICE_FORWARDED},
                   {"/return", EHC_WF_ADVICE_RETURNED},
                   {"/nil-return", EHC_WF_ADVICE_NIL_RETURN}};
    const char *rest = ehc_http_req_path(req) + strlen("/api/v1/advice-requests/");
    const char *slash = strchr(rest, '/');
    int64_t id;
    ehc_wf_advice action = EHC_WF_ADVICE_NONE;
    for (size_t i = 0; slash && i < EHC_ARRAY_SIZE(actions); i++)
        if (strcmp(slash, actions[i].suffix) == 0) action = actions[i].action;
    if (!slash || ehc_api_parse_id(rest, (size_t)(slash - rest), &id) || action == EHC_WF_ADVICE_NONE) {
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
        return;
    }
    advice_ctx *a = ehc_calloc(1, sizeof *a);
    a->app = ctx;
    a->req = req;
    a->advice_id = id;
    a->action = action;
    ehc_api_authenticate(ctx, req, action_authed, a);
}

void ehc_api_advice_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/api/v1/advice-requests", on_list, app) ||
        ehc_http_route(app->http, "POST", "/api/v1/advice-requests/{id}/forward", on_action, app) ||
        ehc_http_route(app->http, "POST", "/api/v1/advice-requests/{id}/return", on_action, app) ||
        ehc_http_route(app->http, "POST", "/api/v1/advice-requests/{id}/nil-return", on_action, app))
        abort();
}
