/* A designated clinical officer's day and a team manager's day, over the API against ehcd on a
 * simulated clock and a real PostgreSQL. The DCO sees only the health advice requests addressed
 * (or forwarded) to its service, forwards one, logs a return and a nil return (social care its own);
 * the adviser's 6-week clock (Reg 8) shows met. The manager allocates cases one or many at once,
 * reallocates between officers and to the unallocated queue, records an exception the law allows;
 * every forbidden path is refused with nothing changed. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;

#define GRANT_TEAM(role, authority, team)                                                                    \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, t.id FROM users u, teams t JOIN local_authorities a ON a.id = t.authority_id "       \
    "WHERE u.username = '%s' AND a.dfe_code = '" authority "' AND t.name = '" team "'"
#define GRANT_SERVICE(role, authority, org)                                                                  \
    "INSERT INTO role_grants (user_id, role, authority_id, organisation_id) SELECT u.id, '" role             \
    "', a.id, o.id FROM users u, local_authorities a, organisations o WHERE u.username = '%s' AND "          \
    "a.dfe_code = '" authority "' AND o.name = '" org "'"

static int setup(void **state)
{
    (void)state;
    admin = ehc_test_migrated_database("ehc_advice", &db_url);
    ehc_test_exec(
        admin,
        "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham'), ('357', 'Tameside')");
    ehc_test_exec(admin,
                  "INSERT INTO teams (authority_id, name) SELECT a.id, t.name FROM local_authorities a, "
                  "(VALUES ('North'), ('South')) AS t (name) WHERE a.dfe_code = '353'");
    ehc_test_exec(
        admin,
        "INSERT INTO teams (authority_id, name) SELECT id, 'East' FROM local_authorities WHERE dfe_code "
        "= '357'");
    ehc_test_exec(
        admin,
        "INSERT INTO organisations (name, kind, ods_code) VALUES ('Community Paediatrics', 'health', 'RT2'), "
        "('CAMHS', 'health', 'RT2C'), ('Oldham Childrens Social Care', 'social_care', NULL), "
        "('Tameside Therapies', 'health', 'RMP')");
    ehc_test_exec(
        admin,
        "INSERT INTO organisation_authorities SELECT o.id, a.id FROM organisations o, local_authorities a "
        "WHERE (o.name = 'Community Paediatrics') OR (o.name IN ('CAMHS', 'Oldham Childrens Social Care') "
        "AND a.dfe_code = '353') OR (o.name = 'Tameside Therapies' AND a.dfe_code = '357')");
    ehc_test_add_user(admin, "officer1", false, GRANT_TEAM("officer", "353", "North"));
    ehc_test_add_user(admin, "officer3", false, GRANT_TEAM("officer", "353", "North"));
    ehc_test_add_user(admin, "manager1", false, GRANT_TEAM("manager", "353", "North"));
    ehc_test_add_user(admin, "officer2", false, GRANT_TEAM("officer", "353", "South"));
    ehc_test_add_user(
        admin, "svcmgr", false,
        "INSERT INTO role_grants (user_id, role, authority_id) SELECT u.id, 'service_manager', a.id "
        "FROM users u, local_authorities a WHERE u.username = '%s' AND a.dfe_code = '353'");
    ehc_test_add_user(admin, "officerb", false, GRANT_TEAM("officer", "357", "East"));
    ehc_test_add_user(admin, "managerb", false, GRANT_TEAM("manager", "357", "East"));
    ehc_test_add_user(admin, "dco1", false, GRANT_SERVICE("dco", "353", "Community Paediatrics"));
    ehc_test_add_user(admin, "dcocamhs", false, GRANT_SERVICE("dco", "353", "CAMHS"));
    ehc_test_add_user(admin, "dcob", false, GRANT_SERVICE("dco", "357", "Community Paediatrics"));
    ehc_test_add_user(admin, "social1", false,
                      GRANT_SERVICE("social_care", "353", "Oldham Childrens Social Care"));
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

#define scalar(...) ehc_test_scalar(admin, __VA_ARGS__)

/* ---- helpers ------------------------------------------------------------------------------------------ */

/* Calls the API; returns the status and (when out is given) the parsed body, which the caller frees. */
static long call(const char *method, const char *path, const char *token, const char *body, cJSON **out)
{
    ehc_test_response r;
    long status = ehc_test_call(d.port, method, path, token, body, &r);
    if (out) {
        *out = cJSON_Parse(r.body);
        if (!*out) {
            fprintf(stderr, "%s %s -> %ld, not JSON: %s\n", method, path, status, r.body);
            fail();
        }
    }
    ehc_test_response_free(&r);
    return status;
}

static void expect(long want, const char *method, const char *path, const char *token, const char *body,
                   cJSON **out)
{
    cJSON *got = NULL;
    long status = call(method, path, token, body, &got);
    if (status != want) {
        char *text = cJSON_PrintUnformatted(got);
        fprintf(stderr, "%s %s as %s -> %ld (expected %ld): %s\n", method, path, token, status, want, text);
        free(text);
        fail();
    }
    if (out)
        *out = got;
    else
        cJSON_Delete(got);
}

static void set_clock(const char *iso)
{
    char body[96];
    snprintf(body, sizeof body, "{\"now\": \"%sT12:00:00Z\"}", iso);
    expect(200, "POST", "/admin/clock", EHC_TEST_TOKEN("admin"), body, NULL);
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v)) fail_msg("no number '%s'", key);
    return v->valuedouble;
}

static const char *str(const cJSON *obj, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
    return s ? s : "(null)";
}

static long team_id(const char *name)
{
    return scalar("SELECT id FROM teams WHERE name = '%s'", name);
}

static long user_id(const char *name)
{
    return scalar("SELECT id FROM users WHERE username = '%s'", name);
}

static long org_id(const char *name)
{
    return scalar("SELECT id FROM organisations WHERE name = '%s'", name);
}

/* Opens a case in the team for a new child on the clock's date; returns its id. */
static long open_case(const char *token, const char *team, const char *surname, const char *on)
{
    char body[1024];
    snprintf(
        body, sizeof body,
        "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": {\"forename\": \"Alex\", \"surname\": "
        "\"%s\", \"date_of_birth\": \"2018-06-01\"}, \"request\": {\"effective_on\": \"%s\", \"fields\": "
        "{\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": \"%sT10:00\"}}}",
        team_id(team), surname, on, on);
    cJSON *r;
    expect(201, "POST", "/api/v1/cases", token, body, &r);
    long id = (long)num(r, "id");
    cJSON_Delete(r);
    return id;
}

static long version_of(long case_id)
{
    return scalar("SELECT version FROM cases WHERE id = %ld", case_id);
}

static void record(long case_id, const char *token, const char *type, const char *on, const char *fields)
{
    char path[64], body[1024];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", case_id);
    snprintf(body, sizeof body, "{\"type\": \"%s\", \"effective_on\": \"%s\", \"expected_version\": %ld%s%s}",
             type, on, version_of(case_id), fields ? ", \"fields\": " : "", fields ? fields : "");
    expect(201, "POST", path, token, body, NULL);
}

/* The entry of a JSON array whose `key` member has `value`, or NULL. */
static const cJSON *find(const cJSON *array, const char *key, const char *value)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, array)
    {
        if (strcmp(str(it, key), value) == 0) return it;
    }
    return NULL;
}

static const char *changes_sql =
    "SELECT (SELECT count(*) FROM case_events) * 1000 + (SELECT count(*) FROM "
    "advice_requests WHERE returned_on IS NOT NULL OR forwarded_to_id IS NOT NULL)";

/* ---- a DCO's day -------------------------------------------------------------------------------------- */

static long the_case, health_id, social_id, ep_id;

static void test_officer_requests_advice_and_each_adviser_sees_only_their_own(void **state)
{
    (void)state;
    set_clock("2026-01-05");
    the_case = open_case(EHC_TEST_TOKEN("officer1"), "North", "Example", "2026-01-05");
    set_clock("2026-02-10");
    record(the_case, EHC_TEST_TOKEN("manager1"), "decision_to_assess", "2026-02-10",
           "{\"decision\": \"yes\"}");
    set_clock("2026-02-11");
    char fields[256];
    snprintf(fields, sizeof fields,
             "{\"request_key\": \"health\", \"adviser\": \"medical\", \"received_on\": \"2026-02-11\", "
             "\"organisation_id\": %ld}",
             org_id("Community Paediatrics"));
    record(the_case, EHC_TEST_TOKEN("officer1"), "advice_requested", "2026-02-11", fields);
    snprintf(fields, sizeof fields,
             "{\"request_key\": \"social\", \"adviser\": \"social_care\", \"received_on\": \"2026-02-12\", "
             "\"organisation_id\": %ld}",
             org_id("Oldham Childrens Social Care"));
    record(the_case, EHC_TEST_TOKEN("officer1"), "advice_requested", "2026-02-11", fields);
    record(the_case, EHC_TEST_TOKEN("officer1"), "advice_requested", "2026-02-11",
           "{\"request_key\": \"ep\", \"adviser\": \"educational_psychologist\", \"received_on\": "
           "\"2026-02-11\"}");
    /* a request to a service that does not serve this authority is refused, and changes nothing */
    long before = scalar("%s", changes_sql);
    char path[64], body[512];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", the_case);
    snprintf(
        body, sizeof body,
        "{\"type\": \"advice_requested\", \"effective_on\": \"2026-02-11\", \"expected_version\": %ld, "
        "\"fields\": {\"request_key\": \"ot\", \"adviser\": \"medical\", \"received_on\": \"2026-02-11\", "
        "\"organisation_id\": %ld}}",
        version_of(the_case), org_id("Tameside Therapies"));
    expect(422, "POST", path, EHC_TEST_TOKEN("officer1"), body, NULL);
    assert_int_equal(scalar("%s", changes_sql), before);

    /* the DCO of Community Paediatrics sees the health request only, with the child to identify */
    cJSON *list;
    expect(200, "GET", "/api/v1/advice-requests", EHC_TEST_TOKEN("dco1"), NULL, &list);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    const cJSON *h = cJSON_GetArrayItem(list, 0);
    assert_string_equal(str(h, "request_key"), "health");
    assert_string_equal(str(h, "adviser"), "medical");
    /* received Wednesday 11 February 2026: 6 weeks (Reg 8(1)) end Wednesday 25 March */
    assert_string_equal(str(h, "due_on"), "2026-03-25");
    assert_string_equal(str(h, "organisation_name"), "Community Paediatrics");
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(h, "child"), "surname"), "Example");
    health_id = (long)num(h, "id");
    cJSON_Delete(list);
    /* the listing is in the access log as a read of the case by the DCO */
    assert_true(scalar("SELECT count(*) FROM access_log WHERE case_id = %ld AND action = 'read' AND "
                       "resource = 'advice request' AND user_id = %ld",
                       the_case, user_id("dco1")) >= 1);

    expect(200, "GET", "/api/v1/advice-requests", EHC_TEST_TOKEN("social1"), NULL, &list);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_string_equal(str(cJSON_GetArrayItem(list, 0), "request_key"), "social");
    assert_string_equal(str(cJSON_GetArrayItem(list, 0), "due_on"), "2026-03-26");
    social_id = (long)num(cJSON_GetArrayItem(list, 0), "id");
    cJSON_Delete(list);

    /* the officer sees all three of their team's case; the EP's has no service */
    expect(200, "GET", "/api/v1/advice-requests", EHC_TEST_TOKEN("officer1"), NULL, &list);
    assert_int_equal(cJSON_GetArraySize(list), 3);
    ep_id = (long)num(find(list, "request_key", "ep"), "id");
    cJSON_Delete(list);

    /* nobody else sees a thing: another service, the same service in another authority, another
     * team, another authority */
    const char *none[] = {EHC_TEST_TOKEN("dcocamhs"), EHC_TEST_TOKEN("dcob"), EHC_TEST_TOKEN("officer2"),
                          EHC_TEST_TOKEN("officerb")};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        expect(200, "GET", "/api/v1/advice-requests", none[i], NULL, &list);
        if (cJSON_GetArraySize(list) != 0) fail_msg("%s sees %d requests", none[i], cJSON_GetArraySize(list));
        cJSON_Delete(list);
    }
    expect(401, "GET", "/api/v1/advice-requests", "X-None: 1", NULL, NULL);
}

static void test_dco_forwards_a_request_and_logs_its_return_meeting_the_advisers_clock(void **state)
{
    (void)state;
    set_clock("2026-02-13");
    char path[96], body[256];
    snprintf(path, sizeof path, "/api/v1/advice-requests/%ld/forward", health_id);
    long before = scalar("%s", changes_sql);
    /* only to a health service serving this authority */
    snprintf(body, sizeof body, "{\"organisation_id\": %ld, \"effective_on\": \"2026-02-13\"}",
             org_id("Tameside Therapies"));
    cJSON *err;
    expect(422, "POST", path, EHC_TEST_TOKEN("dco1"), body, &err);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(err, "error"), "field"), "organisation_id");
    cJSON_Delete(err);
    snprintf(body, sizeof body, "{\"organisation_id\": %ld, \"effective_on\": \"2026-02-13\"}",
             org_id("Oldham Childrens Social Care"));
    expect(422, "POST", path, EHC_TEST_TOKEN("dco1"), body, NULL);
    expect(422, "POST", path, EHC_TEST_TOKEN("dco1"), "{\"effective_on\": \"2026-02-13\"}", NULL);
    expect(422, "POST", path, EHC_TEST_TOKEN("dco1"),
           "{\"organisation_id\": 1, \"effective_on\": \"2026-02-30\"}", NULL);
    snprintf(body, sizeof body, "{\"organisation_id\": %ld, \"effective_on\": \"2026-02-13\", \"colour\": 1}",
             org_id("CAMHS"));
    expect(422, "POST", path, EHC_TEST_TOKEN("dco1"), body, NULL);
    /* officers do not forward (the workflow gives it to the DCO), other services cannot see it */
    snprintf(body, sizeof body, "{\"organisation_id\": %ld, \"effective_on\": \"2026-02-13\"}",
             org_id("CAMHS"));
    expect(403, "POST", path, EHC_TEST_TOKEN("officer1"), body, NULL);
    expect(403, "POST", path, EHC_TEST_TOKEN("dcocamhs"), body, NULL);
    expect(403, "POST", path, EHC_TEST_TOKEN("social1"), body, NULL);
    expect(404, "POST", path, EHC_TEST_TOKEN("dcob"), body, NULL);
    expect(404, "POST", path, EHC_TEST_TOKEN("officerb"), body, NULL);
    assert_int_equal(scalar("%s", changes_sql), before);

    cJSON *ok;
    expect(201, "POST", path, EHC_TEST_TOKEN("dco1"), body, &ok);
    assert_int_equal((long)num(ok, "case_id"), the_case);
    assert_string_equal(str(ok, "event"), "advice_forwarded_by_dco");
    cJSON_Delete(ok);
    assert_int_equal(scalar("SELECT forwarded_to_id FROM advice_requests WHERE id = %ld", health_id),
                     org_id("CAMHS"));

    /* CAMHS's DCO now sees it; the adviser's clock did not restart */
    cJSON *list;
    expect(200, "GET", "/api/v1/advice-requests", EHC_TEST_TOKEN("dcocamhs"), NULL, &list);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_string_equal(str(cJSON_GetArrayItem(list, 0), "forwarded_to_name"), "CAMHS");
    assert_string_equal(str(cJSON_GetArrayItem(list, 0), "due_on"), "2026-03-25");
    cJSON_Delete(list);

    /* the advice comes back on the last day of the six weeks */
    set_clock("2026-03-25");
    snprintf(path, sizeof path, "/api/v1/advice-requests/%ld/return", health_id);
    expect(422, "POST", path, EHC_TEST_TOKEN("dcocamhs"), "{\"effective_on\": \"2026-03-26\"}",
           NULL); /* the future */
    expect(201, "POST", path, EHC_TEST_TOKEN("dcocamhs"), "{\"effective_on\": \"2026-03-25\"}", NULL);
    /* and only once */
    expect(409, "POST", path, EHC_TEST_TOKEN("dco1"), "{\"effective_on\": \"2026-03-25\"}", NULL);

    char case_path[64];
    snprintf(case_path, sizeof case_path, "/api/v1/cases/%ld", the_case);
    cJSON *kase;
    expect(200, "GET", case_path, EHC_TEST_TOKEN("officer1"), NULL, &kase);
    const cJSON *dl, *health_clock = NULL;
    cJSON_ArrayForEach(dl, cJSON_GetObjectItemCaseSensitive(kase, "deadlines"))
    {
        if (strcmp(str(dl, "deadline"), "advice_due") == 0 && strcmp(str(dl, "key"), "health") == 0)
            health_clock = dl;
    }
    assert_non_null(health_clock);
    assert_string_equal(str(health_clock, "status"), "met");
    assert_string_equal(str(health_clock, "due_on"), "2026-03-25");
    const cJSON *adv =
        find(cJSON_GetObjectItemCaseSensitive(kase, "advice_requests"), "request_key", "health");
    assert_non_null(adv);
    assert_string_equal(str(adv, "outcome"), "returned");
    assert_string_equal(str(adv, "returned_on"), "2026-03-25");
    cJSON_Delete(kase);

    /* returned requests leave the DCO's open list and show under status=returned */
    cJSON *list2;
    expect(200, "GET", "/api/v1/advice-requests", EHC_TEST_TOKEN("dcocamhs"), NULL, &list2);
    assert_int_equal(cJSON_GetArraySize(list2), 0);
    cJSON_Delete(list2);
    expect(200, "GET", "/api/v1/advice-requests?status=returned", EHC_TEST_TOKEN("dco1"), NULL, &list2);
    assert_int_equal(cJSON_GetArraySize(list2), 1);
    cJSON_Delete(list2);
    expect(400, "GET", "/api/v1/advice-requests?status=lost", EHC_TEST_TOKEN("dco1"), NULL, NULL);
    expect(400, "GET", "/api/v1/advice-requests?colour=red", EHC_TEST_TOKEN("dco1"), NULL, NULL);
}

static void test_social_care_logs_a_nil_return_late_and_the_clock_shows_it(void **state)
{
    (void)state;
    set_clock("2026-03-27");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/advice-requests/%ld/nil-return", social_id);
    long before = scalar("%s", changes_sql);
    expect(422, "POST", path, EHC_TEST_TOKEN("social1"),
           "{\"effective_on\": \"2026-03-27\", \"reason\": \"busy\"}", NULL);
    expect(422, "POST", path, EHC_TEST_TOKEN("social1"), "{\"effective_on\": \"2026-03-27\"}", NULL);
    expect(403, "POST", path, EHC_TEST_TOKEN("dco1"),
           "{\"effective_on\": \"2026-03-27\", \"reason\": \"other\"}", NULL);
    char fwd[96];
    snprintf(fwd, sizeof fwd, "/api/v1/advice-requests/%ld/forward", social_id);
    expect(403, "POST", fwd, EHC_TEST_TOKEN("social1"),
           "{\"organisation_id\": 1, \"effective_on\": \"2026-03-27\"}", NULL);
    assert_int_equal(scalar("%s", changes_sql), before);
    expect(201, "POST", path, EHC_TEST_TOKEN("social1"),
           "{\"effective_on\": \"2026-03-27\", \"reason\": \"no_current_involvement\", \"detail\": \"closed "
           "to social care in 2025\"}",
           NULL);
    /* received 12 February: due 26 March; a nil return on the 27th is late */
    assert_int_equal(
        scalar("SELECT count(*) FROM deadlines WHERE case_id = %ld AND deadline_key = 'advice_due' "
               "AND instance_key = 'social' AND status = 'met_late'",
               the_case),
        1);
    assert_int_equal(
        scalar("SELECT count(*) FROM advice_requests WHERE id = %ld AND outcome = 'nil_return' AND "
               "nil_reason LIKE 'no_current_involvement%%'",
               social_id),
        1);
    /* the officer logs the EP's return through the same route */
    snprintf(path, sizeof path, "/api/v1/advice-requests/%ld/return", ep_id);
    expect(201, "POST", path, EHC_TEST_TOKEN("officer1"), "{\"effective_on\": \"2026-03-27\"}", NULL);
    expect(404, "POST", "/api/v1/advice-requests/999999/return", EHC_TEST_TOKEN("officer1"),
           "{\"effective_on\": \"2026-03-27\"}", NULL);
    expect(404, "POST", "/api/v1/advice-requests/1/shred", EHC_TEST_TOKEN("officer1"), "{}", NULL);
}

/* ---- a manager's day ---------------------------------------------------------------------------------- */

static void test_manager_allocates_and_reallocates_cases_one_or_many_at_once(void **state)
{
    (void)state;
    set_clock("2026-04-01");
    long c[3];
    for (int i = 0; i < 3; i++)
        c[i] = open_case(EHC_TEST_TOKEN("officer1"), "North", "Queue", "2026-04-01");
    long north = team_id("North"), south = team_id("South");
    long o1 = user_id("officer1"), o3 = user_id("officer3"), o2 = user_id("officer2");
    assert_int_equal(
        scalar("SELECT count(*) FROM cases WHERE team_id = %ld AND officer_id IS NULL AND id >= %ld", north,
               c[0]),
        3);

    char body[512];
    snprintf(body, sizeof body, "{\"case_ids\": [%ld, %ld, %ld], \"team_id\": %ld, \"officer_id\": %ld}",
             c[0], c[1], c[2], north, o3);
    cJSON *r;
    expect(200, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"), body, &r);
    assert_int_equal((long)num(r, "allocated"), 3);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, "results"))
        assert_int_equal((long)num(it, "status"), 201);
    cJSON_Delete(r);
    assert_int_equal(scalar("SELECT count(*) FROM cases WHERE officer_id = %ld", o3), 3);
    /* each write is in the access log, committed with it: opening the case, then allocating it */
    assert_int_equal(
        scalar("SELECT count(*) FROM access_log WHERE case_id = %ld AND action = 'write' AND resource "
               "= 'case opened' AND user_id = %ld",
               c[0], o1),
        1);
    assert_int_equal(
        scalar("SELECT count(*) FROM access_log WHERE case_id = %ld AND action = 'write' AND resource "
               "= 'allocation' AND user_id = %ld",
               c[0], user_id("manager1")),
        1);
    assert_int_equal(
        scalar("SELECT count(*) FROM case_events WHERE type = 'case_allocated' AND case_id IN (%ld, "
               "%ld, %ld) AND actor_role = 'manager'",
               c[0], c[1], c[2]),
        3);
    /* the caseload shows it */
    cJSON *load;
    expect(200, "GET", "/api/v1/caseload", EHC_TEST_TOKEN("manager1"), NULL, &load);
    const cJSON *row, *mine = NULL;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(load, "officers"))
    {
        if (strcmp(str(row, "username"), "officer3") == 0) mine = row;
    }
    assert_non_null(mine);
    assert_int_equal((long)num(mine, "open_cases"), 3);
    cJSON_Delete(load);

    /* the same again changes nothing and records nothing */
    expect(200, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"), body, &r);
    assert_int_equal((long)num(r, "allocated"), 0);
    cJSON_Delete(r);
    assert_int_equal(scalar("SELECT count(*) FROM case_events WHERE type = 'case_allocated'"), 3);

    /* one back to officer1 with a reason, one to the unallocated queue */
    snprintf(
        body, sizeof body,
        "{\"case_ids\": [%ld], \"team_id\": %ld, \"officer_id\": %ld, \"reason\": \"officer3 on leave\"}",
        c[0], north, o1);
    expect(200, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"), body, NULL);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld], \"team_id\": %ld, \"officer_id\": null}", c[1], north);
    expect(200, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"), body, NULL);
    assert_int_equal(scalar("SELECT officer_id FROM cases WHERE id = %ld", c[0]), o1);
    assert_int_equal(scalar("SELECT count(*) FROM cases WHERE id = %ld AND officer_id IS NULL", c[1]), 1);

    /* forbidden or wrong, each changing nothing */
    long before =
        scalar("SELECT (SELECT count(*) FROM case_events) * 1000 + (SELECT count(*) FROM cases WHERE "
               "team_id = %ld)",
               north);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld], \"team_id\": %ld, \"officer_id\": %ld}", c[2], south,
             o2);
    expect(403, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"), body, NULL); /* not their team */
    expect(403, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("officer1"), body,
           NULL); /* officers do not allocate */
    expect(403, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("dco1"), body, NULL);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld], \"team_id\": %ld, \"officer_id\": %ld}", c[2], north,
             o2);
    cJSON *err;
    expect(422, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"), body, &err); /* not in North */
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(err, "error"), "field"), "officer_id");
    cJSON_Delete(err);
    snprintf(body, sizeof body, "{\"case_ids\": [%ld], \"team_id\": %ld}", c[2], team_id("East"));
    expect(404, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"), body,
           NULL); /* another authority's team */
    expect(422, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"),
           "{\"case_ids\": [], \"team_id\": 1}", NULL);
    expect(422, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"),
           "{\"case_ids\": [1, 1], \"team_id\": 1}", NULL);
    expect(422, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"),
           "{\"case_ids\": [\"1\"], \"team_id\": 1}", NULL);
    expect(422, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"), "{\"case_ids\": [1], \"team\": 1}",
           NULL);
    expect(400, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"), "{\"case_ids\": [1", NULL);
    expect(401, "POST", "/api/v1/allocations", "X-None: 1", "{}", NULL);
    assert_int_equal(
        scalar("SELECT (SELECT count(*) FROM case_events) * 1000 + (SELECT count(*) FROM cases WHERE "
               "team_id = %ld)",
               north),
        before);

    /* a batch naming another authority's case: that one is not found, the rest move */
    set_clock("2026-04-02");
    long theirs = open_case(EHC_TEST_TOKEN("officerb"), "East", "Elsewhere", "2026-04-02");
    snprintf(body, sizeof body, "{\"case_ids\": [%ld, %ld], \"team_id\": %ld, \"officer_id\": %ld}", theirs,
             c[2], north, o1);
    expect(200, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("manager1"), body, &r);
    assert_int_equal((long)num(r, "allocated"), 1);
    assert_int_equal(
        (long)num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "results"), 0), "status"), 404);
    char *text = cJSON_PrintUnformatted(r);
    assert_null(strstr(text, "Elsewhere")); /* nothing of the other authority's child */
    free(text);
    cJSON_Delete(r);
    assert_int_equal(scalar("SELECT count(*) FROM case_events WHERE case_id = %ld", theirs), 1);

    /* a service manager moves a case to another team: its officers see it, the old team's do not */
    snprintf(body, sizeof body, "{\"case_ids\": [%ld], \"team_id\": %ld, \"officer_id\": %ld}", c[2], south,
             o2);
    expect(200, "POST", "/api/v1/allocations", EHC_TEST_TOKEN("svcmgr"), body, &r);
    assert_int_equal((long)num(r, "allocated"), 1);
    cJSON_Delete(r);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld", c[2]);
    expect(200, "GET", path, EHC_TEST_TOKEN("officer2"), NULL, NULL);
    expect(403, "GET", path, EHC_TEST_TOKEN("officer1"), NULL, NULL);
    assert_int_equal(
        scalar("SELECT count(*) FROM case_events WHERE case_id = %ld AND type = 'case_allocated' AND "
               "actor_role = 'service_manager'",
               c[2]),
        1);
}

static void test_manager_records_an_exception_the_law_allows_and_only_that(void **state)
{
    (void)state;
    char path[64], body[512];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/exceptions", the_case);
    long before = scalar("SELECT count(*) FROM case_events WHERE case_id = %ld", the_case);
    /* an exception the law does not allow on that clock */
    snprintf(
        body, sizeof body,
        "{\"deadline\": \"final_plan_due\", \"exception\": \"reg_5_4_a\", \"applies_from\": \"2026-03-01\", "
        "\"evidence\": \"x\", \"family_told_on\": \"2026-03-02\", \"expected_version\": %ld}",
        version_of(the_case));
    expect(422, "POST", path, EHC_TEST_TOKEN("manager1"), body, NULL);
    /* officers may not record one */
    snprintf(
        body, sizeof body,
        "{\"deadline\": \"final_plan_due\", \"exception\": \"reg_13_3_c\", \"applies_from\": \"2026-03-01\", "
        "\"applies_to\": \"2026-03-31\", \"evidence\": \"family abroad for five weeks (letter on file)\", "
        "\"family_told_on\": \"2026-03-02\", \"expected_version\": %ld}",
        version_of(the_case));
    expect(403, "POST", path, EHC_TEST_TOKEN("officer1"), body, NULL);
    expect(404, "POST", path, EHC_TEST_TOKEN("managerb"), body, NULL);
    expect(422, "POST", path, EHC_TEST_TOKEN("manager1"), "{\"deadline\": \"final_plan_due\", \"why\": 1}",
           NULL);
    assert_int_equal(scalar("SELECT count(*) FROM case_events WHERE case_id = %ld", the_case), before);

    expect(201, "POST", path, EHC_TEST_TOKEN("manager1"), body, NULL);
    cJSON *kase;
    char case_path[64];
    snprintf(case_path, sizeof case_path, "/api/v1/cases/%ld", the_case);
    expect(200, "GET", case_path, EHC_TEST_TOKEN("manager1"), NULL, &kase);
    const cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(kase, "exceptions"), 0);
    assert_non_null(x);
    assert_string_equal(str(x, "deadline"), "final_plan_due");
    assert_string_equal(str(x, "exception"), "reg_13_3_c");
    assert_non_null(strstr(str(x, "basis"), "13(3)"));
    assert_string_equal(str(x, "from_on"), "2026-03-01");
    assert_string_equal(str(x, "to_on"), "2026-03-31");
    assert_string_equal(str(x, "family_told_on"), "2026-03-02");
    /* the statutory date does not move: 20 weeks from 5 January is 25 May 2026 */
    const cJSON *dl = find(cJSON_GetObjectItemCaseSensitive(kase, "deadlines"), "deadline", "final_plan_due");
    assert_string_equal(str(dl, "due_on"), "2026-05-25");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dl, "exception_applies")));
    cJSON_Delete(kase);
    /* and the case shows in the list of cases where an exception applies */
    cJSON *list;
    expect(200, "GET", "/api/v1/cases?exception=true", EHC_TEST_TOKEN("manager1"), NULL, &list);
    char id[24];
    snprintf(id, sizeof id, "%ld", the_case);
    bool listed = false;
    const cJSON *c;
    cJSON_ArrayForEach(c, list) listed |= (long)num(c, "id") == the_case;
    assert_true(listed);
    cJSON_Delete(list);
}

static void test_manager_merges_two_records_of_one_child_as_an_audited_act(void **state)
{
    (void)state;
    /* the manager's day opened three cases for "Alex Queue", born 1 June 2018: one child */
    long a = scalar("SELECT min(id) FROM children WHERE surname = 'Queue'");
    long b = scalar("SELECT max(id) FROM children WHERE surname = 'Queue'");
    long b_case = scalar("SELECT id FROM cases WHERE child_id = %ld", b);
    cJSON *found;
    expect(200, "GET", "/api/v1/children?surname=Queue", EHC_TEST_TOKEN("officer1"), NULL, &found);
    int records = cJSON_GetArraySize(found);
    cJSON_Delete(found);
    assert_int_equal(records, 3);
    /* the search showed three children: each of their cases is in the access log as read */
    assert_int_equal(
        scalar("SELECT count(DISTINCT case_id) FROM access_log WHERE resource = 'child search' AND "
               "user_id = %ld AND case_id IN (SELECT id FROM cases WHERE child_id IN (SELECT id FROM "
               "children WHERE surname = 'Queue'))",
               user_id("officer1")),
        3);
    char path[64], body[256];
    snprintf(path, sizeof path, "/api/v1/children/%ld/merge", b);
    long before = scalar("SELECT count(*) FROM child_merges");
    snprintf(body, sizeof body, "{\"into_child_id\": %ld, \"reason\": \"same NHS letter, same address\"}", a);
    expect(403, "POST", path, EHC_TEST_TOKEN("officer1"), body, NULL);
    expect(404, "POST", path, EHC_TEST_TOKEN("managerb"), body, NULL);
    expect(422, "POST", path, EHC_TEST_TOKEN("manager1"), "{\"into_child_id\": 1}", NULL);
    expect(422, "POST", path, EHC_TEST_TOKEN("manager1"),
           "{\"into_child_id\": 1, \"reason\": \"x\", \"why\": 2}", NULL);
    char self[128];
    snprintf(self, sizeof self, "{\"into_child_id\": %ld, \"reason\": \"x\"}", b);
    expect(422, "POST", path, EHC_TEST_TOKEN("manager1"), self, NULL);
    assert_int_equal(scalar("SELECT count(*) FROM child_merges"), before);
    assert_int_equal(scalar("SELECT child_id FROM cases WHERE id = %ld", b_case), b);

    cJSON *r;
    expect(200, "POST", path, EHC_TEST_TOKEN("manager1"), body, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "case_ids")), 1);
    assert_int_equal(
        (long)cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "case_ids"), 0)->valuedouble, b_case);
    cJSON_Delete(r);
    /* the case now belongs to the record kept; the merged record stays, marked, and is found no more */
    assert_int_equal(scalar("SELECT child_id FROM cases WHERE id = %ld", b_case), a);
    assert_int_equal(scalar("SELECT merged_into_id FROM children WHERE id = %ld", b), a);
    expect(200, "GET", "/api/v1/children?surname=Queue", EHC_TEST_TOKEN("officer1"), NULL, &found);
    assert_int_equal(cJSON_GetArraySize(found), 2);
    cJSON_Delete(found);
    /* audited: who, why, which cases; and a write in the case's access log */
    assert_int_equal(
        scalar("SELECT count(*) FROM child_merges WHERE from_child_id = %ld AND into_child_id = %ld "
               "AND merged_by = %ld AND reason = 'same NHS letter, same address' AND case_ids = "
               "ARRAY[%ld]::bigint[]",
               b, a, user_id("manager1"), b_case),
        1);
    assert_int_equal(scalar("SELECT count(*) FROM access_log WHERE case_id = %ld AND action = 'write' AND "
                            "resource = 'child merged'",
                            b_case),
                     1);
    /* and only once */
    expect(409, "POST", path, EHC_TEST_TOKEN("manager1"), body, NULL);
    /* a new case goes to the record kept, never to the one merged away */
    char open[1024];
    snprintf(
        open, sizeof open,
        "{\"team_id\": %ld, \"child_id\": %ld, \"request\": {\"effective_on\": \"2026-04-02\", \"fields\": "
        "{\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": \"2026-04-02T10:00\"}}}",
        team_id("North"), b);
    long cases_before = scalar("SELECT count(*) FROM cases");
    expect(422, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), open, NULL);
    assert_int_equal(scalar("SELECT count(*) FROM cases"), cases_before);
}

/* ehcd remembers who a credential is for a second; a token revoked by another node (here: directly in
 * the database) stops working within that second, and one revoked through this node at once. */
static void test_a_token_revoked_elsewhere_stops_working_within_a_second(void **state)
{
    (void)state;
    expect(200, "GET", "/api/v1/cases", EHC_TEST_TOKEN("officer2"), NULL, NULL);
    ehc_test_exec(admin,
                  "UPDATE api_tokens SET revoked_at = now() WHERE user_id = (SELECT id FROM users WHERE "
                  "username = 'officer2')");
    int64_t t0 = ehc_test_now_ms();
    long status = 200;
    while (status != 401 && ehc_test_now_ms() - t0 < 3000) {
        status = call("GET", "/api/v1/cases", EHC_TEST_TOKEN("officer2"), NULL, NULL);
        if (status != 401) usleep(50 * 1000);
    }
    assert_int_equal(status, 401);
    assert_true(ehc_test_now_ms() - t0 < 1500);
}

static void test_daemon_stops_cleanly_after_all_of_the_above(void **state)
{
    (void)state;
    ehc_test_daemon_stop_clean(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_officer_requests_advice_and_each_adviser_sees_only_their_own),
        cmocka_unit_test(test_dco_forwards_a_request_and_logs_its_return_meeting_the_advisers_clock),
        cmocka_unit_test(test_social_care_logs_a_nil_return_late_and_the_clock_shows_it),
        cmocka_unit_test(test_manager_allocates_and_reallocates_cases_one_or_many_at_once),
        cmocka_unit_test(test_manager_records_an_exception_the_law_allows_and_only_that),
        cmocka_unit_test(test_manager_merges_two_records_of_one_child_as_an_audited_act),
        cmocka_unit_test(test_a_token_revoked_elsewhere_stops_working_within_a_second),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
