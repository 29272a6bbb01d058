/* The schema guards the data itself, whatever the application does: row-level security keeps each
 * authority's cases and children to itself, the event log is append-only for the application role
 * (and refuses changes even from the owner), and identifiers carry their check digits. Tested at
 * the SQL level, as the application role, against the real PostgreSQL. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/migrate.h"
#include "testlib.h"

static PGconn *conn;
static char a_id[16], b_id[16];

static PGresult *q(const char *sql)
{
    return PQexec(conn, sql);
}

static void ok(const char *sql)
{
    PGresult *r = q(sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s\n-> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    PQclear(r);
}

/* Runs sql expecting an error with the given SQLSTATE. */
static void refused(const char *sql, const char *sqlstate)
{
    PGresult *r = q(sql);
    const char *got = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (PQresultStatus(r) != PGRES_FATAL_ERROR || !got || strcmp(got, sqlstate) != 0) {
        fprintf(stderr, "%s\n-> expected SQLSTATE %s, got %s (%s)", sql, sqlstate, got ? got : "none",
                PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    PQclear(r);
}

static long scalar(const char *sql)
{
    PGresult *r = q(sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s\n-> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    long v = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void as_app(const char *authority_ids)
{
    char sql[256];
    ok("RESET ROLE");
    ok("SET ROLE ehc_app");
    snprintf(sql, sizeof sql, "SELECT set_config('ehc.authority_ids', '%s', false)", authority_ids);
    ok(sql);
}

static int setup(void **state)
{
    char *url = ehc_test_create_database("ehc_schema");
    conn = PQconnectdb(url);
    free(url);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(conn, &applied, err, sizeof err), 0);
    ok("SET client_min_messages = warning");
    snprintf(a_id, sizeof a_id, "%ld",
             scalar("INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham') RETURNING id"));
    snprintf(
        b_id, sizeof b_id, "%ld",
        scalar("INSERT INTO local_authorities (dfe_code, name) VALUES ('357', 'Tameside') RETURNING id"));
    /* one child and one case in each authority, written as the application would */
    char sql[1024];
    const char *ids[2] = {a_id, b_id};
    for (int i = 0; i < 2; i++) {
        as_app(ids[i]);
        snprintf(sql, sizeof sql,
                 "WITH c AS (INSERT INTO children (authority_id, forename, surname, date_of_birth) "
                 "VALUES (%s, 'Test', 'Child%d', '2018-03-01') RETURNING id) "
                 "INSERT INTO cases (authority_id, reference, child_id, workflow_id, workflow_sha256, "
                 "calendar_sha256, stage, opened_on) SELECT %s, 'EHC-%d', id, 'ehc-needs-assessment', "
                 "repeat('a', 64), repeat('b', 64), 'request', '2026-01-05' FROM c",
                 ids[i], i, ids[i], i);
        ok(sql);
        snprintf(sql, sizeof sql,
                 "INSERT INTO case_events (authority_id, case_id, seq, type, actor_role, effective_on, "
                 "workflow_sha256) "
                 "SELECT %s, id, 1, 'request_received', 'officer', '2026-01-05', repeat('a', 64) FROM cases",
                 ids[i]);
        ok(sql);
    }
    ok("RESET ROLE");
    return 0;
}

static int teardown(void **state)
{
    PQfinish(conn);
    return 0;
}

static void test_authority_sees_only_its_own_cases_and_children(void **state)
{
    as_app(a_id);
    assert_int_equal(scalar("SELECT count(*) FROM cases"), 1);
    assert_int_equal(scalar("SELECT count(*) FROM children"), 1);
    assert_int_equal(scalar("SELECT count(*) FROM case_events"), 1);
    assert_int_equal(scalar("SELECT count(*) FROM children WHERE surname = 'Child1'"), 0);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM cases WHERE authority_id = %s", b_id);
    assert_int_equal(scalar(sql), 0);
    /* a session bound to no authority sees nothing at all */
    as_app("");
    assert_int_equal(scalar("SELECT count(*) FROM cases"), 0);
    assert_int_equal(scalar("SELECT count(*) FROM children"), 0);
    /* a session bound to both (a DCO serving two authorities) sees both */
    char both[40];
    snprintf(both, sizeof both, "%s,%s", a_id, b_id);
    as_app(both);
    assert_int_equal(scalar("SELECT count(*) FROM cases"), 2);
    ok("RESET ROLE");
}

static void test_authority_cannot_write_into_another(void **state)
{
    as_app(a_id);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO children (authority_id, forename, surname, date_of_birth) VALUES (%s, 'X', 'Y', "
             "'2019-01-01')",
             b_id);
    refused(sql, "42501"); /* new row violates row-level security policy */
    /* updating B's case is silently impossible: the row is not visible */
    snprintf(sql, sizeof sql, "UPDATE cases SET stage = 'hijacked' WHERE authority_id = %s", b_id);
    ok(sql);
    ok("RESET ROLE");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM cases WHERE stage = 'hijacked'");
    assert_int_equal(scalar(sql), 0);
}

static void test_event_log_refuses_update_and_delete_for_the_application(void **state)
{
    as_app(a_id);
    refused("UPDATE case_events SET type = 'withdrawn'", "42501");
    refused("DELETE FROM case_events", "42501");
    refused("TRUNCATE case_events", "42501");
    refused("DELETE FROM cases", "42501");
    refused("DELETE FROM children", "42501");
    refused("UPDATE access_log SET action = 'read'", "42501");
    refused("CREATE TABLE sneaky (id int)", "42501");
    ok("RESET ROLE");
}

static void test_event_log_refuses_changes_even_from_the_owner(void **state)
{
    ok("RESET ROLE");
    refused("UPDATE case_events SET type = 'withdrawn'", "42501");
    refused("DELETE FROM case_events", "42501");
    refused("TRUNCATE case_events", "42501");
    assert_int_equal(scalar("SELECT count(*) FROM case_events"), 2);
}

static void test_event_sequence_is_unique_per_case(void **state)
{
    as_app(a_id);
    refused("INSERT INTO case_events (authority_id, case_id, seq, type, actor_role, effective_on, "
            "workflow_sha256) "
            "SELECT authority_id, case_id, 1, 'withdrawn', 'officer', '2026-01-06', repeat('a', 64) FROM "
            "case_events",
            "23505");
    ok("RESET ROLE");
}

static void test_application_role_cannot_bypass_row_security(void **state)
{
    ok("RESET ROLE");
    assert_int_equal(scalar("SELECT count(*) FROM pg_roles WHERE rolname = 'ehc_app' AND NOT rolbypassrls "
                            "AND NOT rolsuper"),
                     1);
    assert_int_equal(
        scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = 'ehc_app'"), 0);
    /* every table with an authority_id column has forced row-level security, except the public
       reference list of which NHS and social-care services serve which authority */
    assert_int_equal(
        scalar("SELECT count(*) FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
               "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace "
               "AND a.attname = 'authority_id' AND NOT (c.relrowsecurity AND c.relforcerowsecurity) "
               "AND c.relname <> 'organisation_authorities'"),
        0);
    as_app(a_id);
    refused("SET row_security = off; SELECT count(*) FROM cases", "42501");
    ok("RESET ROLE");
}

static void test_nhs_number_needs_its_modulus_11_check_digit(void **state)
{
    ok("RESET ROLE");
    assert_int_equal(scalar("SELECT ehc_nhs_number_valid('9434765919')::int"), 1);
    assert_int_equal(scalar("SELECT ehc_nhs_number_valid('9434765918')::int"), 0);
    assert_int_equal(scalar("SELECT ehc_nhs_number_valid('943476591')::int"), 0);
    assert_int_equal(scalar("SELECT ehc_nhs_number_valid('94347659190')::int"), 0);
    assert_int_equal(scalar("SELECT ehc_nhs_number_valid('943 476 5919')::int"), 0);
    /* weighted sum 0 mod 11 gives check digit 0: 1 * 10 + 6 * 2 = 22 */
    assert_int_equal(scalar("SELECT ehc_nhs_number_valid('1000000060')::int"), 1);
    /* weighted sum 1 mod 11 gives 10, which no NHS number may have: 1 * 10 + 1 * 2 = 12 */
    for (int d = 0; d <= 9; d++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT ehc_nhs_number_valid('100000001%d')::int", d);
        assert_int_equal(scalar(sql), 0);
    }
    as_app(a_id);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO children (authority_id, forename, surname, date_of_birth, nhs_number) "
             "VALUES (%s, 'A', 'B', '2019-01-01', '9434765918')",
             a_id);
    refused(sql, "23514");
    ok("RESET ROLE");
}

static void test_upn_needs_its_check_letter(void **state)
{
    ok("RESET ROLE");
    /* check letters worked by hand with DfE's algorithm (weights 2..13, mod 23) */
    assert_int_equal(scalar("SELECT ehc_upn_valid('E353200126001')::int"), 1);
    assert_int_equal(scalar("SELECT ehc_upn_valid('F353200126001')::int"), 0);
    assert_int_equal(scalar("SELECT ehc_upn_valid('Q35320012600A')::int"), 1); /* temporary UPN */
    assert_int_equal(scalar("SELECT ehc_upn_valid('E35320012600')::int"), 0);
    assert_int_equal(scalar("SELECT ehc_upn_valid('I353200126001')::int"), 0);
}

/* A case's identity (reference, pinned definitions, import source) is checked whenever a statement
 * writes it, by a trigger rather than CHECKs (sql/0048: every event's UPDATE of cases no longer pays
 * for them); it refuses as a CHECK would, with its SQLSTATE, and lets the per-event update through. */
static void test_a_cases_identity_is_checked_whenever_it_is_written(void **state)
{
    as_app(a_id);
    static const char *const bad[] = {
        "UPDATE cases SET reference = 'ehc lower' WHERE reference = 'EHC-0'",
        "UPDATE cases SET workflow_sha256 = 'not-a-hash' WHERE reference = 'EHC-0'",
        "UPDATE cases SET calendar_sha256 = repeat('A', 64) WHERE reference = 'EHC-0'",
        "UPDATE cases SET workflow_id = 'Bad Id' WHERE reference = 'EHC-0'",
        "UPDATE cases SET source_ref = 'legacy/1' WHERE reference = 'EHC-0'", /* not marked migrated */
        "UPDATE cases SET open_idempotency_key = '' WHERE reference = 'EHC-0'",
        "INSERT INTO cases (authority_id, reference, child_id, workflow_id, workflow_sha256, "
        "calendar_sha256, "
        "stage, opened_on) SELECT authority_id, 'EHC-9', child_id, workflow_id, 'x', calendar_sha256, stage, "
        "opened_on FROM cases WHERE reference = 'EHC-0'",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(bad[i], "23514");
    /* the columns every event sets pass by; the rules on them are still CHECKs */
    ok("UPDATE cases SET version = version + 1, stage = stage WHERE reference = 'EHC-0'");
    refused("UPDATE cases SET version = -1 WHERE reference = 'EHC-0'", "23514");
    ok("UPDATE cases SET version = version - 1 WHERE reference = 'EHC-0'");
    ok("RESET ROLE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authority_sees_only_its_own_cases_and_children),
        cmocka_unit_test(test_authority_cannot_write_into_another),
        cmocka_unit_test(test_event_log_refuses_update_and_delete_for_the_application),
        cmocka_unit_test(test_event_log_refuses_changes_even_from_the_owner),
        cmocka_unit_test(test_event_sequence_is_unique_per_case),
        cmocka_unit_test(test_application_role_cannot_bypass_row_security),
        cmocka_unit_test(test_nhs_number_needs_its_modulus_11_check_digit),
        cmocka_unit_test(test_upn_needs_its_check_letter),
        cmocka_unit_test(test_a_cases_identity_is_checked_whenever_it_is_written),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
