/* Documents attached to a case, over a real socket against ehcd and PostgreSQL (issue #10 item 3):
 * a designated clinical officer uploads an advice report for a request addressed to their service;
 * the case's officer downloads it byte for byte with its SHA-256 as ETag, as an attachment; officers
 * of another authority and DCOs of another service or authority get 404 and learn nothing of the
 * child; a body too large or of the wrong type is refused, naming the field, with nothing stored;
 * every upload, listing and download is in the access log. Prints the throughput of a 10 MiB
 * document each way. */
#include <curl/curl.h>
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
#include <sys/time.h>
#include <unistd.h>

#include "ehc/common.h"
#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;

#define GRANT_TEAM(role, authority, team)                                                                    \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, t.id FROM users u, teams t JOIN local_authorities a ON a.id = t.authority_id "       \
    "WHERE u.username = '%s' AND a.dfe_code = '" authority "' AND t.name = '" team "'"
#define GRANT_SERVICE(role, authority, org)                                                                  \
    "INSERT INTO role_grants (user_id, role, authority_id, organisation_id) SELECT u.id, '" role             \
    "', a.id, o.id FROM users u, local_authorities a, organisations o WHERE u.username = '%s' AND "          \
    "a.dfe_code = '" authority "' AND o.name = '" org "'"

#define MIB (1024 * 1024)
#define SURNAME "Quixotic"

static int setup(void **state)
{
    (void)state;
    admin = ehc_test_migrated_database("ehc_documents", &db_url);
    ehc_test_exec(
        admin,
        "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham'), ('357', 'Tameside')");
    ehc_test_exec(admin,
                  "INSERT INTO teams (authority_id, name) SELECT a.id, t.name FROM local_authorities a, "
                  "(VALUES ('North'), ('South')) AS t (name) WHERE a.dfe_code = '353'");
    ehc_test_exec(admin,
                  "INSERT INTO teams (authority_id, name) SELECT id, 'East' FROM local_authorities WHERE "
                  "dfe_code = '357'");
    ehc_test_exec(
        admin, "INSERT INTO organisations (name, kind) VALUES ('Community Paediatrics', 'health'), ('CAMHS', "
               "'health')");
    ehc_test_exec(admin, "INSERT INTO organisation_authorities SELECT o.id, a.id FROM organisations o, "
                         "local_authorities a WHERE o.name = 'Community Paediatrics' OR a.dfe_code = '353'");
    ehc_test_add_user(admin, "officer1", false, GRANT_TEAM("officer", "353", "North"));
    ehc_test_add_user(admin, "officer2", false, GRANT_TEAM("officer", "353", "South"));
    ehc_test_add_user(admin, "officerb", false, GRANT_TEAM("officer", "357", "East"));
    ehc_test_add_user(admin, "dco1", false, GRANT_SERVICE("dco", "353", "Community Paediatrics"));
    ehc_test_add_user(admin, "dcocamhs", false, GRANT_SERVICE("dco", "353", "CAMHS"));
    ehc_test_add_user(admin, "dcob", false, GRANT_SERVICE("dco", "357", "Community Paediatrics"));
    ehc_test_add_user(admin, "admin", true, NULL);
    ehc_test_daemon_serve(&d, db_url, (const char *const[]){"--sim-clock=2026-03-02T12:00:00Z", NULL}, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

#define scalar(...) ehc_test_scalar(admin, __VA_ARGS__)

/* ---- HTTP with bytes that are not text ------------------------------------------------------------------
 */

typedef struct bytes {
    char *p;
    size_t n, cap;
} bytes;

static size_t on_data(char *ptr, size_t size, size_t n, void *data)
{
    bytes *b = data;
    if (b->n + size * n + 1 > b->cap) {
        b->cap = (b->n + size * n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, ptr, size * n);
    b->n += size * n;
    b->p[b->n] = '\0';
    return size * n;
}

typedef struct reply {
    long status;
    bytes body, headers;
    double seconds;
} reply;

static void reply_free(reply *r)
{
    free(r->body.p);
    free(r->headers.p);
    memset(r, 0, sizeof *r);
}

/* A request as `token` (a literal user name); body (len bytes) sent as is with content_type. */
static void request(reply *r, const char *method, const char *path, const char *user,
                    const char *content_type, const char *body, size_t len)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    char url[512], auth[128], ctype[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", d.port, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer tok-%s-0123456789abcdefghij", user);
    struct curl_slist *hl = curl_slist_append(NULL, auth);
    if (content_type) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", content_type);
        hl = curl_slist_append(hl, ctype);
    }
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    int64_t t0 = ehc_test_now_ms();
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->seconds = (double)(ehc_test_now_ms() - t0) / 1000.0;
    if (!r->body.p) r->body.p = calloc(1, 1);
    if (!r->headers.p) r->headers.p = calloc(1, 1);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

/* The value of a response header (lower-case name), into out; false when absent. */
static bool header(const reply *r, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *line = r->headers.p; line && *line;) {
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - line);
            if (vl >= size) vl = size - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        line = end ? end + 2 : NULL;
    }
    return false;
}

static cJSON *json_of(const reply *r)
{
    cJSON *j = cJSON_Parse(r->body.p);
    if (!j) fail_msg("%ld, not JSON: %.300s", r->status, r->body.p);
    return j;
}

static void expect_error(const reply *r, long status, const char *field)
{
    if (r->status != status) fail_msg("expected %ld, got %ld: %.300s", status, r->status, r->body.p);
    cJSON *j = json_of(r);
    const char *f = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "error"), "field"));
    if (field && (!f || strcmp(f, field) != 0)) fail_msg("expected field %s: %.300s", field, r->body.p);
    cJSON_Delete(j);
}

/* ---- the case -------------------------------------------------------------------------------------------
 */

static long the_case, advice_id, report_id, plan_id;
static char *report;
static size_t report_len;
static char report_sha[65];

static long api_json(const char *method, const char *path, const char *user, const char *json)
{
    reply r;
    request(&r, method, path, user, "application/json", json, json ? strlen(json) : 0);
    long s = r.status;
    if (s >= 300) fprintf(stderr, "%s %s -> %ld: %.300s\n", method, path, s, r.body.p);
    reply_free(&r);
    return s;
}

static long documents(void)
{
    return scalar("SELECT (SELECT count(*) FROM case_documents) * 1000 + (SELECT count(*) FROM "
                  "case_document_contents)");
}

static void test_a_dco_uploads_an_advice_report_and_the_officer_downloads_it_byte_for_byte(void **state)
{
    (void)state;
    char body[1024], path[160];
    snprintf(
        body, sizeof body,
        "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": {\"forename\": \"Ada\", \"surname\": "
        "\"" SURNAME
        "\", \"date_of_birth\": \"2018-06-01\"}, \"request\": {\"effective_on\": \"2026-03-02\", "
        "\"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": "
        "\"2026-03-02T10:00\"}}}",
        scalar("SELECT id FROM teams WHERE name = 'North'"));
    assert_int_equal(api_json("POST", "/api/v1/cases", "officer1", body), 201);
    the_case = scalar("SELECT max(id) FROM cases");
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", the_case);
    snprintf(body, sizeof body,
             "{\"type\": \"advice_requested\", \"effective_on\": \"2026-03-02\", \"expected_version\": 1, "
             "\"fields\": {\"request_key\": \"health\", \"adviser\": \"medical\", \"received_on\": "
             "\"2026-03-02\", \"organisation_id\": %ld}}",
             scalar("SELECT id FROM organisations WHERE name = 'Community Paediatrics'"));
    assert_int_equal(api_json("POST", path, "officer1", body), 201);
    advice_id = scalar("SELECT id FROM advice_requests WHERE case_id = %ld", the_case);

    /* a 10 MiB PDF: the header, then bytes of every value (NULs, CRs, high bytes), then the trailer */
    report_len = 10 * MIB;
    report = malloc(report_len);
    memcpy(report, "%PDF-1.7\n", 9);
    unsigned x = 2463534242u;
    for (size_t i = 9; i < report_len - 6; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        report[i] = (char)(x >> 24);
    }
    memcpy(report + report_len - 6, "%%EOF\n", 6);
    ehc_sha256_hex(report, report_len, report_sha);

    /* the DCO of the service it is addressed to; the name is stripped of its path and quote */
    long log_before = scalar("SELECT count(*) FROM access_log WHERE case_id = %ld", the_case);
    reply r;
    snprintf(path, sizeof path,
             "/api/v1/advice-requests/%ld/documents?name=C%%3A%%5Creports%%5Cpaed%%20%%22report%%22.pdf",
             advice_id);
    request(&r, "POST", path, "dco1", "application/pdf", report, report_len);
    if (r.status != 201) fail_msg("upload -> %ld: %.300s", r.status, r.body.p);
    double up_s = r.seconds;
    cJSON *doc = json_of(&r);
    report_id = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "id"));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "sha256")), report_sha);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "kind")), "advice_report");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "file_name")),
                        "paed _report_.pdf");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "media_type")),
                        "application/pdf");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "uploaded_role")), "dco");
    assert_int_equal((long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "size_bytes")),
                     (long)report_len);
    assert_int_equal((long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "advice_request_id")),
                     advice_id);
    cJSON_Delete(doc);
    char location[160], want[160];
    snprintf(want, sizeof want, "/api/v1/cases/%ld/documents/%ld", the_case, report_id);
    assert_true(header(&r, "location", location, sizeof location));
    assert_string_equal(location, want);
    reply_free(&r);
    /* stored as sent, hashed by the database from the bytes it holds */
    assert_int_equal(scalar("SELECT count(*) FROM case_document_contents c JOIN case_documents d ON d.id = "
                            "c.document_id WHERE d.id = %ld AND length(c.content) = %zu AND "
                            "encode(sha256(c.content), 'hex') = '%s'",
                            report_id, report_len, report_sha),
                     1);
    assert_int_equal(
        scalar("SELECT count(*) FROM access_log WHERE case_id = %ld AND action = 'write' AND "
               "resource = 'document' AND user_id = (SELECT id FROM users WHERE username = 'dco1')",
               the_case),
        1);

    /* the case's officer lists it and downloads it, byte for byte */
    snprintf(path, sizeof path, "/api/v1/cases/%ld/documents", the_case);
    request(&r, "GET", path, "officer1", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *list = json_of(&r);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 0),
                                                                              "uploaded_by_name")),
                        "dco1");
    cJSON_Delete(list);
    reply_free(&r);
    request(&r, "GET", want, "officer1", NULL, NULL, 0);
    if (r.status != 200) fail_msg("download -> %ld: %.300s", r.status, r.body.p);
    double down_s = r.seconds;
    assert_int_equal(r.body.n, report_len);
    assert_memory_equal(r.body.p, report, report_len);
    char got_sha[65], v[512];
    ehc_sha256_hex(r.body.p, r.body.n, got_sha);
    assert_string_equal(got_sha, report_sha);
    assert_true(header(&r, "content-type", v, sizeof v));
    assert_string_equal(v, "application/pdf");
    assert_true(header(&r, "etag", v, sizeof v));
    snprintf(want, sizeof want, "\"%s\"", report_sha);
    assert_string_equal(v, want);
    assert_true(header(&r, "x-content-type-options", v, sizeof v));
    assert_string_equal(v, "nosniff");
    assert_true(header(&r, "content-disposition", v, sizeof v));
    assert_string_equal(v,
                        "attachment; filename=\"paed _report_.pdf\"; filename*=UTF-8''paed%20_report_.pdf");
    reply_free(&r);
    /* the download is in the access log, as the officer's, with its request */
    assert_int_equal(scalar("SELECT count(*) FROM access_log WHERE case_id = %ld AND action = 'download' AND "
                            "resource = 'document' AND user_id = (SELECT id FROM users WHERE username = "
                            "'officer1') AND request_id IS NOT NULL",
                            the_case),
                     1);
    assert_int_equal(scalar("SELECT count(*) FROM access_log WHERE case_id = %ld", the_case), log_before + 3);
    /* the DCO sees and fetches what they sent */
    request(&r, "GET", location, "dco1", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.n, report_len);
    reply_free(&r);
    fprintf(stderr, "10 MiB document: upload %.3f s (%.1f MiB/s), download %.3f s (%.1f MiB/s)\n", up_s,
            10.0 / up_s, down_s, 10.0 / down_s);
}

static void test_nobody_outside_the_case_can_list_or_fetch_it_and_nothing_of_the_child_leaks(void **state)
{
    (void)state;
    char list_path[96], doc_path[128], upload_path[128];
    snprintf(list_path, sizeof list_path, "/api/v1/cases/%ld/documents", the_case);
    snprintf(doc_path, sizeof doc_path, "/api/v1/cases/%ld/documents/%ld", the_case, report_id);
    snprintf(upload_path, sizeof upload_path, "/api/v1/advice-requests/%ld/documents?name=x.pdf", advice_id);
    long log_before = scalar("SELECT count(*) FROM access_log");
    long docs_before = documents();
    /* another authority's officer; the same service's DCO in another authority; another service's DCO */
    const char *outsiders[] = {"officerb", "dcob", "dcocamhs"};
    for (size_t i = 0; i < sizeof outsiders / sizeof outsiders[0]; i++) {
        const char *paths[] = {list_path, doc_path};
        for (size_t k = 0; k < 2; k++) {
            reply r;
            request(&r, "GET", paths[k], outsiders[i], NULL, NULL, 0);
            if (r.status != 404) fail_msg("GET %s as %s -> %ld", paths[k], outsiders[i], r.status);
            expect_error(&r, 404, NULL);
            assert_null(strstr(r.body.p, SURNAME));
            assert_null(strstr(r.body.p, "paed"));
            assert_null(strstr(r.body.p, report_sha));
            assert_null(strstr(r.body.p, "%PDF"));
            reply_free(&r);
        }
        reply r;
        request(&r, "POST", upload_path, outsiders[i], "application/pdf", report, 4096);
        if (r.status != 404) fail_msg("upload as %s -> %ld", outsiders[i], r.status);
        reply_free(&r);
    }
    /* an officer of another team of the same authority: refused as for the case itself */
    reply r;
    request(&r, "GET", doc_path, "officer2", NULL, NULL, 0);
    expect_error(&r, 403, NULL);
    assert_null(strstr(r.body.p, "%PDF"));
    reply_free(&r);
    /* a document id of the case that does not exist, and one through another case's path */
    char other[128];
    snprintf(other, sizeof other, "/api/v1/cases/%ld/documents/%ld", the_case, report_id + 1000);
    request(&r, "GET", other, "officer1", NULL, NULL, 0);
    expect_error(&r, 404, NULL);
    reply_free(&r);
    request(&r, "GET", doc_path, "nobody", NULL, NULL, 0);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    assert_int_equal(documents(), docs_before);
    assert_int_equal(scalar("SELECT count(*) FROM access_log"), log_before);
}

static void
test_too_large_and_wrong_type_uploads_are_refused_naming_the_field_with_nothing_stored(void **state)
{
    (void)state;
    long before = documents();
    char path[160];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/documents?kind=draft_plan&name=plan.pdf", the_case);
    /* one byte over 20 MiB: 413, the field named */
    size_t big = 20 * MIB + 1;
    char *huge = malloc(big);
    memset(huge, 'a', big);
    memcpy(huge, "%PDF-1.7\n", 9);
    reply r;
    request(&r, "POST", path, "officer1", "application/pdf", huge, big);
    expect_error(&r, 413, "body");
    reply_free(&r);
    free(huge);
    /* far over it: refused on its declared length, before a byte of the body is read */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d.port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char head[512];
    int n =
        snprintf(head, sizeof head,
                 "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-officer1-0123456789abcdefghij\r\n"
                 "Content-Type: application/pdf\r\nContent-Length: 1073741824\r\n\r\n",
                 path);
    assert_int_equal(write(fd, head, (size_t)n), n);
    char answer[256] = "";
    ssize_t got = read(fd, answer, sizeof answer - 1);
    close(fd);
    assert_true(got > 12);
    answer[got] = '\0';
    if (strncmp(answer, "HTTP/1.1 413", 12) != 0) fail_msg("1 GiB declared -> %.80s", answer);

    /* a type that is not one of the six: 415 naming content_type */
    request(&r, "POST", path, "officer1", "application/zip", "PK\x03\x04 zip", 8);
    expect_error(&r, 415, "content_type");
    reply_free(&r);
    /* bytes that are not what the type says: 415 naming body */
    request(&r, "POST", path, "officer1", "image/png", report, 4096);
    expect_error(&r, 415, "body");
    reply_free(&r);
    request(&r, "POST", path, "officer1", "text/plain", "caf\xc3 \x01 binary", 13);
    expect_error(&r, 415, "body");
    reply_free(&r);
    request(&r, "POST", path, "officer1", "application/pdf", "<html><script>alert(1)</script>", 31);
    expect_error(&r, 415, "body");
    reply_free(&r);
    /* an empty body, no name, a name of nothing but dots, a kind that is not one */
    request(&r, "POST", path, "officer1", "application/pdf", "", 0);
    expect_error(&r, 422, "body");
    reply_free(&r);
    snprintf(path, sizeof path, "/api/v1/cases/%ld/documents?kind=draft_plan", the_case);
    request(&r, "POST", path, "officer1", "application/pdf", report, 4096);
    expect_error(&r, 400, "name");
    reply_free(&r);
    snprintf(path, sizeof path, "/api/v1/cases/%ld/documents?kind=draft_plan&name=..%%2F..", the_case);
    request(&r, "POST", path, "officer1", "application/pdf", report, 4096);
    expect_error(&r, 400, "name");
    reply_free(&r);
    snprintf(path, sizeof path, "/api/v1/cases/%ld/documents?kind=minutes&name=a.pdf", the_case);
    request(&r, "POST", path, "officer1", "application/pdf", report, 4096);
    expect_error(&r, 400, "kind");
    reply_free(&r);
    /* a DCO does not attach to the case itself, only through their advice request */
    snprintf(path, sizeof path, "/api/v1/cases/%ld/documents?kind=other&name=a.pdf", the_case);
    request(&r, "POST", path, "dco1", "application/pdf", report, 4096);
    expect_error(&r, 404, NULL);
    reply_free(&r);
    assert_int_equal(documents(), before);
}

static void test_the_officer_attaches_a_draft_plan_the_dco_does_not_see(void **state)
{
    (void)state;
    /* a DOCX package: [Content_Types].xml and word/document.xml */
    char docx[512];
    memset(docx, 0, sizeof docx);
    memcpy(docx, "PK\x03\x04", 4);
    memcpy(docx + 30, "[Content_Types].xml", 19);
    memcpy(docx + 200, "PK\x03\x04", 4);
    memcpy(docx + 230, "word/document.xml", 17);
    char path[160];
    snprintf(path, sizeof path,
             "/api/v1/cases/%ld/documents?kind=draft_plan&name=Draft%%20plan%%20%%C3%%A9.docx", the_case);
    reply r;
    request(&r, "POST", path, "officer1",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx, sizeof docx);
    if (r.status != 201) fail_msg("docx -> %ld: %.300s", r.status, r.body.p);
    cJSON *doc = json_of(&r);
    plan_id = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "id"));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "uploaded_role")),
                        "officer");
    cJSON_Delete(doc);
    reply_free(&r);
    /* the officer sees both, newest first; the DCO only their report */
    snprintf(path, sizeof path, "/api/v1/cases/%ld/documents", the_case);
    request(&r, "GET", path, "officer1", NULL, NULL, 0);
    cJSON *list = json_of(&r);
    assert_int_equal(cJSON_GetArraySize(list), 2);
    cJSON_Delete(list);
    reply_free(&r);
    request(&r, "GET", path, "dco1", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    list = json_of(&r);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_int_equal(
        (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 0), "id")),
        report_id);
    cJSON_Delete(list);
    reply_free(&r);
    snprintf(path, sizeof path, "/api/v1/cases/%ld/documents/%ld", the_case, plan_id);
    request(&r, "GET", path, "dco1", NULL, NULL, 0);
    expect_error(&r, 404, NULL);
    reply_free(&r);
    request(&r, "GET", path, "officer1", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.n, sizeof docx);
    assert_memory_equal(r.body.p, docx, sizeof docx);
    char v[512];
    assert_true(header(&r, "content-disposition", v, sizeof v));
    assert_string_equal(
        v, "attachment; filename=\"Draft plan _.docx\"; filename*=UTF-8''Draft%20plan%20%C3%A9.docx");
    reply_free(&r);
    free(report);
    report = NULL;
}

static void test_daemon_stops_cleanly(void **state)
{
    (void)state;
    ehc_test_daemon_stop_clean(&d);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_dco_uploads_an_advice_report_and_the_officer_downloads_it_byte_for_byte),
        cmocka_unit_test(test_nobody_outside_the_case_can_list_or_fetch_it_and_nothing_of_the_child_leaks),
        cmocka_unit_test(
            test_too_large_and_wrong_type_uploads_are_refused_naming_the_field_with_nothing_stored),
        cmocka_unit_test(test_the_officer_attaches_a_draft_plan_the_dco_does_not_see),
        cmocka_unit_test(test_daemon_stops_cleanly),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
