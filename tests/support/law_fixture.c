/* The law fixture of the workflow-against-the-law unit tests: loading a workflow file with the real
 * calendars into one case, recording events through ehc_machine_apply as the daemon would, and the
 * assertions on deadline instances, stage and report items those tests share. Failures stop the test
 * through cmocka (fail_msg, assert_*), so callers need no error handling of their own. */
#include "law_fixture.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *law_source_dir(void)
{
    const char *dir = getenv("EHC_SOURCE_DIR");
    return dir && *dir ? dir : EHC_SOURCE_DIR;
}

ehc_date law_day(const char *iso)
{
    ehc_date d;
    if (ehc_date_parse_iso(iso, &d) != 0) fail_msg("bad test date %s", iso);
    return d;
}

void law_assert_date(ehc_date d, const char *iso)
{
    char got[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(d, got);
    assert_string_equal(got, iso);
}

law_fixture *law_fixture_load(const char *workflow_file, const char *today_on)
{
    law_fixture *f = ehc_calloc(1, sizeof *f);
    char *dir = ehc_asprintf("%s/workflows/calendars", law_source_dir());
    char *file = ehc_asprintf("%s/workflows/%s", law_source_dir(), workflow_file);
    ehc_load_error err;
    if (ehc_calendar_set_load_dir(dir, &f->cals, &err) != 0) fail_msg("%s %s", err.file, err.reason);
    if (ehc_workflow_load_file(file, f->cals, &f->wf, &err) != 0)
        fail_msg("%s %s %s", err.file, err.path, err.reason);
    free(dir);
    free(file);
    ehc_case_state_init(f->wf, &f->state);
    f->env.workflow = f->wf;
    f->env.calendars = f->cals;
    f->env.today = law_day(today_on);
    return f;
}

int law_fixture_teardown(void **state)
{
    law_fixture *f = *state;
    ehc_effects_free(&f->fx);
    ehc_case_state_free(&f->state);
    ehc_workflow_free(f->wf);
    ehc_calendar_set_free(f->cals);
    free(f);
    return 0;
}

void law_fixture_restart(law_fixture *f)
{
    ehc_case_state_free(&f->state);
    ehc_case_state_init(f->wf, &f->state);
}

int law_record(law_fixture *f, const char *type, const char *role, const char *on, ...)
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
                                .effective_on = on ? law_day(on) : (ehc_date){0},
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

int law_record_exception(law_fixture *f, const char *on, const char *deadline, const char *exception,
                         const char *key)
{
    if (key) {
        return law_record(f, "exception_recorded", "manager", on, "deadline", deadline, "exception",
                          exception, "request_key", key, "applies_from", on, "evidence", "letter on file",
                          "family_told_on", on, NULL);
    }
    return law_record(f, "exception_recorded", "manager", on, "deadline", deadline, "exception", exception,
                      "applies_from", on, "evidence", "letter on file", "family_told_on", on, NULL);
}

const ehc_deadline_instance *law_find_instance(const law_fixture *f, const char *deadline, const char *key)
{
    for (size_t i = f->state.deadline_count; i-- > 0;) {
        const ehc_deadline_instance *d = &f->state.deadlines[i];
        if (strcmp(ehc_workflow_deadline(f->wf, d->deadline)->id, deadline) == 0 && strcmp(d->key, key) == 0)
            return d;
    }
    return NULL;
}

const ehc_deadline_instance *law_instance(const law_fixture *f, const char *deadline, const char *key)
{
    const ehc_deadline_instance *d = law_find_instance(f, deadline, key);
    if (!d) fail_msg("no instance of %s [%s]", deadline, key);
    return d;
}

void law_assert_due(const law_fixture *f, const char *deadline, const char *key, const char *iso)
{
    law_assert_date(law_instance(f, deadline, key)->due_on, iso);
}

void law_assert_status(const law_fixture *f, const char *deadline, const char *key, ehc_deadline_status s)
{
    assert_int_equal(law_instance(f, deadline, key)->status, s);
}

const char *law_stage(const law_fixture *f)
{
    return ehc_workflow_stage(f->wf, f->state.stage)->id;
}

const char *law_report(const law_fixture *f, const char *item)
{
    for (size_t i = 0; i < f->state.report_count; i++) {
        if (strcmp(f->state.reports[i].item, item) == 0) return f->state.reports[i].value;
    }
    return "";
}
