/* Statutory letters of a case (issue #10, docs/letters.md):
 *   POST /api/v1/cases/{id}/letters                    fill a notice's template from the case and render
 *                                                      it to PDF: 201, or 422 naming the missing items
 *   GET  /api/v1/cases/{id}/letters                    the case's letters, each with its sendings
 *   GET  /api/v1/cases/{id}/letters/{letter_id}/pdf    the PDF (its download in the access log)
 *   POST /api/v1/cases/{id}/letters/{letter_id}/sent   record its sending: an event on the case
 *   GET  /api/v1/notices                               the templates (any signed-in user)
 * Officers, managers and service managers of the case's team/authority only; another authority's
 * case answers 404, another team's 403, as for the case itself. Rendering runs on libuv's thread pool
 * so a letter never holds the loop. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/log.h"
#include "ehc/notices.h"
#include "ehc/pdf.h"

#define CASE_ROLES (EHC_ROLE_OFFICER | EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER)
#define TIMEOUT_MS 10000
#define MAX_VALUE 2000

enum op { OP_GENERATE, OP_LIST, OP_PDF, OP_SENT };

typedef struct letter_ctx {
    ehc_app *app;
    ehc_http_req *req;
    ehc_principal who;
    enum op op;
    int64_t case_id, letter_id, authority_id;
    unsigned held;
    char authority_ids[512];
    char workflow_id[64];
    cJSON *body;
    /* generating */
    const ehc_notice *notice;
    const char *recipient_role, *recipient_name, *request_key;
    ehc_letter_text text;
    char *pdf;
    size_t pdf_len;
    int render_rc;
    uint64_t render_ns;
    uv_work_t work;
    /* recording a sending */
    char method[32], sent_at[32];
    int32_t expected_version;
    const char *event_type; /* what the sending records: letter_sent, or the serving event */
    char *fields_json;
    ehc_date effective_on;
    ehc_role acting;
    char notifies[64], sent_iso[EHC_DATE_ISO_SIZE];
} letter_ctx;

static void ctx_free(letter_ctx *c)
{
    cJSON_Delete(c->body);
    ehc_letter_text_free(&c->text);
    free(c->pdf);
    free(c->fields_json);
    free(c);
}

static void field_error(ehc_http_req *req, const char *field, const char *message)
{
    ehc_http_reply_error(req, 422, "invalid_field", message, field);
}

static bool item_name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

/* "Tuesday 5 May 2026": how a letter writes a date. */
static void long_date(const char *iso, char *out, size_t size)
{
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    static const char *const days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
    ehc_date d;
    if (!iso || ehc_date_parse_iso_n(iso, strlen(iso) < 10 ? strlen(iso) : 10, &d) != 0) {
        *out = '\0';
        return;
    }
    int y, m, day;
    ehc_date_to_ymd(d, &y, &m, &day);
    int wd = ehc_date_weekday(d); /* 1 Monday ... 7 Sunday */
    snprintf(out, size, "%s %d %s %d", days[(wd + 6) % 7], day, months[m - 1], y);
}

static void set_value(cJSON *values, const char *name, const char *text)
{
    cJSON_DeleteItemFromObjectCaseSensitive(values, name);
    if (text && *text) cJSON_AddStringToObject(values, name, text);
}

static void set_date(cJSON *values, const char *name, const char *iso)
{
    char text[64];
    long_date(iso, text, sizeof text);
    set_value(values, name, text);
}

static const char *json_str(const cJSON *o, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static const char *adviser_words(const char *type)
{
    static const char *const map[][2] = {{"parent_or_young_person", "the parent's or young person's"},
                                         {"school_or_college", "educational"},
                                         {"early_years", "educational (early years)"},
                                         {"hearing_or_vision_teacher", "educational (hearing or vision)"},
                                         {"medical", "medical"},
                                         {"educational_psychologist", "psychological"},
                                         {"social_care", "social care"},
                                         {"preparation_for_adulthood", "preparation for adulthood"},
                                         {"family_requested", ""},
                                         {"other", ""}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], type) == 0) return *map[i][1] ? map[i][1] : type;
    return type;
}

/* The values a letter is filled from: what the officer gave, then (overriding it) the case's own
 * facts: child, authority, dates the engine computed, events, the officer making the letter. */
static cJSON *letter_values(letter_ctx *c, const cJSON *ctx, ehc_date today_on)
{
    cJSON *values = cJSON_CreateObject();
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(c->body, "values");
    for (const cJSON *v = given ? given->child : NULL; v; v = v->next)
        cJSON_AddStringToObject(values, v->string, v->valuestring);
    set_value(values, "authority_name", json_str(ctx, "authority_name"));
    set_value(values, "case_reference", json_str(ctx, "reference"));
    set_value(values, "case_officer_name", json_str(ctx, "case_officer"));
    set_value(values, "officer_name", c->who.display_name);
    set_value(values, "recipient_name", c->recipient_name);
    const cJSON *recipient = cJSON_GetObjectItemCaseSensitive(c->body, "recipient");
    set_value(values, "recipient_address", json_str(recipient, "address"));
    const cJSON *child = cJSON_GetObjectItemCaseSensitive(ctx, "child");
    cJSON_DeleteItemFromObjectCaseSensitive(values, "child_name");
    cJSON_DeleteItemFromObjectCaseSensitive(values, "child_date_of_birth");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(child, "erased"))) {
        const char *fore = json_str(child, "forename"), *sur = json_str(child, "surname");
        if (fore && sur) {
            char *name = ehc_asprintf("%s %s", fore, sur);
            set_value(values, "child_name", name);
            free(name);
        }
        set_date(values, "child_date_of_birth", json_str(child, "date_of_birth"));
    }
    char iso[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(today_on, iso);
    set_date(values, "letter_date", iso);
    set_date(values, "request_received_on", json_str(ctx, "opened_on"));
    /* the engine's dates: due:<deadline> (for a per-adviser clock, the letter's request_key) */
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(ctx, "deadlines"))
    {
        const char *key = json_str(d, "key"), *inst = json_str(d, "instance"),
                   *status = json_str(d, "status");
        if (!key || !inst || !status || strcmp(status, "cancelled") == 0) continue;
        if (*inst && (!c->request_key || strcmp(inst, c->request_key) != 0)) continue;
        char name[80];
        snprintf(name, sizeof name, "due:%s", key);
        set_date(values, name, json_str(d, "due_on"));
    }
    /* event:<type>: the date of the latest standing event of that type */
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(ctx, "events"))
    {
        const char *type = json_str(e, "type");
        if (!type) continue;
        char name[80];
        snprintf(name, sizeof name, "event:%s", type);
        set_date(values, name, json_str(e, "effective_on"));
        const cJSON *fields = cJSON_GetObjectItemCaseSensitive(e, "fields");
        if (strcmp(type, "review_decision_notified") == 0) {
            const char *dec = json_str(fields, "decision");
            set_value(values, "review_decision",
                      !dec                        ? NULL
                      : strcmp(dec, "amend") == 0 ? "to amend the plan (the proposed amendments are enclosed)"
                      : strcmp(dec, "maintain") == 0 ? "to maintain the plan as it is, without amendment"
                                                     : dec);
        }
    }
    if (c->request_key) {
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(ctx, "advice"))
        {
            const char *key = json_str(a, "request_key");
            if (!key || strcmp(key, c->request_key) != 0) continue;
            const char *adviser = json_str(a, "adviser");
            set_value(values, "adviser", adviser ? adviser_words(adviser) : NULL);
        }
        /* Reg 8(1): 6 weeks from the adviser's receipt. Before the receipt is known the letter gives
         * the rule and the date it yields if received on the day of the letter. */
        if (!cJSON_GetObjectItemCaseSensitive(values, "due:advice_due")) {
            ehc_date due;
            char due_iso[EHC_DATE_ISO_SIZE], due_text[64];
            if (ehc_date_add_weeks(today_on, 6, &due) == 0) {
                ehc_date_format_iso(due, due_iso);
                long_date(due_iso, due_text, sizeof due_text);
                char *text = ehc_asprintf(
                    "6 weeks from the day you receive this request (%s if you receive it today)", due_text);
                set_value(values, "due:advice_due", text);
                free(text);
            }
        }
    }
    return values;
}

/* ---- rendering on the thread pool ------------------------------------------------------------------- */

static void render_work(uv_work_t *w)
{
    letter_ctx *c = ehc_container_of(w, letter_ctx, work);
    uint64_t t0 = uv_hrtime();
    c->render_rc = ehc_pdf_render(c->text.title, (const char *const *)c->text.paragraphs,
                                  c->text.paragraph_count, &c->pdf, &c->pdf_len);
    c->render_ns = uv_hrtime() - t0;
}

static void on_stored(void *data, int status, PGresult *res, const char *message)
{
    letter_ctx *c = data;
    if (status != 0 || PQntuples(res) != 1) {
        ehc_api_reply_unavailable(c->req);
        return ctx_free(c);
    }
    cJSON *stored = cJSON_Parse(PQgetvalue(res, 0, 0));
    cJSON *body = cJSON_CreateObject();
    double id = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(stored, "id"));
    cJSON_AddNumberToObject(body, "id", id);
    cJSON_AddNumberToObject(body, "case_id", (double)c->case_id);
    cJSON_AddStringToObject(body, "notice", ehc_notice_id(c->notice));
    cJSON_AddStringToObject(body, "template_sha256", ehc_notice_sha256(c->notice));
    cJSON_AddStringToObject(body, "pdf_sha256", json_str(stored, "pdf_sha256"));
    cJSON_AddNumberToObject(body, "bytes", (double)c->pdf_len);
    cJSON_AddNumberToObject(body, "render_ms", (double)c->render_ns / 1e6);
    cJSON_AddItemToObject(body, "items", c->text.items);
    c->text.items = NULL;
    cJSON_Delete(stored);
    char location[96];
    snprintf(location, sizeof location, "/api/v1/cases/%" PRId64 "/letters/%.0f/pdf", c->case_id, id);
    ehc_http_res_header(c->req, "location", location);
    ehc_log(EHC_LOG_INFO, "letter_generated", ehc_http_req_id(c->req),
            "case %" PRId64 " letter %.0f (%s) by user %" PRId64 ", %zu bytes in %.1f ms", c->case_id, id,
            ehc_notice_id(c->notice), c->who.user_id, c->pdf_len, (double)c->render_ns / 1e6);
    ehc_api_reply_json(c->req, 201, body);
    ctx_free(c);
}

static void after_render(uv_work_t *w, int status)
{
    letter_ctx *c = ehc_container_of(w, letter_ctx, work);
    if (status != 0 || c->render_rc != 0) {
        ehc_http_reply_error(c->req, 500, "render_failed", "the letter could not be rendered to PDF", NULL);
        return ctx_free(c);
    }
    static const char hex[] = "0123456789abcdef";
    char *pdf_hex = ehc_malloc(c->pdf_len * 2 + 1);
    for (size_t i = 0; i < c->pdf_len; i++) {
        pdf_hex[2 * i] = hex[(unsigned char)c->pdf[i] >> 4];
        pdf_hex[2 * i + 1] = hex[(unsigned char)c->pdf[i] & 15];
    }
    pdf_hex[c->pdf_len * 2] = '\0';
    char auth[24], kase[24], user[24], at[40];
    snprintf(auth, sizeof auth, "%" PRId64, c->authority_id);
    snprintf(kase, sizeof kase, "%" PRId64, c->case_id);
    snprintf(user, sizeof user, "%" PRId64, c->who.user_id);
    ehc_instant now = ehc_clock_now(&c->app->clock);
    snprintf(at, sizeof at, "%.6f", (double)now.us / 1e6);
    const char *params[12] = {c->authority_ids,
                              auth,
                              kase,
                              ehc_notice_id(c->notice),
                              ehc_notice_sha256(c->notice),
                              c->recipient_role,
                              c->recipient_name,
                              c->request_key,
                              pdf_hex,
                              user,
                              at,
                              ehc_http_req_id(c->req)};
    int rc = ehc_pg_query(
        c->app->pg,
        "SELECT ehc_letter_insert($1, $2::bigint, $3::bigint, $4, $5, $6, $7, $8, $9, $10::bigint, "
        "to_timestamp($11::double precision), $12)",
        12, params, TIMEOUT_MS, on_stored, c);
    free(pdf_hex);
    if (rc) {
        ehc_api_reply_unavailable(c->req);
        ctx_free(c);
    }
}

static void on_context(void *data, int status, PGresult *res, const char *message)
{
    letter_ctx *c = data;
    if (status != 0 || PQntuples(res) != 1) {
        ehc_api_reply_unavailable(c->req);
        return ctx_free(c);
    }
    if (PQgetisnull(res, 0, 0)) {
        ehc_http_reply_error(c->req, 404, "not_found", "no such case", NULL);
        return ctx_free(c);
    }
    cJSON *ctx = cJSON_Parse(PQgetvalue(res, 0, 0));
    ehc_date today_on;
    if (!ctx || ehc_clock_today(&c->app->clock, &today_on) != 0) {
        cJSON_Delete(ctx);
        ehc_http_reply_error(c->req, 500, "internal", "cannot read the case for its letter", NULL);
        return ctx_free(c);
    }
    const char *case_status = json_str(ctx, "status");
    if (case_status && strcmp(case_status, "closed") == 0) {
        cJSON_Delete(ctx);
        ehc_http_reply_error(c->req, 409, "case_state", "the case is closed: no more letters are made for it",
                             NULL);
        return ctx_free(c);
    }
    cJSON *values = letter_values(c, ctx, today_on);
    cJSON_Delete(ctx);
    int rc = ehc_notice_fill(c->app->notices, c->notice, values, &c->text);
    cJSON_Delete(values);
    if (rc != 0) {
        ehc_http_reply_error(c->req, 500, "internal", "the letter could not be filled", NULL);
        return ctx_free(c);
    }
    if (c->text.missing_count > 0) {
        /* nothing is stored: the officer is told what the law requires and the letter lacks */
        cJSON *body = cJSON_CreateObject();
        cJSON *err = cJSON_AddObjectToObject(body, "error");
        cJSON_AddStringToObject(err, "code", "missing_items");
        char msg[600];
        size_t n = (size_t)snprintf(msg, sizeof msg, "the letter lacks items the law requires: ");
        for (size_t i = 0; i < c->text.missing_count && n < sizeof msg; i++)
            n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s", i ? ", " : "", c->text.missing[i]);
        cJSON_AddStringToObject(err, "message", msg);
        cJSON_AddStringToObject(err, "field", "values");
        cJSON *list = cJSON_AddArrayToObject(body, "missing");
        for (size_t i = 0; i < c->text.missing_count; i++)
            cJSON_AddItemToArray(list, cJSON_CreateString(c->text.missing[i]));
        ehc_api_reply_json(c->req, 422, body);
        return ctx_free(c);
    }
    if (uv_queue_work(c->app->loop, &c->work, render_work, after_render) != 0) {
        ehc_http_reply_error(c->req, 500, "internal", "the letter could not be queued for rendering", NULL);
        ctx_free(c);
    }
}

/* POST .../letters: {notice, recipient: {role, name, address?}, request_key?, values?} */
static void generate(letter_ctx *c)
{
    static const char *const known[] = {"notice", "recipient", "request_key", "values", NULL};
    static const char *const recipient_known[] = {"role", "name", "address", NULL};
    ehc_http_req *req = c->req;
    if (!c->app->notices) {
        ehc_http_reply_error(req, 503, "unavailable", "no letter templates are loaded", NULL);
        return ctx_free(c);
    }
    if (ehc_api_only_known(req, c->body, known, "")) return ctx_free(c);
    const char *notice = json_str(c->body, "notice");
    if (!notice || !(c->notice = ehc_notices_find(c->app->notices, notice))) {
        field_error(req, "notice", "notice is required: the id of a letter template (notices/)");
        return ctx_free(c);
    }
    if (!ehc_notice_for_workflow(c->notice, c->workflow_id)) {
        field_error(req, "notice", "this notice is not one of this case's process");
        return ctx_free(c);
    }
    cJSON *recipient = cJSON_GetObjectItemCaseSensitive(c->body, "recipient");
    if (!cJSON_IsObject(recipient)) {
        field_error(req, "recipient", "recipient is required: {\"role\", \"name\", \"address\"}");
        return ctx_free(c);
    }
    if (ehc_api_only_known(req, recipient, recipient_known, "recipient.")) return ctx_free(c);
    c->recipient_role = json_str(recipient, "role");
    c->recipient_name = json_str(recipient, "name");
    const cJSON *address = cJSON_GetObjectItemCaseSensitive(recipient, "address");
    if (!c->recipient_role || !ehc_notice_for_recipient(c->notice, c->recipient_role)) {
        field_error(req, "recipient.role",
                    "recipient.role must be one this notice is sent to (see the template)");
        return ctx_free(c);
    }
    if (!c->recipient_name || !*c->recipient_name || strlen(c->recipient_name) > 200) {
        field_error(req, "recipient.name", "recipient.name is required: text of 1 to 200 characters");
        return ctx_free(c);
    }
    if (address && (!cJSON_IsString(address) || strlen(address->valuestring) > 500)) {
        field_error(req, "recipient.address", "recipient.address must be text of at most 500 characters");
        return ctx_free(c);
    }
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(c->body, "request_key");
    if (key && (!cJSON_IsString(key) || !item_name_ok(key->valuestring, 63))) {
        field_error(req, "request_key", "request_key must be an advice request's key");
        return ctx_free(c);
    }
    c->request_key = key ? key->valuestring : NULL;
    if (ehc_notice_per_advice_request(c->notice) && !c->request_key) {
        field_error(req, "request_key", "request_key is required: the advice request this letter makes");
        return ctx_free(c);
    }
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(c->body, "values");
    if (values && !cJSON_IsObject(values)) {
        field_error(req, "values", "values must be an object of item -> text");
        return ctx_free(c);
    }
    for (const cJSON *v = values ? values->child : NULL; v; v = v->next) {
        char field[100];
        snprintf(field, sizeof field, "values.%.63s", v->string);
        if (!item_name_ok(v->string, 63) || !cJSON_IsString(v) || strlen(v->valuestring) > MAX_VALUE) {
            field_error(req, field,
                        "each value is an item name (a-z, 0-9, _) and text of at most 2000 characters");
            return ctx_free(c);
        }
    }
    char kase[24];
    snprintf(kase, sizeof kase, "%" PRId64, c->case_id);
    const char *params[2] = {c->authority_ids, kase};
    if (ehc_pg_query(c->app->pg, "SELECT ehc_letter_context($1, $2::bigint)", 2, params, TIMEOUT_MS,
                     on_context, c) != 0) {
        ehc_api_reply_unavailable(req);
        ctx_free(c);
    }
}

/* ---- the PDF, the list ---------------------------------------------------------------------------- */

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

static void on_pdf(void *data, int status, PGresult *res, const char *message)
{
    letter_ctx *c = data;
    if (status != 0) {
        ehc_api_reply_unavailable(c->req);
        return ctx_free(c);
    }
    if (PQntuples(res) != 1) {
        ehc_http_reply_error(c->req, 404, "not_found", "no such letter", NULL);
        return ctx_free(c);
    }
    const char *hex = PQgetvalue(res, 0, 2);
    size_t n = strlen(hex) / 2;
    char *pdf = ehc_malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        pdf[i] = (char)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
    char disposition[96];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s-%" PRId64 ".pdf\"",
             PQgetvalue(res, 0, 0), c->letter_id);
    ehc_http_res_header(c->req, "content-disposition", disposition);
    ehc_http_res_header(c->req, "cache-control", "no-store");
    ehc_http_res_header(c->req, "x-content-sha256", PQgetvalue(res, 0, 1));
    ehc_http_reply(c->req, 200, "application/pdf", pdf, n);
    free(pdf);
    ctx_free(c);
}

/* ---- recording a sending ---------------------------------------------------------------------------- */

static void on_sent(void *data, const ehc_store_result *r)
{
    letter_ctx *c = data;
    if (r->status != 0) {
        ehc_api_reply_store_error(c->req, r);
        return ctx_free(c);
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddNumberToObject(body, "case_id", (double)r->case_id);
    cJSON_AddNumberToObject(body, "letter_id", (double)c->letter_id);
    cJSON_AddNumberToObject(body, "version", r->version);
    cJSON_AddBoolToObject(body, "replayed", r->replayed);
    cJSON *event = cJSON_DetachItemFromObjectCaseSensitive(c->body, "recorded_event");
    cJSON *served = cJSON_DetachItemFromObjectCaseSensitive(c->body, "served_on");
    if (event) cJSON_AddItemToObject(body, "event", event);
    if (served) cJSON_AddItemToObject(body, "served_on", served);
    ehc_api_reply_json(c->req, r->replayed ? 200 : 201, body);
    ctx_free(c);
}

static void store_sending(letter_ctx *c)
{
    const char *idem;
    if (ehc_api_idempotency_key(c->req, &idem)) return ctx_free(c);
    ehc_store_record_cmd cmd = {
        .authority_id = c->authority_id,
        .case_id = c->case_id,
        .expected_version = c->expected_version,
        .event = {.type = c->event_type,
                  .actor_role = ehc_role_name(c->acting),
                  .actor_id = c->who.user_id,
                  .effective_on = c->effective_on,
                  .fields_json = c->fields_json,
                  .idempotency_key = idem,
                  .access_resource = "letter sent",
                  .request_id = ehc_http_req_id(c->req)},
    };
    int rc = ehc_store_record_event(c->app->store, &cmd, on_sent, c);
    if (rc) {
        ehc_store_result r = {.status = rc, .current_version = -1};
        snprintf(r.message, sizeof r.message, "%s", ehc_strerror(rc));
        on_sent(c, &r);
    }
}

/* The decision this notice gives, as recorded on the case: its latest standing event of that type
 * must be dated the day the notice is sent (when there is one). */
static void on_notified_context(void *data, int status, PGresult *res, const char *message)
{
    letter_ctx *c = data;
    if (status != 0 || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        ehc_api_reply_unavailable(c->req);
        return ctx_free(c);
    }
    cJSON *ctx = cJSON_Parse(PQgetvalue(res, 0, 0));
    const cJSON *e, *last = NULL;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(ctx, "events"))
    {
        const char *type = json_str(e, "type");
        if (type && strcmp(type, c->notifies) == 0) last = e;
    }
    const char *on = last ? json_str(last, "effective_on") : NULL;
    if (on && strcmp(on, c->sent_iso) != 0) {
        char msg[512];
        snprintf(
            msg, sizeof msg,
            "'%s' (event %d) is recorded as notified on %s, but this notice was sent on %s: the appeal "
            "window and the time limit run from the day the notice is sent (HESC Rules 2008 r20; SEND "
            "Regulations 2014, reg 33), so correct the decision's date first (a manager records it again "
            "with supersedes_seq %d), then record the sending",
            c->notifies, (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(last, "seq")), on,
            c->sent_iso, (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(last, "seq")));
        cJSON_Delete(ctx);
        ehc_http_reply_error(c->req, 409, "notice_date_mismatch", msg, "sent_at");
        return ctx_free(c);
    }
    cJSON_Delete(ctx);
    store_sending(c);
}

static void on_letter_for_sending(void *data, int status, PGresult *res, const char *message)
{
    letter_ctx *c = data;
    if (status != 0) {
        ehc_api_reply_unavailable(c->req);
        return ctx_free(c);
    }
    if (PQntuples(res) != 1) {
        ehc_http_reply_error(c->req, 404, "not_found", "no such letter", NULL);
        return ctx_free(c);
    }
    const char *notice = PQgetvalue(res, 0, 0), *role = PQgetvalue(res, 0, 1);
    const ehc_workflow *wf;
    const ehc_calendar *cal;
    ehc_receipt_channel channel;
    ehc_date sent_on, served_on;
    int minute;
    if (ehc_definitions_find(c->app->defs, c->workflow_id, &wf) != 0 ||
        ehc_calendar_set_find(ehc_definitions_calendars(c->app->defs), ehc_workflow_calendar_id(wf), &cal) !=
            0 ||
        ehc_receipt_channel_parse(c->method, &channel) != 0 ||
        ehc_date_parse_local_datetime(c->sent_at, &sent_on, &minute) != 0 ||
        ehc_calendar_deemed_receipt(cal, channel, sent_on, minute, &served_on) != 0) {
        field_error(c->req, "sent_at",
                    "the day this letter is deemed received cannot be computed for that date");
        return ctx_free(c);
    }
    char sent_iso[EHC_DATE_ISO_SIZE], served_iso[EHC_DATE_ISO_SIZE], letter[24];
    ehc_date_format_iso(sent_on, sent_iso);
    ehc_date_format_iso(served_on, served_iso);
    snprintf(letter, sizeof letter, "%" PRId64, c->letter_id);
    /* Sending the draft's covering letter to the family serves the draft (Reg 13(1)): the sending is
     * the workflow's serving event, dated the day the draft is deemed received. */
    const ehc_notice *n = c->app->notices ? ehc_notices_find(c->app->notices, notice) : NULL;
    const char *serves = n ? ehc_notice_serves(n) : NULL;
    size_t serving;
    bool to_family = strcmp(role, "parent") == 0 || strcmp(role, "young_person") == 0;
    bool is_serving = serves && to_family && ehc_workflow_find_event(wf, serves, &serving) == 0;
    cJSON *fields = cJSON_CreateObject();
    ehc_role acting;
    const char *type;
    ehc_date effective_on;
    if (is_serving) {
        type = serves;
        effective_on = served_on;
        cJSON_AddStringToObject(fields, "served_on", served_iso);
        cJSON_AddStringToObject(fields, "sent_on", sent_iso);
        cJSON_AddNumberToObject(fields, "letter_id", (double)c->letter_id);
        cJSON_AddStringToObject(fields, "method", c->method);
        acting = ehc_api_acting_role(ehc_workflow_event(wf, serving), c->held);
    } else {
        type = EHC_MACHINE_LETTER_SENT;
        effective_on = sent_on;
        cJSON_AddStringToObject(fields, "letter_id", letter);
        cJSON_AddStringToObject(fields, "notice", notice);
        cJSON_AddStringToObject(fields, "recipient", role);
        cJSON_AddStringToObject(fields, "method", c->method);
        cJSON_AddStringToObject(fields, "sent_at", c->sent_at);
        cJSON_AddStringToObject(fields, "served_on", served_iso);
        acting = (c->held & EHC_ROLE_OFFICER)   ? EHC_ROLE_OFFICER
                 : (c->held & EHC_ROLE_MANAGER) ? EHC_ROLE_MANAGER
                                                : EHC_ROLE_SERVICE_MANAGER;
    }
    if (!acting) {
        cJSON_Delete(fields);
        ehc_http_reply_error(c->req, 403, "role_forbidden",
                             "none of your roles for this case may record that", NULL);
        return ctx_free(c);
    }
    cJSON_AddStringToObject(c->body, "recorded_event", type);
    cJSON_AddStringToObject(c->body, "served_on", served_iso);
    c->event_type = type;
    c->fields_json = cJSON_PrintUnformatted(fields);
    cJSON_Delete(fields);
    c->effective_on = effective_on;
    c->acting = acting;
    snprintf(c->sent_iso, sizeof c->sent_iso, "%s", sent_iso);
    /* A decision's written notice to the family: the decision is dated the day its notice is sent,
     * because the appeal window (HESC Rules r20, Reg 33) and the time limit for notifying it run
     * from that day. A notice sent on another day than the decision's date is refused until the
     * decision's date is corrected. */
    const char *notifies = n ? ehc_notice_notifies(n) : NULL;
    size_t notified;
    if (notifies && to_family && ehc_workflow_find_event(wf, notifies, &notified) == 0) {
        snprintf(c->notifies, sizeof c->notifies, "%s", notifies);
        char kase[24];
        snprintf(kase, sizeof kase, "%" PRId64, c->case_id);
        const char *params[2] = {c->authority_ids, kase};
        if (ehc_pg_query(c->app->pg, "SELECT ehc_letter_context($1, $2::bigint)", 2, params, TIMEOUT_MS,
                         on_notified_context, c) != 0) {
            ehc_api_reply_unavailable(c->req);
            ctx_free(c);
        }
        return;
    }
    store_sending(c);
}

/* POST .../sent: {method, sent_at, expected_version} */
static void record_sent(letter_ctx *c)
{
    static const char *const known[] = {"method", "sent_at", "expected_version", NULL};
    ehc_http_req *req = c->req;
    if (ehc_api_only_known(req, c->body, known, "")) return ctx_free(c);
    const char *method = json_str(c->body, "method"), *sent_at = json_str(c->body, "sent_at");
    ehc_receipt_channel channel;
    ehc_date on;
    int minute;
    if (!method || ehc_receipt_channel_parse(method, &channel) != 0) {
        field_error(req, "method", "method is required: hand, email, first_class_post or signed_for");
        return ctx_free(c);
    }
    if (!sent_at || strlen(sent_at) >= sizeof c->sent_at ||
        ehc_date_parse_local_datetime(sent_at, &on, &minute)) {
        field_error(req, "sent_at", "sent_at is required: YYYY-MM-DDTHH:MM, wall-clock time in England");
        return ctx_free(c);
    }
    cJSON *version = cJSON_GetObjectItemCaseSensitive(c->body, "expected_version");
    if (!cJSON_IsNumber(version) || version->valuedouble < 0 || version->valuedouble > 1e9 ||
        version->valuedouble != (double)(int32_t)version->valuedouble) {
        field_error(req, "expected_version", "expected_version is required: the case version you last read");
        return ctx_free(c);
    }
    snprintf(c->method, sizeof c->method, "%s", method);
    snprintf(c->sent_at, sizeof c->sent_at, "%s", sent_at);
    c->expected_version = (int32_t)version->valuedouble;
    char kase[24], letter[24];
    snprintf(kase, sizeof kase, "%" PRId64, c->case_id);
    snprintf(letter, sizeof letter, "%" PRId64, c->letter_id);
    const char *params[3] = {c->authority_ids, kase, letter};
    if (ehc_pg_query(c->app->pg, "SELECT * FROM ehc_letter_get($1, $2::bigint, $3::bigint)", 3, params,
                     TIMEOUT_MS, on_letter_for_sending, c) != 0) {
        ehc_api_reply_unavailable(req);
        ctx_free(c);
    }
}

/* ---- routing ---------------------------------------------------------------------------------------- */

static void on_header(void *data, int status, PGresult *res, const char *message)
{
    letter_ctx *c = data;
    if (status != 0) {
        ehc_api_reply_unavailable(c->req);
        return ctx_free(c);
    }
    if (PQntuples(res) != 1) {
        ehc_http_reply_error(c->req, 404, "not_found", "no such case", NULL);
        return ctx_free(c);
    }
    c->authority_id = atoll(PQgetvalue(res, 0, 0));
    int64_t team_id = PQgetisnull(res, 0, 1) ? 0 : atoll(PQgetvalue(res, 0, 1));
    c->held = ehc_api_case_roles(&c->who, c->authority_id, team_id) & CASE_ROLES;
    if (!c->held) {
        ehc_http_reply_error(c->req, 403, "forbidden", "this case belongs to a team you do not work in",
                             NULL);
        return ctx_free(c);
    }
    snprintf(c->workflow_id, sizeof c->workflow_id, "%s", PQgetvalue(res, 0, 4));
    char kase[24], auth[24], user[24], letter[24];
    snprintf(kase, sizeof kase, "%" PRId64, c->case_id);
    snprintf(auth, sizeof auth, "%" PRId64, c->authority_id);
    snprintf(user, sizeof user, "%" PRId64, c->who.user_id);
    snprintf(letter, sizeof letter, "%" PRId64, c->letter_id);
    int rc = 0;
    switch (c->op) {
    case OP_GENERATE: return generate(c);
    case OP_SENT: return record_sent(c);
    case OP_LIST: {
        const char *params[5] = {c->authority_ids, kase, auth, user, ehc_http_req_id(c->req)};
        rc = ehc_pg_query(c->app->pg, "SELECT ehc_letter_list($1, $2::bigint, $3::bigint, $4::bigint, $5)", 5,
                          params, TIMEOUT_MS, ehc_api_reply_json_row, c->req);
        ehc_http_req *req = c->req;
        ctx_free(c);
        if (rc) ehc_api_reply_unavailable(req);
        return;
    }
    case OP_PDF: {
        const char *params[6] = {c->authority_ids, kase, letter, auth, user, ehc_http_req_id(c->req)};
        rc = ehc_pg_query(
            c->app->pg,
            "SELECT * FROM ehc_letter_pdf_logged($1, $2::bigint, $3::bigint, $4::bigint, $5::bigint, $6)", 6,
            params, TIMEOUT_MS, on_pdf, c);
        break;
    }
    }
    if (rc) {
        ehc_api_reply_unavailable(c->req);
        ctx_free(c);
    }
}

static void on_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    letter_ctx *c = data;
    c->who = *who;
    ehc_api_authorities(who, CASE_ROLES, c->authority_ids, sizeof c->authority_ids);
    if (!*c->authority_ids) {
        ehc_http_reply_error(req, 404, "not_found", "no such case", NULL);
        return ctx_free(c);
    }
    if ((c->op == OP_GENERATE || c->op == OP_SENT) && !(c->body = ehc_api_body_object(req)))
        return ctx_free(c);
    if (ehc_api_case_header(app, c->authority_ids, c->case_id, on_header, c) != 0) {
        ehc_api_reply_unavailable(req);
        ctx_free(c);
    }
}

/* /api/v1/cases/{id}/letters[/{letter_id}/(pdf|sent)] */
static void on_route(ehc_http_req *req, void *ctx)
{
    const char *rest = ehc_http_req_path(req) + strlen("/api/v1/cases/");
    const char *slash = strchr(rest, '/');
    int64_t case_id = 0, letter_id = 0;
    enum op op;
    bool post = strcmp(ehc_http_req_method(req), "POST") == 0;
    if (!slash || ehc_api_parse_id(rest, (size_t)(slash - rest), &case_id)) {
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
        return;
    }
    const char *tail = slash + strlen("/letters");
    if (*tail == '\0') {
        op = post ? OP_GENERATE : OP_LIST;
    } else {
        const char *id = tail + 1, *end = strchr(id, '/');
        if (!end || ehc_api_parse_id(id, (size_t)(end - id), &letter_id)) {
            ehc_http_reply_error(req, 404, "not_found", "no such letter", NULL);
            return;
        }
        op = strcmp(end, "/sent") == 0 ? OP_SENT : OP_PDF;
    }
    letter_ctx *c = ehc_calloc(1, sizeof *c);
    c->app = ctx;
    c->req = req;
    c->case_id = case_id;
    c->letter_id = letter_id;
    c->op = op;
    ehc_api_authenticate(ctx, req, on_authed, c);
}

/* GET /api/v1/notices: the letter templates as loaded (any signed-in user; no personal data). */
static void notices_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; app->notices && i < ehc_notices_count(app->notices); i++) {
        const ehc_notice *n = ehc_notices_at(app->notices, i);
        if (!ehc_notice_is_part(n)) cJSON_AddItemToArray(list, ehc_notice_describe(app->notices, n));
    }
    ehc_api_reply_json(req, 200, list);
}

static void on_notices(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, notices_authed, NULL);
}

void ehc_api_letters_register(ehc_app *app)
{
    ehc_load_error err = {0};
    if (ehc_notices_load(app->cfg.notices_dir, &app->notices, &err) != 0 ||
        ehc_notices_check(app->notices, app->defs, &err) != 0) {
        ehc_notices_free(app->notices);
        ehc_log(EHC_LOG_ERROR, "notices_invalid", NULL, "%s %s: %s", err.file, err.path, err.reason);
        app->notices = NULL;
        app->exit_code = 1;
    }
    if (ehc_http_route(app->http, "POST", "/api/v1/cases/{id}/letters", on_route, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/cases/{id}/letters", on_route, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/cases/{id}/letters/{letter_id}/pdf", on_route, app) ||
        ehc_http_route(app->http, "POST", "/api/v1/cases/{id}/letters/{letter_id}/sent", on_route, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/notices", on_notices, app))
        abort();
}

void ehc_api_letters_close(ehc_app *app)
{
    ehc_notices_free(app->notices);
    app->notices = NULL;
    ehc_pdf_shutdown();
}
