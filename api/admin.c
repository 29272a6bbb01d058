/* Administration (routes /api/v1/admin/...): users and their role grants, one-time passwords,
 * disabling and unlocking, API tokens, teams, advising organisations, and a case's access log, for an
 * authority's admins (their authorities) and system administrators (any). Others get 403; another
 * authority's objects answer 404. Bodies are checked here with a 4xx naming the field; one function
 * of sql/0019_admin.sql per route decides the rest under row-level security and writes admin_audit.
 * Passwords are hashed off the loop; passwords and tokens are shown once and stored only hashed. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/credential.h"
#include "ehc/log.h"

#define ADMIN_TIMEOUT_MS 5000
#define MAX_GRANTS_PER_USER 16
#define MAX_AUTHORITY_IDS 50

/* Every admin function answers one jsonb envelope: {"status", "body"} or {"status", "error"}. */
#define ENVELOPE(call)                                                                                       \
    "SELECT r ->> 'status', r -> 'error' ->> 'code', r -> 'error' ->> 'message', r -> 'error' ->> 'field', " \
    "r -> 'body' FROM " call " AS r"

typedef enum admin_kind {
    K_USERS_LIST,
    K_USER_CREATE,
    K_GRANT_ADD,
    K_GRANT_REVOKE,
    K_PASSWORD_RESET,
    K_USER_DISABLE,
    K_USER_ENABLE,
    K_USER_UNLOCK,
    K_TOKENS_LIST,
    K_TOKEN_CREATE,
    K_TOKEN_REVOKE,
    K_TEAMS_LIST,
    K_TEAM_CREATE,
    K_ORGANISATIONS_LIST,
    K_ORGANISATION_SAVE,
    K_ACCESS_LOG,
} admin_kind;

static const char *const kind_names[] = {
    "users_list",     "user_create",        "grant_add",         "grant_revoke",
    "password_reset", "user_disable",       "user_enable",       "user_unlock",
    "tokens_list",    "token_create",       "token_revoke",      "teams_list",
    "team_create",    "organisations_list", "organisation_save", "access_log",
};
_Static_assert(EHC_ARRAY_SIZE(kind_names) == K_ACCESS_LOG + 1, "a name for every kind");

typedef struct admin_op {
    ehc_app *app;
    ehc_http_req *req;
    admin_kind kind;
    int64_t id; /* from the path, 0 when the route has none */
    /* set once authenticated */
    int64_t actor;
    const char *sql;
    int nparams;
    char *params[5];
    int hash_param;          /* the parameter that takes the password's hash, 0 when none */
    char *secret;            /* a password or token to show once */
    const char *secret_name; /* its member in the reply */
    uv_work_t work;
    int hash_rc;
    char hash[EHC_PASSWORD_HASH_MAX];
} admin_op;

static void op_free(admin_op *op)
{
    for (int i = 0; i < op->nparams; i++)
        free(op->params[i]);
    if (op->secret) {
        memset(op->secret, 0, strlen(op->secret));
        free(op->secret);
    }
    memset(op->hash, 0, sizeof op->hash);
    free(op);
}

/* ---- checking bodies and queries ------------------------------------------------------------------ */

static void field_error(ehc_http_req *req, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void field_error(ehc_http_req *req, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ehc_http_reply_error(req, 422, "invalid_field", msg, field);
}

/* 0 when every member of obj is in known (NULL-terminated); else a 422 naming the first other one. */
/* A string member of 1..max characters; absent is allowed when !required (*out NULL). */
static int want_string(ehc_http_req *req, const cJSON *obj, const char *name, const char *field,
                       bool required, size_t max, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (!required) return 0;
        field_error(req, field, "%s is required", field);
        return EHC_EINVAL;
    }
    if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > max) {
        field_error(req, field, "%s must be a string of 1 to %zu characters", field, max);
        return EHC_EINVAL;
    }
    *out = v->valuestring;
    return 0;
}

static bool is_id(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 1e15 &&
           v->valuedouble == (double)(int64_t)v->valuedouble;
}

/* A positive whole number member; absent is allowed when !required (*out 0). */
static int want_id(ehc_http_req *req, const cJSON *obj, const char *name, const char *field, bool required,
                   int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = 0;
    if (!v || cJSON_IsNull(v)) {
        if (!required) return 0;
        field_error(req, field, "%s is required", field);
        return EHC_EINVAL;
    }
    if (!is_id(v)) {
        field_error(req, field, "%s must be a positive whole number", field);
        return EHC_EINVAL;
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

/* users.username's CHECK: ^[a-z0-9][a-z0-9._-]{1,63}$ */
static bool username_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 64 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0]))) return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-')) return false;
    }
    return true;
}

/* organisations.ods_code's CHECK: ^[A-Z0-9]{3,10}$ */
static bool ods_code_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 10) return false;
    for (size_t i = 0; i < n; i++)
        if (!(isupper((unsigned char)s[i]) || isdigit((unsigned char)s[i]))) return false;
    return true;
}

static bool administers(const char *scope, int64_t authority_id)
{
    if (strcmp(scope, "*") == 0) return true;
    char want[24];
    snprintf(want, sizeof want, "%" PRId64, authority_id);
    size_t wl = strlen(want);
    for (const char *p = scope; *p;) {
        size_t n = strcspn(p, ",");
        if (n == wl && strncmp(p, want, n) == 0) return true;
        p += n;
        if (*p == ',') p++;
    }
    return false;
}

/* One role grant {role, authority_id?, team_id?, organisation_id?} into a normalised object (the
 * authority defaulting to default_authority when that is not 0); NULL after a 422. */
static cJSON *parse_grant(ehc_http_req *req, const cJSON *g, const char *prefix, int64_t default_authority)
{
    static const char *const known[] = {"role", "authority_id", "team_id", "organisation_id", NULL};
    char field[64];
    if (!cJSON_IsObject(g)) {
        snprintf(field, sizeof field, "%.*s", (int)(strlen(prefix) ? strlen(prefix) - 1 : 0), prefix);
        field_error(req, *field ? field : NULL, "a grant must be an object");
        return NULL;
    }
    if (ehc_api_only_known(req, g, known, prefix)) return NULL;
    const char *role;
    ehc_role parsed;
    snprintf(field, sizeof field, "%srole", prefix);
    if (want_string(req, g, "role", field, true, 32, &role)) return NULL;
    if (ehc_role_parse(role, &parsed)) {
        field_error(req, field,
                    "%s must be one of officer, manager, service_manager, dco, social_care, admin", field);
        return NULL;
    }
    int64_t authority, team, org;
    snprintf(field, sizeof field, "%sauthority_id", prefix);
    if (want_id(req, g, "authority_id", field, default_authority == 0, &authority)) return NULL;
    if (!authority) authority = default_authority;
    snprintf(field, sizeof field, "%steam_id", prefix);
    if (want_id(req, g, "team_id", field, false, &team)) return NULL;
    snprintf(field, sizeof field, "%sorganisation_id", prefix);
    if (want_id(req, g, "organisation_id", field, false, &org)) return NULL;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "role", ehc_role_name(parsed));
    cJSON_AddNumberToObject(out, "authority_id", (double)authority);
    if (team) cJSON_AddNumberToObject(out, "team_id", (double)team);
    if (org) cJSON_AddNumberToObject(out, "organisation_id", (double)org);
    return out;
}

#define Q_PAGING 1 /* limit, offset */
#define Q_ALL 2    /* all=true|false */

/* The query parameters a route takes (allowed: Q_* bits); 400 naming any other or a bad value. */
static int parse_query(ehc_http_req *req, unsigned allowed, int *limit, int *offset, bool *all)
{
    const char *q = ehc_http_req_query(req);
    char name[32], value[32];
    int rc;
    *limit = 100;
    *offset = 0;
    *all = false;
    while ((rc = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) == 1) {
        char *end;
        long v = strtol(value, &end, 10);
        bool number = *value && *end == '\0';
        if ((allowed & Q_PAGING) && strcmp(name, "limit") == 0 && number && v >= 1 && v <= 500) {
            *limit = (int)v;
        } else if ((allowed & Q_PAGING) && strcmp(name, "offset") == 0 && number && v >= 0 && v <= 1000000) {
            *offset = (int)v;
        } else if ((allowed & Q_ALL) && strcmp(name, "all") == 0 &&
                   (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)) {
            *all = strcmp(value, "true") == 0;
        } else if (strcmp(name, "format") == 0 && ehc_api_list_format_ok(value)) {
            /* every list answers CSV too (ehc_api_reply_list) */
        } else {
            char msg[96];
            snprintf(msg, sizeof msg, "query parameter '%.40s' is unknown or out of range", name);
            ehc_http_reply_error(req, 400, "invalid_query", msg, name);
            return EHC_EINVAL;
        }
    }
    if (rc != 0) {
        ehc_http_reply_error(req, 400, "invalid_query", "the query string is malformed", NULL);
        return EHC_EINVAL;
    }
    return 0;
}

/* Routes that take no body accept none, or an empty object. */
static int no_body(ehc_http_req *req)
{
    size_t len;
    ehc_http_req_body(req, &len);
    if (len == 0) return 0;
    cJSON *body = ehc_api_body_object(req);
    if (!body) return EHC_EINVAL;
    static const char *const none[] = {NULL};
    int rc = ehc_api_only_known(req, body, none, "");
    cJSON_Delete(body);
    return rc;
}

static char *number_text(int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return ehc_strdup(buf);
}

static char *json_text(cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    char *out = ehc_strdup(s);
    free(s);
    return out;
}

/* ---- each route's body, into the parameters of its function -------------------------------------- */

static int prepare_user_create(admin_op *op, const char *scope)
{
    static const char *const known[] = {"username", "display_name", "authority_id", "grants", NULL};
    ehc_http_req *req = op->req;
    cJSON *body = ehc_api_body_object(req);
    if (!body) return EHC_EINVAL;
    const char *username, *display_name;
    int64_t authority;
    int rc = EHC_EINVAL;
    cJSON *user = NULL;
    if (ehc_api_only_known(req, body, known, "") ||
        want_string(req, body, "username", "username", true, 64, &username))
        goto out;
    if (!username_ok(username)) {
        field_error(req, "username",
                    "username must be 2 to 64 characters: lower-case letters, digits, '.', '_' or '-', "
                    "starting with a letter or digit");
        goto out;
    }
    if (want_string(req, body, "display_name", "display_name", true, 200, &display_name) ||
        want_id(req, body, "authority_id", "authority_id", true, &authority))
        goto out;
    const cJSON *grants = cJSON_GetObjectItemCaseSensitive(body, "grants");
    if (grants && !cJSON_IsNull(grants) &&
        (!cJSON_IsArray(grants) || cJSON_GetArraySize(grants) > MAX_GRANTS_PER_USER)) {
        field_error(req, "grants", "grants must be an array of at most %d grants", MAX_GRANTS_PER_USER);
        goto out;
    }
    if (!administers(scope, authority)) {
        ehc_http_reply_error(req, 403, "forbidden", "you do not administer that authority", "authority_id");
        goto out;
    }
    user = cJSON_CreateObject();
    cJSON_AddStringToObject(user, "username", username);
    cJSON_AddStringToObject(user, "display_name", display_name);
    cJSON_AddNumberToObject(user, "authority_id", (double)authority);
    cJSON *list = cJSON_AddArrayToObject(user, "grants");
    int i = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, grants)
    {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "grants[%d].", i++);
        cJSON *parsed = parse_grant(req, g, prefix, authority);
        if (!parsed) goto out;
        cJSON_AddItemToArray(list, parsed);
    }
    op->sql = ENVELOPE("ehc_admin_user_create($1::jsonb, $2::jsonb, $3)");
    op->params[1] = json_text(user);
    user = NULL;
    op->nparams = 3;
    op->hash_param = 2;
    op->secret_name = "temporary_password";
    rc = 0;
out:
    cJSON_Delete(user);
    cJSON_Delete(body);
    return rc;
}

static int prepare_grant_add(admin_op *op)
{
    cJSON *body = ehc_api_body_object(op->req);
    if (!body) return EHC_EINVAL;
    cJSON *grant = parse_grant(op->req, body, "", 0);
    cJSON_Delete(body);
    if (!grant) return EHC_EINVAL;
    op->sql = ENVELOPE("ehc_admin_grant_add($1::jsonb, $2::bigint, $3::jsonb)");
    op->params[1] = number_text(op->id);
    op->params[2] = json_text(grant);
    op->nparams = 3;
    return 0;
}

static int prepare_token_create(admin_op *op)
{
    static const char *const known[] = {"name", NULL};
    cJSON *body = ehc_api_body_object(op->req);
    if (!body) return EHC_EINVAL;
    const char *name;
    if (ehc_api_only_known(op->req, body, known, "") ||
        want_string(op->req, body, "name", "name", true, 200, &name)) {
        cJSON_Delete(body);
        return EHC_EINVAL;
    }
    char token[64], sha[65];
    memcpy(token, "ehc_", 4);
    if (ehc_random_token(32, token + 4, sizeof token - 4)) {
        cJSON_Delete(body);
        ehc_http_reply_error(op->req, 500, "internal", "cannot make a token", NULL);
        return EHC_EIO;
    }
    ehc_sha256_hex(token, strlen(token), sha);
    op->sql = ENVELOPE("ehc_admin_token_create($1::jsonb, $2::bigint, $3, $4)");
    op->params[1] = number_text(op->id);
    op->params[2] = ehc_strdup(name);
    op->params[3] = ehc_strdup(sha);
    op->nparams = 4;
    op->secret = ehc_strdup(token);
    op->secret_name = "token";
    memset(token, 0, sizeof token);
    cJSON_Delete(body);
    return 0;
}

static int prepare_team_create(admin_op *op, const char *scope)
{
    static const char *const known[] = {"authority_id", "name", NULL};
    cJSON *body = ehc_api_body_object(op->req);
    if (!body) return EHC_EINVAL;
    const char *name;
    int64_t authority;
    int rc = EHC_EINVAL;
    if (ehc_api_only_known(op->req, body, known, "") ||
        want_id(op->req, body, "authority_id", "authority_id", true, &authority) ||
        want_string(op->req, body, "name", "name", true, 200, &name))
        goto out;
    if (!administers(scope, authority)) {
        ehc_http_reply_error(op->req, 403, "forbidden", "you do not administer that authority",
                             "authority_id");
        goto out;
    }
    op->sql = ENVELOPE("ehc_admin_team_create($1::jsonb, $2::bigint, $3)");
    op->params[1] = number_text(authority);
    op->params[2] = ehc_strdup(name);
    op->nparams = 3;
    rc = 0;
out:
    cJSON_Delete(body);
    return rc;
}

static int prepare_organisation_save(admin_op *op)
{
    static const char *const known[] = {"name", "kind", "ods_code", "authority_ids", "organisation_id", NULL};
    static const char *const kinds[] = {"health", "social_care", "educational_psychology", "education",
                                        "other"};
    ehc_http_req *req = op->req;
    cJSON *body = ehc_api_body_object(req);
    if (!body) return EHC_EINVAL;
    const char *name = NULL, *kind = NULL, *ods = NULL;
    int64_t org;
    int rc = EHC_EINVAL;
    cJSON *out = NULL;
    if (ehc_api_only_known(req, body, known, "") ||
        want_id(req, body, "organisation_id", "organisation_id", false, &org))
        goto out;
    if (org) {
        const char *extra = cJSON_HasObjectItem(body, "name")       ? "name"
                            : cJSON_HasObjectItem(body, "kind")     ? "kind"
                            : cJSON_HasObjectItem(body, "ods_code") ? "ods_code"
                                                                    : NULL;
        if (extra) {
            field_error(req, extra,
                        "give organisation_id to link a registered organisation, or name and kind "
                        "to register one, not both");
            goto out;
        }
    } else {
        if (want_string(req, body, "name", "name", true, 200, &name) ||
            want_string(req, body, "kind", "kind", true, 32, &kind) ||
            want_string(req, body, "ods_code", "ods_code", false, 10, &ods))
            goto out;
        bool kind_ok = false;
        for (size_t i = 0; i < EHC_ARRAY_SIZE(kinds) && !kind_ok; i++)
            kind_ok = strcmp(kinds[i], kind) == 0;
        if (!kind_ok) {
            field_error(req, "kind",
                        "kind must be one of health, social_care, educational_psychology, "
                        "education, other");
            goto out;
        }
        if (ods && !ods_code_ok(ods)) {
            field_error(req, "ods_code", "ods_code must be 3 to 10 upper-case letters or digits");
            goto out;
        }
    }
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "authority_ids");
    int n = cJSON_IsArray(ids) ? cJSON_GetArraySize(ids) : 0;
    bool ids_ok = n >= 1 && n <= MAX_AUTHORITY_IDS;
    const cJSON *it;
    cJSON_ArrayForEach(it, ids) ids_ok = ids_ok && is_id(it);
    if (!ids_ok) {
        field_error(req, "authority_ids", "authority_ids must be an array of 1 to %d authority ids",
                    MAX_AUTHORITY_IDS);
        goto out;
    }
    out = cJSON_CreateObject();
    if (org) cJSON_AddNumberToObject(out, "organisation_id", (double)org);
    if (name) cJSON_AddStringToObject(out, "name", name);
    if (kind) cJSON_AddStringToObject(out, "kind", kind);
    if (ods) cJSON_AddStringToObject(out, "ods_code", ods);
    cJSON_AddItemToObject(out, "authority_ids", cJSON_Duplicate(ids, true));
    op->sql = ENVELOPE("ehc_admin_organisation_save($1::jsonb, $2::jsonb)");
    op->params[1] = json_text(out);
    out = NULL;
    op->nparams = 2;
    rc = 0;
out:
    cJSON_Delete(out);
    cJSON_Delete(body);
    return rc;
}

/* Sets op's statement and parameters (params[0], the caller's context, is already set), or replies
 * with the refusal and returns non-zero. */
static int prepare(admin_op *op, const char *scope)
{
    int limit, offset;
    bool all = false;
    switch (op->kind) {
    case K_USERS_LIST:
    case K_ACCESS_LOG:
        if (parse_query(op->req, Q_PAGING, &limit, &offset, &all)) return EHC_EINVAL;
        if (op->kind == K_USERS_LIST) {
            op->sql = ENVELOPE("ehc_admin_users($1::jsonb, $2::int, $3::int)");
            op->params[1] = number_text(limit);
            op->params[2] = number_text(offset);
            op->nparams = 3;
        } else {
            op->sql = ENVELOPE("ehc_admin_case_access_log($1::jsonb, $2::bigint, $3::int, $4::int)");
            op->params[1] = number_text(op->id);
            op->params[2] = number_text(limit);
            op->params[3] = number_text(offset);
            op->nparams = 4;
        }
        return 0;
    case K_USER_CREATE: return prepare_user_create(op, scope);
    case K_GRANT_ADD: return prepare_grant_add(op);
    case K_GRANT_REVOKE:
        if (no_body(op->req)) return EHC_EINVAL;
        op->sql = ENVELOPE("ehc_admin_grant_revoke($1::jsonb, $2::bigint)");
        op->params[1] = number_text(op->id);
        op->nparams = 2;
        return 0;
    case K_PASSWORD_RESET:
        if (no_body(op->req)) return EHC_EINVAL;
        op->sql = ENVELOPE("ehc_admin_password_reset($1::jsonb, $2::bigint, $3)");
        op->params[1] = number_text(op->id);
        op->nparams = 3;
        op->hash_param = 2;
        op->secret_name = "temporary_password";
        return 0;
    case K_USER_DISABLE:
    case K_USER_ENABLE:
    case K_USER_UNLOCK:
        if (no_body(op->req)) return EHC_EINVAL;
        op->sql = ENVELOPE("ehc_admin_user_state($1::jsonb, $2::bigint, $3)");
        op->params[1] = number_text(op->id);
        op->params[2] = ehc_strdup(op->kind == K_USER_DISABLE  ? "disable"
                                   : op->kind == K_USER_ENABLE ? "enable"
                                                               : "unlock");
        op->nparams = 3;
        return 0;
    case K_TOKENS_LIST:
        if (parse_query(op->req, 0, &limit, &offset, &all)) return EHC_EINVAL;
        op->sql = ENVELOPE("ehc_admin_tokens($1::jsonb, $2::bigint)");
        op->params[1] = number_text(op->id);
        op->nparams = 2;
        return 0;
    case K_TOKEN_CREATE: return prepare_token_create(op);
    case K_TOKEN_REVOKE:
        if (no_body(op->req)) return EHC_EINVAL;
        op->sql = ENVELOPE("ehc_admin_token_revoke($1::jsonb, $2::bigint)");
        op->params[1] = number_text(op->id);
        op->nparams = 2;
        return 0;
    case K_TEAMS_LIST:
        if (parse_query(op->req, 0, &limit, &offset, &all)) return EHC_EINVAL;
        op->sql = ENVELOPE("ehc_admin_teams($1::jsonb)");
        op->nparams = 1;
        return 0;
    case K_TEAM_CREATE: return prepare_team_create(op, scope);
    case K_ORGANISATIONS_LIST:
        if (parse_query(op->req, Q_ALL, &limit, &offset, &all)) return EHC_EINVAL;
        op->sql = ENVELOPE("ehc_admin_organisations($1::jsonb, $2::boolean)");
        op->params[1] = ehc_strdup(all ? "true" : "false");
        op->nparams = 2;
        return 0;
    case K_ORGANISATION_SAVE: return prepare_organisation_save(op);
    }
    abort();
}

/* ---- running it ------------------------------------------------------------------------------------ */

static void on_result(void *data, int status, PGresult *res, const char *message)
{
    admin_op *op = data;
    ehc_http_req *req = op->req;
    if (status == EHC_EINVAL) {
        ehc_log(EHC_LOG_ERROR, "admin_failed", ehc_http_req_id(req), "%s: %s", kind_names[op->kind],
                message ? message : "");
        ehc_http_reply_error(req, 500, "internal", "the change could not be made", NULL);
    } else if (status != 0 || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        ehc_api_reply_unavailable(req);
    } else {
        int http = atoi(PQgetvalue(res, 0, 0));
        /* a change to users, grants or tokens: nobody is who they were a moment ago */
        if (http < 300) ehc_api_principal_cache_clear(op->app);
        if (http >= 400) {
            ehc_http_reply_error(req, http, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                                 PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3));
        } else if (op->secret) {
            cJSON *body = cJSON_Parse(PQgetvalue(res, 0, 4));
            if (cJSON_IsObject(body)) {
                cJSON_AddStringToObject(body, op->secret_name, op->secret);
                ehc_http_res_header(req, "cache-control", "no-store");
                ehc_api_reply_json(req, http, body);
            } else { /* cannot happen: the database made it */
                cJSON_Delete(body);
                ehc_http_reply_error(req, 500, "internal", "the reply could not be made", NULL);
            }
        } else if (http == 200 && strcmp(ehc_http_req_method(req), "GET") == 0) {
            ehc_api_reply_list(req, PQgetvalue(res, 0, 4));
        } else {
            const char *body = PQgetvalue(res, 0, 4);
            ehc_http_reply(req, http, "application/json", body, strlen(body));
        }
        if (http < 300 && op->kind != K_USERS_LIST && op->kind != K_TOKENS_LIST && op->kind != K_TEAMS_LIST &&
            op->kind != K_ORGANISATIONS_LIST && op->kind != K_ACCESS_LOG)
            ehc_log(EHC_LOG_INFO, "admin_change", ehc_http_req_id(req), "%s by user %" PRId64 " on %" PRId64,
                    kind_names[op->kind], op->actor, op->id);
    }
    op_free(op);
}

static void run(admin_op *op)
{
    if (ehc_pg_query(op->app->pg, op->sql, op->nparams, (const char *const *)op->params, ADMIN_TIMEOUT_MS,
                     on_result, op) != 0) {
        ehc_api_reply_unavailable(op->req);
        op_free(op);
    }
}

static void hash_password(uv_work_t *w)
{
    admin_op *op = ehc_container_of(w, admin_op, work);
    op->hash_rc = ehc_password_hash(op->secret, op->hash, sizeof op->hash);
}

static void after_hash(uv_work_t *w, int status)
{
    admin_op *op = ehc_container_of(w, admin_op, work);
    if (status != 0 || op->hash_rc != 0) {
        ehc_http_reply_error(op->req, 500, "internal", "cannot set a password", NULL);
        op_free(op);
        return;
    }
    op->params[op->hash_param] = ehc_strdup(op->hash);
    run(op);
}

static void admin_authed(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    admin_op *op = data;
    char scope[512];
    if (who->is_admin)
        snprintf(scope, sizeof scope, "*");
    else
        ehc_api_authorities(who, EHC_ROLE_ADMIN, scope, sizeof scope);
    if (!*scope) {
        ehc_http_reply_error(req, 403, "forbidden", "only an authority's admins administer it", NULL);
        op_free(op);
        return;
    }
    op->actor = who->user_id;
    char peer[64];
    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddNumberToObject(ctx, "actor", (double)who->user_id);
    cJSON_AddStringToObject(ctx, "authorities", scope);
    if (ehc_http_req_peer(req, peer, sizeof peer) == 0)
        cJSON_AddStringToObject(ctx, "address", peer);
    else
        cJSON_AddNullToObject(ctx, "address");
    cJSON_AddStringToObject(ctx, "request_id", ehc_http_req_id(req));
    op->params[0] = json_text(ctx);
    op->nparams = 1;
    if (prepare(op, scope) != 0) {
        op_free(op);
        return;
    }
    if (op->hash_param) {
        char password[32];
        if (ehc_random_token(18, password, sizeof password)) {
            ehc_http_reply_error(req, 500, "internal", "cannot make a password", NULL);
            op_free(op);
            return;
        }
        op->secret = ehc_strdup(password);
        memset(password, 0, sizeof password);
        uv_queue_work(app->loop, &op->work, hash_password, after_hash);
        return;
    }
    run(op);
}

/* The id in the path's fifth segment (/api/v1/admin/users/{id}/...); 0 when it is not one. */
static int64_t path_id(const char *path)
{
    const char *p = path;
    for (int slashes = 0; *p && slashes < 5; p++)
        if (*p == '/') slashes++;
    int64_t v = 0;
    size_t n = 0;
    for (; p[n] && p[n] != '/'; n++) {
        if (!isdigit((unsigned char)p[n]) || n >= 15) return 0;
        v = v * 10 + (p[n] - '0');
    }
    return v;
}

static void start(ehc_http_req *req, ehc_app *app, admin_kind kind, bool with_id)
{
    int64_t id = 0;
    if (with_id && (id = path_id(ehc_http_req_path(req))) <= 0) {
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
        return;
    }
    admin_op *op = ehc_calloc(1, sizeof *op);
    op->app = app;
    op->req = req;
    op->kind = kind;
    op->id = id;
    ehc_api_authenticate(app, req, admin_authed, op);
}

#define ROUTE_HANDLER(fn, kind, with_id)                                                                     \
    static void fn(ehc_http_req *req, void *ctx)                                                             \
    {                                                                                                        \
        start(req, ctx, kind, with_id);                                                                      \
    }

ROUTE_HANDLER(on_users_list, K_USERS_LIST, false)
ROUTE_HANDLER(on_user_create, K_USER_CREATE, false)
ROUTE_HANDLER(on_grant_add, K_GRANT_ADD, true)
ROUTE_HANDLER(on_grant_revoke, K_GRANT_REVOKE, true)
ROUTE_HANDLER(on_password_reset, K_PASSWORD_RESET, true)
ROUTE_HANDLER(on_user_disable, K_USER_DISABLE, true)
ROUTE_HANDLER(on_user_enable, K_USER_ENABLE, true)
ROUTE_HANDLER(on_user_unlock, K_USER_UNLOCK, true)
ROUTE_HANDLER(on_tokens_list, K_TOKENS_LIST, true)
ROUTE_HANDLER(on_token_create, K_TOKEN_CREATE, true)
ROUTE_HANDLER(on_token_revoke, K_TOKEN_REVOKE, true)
ROUTE_HANDLER(on_teams_list, K_TEAMS_LIST, false)
ROUTE_HANDLER(on_team_create, K_TEAM_CREATE, false)
ROUTE_HANDLER(on_organisations_list, K_ORGANISATIONS_LIST, false)
ROUTE_HANDLER(on_organisation_save, K_ORGANISATION_SAVE, false)
ROUTE_HANDLER(on_access_log, K_ACCESS_LOG, true)

void ehc_api_admin_register(ehc_app *app)
{
    static const struct {
        const char *method, *path;
        ehc_http_handler handler;
    } routes[] = {
        {"GET", "/api/v1/admin/users", on_users_list},
        {"POST", "/api/v1/admin/users", on_user_create},
        {"POST", "/api/v1/admin/users/{id}/grants", on_grant_add},
        {"POST", "/api/v1/admin/grants/{id}/revoke", on_grant_revoke},
        {"POST", "/api/v1/admin/users/{id}/password-reset", on_password_reset},
        {"POST", "/api/v1/admin/users/{id}/disable", on_user_disable},
        {"POST", "/api/v1/admin/users/{id}/enable", on_user_enable},
        {"POST", "/api/v1/admin/users/{id}/unlock", on_user_unlock},
        {"GET", "/api/v1/admin/users/{id}/tokens", on_tokens_list},
        {"POST", "/api/v1/admin/users/{id}/tokens", on_token_create},
        {"POST", "/api/v1/admin/tokens/{id}/revoke", on_token_revoke},
        {"GET", "/api/v1/admin/teams", on_teams_list},
        {"POST", "/api/v1/admin/teams", on_team_create},
        {"GET", "/api/v1/admin/organisations", on_organisations_list},
        {"POST", "/api/v1/admin/organisations", on_organisation_save},
        {"GET", "/api/v1/admin/cases/{id}/access-log", on_access_log},
    };
    for (size_t i = 0; i < EHC_ARRAY_SIZE(routes); i++)
        if (ehc_http_route(app->http, routes[i].method, routes[i].path, routes[i].handler, app)) abort();
}
