/* Helpers shared by the tests: required environment (a missing tool or cluster is a failure with a
 * clear message, never a skip), starting ehcd as a child process, and plain HTTP over a real socket. */
#ifndef EHC_TESTLIB_H
#define EHC_TESTLIB_H

#include <stdarg.h>
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

/* Runs a shell command given by environment variable (e.g. EHC_TEST_PG_STOP_CMD); fails the test
 * if it exits non-zero. */
void ehc_test_run_env_command(const char *env_name);

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
/* Sends sig, waits for exit and returns the exit status (as from waitpid). */
int ehc_test_daemon_stop(ehc_test_daemon *d, int sig);

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

/* Monotonic milliseconds. */
int64_t ehc_test_now_ms(void);

#endif
