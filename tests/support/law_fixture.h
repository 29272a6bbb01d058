/* Helpers shared by the unit tests that run a workflow file against the law with hand-written dates
 * (tests/unit/test_law_*.c, test_worked_example.c): a fixture holding the loaded calendars, workflow
 * and one case, recording events into it, and asserting on its deadlines and stage. */
#ifndef EHC_LAW_FIXTURE_H
#define EHC_LAW_FIXTURE_H

#include <stdbool.h>

#include "ehc/calendar.h"
#include "ehc/machine.h"
#include "ehc/workflow.h"
#include "testlib.h"

/* One case of one workflow; owns everything it points to, released by law_fixture_teardown. */
typedef struct law_fixture {
    ehc_calendar_set *cals;
    ehc_workflow *wf;
    ehc_case_state state;
    ehc_machine_env env;
    ehc_effects fx;        /* effects of the last law_record */
    ehc_machine_error err; /* why the last law_record was refused */
} law_fixture;

/* The repository root: $EHC_SOURCE_DIR when set and non-empty, else the one compiled in. */
const char *law_source_dir(void);

/* Parses a YYYY-MM-DD civil date, failing the test on a malformed one. */
ehc_date law_day(const char *iso);

/* Asserts that d is the civil date written as YYYY-MM-DD in iso. */
void law_assert_date(ehc_date d, const char *iso);

/* Loads workflows/calendars and workflows/<workflow_file> (failing the test on any load error) into a
 * new fixture with an empty case, whose machine's "today" is today_on (YYYY-MM-DD). */
law_fixture *law_fixture_load(const char *workflow_file, const char *today_on);

/* cmocka teardown: frees the law_fixture in *state and all it owns; returns 0. */
int law_fixture_teardown(void **state);

/* Replaces the fixture's case with a new, empty one of the same workflow. */
void law_fixture_restart(law_fixture *f);

/* Records one event: on is YYYY-MM-DD, or NULL to derive it from the event's fields; then field name,
 * value pairs ending with NULL (at most 10 pairs). Returns ehc_machine_apply's code (0, or the refusal
 * with f->err set); on 0 the case moves to the new state. f->fx holds the event's effects. */
int law_record(law_fixture *f, const char *type, const char *role, const char *on, ...);

/* Records an event (law_record's arguments without the closing NULL), failing the test if refused. */
#define LAW_OK(f, ...)                                                                                       \
    do {                                                                                                     \
        if (law_record(f, __VA_ARGS__, NULL) != 0)                                                           \
            fail_msg("refused: %s: %s", ehc_machine_error_name((f)->err.code), (f)->err.message);            \
    } while (0)

/* Records an event (law_record's arguments without the closing NULL), asserting it is refused with
 * return code status and machine error why. */
#define LAW_REFUSED(f, status, why, ...)                                                                     \
    do {                                                                                                     \
        assert_int_equal(law_record(f, __VA_ARGS__, NULL), status);                                          \
        assert_int_equal((f)->err.code, why);                                                                \
    } while (0)

/* Records a manager's exception_recorded (deadline [key, or NULL for none], exception), applying from on,
 * with evidence on file and the family told on; returns law_record's code. */
int law_record_exception(law_fixture *f, const char *on, const char *deadline, const char *exception,
                         const char *key);

/* The latest instance of a deadline with that key ("" for an unkeyed one), or NULL if none. */
const ehc_deadline_instance *law_find_instance(const law_fixture *f, const char *deadline, const char *key);

/* As law_find_instance, but fails the test if there is no such instance. */
const ehc_deadline_instance *law_instance(const law_fixture *f, const char *deadline, const char *key);

/* Asserts the latest instance of deadline [key] is due on iso (YYYY-MM-DD). */
void law_assert_due(const law_fixture *f, const char *deadline, const char *key, const char *iso);

/* Asserts the latest instance of deadline [key] has status s. */
void law_assert_status(const law_fixture *f, const char *deadline, const char *key, ehc_deadline_status s);

/* The id of the case's current stage. */
const char *law_stage(const law_fixture *f);

/* The case's value for a report item (e.g. a SEN2 field), or "" when it has none. */
const char *law_report(const law_fixture *f, const char *item);

#endif
