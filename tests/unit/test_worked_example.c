/* docs/worked-example.md, checked: a request received by email at 09:30 on Monday 5 January 2026
 * taken through the eight stages of workflows/ehc-needs-assessment.json and then the first annual
 * review in workflows/annual-review.json. Every date asserted here is written by hand in the document
 * (worked out from the Regulations and the England and Wales calendar), never computed by the code
 * under test. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/calendar.h"
#include "ehc/machine.h"
#include "ehc/workflow.h"
#include "testlib.h"

typedef struct fixture {
    ehc_calendar_set *cals;
    ehc_workflow *wf;
    ehc_case_state state;
    ehc_machine_env env;
    ehc_effects fx;
    ehc_machine_error err;
} fixture;

static const char *source_dir(void)
{
    const char *dir = getenv("EHC_SOURCE_DIR");
    return dir && *dir ? dir : EHC_SOURCE_DIR;
}

static ehc_date day(const char *iso)
{
    ehc_date d;
    if (ehc_date_parse_iso(iso, &d) != 0) fail_msg("bad test date %s", iso);
    return d;
}

static void assert_date(ehc_date d, const char *iso)
{
    char got[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(d, got);
    assert_string_equal(got, iso);
}

static fixture *load_fixture(const char *workflow_file)
{
    fixture *f = ehc_calloc(1, sizeof *f);
    char *dir = ehc_asprintf("%s/workflows/calendars", source_dir());
    char *file = ehc_asprintf("%s/workflows/%s", source_dir(), workflow_file);
    ehc_load_error err;
    if (ehc_calendar_set_load_dir(dir, &f->cals, &err) != 0) fail_msg("%s %s", err.file, err.reason);
    if (ehc_workflow_load_file(file, f->cals, &f->wf, &err) != 0)
        fail_msg("%s %s %s", err.file, err.path, err.reason);
    free(dir);
    free(file);
    ehc_case_state_init(f->wf, &f->state);
    f->env.workflow = f->wf;
    f->env.calendars = f->cals;
    f->env.today = day("2028-12-31");
    return f;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ehc_effects_free(&f->fx);
    ehc_case_state_free(&f->state);
    ehc_workflow_free(f->wf);
    ehc_calendar_set_free(f->cals);
    free(f);
    return 0;
}

/* Records one event; a NULL date derives it from the event's fields. */
static int record(fixture *f, const char *type, const char *role, const char *on, ...)
{
    ehc_field_value fields[10];
    size_t n = 0;
    va_list ap;
    va_start(ap, on);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL; n++) {
        assert_true(n < EHC_ARRAY_SIZE(fields));
        fields[n].field = name;
        fields[n].value = va_arg(ap, const char *);
    }
    va_end(ap);
    const ehc_event_input in = {.type = type,
                                .actor_role = role,
                                .effective_on = on ? day(on) : (ehc_date){0},
                                .derive_effective_on = on == NULL,
                                .fields = fields,
                                .field_count = n};
    ehc_case_state next;
    ehc_effects_free(&f->fx);
    const int rc = ehc_machine_apply(&f->env, &f->state, &in, &next, &f->fx, &f->err);
    if (rc == 0) {
        ehc_case_state_free(&f->state);
        f->state = next;
    }
    return rc;
}

#define OK(f, ...)                                                                                           \
    do {                                                                                                     \
        if (record(f, __VA_ARGS__, NULL) != 0)                                                               \
            fail_msg("refused: %s: %s", ehc_machine_error_name((f)->err.code), (f)->err.message);            \
    } while (0)

#define REFUSED(f, status, why, ...)                                                                         \
    do {                                                                                                     \
        assert_int_equal(record(f, __VA_ARGS__, NULL), status);                                              \
        assert_int_equal((f)->err.code, why);                                                                \
    } while (0)

static const ehc_deadline_instance *find_instance(const fixture *f, const char *deadline, const char *key)
{
    for (size_t i = f->state.deadline_count; i-- > 0;) {
        const ehc_deadline_instance *d = &f->state.deadlines[i];
        if (strcmp(ehc_workflow_deadline(f->wf, d->deadline)->id, deadline) == 0 && strcmp(d->key, key) == 0)
            return d;
    }
    return NULL;
}

/* The latest instance of a deadline (with that key). */
static const ehc_deadline_instance *instance(const fixture *f, const char *deadline, const char *key)
{
    const ehc_deadline_instance *d = find_instance(f, deadline, key);
    if (!d) fail_msg("no instance of %s [%s]", deadline, key);
    return d;
}

static void assert_due(const fixture *f, const char *deadline, const char *iso)
{
    assert_date(instance(f, deadline, "")->due_on, iso);
}

static void assert_status(const fixture *f, const char *deadline, ehc_deadline_status s)
{
    assert_int_equal(instance(f, deadline, "")->status, s);
}

static const char *stage(const fixture *f)
{
    return ehc_workflow_stage(f->wf, f->state.stage)->id;
}

static const char *report(const fixture *f, const char *item)
{
    for (size_t i = 0; i < f->state.report_count; i++) {
        if (strcmp(f->state.reports[i].item, item) == 0) return f->state.reports[i].value;
    }
    return "";
}

static int setup_assessment(void **state)
{
    *state = load_fixture("ehc-needs-assessment.json");
    return 0;
}

static int setup_review(void **state)
{
    *state = load_fixture("annual-review.json");
    return 0;
}

static void assert_keyed_due(const fixture *f, const char *deadline, const char *key, const char *iso)
{
    assert_date(instance(f, deadline, key)->due_on, iso);
}

/* Stages 1-8 of the worked example, in the document's order; each block is one row of its table. */
static void test_worked_example_request_of_5_january_2026_through_the_eight_stages(void **state)
{
    fixture *f = *state;
    f->env.today = day("2026-07-21");
    /* 1 Request received and registered: Day 0 Monday 5 January 2026. */
    OK(f, "request_received", "officer", NULL, "requested_by", "parent", "channel", "email", "received_at",
       "2026-01-05T09:30");
    assert_date(f->state.origin_on, "2026-01-05");
    assert_due(f, "decision_due", "2026-02-16");
    assert_due(f, "no_plan_notice_due", "2026-04-27");
    assert_due(f, "final_plan_due", "2026-05-25");
    OK(f, "notification_sent", "officer", "2026-01-06", "body", "icb");
    OK(f, "notification_sent", "officer", "2026-01-06", "body", "social_care");
    OK(f, "notification_sent", "officer", "2026-01-06", "body", "head_or_principal");
    /* 2 Decision to assess: listed 2 February, decided Tuesday 10 February (due 16 February). */
    OK(f, "panel_listed", "officer", "2026-02-02");
    assert_string_equal(stage(f), "deciding");
    OK(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes");
    assert_status(f, "decision_due", EHC_DEADLINE_MET);
    assert_string_equal(stage(f), "assessing");
    /* 3 Advice: asked 20 February, received by the advisers Monday 23 February: due Monday 6 April
     * (Easter Monday: the date stands). */
    OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "ep", "adviser",
       "educational_psychologist", "received_on", "2026-02-23");
    OK(f, "advice_requested", "dco", "2026-02-20", "request_key", "health", "adviser", "medical",
       "received_on", "2026-02-23");
    assert_keyed_due(f, "advice_due", "ep", "2026-04-06");
    assert_keyed_due(f, "advice_due", "health", "2026-04-06");
    OK(f, "advice_received", "officer", "2026-04-01", "request_key", "ep");
    OK(f, "advice_received", "dco", "2026-04-06", "request_key", "health");
    assert_int_equal(instance(f, "advice_due", "health")->status, EHC_DEADLINE_MET);
    OK(f, "advice_complete", "officer", "2026-04-09");
    /* 4 Decision to issue: Friday 10 April (a no-plan notice would have been due 27 April). */
    assert_string_equal(stage(f), "deciding_to_issue");
    OK(f, "decision_to_issue", "manager", "2026-04-10", "decision", "yes");
    /* 5 Draft served Monday 20 April: the plan may not be final before Tuesday 5 May. */
    OK(f, "draft_served", "officer", NULL, "served_on", "2026-04-20");
    assert_string_equal(stage(f), "draft");
    assert_status(f, "no_plan_notice_due", EHC_DEADLINE_CANCELLED);
    assert_due(f, "representations_period", "2026-05-05");
    OK(f, "representations_received", "officer", "2026-04-24", "meeting_requested", "false");
    OK(f, "preference_named", "officer", "2026-04-24", "setting", "example-academy-trust");
    /* 6 Placement consultation sent Monday 27 April: the answer is expected by Tuesday 12 May. */
    OK(f, "consultation_sent", "officer", "2026-04-27", "setting_key", "s1");
    assert_keyed_due(f, "consultation_response_due", "s1", "2026-05-12");
    OK(f, "consultation_answered", "officer", "2026-05-07", "setting_key", "s1", "answer", "can_admit");
    assert_int_equal(instance(f, "consultation_response_due", "s1")->status, EHC_DEADLINE_MET);
    /* 7 Placement decided Friday 8 May; final plan Wednesday 20 May (due Monday 25 May). */
    OK(f, "placement_decided", "manager", "2026-05-08", "setting", "example-academy-trust");
    assert_string_equal(stage(f), "finalising");
    OK(f, "final_plan_issued", "manager", "2026-05-20");
    assert_status(f, "final_plan_due", EHC_DEADLINE_MET);
    assert_status(f, "representations_period", EHC_DEADLINE_MET);
    assert_string_equal(report(f, "AssessmentOutcome"), "Y");
    assert_string_equal(report(f, "StartDate"), "2026-05-20");
    assert_string_equal(report(f, "Week20"), "0");
    /* 8 Appeal window to Monday 20 July 2026; handed to the review cycle on Tuesday 21 July. */
    assert_string_equal(stage(f), "issued");
    assert_due(f, "appeal_window_plan", "2026-07-20");
    OK(f, "handed_to_review", "manager", "2026-07-21");
    assert_status(f, "appeal_window_plan", EHC_DEADLINE_CANCELLED);
    assert_string_equal(stage(f), "review_cycle");
}

/* The first annual review, in the review workflow's own case (opened on 21 July 2026). */
static void test_worked_example_first_annual_review_and_amendment(void **state)
{
    fixture *f = *state;
    f->env.today = day("2026-07-21");
    OK(f, "plan_made", "officer", "2026-05-20", "under_five", "false", "made_after", "assessment");
    assert_due(f, "first_review_due", "2027-05-19");
    f->env.today = day("2027-12-31");
    OK(f, "review_meeting_arranged", "officer", "2027-03-01", "meeting_on", "2027-05-04");
    assert_due(f, "invitations_due", "2027-04-20");
    assert_due(f, "advice_circulation_due", "2027-04-20");
    OK(f, "invitations_sent", "officer", "2027-04-19");
    OK(f, "advice_circulated", "officer", "2027-04-20");
    OK(f, "review_meeting_held", "officer", "2027-05-04");
    assert_due(f, "review_report_due", "2027-05-18");
    assert_due(f, "review_decision_due", "2027-06-01");
    assert_due(f, "amended_plan_after_review_due", "2027-07-27");
    OK(f, "review_report_sent", "officer", "2027-05-11");
    OK(f, "review_decision_notified", "manager", "2027-05-18", "decision", "amend", "under_five", "false");
    assert_status(f, "first_review_due", EHC_DEADLINE_MET);
    assert_status(f, "review_decision_due", EHC_DEADLINE_MET);
    assert_due(f, "review_due", "2028-05-17");
    OK(f, "amendment_proposed", "manager", "2027-05-18");
    assert_due(f, "amendment_representations_period", "2027-06-02");
    assert_due(f, "amended_plan_due", "2027-07-13");
    OK(f, "amended_plan_issued", "manager", "2027-06-15", "names_next_setting", "false");
    assert_status(f, "amended_plan_due", EHC_DEADLINE_MET);
    assert_status(f, "amended_plan_after_review_due", EHC_DEADLINE_MET);
    /* 2 months is Sunday 15 August 2027: the family's window runs to Wednesday 1 September. */
    assert_due(f, "appeal_window_amended_plan", "2027-09-01");
    assert_string_equal(stage(f), "maintained");
    assert_status(f, "review_due", EHC_DEADLINE_OPEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_worked_example_request_of_5_january_2026_through_the_eight_stages, setup_assessment,
            teardown),
        cmocka_unit_test_setup_teardown(test_worked_example_first_annual_review_and_amendment, setup_review,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
