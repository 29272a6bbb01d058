/* The case timeline (`ehcd timeline`): replays a list of events given as JSON through the pure
 * machine and prints every clock's date with its kind, basis and status as of a given day, so an
 * officer or auditor can see why each date is what it is. No state is kept between calls. */
#include "ehc/timeline.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad_input(ehc_machine_error *err, size_t index, const char *what)
{
    if (err) {
        memset(err, 0, sizeof *err);
        err->code = EHC_MACHINE_E_FIELD_INVALID;
        snprintf(err->message, sizeof err->message, "event %zu: %s", index + 1, what);
    }
    return EHC_EINVAL;
}

/* Field values as the machine reads them; the strings are owned by `owned` (freed by the caller). */
static int read_fields(const cJSON *fields, ehc_field_value **out, size_t *count, char ***owned)
{
    *out = NULL;
    *count = 0;
    *owned = NULL;
    if (!fields) return 0;
    if (!cJSON_IsObject(fields)) return EHC_EINVAL;
    const size_t n = (size_t)cJSON_GetArraySize(fields);
    *out = ehc_calloc(n ? n : 1, sizeof **out);
    *owned = ehc_calloc(n ? n : 1, sizeof **owned);
    for (const cJSON *f = fields->child; f; f = f->next) {
        char *value = NULL;
        if (cJSON_IsString(f)) {
            value = ehc_strdup(f->valuestring);
        } else if (cJSON_IsBool(f)) {
            value = ehc_strdup(cJSON_IsTrue(f) ? "true" : "false");
        } else if (cJSON_IsNumber(f) && f->valuedouble == (double)(long long)f->valuedouble) {
            value = ehc_asprintf("%lld", (long long)f->valuedouble);
        } else {
            return EHC_EINVAL;
        }
        (*owned)[*count] = value;
        (*out)[*count].field = f->string;
        (*out)[*count].value = value;
        (*count)++;
    }
    return 0;
}

static void free_owned(char **owned, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(owned[i]);
    free(owned);
}

static int apply_one(const ehc_machine_env *env, ehc_case_state *state, const cJSON *item, size_t index,
                     ehc_machine_error *err)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(item, "role");
    const cJSON *on = cJSON_GetObjectItemCaseSensitive(item, "effective_on");
    const cJSON *derive = cJSON_GetObjectItemCaseSensitive(item, "derive_effective_on");
    const cJSON *supersedes = cJSON_GetObjectItemCaseSensitive(item, "supersedes_seq");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(item, "correction_reason");
    ehc_event_input in = {0};
    in.derive_effective_on = cJSON_IsTrue(derive);
    if (!cJSON_IsObject(item) || !cJSON_IsString(type) || !cJSON_IsString(role) ||
        (derive && !cJSON_IsBool(derive)) || (!in.derive_effective_on && !cJSON_IsString(on)) ||
        (cJSON_IsString(on) && ehc_date_parse_iso(on->valuestring, &in.effective_on) != 0)) {
        return bad_input(err, index,
                         "needs \"type\", \"role\" and \"effective_on\" (YYYY-MM-DD), or "
                         "\"derive_effective_on\": true");
    }
    if (supersedes &&
        (!cJSON_IsNumber(supersedes) || supersedes->valuedouble < 1 || supersedes->valuedouble > UINT32_MAX ||
         supersedes->valuedouble != (double)(uint32_t)supersedes->valuedouble)) {
        return bad_input(err, index, "\"supersedes_seq\" must be the number of an earlier event");
    }
    if (reason && !cJSON_IsString(reason)) {
        return bad_input(err, index, "\"correction_reason\" must be text");
    }
    in.supersedes_seq = supersedes ? (uint32_t)supersedes->valuedouble : 0;
    in.correction_reason = reason ? reason->valuestring : NULL;
    ehc_field_value *fields;
    char **owned;
    size_t count;
    if (read_fields(cJSON_GetObjectItemCaseSensitive(item, "fields"), &fields, &count, &owned) != 0) {
        free(fields);
        free_owned(owned, count);
        return bad_input(err, index, "\"fields\" must be an object of strings, booleans or whole numbers");
    }
    in.type = type->valuestring;
    in.actor_role = role->valuestring;
    in.fields = fields;
    in.field_count = count;
    ehc_case_state next;
    ehc_effects fx;
    ehc_machine_error local;
    ehc_machine_error *e = err ? err : &local;
    const int rc = ehc_machine_apply(env, state, &in, &next, &fx, e);
    free(fields);
    free_owned(owned, count);
    if (rc != 0) {
        char message[sizeof e->message];
        snprintf(message, sizeof message, "%s", e->message);
        snprintf(e->message, sizeof e->message, "event %zu refused: %.480s", index + 1, message);
        return rc;
    }
    ehc_effects_free(&fx);
    ehc_case_state_free(state);
    *state = next;
    return 0;
}

static const char *days_word(int32_t n)
{
    return n == 1 || n == -1 ? "day" : "days";
}

static void print_status(FILE *out, const ehc_workflow *wf, const ehc_deadline_instance *d, ehc_date today)
{
    const ehc_wf_deadline *dl = ehc_workflow_deadline(wf, d->deadline);
    char settled[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(d->settled_on, settled);
    switch (d->status) {
    case EHC_DEADLINE_MET: fprintf(out, "%s %s", dl->earliest ? "respected" : "met", settled); break;
    case EHC_DEADLINE_MET_LATE: {
        const int32_t late = ehc_date_days_between(d->due_on, d->settled_on);
        fprintf(out, "met late %s (%d %s)", settled, (int)late, days_word(late));
        break;
    }
    case EHC_DEADLINE_CANCELLED: fprintf(out, "cancelled %s", settled); break;
    case EHC_DEADLINE_OPEN:
        if (ehc_machine_is_overdue(wf, d, today)) {
            const int32_t late = ehc_date_days_between(d->due_on, today);
            fprintf(out, "overdue (%d %s)", (int)late, days_word(late));
        } else {
            fprintf(out, "%s", dl->earliest ? "running" : "open");
        }
        break;
    }
    if (d->exception != EHC_WF_NONE) {
        fprintf(out, "; exception applies: %s (%s)", dl->exceptions[d->exception].id,
                dl->exceptions[d->exception].basis);
    }
}

static void print_timeline(FILE *out, const ehc_workflow *wf, const ehc_case_state *state, ehc_date today)
{
    char iso[EHC_DATE_ISO_SIZE], hash[13];
    snprintf(hash, sizeof hash, "%s", ehc_workflow_content_hash(wf));
    ehc_date_format_iso(today, iso);
    fprintf(out, "workflow %s (sha256 %s...), as of %s\n", ehc_workflow_id(wf), hash, iso);
    fprintf(out, "stage: %s (%s)\n", ehc_workflow_stage(wf, state->stage)->id,
            ehc_workflow_stage(wf, state->stage)->title);
    fprintf(out, "\nevents:\n");
    for (size_t i = 0; i < state->event_count; i++) {
        const ehc_case_event *r = &state->events[i];
        ehc_date_format_iso(r->effective_on, iso);
        /* r->type, not the workflow's id: native kinds (definitions_updated) have no workflow event. */
        fprintf(out, "  %3u  %s  %s%s%s", (unsigned)r->seq, iso, r->type, r->key[0] ? " " : "", r->key);
        if (r->supersedes_seq)
            fprintf(out, "  (corrects %u: %s)", (unsigned)r->supersedes_seq,
                    r->correction_reason ? r->correction_reason : "");
        if (r->superseded_by_seq) fprintf(out, "  (superseded by %u)", (unsigned)r->superseded_by_seq);
        fputc('\n', out);
    }
    if (state->letters_stopped) fprintf(out, "  letters and alerts stopped for good\n");
    fprintf(out, "\ndates:\n");
    for (size_t i = 0; i < state->deadline_count; i++) {
        const ehc_deadline_instance *d = &state->deadlines[i];
        const ehc_wf_deadline *dl = ehc_workflow_deadline(wf, d->deadline);
        ehc_date_format_iso(d->due_on, iso);
        const char *direction = dl->strictly_after ? "after" : dl->earliest ? "not before" : "due";
        fprintf(out, "  %s  %-9s %s%s%s%s  %s  [%s]  ", iso, direction, dl->id, d->key[0] ? " (" : "", d->key,
                d->key[0] ? ")" : "", ehc_deadline_kind_name(dl->kind),
                dl->basis ? dl->basis : "local target");
        print_status(out, wf, d, today);
        fputc('\n', out);
    }
    if (state->report_count) fprintf(out, "\nSEN2:\n");
    for (size_t i = 0; i < state->report_count; i++) {
        fprintf(out, "  %s = %s\n", state->reports[i].item, state->reports[i].value);
    }
}

int ehc_timeline_render(const ehc_workflow *wf, const ehc_calendar_set *calendars, const char *events_json,
                        ehc_date today, FILE *out, ehc_machine_error *err)
{
    cJSON *events = cJSON_Parse(events_json ? events_json : "");
    if (!cJSON_IsArray(events)) {
        cJSON_Delete(events);
        return bad_input(err, 0, "the events must be a JSON array");
    }
    const ehc_machine_env env = {.workflow = wf, .calendars = calendars, .today = today};
    ehc_case_state state;
    ehc_case_state_init(wf, &state);
    int rc = 0;
    size_t index = 0;
    for (const cJSON *item = events->child; item && rc == 0; item = item->next, index++) {
        rc = apply_one(&env, &state, item, index, err);
    }
    if (rc == 0) print_timeline(out, wf, &state, today);
    ehc_case_state_free(&state);
    cJSON_Delete(events);
    return rc;
}
