/* The one allocation wrapper (the Redis zmalloc habit): every allocation in ehcd goes through
 * here, and out-of-memory stops the process with a message instead of a half-handled NULL.
 * Also the status-code names used in logs and error replies. */
#include "ehc/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ehc__oom(size_t size)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory allocating %zu bytes\"}\n", size);
    abort();
}

void *ehc_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) ehc__oom(size);
    return p;
}

void *ehc_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) ehc__oom(count * size);
    return p;
}

void *ehc_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p) ehc__oom(size);
    return p;
}

char *ehc_strdup(const char *s)
{
    return ehc_strndup(s, strlen(s));
}

char *ehc_strndup(const char *s, size_t n)
{
    char *p = ehc_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ehc_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) ehc__oom(0);
    char *p = ehc_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

const char *ehc_strerror(int status)
{
    switch (status) {
    case EHC_OK: return "ok";
    case EHC_EINVAL: return "invalid";
    case EHC_ENOENT: return "not found";
    case EHC_ERANGE: return "out of range";
    case EHC_EIO: return "input/output error";
    case EHC_EUNAVAILABLE: return "unavailable";
    case EHC_ETIMEDOUT: return "timed out";
    case EHC_ECONFLICT: return "conflict";
    case EHC_EFORBIDDEN: return "forbidden";
    case EHC_ESTATE: return "not allowed in this state";
    case EHC_ECLOSED: return "closed";
    default: return "unknown error";
    }
}

void ehc_load_error_set(ehc_load_error *err, const char *file, const char *path, const char *fmt, ...)
{
    if (!err) return;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    snprintf(err->path, sizeof err->path, "%s", path ? path : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
}

void ehc_text_append(char **buf, size_t *len, size_t *cap, const char *text, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = ehc_realloc(*buf, *cap);
    }
    memcpy(*buf + *len, text, n);
    *len += n;
    (*buf)[*len] = '\0';
}

void ehc_text_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
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

size_t ehc_utf8_char(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    if (len == 0) return 0;
    unsigned c = s[0], min, cp;
    size_t n;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

bool ehc_utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n)
        if ((n = ehc_utf8_char(s + i, len - i)) == 0) return false;
    return true;
}

void ehc_utf8_scrub(char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0, n; i < len; i += n)
        if ((n = ehc_utf8_char(s + i, len - i)) == 0) s[i] = '?', n = 1;
}
