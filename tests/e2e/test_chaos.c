/* Chaos (issue #12, item 2): officers' load and deadlines firing while, at seeded random moments,
 * ehcd is killed with SIGKILL and restarted, PostgreSQL is restarted immediately
 * (EHC_TEST_PG_STOP_CMD, -m immediate, then EHC_TEST_PG_START_CMD) and the connections between ehcd
 * and PostgreSQL are cut by a TCP proxy this test runs (it resets every connection it carries and,
 * for a while, refuses new ones). Then, with everything up again:
 *   - every event and every case opening ehcd acknowledged (2xx) is in the log exactly once, under
 *     the Idempotency-Key the client sent, at the version the reply gave, and nothing else is there;
 *   - every alert whose instant the simulated clock passed during the run exists exactly once: the
 *     expected set is worked out here from each deadline's stored schedule and the clock's steps,
 *     not from the scheduler's bookkeeping (next_fire_at);
 *   - every alert has its outbox rows, one webhook row for the one subscription; the webhook
 *     receiver below saw each delivered row, and no row more often than its attempts (delivery is at
 *     least once: a row is sent again only when a claim's settlement was lost);
 *   - the last ehcd stops cleanly under the sanitizers and `ehcd verify` finds no difference.
 *
 * The load: CLIENTS officers over real sockets, each recording notification_sent (an event the
 * request stage allows again and again, changing no deadline) on its own cases with an
 * Idempotency-Key, and now and then opening a case received "today"; every request is retried with
 * the same key and body until it is acknowledged, so whatever committed is acknowledged in the end.
 * The clock: one day per step, 12:00 UTC to 12:00 UTC, so a step passes exactly one 07:00 (the alert
 * hour), and a deadline has at most one alert a day: a step makes at most one level of a deadline
 * due. The next step waits until the database shows nothing due unfired, so the catch-up rule (only
 * the highest level due fires) never has a lower level to drop, and every level must fire.
 *
 * EHC_CHAOS_SECONDS (default 75) sets the length of the chaos; EHC_TEST_SEED repeats a run's schedule
 * of faults, which and when (the seed is printed first); EHC_CHAOS_KEEP_LOGS keeps every ehcd's log
 * (/tmp/ehcd-chaos-PID-N.log) after a run that passed. The steps (DAYS) are spread over the run. */
#define _GNU_SOURCE /* strcasestr, strndup */
#include <arpa/inet.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define CLIENTS 4
#define INITIAL_CASES 240
#define DAYS 120
#define DEFAULT_SECONDS 75
#define RETRY_LIMIT_MS 120000
#define SETTLE_LIMIT_MS 120000

#define OFFICER EHC_TEST_TOKEN("officer")
#define ADMIN EHC_TEST_TOKEN("admin")

/* The run starts at 12:00 UTC on Monday 5 January 2026. */
static const int64_t T0_S = 1767614400;

static char *admin_url;  /* the cluster's superuser conninfo */
static char *direct_url; /* this test's database, directly */
static char *proxy_url;  /* the same database through the proxy: what ehcd uses */
static char dbname[96];
static long team_id;
static int64_t run_started_ms; /* when the chaos began (monotonic ms) */

static void iso_date(int64_t s, char out[16])
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static void iso_instant(int64_t s, char out[24])
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void sleep_ms(int ms)
{
    if (ms > 0) usleep((useconds_t)ms * 1000);
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "terminating connection due to immediate shutdown": expected here */
}

/* ---- the proxy between ehcd and PostgreSQL ------------------------------------------------------- */

#define PROXY_PAIRS 64
#define PROXY_BUF 32768

typedef struct proxy_dir {
    char buf[PROXY_BUF];
    size_t len, off; /* bytes read from one side, not yet written to the other */
} proxy_dir;

typedef struct proxy_pair {
    bool open;
    int fd[2];        /* 0: ehcd's side, 1: PostgreSQL's */
    proxy_dir dir[2]; /* dir[i]: read from fd[i], to be written to fd[1 - i] */
} proxy_pair;

static struct proxy {
    int listen_fd, port;
    int wake[2];
    char upstream_path[108]; /* a unix socket, or empty for TCP */
    char upstream_host[200];
    int upstream_port;
    pthread_t thread;
    pthread_mutex_t mu;
    bool stop, refuse;
    int cut_requests;
    proxy_pair pairs[PROXY_PAIRS];
    /* counts */
    long accepted, refused, reset;
} px;

static void hard_close(int fd)
{
    struct linger l = {1, 0}; /* a reset, not an orderly close: as a dead network or host looks */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

static void pair_close(proxy_pair *p)
{
    hard_close(p->fd[0]);
    hard_close(p->fd[1]);
    p->open = false;
}

static int upstream_connect(void)
{
    int fd;
    if (px.upstream_path[0]) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        memcpy(a.sun_path, px.upstream_path, sizeof px.upstream_path);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) return -1;
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            return -1;
        }
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)px.upstream_port)};
        inet_pton(AF_INET, px.upstream_host, &a.sin_addr);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return -1;
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            return -1;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void proxy_accept(void)
{
    for (;;) {
        int c = accept(px.listen_fd, NULL, NULL);
        if (c < 0) return;
        pthread_mutex_lock(&px.mu);
        bool refuse = px.refuse;
        pthread_mutex_unlock(&px.mu);
        int u = refuse ? -1 : upstream_connect();
        proxy_pair *slot = NULL;
        for (int i = 0; i < PROXY_PAIRS && !slot && u >= 0; i++)
            if (!px.pairs[i].open) slot = &px.pairs[i];
        if (!slot) {
            if (u >= 0) close(u);
            hard_close(c);
            px.refused++;
            continue;
        }
        fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
        memset(slot, 0, sizeof *slot);
        slot->open = true;
        slot->fd[0] = c;
        slot->fd[1] = u;
        px.accepted++;
    }
}

/* Writes what is pending from fd[from] to the other side; false when the pair broke. */
static bool pair_flush(proxy_pair *p, int from)
{
    proxy_dir *d = &p->dir[from];
    while (d->off < d->len) {
        ssize_t n = write(p->fd[1 - from], d->buf + d->off, d->len - d->off);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        if (n <= 0) return false;
        d->off += (size_t)n;
    }
    d->len = d->off = 0;
    return true;
}

static void *proxy_main(void *arg)
{
    (void)arg;
    struct pollfd fds[2 + 2 * PROXY_PAIRS];
    int owner[2 + 2 * PROXY_PAIRS];
    for (;;) {
        pthread_mutex_lock(&px.mu);
        bool stop = px.stop;
        int cuts = px.cut_requests;
        px.cut_requests = 0;
        pthread_mutex_unlock(&px.mu);
        if (cuts)
            for (int i = 0; i < PROXY_PAIRS; i++)
                if (px.pairs[i].open) {
                    pair_close(&px.pairs[i]);
                    px.reset++;
                }
        if (stop) break;
        int n = 0;
        fds[n++] = (struct pollfd){.fd = px.wake[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = px.listen_fd, .events = POLLIN};
        for (int i = 0; i < PROXY_PAIRS; i++) {
            proxy_pair *p = &px.pairs[i];
            if (!p->open) continue;
            for (int side = 0; side < 2; side++) {
                short ev = 0;
                if (p->dir[side].len == 0) ev |= POLLIN;
                if (p->dir[1 - side].len > 0) ev |= POLLOUT;
                owner[n] = i * 2 + side;
                fds[n++] = (struct pollfd){.fd = p->fd[side], .events = ev};
            }
        }
        if (poll(fds, (nfds_t)n, 1000) < 0) continue;
        if (fds[0].revents) {
            char b[64];
            while (read(px.wake[0], b, sizeof b) > 0) {
            }
        }
        if (fds[1].revents & POLLIN) proxy_accept();
        for (int k = 2; k < n; k++) {
            proxy_pair *p = &px.pairs[owner[k] / 2];
            int side = owner[k] % 2;
            if (!p->open || !fds[k].revents) continue;
            bool ok = true;
            if (fds[k].revents & POLLOUT) ok = pair_flush(p, 1 - side);
            if (ok && (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) && p->dir[side].len == 0) {
                ssize_t got = read(p->fd[side], p->dir[side].buf, PROXY_BUF);
                if (got > 0) {
                    p->dir[side].len = (size_t)got;
                    ok = pair_flush(p, side);
                } else if (!(got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
                    ok = false;
                }
            }
            if (!ok) pair_close(p);
        }
    }
    return NULL;
}

static void proxy_wake(void)
{
    ssize_t n = write(px.wake[1], "x", 1);
    (void)n;
}

static void proxy_start(void)
{
    /* the cluster's address, from its conninfo: host=DIR (a unix socket in DIR) or an address */
    const char *h = strstr(admin_url, "host="), *p = strstr(admin_url, "port=");
    assert_non_null(h);
    assert_non_null(p);
    char host[200];
    sscanf(h + 5, "%199s", host);
    int port = atoi(p + 5);
    if (host[0] == '/') {
        assert_true(strlen(host) + 20 < sizeof px.upstream_path);
        snprintf(px.upstream_path, sizeof px.upstream_path, "%.80s/.s.PGSQL.%d", host, port);
    } else {
        snprintf(px.upstream_host, sizeof px.upstream_host, "%s", host);
        px.upstream_port = port;
    }
    pthread_mutex_init(&px.mu, NULL);
    assert_int_equal(pipe(px.wake), 0);
    fcntl(px.wake[0], F_SETFL, O_NONBLOCK);
    px.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(px.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(px.listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(px.listen_fd, (struct sockaddr *)&a, &len), 0);
    px.port = ntohs(a.sin_port);
    assert_int_equal(listen(px.listen_fd, 64), 0);
    fcntl(px.listen_fd, F_SETFL, O_NONBLOCK);
    assert_int_equal(pthread_create(&px.thread, NULL, proxy_main, NULL), 0);
}

/* Resets every connection; refuse: new ones are reset at once until proxy_refuse(false). */
static void proxy_cut(bool refuse)
{
    pthread_mutex_lock(&px.mu);
    px.cut_requests++;
    px.refuse = refuse;
    pthread_mutex_unlock(&px.mu);
    proxy_wake();
}

static void proxy_refuse(bool refuse)
{
    pthread_mutex_lock(&px.mu);
    px.refuse = refuse;
    pthread_mutex_unlock(&px.mu);
}

static void proxy_stop(void)
{
    if (!px.listen_fd) return;
    pthread_mutex_lock(&px.mu);
    px.stop = true;
    px.cut_requests++;
    pthread_mutex_unlock(&px.mu);
    proxy_wake();
    pthread_join(px.thread, NULL);
    close(px.listen_fd);
    close(px.wake[0]);
    close(px.wake[1]);
    px.listen_fd = 0;
}

/* ---- the webhook receiver: answers 200 to every delivery and keeps its X-EHC-Delivery key ------ */

static struct receiver {
    int listen_fd, port;
    pthread_t thread;
    _Atomic bool stop;
    pthread_mutex_t mu;
    char **keys;
    size_t count, cap;
} rx;

static void receive_one(int fd)
{
    char buf[65536];
    size_t len = 0;
    long body_len = -1;
    char *end = NULL;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0) return;
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) return;
        len += (size_t)n;
        buf[len] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            const char *cl = strcasestr(buf, "\r\ncontent-length:");
            body_len = cl ? atol(cl + 17) : 0;
        }
        if (end && (long)(len - (size_t)(end + 4 - buf)) >= body_len) break;
        if (len >= sizeof buf - 1) return;
    }
    *end = '\0';
    const char *k = strcasestr(buf, "\r\nx-ehc-delivery:");
    if (k) {
        k += 17;
        while (*k == ' ')
            k++;
        size_t n = strcspn(k, "\r\n");
        pthread_mutex_lock(&rx.mu);
        if (rx.count == rx.cap) {
            rx.cap = rx.cap ? rx.cap * 2 : 1024;
            rx.keys = realloc(rx.keys, rx.cap * sizeof *rx.keys);
        }
        rx.keys[rx.count++] = strndup(k, n);
        pthread_mutex_unlock(&rx.mu);
    }
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ssize_t w = write(fd, ok, sizeof ok - 1);
    (void)w;
}

static void *receiver_main(void *arg)
{
    (void)arg;
    while (!rx.stop) {
        struct pollfd p = {.fd = rx.listen_fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) continue;
        int c = accept(rx.listen_fd, NULL, NULL);
        if (c < 0) continue;
        receive_one(c);
        close(c);
    }
    return NULL;
}

static void receiver_start(void)
{
    pthread_mutex_init(&rx.mu, NULL);
    rx.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(rx.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(rx.listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(rx.listen_fd, (struct sockaddr *)&a, &len), 0);
    rx.port = ntohs(a.sin_port);
    assert_int_equal(listen(rx.listen_fd, 128), 0);
    assert_int_equal(pthread_create(&rx.thread, NULL, receiver_main, NULL), 0);
}

static void receiver_stop(void)
{
    if (!rx.listen_fd) return;
    rx.stop = true;
    pthread_join(rx.thread, NULL);
    close(rx.listen_fd);
    rx.listen_fd = 0;
    for (size_t i = 0; i < rx.count; i++)
        free(rx.keys[i]);
    free(rx.keys);
    rx.keys = NULL;
    rx.count = rx.cap = 0;
}

/* ---- ehcd, started and killed by the test --------------------------------------------------------- */

static struct daemon {
    pthread_mutex_t mu;
    pid_t pid;
    int port;
    int incarnation;
    char log_path[256];
    int unexpected_exits;
    char unexpected[512];
} ehcd = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void ehcd_spawn(void)
{
    const char *bin = ehc_test_env("EHC_TEST_EHCD");
    ehcd.incarnation++;
    snprintf(ehcd.log_path, sizeof ehcd.log_path, "/tmp/ehcd-chaos-%d-%d.log", (int)getpid(),
             ehcd.incarnation);
    char env_db[1024], env_listen[64], sim[64], start[24];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", proxy_url);
    snprintf(env_listen, sizeof env_listen, "EHCD_LISTEN=127.0.0.1:%d", ehcd.port);
    iso_instant(T0_S, start);
    snprintf(sim, sizeof sim, "--sim-clock=%s", start);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(ehcd.log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        putenv(env_db);
        putenv(env_listen);
        execl(bin, bin, "serve", sim, (char *)NULL);
        _exit(127);
    }
    ehcd.pid = pid;
}

/* Notes an exit the test did not cause (a crash is what this test looks for). */
static void ehcd_check_alive(void)
{
    int st;
    if (ehcd.pid > 0 && waitpid(ehcd.pid, &st, WNOHANG) == ehcd.pid) {
        ehcd.unexpected_exits++;
        snprintf(ehcd.unexpected, sizeof ehcd.unexpected, "ehcd exited by itself (status %d); log: %s", st,
                 ehcd.log_path);
        fprintf(stderr, "# %s\n", ehcd.unexpected);
        ehcd.pid = 0;
        ehcd_spawn();
    }
}

static void ehcd_kill_and_restart(int pause_ms)
{
    pthread_mutex_lock(&ehcd.mu);
    ehcd_check_alive();
    kill(ehcd.pid, SIGKILL);
    int st = 0;
    waitpid(ehcd.pid, &st, 0);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
        ehcd.unexpected_exits++;
        snprintf(ehcd.unexpected, sizeof ehcd.unexpected,
                 "ehcd had exited before our SIGKILL (status %d); log: %s", st, ehcd.log_path);
    }
    ehcd.pid = 0;
    sleep_ms(pause_ms);
    ehcd_spawn();
    pthread_mutex_unlock(&ehcd.mu);
}

static bool ehcd_wait_ready(int limit_ms)
{
    for (int64_t t0 = ehc_test_now_ms(); ehc_test_now_ms() - t0 < limit_ms; sleep_ms(100)) {
        ehc_test_response r;
        ehc_test_http(&r, "GET", ehcd.port, "/readyz", NULL, NULL);
        long status = r.status;
        ehc_test_response_free(&r);
        if (status == 200) return true;
    }
    return false;
}

static _Atomic bool load_abort; /* the test failed: give up at once */
static bool threads_started;    /* the officers and the clock run */

/* ---- HTTP with retries -------------------------------------------------------------------------- */

typedef struct reply {
    long status;
    cJSON *json;
    char text[300];
} reply;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    char **b = ud;
    size_t old = *b ? strlen(*b) : 0, len = size * nmemb;
    char *p = realloc(*b, old + len + 1);
    if (!p) return 0;
    memcpy(p + old, ptr, len);
    p[old + len] = '\0';
    *b = p;
    return len;
}

static long post_once(CURL *c, const char *path, const char *auth, const char *idem, const char *body,
                      char **out)
{
    char url[128], key[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", ehcd.port, path);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    if (idem) {
        snprintf(key, sizeof key, "Idempotency-Key: %s", idem);
        h = curl_slist_append(h, key);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 40000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

/* Sends until the answer is not a transport failure or a 502/503/504 (ehcd gone, or its database);
 * the same key and body every time. retried: how many times it had to send again. */
static reply post(CURL *c, const char *path, const char *auth, const char *idem, const char *body,
                  long *retried)
{
    reply r = {0};
    for (int64_t t0 = ehc_test_now_ms();;) {
        char *text = NULL;
        r.status = post_once(c, path, auth, idem, body, &text);
        bool again = r.status == 0 || r.status == 502 || r.status == 503 || r.status == 504;
        if (!again || ehc_test_now_ms() - t0 > RETRY_LIMIT_MS) {
            snprintf(r.text, sizeof r.text, "%s", text ? text : "");
            r.json = text ? cJSON_Parse(text) : NULL;
            free(text);
            return r;
        }
        free(text);
        (*retried)++;
        if (load_abort) return r;
        sleep_ms(50 + (int)(ehc_test_now_ms() % 200));
    }
}

/* ---- the officers ------------------------------------------------------------------------------- */

static _Atomic int today_step; /* the clock has reached T0 + today_step days (acknowledged) */
static _Atomic bool load_stop;

typedef struct acked_event {
    long case_id;
    int seq;
    char key[48];
} acked_event;

typedef struct client {
    int index;
    pthread_t thread;
    CURL *http;
    long *cases;
    int *versions;
    int case_count, case_cap;
    acked_event *events;
    int event_count, event_cap;
    char (*open_keys)[48];
    long *opened_ids;
    int open_count, open_cap;
    long retried, replayed;
    char error[600];
} client;

static client clients[CLIENTS];

static void client_add_case(client *cl, long id, int version)
{
    if (cl->case_count == cl->case_cap) {
        cl->case_cap = cl->case_cap ? cl->case_cap * 2 : 128;
        cl->cases = realloc(cl->cases, (size_t)cl->case_cap * sizeof *cl->cases);
        cl->versions = realloc(cl->versions, (size_t)cl->case_cap * sizeof *cl->versions);
    }
    cl->cases[cl->case_count] = id;
    cl->versions[cl->case_count++] = version;
}

static int json_int(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

static bool json_replayed(const cJSON *o)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "replayed"));
}

static bool ack(const reply *r)
{
    return (r->status == 200 || r->status == 201) && r->json;
}

/* The last working day (England) on or before the day of instant s: a request received there at 09:30
 * is deemed received that day. The bank holidays of the run's months are listed. */
static void last_working_day(int64_t s, char on[16])
{
    for (int64_t d = s;; d -= 86400) {
        iso_date(d, on);
        int weekday = (int)((d / 86400 + 3) % 7); /* 0 Monday */
        if (weekday < 5 && strcmp(on, "2025-12-25") != 0 && strcmp(on, "2025-12-26") != 0 &&
            strcmp(on, "2026-01-01") != 0 && strcmp(on, "2026-04-03") != 0 && strcmp(on, "2026-04-06") != 0 &&
            strcmp(on, "2026-05-04") != 0 && strcmp(on, "2026-05-25") != 0)
            return;
    }
}

/* Opens a case whose request arrived at 09:30 on day `on` (a working day); returns its id, or 0 (error set).
 */
static long open_case(CURL *http, const char *idem, const char *surname, const char *on, long *retried,
                      bool *replayed, char *error, size_t error_size)
{
    char body[1024];
    snprintf(
        body, sizeof body,
        "{\"team_id\": %ld, \"confirm_new_child\": true, \"child\": {\"forename\": \"Chaos\", "
        "\"surname\": \"%s\", \"date_of_birth\": \"2018-03-09\"}, \"request\": {\"effective_on\": \"%s\", "
        "\"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": \"%sT09:30\"}}}",
        team_id, surname, on, on);
    reply r = post(http, "/api/v1/cases", OFFICER, idem, body, retried);
    long id = 0;
    if (ack(&r) && json_int(r.json, "id") > 0 && json_int(r.json, "version") == 1) {
        id = json_int(r.json, "id");
        *replayed = json_replayed(r.json);
    } else {
        snprintf(error, error_size, "opening %s -> %ld %s", idem, r.status, r.text);
    }
    cJSON_Delete(r.json);
    return id;
}

static void *client_main(void *arg)
{
    client *cl = arg;
    unsigned rng = (unsigned)(cl->index + 1) * 7919u;
    cl->http = curl_easy_init();
    static const char *const bodies[] = {"icb", "social_care", "head_or_principal"};
    for (int n = 0; !load_stop && !cl->error[0]; n++) {
        char today[16], key[48];
        int64_t day = T0_S + (int64_t)today_step * 86400;
        iso_date(day, today);
        if (rand_r(&rng) % 10 == 0) {
            char on[16];
            last_working_day(day, on);
            snprintf(key, sizeof key, "chaos-open-%d-%d", cl->index, n);
            char surname[48];
            snprintf(surname, sizeof surname, "Opened%dn%d", cl->index, n);
            bool replayed = false;
            long id =
                open_case(cl->http, key, surname, on, &cl->retried, &replayed, cl->error, sizeof cl->error);
            if (!id) break;
            cl->replayed += replayed;
            if (cl->open_count == cl->open_cap) {
                cl->open_cap = cl->open_cap ? cl->open_cap * 2 : 64;
                cl->open_keys = realloc(cl->open_keys, (size_t)cl->open_cap * sizeof *cl->open_keys);
                cl->opened_ids = realloc(cl->opened_ids, (size_t)cl->open_cap * sizeof *cl->opened_ids);
            }
            snprintf(cl->open_keys[cl->open_count], 48, "%s", key);
            cl->opened_ids[cl->open_count++] = id;
            client_add_case(cl, id, 1);
            continue;
        }
        int i = (int)(rand_r(&rng) % (unsigned)cl->case_count);
        snprintf(key, sizeof key, "chaos-event-%d-%d", cl->index, n);
        char path[64], body[256];
        snprintf(path, sizeof path, "/api/v1/cases/%ld/events", cl->cases[i]);
        snprintf(body, sizeof body,
                 "{\"type\": \"notification_sent\", \"effective_on\": \"%s\", \"expected_version\": %d, "
                 "\"fields\": {\"body\": \"%s\"}}",
                 today, cl->versions[i], bodies[rand_r(&rng) % 3]);
        reply r = post(cl->http, path, OFFICER, key, body, &cl->retried);
        if (!ack(&r) || json_int(r.json, "version") != cl->versions[i] + 1) {
            snprintf(cl->error, sizeof cl->error, "event %s on case %ld at version %d -> %ld %s", key,
                     cl->cases[i], cl->versions[i], r.status, r.text);
            cJSON_Delete(r.json);
            break;
        }
        cl->replayed += json_replayed(r.json);
        cJSON_Delete(r.json);
        cl->versions[i]++;
        if (cl->event_count == cl->event_cap) {
            cl->event_cap = cl->event_cap ? cl->event_cap * 2 : 1024;
            cl->events = realloc(cl->events, (size_t)cl->event_cap * sizeof *cl->events);
        }
        acked_event *e = &cl->events[cl->event_count++];
        e->case_id = cl->cases[i];
        e->seq = cl->versions[i];
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    curl_easy_cleanup(cl->http);
    return NULL;
}

static void client_free(client *cl)
{
    free(cl->cases);
    free(cl->versions);
    free(cl->events);
    free(cl->open_keys);
    free(cl->opened_ids);
    memset(cl, 0, sizeof *cl);
}

/* ---- the database, directly (reconnecting: PostgreSQL is restarted under it) --------------------- */

/* The first column of the first row as a number, or -1 when the query failed (then reconnects). */
static long db_count(PGconn **c, const char *sql)
{
    if (!*c || PQstatus(*c) != CONNECTION_OK) {
        PQfinish(*c);
        *c = PQconnectdb(direct_url);
        if (PQstatus(*c) != CONNECTION_OK) return -1;
        PQsetNoticeProcessor(*c, quiet, NULL);
    }
    PGresult *r = PQexec(*c, sql);
    long v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    if (v < 0) {
        PQfinish(*c);
        *c = NULL;
    }
    return v;
}

/* Due and unfired at instant `at_s`, or not yet planned: a case opened while the database was away
 * is planned by the scheduler's next sweep (up to a minute later), and until then the clock must not
 * pass its alert instants, or several levels would fall due at once and only the highest fire. */
static void unsettled_sql(int64_t at_s, char *sql, size_t size)
{
    snprintf(
        sql, size,
        "SELECT count(*) FROM deadlines WHERE status = 'open' AND (next_fire_at <= ehc__us_to_ts(%" PRId64
        ") OR planned_due_on IS DISTINCT FROM due_on)",
        at_s * 1000000);
}

/* ---- the clock -------------------------------------------------------------------------------- */

static struct mover {
    pthread_t thread;
    int step_ms;
    int steps_done;
    long retried;
    long max_settle_ms;
    char error[600];
} mv;

static void *mover_main(void *arg)
{
    (void)arg;
    CURL *http = curl_easy_init();
    PGconn *db = NULL;
    for (int step = 1; step <= DAYS && !load_stop && !mv.error[0]; step++) {
        int64_t t0 = ehc_test_now_ms(), at = T0_S + (int64_t)step * 86400;
        char iso[24], body[64], sql[256];
        iso_instant(at, iso);
        snprintf(body, sizeof body, "{\"now\": \"%s\"}", iso);
        unsettled_sql(at, sql, sizeof sql);
        for (;;) {
            reply r = post(http, "/admin/clock", ADMIN, NULL, body, &mv.retried);
            bool moved = r.status == 200 || (r.status == 503 && strstr(r.text, "not_settled"));
            if (!moved)
                snprintf(mv.error, sizeof mv.error, "POST /admin/clock %s -> %ld %s", iso, r.status, r.text);
            cJSON_Delete(r.json);
            if (!moved) break;
            /* settled in the database: nothing due unfired. A restart may be needed to get there
             * (the answering ehcd may have been killed since): send the same move again if not. */
            long n = -1;
            for (int64_t s0 = ehc_test_now_ms(); ehc_test_now_ms() - s0 < 10000; sleep_ms(20))
                if ((n = db_count(&db, sql)) == 0) break;
            if (n == 0) break;
            if (ehc_test_now_ms() - t0 > SETTLE_LIMIT_MS) {
                snprintf(mv.error, sizeof mv.error, "%ld deadlines still due at %s after %d s", n, iso,
                         SETTLE_LIMIT_MS / 1000);
                break;
            }
        }
        if (mv.error[0]) break;
        long took = (long)(ehc_test_now_ms() - t0);
        if (took > mv.max_settle_ms) mv.max_settle_ms = took;
        if (took > 5000)
            fprintf(stderr, "# %6.1f s: day %d took %.1f s to move and settle\n",
                    (double)(ehc_test_now_ms() - run_started_ms) / 1000, step, (double)took / 1000);
        today_step = step;
        mv.steps_done = step;
        while (ehc_test_now_ms() - t0 < mv.step_ms && !load_stop)
            sleep_ms(10);
    }
    PQfinish(db);
    curl_easy_cleanup(http);
    return NULL;
}

/* ---- the chaos schedule ------------------------------------------------------------------------ */

typedef enum fault { FAULT_KILL, FAULT_PG_RESTART, FAULT_CUT } fault;

static struct tally {
    int kills, kills_while_refused, pg_restarts, cuts, cuts_refusing;
} tally;

static void pg_restart(unsigned *rng)
{
    if (system(ehc_test_env("EHC_TEST_PG_STOP_CMD")) != 0) fail_msg("stopping PostgreSQL failed");
    sleep_ms((int)(rand_r(rng) % 1000));
    if (system(ehc_test_env("EHC_TEST_PG_START_CMD")) != 0) fail_msg("starting PostgreSQL failed");
    tally.pg_restarts++;
}

static void apply_fault(fault f, unsigned *rng)
{
    static const char *const names[] = {"SIGKILL ehcd", "restart PostgreSQL", "cut connections"};
    fprintf(stderr, "# %6.1f s: %s\n", (double)(ehc_test_now_ms() - run_started_ms) / 1000, names[f]);
    switch (f) {
    case FAULT_KILL:
        if (rand_r(rng) % 4 == 0) {
            /* the new ehcd starts while its database cannot be reached */
            proxy_cut(true);
            ehcd_kill_and_restart((int)(rand_r(rng) % 300));
            sleep_ms(500 + (int)(rand_r(rng) % 2000));
            proxy_refuse(false);
            tally.kills_while_refused++;
        } else {
            ehcd_kill_and_restart((int)(rand_r(rng) % 300));
        }
        tally.kills++;
        break;
    case FAULT_PG_RESTART: pg_restart(rng); break;
    case FAULT_CUT:
        if (rand_r(rng) % 2) {
            proxy_cut(true);
            sleep_ms(200 + (int)(rand_r(rng) % 2800));
            proxy_refuse(false);
            tally.cuts_refusing++;
        } else {
            proxy_cut(false);
        }
        tally.cuts++;
        break;
    }
}

/* ---- checks ------------------------------------------------------------------------------------- */

static PGresult *query(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s -> %s", sql, PQresultErrorMessage(r));
        fail();
    }
    return r;
}

static long scalar(PGconn *c, const char *sql)
{
    PGresult *r = query(c, sql, 0, NULL);
    long v = PQntuples(r) ? atol(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return v;
}

static void print_rows(PGconn *c, const char *what, const char *sql)
{
    PGresult *r = query(c, sql, 0, NULL);
    for (int i = 0; i < PQntuples(r) && i < 10; i++)
        fprintf(stderr, "%s: %s\n", what, PQgetvalue(r, i, 0));
    PQclear(r);
}

/* Every acknowledged event and opening exactly once, nothing unacknowledged. */
static long check_events(PGconn *c, long *events_out, long *opens_out)
{
    long wrong = 0, events = 0, opens = 0;
    for (int k = 0; k < CLIENTS; k++) {
        client *cl = &clients[k];
        for (int i = 0; i < cl->event_count; i++) {
            acked_event *e = &cl->events[i];
            char id[24];
            snprintf(id, sizeof id, "%ld", e->case_id);
            const char *params[2] = {id, e->key};
            PGresult *r = query(c,
                                "SELECT count(*), min(seq) FROM case_events WHERE case_id = $1::bigint AND "
                                "idempotency_key = $2",
                                2, params);
            if (atol(PQgetvalue(r, 0, 0)) != 1 || atoi(PQgetvalue(r, 0, 1)) != e->seq) {
                if (wrong < 10)
                    fprintf(stderr, "acknowledged event %s (case %ld, version %d): %s rows, seq %s\n", e->key,
                            e->case_id, e->seq, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
                wrong++;
            }
            PQclear(r);
        }
        events += cl->event_count;
        for (int i = 0; i < cl->open_count; i++) {
            const char *params[1] = {cl->open_keys[i]};
            PGresult *r = query(c,
                                "SELECT count(*), min(id) FROM cases WHERE authority_id = (SELECT id FROM "
                                "local_authorities) AND open_idempotency_key = $1",
                                1, params);
            if (atol(PQgetvalue(r, 0, 0)) != 1 || atol(PQgetvalue(r, 0, 1)) != cl->opened_ids[i]) {
                if (wrong < 10)
                    fprintf(stderr, "acknowledged opening %s (case %ld): %s rows, id %s\n", cl->open_keys[i],
                            cl->opened_ids[i], PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
                wrong++;
            }
            PQclear(r);
        }
        opens += cl->open_count;
    }
    /* nothing else: every case is an initial one or an acknowledged opening, and every event its
     * opening or an acknowledged one */
    long cases = scalar(c, "SELECT count(*) FROM cases");
    long logged = scalar(c, "SELECT count(*) FROM case_events");
    if (cases != INITIAL_CASES + opens || logged != cases + events) {
        fprintf(stderr, "%ld cases (expected %ld), %ld events (expected %ld)\n", cases, INITIAL_CASES + opens,
                logged, cases + events);
        wrong++;
    }
    *events_out = events;
    *opens_out = opens;
    return wrong;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_verify(void)
{
    char out_path[128];
    snprintf(out_path, sizeof out_path, "/tmp/ehcd-chaos-verify-%d.txt", (int)getpid());
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        size_t n = strlen(direct_url) + 16;
        char *env = malloc(n);
        snprintf(env, n, "DATABASE_URL=%s", direct_url);
        putenv(env);
        const char *bin = ehc_test_env("EHC_TEST_EHCD");
        execl(bin, bin, "verify", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    FILE *f = fopen(out_path, "r");
    char line[512], last[512] = "";
    while (f && fgets(line, sizeof line, f)) {
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) fputs(line, stderr);
        if (strstr(line, "replayed")) snprintf(last, sizeof last, "%s", line);
    }
    if (f) fclose(f);
    fprintf(stderr, "# ehcd verify: %s", last[0] ? last : "(no summary)\n");
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_non_null(strstr(last, " 0 difference(s)"));
    unlink(out_path);
}

/* ---- the test ---------------------------------------------------------------------------------- */

static PGconn *admin_db;

static void setup_database(void)
{
    admin_db = ehc_test_migrated_database("ehc_chaos", &direct_url);
    PQsetNoticeProcessor(admin_db, quiet, NULL);
    /* After a crash PostgreSQL fsyncs every file of the cluster before recovery (8 s and more for a
     * cluster holding every suite's databases, on a busy disk); one syncfs(2) of the file system is
     * as safe and takes a fraction of that, and keeps the short run short. */
    ehc_test_exec(admin_db, "ALTER SYSTEM SET recovery_init_sync_method = 'syncfs'");
    ehc_test_exec(admin_db, "SELECT pg_reload_conf()");
    /* the conninfo ends with this database's dbname=, after the cluster's */
    const char *d = NULL;
    for (const char *p = strstr(direct_url, "dbname="); p; p = strstr(p + 1, "dbname="))
        d = p;
    assert_non_null(d);
    sscanf(d + 7, "%95s", dbname);
    /* synchronous_commit stays on, as a council runs it: an immediate restart of PostgreSQL must not
     * lose a commit that ehcd acknowledged */
    ehc_test_exec(admin_db, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')");
    ehc_test_exec(admin_db,
                  "INSERT INTO teams (authority_id, name) SELECT id, 'North' FROM local_authorities");
    ehc_test_add_user(
        admin_db, "officer", false,
        "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, 'officer', "
        "t.authority_id, t.id FROM users u, teams t WHERE u.username = '%s'");
    ehc_test_add_user(
        admin_db, "manager", false,
        "INSERT INTO role_grants (user_id, role, authority_id, team_id) SELECT u.id, 'manager', "
        "t.authority_id, t.id FROM users u, teams t WHERE u.username = '%s'");
    ehc_test_add_user(admin_db, "admin", true, NULL);
    ehc_test_exec(admin_db, "INSERT INTO sim_clock (now_us) VALUES (%" PRId64 ")", T0_S * 1000000);
    ehc_test_exec(admin_db,
                  "INSERT INTO webhook_subscriptions (authority_id, name, url, secret) SELECT id, 'chaos', "
                  "'http://127.0.0.1:%d/hook', 'chaos-secret-0123456789' FROM local_authorities",
                  rx.port);
    team_id = ehc_test_scalar(admin_db, "SELECT id FROM teams");
    size_t n = strlen(admin_url) + strlen(dbname) + 128;
    proxy_url = malloc(n);
    snprintf(proxy_url, n, "%s dbname=%s host=127.0.0.1 port=%d sslmode=disable connect_timeout=5", admin_url,
             dbname, px.port);
}

/* INITIAL_CASES cases, requests received over the 100 days before the run, opened before any fault:
 * their alerts fall all through the run's days. */
static void open_initial_cases(void)
{
    CURL *http = curl_easy_init();
    for (int i = 0; i < INITIAL_CASES; i++) {
        char key[48], surname[48], on[16], error[600] = "";
        snprintf(key, sizeof key, "chaos-initial-%d", i);
        snprintf(surname, sizeof surname, "Initial%d", i);
        last_working_day(T0_S - (int64_t)(1 + (i * 37) % 100) * 86400, on);
        long retried = 0;
        bool replayed;
        long id = open_case(http, key, surname, on, &retried, &replayed, error, sizeof error);
        if (!id) fail_msg("%s", error);
        client_add_case(&clients[i % CLIENTS], id, 1);
    }
    curl_easy_cleanup(http);
    char sql[256];
    unsettled_sql(T0_S, sql, sizeof sql);
    int64_t t0 = ehc_test_now_ms();
    while (ehc_test_scalar(admin_db, "%s", sql) > 0) {
        if (ehc_test_now_ms() - t0 > SETTLE_LIMIT_MS)
            fail_msg("the initial cases did not settle; log %s", ehcd.log_path);
        sleep_ms(50);
    }
}

static void test_acknowledged_records_and_due_alerts_survive_kills_restarts_and_cuts(void **state)
{
    (void)state;
    const char *seed_env = getenv("EHC_TEST_SEED"), *seconds_env = getenv("EHC_CHAOS_SECONDS");
    unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL);
    int seconds = seconds_env ? atoi(seconds_env) : DEFAULT_SECONDS;
    if (seconds < 30) seconds = 30;
    fprintf(stderr, "# seed %u, %d s of chaos (EHC_TEST_SEED=%u EHC_CHAOS_SECONDS=%d repeat this run)\n",
            seed, seconds, seed, seconds);
    srand(seed);
    unsigned rng = seed;

    admin_url = strdup(ehc_test_database_url());
    receiver_start();
    proxy_start();
    setup_database();
    ehcd.port = ehc_test_free_port();
    pthread_mutex_lock(&ehcd.mu);
    ehcd_spawn();
    pthread_mutex_unlock(&ehcd.mu);
    if (!ehcd_wait_ready(30000)) fail_msg("ehcd did not become ready; log %s", ehcd.log_path);
    int64_t t_setup = ehc_test_now_ms();
    open_initial_cases();
    long baseline = ehc_test_scalar(admin_db, "SELECT count(*) FROM alerts");
    fprintf(stderr, "# %d cases opened and settled in %.1f s; %ld alerts before the run\n", INITIAL_CASES,
            (double)(ehc_test_now_ms() - t_setup) / 1000, baseline);

    /* the faults: at least 10 kills, 3 restarts of PostgreSQL and 4 cuts, more in a longer run, in a
     * seeded order at seeded moments */
    int kills = seconds / 6 > 10 ? seconds / 6 : 10;
    int restarts = seconds / 25 > 3 ? seconds / 25 : 3;
    int cuts = seconds / 12 > 5 ? seconds / 12 : 5;
    int total = kills + restarts + cuts;
    fault *plan = malloc((size_t)total * sizeof *plan);
    for (int i = 0; i < total; i++)
        plan[i] = i < kills ? FAULT_KILL : i < kills + restarts ? FAULT_PG_RESTART : FAULT_CUT;
    for (int i = total - 1; i > 0; i--) {
        int j = (int)(rand_r(&rng) % (unsigned)(i + 1));
        fault t = plan[i];
        plan[i] = plan[j];
        plan[j] = t;
    }

    mv.step_ms = seconds * 1000 / DAYS;
    run_started_ms = ehc_test_now_ms();
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].index = i;
        assert_int_equal(pthread_create(&clients[i].thread, NULL, client_main, &clients[i]), 0);
    }
    assert_int_equal(pthread_create(&mv.thread, NULL, mover_main, NULL), 0);
    threads_started = true;
    int64_t t_run = run_started_ms;
    for (int i = 0; i < total; i++) {
        /* the i-th fault somewhere in the i-th slice of the run */
        int64_t slice = (int64_t)seconds * 1000 / total;
        int64_t at = t_run + slice * i + (int64_t)(rand_r(&rng) % (unsigned)slice);
        while (ehc_test_now_ms() < at) {
            pthread_mutex_lock(&ehcd.mu);
            ehcd_check_alive();
            pthread_mutex_unlock(&ehcd.mu);
            sleep_ms(20);
        }
        apply_fault(plan[i], &rng);
    }
    free(plan);
    while (ehc_test_now_ms() - t_run < (int64_t)seconds * 1000)
        sleep_ms(50);
    int64_t chaos_ms = ehc_test_now_ms() - t_run;

    /* everything up: the load finishes what it has in hand (retrying until acknowledged) */
    load_stop = true;
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(clients[i].thread, NULL);
    pthread_join(mv.thread, NULL);
    threads_started = false;
    pthread_mutex_lock(&ehcd.mu);
    ehcd_check_alive();
    pthread_mutex_unlock(&ehcd.mu);
    for (int i = 0; i < CLIENTS; i++)
        if (clients[i].error[0]) fail_msg("officer %d: %s (log %s)", i, clients[i].error, ehcd.log_path);
    if (mv.error[0]) fail_msg("clock: %s (log %s)", mv.error, ehcd.log_path);
    if (ehcd.unexpected_exits) fail_msg("%s", ehcd.unexpected);
    assert_true(ehcd_wait_ready(30000));
    PQfinish(admin_db); /* PostgreSQL was restarted under it */
    admin_db = PQconnectdb(direct_url);
    assert_int_equal(PQstatus(admin_db), CONNECTION_OK);
    PQsetNoticeProcessor(admin_db, quiet, NULL);

    /* the deliveries that can go now have gone (rows leased by a killed ehcd wait for their lease) */
    int64_t t_drain = ehc_test_now_ms();
    static const char undelivered_now[] =
        "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND delivered_at IS NULL AND dead_at IS NULL "
        "AND next_attempt_at <= now() + interval '10 seconds'";
    while (ehc_test_scalar(admin_db, "%s", undelivered_now) > 0 && ehc_test_now_ms() - t_drain < 60000)
        sleep_ms(100);
    assert_int_equal(ehc_test_scalar(admin_db, "%s", undelivered_now), 0);
    ehc_test_daemon d = {.pid = ehcd.pid, .port = ehcd.port};
    snprintf(d.log_path, sizeof d.log_path, "%s", ehcd.log_path);
    ehc_test_daemon_stop_clean(&d);
    ehcd.pid = 0;

    /* ---- the records ---- */
    long events, opens;
    assert_int_equal(check_events(admin_db, &events, &opens), 0);

    /* ---- the alerts: expected from the schedules and the clock, compared both ways ---- */
    int64_t tf = T0_S + (int64_t)mv.steps_done * 86400;
    assert_int_equal(ehc_test_scalar(admin_db, "SELECT now_us / 1000000 FROM sim_clock"), tf);
    char expected[1024], sql[2600];
    snprintf(expected, sizeof expected,
             "SELECT d.id AS deadline_id, e ->> 'level' AS level, (e ->> 'at_us')::bigint AS at_us FROM "
             "deadlines d, "
             "jsonb_array_elements(d.alert_schedule) e WHERE d.alert_schedule IS NOT NULL AND (e ->> "
             "'at_us')::bigint > "
             "%" PRId64 " AND (e ->> 'at_us')::bigint <= %" PRId64,
             T0_S * 1000000, tf * 1000000);
    snprintf(
        sql, sizeof sql,
        "SELECT concat_ws(' ', x.deadline_id, x.level, x.at_us) FROM (%s) x WHERE NOT EXISTS (SELECT 1 FROM "
        "alerts a WHERE a.deadline_id = x.deadline_id AND a.level = x.level AND ehc__ts_to_us(a.fire_at) = "
        "x.at_us)",
        expected);
    print_rows(admin_db, "due but no alert", sql);
    char count_sql[2700];
    snprintf(count_sql, sizeof count_sql, "SELECT count(*) FROM (%s) y", sql);
    long missing = scalar(admin_db, count_sql);
    snprintf(sql, sizeof sql,
             "SELECT concat_ws(' ', a.deadline_id, a.level, a.fire_at) FROM alerts a WHERE a.fire_at > "
             "ehc__us_to_ts(%" PRId64
             ") AND NOT EXISTS (SELECT 1 FROM (%s) x WHERE a.deadline_id = x.deadline_id "
             "AND a.level = x.level AND ehc__ts_to_us(a.fire_at) = x.at_us)",
             T0_S * 1000000, expected);
    print_rows(admin_db, "alert not due", sql);
    snprintf(count_sql, sizeof count_sql, "SELECT count(*) FROM (%s) y", sql);
    long unexpected = scalar(admin_db, count_sql);
    snprintf(count_sql, sizeof count_sql, "SELECT count(*) FROM (%s) y", expected);
    long due = scalar(admin_db, count_sql);
    long during = scalar(admin_db, "SELECT count(*) FROM alerts") - baseline;
    long twice =
        scalar(admin_db, "SELECT count(*) FROM (SELECT 1 FROM alerts GROUP BY deadline_id, level HAVING "
                         "count(*) > 1) x");
    long early = scalar(admin_db, "SELECT count(*) FROM alerts WHERE fired_at < fire_at");
    long caught_up =
        scalar(admin_db,
               "SELECT count(*) FROM alerts WHERE caught_up AND fire_at > ehc__us_to_ts(1767614400000000)");

    /* ---- the outbox and what the receiver saw ---- */
    long no_rows =
        scalar(admin_db, "SELECT count(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE "
                         "o.alert_id = a.id AND o.channel = 'sse')");
    long hooks_wrong =
        scalar(admin_db, "SELECT count(*) FROM alerts a LEFT JOIN (SELECT alert_id, count(*) AS n FROM "
                         "outbox WHERE channel = 'webhook' GROUP BY alert_id) o ON o.alert_id = a.id "
                         "WHERE coalesce(o.n, 0) <> 1");
    long dup_keys = scalar(admin_db, "SELECT count(*) - count(DISTINCT idempotency_key) FROM outbox");
    long dead = scalar(admin_db, "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL");
    long leased =
        scalar(admin_db, "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND delivered_at IS NULL");
    qsort(rx.keys, rx.count, sizeof *rx.keys, cmp_str);
    long redelivered = 0, over_attempts = 0, unknown = 0;
    for (size_t i = 0; i < rx.count;) {
        size_t j = i;
        while (j < rx.count && strcmp(rx.keys[j], rx.keys[i]) == 0)
            j++;
        const char *params[1] = {rx.keys[i]};
        PGresult *r =
            query(admin_db, "SELECT attempts FROM outbox WHERE idempotency_key = $1 AND channel = 'webhook'",
                  1, params);
        if (PQntuples(r) != 1) {
            unknown++;
        } else if ((long)(j - i) > atol(PQgetvalue(r, 0, 0))) {
            if (over_attempts++ < 10)
                fprintf(stderr, "webhook %s received %zu times in %s attempts\n", rx.keys[i], j - i,
                        PQgetvalue(r, 0, 0));
        }
        redelivered += (long)(j - i - 1);
        PQclear(r);
        i = j;
    }
    PGresult *delivered = query(admin_db,
                                "SELECT idempotency_key FROM outbox WHERE channel = 'webhook' AND "
                                "delivered_at IS NOT NULL",
                                0, NULL);
    long never_received = 0;
    for (int i = 0; i < PQntuples(delivered); i++) {
        char *k = PQgetvalue(delivered, i, 0);
        if (!bsearch(&k, rx.keys, rx.count, sizeof *rx.keys, cmp_str) && never_received++ < 10)
            fprintf(stderr, "webhook %s settled as delivered but never received\n", k);
    }
    long delivered_rows = PQntuples(delivered);
    PQclear(delivered);

    long retried = mv.retried, replayed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        retried += clients[i].retried;
        replayed += clients[i].replayed;
    }
    fprintf(
        stderr,
        "# faults in %.1f s: %d SIGKILLs of ehcd (%d restarted while the database was unreachable), %d "
        "immediate "
        "PostgreSQL restarts, %d cuts (%d refusing new connections for a while); proxy: %ld connections, %ld "
        "reset, %ld refused\n",
        (double)chaos_ms / 1000, tally.kills, tally.kills_while_refused, tally.pg_restarts, tally.cuts,
        tally.cuts_refusing, px.accepted, px.reset, px.refused);
    fprintf(stderr,
            "# load: %ld events and %ld openings acknowledged (%ld requests sent again, %ld answers were "
            "replays); "
            "clock: %d of %d days (slowest step %.1f s)\n",
            events, opens, retried, replayed, mv.steps_done, DAYS, (double)mv.max_settle_ms / 1000);
    fprintf(stderr,
            "# alerts: %ld came due during the run, %ld raised (%ld of them catch-ups), %ld missing, %ld "
            "unexpected, "
            "%ld twice, %ld early\n",
            due, during, caught_up, missing, unexpected, twice, early);
    fprintf(stderr,
            "# webhooks: %ld rows delivered, %zu receipts (%ld repeats, %ld beyond the row's attempts, %ld "
            "of unknown "
            "rows), %ld delivered rows never received, %ld whose claim a fault cut short (sent again when "
            "its lease lapses), %ld dead\n",
            delivered_rows, rx.count, redelivered, over_attempts, unknown, never_received, leased, dead);

    assert_int_equal(missing, 0);
    assert_int_equal(unexpected, 0);
    assert_int_equal(twice, 0);
    assert_int_equal(early, 0);
    assert_int_equal(during, due);
    assert_true(due > 0);
    assert_int_equal(no_rows, 0);
    assert_int_equal(hooks_wrong, 0);
    assert_int_equal(dup_keys, 0);
    assert_int_equal(dead, 0);
    assert_int_equal(over_attempts, 0);
    assert_int_equal(unknown, 0);
    assert_int_equal(never_received, 0);
    assert_true(events > 0);
    assert_true(tally.kills >= 10);
    assert_true(tally.pg_restarts >= 3);
    assert_true(tally.cuts >= 4);

    run_verify();
    for (int i = 1; i <= ehcd.incarnation && !getenv("EHC_CHAOS_KEEP_LOGS"); i++) {
        char path[256];
        snprintf(path, sizeof path, "/tmp/ehcd-chaos-%d-%d.log", (int)getpid(), i);
        unlink(path);
    }
}

static int teardown(void **state)
{
    (void)state;
    load_stop = true;
    load_abort = true;
    if (threads_started) {
        for (int i = 0; i < CLIENTS; i++)
            pthread_join(clients[i].thread, NULL);
        pthread_join(mv.thread, NULL);
        threads_started = false;
    }
    if (ehcd.pid > 0) {
        kill(ehcd.pid, SIGKILL);
        waitpid(ehcd.pid, NULL, 0);
        ehcd.pid = 0;
    }
    proxy_stop();
    receiver_stop();
    PGconn *c = PQconnectdb(ehc_test_database_url());
    PQclear(PQexec(c, "ALTER SYSTEM RESET recovery_init_sync_method"));
    PQclear(PQexec(c, "SELECT pg_reload_conf()"));
    PQfinish(c);
    for (int i = 0; i < CLIENTS; i++)
        client_free(&clients[i]);
    PQfinish(admin_db);
    free(admin_url);
    free(direct_url);
    free(proxy_url);
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the proxy and the receiver write to peers that vanish: EPIPE, not death */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_acknowledged_records_and_due_alerts_survive_kills_restarts_and_cuts,
                                  teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
