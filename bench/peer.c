/* The ehcd side of the peer benchmark (bench/peer.sh, against pg-boss in bench/peer/pgboss.js).
 *
 * One process holds the real scheduler (engine/scheduler.c) over a pool of 4 connections, started on
 * an empty deadlines table. It schedules N deadlines (one shape) durably (multi-row INSERTs of
 * BATCH rows into the store's deadlines table, each its own committed transaction, then the store's
 * hook ehc_scheduler_deadline_changed puts each returned id in the heap), and waits for every one
 * to fire: a firing is the scheduler's transaction that claims the row, inserts its alert and outbox
 * row and moves next_fire_at on, reported (FIRED) after its commit. The rows are written already
 * planned (alert_schedule and next_fire_at given, as bench/scheduler.c does): the calendar planner
 * works in days, and the shapes need instants a fraction of a millisecond apart.
 *
 * Shapes (due instants in whole milliseconds, like the pg-boss side):
 *   spread: N due evenly over SPREAD_MS, from LEAD_MS after scheduling starts;
 *   storm:  N due at the one instant LEAD_MS after scheduling starts.
 *
 * CPU: this process (getrusage) and the whole PostgreSQL cluster (the postmaster's own and reaped
 * children's ticks plus every live child's, from /proc), sampled before and after scheduling and at
 * the first due instant and after the last firing. Prints "key value" lines for bench/peer.sh.
 *
 * Usage: ehc_bench_peer CONNINFO DEFINITIONS_DIR POSTMASTER_PID SHAPE N SPREAD_MS LEAD_MS BATCH
 * (SHAPE spread or storm; one shape a run, the database kept between runs.) */
#include <dirent.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "ehc/definitions.h"
#include "ehc/scheduler.h"
#include "support.h"

#define CASES 100

typedef struct bench {
    uv_loop_t loop;
    ehc_pg_pool *pool;
    ehc_scheduler *sched;
    int ready, closed;
    int64_t *lags_us;
    size_t fired, target;
    int64_t last_fired_us;
    double cpu_self_at_due, cpu_pg_at_due;
    int at_due_sampled;
} bench;

#define PROGRAM "ehc_bench_peer"

static PGconn *admin;
static long postmaster;

static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* The cluster's CPU seconds so far: the postmaster's utime+stime+cutime+cstime (the last two hold
 * every backend that has exited and been reaped) plus utime+stime of every live child. */
static double cpu_cluster(void)
{
    DIR *d = opendir("/proc");
    if (!d) return 0;
    double ticks = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (!p) continue;
        /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
         * cutime cstime */
        char state;
        long ppid, skip;
        unsigned long long ut, st;
        long long cut, cst;
        if (sscanf(p + 2, "%c %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %llu %llu %lld %lld", &state, &ppid,
                   &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &ut, &st, &cut, &cst) != 15)
            continue;
        long pid = atol(e->d_name);
        if (pid == postmaster)
            ticks += (double)(ut + st) + (double)(cut + cst);
        else if (ppid == postmaster)
            ticks += (double)(ut + st);
    }
    closedir(d);
    return ticks / (double)sysconf(_SC_CLK_TCK);
}

static void on_event(void *data, const ehc_scheduler_event *ev)
{
    bench *b = data;
    switch (ev->kind) {
    case EHC_SCHEDULER_READY: b->ready = 1; break;
    case EHC_SCHEDULER_FIRED: {
        int64_t now = bench_real_us();
        if (b->fired < b->target) b->lags_us[b->fired] = now - ev->fire_at.us;
        b->fired++;
        b->last_fired_us = now;
        break;
    }
    case EHC_SCHEDULER_ERROR:
        fprintf(stderr, "scheduler error: %s (%s)\n", ev->message, ehc_strerror(ev->status));
        break;
    case EHC_SCHEDULER_CLOSED: b->closed = 1; break;
    }
}

static void on_due(uv_timer_t *t)
{
    bench *b = t->data;
    b->cpu_self_at_due = cpu_self();
    b->cpu_pg_at_due = cpu_cluster();
    b->at_due_sampled = 1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void on_pool_closed(void *data)
{
    (void)data;
}

static void on_timer_closed(uv_handle_t *h)
{
    (void)h;
}

/* A PostgreSQL array literal of integers. */
typedef struct arr {
    char *buf;
    size_t len;
} arr;

static void arr_add(arr *a, int64_t v)
{
    char sep = a->len == 0 ? '{' : ',';
    a->buf[a->len++] = sep;
    a->len += (size_t)sprintf(a->buf + a->len, "%" PRId64, v);
}

static void arr_end(arr *a)
{
    if (a->len == 0) a->buf[a->len++] = '{';
    a->buf[a->len++] = '}';
    a->buf[a->len] = '\0';
}

static const char SQL_SCHEDULE[] =
    "INSERT INTO deadlines (authority_id, case_id, deadline_key, instance_key, kind, basis, origin_on, "
    "due_on, "
    "set_by_seq, next_fire_at, alert_schedule, planned_due_on) "
    "SELECT $1::bigint, t.c, 'decision_due', t.k, 'statutory', 'SEND Regulations 2014, reg 5(1)', "
    "'2026-01-05', '2026-02-16', 1, ehc__us_to_ts(t.us), "
    "jsonb_build_array(jsonb_build_object('level', 'due', 'on', '2026-02-16', 'at_us', t.us, "
    "'to', jsonb_build_array('officer'))), '2026-02-16' "
    "FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS t(c, k, us) "
    "RETURNING id, ehc__ts_to_us(next_fire_at)";

int main(int argc, char **argv)
{
    if (argc != 9)
        bench_die("usage",
                  "ehc_bench_peer CONNINFO DEFINITIONS_DIR POSTMASTER_PID SHAPE N SPREAD_MS LEAD_MS BATCH");
    const char *conninfo = argv[1], *shape = argv[4];
    postmaster = atol(argv[3]);
    long n = atol(argv[5]), spread_ms = atol(argv[6]), lead_ms = atol(argv[7]), batch = atol(argv[8]);
    if (n < 1 || batch < 1 || lead_ms < 1 || (strcmp(shape, "spread") && strcmp(shape, "storm")))
        bench_die("usage", "bad shape, N, LEAD_MS or BATCH");
    if (strcmp(shape, "storm") == 0) spread_ms = 0;
    admin = bench_connect(PROGRAM, conninfo);
    ehc_definitions *defs;
    ehc_load_error lerr;
    if (ehc_definitions_load(argv[2], &defs, &lerr)) bench_die("definitions", lerr.reason);

    /* one authority, an officer, 100 cases the deadlines belong to (made once per database) */
    long cases[CASES];
    long authority = bench_cases(defs, cases, CASES);
    long first_key = bench_scalar("SELECT count(*) FROM deadlines");
    long alerts_before = bench_scalar("SELECT count(*) FROM alerts");

    bench b;
    memset(&b, 0, sizeof b);
    b.target = (size_t)n;
    b.lags_us = calloc((size_t)n + 1, sizeof *b.lags_us);
    uv_loop_init(&b.loop);
    ehc_pg_pool_options popts;
    ehc_pg_pool_options_default(&popts);
    popts.conninfo = conninfo;
    popts.size = 4;
    popts.session_role = "ehc_app";
    if (ehc_pg_pool_new(&b.loop, &popts, &b.pool) || ehc_pg_pool_start(b.pool)) bench_die("pool", "");
    while (ehc_pg_pool_connected(b.pool) < popts.size)
        uv_run(&b.loop, UV_RUN_ONCE);
    ehc_clock clock = ehc_clock_real();
    ehc_scheduler_options sopts;
    ehc_scheduler_options_default(&sopts);
    if (ehc_scheduler_new(&b.loop, b.pool, defs, &clock, &sopts, on_event, &b, &b.sched))
        bench_die("scheduler", "");
    if (ehc_scheduler_start(b.sched)) bench_die("scheduler start", "");
    while (!b.ready)
        uv_run(&b.loop, UV_RUN_ONCE);

    /* schedule: BATCH rows a committed INSERT, then the store's hook for each returned row */
    char authority_text[24];
    snprintf(authority_text, sizeof authority_text, "%ld", authority);
    double self0 = cpu_self(), pg0 = cpu_cluster();
    int64_t start_us = bench_real_us();
    int64_t base_ms = start_us / 1000 + lead_ms;
    uint64_t t0 = uv_hrtime();
    for (long from = 0; from < n; from += batch) {
        long to = from + batch < n ? from + batch : n;
        size_t cap = (size_t)(to - from) * 24 + 4;
        arr ca = {malloc(cap), 0}, ka = {malloc(cap), 0}, ua = {malloc(cap), 0};
        if (!ca.buf || !ka.buf || !ua.buf) bench_die("memory", "");
        for (long i = from; i < to; i++) {
            arr_add(&ca, cases[(first_key + i) % CASES]);
            arr_add(&ka, first_key + i);
            arr_add(&ua, (base_ms + (spread_ms > 0 ? spread_ms * i / n : 0)) * 1000);
        }
        arr_end(&ca), arr_end(&ka), arr_end(&ua);
        const char *params[4] = {authority_text, ca.buf, ka.buf, ua.buf};
        PGresult *r = PQexecParams(admin, SQL_SCHEDULE, 4, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != to - from)
            bench_die("schedule", PQresultErrorMessage(r));
        for (int i = 0; i < PQntuples(r); i++) {
            ehc_instant at = {strtoll(PQgetvalue(r, i, 1), NULL, 10)};
            ehc_scheduler_deadline_changed(b.sched, strtoll(PQgetvalue(r, i, 0), NULL, 10), &at);
        }
        PQclear(r);
        free(ca.buf), free(ka.buf), free(ua.buf);
    }
    double schedule_s = (double)(uv_hrtime() - t0) / 1e9;
    double self1 = cpu_self(), pg1 = cpu_cluster();
    int64_t sched_end_us = bench_real_us();

    /* fire: sample the CPU at the first due instant, wait for the last firing */
    uv_timer_t due_timer;
    uv_timer_init(&b.loop, &due_timer);
    due_timer.data = &b;
    int64_t until_due_ms = base_ms - sched_end_us / 1000;
    uv_timer_start(&due_timer, on_due, until_due_ms > 0 ? (uint64_t)until_due_ms : 0, 0);
    uint64_t wait_from = uv_hrtime();
    uint64_t limit_ns = (uint64_t)(lead_ms + spread_ms + 600000) * 1000000;
    while ((b.fired < b.target || !b.at_due_sampled) && uv_hrtime() - wait_from < limit_ns)
        uv_run(&b.loop, UV_RUN_ONCE);
    double self2 = cpu_self(), pg2 = cpu_cluster();
    uv_close((uv_handle_t *)&due_timer, on_timer_closed);

    size_t k = b.fired < b.target ? b.fired : b.target;
    qsort(b.lags_us, k, sizeof *b.lags_us, cmp_i64);
    printf("system ehcd\nshape %s\n", shape);
    printf("jobs %ld\n", n);
    printf("schedule_seconds %.3f\n", schedule_s);
    printf("schedule_rate %.0f\n", (double)n / schedule_s);
    printf("schedule_late %d\n", sched_end_us / 1000 > base_ms ? 1 : 0);
    printf("schedule_cpu_self_s %.2f\n", self1 - self0);
    printf("schedule_cpu_pg_s %.2f\n", pg1 - pg0);
    printf("fired %zu\n", b.fired);
    if (k > 0) {
        printf("lag_p50_ms %.1f\n", (double)b.lags_us[k / 2] / 1000.0);
        printf("lag_p99_ms %.1f\n", (double)b.lags_us[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1] / 1000.0);
        printf("lag_max_ms %.1f\n", (double)b.lags_us[k - 1] / 1000.0);
    }
    printf("fire_window_seconds %.3f\n", (double)(b.last_fired_us - base_ms * 1000) / 1e6);
    printf("fire_cpu_self_s %.2f\n", self2 - b.cpu_self_at_due);
    printf("fire_cpu_pg_s %.2f\n", pg2 - b.cpu_pg_at_due);
    ehc_scheduler_stats st;
    ehc_scheduler_stats_get(b.sched, &st);
    printf("fire_transactions %" PRIu64 "\n", st.rounds);
    printf("alerts_committed %ld\n", bench_scalar("SELECT count(*) FROM alerts") - alerts_before);

    ehc_scheduler_close(b.sched);
    while (!b.closed)
        uv_run(&b.loop, UV_RUN_ONCE);
    ehc_pg_pool_close(b.pool, on_pool_closed, NULL);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    free(b.lags_us);
    ehc_definitions_free(defs);
    PQfinish(admin);
    return b.fired >= b.target ? 0 : 1;
}
