/* The browser interface's files as ehcd serves them (api/web.c), over a real socket, from a web_root
 * made here: index.html for /, /app and every /app/... path; files under /assets/ with their content
 * type, an ETag that revalidates to 304, a Cache-Control, a strict Content-Security-Policy and the
 * other security headers; nothing outside web_root is ever served, whether asked for with "..", an
 * encoded "..", a symbolic link, a hidden file or a directory; /api/ paths stay the API's. And the
 * read-only workflow route the interface builds its forms from (GET /api/v1/workflows/{id}). */
#include <arpa/inet.h>
#include <cJSON.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static char root[256], outside[300];

#define TOKEN EHC_TEST_TOKEN("officer")
#define INDEX_HTML "<!DOCTYPE html><title>ehc test index</title>"
#define SECRET "the-secret-outside-web-root"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/ehc-web-test-%d", (int)getpid());
    snprintf(outside, sizeof outside, "%s-secret.txt", root);
    char path[512];
    mkdir(root, 0755);
    snprintf(path, sizeof path, "%s/assets", root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/assets/ehc", root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/index.html", root);
    write_file(path, INDEX_HTML);
    snprintf(path, sizeof path, "%s/assets/ehc/main.js", root);
    write_file(path, "export const answer = 42;\n");
    snprintf(path, sizeof path, "%s/assets/ehc/app.css", root);
    write_file(path, "body { margin: 0; }\n");
    snprintf(path, sizeof path, "%s/assets/ehc/icon.svg", root);
    write_file(path, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    snprintf(path, sizeof path, "%s/assets/.hidden", root);
    write_file(path, SECRET);
    write_file(outside, SECRET);
    snprintf(path, sizeof path, "%s/assets/escape.txt", root);
    if (symlink(outside, path) != 0) fail_msg("symlink failed");

    PGconn *c = ehc_test_migrated_database("ehc_web", &db_url);
    ehc_test_add_user(c, "officer", false, NULL);
    PQfinish(c);
    char env_web[512];
    snprintf(env_web, sizeof env_web, "EHCD_WEB_ROOT=%s", root);
    ehc_test_daemon_serve(&d, db_url, NULL, (const char *const[]){env_web, NULL});
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ehc_test_teardown(&d, NULL, db_url);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, outside);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return 0;
}

/* The value of a response header (lower-case name) in a raw header block, into out; false if absent. */
static bool header(const char *headers, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = headers; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            p += n + 1;
            while (*p == ' ')
                p++;
            size_t len = strcspn(p, "\r\n");
            if (len >= size) len = size - 1;
            memcpy(out, p, len);
            out[len] = '\0';
            return true;
        }
    }
    return false;
}

static void get(const char *path, const char *extra_header, ehc_test_response *r)
{
    const char *h[] = {extra_header, NULL};
    ehc_test_http(r, "GET", d.port, path, NULL, extra_header ? h : NULL);
}

/* A request whose path goes on the wire exactly as written (curl would resolve "../" itself). */
static long raw_get(const char *path, char *body, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[1024];
    int n =
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0;
    ssize_t k;
    while (got + 1 < size && (k = read(fd, body + got, size - got - 1)) > 0)
        got += (size_t)k;
    body[got] = '\0';
    close(fd);
    long status = 0;
    if (sscanf(body, "HTTP/1.%*d %ld", &status) != 1) status = 0;
    return status;
}

static void test_app_routes_are_the_index_page_with_security_headers(void **state)
{
    (void)state;
    const char *paths[] = {"/", "/app", "/app/", "/app/cases/12", "/app/advice?x=1"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        ehc_test_response r;
        get(paths[i], NULL, &r);
        char v[512];
        if (r.status != 200 || strcmp(r.body, INDEX_HTML) != 0) {
            fprintf(stderr, "GET %s -> %ld %s\n", paths[i], r.status, r.body);
            fail();
        }
        assert_true(header(r.headers, "content-type", v, sizeof v));
        assert_string_equal(v, "text/html; charset=utf-8");
        assert_true(header(r.headers, "content-security-policy", v, sizeof v));
        assert_non_null(strstr(v, "default-src 'none'"));
        assert_non_null(strstr(v, "script-src 'self';")); /* no 'unsafe-inline', no 'unsafe-eval' */
        assert_null(strstr(v, "unsafe"));
        assert_non_null(strstr(v, "frame-ancestors 'none'"));
        assert_true(header(r.headers, "x-content-type-options", v, sizeof v));
        assert_string_equal(v, "nosniff");
        assert_true(header(r.headers, "referrer-policy", v, sizeof v));
        assert_string_equal(v, "no-referrer");
        assert_true(header(r.headers, "x-frame-options", v, sizeof v));
        assert_string_equal(v, "DENY");
        assert_true(header(r.headers, "cache-control", v, sizeof v));
        assert_string_equal(v, "no-cache"); /* one Cache-Control: the API's no-store is replaced */
        assert_null(strstr(r.headers, "no-store"));
        ehc_test_response_free(&r);
    }
}

static void test_assets_have_their_content_type_and_revalidate_with_etag(void **state)
{
    (void)state;
    static const struct {
        const char *path, *type, *body;
    } files[] = {
        {"/assets/ehc/main.js", "text/javascript; charset=utf-8", "export const answer = 42;\n"},
        {"/assets/ehc/app.css", "text/css; charset=utf-8", "body { margin: 0; }\n"},
        {"/assets/ehc/icon.svg", "image/svg+xml", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ehc_test_response r;
        get(files[i].path, NULL, &r);
        char type[128], etag[128], modified[64], cond[200];
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, files[i].body);
        assert_true(header(r.headers, "content-type", type, sizeof type));
        assert_string_equal(type, files[i].type);
        assert_true(header(r.headers, "etag", etag, sizeof etag));
        assert_true(etag[0] == '"');
        assert_true(header(r.headers, "last-modified", modified, sizeof modified));
        assert_non_null(strstr(modified, "GMT"));
        ehc_test_response_free(&r);
        snprintf(cond, sizeof cond, "If-None-Match: %s", etag);
        get(files[i].path, cond, &r);
        assert_int_equal(r.status, 304);
        assert_int_equal(r.body_len, 0);
        ehc_test_response_free(&r);
        get(files[i].path, "If-None-Match: \"something-else\"", &r);
        assert_int_equal(r.status, 200);
        ehc_test_response_free(&r);
    }
}

static void test_nothing_outside_web_root_is_served(void **state)
{
    (void)state;
    const char *paths[] = {
        "/assets/../index.html",
        "/assets/../../../../etc/passwd",
        "/assets/ehc/../../../etc/passwd",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/assets/..%2f..%2fetc/passwd",
        "/assets/ehc/..\\..\\etc\\passwd",
        "/assets//etc/passwd",
        "/assets/.hidden",
        "/assets/escape.txt", /* a symbolic link to a file outside web_root */
        "/assets/ehc",
        "/assets/ehc/",
        "/assets/",
        "/assets/nope.js",
        "/assets/ehc/main.js%00.png",
    };
    char body[8192];
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        long status = raw_get(paths[i], body, sizeof body);
        if ((status != 404 && status != 400) || strstr(body, SECRET) || strstr(body, "root:")) {
            fprintf(stderr, "GET %s -> %ld\n%s\n", paths[i], status, body);
            fail();
        }
    }
    /* and the daemon is still there */
    ehc_test_response r;
    get("/healthz", NULL, &r);
    assert_int_equal(r.status, 200);
    ehc_test_response_free(&r);
}

static void test_api_paths_stay_the_apis(void **state)
{
    (void)state;
    ehc_test_response r;
    get("/api/v1/no-such-thing", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"error\""));
    ehc_test_response_free(&r);
    ehc_test_http(&r, "POST", d.port, "/app/cases", "{}", NULL);
    assert_int_equal(r.status, 405); /* the UI's routes are GET only */
    ehc_test_response_free(&r);
}

static void test_a_signed_in_user_reads_a_workflow_as_the_forms_need_it(void **state)
{
    (void)state;
    ehc_test_response r;
    get("/api/v1/workflows/ehc-needs-assessment", NULL, &r);
    assert_int_equal(r.status, 401);
    ehc_test_response_free(&r);
    get("/api/v1/workflows/no-such-workflow", TOKEN, &r);
    assert_int_equal(r.status, 404);
    ehc_test_response_free(&r);
    get("/api/v1/workflows/ehc-needs-assessment", TOKEN, &r);
    assert_int_equal(r.status, 200);
    cJSON *wf = cJSON_Parse(r.body);
    ehc_test_response_free(&r);
    assert_non_null(wf);
    assert_string_equal(cJSON_GetObjectItem(wf, "opened_by")->valuestring, "request_received");
    assert_int_equal(strlen(cJSON_GetObjectItem(wf, "content_hash")->valuestring), 64);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(wf, "stages"), 0), "id")->valuestring,
        "request");
    /* decision_to_assess: the managers', one required enum field, allowed in the first two stages */
    const cJSON *ev, *found = NULL;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(wf, "events"))
    {
        if (strcmp(cJSON_GetObjectItem(ev, "id")->valuestring, "decision_to_assess") == 0) found = ev;
    }
    assert_non_null(found);
    char *roles = cJSON_PrintUnformatted(cJSON_GetObjectItem(found, "roles"));
    char *allowed = cJSON_PrintUnformatted(cJSON_GetObjectItem(found, "allowed_in"));
    char *fields = cJSON_PrintUnformatted(cJSON_GetObjectItem(found, "fields"));
    assert_string_equal(roles, "[\"manager\",\"service_manager\"]");
    assert_string_equal(allowed, "[\"request\",\"deciding\"]");
    assert_string_equal(
        fields, "[{\"id\":\"decision\",\"type\":\"enum\",\"required\":true,\"values\":[\"yes\",\"no\"]}]");
    free(roles);
    free(allowed);
    free(fields);
    /* the statutory dates with their legal basis */
    const cJSON *dl, *decision = NULL;
    cJSON_ArrayForEach(dl, cJSON_GetObjectItem(wf, "deadlines"))
    {
        if (strcmp(cJSON_GetObjectItem(dl, "id")->valuestring, "decision_due") == 0) decision = dl;
    }
    assert_non_null(decision);
    assert_string_equal(cJSON_GetObjectItem(decision, "basis")->valuestring,
                        "SEND Regulations 2014, reg 5(1)");
    cJSON_Delete(wf);
}

static void test_daemon_stops_cleanly_after_all_of_the_above(void **state)
{
    (void)state;
    ehc_test_daemon_stop_clean(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_routes_are_the_index_page_with_security_headers),
        cmocka_unit_test(test_assets_have_their_content_type_and_revalidate_with_etag),
        cmocka_unit_test(test_nothing_outside_web_root_is_served),
        cmocka_unit_test(test_api_paths_stay_the_apis),
        cmocka_unit_test(test_a_signed_in_user_reads_a_workflow_as_the_forms_need_it),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
