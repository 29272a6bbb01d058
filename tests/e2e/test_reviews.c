/* Annual reviews over the API: a team's plans under review listed soonest first with their review
 * dates (CFA 2014 s44(1): within 12 months starting with the day the plan was made), by setting, and
 * the phase-transfer cohort (Reg 18(1): before 15 February of the transfer year); a term's review
 * meetings arranged and invitations sent for many plans at once, each case checked by its workflow,
 * a case of another team refused within the same request, and every write in the access log. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;
static long plans[4]; /* North: due 30 Sep 2026, 14 Nov 2026, 19 Jan 2027; South: 30 Nov 2026 */

#define GRANT_TEAM(role, team)                                                                               \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, t.id FROM users u, teams t WHERE u.username = '%s' AND t.name = '" team "'"

static long call(const char *method, const char *path, const char *token, const char *body, cJSON **out)
{
    ehc_test_response r;
    long status = ehc_test_call(d.port, method, path, token, body, &r);
    if (out) *out = cJSON_Parse(r.body);
    if (status >= 400 || (out && !*out)) fprintf(stderr, "%s %s -> %ld %s\n", method, path, status, r.body);
    ehc_test_response_free(&r);
    return status;
}

static long open_plan(const char *token, const char *team, const char *surname, const char *urn,
                      const char *made)
{
    char body[1024];
    snprintf(
        body, sizeof body,
        "{\"team_id\": %ld, \"workflow\": \"annual-review\", \"confirm_new_child\": true, \"child\": "
        "{\"forename\": \"Robin\", \"surname\": \"%s\", \"date_of_birth\": \"2015-03-03\", \"setting_urn\": "
        "\"%s\"}, \"request\": {\"effective_on\": \"%s\", \"fields\": {\"under_five\": false, "
        "\"made_after\": "
        "\"assessment\"}}}",
        ehc_test_scalar(admin, "SELECT id FROM teams WHERE name = '%s'", team), surname, urn, made);
    cJSON *r;
    assert_int_equal(call("POST", "/api/v1/cases", token, body, &r), 201);
    long id = (long)cJSON_GetObjectItem(r, "id")->valuedouble;
    cJSON_Delete(r);
    return id;
}

static int setup(void **state)
{
    (void)state;
    admin = ehc_test_migrated_database("ehc_reviews", &db_url);
    ehc_test_exec(admin, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    ehc_test_exec(
        admin,
        "INSERT INTO teams (authority_id, name) SELECT id, t FROM local_authorities, (VALUES ('North'), "
        "('South')) v (t)");
    ehc_test_add_user(admin, "officer1", false, GRANT_TEAM("officer", "North"));
    ehc_test_add_user(admin, "manager1", false, GRANT_TEAM("manager", "North"));
    ehc_test_add_user(admin, "officer2", false, GRANT_TEAM("officer", "South"));
    ehc_test_add_user(admin, "admin", true, NULL);
    ehc_test_daemon_serve(&d, db_url, (const char *const[]){"--sim-clock=2026-09-01T12:00:00Z", NULL}, NULL);
    plans[0] = open_plan(EHC_TEST_TOKEN("officer1"), "North", "Ames", "100001", "2025-10-01");
    plans[1] = open_plan(EHC_TEST_TOKEN("officer1"), "North", "Baker", "100001", "2025-11-15");
    plans[2] = open_plan(EHC_TEST_TOKEN("officer1"), "North", "Carter", "100002", "2026-01-20");
    plans[3] = open_plan(EHC_TEST_TOKEN("officer2"), "South", "Dunn", "100001", "2025-12-01");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

static const char *field(const cJSON *o, const char *name)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
    return s ? s : "(null)";
}

static void test_the_teams_reviews_are_listed_soonest_first_by_setting(void **state)
{
    (void)state;
    cJSON *list;
    assert_int_equal(call("GET", "/api/v1/reviews", EHC_TEST_TOKEN("manager1"), NULL, &list), 200);
    assert_int_equal(cJSON_GetArraySize(list), 3); /* North's three; not South's */
    static const char *const due[] = {"2026-09-30", "2026-11-14", "2027-01-19"};
    for (int i = 0; i < 3; i++) {
        const cJSON *p = cJSON_GetArrayItem(list, i);
        assert_int_equal((long)cJSON_GetObjectItem(p, "case_id")->valuedouble, plans[i]);
        assert_string_equal(field(p, "review_due_on"), due[i]);
        assert_string_equal(field(p, "stage"), "maintained");
    }
    assert_string_equal(field(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "child"), "surname"), "Ames");
    cJSON_Delete(list);
    /* this term's: due by the end of December */
    assert_int_equal(
        call("GET", "/api/v1/reviews?due_by=2026-12-31", EHC_TEST_TOKEN("officer1"), NULL, &list), 200);
    assert_int_equal(cJSON_GetArraySize(list), 2);
    cJSON_Delete(list);
    /* one setting's */
    assert_int_equal(call("GET", "/api/v1/reviews?setting=100002", EHC_TEST_TOKEN("officer1"), NULL, &list),
                     200);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_string_equal(field(cJSON_GetArrayItem(list, 0), "setting_urn"), "100002");
    cJSON_Delete(list);
    /* South's officer sees South's only */
    assert_int_equal(call("GET", "/api/v1/reviews", EHC_TEST_TOKEN("officer2"), NULL, &list), 200);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_string_equal(field(cJSON_GetArrayItem(list, 0), "review_due_on"), "2026-11-30");
    cJSON_Delete(list);
    /* listing children is a read of their cases */
    assert_true(ehc_test_scalar(
                    admin, "SELECT count(DISTINCT case_id) FROM access_log WHERE resource = 'review list'") ==
                4);
    assert_int_equal(call("GET", "/api/v1/reviews?setting=abc", EHC_TEST_TOKEN("officer1"), NULL, NULL), 400);
    assert_int_equal(call("GET", "/api/v1/reviews?due_by=2026-02-30", EHC_TEST_TOKEN("officer1"), NULL, NULL),
                     400);
    assert_int_equal(call("GET", "/api/v1/reviews?colour=red", EHC_TEST_TOKEN("officer1"), NULL, NULL), 400);
    assert_int_equal(call("GET", "/api/v1/reviews", EHC_TEST_TOKEN("admin"), NULL, NULL), 403);
    assert_int_equal(call("GET", "/api/v1/reviews", "X-None: 1", NULL, NULL), 401);
}

static void test_a_terms_meetings_and_invitations_are_recorded_for_many_plans_at_once(void **state)
{
    (void)state;
    char body[512];
    long events_before = ehc_test_scalar(admin, "SELECT count(*) FROM case_events");
    /* the two North plans due this term, and South's, which this officer may not touch */
    snprintf(body, sizeof body,
             "{\"case_ids\": [%ld, %ld, %ld], \"type\": \"review_meeting_arranged\", \"effective_on\": "
             "\"2026-09-01\", \"fields\": {\"meeting_on\": \"2026-09-22\"}}",
             plans[0], plans[1], plans[3]);
    cJSON *r;
    assert_int_equal(call("POST", "/api/v1/bulk-events", EHC_TEST_TOKEN("officer1"), body, &r), 200);
    assert_int_equal((long)cJSON_GetObjectItem(r, "recorded")->valuedouble, 2);
    cJSON *results = cJSON_GetObjectItem(r, "results");
    assert_int_equal((long)cJSON_GetObjectItem(cJSON_GetArrayItem(results, 0), "status")->valuedouble, 201);
    assert_int_equal((long)cJSON_GetObjectItem(cJSON_GetArrayItem(results, 1), "status")->valuedouble, 201);
    assert_int_equal((long)cJSON_GetObjectItem(cJSON_GetArrayItem(results, 2), "status")->valuedouble, 403);
    cJSON_Delete(r);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM case_events"), events_before + 2);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM case_events WHERE case_id = %ld", plans[3]),
                     1);
    /* invitations: due 2 weeks before the meeting (Reg 20(4)), on 8 September */
    assert_int_equal(
        ehc_test_scalar(admin,
                        "SELECT count(*) FROM deadlines WHERE deadline_key = 'invitations_due' AND "
                        "due_on = '2026-09-08' AND status = 'open' AND case_id IN (%ld, %ld)",
                        plans[0], plans[1]),
        2);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld, %ld, %ld], \"type\": \"invitations_sent\"}", plans[0],
             plans[1], plans[2]);
    assert_int_equal(call("POST", "/api/v1/bulk-events", EHC_TEST_TOKEN("officer1"), body, &r), 200);
    assert_int_equal((long)cJSON_GetObjectItem(r, "recorded")->valuedouble, 2);
    /* the third has no meeting arranged: the workflow refuses it, the others stand */
    const cJSON *third = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "results"), 2);
    assert_int_equal((long)cJSON_GetObjectItem(third, "status")->valuedouble, 422);
    assert_string_equal(field(cJSON_GetObjectItem(third, "error"), "code"), "not_allowed");
    cJSON_Delete(r);
    assert_int_equal(
        ehc_test_scalar(admin,
                        "SELECT count(*) FROM deadlines WHERE deadline_key = 'invitations_due' AND "
                        "status = 'met' AND case_id IN (%ld, %ld)",
                        plans[0], plans[1]),
        2);
    /* each write is in the access log, committed with it */
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE resource = 'bulk event'"),
                     4);
    /* bad requests change nothing */
    long before = ehc_test_scalar(admin, "SELECT count(*) FROM case_events");
    assert_int_equal(call("POST", "/api/v1/bulk-events", EHC_TEST_TOKEN("officer1"),
                          "{\"case_ids\": [], \"type\": \"x\"}", NULL),
                     422);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld, %ld], \"type\": \"invitations_sent\"}", plans[0],
             plans[0]);
    assert_int_equal(call("POST", "/api/v1/bulk-events", EHC_TEST_TOKEN("officer1"), body, NULL), 422);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld], \"type\": \"invitations_sent\", \"when\": 1}",
             plans[0]);
    assert_int_equal(call("POST", "/api/v1/bulk-events", EHC_TEST_TOKEN("officer1"), body, NULL), 422);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld], \"type\": \"no_such_event\"}", plans[0]);
    assert_int_equal(call("POST", "/api/v1/bulk-events", EHC_TEST_TOKEN("officer1"), body, &r), 200);
    assert_int_equal((long)cJSON_GetObjectItem(r, "recorded")->valuedouble, 0);
    cJSON_Delete(r);
    assert_int_equal(call("POST", "/api/v1/bulk-events", "X-None: 1", body, NULL), 401);
    assert_int_equal(call("POST", "/api/v1/bulk-events", EHC_TEST_TOKEN("admin"), body, NULL), 403);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM case_events"), before);
}

static void test_the_phase_transfer_cohort_shows_the_autumn_before(void **state)
{
    (void)state;
    char path[64], body[512];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", plans[2]);
    snprintf(body, sizeof body,
             "{\"type\": \"phase_transfer_identified\", \"effective_on\": \"2026-09-01\", "
             "\"expected_version\": %ld, "
             "\"fields\": {\"transfer\": \"school_phase\", \"transfer_on\": \"2027-09-01\"}}",
             ehc_test_scalar(admin, "SELECT version FROM cases WHERE id = %ld", plans[2]));
    assert_int_equal(call("POST", path, EHC_TEST_TOKEN("officer1"), body, NULL), 201);
    cJSON *list;
    assert_int_equal(
        call("GET", "/api/v1/reviews?transfer_by=2027-02-28", EHC_TEST_TOKEN("manager1"), NULL, &list), 200);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_int_equal((long)cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "case_id")->valuedouble,
                     plans[2]);
    /* a move in September 2027: the plan is reviewed and amended before 15 February 2027, so its
     * last day is Sunday 14 February (a "before" limit, not moved for a weekend) */
    assert_string_equal(field(cJSON_GetArrayItem(list, 0), "transfer_due_on"), "2027-02-14");
    cJSON_Delete(list);
}

static void test_daemon_stops_cleanly_after_all_of_the_above(void **state)
{
    (void)state;
    ehc_test_daemon_stop_clean(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_teams_reviews_are_listed_soonest_first_by_setting),
        cmocka_unit_test(test_a_terms_meetings_and_invitations_are_recorded_for_many_plans_at_once),
        cmocka_unit_test(test_the_phase_transfer_cohort_shows_the_autumn_before),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
