/* The SEN2 person-level return through the API (sql/0026_sen2.sql, 0028, statute.md §7):
 *   GET /api/v1/reports/sen2?year=&module=person|requests|assessments|plans|placements|active_plans|
 *       placement_detail|sen_need&format=json|csv
 *   GET /api/v1/reports/sen2?year=&format=xml   the whole return as one XML document, streamed person
 *       by person (Header, then Persons: each Person's Requests, each Request's Assessment, NamedPlan
 *       and PlanDetail, ActivePlans with PlacementDetail and SENneed)
 *   GET /api/v1/reports/sen2/validation?year=
 * The authority's return, for service managers only (team managers and everyone else: 403). A module
 * holds children's personal data: every case it tells of is recorded in the access log as exported,
 * in the transaction that reads it. CSV: a header line of SEN2 item names, then one line per row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/log.h"

#define SEN2_TIMEOUT_MS 30000

typedef struct sen2_ctx {
    ehc_http_req *req;
    bool csv;
    bool xml;
    const char *module; /* one of modules[] below, or NULL */
} sen2_ctx;

static void on_return(void *data, int status, PGresult *res, const char *message)
{
    sen2_ctx *r = data;
    if (status != 0 || PQntuples(res) != 1) {
        ehc_api_reply_unavailable(r->req);
        free(r);
        return;
    }
    ehc_http_res_header(r->req, "cache-control", "no-store");
    if (!r->csv) {
        ehc_api_reply_json_row(r->req, status, res, message);
        free(r);
        return;
    }
    cJSON *doc = cJSON_Parse(PQgetvalue(res, 0, 0));
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
    size_t len = 0, cap = 4096;
    char *buf = ehc_malloc(cap);
    buf[0] = '\0';
    const cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        if (item != items->child) ehc_text_append(&buf, &len, &cap, ",", 1);
        ehc_text_append(&buf, &len, &cap, item->valuestring, strlen(item->valuestring));
    }
    ehc_text_append(&buf, &len, &cap, "\r\n", 2);
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(doc, "rows"))
    {
        cJSON_ArrayForEach(item, items)
        {
            if (item != items->child) ehc_text_append(&buf, &len, &cap, ",", 1);
            ehc_api_csv_cell(&buf, &len, &cap, cJSON_GetObjectItemCaseSensitive(row, item->valuestring));
        }
        ehc_text_append(&buf, &len, &cap, "\r\n", 2);
    }
    cJSON_Delete(doc);
    char disposition[80];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"sen2-%s.csv\"", r->module);
    ehc_http_res_header(r->req, "content-disposition", disposition);
    ehc_http_reply(r->req, 200, "text/csv; charset=utf-8", buf, len);
    free(buf);
    free(r);
}

/* Reads the query string: year (required, 2015 to 2100), and for the return module and format.
 * Answers 400 itself and returns false on anything else. */
static bool read_query(ehc_http_req *req, sen2_ctx *r, bool validation, char year[8])
{
    static const char *const modules[] = {"person",     "requests",     "assessments",      "plans",
                                          "placements", "active_plans", "placement_detail", "sen_need"};
    const char *q = ehc_http_req_query(req);
    char name[32], value[64];
    int more;
    year[0] = '\0';
    while ((more = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) != 0) {
        bool bad = more < 0, known = true;
        if (bad) {
        } else if (strcmp(name, "year") == 0) {
            char *end;
            long y = strtol(value, &end, 10);
            bad = !*value || *end || y < 2015 || y > 2100;
            if (!bad) snprintf(year, 8, "%ld", y);
        } else if (!validation && strcmp(name, "module") == 0) {
            r->module = NULL;
            for (size_t i = 0; i < EHC_ARRAY_SIZE(modules) && !r->module; i++)
                if (strcmp(value, modules[i]) == 0) r->module = modules[i];
            bad = !r->module;
        } else if (!validation && strcmp(name, "format") == 0) {
            bad = strcmp(value, "json") && strcmp(value, "csv") && strcmp(value, "xml");
            r->csv = !bad && strcmp(value, "csv") == 0;
            r->xml = !bad && strcmp(value, "xml") == 0;
        } else {
            known = false;
        }
        if (bad || !known) {
            ehc_api_reply_bad_query(req, more, name, known);
            return false;
        }
    }
    if (!year[0]) {
        ehc_http_reply_error(req, 400, "invalid_query", "the census year is required (year=2026)", "year");
        return false;
    }
    if (!validation && r->xml && r->module) {
        ehc_http_reply_error(req, 400, "invalid_query", "format=xml is the whole return: give no module",
                             "module");
        return false;
    }
    if (!validation && !r->xml && !r->module) {
        ehc_http_reply_error(
            req, 400, "invalid_query",
            "the module is required: person, requests, assessments, plans, placements, "
            "active_plans, placement_detail or sen_need (or format=xml for the whole return)",
            "module");
        return false;
    }
    return true;
}

static void on_stream_gone(void *data)
{
    (void)data;
}

static void xml_flush(void *data, const char *bytes, size_t len)
{
    ehc_http_stream_write(data, bytes, len);
}

/* The XML return: the rows of ehc_sen2_xml_rows written as the document (api/sen2_xml.c). */
static void on_xml(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    sen2_ctx *r = data;
    if (status != 0 || !ehc_sen2_xml_rows_ok(res)) {
        if (status == 0)
            ehc_log(EHC_LOG_ERROR, "sen2_xml_rows", ehc_http_req_id(r->req),
                    "the rows of ehc_sen2_xml_rows are not in the document's order");
        ehc_api_reply_unavailable(r->req);
        free(r);
        return;
    }
    ehc_http_res_header(r->req, "cache-control", "no-store");
    ehc_http_res_header(r->req, "content-disposition", "attachment; filename=\"sen2.xml\"");
    if (ehc_http_stream_start(r->req, "application/xml; charset=utf-8", on_stream_gone, r) == 0) {
        (void)ehc_sen2_xml_write(res, xml_flush, r->req); /* the rows were checked above */
        ehc_http_stream_end(r->req);
    }
    free(r);
}

static bool authorities_of(ehc_http_req *req, const ehc_principal *who, char *out, size_t size)
{
    ehc_api_authorities(who, EHC_ROLE_SERVICE_MANAGER, out, size);
    if (*out) return true;
    ehc_http_reply_error(req, 403, "forbidden", "the SEN2 return is for service managers", NULL);
    return false;
}

static void return_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    sen2_ctx *r = data;
    char authorities[512], year[8], user[24];
    if (!authorities_of(req, who, authorities, sizeof authorities) || !read_query(req, r, false, year)) {
        free(r);
        return;
    }
    snprintf(user, sizeof user, "%lld", (long long)who->user_id);
    if (r->xml) {
        const char *params[4] = {authorities, year, user, ehc_http_req_id(req)};
        if (ehc_pg_query(app->pg, "SELECT * FROM ehc_sen2_xml_rows($1, $2::int, $3::bigint, $4)", 4, params,
                         SEN2_TIMEOUT_MS, on_xml, r)) {
            ehc_api_reply_unavailable(req);
            free(r);
        }
        return;
    }
    const char *params[5] = {authorities, year, r->module, user, ehc_http_req_id(req)};
    if (ehc_pg_query(app->pg, "SELECT ehc_sen2_export($1, $2::int, $3, $4::bigint, $5)", 5, params,
                     SEN2_TIMEOUT_MS, on_return, r)) {
        ehc_api_reply_unavailable(req);
        free(r);
    }
}

static void validation_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    sen2_ctx *r = data;
    char authorities[512], year[8];
    bool ok = authorities_of(req, who, authorities, sizeof authorities) && read_query(req, r, true, year);
    free(r);
    if (!ok) return;
    const char *params[2] = {authorities, year};
    if (ehc_pg_query(app->pg, "SELECT ehc_sen2_validation($1, $2::int)", 2, params, SEN2_TIMEOUT_MS,
                     ehc_api_reply_json_row, req))
        ehc_api_reply_unavailable(req);
}

static void on_sen2(ehc_http_req *req, void *ctx)
{
    sen2_ctx *r = ehc_calloc(1, sizeof *r);
    r->req = req;
    ehc_api_authenticate(ctx, req, return_authed, r);
}

static void on_validation(ehc_http_req *req, void *ctx)
{
    sen2_ctx *r = ehc_calloc(1, sizeof *r);
    r->req = req;
    ehc_api_authenticate(ctx, req, validation_authed, r);
}

void ehc_api_sen2_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/api/v1/reports/sen2", on_sen2, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/reports/sen2/validation", on_validation, app))
        abort();
}
