/* The timeliness report on a generated caseload: 60 requests received between January and March
 * 2026, each taken through the law's steps over the API on a simulated clock with pseudo-random
 * delays (some decisions, advice and plans late, some refusals, some no-plan decisions, some
 * exceptions, one plan after more than 52 weeks). The test works out every figure itself from the
 * delays it chose — by another route than the database — and the report must agree exactly, by
 * authority, summed over months, and scoped to a manager's team. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- the generated caseload ------------------------------------------------------------------------ */

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
    rng = rng * 1664525u + 1013904223u;
    return lo + (int)((rng >> 8) % (uint32_t)(hi - lo + 1));
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

typedef struct step {
    int32_t on;
    int seq; /* order within the day */
    int c;
    step_kind kind;
} step;

static int by_date(const void *a, const void *b)
{
    const step *x = a, *y = b;
    if (x->on != y->on) return x->on < y->on ? -1 : 1;
    return x->seq - y->seq;
}

static void iso(int32_t days, char out[EHC_DATE_ISO_SIZE])
{
    ehc_date_format_iso((ehc_date){.days = days}, out);
}

static void generate(step *steps, size_t *n)
{
    static const char *const advisers[] = {"medical", "educational_psychologist", "social_care"};
    ehc_date start;
    assert_int_equal(ehc_date_parse_iso("2026-01-05", &start), 0);
    int32_t day = start.days;
    *n = 0;
    int seq = 0;
    for (int i = 0; i < CASES; i++) {
        gen_case *g = &cases[i];
        /* weekdays of January to March 2026 (no bank holiday falls in them) */
        while ((day + 3) % 7 >= 5)
            day++;
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
    qsort(steps, *n, sizeof *steps, by_date);
}

static long version_of(long case_id)
{
    return ehc_test_scalar(admin, "SELECT version FROM cases WHERE id = %ld", case_id);
}

static void event(gen_case *g, const char *token, const char *type, const char *on, const char *fields)
{
    char path[64], body[512];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", g->id);
    snprintf(body, sizeof body, "{\"type\": \"%s\", \"effective_on\": \"%s\", \"expected_version\": %ld%s%s}",
             type, on, version_of(g->id), fields ? ", \"fields\": " : "", fields ? fields : "");
    assert_int_equal(call("POST", path, token, body, NULL), 201);
}

static void take(const step *s)
{
    gen_case *g = &cases[s->c];
    const char *officer = g->south ? EHC_TEST_TOKEN("officers") : EHC_TEST_TOKEN("officern");
    const char *manager = g->south ? EHC_TEST_TOKEN("managers") : EHC_TEST_TOKEN("managern");
    char on[EHC_DATE_ISO_SIZE], body[1024], fields[256];
    iso(s->on, on);
    switch (s->kind) {
    case OPEN: {
        long team =
            ehc_test_scalar(admin, "SELECT id FROM teams WHERE name = '%s'", g->south ? "South" : "North");
        snprintf(
            body, sizeof body,
            "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": {\"forename\": \"Gen\", \"surname\": "
            "\"Case%d\", \"date_of_birth\": \"2016-05-05\"}, \"request\": {\"effective_on\": \"%s\", "
            "\"fields\": "
            "{\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": \"%sT10:00\"}}}",
            team, s->c, on, on);
        char *out = NULL;
        assert_int_equal(call("POST", "/api/v1/cases", officer, body, &out), 201);
        cJSON *j = cJSON_Parse(out);
        g->id = (long)cJSON_GetObjectItem(j, "id")->valuedouble;
        cJSON_Delete(j);
        free(out);
        break;
    }
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
    case EXCEPTION: {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/cases/%ld/exceptions", g->id);
        snprintf(
            body, sizeof body,
            "{\"deadline\": \"final_plan_due\", \"exception\": \"reg_13_3_c\", \"applies_from\": \"%s\", "
            "\"evidence\": \"away for four weeks\", \"family_told_on\": \"%s\", \"expected_version\": %ld}",
            on, on, version_of(g->id));
        assert_int_equal(call("POST", path, manager, body, NULL), 201);
        break;
    }
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
    int32_t clock = 0;
    for (size_t i = 0; i < n; i++) {
        if (steps[i].on != clock) {
            clock = steps[i].on;
            char on[EHC_DATE_ISO_SIZE], body[96];
            iso(clock, on);
            snprintf(body, sizeof body, "{\"now\": \"%sT18:00:00Z\"}", on);
            assert_int_equal(call("POST", "/admin/clock", EHC_TEST_TOKEN("admin"), body, NULL), 200);
        }
        take(&steps[i]);
    }
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
    iso((int32_t)clock_day, on);
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
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
