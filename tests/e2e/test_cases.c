/* Cases over the API, against ehcd on a simulated clock and a real PostgreSQL: an officer opens a
 * case (a likely duplicate child is flagged), reads its statutory dates, records events with
 * optimistic concurrency and idempotency; other teams get 403 and other authorities 404; and a
 * request received on 5 January 2026 and left alone raises its decision alerts on 2 February,
 * 9 February, 16 February (due) and 17 February (overdue) 2026, each at 07:00, exactly once. */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;

static long scalar(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    long v = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

#define GRANT_TEAM(role, authority, team)                                                                    \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, t.id "                                                                               \
    "FROM users u, teams t JOIN local_authorities a ON a.id = t.authority_id WHERE u.username = '%s' "       \
    "AND a.dfe_code = '" authority "' AND t.name = '" team "'"

static int setup(void **state)
{
    admin = ehc_test_migrated_database("ehc_cases", &db_url);
    ehc_test_exec(
        admin,
        "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham'), ('357', 'Tameside')");
    ehc_test_exec(
        admin,
        "INSERT INTO teams (authority_id, name) SELECT id, 'North' FROM local_authorities WHERE dfe_code "
        "= '353'");
    ehc_test_exec(
        admin,
        "INSERT INTO teams (authority_id, name) SELECT id, 'South' FROM local_authorities WHERE dfe_code "
        "= '353'");
    ehc_test_exec(
        admin,
        "INSERT INTO teams (authority_id, name) SELECT id, 'East' FROM local_authorities WHERE dfe_code "
        "= '357'");
    ehc_test_add_user(admin, "officer1", false, GRANT_TEAM("officer", "353", "North"));
    ehc_test_add_user(admin, "manager1", false, GRANT_TEAM("manager", "353", "North"));
    ehc_test_add_user(admin, "officer2", false, GRANT_TEAM("officer", "353", "South"));
    ehc_test_add_user(admin, "officerb", false, GRANT_TEAM("officer", "357", "East"));
    ehc_test_add_user(admin, "admin", true, NULL);
    ehc_test_add_user(
        admin, "la_admin", false,
        "INSERT INTO role_grants (user_id, role, authority_id) SELECT u.id, 'admin', a.id FROM users u, "
        "local_authorities a WHERE u.username = '%s' AND a.dfe_code = '353'");
    ehc_test_daemon_serve(&d, db_url, (const char *const[]){"--sim-clock=2025-01-01T00:00:00Z", NULL}, NULL);
    return 0;
}

static int teardown(void **state)
{
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

static long open_case(const char *token, const char *extra, long *status_out, ehc_test_response *keep);
static const char *request_body; /* defined with the helpers below */

/* A raw Server-Sent Events client: connects, sends the request, checks the 200 and content type. */
static int sse_connect(const char *auth, const char *last_event_id)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)d.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512], last[64] = "";
    if (last_event_id) snprintf(last, sizeof last, "Last-Event-ID: %s\r\n", last_event_id);
    snprintf(req, sizeof req, "GET /api/v1/alerts/stream HTTP/1.1\r\nHost: localhost\r\n%s\r\n%s\r\n", auth,
             last);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    return fd;
}

/* Reads until `needle` has arrived (1) or timeout_ms passed (0); the bytes so far are in buf. */
static int sse_read_until(int fd, const char *needle, int timeout_ms, char *buf, size_t size, size_t *len)
{
    int64_t t0 = ehc_test_now_ms();
    while (ehc_test_now_ms() - t0 < timeout_ms) {
        if (strstr(buf, needle)) return 1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t n = read(fd, buf + *len, size - *len - 1);
        if (n <= 0) break;
        *len += (size_t)n;
        buf[*len] = '\0';
    }
    return strstr(buf, needle) != NULL;
}

static void test_manager_receives_the_overdue_alert_live_and_can_resume(void **state)
{
    static char buf[65536];
    size_t len = 0;
    buf[0] = '\0';
    int fd = sse_connect(EHC_TEST_TOKEN("manager1"), NULL);
    assert_true(sse_read_until(fd, "retry: 2000", 5000, buf, sizeof buf, &len));
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strstr(buf, "text/event-stream"));

    /* a request received on 5 January, recorded on 20 February: its decision is already overdue,
       and the manager hears of it without asking */
    long status;
    open_case(EHC_TEST_TOKEN("officer1"), ", \"confirm_new_child\": true", &status, NULL);
    assert_int_equal(status, 201);
    if (!sse_read_until(fd, "overdue", 10000, buf, sizeof buf, &len)) {
        fprintf(stderr, "no overdue alert on the stream; got:\n%s\n", buf);
        fail();
    }
    assert_null(strstr(buf, "Example")); /* never the child */
    const char *idline = strstr(buf, "\nid: ");
    assert_non_null(idline);
    long id = atol(idline + 5);
    assert_true(id > 0);
    close(fd);

    /* reconnecting from the event before gets it again; from the event itself, not */
    char from[32], want[48];
    snprintf(from, sizeof from, "%ld", id - 1);
    snprintf(want, sizeof want, "id: %ld\n", id);
    len = 0;
    buf[0] = '\0';
    fd = sse_connect(EHC_TEST_TOKEN("manager1"), from);
    assert_true(sse_read_until(fd, want, 5000, buf, sizeof buf, &len));
    close(fd);
    snprintf(from, sizeof from, "%ld", id);
    len = 0;
    buf[0] = '\0';
    fd = sse_connect(EHC_TEST_TOKEN("manager1"), from);
    assert_true(sse_read_until(fd, "retry: 2000", 5000, buf, sizeof buf, &len));
    assert_false(sse_read_until(fd, want, 1500, buf, sizeof buf, &len));
    close(fd);
    /* another authority's officer hears nothing of it */
    len = 0;
    buf[0] = '\0';
    fd = sse_connect(EHC_TEST_TOKEN("officerb"), "0");
    assert_true(sse_read_until(fd, "retry: 2000", 5000, buf, sizeof buf, &len));
    assert_false(sse_read_until(fd, "event: alert", 1500, buf, sizeof buf, &len));
    close(fd);
    /* a stream left open is ended cleanly when ehcd stops (the next test) */
    sse_connect(EHC_TEST_TOKEN("manager1"), NULL);
}

static void test_officer_finds_a_child_by_identifier_or_name_within_their_authority(void **state)
{
    ehc_test_response r;
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/children?nhs_number=9434765919",
                                   EHC_TEST_TOKEN("officer1"), NULL, &r),
                     200);
    assert_non_null(strstr(r.body, "\"surname\": \"Example\""));
    assert_non_null(strstr(r.body, "\"cases\": [{"));
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/children?surname=example&date_of_birth=2019-04-02",
                                   EHC_TEST_TOKEN("officer1"), NULL, &r),
                     200);
    assert_non_null(strstr(r.body, "\"nhs_number\": \"9434765919\""));
    ehc_test_response_free(&r);
    /* another authority's officer finds nothing, as if the child did not exist */
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/children?nhs_number=9434765919",
                                   EHC_TEST_TOKEN("officerb"), NULL, &r),
                     200);
    assert_string_equal(r.body, "[]");
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/children?nhs_number=9434765918",
                                   EHC_TEST_TOKEN("officer1"), NULL, &r),
                     400);
    assert_non_null(strstr(r.body, "\"field\":\"nhs_number\""));
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/children?date_of_birth=2019-04-02",
                                   EHC_TEST_TOKEN("officer1"), NULL, &r),
                     400);
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/children?surname=x%27%20OR%201%3D1--",
                                   EHC_TEST_TOKEN("officer1"), NULL, &r),
                     200);
    assert_string_equal(r.body, "[]");
    ehc_test_response_free(&r);
}

static void test_manager_sees_the_caseload_and_unallocated_queue(void **state)
{
    ehc_test_response r;
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/caseload", EHC_TEST_TOKEN("manager1"), NULL, &r),
                     200);
    assert_non_null(strstr(r.body, "\"unallocated\": "));
    /* every case opened in these tests went to North unallocated */
    long north_open =
        scalar("SELECT count(*) FROM cases c JOIN teams t ON t.id = c.team_id WHERE t.name = 'North' "
               "AND c.status = 'open' AND c.officer_id IS NULL");
    char want[64];
    snprintf(want, sizeof want, "\"unallocated\": %ld", north_open);
    assert_non_null(strstr(r.body, want));
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/caseload", EHC_TEST_TOKEN("officerb"), NULL, &r),
                     200);
    assert_non_null(strstr(r.body, "\"unallocated\": 0"));
    ehc_test_response_free(&r);
}

/* Every route, for every role that may not use it on this case: refused (403 within the authority,
 * 404 across authorities, as if the case did not exist), and nothing in the database changed. */
static void test_forbidden_paths_are_refused_and_change_nothing(void **state)
{
    long status;
    long id = open_case(EHC_TEST_TOKEN("officer1"), ", \"confirm_new_child\": true", &status, NULL);
    assert_int_equal(status, 201);
    /* an alert of a North case (the first test's case left alone raised several) */
    long alert =
        scalar("SELECT a.id FROM alerts a JOIN cases c ON c.id = a.case_id JOIN teams t ON t.id = c.team_id "
               "WHERE t.name = 'North' ORDER BY a.id LIMIT 1");
    long north = scalar("SELECT id FROM teams WHERE name = 'North'");
    char case_path[64], events_path[64], ack_path[64], open_body[1024];
    snprintf(case_path, sizeof case_path, "/api/v1/cases/%ld", id);
    snprintf(events_path, sizeof events_path, "/api/v1/cases/%ld/events", id);
    snprintf(ack_path, sizeof ack_path, "/api/v1/alerts/%ld/acknowledge", alert);
    snprintf(open_body, sizeof open_body, request_body, north, ", \"confirm_new_child\": true");
    const char *withdraw =
        "{\"type\": \"withdrawn\", \"effective_on\": \"2026-02-20\", \"expected_version\": 1}";
    const char *state_sql =
        "SELECT (SELECT count(*) FROM cases) * 1000000 + (SELECT count(*) FROM case_events) * 1000 "
        "+ (SELECT count(*) FROM alerts WHERE status <> 'open')";
    long before = scalar(state_sql);
    struct {
        const char *method, *path, *token, *body;
        long expect;
    } refused[] = {
        /* same authority, other team */
        {"GET", case_path, EHC_TEST_TOKEN("officer2"), NULL, 403},
        {"POST", events_path, EHC_TEST_TOKEN("officer2"), withdraw, 403},
        {"POST", "/api/v1/cases", EHC_TEST_TOKEN("officer2"), open_body, 403},
        {"POST", ack_path, EHC_TEST_TOKEN("officer2"), NULL, 404},
        /* another authority */
        {"GET", case_path, EHC_TEST_TOKEN("officerb"), NULL, 404},
        {"POST", events_path, EHC_TEST_TOKEN("officerb"), withdraw, 404},
        {"POST", "/api/v1/cases", EHC_TEST_TOKEN("officerb"), open_body, 403},
        {"POST", ack_path, EHC_TEST_TOKEN("officerb"), NULL, 404},
        /* an authority's admin manages users and deliveries, not cases */
        {"GET", case_path, EHC_TEST_TOKEN("la_admin"), NULL, 404},
        {"POST", events_path, EHC_TEST_TOKEN("la_admin"), withdraw, 404},
        {"POST", "/api/v1/cases", EHC_TEST_TOKEN("la_admin"), open_body, 403},
        {"POST", ack_path, EHC_TEST_TOKEN("la_admin"), NULL, 404},
        /* administration is for admins */
        {"GET", "/api/v1/admin/dead-letters", EHC_TEST_TOKEN("manager1"), NULL, 403},
        {"POST", "/api/v1/admin/dead-letters/1/requeue", EHC_TEST_TOKEN("officer1"), NULL, 403},
        {"POST", "/admin/clock", EHC_TEST_TOKEN("manager1"), "{\"now\": \"2027-01-01T00:00:00Z\"}", 403},
        /* nobody */
        {"GET", case_path, "X-None: 1", NULL, 401},
        {"POST", events_path, "X-None: 1", withdraw, 401},
        {"GET", "/api/v1/cases", "X-None: 1", NULL, 401},
        {"GET", "/api/v1/alerts", "X-None: 1", NULL, 401},
        {"GET", "/api/v1/children?surname=Example", "X-None: 1", NULL, 401},
        {"GET", "/api/v1/caseload", "X-None: 1", NULL, 401},
        {"GET", "/api/v1/alerts/stream", "X-None: 1", NULL, 401},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ehc_test_response r;
        ehc_test_call(d.port, refused[i].method, refused[i].path, refused[i].token, refused[i].body, &r);
        if (r.status != refused[i].expect) {
            fprintf(stderr, "%s %s as %s -> %ld (expected %ld) %s\n", refused[i].method, refused[i].path,
                    refused[i].token, r.status, refused[i].expect, r.body);
            fail();
        }
        assert_null(strstr(r.body, "Example")); /* never the child of a case one may not see */
        ehc_test_response_free(&r);
    }
    assert_int_equal(scalar(state_sql), before);
}

static void test_authority_admin_sees_and_requeues_delivery_failures(void **state)
{
    long dead =
        scalar("INSERT INTO outbox (authority_id, channel, recipient, payload, idempotency_key, attempts, "
               "dead_at, last_error) SELECT id, 'webhook', 'https://case-system.invalid/hook', "
               "'{\"case_reference\": \"EHC-TEST\"}', 'test-dead-1', 8, now(), 'HTTP 500' "
               "FROM local_authorities WHERE dfe_code = '353' RETURNING id");
    ehc_test_response r;
    assert_int_equal(
        ehc_test_call(d.port, "GET", "/api/v1/admin/dead-letters", EHC_TEST_TOKEN("la_admin"), NULL, &r),
        200);
    assert_non_null(strstr(r.body, "\"last_error\": \"HTTP 500\""));
    assert_non_null(strstr(r.body, "EHC-TEST"));
    ehc_test_response_free(&r);
    assert_int_equal(
        ehc_test_call(d.port, "GET", "/api/v1/admin/dead-letters", EHC_TEST_TOKEN("officer1"), NULL, &r),
        403);
    ehc_test_response_free(&r);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/admin/dead-letters/%ld/requeue", dead);
    assert_int_equal(ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("officerb"), NULL, &r), 403);
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("la_admin"), NULL, &r), 200);
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("la_admin"), NULL, &r),
                     404); /* no longer dead */
    ehc_test_response_free(&r);
    char sql[128];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM outbox WHERE id = %ld AND dead_at IS NULL AND attempts = 0", dead);
    assert_int_equal(scalar(sql), 1);
}

/* Last: ehcd stops on SIGTERM with exit status 0, which under the sanitizers also means no leak
 * and no memory error in anything the tests above made it do. */
static void test_daemon_stops_cleanly_after_all_of_the_above(void **state)
{
    ehc_test_daemon_stop_clean(&d);
}

static void set_clock(const char *iso)
{
    char body[96];
    snprintf(body, sizeof body, "{\"now\": \"%s\"}", iso);
    ehc_test_response r;
    if (ehc_test_call(d.port, "POST", "/admin/clock", EHC_TEST_TOKEN("admin"), body, &r) != 200) {
        fprintf(stderr, "POST /admin/clock %s -> %ld %s\n", iso, r.status, r.body);
        fail();
    }
    ehc_test_response_free(&r);
}

static long json_number(const char *body, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(body, pat);
    assert_non_null(p);
    return atol(p + strlen(pat));
}

static const char *request_body =
    "{\"team_id\": %ld, \"child\": {\"forename\": \"Sam\", \"surname\": \"Example\", \"date_of_birth\": "
    "\"2019-04-02\", \"nhs_number\": \"9434765919\"}%s, \"request\": {\"effective_on\": \"2026-01-05\", "
    "\"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": "
    "\"2026-01-05T10:30\"}}}";

static long open_case(const char *token, const char *extra, long *status_out, ehc_test_response *keep)
{
    char body[1024];
    long team = scalar("SELECT id FROM teams WHERE name = 'North'");
    snprintf(body, sizeof body, request_body, team, extra);
    ehc_test_response r;
    *status_out = ehc_test_call(d.port, "POST", "/api/v1/cases", token, body, &r);
    long id = *status_out == 201 ? json_number(r.body, "id") : 0;
    if (keep)
        *keep = r;
    else
        ehc_test_response_free(&r);
    return id;
}

static void test_request_left_alone_raises_decision_alerts_on_the_statutory_dates(void **state)
{
    set_clock("2026-01-05T12:00:00Z");
    long status;
    ehc_test_response r;
    long id = open_case(EHC_TEST_TOKEN("officer1"), "", &status, &r);
    if (status != 201) fprintf(stderr, "open -> %ld %s\n", status, r.body);
    assert_int_equal(status, 201);
    assert_non_null(strstr(r.headers, "location: /api/v1/cases/"));
    ehc_test_response_free(&r);

    /* the day before each alert nothing is raised; on its day at 07:00 it is */
    char day[40];
    for (int m = 1; m <= 2; m++) {
        for (int dd = (m == 1 ? 6 : 1); dd <= (m == 1 ? 31 : 18); dd++) {
            snprintf(day, sizeof day, "2026-%02d-%02dT07:00:00Z", m, dd);
            set_clock(day);
        }
    }
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(a.level || '@' || to_char(a.fire_at AT TIME ZONE 'UTC', 'YYYY-MM-DD "
             "HH24:MI'), ' ' "
             "ORDER BY a.fire_at) FROM alerts a JOIN deadlines dl ON dl.id = a.deadline_id "
             "WHERE dl.case_id = %ld AND dl.deadline_key = 'decision_due'",
             id);
    PGresult *res = PQexec(admin, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "upcoming_10@2026-02-02 07:00 upcoming_5@2026-02-09 07:00 "
                                               "due@2026-02-16 07:00 overdue@2026-02-17 07:00");
    PQclear(res);
    /* moving the clock again over the same days raises nothing twice */
    set_clock("2026-02-18T07:00:00Z");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM alerts a JOIN deadlines dl ON dl.id = a.deadline_id "
             "WHERE dl.case_id = %ld AND dl.deadline_key = 'decision_due'",
             id);
    assert_int_equal(scalar(sql), 4);
    /* and the clock never goes back */
    ehc_test_response back;
    assert_int_equal(ehc_test_call(d.port, "POST", "/admin/clock", EHC_TEST_TOKEN("admin"),
                                   "{\"now\": \"2026-01-01T00:00:00Z\"}", &back),
                     409);
    ehc_test_response_free(&back);
    assert_int_equal(ehc_test_call(d.port, "POST", "/admin/clock", EHC_TEST_TOKEN("officer1"),
                                   "{\"now\": \"2026-03-01T00:00:00Z\"}", &back),
                     403);
    ehc_test_response_free(&back);
}

static void test_manager_lists_and_acknowledges_the_overdue_alert(void **state)
{
    ehc_test_response r;
    /* the officer sees the case's alerts too, the upcoming ones first raised for them */
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/alerts?level=upcoming_10",
                                   EHC_TEST_TOKEN("officer1"), NULL, &r),
                     200);
    assert_non_null(strstr(r.body, "\"level\": \"upcoming_10\""));
    assert_non_null(strstr(r.body, "\"fire_at\": \"2026-02-02T07:00:00+00:00\""));
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/alerts?status=open&level=overdue",
                                   EHC_TEST_TOKEN("manager1"), NULL, &r),
                     200);
    assert_non_null(strstr(r.body, "\"level\": \"overdue\""));
    assert_non_null(strstr(r.body, "\"deadline\": \"decision_due\""));
    assert_non_null(strstr(r.body, "\"due_on\": \"2026-02-16\""));
    assert_null(strstr(r.body, "Example")); /* alerts name the case, never the child */
    long alert = json_number(strstr(r.body, "\"id\":") ? strstr(r.body, "{\"id\"") : r.body, "id");
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/alerts", EHC_TEST_TOKEN("officerb"), NULL, &r),
                     200);
    assert_string_equal(r.body, "[]");
    ehc_test_response_free(&r);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/alerts/%ld/acknowledge", alert);
    assert_int_equal(ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("officerb"), NULL, &r),
                     404); /* another authority */
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("officer2"), NULL, &r),
                     404); /* another team */
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("manager1"), NULL, &r), 200);
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("manager1"), NULL, &r), 409);
    assert_non_null(strstr(r.body, "already acknowledged"));
    ehc_test_response_free(&r);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM alerts a JOIN users u ON u.id = a.acknowledged_by "
             "WHERE a.id = %ld AND u.username = 'manager1' AND a.acknowledged_at IS NOT NULL",
             alert);
    assert_int_equal(scalar(sql), 1);
    assert_int_equal(
        ehc_test_call(d.port, "GET", "/api/v1/alerts?status=maybe", EHC_TEST_TOKEN("manager1"), NULL, &r),
        400);
    ehc_test_response_free(&r);
}

static void test_case_shows_statutory_dates_and_is_walled_off_by_team_and_authority(void **state)
{
    long status;
    long id = open_case(EHC_TEST_TOKEN("officer1"), ", \"confirm_new_child\": true", &status, NULL);
    assert_int_equal(status, 201);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld", id);
    ehc_test_response r;
    assert_int_equal(ehc_test_call(d.port, "GET", path, EHC_TEST_TOKEN("officer1"), NULL, &r), 200);
    /* (the case document is PostgreSQL's JSON text: a space after each colon) */
    assert_non_null(strstr(r.body, "\"deadline\": \"decision_due\""));
    assert_non_null(strstr(r.body, "\"due_on\": \"2026-02-16\""));
    assert_non_null(strstr(r.body, "\"basis\": \"SEND Regulations 2014, reg 5(1)\""));
    assert_non_null(strstr(r.body, "\"due_on\": \"2026-05-25\"")); /* 20 weeks: a bank holiday, it stands */
    assert_non_null(strstr(r.body, "\"surname\": \"Example\""));
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", path, EHC_TEST_TOKEN("manager1"), NULL, &r), 200);
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", path, EHC_TEST_TOKEN("officer2"), NULL, &r),
                     403); /* same authority, other team */
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", path, EHC_TEST_TOKEN("officerb"), NULL, &r),
                     404); /* other authority: as if absent */
    assert_null(strstr(r.body, "Example"));
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", path, "X-None: 1", NULL, &r), 401);
    ehc_test_response_free(&r);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM access_log WHERE case_id = %ld AND action = 'read'", id);
    assert_true(scalar(sql) >= 2);
}

static void test_likely_duplicate_child_is_flagged_before_a_case_opens(void **state)
{
    long cases_before = scalar("SELECT count(*) FROM cases");
    long status;
    ehc_test_response r;
    open_case(EHC_TEST_TOKEN("officer1"), "", &status, &r);
    assert_int_equal(status, 409);
    assert_non_null(strstr(r.body, "\"code\":\"possible_duplicate\""));
    assert_non_null(strstr(r.body, "\"possible_duplicates\":[{"));
    ehc_test_response_free(&r);
    assert_int_equal(scalar("SELECT count(*) FROM cases"), cases_before);
}

static void test_events_need_the_right_role_and_the_current_version(void **state)
{
    long status;
    long id = open_case(EHC_TEST_TOKEN("officer1"), ", \"confirm_new_child\": true", &status, NULL);
    assert_int_equal(status, 201);
    set_clock("2026-02-20T09:00:00Z");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", id);
    const char *decide =
        "{\"type\": \"decision_to_assess\", \"effective_on\": \"2026-02-10\", \"expected_version\": 1, "
        "\"fields\": {\"decision\": \"yes\"}}";
    ehc_test_response r;
    /* the decision whether to assess is a manager's (the panel's), not an officer's */
    assert_int_equal(ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("officer1"), decide, &r), 403);
    ehc_test_response_free(&r);
    const char *h[] = {EHC_TEST_TOKEN("manager1"), "Content-Type: application/json",
                       "Idempotency-Key: decide-once", NULL};
    ehc_test_http(&r, "POST", d.port, path, decide, h);
    assert_int_equal(r.status, 201);
    assert_int_equal(json_number(r.body, "version"), 2);
    ehc_test_response_free(&r);
    /* the reply was lost: the same request again is answered, not applied twice */
    ehc_test_http(&r, "POST", d.port, path, decide, h);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"replayed\":true"));
    ehc_test_response_free(&r);
    /* another manager who read version 1 is told the case has moved on */
    assert_int_equal(ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("manager1"), decide, &r), 409);
    assert_int_equal(json_number(r.body, "current_version"), 2);
    ehc_test_response_free(&r);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM case_events WHERE case_id = %ld", id);
    assert_int_equal(scalar(sql), 2);
    snprintf(sql, sizeof sql,
             "SELECT status FROM deadlines WHERE case_id = %ld AND deadline_key = 'decision_due'", id);
    PGresult *res = PQexec(admin, sql);
    assert_string_equal(PQgetvalue(res, 0, 0), "met");
    PQclear(res);
    /* the decision resolved the alerts that had fired for it (the clock passed 2 and 9 February) */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM alerts a JOIN deadlines dl ON dl.id = a.deadline_id WHERE "
             "dl.case_id = %ld AND dl.deadline_key = 'decision_due' AND a.status <> 'resolved'",
             id);
    assert_int_equal(scalar(sql), 0);
}

static void test_bad_event_bodies_change_nothing(void **state)
{
    long status;
    long id = open_case(EHC_TEST_TOKEN("officer1"), ", \"confirm_new_child\": true", &status, NULL);
    assert_int_equal(status, 201);
    char path[64], big[9000];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", id);
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char huge[9200];
    snprintf(huge, sizeof huge,
             "{\"type\": \"%s\", \"effective_on\": \"2026-02-10\", \"expected_version\": 1}", big);
    struct {
        const char *body;
        long status;
        const char *expect;
    } cases[] = {
        {"{\"type\": \"withdrawn\"", 400, "malformed_json"},
        {"{\"type\": \"withdrawn\", \"effective_on\": \"2026-02-30\", \"expected_version\": 1}", 422,
         "\"field\":\"effective_on\""},
        {"{\"type\": \"withdrawn\", \"effective_on\": \"2026-02-10\"}", 422,
         "\"field\":\"expected_version\""},
        {"{\"type\": \"withdrawn\", \"effective_on\": \"2026-02-10\", \"expected_version\": \"1\"}", 422,
         "\"field\":\"expected_version\""},
        {"{\"type\": \"withdrawn\", \"effective_on\": \"2026-02-10\", \"expected_version\": 1, \"sneaky\": "
         "1}",
         422, "\"field\":\"sneaky\""},
        {"{\"type\": \"no_such_event'; DROP TABLE cases; --\", \"effective_on\": \"2026-02-10\", "
         "\"expected_version\": 1}",
         422, "\"field\":\"type\""},
        {huge, 422, "\"field\":\"type\""},
        {"{\"type\": \"decision_to_assess\", \"effective_on\": \"2026-02-10\", \"expected_version\": 1, "
         "\"fields\": {\"decision\": \"maybe\"}}",
         403, "role_forbidden"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ehc_test_response r;
        ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("officer1"), cases[i].body, &r);
        if (r.status != cases[i].status || !strstr(r.body, cases[i].expect)) {
            fprintf(stderr, "case %zu -> %ld %s\n", i, r.status, r.body);
            fail();
        }
        ehc_test_response_free(&r);
    }
    ehc_test_response r;
    ehc_test_call(
        d.port, "POST", path, EHC_TEST_TOKEN("manager1"),
        "{\"type\": \"decision_to_assess\", \"effective_on\": \"2026-02-10\", \"expected_version\": 1, "
        "\"fields\": {\"decision\": \"maybe\"}}",
        &r);
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(r.body, "\"field\":\"decision\""));
    ehc_test_response_free(&r);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM case_events WHERE case_id = %ld", id);
    assert_int_equal(scalar(sql), 1);
    ehc_test_http(&r, "GET", d.port, "/healthz", NULL, NULL);
    assert_int_equal(r.status, 200);
    ehc_test_response_free(&r);
}

static void test_case_list_is_scoped_and_filtered(void **state)
{
    ehc_test_response r;
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), NULL, &r),
                     200);
    assert_true(r.body[0] == '[' && strstr(r.body, "\"next_deadline\""));
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/cases", EHC_TEST_TOKEN("officer2"), NULL, &r),
                     200);
    assert_string_equal(r.body, "[]"); /* South has no cases */
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/cases", EHC_TEST_TOKEN("officerb"), NULL, &r),
                     200);
    assert_string_equal(r.body, "[]");
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/cases?overdue=true&stage=request",
                                   EHC_TEST_TOKEN("officer1"), NULL, &r),
                     200);
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/cases?due_within_days=abc",
                                   EHC_TEST_TOKEN("officer1"), NULL, &r),
                     400);
    assert_non_null(strstr(r.body, "\"field\":\"due_within_days\""));
    ehc_test_response_free(&r);
    assert_int_equal(
        ehc_test_call(d.port, "GET", "/api/v1/cases?colour=red", EHC_TEST_TOKEN("officer1"), NULL, &r), 400);
    ehc_test_response_free(&r);
    long south = scalar("SELECT id FROM teams WHERE name = 'South'");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases?team_id=%ld", south);
    assert_int_equal(ehc_test_call(d.port, "GET", path, EHC_TEST_TOKEN("officer1"), NULL, &r), 403);
    ehc_test_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_left_alone_raises_decision_alerts_on_the_statutory_dates),
        cmocka_unit_test(test_manager_lists_and_acknowledges_the_overdue_alert),
        cmocka_unit_test(test_case_shows_statutory_dates_and_is_walled_off_by_team_and_authority),
        cmocka_unit_test(test_likely_duplicate_child_is_flagged_before_a_case_opens),
        cmocka_unit_test(test_events_need_the_right_role_and_the_current_version),
        cmocka_unit_test(test_bad_event_bodies_change_nothing),
        cmocka_unit_test(test_case_list_is_scoped_and_filtered),
        cmocka_unit_test(test_manager_receives_the_overdue_alert_live_and_can_resume),
        cmocka_unit_test(test_forbidden_paths_are_refused_and_change_nothing),
        cmocka_unit_test(test_authority_admin_sees_and_requeues_delivery_failures),
        cmocka_unit_test(test_officer_finds_a_child_by_identifier_or_name_within_their_authority),
        cmocka_unit_test(test_manager_sees_the_caseload_and_unallocated_queue),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
