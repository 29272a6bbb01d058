/* docs/worked-example.md, checked: a request received by email at 09:30 on Monday 5 January 2026
 * taken through the eight stages of workflows/ehc-needs-assessment.json and then the first annual
 * review in workflows/annual-review.json. Every date asserted here is written by hand in the document
 * (worked out from the Regulations and the England and Wales calendar), never computed by the code
 * under test. */
#include "law_fixture.h"

static int setup_assessment(void **state)
{
    *state = law_fixture_load("ehc-needs-assessment.json", "2028-12-31");
    return 0;
}

static int setup_review(void **state)
{
    *state = law_fixture_load("annual-review.json", "2028-12-31");
    return 0;
}

/* Stages 1-8 of the worked example, in the document's order; each block is one row of its table. */
static void test_worked_example_request_of_5_january_2026_through_the_eight_stages(void **state)
{
    law_fixture *f = *state;
    f->env.today = law_day("2026-07-21");
    /* 1 Request received and registered: Day 0 Monday 5 January 2026. */
    LAW_OK(f, "request_received", "officer", NULL, "requested_by", "parent", "channel", "email",
           "received_at", "2026-01-05T09:30");
    law_assert_date(f->state.origin_on, "2026-01-05");
    law_assert_due(f, "decision_due", "", "2026-02-16");
    law_assert_due(f, "no_plan_notice_due", "", "2026-04-27");
    law_assert_due(f, "final_plan_due", "", "2026-05-25");
    LAW_OK(f, "notification_sent", "officer", "2026-01-06", "body", "icb");
    LAW_OK(f, "notification_sent", "officer", "2026-01-06", "body", "social_care");
    LAW_OK(f, "notification_sent", "officer", "2026-01-06", "body", "head_or_principal");
    /* 2 Decision to assess: listed 2 February, decided Tuesday 10 February (due 16 February). */
    LAW_OK(f, "panel_listed", "officer", "2026-02-02");
    assert_string_equal(law_stage(f), "deciding");
    LAW_OK(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes");
    law_assert_status(f, "decision_due", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "assessing");
    /* 3 Advice: asked 20 February, received by the advisers Monday 23 February: due Monday 6 April
     * (Easter Monday: the date stands). */
    LAW_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "ep", "adviser",
           "educational_psychologist", "received_on", "2026-02-23");
    LAW_OK(f, "advice_requested", "dco", "2026-02-20", "request_key", "health", "adviser", "medical",
           "received_on", "2026-02-23");
    law_assert_due(f, "advice_due", "ep", "2026-04-06");
    law_assert_due(f, "advice_due", "health", "2026-04-06");
    LAW_OK(f, "advice_received", "officer", "2026-04-01", "request_key", "ep");
    LAW_OK(f, "advice_received", "dco", "2026-04-06", "request_key", "health");
    assert_int_equal(law_instance(f, "advice_due", "health")->status, EHC_DEADLINE_MET);
    LAW_OK(f, "advice_complete", "officer", "2026-04-09");
    /* 4 Decision to issue: Friday 10 April (a no-plan notice would have been due 27 April). */
    assert_string_equal(law_stage(f), "deciding_to_issue");
    LAW_OK(f, "decision_to_issue", "manager", "2026-04-10", "decision", "yes");
    /* 5 Draft served Monday 20 April: the plan may not be final before Tuesday 5 May. */
    LAW_OK(f, "draft_served", "officer", NULL, "served_on", "2026-04-20");
    assert_string_equal(law_stage(f), "draft");
    law_assert_status(f, "no_plan_notice_due", "", EHC_DEADLINE_CANCELLED);
    law_assert_due(f, "representations_period", "", "2026-05-05");
    LAW_OK(f, "representations_received", "officer", "2026-04-24", "meeting_requested", "false");
    LAW_OK(f, "preference_named", "officer", "2026-04-24", "setting", "example-academy-trust");
    /* 6 Placement consultation sent Monday 27 April: the answer is expected by Tuesday 12 May. */
    LAW_OK(f, "consultation_sent", "officer", "2026-04-27", "setting_key", "s1");
    law_assert_due(f, "consultation_response_due", "s1", "2026-05-12");
    LAW_OK(f, "consultation_answered", "officer", "2026-05-07", "setting_key", "s1", "answer", "can_admit");
    assert_int_equal(law_instance(f, "consultation_response_due", "s1")->status, EHC_DEADLINE_MET);
    /* 7 Placement decided Friday 8 May; final plan Wednesday 20 May (due Monday 25 May). */
    LAW_OK(f, "placement_decided", "manager", "2026-05-08", "setting", "example-academy-trust");
    assert_string_equal(law_stage(f), "finalising");
    LAW_OK(f, "final_plan_issued", "manager", "2026-05-20");
    law_assert_status(f, "final_plan_due", "", EHC_DEADLINE_MET);
    law_assert_status(f, "representations_period", "", EHC_DEADLINE_MET);
    assert_string_equal(law_report(f, "AssessmentOutcome"), "Y");
    assert_string_equal(law_report(f, "StartDate"), "2026-05-20");
    assert_string_equal(law_report(f, "Week20"), "0");
    /* 8 Appeal window to Monday 20 July 2026; handed to the review cycle on Tuesday 21 July. */
    assert_string_equal(law_stage(f), "issued");
    law_assert_due(f, "appeal_window_plan", "", "2026-07-20");
    LAW_OK(f, "handed_to_review", "manager", "2026-07-21");
    law_assert_status(f, "appeal_window_plan", "", EHC_DEADLINE_CANCELLED);
    assert_string_equal(law_stage(f), "review_cycle");
}

/* The first annual review, in the review workflow's own case (opened on 21 July 2026). */
static void test_worked_example_first_annual_review_and_amendment(void **state)
{
    law_fixture *f = *state;
    f->env.today = law_day("2026-07-21");
    LAW_OK(f, "plan_made", "officer", "2026-05-20", "under_five", "false", "made_after", "assessment");
    law_assert_due(f, "first_review_due", "", "2027-05-19");
    f->env.today = law_day("2027-12-31");
    LAW_OK(f, "review_meeting_arranged", "officer", "2027-03-01", "meeting_on", "2027-05-04");
    law_assert_due(f, "invitations_due", "", "2027-04-20");
    law_assert_due(f, "advice_circulation_due", "", "2027-04-20");
    LAW_OK(f, "invitations_sent", "officer", "2027-04-19");
    LAW_OK(f, "advice_circulated", "officer", "2027-04-20");
    LAW_OK(f, "review_meeting_held", "officer", "2027-05-04");
    law_assert_due(f, "review_report_due", "", "2027-05-18");
    law_assert_due(f, "review_decision_due", "", "2027-06-01");
    law_assert_due(f, "amended_plan_after_review_due", "", "2027-07-27");
    LAW_OK(f, "review_report_sent", "officer", "2027-05-11");
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-18", "decision", "amend", "under_five",
           "false");
    law_assert_status(f, "first_review_due", "", EHC_DEADLINE_MET);
    law_assert_status(f, "review_decision_due", "", EHC_DEADLINE_MET);
    law_assert_due(f, "review_due", "", "2028-05-17");
    LAW_OK(f, "amendment_proposed", "manager", "2027-05-18");
    law_assert_due(f, "amendment_representations_period", "", "2027-06-02");
    law_assert_due(f, "amended_plan_due", "", "2027-07-13");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-06-15", "names_next_setting", "false");
    law_assert_status(f, "amended_plan_due", "", EHC_DEADLINE_MET);
    law_assert_status(f, "amended_plan_after_review_due", "", EHC_DEADLINE_MET);
    /* 2 months is Sunday 15 August 2027: the family's window runs to Wednesday 1 September. */
    law_assert_due(f, "appeal_window_amended_plan", "", "2027-09-01");
    assert_string_equal(law_stage(f), "maintained");
    law_assert_status(f, "review_due", "", EHC_DEADLINE_OPEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_worked_example_request_of_5_january_2026_through_the_eight_stages, setup_assessment,
            law_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_worked_example_first_annual_review_and_amendment, setup_review,
                                        law_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
