/* JSON-line logging to stderr. One line per record: time, level, event name, message, and the
 * request id when there is one. Callers never pass personal data (names, dates of birth,
 * addresses, NHS numbers): log ids and codes only. */
#ifndef EHC_LOG_H
#define EHC_LOG_H

#include "ehc/common.h"

typedef enum ehc_log_level {
    EHC_LOG_DEBUG = 0,
    EHC_LOG_INFO = 1,
    EHC_LOG_WARN = 2,
    EHC_LOG_ERROR = 3,
} ehc_log_level;

/* The threshold below which records are dropped; set once at start from the configuration. */
void ehc_log_set_level(ehc_log_level level);
EHC_MUST_USE int ehc_log_level_parse(const char *name, ehc_log_level *out);

/* event: a short snake_case name ("http_listen", "db_connect_failed"); request_id may be NULL. */
void ehc_log(ehc_log_level level, const char *event, const char *request_id, const char *fmt, ...)
    EHC_PRINTF(4, 5);

/* Appends s to buf as the body of a JSON string (no quotes); returns bytes written (truncates). */
size_t ehc_json_escape(char *buf, size_t size, const char *s);

#endif
