/* Administration over the API, against ehcd and a real PostgreSQL: an authority's admin creates a
 * team and an officer, who signs in with the one-time password and works; a password reset ends the
 * officer's sessions; an API token is shown once, works, and stops when revoked or when its user is
 * disabled; a revoked grant stops access; the access log of a case lists the officer's read; another
 * authority's admin finds none of it and can change none of it; officers and managers are refused
 * every admin route; bad bodies change nothing; and every change is in the append-only audit table. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ehc/common.h"
#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;
static long authority_a, authority_b;

/* what the tests make, in order */
static long team_id, officer_id, officer_grant_id, case_id;
static char officer_password[64];

#define scalar(...) ehc_test_scalar(admin, __VA_ARGS__)

#define GRANT_TEAM(role, team)                                                                               \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, t.id FROM users u, teams t WHERE u.username = '%s' AND t.name = '" team "'"
#define GRANT_AUTHORITY(role, authority)                                                                     \
    "INSERT INTO role_grants (user_id, role, authority_id) SELECT u.id, '" role "', a.id "                   \
    "FROM users u, local_authorities a WHERE u.username = '%s' AND a.dfe_code = '" authority "'"

static void expect(const char *method, const char *path, const char *auth, const char *body, long want,
                   ehc_test_response *keep)
{
    ehc_test_response r;
    long got = ehc_test_call(d.port, method, path, auth, body, &r);
    if (got != want) {
        fprintf(stderr, "%s %s (%s) -> %ld, expected %ld: %s\n", method, path, auth, got, want, r.body);
        ehc_test_response_free(&r);
        fail();
    }
    if (keep)
        *keep = r;
    else
        ehc_test_response_free(&r);
}

static long json_id(const char *body, const char *key)
{
    cJSON *o = cJSON_Parse(body);
    assert_non_null(o);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsNumber(v));
    long n = (long)v->valuedouble;
    cJSON_Delete(o);
    return n;
}

static void json_str(const char *body, const char *key, char *out, size_t size)
{
    cJSON *o = cJSON_Parse(body);
    assert_non_null(o);
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    assert_non_null(v);
    assert_true(strlen(v) < size);
    snprintf(out, size, "%s", v);
    cJSON_Delete(o);
}

/* The error's field, or "" (null) */
static void error_field(const char *body, char *out, size_t size)
{
    cJSON *o = cJSON_Parse(body);
    assert_non_null(o);
    const char *v = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "error"), "field"));
    snprintf(out, size, "%s", v ? v : "");
    cJSON_Delete(o);
}

typedef struct session {
    char cookie[300];
    char csrf[200];
} session;

static long sign_in(const char *username, const char *password, session *s)
{
    char body[256];
    snprintf(body, sizeof body, "{\"username\": \"%s\", \"password\": \"%s\"}", username, password);
    const char *h[] = {"Content-Type: application/json", NULL};
    ehc_test_response r;
    ehc_test_http(&r, "POST", d.port, "/api/v1/session", body, h);
    long status = r.status;
    if (status == 200 && s) {
        const char *c = strstr(r.headers, "set-cookie: ehc_session=");
        assert_non_null(c);
        c += strlen("set-cookie: ");
        size_t n = strcspn(c, ";\r\n");
        snprintf(s->cookie, sizeof s->cookie, "Cookie: %.*s", (int)n, c);
        char csrf[128];
        json_str(r.body, "csrf_token", csrf, sizeof csrf);
        snprintf(s->csrf, sizeof s->csrf, "X-CSRF-Token: %s", csrf);
    }
    ehc_test_response_free(&r);
    return status;
}

static long session_call(const session *s, const char *method, const char *path, const char *body,
                         ehc_test_response *r)
{
    const char *h[] = {s->cookie, s->csrf, "Content-Type: application/json", NULL};
    ehc_test_http(r, method, d.port, path, body, h);
    return r->status;
}

/* Everything an admin route could change, as one comparable line. */
static void state_of_everything(char *out, size_t size)
{
    PGresult *r = PQexec(admin, "SELECT concat_ws(' ', (SELECT count(*) FROM users), "
                                "(SELECT string_agg(username || coalesce(password_hash, '') || "
                                "coalesce(disabled_at::text, '') || coalesce(locked_until::text, ''), ',' "
                                "ORDER BY id) FROM users), "
                                "(SELECT string_agg(id || coalesce(revoked_at::text, ''), ',' ORDER BY id) "
                                "FROM role_grants), "
                                "(SELECT string_agg(id || coalesce(revoked_at::text, ''), ',' ORDER BY id) "
                                "FROM api_tokens), "
                                "(SELECT count(*) FROM user_sessions WHERE ended_at IS NULL), "
                                "(SELECT count(*) FROM teams), (SELECT count(*) FROM organisations), "
                                "(SELECT count(*) FROM organisation_authorities), "
                                "(SELECT count(*) FROM admin_audit))");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

static void set_clock(const char *iso)
{
    char body[96];
    snprintf(body, sizeof body, "{\"now\": \"%s\"}", iso);
    expect("POST", "/admin/clock", EHC_TEST_TOKEN("sysadmin"), body, 200, NULL);
}

static int setup(void **state)
{
    admin = ehc_test_migrated_database("ehc_admin", &db_url);
    ehc_test_exec(
        admin,
        "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham'), ('357', 'Tameside')");
    authority_a = scalar("SELECT id FROM local_authorities WHERE dfe_code = '353'");
    authority_b = scalar("SELECT id FROM local_authorities WHERE dfe_code = '357'");
    ehc_test_exec(
        admin,
        "INSERT INTO teams (authority_id, name) SELECT id, 'South' FROM local_authorities WHERE dfe_code = "
        "'353'");
    ehc_test_exec(
        admin,
        "INSERT INTO teams (authority_id, name) SELECT id, 'East' FROM local_authorities WHERE dfe_code = "
        "'357'");
    ehc_test_add_user(admin, "la_admin", false, GRANT_AUTHORITY("admin", "353"));
    ehc_test_add_user(admin, "lb_admin", false, GRANT_AUTHORITY("admin", "357"));
    ehc_test_add_user(admin, "sysadmin", true, NULL);
    ehc_test_add_user(admin, "officer_s", false, GRANT_TEAM("officer", "South"));
    ehc_test_add_user(admin, "manager_s", false, GRANT_TEAM("manager", "South"));
    ehc_test_add_user(admin, "service_b", false, GRANT_AUTHORITY("service_manager", "357"));
    /* works for both authorities */
    ehc_test_add_user(admin, "shared", false, GRANT_TEAM("officer", "South"));
    ehc_test_exec(
        admin, "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, 'officer', "
               "t.authority_id, t.id FROM users u, teams t WHERE u.username = 'shared' AND t.name = 'East'");
    ehc_test_daemon_serve(&d, db_url, (const char *const[]){"--sim-clock=2025-01-01T00:00:00Z", NULL}, NULL);
    set_clock("2026-02-20T09:00:00Z");
    return 0;
}

static int teardown(void **state)
{
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

static const char *request_body =
    "{\"team_id\": %ld, \"child\": {\"forename\": \"Sam\", \"surname\": \"Example\", \"date_of_birth\": "
    "\"2019-04-02\", \"nhs_number\": \"9434765919\"}, \"request\": {\"effective_on\": \"2026-01-05\", "
    "\"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": "
    "\"2026-01-05T10:30\"}}}";

static void test_authority_admin_creates_a_team_and_an_officer_who_signs_in_and_works(void **state)
{
    ehc_test_response r;
    char body[1024], path[128];
    snprintf(body, sizeof body, "{\"authority_id\": %ld, \"name\": \"North\"}", authority_a);
    expect("POST", "/api/v1/admin/teams", EHC_TEST_TOKEN("la_admin"), body, 201, &r);
    team_id = json_id(r.body, "id");
    ehc_test_response_free(&r);
    expect("GET", "/api/v1/admin/teams", EHC_TEST_TOKEN("la_admin"), NULL, 200, &r);
    assert_non_null(strstr(r.body, "\"name\": \"North\""));
    assert_null(strstr(r.body, "\"East\"")); /* another authority's team */
    ehc_test_response_free(&r);

    snprintf(body, sizeof body,
             "{\"username\": \"new.officer\", \"display_name\": \"New Officer\", \"authority_id\": %ld, "
             "\"grants\": [{\"role\": \"officer\", \"team_id\": %ld}]}",
             authority_a, team_id);
    expect("POST", "/api/v1/admin/users", EHC_TEST_TOKEN("la_admin"), body, 201, &r);
    officer_id = json_id(r.body, "id");
    json_str(r.body, "temporary_password", officer_password, sizeof officer_password);
    assert_true(strlen(officer_password) >= 20);
    assert_non_null(strstr(r.headers, "cache-control: no-store"));
    assert_null(strstr(r.body, "argon2"));
    assert_null(strstr(r.body, "password_hash"));
    cJSON *o = cJSON_Parse(r.body);
    cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "grants"), 0);
    officer_grant_id = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(g, "id"));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "role")), "officer");
    cJSON_Delete(o);
    ehc_test_response_free(&r);
    /* only the Argon2id hash is stored */
    char sql[1024];
    assert_int_equal(scalar("SELECT count(*) FROM users WHERE id = %ld AND password_hash LIKE '$argon2id$%%' "
                            "AND position('%s' in password_hash) = 0 AND created_in_authority_id = %ld",
                            officer_id, officer_password, authority_a),
                     1);
    /* the admin sees the officer, never a hash */
    expect("GET", "/api/v1/admin/users", EHC_TEST_TOKEN("la_admin"), NULL, 200, &r);
    assert_non_null(strstr(r.body, "\"username\": \"new.officer\""));
    assert_null(strstr(r.body, "argon2"));
    assert_null(strstr(r.body, "\"lb_admin\"")); /* another authority's admin */
    ehc_test_response_free(&r);

    /* the officer signs in with the one-time password and works on their team's cases */
    session s;
    assert_int_equal(sign_in("new.officer", officer_password, &s), 200);
    assert_int_equal(session_call(&s, "GET", "/api/v1/cases", NULL, &r), 200);
    assert_string_equal(r.body, "[]");
    ehc_test_response_free(&r);
    snprintf(body, sizeof body, request_body, team_id);
    assert_int_equal(session_call(&s, "POST", "/api/v1/cases", body, &r), 201);
    case_id = json_id(r.body, "id");
    ehc_test_response_free(&r);
    snprintf(path, sizeof path, "/api/v1/cases/%ld", case_id);
    assert_int_equal(session_call(&s, "GET", path, NULL, &r), 200);
    ehc_test_response_free(&r);
    assert_int_equal(session_call(&s, "GET", "/api/v1/cases", NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"next_deadline\""));
    ehc_test_response_free(&r);

    /* every change is audited: who, what, on which objects, from where, for which request */
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM admin_audit a JOIN users u ON u.id = a.actor_id WHERE u.username = 'la_admin' "
        "AND a.authority_id = %ld AND a.client_address = '127.0.0.1' AND a.request_id IS NOT NULL AND "
        "((a.action = 'team_created' AND a.team_id = %ld) OR (a.action = 'user_created' AND "
        "a.target_user_id = %ld) OR (a.action = 'grant_added' AND a.grant_id = %ld AND a.team_id = %ld))",
        authority_a, team_id, officer_id, officer_grant_id, team_id);
    assert_int_equal(scalar("%s", sql), 3);
}

static void test_access_log_of_a_case_lists_the_officers_read_for_its_authoritys_admin_only(void **state)
{
    char path[128];
    ehc_test_response r;
    snprintf(path, sizeof path, "/api/v1/admin/cases/%ld/access-log", case_id);
    expect("GET", path, EHC_TEST_TOKEN("la_admin"), NULL, 200, &r);
    cJSON *lines = cJSON_Parse(r.body);
    assert_true(cJSON_IsArray(lines) && cJSON_GetArraySize(lines) >= 1);
    int reads = 0;
    const char *previous_at = NULL;
    cJSON *line;
    cJSON_ArrayForEach(line, lines)
    {
        const char *at = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "at"));
        assert_non_null(at);
        if (previous_at) assert_true(strcmp(previous_at, at) >= 0); /* newest first */
        previous_at = at;
        const char *who = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "username"));
        const char *action = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "action"));
        if (!who || strcmp(who, "new.officer") != 0 || !action || strcmp(action, "read") != 0) continue;
        assert_int_equal((long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(line, "user_id")),
                         officer_id);
        assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "request_id")));
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "resource")), "case");
        reads++;
    }
    assert_int_equal(reads, 1);
    cJSON_Delete(lines);
    assert_null(strstr(r.body, "Example")); /* the log names who read, not the child */
    ehc_test_response_free(&r);
    snprintf(path, sizeof path, "/api/v1/admin/cases/%ld/access-log?limit=1&offset=0", case_id);
    expect("GET", path, EHC_TEST_TOKEN("la_admin"), NULL, 200, NULL);
    snprintf(path, sizeof path, "/api/v1/admin/cases/%ld/access-log?limit=0", case_id);
    expect("GET", path, EHC_TEST_TOKEN("la_admin"), NULL, 400, NULL);
    snprintf(path, sizeof path, "/api/v1/admin/cases/%ld/access-log?colour=red", case_id);
    expect("GET", path, EHC_TEST_TOKEN("la_admin"), NULL, 400, NULL);
    snprintf(path, sizeof path, "/api/v1/admin/cases/%ld/access-log", case_id);
    expect("GET", path, EHC_TEST_TOKEN("lb_admin"), NULL, 404, NULL);  /* another authority's case */
    expect("GET", path, EHC_TEST_TOKEN("officer_s"), NULL, 403, NULL); /* not an admin */
    expect("GET", path, EHC_TEST_TOKEN("sysadmin"), NULL, 200, NULL);  /* any authority */
    expect("GET", "/api/v1/admin/cases/999999/access-log", EHC_TEST_TOKEN("la_admin"), NULL, 404, NULL);
}

static void test_password_reset_ends_the_users_sessions_and_gives_a_new_one_time_password(void **state)
{
    session s;
    ehc_test_response r;
    assert_int_equal(sign_in("new.officer", officer_password, &s), 200);
    assert_int_equal(session_call(&s, "GET", "/api/v1/session", NULL, &r), 200);
    ehc_test_response_free(&r);
    char path[128], fresh[64];
    snprintf(path, sizeof path, "/api/v1/admin/users/%ld/password-reset", officer_id);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), NULL, 200, &r);
    json_str(r.body, "temporary_password", fresh, sizeof fresh);
    assert_non_null(strstr(r.headers, "cache-control: no-store"));
    ehc_test_response_free(&r);
    assert_string_not_equal(fresh, officer_password);
    assert_int_equal(session_call(&s, "GET", "/api/v1/session", NULL, &r), 401);
    ehc_test_response_free(&r);
    assert_int_equal(sign_in("new.officer", officer_password, NULL), 401);
    assert_int_equal(sign_in("new.officer", fresh, NULL), 200);
    snprintf(officer_password, sizeof officer_password, "%s", fresh);
    assert_int_equal(scalar("SELECT count(*) FROM admin_audit WHERE action = 'password_reset' AND "
                            "target_user_id = %ld",
                            officer_id),
                     1);
}

static void test_token_is_shown_once_works_and_is_refused_once_revoked(void **state)
{
    char path[128], token[128], auth[200];
    ehc_test_response r;
    snprintf(path, sizeof path, "/api/v1/admin/users/%ld/tokens", officer_id);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), "{\"name\": \"case system\"}", 201, &r);
    json_str(r.body, "token", token, sizeof token);
    long token_id = json_id(r.body, "id");
    assert_non_null(strstr(r.headers, "cache-control: no-store"));
    ehc_test_response_free(&r);
    /* only its SHA-256 is kept, and listing never shows it again */
    char sha[65];
    ehc_sha256_hex(token, strlen(token), sha);
    assert_int_equal(
        scalar("SELECT count(*) FROM api_tokens WHERE id = %ld AND token_sha256 = '%s'", token_id, sha), 1);
    expect("GET", path, EHC_TEST_TOKEN("la_admin"), NULL, 200, &r);
    assert_non_null(strstr(r.body, "\"name\": \"case system\""));
    assert_null(strstr(r.body, token));
    assert_null(strstr(r.body, sha));
    ehc_test_response_free(&r);

    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    expect("GET", "/api/v1/cases", auth, NULL, 200, &r);
    assert_non_null(strstr(r.body, "\"next_deadline\""));
    ehc_test_response_free(&r);
    snprintf(path, sizeof path, "/api/v1/admin/tokens/%ld/revoke", token_id);
    expect("POST", path, EHC_TEST_TOKEN("lb_admin"), NULL, 404, NULL); /* another authority's admin */
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), NULL, 200, NULL);
    expect("GET", "/api/v1/cases", auth, NULL, 401, NULL);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), NULL, 409, NULL); /* already revoked */
}

static void test_disabled_user_cannot_use_a_token_or_sign_in_until_enabled(void **state)
{
    char path[128], token[128], auth[200];
    ehc_test_response r;
    snprintf(path, sizeof path, "/api/v1/admin/users/%ld/tokens", officer_id);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), "{\"name\": \"second system\"}", 201, &r);
    json_str(r.body, "token", token, sizeof token);
    ehc_test_response_free(&r);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    session s;
    assert_int_equal(sign_in("new.officer", officer_password, &s), 200);
    expect("GET", "/api/v1/cases", auth, NULL, 200, NULL);

    snprintf(path, sizeof path, "/api/v1/admin/users/%ld/disable", officer_id);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), NULL, 200, &r);
    assert_non_null(strstr(r.body, "\"disabled\": true"));
    ehc_test_response_free(&r);
    expect("GET", "/api/v1/cases", auth, NULL, 401, NULL);
    assert_int_equal(session_call(&s, "GET", "/api/v1/session", NULL, &r), 401);
    ehc_test_response_free(&r);
    assert_int_equal(sign_in("new.officer", officer_password, NULL), 401);

    snprintf(path, sizeof path, "/api/v1/admin/users/%ld/enable", officer_id);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), NULL, 200, NULL);
    expect("GET", "/api/v1/cases", auth, NULL, 200, NULL);
    assert_int_equal(sign_in("new.officer", officer_password, NULL), 200);

    /* locked out by wrong passwords, unlocked by the admin */
    for (int i = 0; i < 5; i++)
        assert_int_equal(sign_in("new.officer", "not the password at all", NULL), 401);
    assert_int_equal(sign_in("new.officer", officer_password, NULL), 401);
    expect("GET", "/api/v1/admin/users", EHC_TEST_TOKEN("la_admin"), NULL, 200, &r);
    assert_non_null(strstr(r.body, "\"locked\": true"));
    ehc_test_response_free(&r);
    snprintf(path, sizeof path, "/api/v1/admin/users/%ld/unlock", officer_id);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), NULL, 200, &r);
    assert_non_null(strstr(r.body, "\"locked\": false"));
    ehc_test_response_free(&r);
    assert_int_equal(sign_in("new.officer", officer_password, NULL), 200);
    assert_int_equal(scalar("SELECT count(*) FROM admin_audit WHERE target_user_id = %ld AND action IN "
                            "('user_disabled', 'user_enabled', 'user_unlocked', 'token_created')",
                            officer_id),
                     5);
}

static void test_revoked_grant_stops_access_and_stays_listed(void **state)
{
    char path[128], auth[200], token[128], case_path[64];
    ehc_test_response r;
    snprintf(path, sizeof path, "/api/v1/admin/users/%ld/tokens", officer_id);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), "{\"name\": \"third\"}", 201, &r);
    json_str(r.body, "token", token, sizeof token);
    ehc_test_response_free(&r);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    snprintf(case_path, sizeof case_path, "/api/v1/cases/%ld", case_id);
    expect("GET", case_path, auth, NULL, 200, NULL);

    snprintf(path, sizeof path, "/api/v1/admin/grants/%ld/revoke", officer_grant_id);
    expect("POST", path, EHC_TEST_TOKEN("lb_admin"), NULL, 404, NULL); /* another authority's grant */
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), NULL, 200, &r);
    assert_non_null(strstr(r.body, "\"revoked\": true"));
    ehc_test_response_free(&r);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), NULL, 409, NULL);
    expect("GET", case_path, auth, NULL, 404, NULL);
    expect("GET", "/api/v1/cases", auth, NULL, 200, &r);
    assert_string_equal(r.body, "[]");
    ehc_test_response_free(&r);
    /* still listed, flagged */
    expect("GET", "/api/v1/admin/users", EHC_TEST_TOKEN("la_admin"), NULL, 200, &r);
    assert_non_null(strstr(r.body, "\"revoked\": true"));
    ehc_test_response_free(&r);

    /* granted again, the officer is back */
    char body[256];
    snprintf(body, sizeof body, "{\"role\": \"officer\", \"authority_id\": %ld, \"team_id\": %ld}",
             authority_a, team_id);
    snprintf(path, sizeof path, "/api/v1/admin/users/%ld/grants", officer_id);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), body, 201, &r);
    officer_grant_id = json_id(r.body, "id");
    ehc_test_response_free(&r);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), body, 409, NULL); /* held already */
    expect("GET", case_path, auth, NULL, 200, NULL);
}

static void test_another_authoritys_admin_finds_nothing_and_changes_nothing(void **state)
{
    char before[8192], after[8192];
    state_of_everything(before, sizeof before);
    char reset[96], disable[96], enable[96], unlock[96], tokens[96], grants[96], revoke[96], grant_a[256],
        team_a[128], user_a[256], org_a[128], grant_b_user[96];
    snprintf(reset, sizeof reset, "/api/v1/admin/users/%ld/password-reset", officer_id);
    snprintf(disable, sizeof disable, "/api/v1/admin/users/%ld/disable", officer_id);
    snprintf(enable, sizeof enable, "/api/v1/admin/users/%ld/enable", officer_id);
    snprintf(unlock, sizeof unlock, "/api/v1/admin/users/%ld/unlock", officer_id);
    snprintf(tokens, sizeof tokens, "/api/v1/admin/users/%ld/tokens", officer_id);
    snprintf(grants, sizeof grants, "/api/v1/admin/users/%ld/grants", officer_id);
    snprintf(revoke, sizeof revoke, "/api/v1/admin/grants/%ld/revoke", officer_grant_id);
    snprintf(grant_a, sizeof grant_a, "{\"role\": \"service_manager\", \"authority_id\": %ld}", authority_a);
    snprintf(team_a, sizeof team_a, "{\"authority_id\": %ld, \"name\": \"Hijack\"}", authority_a);
    snprintf(user_a, sizeof user_a,
             "{\"username\": \"intruder\", \"display_name\": \"Intruder\", \"authority_id\": %ld}",
             authority_a);
    snprintf(org_a, sizeof org_a, "{\"name\": \"Sneaky\", \"kind\": \"health\", \"authority_ids\": [%ld]}",
             authority_a);
    long service_b = scalar("SELECT id FROM users WHERE username = 'service_b'");
    snprintf(grant_b_user, sizeof grant_b_user, "/api/v1/admin/users/%ld/grants", service_b);
    struct {
        const char *method, *path, *body;
        long expect;
    } refused[] = {
        {"POST", reset, NULL, 404},
        {"POST", disable, NULL, 404},
        {"POST", enable, NULL, 404},
        {"POST", unlock, NULL, 404},
        {"GET", tokens, NULL, 404},
        {"POST", tokens, "{\"name\": \"mine now\"}", 404},
        {"POST", grants, grant_a, 404},
        {"POST", revoke, NULL, 404},
        /* roles in an authority it does not administer, even for its own user */
        {"POST", grant_b_user, grant_a, 403},
        {"POST", "/api/v1/admin/teams", team_a, 403},
        {"POST", "/api/v1/admin/users", user_a, 403},
        {"POST", "/api/v1/admin/organisations", org_a, 403},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ehc_test_response r;
        ehc_test_call(d.port, refused[i].method, refused[i].path, EHC_TEST_TOKEN("lb_admin"), refused[i].body,
                      &r);
        if (r.status != refused[i].expect) {
            fprintf(stderr, "%s %s as lb_admin -> %ld (expected %ld) %s\n", refused[i].method,
                    refused[i].path, r.status, refused[i].expect, r.body);
            fail();
        }
        assert_null(strstr(r.body, "new.officer"));
        ehc_test_response_free(&r);
    }
    ehc_test_response r;
    expect("GET", "/api/v1/admin/users", EHC_TEST_TOKEN("lb_admin"), NULL, 200, &r);
    assert_null(strstr(r.body, "new.officer"));
    assert_null(strstr(r.body, "la_admin"));
    assert_non_null(strstr(r.body, "\"service_b\""));
    ehc_test_response_free(&r);
    expect("GET", "/api/v1/admin/teams", EHC_TEST_TOKEN("lb_admin"), NULL, 200, &r);
    assert_null(strstr(r.body, "North"));
    ehc_test_response_free(&r);
    state_of_everything(after, sizeof after);
    assert_string_equal(before, after);

    /* a user who also works for authority B is managed by a system administrator, not by A's admin
       alone: a password set by A must not open B's cases */
    long shared = scalar("SELECT id FROM users WHERE username = 'shared'");
    snprintf(reset, sizeof reset, "/api/v1/admin/users/%ld/password-reset", shared);
    expect("POST", reset, EHC_TEST_TOKEN("la_admin"), NULL, 403, NULL);
    expect("POST", reset, EHC_TEST_TOKEN("lb_admin"), NULL, 403, NULL);
    state_of_everything(after, sizeof after);
    assert_string_equal(before, after);
    expect("POST", reset, EHC_TEST_TOKEN("sysadmin"), NULL, 200, NULL);
}

static void test_officers_and_managers_are_refused_every_admin_route(void **state)
{
    char before[8192], after[8192], user[96], grants[96], reset[96], disable[96], enable[96], unlock[96],
        tokens[96], grant_revoke[96], token_revoke[96], log[96];
    state_of_everything(before, sizeof before);
    snprintf(user, sizeof user, "{\"username\": \"x1\", \"display_name\": \"X\", \"authority_id\": %ld}",
             authority_a);
    snprintf(grants, sizeof grants, "/api/v1/admin/users/%ld/grants", officer_id);
    snprintf(reset, sizeof reset, "/api/v1/admin/users/%ld/password-reset", officer_id);
    snprintf(disable, sizeof disable, "/api/v1/admin/users/%ld/disable", officer_id);
    snprintf(enable, sizeof enable, "/api/v1/admin/users/%ld/enable", officer_id);
    snprintf(unlock, sizeof unlock, "/api/v1/admin/users/%ld/unlock", officer_id);
    snprintf(tokens, sizeof tokens, "/api/v1/admin/users/%ld/tokens", officer_id);
    snprintf(grant_revoke, sizeof grant_revoke, "/api/v1/admin/grants/%ld/revoke", officer_grant_id);
    snprintf(token_revoke, sizeof token_revoke, "/api/v1/admin/tokens/%ld/revoke",
             scalar("SELECT max(id) FROM api_tokens"));
    snprintf(log, sizeof log, "/api/v1/admin/cases/%ld/access-log", case_id);
    struct {
        const char *method, *path, *body;
    } routes[] = {
        {"GET", "/api/v1/admin/users", NULL},
        {"POST", "/api/v1/admin/users", user},
        {"POST", grants, "{\"role\": \"admin\", \"authority_id\": 1}"},
        {"POST", grant_revoke, NULL},
        {"POST", reset, NULL},
        {"POST", disable, NULL},
        {"POST", enable, NULL},
        {"POST", unlock, NULL},
        {"GET", tokens, NULL},
        {"POST", tokens, "{\"name\": \"mine\"}"},
        {"POST", token_revoke, NULL},
        {"GET", "/api/v1/admin/teams", NULL},
        {"POST", "/api/v1/admin/teams", "{\"authority_id\": 1, \"name\": \"Mine\"}"},
        {"GET", "/api/v1/admin/organisations", NULL},
        {"POST", "/api/v1/admin/organisations",
         "{\"name\": \"Mine\", \"kind\": \"other\", \"authority_ids\": [1]}"},
        {"GET", log, NULL},
    };
    const char *callers[] = {EHC_TEST_TOKEN("officer_s"), EHC_TEST_TOKEN("manager_s"),
                             EHC_TEST_TOKEN("service_b")};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        for (size_t c = 0; c < sizeof callers / sizeof callers[0]; c++) {
            long got =
                ehc_test_call(d.port, routes[i].method, routes[i].path, callers[c], routes[i].body, NULL);
            if (got != 403) {
                fprintf(stderr, "%s %s as %s -> %ld (expected 403)\n", routes[i].method, routes[i].path,
                        callers[c], got);
                fail();
            }
        }
        long got = ehc_test_call(d.port, routes[i].method, routes[i].path, "X-None: 1", routes[i].body, NULL);
        if (got != 401) {
            fprintf(stderr, "%s %s without credentials -> %ld (expected 401)\n", routes[i].method,
                    routes[i].path, got);
            fail();
        }
    }
    state_of_everything(after, sizeof after);
    assert_string_equal(before, after);
}

static void test_bad_inputs_get_a_clear_error_and_change_nothing(void **state)
{
    char before[8192], after[8192];
    long east = scalar("SELECT id FROM teams WHERE name = 'East'");
    long org_b =
        scalar("INSERT INTO organisations (name, kind) VALUES ('B only service', 'health') RETURNING id");
    ehc_test_exec(
        admin, "INSERT INTO organisation_authorities (organisation_id, authority_id) SELECT o.id, a.id FROM "
               "organisations o, local_authorities a WHERE o.name = 'B only service' AND a.dfe_code = '357'");
    state_of_everything(before, sizeof before);
    char users[96] = "/api/v1/admin/users", grants[96];
    snprintf(grants, sizeof grants, "/api/v1/admin/users/%ld/grants", officer_id);
    static char b[16][512];
#define USER_BODY(i, extra)                                                                                  \
    (snprintf(b[i], sizeof b[i],                                                                             \
              "{\"username\": \"someone.new\", \"display_name\": \"Someone\", \"authority_id\": %ld%s}",     \
              authority_a, extra),                                                                           \
     b[i])
    char grants_team_b[160], grants_org_b[160], grant_team_b[160], grant_sm_team[160];
    snprintf(grants_team_b, sizeof grants_team_b, ", \"grants\": [{\"role\": \"officer\", \"team_id\": %ld}]",
             east);
    snprintf(grants_org_b, sizeof grants_org_b,
             ", \"grants\": [{\"role\": \"dco\", \"organisation_id\": %ld}]", org_b);
    snprintf(grant_team_b, sizeof grant_team_b,
             "{\"role\": \"officer\", \"authority_id\": %ld, \"team_id\": %ld}", authority_a, east);
    snprintf(grant_sm_team, sizeof grant_sm_team,
             "{\"role\": \"service_manager\", \"authority_id\": %ld, \"team_id\": %ld}", authority_a,
             team_id);
    struct {
        const char *path, *body;
        long status;
        const char *field; /* "" for none */
    } cases[] = {
        {users, "{\"username\": ", 400, ""},
        {users, "[1, 2]", 422, ""},
        {users, USER_BODY(0, ", \"is_admin\": true"), 422, "is_admin"},
        {users, "{\"username\": 7, \"display_name\": \"X\", \"authority_id\": 1}", 422, "username"},
        {users, "{\"username\": \"Bad Name\", \"display_name\": \"X\", \"authority_id\": 1}", 422,
         "username"},
        {users, "{\"username\": \"ok.name\", \"display_name\": \"\", \"authority_id\": 1}", 422,
         "display_name"},
        {users, "{\"username\": \"ok.name\", \"display_name\": \"X\", \"authority_id\": \"1\"}", 422,
         "authority_id"},
        {users, USER_BODY(1, ", \"grants\": {}"), 422, "grants"},
        {users, USER_BODY(2, ", \"grants\": [{\"role\": \"superuser\"}]"), 422, "grants[0].role"},
        {users, USER_BODY(3, ", \"grants\": [{\"role\": \"officer\"}]"), 422, "grants[0].team_id"},
        {users, USER_BODY(4, grants_team_b), 422, "grants[0].team_id"},
        {users, USER_BODY(5, grants_org_b), 422, "grants[0].organisation_id"},
        {users, USER_BODY(6, ", \"grants\": [{\"role\": \"admin\", \"surprise\": 1}]"), 422,
         "grants[0].surprise"},
        {users, "{\"username\": \"new.officer\", \"display_name\": \"Again\", \"authority_id\": 1}", 409,
         "username"},
        {grants, grant_team_b, 422, "team_id"},
        {grants, grant_sm_team, 422, "team_id"},
        {grants, "{\"role\": \"officer\", \"authority_id\": 1, \"team_id\": 1.5}", 422, "team_id"},
        {grants, "{\"role\": \"dco\", \"authority_id\": 1}", 422, "organisation_id"},
        {"/api/v1/admin/teams", "{\"authority_id\": 1, \"name\": \"North\"}", 409, "name"},
        {"/api/v1/admin/teams", "{\"authority_id\": 1, \"name\": 3}", 422, "name"},
        {"/api/v1/admin/organisations", "{\"name\": \"X\", \"kind\": \"magic\", \"authority_ids\": [1]}", 422,
         "kind"},
        {"/api/v1/admin/organisations",
         "{\"name\": \"X\", \"kind\": \"health\", \"ods_code\": \"no\", "
         "\"authority_ids\": [1]}",
         422, "ods_code"},
        {"/api/v1/admin/organisations", "{\"name\": \"X\", \"kind\": \"health\", \"authority_ids\": []}", 422,
         "authority_ids"},
        {"/api/v1/admin/organisations", "{\"organisation_id\": 999999, \"authority_ids\": [1]}", 404,
         "organisation_id"},
    };
    /* (authority 1 is A: the first authority inserted into a fresh database) */
    assert_int_equal(authority_a, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ehc_test_response r;
        ehc_test_call(d.port, "POST", cases[i].path, EHC_TEST_TOKEN("la_admin"), cases[i].body, &r);
        char field[96] = "";
        if (r.status == cases[i].status) error_field(r.body, field, sizeof field);
        if (r.status != cases[i].status || strcmp(field, cases[i].field) != 0) {
            fprintf(stderr, "case %zu: POST %s %s -> %ld %s (expected %ld, field '%s')\n", i, cases[i].path,
                    cases[i].body, r.status, r.body, cases[i].status, cases[i].field);
            fail();
        }
        ehc_test_response_free(&r);
    }
    /* not JSON at all, and routes without a body given one */
    const char *text[] = {EHC_TEST_TOKEN("la_admin"), "Content-Type: text/plain", NULL};
    ehc_test_response r;
    ehc_test_http(&r, "POST", d.port, users, "username=x", text);
    assert_int_equal(r.status, 415);
    ehc_test_response_free(&r);
    char disable[96];
    snprintf(disable, sizeof disable, "/api/v1/admin/users/%ld/disable", officer_id);
    expect("POST", disable, EHC_TEST_TOKEN("la_admin"), "{\"reason\": \"x\"}", 422, NULL);
    expect("POST", "/api/v1/admin/users/abc/disable", EHC_TEST_TOKEN("la_admin"), NULL, 404, NULL);
    expect("POST", "/api/v1/admin/users/0/disable", EHC_TEST_TOKEN("la_admin"), NULL, 404, NULL);
    expect("POST", "/api/v1/admin/users/999999/disable", EHC_TEST_TOKEN("la_admin"), NULL, 404, NULL);
    expect("GET", "/api/v1/admin/users?limit=9999", EHC_TEST_TOKEN("la_admin"), NULL, 400, NULL);
    expect("GET", "/api/v1/admin/teams?x=1", EHC_TEST_TOKEN("la_admin"), NULL, 400, NULL);
    expect("DELETE", "/api/v1/admin/users", EHC_TEST_TOKEN("la_admin"), NULL, 405, NULL);
    /* an admin cannot disable themselves */
    snprintf(disable, sizeof disable, "/api/v1/admin/users/%ld/disable",
             scalar("SELECT id FROM users WHERE username = 'la_admin'"));
    expect("POST", disable, EHC_TEST_TOKEN("la_admin"), NULL, 409, NULL);
    state_of_everything(after, sizeof after);
    assert_string_equal(before, after);
}

static void test_organisations_are_registered_once_and_linked_by_each_authority(void **state)
{
    ehc_test_response r;
    char body[256], path[96];
    snprintf(body, sizeof body,
             "{\"name\": \"Pennine Care NHS FT\", \"kind\": \"health\", \"ods_code\": \"RT2\", "
             "\"authority_ids\": [%ld]}",
             authority_a);
    expect("POST", "/api/v1/admin/organisations", EHC_TEST_TOKEN("la_admin"), body, 201, &r);
    long org = json_id(r.body, "id");
    ehc_test_response_free(&r);
    expect("POST", "/api/v1/admin/organisations", EHC_TEST_TOKEN("la_admin"), body, 409, NULL);
    expect("GET", "/api/v1/admin/organisations", EHC_TEST_TOKEN("lb_admin"), NULL, 200, &r);
    assert_null(strstr(r.body, "Pennine"));
    ehc_test_response_free(&r);
    expect("GET", "/api/v1/admin/organisations?all=true", EHC_TEST_TOKEN("lb_admin"), NULL, 200, &r);
    assert_non_null(strstr(r.body, "Pennine"));
    ehc_test_response_free(&r);
    /* B links it to itself, and can then make a DCO there */
    snprintf(body, sizeof body, "{\"organisation_id\": %ld, \"authority_ids\": [%ld]}", org, authority_b);
    expect("POST", "/api/v1/admin/organisations", EHC_TEST_TOKEN("lb_admin"), body, 200, &r);
    assert_non_null(strstr(r.body, "\"authority_ids\": [1, 2]"));
    ehc_test_response_free(&r);
    snprintf(body, sizeof body,
             "{\"username\": \"dco.b\", \"display_name\": \"DCO\", \"authority_id\": %ld, \"grants\": "
             "[{\"role\": \"dco\", \"organisation_id\": %ld}]}",
             authority_b, org);
    expect("POST", "/api/v1/admin/users", EHC_TEST_TOKEN("lb_admin"), body, 201, NULL);
    /* a system administrator may act for any authority */
    long dco = scalar("SELECT id FROM users WHERE username = 'dco.b'");
    snprintf(path, sizeof path, "/api/v1/admin/users/%ld/grants", dco);
    snprintf(body, sizeof body, "{\"role\": \"dco\", \"authority_id\": %ld, \"organisation_id\": %ld}",
             authority_a, org);
    expect("POST", path, EHC_TEST_TOKEN("la_admin"), body, 404, NULL); /* A cannot see B's user */
    expect("POST", path, EHC_TEST_TOKEN("sysadmin"), body, 201, NULL);
    assert_int_equal(scalar("SELECT count(*) FROM role_grants WHERE user_id = %ld AND role = 'dco'", dco), 2);
}

static void test_audit_is_append_only_and_walled_by_authority(void **state)
{
    /* as the application's role, bound to authority B, it sees only B's rows and changes none */
    ehc_test_exec(admin, "BEGIN");
    ehc_test_exec(admin, "SET LOCAL ROLE ehc_app");
    ehc_test_exec(admin, "SELECT set_config('ehc.authority_ids', '%ld', true)", authority_b);
    assert_int_equal(scalar("SELECT count(*) FROM admin_audit WHERE authority_id <> %ld", authority_b), 0);
    assert_true(scalar("SELECT count(*) FROM admin_audit") > 0);
    PGresult *r = PQexec(admin, "UPDATE admin_audit SET request_id = 'x'");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
    PQclear(r);
    ehc_test_exec(admin, "ROLLBACK");
    /* and even the owner cannot rewrite it */
    PGresult *r2 = PQexec(admin, "DELETE FROM admin_audit");
    assert_int_equal(PQresultStatus(r2), PGRES_FATAL_ERROR);
    PQclear(r2);
    assert_true(scalar("SELECT count(*) FROM admin_audit WHERE client_address IS NULL") == 0);
}

/* Last: ehcd stops on SIGTERM with exit status 0, which under the sanitizers also means no leak
 * and no memory error in anything the tests above made it do. */
static void test_daemon_stops_cleanly_after_all_of_the_above(void **state)
{
    ehc_test_daemon_stop_clean(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authority_admin_creates_a_team_and_an_officer_who_signs_in_and_works),
        cmocka_unit_test(test_access_log_of_a_case_lists_the_officers_read_for_its_authoritys_admin_only),
        cmocka_unit_test(test_password_reset_ends_the_users_sessions_and_gives_a_new_one_time_password),
        cmocka_unit_test(test_token_is_shown_once_works_and_is_refused_once_revoked),
        cmocka_unit_test(test_disabled_user_cannot_use_a_token_or_sign_in_until_enabled),
        cmocka_unit_test(test_revoked_grant_stops_access_and_stays_listed),
        cmocka_unit_test(test_another_authoritys_admin_finds_nothing_and_changes_nothing),
        cmocka_unit_test(test_officers_and_managers_are_refused_every_admin_route),
        cmocka_unit_test(test_bad_inputs_get_a_clear_error_and_change_nothing),
        cmocka_unit_test(test_organisations_are_registered_once_and_linked_by_each_authority),
        cmocka_unit_test(test_audit_is_append_only_and_walled_by_authority),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
