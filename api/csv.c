/* CSV for the reports' downloads and every list (RFC 4180): one cell at a time into a growing text. */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "ehc/api.h"

void ehc_api_csv_cell(char **buf, size_t *len, size_t *cap, const cJSON *v)
{
    if (cJSON_IsNumber(v)) {
        if (v->valuedouble == (double)(int64_t)v->valuedouble)
            ehc_text_printf(buf, len, cap, "%" PRId64, (int64_t)v->valuedouble);
        else
            ehc_text_printf(buf, len, cap, "%.1f", v->valuedouble);
        return;
    }
    const char *s = cJSON_GetStringValue(v);
    if (!s) return; /* no value: an empty cell */
    /* quoted when it holds a comma, quote or line break, or would start a formula in a spreadsheet
     * (then also prefixed with an apostrophe) */
    bool formula = s[0] && strchr("=+-@", s[0]);
    if (!formula && !s[strcspn(s, ",\"\r\n")]) {
        ehc_text_append(buf, len, cap, s, strlen(s));
        return;
    }
    ehc_text_append(buf, len, cap, formula ? "\"'" : "\"", formula ? 2 : 1);
    for (const char *p = s; *p; p++)
        ehc_text_append(buf, len, cap, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
    ehc_text_append(buf, len, cap, "\"", 1);
}

/* ---- any list as CSV --------------------------------------------------------------------------------- */

bool ehc_api_list_format_ok(const char *value)
{
    return strcmp(value, "json") == 0 || strcmp(value, "csv") == 0;
}

bool ehc_api_wants_csv(const ehc_http_req *req)
{
    const char *q = ehc_http_req_query(req);
    char name[32], value[16];
    int more;
    bool csv = false;
    while ((more = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) != 0)
        if (more > 0 && strcmp(name, "format") == 0) csv = strcmp(value, "csv") == 0;
    return csv;
}

typedef struct columns {
    char **names;
    size_t n, cap;
} columns;

/* Every member of obj not yet seen, as prefix.member; a nested object's members in its place. */
static void collect(columns *c, const cJSON *obj, const char *prefix)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        if (!m->string) continue;
        size_t len = strlen(prefix) + strlen(m->string) + 2;
        char *name = ehc_malloc(len);
        snprintf(name, len, "%s%s%s", prefix, *prefix ? "." : "", m->string);
        if (cJSON_IsObject(m)) {
            collect(c, m, name);
            free(name);
            continue;
        }
        bool seen = false;
        for (size_t i = 0; i < c->n && !seen; i++)
            seen = strcmp(c->names[i], name) == 0;
        if (seen) {
            free(name);
            continue;
        }
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 16;
            c->names = ehc_realloc(c->names, c->cap * sizeof *c->names);
        }
        c->names[c->n++] = name;
    }
}

/* The value at a column's path (parent.member) in a row, or NULL. */
static const cJSON *at_path(const cJSON *row, const char *path)
{
    char part[128];
    while (row) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof part) return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        row = cJSON_GetObjectItemCaseSensitive(row, part);
        if (!path[n]) return row;
        path += n + 1;
    }
    return NULL;
}

static void list_cell(char **buf, size_t *len, size_t *cap, const cJSON *v)
{
    if (!v || cJSON_IsNull(v)) return;
    if (cJSON_IsBool(v)) {
        ehc_text_append(buf, len, cap, cJSON_IsTrue(v) ? "true" : "false", cJSON_IsTrue(v) ? 4 : 5);
        return;
    }
    if (cJSON_IsString(v) || (cJSON_IsNumber(v) && v->valuedouble == (double)(int64_t)v->valuedouble &&
                              v->valuedouble < 1e15 && v->valuedouble > -1e15)) {
        ehc_api_csv_cell(buf, len, cap, v);
        return;
    }
    /* a fraction as JSON writes it, an array as its JSON text */
    char *text = cJSON_PrintUnformatted(v);
    cJSON *s = cJSON_CreateString(text ? text : "");
    ehc_api_csv_cell(buf, len, cap, s);
    cJSON_Delete(s);
    free(text);
}

void ehc_api_reply_list(ehc_http_req *req, const char *json)
{
    if (!ehc_api_wants_csv(req)) {
        ehc_http_reply(req, 200, "application/json", json, strlen(json));
        return;
    }
    cJSON *doc = cJSON_Parse(json);
    const cJSON *rows = doc;
    if (cJSON_IsObject(doc)) {
        rows = NULL;
        for (const cJSON *m = doc->child; m && !rows; m = m->next)
            if (cJSON_IsArray(m)) rows = m;
    }
    columns c = {0};
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        if (cJSON_IsObject(row)) collect(&c, row, "");
    }
    size_t len = 0, cap = 4096;
    char *buf = ehc_malloc(cap);
    buf[0] = '\0';
    for (size_t i = 0; i < c.n; i++) {
        cJSON *name = cJSON_CreateString(c.names[i]);
        ehc_api_csv_cell(&buf, &len, &cap, name);
        cJSON_Delete(name);
        ehc_text_append(&buf, &len, &cap, i + 1 == c.n ? "\r\n" : ",", i + 1 == c.n ? 2 : 1);
    }
    cJSON_ArrayForEach(row, rows)
    {
        for (size_t i = 0; i < c.n; i++) {
            list_cell(&buf, &len, &cap, cJSON_IsObject(row) ? at_path(row, c.names[i]) : NULL);
            ehc_text_append(&buf, &len, &cap, i + 1 == c.n ? "\r\n" : ",", i + 1 == c.n ? 2 : 1);
        }
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.names[i]);
    free(c.names);
    cJSON_Delete(doc);
    /* named after the route's last word that is not an id: cases.csv, tokens.csv, access-log.csv */
    const char *path = ehc_http_req_path(req), *word = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' && p[1] && !isdigit((unsigned char)p[1])) word = p + 1;
    char disposition[96];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%.*s.csv\"", (int)strcspn(word, "/"),
             word);
    ehc_http_res_header(req, "content-disposition", disposition);
    ehc_http_reply(req, 200, "text/csv; charset=utf-8", buf, len);
    free(buf);
}

void ehc_api_reply_list_row(void *req, int status, PGresult *res, const char *message)
{
    (void)message;
    if (status != 0) return ehc_api_reply_unavailable(req);
    ehc_api_reply_list(req, PQgetvalue(res, 0, 0));
}
