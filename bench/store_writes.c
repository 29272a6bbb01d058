/* Durable event writes through the store: `concurrency` simulated officers, each with one command
 * always in flight (so that many commands are outstanding at any moment), each command a
 * machine-checked event committed with its projection and deadlines. An officer records at most
 * EVENTS_PER_CASE events on a case and then opens a new one, as real cases hold tens of events, not
 * thousands. Prints one line: "store_writes_per_second <n> commits <c> commands <m> ...".
 * Usage: ehc_bench_store CONNINFO DEFINITIONS_DIR CONCURRENCY SECONDS */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "ehc/definitions.h"
#include "ehc/migrate.h"
#include "ehc/store.h"

#define EVENTS_PER_CASE 30

typedef struct bench_case {
    struct bench *b;
    int64_t id;
    int32_t version;
    int seq;
} bench_case;

typedef struct bench {
    uv_loop_t loop;
    ehc_store *store;
    ehc_pg_pool *pool;
    int64_t authority;
    int64_t child;
    uint64_t started_ns, deadline_ns;
    uint64_t ok, failed;
    int running;
} bench;

static ehc_instant today_2026_03_01(void *ctx)
{
    ehc_instant at = {.us = INT64_C(1772366400) * EHC_US_PER_SECOND};
    return at;
}

static void submit(bench_case *c);

static void on_written(void *data, const ehc_store_result *r)
{
    bench_case *c = data;
    bench *b = c->b;
    if (r->status == 0) {
        b->ok++;
        c->version = r->version;
    } else {
        b->failed++;
        if (r->status == EHC_ECONFLICT) c->version = r->current_version;
    }
    if (uv_hrtime() < b->deadline_ns)
        submit(c);
    else
        b->running--;
}

static void on_reopened(void *data, const ehc_store_result *r);
static void on_decided(void *data, const ehc_store_result *r);

/* The officer's next case: opened, then decided to assess, then advice requests until full. */
static void reopen(bench_case *c)
{
    ehc_date jan5;
    if (ehc_date_parse_iso("2026-01-05", &jan5)) abort();
    ehc_store_open_cmd open = {
        .authority_id = c->b->authority,
        .child_id = c->b->child,
        .workflow_id = "store-test",
        .event = {.type = "request_received",
                  .actor_role = "officer",
                  .effective_on = jan5,
                  .fields_json = "{\"source\": \"parent\"}"},
    };
    if (ehc_store_open_case(c->b->store, &open, on_reopened, c) != 0) {
        c->b->failed++;
        c->b->running--;
    }
}

static void on_reopened(void *data, const ehc_store_result *r)
{
    bench_case *c = data;
    bench *b = c->b;
    if (r->status != 0) {
        b->failed++;
        b->running--;
        return;
    }
    b->ok++;
    c->id = r->case_id;
    c->version = r->version;
    c->seq = 0;
    ehc_store_record_cmd decide = {
        .authority_id = b->authority,
        .case_id = c->id,
        .expected_version = c->version,
        .event = {.type = "decision_to_assess",
                  .actor_role = "officer",
                  .fields_json = "{\"decision\": \"yes\"}"},
    };
    if (ehc_date_parse_iso("2026-02-10", &decide.event.effective_on)) abort();
    if (ehc_store_record_event(b->store, &decide, on_decided, c) != 0) {
        b->failed++;
        b->running--;
    }
}

static void on_decided(void *data, const ehc_store_result *r)
{
    bench_case *c = data;
    if (r->status == 0) {
        c->b->ok++;
        c->version = r->version;
    } else {
        c->b->failed++;
    }
    if (uv_hrtime() < c->b->deadline_ns)
        submit(c);
    else
        c->b->running--;
}

static void submit(bench_case *c)
{
    if (c->seq >= EVENTS_PER_CASE) {
        reopen(c);
        return;
    }
    char fields[128];
    snprintf(fields, sizeof fields, "{\"request_key\": \"k%d\", \"adviser\": \"educational\"}", c->seq++);
    ehc_date on;
    if (ehc_date_parse_iso("2026-02-20", &on)) abort();
    ehc_store_record_cmd cmd = {
        .authority_id = c->b->authority,
        .case_id = c->id,
        .expected_version = c->version,
        .event = {.type = "advice_requested",
                  .actor_role = "officer",
                  .effective_on = on,
                  .fields_json = fields},
    };
    if (ehc_store_record_event(c->b->store, &cmd, on_written, c) != 0) {
        c->b->failed++;
        c->b->running--;
    }
}

static void on_opened(void *data, const ehc_store_result *r)
{
    bench_case *c = data;
    if (r->status != 0) {
        fprintf(stderr, "opening a case failed: %s\n", r->message);
        exit(1);
    }
    c->id = r->case_id;
    c->version = r->version;
    c->b->running--;
}

static void run(bench *b)
{
    while (b->running > 0)
        uv_run(&b->loop, UV_RUN_ONCE);
}

static void on_closed(void *data)
{
    (void)data;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s CONNINFO DEFINITIONS_DIR CONCURRENCY SECONDS\n", argv[0]);
        return 2;
    }
    int concurrency = atoi(argv[3]), seconds = atoi(argv[4]);
    PGconn *admin = PQconnectdb(argv[1]);
    int applied;
    char err[1024];
    if (PQstatus(admin) != CONNECTION_OK || ehc_migrate_apply(admin, &applied, err, sizeof err)) {
        fprintf(stderr, "setup failed: %s %s\n", PQerrorMessage(admin), err);
        return 1;
    }
    PGresult *res =
        PQexec(admin, "WITH a AS (INSERT INTO local_authorities (dfe_code, name) VALUES ('999', 'Bench') "
                      "RETURNING id), c AS (INSERT INTO children (authority_id, forename, surname, "
                      "date_of_birth) SELECT id, 'B', 'C', '2018-01-01' FROM a RETURNING authority_id, id) "
                      "SELECT authority_id, id FROM c");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "setup failed: %s", PQresultErrorMessage(res));
        return 1;
    }
    bench b;
    memset(&b, 0, sizeof b);
    b.authority = atoll(PQgetvalue(res, 0, 0));
    b.child = atoll(PQgetvalue(res, 0, 1));
    int64_t child = b.child;
    PQclear(res);
    PQfinish(admin);

    ehc_definitions *defs;
    ehc_load_error lerr;
    if (ehc_definitions_load(argv[2], &defs, &lerr)) {
        fprintf(stderr, "%s %s: %s\n", lerr.file, lerr.path, lerr.reason);
        return 1;
    }
    uv_loop_init(&b.loop);
    ehc_pg_pool_options popts;
    ehc_pg_pool_options_default(&popts);
    popts.conninfo = argv[1];
    popts.size = atoi(getenv("BENCH_POOL") ? getenv("BENCH_POOL") : "4");
    popts.session_role = "ehc_app";
    if (ehc_pg_pool_new(&b.loop, &popts, &b.pool) || ehc_pg_pool_start(b.pool)) return 1;
    while (ehc_pg_pool_connected(b.pool) < popts.size)
        uv_run(&b.loop, UV_RUN_ONCE);
    ehc_clock clock = {.now = today_2026_03_01};
    ehc_store_options sopts;
    ehc_store_options_default(&sopts);
    sopts.max_inflight = popts.size;
    if (ehc_store_new(&b.loop, b.pool, defs, &clock, &sopts, &b.store)) return 1;

    bench_case *cases = calloc((size_t)concurrency, sizeof *cases);
    ehc_date jan5;
    if (ehc_date_parse_iso("2026-01-05", &jan5)) return 1;
    for (int i = 0; i < concurrency; i++) {
        cases[i].b = &b;
        ehc_store_open_cmd open = {
            .authority_id = b.authority,
            .child_id = child,
            .workflow_id = "store-test",
            .event = {.type = "request_received",
                      .actor_role = "officer",
                      .effective_on = jan5,
                      .fields_json = "{\"source\": \"parent\"}"},
        };
        b.running++;
        if (ehc_store_open_case(b.store, &open, on_opened, &cases[i])) return 1;
    }
    run(&b);
    for (int i = 0; i < concurrency; i++) {
        ehc_store_record_cmd decide = {
            .authority_id = b.authority,
            .case_id = cases[i].id,
            .expected_version = cases[i].version,
            .event = {.type = "decision_to_assess",
                      .actor_role = "officer",
                      .effective_on = jan5,
                      .fields_json = "{\"decision\": \"yes\"}"},
        };
        if (ehc_date_parse_iso("2026-02-10", &decide.event.effective_on)) return 1;
        b.running++;
        if (ehc_store_record_event(b.store, &decide, on_opened, &cases[i])) return 1;
    }
    run(&b);

    uint64_t commits0, commands0;
    ehc_store_stats(b.store, &commits0, &commands0);
    b.started_ns = uv_hrtime();
    b.deadline_ns = b.started_ns + (uint64_t)seconds * 1000000000ull;
    for (int i = 0; i < concurrency; i++) {
        b.running++;
        submit(&cases[i]);
    }
    run(&b);
    double elapsed = (double)(uv_hrtime() - b.started_ns) / 1e9;
    uint64_t commits, commands;
    ehc_store_stats(b.store, &commits, &commands);
    printf("store_writes_per_second %.0f commits %" PRIu64 " commands %" PRIu64 " failed %" PRIu64
           " seconds %.2f\n",
           (double)b.ok / elapsed, commits - commits0, commands - commands0, b.failed, elapsed);

    ehc_store_free(b.store);
    ehc_pg_pool_close(b.pool, on_closed, NULL);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    ehc_definitions_free(defs);
    free(cases);
    return b.failed ? 1 : 0;
}
