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
 * method without the matching X-CSRF-Token header: 403. Database down: 503 with Retry-After.
 * When it refuses, cb is not called and `data` (NULL, or one block from ehc_malloc holding no
 * other allocations) is released with free(). */
void ehc_api_authenticate(ehc_app *app, ehc_http_req *req, ehc_api_authed_cb cb, void *data);

/* Who a credential is, remembered for one second (so that a burst of requests does not ask the
 * database each time); forgotten at once on sign-out and on any administrative change to users,
 * grants or tokens. A change made on another node takes effect here within that second. */
void ehc_api_principal_cache_clear(ehc_app *app);
/* Frees the cache (after the loop has ended). */
void ehc_api_session_close(ehc_app *app);

/* 503 with Retry-After: the database cannot be reached. */
void ehc_api_reply_unavailable(ehc_http_req *req);

/* A query callback (data: the request) that answers 200 with the first column of the first row, a
 * JSON document made by the database, or 503 when the query failed. */
void ehc_api_reply_json_row(void *req, int status, PGresult *res, const char *message);

/* Sends a JSON value (and frees it). */
void ehc_api_reply_json(ehc_http_req *req, int status, cJSON *body);

/* --- request bodies (api/body.c) --- */

/* Parses the request body as one JSON object, or answers itself and returns NULL: 415 (not JSON),
 * 400 (malformed, or text that is not UTF-8), 422 (not an object, a NUL character, a member given
 * twice), naming the member where there is one. */
cJSON *ehc_api_body_object(ehc_http_req *req);

/* 0 when every member of obj is one of known (NULL-terminated); otherwise answers 422 naming the first
 * other member, as prefix + its name ("child.colour"), and returns EHC_EINVAL. */
int ehc_api_only_known(ehc_http_req *req, const cJSON *obj, const char *const *known, const char *prefix);

/* The same checks without a request (the fuzz harness drives them directly): the parsed object, or
 * NULL with *err saying the status, code, message and member (field "" when none) that
 * ehc_api_body_object answers. content_type may be NULL (header absent). */
typedef struct ehc_api_body_error {
    int status;
    const char *code; /* static text */
    char message[256];
    char field[160];
} ehc_api_body_error;
cJSON *ehc_api_body_parse(const char *content_type, const char *body, size_t len, ehc_api_body_error *err);

/* The Idempotency-Key header in *key (NULL when absent): 0, or EHC_EINVAL after answering 422 when
 * it is not 1 to 200 printable ASCII characters. */
int ehc_api_idempotency_key(ehc_http_req *req, const char **key);

/* --- authorisation (api/authz.c) --- */

/* The authorities in which the principal holds any of the roles in `roles` (a mask), as the
 * comma-separated list the database binds a transaction to; "" when none. */
void ehc_api_authorities(const ehc_principal *who, unsigned roles, char *out, size_t size);

/* The roles the principal holds for a case of this authority and team (a mask): officer and manager
 * through a grant for that team, service_manager through one for the authority. DCOs and social
 * care reach advice requests, not whole cases. */
unsigned ehc_api_case_roles(const ehc_principal *who, int64_t authority_id, int64_t team_id);

/* The teams whose cases the principal works on, as a JSON array, or NULL when the principal is a
 * service manager (who sees every case of their authorities). */
cJSON *ehc_api_team_scope(const ehc_principal *who);

/* The role to record an event in: the first of the event's allowed roles the principal holds for
 * the case, preferring officer, then manager, then service_manager; 0 when none. */
ehc_role ehc_api_acting_role(const ehc_wf_event *event, unsigned held);

/* A row id in a path: 1 to 15 decimal digits without a leading zero (one spelling per id), above 0.
 * EHC_EINVAL otherwise. */
EHC_MUST_USE int ehc_api_parse_id(const char *s, size_t len, int64_t *out);

/* Reads a case's header (authority, team, officer, version, workflow: ehc_case_header) for a
 * principal of authority_ids (a text array), answered to cb: no row when the case is not theirs.
 * Returns ehc_pg_query's result. */
EHC_MUST_USE int ehc_api_case_header(ehc_app *app, const char *authority_ids, int64_t case_id,
                                     ehc_pg_query_cb cb, void *data);

/* An event of the case's workflow `workflow_id` (or definitions_updated, the move to the versions
 * loaded now) and the role the principal records it in: 0 with *role set, EHC_ENOENT when the type
 * is not one the case's process knows (*role is then 0 when the principal may not record it).
 * For definitions_updated, *fields_json (a malloc'd copy, or NULL when there were no fields) gains
 * the loaded workflow_hash and calendar_hash when the caller did not name them. */
EHC_MUST_USE int ehc_api_event_role(const ehc_app *app, const char *workflow_id, const char *type,
                                    unsigned held, ehc_role *role, char **fields_json);

/* Replies for a store outcome that is not success: 409 with the current version, 404, 422/403 with
 * the machine's reason, 503 with Retry-After. */
struct ehc_store_result;
void ehc_api_reply_store_error(ehc_http_req *req, const struct ehc_store_result *r);

/* The next name=value pair of a query string (advancing *q): 1 when read, 0 at the end, EHC_EINVAL
 * for a malformed or oversized pair (then *q has moved past it). */
int ehc_api_query_next(const char **q, char *name, size_t name_size, char *value, size_t value_size);
/* 400 invalid_query for what ehc_api_query_next gave: a malformed pair (more < 0), a parameter the
 * route does not take (!known), or a value it cannot take; naming the parameter. */
void ehc_api_reply_bad_query(ehc_http_req *req, int more, const char *name, bool known);

/* --- one request, many cases (api/batch.c): allocation, bulk events --- */

typedef struct ehc_api_batch ehc_api_batch;

typedef struct ehc_api_batch_item {
    ehc_api_batch *batch;
    int64_t case_id;
    int status; /* HTTP-like outcome of this case */
    int32_t version;
    char code[40];
    char message[200];
    char field[64];
} ehc_api_batch_item;

struct ehc_api_batch {
    ehc_http_req *req;
    const char *count_name;         /* the answer's member counting the cases written */
    void (*done)(ehc_api_batch *b); /* after the answer: frees whatever holds the batch */
    ehc_api_batch_item *items;
    size_t count, pending, written;
};

#define EHC_API_BATCH_MAX 200

/* A JSON member that is a row id (a positive whole number), or 0. */
int64_t ehc_api_json_id(const cJSON *v);
/* Room for `capacity` cases; set b->done before the batch starts. */
void ehc_api_batch_init(ehc_api_batch *b, ehc_http_req *req, const char *count_name, size_t capacity);
/* The batch of a request's "case_ids" (1 to EHC_API_BATCH_MAX distinct ids): NULL, or why not (for
 * a 422 naming case_ids; b->items may then be allocated, and is freed by the caller). */
const char *ehc_api_batch_cases(ehc_api_batch *b, ehc_http_req *req, const char *count_name,
                                const cJSON *ids);
/* Reads every case's header (ehc_case_header, bound to authority_ids), each answer to on_header with
 * its item as data; each item must end in exactly one of the three calls below. */
void ehc_api_batch_start(ehc_api_batch *b, ehc_app *app, const char *authority_ids,
                         ehc_pg_query_cb on_header);
void ehc_api_batch_ok(ehc_api_batch_item *it, int status, int32_t version);
void ehc_api_batch_fail(ehc_api_batch_item *it, int status, const char *code, const char *message,
                        const char *field);
/* A store callback (data: the item): the write's outcome, as the case's own request would answer. */
struct ehc_store_result;
void ehc_api_batch_recorded(void *data, const struct ehc_store_result *r);

/* One CSV cell (api/csv.c): a number as it is, text quoted only when it must be (a comma, quote
 * or line break) or would start a spreadsheet formula; nothing for a missing value. */
void ehc_api_csv_cell(char **buf, size_t *len, size_t *cap, const cJSON *v);
/* Lists as CSV (api/csv.c): any list GET answers ?format=csv with the rows of its JSON. The value of
 * a format parameter a list route takes: true for json or csv. */
bool ehc_api_list_format_ok(const char *value);
/* Whether the request's query asks for format=csv. */
bool ehc_api_wants_csv(const ehc_http_req *req);
/* Answers 200 with a list the database gave as JSON text (an array, or an object whose first array
 * member is the list): as it is, or as CSV when the query asks for it (one column per member of the
 * rows, in the order they first appear, a nested object's members as parent.member, an array as its
 * JSON; a header line, then one line per row; named after the route's last word). */
void ehc_api_reply_list(ehc_http_req *req, const char *json);
/* ehc_api_reply_json_row for a list: a pg callback (data: the request) answering with
 * ehc_api_reply_list. */
void ehc_api_reply_list_row(void *req, int status, PGresult *res, const char *message);

/* The SEN2 return as XML (api/sen2_xml.c). ehc_sen2_xml_escape appends n bytes of s as XML 1.0
 * character data (& < > as entities, the characters XML cannot hold left out).
 * ehc_sen2_xml_write writes the document from the rows of ehc_sen2_xml_rows (sql/0045), calling
 * flush with each piece in order (about 64 KiB each); EHC_EINVAL, and nothing written, when the rows
 * are not that function's or not in its order (ehc_sen2_xml_rows_ok tells beforehand). */
bool ehc_sen2_xml_rows_ok(const PGresult *res);
void ehc_sen2_xml_escape(char **buf, size_t *len, size_t *cap, const char *s, size_t n);
int ehc_sen2_xml_write(const PGresult *res, void (*flush)(void *data, const char *bytes, size_t len),
                       void *data);

/* --- documents (api/documents.c) --- */

/* The media type a file's first bytes say it is, of those a case may hold (PDF, DOCX, ODT, PNG, JPEG,
 * UTF-8 plain text), or NULL. */
const char *ehc_document_sniff(const char *buf, size_t len);
/* A client's file name made safe to store and to send back in Content-Disposition: its last path
 * segment, control characters and \"/:*?<>|; as '_', no leading dots or spaces; 0, or EHC_EINVAL when
 * nothing is left or it is over 200 bytes (or over size). */
int ehc_document_file_name(const char *in, char *out, size_t size);

/* Route registration, one per resource file. */
void ehc_api_session_register(ehc_app *app);
void ehc_api_cases_register(ehc_app *app);
void ehc_api_alerts_register(ehc_app *app);
void ehc_api_openapi_register(ehc_app *app);
void ehc_api_metrics_register(ehc_app *app);
void ehc_api_deliveries_register(ehc_app *app);
void ehc_api_children_register(ehc_app *app);
void ehc_api_advice_register(ehc_app *app);
void ehc_api_documents_register(ehc_app *app);
void ehc_api_allocation_register(ehc_app *app);
void ehc_api_reports_register(ehc_app *app);
void ehc_api_sen2_register(ehc_app *app);
void ehc_api_reviews_register(ehc_app *app);
void ehc_api_admin_register(ehc_app *app);
void ehc_api_workflows_register(ehc_app *app);
void ehc_api_web_register(ehc_app *app);
/* Letters (api/letters.c): loads the templates from cfg.notices_dir (an invalid one stops ehcd:
 * exit_code set) and registers the routes; close frees the templates after the loop ends. */
void ehc_api_letters_register(ehc_app *app);
void ehc_api_letters_close(ehc_app *app);

/* --- the browser interface's static files (api/web.c) --- */

/* True for a route registered by ehc_api_web_register (GET, a path outside /api/): the OpenAPI
 * self-check skips these and only these. `path` as ehc_http_route_at gives it. */
bool ehc_api_web_route(const char *method, const char *path);
/* Whether a path below web_root ("assets/x.css") may be served: segments of [A-Za-z0-9._-], none
 * empty or starting with '.'. */
int ehc_web_path_ok(const char *rel);
/* The Content-Security-Policy of every page and file of the interface. */
extern const char *const ehc_web_csp;

/* 0 when api/doc/openapi.json lists exactly the registered routes; otherwise err says which differs. */
int ehc_api_openapi_check(const ehc_http_server *http, char *err, size_t size);

#endif
