/* The HTTP adapter (api/http.c over h2o 2.2.5 and libuv): the input is the raw bytes a client sends
 * on one TCP connection to a real ehc_http_server listening on 127.0.0.1 (any number of pipelined
 * HTTP/1.x requests, or garbage), after which the client half-closes and reads until the server
 * closes. Covered: h2o's request parsing as ehcd configures it, our routing (exact, template and
 * prefix routes; 404 and 405 with Allow), request ids from X-Request-Id, header lookup, query and
 * body access, the strict body and Idempotency-Key checks and query parsing in the handlers,
 * synchronous replies, replies deferred past the client's departure, streamed replies (SSE), error
 * replies, per-route body limits (upload routes take more), per-route metrics, and connection
 * clean-up. The route table is the documented one
 * (api/doc/openapi.json, which ehcd checks at start against the routes it serves) plus a prefix
 * route like the web interface's. The resource handlers behind authentication are not run (they
 * need PostgreSQL): each route gets one of the stand-in handlers below, which use the same
 * request functions those handlers use.
 * Checked: the server always answers or closes (never hangs: 5 s limit), no crash/leak/UB, and
 * after each connection no request is left in flight. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ehc/api.h"
#include "ehc/log.h"
#include "fuzz_support.h"

/* Body limits: smaller than ehcd's (1 MB; uploads max_document_bytes) so that inputs of a few
 * kilobytes reach both 413 paths (h2o's own limit, and a route's lower one). */
#define MAX_BODY 1024
#define UPLOAD_MAX_BODY 4096

static uv_loop_t loop;
static ehc_http_server *server;
static int port;

/* A route that reads everything a handler may read, then answers at once. */
static void on_echo(ehc_http_req *req, void *ctx)
{
    const char *method = ehc_http_req_method(req);
    const char *path = ehc_http_req_path(req);
    const char *q = ehc_http_req_query(req);
    FUZZ_CHECK(method && path && q && *path == '/', "a routed request without method, path or query");
    char name[32], value[128];
    int more, pairs = 0;
    while ((more = ehc_api_query_next(&q, name, sizeof name, value, sizeof value)) != 0) {
        if (more < 0 || strcmp(name, "bad") == 0) return ehc_api_reply_bad_query(req, more, name, more > 0);
        pairs++;
    }
    char peer[64];
    FUZZ_CHECK(ehc_http_req_peer(req, peer, sizeof peer) == 0 && strcmp(peer, "127.0.0.1") == 0, "peer '%s'",
               peer);
    const char *key;
    if (ehc_api_idempotency_key(req, &key)) return;
    const char *headers[] = {"authorization", "cookie", "x-csrf-token", "accept", "if-none-match"};
    size_t header_bytes = 0;
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        const char *v = ehc_http_req_header(req, headers[i]);
        header_bytes += v ? strlen(v) : 0;
    }
    char escaped[256];
    size_t n = ehc_json_escape(escaped, sizeof escaped, path);
    FUZZ_CHECK(n < sizeof escaped && strlen(escaped) == n, "escape wrote %zu bytes", n);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)escaped[i] >= 0x20 && (escaped[i] != '"' || (i && escaped[i - 1] == '\\')),
                   "unescaped byte in a log line");
    cJSON *body = NULL;
    size_t body_len;
    (void)ehc_http_req_body(req, &body_len);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && !(body = ehc_api_body_object(req)))
        return;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "id", ehc_http_req_id(req));
    cJSON_AddNumberToObject(out, "pairs", pairs);
    cJSON_AddNumberToObject(out, "members", body ? cJSON_GetArraySize(body) : 0);
    cJSON_AddNumberToObject(out, "header_bytes", (double)header_bytes);
    cJSON_AddBoolToObject(out, "idempotent", key != NULL);
    cJSON_Delete(body);
    ehc_http_res_header_set(req, "cache-control", "private, max-age=0");
    ehc_api_reply_json(req, strcmp(method, "POST") == 0 ? 201 : 200, out);
}

/* A route whose reply comes on a later loop turn, as after a database round trip: the client may
 * have gone by then. */
typedef struct later {
    uv_timer_t timer;
    ehc_http_req *req;
    int gone;
} later;

static void on_later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_later(uv_timer_t *t)
{
    later *l = t->data;
    if (!l->gone) ehc_http_reply_error(l->req, 404, "not_found", "no such case", NULL);
    uv_close((uv_handle_t *)t, on_later_closed);
}

static void on_deferred(ehc_http_req *req, void *ctx)
{
    later *l = ehc_calloc(1, sizeof *l);
    l->req = req;
    uv_timer_init(&loop, &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, on_later, 0, 0);
}

/* A Server-Sent Events route: one event at once, one more and the end on a later turn. */
static void on_stream_gone(void *data)
{
    ((later *)data)->gone = 1;
}

static void on_stream_later(uv_timer_t *t)
{
    later *l = t->data;
    if (!l->gone) {
        ehc_http_stream_write(l->req, "event: tick\ndata: {}\n\n", 22);
        ehc_http_stream_end(l->req);
    }
    uv_close((uv_handle_t *)t, on_later_closed);
}

static void on_stream(ehc_http_req *req, void *ctx)
{
    later *l = ehc_calloc(1, sizeof *l);
    l->req = req;
    if (ehc_http_stream_start(req, "text/event-stream", on_stream_gone, l) != 0) {
        free(l);
        return;
    }
    ehc_http_stream_write(req, ": hello\n\n", 9);
    uv_timer_init(&loop, &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, on_stream_later, 0, 0);
}

/* An upload route (a document): takes any bytes up to its own, larger limit. */
static void on_upload(ehc_http_req *req, void *ctx)
{
    size_t len;
    (void)ehc_http_req_body(req, &len);
    FUZZ_CHECK(len <= UPLOAD_MAX_BODY, "a %zu-byte body passed the route's limit", len);
    const char *type = ehc_http_req_header(req, "content-type");
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "bytes", (double)len);
    cJSON_AddBoolToObject(out, "typed", type != NULL);
    ehc_api_reply_json(req, 201, out);
}

static void add_route(const char *method, const char *path)
{
    ehc_http_handler h = on_echo;
    size_t len = strlen(path);
    int rc;
    if (strcmp(path, "/api/v1/alerts/stream") == 0)
        h = on_stream;
    else if (strcmp(method, "GET") == 0 && strstr(path, "{id}"))
        h = on_deferred;
    if (strcmp(method, "POST") == 0 && len > 10 && strcmp(path + len - 10, "/documents") == 0)
        rc = ehc_http_route_large(server, method, path, UPLOAD_MAX_BODY, on_upload, NULL);
    else
        rc = ehc_http_route(server, method, path, h, NULL);
    if (rc != 0) {
        fprintf(stderr, "fuzz_http: cannot route %s %s\n", method, path);
        exit(1);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ehc_log_set_level(EHC_LOG_ERROR);
    const char *root = getenv("EHC_SOURCE_DIR");
    char file[512];
    snprintf(file, sizeof file, "%s/api/doc/openapi.json", root && *root ? root : EHC_SOURCE_DIR);
    FILE *f = fopen(file, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_http: cannot read %s\n", file);
        exit(1);
    }
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    cJSON *doc = cJSON_Parse(text);
    cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    if (!cJSON_IsObject(paths)) {
        fprintf(stderr, "fuzz_http: %s has no paths\n", file);
        exit(1);
    }
    uv_loop_init(&loop);
    ehc_http_options opts = {.host = "127.0.0.1",
                             .port = 0,
                             .max_body_bytes = MAX_BODY,
                             .max_large_body_bytes = UPLOAD_MAX_BODY + 1024,
                             .request_timeout_ms = 2000};
    if (ehc_http_server_new(&loop, &opts, &server) != 0) exit(1);
    for (cJSON *p = paths->child; p; p = p->next)
        for (cJSON *m = p->child; m; m = m->next) {
            char method[16];
            size_t i = 0;
            for (; m->string[i] && i + 1 < sizeof method; i++)
                method[i] =
                    (char)(m->string[i] >= 'a' && m->string[i] <= 'z' ? m->string[i] - 32 : m->string[i]);
            method[i] = '\0';
            if (strcmp(method, "PARAMETERS") != 0) add_route(method, p->string);
        }
    cJSON_Delete(doc);
    add_route("GET", "/assets/*");
    if (ehc_http_server_start(server) != 0) exit(1);
    port = ehc_http_server_port(server);
    return 0;
}

/* Reads what the server sent so far; 1 once it has closed the connection. */
static int drain(int fd)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) continue;
        if (n == 0) return 1;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return 1; /* reset by the server: closed too */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FUZZ_CHECK(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in addr = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    /* non-blocking from the start: libFuzzer's timers interrupt system calls (EINTR) */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        FUZZ_CHECK(errno == EINPROGRESS || errno == EINTR, "connect: %s", strerror(errno));
        struct pollfd w = {.fd = fd, .events = POLLOUT};
        while (poll(&w, 1, 1000) < 0 && errno == EINTR)
            ;
        int soerr = 0;
        socklen_t n = sizeof soerr;
        FUZZ_CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &n) == 0 && soerr == 0, "connect: %s",
                   strerror(soerr));
    }
    uint64_t start = uv_now(&loop);
    size_t sent = 0;
    int half_closed = 0, closed = 0;
    while (!closed) {
        if (!half_closed && sent < size) {
            ssize_t n = write(fd, data + sent, size - sent);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sent = size; /* the server reset the connection */
        }
        if (!half_closed && sent == size) {
            shutdown(fd, SHUT_WR);
            half_closed = 1;
        }
        /* let the server work until it has nothing left to do right now, then read what it sent */
        uv_run(&loop, UV_RUN_NOWAIT);
        closed = drain(fd);
        if (!closed) {
            struct pollfd p[2] = {{.fd = uv_backend_fd(&loop), .events = POLLIN},
                                  {.fd = fd, .events = POLLIN}};
            int timeout = uv_backend_timeout(&loop);
            (void)poll(p, 2, timeout < 0 || timeout > 10 ? 10 : timeout);
        }
        uv_update_time(&loop);
        FUZZ_CHECK(uv_now(&loop) - start < 5000, "the server neither answered nor closed within 5 s");
    }
    close(fd);
    /* the server's close callbacks and any deferred reply's timer */
    for (int i = 0; i < 4; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    char *metrics = ehc_http_metrics(server);
    FUZZ_CHECK(strstr(metrics, "\nehcd_http_requests_in_flight 0\n"), "a request is left in flight");
    free(metrics);
    return 0;
}
