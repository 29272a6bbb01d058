/* The timeliness report on a generated caseload: 60 requests received between January and March
 * 2026, each taken through the law's steps over the API on a simulated clock with pseudo-random
 * delays (some decisions, advice and plans late, some refusals, some no-plan decisions, some
 * exceptions, one plan after more than 52 weeks). The test works out every figure itself from the
 * delays it chose — by another route than the database — and the report must agree exactly, by
 * authority, summed over months, and scoped to a manager's team. On the same caseload every list of
 * the API answers ?format=csv with exactly the rows and values of its JSON. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caseload.h"
#include "ehc/date.h"
#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;

#define CASES 60

#define GRANT_TEAM(role, team)                                                                               \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, t.id FROM users u, teams t WHERE u.username = '%s' AND t.name = '" team "'"

static int setup(void **state)
{
    (void)state;
    admin = ehc_test_migrated_database("ehc_reports", &db_url);
    ehc_test_exec(admin, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    ehc_test_exec(
        admin,
        "INSERT INTO teams (authority_id, name) SELECT id, t FROM local_authorities, (VALUES ('North'), "
        "('South')) v (t)");
    ehc_test_add_user(admin, "officern", false, GRANT_TEAM("officer", "North"));
    ehc_test_add_user(admin, "managern", false, GRANT_TEAM("manager", "North"));
    ehc_test_add_user(admin, "officers", false, GRANT_TEAM("officer", "South"));
    ehc_test_add_user(admin, "managers", false, GRANT_TEAM("manager", "South"));
    ehc_test_add_user(
        admin, "svc", false,
        "INSERT INTO role_grants (user_id, role, authority_id) SELECT u.id, 'service_manager', a.id "
        "FROM users u, local_authorities a WHERE u.username = '%s'");
    ehc_test_add_user(admin, "admin", true, NULL);
    ehc_test_add_user(admin, "laadmin", false,
                      "INSERT INTO role_grants (user_id, role, authority_id) SELECT u.id, 'admin', a.id "
                      "FROM users u, local_authorities a WHERE u.username = '%s'");
    ehc_test_daemon_serve(&d, db_url, (const char *const[]){"--sim-clock=2025-01-01T00:00:00Z", NULL}, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

static long call(const char *method, const char *path, const char *token, const char *body, char **out)
{
    ehc_test_response r;
    long status = ehc_test_call(d.port, method, path, token, body, &r);
    if (status >= 300) fprintf(stderr, "%s %s -> %ld %s\n", method, path, status, r.body);
    if (out) *out = strdup(r.body);
    ehc_test_response_free(&r);
    return status;
}

/* ---- the generated caseload (driven by tests/support/caseload.c) -------------------------------------- */

typedef struct gen_case {
    int32_t r;           /* request (days since epoch) */
    int decision_delay;  /* days to the decision whether to assess */
    bool refused;        /* not assessed */
    const char *adviser; /* the one adviser asked */
    int advice_delay;    /* days the advice took from the adviser's receipt */
    bool no_plan;        /* decided not to issue a plan */
    int plan_extra;      /* days after the 15-day draft period before the final plan */
    bool exception;      /* an exception to the 20-week limit applies */
    bool south;          /* team South (else North) */
    long id;
} gen_case;

static gen_case cases[CASES];

static uint32_t rng = 20260105u;
static int roll(int lo, int hi)
{
    return ehc_caseload_roll(&rng, lo, hi);
}

typedef enum {
    OPEN,
    DECIDE,
    ASK,
    RETURN,
    COMPLETE,
    ISSUE_DECISION,
    EXCEPTION,
    DRAFT,
    PLACE,
    FINAL
} step_kind;

typedef ehc_caseload_step step; /* kind: a step_kind */

static void generate(step *steps, size_t *n)
{
    static const char *const advisers[] = {"medical", "educational_psychologist", "social_care"};
    int32_t day = ehc_caseload_day("2026-01-05");
    *n = 0;
    int seq = 0;
    for (int i = 0; i < CASES; i++) {
        gen_case *g = &cases[i];
        /* weekdays of January to March 2026 (no bank holiday falls in them) */
        day = ehc_caseload_weekday(day);
        g->r = day;
        day += i % 2;
        g->decision_delay = roll(28, 49);
        g->refused = i % 6 == 5;
        g->adviser = advisers[i % 3];
        g->advice_delay = roll(25, 50);
        g->no_plan = !g->refused && i % 7 == 3;
        g->plan_extra = i == 12 ? 300 : roll(0, 40); /* case 12: issued after more than 52 weeks */
        g->exception = !g->refused && !g->no_plan && i % 5 == 1;
        g->south = i % 4 == 0;
        int32_t dday = g->r + g->decision_delay;
        steps[(*n)++] = (step){g->r, seq++, i, OPEN};
        steps[(*n)++] = (step){dday, seq++, i, DECIDE};
        if (g->refused) continue;
        int32_t aday = dday + g->advice_delay;
        steps[(*n)++] = (step){dday, seq++, i, ASK};
        steps[(*n)++] = (step){aday, seq++, i, RETURN};
        steps[(*n)++] = (step){aday, seq++, i, COMPLETE};
        steps[(*n)++] = (step){aday + 3, seq++, i, ISSUE_DECISION};
        if (g->no_plan) continue;
        int32_t sday = aday + 5;
        if (g->exception) steps[(*n)++] = (step){sday, seq++, i, EXCEPTION};
        steps[(*n)++] = (step){sday, seq++, i, DRAFT};
        int32_t pday = sday + 15 + g->plan_extra;
        steps[(*n)++] = (step){pday, seq++, i, PLACE};
        steps[(*n)++] = (step){pday, seq++, i, FINAL};
    }
}

static void event(gen_case *g, const char *token, const char *type, const char *on, const char *fields)
{
    ehc_caseload_event(d.port, admin, g->id, token, type, on, fields);
}

static void take(const step *s)
{
    gen_case *g = &cases[s->c];
    const char *officer = g->south ? EHC_TEST_TOKEN("officers") : EHC_TEST_TOKEN("officern");
    const char *manager = g->south ? EHC_TEST_TOKEN("managers") : EHC_TEST_TOKEN("managern");
    char on[EHC_DATE_ISO_SIZE], child[160], fields[256];
    ehc_caseload_iso(s->on, on);
    switch (s->kind) {
    case OPEN:
        snprintf(child, sizeof child,
                 "{\"forename\": \"Gen\", \"surname\": \"Case%d\", \"date_of_birth\": \"2016-05-05\"}", s->c);
        g->id = ehc_caseload_open(
            d.port, officer,
            ehc_test_scalar(admin, "SELECT id FROM teams WHERE name = '%s'", g->south ? "South" : "North"),
            child, on);
        break;
    case DECIDE:
        event(g, manager, "decision_to_assess", on,
              g->refused ? "{\"decision\": \"no\"}" : "{\"decision\": \"yes\"}");
        break;
    case ASK:
        snprintf(fields, sizeof fields,
                 "{\"request_key\": \"a\", \"adviser\": \"%s\", \"received_on\": \"%s\"}", g->adviser, on);
        event(g, officer, "advice_requested", on, fields);
        break;
    case RETURN: event(g, officer, "advice_received", on, "{\"request_key\": \"a\"}"); break;
    case COMPLETE: event(g, officer, "advice_complete", on, NULL); break;
    case ISSUE_DECISION:
        event(g, manager, "decision_to_issue", on,
              g->no_plan ? "{\"decision\": \"no\"}" : "{\"decision\": \"yes\"}");
        break;
    case EXCEPTION: ehc_caseload_exception(d.port, admin, g->id, manager, on); break;
    case DRAFT:
        snprintf(fields, sizeof fields, "{\"served_on\": \"%s\"}", on);
        event(g, officer, "draft_served", on, fields);
        break;
    case PLACE: event(g, manager, "placement_decided", on, NULL); break;
    case FINAL: event(g, manager, "final_plan_issued", on, NULL); break;
    }
}

/* ---- expected figures, from the generated delays alone ------------------------------------------- */

typedef struct figure {
    long total, on_time, total_excl, on_time_excl, over_52;
} figure;

static figure expected(const char *measure, const char *adviser, int team /* 0 all, 1 North, 2 South */)
{
    figure f = {0};
    for (int i = 0; i < CASES; i++) {
        const gen_case *g = &cases[i];
        if ((team == 1 && g->south) || (team == 2 && !g->south)) continue;
        int plan_days = g->decision_delay + g->advice_delay + 5 + 15 + g->plan_extra;
        if (strcmp(measure, "decision_6_weeks") == 0) {
            f.total++;
            f.on_time += g->decision_delay <= 42;
        } else if (strcmp(measure, "advice_6_weeks") == 0 && !g->refused &&
                   (!adviser || strcmp(adviser, g->adviser) == 0)) {
            f.total++;
            f.on_time += g->advice_delay <= 42;
        } else if (strcmp(measure, "no_plan_16_weeks") == 0 && g->no_plan) {
            f.total++;
            f.on_time += g->decision_delay + g->advice_delay + 3 <= 112;
        } else if (strcmp(measure, "plan_20_weeks") == 0 && !g->refused && !g->no_plan) {
            f.total++;
            f.on_time += plan_days <= 140;
            f.total_excl += !g->exception;
            f.on_time_excl += !g->exception && plan_days <= 140;
            f.over_52 += plan_days > 364;
        }
    }
    return f;
}

static cJSON *report(const char *token, const char *query)
{
    char path[256], *out = NULL;
    snprintf(path, sizeof path, "/api/v1/reports/timeliness?%s", query);
    assert_int_equal(call("GET", path, token, NULL, &out), 200);
    cJSON *j = cJSON_Parse(out);
    free(out);
    assert_non_null(j);
    return j;
}

/* Sums a measure's rows (optionally one adviser type's) over every group of the report. */
static figure reported(const cJSON *doc, const char *measure, const char *adviser)
{
    figure f = {0};
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(doc, "rows"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(row, "measure")), measure) != 0) continue;
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(row, "adviser_type"));
        if (adviser && (!type || strcmp(type, adviser) != 0)) continue;
        f.total += (long)cJSON_GetObjectItem(row, "total")->valuedouble;
        f.on_time += (long)cJSON_GetObjectItem(row, "on_time")->valuedouble;
        const cJSON *x = cJSON_GetObjectItem(row, "total_excluding_exceptions");
        if (x) f.total_excl += (long)x->valuedouble;
        x = cJSON_GetObjectItem(row, "on_time_excluding_exceptions");
        if (x) f.on_time_excl += (long)x->valuedouble;
        x = cJSON_GetObjectItem(row, "over_52_weeks");
        if (x) f.over_52 += (long)x->valuedouble;
    }
    return f;
}

static void assert_figure(const char *what, figure want, figure got)
{
    if (memcmp(&want, &got, sizeof want) != 0) {
        fprintf(stderr,
                "%s: expected total %ld on time %ld (excl. exceptions %ld/%ld, over 52 weeks %ld), reported "
                "%ld %ld "
                "(%ld/%ld, %ld)\n",
                what, want.total, want.on_time, want.on_time_excl, want.total_excl, want.over_52, got.total,
                got.on_time, got.on_time_excl, got.total_excl, got.over_52);
        fail();
    }
}

static void test_generated_caseload_is_taken_through_the_law_over_the_api(void **state)
{
    (void)state;
    static step steps[CASES * 12];
    size_t n;
    generate(steps, &n);
    ehc_caseload_run(d.port, steps, n, take);
    /* the generation gave every kind of outcome, or the test would prove less than it claims */
    figure plans = expected("plan_20_weeks", NULL, 0), decisions = expected("decision_6_weeks", NULL, 0);
    assert_true(plans.on_time > 0 && plans.on_time < plans.total && plans.over_52 == 1);
    assert_true(plans.total_excl < plans.total);
    assert_true(decisions.on_time > 0 && decisions.on_time < decisions.total);
    assert_true(expected("no_plan_16_weeks", NULL, 0).total > 0);
}

static void test_report_agrees_with_the_figures_worked_out_independently(void **state)
{
    (void)state;
    static const char *const measures[] = {"decision_6_weeks", "advice_6_weeks", "no_plan_16_weeks",
                                           "plan_20_weeks"};
    cJSON *all = report(EHC_TEST_TOKEN("svc"), "from=2026-01-01&to=2027-12-31");
    cJSON *months = report(EHC_TEST_TOKEN("svc"), "from=2026-01-01&to=2027-12-31&by=month");
    for (size_t i = 0; i < sizeof measures / sizeof measures[0]; i++) {
        assert_figure(measures[i], expected(measures[i], NULL, 0), reported(all, measures[i], NULL));
        /* the months add up to the whole */
        assert_figure(measures[i], expected(measures[i], NULL, 0), reported(months, measures[i], NULL));
    }
    static const char *const advisers[] = {"medical", "educational_psychologist", "social_care"};
    for (size_t i = 0; i < 3; i++)
        assert_figure(advisers[i], expected("advice_6_weeks", advisers[i], 0),
                      reported(all, "advice_6_weeks_by_adviser", advisers[i]));
    /* a team manager sees their team's figures only */
    cJSON *south = report(EHC_TEST_TOKEN("managers"), "from=2026-01-01&to=2027-12-31&by=team");
    assert_figure("south plans", expected("plan_20_weeks", NULL, 2), reported(south, "plan_20_weeks", NULL));
    assert_figure("south decisions", expected("decision_6_weeks", NULL, 2),
                  reported(south, "decision_6_weeks", NULL));
    /* a period counts the acts done in it: nothing was decided before the first request */
    cJSON *before = report(EHC_TEST_TOKEN("svc"), "from=2025-01-01&to=2026-01-04");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(before, "rows")), 0);
    cJSON_Delete(all);
    cJSON_Delete(months);
    cJSON_Delete(south);
    cJSON_Delete(before);
}

/* The breach forecast over the API: the requests still open are listed, most at risk first, each with
 * the chance worked out from the generated history (a request just received is at the start of the
 * process, where about the history's share of late plans applies). */
static void test_breach_forecast_lists_open_requests_most_at_risk_first(void **state)
{
    (void)state;
    /* two new requests, one per team, on the day the clock stands at */
    long clock_day =
        ehc_test_scalar(admin, "SELECT (to_timestamp(now_us / 1e6) AT TIME ZONE 'Europe/London')::date - "
                               "date '1970-01-01' FROM sim_clock");
    char on[EHC_DATE_ISO_SIZE], body[1024];
    ehc_caseload_iso((int32_t)clock_day, on);
    static const char *const teams[] = {"North", "South"};
    for (int i = 0; i < 2; i++) {
        snprintf(
            body, sizeof body,
            "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": {\"forename\": \"New\", \"surname\": "
            "\"Fresh%d\", \"date_of_birth\": \"2017-05-05\"}, \"request\": {\"effective_on\": \"%s\", "
            "\"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": "
            "\"%sT10:00\"}}}",
            ehc_test_scalar(admin, "SELECT id FROM teams WHERE name = '%s'", teams[i]), i, on, on);
        assert_int_equal(call("POST", "/api/v1/cases",
                              i ? EHC_TEST_TOKEN("officers") : EHC_TEST_TOKEN("officern"), body, NULL),
                         201);
    }
    figure plans = expected("plan_20_weeks", NULL, 0);
    long late = plans.total - plans.on_time;
    char *out = NULL;
    assert_int_equal(call("GET", "/api/v1/reports/breach-forecast", EHC_TEST_TOKEN("svc"), NULL, &out), 200);
    cJSON *list = cJSON_Parse(out);
    free(out);
    assert_int_equal(cJSON_GetArraySize(list), 2);
    const cJSON *row;
    cJSON_ArrayForEach(row, list)
    {
        assert_int_equal((long)cJSON_GetObjectItem(row, "days_gone")->valuedouble, 0);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(row, "point")), "request");
        /* at day 0 every plan of the history was still to come: the chance is the share issued late */
        const cJSON *chance = cJSON_GetObjectItem(row, "chance_of_missing_20_weeks");
        assert_true(cJSON_IsNumber(chance));
        assert_true(fabs(chance->valuedouble - (double)late / (double)plans.total) < 0.0006);
        assert_int_equal((long)cJSON_GetObjectItem(row, "history_cases")->valuedouble, plans.total);
    }
    cJSON_Delete(list);
    /* a team manager sees their team's only; officers none */
    assert_int_equal(call("GET", "/api/v1/reports/breach-forecast", EHC_TEST_TOKEN("managers"), NULL, &out),
                     200);
    list = cJSON_Parse(out);
    free(out);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    cJSON_Delete(list);
    assert_int_equal(
        call("GET", "/api/v1/reports/breach-forecast?format=csv", EHC_TEST_TOKEN("svc"), NULL, &out), 200);
    assert_memory_equal(out, "case_id,reference,stage,point,", 30);
    free(out);
    assert_int_equal(call("GET", "/api/v1/reports/breach-forecast", EHC_TEST_TOKEN("officern"), NULL, NULL),
                     403);
    assert_int_equal(
        call("GET", "/api/v1/reports/breach-forecast?format=pdf", EHC_TEST_TOKEN("svc"), NULL, NULL), 400);
}

static void test_report_as_csv_and_refusals(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(call("GET", "/api/v1/reports/timeliness?from=2026-01-01&to=2027-12-31&format=csv",
                          EHC_TEST_TOKEN("svc"), NULL, &out),
                     200);
    assert_memory_equal(out, "measure,authority_id,team_id,officer_id,month,", 46);
    char line[128];
    figure f = expected("plan_20_weeks", NULL, 0);
    snprintf(line, sizeof line, "plan_20_weeks,%ld,,,,,,%ld,%ld,%ld,",
             ehc_test_scalar(admin, "SELECT id FROM local_authorities"), f.total, f.on_time,
             f.total - f.on_time);
    if (!strstr(out, line)) fail_msg("no line starting %s in\n%s", line, out);
    free(out);
    assert_int_equal(call("GET", "/api/v1/reports/timeliness", EHC_TEST_TOKEN("officern"), NULL, NULL), 403);
    assert_int_equal(call("GET", "/api/v1/reports/timeliness", "X-None: 1", NULL, NULL), 401);
    assert_int_equal(
        call("GET", "/api/v1/reports/timeliness?from=2026-02-30", EHC_TEST_TOKEN("svc"), NULL, NULL), 400);
    assert_int_equal(call("GET", "/api/v1/reports/timeliness?from=2026-03-01&to=2026-02-01",
                          EHC_TEST_TOKEN("svc"), NULL, NULL),
                     400);
    assert_int_equal(call("GET", "/api/v1/reports/timeliness?by=planet", EHC_TEST_TOKEN("svc"), NULL, NULL),
                     400);
    assert_int_equal(call("GET", "/api/v1/reports/timeliness?colour=red", EHC_TEST_TOKEN("svc"), NULL, NULL),
                     400);
}

/* ---- every list as CSV ------------------------------------------------------------------------------ */

/* One CSV document (RFC 4180) as rows of cells, each malloc'd; fails the test on anything malformed. */
typedef struct csv_doc {
    char ***rows;
    size_t *widths;
    size_t n;
} csv_doc;

static csv_doc csv_parse(const char *s)
{
    csv_doc doc = {0};
    size_t cap = 0;
    while (*s) {
        if (doc.n == cap) {
            cap = cap ? cap * 2 : 64;
            doc.rows = realloc(doc.rows, cap * sizeof *doc.rows);
            doc.widths = realloc(doc.widths, cap * sizeof *doc.widths);
        }
        char **cells = NULL;
        size_t w = 0;
        for (;;) {
            size_t len = 0, ccap = 64;
            char *cell = malloc(ccap);
            if (*s == '"') {
                for (s++;; s++) {
                    if (!*s) fail_msg("an unterminated quoted CSV cell");
                    if (*s == '"' && s[1] != '"') break;
                    if (*s == '"') s++;
                    if (len + 2 > ccap) cell = realloc(cell, ccap *= 2);
                    cell[len++] = *s;
                }
                s++;
            } else {
                for (; *s && *s != ',' && *s != '\r' && *s != '\n'; s++) {
                    if (*s == '"') fail_msg("a quote inside an unquoted CSV cell");
                    if (len + 2 > ccap) cell = realloc(cell, ccap *= 2);
                    cell[len++] = *s;
                }
            }
            cell[len] = '\0';
            cells = realloc(cells, (w + 1) * sizeof *cells);
            cells[w++] = cell;
            if (*s == ',') {
                s++;
                continue;
            }
            if (s[0] != '\r' || s[1] != '\n') fail_msg("a CSV line not ended by CRLF");
            s += 2;
            break;
        }
        doc.rows[doc.n] = cells;
        doc.widths[doc.n++] = w;
    }
    return doc;
}

static void csv_free(csv_doc *doc)
{
    for (size_t i = 0; i < doc->n; i++) {
        for (size_t k = 0; k < doc->widths[i]; k++)
            free(doc->rows[i][k]);
        free(doc->rows[i]);
    }
    free(doc->rows);
    free(doc->widths);
}

/* The text a JSON value must be in its CSV cell: a string as it is (after an apostrophe when it would
 * start a spreadsheet formula), a whole number in digits, true or false, nothing for null, and an
 * array or a fraction as its JSON. */
static char *cell_of(const cJSON *v)
{
    char buf[64];
    if (!v || cJSON_IsNull(v)) return strdup("");
    if (cJSON_IsBool(v)) return strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble) {
        snprintf(buf, sizeof buf, "%lld", (long long)v->valuedouble);
        return strdup(buf);
    }
    char *text = cJSON_IsString(v) ? strdup(v->valuestring) : cJSON_PrintUnformatted(v);
    if (text[0] && strchr("=+-@", text[0])) {
        char *quoted = malloc(strlen(text) + 2);
        sprintf(quoted, "'%s", text);
        free(text);
        return quoted;
    }
    return text;
}

/* Every leaf of a JSON row against the CSV's header and line: each member (a nested object's as
 * parent.member) is the column of that name, and no column is left without a member or empty. */
static void check_row(const char *what, const cJSON *obj, const char *prefix, char **header, size_t width,
                      char **line, bool *used)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        char name[256];
        snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", m->string);
        if (cJSON_IsObject(m)) {
            check_row(what, m, name, header, width, line, used);
            continue;
        }
        size_t k = 0;
        while (k < width && strcmp(header[k], name) != 0)
            k++;
        if (k == width) fail_msg("%s: the CSV has no column %s", what, name);
        used[k] = true;
        char *want = cell_of(m);
        if (strcmp(want, line[k]) != 0)
            fail_msg("%s: %s is \"%s\" in CSV, \"%s\" in JSON", what, name, line[k], want);
        free(want);
    }
}

/* A list GET as JSON and as CSV: the CSV is an attachment of text/csv with a header line and one line
 * per row of the JSON (an array, or an object's first array member), each cell the row's value.
 * Returns the number of rows. */
static size_t list_as_csv_matches_json(const char *path, const char *token)
{
    char url[256];
    ehc_test_response j, c;
    long status = ehc_test_call(d.port, "GET", path, token, NULL, &j);
    if (status != 200) fail_msg("%s -> %ld %s", path, status, j.body);
    snprintf(url, sizeof url, "%s%sformat=csv", path, strchr(path, '?') ? "&" : "?");
    status = ehc_test_call(d.port, "GET", url, token, NULL, &c);
    if (status != 200) fail_msg("%s -> %ld %s", url, status, c.body);
    if (!strstr(c.headers, "text/csv")) fail_msg("%s: not text/csv:\n%s", url, c.headers);
    if (!strstr(c.headers, "attachment; filename=")) fail_msg("%s: not an attachment:\n%s", url, c.headers);
    cJSON *doc = cJSON_Parse(j.body);
    assert_non_null(doc);
    const cJSON *rows = doc;
    if (cJSON_IsObject(doc)) {
        rows = NULL;
        for (const cJSON *m = doc->child; m && !rows; m = m->next)
            if (cJSON_IsArray(m)) rows = m;
    }
    assert_true(cJSON_IsArray(rows));
    size_t n = (size_t)cJSON_GetArraySize(rows);
    csv_doc csv = csv_parse(c.body);
    if (n == 0) {
        if (csv.n != 0) fail_msg("%s: an empty list, but the CSV has %zu lines", url, csv.n);
    } else {
        if (csv.n != n + 1)
            fail_msg("%s: %zu rows in JSON, %zu lines in CSV (with the header)", url, n, csv.n);
        size_t width = csv.widths[0];
        bool *used = calloc(width, sizeof *used);
        for (size_t i = 0; i < n; i++) {
            char what[300];
            snprintf(what, sizeof what, "%s row %zu", url, i);
            if (csv.widths[i + 1] != width)
                fail_msg("%s: %zu cells, header %zu", what, csv.widths[i + 1], width);
            check_row(what, cJSON_GetArrayItem(rows, (int)i), "", csv.rows[0], width, csv.rows[i + 1], used);
        }
        for (size_t k = 0; k < width; k++)
            if (!used[k]) fail_msg("%s: column %s is in no row of the JSON", url, csv.rows[0][k]);
        free(used);
    }
    csv_free(&csv);
    cJSON_Delete(doc);
    ehc_test_response_free(&j);
    ehc_test_response_free(&c);
    return n;
}

static void test_every_list_answers_csv_with_the_rows_of_its_json(void **state)
{
    (void)state;
    long kase = cases[1].id;
    /* a document on a case, so that its list has a row */
    char path[160];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/documents?name=note.txt&kind=other", kase);
    ehc_test_response r;
    ehc_test_http(&r, "POST", d.port, path, "a note, with a comma",
                  (const char *const[]){EHC_TEST_TOKEN("managern"), "Content-Type: text/plain", NULL});
    if (r.status != 201) fail_msg("document upload: %ld %s", r.status, r.body);
    ehc_test_response_free(&r);
    long svc = ehc_test_scalar(admin, "SELECT id FROM users WHERE username = 'svc'");
    long before = ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'read'");

    assert_true(list_as_csv_matches_json("/api/v1/cases?limit=500", EHC_TEST_TOKEN("svc")) > 0);
    assert_true(list_as_csv_matches_json("/api/v1/cases?unallocated=true", EHC_TEST_TOKEN("managern")) > 0);
    assert_true(list_as_csv_matches_json("/api/v1/caseload", EHC_TEST_TOKEN("managern")) > 0);
    assert_true(list_as_csv_matches_json("/api/v1/alerts?limit=500", EHC_TEST_TOKEN("svc")) > 0);
    assert_true(
        list_as_csv_matches_json("/api/v1/advice-requests?status=all&limit=500", EHC_TEST_TOKEN("svc")) > 0);
    list_as_csv_matches_json("/api/v1/reviews?limit=500", EHC_TEST_TOKEN("svc"));
    assert_true(list_as_csv_matches_json("/api/v1/children?surname=Case1", EHC_TEST_TOKEN("officern")) > 0);
    snprintf(path, sizeof path, "/api/v1/cases/%ld/documents", kase);
    assert_true(list_as_csv_matches_json(path, EHC_TEST_TOKEN("managern")) > 0);
    list_as_csv_matches_json("/api/v1/admin/dead-letters", EHC_TEST_TOKEN("laadmin"));
    assert_true(list_as_csv_matches_json("/api/v1/admin/users", EHC_TEST_TOKEN("laadmin")) > 0);
    snprintf(path, sizeof path, "/api/v1/admin/users/%ld/tokens", svc);
    assert_true(list_as_csv_matches_json(path, EHC_TEST_TOKEN("laadmin")) > 0);
    assert_true(list_as_csv_matches_json("/api/v1/admin/teams", EHC_TEST_TOKEN("laadmin")) > 0);
    list_as_csv_matches_json("/api/v1/admin/organisations?all=true", EHC_TEST_TOKEN("laadmin"));
    snprintf(path, sizeof path, "/api/v1/admin/cases/%ld/access-log", kase);
    assert_true(list_as_csv_matches_json(path, EHC_TEST_TOKEN("laadmin")) > 0);

    /* a read as CSV is in the access log as the same read as JSON is: one line per request read */
    assert_true(ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'read'") > before);
    const char *advice = "/api/v1/advice-requests?status=all&limit=500";
    long n0 = ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'read'");
    assert_int_equal(call("GET", advice, EHC_TEST_TOKEN("svc"), NULL, NULL), 200);
    long n1 = ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'read'");
    char csv_path[128];
    snprintf(csv_path, sizeof csv_path, "%s&format=csv", advice);
    assert_int_equal(call("GET", csv_path, EHC_TEST_TOKEN("svc"), NULL, NULL), 200);
    long n2 = ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'read'");
    assert_true(n1 > n0);
    assert_int_equal(n2 - n1, n1 - n0);
    /* a format the lists do not speak */
    assert_int_equal(call("GET", "/api/v1/cases?format=xml", EHC_TEST_TOKEN("svc"), NULL, NULL), 400);
    assert_int_equal(call("GET", "/api/v1/alerts?format=pdf", EHC_TEST_TOKEN("svc"), NULL, NULL), 400);
    assert_int_equal(call("GET", "/api/v1/admin/users?format=tsv", EHC_TEST_TOKEN("laadmin"), NULL, NULL),
                     400);
}

static void test_daemon_stops_cleanly_after_all_of_the_above(void **state)
{
    (void)state;
    ehc_test_daemon_stop_clean(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_caseload_is_taken_through_the_law_over_the_api),
        cmocka_unit_test(test_report_agrees_with_the_figures_worked_out_independently),
        cmocka_unit_test(test_report_as_csv_and_refusals),
        cmocka_unit_test(test_breach_forecast_lists_open_requests_most_at_risk_first),
        cmocka_unit_test(test_every_list_answers_csv_with_the_rows_of_its_json),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
