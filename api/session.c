/* Signing in and out, and authenticating every other request.
 *   POST   /api/v1/session  {"username", "password"} -> a session cookie and the CSRF token
 *   GET    /api/v1/session  -> who is signed in, with their roles
 *   DELETE /api/v1/session  -> signed out
 * Passwords are checked with Argon2id on libuv's thread pool, never on the loop. Five wrong
 * passwords in a row lock the account for 15 minutes; an unknown user costs the same time as a
 * known one, and both get the same answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/api.h"
#include "ehc/credential.h"
#include "ehc/log.h"
#include "ehc/migrate.h"

#define SESSION_COOKIE "ehc_session"
#define AUTH_TIMEOUT_MS 3000

/* ---- shared helpers -------------------------------------------------------------------------- */

void ehc_api_reply_json(ehc_http_req *req, int status, cJSON *body)
{
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (status == 503) ehc_http_res_header(req, "retry-after", "2");
    ehc_http_reply(req, status, "application/json", text, strlen(text));
    free(text);
}

void ehc_api_reply_unavailable(ehc_http_req *req)
{
    ehc_http_res_header(req, "retry-after", "2");
    ehc_http_reply_error(req, 503, "unavailable", "the database cannot be reached; try again shortly", NULL);
}

void ehc_api_reply_json_row(void *req, int status, PGresult *res, const char *message)
{
    if (status != 0) return ehc_api_reply_unavailable(req);
    const char *json = PQgetvalue(res, 0, 0);
    ehc_http_reply(req, 200, "application/json", json, strlen(json));
}

static void sha256_of(const char *text, char out[65])
{
    ehc_sha256_hex(text, strlen(text), out);
}

/* The value of one cookie from the Cookie header into out; 0 when found. */
static int cookie_value(ehc_http_req *req, const char *name, char *out, size_t size)
{
    const char *h = ehc_http_req_header(req, "cookie");
    size_t nlen = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t len = end ? (size_t)(end - h) : strlen(h);
        if (len > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
            size_t vlen = len - nlen - 1;
            if (vlen == 0 || vlen >= size) return EHC_EINVAL;
            memcpy(out, h + nlen + 1, vlen);
            out[vlen] = '\0';
            return 0;
        }
        h = end;
    }
    return EHC_ENOENT;
}

static int method_changes_state(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* ---- authentication ---------------------------------------------------------------------------- */

typedef struct auth_ctx {
    ehc_app *app;
    ehc_http_req *req;
    ehc_api_authed_cb cb;
    void *data;
    char key[136]; /* the credential's cache key */
} auth_ctx;

/* ---- who a credential is, for a second ---------------------------------------------------------- */

#define PRINCIPAL_CACHE_SLOTS 256
#define PRINCIPAL_CACHE_MS 1000

typedef struct principal_entry {
    char key[136]; /* "s<session sha>|t<token sha>"; "" when empty */
    uint64_t expires_ms;
    ehc_principal who;
    char csrf[128];
} principal_entry;

struct ehc_principal_cache {
    principal_entry slots[PRINCIPAL_CACHE_SLOTS];
};

static principal_entry *principal_slot(ehc_app *app, const char *key)
{
    if (!app->principals) app->principals = ehc_calloc(1, sizeof *app->principals);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &app->principals->slots[h % PRINCIPAL_CACHE_SLOTS];
}

void ehc_api_principal_cache_clear(ehc_app *app)
{
    if (app->principals) memset(app->principals, 0, sizeof *app->principals);
}

void ehc_api_session_close(ehc_app *app)
{
    free(app->principals);
    app->principals = NULL;
}

static int parse_principal(const char *json, ehc_principal *p, char *csrf, size_t csrf_size)
{
    memset(p, 0, sizeof *p);
    cJSON *o = cJSON_Parse(json);
    if (!o) return EHC_EINVAL;
    p->user_id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "user_id"));
    snprintf(p->username, sizeof p->username, "%s",
             str_or_empty(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "username"))));
    snprintf(p->display_name, sizeof p->display_name, "%s",
             str_or_empty(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "display_name"))));
    p->is_admin = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "is_admin"));
    const char *via = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "via"));
    p->via_session = via && strcmp(via, "session") == 0;
    cJSON *tok = cJSON_GetObjectItemCaseSensitive(o, "api_token_id");
    p->api_token_id = cJSON_IsNumber(tok) ? (int64_t)tok->valuedouble : 0;
    snprintf(csrf, csrf_size, "%s",
             str_or_empty(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "csrf_token"))));
    cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(o, "grants"))
    {
        if (p->grant_count == EHC_API_MAX_GRANTS) break;
        ehc_grant *out = &p->grants[p->grant_count];
        const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "role"));
        if (!role || ehc_role_parse(role, &out->role)) continue;
        out->authority_id =
            (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(g, "authority_id"));
        cJSON *team = cJSON_GetObjectItemCaseSensitive(g, "team_id");
        cJSON *org = cJSON_GetObjectItemCaseSensitive(g, "organisation_id");
        out->team_id = cJSON_IsNumber(team) ? (int64_t)team->valuedouble : 0;
        out->organisation_id = cJSON_IsNumber(org) ? (int64_t)org->valuedouble : 0;
        p->grant_count++;
    }
    cJSON_Delete(o);
    return p->user_id > 0 ? 0 : EHC_EINVAL;
}

/* A known principal: the CSRF check for a session's state-changing request, then the handler. */
static void go_on(auth_ctx *a, const principal_entry *e)
{
    ehc_http_req *req = a->req;
    if (e->who.via_session && method_changes_state(ehc_http_req_method(req))) {
        const char *sent = ehc_http_req_header(req, "x-csrf-token");
        if (!sent || !*e->csrf || strcmp(sent, e->csrf) != 0) {
            ehc_http_reply_error(req, 403, "csrf", "send the session's CSRF token in X-CSRF-Token",
                                 "X-CSRF-Token");
            free(a->data);
            free(a);
            return;
        }
    }
    ehc_principal who = e->who;
    a->cb(req, a->app, &who, a->data);
    free(a);
}

static void on_principal(void *data, int status, PGresult *res, const char *message)
{
    auth_ctx *a = data;
    ehc_http_req *req = a->req;
    if (status != 0) {
        ehc_log(EHC_LOG_WARN, "auth_lookup_failed", ehc_http_req_id(req), "%s", message ? message : "");
        ehc_http_res_header(req, "retry-after", "2");
        ehc_http_reply_error(req, 503, "unavailable", "the database cannot be reached; try again shortly",
                             NULL);
        free(a->data);
        free(a);
        return;
    }
    principal_entry fresh;
    if (PQgetisnull(res, 0, 0) ||
        parse_principal(PQgetvalue(res, 0, 0), &fresh.who, fresh.csrf, sizeof fresh.csrf)) {
        ehc_http_res_header(req, "www-authenticate", "Bearer");
        ehc_http_reply_error(req, 401, "unauthenticated", "sign in, or send a valid API token", NULL);
        free(a->data);
        free(a);
        return;
    }
    principal_entry *slot = principal_slot(a->app, a->key);
    snprintf(fresh.key, sizeof fresh.key, "%s", a->key);
    fresh.expires_ms = uv_now(a->app->loop) + PRINCIPAL_CACHE_MS;
    *slot = fresh;
    go_on(a, &fresh);
}

void ehc_api_authenticate(ehc_app *app, ehc_http_req *req, ehc_api_authed_cb cb, void *data)
{
    /* --sim-clock: until the stored clock is loaded, "today" would be the start instant (an ehcd
     * restarted on a clock moved since would refuse events as in the future, or date them in the
     * past): no request is judged on it */
    if (app->simclock && !ehc_simclock_loaded(app->simclock)) {
        ehc_http_res_header(req, "retry-after", "1");
        ehc_http_reply_error(req, 503, "unavailable",
                             "the simulated clock is not loaded from the database yet; try again shortly",
                             NULL);
        free(data);
        return;
    }
    char session[96], session_sha[65], token_sha[65];
    const char *params[2] = {NULL, NULL};
    if (cookie_value(req, SESSION_COOKIE, session, sizeof session) == 0) {
        sha256_of(session, session_sha);
        params[0] = session_sha;
    }
    const char *authz = ehc_http_req_header(req, "authorization");
    if (authz && strncmp(authz, "Bearer ", 7) == 0 && strlen(authz + 7) >= 20 && strlen(authz + 7) < 200) {
        sha256_of(authz + 7, token_sha);
        params[1] = token_sha;
    }
    if (!params[0] && !params[1]) {
        ehc_http_res_header(req, "www-authenticate", "Bearer");
        ehc_http_reply_error(req, 401, "unauthenticated", "sign in, or send a valid API token", NULL);
        free(data);
        return;
    }
    auth_ctx *a = ehc_calloc(1, sizeof *a);
    *a = (auth_ctx){.app = app, .req = req, .cb = cb, .data = data};
    snprintf(a->key, sizeof a->key, "s%s|t%s", params[0] ? params[0] : "", params[1] ? params[1] : "");
    const principal_entry *known = principal_slot(app, a->key);
    if (strcmp(known->key, a->key) == 0 && uv_now(app->loop) < known->expires_ms) {
        principal_entry copy = *known; /* the handler may clear the cache */
        go_on(a, &copy);
        return;
    }
    int rc =
        ehc_pg_query(app->pg, "SELECT ehc_principal($1, $2)", 2, params, AUTH_TIMEOUT_MS, on_principal, a);
    if (rc) {
        free(a);
        free(data);
        ehc_http_res_header(req, "retry-after", "2");
        ehc_http_reply_error(req, 503, "unavailable", "the database cannot be reached; try again shortly",
                             NULL);
    }
}

/* ---- POST /api/v1/session ---------------------------------------------------------------------- */

typedef struct sign_in {
    ehc_app *app;
    ehc_http_req *req;
    uv_work_t work;
    char username[65];
    char *password;
    char hash[EHC_PASSWORD_HASH_MAX];
    char user_id[24];
    int known;
    int verified;
    char session[64];
    char csrf[64];
} sign_in;

static void sign_in_free(sign_in *s)
{
    if (s->password) {
        memset(s->password, 0, strlen(s->password));
        free(s->password);
    }
    free(s);
}

static void refuse_sign_in(ehc_http_req *req)
{
    ehc_http_reply_error(req, 401, "invalid_credentials", "the username or password is not right", NULL);
}

static void on_sign_in_recorded(void *data, int status, PGresult *res, const char *message)
{
    sign_in *s = data;
    ehc_http_req *req = s->req;
    if (status != 0) {
        ehc_http_reply_error(req, 503, "unavailable", "the database cannot be reached; try again shortly",
                             NULL);
        sign_in_free(s);
        return;
    }
    if (!s->verified) {
        refuse_sign_in(req);
        sign_in_free(s);
        return;
    }
    char cookie[256];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200%s",
             SESSION_COOKIE, s->session, s->app->cfg.cookie_secure ? "; Secure" : "");
    ehc_http_res_header(req, "set-cookie", cookie);
    cJSON *body = cJSON_CreateObject();
    cJSON *user = cJSON_AddObjectToObject(body, "user");
    cJSON_AddNumberToObject(user, "id", (double)atoll(s->user_id));
    cJSON_AddStringToObject(user, "username", s->username);
    cJSON_AddStringToObject(body, "csrf_token", s->csrf);
    ehc_log(EHC_LOG_INFO, "sign_in", ehc_http_req_id(req), "user %s signed in", s->user_id);
    ehc_api_reply_json(req, 200, body);
    sign_in_free(s);
}

static void verify_password(uv_work_t *w)
{
    sign_in *s = ehc_container_of(w, sign_in, work);
    /* an unknown user is checked against a hash nobody's password matches, so that both cases take
       the same time */
    s->verified =
        ehc_password_verify(s->known ? s->hash : s->app->unknown_user_hash, s->password) == 0 && s->known;
}

static void after_verify(uv_work_t *w, int status)
{
    sign_in *s = ehc_container_of(w, sign_in, work);
    if (!s->known) {
        on_sign_in_recorded(s, 0, NULL, NULL);
        return;
    }
    int rc;
    if (s->verified) {
        char session_sha[65];
        if (ehc_random_token(32, s->session, sizeof s->session) ||
            ehc_random_token(32, s->csrf, sizeof s->csrf)) {
            ehc_http_reply_error(s->req, 500, "internal", "cannot make a session", NULL);
            sign_in_free(s);
            return;
        }
        sha256_of(s->session, session_sha);
        const char *params[3] = {s->user_id, session_sha, s->csrf};
        rc = ehc_pg_query(s->app->pg, "SELECT ehc_sign_in_succeeded($1::bigint, $2, $3)", 3, params,
                          AUTH_TIMEOUT_MS, on_sign_in_recorded, s);
    } else {
        const char *params[1] = {s->user_id};
        rc = ehc_pg_query(s->app->pg, "SELECT ehc_sign_in_failed($1::bigint)", 1, params, AUTH_TIMEOUT_MS,
                          on_sign_in_recorded, s);
    }
    if (rc) on_sign_in_recorded(s, rc, NULL, NULL);
}

static void on_user_found(void *data, int status, PGresult *res, const char *message)
{
    sign_in *s = data;
    if (status != 0) {
        on_sign_in_recorded(s, status, NULL, NULL);
        return;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 1) && *PQgetvalue(res, 0, 3) != 't') {
        if (*PQgetvalue(res, 0, 2) == 't') {
            ehc_http_res_header(s->req, "retry-after", "900");
            ehc_http_reply_error(s->req, 401, "account_locked",
                                 "too many wrong passwords: the account is locked for 15 minutes", NULL);
            sign_in_free(s);
            return;
        }
        s->known = 1;
        snprintf(s->user_id, sizeof s->user_id, "%s", PQgetvalue(res, 0, 0));
        snprintf(s->hash, sizeof s->hash, "%s", PQgetvalue(res, 0, 1));
    }
    uv_queue_work(s->app->loop, &s->work, verify_password, after_verify);
}

static const char *string_field(cJSON *body, const char *name, size_t max, ehc_http_req *req)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    char msg[128];
    if (!cJSON_IsString(v) || !*v->valuestring) {
        snprintf(msg, sizeof msg, "%s is required, as a string", name);
        ehc_http_reply_error(req, 422, "invalid_field", msg, name);
        return NULL;
    }
    if (strlen(v->valuestring) > max) {
        snprintf(msg, sizeof msg, "%s is longer than %zu characters", name, max);
        ehc_http_reply_error(req, 422, "invalid_field", msg, name);
        return NULL;
    }
    return v->valuestring;
}

static void on_sign_in(ehc_http_req *req, void *ctx)
{
    ehc_app *app = ctx;
    cJSON *body = ehc_api_body_object(req);
    if (!body) return;
    const char *username = string_field(body, "username", 64, req);
    const char *password = username ? string_field(body, "password", 1024, req) : NULL;
    if (!username || !password) {
        cJSON_Delete(body);
        return;
    }
    for (cJSON *it = body->child; it; it = it->next) {
        if (strcmp(it->string, "username") != 0 && strcmp(it->string, "password") != 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field '%.60s'", it->string);
            ehc_http_reply_error(req, 422, "unknown_field", msg, it->string);
            cJSON_Delete(body);
            return;
        }
    }
    sign_in *s = ehc_calloc(1, sizeof *s);
    s->app = app;
    s->req = req;
    snprintf(s->username, sizeof s->username, "%s", username);
    s->password = ehc_strdup(password);
    cJSON_Delete(body);
    const char *params[1] = {s->username};
    int rc = ehc_pg_query(
        app->pg,
        "SELECT id, password_hash, coalesce(locked_until > now(), false), disabled_at IS NOT NULL "
        "FROM users WHERE username = $1",
        1, params, AUTH_TIMEOUT_MS, on_user_found, s);
    if (rc) on_sign_in_recorded(s, rc, NULL, NULL);
}

/* ---- GET and DELETE /api/v1/session --------------------------------------------------------------- */

static void reply_principal(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *user = cJSON_AddObjectToObject(body, "user");
    cJSON_AddNumberToObject(user, "id", (double)who->user_id);
    cJSON_AddStringToObject(user, "username", who->username);
    cJSON_AddStringToObject(user, "display_name", who->display_name);
    cJSON_AddBoolToObject(user, "is_admin", who->is_admin);
    cJSON *grants = cJSON_AddArrayToObject(body, "grants");
    for (size_t i = 0; i < who->grant_count; i++) {
        const ehc_grant *g = &who->grants[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", ehc_role_name(g->role));
        cJSON_AddNumberToObject(o, "authority_id", (double)g->authority_id);
        if (g->team_id) cJSON_AddNumberToObject(o, "team_id", (double)g->team_id);
        if (g->organisation_id) cJSON_AddNumberToObject(o, "organisation_id", (double)g->organisation_id);
        cJSON_AddItemToArray(grants, o);
    }
    ehc_api_reply_json(req, 200, body);
}

static void on_get_session(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, reply_principal, NULL);
}

static void on_signed_out(void *data, int status, PGresult *res, const char *message)
{
    ehc_http_req *req = data;
    if (status != 0) {
        ehc_http_reply_error(req, 503, "unavailable", "the database cannot be reached; try again shortly",
                             NULL);
        return;
    }
    ehc_http_res_header(req, "set-cookie", SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ehc_http_reply(req, 204, NULL, "", 0);
}

static void sign_out(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data)
{
    char session[96], session_sha[65];
    if (!who->via_session || cookie_value(req, SESSION_COOKIE, session, sizeof session) != 0) {
        ehc_http_reply_error(req, 422, "not_a_session", "an API token is revoked by an admin, not signed out",
                             NULL);
        return;
    }
    sha256_of(session, session_sha);
    ehc_api_principal_cache_clear(app);
    const char *params[1] = {session_sha};
    int rc = ehc_pg_query(app->pg, "UPDATE user_sessions SET ended_at = now() WHERE id_sha256 = $1", 1,
                          params, AUTH_TIMEOUT_MS, on_signed_out, req);
    if (rc) on_signed_out(req, rc, NULL, NULL);
}

static void on_delete_session(ehc_http_req *req, void *ctx)
{
    ehc_api_authenticate(ctx, req, sign_out, NULL);
}

void ehc_api_session_register(ehc_app *app)
{
    if (ehc_password_hash("no user has this password", app->unknown_user_hash, sizeof app->unknown_user_hash))
        abort();
    if (ehc_http_route(app->http, "POST", "/api/v1/session", on_sign_in, app) ||
        ehc_http_route(app->http, "GET", "/api/v1/session", on_get_session, app) ||
        ehc_http_route(app->http, "DELETE", "/api/v1/session", on_delete_session, app))
        abort();
}
