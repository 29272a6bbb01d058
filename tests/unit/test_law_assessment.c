/* workflows/ehc-needs-assessment.json against the law, with literal dates written by hand from the
 * Regulations and the England and Wales calendar: the eight stages; every limit on its last valid
 * day and its first late day; deemed receipt; exceptions accepted where the law allows them and
 * refused where it does not (incl. a setting's own closure dates); SEN2 codes; withdrawal, death and
 * moving away; and every disagreement path (appeal window with roll-overs, mediation, tribunal orders
 * under Reg 44, conceded appeals under Reg 45). */
#include <string.h>

#include "law_fixture.h"

static int setup(void **state)
{
    *state = law_fixture_load("ehc-needs-assessment.json", "2027-12-31");
    return 0;
}

static bool has_effect(const law_fixture *f, ehc_effect_kind kind)
{
    for (size_t i = 0; i < f->fx.count; i++) {
        if (f->fx.items[i].kind == kind) return true;
    }
    return false;
}

/* Stage 1: a request by email on Monday 5 January 2026 at 09:30. */
static void open_case(law_fixture *f, const char *received_at)
{
    LAW_OK(f, "request_received", "officer", NULL, "requested_by", "parent", "channel", "email",
           "received_at", received_at);
}

static void to_assessing(law_fixture *f, const char *decided_on)
{
    open_case(f, "2026-01-05T09:30");
    LAW_OK(f, "notification_sent", "officer", "2026-01-06", "body", "icb");
    LAW_OK(f, "notification_sent", "officer", "2026-01-06", "body", "social_care");
    LAW_OK(f, "notification_sent", "officer", "2026-01-06", "body", "head_or_principal");
    LAW_OK(f, "panel_listed", "officer", "2026-02-02");
    assert_string_equal(law_stage(f), "deciding");
    LAW_OK(f, "decision_to_assess", "manager", decided_on, "decision", "yes");
}

static void to_deciding_to_issue(law_fixture *f)
{
    to_assessing(f, "2026-02-10");
    LAW_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "ep", "adviser",
           "educational_psychologist", "received_on", "2026-02-23");
    LAW_OK(f, "advice_received", "officer", "2026-04-01", "request_key", "ep");
    LAW_OK(f, "advice_complete", "officer", "2026-04-02");
    assert_string_equal(law_stage(f), "deciding_to_issue");
}

static void to_draft(law_fixture *f)
{
    to_deciding_to_issue(f);
    LAW_OK(f, "decision_to_issue", "manager", "2026-04-10", "decision", "yes");
    LAW_OK(f, "draft_served", "officer", "2026-04-20", "served_on", "2026-04-20");
    assert_string_equal(law_stage(f), "draft");
}

static void to_finalising(law_fixture *f)
{
    to_draft(f);
    LAW_OK(f, "placement_decided", "manager", "2026-04-30", "setting", "example-academy-trust");
    assert_string_equal(law_stage(f), "finalising");
}

/* --- stage 1: Day 0 and deemed receipt ---------------------------------------------------------- */

static void test_request_by_email_before_5pm_is_received_that_day(void **state)
{
    law_fixture *f = *state;
    open_case(f, "2026-01-05T16:59");
    law_assert_date(f->state.origin_on, "2026-01-05");
    law_assert_due(f, "decision_due", "", "2026-02-16");
    law_assert_due(f, "no_plan_notice_due", "", "2026-04-27");
    law_assert_due(f, "final_plan_due", "", "2026-05-25");
    assert_string_equal(law_report(f, "RequestOutcome"), "A");
    assert_string_equal(law_report(f, "Week20"), "0");
    assert_string_equal(law_stage(f), "request");
}

static void test_request_by_email_at_5pm_is_received_the_next_working_day(void **state)
{
    law_fixture *f = *state;
    open_case(f, "2026-01-05T17:00");
    law_assert_date(f->state.origin_on, "2026-01-06");
    law_assert_due(f, "decision_due", "", "2026-02-17");
}

static void
test_request_by_hand_on_a_saturday_or_posted_first_class_on_a_friday_is_received_monday(void **state)
{
    law_fixture *f = *state;
    LAW_OK(f, "request_received", "officer", NULL, "requested_by", "young_person", "channel", "hand",
           "received_at", "2026-01-03T10:00");
    law_assert_date(f->state.origin_on, "2026-01-05");
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
    LAW_OK(f, "request_received", "officer", NULL, "requested_by", "school_or_college", "channel",
           "first_class_post", "received_at", "2026-01-02T08:00");
    law_assert_date(f->state.origin_on, "2026-01-05");
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
    /* Signed for on Saturday 3 January: that day. And a stated date that disagrees is refused. */
    assert_int_equal(law_record(f, "request_received", "officer", "2026-01-05", "requested_by", "parent",
                                "channel", "signed_for", "received_at", "2026-01-03T11:00", NULL),
                     EHC_EINVAL);
    assert_string_equal(f->err.field, "received_at");
    LAW_OK(f, "request_received", "officer", "2026-01-03", "requested_by", "parent", "channel", "signed_for",
           "received_at", "2026-01-03T11:00");
    law_assert_date(f->state.origin_on, "2026-01-03");
}

/* --- stage 2: the 6-week decision (Reg 5(1)) ---------------------------------------------------------- */

static void test_decision_to_assess_on_16_february_is_on_time_and_17_february_is_late(void **state)
{
    law_fixture *f = *state;
    to_assessing(f, "2026-02-16");
    law_assert_status(f, "decision_due", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "assessing");
    assert_string_equal(law_report(f, "RequestOutcome"), "Y");
    assert_string_equal(law_report(f, "RequestOutcomeDate"), "2026-02-16");
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
    to_assessing(f, "2026-02-17");
    law_assert_status(f, "decision_due", "", EHC_DEADLINE_MET_LATE);
}

/* --- stage 3: advice per adviser (Reg 8) -------------------------------------------------------------- */

static void
test_advice_due_6_weeks_from_the_advisers_receipt_last_day_6_april_first_late_7_april(void **state)
{
    law_fixture *f = *state;
    to_assessing(f, "2026-02-10");
    LAW_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "ep", "adviser",
           "educational_psychologist", "received_on", "2026-02-23");
    LAW_OK(f, "advice_requested", "dco", "2026-02-20", "request_key", "health", "adviser", "medical",
           "received_on", "2026-02-23");
    /* Received Monday 23 February: due Monday 6 April 2026 (Easter Monday: the date stands). */
    law_assert_due(f, "advice_due", "ep", "2026-04-06");
    /* Forwarding names the service it goes on to; the adviser's clock does not restart. */
    LAW_OK(f, "advice_forwarded_by_dco", "dco", "2026-02-24", "request_key", "health", "health_service",
           "camhs", "organisation_id", "7");
    law_assert_due(f, "advice_due", "health", "2026-04-06");
    LAW_OK(f, "advice_received", "officer", "2026-04-06", "request_key", "ep");
    law_assert_status(f, "advice_due", "ep", EHC_DEADLINE_MET);
    LAW_OK(f, "advice_nil_return", "dco", "2026-04-07", "request_key", "health", "reason",
           "not_known_to_the_service");
    law_assert_status(f, "advice_due", "health", EHC_DEADLINE_MET_LATE);
    LAW_OK(f, "existing_advice_agreed", "officer", "2026-04-08", "request_key", "sc", "adviser",
           "social_care");
    LAW_OK(f, "advice_complete", "officer", "2026-04-09");
    assert_string_equal(law_stage(f), "deciding_to_issue");
}

/* --- stage 4: the 16-week notice (Reg 10(1)) ---------------------------------------------------------- */

static void test_no_plan_notice_on_27_april_is_on_time_and_28_april_is_late(void **state)
{
    law_fixture *f = *state;
    to_deciding_to_issue(f);
    LAW_OK(f, "decision_to_issue", "manager", "2026-04-27", "decision", "no");
    law_assert_status(f, "no_plan_notice_due", "", EHC_DEADLINE_MET);
    law_assert_status(f, "final_plan_due", "", EHC_DEADLINE_CANCELLED);
    assert_string_equal(law_stage(f), "no_plan");
    assert_string_equal(law_report(f, "AssessmentOutcome"), "N");
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
    to_deciding_to_issue(f);
    LAW_OK(f, "decision_to_issue", "manager", "2026-04-28", "decision", "no");
    law_assert_status(f, "no_plan_notice_due", "", EHC_DEADLINE_MET_LATE);
    /* "no_plan_final_not_before": the family may appeal until Sunday 28 June (2 months), so the
     * decision stands only from Monday 29 June; an appeal registered meanwhile lifts the wait */
    law_assert_due(f, "no_plan_final_not_before", "", "2026-06-28");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "refusal_stands", "manager", "2026-06-28");
    LAW_OK(f, "refusal_stands", "manager", "2026-06-29");
    law_assert_status(f, "no_plan_final_not_before", "", EHC_DEADLINE_MET);
}

/* --- stages 5-7: draft, 15 days, consultation, final plan (Reg 13) ------------------------------------ */

static void test_final_plan_not_before_5_may_after_a_draft_served_20_april(void **state)
{
    law_fixture *f = *state;
    to_draft(f);
    law_assert_due(f, "representations_period", "", "2026-05-05");
    LAW_OK(f, "representations_received", "officer", "2026-04-24", "meeting_requested", "true");
    LAW_OK(f, "preference_named", "officer", "2026-04-24", "setting", "example-academy-trust");
    LAW_OK(f, "placement_decided", "manager", "2026-04-30", "setting", "example-academy-trust");
    assert_int_equal(law_record(f, "final_plan_issued", "manager", "2026-05-04", NULL), EHC_ESTATE);
    assert_int_equal(f->err.code, EHC_MACHINE_E_TOO_EARLY);
    assert_string_equal(f->err.rule, "SEND Regulations 2014, reg 13(1)");
    LAW_OK(f, "final_plan_issued", "manager", "2026-05-05");
    law_assert_status(f, "representations_period", "", EHC_DEADLINE_MET);
    law_assert_status(f, "final_plan_due", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "issued");
}

static void test_setting_answer_due_15_days_after_consultation_6_may_on_time_7_may_late(void **state)
{
    law_fixture *f = *state;
    to_draft(f);
    LAW_OK(f, "consultation_sent", "officer", "2026-04-21", "setting_key", "s1");
    LAW_OK(f, "consultation_sent", "officer", "2026-04-21", "setting_key", "s2");
    assert_string_equal(law_stage(f), "consultation");
    law_assert_due(f, "consultation_response_due", "s1", "2026-05-06");
    assert_int_equal(
        ehc_workflow_deadline(f->wf, law_instance(f, "consultation_response_due", "s1")->deadline)->kind,
        EHC_DEADLINE_GUIDANCE);
    LAW_OK(f, "consultation_answered", "officer", "2026-05-06", "setting_key", "s1", "answer", "can_admit");
    law_assert_status(f, "consultation_response_due", "s1", EHC_DEADLINE_MET);
    LAW_OK(f, "consultation_answered", "officer", "2026-05-07", "setting_key", "s2", "answer",
           "cannot_admit");
    law_assert_status(f, "consultation_response_due", "s2", EHC_DEADLINE_MET_LATE);
}

static void test_final_plan_on_25_may_bank_holiday_is_on_time_and_26_may_is_late(void **state)
{
    law_fixture *f = *state;
    to_finalising(f);
    LAW_OK(f, "final_plan_issued", "manager", "2026-05-25");
    law_assert_status(f, "final_plan_due", "", EHC_DEADLINE_MET);
    assert_string_equal(law_report(f, "AssessmentOutcome"), "Y");
    assert_string_equal(law_report(f, "StartDate"), "2026-05-25");
    assert_string_equal(law_report(f, "Week20"), "0");
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
    to_finalising(f);
    LAW_OK(f, "final_plan_issued", "manager", "2026-05-26");
    law_assert_status(f, "final_plan_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_plan_issued_on_another_authoritys_assessment_is_sen2_outcome_s(void **state)
{
    law_fixture *f = *state;
    to_finalising(f);
    LAW_OK(f, "final_plan_issued", "manager", "2026-05-20", "after_other_la_assessment", "true");
    assert_string_equal(law_report(f, "AssessmentOutcome"), "S");
    /* "review_handover_not_before": the family may appeal until Monday 20 July (2 months), so the
     * case is not handed to the review cycle on that day or before, only from the 21st */
    law_assert_due(f, "review_handover_not_before", "", "2026-07-20");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "handed_to_review", "manager", "2026-05-20");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "handed_to_review", "manager", "2026-07-20");
    LAW_OK(f, "handed_to_review", "manager", "2026-07-21");
    law_assert_status(f, "review_handover_not_before", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "review_cycle");
}

/* --- exceptions ----------------------------------------------------------------------------------- */

static void test_week20_derives_only_from_the_20_week_clocks_exceptions(void **state)
{
    law_fixture *f = *state;
    open_case(f, "2026-01-05T09:30");
    assert_int_equal(law_record_exception(f, "2026-01-20", "decision_due", "reg_5_4_c", NULL), 0);
    assert_string_equal(law_report(f, "Week20"), "0");
    assert_int_equal(law_record_exception(f, "2026-01-21", "no_plan_notice_due", "reg_10_4_d", NULL), 0);
    assert_string_equal(law_report(f, "Week20"), "0");
    assert_int_equal(law_record_exception(f, "2026-01-22", "final_plan_due", "reg_13_3_c", NULL), 0);
    assert_string_equal(law_report(f, "Week20"), "1");
    /* The statutory date never moves. */
    law_assert_due(f, "final_plan_due", "", "2026-05-25");
}

static void test_exception_the_law_does_not_allow_on_a_clock_is_refused(void **state)
{
    law_fixture *f = *state;
    to_assessing(f, "2026-02-10");
    LAW_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "ep", "adviser",
           "educational_psychologist", "received_on", "2026-02-23");
    /* A missed appointment excuses an adviser (Reg 8(2)(e)), never the 20 weeks. */
    assert_int_equal(law_record_exception(f, "2026-03-02", "final_plan_due", "reg_8_2_e", NULL), EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_EXCEPTION_INVALID);
    assert_int_equal(law_record_exception(f, "2026-03-02", "advice_due", "reg_8_2_e", "ep"), 0);
    assert_int_equal(law_record_exception(f, "2026-03-03", "advice_due", "reg_8_2_d", "ep"), 0);
    assert_int_equal(law_record_exception(f, "2026-03-03", "advice_due", "reg_8_2_c", "ep"), 0);
    /* A school closure never excuses an adviser's 6 weeks. */
    assert_int_equal(law_record_exception(f, "2026-03-04", "advice_due", "reg_10_4_a", "ep"), EHC_EINVAL);
    /* The record needs its evidence and the date the family was told. */
    assert_int_equal(law_record(f, "exception_recorded", "manager", "2026-03-05", "deadline",
                                "final_plan_due", "exception", "reg_13_3_d", "applies_from", "2026-03-05",
                                NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_FIELD_MISSING);
}

static void summer_case(law_fixture *f)
{
    /* Request Monday 1 June 2026: 20 weeks end Monday 19 October 2026. */
    open_case(f, "2026-06-01T10:00");
    law_assert_due(f, "final_plan_due", "", "2026-10-19");
    LAW_OK(f, "decision_to_assess", "manager", "2026-07-10", "decision", "yes");
    /* The example academy closes Thursday 23 July - Wednesday 2 September 2026: window 16 July - 27 August.
     */
    LAW_OK(f, "advice_requested", "officer", "2026-07-15", "request_key", "early", "adviser",
           "school_or_college", "received_on", "2026-07-15", "setting", "example-academy-trust");
    LAW_OK(f, "advice_requested", "officer", "2026-07-16", "request_key", "first", "adviser",
           "school_or_college", "received_on", "2026-07-16", "setting", "example-academy-trust");
    LAW_OK(f, "advice_requested", "officer", "2026-08-27", "request_key", "last", "adviser",
           "school_or_college", "received_on", "2026-08-27", "setting", "example-academy-trust");
    LAW_OK(f, "advice_requested", "officer", "2026-08-28", "request_key", "late", "adviser",
           "school_or_college", "received_on", "2026-08-28", "setting", "example-academy-trust");
    LAW_OK(f, "advice_requested", "officer", "2026-07-16", "request_key", "ey", "adviser", "early_years",
           "received_on", "2026-07-16", "setting", "example-academy-trust");
    LAW_OK(f, "advice_requested", "officer", "2026-07-16", "request_key", "nosetting", "adviser",
           "school_or_college", "received_on", "2026-07-16");
}

static void test_school_closure_exception_checked_against_the_settings_own_closure_dates(void **state)
{
    law_fixture *f = *state;
    summer_case(f);
    assert_int_equal(law_record_exception(f, "2026-08-28", "final_plan_due", "reg_13_3_a", "early"),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_EXCEPTION_INVALID);
    assert_non_null(strstr(f->err.message, "2026-07-15"));
    assert_int_equal(law_record_exception(f, "2026-08-28", "final_plan_due", "reg_13_3_a", "late"),
                     EHC_EINVAL);
    assert_int_equal(law_record_exception(f, "2026-08-28", "final_plan_due", "reg_13_3_a", "first"), 0);
    assert_string_equal(law_report(f, "Week20"), "1");
    assert_int_equal(law_record_exception(f, "2026-08-28", "no_plan_notice_due", "reg_10_4_a", "last"), 0);
}

static void test_closure_exception_needs_the_right_kind_of_setting_and_its_calendar(void **state)
{
    law_fixture *f = *state;
    summer_case(f);
    /* (b) is for early-years providers: a school's request does not qualify, and vice versa. */
    assert_int_equal(law_record_exception(f, "2026-08-28", "final_plan_due", "reg_13_3_b", "first"),
                     EHC_EINVAL);
    assert_int_equal(law_record_exception(f, "2026-08-28", "final_plan_due", "reg_13_3_a", "ey"), EHC_EINVAL);
    assert_int_equal(law_record_exception(f, "2026-08-28", "final_plan_due", "reg_13_3_b", "ey"), 0);
    /* No setting named on the request: nothing to check it against. */
    assert_int_equal(law_record_exception(f, "2026-08-28", "decision_due", "reg_5_4_a", "nosetting"),
                     EHC_EINVAL);
    /* No request key at all. */
    assert_int_equal(law_record_exception(f, "2026-08-28", "decision_due", "reg_5_4_a", NULL), EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_FIELD_MISSING);
    assert_int_equal(law_record_exception(f, "2026-08-28", "decision_due", "reg_5_4_b", "ey"), 0);
    assert_int_equal(law_record_exception(f, "2026-08-28", "decision_due", "reg_5_4_d", NULL), 0);
    assert_int_equal(law_record_exception(f, "2026-08-28", "no_plan_notice_due", "reg_10_4_b", "ey"), 0);
    assert_int_equal(law_record_exception(f, "2026-08-28", "no_plan_notice_due", "reg_10_4_c", NULL), 0);
    assert_int_equal(law_record_exception(f, "2026-08-28", "final_plan_due", "reg_13_3_d", NULL), 0);
}

/* --- withdrawal, death, moving away ------------------------------------------------------------------ */

static void test_withdrawal_before_the_decision_is_sen2_request_outcome_w(void **state)
{
    law_fixture *f = *state;
    open_case(f, "2026-01-05T09:30");
    LAW_OK(f, "withdrawn", "officer", "2026-01-20", "stage_reached", "before_decision_to_assess");
    assert_string_equal(law_stage(f), "withdrawn");
    assert_string_equal(law_report(f, "RequestOutcome"), "W");
    law_assert_status(f, "final_plan_due", "", EHC_DEADLINE_CANCELLED);
}

static void test_withdrawal_during_assessment_keeps_request_y_and_sets_assessment_w(void **state)
{
    law_fixture *f = *state;
    to_assessing(f, "2026-02-10");
    LAW_OK(f, "withdrawn", "manager", "2026-03-20", "stage_reached", "during_assessment");
    assert_string_equal(law_report(f, "RequestOutcome"), "Y");
    assert_string_equal(law_report(f, "AssessmentOutcome"), "W");
}

static void test_death_closes_the_case_and_stops_every_alert_and_letter(void **state)
{
    law_fixture *f = *state;
    to_assessing(f, "2026-02-10");
    LAW_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "ep", "adviser",
           "educational_psychologist", "received_on", "2026-02-23");
    LAW_OK(f, "child_died", "manager", "2026-03-01");
    assert_string_equal(law_stage(f), "deceased");
    assert_true(f->state.letters_stopped);
    assert_true(has_effect(f, EHC_EFFECT_LETTERS_STOPPED));
    for (size_t i = 0; i < f->state.deadline_count; i++)
        assert_int_not_equal(f->state.deadlines[i].status, EHC_DEADLINE_OPEN);
    assert_int_equal(
        law_record(f, "withdrawn", "officer", "2026-03-02", "stage_reached", "during_assessment", NULL),
        EHC_ESTATE);
}

static void test_moving_to_another_authority_during_assessment_closes_this_case(void **state)
{
    law_fixture *f = *state;
    to_assessing(f, "2026-02-10");
    LAW_OK(f, "moved_to_another_la", "officer", "2026-03-01");
    assert_string_equal(law_stage(f), "moved_away");
    law_assert_status(f, "final_plan_due", "", EHC_DEADLINE_CANCELLED);
}

/* --- disagreement: appeal window, mediation --------------------------------------------------------------
 */

static void refused(law_fixture *f, const char *received_at, const char *decided_on)
{
    open_case(f, received_at);
    LAW_OK(f, "decision_to_assess", "manager", decided_on, "decision", "no");
    assert_string_equal(law_stage(f), "not_assessed");
}

static void test_appeal_window_is_2_months_from_the_refusal_16_april_on_time_17_april_late(void **state)
{
    law_fixture *f = *state;
    refused(f, "2026-01-05T09:30", "2026-02-16");
    law_assert_due(f, "appeal_window_refusal", "", "2026-04-16");
    LAW_OK(f, "appeal_registered", "officer", "2026-04-16", "matter", "refusal_to_assess");
    law_assert_status(f, "appeal_window_refusal", "", EHC_DEADLINE_MET);
    assert_string_equal(law_report(f, "RequestTribunal"), "1");
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
    refused(f, "2026-01-05T09:30", "2026-02-16");
    LAW_OK(f, "appeal_registered", "officer", "2026-04-17", "matter", "refusal_to_assess");
    law_assert_status(f, "appeal_window_refusal", "", EHC_DEADLINE_MET_LATE);
}

static void test_mediation_certificate_extends_the_window_to_1_month_after_it_if_later(void **state)
{
    law_fixture *f = *state;
    refused(f, "2026-01-05T09:30", "2026-02-16");
    LAW_OK(f, "mediation_requested", "officer", "2026-03-02");
    law_assert_due(f, "mediation_arranged_due", "", "2026-04-01");
    LAW_OK(f, "mediation_held", "officer", "2026-04-01", "outcome", "no_agreement");
    law_assert_status(f, "mediation_arranged_due", "", EHC_DEADLINE_MET);
    /* 3 working days after Wednesday 1 April 2026, over Good Friday and Easter Monday. */
    law_assert_due(f, "certificate_after_mediation_due", "", "2026-04-08");
    LAW_OK(f, "mediation_certificate_issued", "officer", "2026-04-08", "issued_on", "2026-04-08");
    law_assert_status(f, "certificate_after_mediation_due", "", EHC_DEADLINE_MET);
    /* Later of 16 April (2 months) and 8 May (1 month after the certificate). */
    law_assert_due(f, "appeal_window_refusal", "", "2026-05-08");
    assert_true(has_effect(f, EHC_EFFECT_DEADLINE_RECOMPUTED));
    /* "refusal_final_not_before" moved with the window: the refusal cannot stand on 8 May */
    law_assert_due(f, "refusal_final_not_before", "", "2026-05-08");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "refusal_stands", "manager", "2026-05-08");
    LAW_OK(f, "refusal_stands", "manager", "2026-05-11");
    assert_string_equal(law_stage(f), "closed_refused");
    law_assert_status(f, "appeal_window_refusal", "", EHC_DEADLINE_CANCELLED);
}

static void test_certificate_after_mediation_declined_is_due_in_3_working_days(void **state)
{
    law_fixture *f = *state;
    refused(f, "2026-01-05T09:30", "2026-02-16");
    LAW_OK(f, "mediation_declined", "officer", "2026-03-02");
    law_assert_due(f, "certificate_after_decline_due", "", "2026-03-05");
    /* 1 month after a certificate of 6 March is 6 April, earlier than 16 April: the window stays. */
    LAW_OK(f, "mediation_certificate_issued", "officer", "2026-03-06", "issued_on", "2026-03-06");
    law_assert_status(f, "certificate_after_decline_due", "", EHC_DEADLINE_MET_LATE);
    law_assert_due(f, "appeal_window_refusal", "", "2026-04-16");
}

static void test_appeal_window_ending_in_august_moves_to_the_first_working_day_of_september(void **state)
{
    law_fixture *f = *state;
    /* Request 4 May 2026; refused Monday 15 June: 2 months is Saturday 15 August -> Tuesday 1 September. */
    refused(f, "2026-05-04T09:00", "2026-06-15");
    law_assert_due(f, "appeal_window_refusal", "", "2026-09-01");
}

static void test_appeal_window_ending_at_christmas_moves_to_the_first_working_day_of_january(void **state)
{
    law_fixture *f = *state;
    /* Decision not to issue Monday 26 October 2026: 2 months is Saturday 26 December -> Monday
     * 4 January 2027 (1 January a bank holiday, 2 and 3 January a weekend). */
    open_case(f, "2026-07-06T09:00");
    LAW_OK(f, "decision_to_assess", "manager", "2026-08-14", "decision", "yes");
    LAW_OK(f, "decision_to_issue", "manager", "2026-10-26", "decision", "no");
    law_assert_due(f, "appeal_window_no_plan", "", "2027-01-04");
}

/* --- orders (Reg 44) and concessions (Reg 45) -------------------------------------------------------------
 */

static void test_tribunal_order_to_assess_reopens_under_reg_44_keeping_the_original_refusal(void **state)
{
    law_fixture *f = *state;
    refused(f, "2026-01-05T09:30", "2026-02-16");
    LAW_OK(f, "appeal_registered", "officer", "2026-03-16", "matter", "refusal_to_assess");
    LAW_OK(f, "refusal_overturned", "manager", NULL, "by", "tribunal_order", "order", "assess", "ordered_on",
           "2026-06-01");
    assert_string_equal(law_stage(f), "assessing");
    assert_string_equal(law_report(f, "RequestOutcome"), "N");
    assert_string_equal(law_report(f, "RequestOutcomeDate"), "2026-02-16");
    assert_string_equal(law_report(f, "RequestTribunal"), "1");
    law_assert_status(f, "decision_due", "", EHC_DEADLINE_MET);
    law_assert_due(f, "reg44_notify_family_due", "", "2026-06-15");
    law_assert_due(f, "reg44_no_plan_due", "", "2026-08-10");
    law_assert_due(f, "reg44_final_plan_due", "", "2026-09-07");
    LAW_OK(f, "assessment_start_notified", "officer", "2026-06-16");
    law_assert_status(f, "reg44_notify_family_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_mediation_agreement_to_issue_reopens_a_no_plan_decision_under_reg_44(void **state)
{
    law_fixture *f = *state;
    to_deciding_to_issue(f);
    LAW_OK(f, "decision_to_issue", "manager", "2026-04-27", "decision", "no");
    LAW_OK(f, "refusal_overturned", "manager", NULL, "by", "mediation_agreement", "order", "make_plan",
           "ordered_on", "2026-06-01");
    assert_string_equal(law_stage(f), "deciding_to_issue");
    assert_string_equal(law_report(f, "AssessmentOutcome"), "N");
    assert_string_equal(law_report(f, "AssessmentMediation"), "1");
    law_assert_status(f, "appeal_window_no_plan", "", EHC_DEADLINE_CANCELLED);
    law_assert_due(f, "reg44_draft_due", "", "2026-07-06");
    law_assert_due(f, "reg44_final_after_plan_order_due", "", "2026-08-17");
    LAW_OK(f, "decision_to_issue", "manager", "2026-06-02", "decision", "yes");
    LAW_OK(f, "draft_served", "officer", "2026-07-06", "served_on", "2026-07-06");
    law_assert_status(f, "reg44_draft_due", "", EHC_DEADLINE_MET);
}

static void test_tribunal_order_on_contents_5_weeks_and_on_section_i_2_weeks(void **state)
{
    law_fixture *f = *state;
    to_finalising(f);
    LAW_OK(f, "final_plan_issued", "manager", "2026-05-20");
    law_assert_due(f, "appeal_window_plan", "", "2026-07-20");
    LAW_OK(f, "appeal_registered", "officer", "2026-06-01", "matter", "plan_contents");
    LAW_OK(f, "tribunal_order_on_plan", "manager", NULL, "order", "contents_amended", "ordered_on",
           "2026-06-01");
    law_assert_due(f, "reg44_amend_due", "", "2026-07-06");
    LAW_OK(f, "plan_amended_per_order", "manager", "2026-07-06");
    law_assert_status(f, "reg44_amend_due", "", EHC_DEADLINE_MET);
    LAW_OK(f, "tribunal_order_on_plan", "manager", NULL, "order", "section_i_only", "ordered_on",
           "2026-07-13");
    law_assert_due(f, "reg44_section_i_due", "", "2026-07-27");
    LAW_OK(f, "plan_amended_per_order", "manager", "2026-07-28");
    law_assert_status(f, "reg44_section_i_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_conceded_appeal_4_weeks_or_2_weeks_for_section_i(void **state)
{
    law_fixture *f = *state;
    refused(f, "2026-01-05T09:30", "2026-02-16");
    LAW_OK(f, "appeal_registered", "officer", "2026-03-16", "matter", "refusal_to_assess");
    LAW_OK(f, "appeal_conceded", "manager", "2026-06-01", "matter", "refusal_to_assess", "section_i_only",
           "false");
    assert_string_equal(law_stage(f), "assessing");
    law_assert_due(f, "reg45_action_due", "", "2026-06-29");
    LAW_OK(f, "conceded_action_taken", "manager", "2026-06-29");
    law_assert_status(f, "reg45_action_due", "", EHC_DEADLINE_MET);
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
    to_finalising(f);
    LAW_OK(f, "final_plan_issued", "manager", "2026-05-20");
    LAW_OK(f, "appeal_conceded", "manager", "2026-06-01", "matter", "plan_contents", "section_i_only",
           "true");
    law_assert_due(f, "reg45_section_i_due", "", "2026-06-15");
    LAW_OK(f, "conceded_action_taken", "manager", "2026-06-16");
    law_assert_status(f, "reg45_section_i_due", "", EHC_DEADLINE_MET_LATE);
}

/* --- SEN2 records of the plan (statute.md §7, modules 4a, 4b and SEN need) ------------------------- */

static void test_plan_placement_and_need_are_recorded_only_once_the_plan_is_issued(void **state)
{
    law_fixture *f = *state;
    to_finalising(f);
    /* nothing to record about a plan not yet made */
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "plan_details_recorded", "officer", "2026-05-01",
                "personal_budget", "true");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "placement_recorded", "officer", "2026-05-01",
                "placement_key", "p1", "rank", "1", "urn", "105432");
    LAW_OK(f, "final_plan_issued", "manager", "2026-05-20");
    LAW_OK(f, "plan_details_recorded", "officer", "2026-05-21", "personal_budget", "true", "direct_payments",
           "true");
    LAW_OK(f, "placement_recorded", "officer", "2026-05-21", "placement_key", "p1", "rank", "1", "urn",
           "105432", "sen_unit", "true");
    LAW_OK(f, "sen_need_recorded", "officer", "2026-05-21", "primary_need", "asd", "secondary_need", "slcn");
    /* codes out of SEN2's ranges are refused, naming the field */
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_FIELD_INVALID, "plan_details_recorded", "officer", "2026-05-22",
                "cease_reason", "10");
    assert_string_equal(f->err.field, "cease_reason");
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_FIELD_INVALID, "placement_recorded", "officer", "2026-05-22",
                "placement_key", "p2", "rank", "1", "urn", "10543");
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_FIELD_INVALID, "sen_need_recorded", "officer", "2026-05-22",
                "primary_need", "dyslexia");
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_FIELD_MISSING, "sen_need_recorded", "officer", "2026-05-22",
                "secondary_need", "hi");
    /* the records change nothing in the law: the stage and the review hand-over clock stand */
    assert_string_equal(law_stage(f), "issued");
    law_assert_due(f, "review_handover_not_before", "", "2026-07-20");
    LAW_OK(f, "handed_to_review", "manager", "2026-07-21");
    /* after the hand-over to the review cycle, the records can still be kept up to date */
    LAW_OK(f, "placement_recorded", "officer", "2026-09-01", "placement_key", "p1", "rank", "1", "urn",
           "105432", "end_on", "2026-08-31");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, law_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_request_by_email_before_5pm_is_received_that_day),
        T(test_request_by_email_at_5pm_is_received_the_next_working_day),
        T(test_request_by_hand_on_a_saturday_or_posted_first_class_on_a_friday_is_received_monday),
        T(test_decision_to_assess_on_16_february_is_on_time_and_17_february_is_late),
        T(test_advice_due_6_weeks_from_the_advisers_receipt_last_day_6_april_first_late_7_april),
        T(test_no_plan_notice_on_27_april_is_on_time_and_28_april_is_late),
        T(test_final_plan_not_before_5_may_after_a_draft_served_20_april),
        T(test_setting_answer_due_15_days_after_consultation_6_may_on_time_7_may_late),
        T(test_final_plan_on_25_may_bank_holiday_is_on_time_and_26_may_is_late),
        T(test_plan_issued_on_another_authoritys_assessment_is_sen2_outcome_s),
        T(test_week20_derives_only_from_the_20_week_clocks_exceptions),
        T(test_exception_the_law_does_not_allow_on_a_clock_is_refused),
        T(test_school_closure_exception_checked_against_the_settings_own_closure_dates),
        T(test_closure_exception_needs_the_right_kind_of_setting_and_its_calendar),
        T(test_withdrawal_before_the_decision_is_sen2_request_outcome_w),
        T(test_withdrawal_during_assessment_keeps_request_y_and_sets_assessment_w),
        T(test_death_closes_the_case_and_stops_every_alert_and_letter),
        T(test_moving_to_another_authority_during_assessment_closes_this_case),
        T(test_appeal_window_is_2_months_from_the_refusal_16_april_on_time_17_april_late),
        T(test_mediation_certificate_extends_the_window_to_1_month_after_it_if_later),
        T(test_certificate_after_mediation_declined_is_due_in_3_working_days),
        T(test_appeal_window_ending_in_august_moves_to_the_first_working_day_of_september),
        T(test_appeal_window_ending_at_christmas_moves_to_the_first_working_day_of_january),
        T(test_tribunal_order_to_assess_reopens_under_reg_44_keeping_the_original_refusal),
        T(test_mediation_agreement_to_issue_reopens_a_no_plan_decision_under_reg_44),
        T(test_tribunal_order_on_contents_5_weeks_and_on_section_i_2_weeks),
        T(test_conceded_appeal_4_weeks_or_2_weeks_for_section_i),
        T(test_plan_placement_and_need_are_recorded_only_once_the_plan_is_issued),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
