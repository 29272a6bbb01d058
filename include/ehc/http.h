/* The HTTP server adapter: the only module that sees h2o. Handlers receive an opaque request,
 * may answer at once or later (after a database round trip), and never touch h2o types, so the
 * server library could be swapped without touching a handler.
 *
 * Lifetime: a request stays valid until the handler has replied, even if the client has gone
 * (the reply is then dropped). Every request gets an id, echoed in X-Request-Id and in logs. */
#ifndef EHC_HTTP_H
#define EHC_HTTP_H

#include <uv.h>

#include "ehc/common.h"

typedef struct ehc_http_server ehc_http_server;
typedef struct ehc_http_req ehc_http_req;
typedef void (*ehc_http_handler)(ehc_http_req *req, void *ctx);

typedef struct ehc_http_options {
    const char *host;            /* numeric address */
    int port;                    /* 0 picks a free port (tests) */
    size_t max_body_bytes;       /* larger bodies get 413 (routes registered with ehc_http_route) */
    size_t max_large_body_bytes; /* the largest body any route takes (ehc_http_route_large); 0: none */
    int request_timeout_ms;      /* idle and header time limit per connection */
} ehc_http_options;

EHC_MUST_USE int ehc_http_server_new(uv_loop_t *loop, const ehc_http_options *opts, ehc_http_server **out);

/* Routes match the method and the path: exactly; as a template whose "{name}" segments match any one
 * non-empty segment ("/api/v1/cases/{id}/events"); or, for a path ending in '*', by prefix. */
EHC_MUST_USE int ehc_http_route(ehc_http_server *srv, const char *method, const char *path,
                                ehc_http_handler handler, void *ctx);

/* As ehc_http_route, for a route that takes bodies of up to max_body bytes (uploads). The body is
 * still read whole into memory before the handler runs (h2o 2.2.5 does not stream request bodies):
 * max_body bounds what one request can hold. */
EHC_MUST_USE int ehc_http_route_large(ehc_http_server *srv, const char *method, const char *path,
                                      size_t max_body, ehc_http_handler handler, void *ctx);

/* The routes registered, in order (for the OpenAPI self-check). */
size_t ehc_http_route_count(const ehc_http_server *srv);
void ehc_http_route_at(const ehc_http_server *srv, size_t i, const char **method, const char **path);

/* Request counts by route and status, a latency histogram and requests in flight, as Prometheus
 * text (malloc'd; the caller frees it). */
char *ehc_http_metrics(const ehc_http_server *srv);

/* Binds and listens. */
EHC_MUST_USE int ehc_http_server_start(ehc_http_server *srv);
int ehc_http_server_port(const ehc_http_server *srv);

/* Graceful stop: stop accepting, close idle connections, let requests in flight finish for up to
 * grace_ms, then release everything. done runs once the server is freed; *clean is 1 when every
 * request finished within the grace period. */
void ehc_http_server_shutdown(ehc_http_server *srv, int grace_ms, void (*done)(void *data, int clean),
                              void *data);

const char *ehc_http_req_method(const ehc_http_req *req);
const char *ehc_http_req_path(const ehc_http_req *req);  /* without the query string */
const char *ehc_http_req_query(const ehc_http_req *req); /* after '?', or "" */
const char *ehc_http_req_id(const ehc_http_req *req);
const char *ehc_http_req_body(const ehc_http_req *req, size_t *len);
/* The client's address as text (the TCP peer: behind a reverse proxy, the proxy), into out; 0 when
 * known, else EHC_ENOENT and "". */
int ehc_http_req_peer(const ehc_http_req *req, char *out, size_t size);
/* A request header's value (NUL-terminated copy), or NULL. Names are case-insensitive. */
const char *ehc_http_req_header(ehc_http_req *req, const char *name);

/* Adds a response header; call before replying. */
void ehc_http_res_header(ehc_http_req *req, const char *name, const char *value);
/* Sets a response header, replacing one of that name already added (e.g. the default Cache-Control). */
void ehc_http_res_header_set(ehc_http_req *req, const char *name, const char *value);

/* Sends the whole reply and ends the request. Exactly one reply per request. */
void ehc_http_reply(ehc_http_req *req, int status, const char *content_type, const char *body, size_t len);
/* As ehc_http_reply, taking the malloc'd body without copying it; it is freed once sent (or at once
 * when the client has gone). For large bodies (a document download). */
void ehc_http_reply_owned(ehc_http_req *req, int status, const char *content_type, char *body, size_t len);
/* Streamed replies (Server-Sent Events): start sends the status line and headers (200, the content
 * type, chunked); write queues bytes, sent as soon as the previous write has gone; end sends the
 * last chunk and ends the request. on_gone(data) is called once if the stream ends for any other
 * reason (the client went away, or the server is shutting down: it ends every stream first); after
 * it the request must not be used. */
/* start returns 0 when the stream is live, or EHC_ECLOSED when it ended at once (the client had
 * gone, or the server is stopping): on_gone has then already been called. */
int ehc_http_stream_start(ehc_http_req *req, const char *content_type, void (*on_gone)(void *data),
                          void *data);
void ehc_http_stream_write(ehc_http_req *req, const char *bytes, size_t len);
void ehc_http_stream_end(ehc_http_req *req);

/* {"error": {"code", "message", "field"}}; field may be NULL. */
void ehc_http_reply_error(ehc_http_req *req, int status, const char *code, const char *message,
                          const char *field);

#endif
