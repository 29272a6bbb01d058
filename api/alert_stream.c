/* GET /api/v1/alerts/stream: the live alert feed as Server-Sent Events. Each event is one outbox
 * row of channel 'sse' addressed to the signed-in user (the scheduler chose the recipients by role:
 * the case officer, the team manager when overdue, the service manager on escalation), with the
 * row id as the event id, so a client that reconnects with Last-Event-ID gets exactly what it
 * missed. One poller reads new rows for every stream (one query a second however many are open);
 * a reconnecting stream first replays its backlog, holding live rows until the backlog is out. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/log.h"

#define POLL_MS 500
#define HEARTBEAT_MS 15000
#define ROWS_PER_POLL 1000
#define BACKLOG_LIMIT 1000
#define STREAM_TIMEOUT_MS 5000

typedef struct held_event {
    char *text;
    struct held_event *next;
} held_event;

typedef struct sse_sub {
    struct ehc_alert_hub *hub;
    ehc_http_req *req;
    int64_t user_id;
    int64_t last_id;
    bool replaying; /* the backlog query is out: live events wait in `held` */
    held_event *held, *held_tail;
    bool gone;
    struct sse_sub *prev, *next;
} sse_sub;

struct ehc_alert_hub {
    ehc_app *app;
    uv_timer_t poll;
    uint64_t last_heartbeat_ms;
    int64_t head; /* the newest row id the poller has seen; -1 until known */
    bool querying;
    bool closing;
    bool poll_closed;
    sse_sub *subs;
};

/* Freed once its timer is closed and no query of its own is out. */
static void hub_release(struct ehc_alert_hub *hub)
{
    if (hub->closing && hub->poll_closed && !hub->querying) free(hub);
}

static void sub_unlink(sse_sub *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->hub->subs = s->next;
    if (s->next) s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void sub_free(sse_sub *s)
{
    while (s->held) {
        held_event *h = s->held;
        s->held = h->next;
        free(h->text);
        free(h);
    }
    free(s);
}

/* The client went away, or the server is stopping. A backlog query in flight frees it later. */
static void on_sub_gone(void *data)
{
    sse_sub *s = data;
    s->gone = true;
    sub_unlink(s);
    if (!s->replaying) sub_free(s);
}

static char *event_text(const char *id, const char *payload)
{
    return ehc_asprintf("id: %s\nevent: alert\ndata: %s\n\n", id, payload);
}

static void deliver(sse_sub *s, int64_t id, char *text)
{
    if (s->replaying) {
        held_event *h = ehc_calloc(1, sizeof *h);
        h->text = text;
        if (s->held_tail)
            s->held_tail->next = h;
        else
            s->held = h;
        s->held_tail = h;
        return;
    }
    if (id > s->last_id) {
        ehc_http_stream_write(s->req, text, strlen(text));
        s->last_id = id;
    }
    free(text);
}

static void on_backlog(void *data, int status, PGresult *res, const char *message)
{
    sse_sub *s = data;
    s->replaying = false;
    if (s->gone) {
        sub_free(s);
        return;
    }
    if (status != 0) {
        /* tell the client to come back; it resumes from its Last-Event-ID */
        ehc_http_stream_write(s->req, "retry: 2000\n\n", 13);
        sub_unlink(s);
        ehc_http_stream_end(s->req);
        sub_free(s);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t id = atoll(PQgetvalue(res, i, 0));
        char *text = event_text(PQgetvalue(res, i, 0), PQgetvalue(res, i, 2));
        deliver(s, id, text);
    }
    /* live rows that came while the backlog was out: only those past it */
    while (s->held) {
        held_event *h = s->held;
        s->held = h->next;
        int64_t id = atoll(h->text + 4);
        if (id > s->last_id) {
            ehc_http_stream_write(s->req, h->text, strlen(h->text));
            s->last_id = id;
        }
        free(h->text);
        free(h);
    }
    s->held_tail = NULL;
}

static void on_rows(void *data, int status, PGresult *res, const char *message)
{
    struct ehc_alert_hub *hub = data;
    hub->querying = false;
    if (status != 0 || hub->closing) return hub_release(hub);
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t id = atoll(PQgetvalue(res, i, 0));
        int64_t user = atoll(PQgetvalue(res, i, 1));
        for (sse_sub *s = hub->subs; s; s = s->next)
            if (s->user_id == user) deliver(s, id, event_text(PQgetvalue(res, i, 0), PQgetvalue(res, i, 2)));
        if (id > hub->head) hub->head = id;
    }
}

static void on_head(void *data, int status, PGresult *res, const char *message)
{
    struct ehc_alert_hub *hub = data;
    hub->querying = false;
    if (status == 0 && !hub->closing) hub->head = atoll(PQgetvalue(res, 0, 0));
    hub_release(hub);
}

static void on_poll(uv_timer_t *t)
{
    struct ehc_alert_hub *hub = t->data;
    if (hub->querying || hub->closing) return;
    uint64_t now = uv_now(t->loop);
    if (now - hub->last_heartbeat_ms >= HEARTBEAT_MS) {
        hub->last_heartbeat_ms = now;
        for (sse_sub *s = hub->subs; s; s = s->next)
            if (!s->replaying) ehc_http_stream_write(s->req, ": keep-alive\n\n", 14);
    }
    if (hub->head < 0) {
        hub->querying = ehc_pg_query(hub->app->pg, "SELECT ehc_sse_head()", 0, NULL, STREAM_TIMEOUT_MS,
                                     on_head, hub) == 0;
        return;
    }
    if (!hub->subs) return;
    char after[24], limit[16];
    snprintf(after, sizeof after, "%" PRId64, hub->head);
    snprintf(limit, sizeof limit, "%d", ROWS_PER_POLL);
    const char *params[3] = {after, NULL, limit};
    hub->querying =
        ehc_pg_query(hub->app->pg, "SELECT id, user_id, payload FROM ehc_sse_rows($1::bigint, $2, $3::int)",
                     3, params, STREAM_TIMEOUT_MS, on_rows, hub) == 0;
}

static int parse_last_event_id(const char *s, int64_t *out)
{
    if (!s) return EHC_ENOENT;
    size_t n = strlen(s);
    if (n == 0 || n > 15) return EHC_EINVAL;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return EHC_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static void stream_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    struct ehc_alert_hub *hub = app->alert_hub;
    if (hub->head < 0 || hub->closing) {
        ehc_http_res_header(req, "retry-after", "1");
        ehc_http_reply_error(req, 503, "unavailable", "the alert stream is starting; try again shortly",
                             NULL);
        return;
    }
    int64_t last;
    int rc = parse_last_event_id(ehc_http_req_header(req, "last-event-id"), &last);
    if (rc == EHC_EINVAL) {
        ehc_http_reply_error(req, 400, "invalid_header", "Last-Event-ID must be an event id from this stream",
                             "Last-Event-ID");
        return;
    }
    sse_sub *s = ehc_calloc(1, sizeof *s);
    s->hub = hub;
    s->req = req;
    s->user_id = who->user_id;
    s->last_id = rc == 0 ? last : hub->head;
    s->next = hub->subs;
    if (hub->subs) hub->subs->prev = s;
    hub->subs = s;
    ehc_http_res_header(req, "x-accel-buffering", "no");
    if (ehc_http_stream_start(req, "text/event-stream; charset=utf-8", on_sub_gone, s) != 0) return;
    ehc_http_stream_write(req, "retry: 2000\n\n", 13);
    if (rc != 0) return;
    /* resuming: replay what this user missed, then go live */
    char after[24], user[24], limit[16];
    snprintf(after, sizeof after, "%" PRId64, last);
    snprintf(user, sizeof user, "%" PRId64, who->user_id);
    snprintf(limit, sizeof limit, "%d", BACKLOG_LIMIT);
    const char *params[3] = {after, user, limit};
    s->replaying = true;
    if (ehc_pg_query(app->pg,
                     "SELECT id, user_id, payload FROM ehc_sse_rows($1::bigint, $2::bigint, $3::int)", 3,
                     params, STREAM_TIMEOUT_MS, on_backlog, s) != 0)
        on_backlog(s, EHC_EUNAVAILABLE, NULL, NULL);
}

static void on_stream(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, stream_authed, NULL);
}

void ehc_api_alert_stream_register(ehc_app *app)
{
    struct ehc_alert_hub *hub = ehc_calloc(1, sizeof *hub);
    hub->app = app;
    hub->head = -1;
    uv_timer_init(app->loop, &hub->poll);
    hub->poll.data = hub;
    uv_timer_start(&hub->poll, on_poll, 0, POLL_MS);
    app->alert_hub = hub;
    if (ehc_http_route(app->http, "GET", "/api/v1/alerts/stream", on_stream, app)) abort();
}

static void on_poll_closed(uv_handle_t *h)
{
    struct ehc_alert_hub *hub = h->data;
    hub->poll_closed = true;
    hub_release(hub);
}

void ehc_api_alert_stream_close(ehc_app *app)
{
    struct ehc_alert_hub *hub = app->alert_hub;
    if (!hub) return;
    app->alert_hub = NULL;
    hub->closing = true;
    /* the HTTP server has ended every stream (and told us) before this is called */
    uv_close((uv_handle_t *)&hub->poll, on_poll_closed);
}
