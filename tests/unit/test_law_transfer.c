/* workflows/transfer-in.json against the law, with literal dates written by hand from the SEND Regulations
 * 2014 (reg 15, and reg 20 for the first review), CFA 2014 s44(1) and the England and Wales calendar: the
 * Reg 15(2) transfer day (working days across Christmas 2026 and New Year 2027), the 6-week notice, the
 * review by the later of the plan's 12-month period and 3 months after the transfer, each on its last
 * valid day and first late day; the hand-over to an annual-review case; a move that does not happen;
 * death. */
#include "law_fixture.h"

static int setup(void **state)
{
    *state = law_fixture_load("transfer-in.json", "2028-12-31");
    return 0;
}

/* The old authority learned on Friday 18 December 2026 of a move on Monday 4 January 2027. */
static void notified_at_christmas(law_fixture *f)
{
    LAW_OK(f, "transfer_notified", "officer", NULL, "old_authority", "la-999", "move_on", "2027-01-04",
           "old_authority_aware_on", "2026-12-18");
    assert_string_equal(law_stage(f), "awaiting_transfer");
}

/* ... and transferred the plan on Wednesday 13 January 2027; the plan's period started on start_on. */
static void transferred(law_fixture *f, const char *start_on)
{
    notified_at_christmas(f);
    LAW_OK(f, "plan_transferred_in", "officer", NULL, "transferred_on", "2027-01-13",
           "review_period_start_on", start_on);
    assert_string_equal(law_stage(f), "transferred");
}

/* A review meeting on meeting_on, arranged on 1 February 2027, with notice sent 2 weeks before it. */
static void review_meeting(law_fixture *f, const char *meeting_on, const char *notice_on)
{
    LAW_OK(f, "review_meeting_arranged", "officer", "2027-02-01", "meeting_on", meeting_on);
    LAW_OK(f, "invitations_sent", "officer", notice_on);
    LAW_OK(f, "advice_circulated", "officer", notice_on);
    LAW_OK(f, "review_meeting_held", "officer", meeting_on);
    assert_string_equal(law_stage(f), "review_held");
}

/* --- Reg 15(2): the transfer day ------------------------------------------------------------------------ */

static void test_learned_18_december_2026_plan_due_13_january_2027_skipping_three_bank_holidays(void **state)
{
    law_fixture *f = *state;
    notified_at_christmas(f);
    law_assert_date(f->state.origin_on, "2026-12-18");
    /* Working days: 21-24 December (4), 29-31 December (7; 25 and 28 December are bank holidays), 4-8 January
     * (12; 1 January is one), 11-13 January (15). Later than the move on 4 January. */
    law_assert_due(f, "plan_transfer_due", "", "2027-01-13");
    LAW_OK(f, "plan_transferred_in", "officer", NULL, "transferred_on", "2027-01-13",
           "review_period_start_on", "2026-06-10");
    law_assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET);
    law_fixture_restart(f);
    notified_at_christmas(f);
    LAW_OK(f, "plan_transferred_in", "officer", NULL, "transferred_on", "2027-01-14",
           "review_period_start_on", "2026-06-10");
    law_assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_with_15_working_days_notice_the_plan_transfers_on_the_day_of_the_move(void **state)
{
    law_fixture *f = *state;
    /* Learned Monday 2 November 2026; the 15th working day after is Monday 23 November; the move is later. */
    LAW_OK(f, "transfer_notified", "officer", NULL, "old_authority", "la-999", "move_on", "2026-12-14",
           "old_authority_aware_on", "2026-11-02");
    law_assert_due(f, "plan_transfer_due", "", "2026-12-14");
    LAW_OK(f, "plan_transferred_in", "officer", NULL, "transferred_on", "2026-12-15",
           "review_period_start_on", "2026-06-10");
    law_assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET_LATE);
    law_fixture_restart(f);
    LAW_OK(f, "transfer_notified", "officer", NULL, "old_authority", "la-999", "move_on", "2026-12-14",
           "old_authority_aware_on", "2026-11-02");
    LAW_OK(f, "plan_transferred_in", "officer", NULL, "transferred_on", "2026-12-14",
           "review_period_start_on", "2026-06-10");
    law_assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET);
}

static void test_a_transfer_before_the_old_authority_knew_of_the_move_is_refused(void **state)
{
    law_fixture *f = *state;
    notified_at_christmas(f);
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_DATE_BEFORE_ORIGIN, "plan_transferred_in", "officer", NULL,
                "transferred_on", "2026-12-17", "review_period_start_on", "2026-06-10");
    /* Nothing to tell the family, and no review, before the plan is here. */
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "transfer_notice_sent", "officer", "2026-12-21",
                "proposes_reassessment", "false", "review_by", "2027-06-01");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "review_meeting_arranged", "officer", "2026-12-21",
                "meeting_on", "2027-01-20");
}

/* --- Reg 15: the notice within 6 weeks ------------------------------------------------------------------ */

static void test_notice_to_the_family_due_24_february_6_weeks_after_a_transfer_on_13_january(void **state)
{
    law_fixture *f = *state;
    transferred(f, "2026-06-10");
    law_assert_due(f, "transfer_notice_due", "", "2027-02-24");
    LAW_OK(f, "transfer_notice_sent", "officer", "2027-02-24", "proposes_reassessment", "true", "review_by",
           "2027-06-01");
    law_assert_status(f, "transfer_notice_due", "", EHC_DEADLINE_MET);
    law_fixture_restart(f);
    transferred(f, "2026-06-10");
    LAW_OK(f, "transfer_notice_sent", "officer", "2027-02-25", "proposes_reassessment", "false", "review_by",
           "2027-06-01");
    law_assert_status(f, "transfer_notice_due", "", EHC_DEADLINE_MET_LATE);
    /* The notice must say whether this authority will re-assess and when it will review. */
    law_fixture_restart(f);
    transferred(f, "2026-06-10");
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_FIELD_MISSING, "transfer_notice_sent", "officer", "2027-02-20",
                "proposes_reassessment", "false");
}

/* --- Reg 15: the review by the later of 12 months and 3 months after the transfer --------------------- */

static void test_review_by_9_june_2027_the_end_of_the_plans_12_months_when_that_is_later(void **state)
{
    law_fixture *f = *state;
    /* Plan made 10 June 2026: its period ends 9 June 2027, after 13 April (3 months after the transfer). */
    transferred(f, "2026-06-10");
    law_assert_due(f, "transfer_review_due", "", "2027-06-09");
    review_meeting(f, "2027-05-25", "2027-05-11");
    LAW_OK(f, "review_decision_notified", "manager", "2027-06-09", "decision", "maintain");
    law_assert_status(f, "transfer_review_due", "", EHC_DEADLINE_MET);
    law_fixture_restart(f);
    transferred(f, "2026-06-10");
    review_meeting(f, "2027-05-25", "2027-05-11");
    LAW_OK(f, "review_decision_notified", "manager", "2027-06-10", "decision", "maintain");
    law_assert_status(f, "transfer_review_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_review_by_13_april_2027_3_months_after_the_transfer_when_that_is_later(void **state)
{
    law_fixture *f = *state;
    /* Last reviewed 20 February 2026: that period ends 19 February 2027, before 13 April. */
    transferred(f, "2026-02-20");
    law_assert_due(f, "transfer_review_due", "", "2027-04-13");
    review_meeting(f, "2027-04-06", "2027-03-23");
    LAW_OK(f, "review_decision_notified", "manager", "2027-04-13", "decision", "maintain");
    law_assert_status(f, "transfer_review_due", "", EHC_DEADLINE_MET);
    law_fixture_restart(f);
    transferred(f, "2026-02-20");
    review_meeting(f, "2027-04-06", "2027-03-23");
    LAW_OK(f, "review_decision_notified", "manager", "2027-04-14", "decision", "amend");
    law_assert_status(f, "transfer_review_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_meeting_on_6_april_notice_by_23_march_report_by_20_april_decision_by_4_may(void **state)
{
    law_fixture *f = *state;
    transferred(f, "2026-02-20");
    LAW_OK(f, "review_meeting_arranged", "officer", "2027-02-01", "meeting_on", "2027-04-06");
    law_assert_due(f, "invitations_due", "", "2027-03-23");
    law_assert_due(f, "advice_circulation_due", "", "2027-03-23");
    LAW_OK(f, "invitations_sent", "officer", "2027-03-23");
    LAW_OK(f, "advice_circulated", "officer", "2027-03-24");
    law_assert_status(f, "invitations_due", "", EHC_DEADLINE_MET);
    law_assert_status(f, "advice_circulation_due", "", EHC_DEADLINE_MET_LATE);
    LAW_OK(f, "review_meeting_held", "officer", "2027-04-06");
    law_assert_due(f, "review_report_due", "", "2027-04-20");
    law_assert_due(f, "review_decision_due", "", "2027-05-04");
    LAW_OK(f, "review_report_sent", "officer", "2027-04-21");
    law_assert_status(f, "review_report_due", "", EHC_DEADLINE_MET_LATE);
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-04", "decision", "maintain");
    law_assert_status(f, "review_decision_due", "", EHC_DEADLINE_MET);
    law_fixture_restart(f);
    transferred(f, "2026-02-20");
    review_meeting(f, "2027-04-06", "2027-03-23");
    LAW_OK(f, "review_report_sent", "officer", "2027-04-20");
    law_assert_status(f, "review_report_due", "", EHC_DEADLINE_MET);
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-05", "decision", "maintain");
    law_assert_status(f, "review_decision_due", "", EHC_DEADLINE_MET_LATE);
}

/* --- the hand-over to the annual-review case ---------------------------------------------------------- */

static void
test_decision_to_maintain_opens_an_appeal_window_then_hands_over_to_the_annual_review(void **state)
{
    law_fixture *f = *state;
    transferred(f, "2026-02-20");
    review_meeting(f, "2027-04-06", "2027-03-23");
    LAW_OK(f, "review_decision_notified", "manager", "2027-04-13", "decision", "maintain");
    assert_string_equal(law_stage(f), "reviewed");
    /* 2 months from 13 April 2027 is Sunday 13 June; a certificate on 1 June extends it to Thursday
     * 1 July. */
    law_assert_due(f, "appeal_window_no_amendment", "", "2027-06-13");
    LAW_OK(f, "mediation_certificate_issued", "officer", NULL, "issued_on", "2027-06-01");
    law_assert_due(f, "appeal_window_no_amendment", "", "2027-07-01");
    LAW_OK(f, "appeal_registered", "officer", "2027-07-01");
    law_assert_status(f, "appeal_window_no_amendment", "", EHC_DEADLINE_MET);
    LAW_OK(f, "handed_to_review", "manager", "2027-07-02");
    assert_string_equal(law_stage(f), "review_cycle");

    /* The annual-review case opens with the review's date as the start of the next s44 period. */
    law_fixture *review = law_fixture_load("annual-review.json", "2028-12-31");
    if (law_record(review, "plan_made", "officer", "2027-04-13", "under_five", "false", "made_after",
                   "transfer_review", NULL) != 0)
        fail_msg("refused: %s", review->err.message);
    law_assert_date(law_instance(review, "first_review_due", "")->due_on, "2028-04-12");
    void *p = review;
    law_fixture_teardown(&p);
}

static void test_decision_to_amend_hands_over_at_once_with_no_appeal_window_here(void **state)
{
    law_fixture *f = *state;
    transferred(f, "2026-02-20");
    review_meeting(f, "2027-04-06", "2027-03-23");
    LAW_OK(f, "review_decision_notified", "manager", "2027-04-13", "decision", "amend");
    assert_null(law_find_instance(f, "appeal_window_no_amendment", ""));
    LAW_OK(f, "handed_to_review", "manager", "2027-04-13");
    assert_string_equal(law_stage(f), "review_cycle");
}

/* --- a move that does not happen; death -------------------------------------------------------------- */

static void test_a_move_that_does_not_happen_closes_the_case_before_the_transfer_only(void **state)
{
    law_fixture *f = *state;
    notified_at_christmas(f);
    LAW_OK(f, "transfer_cancelled", "manager", "2027-01-05");
    assert_string_equal(law_stage(f), "not_transferred");
    law_assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_CANCELLED);
    law_fixture_restart(f);
    transferred(f, "2026-06-10");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "transfer_cancelled", "manager", "2027-01-20");
}

static void test_death_closes_the_case_and_stops_every_alert_and_letter(void **state)
{
    law_fixture *f = *state;
    transferred(f, "2026-06-10");
    LAW_OK(f, "child_died", "manager", "2027-02-01");
    assert_string_equal(law_stage(f), "deceased");
    assert_true(f->state.letters_stopped);
    law_assert_status(f, "transfer_notice_due", "", EHC_DEADLINE_CANCELLED);
    law_assert_status(f, "transfer_review_due", "", EHC_DEADLINE_CANCELLED);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, law_fixture_teardown)

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
