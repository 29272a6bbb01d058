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
#define EHC_HTTP_REQUEST_TIMEOUT_MS 10000

static void on_pool_closed(void *data)
{
    ehc_app *app = data;
    app->pg = NULL;
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    ehc_log(EHC_LOG_INFO, "shutdown_complete", NULL, "database closed; exiting");
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
    ehc_pg_pool_close(app->pg, on_pool_closed, app);
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
        .request_timeout_ms = EHC_HTTP_REQUEST_TIMEOUT_MS,
    };
    if (ehc_http_server_new(app.loop, &hopts, &app.http)) return 1;
    ehc_api_health_register(&app);
    ehc_api_session_register(&app);
    if (ehc_http_server_start(app.http)) {
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
    int rc = uv_loop_close(app.loop);
    if (rc != 0) {
        ehc_log(EHC_LOG_ERROR, "loop_close_failed", NULL, "handles still open at exit: %s", uv_strerror(rc));
        return 1;
    }
    return app.exit_code;
}
