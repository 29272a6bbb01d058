/* Deadline alerts exactly once through crashes: 10,000 cases opened through ehcd, then the simulated
 * clock run through a month twice from the same starting database - once by an ehcd that is never
 * disturbed (B, the reference) and once by an ehcd killed with SIGKILL at random moments and
 * restarted (A) - and the alerts, their outbox rows and the deadlines' next instants compared.
 *
 * Why the two runs must agree: alerts fire only when the clock is moved, and the clock is moved
 * only by POST /admin/clock to a live ehcd (the killed one never misses a move: a move cut short
 * is retried after the restart, with the same instant). Each step moves the clock by 6 hours and
 * every alert instant of a deadline is 07:00 on a different day, so no step can make two levels
 * of one deadline due at once: the catch-up rule (only the highest level due fires) never has a
 * lower level to drop, whether the level fires in the step's POST or in the catch-up after a
 * restart. B checks that premise: after opening, none of its alerts is a catch-up. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ehc/migrate.h"
#include "testlib.h"

#define CASES 10000
#define OPENING_CLIENTS 8
#define STEP_SECONDS (6 * 3600)
#define STEPS 124        /* 31 days */
#define PLANNED_KILLS 20 /* some land on an incarnation already killed: at least MIN_KILLS happen */
#define MIN_KILLS 10
#define SETTLE_LIMIT_MS 120000

#define ADMIN_TOKEN "Authorization: Bearer tok-admin-0123456789abcdefghij"
#define OFFICER_TOKEN "Authorization: Bearer tok-officer1-0123456789abcdefghij"

/* The cases are opened with the clock here; the runs go on from it for 31 days. Half the requests are
 * received on the 30 working days from 1 December 2025 (their decision alerts fall from late
 * December to late February), the other half on the 30 working days from 1 September 2025 (their
 * 16- and 20-week alerts in the same weeks, their decision long overdue when the case is opened). */
static const int64_t OPENED_AT_S = 1768392000; /* 2026-01-14T12:00:00Z */
static const int64_t DECEMBER_S = 1764547200;  /* 2025-12-01 */
static const int64_t SEPTEMBER_S = 1756684800; /* 2025-09-01 */

static char *admin_url; /* the cluster's superuser conninfo, database postgres */
static int opening_port;
/* the daemons this test may have running, for the teardown to end when a check failed */
static ehc_test_daemon *running[3];

/* ---- small helpers --------------------------------------------------------------------------------- */

static void iso_instant(int64_t s, char out[24])
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void iso_date(int64_t s, char out[16])
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

/* The k-th working day from `from` (a Monday), skipping the bank holidays of those weeks: a request
 * received on a weekend or holiday would count from the next working day. */
static int64_t working_day(int64_t from, int k)
{
    static const int64_t holidays[] = {1766620800, 1766707200, 1767225600}; /* 25, 26 Dec, 1 Jan */
    int64_t day = from;
    for (;; day += 86400) {
        int weekday = (int)((day / 86400 + 3) % 7); /* 0 Monday */
        bool holiday = false;
        for (size_t i = 0; i < sizeof holidays / sizeof holidays[0]; i++)
            holiday = holiday || holidays[i] == day;
        if (weekday >= 5 || holiday) continue;
        if (k-- == 0) return day;
    }
}

static char *conninfo_for(const char *dbname)
{
    size_t n = strlen(admin_url) + strlen(dbname) + 16;
    char *out = malloc(n);
    snprintf(out, n, "%s dbname=%s", admin_url, dbname);
    return out;
}

static PGconn *connect_to(const char *dbname)
{
    char *url = conninfo_for(dbname);
    PGconn *c = PQconnectdb(url);
    free(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to %s: %s", dbname, PQerrorMessage(c));
        fail();
    }
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    PQclear(r);
}

/* A count, or -1 when the query failed (for the threads, which may not call fail()). */
static long try_scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : -1;
    if (v < 0) fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

static long scalar(PGconn *c, const char *sql)
{
    long v = try_scalar(c, sql);
    assert_true(v >= 0);
    return v;
}

typedef struct body_buf {
    char *p;
    size_t n;
} body_buf;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    body_buf *b = ud;
    size_t len = size * nmemb;
    char *p = realloc(b->p, b->n + len + 1);
    if (!p) return 0;
    b->p = p;
    memcpy(b->p + b->n, ptr, len);
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

/* One request on a handle kept by the caller (keep-alive). Returns the status, 0 when the request
 * failed at the transport level (connection refused or reset: the daemon is gone). */
static long http_post(CURL *c, int port, const char *path, const char *const *headers, const char *body,
                      long timeout_ms, char **reply)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *hl = NULL;
    for (const char *const *h = headers; *h; h++)
        hl = curl_slist_append(hl, *h);
    body_buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    if (reply)
        *reply = b.p;
    else
        free(b.p);
    return status;
}

static void daemon_start(ehc_test_daemon *d, const char *dbname)
{
    static char env_db[8][1024];
    static int next_env;
    char *url = conninfo_for(dbname);
    char *slot = env_db[next_env++ % 8];
    snprintf(slot, 1024, "DATABASE_URL=%s", url);
    free(url);
    const char *env[] = {slot, NULL};
    const char *args[] = {"serve", "--sim-clock=2025-01-01T00:00:00Z", NULL};
    d->port = 0; /* a new port, so each incarnation keeps its own log */
    ehc_test_daemon_start(d, args, env);
}

static void daemon_stop_cleanly(ehc_test_daemon *d)
{
    int st = ehc_test_daemon_stop(d, SIGTERM);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "ehcd did not stop cleanly (status %d); log: %s\n", st, d->log_path);
        fail();
    }
}

/* ---- the starting database: 10,000 cases opened through ehcd ------------------------------------ */

static void add_user(PGconn *c, const char *name, const char *role)
{
    char sql[1024], token[128], sha[65];
    snprintf(sql, sizeof sql, "INSERT INTO users (username, display_name, is_admin) VALUES ('%s', '%s', %s)",
             name, name, role ? "false" : "true");
    exec_ok(c, sql);
    snprintf(token, sizeof token, "tok-%s-0123456789abcdefghij", name);
    ehc_sha256_hex(token, strlen(token), sha);
    snprintf(sql, sizeof sql,
             "INSERT INTO api_tokens (user_id, name, token_sha256) SELECT id, 'test', '%s' FROM users "
             "WHERE username = '%s'",
             sha, name);
    exec_ok(c, sql);
    if (!role) return;
    snprintf(
        sql, sizeof sql,
        "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, '%s', t.authority_id, "
        "t.id FROM users u, teams t WHERE u.username = '%s' AND t.name = 'North'",
        role, name);
    exec_ok(c, sql);
}

typedef struct opener {
    int first;
    long team_id;
    int opened;
    char error[512];
    _Atomic bool done;
} opener;

static bool openings_done(opener *openers)
{
    for (int i = 0; i < OPENING_CLIENTS; i++)
        if (!openers[i].done) return false;
    return true;
}

static void *open_cases(void *arg)
{
    opener *o = arg;
    CURL *c = curl_easy_init();
    const char *headers_fmt = "Idempotency-Key: crash-case-%d";
    for (int i = o->first; i < CASES; i += OPENING_CLIENTS) {
        int64_t received = working_day(i % 2 ? SEPTEMBER_S : DECEMBER_S, (i / 2) % 30);
        char on[16], body[1024], idem[64];
        iso_date(received, on);
        snprintf(
            body, sizeof body,
            "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": {\"forename\": \"Crash\", "
            "\"surname\": \"Case%d\", \"date_of_birth\": \"2019-04-02\"}, \"request\": {\"effective_on\": "
            "\"%s\", \"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": "
            "\"%sT10:30\"}}}",
            o->team_id, i, on, on);
        snprintf(idem, sizeof idem, headers_fmt, i);
        const char *h[] = {OFFICER_TOKEN, "Content-Type: application/json", idem, NULL};
        long status = 0;
        char *reply = NULL;
        /* the same Idempotency-Key makes a retry safe */
        for (int attempt = 0; attempt < 20 && status != 201 && status != 200; attempt++) {
            free(reply);
            reply = NULL;
            if (attempt) usleep(100 * 1000);
            status = http_post(c, opening_port, "/api/v1/cases", h, body, 30000, &reply);
            if (status != 0 && status != 503 && status != 201 && status != 200) break;
        }
        if (status != 201 && status != 200) {
            snprintf(o->error, sizeof o->error, "case %d -> %ld %s", i, status, reply ? reply : "");
            free(reply);
            break;
        }
        free(reply);
        o->opened++;
    }
    curl_easy_cleanup(c);
    o->done = true;
    return NULL;
}

/* Commits in these databases do not wait for the WAL flush: what is tested is ehcd being killed,
 * never PostgreSQL, and a commit is visible to every session the moment it returns whether or not
 * it has reached the disk. It takes the wait for fsync out of 10,000 openings and 50,000 alerts. */
static void create_database(const char *name, const char *template)
{
    PGconn *admin = connect_to("postgres");
    char sql[256];
    if (template)
        snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s", name, template);
    else
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    exec_ok(admin, sql);
    snprintf(sql, sizeof sql, "ALTER DATABASE %s SET synchronous_commit = off", name);
    exec_ok(admin, sql);
    PQfinish(admin);
}

/* Nothing due left unfired and nothing unplanned, at the stored simulated clock. */
static const char SQL_UNSETTLED[] =
    "SELECT count(*) FROM deadlines d, sim_clock s WHERE d.status = 'open' AND "
    "(d.next_fire_at <= ehc__us_to_ts(s.now_us) OR d.planned_due_on IS DISTINCT FROM d.due_on)";

static void wait_settled(PGconn *c, const char *what)
{
    int64_t t0 = ehc_test_now_ms();
    long n;
    while ((n = scalar(c, SQL_UNSETTLED)) > 0) {
        if (ehc_test_now_ms() - t0 > SETTLE_LIMIT_MS) {
            fprintf(stderr, "%s: %ld deadlines still due or unplanned after %d s\n", what, n,
                    SETTLE_LIMIT_MS / 1000);
            fail();
        }
        usleep(20 * 1000);
    }
}

static void build_starting_database(const char *name)
{
    create_database(name, NULL);
    PGconn *c = connect_to(name);
    char sql[256];
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(c, &applied, err, sizeof err), 0);
    exec_ok(c, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    exec_ok(c, "INSERT INTO teams (authority_id, name) SELECT id, 'North' FROM local_authorities");
    add_user(c, "officer1", "officer");
    add_user(c, "manager1", "manager");
    add_user(c, "admin", NULL);
    snprintf(sql, sizeof sql, "INSERT INTO sim_clock (now_us) VALUES (%" PRId64 ")", OPENED_AT_S * 1000000);
    exec_ok(c, sql);
    long team_id = scalar(c, "SELECT id FROM teams WHERE name = 'North'");

    static ehc_test_daemon d;
    running[0] = &d;
    daemon_start(&d, name);
    opening_port = d.port;
    int64_t t0 = ehc_test_now_ms();
    pthread_t threads[OPENING_CLIENTS];
    opener openers[OPENING_CLIENTS];
    for (int i = 0; i < OPENING_CLIENTS; i++) {
        openers[i] = (opener){.first = i, .team_id = team_id};
        assert_int_equal(pthread_create(&threads[i], NULL, open_cases, &openers[i]), 0);
    }
    /* Statistics as a database that has been in use would have them. A fresh database filled this
     * fast has none until autovacuum's next round (a minute): meanwhile PostgreSQL plans
     * ehc_scheduler_plan's UPDATE, under row-level security, as a scan of every open deadline, 77 ms
     * a case at 20,000 deadlines instead of 0.1 ms, and the opening took 90 s, not 30 s. */
    for (int64_t next = ehc_test_now_ms() + 1000; !openings_done(openers); usleep(100 * 1000)) {
        if (ehc_test_now_ms() < next) continue;
        exec_ok(c, "ANALYZE");
        next = ehc_test_now_ms() + 3000;
    }
    int opened = 0;
    for (int i = 0; i < OPENING_CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        if (openers[i].error[0]) fprintf(stderr, "opening: %s\n", openers[i].error);
        opened += openers[i].opened;
    }
    int64_t t1 = ehc_test_now_ms();
    if (opened != CASES) fprintf(stderr, "opening: log %s\n", d.log_path);
    assert_int_equal(opened, CASES);
    wait_settled(c, "after opening");
    fprintf(stderr, "# opened %d cases through ehcd in %.1f s (%d clients), settled in %.1f s\n", opened,
            (double)(t1 - t0) / 1000, OPENING_CLIENTS, (double)(ehc_test_now_ms() - t1) / 1000);
    assert_int_equal(scalar(c, "SELECT count(*) FROM cases"), CASES);
    daemon_stop_cleanly(&d);
    PQfinish(c);
}

/* ---- the runs -------------------------------------------------------------------------------------- */

/* One ehcd run through the steps. The killer thread kills `d` when armed; the run thread finds out
 * from a failed request, restarts ehcd and retries the step. */
typedef struct run {
    const char *name;
    const char *dbname;
    bool crash;
    ehc_test_daemon d;
    PGconn *db;
    CURL *http;
    unsigned rng;
    /* shared with the killer */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int incarnation;
    int armed_incarnation; /* 0: not armed */
    int armed_delay_ms;
    int killed_incarnation;
    bool finished;
    bool posting; /* a POST /admin/clock is in flight */
    /* results */
    int kills;
    int kills_in_post;    /* while a POST /admin/clock was in flight */
    int kills_mid_firing; /* that left alerts due and unfired, for the restarted ehcd to catch up */
    int restarts;
    int64_t seconds_ms;
    char logs[64][256];
    int log_count;
} run;

static void *killer(void *arg)
{
    run *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->finished) {
        if (!r->armed_incarnation) {
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        int target = r->armed_incarnation, delay = r->armed_delay_ms;
        r->armed_incarnation = 0;
        pthread_mutex_unlock(&r->mu);
        usleep((useconds_t)delay * 1000);
        pthread_mutex_lock(&r->mu);
        if (r->incarnation == target && r->killed_incarnation != target && !r->finished) {
            kill(r->d.pid, SIGKILL);
            r->killed_incarnation = target;
            r->kills++;
            r->kills_in_post += r->posting;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void arm_killer(run *r, int max_delay_ms)
{
    pthread_mutex_lock(&r->mu);
    r->armed_incarnation = r->incarnation;
    r->armed_delay_ms = (int)(rand_r(&r->rng) % (unsigned)(max_delay_ms + 1));
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void run_start_daemon(run *r)
{
    daemon_start(&r->d, r->dbname);
    if (r->log_count < 64) snprintf(r->logs[r->log_count++], 256, "%s", r->d.log_path);
    pthread_mutex_lock(&r->mu);
    r->incarnation++;
    pthread_mutex_unlock(&r->mu);
}

/* After a failed request: the daemon must have been killed by us; reap it and start another. */
static void run_restart(run *r, const char *during)
{
    pthread_mutex_lock(&r->mu);
    bool ours = r->killed_incarnation == r->incarnation;
    pthread_mutex_unlock(&r->mu);
    if (!ours) {
        int st = 0;
        pid_t p = waitpid(r->d.pid, &st, WNOHANG);
        fprintf(stderr, "%s: %s failed and ehcd was not killed by the test (%s, status %d); log: %s\n",
                r->name, during, p == r->d.pid ? "it exited" : "it is still running", st, r->d.log_path);
        fail();
    }
    int st = 0;
    assert_int_equal(waitpid(r->d.pid, &st, 0), r->d.pid);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
        fprintf(stderr, "%s: ehcd ended with status %d, not by our SIGKILL; log: %s\n", r->name, st,
                r->d.log_path);
        fail();
    }
    r->d.pid = 0;
    r->restarts++;
    static const char due_now[] = "SELECT count(*) FROM deadlines d, sim_clock s WHERE d.status = 'open' AND "
                                  "d.next_fire_at <= ehc__us_to_ts(s.now_us)";
    r->kills_mid_firing += scalar(r->db, due_now) > 0;
    run_start_daemon(r);
    /* now and then, kill it again while it catches up */
    if (r->crash && rand_r(&r->rng) % 3 == 0) arm_killer(r, 600);
}

static bool daemon_killed(run *r)
{
    pthread_mutex_lock(&r->mu);
    bool k = r->killed_incarnation == r->incarnation;
    pthread_mutex_unlock(&r->mu);
    return k;
}

/* Moves the clock to `at`, through any number of kills, and returns once ehcd is up and every
 * alert due at `at` has fired (checked in the database, not only by the reply). */
static void move_clock(run *r, int64_t at)
{
    char iso[24], body[64];
    iso_instant(at, iso);
    snprintf(body, sizeof body, "{\"now\": \"%s\"}", iso);
    const char *h[] = {ADMIN_TOKEN, "Content-Type: application/json", NULL};
    for (;;) {
        char *reply = NULL;
        pthread_mutex_lock(&r->mu);
        r->posting = true;
        pthread_mutex_unlock(&r->mu);
        long status = http_post(r->http, r->d.port, "/admin/clock", h, body, 120000, &reply);
        pthread_mutex_lock(&r->mu);
        r->posting = false;
        pthread_mutex_unlock(&r->mu);
        if (status == 0) {
            free(reply);
            run_restart(r, "POST /admin/clock");
            continue;
        }
        /* 503 not_settled: the clock moved but firing runs past the reply's 30 s: wait for it below */
        if (status != 200 && !(status == 503 && reply && strstr(reply, "not_settled"))) {
            fprintf(stderr, "%s: POST /admin/clock %s -> %ld %s\n", r->name, iso, status, reply ? reply : "");
            free(reply);
            fail();
        }
        free(reply);
        /* the reply comes once the scheduler is idle (or, 503, after its own 30 s limit): make sure */
        int64_t t0 = ehc_test_now_ms();
        long n;
        while ((n = scalar(r->db, SQL_UNSETTLED)) > 0 && !daemon_killed(r)) {
            if (ehc_test_now_ms() - t0 > SETTLE_LIMIT_MS) {
                fprintf(stderr, "%s: %ld deadlines still due at %s after %d s; log: %s\n", r->name, n, iso,
                        SETTLE_LIMIT_MS / 1000, r->d.log_path);
                fail();
            }
            usleep(20 * 1000);
        }
        if (n == 0) return;
        run_restart(r, "settling");
    }
}

static void run_steps(run *r, unsigned seed)
{
    r->rng = seed;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->db = connect_to(r->dbname);
    r->http = curl_easy_init();
    pthread_t k;
    if (r->crash) assert_int_equal(pthread_create(&k, NULL, killer, r), 0);
    int64_t t0 = ehc_test_now_ms();
    run_start_daemon(r);
    /* the kills: PLANNED_KILLS distinct steps, each killed a random 0-400 ms after its POST is sent
     * (during the firing when the step has work, else between steps or during the next one) */
    bool kill_at[STEPS] = {false};
    for (int n = 0; r->crash && n < PLANNED_KILLS;) {
        int s = (int)(rand_r(&r->rng) % STEPS);
        if (!kill_at[s]) {
            kill_at[s] = true;
            n++;
        }
    }
    for (int s = 1; s <= STEPS; s++) {
        if (kill_at[s - 1]) arm_killer(r, 400);
        move_clock(r, OPENED_AT_S + (int64_t)s * STEP_SECONDS);
    }
    if (r->crash) {
        pthread_mutex_lock(&r->mu);
        r->finished = true;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(k, NULL);
        /* a kill that landed after the last step: restart and settle once more */
        if (daemon_killed(r)) run_restart(r, "the last step");
        move_clock(r, OPENED_AT_S + (int64_t)STEPS * STEP_SECONDS);
    }
    r->seconds_ms = ehc_test_now_ms() - t0;
    daemon_stop_cleanly(&r->d);
    curl_easy_cleanup(r->http);
    PQfinish(r->db);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

/* The clocks the restarted daemons loaded (from their logs: a move cut short may still commit after
 * the kill), as the elements of a PostgreSQL bigint[] in microseconds. */
static void restart_clocks(const run *r, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 1; i < r->log_count; i++) {
        FILE *f = fopen(r->logs[i], "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f)) {
            const char *p = strstr(line, "simulated clock at ");
            if (p && strstr(line, "sim_clock_loaded") && len + 32 < size)
                len += (size_t)snprintf(out + len, size - len, "%s%lld000000", len ? "," : "",
                                        atoll(p + strlen("simulated clock at ")));
        }
        if (f) fclose(f);
    }
}

/* ---- comparing --------------------------------------------------------------------------------------- */

typedef struct rows {
    PGresult *res;
    int n;
} rows;

static rows fetch_rows(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(res));
        fail();
    }
    return (rows){res, PQntuples(res)};
}

/* Both results hold one text column, sorted; prints up to 10 differences and returns their count. */
static long diff_rows(const char *what, rows a, rows b)
{
    long diffs = 0;
    int i = 0, j = 0;
    while (i < a.n || j < b.n) {
        int cmp = i >= a.n ? 1 : j >= b.n ? -1 : strcmp(PQgetvalue(a.res, i, 0), PQgetvalue(b.res, j, 0));
        if (cmp == 0) {
            i++;
            j++;
            continue;
        }
        if (diffs++ < 10)
            fprintf(stderr, "%s: only in %s: %s\n", what, cmp < 0 ? "A (crashed)" : "B (reference)",
                    cmp < 0 ? PQgetvalue(a.res, i, 0) : PQgetvalue(b.res, j, 0));
        if (cmp < 0)
            i++;
        else
            j++;
    }
    return diffs;
}

/* Every alert with the deadline it belongs to and its outbox rows. Case and deadline ids are the same
 * in both databases (copies of one), so they are stable keys. */
static const char SQL_ALERTS[] =
    "SELECT k FROM (SELECT concat_ws('|', d.case_id, d.deadline_key, d.instance_key, a.level, "
    "to_char(a.fire_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), coalesce(o.n, 0), coalesce(o.keys, 0)) AS "
    "k "
    "FROM alerts a JOIN deadlines d ON d.id = a.deadline_id "
    "LEFT JOIN (SELECT alert_id, count(*) AS n, count(DISTINCT idempotency_key) AS keys FROM outbox "
    "GROUP BY alert_id) o ON o.alert_id = a.id) x ORDER BY k COLLATE \"C\"";

static const char SQL_DEADLINES[] =
    "SELECT k FROM (SELECT concat_ws('|', d.id, d.case_id, d.deadline_key, d.status, "
    "coalesce(to_char(d.next_fire_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '-')) AS k "
    "FROM deadlines d) x ORDER BY k COLLATE \"C\"";

static void check_one(PGconn *c, const char *name)
{
    /* the unique key allows no duplicate; an outbox row per alert and recipient, its key unique */
    assert_int_equal(scalar(c, "SELECT count(*) FROM (SELECT 1 FROM alerts GROUP BY deadline_id, level "
                               "HAVING count(*) > 1) x"),
                     0);
    long orphan = scalar(c, "SELECT count(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM outbox o "
                            "WHERE o.alert_id = a.id)");
    long dup_keys = scalar(c, "SELECT count(*) - count(DISTINCT idempotency_key) FROM outbox");
    long late =
        scalar(c, "SELECT count(*) FROM alerts a, sim_clock s WHERE a.fire_at > ehc__us_to_ts(s.now_us)");
    if (orphan || dup_keys || late) {
        fprintf(stderr,
                "%s: %ld alerts without outbox rows, %ld duplicate idempotency keys, %ld alerts "
                "raised before their instant\n",
                name, orphan, dup_keys, late);
        fail();
    }
}

static void compare(const char *db_a, const char *db_b, const run *a, const run *b)
{
    PGconn *ca = connect_to(db_a), *cb = connect_to(db_b);
    check_one(ca, "A");
    check_one(cb, "B");
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM alerts WHERE fired_at > ehc__us_to_ts(%" PRId64 ")",
             OPENED_AT_S * 1000000);
    long fired_a = scalar(ca, sql), fired_b = scalar(cb, sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM alerts WHERE caught_up AND fired_at > ehc__us_to_ts(%" PRId64 ")",
             OPENED_AT_S * 1000000);
    long caught_a = scalar(ca, sql), caught_b = scalar(cb, sql);
    long total_a = scalar(ca, "SELECT count(*) FROM alerts"),
         total_b = scalar(cb, "SELECT count(*) FROM alerts");
    long outbox_a = scalar(ca, "SELECT count(*) FROM outbox"),
         outbox_b = scalar(cb, "SELECT count(*) FROM outbox");
    fprintf(stderr,
            "# alerts: A %ld (%ld during the run, %ld of them catch-ups after a kill), B %ld (%ld during the "
            "run, %ld catch-ups); outbox rows: A %ld, B %ld\n",
            total_a, fired_a, caught_a, total_b, fired_b, caught_b, outbox_a, outbox_b);
    fprintf(stderr,
            "# A: %d kills (%d while a POST /admin/clock was in flight, %d leaving alerts due unfired), %d "
            "restarts, %.1f s; B: %.1f s\n",
            a->kills, a->kills_in_post, a->kills_mid_firing, a->restarts, (double)a->seconds_ms / 1000,
            (double)b->seconds_ms / 1000);
    PGresult *levels =
        PQexec(cb, "SELECT string_agg(x, ', ' ORDER BY x) FROM (SELECT d.deadline_key || ' ' || "
                   "a.level || ': ' || count(*) AS x FROM alerts a JOIN deadlines d ON d.id = "
                   "a.deadline_id GROUP BY d.deadline_key, a.level) y");
    if (PQresultStatus(levels) == PGRES_TUPLES_OK)
        fprintf(stderr, "# B by level: %s\n", PQgetvalue(levels, 0, 0));
    PQclear(levels);

    /* B moved the clock in steps too small for two levels of a deadline to fall due together; A's
     * catch-ups were all raised by a restarted ehcd, at the clock it restarted with */
    assert_int_equal(caught_b, 0);
    char clocks[4096], caught_sql[4096 + 256];
    restart_clocks(a, clocks, sizeof clocks);
    snprintf(caught_sql, sizeof caught_sql,
             "SELECT count(*) FROM alerts WHERE caught_up AND fired_at > ehc__us_to_ts(%" PRId64 ") AND "
             "ehc__ts_to_us(fired_at) <> ALL ('{%s}'::bigint[])",
             OPENED_AT_S * 1000000, clocks);
    long caught_elsewhere = scalar(ca, caught_sql);
    assert_int_equal(caught_elsewhere, 0);
    rows ra = fetch_rows(ca, SQL_ALERTS), rb = fetch_rows(cb, SQL_ALERTS);
    long alert_diffs = diff_rows("alert", ra, rb);
    PQclear(ra.res);
    PQclear(rb.res);
    rows da = fetch_rows(ca, SQL_DEADLINES), db = fetch_rows(cb, SQL_DEADLINES);
    long deadline_diffs = diff_rows("deadline", da, db);
    PQclear(da.res);
    PQclear(db.res);
    assert_int_equal(alert_diffs, 0);
    assert_int_equal(deadline_diffs, 0);
    assert_true(fired_b > CASES); /* the run raised alerts, not only the opening */
    PQfinish(ca);
    PQfinish(cb);
}

/* ---- the test ---------------------------------------------------------------------------------------- */

static void test_alerts_exist_exactly_once_after_sigkills_while_the_clock_runs(void **state)
{
    (void)state;
    admin_url = strdup(ehc_test_database_url());
    const char *seed_env = getenv("EHC_TEST_SEED");
    unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL);
    fprintf(stderr, "# seed %u (EHC_TEST_SEED=%u repeats this run's kill schedule)\n", seed, seed);

    char start[64], db_a[64], db_b[64];
    long tag = (long)getpid();
    snprintf(start, sizeof start, "ehc_crash_start_%ld", tag);
    snprintf(db_a, sizeof db_a, "ehc_crash_a_%ld", tag);
    snprintf(db_b, sizeof db_b, "ehc_crash_b_%ld", tag);
    build_starting_database(start);
    create_database(db_a, start);
    create_database(db_b, start);

    static run b, a;
    b = (run){.name = "B", .dbname = db_b, .crash = false};
    a = (run){.name = "A", .dbname = db_a, .crash = true};
    running[1] = &b.d;
    running[2] = &a.d;
    run_steps(&b, seed);
    run_steps(&a, seed);
    compare(db_a, db_b, &a, &b);
    assert_true(a.kills >= MIN_KILLS);
    free(admin_url);
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        if (running[i] && running[i]->pid > 0) ehc_test_daemon_stop(running[i], SIGKILL);
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_alerts_exist_exactly_once_after_sigkills_while_the_clock_runs,
                                  teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
