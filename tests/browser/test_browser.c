/* The browser interface end to end: a real ehcd (serve --sim-clock, the UI from api/web) on a fresh
 * database of the throwaway cluster, with an authority, a team, a health service and four people who
 * sign in with passwords; then tests/browser/journeys.mjs drives Debian's headless chromium through
 * playwright-core (an officer takes a case from request to final plan through the generated forms, a
 * DCO logs a health advice return with the keyboard alone, a manager sees an overdue alert arrive on
 * the live feed), runs axe-core on every page and keeps a screenshot of each in the build folder.
 * This file only prepares the ground and judges: the journeys are in the script. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ehc/credential.h"
#include "ehc/migrate.h"
#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;

/* The people of the journeys: username, display name, password, role grant (NULL: the admin). */
static const struct {
    const char *username, *display, *password, *grant;
} people[] = {
    {"olivia", "Olivia Hughes", "officer-password-1",
     "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, 'officer', t.authority_id, "
     "t.id FROM users u, teams t WHERE u.username = '%s' AND t.name = 'Central'"},
    {"mohammed", "Mohammed Khan", "manager-password-1",
     "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, 'manager', t.authority_id, "
     "t.id FROM users u, teams t WHERE u.username = '%s' AND t.name = 'Central'"},
    {"deepa", "Dr Deepa Patel", "dco-password-1",
     "INSERT INTO role_grants (user_id, role, authority_id, organisation_id) SELECT u.id, 'dco', a.id, o.id "
     "FROM users u, local_authorities a, organisations o WHERE u.username = '%s' AND o.name = 'Community "
     "Paediatrics'"},
    {"admin", "System administrator", "admin-password-1", NULL},
};

static void exec_ok(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    PQclear(r);
}

static void add_person(size_t i)
{
    char hash[EHC_PASSWORD_HASH_MAX], sql[1024], token[128], sha[65];
    assert_int_equal(ehc_password_hash(people[i].password, hash, sizeof hash), 0);
    snprintf(
        sql, sizeof sql,
        "INSERT INTO users (username, display_name, password_hash, is_admin) VALUES ('%s', '%s', '%s', %s)",
        people[i].username, people[i].display, hash, people[i].grant ? "false" : "true");
    exec_ok(sql);
    /* an API token too: the script moves the clock and prepares cases through the API with it */
    snprintf(token, sizeof token, "tok-%s-0123456789abcdefghij", people[i].username);
    ehc_sha256_hex(token, strlen(token), sha);
    snprintf(
        sql, sizeof sql,
        "INSERT INTO api_tokens (user_id, name, token_sha256) SELECT id, 'browser test', '%s' FROM users "
        "WHERE username = '%s'",
        sha, people[i].username);
    exec_ok(sql);
    if (!people[i].grant) return;
    snprintf(sql, sizeof sql, people[i].grant, people[i].username);
    exec_ok(sql);
}

static int setup(void **state)
{
    (void)state;
    db_url = ehc_test_create_database("ehc_browser");
    admin = PQconnectdb(db_url);
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(admin, &applied, err, sizeof err), 0);
    exec_ok("INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    exec_ok("INSERT INTO teams (authority_id, name) SELECT id, 'Central' FROM local_authorities");
    exec_ok(
        "INSERT INTO organisations (name, kind, ods_code) VALUES ('Community Paediatrics', 'health', 'RT2')");
    exec_ok(
        "INSERT INTO organisation_authorities SELECT o.id, a.id FROM organisations o, local_authorities a");
    for (size_t i = 0; i < sizeof people / sizeof people[0]; i++)
        add_person(i);
    /* the simulated clock starts on Monday 1 June 2026 whatever the real date: the journeys move it on */
    exec_ok("INSERT INTO sim_clock (now_us) VALUES ((extract(epoch FROM timestamptz '2026-06-01 00:00Z') * "
            "1000000)::bigint)");
    static char env_db[2048], env_web[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    snprintf(env_web, sizeof env_web, "EHCD_WEB_ROOT=%s/api/web", ehc_test_env("EHC_SOURCE_DIR"));
    const char *env[] = {env_db, env_web, NULL};
    const char *args[] = {"serve", "--sim-clock", NULL};
    ehc_test_daemon_start(&d, args, env);
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

static void test_journeys_in_headless_chromium_pass_with_no_accessibility_violation(void **state)
{
    (void)state;
    const char *src = ehc_test_env("EHC_SOURCE_DIR");
    const char *artifacts = ehc_test_env("EHC_TEST_ARTIFACTS");
    char script[1024], modules[1024];
    snprintf(script, sizeof script, "%s/tests/browser/journeys.mjs", src);
    snprintf(modules, sizeof modules, "%s/api/web/node_modules/playwright-core/package.json", src);
    if (access(modules, R_OK) != 0) {
        fprintf(stderr, "FAIL: %s is missing: ./ehc test installs the npm packages (npm ci in api/web)\n",
                modules);
        fail();
    }
    if (access("/usr/bin/chromium", X_OK) != 0) {
        fprintf(stderr, "FAIL: /usr/bin/chromium is missing: ./ehc test installs Debian's chromium\n");
        fail();
    }
    mkdir(artifacts, 0755);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "EHC_BASE_URL=http://127.0.0.1:%d EHC_ARTIFACTS='%s' node '%s' 2>&1", d.port,
             artifacts, script);
    int st = system(cmd);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "the browser journeys failed (status %d); screenshots in %s; ehcd log: %s\n", st,
                artifacts, d.log_path);
        fail();
    }
}

/* Last: ehcd stops on SIGTERM with exit status 0: under the sanitizers, no leak and no memory error in
 * anything the browser made it do. */
static void test_daemon_stops_cleanly_after_the_journeys(void **state)
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
        cmocka_unit_test(test_journeys_in_headless_chromium_pass_with_no_accessibility_violation),
        cmocka_unit_test(test_daemon_stops_cleanly_after_the_journeys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
