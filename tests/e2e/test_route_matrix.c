/* Every route × every role × both authorities: each call a principal may not make is refused — 401
 * without credentials, 403 (or 404 when it has no role that could see such a thing) in its own
 * authority, 404 from another authority, as if the object did not exist — with nothing changed in
 * the database and no child's data in any answer it may not see. The table below must name every
 * route of api/doc/openapi.json: a new route without a row fails this test. */
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

/* the principals: roles in authority A (353) and B (357), and nobody */
enum {
    P_NONE,
    P_OFFICER_A,  /* team North */
    P_OFFICER_A2, /* team South */
    P_MANAGER_A,  /* team North */
    P_SVC_A,
    P_DCO_A, /* Community Paediatrics, for A */
    P_SOCIAL_A,
    P_ADMIN_A,
    P_OFFICER_B,
    P_MANAGER_B,
    P_SVC_B,
    P_DCO_B, /* the same service, for B */
    P_ADMIN_B,
    P_SYSADMIN,
    P_COUNT
};
static const char *const names[P_COUNT] = {
    "nobody", "officera", "officera2", "managera", "svca", "dcoa",   "sociala",
    "admina", "officerb", "managerb",  "svcb",     "dcob", "adminb", "sysadmin",
};
#define BIT(p) (1u << (p))
#define IN_B (BIT(P_OFFICER_B) | BIT(P_MANAGER_B) | BIT(P_SVC_B) | BIT(P_DCO_B) | BIT(P_ADMIN_B))

static void exec_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void exec_ok(const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    PQclear(r);
}

static long scalar(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long scalar(const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return ehc_test_scalar(admin, "%s", sql);
}

static const char *auth_header(int p, char *buf, size_t size)
{
    if (p == P_NONE) return "X-None: 1";
    snprintf(buf, size, "Authorization: Bearer tok-%s-0123456789abcdefghij", names[p]);
    return buf;
}

static void add_user(int p, const char *grant_fmt)
{
    char token[128], sha[65];
    exec_ok("INSERT INTO users (username, display_name, is_admin) VALUES ('%s', '%s', %s)", names[p],
            names[p], p == P_SYSADMIN ? "true" : "false");
    snprintf(token, sizeof token, "tok-%s-0123456789abcdefghij", names[p]);
    ehc_sha256_hex(token, strlen(token), sha);
    exec_ok("INSERT INTO api_tokens (user_id, name, token_sha256) SELECT id, 'test', '%s' FROM users WHERE "
            "username = '%s'",
            sha, names[p]);
    if (grant_fmt) {
        char sql[1024];
        snprintf(sql, sizeof sql, grant_fmt, names[p]);
        exec_ok("%s", sql);
    }
}

#define TEAM(role, la, team)                                                                                 \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, t.id FROM users u, teams t JOIN local_authorities a ON a.id = t.authority_id WHERE " \
    "u.username = '%s' AND a.dfe_code = '" la "' AND t.name = '" team "'"
#define WHOLE(role, la)                                                                                      \
    "INSERT INTO role_grants (user_id, role, authority_id) SELECT u.id, '" role                              \
    "', a.id FROM users u, local_authorities a WHERE u.username = '%s' AND a.dfe_code = '" la "'"
#define SERVICE(role, la, org)                                                                               \
    "INSERT INTO role_grants (user_id, role, authority_id, organisation_id) SELECT u.id, '" role             \
    "', a.id, o.id FROM users u, local_authorities a, organisations o WHERE u.username = '%s' AND "          \
    "a.dfe_code = '" la "' AND o.name = '" org "'"

static long call(int p, const char *method, const char *path, const char *body, char **out)
{
    char buf[128];
    const char *h[] = {auth_header(p, buf, sizeof buf), "Content-Type: application/json", NULL};
    ehc_test_response r;
    ehc_test_http(&r, method, d.port, path, body, h);
    long status = r.status;
    if (out) *out = strdup(r.body);
    ehc_test_response_free(&r);
    return status;
}

/* ---- the objects of authority A the table refers to ------------------------------------------------ */

static long case_a, advice_a, alert_a, dead_a, north, other_health, child_a, child_a2, document_a, letter_a;
static const char *secret = "Zebedee"; /* the surname of A's child */
static char case_a_reference[40];

static int setup(void **state)
{
    (void)state;
    db_url = ehc_test_create_database("ehc_matrix");
    admin = PQconnectdb(db_url);
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(admin, &applied, err, sizeof err), 0);
    exec_ok("INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham'), ('357', 'Tameside')");
    exec_ok("INSERT INTO teams (authority_id, name) SELECT a.id, t.name FROM local_authorities a, (VALUES "
            "('North'), ('South')) t (name) WHERE a.dfe_code = '353'");
    exec_ok(
        "INSERT INTO teams (authority_id, name) SELECT id, 'East' FROM local_authorities WHERE dfe_code = "
        "'357'");
    exec_ok("INSERT INTO organisations (name, kind) VALUES ('Community Paediatrics', 'health'), ('CAMHS', "
            "'health'), ('Social Care', 'social_care')");
    exec_ok(
        "INSERT INTO organisation_authorities SELECT o.id, a.id FROM organisations o, local_authorities a "
        "WHERE o.name = 'Community Paediatrics' OR a.dfe_code = '353'");
    add_user(P_OFFICER_A, TEAM("officer", "353", "North"));
    add_user(P_OFFICER_A2, TEAM("officer", "353", "South"));
    add_user(P_MANAGER_A, TEAM("manager", "353", "North"));
    add_user(P_SVC_A, WHOLE("service_manager", "353"));
    add_user(P_DCO_A, SERVICE("dco", "353", "Community Paediatrics"));
    add_user(P_SOCIAL_A, SERVICE("social_care", "353", "Social Care"));
    add_user(P_ADMIN_A, WHOLE("admin", "353"));
    add_user(P_OFFICER_B, TEAM("officer", "357", "East"));
    add_user(P_MANAGER_B, TEAM("manager", "357", "East"));
    add_user(P_SVC_B, WHOLE("service_manager", "357"));
    add_user(P_DCO_B, SERVICE("dco", "357", "Community Paediatrics"));
    add_user(P_ADMIN_B, WHOLE("admin", "357"));
    add_user(P_SYSADMIN, NULL);
    north = scalar("SELECT id FROM teams WHERE name = 'North'");
    other_health = scalar("SELECT id FROM organisations WHERE name = 'CAMHS'");
    static char env_db[2048];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[] = {env_db, NULL};
    const char *args[] = {"serve", "--sim-clock=2025-01-01T00:00:00Z", NULL};
    ehc_test_daemon_start(&d, args, env);

    /* a case of A's North team with an advice request to the paediatric service, an alert, and a
     * delivery that ran out of tries */
    assert_int_equal(call(P_SYSADMIN, "POST", "/admin/clock", "{\"now\": \"2026-03-02T12:00:00Z\"}", NULL),
                     200);
    char body[1024];
    snprintf(
        body, sizeof body,
        "{\"team_id\": %ld, \"child\": {\"forename\": \"Zoe\", \"surname\": \"%s\", \"date_of_birth\": "
        "\"2017-02-03\"}, \"request\": {\"effective_on\": \"2026-03-02\", \"fields\": {\"requested_by\": "
        "\"parent\", \"channel\": \"email\", \"received_at\": \"2026-03-02T09:00\"}}}",
        north, secret);
    assert_int_equal(call(P_OFFICER_A, "POST", "/api/v1/cases", body, NULL), 201);
    case_a = scalar("SELECT max(id) FROM cases");
    {
        PGresult *ref = PQexec(admin, "SELECT reference FROM cases ORDER BY id DESC LIMIT 1");
        assert_int_equal(PQresultStatus(ref), PGRES_TUPLES_OK);
        snprintf(case_a_reference, sizeof case_a_reference, "%s", PQgetvalue(ref, 0, 0));
        PQclear(ref);
    }
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", case_a);
    snprintf(body, sizeof body,
             "{\"type\": \"advice_requested\", \"effective_on\": \"2026-03-02\", \"expected_version\": 1, "
             "\"fields\": {\"request_key\": \"health\", \"adviser\": \"medical\", \"received_on\": "
             "\"2026-03-02\", \"organisation_id\": %ld}}",
             scalar("SELECT id FROM organisations WHERE name = 'Community Paediatrics'"));
    assert_int_equal(call(P_OFFICER_A, "POST", path, body, NULL), 201);
    advice_a = scalar("SELECT id FROM advice_requests WHERE case_id = %ld", case_a);
    exec_ok("INSERT INTO alerts (authority_id, case_id, deadline_id, level, fire_at) SELECT authority_id, "
            "case_id, "
            "id, 'upcoming_10', now() FROM deadlines WHERE case_id = %ld AND deadline_key = 'decision_due'",
            case_a);
    alert_a = scalar("SELECT id FROM alerts WHERE case_id = %ld", case_a);
    exec_ok(
        "INSERT INTO outbox (authority_id, channel, payload, idempotency_key, attempts, dead_at, last_error) "
        "SELECT authority_id, 'webhook', '{}'::jsonb, 'matrix-dead', 12, now(), 'HTTP 500' FROM cases WHERE "
        "id "
        "= %ld",
        case_a);
    dead_a = scalar("SELECT id FROM outbox WHERE idempotency_key = 'matrix-dead'");
    /* a second record of A's child, as a duplicate found late */
    child_a = scalar("SELECT child_id FROM cases WHERE id = %ld", case_a);
    exec_ok(
        "INSERT INTO children (authority_id, forename, surname, date_of_birth) SELECT authority_id, 'Zoe', "
        "'Zebedee-Twice', '2017-02-03' FROM children WHERE id = %ld",
        child_a);
    child_a2 = scalar("SELECT max(id) FROM children");
    /* a document of A's case, uploaded by A's officer */
    exec_ok(
        "INSERT INTO case_documents (authority_id, case_id, kind, file_name, media_type, size_bytes, sha256, "
        "uploaded_by, uploaded_role) SELECT c.authority_id, c.id, 'other', 'Zebedee notes.txt', "
        "'text/plain', "
        "5, encode(sha256('notes'::bytea), 'hex'), u.id, 'officer' FROM cases c, users u WHERE c.id = %ld "
        "AND u.username = 'officera'",
        case_a);
    document_a = scalar("SELECT max(id) FROM case_documents");
    exec_ok("INSERT INTO case_document_contents SELECT id, authority_id, 'notes'::bytea FROM case_documents "
            "WHERE id = %ld",
            document_a);
    /* a letter of A's case (the PDF bytes are not the point here: who may reach them is) */
    exec_ok(
        "INSERT INTO letters (authority_id, case_id, notice, template_sha256, recipient_role, "
        "recipient_name, "
        "pdf, pdf_sha256, generated_by, generated_at) SELECT authority_id, id, 'notification_considering', "
        "repeat('a', 64), 'icb', 'The ICB', '%%PDF-1.4 Zebedee'::bytea, "
        "encode(sha256('%%PDF-1.4 Zebedee'::bytea), 'hex'), %ld, now() FROM cases WHERE id = %ld",
        scalar("SELECT id FROM users WHERE username = 'officera'"), case_a);
    letter_a = scalar("SELECT max(id) FROM letters");
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

/* ---- the table ---------------------------------------------------------------------------------------- */

typedef enum {
    OBJECT,     /* one of A's things: refused 403/404 in A, 404 from B */
    COLLECTION, /* a scoped list or a creation in A's team: refused, or answered without A's data */
    ANY_USER,   /* any signed-in principal (their own session, their own stream): 401 only */
    PUBLIC,     /* no credentials needed */
} route_kind;

typedef struct row {
    const char *method, *route; /* as in the OpenAPI document */
    route_kind kind;
    unsigned allowed;   /* principals for whom the call is allowed (not made here) */
    unsigned sees;      /* COLLECTION: principals who may see A's child in the answer */
    const char *secret; /* COLLECTION: what only `sees` may see (default: the surname of A's child) */
    char path[160];
    char body[600];
} row;

static row table[96];
static size_t rows;

static row *add(const char *method, const char *route, route_kind kind, unsigned allowed)
{
    assert_true(rows < sizeof table / sizeof table[0]);
    row *r = &table[rows++];
    memset(r, 0, sizeof *r);
    r->method = method;
    r->route = route;
    r->kind = kind;
    r->allowed = allowed;
    snprintf(r->path, sizeof r->path, "%s", route);
    return r;
}

static void build_table(void)
{
    const unsigned case_a_team = BIT(P_OFFICER_A) | BIT(P_MANAGER_A) | BIT(P_SVC_A);
    row *r;
    rows = 0;
    add("GET", "/healthz", PUBLIC, 0);
    add("GET", "/readyz", PUBLIC, 0);
    add("GET", "/metrics", PUBLIC, 0);
    add("GET", "/api/v1/openapi.json", PUBLIC, 0);
    add("POST", "/api/v1/session", PUBLIC, 0);
    add("GET", "/api/v1/session", ANY_USER, 0);
    add("DELETE", "/api/v1/session", ANY_USER, 0);
    add("GET", "/api/v1/alerts/stream", ANY_USER, 0);
    r = add("GET", "/api/v1/workflows/{id}", ANY_USER, 0); /* the law as loaded: no personal data */
    snprintf(r->path, sizeof r->path, "/api/v1/workflows/ehc-needs-assessment");

    r = add("POST", "/api/v1/cases", COLLECTION, BIT(P_OFFICER_A) | BIT(P_SVC_A) | BIT(P_MANAGER_A));
    snprintf(
        r->body, sizeof r->body,
        "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": {\"forename\": \"New\", \"surname\": "
        "\"Matrix\", \"date_of_birth\": \"2018-01-01\"}, \"request\": {\"effective_on\": \"2026-03-02\", "
        "\"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": "
        "\"2026-03-02T10:00\"}}}",
        north);
    r = add("GET", "/api/v1/cases", COLLECTION, ~0u);
    r->sees = case_a_team;
    r = add("GET", "/api/v1/cases/{id}", OBJECT, case_a_team);
    snprintf(r->path, sizeof r->path, "/api/v1/cases/%ld", case_a);
    r = add("POST", "/api/v1/cases/{id}/events", OBJECT, BIT(P_OFFICER_A));
    snprintf(r->path, sizeof r->path, "/api/v1/cases/%ld/events", case_a);
    snprintf(r->body, sizeof r->body,
             "{\"type\": \"notification_sent\", \"effective_on\": \"2026-03-02\", \"fields\": {\"body\": "
             "\"icb\"}, \"expected_version\": 2}");
    r = add("POST", "/api/v1/cases/{id}/exceptions", OBJECT, BIT(P_MANAGER_A) | BIT(P_SVC_A));
    snprintf(r->path, sizeof r->path, "/api/v1/cases/%ld/exceptions", case_a);
    snprintf(
        r->body, sizeof r->body,
        "{\"deadline\": \"decision_due\", \"exception\": \"reg_5_4_c\", \"applies_from\": \"2026-03-02\", "
        "\"evidence\": \"exceptional personal circumstances\", \"family_told_on\": \"2026-03-02\", "
        "\"expected_version\": 2}");
    add("GET", "/api/v1/notices", ANY_USER, 0); /* the templates: no personal data */
    r = add("POST", "/api/v1/cases/{id}/letters", OBJECT, case_a_team);
    snprintf(r->path, sizeof r->path, "/api/v1/cases/%ld/letters", case_a);
    snprintf(r->body, sizeof r->body,
             "{\"notice\": \"notification_considering\", \"recipient\": {\"role\": \"icb\", \"name\": \"The "
             "ICB\"}}");
    r = add("GET", "/api/v1/cases/{id}/letters", OBJECT, case_a_team);
    snprintf(r->path, sizeof r->path, "/api/v1/cases/%ld/letters", case_a);
    r = add("GET", "/api/v1/cases/{id}/letters/{letter_id}/pdf", OBJECT, case_a_team);
    snprintf(r->path, sizeof r->path, "/api/v1/cases/%ld/letters/%ld/pdf", case_a, letter_a);
    r = add("POST", "/api/v1/cases/{id}/letters/{letter_id}/sent", OBJECT, case_a_team);
    snprintf(r->path, sizeof r->path, "/api/v1/cases/%ld/letters/%ld/sent", case_a, letter_a);
    snprintf(r->body, sizeof r->body,
             "{\"method\": \"email\", \"sent_at\": \"2026-03-02T10:00\", \"expected_version\": 2}");
    r = add("POST", "/api/v1/allocations", COLLECTION, BIT(P_MANAGER_A) | BIT(P_SVC_A));
    snprintf(r->body, sizeof r->body, "{\"case_ids\": [%ld], \"team_id\": %ld, \"officer_id\": %ld}", case_a,
             north, scalar("SELECT id FROM users WHERE username = 'officera'"));
    r = add("GET", "/api/v1/advice-requests", COLLECTION, ~0u);
    r->sees = case_a_team | BIT(P_DCO_A);
    r = add("POST", "/api/v1/advice-requests/{id}/forward", OBJECT, BIT(P_DCO_A));
    snprintf(r->path, sizeof r->path, "/api/v1/advice-requests/%ld/forward", advice_a);
    snprintf(r->body, sizeof r->body, "{\"organisation_id\": %ld, \"effective_on\": \"2026-03-02\"}",
             other_health);
    r = add("POST", "/api/v1/advice-requests/{id}/return", OBJECT, BIT(P_DCO_A) | BIT(P_OFFICER_A));
    snprintf(r->path, sizeof r->path, "/api/v1/advice-requests/%ld/return", advice_a);
    snprintf(r->body, sizeof r->body, "{\"effective_on\": \"2026-03-02\"}");
    r = add("POST", "/api/v1/advice-requests/{id}/nil-return", OBJECT, BIT(P_DCO_A) | BIT(P_OFFICER_A));
    snprintf(r->path, sizeof r->path, "/api/v1/advice-requests/%ld/nil-return", advice_a);
    snprintf(r->body, sizeof r->body, "{\"effective_on\": \"2026-03-02\", \"reason\": \"other\"}");
    r = add("POST", "/api/v1/advice-requests/{id}/documents", OBJECT,
            BIT(P_DCO_A) | BIT(P_OFFICER_A) | BIT(P_MANAGER_A));
    snprintf(r->path, sizeof r->path, "/api/v1/advice-requests/%ld/documents?name=report.txt", advice_a);
    snprintf(r->body, sizeof r->body, "{\"not\": \"a report\"}");
    r = add("GET", "/api/v1/cases/{id}/documents", OBJECT, case_a_team | BIT(P_DCO_A));
    snprintf(r->path, sizeof r->path, "/api/v1/cases/%ld/documents", case_a);
    r = add("POST", "/api/v1/cases/{id}/documents", OBJECT, BIT(P_OFFICER_A) | BIT(P_MANAGER_A));
    snprintf(r->path, sizeof r->path, "/api/v1/cases/%ld/documents?kind=other&name=notes.txt", case_a);
    snprintf(r->body, sizeof r->body, "{\"not\": \"a document\"}");
    r = add("GET", "/api/v1/cases/{id}/documents/{document_id}", OBJECT, case_a_team);
    snprintf(r->path, sizeof r->path, "/api/v1/cases/%ld/documents/%ld", case_a, document_a);
    r = add("GET", "/api/v1/children", COLLECTION, ~0u);
    snprintf(r->path, sizeof r->path, "/api/v1/children?surname=%s", secret);
    r->sees = case_a_team | BIT(P_OFFICER_A2); /* a child is found across the authority */
    r = add("POST", "/api/v1/children/{id}/merge", OBJECT, BIT(P_MANAGER_A) | BIT(P_SVC_A));
    snprintf(r->path, sizeof r->path, "/api/v1/children/%ld/merge", child_a2);
    snprintf(r->body, sizeof r->body, "{\"into_child_id\": %ld, \"reason\": \"the same child\"}", child_a);
    r = add("GET", "/api/v1/reports/timeliness", COLLECTION, ~0u);
    r->sees = ~0u; /* counts only, no child data */
    r = add("GET", "/api/v1/reports/breach-forecast", COLLECTION, ~0u);
    r->sees = ~0u; /* references and chances, no child data */
    r = add("GET", "/api/v1/reports/sen2", COLLECTION, ~0u);
    snprintf(r->path, sizeof r->path, "/api/v1/reports/sen2?year=2027&module=person");
    r->sees = BIT(P_SVC_A); /* the authority's return: A's child by name, for A's service manager only */
    r = add("GET", "/api/v1/reports/sen2/validation", COLLECTION, ~0u);
    snprintf(r->path, sizeof r->path, "/api/v1/reports/sen2/validation?year=2027");
    r->sees = BIT(P_SVC_A);
    r->secret = case_a_reference; /* A's case, named by a finding (its child's sex is not recorded) */
    r = add("GET", "/api/v1/reviews", COLLECTION, ~0u);
    r->sees = case_a_team; /* plans under review of A's North team (none of A's child here: scoped anyway) */
    r = add("POST", "/api/v1/bulk-events", COLLECTION, BIT(P_OFFICER_A));
    snprintf(r->body, sizeof r->body,
             "{\"case_ids\": [%ld], \"type\": \"notification_sent\", \"effective_on\": \"2026-03-02\", "
             "\"fields\": {\"body\": \"icb\"}}",
             case_a);
    r = add("GET", "/api/v1/caseload", COLLECTION, ~0u);
    r->sees = ~0u; /* no child data in it */
    r = add("GET", "/api/v1/alerts", COLLECTION, ~0u);
    r->sees = case_a_team;
    r = add("POST", "/api/v1/alerts/{id}/acknowledge", OBJECT, case_a_team);
    snprintf(r->path, sizeof r->path, "/api/v1/alerts/%ld/acknowledge", alert_a);
    r = add("GET", "/api/v1/admin/dead-letters", COLLECTION, ~0u);
    r->sees = ~0u; /* no child data in a delivery failure */
    r = add("POST", "/api/v1/admin/dead-letters/{id}/requeue", OBJECT, BIT(P_ADMIN_A) | BIT(P_SYSADMIN));
    snprintf(r->path, sizeof r->path, "/api/v1/admin/dead-letters/%ld/requeue", dead_a);
    /* administration: an authority's admins, and system administrators */
    const unsigned admins = BIT(P_ADMIN_A) | BIT(P_SYSADMIN);
    long user = scalar("SELECT id FROM users WHERE username = 'officera'");
    long grant = scalar("SELECT id FROM role_grants WHERE user_id = %ld", user);
    long token = scalar("SELECT id FROM api_tokens WHERE user_id = %ld", user);
    long authority = scalar("SELECT id FROM local_authorities WHERE dfe_code = '353'");
    long south = scalar("SELECT id FROM teams WHERE name = 'South'");
    r = add("GET", "/api/v1/admin/users", COLLECTION, ~0u);
    r->sees = admins;
    r->secret = "officera2"; /* a user of A only */
    r = add("POST", "/api/v1/admin/users", COLLECTION, admins);
    snprintf(r->body, sizeof r->body,
             "{\"username\": \"newcomer\", \"display_name\": \"New\", \"authority_id\": %ld}", authority);
    static const char *const user_actions[] = {"password-reset", "disable", "enable", "unlock"};
    static const char *const user_routes[] = {
        "/api/v1/admin/users/{id}/password-reset", "/api/v1/admin/users/{id}/disable",
        "/api/v1/admin/users/{id}/enable", "/api/v1/admin/users/{id}/unlock"};
    for (size_t i = 0; i < 4; i++) {
        r = add("POST", user_routes[i], OBJECT, admins);
        snprintf(r->path, sizeof r->path, "/api/v1/admin/users/%ld/%s", user, user_actions[i]);
    }
    r = add("POST", "/api/v1/admin/users/{id}/grants", OBJECT, admins);
    snprintf(r->path, sizeof r->path, "/api/v1/admin/users/%ld/grants", user);
    snprintf(r->body, sizeof r->body, "{\"role\": \"officer\", \"authority_id\": %ld, \"team_id\": %ld}",
             authority, south);
    r = add("POST", "/api/v1/admin/grants/{id}/revoke", OBJECT, admins);
    snprintf(r->path, sizeof r->path, "/api/v1/admin/grants/%ld/revoke", grant);
    r = add("GET", "/api/v1/admin/users/{id}/tokens", OBJECT, admins);
    snprintf(r->path, sizeof r->path, "/api/v1/admin/users/%ld/tokens", user);
    r = add("POST", "/api/v1/admin/users/{id}/tokens", OBJECT, admins);
    snprintf(r->path, sizeof r->path, "/api/v1/admin/users/%ld/tokens", user);
    snprintf(r->body, sizeof r->body, "{\"name\": \"matrix\"}");
    r = add("POST", "/api/v1/admin/tokens/{id}/revoke", OBJECT, admins);
    snprintf(r->path, sizeof r->path, "/api/v1/admin/tokens/%ld/revoke", token);
    r = add("GET", "/api/v1/admin/teams", COLLECTION, ~0u);
    r->sees = admins;
    r->secret = "South";
    r = add("POST", "/api/v1/admin/teams", COLLECTION, admins);
    snprintf(r->body, sizeof r->body, "{\"authority_id\": %ld, \"name\": \"West\"}", authority);
    r = add("GET", "/api/v1/admin/organisations", COLLECTION, ~0u);
    r->sees = admins;
    r->secret = "Social Care"; /* serves A only */
    r = add("POST", "/api/v1/admin/organisations", COLLECTION, admins);
    snprintf(r->body, sizeof r->body,
             "{\"name\": \"Speech Therapy\", \"kind\": \"health\", \"authority_ids\": [%ld]}", authority);
    r = add("GET", "/api/v1/admin/cases/{id}/access-log", OBJECT, admins);
    snprintf(r->path, sizeof r->path, "/api/v1/admin/cases/%ld/access-log", case_a);
    r = add("GET", "/admin/clock", ANY_USER, 0);
    r = add("POST", "/admin/clock", OBJECT, BIT(P_SYSADMIN));
    snprintf(r->body, sizeof r->body, "{\"now\": \"2026-03-03T12:00:00Z\"}");
}

/* The same role in authority A of a principal of B. */
static int counterpart_in_a(int p)
{
    switch (p) {
    case P_OFFICER_B: return P_OFFICER_A;
    case P_MANAGER_B: return P_MANAGER_A;
    case P_SVC_B: return P_SVC_A;
    case P_DCO_B: return P_DCO_A;
    case P_ADMIN_B: return P_ADMIN_A;
    default: return p;
    }
}

/* The database's state as far as any route could change it. */
static char *state_of_everything(void)
{
    PGresult *r =
        PQexec(admin, "SELECT concat_ws('|', (SELECT count(*) FROM cases), (SELECT sum(version) FROM "
                      "cases), (SELECT count(*) FROM case_events), (SELECT count(*) FROM children), "
                      "(SELECT string_agg(id || ':' || coalesce(team_id, 0) || ':' || "
                      "coalesce(officer_id, 0), ',' ORDER BY id) FROM cases), "
                      "(SELECT string_agg(status, ',' ORDER BY id) FROM alerts), "
                      "(SELECT count(*) FROM advice_requests WHERE returned_on IS NOT NULL OR "
                      "forwarded_to_id IS NOT NULL), (SELECT count(*) FROM deadline_exceptions), "
                      "(SELECT string_agg(attempts || ':' || (dead_at IS NULL), ',') FROM outbox), "
                      "(SELECT count(*) FROM users), (SELECT count(*) FROM role_grants WHERE "
                      "revoked_at IS NULL), (SELECT count(*) FROM api_tokens WHERE revoked_at IS "
                      "NULL), (SELECT count(*) FROM teams), (SELECT count(*) FROM organisations), "
                      "(SELECT count(*) FROM user_sessions WHERE ended_at IS NULL), (SELECT count(*) FROM "
                      "child_merges), (SELECT count(*) FROM admin_audit), (SELECT "
                      "string_agg(coalesce(disabled_at::text, '-') || coalesce(locked_until::text, '-') || "
                      "coalesce(password_hash, '-'), ',' ORDER BY id) FROM users), (SELECT count(*) FROM "
                      "case_documents), (SELECT count(*) FROM letters))");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    char *s = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return s;
}

static bool documented(cJSON *doc, const char *method, const char *route)
{
    char lower[8];
    size_t i = 0;
    for (; method[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)(method[i] | 0x20);
    lower[i] = '\0';
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "paths"), route) &&
           cJSON_GetObjectItemCaseSensitive(
               cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "paths"), route),
               lower);
}

static void test_the_table_names_every_documented_route(void **state)
{
    (void)state;
    build_table();
    char file[1024];
    snprintf(file, sizeof file, "%s/api/doc/openapi.json", ehc_test_env("EHC_SOURCE_DIR"));
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    int missing = 0;
    const cJSON *path, *op;
    cJSON_ArrayForEach(path, cJSON_GetObjectItemCaseSensitive(doc, "paths"))
    {
        cJSON_ArrayForEach(op, path)
        {
            bool found = false;
            for (size_t i = 0; i < rows && !found; i++) {
                char lower[8];
                size_t k = 0;
                for (; table[i].method[k] && k < sizeof lower - 1; k++)
                    lower[k] = (char)(table[i].method[k] | 0x20);
                lower[k] = '\0';
                found = strcmp(table[i].route, path->string) == 0 && strcmp(lower, op->string) == 0;
            }
            if (!found) {
                fprintf(stderr, "route %s %s has no row in the access matrix\n", op->string, path->string);
                missing++;
            }
        }
    }
    for (size_t i = 0; i < rows; i++) {
        if (!documented(doc, table[i].method, table[i].route)) {
            fprintf(stderr, "matrix row %s %s is not a documented route\n", table[i].method, table[i].route);
            missing++;
        }
    }
    cJSON_Delete(doc);
    assert_int_equal(missing, 0);
}

static void test_every_forbidden_call_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    build_table();
    char *before = state_of_everything();
    int wrong = 0;
    size_t calls = 0;
    for (size_t i = 0; i < rows; i++) {
        const row *r = &table[i];
        if (r->kind == PUBLIC) continue;
        for (int p = 0; p < P_COUNT; p++) {
            bool allowed = p != P_NONE && (r->kind == ANY_USER || (r->allowed & BIT(p)));
            if (allowed && r->kind != COLLECTION) continue;
            if (allowed && !(r->method[0] == 'G')) continue; /* allowed writes are not made */
            if (strcmp(r->route, "/api/v1/alerts/stream") == 0 && p != P_NONE) continue;
            char *body = NULL;
            long status = call(p, r->method, r->path, r->body[0] ? r->body : NULL, &body);
            calls++;
            bool ok;
            if (p == P_NONE)
                ok = status == 401;
            else if (r->kind == OBJECT)
                /* from B, a principal whose counterpart in A could act must not learn that the
                 * object exists; one with no such role at all may be told so (403) */
                ok = (BIT(p) & IN_B) && (r->allowed & BIT(counterpart_in_a(p)))
                         ? status == 404
                         : (status == 403 || status == 404);
            else /* a collection: refused, or answered without A's child unless allowed to see */
                ok = status == 403 || status == 404 ||
                     (status == 200 && ((r->sees & BIT(p)) || !strstr(body, r->secret ? r->secret : secret)));
            if (status >= 400 && status != 401 && (!body || !strstr(body, "\"error\""))) ok = false;
            if (!ok) {
                fprintf(stderr, "%s %s as %s -> %ld: %s\n", r->method, r->path, names[p], status, body);
                wrong++;
            }
            free(body);
        }
    }
    char *after = state_of_everything();
    if (strcmp(before, after) != 0) {
        fprintf(stderr, "the database changed:\n before %s\n after  %s\n", before, after);
        wrong++;
    }
    free(before);
    free(after);
    fprintf(stderr, "%zu refused or scoped calls checked over %zu routes\n", calls, rows);
    assert_int_equal(wrong, 0);
}

/* The allowed principal is let through each object write (so a refusal above is not a broken route). */
static void test_the_allowed_principal_can_make_each_write(void **state)
{
    (void)state;
    build_table();
    static const struct {
        const char *route;
        int who;
    } allowed[] = {
        {"/api/v1/cases/{id}/events", P_OFFICER_A},
        {"/api/v1/cases/{id}/exceptions", P_MANAGER_A},
        {"/api/v1/cases/{id}/letters", P_OFFICER_A},
        {"/api/v1/advice-requests/{id}/forward", P_DCO_A},
        {"/api/v1/advice-requests/{id}/documents", P_DCO_A},
        {"/api/v1/cases/{id}/documents", P_OFFICER_A},
        {"/api/v1/alerts/{id}/acknowledge", P_MANAGER_A},
        {"/api/v1/admin/dead-letters/{id}/requeue", P_ADMIN_A},
    };
    for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++) {
        for (size_t i = 0; i < rows; i++) {
            row *r = &table[i];
            if (strcmp(r->route, allowed[k].route) != 0) continue;
            /* the version moves with each case write: name the current one */
            char *v = strstr(r->body, "\"expected_version\": ");
            if (v) {
                char tail[64];
                snprintf(tail, sizeof tail, "\"expected_version\": %ld}",
                         scalar("SELECT version FROM cases WHERE id = %ld", case_a));
                strcpy(v, tail);
            }
            char *body = NULL;
            long status = call(allowed[k].who, r->method, r->path, r->body[0] ? r->body : NULL, &body);
            /* authorised: done, or refused by the law for this case (e.g. a stage), never 401/403/404 */
            if (status == 401 || status == 403 || status == 404 || status >= 500 || status == 0) {
                fprintf(stderr, "%s %s as %s -> %ld: %s\n", r->method, r->path, names[allowed[k].who], status,
                        body);
                fail();
            }
            free(body);
        }
    }
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
        cmocka_unit_test(test_the_table_names_every_documented_route),
        cmocka_unit_test(test_every_forbidden_call_is_refused_and_changes_nothing),
        cmocka_unit_test(test_the_allowed_principal_can_make_each_write),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
