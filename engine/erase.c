/* Erasure of a child's personal data after retention, in one transaction as ehc_eraser: check the
 * case exists, every case about the child is closed, the retention date has passed and an approval
 * is recorded; then clear the identifying columns, keep the year of birth, and log the erasure. */
#include "ehc/erase.h"

#include <stdlib.h>
#include <string.h>

static int fail_io(PGconn *conn, PGresult *r, FILE *out, const char *what)
{
    fprintf(out, "%s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
    PQclear(r);
    PQclear(PQexec(conn, "ROLLBACK"));
    PQclear(PQexec(conn, "RESET ROLE"));
    return EHC_EIO;
}

static int refuse(PGconn *conn, PGresult *r, FILE *out, int status, const char *why)
{
    fprintf(out, "%s\n", why);
    PQclear(r);
    PQclear(PQexec(conn, "ROLLBACK"));
    PQclear(PQexec(conn, "RESET ROLE"));
    return status;
}

static int ok(PGconn *conn, const char *sql, int n, const char *const *params, PGresult **res)
{
    *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(*res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

int ehc_erase_case_child(PGconn *conn, long long case_id, ehc_date today, FILE *out)
{
    PGresult *r;
    if (!ok(conn, "SET ROLE ehc_eraser", 0, NULL, &r)) return fail_io(conn, r, out, "acting as ehc_eraser");
    PQclear(r);
    if (!ok(conn, "BEGIN", 0, NULL, &r)) return fail_io(conn, r, out, "begin");
    PQclear(r);
    if (!ok(conn,
            "SELECT set_config('ehc.authority_ids', coalesce((SELECT string_agg(id::text, ',') FROM "
            "local_authorities), ''), true)",
            0, NULL, &r))
        return fail_io(conn, r, out, "binding the authorities");
    PQclear(r);

    char id[24], today_iso[EHC_DATE_ISO_SIZE];
    snprintf(id, sizeof id, "%lld", case_id);
    ehc_date_format_iso(today, today_iso);
    const char *p1[1] = {id};
    if (!ok(conn,
            "SELECT c.child_id, c.authority_id, ehc_retention_until(c.child_id), ch.erased_at IS NOT NULL, "
            "EXISTS (SELECT 1 FROM erasure_approvals a WHERE a.child_id = c.child_id) "
            "FROM cases c JOIN children ch ON ch.id = c.child_id WHERE c.id = $1::bigint FOR UPDATE OF ch",
            1, p1, &r))
        return fail_io(conn, r, out, "reading the case");
    if (PQntuples(r) != 1) return refuse(conn, r, out, EHC_ENOENT, "no such case");
    char child[24], authority[24], until[16];
    snprintf(child, sizeof child, "%s", PQgetvalue(r, 0, 0));
    snprintf(authority, sizeof authority, "%s", PQgetvalue(r, 0, 1));
    snprintf(until, sizeof until, "%s", PQgetvalue(r, 0, 2));
    int erased = *PQgetvalue(r, 0, 3) == 't';
    int approved = *PQgetvalue(r, 0, 4) == 't';
    int until_null = PQgetisnull(r, 0, 2);
    PQclear(r);
    if (erased) {
        fprintf(out, "the child's personal data was already erased\n");
        PQclear(PQexec(conn, "ROLLBACK"));
        PQclear(PQexec(conn, "RESET ROLE"));
        return 0;
    }
    char why[256];
    if (until_null)
        return refuse(conn, NULL, out, EHC_ESTATE, "refused: a case about this child is still open");
    if (strcmp(until, today_iso) > 0) {
        snprintf(why, sizeof why, "refused: the records are kept until %s (retention policy)", until);
        return refuse(conn, NULL, out, EHC_ESTATE, why);
    }
    if (!approved)
        return refuse(conn, NULL, out, EHC_ESTATE, "refused: no erasure approval is recorded for this child");

    const char *p2[1] = {child};
    if (!ok(conn,
            "UPDATE children SET birth_year = extract(year FROM date_of_birth)::smallint, forename = NULL, "
            "surname = NULL, preferred_name = NULL, date_of_birth = NULL, nhs_number = NULL, upn = NULL, uln "
            "= NULL, "
            "address = NULL, postcode = NULL, first_language = NULL, setting_urn = NULL, setting_ukprn = "
            "NULL, "
            "erased_at = now() WHERE id = $1::bigint",
            1, p2, &r))
        return fail_io(conn, r, out, "erasing the child");
    PQclear(r);
    if (!ok(conn,
            "UPDATE family_contacts SET name = NULL, phone = NULL, email = NULL, address = NULL, postcode = "
            "NULL, "
            "language = NULL, erased_at = now() WHERE child_id = $1::bigint",
            1, p2, &r))
        return fail_io(conn, r, out, "erasing the family contacts");
    PQclear(r);
    /* the letters name the child and the family: they go (their sending stays in the case's log) */
    if (!ok(conn, "DELETE FROM letters WHERE case_id IN (SELECT id FROM cases WHERE child_id = $1::bigint)",
            1, p2, &r))
        return fail_io(conn, r, out, "erasing the letters");
    PQclear(r);
    /* the documents' bytes and names go; the record that each existed (kind, hash, dates) stays */
    if (!ok(conn,
            "DELETE FROM case_document_contents WHERE document_id IN (SELECT d.id FROM case_documents d "
            "JOIN cases c ON c.id = d.case_id WHERE c.child_id = $1::bigint)",
            1, p2, &r))
        return fail_io(conn, r, out, "erasing the documents");
    PQclear(r);
    if (!ok(conn,
            "UPDATE case_documents SET file_name = 'erased' WHERE case_id IN (SELECT id FROM cases WHERE "
            "child_id = $1::bigint)",
            1, p2, &r))
        return fail_io(conn, r, out, "erasing the documents' names");
    PQclear(r);
    const char *p3[2] = {authority, id};
    if (!ok(conn,
            "INSERT INTO access_log (authority_id, case_id, action, resource) "
            "VALUES ($1::bigint, $2::bigint, 'erase', 'child and family personal data')",
            2, p3, &r))
        return fail_io(conn, r, out, "logging the erasure");
    PQclear(r);
    if (!ok(conn, "COMMIT", 0, NULL, &r)) return fail_io(conn, r, out, "commit");
    PQclear(r);
    PQclear(PQexec(conn, "RESET ROLE"));
    fprintf(out, "erased the personal data of the child of case %lld and their family contacts\n", case_id);
    return 0;
}
