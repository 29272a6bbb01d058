/* The driver of a generated caseload (caseload.h). */
#include "caseload.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

int ehc_caseload_roll(uint32_t *rng, int lo, int hi)
{
    *rng = *rng * 1664525u + 1013904223u;
    return lo + (int)((*rng >> 8) % (uint32_t)(hi - lo + 1));
}

void ehc_caseload_iso(int32_t days, char out[EHC_DATE_ISO_SIZE])
{
    ehc_date_format_iso((ehc_date){.days = days}, out);
}

int32_t ehc_caseload_day(const char *iso)
{
    ehc_date d;
    assert_int_equal(ehc_date_parse_iso(iso, &d), 0);
    return d.days;
}

int32_t ehc_caseload_weekday(int32_t day)
{
    while ((day + 3) % 7 >= 5) /* 1970-01-01 was a Thursday */
        day++;
    return day;
}

static int by_date(const void *a, const void *b)
{
    const ehc_caseload_step *x = a, *y = b;
    if (x->on != y->on) return x->on < y->on ? -1 : 1;
    return x->seq - y->seq;
}

static long call(int port, const char *method, const char *path, const char *token, const char *body,
                 char **out)
{
    ehc_test_response r;
    long status = ehc_test_call(port, method, path, token, body, &r);
    if (status >= 300) fprintf(stderr, "%s %s -> %ld %s\n", method, path, status, r.body);
    if (out) *out = strdup(r.body);
    ehc_test_response_free(&r);
    return status;
}

void ehc_caseload_run(int port, ehc_caseload_step *steps, size_t n, void (*take)(const ehc_caseload_step *s))
{
    qsort(steps, n, sizeof *steps, by_date);
    int32_t clock = 0;
    for (size_t i = 0; i < n; i++) {
        if (steps[i].on != clock) {
            clock = steps[i].on;
            char on[EHC_DATE_ISO_SIZE], body[96];
            ehc_caseload_iso(clock, on);
            snprintf(body, sizeof body, "{\"now\": \"%sT18:00:00Z\"}", on);
            assert_int_equal(call(port, "POST", "/admin/clock", EHC_TEST_TOKEN("admin"), body, NULL), 200);
        }
        take(&steps[i]);
    }
}

long ehc_caseload_open(int port, const char *token, long team_id, const char *child_json, const char *on)
{
    char body[1024], *out = NULL;
    snprintf(body, sizeof body,
             "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": %s, \"request\": {\"effective_on\": "
             "\"%s\", \"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": "
             "\"%sT10:00\"}}}",
             team_id, child_json, on, on);
    assert_int_equal(call(port, "POST", "/api/v1/cases", token, body, &out), 201);
    cJSON *j = cJSON_Parse(out);
    long id = (long)cJSON_GetObjectItem(j, "id")->valuedouble;
    cJSON_Delete(j);
    free(out);
    return id;
}

void ehc_caseload_event(int port, PGconn *db, long case_id, const char *token, const char *type,
                        const char *on, const char *fields)
{
    char path[64], body[768];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", case_id);
    snprintf(body, sizeof body, "{\"type\": \"%s\", \"effective_on\": \"%s\", \"expected_version\": %ld%s%s}",
             type, on, ehc_test_scalar(db, "SELECT version FROM cases WHERE id = %ld", case_id),
             fields ? ", \"fields\": " : "", fields ? fields : "");
    assert_int_equal(call(port, "POST", path, token, body, NULL), 201);
}

void ehc_caseload_exception(int port, PGconn *db, long case_id, const char *token, const char *on)
{
    char path[64], body[512];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/exceptions", case_id);
    snprintf(body, sizeof body,
             "{\"deadline\": \"final_plan_due\", \"exception\": \"reg_13_3_c\", \"applies_from\": \"%s\", "
             "\"evidence\": \"away for four weeks\", \"family_told_on\": \"%s\", \"expected_version\": %ld}",
             on, on, ehc_test_scalar(db, "SELECT version FROM cases WHERE id = %ld", case_id));
    assert_int_equal(call(port, "POST", path, token, body, NULL), 201);
}
