/* Request bodies and the Idempotency-Key header, checked once at the door for every handler: the
 * body is one JSON object and nothing after it, its text is UTF-8 without NUL characters, and each
 * object names a member once. What passes here can be bound as a PostgreSQL text or jsonb
 * parameter as it is, and the value a handler checked is the value jsonb keeps (it keeps the last
 * of two same-named members; cJSON hands us the first). */
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#include "ehc/api.h"

#define MAX_DEPTH 1024 /* above cJSON's own nesting limit (1000): a parsed body never gets there */
#define PATH_SIZE 160
#define NAME_CAP 100 /* bytes of one member's name in a path */

static void body_error(ehc_api_body_error *err, int status, const char *code, const char *message,
                       const char *field)
{
    err->status = status;
    err->code = code;
    snprintf(err->message, sizeof err->message, "%s", message);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    /* a path is built from the raw text of member names, which may not be UTF-8 yet */
    ehc_utf8_scrub(err->message);
    ehc_utf8_scrub(err->field);
}

typedef struct scan_frame {
    const char *key; /* the raw text of the member being read in this object, NULL before one */
    size_t key_len;
    int object;
} scan_frame;

/* Appends ".name" (just "name" when out is empty) to the NUL-terminated path in out: at most cap
 * bytes of the name, and no more than fits, cut where a UTF-8 character begins so that the path
 * stays UTF-8 in the error reply. Returns 0 when the whole name fitted. */
static int path_append(char *out, size_t size, const char *name, size_t len, size_t cap)
{
    size_t n = strlen(out), sep = n ? 1 : 0;
    if (n + sep + 1 >= size) return -1;
    size_t keep = len;
    if (keep > cap) keep = cap;
    if (keep > size - n - sep - 1) keep = size - n - sep - 1;
    if (keep < len)
        while (keep > 0 && ((unsigned char)name[keep] & 0xc0) == 0x80)
            keep--;
    if (sep) out[n++] = '.';
    memcpy(out + n, name, keep);
    out[n + keep] = '\0';
    return keep == len ? 0 : -1;
}

/* "child.forename": the members leading to the value at the top of the stack (array levels add
 * nothing). With skip_top, the innermost member is left out (the fault is in its name). */
static void frame_path(const scan_frame *frames, size_t depth, int skip_top, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < depth; i++) {
        if (!frames[i].object || !frames[i].key || (skip_top && i + 1 == depth)) continue;
        if (path_append(out, size, frames[i].key, frames[i].key_len, size)) break;
    }
}

/* Walks the text of a body cJSON has accepted, string by string. Returns 0, or replies (400 for
 * bytes that are not UTF-8, 422 for an escaped NUL) naming the member and returns EHC_EINVAL. */
static int check_text(ehc_api_body_error *err, const char *body, size_t len)
{
    scan_frame *frames = ehc_calloc(MAX_DEPTH, sizeof *frames);
    size_t depth = 0;
    int expect_key = 0, rc = 0;
    char path[PATH_SIZE];
    for (size_t i = 0; i < len && rc == 0; i++) {
        char ch = body[i];
        if (ch == '{' || ch == '[') {
            if (depth == MAX_DEPTH) {
                body_error(err, 400, "malformed_json", "the body is nested too deeply", NULL);
                rc = EHC_EINVAL;
                break;
            }
            frames[depth++] = (scan_frame){.object = ch == '{'};
            expect_key = ch == '{';
        } else if (ch == '}' || ch == ']') {
            if (depth) depth--;
            expect_key = 0;
        } else if (ch == ',') {
            expect_key = depth && frames[depth - 1].object;
        } else if (ch == ':') {
            expect_key = 0;
        } else if (ch == '"') {
            size_t start = ++i;
            int is_key = expect_key, fault = 0; /* 1: not UTF-8, 2: NUL */
            while (i < len && body[i] != '"' && !fault) {
                if (body[i] == '\\') {
                    if (i + 5 < len && body[i + 1] == 'u' && memcmp(body + i + 2, "0000", 4) == 0) fault = 2;
                    /* \uXXXX is skipped whole only when it is one: a byte after a bad escape is
                     * still checked (found by fuzz_body) */
                    bool hex4 = i + 5 < len && body[i + 1] == 'u' && isxdigit((unsigned char)body[i + 2]) &&
                                isxdigit((unsigned char)body[i + 3]) &&
                                isxdigit((unsigned char)body[i + 4]) && isxdigit((unsigned char)body[i + 5]);
                    i += hex4 ? 6 : 2;
                } else {
                    size_t n = ehc_utf8_char(body + i, len - i);
                    if (n == 0) fault = 1;
                    i += n ? n : 1;
                }
            }
            if (is_key) {
                frames[depth - 1].key = body + start;
                frames[depth - 1].key_len = i - start;
            }
            if (fault) {
                frame_path(frames, depth, is_key, path, sizeof path);
                if (fault == 1)
                    body_error(err, 400, "invalid_utf8", "text must be UTF-8", *path ? path : NULL);
                else
                    body_error(err, 422, "invalid_text", "text may not contain the NUL character",
                               *path ? path : NULL);
                rc = EHC_EINVAL;
            }
        }
    }
    free(frames);
    return rc;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Replies 422 naming the first member given twice in an object, at any depth. */
static int check_members_once(ehc_api_body_error *err, const cJSON *node, const char *prefix)
{
    if (cJSON_IsObject(node)) {
        size_t n = 0;
        for (const cJSON *it = node->child; it; it = it->next)
            n++;
        const char **names = ehc_calloc(n ? n : 1, sizeof *names);
        n = 0;
        for (const cJSON *it = node->child; it; it = it->next)
            names[n++] = it->string;
        qsort(names, n, sizeof *names, compare_names);
        for (size_t i = 1; i < n; i++) {
            if (strcmp(names[i - 1], names[i]) != 0) continue;
            char path[PATH_SIZE], msg[PATH_SIZE + 64];
            snprintf(path, sizeof path, "%s", prefix);
            (void)path_append(path, sizeof path, names[i], strlen(names[i]), NAME_CAP);
            snprintf(msg, sizeof msg, "'%s' is given more than once", path);
            body_error(err, 422, "duplicate_member", msg, path);
            free(names);
            return EHC_EINVAL;
        }
        free(names);
    }
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node)) return 0;
    for (const cJSON *it = node->child; it; it = it->next) {
        char path[PATH_SIZE];
        snprintf(path, sizeof path, "%s", prefix);
        if (cJSON_IsObject(node))
            (void)path_append(path, sizeof path, it->string, strlen(it->string), NAME_CAP);
        if (check_members_once(err, it, path)) return EHC_EINVAL;
    }
    return 0;
}

cJSON *ehc_api_body_parse(const char *content_type, const char *body, size_t len, ehc_api_body_error *err)
{
    memset(err, 0, sizeof *err);
    if (!content_type || strncmp(content_type, "application/json", 16) != 0) {
        body_error(err, 415, "unsupported_media_type", "send the body as application/json", NULL);
        return NULL;
    }
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    /* nothing but white space may follow the value */
    while (obj && end < body + len && strchr(" \t\r\n", *end) && *end)
        end++;
    if (!obj || end != body + len) {
        cJSON_Delete(obj);
        body_error(err, 400, "malformed_json", "the body is not valid JSON", NULL);
        return NULL;
    }
    if (check_text(err, body, len) != 0) {
        cJSON_Delete(obj);
        return NULL;
    }
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        body_error(err, 422, "invalid_body", "the body must be a JSON object", NULL);
        return NULL;
    }
    if (check_members_once(err, obj, "") != 0) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

cJSON *ehc_api_body_object(ehc_http_req *req)
{
    size_t len;
    const char *body = ehc_http_req_body(req, &len);
    ehc_api_body_error err;
    cJSON *obj = ehc_api_body_parse(ehc_http_req_header(req, "content-type"), body, len, &err);
    if (!obj) ehc_http_reply_error(req, err.status, err.code, err.message, *err.field ? err.field : NULL);
    return obj;
}

int ehc_api_idempotency_key(ehc_http_req *req, const char **out)
{
    const char *key = ehc_http_req_header(req, "idempotency-key");
    *out = NULL;
    if (!key) return 0;
    size_t n = strlen(key);
    int ok = n >= 1 && n <= 200;
    for (size_t i = 0; ok && i < n; i++)
        ok = key[i] >= 0x20 && key[i] <= 0x7e;
    if (!ok) {
        ehc_http_reply_error(req, 422, "invalid_field",
                             "Idempotency-Key must be 1 to 200 printable ASCII characters",
                             "Idempotency-Key");
        return EHC_EINVAL;
    }
    *out = key;
    return 0;
}

int ehc_api_only_known(ehc_http_req *req, const cJSON *obj, const char *const *known, const char *prefix)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, it->string) == 0;
        if (!ok) {
            char field[160], msg[200];
            snprintf(field, sizeof field, "%s%.100s", prefix, it->string);
            snprintf(msg, sizeof msg, "unknown field '%s'", field);
            ehc_http_reply_error(req, 422, "invalid_field", msg, field);
            return EHC_EINVAL;
        }
    }
    return 0;
}
