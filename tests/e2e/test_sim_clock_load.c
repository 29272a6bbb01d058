/* `ehcd serve --sim-clock`: until the stored simulated clock is loaded from the database, no request is
 * judged on the start instant. Found by tests/e2e/test_chaos.c: an ehcd restarted after SIGKILL, with
 * the clock moved on to 20 January 2026 in the database, answered an officer's event dated that day
 * 422 date_in_future "after today (2026-01-05)" - the start instant - because its pool connected and
 * served the request before the clock's load (retried every 500 ms after a failure) had come back.
 *
 * Here the load is made to fail for as long as the test wants (ehc_app loses its rights on
 * sim_clock), while everything else the request needs works: the request must be refused 503 with
 * Retry-After, never answered on the wrong "today"; once the rights are back the clock loads and the
 * same request, sent again with its Idempotency-Key, opens the case. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static char *db_url;
static PGconn *admin;
static ehc_test_daemon d;

#define GRANT_OFFICER                                                                                        \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, 'officer', "                \
    "t.authority_id, "                                                                                       \
    "t.id FROM users u, teams t WHERE u.username = '%s'"

static int setup(void **state)
{
    (void)state;
    admin = ehc_test_migrated_database("ehc_sim_clock_load", &db_url);
    ehc_test_exec(admin, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    ehc_test_exec(admin, "INSERT INTO teams (authority_id, name) SELECT id, 'North' FROM local_authorities");
    ehc_test_add_user(admin, "officer", false, GRANT_OFFICER);
    /* the stored clock: Monday 2 March 2026, 12:00 UTC; ehcd is started at 1 January 2025 */
    ehc_test_exec(admin, "INSERT INTO sim_clock (now_us) VALUES (1772452800000000)");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

/* ehc_test_daemon_start waits for /readyz on a simulated clock, which this test holds back: start
 * ehcd here and wait for /healthz only. */
static void start_without_waiting_for_readiness(void)
{
    const char *ehcd = ehc_test_env("EHC_TEST_EHCD");
    d.port = ehc_test_free_port();
    snprintf(d.log_path, sizeof d.log_path, "/tmp/ehcd-test-%d-%d.log", (int)getpid(), d.port);
    char env_db[1024], env_listen[64];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    snprintf(env_listen, sizeof env_listen, "EHCD_LISTEN=127.0.0.1:%d", d.port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(d.log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        putenv(env_db);
        putenv(env_listen);
        execl(ehcd, ehcd, "serve", "--sim-clock=2025-01-01T00:00:00Z", (char *)NULL);
        _exit(127);
    }
    d.pid = pid;
    for (int i = 0; i < 200; i++) {
        if (ehc_test_call(d.port, "GET", "/healthz", NULL, NULL, NULL) == 200) return;
        usleep(50 * 1000);
    }
    fprintf(stderr, "ehcd did not answer /healthz; log %s\n", d.log_path);
    fail();
}

static long open_case(ehc_test_response *r)
{
    long team = ehc_test_scalar(admin, "SELECT id FROM teams");
    char body[512];
    snprintf(
        body, sizeof body,
        "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": {\"forename\": \"Clock\", \"surname\": "
        "\"Load\", \"date_of_birth\": \"2018-03-09\"}, \"request\": {\"effective_on\": \"2026-03-02\", "
        "\"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": "
        "\"2026-03-02T09:30\"}}}",
        team);
    const char *h[] = {EHC_TEST_TOKEN("officer"), "Content-Type: application/json",
                       "Idempotency-Key: sim-clock-load-1", NULL};
    ehc_test_http(r, "POST", d.port, "/api/v1/cases", body, h);
    return r->status;
}

static void test_requests_wait_for_the_stored_simulated_clock(void **state)
{
    (void)state;
    ehc_test_exec(admin, "REVOKE SELECT, INSERT, UPDATE ON sim_clock FROM ehc_app");
    start_without_waiting_for_readiness();
    /* the pool connects in milliseconds; the clock cannot load: every answer meanwhile is a 503 */
    usleep(1500 * 1000);
    ehc_test_response r;
    for (int i = 0; i < 3; i++) {
        long status = open_case(&r);
        if (status != 503 || !strstr(r.body, "simulated clock") || !strstr(r.headers, "retry-after: 1")) {
            fprintf(stderr, "before the clock is loaded: %ld %s\n", status, r.body);
            fail();
        }
        ehc_test_response_free(&r);
        usleep(200 * 1000);
    }
    assert_int_equal(ehc_test_call(d.port, "GET", "/readyz", NULL, NULL, NULL), 503);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM cases"), 0);

    ehc_test_exec(admin, "GRANT SELECT, INSERT, UPDATE ON sim_clock TO ehc_app");
    long ready = 0;
    for (int i = 0; i < 100 && ready != 200; i++) {
        ready = ehc_test_call(d.port, "GET", "/readyz", NULL, NULL, NULL);
        if (ready != 200) usleep(100 * 1000);
    }
    assert_int_equal(ready, 200);
    /* today is the stored 2 March 2026: the request received that morning opens the case */
    if (open_case(&r) != 201) {
        fprintf(stderr, "after the clock is loaded: %ld %s\n", r.status, r.body);
        fail();
    }
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM cases"), 1);
    assert_int_equal(
        ehc_test_scalar(admin, "SELECT count(*) FROM case_events WHERE effective_on = '2026-03-02'"), 1);
    ehc_test_daemon_stop_clean(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_wait_for_the_stored_simulated_clock),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
