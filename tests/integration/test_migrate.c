/* Migrations against a real PostgreSQL: applied in order each once, idempotent on re-run, and an
 * already-applied migration that was edited, or a database ahead of the binary, is refused. */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/migrate.h"
#include "testlib.h"

static PGconn *fresh_db(void)
{
    char *url = ehc_test_create_database("ehc_migrate");
    PGconn *c = PQconnectdb(url);
    free(url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    return c;
}

static int scalar_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int v = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static void test_fresh_database_gets_every_migration_once(void **state)
{
    PGconn *c = fresh_db();
    int applied = -1;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(c, &applied, err, sizeof err), 0);
    assert_true(ehc_migrations_count >= 1);
    assert_int_equal(applied, ehc_migrations_count);
    assert_int_equal(scalar_int(c, ehc_migrate_version_sql), ehc_migrate_latest_version());
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM ehc_schema_migrations"), ehc_migrations_count);
    /* tables of the first migration exist */
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM users"), 0);

    assert_int_equal(ehc_migrate_apply(c, &applied, err, sizeof err), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM ehc_schema_migrations"), ehc_migrations_count);
    PQfinish(c);
}

static void test_edited_applied_migration_is_refused(void **state)
{
    PGconn *c = fresh_db();
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(c, &applied, err, sizeof err), 0);
    exec_ok(c, "UPDATE ehc_schema_migrations SET checksum = repeat('0', 64) WHERE version = 1");
    assert_int_equal(ehc_migrate_apply(c, &applied, err, sizeof err), EHC_ECONFLICT);
    assert_non_null(strstr(err, "was changed after it was applied"));
    PQfinish(c);
}

static void test_database_ahead_of_binary_is_refused(void **state)
{
    PGconn *c = fresh_db();
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(c, &applied, err, sizeof err), 0);
    exec_ok(c, "INSERT INTO ehc_schema_migrations (version, name, checksum) VALUES (9999, 'future', "
               "repeat('a', 64))");
    assert_int_equal(ehc_migrate_apply(c, &applied, err, sizeof err), EHC_ECONFLICT);
    assert_non_null(strstr(err, "run a newer ehcd"));
    PQfinish(c);
}

static void test_failing_migration_leaves_nothing_behind(void **state)
{
    /* A database where the first migration's table already exists with another shape: the
     * migration fails, and neither its other tables nor its record are left. */
    PGconn *c = fresh_db();
    exec_ok(c, "CREATE TABLE users (id int)");
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(c, &applied, err, sizeof err), EHC_EINVAL);
    assert_non_null(strstr(err, "migration 0001_foundation"));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM ehc_schema_migrations"), 0);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'local_authorities'"),
                     0);
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_database_gets_every_migration_once),
        cmocka_unit_test(test_edited_applied_migration_is_refused),
        cmocka_unit_test(test_database_ahead_of_binary_is_refused),
        cmocka_unit_test(test_failing_migration_leaves_nothing_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
