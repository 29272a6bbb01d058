/* The browser interface's static files, served from web_root (api/web by default):
 *   GET /, /app, /app/...   index.html (the app routes in the browser: sign in, caseload, a case, ...)
 *   GET /assets/...         the file under web_root/assets, with its content type
 * Paths are checked character by character (no "..", no dot-files, no encoded bytes) and the file
 * found must still resolve inside web_root, so nothing outside it is ever read. Every reply carries a
 * strict Content-Security-Policy (no inline script), an ETag for revalidation and a Cache-Control.
 * These routes are not part of the API: the OpenAPI self-check skips exactly them (docs/adr/0001). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ehc/api.h"
#include "ehc/log.h"

/* Files larger than this are not served: the UI's biggest file is the GOV.UK stylesheet (~130 kB). */
#define WEB_MAX_FILE_BYTES (8u * 1024 * 1024)
#define WEB_MAX_PATH 400

/* The routes of this file, as registered; the OpenAPI check skips these and only these. */
static const char *const web_routes[] = {"/", "/app", "/app/*", "/assets/*"};

const char *const ehc_web_csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                "font-src 'self'; connect-src 'self'; manifest-src 'self'; form-action "
                                "'self'; base-uri 'none'; frame-ancestors 'none'";

bool ehc_api_web_route(const char *method, const char *path)
{
    if (strcmp(method, "GET") != 0) return false;
    for (size_t i = 0; i < EHC_ARRAY_SIZE(web_routes); i++) {
        size_t n = strlen(web_routes[i]);
        bool prefix = web_routes[i][n - 1] == '*';
        /* prefix routes are stored without their '*' */
        if ((prefix && strlen(path) == n - 1 && strncmp(path, web_routes[i], n - 1) == 0) ||
            (!prefix && strcmp(path, web_routes[i]) == 0))
            return true;
    }
    return false;
}

static const struct {
    const char *ext;
    const char *type;
    bool versioned_elsewhere; /* third-party files that change only with the package: cache a day */
} types[] = {
    {".html", "text/html; charset=utf-8", false},
    {".js", "text/javascript; charset=utf-8", false},
    {".mjs", "text/javascript; charset=utf-8", false},
    {".css", "text/css; charset=utf-8", false},
    {".map", "application/json", false},
    {".json", "application/json", false},
    {".svg", "image/svg+xml", false},
    {".png", "image/png", true},
    {".ico", "image/x-icon", true},
    {".woff2", "font/woff2", true},
    {".woff", "font/woff", true},
    {".txt", "text/plain; charset=utf-8", false},
};

static const char *content_type(const char *path, bool *long_cache)
{
    const char *dot = strrchr(path, '.');
    *long_cache = false;
    for (size_t i = 0; dot && i < EHC_ARRAY_SIZE(types); i++) {
        if (strcasecmp(dot, types[i].ext) == 0) {
            *long_cache = types[i].versioned_elsewhere;
            return types[i].type;
        }
    }
    return "application/octet-stream";
}

/* A URL path below /assets/ is acceptable when every segment is made of [A-Za-z0-9._-], does not
 * start with '.', and none is empty: this refuses "..", ".", "//", '%'-encoded bytes, backslashes
 * and hidden files before the file system is asked anything. */
int ehc_web_path_ok(const char *rel)
{
    size_t len = strlen(rel);
    if (len == 0 || len > WEB_MAX_PATH) return 0;
    const char *seg = rel;
    for (const char *p = rel;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p == seg || *seg == '.') return 0;
            if (*p == '\0') return 1;
            seg = p + 1;
            continue;
        }
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == '_'))
            return 0;
    }
}

static void security_headers(ehc_http_req *req)
{
    ehc_http_res_header(req, "content-security-policy", ehc_web_csp);
    ehc_http_res_header(req, "referrer-policy", "no-referrer");
    ehc_http_res_header(req, "x-frame-options", "DENY");
    ehc_http_res_header(req, "cross-origin-opener-policy", "same-origin");
    ehc_http_res_header(req, "cross-origin-resource-policy", "same-origin");
    ehc_http_res_header(req, "permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()");
}

static void not_found(ehc_http_req *req)
{
    security_headers(req);
    ehc_http_reply_error(req, 404, "not_found", "no such file", NULL);
}

/* Serves web_root/rel: rel has passed ehc_web_path_ok. */
static void serve_file(ehc_http_req *req, ehc_app *app, const char *rel)
{
    char root[PATH_MAX], want[PATH_MAX * 2], real[PATH_MAX];
    if (!realpath(app->cfg.web_root, root)) {
        ehc_log(EHC_LOG_WARN, "web_root_missing", ehc_http_req_id(req), "web_root %s: %s", app->cfg.web_root,
                strerror(errno));
        return not_found(req);
    }
    snprintf(want, sizeof want, "%s/%s", root, rel);
    size_t rlen = strlen(root);
    /* a symbolic link may not lead out of web_root */
    if (!realpath(want, real) || strncmp(real, root, rlen) != 0 || real[rlen] != '/') return not_found(req);
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return not_found(req);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uintmax_t)st.st_size > WEB_MAX_FILE_BYTES) {
        close(fd);
        return not_found(req);
    }
    char etag[80], modified[64];
    snprintf(etag, sizeof etag, "\"%jx-%jx-%lx\"", (uintmax_t)st.st_size, (uintmax_t)st.st_mtim.tv_sec,
             (unsigned long)st.st_mtim.tv_nsec);
    struct tm tm;
    gmtime_r(&st.st_mtim.tv_sec, &tm);
    strftime(modified, sizeof modified, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    bool long_cache;
    const char *type = content_type(real, &long_cache);
    security_headers(req);
    ehc_http_res_header_set(req, "cache-control", long_cache ? "public, max-age=86400" : "no-cache");
    ehc_http_res_header(req, "etag", etag);
    ehc_http_res_header(req, "last-modified", modified);
    const char *match = ehc_http_req_header(req, "if-none-match");
    if (match && strstr(match, etag)) {
        close(fd);
        ehc_http_reply(req, 304, NULL, "", 0);
        return;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *body = ehc_malloc(size + 1);
    while (got < size) {
        ssize_t n = read(fd, body + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got != size) {
        free(body);
        return not_found(req);
    }
    ehc_http_reply(req, 200, type, body, size);
    free(body);
}

static void on_app_page(ehc_http_req *req, void *ctx)
{
    serve_file(req, ctx, "index.html");
}

static void on_asset(ehc_http_req *req, void *ctx)
{
    const char *path = ehc_http_req_path(req); /* begins with /assets/ */
    if (!ehc_web_path_ok(path + 1)) return not_found(req);
    serve_file(req, ctx, path + 1);
}

void ehc_api_web_register(ehc_app *app)
{
    for (size_t i = 0; i < EHC_ARRAY_SIZE(web_routes); i++) {
        bool asset = strncmp(web_routes[i], "/assets/", 8) == 0;
        if (strncmp(web_routes[i], "/api/", 5) == 0 ||
            ehc_http_route(app->http, "GET", web_routes[i], asset ? on_asset : on_app_page, app))
            abort();
    }
}
