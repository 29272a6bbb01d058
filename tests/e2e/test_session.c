/* Signing in over a real socket: a right password gives an HttpOnly, SameSite=Strict session
 * cookie and a CSRF token; state-changing requests need the token; wrong passwords and unknown
 * users get the same answer; five wrong passwords lock the account; API tokens work without
 * cookies; bad bodies get a clear 4xx naming the field. */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ehc/credential.h"
#include "testlib.h"

static char *db_url;
static ehc_test_daemon daemon_;
static PGconn *admin;

static void add_user(const char *username, const char *password)
{
    char hash[EHC_PASSWORD_HASH_MAX];
    assert_int_equal(ehc_password_hash(password, hash, sizeof hash), 0);
    ehc_test_exec(
        admin, "INSERT INTO users (username, display_name, password_hash) VALUES ('%s', 'Officer %s', '%s')",
        username, username, hash);
}

static int setup(void **state)
{
    admin = ehc_test_migrated_database("ehc_session", &db_url);
    add_user("officer1", "correct horse battery staple");
    add_user("officer2", "another long passphrase");
    ehc_test_exec(admin, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    ehc_test_exec(admin, "INSERT INTO teams (authority_id, name) SELECT id, 'North' FROM local_authorities");
    ehc_test_exec(admin,
                  "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, 'officer', "
                  "t.authority_id, t.id "
                  "FROM users u, teams t WHERE u.username = 'officer1'");
    ehc_test_daemon_serve(&daemon_, db_url, NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    ehc_test_teardown(&daemon_, admin, db_url);
    return 0;
}

/* Last: ehcd stops on SIGTERM with exit status 0, which under the sanitizers also means no leak
 * and no memory error in anything the tests above made it do. */
static void test_daemon_stops_cleanly_after_all_of_the_above(void **state)
{
    ehc_test_daemon_stop_clean(&daemon_);
}

static void sign_in(const char *username, const char *password, ehc_test_response *r)
{
    char body[256];
    snprintf(body, sizeof body, "{\"username\": \"%s\", \"password\": \"%s\"}", username, password);
    const char *h[] = {"Content-Type: application/json", NULL};
    ehc_test_http(r, "POST", daemon_.port, "/api/v1/session", body, h);
}

/* "ehc_session=..." from a Set-Cookie header, into out. */
static void session_cookie(const ehc_test_response *r, char *out, size_t size)
{
    const char *c = strstr(r->headers, "set-cookie: ehc_session=");
    assert_non_null(c);
    c += strlen("set-cookie: ");
    size_t n = strcspn(c, ";\r\n");
    assert_true(n < size);
    memcpy(out, c, n);
    out[n] = '\0';
}

static void json_string(const char *body, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(body, pat);
    assert_non_null(p);
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    assert_true(n < size);
    memcpy(out, p, n);
    out[n] = '\0';
}

static void test_sign_in_gives_a_strict_httponly_cookie_and_csrf_token(void **state)
{
    ehc_test_response r;
    sign_in("officer1", "correct horse battery staple", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "set-cookie: ehc_session="));
    assert_non_null(strstr(r.headers, "HttpOnly"));
    assert_non_null(strstr(r.headers, "SameSite=Strict"));
    assert_non_null(strstr(r.body, "\"csrf_token\":\""));
    assert_null(strstr(r.body, "password"));
    char cookie[256], csrf[128], hdr_cookie[300], hdr_csrf[200];
    session_cookie(&r, cookie, sizeof cookie);
    json_string(r.body, "csrf_token", csrf, sizeof csrf);
    ehc_test_response_free(&r);

    snprintf(hdr_cookie, sizeof hdr_cookie, "Cookie: %s", cookie);
    const char *h[] = {hdr_cookie, NULL};
    ehc_test_http(&r, "GET", daemon_.port, "/api/v1/session", NULL, h);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"username\":\"officer1\""));
    assert_non_null(strstr(r.body, "\"role\":\"officer\""));
    ehc_test_response_free(&r);

    /* signing out changes state: without the CSRF token it is refused */
    ehc_test_http(&r, "DELETE", daemon_.port, "/api/v1/session", NULL, h);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "\"code\":\"csrf\""));
    ehc_test_response_free(&r);
    snprintf(hdr_csrf, sizeof hdr_csrf, "X-CSRF-Token: %s", csrf);
    const char *h2[] = {hdr_cookie, hdr_csrf, NULL};
    ehc_test_http(&r, "DELETE", daemon_.port, "/api/v1/session", NULL, h2);
    assert_int_equal(r.status, 204);
    ehc_test_response_free(&r);
    ehc_test_http(&r, "GET", daemon_.port, "/api/v1/session", NULL, h);
    assert_int_equal(r.status, 401);
    ehc_test_response_free(&r);
}

static void test_wrong_password_and_unknown_user_get_the_same_answer(void **state)
{
    ehc_test_response a, b;
    sign_in("officer2", "not the password", &a);
    sign_in("nobody-here", "not the password", &b);
    assert_int_equal(a.status, 401);
    assert_int_equal(b.status, 401);
    assert_non_null(strstr(a.body, "\"code\":\"invalid_credentials\""));
    assert_non_null(strstr(b.body, "\"code\":\"invalid_credentials\""));
    assert_null(strstr(a.headers, "set-cookie"));
    ehc_test_response_free(&a);
    ehc_test_response_free(&b);
    /* the one wrong attempt is forgiven by a right one */
    sign_in("officer2", "another long passphrase", &a);
    assert_int_equal(a.status, 200);
    ehc_test_response_free(&a);
}

static void test_five_wrong_passwords_lock_the_account(void **state)
{
    add_user("officer3", "the right one, eventually");
    ehc_test_response r;
    for (int i = 0; i < 5; i++) {
        sign_in("officer3", "guess", &r);
        assert_int_equal(r.status, 401);
        ehc_test_response_free(&r);
    }
    sign_in("officer3", "the right one, eventually", &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "\"code\":\"account_locked\""));
    assert_non_null(strstr(r.headers, "retry-after: 900"));
    ehc_test_response_free(&r);
}

static void test_api_token_authenticates_without_cookie_or_csrf(void **state)
{
    const char *token = "tok_0123456789abcdefghijklmnopqrstuvwxyz";
    char sha[65];
    ehc_sha256_hex(token, strlen(token), sha);
    ehc_test_exec(admin,
                  "INSERT INTO api_tokens (user_id, name, token_sha256) SELECT id, 'case system', '%s' "
                  "FROM users WHERE username = 'officer1'",
                  sha);
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *h[] = {auth, NULL};
    ehc_test_response r;
    ehc_test_http(&r, "GET", daemon_.port, "/api/v1/session", NULL, h);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"username\":\"officer1\""));
    ehc_test_response_free(&r);
    const char *bad[] = {"Authorization: Bearer tok_not_a_real_token_at_all_xx", NULL};
    ehc_test_http(&r, "GET", daemon_.port, "/api/v1/session", NULL, bad);
    assert_int_equal(r.status, 401);
    ehc_test_response_free(&r);
    ehc_test_http(&r, "GET", daemon_.port, "/api/v1/session", NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "\"code\":\"unauthenticated\""));
    ehc_test_response_free(&r);
}

static void test_bad_sign_in_bodies_get_clear_errors(void **state)
{
    struct {
        const char *type;
        const char *body;
        long status;
        const char *expect;
    } cases[] = {
        {"Content-Type: text/plain", "username=x", 415, "\"code\":\"unsupported_media_type\""},
        {"Content-Type: application/json", "{\"username\": ", 400, "\"code\":\"malformed_json\""},
        {"Content-Type: application/json", "[1, 2]", 422, "\"code\":\"invalid_body\""},
        {"Content-Type: application/json", "{\"password\": \"x\"}", 422, "\"field\":\"username\""},
        {"Content-Type: application/json", "{\"username\": 7, \"password\": \"x\"}", 422,
         "\"field\":\"username\""},
        {"Content-Type: application/json", "{\"username\": \"officer1\"}", 422, "\"field\":\"password\""},
        {"Content-Type: application/json", "{\"username\": \"a\", \"password\": \"b\", \"admin\": true}", 422,
         "\"field\":\"admin\""},
        {"Content-Type: application/json", "{\"username\": \"x' OR '1'='1\", \"password\": \"' OR 1=1 --\"}",
         401, "\"code\":\"invalid_credentials\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *h[] = {cases[i].type, NULL};
        ehc_test_response r;
        ehc_test_http(&r, "POST", daemon_.port, "/api/v1/session", cases[i].body, h);
        if (r.status != cases[i].status || !strstr(r.body, cases[i].expect)) {
            fprintf(stderr, "body %s -> %ld %s\n", cases[i].body, r.status, r.body);
            fail();
        }
        ehc_test_response_free(&r);
    }
    PGresult *res = PQexec(admin, "SELECT count(*) FROM user_sessions");
    /* only the successful sign-ins of the other tests made sessions */
    assert_true(atoi(PQgetvalue(res, 0, 0)) <= 2);
    PQclear(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_in_gives_a_strict_httponly_cookie_and_csrf_token),
        cmocka_unit_test(test_wrong_password_and_unknown_user_get_the_same_answer),
        cmocka_unit_test(test_five_wrong_passwords_lock_the_account),
        cmocka_unit_test(test_api_token_authenticates_without_cookie_or_csrf),
        cmocka_unit_test(test_bad_sign_in_bodies_get_clear_errors),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
