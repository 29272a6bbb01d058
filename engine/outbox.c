/* The outbox dispatcher (include/ehc/outbox.h): owns the curl multi handle and every easy handle in
 * flight, one uv_poll_t per socket curl asks us to watch, the uv_timer_t curl's timeout runs on, the
 * poll timer, and every claim or settlement round trip until its callback has run. Rows are claimed
 * and settled through sql/0012_outbox_delivery.sql; what goes on the wire (signed JSON, the email
 * message) is built here. Memory behind a handle is freed only in its close callback; the dispatcher
 * itself once every handle is closed and every round trip has come back. */
#include "ehc/outbox.h"

#include <assert.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ehc/log.h"

#define EHC__OUTBOX_ERROR_MAX 300

typedef struct delivery delivery;
typedef struct sock_watch sock_watch;

/* One row being sent, from claim to the end of its transfer. */
struct delivery {
    delivery *prev, *next;
    ehc_outbox *ob;
    CURL *easy;
    int64_t id;
    int attempts;
    bool email;
    char *body; /* webhook: the JSON body; email: the whole message */
    size_t body_len;
    size_t sent;             /* email: bytes handed to curl so far */
    struct curl_slist *list; /* webhook: headers; email: recipients */
    char errbuf[CURL_ERROR_SIZE];
    /* email only: sent by curl_easy_perform on a libuv worker thread (see email_work) */
    uv_work_t work;
    CURLcode result; /* written on the worker thread, read after it */
    long code;
};

/* A uv_poll_t for one curl socket, allocated apart because a closing handle must outlive its use. */
struct sock_watch {
    uv_poll_t handle;
    sock_watch *prev, *next;
    ehc_outbox *ob;
    curl_socket_t fd;
    bool closing;
};

/* One settlement round trip. */
typedef struct settle_op {
    ehc_outbox *ob;
    int64_t id;
    int attempts;
    bool email;
    char outcome[12];
    int retry_after_ms;
    char *error;
} settle_op;

struct ehc_outbox {
    uv_loop_t *loop;
    ehc_pg_pool *pool;
    ehc_clock clock;
    ehc_outbox_options opts; /* strings point to copies owned here */
    char *channels;          /* a PostgreSQL text[] literal */
    char *mail_domain;       /* the part of mail_from after '@', for Message-ID */
    ehc_outbox_cb cb;
    void *data;
    CURLM *multi;
    uv_timer_t poll_timer;
    uv_timer_t curl_timer;
    int open_handles; /* timers and watches not yet through their close callback */
    sock_watch *watches;
    delivery *deliveries;
    int inflight_deliveries;
    int inflight_queries;
    int emails_running;                                  /* emails on worker threads */
    delivery *emails_waiting_head, *emails_waiting_tail; /* beyond email_concurrency, in claim order */
    bool started, closing, claiming, more_due;
    int claim_limit; /* the limit of the claim in flight */
    uint64_t rng;
    ehc_outbox_stats stats;
};

static void claim(ehc_outbox *ob);

/* ---- small helpers ------------------------------------------------------------------------------ */

static void emit(ehc_outbox *ob, const ehc_outbox_event *ev)
{
    if (ob->cb) ob->cb(ob->data, ev);
}

/* xorshift64*: jitter only. */
static uint64_t next_random(ehc_outbox *ob)
{
    uint64_t x = ob->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ob->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* The delay before the next attempt after `attempts` failed ones: min * 2^(attempts-1), capped, drawn
 * in [d/2, d] so that rows failing together do not come back together. */
static int backoff_ms(ehc_outbox *ob, int attempts)
{
    int64_t d = ob->opts.backoff_min_ms;
    for (int i = 1; i < attempts && d < ob->opts.backoff_max_ms; i++)
        d *= 2;
    if (d > ob->opts.backoff_max_ms) d = ob->opts.backoff_max_ms;
    int64_t half = d / 2;
    return (int)(half + (int64_t)(next_random(ob) % (uint64_t)(d - half + 1)));
}

/* Appends s to a header line keeping printable ASCII only: no CR/LF can end a header early. */
static size_t append_header_safe(char *out, size_t cap, size_t len, const char *s)
{
    for (; s && *s && len + 1 < cap; s++)
        if (*s >= 0x20 && *s < 0x7f) out[len++] = *s;
    out[len] = '\0';
    return len;
}

static const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

void ehc_outbox_signature(const char *secret, const char *body, size_t body_len,
                          char out[EHC_OUTBOX_SIGNATURE_SIZE])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, body_len, mac, &mac_len);
    assert(mac_len == 32);
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < mac_len; i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[8 + 2 * i] = hex[mac[i] & 15];
    }
    out[7 + 2 * mac_len] = '\0';
}

/* ---- lifecycle ------------------------------------------------------------------------------------ */

static void free_options(ehc_outbox *ob)
{
    free((char *)ob->opts.smtp_url);
    free((char *)ob->opts.smtp_username);
    free((char *)ob->opts.smtp_password);
    free((char *)ob->opts.mail_from);
    free((char *)ob->opts.service_name);
    free(ob->channels);
    free(ob->mail_domain);
}

static void maybe_free(ehc_outbox *ob)
{
    if (!ob->closing || ob->open_handles > 0 || ob->inflight_queries > 0 || ob->emails_running > 0) return;
    ehc_outbox_event ev = {.kind = EHC_OUTBOX_CLOSED};
    emit(ob, &ev);
    free_options(ob);
    free(ob);
    curl_global_cleanup();
}

static void on_handle_closed(uv_handle_t *h)
{
    ehc_outbox *ob = h->data;
    ob->open_handles--;
    maybe_free(ob);
}

static void on_watch_closed(uv_handle_t *h)
{
    sock_watch *w = ehc_container_of((uv_poll_t *)h, sock_watch, handle);
    ehc_outbox *ob = w->ob;
    free(w);
    ob->open_handles--;
    maybe_free(ob);
}

static void watch_close(sock_watch *w)
{
    ehc_outbox *ob = w->ob;
    if (w->prev)
        w->prev->next = w->next;
    else
        ob->watches = w->next;
    if (w->next) w->next->prev = w->prev;
    w->closing = true;
    uv_poll_stop(&w->handle);
    uv_close((uv_handle_t *)&w->handle, on_watch_closed);
}

/* ---- settlement ----------------------------------------------------------------------------------- */

static const char SQL_SETTLE[] =
    "SELECT ehc_outbox_settle($1::bigint, $2::integer, $3::text, $4::integer, $5::text)";

static void on_settled(void *data, int status, PGresult *res, const char *message)
{
    settle_op *op = data;
    ehc_outbox *ob = op->ob;
    ob->inflight_queries--;
    const char *channel = op->email ? "email" : "webhook";
    ehc_outbox_channel_stats *cs = op->email ? &ob->stats.email : &ob->stats.webhook;
    if (status != 0) {
        /* the lease makes the row claimable again: at worst it is delivered twice */
        ob->stats.db_errors++;
        ehc_log(EHC_LOG_WARN, "outbox_settle_failed", NULL, "outbox %" PRId64 " %s: %s (%s)", op->id,
                op->outcome, ehc_strerror(status), message ? message : "");
        ehc_outbox_event ev = {.kind = EHC_OUTBOX_ERROR,
                               .outbox_id = op->id,
                               .channel = channel,
                               .status = status,
                               .error = "settling a delivery"};
        emit(ob, &ev);
    } else {
        const char *applied = PQgetvalue(res, 0, 0);
        ehc_outbox_event ev = {.outbox_id = op->id,
                               .channel = channel,
                               .attempts = op->attempts,
                               .retry_after_ms = op->retry_after_ms,
                               .error = op->error};
        bool tell = true;
        if (strcmp(applied, "delivered") == 0) {
            cs->delivered++;
            ev.kind = EHC_OUTBOX_DELIVERED;
        } else if (strcmp(applied, "retry") == 0) {
            cs->retried++;
            ev.kind = EHC_OUTBOX_RETRY;
        } else if (strcmp(applied, "dead") == 0) {
            cs->dead++;
            ev.kind = EHC_OUTBOX_DEAD;
            ehc_log(EHC_LOG_WARN, "outbox_dead_letter", NULL, "outbox %" PRId64 " (%s) after %d attempts: %s",
                    op->id, channel, op->attempts, op->error ? op->error : "");
        } else {
            if (strcmp(applied, "release") == 0) ob->stats.released++;
            tell = false;
        }
        if (tell) emit(ob, &ev);
    }
    free(op->error);
    free(op);
    if (ob->closing) {
        maybe_free(ob);
        return;
    }
    if (ob->more_due) claim(ob);
}

static void settle(ehc_outbox *ob, int64_t id, int attempts, bool email, const char *outcome,
                   int retry_after_ms, const char *error)
{
    settle_op *op = ehc_calloc(1, sizeof *op);
    op->ob = ob;
    op->id = id;
    op->attempts = attempts;
    op->email = email;
    snprintf(op->outcome, sizeof op->outcome, "%s", outcome);
    op->retry_after_ms = retry_after_ms;
    op->error = error ? ehc_strndup(error, strnlen(error, EHC__OUTBOX_ERROR_MAX)) : NULL;
    char id_text[24], attempts_text[16], retry_text[16];
    snprintf(id_text, sizeof id_text, "%" PRId64, id);
    snprintf(attempts_text, sizeof attempts_text, "%d", attempts);
    snprintf(retry_text, sizeof retry_text, "%d", retry_after_ms);
    const char *params[5] = {id_text, attempts_text, outcome, retry_text, op->error};
    int rc = ehc_pg_query(ob->pool, SQL_SETTLE, 5, params, ob->opts.query_timeout_ms, on_settled, op);
    if (rc != 0) {
        ob->stats.db_errors++;
        ehc_log(EHC_LOG_WARN, "outbox_settle_failed", NULL, "outbox %" PRId64 " %s: %s", id, outcome,
                ehc_strerror(rc));
        free(op->error);
        free(op);
        return;
    }
    ob->inflight_queries++;
}

/* A failed attempt: again later, or dead when it was the last one allowed. */
static void settle_failed(ehc_outbox *ob, int64_t id, int attempts, bool email, const char *error)
{
    if (attempts >= ob->opts.max_attempts)
        settle(ob, id, attempts, email, "dead", 0, error);
    else
        settle(ob, id, attempts, email, "retry", backoff_ms(ob, attempts), error);
}

/* ---- deliveries ------------------------------------------------------------------------------------- */

static void delivery_unlink(ehc_outbox *ob, delivery *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        ob->deliveries = d->next;
    if (d->next) d->next->prev = d->prev;
    ob->inflight_deliveries--;
}

static void delivery_free(delivery *d)
{
    if (d->easy) {
        if (!d->email && d->ob->multi) curl_multi_remove_handle(d->ob->multi, d->easy);
        curl_easy_cleanup(d->easy); /* an email's is gone after its transfer: see email_work */
    }
    curl_slist_free_all(d->list);
    free(d->body);
    free(d);
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return size * nmemb;
}

static size_t read_message(char *buffer, size_t size, size_t nitems, void *userdata)
{
    delivery *d = userdata;
    size_t n = d->body_len - d->sent;
    if (n > size * nitems) n = size * nitems;
    memcpy(buffer, d->body + d->sent, n);
    d->sent += n;
    return n;
}

static void easy_common(delivery *d, int timeout_ms)
{
    curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d);
    curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(d->easy, CURLOPT_ERRORBUFFER, d->errbuf);
    curl_easy_setopt(d->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
}

static int webhook_prepare(ehc_outbox *ob, delivery *d, const char *key, const char *payload, const char *url,
                           const char *secret)
{
    d->body = ehc_strdup(payload);
    d->body_len = strlen(payload);
    char line[256], signature[EHC_OUTBOX_SIGNATURE_SIZE];
    ehc_outbox_signature(secret, d->body, d->body_len, signature);
    snprintf(line, sizeof line, "X-EHC-Signature: %s", signature);
    d->list = curl_slist_append(d->list, line);
    size_t n = append_header_safe(line, sizeof line, 0, "X-EHC-Delivery: ");
    append_header_safe(line, sizeof line, n, key);
    d->list = curl_slist_append(d->list, line);
    d->list = curl_slist_append(d->list, "Content-Type: application/json");
    d->list = curl_slist_append(d->list, "Expect:");
    if (!d->list) return EHC_EINVAL;
    easy_common(d, ob->opts.webhook_timeout_ms);
    if (curl_easy_setopt(d->easy, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(d->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK)
        return EHC_EINVAL;
    curl_easy_setopt(d->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(d->easy, CURLOPT_USERAGENT, "ehcd/" EHC_VERSION);
    curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, d->list);
    curl_easy_setopt(d->easy, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(d->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body_len);
    curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, discard_body);
    return 0;
}

/* "due in 5 working days", "due today", ... from a level code. */
static void level_words(const char *level, char *out, size_t cap)
{
    if (strncmp(level, "upcoming_", 9) == 0)
        snprintf(out, cap, "due in %s working days", level + 9);
    else if (strcmp(level, "due") == 0)
        snprintf(out, cap, "due today");
    else if (strcmp(level, "overdue") == 0)
        snprintf(out, cap, "overdue");
    else if (strcmp(level, "escalated") == 0)
        snprintf(out, cap, "overdue, escalated");
    else
        snprintf(out, cap, "alert");
}

/* RFC 5322 date-time in UTC, from the injected clock; names spelled out (strftime follows locales). */
static void rfc5322_date(const ehc_clock *clock, char *out, size_t cap)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ehc_clock_now(clock).us / EHC_US_PER_SECOND);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The plain-text message: the case reference, the stage, the deadline and its due date, the level;
 * the payload carries nothing about the child, and neither does this. */
static char *email_message(ehc_outbox *ob, const char *key, const char *payload, const char *to)
{
    cJSON *p = cJSON_Parse(payload);
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        return NULL;
    }
    char reference[64], stage[96], deadline[96], due_on[32], level[32], kind[32], basis[320], words[48];
    append_header_safe(reference, sizeof reference, 0, json_str(p, "case_reference"));
    append_header_safe(stage, sizeof stage, 0, json_str(p, "stage"));
    append_header_safe(deadline, sizeof deadline, 0, json_str(p, "deadline_key"));
    append_header_safe(due_on, sizeof due_on, 0, json_str(p, "due_on"));
    append_header_safe(level, sizeof level, 0, json_str(p, "level"));
    append_header_safe(kind, sizeof kind, 0, json_str(p, "deadline_kind"));
    append_header_safe(basis, sizeof basis, 0, json_str(p, "basis"));
    cJSON_Delete(p);
    level_words(level, words, sizeof words);

    char date[64], message_id[256], to_safe[300];
    rfc5322_date(&ob->clock, date, sizeof date);
    size_t n = 0;
    for (const char *k = key; *k && n + 1 < 200; k++)
        if ((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '-' ||
            *k == '_')
            message_id[n++] = *k;
        else if (*k == ':')
            message_id[n++] = '.';
    message_id[n] = '\0';
    append_header_safe(to_safe, sizeof to_safe, 0, to);

    char *msg =
        ehc_asprintf("Date: %s\r\n"
                     "From: %s <%s>\r\n"
                     "To: <%s>\r\n"
                     "Message-ID: <%s@%s>\r\n"
                     "Subject: [EHC] %s: %s %s (due %s)\r\n"
                     "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n"
                     "Auto-Submitted: auto-generated\r\n"
                     "X-EHC-Delivery: %s\r\n"
                     "\r\n"
                     "A deadline of an EHC needs assessment needs your attention.\r\n"
                     "\r\n"
                     "Case reference: %s\r\n"
                     "Stage:          %s\r\n"
                     "Deadline:       %s (%s%s%s)\r\n"
                     "Due on:         %s\r\n"
                     "Alert:          %s\r\n"
                     "\r\n"
                     "Open the case in %s to see who it concerns and what to do next.\r\n"
                     "This message is sent automatically and names no child.\r\n",
                     date, ob->opts.service_name, ob->opts.mail_from, to_safe, message_id, ob->mail_domain,
                     reference, deadline, words, due_on, message_id, reference, stage, deadline, kind,
                     *basis ? ": " : "", basis, due_on, words, ob->opts.service_name);
    return msg;
}

static int email_prepare(ehc_outbox *ob, delivery *d, const char *key, const char *payload, const char *to)
{
    d->body = email_message(ob, key, payload, to);
    if (!d->body) return EHC_EINVAL;
    d->body_len = strlen(d->body);
    char rcpt[300];
    size_t n = append_header_safe(rcpt, sizeof rcpt, 0, "<");
    n = append_header_safe(rcpt, sizeof rcpt, n, to);
    append_header_safe(rcpt, sizeof rcpt, n, ">");
    d->list = curl_slist_append(NULL, rcpt);
    if (!d->list) return EHC_EINVAL;
    char from[300];
    n = append_header_safe(from, sizeof from, 0, "<");
    n = append_header_safe(from, sizeof from, n, ob->opts.mail_from);
    append_header_safe(from, sizeof from, n, ">");
    easy_common(d, ob->opts.email_timeout_ms);
    if (curl_easy_setopt(d->easy, CURLOPT_URL, ob->opts.smtp_url) != CURLE_OK ||
        curl_easy_setopt(d->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK)
        return EHC_EINVAL;
    curl_easy_setopt(d->easy, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(d->easy, CURLOPT_MAIL_RCPT, d->list);
    curl_easy_setopt(d->easy, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(d->easy, CURLOPT_READDATA, d);
    curl_easy_setopt(d->easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(d->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)d->body_len);
    static const long tls[] = {
        [EHC_OUTBOX_SMTP_TLS_TRY] = CURLUSESSL_TRY,
        [EHC_OUTBOX_SMTP_TLS_REQUIRED] = CURLUSESSL_ALL,
        [EHC_OUTBOX_SMTP_TLS_NONE] = CURLUSESSL_NONE,
    };
    curl_easy_setopt(d->easy, CURLOPT_USE_SSL, tls[ob->opts.smtp_tls]);
    /* curl waits for each SMTP reply up to this, whatever CURLOPT_TIMEOUT_MS says */
    curl_easy_setopt(d->easy, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                     (long)(ob->opts.email_timeout_ms + 999) / 1000);
    if (ob->opts.smtp_username) curl_easy_setopt(d->easy, CURLOPT_USERNAME, ob->opts.smtp_username);
    if (ob->opts.smtp_password) curl_easy_setopt(d->easy, CURLOPT_PASSWORD, ob->opts.smtp_password);
    return 0;
}

/* ---- email on worker threads ----------------------------------------------------------------------
 * libcurl's SMTP is not fully non-blocking under the multi interface: after the message it waits for
 * the server's reply with a blocking poll in its "done" phase, and for QUIT's at cleanup
 * (curl/curl#8555, a known issue). So each email runs curl_easy_perform and curl_easy_cleanup on a
 * libuv worker thread, at most email_concurrency at once (the pool is shared with password hashing);
 * the loop only queues the work and settles the row afterwards. */

static void email_start(ehc_outbox *ob, delivery *d);
static void delivery_done(ehc_outbox *ob, delivery *d, CURLcode result, long code);

static void email_work(uv_work_t *req)
{
    delivery *d = ehc_container_of(req, delivery, work);
    d->result = curl_easy_perform(d->easy);
    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &d->code);
    curl_easy_cleanup(d->easy); /* may send QUIT and wait for its reply: not on the loop */
    d->easy = NULL;
}

static void email_next(ehc_outbox *ob)
{
    while (!ob->closing && ob->emails_waiting_head && ob->emails_running < ob->opts.email_concurrency) {
        delivery *d = ob->emails_waiting_head;
        ob->emails_waiting_head = d->next;
        if (!ob->emails_waiting_head) ob->emails_waiting_tail = NULL;
        d->next = NULL;
        email_start(ob, d);
    }
}

static void email_after_work(uv_work_t *req, int status)
{
    delivery *d = ehc_container_of(req, delivery, work);
    ehc_outbox *ob = d->ob;
    ob->emails_running--;
    ob->inflight_deliveries--;
    delivery_done(ob, d, d->result, d->code);
    if (ob->closing) {
        maybe_free(ob);
        return;
    }
    email_next(ob);
}

static void email_start(ehc_outbox *ob, delivery *d)
{
    ob->emails_running++;
    int rc = uv_queue_work(ob->loop, &d->work, email_work, email_after_work);
    assert(rc == 0); /* fails only without a callback */
    (void)rc;
}

static void email_enqueue(ehc_outbox *ob, delivery *d)
{
    ob->inflight_deliveries++;
    if (ob->emails_waiting_tail)
        ob->emails_waiting_tail->next = d;
    else
        ob->emails_waiting_head = d;
    ob->emails_waiting_tail = d;
    email_next(ob);
}

/* One claimed row of ehc_outbox_claim: (id, channel, key, attempts, payload, url, secret, email). */
static void delivery_start(ehc_outbox *ob, const PGresult *res, int row)
{
    int64_t id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    bool email = strcmp(PQgetvalue(res, row, 1), "email") == 0;
    const char *key = PQgetvalue(res, row, 2);
    int attempts = atoi(PQgetvalue(res, row, 3));
    const char *payload = PQgetvalue(res, row, 4);
    if (!email && (PQgetisnull(res, row, 5) || PQgetisnull(res, row, 6))) {
        settle(ob, id, attempts, email, "dead", 0, "the webhook subscription is inactive or removed");
        return;
    }
    if (email && PQgetisnull(res, row, 7)) {
        settle(ob, id, attempts, email, "dead", 0, "the recipient has no email address or is disabled");
        return;
    }
    delivery *d = ehc_calloc(1, sizeof *d);
    d->ob = ob;
    d->id = id;
    d->attempts = attempts;
    d->email = email;
    d->easy = curl_easy_init();
    int rc = !d->easy ? EHC_EINVAL
             : email  ? email_prepare(ob, d, key, payload, PQgetvalue(res, row, 7))
                     : webhook_prepare(ob, d, key, payload, PQgetvalue(res, row, 5), PQgetvalue(res, row, 6));
    if (rc == 0 && !email && curl_multi_add_handle(ob->multi, d->easy) != CURLM_OK) rc = EHC_EINVAL;
    if (rc != 0) {
        if (d->easy) curl_easy_cleanup(d->easy);
        d->easy = NULL;
        delivery_free(d);
        settle_failed(ob, id, attempts, email, "the delivery could not be prepared");
        return;
    }
    if (email) {
        email_enqueue(ob, d);
        return;
    }
    d->next = ob->deliveries;
    if (ob->deliveries) ob->deliveries->prev = d;
    ob->deliveries = d;
    ob->inflight_deliveries++;
}

/* A transfer ended: settle its row. */
static void delivery_done(ehc_outbox *ob, delivery *d, CURLcode result, long code)
{
    char error[EHC__OUTBOX_ERROR_MAX + 1] = "";
    bool ok;
    if (result != CURLE_OK) {
        ok = false;
        snprintf(error, sizeof error, "%s%s%s", curl_easy_strerror(result), d->errbuf[0] ? ": " : "",
                 d->errbuf);
    } else if (d->email) {
        ok = true;
    } else {
        ok = code >= 200 && code < 300;
        if (!ok) snprintf(error, sizeof error, "HTTP %ld", code);
    }
    int64_t id = d->id;
    int attempts = d->attempts;
    bool email = d->email;
    if (!email) delivery_unlink(ob, d);
    delivery_free(d);
    if (ok)
        settle(ob, id, attempts, email, "delivered", 0, NULL);
    else
        settle_failed(ob, id, attempts, email, error);
}

static void check_multi_info(ehc_outbox *ob)
{
    CURLMsg *msg;
    int pending;
    while (ob->multi && (msg = curl_multi_info_read(ob->multi, &pending))) {
        if (msg->msg != CURLMSG_DONE) continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        delivery *d = (delivery *)priv;
        CURLcode result = msg->data.result;
        assert(d && d->easy == msg->easy_handle);
        long code = 0;
        curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
        delivery_done(ob, d, result, code); /* msg is invalid from here */
    }
}

/* ---- curl on libuv ---------------------------------------------------------------------------------- */

static void on_sock_ready(uv_poll_t *handle, int status, int events)
{
    sock_watch *w = ehc_container_of(handle, sock_watch, handle);
    ehc_outbox *ob = w->ob;
    if (w->closing || !ob->multi) return;
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(ob->multi, w->fd, flags, &running);
    check_multi_info(ob);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl wants, or stop watching it. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    ehc_outbox *ob = userp;
    sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            curl_multi_assign(ob->multi, s, NULL);
            watch_close(w);
        }
        return 0;
    }
    if (!w) {
        if (ob->closing) return 0;
        w = ehc_calloc(1, sizeof *w);
        if (uv_poll_init_socket(ob->loop, &w->handle, s) != 0) {
            free(w);
            return -1;
        }
        w->ob = ob;
        w->fd = s;
        w->next = ob->watches;
        if (ob->watches) ob->watches->prev = w;
        ob->watches = w;
        ob->open_handles++;
        curl_multi_assign(ob->multi, s, w);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
    return uv_poll_start(&w->handle, events, on_sock_ready) == 0 ? 0 : -1;
}

static void on_curl_timer(uv_timer_t *t)
{
    ehc_outbox *ob = ehc_container_of(t, ehc_outbox, curl_timer);
    if (!ob->multi) return;
    int running;
    curl_multi_socket_action(ob->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(ob);
}

/* CURLMOPT_TIMERFUNCTION: curl wants to be called after timeout_ms (never from inside this callback). */
static int on_curl_timeout(CURLM *multi, long timeout_ms, void *userp)
{
    ehc_outbox *ob = userp;
    if (timeout_ms < 0 || ob->closing)
        uv_timer_stop(&ob->curl_timer);
    else
        uv_timer_start(&ob->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- claiming --------------------------------------------------------------------------------------- */

static const char SQL_CLAIM[] = "SELECT id, channel, idempotency_key, attempts, payload, url, secret, email "
                                "FROM ehc_outbox_claim($1::text[], $2::integer, $3::integer)";

static void on_claimed(void *data, int status, PGresult *res, const char *message)
{
    ehc_outbox *ob = data;
    ob->inflight_queries--;
    ob->claiming = false;
    if (ob->closing) {
        /* rows claimed by a reply that came back while closing stay leased until the lease lapses */
        maybe_free(ob);
        return;
    }
    if (status != 0) {
        ob->stats.db_errors++;
        ehc_log(EHC_LOG_WARN, "outbox_claim_failed", NULL, "%s (%s)", ehc_strerror(status),
                message ? message : "");
        ehc_outbox_event ev = {.kind = EHC_OUTBOX_ERROR, .status = status, .error = "claiming due rows"};
        emit(ob, &ev);
        return; /* the poll timer tries again */
    }
    int n = PQntuples(res);
    ob->stats.claimed += (uint64_t)n;
    for (int i = 0; i < n; i++)
        delivery_start(ob, res, i);
    if (n == ob->claim_limit) claim(ob); /* a full batch: more may be due */
}

static void claim(ehc_outbox *ob)
{
    if (!ob->started || ob->closing || ob->claiming) return;
    int free_slots = ob->opts.max_inflight - ob->inflight_deliveries;
    if (free_slots <= 0) {
        ob->more_due = true; /* claimed again when a delivery settles */
        return;
    }
    ob->more_due = false;
    int limit = free_slots < ob->opts.batch ? free_slots : ob->opts.batch;
    ob->claim_limit = limit;
    char limit_text[16], lease_text[16];
    snprintf(limit_text, sizeof limit_text, "%d", limit);
    snprintf(lease_text, sizeof lease_text, "%d", ob->opts.lease_ms);
    const char *params[3] = {ob->channels, limit_text, lease_text};
    int rc = ehc_pg_query(ob->pool, SQL_CLAIM, 3, params, ob->opts.query_timeout_ms, on_claimed, ob);
    if (rc != 0) {
        ob->stats.db_errors++;
        return; /* the pool is down: the poll timer tries again */
    }
    ob->claiming = true;
    ob->inflight_queries++;
}

static void on_poll_timer(uv_timer_t *t)
{
    claim(ehc_container_of(t, ehc_outbox, poll_timer));
}

/* ---- public API --------------------------------------------------------------------------------------- */

void ehc_outbox_options_default(ehc_outbox_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->poll_ms = 1000;
    opts->batch = 50;
    opts->max_inflight = 64;
    opts->max_attempts = 8;
    opts->backoff_min_ms = 5000;
    opts->backoff_max_ms = 3600000;
    opts->webhook_timeout_ms = 10000;
    opts->email_timeout_ms = 60000;
    opts->email_concurrency = 2;
    opts->lease_ms = 300000;
    opts->query_timeout_ms = 30000;
    opts->webhooks = true;
    opts->smtp_url = NULL;
    opts->smtp_tls = EHC_OUTBOX_SMTP_TLS_TRY;
    opts->mail_from = "ehcd@localhost";
    opts->service_name = "EHC case system";
}

static bool printable(const char *s, size_t max_len)
{
    if (!s || !*s || strlen(s) > max_len) return false;
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f) return false;
    return true;
}

static bool mail_address_ok(const char *s)
{
    if (!printable(s, 254)) return false;
    const char *at = strchr(s, '@');
    return at && at != s && at[1] && !strchr(at + 1, '@') && !strpbrk(s, "<>()[],;:\\\"");
}

static bool options_ok(const ehc_outbox_options *o)
{
    if (o->poll_ms < 1 || o->batch < 1 || o->max_inflight < 1 || o->max_attempts < 1 ||
        o->backoff_min_ms < 1 || o->backoff_max_ms < o->backoff_min_ms || o->webhook_timeout_ms < 1 ||
        o->email_timeout_ms < 1 || o->email_concurrency < 1 || o->query_timeout_ms < 1 ||
        o->lease_ms <= o->webhook_timeout_ms || o->lease_ms <= o->email_timeout_ms)
        return false;
    if (o->smtp_tls < EHC_OUTBOX_SMTP_TLS_TRY || o->smtp_tls > EHC_OUTBOX_SMTP_TLS_NONE) return false;
    if (!mail_address_ok(o->mail_from)) return false;
    if (!o->service_name || !*o->service_name || strlen(o->service_name) > 100) return false;
    for (const char *c = o->service_name; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '<' || *c == '>' || *c == '"') return false;
    if (o->smtp_url && (!printable(o->smtp_url, 1000) || (strncmp(o->smtp_url, "smtp://", 7) != 0 &&
                                                          strncmp(o->smtp_url, "smtps://", 8) != 0)))
        return false;
    return true;
}

static char *dup_or_null(const char *s)
{
    return s ? ehc_strdup(s) : NULL;
}

int ehc_outbox_new(uv_loop_t *loop, ehc_pg_pool *pool, const ehc_clock *clock, const ehc_outbox_options *opts,
                   ehc_outbox_cb cb, void *data, ehc_outbox **out)
{
    *out = NULL;
    if (!loop || !pool || !clock || !opts || !options_ok(opts)) return EHC_EINVAL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return EHC_EUNAVAILABLE;
    ehc_outbox *ob = ehc_calloc(1, sizeof *ob);
    ob->loop = loop;
    ob->pool = pool;
    ob->clock = *clock;
    ob->opts = *opts;
    ob->opts.smtp_url = dup_or_null(opts->smtp_url);
    ob->opts.smtp_username = dup_or_null(opts->smtp_username);
    ob->opts.smtp_password = dup_or_null(opts->smtp_password);
    ob->opts.mail_from = ehc_strdup(opts->mail_from);
    ob->opts.service_name = ehc_strdup(opts->service_name);
    ob->mail_domain = ehc_strdup(strchr(opts->mail_from, '@') + 1);
    ob->channels = ehc_asprintf("{%s%s%s}", opts->webhooks ? "webhook" : "",
                                opts->webhooks && opts->smtp_url ? "," : "", opts->smtp_url ? "email" : "");
    ob->cb = cb;
    ob->data = data;
    ob->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)ob ^ ((uint64_t)getpid() << 32);
    if (ob->rng == 0) ob->rng = 0x9E3779B97F4A7C15ULL;
    ob->multi = curl_multi_init();
    if (!ob->multi) {
        free_options(ob);
        free(ob);
        curl_global_cleanup();
        return EHC_EUNAVAILABLE;
    }
    curl_multi_setopt(ob->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(ob->multi, CURLMOPT_SOCKETDATA, ob);
    curl_multi_setopt(ob->multi, CURLMOPT_TIMERFUNCTION, on_curl_timeout);
    curl_multi_setopt(ob->multi, CURLMOPT_TIMERDATA, ob);
    uv_timer_init(loop, &ob->poll_timer);
    uv_timer_init(loop, &ob->curl_timer);
    ob->poll_timer.data = ob;
    ob->curl_timer.data = ob;
    ob->open_handles = 2;
    *out = ob;
    return 0;
}

int ehc_outbox_start(ehc_outbox *ob)
{
    if (ob->started || ob->closing) return EHC_ESTATE;
    ob->started = true;
    uv_timer_start(&ob->poll_timer, on_poll_timer, 0, (uint64_t)ob->opts.poll_ms);
    return 0;
}

void ehc_outbox_poke(ehc_outbox *ob)
{
    if (!ob->started || ob->closing) return;
    uv_timer_start(&ob->poll_timer, on_poll_timer, 0, (uint64_t)ob->opts.poll_ms);
}

void ehc_outbox_close(ehc_outbox *ob)
{
    if (ob->closing) return;
    ob->closing = true;
    uv_timer_stop(&ob->poll_timer);
    /* aborted transfers: their rows go back to the queue now (not counted as attempts) */
    delivery *d;
    while ((d = ob->deliveries)) {
        delivery_unlink(ob, d);
        settle(ob, d->id, d->attempts, d->email, "release", 0, NULL);
        delivery_free(d); /* removes the easy handle: curl may report its sockets removed */
    }
    while ((d = ob->emails_waiting_head)) {
        ob->emails_waiting_head = d->next;
        ob->inflight_deliveries--;
        settle(ob, d->id, d->attempts, true, "release", 0, NULL);
        delivery_free(d);
    }
    ob->emails_waiting_tail = NULL;
    /* an email on a thread ends within email_timeout_ms and is settled as usual; CLOSED comes after */
    CURLM *multi = ob->multi;
    ob->multi = NULL;
    curl_multi_cleanup(multi);
    while (ob->watches)
        watch_close(ob->watches);
    uv_close((uv_handle_t *)&ob->poll_timer, on_handle_closed);
    uv_close((uv_handle_t *)&ob->curl_timer, on_handle_closed);
}

bool ehc_outbox_idle(const ehc_outbox *ob)
{
    return ob->started && !ob->closing && !ob->claiming && ob->inflight_deliveries == 0 &&
           ob->inflight_queries == 0;
}

void ehc_outbox_stats_get(const ehc_outbox *ob, ehc_outbox_stats *out)
{
    *out = ob->stats;
    out->inflight = (size_t)ob->inflight_deliveries;
}
