/* ehcd's configuration: defaults, then a key = value file, then the environment (EHCD_*,
 * DATABASE_URL). Every value is validated here, once, into this typed struct; an invalid value
 * stops the daemon with the file, line and reason. */
#ifndef EHC_CONFIG_H
#define EHC_CONFIG_H

#include <stdbool.h>

#include "ehc/common.h"
#include "ehc/log.h"

typedef struct ehc_config {
    char listen_host[64]; /* numeric IPv4/IPv6 address to bind */
    int listen_port;
    char database_url[1024]; /* libpq conninfo or URI */
    ehc_log_level log_level;
    char time_zone[64]; /* statutory dates are English: only Europe/London is accepted */
    int alert_hour;     /* local hour (0-23) at which the alerts of a day fire */
    int db_pool_size;
    int shutdown_grace_ms;  /* how long in-flight requests may finish after SIGTERM */
    int request_timeout_ms; /* how long a client may take to send a request; also the keep-alive idle limit */
    char workflows_dir[512]; /* workflow definitions and calendars */
    char web_root[512];      /* the browser UI's static files */
    char notices_dir[512];   /* the letter templates, one JSON file per notice */
    char smtp_url[256];      /* "smtp://host:port"; empty: email alerts wait undelivered */
    char smtp_username[128];
    char smtp_password[256]; /* set it in the environment (EHCD_SMTP_PASSWORD), not in a file in git */
    char mail_from[256];
    int webhook_max_attempts;   /* a webhook or email is dead-lettered after this many failed tries */
    bool sim_clock;             /* serve --sim-clock: "now" comes from POST /admin/clock (tests only) */
    int64_t sim_clock_start_us; /* --sim-clock=INSTANT: where a fresh database's clock starts (0: now) */
    size_t max_document_bytes;  /* the largest document a case can hold (an upload's body); default 20 MiB */
    bool cookie_secure;         /* mark the session cookie Secure: set when served behind TLS */
} ehc_config;

void ehc_config_defaults(ehc_config *cfg);

/* Reads a key = value file ('#' comments). Unknown keys and bad values are refused. */
EHC_MUST_USE int ehc_config_load_file(ehc_config *cfg, const char *path, ehc_load_error *err);

/* Applies EHCD_LISTEN, DATABASE_URL, EHCD_LOG_LEVEL, EHCD_TIME_ZONE, EHCD_ALERT_HOUR,
 * EHCD_DB_POOL_SIZE, EHCD_SHUTDOWN_GRACE_MS, EHCD_REQUEST_TIMEOUT_MS, EHCD_WORKFLOWS_DIR, EHCD_WEB_ROOT,
 * EHCD_NOTICES_DIR from getenv. */
EHC_MUST_USE int ehc_config_load_env(ehc_config *cfg, ehc_load_error *err);

/* Sets one key from text, as a file line would; source names where it came from for errors. */
EHC_MUST_USE int ehc_config_set(ehc_config *cfg, const char *key, const char *value, const char *source,
                                ehc_load_error *err);

#endif
