/* The machine's rebuilding operations on tests/fixtures/workflows/assessment-start.json: a state
 * written as JSON reads back identically; a manager's correction supersedes a mistyped event (nothing
 * is edited) and the dates are recomputed; definitions_updated moves a pinned case to a new workflow
 * version and reports the changed due dates; SEN2 keeps the first outcome; alerts never repeat a day. */
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
    char *bytes;
    size_t len;
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

static char *read_all(const char *file, size_t *len)
{
    FILE *fp = fopen(file, "rb");
    assert_non_null(fp);
    char *buf = ehc_malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, fp);
    buf[*len] = '\0';
    fclose(fp);
    return buf;
}

static int setup(void **state)
{
    fixture *f = ehc_calloc(1, sizeof *f);
    char *dir = ehc_asprintf("%s/workflows/calendars", source_dir());
    char *file = ehc_asprintf("%s/tests/fixtures/workflows/assessment-start.json", source_dir());
    ehc_load_error err;
    if (ehc_calendar_set_load_dir(dir, &f->cals, &err) != 0) fail_msg("%s %s", err.file, err.reason);
    f->bytes = read_all(file, &f->len);
    if (ehc_workflow_load_bytes(file, f->bytes, f->len, f->cals, &f->wf, &err) != 0)
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
    free(f->bytes);
    free(f);
    return 0;
}

static int apply(fixture *f, ehc_event_input *in)
{
    ehc_case_state next;
    ehc_effects_free(&f->fx);
    const int rc = ehc_machine_apply(&f->env, &f->state, in, &next, &f->fx, &f->err);
    if (rc == 0) {
        ehc_case_state_free(&f->state);
        f->state = next;
    }
    return rc;
}

static int record(fixture *f, const char *type, const char *role, const char *on, ...)
{
    ehc_field_value fields[8];
    size_t n = 0;
    va_list ap;
    va_start(ap, on);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL; n++) {
        fields[n].field = name;
        fields[n].value = va_arg(ap, const char *);
    }
    va_end(ap);
    ehc_event_input in = {
        .type = type, .actor_role = role, .effective_on = day(on), .fields = fields, .field_count = n};
    return apply(f, &in);
}

#define RECORD_OK(f, ...)                                                                                    \
    do {                                                                                                     \
        if (record(f, __VA_ARGS__, NULL) != 0)                                                               \
            fail_msg("refused: %s: %s", ehc_machine_error_name((f)->err.code), (f)->err.message);            \
    } while (0)

static const ehc_effect *effect(const fixture *f, ehc_effect_kind kind, const char *deadline)
{
    for (size_t i = 0; i < f->fx.count; i++) {
        const ehc_effect *e = &f->fx.items[i];
        if (e->kind == kind && (!deadline || (e->deadline && strcmp(e->deadline, deadline) == 0))) return e;
    }
    return NULL;
}

static const ehc_deadline_instance *instance(const fixture *f, const char *deadline)
{
    for (size_t i = 0; i < f->state.deadline_count; i++) {
        const ehc_deadline_instance *d = &f->state.deadlines[i];
        if (strcmp(ehc_workflow_deadline(f->wf, d->deadline)->id, deadline) == 0) return d;
    }
    fail_msg("no instance of %s", deadline);
    return NULL;
}

static const char *report(const fixture *f, const char *item)
{
    for (size_t i = 0; i < f->state.report_count; i++) {
        if (strcmp(f->state.reports[i].item, item) == 0) return f->state.reports[i].value;
    }
    return NULL;
}

static void busy_case(fixture *f)
{
    RECORD_OK(f, "request_received", "officer", "2026-01-05", "source", "parent", "note", "by email");
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes");
    RECORD_OK(f, "advice_requested", "officer", "2026-02-20", "request_key", "A", "adviser", "educational");
    RECORD_OK(f, "exception_recorded", "manager", "2026-03-01", "deadline", "advice_due", "exception",
              "reg_8_2_e", "request_key", "A");
    RECORD_OK(f, "draft_served", "officer", "2026-04-20", "served_on", "2026-04-20");
}

/* --- JSON round trip ------------------------------------------------------------------------------ */

static void test_state_written_as_json_reads_back_identically(void **state)
{
    fixture *f = *state;
    busy_case(f);
    char *json = ehc_case_state_to_json(f->wf, &f->state);
    ehc_case_state back;
    char why[256];
    assert_int_equal(ehc_case_state_from_json(f->wf, json, &back, why), 0);
    char *again = ehc_case_state_to_json(f->wf, &back);
    assert_string_equal(json, again);
    assert_int_equal(back.event_count, 5);
    assert_string_equal(back.events[0].fields[1].value, "by email");
    assert_date(back.origin_on, "2026-01-05");
    /* The read-back state carries on exactly like the original. */
    ehc_case_state next;
    const ehc_event_input in = {
        .type = "final_plan_issued", .actor_role = "manager", .effective_on = day("2026-05-05")};
    ehc_effects_free(&f->fx);
    assert_int_equal(ehc_machine_apply(&f->env, &back, &in, &next, &f->fx, &f->err), 0);
    assert_string_equal(ehc_workflow_stage(f->wf, next.stage)->id, "issued");
    ehc_case_state_free(&next);
    ehc_case_state_free(&back);
    free(json);
    free(again);
}

static void test_state_json_of_an_unopened_case_reads_back(void **state)
{
    fixture *f = *state;
    char *json = ehc_case_state_to_json(f->wf, &f->state);
    ehc_case_state back;
    assert_int_equal(ehc_case_state_from_json(f->wf, json, &back, NULL), 0);
    assert_false(back.opened);
    char *again = ehc_case_state_to_json(f->wf, &back);
    assert_string_equal(json, again);
    ehc_case_state_free(&back);
    free(json);
    free(again);
}

static void test_state_json_from_another_version_or_malformed_is_refused(void **state)
{
    fixture *f = *state;
    busy_case(f);
    char *json = ehc_case_state_to_json(f->wf, &f->state);
    ehc_case_state back;
    char why[256];
    char *other = ehc_strdup(json);
    char *h = strstr(other, "\"workflow_hash\":\"") + strlen("\"workflow_hash\":\"");
    *h = *h == '0' ? '1' : '0';
    assert_int_equal(ehc_case_state_from_json(f->wf, other, &back, why), EHC_ECONFLICT);
    assert_non_null(strstr(why, "not this one"));
    assert_int_equal(ehc_case_state_from_json(f->wf, "[1]", &back, why), EHC_EINVAL);
    char *bad = ehc_strdup(json);
    char *stage = strstr(bad, "\"stage\":\"draft\"");
    memcpy(stage, "\"stage\":\"dxaft\"", strlen("\"stage\":\"dxaft\""));
    assert_int_equal(ehc_case_state_from_json(f->wf, bad, &back, why), EHC_EINVAL);
    assert_non_null(strstr(why, "unknown stage 'dxaft'"));
    free(bad);
    free(other);
    free(json);
}

/* --- corrections ---------------------------------------------------------------------------------- */

static void test_correction_by_a_manager_supersedes_a_mistyped_request_date_and_recomputes(void **state)
{
    fixture *f = *state;
    RECORD_OK(f, "request_received", "officer", "2026-01-12", "source", "parent");
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes");
    assert_date(instance(f, "final_plan_due")->due_on, "2026-06-01");
    ehc_field_value fv = {"source", "parent"};
    ehc_event_input in = {.type = "request_received",
                          .actor_role = "manager",
                          .effective_on = day("2026-01-05"),
                          .fields = &fv,
                          .field_count = 1,
                          .supersedes_seq = 1,
                          .correction_reason = "received 5 January, typed as 12"};
    assert_int_equal(apply(f, &in), 0);
    /* Nothing edited: three events, the first marked superseded by the third. */
    assert_int_equal(f->state.event_count, 3);
    assert_int_equal(f->state.events[0].superseded_by_seq, 3);
    assert_date(f->state.events[0].effective_on, "2026-01-12");
    assert_int_equal(f->state.events[2].supersedes_seq, 1);
    assert_date(f->state.origin_on, "2026-01-05");
    const ehc_effect *e = effect(f, EHC_EFFECT_DEADLINE_RECOMPUTED, "final_plan_due");
    assert_non_null(e);
    assert_date(e->previous_due_on, "2026-06-01");
    assert_date(e->on, "2026-05-25");
    assert_int_equal(effect(f, EHC_EFFECT_EVENT_SUPERSEDED, NULL)->seq, 1);
    assert_date(instance(f, "decision_due")->due_on, "2026-02-16");
    assert_int_equal(instance(f, "decision_due")->started_by_seq, 3);
}

static void test_correction_of_a_decision_replaces_its_outcome_in_sen2(void **state)
{
    fixture *f = *state;
    RECORD_OK(f, "request_received", "officer", "2026-01-05", "source", "parent");
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-10", "decision", "no");
    assert_string_equal(report(f, "RequestOutcome"), "N");
    ehc_field_value fv = {"decision", "yes"};
    ehc_event_input in = {.type = "decision_to_assess",
                          .actor_role = "service_manager",
                          .effective_on = day("2026-02-10"),
                          .fields = &fv,
                          .field_count = 1,
                          .supersedes_seq = 2,
                          .correction_reason = "panel agreed to assess; no was a slip"};
    assert_int_equal(apply(f, &in), 0);
    assert_string_equal(report(f, "RequestOutcome"), "Y");
    assert_string_equal(ehc_workflow_stage(f->wf, f->state.stage)->id, "assessment");
    assert_non_null(effect(f, EHC_EFFECT_STAGE_CHANGED, NULL));
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_SET, "final_plan_due"));
    assert_int_equal(instance(f, "final_plan_due")->status, EHC_DEADLINE_OPEN);
}

static void test_correction_needs_a_manager_a_reason_and_an_event_that_can_stand(void **state)
{
    fixture *f = *state;
    RECORD_OK(f, "request_received", "officer", "2026-01-05", "source", "parent");
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes");
    ehc_field_value fv = {"decision", "no"};
    ehc_event_input in = {.type = "decision_to_assess",
                          .actor_role = "officer",
                          .effective_on = day("2026-02-10"),
                          .fields = &fv,
                          .field_count = 1,
                          .supersedes_seq = 2,
                          .correction_reason = "slip"};
    assert_int_equal(apply(f, &in), EHC_EFORBIDDEN);
    in.actor_role = "manager";
    in.correction_reason = "";
    assert_int_equal(apply(f, &in), EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_CORRECTION_INVALID);
    in.correction_reason = "slip";
    in.supersedes_seq = 9;
    assert_int_equal(apply(f, &in), EHC_EINVAL);
    assert_non_null(strstr(f->err.message, "no such event"));
    /* A decision moved before the request cannot stand: the replay refuses it. */
    in.supersedes_seq = 2;
    in.effective_on = day("2026-01-04");
    assert_int_equal(apply(f, &in), EHC_EINVAL);
    assert_int_equal(f->err.code, EHC_MACHINE_E_CORRECTION_INVALID);
    assert_non_null(strstr(f->err.message, "date_before_origin"));
    assert_int_equal(f->state.event_count, 2);
    /* Once superseded, an event cannot be corrected again; its correction can. */
    in.effective_on = day("2026-02-10");
    assert_int_equal(apply(f, &in), 0);
    assert_int_equal(apply(f, &in), EHC_EINVAL);
    assert_non_null(strstr(f->err.message, "already been superseded"));
    in.supersedes_seq = 3;
    fv.value = "yes";
    assert_int_equal(apply(f, &in), 0);
    assert_string_equal(report(f, "RequestOutcome"), "Y");
}

/* --- definitions_updated ---------------------------------------------------------------------------- */

static ehc_workflow *edited_version(fixture *f, const char *from, const char *to)
{
    char *at = strstr(f->bytes, from);
    assert_non_null(at);
    char *copy = ehc_asprintf("%.*s%s%s", (int)(at - f->bytes), f->bytes, to, at + strlen(from));
    ehc_workflow *wf = NULL;
    ehc_load_error err;
    if (ehc_workflow_load_bytes("edited.json", copy, strlen(copy), f->cals, &wf, &err) != 0)
        fail_msg("%s %s", err.path, err.reason);
    free(copy);
    return wf;
}

static void test_case_is_pinned_to_the_definitions_it_opened_under(void **state)
{
    fixture *f = *state;
    RECORD_OK(f, "request_received", "officer", "2026-01-05", "source", "parent");
    assert_string_equal(f->state.workflow_hash, ehc_workflow_content_hash(f->wf));
    assert_int_equal(strlen(f->state.calendar_hash), 64);
    ehc_workflow *v2 = edited_version(f, "\"length\": {\"weeks\": 4}", "\"length\": {\"weeks\": 3}");
    f->env.workflow = v2;
    assert_int_equal(record(f, "withdrawn", "officer", "2026-01-06", NULL), EHC_ECONFLICT);
    assert_int_equal(f->err.code, EHC_MACHINE_E_DEFINITIONS_MISMATCH);
    assert_non_null(strstr(f->err.message, "definitions_updated"));
    f->env.workflow = f->wf;
    ehc_workflow_free(v2);
}

static void test_definitions_updated_recomputes_open_deadlines_and_reports_changed_dates(void **state)
{
    fixture *f = *state;
    RECORD_OK(f, "request_received", "officer", "2026-01-05", "source", "parent");
    assert_date(instance(f, "decision_local_target")->due_on, "2026-02-02");
    ehc_workflow *v2 = edited_version(f, "\"length\": {\"weeks\": 4}", "\"length\": {\"weeks\": 3}");
    ehc_workflow *v1 = f->wf;
    f->env.workflow = v2;
    f->env.previous_workflow = v1;
    ehc_field_value fv[2] = {{"workflow_hash", ehc_workflow_content_hash(v2)},
                             {"calendar_hash", f->state.calendar_hash}};
    char cal_hash[EHC_CALENDAR_HASH_SIZE];
    snprintf(cal_hash, sizeof cal_hash, "%s", f->state.calendar_hash);
    fv[1].value = cal_hash;
    ehc_event_input in = {.type = EHC_MACHINE_DEFINITIONS_UPDATED,
                          .actor_role = "officer",
                          .effective_on = day("2026-01-07"),
                          .fields = fv,
                          .field_count = 2};
    assert_int_equal(apply(f, &in), EHC_EFORBIDDEN);
    in.actor_role = "admin";
    assert_int_equal(apply(f, &in), 0);
    const ehc_effect *e = effect(f, EHC_EFFECT_DEADLINE_RECOMPUTED, "decision_local_target");
    assert_non_null(e);
    assert_date(e->previous_due_on, "2026-02-02");
    assert_date(e->on, "2026-01-26");
    /* Unchanged statutory clocks are not reported. */
    assert_null(effect(f, EHC_EFFECT_DEADLINE_RECOMPUTED, "decision_due"));
    assert_string_equal(effect(f, EHC_EFFECT_DEFINITIONS_PINNED, NULL)->workflow_hash,
                        ehc_workflow_content_hash(v2));
    assert_string_equal(f->state.workflow_hash, ehc_workflow_content_hash(v2));
    assert_int_equal(f->state.event_count, 2);
    assert_string_equal(f->state.events[1].type, "definitions_updated");
    /* The case now runs under v2, and the JSON round trip keeps the native event. */
    f->env.previous_workflow = NULL;
    RECORD_OK(f, "decision_to_assess", "manager", "2026-01-26", "decision", "yes");
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_MET, "decision_local_target"));
    char *json = ehc_case_state_to_json(v2, &f->state);
    ehc_case_state back;
    assert_int_equal(ehc_case_state_from_json(v2, json, &back, NULL), 0);
    char *again = ehc_case_state_to_json(v2, &back);
    assert_string_equal(json, again);
    free(json);
    free(again);
    ehc_case_state_free(&back);
    /* Applying it again changes nothing and is refused. */
    assert_int_equal(apply(f, &in), EHC_ESTATE);
    assert_non_null(strstr(f->err.message, "already runs under these definitions"));
    ehc_case_state_free(&f->state);
    ehc_case_state_init(v1, &f->state);
    f->env.workflow = f->wf;
    ehc_workflow_free(v2);
}

static void test_definitions_updated_with_hashes_that_are_not_the_loaded_ones_is_refused(void **state)
{
    fixture *f = *state;
    RECORD_OK(f, "request_received", "officer", "2026-01-05", "source", "parent");
    ehc_workflow *v2 = edited_version(f, "\"length\": {\"weeks\": 4}", "\"length\": {\"weeks\": 3}");
    f->env.workflow = v2;
    f->env.previous_workflow = f->wf;
    ehc_field_value fv[2] = {{"workflow_hash", ehc_workflow_content_hash(f->wf)}, {"calendar_hash", "x"}};
    ehc_event_input in = {.type = EHC_MACHINE_DEFINITIONS_UPDATED,
                          .actor_role = "manager",
                          .effective_on = day("2026-01-07"),
                          .fields = fv,
                          .field_count = 2};
    assert_int_equal(apply(f, &in), EHC_ECONFLICT);
    assert_string_equal(f->err.field, "workflow_hash");
    in.field_count = 1;
    assert_int_equal(apply(f, &in), EHC_EINVAL);
    assert_string_equal(f->err.field, "calendar_hash");
    /* An event the new version no longer has cannot be replayed: refused, case unchanged. */
    ehc_workflow_free(v2);
    v2 = edited_version(f, "\"id\": \"decision_local_target\"", "\"id\": \"decision_target\"");
    f->env.workflow = v2;
    fv[0].value = ehc_workflow_content_hash(v2);
    fv[1].value = f->state.calendar_hash;
    in.field_count = 2;
    assert_int_equal(apply(f, &in), 0);
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_CANCELLED, "decision_local_target"));
    assert_non_null(effect(f, EHC_EFFECT_DEADLINE_SET, "decision_target"));
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
    f->env.workflow = f->wf;
    f->env.previous_workflow = NULL;
    ehc_workflow_free(v2);
}

/* --- SEN2 and alerts ---------------------------------------------------------------------------------- */

static void test_sen2_outcome_once_decided_is_not_overwritten_by_a_later_event(void **state)
{
    fixture *f = *state;
    RECORD_OK(f, "request_received", "officer", "2026-01-05", "source", "parent");
    assert_string_equal(report(f, "RequestOutcome"), "A");
    RECORD_OK(f, "decision_to_assess", "manager", "2026-02-10", "decision", "yes");
    assert_string_equal(report(f, "RequestOutcome"), "Y");
    RECORD_OK(f, "no_plan_notice", "manager", "2026-04-27");
    assert_string_equal(report(f, "AssessmentOutcome"), "N");
    assert_string_equal(report(f, "AssessmentOutcomeDate"), "2026-04-27");
    assert_string_equal(report(f, "RequestOutcomeDate"), "2026-02-10");
}

static void test_on_due_alert_that_lands_on_a_before_due_alert_is_one_alert(void **state)
{
    fixture *f = *state;
    /* decision_due warned 10 and 1 working days before: due Sunday 15 February 2026, 1 working day
     * before is Friday 13 February, where the on-due alert also moves: one alert, not two. */
    ehc_workflow *v2 =
        edited_version(f, "\"before_working_days\": [10, 5]", "\"before_working_days\": [10, 1]");
    ehc_machine_env env = {.workflow = v2, .calendars = f->cals, .today = day("2026-12-31")};
    ehc_deadline_instance inst = {.due_on = day("2026-02-15"), .status = EHC_DEADLINE_OPEN};
    assert_int_equal(ehc_workflow_find_deadline(v2, "decision_due", &inst.deadline), 0);
    ehc_alert_date alerts[8];
    size_t n = 0;
    assert_int_equal(ehc_machine_alert_dates(&env, &inst, alerts, 8, &n), 0);
    assert_int_equal(n, 3);
    assert_date(alerts[0].on, "2026-02-02");
    assert_date(alerts[1].on, "2026-02-13");
    assert_int_equal(alerts[1].before_working_days, 1);
    assert_true(alerts[1].on_due);
    assert_date(alerts[2].on, "2026-02-16");
    assert_true(alerts[2].overdue);
    /* Due on a working day (Monday 16 February), nothing coincides: four alerts. */
    inst.due_on = day("2026-02-16");
    assert_int_equal(ehc_machine_alert_dates(&env, &inst, alerts, 8, &n), 0);
    assert_int_equal(n, 4);
    assert_date(alerts[1].on, "2026-02-13");
    assert_date(alerts[2].on, "2026-02-16");
    ehc_workflow_free(v2);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_state_written_as_json_reads_back_identically),
        T(test_state_json_of_an_unopened_case_reads_back),
        T(test_state_json_from_another_version_or_malformed_is_refused),
        T(test_correction_by_a_manager_supersedes_a_mistyped_request_date_and_recomputes),
        T(test_correction_of_a_decision_replaces_its_outcome_in_sen2),
        T(test_correction_needs_a_manager_a_reason_and_an_event_that_can_stand),
        T(test_case_is_pinned_to_the_definitions_it_opened_under),
        T(test_definitions_updated_recomputes_open_deadlines_and_reports_changed_dates),
        T(test_definitions_updated_with_hashes_that_are_not_the_loaded_ones_is_refused),
        T(test_sen2_outcome_once_decided_is_not_overwritten_by_a_later_event),
        T(test_on_due_alert_that_lands_on_a_before_due_alert_is_one_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
