/* The pure state machine on tests/fixtures/workflows/assessment-start.json: deadline dates written
 * from the law (request received Monday 5 January 2026), met on time and late, per-adviser clocks,
 * the Reg 13(1) earliest date, withdrawal, local-target overrides, exceptions, every kind of refusal,
 * alert dates, and replay determinism. */
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

static int setup(void **state)
{
    fixture *f = ehc_calloc(1, sizeof *f);
    char *dir = ehc_asprintf("%s/workflows/calendars", source_dir());
    char *file = ehc_asprintf("%s/tests/fixtures/workflows/assessment-start.json", source_dir());
    ehc_load_error err;
    if (ehc_calendar_set_load_dir(dir, &f->cals, &err) != 0)
        fail_msg("%s %s %s", err.file, err.path, err.reason);
    if (ehc_workflow_load_file(file, f->cals, &f->wf, &err) != 0)
        fail_msg("%s %s %s", err.file, err.path, err.reason);
    free(dir);
    free(file);
    ehc_case_state_init(f->wf, &f->state);
    f->env.workflow = f->wf;
    f->env.calendars = f->cals;
    f->env.today = day("2026-12-31");
    *state = f;
    return 0;
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

/* Records one event (fields as NULL-terminated name, value pairs). On success the new state
 * replaces the old and f->fx holds the effects; on refusal f->err says why and the state stays. */
static int record(fixture *f, const char *type, const char *role, const char *on, ...)
{
    ehc_field_value fields[8];
    size_t n = 0;
    va_list ap;
    va_start(ap, on);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL;) {
        assert_true(n < EHC_ARRAY_SIZE(fields));
        fields[n].field = name;
        fields[n].value = va_arg(ap, const char *);
        n++;
    }
    va_end(ap);
    const ehc_event_input in = {
        .type = type, .actor_role = role, .effective_on = day(on), .fields = fields, .field_count = n};
    ehc_case_state next;
    ehc_effects_free(&f->fx);
    const int rc = ehc_machine_apply(&f->env, &f->state, &in, &next, &f->fx, &f->err);
    if (rc == 0) {
        ehc_case_state_free(&f->state);
        f->state = next;
    } else {
        assert_int_equal(next.event_count, 0);
        assert_int_equal(f->fx.count, 0);
    }
    return rc;
}

#define RECORD_OK(f, ...)                                                                                    \
    do {                                                                                                     \
        if (record(f, __VA_ARGS__, NULL) != 0)                                                               \
            fail_msg("refused: %s: %s", ehc_machine_error_name((f)->err.code), (f)->err.message);            \
    } while (0)

static const ehc_effect *effect(const fixture *f, ehc_effect_kind kind, const char *deadline, const char *key)
{
    for (size_t i = 0; i < f->fx.count; i++) {
        const ehc_effect *e = &f->fx.items[i];
        if (e->kind != kind) continue;
        if (deadline && (!e->deadline || strcmp(e->deadline, deadline) != 0)) continue;
        if (key && strcmp(e->key, key) != 0) continue;
        return e;
    }
    return NULL;
}

static const ehc_deadline_instance *instance(const fixture *f, const char *deadline, const char *key)
{
    for (size_t i = 0; i < f->state.deadline_count; i++) {
        const ehc_deadline_instance *d = &f->state.deadlines[i];
        if (strcmp(ehc_workflow_deadline(f->wf, d->deadline)->id, deadline) == 0 && strcmp(d->key, key) == 0)
            return d;
    }
    fail_msg("no instance of %s [%s]", deadline, key);
    return NULL;
}

static const char *stage(const fixture *f)
{
    return ehc_workflow_stage(f->wf, f->state.stage)->id;
}

static void open_case(fixture *f)
{
    RECORD_OK(f, "request_received", "officer", "2026-01-05", "source", "parent");
}

static void to_assessment(fixture *f)
{
    open_case(f);
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes");
}

static void to_draft(fixture *f)
{
    to_assessment(f);
    RECORD_OK(f, "draft_served", "officer", "2026-04-20", "served_on", "2026-04-20");
}

/* --- dates from the law ---------------------------------------------------------------------------- */

static void test_decision_due_6_weeks_after_request(void **state)
{
    fixture *f = *state;
    open_case(f);
    const ehc_effect *e = effect(f, EHC_EFFECT_DEADLINE_SET, "decision_due", "");
    assert_non_null(e);
    assert_date(e->on, "2026-02-16");
    assert_int_equal(e->deadline_kind, EHC_DEADLINE_STATUTORY);
    assert_string_equal(e->basis, "SEND Regulations 2014, reg 5(1)");
    assert_false(e->earliest);
    assert_string_equal(stage(f), "request");
    assert_true(f->state.opened);
    assert_date(f->state.origin_on, "2026-01-05");
}

static void test_no_plan_notice_due_16_weeks_after_request(void **state)
{
    fixture *f = *state;
    open_case(f);
    assert_date(effect(f, EHC_EFFECT_DEADLINE_SET, "no_plan_notice_due", "")->on, "2026-04-27");
}

static void test_final_plan_due_20_weeks_after_request_even_on_a_bank_holiday(void **state)
{
    fixture *f = *state;
    open_case(f);
    const ehc_effect *e = effect(f, EHC_EFFECT_DEADLINE_SET, "final_plan_due", "");
    /* 25 May 2026 is the spring bank holiday: the statutory date stands. */
    assert_date(e->on, "2026-05-25");
    assert_string_equal(e->basis, "SEND Regulations 2014, reg 13(2)");
    assert_date(instance(f, "final_plan_due", "")->due_on, "2026-05-25");
}

static void test_decision_on_the_due_date_is_met_on_time(void **state)
{
    fixture *f = *state;
    open_case(f);
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-16", "decision", "yes");
    const ehc_effect *e = effect(f, EHC_EFFECT_DEADLINE_MET, "decision_due", "");
    assert_non_null(e);
    assert_date(e->on, "2026-02-16");
    assert_non_null(effect(f, EHC_EFFECT_ALERTS_RESOLVE, "decision_due", ""));
    assert_int_equal(instance(f, "decision_due", "")->status, EHC_DEADLINE_MET);
    assert_string_equal(stage(f), "assessment");
    const ehc_effect *s = effect(f, EHC_EFFECT_STAGE_CHANGED, NULL, NULL);
    assert_string_equal(s->from_stage, "request");
    assert_string_equal(s->to_stage, "assessment");
}

static void test_decision_the_day_after_due_is_met_late(void **state)
{
    fixture *f = *state;
    open_case(f);
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-17", "decision", "yes");
    const ehc_effect *e = effect(f, EHC_EFFECT_DEADLINE_MET_LATE, "decision_due", "");
    assert_non_null(e);
    assert_int_equal(e->days_late, 1);
    assert_date(e->due_on, "2026-02-16");
    assert_null(effect(f, EHC_EFFECT_DEADLINE_MET, "decision_due", ""));
    assert_int_equal(instance(f, "decision_due", "")->status, EHC_DEADLINE_MET_LATE);
}

static void test_decision_yes_reports_sen2_request_outcome_y_with_date(void **state)
{
    fixture *f = *state;
    open_case(f);
    assert_string_equal(effect(f, EHC_EFFECT_REPORT_SET, NULL, NULL)->report_value, "A");
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-12", "decision", "yes");
    assert_int_equal(f->state.report_count, 2);
    assert_string_equal(f->state.reports[0].item, "RequestOutcome");
    assert_string_equal(f->state.reports[0].value, "Y");
    assert_string_equal(f->state.reports[1].item, "RequestOutcomeDate");
    assert_string_equal(f->state.reports[1].value, "2026-02-12");
}

static void test_decision_no_closes_the_case_and_cancels_the_plan_clocks(void **state)
{
    fixture *f = *state;
    open_case(f);
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-10", "decision", "no");
    assert_string_equal(stage(f), "not_assessed");
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_MET, "decision_due", ""));
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_CANCELLED, "final_plan_due", ""));
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_CANCELLED, "no_plan_notice_due", ""));
    assert_non_null(effect(f, EHC_EFFECT_ALERTS_RESOLVE, "final_plan_due", ""));
    assert_int_equal(instance(f, "final_plan_due", "")->status, EHC_DEADLINE_CANCELLED);
    assert_string_equal(f->state.reports[0].value, "N");
    /* Closed: nothing more may be recorded, not even a withdrawal. */
    assert_int_equal(record(f, "withdrawn", "officer", "2026-02-11", NULL), EHC_ESTATE);
    assert_int_equal(f->err.code, EHC_MACHINE_E_NOT_ALLOWED);
    assert_non_null(strstr(f->err.message, "allowed now: none"));
}

static void test_advice_clock_runs_6_weeks_per_adviser_from_each_request(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "educational");
    assert_date(effect(f, EHC_EFFECT_DEADLINE_SET, "advice_due", "A")->on, "2026-04-03");
    assert_string_equal(effect(f, EHC_EFFECT_DEADLINE_SET, "advice_due", "A")->basis,
                        "SEND Regulations 2014, reg 8(1)");
    RECORD_OK(f, "advice_requested", "dco", "2026-02-23", "request_key", "B", "adviser", "medical");
    assert_date(effect(f, EHC_EFFECT_DEADLINE_SET, "advice_due", "B")->on, "2026-04-06");
    assert_date(instance(f, "advice_due", "A")->due_on, "2026-04-03");
    assert_date(instance(f, "advice_due", "B")->due_on, "2026-04-06");
    assert_string_equal(stage(f), "assessment");
}

static void test_advice_received_meets_only_its_own_advisers_clock(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "educational");
    RECORD_OK(f, "advice_requested", "officer", "2026-02-23", "request_key", "B", "adviser", "medical");
    RECORD_OK(f, "advice_received", "social_care", "2026-04-06", "request_key", "B");
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_MET, "advice_due", "B"));
    assert_null(effect(f, EHC_EFFECT_DEADLINE_MET, "advice_due", "A"));
    assert_int_equal(instance(f, "advice_due", "A")->status, EHC_DEADLINE_OPEN);
    RECORD_OK(f, "advice_received", "dco", "2026-04-07", "request_key", "A");
    assert_int_equal(effect(f, EHC_EFFECT_DEADLINE_MET_LATE, "advice_due", "A")->days_late, 4);
}

static void test_advice_received_without_a_matching_request_is_refused(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "educational");
    assert_int_equal(record(f, "advice_received", "officer", "2026-03-01", "request_key", "Z", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_DEPENDENCY_MISSING);
    assert_string_equal(f->err.field, "request_key");
    assert_non_null(strstr(f->err.message, "'advice_requested' with request_key 'Z'"));
}

static void test_advice_received_before_its_request_is_refused(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "educational");
    assert_int_equal(record(f, "advice_received", "officer", "2026-02-19", "request_key", "A", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_DATE_BEFORE_DEPENDENCY);
    assert_non_null(strstr(f->err.message, "2026-02-20"));
}

static void test_second_request_with_the_same_adviser_key_is_a_conflict(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "educational");
    assert_int_equal(record(f, "advice_requested", "officer", "2026-02-21", "request_key", "A", "adviser",
                            "medical", NULL),
                     EHC_ECONFLICT);
    assert_int_equal(f->err.code, EHC_MACHINE_E_DUPLICATE_KEY);
    assert_int_equal(ehc_machine_error_http_status(f->err.code), 409);
}

static void test_final_plan_earliest_date_is_served_plus_15_days(void **state)
{
    fixture *f = *state;
    to_draft(f);
    const ehc_effect *e = effect(f, EHC_EFFECT_DEADLINE_SET, "representations_period", "");
    assert_non_null(e);
    assert_true(e->earliest);
    /* Served 20 April 2026 is day 1 of the 15; the earliest the LA may finalise is 5 May. */
    assert_date(e->on, "2026-05-05");
    assert_string_equal(e->basis, "SEND Regulations 2014, reg 13(1)");
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_CANCELLED, "no_plan_notice_due", ""));
}

static void test_final_plan_before_the_15_days_end_is_refused_citing_reg_13_1(void **state)
{
    fixture *f = *state;
    to_draft(f);
    assert_int_equal(record(f, "final_plan_issued", "manager", "2026-05-04", NULL), EHC_ESTATE);
    assert_int_equal(f->err.code, EHC_MACHINE_E_TOO_EARLY);
    assert_string_equal(ehc_machine_error_name(f->err.code), "too_early");
    assert_string_equal(f->err.rule, "SEND Regulations 2014, reg 13(1)");
    assert_non_null(strstr(f->err.message, "before 2026-05-05"));
    assert_non_null(strstr(f->err.message, "reg 13(1)"));
    assert_string_equal(stage(f), "draft");
}

static void test_final_plan_on_served_plus_15_days_is_issued_and_meets_20_weeks(void **state)
{
    fixture *f = *state;
    to_draft(f);
    RECORD_OK(f, "final_plan_issued", "service_manager", "2026-05-05");
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_MET, "representations_period", ""));
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_MET, "final_plan_due", ""));
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_MET, "placement_response", ""));
    assert_string_equal(stage(f), "issued");
    assert_string_equal(f->state.reports[f->state.report_count - 2].item, "AssessmentOutcome");
    assert_string_equal(f->state.reports[f->state.report_count - 2].value, "Y");
    assert_string_equal(f->state.reports[f->state.report_count - 1].value, "2026-05-05");
}

static void test_draft_served_takes_effect_on_its_served_on_field(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    RECORD_OK(f, "draft_served", "officer", "2026-04-20", "served_on", "2026-04-20");
    assert_date(f->state.events[f->state.event_count - 1].effective_on, "2026-04-20");
    assert_date(instance(f, "representations_period", "")->due_on, "2026-05-05");
}

static void test_effective_on_that_disagrees_with_the_effective_date_field_is_refused(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    assert_int_equal(record(f, "draft_served", "officer", "2026-04-22", "served_on", "2026-04-20", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_FIELD_INVALID);
    assert_string_equal(f->err.field, "served_on");
    assert_non_null(strstr(f->err.message, "2026-04-22 disagrees"));
    /* Left to be derived, the field decides. */
    ehc_field_value fv = {"served_on", "2026-04-20"};
    ehc_event_input in = {.type = "draft_served",
                          .actor_role = "officer",
                          .derive_effective_on = true,
                          .fields = &fv,
                          .field_count = 1};
    ehc_case_state next;
    assert_int_equal(ehc_machine_apply(&f->env, &f->state, &in, &next, &f->fx, &f->err), 0);
    assert_date(next.events[next.event_count - 1].effective_on, "2026-04-20");
    ehc_case_state_free(&f->state);
    f->state = next;
}

static void test_placement_response_is_guidance_citing_the_code_of_practice(void **state)
{
    fixture *f = *state;
    to_draft(f);
    const ehc_effect *e = effect(f, EHC_EFFECT_DEADLINE_SET, "placement_response", "");
    assert_int_equal(e->deadline_kind, EHC_DEADLINE_GUIDANCE);
    assert_string_equal(e->basis, "SEND Code of Practice 2015, para 9.83");
    assert_date(e->on, "2026-05-05");
}

static void test_no_plan_notice_meets_16_weeks_and_cancels_final_plan_and_advice(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "educational");
    RECORD_OK(f, "no_plan_notice", "manager", "2026-04-27");
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_MET, "no_plan_notice_due", ""));
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_CANCELLED, "final_plan_due", ""));
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_CANCELLED, "advice_due", "A"));
    assert_string_equal(stage(f), "no_plan");
}

static void test_withdrawal_from_any_open_stage_cancels_every_open_clock(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "educational");
    RECORD_OK(f, "withdrawn", "officer", "2026-03-02");
    assert_string_equal(stage(f), "withdrawn");
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_CANCELLED, "advice_due", "A"));
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_CANCELLED, "final_plan_due", ""));
    assert_non_null(effect(f, EHC_EFFECT_ALERTS_RESOLVE, "advice_due", "A"));
    for (size_t i = 0; i < f->state.deadline_count; i++) {
        assert_int_not_equal(f->state.deadlines[i].status, EHC_DEADLINE_OPEN);
    }
}

static void test_withdrawal_in_the_first_stage_is_allowed(void **state)
{
    fixture *f = *state;
    open_case(f);
    RECORD_OK(f, "withdrawn", "manager", "2026-01-06");
    assert_string_equal(stage(f), "withdrawn");
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_CANCELLED, "decision_due", ""));
}

/* --- local targets and exceptions ------------------------------------------------------------------ */

static void test_local_target_uses_the_workflow_length_by_default(void **state)
{
    fixture *f = *state;
    open_case(f);
    const ehc_effect *e = effect(f, EHC_EFFECT_DEADLINE_SET, "decision_local_target", "");
    assert_int_equal(e->deadline_kind, EHC_DEADLINE_LOCAL);
    assert_null(e->basis);
    assert_date(e->on, "2026-02-02");
}

static void test_local_target_length_is_overridden_per_authority(void **state)
{
    fixture *f = *state;
    const ehc_local_override o = {.deadline = "decision_local_target",
                                  .length = {.unit = EHC_LENGTH_WORKING_DAYS, .count = 10}};
    f->env.overrides = &o;
    f->env.override_count = 1;
    open_case(f);
    /* 10 working days after Monday 5 January 2026. */
    assert_date(effect(f, EHC_EFFECT_DEADLINE_SET, "decision_local_target", "")->on, "2026-01-19");
    assert_date(effect(f, EHC_EFFECT_DEADLINE_SET, "decision_due", "")->on, "2026-02-16");
    f->env.overrides = NULL;
    f->env.override_count = 0;
}

static void test_override_of_a_statutory_deadline_is_refused(void **state)
{
    fixture *f = *state;
    const ehc_local_override o = {.deadline = "final_plan_due",
                                  .length = {.unit = EHC_LENGTH_WEEKS, .count = 30}};
    /* Checked once, when the authority's configuration is loaded; never on each event. */
    assert_int_equal(ehc_machine_check_overrides(f->wf, &o, 1, &f->err), EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_OVERRIDE_INVALID);
    assert_non_null(strstr(f->err.message, "only a local target may be overridden"));
    const ehc_local_override bad = {.deadline = "decision_local_target",
                                    .length = {.unit = EHC_LENGTH_DAYS, .count = 0}};
    assert_int_equal(ehc_machine_check_overrides(f->wf, &bad, 1, &f->err), EHC_EINVAL);
    assert_non_null(strstr(f->err.message, "bad length"));
    const ehc_local_override good = {.deadline = "decision_local_target",
                                     .length = {.unit = EHC_LENGTH_WEEKS, .count = 3}};
    assert_int_equal(ehc_machine_check_overrides(f->wf, &good, 1, &f->err), 0);
    /* Even if one slipped through, a statutory clock never takes an override's length. */
    f->env.overrides = &o;
    f->env.override_count = 1;
    open_case(f);
    assert_date(instance(f, "final_plan_due", "")->due_on, "2026-05-25");
    f->env.overrides = NULL;
    f->env.override_count = 0;
}

static void test_exception_recorded_marks_the_clock_it_names(void **state)
{
    fixture *f = *state;
    open_case(f);
    RECORD_OK(f, "exception_recorded", "manager", "2026-01-20", "deadline", "decision_due", "exception",
              "reg_5_4_c");
    const ehc_effect *e = effect(f, EHC_EFFECT_EXCEPTION_APPLIED, "decision_due", "");
    assert_non_null(e);
    assert_string_equal(e->exception, "reg_5_4_c");
    assert_string_equal(e->exception_basis, "SEND Regulations 2014, reg 5(4)(c)");
    const ehc_deadline_instance *d = instance(f, "decision_due", "");
    assert_string_equal(ehc_workflow_deadline(f->wf, d->deadline)->exceptions[d->exception].id, "reg_5_4_c");
    assert_string_equal(stage(f), "request");
}

static void test_allocation_is_an_event_that_changes_no_stage_and_no_clock(void **state)
{
    fixture *f = *state;
    open_case(f);
    ehc_date due = instance(f, "decision_due", "")->due_on;
    RECORD_OK(f, EHC_MACHINE_CASE_ALLOCATED, "manager", "2026-01-06", "team_id", "3", "officer_id", "17",
              "reason", "caseload balance");
    assert_int_equal(f->state.event_count, 2);
    assert_string_equal(f->state.events[1].type, "case_allocated");
    assert_int_equal(f->fx.count, 0);
    assert_string_equal(stage(f), "request");
    assert_int_equal(instance(f, "decision_due", "")->due_on.days, due.days);
    /* back to the team's unallocated queue */
    RECORD_OK(f, EHC_MACHINE_CASE_ALLOCATED, "service_manager", "2026-01-07", "team_id", "3", "officer_id",
              "");
    assert_int_equal(f->state.event_count, 3);
    /* the law's events still follow on, numbered after it */
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes");
    assert_int_equal(f->state.events[3].seq, 4);
}

static void test_allocation_needs_a_manager_a_team_and_an_open_case(void **state)
{
    fixture *f = *state;
    assert_int_equal(record(f, EHC_MACHINE_CASE_ALLOCATED, "manager", "2026-01-06", "team_id", "3", NULL),
                     EHC_ESTATE);
    assert_int_equal(f->err.code, EHC_MACHINE_E_NOT_OPENED);
    open_case(f);
    assert_int_equal(record(f, EHC_MACHINE_CASE_ALLOCATED, "officer", "2026-01-06", "team_id", "3", NULL),
                     EHC_EFORBIDDEN);
    assert_int_equal(record(f, EHC_MACHINE_CASE_ALLOCATED, "manager", "2026-01-06", "officer_id", "3", NULL),
                     EHC_EINVAL);
    assert_string_equal(f->err.field, "team_id");
    assert_int_equal(record(f, EHC_MACHINE_CASE_ALLOCATED, "manager", "2026-01-06", "team_id", "03", NULL),
                     EHC_EINVAL);
    assert_int_equal(record(f, EHC_MACHINE_CASE_ALLOCATED, "manager", "2026-01-06", "team_id", "3",
                            "officer_id", "x1", NULL),
                     EHC_EINVAL);
    assert_string_equal(f->err.field, "officer_id");
    assert_int_equal(record(f, EHC_MACHINE_CASE_ALLOCATED, "manager", "2026-01-06", "team_id", "3", "colour",
                            "blue", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_FIELD_UNKNOWN);
    assert_int_equal(record(f, EHC_MACHINE_CASE_ALLOCATED, "manager", "2027-01-06", "team_id", "3", NULL),
                     EHC_EINVAL);
    assert_string_equal(f->err.field, "effective_on");
    assert_int_equal(f->state.event_count, 1);
}

static void test_exception_the_law_does_not_allow_on_that_clock_is_refused(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "educational");
    assert_int_equal(record(f, "exception_recorded", "manager", "2026-03-01", "deadline", "final_plan_due",
                            "exception", "reg_8_2_e", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_EXCEPTION_INVALID);
    assert_string_equal(f->err.field, "exception");
    assert_non_null(strstr(f->err.message, "reg_10_4_c"));
    /* A per-adviser clock needs the adviser's key. */
    assert_int_equal(record(f, "exception_recorded", "manager", "2026-03-01", "deadline", "advice_due",
                            "exception", "reg_8_2_e", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_FIELD_MISSING);
    assert_string_equal(f->err.field, "request_key");
    RECORD_OK(f, "exception_recorded", "manager", "2026-03-01", "deadline", "advice_due", "exception",
              "reg_8_2_e", "request_key", "A");
    assert_non_null(effect(f, EHC_EFFECT_EXCEPTION_APPLIED, "advice_due", "A"));
}

/* --- refusals ------------------------------------------------------------------------------------- */

static void test_unknown_event_is_refused_listing_the_events_allowed_now(void **state)
{
    fixture *f = *state;
    open_case(f);
    assert_int_equal(record(f, "panel_met", "officer", "2026-01-06", NULL), EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_UNKNOWN_EVENT);
    assert_non_null(strstr(f->err.message, "no event 'panel_met'"));
    assert_non_null(strstr(f->err.message, "decision_to_assess"));
}

static void test_event_not_allowed_in_this_stage_is_refused_listing_those_allowed(void **state)
{
    fixture *f = *state;
    open_case(f);
    assert_int_equal(record(f, "draft_served", "officer", "2026-01-06", "served_on", "2026-01-06", NULL),
                     EHC_ESTATE);
    assert_int_equal(f->err.code, EHC_MACHINE_E_NOT_ALLOWED);
    assert_string_equal(f->err.message, "'draft_served' is not allowed in stage 'request' "
                                        "(allowed now: decision_to_assess, exception_recorded, withdrawn)");
    assert_int_equal(ehc_machine_error_http_status(f->err.code), 422);
}

static void test_role_not_allowed_to_record_the_event_is_forbidden(void **state)
{
    fixture *f = *state;
    to_draft(f);
    assert_int_equal(record(f, "final_plan_issued", "officer", "2026-05-06", NULL), EHC_EFORBIDDEN);
    assert_int_equal(f->err.code, EHC_MACHINE_E_ROLE_FORBIDDEN);
    assert_non_null(strstr(f->err.message, "roles allowed: manager, service_manager"));
    assert_int_equal(ehc_machine_error_http_status(f->err.code), 403);
    assert_int_equal(record(f, "final_plan_issued", "headteacher", "2026-05-06", NULL), EHC_EFORBIDDEN);
}

static void test_missing_required_field_is_named(void **state)
{
    fixture *f = *state;
    open_case(f);
    assert_int_equal(record(f, "decision_to_assess", "manager", "2026-02-10", NULL), EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_FIELD_MISSING);
    assert_string_equal(f->err.field, "decision");
}

static void test_enum_value_not_in_the_list_is_refused_naming_field_and_values(void **state)
{
    fixture *f = *state;
    open_case(f);
    assert_int_equal(record(f, "decision_to_assess", "manager", "2026-02-10", "decision", "maybe", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_FIELD_INVALID);
    assert_string_equal(f->err.field, "decision");
    assert_string_equal(f->err.message, "field 'decision' must be one of yes, no, not 'maybe'");
}

static void test_unknown_and_repeated_fields_are_refused(void **state)
{
    fixture *f = *state;
    open_case(f);
    assert_int_equal(
        record(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes", "outcome", "y", NULL),
        EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_FIELD_UNKNOWN);
    assert_string_equal(f->err.field, "outcome");
    assert_int_equal(
        record(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes", "decision", "no", NULL),
        EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_FIELD_INVALID);
}

static void test_bool_int_date_text_and_id_values_are_type_checked(void **state)
{
    fixture *f = *state;
    to_assessment(f);
    assert_int_equal(record(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser",
                            "medical", "urgent", "yes", NULL),
                     EHC_EINVAL);
    assert_string_equal(f->err.field, "urgent");
    assert_int_equal(record(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser",
                            "medical", "copies", "6", NULL),
                     EHC_EINVAL);
    assert_string_equal(f->err.field, "copies");
    assert_non_null(strstr(f->err.message, "from 1 to 5"));
    assert_int_equal(record(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser",
                            "medical", "copies", "2x", NULL),
                     EHC_EINVAL);
    assert_int_equal(record(f, "advice_requested", "officer", "2026-02-20", "request_key", "has space",
                            "adviser", "medical", NULL),
                     EHC_EINVAL);
    assert_string_equal(f->err.field, "request_key");
    assert_int_equal(record(f, "draft_served", "officer", "2026-04-20", "served_on", "2026-02-30", NULL),
                     EHC_EINVAL);
    assert_string_equal(f->err.field, "served_on");
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "medical",
              "urgent", "true", "copies", "5");
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
    assert_int_equal(record(f, "request_received", "officer", "2026-01-05", "source", "parent", "note",
                            "this note is far longer than twenty", NULL),
                     EHC_EINVAL);
    assert_string_equal(f->err.field, "note");
}

static void test_effective_date_after_today_is_refused(void **state)
{
    fixture *f = *state;
    f->env.today = day("2026-02-09");
    open_case(f);
    assert_int_equal(record(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_DATE_IN_FUTURE);
    assert_string_equal(f->err.field, "effective_on");
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-09", "decision", "yes");
    assert_int_equal(record(f, "draft_served", "officer", "2026-02-10", "served_on", "2026-02-10", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_DATE_IN_FUTURE);
    assert_string_equal(f->err.field, "served_on");
}

static void test_effective_date_before_the_request_is_refused(void **state)
{
    fixture *f = *state;
    open_case(f);
    assert_int_equal(record(f, "decision_to_assess", "manager", "2026-01-04", "decision", "yes", NULL),
                     EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_DATE_BEFORE_ORIGIN);
    assert_non_null(strstr(f->err.message, "before the case began on 2026-01-05"));
}

static void test_first_event_must_open_the_case_and_only_once(void **state)
{
    fixture *f = *state;
    assert_int_equal(record(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes", NULL),
                     EHC_ESTATE);
    assert_int_equal(f->err.code, EHC_MACHINE_E_NOT_OPENED);
    assert_non_null(strstr(f->err.message, "'request_received'"));
    open_case(f);
    assert_int_equal(record(f, "request_received", "officer", "2026-01-06", "source", "parent", NULL),
                     EHC_ESTATE);
    assert_int_equal(f->err.code, EHC_MACHINE_E_ALREADY_OPENED);
}

static void test_refused_event_leaves_the_state_unchanged(void **state)
{
    fixture *f = *state;
    to_draft(f);
    char *before = ehc_case_state_to_json(f->wf, &f->state);
    assert_int_equal(record(f, "final_plan_issued", "manager", "2026-05-04", NULL), EHC_ESTATE);
    char *after = ehc_case_state_to_json(f->wf, &f->state);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* --- alerts, overdue, replay ------------------------------------------------------------------------ */

static void test_alert_dates_count_working_days_back_from_the_due_date(void **state)
{
    fixture *f = *state;
    open_case(f);
    ehc_alert_date alerts[8];
    size_t n = 0;
    assert_int_equal(ehc_machine_alert_dates(&f->env, instance(f, "decision_due", ""), alerts, 8, &n), 0);
    assert_int_equal(n, 4);
    assert_date(alerts[0].on, "2026-02-02");
    assert_int_equal(alerts[0].before_working_days, 10);
    assert_date(alerts[1].on, "2026-02-09");
    assert_true(alerts[2].on_due);
    assert_date(alerts[2].on, "2026-02-16");
    assert_true(alerts[3].overdue);
    assert_date(alerts[3].on, "2026-02-17");
    /* Due on the spring bank holiday: on-due alert the working day before, overdue the day after. */
    assert_int_equal(ehc_machine_alert_dates(&f->env, instance(f, "final_plan_due", ""), alerts, 8, &n), 0);
    assert_int_equal(n, 3);
    assert_date(alerts[0].on, "2026-05-11");
    assert_date(alerts[1].on, "2026-05-22");
    assert_date(alerts[2].on, "2026-05-26");
}

static void test_open_clock_is_overdue_only_after_its_due_date(void **state)
{
    fixture *f = *state;
    open_case(f);
    const ehc_deadline_instance *d = instance(f, "decision_due", "");
    assert_false(ehc_machine_is_overdue(f->wf, d, day("2026-02-16")));
    assert_true(ehc_machine_is_overdue(f->wf, d, day("2026-02-17")));
}

static void test_allowed_events_follow_the_stage(void **state)
{
    fixture *f = *state;
    size_t idx[16];
    assert_int_equal(ehc_machine_allowed_events(f->wf, &f->state, idx, 16), 1);
    assert_string_equal(ehc_workflow_event(f->wf, idx[0])->id, "request_received");
    to_assessment(f);
    const size_t n = ehc_machine_allowed_events(f->wf, &f->state, idx, 16);
    assert_int_equal(n, 6);
    assert_string_equal(ehc_workflow_event(f->wf, idx[0])->id, "advice_requested");
}

static void run_script(fixture *f)
{
    to_assessment(f);
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "educational");
    RECORD_OK(f, "advice_requested", "officer", "2026-02-23", "request_key", "B", "adviser", "medical");
    RECORD_OK(f, "advice_received", "officer", "2026-04-01", "request_key", "A");
    RECORD_OK(f, "exception_recorded", "manager", "2026-04-02", "deadline", "final_plan_due", "exception",
              "reg_10_4_c");
    RECORD_OK(f, "draft_served", "officer", "2026-04-20", "served_on", "2026-04-20");
    RECORD_OK(f, "final_plan_issued", "manager", "2026-05-26");
}

static void test_replaying_the_same_events_gives_the_same_state(void **state)
{
    fixture *f = *state;
    run_script(f);
    char *first = ehc_case_state_to_json(f->wf, &f->state);
    assert_int_equal(effect(f, EHC_EFFECT_DEADLINE_MET_LATE, "final_plan_due", "")->days_late, 1);
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
    run_script(f);
    char *second = ehc_case_state_to_json(f->wf, &f->state);
    assert_string_equal(first, second);
    assert_non_null(strstr(first, "\"stage\":\"issued\""));
    assert_non_null(
        strstr(first, "{\"deadline\":\"final_plan_due\",\"started_by_seq\":1,\"started_on\":\"2026-01-05\","
                      "\"due_on\":\"2026-05-25\",\"status\":\"met_late\",\"settled_on\":\"2026-05-26\","
                      "\"settled_by_seq\":8,\"exception\":\"reg_10_4_c\",\"exception_seq\":6}"));
    assert_non_null(strstr(first, "\"advice_due\",\"key\":\"B\""));
    free(first);
    free(second);
}

static void test_error_names_and_http_statuses_are_stable(void **state)
{
    assert_string_equal(ehc_machine_error_name(EHC_MACHINE_E_UNKNOWN_EVENT), "unknown_event");
    assert_string_equal(ehc_machine_error_name(EHC_MACHINE_E_NOT_ALLOWED), "not_allowed");
    assert_string_equal(ehc_machine_error_name(EHC_MACHINE_E_DATE_BEFORE_DEPENDENCY),
                        "date_before_dependency");
    assert_string_equal(ehc_machine_error_name(EHC_MACHINE_E_OVERRIDE_INVALID), "override_invalid");
    assert_int_equal(ehc_machine_error_http_status(EHC_MACHINE_E_FIELD_MISSING), 422);
    assert_int_equal(ehc_machine_error_http_status(EHC_MACHINE_E_DATE_UNCOMPUTABLE), 500);
    assert_string_equal(ehc_effect_kind_name(EHC_EFFECT_REPORT_SET), "report_set");
    assert_string_equal(ehc_deadline_status_name(EHC_DEADLINE_MET_LATE), "met_late");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_decision_due_6_weeks_after_request),
        T(test_no_plan_notice_due_16_weeks_after_request),
        T(test_final_plan_due_20_weeks_after_request_even_on_a_bank_holiday),
        T(test_decision_on_the_due_date_is_met_on_time),
        T(test_decision_the_day_after_due_is_met_late),
        T(test_decision_yes_reports_sen2_request_outcome_y_with_date),
        T(test_decision_no_closes_the_case_and_cancels_the_plan_clocks),
        T(test_advice_clock_runs_6_weeks_per_adviser_from_each_request),
        T(test_advice_received_meets_only_its_own_advisers_clock),
        T(test_advice_received_without_a_matching_request_is_refused),
        T(test_advice_received_before_its_request_is_refused),
        T(test_second_request_with_the_same_adviser_key_is_a_conflict),
        T(test_final_plan_earliest_date_is_served_plus_15_days),
        T(test_final_plan_before_the_15_days_end_is_refused_citing_reg_13_1),
        T(test_final_plan_on_served_plus_15_days_is_issued_and_meets_20_weeks),
        T(test_draft_served_takes_effect_on_its_served_on_field),
        T(test_effective_on_that_disagrees_with_the_effective_date_field_is_refused),
        T(test_placement_response_is_guidance_citing_the_code_of_practice),
        T(test_no_plan_notice_meets_16_weeks_and_cancels_final_plan_and_advice),
        T(test_withdrawal_from_any_open_stage_cancels_every_open_clock),
        T(test_withdrawal_in_the_first_stage_is_allowed),
        T(test_local_target_uses_the_workflow_length_by_default),
        T(test_local_target_length_is_overridden_per_authority),
        T(test_override_of_a_statutory_deadline_is_refused),
        T(test_exception_recorded_marks_the_clock_it_names),
        T(test_allocation_is_an_event_that_changes_no_stage_and_no_clock),
        T(test_allocation_needs_a_manager_a_team_and_an_open_case),
        T(test_exception_the_law_does_not_allow_on_that_clock_is_refused),
        T(test_unknown_event_is_refused_listing_the_events_allowed_now),
        T(test_event_not_allowed_in_this_stage_is_refused_listing_those_allowed),
        T(test_role_not_allowed_to_record_the_event_is_forbidden),
        T(test_missing_required_field_is_named),
        T(test_enum_value_not_in_the_list_is_refused_naming_field_and_values),
        T(test_unknown_and_repeated_fields_are_refused),
        T(test_bool_int_date_text_and_id_values_are_type_checked),
        T(test_effective_date_after_today_is_refused),
        T(test_effective_date_before_the_request_is_refused),
        T(test_first_event_must_open_the_case_and_only_once),
        T(test_refused_event_leaves_the_state_unchanged),
        T(test_alert_dates_count_working_days_back_from_the_due_date),
        T(test_open_clock_is_overdue_only_after_its_due_date),
        T(test_allowed_events_follow_the_stage),
        T(test_replaying_the_same_events_gives_the_same_state),
        T(test_error_names_and_http_statuses_are_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
