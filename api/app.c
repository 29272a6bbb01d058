/* `ehcd serve`: builds the loop context (database pool, HTTP server, routes, signals), runs the
 * loop, and shuts down in order on SIGINT/SIGTERM: stop accepting, let requests in flight finish,
 * then close the database pool; the loop ends when the last handle is closed. A second signal
 * during shutdown exits at once. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/app.h"
#include "ehc/log.h"

#define EHC_MAX_BODY_BYTES (1024 * 1024)

static void on_pool_closed(void *data)
{
    ehc_app *app = data;
    app->pg = NULL;
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->simclock_retry, NULL);
    ehc_log(EHC_LOG_INFO, "shutdown_complete", NULL, "database closed; exiting");
}

/* The last users of the pool are gone: close it. */
static void close_pool(ehc_app *app)
{
    if (app->simclock) ehc_simclock_free(app->simclock);
    app->simclock = NULL;
    ehc_pg_pool_close(app->pg, on_pool_closed, app);
}

static void on_scheduler_event(void *data, const ehc_scheduler_event *ev)
{
    ehc_app *app = data;
    switch (ev->kind) {
    case EHC_SCHEDULER_READY:
        ehc_log(EHC_LOG_INFO, "scheduler_ready", NULL, "%zu pending alert instants loaded in %lld ms",
                ev->pending, (long long)(ev->elapsed_us / 1000));
        break;
    case EHC_SCHEDULER_FIRED:
        ehc_log(EHC_LOG_DEBUG, "alert_fired", NULL, "deadline %lld alert %lld %s", (long long)ev->deadline_id,
                (long long)ev->alert_id, ev->level);
        if (app->outbox) ehc_outbox_poke(app->outbox);
        break;
    case EHC_SCHEDULER_ERROR:
        ehc_log(EHC_LOG_WARN, "scheduler_error", NULL, "%s (retrying)", ev->message ? ev->message : "");
        break;
    case EHC_SCHEDULER_CLOSED:
        app->scheduler = NULL;
        if (!app->stopping) break;
        if (app->outbox)
            ehc_outbox_close(app->outbox); /* its CLOSED closes the pool */
        else
            close_pool(app);
        break;
    }
}

static void on_outbox_event(void *data, const ehc_outbox_event *ev)
{
    ehc_app *app = data;
    switch (ev->kind) {
    case EHC_OUTBOX_DEAD:
        ehc_log(EHC_LOG_WARN, "delivery_dead_lettered", NULL,
                "outbox %lld (%s) after %d tries: %s; see outbox_dead_letters", (long long)ev->outbox_id,
                ev->channel ? ev->channel : "", ev->attempts, ev->error ? ev->error : "");
        break;
    case EHC_OUTBOX_ERROR:
        ehc_log(EHC_LOG_WARN, "outbox_error", NULL, "%s (retrying)", ev->error ? ev->error : "");
        break;
    case EHC_OUTBOX_CLOSED:
        app->outbox = NULL;
        if (app->stopping && !app->scheduler) close_pool(app);
        break;
    default: break;
    }
}

static void on_http_closed(void *data, int clean)
{
    ehc_app *app = data;
    if (!clean) {
        /* Requests did not finish within the grace period: nothing more can be done for them. */
        ehc_log(EHC_LOG_WARN, "shutdown_forced", NULL, "grace period over with requests in flight");
        exit(1);
    }
    app->http = NULL;
    ehc_api_alert_stream_close(app);
    if (app->store) ehc_store_free(app->store);
    app->store = NULL;
    if (app->scheduler)
        ehc_scheduler_close(app->scheduler); /* CLOSED then closes the pool */
    else
        close_pool(app);
}

static void on_commit(void *data, int64_t case_id)
{
    ehc_app *app = data;
    if (app->scheduler && ehc_scheduler_case_changed(app->scheduler, case_id) != 0)
        ehc_log(EHC_LOG_WARN, "scheduler_hook_failed", NULL,
                "case %lld: its alerts are planned by the next sweep", (long long)case_id);
}

static void start_scheduler(ehc_app *app)
{
    if (app->stopping || !app->scheduler) return;
    if (ehc_scheduler_start(app->scheduler) != 0)
        ehc_log(EHC_LOG_ERROR, "scheduler_start_failed", NULL, "the scheduler did not start");
}

static void on_simclock_moved(void *data, ehc_instant now)
{
    ehc_app *app = data;
    if (app->scheduler && ehc_scheduler_ready(app->scheduler)) ehc_scheduler_clock_moved(app->scheduler);
}

static void load_simclock(uv_timer_t *t);

static void on_simclock_loaded(void *data, int status, ehc_instant now)
{
    ehc_app *app = data;
    if (status != 0) {
        /* the database is not up yet: try again shortly */
        uv_timer_start(&app->simclock_retry, load_simclock, 500, 0);
        return;
    }
    ehc_log(EHC_LOG_INFO, "sim_clock_loaded", NULL, "simulated clock at %lld s",
            (long long)(now.us / 1000000));
    start_scheduler(app);
}

static void load_simclock(uv_timer_t *t)
{
    ehc_app *app = t->data;
    if (app->stopping || !app->simclock) return;
    if (ehc_simclock_load(app->simclock, on_simclock_loaded, app) != 0)
        uv_timer_start(&app->simclock_retry, load_simclock, 500, 0);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    ehc_app *app = sig->data;
    if (app->stopping) {
        ehc_log(EHC_LOG_WARN, "shutdown_immediate", NULL, "second signal %d: exiting now", signum);
        exit(1);
    }
    app->stopping = 1;
    ehc_log(EHC_LOG_INFO, "shutdown_begin", NULL, "signal %d: no new connections; finishing requests",
            signum);
    ehc_http_server_shutdown(app->http, app->cfg.shutdown_grace_ms, on_http_closed, app);
}

int ehc_app_serve(const ehc_config *cfg, const ehc_definitions *defs)
{
    ehc_app app;
    memset(&app, 0, sizeof app);
    app.cfg = *cfg;
    app.defs = defs;
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) return 1;
    app.loop = &loop;
    signal(SIGPIPE, SIG_IGN);

    ehc_pg_pool_options popts;
    ehc_pg_pool_options_default(&popts);
    popts.conninfo = app.cfg.database_url;
    popts.size = app.cfg.db_pool_size;
    popts.session_role = "ehc_app"; /* owns nothing, bound by row-level security */
    if (ehc_pg_pool_new(app.loop, &popts, &app.pg) || ehc_pg_pool_start(app.pg)) {
        ehc_log(EHC_LOG_ERROR, "db_pool_failed", NULL, "cannot create the database pool");
        return 1;
    }

    ehc_http_options hopts = {
        .host = app.cfg.listen_host,
        .port = app.cfg.listen_port,
        .max_body_bytes = EHC_MAX_BODY_BYTES,
        /* a document upload's limit, with 64 KiB to spare so that a body a little over it gets our
         * JSON 413 naming the field; far over it, h2o refuses on the declared length unread */
        .max_large_body_bytes = app.cfg.max_document_bytes + 64 * 1024,
        .request_timeout_ms = app.cfg.request_timeout_ms,
    };
    app.clock = ehc_clock_real();
    uv_timer_init(app.loop, &app.simclock_retry);
    app.simclock_retry.data = &app;
    if (app.cfg.sim_clock) {
        ehc_instant start = ehc_clock_now(&app.clock);
        if (app.cfg.sim_clock_start_us) start.us = app.cfg.sim_clock_start_us;
        if (ehc_simclock_new(app.pg, start, &app.simclock)) return 1;
        app.clock = ehc_simclock_clock(app.simclock);
        ehc_simclock_listen(app.simclock, on_simclock_moved, &app);
        ehc_log(EHC_LOG_WARN, "sim_clock", NULL,
                "serving on a simulated clock set by POST /admin/clock: not for real cases");
    }
    ehc_store_options sopts;
    ehc_store_options_default(&sopts);
    sopts.max_inflight = app.cfg.db_pool_size;
    if (ehc_store_new(app.loop, app.pg, app.defs, &app.clock, &sopts, &app.store)) return 1;
    ehc_scheduler_options schopts;
    ehc_scheduler_options_default(&schopts);
    schopts.alerts.hour = app.cfg.alert_hour;
    if (ehc_scheduler_new(app.loop, app.pg, app.defs, &app.clock, &schopts, on_scheduler_event, &app,
                          &app.scheduler))
        return 1;
    ehc_store_on_commit(app.store, on_commit, &app);
    ehc_outbox_options oopts;
    ehc_outbox_options_default(&oopts);
    oopts.max_attempts = app.cfg.webhook_max_attempts;
    oopts.smtp_url = *app.cfg.smtp_url ? app.cfg.smtp_url : NULL;
    oopts.smtp_username = *app.cfg.smtp_username ? app.cfg.smtp_username : NULL;
    oopts.smtp_password = *app.cfg.smtp_password ? app.cfg.smtp_password : NULL;
    oopts.mail_from = app.cfg.mail_from;
    if (ehc_outbox_new(app.loop, app.pg, &app.clock, &oopts, on_outbox_event, &app, &app.outbox) ||
        ehc_outbox_start(app.outbox))
        return 1;
    if (app.simclock)
        load_simclock(&app.simclock_retry);
    else
        start_scheduler(&app);

    if (ehc_http_server_new(app.loop, &hopts, &app.http)) return 1;
    ehc_api_health_register(&app);
    ehc_api_cases_register(&app);
    ehc_api_alerts_register(&app);
    ehc_api_alert_stream_register(&app);
    ehc_api_openapi_register(&app);
    ehc_api_metrics_register(&app);
    ehc_api_deliveries_register(&app);
    ehc_api_children_register(&app);
    ehc_api_advice_register(&app);
    ehc_api_documents_register(&app);
    ehc_api_allocation_register(&app);
    ehc_api_reports_register(&app);
    ehc_api_sen2_register(&app);
    ehc_api_reviews_register(&app);
    ehc_api_admin_register(&app);
    ehc_api_admin_clock_register(&app);
    ehc_api_session_register(&app);
    ehc_api_workflows_register(&app);
    ehc_api_letters_register(&app);
    ehc_api_web_register(&app);
    char doc_err[256];
    int doc_rc = ehc_api_openapi_check(app.http, doc_err, sizeof doc_err);
    if (doc_rc) ehc_log(EHC_LOG_ERROR, "openapi_mismatch", NULL, "%s", doc_err);
    if (doc_rc || app.exit_code || ehc_http_server_start(app.http)) {
        app.exit_code = 1;
        app.stopping = 1;
        ehc_http_server_shutdown(app.http, 0, on_http_closed, &app);
    }

    uv_signal_init(app.loop, &app.sigint);
    uv_signal_init(app.loop, &app.sigterm);
    app.sigint.data = &app;
    app.sigterm.data = &app;
    if (!app.stopping) {
        uv_signal_start(&app.sigint, on_signal, SIGINT);
        uv_signal_start(&app.sigterm, on_signal, SIGTERM);
        ehc_log(EHC_LOG_INFO, "serve_ready", NULL, "ehcd %s serving on %s:%d", EHC_VERSION,
                app.cfg.listen_host, ehc_http_server_port(app.http));
    }

    uv_run(app.loop, UV_RUN_DEFAULT);
    ehc_api_session_close(&app);
    ehc_api_letters_close(&app);
    int rc = uv_loop_close(app.loop);
    if (rc != 0) {
        ehc_log(EHC_LOG_ERROR, "loop_close_failed", NULL, "handles still open at exit: %s", uv_strerror(rc));
        return 1;
    }
    return app.exit_code;
}
