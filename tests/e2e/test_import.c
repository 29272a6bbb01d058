/* `ehcd import` end to end, as a council's migration lead runs it: a generated authority (ehc-sample,
 * 500 children over five years) is checked and dry-run, imported, imported again (nothing changes),
 * verified by replay; a file with one mistake of each kind is refused whole, every mistake named by
 * file, row and column; and a case exported from one authority and imported into another gets the
 * same statutory dates, computed again by the machine. */
#include "testlib.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ehc/common.h"
#include "ehc/identifiers.h"

#define TODAY "2026-11-20"

typedef struct world {
    PGconn *db;
    char *url;
    char dir[256];
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    w->db = ehc_test_migrated_database("import", &w->url);
    ehc_test_exec(w->db, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham'), ('357', "
                         "'Tameside'), ('358', 'Trafford')");
    snprintf(w->dir, sizeof w->dir, "/tmp/ehc-import-test.XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", w->dir);
    PQfinish(w->db);
    free(w->url);
    free(w);
    return 0;
}

/* Runs an ehcd or ehc-sample command line (after the program path) with the test database and the
 * shipped workflows; returns its exit status and its standard output (malloc'd) in *out. */
static int run(world *w, const char *program, const char *args, char **out)
{
    const char *ehcd = ehc_test_env("EHC_TEST_EHCD");
    char bin[512];
    snprintf(bin, sizeof bin, "%s", ehcd);
    char path[600];
    if (strcmp(program, "ehcd") == 0)
        snprintf(path, sizeof path, "%s", ehcd);
    else
        snprintf(path, sizeof path, "%s/%s", dirname(bin), program);
    char *cmd =
        ehc_asprintf("DATABASE_URL='%s' EHCD_WORKFLOWS_DIR='%s/workflows' EHCD_LOG_LEVEL=warn '%s' %s",
                     w->url, ehc_test_env("EHC_SOURCE_DIR"), path, args);
    FILE *p = popen(cmd, "r");
    free(cmd);
    assert_non_null(p);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        ehc_text_append(&buf, &len, &cap, chunk, n);
    if (!buf) ehc_text_append(&buf, &len, &cap, "", 0);
    int status = pclose(p);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void expect_line(const char *out, const char *needle)
{
    if (!strstr(out, needle)) fail_msg("the output lacks \"%s\":\n%.4000s", needle, out);
}

static long counted(const char *out, const char *label)
{
    const char *p = strstr(out, label);
    if (!p) fail_msg("the output lacks \"%s\":\n%.2000s", label, out);
    return strtol(p + strlen(label), NULL, 10);
}

static void test_sample_imports_once_and_replays_clean(void **state)
{
    world *w = *state;
    char args[512], *out;
    snprintf(args, sizeof args, "--children 500 --seed 20 --today " TODAY " --out '%s/sample'", w->dir);
    assert_int_equal(run(w, "ehc-sample", args, &out), 0);
    free(out);

    /* the dry run says what would come and what is already late, and writes nothing */
    snprintf(args, sizeof args,
             "import '%s/sample' --authority 353 --source capita-one --today " TODAY " --dry-run", w->dir);
    assert_int_equal(run(w, "ehcd", args, &out), 0);
    long would = counted(out, "would create ");
    long overdue_cases = counted(out, "and unchanged; ");
    assert_true(would > 500); /* assessment cases and the plans' review cases */
    expect_line(out, "would create: ehc-needs-assessment R-");
    expect_line(out, "would create: annual-review P-");
    expect_line(out, "overdue on arrival: ");
    free(out);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM cases"), 0);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM children"), 0);

    snprintf(args, sizeof args, "import '%s/sample' --authority 353 --source capita-one --today " TODAY,
             w->dir);
    assert_int_equal(run(w, "ehcd", args, &out), 0);
    assert_int_equal(counted(out, "created "), would);
    free(out);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM cases"), would);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM children"), 500);
    assert_int_equal(ehc_test_scalar(w->db,
                                     "SELECT count(*) FROM cases WHERE NOT migrated OR source_system <> "
                                     "'capita-one' OR source_ref IS NULL"),
                     0);
    /* each event says where it came from */
    assert_int_equal(ehc_test_scalar(w->db,
                                     "SELECT count(*) FROM case_events WHERE payload -> 'migrated_from' ->> "
                                     "'file' IS NULL OR (payload -> 'migrated_from' ->> 'row')::int < 2"),
                     0);
    /* every stage and outcome the sample promises is there */
    const char *stages[] = {"closed_refused", "withdrawn", "review_cycle", "maintained",
                            "amending",       "ceased",    "assessing",    "request"};
    for (size_t i = 0; i < sizeof stages / sizeof *stages; i++)
        if (ehc_test_scalar(w->db, "SELECT count(*) FROM cases WHERE stage = '%s'", stages[i]) == 0)
            fail_msg("no imported case in stage %s", stages[i]);
    assert_true(ehc_test_scalar(w->db, "SELECT count(*) FROM deadline_exceptions") > 0);
    /* SEN2 4a and 4b, projected from the plan and placement events like a live case's */
    assert_true(ehc_test_scalar(w->db, "SELECT count(*) FROM plans WHERE recorded_seq IS NOT NULL") > 50);
    assert_true(ehc_test_scalar(w->db, "SELECT count(*) FROM placements WHERE placement_key IS NOT NULL") >
                50);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM placements WHERE placement_key IS NULL"),
                     0);
    assert_true(ehc_test_scalar(w->db, "SELECT count(*) FROM deadlines WHERE deadline_key = 'advice_due' AND "
                                       "status = 'met_late'") > 0);
    assert_true(ehc_test_scalar(w->db, "SELECT count(*) FROM deadlines WHERE deadline_key = 'advice_due' AND "
                                       "status = 'met'") > 0);
    assert_true(ehc_test_scalar(
                    w->db, "SELECT count(*) FROM case_events WHERE type = 'phase_transfer_identified'") > 0);
    assert_true(ehc_test_scalar(w->db,
                                "SELECT count(*) FROM case_report_codes WHERE item = 'RequestOutcome' AND "
                                "value = 'N'") > 0);
    /* the dates are the engine's: 20 weeks from the request's deemed receipt, never copied */
    assert_int_equal(
        ehc_test_scalar(w->db, "SELECT count(*) FROM deadlines d JOIN cases c ON c.id = d.case_id "
                               "WHERE d.deadline_key = 'final_plan_due' AND d.due_on <> c.opened_on + 140"),
        0);
    assert_true(
        ehc_test_scalar(w->db, "SELECT count(*) FROM deadlines WHERE deadline_key = 'final_plan_due'") > 100);
    /* the backlog the dry run announced is what arrived */
    assert_int_equal(ehc_test_scalar(w->db,
                                     "SELECT count(DISTINCT case_id) FROM deadlines WHERE status = 'open' "
                                     "AND direction = 'latest' AND due_on < DATE '" TODAY "'"),
                     overdue_cases);

    /* again: nothing changes */
    long events = ehc_test_scalar(w->db, "SELECT count(*) FROM case_events");
    long deadlines = ehc_test_scalar(w->db, "SELECT count(*) FROM deadlines");
    assert_int_equal(run(w, "ehcd", args, &out), 0);
    expect_line(out, "created 0 case(s)");
    assert_int_equal(counted(out, "case(s), "), would);
    free(out);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM cases"), would);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM children"), 500);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM case_events"), events);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM deadlines"), deadlines);

    /* a case changed in the old system since: refused, named, and nothing written */
    char *cmd =
        ehc_asprintf("cd '%s/sample' && awk -F, 'BEGIN { OFS = \",\" } NR == 2 { $4 = $4 == \"email\" ? "
                     "\"hand\" : \"email\" } 1' requests.csv > r.tmp && mv r.tmp requests.csv",
                     w->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    assert_int_equal(run(w, "ehcd", args, &out), 1);
    expect_line(out, "requests.csv,2,case_ref: ");
    expect_line(out, "was imported before from different data");
    expect_line(out, "1 problem(s): nothing was written");
    free(out);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM case_events"), events);

    /* the stored projections are what replaying the log gives */
    assert_int_equal(run(w, "ehcd", "verify", &out), 0);
    expect_line(out, " 0 difference(s)");
    free(out);
}

static void write_file(world *w, const char *sub, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", w->dir, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", w->dir, sub, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void upn_with_check(const char *rest12, char out[14])
{
    static const char letters[] = "ABCDEFGHJKLMNPQRTUVWXYZ";
    snprintf(out + 1, 13, "%s", rest12);
    int sum = 0;
    for (int i = 1; i < 13; i++)
        sum += (out[i] - '0') * (i + 1);
    out[0] = letters[sum % 23];
    out[13] = '\0';
    assert_true(ehc_upn_valid(out));
}

static void test_every_mistake_is_listed_and_nothing_written(void **state)
{
    world *w = *state;
    char good_upn[14], bad_upn[14];
    upn_with_check("353123452001", good_upn);
    snprintf(bad_upn, sizeof bad_upn, "%s", good_upn);
    bad_upn[0] = bad_upn[0] == 'A' ? 'B' : 'A';
    assert_true(ehc_nhs_number_valid("9434765919"));
    char *children = ehc_asprintf(
        "child_ref,forename,surname,date_of_birth,sex,nhs_number,upn,postcode,primary_need,secondary_need\n"
        "C1,Amara,Ahmed,2015-03-01,F,9434765919,%s,OL1 1UT,ASD,\n" /* row 2: good */
        "C2,Ben,Brown,2019-02-30,M,,,,,\n"                         /* row 3: no such day */
        "C3,Chloe,Clarke,2016-05-05,F,9434765918,,,,\n"            /* row 4: NHS check digit */
        "C4,Dev,Davies,2014-07-07,M,,%s,,,\n"                      /* row 5: UPN check letter */
        "C5,Ella,Evans,2013-01-01,X,,,,ABC,\n",                    /* row 6: two codes out of range */
        good_upn, bad_upn);
    write_file(w, "bad", "children.csv", children);
    free(children);
    write_file(w, "bad", "requests.csv",
               "case_ref,child_ref,received_at,channel,requested_by,closed_reason,closed_on\n"
               "R1,C1,2026-01-05T10:00,email,parent,,\n"   /* row 2: good */
               "R2,C9,2026-01-05T10:00,email,parent,,\n"   /* row 3: unknown child */
               "R3,C1,2026-01-05T10:00,fax,parent,,\n"     /* row 4: channel not in the workflow */
               "R4,C1,2026-01-05T25:00,email,parent,,\n"); /* row 5: no such time */
    write_file(w, "bad", "decisions.csv",
               "case_ref,decision,outcome,notified_on,refusal_final_on\n"
               "R1,assess,yes,2025-12-20,\n"   /* row 2: decided before the request */
               "R7,assess,yes,2026-02-01,\n"); /* row 3: unknown case */
    write_file(
        w, "bad", "advice.csv",
        "case_ref,request_key,adviser,requested_on,received_by_adviser_on,outcome,returned_on,nil_reason\n"
        "R1,ep,educational_psychologist,2026-02-10,2026-02-11,returned,2026-02-01,\n"); /* back before asked
                                                                                         */
    write_file(
        w, "bad", "plans.csv",
        "plan_ref,child_ref,case_ref,draft_served_on,issued_on,handed_to_review_on,made_after,under_five,"
        "phase_transfer,transfer_identified_on,transfer_on,cease_consultation_on,cease_decision_on,"
        "cease_ground,ceased_on,cease_reason\n"
        "P1,C1,R1,2026-05-01,2026-04-20,,,false,,,,,,,,\n" /* row 2: final plan before its draft */
        "P2,C1,,,2024-01-10,,,false,,,,,,,2025-01-01,12\n" /* row 3: CeaseReason out of range */
        "P3,C1,,,2031-01-10,,,maybe,,,,,,,,\n");           /* row 4: a date to come, not a bool */
    write_file(
        w, "bad", "reviews.csv",
        "plan_ref,arranged_on,meeting_on,invitations_sent_on,advice_circulated_on,held_on,report_sent_on,"
        "decision,decision_on,under_five,amendment_proposed_on,amended_plan_issued_on,names_next_setting,"
        "colour\n"); /* an unknown column */
    write_file(w, "bad", "placements.csv", "plan_ref,rank\nP1,1,extra\n\"unterminated\n");

    char args[512], *out;
    snprintf(args, sizeof args, "import '%s/bad' --authority 353 --source capita-one --today " TODAY, w->dir);
    assert_int_equal(run(w, "ehcd", args, &out), 1);
    static const char *const expected[] = {
        "children.csv,3,date_of_birth: '2019-02-30' is not a real date",
        "children.csv,4,nhs_number: not an NHS number",
        "children.csv,5,upn: not a UPN",
        "children.csv,6,sex: 'X' is not one of the codes F, M, U",
        "children.csv,6,primary_need: 'ABC' is not one of the codes",
        "requests.csv,3,child_ref: no child with the reference 'C9'",
        "requests.csv,4,channel: 'fax' is not one of hand, email, first_class_post, signed_for",
        "requests.csv,5,received_at: '2026-01-05T25:00' is not a real date and time",
        "decisions.csv,2,notified_on: the decision was notified on 2025-12-20, before the request was "
        "received",
        "decisions.csv,3,case_ref: no case in requests.csv with the reference 'R7'",
        "advice.csv,2,returned_on: returned_on 2026-02-01 is before requested_on 2026-02-10",
        "plans.csv,2,issued_on: issued_on 2026-04-20 is before draft_served_on 2026-05-01",
        "plans.csv,3,cease_reason: '12' is not a whole number from 1 to 9",
        "plans.csv,4,issued_on: 2031-01-10 is in the future",
        "plans.csv,4,under_five: 'maybe' is not true or false",
        "reviews.csv,1,colour: unknown column",
        "placements.csv,3,field 1: line 3: quoted field never closed",
    };
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
        expect_line(out, expected[i]);
    expect_line(out, "problem(s): nothing was written");
    free(out);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM cases WHERE authority_id = "
                                            "(SELECT id FROM local_authorities WHERE dfe_code = '353')"),
                     0);

    /* a history the machine refuses, found only by replaying it: the draft before the decision to issue */
    write_file(w, "seq", "children.csv",
               "child_ref,forename,surname,date_of_birth\nC1,Amara,Ahmed,2015-03-01\n");
    write_file(w, "seq", "requests.csv",
               "case_ref,child_ref,received_at,channel,requested_by\nR1,C1,2026-01-05T10:00,email,parent\n");
    write_file(w, "seq", "decisions.csv",
               "case_ref,decision,outcome,notified_on\nR1,assess,yes,2026-02-02\nR1,issue,yes,2026-05-04\n");
    write_file(w, "seq", "plans.csv",
               "plan_ref,child_ref,case_ref,draft_served_on,issued_on,under_five\n"
               "P1,C1,R1,2026-04-27,2026-05-20,false\n");
    snprintf(args, sizeof args, "import '%s/seq' --authority 353 --source capita-one --today " TODAY, w->dir);
    assert_int_equal(run(w, "ehcd", args, &out), 1);
    expect_line(out, "plans.csv,2,draft_served_on: ");
    expect_line(out, "decision_to_issue");
    expect_line(out, "1 problem(s): nothing was written");
    free(out);
    assert_int_equal(ehc_test_scalar(w->db, "SELECT count(*) FROM cases WHERE authority_id = "
                                            "(SELECT id FROM local_authorities WHERE dfe_code = '353')"),
                     0);
}

/* Every statutory date of a child's cases in one authority, in a comparable text. */
static char *dates_of(world *w, const char *dfe_code, const char *child_ref)
{
    PGresult *r = PQexecParams(
        w->db,
        "SELECT string_agg(c.workflow_id || ' ' || c.source_ref || ' ' || c.stage || ' ' || d.deadline_key "
        "|| '/' || "
        "d.instance_key || ' ' || d.due_on || ' ' || d.status, E'\\n' ORDER BY c.workflow_id, c.source_ref, "
        "d.deadline_key, d.instance_key) FROM cases c JOIN local_authorities a ON a.id = c.authority_id "
        "JOIN children ch ON ch.id = c.child_id JOIN deadlines d ON d.case_id = c.id "
        "WHERE a.dfe_code = $1 AND ch.source_ref = $2",
        2, NULL, (const char *const[]){dfe_code, child_ref}, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    char *text = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return text;
}

static void test_export_and_import_elsewhere_gives_the_same_dates(void **state)
{
    world *w = *state;
    char args[512], *out;
    snprintf(args, sizeof args, "--children 300 --seed 5 --today " TODAY " --out '%s/sample'", w->dir);
    assert_int_equal(run(w, "ehc-sample", args, &out), 0);
    free(out);
    snprintf(args, sizeof args, "import '%s/sample' --authority 353 --source capita-one --today " TODAY,
             w->dir);
    assert_int_equal(run(w, "ehcd", args, &out), 0);
    free(out);
    /* a child whose assessment made a plan now under review, with placements */
    long case_id = ehc_test_scalar(
        w->db, "SELECT min(c.id) FROM cases c JOIN cases p ON p.child_id = c.child_id "
               "AND p.workflow_id = 'annual-review' JOIN placements pl ON pl.case_id = c.id "
               "JOIN case_events e ON e.case_id = p.id AND e.type = 'review_decision_notified' "
               "WHERE c.workflow_id = 'ehc-needs-assessment' AND c.stage = 'review_cycle'");
    assert_true(case_id > 0);
    PGresult *r = PQexec(
        w->db, "SELECT ch.source_ref FROM cases c JOIN children ch ON ch.id = c.child_id WHERE c.id = "
               "(SELECT min(c.id) FROM cases c JOIN cases p ON p.child_id = c.child_id AND p.workflow_id "
               "= 'annual-review' JOIN placements pl ON pl.case_id = c.id JOIN case_events e ON "
               "e.case_id = p.id AND e.type = 'review_decision_notified' WHERE c.workflow_id = "
               "'ehc-needs-assessment' AND c.stage = 'review_cycle')");
    char child_ref[80];
    snprintf(child_ref, sizeof child_ref, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);

    /* with a document on the case: it goes with the export, whole */
    ehc_test_add_user(w->db, "officer1", false, NULL);
    ehc_test_exec(
        w->db,
        "SELECT ehc_document_insert((SELECT id FROM local_authorities WHERE dfe_code = '353'), %ld, NULL, "
        "'final_plan', 'Final plan.pdf', 'application/pdf', convert_to('%%PDF-1.4 the plan', 'UTF8'), "
        "(SELECT id FROM users WHERE username = 'officer1'), 'officer', NULL, NULL)",
        case_id);
    long document = ehc_test_scalar(w->db, "SELECT max(id) FROM case_documents");

    snprintf(args, sizeof args, "export --authority 353 --case %ld --out '%s/moved'", case_id, w->dir);
    assert_int_equal(run(w, "ehcd", args, &out), 0);
    free(out);
    char path[600], content[64] = "";
    snprintf(path, sizeof path, "%s/moved/documents/%ld-Final plan.pdf", w->dir, document);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t got = fread(content, 1, sizeof content - 1, f);
    fclose(f);
    content[got] = '\0';
    assert_string_equal(content, "%PDF-1.4 the plan");
    snprintf(path, sizeof path, "%s/moved/documents.csv", w->dir);
    f = fopen(path, "r");
    assert_non_null(f);
    char manifest[2048] = "";
    got = fread(manifest, 1, sizeof manifest - 1, f);
    fclose(f);
    manifest[got] = '\0';
    char expected_row[300];
    snprintf(expected_row, sizeof expected_row,
             "%ld-Final plan.pdf,final_plan,,Final plan.pdf,application/pdf,17,", document);
    expect_line(manifest,
                "case_ref,document,kind,request_key,file_name,media_type,size_bytes,sha256,uploaded_on\n");
    expect_line(manifest, expected_row);
    /* the export is in the access log */
    assert_int_equal(
        ehc_test_scalar(w->db, "SELECT count(*) FROM access_log WHERE action = 'export' AND case_id = %ld",
                        case_id),
        1);
    snprintf(args, sizeof args, "import '%s/moved' --authority 357 --source ehcd-353 --today " TODAY, w->dir);
    assert_int_equal(run(w, "ehcd", args, &out), 0);
    expect_line(out, "created 2 case(s)");
    free(out);

    char *here = dates_of(w, "353", child_ref), *there = dates_of(w, "357", child_ref);
    assert_true(strlen(here) > 100);
    assert_string_equal(there, here);
    free(here);
    free(there);
    /* the same rows, to the byte: the same source hash; the same placements */
    assert_int_equal(
        ehc_test_scalar(w->db,
                        "SELECT count(DISTINCT c.source_sha256) FROM cases c JOIN children ch ON "
                        "ch.id = c.child_id WHERE ch.source_ref = '%s'",
                        child_ref),
        2);
    assert_int_equal(
        ehc_test_scalar(w->db,
                        "SELECT count(*) FROM (SELECT DISTINCT c.source_ref, c.source_sha256 FROM "
                        "cases c JOIN children ch ON ch.id = c.child_id WHERE ch.source_ref = '%s') x",
                        child_ref),
        2);
    assert_int_equal(
        ehc_test_scalar(w->db,
                        "SELECT count(*) FROM placements p JOIN cases c ON c.id = p.case_id JOIN "
                        "children ch ON ch.id = c.child_id JOIN local_authorities a ON a.id = "
                        "c.authority_id WHERE a.dfe_code = '357' AND ch.source_ref = '%s'",
                        child_ref),
        ehc_test_scalar(w->db,
                        "SELECT count(*) FROM placements p JOIN cases c ON c.id = p.case_id JOIN "
                        "children ch ON ch.id = c.child_id JOIN local_authorities a ON a.id = "
                        "c.authority_id WHERE a.dfe_code = '353' AND ch.source_ref = '%s'",
                        child_ref));
    assert_int_equal(run(w, "ehcd", "verify", &out), 0);
    free(out);

    /* a case from another authority is not found */
    snprintf(args, sizeof args, "export --authority 358 --case %ld --out '%s/nowhere'", case_id, w->dir);
    assert_int_equal(run(w, "ehcd", args, &out), 1);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sample_imports_once_and_replays_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_mistake_is_listed_and_nothing_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_and_import_elsewhere_gives_the_same_dates, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
