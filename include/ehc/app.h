/* The daemon's one loop context: configuration, database pool, HTTP server and signal handling.
 * Created by `ehcd serve`, owned by it, and passed to every handler; there is no other global. */
#ifndef EHC_APP_H
#define EHC_APP_H

#include <uv.h>

#include "ehc/config.h"
#include "ehc/credential.h"
#include "ehc/definitions.h"
#include "ehc/http.h"
#include "ehc/outbox.h"
#include "ehc/pg.h"
#include "ehc/scheduler.h"
#include "ehc/simclock.h"
#include "ehc/store.h"

typedef struct ehc_app {
    uv_loop_t *loop;
    ehc_config cfg;
    const ehc_definitions *defs; /* borrowed from the caller of ehc_app_serve */
    ehc_pg_pool *pg;
    ehc_store *store;
    ehc_scheduler *scheduler;
    ehc_outbox *outbox;
    ehc_simclock *simclock; /* only with --sim-clock */
    uv_timer_t simclock_retry;
    struct ehc_alert_hub *alert_hub; /* api/alert_stream.c */
    ehc_clock clock;
    ehc_http_server *http;
    uv_signal_t sigint;
    uv_signal_t sigterm;
    int stopping;
    int exit_code;
    char unknown_user_hash[EHC_PASSWORD_HASH_MAX]; /* see api/session.c */
    struct ehc_principal_cache *principals;        /* api/session.c: who a credential is, for 1 s */
    struct ehc_notices *notices;                   /* api/letters.c: the letter templates */
} ehc_app;

/* Runs ehcd until SIGINT or SIGTERM: listens, serves, then shuts down gracefully (stop accepting,
 * finish requests in flight, close the database). Returns the process exit code. */
int ehc_app_serve(const ehc_config *cfg, const ehc_definitions *defs);

/* Route registration, one function per resource file under api/. */
void ehc_api_health_register(ehc_app *app);
void ehc_api_admin_clock_register(ehc_app *app);
void ehc_api_alert_stream_register(ehc_app *app);
/* After the HTTP server has closed (it ends every stream first). */
void ehc_api_alert_stream_close(ehc_app *app);

#endif
