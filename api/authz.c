/* Who may act on what, decided in C before the database is asked, then enforced again by
 * row-level security there: an officer or manager through a grant for the case's team, a service
 * manager through one for its authority. Also the one mapping from store outcomes to HTTP. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"

void ehc_api_authorities(const ehc_principal *who, unsigned roles, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < who->grant_count; i++) {
        const ehc_grant *g = &who->grants[i];
        if (!(g->role & roles)) continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = (who->grants[j].role & roles) && who->grants[j].authority_id == g->authority_id;
        if (seen) continue;
        int w = snprintf(out + n, size - n, "%s%lld", n ? "," : "", (long long)g->authority_id);
        if (w < 0 || (size_t)w >= size - n) break;
        n += (size_t)w;
    }
}

unsigned ehc_api_case_roles(const ehc_principal *who, int64_t authority_id, int64_t team_id)
{
    unsigned held = 0;
    for (size_t i = 0; i < who->grant_count; i++) {
        const ehc_grant *g = &who->grants[i];
        if (g->authority_id != authority_id) continue;
        if (g->role == EHC_ROLE_SERVICE_MANAGER) held |= EHC_ROLE_SERVICE_MANAGER;
        if ((g->role == EHC_ROLE_OFFICER || g->role == EHC_ROLE_MANAGER) && team_id && g->team_id == team_id)
            held |= g->role;
    }
    return held;
}

cJSON *ehc_api_team_scope(const ehc_principal *who)
{
    for (size_t i = 0; i < who->grant_count; i++)
        if (who->grants[i].role == EHC_ROLE_SERVICE_MANAGER) return NULL;
    cJSON *teams = cJSON_CreateArray();
    for (size_t i = 0; i < who->grant_count; i++)
        if (who->grants[i].team_id)
            cJSON_AddItemToArray(teams, cJSON_CreateNumber((double)who->grants[i].team_id));
    return teams;
}

ehc_role ehc_api_acting_role(const ehc_wf_event *event, unsigned held)
{
    static const ehc_role order[] = {EHC_ROLE_OFFICER, EHC_ROLE_MANAGER, EHC_ROLE_SERVICE_MANAGER};
    for (size_t i = 0; i < EHC_ARRAY_SIZE(order); i++)
        if ((held & order[i]) && (event->roles & order[i])) return order[i];
    return 0;
}

void ehc_api_reply_store_error(ehc_http_req *req, const ehc_store_result *r)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(body, "error");
    int status;
    const ehc_machine_error *m = &r->machine_error;
    if (r->status == EHC_ECONFLICT && r->current_version >= 0 && m->code == EHC_MACHINE_OK) {
        status = 409;
        cJSON_AddStringToObject(err, "code", "version_conflict");
        cJSON_AddStringToObject(err, "message", r->message);
        cJSON_AddNullToObject(err, "field");
        cJSON_AddNumberToObject(err, "current_version", r->current_version);
    } else if (r->status == EHC_ENOENT) {
        status = 404;
        cJSON_AddStringToObject(err, "code", "not_found");
        cJSON_AddStringToObject(err, "message", "no such case");
        cJSON_AddNullToObject(err, "field");
    } else if (r->status == EHC_EUNAVAILABLE || r->status == EHC_ETIMEDOUT || r->status == EHC_ECLOSED) {
        status = 503;
        cJSON_AddStringToObject(err, "code", "unavailable");
        cJSON_AddStringToObject(
            err, "message", "the database did not confirm the write; retry with the same Idempotency-Key");
        cJSON_AddNullToObject(err, "field");
    } else if (m->code != EHC_MACHINE_OK) {
        status = ehc_machine_error_http_status(m->code);
        cJSON_AddStringToObject(err, "code", ehc_machine_error_name(m->code));
        cJSON_AddStringToObject(err, "message", m->message);
        if (*m->field)
            cJSON_AddStringToObject(err, "field", m->field);
        else
            cJSON_AddNullToObject(err, "field");
        if (*m->rule) cJSON_AddStringToObject(err, "rule", m->rule);
    } else {
        status = r->status == EHC_ESTATE ? 409 : 422;
        cJSON_AddStringToObject(err, "code", r->status == EHC_ESTATE ? "case_state" : "rejected");
        cJSON_AddStringToObject(err, "message", r->message);
        cJSON_AddNullToObject(err, "field");
    }
    cJSON_AddStringToObject(err, "request_id", ehc_http_req_id(req));
    ehc_api_reply_json(req, status, body);
}

int ehc_api_event_role(const ehc_app *app, const char *workflow_id, const char *type, unsigned held,
                       ehc_role *role, char **fields_json)
{
    *role = 0;
    const ehc_workflow *wf;
    if (ehc_definitions_find(app->defs, workflow_id, &wf) != 0) return EHC_ENOENT;
    if (strcmp(type, EHC_MACHINE_DEFINITIONS_UPDATED) != 0) {
        size_t ev;
        if (ehc_workflow_find_event(wf, type, &ev) != 0) return EHC_ENOENT;
        *role = ehc_api_acting_role(ehc_workflow_event(wf, ev), held);
        return 0;
    }
    /* a manager moves the case; the machine checks any hashes given are the loaded ones */
    *role = (held & EHC_ROLE_MANAGER)           ? EHC_ROLE_MANAGER
            : (held & EHC_ROLE_SERVICE_MANAGER) ? EHC_ROLE_SERVICE_MANAGER
                                                : 0;
    cJSON *fields = *fields_json ? cJSON_Parse(*fields_json) : cJSON_CreateObject();
    if (!cJSON_IsObject(fields)) {
        cJSON_Delete(fields);
        return 0;
    }
    if (!cJSON_HasObjectItem(fields, "workflow_hash"))
        cJSON_AddStringToObject(fields, "workflow_hash", ehc_workflow_content_hash(wf));
    if (!cJSON_HasObjectItem(fields, "calendar_hash"))
        cJSON_AddStringToObject(fields, "calendar_hash", ehc_definitions_calendar_hash(app->defs, wf));
    free(*fields_json);
    *fields_json = cJSON_PrintUnformatted(fields);
    cJSON_Delete(fields);
    return 0;
}

int ehc_api_case_header(ehc_app *app, const char *authority_ids, int64_t case_id, ehc_pg_query_cb cb,
                        void *data)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, case_id);
    const char *params[2] = {authority_ids, id};
    return ehc_pg_query(app->pg, "SELECT * FROM ehc_case_header($1, $2::bigint)", 2, params, 5000, cb, data);
}
