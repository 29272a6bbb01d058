/* Bad input over real sockets, against ehcd on a real PostgreSQL: malformed and mistyped JSON,
 * unknown members, impossible dates, SQL metacharacters, NUL escapes, invalid UTF-8, duplicate
 * members, oversized bodies, URLs and headers, deep nesting, and clients that are slow, stop half
 * way, send nothing or vanish. Each gets a 4xx naming the field where there is one, or is dropped
 * within the request timeout; afterwards ehcd still answers, nothing was written (cases,
 * case_events, children, access_log), and no answer carries a child's personal data. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testlib.h"

/* the daemon of this suite gives a client this long to send a request (EHCD_REQUEST_TIMEOUT_MS) */
#define REQUEST_TIMEOUT_MS 1500

#define JSON "Content-Type: application/json"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;
/* case_id takes every bad request and stays at version 1; control_id takes the good writes */
static long north, case_id, control_id, other_case_id;
static char case_path[64], events_path[64], control_path[64], other_events_path[64];

/* Personal data of the two children: no answer to bad input may carry any of it. The officer's own
 * child appears only where they read their own case. */
static const char *const personal[] = {"Example",    "Samwise", "9434765919", "2019-04-02",
                                       "Hiddenname", "Zebedee", "4010232137", "2018-07-09"};

#define GRANT_OFFICER(authority, team)                                                                       \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, 'officer', "                \
    "t.authority_id, t.id FROM users u, teams t JOIN local_authorities a ON a.id = t.authority_id "          \
    "WHERE u.username = '%s' AND a.dfe_code = '" authority "' AND t.name = '" team "'"

/* Everything a request could have written, as one comparable line. */
static void written(char out[256])
{
    PGresult *r = PQexec(admin, "SELECT format('cases %s, case_events %s, children %s, access_log %s, "
                                "idempotency %s', (SELECT count(*) FROM cases), (SELECT count(*) FROM "
                                "case_events), (SELECT count(*) FROM children), (SELECT count(*) FROM "
                                "access_log), (SELECT count(*) FROM case_events WHERE idempotency_key IS "
                                "NOT NULL))");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(out, 256, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

static void no_personal_data(const char *what, const char *text)
{
    for (size_t i = 0; i < sizeof personal / sizeof personal[0]; i++) {
        if (strstr(text, personal[i])) {
            fprintf(stderr, "%s: the answer carries personal data (%s):\n%.2000s\n", what, personal[i], text);
            fail();
        }
    }
}

/* ---- a raw HTTP/1.1 client ------------------------------------------------------------------------ */

typedef struct raw_reply {
    long status; /* 0: no status line arrived */
    int closed;  /* the server closed the connection */
    char *text;  /* what arrived, NUL-terminated */
    size_t len;
    int64_t elapsed_ms;
} raw_reply;

static int connect_daemon(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)d.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* The reply is complete once its headers and Content-Length bytes of body have arrived. */
static int reply_complete(const raw_reply *r)
{
    const char *end = strstr(r->text, "\r\n\r\n");
    if (!end) return 0;
    const char *cl = strstr(r->text, "\r\ncontent-length:"); /* h2o writes names in lower case */
    if (!cl || cl > end) return 0;
    size_t want = (size_t)atol(cl + 17);
    return r->len - (size_t)(end + 4 - r->text) >= want;
}

static void reply_read(int fd, raw_reply *r, size_t *cap)
{
    if (r->len + 65536 > *cap) {
        *cap = (r->len + 65536) * 2;
        r->text = realloc(r->text, *cap);
    }
    ssize_t n = recv(fd, r->text + r->len, *cap - r->len - 1, 0);
    if (n <= 0) {
        r->closed = 1;
        return;
    }
    r->len += (size_t)n;
    r->text[r->len] = '\0';
}

/* Sends len bytes (interleaving reads, so an early answer such as 413 is not lost), then waits up
 * to wait_ms for a complete reply or the server's close. */
static void raw_exchange(int fd, const char *data, size_t len, int wait_ms, raw_reply *r)
{
    memset(r, 0, sizeof *r);
    size_t cap = 65536, sent = 0;
    r->text = calloc(1, cap);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int64_t t0 = ehc_test_now_ms();
    while (!r->closed && !reply_complete(r)) {
        int64_t left = wait_ms - (ehc_test_now_ms() - t0);
        if (left <= 0) break;
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0)};
        if (poll(&p, 1, (int)(left < 100 ? left : 100)) <= 0) continue;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) reply_read(fd, r, &cap);
        if (!r->closed && sent < len && (p.revents & POLLOUT)) {
            ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (errno != EAGAIN)
                sent = len; /* the server is gone from this socket: read what it said */
        }
    }
    r->elapsed_ms = ehc_test_now_ms() - t0;
    if (strncmp(r->text, "HTTP/1.1 ", 9) == 0) r->status = atol(r->text + 9);
}

static void raw_free(raw_reply *r)
{
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* One request on a new connection: the request line and headers, then the body as given. */
static long raw_request(const char *method, const char *path, const char *headers, const char *body,
                        size_t body_len, raw_reply *r)
{
    size_t plen = strlen(path), hlen = strlen(headers);
    char *req = malloc(plen + hlen + body_len + 256);
    int n = snprintf(req, plen + hlen + 256,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\n%s%sContent-Length: %zu\r\n\r\n", method, path,
                     headers, *headers ? "\r\n" : "", body_len);
    memcpy(req + n, body, body_len);
    int fd = connect_daemon();
    raw_exchange(fd, req, (size_t)n + body_len, 10000, r);
    close(fd);
    free(req);
    return r->status;
}

/* ---- the checks after each bad request -------------------------------------------------------------- */

/* ehcd still answers /healthz and a valid request, and nothing was written since `before`. */
static void still_serving_and_nothing_written(const char *before, const char *what)
{
    ehc_test_response r;
    ehc_test_http(&r, "GET", d.port, "/healthz", NULL, NULL);
    if (r.status != 200) {
        fprintf(stderr, "after %s: /healthz -> %ld (log %s)\n", what, r.status, d.log_path);
        fail();
    }
    ehc_test_response_free(&r);
    /* a valid read that writes nothing itself: the case list */
    if (ehc_test_call(d.port, "GET", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), NULL, &r) != 200) {
        fprintf(stderr, "after %s: GET /api/v1/cases -> %ld %s\n", what, r.status, r.body);
        fail();
    }
    ehc_test_response_free(&r);
    char after[256];
    written(after);
    if (strcmp(before, after) != 0) {
        fprintf(stderr, "after %s something was written:\n  before: %s\n  after:  %s\n", what, before, after);
        fail();
    }
}

typedef struct bad_case {
    const char *body;
    long status;
    const char *code;  /* the error code expected in the JSON body */
    const char *field; /* the field it names, or NULL for "field":null */
} bad_case;

/* An answer a client can act on: the status, a JSON error with the code, naming the field. */
static void expect_error(const char *what, long status, const char *body, long want_status, const char *code,
                         const char *field)
{
    char want_code[96], want_field[160];
    snprintf(want_code, sizeof want_code, "\"code\":\"%s\"", code);
    if (field)
        snprintf(want_field, sizeof want_field, "\"field\":\"%s\"", field);
    else
        snprintf(want_field, sizeof want_field, "\"field\":null");
    if (status != want_status || !strstr(body, want_code) || !strstr(body, want_field) ||
        !strstr(body, "\"request_id\":")) {
        fprintf(stderr, "%s -> %ld %.600s\n  expected %ld with %s and %s\n", what, status, body, want_status,
                want_code, want_field);
        fail();
    }
    no_personal_data(what, body);
}

static void post_each(const char *path, const bad_case *cases, size_t n)
{
    char before[256];
    written(before);
    for (size_t i = 0; i < n; i++) {
        ehc_test_response r;
        ehc_test_call(d.port, "POST", path, EHC_TEST_TOKEN("officer1"), cases[i].body, &r);
        char what[400];
        snprintf(what, sizeof what, "POST %s %.300s", path, cases[i].body);
        expect_error(what, r.status, r.body, cases[i].status, cases[i].code, cases[i].field);
        ehc_test_response_free(&r);
    }
    still_serving_and_nothing_written(before, path);
}

/* ---- the fixture --------------------------------------------------------------------------------- */

static const char *open_body_fmt =
    "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": {\"forename\": \"%s\", \"surname\": \"%s\", "
    "\"date_of_birth\": \"%s\", \"nhs_number\": \"%s\"}, \"request\": {\"effective_on\": \"2026-02-20\", "
    "\"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": "
    "\"2026-02-20T10:30\"}}}";

static long open_case(const char *token, long team, const char *forename, const char *surname,
                      const char *dob, const char *nhs)
{
    char body[2048];
    snprintf(body, sizeof body, open_body_fmt, team, forename, surname, dob, nhs);
    ehc_test_response r;
    ehc_test_call(d.port, "POST", "/api/v1/cases", token, body, &r);
    if (r.status != 201) {
        fprintf(stderr, "open -> %ld %s\n", r.status, r.body);
        fail();
    }
    const char *id = strstr(r.body, "\"id\":");
    assert_non_null(id);
    long v = atol(id + 5);
    ehc_test_response_free(&r);
    return v;
}

static int setup(void **state)
{
    admin = ehc_test_migrated_database("ehc_bad_input", &db_url);
    ehc_test_exec(
        admin,
        "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham'), ('357', 'Tameside')");
    ehc_test_exec(
        admin,
        "INSERT INTO teams (authority_id, name) SELECT id, 'North' FROM local_authorities WHERE dfe_code "
        "= '353'");
    ehc_test_exec(
        admin,
        "INSERT INTO teams (authority_id, name) SELECT id, 'East' FROM local_authorities WHERE dfe_code "
        "= '357'");
    ehc_test_add_user(admin, "officer1", false, GRANT_OFFICER("353", "North"));
    ehc_test_add_user(admin, "officerb", false, GRANT_OFFICER("357", "East"));
    ehc_test_add_user(admin, "admin", true, NULL);
    char env_timeout[64];
    snprintf(env_timeout, sizeof env_timeout, "EHCD_REQUEST_TIMEOUT_MS=%d", REQUEST_TIMEOUT_MS);
    ehc_test_daemon_serve(&d, db_url, (const char *const[]){"--sim-clock=2025-01-01T00:00:00Z", NULL},
                          (const char *const[]){env_timeout, NULL});

    ehc_test_response r;
    ehc_test_call(d.port, "POST", "/admin/clock", EHC_TEST_TOKEN("admin"),
                  "{\"now\": \"2026-03-02T12:00:00Z\"}", &r);
    assert_int_equal(r.status, 200);
    ehc_test_response_free(&r);
    north = ehc_test_scalar(admin, "SELECT id FROM teams WHERE name = 'North'");
    long east = ehc_test_scalar(admin, "SELECT id FROM teams WHERE name = 'East'");
    case_id = open_case(EHC_TEST_TOKEN("officer1"), north, "Samwise", "Example", "2019-04-02", "9434765919");
    other_case_id =
        open_case(EHC_TEST_TOKEN("officerb"), east, "Zebedee", "Hiddenname", "2018-07-09", "4010232137");
    snprintf(case_path, sizeof case_path, "/api/v1/cases/%ld", case_id);
    snprintf(events_path, sizeof events_path, "/api/v1/cases/%ld/events", case_id);
    snprintf(other_events_path, sizeof other_events_path, "/api/v1/cases/%ld/events", other_case_id);
    /* a second case for the same child */
    char body[1024];
    snprintf(body, sizeof body,
             "{\"team_id\": %ld, \"child_id\": %ld, \"request\": {\"effective_on\": \"2026-02-20\", "
             "\"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": "
             "\"2026-02-20T10:30\"}}}",
             north, ehc_test_scalar(admin, "SELECT child_id FROM cases WHERE id = %ld", case_id));
    ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), body, &r);
    assert_int_equal(r.status, 201);
    control_id = atol(strstr(r.body, "\"id\":") + 5);
    ehc_test_response_free(&r);
    snprintf(control_path, sizeof control_path, "/api/v1/cases/%ld/events", control_id);
    return 0;
}

static int teardown(void **state)
{
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

/* A valid event on the control case: ehcd still takes writes. */
static long record_valid_event(void)
{
    long version = ehc_test_scalar(admin, "SELECT version FROM cases WHERE id = %ld", control_id);
    char body[256];
    snprintf(body, sizeof body,
             "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": %ld, "
             "\"fields\": {\"body\": \"icb\"}}",
             version);
    long logged = ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'write'");
    ehc_test_response r;
    long status = ehc_test_call(d.port, "POST", control_path, EHC_TEST_TOKEN("officer1"), body, &r);
    if (status != 201) fprintf(stderr, "valid event -> %ld %s\n", status, r.body);
    ehc_test_response_free(&r);
    /* the write's line in the access log follows the answer */
    for (int i = 0; i < 100 && status == 201; i++) {
        if (ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'write'") == logged + 1)
            return status;
        usleep(20 * 1000);
    }
    fprintf(stderr, "the write was not logged in access_log\n");
    fail();
    return status;
}

/* ---- bodies ---------------------------------------------------------------------------------------- */

static void test_malformed_json_is_400_and_a_body_that_is_not_an_object_422(void **state)
{
    static const bad_case cases[] = {
        {"{", 400, "malformed_json", NULL},
        {"{\"type\": }", 400, "malformed_json", NULL},
        {"{\"type\": \"notification_sent\",}", 400, "malformed_json", NULL},
        {"{'type': 'notification_sent'}", 400, "malformed_json", NULL},
        {"{\"type\": \"notification_sent\"} trailing", 400, "malformed_json", NULL},
        {"{\"expected_version\": NaN}", 400, "malformed_json", NULL},
        {"{\"type\": \"a\\qb\"}", 400, "malformed_json", NULL},
        {"{\"type\": \"\\ud800\"}", 400, "malformed_json", NULL},
        {"", 400, "malformed_json", NULL},
        {"[]", 422, "invalid_body", NULL},
        {"\"notification_sent\"", 422, "invalid_body", NULL},
        {"null", 422, "invalid_body", NULL},
    };
    post_each(events_path, cases, sizeof cases / sizeof cases[0]);
    post_each("/api/v1/cases", cases, sizeof cases / sizeof cases[0]);
    /* not JSON at all */
    char before[256];
    written(before);
    const char *h[] = {EHC_TEST_TOKEN("officer1"), "Content-Type: text/plain", NULL};
    ehc_test_response r;
    ehc_test_http(&r, "POST", d.port, events_path, "type=notification_sent", h);
    expect_error("text/plain body", r.status, r.body, 415, "unsupported_media_type", NULL);
    ehc_test_response_free(&r);
    still_serving_and_nothing_written(before, "a text/plain body");
}

static void test_every_member_of_an_event_with_the_wrong_type_is_422_naming_it(void **state)
{
#define EV(t, on, v, f) "{\"type\": " t ", \"effective_on\": " on ", \"expected_version\": " v f "}"
#define OK_T "\"notification_sent\""
#define OK_ON "\"2026-02-25\""
    static const bad_case cases[] = {
        {EV("5", OK_ON, "1", ""), 422, "invalid_field", "type"},
        {EV("null", OK_ON, "1", ""), 422, "invalid_field", "type"},
        {EV("[\"notification_sent\"]", OK_ON, "1", ""), 422, "invalid_field", "type"},
        {EV("{}", OK_ON, "1", ""), 422, "invalid_field", "type"},
        {EV("\"\"", OK_ON, "1", ""), 422, "invalid_field", "type"},
        {EV("true", OK_ON, "1", ""), 422, "invalid_field", "type"},
        {EV(OK_T, "20260225", "1", ""), 422, "invalid_field", "effective_on"},
        {EV(OK_T, "null", "1", ""), 422, "invalid_field", "effective_on"},
        {EV(OK_T, "[2026, 2, 25]", "1", ""), 422, "invalid_field", "effective_on"},
        {EV(OK_T, "{\"date\": \"2026-02-25\"}", "1", ""), 422, "invalid_field", "effective_on"},
        {EV(OK_T, OK_ON, "\"1\"", ""), 422, "invalid_field", "expected_version"},
        {EV(OK_T, OK_ON, "1.5", ""), 422, "invalid_field", "expected_version"},
        {EV(OK_T, OK_ON, "-1", ""), 422, "invalid_field", "expected_version"},
        {EV(OK_T, OK_ON, "1e300", ""), 422, "invalid_field", "expected_version"},
        {EV(OK_T, OK_ON, "true", ""), 422, "invalid_field", "expected_version"},
        {EV(OK_T, OK_ON, "null", ""), 422, "invalid_field", "expected_version"},
        {EV(OK_T, OK_ON, "[1]", ""), 422, "invalid_field", "expected_version"},
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": 5}"), 422, "field_invalid", "body"},
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": [\"icb\"]}"), 422, "field_invalid", "body"},
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": {\"x\": \"icb\"}}"), 422, "field_invalid", "body"},
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": null}"), 422, "field_invalid", "body"},
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": true}"), 422, "field_invalid", "body"},
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": \"nobody\"}"), 422, "field_invalid", "body"},
        {EV(OK_T, OK_ON, "1", ", \"fields\": {}"), 422, "field_missing", "body"},
    };
    post_each(events_path, cases, sizeof cases / sizeof cases[0]);
    assert_int_equal(record_valid_event(), 201); /* the case still takes a good event */
}

/* An opening body with one member replaced. */
static char *open_with(const char *team, const char *child, const char *request, const char *extra)
{
    char *out = malloc(4096);
    snprintf(out, 4096, "{\"team_id\": %s%s, \"child\": %s, \"request\": %s%s}", team,
             strstr(extra, "confirm_new_child") ? "" : ", \"confirm_new_child\": true", child, request,
             extra);
    return out;
}

#define CHILD(fn, sn, dob, more)                                                                             \
    "{\"forename\": " fn ", \"surname\": " sn ", \"date_of_birth\": " dob more "}"
#define GOOD_CHILD CHILD("\"Ann\"", "\"Other\"", "\"2019-05-06\"", "")
#define REQ(on, fields) "{\"effective_on\": " on ", \"fields\": " fields "}"
#define GOOD_FIELDS                                                                                          \
    "{\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": \"2026-02-20T10:30\"}"
#define GOOD_REQ REQ("\"2026-02-20\"", GOOD_FIELDS)

static void post_opens(const char *const (*bodies)[4], size_t n)
{
    char before[256];
    written(before);
    for (size_t i = 0; i < n; i++) {
        ehc_test_response r;
        ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), bodies[i][0], &r);
        char what[600];
        snprintf(what, sizeof what, "POST /api/v1/cases %.500s", bodies[i][0]);
        expect_error(what, r.status, r.body, atol(bodies[i][1]), bodies[i][2], bodies[i][3]);
        ehc_test_response_free(&r);
    }
    still_serving_and_nothing_written(before, "bad openings");
}

static void test_every_member_of_an_opening_with_the_wrong_type_is_422_naming_it(void **state)
{
    char team[24];
    snprintf(team, sizeof team, "%ld", north);
    struct {
        const char *team, *child, *request, *extra;
        long status;
        const char *code, *field;
    } rows[] = {
        {"\"1\"", GOOD_CHILD, GOOD_REQ, "", 422, "invalid_field", "team_id"},
        {"1.5", GOOD_CHILD, GOOD_REQ, "", 422, "invalid_field", "team_id"},
        {"-3", GOOD_CHILD, GOOD_REQ, "", 422, "invalid_field", "team_id"},
        {"true", GOOD_CHILD, GOOD_REQ, "", 422, "invalid_field", "team_id"},
        {"[1]", GOOD_CHILD, GOOD_REQ, "", 422, "invalid_field", "team_id"},
        {"null", GOOD_CHILD, GOOD_REQ, "", 422, "invalid_field", "team_id"},
        {team, GOOD_CHILD, GOOD_REQ, ", \"authority_id\": \"353\"", 422, "invalid_field", "authority_id"},
        {team, GOOD_CHILD, GOOD_REQ, ", \"officer_id\": {}", 422, "invalid_field", "officer_id"},
        {team, GOOD_CHILD, GOOD_REQ, ", \"child_id\": \"1\"", 422, "invalid_field", "child_id"},
        {team, GOOD_CHILD, GOOD_REQ, ", \"workflow\": 5", 422, "invalid_field", "workflow"},
        {team, GOOD_CHILD, GOOD_REQ, ", \"workflow\": [\"ehc-needs-assessment\"]", 422, "invalid_field",
         "workflow"},
        {team, GOOD_CHILD, GOOD_REQ, ", \"workflow\": \"'; DROP TABLE cases; --\"", 422, "invalid_field",
         "workflow"},
        {team, GOOD_CHILD, GOOD_REQ, ", \"confirm_new_child\": \"yes\"", 422, "invalid_field",
         "confirm_new_child"},
        {team, "\"Ann Other\"", GOOD_REQ, "", 422, "invalid_field", "child"},
        {team, "[\"Ann\"]", GOOD_REQ, "", 422, "invalid_field", "child"},
        {team, CHILD("5", "\"Other\"", "\"2019-05-06\"", ""), GOOD_REQ, "", 422, "invalid_field",
         "child.forename"},
        {team, CHILD("\"Ann\"", "null", "\"2019-05-06\"", ""), GOOD_REQ, "", 422, "invalid_field",
         "child.surname"},
        {team, CHILD("\"Ann\"", "[\"Other\"]", "\"2019-05-06\"", ""), GOOD_REQ, "", 422, "invalid_field",
         "child.surname"},
        {team, CHILD("\"Ann\"", "\"Other\"", "20190506", ""), GOOD_REQ, "", 422, "invalid_field",
         "child.date_of_birth"},
        {team, CHILD("\"Ann\"", "\"Other\"", "\"2019-05-06\"", ", \"nhs_number\": 9434765870"), GOOD_REQ, "",
         422, "invalid_field", "child.nhs_number"},
        {team, CHILD("\"Ann\"", "\"Other\"", "\"2019-05-06\"", ", \"upn\": true"), GOOD_REQ, "", 422,
         "invalid_field", "child.upn"},
        {team, CHILD("\"Ann\"", "\"Other\"", "\"2019-05-06\"", ", \"sex\": 1"), GOOD_REQ, "", 422,
         "invalid_field", "child.sex"},
        {team, CHILD("\"Ann\"", "\"Other\"", "\"2019-05-06\"", ", \"postcode\": [\"OL1 1AA\"]"), GOOD_REQ, "",
         422, "invalid_field", "child.postcode"},
        {team, CHILD("\"Ann\"", "\"Other\"", "\"2019-05-06\"", ", \"interpreter_needed\": \"yes\""), GOOD_REQ,
         "", 422, "invalid_field", "child.interpreter_needed"},
        {team, CHILD("\"Ann\"", "\"Other\"", "\"2019-05-06\"", ", \"young_person_acts_for_self\": 1"),
         GOOD_REQ, "", 422, "invalid_field", "child.young_person_acts_for_self"},
        {team, GOOD_CHILD, "\"2026-02-20\"", "", 422, "invalid_field", "request"},
        {team, GOOD_CHILD, "null", "", 422, "invalid_field", "request"},
        {team, GOOD_CHILD, REQ("20260220", GOOD_FIELDS), "", 422, "invalid_field", "request.effective_on"},
        {team, GOOD_CHILD,
         REQ("\"2026-02-20\"", "{\"requested_by\": 3, \"channel\": \"email\", "
                               "\"received_at\": \"2026-02-20T10:30\"}"),
         "", 422, "field_invalid", "requested_by"},
        {team, GOOD_CHILD,
         REQ("\"2026-02-20\"", "{\"requested_by\": \"parent\", \"channel\": \"email\", "
                               "\"received_at\": 20260220}"),
         "", 422, "field_invalid", "received_at"},
    };
    char before[256];
    written(before);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *body = open_with(rows[i].team, rows[i].child, rows[i].request, rows[i].extra);
        ehc_test_response r;
        ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), body, &r);
        char what[600];
        snprintf(what, sizeof what, "POST /api/v1/cases %.500s", body);
        expect_error(what, r.status, r.body, rows[i].status, rows[i].code, rows[i].field);
        ehc_test_response_free(&r);
        free(body);
    }
    still_serving_and_nothing_written(before, "mistyped openings");
}

static void test_unknown_members_anywhere_are_422_naming_them(void **state)
{
    static const bad_case events[] = {
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": \"icb\"}, \"sneaky\": 1"), 422, "invalid_field",
         "sneaky"},
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": \"icb\"}, \"Type\": \"withdrawn\""), 422,
         "invalid_field", "Type"},
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": \"icb\", \"by\": \"me\"}"), 422, "field_unknown",
         "by"},
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": \"icb\"}, \"\": 1"), 422, "invalid_field", ""},
    };
    post_each(events_path, events, sizeof events / sizeof events[0]);
    char team[24];
    snprintf(team, sizeof team, "%ld", north);
    char *b1 = open_with(team, GOOD_CHILD, GOOD_REQ, ", \"status\": \"closed\"");
    char *b2 = open_with(team, CHILD("\"Ann\"", "\"Other\"", "\"2019-05-06\"", ", \"address\": \"1 Road\""),
                         GOOD_REQ, "");
    char *b3 = open_with(team, GOOD_CHILD, "{\"effective_on\": \"2026-02-20\", \"when\": 1}", "");
    char *b4 = open_with(team, GOOD_CHILD,
                         REQ("\"2026-02-20\"", "{\"requested_by\": \"parent\", \"channel\": \"email\", "
                                               "\"received_at\": \"2026-02-20T10:30\", \"note\": \"x\"}"),
                         "");
    const char *const opens[][4] = {
        {b1, "422", "invalid_field", "status"},
        {b2, "422", "invalid_field", "child.address"},
        {b3, "422", "invalid_field", "request.when"},
        {b4, "422", "field_unknown", "note"},
    };
    post_opens(opens, sizeof opens / sizeof opens[0]);
    free(b1);
    free(b2);
    free(b3);
    free(b4);
}

static void test_impossible_dates_are_422_naming_the_field(void **state)
{
    static const char *const dates[] = {"2026-02-30",       "2025-02-29",    "2026-13-01", "2026-00-10",
                                        "2026-01-32",       "0000-01-01",    "2026-1-1",   "26-01-01",
                                        "2026-01-01T00:00", " 2026-01-01",   "2026/01/01", "",
                                        "+2026-01-01",      "2026-01-01\\n", "99999-01-01"};
    char before[256];
    written(before);
    char team[24];
    snprintf(team, sizeof team, "%ld", north);
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        char body[1024], what[1100];
        ehc_test_response r;
        snprintf(body, sizeof body,
                 "{\"type\": \"notification_sent\", \"effective_on\": \"%s\", \"expected_version\": 1, "
                 "\"fields\": {\"body\": \"icb\"}}",
                 dates[i]);
        ehc_test_call(d.port, "POST", events_path, EHC_TEST_TOKEN("officer1"), body, &r);
        snprintf(what, sizeof what, "event on %s", dates[i]);
        expect_error(what, r.status, r.body, 422, "invalid_field", "effective_on");
        ehc_test_response_free(&r);

        char child[256], req[512];
        snprintf(child, sizeof child,
                 "{\"forename\": \"Ann\", \"surname\": \"Other\", \"date_of_birth\": \"%s\"}", dates[i]);
        char *b = open_with(team, child, GOOD_REQ, "");
        ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), b, &r);
        snprintf(what, sizeof what, "child born on %s", dates[i]);
        expect_error(what, r.status, r.body, 422, "invalid_field", "child.date_of_birth");
        ehc_test_response_free(&r);
        free(b);

        snprintf(req, sizeof req, "{\"effective_on\": \"%s\", \"fields\": %s}", dates[i], GOOD_FIELDS);
        b = open_with(team, GOOD_CHILD, req, "");
        ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), b, &r);
        snprintf(what, sizeof what, "request on %s", dates[i]);
        expect_error(what, r.status, r.body, 422, "invalid_field", "request.effective_on");
        ehc_test_response_free(&r);
        free(b);
    }
    /* a date-time field of the workflow */
    char *b = open_with(team, GOOD_CHILD,
                        REQ("\"2026-02-20\"", "{\"requested_by\": \"parent\", \"channel\": \"email\", "
                                              "\"received_at\": \"2026-02-30T10:30\"}"),
                        "");
    ehc_test_response r;
    ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), b, &r);
    expect_error("received 30 February", r.status, r.body, 422, "field_invalid", "received_at");
    ehc_test_response_free(&r);
    free(b);
    still_serving_and_nothing_written(before, "impossible dates");
}

/* ---- text that might be taken for SQL or worse --------------------------------------------------- */

static const char *const hostile[] = {
    "'; DROP TABLE cases; --", "%", "\\\\", "%' OR '1'='1", "\\\"); DELETE FROM case_events; --", "$1", "_"};

static void test_sql_metacharacters_in_checked_fields_are_refused_and_touch_nothing(void **state)
{
    char before[256];
    written(before);
    char team[24];
    snprintf(team, sizeof team, "%ld", north);
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        const char *s = hostile[i];
        char body[1024], child[512], what[1200];
        ehc_test_response r;
        struct {
            const char *fmt;
            const char *field;
            const char *code;
        } events[] = {
            {"{\"type\": \"%s\", \"effective_on\": \"2026-02-25\", \"expected_version\": 1}", "type",
             "invalid_field"},
            {"{\"type\": \"notification_sent\", \"effective_on\": \"%s\", \"expected_version\": 1}",
             "effective_on", "invalid_field"},
            {"{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": 1, "
             "\"fields\": {\"body\": \"%s\"}}",
             "body", "field_invalid"},
        };
        for (size_t e = 0; e < sizeof events / sizeof events[0]; e++) {
            snprintf(body, sizeof body, events[e].fmt, s);
            ehc_test_call(d.port, "POST", events_path, EHC_TEST_TOKEN("officer1"), body, &r);
            snprintf(what, sizeof what, "POST events %s", body);
            expect_error(what, r.status, r.body, 422, events[e].code, events[e].field);
            ehc_test_response_free(&r);
        }
        static const char *const child_fields[] = {"nhs_number", "upn", "sex", "setting_urn", "postcode"};
        for (size_t f = 0; f < sizeof child_fields / sizeof child_fields[0]; f++) {
            snprintf(child, sizeof child,
                     "{\"forename\": \"Ann\", \"surname\": \"Other\", \"date_of_birth\": \"2019-05-06\", "
                     "\"%s\": \"%s\"}",
                     child_fields[f], s);
            char *b = open_with(team, child, GOOD_REQ, "");
            ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), b, &r);
            char field[64];
            snprintf(field, sizeof field, "child.%s", child_fields[f]);
            snprintf(what, sizeof what, "POST cases %s", b);
            expect_error(what, r.status, r.body, 422, "invalid_field", field);
            ehc_test_response_free(&r);
            free(b);
        }
        /* the Idempotency-Key is opaque text: a hostile one on a refused event changes nothing */
        char idem[256];
        snprintf(idem, sizeof idem, "Idempotency-Key: %s", s);
        const char *h[] = {EHC_TEST_TOKEN("officer1"), JSON, idem, NULL};
        ehc_test_http(&r, "POST", d.port, events_path,
                      "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", "
                      "\"expected_version\": 1, \"fields\": {\"body\": \"nobody\"}}",
                      h);
        expect_error("hostile idempotency key", r.status, r.body, 422, "field_invalid", "body");
        ehc_test_response_free(&r);
    }
    still_serving_and_nothing_written(before, "SQL metacharacters in bodies");
}

static void test_sql_metacharacters_in_query_parameters_are_inert(void **state)
{
    char before[256];
    written(before);
    struct {
        const char *path;
        long status;
        const char *field;
    } rows[] = {
        /* free text: matched literally, finding nothing */
        {"/api/v1/cases?stage=%27%3B%20DROP%20TABLE%20cases%3B%20--", 200, NULL},
        {"/api/v1/cases?stage=%25", 200, NULL},
        {"/api/v1/cases?stage=%5C", 200, NULL},
        {"/api/v1/cases?stage=_", 200, NULL},
        {"/api/v1/children?surname=%27%3B%20DROP%20TABLE%20children%3B%20--", 200, NULL},
        {"/api/v1/children?surname=%25", 200, NULL},
        {"/api/v1/children?surname=_xample", 200, NULL},
        {"/api/v1/children?surname=%5C", 200, NULL},
        /* checked values: refused, naming the parameter */
        {"/api/v1/cases?team_id=1%20OR%201%3D1", 400, "team_id"},
        {"/api/v1/cases?officer_id=%27", 400, "officer_id"},
        {"/api/v1/cases?limit=%25", 400, "limit"},
        {"/api/v1/cases?due_within_days=1;DROP", 400, "due_within_days"},
        {"/api/v1/cases?overdue=true%27", 400, "overdue"},
        {"/api/v1/cases?%27%3B--=1", 400, "';--"},
        {"/api/v1/children?nhs_number=%27%3B%20--", 400, "nhs_number"},
        {"/api/v1/children?date_of_birth=2019-04-02%27--&surname=x", 400, "date_of_birth"},
        /* an encoded NUL, a broken escape */
        {"/api/v1/cases?stage=request%00x", 400, NULL},
        {"/api/v1/cases?stage=%zz", 400, NULL},
        {"/api/v1/cases?stage=%2", 400, NULL},
        {"/api/v1/children?surname=Example%00", 400, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ehc_test_response r;
        ehc_test_call(d.port, "GET", rows[i].path, EHC_TEST_TOKEN("officer1"), NULL, &r);
        if (rows[i].status == 200) {
            if (r.status != 200 || strcmp(r.body, "[]") != 0) {
                fprintf(stderr, "GET %s -> %ld %s (expected 200 [])\n", rows[i].path, r.status, r.body);
                fail();
            }
        } else if (rows[i].field) {
            expect_error(rows[i].path, r.status, r.body, 400, "invalid_query", rows[i].field);
        } else if (r.status != 400 || !strstr(r.body, "\"code\":\"invalid_query\"")) {
            fprintf(stderr, "GET %s -> %ld %s (expected 400 invalid_query)\n", rows[i].path, r.status,
                    r.body);
            fail();
        }
        no_personal_data(rows[i].path, r.body);
        ehc_test_response_free(&r);
    }
    still_serving_and_nothing_written(before, "SQL metacharacters in query parameters");
}

/* Names are free text: metacharacters are a name like any other (O'Brien), kept exactly. */
static void test_names_with_metacharacters_are_stored_exactly_as_sent(void **state)
{
    char team[24];
    snprintf(team, sizeof team, "%ld", north);
    char *b = open_with(team,
                        CHILD("\"'; DROP TABLE cases; --\"", "\"O'Brien %_\\\\\"", "\"2019-05-06\"",
                              ", \"first_language\": \"$1 \\\"; --\", \"postcode\": \"OL1 1AA\""),
                        GOOD_REQ, "");
    long cases = ehc_test_scalar(admin, "SELECT count(*) FROM cases");
    ehc_test_response r;
    ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), b, &r);
    free(b);
    if (r.status != 201) fprintf(stderr, "-> %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    ehc_test_response_free(&r);
    assert_int_equal(
        ehc_test_scalar(
            admin,
            "SELECT count(*) FROM children WHERE forename = '''; DROP TABLE cases; --' "
            "AND surname = 'O''Brien %%_\\' AND first_language = '$1 \"; --' AND postcode = 'OL1 1AA'"),
        1);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM cases"), cases + 1);
}

static void test_nul_characters_are_refused_naming_the_field(void **state)
{
    static const bad_case events[] = {
        {"{\"type\": \"notification_sent\\u0000'; DROP TABLE cases; --\", \"effective_on\": \"2026-02-25\", "
         "\"expected_version\": 1, \"fields\": {\"body\": \"icb\"}}",
         422, "invalid_text", "type"},
        {"{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\\u0000\", "
         "\"expected_version\": 1, \"fields\": {\"body\": \"icb\"}}",
         422, "invalid_text", "effective_on"},
        {"{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", "
         "\"expected_version\": 1, \"fields\": {\"body\": \"icb\\u0000\"}}",
         422, "invalid_text", "fields.body"},
        {"{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", "
         "\"expected_version\": 1, \"fields\": {\"body\\u0000x\": \"icb\"}}",
         422, "invalid_text", "fields"},
    };
    post_each(events_path, events, sizeof events / sizeof events[0]);
    char team[24];
    snprintf(team, sizeof team, "%ld", north);
    char *b1 = open_with(team, CHILD("\"Ann\\u0000\"", "\"Other\"", "\"2019-05-06\"", ""), GOOD_REQ, "");
    char *b2 = open_with(
        team, CHILD("\"Ann\"", "\"Other\\u0000; DROP TABLE children\"", "\"2019-05-06\"", ""), GOOD_REQ, "");
    char *b3 =
        open_with(team, GOOD_CHILD,
                  REQ("\"2026-02-20\"", "{\"requested_by\": \"parent\\u0000\", \"channel\": \"email\", "
                                        "\"received_at\": \"2026-02-20T10:30\"}"),
                  "");
    /* an escaped backslash before "u0000" is text, not a NUL: this one fails only on the name */
    char *b4 = open_with(
        team, CHILD("\"Ann\"", "\"Other\"", "\"2019-05-06\"", ", \"postcode\": \"\\\\u0000\""), GOOD_REQ, "");
    const char *const opens[][4] = {
        {b1, "422", "invalid_text", "child.forename"},
        {b2, "422", "invalid_text", "child.surname"},
        {b3, "422", "invalid_text", "request.fields.requested_by"},
        {b4, "422", "invalid_field", "child.postcode"},
    };
    post_opens(opens, sizeof opens / sizeof opens[0]);
    free(b1);
    free(b2);
    free(b3);
    free(b4);
}

/* A member given twice: the server checked one value and PostgreSQL's jsonb keeps the other. */
static void test_members_given_twice_are_refused(void **state)
{
    static const bad_case events[] = {
        {"{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": 1, "
         "\"fields\": {\"body\": \"icb\", \"body\": \"'; DROP TABLE cases; --\"}}",
         422, "duplicate_member", "fields.body"},
        {"{\"type\": \"notification_sent\", \"type\": \"withdrawn\", \"effective_on\": \"2026-02-25\", "
         "\"expected_version\": 1, \"fields\": {\"body\": \"icb\"}}",
         422, "duplicate_member", "type"},
    };
    post_each(events_path, events, sizeof events / sizeof events[0]);
    char team[24];
    snprintf(team, sizeof team, "%ld", north);
    char *b1 = open_with(team,
                         CHILD("\"Ann\"", "\"Other\"", "\"2019-05-06\"",
                               ", \"nhs_number\": \"9434765870\", \"nhs_number\": \"0000000000\""),
                         GOOD_REQ, "");
    const char *const opens[][4] = {{b1, "422", "duplicate_member", "child.nhs_number"}};
    post_opens(opens, 1);
    free(b1);
}

/* A member name cut to fit the error's "field" (100 bytes) is cut between characters, or the cut
 * character is shown as '?': the JSON reply stays UTF-8 (what fuzz_body found, docs/fuzzing.md).
 * The name is "a" and 60 two-byte characters: byte 100 is the second byte of the 50th. */
#define E_ACUTE "\xc3\xa9"
#define E_ACUTE_10 E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE
#define E_ACUTE_49                                                                                           \
    E_ACUTE_10 E_ACUTE_10 E_ACUTE_10 E_ACUTE_10 E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE      \
        E_ACUTE E_ACUTE
#define LONG_NAME "a" E_ACUTE_49 E_ACUTE_10 E_ACUTE
static void test_long_member_names_in_errors_stay_utf8(void **state)
{
    static const bad_case events[] = {
        /* body.c: a member given twice, its path cut where a character begins */
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"" LONG_NAME "\": 1, \"" LONG_NAME "\": 2}"), 422,
         "duplicate_member", "fields.a" E_ACUTE_49},
        /* cases.c cuts an unknown member's name with %.100s: the half character becomes '?' */
        {EV(OK_T, OK_ON, "1", ", \"fields\": {\"body\": \"icb\"}, \"" LONG_NAME "\": 1"), 422,
         "invalid_field", "a" E_ACUTE_49 "?"},
    };
    post_each(events_path, events, sizeof events / sizeof events[0]);
}

/* Invalid UTF-8 reaches PostgreSQL nowhere: refused at the door, naming the field. */
static void test_invalid_utf8_is_refused_naming_the_field(void **state)
{
    static const char *const broken[] = {"\xff",     "\xc0\xaf",         "\xed\xa0\x80",
                                         "\xe2\x82", "\xf4\x90\x80\x80", "a\x80z"};
    char before[256];
    written(before);
    char team[24];
    snprintf(team, sizeof team, "%ld", north);
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        char body[1024], child[256];
        ehc_test_response r;
        snprintf(
            body, sizeof body,
            "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": 1, "
            "\"fields\": {\"body\": \"icb%s\"}}",
            broken[i]);
        ehc_test_call(d.port, "POST", events_path, EHC_TEST_TOKEN("officer1"), body, &r);
        expect_error("invalid UTF-8 in an event field", r.status, r.body, 400, "invalid_utf8", "fields.body");
        ehc_test_response_free(&r);
        snprintf(child, sizeof child,
                 "{\"forename\": \"Ann%s\", \"surname\": \"Other\", \"date_of_birth\": "
                 "\"2019-05-06\"}",
                 broken[i]);
        char *b = open_with(team, child, GOOD_REQ, "");
        ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), b, &r);
        expect_error("invalid UTF-8 in a name", r.status, r.body, 400, "invalid_utf8", "child.forename");
        ehc_test_response_free(&r);
        free(b);
        /* in a query parameter (raw bytes, and %-encoded) */
        char path[128], enc[32] = "";
        for (const char *p = broken[i]; *p; p++)
            snprintf(enc + strlen(enc), sizeof enc - strlen(enc), "%%%02X", (unsigned char)*p);
        snprintf(path, sizeof path, "/api/v1/cases?stage=req%s", enc);
        ehc_test_call(d.port, "GET", path, EHC_TEST_TOKEN("officer1"), NULL, &r);
        if (r.status != 400 || !strstr(r.body, "\"code\":\"invalid_query\"")) {
            fprintf(stderr, "GET %s -> %ld %s (expected 400 invalid_query)\n", path, r.status, r.body);
            fail();
        }
        ehc_test_response_free(&r);
        snprintf(path, sizeof path, "/api/v1/children?surname=Ex%sample", enc);
        ehc_test_call(d.port, "GET", path, EHC_TEST_TOKEN("officer1"), NULL, &r);
        if (r.status != 400 || !strstr(r.body, "\"code\":\"invalid_query\"")) {
            fprintf(stderr, "GET %s -> %ld %s (expected 400 invalid_query)\n", path, r.status, r.body);
            fail();
        }
        ehc_test_response_free(&r);
        /* and in the Idempotency-Key header of an otherwise good event */
        char idem[64];
        snprintf(idem, sizeof idem, "Idempotency-Key: key-%s", broken[i]);
        const char *h[] = {EHC_TEST_TOKEN("officer1"), JSON, idem, NULL};
        ehc_test_http(&r, "POST", d.port, events_path,
                      "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", "
                      "\"expected_version\": 2, \"fields\": {\"body\": \"icb\"}}",
                      h);
        expect_error("invalid UTF-8 in Idempotency-Key", r.status, r.body, 422, "invalid_field",
                     "Idempotency-Key");
        ehc_test_response_free(&r);
    }
    /* signing in with a name that is not UTF-8 */
    ehc_test_response r;
    const char *h[] = {JSON, NULL};
    ehc_test_http(&r, "POST", d.port, "/api/v1/session",
                  "{\"username\": \"officer1\xff\", \"password\": \"x\"}", h);
    expect_error("sign-in name not UTF-8", r.status, r.body, 400, "invalid_utf8", "username");
    ehc_test_response_free(&r);
    still_serving_and_nothing_written(before, "invalid UTF-8");
}

/* A bad command must not take good ones down with it: the store commits commands in groups, as
 * one jsonb parameter, which PostgreSQL refuses whole if any text in it is not UTF-8. */
static void test_good_writes_sent_with_bad_ones_all_succeed(void **state)
{
    enum { N = 16 };
    long cases_before = ehc_test_scalar(admin, "SELECT count(*) FROM cases");
    int fds[N];
    char *reqs[N];
    for (int i = 0; i < N; i++) {
        char body[1024];
        snprintf(body, sizeof body,
                 "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": {\"forename\": \"%s%d\", "
                 "\"surname\": \"Batch\", \"date_of_birth\": \"2019-05-06\"}, \"request\": %s}",
                 north, i % 2 ? "Bad\xff" : "Good", i, GOOD_REQ);
        reqs[i] = malloc(2048);
        snprintf(reqs[i], 2048,
                 "POST /api/v1/cases HTTP/1.1\r\nHost: x\r\n" EHC_TEST_TOKEN(
                     "officer1") "\r\n" JSON "\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(body), body);
        fds[i] = connect_daemon();
    }
    for (int i = 0; i < N; i++) /* all in flight together */
        assert_int_equal(send(fds[i], reqs[i], strlen(reqs[i]), MSG_NOSIGNAL), (ssize_t)strlen(reqs[i]));
    for (int i = 0; i < N; i++) {
        raw_reply r;
        raw_exchange(fds[i], "", 0, 10000, &r);
        if (r.status != (i % 2 ? 400 : 201)) {
            fprintf(stderr, "%s opening %d -> %.600s\n", i % 2 ? "bad" : "good", i, r.text);
            fail();
        }
        raw_free(&r);
        close(fds[i]);
        free(reqs[i]);
    }
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM cases"), cases_before + N / 2);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM children WHERE surname = 'Batch'"), N / 2);
}

/* ---- size ---------------------------------------------------------------------------------------- */

static void test_very_long_text_is_refused_naming_the_field(void **state)
{
    char before[256];
    written(before);
    size_t big = 100 * 1024;
    char *name = malloc(big + 1);
    memset(name, 'N', big);
    name[big] = '\0';
    char *body = malloc(big + 1024);
    char team[24];
    snprintf(team, sizeof team, "%ld", north);
    ehc_test_response r;
    static const char *const fields[] = {"forename", "surname", "first_language", "postcode"};
    for (size_t i = 0; i < 4; i++) {
        char fieldname[64];
        snprintf(fieldname, sizeof fieldname, "child.%s", fields[i]);
        snprintf(body, big + 1024,
                 "{\"team_id\": %s, \"confirm_new_child\": true, \"child\": {\"forename\": \"%s\", "
                 "\"surname\": \"%s\", \"date_of_birth\": \"2019-05-06\", \"%s\": \"%s\"}, \"request\": %s}",
                 team, i == 0 ? name : "Ann", i == 1 ? name : "Other", i < 2 ? "sex" : fields[i],
                 i < 2 ? "U" : name, GOOD_REQ);
        ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), body, &r);
        expect_error(fieldname, r.status, r.body, 422, "invalid_field", fieldname);
        assert_true(r.body_len < 4096); /* the 100 KB are not sent back */
        ehc_test_response_free(&r);
    }
    snprintf(body, big + 1024,
             "{\"type\": \"%s\", \"effective_on\": \"2026-02-25\", \"expected_version\": 1}", name);
    ehc_test_call(d.port, "POST", events_path, EHC_TEST_TOKEN("officer1"), body, &r);
    expect_error("100 KB type", r.status, r.body, 422, "invalid_field", "type");
    assert_true(r.body_len < 4096);
    ehc_test_response_free(&r);
    snprintf(body, big + 1024,
             "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": 1, "
             "\"fields\": {\"body\": \"%s\"}}",
             name);
    ehc_test_call(d.port, "POST", events_path, EHC_TEST_TOKEN("officer1"), body, &r);
    expect_error("100 KB field", r.status, r.body, 422, "field_invalid", "body");
    assert_true(r.body_len < 4096);
    ehc_test_response_free(&r);
    snprintf(body, big + 1024,
             "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": 1, "
             "\"fields\": {\"body\": \"icb\"}, \"%s\": 1}",
             name);
    ehc_test_call(d.port, "POST", events_path, EHC_TEST_TOKEN("officer1"), body, &r);
    if (r.status != 422 || r.body_len > 4096) {
        fprintf(stderr, "100 KB member name -> %ld (%zu bytes)\n", r.status, r.body_len);
        fail();
    }
    ehc_test_response_free(&r);

    /* 10 KB header values */
    size_t hbig = 10 * 1024;
    char *hv = malloc(hbig + 64);
    snprintf(hv, hbig + 64, "Idempotency-Key: ");
    memset(hv + strlen(hv), 'k', hbig);
    hv[17 + hbig] = '\0';
    const char *h1[] = {EHC_TEST_TOKEN("officer1"), JSON, hv, NULL};
    ehc_test_http(
        &r, "POST", d.port, events_path,
        "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": 2, "
        "\"fields\": {\"body\": \"icb\"}}",
        h1);
    expect_error("10 KB Idempotency-Key", r.status, r.body, 422, "invalid_field", "Idempotency-Key");
    ehc_test_response_free(&r);
    snprintf(hv, hbig + 64, "Authorization: Bearer ");
    memset(hv + strlen(hv), 't', hbig);
    hv[22 + hbig] = '\0';
    const char *h2[] = {hv, JSON, NULL};
    ehc_test_http(&r, "GET", d.port, case_path, NULL, h2);
    expect_error("10 KB bearer token", r.status, r.body, 401, "unauthenticated", NULL);
    ehc_test_response_free(&r);
    snprintf(hv, hbig + 64, "Cookie: ehc_session=");
    memset(hv + strlen(hv), 'c', hbig);
    hv[20 + hbig] = '\0';
    const char *h3[] = {hv, NULL};
    ehc_test_http(&r, "GET", d.port, case_path, NULL, h3);
    expect_error("10 KB session cookie", r.status, r.body, 401, "unauthenticated", NULL);
    ehc_test_response_free(&r);
    snprintf(hv, hbig + 64, "X-Request-ID: ");
    memset(hv + strlen(hv), 'r', hbig);
    hv[14 + hbig] = '\0';
    const char *h4[] = {EHC_TEST_TOKEN("officer1"), JSON, hv, NULL};
    ehc_test_http(&r, "POST", d.port, events_path, "{\"type\": 5}", h4);
    expect_error("10 KB request id", r.status, r.body, 422, "invalid_field", "type");
    assert_null(strstr(r.body, "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr")); /* not taken as the request id */
    ehc_test_response_free(&r);
    free(hv);

    /* a 64 KB URL: a case id that long, a query value that long, a path that long */
    size_t ubig = 64 * 1024;
    char *url = malloc(ubig + 64);
    snprintf(url, ubig + 64, "/api/v1/cases/");
    memset(url + 14, '7', ubig);
    url[14 + ubig] = '\0';
    raw_reply rr;
    raw_request("GET", url, EHC_TEST_TOKEN("officer1"), "", 0, &rr);
    if (rr.status != 404 && rr.status != 414) {
        fprintf(stderr, "64 KB case id -> %.300s\n", rr.text);
        fail();
    }
    raw_free(&rr);
    snprintf(url, ubig + 64, "/api/v1/cases?stage=");
    memset(url + 20, 's', ubig);
    url[20 + ubig] = '\0';
    raw_request("GET", url, EHC_TEST_TOKEN("officer1"), "", 0, &rr);
    if ((rr.status != 400 && rr.status != 414) ||
        (rr.status == 400 && !strstr(rr.text, "\"code\":\"invalid_query\""))) {
        fprintf(stderr, "64 KB query value -> %.300s\n", rr.text);
        fail();
    }
    raw_free(&rr);
    snprintf(url, ubig + 64, "/api/v1/cases/%ld/", case_id);
    size_t at = strlen(url);
    memset(url + at, 'p', ubig);
    url[at + ubig] = '\0';
    raw_request("POST", url, EHC_TEST_TOKEN("officer1") "\r\n" JSON, "{}", 2, &rr);
    if (rr.status != 404 && rr.status != 414) {
        fprintf(stderr, "64 KB path -> %.300s\n", rr.text);
        fail();
    }
    raw_free(&rr);
    free(url);
    free(name);
    free(body);
    still_serving_and_nothing_written(before, "very long text");
}

static void test_a_body_over_1_mib_is_413_and_a_content_length_lie_is_refused(void **state)
{
    char before[256];
    written(before);
    /* a valid JSON object of 1.5 MiB */
    size_t big = 1536 * 1024;
    char *body = malloc(big + 1);
    size_t n = (size_t)snprintf(body, big,
                                "{\"type\": \"notification_sent\", \"effective_on\": "
                                "\"2026-02-25\", \"expected_version\": 1, \"pad\": \"");
    memset(body + n, 'x', big - n - 2);
    memcpy(body + big - 2, "\"}", 2);
    body[big] = '\0';
    raw_reply r;
    raw_request("POST", events_path, EHC_TEST_TOKEN("officer1") "\r\n" JSON, body, big, &r);
    if (r.status != 413) {
        fprintf(stderr, "1.5 MiB body -> %.300s\n", r.text);
        fail();
    }
    raw_free(&r);
    /* the same, chunked: no Content-Length to refuse up front */
    int fd = connect_daemon();
    size_t cap = big + 4096;
    char *req = malloc(cap);
    int h = snprintf(req, cap,
                     "POST %s HTTP/1.1\r\nHost: x\r\n" EHC_TEST_TOKEN(
                         "officer1") "\r\n" JSON "\r\nTransfer-Encoding: chunked\r\n\r\n",
                     events_path);
    size_t len = (size_t)h;
    for (size_t off = 0; off < big; off += 65536) {
        size_t c = big - off < 65536 ? big - off : 65536;
        len += (size_t)snprintf(req + len, cap - len, "%zx\r\n", c);
        memcpy(req + len, body + off, c);
        len += c;
        memcpy(req + len, "\r\n", 2);
        len += 2;
    }
    memcpy(req + len, "0\r\n\r\n", 5);
    len += 5;
    raw_exchange(fd, req, len, 10000, &r);
    close(fd);
    if (r.status != 413 && !(r.status == 0 && r.closed)) {
        fprintf(stderr, "1.5 MiB chunked body -> %.300s\n", r.text);
        fail();
    }
    raw_free(&r);
    free(req);
    free(body);

    /* Content-Length says less than was sent: the body is cut there, and is not JSON */
    const char *ev =
        "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": "
        "1, \"fields\": {\"body\": \"icb\"}}";
    char lie[1024];
    int m = snprintf(lie, sizeof lie,
                     "POST %s HTTP/1.1\r\nHost: x\r\n" EHC_TEST_TOKEN(
                         "officer1") "\r\n" JSON "\r\nContent-Length: 20\r\n\r\n%s",
                     events_path, ev);
    fd = connect_daemon();
    raw_exchange(fd, lie, (size_t)m, 5000, &r);
    if (r.status != 400 || !strstr(r.text, "\"code\":\"malformed_json\"")) {
        fprintf(stderr, "short Content-Length -> %.400s\n", r.text);
        fail();
    }
    raw_free(&r);
    close(fd);
    /* Content-Length says more than was sent: ehcd waits for the rest, then drops the connection */
    m = snprintf(lie, sizeof lie,
                 "POST %s HTTP/1.1\r\nHost: x\r\n" EHC_TEST_TOKEN(
                     "officer1") "\r\n" JSON "\r\nContent-Length: 500\r\n\r\n%s",
                 events_path, ev);
    fd = connect_daemon();
    raw_exchange(fd, lie, (size_t)m, REQUEST_TIMEOUT_MS + 3000, &r);
    if (!r.closed || (r.status >= 200 && r.status < 300)) {
        fprintf(stderr, "long Content-Length: not dropped within the timeout (%lld ms) %.300s\n",
                (long long)r.elapsed_ms, r.text);
        fail();
    }
    raw_free(&r);
    close(fd);
    /* two lengths, or a length and chunking: refused */
    m = snprintf(lie, sizeof lie,
                 "POST %s HTTP/1.1\r\nHost: x\r\n" EHC_TEST_TOKEN(
                     "officer1") "\r\n" JSON "\r\nContent-Length: 5\r\nContent-Length: %zu\r\n\r\n%s",
                 events_path, strlen(ev), ev);
    fd = connect_daemon();
    raw_exchange(fd, lie, (size_t)m, REQUEST_TIMEOUT_MS + 3000, &r);
    if (r.status >= 200 && r.status < 300) {
        fprintf(stderr, "two Content-Lengths -> %.300s\n", r.text);
        fail();
    }
    raw_free(&r);
    close(fd);
    still_serving_and_nothing_written(before, "oversized bodies and Content-Length lies");
}

static void test_deeply_nested_json_is_400(void **state)
{
    char before[256];
    written(before);
    size_t depth = 100000;
    char *body = malloc(2 * depth + 64);
    memset(body, '[', depth);
    memset(body + depth, ']', depth);
    body[2 * depth] = '\0';
    ehc_test_response r;
    ehc_test_call(d.port, "POST", events_path, EHC_TEST_TOKEN("officer1"), body, &r);
    expect_error("100k [", r.status, r.body, 400, "malformed_json", NULL);
    ehc_test_response_free(&r);
    ehc_test_call(d.port, "POST", "/api/v1/cases", EHC_TEST_TOKEN("officer1"), body, &r);
    expect_error("100k [ (open)", r.status, r.body, 400, "malformed_json", NULL);
    ehc_test_response_free(&r);
    /* unbalanced */
    body[depth] = '\0';
    ehc_test_call(d.port, "POST", events_path, EHC_TEST_TOKEN("officer1"), body, &r);
    expect_error("100k unclosed [", r.status, r.body, 400, "malformed_json", NULL);
    ehc_test_response_free(&r);
    /* objects inside the fields */
    size_t off = (size_t)snprintf(body, 2 * depth + 64, "{\"type\": \"notification_sent\", \"fields\": ");
    for (size_t i = 0; i < 20000; i++) {
        memcpy(body + off, "{\"a\":", 5);
        off += 5;
    }
    body[off] = '\0';
    ehc_test_call(d.port, "POST", events_path, EHC_TEST_TOKEN("officer1"), body, &r);
    expect_error("20k nested objects", r.status, r.body, 400, "malformed_json", NULL);
    ehc_test_response_free(&r);
    free(body);
    still_serving_and_nothing_written(before, "deep nesting");
}

static void test_too_many_or_too_large_headers_are_refused(void **state)
{
    char before[256];
    written(before);
    size_t cap = 1024 * 1024;
    char *headers = malloc(cap);
    size_t len = (size_t)snprintf(headers, cap, EHC_TEST_TOKEN("officer1") "\r\n" JSON);
    for (int i = 0; i < 300; i++)
        len += (size_t)snprintf(headers + len, cap - len, "\r\nX-Filler-%d: %d", i, i);
    raw_reply r;
    const char *ev =
        "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": "
        "2, \"fields\": {\"body\": \"icb\"}}";
    raw_request("POST", events_path, headers, ev, strlen(ev), &r);
    if (!(r.status >= 400 && r.status < 500) && !(r.status == 0 && r.closed)) {
        fprintf(stderr, "300 headers -> %.300s\n", r.text);
        fail();
    }
    raw_free(&r);
    /* 600 KB of headers in all */
    len = (size_t)snprintf(headers, cap, EHC_TEST_TOKEN("officer1") "\r\n" JSON);
    for (int i = 0; i < 60; i++) {
        len += (size_t)snprintf(headers + len, cap - len, "\r\nX-Big-%d: ", i);
        memset(headers + len, 'v', 10000);
        len += 10000;
    }
    headers[len] = '\0';
    raw_request("POST", events_path, headers, ev, strlen(ev), &r);
    if (!(r.status >= 400 && r.status < 500) && !(r.status == 0 && r.closed)) {
        fprintf(stderr, "600 KB of headers -> %.300s\n", r.text);
        fail();
    }
    raw_free(&r);
    free(headers);
    still_serving_and_nothing_written(before, "too many headers");
}

/* ---- slow and vanishing clients ------------------------------------------------------------------- */

static void test_slow_silent_and_half_finished_clients_are_dropped_within_the_timeout(void **state)
{
    char before[256];
    written(before);
    const char *ev =
        "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": "
        "2, \"fields\": {\"body\": \"icb\"}}";
    char full[1024];
    int m = snprintf(full, sizeof full,
                     "POST %s HTTP/1.1\r\nHost: x\r\n" EHC_TEST_TOKEN(
                         "officer1") "\r\n" JSON "\r\nContent-Length: %zu\r\n\r\n%s",
                     events_path, strlen(ev), ev);
    enum { SILENT = 20 };
    int silent[SILENT];
    for (int i = 0; i < SILENT; i++) /* connections that never send a byte */
        silent[i] = connect_daemon();
    int half_headers = connect_daemon(); /* headers begun, never finished */
    assert_true(send(half_headers, full, 40, MSG_NOSIGNAL) == 40);
    int half_body = connect_daemon(); /* headers and half the body, then nothing */
    size_t head = (size_t)(strstr(full, "\r\n\r\n") + 4 - full);
    assert_true(send(half_body, full, head + 10, MSG_NOSIGNAL) == (ssize_t)(head + 10));
    int slow = connect_daemon(); /* one byte every 100 ms: 2.5 times the timeout to send its headers */
    int64_t t0 = ehc_test_now_ms();
    size_t slow_sent = 0;
    int slow_closed = 0;
    int64_t slow_closed_at = 0;
    fcntl(slow, F_SETFL, fcntl(slow, F_GETFL) | O_NONBLOCK);
    /* meanwhile, everyone else is served */
    while (ehc_test_now_ms() - t0 < REQUEST_TIMEOUT_MS + 2500) {
        if (!slow_closed && slow_sent < (size_t)m) {
            if (send(slow, full + slow_sent, 1, MSG_NOSIGNAL) == 1)
                slow_sent++;
            else if (errno != EAGAIN)
                slow_closed = 1, slow_closed_at = ehc_test_now_ms() - t0;
        }
        char c;
        ssize_t got = recv(slow, &c, 1, MSG_DONTWAIT);
        if (!slow_closed && (got == 0 || (got < 0 && errno != EAGAIN)))
            slow_closed = 1, slow_closed_at = ehc_test_now_ms() - t0;
        if (got > 0) {
            fprintf(stderr, "the slow client got an answer\n");
            fail();
        }
        usleep(100 * 1000);
    }
    ehc_test_response r;
    ehc_test_http(&r, "GET", d.port, "/healthz", NULL, NULL);
    assert_int_equal(r.status, 200);
    ehc_test_response_free(&r);
    if (!slow_closed) {
        fprintf(stderr,
                "a client sending a byte every 100 ms (%zu of %d bytes sent) was not dropped within "
                "%d ms\n",
                slow_sent, m, REQUEST_TIMEOUT_MS + 2500);
        fail();
    }
    if (slow_closed_at > REQUEST_TIMEOUT_MS + 1500) {
        fprintf(stderr, "the slow client was dropped only after %lld ms\n", (long long)slow_closed_at);
        fail();
    }
    assert_true(slow_sent < (size_t)m);
    /* every other idle client was dropped too, by now, with no answer or a 4xx */
    int others[SILENT + 2];
    for (int i = 0; i < SILENT; i++)
        others[i] = silent[i];
    others[SILENT] = half_headers;
    others[SILENT + 1] = half_body;
    for (int i = 0; i < SILENT + 2; i++) {
        raw_reply rr;
        raw_exchange(others[i], "", 0, 500, &rr);
        if (!rr.closed || (rr.status && (rr.status < 400 || rr.status >= 500))) {
            fprintf(stderr, "idle client %d: closed %d, %.200s\n", i, rr.closed, rr.text);
            fail();
        }
        raw_free(&rr);
        close(others[i]);
    }
    close(slow);
    still_serving_and_nothing_written(before, "slow clients");
}

static void test_clients_that_vanish_mid_request_leave_ehcd_serving(void **state)
{
    char before[256];
    written(before);
    const char *ev =
        "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": "
        "2, \"fields\": {\"body\": \"icb\"}}";
    char full[1024];
    int m = snprintf(full, sizeof full,
                     "POST %s HTTP/1.1\r\nHost: x\r\n" EHC_TEST_TOKEN(
                         "officer1") "\r\n" JSON "\r\nContent-Length: %zu\r\n\r\n%s",
                     events_path, strlen(ev), ev);
    size_t head = (size_t)(strstr(full, "\r\n\r\n") + 4 - full);
    size_t cuts[] = {10, head - 5, head, head + 15};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        for (int rst = 0; rst < 2; rst++) {
            int fd = connect_daemon();
            assert_true(send(fd, full, cuts[i], MSG_NOSIGNAL) == (ssize_t)cuts[i]);
            if (rst) { /* an abortive close: RST instead of FIN */
                struct linger lg = {.l_onoff = 1, .l_linger = 0};
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            }
            close(fd);
        }
    }
    usleep(200 * 1000);
    still_serving_and_nothing_written(before, "clients vanishing mid-request");

    /* a whole request, then gone before the answer: the write happens once or not at all, and the
       case stays consistent; in flight for a read, too */
    long version = ehc_test_scalar(admin, "SELECT version FROM cases WHERE id = %ld", control_id);
    long events = ehc_test_scalar(admin, "SELECT count(*) FROM case_events WHERE case_id = %ld", control_id);
    char good[256];
    snprintf(good, sizeof good,
             "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-27\", \"expected_version\": "
             "%ld, \"fields\": {\"body\": \"icb\"}}",
             version);
    m = snprintf(full, sizeof full,
                 "POST %s HTTP/1.1\r\nHost: x\r\n" EHC_TEST_TOKEN(
                     "officer1") "\r\n" JSON "\r\nContent-Length: %zu\r\n\r\n%s",
                 control_path, strlen(good), good);
    int fd = connect_daemon();
    assert_true(send(fd, full, (size_t)m, MSG_NOSIGNAL) == m);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    char get[512];
    m = snprintf(get, sizeof get, "GET %s HTTP/1.1\r\nHost: x\r\n" EHC_TEST_TOKEN("officer1") "\r\n\r\n",
                 case_path);
    fd = connect_daemon();
    assert_true(send(fd, get, (size_t)m, MSG_NOSIGNAL) == m);
    close(fd);
    usleep(500 * 1000);
    ehc_test_response r;
    ehc_test_http(&r, "GET", d.port, "/healthz", NULL, NULL);
    assert_int_equal(r.status, 200);
    ehc_test_response_free(&r);
    long version_after = ehc_test_scalar(admin, "SELECT version FROM cases WHERE id = %ld", control_id);
    long events_after =
        ehc_test_scalar(admin, "SELECT count(*) FROM case_events WHERE case_id = %ld", control_id);
    assert_true(events_after == events || events_after == events + 1);
    assert_int_equal(version_after - version, events_after - events);
    assert_int_equal(record_valid_event(), 201);
}

/* ---- the other authority's child ----------------------------------------------------------------- */

static void test_bad_input_about_another_authoritys_case_reveals_nothing(void **state)
{
    char before[256];
    written(before);
    static const char *const bodies[] = {
        "{",
        "[]",
        "{\"type\": 5}",
        "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": 1, "
        "\"fields\": {\"body\": \"icb\"}}",
        "{\"type\": \"notification_sent\", \"effective_on\": \"2026-02-25\", \"expected_version\": 1, "
        "\"fields\": {\"body\": \"icb\\u0000\"}}",
        "{\"type\": \"withdrawn\", \"effective_on\": \"2026-02-30\", \"expected_version\": 1}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        ehc_test_response r;
        ehc_test_call(d.port, "POST", other_events_path, EHC_TEST_TOKEN("officer1"), bodies[i], &r);
        if (r.status < 400 || r.status >= 500) {
            fprintf(stderr, "another authority's case: %s -> %ld %s\n", bodies[i], r.status, r.body);
            fail();
        }
        no_personal_data("another authority's case", r.body);
        ehc_test_response_free(&r);
    }
    static const char *const reads[] = {"/api/v1/children?nhs_number=4010232137",
                                        "/api/v1/children?surname=Hiddenname&date_of_birth=2018-07-09",
                                        "/api/v1/children?surname=Hidden%25",
                                        "/api/v1/children?surname=%25",
                                        "/api/v1/children?surname=_iddenname&date_of_birth=2018-07-09",
                                        "/api/v1/cases?stage=%25",
                                        "/api/v1/cases?officer_id=1"};
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        ehc_test_response r;
        ehc_test_call(d.port, "GET", reads[i], EHC_TEST_TOKEN("officer1"), NULL, &r);
        if (r.status != 200 && r.status != 400) {
            fprintf(stderr, "GET %s -> %ld %s\n", reads[i], r.status, r.body);
            fail();
        }
        no_personal_data(reads[i], r.body);
        ehc_test_response_free(&r);
    }
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld", other_case_id);
    ehc_test_response r;
    assert_int_equal(ehc_test_call(d.port, "GET", path, EHC_TEST_TOKEN("officer1"), NULL, &r), 404);
    no_personal_data(path, r.body);
    ehc_test_response_free(&r);
    still_serving_and_nothing_written(before, "bad input about another authority's case");
}

/* Last: ehcd stops on SIGTERM with exit status 0, which under the sanitizers also means no leak
 * and no memory error in anything the tests above made it do. */
static void test_daemon_stops_cleanly_after_all_of_the_above(void **state)
{
    ehc_test_daemon_stop_clean(&d);
    /* and its log names no child */
    FILE *f = fopen(d.log_path, "r");
    assert_non_null(f);
    char line[8192];
    while (fgets(line, sizeof line, f))
        no_personal_data("ehcd's log", line);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_json_is_400_and_a_body_that_is_not_an_object_422),
        cmocka_unit_test(test_every_member_of_an_event_with_the_wrong_type_is_422_naming_it),
        cmocka_unit_test(test_every_member_of_an_opening_with_the_wrong_type_is_422_naming_it),
        cmocka_unit_test(test_unknown_members_anywhere_are_422_naming_them),
        cmocka_unit_test(test_impossible_dates_are_422_naming_the_field),
        cmocka_unit_test(test_sql_metacharacters_in_checked_fields_are_refused_and_touch_nothing),
        cmocka_unit_test(test_sql_metacharacters_in_query_parameters_are_inert),
        cmocka_unit_test(test_nul_characters_are_refused_naming_the_field),
        cmocka_unit_test(test_members_given_twice_are_refused),
        cmocka_unit_test(test_long_member_names_in_errors_stay_utf8),
        cmocka_unit_test(test_invalid_utf8_is_refused_naming_the_field),
        cmocka_unit_test(test_good_writes_sent_with_bad_ones_all_succeed),
        cmocka_unit_test(test_very_long_text_is_refused_naming_the_field),
        cmocka_unit_test(test_a_body_over_1_mib_is_413_and_a_content_length_lie_is_refused),
        cmocka_unit_test(test_deeply_nested_json_is_400),
        cmocka_unit_test(test_too_many_or_too_large_headers_are_refused),
        cmocka_unit_test(test_bad_input_about_another_authoritys_case_reveals_nothing),
        cmocka_unit_test(test_slow_silent_and_half_finished_clients_are_dropped_within_the_timeout),
        cmocka_unit_test(test_clients_that_vanish_mid_request_leave_ehcd_serving),
        cmocka_unit_test(test_names_with_metacharacters_are_stored_exactly_as_sent),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
