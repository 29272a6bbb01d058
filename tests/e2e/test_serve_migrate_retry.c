/* `ehcd serve` waits for its database (EHCD_DB_WAIT_S) at start, and that wait must also cover a
 * connection lost while it applies or checks the migrations: a database restarting just then is the
 * same outage as one not up yet. Found by tests/e2e/test_chaos.c: an ehcd restarted while PostgreSQL
 * was being restarted exited with status 1 ("migrate_failed: reading ehc_schema_migrations: server
 * closed the connection unexpectedly") instead of waiting.
 *
 * Made deterministic here: the test holds the migration advisory lock, so ehcd's start blocks on it;
 * the test then ends ehcd's backend (pg_terminate_backend, as a restart would) and releases the lock.
 * ehcd must connect again, finish its check and serve. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

/* engine/migrate.c's pg_advisory_lock key ("ehcd" in ASCII) */
#define MIGRATE_LOCK_KEY "1701336932"

static char *db_url;
static PGconn *admin;
static ehc_test_daemon d;

static int setup(void **state)
{
    (void)state;
    admin = ehc_test_migrated_database("ehc_serve_migrate_retry", &db_url);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

static void test_serve_waits_through_a_connection_lost_while_migrating(void **state)
{
    (void)state;
    ehc_test_exec(admin, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")");
    const char *ehcd = ehc_test_env("EHC_TEST_EHCD");
    d.port = ehc_test_free_port();
    snprintf(d.log_path, sizeof d.log_path, "/tmp/ehcd-test-%d-%d.log", (int)getpid(), d.port);
    char env_db[1024], env_listen[64];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    snprintf(env_listen, sizeof env_listen, "EHCD_LISTEN=127.0.0.1:%d", d.port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(d.log_path, "w", stderr)) _exit(127);
        putenv(env_db);
        putenv(env_listen);
        execl(ehcd, ehcd, "serve", (char *)NULL);
        _exit(127);
    }
    d.pid = pid;

    /* ehcd's migration check waits for the lock: end that backend, as a database restart would */
    static const char waiting[] = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND wait_event_type = 'Lock' AND wait_event = 'advisory'";
    long n = 0;
    for (int i = 0; i < 200 && n == 0; i++) {
        n = ehc_test_scalar(admin, waiting);
        if (n == 0) usleep(50 * 1000);
    }
    assert_int_equal(n, 1);
    ehc_test_exec(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                         "current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'");
    usleep(300 * 1000);
    int st;
    if (waitpid(d.pid, &st, WNOHANG) == d.pid) {
        d.pid = 0;
        fprintf(stderr, "ehcd exited (status %d) when its migration connection was lost; log %s\n", st,
                d.log_path);
        fail();
    }
    ehc_test_exec(admin, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");

    long ready = 0;
    for (int i = 0; i < 200 && ready != 200; i++) {
        if (waitpid(d.pid, &st, WNOHANG) == d.pid) {
            d.pid = 0;
            fprintf(stderr, "ehcd exited (status %d) after its migration connection was lost; log %s\n", st,
                    d.log_path);
            fail();
        }
        ready = ehc_test_call(d.port, "GET", "/readyz", NULL, NULL, NULL);
        if (ready != 200) usleep(100 * 1000);
    }
    assert_int_equal(ready, 200);
    ehc_test_daemon_stop_clean(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_waits_through_a_connection_lost_while_migrating),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
