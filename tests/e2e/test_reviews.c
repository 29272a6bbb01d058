/* Annual reviews over the API: a team's plans under review listed soonest first with their review
 * dates (CFA 2014 s44(1): within 12 months starting with the day the plan was made), by setting, and
 * the phase-transfer cohort (Reg 18(1): before 15 February of the transfer year); a term's review
 * meetings arranged and invitations sent for many plans at once, each case checked by its workflow,
 * a case of another team refused within the same request, and every write in the access log. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ehc/migrate.h"
#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;
static long plans[4]; /* North: due 30 Sep 2026, 14 Nov 2026, 19 Jan 2027; South: 30 Nov 2026 */

#define TOKEN(name) "Authorization: Bearer tok-" name "-0123456789abcdefghij"

static void exec_ok(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    PQclear(r);
}

static void add_user(const char *name, const char *team)
{
    char sql[1024], token[128], sha[65];
    snprintf(sql, sizeof sql, "INSERT INTO users (username, display_name, is_admin) VALUES ('%s', '%s', %s)",
             name, name, team ? "false" : "true");
    exec_ok(sql);
    snprintf(token, sizeof token, "tok-%s-0123456789abcdefghij", name);
    ehc_sha256_hex(token, strlen(token), sha);
    snprintf(sql, sizeof sql,
             "INSERT INTO api_tokens (user_id, name, token_sha256) SELECT id, 'test', '%s' FROM users WHERE "
             "username = '%s'",
             sha, name);
    exec_ok(sql);
    if (!team) return;
    snprintf(
        sql, sizeof sql,
        "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '%s', t.authority_id, "
        "t.id FROM users u, teams t WHERE u.username = '%s' AND t.name = '%s'",
        strncmp(name, "manager", 7) == 0 ? "manager" : "officer", name, team);
    exec_ok(sql);
}

static long call(const char *method, const char *path, const char *token, const char *body, cJSON **out)
{
    const char *h[] = {token, "Content-Type: application/json", NULL};
    ehc_test_response r;
    ehc_test_http(&r, method, d.port, path, body, h);
    long status = r.status;
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
    db_url = ehc_test_create_database("ehc_reviews");
    admin = PQconnectdb(db_url);
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(admin, &applied, err, sizeof err), 0);
    exec_ok("INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    exec_ok("INSERT INTO teams (authority_id, name) SELECT id, t FROM local_authorities, (VALUES ('North'), "
            "('South')) v (t)");
    add_user("officer1", "North");
    add_user("manager1", "North");
    add_user("officer2", "South");
    add_user("admin", NULL);
    static char env_db[2048];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[] = {env_db, NULL};
    const char *args[] = {"serve", "--sim-clock=2026-09-01T12:00:00Z", NULL};
    ehc_test_daemon_start(&d, args, env);
    plans[0] = open_plan(TOKEN("officer1"), "North", "Ames", "100001", "2025-10-01");
    plans[1] = open_plan(TOKEN("officer1"), "North", "Baker", "100001", "2025-11-15");
    plans[2] = open_plan(TOKEN("officer1"), "North", "Carter", "100002", "2026-01-20");
    plans[3] = open_plan(TOKEN("officer2"), "South", "Dunn", "100001", "2025-12-01");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (d.pid > 0) ehc_test_daemon_stop(&d, SIGKILL);
    PQfinish(admin);
    free(db_url);
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
    assert_int_equal(call("GET", "/api/v1/reviews", TOKEN("manager1"), NULL, &list), 200);
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
    assert_int_equal(call("GET", "/api/v1/reviews?due_by=2026-12-31", TOKEN("officer1"), NULL, &list), 200);
    assert_int_equal(cJSON_GetArraySize(list), 2);
    cJSON_Delete(list);
    /* one setting's */
    assert_int_equal(call("GET", "/api/v1/reviews?setting=100002", TOKEN("officer1"), NULL, &list), 200);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_string_equal(field(cJSON_GetArrayItem(list, 0), "setting_urn"), "100002");
    cJSON_Delete(list);
    /* South's officer sees South's only */
    assert_int_equal(call("GET", "/api/v1/reviews", TOKEN("officer2"), NULL, &list), 200);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_string_equal(field(cJSON_GetArrayItem(list, 0), "review_due_on"), "2026-11-30");
    cJSON_Delete(list);
    /* listing children is a read of their cases */
    assert_true(ehc_test_scalar(
                    admin, "SELECT count(DISTINCT case_id) FROM access_log WHERE resource = 'review list'") ==
                4);
    assert_int_equal(call("GET", "/api/v1/reviews?setting=abc", TOKEN("officer1"), NULL, NULL), 400);
    assert_int_equal(call("GET", "/api/v1/reviews?due_by=2026-02-30", TOKEN("officer1"), NULL, NULL), 400);
    assert_int_equal(call("GET", "/api/v1/reviews?colour=red", TOKEN("officer1"), NULL, NULL), 400);
    assert_int_equal(call("GET", "/api/v1/reviews", TOKEN("admin"), NULL, NULL), 403);
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
    assert_int_equal(call("POST", "/api/v1/bulk-events", TOKEN("officer1"), body, &r), 200);
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
    assert_int_equal(call("POST", "/api/v1/bulk-events", TOKEN("officer1"), body, &r), 200);
    assert_int_equal((long)cJSON_GetObjectItem(r, "recorded")->valuedouble, 2);
    /* the third has no meeting arranged: the workflow refuses it, the others stand */
    const cJSON *third = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "results"), 2);
    assert_true((long)cJSON_GetObjectItem(third, "status")->valuedouble >= 400);
    assert_non_null(cJSON_GetObjectItem(third, "error"));
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
    assert_int_equal(
        call("POST", "/api/v1/bulk-events", TOKEN("officer1"), "{\"case_ids\": [], \"type\": \"x\"}", NULL),
        422);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld, %ld], \"type\": \"invitations_sent\"}", plans[0],
             plans[0]);
    assert_int_equal(call("POST", "/api/v1/bulk-events", TOKEN("officer1"), body, NULL), 422);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld], \"type\": \"invitations_sent\", \"when\": 1}",
             plans[0]);
    assert_int_equal(call("POST", "/api/v1/bulk-events", TOKEN("officer1"), body, NULL), 422);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld], \"type\": \"no_such_event\"}", plans[0]);
    assert_int_equal(call("POST", "/api/v1/bulk-events", TOKEN("officer1"), body, &r), 200);
    assert_int_equal((long)cJSON_GetObjectItem(r, "recorded")->valuedouble, 0);
    cJSON_Delete(r);
    assert_int_equal(call("POST", "/api/v1/bulk-events", "X-None: 1", body, NULL), 401);
    assert_int_equal(call("POST", "/api/v1/bulk-events", TOKEN("admin"), body, NULL), 403);
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
    assert_int_equal(call("POST", path, TOKEN("officer1"), body, NULL), 201);
    cJSON *list;
    assert_int_equal(call("GET", "/api/v1/reviews?transfer_by=2027-02-28", TOKEN("manager1"), NULL, &list),
                     200);
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
    int st = ehc_test_daemon_stop(&d, SIGTERM);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "ehcd did not stop cleanly (status %d); log: %s\n", st, d.log_path);
        fail();
    }
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
