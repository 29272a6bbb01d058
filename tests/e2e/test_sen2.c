/* The SEN2 person-level return on a generated caseload: requests received in 2026, taken through the
 * law over the API on a simulated clock (refused, withdrawn before the decision and during the
 * assessment, no plan, plans issued with and without an exception, early and late) and one request
 * still undecided at the year's end; the plan's details, its placement and the child's needs recorded
 * by an officer as events over the API, as the case page does. The test works out each module's rows
 * and items of the 2027 return from what it generated, and the API must agree item by item, in JSON,
 * CSV and in the one XML document of the whole return (read back with libxml2); the clean caseload
 * passes the return's own validation, a record broken in SQL is named by it, a team manager is
 * refused, and every export is in the access log. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "caseload.h"
#include "ehc/date.h"
#include "testlib.h"

static char *db_url;
static ehc_test_daemon d;
static PGconn *admin;

#define CASES 19 /* 18 in the year's first weeks, and one received in December, decided in January */

#define GRANT_TEAM(role, team)                                                                               \
    "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '" role                     \
    "', t.authority_id, t.id FROM users u, teams t WHERE u.username = '%s' AND t.name = '" team "'"

static int setup(void **state)
{
    (void)state;
    admin = ehc_test_migrated_database("ehc_sen2", &db_url);
    ehc_test_exec(admin, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    ehc_test_exec(admin, "INSERT INTO teams (authority_id, name) SELECT id, 'North' FROM local_authorities");
    ehc_test_add_user(admin, "officer", false, GRANT_TEAM("officer", "North"));
    ehc_test_add_user(admin, "manager", false, GRANT_TEAM("manager", "North"));
    ehc_test_add_user(
        admin, "svc", false,
        "INSERT INTO role_grants (user_id, role, authority_id) SELECT u.id, 'service_manager', a.id "
        "FROM users u, local_authorities a WHERE u.username = '%s'");
    ehc_test_add_user(admin, "admin", true, NULL);
    ehc_test_daemon_serve(&d, db_url, (const char *const[]){"--sim-clock=2025-01-01T00:00:00Z", NULL}, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ehc_test_teardown(&d, admin, db_url);
    return 0;
}

static long call(const char *method, const char *path, const char *token, const char *body, char **out)
{
    ehc_test_response r;
    long status = ehc_test_call(d.port, method, path, token, body, &r);
    if (status >= 300 && status != 403) fprintf(stderr, "%s %s -> %ld %s\n", method, path, status, r.body);
    if (out) *out = strdup(r.body);
    ehc_test_response_free(&r);
    return status;
}

/* ---- the generated caseload (driven by tests/support/caseload.c) -------------------------------------- */

typedef enum {
    ISSUED,           /* assessed, plan issued */
    REFUSED,          /* not assessed */
    WITHDRAWN_BEFORE, /* withdrawn before the decision whether to assess */
    WITHDRAWN_DURING, /* withdrawn during the assessment */
    NO_PLAN,          /* assessed, no plan */
    PENDING,          /* received in December, decided after the year's end */
} fate;

typedef struct gen_case {
    fate fate;
    int32_t r;          /* request received (days since epoch) */
    int decision_delay; /* days to the decision whether to assess */
    int advice_delay;   /* days to the advice */
    int plan_extra;     /* days after the draft period before the final plan (late when large) */
    bool exception;     /* an exception to the 20-week limit applies (Week20 = 1) */
    char sex[2];
    char dob[16];
    const char *postcode; /* or NULL */
    /* the plan record and its placement */
    bool res, wbp, pb, oa, dp, unit, resourced, ceased;
    const char *urn, *setting; /* one of them */
    const char *need1, *need2; /* SENtype rank 1 and 2 (or NULL), as SEN2 writes them */
    /* worked out while generating */
    int32_t request_outcome_on, assessment_outcome_on, start_on;
    long id, child_id;
    char reference[40];
} gen_case;

static gen_case cases[CASES];

static uint32_t rng = 20270118u;
static int roll(int lo, int hi)
{
    return ehc_caseload_roll(&rng, lo, hi);
}

typedef enum {
    OPEN,
    DECIDE,
    WITHDRAW,
    ASK,
    RETURN,
    COMPLETE,
    ISSUE_DECISION,
    EXCEPTION,
    DRAFT,
    PLACE,
    FINAL,
    RECORD /* the plan's details, placement and needs */
} step_kind;

typedef ehc_caseload_step step; /* kind: a step_kind */

static void iso(int32_t days, char out[EHC_DATE_ISO_SIZE])
{
    ehc_caseload_iso(days, out);
}

static int32_t day_of(const char *s)
{
    return ehc_caseload_day(s);
}

static void generate(step *steps, size_t *n)
{
    static const fate fates[] = {ISSUED,           REFUSED, ISSUED, WITHDRAWN_BEFORE, NO_PLAN, ISSUED,
                                 WITHDRAWN_DURING, ISSUED,  ISSUED};
    int32_t day = day_of("2026-01-05");
    int seq = 0;
    *n = 0;
    for (int i = 0; i < CASES; i++) {
        gen_case *g = &cases[i];
        day = ehc_caseload_weekday(day); /* no bank holiday in January and February 2026 */
        g->fate = i == CASES - 1 ? PENDING : fates[i % 9];
        g->r = g->fate == PENDING ? day_of("2026-12-01") : day;
        day += 1 + i % 2;
        g->decision_delay = roll(28, 42);
        g->advice_delay = roll(25, 40);
        g->plan_extra = i % 4 == 1 ? roll(60, 90) : roll(0, 10);
        g->exception = g->fate == ISSUED && i % 4 == 2;
        g->sex[0] = i % 2 ? 'F' : 'M';
        snprintf(g->dob, sizeof g->dob, "%04d-%02d-%02d", 2010 + i % 9, 1 + i % 12, 1 + (i * 7) % 28);
        g->postcode = i % 3 == 0 ? NULL : (i % 3 == 1 ? "OL1 1AA" : "OL8 4QQ");
        g->res = i % 3 == 0;
        g->wbp = i % 5 == 0;
        g->pb = i % 2 == 0;
        g->oa = i % 4 == 0;
        g->dp = i % 3 == 1;
        g->unit = i % 2 == 1;
        g->resourced = i % 3 == 2;
        g->urn = i % 4 == 3 ? NULL : "105432";
        g->setting = i % 4 == 3 ? "EHE" : NULL;
        g->ceased = i == 7; /* a plan that ended within the year: still in the return, with its reason */
        static const char *const needs[] = {"ASD", "SLCN", "SEMH", "MLD", "SPLD"};
        g->need1 = needs[i % 5];
        g->need2 = i % 2 ? NULL : needs[(i + 2) % 5];
        int32_t dday = g->r + g->decision_delay;
        steps[(*n)++] = (step){g->r, seq++, i, OPEN};
        if (g->fate == PENDING) {
            steps[(*n)++] = (step){day_of("2027-01-12"), seq++, i, DECIDE};
            continue;
        }
        if (g->fate == WITHDRAWN_BEFORE) {
            g->request_outcome_on = g->r + 20;
            steps[(*n)++] = (step){g->request_outcome_on, seq++, i, WITHDRAW};
            continue;
        }
        g->request_outcome_on = dday;
        steps[(*n)++] = (step){dday, seq++, i, DECIDE};
        if (g->fate == REFUSED) continue;
        steps[(*n)++] = (step){dday, seq++, i, ASK};
        if (g->fate == WITHDRAWN_DURING) {
            g->assessment_outcome_on = dday + 10;
            steps[(*n)++] = (step){g->assessment_outcome_on, seq++, i, WITHDRAW};
            continue;
        }
        int32_t aday = dday + g->advice_delay;
        steps[(*n)++] = (step){aday, seq++, i, RETURN};
        steps[(*n)++] = (step){aday, seq++, i, COMPLETE};
        steps[(*n)++] = (step){aday + 3, seq++, i, ISSUE_DECISION};
        if (g->fate == NO_PLAN) {
            g->assessment_outcome_on = aday + 3;
            continue;
        }
        int32_t sday = aday + 5;
        if (g->exception) steps[(*n)++] = (step){sday, seq++, i, EXCEPTION};
        steps[(*n)++] = (step){sday, seq++, i, DRAFT};
        g->start_on = g->assessment_outcome_on = sday + 15 + g->plan_extra;
        steps[(*n)++] = (step){g->start_on, seq++, i, PLACE};
        steps[(*n)++] = (step){g->start_on, seq++, i, FINAL};
        steps[(*n)++] = (step){g->ceased ? day_of("2026-12-15") : g->start_on, seq++, i, RECORD};
    }
}

static void event(gen_case *g, const char *token, const char *type, const char *on, const char *fields)
{
    ehc_caseload_event(d.port, admin, g->id, token, type, on, fields);
}

static void take(const step *s)
{
    gen_case *g = &cases[s->c];
    const char *officer = EHC_TEST_TOKEN("officer"), *manager = EHC_TEST_TOKEN("manager");
    char on[EHC_DATE_ISO_SIZE], fields[256];
    iso(s->on, on);
    switch (s->kind) {
    case OPEN: {
        char postcode[40] = "", child[256];
        if (g->postcode) snprintf(postcode, sizeof postcode, ", \"postcode\": \"%s\"", g->postcode);
        snprintf(
            child, sizeof child,
            "{\"forename\": \"Gen\", \"surname\": \"Sen%d\", \"date_of_birth\": \"%s\", \"sex\": \"%s\"%s}",
            s->c, g->dob, g->sex, postcode);
        g->id = ehc_caseload_open(
            d.port, officer, ehc_test_scalar(admin, "SELECT id FROM teams WHERE name = 'North'"), child, on);
        g->child_id = ehc_test_scalar(admin, "SELECT child_id FROM cases WHERE id = %ld", g->id);
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT reference FROM cases WHERE id = %ld", g->id);
        PGresult *ref = PQexec(admin, sql);
        assert_int_equal(PQresultStatus(ref), PGRES_TUPLES_OK);
        snprintf(g->reference, sizeof g->reference, "%s", PQgetvalue(ref, 0, 0));
        PQclear(ref);
        break;
    }
    case DECIDE:
        event(g, manager, "decision_to_assess", on,
              g->fate == REFUSED ? "{\"decision\": \"no\"}" : "{\"decision\": \"yes\"}");
        break;
    case WITHDRAW:
        event(g, officer, "withdrawn", on,
              g->fate == WITHDRAWN_BEFORE ? "{\"stage_reached\": \"before_decision_to_assess\"}"
                                          : "{\"stage_reached\": \"during_assessment\"}");
        break;
    case ASK:
        snprintf(
            fields, sizeof fields,
            "{\"request_key\": \"a\", \"adviser\": \"educational_psychologist\", \"received_on\": \"%s\"}",
            on);
        event(g, officer, "advice_requested", on, fields);
        break;
    case RETURN: event(g, officer, "advice_received", on, "{\"request_key\": \"a\"}"); break;
    case COMPLETE: event(g, officer, "advice_complete", on, NULL); break;
    case ISSUE_DECISION:
        event(g, manager, "decision_to_issue", on,
              g->fate == NO_PLAN ? "{\"decision\": \"no\"}" : "{\"decision\": \"yes\"}");
        break;
    case EXCEPTION: ehc_caseload_exception(d.port, admin, g->id, manager, on); break;
    case DRAFT:
        snprintf(fields, sizeof fields, "{\"served_on\": \"%s\"}", on);
        event(g, officer, "draft_served", on, fields);
        break;
    case PLACE: event(g, manager, "placement_decided", on, NULL); break;
    case FINAL: event(g, manager, "final_plan_issued", on, NULL); break;
    case RECORD: {
        char start[EHC_DATE_ISO_SIZE];
        iso(g->start_on, start);
        snprintf(fields, sizeof fields,
                 "{\"residential\": %s, \"work_based\": %s, \"personal_budget\": %s, "
                 "\"organised_arrangements\": %s, \"direct_payments\": %s%s}",
                 g->res ? "true" : "false", g->wbp ? "true" : "false", g->pb ? "true" : "false",
                 g->oa ? "true" : "false", g->dp ? "true" : "false",
                 g->ceased ? ", \"cease_on\": \"2026-12-15\", \"cease_reason\": 2" : "");
        event(g, officer, "plan_details_recorded", on, fields);
        char where[48];
        if (g->urn)
            snprintf(where, sizeof where, "\"urn\": %s", g->urn);
        else
            snprintf(where, sizeof where, "\"sen_setting\": \"ehe\"");
        snprintf(fields, sizeof fields,
                 "{\"placement_key\": \"main\", \"rank\": 1, %s, \"sen_unit\": %s, \"resourced_provision\": "
                 "%s, \"start_on\": \"%s\"%s}",
                 where, g->unit ? "true" : "false", g->resourced ? "true" : "false", start,
                 g->ceased ? ", \"end_on\": \"2026-12-15\"" : "");
        event(g, officer, "placement_recorded", on, fields);
        char need2[40] = "";
        if (g->need2) {
            char lower[8];
            size_t k = 0;
            for (; g->need2[k] && k + 1 < sizeof lower; k++)
                lower[k] = (char)(g->need2[k] - 'A' + 'a');
            lower[k] = '\0';
            snprintf(need2, sizeof need2, ", \"secondary_need\": \"%s\"", lower);
        }
        char lower1[8];
        size_t k = 0;
        for (; g->need1[k] && k + 1 < sizeof lower1; k++)
            lower1[k] = (char)(g->need1[k] - 'A' + 'a');
        lower1[k] = '\0';
        snprintf(fields, sizeof fields, "{\"primary_need\": \"%s\"%s}", lower1, need2);
        event(g, officer, "sen_need_recorded", on, fields);
        break;
    }
    }
}

static void test_generated_caseload_is_taken_through_the_law_over_the_api(void **state)
{
    (void)state;
    static step steps[CASES * 13];
    size_t n;
    generate(steps, &n);
    ehc_caseload_run(d.port, steps, n, take);
    /* every fate was generated, and every plan was issued within the year */
    int seen[PENDING + 1] = {0};
    for (int i = 0; i < CASES; i++) {
        seen[cases[i].fate]++;
        if (cases[i].fate == ISSUED) assert_true(cases[i].start_on < day_of("2026-12-15"));
    }
    for (int f = 0; f <= PENDING; f++)
        assert_true(seen[f] > 0);
}

/* ---- expected rows, from the generated inputs alone ------------------------------------------------- */

typedef struct expected_row {
    const char *key;  /* RequestID (or PersonID) */
    const char *rank; /* SENtypeRank too, for the SEN need module; else NULL */
    const char *items[12][2];
} expected_row;

static void set(expected_row *e, size_t *k, const char *item, const char *value)
{
    e->items[*k][0] = item;
    e->items[*k][1] = value ? strdup(value) : NULL;
    (*k)++;
}

static const char *date_or_null(int32_t days, char buf[EHC_DATE_ISO_SIZE])
{
    if (!days) return NULL;
    iso(days, buf);
    return buf;
}

static const char *request_outcome(const gen_case *g)
{
    switch (g->fate) {
    case PENDING: return "A";
    case REFUSED: return "N";
    case WITHDRAWN_BEFORE: return "W";
    default: return "Y";
    }
}

static const char *assessment_outcome(const gen_case *g)
{
    switch (g->fate) {
    case ISSUED: return "Y";
    case NO_PLAN: return "N";
    case WITHDRAWN_DURING: return "W";
    default: return NULL;
    }
}

/* The expected rows of a module, in case order; returns how many. */
static size_t expected(const char *module, expected_row *rows)
{
    size_t n = 0;
    char buf[EHC_DATE_ISO_SIZE], id[24];
    for (int i = 0; i < CASES; i++) {
        const gen_case *g = &cases[i];
        expected_row *e = &rows[n];
        size_t k = 0;
        memset(e, 0, sizeof *e);
        snprintf(id, sizeof id, "%ld", g->child_id);
        if (strcmp(module, "person") == 0) {
            char surname[16];
            snprintf(surname, sizeof surname, "Sen%d", i);
            e->key = strdup(id);
            set(e, &k, "PersonID", id);
            set(e, &k, "Surname", surname);
            set(e, &k, "Forename", "Gen");
            set(e, &k, "PersonBirthDate", g->dob);
            set(e, &k, "Sex", g->sex);
            set(e, &k, "Ethnicity", NULL);
            set(e, &k, "PostCode", g->postcode);
            set(e, &k, "UPN", NULL);
            set(e, &k, "UniqueLearnerNumber", NULL);
        } else if (strcmp(module, "requests") == 0) {
            e->key = strdup(g->reference);
            set(e, &k, "PersonID", id);
            set(e, &k, "RequestID", g->reference);
            set(e, &k, "ReceivedDate", date_or_null(g->r, buf));
            set(e, &k, "RequestSource", NULL);
            set(e, &k, "RYA", "0");
            set(e, &k, "RequestOutcomeDate", date_or_null(g->request_outcome_on, buf));
            set(e, &k, "RequestOutcome", request_outcome(g));
            set(e, &k, "RequestMediation", "0");
            set(e, &k, "RequestTribunal", "0");
        } else if (strcmp(module, "assessments") == 0) {
            if (strcmp(request_outcome(g), "Y") != 0) continue;
            e->key = strdup(g->reference);
            set(e, &k, "RequestID", g->reference);
            set(e, &k, "AssessmentOutcome", assessment_outcome(g));
            set(e, &k, "AssessmentOutcomeDate", date_or_null(g->assessment_outcome_on, buf));
            set(e, &k, "AssessmentMediation", "0");
            set(e, &k, "AssessmentTribunal", "0");
            set(e, &k, "OtherMediation", "0");
            set(e, &k, "OtherTribunal", "0");
            set(e, &k, "Week20", g->fate == ISSUED ? (g->exception ? "1" : "0") : NULL);
        } else if (strcmp(module, "plans") == 0 || strcmp(module, "placements") == 0) {
            if (g->fate != ISSUED) continue;
            e->key = strdup(g->reference);
            set(e, &k, "RequestID", g->reference);
            if (strcmp(module, "plans") == 0) {
                set(e, &k, "StartDate", date_or_null(g->start_on, buf));
                set(e, &k, "PlanRes", g->res ? "1" : "0");
                set(e, &k, "PlanWBP", g->wbp ? "1" : "0");
                set(e, &k, "PB", g->pb ? "1" : "0");
                set(e, &k, "OA", g->oa ? "1" : "0");
                set(e, &k, "DP", g->dp ? "1" : "0");
                set(e, &k, "CeaseDate", g->ceased ? "2026-12-15" : NULL);
                set(e, &k, "CeaseReason", g->ceased ? "2" : NULL);
            } else {
                set(e, &k, "URN", g->urn);
                set(e, &k, "UKPRN", NULL);
                set(e, &k, "SENsetting", g->setting);
                set(e, &k, "PlacementRank", "1");
                set(e, &k, "SENUnitIndicator", g->unit ? "1" : "0");
                set(e, &k, "ResourcedProvisionIndicator", g->resourced ? "1" : "0");
                set(e, &k, "EntryDate", date_or_null(g->start_on, buf));
                set(e, &k, "LeavingDate", g->ceased ? "2026-12-15" : NULL);
            }
        } else if (strcmp(module, "active_plans") == 0 || strcmp(module, "placement_detail") == 0) {
            /* the plans not ceased by the reference date, with their current placement; no review
             * of this caseload has been held yet */
            if (g->fate != ISSUED || g->ceased) continue;
            e->key = strdup(g->reference);
            set(e, &k, "RequestID", g->reference);
            if (strcmp(module, "active_plans") == 0) {
                static const char *const none[] = {"TransferLA",
                                                   "ReviewMeeting",
                                                   "ReviewOutcome",
                                                   "ReviewDecisionDate",
                                                   "DraftAmendedPlanDate",
                                                   "PhaseTransferDueDate",
                                                   "PhaseTransferFinalDate"};
                for (size_t x = 0; x < sizeof none / sizeof *none; x++)
                    set(e, &k, none[x], NULL);
            } else {
                set(e, &k, "URN", g->urn);
                set(e, &k, "UKPRN", NULL);
                set(e, &k, "SENsetting", g->setting);
                set(e, &k, "PlacementRank", "1");
                set(e, &k, "SENUnitIndicator", g->unit ? "1" : "0");
                set(e, &k, "ResourcedProvisionIndicator", g->resourced ? "1" : "0");
                set(e, &k, "EntryDate", date_or_null(g->start_on, buf));
            }
        } else if (strcmp(module, "sen_need") == 0) {
            if (g->fate != ISSUED || g->ceased) continue;
            for (int rank = 1; rank <= 2; rank++) {
                const char *need = rank == 1 ? g->need1 : g->need2;
                if (!need) continue;
                e = &rows[n];
                memset(e, 0, sizeof *e);
                k = 0;
                e->key = strdup(g->reference);
                e->rank = rank == 1 ? "1" : "2";
                set(e, &k, "PersonID", id);
                set(e, &k, "RequestID", g->reference);
                set(e, &k, "SENtype", need);
                set(e, &k, "SENtypeRank", e->rank);
                n++;
            }
            continue;
        }
        n++;
    }
    return n;
}

static void free_expected(expected_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)rows[i].key);
        for (size_t k = 0; k < 12 && rows[i].items[k][0]; k++)
            free((char *)rows[i].items[k][1]);
    }
}

static cJSON *sen2(const char *token, const char *query, long want)
{
    char path[256], *out = NULL;
    snprintf(path, sizeof path, "/api/v1/reports/sen2%s", query);
    assert_int_equal(call("GET", path, token, NULL, &out), want);
    cJSON *j = cJSON_Parse(out);
    free(out);
    assert_non_null(j);
    return j;
}

static void test_each_module_has_the_rows_and_items_worked_out_independently(void **state)
{
    (void)state;
    static const char *const modules[] = {"person",     "requests",     "assessments",      "plans",
                                          "placements", "active_plans", "placement_detail", "sen_need"};
    static expected_row rows[CASES * 2];
    int wrong = 0;
    for (size_t m = 0; m < sizeof modules / sizeof *modules; m++) {
        char query[96];
        snprintf(query, sizeof query, "?year=2027&module=%s", modules[m]);
        cJSON *doc = sen2(EHC_TEST_TOKEN("svc"), query, 200);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "reference_date")), "2027-01-18");
        size_t n = expected(modules[m], rows);
        const cJSON *got = cJSON_GetObjectItem(doc, "rows");
        const cJSON *items = cJSON_GetObjectItem(doc, "items");
        if ((size_t)cJSON_GetArraySize(got) != n) {
            fprintf(stderr, "%s: %d rows, expected %zu\n", modules[m], cJSON_GetArraySize(got), n);
            wrong++;
        }
        for (size_t i = 0; i < n; i++) {
            /* the item list is exactly the expected items, in order */
            size_t k = 0;
            for (; k < 12 && rows[i].items[k][0]; k++) {
                const cJSON *name = cJSON_GetArrayItem(items, (int)k);
                if (!name || strcmp(name->valuestring, rows[i].items[k][0]) != 0) {
                    fprintf(stderr, "%s: item %zu is %s, expected %s\n", modules[m], k,
                            name ? name->valuestring : "(none)", rows[i].items[k][0]);
                    wrong++;
                }
            }
            assert_int_equal(cJSON_GetArraySize(items), (int)k);
            const cJSON *row = NULL, *r;
            const char *key_item = strcmp(modules[m], "person") == 0 ? "PersonID" : "RequestID";
            cJSON_ArrayForEach(r, got)
            {
                const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(r, key_item));
                const char *rank = cJSON_GetStringValue(cJSON_GetObjectItem(r, "SENtypeRank"));
                if (key && strcmp(key, rows[i].key) == 0 &&
                    (!rows[i].rank || (rank && strcmp(rank, rows[i].rank) == 0)))
                    row = r;
            }
            if (!row) {
                fprintf(stderr, "%s: no row for %s\n", modules[m], rows[i].key);
                wrong++;
                continue;
            }
            for (k = 0; k < 12 && rows[i].items[k][0]; k++) {
                const char *want = rows[i].items[k][1];
                const cJSON *v = cJSON_GetObjectItem(row, rows[i].items[k][0]);
                const char *have = cJSON_GetStringValue(v);
                bool same = want ? have && strcmp(want, have) == 0 : (!v || cJSON_IsNull(v));
                if (!same) {
                    fprintf(stderr, "%s %s %s: %s, expected %s\n", modules[m], rows[i].key,
                            rows[i].items[k][0], have ? have : "null", want ? want : "null");
                    wrong++;
                }
            }
        }
        free_expected(rows, n);
        cJSON_Delete(doc);
    }
    assert_int_equal(wrong, 0);
}

static void test_csv_has_the_item_names_and_one_line_per_row(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(call("GET", "/api/v1/reports/sen2?year=2027&module=requests&format=csv",
                          EHC_TEST_TOKEN("svc"), NULL, &out),
                     200);
    const char *header =
        "PersonID,RequestID,ReceivedDate,RequestSource,RYA,RequestOutcomeDate,RequestOutcome,"
        "RequestMediation,RequestTribunal\r\n";
    assert_memory_equal(out, header, strlen(header));
    size_t lines = 0;
    for (const char *p = out; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    assert_int_equal(lines, CASES + 1);
    /* a refused request, as the test worked it out */
    for (int i = 0; i < CASES; i++) {
        const gen_case *g = &cases[i];
        char line[256], r[EHC_DATE_ISO_SIZE], o[EHC_DATE_ISO_SIZE];
        iso(g->r, r);
        if (g->request_outcome_on)
            iso(g->request_outcome_on, o);
        else
            o[0] = '\0';
        snprintf(line, sizeof line, "\r\n%ld,%s,%s,,0,%s,%s,0,0\r\n", g->child_id, g->reference, r, o,
                 request_outcome(g));
        if (!strstr(out, line)) fail_msg("no line %s in\n%s", line + 2, out);
    }
    free(out);
    /* a value a spreadsheet would take for a formula, or holding a comma or quote, is quoted */
    ehc_test_exec(admin, "UPDATE children SET surname = '=SUM(1,2)', forename = 'Ann \"A\"' WHERE id = %ld",
                  cases[0].child_id);
    assert_int_equal(call("GET", "/api/v1/reports/sen2?year=2027&module=person&format=csv",
                          EHC_TEST_TOKEN("svc"), NULL, &out),
                     200);
    char line[128];
    snprintf(line, sizeof line, "\r\n%ld,\"'=SUM(1,2)\",\"Ann \"\"A\"\"\",%s,", cases[0].child_id,
             cases[0].dob);
    if (!strstr(out, line)) fail_msg("no line %s in\n%s", line + 2, out);
    free(out);
    ehc_test_exec(admin, "UPDATE children SET surname = 'Sen0', forename = 'Gen' WHERE id = %ld",
                  cases[0].child_id);
}

/* ---- the whole return as one XML document ----------------------------------------------------------- */

static xmlNode *child(const xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0) return n;
    return NULL;
}

static size_t count_children(const xmlNode *parent, const char *name)
{
    size_t n = 0;
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
        n += c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0;
    return n;
}

/* The text of parent's child element `name`, or NULL when there is none (freed by the caller). */
static char *text_of(const xmlNode *parent, const char *name)
{
    xmlNode *n = child(parent, name);
    if (!n) return NULL;
    xmlChar *t = xmlNodeGetContent(n);
    char *out = strdup((const char *)t);
    xmlFree(t);
    return out;
}

static bool has_text(const xmlNode *parent, const char *name, const char *want)
{
    char *t = text_of(parent, name);
    bool same = t && strcmp(t, want) == 0;
    free(t);
    return same;
}

static xmlDoc *sen2_xml(void)
{
    ehc_test_response r;
    assert_int_equal(ehc_test_call(d.port, "GET", "/api/v1/reports/sen2?year=2027&format=xml",
                                   EHC_TEST_TOKEN("svc"), NULL, &r),
                     200);
    xmlDoc *doc = xmlReadMemory(r.body, (int)strlen(r.body), "sen2.xml", NULL, XML_PARSE_NONET);
    if (!doc) fail_msg("the SEN2 XML does not parse:\n%.2000s", r.body);
    ehc_test_response_free(&r);
    return doc;
}

/* The element of the XML a module's expected row is, by the nesting of the return. */
static const xmlNode *element_of(const xmlNode *persons, const char *module, const expected_row *e)
{
    for (xmlNode *p = persons->children; p; p = p->next) {
        if (p->type != XML_ELEMENT_NODE) continue;
        if (strcmp(module, "person") == 0) {
            if (has_text(p, "PersonID", e->key)) return p;
            continue;
        }
        for (xmlNode *q = child(p, "Requests") ? child(p, "Requests")->children : NULL; q; q = q->next) {
            if (q->type != XML_ELEMENT_NODE || !has_text(q, "RequestID", e->key)) continue;
            if (strcmp(module, "requests") == 0) return q;
            if (strcmp(module, "assessments") == 0) return child(q, "Assessment");
            if (strcmp(module, "plans") == 0) return child(child(q, "Assessment"), "NamedPlan");
            if (strcmp(module, "placements") == 0)
                return child(child(child(q, "Assessment"), "NamedPlan"), "PlanDetail");
            if (strcmp(module, "active_plans") == 0) return child(q, "ActivePlans");
            if (strcmp(module, "placement_detail") == 0)
                return child(child(q, "ActivePlans"), "PlacementDetail");
            for (xmlNode *n = child(q, "ActivePlans") ? child(q, "ActivePlans")->children : NULL; n;
                 n = n->next)
                if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "SENneed") == 0 &&
                    has_text(n, "SENtypeRank", e->rank))
                    return n;
            return NULL;
        }
    }
    return NULL;
}

static void test_whole_return_as_one_xml_document_holds_every_modules_items(void **state)
{
    (void)state;
    xmlDoc *doc = sen2_xml();
    const xmlNode *root = xmlDocGetRootElement(doc);
    assert_string_equal((const char *)root->name, "Message");
    const xmlNode *header = child(root, "Header");
    assert_true(has_text(child(header, "CollectionDetails"), "Collection", "SEN2"));
    assert_true(has_text(child(header, "CollectionDetails"), "Year", "2027"));
    assert_true(has_text(child(header, "CollectionDetails"), "ReferenceDate", "2027-01-18"));
    assert_true(has_text(child(header, "Source"), "LEA", "353"));
    const xmlNode *persons = child(root, "Persons");
    assert_non_null(persons);
    static const char *const modules[] = {"person",     "requests",     "assessments",      "plans",
                                          "placements", "active_plans", "placement_detail", "sen_need"};
    static const char *const nested_keys[] = {"PersonID", "RequestID"}; /* said by the nesting */
    static expected_row rows[CASES * 2];
    int wrong = 0;
    for (size_t m = 0; m < sizeof modules / sizeof *modules; m++) {
        size_t n = expected(modules[m], rows);
        for (size_t i = 0; i < n; i++) {
            const xmlNode *el = element_of(persons, modules[m], &rows[i]);
            if (!el) {
                fprintf(stderr, "xml %s: no element for %s\n", modules[m], rows[i].key);
                wrong++;
                continue;
            }
            for (size_t k = 0; k < 12 && rows[i].items[k][0]; k++) {
                const char *item = rows[i].items[k][0], *want = rows[i].items[k][1];
                bool nested = strcmp(modules[m], "person") != 0 &&
                              (strcmp(item, nested_keys[0]) == 0 ||
                               (strcmp(item, nested_keys[1]) == 0 && strcmp(modules[m], "requests") != 0));
                if (nested) continue;
                char *have = text_of(el, item);
                bool same = want ? have && strcmp(have, want) == 0 : !have;
                if (!same) {
                    fprintf(stderr, "xml %s %s %s: %s, expected %s\n", modules[m], rows[i].key, item,
                            have ? have : "(absent)", want ? want : "(absent)");
                    wrong++;
                }
                free(have);
            }
        }
        /* no more elements than rows: one Person per child, one Request per request or plan */
        if (strcmp(modules[m], "person") == 0) assert_int_equal(count_children(persons, "Person"), n);
        if (strcmp(modules[m], "requests") == 0) {
            size_t requests = 0;
            for (xmlNode *p = persons->children; p; p = p->next)
                requests += count_children(child(p, "Requests"), "Request");
            assert_int_equal(requests, n);
        }
        free_expected(rows, n);
    }
    xmlFreeDoc(doc);
    assert_int_equal(wrong, 0);
    /* text that is markup in XML comes back as the same text */
    ehc_test_exec(admin, "UPDATE children SET surname = '<Sen&\"0\">' WHERE id = %ld", cases[0].child_id);
    doc = sen2_xml();
    char id[24];
    snprintf(id, sizeof id, "%ld", cases[0].child_id);
    expected_row who = {.key = id};
    const xmlNode *p = element_of(child(xmlDocGetRootElement(doc), "Persons"), "person", &who);
    assert_non_null(p);
    assert_true(has_text(p, "Surname", "<Sen&\"0\">"));
    xmlFreeDoc(doc);
    ehc_test_exec(admin, "UPDATE children SET surname = 'Sen0' WHERE id = %ld", cases[0].child_id);
    /* every case of the return is in the access log as exported in XML: one line per export (one
     * authority), holding every case */
    assert_int_equal(ehc_test_scalar(admin,
                                     "SELECT count(DISTINCT c) FROM access_log l, unnest(l.case_ids) c "
                                     "WHERE l.action = 'export' AND l.resource = 'SEN2 2027 xml'"),
                     CASES);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'export' AND "
                                            "resource = 'SEN2 2027 xml' AND case_id IS NULL"),
                     ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'export' AND "
                                            "resource = 'SEN2 2027 xml'"));
    /* and the case's own access log, as an administrator reads it, shows the export and who made it */
    char path[96];
    snprintf(path, sizeof path, "/api/v1/admin/cases/%ld/access-log", cases[CASES - 1].id);
    char *log_body = NULL;
    assert_int_equal(call("GET", path, EHC_TEST_TOKEN("admin"), NULL, &log_body), 200);
    cJSON *lines = cJSON_Parse(log_body);
    free(log_body);
    int exports = 0;
    cJSON *line;
    cJSON_ArrayForEach(line, lines)
    {
        const char *resource = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "resource"));
        const char *by = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "username"));
        if (resource && !strcmp(resource, "SEN2 2027 xml") && by && !strcmp(by, "svc")) exports++;
    }
    cJSON_Delete(lines);
    assert_true(exports >= 1);
    /* the XML is the whole return: no module with it */
    assert_int_equal(call("GET", "/api/v1/reports/sen2?year=2027&format=xml&module=person",
                          EHC_TEST_TOKEN("svc"), NULL, NULL),
                     400);
}

static void test_clean_caseload_passes_validation_and_a_broken_record_is_named(void **state)
{
    (void)state;
    cJSON *v = sen2(EHC_TEST_TOKEN("svc"), "/validation?year=2027", 200);
    const cJSON *findings = cJSON_GetObjectItem(v, "findings");
    if (cJSON_GetArraySize(findings) != 0) {
        char *text = cJSON_Print(findings);
        fail_msg("the clean caseload has findings: %s", text);
    }
    cJSON_Delete(v);
    /* an outcome dated before the request, a code SEN2 does not have, a plan without its details */
    const gen_case *refused = NULL, *issued = NULL;
    for (int i = 0; i < CASES; i++) {
        if (!refused && cases[i].fate == REFUSED) refused = &cases[i];
        if (!issued && cases[i].fate == ISSUED && !cases[i].ceased) issued = &cases[i];
    }
    char before[EHC_DATE_ISO_SIZE];
    iso(refused->r - 3, before);
    ehc_test_exec(admin,
                  "UPDATE case_report_codes SET value = '%s' WHERE case_id = %ld AND item = "
                  "'RequestOutcomeDate'",
                  before, refused->id);
    ehc_test_exec(admin, "UPDATE case_report_codes SET value = 'Q' WHERE case_id = %ld AND item = 'Week20'",
                  issued->id);
    v = sen2(EHC_TEST_TOKEN("svc"), "/validation?year=2027", 200);
    findings = cJSON_GetObjectItem(v, "findings");
    assert_int_equal(cJSON_GetArraySize(findings), 2);
    const cJSON *f = cJSON_GetArrayItem(findings, 0), *g = cJSON_GetArrayItem(findings, 1);
    if (refused->id > issued->id) {
        const cJSON *t = f;
        f = g;
        g = t;
    }
    assert_int_equal((long)cJSON_GetObjectItem(f, "case_id")->valuedouble, refused->id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(f, "reference")), refused->reference);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(f, "item")), "RequestOutcomeDate");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(f, "problem")), "before_request");
    assert_int_equal((long)cJSON_GetObjectItem(g, "case_id")->valuedouble, issued->id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(g, "reference")), issued->reference);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(g, "item")), "Week20");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(g, "problem")), "out_of_range");
    /* no child's name or date of birth in a finding */
    char *text = cJSON_PrintUnformatted(findings);
    assert_null(strstr(text, "Sen"));
    free(text);
    cJSON_Delete(v);
    char was[EHC_DATE_ISO_SIZE];
    iso(refused->request_outcome_on, was);
    ehc_test_exec(admin,
                  "UPDATE case_report_codes SET value = '%s' WHERE case_id = %ld AND item = "
                  "'RequestOutcomeDate'",
                  was, refused->id);
    ehc_test_exec(admin, "UPDATE case_report_codes SET value = '%s' WHERE case_id = %ld AND item = 'Week20'",
                  issued->exception ? "1" : "0", issued->id);
    /* a plan issued without its details recorded */
    ehc_test_exec(admin, "DELETE FROM placements WHERE case_id = %ld", issued->id);
    ehc_test_exec(admin, "DELETE FROM plans WHERE case_id = %ld", issued->id);
    v = sen2(EHC_TEST_TOKEN("svc"), "/validation?year=2027", 200);
    findings = cJSON_GetObjectItem(v, "findings");
    assert_int_equal(cJSON_GetArraySize(findings), 2);
    for (int i = 0; i < 2; i++) {
        f = cJSON_GetArrayItem(findings, i);
        assert_int_equal((long)cJSON_GetObjectItem(f, "case_id")->valuedouble, issued->id);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(f, "problem")), "missing_record");
    }
    cJSON_Delete(v);
}

static void test_only_service_managers_export_and_each_export_is_logged(void **state)
{
    (void)state;
    long svc = ehc_test_scalar(admin, "SELECT id FROM users WHERE username = 'svc'");
    long before = ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'export'");
    cJSON *doc = sen2(EHC_TEST_TOKEN("svc"), "?year=2027&module=assessments", 200);
    long rows = cJSON_GetArraySize(cJSON_GetObjectItem(doc, "rows"));
    cJSON_Delete(doc);
    assert_true(rows > 0);
    /* one line per export (the caseload is one authority's), by the service manager, naming the return
     * and holding each case exported (exported here and once before, by the module test) */
    assert_int_equal(
        ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'export'") - before, 1);
    assert_int_equal(ehc_test_scalar(admin,
                                     "SELECT cardinality(case_ids) FROM access_log WHERE action = 'export' "
                                     "ORDER BY id DESC LIMIT 1"),
                     rows);
    assert_int_equal(
        ehc_test_scalar(admin,
                        "SELECT count(*) FROM access_log WHERE action = 'export' AND user_id = %ld "
                        "AND resource = 'SEN2 2027 assessments'",
                        svc),
        2);
    assert_int_equal(ehc_test_scalar(admin,
                                     "SELECT count(DISTINCT c) FROM access_log l, unnest(l.case_ids) c "
                                     "WHERE l.action = 'export' AND l.resource = 'SEN2 2027 assessments'"),
                     rows);
    /* every earlier module export too: each case of the caseload has been exported as a person */
    assert_int_equal(ehc_test_scalar(admin,
                                     "SELECT count(DISTINCT c) FROM access_log l, unnest(l.case_ids) c "
                                     "WHERE l.action = 'export' AND l.resource = 'SEN2 2027 person'"),
                     CASES);
    /* team managers and officers are refused; a bad query is refused */
    static const char *const refused[] = {EHC_TEST_TOKEN("manager"), EHC_TEST_TOKEN("officer")};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(call("GET", "/api/v1/reports/sen2?year=2027&module=person", refused[i], NULL, NULL),
                         403);
        assert_int_equal(call("GET", "/api/v1/reports/sen2/validation?year=2027", refused[i], NULL, NULL),
                         403);
    }
    before = ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'export'");
    assert_int_equal(call("GET", "/api/v1/reports/sen2?year=2027&module=person", "X-None: 1", NULL, NULL),
                     401);
    assert_int_equal(call("GET", "/api/v1/reports/sen2?module=person", EHC_TEST_TOKEN("svc"), NULL, NULL),
                     400);
    assert_int_equal(call("GET", "/api/v1/reports/sen2?year=2027", EHC_TEST_TOKEN("svc"), NULL, NULL), 400);
    assert_int_equal(
        call("GET", "/api/v1/reports/sen2?year=2027&module=planets", EHC_TEST_TOKEN("svc"), NULL, NULL), 400);
    assert_int_equal(
        call("GET", "/api/v1/reports/sen2?year=20x7&module=person", EHC_TEST_TOKEN("svc"), NULL, NULL), 400);
    assert_int_equal(call("GET", "/api/v1/reports/sen2/validation?year=2027&module=person",
                          EHC_TEST_TOKEN("svc"), NULL, NULL),
                     400);
    assert_int_equal(ehc_test_scalar(admin, "SELECT count(*) FROM access_log WHERE action = 'export'"),
                     before);
    /* a year with no activity: an empty return */
    doc = sen2(EHC_TEST_TOKEN("svc"), "?year=2025&module=requests", 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "rows")), 0);
    cJSON_Delete(doc);
}

static void test_daemon_stops_cleanly_after_all_of_the_above(void **state)
{
    (void)state;
    ehc_test_daemon_stop_clean(&d);
}

/* `ehcd verify` output and exit status (0: no difference) */
static int run_verify(char *out, size_t size)
{
    return ehc_test_ehcd_verify(db_url, "", out, size);
}

/* The SEN2 records are projections of the events, so `ehcd verify` replays them too: a plan's detail,
 * a placement's URN or a need changed or removed behind the store's back is named, case by case, and
 * nothing is repaired; every other case of the generated caseload matches its events. */
static void test_verify_compares_the_sen2_records_with_their_events(void **state)
{
    (void)state;
    char out[65536], want[160];
    /* the validation test removed one case's plan and placement rows behind the store's back (its
     * events still record them): verify names exactly those two */
    long removed = ehc_test_scalar(admin, "SELECT min(e.case_id) FROM case_events e WHERE e.type = "
                                          "'plan_details_recorded' AND NOT EXISTS (SELECT 1 FROM plans p "
                                          "WHERE p.case_id = e.case_id)");
    assert_true(removed > 0);
    assert_int_equal(run_verify(out, sizeof out), 1);
    snprintf(want, sizeof want, "case %ld (", removed);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "): SEN2 plan: stored none, replay gives a row"));
    assert_non_null(strstr(out, "): SEN2 placement main: stored none, replay gives a row"));
    assert_non_null(strstr(out, " 2 difference(s)"));

    long plan_case = ehc_test_scalar(admin, "SELECT min(case_id) FROM plans");
    long urn_case = ehc_test_scalar(admin, "SELECT min(case_id) FROM placements WHERE urn IS NOT NULL");
    long need_case = ehc_test_scalar(admin, "SELECT min(case_id) FROM child_needs WHERE rank = 1");
    assert_true(plan_case > 0 && urn_case > 0 && need_case > 0);
    ehc_test_exec(admin, "UPDATE plans SET personal_budget = NOT personal_budget WHERE case_id = %ld",
                  plan_case);
    ehc_test_exec(admin, "UPDATE placements SET urn = '999999' WHERE case_id = %ld AND urn IS NOT NULL",
                  urn_case);
    ehc_test_exec(admin, "CREATE TABLE needs_kept AS SELECT * FROM child_needs WHERE case_id = %ld",
                  need_case);
    ehc_test_exec(admin, "DELETE FROM child_needs WHERE case_id = %ld", need_case);
    assert_int_equal(run_verify(out, sizeof out), 1);
    snprintf(want, sizeof want, "case %ld (", plan_case);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "): SEN2 plan personal_budget: stored "));
    assert_non_null(strstr(out, " urn: stored 999999, replay gives "));
    snprintf(want, sizeof want, "case %ld (", need_case);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "): SEN2 needs: stored 0, replay gives "));
    assert_non_null(strstr(out, " 5 difference(s)"));

    /* put back as the events say: only the validation test's removal is left */
    ehc_test_exec(admin, "UPDATE plans SET personal_budget = NOT personal_budget WHERE case_id = %ld",
                  plan_case);
    ehc_test_exec(
        admin,
        "UPDATE placements p SET urn = (SELECT e.payload -> 'fields' ->> 'urn' FROM case_events e "
        "WHERE e.case_id = p.case_id AND e.seq = p.recorded_seq) WHERE p.case_id = %ld AND p.urn = '999999'",
        urn_case);
    ehc_test_exec(admin, "INSERT INTO child_needs SELECT * FROM needs_kept");
    ehc_test_exec(admin, "DROP TABLE needs_kept");
    int rc = run_verify(out, sizeof out);
    if (!strstr(out, " 2 difference(s)")) fprintf(stderr, "ehcd verify said:\n%s", out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, " 2 difference(s)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_caseload_is_taken_through_the_law_over_the_api),
        cmocka_unit_test(test_each_module_has_the_rows_and_items_worked_out_independently),
        cmocka_unit_test(test_csv_has_the_item_names_and_one_line_per_row),
        cmocka_unit_test(test_whole_return_as_one_xml_document_holds_every_modules_items),
        cmocka_unit_test(test_clean_caseload_passes_validation_and_a_broken_record_is_named),
        cmocka_unit_test(test_only_service_managers_export_and_each_export_is_logged),
        cmocka_unit_test(test_verify_compares_the_sen2_records_with_their_events),
        cmocka_unit_test(test_daemon_stops_cleanly_after_all_of_the_above),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
