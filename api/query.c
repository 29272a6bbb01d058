/* Query strings: name=value pairs separated by '&', %XX and '+' decoded, bounded in size. Every
 * handler that takes query parameters reads them through here and refuses unknown names itself. */
#include <stdio.h>
#include <ctype.h>
#include <string.h>

#include "ehc/api.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes len bytes of one component into out (NUL-terminated); EHC_EINVAL on a bad escape, an
 * encoded NUL, text that is not UTF-8, or a result that does not fit. */
static int decode(const char *s, size_t len, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '%') {
            if (i + 2 >= len) return EHC_EINVAL;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) return EHC_EINVAL;
            ch = (char)(hi * 16 + lo);
            if (ch == '\0') return EHC_EINVAL;
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        if (n + 1 >= size) return EHC_EINVAL;
        out[n++] = ch;
    }
    out[n] = '\0';
    /* PostgreSQL requires UTF-8 of every text parameter */
    return ehc_utf8_valid(out, strlen(out)) ? 0 : EHC_EINVAL;
}

int ehc_api_query_next(const char **q, char *name, size_t name_size, char *value, size_t value_size)
{
    while (**q == '&')
        (*q)++;
    if (!**q) return 0;
    const char *amp = strchr(*q, '&');
    size_t len = amp ? (size_t)(amp - *q) : strlen(*q);
    const char *eq = memchr(*q, '=', len);
    int rc = EHC_EINVAL;
    if (eq && decode(*q, (size_t)(eq - *q), name, name_size) == 0 &&
        decode(eq + 1, len - (size_t)(eq - *q) - 1, value, value_size) == 0)
        rc = 1;
    *q += len;
    return rc;
}

void ehc_api_reply_bad_query(ehc_http_req *req, int more, const char *name, bool known)
{
    char msg[128];
    if (more < 0)
        snprintf(msg, sizeof msg, "query parameters must be name=value, URL-encoded");
    else if (!known)
        snprintf(msg, sizeof msg, "unknown query parameter '%.60s'", name);
    else
        snprintf(msg, sizeof msg, "query parameter '%.60s' has a value it cannot take", name);
    ehc_http_reply_error(req, 400, "invalid_query", msg, more < 0 ? NULL : name);
}

int ehc_api_parse_id(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 15 || s[0] == '0') return EHC_EINVAL;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i])) return EHC_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}
