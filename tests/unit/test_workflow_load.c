/* Workflow loading: the fixture workflows load into the typed definition, the content hash is the
 * SHA-256 of the file's bytes, and every kind of bad definition is refused with the file, the JSON
 * path and the reason (tests/fixtures/workflows/invalid-*.json, one per kind). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/calendar.h"
#include "ehc/workflow.h"
#include "testlib.h"

static const char *source_dir(void)
{
    const char *dir = getenv("EHC_SOURCE_DIR");
    return dir && *dir ? dir : EHC_SOURCE_DIR;
}

static ehc_calendar_set *load_calendars(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/workflows/calendars", source_dir());
    ehc_calendar_set *set = NULL;
    ehc_load_error err;
    if (ehc_calendar_set_load_dir(dir, &set, &err) != 0) {
        fail_msg("calendars refused: %s %s %s", err.file, err.path, err.reason);
    }
    return set;
}

static char *fixture_path(const char *name)
{
    return ehc_asprintf("%s/tests/fixtures/workflows/%s", source_dir(), name);
}

static int setup(void **state)
{
    *state = load_calendars();
    return 0;
}

static int teardown(void **state)
{
    ehc_calendar_set_free(*state);
    return 0;
}

/* Loads an invalid fixture and checks it is refused at `path` with a reason containing `reason`. */
static void expect_refusal(void **state, const char *name, const char *path, const char *reason)
{
    char *file = fixture_path(name);
    ehc_workflow *wf = (ehc_workflow *)1;
    ehc_load_error err;
    memset(&err, 0, sizeof err);
    const int rc = ehc_workflow_load_file(file, *state, &wf, &err);
    if (rc != EHC_EINVAL || wf != NULL || strcmp(err.path, path) != 0 || !strstr(err.reason, reason) ||
        strcmp(err.file, file) != 0) {
        fail_msg("%s: rc %d, got path '%s' reason '%s'; want path '%s' reason containing '%s'", name, rc,
                 err.path, err.reason, path, reason);
    }
    free(file);
}

static void test_assessment_fixture_loads_with_its_stages_events_and_deadlines(void **state)
{
    char *file = fixture_path("assessment-start.json");
    ehc_workflow *wf = NULL;
    ehc_load_error err;
    int rc = ehc_workflow_load_file(file, *state, &wf, &err);
    if (rc != 0) fail_msg("%s %s %s", err.file, err.path, err.reason);
    assert_string_equal(ehc_workflow_id(wf), "assessment-start");
    assert_string_equal(ehc_workflow_calendar_id(wf), "england-and-wales");
    assert_string_equal(ehc_workflow_file(wf), file);
    assert_int_equal(ehc_workflow_stage_count(wf), 7);
    assert_string_equal(ehc_workflow_stage(wf, ehc_workflow_initial_stage(wf))->id, "request");
    assert_int_equal(ehc_workflow_event_count(wf), 9);
    assert_string_equal(ehc_workflow_event(wf, ehc_workflow_opening_event(wf))->id, "request_received");

    size_t i;
    assert_int_equal(ehc_workflow_find_deadline(wf, "final_plan_due", &i), 0);
    const ehc_wf_deadline *final = ehc_workflow_deadline(wf, i);
    assert_int_equal(final->kind, EHC_DEADLINE_STATUTORY);
    assert_string_equal(final->basis, "SEND Regulations 2014, reg 13(2)");
    assert_int_equal(final->length.unit, EHC_LENGTH_WEEKS);
    assert_int_equal(final->length.count, 20);
    assert_int_equal(final->alerts.before_working_days_count, 1);
    assert_true(final->alerts.on_due && final->alerts.overdue);

    assert_int_equal(ehc_workflow_find_deadline(wf, "representations_period", &i), 0);
    assert_true(ehc_workflow_deadline(wf, i)->earliest);
    assert_int_equal(ehc_workflow_find_deadline(wf, "advice_due", &i), 0);
    assert_true(ehc_workflow_deadline(wf, i)->per_key);
    assert_int_equal(ehc_workflow_find_deadline(wf, "decision_due", &i), 0);
    assert_int_equal(ehc_workflow_deadline(wf, i)->exception_count, 4);
    assert_int_equal(ehc_workflow_find_deadline(wf, "nope", &i), EHC_ENOENT);

    assert_int_equal(ehc_workflow_find_event(wf, "decision_to_assess", &i), 0);
    const ehc_wf_event *ev = ehc_workflow_event(wf, i);
    assert_int_equal(ev->transition_count, 2);
    assert_int_equal(ev->transitions[0].when.count, 1);
    assert_string_equal(ev->transitions[0].when.conditions[0].value, "yes");
    assert_int_equal(ev->roles, EHC_ROLE_OFFICER | EHC_ROLE_MANAGER);
    assert_int_equal(ev->report_count, 4);

    size_t assessment;
    assert_int_equal(ehc_workflow_find_stage(wf, "assessment", &assessment), 0);
    assert_int_equal(ehc_workflow_find_event(wf, "withdrawn", &i), 0);
    assert_true(ehc_wf_event_allowed_in(wf, ehc_workflow_event(wf, i), assessment));
    size_t issued;
    assert_int_equal(ehc_workflow_find_stage(wf, "issued", &issued), 0);
    assert_false(ehc_wf_event_allowed_in(wf, ehc_workflow_event(wf, i), issued));
    ehc_workflow_free(wf);
    free(file);
}

static void test_content_hash_is_sha256_of_the_file_bytes(void **state)
{
    const char *text = "{\"id\": \"x\"}";
    ehc_workflow *wf = NULL;
    char *file = fixture_path("mini.json");
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    char bytes[8192];
    const size_t len = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    unsigned char md[32];
    unsigned int md_len = 0;
    assert_int_equal(EVP_Digest(bytes, len, md, &md_len, EVP_sha256(), NULL), 1);
    char hex[65];
    for (unsigned int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    assert_int_equal(ehc_workflow_load_file(file, *state, &wf, NULL), 0);
    assert_string_equal(ehc_workflow_content_hash(wf), hex);
    ehc_workflow_free(wf);

    /* One more byte of white space is a different version. */
    bytes[len] = '\n';
    assert_int_equal(ehc_workflow_load_bytes("mini+1", bytes, len + 1, *state, &wf, NULL), 0);
    assert_string_not_equal(ehc_workflow_content_hash(wf), hex);
    ehc_workflow_free(wf);
    ehc_load_error err;
    assert_int_equal(ehc_workflow_load_bytes("x.json", text, strlen(text), *state, &wf, &err), EHC_EINVAL);
    assert_null(wf);
    free(file);
}

static void test_missing_file_is_an_io_error_naming_the_file(void **state)
{
    ehc_workflow *wf = NULL;
    ehc_load_error err;
    assert_int_equal(ehc_workflow_load_file("/nonexistent/w.json", *state, &wf, &err), EHC_EIO);
    assert_string_equal(err.file, "/nonexistent/w.json");
    assert_null(wf);
}

static void test_refuses_invalid_json_with_line_and_column(void **state)
{
    expect_refusal(state, "invalid-json.json", "$", "not valid JSON (line 2");
}

static void test_refuses_transition_to_unknown_stage(void **state)
{
    expect_refusal(state, "invalid-unknown-stage.json", "$.events[1].transitions[0].to",
                   "unknown stage 'advise'");
}

static void test_refuses_met_by_unknown_event(void **state)
{
    expect_refusal(state, "invalid-unknown-event-met-by.json", "$.deadlines[0].met_by[0]",
                   "unknown event 'decide'");
}

static void test_refuses_cancelled_by_unknown_event(void **state)
{
    expect_refusal(state, "invalid-unknown-event-cancelled-by.json", "$.deadlines[0].cancelled_by[0]",
                   "unknown event 'withdrawn'");
}

static void test_refuses_origin_unknown_event(void **state)
{
    expect_refusal(state, "invalid-unknown-event-origin.json", "$.deadlines[0].origin",
                   "unknown event 'request'");
}

static void test_refuses_depends_on_unknown_event(void **state)
{
    expect_refusal(state, "invalid-unknown-event-depends-on.json", "$.events[1].depends_on",
                   "unknown event 'panel_met'");
}

static void test_refuses_unreachable_stage(void **state)
{
    expect_refusal(state, "invalid-unreachable-stage.json", "$.stages[1]",
                   "stage 'limbo' cannot be reached from the initial stage 'open'");
}

static void test_refuses_advice_action_on_an_event_without_a_key(void **state)
{
    expect_refusal(state, "invalid-advice-without-key.json", "$.events[2].advice",
                   "an advice event needs a \"key\"");
}

static void test_refuses_unknown_advice_action(void **state)
{
    expect_refusal(state, "invalid-advice-unknown-action.json", "$.events[2].advice",
                   "unknown advice action 'asked'");
}

static void test_refuses_advice_request_without_an_adviser_field(void **state)
{
    expect_refusal(state, "invalid-advice-request-without-adviser.json", "$.events[2].advice",
                   "event 'asked' has no field 'adviser'");
}

static void test_refuses_sen2_records_the_store_could_not_keep(void **state)
{
    expect_refusal(state, "invalid-sen2-placement-without-key.json", "$.events[2].sen2_record",
                   "a placement event needs a \"key\"");
    expect_refusal(state, "invalid-sen2-need-not-a-code.json", "$.events[2].sen2_record",
                   "value 'dyslexia' of field 'primary_need' is not a SEN2 code");
    expect_refusal(state, "invalid-sen2-cease-reason-range.json", "$.events[2].sen2_record",
                   "field 'cease_reason' needs \"min\" and \"max\" within 1 to 9");
}

static void test_refuses_non_final_stage_with_no_way_out(void **state)
{
    expect_refusal(state, "invalid-dead-end-stage.json", "$.stages[1]",
                   "stage 'stuck' is not final but no transition leaves it");
}

static void test_refuses_statutory_deadline_without_basis(void **state)
{
    expect_refusal(state, "invalid-statutory-without-basis.json", "$.deadlines[0].basis",
                   "a statutory deadline must name its regulation");
}

static void test_refuses_guidance_deadline_not_citing_code_of_practice(void **state)
{
    expect_refusal(state, "invalid-guidance-without-code-of-practice.json", "$.deadlines[0].basis",
                   "Code of Practice paragraph");
}

static void test_refuses_unknown_calendar(void **state)
{
    expect_refusal(state, "invalid-unknown-calendar.json", "$.calendar", "unknown calendar 'scotland'");
}

static void test_refuses_duplicate_stage_id(void **state)
{
    expect_refusal(state, "invalid-duplicate-stage-id.json", "$.stages[2].id", "duplicate stage id 'open'");
}

static void test_refuses_duplicate_event_id(void **state)
{
    expect_refusal(state, "invalid-duplicate-event-id.json", "$.events[2].id",
                   "duplicate event id 'decided'");
}

static void test_refuses_duplicate_deadline_id(void **state)
{
    expect_refusal(state, "invalid-duplicate-deadline-id.json", "$.deadlines[1].id",
                   "duplicate deadline id 'decision_due'");
}

static void test_refuses_duplicate_field_id(void **state)
{
    expect_refusal(state, "invalid-duplicate-field-id.json", "$.events[1].fields[1].id",
                   "duplicate field id 'decision'");
}

static void test_refuses_unknown_field_type(void **state)
{
    expect_refusal(state, "invalid-bad-field-type.json", "$.events[1].fields[0].type",
                   "unknown field type 'timestamp'");
}

static void test_refuses_title_that_is_not_a_string(void **state)
{
    expect_refusal(state, "invalid-title-not-string.json", "$.stages[0].title", "must be a string");
}

static void test_refuses_initial_that_is_not_a_bool(void **state)
{
    expect_refusal(state, "invalid-initial-not-bool.json", "$.stages[0].initial", "must be true or false");
}

static void test_refuses_unknown_key_so_typos_are_not_ignored(void **state)
{
    expect_refusal(state, "invalid-unknown-key.json", "$.events[1].trasitions", "unknown key 'trasitions'");
}

static void test_refuses_zero_length(void **state)
{
    expect_refusal(state, "invalid-length-zero.json", "$.deadlines[0].length.weeks", "whole number from 1");
}

static void test_refuses_negative_length(void **state)
{
    expect_refusal(state, "invalid-length-negative.json", "$.deadlines[0].length.days",
                   "whole number from 1");
}

static void test_refuses_length_with_two_units(void **state)
{
    expect_refusal(state, "invalid-length-two-units.json", "$.deadlines[0].length", "exactly one unit");
}

static void test_refuses_before_fixed_day_that_does_not_exist(void **state)
{
    expect_refusal(state, "invalid-length-bad-fixed-day.json", "$.deadlines[0].length.before_fixed", "MM-DD");
}

static void test_refuses_role_not_in_the_role_list(void **state)
{
    expect_refusal(state, "invalid-unknown-role.json", "$.events[1].roles[1]", "unknown role 'headteacher'");
}

static void test_refuses_two_initial_stages(void **state)
{
    expect_refusal(state, "invalid-two-initial-stages.json", "$.stages",
                   "exactly one stage must be \"initial\"");
}

static void test_refuses_guard_value_not_among_enum_values(void **state)
{
    expect_refusal(state, "invalid-guard-unknown-value.json", "$.events[1].transitions[0].when.decision",
                   "'maybe' is not one of the values of field 'decision'");
}

static void test_refuses_guard_on_unknown_field(void **state)
{
    expect_refusal(state, "invalid-guard-unknown-field.json", "$.events[1].transitions[0].when.outcome",
                   "event 'decided' has no field 'outcome'");
}

static void test_refuses_per_that_is_not_the_origin_event_key(void **state)
{
    expect_refusal(state, "invalid-per-not-key-field.json", "$.deadlines[0].origin.per",
                   "'per' must name the \"key\" field of event 'decided'");
}

static void test_refuses_unknown_sen2_code(void **state)
{
    expect_refusal(state, "invalid-report-unknown-code.json", "$.events[1].report.RequestOutcome",
                   "'Q' is not a code of SEN2 item RequestOutcome");
}

static void test_refuses_exception_without_basis(void **state)
{
    expect_refusal(state, "invalid-exception-without-basis.json", "$.deadlines[0].exceptions[0].basis",
                   "required key is missing");
}

static void test_refuses_opening_event_not_allowed_in_initial_stage(void **state)
{
    expect_refusal(state, "invalid-opening-event-not-allowed-initially.json", "$.opened_by",
                   "must be allowed in the initial stage 'open'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assessment_fixture_loads_with_its_stages_events_and_deadlines),
        cmocka_unit_test(test_content_hash_is_sha256_of_the_file_bytes),
        cmocka_unit_test(test_missing_file_is_an_io_error_naming_the_file),
        cmocka_unit_test(test_refuses_invalid_json_with_line_and_column),
        cmocka_unit_test(test_refuses_transition_to_unknown_stage),
        cmocka_unit_test(test_refuses_met_by_unknown_event),
        cmocka_unit_test(test_refuses_cancelled_by_unknown_event),
        cmocka_unit_test(test_refuses_origin_unknown_event),
        cmocka_unit_test(test_refuses_depends_on_unknown_event),
        cmocka_unit_test(test_refuses_unreachable_stage),
        cmocka_unit_test(test_refuses_non_final_stage_with_no_way_out),
        cmocka_unit_test(test_refuses_statutory_deadline_without_basis),
        cmocka_unit_test(test_refuses_guidance_deadline_not_citing_code_of_practice),
        cmocka_unit_test(test_refuses_unknown_calendar),
        cmocka_unit_test(test_refuses_duplicate_stage_id),
        cmocka_unit_test(test_refuses_duplicate_event_id),
        cmocka_unit_test(test_refuses_duplicate_deadline_id),
        cmocka_unit_test(test_refuses_duplicate_field_id),
        cmocka_unit_test(test_refuses_unknown_field_type),
        cmocka_unit_test(test_refuses_title_that_is_not_a_string),
        cmocka_unit_test(test_refuses_initial_that_is_not_a_bool),
        cmocka_unit_test(test_refuses_unknown_key_so_typos_are_not_ignored),
        cmocka_unit_test(test_refuses_zero_length),
        cmocka_unit_test(test_refuses_negative_length),
        cmocka_unit_test(test_refuses_length_with_two_units),
        cmocka_unit_test(test_refuses_before_fixed_day_that_does_not_exist),
        cmocka_unit_test(test_refuses_role_not_in_the_role_list),
        cmocka_unit_test(test_refuses_two_initial_stages),
        cmocka_unit_test(test_refuses_guard_value_not_among_enum_values),
        cmocka_unit_test(test_refuses_guard_on_unknown_field),
        cmocka_unit_test(test_refuses_advice_action_on_an_event_without_a_key),
        cmocka_unit_test(test_refuses_unknown_advice_action),
        cmocka_unit_test(test_refuses_advice_request_without_an_adviser_field),
        cmocka_unit_test(test_refuses_sen2_records_the_store_could_not_keep),
        cmocka_unit_test(test_refuses_per_that_is_not_the_origin_event_key),
        cmocka_unit_test(test_refuses_unknown_sen2_code),
        cmocka_unit_test(test_refuses_exception_without_basis),
        cmocka_unit_test(test_refuses_opening_event_not_allowed_in_initial_stage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
