/* GET /metrics: Prometheus text exposition of what an operator watches: HTTP requests by route and
 * status with a latency histogram, the database pool, the store's commits, the scheduler's queue
 * and alerts fired, and the outbox's deliveries and dead letters. Counts only: no personal data.
 * Serve it on loopback or an internal network, like the rest of ehcd. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"

static void add(char **buf, size_t *len, size_t *cap, const char *fmt, ...) EHC_PRINTF(4, 5);

static void add(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (*len + (size_t)n + 1 > *cap) {
        *cap = (*len + (size_t)n + 1) * 2;
        *buf = ehc_realloc(*buf, *cap);
    }
    va_start(ap, fmt);
    vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
}

static void on_metrics(ehc_http_req *req, void *ctx)
{
    ehc_app *app = ctx;
    char *buf = ehc_http_metrics(app->http);
    size_t len = strlen(buf), cap = len + 1;
    add(&buf, &len, &cap,
        "# HELP ehcd_db_connections Database connections up.\n# TYPE ehcd_db_connections gauge\n"
        "ehcd_db_connections %d\n# HELP ehcd_db_pool_size Database connections configured.\n"
        "# TYPE ehcd_db_pool_size gauge\nehcd_db_pool_size %d\n",
        ehc_pg_pool_connected(app->pg), app->cfg.db_pool_size);
    if (app->store) {
        uint64_t commits, commands;
        ehc_store_stats(app->store, &commits, &commands);
        add(&buf, &len, &cap,
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
        add(&buf, &len, &cap,
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
        add(&buf, &len, &cap,
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
    ehc_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
    free(buf);
}

void ehc_api_metrics_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/metrics", on_metrics, app)) abort();
}
