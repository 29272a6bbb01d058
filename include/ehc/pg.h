/* Asynchronous PostgreSQL on the libuv loop: a small pool of non-blocking libpq connections,
 * each watched by one uv_poll_t, with a client-side time limit on every query and reconnection
 * with jittered backoff. Nothing here blocks the loop, with one libpq limit: a host NAME in the
 * conninfo is resolved synchronously by libpq (use a Unix socket directory, an IP address,
 * `hostaddr`, or a name in /etc/hosts).
 *
 * Added to every connection's conninfo unless the conninfo sets them itself:
 * application_name=ehcd, keepalives=1, keepalives_idle=10, keepalives_interval=5,
 * keepalives_count=3, tcp_user_timeout=15000. The `options` field (server settings) gets
 * "-c statement_timeout=..." and "-c client_connection_check_interval=..." appended when the
 * corresponding pool options are non-zero (set both to 0 behind a pooler that refuses `options`).
 *
 * Owner: the daemon's loop context creates one pool and closes it at shutdown; the pool owns its
 * connections, handles and queued queries. Callbacks run on the loop thread. */
#ifndef EHC_PG_H
#define EHC_PG_H

#include <libpq-fe.h>
#include <uv.h>

#include "ehc/common.h"

typedef struct ehc_pg_pool ehc_pg_pool;

typedef struct ehc_pg_pool_options {
    const char *conninfo;   /* libpq conninfo string or URI */
    int size;               /* connections to keep open (>= 1) */
    int connect_timeout_ms; /* our own timer: libpq ignores connect_timeout with PQconnectPoll */
    int backoff_min_ms;     /* first reconnect delay; doubles with jitter ... */
    int backoff_max_ms;     /* ... up to this */
    int max_queued;         /* queries waiting for a free connection before new ones are refused
                             * (ehc_pg_query then returns EHC_EUNAVAILABLE) */
    /* Added fields (defaults from ehc_pg_pool_options_default): */
    int query_timeout_ms;         /* time limit for ehc_pg_query calls that pass timeout_ms <= 0 */
    int statement_timeout_ms;     /* server-side statement_timeout per connection; 0 leaves the server's */
    int client_check_interval_ms; /* client_connection_check_interval (PostgreSQL >= 14): the server ends
                                   * a query whose client went away, e.g. after our time limit dropped
                                   * the connection, instead of running it to the end; 0 leaves the
                                   * server's setting. Default 1000. */
    const char *session_role;     /* when set (lower-case name), every connection acts as this role
                                   * (startup option role=...): ehcd serves as ehc_app, which owns
                                   * nothing and is bound by row-level security. Default NULL. */
} ehc_pg_pool_options;

/* The outcome of one query, reported exactly once:
 *   status 0                 -> res is the final PGresult (PGRES_COMMAND_OK or PGRES_TUPLES_OK)
 *   status EHC_EINVAL        -> the server refused the statement; res holds the error result
 *                               (PQresultErrorField(res, PG_DIAG_SQLSTATE) tells why)
 *   status EHC_EUNAVAILABLE  -> the connection was lost before the reply (outcome unknown for writes),
 *                               or the server ended the session (FATAL, e.g. shutdown), or it was
 *                               still queued when the last connection went down; res is NULL
 *   status EHC_ETIMEDOUT     -> no reply within the time limit; the connection is dropped and re-made
 *                               (a query that times out while still queued was never sent); res NULL
 *   status EHC_ECLOSED       -> the pool is closing (queued, or in flight with outcome unknown); res NULL
 * A server-side statement_timeout arrives as EHC_EINVAL with SQLSTATE 57014. COPY is not supported
 * (the connection is dropped). The text of a server error can quote parameter values, so message
 * carries only its SQLSTATE; read res when the caller knows that is safe to log.
 * res is owned by the pool and freed after the callback returns; message is a short text for logs
 * (never includes parameters). */
typedef void (*ehc_pg_query_cb)(void *data, int status, PGresult *res, const char *message);

void ehc_pg_pool_options_default(ehc_pg_pool_options *opts);

EHC_MUST_USE int ehc_pg_pool_new(uv_loop_t *loop, const ehc_pg_pool_options *opts, ehc_pg_pool **out);

/* Starts connecting; returns at once. Connections come up (and come back) in the background. */
EHC_MUST_USE int ehc_pg_pool_start(ehc_pg_pool *pool);

/* Queue one parameterised statement (text parameters, text results; a NULL entry in params is SQL
 * NULL). sql and params are copied. timeout_ms counts from this call, queue wait included; <= 0 means
 * opts.query_timeout_ms. Returns 0 when queued (the callback will run later, never from inside this
 * call), or EHC_EUNAVAILABLE at once when no connection is up or the queue is full (the caller
 * answers 503 without waiting), EHC_ECLOSED while closing, EHC_EINVAL for bad arguments. */
EHC_MUST_USE int ehc_pg_query(ehc_pg_pool *pool, const char *sql, int nparams, const char *const *params,
                              int timeout_ms, ehc_pg_query_cb cb, void *data);

/* As ehc_pg_query, for bytes that are not text (a document's content): parameter i is lengths[i]
 * bytes, read as binary when formats[i] is 1 (bytea: the raw bytes) and as text when 0; every
 * column of the result comes in binary when result_format is 1 (PQgetlength gives each length). The
 * bytes are copied once, into the queued statement. */
EHC_MUST_USE int ehc_pg_query_binary(ehc_pg_pool *pool, const char *sql, int nparams,
                                     const char *const *params, const int *lengths, const int *formats,
                                     int result_format, int timeout_ms, ehc_pg_query_cb cb, void *data);

/* How many connections are up and usable now. */
int ehc_pg_pool_connected(const ehc_pg_pool *pool);

/* The last connection error (for /readyz), or "" when none. Never contains the password. */
const char *ehc_pg_pool_last_error(const ehc_pg_pool *pool);

/* Stop: fail queued and in-flight queries with EHC_ECLOSED (their callbacks run later from the loop,
 * before on_closed), close every connection and handle. on_closed (may be NULL) runs once everything
 * is released; the pool is freed just before it. May be called from inside a query callback, and
 * before ehc_pg_pool_start. A second call is ignored. */
void ehc_pg_pool_close(ehc_pg_pool *pool, void (*on_closed)(void *data), void *data);

#endif
