/* The outbox dispatcher (architecture principle 5): delivers the outbox rows of channel 'webhook' and
 * 'email' at least once, never blocking the loop. A timer polls (ehc_outbox_poke polls at once), claims
 * a batch of due rows in the database (sql/0012_outbox_delivery.sql: FOR UPDATE SKIP LOCKED, the attempt
 * counted and the row leased), and sends each with libcurl's multi interface on the same libuv loop
 * (uv_poll_t per curl socket, one uv_timer_t for curl's timeout). Then it settles the row: delivered,
 * retried after an exponential backoff with jitter, or dead-lettered after max_attempts (admins list
 * them in the view outbox_dead_letters). A row whose dispatcher dies mid-delivery is claimable again
 * when its lease lapses; one closed mid-delivery is released at once.
 *
 * Webhook: POST of the row's JSON payload with X-EHC-Signature: sha256=<hex HMAC-SHA256 of the body
 * keyed with the subscription's secret>, X-EHC-Delivery: <idempotency key>; a 2xx answer within
 * webhook_timeout_ms is delivered, anything else a failed attempt. Email: SMTP through libcurl, a plain
 * text RFC 5322 message naming the case reference, the stage, the deadline and its due date, never the
 * child; Message-ID from the idempotency key. libcurl's SMTP waits for some replies with a blocking
 * poll even under the multi interface (curl/curl#8555), so each email is sent by curl_easy_perform on
 * a libuv worker thread (at most email_concurrency at once); webhooks use the multi interface on the
 * loop. The SSE channel is not delivered here.
 *
 * Owner: the loop context creates one dispatcher over its pool and clock (both borrowed; the pool must
 * stay open until CLOSED) and closes it before the pool. It calls curl_global_init/cleanup once each
 * (reference-counted by libcurl). Callbacks run on the loop thread. */
#ifndef EHC_OUTBOX_H
#define EHC_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ehc/clock.h"
#include "ehc/common.h"
#include "ehc/pg.h"

typedef struct ehc_outbox ehc_outbox;

typedef enum ehc_outbox_smtp_tls {
    EHC_OUTBOX_SMTP_TLS_TRY = 0, /* STARTTLS when the server offers it (default) */
    EHC_OUTBOX_SMTP_TLS_REQUIRED,
    EHC_OUTBOX_SMTP_TLS_NONE,
} ehc_outbox_smtp_tls;

typedef struct ehc_outbox_options {
    int poll_ms;            /* period of the claim poll (default 1000) */
    int batch;              /* rows claimed per round trip (default 50) */
    int max_inflight;       /* deliveries in flight at once (default 64) */
    int max_attempts;       /* a row is dead-lettered after this many failed attempts (default 8) */
    int backoff_min_ms;     /* delay after the first failure (default 5000); doubles per attempt ... */
    int backoff_max_ms;     /* ... up to this (default 3600000); the delay drawn in [d/2, d] */
    int webhook_timeout_ms; /* whole request, connecting included (default 10000) */
    int email_timeout_ms;   /* whole SMTP session, and each reply within it (default 60000) */
    int email_concurrency;  /* emails sent at once, each on a libuv worker thread (default 2) */
    int lease_ms;           /* a claimed row not settled in this time is claimable again; must exceed
                             * both time limits (default 300000) */
    int query_timeout_ms;   /* per database round trip (default 30000) */
    bool webhooks;          /* deliver channel 'webhook' (default true) */
    const char *smtp_url;   /* "smtp://host:port" or "smtps://..."; NULL: email rows wait (default) */
    const char *smtp_username, *smtp_password; /* optional AUTH */
    ehc_outbox_smtp_tls smtp_tls;
    const char *mail_from;    /* envelope and From: address (default "ehcd@localhost") */
    const char *service_name; /* in the From: display name and the footer (default "EHC case system") */
} ehc_outbox_options;

typedef enum ehc_outbox_event_kind {
    EHC_OUTBOX_DELIVERED, /* a row was settled delivered */
    EHC_OUTBOX_RETRY,     /* an attempt failed; the row is due again in retry_after_ms */
    EHC_OUTBOX_DEAD,      /* a row was dead-lettered */
    EHC_OUTBOX_ERROR,     /* a database round trip failed (`status`, `message`); polling goes on */
    EHC_OUTBOX_CLOSED,    /* everything released; the dispatcher is gone after this returns */
} ehc_outbox_event_kind;

typedef struct ehc_outbox_event {
    ehc_outbox_event_kind kind;
    int64_t outbox_id;
    const char *channel; /* "webhook" or "email" */
    int attempts;        /* counting this one */
    int retry_after_ms;  /* RETRY */
    const char *error;   /* RETRY, DEAD: why (no personal data); ERROR: what failed */
    int status;          /* ERROR */
} ehc_outbox_event;

typedef void (*ehc_outbox_cb)(void *data, const ehc_outbox_event *event);

typedef struct ehc_outbox_channel_stats {
    uint64_t delivered; /* rows settled delivered */
    uint64_t retried;   /* failed attempts with another to come */
    uint64_t dead;      /* rows dead-lettered */
} ehc_outbox_channel_stats;

/* For /metrics. */
typedef struct ehc_outbox_stats {
    ehc_outbox_channel_stats webhook, email;
    uint64_t claimed;   /* rows claimed */
    uint64_t db_errors; /* failed claim or settle round trips */
    uint64_t released;  /* rows handed back when closed mid-delivery */
    size_t inflight;    /* deliveries in flight now */
} ehc_outbox_stats;

void ehc_outbox_options_default(ehc_outbox_options *opts);

/* Copies the options (strings included). EHC_EINVAL for bad options: a non-positive limit, a lease
 * not longer than a time limit, an smtp_url that is not smtp:// or smtps://, a mail_from that is not
 * a plain address. cb (may be NULL) hears every event. */
EHC_MUST_USE int ehc_outbox_new(uv_loop_t *loop, ehc_pg_pool *pool, const ehc_clock *clock,
                                const ehc_outbox_options *opts, ehc_outbox_cb cb, void *data,
                                ehc_outbox **out);

/* Starts polling; the first claim is at once. EHC_ESTATE when already started or closing. */
EHC_MUST_USE int ehc_outbox_start(ehc_outbox *ob);

/* Claims at once instead of at the next poll (e.g. after the scheduler fired). No-op unless running. */
void ehc_outbox_poke(ehc_outbox *ob);

/* Stops polling, aborts webhook deliveries in flight and releases their rows and those of emails not
 * yet started (one round trip each; if the pool cannot take it, the lease makes them claimable later),
 * lets emails already on a worker thread finish and settle (within email_timeout_ms), waits for round
 * trips in flight, closes every handle, cleans curl up, then reports CLOSED and frees the dispatcher.
 * Call before closing the pool. A second call is ignored. */
void ehc_outbox_close(ehc_outbox *ob);

/* True when running with nothing in flight (no claim, delivery or settlement). */
bool ehc_outbox_idle(const ehc_outbox *ob);

void ehc_outbox_stats_get(const ehc_outbox *ob, ehc_outbox_stats *out);

/* The X-EHC-Signature value for body under secret: "sha256=" and 64 hex digits, NUL-terminated. */
#define EHC_OUTBOX_SIGNATURE_SIZE 72
void ehc_outbox_signature(const char *secret, const char *body, size_t body_len,
                          char out[EHC_OUTBOX_SIGNATURE_SIZE]);

#endif
