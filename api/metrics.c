/* GET /metrics: Prometheus text exposition of what an operator watches: HTTP requests by route and
 * status with a latency histogram, the database pool, the store's commits, the scheduler's queue
 * and alerts fired, and the outbox's deliveries, dead letters and backlog (one quick query; left out
 * when the database does not answer, so /metrics always answers). Counts only: no personal data.
 * Serve it on loopback or an internal network, like the rest of ehcd. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"

typedef struct metrics_ctx {
    ehc_app *app;
    ehc_http_req *req;
} metrics_ctx;

static void on_backlog(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    metrics_ctx *m = data;
    ehc_app *app = m->app;
    ehc_http_req *req = m->req;
    free(m);
    char *buf = ehc_http_metrics(app->http);
    size_t len = strlen(buf), cap = len + 1;
    ehc_text_printf(&buf, &len, &cap,
                    "# HELP ehcd_db_connections Database connections up.\n# TYPE ehcd_db_connections gauge\n"
                    "ehcd_db_connections %d\n# HELP ehcd_db_pool_size Database connections configured.\n"
                    "# TYPE ehcd_db_pool_size gauge\nehcd_db_pool_size %d\n",
                    ehc_pg_pool_connected(app->pg), app->cfg.db_pool_size);
    if (app->store) {
        uint64_t commits, commands;
        ehc_store_stats(app->store, &commits, &commands);
        ehc_text_printf(
            &buf, &len, &cap,
            "# HELP ehcd_store_commits_total Transactions committed by the store.\n"
            "# TYPE ehcd_store_commits_total counter\nehcd_store_commits_total %llu\n"
            "# HELP ehcd_store_commands_total Commands (events) committed; more than commits means group "
            "commit.\n"
            "# TYPE ehcd_store_commands_total counter\nehcd_store_commands_total %llu\n",
            (unsigned long long)commits, (unsigned long long)commands);
    }
    if (app->scheduler) {
        ehc_scheduler_stats st;
        ehc_scheduler_stats_get(app->scheduler, &st);
        ehc_text_printf(
            &buf, &len, &cap,
            "# HELP ehcd_scheduler_pending Alert instants waiting in the scheduler.\n"
            "# TYPE ehcd_scheduler_pending gauge\nehcd_scheduler_pending %zu\n"
            "# HELP ehcd_alerts_fired_total Alerts committed.\n# TYPE ehcd_alerts_fired_total counter\n"
            "ehcd_alerts_fired_total %llu\n"
            "# HELP ehcd_scheduler_unplannable_total Deadlines whose alert schedule could not be computed.\n"
            "# TYPE ehcd_scheduler_unplannable_total counter\nehcd_scheduler_unplannable_total %llu\n",
            st.pending, (unsigned long long)st.fired, (unsigned long long)st.unplannable);
    }
    if (app->outbox) {
        ehc_outbox_stats st;
        ehc_outbox_stats_get(app->outbox, &st);
        ehc_text_printf(&buf, &len, &cap,
                        "# HELP ehcd_deliveries_total Alert notifications by channel and outcome.\n"
                        "# TYPE ehcd_deliveries_total counter\n"
                        "ehcd_deliveries_total{channel=\"webhook\",outcome=\"delivered\"} %llu\n"
                        "ehcd_deliveries_total{channel=\"webhook\",outcome=\"retried\"} %llu\n"
                        "ehcd_deliveries_total{channel=\"webhook\",outcome=\"dead\"} %llu\n"
                        "ehcd_deliveries_total{channel=\"email\",outcome=\"delivered\"} %llu\n"
                        "ehcd_deliveries_total{channel=\"email\",outcome=\"retried\"} %llu\n"
                        "ehcd_deliveries_total{channel=\"email\",outcome=\"dead\"} %llu\n"
                        "# HELP ehcd_deliveries_in_flight Notifications being delivered now.\n"
                        "# TYPE ehcd_deliveries_in_flight gauge\nehcd_deliveries_in_flight %zu\n",
                        (unsigned long long)st.webhook.delivered, (unsigned long long)st.webhook.retried,
                        (unsigned long long)st.webhook.dead, (unsigned long long)st.email.delivered,
                        (unsigned long long)st.email.retried, (unsigned long long)st.email.dead, st.inflight);
    }
    if (status == 0 && PQntuples(res) > 0) {
        ehc_text_printf(&buf, &len, &cap,
                        "# HELP ehcd_outbox_waiting Notifications written and not yet delivered (nor dead).\n"
                        "# TYPE ehcd_outbox_waiting gauge\n");
        for (int i = 0; i < PQntuples(res); i++)
            ehc_text_printf(&buf, &len, &cap, "ehcd_outbox_waiting{channel=\"%s\"} %s\n",
                            PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        ehc_text_printf(&buf, &len, &cap,
                        "# HELP ehcd_outbox_oldest_waiting_seconds Age of the oldest notification waiting.\n"
                        "# TYPE ehcd_outbox_oldest_waiting_seconds gauge\n");
        for (int i = 0; i < PQntuples(res); i++)
            ehc_text_printf(&buf, &len, &cap, "ehcd_outbox_oldest_waiting_seconds{channel=\"%s\"} %s\n",
                            PQgetvalue(res, i, 0), PQgetvalue(res, i, 2));
    }
    ehc_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
    free(buf);
}

static void on_metrics(ehc_http_req *req, void *ctx)
{
    metrics_ctx *m = ehc_calloc(1, sizeof *m);
    m->app = ctx;
    m->req = req;
    if (ehc_pg_query(m->app->pg, "SELECT * FROM ehc_outbox_backlog()", 0, NULL, 1000, on_backlog, m) != 0)
        on_backlog(m, EHC_EUNAVAILABLE, NULL, NULL);
}

void ehc_api_metrics_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/metrics", on_metrics, app)) abort();
}
