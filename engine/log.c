/* JSON-line logger. The level threshold is the process's one piece of logging state, set once at
 * start before the loop runs. Lines are assembled in a stack buffer and written with one write(2)
 * so concurrent processes never interleave within a line. */
#include "ehc/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static ehc_log_level ehc__log_threshold = EHC_LOG_INFO;

void ehc_log_set_level(ehc_log_level level)
{
    ehc__log_threshold = level;
}

int ehc_log_level_parse(const char *name, ehc_log_level *out)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (ehc_log_level)i;
            return 0;
        }
    }
    return EHC_EINVAL;
}

size_t ehc_json_escape(char *buf, size_t size, const char *s)
{
    size_t n = 0;
    if (size == 0) return 0;
    for (; *s && n + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else if (c < 0x20) {
            n += (size_t)snprintf(buf + n, size - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n] = '\0';
    return n;
}

void ehc_log(ehc_log_level level, const char *event, const char *request_id, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (level < ehc__log_threshold) return;

    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[96];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));

    char line[3072];
    size_t n =
        (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"", ts, names[level]);
    n += ehc_json_escape(line + n, sizeof line - n, event);
    if (request_id) {
        n += (size_t)snprintf(line + n, sizeof line - n, "\",\"request_id\":\"");
        n += ehc_json_escape(line + n, sizeof line - n, request_id);
    }
    n += (size_t)snprintf(line + n, sizeof line - n, "\",\"msg\":\"");
    n += ehc_json_escape(line + n, sizeof line - n - 3, msg);
    n += (size_t)snprintf(line + n, sizeof line - n, "\"}\n");
    if (n >= sizeof line) n = sizeof line - 1;
    ssize_t w = write(2, line, n);
    (void)w;
}
