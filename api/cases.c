/* Cases through the API:
 *   POST /api/v1/cases                  open a case from a request (a new or known child)
 *   GET  /api/v1/cases                  open cases in the caller's scope, soonest statutory date first
 * (?format=csv) GET  /api/v1/cases/{id}             a case with its child, events, dates, advice and alerts
 *   POST /api/v1/cases/{id}/events      record an event (expected_version; Idempotency-Key honoured)
 *   POST /api/v1/cases/{id}/exceptions  record an exception to a time limit (the workflow's exception event)
 * Every body and query parameter is checked here, once, with a 4xx naming the field; the machine
 * then checks the event against the law. Another authority's case answers 404, as if it did not
 * exist; another team's case in the same authority answers 403. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/identifiers.h"
#include "ehc/log.h"

#define CASE_ROLES (EHC_ROLE_OFFICER | EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER)
#define READ_TIMEOUT_MS 5000

/* ---- small parsers --------------------------------------------------------------------------------- */

static void reply_field_error(ehc_http_req *req, int status, const char *field, const char *fmt,
                              const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    ehc_http_reply_error(req, status, "invalid_field", msg, field);
}

/* An optional positive integer member; 0 when absent. -1 (and a 422 sent) when present but wrong. */
static int64_t opt_id(cJSON *obj, const char *name, ehc_http_req *req)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e15 ||
        v->valuedouble != (double)(int64_t)v->valuedouble) {
        reply_field_error(req, 422, name, "%s must be a positive whole number", name);
        return -1;
    }
    return (int64_t)v->valuedouble;
}

static int today(ehc_app *app, ehc_date *out)
{
    return ehc_clock_today(&app->clock, out);
}

/* ---- opening a case ---------------------------------------------------------------------------------- */

typedef struct open_ctx {
    ehc_app *app;
    ehc_http_req *req;
    ehc_principal who;
    int64_t authority_id, team_id, child_id, officer_id;
    char workflow[64];
    char *child_json;
    char *fields_json;
    char *idempotency_key;
    ehc_date effective_on;
    ehc_role role;
    char authority_ids[24];
} open_ctx;

static void open_free(open_ctx *o)
{
    free(o->child_json);
    free(o->fields_json);
    free(o->idempotency_key);
    free(o);
}

static void on_opened(void *data, const ehc_store_result *r)
{
    open_ctx *o = data;
    if (r->status != 0) {
        ehc_api_reply_store_error(o->req, r);
        open_free(o);
        return;
    }
    char location[64];
    snprintf(location, sizeof location, "/api/v1/cases/%" PRId64, r->case_id);
    ehc_http_res_header(o->req, "location", location);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddNumberToObject(body, "id", (double)r->case_id);
    cJSON_AddNumberToObject(body, "version", r->version);
    cJSON_AddBoolToObject(body, "replayed", r->replayed);
    ehc_log(EHC_LOG_INFO, "case_opened", ehc_http_req_id(o->req), "case %" PRId64 " by user %" PRId64,
            r->case_id, o->who.user_id);
    ehc_api_reply_json(o->req, r->replayed ? 200 : 201, body);
    open_free(o);
}

static void open_now(open_ctx *o)
{
    ehc_store_open_cmd cmd = {
        .authority_id = o->authority_id,
        .child_id = o->child_id,
        .child_json = o->child_id ? NULL : o->child_json,
        .workflow_id = o->workflow,
        .team_id = o->team_id,
        .officer_id = o->officer_id,
        .event = {.type = NULL,
                  .actor_role = ehc_role_name(o->role),
                  .actor_id = o->who.user_id,
                  .effective_on = o->effective_on,
                  .fields_json = o->fields_json,
                  .idempotency_key = o->idempotency_key,
                  .access_resource = "case opened",
                  .request_id = ehc_http_req_id(o->req)},
    };
    const ehc_workflow *wf;
    if (ehc_definitions_find(o->app->defs, o->workflow, &wf) != 0) abort(); /* checked before */
    cmd.event.type = ehc_workflow_event(wf, ehc_workflow_opening_event(wf))->id;
    int rc = ehc_store_open_case(o->app->store, &cmd, on_opened, o);
    if (rc) {
        ehc_store_result r = {.status = rc, .current_version = -1};
        snprintf(r.message, sizeof r.message, "%s", ehc_strerror(rc));
        on_opened(o, &r);
    }
}

static void on_duplicates(void *data, int status, PGresult *res, const char *message)
{
    open_ctx *o = data;
    if (status != 0) {
        ehc_store_result r = {.status = status == EHC_EINVAL ? EHC_EINVAL : EHC_EUNAVAILABLE,
                              .current_version = -1};
        on_opened(o, &r);
        return;
    }
    cJSON *dups = cJSON_Parse(PQgetvalue(res, 0, 0));
    if (cJSON_GetArraySize(dups) > 0) {
        cJSON *body = cJSON_CreateObject();
        cJSON *err = cJSON_AddObjectToObject(body, "error");
        cJSON_AddStringToObject(err, "code", "possible_duplicate");
        cJSON_AddStringToObject(
            err, "message",
            "a child with the same NHS number, UPN, or surname and date of birth is already "
            "known: open the case for that child (child_id), or confirm with "
            "confirm_new_child: true");
        cJSON_AddStringToObject(err, "field", "child");
        cJSON_AddItemToObject(body, "possible_duplicates", dups);
        ehc_api_reply_json(o->req, 409, body);
        open_free(o);
        return;
    }
    cJSON_Delete(dups);
    open_now(o);
}

/* A UK postcode in capitals, as the children table's CHECK has it:
 * [A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2} */
static bool upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool inward_code(const char *s)
{
    if (*s == ' ') s++;
    return digit(s[0]) && upper(s[1]) && upper(s[2]) && s[3] == '\0';
}

static bool postcode_valid(const char *s)
{
    size_t i = upper(s[0]) ? (upper(s[1]) ? 2 : 1) : 0;
    if (i == 0 || !digit(s[i])) return false;
    const char *rest = s + i + 1;
    return inward_code(rest) || ((upper(*rest) || digit(*rest)) && inward_code(rest + 1));
}

/* A school's URN: six digits. */
static bool urn_valid(const char *s)
{
    for (int i = 0; i < 6; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return s[6] == '\0';
}

/* Validates the child object; returns it re-serialised with only known, checked members, or NULL
 * after replying 422. */
static char *checked_child(cJSON *child, ehc_date today_on, ehc_http_req *req)
{
    static const char *const known[] = {"forename",           "surname",
                                        "date_of_birth",      "sex",
                                        "nhs_number",         "upn",
                                        "postcode",           "first_language",
                                        "interpreter_needed", "young_person_acts_for_self",
                                        "setting_urn",        NULL};
    if (!cJSON_IsObject(child)) {
        reply_field_error(req, 422, "child", "%s must be an object", "child");
        return NULL;
    }
    if (ehc_api_only_known(req, child, known, "child.")) return NULL;
    static const char *const names[] = {"forename", "surname"};
    for (int i = 0; i < 2; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(child, names[i]);
        char field[32];
        snprintf(field, sizeof field, "child.%s", names[i]);
        if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 100) {
            reply_field_error(req, 422, field, "%s is required: text of 1 to 100 characters", field);
            return NULL;
        }
    }
    cJSON *dob = cJSON_GetObjectItemCaseSensitive(child, "date_of_birth");
    ehc_date born;
    if (!cJSON_IsString(dob) || ehc_date_parse_iso(dob->valuestring, &born) ||
        ehc_date_compare(born, today_on) > 0 || ehc_date_days_between(born, today_on) > 366 * 30) {
        reply_field_error(req, 422, "child.date_of_birth",
                          "%s must be a real date, YYYY-MM-DD, not in the future "
                          "and within the last 30 years",
                          "child.date_of_birth");
        return NULL;
    }
    cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(child, "nhs_number")) &&
        (!cJSON_IsString(v) || !ehc_nhs_number_valid(v->valuestring))) {
        reply_field_error(req, 422, "child.nhs_number", "%s must be 10 digits with a valid check digit",
                          "child.nhs_number");
        return NULL;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(child, "upn")) &&
        (!cJSON_IsString(v) || !ehc_upn_valid(v->valuestring))) {
        reply_field_error(req, 422, "child.upn", "%s must be a 13-character UPN with a valid check letter",
                          "child.upn");
        return NULL;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(child, "sex")) &&
        (!cJSON_IsString(v) || strlen(v->valuestring) != 1 || !strchr("FMU", v->valuestring[0]))) {
        reply_field_error(req, 422, "child.sex", "%s must be F, M or U", "child.sex");
        return NULL;
    }
    static const char *const texts[] = {"postcode", "first_language", "setting_urn"};
    static const size_t max[] = {8, 60, 6};
    for (int i = 0; i < 3; i++) {
        v = cJSON_GetObjectItemCaseSensitive(child, texts[i]);
        if (v && (!cJSON_IsString(v) || strlen(v->valuestring) > max[i] ||
                  (i == 0 && !postcode_valid(v->valuestring)) || (i == 2 && !urn_valid(v->valuestring)))) {
            char field[40];
            snprintf(field, sizeof field, "child.%s", texts[i]);
            reply_field_error(req, 422, field, "%s must be text of the right length and form", field);
            return NULL;
        }
    }
    static const char *const flags[] = {"interpreter_needed", "young_person_acts_for_self"};
    for (int i = 0; i < 2; i++) {
        v = cJSON_GetObjectItemCaseSensitive(child, flags[i]);
        if (v && !cJSON_IsBool(v)) {
            char field[48];
            snprintf(field, sizeof field, "child.%s", flags[i]);
            reply_field_error(req, 422, field, "%s must be true or false", field);
            return NULL;
        }
    }
    return cJSON_PrintUnformatted(child);
}

static void open_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    static const char *const known[] = {"authority_id",      "team_id", "officer_id",
                                        "workflow",          "child",   "child_id",
                                        "confirm_new_child", "request", NULL};
    cJSON *body = ehc_api_body_object(req);
    if (!body) return;
    open_ctx *o = ehc_calloc(1, sizeof *o);
    o->app = app;
    o->req = req;
    o->who = *who;
    ehc_date today_on;
    if (ehc_api_only_known(req, body, known, "") || today(app, &today_on)) goto done;
    if ((o->team_id = opt_id(body, "team_id", req)) < 0 ||
        (o->authority_id = opt_id(body, "authority_id", req)) < 0 ||
        (o->officer_id = opt_id(body, "officer_id", req)) < 0 ||
        (o->child_id = opt_id(body, "child_id", req)) < 0)
        goto done;
    if (!o->team_id) {
        reply_field_error(req, 422, "team_id", "%s is required: the team that will hold the case", "team_id");
        goto done;
    }
    /* the authority: given, or that of the caller's grant for the team */
    for (size_t i = 0; !o->authority_id && i < who->grant_count; i++)
        if (who->grants[i].team_id == o->team_id) o->authority_id = who->grants[i].authority_id;
    unsigned held = o->authority_id ? ehc_api_case_roles(who, o->authority_id, o->team_id) : 0;
    if (!held) {
        ehc_http_reply_error(req, 403, "forbidden",
                             "you hold no officer, manager or service manager role for that team", "team_id");
        goto done;
    }
    cJSON *wf_name = cJSON_GetObjectItemCaseSensitive(body, "workflow");
    cJSON *confirm = cJSON_GetObjectItemCaseSensitive(body, "confirm_new_child");
    if (wf_name && (!cJSON_IsString(wf_name) || strlen(wf_name->valuestring) >= sizeof o->workflow)) {
        reply_field_error(req, 422, "workflow", "%s must be the id of a loaded workflow", "workflow");
        goto done;
    }
    if (confirm && !cJSON_IsBool(confirm)) {
        reply_field_error(req, 422, "confirm_new_child", "%s must be true or false", "confirm_new_child");
        goto done;
    }
    snprintf(o->workflow, sizeof o->workflow, "%s", wf_name ? wf_name->valuestring : "ehc-needs-assessment");
    const ehc_workflow *wf;
    if (ehc_definitions_find(app->defs, o->workflow, &wf) != 0) {
        reply_field_error(req, 422, "workflow", "no workflow '%s' is loaded", o->workflow);
        goto done;
    }
    o->role = ehc_api_acting_role(ehc_workflow_event(wf, ehc_workflow_opening_event(wf)), held);
    if (!o->role) {
        ehc_http_reply_error(req, 403, "forbidden", "your roles may not open a case", NULL);
        goto done;
    }
    cJSON *request = cJSON_GetObjectItemCaseSensitive(body, "request");
    static const char *const request_known[] = {"effective_on", "fields", NULL};
    cJSON *on = cJSON_GetObjectItemCaseSensitive(request, "effective_on");
    if (!cJSON_IsObject(request) || ehc_api_only_known(req, request, request_known, "request.")) {
        if (!cJSON_IsObject(request))
            reply_field_error(req, 422, "request", "%s is required: {\"effective_on\", \"fields\"}",
                              "request");
        goto done;
    }
    if (!cJSON_IsString(on) || ehc_date_parse_iso(on->valuestring, &o->effective_on)) {
        reply_field_error(req, 422, "request.effective_on", "%s must be a real date written YYYY-MM-DD",
                          "request.effective_on");
        goto done;
    }
    cJSON *fields = cJSON_GetObjectItemCaseSensitive(request, "fields");
    if (fields) o->fields_json = cJSON_PrintUnformatted(fields);
    const char *idem;
    if (ehc_api_idempotency_key(req, &idem)) goto done;
    if (idem) o->idempotency_key = ehc_strdup(idem);
    cJSON *child = cJSON_GetObjectItemCaseSensitive(body, "child");
    if (!!child == !!o->child_id) {
        reply_field_error(req, 422, "child",
                          "give exactly one of %s (a new child) and child_id (a known one)", "child");
        goto done;
    }
    snprintf(o->authority_ids, sizeof o->authority_ids, "%" PRId64, o->authority_id);
    if (o->child_id) {
        cJSON_Delete(body);
        open_now(o);
        return;
    }
    if (!(o->child_json = checked_child(child, today_on, req))) goto done;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "confirm_new_child"))) {
        cJSON_Delete(body);
        open_now(o);
        return;
    }
    cJSON_Delete(body);
    const char *params[2] = {o->authority_ids, o->child_json};
    if (ehc_pg_query(app->pg, "SELECT ehc_child_duplicates($1, $2::jsonb)", 2, params, READ_TIMEOUT_MS,
                     on_duplicates, o) != 0)
        on_duplicates(o, EHC_EUNAVAILABLE, NULL, NULL);
    return;
done:
    cJSON_Delete(body);
    open_free(o);
}

static void on_open(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, open_authed, NULL);
}

/* ---- one case ---------------------------------------------------------------------------------------- */

typedef struct case_ctx {
    ehc_app *app;
    ehc_http_req *req;
    ehc_principal who;
    int64_t case_id;
    int64_t authority_id; /* the case's, once known */
    bool record;          /* POST .../events or .../exceptions */
    bool exception;       /* POST .../exceptions: the workflow's exception event, from its own fields */
    char authority_ids[512];
    cJSON *body;
} case_ctx;

static void case_free(case_ctx *c)
{
    cJSON_Delete(c->body);
    free(c);
}

static void on_view(void *data, int status, PGresult *res, const char *message)
{
    case_ctx *c = data;
    if (status != 0) {
        ehc_api_reply_unavailable(c->req);
    } else {
        const char *json = PQgetvalue(res, 0, 0);
        ehc_http_reply(c->req, 200, "application/json", json, strlen(json));
    }
    case_free(c);
}

static void on_recorded(void *data, const ehc_store_result *r)
{
    case_ctx *c = data;
    if (r->status != 0) {
        ehc_api_reply_store_error(c->req, r);
    } else {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddNumberToObject(body, "case_id", (double)r->case_id);
        cJSON_AddNumberToObject(body, "version", r->version);
        cJSON_AddBoolToObject(body, "replayed", r->replayed);
        ehc_api_reply_json(c->req, r->replayed ? 200 : 201, body);
    }
    case_free(c);
}

/* POST .../exceptions: the body is the exception's own fields (and expected_version); it becomes the
 * workflow's exception event (Regs 5(4), 8(2), 10(4), 13(3)), dated today, for the machine to check. */
static int exception_as_event(case_ctx *c, const char *workflow_id)
{
    static const char *const known[] = {"deadline",       "exception",        "request_key",
                                        "applies_from",   "applies_to",       "evidence",
                                        "family_told_on", "expected_version", NULL};
    if (ehc_api_only_known(c->req, c->body, known, "")) return EHC_EINVAL;
    const ehc_workflow *wf;
    const ehc_wf_event *ev = NULL;
    if (ehc_definitions_find(c->app->defs, workflow_id, &wf) == 0)
        for (size_t i = 0; i < ehc_workflow_event_count(wf) && !ev; i++)
            if (ehc_workflow_event(wf, i)->records_exception) ev = ehc_workflow_event(wf, i);
    ehc_date today_on;
    if (!ev || today(c->app, &today_on)) {
        ehc_http_reply_error(c->req, 409, "case_state", "this case's process records no exceptions", NULL);
        return EHC_ESTATE;
    }
    cJSON *version = cJSON_DetachItemFromObjectCaseSensitive(c->body, "expected_version");
    cJSON *event = cJSON_CreateObject();
    char iso[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(today_on, iso);
    cJSON_AddStringToObject(event, "type", ev->id);
    cJSON_AddStringToObject(event, "effective_on", iso);
    if (version) cJSON_AddItemToObject(event, "expected_version", version);
    cJSON_AddItemToObject(event, "fields", c->body);
    c->body = event;
    return 0;
}

static void record_event(case_ctx *c, int64_t authority_id, unsigned held, const char *workflow_id)
{
    if (c->exception && exception_as_event(c, workflow_id)) return case_free(c);
    static const char *const known[] = {"type", "effective_on", "fields", "expected_version", NULL};
    ehc_http_req *req = c->req;
    if (ehc_api_only_known(req, c->body, known, "")) return case_free(c);
    cJSON *type = cJSON_GetObjectItemCaseSensitive(c->body, "type");
    cJSON *on = cJSON_GetObjectItemCaseSensitive(c->body, "effective_on");
    cJSON *version = cJSON_GetObjectItemCaseSensitive(c->body, "expected_version");
    ehc_date effective_on;
    if (!cJSON_IsString(type) || !*type->valuestring || strlen(type->valuestring) > 63) {
        reply_field_error(req, 422, "type", "%s is required: the event's id in the workflow", "type");
        return case_free(c);
    }
    if (!cJSON_IsString(on) || ehc_date_parse_iso(on->valuestring, &effective_on)) {
        reply_field_error(req, 422, "effective_on", "%s must be a real date written YYYY-MM-DD",
                          "effective_on");
        return case_free(c);
    }
    if (!cJSON_IsNumber(version) || version->valuedouble < 0 || version->valuedouble > 1e9 ||
        version->valuedouble != (double)(int32_t)version->valuedouble) {
        reply_field_error(req, 422, "expected_version", "%s is required: the case version you last read",
                          "expected_version");
        return case_free(c);
    }
    cJSON *fields = cJSON_GetObjectItemCaseSensitive(c->body, "fields");
    char *fields_json = fields ? cJSON_PrintUnformatted(fields) : NULL;
    ehc_role role;
    if (ehc_api_event_role(c->app, workflow_id, type->valuestring, held, &role, &fields_json) != 0) {
        free(fields_json);
        reply_field_error(req, 422, "type", "'%s' is not an event of this case's workflow",
                          type->valuestring);
        return case_free(c);
    }
    if (!role) {
        free(fields_json);
        ehc_http_reply_error(req, 403, "role_forbidden",
                             "none of your roles for this case may record that event", "type");
        return case_free(c);
    }
    const char *idem;
    if (ehc_api_idempotency_key(req, &idem)) {
        free(fields_json);
        return case_free(c);
    }
    ehc_store_record_cmd cmd = {
        .authority_id = authority_id,
        .case_id = c->case_id,
        .expected_version = (int32_t)version->valuedouble,
        .event = {.type = type->valuestring,
                  .actor_role = ehc_role_name(role),
                  .actor_id = c->who.user_id,
                  .effective_on = effective_on,
                  .fields_json = fields_json,
                  .idempotency_key = idem,
                  .access_resource = c->exception ? "exception" : "case event",
                  .request_id = ehc_http_req_id(req)},
    };
    c->authority_id = authority_id;
    int rc = ehc_store_record_event(c->app->store, &cmd, on_recorded, c);
    free(fields_json);
    if (rc) {
        ehc_store_result r = {.status = rc, .current_version = -1};
        snprintf(r.message, sizeof r.message, "%s", ehc_strerror(rc));
        on_recorded(c, &r);
    }
}

static void on_header(void *data, int status, PGresult *res, const char *message)
{
    case_ctx *c = data;
    if (status != 0) {
        ehc_api_reply_unavailable(c->req);
        return case_free(c);
    }
    if (PQntuples(res) != 1) {
        /* another authority's case, or none: the same answer */
        ehc_http_reply_error(c->req, 404, "not_found", "no such case", NULL);
        return case_free(c);
    }
    int64_t authority_id = atoll(PQgetvalue(res, 0, 0));
    int64_t team_id = PQgetisnull(res, 0, 1) ? 0 : atoll(PQgetvalue(res, 0, 1));
    unsigned held = ehc_api_case_roles(&c->who, authority_id, team_id);
    if (!held) {
        ehc_http_reply_error(c->req, 403, "forbidden", "this case belongs to a team you do not work in",
                             NULL);
        return case_free(c);
    }
    if (c->record) return record_event(c, authority_id, held, PQgetvalue(res, 0, 4));
    char kase[24], auth[24], user[24];
    snprintf(kase, sizeof kase, "%" PRId64, c->case_id);
    snprintf(auth, sizeof auth, "%" PRId64, authority_id);
    snprintf(user, sizeof user, "%" PRId64, c->who.user_id);
    /* the read and its line in the access log commit together */
    const char *params[5] = {auth, kase, auth, user, ehc_http_req_id(c->req)};
    if (ehc_pg_query(c->app->pg, "SELECT ehc_case_view_logged($1, $2::bigint, $3::bigint, $4::bigint, $5)", 5,
                     params, READ_TIMEOUT_MS, on_view, c) != 0) {
        ehc_api_reply_unavailable(c->req);
        case_free(c);
    }
}

static void case_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    case_ctx *c = data;
    c->who = *who;
    ehc_api_authorities(who, CASE_ROLES, c->authority_ids, sizeof c->authority_ids);
    if (!*c->authority_ids) {
        ehc_http_reply_error(req, 404, "not_found", "no such case", NULL);
        return case_free(c);
    }
    if (c->record && !(c->body = ehc_api_body_object(req))) return case_free(c);
    if (ehc_api_case_header(app, c->authority_ids, c->case_id, on_header, c) != 0) {
        ehc_api_reply_unavailable(req);
        case_free(c);
    }
}

/* /api/v1/cases/{id} and /api/v1/cases/{id}/events */
static void on_case_path(ehc_http_req *req, void *ctx)
{
    const char *rest = ehc_http_req_path(req) + strlen("/api/v1/cases/");
    const char *slash = strchr(rest, '/');
    size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
    int64_t id;
    bool post = strcmp(ehc_http_req_method(req), "POST") == 0;
    bool exceptions = slash && strcmp(slash, "/exceptions") == 0;
    bool events = slash && (strcmp(slash, "/events") == 0 || exceptions);
    if (ehc_api_parse_id(rest, idlen, &id) || (slash && !events) || (post != events)) {
        if (ehc_api_parse_id(rest, idlen, &id) == 0 && ((post && !events) || (!post && events))) {
            ehc_http_res_header(req, "allow", events ? "POST" : "GET");
            ehc_http_reply_error(req, 405, "method_not_allowed", "this path does not accept that method",
                                 NULL);
            return;
        }
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
        return;
    }
    case_ctx *c = ehc_calloc(1, sizeof *c);
    c->app = ctx;
    c->req = req;
    c->case_id = id;
    c->record = events;
    c->exception = exceptions;
    ehc_api_authenticate(ctx, req, case_authed, c);
}

/* ---- the list ---------------------------------------------------------------------------------------- */

static void list_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    char authorities[512];
    ehc_api_authorities(who, CASE_ROLES, authorities, sizeof authorities);
    if (!*authorities) {
        ehc_http_reply(req, 200, "application/json", "[]", 2);
        return;
    }
    cJSON *filter = cJSON_CreateObject();
    /* officers and managers see their teams' cases; a service manager sees the authority's */
    bool service_manager = false;
    for (size_t i = 0; i < who->grant_count; i++)
        service_manager |= who->grants[i].role == EHC_ROLE_SERVICE_MANAGER;
    if (!service_manager) {
        cJSON *teams = cJSON_AddArrayToObject(filter, "team_ids");
        for (size_t i = 0; i < who->grant_count; i++)
            if (who->grants[i].team_id)
                cJSON_AddItemToArray(teams, cJSON_CreateNumber((double)who->grants[i].team_id));
    }
    ehc_date today_on;
    if (today(app, &today_on)) {
        cJSON_Delete(filter);
        ehc_http_reply_error(req, 500, "internal", "cannot tell today's date", NULL);
        return;
    }
    const char *q = ehc_http_req_query(req);
    char name[32], value[128];
    int more;
    while ((more = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) != 0) {
        if (more < 0) {
            cJSON_Delete(filter);
            return ehc_api_reply_bad_query(req, more, name, true);
        }
        int64_t n;
        int bad = 0;
        if (strcmp(name, "stage") == 0) {
            bad = !*value || strlen(value) > 63;
            if (!bad) cJSON_AddStringToObject(filter, "stage", value);
        } else if (strcmp(name, "team_id") == 0 || strcmp(name, "officer_id") == 0) {
            bad = ehc_api_parse_id(value, strlen(value), &n) != 0;
            if (!bad && name[0] == 't') {
                cJSON_DeleteItemFromObject(filter, "team_ids");
                bool allowed = service_manager;
                for (size_t i = 0; i < who->grant_count; i++)
                    allowed |= who->grants[i].team_id == n;
                if (!allowed) {
                    cJSON_Delete(filter);
                    ehc_http_reply_error(req, 403, "forbidden", "you do not work in that team", "team_id");
                    return;
                }
                cJSON *one = cJSON_AddArrayToObject(filter, "team_ids");
                cJSON_AddItemToArray(one, cJSON_CreateNumber((double)n));
            } else if (!bad) {
                cJSON_AddNumberToObject(filter, "officer_id", (double)n);
            }
        } else if (strcmp(name, "unallocated") == 0 || strcmp(name, "overdue") == 0 ||
                   strcmp(name, "exception") == 0) {
            bad = strcmp(value, "true") != 0 && strcmp(value, "false") != 0;
            if (!bad && strcmp(name, "overdue") == 0) {
                if (value[0] == 't') {
                    char iso[EHC_DATE_ISO_SIZE];
                    ehc_date_format_iso(today_on, iso);
                    cJSON_AddStringToObject(filter, "overdue_on", iso);
                }
            } else if (!bad) {
                cJSON_AddBoolToObject(filter, name, value[0] == 't');
            }
        } else if (strcmp(name, "due_within_days") == 0 || strcmp(name, "limit") == 0 ||
                   strcmp(name, "offset") == 0) {
            bad = (ehc_api_parse_id(value, strlen(value), &n) != 0 && strcmp(value, "0") != 0) ||
                  strlen(value) > 6;
            if (strcmp(value, "0") == 0) n = 0;
            if (!bad && name[0] == 'd') {
                ehc_date by;
                char iso[EHC_DATE_ISO_SIZE];
                bad = n > 3660 || ehc_date_add_days(today_on, (int32_t)n, &by) != 0;
                if (!bad) {
                    ehc_date_format_iso(by, iso);
                    cJSON_AddStringToObject(filter, "due_by", iso);
                }
            } else if (!bad) {
                bad = name[0] == 'l' && (n < 1 || n > 500);
                if (!bad) cJSON_AddNumberToObject(filter, name, (double)n);
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
    int rc = ehc_pg_query(app->pg, "SELECT ehc_case_list($1, $2::jsonb)", 2, params, READ_TIMEOUT_MS,
                          ehc_api_reply_list_row, req);
    free(f);
    if (rc) ehc_api_reply_unavailable(req);
}

static void on_list_route(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, list_authed, NULL);
}

void ehc_api_cases_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "POST", "/api/v1/cases", on_open, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/cases", on_list_route, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/cases/{id}", on_case_path, app) ||
        ehc_http_route(app->http, "POST", "/api/v1/cases/{id}/events", on_case_path, app) ||
        ehc_http_route(app->http, "POST", "/api/v1/cases/{id}/exceptions", on_case_path, app))
        abort();
}
