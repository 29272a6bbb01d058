/* Statutory letters (issue #10), end to end over a real socket against ehcd on a simulated clock and a
 * real PostgreSQL: every shipped notice is made for a generated case, its PDF fetched and its text
 * extracted with pdftotext (poppler-utils), and each item the law requires (the template's list and
 * the statutory floor, as the 201 answer names them) must be in that text, with the dates the engine
 * computed written out in full. A letter lacking an item is refused 422 naming the items, and nothing
 * is stored. Sending is an event on the case; the draft's covering letter served by post starts the
 * Reg 13(1) 15 days on the day it is deemed received. Another authority's officer gets 404 and every
 * download is in the access log.
 *
 * The case: a request by email at 17:40 on Friday 5 June 2026 is deemed received on Monday 8 June 2026
 * (Day 0). Reg 5(1) decision due Monday 20 July 2026; Reg 10(1) Monday 28 September 2026; Reg 13(2)
 * final plan Monday 26 October 2026. The educational psychologist receives the advice request on
 * Wednesday 10 June 2026: Reg 8(1) advice due Wednesday 22 July 2026. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;

#define OFFICER EHC_TEST_TOKEN("officer")
#define MANAGER EHC_TEST_TOKEN("manager")
#define OFFICER_B EHC_TEST_TOKEN("officerb")

#define GRANT(role, authority)                                                                               \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, t.id FROM users u, teams t JOIN local_authorities a ON a.id = t.authority_id "       \
    "WHERE u.username = '%s' AND a.dfe_code = '" authority "'"

static const char *const contacts =
    "\"la_contact\": \"the SEN Team, Oldham Council, Civic Centre, Oldham OL1 1UT, 0161 770 0000\", "
    "\"ias_contact\": \"Oldham SENDIASS, 0161 503 1333\", "
    "\"mediation_adviser_contact\": \"Global Mediation, 0800 064 4488, mediation@example.org\"";

static long case_a, review_case;
static int version_a;

static int setup(void **state)
{
    admin = ehc_test_migrated_database("ehc_letters", &db_url);
    ehc_test_exec(admin, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham Council'), "
                         "('357', 'Tameside Council')");
    ehc_test_exec(admin,
                  "INSERT INTO teams (authority_id, name) SELECT id, 'Central' FROM local_authorities");
    ehc_test_add_user(admin, "officer", false, GRANT("officer", "353"));
    ehc_test_add_user(admin, "manager", false, GRANT("manager", "353"));
    ehc_test_add_user(admin, "officerb", false, GRANT("officer", "357"));
    ehc_test_add_user(admin, "admin", true, NULL);
    ehc_test_daemon_serve(&d, db_url, (const char *const[]){"--sim-clock=2025-01-01T00:00:00Z", NULL}, NULL);
    return 0;
}

static int teardown(void **state)
{
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

static void set_clock(const char *day)
{
    char body[96];
    snprintf(body, sizeof body, "{\"now\": \"%sT11:00:00Z\"}", day);
    assert_int_equal(ehc_test_call(d.port, "POST", "/admin/clock", EHC_TEST_TOKEN("admin"), body, NULL), 200);
}

static void record(long id, const char *token, int *version, const char *type, const char *on,
                   const char *fields)
{
    char path[64], body[1024];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", id);
    snprintf(body, sizeof body, "{\"type\": \"%s\", \"effective_on\": \"%s\", \"expected_version\": %d%s%s}",
             type, on, *version, fields ? ", \"fields\": " : "", fields ? fields : "");
    ehc_test_response r;
    if (ehc_test_call(d.port, "POST", path, token, body, &r) != 201) {
        fprintf(stderr, "%s -> %ld %s\n", type, r.status, r.body);
        fail();
    }
    ehc_test_response_free(&r);
    (*version)++;
}

/* The text without white space: a line may break at a space, after a hyphen or between "13(1)" and
 * "(b)", and the extracted text cannot tell which, so both sides are compared without it. */
static char *squeeze(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    for (; *s; s++)
        if (!(*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t' || *s == '\f')) *o++ = *s;
    *o = '\0';
    return out;
}

/* The letter's PDF as the API serves it, checked to be a PDF, then its text by pdftotext. */
static char *pdf_text(long case_id, long letter_id, const char *token)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters/%ld/pdf", case_id, letter_id);
    ehc_test_response r;
    ehc_test_http(&r, "GET", d.port, path, NULL, (const char *const[]){token, NULL});
    if (r.status != 200) {
        fprintf(stderr, "GET %s -> %ld %s\n", path, r.status, r.body);
        fail();
    }
    assert_non_null(strstr(r.headers, "application/pdf"));
    assert_true(r.body_len > 1000);
    assert_memory_equal(r.body, "%PDF-", 5);
    char file[] = "/tmp/ehc-letter-XXXXXX";
    int fd = mkstemp(file);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, r.body, r.body_len), (ssize_t)r.body_len);
    close(fd);
    ehc_test_response_free(&r);
    /* -layout keeps a hyphen that ends a line (plain mode joins "O'Connor-" and "Łukasz"); the page
     * footers ("Page 1") are dropped so that a paragraph running onto the next page reads whole */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "pdftotext -layout -enc UTF-8 %s - 2>&1", file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap), line[4096];
    text[0] = '\0';
    while (fgets(line, sizeof line, p)) {
        int page, used = 0;
        if (sscanf(line, " Page %d %n", &page, &used) == 1 && line[used] == '\0') continue;
        size_t n = strlen(line);
        assert_true(len + n < cap);
        memcpy(text + len, line, n + 1);
        len += n;
    }
    int st = pclose(p);
    unlink(file);
    if (st != 0) {
        fprintf(stderr, "pdftotext failed (%d): %s\n", st, text);
        fail();
    }
    char *flat = squeeze(text);
    free(text);
    return flat;
}

/* Makes a letter: expects 201, then every required item the answer names must be in the PDF's text,
 * and each of `expect` (literal texts, NULL-terminated) too. Returns the letter's id. */
static long make_letter(long case_id, const char *body, const char *const *expect, double *render_ms)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters", case_id);
    ehc_test_response r;
    if (ehc_test_call(d.port, "POST", path, OFFICER, body, &r) != 201) {
        fprintf(stderr, "POST %s %s -> %ld %s\n", path, body, r.status, r.body);
        fail();
    }
    cJSON *made = cJSON_Parse(r.body);
    ehc_test_response_free(&r);
    long id = (long)cJSON_GetObjectItem(made, "id")->valuedouble;
    if (render_ms) *render_ms = cJSON_GetObjectItem(made, "render_ms")->valuedouble;
    fprintf(stderr, "%s: %.0f bytes, rendered in %.1f ms\n", cJSON_GetObjectItem(made, "notice")->valuestring,
            cJSON_GetObjectItem(made, "bytes")->valuedouble,
            cJSON_GetObjectItem(made, "render_ms")->valuedouble);
    assert_int_equal(strlen(cJSON_GetObjectItem(made, "template_sha256")->valuestring), 64);
    char *text = pdf_text(case_id, id, OFFICER);
    const cJSON *item;
    int items = 0;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(made, "items"))
    {
        char *want = squeeze(item->valuestring);
        if (!strstr(text, want)) {
            fprintf(stderr, "item %s (\"%s\") is not in the PDF's text:\n%s\n", item->string, want, text);
            fail();
        }
        free(want);
        items++;
    }
    assert_true(items >= 4);
    for (size_t i = 0; expect && expect[i]; i++) {
        char *want = squeeze(expect[i]);
        bool found = strstr(text, want) != NULL;
        free(want);
        if (!found) {
            fprintf(stderr, "\"%s\" is not in the PDF's text:\n%s\n", expect[i], text);
            fail();
        }
    }
    free(text);
    cJSON_Delete(made);
    return id;
}

static void test_each_notice_carries_every_item_the_law_requires(void **state)
{
    set_clock("2026-06-08");
    char body[2048];
    long team = ehc_test_scalar(admin, "SELECT t.id FROM teams t JOIN local_authorities a ON a.id = "
                                       "t.authority_id WHERE a.dfe_code = '353'");
    snprintf(
        body, sizeof body,
        "{\"team_id\": %ld, \"child\": {\"forename\": \"Amélie\", \"surname\": \"O'Connor-Łukasz\", "
        "\"date_of_birth\": \"2019-04-11\"}, \"request\": {\"effective_on\": \"2026-06-08\", \"fields\": "
        "{\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": \"2026-06-05T17:40\"}}}",
        team);
    ehc_test_response r;
    assert_int_equal(ehc_test_call(d.port, "POST", "/api/v1/cases", OFFICER, body, &r), 201);
    cJSON *opened = cJSON_Parse(r.body);
    case_a = (long)cJSON_GetObjectItem(opened, "id")->valuedouble;
    version_a = cJSON_GetObjectItem(opened, "version")->valueint;
    cJSON_Delete(opened);
    ehc_test_response_free(&r);

    /* the templates as loaded, for the interface: each with the items the law requires and why */
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/notices", OFFICER, NULL, &r), 200);
    cJSON *notices = cJSON_Parse(r.body);
    ehc_test_response_free(&r);
    assert_int_equal(cJSON_GetArraySize(notices), 10);
    bool reg32 = false;
    const cJSON *n, *req;
    cJSON_ArrayForEach(n, notices)
    {
        if (strcmp(cJSON_GetObjectItem(n, "id")->valuestring, "decision_not_to_assess") != 0) continue;
        cJSON_ArrayForEach(req, cJSON_GetObjectItem(n, "requires"))
        {
            reg32 |=
                strcmp(cJSON_GetObjectItem(req, "item")->valuestring, "mediation_adviser_contact") == 0 &&
                strstr(cJSON_GetObjectItem(req, "basis")->valuestring, "reg 32(2)(b)") != NULL;
        }
    }
    cJSON_Delete(notices);
    assert_true(reg32);

    double ms = 0;
    /* Reg 4(2): to the ICB */
    make_letter(case_a,
                "{\"notice\": \"notification_considering\", \"recipient\": {\"role\": \"icb\", \"name\": "
                "\"NHS Greater "
                "Manchester ICB\"}}",
                (const char *const[]){"Amélie O'Connor-Łukasz", "Thursday 11 April 2019",
                                      "Monday 8 June 2026", "Monday 20 July 2026", "regulation 4(2)",
                                      "NHS Greater Manchester ICB", NULL},
                &ms);
    fprintf(stderr, "one letter rendered in %.1f ms\n", ms);
    /* Reg 5(3): the refusal, with the Reg 32 mediation information */
    snprintf(
        body, sizeof body,
        "{\"notice\": \"decision_not_to_assess\", \"recipient\": {\"role\": \"parent\", \"name\": \"Ms Ewa "
        "Łukasz\"}, \"values\": {\"reasons\": \"The evidence shows the school can meet Amélie's needs from "
        "its "
        "own resources.\", %s}}",
        contacts);
    make_letter(case_a, body,
                (const char *const[]){"section 51(2)(a)", "within 2 months of the date of this letter",
                                      "Monday 8 June 2026", "Global Mediation, 0800 064 4488",
                                      "only about the school or other institution", "Oldham SENDIASS", NULL},
                NULL);
    /* Reg 5(1): the decision to assess, with the 20-week date */
    snprintf(body, sizeof body,
             "{\"notice\": \"decision_to_assess\", \"recipient\": {\"role\": \"parent\", \"name\": \"Ms Ewa "
             "Łukasz\"}, \"values\": {%s}}",
             contacts);
    make_letter(case_a, body, (const char *const[]){"Monday 26 October 2026", NULL}, NULL);
    /* Reg 10(3): no plan, to the parent and (Reg 10(2)) the ICB */
    snprintf(
        body, sizeof body,
        "{\"notice\": \"no_plan\", \"recipient\": {\"role\": \"icb\", \"name\": \"NHS Greater Manchester "
        "ICB\"}, \"values\": {\"reasons\": \"Needs can be met by SEN support.\", %s}}",
        contacts);
    make_letter(case_a, body, (const char *const[]){"Monday 28 September 2026", "section 51(2)(b)", NULL},
                NULL);
    /* Reg 14: the final plan */
    snprintf(
        body, sizeof body,
        "{\"notice\": \"final_plan\", \"recipient\": {\"role\": \"parent\", \"name\": \"Ms Ewa Łukasz\"}, "
        "\"values\": {\"setting_named\": \"Greenhill Primary School\", %s}}",
        contacts);
    make_letter(case_a, body, (const char *const[]){"Greenhill Primary School", "section 51(2)(c)", NULL},
                NULL);
    /* Regs 6 and 8: the educational psychologist, received Wednesday 10 June: due 22 July */
    set_clock("2026-06-10");
    record(case_a, OFFICER, &version_a, "advice_requested", "2026-06-10",
           "{\"request_key\": \"ep\", \"adviser\": \"educational_psychologist\", \"received_on\": "
           "\"2026-06-10\"}");
    snprintf(
        body, sizeof body,
        "{\"notice\": \"advice_request\", \"request_key\": \"ep\", \"recipient\": {\"role\": \"adviser\", "
        "\"name\": \"Oldham Educational Psychology Service\"}, \"values\": {%s}}",
        contacts);
    make_letter(
        case_a, body,
        (const char *const[]){"Wednesday 22 July 2026", "psychological advice", "Regulation 8(1)", NULL},
        NULL);
    /* Reg 13(1), CFA s38: the draft's covering letter */
    snprintf(
        body, sizeof body,
        "{\"notice\": \"draft_plan\", \"recipient\": {\"role\": \"parent\", \"name\": \"Ms Ewa Łukasz\"}, "
        "\"values\": {%s}}",
        contacts);
    make_letter(case_a, body,
                (const char *const[]){"at least 15 days, beginning with the day you receive this draft",
                                      "name a particular school", "ask for a meeting", NULL},
                NULL);
}

static void test_a_letter_missing_an_item_is_refused_naming_it_and_nothing_is_stored(void **state)
{
    long before = ehc_test_scalar(admin, "SELECT count(*) FROM letters");
    long logged = ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE resource LIKE 'letter %%'");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters", case_a);
    ehc_test_response r;
    /* no reasons, no contacts: the refusal cannot go out */
    assert_int_equal(
        ehc_test_call(d.port, "POST", path, OFFICER,
                      "{\"notice\": \"decision_not_to_assess\", \"recipient\": {\"role\": \"parent\", "
                      "\"name\": \"Ms Ewa Łukasz\"}, \"values\": {\"ias_contact\": \"  \"}}",
                      &r),
        422);
    cJSON *err = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(err, "error"), "code")->valuestring,
                        "missing_items");
    char names[512] = "";
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(err, "missing"))
    {
        strcat(names, m->valuestring);
        strcat(names, " ");
    }
    assert_string_equal(names, "reasons ias_contact mediation_adviser_contact la_contact ");
    cJSON_Delete(err);
    ehc_test_response_free(&r);
    /* a notice of another process (the annual review), and a recipient the notice is not sent to */
    assert_int_equal(ehc_test_call(d.port, "POST", path, OFFICER,
                                   "{\"notice\": \"review_decision\", \"recipient\": {\"role\": \"parent\", "
                                   "\"name\": \"X\"}}",
                                   &r),
                     422);
    assert_non_null(strstr(r.body, "\"field\":\"notice\""));
    ehc_test_response_free(&r);
    assert_int_equal(
        ehc_test_call(d.port, "POST", path, OFFICER,
                      "{\"notice\": \"draft_plan\", \"recipient\": {\"role\": \"icb\", \"name\": \"X\"}}",
                      &r),
        422);
    assert_non_null(strstr(r.body, "recipient.role"));
    ehc_test_response_free(&r);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM letters"), before);
    assert_int_equal(
        ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE resource LIKE 'letter %%'"), logged);
}

static void test_sending_is_an_event_and_serving_the_draft_starts_the_15_days(void **state)
{
    char path[128], body[512];
    /* the ICB's Reg 4(2) notification, emailed at 17:30 on Monday 8 June: deemed received Tuesday 9 June */
    long icb_letter = ehc_test_scalar(admin,
                                      "SELECT min(id) FROM letters WHERE case_id = %ld AND notice = "
                                      "'notification_considering'",
                                      case_a);
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters/%ld/sent", case_a, icb_letter);
    snprintf(body, sizeof body,
             "{\"method\": \"email\", \"sent_at\": \"2026-06-08T17:30\", \"expected_version\": %d}",
             version_a);
    ehc_test_response r;
    if (ehc_test_call(d.port, "POST", path, OFFICER, body, &r) != 201)
        fail_msg("sent -> %ld %s", r.status, r.body);
    assert_non_null(strstr(r.body, "\"event\":\"letter_sent\""));
    assert_non_null(strstr(r.body, "\"served_on\":\"2026-06-09\""));
    ehc_test_response_free(&r);
    version_a++;
    char *payload = NULL;
    {
        PGresult *q =
            PQexec(admin, "SELECT type || ' ' || effective_on || ' ' || (payload -> 'fields' ->> "
                          "'served_on') || ' ' || (payload -> 'fields' ->> 'method') FROM case_events "
                          "ORDER BY id DESC LIMIT 1");
        payload = strdup(PQgetvalue(q, 0, 0));
        PQclear(q);
    }
    assert_string_equal(payload, "letter_sent 2026-06-08 2026-06-09 email");
    free(payload);
    /* a stale version is refused as any case write is */
    assert_int_equal(ehc_test_call(d.port, "POST", path, OFFICER, body, &r), 409);
    ehc_test_response_free(&r);

    /* to the draft: decision to assess, the advice, the decision to issue */
    set_clock("2026-09-03");
    record(case_a, MANAGER, &version_a, "decision_to_assess", "2026-07-01", "{\"decision\": \"yes\"}");
    record(case_a, OFFICER, &version_a, "advice_complete", "2026-08-20", NULL);
    record(case_a, MANAGER, &version_a, "decision_to_issue", "2026-08-27", "{\"decision\": \"yes\"}");
    /* the decision to assess is recorded as notified on Wednesday 1 July: its notice goes that day,
     * since the family's time limits run from the notice being sent */
    long decision_letter = ehc_test_scalar(
        admin, "SELECT id FROM letters WHERE case_id = %ld AND notice = 'decision_to_assess'", case_a);
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters/%ld/sent", case_a, decision_letter);
    snprintf(body, sizeof body,
             "{\"method\": \"email\", \"sent_at\": \"2026-07-02T09:00\", \"expected_version\": %d}",
             version_a);
    assert_int_equal(ehc_test_call(d.port, "POST", path, OFFICER, body, &r), 409);
    assert_non_null(strstr(r.body, "\"code\":\"notice_date_mismatch\""));
    assert_non_null(
        strstr(r.body, "is recorded as notified on 2026-07-01, but this notice was sent on 2026-07-02"));
    ehc_test_response_free(&r);
    snprintf(body, sizeof body,
             "{\"method\": \"email\", \"sent_at\": \"2026-07-01T16:00\", \"expected_version\": %d}",
             version_a);
    if (ehc_test_call(d.port, "POST", path, OFFICER, body, &r) != 201)
        fail_msg("sent -> %ld %s", r.status, r.body);
    assert_non_null(strstr(r.body, "\"served_on\":\"2026-07-01\""));
    ehc_test_response_free(&r);
    version_a++;
    long draft = ehc_test_scalar(
        admin, "SELECT max(id) FROM letters WHERE case_id = %ld AND notice = 'draft_plan'", case_a);
    /* posted first class on Thursday 3 September: deemed received Friday 4 September, day 1 of 15 */
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters/%ld/sent", case_a, draft);
    snprintf(
        body, sizeof body,
        "{\"method\": \"first_class_post\", \"sent_at\": \"2026-09-03T10:00\", \"expected_version\": %d}",
        version_a);
    /* recorded on the day of posting, the draft is not served yet: the event waits for the day it is */
    assert_int_equal(ehc_test_call(d.port, "POST", path, OFFICER, body, &r), 422);
    assert_non_null(strstr(r.body, "'draft_served' takes effect on 2026-09-04, after today (2026-09-03)"));
    ehc_test_response_free(&r);
    set_clock("2026-09-04");
    if (ehc_test_call(d.port, "POST", path, OFFICER, body, &r) != 201)
        fail_msg("sent -> %ld %s", r.status, r.body);
    assert_non_null(strstr(r.body, "\"event\":\"draft_served\""));
    assert_non_null(strstr(r.body, "\"served_on\":\"2026-09-04\""));
    ehc_test_response_free(&r);
    version_a++;
    assert_int_equal(ehc_test_scalar(admin,
                                     "SELECT count(*) FROM deadlines WHERE case_id = %ld AND deadline_key = "
                                     "'representations_period' AND origin_on = '2026-09-04' AND due_on = "
                                     "'2026-09-19' AND direction = 'earliest'",
                                     case_a),
                     1);
    assert_int_equal(
        ehc_test_scalar(admin,
                        "SELECT count(*) FROM case_events WHERE case_id = %ld AND type = "
                        "'draft_served' AND effective_on = '2026-09-04' AND payload -> 'fields' ->> "
                        "'sent_on' = '2026-09-03' AND payload -> 'fields' ->> 'letter_id' = '%ld'",
                        case_a, draft),
        1);
    /* the list shows both sendings */
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters", case_a);
    assert_int_equal(ehc_test_call(d.port, "GET", path, OFFICER, NULL, &r), 200);
    cJSON *list = cJSON_Parse(r.body);
    ehc_test_response_free(&r);
    assert_int_equal(cJSON_GetArraySize(list), 7);
    int sendings = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, list)
    {
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(l, "sendings"))
        {
            sendings++;
            const char *served = cJSON_GetObjectItem(s, "served_on")->valuestring;
            assert_true(strcmp(served, "2026-06-09") == 0 || strcmp(served, "2026-07-01") == 0 ||
                        strcmp(served, "2026-09-04") == 0);
        }
    }
    assert_int_equal(sendings, 3);
    cJSON_Delete(list);
}

static void test_review_and_cease_letters(void **state)
{
    set_clock("2027-06-01");
    long team = ehc_test_scalar(admin, "SELECT team_id FROM cases WHERE id = %ld", case_a);
    long child = ehc_test_scalar(admin, "SELECT child_id FROM cases WHERE id = %ld", case_a);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"team_id\": %ld, \"workflow\": \"annual-review\", \"child_id\": %ld, \"request\": "
             "{\"effective_on\": "
             "\"2026-10-20\", \"fields\": {\"under_five\": false, \"made_after\": \"assessment\"}}}",
             team, child);
    ehc_test_response r;
    assert_int_equal(ehc_test_call(d.port, "POST", "/api/v1/cases", OFFICER, body, &r), 201);
    cJSON *opened = cJSON_Parse(r.body);
    review_case = (long)cJSON_GetObjectItem(opened, "id")->valuedouble;
    int v = cJSON_GetObjectItem(opened, "version")->valueint;
    cJSON_Delete(opened);
    ehc_test_response_free(&r);
    record(review_case, OFFICER, &v, "review_meeting_arranged", "2027-04-19",
           "{\"meeting_on\": \"2027-05-11\"}");
    record(review_case, OFFICER, &v, "review_meeting_held", "2027-05-11", NULL);
    record(review_case, MANAGER, &v, "review_decision_notified", "2027-05-25",
           "{\"decision\": \"maintain\", \"under_five\": false}");
    snprintf(body, sizeof body,
             "{\"notice\": \"review_decision\", \"recipient\": {\"role\": \"parent\", \"name\": \"Ms Ewa "
             "Łukasz\"}, "
             "\"values\": {%s}}",
             contacts);
    make_letter(review_case, body,
                (const char *const[]){"Tuesday 11 May 2027", "to maintain the plan as it is",
                                      "section 51(2)(e)", "Global Mediation", NULL},
                NULL);
    snprintf(body, sizeof body,
             "{\"notice\": \"cease\", \"recipient\": {\"role\": \"parent\", \"name\": \"Ms Ewa Łukasz\"}, "
             "\"values\": {\"reasons\": \"Amélie's needs are met without the plan.\", %s}}",
             contacts);
    make_letter(review_case, body, (const char *const[]){"section 51(2)(f)", "section 45", NULL}, NULL);

    /* the notice of proposed amendments (reg 22(2)), on the day they are proposed: the 15 days of
     * representations end before the earliest day of the amended plan, 16 June; the plan, or notice of
     * not amending, is due 8 weeks after the notice, 27 July */
    record(review_case, MANAGER, &v, "amendment_proposed", "2027-06-01", NULL);
    snprintf(
        body, sizeof body,
        "{\"notice\": \"amendment_notice\", \"recipient\": {\"role\": \"parent\", \"name\": \"Ms Ewa "
        "Łukasz\"}, \"values\": {\"proposed_amendments\": \"Section F: 10 hours of speech and language "
        "therapy a term.\", \"evidence_enclosed\": \"the speech and language therapist's report of 3 May "
        "2027\", %s}}",
        contacts);
    make_letter(review_case, body,
                (const char *const[]){"Wednesday 16 June 2027", "Tuesday 27 July 2027", "regulation 22(2)",
                                      "10 hours of speech and language", "3 May 2027", NULL},
                NULL);
    /* without the amendments or the evidence the notice is refused, naming them */
    snprintf(body, sizeof body,
             "{\"notice\": \"amendment_notice\", \"recipient\": {\"role\": \"parent\", \"name\": \"Ms Ewa "
             "Łukasz\"}, \"values\": {%s}}",
             contacts);
    char letters_path[96];
    snprintf(letters_path, sizeof letters_path, "/api/v1/cases/%ld/letters", review_case);
    assert_int_equal(ehc_test_call(d.port, "POST", letters_path, MANAGER, body, &r), 422);
    assert_non_null(strstr(r.body, "proposed_amendments"));
    assert_non_null(strstr(r.body, "evidence_enclosed"));
    ehc_test_response_free(&r);
}

static void test_another_authority_cannot_reach_a_letter_and_downloads_are_logged(void **state)
{
    long letter = ehc_test_scalar(admin, "SELECT min(id) FROM letters WHERE case_id = %ld", case_a);
    char path[96];
    ehc_test_response r;
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters/%ld/pdf", case_a, letter);
    long downloads =
        ehc_test_scalar(admin,
                        "SELECT count(*) FROM access_log WHERE action = 'download' AND resource = "
                        "'letter %ld'",
                        letter);
    assert_int_equal(downloads, 1); /* made_letter fetched it once */
    ehc_test_http(&r, "GET", d.port, path, NULL, (const char *const[]){OFFICER_B, NULL});
    assert_int_equal(r.status, 404);
    assert_null(strstr(r.body, "PDF"));
    ehc_test_response_free(&r);
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters", case_a);
    assert_int_equal(ehc_test_call(d.port, "GET", path, OFFICER_B, NULL, &r), 404);
    assert_null(strstr(r.body, "ukasz"));
    ehc_test_response_free(&r);
    assert_int_equal(
        ehc_test_call(d.port, "POST", path, OFFICER_B,
                      "{\"notice\": \"notification_considering\", \"recipient\": {\"role\": \"icb\", "
                      "\"name\": \"X\"}}",
                      NULL),
        404);
    /* the same letter through the officer's own case path under another case id: 404 */
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters/%ld/pdf", review_case, letter);
    assert_int_equal(ehc_test_call(d.port, "GET", path, OFFICER, NULL, NULL), 404);
    snprintf(path, sizeof path, "/api/v1/cases/%ld/letters/%ld/pdf", case_a, letter);
    assert_int_equal(ehc_test_call(d.port, "GET", path, OFFICER, NULL, NULL), 200);
    assert_int_equal(
        ehc_test_scalar(admin,
                        "SELECT count(*) FROM access_log WHERE action = 'download' AND resource = "
                        "'letter %ld'",
                        letter),
        2);
    /* what is stored is what was hashed */
    assert_int_equal(ehc_test_scalar(admin,
                                     "SELECT count(*) FROM letters WHERE pdf_sha256 <> encode(sha256(pdf), "
                                     "'hex')"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_notice_carries_every_item_the_law_requires),
        cmocka_unit_test(test_a_letter_missing_an_item_is_refused_naming_it_and_nothing_is_stored),
        cmocka_unit_test(test_sending_is_an_event_and_serving_the_draft_starts_the_15_days),
        cmocka_unit_test(test_review_and_cease_letters),
        cmocka_unit_test(test_another_authority_cannot_reach_a_letter_and_downloads_are_logged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
