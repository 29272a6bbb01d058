/* The h2o adapter (libh2o 2.2.5 built on libuv, running on our own loop): listening socket,
 * routing by method and path, request ids, deferred replies that survive a vanished client,
 * JSON errors, per-request log lines, and graceful shutdown. No other file includes h2o.h.
 * Serve plain HTTP on loopback or an internal network behind the authority's TLS proxy:
 * cleartext HTTP/2 upgrade is off. */
#include "ehc/http.h"

#include <assert.h>
#include <cJSON.h>
#include <stdarg.h>
#include <h2o.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "ehc/log.h"

/* Latency buckets of the request histogram, in milliseconds (Prometheus "le" bounds). */
static const double latency_bounds_ms[] = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};
#define LATENCY_BUCKETS (sizeof latency_bounds_ms / sizeof latency_bounds_ms[0])
/* Status codes counted per route; anything else counts as "other". */
static const int counted_statuses[] = {200, 201, 204, 304, 400, 401, 403, 404,
                                       405, 409, 413, 415, 422, 429, 500, 503};
#define STATUS_SLOTS (sizeof counted_statuses / sizeof counted_statuses[0] + 1)

typedef struct route_entry {
    uint64_t by_status[STATUS_SLOTS];
    char *method;
    char *path;
    size_t path_len;
    int prefix;
    size_t max_body; /* larger bodies get 413 before the handler runs */
    ehc_http_handler handler;
    void *ctx;
} route_entry;

struct ehc_http_server {
    uv_loop_t *loop;
    char host[64];
    int port;
    ehc_http_options opts;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    int listener_open;
    int context_ready;
    route_entry *routes;
    size_t nroutes;
    size_t inflight;
    size_t open_sockets;
    struct http_stream *streams;
    uint64_t unrouted_by_status[STATUS_SLOTS];
    uint64_t latency_buckets[LATENCY_BUCKETS + 1];
    double latency_sum_ms;
    uint64_t latency_count;
    struct client_conn *conns;
    uint64_t request_seq;
    char id_prefix[9];
    /* shutdown */
    int shutting_down;
    uv_timer_t shutdown_timer;
    uint64_t shutdown_deadline_ms;
    void (*shutdown_done)(void *data, int clean);
    void *shutdown_data;
    int shutdown_clean;
};

typedef struct dispatch_handler {
    h2o_handler_t super;
    ehc_http_server *srv;
} dispatch_handler;

typedef struct http_stream {
    h2o_generator_t super; /* first: h2o hands it back to us */
    ehc_http_req *req;
    char *sending; /* bytes handed to h2o_send, kept until it asks for more */
    char *pending; /* bytes written since */
    size_t pending_len, pending_cap;
    int busy;   /* an h2o_send is in flight */
    int ending; /* end requested: send the last chunk when idle */
    int final_sent;
    void (*on_gone)(void *data);
    void *data;
    struct http_stream *prev, *next; /* the server's open streams */
} http_stream;

struct ehc_http_req {
    ehc_http_server *srv;
    http_stream *stream;
    const route_entry *route; /* NULL when no route matched */
    h2o_req_t *h2o;           /* NULL once h2o has released the request (client gone or reply done) */
    int replied;
    int status;
    uint64_t started_ms;
    char id[32];
    char *method;
    char *path;
    char *query;
};

typedef struct req_guard {
    ehc_http_req *req;
} req_guard;

static void stream_unlink(ehc_http_server *srv, http_stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else if (srv->streams == st)
        srv->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    st->prev = st->next = NULL;
}

static void req_free(ehc_http_req *req)
{
    if (req->stream) {
        stream_unlink(req->srv, req->stream);
        free(req->stream->sending);
        free(req->stream->pending);
        free(req->stream);
    }
    free(req->method);
    free(req->path);
    free(req->query);
    free(req);
}

/* h2o is releasing the request's memory pool: from now on the request is ours alone. */
static void stream_gone(http_stream *st);

static void on_guard_dispose(void *p)
{
    req_guard *g = p;
    ehc_http_req *req = g->req;
    req->h2o = NULL;
    if (req->stream && req->stream->on_gone) stream_gone(req->stream);
    if (req->replied) req_free(req);
}

static void make_request_id(ehc_http_server *srv, h2o_req_t *h2o, char out[32])
{
    ssize_t idx = h2o_find_header_by_str(&h2o->headers, H2O_STRLIT("x-request-id"), -1);
    if (idx >= 0) {
        h2o_iovec_t v = h2o->headers.entries[idx].value;
        int ok = v.len > 0 && v.len < 32;
        for (size_t i = 0; ok && i < v.len; i++) {
            char c = v.base[i];
            ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
                 c == '_';
        }
        if (ok) {
            memcpy(out, v.base, v.len);
            out[v.len] = '\0';
            return;
        }
    }
    snprintf(out, 32, "%s-%06llx", srv->id_prefix, (unsigned long long)++srv->request_seq);
}

/* A route's path matches exactly, by prefix (ending in '*'), or as a template whose "{name}"
 * segments match any one non-empty segment: /api/v1/cases/{id}/events. */
static int route_matches(const route_entry *r, const char *path)
{
    size_t plen = strlen(path);
    if (r->prefix) return plen >= r->path_len && memcmp(path, r->path, r->path_len) == 0;
    const char *t = r->path, *p = path;
    while (*t && *p) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            if (!close || *p == '/') return 0;
            while (*p && *p != '/')
                p++;
            t = close + 1;
        } else if (*t++ != *p++) {
            return 0;
        }
    }
    return *t == '\0' && *p == '\0';
}

static const route_entry *find_route(ehc_http_server *srv, const char *method, const char *path,
                                     int *path_known)
{
    *path_known = 0;
    for (size_t i = 0; i < srv->nroutes; i++) {
        route_entry *r = &srv->routes[i];
        int match = route_matches(r, path);
        if (!match) continue;
        *path_known = 1;
        if (strcmp(r->method, method) == 0) return r;
    }
    return NULL;
}

static void add_allow_header(ehc_http_req *req, const char *path)
{
    char allow[128] = "";
    for (size_t i = 0; i < req->srv->nroutes; i++) {
        route_entry *r = &req->srv->routes[i];
        if (!route_matches(r, path) || strstr(allow, r->method)) continue;
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", r->method);
    }
    ehc_http_res_header(req, "allow", allow);
}

static int on_dispatch(h2o_handler_t *self, h2o_req_t *h2o)
{
    ehc_http_server *srv = ((dispatch_handler *)self)->srv;
    ehc_http_req *req = ehc_calloc(1, sizeof *req);
    req->srv = srv;
    req->h2o = h2o;
    req->started_ms = uv_now(srv->loop);
    make_request_id(srv, h2o, req->id);
    req->method = ehc_strndup(h2o->method.base, h2o->method.len);
    size_t path_len = h2o->query_at == SIZE_MAX ? h2o->path.len : h2o->query_at;
    req->path = ehc_strndup(h2o->path.base, path_len);
    req->query = h2o->query_at == SIZE_MAX
                     ? ehc_strdup("")
                     : ehc_strndup(h2o->path.base + h2o->query_at + 1, h2o->path.len - h2o->query_at - 1);
    req_guard *g = h2o_mem_alloc_shared(&h2o->pool, sizeof *g, on_guard_dispose);
    g->req = req;
    srv->inflight++;
    ehc_http_res_header(req, "x-request-id", req->id);
    ehc_http_res_header(req, "cache-control", "no-store");
    ehc_http_res_header(req, "x-content-type-options", "nosniff");

    int path_known;
    const route_entry *r = find_route(srv, req->method, req->path, &path_known);
    if (r && h2o->entity.base && h2o->entity.len > r->max_body) {
        /* h2o's own limit is the largest any route takes (an upload's); this route takes less */
        req->route = r;
        ehc_http_reply_error(req, 413, "payload_too_large",
                             "the request body is larger than this route accepts", "body");
    } else if (r) {
        req->route = r;
        r->handler(req, r->ctx);
    } else if (path_known) {
        add_allow_header(req, req->path);
        ehc_http_reply_error(req, 405, "method_not_allowed", "this path does not accept that method", NULL);
    } else {
        ehc_http_reply_error(req, 404, "not_found", "no such resource", NULL);
    }
    return 0;
}

/* A client connection's TCP handle. h2o takes over handle->data, so the server is reached through
 * this wrapper instead. */
typedef struct client_conn {
    uv_tcp_t tcp;
    ehc_http_server *srv;
    struct client_conn *prev, *next; /* the server's list of open connections */
    int read_shut;
} client_conn;

static void on_socket_closed(uv_handle_t *handle)
{
    client_conn *c = ehc_container_of((uv_tcp_t *)handle, client_conn, tcp);
    ehc_http_server *srv = c->srv;
    srv->open_sockets--;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c);
}

/* h2o 2.2.5 does not close idle HTTP/1 connections on request_shutdown. Once no request is in
 * flight, shutting down the read side makes h2o see end-of-stream and close each connection
 * itself (idle keep-alive ones and ones that sent half a request alike), without our touching
 * h2o's connection objects. */
static void shut_idle_connections(ehc_http_server *srv)
{
    for (client_conn *c = srv->conns; c; c = c->next) {
        uv_os_fd_t fd;
        if (c->read_shut || uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0) continue;
        shutdown(fd, SHUT_RD);
        c->read_shut = 1;
    }
}

static void on_accept(uv_stream_t *listener, int status)
{
    ehc_http_server *srv = ehc_container_of(listener, ehc_http_server, listener);
    if (status != 0 || srv->shutting_down) return;
    client_conn *c = ehc_malloc(sizeof *c);
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    srv->open_sockets++;
    c->prev = NULL;
    c->next = srv->conns;
    c->read_shut = 0;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_socket_closed);
    h2o_accept(&srv->accept_ctx, sock);
}

int ehc_http_server_new(uv_loop_t *loop, const ehc_http_options *opts, ehc_http_server **out)
{
    ehc_http_server *srv = ehc_calloc(1, sizeof *srv);
    srv->loop = loop;
    srv->opts = *opts;
    snprintf(srv->host, sizeof srv->host, "%s", opts->host);
    srv->opts.host = srv->host;
    srv->port = opts->port;
    unsigned char rnd[4];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) memset(rnd, 0, sizeof rnd);
    snprintf(srv->id_prefix, sizeof srv->id_prefix, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);

    h2o_config_init(&srv->config);
    srv->config.server_name = h2o_iovec_init(H2O_STRLIT("ehcd"));
    /* h2o 2.2.5 reads a request's whole body into memory before any handler runs, and refuses a
     * body whose declared length is over this limit before reading it. The limit is therefore the
     * largest body any route accepts (a document upload's, with a little room for its 413 to come
     * from us, naming the field); each route then refuses what is over its own limit. */
    srv->config.max_request_entity_size =
        opts->max_large_body_bytes > opts->max_body_bytes ? opts->max_large_body_bytes : opts->max_body_bytes;
    srv->config.http1.req_timeout = (uint64_t)opts->request_timeout_ms;
    srv->config.http1.upgrade_to_http2 = 0;
    srv->config.http2.idle_timeout = (uint64_t)opts->request_timeout_ms;
    h2o_hostconf_t *host =
        h2o_config_register_host(&srv->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    dispatch_handler *h = (dispatch_handler *)h2o_create_handler(pathconf, sizeof *h);
    h->super.on_req = on_dispatch;
    h->srv = srv;
    *out = srv;
    return 0;
}

int ehc_http_route(ehc_http_server *srv, const char *method, const char *path, ehc_http_handler handler,
                   void *ctx)
{
    return ehc_http_route_large(srv, method, path, srv->opts.max_body_bytes, handler, ctx);
}

int ehc_http_route_large(ehc_http_server *srv, const char *method, const char *path, size_t max_body,
                         ehc_http_handler handler, void *ctx)
{
    size_t len = strlen(path);
    if (len == 0 || path[0] != '/') return EHC_EINVAL;
    srv->routes = ehc_realloc(srv->routes, (srv->nroutes + 1) * sizeof *srv->routes);
    route_entry *r = &srv->routes[srv->nroutes++];
    memset(r, 0, sizeof *r);
    r->method = ehc_strdup(method);
    r->prefix = path[len - 1] == '*';
    r->path = ehc_strndup(path, r->prefix ? len - 1 : len);
    r->path_len = strlen(r->path);
    r->max_body = max_body;
    r->handler = handler;
    r->ctx = ctx;
    return 0;
}

int ehc_http_server_start(ehc_http_server *srv)
{
    h2o_context_init(&srv->ctx, srv->loop, &srv->config);
    srv->context_ready = 1;
    srv->accept_ctx.ctx = &srv->ctx;
    srv->accept_ctx.hosts = srv->config.hosts;

    struct sockaddr_storage addr;
    int rc = strchr(srv->host, ':') ? uv_ip6_addr(srv->host, srv->port, (struct sockaddr_in6 *)&addr)
                                    : uv_ip4_addr(srv->host, srv->port, (struct sockaddr_in *)&addr);
    if (rc) return EHC_EINVAL;
    uv_tcp_init(srv->loop, &srv->listener);
    srv->listener_open = 1;
    rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_accept);
    if (rc) {
        ehc_log(EHC_LOG_ERROR, "http_listen_failed", NULL, "cannot listen on %s:%d: %s", srv->host, srv->port,
                uv_strerror(rc));
        return EHC_EIO;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &blen) == 0)
        srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                      : ((struct sockaddr_in *)&bound)->sin_port);
    ehc_log(EHC_LOG_INFO, "http_listen", NULL, "listening on %s:%d", srv->host, srv->port);
    return 0;
}

char *ehc_http_metrics(const ehc_http_server *srv)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ehc_text_printf(&buf, &len, &cap,
                    "# HELP ehcd_http_requests_total HTTP requests answered, by route and status.\n"
                    "# TYPE ehcd_http_requests_total counter\n");
    for (size_t i = 0; i <= srv->nroutes; i++) {
        const uint64_t *counts = i < srv->nroutes ? srv->routes[i].by_status : srv->unrouted_by_status;
        const char *method = i < srv->nroutes ? srv->routes[i].method : "";
        const char *path = i < srv->nroutes ? srv->routes[i].path : "unrouted";
        for (size_t s = 0; s < STATUS_SLOTS; s++) {
            if (!counts[s]) continue;
            char status[8];
            if (s + 1 < STATUS_SLOTS)
                snprintf(status, sizeof status, "%d", counted_statuses[s]);
            else
                snprintf(status, sizeof status, "other");
            ehc_text_printf(&buf, &len, &cap,
                            "ehcd_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
                            method, path, status, (unsigned long long)counts[s]);
        }
    }
    ehc_text_printf(&buf, &len, &cap,
                    "# HELP ehcd_http_request_duration_ms Time from request to reply.\n"
                    "# TYPE ehcd_http_request_duration_ms histogram\n");
    uint64_t cumulative = 0;
    for (size_t b = 0; b < LATENCY_BUCKETS; b++) {
        cumulative += srv->latency_buckets[b];
        ehc_text_printf(&buf, &len, &cap, "ehcd_http_request_duration_ms_bucket{le=\"%g\"} %llu\n",
                        latency_bounds_ms[b], (unsigned long long)cumulative);
    }
    cumulative += srv->latency_buckets[LATENCY_BUCKETS];
    ehc_text_printf(&buf, &len, &cap,
                    "ehcd_http_request_duration_ms_bucket{le=\"+Inf\"} %llu\n"
                    "ehcd_http_request_duration_ms_sum %.0f\nehcd_http_request_duration_ms_count %llu\n"
                    "# HELP ehcd_http_requests_in_flight Requests being worked on.\n"
                    "# TYPE ehcd_http_requests_in_flight gauge\nehcd_http_requests_in_flight %zu\n",
                    (unsigned long long)cumulative, srv->latency_sum_ms,
                    (unsigned long long)srv->latency_count, srv->inflight);
    return buf;
}

size_t ehc_http_route_count(const ehc_http_server *srv)
{
    return srv->nroutes;
}

void ehc_http_route_at(const ehc_http_server *srv, size_t i, const char **method, const char **path)
{
    *method = srv->routes[i].method;
    *path = srv->routes[i].path;
}

int ehc_http_server_port(const ehc_http_server *srv)
{
    return srv->port;
}

static void server_free(ehc_http_server *srv)
{
    for (size_t i = 0; i < srv->nroutes; i++) {
        free(srv->routes[i].method);
        free(srv->routes[i].path);
    }
    free(srv->routes);
    void (*done)(void *, int) = srv->shutdown_done;
    void *data = srv->shutdown_data;
    int clean = srv->shutdown_clean;
    free(srv);
    if (done) done(data, clean);
}

static void on_final_timer_closed(uv_handle_t *h)
{
    server_free(h->data);
}

/* Runs one loop iteration after h2o_context_dispose, so the close callbacks of h2o's own handles
 * (which live inside srv->ctx) have run before srv is freed. */
static void on_final_tick(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, on_final_timer_closed);
}

static void finish_shutdown(ehc_http_server *srv)
{
    uv_timer_stop(&srv->shutdown_timer);
    if (!srv->shutdown_clean) {
        /* Requests still hold h2o memory: disposing the context under them would be unsafe. The
         * caller ends the process; the OS reclaims the rest. */
        ehc_log(EHC_LOG_WARN, "http_shutdown_forced", NULL, "%zu requests and %zu connections still open",
                srv->inflight, srv->open_sockets);
        uv_close((uv_handle_t *)&srv->shutdown_timer, NULL);
        if (srv->shutdown_done) srv->shutdown_done(srv->shutdown_data, 0);
        return;
    }
    if (srv->context_ready) {
        /* h2o 2.2.5's request_shutdown arms an HTTP/2 graceful-shutdown timer even with no HTTP/2
         * connection (we serve none); disarm it, or disposing the context trips h2o's assertion. */
        if (h2o_timeout_is_linked(&srv->ctx.http2._graceful_shutdown_timeout))
            h2o_timeout_unlink(&srv->ctx.http2._graceful_shutdown_timeout);
        h2o_context_dispose(&srv->ctx);
    }
    h2o_config_dispose(&srv->config);
    srv->shutdown_timer.data = srv;
    uv_timer_start(&srv->shutdown_timer, on_final_tick, 0, 0);
}

static void on_shutdown_tick(uv_timer_t *t)
{
    ehc_http_server *srv = ehc_container_of(t, ehc_http_server, shutdown_timer);
    if (srv->inflight == 0) shut_idle_connections(srv);
    int drained = srv->inflight == 0 && srv->open_sockets == 0;
    if (drained || uv_now(srv->loop) >= srv->shutdown_deadline_ms) {
        srv->shutdown_clean = drained;
        finish_shutdown(srv);
    }
}

void ehc_http_server_shutdown(ehc_http_server *srv, int grace_ms, void (*done)(void *data, int clean),
                              void *data)
{
    if (srv->shutting_down) return;
    srv->shutting_down = 1;
    srv->shutdown_done = done;
    srv->shutdown_data = data;
    if (srv->listener_open) {
        uv_close((uv_handle_t *)&srv->listener, NULL);
        srv->listener_open = 0;
    }
    if (srv->context_ready) h2o_context_request_shutdown(&srv->ctx);
    while (srv->streams) {
        http_stream *st = srv->streams;
        void (*cb)(void *) = st->on_gone;
        void *owner = st->data;
        ehc_http_req *req = st->req;
        st->on_gone = NULL;
        ehc_http_stream_end(req); /* unlinks it */
        if (cb) cb(owner);
    }
    srv->shutdown_deadline_ms = uv_now(srv->loop) + (uint64_t)grace_ms;
    uv_timer_init(srv->loop, &srv->shutdown_timer);
    uv_timer_start(&srv->shutdown_timer, on_shutdown_tick, 0, 20);
}

const char *ehc_http_req_method(const ehc_http_req *req)
{
    return req->method;
}

const char *ehc_http_req_path(const ehc_http_req *req)
{
    return req->path;
}

const char *ehc_http_req_query(const ehc_http_req *req)
{
    return req->query;
}

const char *ehc_http_req_id(const ehc_http_req *req)
{
    return req->id;
}

int ehc_http_req_peer(const ehc_http_req *req, char *out, size_t size)
{
    out[0] = '\0';
    if (!req->h2o || !req->h2o->conn || !req->h2o->conn->callbacks->get_peername) return EHC_ENOENT;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (req->h2o->conn->callbacks->get_peername(req->h2o->conn, (struct sockaddr *)&ss) == 0)
        return EHC_ENOENT;
    const void *addr = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                                : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) || !inet_ntop(ss.ss_family, addr, out, size)) {
        out[0] = '\0';
        return EHC_ENOENT;
    }
    return 0;
}

const char *ehc_http_req_body(const ehc_http_req *req, size_t *len)
{
    if (!req->h2o || !req->h2o->entity.base) {
        *len = 0;
        return "";
    }
    *len = req->h2o->entity.len;
    return req->h2o->entity.base;
}

const char *ehc_http_req_header(ehc_http_req *req, const char *name)
{
    if (!req->h2o) return NULL;
    h2o_headers_t *hs = &req->h2o->headers;
    size_t nlen = strlen(name);
    for (size_t i = 0; i < hs->size; i++) {
        h2o_iovec_t *n = hs->entries[i].name;
        if (n->len == nlen && strncasecmp(n->base, name, nlen) == 0) {
            h2o_iovec_t v = hs->entries[i].value;
            char *copy = h2o_mem_alloc_pool(&req->h2o->pool, v.len + 1);
            memcpy(copy, v.base, v.len);
            copy[v.len] = '\0';
            return copy;
        }
    }
    return NULL;
}

void ehc_http_res_header(ehc_http_req *req, const char *name, const char *value)
{
    if (!req->h2o || req->replied) return;
    h2o_mem_pool_t *pool = &req->h2o->pool;
    h2o_iovec_t n = h2o_strdup(pool, name, SIZE_MAX);
    h2o_iovec_t v = h2o_strdup(pool, value, SIZE_MAX);
    h2o_add_header_by_str(pool, &req->h2o->res.headers, n.base, n.len, 0, NULL, v.base, v.len);
}

void ehc_http_res_header_set(ehc_http_req *req, const char *name, const char *value)
{
    if (!req->h2o || req->replied) return;
    h2o_mem_pool_t *pool = &req->h2o->pool;
    h2o_iovec_t n = h2o_strdup(pool, name, SIZE_MAX);
    h2o_iovec_t v = h2o_strdup(pool, value, SIZE_MAX);
    h2o_set_header_by_str(pool, &req->h2o->res.headers, n.base, n.len, 0, v.base, v.len, 1);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

static void reply(ehc_http_req *req, int status, const char *content_type, const char *body, size_t len,
                  int copy);

void ehc_http_reply(ehc_http_req *req, int status, const char *content_type, const char *body, size_t len)
{
    reply(req, status, content_type, body, len, 1);
}

static void reply(ehc_http_req *req, int status, const char *content_type, const char *body, size_t len,
                  int copy)
{
    assert(!req->replied);
    if (req->replied) return;
    req->replied = 1;
    req->status = status;
    ehc_http_server *srv = req->srv;
    srv->inflight--;
    uint64_t ms = uv_now(srv->loop) - req->started_ms;
    size_t slot = STATUS_SLOTS - 1;
    for (size_t i = 0; i + 1 < STATUS_SLOTS; i++)
        if (counted_statuses[i] == status) slot = i;
    if (req->route)
        ((route_entry *)req->route)->by_status[slot]++;
    else
        srv->unrouted_by_status[slot]++;
    size_t b = 0;
    while (b < LATENCY_BUCKETS && (double)ms > latency_bounds_ms[b])
        b++;
    srv->latency_buckets[b]++;
    srv->latency_sum_ms += (double)ms;
    srv->latency_count++;
    ehc_log(status >= 500 ? EHC_LOG_WARN : EHC_LOG_INFO, "http_request", req->id, "%s %s %d %llums",
            req->method, req->path, status, (unsigned long long)ms);
    if (!req->h2o) {
        /* the client went away while we worked: nothing to send to */
        req_free(req);
        return;
    }
    h2o_req_t *h2o = req->h2o;
    h2o->res.status = status;
    h2o->res.reason = reason_phrase(status);
    h2o->res.content_length = len;
    if (content_type) {
        h2o_iovec_t ct = h2o_strdup(&h2o->pool, content_type, SIZE_MAX);
        h2o_add_header(&h2o->pool, &h2o->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ct.base, ct.len);
    }
    if (copy) {
        h2o_send_inline(h2o, body, len);
    } else {
        static h2o_generator_t generator = {NULL, NULL};
        h2o_iovec_t buf = h2o_iovec_init(body, len);
        h2o_start_response(h2o, &generator);
        h2o_send(h2o, &buf, 1, H2O_SEND_STATE_FINAL);
    }
}

static void free_owned(void *p)
{
    free(*(void **)p);
}

void ehc_http_reply_owned(ehc_http_req *req, int status, const char *content_type, char *body, size_t len)
{
    if (!req->h2o) {
        ehc_http_reply(req, status, content_type, "", 0); /* counts it; nothing to send to */
        free(body);
        return;
    }
    /* h2o frees its request's memory pool once the reply has gone (or the client has): the body
     * goes with it, without a copy into the pool */
    void **holder = h2o_mem_alloc_shared(&req->h2o->pool, sizeof *holder, free_owned);
    *holder = body;
    reply(req, status, content_type, body, len, 0);
}

/* The stream is over for a reason other than ehc_http_stream_end: tell the owner once, and count
 * the request as finished. */
static void stream_gone(http_stream *st)
{
    ehc_http_req *req = st->req;
    void (*cb)(void *) = st->on_gone;
    st->on_gone = NULL;
    if (!req->replied) {
        req->replied = 1;
        req->srv->inflight--;
    }
    stream_unlink(req->srv, st);
    if (cb) cb(st->data);
}

static void stream_flush(http_stream *st)
{
    ehc_http_req *req = st->req;
    if (st->busy || st->final_sent || !req->h2o) return;
    if (st->pending_len == 0 && !st->ending) return;
    free(st->sending);
    st->sending = st->pending;
    size_t len = st->pending_len;
    st->pending = NULL;
    st->pending_len = st->pending_cap = 0;
    h2o_iovec_t buf = h2o_iovec_init(st->sending ? st->sending : "", len);
    st->busy = 1;
    st->final_sent = st->ending;
    h2o_send(req->h2o, &buf, 1, st->ending ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void on_stream_proceed(h2o_generator_t *g, h2o_req_t *h2o)
{
    http_stream *st = (http_stream *)g;
    st->busy = 0;
    stream_flush(st); /* more bytes, or the final chunk if the end was asked for meanwhile */
}

static void on_stream_stop(h2o_generator_t *g, h2o_req_t *h2o)
{
    stream_gone((http_stream *)g);
}

int ehc_http_stream_start(ehc_http_req *req, const char *content_type, void (*on_gone)(void *data),
                          void *data)
{
    assert(!req->replied && !req->stream);
    http_stream *st = ehc_calloc(1, sizeof *st);
    st->req = req;
    st->on_gone = on_gone;
    st->data = data;
    st->super.proceed = on_stream_proceed;
    st->super.stop = on_stream_stop;
    req->stream = st;
    ehc_http_server *srv = req->srv;
    st->next = srv->streams;
    if (srv->streams) srv->streams->prev = st;
    srv->streams = st;
    if (!req->h2o) {
        /* the client left before the stream began: h2o has already released its side */
        stream_gone(st);
        req_free(req);
        return EHC_ECLOSED;
    }
    h2o_req_t *h2o = req->h2o;
    h2o->res.status = 200;
    h2o->res.reason = "OK";
    h2o_iovec_t ct = h2o_strdup(&h2o->pool, content_type, SIZE_MAX);
    h2o_add_header(&h2o->pool, &h2o->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ct.base, ct.len);
    ehc_log(EHC_LOG_INFO, "http_stream", req->id, "%s %s streaming", req->method, req->path);
    h2o_start_response(h2o, &st->super);
    /* the headers go with the first h2o_send: an empty chunk now */
    h2o_iovec_t none = h2o_iovec_init("", 0);
    st->busy = 1;
    h2o_send(h2o, &none, 1, H2O_SEND_STATE_IN_PROGRESS);
    if (srv->shutting_down) {
        /* a request accepted just before the stop: end it at once, as the others were */
        st->on_gone = NULL;
        ehc_http_stream_end(req);
        if (on_gone) on_gone(data);
        return EHC_ECLOSED;
    }
    return 0;
}

void ehc_http_stream_write(ehc_http_req *req, const char *bytes, size_t len)
{
    http_stream *st = req->stream;
    if (!st || st->ending || !req->h2o) return;
    if (st->pending_len + len > st->pending_cap) {
        st->pending_cap = (st->pending_len + len) * 2 + 256;
        st->pending = ehc_realloc(st->pending, st->pending_cap);
    }
    memcpy(st->pending + st->pending_len, bytes, len);
    st->pending_len += len;
    stream_flush(st);
}

void ehc_http_stream_end(ehc_http_req *req)
{
    http_stream *st = req->stream;
    if (!st || st->ending) return;
    st->ending = 1;
    st->on_gone = NULL;
    if (!req->replied) {
        req->replied = 1;
        req->srv->inflight--;
    }
    stream_unlink(req->srv, st);
    stream_flush(st); /* the last chunk; h2o then releases the request, and with it ours */
}

/* A copy of s that is UTF-8 (ehc_utf8_scrub): handlers build messages and field names from what the
 * client sent, cut to a size ("%.100s"), which may split a character, and a JSON reply must be UTF-8. */
static char *utf8_scrubbed(const char *s)
{
    char *out = ehc_strdup(s);
    ehc_utf8_scrub(out);
    return out;
}

void ehc_http_reply_error(ehc_http_req *req, int status, const char *code, const char *message,
                          const char *field)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    char *text = utf8_scrubbed(message);
    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", text);
    free(text);
    if (field) {
        text = utf8_scrubbed(field);
        cJSON_AddStringToObject(err, "field", text);
        free(text);
    } else {
        cJSON_AddNullToObject(err, "field");
    }
    cJSON_AddStringToObject(err, "request_id", req->id);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    ehc_http_reply(req, status, "application/json", body, strlen(body));
    free(body);
}
