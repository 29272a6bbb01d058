/* A loaded workflow, read-only, for any signed-in user:
 *   GET /api/v1/workflows/{id}   its stages, events (roles, fields with types and values, the stages
 *                                that allow each) and statutory dates (kind, legal basis)
 * The browser interface builds its forms for the next events from this, so no event is written by
 * hand in the front end. The law is public: nothing here is personal data, and the machine still
 * judges each event when it is recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/workflow.h"

static cJSON *roles_json(unsigned roles)
{
    cJSON *a = cJSON_CreateArray();
    for (unsigned bit = 0; bit < EHC_ROLE_COUNT; bit++)
        if (roles & (1u << bit)) cJSON_AddItemToArray(a, cJSON_CreateString(ehc_role_name(1u << bit)));
    return a;
}

static cJSON *field_json(const ehc_wf_field *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", f->id);
    if (f->title) cJSON_AddStringToObject(o, "title", f->title);
    cJSON_AddStringToObject(o, "type", ehc_field_type_name(f->type));
    cJSON_AddBoolToObject(o, "required", f->required);
    if (f->type == EHC_FIELD_ENUM) {
        cJSON *values = cJSON_AddArrayToObject(o, "values");
        for (size_t i = 0; i < f->value_count; i++)
            cJSON_AddItemToArray(values, cJSON_CreateString(f->values[i]));
    }
    if (f->type == EHC_FIELD_TEXT && f->max_length)
        cJSON_AddNumberToObject(o, "max_length", (double)f->max_length);
    if (f->type == EHC_FIELD_INT) {
        cJSON_AddNumberToObject(o, "min", (double)f->min);
        cJSON_AddNumberToObject(o, "max", (double)f->max);
    }
    return o;
}

static cJSON *workflow_json(const ehc_workflow *wf)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", ehc_workflow_id(wf));
    cJSON_AddStringToObject(o, "title", ehc_workflow_title(wf));
    cJSON_AddStringToObject(o, "content_hash", ehc_workflow_content_hash(wf));
    size_t opening = ehc_workflow_opening_event(wf);
    cJSON_AddStringToObject(o, "opened_by", ehc_workflow_event(wf, opening)->id);

    size_t nstages = ehc_workflow_stage_count(wf);
    cJSON *stages = cJSON_AddArrayToObject(o, "stages");
    for (size_t i = 0; i < nstages; i++) {
        const ehc_wf_stage *s = ehc_workflow_stage(wf, i);
        cJSON *so = cJSON_CreateObject();
        cJSON_AddStringToObject(so, "id", s->id);
        cJSON_AddStringToObject(so, "title", s->title);
        cJSON_AddBoolToObject(so, "initial", s->initial);
        cJSON_AddBoolToObject(so, "final", s->final);
        cJSON_AddItemToArray(stages, so);
    }

    cJSON *events = cJSON_AddArrayToObject(o, "events");
    for (size_t i = 0; i < ehc_workflow_event_count(wf); i++) {
        const ehc_wf_event *e = ehc_workflow_event(wf, i);
        cJSON *eo = cJSON_CreateObject();
        cJSON_AddStringToObject(eo, "id", e->id);
        cJSON_AddStringToObject(eo, "title", e->title);
        cJSON_AddItemToObject(eo, "roles", roles_json(e->roles));
        cJSON *fields = cJSON_AddArrayToObject(eo, "fields");
        for (size_t k = 0; k < e->field_count; k++)
            cJSON_AddItemToArray(fields, field_json(&e->fields[k]));
        cJSON *allowed = cJSON_AddArrayToObject(eo, "allowed_in");
        for (size_t s = 0; s < nstages; s++)
            if (i != opening && ehc_wf_event_allowed_in(wf, e, s))
                cJSON_AddItemToArray(allowed, cJSON_CreateString(ehc_workflow_stage(wf, s)->id));
        cJSON_AddBoolToObject(eo, "opens_case", i == opening);
        if (e->effective_field != EHC_WF_NONE)
            cJSON_AddStringToObject(eo, "effective_date_field", e->fields[e->effective_field].id);
        if (e->key_field != EHC_WF_NONE) cJSON_AddStringToObject(eo, "key_field", e->fields[e->key_field].id);
        if (e->depends_on != EHC_WF_NONE)
            cJSON_AddStringToObject(eo, "depends_on", ehc_workflow_event(wf, e->depends_on)->id);
        cJSON_AddBoolToObject(eo, "records_exception", e->records_exception);
        cJSON_AddBoolToObject(eo, "closes_case", e->cancels_all_clocks);
        const char *advice = ehc_wf_advice_name(e->advice);
        if (advice) cJSON_AddStringToObject(eo, "advice", advice);
        cJSON_AddItemToArray(events, eo);
    }

    cJSON *deadlines = cJSON_AddArrayToObject(o, "deadlines");
    for (size_t i = 0; i < ehc_workflow_deadline_count(wf); i++) {
        const ehc_wf_deadline *d = ehc_workflow_deadline(wf, i);
        cJSON *dobj = cJSON_CreateObject();
        cJSON_AddStringToObject(dobj, "id", d->id);
        cJSON_AddStringToObject(dobj, "title", d->title);
        cJSON_AddStringToObject(dobj, "kind", ehc_deadline_kind_name(d->kind));
        if (d->basis) cJSON_AddStringToObject(dobj, "basis", d->basis);
        cJSON_AddBoolToObject(dobj, "per_key", d->per_key);
        /* the exceptions the law allows to this time limit: the exception form offers these */
        cJSON *exceptions = cJSON_AddArrayToObject(dobj, "exceptions");
        for (size_t k = 0; k < d->exception_count; k++) {
            const ehc_wf_exception *x = &d->exceptions[k];
            cJSON *xo = cJSON_CreateObject();
            cJSON_AddStringToObject(xo, "id", x->id);
            if (x->title) cJSON_AddStringToObject(xo, "title", x->title);
            if (x->basis) cJSON_AddStringToObject(xo, "basis", x->basis);
            cJSON_AddBoolToObject(xo, "setting_closure", x->setting_closure);
            cJSON_AddItemToArray(exceptions, xo);
        }
        cJSON_AddItemToArray(deadlines, dobj);
    }
    return o;
}

static void get_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    const char *id = ehc_http_req_path(req) + strlen("/api/v1/workflows/");
    const ehc_workflow *wf;
    if (ehc_definitions_find(app->defs, id, &wf) != 0) {
        ehc_http_reply_error(req, 404, "not_found", "no such workflow", NULL);
        return;
    }
    ehc_http_res_header_set(req, "cache-control", "private, no-cache");
    char etag[EHC_WORKFLOW_HASH_SIZE + 2];
    snprintf(etag, sizeof etag, "\"%s\"", ehc_workflow_content_hash(wf));
    ehc_http_res_header(req, "etag", etag);
    ehc_api_reply_json(req, 200, workflow_json(wf));
}

static void on_workflow(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, get_authed, NULL);
}

void ehc_api_workflows_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/api/v1/workflows/{id}", on_workflow, app)) abort();
}
