/* Work on many cases in one request (allocation, bulk events): each case has its own outcome — 201
 * written, 200 nothing to write, or the error its own request would have had — and the request is
 * answered once, when the last case's outcome is in, with {"results": [...], "<count>": n}. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/log.h"
#include "ehc/store.h"

void ehc_api_batch_init(ehc_api_batch *b, ehc_http_req *req, const char *count_name, size_t capacity)
{
    b->req = req;
    b->count_name = count_name;
    b->items = ehc_calloc(capacity ? capacity : 1, sizeof *b->items);
    b->count = b->pending = b->written = 0;
}

int64_t ehc_api_json_id(const cJSON *v)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e15 ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return 0;
    return (int64_t)v->valuedouble;
}

const char *ehc_api_batch_cases(ehc_api_batch *b, ehc_http_req *req, const char *count_name, const cJSON *ids)
{
    int n = cJSON_GetArraySize(ids);
    if (!cJSON_IsArray(ids) || n < 1 || n > EHC_API_BATCH_MAX) return "case_ids must list 1 to 200 case ids";
    ehc_api_batch_init(b, req, count_name, (size_t)n);
    for (const cJSON *v = ids->child; v; v = v->next) {
        int64_t id = ehc_api_json_id(v);
        for (size_t i = 0; i < b->count && id; i++)
            if (b->items[i].case_id == id) return "case_ids lists a case twice";
        if (!id) return "case_ids must be case ids";
        b->items[b->count++] = (ehc_api_batch_item){.batch = b, .case_id = id};
    }
    return NULL;
}

static void finish_one(ehc_api_batch_item *it)
{
    ehc_api_batch *b = it->batch;
    if (--b->pending > 0) return;
    cJSON *body = cJSON_CreateObject();
    cJSON *results = cJSON_AddArrayToObject(body, "results");
    for (size_t i = 0; i < b->count; i++) {
        const ehc_api_batch_item *x = &b->items[i];
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "case_id", (double)x->case_id);
        cJSON_AddNumberToObject(r, "status", x->status);
        if (x->status < 300) {
            cJSON_AddNumberToObject(r, "version", x->version);
        } else {
            cJSON *err = cJSON_AddObjectToObject(r, "error");
            cJSON_AddStringToObject(err, "code", x->code);
            cJSON_AddStringToObject(err, "message", x->message);
            if (*x->field)
                cJSON_AddStringToObject(err, "field", x->field);
            else
                cJSON_AddNullToObject(err, "field");
        }
        cJSON_AddItemToArray(results, r);
    }
    cJSON_AddNumberToObject(body, b->count_name, (double)b->written);
    ehc_log(EHC_LOG_INFO, "cases_batch", ehc_http_req_id(b->req), "%s: %zu of %zu cases", b->count_name,
            b->written, b->count);
    ehc_api_reply_json(b->req, 200, body);
    free(b->items);
    b->done(b);
}

void ehc_api_batch_ok(ehc_api_batch_item *it, int status, int32_t version)
{
    it->status = status;
    it->version = version;
    it->batch->written += status == 201;
    finish_one(it);
}

void ehc_api_batch_fail(ehc_api_batch_item *it, int status, const char *code, const char *message,
                        const char *field)
{
    it->status = status;
    snprintf(it->code, sizeof it->code, "%s", code);
    snprintf(it->message, sizeof it->message, "%.199s", message);
    snprintf(it->field, sizeof it->field, "%.63s", field ? field : "");
    finish_one(it);
}

void ehc_api_batch_recorded(void *data, const ehc_store_result *r)
{
    ehc_api_batch_item *it = data;
    const ehc_machine_error *m = &r->machine_error;
    if (r->status == 0) {
        ehc_api_batch_ok(it, r->replayed ? 200 : 201, r->version);
    } else if (r->status == EHC_ECONFLICT && m->code == EHC_MACHINE_OK) {
        ehc_api_batch_fail(it, 409, "version_conflict", "the case changed meanwhile: try this one again",
                           NULL);
    } else if (r->status == EHC_ENOENT) {
        ehc_api_batch_fail(it, 404, "not_found", "no such case", NULL);
    } else if (r->status == EHC_EUNAVAILABLE || r->status == EHC_ETIMEDOUT || r->status == EHC_ECLOSED) {
        ehc_api_batch_fail(it, 503, "unavailable", "the database did not confirm the write: try again", NULL);
    } else if (m->code != EHC_MACHINE_OK) {
        ehc_api_batch_fail(it, ehc_machine_error_http_status(m->code), ehc_machine_error_name(m->code),
                           m->message, m->field);
    } else {
        ehc_api_batch_fail(it, r->status == EHC_ESTATE ? 409 : 422, "rejected", r->message, NULL);
    }
}

void ehc_api_batch_start(ehc_api_batch *b, ehc_app *app, const char *authority_ids, ehc_pg_query_cb on_header)
{
    /* the last answer may end the batch: nothing of it is read after the last query is sent */
    const size_t count = b->count;
    b->pending = count;
    for (size_t i = 0; i < count; i++) {
        ehc_api_batch_item *it = &b->items[i];
        if (ehc_api_case_header(app, authority_ids, it->case_id, on_header, it) != 0)
            ehc_api_batch_fail(it, 503, "unavailable", "the database could not be reached", NULL);
    }
}
