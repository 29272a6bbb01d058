/* workflows/reassessment.json against the law, with literal dates written by hand from CFA 2014 s44(2)
 * and the SEND Regulations 2014 (regs 8, 13, 24-27 as the statute notes give them; 32-45) and the England
 * and Wales calendar: the 14 weeks of reg 27(2) from notifying the decision to re-assess, on their last
 * valid day and first late day; the time to decide a request as a local target only (reg 24 unverified);
 * each adviser's 6 weeks; the reg 27(3) exceptions accepted, and refused where the law does not allow
 * them; refusals and their appeal windows, mediation and Reg 44; withdrawal, death and moving away. */
#include "law_fixture.h"

static int setup(void **state)
{
    *state = law_fixture_load("reassessment.json", "2028-12-31");
    return 0;
}

/* A parent's request received on Monday 16 February 2026. */
static void requested(law_fixture *f)
{
    LAW_OK(f, "reassessment_requested", "officer", "2026-02-16", "requested_by", "parent",
           "previous_assessment_on", "2025-03-10");
    assert_string_equal(law_stage(f), "requested");
}

/* The decision to re-assess notified on Monday 2 March 2026. */
static void reassessing(law_fixture *f)
{
    requested(f);
    LAW_OK(f, "reassessment_decision_notified", "manager", "2026-03-02", "decision", "yes");
    assert_string_equal(law_stage(f), "reassessing");
}

/* Advice in, the decision to amend, and a draft served on Monday 4 May 2026. */
static void draft_served(law_fixture *f)
{
    reassessing(f);
    LAW_OK(f, "advice_requested", "officer", "2026-03-06", "request_key", "ep", "adviser",
           "educational_psychologist", "received_on", "2026-03-09");
    LAW_OK(f, "advice_received", "officer", "2026-04-14", "request_key", "ep");
    LAW_OK(f, "reassessment_outcome_notified", "manager", "2026-04-20", "decision", "amend");
    assert_string_equal(law_stage(f), "drafting");
    LAW_OK(f, "draft_served", "officer", NULL, "served_on", "2026-05-04", "sent_on", "2026-05-01");
    assert_string_equal(law_stage(f), "draft");
}

/* --- reg 27(2): 14 weeks from notifying the decision to re-assess ------------------------------------ */

static void test_plan_due_8_june_14_weeks_after_the_decision_of_2_march_and_9_june_is_late(void **state)
{
    law_fixture *f = *state;
    draft_served(f);
    law_assert_due(f, "reassessed_plan_due", "", "2026-06-08");
    assert_int_equal(ehc_workflow_deadline(f->wf, law_instance(f, "reassessed_plan_due", "")->deadline)->kind,
                     EHC_DEADLINE_STATUTORY);
    LAW_OK(f, "representations_received", "officer", "2026-05-12", "meeting_requested", "true");
    LAW_OK(f, "reassessed_plan_issued", "manager", "2026-06-08");
    law_assert_status(f, "reassessed_plan_due", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "issued");
    /* 2 months from 8 June is Saturday 8 August: the appeal window runs to Tuesday 1 September 2026
     * (Monday 31 August is the summer bank holiday). */
    law_assert_due(f, "appeal_window_plan", "", "2026-09-01");
    /* "review_handover_not_before" follows the window: not on the day of issue, nor on its last day. */
    law_assert_due(f, "review_handover_not_before", "", "2026-09-01");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "handed_to_review", "manager", "2026-06-08");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "handed_to_review", "manager", "2026-09-01");
    LAW_OK(f, "handed_to_review", "manager", "2026-09-02");
    law_assert_status(f, "review_handover_not_before", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "review_cycle");
    law_assert_status(f, "appeal_window_plan", "", EHC_DEADLINE_CANCELLED);
    law_fixture_restart(f);
    draft_served(f);
    LAW_OK(f, "reassessed_plan_issued", "manager", "2026-06-09");
    law_assert_status(f, "reassessed_plan_due", "", EHC_DEADLINE_MET_LATE);
}

static void test_final_plan_not_before_19_may_after_a_draft_served_4_may(void **state)
{
    law_fixture *f = *state;
    draft_served(f);
    law_assert_due(f, "representations_period", "", "2026-05-19");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "reassessed_plan_issued", "manager", "2026-05-18");
    assert_string_equal(f->err.rule,
                        "SEND Regulations 2014, reg 13(1), as applied on a re-assessment (reg 27)");
    LAW_OK(f, "reassessed_plan_issued", "manager", "2026-05-19");
    law_assert_status(f, "representations_period", "", EHC_DEADLINE_MET);
    law_assert_status(f, "reassessed_plan_due", "", EHC_DEADLINE_MET);
}

static void test_a_replacement_plan_meets_the_14_weeks_like_an_amended_one(void **state)
{
    law_fixture *f = *state;
    reassessing(f);
    LAW_OK(f, "reassessment_outcome_notified", "manager", "2026-05-01", "decision", "replace");
    assert_string_equal(law_stage(f), "drafting");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "reassessed_plan_issued", "manager", "2026-05-20");
    LAW_OK(f, "draft_served", "officer", NULL, "served_on", "2026-05-20");
    LAW_OK(f, "reassessed_plan_issued", "manager", "2026-06-08");
    law_assert_status(f, "reassessed_plan_due", "", EHC_DEADLINE_MET);
}

/* --- the decision whether to re-assess: a local target only (reg 24 unverified) ----------------------- */

static void test_decision_target_15_days_3_march_on_time_4_march_late_and_never_statutory(void **state)
{
    law_fixture *f = *state;
    requested(f);
    law_assert_due(f, "reassessment_decision_target", "", "2026-03-03");
    const ehc_deadline_instance *d = law_instance(f, "reassessment_decision_target", "");
    assert_int_equal(ehc_workflow_deadline(f->wf, d->deadline)->kind, EHC_DEADLINE_LOCAL);
    LAW_OK(f, "reassessment_decision_notified", "manager", "2026-03-03", "decision", "yes");
    law_assert_status(f, "reassessment_decision_target", "", EHC_DEADLINE_MET);
    law_fixture_restart(f);
    requested(f);
    LAW_OK(f, "reassessment_decision_notified", "manager", "2026-03-04", "decision", "yes");
    law_assert_status(f, "reassessment_decision_target", "", EHC_DEADLINE_MET_LATE);
    /* The 14 weeks run from the decision, however late: Wednesday 4 March to Wednesday 10 June. */
    law_assert_due(f, "reassessed_plan_due", "", "2026-06-10");
}

static void test_an_authority_may_set_its_own_decision_target_but_not_shorten_the_14_weeks(void **state)
{
    law_fixture *f = *state;
    const ehc_local_override ok[] = {
        {.deadline = "reassessment_decision_target", .length = {.unit = EHC_LENGTH_DAYS, .count = 10}}};
    ehc_machine_error err;
    assert_int_equal(ehc_machine_check_overrides(f->wf, ok, 1, &err), 0);
    const ehc_local_override bad[] = {
        {.deadline = "reassessed_plan_due", .length = {.unit = EHC_LENGTH_WEEKS, .count = 20}}};
    assert_int_not_equal(ehc_machine_check_overrides(f->wf, bad, 1, &err), 0);
    assert_int_equal(err.code, EHC_MACHINE_E_OVERRIDE_INVALID);
    assert_string_equal(err.rule, "SEND Regulations 2014, reg 27(2)");
    f->env.overrides = ok;
    f->env.override_count = 1;
    requested(f);
    law_assert_due(f, "reassessment_decision_target", "", "2026-02-26");
}

static void test_on_the_authoritys_own_initiative_the_decision_may_be_the_same_day(void **state)
{
    law_fixture *f = *state;
    LAW_OK(f, "reassessment_requested", "manager", "2026-03-02", "requested_by", "authority_initiative");
    LAW_OK(f, "reassessment_decision_notified", "manager", "2026-03-02", "decision", "yes");
    law_assert_status(f, "reassessment_decision_target", "", EHC_DEADLINE_MET);
    law_assert_due(f, "reassessed_plan_due", "", "2026-06-08");
    /* Only the parent, young person, institution or authority may start one. */
    law_fixture_restart(f);
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_FIELD_INVALID, "reassessment_requested", "officer", "2026-03-02",
                "requested_by", "health");
}

/* --- Reg 8 via reg 26: each adviser's 6 weeks ---------------------------------------------------------- */

static void test_advice_due_20_april_6_weeks_from_the_advisers_receipt_and_21_april_is_late(void **state)
{
    law_fixture *f = *state;
    reassessing(f);
    LAW_OK(f, "advice_requested", "officer", "2026-03-06", "request_key", "ep", "adviser",
           "educational_psychologist", "received_on", "2026-03-09");
    LAW_OK(f, "advice_requested", "officer", "2026-03-06", "request_key", "health", "adviser", "medical",
           "received_on", "2026-03-09");
    LAW_OK(f, "advice_requested", "officer", "2026-03-06", "request_key", "sc", "adviser", "social_care",
           "received_on", "2026-03-09");
    law_assert_due(f, "advice_due", "ep", "2026-04-20");
    law_assert_due(f, "advice_due", "health", "2026-04-20");
    LAW_OK(f, "advice_received", "officer", "2026-04-20", "request_key", "ep");
    LAW_OK(f, "advice_received", "dco", "2026-04-21", "request_key", "health");
    law_assert_status(f, "advice_due", "ep", EHC_DEADLINE_MET);
    law_assert_status(f, "advice_due", "health", EHC_DEADLINE_MET_LATE);
    /* Social care's existing advice agreed sufficient (Reg 6(4)): its clock stops unmet. */
    LAW_OK(f, "existing_advice_agreed", "manager", "2026-03-20", "request_key", "sc", "adviser",
           "social_care");
    law_assert_status(f, "advice_due", "sc", EHC_DEADLINE_CANCELLED);
}

/* --- reg 27(3): exceptions (a)-(d) on the 14 weeks ------------------------------------------------------ */

/* Decision Monday 1 June 2026: 14 weeks end Monday 7 September. The example academy closes Thursday 23 July
 * - Wednesday 2 September 2026, so the window for asking it is 16 July - 27 August. */
static void summer_case(law_fixture *f)
{
    LAW_OK(f, "reassessment_requested", "officer", "2026-05-18", "requested_by", "school_or_college");
    LAW_OK(f, "reassessment_decision_notified", "manager", "2026-06-01", "decision", "yes");
    law_assert_due(f, "reassessed_plan_due", "", "2026-09-07");
    LAW_OK(f, "advice_requested", "officer", "2026-07-15", "request_key", "early", "adviser",
           "school_or_college", "received_on", "2026-07-15", "setting", "example-academy-trust");
    LAW_OK(f, "advice_requested", "officer", "2026-07-16", "request_key", "first", "adviser",
           "school_or_college", "received_on", "2026-07-16", "setting", "example-academy-trust");
    LAW_OK(f, "advice_requested", "officer", "2026-07-16", "request_key", "ey", "adviser", "early_years",
           "received_on", "2026-07-16", "setting", "example-academy-trust");
}

static void
test_reg_27_3_a_to_d_accepted_on_the_14_weeks_and_the_closure_checked_against_the_setting(void **state)
{
    law_fixture *f = *state;
    summer_case(f);
    /* (a): asked on 15 July, a day before the window, refused; on 16 July accepted. */
    assert_int_equal(law_record_exception(f, "2026-08-28", "reassessed_plan_due", "reg_27_3_a", "early"),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_EXCEPTION_INVALID);
    assert_int_equal(law_record_exception(f, "2026-08-28", "reassessed_plan_due", "reg_27_3_a", "first"), 0);
    /* (b) is for early-years providers only. */
    assert_int_equal(law_record_exception(f, "2026-08-28", "reassessed_plan_due", "reg_27_3_b", "first"),
                     EHC_EINVAL);
    assert_int_equal(law_record_exception(f, "2026-08-28", "reassessed_plan_due", "reg_27_3_b", "ey"), 0);
    assert_int_equal(law_record_exception(f, "2026-08-28", "reassessed_plan_due", "reg_27_3_c", NULL), 0);
    assert_int_equal(law_record_exception(f, "2026-08-28", "reassessed_plan_due", "reg_27_3_d", NULL), 0);
    /* Exceptions excuse lateness; the statutory date never moves. */
    law_assert_due(f, "reassessed_plan_due", "", "2026-09-07");
}

static void test_exceptions_the_law_does_not_allow_are_refused(void **state)
{
    law_fixture *f = *state;
    summer_case(f);
    /* A missed appointment excuses an adviser (Reg 8(2)(e)), never the 14 weeks. */
    assert_int_equal(law_record_exception(f, "2026-08-03", "reassessed_plan_due", "reg_8_2_e", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_EXCEPTION_INVALID);
    assert_int_equal(law_record_exception(f, "2026-08-03", "advice_due", "reg_8_2_e", "first"), 0);
    assert_int_equal(law_record_exception(f, "2026-08-03", "advice_due", "reg_8_2_c", "first"), 0);
    assert_int_equal(law_record_exception(f, "2026-08-03", "advice_due", "reg_8_2_d", "ey"), 0);
    /* A school closure never excuses an adviser's own 6 weeks. */
    assert_int_equal(law_record_exception(f, "2026-08-03", "advice_due", "reg_27_3_a", "first"), EHC_EINVAL);
    /* The local decision target carries no statutory exceptions. */
    assert_int_equal(
        law_record_exception(f, "2026-08-03", "reassessment_decision_target", "reg_27_3_c", NULL),
        EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_EXCEPTION_INVALID);
}

/* --- refusals and disagreement (CFA s51(2)(c)-(e)) ---------------------------------------------------- */

static void test_refusal_to_reassess_opens_a_2_month_window_2_may_on_time_and_3_may_late(void **state)
{
    law_fixture *f = *state;
    requested(f);
    LAW_OK(f, "reassessment_decision_notified", "manager", "2026-03-02", "decision", "no", "refusal_ground",
           "assessed_within_6_months");
    assert_string_equal(law_stage(f), "not_reassessed");
    assert_null(law_find_instance(f, "reassessed_plan_due", ""));
    law_assert_due(f, "appeal_window_refusal", "", "2026-05-02");
    /* Declined on Thursday 5 March: certificate by Tuesday 10 March; a month after it is still earlier
     * than 2 May. */
    LAW_OK(f, "mediation_declined", "officer", "2026-03-05");
    law_assert_due(f, "certificate_after_decline_due", "", "2026-03-10");
    LAW_OK(f, "mediation_certificate_issued", "officer", NULL, "issued_on", "2026-03-10");
    law_assert_status(f, "certificate_after_decline_due", "", EHC_DEADLINE_MET);
    law_assert_due(f, "appeal_window_refusal", "", "2026-05-02");
    /* "refusal_final_not_before": the refusal cannot stand while the family may still appeal. */
    law_assert_due(f, "refusal_final_not_before", "", "2026-05-02");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "refusal_stands", "manager", "2026-05-02");
    LAW_OK(f, "appeal_registered", "officer", "2026-05-02", "matter", "refusal_to_reassess");
    law_assert_status(f, "appeal_window_refusal", "", EHC_DEADLINE_MET);
    /* An appeal registered lifts the wait: the refusal stands when the appeal is dismissed. */
    law_assert_status(f, "refusal_final_not_before", "", EHC_DEADLINE_CANCELLED);
    law_fixture_restart(f);
    requested(f);
    LAW_OK(f, "reassessment_decision_notified", "manager", "2026-03-02", "decision", "no", "refusal_ground",
           "not_necessary");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "refusal_stands", "manager", "2026-05-02");
    LAW_OK(f, "refusal_stands", "manager", "2026-05-03");
    law_assert_status(f, "refusal_final_not_before", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "closed_refused");
    law_fixture_restart(f);
    requested(f);
    LAW_OK(f, "reassessment_decision_notified", "manager", "2026-03-02", "decision", "no", "refusal_ground",
           "not_necessary");
    LAW_OK(f, "appeal_registered", "officer", "2026-05-03", "matter", "refusal_to_reassess");
    law_assert_status(f, "appeal_window_refusal", "", EHC_DEADLINE_MET_LATE);
    LAW_OK(f, "refusal_stands", "manager", "2026-09-14");
    assert_string_equal(law_stage(f), "closed_refused");
}

static void
test_mediation_agreement_to_reassess_gives_2_weeks_to_tell_the_family_and_14_for_the_plan(void **state)
{
    law_fixture *f = *state;
    requested(f);
    LAW_OK(f, "reassessment_decision_notified", "manager", "2026-03-02", "decision", "no", "refusal_ground",
           "not_necessary");
    LAW_OK(f, "mediation_requested", "officer", "2026-03-10");
    law_assert_due(f, "mediation_arranged_due", "", "2026-04-09");
    LAW_OK(f, "mediation_held", "officer", "2026-04-09", "outcome", "agreement");
    law_assert_status(f, "mediation_arranged_due", "", EHC_DEADLINE_MET);
    LAW_OK(f, "refusal_overturned", "manager", NULL, "by", "mediation_agreement", "ordered_on", "2026-04-13");
    assert_string_equal(law_stage(f), "reassessing");
    law_assert_status(f, "appeal_window_refusal", "", EHC_DEADLINE_CANCELLED);
    law_assert_due(f, "reg44_notify_family_due", "", "2026-04-27");
    law_assert_due(f, "reg44_final_plan_due", "", "2026-07-20");
    LAW_OK(f, "reassessment_start_notified", "officer", "2026-04-28");
    law_assert_status(f, "reg44_notify_family_due", "", EHC_DEADLINE_MET_LATE);
    LAW_OK(f, "reassessment_outcome_notified", "manager", "2026-06-22", "decision", "amend");
    LAW_OK(f, "draft_served", "officer", NULL, "served_on", "2026-07-01");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "reassessed_plan_issued", "manager", "2026-07-15");
    LAW_OK(f, "reassessed_plan_issued", "manager", "2026-07-20");
    law_assert_status(f, "reg44_final_plan_due", "", EHC_DEADLINE_MET);
}

static void test_deciding_not_to_amend_ends_the_14_weeks_and_a_certificate_extends_the_window(void **state)
{
    law_fixture *f = *state;
    reassessing(f);
    LAW_OK(f, "advice_requested", "officer", "2026-03-06", "request_key", "ep", "adviser",
           "educational_psychologist", "received_on", "2026-03-09");
    LAW_OK(f, "reassessment_outcome_notified", "manager", "2026-05-04", "decision", "no_change");
    assert_string_equal(law_stage(f), "not_amended");
    law_assert_status(f, "reassessed_plan_due", "", EHC_DEADLINE_CANCELLED);
    law_assert_status(f, "advice_due", "ep", EHC_DEADLINE_CANCELLED);
    /* 2 months from Monday 4 May 2026 is Saturday 4 July (not August): it stands. */
    law_assert_due(f, "appeal_window_no_change", "", "2026-07-04");
    LAW_OK(f, "mediation_requested", "officer", "2026-05-11");
    law_assert_due(f, "mediation_arranged_due", "", "2026-06-10");
    LAW_OK(f, "mediation_held", "officer", "2026-06-11", "outcome", "no_agreement");
    law_assert_status(f, "mediation_arranged_due", "", EHC_DEADLINE_MET_LATE);
    /* Thursday 11 June: Friday 12, Monday 15, Tuesday 16. */
    law_assert_due(f, "certificate_after_mediation_due", "", "2026-06-16");
    LAW_OK(f, "mediation_certificate_issued", "officer", NULL, "issued_on", "2026-06-16");
    law_assert_status(f, "certificate_after_mediation_due", "", EHC_DEADLINE_MET);
    /* A month after the certificate, 16 July, is later than 4 July. */
    law_assert_due(f, "appeal_window_no_change", "", "2026-07-16");
    /* "no_change_final_not_before" moved with the window: the decision cannot stand on 16 July, but
     * can from the 17th. */
    law_assert_due(f, "no_change_final_not_before", "", "2026-07-16");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "refusal_stands", "manager", "2026-07-04");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "refusal_stands", "manager", "2026-07-16");
    LAW_OK(f, "appeal_registered", "officer", "2026-07-16", "matter", "no_amendment");
    law_assert_status(f, "appeal_window_no_change", "", EHC_DEADLINE_MET);
    law_assert_status(f, "no_change_final_not_before", "", EHC_DEADLINE_CANCELLED);
    /* Without mediation or appeal the decision stands from Sunday 5 July, the day after the window. */
    law_fixture_restart(f);
    reassessing(f);
    LAW_OK(f, "reassessment_outcome_notified", "manager", "2026-05-04", "decision", "no_change");
    law_assert_due(f, "no_change_final_not_before", "", "2026-07-04");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_TOO_EARLY, "refusal_stands", "manager", "2026-07-04");
    LAW_OK(f, "refusal_stands", "manager", "2026-07-05");
    law_assert_status(f, "no_change_final_not_before", "", EHC_DEADLINE_MET);
    assert_string_equal(law_stage(f), "closed_refused");
}

/* --- withdrawal, death, moving away ------------------------------------------------------------------- */

static void test_withdrawal_closes_the_case_but_not_once_the_plan_is_issued(void **state)
{
    law_fixture *f = *state;
    reassessing(f);
    LAW_OK(f, "withdrawn", "officer", "2026-03-20");
    assert_string_equal(law_stage(f), "withdrawn");
    law_assert_status(f, "reassessed_plan_due", "", EHC_DEADLINE_CANCELLED);
    law_fixture_restart(f);
    draft_served(f);
    LAW_OK(f, "reassessed_plan_issued", "manager", "2026-06-01");
    LAW_REFUSED(f, EHC_ESTATE, EHC_MACHINE_E_NOT_ALLOWED, "withdrawn", "officer", "2026-06-02");
}

static void test_death_closes_the_case_and_stops_every_alert_and_letter(void **state)
{
    law_fixture *f = *state;
    reassessing(f);
    LAW_OK(f, "child_died", "manager", "2026-04-01");
    assert_string_equal(law_stage(f), "deceased");
    assert_true(f->state.letters_stopped);
    for (size_t i = 0; i < f->state.deadline_count; i++)
        assert_int_not_equal(f->state.deadlines[i].status, EHC_DEADLINE_OPEN);
}

static void test_moving_away_during_the_reassessment_closes_this_case(void **state)
{
    law_fixture *f = *state;
    draft_served(f);
    LAW_OK(f, "moved_to_another_la", "officer", "2026-05-10");
    assert_string_equal(law_stage(f), "moved_away");
    law_assert_status(f, "reassessed_plan_due", "", EHC_DEADLINE_CANCELLED);
    law_assert_status(f, "representations_period", "", EHC_DEADLINE_CANCELLED);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, law_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_plan_due_8_june_14_weeks_after_the_decision_of_2_march_and_9_june_is_late),
        T(test_final_plan_not_before_19_may_after_a_draft_served_4_may),
        T(test_a_replacement_plan_meets_the_14_weeks_like_an_amended_one),
        T(test_decision_target_15_days_3_march_on_time_4_march_late_and_never_statutory),
        T(test_an_authority_may_set_its_own_decision_target_but_not_shorten_the_14_weeks),
        T(test_on_the_authoritys_own_initiative_the_decision_may_be_the_same_day),
        T(test_advice_due_20_april_6_weeks_from_the_advisers_receipt_and_21_april_is_late),
        T(test_reg_27_3_a_to_d_accepted_on_the_14_weeks_and_the_closure_checked_against_the_setting),
        T(test_exceptions_the_law_does_not_allow_are_refused),
        T(test_refusal_to_reassess_opens_a_2_month_window_2_may_on_time_and_3_may_late),
        T(test_mediation_agreement_to_reassess_gives_2_weeks_to_tell_the_family_and_14_for_the_plan),
        T(test_deciding_not_to_amend_ends_the_14_weeks_and_a_certificate_extends_the_window),
        T(test_withdrawal_closes_the_case_but_not_once_the_plan_is_issued),
        T(test_death_closes_the_case_and_stops_every_alert_and_letter),
        T(test_moving_away_during_the_reassessment_closes_this_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
