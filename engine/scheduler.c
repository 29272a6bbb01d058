/* The deadline scheduler: owns the heap of pending alert instants, the one uv_timer_t over its top,
 * and the three kinds of round trip that keep the heap and the deadlines table in step - planning
 * (alert schedules computed here in C, written with ehc_scheduler_plan), loading (ehc_scheduler_pending,
 * paged by id) and firing (ehc_scheduler_fire: claim, alert, outbox, next instant in one transaction).
 * One firing transaction is in flight at a time, so alerts commit in instant order. Overlapping firing
 * rounds would be exactly-once still (SKIP LOCKED, one alert per deadline and level) but is not done: the
 * live stream resumes by outbox row id (sql/0014), and two rounds committing out of id order could let
 * a reader pass a row that commits after it. Throughput comes from the batch instead: the firing is
 * set-based (sql/0044), so a batch of 256 costs a few statements, not a few per row. */
#include "ehc/scheduler.h"

#include <assert.h>
#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/log.h"
#include "ehc/timerheap.h"

typedef enum phase {
    PHASE_NEW,
    PHASE_PLANNING, /* the first planning sweep, before loading */
    PHASE_LOADING,
    PHASE_RUNNING,
} phase;

struct ehc_scheduler {
    uv_loop_t *loop;
    ehc_pg_pool *pool;
    const ehc_definitions *defs;
    ehc_clock clock;
    ehc_scheduler_options opts;
    char *channels; /* a PostgreSQL text[] literal: {sse,webhook} */
    ehc_scheduler_cb cb;
    void *data;
    uv_timer_t timer;
    ehc_timerheap *heap;
    phase phase;
    bool closing, timer_closed;
    int inflight;     /* round trips in flight */
    bool firing;      /* a firing transaction is in flight */
    bool sweeping;    /* a planning sweep is under way */
    bool sweep_again; /* a stale row was met while sweeping: sweep once more */
    bool fire_again;  /* the last firing batch was full: more may be due */
    bool contended;   /* the last firing left due rows another transaction held */
    bool retry_wait;  /* the last round trip failed: wait retry_ms */
    uint64_t start_hr;
    int64_t started_us; /* the clock at start: alerts due before it are catch-ups */
    uint64_t last_sweep_ms;
    int64_t load_after; /* loading: the last id read */
    ehc_scheduler_stats stats;
};

/* One round trip's context. */
typedef enum op_kind {
    OP_SWEEP_READ,
    OP_SWEEP_WRITE,
    OP_LOAD,
    OP_FIRE,
    OP_CASE_READ,
    OP_CASE_WRITE,
    OP_CASE_REFRESH,
} op_kind;

typedef struct sched_op {
    ehc_scheduler *sched;
    op_kind kind;
    int64_t after_id; /* paging: the last id of this page */
    int64_t case_id;
    bool full_page;
    int64_t now_us;             /* OP_FIRE: the clock when sent */
    ehc_timerheap_entry *taken; /* OP_FIRE: the heap entries popped for this round */
    size_t taken_count;
} sched_op;

void ehc_scheduler_options_default(ehc_scheduler_options *opts)
{
    static const char *const default_channels[] = {"sse"};
    memset(opts, 0, sizeof *opts);
    ehc_alert_options_default(&opts->alerts);
    opts->fire_batch = 256;
    opts->load_page = 100000;
    opts->plan_page = 500;
    opts->query_timeout_ms = 30000;
    opts->retry_ms = 1000;
    opts->resync_ms = 60000;
    opts->channels = default_channels;
    opts->channel_count = 1;
}

static void emit(ehc_scheduler *s, ehc_scheduler_event *ev)
{
    if (s->cb) s->cb(s->data, ev);
}

static int64_t now_us(const ehc_scheduler *s)
{
    return ehc_clock_now(&s->clock).us;
}

static int64_t parse_i64(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* ---- lifecycle of round trips ------------------------------------------------------------------ */

static void on_timer_closed(uv_handle_t *h);

static void maybe_free(ehc_scheduler *s)
{
    if (!s->closing || !s->timer_closed || s->inflight > 0) return;
    ehc_scheduler_event ev = {.kind = EHC_SCHEDULER_CLOSED};
    emit(s, &ev);
    ehc_timerheap_free(s->heap);
    free(s->channels);
    free(s);
}

static void on_query(void *data, int status, PGresult *res, const char *message);

static int submit(ehc_scheduler *s, sched_op *op, const char *sql, int nparams, const char *const *params)
{
    int rc = ehc_pg_query(s->pool, sql, nparams, params, s->opts.query_timeout_ms, on_query, op);
    if (rc == 0) s->inflight++;
    return rc;
}

static sched_op *op_new(ehc_scheduler *s, op_kind kind)
{
    sched_op *op = ehc_calloc(1, sizeof *op);
    op->sched = s;
    op->kind = kind;
    return op;
}

static void op_free(sched_op *op)
{
    free(op->taken);
    free(op);
}

static void report_error(ehc_scheduler *s, const char *what, int status, const char *message)
{
    ehc_log(EHC_LOG_WARN, "scheduler_round_failed", NULL, "%s: %s (%s)", what, ehc_strerror(status),
            message ? message : "");
    ehc_scheduler_event ev = {.kind = EHC_SCHEDULER_ERROR, .status = status, .message = what};
    emit(s, &ev);
    s->retry_wait = true;
}

/* ---- the timer ------------------------------------------------------------------------------------ */

static void fire_round(ehc_scheduler *s);
static void sweep_start(ehc_scheduler *s);
static void load_page(ehc_scheduler *s, int64_t after_id);

static void on_timer(uv_timer_t *t)
{
    ehc_scheduler *s = ehc_container_of(t, ehc_scheduler, timer);
    s->retry_wait = false;
    if (s->phase == PHASE_PLANNING && !s->sweeping) {
        sweep_start(s); /* the first sweep failed: try again */
        return;
    }
    if (s->phase == PHASE_LOADING) {
        load_page(s, s->load_after);
        return;
    }
    if (s->phase != PHASE_RUNNING) return;
    if (!s->sweeping && uv_now(s->loop) - s->last_sweep_ms >= (uint64_t)s->opts.resync_ms) sweep_start(s);
    fire_round(s);
}

/* Sets the one timer for whatever comes first: the top of the heap, a retry, the next sweep. */
static void arm(ehc_scheduler *s)
{
    if (s->closing) return;
    if (s->retry_wait) {
        uv_timer_start(&s->timer, on_timer, (uint64_t)s->opts.retry_ms, 0);
        return;
    }
    if (s->phase != PHASE_RUNNING || s->firing) return; /* re-armed when that round completes */
    uint64_t since = uv_now(s->loop) - s->last_sweep_ms;
    uint64_t delay = since >= (uint64_t)s->opts.resync_ms ? 0 : (uint64_t)s->opts.resync_ms - since;
    ehc_timerheap_entry top;
    if (s->fire_again) {
        delay = 0;
    } else if (ehc_timerheap_peek(s->heap, &top) == 0) {
        int64_t wait_us = top.due_us - now_us(s);
        /* a due row held by another transaction: look again after retry_ms, not in a busy loop */
        uint64_t d = wait_us <= 0 ? (s->contended ? (uint64_t)s->opts.retry_ms : 0)
                                  : (uint64_t)((wait_us + 999) / 1000);
        if (d < delay) delay = d;
    }
    uv_timer_start(&s->timer, on_timer, delay, 0);
}

/* ---- planning ---------------------------------------------------------------------------------- */

/* The plans of one page of ehc_scheduler_unplanned rows, as ehc_scheduler_plan reads them, or NULL
 * when none of them could be planned. */
static char *plans_json(ehc_scheduler *s, const PGresult *res)
{
    cJSON *plans = cJSON_CreateArray();
    for (int i = 0; i < PQntuples(res); i++) {
        const ehc_calendar_set *cals = NULL;
        int64_t id = parse_i64(res, i, 0);
        const ehc_workflow *wf;
        ehc_deadline_instance in;
        memset(&in, 0, sizeof in);
        in.status = EHC_DEADLINE_OPEN;
        in.exception = EHC_WF_NONE;
        const char *why = NULL;
        if (ehc_definitions_pinned(s->defs, PQgetvalue(res, i, 1), PQgetvalue(res, i, 6), &wf, &cals) != 0)
            why = "workflow version not loaded";
        else if (ehc_workflow_find_deadline(wf, PQgetvalue(res, i, 2), &in.deadline) != 0)
            why = "unknown deadline";
        else if (ehc_date_parse_iso(PQgetvalue(res, i, 4), &in.started_on) != 0 ||
                 ehc_date_parse_iso(PQgetvalue(res, i, 5), &in.due_on) != 0)
            why = "bad date";
        ehc_alert_schedule sched;
        if (!why) {
            snprintf(in.key, sizeof in.key, "%s", PQgetvalue(res, i, 3));
            ehc_machine_env env = {.workflow = wf, .calendars = cals};
            int rc = ehc_alerts_schedule(&env, &in, &s->opts.alerts, &sched);
            if (rc)
                why = rc == EHC_ERANGE ? "an alert date is outside the bank-holiday calendar"
                                       : "alerts refused";
        }
        if (why) {
            s->stats.unplannable++;
            ehc_log(EHC_LOG_WARN, "scheduler_unplannable", NULL, "deadline %" PRId64 ": %s", id, why);
            continue;
        }
        if (sched.escalation_beyond_calendar)
            ehc_log(EHC_LOG_WARN, "scheduler_calendar_ends", NULL,
                    "deadline %" PRId64 ": escalation falls past the bank-holiday calendar; extend it", id);
        cJSON *plan = cJSON_CreateObject();
        cJSON_AddRawToObject(plan, "id", PQgetvalue(res, i, 0));
        cJSON_AddStringToObject(plan, "due_on", PQgetvalue(res, i, 5));
        char *schedule = ehc_alerts_schedule_json(&sched);
        cJSON_AddRawToObject(plan, "schedule", schedule);
        free(schedule);
        cJSON_AddItemToArray(plans, plan);
    }
    char *out = NULL;
    if (cJSON_GetArraySize(plans) > 0) {
        char *text = cJSON_PrintUnformatted(plans);
        out = ehc_strdup(text);
        cJSON_free(text);
    }
    cJSON_Delete(plans);
    return out;
}

/* Heap entries from rows of (id, fire_us or NULL). */
static void apply_instants(ehc_scheduler *s, const PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t id = parse_i64(res, i, 0);
        if (PQgetisnull(res, i, 1)) {
            if (ehc_timerheap_remove(s->heap, id) != 0) { /* it was not there */
            }
        } else {
            ehc_timerheap_set(s->heap, id, parse_i64(res, i, 1));
        }
    }
}

static const char SQL_UNPLANNED[] =
    "SELECT id, workflow_sha256, deadline_key, instance_key, origin_on, due_on, calendar_sha256 "
    "FROM ehc_scheduler_unplanned($1::bigint, $2::integer, $3::bigint)";
static const char SQL_PLAN[] = "SELECT id, fire_us FROM ehc_scheduler_plan($1::jsonb)";

static void sweep_read(ehc_scheduler *s, int64_t after_id)
{
    sched_op *op = op_new(s, OP_SWEEP_READ);
    char after[24], limit[16];
    snprintf(after, sizeof after, "%" PRId64, after_id);
    snprintf(limit, sizeof limit, "%d", s->opts.plan_page);
    const char *params[3] = {after, limit, NULL};
    int rc = submit(s, op, SQL_UNPLANNED, 3, params);
    if (rc) {
        op_free(op);
        s->sweeping = false;
        report_error(s, "reading unplanned deadlines", rc, NULL);
        arm(s);
    }
}

static void sweep_start(ehc_scheduler *s)
{
    s->sweeping = true;
    s->sweep_again = false;
    s->last_sweep_ms = uv_now(s->loop);
    sweep_read(s, 0);
}

static void sweep_done(ehc_scheduler *s)
{
    s->sweeping = false;
    if (s->phase == PHASE_PLANNING) {
        s->phase = PHASE_LOADING;
        load_page(s, 0);
        return;
    }
    if (s->sweep_again) sweep_start(s);
    arm(s);
}

/* After a page of plans was read (and perhaps written): the next page, or the end. */
static void sweep_next(ehc_scheduler *s, const sched_op *op)
{
    if (op->full_page)
        sweep_read(s, op->after_id);
    else
        sweep_done(s);
}

/* Plans one page of unplanned rows and sends the plans. Returns 1 when the write is under way, 0
 * when there was nothing to write, or a negative status (reported) when it could not be sent. */
static int write_plans(ehc_scheduler *s, sched_op *op, const PGresult *res, op_kind write_kind)
{
    int n = PQntuples(res);
    op->full_page = n == s->opts.plan_page;
    if (n > 0) op->after_id = parse_i64(res, n - 1, 0);
    char *plans = plans_json(s, res);
    if (!plans) return 0;
    sched_op *w = op_new(s, write_kind);
    w->after_id = op->after_id;
    w->full_page = op->full_page;
    w->case_id = op->case_id;
    const char *params[1] = {plans};
    int rc = submit(s, w, SQL_PLAN, 1, params);
    free(plans);
    if (rc == 0) return 1;
    op_free(w);
    report_error(s, "writing alert schedules", rc, NULL);
    return rc;
}

/* ---- loading -------------------------------------------------------------------------------------- */

static const char SQL_PENDING[] = "SELECT id, fire_us FROM ehc_scheduler_pending($1::bigint, $2::integer)";

static void load_page(ehc_scheduler *s, int64_t after_id)
{
    s->load_after = after_id;
    sched_op *op = op_new(s, OP_LOAD);
    op->after_id = after_id;
    char after[24], limit[16];
    snprintf(after, sizeof after, "%" PRId64, after_id);
    snprintf(limit, sizeof limit, "%d", s->opts.load_page);
    const char *params[2] = {after, limit};
    int rc = submit(s, op, SQL_PENDING, 2, params);
    if (rc) {
        op_free(op);
        report_error(s, "loading pending deadlines", rc, NULL);
        arm(s);
    }
}

/* ---- firing --------------------------------------------------------------------------------------- */

static const char SQL_FIRE[] =
    "SELECT deadline_id, next_us, level, alert_id, fire_us, outcome "
    "FROM ehc_scheduler_fire($1::bigint, $2::bigint, $3::integer, $4::text[], $5::bigint[])";

static void put_back(ehc_scheduler *s, const sched_op *op)
{
    for (size_t i = 0; i < op->taken_count; i++)
        ehc_timerheap_set(s->heap, op->taken[i].id, op->taken[i].due_us);
}

static void fire_round(ehc_scheduler *s)
{
    if (s->firing || s->closing || s->phase != PHASE_RUNNING) return;
    int64_t now = now_us(s);
    sched_op *op = op_new(s, OP_FIRE);
    op->now_us = now;
    op->taken = ehc_malloc((size_t)s->opts.fire_batch * sizeof *op->taken);
    ehc_timerheap_entry top;
    while (op->taken_count < (size_t)s->opts.fire_batch && ehc_timerheap_peek(s->heap, &top) == 0 &&
           top.due_us <= now) {
        int rc = ehc_timerheap_pop(s->heap, &op->taken[op->taken_count++]);
        assert(rc == 0);
        (void)rc;
    }
    if (op->taken_count == 0 && !s->fire_again) {
        op_free(op);
        arm(s);
        return;
    }
    /* the ids as a PostgreSQL array literal */
    size_t cap = 3 + op->taken_count * 21;
    char *ids = ehc_malloc(cap);
    size_t len = 0;
    ids[len++] = '{';
    for (size_t i = 0; i < op->taken_count; i++)
        len += (size_t)snprintf(ids + len, cap - len, "%s%" PRId64, i ? "," : "", op->taken[i].id);
    ids[len++] = '}';
    ids[len] = '\0';
    char now_text[24], started[24], limit[16];
    snprintf(now_text, sizeof now_text, "%" PRId64, now);
    snprintf(started, sizeof started, "%" PRId64, s->started_us);
    snprintf(limit, sizeof limit, "%d", s->opts.fire_batch);
    const char *params[5] = {now_text, started, limit, s->channels, ids};
    int rc = submit(s, op, SQL_FIRE, 5, params);
    free(ids);
    if (rc) {
        put_back(s, op);
        op_free(op);
        report_error(s, "firing", rc, NULL);
        arm(s);
        return;
    }
    s->firing = true;
    s->stats.rounds++;
}

static void fire_result(ehc_scheduler *s, sched_op *op, const PGresult *res)
{
    int claimed = 0;
    bool contended = false, stale = false;
    ehc_instant fired_at = {op->now_us};
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t id = parse_i64(res, i, 0);
        bool has_next = !PQgetisnull(res, i, 1);
        int64_t next = has_next ? parse_i64(res, i, 1) : 0;
        const char *outcome = PQgetvalue(res, i, 5);
        if (strcmp(outcome, "current") == 0) {
            /* not claimed: still due means another transaction holds it (or the batch was full) */
            if (has_next && next <= op->now_us) contended = true;
        } else {
            claimed++;
            if (strcmp(outcome, "replan") == 0) stale = true;
        }
        if (has_next)
            ehc_timerheap_set(s->heap, id, next);
        else if (ehc_timerheap_remove(s->heap, id) != 0) { /* not in the heap */
        }
        if (strcmp(outcome, "fired") == 0) {
            s->stats.fired++;
            ehc_scheduler_event ev = {
                .kind = EHC_SCHEDULER_FIRED,
                .deadline_id = id,
                .alert_id = parse_i64(res, i, 3),
                .level = PQgetvalue(res, i, 2),
                .fire_at = {parse_i64(res, i, 4)},
                .fired_at = fired_at,
            };
            emit(s, &ev);
        }
    }
    s->fire_again = claimed == s->opts.fire_batch;
    s->contended = contended && !s->fire_again;
    if (stale && !s->sweeping)
        sweep_start(s);
    else if (stale)
        s->sweep_again = true;
}

/* ---- the store's hooks -------------------------------------------------------------------------- */

static const char SQL_CASE[] = "SELECT id, fire_us FROM ehc_scheduler_case($1::bigint)";

static void case_refresh(ehc_scheduler *s, int64_t case_id)
{
    sched_op *op = op_new(s, OP_CASE_REFRESH);
    op->case_id = case_id;
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, case_id);
    const char *params[1] = {id};
    int rc = submit(s, op, SQL_CASE, 1, params);
    if (rc) {
        op_free(op);
        report_error(s, "refreshing a case", rc, NULL);
        arm(s);
    }
}

int ehc_scheduler_case_changed(ehc_scheduler *s, int64_t case_id)
{
    if (case_id <= 0) return EHC_EINVAL;
    if (s->closing) return EHC_ECLOSED;
    sched_op *op = op_new(s, OP_CASE_READ);
    op->case_id = case_id;
    char id[24], limit[16];
    snprintf(id, sizeof id, "%" PRId64, case_id);
    snprintf(limit, sizeof limit, "%d", s->opts.plan_page);
    const char *params[3] = {"0", limit, id};
    int rc = submit(s, op, SQL_UNPLANNED, 3, params);
    if (rc) op_free(op);
    return rc;
}

void ehc_scheduler_deadline_changed(ehc_scheduler *s, int64_t deadline_id, const ehc_instant *next_fire_at)
{
    if (s->closing) return;
    if (next_fire_at)
        ehc_timerheap_set(s->heap, deadline_id, next_fire_at->us);
    else if (ehc_timerheap_remove(s->heap, deadline_id) != 0) { /* not in the heap */
    }
    arm(s);
}

void ehc_scheduler_clock_moved(ehc_scheduler *s)
{
    arm(s);
}

/* ---- results -------------------------------------------------------------------------------------- */

static void on_query(void *data, int status, PGresult *res, const char *message)
{
    sched_op *op = data;
    ehc_scheduler *s = op->sched;
    s->inflight--;
    if (op->kind == OP_FIRE) s->firing = false;
    if (s->closing) {
        op_free(op);
        maybe_free(s);
        return;
    }
    if (status != 0) {
        static const char *const what[] = {
            [OP_SWEEP_READ] = "reading unplanned deadlines",
            [OP_SWEEP_WRITE] = "writing alert schedules",
            [OP_LOAD] = "loading pending deadlines",
            [OP_FIRE] = "firing",
            [OP_CASE_READ] = "planning a case",
            [OP_CASE_WRITE] = "planning a case",
            [OP_CASE_REFRESH] = "refreshing a case",
        };
        if (op->kind == OP_FIRE) put_back(s, op);
        if (op->kind == OP_SWEEP_READ || op->kind == OP_SWEEP_WRITE) s->sweeping = false;
        report_error(s, what[op->kind], status, message);
        op_free(op);
        arm(s);
        return;
    }
    switch (op->kind) {
    case OP_SWEEP_READ: {
        int rc = write_plans(s, op, res, OP_SWEEP_WRITE);
        if (rc == 0) sweep_next(s, op);
        if (rc < 0) {
            s->sweeping = false;
            arm(s);
        }
        break;
    }
    case OP_SWEEP_WRITE:
        s->stats.planned += (uint64_t)PQntuples(res);
        apply_instants(s, res);
        sweep_next(s, op);
        break;
    case OP_CASE_READ:
        if (write_plans(s, op, res, OP_CASE_WRITE) <= 0) case_refresh(s, op->case_id);
        break;
    case OP_CASE_WRITE:
        s->stats.planned += (uint64_t)PQntuples(res);
        case_refresh(s, op->case_id);
        break;
    case OP_CASE_REFRESH:
        apply_instants(s, res);
        arm(s);
        break;
    case OP_LOAD: {
        int n = PQntuples(res);
        s->stats.loaded += (uint64_t)n;
        apply_instants(s, res);
        if (n == s->opts.load_page) {
            load_page(s, parse_i64(res, n - 1, 0));
            break;
        }
        s->phase = PHASE_RUNNING;
        s->last_sweep_ms = uv_now(s->loop);
        ehc_scheduler_event ev = {
            .kind = EHC_SCHEDULER_READY,
            .pending = ehc_timerheap_count(s->heap),
            .elapsed_us = (int64_t)((uv_hrtime() - s->start_hr) / 1000),
        };
        emit(s, &ev);
        arm(s);
        break;
    }
    case OP_FIRE:
        fire_result(s, op, res);
        arm(s);
        break;
    }
    op_free(op);
}

/* ---- lifecycle ---------------------------------------------------------------------------------------- */

static bool channel_name_ok(const char *c)
{
    if (!c || !*c || strlen(c) > 16) return false;
    for (; *c; c++)
        if (*c < 'a' || *c > 'z') return false;
    return true;
}

int ehc_scheduler_new(uv_loop_t *loop, ehc_pg_pool *pool, const ehc_definitions *defs, const ehc_clock *clock,
                      const ehc_scheduler_options *opts, ehc_scheduler_cb cb, void *data, ehc_scheduler **out)
{
    if (ehc_alert_options_check(&opts->alerts) || opts->fire_batch < 1 || opts->load_page < 1 ||
        opts->plan_page < 1 || opts->query_timeout_ms < 1 || opts->retry_ms < 1 || opts->resync_ms < 1 ||
        opts->channel_count < 1 || opts->channel_count > 8)
        return EHC_EINVAL;
    size_t len = 3;
    for (int i = 0; i < opts->channel_count; i++) {
        if (!channel_name_ok(opts->channels[i])) return EHC_EINVAL;
        len += strlen(opts->channels[i]) + 1;
    }
    ehc_scheduler *s = ehc_calloc(1, sizeof *s);
    s->channels = ehc_malloc(len);
    strcpy(s->channels, "{");
    for (int i = 0; i < opts->channel_count; i++) {
        if (i) strcat(s->channels, ",");
        strcat(s->channels, opts->channels[i]);
    }
    strcat(s->channels, "}");
    s->loop = loop;
    s->pool = pool;
    s->defs = defs;
    s->clock = *clock;
    s->opts = *opts;
    s->opts.channels = NULL; /* copied into s->channels */
    s->cb = cb;
    s->data = data;
    int rc = ehc_timerheap_new(&s->heap);
    assert(rc == 0);
    (void)rc;
    uv_timer_init(loop, &s->timer);
    *out = s;
    return 0;
}

int ehc_scheduler_start(ehc_scheduler *s)
{
    if (s->phase != PHASE_NEW || s->closing) return EHC_ESTATE;
    s->start_hr = uv_hrtime();
    s->started_us = now_us(s);
    s->phase = PHASE_PLANNING;
    sweep_start(s);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    ehc_scheduler *s = ehc_container_of((uv_timer_t *)h, ehc_scheduler, timer);
    s->timer_closed = true;
    maybe_free(s);
}

void ehc_scheduler_close(ehc_scheduler *s)
{
    if (s->closing) return;
    s->closing = true;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

bool ehc_scheduler_ready(const ehc_scheduler *s)
{
    return s->phase == PHASE_RUNNING;
}

bool ehc_scheduler_idle(const ehc_scheduler *s)
{
    if (s->phase != PHASE_RUNNING || s->inflight > 0 || s->fire_again) return false;
    ehc_timerheap_entry top;
    return ehc_timerheap_peek(s->heap, &top) != 0 || top.due_us > now_us(s);
}

void ehc_scheduler_stats_get(const ehc_scheduler *s, ehc_scheduler_stats *out)
{
    *out = s->stats;
    out->pending = ehc_timerheap_count(s->heap);
    out->heap_bytes = ehc_timerheap_memory_bytes(s->heap);
}
