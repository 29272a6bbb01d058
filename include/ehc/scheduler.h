/* The deadline scheduler (architecture principle 4): every pending alert instant of every authority
 * (deadlines.next_fire_at) held in an in-memory min-heap behind ONE uv_timer_t, loaded from the
 * database at start. When the top of the heap is due it fires: one transaction per batch claims the
 * due rows (FOR UPDATE SKIP LOCKED), raises one alert per (deadline, level) with its outbox rows, and
 * moves each row's next_fire_at on (sql/0008_scheduler.sql). After downtime only the highest level
 * now due fires per deadline, marked caught_up. Alert instants are computed in C (engine/alerts.c)
 * when a deadline is planned: at start, every resync interval, and when the store says a case changed.
 * The database stays the truth: a lost heap entry costs at most a resync interval, never an alert.
 *
 * "Now" comes only from the injected ehc_clock. With a simulated clock, call
 * ehc_scheduler_clock_moved after moving it (engine/simclock.c can do so through its listener).
 *
 * Owner: the loop context creates one scheduler over its pool, definitions and clock (all borrowed;
 * the pool must stay open until on_closed) and closes it at shutdown. Callbacks run on the loop. */
#ifndef EHC_SCHEDULER_H
#define EHC_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "ehc/alerts.h"
#include "ehc/clock.h"
#include "ehc/common.h"
#include "ehc/definitions.h"
#include "ehc/pg.h"

typedef struct ehc_scheduler ehc_scheduler;

typedef struct ehc_scheduler_options {
    ehc_alert_options alerts;
    int fire_batch;              /* rows claimed per firing transaction (default 256) */
    int load_page;               /* rows per page when loading at start (default 100000) */
    int plan_page;               /* deadlines planned per round trip (default 500) */
    int query_timeout_ms;        /* per round trip (default 30000) */
    int retry_ms;                /* real-time wait after a failed round or a contended row (default 1000) */
    int resync_ms;               /* real-time period of the sweep for unplanned rows (default 60000) */
    const char *const *channels; /* outbox channels per recipient ("sse", "webhook", "email") */
    int channel_count;           /* default: {"sse"} */
} ehc_scheduler_options;

typedef enum ehc_scheduler_event_kind {
    EHC_SCHEDULER_READY,  /* planned and loaded: `pending` instants, `elapsed_us` since start */
    EHC_SCHEDULER_FIRED,  /* one alert committed */
    EHC_SCHEDULER_ERROR,  /* a round trip failed (`status`, `message`); it is retried */
    EHC_SCHEDULER_CLOSED, /* everything released; the scheduler is gone after this returns */
} ehc_scheduler_event_kind;

typedef struct ehc_scheduler_event {
    ehc_scheduler_event_kind kind;
    /* FIRED */
    int64_t deadline_id;
    int64_t alert_id;
    const char *level;
    ehc_instant fire_at;  /* the instant it was due */
    ehc_instant fired_at; /* the clock's now when the firing transaction was sent */
    /* READY */
    size_t pending;
    int64_t elapsed_us; /* monotonic time from ehc_scheduler_start to ready */
    /* ERROR */
    int status;
    const char *message;
} ehc_scheduler_event;

typedef void (*ehc_scheduler_cb)(void *data, const ehc_scheduler_event *event);

typedef struct ehc_scheduler_stats {
    uint64_t loaded;      /* instants read at start */
    uint64_t planned;     /* deadlines whose schedule was computed and written */
    uint64_t unplannable; /* deadlines whose schedule could not be computed (logged) */
    uint64_t fired;       /* alerts committed */
    uint64_t rounds;      /* firing transactions */
    size_t pending;       /* instants in the heap now */
    size_t heap_bytes;    /* memory held by the heap */
} ehc_scheduler_stats;

void ehc_scheduler_options_default(ehc_scheduler_options *opts);

/* EHC_EINVAL for bad options. cb (may be NULL) hears every event. */
EHC_MUST_USE int ehc_scheduler_new(uv_loop_t *loop, ehc_pg_pool *pool, const ehc_definitions *defs,
                                   const ehc_clock *clock, const ehc_scheduler_options *opts,
                                   ehc_scheduler_cb cb, void *data, ehc_scheduler **out);

/* Plans every unplanned deadline, loads every pending instant, reports READY, then fires whatever is
 * already past (caught up) and keeps firing as instants come due. Returns at once. A failed round
 * trip is reported (ERROR) and retried after retry_ms. EHC_ESTATE when already started. */
EHC_MUST_USE int ehc_scheduler_start(ehc_scheduler *sched);

/* Stops the timer; in-flight round trips finish (or fail with the pool); then CLOSED is reported
 * and the scheduler freed. Call before closing the pool. A second call is ignored. */
void ehc_scheduler_close(ehc_scheduler *sched);

/* The store's hooks, after it committed a change:
 * - case_changed: re-plans the case's open deadlines whose due date is new or moved, and refreshes
 *   all of its instants in the heap (a met or cancelled deadline drops out) - one round trip;
 * - deadline_changed: sets (next_fire_at != NULL) or drops one instant in the heap directly, when
 *   the caller knows it. Both are optional for correctness: the resync sweep finds unplanned rows,
 *   and firing re-checks every row in the database. */
EHC_MUST_USE int ehc_scheduler_case_changed(ehc_scheduler *sched, int64_t case_id);
void ehc_scheduler_deadline_changed(ehc_scheduler *sched, int64_t deadline_id,
                                    const ehc_instant *next_fire_at);

/* The clock moved (a simulated clock was set): re-arm and fire everything now due, in order. */
void ehc_scheduler_clock_moved(ehc_scheduler *sched);

/* True when started and ready, nothing is in flight and nothing in the heap is due by the clock's now
 * (what a test waits for after moving a simulated clock). */
bool ehc_scheduler_idle(const ehc_scheduler *sched);
bool ehc_scheduler_ready(const ehc_scheduler *sched);

void ehc_scheduler_stats_get(const ehc_scheduler *sched, ehc_scheduler_stats *out);

#endif
