/* Helpers shared by the tests: required environment (a missing tool or cluster is a failure with a
 * clear message, never a skip), starting ehcd as a child process, and plain HTTP over a real socket. */
#ifndef EHC_TESTLIB_H
#define EHC_TESTLIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include <cmocka.h>

/* Returns the variable's value or stops the test program with exit 1 and a message saying what
 * is missing and that ./ehc test provides it. */
const char *ehc_test_env(const char *name);

/* The superuser conninfo of the throwaway cluster started by ./ehc test. */
const char *ehc_test_database_url(void);

/* Creates a fresh, empty database on the test cluster and returns its conninfo (malloc'd). */
char *ehc_test_create_database(const char *prefix);

/* Runs the printf-formatted query on c and returns the first column of the first row as a number,
 * 0 when there is no row; a failed query fails the test, printing the query and the error. */
long ehc_test_scalar(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs the printf-formatted SQL on c; a failed statement fails the test, printing the SQL and the
 * error. */
void ehc_test_exec(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Creates a fresh database on the test cluster (ehc_test_create_database), connects to it and applies
 * every migration, failing the test if either goes wrong. Returns the connection; its conninfo
 * (malloc'd) goes to *url_out. */
PGconn *ehc_test_migrated_database(const char *prefix, char **url_out);

/* The Authorization header of the API token ehc_test_add_user gives the user `name` (a literal). */
#define EHC_TEST_TOKEN(name) "Authorization: Bearer tok-" name "-0123456789abcdefghij"

/* Inserts a user (display name = username, is_admin = system_admin) with one API token,
 * "tok-<username>-0123456789abcdefghij", stored as its SHA-256 (see EHC_TEST_TOKEN); then, unless
 * grant_fmt is NULL, runs grant_fmt with the username for its one %s (typically an INSERT INTO
 * role_grants). A failed statement fails the test. */
void ehc_test_add_user(PGconn *c, const char *username, bool system_admin, const char *grant_fmt);

/* Runs a shell command given by environment variable (e.g. EHC_TEST_PG_STOP_CMD); fails the test
 * if it exits non-zero. */
void ehc_test_run_env_command(const char *env_name);

/* Runs cmd through the shell, its standard error joined to its output: returns its exit status (-1
 * if it did not exit) and the first size - 1 bytes it printed, in out. */
int ehc_test_run_capture(const char *cmd, char *out, size_t size);

/* `ehcd verify` on database_url, with env ("NAME=value ..." settings, or "") before it: its exit
 * status (0: no difference), and what it printed in out. */
int ehc_test_ehcd_verify(const char *database_url, const char *env, char *out, size_t size);

/* A free TCP port on 127.0.0.1. */
int ehc_test_free_port(void);

typedef struct ehc_test_daemon {
    pid_t pid;
    int port;
    char log_path[256];
} ehc_test_daemon;

/* Starts ehcd (EHC_TEST_EHCD) with the given arguments, and environment additions as
 * "KEY=VALUE" strings (NULL-terminated). Waits until /healthz answers (with --sim-clock, until
 * /readyz does too: the database is up and the simulated clock loaded) or fails the test. */
void ehc_test_daemon_start(ehc_test_daemon *d, const char *const *args, const char *const *env);
/* Starts `ehcd serve` on database_url (as DATABASE_URL) with the further arguments extra_args (e.g.
 * "--sim-clock=...") and environment additions extra_env ("KEY=VALUE"), both NULL-terminated or
 * NULL; waits as ehc_test_daemon_start does. */
void ehc_test_daemon_serve(ehc_test_daemon *d, const char *database_url, const char *const *extra_args,
                           const char *const *extra_env);
/* Sends sig, waits for exit and returns the exit status (as from waitpid). */
int ehc_test_daemon_stop(ehc_test_daemon *d, int sig);
/* Stops ehcd with SIGTERM and fails the test, naming its log, unless it exits with status 0 (under
 * the sanitizers: no leak and no memory error in anything the tests made it do). */
void ehc_test_daemon_stop_clean(ehc_test_daemon *d);
/* Undoes the set-up of a test group: kills ehcd (SIGKILL) if it still runs, closes c and frees
 * database_url; c and database_url may be NULL. */
void ehc_test_teardown(ehc_test_daemon *d, PGconn *c, char *database_url);

typedef struct ehc_test_response {
    long status; /* 0 when the request failed at the transport level */
    char *body;  /* NUL-terminated, malloc'd */
    size_t body_len;
    char *headers; /* raw header block, malloc'd */
    double seconds;
} ehc_test_response;

void ehc_test_http(ehc_test_response *r, const char *method, int port, const char *path, const char *body,
                   const char *const *headers);
void ehc_test_response_free(ehc_test_response *r);

/* An API request to ehcd on port with the header auth_header (e.g. EHC_TEST_TOKEN("officer1"); none
 * when NULL) and "Content-Type: application/json". Returns the status (0 on a transport failure);
 * the response goes to *out_or_null, which the caller frees, or is freed when that is NULL. */
long ehc_test_call(int port, const char *method, const char *path, const char *auth_header, const char *body,
                   ehc_test_response *out_or_null);

/* Monotonic milliseconds. */
int64_t ehc_test_now_ms(void);

#endif
