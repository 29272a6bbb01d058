/* The simulated clock, for tests and demonstrations (`ehcd serve --sim-clock` only):
 *   GET  /admin/clock              {"now": "2026-02-16T07:00:00Z", "today": "2026-02-16"}
 *   POST /admin/clock {"now": ...}  moves it forward (never back: 409), waits until every alert now
 *                                  due has fired, then answers as GET does (503 not_settled if that
 *                                  takes longer than 30 s: the clock has moved, firing goes on).
 * Without --sim-clock both answer 404, as if they did not exist. Only an admin may move it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"

#define SETTLE_POLL_MS 10
#define SETTLE_LIMIT_MS 30000

static void reply_clock(ehc_http_req *req, ehc_app *app)
{
    ehc_instant now = ehc_clock_now(&app->clock);
    int64_t secs = now.us / EHC_US_PER_SECOND;
    ehc_date day = {.days = (int32_t)(secs / 86400)};
    int64_t rem = secs % 86400;
    char iso[EHC_DATE_ISO_SIZE], text[32], today_iso[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(day, iso);
    snprintf(text, sizeof text, "%sT%02d:%02d:%02dZ", iso, (int)(rem / 3600), (int)(rem / 60 % 60),
             (int)(rem % 60));
    ehc_date today;
    if (ehc_date_of_instant(now, &today)) today = day;
    ehc_date_format_iso(today, today_iso);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "now", text);
    cJSON_AddStringToObject(body, "today", today_iso);
    ehc_api_reply_json(req, 200, body);
}

typedef struct settle {
    ehc_app *app;
    ehc_http_req *req;
    uv_timer_t timer;
    uint64_t started_ms;
} settle;

static void on_settle_closed(uv_handle_t *h)
{
    free(ehc_container_of((uv_timer_t *)h, settle, timer));
}

static void on_settle_tick(uv_timer_t *t)
{
    settle *s = ehc_container_of(t, settle, timer);
    bool idle = !s->app->scheduler || ehc_scheduler_idle(s->app->scheduler);
    if (!idle && uv_now(s->app->loop) - s->started_ms < SETTLE_LIMIT_MS) return;
    uv_timer_stop(t);
    if (idle) {
        reply_clock(s->req, s->app);
    } else {
        /* the clock moved, but the alerts now due are still being fired: say so, not "done" */
        ehc_http_res_header(s->req, "retry-after", "5");
        ehc_http_reply_error(s->req, 503, "not_settled",
                             "the clock moved; alerts now due are still being fired: GET /admin/clock later",
                             NULL);
    }
    uv_close((uv_handle_t *)t, on_settle_closed);
}

static void on_clock_set(void *data, int status, ehc_instant now)
{
    settle *s = data;
    if (status == EHC_ESTATE) {
        ehc_http_reply_error(s->req, 409, "clock_backwards", "the simulated clock never goes back", "now");
        free(s);
        return;
    }
    if (status != 0) {
        ehc_http_res_header(s->req, "retry-after", "2");
        ehc_http_reply_error(s->req, 503, "unavailable", "the database cannot be reached; try again shortly",
                             NULL);
        free(s);
        return;
    }
    s->started_ms = uv_now(s->app->loop);
    uv_timer_init(s->app->loop, &s->timer);
    uv_timer_start(&s->timer, on_settle_tick, SETTLE_POLL_MS, SETTLE_POLL_MS);
}

static void set_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    if (!who->is_admin) {
        ehc_http_reply_error(req, 403, "forbidden", "only an admin may move the simulated clock", NULL);
        return;
    }
    cJSON *body = ehc_api_body_object(req);
    if (!body) return;
    cJSON *now = cJSON_GetObjectItemCaseSensitive(body, "now");
    ehc_instant to;
    if (cJSON_GetArraySize(body) != 1 || !cJSON_IsString(now) ||
        ehc_instant_parse_utc(now->valuestring, &to)) {
        cJSON_Delete(body);
        ehc_http_reply_error(req, 422, "invalid_field",
                             "send {\"now\": \"YYYY-MM-DDTHH:MM:SSZ\"} and nothing else", "now");
        return;
    }
    cJSON_Delete(body);
    settle *s = ehc_calloc(1, sizeof *s);
    s->app = app;
    s->req = req;
    int rc = ehc_simclock_set(app->simclock, to, on_clock_set, s);
    if (rc) on_clock_set(s, rc, to);
}

static void get_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    reply_clock(req, app);
}

static void on_clock(ehc_http_req *req, void *ctx)
{
    ehc_app *app = ctx;
    if (!app->simclock) {
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
        return;
    }
    bool post = strcmp(ehc_http_req_method(req), "POST") == 0;
    ehc_api_authenticate(app, req, post ? set_authed : get_authed, NULL);
}

void ehc_api_admin_clock_register(ehc_app *app)
{
    if (ehc_http_route(app->http, "GET", "/admin/clock", on_clock, app) ||
        ehc_http_route(app->http, "POST", "/admin/clock", on_clock, app))
        abort();
}
