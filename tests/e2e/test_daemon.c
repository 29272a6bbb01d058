/* ehcd as an operator meets it, over a real socket against a real PostgreSQL: liveness and
 * readiness, readiness lost within 2 s when the database stops and regained without a restart,
 * JSON errors with request ids, a clean exit on SIGTERM, and refusal of a bad configuration. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "testlib.h"

static char *db_url;

static int setup(void **state)
{
    db_url = ehc_test_create_database("ehc_e2e");
    return 0;
}

static int teardown(void **state)
{
    free(db_url);
    return 0;
}

static void start(ehc_test_daemon *d)
{
    static char env_db[2048];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[] = {env_db, "EHCD_SHUTDOWN_GRACE_MS=3000", NULL};
    const char *args[] = {"serve", NULL};
    memset(d, 0, sizeof *d);
    ehc_test_daemon_start(d, args, env);
}

static void stop_clean(ehc_test_daemon *d)
{
    int st = ehc_test_daemon_stop(d, SIGTERM);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "ehcd did not exit cleanly (status %d); log: %s\n", st, d->log_path);
        fail();
    }
}

static void test_healthz_and_readyz_answer_json(void **state)
{
    ehc_test_daemon d;
    start(&d);
    ehc_test_response r;
    ehc_test_http(&r, "GET", d.port, "/healthz", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"alive\""));
    assert_non_null(strstr(r.headers, "application/json"));
    assert_non_null(strstr(r.headers, "x-request-id: "));
    ehc_test_response_free(&r);

    ehc_test_http(&r, "GET", d.port, "/readyz", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"ready\""));
    ehc_test_response_free(&r);
    stop_clean(&d);
}

static void test_unknown_path_and_wrong_method_get_json_errors(void **state)
{
    ehc_test_daemon d;
    start(&d);
    ehc_test_response r;
    const char *hdr[] = {"X-Request-Id: trace-abc-123", NULL};
    ehc_test_http(&r, "GET", d.port, "/no/such/thing", NULL, hdr);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"code\":\"not_found\""));
    assert_non_null(strstr(r.body, "\"request_id\":\"trace-abc-123\""));
    assert_non_null(strstr(r.headers, "x-request-id: trace-abc-123"));
    ehc_test_response_free(&r);

    ehc_test_http(&r, "POST", d.port, "/healthz", "{}", NULL);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.body, "\"code\":\"method_not_allowed\""));
    assert_non_null(strstr(r.headers, "allow: GET"));
    ehc_test_response_free(&r);
    stop_clean(&d);
}

static void test_readiness_follows_the_database_without_restart(void **state)
{
    ehc_test_daemon d;
    start(&d);
    pid_t pid = d.pid;
    ehc_test_response r;
    /* ready once the pool's first connection is up (it connects as the daemon starts listening) */
    long first = 0;
    for (int i = 0; i < 100 && first != 200; i++) {
        ehc_test_http(&r, "GET", d.port, "/readyz", NULL, NULL);
        first = r.status;
        ehc_test_response_free(&r);
        if (first != 200) usleep(50 * 1000);
    }
    assert_int_equal(first, 200);

    ehc_test_run_env_command("EHC_TEST_PG_STOP_CMD");
    /* Every probe while the database is down answers 503 with a reason, each within 2 s. */
    for (int i = 0; i < 5; i++) {
        ehc_test_http(&r, "GET", d.port, "/readyz", NULL, NULL);
        assert_int_equal(r.status, 503);
        assert_true(r.seconds < 2.0);
        assert_non_null(strstr(r.body, "\"status\":\"unavailable\""));
        assert_non_null(strstr(r.body, "\"reason\":\"database"));
        assert_non_null(strstr(r.headers, "retry-after: "));
        ehc_test_response_free(&r);
    }
    /* liveness does not depend on the database */
    ehc_test_http(&r, "GET", d.port, "/healthz", NULL, NULL);
    assert_int_equal(r.status, 200);
    ehc_test_response_free(&r);

    ehc_test_run_env_command("EHC_TEST_PG_START_CMD");
    int64_t t0 = ehc_test_now_ms();
    long status = 0;
    while (ehc_test_now_ms() - t0 < 10000) {
        ehc_test_http(&r, "GET", d.port, "/readyz", NULL, NULL);
        status = r.status;
        ehc_test_response_free(&r);
        if (status == 200) break;
        usleep(100 * 1000);
    }
    assert_int_equal(status, 200);
    assert_int_equal(d.pid, pid);
    stop_clean(&d);
}

static void test_readyz_reports_schema_behind(void **state)
{
    ehc_test_daemon d;
    start(&d);
    PGconn *c = PQconnectdb(db_url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQclear(PQexec(c, "INSERT INTO ehc_schema_migrations (version, name, checksum) "
                      "VALUES (9999, 'from_a_newer_ehcd', repeat('b', 64))"));
    ehc_test_response r;
    ehc_test_http(&r, "GET", d.port, "/readyz", NULL, NULL);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "migrations not current"));
    ehc_test_response_free(&r);
    PQclear(PQexec(c, "DELETE FROM ehc_schema_migrations WHERE version = 9999"));
    PQfinish(c);
    ehc_test_http(&r, "GET", d.port, "/readyz", NULL, NULL);
    assert_int_equal(r.status, 200);
    ehc_test_response_free(&r);
    stop_clean(&d);
}

static void test_sigint_stops_cleanly_and_frees_the_port(void **state)
{
    ehc_test_daemon d;
    start(&d);
    int port = d.port;
    int st = ehc_test_daemon_stop(&d, SIGINT);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    ehc_test_response r;
    ehc_test_http(&r, "GET", port, "/healthz", NULL, NULL);
    assert_int_equal(r.status, 0); /* connection refused: nothing listens any more */
    ehc_test_response_free(&r);
}

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void test_shutdown_closes_idle_keepalive_and_half_sent_connections(void **state)
{
    /* A browser's idle keep-alive connection and a client that sent half a request must not hold
     * up a stop: ehcd exits cleanly well within its grace period. */
    ehc_test_daemon d;
    start(&d);
    int idle = connect_loopback(d.port);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_int_equal(write(idle, req, strlen(req)), (ssize_t)strlen(req));
    char buf[1024];
    ssize_t n = read(idle, buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    int half = connect_loopback(d.port);
    const char *partial = "GET /healthz HTTP/1.1\r\nHost: loc";
    assert_int_equal(write(half, partial, strlen(partial)), (ssize_t)strlen(partial));
    usleep(100 * 1000);

    int64_t t0 = ehc_test_now_ms();
    int st = ehc_test_daemon_stop(&d, SIGTERM);
    int64_t took = ehc_test_now_ms() - t0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(took < 2500); /* the grace period given is 3000 ms */
    close(idle);
    close(half);
}

static void test_invalid_configuration_stops_with_a_reason(void **state)
{
    const char *ehcd = ehc_test_env("EHC_TEST_EHCD");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "EHCD_ALERT_HOUR=25 DATABASE_URL='%s' %s serve 2>/tmp/ehcd-badconf-%d.log",
             db_url, ehcd, (int)getpid());
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    char path[64];
    snprintf(path, sizeof path, "/tmp/ehcd-badconf-%d.log", (int)getpid());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[4096] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    assert_non_null(strstr(buf, "\"event\":\"config_invalid\""));
    assert_non_null(strstr(buf, "EHCD_ALERT_HOUR"));
    assert_non_null(strstr(buf, "0 to 23"));
}

static void test_serve_refuses_an_invalid_workflow_naming_file_path_and_reason(void **state)
{
    const char *src = ehc_test_env("EHC_SOURCE_DIR");
    char dir[] = "/tmp/ehc-defs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[4096], out[8192];
    snprintf(
        cmd, sizeof cmd,
        "cp -r %s/workflows/calendars %s/ && cp %s/tests/fixtures/workflows/invalid-unknown-stage.json %s/",
        src, dir, src, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "EHCD_WORKFLOWS_DIR=%s DATABASE_URL='%s' %s serve", dir, db_url,
             ehc_test_env("EHC_TEST_EHCD"));
    assert_int_equal(ehc_test_run_capture(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "invalid definition"));
    assert_non_null(strstr(out, "invalid-unknown-stage.json"));
    assert_non_null(strstr(out, "$.events[1].transitions[0].to"));
    assert_non_null(strstr(out, "unknown stage"));
    assert_null(strstr(out, "serve_ready"));
    snprintf(cmd, sizeof cmd, "EHCD_WORKFLOWS_DIR=%s %s check", dir, ehc_test_env("EHC_TEST_EHCD"));
    assert_int_equal(ehc_test_run_capture(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "unknown stage"));
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_check_lists_shipped_definitions_with_their_hashes(void **state)
{
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "%s check", ehc_test_env("EHC_TEST_EHCD"));
    assert_int_equal(ehc_test_run_capture(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "calendar england-and-wales"));
    /* every shipped process, each with its 64-hex-digit content hash */
    static const char *const shipped[] = {"ehc-needs-assessment", "annual-review", "reassessment",
                                          "transfer-in"};
    for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
        char want[96];
        snprintf(want, sizeof want, "workflow %s ", shipped[i]);
        const char *line = strstr(out, want);
        if (!line) {
            fprintf(stderr, "ehcd check does not list %s:\n%s", shipped[i], out);
            fail();
        }
        const char *hash = line + strlen(want);
        while (*hash == ' ')
            hash++;
        assert_true(strspn(hash, "0123456789abcdef") == 64);
    }
    /* and the letter templates, checked against those workflows */
    const char *notice = strstr(out, "notice   decision_not_to_assess ");
    if (!notice) {
        fprintf(stderr, "ehcd check does not list the letter templates:\n%s", out);
        fail();
    }
    notice += strlen("notice   decision_not_to_assess ");
    while (*notice == ' ')
        notice++;
    assert_true(strspn(notice, "0123456789abcdef") == 64);
}

static void test_timeline_prints_each_date_with_basis_and_status(void **state)
{
    const char *src = ehc_test_env("EHC_SOURCE_DIR");
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd,
             "printf '%%s' '[{\"type\": \"request_received\", \"role\": \"officer\", \"effective_on\": "
             "\"2026-01-05\","
             " \"fields\": {\"source\": \"parent\"}}]' | %s timeline "
             "%s/tests/fixtures/workflows/assessment-start.json - "
             "--today 2026-02-17",
             ehc_test_env("EHC_TEST_EHCD"), src);
    assert_int_equal(ehc_test_run_capture(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "2026-02-16"));
    assert_non_null(strstr(out, "SEND Regulations 2014, reg 5(1)"));
    assert_non_null(strstr(out, "overdue (1 day"));
    assert_non_null(strstr(out, "2026-05-25"));
    /* a refused event is reported, not printed as a timeline */
    snprintf(cmd, sizeof cmd,
             "printf '%%s' '[{\"type\": \"request_received\", \"role\": \"officer\", \"effective_on\": "
             "\"2026-01-05\"}]'"
             " | %s timeline %s/tests/fixtures/workflows/assessment-start.json - --today 2026-02-17",
             ehc_test_env("EHC_TEST_EHCD"), src);
    assert_int_equal(ehc_test_run_capture(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "source"));
    snprintf(cmd, sizeof cmd, "%s timeline no-such-workflow /dev/null", ehc_test_env("EHC_TEST_EHCD"));
    assert_int_equal(ehc_test_run_capture(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "no workflow with id 'no-such-workflow'"));
}

static void test_openapi_document_is_served_and_matches_the_routes(void **state)
{
    /* ehcd refuses to start when api/doc/openapi.json and its routes differ (every test that starts
       it checks that); here: the document is served, as OpenAPI 3.1, with the case routes */
    ehc_test_daemon d;
    start(&d);
    ehc_test_response r;
    ehc_test_http(&r, "GET", d.port, "/api/v1/openapi.json", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"openapi\": \"3.1.0\""));
    assert_non_null(strstr(r.body, "\"/api/v1/cases/{id}/events\""));
    ehc_test_response_free(&r);
    /* a path the router matches only as a template, with the wrong method: 405, not 404 */
    ehc_test_http(&r, "GET", d.port, "/api/v1/cases/12/events", NULL, NULL);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.headers, "allow: POST"));
    ehc_test_response_free(&r);
    ehc_test_http(&r, "GET", d.port, "/api/v1/cases/12/evidence", NULL, NULL);
    assert_int_equal(r.status, 404);
    ehc_test_response_free(&r);
    stop_clean(&d);
}

static void test_metrics_count_requests_by_route_and_status(void **state)
{
    ehc_test_daemon d;
    start(&d);
    ehc_test_response r;
    ehc_test_http(&r, "GET", d.port, "/readyz", NULL, NULL);
    ehc_test_response_free(&r);
    ehc_test_http(&r, "GET", d.port, "/no/such/page", NULL, NULL);
    ehc_test_response_free(&r);
    ehc_test_http(&r, "GET", d.port, "/metrics", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "text/plain; version=0.0.4"));
    assert_non_null(
        strstr(r.body, "ehcd_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1\n"));
    assert_non_null(
        strstr(r.body, "ehcd_http_requests_total{method=\"\",route=\"unrouted\",status=\"404\"} 1\n"));
    assert_non_null(strstr(r.body, "ehcd_http_request_duration_ms_bucket{le=\"+Inf\"}"));
    assert_non_null(strstr(r.body, "ehcd_db_connections "));
    assert_non_null(strstr(r.body, "ehcd_scheduler_pending "));
    assert_non_null(strstr(r.body, "ehcd_deliveries_total{channel=\"webhook\",outcome=\"dead\"} 0\n"));
    /* the outbox backlog, per channel: nothing waiting on a fresh database */
    assert_non_null(strstr(r.body, "ehcd_outbox_waiting{channel=\"webhook\"} 0\n"));
    assert_non_null(strstr(r.body, "ehcd_outbox_oldest_waiting_seconds{channel=\"email\"} 0\n"));
    ehc_test_response_free(&r);
    stop_clean(&d);
}

static void test_version_command(void **state)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s version", ehc_test_env("EHC_TEST_EHCD"));
    FILE *p = popen(cmd, "r");
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, p));
    assert_int_equal(pclose(p), 0);
    assert_memory_equal(line, "ehcd ", 5);
    assert_non_null(strstr(line, "schema version"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_and_readyz_answer_json),
        cmocka_unit_test(test_unknown_path_and_wrong_method_get_json_errors),
        cmocka_unit_test(test_readiness_follows_the_database_without_restart),
        cmocka_unit_test(test_readyz_reports_schema_behind),
        cmocka_unit_test(test_sigint_stops_cleanly_and_frees_the_port),
        cmocka_unit_test(test_shutdown_closes_idle_keepalive_and_half_sent_connections),
        cmocka_unit_test(test_invalid_configuration_stops_with_a_reason),
        cmocka_unit_test(test_serve_refuses_an_invalid_workflow_naming_file_path_and_reason),
        cmocka_unit_test(test_check_lists_shipped_definitions_with_their_hashes),
        cmocka_unit_test(test_timeline_prints_each_date_with_basis_and_status),
        cmocka_unit_test(test_openapi_document_is_served_and_matches_the_routes),
        cmocka_unit_test(test_metrics_count_requests_by_route_and_status),
        cmocka_unit_test(test_version_command),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
