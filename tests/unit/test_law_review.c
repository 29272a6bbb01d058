/* workflows/annual-review.json against the law, with literal dates written by hand from CFA 2014
 * s44 and the SEND Regulations 2014 (regs 15, 18, 20, 22, 29-31, 44, 45) and the England and Wales
 * calendar: each limit on its last valid day and its first late day; the under-5 interval as a local
 * target only; amendments with both the Reg 22 8 weeks and the Devon 12 weeks; phase transfers;
 * ceasing (refused where Regs 29-31 do not allow it); every dispute path; moving away and death. */
#include <stdlib.h>
#include <string.h>

#include "law_fixture.h"

static int setup(void **state)
{
    *state = law_fixture_load("annual-review.json", "2028-12-31");
    return 0;
}

/* The plan was made on Wednesday 20 May 2026 (the worked example's final plan). */
static void plan_made(law_fixture *f, const char *under_five)
{
    LAW_OK(f, "plan_made", "officer", "2026-05-20", "under_five", under_five, "made_after", "assessment");
}

/* A review meeting on Tuesday 4 May 2027, arranged on 1 March 2027, notice and advice on time. */
static void review_meeting(law_fixture *f)
{
    LAW_OK(f, "review_meeting_arranged", "officer", "2027-03-01", "meeting_on", "2027-05-04");
    LAW_OK(f, "invitations_sent", "officer", "2027-04-20");
    LAW_OK(f, "advice_circulated", "officer", "2027-04-20");
    LAW_OK(f, "review_meeting_held", "officer", "2027-05-04");
    assert_string_equal(law_stage(f), "review_held");
}

/* --- s44: the 12-month periods -------------------------------------------------------------------------- */

static void test_first_review_by_19_may_2027_for_a_plan_made_20_may_2026_and_20_may_is_late(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    law_assert_date(f->state.origin_on, "2026-05-20");
    law_assert_due(f, "first_review_due", "", "2027-05-19");
    assert_null(law_find_instance(f, "early_years_review_target", ""));
    review_meeting(f);
    LAW_OK(f, "review_report_sent", "officer", "2027-05-18");
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-19", "decision", "maintain", "under_five",
           "false");
    law_assert_status(f, "first_review_due", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "maintained");
    law_fixture_restart(f);
    plan_made(f, "false");
    review_meeting(f);
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-20", "decision", "maintain", "under_five",
           "false");
    law_assert_status(f, "first_review_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_next_period_starts_with_the_review_date_19_may_2027_so_due_18_may_2028(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    review_meeting(f);
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-19", "decision", "maintain", "under_five",
           "false");
    law_assert_due(f, "review_due", "", "2028-05-18");
    law_assert_status(f, "review_due", "", EHC_DEADLINE_OPEN);
    /* The second review: its decision meets this period and starts the next (2028 is a leap year). */
    LAW_OK(f, "review_meeting_arranged", "officer", "2028-03-01", "meeting_on", "2028-04-27");
    LAW_OK(f, "review_meeting_held", "officer", "2028-04-27");
    law_assert_status(f, "review_report_due", "", EHC_DEADLINE_OPEN);
    LAW_OK(f, "review_decision_notified", "manager", "2028-05-18", "decision", "maintain", "under_five",
           "false");
    assert_int_equal(f->state.deadlines[f->state.deadline_count - 1].status, EHC_DEADLINE_OPEN);
    law_assert_due(f, "review_due", "", "2029-05-17");
    size_t met = 0;
    for (size_t i = 0; i < f->state.deadline_count; i++) {
        const ehc_deadline_instance *d = &f->state.deadlines[i];
        if (strcmp(ehc_workflow_deadline(f->wf, d->deadline)->id, "review_due") == 0 &&
            d->status == EHC_DEADLINE_MET) {
            law_assert_date(d->due_on, "2028-05-18");
            met++;
        }
    }
    assert_int_equal(met, 1);
}

static void
test_under_five_interval_is_a_local_target_of_6_months_by_default_and_never_statutory(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "true");
    law_assert_due(f, "early_years_review_target", "", "2026-11-19");
    const ehc_deadline_instance *d = law_instance(f, "early_years_review_target", "");
    assert_int_equal(ehc_workflow_deadline(f->wf, d->deadline)->kind, EHC_DEADLINE_LOCAL);
    /* Overdue on 20 November 2026 as a local target, while the statutory review is not due until May. */
    assert_true(ehc_machine_is_overdue(f->wf, d, law_day("2026-11-20")));
    assert_false(
        ehc_machine_is_overdue(f->wf, law_instance(f, "first_review_due", ""), law_day("2026-11-20")));
    LAW_OK(f, "review_meeting_arranged", "officer", "2026-11-02", "meeting_on", "2026-11-23");
    LAW_OK(f, "review_meeting_held", "officer", "2026-11-23");
    LAW_OK(f, "review_decision_notified", "manager", "2026-11-30", "decision", "maintain", "under_five",
           "true");
    law_assert_status(f, "early_years_review_target", "", EHC_DEADLINE_MET_LATE);
    /* The review is a review under s44 too: the statutory clock is met on time and restarts. */
    law_assert_status(f, "first_review_due", "", EHC_DEADLINE_MET);
    law_assert_due(f, "review_due", "", "2027-11-29");
    law_assert_due(f, "early_years_next_review_target", "", "2027-05-29");
}

static void
test_an_authority_may_set_3_months_for_under_fives_but_not_shorten_a_statutory_review(void **state)
{
    law_fixture *f = *state;
    const ehc_local_override ok[] = {
        {.deadline = "early_years_review_target", .length = {.unit = EHC_LENGTH_PERIOD_MONTHS, .count = 3}},
        {.deadline = "early_years_next_review_target",
         .length = {.unit = EHC_LENGTH_PERIOD_MONTHS, .count = 3}}};
    ehc_machine_error err;
    assert_int_equal(ehc_machine_check_overrides(f->wf, ok, 2, &err), 0);
    const ehc_local_override bad[] = {
        {.deadline = "first_review_due", .length = {.unit = EHC_LENGTH_PERIOD_MONTHS, .count = 6}}};
    assert_int_not_equal(ehc_machine_check_overrides(f->wf, bad, 1, &err), 0);
    assert_int_equal(err.code, EHC_MACHINE_E_OVERRIDE_INVALID);
    assert_string_equal(err.rule, "CFA 2014 s44(1)");
    f->env.overrides = ok;
    f->env.override_count = 2;
    plan_made(f, "true");
    law_assert_due(f, "early_years_review_target", "", "2026-08-19");
    law_assert_due(f, "first_review_due", "", "2027-05-19");
}

/* --- Reg 20: notice, advice, report, decision ---------------------------------------------------------- */

static void test_invitations_and_advice_due_20_april_for_a_meeting_on_4_may_and_21_april_is_late(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    LAW_OK(f, "review_meeting_arranged", "officer", "2027-03-01", "meeting_on", "2027-05-04");
    law_assert_due(f, "invitations_due", "", "2027-04-20");
    law_assert_due(f, "advice_circulation_due", "", "2027-04-20");
    LAW_OK(f, "invitations_sent", "officer", "2027-04-20");
    LAW_OK(f, "advice_circulated", "officer", "2027-04-21");
    law_assert_status(f, "invitations_due", "", EHC_DEADLINE_MET);
    law_assert_status(f, "advice_circulation_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_a_new_meeting_date_needs_fresh_notice_2_weeks_before_it(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    LAW_OK(f, "review_meeting_arranged", "officer", "2027-03-01", "meeting_on", "2027-05-04");
    LAW_OK(f, "invitations_sent", "officer", "2027-04-01");
    LAW_OK(f, "review_meeting_arranged", "officer", "2027-04-10", "meeting_on", "2027-05-11");
    law_assert_due(f, "invitations_due", "", "2027-04-27");
    law_assert_status(f, "invitations_due", "", EHC_DEADLINE_OPEN);
    law_assert_due(f, "advice_circulation_due", "", "2027-04-27");
    LAW_OK(f, "review_meeting_held", "officer", "2027-05-11");
    /* Held without the fresh notice: the clocks close, never met. */
    law_assert_status(f, "invitations_due", "", EHC_DEADLINE_CANCELLED);
}

static void test_report_due_18_may_and_decision_due_1_june_after_a_meeting_on_4_may(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    review_meeting(f);
    law_assert_due(f, "review_report_due", "", "2027-05-18");
    law_assert_due(f, "review_decision_due", "", "2027-06-01");
    LAW_OK(f, "review_report_sent", "officer", "2027-05-19");
    law_assert_status(f, "review_report_due", "", EHC_DEADLINE_MET_LATE);
    LAW_OK(f, "review_decision_notified", "manager", "2027-06-01", "decision", "maintain", "under_five",
           "false");
    law_assert_status(f, "review_decision_due", "", EHC_DEADLINE_MET);
    law_fixture_restart(f);
    plan_made(f, "false");
    review_meeting(f);
    LAW_OK(f, "review_report_sent", "officer", "2027-05-18");
    law_assert_status(f, "review_report_due", "", EHC_DEADLINE_MET);
    LAW_OK(f, "review_decision_notified", "manager", "2027-06-02", "decision", "maintain", "under_five",
           "false");
    law_assert_status(f, "review_decision_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_review_meeting_needs_an_arranged_meeting(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "review_meeting_held", "officer", "2027-05-04");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "review_decision_notified", "manager", "2027-05-04",
                "decision", "maintain", "under_five", "false");
}

/* --- Reg 22 and Devon: amendments ---------------------------------------------------------------------- */

static void test_amended_plan_not_before_15_days_and_within_8_weeks_of_the_notice(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    review_meeting(f);
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-11", "decision", "amend", "under_five",
           "false");
    assert_string_equal(law_stage(f), "amending");
    LAW_OK(f, "amendment_proposed", "manager", "2027-05-11");
    law_assert_due(f, "amendment_representations_period", "", "2027-05-26");
    law_assert_due(f, "amended_plan_due", "", "2027-07-06");
    law_assert_due(f, "amended_plan_after_review_due", "", "2027-07-27");
    LAW_OK(f, "amendment_representations_received", "officer", "2027-05-20", "meeting_requested", "true");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "amended_plan_issued", "manager", "2027-05-25",
                "names_next_setting", "false");
    assert_string_equal(f->err.rule, "SEND Regulations 2014, reg 22(2)");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-07-06", "names_next_setting", "false");
    law_assert_status(f, "amendment_representations_period", "", EHC_DEADLINE_MET);
    law_assert_status(f, "amended_plan_due", "", EHC_DEADLINE_MET);
    law_assert_status(f, "amended_plan_after_review_due", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "maintained");
    law_assert_due(f, "appeal_window_amended_plan", "", "2027-09-06");
    law_fixture_restart(f);
    plan_made(f, "false");
    review_meeting(f);
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-11", "decision", "amend", "under_five",
           "false");
    LAW_OK(f, "amendment_proposed", "manager", "2027-05-11");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-07-07", "names_next_setting", "false");
    law_assert_status(f, "amended_plan_due", "", EHC_DEADLINE_MET_LATE);
    law_assert_status(f, "amended_plan_after_review_due", "", EHC_DEADLINE_MET);
}

static void test_devon_final_amended_plan_no_later_than_27_july_12_weeks_after_the_meeting(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    review_meeting(f);
    LAW_OK(f, "review_decision_notified", "manager", "2027-06-01", "decision", "amend", "under_five",
           "false");
    /* Proposals sent two weeks after the decision, not with it: Reg 22's 8 weeks would run to 10 August. */
    LAW_OK(f, "amendment_proposed", "manager", "2027-06-15");
    law_assert_due(f, "amended_plan_due", "", "2027-08-10");
    law_assert_due(f, "amended_plan_after_review_due", "", "2027-07-27");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-07-28", "names_next_setting", "false");
    law_assert_status(f, "amended_plan_due", "", EHC_DEADLINE_MET);
    law_assert_status(f, "amended_plan_after_review_due", "", EHC_DEADLINE_MET_LATE);
    law_fixture_restart(f);
    plan_made(f, "false");
    review_meeting(f);
    LAW_OK(f, "review_decision_notified", "manager", "2027-06-01", "decision", "amend", "under_five",
           "false");
    LAW_OK(f, "amendment_proposed", "manager", "2027-06-15");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-07-27", "names_next_setting", "false");
    law_assert_status(f, "amended_plan_after_review_due", "", EHC_DEADLINE_MET);
}

static void test_deciding_not_to_amend_after_all_within_8_weeks_opens_the_appeal_window(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    /* Amendment outside a review: no Devon clock. */
    LAW_OK(f, "amendment_proposed", "manager", "2026-12-21");
    assert_string_equal(law_stage(f), "amending");
    law_assert_due(f, "amended_plan_due", "", "2027-02-15");
    assert_null(law_find_instance(f, "amended_plan_after_review_due", ""));
    LAW_OK(f, "amendment_not_made", "manager", "2027-02-16");
    law_assert_status(f, "amended_plan_due", "", EHC_DEADLINE_MET_LATE);
    law_assert_status(f, "amendment_representations_period", "", EHC_DEADLINE_CANCELLED);
    law_assert_due(f, "appeal_window_not_amended", "", "2027-04-16");
    LAW_OK(f, "appeal_registered", "officer", "2027-04-16", "matter", "no_amendment");
    law_assert_status(f, "appeal_window_not_amended", "", EHC_DEADLINE_MET);
}

static void test_a_decision_to_maintain_cancels_the_devon_clock_and_opens_an_appeal_window(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    review_meeting(f);
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-19", "decision", "maintain", "under_five",
           "false");
    law_assert_status(f, "amended_plan_after_review_due", "", EHC_DEADLINE_CANCELLED);
    law_assert_due(f, "appeal_window_no_amendment", "", "2027-07-19");
    LAW_OK(f, "appeal_registered", "officer", "2027-07-20", "matter", "no_amendment");
    law_assert_status(f, "appeal_window_no_amendment", "", EHC_DEADLINE_MET_LATE);
}

/* --- Reg 18: phase transfers ---------------------------------------------------------------------------- */

static void amend_for_transfer(law_fixture *f, const char *transfer, const char *transfer_on,
                               const char *proposed)
{
    plan_made(f, "false");
    LAW_OK(f, "phase_transfer_identified", "officer", "2026-06-01", "transfer", transfer, "transfer_on",
           transfer_on);
    LAW_OK(f, "amendment_proposed", "manager", proposed);
}

static void test_phase_transfer_before_15_february_last_valid_day_14_february_2027(void **state)
{
    law_fixture *f = *state;
    amend_for_transfer(f, "school_phase", "2027-09-01", "2026-12-21");
    law_assert_due(f, "phase_transfer_due", "", "2027-02-14");
    /* An amended plan that does not name the next school does not meet it. */
    LAW_OK(f, "amended_plan_issued", "manager", "2027-01-05", "names_next_setting", "false");
    law_assert_status(f, "phase_transfer_due", "", EHC_DEADLINE_OPEN);
    LAW_OK(f, "amendment_proposed", "manager", "2027-01-20");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-02-14", "names_next_setting", "true");
    law_assert_status(f, "phase_transfer_due", "", EHC_DEADLINE_MET);
    law_fixture_restart(f);
    amend_for_transfer(f, "school_phase", "2027-09-01", "2026-12-21");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-02-15", "names_next_setting", "true");
    law_assert_status(f, "phase_transfer_due", "", EHC_DEADLINE_MET_LATE);
    law_assert_status(f, "amended_plan_due", "", EHC_DEADLINE_MET);
}

static void test_secondary_to_post16_before_31_march_last_valid_day_30_march_2027(void **state)
{
    law_fixture *f = *state;
    amend_for_transfer(f, "secondary_to_post16", "2027-09-06", "2027-02-10");
    law_assert_due(f, "post16_transfer_due", "", "2027-03-30");
    assert_null(law_find_instance(f, "phase_transfer_due", ""));
    LAW_OK(f, "amended_plan_issued", "manager", "2027-03-30", "names_next_setting", "true");
    law_assert_status(f, "post16_transfer_due", "", EHC_DEADLINE_MET);
    law_fixture_restart(f);
    amend_for_transfer(f, "secondary_to_post16", "2027-09-06", "2027-02-10");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-03-31", "names_next_setting", "true");
    law_assert_status(f, "post16_transfer_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_post16_move_at_least_5_months_before_1_september_is_by_1_april(void **state)
{
    law_fixture *f = *state;
    amend_for_transfer(f, "post16_to_post16", "2027-09-01", "2027-02-10");
    law_assert_due(f, "post16_move_due", "", "2027-04-01");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-04-01", "names_next_setting", "true");
    law_assert_status(f, "post16_move_due", "", EHC_DEADLINE_MET);
    law_fixture_restart(f);
    amend_for_transfer(f, "post16_to_post16", "2027-09-01", "2027-02-10");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-04-02", "names_next_setting", "true");
    law_assert_status(f, "post16_move_due", "", EHC_DEADLINE_MET_LATE);
    /* A move on 31 July: 5 months before has no 31 February, so the last valid day is 28 February. */
    law_fixture_restart(f);
    plan_made(f, "false");
    LAW_OK(f, "phase_transfer_identified", "officer", "2026-06-01", "transfer", "post16_to_post16",
           "transfer_on", "2027-07-31");
    law_assert_due(f, "post16_move_due", "", "2027-02-28");
}

/* --- Regs 29-31: ceasing -------------------------------------------------------------------------------- */

static void test_cease_refused_without_consultation_and_on_reg_30_grounds_without_a_review(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_DEPENDENCY_MISSING, "cease_decision_notified", "manager",
                "2026-10-01", "ground", "no_longer_necessary");
    LAW_OK(f, "cease_consultation_started", "officer", "2026-09-01");
    /* Reg 30 (18+, left education) needs a review first, and the young person's confirmation. */
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "cease_decision_notified", "manager", "2026-10-01",
                "ground", "left_education_over_18", "no_wish_to_return_confirmed", "true");
    LAW_OK(f, "review_meeting_arranged", "officer", "2026-10-01", "meeting_on", "2026-10-20");
    LAW_OK(f, "review_meeting_held", "officer", "2026-10-20");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "cease_decision_notified", "manager", "2026-10-27",
                "ground", "left_education_over_18", "no_wish_to_return_confirmed", "false");
    LAW_OK(f, "cease_decision_notified", "manager", "2026-10-27", "ground", "left_education_over_18",
           "no_wish_to_return_confirmed", "true");
    assert_string_equal(law_stage(f), "ceasing");
    law_assert_status(f, "review_decision_due", "", EHC_DEADLINE_MET);
    law_assert_status(f, "amended_plan_after_review_due", "", EHC_DEADLINE_CANCELLED);
}

static void test_plan_may_cease_only_after_the_appeal_window_closes_on_1_december(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    LAW_OK(f, "cease_consultation_started", "officer", "2026-09-01");
    LAW_OK(f, "cease_decision_notified", "manager", "2026-10-01", "ground", "no_longer_necessary");
    law_assert_due(f, "appeal_window_cease", "", "2026-12-01");
    law_assert_due(f, "cease_not_before", "", "2026-12-01");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "plan_ceased", "manager", "2026-12-01",
                "cease_reason", "needs_met");
    assert_non_null(strstr(f->err.message, "on or before 2026-12-01"));
    LAW_OK(f, "plan_ceased", "manager", "2026-12-02", "cease_reason", "needs_met");
    assert_string_equal(law_stage(f), "ceased");
    assert_string_equal(law_report(f, "CeaseReason"), "2");
    assert_string_equal(law_report(f, "CeaseDate"), "2026-12-02");
    law_assert_status(f, "cease_not_before", "", EHC_DEADLINE_MET);
    law_assert_status(f, "first_review_due", "", EHC_DEADLINE_CANCELLED);
}

static void test_cease_window_ending_in_august_and_after_a_certificate_moves_the_earliest_cease(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    LAW_OK(f, "cease_consultation_started", "officer", "2026-06-01");
    /* 2 months from Monday 15 June 2026 is Saturday 15 August: the window runs to Tuesday 1 September. */
    LAW_OK(f, "cease_decision_notified", "manager", "2026-06-15", "ground", "no_longer_necessary");
    law_assert_due(f, "cease_not_before", "", "2026-09-01");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "plan_ceased", "manager", "2026-09-01",
                "cease_reason", "max_age");
    law_fixture_restart(f);
    plan_made(f, "false");
    LAW_OK(f, "cease_consultation_started", "officer", "2026-09-01");
    LAW_OK(f, "cease_decision_notified", "manager", "2026-10-01", "ground", "no_longer_necessary");
    LAW_OK(f, "mediation_declined", "officer", "2026-10-05");
    law_assert_due(f, "certificate_after_decline_due", "", "2026-10-08");
    LAW_OK(f, "mediation_certificate_issued", "officer", NULL, "issued_on", "2026-11-20");
    law_assert_status(f, "certificate_after_decline_due", "", EHC_DEADLINE_MET_LATE);
    /* 1 month after the certificate (Sunday 20 December) is later than 1 December. */
    law_assert_due(f, "appeal_window_cease", "", "2026-12-20");
    law_assert_due(f, "cease_not_before", "", "2026-12-20");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "plan_ceased", "manager", "2026-12-20",
                "cease_reason", "employment");
    LAW_OK(f, "plan_ceased", "manager", "2026-12-21", "cease_reason", "employment");
    assert_string_equal(law_report(f, "CeaseReason"), "4");
}

static void test_appeal_against_ceasing_keeps_the_plan_until_the_tribunal_decides(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    LAW_OK(f, "cease_consultation_started", "officer", "2026-09-01");
    LAW_OK(f, "cease_decision_notified", "manager", "2026-10-01", "ground", "no_longer_necessary");
    LAW_OK(f, "appeal_registered", "officer", "2026-12-01", "matter", "cease");
    law_assert_status(f, "appeal_window_cease", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "cease_appealed");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "plan_ceased", "manager", "2027-01-04",
                "cease_reason", "needs_met");
    /* Appeal dismissed: the plan may cease at once. */
    LAW_OK(f, "tribunal_order", "manager", NULL, "order", "cease_upheld", "ordered_on", "2027-03-01");
    assert_string_equal(law_stage(f), "ceasing");
    LAW_OK(f, "plan_ceased", "manager", "2027-03-01", "cease_reason", "no_engagement");
    assert_string_equal(law_report(f, "CeaseReason"), "6");
    /* Appeal allowed: the plan continues. */
    law_fixture_restart(f);
    plan_made(f, "false");
    LAW_OK(f, "cease_consultation_started", "officer", "2026-09-01");
    LAW_OK(f, "cease_decision_notified", "manager", "2026-10-01", "ground", "no_longer_necessary");
    LAW_OK(f, "appeal_registered", "officer", "2026-12-02", "matter", "cease");
    law_assert_status(f, "appeal_window_cease", "", EHC_DEADLINE_MET_LATE);
    LAW_OK(f, "tribunal_order", "manager", NULL, "order", "plan_continues", "ordered_on", "2027-03-01");
    assert_string_equal(law_stage(f), "maintained");
    law_assert_status(f, "first_review_due", "", EHC_DEADLINE_OPEN);
}

static void test_conceding_an_appeal_against_ceasing_returns_the_plan_to_maintained(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    LAW_OK(f, "cease_consultation_started", "officer", "2026-09-01");
    LAW_OK(f, "cease_decision_notified", "manager", "2026-10-01", "ground", "no_longer_necessary");
    LAW_OK(f, "appeal_registered", "officer", "2026-11-02", "matter", "cease");
    LAW_OK(f, "appeal_conceded", "manager", "2026-12-07", "matter", "cease", "section_i_only", "false");
    assert_string_equal(law_stage(f), "maintained");
    law_assert_due(f, "reg45_action_due", "", "2027-01-04");
    LAW_OK(f, "conceded_action_taken", "manager", "2027-01-04");
    law_assert_status(f, "reg45_action_due", "", EHC_DEADLINE_MET);
}

/* --- disputes about amendments: mediation, Reg 44 orders, Reg 45 concessions ------------------------- */

static void test_mediation_30_days_and_a_certificate_3_working_days_after_it(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    review_meeting(f);
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-19", "decision", "maintain", "under_five",
           "false");
    LAW_OK(f, "mediation_requested", "officer", "2027-06-01");
    law_assert_due(f, "mediation_arranged_due", "", "2027-07-01");
    LAW_OK(f, "mediation_held", "officer", "2027-07-02", "outcome", "no_agreement");
    law_assert_status(f, "mediation_arranged_due", "", EHC_DEADLINE_MET_LATE);
    /* Friday 2 July 2027: Monday 5, Tuesday 6, Wednesday 7. */
    law_assert_due(f, "certificate_after_mediation_due", "", "2027-07-07");
    LAW_OK(f, "mediation_certificate_issued", "officer", NULL, "issued_on", "2027-07-07");
    law_assert_status(f, "certificate_after_mediation_due", "", EHC_DEADLINE_MET);
    /* 1 month after 7 July is 7 August, in August: the window runs to Wednesday 1 September 2027. */
    law_assert_due(f, "appeal_window_no_amendment", "", "2027-09-01");
}

static void test_tribunal_order_to_amend_5_weeks_and_section_i_2_weeks(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    review_meeting(f);
    LAW_OK(f, "review_decision_notified", "manager", "2027-05-19", "decision", "amend", "under_five",
           "false");
    LAW_OK(f, "amendment_proposed", "manager", "2027-05-19");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-06-14", "names_next_setting", "false");
    LAW_OK(f, "appeal_registered", "officer", "2027-07-01", "matter", "plan_contents");
    law_assert_status(f, "appeal_window_amended_plan", "", EHC_DEADLINE_MET);
    LAW_OK(f, "tribunal_order", "manager", NULL, "order", "contents_amended", "ordered_on", "2027-09-06");
    law_assert_due(f, "reg44_amend_due", "", "2027-10-11");
    LAW_OK(f, "plan_amended_per_order", "manager", "2027-10-11");
    law_assert_status(f, "reg44_amend_due", "", EHC_DEADLINE_MET);
    LAW_OK(f, "tribunal_order", "manager", NULL, "order", "section_i_only", "ordered_on", "2027-09-06");
    law_assert_due(f, "reg44_section_i_due", "", "2027-09-20");
    LAW_OK(f, "plan_amended_per_order", "manager", "2027-09-21");
    law_assert_status(f, "reg44_section_i_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_conceded_appeal_on_section_i_only_is_2_weeks(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    LAW_OK(f, "amendment_proposed", "manager", "2026-12-21");
    LAW_OK(f, "amended_plan_issued", "manager", "2027-01-05", "names_next_setting", "false");
    law_assert_status(f, "amendment_representations_period", "", EHC_DEADLINE_MET);
    LAW_OK(f, "appeal_registered", "officer", "2027-02-01", "matter", "plan_contents", "section_i_only",
           "true");
    LAW_OK(f, "appeal_conceded", "manager", "2027-09-06", "matter", "plan_contents", "section_i_only",
           "true");
    law_assert_due(f, "reg45_section_i_due", "", "2027-09-20");
    LAW_OK(f, "conceded_action_taken", "manager", "2027-09-20");
    law_assert_status(f, "reg45_section_i_due", "", EHC_DEADLINE_MET);
}

/* --- Reg 15: moving to another authority; death --------------------------------------------------------- */

static void test_plan_transfers_on_the_day_of_the_move_after_15_working_days_notice(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    /* Learned Monday 2 November 2026; the 15th working day after is Monday 23 November. A move on
     * 14 December gives more notice than that: the plan goes on the day of the move. */
    LAW_OK(f, "move_notified", "officer", "2026-11-02", "move_on", "2026-12-14");
    law_assert_due(f, "plan_transfer_due", "", "2026-12-14");
    LAW_OK(f, "plan_transferred", "manager", "2026-12-15");
    law_assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET_LATE);
    assert_string_equal(law_stage(f), "transferred_out");
    assert_string_equal(law_report(f, "CeaseReason"), "5");
    law_assert_status(f, "first_review_due", "", EHC_DEADLINE_CANCELLED);
    law_fixture_restart(f);
    plan_made(f, "false");
    /* Exactly 15 working days' notice: the day of the move, 23 November. */
    LAW_OK(f, "move_notified", "officer", "2026-11-02", "move_on", "2026-11-23");
    law_assert_due(f, "plan_transfer_due", "", "2026-11-23");
    LAW_OK(f, "plan_transferred", "manager", "2026-11-23");
    law_assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET);
}

static void test_short_notice_of_a_move_gives_15_working_days_from_learning_of_it(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "false");
    /* Learned Tuesday 1 December 2026 of a move on 14 December: 15 working days is Tuesday 22 December. */
    LAW_OK(f, "move_notified", "officer", "2026-12-01", "move_on", "2026-12-14");
    law_assert_due(f, "plan_transfer_due", "", "2026-12-22");
    LAW_OK(f, "plan_transferred", "manager", "2026-12-22");
    law_assert_status(f, "plan_transfer_due", "", EHC_DEADLINE_MET);
}

static void test_death_closes_the_plan_with_sen2_cease_reason_8_and_stops_letters(void **state)
{
    law_fixture *f = *state;
    plan_made(f, "true");
    LAW_OK(f, "child_died", "manager", "2026-09-10");
    assert_string_equal(law_stage(f), "deceased");
    assert_true(f->state.letters_stopped);
    assert_string_equal(law_report(f, "CeaseReason"), "8");
    assert_string_equal(law_report(f, "CeaseDate"), "2026-09-10");
    law_assert_status(f, "early_years_review_target", "", EHC_DEADLINE_CANCELLED);
}

/* --- the format additions this workflow needs ------------------------------------------------------- */

/* A one-deadline workflow with `extra` spliced into its deadline; returns the load status. */
static int load_with(const law_fixture *f, const char *extra, ehc_load_error *err)
{
    char *json = ehc_asprintf(
        "{\"id\": \"t\", \"title\": \"t\", \"calendar\": \"england-and-wales\", \"opened_by\": \"open\","
        " \"stages\": [{\"id\": \"a\", \"title\": \"a\", \"initial\": true},"
        "  {\"id\": \"z\", \"title\": \"z\", \"final\": true}],"
        " \"events\": [{\"id\": \"open\", \"title\": \"o\", \"roles\": [\"officer\"],"
        "   \"fields\": [{\"id\": \"on\", \"type\": \"date\"}], \"stay\": [\"a\"]},"
        "  {\"id\": \"close\", \"title\": \"c\", \"roles\": [\"officer\"], \"transitions\": [{\"from\": "
        "\"*\", "
        "\"to\": \"z\"}]}],"
        " \"deadlines\": [{\"id\": \"d\", \"title\": \"d\", \"kind\": \"local\", \"origin\": \"open\","
        "   \"length\": {\"days\": 5}, \"met_by\": [\"close\"]%s}]}",
        extra);
    ehc_workflow *wf = NULL;
    const int rc = ehc_workflow_load_bytes("t.json", json, strlen(json), f->cals, &wf, err);
    ehc_workflow_free(wf);
    free(json);
    return rc;
}

static void test_later_of_term_without_length_is_the_fields_date_and_needs_a_field(void **state)
{
    law_fixture *f = *state;
    ehc_load_error err;
    assert_int_equal(load_with(f, ", \"later_of\": [{\"field\": \"on\"}]", &err), 0);
    assert_int_equal(load_with(f, ", \"later_of\": [{\"note\": \"nothing\"}]", &err), EHC_EINVAL);
    assert_string_equal(err.path, "$.deadlines[0].later_of[0]");
    assert_non_null(strstr(err.reason, "needs a \"length\", a \"field\", or both"));
}

static void test_direction_after_may_be_extended_but_earliest_may_not(void **state)
{
    law_fixture *f = *state;
    ehc_load_error err;
    const char *ext = ", \"extended_by\": [{\"event\": \"close\", \"length\": {\"days\": 1}}]";
    char *after = ehc_asprintf(", \"direction\": \"after\"%s", ext);
    char *earliest = ehc_asprintf(", \"direction\": \"earliest\"%s", ext);
    assert_int_equal(load_with(f, after, &err), 0);
    assert_int_equal(load_with(f, earliest, &err), EHC_EINVAL);
    assert_string_equal(err.path, "$.deadlines[0].extended_by");
    assert_int_equal(load_with(f, ", \"direction\": \"sideways\"", &err), EHC_EINVAL);
    assert_non_null(strstr(err.reason, "\"after\""));
    free(after);
    free(earliest);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, law_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_first_review_by_19_may_2027_for_a_plan_made_20_may_2026_and_20_may_is_late),
        T(test_next_period_starts_with_the_review_date_19_may_2027_so_due_18_may_2028),
        T(test_under_five_interval_is_a_local_target_of_6_months_by_default_and_never_statutory),
        T(test_an_authority_may_set_3_months_for_under_fives_but_not_shorten_a_statutory_review),
        T(test_invitations_and_advice_due_20_april_for_a_meeting_on_4_may_and_21_april_is_late),
        T(test_a_new_meeting_date_needs_fresh_notice_2_weeks_before_it),
        T(test_report_due_18_may_and_decision_due_1_june_after_a_meeting_on_4_may),
        T(test_review_meeting_needs_an_arranged_meeting),
        T(test_amended_plan_not_before_15_days_and_within_8_weeks_of_the_notice),
        T(test_devon_final_amended_plan_no_later_than_27_july_12_weeks_after_the_meeting),
        T(test_deciding_not_to_amend_after_all_within_8_weeks_opens_the_appeal_window),
        T(test_a_decision_to_maintain_cancels_the_devon_clock_and_opens_an_appeal_window),
        T(test_phase_transfer_before_15_february_last_valid_day_14_february_2027),
        T(test_secondary_to_post16_before_31_march_last_valid_day_30_march_2027),
        T(test_post16_move_at_least_5_months_before_1_september_is_by_1_april),
        T(test_cease_refused_without_consultation_and_on_reg_30_grounds_without_a_review),
        T(test_plan_may_cease_only_after_the_appeal_window_closes_on_1_december),
        T(test_cease_window_ending_in_august_and_after_a_certificate_moves_the_earliest_cease),
        T(test_appeal_against_ceasing_keeps_the_plan_until_the_tribunal_decides),
        T(test_conceding_an_appeal_against_ceasing_returns_the_plan_to_maintained),
        T(test_mediation_30_days_and_a_certificate_3_working_days_after_it),
        T(test_tribunal_order_to_amend_5_weeks_and_section_i_2_weeks),
        T(test_conceded_appeal_on_section_i_only_is_2_weeks),
        T(test_plan_transfers_on_the_day_of_the_move_after_15_working_days_notice),
        T(test_short_notice_of_a_move_gives_15_working_days_from_learning_of_it),
        T(test_death_closes_the_plan_with_sen2_cease_reason_8_and_stops_letters),
        T(test_later_of_term_without_length_is_the_fields_date_and_needs_a_field),
        T(test_direction_after_may_be_extended_but_earliest_may_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
