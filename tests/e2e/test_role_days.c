/* An officer's day, end to end (issue #7): over a real socket against ehcd on a simulated clock and
 * a real PostgreSQL, an officer takes a new child's request through the eight stages of
 * workflows/ehc-needs-assessment.json to a final plan issued within 20 weeks and handed to the review
 * cycle, then holds the plan's first annual review in its own case of workflows/annual-review.json.
 * Each event is recorded by a role the workflow allows (the officer wherever it may, the manager for
 * the decisions), never dated after the clock, and after each step the case as the API shows it is
 * checked: stage, version, and every statutory date with its exact value, worked out by hand below
 * from the law (/work/shared/domain/statute.md) and the England and Wales bank holidays.
 *
 * The request: an email at 17:40 on Friday 5 June 2026, after 17:00, so deemed received on the next
 * working day, Monday 8 June 2026: Day 0.
 *   decision_due        Reg 5(1), 6 weeks     Day 0 + 42 days   Monday 20 July 2026
 *   no_plan_notice_due  Reg 10(1), 16 weeks   Day 0 + 112 days  Monday 28 September 2026
 *   final_plan_due      Reg 13(2), 20 weeks   Day 0 + 140 days  Monday 26 October 2026
 * Alerts fire at 07:00 Europe/London, N working days before a due date (the due date not counted). */
#include <cJSON.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;

#define OFFICER EHC_TEST_TOKEN("officer")
#define MANAGER EHC_TEST_TOKEN("manager")
#define SERVICE_MANAGER EHC_TEST_TOKEN("service_manager")

/* ---- setup: one authority, one team, an officer, a manager, a service manager, an admin ---------- */

/* A grant in team Central (team_id) or across its authority (team_id = NULL) */
#define GRANT(role, team_id)                                                                                 \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, " team_id " FROM users u, teams t WHERE u.username = '%s' AND t.name = 'Central'"

static int setup(void **state)
{
    admin = ehc_test_migrated_database("ehc_role_days", &db_url);
    ehc_test_exec(admin, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    ehc_test_exec(admin,
                  "INSERT INTO teams (authority_id, name) SELECT id, 'Central' FROM local_authorities");
    ehc_test_add_user(admin, "officer", false, GRANT("officer", "t.id"));
    ehc_test_add_user(admin, "manager", false, GRANT("manager", "t.id"));
    ehc_test_add_user(admin, "service_manager", false, GRANT("service_manager", "NULL"));
    ehc_test_add_user(admin, "admin", true, NULL);
    ehc_test_daemon_serve(&d, db_url, (const char *const[]){"--sim-clock=2025-01-01T00:00:00Z", NULL}, NULL);
    return 0;
}

static int teardown(void **state)
{
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------------ */

/* Today becomes `day` (11:00 UTC: midday in summer, 11:00 in winter); due alerts fire on the way. */
static void set_clock(const char *day)
{
    char body[96];
    snprintf(body, sizeof body, "{\"now\": \"%sT11:00:00Z\"}", day);
    ehc_test_response r;
    if (ehc_test_call(d.port, "POST", "/admin/clock", EHC_TEST_TOKEN("admin"), body, &r) != 200) {
        fprintf(stderr, "POST /admin/clock %s -> %ld %s\n", day, r.status, r.body);
        fail();
    }
    ehc_test_response_free(&r);
}

/* Records an event on the case as the holder of `token`; it must be accepted as version + 1. */
static int record(long id, const char *token, int version, const char *type, const char *on,
                  const char *fields)
{
    char path[64], body[1024];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", id);
    snprintf(body, sizeof body, "{\"type\": \"%s\", \"effective_on\": \"%s\", \"expected_version\": %d%s%s}",
             type, on, version, fields ? ", \"fields\": " : "", fields ? fields : "");
    ehc_test_response r;
    if (ehc_test_call(d.port, "POST", path, token, body, &r) != 201) {
        fprintf(stderr, "%s on %s (case %ld, version %d) -> %ld %s\n", type, on, id, version, r.status,
                r.body);
        fail();
    }
    cJSON *reply = cJSON_Parse(r.body);
    assert_non_null(reply);
    assert_int_equal(cJSON_GetObjectItem(reply, "version")->valueint, version + 1);
    cJSON_Delete(reply);
    ehc_test_response_free(&r);
    return version + 1;
}

/* The case as the API shows it (parsed), after checking its stage and version. */
static cJSON *view(long id, const char *token, const char *stage, int version)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld", id);
    ehc_test_response r;
    if (ehc_test_call(d.port, "GET", path, token, NULL, &r) != 200) {
        fprintf(stderr, "GET %s -> %ld %s\n", path, r.status, r.body);
        fail();
    }
    cJSON *v = cJSON_Parse(r.body);
    ehc_test_response_free(&r);
    assert_non_null(v);
    assert_string_equal(cJSON_GetObjectItem(v, "stage")->valuestring, stage);
    assert_int_equal(cJSON_GetObjectItem(v, "version")->valueint, version);
    return v;
}

static const char *text_or_null(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The statutory date `name` (for adviser or setting `key`, "" for none) is shown due on `due` with
 * that status, settled on `settled` (NULL while open). */
static void expect_date(const cJSON *v, const char *name, const char *key, const char *due,
                        const char *status, const char *settled)
{
    const cJSON *dl;
    cJSON_ArrayForEach(dl, cJSON_GetObjectItem(v, "deadlines"))
    {
        if (strcmp(text_or_null(dl, "deadline"), name) != 0 || strcmp(text_or_null(dl, "key"), key) != 0)
            continue;
        const char *settled_on = text_or_null(dl, "settled_on");
        if (strcmp(text_or_null(dl, "due_on"), due) != 0 || strcmp(text_or_null(dl, "status"), status) != 0 ||
            (settled ? !settled_on || strcmp(settled_on, settled) != 0 : settled_on != NULL)) {
            fprintf(stderr, "%s[%s]: expected due %s, %s %s; shown due %s, %s %s\n", name, key, due, status,
                    settled ? settled : "", text_or_null(dl, "due_on"), text_or_null(dl, "status"),
                    settled_on ? settled_on : "");
            fail();
        }
        return;
    }
    fprintf(stderr, "no statutory date %s[%s] on the case\n", name, key);
    fail();
}

static int count_dates(const cJSON *v)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(v, "deadlines"));
}

/* One text value from the database (the first column of the first row; "" when NULL). */
static char *db_text(const char *fmt, long id)
{
    char sql[1024];
    snprintf(sql, sizeof sql, fmt, id);
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    char *out = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

static void expect_db_text(const char *fmt, long id, const char *want)
{
    char *got = db_text(fmt, id);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "expected\n  %s\ngot\n  %s\n", want, got);
        free(got);
        fail();
    }
    free(got);
}

/* The SEN2 codes of a case, as stored in case_report_codes: "Item=value ..." in item order. */
#define SEN2_SQL                                                                                             \
    "SELECT coalesce(string_agg(item || '=' || value, ' ' ORDER BY item COLLATE \"C\"), '') "                \
    "FROM case_report_codes WHERE case_id = %ld"

/* Every alert raised on a case: "deadline[key]:level@local day:status/resolution", by firing time. */
#define ALERTS_SQL                                                                                           \
    "SELECT coalesce(string_agg(d.deadline_key || '[' || d.instance_key || ']:' || a.level || '@' "          \
    "|| to_char(a.fire_at AT TIME ZONE 'Europe/London', 'YYYY-MM-DD HH24:MI') || ':' || a.status "           \
    "|| '/' || coalesce(a.resolution, '-'), ' ' "                                                            \
    "ORDER BY a.fire_at, d.deadline_key COLLATE \"C\", d.instance_key), '') "                                \
    "FROM alerts a JOIN deadlines d ON d.id = a.deadline_id WHERE a.case_id = %ld"

/* The events of a case with the role that recorded each: "type:role ...". */
static char *events_and_roles(const cJSON *v)
{
    static char out[4096];
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "events"))
    {
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, "%s%s:%s", n ? " " : "", text_or_null(e, "type"),
                 text_or_null(e, "actor_role"));
    }
    return out;
}

/* ---- the day(s) ---------------------------------------------------------------------------------- */

static long assessment_walk(long *child_id)
{
    long officer_id = ehc_test_scalar(admin, "SELECT id FROM users WHERE username = 'officer'");
    long team_id = ehc_test_scalar(admin, "SELECT id FROM teams WHERE name = 'Central'");
    cJSON *v;

    /* Stage 1. The email arrived on Friday 5 June 2026 at 17:40; the officer registers it on Monday
     * 8 June and allocates the case to herself. */
    set_clock("2026-06-08");
    char body[1024];
    snprintf(
        body, sizeof body,
        "{\"team_id\": %ld, \"officer_id\": %ld, \"child\": {\"forename\": \"Alex\", \"surname\": "
        "\"Testcase\", \"date_of_birth\": \"2018-03-11\", \"sex\": \"U\", \"nhs_number\": \"9434765919\"}, "
        "\"request\": {\"effective_on\": \"2026-06-08\", \"fields\": {\"requested_by\": \"parent\", "
        "\"channel\": \"email\", \"received_at\": \"2026-06-05T17:40\"}}}",
        team_id, officer_id);
    ehc_test_response r;
    if (ehc_test_call(d.port, "POST", "/api/v1/cases", OFFICER, body, &r) != 201) {
        fprintf(stderr, "open -> %ld %s\n", r.status, r.body);
        fail();
    }
    cJSON *opened = cJSON_Parse(r.body);
    long id = (long)cJSON_GetObjectItem(opened, "id")->valuedouble;
    int ver = cJSON_GetObjectItem(opened, "version")->valueint;
    assert_int_equal(ver, 1);
    cJSON_Delete(opened);
    ehc_test_response_free(&r);
    v = view(id, OFFICER, "request", 1);
    assert_string_equal(text_or_null(v, "opened_on"), "2026-06-08"); /* Day 0: deemed receipt */
    assert_int_equal((long)cJSON_GetObjectItem(v, "officer_id")->valuedouble, officer_id);
    *child_id = (long)cJSON_GetObjectItem(cJSON_GetObjectItem(v, "child"), "id")->valuedouble;
    expect_date(v, "decision_due", "", "2026-07-20", "open", NULL);
    expect_date(v, "no_plan_notice_due", "", "2026-09-28", "open", NULL);
    expect_date(v, "final_plan_due", "", "2026-10-26", "open", NULL);
    assert_int_equal(count_dates(v), 3);
    cJSON_Delete(v);
    expect_db_text(SEN2_SQL, id, "RequestOutcome=A Week20=0");

    /* Reg 4(2) notices on Tuesday 9 June: the ICB, social care, the head teacher. */
    set_clock("2026-06-09");
    ver = record(id, OFFICER, ver, "notification_sent", "2026-06-09", "{\"body\": \"icb\"}");
    ver = record(id, OFFICER, ver, "notification_sent", "2026-06-09", "{\"body\": \"social_care\"}");
    ver = record(id, OFFICER, ver, "notification_sent", "2026-06-09", "{\"body\": \"head_or_principal\"}");
    cJSON_Delete(view(id, OFFICER, "request", 4));

    /* Stage 2. Evidence complete, panel listed on Monday 29 June; the panel decides to assess on
     * Thursday 9 July, within the 6 weeks (due 20 July). The decision is the manager's: the officer
     * may not record it. */
    set_clock("2026-06-29");
    ver = record(id, OFFICER, ver, "panel_listed", "2026-06-29", NULL);
    v = view(id, OFFICER, "deciding", 5);
    expect_date(v, "decision_due", "", "2026-07-20", "open", NULL);
    cJSON_Delete(v);
    set_clock("2026-07-09");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", id);
    assert_int_equal(ehc_test_call(d.port, "POST", path, OFFICER,
                                   "{\"type\": \"decision_to_assess\", \"effective_on\": \"2026-07-09\", "
                                   "\"expected_version\": 5, \"fields\": {\"decision\": \"yes\"}}",
                                   &r),
                     403);
    ehc_test_response_free(&r);
    ver = record(id, MANAGER, ver, "decision_to_assess", "2026-07-09", "{\"decision\": \"yes\"}");
    v = view(id, OFFICER, "assessing", 6);
    expect_date(v, "decision_due", "", "2026-07-20", "met", "2026-07-09");
    expect_date(v, "final_plan_due", "", "2026-10-26", "open", NULL);
    cJSON_Delete(v);
    expect_db_text(SEN2_SQL, id, "RequestOutcome=Y RequestOutcomeDate=2026-07-09 Week20=0");

    /* Stage 3. Advice requested on Friday 10 July from four advisers; Reg 8(1) gives each 6 weeks
     * from the day it received the request. The officer records them on Tuesday 14 July, once the
     * receipts are known:
     *   educational psychologist, by email, received Fri 10 July  -> due Fri 21 August 2026
     *   school, by email,                   received Fri 10 July  -> due Fri 21 August 2026
     *   health (ICB), by post,              received Mon 13 July  -> due Mon 24 August 2026
     *   social care, by post,               received Mon 13 July  -> due Mon 24 August 2026 */
    set_clock("2026-07-14");
    ver = record(id, OFFICER, ver, "advice_requested", "2026-07-10",
                 "{\"request_key\": \"ep\", \"adviser\": \"educational_psychologist\", \"received_on\": "
                 "\"2026-07-10\"}");
    ver = record(id, OFFICER, ver, "advice_requested", "2026-07-10",
                 "{\"request_key\": \"school\", \"adviser\": \"school_or_college\", \"received_on\": "
                 "\"2026-07-10\"}");
    ver = record(id, OFFICER, ver, "advice_requested", "2026-07-10",
                 "{\"request_key\": \"health\", \"adviser\": \"medical\", \"received_on\": \"2026-07-13\"}");
    ver = record(
        id, OFFICER, ver, "advice_requested", "2026-07-10",
        "{\"request_key\": \"social\", \"adviser\": \"social_care\", \"received_on\": \"2026-07-13\"}");
    v = view(id, OFFICER, "assessing", 10);
    expect_date(v, "advice_due", "ep", "2026-08-21", "open", NULL);
    expect_date(v, "advice_due", "school", "2026-08-21", "open", NULL);
    expect_date(v, "advice_due", "health", "2026-08-24", "open", NULL);
    expect_date(v, "advice_due", "social", "2026-08-24", "open", NULL);
    assert_int_equal(count_dates(v), 7);
    /* (the case's advice_requests list is not filled by the store yet: the advice is followed here
     * through its advice_due dates, one per request_key) */
    cJSON_Delete(v);

    /* The advice comes back, each within its 6 weeks: the school before the summer closure (Friday
     * 17 July), social care on Thursday 13 August, the psychologist on Thursday 20 August, health on
     * Monday 24 August, its last day. */
    set_clock("2026-07-17");
    ver = record(id, OFFICER, ver, "advice_received", "2026-07-17", "{\"request_key\": \"school\"}");
    set_clock("2026-08-13");
    ver = record(id, OFFICER, ver, "advice_received", "2026-08-13", "{\"request_key\": \"social\"}");
    set_clock("2026-08-20");
    ver = record(id, OFFICER, ver, "advice_received", "2026-08-20", "{\"request_key\": \"ep\"}");
    set_clock("2026-08-24");
    ver = record(id, OFFICER, ver, "advice_received", "2026-08-24", "{\"request_key\": \"health\"}");
    v = view(id, OFFICER, "assessing", 14);
    expect_date(v, "advice_due", "school", "2026-08-21", "met", "2026-07-17");
    expect_date(v, "advice_due", "social", "2026-08-24", "met", "2026-08-13");
    expect_date(v, "advice_due", "ep", "2026-08-21", "met", "2026-08-20");
    expect_date(v, "advice_due", "health", "2026-08-24", "met", "2026-08-24");
    cJSON_Delete(v);

    /* Stage 4. All advice in on Tuesday 25 August (Monday 31 August is the summer bank holiday);
     * the manager decides to issue a plan on Thursday 3 September, before the 16-week date. */
    set_clock("2026-08-25");
    ver = record(id, OFFICER, ver, "advice_complete", "2026-08-25", NULL);
    cJSON_Delete(view(id, OFFICER, "deciding_to_issue", 15));
    set_clock("2026-09-03");
    ver = record(id, MANAGER, ver, "decision_to_issue", "2026-09-03", "{\"decision\": \"yes\"}");
    v = view(id, OFFICER, "deciding_to_issue", 16);
    expect_date(v, "no_plan_notice_due", "", "2026-09-28", "open", NULL);
    cJSON_Delete(v);

    /* Stage 5. The draft is handed to the family on Friday 11 September: no no-plan notice now, and
     * the family's at least 15 days, the day of service being day 1, end on Friday 25 September, so
     * the plan may be final from Saturday 26 September (Reg 13(1)). */
    set_clock("2026-09-11");
    ver = record(id, OFFICER, ver, "draft_served", "2026-09-11", "{\"served_on\": \"2026-09-11\"}");
    v = view(id, OFFICER, "draft", 17);
    expect_date(v, "no_plan_notice_due", "", "2026-09-28", "cancelled", "2026-09-11");
    expect_date(v, "representations_period", "", "2026-09-26", "open", NULL);
    expect_date(v, "final_plan_due", "", "2026-10-26", "open", NULL);
    cJSON_Delete(v);
    set_clock("2026-09-21");
    ver =
        record(id, OFFICER, ver, "representations_received", "2026-09-21", "{\"meeting_requested\": false}");
    ver = record(id, OFFICER, ver, "preference_named", "2026-09-21", "{\"setting\": \"oak-primary\"}");
    cJSON_Delete(view(id, OFFICER, "draft", 19));

    /* Stage 6. The named school is consulted on Tuesday 22 September; it should answer within 15
     * days (CoP 9.83): by Wednesday 7 October. It answers on Thursday 1 October: it can admit. */
    set_clock("2026-09-22");
    ver = record(id, OFFICER, ver, "consultation_sent", "2026-09-22", "{\"setting_key\": \"oak-primary\"}");
    v = view(id, OFFICER, "consultation", 20);
    expect_date(v, "consultation_response_due", "oak-primary", "2026-10-07", "open", NULL);
    cJSON_Delete(v);
    set_clock("2026-10-01");
    ver = record(id, OFFICER, ver, "consultation_answered", "2026-10-01",
                 "{\"setting_key\": \"oak-primary\", \"answer\": \"can_admit\"}");
    v = view(id, OFFICER, "consultation", 21);
    expect_date(v, "consultation_response_due", "oak-primary", "2026-10-07", "met", "2026-10-01");
    cJSON_Delete(v);

    /* Stage 7. The manager decides the placement on Monday 5 October and issues the final plan on
     * Wednesday 14 October: within the 20 weeks (26 October), after the family's 15 days. */
    set_clock("2026-10-05");
    ver = record(id, MANAGER, ver, "placement_decided", "2026-10-05", "{\"setting\": \"oak-primary\"}");
    cJSON_Delete(view(id, OFFICER, "finalising", 22));
    set_clock("2026-10-14");
    ver = record(id, MANAGER, ver, "final_plan_issued", "2026-10-14", NULL);
    v = view(id, OFFICER, "issued", 23);
    expect_date(v, "final_plan_due", "", "2026-10-26", "met", "2026-10-14");
    expect_date(v, "representations_period", "", "2026-09-26", "met", "2026-10-14");
    /* Stage 8. The family may appeal within 2 months of the plan: to Monday 14 December 2026 (not in
     * August nor 25 December - 1 January, so no roll-over). */
    expect_date(v, "appeal_window_plan", "", "2026-12-14", "open", NULL);
    /* and the case goes to the review cycle only after that day */
    expect_date(v, "review_handover_not_before", "", "2026-12-14", "open", NULL);
    cJSON_Delete(v);
    expect_db_text(SEN2_SQL, id,
                   "AssessmentOutcome=Y AssessmentOutcomeDate=2026-10-14 RequestOutcome=Y "
                   "RequestOutcomeDate=2026-07-09 StartDate=2026-10-14 Week20=0");

    /* No appeal: the manager hands the plan to the review cycle the day after the window closed. */
    set_clock("2026-12-15");
    ver = record(id, MANAGER, ver, "handed_to_review", "2026-12-15", NULL);
    v = view(id, OFFICER, "review_cycle", 24);
    assert_string_equal(text_or_null(v, "status"), "closed");
    assert_string_equal(text_or_null(v, "closed_on"), "2026-12-15");
    /* every date of the assessment, settled, none late */
    expect_date(v, "decision_due", "", "2026-07-20", "met", "2026-07-09");
    expect_date(v, "advice_due", "ep", "2026-08-21", "met", "2026-08-20");
    expect_date(v, "advice_due", "school", "2026-08-21", "met", "2026-07-17");
    expect_date(v, "advice_due", "health", "2026-08-24", "met", "2026-08-24");
    expect_date(v, "advice_due", "social", "2026-08-24", "met", "2026-08-13");
    expect_date(v, "no_plan_notice_due", "", "2026-09-28", "cancelled", "2026-09-11");
    expect_date(v, "representations_period", "", "2026-09-26", "met", "2026-10-14");
    expect_date(v, "consultation_response_due", "oak-primary", "2026-10-07", "met", "2026-10-01");
    expect_date(v, "final_plan_due", "", "2026-10-26", "met", "2026-10-14");
    expect_date(v, "appeal_window_plan", "", "2026-12-14", "cancelled", "2026-12-15");
    expect_date(v, "review_handover_not_before", "", "2026-12-14", "met", "2026-12-15");
    assert_int_equal(count_dates(v), 11);
    assert_string_equal(events_and_roles(v),
                        "request_received:officer notification_sent:officer notification_sent:officer "
                        "notification_sent:officer panel_listed:officer decision_to_assess:manager "
                        "advice_requested:officer advice_requested:officer advice_requested:officer "
                        "advice_requested:officer advice_received:officer advice_received:officer "
                        "advice_received:officer advice_received:officer advice_complete:officer "
                        "decision_to_issue:manager draft_served:officer representations_received:officer "
                        "preference_named:officer consultation_sent:officer consultation_answered:officer "
                        "placement_decided:manager final_plan_issued:manager handed_to_review:manager");
    cJSON_Delete(v);

    /* The alerts the officer saw on the way: only early warnings, each 07:00 on the Nth working day
     * before its date, each resolved when the date was met; nothing due, nothing overdue.
     *   decision_due 20 Jul: 10 working days before, Mon 6 Jul (5 before, 13 Jul, not reached)
     *   advice_due[ep] 21 Aug: 5 before, Fri 14 Aug; advice_due[health] 24 Aug: 5 before, Mon 17 Aug
     *   (school and social care answered before theirs)
     *   consultation_response_due 7 Oct: 5 before, Wed 30 Sep
     *   final_plan_due 26 Oct: 10 before, Mon 12 Oct */
    expect_db_text(ALERTS_SQL, id,
                   "decision_due[]:upcoming_10@2026-07-06 07:00:resolved/met "
                   "advice_due[ep]:upcoming_5@2026-08-14 07:00:resolved/met "
                   "advice_due[health]:upcoming_5@2026-08-17 07:00:resolved/met "
                   "consultation_response_due[oak-primary]:upcoming_5@2026-09-30 07:00:resolved/met "
                   "final_plan_due[]:upcoming_10@2026-10-12 07:00:resolved/met");
    assert_int_equal(ehc_test_scalar(admin,
                                     "SELECT count(*) FROM alerts WHERE case_id = %ld AND level IN ('due', "
                                     "'overdue', 'escalated')",
                                     id),
                     0);
    return id;
}

/* The first annual review, in the plan's own case (workflows/annual-review.json), opened by the
 * officer for the same child with plan_made dated the day the final plan was issued. CFA 2014 s44(1):
 * reviewed within the period of 12 months starting with Wednesday 14 October 2026, whose last day is
 * Wednesday 13 October 2027. */
static long annual_review_walk(long child_id)
{
    long officer_id = ehc_test_scalar(admin, "SELECT id FROM users WHERE username = 'officer'");
    long team_id = ehc_test_scalar(admin, "SELECT id FROM teams WHERE name = 'Central'");
    char body[512];
    snprintf(body, sizeof body,
             "{\"team_id\": %ld, \"officer_id\": %ld, \"workflow\": \"annual-review\", \"child_id\": %ld, "
             "\"request\": {\"effective_on\": \"2026-10-14\", \"fields\": {\"under_five\": false, "
             "\"made_after\": \"assessment\"}}}",
             team_id, officer_id, child_id);
    ehc_test_response r;
    if (ehc_test_call(d.port, "POST", "/api/v1/cases", OFFICER, body, &r) != 201) {
        fprintf(stderr, "open annual review -> %ld %s\n", r.status, r.body);
        fail();
    }
    cJSON *opened = cJSON_Parse(r.body);
    long id = (long)cJSON_GetObjectItem(opened, "id")->valuedouble;
    int ver = cJSON_GetObjectItem(opened, "version")->valueint;
    cJSON_Delete(opened);
    ehc_test_response_free(&r);
    cJSON *v = view(id, OFFICER, "maintained", 1);
    assert_string_equal(text_or_null(v, "workflow_id"), "annual-review");
    assert_string_equal(text_or_null(v, "opened_on"), "2026-10-14");
    assert_int_equal((long)cJSON_GetObjectItem(cJSON_GetObjectItem(v, "child"), "id")->valuedouble, child_id);
    expect_date(v, "first_review_due", "", "2027-10-13", "open", NULL);
    assert_int_equal(count_dates(v), 1); /* not under 5: no early-years target */
    cJSON_Delete(v);

    /* On Monday 6 September 2027 the officer arranges the meeting for Tuesday 28 September.
     * Reg 20(2)-(4): invitations and advice at least 2 weeks before it, by Tuesday 14 September. */
    set_clock("2027-09-06");
    ver =
        record(id, OFFICER, ver, "review_meeting_arranged", "2027-09-06", "{\"meeting_on\": \"2027-09-28\"}");
    v = view(id, OFFICER, "review_arranged", 2);
    expect_date(v, "invitations_due", "", "2027-09-14", "open", NULL);
    expect_date(v, "advice_circulation_due", "", "2027-09-14", "open", NULL);
    cJSON_Delete(v);
    set_clock("2027-09-13");
    ver = record(id, OFFICER, ver, "invitations_sent", "2027-09-13", NULL);
    set_clock("2027-09-14");
    ver = record(id, OFFICER, ver, "advice_circulated", "2027-09-14", NULL); /* its last valid day */
    v = view(id, OFFICER, "review_arranged", 4);
    expect_date(v, "invitations_due", "", "2027-09-14", "met", "2027-09-13");
    expect_date(v, "advice_circulation_due", "", "2027-09-14", "met", "2027-09-14");
    cJSON_Delete(v);

    /* The meeting, Tuesday 28 September 2027: the report within 2 weeks (Tuesday 12 October), the
     * decision within 4 (Reg 20(10): Tuesday 26 October), and an amended plan, if any, within 12
     * (Devon: Tuesday 21 December). */
    set_clock("2027-09-28");
    ver = record(id, OFFICER, ver, "review_meeting_held", "2027-09-28", NULL);
    v = view(id, OFFICER, "review_held", 5);
    expect_date(v, "review_report_due", "", "2027-10-12", "open", NULL);
    expect_date(v, "review_decision_due", "", "2027-10-26", "open", NULL);
    expect_date(v, "amended_plan_after_review_due", "", "2027-12-21", "open", NULL);
    expect_date(v, "first_review_due", "", "2027-10-13", "open", NULL);
    cJSON_Delete(v);
    set_clock("2027-10-07");
    ver = record(id, OFFICER, ver, "review_report_sent", "2027-10-07", NULL);
    v = view(id, OFFICER, "review_held", 6);
    expect_date(v, "review_report_due", "", "2027-10-12", "met", "2027-10-07");
    cJSON_Delete(v);

    /* The manager decides on Monday 11 October 2027 to maintain the plan: within the 4 weeks and the
     * s44 period. The next period starts with the decision: the second review is due by Tuesday
     * 10 October 2028; the family may appeal the decision not to amend within 2 months, to Saturday
     * 11 December 2027 (no roll-over outside August and 25 December - 1 January). */
    set_clock("2027-10-11");
    ver = record(id, MANAGER, ver, "review_decision_notified", "2027-10-11",
                 "{\"decision\": \"maintain\", \"under_five\": false}");
    v = view(id, OFFICER, "maintained", 7);
    expect_date(v, "first_review_due", "", "2027-10-13", "met", "2027-10-11");
    expect_date(v, "invitations_due", "", "2027-09-14", "met", "2027-09-13");
    expect_date(v, "advice_circulation_due", "", "2027-09-14", "met", "2027-09-14");
    expect_date(v, "review_report_due", "", "2027-10-12", "met", "2027-10-07");
    expect_date(v, "review_decision_due", "", "2027-10-26", "met", "2027-10-11");
    expect_date(v, "amended_plan_after_review_due", "", "2027-12-21", "cancelled", "2027-10-11");
    expect_date(v, "review_due", "", "2028-10-10", "open", NULL);
    expect_date(v, "appeal_window_no_amendment", "", "2027-12-11", "open", NULL);
    assert_int_equal(count_dates(v), 8);
    assert_string_equal(events_and_roles(v), "plan_made:officer review_meeting_arranged:officer "
                                             "invitations_sent:officer advice_circulated:officer "
                                             "review_meeting_held:officer review_report_sent:officer "
                                             "review_decision_notified:manager");
    assert_string_equal(text_or_null(v, "status"), "open");
    cJSON_Delete(v);
    expect_db_text(SEN2_SQL, id, ""); /* a review sets no SEN2 code of its own */

    /* Alerts on the way, all resolved by the events:
     *   invitations_due and advice_circulation_due 14 Sep: 5 working days before, Tue 7 Sep; advice
     *   circulated on its last day, so its on-the-day alert fired at 07:00 on 14 Sep
     *   first_review_due 13 Oct: 20 working days before, Wed 15 Sep; 10 before, Wed 29 Sep
     *   review_report_due 12 Oct: 5 before, Tue 5 Oct
     *   review_decision_due 26 Oct: 10 before, Tue 12 Oct: decided the day before */
    expect_db_text(ALERTS_SQL, id,
                   "advice_circulation_due[]:upcoming_5@2027-09-07 07:00:resolved/met "
                   "invitations_due[]:upcoming_5@2027-09-07 07:00:resolved/met "
                   "advice_circulation_due[]:due@2027-09-14 07:00:resolved/met "
                   "first_review_due[]:upcoming_20@2027-09-15 07:00:resolved/met "
                   "first_review_due[]:upcoming_10@2027-09-29 07:00:resolved/met "
                   "review_report_due[]:upcoming_5@2027-10-05 07:00:resolved/met");
    assert_int_equal(
        ehc_test_scalar(admin,
                        "SELECT count(*) FROM alerts WHERE case_id = %ld AND level IN ('overdue', "
                        "'escalated')",
                        id),
        0);
    return id;
}

static void test_officer_takes_a_case_through_all_eight_stages_and_holds_the_first_annual_review(void **state)
{
    long child_id;
    long assessment = assessment_walk(&child_id);
    long review = annual_review_walk(child_id);

    /* The service manager, over the whole authority, sees both cases; the open list holds the
     * review case only, soonest statutory date first. */
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld", assessment);
    ehc_test_response r;
    assert_int_equal(ehc_test_call(d.port, "GET", path, SERVICE_MANAGER, NULL, &r), 200);
    ehc_test_response_free(&r);
    cJSON_Delete(view(review, SERVICE_MANAGER, "maintained", 7));
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/cases", SERVICE_MANAGER, NULL, &r), 200);
    cJSON *list = cJSON_Parse(r.body);
    ehc_test_response_free(&r);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    cJSON *only = cJSON_GetArrayItem(list, 0);
    assert_int_equal((long)cJSON_GetObjectItem(only, "id")->valuedouble, review);
    assert_string_equal(text_or_null(only, "stage"), "maintained");
    cJSON_Delete(list);
    /* and through the API: nothing overdue, for the officer or the manager */
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/alerts?level=overdue", OFFICER, NULL, &r), 200);
    assert_string_equal(r.body, "[]");
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/alerts?level=overdue", MANAGER, NULL, &r), 200);
    assert_string_equal(r.body, "[]");
    ehc_test_response_free(&r);
    /* one child, two cases */
    assert_int_equal(ehc_test_scalar(admin,
                                     "SELECT count(*) FROM cases WHERE child_id = %ld AND id IN (%ld, %ld)",
                                     child_id, assessment, review),
                     2);
}

/* Last: ehcd stops on SIGTERM with exit status 0, which under the sanitizers also means no leak
 * and no memory error in anything the test above made it do. */
static void test_daemon_stops_cleanly_after_all_of_the_above(void **state)
{
    ehc_test_daemon_stop_clean(&d);
}

/* After the day (on a simulated clock running ahead of the real one), every case still replays
 * from its log to exactly what the database holds: events are judged by the day ehcd's clock said
 * they were recorded, not the database's. */
static void test_every_case_replays_from_its_log_after_the_day(void **state)
{
    char out[8192];
    if (ehc_test_ehcd_verify(db_url, "", out, sizeof out) != 0) {
        fprintf(stderr, "ehcd verify said:\n%s", out);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_officer_takes_a_case_through_all_eight_stages_and_holds_the_first_annual_review),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
        cmocka_unit_test(test_every_case_replays_from_its_log_after_the_day),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
