/* What the API's resource handlers share: the signed-in principal (a user and their role grants),
 * authentication of a request (session cookie with CSRF, or bearer token), and JSON replies.
 * Handlers call ehc_api_authenticate first; it answers 401/403 itself and calls back only with a
 * principal entitled to go on. */
#ifndef EHC_API_H
#define EHC_API_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "ehc/app.h"
#include "ehc/http.h"
#include "ehc/workflow.h"

#define EHC_API_MAX_GRANTS 32

typedef struct ehc_grant {
    ehc_role role;
    int64_t authority_id;
    int64_t team_id;         /* 0 when the grant is not for a team */
    int64_t organisation_id; /* 0 when the grant is not for a service */
} ehc_grant;

typedef struct ehc_principal {
    int64_t user_id;
    char username[65];
    char display_name[201];
    bool is_admin;
    bool via_session; /* false: an API token */
    int64_t api_token_id;
    ehc_grant grants[EHC_API_MAX_GRANTS];
    size_t grant_count;
} ehc_principal;

typedef void (*ehc_api_authed_cb)(ehc_http_req *req, ehc_app *app, const ehc_principal *who, void *data);

/* Resolves the caller. No credential or an expired one: 401. A cookie session on a state-changing
 * method without the matching X-CSRF-Token header: 403. Database down: 503 with Retry-After. */
void ehc_api_authenticate(ehc_app *app, ehc_http_req *req, ehc_api_authed_cb cb, void *data);

/* Sends a JSON value (and frees it). */
void ehc_api_reply_json(ehc_http_req *req, int status, cJSON *body);

/* Parses the request body as a JSON object, or answers 400 (malformed) / 415 (not JSON) / 422
 * itself and returns NULL. */
cJSON *ehc_api_body_object(ehc_http_req *req);

/* Sign-in routes: POST, GET and DELETE /api/v1/session. */
void ehc_api_session_register(ehc_app *app);

#endif
