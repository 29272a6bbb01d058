/* The PostgreSQL pool against a real cluster (EHC_TEST_DATABASE_URL): concurrency, SQL errors, time
 * limits, lost and refused connections, server stop and restart (EHC_TEST_PG_STOP_CMD /
 * EHC_TEST_PG_START_CMD), and shutdown that leaves the loop with no handles. Each test runs its own
 * uv loop and checks that uv_loop_close succeeds at the end. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ehc/pg.h"
#include "testlib.h"

typedef struct fixture {
    uv_loop_t loop;
    uv_timer_t tick; /* wakes uv_run(UV_RUN_ONCE) so run_until can check its condition */
    ehc_pg_pool *pool;
    bool inside_query_call;
    int callbacks_inside_query_call;
    int pool_closed_calls;
} fixture;

typedef struct outcome {
    fixture *f;
    int calls;
    int status;
    int64_t done_at_ms;
    char value[64];
    char value2[64];
    char sqlstate[8];
    char message[256];
} outcome;

static void on_tick(uv_timer_t *t)
{
}

static void fixture_open(fixture *f, ehc_pg_pool_options *opts)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(uv_timer_init(&f->loop, &f->tick), 0);
    assert_int_equal(ehc_pg_pool_new(&f->loop, opts, &f->pool), 0);
    assert_int_equal(ehc_pg_pool_start(f->pool), 0);
}

static void default_options(ehc_pg_pool_options *opts, const char *conninfo, int size)
{
    ehc_pg_pool_options_default(opts);
    opts->conninfo = conninfo;
    opts->size = size;
}

static void on_pool_closed(void *data)
{
    fixture *f = data;
    f->pool_closed_calls++;
    f->pool = NULL;
}

/* Closes the pool, lets the loop run dry, and checks nothing was left open. */
static void fixture_close(fixture *f)
{
    if (f->pool) ehc_pg_pool_close(f->pool, on_pool_closed, f);
    uv_close((uv_handle_t *)&f->tick, NULL);
    int64_t t0 = ehc_test_now_ms();
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_true(ehc_test_now_ms() - t0 < 2000);
    assert_int_equal(f->pool_closed_calls, 1);
    assert_null(f->pool);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    assert_int_equal(f->callbacks_inside_query_call, 0);
}

typedef bool (*condition_fn)(fixture *f, void *arg);

/* Runs the loop until cond holds or timeout_ms passes; returns whether cond holds. */
static bool run_until(fixture *f, condition_fn cond, void *arg, int timeout_ms)
{
    int64_t deadline = ehc_test_now_ms() + timeout_ms;
    bool ok;
    while (!(ok = cond(f, arg)) && ehc_test_now_ms() < deadline) {
        /* (re)started every round: cond may itself call run_until, which stops it */
        uv_timer_start(&f->tick, on_tick, 5, 5);
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&f->tick);
    return ok;
}

static bool never(fixture *f, void *arg)
{
    return false;
}

static void run_for(fixture *f, int ms)
{
    run_until(f, never, NULL, ms);
}

static bool all_connected(fixture *f, void *arg)
{
    return ehc_pg_pool_connected(f->pool) == *(int *)arg;
}

static void wait_connected(fixture *f, int n, int timeout_ms)
{
    if (!run_until(f, all_connected, &n, timeout_ms)) {
        fprintf(stderr, "pool has %d of %d connections after %d ms; last error: %s\n",
                ehc_pg_pool_connected(f->pool), n, timeout_ms, ehc_pg_pool_last_error(f->pool));
        fail();
    }
}

typedef struct outcome_set {
    outcome *items;
    int count;
} outcome_set;

static bool all_done(fixture *f, void *arg)
{
    outcome_set *s = arg;
    for (int i = 0; i < s->count; i++)
        if (s->items[i].calls == 0) return false;
    return true;
}

static void wait_done(fixture *f, outcome *items, int count, int timeout_ms)
{
    outcome_set s = {items, count};
    assert_true(run_until(f, all_done, &s, timeout_ms));
}

static void on_outcome(void *data, int status, PGresult *res, const char *message)
{
    outcome *o = data;
    if (o->f->inside_query_call) o->f->callbacks_inside_query_call++;
    o->calls++;
    o->status = status;
    o->done_at_ms = ehc_test_now_ms();
    snprintf(o->message, sizeof o->message, "%s", message ? message : "(null)");
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
        snprintf(o->value, sizeof o->value, "%s", PQgetvalue(res, 0, 0));
        if (PQnfields(res) > 1) snprintf(o->value2, sizeof o->value2, "%s", PQgetvalue(res, 0, 1));
    }
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (sqlstate) snprintf(o->sqlstate, sizeof o->sqlstate, "%s", sqlstate);
}

static int submit(fixture *f, outcome *o, const char *sql, int nparams, const char *const *params,
                  int timeout_ms)
{
    memset(o, 0, sizeof *o);
    o->f = f;
    f->inside_query_call = true;
    int rc = ehc_pg_query(f->pool, sql, nparams, params, timeout_ms, on_outcome, o);
    f->inside_query_call = false;
    return rc;
}

static void submit_ok(fixture *f, outcome *o, const char *sql, int nparams, const char *const *params,
                      int timeout_ms)
{
    int rc = submit(f, o, sql, nparams, params, timeout_ms);
    if (rc != 0)
        fprintf(stderr, "ehc_pg_query(%s) = %d; last error: %s\n", sql, rc, ehc_pg_pool_last_error(f->pool));
    assert_int_equal(rc, 0);
}

/* Runs one statement and waits for it; returns its status. */
static int query_wait(fixture *f, outcome *o, const char *sql, int nparams, const char *const *params)
{
    submit_ok(f, o, sql, nparams, params, 5000);
    wait_done(f, o, 1, 6000);
    assert_int_equal(o->calls, 1);
    return o->status;
}

/* ---- tests ---- */

static void test_thousand_concurrent_queries_over_four_connections_get_their_own_results(void **state)
{
    enum { N = 1000 };
    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, ehc_test_database_url(), 4);
    opts.max_queued = N;
    fixture_open(&f, &opts);
    wait_connected(&f, 4, 5000);

    outcome *out = calloc(N, sizeof *out);
    char args[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(args[i], sizeof args[i], "%d", i + 1);
        const char *params[] = {args[i]};
        submit_ok(&f, &out[i], "SELECT $1::int * 2, pg_backend_pid()", 1, params, 20000);
    }
    wait_done(&f, out, N, 20000);

    int pids[N] = {0};
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(out[i].calls, 1);
        assert_int_equal(out[i].status, 0);
        assert_int_equal(atoi(out[i].value), 2 * (i + 1));
        int pid = atoi(out[i].value2);
        bool seen = false;
        for (int j = 0; j < distinct; j++)
            seen = seen || pids[j] == pid;
        if (!seen) pids[distinct++] = pid;
    }
    assert_int_equal(distinct, 4);
    free(out);
    fixture_close(&f);
}

static void test_sql_error_reports_einval_with_sqlstate_and_connection_stays_usable(void **state)
{
    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, ehc_test_database_url(), 1);
    fixture_open(&f, &opts);
    wait_connected(&f, 1, 5000);

    /* all four queue on the one connection, in order */
    outcome out[4];
    const char *zero[] = {"0"};
    const char *secret[] = {"not-a-number-secret"};
    submit_ok(&f, &out[0], "SELECT pg_backend_pid()", 0, NULL, 5000);
    submit_ok(&f, &out[1], "SELECT 1 / $1::int", 1, zero, 5000);
    submit_ok(&f, &out[2], "SELECT $1::int", 1, secret, 5000);
    submit_ok(&f, &out[3], "SELECT pg_backend_pid()", 0, NULL, 5000);
    wait_done(&f, out, 4, 6000);

    assert_int_equal(out[1].status, EHC_EINVAL);
    assert_string_equal(out[1].sqlstate, "22012");
    assert_non_null(strstr(out[1].message, "22012"));
    assert_int_equal(out[2].status, EHC_EINVAL);
    assert_string_equal(out[2].sqlstate, "22P02");
    /* the server's text quotes the value; the pool's message must not */
    assert_null(strstr(out[2].message, "secret"));
    assert_int_equal(out[0].status, 0);
    assert_int_equal(out[3].status, 0);
    assert_string_equal(out[0].value, out[3].value); /* same backend: the connection was kept */
    assert_int_equal(ehc_pg_pool_connected(f.pool), 1);
    fixture_close(&f);
}

static bool sleeper_gone(fixture *f, void *arg)
{
    outcome o;
    const char *params[] = {(const char *)arg};
    int st = query_wait(f, &o,
                        "SELECT count(*) FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()",
                        1, params);
    return st == 0 && strcmp(o.value, "0") == 0;
}

static void test_query_past_time_limit_times_out_and_pool_recovers(void **state)
{
    static const char sleep_sql[] = "SELECT pg_sleep($1::float8) /* time limit test */";
    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, ehc_test_database_url(), 2);
    fixture_open(&f, &opts);
    wait_connected(&f, 2, 5000);

    outcome slow;
    const char *five[] = {"5"};
    int64_t t0 = ehc_test_now_ms();
    submit_ok(&f, &slow, sleep_sql, 1, five, 300);
    wait_done(&f, &slow, 1, 3000);
    int64_t took = slow.done_at_ms - t0;
    assert_int_equal(slow.status, EHC_ETIMEDOUT);
    assert_true(took >= 290 && took < 300 + 400);

    /* the other connection serves at once; the dropped one comes back */
    outcome after;
    assert_int_equal(query_wait(&f, &after, "SELECT 41 + 1", 0, NULL), 0);
    assert_string_equal(after.value, "42");
    wait_connected(&f, 2, 3000);

    /* client_connection_check_interval ends the orphaned pg_sleep on the server */
    assert_true(run_until(&f, sleeper_gone, (void *)sleep_sql, 4000));
    fixture_close(&f);
}

static void test_query_waiting_in_queue_times_out_without_dropping_the_connection(void **state)
{
    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, ehc_test_database_url(), 1);
    fixture_open(&f, &opts);
    wait_connected(&f, 1, 5000);

    outcome pid_before, busy, queued, pid_after;
    assert_int_equal(query_wait(&f, &pid_before, "SELECT pg_backend_pid()", 0, NULL), 0);
    const char *secs[] = {"0.6"};
    int64_t t0 = ehc_test_now_ms();
    submit_ok(&f, &busy, "SELECT pg_sleep($1::float8)", 1, secs, 5000);
    submit_ok(&f, &queued, "SELECT 1", 0, NULL, 150);
    wait_done(&f, &queued, 1, 2000);
    assert_int_equal(queued.status, EHC_ETIMEDOUT);
    assert_true(queued.done_at_ms - t0 < 450);
    assert_int_equal(busy.calls, 0);
    wait_done(&f, &busy, 1, 3000);
    assert_int_equal(busy.status, 0);
    assert_int_equal(query_wait(&f, &pid_after, "SELECT pg_backend_pid()", 0, NULL), 0);
    assert_string_equal(pid_before.value, pid_after.value);
    assert_int_equal(queued.calls, 1);
    fixture_close(&f);
}

static void test_terminated_backend_is_unavailable_and_queue_waits_for_the_other_connection(void **state)
{
    static const char sleep_sql[] = "SELECT pg_sleep(10) /* terminate test */";
    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, ehc_test_database_url(), 2);
    fixture_open(&f, &opts);
    wait_connected(&f, 2, 5000);

    /* victim on one connection; the killer on the other stays busy after the kill, so the three
     * queued queries must wait for it rather than fail */
    outcome victim, killer, queued[3];
    submit_ok(&f, &victim, sleep_sql, 0, NULL, 20000);
    run_for(&f, 200);
    const char *params[] = {sleep_sql};
    submit_ok(&f, &killer,
              "SELECT (SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
              " WHERE query = $1 AND pid <> pg_backend_pid()) t), pg_sleep(0.3)",
              1, params, 5000);
    for (int i = 0; i < 3; i++)
        submit_ok(&f, &queued[i], "SELECT 'queued'", 0, NULL, 5000);
    wait_done(&f, &victim, 1, 3000);
    assert_int_equal(victim.status, EHC_EUNAVAILABLE);
    assert_non_null(strstr(victim.message, "57P01")); /* admin_shutdown, as a FATAL reply */
    wait_done(&f, &killer, 1, 3000);
    assert_int_equal(killer.status, 0);
    assert_string_equal(killer.value, "1");
    wait_done(&f, queued, 3, 3000);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(queued[i].status, 0);
        assert_string_equal(queued[i].value, "queued");
    }
    wait_connected(&f, 2, 3000);
    assert_int_equal(victim.calls, 1);
    fixture_close(&f);
}

static void test_unreachable_server_refuses_queries_at_once_without_echoing_password(void **state)
{
    char dir[] = "/tmp/ehc-no-server-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo, "host=%s port=1 dbname=x user=x password=hunter2-secret", dir);
    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, conninfo, 2);
    fixture_open(&f, &opts);
    run_for(&f, 300);

    assert_int_equal(ehc_pg_pool_connected(f.pool), 0);
    outcome o;
    int64_t t0 = ehc_test_now_ms();
    assert_int_equal(submit(&f, &o, "SELECT 1", 0, NULL, 1000), EHC_EUNAVAILABLE);
    assert_true(ehc_test_now_ms() - t0 < 20);
    const char *err = ehc_pg_pool_last_error(f.pool);
    assert_true(strlen(err) > 0);
    assert_null(strstr(err, "hunter2"));
    assert_null(strchr(err, '\n'));
    fixture_close(&f);
    assert_int_equal(o.calls, 0);
    rmdir(dir);
}

static void test_silent_server_hits_connect_time_limit(void **state)
{
    /* a listener that never accepts: the kernel completes the handshake, nobody answers */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char conninfo[128];
    snprintf(conninfo, sizeof conninfo, "hostaddr=127.0.0.1 port=%d dbname=x user=x sslmode=disable",
             ntohs(a.sin_port));

    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, conninfo, 1);
    opts.connect_timeout_ms = 300;
    fixture_open(&f, &opts);
    run_for(&f, 100);
    assert_string_equal(ehc_pg_pool_last_error(f.pool), "");
    run_for(&f, 350);
    assert_non_null(strstr(ehc_pg_pool_last_error(f.pool), "no answer within 300 ms"));
    assert_int_equal(ehc_pg_pool_connected(f.pool), 0);
    fixture_close(&f);
    close(fd);
}

static bool refused(fixture *f, void *arg)
{
    outcome *o = arg;
    int64_t t0 = ehc_test_now_ms();
    int rc = submit(f, o, "SELECT 1", 0, NULL, 1000);
    assert_true(ehc_test_now_ms() - t0 < 20); /* the call itself never waits */
    return rc == EHC_EUNAVAILABLE;
}

static pid_t spawn_env_command(const char *env_name)
{
    const char *cmd = ehc_test_env(env_name);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static bool child_exited(fixture *f, void *arg)
{
    pid_t *pid = arg;
    int status;
    if (waitpid(*pid, &status, WNOHANG) != *pid) return false;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "command failed with status %d\n", status);
        fail();
    }
    return true;
}

typedef struct recovery {
    outcome o;
    bool pending;
} recovery;

static bool recovered(fixture *f, void *arg)
{
    recovery *r = arg;
    if (r->pending && r->o.calls == 0) return false;
    if (r->pending && r->o.status == 0) return true;
    r->pending = submit(f, &r->o, "SELECT $1::int + 1", 1, (const char *const[]){"1"}, 1000) == 0;
    return false;
}

static void test_server_stop_fails_in_flight_refuses_new_then_recovers_after_start(void **state)
{
    const char *url = ehc_test_database_url();
    char *conninfo = strstr(url, "://") ? strdup(url) : ehc_asprintf("%s password=hunter2-secret", url);
    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, conninfo, 4);
    fixture_open(&f, &opts);
    wait_connected(&f, 4, 5000);

    /* four in flight, three waiting for a connection */
    outcome out[7];
    for (int i = 0; i < 4; i++)
        submit_ok(&f, &out[i], "SELECT pg_sleep(30)", 0, NULL, 60000);
    for (int i = 4; i < 7; i++)
        submit_ok(&f, &out[i], "SELECT 1", 0, NULL, 60000);
    run_for(&f, 200);

    *(bool *)*state = true;
    ehc_test_run_env_command("EHC_TEST_PG_STOP_CMD");
    int64_t stopped_at = ehc_test_now_ms();
    wait_done(&f, out, 7, 3000);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(out[i].calls, 1);
        assert_int_equal(out[i].status, EHC_EUNAVAILABLE);
    }
    outcome probe;
    assert_true(run_until(&f, refused, &probe, 2000));
    int64_t refused_after = ehc_test_now_ms() - stopped_at;
    print_message("      pool refused new queries %lld ms after the server stopped\n",
                  (long long)refused_after);
    assert_true(refused_after < 1000);
    assert_int_equal(ehc_pg_pool_connected(f.pool), 0);
    const char *err = ehc_pg_pool_last_error(f.pool);
    assert_true(strlen(err) > 0);
    assert_null(strstr(err, "hunter2"));
    run_for(&f, 500); /* a few failed reconnects while it is down */
    assert_int_equal(ehc_pg_pool_connected(f.pool), 0);

    /* start the server from a child while the loop keeps running, so backoff timers run in real time */
    pid_t starter = spawn_env_command("EHC_TEST_PG_START_CMD");
    assert_true(run_until(&f, child_exited, &starter, 20000));
    *(bool *)*state = false;
    int64_t started_at = ehc_test_now_ms();
    recovery r = {0};
    assert_true(run_until(&f, recovered, &r, 5000));
    int64_t recovered_after = ehc_test_now_ms() - started_at;
    print_message("      first query succeeded %lld ms after the server was ready\n",
                  (long long)recovered_after);
    assert_true(recovered_after < 2500);
    wait_connected(&f, 4, 5000 - (int)(ehc_test_now_ms() - started_at));
    fixture_close(&f);
    free(conninfo);
}

static void test_close_with_queries_queued_reports_closed_once_each_and_loop_ends(void **state)
{
    enum { N = 21 };
    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, ehc_test_database_url(), 1);
    fixture_open(&f, &opts);
    wait_connected(&f, 1, 5000);

    outcome out[N];
    submit_ok(&f, &out[0], "SELECT pg_sleep(10)", 0, NULL, 20000);
    const char *x[] = {"x"};
    for (int i = 1; i < N; i++)
        submit_ok(&f, &out[i], "SELECT $1::text", 1, x, 20000);
    run_for(&f, 100);
    ehc_pg_pool_close(f.pool, on_pool_closed, &f);
    for (int i = 0; i < N; i++)
        assert_int_equal(out[i].calls, 0); /* later, from the loop */
    outcome late;
    assert_int_equal(submit(&f, &late, "SELECT 1", 0, NULL, 1000), EHC_ECLOSED);
    fixture_close(&f);
    for (int i = 0; i < N; i++) {
        assert_int_equal(out[i].calls, 1);
        assert_int_equal(out[i].status, EHC_ECLOSED);
    }
    assert_int_equal(late.calls, 0);
}

typedef struct closer {
    outcome o;
    int rc_after_close;
} closer;

static void close_in_callback(void *data, int status, PGresult *res, const char *message)
{
    closer *c = data;
    on_outcome(&c->o, status, res, message);
    ehc_pg_pool_close(c->o.f->pool, on_pool_closed, c->o.f);
    c->rc_after_close = ehc_pg_query(c->o.f->pool, "SELECT 1", 0, NULL, 1000, on_outcome, &c->o);
}

static void test_close_from_a_callback_and_before_connecting_leaves_no_handles(void **state)
{
    /* closed while every connection is still connecting */
    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, ehc_test_database_url(), 3);
    fixture_open(&f, &opts);
    fixture_close(&f);

    /* closed from inside a query callback, with another query queued behind it */
    default_options(&opts, ehc_test_database_url(), 1);
    fixture_open(&f, &opts);
    wait_connected(&f, 1, 5000);
    closer c = {.o = {.f = &f}};
    outcome queued;
    assert_int_equal(ehc_pg_query(f.pool, "SELECT 1", 0, NULL, 5000, close_in_callback, &c), 0);
    submit_ok(&f, &queued, "SELECT pg_sleep(5)", 0, NULL, 5000);
    uv_close((uv_handle_t *)&f.tick, NULL);
    assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(f.pool_closed_calls, 1);
    assert_int_equal(uv_loop_close(&f.loop), 0);
    assert_int_equal(c.o.calls, 1);
    assert_int_equal(c.o.status, 0);
    assert_int_equal(c.rc_after_close, EHC_ECLOSED);
    assert_int_equal(queued.calls, 1);
    assert_int_equal(queued.status, EHC_ECLOSED);
}

static void test_bad_arguments_and_conninfo_are_refused(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ehc_pg_pool *pool = NULL;
    ehc_pg_pool_options opts;
    default_options(&opts, "host=/tmp port=5432 password=hunter2 oops", 1);
    assert_int_equal(ehc_pg_pool_new(&loop, &opts, &pool), EHC_EINVAL);
    assert_null(pool);
    default_options(&opts, "host=/tmp", 0);
    assert_int_equal(ehc_pg_pool_new(&loop, &opts, &pool), EHC_EINVAL);

    fixture f;
    default_options(&opts, ehc_test_database_url(), 1);
    fixture_open(&f, &opts);
    assert_int_equal(ehc_pg_pool_start(f.pool), EHC_ESTATE);
    wait_connected(&f, 1, 5000);
    outcome o = {.f = &f};
    assert_int_equal(ehc_pg_query(f.pool, NULL, 0, NULL, 1000, on_outcome, &o), EHC_EINVAL);
    assert_int_equal(ehc_pg_query(f.pool, "SELECT $1", 1, NULL, 1000, on_outcome, &o), EHC_EINVAL);
    assert_int_equal(ehc_pg_query(f.pool, "SELECT 1", 0, NULL, 1000, NULL, &o), EHC_EINVAL);
    /* SQL NULL parameter */
    const char *null_param[] = {NULL};
    assert_int_equal(query_wait(&f, &o, "SELECT coalesce($1::text, 'null')", 1, null_param), 0);
    assert_string_equal(o.value, "null");
    fixture_close(&f);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_connections_carry_application_name_and_server_time_limits(void **state)
{
    fixture f;
    ehc_pg_pool_options opts;
    default_options(&opts, ehc_test_database_url(), 1);
    opts.statement_timeout_ms = 200;
    fixture_open(&f, &opts);
    wait_connected(&f, 1, 5000);

    outcome o, pid_before, slow, pid_after;
    assert_int_equal(query_wait(&f, &o,
                                "SELECT current_setting('application_name') || ' '"
                                " || current_setting('statement_timeout') || ' '"
                                " || current_setting('client_connection_check_interval')",
                                0, NULL),
                     0);
    assert_string_equal(o.value, "ehcd 200ms 1s");
    /* the server's own limit is an ordinary error: the connection is kept */
    assert_int_equal(query_wait(&f, &pid_before, "SELECT pg_backend_pid()", 0, NULL), 0);
    assert_int_equal(query_wait(&f, &slow, "SELECT pg_sleep(2)", 0, NULL), EHC_EINVAL);
    assert_string_equal(slow.sqlstate, "57014");
    assert_int_equal(query_wait(&f, &pid_after, "SELECT pg_backend_pid()", 0, NULL), 0);
    assert_string_equal(pid_before.value, pid_after.value);
    fixture_close(&f);
}

/* If a test failed while the server was stopped, start it again for the tests after it. */
static int restart_server_if_stopped(void **state)
{
    bool *stopped = *state;
    if (*stopped) {
        *stopped = false;
        if (system(ehc_test_env("EHC_TEST_PG_START_CMD")) != 0) return -1;
    }
    return 0;
}

int main(void)
{
    ehc_test_database_url();
    ehc_test_env("EHC_TEST_PG_STOP_CMD");
    ehc_test_env("EHC_TEST_PG_START_CMD");
    static bool server_stopped;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousand_concurrent_queries_over_four_connections_get_their_own_results),
        cmocka_unit_test(test_sql_error_reports_einval_with_sqlstate_and_connection_stays_usable),
        cmocka_unit_test(test_query_past_time_limit_times_out_and_pool_recovers),
        cmocka_unit_test(test_query_waiting_in_queue_times_out_without_dropping_the_connection),
        cmocka_unit_test(test_terminated_backend_is_unavailable_and_queue_waits_for_the_other_connection),
        cmocka_unit_test(test_unreachable_server_refuses_queries_at_once_without_echoing_password),
        cmocka_unit_test(test_silent_server_hits_connect_time_limit),
        cmocka_unit_test(test_close_with_queries_queued_reports_closed_once_each_and_loop_ends),
        cmocka_unit_test(test_close_from_a_callback_and_before_connecting_leaves_no_handles),
        cmocka_unit_test(test_bad_arguments_and_conninfo_are_refused),
        cmocka_unit_test(test_connections_carry_application_name_and_server_time_limits),
        cmocka_unit_test_prestate_setup_teardown(
            test_server_stop_fails_in_flight_refuses_new_then_recovers_after_start, NULL,
            restart_server_if_stopped, &server_stopped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
