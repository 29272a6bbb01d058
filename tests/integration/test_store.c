/* The durable store against a real PostgreSQL, as the application role: a command is committed
 * with its event, projection and deadlines or not at all; concurrent writers to one case get
 * exactly one winner per version and 409 for the rest; a retried command with the same
 * idempotency key is not applied twice; commands that arrive together share a commit; one
 * authority cannot write to another's case; and every write acknowledged before an immediate
 * PostgreSQL restart is still there afterwards. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "ehc/definitions.h"
#include "ehc/migrate.h"
#include "ehc/store.h"
#include "testlib.h"

static char *db_url;
static PGconn *admin; /* superuser: sees through row-level security, to check what was written */
static long auth_a, auth_b, child_a, child_b;
static ehc_definitions *defs;
static uv_loop_t loop;
static ehc_pg_pool *pool;
static ehc_store *store;

/* the store's "today": 1 March 2026, 12:00 UTC */
static ehc_instant fixed_now(void *ctx)
{
    ehc_instant at = {.us = INT64_C(1772366400) * EHC_US_PER_SECOND};
    return at;
}

static long scalar(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    long v = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void text_of(const char *sql, char *out, size_t size)
{
    PGresult *r = PQexec(admin, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

typedef struct outcome {
    int done;
    ehc_store_result r;
} outcome;

static void on_result(void *data, const ehc_store_result *r)
{
    outcome *o = data;
    o->r = *r;
    o->done = 1;
}

static void run_until_done(outcome *o, size_t n)
{
    int64_t t0 = ehc_test_now_ms();
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i < n; i++)
            done += (size_t)o[i].done;
        if (done == n) return;
        assert_true(ehc_test_now_ms() - t0 < 30000);
        uv_run(&loop, UV_RUN_ONCE);
    }
}

static void wait_connected(void)
{
    int64_t t0 = ehc_test_now_ms();
    while (ehc_pg_pool_connected(pool) < 1) {
        assert_true(ehc_test_now_ms() - t0 < 10000);
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static ehc_date d(const char *iso)
{
    ehc_date out;
    assert_int_equal(ehc_date_parse_iso(iso, &out), 0);
    return out;
}

/* Opens a case for child in authority; returns its id. */
static long open_case(long authority, long child, const char *idem, outcome *o)
{
    ehc_store_open_cmd cmd = {
        .authority_id = authority,
        .child_id = child,
        .workflow_id = "store-test",
        .event = {.type = "request_received",
                  .actor_role = "officer",
                  .effective_on = d("2026-01-05"),
                  .fields_json = "{\"source\": \"parent\"}",
                  .idempotency_key = idem},
    };
    memset(o, 0, sizeof *o);
    wait_connected(); /* after the restart test, the pool may still be reconnecting */
    assert_int_equal(ehc_store_open_case(store, &cmd, on_result, o), 0);
    run_until_done(o, 1);
    return (long)o->r.case_id;
}

static void record(long authority, long case_id, int expected, const char *type, const char *on,
                   const char *fields, const char *idem, outcome *o)
{
    ehc_store_record_cmd cmd = {
        .authority_id = authority,
        .case_id = case_id,
        .expected_version = expected,
        .event = {.type = type,
                  .actor_role = "officer",
                  .effective_on = d(on),
                  .fields_json = fields,
                  .idempotency_key = idem},
    };
    memset(o, 0, sizeof *o);
    wait_connected();
    assert_int_equal(ehc_store_record_event(store, &cmd, on_result, o), 0);
}

static int setup(void **state)
{
    db_url = ehc_test_create_database("ehc_store");
    admin = PQconnectdb(db_url);
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(admin, &applied, err, sizeof err), 0);
    auth_a = scalar("INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham') RETURNING id");
    auth_b = scalar("INSERT INTO local_authorities (dfe_code, name) VALUES ('357', 'Tameside') RETURNING id");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO children (authority_id, forename, surname, date_of_birth) "
             "VALUES (%ld, 'A', 'Child', '2018-03-01') RETURNING id",
             auth_a);
    child_a = scalar(sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO children (authority_id, forename, surname, date_of_birth) "
             "VALUES (%ld, 'B', 'Child', '2018-03-01') RETURNING id",
             auth_b);
    child_b = scalar(sql);

    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/store", ehc_test_env("EHC_SOURCE_DIR"));
    ehc_load_error lerr;
    assert_int_equal(ehc_definitions_load(dir, &defs, &lerr), 0);

    assert_int_equal(uv_loop_init(&loop), 0);
    ehc_pg_pool_options popts;
    ehc_pg_pool_options_default(&popts);
    popts.conninfo = db_url;
    popts.size = 4;
    popts.session_role = "ehc_app";
    assert_int_equal(ehc_pg_pool_new(&loop, &popts, &pool), 0);
    assert_int_equal(ehc_pg_pool_start(pool), 0);
    ehc_clock clock = {.now = fixed_now};
    ehc_store_options sopts;
    ehc_store_options_default(&sopts);
    sopts.max_inflight = 4;
    assert_int_equal(ehc_store_new(&loop, pool, defs, &clock, &sopts, &store), 0);
    wait_connected();
    return 0;
}

static void on_pool_closed(void *data)
{
    *(int *)data = 1;
}

static int teardown(void **state)
{
    ehc_store_free(store);
    int closed = 0;
    ehc_pg_pool_close(pool, on_pool_closed, &closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
    ehc_definitions_free(defs);
    PQfinish(admin);
    free(db_url);
    return 0;
}

static void test_opening_a_case_writes_event_projection_and_statutory_dates(void **state)
{
    outcome o;
    long id = open_case(auth_a, child_a, NULL, &o);
    assert_int_equal(o.r.status, 0);
    assert_true(id > 0);
    assert_int_equal(o.r.version, 1);
    char sql[512], text[128];
    snprintf(sql, sizeof sql,
             "SELECT stage || ' ' || status || ' ' || version || ' ' || opened_on FROM cases WHERE id = %ld",
             id);
    text_of(sql, text, sizeof text);
    assert_string_equal(text, "request open 1 2026-01-05");
    snprintf(sql, sizeof sql,
             "SELECT type || ' ' || seq || ' ' || effective_on || ' ' || (payload->'fields'->>'source') "
             "FROM case_events WHERE case_id = %ld",
             id);
    text_of(sql, text, sizeof text);
    assert_string_equal(text, "request_received 1 2026-01-05 parent");
    /* Day 0 Monday 5 January 2026: 6 weeks -> 16 February, 20 weeks -> 25 May (a bank holiday; it stands) */
    snprintf(sql, sizeof sql,
             "SELECT due_on || ' ' || kind || ' ' || basis FROM deadlines WHERE case_id = %ld "
             "AND deadline_key = 'decision_due'",
             id);
    text_of(sql, text, sizeof text);
    assert_string_equal(text, "2026-02-16 statutory SEND Regulations 2014, reg 5(1)");
    snprintf(sql, sizeof sql,
             "SELECT due_on::text FROM deadlines WHERE case_id = %ld AND deadline_key = 'final_plan_due'",
             id);
    text_of(sql, text, sizeof text);
    assert_string_equal(text, "2026-05-25");
}

static void test_recording_an_event_settles_its_deadline_and_moves_the_stage(void **state)
{
    outcome o;
    long id = open_case(auth_a, child_a, NULL, &o);
    record(auth_a, id, 1, "decision_to_assess", "2026-02-17", "{\"decision\": \"yes\"}", NULL, &o);
    run_until_done(&o, 1);
    assert_int_equal(o.r.status, 0);
    assert_int_equal(o.r.version, 2);
    char sql[512], text[128];
    snprintf(sql, sizeof sql, "SELECT stage || ' ' || version FROM cases WHERE id = %ld", id);
    text_of(sql, text, sizeof text);
    assert_string_equal(text, "assessment 2");
    snprintf(sql, sizeof sql,
             "SELECT status || ' ' || settled_on || ' ' || settled_by_seq FROM deadlines "
             "WHERE case_id = %ld AND deadline_key = 'decision_due'",
             id);
    text_of(sql, text, sizeof text);
    assert_string_equal(text, "met_late 2026-02-17 2"); /* a day after 16 February */
    snprintf(sql, sizeof sql,
             "SELECT value FROM case_report_codes WHERE case_id = %ld AND item = 'RequestOutcome'", id);
    text_of(sql, text, sizeof text);
    assert_string_equal(text, "Y");
}

static void test_machine_refusal_writes_nothing(void **state)
{
    outcome o;
    long id = open_case(auth_a, child_a, NULL, &o);
    /* a draft cannot be served before the decision to assess */
    record(auth_a, id, 1, "draft_served", "2026-02-01", "{\"served_on\": \"2026-02-01\"}", NULL, &o);
    run_until_done(&o, 1);
    assert_int_equal(o.r.status, EHC_ESTATE);
    assert_int_equal(o.r.machine_error.code, EHC_MACHINE_E_NOT_ALLOWED);
    /* a date after today (1 March 2026) */
    record(auth_a, id, 1, "decision_to_assess", "2026-03-02", "{\"decision\": \"yes\"}", NULL, &o);
    run_until_done(&o, 1);
    assert_int_equal(o.r.status, EHC_EINVAL);
    assert_int_equal(o.r.machine_error.code, EHC_MACHINE_E_DATE_IN_FUTURE);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM case_events WHERE case_id = %ld", id);
    assert_int_equal(scalar(sql), 1);
    snprintf(sql, sizeof sql, "SELECT version FROM cases WHERE id = %ld", id);
    assert_int_equal(scalar(sql), 1);
}

static void test_concurrent_writers_one_winner_per_version(void **state)
{
    outcome o;
    long id = open_case(auth_a, child_a, NULL, &o);
    record(auth_a, id, 1, "decision_to_assess", "2026-02-10", "{\"decision\": \"yes\"}", NULL, &o);
    run_until_done(&o, 1);
    assert_int_equal(o.r.status, 0);
    enum { WRITERS = 16, ROUNDS = 5 };
    for (int round = 0; round < ROUNDS; round++) {
        outcome many[WRITERS];
        int version = 2 + round;
        for (int w = 0; w < WRITERS; w++) {
            char fields[128];
            snprintf(fields, sizeof fields, "{\"request_key\": \"r%d-w%d\", \"adviser\": \"educational\"}",
                     round, w);
            record(auth_a, id, version, "advice_requested", "2026-02-20", fields, NULL, &many[w]);
        }
        run_until_done(many, WRITERS);
        int wins = 0, conflicts = 0;
        for (int w = 0; w < WRITERS; w++) {
            if (many[w].r.status == 0) {
                wins++;
                assert_int_equal(many[w].r.version, version + 1);
            } else if (many[w].r.status == EHC_ECONFLICT) {
                conflicts++;
                assert_int_equal(many[w].r.current_version, version + 1);
            }
        }
        assert_int_equal(wins, 1);
        assert_int_equal(conflicts, WRITERS - 1);
    }
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM case_events WHERE case_id = %ld", id);
    assert_int_equal(scalar(sql), 2 + ROUNDS);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM deadlines WHERE case_id = %ld AND deadline_key = 'advice_due'", id);
    assert_int_equal(scalar(sql), ROUNDS);
}

static void test_retried_command_with_same_key_is_applied_once(void **state)
{
    outcome o;
    long id = open_case(auth_a, child_a, "open-key-1", &o);
    assert_int_equal(o.r.status, 0);
    outcome again;
    long id2 = open_case(auth_a, child_a, "open-key-1", &again);
    assert_int_equal(again.r.status, 0);
    assert_true(again.r.replayed);
    assert_int_equal(id2, id);

    record(auth_a, id, 1, "decision_to_assess", "2026-02-10", "{\"decision\": \"yes\"}", "decide-1", &o);
    run_until_done(&o, 1);
    assert_int_equal(o.r.status, 0);
    assert_false(o.r.replayed);
    /* the reply was lost; the client retries with the version it had and the same key */
    record(auth_a, id, 1, "decision_to_assess", "2026-02-10", "{\"decision\": \"yes\"}", "decide-1", &again);
    run_until_done(&again, 1);
    assert_int_equal(again.r.status, 0);
    assert_true(again.r.replayed);
    assert_int_equal(again.r.version, 2);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM case_events WHERE case_id = %ld", id);
    assert_int_equal(scalar(sql), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM cases WHERE open_idempotency_key = 'open-key-1'");
    assert_int_equal(scalar(sql), 1);
}

static void test_another_authority_cannot_reach_the_case(void **state)
{
    outcome o;
    long id = open_case(auth_a, child_a, NULL, &o);
    record(auth_b, id, 1, "withdrawn", "2026-02-10", NULL, NULL, &o);
    run_until_done(&o, 1);
    assert_int_equal(o.r.status, EHC_ENOENT);
    /* nor open a case for a child of another authority */
    open_case(auth_b, child_a, NULL, &o);
    assert_int_equal(o.r.status, EHC_EINVAL);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM case_events WHERE case_id = %ld", id);
    assert_int_equal(scalar(sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM cases WHERE authority_id = %ld", auth_b);
    assert_int_equal(scalar(sql), 0);
}

static void test_commands_arriving_together_share_commits(void **state)
{
    enum { N = 200 };
    static outcome o[N];
    uint64_t commits0, commands0;
    ehc_store_stats(store, &commits0, &commands0);
    for (int i = 0; i < N; i++) {
        ehc_store_open_cmd cmd = {
            .authority_id = auth_b,
            .child_id = child_b,
            .workflow_id = "store-test",
            .event = {.type = "request_received",
                      .actor_role = "officer",
                      .effective_on = d("2026-01-05"),
                      .fields_json = "{\"source\": \"setting\"}"},
        };
        memset(&o[i], 0, sizeof o[i]);
        assert_int_equal(ehc_store_open_case(store, &cmd, on_result, &o[i]), 0);
    }
    run_until_done(o, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(o[i].r.status, 0);
    uint64_t commits, commands;
    ehc_store_stats(store, &commits, &commands);
    assert_int_equal(commands - commands0, N);
    assert_true(commits - commits0 < N / 4); /* group commit: many commands per transaction */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM cases WHERE authority_id = %ld", auth_b);
    assert_int_equal(scalar(sql), N);
}

static void on_restart_exit(uv_process_t *p, int64_t status, int sig)
{
    *(int *)p->data = 1 + (int)status;
    uv_close((uv_handle_t *)p, NULL);
}

static void test_acknowledged_writes_survive_an_immediate_restart(void **state)
{
    outcome first;
    long id = open_case(auth_a, child_a, NULL, &first);
    assert_int_equal(first.r.status, 0);
    char script[2048];
    snprintf(script, sizeof script, "sleep 0.3; %s; sleep 0.5; %s", ehc_test_env("EHC_TEST_PG_STOP_CMD"),
             ehc_test_env("EHC_TEST_PG_START_CMD"));
    char *args[] = {"sh", "-c", script, NULL};
    uv_process_t proc;
    int restart_done = 0;
    proc.data = &restart_done;
    uv_process_options_t popts = {.file = "sh", .args = args, .exit_cb = on_restart_exit};
    assert_int_equal(uv_spawn(&loop, &proc, &popts), 0);

    /* a stream of writes, one after another, through the stop and the start */
    int version = 1, acked = 0, failed = 0;
    long acked_seqs[4096];
    int64_t t0 = ehc_test_now_ms();
    outcome o;
    record(auth_a, id, version, "decision_to_assess", "2026-02-10", "{\"decision\": \"yes\"}", "restart-0",
           &o);
    while (ehc_test_now_ms() - t0 < 4000 || !restart_done) {
        run_until_done(&o, 1);
        if (o.r.status == 0) {
            acked_seqs[acked++] = o.r.version;
            version = o.r.version;
        } else {
            failed++;
            /* refused at once while down, or outcome unknown: re-read the version and go on */
            long v = -1;
            if (PQstatus(admin) != CONNECTION_OK) PQreset(admin);
            if (PQstatus(admin) == CONNECTION_OK) {
                char sql[128];
                snprintf(sql, sizeof sql, "SELECT version FROM cases WHERE id = %ld", id);
                PGresult *r = PQexec(admin, sql);
                if (PQresultStatus(r) == PGRES_TUPLES_OK) v = atol(PQgetvalue(r, 0, 0));
                PQclear(r);
            }
            if (v > 0) version = (int)v;
            usleep(20 * 1000);
            uv_run(&loop, UV_RUN_NOWAIT); /* let the pool reconnect and the restart script be reaped */
        }
        assert_true(acked < 4000);
        char fields[128], key[64];
        snprintf(fields, sizeof fields, "{\"request_key\": \"k%d\", \"adviser\": \"medical\"}",
                 acked + failed);
        snprintf(key, sizeof key, "restart-%d", acked + failed + 1);
        ehc_store_record_cmd cmd = {
            .authority_id = auth_a,
            .case_id = id,
            .expected_version = version,
            .event = {.type = version == 1 ? "decision_to_assess" : "advice_requested",
                      .actor_role = "officer",
                      .effective_on = d("2026-02-20"),
                      .fields_json = version == 1 ? "{\"decision\": \"yes\"}" : fields,
                      .idempotency_key = key},
        };
        memset(&o, 0, sizeof o);
        int rc = ehc_store_record_event(store, &cmd, on_result, &o);
        if (rc) {
            o.done = 1;
            o.r.status = rc;
        }
        assert_true(ehc_test_now_ms() - t0 < 30000);
    }
    run_until_done(&o, 1);
    if (o.r.status == 0) acked_seqs[acked++] = o.r.version;
    assert_int_equal(restart_done, 1); /* the stop/start script exited 0 */
    assert_true(failed > 0);           /* the restart was felt */
    assert_true(acked > 10);           /* and writes went on after it */
    if (PQstatus(admin) != CONNECTION_OK) PQreset(admin);
    for (int i = 0; i < acked; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM case_events WHERE case_id = %ld AND seq = %ld", id,
                 acked_seqs[i]);
        assert_int_equal(scalar(sql), 1);
    }
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT version FROM cases WHERE id = %ld", id);
    long final_version = scalar(sql);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM case_events WHERE case_id = %ld", id);
    assert_int_equal(scalar(sql), final_version); /* no gap, no duplicate */
}

static int run_verify(char *out, size_t size)
{
    char env[600];
    snprintf(env, sizeof env, "EHCD_WORKFLOWS_DIR=%s/tests/fixtures/store", ehc_test_env("EHC_SOURCE_DIR"));
    int rc = ehc_test_ehcd_verify(db_url, env, out, size);
    fprintf(stderr, "ehcd verify said:\n%s", out);
    return rc;
}

static void exec_admin(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static void test_verify_replays_every_case_and_reports_tampering(void **state)
{
    outcome o;
    long id = open_case(auth_a, child_a, NULL, &o);
    record(auth_a, id, 1, "decision_to_assess", "2026-02-10", "{\"decision\": \"yes\"}", NULL, &o);
    run_until_done(&o, 1);
    assert_int_equal(o.r.status, 0);
    char out[16384];
    assert_int_equal(run_verify(out, sizeof out), 0);
    assert_non_null(strstr(out, " 0 difference(s)"));
    assert_null(strstr(out, " 0 case(s)"));

    /* someone edits the projection behind the store's back: verify names each change */
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "UPDATE deadlines SET due_on = due_on + 7 WHERE case_id = %ld AND deadline_key = 'final_plan_due'",
        id);
    exec_admin(sql);
    snprintf(sql, sizeof sql, "UPDATE cases SET stage = 'draft' WHERE id = %ld", id);
    exec_admin(sql);
    assert_int_equal(run_verify(out, sizeof out), 1);
    assert_non_null(strstr(out, "deadline final_plan_due: stored 2026-06-01, replay gives 2026-05-25"));
    assert_non_null(strstr(out, "stage: stored draft, replay gives assessment"));
    assert_non_null(strstr(out, " 2 difference(s)"));
    snprintf(
        sql, sizeof sql,
        "UPDATE deadlines SET due_on = due_on - 7 WHERE case_id = %ld AND deadline_key = 'final_plan_due'",
        id);
    exec_admin(sql);
    snprintf(sql, sizeof sql, "UPDATE cases SET stage = 'assessment' WHERE id = %ld", id);
    exec_admin(sql);
    assert_int_equal(run_verify(out, sizeof out), 0);
}

static int run_erase(long case_id, char *out, size_t size)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' EHCD_WORKFLOWS_DIR=%s/tests/fixtures/store %s erase %ld",
             db_url, ehc_test_env("EHC_SOURCE_DIR"), ehc_test_env("EHC_TEST_EHCD"), case_id);
    return ehc_test_run_capture(cmd, out, size);
}

/* A child (born 1 June 1990) whose one case ran from March to May 2018; returns the case id. */
static long closed_2018_case(long *child_out)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO children (authority_id, forename, surname, date_of_birth, nhs_number) "
             "VALUES (%ld, 'Old', 'Record', '1990-06-01', '9434765919') RETURNING id",
             auth_a);
    long child = scalar(sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO family_contacts (authority_id, child_id, name, relationship, "
             "parental_responsibility, email) VALUES (%ld, %ld, 'A Parent', 'mother', true, "
             "'parent@example.org') RETURNING id",
             auth_a, child);
    scalar(sql);
    outcome o;
    ehc_store_open_cmd cmd = {
        .authority_id = auth_a,
        .child_id = child,
        .workflow_id = "store-test",
        .event = {.type = "request_received",
                  .actor_role = "officer",
                  .effective_on = d("2018-03-01"),
                  .fields_json = "{\"source\": \"young_person\"}"},
    };
    memset(&o, 0, sizeof o);
    wait_connected();
    assert_int_equal(ehc_store_open_case(store, &cmd, on_result, &o), 0);
    run_until_done(&o, 1);
    assert_int_equal(o.r.status, 0);
    long id = (long)o.r.case_id;
    record(auth_a, id, 1, "withdrawn", "2018-05-01", NULL, NULL, &o);
    run_until_done(&o, 1);
    assert_int_equal(o.r.status, 0);
    *child_out = child;
    return id;
}

static void test_erase_needs_closed_cases_past_retention_and_an_approval(void **state)
{
    long child;
    long id = closed_2018_case(&child);
    char out[4096], sql[512];
    assert_int_equal(run_erase(id, out, sizeof out), 1);
    assert_non_null(strstr(out, "no erasure approval"));

    long approver = scalar(
        "INSERT INTO users (username, display_name, is_admin) VALUES ('dpo', 'Data protection officer', "
        "true) RETURNING id");
    snprintf(sql, sizeof sql,
             "INSERT INTO erasure_approvals (authority_id, child_id, approved_by, reason) "
             "VALUES (%ld, %ld, %ld, 'retention period over') RETURNING id",
             auth_a, child, approver);
    scalar(sql);
    /* a letter to the family, which names them */
    snprintf(
        sql, sizeof sql,
        "INSERT INTO letters (authority_id, case_id, notice, template_sha256, recipient_role, "
        "recipient_name, "
        "pdf, pdf_sha256, generated_by, generated_at) VALUES (%ld, %ld, 'cease', repeat('b', 64), 'parent', "
        "'Ms Parent', '%%PDF-1.4'::bytea, encode(sha256('%%PDF-1.4'::bytea), 'hex'), %ld, now()) RETURNING "
        "id",
        auth_a, id, approver);
    scalar(sql);
    /* an advice report about the child, named after them */
    snprintf(
        sql, sizeof sql,
        "INSERT INTO case_documents (authority_id, case_id, kind, file_name, media_type, size_bytes, sha256, "
        "uploaded_by, uploaded_role) VALUES (%ld, %ld, 'advice_report', 'EP report Zebedee.txt', "
        "'text/plain', 5, encode(sha256('notes'::bytea), 'hex'), %ld, 'officer') RETURNING id",
        auth_a, id, approver);
    long document = scalar(sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO case_document_contents VALUES (%ld, %ld, 'notes'::bytea) RETURNING document_id",
             document, auth_a);
    scalar(sql);
    assert_int_equal(run_erase(id, out, sizeof out), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM letters WHERE case_id = %ld", id);
    assert_int_equal(scalar(sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM case_document_contents WHERE document_id = %ld",
             document);
    assert_int_equal(scalar(sql), 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM case_documents WHERE id = %ld AND file_name = 'erased' AND sha256 = "
             "encode(sha256('notes'::bytea), 'hex')",
             document);
    assert_int_equal(scalar(sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM children WHERE id = %ld AND surname IS NULL AND forename IS NULL "
             "AND date_of_birth IS NULL AND nhs_number IS NULL AND birth_year = 1990 "
             "AND erased_at IS NOT NULL",
             child);
    assert_int_equal(scalar(sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM family_contacts WHERE child_id = %ld AND name IS NULL "
             "AND email IS NULL AND erased_at IS NOT NULL",
             child);
    assert_int_equal(scalar(sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM access_log WHERE case_id = %ld AND action = 'erase'", id);
    assert_int_equal(scalar(sql), 1);
    /* the statutory record stays: events, dates and outcomes */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM case_events WHERE case_id = %ld", id);
    assert_int_equal(scalar(sql), 2);
    assert_int_equal(run_erase(id, out, sizeof out), 0);
    assert_non_null(strstr(out, "already erased"));
    assert_int_equal(run_verify(out, sizeof out), 0);
}

static void test_erase_refuses_an_open_case_and_an_unexpired_retention(void **state)
{
    outcome o;
    long open_id = open_case(auth_a, child_a, NULL, &o);
    char out[4096], sql[512];
    assert_int_equal(run_erase(open_id, out, sizeof out), 1);
    assert_non_null(strstr(out, "still open"));

    /* born 2018: kept until the 31st birthday, 1 March 2049 */
    snprintf(sql, sizeof sql,
             "INSERT INTO children (authority_id, forename, surname, date_of_birth) "
             "VALUES (%ld, 'Young', 'Child', '2018-03-01') RETURNING id",
             auth_a);
    long child = scalar(sql);
    ehc_store_open_cmd cmd = {
        .authority_id = auth_a,
        .child_id = child,
        .workflow_id = "store-test",
        .event = {.type = "request_received",
                  .actor_role = "officer",
                  .effective_on = d("2026-01-05"),
                  .fields_json = "{\"source\": \"parent\"}"},
    };
    memset(&o, 0, sizeof o);
    wait_connected();
    assert_int_equal(ehc_store_open_case(store, &cmd, on_result, &o), 0);
    run_until_done(&o, 1);
    long id = (long)o.r.case_id;
    record(auth_a, id, 1, "withdrawn", "2026-01-20", NULL, NULL, &o);
    run_until_done(&o, 1);
    assert_int_equal(o.r.status, 0);
    assert_int_equal(run_erase(id, out, sizeof out), 1);
    assert_non_null(strstr(out, "kept until 2049-03-01"));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM children WHERE id = %ld AND surname = 'Child'", child);
    assert_int_equal(scalar(sql), 1);
    assert_int_equal(run_erase(999999, out, sizeof out), 1);
    assert_non_null(strstr(out, "no such case"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opening_a_case_writes_event_projection_and_statutory_dates),
        cmocka_unit_test(test_recording_an_event_settles_its_deadline_and_moves_the_stage),
        cmocka_unit_test(test_machine_refusal_writes_nothing),
        cmocka_unit_test(test_concurrent_writers_one_winner_per_version),
        cmocka_unit_test(test_retried_command_with_same_key_is_applied_once),
        cmocka_unit_test(test_another_authority_cannot_reach_the_case),
        cmocka_unit_test(test_commands_arriving_together_share_commits),
        cmocka_unit_test(test_acknowledged_writes_survive_an_immediate_restart),
        cmocka_unit_test(test_verify_replays_every_case_and_reports_tampering),
        cmocka_unit_test(test_erase_needs_closed_cases_past_retention_and_an_approval),
        cmocka_unit_test(test_erase_refuses_an_open_case_and_an_unexpired_retention),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
