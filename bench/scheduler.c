/* The deadline scheduler at national scale: N pending deadlines (COPY), then a scheduler started on
 * the real clock. Measures start-to-ready (plan sweep + paged load into the heap) against a plain
 * COPY ... TO STDOUT of the same (id, next_fire_at) rows in the same run, memory per pending deadline
 * (the heap's own bytes, and the process RSS growth), and the lag from fire instant to committed
 * alert (with its outbox rows) for FIRE rows due a few seconds after ready, spread over 5 seconds.
 * Prints "key value" lines for bench/scheduler.sh.
 * Usage: ehc_bench_scheduler CONNINFO DEFINITIONS_DIR PENDING FIRE */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
    int64_t ready_us;
    int64_t *lags_us;
    size_t fired, fire_target;
} bench;

#define PROGRAM "ehc_bench_scheduler"

static PGconn *admin;

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * 4;
}

/* `count` rows of (authority, case, key, instance, ...) through COPY FROM STDIN, instance keys from
 * `first`. With spread_us > 0 they come due evenly over [from_us, from_us + spread_us); otherwise at
 * random over the 30 days after from_us. */
static void copy_deadlines(long authority, const long *cases, long first, long count, int64_t from_us,
                           int64_t spread_us)
{
    PGresult *r =
        PQexec(admin, "COPY deadlines (authority_id, case_id, deadline_key, instance_key, kind, basis, "
                      "origin_on, due_on, set_by_seq, next_fire_at, alert_schedule, planned_due_on) "
                      "FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) bench_die("COPY", PQresultErrorMessage(r));
    PQclear(r);
    char line[512];
    uint64_t x = 88172645463325252u;
    for (long i = 0; i < count; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t at = spread_us > 0 ? from_us + spread_us * i / count
                                   : from_us + (int64_t)(x % (uint64_t)(30 * 86400 * EHC_US_PER_SECOND));
        char ts[40];
        time_t t = (time_t)(at / EHC_US_PER_SECOND);
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t k = strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(ts + k, sizeof ts - k, ".%06" PRId64 "+00", at % EHC_US_PER_SECOND);
        int n =
            snprintf(line, sizeof line,
                     "%ld\t%ld\tdecision_due\t%ld\tstatutory\tSEND Regulations 2014, reg 5(1)\t2026-01-05\t"
                     "2026-02-16\t1\t%s\t[{\"level\": \"due\", \"on\": \"2026-02-16\", \"at_us\": %" PRId64
                     ", \"to\": [\"officer\"]}]\t2026-02-16\n",
                     authority, cases[(first + i) % CASES], first + i, ts, at);
        if (PQputCopyData(admin, line, n) != 1) bench_die("COPY data", PQerrorMessage(admin));
    }
    if (PQputCopyEnd(admin, NULL) != 1) bench_die("COPY end", PQerrorMessage(admin));
    r = PQgetResult(admin);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) bench_die("COPY", PQresultErrorMessage(r));
    PQclear(r);
}

static void on_event(void *data, const ehc_scheduler_event *ev)
{
    bench *b = data;
    switch (ev->kind) {
    case EHC_SCHEDULER_READY:
        b->ready = 1;
        b->ready_us = ev->elapsed_us;
        break;
    case EHC_SCHEDULER_FIRED:
        if (b->fired < b->fire_target) b->lags_us[b->fired] = bench_real_us() - ev->fire_at.us;
        b->fired++;
        break;
    case EHC_SCHEDULER_ERROR:
        fprintf(stderr, "scheduler error: %s (%s)\n", ev->message, ehc_strerror(ev->status));
        break;
    case EHC_SCHEDULER_CLOSED: b->closed = 1; break;
    }
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

int main(int argc, char **argv)
{
    if (argc != 5) bench_die("usage", "ehc_bench_scheduler CONNINFO DEFINITIONS_DIR PENDING FIRE");
    const char *conninfo = argv[1];
    long pending = atol(argv[3]), fire = atol(argv[4]);
    admin = bench_connect(PROGRAM, conninfo);
    ehc_definitions *defs;
    ehc_load_error lerr;
    if (ehc_definitions_load(argv[2], &defs, &lerr)) bench_die("definitions", lerr.reason);

    /* one authority, an officer, the cases the deadlines belong to */
    long cases[CASES];
    long authority = bench_cases(defs, cases, CASES);

    uint64_t t0 = uv_hrtime();
    copy_deadlines(authority, cases, 0, pending - fire, bench_real_us() + 600 * EHC_US_PER_SECOND, 0);
    double copy_in_s = (double)(uv_hrtime() - t0) / 1e9;
    bench_scalar("VACUUM ANALYZE deadlines");
    /* the batch to fire: due over 5 s from 8 s after now, when the scheduler is ready */
    int64_t now = bench_real_us();
    copy_deadlines(authority, cases, pending - fire, fire, now + 8 * EHC_US_PER_SECOND,
                   5 * EHC_US_PER_SECOND);

    /* the baseline: the same rows out of PostgreSQL with nothing done to them */
    t0 = uv_hrtime();
    PGresult *r = PQexec(admin, "COPY (SELECT id, next_fire_at FROM deadlines WHERE next_fire_at IS NOT NULL "
                                "ORDER BY id) TO STDOUT");
    if (PQresultStatus(r) != PGRES_COPY_OUT) bench_die("COPY TO", PQresultErrorMessage(r));
    PQclear(r);
    char *buf;
    long copied = 0;
    while (PQgetCopyData(admin, &buf, 0) > 0) {
        copied++;
        PQfreemem(buf);
    }
    PQclear(PQgetResult(admin));
    double copy_out_s = (double)(uv_hrtime() - t0) / 1e9;
    t0 = uv_hrtime();
    r = PQexec(admin, "SELECT id, next_fire_at FROM deadlines WHERE next_fire_at IS NOT NULL ORDER BY id");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) bench_die("SELECT", PQresultErrorMessage(r));
    PQclear(r);
    double select_s = (double)(uv_hrtime() - t0) / 1e9;

    bench b;
    memset(&b, 0, sizeof b);
    b.fire_target = (size_t)fire;
    b.lags_us = calloc((size_t)fire + 1, sizeof *b.lags_us);
    uv_loop_init(&b.loop);
    ehc_pg_pool_options popts;
    ehc_pg_pool_options_default(&popts);
    popts.conninfo = conninfo;
    popts.size = 4;
    popts.session_role = "ehc_app";
    popts.query_timeout_ms = 120000;
    popts.statement_timeout_ms = 0;
    if (ehc_pg_pool_new(&b.loop, &popts, &b.pool) || ehc_pg_pool_start(b.pool)) bench_die("pool", "");
    while (ehc_pg_pool_connected(b.pool) < 1)
        uv_run(&b.loop, UV_RUN_ONCE);

    ehc_clock clock = ehc_clock_real();
    ehc_scheduler_options sopts;
    ehc_scheduler_options_default(&sopts);
    sopts.query_timeout_ms = 120000;
    long rss_before = rss_kib();
    if (ehc_scheduler_new(&b.loop, b.pool, defs, &clock, &sopts, on_event, &b, &b.sched))
        bench_die("scheduler", "");
    if (ehc_scheduler_start(b.sched)) bench_die("scheduler start", "");
    while (!b.ready)
        uv_run(&b.loop, UV_RUN_ONCE);
    long rss_after = rss_kib();
    ehc_scheduler_stats st;
    ehc_scheduler_stats_get(b.sched, &st);
    if (bench_real_us() > now + 8 * EHC_US_PER_SECOND)
        fprintf(stderr, "warning: ready after the fire batch came due\n");
    uint64_t wait_from = uv_hrtime();
    while (b.fired < b.fire_target && uv_hrtime() - wait_from < UINT64_C(60) * 1000000000)
        uv_run(&b.loop, UV_RUN_ONCE);

    qsort(b.lags_us, b.fired < b.fire_target ? b.fired : b.fire_target, sizeof *b.lags_us, cmp_i64);
    size_t n = b.fired < b.fire_target ? b.fired : b.fire_target;
    printf("pending %zu\n", st.pending);
    printf("copy_in_seconds %.3f\n", copy_in_s);
    printf("baseline_copy_to_seconds %.3f rows %ld\n", copy_out_s, copied);
    printf("baseline_select_seconds %.3f\n", select_s);
    printf("ready_seconds %.3f\n", (double)b.ready_us / 1e6);
    printf("heap_bytes_per_deadline %.1f\n", (double)st.heap_bytes / (double)st.pending);
    printf("rss_bytes_per_deadline %.1f\n", (double)(rss_after - rss_before) * 1024.0 / (double)st.pending);
    printf("fired %zu of %ld\n", b.fired, fire);
    if (n > 0) {
        printf("lag_p50_ms %.2f\n", (double)b.lags_us[n / 2] / 1000.0);
        printf("lag_p99_ms %.2f\n", (double)b.lags_us[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0);
        printf("lag_max_ms %.2f\n", (double)b.lags_us[n - 1] / 1000.0);
    }
    printf("rounds %" PRIu64 "\n", st.rounds);

    ehc_scheduler_close(b.sched);
    while (!b.closed)
        uv_run(&b.loop, UV_RUN_ONCE);
    ehc_pg_pool_close(b.pool, on_pool_closed, NULL);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    free(b.lags_us);
    ehc_definitions_free(defs);
    PQfinish(admin);
    return b.fired >= b.fire_target ? 0 : 1;
}
