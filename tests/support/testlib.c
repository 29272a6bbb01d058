/* Test helpers: environment checks, child ehcd processes, libcurl HTTP client. Blocking code is
 * fine here: tests are clients of the daemon, never part of its loop. */
#include "testlib.h"

#include "ehc/common.h"
#include "ehc/migrate.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *ehc_test_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr,
                "FATAL: environment variable %s is not set. This test needs what `./ehc test` "
                "provides (a throwaway PostgreSQL cluster and the built ehcd); run it through "
                "`./ehc test`.\n",
                name);
        exit(1);
    }
    return v;
}

const char *ehc_test_database_url(void)
{
    return ehc_test_env("EHC_TEST_DATABASE_URL");
}

char *ehc_test_create_database(const char *prefix)
{
    const char *admin = ehc_test_database_url();
    PGconn *c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "FATAL: cannot connect to test cluster: %s\n", PQerrorMessage(c));
        exit(1);
    }
    char name[96];
    snprintf(name, sizeof name, "%s_%d_%ld", prefix, (int)getpid(), (long)(ehc_test_now_ms() % 100000000));
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "FATAL: %s: %s\n", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
    /* conninfo strings: later keywords override earlier ones */
    size_t n = strlen(admin) + strlen(name) + 16;
    char *out = malloc(n);
    snprintf(out, n, "%s dbname=%s", admin, name);
    return out;
}

long ehc_test_scalar(PGconn *c, const char *fmt, ...)
{
    char sql[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    long v = PQntuples(r) > 0 ? atol(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return v;
}

void ehc_test_exec(PGconn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    char *sql = malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(sql, (size_t)n + 1, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        free(sql);
        fail();
    }
    PQclear(r);
    free(sql);
}

PGconn *ehc_test_migrated_database(const char *prefix, char **url_out)
{
    char *url = ehc_test_create_database(prefix);
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to %s: %s\n", url, PQerrorMessage(c));
        fail();
    }
    int applied;
    char err[1024];
    if (ehc_migrate_apply(c, &applied, err, sizeof err) != 0) {
        fprintf(stderr, "migrations failed on %s: %s\n", url, err);
        fail();
    }
    *url_out = url;
    return c;
}

void ehc_test_add_user(PGconn *c, const char *username, bool system_admin, const char *grant_fmt)
{
    ehc_test_exec(c, "INSERT INTO users (username, display_name, is_admin) VALUES ('%s', '%s', %s)", username,
                  username, system_admin ? "true" : "false");
    char token[128], sha[65];
    snprintf(token, sizeof token, "tok-%s-0123456789abcdefghij", username);
    ehc_sha256_hex(token, strlen(token), sha);
    ehc_test_exec(c,
                  "INSERT INTO api_tokens (user_id, name, token_sha256) SELECT id, 'test', '%s' FROM users "
                  "WHERE username = '%s'",
                  sha, username);
    if (grant_fmt) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        ehc_test_exec(c, grant_fmt, username);
#pragma GCC diagnostic pop
    }
}

void ehc_test_run_env_command(const char *env_name)
{
    const char *cmd = ehc_test_env(env_name);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "command from %s failed (%d): %s\n", env_name, rc, cmd);
        fail();
    }
}

int ehc_test_run_capture(const char *cmd, char *out, size_t size)
{
    char *full = ehc_asprintf("%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    free(full);
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    char rest[4096]; /* the rest is read, so that the command never blocks on a full pipe */
    while (fread(rest, 1, sizeof rest, p) > 0) {
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int ehc_test_ehcd_verify(const char *database_url, const char *env, char *out, size_t size)
{
    char *cmd =
        ehc_asprintf("DATABASE_URL='%s' %s %s verify", database_url, env, ehc_test_env("EHC_TEST_EHCD"));
    int rc = ehc_test_run_capture(cmd, out, size);
    free(cmd);
    return rc;
}

int ehc_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int64_t ehc_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ehc_test_daemon_start(ehc_test_daemon *d, const char *const *args, const char *const *env)
{
    const char *ehcd = ehc_test_env("EHC_TEST_EHCD");
    if (d->port == 0) d->port = ehc_test_free_port();
    snprintf(d->log_path, sizeof d->log_path, "/tmp/ehcd-test-%d-%d.log", (int)getpid(), d->port);
    char listen_env[64];
    snprintf(listen_env, sizeof listen_env, "EHCD_LISTEN=127.0.0.1:%d", d->port);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        putenv(listen_env);
        for (const char *const *e = env; e && *e; e++)
            putenv((char *)*e);
        const char *argv[32];
        int n = 0;
        argv[n++] = ehcd;
        for (const char *const *a = args; a && *a && n < 31; a++)
            argv[n++] = *a;
        argv[n] = NULL;
        execv(ehcd, (char *const *)argv);
        _exit(127);
    }
    d->pid = pid;
    bool sim_clock = false;
    for (const char *const *a = args; a && *a; a++)
        sim_clock |= strncmp(*a, "--sim-clock", 11) == 0;
    for (int i = 0; i < 200; i++) {
        ehc_test_response r;
        ehc_test_http(&r, "GET", d->port, "/healthz", NULL, NULL);
        long status = r.status;
        ehc_test_response_free(&r);
        if (status == 200 && !sim_clock) return;
        if (status == 200) {
            /* on a simulated clock, wait until it is loaded and the database is up (/readyz) */
            ehc_test_http(&r, "GET", d->port, "/readyz", NULL, NULL);
            status = r.status;
            ehc_test_response_free(&r);
            if (status == 200) return;
        }
        int wst;
        if (waitpid(pid, &wst, WNOHANG) == pid) {
            fprintf(stderr, "ehcd exited during start (status %d); log in %s\n", wst, d->log_path);
            d->pid = 0;
            fail();
        }
        usleep(50 * 1000);
    }
    fprintf(stderr, "ehcd did not answer /healthz%s within 10 s; log in %s\n",
            sim_clock ? " and /readyz" : "", d->log_path);
    fail();
}

int ehc_test_daemon_stop(ehc_test_daemon *d, int sig)
{
    if (d->pid <= 0) return -1;
    kill(d->pid, sig);
    int wst = 0;
    for (int i = 0; i < 300; i++) {
        if (waitpid(d->pid, &wst, WNOHANG) == d->pid) {
            d->pid = 0;
            return wst;
        }
        usleep(50 * 1000);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, &wst, 0);
    d->pid = 0;
    fprintf(stderr, "ehcd did not stop within 15 s after signal %d\n", sig);
    return -1;
}

void ehc_test_daemon_serve(ehc_test_daemon *d, const char *database_url, const char *const *extra_args,
                           const char *const *extra_env)
{
    const char *args[32], *env[32];
    int na = 0, ne = 0;
    args[na++] = "serve";
    for (const char *const *a = extra_args; a && *a; a++) {
        assert_true(na < 31);
        args[na++] = *a;
    }
    args[na] = NULL;
    size_t n = strlen("DATABASE_URL=") + strlen(database_url) + 1;
    char *env_db = malloc(n);
    snprintf(env_db, n, "DATABASE_URL=%s", database_url);
    env[ne++] = env_db;
    for (const char *const *e = extra_env; e && *e; e++) {
        assert_true(ne < 31);
        env[ne++] = *e;
    }
    env[ne] = NULL;
    /* the child has its own copy of env_db by the time ehc_test_daemon_start returns or fails */
    ehc_test_daemon_start(d, args, env);
    free(env_db);
}

void ehc_test_daemon_stop_clean(ehc_test_daemon *d)
{
    int st = ehc_test_daemon_stop(d, SIGTERM);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "ehcd did not stop cleanly (status %d); log: %s\n", st, d->log_path);
        fail();
    }
}

void ehc_test_teardown(ehc_test_daemon *d, PGconn *c, char *database_url)
{
    if (d->pid > 0) ehc_test_daemon_stop(d, SIGKILL);
    if (c) PQfinish(c);
    free(database_url);
}

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    buf *b = ud;
    size_t len = size * nmemb;
    b->p = realloc(b->p, b->n + len + 1);
    memcpy(b->p + b->n, ptr, len);
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

void ehc_test_http(ehc_test_response *r, const char *method, int port, const char *path, const char *body,
                   const char *const *headers)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    buf b = {0}, h = {0};
    struct curl_slist *hl = NULL;
    for (const char *const *x = headers; x && *x; x++)
        hl = curl_slist_append(hl, *x);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (hl) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    int64_t t0 = ehc_test_now_ms();
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->seconds = (double)(ehc_test_now_ms() - t0) / 1000.0;
    r->body = b.p ? b.p : calloc(1, 1);
    r->body_len = b.n;
    r->headers = h.p ? h.p : calloc(1, 1);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

void ehc_test_response_free(ehc_test_response *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

long ehc_test_call(int port, const char *method, const char *path, const char *auth_header, const char *body,
                   ehc_test_response *out_or_null)
{
    const char *with_auth[] = {auth_header, "Content-Type: application/json", NULL};
    const char *const *h = auth_header ? with_auth : with_auth + 1;
    ehc_test_response own, *r = out_or_null ? out_or_null : &own;
    ehc_test_http(r, method, port, path, body, h);
    long status = r->status;
    if (!out_or_null) ehc_test_response_free(&own);
    return status;
}
