/* Applies the embedded sql/ migrations in order under an advisory lock, so that several ehcd
 * nodes starting at once apply each migration exactly once. Each migration and its record in
 * schema_migrations commit together. */
#include "ehc/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_lock key: "ehcd" in ASCII, an arbitrary constant shared by every node. */
#define EHC_MIGRATE_LOCK_KEY "1701336932"

const char ehc_migrate_version_sql[] = "SELECT coalesce(max(version), 0)::int FROM ehc_schema_migrations";

int ehc_migrate_latest_version(void)
{
    int latest = 0;
    for (int i = 0; i < ehc_migrations_count; i++)
        if (ehc_migrations[i].version > latest) latest = ehc_migrations[i].version;
    return latest;
}

static int exec_ok(PGconn *conn, const char *sql, char *errbuf, size_t errlen, const char *what)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) snprintf(errbuf, errlen, "%s: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : EHC_EINVAL;
}

/* Looks up one applied migration: 1 and its checksum when applied, 0 when not. */
static int applied_checksum(PGconn *conn, int version, char checksum[65], char *errbuf, size_t errlen)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *params[1] = {v};
    PGresult *r = PQexecParams(conn, "SELECT checksum FROM ehc_schema_migrations WHERE version = $1::int", 1,
                               NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(errbuf, errlen, "reading ehc_schema_migrations: %s", PQresultErrorMessage(r));
        PQclear(r);
        return EHC_EINVAL;
    }
    int found = PQntuples(r) == 1;
    if (found) snprintf(checksum, 65, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return found;
}

static int apply_one(PGconn *conn, const ehc_migration *m, const char *checksum, char *errbuf, size_t errlen)
{
    char what[160];
    snprintf(what, sizeof what, "migration %04d_%s", m->version, m->name);
    if (exec_ok(conn, "BEGIN", errbuf, errlen, what)) return EHC_EINVAL;
    if (exec_ok(conn, m->sql, errbuf, errlen, what)) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return EHC_EINVAL;
    }
    char v[16];
    snprintf(v, sizeof v, "%d", m->version);
    const char *params[3] = {v, m->name, checksum};
    PGresult *r = PQexecParams(
        conn, "INSERT INTO ehc_schema_migrations (version, name, checksum) VALUES ($1::int, $2, $3)", 3, NULL,
        params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) snprintf(errbuf, errlen, "%s: recording: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    if (!ok) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return EHC_EINVAL;
    }
    return exec_ok(conn, "COMMIT", errbuf, errlen, what);
}

static int apply_all(PGconn *conn, int *applied, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, ehc_migrate_version_sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(errbuf, errlen, "reading schema version: %s", PQresultErrorMessage(r));
        PQclear(r);
        return EHC_EINVAL;
    }
    int current = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    int latest = ehc_migrate_latest_version();
    if (current > latest) {
        snprintf(errbuf, errlen,
                 "the database is at schema version %d but this ehcd knows only up to %d: "
                 "run a newer ehcd",
                 current, latest);
        return EHC_ECONFLICT;
    }
    for (int i = 0; i < ehc_migrations_count; i++) {
        const ehc_migration *m = &ehc_migrations[i];
        char want[65], have[65];
        ehc_sha256_hex(m->sql, strlen(m->sql), want);
        int found = applied_checksum(conn, m->version, have, errbuf, errlen);
        if (found < 0) return found;
        if (found) {
            if (strcmp(want, have) != 0) {
                snprintf(
                    errbuf, errlen,
                    "migration %04d_%s was changed after it was applied "
                    "(checksum %.12s in the database, %.12s in this ehcd): write a new migration instead",
                    m->version, m->name, have, want);
                return EHC_ECONFLICT;
            }
            continue;
        }
        int rc = apply_one(conn, m, want, errbuf, errlen);
        if (rc) return rc;
        (*applied)++;
    }
    return 0;
}

int ehc_migrate_apply(PGconn *conn, int *applied, char *errbuf, size_t errlen)
{
    *applied = 0;
    errbuf[0] = '\0';
    if (exec_ok(conn, "SET client_min_messages = warning", errbuf, errlen, "session setup"))
        return EHC_EINVAL;
    if (exec_ok(conn, "SELECT pg_advisory_lock(" EHC_MIGRATE_LOCK_KEY ")", errbuf, errlen, "migration lock"))
        return EHC_EINVAL;
    int rc = exec_ok(conn,
                     "CREATE TABLE IF NOT EXISTS ehc_schema_migrations ("
                     " version int PRIMARY KEY CHECK (version > 0),"
                     " name text NOT NULL,"
                     " checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                     errbuf, errlen, "creating ehc_schema_migrations");
    if (rc == 0) rc = apply_all(conn, applied, errbuf, errlen);
    char ignored[256];
    if (exec_ok(conn, "SELECT pg_advisory_unlock(" EHC_MIGRATE_LOCK_KEY ")", ignored, sizeof ignored,
                "unlock"))
        PQclear(PQexec(conn, "SELECT pg_advisory_unlock_all()"));
    return rc;
}
