/* The PostgreSQL pool (include/ehc/pg.h): owns the libpq connections, one uv_poll_t per socket,
 * the per-connection timers, and every query from ehc_pg_query until its callback has run.
 * Each connection is a state machine fed typed events through conn_fsm() and nothing else.
 * User callbacks run only from the `deliver` idle handle, never under ehc_pg_query or the state
 * machine, so re-entrant calls are safe. Memory behind a handle is freed only in its close callback. */
#include "ehc/pg.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EHC_PG_MAX_PARAMS 65535 /* protocol limit */
#define EHC_PG_MAX_POOL_SIZE 1024

typedef struct ehc__pg_query ehc__pg_query;
typedef struct ehc__pg_conn ehc__pg_conn;

/* One statement from ehc_pg_query to its callback; sql and params live in the same allocation. */
struct ehc__pg_query {
    ehc__pg_query *prev;
    ehc__pg_query *next;
    const char *sql;
    const char *const *params;
    const int *lengths; /* NULL: every parameter is NUL-terminated text */
    const int *formats; /* NULL: every parameter is text */
    int nparams;
    int result_format; /* 0 text, 1 binary */
    int timeout_ms;
    uint64_t deadline_at_ms; /* loop time (uv_now) */
    ehc_pg_query_cb cb;
    void *data;
    /* the outcome, kept until `deliver` runs the callback */
    int status;
    PGresult *res;
    char *message;
};

typedef struct ehc__pg_list {
    ehc__pg_query *head;
    ehc__pg_query *tail;
    int count;
} ehc__pg_list;

/* A uv_poll_t for one socket of one connection. Allocated apart from the connection because libpq
 * may switch sockets while connecting and a closing handle must stay alive until its callback. */
typedef struct ehc__pg_watch {
    uv_poll_t handle;
    ehc_pg_pool *pool;
    ehc__pg_conn *conn; /* NULL once detached and closing */
    int events;
} ehc__pg_watch;

typedef enum {
    CONN_DOWN,       /* created, not started */
    CONN_CONNECTING, /* PQconnectPoll in progress; timer = connect time limit */
    CONN_IDLE,       /* connected, no query */
    CONN_BUSY,       /* one query sent (or being flushed); query_timer = its time limit */
    CONN_BACKOFF,    /* no PGconn; timer = delay before the next attempt */
    CONN_CLOSED,     /* pool closing: handles closed or closing */
} ehc__pg_conn_state;

typedef enum {
    EV_START,       /* ehc_pg_pool_start */
    EV_SOCKET,      /* the watch reported poll_status / poll_events */
    EV_TIMER,       /* connect time limit or backoff delay elapsed */
    EV_SEND,        /* the pool hands `query` to this idle connection */
    EV_QUERY_TIMER, /* the in-flight query ran past its time limit */
    EV_CLOSE,       /* the pool is closing */
} ehc__pg_event_type;

typedef struct ehc__pg_event {
    ehc__pg_event_type type;
    int poll_status;
    int poll_events;
    ehc__pg_query *query;
} ehc__pg_event;

struct ehc__pg_conn {
    ehc_pg_pool *pool;
    ehc__pg_conn_state state;
    PGconn *pg;
    ehc__pg_watch *watch;
    uv_timer_t timer;       /* connect time limit, or backoff delay */
    uv_timer_t query_timer; /* time limit of the in-flight query */
    ehc__pg_query *query;   /* in flight (CONN_BUSY) */
    PGresult *result;       /* last non-NULL result of the in-flight query so far */
    bool flushing;          /* PQflush returned 1: wait for writable and flush again */
    int backoff_ms;         /* ceiling of the next backoff delay */
};

struct ehc_pg_pool {
    uv_loop_t *loop;
    ehc_pg_pool_options opts; /* opts.conninfo is not kept: it may hold the password */
    PQconninfoOption *parsed; /* owns the values the keyword arrays point to */
    const char **keywords;
    const char **values;
    char *server_options;
    ehc__pg_conn *conns;
    ehc__pg_list queue;     /* waiting for a connection */
    ehc__pg_list done;      /* outcome known, callback not yet run */
    uv_timer_t queue_timer; /* earliest time limit among queued queries */
    uv_idle_t deliver;      /* runs callbacks of `done` */
    int open_handles;       /* every handle but `deliver` not yet through its close callback */
    bool started;
    bool closing;
    bool delivering;
    bool finishing;
    void (*on_closed)(void *data);
    void *on_closed_data;
    uint64_t rng;
    char last_error[256];
};

static void conn_fsm(ehc__pg_conn *c, const ehc__pg_event *ev);
static void pool_dispatch(ehc_pg_pool *pool);

/* ---- query lists ---- */

static void list_push_tail(ehc__pg_list *l, ehc__pg_query *q)
{
    q->next = NULL;
    q->prev = l->tail;
    if (l->tail)
        l->tail->next = q;
    else
        l->head = q;
    l->tail = q;
    l->count++;
}

static void list_push_head(ehc__pg_list *l, ehc__pg_query *q)
{
    q->prev = NULL;
    q->next = l->head;
    if (l->head)
        l->head->prev = q;
    else
        l->tail = q;
    l->head = q;
    l->count++;
}

static void list_remove(ehc__pg_list *l, ehc__pg_query *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        l->head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        l->tail = q->prev;
    q->prev = q->next = NULL;
    l->count--;
}

static ehc__pg_query *list_pop_head(ehc__pg_list *l)
{
    ehc__pg_query *q = l->head;
    if (q) list_remove(l, q);
    return q;
}

/* ---- queries ---- */

/* lengths NULL: every parameter is NUL-terminated text; otherwise lengths[i] bytes, and formats[i]
 * (1: binary) tells PostgreSQL how to read them. */
static ehc__pg_query *query_new(const char *sql, int nparams, const char *const *params, const int *lengths,
                                const int *formats)
{
    size_t sql_len = strlen(sql) + 1;
    size_t size = sizeof(ehc__pg_query) + (size_t)nparams * sizeof(char *) + sql_len;
    if (lengths) size += 2 * (size_t)nparams * sizeof(int);
    for (int i = 0; i < nparams; i++)
        if (params[i]) size += (lengths ? (size_t)lengths[i] : strlen(params[i])) + 1;
    ehc__pg_query *q = ehc_calloc(1, size);
    /* sizeof(ehc__pg_query) is a multiple of its alignment, which covers a pointer and an int */
    char **param_copies = (char **)(q + 1);
    char *text = (char *)(param_copies + nparams);
    if (lengths) {
        int *lens = (int *)text, *fmts = lens + nparams;
        memcpy(lens, lengths, (size_t)nparams * sizeof(int));
        if (formats) memcpy(fmts, formats, (size_t)nparams * sizeof(int));
        q->lengths = lens;
        q->formats = fmts;
        text = (char *)(fmts + nparams);
    }
    memcpy(text, sql, sql_len);
    q->sql = text;
    text += sql_len;
    for (int i = 0; i < nparams; i++) {
        if (!params[i]) continue;
        size_t len = lengths ? (size_t)lengths[i] : strlen(params[i]);
        memcpy(text, params[i], len);
        text[len] = '\0';
        param_copies[i] = text;
        text += len + 1;
    }
    q->params = (const char *const *)param_copies;
    q->nparams = nparams;
    return q;
}

static void on_deliver(uv_idle_t *idle);

/* Records the outcome; the callback runs later from `deliver`. Takes ownership of res. */
static void query_finish(ehc_pg_pool *pool, ehc__pg_query *q, int status, PGresult *res, const char *message)
{
    q->status = status;
    q->res = res;
    q->message = ehc_strdup(message ? message : "");
    list_push_tail(&pool->done, q);
    uv_idle_start(&pool->deliver, on_deliver);
}

/* ---- pool helpers ---- */

/* xorshift64*: jitter only, so quality does not matter; state is per pool. */
static uint64_t pool_random(ehc_pg_pool *pool)
{
    uint64_t x = pool->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    pool->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* libpq messages are multi-line ("...failed: ...\n\tIs the server running..."): keep one line. */
static void pool_set_error(ehc_pg_pool *pool, const char *what, const char *detail)
{
    char *out = pool->last_error;
    size_t cap = sizeof pool->last_error;
    snprintf(out, cap, "%s%s%s", what, detail && *detail ? ": " : "", detail ? detail : "");
    size_t w = 0;
    for (size_t r = 0; out[r]; r++) {
        char ch = out[r] == '\n' || out[r] == '\t' || out[r] == '\r' ? ' ' : out[r];
        if (ch == ' ' && (w == 0 || out[w - 1] == ' ')) continue;
        out[w++] = ch;
    }
    while (w > 0 && out[w - 1] == ' ')
        w--;
    out[w] = '\0';
}

static ehc__pg_conn *pool_idle_conn(ehc_pg_pool *pool)
{
    for (int i = 0; i < pool->opts.size; i++)
        if (pool->conns[i].state == CONN_IDLE) return &pool->conns[i];
    return NULL;
}

static void on_queue_timer(uv_timer_t *timer);

static void pool_arm_queue_timer(ehc_pg_pool *pool)
{
    uint64_t earliest = UINT64_MAX;
    for (ehc__pg_query *q = pool->queue.head; q; q = q->next)
        if (q->deadline_at_ms < earliest) earliest = q->deadline_at_ms;
    if (earliest == UINT64_MAX) {
        uv_timer_stop(&pool->queue_timer);
        return;
    }
    uint64_t now = uv_now(pool->loop);
    uv_timer_start(&pool->queue_timer, on_queue_timer, earliest > now ? earliest - now : 0, 0);
}

static void pool_enqueue(ehc_pg_pool *pool, ehc__pg_query *q, bool at_head)
{
    if (at_head)
        list_push_head(&pool->queue, q);
    else
        list_push_tail(&pool->queue, q);
    uint64_t due = uv_timer_get_due_in(&pool->queue_timer) + uv_now(pool->loop);
    if (!uv_is_active((uv_handle_t *)&pool->queue_timer) || q->deadline_at_ms < due)
        pool_arm_queue_timer(pool);
}

/* A query that waited in the queue past its time limit was never sent: no connection to drop. */
static void on_queue_timer(uv_timer_t *timer)
{
    ehc_pg_pool *pool = ehc_container_of(timer, ehc_pg_pool, queue_timer);
    uint64_t now = uv_now(pool->loop);
    ehc__pg_query *q = pool->queue.head;
    while (q) {
        ehc__pg_query *next = q->next;
        if (q->deadline_at_ms <= now) {
            list_remove(&pool->queue, q);
            char msg[96];
            snprintf(msg, sizeof msg, "no database connection free within %d ms", q->timeout_ms);
            query_finish(pool, q, EHC_ETIMEDOUT, NULL, msg);
        }
        q = next;
    }
    pool_arm_queue_timer(pool);
}

/* Called whenever a connection leaves the up states: queued queries wait only if some connection
 * is still up to take them. */
static void pool_after_conn_down(ehc_pg_pool *pool)
{
    if (ehc_pg_pool_connected(pool) > 0) return;
    ehc__pg_query *q;
    while ((q = list_pop_head(&pool->queue)))
        query_finish(pool, q, EHC_EUNAVAILABLE, NULL, "no database connection is up");
    uv_timer_stop(&pool->queue_timer);
}

static void pool_dispatch(ehc_pg_pool *pool)
{
    while (pool->queue.head && !pool->closing) {
        ehc__pg_conn *c = pool_idle_conn(pool);
        if (!c) return;
        ehc__pg_event ev = {.type = EV_SEND, .query = list_pop_head(&pool->queue)};
        conn_fsm(c, &ev);
    }
}

static void pool_free(ehc_pg_pool *pool)
{
    PQconninfoFree(pool->parsed);
    free(pool->keywords);
    free(pool->values);
    free(pool->server_options);
    free(pool->conns);
    free(pool);
}

static void on_deliver_closed(uv_handle_t *handle)
{
    ehc_pg_pool *pool = ehc_container_of(handle, ehc_pg_pool, deliver);
    void (*on_closed)(void *) = pool->on_closed;
    void *data = pool->on_closed_data;
    pool_free(pool);
    if (on_closed) on_closed(data);
}

/* The last step of closing: every other handle is closed and every callback has run. */
static void pool_maybe_finish(ehc_pg_pool *pool)
{
    if (!pool->closing || pool->finishing || pool->delivering || pool->open_handles > 0 || pool->done.head)
        return;
    pool->finishing = true;
    uv_close((uv_handle_t *)&pool->deliver, on_deliver_closed);
}

static void on_deliver(uv_idle_t *idle)
{
    ehc_pg_pool *pool = ehc_container_of(idle, ehc_pg_pool, deliver);
    pool->delivering = true;
    /* callbacks may finish more queries (ehc_pg_query, ehc_pg_pool_close): take batches until none */
    while (pool->done.head) {
        ehc__pg_query *q = pool->done.head;
        pool->done = (ehc__pg_list){0};
        while (q) {
            ehc__pg_query *next = q->next;
            q->cb(q->data, q->status, q->res, q->message);
            PQclear(q->res);
            free(q->message);
            free(q);
            q = next;
        }
    }
    pool->delivering = false;
    uv_idle_stop(&pool->deliver);
    pool_maybe_finish(pool);
}

static void on_handle_closed(uv_handle_t *handle)
{
    ehc_pg_pool *pool = handle->data;
    pool->open_handles--;
    pool_maybe_finish(pool);
}

static void on_watch_closed(uv_handle_t *handle)
{
    ehc__pg_watch *w = ehc_container_of(handle, ehc__pg_watch, handle);
    ehc_pg_pool *pool = w->pool;
    free(w);
    pool->open_handles--;
    pool_maybe_finish(pool);
}

/* ---- connection helpers (side effects only; states change in conn_fsm and conn_to_*) ---- */

static void ignore_notice(void *arg, const char *message)
{
    /* libpq would print server notices to stderr; our logs are JSON lines. */
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    ehc__pg_watch *w = ehc_container_of(handle, ehc__pg_watch, handle);
    if (!w->conn) return;
    ehc__pg_event ev = {.type = EV_SOCKET, .poll_status = status, .poll_events = events};
    conn_fsm(w->conn, &ev);
}

static void on_conn_timer(uv_timer_t *timer)
{
    ehc__pg_event ev = {.type = EV_TIMER};
    conn_fsm(ehc_container_of(timer, ehc__pg_conn, timer), &ev);
}

static void on_query_timer(uv_timer_t *timer)
{
    ehc__pg_event ev = {.type = EV_QUERY_TIMER};
    conn_fsm(ehc_container_of(timer, ehc__pg_conn, query_timer), &ev);
}

/* Stops and closes the poll handle: libuv takes the fd out of epoll now, before libpq closes it. */
static void conn_unwatch(ehc__pg_conn *c)
{
    ehc__pg_watch *w = c->watch;
    if (!w) return;
    c->watch = NULL;
    w->conn = NULL;
    uv_poll_stop(&w->handle);
    uv_close((uv_handle_t *)&w->handle, on_watch_closed);
}

/* Watches the current PQsocket() for `events`; restarts the handle only when needed, since libuv
 * stops it after reporting an error and uv_poll_start costs epoll_ctl calls. */
static int conn_watch(ehc__pg_conn *c, int events)
{
    if (!c->watch) {
        int fd = PQsocket(c->pg);
        if (fd < 0) return UV_EBADF;
        ehc__pg_watch *w = ehc_calloc(1, sizeof *w);
        int rc = uv_poll_init(c->pool->loop, &w->handle, fd);
        if (rc != 0) {
            free(w); /* uv_poll_init fails before registering the handle */
            return rc;
        }
        w->pool = c->pool;
        w->conn = c;
        c->pool->open_handles++;
        c->watch = w;
    }
    if (uv_is_active((uv_handle_t *)&c->watch->handle) && c->watch->events == events) return 0;
    c->watch->events = events;
    return uv_poll_start(&c->watch->handle, events, on_poll);
}

static void conn_teardown(ehc__pg_conn *c)
{
    conn_unwatch(c);
    uv_timer_stop(&c->timer);
    uv_timer_stop(&c->query_timer);
    PQclear(c->result);
    c->result = NULL;
    if (c->pg) PQfinish(c->pg);
    c->pg = NULL;
    c->flushing = false;
}

static void drain_notifies(PGconn *pg)
{
    PGnotify *n;
    while ((n = PQnotifies(pg)))
        PQfreemem(n);
}

static int conn_begin_connect(ehc__pg_conn *c)
{
    ehc_pg_pool *pool = c->pool;
    c->pg = PQconnectStartParams(pool->keywords, pool->values, 0);
    if (!c->pg) {
        pool_set_error(pool, "could not start a connection", "out of memory");
        return EHC_EUNAVAILABLE;
    }
    PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        pool_set_error(pool, "could not connect", PQerrorMessage(c->pg));
        return EHC_EUNAVAILABLE;
    }
    int rc = conn_watch(c, UV_WRITABLE);
    if (rc != 0) {
        pool_set_error(pool, "could not watch the database socket", uv_strerror(rc));
        return EHC_EUNAVAILABLE;
    }
    uv_timer_start(&c->timer, on_conn_timer, (uint64_t)pool->opts.connect_timeout_ms, 0);
    return 0;
}

typedef enum { STEP_WAIT, STEP_DONE, STEP_FAILED } ehc__pg_step;

/* One PQconnectPoll call. The poll handle is closed first and re-made on the current PQsocket():
 * libpq may have closed the socket and opened another, possibly under the same fd number. */
static ehc__pg_step conn_connect_step(ehc__pg_conn *c)
{
    conn_unwatch(c);
    int events = 0;
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING: events = UV_READABLE; break;
    case PGRES_POLLING_WRITING: events = UV_WRITABLE; break;
    case PGRES_POLLING_OK: events = UV_READABLE; break;
    default: break;
    }
    if (!events) {
        pool_set_error(c->pool, "could not connect", PQerrorMessage(c->pg));
        return STEP_FAILED;
    }
    if (PQstatus(c->pg) == CONNECTION_OK && PQsetnonblocking(c->pg, 1) != 0) {
        pool_set_error(c->pool, "could not make the connection non-blocking", PQerrorMessage(c->pg));
        return STEP_FAILED;
    }
    int rc = conn_watch(c, events);
    if (rc != 0) {
        pool_set_error(c->pool, "could not watch the database socket", uv_strerror(rc));
        return STEP_FAILED;
    }
    return PQstatus(c->pg) == CONNECTION_OK ? STEP_DONE : STEP_WAIT;
}

typedef enum { IO_WAIT, IO_DONE, IO_LOST } ehc__pg_io;

/* Flushes and reads for the in-flight query; IO_DONE once PQgetResult has returned NULL. */
static ehc__pg_io conn_busy_io(ehc__pg_conn *c, int events)
{
    if ((events & UV_WRITABLE) && c->flushing) {
        int r = PQflush(c->pg);
        if (r < 0) return IO_LOST;
        c->flushing = r == 1;
    }
    if (events & UV_READABLE) {
        if (!PQconsumeInput(c->pg)) return IO_LOST;
        drain_notifies(c->pg);
        while (!PQisBusy(c->pg)) {
            PGresult *r = PQgetResult(c->pg);
            if (!r) return IO_DONE;
            PQclear(c->result);
            c->result = r;
            ExecStatusType st = PQresultStatus(r);
            /* in COPY state PQgetResult keeps returning the same status: stop, the caller drops */
            if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) return IO_DONE;
        }
    }
    return conn_watch(c, c->flushing ? UV_READABLE | UV_WRITABLE : UV_READABLE) == 0 ? IO_WAIT : IO_LOST;
}

/* Maps the final result to the callback's status. *drop is set when the connection cannot be
 * reused (the server ended the session, or it is stuck in a state we do not drive). */
static int result_status(PGconn *pg, const PGresult *res, bool *drop, char *msg, size_t msg_len)
{
    *drop = false;
    if (!res) {
        *drop = true;
        snprintf(msg, msg_len, "no result from the server");
        return EHC_EUNAVAILABLE;
    }
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        snprintf(msg, msg_len, "ok");
        return 0;
    }
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (!sqlstate) sqlstate = "none";
    if (st == PGRES_FATAL_ERROR) {
        const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
        bool session_over = PQstatus(pg) == CONNECTION_BAD ||
                            (severity && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0));
        if (session_over) {
            *drop = true;
            snprintf(msg, msg_len, "the server ended the session (SQLSTATE %s)", sqlstate);
            return EHC_EUNAVAILABLE;
        }
        snprintf(msg, msg_len, "the server refused the statement (SQLSTATE %s)", sqlstate);
        return EHC_EINVAL;
    }
    *drop = st != PGRES_EMPTY_QUERY && st != PGRES_NONFATAL_ERROR;
    snprintf(msg, msg_len, "unexpected result %s (SQLSTATE %s)", PQresStatus(st), sqlstate);
    return EHC_EINVAL;
}

/* ---- the connection state machine: c->state changes only in this section, in conn_fsm and the
 * conn_to_* / conn_on_* steps it calls ---- */

static uint64_t conn_next_backoff_ms(ehc__pg_conn *c)
{
    const ehc_pg_pool_options *o = &c->pool->opts;
    int ceiling = c->backoff_ms;
    int floor = ceiling / 2;
    int delay = floor + (int)(pool_random(c->pool) % (uint64_t)(ceiling - floor + 1));
    if (delay < o->backoff_min_ms) delay = o->backoff_min_ms;
    c->backoff_ms = ceiling > o->backoff_max_ms / 2 ? o->backoff_max_ms : ceiling * 2;
    return (uint64_t)delay;
}

/* Drops the connection (the in-flight query must already be finished) and waits to reconnect. */
static void conn_to_backoff(ehc__pg_conn *c)
{
    assert(!c->query);
    conn_teardown(c);
    c->state = CONN_BACKOFF;
    uv_timer_start(&c->timer, on_conn_timer, conn_next_backoff_ms(c), 0);
    pool_after_conn_down(c->pool);
}

static void conn_to_connecting(ehc__pg_conn *c)
{
    if (conn_begin_connect(c) != 0) {
        conn_to_backoff(c);
        return;
    }
    c->state = CONN_CONNECTING;
}

static void conn_finish_query(ehc__pg_conn *c, int status, const char *message)
{
    ehc__pg_query *q = c->query;
    if (!q) return;
    c->query = NULL;
    uv_timer_stop(&c->query_timer);
    query_finish(c->pool, q, status, NULL, message);
}

static void conn_to_closed(ehc__pg_conn *c)
{
    conn_finish_query(c, EHC_ECLOSED, "the database pool is closing");
    conn_teardown(c);
    c->state = CONN_CLOSED;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->query_timer, on_handle_closed);
}

static void conn_send(ehc__pg_conn *c, ehc__pg_query *q)
{
    ehc_pg_pool *pool = c->pool;
    uint64_t now = uv_now(pool->loop);
    if (q->deadline_at_ms <= now) {
        char msg[96];
        snprintf(msg, sizeof msg, "no database connection free within %d ms", q->timeout_ms);
        query_finish(pool, q, EHC_ETIMEDOUT, NULL, msg);
        return;
    }
    if (!PQsendQueryParams(c->pg, q->sql, q->nparams, NULL, q->params, q->lengths, q->formats,
                           q->result_format)) {
        /* nothing was sent: the query keeps its place for another connection */
        pool_set_error(pool, "connection lost", PQerrorMessage(c->pg));
        pool_enqueue(pool, q, true);
        conn_to_backoff(c);
        return;
    }
    c->query = q;
    c->state = CONN_BUSY;
    uv_timer_start(&c->query_timer, on_query_timer, q->deadline_at_ms - now, 0);
    int r = PQflush(c->pg);
    c->flushing = r == 1;
    if (r < 0 || conn_watch(c, c->flushing ? UV_READABLE | UV_WRITABLE : UV_READABLE) != 0) {
        pool_set_error(pool, "connection lost", PQerrorMessage(c->pg));
        conn_finish_query(c, EHC_EUNAVAILABLE, "connection lost while sending the query");
        conn_to_backoff(c);
    }
}

/* The server often says why before closing (FATAL 57P01 on shutdown or terminate): libpq has then
 * already returned that error result, and later only its own "server closed the connection"
 * without SQLSTATE. Report the server's SQLSTATE when there is one. Collecting more results never
 * waits: PQgetResult only when !PQisBusy. */
static void conn_lost_message(ehc__pg_conn *c, char *msg, size_t msg_len)
{
    char sqlstate[8] = "";
    PGresult *r = c->result;
    c->result = NULL;
    for (int i = 0; r && i < 8; i++) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && !*sqlstate) snprintf(sqlstate, sizeof sqlstate, "%s", state);
        PQclear(r);
        r = PQisBusy(c->pg) ? NULL : PQgetResult(c->pg);
    }
    PQclear(r);
    if (*sqlstate)
        snprintf(msg, msg_len, "connection lost before the reply (SQLSTATE %s)", sqlstate);
    else
        snprintf(msg, msg_len, "connection lost before the reply");
}

static void conn_on_busy_socket(ehc__pg_conn *c, int events)
{
    ehc_pg_pool *pool = c->pool;
    char msg[128];
    switch (conn_busy_io(c, events)) {
    case IO_WAIT: return;
    case IO_LOST:
        pool_set_error(pool, "connection lost", PQerrorMessage(c->pg));
        conn_lost_message(c, msg, sizeof msg);
        conn_finish_query(c, EHC_EUNAVAILABLE, msg);
        conn_to_backoff(c);
        return;
    case IO_DONE: break;
    }
    PGresult *res = c->result;
    c->result = NULL;
    ehc__pg_query *q = c->query;
    c->query = NULL;
    uv_timer_stop(&c->query_timer);
    c->flushing = false;
    bool drop;
    int status = result_status(c->pg, res, &drop, msg, sizeof msg);
    if (status == EHC_EUNAVAILABLE) {
        PQclear(res);
        res = NULL;
    }
    query_finish(pool, q, status, res, msg);
    if (drop) {
        pool_set_error(pool, "connection dropped", msg);
        conn_to_backoff(c);
        return;
    }
    c->state = CONN_IDLE;
    if (conn_watch(c, UV_READABLE) != 0) {
        conn_to_backoff(c);
        return;
    }
    pool_dispatch(pool);
}

/* An idle connection becomes readable when the server sends a notice, a notification, or says
 * goodbye (shutdown, terminate) and closes. */
static void conn_on_idle_socket(ehc__pg_conn *c)
{
    if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD || conn_watch(c, UV_READABLE) != 0) {
        pool_set_error(c->pool, "connection lost", PQerrorMessage(c->pg));
        conn_to_backoff(c);
        return;
    }
    drain_notifies(c->pg);
}

/* Every connection event goes through here; the state decides what an event means. */
static void conn_fsm(ehc__pg_conn *c, const ehc__pg_event *ev)
{
    ehc_pg_pool *pool = c->pool;
    if (ev->type == EV_CLOSE) {
        if (c->state != CONN_CLOSED) conn_to_closed(c);
        return;
    }
    if (ev->type == EV_SEND && c->state != CONN_IDLE) {
        assert(!"pool_dispatch hands queries to idle connections only");
        pool_enqueue(pool, ev->query, true);
        return;
    }
    /* libuv reports POLLERR as a negative status with no events: once connected, let libpq find
     * the error by reading and writing */
    int events = ev->poll_status < 0 ? UV_READABLE | UV_WRITABLE : ev->poll_events;

    switch (c->state) {
    case CONN_DOWN:
    case CONN_BACKOFF:
        if (ev->type == EV_START || ev->type == EV_TIMER) conn_to_connecting(c);
        return;

    case CONN_CONNECTING:
        if (ev->type == EV_TIMER) {
            char msg[96];
            snprintf(msg, sizeof msg, "no answer within %d ms", pool->opts.connect_timeout_ms);
            pool_set_error(pool, "could not connect", msg);
            conn_to_backoff(c);
            return;
        }
        if (ev->type != EV_SOCKET) return;
        /* even on a poll error: PQconnectPoll reads SO_ERROR and moves on to the next address */
        switch (conn_connect_step(c)) {
        case STEP_WAIT: return;
        case STEP_FAILED: conn_to_backoff(c); return;
        case STEP_DONE: break;
        }
        uv_timer_stop(&c->timer);
        c->backoff_ms = pool->opts.backoff_min_ms;
        pool->last_error[0] = '\0';
        c->state = CONN_IDLE;
        pool_dispatch(pool);
        return;

    case CONN_IDLE:
        if (ev->type == EV_SEND) {
            conn_send(c, ev->query);
            return;
        }
        if (ev->type == EV_SOCKET) conn_on_idle_socket(c);
        return;

    case CONN_BUSY:
        if (ev->type == EV_SOCKET) {
            conn_on_busy_socket(c, events);
            return;
        }
        if (ev->type == EV_QUERY_TIMER) {
            /* PQcancel would block the loop: drop the connection instead */
            char msg[96];
            snprintf(msg, sizeof msg, "no reply within %d ms; connection dropped", c->query->timeout_ms);
            conn_finish_query(c, EHC_ETIMEDOUT, msg);
            conn_to_backoff(c);
        }
        return;

    case CONN_CLOSED: return;
    }
}

/* ---- conninfo ---- */

static bool conninfo_has(const PQconninfoOption *opts, const char *keyword)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val && strcmp(o->keyword, keyword) == 0) return true;
    return false;
}

/* The conninfo as keyword/value arrays with our additions; the string itself is not kept. A parse
 * error message is dropped because it may quote part of the conninfo, password included. */
static int pool_build_conninfo(ehc_pg_pool *pool, const char *conninfo)
{
    static const char *const defaults[][2] = {
        {"application_name", "ehcd"}, {"keepalives", "1"},       {"keepalives_idle", "10"},
        {"keepalives_interval", "5"}, {"keepalives_count", "3"}, {"tcp_user_timeout", "15000"},
    };
    char *err = NULL;
    pool->parsed = PQconninfoParse(conninfo, &err);
    PQfreemem(err);
    if (!pool->parsed) return EHC_EINVAL;

    size_t n = 0;
    for (const PQconninfoOption *o = pool->parsed; o->keyword; o++)
        n++;
    size_t cap = n + EHC_ARRAY_SIZE(defaults) + 2;
    pool->keywords = ehc_calloc(cap, sizeof *pool->keywords);
    pool->values = ehc_calloc(cap, sizeof *pool->values);
    size_t k = 0;
    const char *user_options = "";
    for (const PQconninfoOption *o = pool->parsed; o->keyword; o++) {
        if (!o->val) continue;
        if (strcmp(o->keyword, "options") == 0) {
            user_options = o->val;
            continue;
        }
        pool->keywords[k] = o->keyword;
        pool->values[k++] = o->val;
    }
    for (size_t i = 0; i < EHC_ARRAY_SIZE(defaults); i++) {
        if (conninfo_has(pool->parsed, defaults[i][0])) continue;
        pool->keywords[k] = defaults[i][0];
        pool->values[k++] = defaults[i][1];
    }
    char statement[48] = "", check[64] = "";
    if (pool->opts.statement_timeout_ms > 0)
        snprintf(statement, sizeof statement, " -c statement_timeout=%d", pool->opts.statement_timeout_ms);
    if (pool->opts.client_check_interval_ms > 0)
        snprintf(check, sizeof check, " -c client_connection_check_interval=%d",
                 pool->opts.client_check_interval_ms);
    char role[96] = "";
    if (pool->opts.session_role && *pool->opts.session_role)
        snprintf(role, sizeof role, " -c role=%s", pool->opts.session_role);
    pool->server_options = ehc_asprintf("%s%s%s%s", user_options, statement, check, role);
    if (*pool->server_options) {
        pool->keywords[k] = "options";
        pool->values[k++] = pool->server_options;
    }
    assert(k < cap);
    pool->keywords[k] = NULL;
    pool->values[k] = NULL;
    return 0;
}

/* ---- public API ---- */

void ehc_pg_pool_options_default(ehc_pg_pool_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->size = 4;
    opts->connect_timeout_ms = 2000;
    opts->backoff_min_ms = 100;
    opts->backoff_max_ms = 2000;
    opts->max_queued = 1024;
    opts->query_timeout_ms = 30000;
    opts->statement_timeout_ms = 0;
    opts->client_check_interval_ms = 1000;
}

static bool role_name_valid(const char *r)
{
    if (!r) return true;
    size_t n = strlen(r);
    if (n == 0 || n > 63) return n == 0;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || r[i] == '_' || (i > 0 && r[i] >= '0' && r[i] <= '9')))
            return false;
    return true;
}

static bool options_valid(const ehc_pg_pool_options *o)
{
    if (!role_name_valid(o->session_role)) return false;
    return o->conninfo && o->size >= 1 && o->size <= EHC_PG_MAX_POOL_SIZE && o->connect_timeout_ms > 0 &&
           o->backoff_min_ms > 0 && o->backoff_max_ms >= o->backoff_min_ms && o->max_queued >= 0 &&
           o->query_timeout_ms > 0 && o->statement_timeout_ms >= 0 && o->client_check_interval_ms >= 0;
}

int ehc_pg_pool_new(uv_loop_t *loop, const ehc_pg_pool_options *opts, ehc_pg_pool **out)
{
    *out = NULL;
    if (!loop || !opts || !options_valid(opts)) return EHC_EINVAL;
    ehc_pg_pool *pool = ehc_calloc(1, sizeof *pool);
    pool->loop = loop;
    pool->opts = *opts;
    pool->opts.conninfo = NULL;
    if (pool_build_conninfo(pool, opts->conninfo) != 0) {
        pool_free(pool);
        return EHC_EINVAL;
    }
    pool->opts.session_role = NULL; /* now part of server_options; the caller's string is not kept */
    pool->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)pool ^ ((uint64_t)getpid() << 32);
    if (pool->rng == 0) pool->rng = 0x9E3779B97F4A7C15ULL;
    pool->conns = ehc_calloc((size_t)opts->size, sizeof *pool->conns);
    for (int i = 0; i < opts->size; i++) {
        ehc__pg_conn *c = &pool->conns[i];
        c->pool = pool;
        c->state = CONN_DOWN;
        c->backoff_ms = opts->backoff_min_ms;
        uv_timer_init(loop, &c->timer);
        uv_timer_init(loop, &c->query_timer);
        c->timer.data = pool;
        c->query_timer.data = pool;
        pool->open_handles += 2;
    }
    uv_timer_init(loop, &pool->queue_timer);
    pool->queue_timer.data = pool;
    pool->open_handles++;
    uv_idle_init(loop, &pool->deliver);
    *out = pool;
    return 0;
}

int ehc_pg_pool_start(ehc_pg_pool *pool)
{
    if (pool->closing) return EHC_ECLOSED;
    if (pool->started) return EHC_ESTATE;
    pool->started = true;
    for (int i = 0; i < pool->opts.size; i++) {
        ehc__pg_event ev = {.type = EV_START};
        conn_fsm(&pool->conns[i], &ev);
    }
    return 0;
}

static int enqueue(ehc_pg_pool *pool, const char *sql, int nparams, const char *const *params,
                   const int *lengths, const int *formats, int result_format, int timeout_ms,
                   ehc_pg_query_cb cb, void *data)
{
    if (!pool || !sql || !cb || nparams < 0 || nparams > EHC_PG_MAX_PARAMS || (nparams > 0 && !params))
        return EHC_EINVAL;
    for (int i = 0; lengths && i < nparams; i++)
        if (lengths[i] < 0) return EHC_EINVAL;
    if (pool->closing) return EHC_ECLOSED;
    if (ehc_pg_pool_connected(pool) == 0) return EHC_EUNAVAILABLE;
    if (pool->queue.count >= pool->opts.max_queued && !pool_idle_conn(pool)) return EHC_EUNAVAILABLE;
    ehc__pg_query *q = query_new(sql, nparams, params, lengths, formats);
    q->result_format = result_format ? 1 : 0;
    q->cb = cb;
    q->data = data;
    q->timeout_ms = timeout_ms > 0 ? timeout_ms : pool->opts.query_timeout_ms;
    q->deadline_at_ms = uv_now(pool->loop) + (uint64_t)q->timeout_ms;
    pool_enqueue(pool, q, false);
    pool_dispatch(pool);
    return 0;
}

int ehc_pg_query(ehc_pg_pool *pool, const char *sql, int nparams, const char *const *params, int timeout_ms,
                 ehc_pg_query_cb cb, void *data)
{
    return enqueue(pool, sql, nparams, params, NULL, NULL, 0, timeout_ms, cb, data);
}

int ehc_pg_query_binary(ehc_pg_pool *pool, const char *sql, int nparams, const char *const *params,
                        const int *lengths, const int *formats, int result_format, int timeout_ms,
                        ehc_pg_query_cb cb, void *data)
{
    if (!lengths || !formats) return EHC_EINVAL;
    return enqueue(pool, sql, nparams, params, lengths, formats, result_format, timeout_ms, cb, data);
}

int ehc_pg_pool_connected(const ehc_pg_pool *pool)
{
    int up = 0;
    for (int i = 0; i < pool->opts.size; i++)
        if (pool->conns[i].state == CONN_IDLE || pool->conns[i].state == CONN_BUSY) up++;
    return up;
}

const char *ehc_pg_pool_last_error(const ehc_pg_pool *pool)
{
    return pool->last_error;
}

void ehc_pg_pool_close(ehc_pg_pool *pool, void (*on_closed)(void *data), void *data)
{
    if (!pool || pool->closing) return;
    pool->closing = true;
    pool->on_closed = on_closed;
    pool->on_closed_data = data;
    ehc__pg_query *q;
    while ((q = list_pop_head(&pool->queue)))
        query_finish(pool, q, EHC_ECLOSED, NULL, "the database pool is closing");
    uv_close((uv_handle_t *)&pool->queue_timer, on_handle_closed);
    for (int i = 0; i < pool->opts.size; i++) {
        ehc__pg_event ev = {.type = EV_CLOSE};
        conn_fsm(&pool->conns[i], &ev);
    }
    /* the finishing check runs from `deliver` even when no callback is pending */
    uv_idle_start(&pool->deliver, on_deliver);
}
