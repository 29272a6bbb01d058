/* The driver of a generated caseload, shared by the end-to-end tests that take many requests through
 * the law over the API on a simulated clock (tests/e2e/test_reports.c, test_sen2.c): each test makes
 * its own cases and steps; this orders the steps by date, moves the clock to each new day, and opens
 * cases and records events and exceptions as an officer or manager would. */
#ifndef EHC_TEST_CASELOAD_H
#define EHC_TEST_CASELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "ehc/date.h"

/* One step of one generated case: on a day (days since the epoch), in the order seq within the day,
 * case number c, a kind the test defines. */
typedef struct ehc_caseload_step {
    int32_t on;
    int seq;
    int c;
    int kind;
} ehc_caseload_step;

/* A pseudo-random whole number in [lo, hi] from the generator state *rng (the same seed, the same
 * caseload). */
int ehc_caseload_roll(uint32_t *rng, int lo, int hi);
/* A day as YYYY-MM-DD, and back (a bad date fails the test). */
void ehc_caseload_iso(int32_t days, char out[EHC_DATE_ISO_SIZE]);
int32_t ehc_caseload_day(const char *iso);
/* The day itself when a weekday, else the Monday after. */
int32_t ehc_caseload_weekday(int32_t day);

/* Takes the steps in date order (then seq): before the first step of each new day the simulated clock
 * moves to 18:00 UTC that day (POST /admin/clock as the user "admin"); take does the step. */
void ehc_caseload_run(int port, ehc_caseload_step *steps, size_t n, void (*take)(const ehc_caseload_step *s));

/* Opens a case for a new child (child_json: the child object) in team_id, received on `on` from a
 * parent by email; fails the test unless 201. Returns the case's id. */
long ehc_caseload_open(int port, const char *token, long team_id, const char *child_json, const char *on);
/* Records an event (fields: a JSON object or NULL) on the case at its current version (read through
 * db); fails the test unless 201. */
void ehc_caseload_event(int port, PGconn *db, long case_id, const char *token, const char *type,
                        const char *on, const char *fields);
/* Records the exception to the 20-week limit (Reg 13(3)(c), applying from and told to the family on
 * `on`); fails the test unless 201. */
void ehc_caseload_exception(int port, PGconn *db, long case_id, const char *token, const char *on);

#endif
