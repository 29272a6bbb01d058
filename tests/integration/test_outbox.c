/* The outbox dispatcher against a real PostgreSQL, as the application role, delivering to a tiny HTTP
 * webhook receiver and a tiny SMTP receiver that this test runs on 127.0.0.1 on the same libuv loop:
 * an alert's 'sse' row fans out into webhook and email rows; the webhook arrives once with its JSON
 * body, a correct HMAC-SHA256 signature and the idempotency key; a receiver failing twice gets it on
 * the third attempt; one always failing (or never answering) gets it dead-lettered after N tries; a
 * dispatcher closed mid-delivery loses nothing; the email names the case reference, the stage and the
 * deadline; the child's name, date of birth and address appear in nothing delivered; a claim is
 * exclusive until its lease lapses. Each test runs in a fresh database. */
#include <cJSON.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "ehc/migrate.h"
#include "ehc/outbox.h"
#include "testlib.h"

#define CHILD_FORENAME "Zebedee"
#define CHILD_SURNAME "Quillfeather-Marchbanks"
#define CHILD_BORN "2017-04-23"
#define CHILD_ADDRESS "17 Larkspur Mews"
#define SECRET "s3cret-for-the-receiving-system"

/* ---- the receivers -------------------------------------------------------------------------------- */

enum { MAX_SEEN = 16, MAX_CONNS = 32 };

typedef struct seen_request {
    char *head; /* request line and headers */
    char *body;
} seen_request;

typedef struct seen_mail {
    char *mail_from, *rcpt_to, *data;
} seen_mail;

typedef struct receiver receiver;

typedef struct conn {
    uv_tcp_t tcp;
    receiver *rx;
    char *buf;
    size_t len, cap;
    bool in_data; /* SMTP: between DATA and the lone dot */
    bool done;    /* HTTP: the request was recorded */
    bool closing;
    char *mail_from, *rcpt_to, *data;
} conn;

struct receiver {
    uv_tcp_t server;
    bool smtp;
    int port;
    int statuses[8]; /* HTTP: the answer to request i; then default_status */
    int status_count;
    int default_status;
    bool hang; /* HTTP: never answer */
    seen_request requests[MAX_SEEN];
    int request_count;
    seen_mail mails[MAX_SEEN];
    int mail_count;
    conn *conns[MAX_CONNS];
    bool server_closed;
};

typedef struct world {
    char *db_url;
    PGconn *admin; /* superuser: sees through row-level security, to check what was written */
    long authority, child, team, officer, manager, case_id, deadline_id, alert_id;
    uv_loop_t loop;
    ehc_pg_pool *pool;
    ehc_outbox *outbox;
    int outbox_closed;
    receiver http, smtp;
    int64_t test_now_us;
} world;

static world w;

static void on_write_done(uv_write_t *req, int status)
{
    free(req->data);
    free(req);
}

static void conn_send(conn *c, const char *text)
{
    if (c->closing) return;
    uv_write_t *req = ehc_malloc(sizeof *req);
    char *copy = ehc_strdup(text);
    req->data = copy;
    uv_buf_t buf = uv_buf_init(copy, (unsigned)strlen(copy));
    if (uv_write(req, (uv_stream_t *)&c->tcp, &buf, 1, on_write_done) != 0) {
        free(copy);
        free(req);
    }
}

static void on_conn_closed(uv_handle_t *h)
{
    conn *c = ehc_container_of((uv_tcp_t *)h, conn, tcp);
    for (int i = 0; i < MAX_CONNS; i++)
        if (c->rx->conns[i] == c) c->rx->conns[i] = NULL;
    free(c->buf);
    free(c->mail_from);
    free(c->rcpt_to);
    free(c->data);
    free(c);
}

static void conn_close(conn *c)
{
    if (c->closing) return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    conn_close(req->data);
    free(req);
}

/* Closes after the queued writes went out. */
static void conn_finish(conn *c)
{
    uv_shutdown_t *req = ehc_malloc(sizeof *req);
    req->data = c;
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        free(req);
        conn_close(c);
    }
}

static void http_consume(conn *c)
{
    receiver *rx = c->rx;
    if (c->done) return;
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end) return;
    size_t head_len = (size_t)(end - c->buf) + 4;
    size_t body_len = 0;
    for (char *p = c->buf; p < end; p = strstr(p, "\r\n") + 2)
        if (strncasecmp(p, "content-length:", 15) == 0) body_len = strtoul(p + 15, NULL, 10);
    if (c->len < head_len + body_len) return;
    c->done = true;
    if (rx->request_count < MAX_SEEN) {
        seen_request *r = &rx->requests[rx->request_count];
        r->head = ehc_strndup(c->buf, head_len);
        r->body = ehc_strndup(c->buf + head_len, body_len);
    }
    int i = rx->request_count++;
    if (rx->hang) return;
    int status = i < rx->status_count ? rx->statuses[i] : rx->default_status;
    char reply[128];
    snprintf(reply, sizeof reply, "HTTP/1.1 %d Test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
             status);
    conn_send(c, reply);
    conn_finish(c);
}

/* Enough of RFC 5321 for one client: greeting, EHLO/HELO, MAIL, RCPT, DATA, the lone dot, QUIT. */
static void smtp_line(conn *c, const char *line)
{
    receiver *rx = c->rx;
    if (c->in_data) {
        if (strcmp(line, ".") == 0) {
            c->in_data = false;
            if (rx->mail_count < MAX_SEEN) {
                seen_mail *m = &rx->mails[rx->mail_count++];
                m->mail_from = c->mail_from;
                m->rcpt_to = c->rcpt_to;
                m->data = c->data ? c->data : ehc_strdup("");
                c->mail_from = c->rcpt_to = c->data = NULL;
            }
            conn_send(c, "250 2.0.0 queued\r\n");
            return;
        }
        const char *text = line[0] == '.' ? line + 1 : line; /* undo dot-stuffing */
        char *joined = ehc_asprintf("%s%s\r\n", c->data ? c->data : "", text);
        free(c->data);
        c->data = joined;
        return;
    }
    if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "HELO", 4) == 0) {
        conn_send(c, "250 localhost\r\n");
    } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
        free(c->mail_from);
        c->mail_from = ehc_strdup(line + 10);
        conn_send(c, "250 2.1.0 ok\r\n");
    } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
        free(c->rcpt_to);
        c->rcpt_to = ehc_strdup(line + 8);
        conn_send(c, "250 2.1.5 ok\r\n");
    } else if (strcasecmp(line, "DATA") == 0) {
        c->in_data = true;
        conn_send(c, "354 end with <CRLF>.<CRLF>\r\n");
    } else if (strcasecmp(line, "QUIT") == 0) {
        conn_send(c, "221 bye\r\n");
        conn_finish(c);
    } else if (strcasecmp(line, "RSET") == 0 || strcasecmp(line, "NOOP") == 0) {
        conn_send(c, "250 ok\r\n");
    } else {
        conn_send(c, "502 5.5.2 not implemented\r\n");
    }
}

static void smtp_consume(conn *c)
{
    char *eol;
    while (!c->closing && (eol = strstr(c->buf, "\r\n"))) {
        *eol = '\0';
        char *line = ehc_strdup(c->buf);
        size_t used = (size_t)(eol - c->buf) + 2;
        memmove(c->buf, c->buf + used, c->len - used + 1);
        c->len -= used;
        smtp_line(c, line);
        free(line);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char scratch[65536];
    buf->base = scratch;
    buf->len = sizeof scratch;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = ehc_container_of((uv_tcp_t *)s, conn, tcp);
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (c->len + (size_t)nread + 1 > c->cap) {
        c->cap = (c->len + (size_t)nread + 1) * 2;
        c->buf = ehc_realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, buf->base, (size_t)nread);
    c->len += (size_t)nread;
    c->buf[c->len] = '\0';
    if (c->rx->smtp)
        smtp_consume(c);
    else
        http_consume(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    receiver *rx = ehc_container_of((uv_tcp_t *)server, receiver, server);
    conn *c = ehc_calloc(1, sizeof *c);
    c->rx = rx;
    c->buf = ehc_calloc(1, 1);
    c->cap = 1;
    uv_tcp_init(server->loop, &c->tcp);
    if (status != 0 || uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (!rx->conns[i]) {
            rx->conns[i] = c;
            break;
        }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rx->smtp) conn_send(c, "220 localhost ESMTP test receiver\r\n");
}

static void receiver_start(receiver *rx, bool smtp)
{
    memset(rx, 0, sizeof *rx);
    rx->smtp = smtp;
    rx->default_status = 200;
    assert_int_equal(uv_tcp_init(&w.loop, &rx->server), 0);
    struct sockaddr_in addr;
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
    assert_int_equal(uv_tcp_bind(&rx->server, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&rx->server, 16, on_connection), 0);
    struct sockaddr_in bound;
    int len = sizeof bound;
    assert_int_equal(uv_tcp_getsockname(&rx->server, (struct sockaddr *)&bound, &len), 0);
    rx->port = ntohs(bound.sin_port);
}

static void on_server_closed(uv_handle_t *h)
{
    receiver *rx = ehc_container_of((uv_tcp_t *)h, receiver, server);
    rx->server_closed = true;
}

static void receiver_stop(receiver *rx)
{
    if (!rx->port) return;
    for (int i = 0; i < MAX_CONNS; i++)
        if (rx->conns[i]) conn_close(rx->conns[i]);
    uv_close((uv_handle_t *)&rx->server, on_server_closed);
    while (!rx->server_closed)
        uv_run(&w.loop, UV_RUN_ONCE);
    uv_run(&w.loop, UV_RUN_NOWAIT);
    for (int i = 0; i < MAX_SEEN; i++) {
        free(rx->requests[i].head);
        free(rx->requests[i].body);
        free(rx->mails[i].mail_from);
        free(rx->mails[i].rcpt_to);
        free(rx->mails[i].data);
    }
    memset(rx, 0, sizeof *rx);
}

/* The value of a header in a raw head, or "" (copied into out). */
static const char *header_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
            break;
        }
    }
    return out;
}

/* ---- database helpers ------------------------------------------------------------------------------ */

#define scalar(...) ehc_test_scalar(w.admin, __VA_ARGS__)

/* The first value of a query as text (copied into out). */
static const char *text_of(char *out, size_t size, const char *fmt, ...) EHC_PRINTF(3, 4);
static const char *text_of(char *out, size_t size, const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(w.admin, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    snprintf(out, size, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return out;
}

/* What the scheduler does when the alert fires (sql/0008): one 'sse' row per recipient, written as the
 * application role in a transaction bound to the authority; the trigger fans it out. */
static void fire_alert_to(long user_id, const char *as)
{
    scalar(
        "BEGIN; SET LOCAL ROLE ehc_app; SELECT set_config('ehc.authority_ids', '%ld', true); "
        "INSERT INTO outbox (authority_id, channel, recipient_user_id, alert_id, payload, idempotency_key) "
        "VALUES (%ld, 'sse', %ld, %ld, jsonb_build_object('type', 'alert', 'alert_id', %ld, 'case_id', %ld, "
        "'deadline_id', %ld, 'deadline_key', 'decision_due', 'instance_key', '', 'level', 'overdue', "
        "'due_on', '2026-02-16', 'fire_at', '2026-02-17T07:00:00+00:00', 'caught_up', false, "
        "'exception_applies', false, 'as', '%s'), 'alert:%ld:sse:user:%ld'); COMMIT",
        w.authority, w.authority, user_id, w.alert_id, w.alert_id, w.case_id, w.deadline_id, as, w.alert_id,
        user_id);
}

static long subscribe(int port, bool active)
{
    return scalar("INSERT INTO webhook_subscriptions (authority_id, name, url, secret, active) "
                  "VALUES (%ld, 'case system', 'http://127.0.0.1:%d/hooks/ehc', '%s', %s) RETURNING id",
                  w.authority, port, SECRET, active ? "true" : "false");
}

/* ---- the loop -------------------------------------------------------------------------------------- */

static void spin_until(bool (*done)(void *), void *arg)
{
    int64_t t0 = ehc_test_now_ms();
    while (!done(arg)) {
        assert_true(ehc_test_now_ms() - t0 < 30000);
        uv_run(&w.loop, UV_RUN_ONCE);
    }
}

static bool pool_up(void *arg)
{
    if (ehc_pg_pool_connected(w.pool) >= 1) return true;
    usleep(1000);
    return false;
}

static ehc_outbox_stats stats(void)
{
    ehc_outbox_stats s;
    ehc_outbox_stats_get(w.outbox, &s);
    return s;
}

static bool webhook_settled(void *arg)
{
    ehc_outbox_stats s = stats();
    return s.webhook.delivered + s.webhook.dead >= (uint64_t)(long)arg && ehc_outbox_idle(w.outbox);
}

static bool email_settled(void *arg)
{
    ehc_outbox_stats s = stats();
    return s.email.delivered + s.email.dead >= (uint64_t)(long)arg && ehc_outbox_idle(w.outbox);
}

static bool requests_seen(void *arg)
{
    return w.http.request_count >= (int)(long)arg;
}

static bool outbox_closed(void *arg)
{
    return w.outbox_closed > 0;
}

static void on_outbox_event(void *data, const ehc_outbox_event *ev)
{
    if (ev->kind == EHC_OUTBOX_CLOSED) w.outbox_closed++;
}

static ehc_instant fixed_now(void *ctx)
{
    ehc_instant at = {w.test_now_us};
    return at;
}

static void test_options(ehc_outbox_options *o)
{
    ehc_outbox_options_default(o);
    o->poll_ms = 20;
    o->backoff_min_ms = 20;
    o->backoff_max_ms = 80;
    o->webhook_timeout_ms = 5000;
    o->email_timeout_ms = 5000;
    o->lease_ms = 20000;
}

static void start_outbox(const ehc_outbox_options *o)
{
    ehc_clock clock = {.now = fixed_now, .ctx = NULL};
    w.outbox_closed = 0;
    assert_int_equal(ehc_outbox_new(&w.loop, w.pool, &clock, o, on_outbox_event, NULL, &w.outbox), 0);
    assert_int_equal(ehc_outbox_start(w.outbox), 0);
}

static void stop_outbox(void)
{
    if (!w.outbox) return;
    ehc_outbox_close(w.outbox);
    w.outbox = NULL;
    spin_until(outbox_closed, NULL);
}

static int setup(void **state)
{
    memset(&w, 0, sizeof w);
    w.test_now_us = INT64_C(1771311600) * 1000000; /* 2026-02-17 07:00Z */
    w.db_url = ehc_test_create_database("ehc_outbox");
    w.admin = PQconnectdb(w.db_url);
    assert_int_equal(PQstatus(w.admin), CONNECTION_OK);
    int applied;
    char err[1024];
    assert_int_equal(ehc_migrate_apply(w.admin, &applied, err, sizeof err), 0);
    w.authority =
        scalar("INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham') RETURNING id");
    w.child =
        scalar("INSERT INTO children (authority_id, forename, surname, date_of_birth, address, postcode) "
               "VALUES (%ld, '" CHILD_FORENAME "', '" CHILD_SURNAME "', '" CHILD_BORN "', '" CHILD_ADDRESS
               "', 'OL1 1AA') RETURNING id",
               w.authority);
    w.team = scalar("INSERT INTO teams (authority_id, name) VALUES (%ld, 'North') RETURNING id", w.authority);
    w.officer = scalar("INSERT INTO users (username, display_name, email) "
                       "VALUES ('officer1', 'O', 'officer1@oldham.example') RETURNING id");
    w.manager = scalar("INSERT INTO users (username, display_name) VALUES ('manager1', 'M') RETURNING id");
    w.case_id = scalar("INSERT INTO cases (authority_id, reference, child_id, workflow_id, workflow_sha256, "
                       "calendar_sha256, stage, team_id, officer_id, opened_on) "
                       "VALUES (%ld, 'EHC-2026-0042', %ld, 'ehc-needs-assessment', repeat('a', 64), "
                       "repeat('b', 64), 'assessment', %ld, %ld, '2026-01-05') RETURNING id",
                       w.authority, w.child, w.team, w.officer);
    w.deadline_id =
        scalar("INSERT INTO deadlines (authority_id, case_id, deadline_key, kind, basis, origin_on, "
               "due_on, set_by_seq) VALUES (%ld, %ld, 'decision_due', 'statutory', "
               "'SEND Regs 2014 reg 5(1)', '2026-01-05', '2026-02-16', 1) RETURNING id",
               w.authority, w.case_id);
    w.alert_id = scalar("INSERT INTO alerts (authority_id, case_id, deadline_id, level, fire_at) "
                        "VALUES (%ld, %ld, %ld, 'overdue', '2026-02-17 07:00Z') RETURNING id",
                        w.authority, w.case_id, w.deadline_id);

    assert_int_equal(uv_loop_init(&w.loop), 0);
    ehc_pg_pool_options popts;
    ehc_pg_pool_options_default(&popts);
    popts.conninfo = w.db_url;
    popts.size = 2;
    popts.session_role = "ehc_app";
    assert_int_equal(ehc_pg_pool_new(&w.loop, &popts, &w.pool), 0);
    assert_int_equal(ehc_pg_pool_start(w.pool), 0);
    spin_until(pool_up, NULL);
    return 0;
}

static void on_pool_closed(void *data)
{
    *(int *)data = 1;
}

static int teardown(void **state)
{
    stop_outbox();
    receiver_stop(&w.http);
    receiver_stop(&w.smtp);
    int closed = 0;
    ehc_pg_pool_close(w.pool, on_pool_closed, &closed);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, 1);
    assert_int_equal(uv_loop_close(&w.loop), 0);
    PQfinish(w.admin);
    free(w.db_url);
    return 0;
}

static void assert_no_child_data(const char *text)
{
    assert_null(strstr(text, CHILD_FORENAME));
    assert_null(strstr(text, CHILD_SURNAME));
    assert_null(strstr(text, CHILD_BORN));
    assert_null(strstr(text, CHILD_ADDRESS));
    assert_null(strstr(text, "OL1 1AA"));
}

/* The signature the receiving system computes: HMAC-SHA256 of the raw body with the shared secret. */
static void expected_signature(const char *body, char *out, size_t cap)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)body, strlen(body), mac, &len);
    size_t n = (size_t)snprintf(out, cap, "sha256=");
    for (unsigned i = 0; i < len; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", mac[i]);
}

/* ---- tests ------------------------------------------------------------------------------------------ */

static void test_webhook_arrives_once_signed_with_its_idempotency_key(void **state)
{
    receiver_start(&w.http, false);
    long sub = subscribe(w.http.port, true);
    subscribe(w.http.port, false); /* inactive: no row */
    fire_alert_to(w.officer, "officer");
    fire_alert_to(w.manager, "manager"); /* a second recipient: still one webhook per subscription */
    assert_int_equal(scalar("SELECT count(*) FROM outbox WHERE channel = 'webhook'"), 1);

    ehc_outbox_options o;
    test_options(&o);
    start_outbox(&o);
    spin_until(webhook_settled, (void *)1L);
    assert_int_equal(w.http.request_count, 1);
    seen_request *r = &w.http.requests[0];
    assert_int_equal(strncmp(r->head, "POST /hooks/ehc HTTP/1.1\r\n", 26), 0);

    char value[256], expected[256], payload[2048];
    assert_string_equal(header_value(r->head, "Content-Type", value, sizeof value), "application/json");
    char key[128];
    snprintf(key, sizeof key, "alert:%ld:webhook:sub:%ld", w.alert_id, sub);
    assert_string_equal(header_value(r->head, "X-EHC-Delivery", value, sizeof value), key);
    expected_signature(r->body, expected, sizeof expected);
    assert_string_equal(header_value(r->head, "X-EHC-Signature", value, sizeof value), expected);

    /* the body is the stored payload: ids and codes with the case reference, stage and basis */
    text_of(payload, sizeof payload, "SELECT payload::text FROM outbox WHERE channel = 'webhook'");
    assert_string_equal(r->body, payload);
    cJSON *body = cJSON_Parse(r->body);
    assert_non_null(body);
    assert_string_equal(cJSON_GetObjectItem(body, "case_reference")->valuestring, "EHC-2026-0042");
    assert_string_equal(cJSON_GetObjectItem(body, "stage")->valuestring, "assessment");
    assert_string_equal(cJSON_GetObjectItem(body, "deadline_key")->valuestring, "decision_due");
    assert_string_equal(cJSON_GetObjectItem(body, "basis")->valuestring, "SEND Regs 2014 reg 5(1)");
    assert_string_equal(cJSON_GetObjectItem(body, "level")->valuestring, "overdue");
    assert_string_equal(cJSON_GetObjectItem(body, "due_on")->valuestring, "2026-02-16");
    assert_int_equal((long)cJSON_GetObjectItem(body, "deadline_id")->valuedouble, w.deadline_id);
    assert_int_equal((long)cJSON_GetObjectItem(body, "case_id")->valuedouble, w.case_id);
    assert_null(cJSON_GetObjectItem(body, "as"));
    cJSON_Delete(body);
    assert_no_child_data(r->head);
    assert_no_child_data(r->body);

    assert_int_equal(
        scalar("SELECT count(*) FROM outbox WHERE channel = 'webhook' AND delivered_at IS NOT NULL "
               "AND attempts = 1 AND dead_at IS NULL AND last_error IS NULL"),
        1);
    ehc_outbox_stats s = stats();
    assert_int_equal(s.webhook.delivered, 1);
    assert_int_equal(s.webhook.retried, 0);
    assert_int_equal(s.claimed, 1);
    /* nothing more goes out however long it runs */
    int64_t t0 = ehc_test_now_ms();
    while (ehc_test_now_ms() - t0 < 200)
        uv_run(&w.loop, UV_RUN_NOWAIT);
    assert_int_equal(w.http.request_count, 1);
}

static void test_webhook_failing_twice_arrives_on_the_third_attempt(void **state)
{
    receiver_start(&w.http, false);
    w.http.statuses[0] = 500;
    w.http.statuses[1] = 503;
    w.http.status_count = 2;
    subscribe(w.http.port, true);
    fire_alert_to(w.officer, "officer");
    ehc_outbox_options o;
    test_options(&o);
    start_outbox(&o);
    spin_until(webhook_settled, (void *)1L);
    assert_int_equal(w.http.request_count, 3);
    assert_int_equal(
        scalar("SELECT count(*) FROM outbox WHERE channel = 'webhook' AND delivered_at IS NOT NULL "
               "AND attempts = 3 AND last_error IS NULL"),
        1);
    ehc_outbox_stats s = stats();
    assert_int_equal(s.webhook.delivered, 1);
    assert_int_equal(s.webhook.retried, 2);
    assert_int_equal(s.webhook.dead, 0);
    /* every attempt carried the same body, signature and key */
    char a[256], b[256];
    for (int i = 1; i < 3; i++) {
        assert_string_equal(w.http.requests[i].body, w.http.requests[0].body);
        assert_string_equal(header_value(w.http.requests[i].head, "X-EHC-Signature", a, sizeof a),
                            header_value(w.http.requests[0].head, "X-EHC-Signature", b, sizeof b));
        assert_string_equal(header_value(w.http.requests[i].head, "X-EHC-Delivery", a, sizeof a),
                            header_value(w.http.requests[0].head, "X-EHC-Delivery", b, sizeof b));
    }
}

static void test_webhook_always_failing_is_dead_lettered_after_max_attempts(void **state)
{
    receiver_start(&w.http, false);
    w.http.default_status = 500;
    subscribe(w.http.port, true);
    fire_alert_to(w.officer, "officer");
    ehc_outbox_options o;
    test_options(&o);
    o.max_attempts = 4;
    start_outbox(&o);
    spin_until(webhook_settled, (void *)1L);
    assert_int_equal(w.http.request_count, 4);
    ehc_outbox_stats s = stats();
    assert_int_equal(s.webhook.dead, 1);
    assert_int_equal(s.webhook.retried, 3);
    assert_int_equal(s.webhook.delivered, 0);
    assert_int_equal(scalar("SELECT count(*) FROM outbox WHERE channel = 'webhook' AND dead_at IS NOT NULL "
                            "AND delivered_at IS NULL AND attempts = 4 AND last_error = 'HTTP 500'"),
                     1);
    stop_outbox();
    /* administrators see it, as the application role bound to their authority, and can requeue it */
    char text[256];
    text_of(
        text, sizeof text,
        "BEGIN; SET LOCAL ROLE ehc_app; SELECT set_config('ehc.authority_ids', '%ld', true); "
        "SELECT string_agg(channel || ' ' || case_reference || ' ' || attempts || ' ' || last_error, ',') "
        "FROM outbox_dead_letters",
        w.authority);
    scalar("COMMIT");
    assert_string_equal(text, "webhook EHC-2026-0042 4 HTTP 500");
    text_of(text, sizeof text, "BEGIN; SET LOCAL ROLE ehc_app; SELECT count(*) FROM outbox_dead_letters");
    scalar("COMMIT");
    assert_string_equal(text, "0"); /* bound to no authority: sees none */
    long id = scalar("SELECT id FROM outbox WHERE channel = 'webhook'");
    text_of(text, sizeof text, "BEGIN; SET LOCAL ROLE ehc_app; SELECT ehc_outbox_requeue('%ld', %ld)",
            w.authority, id);
    scalar("COMMIT");
    assert_string_equal(text, "t");
    assert_int_equal(
        scalar("SELECT count(*) FROM outbox WHERE id = %ld AND dead_at IS NULL AND attempts = 0", id), 1);
}

static void test_webhook_never_answering_fails_at_the_time_limit(void **state)
{
    receiver_start(&w.http, false);
    w.http.hang = true;
    subscribe(w.http.port, true);
    fire_alert_to(w.officer, "officer");
    ehc_outbox_options o;
    test_options(&o);
    o.webhook_timeout_ms = 300;
    o.max_attempts = 1;
    start_outbox(&o);
    int64_t t0 = ehc_test_now_ms();
    spin_until(webhook_settled, (void *)1L);
    assert_true(ehc_test_now_ms() - t0 >= 250);
    assert_int_equal(stats().webhook.dead, 1);
    char text[512];
    text_of(text, sizeof text,
            "SELECT last_error FROM outbox WHERE channel = 'webhook' AND dead_at IS NOT NULL");
    assert_non_null(strstr(text, "Timeout"));
}

static void test_dispatcher_closed_mid_delivery_loses_nothing(void **state)
{
    receiver_start(&w.http, false);
    w.http.hang = true;
    subscribe(w.http.port, true);
    fire_alert_to(w.officer, "officer");
    ehc_outbox_options o;
    test_options(&o);
    start_outbox(&o);
    spin_until(requests_seen, (void *)1L);
    assert_int_equal(stats().inflight, 1);
    stop_outbox(); /* mid-flight: the receiver never answered */
    /* released: not delivered, not dead, the attempt not counted, due now */
    assert_int_equal(scalar("SELECT count(*) FROM outbox WHERE channel = 'webhook' AND delivered_at IS NULL "
                            "AND dead_at IS NULL AND attempts = 0 AND next_attempt_at <= clock_timestamp()"),
                     1);
    /* the next dispatcher delivers it */
    w.http.hang = false;
    start_outbox(&o);
    spin_until(webhook_settled, (void *)1L);
    assert_int_equal(w.http.request_count, 2);
    assert_int_equal(stats().webhook.delivered, 1);
    assert_int_equal(scalar("SELECT count(*) FROM outbox WHERE channel = 'webhook' AND delivered_at IS NOT "
                            "NULL AND attempts = 1"),
                     1);
}

static void test_email_names_the_case_and_deadline_and_never_the_child(void **state)
{
    receiver_start(&w.smtp, true);
    fire_alert_to(w.officer, "officer");
    fire_alert_to(w.manager, "manager"); /* has no address: no email row */
    assert_int_equal(scalar("SELECT count(*) FROM outbox WHERE channel = 'email'"), 1);
    ehc_outbox_options o;
    test_options(&o);
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", w.smtp.port);
    o.smtp_url = url;
    o.smtp_tls = EHC_OUTBOX_SMTP_TLS_NONE;
    o.mail_from = "ehc-alerts@oldham.example";
    start_outbox(&o);
    spin_until(email_settled, (void *)1L);
    assert_int_equal(stats().email.delivered, 1);
    assert_int_equal(w.smtp.mail_count, 1);
    seen_mail *m = &w.smtp.mails[0];
    assert_string_equal(m->mail_from, "<ehc-alerts@oldham.example>");
    assert_string_equal(m->rcpt_to, "<officer1@oldham.example>");
    char expect[256];
    snprintf(expect, sizeof expect, "Message-ID: <alert.%ld.email.user.%ld@oldham.example>\r\n", w.alert_id,
             w.officer);
    assert_non_null(strstr(m->data, expect));
    assert_non_null(
        strstr(m->data, "\r\nSubject: [EHC] EHC-2026-0042: decision_due overdue (due 2026-02-16)\r\n"));
    assert_non_null(strstr(m->data, "Date: Tue, 17 Feb 2026 07:00:00 +0000\r\n"));
    assert_non_null(strstr(m->data, "\r\nTo: <officer1@oldham.example>\r\n"));
    assert_non_null(strstr(m->data, "Case reference: EHC-2026-0042\r\n"));
    assert_non_null(strstr(m->data, "Stage:          assessment\r\n"));
    assert_non_null(strstr(m->data, "Deadline:       decision_due (statutory: SEND Regs 2014 reg 5(1))\r\n"));
    assert_non_null(strstr(m->data, "Due on:         2026-02-16\r\n"));
    assert_no_child_data(m->data);
    assert_int_equal(
        scalar("SELECT count(*) FROM outbox WHERE channel = 'email' AND delivered_at IS NOT NULL "
               "AND attempts = 1"),
        1);
    /* and nothing stored for delivery names the child either */
    char all[8192];
    text_of(all, sizeof all, "SELECT string_agg(payload::text, ' ') FROM outbox");
    assert_no_child_data(all);
}

static void test_a_claim_is_exclusive_until_its_lease_lapses(void **state)
{
    subscribe(8, true);
    fire_alert_to(w.officer, "officer");
    char text[256];
    const char *claim =
        "BEGIN; SET LOCAL ROLE ehc_app; "
        "SELECT coalesce(string_agg(attempts::text, ','), '-') FROM ehc_outbox_claim('{webhook}', 10, %d)";
    text_of(text, sizeof text, claim, 60000);
    scalar("COMMIT");
    assert_string_equal(text, "1");
    text_of(text, sizeof text, claim, 60000); /* leased: nobody else gets it */
    scalar("COMMIT");
    assert_string_equal(text, "-");
    scalar("UPDATE outbox SET next_attempt_at = clock_timestamp() WHERE channel = 'webhook'"); /* lapsed */
    text_of(text, sizeof text, claim, 60000);
    scalar("COMMIT");
    assert_string_equal(text, "2");
    /* the first claimant settling late changes nothing: attempts is the fencing token */
    long id = scalar("SELECT id FROM outbox WHERE channel = 'webhook'");
    text_of(text, sizeof text,
            "BEGIN; SET LOCAL ROLE ehc_app; SELECT ehc_outbox_settle(%ld, 1, 'retry', 0, 'x')", id);
    scalar("COMMIT");
    assert_string_equal(text, "stale");
    text_of(text, sizeof text,
            "BEGIN; SET LOCAL ROLE ehc_app; SELECT ehc_outbox_settle(%ld, 2, 'dead', 0, 'x')", id);
    scalar("COMMIT");
    assert_string_equal(text, "dead");
}

/* The scheduler writes every 'sse' row of a firing batch in one statement (sql/0044): the fan-out of
 * several alerts and recipients at once gives what one row at a time gave: one webhook row per alert and
 * active subscription, one email row per recipient with an address who is not disabled, the payloads
 * completed, in the order of the 'sse' rows. */
static void test_one_statement_of_many_alerts_fans_out_as_row_by_row(void **state)
{
    long sub1 = subscribe(9, true), sub2 = subscribe(9, true);
    subscribe(9, false);
    scalar("UPDATE users SET email = 'manager1@oldham.example' WHERE id = %ld RETURNING id", w.manager);
    long gone = scalar("INSERT INTO users (username, display_name, email, disabled_at) "
                       "VALUES ('gone1', 'G', 'gone1@oldham.example', now()) RETURNING id");
    long second = scalar("INSERT INTO alerts (authority_id, case_id, deadline_id, level, fire_at) "
                         "VALUES (%ld, %ld, %ld, 'escalated', '2026-02-24 07:00Z') RETURNING id",
                         w.authority, w.case_id, w.deadline_id);
    scalar(
        "BEGIN; SET LOCAL ROLE ehc_app; SELECT set_config('ehc.authority_ids', '%ld', true); "
        "INSERT INTO outbox (authority_id, channel, recipient_user_id, alert_id, payload, idempotency_key) "
        "SELECT %ld, 'sse', r.u, a.a, jsonb_build_object('type', 'alert', 'alert_id', a.a, 'level', a.l, "
        "'as', r.role), 'alert:' || a.a || ':sse:user:' || r.u "
        "FROM (VALUES (1, %ld, 'overdue'), (2, %ld, 'escalated')) AS a (n, a, l), "
        "(VALUES (1, %ld, 'officer'), (2, %ld, 'manager'), (3, %ld, 'manager')) AS r (n, u, role) "
        "ORDER BY a.n, r.n; COMMIT",
        w.authority, w.authority, w.alert_id, second, w.officer, w.manager, gone);
    char keys[2048], want[2048];
    text_of(keys, sizeof keys,
            "SELECT string_agg(idempotency_key, ' ' ORDER BY id) FROM outbox WHERE channel <> 'sse'");
    snprintf(want, sizeof want,
             "alert:%ld:webhook:sub:%ld alert:%ld:webhook:sub:%ld alert:%ld:email:user:%ld "
             "alert:%ld:email:user:%ld "
             "alert:%ld:webhook:sub:%ld alert:%ld:webhook:sub:%ld alert:%ld:email:user:%ld "
             "alert:%ld:email:user:%ld",
             w.alert_id, sub1, w.alert_id, sub2, w.alert_id, w.officer, w.alert_id, w.manager, second, sub1,
             second, sub2, second, w.officer, second, w.manager);
    assert_string_equal(keys, want);
    /* completed: the case reference, stage, authority code, kind and basis; 'as' only on emails */
    assert_int_equal(
        scalar("SELECT count(*) FROM outbox WHERE channel IN ('webhook', 'email') "
               "AND payload ->> 'case_reference' = 'EHC-2026-0042' "
               "AND payload ->> 'stage' = 'assessment' AND payload ->> 'authority_code' = '353' "
               "AND payload ->> 'deadline_kind' = 'statutory' "
               "AND payload ->> 'basis' = 'SEND Regs 2014 reg 5(1)' "
               "AND payload ->> 'level' = CASE alert_id WHEN %ld THEN 'overdue' ELSE 'escalated' END "
               "AND (payload ? 'as') = (channel = 'email')",
               w.alert_id),
        8);
    assert_int_equal(scalar("SELECT count(*) FROM outbox WHERE channel = 'email' AND payload ->> 'as' = "
                            "CASE recipient_user_id WHEN %ld THEN 'officer' ELSE 'manager' END",
                            w.officer),
                     4);
    /* written again (a replay), nothing new */
    scalar(
        "BEGIN; SET LOCAL ROLE ehc_app; SELECT set_config('ehc.authority_ids', '%ld', true); "
        "INSERT INTO outbox (authority_id, channel, recipient_user_id, alert_id, payload, idempotency_key) "
        "SELECT %ld, 'sse', %ld, a, jsonb_build_object('type', 'alert', 'alert_id', a, 'as', 'officer'), "
        "'alert:' || a || ':sse:user:%ld:again' FROM unnest(ARRAY[%ld, %ld]) AS a; COMMIT",
        w.authority, w.authority, w.officer, w.officer, w.alert_id, second);
    assert_int_equal(scalar("SELECT count(*) FROM outbox WHERE channel <> 'sse'"), 8);
}

static void test_options_are_checked(void **state)
{
    ehc_outbox_options o;
    ehc_clock clock = {.now = fixed_now};
    ehc_outbox *ob = NULL;
    test_options(&o);
    o.smtp_url = "http://127.0.0.1:25";
    assert_int_equal(ehc_outbox_new(&w.loop, w.pool, &clock, &o, NULL, NULL, &ob), EHC_EINVAL);
    test_options(&o);
    o.mail_from = "Someone <a@b>";
    assert_int_equal(ehc_outbox_new(&w.loop, w.pool, &clock, &o, NULL, NULL, &ob), EHC_EINVAL);
    test_options(&o);
    o.lease_ms = o.webhook_timeout_ms;
    assert_int_equal(ehc_outbox_new(&w.loop, w.pool, &clock, &o, NULL, NULL, &ob), EHC_EINVAL);
    test_options(&o);
    o.max_attempts = 0;
    assert_int_equal(ehc_outbox_new(&w.loop, w.pool, &clock, &o, NULL, NULL, &ob), EHC_EINVAL);
    assert_null(ob);
    char sig[EHC_OUTBOX_SIGNATURE_SIZE], expected[128];
    ehc_outbox_signature(SECRET, "{}", 2, sig);
    expected_signature("{}", expected, sizeof expected);
    assert_string_equal(sig, expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_webhook_arrives_once_signed_with_its_idempotency_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_webhook_failing_twice_arrives_on_the_third_attempt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_webhook_always_failing_is_dead_lettered_after_max_attempts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_never_answering_fails_at_the_time_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatcher_closed_mid_delivery_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_email_names_the_case_and_deadline_and_never_the_child, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_claim_is_exclusive_until_its_lease_lapses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_statement_of_many_alerts_fans_out_as_row_by_row, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_options_are_checked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
