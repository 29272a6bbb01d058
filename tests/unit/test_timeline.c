/* The timeline printed by `ehcd timeline`: each date with its kind, basis and status (met, met
 * late, open, overdue, not before, after, exception applies), days counted in the singular when one,
 * dates derived from fields, corrections (supersedes_seq), stopped letters, and a refused event
 * reported, not printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/timeline.h"
#include "testlib.h"

typedef struct fixture {
    ehc_calendar_set *cals;
    ehc_workflow *wf;
} fixture;

static const char *source_dir(void)
{
    const char *dir = getenv("EHC_SOURCE_DIR");
    return dir && *dir ? dir : EHC_SOURCE_DIR;
}

static int setup(void **state)
{
    fixture *f = ehc_calloc(1, sizeof *f);
    char *dir = ehc_asprintf("%s/workflows/calendars", source_dir());
    char *file = ehc_asprintf("%s/tests/fixtures/workflows/assessment-start.json", source_dir());
    ehc_load_error err;
    if (ehc_calendar_set_load_dir(dir, &f->cals, &err) != 0) fail_msg("%s %s", err.path, err.reason);
    if (ehc_workflow_load_file(file, f->cals, &f->wf, &err) != 0) fail_msg("%s %s", err.path, err.reason);
    free(dir);
    free(file);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ehc_workflow_free(f->wf);
    ehc_calendar_set_free(f->cals);
    free(f);
    return 0;
}

static char *render(fixture *f, const char *json, const char *today, int *rc, ehc_machine_error *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ehc_date d;
    assert_int_equal(ehc_date_parse_iso(today, &d), 0);
    *rc = ehc_timeline_render(f->wf, f->cals, json, d, out, err);
    fclose(out);
    return text;
}

static const char *const case_events =
    "[{\"type\": \"request_received\", \"role\": \"officer\", \"effective_on\": \"2026-01-05\","
    "  \"fields\": {\"source\": \"parent\"}},"
    " {\"type\": \"decision_to_assess\", \"role\": \"manager\", \"effective_on\": \"2026-02-17\","
    "  \"fields\": {\"decision\": \"yes\"}},"
    " {\"type\": \"advice_requested\", \"role\": \"officer\", \"effective_on\": \"2026-02-20\","
    "  \"fields\": {\"request_key\": \"A\", \"adviser\": \"educational\", \"urgent\": true, \"copies\": 2}},"
    " {\"type\": \"exception_recorded\", \"role\": \"manager\", \"effective_on\": \"2026-03-02\","
    "  \"fields\": {\"deadline\": \"final_plan_due\", \"exception\": \"reg_10_4_c\"}}]";

static void test_timeline_prints_each_date_with_kind_basis_and_status(void **state)
{
    int rc;
    char *text = render(*state, case_events, "2026-04-10", &rc, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(text, "stage: assessment"));
    assert_non_null(strstr(text, "2026-02-16  due       decision_due  statutory  [SEND Regulations 2014, "
                                 "reg 5(1)]  met late 2026-02-17 (1 day)"));
    assert_non_null(strstr(text, "2026-04-03  due       advice_due (A)  statutory  [SEND Regulations 2014, "
                                 "reg 8(1)]  overdue (7 days)"));
    assert_non_null(strstr(text, "2026-05-25  due       final_plan_due  statutory  [SEND Regulations 2014, "
                                 "reg 13(2)]  open; exception applies: reg_10_4_c"));
    assert_non_null(strstr(text, "decision_local_target  local  [local target]  met late"));
    assert_non_null(strstr(text, "RequestOutcome = Y"));
    free(text);
}

static void test_timeline_shows_earliest_dates_as_not_before(void **state)
{
    int rc;
    const char *json =
        "[{\"type\": \"request_received\", \"role\": \"officer\", \"effective_on\": \"2026-01-05\","
        "  \"fields\": {\"source\": \"parent\"}},"
        " {\"type\": \"decision_to_assess\", \"role\": \"manager\", \"effective_on\": \"2026-02-16\","
        "  \"fields\": {\"decision\": \"yes\"}},"
        " {\"type\": \"draft_served\", \"role\": \"officer\", \"effective_on\": \"2026-04-20\","
        "  \"fields\": {\"served_on\": \"2026-04-20\"}}]";
    char *text = render(*state, json, "2026-04-21", &rc, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(text, "2026-05-05  not before representations_period  statutory  "
                                 "[SEND Regulations 2014, reg 13(1)]  running"));
    assert_non_null(strstr(text, "2026-02-16  due       decision_due  statutory  [SEND Regulations 2014, "
                                 "reg 5(1)]  met 2026-02-16"));
    free(text);
}

static void test_timeline_reports_a_refused_event_and_prints_nothing(void **state)
{
    int rc;
    ehc_machine_error err;
    const char *json =
        "[{\"type\": \"request_received\", \"role\": \"officer\", \"effective_on\": \"2026-01-05\","
        "  \"fields\": {\"source\": \"parent\"}},"
        " {\"type\": \"final_plan_issued\", \"role\": \"manager\", \"effective_on\": \"2026-01-06\"}]";
    char *text = render(*state, json, "2026-04-21", &rc, &err);
    assert_int_equal(rc, EHC_ESTATE);
    assert_int_equal(err.code, EHC_MACHINE_E_NOT_ALLOWED);
    assert_non_null(strstr(err.message, "event 2 refused"));
    assert_string_equal(text, "");
    free(text);
    text = render(*state, "{\"not\": \"an array\"}", "2026-04-21", &rc, &err);
    assert_int_equal(rc, EHC_EINVAL);
    free(text);
}

static void test_timeline_derives_dates_and_shows_a_correction_and_what_it_replaced(void **state)
{
    int rc;
    ehc_machine_error err;
    const char *json =
        "[{\"type\": \"request_received\", \"role\": \"officer\", \"effective_on\": \"2026-01-05\","
        "  \"fields\": {\"source\": \"parent\"}},"
        " {\"type\": \"decision_to_assess\", \"role\": \"manager\", \"effective_on\": \"2026-02-18\","
        "  \"fields\": {\"decision\": \"yes\"}},"
        " {\"type\": \"draft_served\", \"role\": \"officer\", \"derive_effective_on\": true,"
        "  \"fields\": {\"served_on\": \"2026-04-20\"}},"
        " {\"type\": \"decision_to_assess\", \"role\": \"manager\", \"effective_on\": \"2026-02-16\","
        "  \"fields\": {\"decision\": \"yes\"}, \"supersedes_seq\": 2,"
        "  \"correction_reason\": \"date mistyped\"}]";
    char *text = render(*state, json, "2026-04-21", &rc, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(text, "    3  2026-04-20  draft_served\n"));
    assert_non_null(strstr(text, "    2  2026-02-18  decision_to_assess  (superseded by 4)\n"));
    assert_non_null(strstr(text, "    4  2026-02-16  decision_to_assess  (corrects 2: date mistyped)\n"));
    assert_non_null(strstr(text, "reg 5(1)]  met 2026-02-16"));
    free(text);
    /* Neither a date nor derive_effective_on; a supersedes_seq that is not a whole number. */
    text =
        render(*state, "[{\"type\": \"request_received\", \"role\": \"officer\"}]", "2026-04-21", &rc, &err);
    assert_int_equal(rc, EHC_EINVAL);
    assert_non_null(strstr(err.message, "derive_effective_on"));
    free(text);
    text = render(*state,
                  "[{\"type\": \"request_received\", \"role\": \"officer\", \"effective_on\": \"2026-01-05\","
                  "  \"supersedes_seq\": 1.5}]",
                  "2026-04-21", &rc, &err);
    assert_int_equal(rc, EHC_EINVAL);
    assert_non_null(strstr(err.message, "supersedes_seq"));
    free(text);
}

static void test_timeline_counts_one_overdue_day_in_the_singular_and_two_in_the_plural(void **state)
{
    int rc;
    const char *json = "[{\"type\": \"request_received\", \"role\": \"officer\", \"effective_on\": "
                       "\"2026-01-05\", \"fields\": {\"source\": \"parent\"}}]";
    char *text = render(*state, json, "2026-02-17", &rc, NULL);
    assert_non_null(strstr(text, "reg 5(1)]  overdue (1 day)\n"));
    free(text);
    text = render(*state, json, "2026-02-18", &rc, NULL);
    assert_non_null(strstr(text, "reg 5(1)]  overdue (2 days)\n"));
    free(text);
}

/* The review workflow's cease clock runs to the last day of the appeal window: "after" it. */
static void test_timeline_shows_an_after_clock_and_stopped_letters(void **state)
{
    fixture *f = *state;
    char *file = ehc_asprintf("%s/workflows/annual-review.json", source_dir());
    ehc_workflow *review = NULL;
    ehc_load_error lerr;
    if (ehc_workflow_load_file(file, f->cals, &review, &lerr) != 0) fail_msg("%s %s", lerr.path, lerr.reason);
    free(file);
    ehc_workflow *saved = f->wf;
    f->wf = review;
    int rc;
    const char *json =
        "[{\"type\": \"plan_made\", \"role\": \"officer\", \"effective_on\": \"2026-05-20\","
        "  \"fields\": {\"under_five\": false, \"made_after\": \"assessment\"}},"
        " {\"type\": \"cease_consultation_started\", \"role\": \"officer\", \"effective_on\": "
        "\"2026-09-01\"},"
        " {\"type\": \"cease_decision_notified\", \"role\": \"manager\", \"effective_on\": \"2026-10-01\","
        "  \"fields\": {\"ground\": \"no_longer_necessary\"}},"
        " {\"type\": \"child_died\", \"role\": \"manager\", \"effective_on\": \"2026-10-20\"}]";
    char *text = render(f, json, "2026-10-21", &rc, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(text, "2026-12-01  after     cease_not_before  statutory  "));
    assert_non_null(strstr(text, "letters and alerts stopped for good"));
    assert_non_null(strstr(text, "2027-05-19  due       first_review_due  statutory  [CFA 2014 s44(1)]  "
                                 "cancelled 2026-10-20"));
    free(text);
    f->wf = saved;
    ehc_workflow_free(review);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeline_prints_each_date_with_kind_basis_and_status),
        cmocka_unit_test(test_timeline_shows_earliest_dates_as_not_before),
        cmocka_unit_test(test_timeline_reports_a_refused_event_and_prints_nothing),
        cmocka_unit_test(test_timeline_derives_dates_and_shows_a_correction_and_what_it_replaced),
        cmocka_unit_test(test_timeline_counts_one_overdue_day_in_the_singular_and_two_in_the_plural),
        cmocka_unit_test(test_timeline_shows_an_after_clock_and_stopped_letters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
