/* Reports through the API:
 *   GET /api/v1/reports/timeliness?from=&to=&by=authority|team|officer|month&format=json|csv
 *   GET /api/v1/reports/breach-forecast?format=json|csv   every open request's chance of missing 20
 *       weeks, from the authority's own history (sql/0025_breach_forecast.sql), most at risk first
 * Timeliness as the DfE derives it (sql/0022_timeliness.sql): decisions within 6 weeks, no-plan
 * notices within 16, plans within 20 (with and without exceptions) and after more than 52, review
 * decisions within 4, advice within 6 by adviser type and service. For team managers (their teams)
 * and service managers (the authority). Counts only, no child's data; computed in one SQL call. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"

#define REPORT_ROLES (EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER)
#define REPORT_TIMEOUT_MS 10000

typedef struct report_ctx {
    ehc_http_req *req;
    bool csv;
    bool forecast; /* the breach forecast (else timeliness) */
} report_ctx;

static const char *const timeliness_columns[] = {"measure",
                                                 "authority_id",
                                                 "team_id",
                                                 "officer_id",
                                                 "month",
                                                 "adviser_type",
                                                 "organisation_id",
                                                 "total",
                                                 "on_time",
                                                 "late",
                                                 "on_time_percent",
                                                 "total_excluding_exceptions",
                                                 "on_time_excluding_exceptions",
                                                 "on_time_percent_excluding_exceptions",
                                                 "over_52_weeks",
                                                 "over_52_weeks_percent",
                                                 NULL};
static const char *const forecast_columns[] = {"case_id",
                                               "reference",
                                               "stage",
                                               "point",
                                               "team_id",
                                               "officer_name",
                                               "origin_on",
                                               "due_on",
                                               "days_gone",
                                               "days_left",
                                               "chance_of_missing_20_weeks",
                                               "history_cases",
                                               "basis",
                                               NULL};

static void on_report(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    report_ctx *r = data;
    if (status != 0 || PQntuples(res) != 1) {
        ehc_api_reply_unavailable(r->req);
        free(r);
        return;
    }
    if (!r->csv) {
        ehc_api_reply_json_row(r->req, status, res, message);
        free(r);
        return;
    }
    const char *const *columns = r->forecast ? forecast_columns : timeliness_columns;
    size_t n = 0;
    while (columns[n])
        n++;
    cJSON *doc = cJSON_Parse(PQgetvalue(res, 0, 0));
    size_t len = 0, cap = 4096;
    char *buf = ehc_malloc(cap);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        ehc_text_printf(&buf, &len, &cap, "%s%s", columns[i], i + 1 == n ? "\r\n" : ",");
    }
    const cJSON *row, *rows = r->forecast ? doc : cJSON_GetObjectItemCaseSensitive(doc, "rows");
    cJSON_ArrayForEach(row, rows)
    {
        const cJSON *grp = cJSON_GetObjectItemCaseSensitive(row, "group");
        for (size_t i = 0; i < n; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, columns[i]);
            if (!v) v = cJSON_GetObjectItemCaseSensitive(grp, columns[i]);
            ehc_api_csv_cell(&buf, &len, &cap, v);
            ehc_text_append(&buf, &len, &cap, i + 1 == n ? "\r\n" : ",", i + 1 == n ? 2 : 1);
        }
    }
    cJSON_Delete(doc);
    ehc_http_res_header(r->req, "content-disposition",
                        r->forecast ? "attachment; filename=\"breach-forecast.csv\""
                                    : "attachment; filename=\"timeliness.csv\"");
    ehc_http_reply(r->req, 200, "text/csv; charset=utf-8", buf, len);
    free(buf);
    free(r);
}

/* Runs one report function (authorities, filter) and answers from on_report; takes the filter. */
static void run_report(ehc_app *app, report_ctx *r, const char *sql, const char *authorities, cJSON *filter)
{
    char *f = cJSON_PrintUnformatted(filter);
    cJSON_Delete(filter);
    const char *params[2] = {authorities, f};
    int rc = ehc_pg_query(app->pg, sql, 2, params, REPORT_TIMEOUT_MS, on_report, r);
    free(f);
    if (rc) {
        ehc_api_reply_unavailable(r->req);
        free(r);
    }
}

static void timeliness_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    report_ctx *r = data;
    char authorities[512];
    ehc_api_authorities(who, REPORT_ROLES, authorities, sizeof authorities);
    if (!*authorities) {
        free(r);
        ehc_http_reply_error(req, 403, "forbidden", "reports are for team and service managers", NULL);
        return;
    }
    ehc_date today_on, from, to;
    if (ehc_clock_today(&app->clock, &today_on)) {
        free(r);
        ehc_http_reply_error(req, 500, "internal", "cannot tell today's date", NULL);
        return;
    }
    to = today_on;
    char iso[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(today_on, iso);
    memcpy(iso + 5, "01-01", 5); /* the calendar year so far */
    if (ehc_date_parse_iso(iso, &from)) abort();
    cJSON *filter = cJSON_CreateObject();
    cJSON *teams = ehc_api_team_scope(who);
    if (teams) cJSON_AddItemToObject(filter, "team_ids", teams);
    const char *q = ehc_http_req_query(req);
    char name[32], value[64];
    int more;
    while ((more = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) != 0) {
        bool bad = more < 0, known = true;
        if (bad) {
        } else if (strcmp(name, "from") == 0 || strcmp(name, "to") == 0) {
            bad = ehc_date_parse_iso(value, name[0] == 'f' ? &from : &to) != 0;
        } else if (strcmp(name, "by") == 0) {
            bad = strcmp(value, "authority") && strcmp(value, "team") && strcmp(value, "officer") &&
                  strcmp(value, "month");
            if (!bad) cJSON_AddStringToObject(filter, "by", value);
        } else if (strcmp(name, "format") == 0) {
            bad = strcmp(value, "json") && strcmp(value, "csv");
            r->csv = !bad && strcmp(value, "csv") == 0;
        } else {
            known = false;
        }
        if (bad || !known) {
            cJSON_Delete(filter);
            free(r);
            return ehc_api_reply_bad_query(req, more, name, known);
        }
    }
    if (from.days > to.days || to.days - from.days > 3660) {
        cJSON_Delete(filter);
        free(r);
        ehc_http_reply_error(req, 400, "invalid_query",
                             "the period must run forwards, and for at most ten years", "from");
        return;
    }
    ehc_date_format_iso(from, iso);
    cJSON_AddStringToObject(filter, "from", iso);
    ehc_date_format_iso(to, iso);
    cJSON_AddStringToObject(filter, "to", iso);
    run_report(app, r, "SELECT ehc_timeliness($1, $2::jsonb)", authorities, filter);
}

static void on_timeliness(ehc_http_req *req, void *ctx)
{
    report_ctx *r = ehc_calloc(1, sizeof *r);
    r->req = req;
    ehc_api_authenticate(ctx, req, timeliness_authed, r);
}

static void forecast_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    report_ctx *r = data;
    char authorities[512];
    ehc_api_authorities(who, REPORT_ROLES, authorities, sizeof authorities);
    if (!*authorities) {
        free(r);
        ehc_http_reply_error(req, 403, "forbidden", "reports are for team and service managers", NULL);
        return;
    }
    ehc_date today_on;
    if (ehc_clock_today(&app->clock, &today_on)) {
        free(r);
        ehc_http_reply_error(req, 500, "internal", "cannot tell today's date", NULL);
        return;
    }
    const char *q = ehc_http_req_query(req);
    char name[32], value[16];
    int more;
    while ((more = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) != 0) {
        bool known = more >= 0 && strcmp(name, "format") == 0;
        if (!known || (strcmp(value, "json") && strcmp(value, "csv"))) {
            free(r);
            return ehc_api_reply_bad_query(req, more, name, known);
        }
        r->csv = value[0] == 'c';
    }
    cJSON *filter = cJSON_CreateObject();
    cJSON *teams = ehc_api_team_scope(who);
    if (teams) cJSON_AddItemToObject(filter, "team_ids", teams);
    char iso[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(today_on, iso);
    cJSON_AddStringToObject(filter, "today", iso);
    run_report(app, r, "SELECT ehc_breach_forecast($1, $2::jsonb)", authorities, filter);
}

static void on_forecast(ehc_http_req *req, void *ctx)
{
    report_ctx *r = ehc_calloc(1, sizeof *r);
    r->req = req;
    r->forecast = true;
    ehc_api_authenticate(ctx, req, forecast_authed, r);
}

void ehc_api_reports_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/api/v1/reports/timeliness", on_timeliness, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/reports/breach-forecast", on_forecast, app))
        abort();
}
