/* workflows/transfer-in.json against the law, with literal dates written by hand from the SEND Regulations
 * 2014 (reg 15, and reg 20 for the first review), CFA 2014 s44(1) and the England and Wales calendar: the
 * Reg 15(2) transfer day (working days across Christmas 2026 and New Year 2027), the 6-week notice, the
 * review by the later of the plan's 12-month period and 3 months after the transfer, each on its last
 * valid day and first late day; the hand-over to an annual-review case; a move that does not happen;
 * death. */
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

static void restart(fixture *f)
{
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
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

static void assert_due(const fixture *f, const char *deadline, const char *key, const char *iso)
{
    assert_date(instance(f, deadline, key)->due_on, iso);
}

static void assert_status(const fixture *f, const char *deadline, const char *key, ehc_deadline_status s)
{
    assert_int_equal(instance(f, deadline, key)->status, s);
}

static const char *stage(const fixture *f)
{
    return ehc_workflow_stage(f->wf, f->state.stage)->id;
}

static int setup(void **state)
{
    *state = load_fixture("transfer-in.json");
    return 0;
}

/* The old authority learned on Friday 18 December 2026 of a move on Monday 4 January 2027. */
static void notified_at_christmas(fixture *f)
{
    OK(f, "transfer_notified", "officer", NULL, "old_authority", "la-999", "move_on", "2027-01-04",
       "old_authority_aware_on", "2026-12-18");
    assert_string_equal(stage(f), "awaiting_transfer");
}

/* ... and transferred the plan on Wednesday 13 January 2027; the plan's period started on start_on. */
static void transferred(fixture *f, const char *start_on)
{
    notified_at_christmas(f);
    OK(f, "plan_transferred_in", "officer", NULL, "transferred_on", "2027-01-13", "review_period_start_on",
       start_on);
    assert_string_equal(stage(f), "transferred");
}

/* A review meeting on meeting_on, arranged on 1 February 2027, with notice sent 2 weeks before it. */
static void review_meeting(fixture *f, const char *meeting_on, const char *notice_on)
{
    OK(f, "review_meeting_arranged", "officer", "2027-02-01", "meeting_on", meeting_on);
    OK(f, "invitations_sent", "officer", notice_on);
    OK(f, "advice_circulated", "officer", notice_on);
    OK(f, "review_meeting_held", "officer", meeting_on);
    assert_string_equal(stage(f), "review_held");
}

/* --- Reg 15(2): the transfer day ------------------------------------------------------------------------ */

static void test_learned_18_december_2026_plan_due_13_january_2027_skipping_three_bank_holidays(void **state)
{
    fixture *f = *state;
    notified_at_christmas(f);
    assert_date(f->state.origin_on, "2026-12-18");
    /* Working days: 21-24 December (4), 29-31 December (7; 25 and 28 December are bank holidays), 4-8 January
     * (12; 1 January is one), 11-13 January (15). Later than the move on 4 January. */
    assert_due(f, "plan_transfer_due", "", "2027-01-13");
    OK(f, "plan_transferred_in", "officer", NULL, "transferred_on", "2027-01-13", "review_period_start_on",
       "2026-06-10");
    assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET);
    restart(f);
    notified_at_christmas(f);
    OK(f, "plan_transferred_in", "officer", NULL, "transferred_on", "2027-01-14", "review_period_start_on",
       "2026-06-10");
    assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_with_15_working_days_notice_the_plan_transfers_on_the_day_of_the_move(void **state)
{
    fixture *f = *state;
    /* Learned Monday 2 November 2026; the 15th working day after is Monday 23 November; the move is later. */
    OK(f, "transfer_notified", "officer", NULL, "old_authority", "la-999", "move_on", "2026-12-14",
       "old_authority_aware_on", "2026-11-02");
    assert_due(f, "plan_transfer_due", "", "2026-12-14");
    OK(f, "plan_transferred_in", "officer", NULL, "transferred_on", "2026-12-15", "review_period_start_on",
       "2026-06-10");
    assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET_LATE);
    restart(f);
    OK(f, "transfer_notified", "officer", NULL, "old_authority", "la-999", "move_on", "2026-12-14",
       "old_authority_aware_on", "2026-11-02");
    OK(f, "plan_transferred_in", "officer", NULL, "transferred_on", "2026-12-14", "review_period_start_on",
       "2026-06-10");
    assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET);
}

static void test_a_transfer_before_the_old_authority_knew_of_the_move_is_refused(void **state)
{
    fixture *f = *state;
    notified_at_christmas(f);
    REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_DATE_BEFORE_ORIGIN, "plan_transferred_in", "officer", NULL,
            "transferred_on", "2026-12-17", "review_period_start_on", "2026-06-10");
    /* Nothing to tell the family, and no review, before the plan is here. */
    REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "transfer_notice_sent", "officer", "2026-12-21",
            "proposes_reassessment", "false", "review_by", "2027-06-01");
    REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "review_meeting_arranged", "officer", "2026-12-21",
            "meeting_on", "2027-01-20");
}

/* --- Reg 15: the notice within 6 weeks ------------------------------------------------------------------ */

static void test_notice_to_the_family_due_24_february_6_weeks_after_a_transfer_on_13_january(void **state)
{
    fixture *f = *state;
    transferred(f, "2026-06-10");
    assert_due(f, "transfer_notice_due", "", "2027-02-24");
    OK(f, "transfer_notice_sent", "officer", "2027-02-24", "proposes_reassessment", "true", "review_by",
       "2027-06-01");
    assert_status(f, "transfer_notice_due", "", EHC_DEADLINE_MET);
    restart(f);
    transferred(f, "2026-06-10");
    OK(f, "transfer_notice_sent", "officer", "2027-02-25", "proposes_reassessment", "false", "review_by",
       "2027-06-01");
    assert_status(f, "transfer_notice_due", "", EHC_DEADLINE_MET_LATE);
    /* The notice must say whether this authority will re-assess and when it will review. */
    restart(f);
    transferred(f, "2026-06-10");
    REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_FIELD_MISSING, "transfer_notice_sent", "officer", "2027-02-20",
            "proposes_reassessment", "false");
}

/* --- Reg 15: the review by the later of 12 months and 3 months after the transfer --------------------- */

static void test_review_by_9_june_2027_the_end_of_the_plans_12_months_when_that_is_later(void **state)
{
    fixture *f = *state;
    /* Plan made 10 June 2026: its period ends 9 June 2027, after 13 April (3 months after the transfer). */
    transferred(f, "2026-06-10");
    assert_due(f, "transfer_review_due", "", "2027-06-09");
    review_meeting(f, "2027-05-25", "2027-05-11");
    OK(f, "review_decision_notified", "manager", "2027-06-09", "decision", "maintain");
    assert_status(f, "transfer_review_due", "", EHC_DEADLINE_MET);
    restart(f);
    transferred(f, "2026-06-10");
    review_meeting(f, "2027-05-25", "2027-05-11");
    OK(f, "review_decision_notified", "manager", "2027-06-10", "decision", "maintain");
    assert_status(f, "transfer_review_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_review_by_13_april_2027_3_months_after_the_transfer_when_that_is_later(void **state)
{
    fixture *f = *state;
    /* Last reviewed 20 February 2026: that period ends 19 February 2027, before 13 April. */
    transferred(f, "2026-02-20");
    assert_due(f, "transfer_review_due", "", "2027-04-13");
    review_meeting(f, "2027-04-06", "2027-03-23");
    OK(f, "review_decision_notified", "manager", "2027-04-13", "decision", "maintain");
    assert_status(f, "transfer_review_due", "", EHC_DEADLINE_MET);
    restart(f);
    transferred(f, "2026-02-20");
    review_meeting(f, "2027-04-06", "2027-03-23");
    OK(f, "review_decision_notified", "manager", "2027-04-14", "decision", "amend");
    assert_status(f, "transfer_review_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_meeting_on_6_april_notice_by_23_march_report_by_20_april_decision_by_4_may(void **state)
{
    fixture *f = *state;
    transferred(f, "2026-02-20");
    OK(f, "review_meeting_arranged", "officer", "2027-02-01", "meeting_on", "2027-04-06");
    assert_due(f, "invitations_due", "", "2027-03-23");
    assert_due(f, "advice_circulation_due", "", "2027-03-23");
    OK(f, "invitations_sent", "officer", "2027-03-23");
    OK(f, "advice_circulated", "officer", "2027-03-24");
    assert_status(f, "invitations_due", "", EHC_DEADLINE_MET);
    assert_status(f, "advice_circulation_due", "", EHC_DEADLINE_MET_LATE);
    OK(f, "review_meeting_held", "officer", "2027-04-06");
    assert_due(f, "review_report_due", "", "2027-04-20");
    assert_due(f, "review_decision_due", "", "2027-05-04");
    OK(f, "review_report_sent", "officer", "2027-04-21");
    assert_status(f, "review_report_due", "", EHC_DEADLINE_MET_LATE);
    OK(f, "review_decision_notified", "manager", "2027-05-04", "decision", "maintain");
    assert_status(f, "review_decision_due", "", EHC_DEADLINE_MET);
    restart(f);
    transferred(f, "2026-02-20");
    review_meeting(f, "2027-04-06", "2027-03-23");
    OK(f, "review_report_sent", "officer", "2027-04-20");
    assert_status(f, "review_report_due", "", EHC_DEADLINE_MET);
    OK(f, "review_decision_notified", "manager", "2027-05-05", "decision", "maintain");
    assert_status(f, "review_decision_due", "", EHC_DEADLINE_MET_LATE);
}

/* --- the hand-over to the annual-review case ---------------------------------------------------------- */

static void
test_decision_to_maintain_opens_an_appeal_window_then_hands_over_to_the_annual_review(void **state)
{
    fixture *f = *state;
    transferred(f, "2026-02-20");
    review_meeting(f, "2027-04-06", "2027-03-23");
    OK(f, "review_decision_notified", "manager", "2027-04-13", "decision", "maintain");
    assert_string_equal(stage(f), "reviewed");
    /* 2 months from 13 April 2027 is Sunday 13 June; a certificate on 1 June extends it to Thursday
     * 1 July. */
    assert_due(f, "appeal_window_no_amendment", "", "2027-06-13");
    OK(f, "mediation_certificate_issued", "officer", NULL, "issued_on", "2027-06-01");
    assert_due(f, "appeal_window_no_amendment", "", "2027-07-01");
    OK(f, "appeal_registered", "officer", "2027-07-01");
    assert_status(f, "appeal_window_no_amendment", "", EHC_DEADLINE_MET);
    OK(f, "handed_to_review", "manager", "2027-07-02");
    assert_string_equal(stage(f), "review_cycle");

    /* The annual-review case opens with the review's date as the start of the next s44 period. */
    fixture *review = load_fixture("annual-review.json");
    if (record(review, "plan_made", "officer", "2027-04-13", "under_five", "false", "made_after",
               "transfer_review", NULL) != 0)
        fail_msg("refused: %s", review->err.message);
    assert_date(instance(review, "first_review_due", "")->due_on, "2028-04-12");
    void *p = review;
    teardown(&p);
}

static void test_decision_to_amend_hands_over_at_once_with_no_appeal_window_here(void **state)
{
    fixture *f = *state;
    transferred(f, "2026-02-20");
    review_meeting(f, "2027-04-06", "2027-03-23");
    OK(f, "review_decision_notified", "manager", "2027-04-13", "decision", "amend");
    assert_null(find_instance(f, "appeal_window_no_amendment", ""));
    OK(f, "handed_to_review", "manager", "2027-04-13");
    assert_string_equal(stage(f), "review_cycle");
}

/* --- a move that does not happen; death -------------------------------------------------------------- */

static void test_a_move_that_does_not_happen_closes_the_case_before_the_transfer_only(void **state)
{
    fixture *f = *state;
    notified_at_christmas(f);
    OK(f, "transfer_cancelled", "manager", "2027-01-05");
    assert_string_equal(stage(f), "not_transferred");
    assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_CANCELLED);
    restart(f);
    transferred(f, "2026-06-10");
    REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "transfer_cancelled", "manager", "2027-01-20");
}

static void test_death_closes_the_case_and_stops_every_alert_and_letter(void **state)
{
    fixture *f = *state;
    transferred(f, "2026-06-10");
    OK(f, "child_died", "manager", "2027-02-01");
    assert_string_equal(stage(f), "deceased");
    assert_true(f->state.letters_stopped);
    assert_status(f, "transfer_notice_due", "", EHC_DEADLINE_CANCELLED);
    assert_status(f, "transfer_review_due", "", EHC_DEADLINE_CANCELLED);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_learned_18_december_2026_plan_due_13_january_2027_skipping_three_bank_holidays),
        T(test_with_15_working_days_notice_the_plan_transfers_on_the_day_of_the_move),
        T(test_a_transfer_before_the_old_authority_knew_of_the_move_is_refused),
        T(test_notice_to_the_family_due_24_february_6_weeks_after_a_transfer_on_13_january),
        T(test_review_by_9_june_2027_the_end_of_the_plans_12_months_when_that_is_later),
        T(test_review_by_13_april_2027_3_months_after_the_transfer_when_that_is_later),
        T(test_meeting_on_6_april_notice_by_23_march_report_by_20_april_decision_by_4_may),
        T(test_decision_to_maintain_opens_an_appeal_window_then_hands_over_to_the_annual_review),
        T(test_decision_to_amend_hands_over_at_once_with_no_appeal_window_here),
        T(test_a_move_that_does_not_happen_closes_the_case_before_the_transfer_only),
        T(test_death_closes_the_case_and_stops_every_alert_and_letter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
