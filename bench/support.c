#include "support.h"

#include <stdio.h>
#include <stdlib.h>

#include "ehc/clock.h"
#include "ehc/migrate.h"

static PGconn *admin;
static const char *program_name = "ehc_bench";

PGconn *bench_connect(const char *program, const char *conninfo)
{
    program_name = program;
    admin = PQconnectdb(conninfo);
    if (PQstatus(admin) != CONNECTION_OK) bench_die("connect", PQerrorMessage(admin));
    int applied;
    char err[1024];
    if (ehc_migrate_apply(admin, &applied, err, sizeof err)) bench_die("migrate", err);
    return admin;
}

void bench_die(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s: %s\n", program_name, what, detail ? detail : "");
    exit(1);
}

long bench_scalar(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die(sql, PQresultErrorMessage(r));
    long v = PQntuples(r) > 0 ? atol(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return v;
}

int64_t bench_real_us(void)
{
    ehc_clock c = ehc_clock_real();
    return ehc_clock_now(&c).us;
}

long bench_cases(const ehc_definitions *defs, long *cases, int n)
{
    long authority = bench_scalar("SELECT coalesce(max(id), 0) FROM local_authorities");
    char sql[1024];
    if (authority == 0) {
        authority = bench_scalar(
            "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham') RETURNING id");
        snprintf(sql, sizeof sql,
                 "INSERT INTO children (authority_id, forename, surname, date_of_birth) "
                 "VALUES (%ld, 'A', 'Child', '2018-03-01') RETURNING id",
                 authority);
        long child = bench_scalar(sql);
        snprintf(sql, sizeof sql, "INSERT INTO teams (authority_id, name) VALUES (%ld, 'North') RETURNING id",
                 authority);
        long team = bench_scalar(sql);
        long officer =
            bench_scalar("INSERT INTO users (username, display_name) VALUES ('officer1', 'O') RETURNING id");
        snprintf(sql, sizeof sql,
                 "INSERT INTO role_grants (user_id, role, authority_id, team_id) "
                 "VALUES (%ld, 'officer', %ld, %ld)",
                 officer, authority, team);
        bench_scalar(sql);
        const ehc_workflow *wf;
        if (ehc_definitions_find(defs, "store-test", &wf)) bench_die("definitions", "no store-test workflow");
        for (int i = 0; i < n; i++) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO cases (authority_id, reference, child_id, workflow_id, workflow_sha256, "
                     "calendar_sha256, stage, team_id, officer_id, opened_on) VALUES (%ld, 'BENCH-%d', %ld, "
                     "'store-test', '%s', '%s', 'request', %ld, %ld, '2026-01-05') RETURNING id",
                     authority, i, child, ehc_workflow_content_hash(wf),
                     ehc_definitions_calendar_hash(defs, wf), team, officer);
            bench_scalar(sql);
        }
    }
    snprintf(sql, sizeof sql, "SELECT id FROM cases WHERE authority_id = %ld ORDER BY id LIMIT %d", authority,
             n);
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != n)
        bench_die("cases", PQresultErrorMessage(r));
    for (int i = 0; i < n; i++)
        cases[i] = atol(PQgetvalue(r, i, 0));
    PQclear(r);
    return authority;
}
