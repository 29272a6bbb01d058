/* Documents attached to a case (advice reports, draft and final plans, representations, tribunal
 * orders), through the API:
 *   POST /api/v1/cases/{id}/documents?kind=K&name=N              the case's officer or manager uploads
 *   POST /api/v1/advice-requests/{id}/documents?name=N           an adviser uploads their advice report
 *   GET  /api/v1/cases/{id}/documents                            the documents the caller may see
 *   GET  /api/v1/cases/{id}/documents/{document_id}              one, whole, as an attachment
 * An upload's body is the file itself, raw (no multipart), its Content-Type the file's type: PDF,
 * DOCX, ODT, PNG, JPEG or UTF-8 plain text, checked against the file's first bytes (415 naming
 * content_type or body when they disagree). Larger than max_document_bytes (20 MiB by default): 413.
 * The database computes the SHA-256 and the size from the bytes it stores; the download's ETag is
 * that hash.
 * Who: the case's officers and managers (and the authority's service manager, who reads) see every
 * document of the case; a DCO or social-care team uploads advice reports only for requests addressed
 * or forwarded to its service, and sees only what it uploaded and the documents of those requests.
 * Anyone else: 404, as for a case that does not exist (an officer of another team of the same
 * authority: 403, as for the case itself). Who may act is settled before the body is looked at. Every upload,
 * listing and download is in the access log, in the transaction that does it. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ehc/api.h"
#include "ehc/log.h"

#define CASE_ROLES (EHC_ROLE_OFFICER | EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER)
#define UPLOAD_ROLES (EHC_ROLE_OFFICER | EHC_ROLE_MANAGER)
#define SERVICE_ROLES (EHC_ROLE_DCO | EHC_ROLE_SOCIAL_CARE)
#define READ_TIMEOUT_MS 5000
#define TRANSFER_TIMEOUT_MS 60000
/* Documents being stored or fetched at once; beyond this, 503 and Retry-After. Each holds up to
 * two copies of its bytes (ours and libpq's) besides the request body h2o holds. */
#define MAX_TRANSFERS 4
#define NAME_MAX_BYTES 200

static int transfers; /* the one loop thread's */

static const struct {
    const char *type;
    const char *what;
} media_types[] = {
    {"application/pdf", "a PDF document"},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a Word (DOCX) document"},
    {"application/vnd.oasis.opendocument.text", "an OpenDocument text (ODT) document"},
    {"image/png", "a PNG image"},
    {"image/jpeg", "a JPEG image"},
    {"text/plain", "UTF-8 plain text"},
};

static const char *const kinds[] = {"advice_report",  "draft_plan",     "final_plan",
                                    "representation", "tribunal_order", "other"};

/* ---- the bytes themselves ------------------------------------------------------------------------- */

static bool has_bytes(const char *buf, size_t len, size_t at, const char *want, size_t n)
{
    return len >= at + n && memcmp(buf + at, want, n) == 0;
}

static bool contains(const char *buf, size_t len, const char *want)
{
    size_t n = strlen(want);
    for (size_t i = 0; n <= len && i <= len - n; i++) {
        const char *p = memchr(buf + i, want[0], len - n - i + 1);
        if (!p) return false;
        i = (size_t)(p - buf);
        if (memcmp(p, want, n) == 0) return true;
    }
    return false;
}

/* UTF-8 text with no NUL and no control character but tab, line feed, form feed and carriage return. */
static bool plain_text(const unsigned char *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n) {
        unsigned c = s[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r') || c == 0x7f) return false;
        if ((n = ehc_utf8_char((const char *)s + i, len - i)) == 0) return false;
    }
    return true;
}

const char *ehc_document_sniff(const char *buf, size_t len)
{
    if (has_bytes(buf, len, 0, "%PDF-", 5)) return "application/pdf";
    if (has_bytes(buf, len, 0, "\x89PNG\r\n\x1a\n", 8)) return "image/png";
    if (has_bytes(buf, len, 0, "\xff\xd8\xff", 3)) return "image/jpeg";
    if (has_bytes(buf, len, 0, "PK\x03\x04", 4)) {
        /* ODF: the first entry is "mimetype", stored, holding the type (ODF 1.2 part 3, 3.3) */
        static const char odt[] = "application/vnd.oasis.opendocument.text";
        if (has_bytes(buf, len, 30, "mimetype", 8) && has_bytes(buf, len, 38, odt, sizeof odt - 1) &&
            (len == 38 + sizeof odt - 1 || buf[38 + sizeof odt - 1] == 'P'))
            return odt;
        /* OOXML: a package with [Content_Types].xml and the main part of a word-processing document */
        if (contains(buf, len, "[Content_Types].xml") && contains(buf, len, "word/document.xml"))
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        return NULL;
    }
    if (plain_text((const unsigned char *)buf, len)) return "text/plain";
    return NULL;
}

int ehc_document_file_name(const char *in, char *out, size_t size)
{
    /* the last path segment, whichever separator the client's system uses */
    const char *base = in;
    for (const char *p = in; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    while (*base == ' ' || *base == '.')
        base++;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)base; *p; p++) {
        unsigned char c = *p;
        if (n + 1 >= size) return EHC_EINVAL;
        bool bad = c < 0x20 || c == 0x7f || strchr("\"\\/:*?<>|;", c);
        out[n++] = bad ? '_' : (char)c;
    }
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '.'))
        n--;
    out[n] = '\0';
    return n == 0 || n > NAME_MAX_BYTES ? EHC_EINVAL : 0;
}

/* ---- one request ---------------------------------------------------------------------------------- */

typedef struct doc_ctx {
    ehc_app *app;
    ehc_http_req *req;
    ehc_principal who;
    enum { DOC_LIST, DOC_GET, DOC_CASE_UPLOAD, DOC_ADVICE_UPLOAD } op;
    int64_t case_id, document_id, advice_id;
    int64_t authority_id;
    char authority_ids[512];
    char kind[32];
    char file_name[NAME_MAX_BYTES + 8];
    const char *media_type;
    char *scopes; /* JSON, or NULL: the whole case */
    ehc_role role;
    bool transferring;
} doc_ctx;

static void doc_free(doc_ctx *c)
{
    if (c->transferring) transfers--;
    free(c->scopes);
    free(c);
}

static void not_found(doc_ctx *c)
{
    ehc_http_reply_error(c->req, 404, "not_found", c->op == DOC_GET ? "no such document" : "no such case",
                         NULL);
    doc_free(c);
}

static int begin_transfer(doc_ctx *c)
{
    if (transfers >= MAX_TRANSFERS) {
        ehc_http_res_header(c->req, "retry-after", "2");
        ehc_http_reply_error(c->req, 503, "busy", "too many documents are moving at once; try again shortly",
                             NULL);
        doc_free(c);
        return EHC_EUNAVAILABLE;
    }
    transfers++;
    c->transferring = true;
    return 0;
}

/* The service scopes of the principal in one authority, as [[authority, organisation], ...], or NULL
 * when it has none there. */
static char *service_scopes(const ehc_principal *who, int64_t authority_id)
{
    cJSON *scopes = cJSON_CreateArray();
    for (size_t i = 0; i < who->grant_count; i++) {
        const ehc_grant *g = &who->grants[i];
        if (!(g->role & SERVICE_ROLES) || g->authority_id != authority_id || !g->organisation_id) continue;
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)g->authority_id));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)g->organisation_id));
        cJSON_AddItemToArray(scopes, pair);
    }
    char *text = cJSON_GetArraySize(scopes) ? cJSON_PrintUnformatted(scopes) : NULL;
    cJSON_Delete(scopes);
    return text;
}

/* Whether the principal has any case role in the authority (not necessarily for this case's team). */
static bool case_worker_in(const ehc_principal *who, int64_t authority_id)
{
    for (size_t i = 0; i < who->grant_count; i++)
        if ((who->grants[i].role & CASE_ROLES) && who->grants[i].authority_id == authority_id) return true;
    return false;
}

/* ---- reading ---------------------------------------------------------------------------------------- */

static void on_list(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    doc_ctx *c = data;
    if (status != 0) {
        ehc_api_reply_unavailable(c->req);
        return doc_free(c);
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) return not_found(c);
    ehc_api_reply_list(c->req, PQgetvalue(res, 0, 0));
    doc_free(c);
}

/* filename="..." for old clients (ASCII, anything else as '_'), filename*= (RFC 8187) for the rest */
static void content_disposition(const char *name, char *out, size_t size)
{
    char ascii[NAME_MAX_BYTES + 8], enc[3 * NAME_MAX_BYTES + 8];
    size_t a = 0, e = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && a + 1 < sizeof ascii; p++) {
        if (*p >= 0x80 && (*p & 0xc0) == 0x80) continue; /* one '_' per character */
        ascii[a++] = *p < 0x80 ? (char)*p : '_';
    }
    ascii[a] = '\0';
    for (const unsigned char *p = (const unsigned char *)name; *p && e + 4 < sizeof enc; p++) {
        if (isalnum(*p) || strchr("!#$&+-.^_`|~", *p))
            enc[e++] = (char)*p;
        else
            e += (size_t)snprintf(enc + e, sizeof enc - e, "%%%02X", *p);
    }
    enc[e] = '\0';
    snprintf(out, size, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, enc);
}

static void on_fetched(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    doc_ctx *c = data;
    if (status != 0) {
        ehc_api_reply_unavailable(c->req);
        return doc_free(c);
    }
    if (PQntuples(res) != 1) return not_found(c);
    /* binary results: text columns are their bytes, unterminated */
    char name[NAME_MAX_BYTES + 8], type[96], sha[72];
    const struct {
        char *out;
        size_t size;
        int col;
    } cols[] = {{name, sizeof name, 0}, {type, sizeof type, 1}, {sha, sizeof sha, 2}};
    for (size_t i = 0; i < EHC_ARRAY_SIZE(cols); i++) {
        int n = PQgetlength(res, 0, cols[i].col);
        if (n < 0 || (size_t)n >= cols[i].size) n = 0;
        memcpy(cols[i].out, PQgetvalue(res, 0, cols[i].col), (size_t)n);
        cols[i].out[n] = '\0';
    }
    size_t len = (size_t)PQgetlength(res, 0, 3);
    char *body = ehc_malloc(len ? len : 1);
    memcpy(body, PQgetvalue(res, 0, 3), len);
    char disposition[4 * NAME_MAX_BYTES + 80], etag[80], ctype[128];
    content_disposition(name, disposition, sizeof disposition);
    snprintf(etag, sizeof etag, "\"%s\"", sha);
    snprintf(ctype, sizeof ctype, "%s%s", type, strcmp(type, "text/plain") == 0 ? "; charset=utf-8" : "");
    ehc_http_res_header(c->req, "content-disposition", disposition);
    ehc_http_res_header(c->req, "etag", etag);
    /* opened in the browser by mistake, it runs nothing and reaches nothing */
    ehc_http_res_header(c->req, "content-security-policy", "default-src 'none'; sandbox");
    ehc_log(EHC_LOG_INFO, "document_download", ehc_http_req_id(c->req),
            "document %" PRId64 " of case %" PRId64 " (%zu bytes) by user %" PRId64, c->document_id,
            c->case_id, len, c->who.user_id);
    ehc_http_reply_owned(c->req, 200, ctype, body, len);
    doc_free(c);
}

/* ---- writing ---------------------------------------------------------------------------------------- */

static void on_stored(void *data, int status, PGresult *res, const char *message)
{
    doc_ctx *c = data;
    if (status != 0) {
        if (status == EHC_EINVAL)
            ehc_log(EHC_LOG_WARN, "document_refused", ehc_http_req_id(c->req), "the database refused: %s",
                    message);
        ehc_api_reply_unavailable(c->req);
        return doc_free(c);
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) return not_found(c);
    cJSON *doc = cJSON_Parse(PQgetvalue(res, 0, 0));
    char location[96];
    snprintf(location, sizeof location, "/api/v1/cases/%" PRId64 "/documents/%.0f", c->case_id,
             cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "id")));
    ehc_http_res_header(c->req, "location", location);
    ehc_log(EHC_LOG_INFO, "document_upload", ehc_http_req_id(c->req),
            "%s to case %" PRId64 " by user %" PRId64 " as %s", c->kind, c->case_id, c->who.user_id,
            ehc_role_name(c->role));
    ehc_api_reply_json(c->req, 201, doc);
    doc_free(c);
}

static void store(doc_ctx *c)
{
    if (begin_transfer(c)) return;
    size_t len;
    const char *body = ehc_http_req_body(c->req, &len);
    char auth[24], kase[24], advice[24], user[24], now[24];
    snprintf(auth, sizeof auth, "%" PRId64, c->authority_id);
    snprintf(kase, sizeof kase, "%" PRId64, c->case_id);
    snprintf(advice, sizeof advice, "%" PRId64, c->advice_id);
    snprintf(user, sizeof user, "%" PRId64, c->who.user_id);
    snprintf(now, sizeof now, "%" PRId64, ehc_clock_now(&c->app->clock).us);
    const char *params[11] = {
        auth, kase, c->advice_id ? advice : NULL, c->kind, c->file_name,           c->media_type,
        body, user, ehc_role_name(c->role),       now,     ehc_http_req_id(c->req)};
    int lengths[11], formats[11] = {0};
    for (int i = 0; i < 11; i++)
        lengths[i] = params[i] ? (int)strlen(params[i]) : 0;
    lengths[6] = (int)len;
    formats[6] = 1; /* the bytes, as they came */
    if (ehc_pg_query_binary(
            c->app->pg,
            "SELECT ehc_document_insert($1::bigint, $2::bigint, $3::bigint, $4, $5, $6, $7::bytea, "
            "$8::bigint, $9, $10::bigint, $11)",
            11, params, lengths, formats, 0, TRANSFER_TIMEOUT_MS, on_stored, c) != 0) {
        ehc_api_reply_unavailable(c->req);
        doc_free(c);
    }
}

/* The query string and the body of an upload, checked; 0, or a 4xx sent (and c freed). */
static int check_upload(doc_ctx *c)
{
    ehc_http_req *req = c->req;
    const char *q = ehc_http_req_query(req);
    char name[32], value[256];
    int more;
    bool have_name = false;
    if (c->op == DOC_ADVICE_UPLOAD) snprintf(c->kind, sizeof c->kind, "advice_report");
    while ((more = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) != 0) {
        bool bad = more < 0;
        if (bad) {
        } else if (strcmp(name, "name") == 0) {
            bad = ehc_document_file_name(value, c->file_name, sizeof c->file_name) != 0;
            have_name = !bad;
        } else if (strcmp(name, "kind") == 0 && c->op == DOC_CASE_UPLOAD) {
            bad = true;
            for (size_t i = 0; i < EHC_ARRAY_SIZE(kinds) && bad; i++) {
                bad = strcmp(value, kinds[i]) != 0;
                if (!bad) snprintf(c->kind, sizeof c->kind, "%s", kinds[i]);
            }
        } else {
            ehc_api_reply_bad_query(req, more, name, false);
            doc_free(c);
            return EHC_EINVAL;
        }
        if (bad) {
            ehc_api_reply_bad_query(req, more, name, true);
            doc_free(c);
            return EHC_EINVAL;
        }
    }
    if (!have_name || !*c->kind) {
        ehc_http_reply_error(req, 400, "invalid_query",
                             !have_name ? "name is required: the file's name (at most 200 bytes)"
                                        : "kind is required: advice_report, draft_plan, final_plan, "
                                          "representation, tribunal_order or other",
                             !have_name ? "name" : "kind");
        doc_free(c);
        return EHC_EINVAL;
    }
    size_t len;
    const char *body = ehc_http_req_body(req, &len);
    if (len > c->app->cfg.max_document_bytes) {
        char msg[128];
        snprintf(msg, sizeof msg, "the document is larger than the %zu bytes a document may be",
                 c->app->cfg.max_document_bytes);
        ehc_http_reply_error(req, 413, "too_large", msg, "body");
        doc_free(c);
        return EHC_EINVAL;
    }
    if (len == 0) {
        ehc_http_reply_error(req, 422, "invalid_field", "the body is empty: send the file's bytes", "body");
        doc_free(c);
        return EHC_EINVAL;
    }
    /* the declared type: its parameters (charset) aside, one of ours */
    const char *declared = ehc_http_req_header(req, "content-type");
    char type[128] = "";
    if (declared) {
        size_t n = strcspn(declared, "; \t");
        if (n < sizeof type) {
            for (size_t i = 0; i < n; i++)
                type[i] = (char)tolower((unsigned char)declared[i]);
            type[n] = '\0';
        }
    }
    c->media_type = NULL;
    for (size_t i = 0; i < EHC_ARRAY_SIZE(media_types) && !c->media_type; i++)
        if (strcmp(type, media_types[i].type) == 0) c->media_type = media_types[i].type;
    if (!c->media_type) {
        ehc_http_reply_error(req, 415, "unsupported_media_type",
                             "Content-Type must be the file's type: application/pdf, DOCX "
                             "(application/vnd.openxmlformats-officedocument.wordprocessingml.document), ODT "
                             "(application/vnd.oasis.opendocument.text), image/png, image/jpeg or text/plain",
                             "content_type");
        doc_free(c);
        return EHC_EINVAL;
    }
    if (declared && strcmp(c->media_type, "text/plain") == 0 && strchr(declared, ';')) {
        const char *cs = strstr(declared, "charset=");
        if (cs && strncasecmp(cs + 8, "utf-8", 5) && strncasecmp(cs + 8, "\"utf-8\"", 7)) {
            ehc_http_reply_error(req, 415, "unsupported_media_type", "plain text must be UTF-8",
                                 "content_type");
            doc_free(c);
            return EHC_EINVAL;
        }
    }
    const char *found = ehc_document_sniff(body, len);
    if (!found || strcmp(found, c->media_type) != 0) {
        const char *what = "";
        for (size_t i = 0; i < EHC_ARRAY_SIZE(media_types); i++)
            if (media_types[i].type == c->media_type) what = media_types[i].what;
        char msg[160];
        snprintf(msg, sizeof msg, "the file's content is not %s, as its Content-Type says", what);
        ehc_http_reply_error(req, 415, "content_mismatch", msg, "body");
        doc_free(c);
        return EHC_EINVAL;
    }
    return 0;
}

/* ---- authorisation ------------------------------------------------------------------------------------ */

static void on_case_header(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    doc_ctx *c = data;
    if (status != 0) {
        ehc_api_reply_unavailable(c->req);
        return doc_free(c);
    }
    if (PQntuples(res) != 1) return not_found(c);
    c->authority_id = atoll(PQgetvalue(res, 0, 0));
    int64_t team_id = PQgetisnull(res, 0, 1) ? 0 : atoll(PQgetvalue(res, 0, 1));
    unsigned held = ehc_api_case_roles(&c->who, c->authority_id, team_id);
    if (!held) c->scopes = service_scopes(&c->who, c->authority_id);
    if (!held && !c->scopes) {
        if (case_worker_in(&c->who, c->authority_id)) {
            ehc_http_reply_error(c->req, 403, "forbidden", "this case belongs to a team you do not work in",
                                 NULL);
            return doc_free(c);
        }
        return not_found(c);
    }
    if (c->op == DOC_CASE_UPLOAD) {
        if (!(held & UPLOAD_ROLES)) {
            if (!held) return not_found(c); /* an adviser: through their advice request */
            ehc_http_reply_error(c->req, 403, "role_forbidden",
                                 "the case's officers and managers attach its documents", NULL);
            return doc_free(c);
        }
        c->role = (held & EHC_ROLE_OFFICER) ? EHC_ROLE_OFFICER : EHC_ROLE_MANAGER;
        if (check_upload(c)) return;
        return store(c);
    }
    char auth[24], kase[24], doc[24], user[24];
    snprintf(auth, sizeof auth, "%" PRId64, c->authority_id);
    snprintf(kase, sizeof kase, "%" PRId64, c->case_id);
    snprintf(doc, sizeof doc, "%" PRId64, c->document_id);
    snprintf(user, sizeof user, "%" PRId64, c->who.user_id);
    int rc;
    if (c->op == DOC_LIST) {
        const char *params[5] = {auth, kase, c->scopes, user, ehc_http_req_id(c->req)};
        rc = ehc_pg_query(c->app->pg,
                          "SELECT ehc_document_list($1::bigint, $2::bigint, $3::jsonb, $4::bigint, $5)", 5,
                          params, READ_TIMEOUT_MS, on_list, c);
    } else {
        if (begin_transfer(c)) return;
        const char *params[6] = {auth, kase, doc, c->scopes, user, ehc_http_req_id(c->req)};
        int lengths[6], formats[6] = {0};
        for (int i = 0; i < 6; i++)
            lengths[i] = params[i] ? (int)strlen(params[i]) : 0;
        rc = ehc_pg_query_binary(
            c->app->pg,
            "SELECT * FROM ehc_document_fetch($1::bigint, $2::bigint, $3::bigint, $4::jsonb, "
            "$5::bigint, $6)",
            6, params, lengths, formats, 1, TRANSFER_TIMEOUT_MS, on_fetched, c);
    }
    if (rc) {
        ehc_api_reply_unavailable(c->req);
        doc_free(c);
    }
}

static void on_advice_header(void *data, int status, PGresult *res, const char *message)
{
    (void)message;
    doc_ctx *c = data;
    if (status != 0) {
        ehc_api_reply_unavailable(c->req);
        return doc_free(c);
    }
    if (PQntuples(res) != 1) {
        ehc_http_reply_error(c->req, 404, "not_found", "no such advice request", NULL);
        return doc_free(c);
    }
    c->authority_id = atoll(PQgetvalue(res, 0, 0));
    c->case_id = atoll(PQgetvalue(res, 0, 1));
    int64_t team_id = PQgetisnull(res, 0, 2) ? 0 : atoll(PQgetvalue(res, 0, 2));
    int64_t org = PQgetisnull(res, 0, 3) ? 0 : atoll(PQgetvalue(res, 0, 3));
    int64_t forwarded = PQgetisnull(res, 0, 4) ? 0 : atoll(PQgetvalue(res, 0, 4));
    unsigned held = ehc_api_case_roles(&c->who, c->authority_id, team_id) & UPLOAD_ROLES;
    for (size_t i = 0; i < c->who.grant_count; i++) {
        const ehc_grant *g = &c->who.grants[i];
        if ((g->role & SERVICE_ROLES) && g->authority_id == c->authority_id && g->organisation_id &&
            (g->organisation_id == org || g->organisation_id == forwarded))
            held |= g->role;
    }
    static const ehc_role order[] = {EHC_ROLE_DCO, EHC_ROLE_SOCIAL_CARE, EHC_ROLE_OFFICER, EHC_ROLE_MANAGER};
    c->role = 0;
    for (size_t i = 0; i < EHC_ARRAY_SIZE(order) && !c->role; i++)
        if (held & order[i]) c->role = order[i];
    if (!c->role) {
        /* another service's request, or another team's case: as if it were not there */
        ehc_http_reply_error(c->req, 404, "not_found", "no such advice request", NULL);
        return doc_free(c);
    }
    if (check_upload(c)) return;
    store(c);
}

static void authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    doc_ctx *c = data;
    c->who = *who;
    ehc_api_authorities(who, CASE_ROLES | SERVICE_ROLES, c->authority_ids, sizeof c->authority_ids);
    if (!*c->authority_ids) {
        if (c->op == DOC_ADVICE_UPLOAD) {
            ehc_http_reply_error(req, 404, "not_found", "no such advice request", NULL);
            return doc_free(c);
        }
        return not_found(c);
    }
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, c->advice_id);
    const char *params[2] = {c->authority_ids, id};
    int rc = c->op == DOC_ADVICE_UPLOAD
                 ? ehc_pg_query(app->pg, "SELECT * FROM ehc_advice_header($1, $2::bigint)", 2, params,
                                READ_TIMEOUT_MS, on_advice_header, c)
                 : ehc_api_case_header(app, c->authority_ids, c->case_id, on_case_header, c);
    if (rc) {
        ehc_api_reply_unavailable(req);
        doc_free(c);
    }
}

/* /api/v1/cases/{id}/documents[/{document_id}] and /api/v1/advice-requests/{id}/documents */
static void on_route(ehc_http_req *req, void *ctx)
{
    const char *path = ehc_http_req_path(req);
    bool post = strcmp(ehc_http_req_method(req), "POST") == 0;
    bool advice = strncmp(path, "/api/v1/advice-requests/", 24) == 0;
    const char *rest = path + (advice ? 24 : strlen("/api/v1/cases/"));
    const char *slash = strchr(rest, '/');
    int64_t id = 0, doc = 0;
    bool ok = slash && ehc_api_parse_id(rest, (size_t)(slash - rest), &id) == 0 &&
              strncmp(slash, "/documents", 10) == 0;
    if (ok && slash[10] == '/')
        ok = !advice && !post && ehc_api_parse_id(slash + 11, strlen(slash + 11), &doc) == 0;
    else if (ok)
        ok = slash[10] == '\0';
    if (!ok) {
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
        return;
    }
    doc_ctx *c = ehc_calloc(1, sizeof *c);
    c->app = ctx;
    c->req = req;
    c->op = advice ? DOC_ADVICE_UPLOAD : post ? DOC_CASE_UPLOAD : doc ? DOC_GET : DOC_LIST;
    if (advice)
        c->advice_id = id;
    else
        c->case_id = id;
    c->document_id = doc;
    ehc_api_authenticate(ctx, req, authed, c);
}

void ehc_api_documents_register(ehc_app *app)
{
    size_t max = app->cfg.max_document_bytes + 64 * 1024;
    if (ehc_http_route_large(app->http, "POST", "/api/v1/cases/{id}/documents", max, on_route, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/cases/{id}/documents", on_route, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/cases/{id}/documents/{document_id}", on_route, app) ||
        ehc_http_route_large(app->http, "POST", "/api/v1/advice-requests/{id}/documents", max, on_route, app))
        abort();
}
