/* The law changes under open cases (docs/adr/0001, "Definition versions"): ehcd keeps the text of every
 * workflow and calendar version it has served on in the database, so that after a workflow file is
 * edited a case opened under the old version still takes events under the dates it was given, new
 * cases open under the new version, and a manager moves an old case to the new version with
 * definitions_updated, which recomputes its dates; `ehcd verify` replays every case under the version
 * it pins, before and after the move.
 *
 * The edit: Reg 5(1)'s 6 weeks to decide whether to assess become 7 in a copy of the workflows folder
 * (an authority's local change, or a correction). A request received Monday 8 June 2026 is due a
 * decision on Monday 20 July under 6 weeks, Monday 27 July under 7. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;
static char dir[64];
static char env_dir[160];

#define OFFICER EHC_TEST_TOKEN("officer")
#define MANAGER EHC_TEST_TOKEN("manager")
#define NA_HASH_SQL                                                                                          \
    "SELECT count(*) FROM ehc_definition_versions WHERE kind = 'workflow' AND id = 'ehc-needs-assessment'"

#define GRANT(role)                                                                                          \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, t.id FROM users u, teams t WHERE u.username = '%s' AND t.name = 'Central'"

static void run(const char *cmd)
{
    int st = system(cmd);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "failed: %s\n", cmd);
        fail();
    }
}

static void serve(void)
{
    ehc_test_daemon_serve(&d, db_url, (const char *const[]){"--sim-clock=2026-06-08T11:00:00Z", NULL},
                          (const char *const[]){env_dir, NULL});
}

static int setup(void **state)
{
    (void)state;
    admin = ehc_test_migrated_database("ehc_definition_versions", &db_url);
    ehc_test_exec(admin, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    ehc_test_exec(admin,
                  "INSERT INTO teams (authority_id, name) SELECT id, 'Central' FROM local_authorities");
    ehc_test_add_user(admin, "officer", false, GRANT("officer"));
    ehc_test_add_user(admin, "manager", false, GRANT("manager"));
    snprintf(dir, sizeof dir, "/tmp/ehc-defs-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -r '%s/workflows/.' '%s/'", ehc_test_env("EHC_SOURCE_DIR"), dir);
    run(cmd);
    snprintf(env_dir, sizeof env_dir, "EHCD_WORKFLOWS_DIR=%s", dir);
    serve();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ehc_test_teardown(&d, admin, db_url);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Reg 5(1) in the copy becomes 7 weeks: the one "weeks": 6 right after decision_due's origin. */
static void edit_decision_weeks(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ehc-needs-assessment.json", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *anchor = "\"origin\": \"request_received\",\n   \"length\": {\n    \"weeks\": 6";
    char *at = strstr(text, "\"id\": \"decision_due\"");
    assert_non_null(at);
    at = strstr(at, anchor);
    assert_non_null(at);
    at[strlen(anchor) - 1] = '7';
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static long open_case(const char *forename, const char *born)
{
    char body[768];
    snprintf(body, sizeof body,
             "{\"team_id\": %ld, \"child\": {\"forename\": \"%s\", \"surname\": \"Versions\", "
             "\"date_of_birth\": \"%s\", \"sex\": \"U\"}, \"request\": {\"effective_on\": "
             "\"2026-06-08\", \"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", "
             "\"received_at\": \"2026-06-08T09:00\"}}}",
             ehc_test_scalar(admin, "SELECT id FROM teams WHERE name = 'Central'"), forename, born);
    ehc_test_response r;
    if (ehc_test_call(d.port, "POST", "/api/v1/cases", OFFICER, body, &r) != 201) {
        fprintf(stderr, "open -> %ld %s\n", r.status, r.body);
        fail();
    }
    cJSON *opened = cJSON_Parse(r.body);
    long id = (long)cJSON_GetObjectItem(opened, "id")->valuedouble;
    cJSON_Delete(opened);
    ehc_test_response_free(&r);
    return id;
}

static long record(long id, const char *token, int version, const char *type, const char *fields,
                   ehc_test_response *out)
{
    char path[64], body[512];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", id);
    snprintf(body, sizeof body,
             "{\"type\": \"%s\", \"effective_on\": \"2026-06-08\", \"expected_version\": %d%s%s}", type,
             version, fields ? ", \"fields\": " : "", fields ? fields : "");
    return ehc_test_call(d.port, "POST", path, token, body, out);
}

/* The case's decision_due as the API shows it, and its version. */
static void decision_due(long id, char due[11], int *version)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld", id);
    ehc_test_response r;
    assert_int_equal(ehc_test_call(d.port, "GET", path, OFFICER, NULL, &r), 200);
    cJSON *v = cJSON_Parse(r.body);
    ehc_test_response_free(&r);
    *version = cJSON_GetObjectItem(v, "version")->valueint;
    const cJSON *dl;
    due[0] = '\0';
    cJSON_ArrayForEach(dl, cJSON_GetObjectItem(v, "deadlines"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(dl, "deadline")), "decision_due") == 0)
            snprintf(due, 11, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(dl, "due_on")));
    }
    cJSON_Delete(v);
}

static void verify_clean(void)
{
    char out[8192];
    if (ehc_test_ehcd_verify(db_url, env_dir, out, sizeof out) != 0) {
        fprintf(stderr, "ehcd verify said:\n%s", out);
        fail();
    }
}

static void test_a_case_keeps_its_version_until_a_manager_moves_it(void **state)
{
    (void)state;
    char due[11];
    int version;
    long old_case = open_case("Ada", "2018-03-11");
    long batch[2] = {open_case("Cora", "2019-01-30"), open_case("Dan", "2016-12-01")};
    decision_due(old_case, due, &version);
    assert_string_equal(due, "2026-07-20");
    assert_int_equal(ehc_test_scalar(admin, NA_HASH_SQL), 1);
    long old_hash_cases = ehc_test_scalar(
        admin, "SELECT count(*) FROM cases c JOIN ehc_definition_versions v ON v.sha256 = c.workflow_sha256 "
               "AND v.kind = 'workflow'");
    assert_int_equal(old_hash_cases, 3);

    /* The workflow file changes; ehcd restarts on it and keeps both versions. */
    ehc_test_daemon_stop_clean(&d);
    edit_decision_weeks();
    serve();
    assert_int_equal(ehc_test_scalar(admin, NA_HASH_SQL), 2);

    /* The old case takes events under the version it pinned: its date stays 20 July. */
    assert_int_equal(record(old_case, OFFICER, version, "notification_sent", "{\"body\": \"icb\"}", NULL),
                     201);
    decision_due(old_case, due, &version);
    assert_string_equal(due, "2026-07-20");
    assert_int_equal(version, 2);

    /* A new case opens under the new version: 7 weeks. */
    long new_case = open_case("Grace", "2017-09-02");
    int new_version;
    decision_due(new_case, due, &new_version);
    assert_string_equal(due, "2026-07-27");
    verify_clean();

    /* Only a manager moves a case; the move recomputes the date and repins the case. */
    ehc_test_response r;
    assert_int_equal(record(old_case, OFFICER, version, "definitions_updated", NULL, &r), 403);
    ehc_test_response_free(&r);
    if (record(old_case, MANAGER, version, "definitions_updated", "{\"note\": \"Reg 5 local change\"}", &r) !=
        201) {
        fprintf(stderr, "definitions_updated -> %ld %s\n", r.status, r.body);
        fail();
    }
    ehc_test_response_free(&r);
    decision_due(old_case, due, &version);
    assert_string_equal(due, "2026-07-27");
    assert_int_equal(version, 3);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(DISTINCT workflow_sha256) FROM cases"), 2);

    /* After a change to the law, a manager moves many cases at once: each is recomputed. */
    char body[160];
    snprintf(body, sizeof body, "{\"case_ids\": [%ld, %ld], \"type\": \"definitions_updated\"}", batch[0],
             batch[1]);
    assert_int_equal(ehc_test_call(d.port, "POST", "/api/v1/bulk-events", OFFICER, body, &r), 200);
    assert_non_null(strstr(r.body, "\"status\":403"));
    ehc_test_response_free(&r);
    if (ehc_test_call(d.port, "POST", "/api/v1/bulk-events", MANAGER, body, &r) != 200 ||
        strstr(r.body, "\"status\":201") == NULL || strstr(r.body, "\"error\"") != NULL) {
        fprintf(stderr, "bulk definitions_updated -> %ld %s\n", r.status, r.body);
        fail();
    }
    ehc_test_response_free(&r);
    for (int i = 0; i < 2; i++) {
        int v;
        decision_due(batch[i], due, &v);
        assert_string_equal(due, "2026-07-27");
        assert_int_equal(v, 2);
    }
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(DISTINCT workflow_sha256) FROM cases"), 1);
    /* Moving again to the same versions is refused, and changes nothing. */
    assert_int_equal(record(old_case, MANAGER, version, "definitions_updated", NULL, &r), 422);
    assert_non_null(strstr(r.body, "already runs under these definitions"));
    ehc_test_response_free(&r);
    verify_clean();

    /* After a restart the moved case replays (its log holds the move) and takes events. */
    ehc_test_daemon_stop_clean(&d);
    serve();
    assert_int_equal(
        record(old_case, OFFICER, version, "notification_sent", "{\"body\": \"social_care\"}", NULL), 201);
    decision_due(old_case, due, &version);
    assert_string_equal(due, "2026-07-27");
    assert_int_equal(version, 4);
    verify_clean();

    /* The bank-holiday calendar file changes too (each year's new dates): every case pinned to the
     * calendar it was opened under keeps working under it. */
    ehc_test_daemon_stop_clean(&d);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "printf '\\n' >> '%s/calendars/england-and-wales-bank-holidays.json'", dir);
    run(cmd);
    serve();
    assert_int_equal(ehc_test_scalar(admin,
                                     "SELECT count(*) FROM ehc_definition_versions WHERE kind = 'calendar' "
                                     "AND id = 'england-and-wales'"),
                     2);
    assert_int_equal(
        record(old_case, OFFICER, version, "notification_sent", "{\"body\": \"head_or_principal\"}", NULL),
        201);
    assert_int_equal(record(new_case, OFFICER, new_version, "notification_sent", "{\"body\": \"icb\"}", NULL),
                     201);
    verify_clean();
    ehc_test_daemon_stop_clean(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_case_keeps_its_version_until_a_manager_moves_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
