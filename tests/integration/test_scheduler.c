/* The deadline scheduler and the simulated clock against a real PostgreSQL, as the application role:
 * a request received Monday 5 January 2026 and left alone raises its 6-week decision alerts on the
 * right days as the simulated clock moves day by day; a long gap raises only the highest level, marked
 * caught up, also across a restart of the scheduler; repeated firing, a restart that replays and two
 * schedulers on one database create every alert and outbox row exactly once; meeting the deadline
 * resolves its open alerts and stops the rest; an exception marks later alerts; and the simulated
 * clock never goes backwards and survives a restart. Each test runs in a fresh database. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "ehc/definitions.h"
#include "ehc/migrate.h"
#include "ehc/scheduler.h"
#include "ehc/simclock.h"
#include "ehc/store.h"
#include "testlib.h"

typedef struct world {
    char *db_url;
    PGconn *admin; /* superuser: sees through row-level security, to check what was written */
    long authority, child, team, officer, manager, service_manager;
    ehc_definitions *defs;
    uv_loop_t loop;
    ehc_pg_pool *pool;
    ehc_simclock *simclock;
    ehc_clock clock;
    ehc_store *store;
    ehc_scheduler *sched[2];
    int closed;
    uint64_t fired_events;
} world;

static world w;

#define scalar(...) ehc_test_scalar(w.admin, __VA_ARGS__)

/* Every row of a one-column query, joined by spaces. */
static void rows_of(char *out, size_t size, const char *fmt, ...) EHC_PRINTF(3, 4);
static void rows_of(char *out, size_t size, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(w.admin, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < PQntuples(r); i++)
        n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s", i ? " " : "", PQgetvalue(r, i, 0));
    PQclear(r);
}

static ehc_date d(const char *iso)
{
    ehc_date out;
    assert_int_equal(ehc_date_parse_iso(iso, &out), 0);
    return out;
}

/* Noon UTC on a date. */
static ehc_instant noon(const char *iso)
{
    ehc_instant at = {.us = ((int64_t)d(iso).days * 86400 + 12 * 3600) * EHC_US_PER_SECOND};
    return at;
}

static void spin_until(bool (*done)(void *), void *arg)
{
    int64_t t0 = ehc_test_now_ms();
    while (!done(arg)) {
        assert_true(ehc_test_now_ms() - t0 < 60000);
        uv_run(&w.loop, UV_RUN_ONCE);
    }
}

static bool flag_set(void *arg)
{
    return *(int *)arg != 0;
}

static bool all_idle(void *arg)
{
    for (int i = 0; i < 2; i++)
        if (w.sched[i] && !ehc_scheduler_idle(w.sched[i])) return false;
    return true;
}

static bool pool_up(void *arg)
{
    if (ehc_pg_pool_connected(w.pool) >= 1) return true;
    usleep(1000);
    return false;
}

typedef struct clock_result {
    int done, status;
    ehc_instant now;
} clock_result;

static void on_clock(void *data, int status, ehc_instant now)
{
    clock_result *r = data;
    r->done = 1;
    r->status = status;
    r->now = now;
}

static void on_clock_moved(void *data, ehc_instant now)
{
    for (int i = 0; i < 2; i++)
        if (w.sched[i]) ehc_scheduler_clock_moved(w.sched[i]);
}

static int move_clock(ehc_instant to)
{
    clock_result r = {0};
    int rc = ehc_simclock_set(w.simclock, to, on_clock, &r);
    if (rc) return rc;
    spin_until(flag_set, &r.done);
    if (r.status == 0) spin_until(all_idle, NULL);
    return r.status;
}

static void on_sched_event(void *data, const ehc_scheduler_event *ev)
{
    if (ev->kind == EHC_SCHEDULER_FIRED) w.fired_events++;
    if (ev->kind == EHC_SCHEDULER_CLOSED) (*(int *)data)++;
}

static int sched_closed;

static void start_scheduler(int slot)
{
    ehc_scheduler_options opts;
    ehc_scheduler_options_default(&opts);
    static const char *const channels[] = {"sse", "email"};
    opts.channels = channels;
    opts.channel_count = 2;
    opts.fire_batch = 7; /* several rounds per move */
    assert_int_equal(ehc_scheduler_new(&w.loop, w.pool, w.defs, &w.clock, &opts, on_sched_event,
                                       &sched_closed, &w.sched[slot]),
                     0);
    assert_int_equal(ehc_scheduler_start(w.sched[slot]), 0);
    spin_until(all_idle, NULL);
}

static void stop_scheduler(int slot)
{
    int before = sched_closed;
    ehc_scheduler_close(w.sched[slot]);
    w.sched[slot] = NULL;
    while (sched_closed == before)
        uv_run(&w.loop, UV_RUN_ONCE);
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

static long open_case(void)
{
    ehc_store_open_cmd cmd = {
        .authority_id = w.authority,
        .child_id = w.child,
        .workflow_id = "store-test",
        .team_id = w.team,
        .officer_id = w.officer,
        .event = {.type = "request_received",
                  .actor_role = "officer",
                  .effective_on = d("2026-01-05"),
                  .fields_json = "{\"source\": \"parent\"}"},
    };
    outcome o = {0};
    assert_int_equal(ehc_store_open_case(w.store, &cmd, on_result, &o), 0);
    spin_until(flag_set, &o.done);
    assert_int_equal(o.r.status, 0);
    return (long)o.r.case_id;
}

static void record(long case_id, int expected, const char *type, const char *role, const char *on,
                   const char *fields)
{
    ehc_store_record_cmd cmd = {
        .authority_id = w.authority,
        .case_id = case_id,
        .expected_version = expected,
        .event = {.type = type, .actor_role = role, .effective_on = d(on), .fields_json = fields},
    };
    outcome o = {0};
    assert_int_equal(ehc_store_record_event(w.store, &cmd, on_result, &o), 0);
    spin_until(flag_set, &o.done);
    assert_int_equal(o.r.status, 0);
}

static int setup(void **state)
{
    memset(&w, 0, sizeof w);
    w.db_url = ehc_test_create_database("ehc_sched");
    w.admin = PQconnectdb(w.db_url);
    assert_int_equal(PQstatus(w.admin), CONNECTION_OK);
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(w.admin, &applied, err, sizeof err), 0);
    w.authority =
        scalar("INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham') RETURNING id");
    w.child = scalar("INSERT INTO children (authority_id, forename, surname, date_of_birth) "
                     "VALUES (%ld, 'A', 'Child', '2018-03-01') RETURNING id",
                     w.authority);
    w.team = scalar("INSERT INTO teams (authority_id, name) VALUES (%ld, 'North') RETURNING id", w.authority);
    w.officer = scalar("INSERT INTO users (username, display_name) VALUES ('officer1', 'O') RETURNING id");
    w.manager = scalar("INSERT INTO users (username, display_name) VALUES ('manager1', 'M') RETURNING id");
    w.service_manager =
        scalar("INSERT INTO users (username, display_name) VALUES ('service1', 'S') RETURNING id");
    scalar(
        "INSERT INTO role_grants (user_id, role, authority_id, team_id) VALUES (%ld, 'officer', %ld, %ld), "
        "(%ld, 'manager', %ld, %ld)",
        w.officer, w.authority, w.team, w.manager, w.authority, w.team);
    scalar("INSERT INTO role_grants (user_id, role, authority_id) VALUES (%ld, 'service_manager', %ld)",
           w.service_manager, w.authority);

    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/store", ehc_test_env("EHC_SOURCE_DIR"));
    ehc_load_error lerr;
    assert_int_equal(ehc_definitions_load(dir, &w.defs, &lerr), 0);

    assert_int_equal(uv_loop_init(&w.loop), 0);
    ehc_pg_pool_options popts;
    ehc_pg_pool_options_default(&popts);
    popts.conninfo = w.db_url;
    popts.size = 4;
    popts.session_role = "ehc_app";
    assert_int_equal(ehc_pg_pool_new(&w.loop, &popts, &w.pool), 0);
    assert_int_equal(ehc_pg_pool_start(w.pool), 0);
    spin_until(pool_up, NULL);

    assert_int_equal(ehc_simclock_new(w.pool, noon("2026-01-05"), &w.simclock), 0);
    ehc_simclock_listen(w.simclock, on_clock_moved, NULL);
    clock_result r = {0};
    assert_int_equal(ehc_simclock_load(w.simclock, on_clock, &r), 0);
    spin_until(flag_set, &r.done);
    assert_int_equal(r.status, 0);
    w.clock = ehc_simclock_clock(w.simclock);

    ehc_store_options sopts;
    ehc_store_options_default(&sopts);
    sopts.max_inflight = 4;
    assert_int_equal(ehc_store_new(&w.loop, w.pool, w.defs, &w.clock, &sopts, &w.store), 0);
    return 0;
}

static void on_pool_closed(void *data)
{
    *(int *)data = 1;
}

static int teardown(void **state)
{
    for (int i = 0; i < 2; i++)
        if (w.sched[i]) stop_scheduler(i);
    ehc_store_free(w.store);
    ehc_simclock_free(w.simclock);
    int closed = 0;
    ehc_pg_pool_close(w.pool, on_pool_closed, &closed);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, 1);
    assert_int_equal(uv_loop_close(&w.loop), 0);
    ehc_definitions_free(w.defs);
    PQfinish(w.admin);
    free(w.db_url);
    return 0;
}

/* "level@fire_at(UTC)>fired-on-date" for the case's decision deadline, in firing order. */
static void decision_alerts(long case_id, char *out, size_t size)
{
    rows_of(
        out, size,
        "SELECT a.level || '@' || to_char(a.fire_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI') || '>' || "
        "to_char(a.fired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') || CASE WHEN a.caught_up THEN '!' ELSE '' END "
        "FROM alerts a JOIN deadlines dl ON dl.id = a.deadline_id "
        "WHERE dl.case_id = %ld AND dl.deadline_key = 'decision_due' ORDER BY a.fire_at",
        case_id);
}

static void test_request_of_5_january_2026_alerts_on_the_right_days(void **state)
{
    long case_id = open_case();
    start_scheduler(0);
    ehc_date day = d("2026-01-05");
    for (int i = 0; i <= 60; i++) { /* to Saturday 6 March 2026, a day at a time, at noon */
        ehc_instant at = {.us = ((int64_t)day.days * 86400 + 12 * 3600) * EHC_US_PER_SECOND};
        assert_int_equal(move_clock(at), 0);
        assert_int_equal(ehc_date_add_days(day, 1, &day), 0);
    }
    char text[1024];
    decision_alerts(case_id, text, sizeof text);
    assert_string_equal(text,
                        "upcoming_10@2026-02-02T07:00>2026-02-02 upcoming_5@2026-02-09T07:00>2026-02-09 "
                        "due@2026-02-16T07:00>2026-02-16 overdue@2026-02-17T07:00>2026-02-17 "
                        "escalated@2026-02-27T07:00>2026-02-27");
    /* nothing else fired: the final plan's first warning is 11 May, advice was never asked for */
    assert_int_equal(scalar("SELECT count(*) FROM alerts"), 5);
    /* who heard of what, on both channels */
    rows_of(
        text, sizeof text,
        "SELECT a.level || ':' || string_agg(o.payload->>'as' || '/' || o.channel, ',' ORDER BY "
        "o.payload->>'as', o.channel) "
        "FROM alerts a JOIN outbox o ON o.alert_id = a.id GROUP BY a.level, a.fire_at ORDER BY a.fire_at");
    assert_string_equal(text, "upcoming_10:officer/email,officer/sse upcoming_5:officer/email,officer/sse "
                              "due:officer/email,officer/sse "
                              "overdue:manager/email,manager/sse,officer/email,officer/sse "
                              "escalated:manager/email,manager/sse,officer/email,officer/sse,"
                              "service_manager/email,service_manager/sse");
    assert_int_equal(
        scalar("SELECT count(*) FROM outbox WHERE idempotency_key = 'alert:' || alert_id || ':' || "
               "channel || ':user:' || recipient_user_id"),
        16);
    /* the decision deadline has nothing left to fire; the final plan waits for 11 May (06:00Z, BST) */
    rows_of(text, sizeof text,
            "SELECT deadline_key || '=' || coalesce(to_char(next_fire_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI'), '-') "
            "FROM deadlines WHERE case_id = %ld AND deadline_key IN ('decision_due', 'final_plan_due') ORDER "
            "BY deadline_key",
            case_id);
    assert_string_equal(text, "decision_due=- final_plan_due=2026-05-11T06:00");
    assert_int_equal(w.fired_events, 5);
}

static void test_catch_up_raises_only_the_highest_level_even_across_a_restart(void **state)
{
    long case_id = open_case();
    start_scheduler(0);
    /* away from before the first warning until 18 February: overdue only, caught up */
    assert_int_equal(move_clock(noon("2026-02-18")), 0);
    char text[1024];
    decision_alerts(case_id, text, sizeof text);
    assert_string_equal(text, "overdue@2026-02-17T07:00>2026-02-18!");
    assert_int_equal(scalar("SELECT count(*) FROM outbox"), 4); /* officer and manager, two channels */
    /* down while the escalation came due: it fires at start, as a catch-up */
    stop_scheduler(0);
    assert_int_equal(move_clock(noon("2026-03-02")), 0);
    assert_int_equal(scalar("SELECT count(*) FROM alerts"), 1);
    start_scheduler(0);
    decision_alerts(case_id, text, sizeof text);
    assert_string_equal(text, "overdue@2026-02-17T07:00>2026-02-18! escalated@2026-02-27T07:00>2026-03-02!");
}

static void test_every_alert_exactly_once_under_replay_restart_and_two_schedulers(void **state)
{
    enum { CASES = 30 };
    for (int i = 0; i < CASES; i++)
        open_case();
    /* two schedulers on one database, as two nodes would be */
    start_scheduler(0);
    start_scheduler(1);
    assert_int_equal(move_clock(noon("2026-02-02")), 0);
    assert_int_equal(scalar("SELECT count(*) FROM alerts WHERE level = 'upcoming_10'"), CASES);
    assert_int_equal(w.fired_events, CASES);
    /* a crash after the alert committed but, as if, before next_fire_at moved on: wind the rows back
     * so the same instants fire again, then restart */
    stop_scheduler(1);
    stop_scheduler(0);
    scalar("UPDATE deadlines SET next_fire_at = '2026-02-02 07:00Z' WHERE deadline_key = 'decision_due'");
    start_scheduler(0);
    assert_int_equal(scalar("SELECT count(*) FROM alerts"), CASES);
    assert_int_equal(scalar("SELECT count(*) FROM outbox"), CASES * 2);
    /* and it carries on from there: each later level once */
    start_scheduler(1);
    assert_int_equal(move_clock(noon("2026-02-17")), 0);
    assert_int_equal(move_clock(noon("2026-02-17")), 0); /* the same instant again changes nothing */
    assert_int_equal(scalar("SELECT count(*) FROM alerts"), CASES * 2);
    assert_int_equal(scalar("SELECT count(*) FROM (SELECT deadline_id, level FROM alerts GROUP BY 1, 2 "
                            "HAVING count(*) > 1) x"),
                     0);
    assert_int_equal(scalar("SELECT count(*) FROM alerts WHERE level = 'overdue' AND caught_up"), CASES);
    assert_int_equal(scalar("SELECT count(*) FROM alerts WHERE level IN ('upcoming_5', 'due')"), 0);
    assert_int_equal(scalar("SELECT count(*) FROM outbox"), CASES * 2 + CASES * 4);
    assert_int_equal(w.fired_events, CASES * 2);
}

static void test_meeting_the_deadline_resolves_its_alerts_and_stops_the_rest(void **state)
{
    long case_id = open_case();
    start_scheduler(0);
    assert_int_equal(move_clock(noon("2026-02-03")), 0);
    char text[1024];
    decision_alerts(case_id, text, sizeof text);
    assert_string_equal(text, "upcoming_10@2026-02-02T07:00>2026-02-03");
    record(case_id, 1, "decision_to_assess", "officer", "2026-02-03", "{\"decision\": \"yes\"}");
    assert_int_equal(ehc_scheduler_case_changed(w.sched[0], case_id), 0);
    spin_until(all_idle, NULL);
    rows_of(text, sizeof text, "SELECT status || ' ' || resolution FROM alerts");
    assert_string_equal(text, "resolved met");
    assert_int_equal(move_clock(noon("2026-03-02")), 0);
    assert_int_equal(scalar("SELECT count(*) FROM alerts"), 1);
}

static void test_an_exception_marks_later_alerts_without_silencing_them(void **state)
{
    long case_id = open_case();
    start_scheduler(0);
    assert_int_equal(move_clock(noon("2026-02-02")), 0);
    record(case_id, 1, "exception_recorded", "manager", "2026-02-02",
           "{\"deadline\": \"decision_due\", \"exception\": \"reg_5_4_c\"}");
    assert_int_equal(ehc_scheduler_case_changed(w.sched[0], case_id), 0);
    spin_until(all_idle, NULL);
    assert_int_equal(move_clock(noon("2026-02-09")), 0);
    char text[256];
    rows_of(text, sizeof text, "SELECT level || '=' || exception_applies FROM alerts ORDER BY fire_at");
    assert_string_equal(text, "upcoming_10=false upcoming_5=true");
}

static void test_simulated_clock_never_goes_back_and_survives_a_restart(void **state)
{
    assert_int_equal(move_clock(noon("2026-03-01")), 0);
    /* refused here at once, and by the database for another process that knew an older time */
    assert_int_equal(ehc_simclock_set(w.simclock, noon("2026-02-01"), on_clock, NULL), EHC_ESTATE);
    ehc_simclock *other;
    assert_int_equal(ehc_simclock_new(w.pool, noon("2025-01-01"), &other), 0);
    clock_result r = {0};
    assert_int_equal(ehc_simclock_set(other, noon("2026-02-01"), on_clock, &r), 0);
    spin_until(flag_set, &r.done);
    assert_int_equal(r.status, EHC_ESTATE);
    assert_int_equal(r.now.us, noon("2026-03-01").us);
    /* a restart loads the stored time, not its initial value */
    memset(&r, 0, sizeof r);
    assert_int_equal(ehc_simclock_load(other, on_clock, &r), 0);
    spin_until(flag_set, &r.done);
    assert_int_equal(r.status, 0);
    ehc_clock c = ehc_simclock_clock(other);
    assert_int_equal(ehc_clock_now(&c).us, noon("2026-03-01").us);
    ehc_simclock_free(other);
    assert_int_equal(scalar("SELECT count(*) FROM sim_clock"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_of_5_january_2026_alerts_on_the_right_days, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_raises_only_the_highest_level_even_across_a_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_alert_exactly_once_under_replay_restart_and_two_schedulers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_meeting_the_deadline_resolves_its_alerts_and_stops_the_rest,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_exception_marks_later_alerts_without_silencing_them, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_simulated_clock_never_goes_back_and_survives_a_restart, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
