/* The pure case state machine: checks one new event against the workflow (role, stage, fields,
 * dates, dependencies, earliest-allowed dates, exceptions and setting closures) and, when it is
 * lawful, returns the next case state and the effects (clocks set, met, met late, cancelled or
 * recomputed; alerts to resolve; exceptions; SEN2 items; the stage change). Corrections and
 * definitions_updated rebuild the state by replaying its log and report the differences. No I/O, no
 * clock, no globals: `today` and the calendars come in, so a replay of the same events gives the
 * same state. Every date is computed through date.h/calendar.h. */
#include "ehc/machine.h"

#include <assert.h>
#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------
 * Names */

const char *ehc_deadline_status_name(ehc_deadline_status status)
{
    static const char *const names[] = {"open", "met", "met_late", "cancelled"};
    return (size_t)status < EHC_ARRAY_SIZE(names) ? names[status] : "";
}

const char *ehc_effect_kind_name(ehc_effect_kind kind)
{
    static const char *const names[] = {"stage_changed",     "deadline_set",       "deadline_met",
                                        "deadline_met_late", "deadline_cancelled", "alerts_resolve",
                                        "exception_applied", "report_set",         "deadline_recomputed",
                                        "letters_stopped",   "event_superseded",   "definitions_pinned"};
    return (size_t)kind < EHC_ARRAY_SIZE(names) ? names[kind] : "";
}

static const char *const error_names[] = {
    "ok",
    "unknown_event",
    "role_forbidden",
    "not_opened",
    "already_opened",
    "not_allowed",
    "field_unknown",
    "field_missing",
    "field_invalid",
    "date_in_future",
    "date_before_origin",
    "date_before_dependency",
    "dependency_missing",
    "too_early",
    "duplicate_key",
    "exception_invalid",
    "date_uncomputable",
    "override_invalid",
    "definitions_mismatch",
    "correction_invalid",
};

const char *ehc_machine_error_name(ehc_machine_error_code code)
{
    return (size_t)code < EHC_ARRAY_SIZE(error_names) ? error_names[code] : "";
}

int ehc_machine_error_http_status(ehc_machine_error_code code)
{
    switch (code) {
    case EHC_MACHINE_OK: return 200;
    case EHC_MACHINE_E_ROLE_FORBIDDEN: return 403;
    case EHC_MACHINE_E_DUPLICATE_KEY:
    case EHC_MACHINE_E_DEFINITIONS_MISMATCH: return 409;
    case EHC_MACHINE_E_DATE_UNCOMPUTABLE:
    case EHC_MACHINE_E_OVERRIDE_INVALID: return 500;
    default: return 422;
    }
}

static int status_of(ehc_machine_error_code code)
{
    switch (code) {
    case EHC_MACHINE_E_ROLE_FORBIDDEN: return EHC_EFORBIDDEN;
    case EHC_MACHINE_E_DUPLICATE_KEY:
    case EHC_MACHINE_E_DEFINITIONS_MISMATCH: return EHC_ECONFLICT;
    case EHC_MACHINE_E_NOT_OPENED:
    case EHC_MACHINE_E_ALREADY_OPENED:
    case EHC_MACHINE_E_NOT_ALLOWED:
    case EHC_MACHINE_E_TOO_EARLY: return EHC_ESTATE;
    case EHC_MACHINE_E_DATE_UNCOMPUTABLE: return EHC_ERANGE;
    default: return EHC_EINVAL;
    }
}

static int refuse(ehc_machine_error *err, ehc_machine_error_code code, const char *field, const char *rule,
                  const char *fmt, ...) EHC_PRINTF(5, 6);

static int refuse(ehc_machine_error *err, ehc_machine_error_code code, const char *field, const char *rule,
                  const char *fmt, ...)
{
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    snprintf(err->rule, sizeof err->rule, "%s", rule ? rule : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return status_of(code);
}

/* Outside text made safe to quote in a message: printable ASCII only, at most 64 characters. */
static void quote_text(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    for (; src && src[n] && n + 1 < size && n < 64; n++) {
        const unsigned char c = (unsigned char)src[n];
        dst[n] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
}

/* ------------------------------------------------------------------------------------------------
 * State and effects lifecycle */

void ehc_case_state_init(const ehc_workflow *wf, ehc_case_state *state)
{
    memset(state, 0, sizeof *state);
    state->stage = ehc_workflow_initial_stage(wf);
}

static void free_record(ehc_case_event *r)
{
    for (size_t i = 0; i < r->field_count; i++) {
        free(r->fields[i].field);
        free(r->fields[i].value);
    }
    free(r->fields);
    free(r->correction_reason);
    r->fields = NULL;
    r->field_count = 0;
    r->correction_reason = NULL;
}

static void copy_record(const ehc_case_event *src, ehc_case_event *dst)
{
    *dst = *src;
    dst->fields = ehc_calloc(src->field_count ? src->field_count : 1, sizeof *dst->fields);
    for (size_t i = 0; i < src->field_count; i++) {
        dst->fields[i].field = ehc_strdup(src->fields[i].field);
        dst->fields[i].value = ehc_strdup(src->fields[i].value);
    }
    dst->correction_reason = src->correction_reason ? ehc_strdup(src->correction_reason) : NULL;
}

static void free_records(ehc_case_event *events, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free_record(&events[i]);
    free(events);
}

void ehc_case_state_free(ehc_case_state *state)
{
    if (!state) return;
    free_records(state->events, state->event_count);
    free(state->deadlines);
    free(state->reports);
    memset(state, 0, sizeof *state);
}

static void *copy_array(const void *src, size_t count, size_t size, size_t extra)
{
    void *dst = ehc_calloc(count + extra, size);
    if (count) memcpy(dst, src, count * size);
    return dst;
}

static ehc_case_event *copy_records(const ehc_case_event *src, size_t count)
{
    ehc_case_event *dst = ehc_calloc(count ? count : 1, sizeof *dst);
    for (size_t i = 0; i < count; i++)
        copy_record(&src[i], &dst[i]);
    return dst;
}

void ehc_case_state_copy(const ehc_case_state *src, ehc_case_state *dst)
{
    *dst = *src;
    dst->events = copy_records(src->events, src->event_count);
    dst->deadlines = copy_array(src->deadlines, src->deadline_count, sizeof *src->deadlines, 0);
    dst->reports = copy_array(src->reports, src->report_count, sizeof *src->reports, 0);
}

void ehc_effects_free(ehc_effects *effects)
{
    if (!effects) return;
    free(effects->items);
    effects->items = NULL;
    effects->count = 0;
}

static ehc_effect *push_effect(ehc_effects *fx, ehc_effect_kind kind)
{
    fx->items = ehc_realloc(fx->items, (fx->count + 1) * sizeof *fx->items);
    ehc_effect *e = &fx->items[fx->count++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->instance = EHC_WF_NONE;
    return e;
}

/* ------------------------------------------------------------------------------------------------
 * Dates */

static int find_calendar(const ehc_machine_env *env, const ehc_workflow *wf, const ehc_calendar **cal)
{
    if (!env->calendars) return EHC_ERANGE;
    return ehc_calendar_set_find(env->calendars, ehc_workflow_calendar_id(wf), cal) ? EHC_ERANGE : 0;
}

static int compute_date(const ehc_machine_env *env, const ehc_wf_length *len, ehc_date origin, ehc_date *out)
{
    const int32_t n = len->before ? -len->count : len->count;
    switch (len->unit) {
    case EHC_LENGTH_DAYS: return ehc_date_add_days(origin, n, out);
    case EHC_LENGTH_WEEKS: return ehc_date_add_weeks(origin, n, out);
    case EHC_LENGTH_MONTHS: return ehc_date_add_months(origin, n, out);
    case EHC_LENGTH_PERIOD_MONTHS: return ehc_date_period_months_last_day(origin, len->count, out);
    case EHC_LENGTH_WORKING_DAYS: {
        const ehc_calendar *cal = NULL;
        int rc = find_calendar(env, env->workflow, &cal);
        if (rc) return rc;
        return len->before ? ehc_calendar_working_days_before(cal, origin, len->count, out)
                           : ehc_calendar_add_working_days(cal, origin, len->count, out);
    }
    case EHC_LENGTH_BEFORE_FIXED: {
        int year = 0;
        ehc_date fixed;
        ehc_date_to_ymd(origin, &year, NULL, NULL);
        int rc = ehc_date_of_year(year + len->year_offset, len->month, len->day, &fixed);
        return rc ? rc : ehc_date_before_last_day(fixed, out);
    }
    }
    return EHC_EINVAL;
}

/* The tribunal roll-overs (August, 25 December - 1 January) when the clock asks for them. */
static int roll_over(const ehc_machine_env *env, const ehc_wf_deadline *dl, ehc_date d, ehc_date *out)
{
    if (!dl->tribunal_rollover) {
        *out = d;
        return 0;
    }
    const ehc_calendar *cal = NULL;
    int rc = find_calendar(env, env->workflow, &cal);
    return rc ? rc : ehc_calendar_tribunal_rollover(cal, d, out);
}

static const ehc_wf_length *length_for(const ehc_machine_env *env, const ehc_wf_deadline *dl)
{
    if (dl->kind != EHC_DEADLINE_LOCAL) return &dl->length;
    for (size_t i = 0; i < env->override_count; i++) {
        if (env->overrides[i].deadline && strcmp(env->overrides[i].deadline, dl->id) == 0)
            return &env->overrides[i].length;
    }
    return &dl->length;
}

int ehc_machine_check_overrides(const ehc_workflow *wf, const ehc_local_override *overrides, size_t count,
                                ehc_machine_error *err)
{
    memset(err, 0, sizeof *err);
    for (size_t i = 0; i < count; i++) {
        const ehc_local_override *o = &overrides[i];
        size_t d;
        char safe[80];
        quote_text(safe, sizeof safe, o->deadline);
        if (!o->deadline || ehc_workflow_find_deadline(wf, o->deadline, &d) != 0) {
            return refuse(err, EHC_MACHINE_E_OVERRIDE_INVALID, "", "", "override names no deadline '%s'",
                          safe);
        }
        const ehc_wf_deadline *dl = ehc_workflow_deadline(wf, d);
        if (dl->kind != EHC_DEADLINE_LOCAL) {
            return refuse(err, EHC_MACHINE_E_OVERRIDE_INVALID, "", dl->basis,
                          "deadline '%s' is %s: only a local target may be overridden", safe,
                          ehc_deadline_kind_name(dl->kind));
        }
        const bool fixed = o->length.unit == EHC_LENGTH_BEFORE_FIXED;
        if ((!fixed && (o->length.count < 1 || o->length.count > 3660)) ||
            o->length.unit > EHC_LENGTH_BEFORE_FIXED ||
            (fixed &&
             (o->length.month < 1 || o->length.month > 12 || o->length.day < 1 || o->length.day > 31))) {
            return refuse(err, EHC_MACHINE_E_OVERRIDE_INVALID, "", "", "override of '%s' has a bad length",
                          safe);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Fields */

static bool key_text_is_valid(const char *s)
{
    const size_t len = strlen(s);
    if (len == 0 || len >= EHC_MACHINE_KEY_SIZE) return false;
    for (size_t i = 0; i < len; i++) {
        const char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.' || c == ':')) {
            return false;
        }
    }
    return true;
}

static int check_value(const ehc_wf_field *f, const char *v, ehc_machine_error *err)
{
    char safe[80];
    quote_text(safe, sizeof safe, v);
    switch (f->type) {
    case EHC_FIELD_DATE: {
        ehc_date d;
        if (ehc_date_parse_iso(v, &d) == 0) return 0;
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, f->id, "",
                      "field '%s' must be a date YYYY-MM-DD, not '%s'", f->id, safe);
    }
    case EHC_FIELD_ENUM:
        for (size_t i = 0; i < f->value_count; i++) {
            if (strcmp(f->values[i], v) == 0) return 0;
        }
        {
            char list[256] = "";
            for (size_t i = 0; i < f->value_count; i++) {
                const size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", f->values[i]);
            }
            return refuse(err, EHC_MACHINE_E_FIELD_INVALID, f->id, "",
                          "field '%s' must be one of %s, not '%s'", f->id, list, safe);
        }
    case EHC_FIELD_TEXT:
        if (strlen(v) <= f->max_length) return 0;
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, f->id, "", "field '%s' is longer than %zu characters",
                      f->id, f->max_length);
    case EHC_FIELD_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) return 0;
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, f->id, "",
                      "field '%s' must be true or false, not '%s'", f->id, safe);
    case EHC_FIELD_INT: {
        char *end = NULL;
        errno = 0;
        const long long n = strtoll(v, &end, 10);
        if (*v && *end == '\0' && errno == 0 && n >= f->min && n <= f->max) return 0;
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, f->id, "",
                      "field '%s' must be a whole number from %lld to %lld, not '%s'", f->id,
                      (long long)f->min, (long long)f->max, safe);
    }
    case EHC_FIELD_DATETIME: {
        ehc_date d;
        int minute = 0;
        if (ehc_date_parse_local_datetime(v, &d, &minute) == 0) return 0;
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, f->id, "",
                      "field '%s' must be a time YYYY-MM-DDTHH:MM (England), not '%s'", f->id, safe);
    }
    case EHC_FIELD_ID:
        if (key_text_is_valid(v)) return 0;
        return refuse(
            err, EHC_MACHINE_E_FIELD_INVALID, f->id, "",
            "field '%s' must be an identifier of 1-%d characters (letters, digits, _ - . :), not '%s'", f->id,
            EHC_MACHINE_KEY_SIZE - 1, safe);
    }
    return EHC_EINVAL;
}

/* Fills vals[field index] with the given values (NULL when absent) after checking each. */
static int read_fields(const ehc_wf_event *ev, const ehc_event_input *in, const char **vals,
                       ehc_machine_error *err)
{
    for (size_t i = 0; i < in->field_count; i++) {
        const ehc_field_value *fv = &in->fields[i];
        size_t f;
        char safe[80];
        quote_text(safe, sizeof safe, fv->field);
        if (!fv->field || ehc_wf_event_find_field(ev, fv->field, &f) != 0) {
            return refuse(err, EHC_MACHINE_E_FIELD_UNKNOWN, safe, "", "event '%s' has no field '%s'", ev->id,
                          safe);
        }
        if (vals[f])
            return refuse(err, EHC_MACHINE_E_FIELD_INVALID, safe, "", "field '%s' is given twice", safe);
        if (!fv->value)
            return refuse(err, EHC_MACHINE_E_FIELD_INVALID, safe, "", "field '%s' has no value", safe);
        int rc = check_value(&ev->fields[f], fv->value, err);
        if (rc) return rc;
        vals[f] = fv->value;
    }
    for (size_t f = 0; f < ev->field_count; f++) {
        if (ev->fields[f].required && !vals[f]) {
            return refuse(err, EHC_MACHINE_E_FIELD_MISSING, ev->fields[f].id, "",
                          "event '%s' requires field '%s' (%s)", ev->id, ev->fields[f].id,
                          ehc_field_type_name(ev->fields[f].type));
        }
    }
    return 0;
}

static bool when_holds(const ehc_wf_when *when, const char *const *vals)
{
    for (size_t i = 0; i < when->count; i++) {
        const char *v = vals[when->conditions[i].field];
        if (!v || strcmp(v, when->conditions[i].value) != 0) return false;
    }
    return true;
}

/* Whether ev (with key value `key`, "" when it has no key field) applies to a clock instance: a
 * clock without a key, or an event without a key, matches every instance. */
static bool key_matches(const ehc_wf_event *ev, const char *key, const ehc_deadline_instance *inst)
{
    return inst->key[0] == '\0' || ev->key_field == EHC_WF_NONE || strcmp(inst->key, key) == 0;
}

static bool ref_matches(const ehc_wf_event_ref *refs, size_t count, size_t event, const char *const *vals)
{
    for (size_t i = 0; i < count; i++) {
        if (refs[i].event == event && when_holds(&refs[i].when, vals)) return true;
    }
    return false;
}

/* ------------------------------------------------------------------------------------------------
 * Queries */

size_t ehc_machine_allowed_events(const ehc_workflow *wf, const ehc_case_state *state, size_t *out,
                                  size_t cap)
{
    size_t n = 0;
    const size_t opening = ehc_workflow_opening_event(wf);
    for (size_t e = 0; e < ehc_workflow_event_count(wf); e++) {
        const bool allowed =
            state->opened
                ? e != opening && ehc_wf_event_allowed_in(wf, ehc_workflow_event(wf, e), state->stage)
                : e == opening;
        if (allowed && n < cap) out[n++] = e;
    }
    return n;
}

static void allowed_list(const ehc_workflow *wf, const ehc_case_state *state, char *buf, size_t size)
{
    size_t idx[256];
    const size_t n = ehc_machine_allowed_events(wf, state, idx, EHC_ARRAY_SIZE(idx));
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s", i ? ", " : "", ehc_workflow_event(wf, idx[i])->id);
    }
    if (n == 0) snprintf(buf, size, "none");
}

bool ehc_machine_is_overdue(const ehc_workflow *wf, const ehc_deadline_instance *instance, ehc_date today)
{
    return instance->status == EHC_DEADLINE_OPEN &&
           !ehc_workflow_deadline(wf, instance->deadline)->earliest &&
           ehc_date_compare(today, instance->due_on) > 0;
}

int ehc_machine_alert_dates(const ehc_machine_env *env, const ehc_deadline_instance *instance,
                            ehc_alert_date *out, size_t cap, size_t *count)
{
    const ehc_wf_alerts *a = &ehc_workflow_deadline(env->workflow, instance->deadline)->alerts;
    const ehc_calendar *cal = NULL;
    *count = 0;
    int rc = ehc_calendar_set_find(env->calendars, ehc_workflow_calendar_id(env->workflow), &cal);
    if (rc) return rc;
    for (size_t i = 0; i < a->before_working_days_count; i++) {
        if (*count == cap) return EHC_ERANGE;
        ehc_alert_date *d = &out[(*count)++];
        memset(d, 0, sizeof *d);
        d->before_working_days = a->before_working_days[i];
        if ((rc = ehc_calendar_working_days_before(cal, instance->due_on, d->before_working_days, &d->on)))
            return rc;
    }
    if (a->on_due) {
        if (*count == cap) return EHC_ERANGE;
        ehc_alert_date *d = &out[(*count)++];
        memset(d, 0, sizeof *d);
        d->on_due = true;
        if ((rc = ehc_calendar_working_day_on_or_before(cal, instance->due_on, &d->on))) return rc;
    }
    if (a->overdue) {
        if (*count == cap) return EHC_ERANGE;
        ehc_alert_date *d = &out[(*count)++];
        memset(d, 0, sizeof *d);
        d->overdue = true;
        ehc_date next_day;
        if ((rc = ehc_date_add_days(instance->due_on, 1, &next_day)) ||
            (rc = ehc_calendar_working_day_on_or_after(cal, next_day, &d->on))) {
            return rc;
        }
    }
    /* One alert per day: an on-due alert moved back to a working day can land on a before-due one
     * (due on a Sunday, 1 working day before = Friday); keep one entry carrying both. */
    size_t kept = 0;
    for (size_t i = 0; i < *count; i++) {
        if (kept > 0 && out[kept - 1].on.days == out[i].on.days) {
            out[kept - 1].on_due |= out[i].on_due;
            out[kept - 1].overdue |= out[i].overdue;
            continue;
        }
        out[kept++] = out[i];
    }
    *count = kept;
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Applying one event: checks first (nothing changes), then the new state and effects. */

typedef struct apply_ctx {
    const ehc_machine_env *env;
    const ehc_workflow *wf;
    const ehc_case_state *state;
    size_t event;
    const ehc_wf_event *ev;
    const char **vals;
    const char *key; /* the event's key value or "" */
    ehc_date effective_on;
    size_t to_stage;
    bool replaying; /* a rebuild: the role was checked when the event was first recorded */
    ehc_machine_error *err;
} apply_ctx;

/* Whether a recorded event takes part in the law of the case: not superseded, not a native kind. */
static bool record_counts(const ehc_case_event *r)
{
    return r->superseded_by_seq == 0 && r->event != EHC_WF_NONE;
}

static const char *record_value(const ehc_case_event *r, const char *field)
{
    for (size_t i = 0; i < r->field_count; i++) {
        if (strcmp(r->fields[i].field, field) == 0) return r->fields[i].value;
    }
    return NULL;
}

static bool role_may(const char *role_name, unsigned roles)
{
    ehc_role role;
    return ehc_role_parse(role_name, &role) == 0 && (roles & (unsigned)role);
}

static void roles_text(unsigned roles, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < EHC_ROLE_COUNT; i++) {
        if (!(roles & (1u << i))) continue;
        const size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s", used ? ", " : "", ehc_role_name((ehc_role)(1u << i)));
    }
}

static int check_event_and_role(apply_ctx *c, const ehc_event_input *in)
{
    const ehc_workflow *wf = c->wf;
    char safe[80], allowed[1024];
    quote_text(safe, sizeof safe, in->type);
    if (!in->type || ehc_workflow_find_event(wf, in->type, &c->event) != 0) {
        allowed_list(wf, c->state, allowed, sizeof allowed);
        return refuse(c->err, EHC_MACHINE_E_UNKNOWN_EVENT, "", "",
                      "workflow '%s' has no event '%s' (allowed now: %s)", ehc_workflow_id(wf), safe,
                      allowed);
    }
    c->ev = ehc_workflow_event(wf, c->event);
    quote_text(safe, sizeof safe, in->actor_role);
    if (!c->replaying && !role_may(in->actor_role, c->ev->roles)) {
        char roles[256];
        roles_text(c->ev->roles, roles, sizeof roles);
        return refuse(c->err, EHC_MACHINE_E_ROLE_FORBIDDEN, "", "",
                      "role '%s' may not record '%s' (roles allowed: %s)", safe, c->ev->id, roles);
    }
    const size_t opening = ehc_workflow_opening_event(wf);
    if (!c->state->opened && c->event != opening) {
        return refuse(c->err, EHC_MACHINE_E_NOT_OPENED, "", "",
                      "the case is not open: the first event must be '%s'",
                      ehc_workflow_event(wf, opening)->id);
    }
    if (c->state->opened && c->event == opening) {
        return refuse(c->err, EHC_MACHINE_E_ALREADY_OPENED, "", "",
                      "the case is already open: '%s' is recorded once", c->ev->id);
    }
    if (!ehc_wf_event_allowed_in(wf, c->ev, c->state->stage)) {
        allowed_list(wf, c->state, allowed, sizeof allowed);
        return refuse(c->err, EHC_MACHINE_E_NOT_ALLOWED, "", "",
                      "'%s' is not allowed in stage '%s' (allowed now: %s)", c->ev->id,
                      ehc_workflow_stage(wf, c->state->stage)->id, allowed);
    }
    return 0;
}

/* The date the event takes effect in law when a field decides it: "effective_date", or the deemed
 * date of receipt. *field is that field's id; false when the event has no such rule. */
static int derived_date(apply_ctx *c, bool *has, ehc_date *out, const char **field)
{
    *has = false;
    if (c->ev->effective_field != EHC_WF_NONE) {
        *has = true;
        *field = c->ev->fields[c->ev->effective_field].id;
        return ehc_date_parse_iso(c->vals[c->ev->effective_field], out) ? EHC_EINVAL : 0;
    }
    if (!c->ev->deemed_receipt) return 0;
    *has = true;
    *field = c->ev->fields[c->ev->receipt_at_field].id;
    ehc_receipt_channel channel;
    ehc_date on;
    int minute = 0;
    const ehc_calendar *cal = NULL;
    if (ehc_receipt_channel_parse(c->vals[c->ev->receipt_channel_field], &channel) != 0 ||
        ehc_date_parse_local_datetime(c->vals[c->ev->receipt_at_field], &on, &minute) != 0) {
        return EHC_EINVAL;
    }
    int rc = find_calendar(c->env, c->wf, &cal);
    if (rc == 0) rc = ehc_calendar_deemed_receipt(cal, channel, on, minute, out);
    if (rc) {
        return refuse(c->err, EHC_MACHINE_E_DATE_UNCOMPUTABLE, *field, "",
                      "the deemed date of receipt cannot be computed: %s (calendar '%s' must cover it)",
                      ehc_strerror(rc), ehc_workflow_calendar_id(c->wf));
    }
    return 0;
}

static int check_dates(apply_ctx *c, const ehc_event_input *in)
{
    char on[EHC_DATE_ISO_SIZE], limit[EHC_DATE_ISO_SIZE];
    const char *field = "effective_on";
    bool has = false;
    ehc_date derived = {0};
    c->effective_on = in->effective_on;
    int rc = derived_date(c, &has, &derived, &field);
    if (rc) return rc;
    if (has && !in->derive_effective_on && derived.days != in->effective_on.days) {
        ehc_date_format_iso(in->effective_on, on);
        ehc_date_format_iso(derived, limit);
        return refuse(c->err, EHC_MACHINE_E_FIELD_INVALID, field, "",
                      "effective_on %s disagrees with the date '%s' gives (%s): give the same date, or leave "
                      "effective_on to be derived",
                      on, field, limit);
    }
    if (has) c->effective_on = derived;
    if (!ehc_date_is_valid(c->effective_on)) {
        return refuse(c->err, EHC_MACHINE_E_FIELD_INVALID, field, "", "'%s' is not a valid date", field);
    }
    ehc_date_format_iso(c->effective_on, on);
    if (ehc_date_compare(c->effective_on, c->env->today) > 0) {
        ehc_date_format_iso(c->env->today, limit);
        return refuse(c->err, EHC_MACHINE_E_DATE_IN_FUTURE, field, "",
                      "'%s' takes effect on %s, after today (%s): an event is recorded once it has happened",
                      c->ev->id, on, limit);
    }
    if (c->state->opened && ehc_date_compare(c->effective_on, c->state->origin_on) < 0) {
        ehc_date_format_iso(c->state->origin_on, limit);
        return refuse(c->err, EHC_MACHINE_E_DATE_BEFORE_ORIGIN, field, "",
                      "'%s' takes effect on %s, before the case began on %s (%s)", c->ev->id, on, limit,
                      ehc_workflow_event(c->wf, ehc_workflow_opening_event(c->wf))->id);
    }
    if (c->ev->depends_on == EHC_WF_NONE) return 0;
    const ehc_wf_event *dep = ehc_workflow_event(c->wf, c->ev->depends_on);
    const ehc_case_event *found = NULL;
    for (size_t i = c->state->event_count; i-- > 0 && !found;) {
        const ehc_case_event *r = &c->state->events[i];
        if (record_counts(r) && r->event == c->ev->depends_on &&
            (!c->ev->depends_on_same_key || strcmp(r->key, c->key) == 0))
            found = r;
    }
    const char *key_field = c->ev->depends_on_same_key ? c->ev->fields[c->ev->key_field].id : "";
    if (!found && c->ev->depends_on_same_key) {
        return refuse(c->err, EHC_MACHINE_E_DEPENDENCY_MISSING, key_field, "",
                      "'%s' needs an earlier '%s' with %s '%s'", c->ev->id, dep->id, key_field, c->key);
    }
    if (!found) {
        return refuse(c->err, EHC_MACHINE_E_DEPENDENCY_MISSING, "", "", "'%s' needs an earlier '%s'",
                      c->ev->id, dep->id);
    }
    if (ehc_date_compare(c->effective_on, found->effective_on) < 0) {
        ehc_date_format_iso(found->effective_on, limit);
        return refuse(c->err, EHC_MACHINE_E_DATE_BEFORE_DEPENDENCY, field, "",
                      "'%s' takes effect on %s, before the '%s' it answers (%s)", c->ev->id, on, dep->id,
                      limit);
    }
    return 0;
}

static int choose_transition(apply_ctx *c)
{
    const ehc_workflow *wf = c->wf;
    const size_t stage = c->state->stage;
    const bool final = ehc_workflow_stage(wf, stage)->final;
    for (size_t t = 0; t < c->ev->transition_count; t++) {
        const ehc_wf_transition *tr = &c->ev->transitions[t];
        bool from = tr->from_any_open && !final;
        for (size_t i = 0; i < tr->from_count && !from; i++)
            from = tr->from[i] == stage;
        if (from && when_holds(&tr->when, c->vals)) {
            c->to_stage = tr->to;
            return 0;
        }
    }
    bool stay = c->ev->stay_any_open && !final;
    for (size_t i = 0; i < c->ev->stay_count && !stay; i++)
        stay = c->ev->stay[i] == stage;
    if (stay) {
        c->to_stage = stage;
        return 0;
    }
    return refuse(
        c->err, EHC_MACHINE_E_NOT_ALLOWED, "", "",
        "'%s' is not allowed in stage '%s' with these field values (no transition's \"when\" holds)",
        c->ev->id, ehc_workflow_stage(wf, stage)->id);
}

/* Reg 5(4)(a)/(b), 10(4)(a)/(b), 13(3): a closure exception holds only when the advice request it
 * names was made of that setting inside the setting's own closure window. */
static int check_setting_closure(apply_ctx *c, const ehc_wf_deadline *dl, const ehc_wf_exception *x)
{
    const ehc_wf_event *adv = ehc_workflow_event(c->wf, x->closure_advice_event);
    const char *kname = adv->fields[adv->key_field].id;
    size_t kf;
    if (ehc_wf_event_find_field(c->ev, kname, &kf) != 0 || !c->vals[kf]) {
        return refuse(c->err, EHC_MACHINE_E_FIELD_MISSING, kname, x->basis,
                      "exception '%s' needs the %s of the advice request it relies on (%s)", x->id, kname,
                      x->basis);
    }
    const char *key = c->vals[kf];
    const ehc_case_event *req = NULL;
    for (size_t i = c->state->event_count; i-- > 0 && !req;) {
        const ehc_case_event *r = &c->state->events[i];
        if (record_counts(r) && r->event == x->closure_advice_event && strcmp(r->key, key) == 0) req = r;
    }
    if (!req) {
        return refuse(c->err, EHC_MACHINE_E_EXCEPTION_INVALID, kname, x->basis,
                      "exception '%s' on '%s': no '%s' with %s '%s' was recorded", x->id, dl->id, adv->id,
                      kname, key);
    }
    const char **rvals = ehc_calloc(adv->field_count ? adv->field_count : 1, sizeof *rvals);
    for (size_t f = 0; f < adv->field_count; f++)
        rvals[f] = record_value(req, adv->fields[f].id);
    const bool kind_ok = when_holds(&x->closure_when, rvals);
    const char *setting_id = rvals[x->closure_setting_field];
    free(rvals);
    if (!kind_ok || !setting_id) {
        return refuse(c->err, EHC_MACHINE_E_EXCEPTION_INVALID, "exception", x->basis,
                      "exception '%s' (%s) needs advice requested from that kind of setting, naming its "
                      "closure calendar in 'setting'; request '%s' does not",
                      x->id, x->basis, key);
    }
    const ehc_setting_calendar *setting = NULL;
    if (!c->env->calendars || ehc_calendar_set_find_setting(c->env->calendars, setting_id, &setting) != 0) {
        return refuse(c->err, EHC_MACHINE_E_EXCEPTION_INVALID, "exception", x->basis,
                      "no closure calendar for setting '%s': its closure dates must be loaded to rely on %s",
                      setting_id, x->basis);
    }
    bool in_window = false;
    ehc_closure closure;
    char asked[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(req->effective_on, asked);
    const int rc = ehc_setting_calendar_in_closure_window(setting, req->effective_on, &in_window, &closure);
    if (rc) {
        return refuse(c->err, EHC_MACHINE_E_DATE_UNCOMPUTABLE, "exception", x->basis,
                      "setting '%s' closure dates do not cover %s: %s", setting_id, asked, ehc_strerror(rc));
    }
    if (!in_window) {
        return refuse(c->err, EHC_MACHINE_E_EXCEPTION_INVALID, "exception", x->basis,
                      "exception '%s' refused: advice was requested from setting '%s' on %s, which is not "
                      "in the window from one week before a closure of at least 4 weeks to one week before "
                      "it re-opens (%s)",
                      x->id, setting_id, asked, x->basis);
    }
    return 0;
}

/* The clock instance an exception event names, by deadline id and (for per-key clocks) the origin's
 * key field of the same name. */
static int find_exception_target(apply_ctx *c, size_t *instance, size_t *exception)
{
    size_t f_deadline, f_exception, d;
    if (ehc_wf_event_find_field(c->ev, "deadline", &f_deadline) ||
        ehc_wf_event_find_field(c->ev, "exception", &f_exception)) {
        return EHC_EINVAL;
    }
    const char *did = c->vals[f_deadline], *xid = c->vals[f_exception];
    if (ehc_workflow_find_deadline(c->wf, did, &d) != 0) {
        return refuse(c->err, EHC_MACHINE_E_EXCEPTION_INVALID, "deadline", "",
                      "workflow has no deadline '%s'", did);
    }
    const ehc_wf_deadline *dl = ehc_workflow_deadline(c->wf, d);
    const char *key = "";
    if (dl->per_key) {
        const ehc_wf_event *origin = ehc_workflow_event(c->wf, dl->origin_event);
        size_t kf;
        const char *kname = origin->fields[origin->key_field].id;
        if (ehc_wf_event_find_field(c->ev, kname, &kf) != 0 || !c->vals[kf]) {
            return refuse(c->err, EHC_MACHINE_E_FIELD_MISSING, kname, "",
                          "deadline '%s' runs once per %s: give the %s it applies to", did, kname, kname);
        }
        key = c->vals[kf];
    }
    *instance = EHC_WF_NONE;
    for (size_t i = c->state->deadline_count; i-- > 0 && *instance == EHC_WF_NONE;) {
        const ehc_deadline_instance *inst = &c->state->deadlines[i];
        if (inst->deadline == d && strcmp(inst->key, key) == 0 && inst->status != EHC_DEADLINE_CANCELLED)
            *instance = i;
    }
    if (*instance == EHC_WF_NONE) {
        return refuse(c->err, EHC_MACHINE_E_EXCEPTION_INVALID, "deadline", "",
                      "deadline '%s'%s%s has not started in this case", did, *key ? " for " : "", key);
    }
    char list[512] = "";
    for (size_t x = 0; x < dl->exception_count; x++) {
        if (strcmp(dl->exceptions[x].id, xid) == 0) {
            *exception = x;
            return dl->exceptions[x].setting_closure ? check_setting_closure(c, dl, &dl->exceptions[x]) : 0;
        }
        const size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", x ? ", " : "", dl->exceptions[x].id);
    }
    return refuse(c->err, EHC_MACHINE_E_EXCEPTION_INVALID, "exception", dl->basis,
                  "exception '%s' does not apply to deadline '%s' (the law allows: %s)", xid, did,
                  dl->exception_count ? list : "none");
}

static int check_earliest(apply_ctx *c)
{
    for (size_t i = 0; i < c->state->deadline_count; i++) {
        const ehc_deadline_instance *inst = &c->state->deadlines[i];
        const ehc_wf_deadline *dl = ehc_workflow_deadline(c->wf, inst->deadline);
        if (!dl->earliest || inst->status != EHC_DEADLINE_OPEN || !key_matches(c->ev, c->key, inst) ||
            !ref_matches(dl->met_by, dl->met_by_count, c->event, c->vals) ||
            ehc_date_compare(c->effective_on, inst->due_on) > (dl->strictly_after ? 0 : -1)) {
            continue;
        }
        char on[EHC_DATE_ISO_SIZE], earliest[EHC_DATE_ISO_SIZE], started[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(c->effective_on, on);
        ehc_date_format_iso(inst->due_on, earliest);
        ehc_date_format_iso(inst->started_on, started);
        return refuse(c->err, EHC_MACHINE_E_TOO_EARLY, "effective_on", dl->basis ? dl->basis : dl->id,
                      "'%s' may not take effect %s %s (it is %s): %s, %s, running from %s (%s)", c->ev->id,
                      dl->strictly_after ? "on or before" : "before", earliest, on,
                      dl->basis ? dl->basis : "local target", dl->title, started,
                      ehc_workflow_event(c->wf, dl->origin_event)->id);
    }
    return 0;
}

static void fill_deadline_effect(ehc_effect *e, const ehc_wf_deadline *dl, const ehc_deadline_instance *inst,
                                 size_t i)
{
    e->instance = i;
    e->deadline = dl->id;
    memcpy(e->key, inst->key, sizeof e->key);
    e->deadline_kind = dl->kind;
    e->basis = dl->basis;
    e->earliest = dl->earliest;
    e->due_on = inst->due_on;
}

static int uncomputable(apply_ctx *c, const ehc_wf_deadline *dl, ehc_date from, int rc)
{
    char on[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(from, on);
    return refuse(c->err, EHC_MACHINE_E_DATE_UNCOMPUTABLE, "", dl->basis,
                  "the date of '%s' from %s cannot be computed: %s (calendar '%s' must cover it)", dl->id, on,
                  ehc_strerror(rc), ehc_workflow_calendar_id(c->wf));
}

/* "extended_by": the due date becomes the later of the current one and length from this event. */
static int extend_clocks(apply_ctx *c, ehc_case_state *next, ehc_effects *fx)
{
    for (size_t i = 0; i < next->deadline_count; i++) {
        ehc_deadline_instance *inst = &next->deadlines[i];
        const ehc_wf_deadline *dl = ehc_workflow_deadline(c->wf, inst->deadline);
        if (inst->status != EHC_DEADLINE_OPEN || !key_matches(c->ev, c->key, inst)) continue;
        for (size_t x = 0; x < dl->extended_by_count; x++) {
            const ehc_wf_extension *ext = &dl->extended_by[x];
            if (ext->event != c->event || !when_holds(&ext->when, c->vals)) continue;
            ehc_date candidate;
            int rc = compute_date(c->env, &ext->length, c->effective_on, &candidate);
            if (rc == 0) rc = roll_over(c->env, dl, candidate, &candidate);
            if (rc) return uncomputable(c, dl, c->effective_on, rc);
            if (candidate.days <= inst->due_on.days) continue;
            ehc_effect *e = push_effect(fx, EHC_EFFECT_DEADLINE_RECOMPUTED);
            e->previous_due_on = inst->due_on;
            inst->due_on = candidate;
            fill_deadline_effect(e, dl, inst, i);
            e->on = candidate;
        }
    }
    return 0;
}

static void settle_clocks(apply_ctx *c, ehc_case_state *next, ehc_effects *fx, uint32_t seq)
{
    for (size_t i = 0; i < next->deadline_count; i++) {
        ehc_deadline_instance *inst = &next->deadlines[i];
        const ehc_wf_deadline *dl = ehc_workflow_deadline(c->wf, inst->deadline);
        if (inst->status != EHC_DEADLINE_OPEN || !key_matches(c->ev, c->key, inst)) continue;
        ehc_effect_kind kind;
        if (ref_matches(dl->met_by, dl->met_by_count, c->event, c->vals)) {
            const bool late = !dl->earliest && ehc_date_compare(c->effective_on, inst->due_on) > 0;
            inst->status = late ? EHC_DEADLINE_MET_LATE : EHC_DEADLINE_MET;
            kind = late ? EHC_EFFECT_DEADLINE_MET_LATE : EHC_EFFECT_DEADLINE_MET;
        } else if (c->ev->cancels_all_clocks ||
                   ref_matches(dl->cancelled_by, dl->cancelled_by_count, c->event, c->vals)) {
            inst->status = EHC_DEADLINE_CANCELLED;
            kind = EHC_EFFECT_DEADLINE_CANCELLED;
        } else {
            continue;
        }
        inst->settled_on = c->effective_on;
        inst->settled_by_seq = seq;
        ehc_effect *e = push_effect(fx, kind);
        fill_deadline_effect(e, dl, inst, i);
        e->on = c->effective_on;
        if (kind == EHC_EFFECT_DEADLINE_MET_LATE)
            e->days_late = ehc_date_days_between(inst->due_on, c->effective_on);
        fill_deadline_effect(push_effect(fx, EHC_EFFECT_ALERTS_RESOLVE), dl, inst, i);
    }
}

static void put_report(ehc_case_state *next, ehc_effects *fx, const char *item, const char *value,
                       ehc_date on)
{
    size_t i = 0;
    while (i < next->report_count && strcmp(next->reports[i].item, item) != 0)
        i++;
    if (i == next->report_count) {
        next->reports = ehc_realloc(next->reports, (next->report_count + 1) * sizeof *next->reports);
        memset(&next->reports[i], 0, sizeof next->reports[i]);
        next->reports[next->report_count++].item = item;
    }
    snprintf(next->reports[i].value, sizeof next->reports[i].value, "%s", value);
    ehc_effect *e = push_effect(fx, EHC_EFFECT_REPORT_SET);
    e->report_item = item;
    snprintf(e->report_value, sizeof e->report_value, "%s", value);
    e->on = on;
}

static const char *report_value(const ehc_case_state *s, const char *item)
{
    for (size_t i = 0; i < s->report_count; i++) {
        if (strcmp(s->reports[i].item, item) == 0) return s->reports[i].value;
    }
    return NULL;
}

/* The clock's start date (its origin field's date, or the event's) and due date (length, the later
 * of any "later_of" terms, then the tribunal roll-overs). *starts is false when it does not start. */
static int clock_dates(apply_ctx *c, const ehc_wf_deadline *dl, bool *starts, ehc_date *start, ehc_date *due)
{
    *starts = when_holds(&dl->origin_when, c->vals);
    *start = c->effective_on;
    if (*starts && dl->origin_field != EHC_WF_NONE) {
        const char *v = c->vals[dl->origin_field];
        *starts = v != NULL;
        if (v && ehc_date_parse_iso(v, start) != 0) return EHC_EINVAL;
    }
    if (!*starts) return 0;
    int rc = compute_date(c->env, length_for(c->env, dl), *start, due);
    for (size_t t = 0; rc == 0 && t < dl->later_of_count; t++) {
        const ehc_wf_later_term *term = &dl->later_of[t];
        ehc_date from = *start, candidate;
        if (term->field != EHC_WF_NONE) {
            if (!c->vals[term->field]) continue;
            if (ehc_date_parse_iso(c->vals[term->field], &from) != 0) return EHC_EINVAL;
        }
        candidate = from;
        if (!term->on_the_date) rc = compute_date(c->env, &term->length, from, &candidate);
        if (rc == 0) *due = ehc_date_later(*due, candidate);
    }
    if (rc == 0) rc = roll_over(c->env, dl, *due, due);
    return rc ? uncomputable(c, dl, *start, rc) : 0;
}

static int start_clocks(apply_ctx *c, ehc_case_state *next, ehc_effects *fx, uint32_t seq)
{
    for (size_t d = 0; d < ehc_workflow_deadline_count(c->wf); d++) {
        const ehc_wf_deadline *dl = ehc_workflow_deadline(c->wf, d);
        if (dl->origin_event != c->event) continue;
        bool starts = false;
        ehc_date start, due;
        int rc = clock_dates(c, dl, &starts, &start, &due);
        if (rc) return rc;
        if (!starts) continue;
        const char *key = dl->per_key ? c->key : "";
        for (size_t i = 0; i < next->deadline_count; i++) {
            const ehc_deadline_instance *o = &next->deadlines[i];
            if (o->deadline == d && o->status == EHC_DEADLINE_OPEN && strcmp(o->key, key) == 0) {
                const char *kname = dl->per_key ? c->ev->fields[c->ev->key_field].id : "";
                return refuse(c->err, EHC_MACHINE_E_DUPLICATE_KEY, kname, dl->basis,
                              "deadline '%s'%s%s%s%s is already running: a key starts one clock", dl->id,
                              *key ? " for " : "", kname, *key ? " " : "", key);
            }
        }
        next->deadlines = ehc_realloc(next->deadlines, (next->deadline_count + 1) * sizeof *next->deadlines);
        ehc_deadline_instance *inst = &next->deadlines[next->deadline_count];
        memset(inst, 0, sizeof *inst);
        inst->deadline = d;
        snprintf(inst->key, sizeof inst->key, "%s", key);
        inst->started_by_seq = seq;
        inst->started_on = start;
        inst->due_on = due;
        inst->status = EHC_DEADLINE_OPEN;
        inst->exception = EHC_WF_NONE;
        ehc_effect *e = push_effect(fx, EHC_EFFECT_DEADLINE_SET);
        fill_deadline_effect(e, dl, inst, next->deadline_count);
        e->on = due;
        next->deadline_count++;
        if (dl->exception_report && !report_value(next, dl->exception_report))
            put_report(next, fx, dl->exception_report, "0", c->effective_on);
    }
    return 0;
}

/* SEN2 keeps the first decided outcome: once RequestOutcome / AssessmentOutcome holds a code other
 * than A (pending), a later event (a decision changed after mediation or by the tribunal) leaves it
 * and its date alone; the workflow sets the mediation/tribunal flags instead (statute notes s7). */
static bool report_locked(const ehc_case_state *before, const char *item)
{
    static const char *const outcomes[][2] = {{"RequestOutcome", "RequestOutcomeDate"},
                                              {"AssessmentOutcome", "AssessmentOutcomeDate"}};
    for (size_t i = 0; i < EHC_ARRAY_SIZE(outcomes); i++) {
        if (strcmp(item, outcomes[i][0]) != 0 && strcmp(item, outcomes[i][1]) != 0) continue;
        const char *v = report_value(before, outcomes[i][0]);
        return v && strcmp(v, "A") != 0;
    }
    return false;
}

static void set_reports(apply_ctx *c, ehc_case_state *next, ehc_effects *fx)
{
    for (size_t r = 0; r < c->ev->report_count; r++) {
        const ehc_wf_report *rep = &c->ev->reports[r];
        if (!when_holds(&rep->when, c->vals) || report_locked(c->state, rep->item)) continue;
        char value[EHC_DATE_ISO_SIZE];
        if (rep->value_is_effective_date) {
            ehc_date_format_iso(c->effective_on, value);
        } else {
            snprintf(value, sizeof value, "%s", rep->value);
        }
        put_report(next, fx, rep->item, value, c->effective_on);
    }
}

static void append_record(ehc_case_state *next, const apply_ctx *c, const ehc_event_input *in, uint32_t seq)
{
    next->events = ehc_realloc(next->events, (next->event_count + 1) * sizeof *next->events);
    ehc_case_event *rec = &next->events[next->event_count++];
    memset(rec, 0, sizeof *rec);
    rec->seq = seq;
    rec->event = c->event;
    snprintf(rec->type, sizeof rec->type, "%s", c->ev->id);
    snprintf(rec->role, sizeof rec->role, "%s", in->actor_role ? in->actor_role : "");
    rec->effective_on = c->effective_on;
    snprintf(rec->key, sizeof rec->key, "%s", c->key);
    rec->fields = ehc_calloc(in->field_count ? in->field_count : 1, sizeof *rec->fields);
    for (size_t i = 0; i < in->field_count; i++) {
        rec->fields[i].field = ehc_strdup(in->fields[i].field);
        rec->fields[i].value = ehc_strdup(in->fields[i].value);
    }
    rec->field_count = in->field_count;
    rec->supersedes_seq = in->supersedes_seq;
    rec->correction_reason = in->correction_reason ? ehc_strdup(in->correction_reason) : NULL;
}

static const char *env_calendar_hash(const ehc_machine_env *env, const ehc_workflow *wf)
{
    const ehc_calendar *cal = NULL;
    return find_calendar(env, wf, &cal) == 0 ? ehc_calendar_content_hash(cal) : "";
}

/* One ordinary event, numbered seq: all the checks, then the next state and its effects. */
static int step(const ehc_machine_env *env, const ehc_case_state *state, const ehc_event_input *event,
                uint32_t seq, bool replaying, ehc_case_state *next, ehc_effects *effects,
                ehc_machine_error *err)
{
    memset(next, 0, sizeof *next);
    memset(effects, 0, sizeof *effects);
    apply_ctx c = {
        .env = env, .wf = env->workflow, .state = state, .key = "", .replaying = replaying, .err = err};
    int rc = check_event_and_role(&c, event);
    if (rc) return rc;
    const char **vals = ehc_calloc(c.ev->field_count ? c.ev->field_count : 1, sizeof *vals);
    c.vals = vals;
    size_t x_instance = EHC_WF_NONE, x_exception = EHC_WF_NONE;
    rc = read_fields(c.ev, event, vals, err);
    if (rc == 0 && c.ev->key_field != EHC_WF_NONE) c.key = vals[c.ev->key_field];
    if (rc == 0) rc = check_dates(&c, event);
    if (rc == 0) rc = choose_transition(&c);
    if (rc == 0 && c.ev->records_exception) rc = find_exception_target(&c, &x_instance, &x_exception);
    if (rc == 0) rc = check_earliest(&c);
    if (rc) {
        free(vals);
        return rc;
    }

    ehc_case_state_copy(state, next);
    append_record(next, &c, event, seq);
    if (!state->opened) {
        next->opened = true;
        next->origin_on = c.effective_on;
        snprintf(next->workflow_hash, sizeof next->workflow_hash, "%s", ehc_workflow_content_hash(c.wf));
        snprintf(next->calendar_hash, sizeof next->calendar_hash, "%s", env_calendar_hash(env, c.wf));
    }
    rc = extend_clocks(&c, next, effects);
    if (rc == 0) {
        settle_clocks(&c, next, effects, seq);
        rc = start_clocks(&c, next, effects, seq);
    }
    if (rc) {
        free(vals);
        ehc_case_state_free(next);
        ehc_effects_free(effects);
        return rc;
    }
    if (x_instance != EHC_WF_NONE) {
        ehc_deadline_instance *inst = &next->deadlines[x_instance];
        const ehc_wf_deadline *dl = ehc_workflow_deadline(c.wf, inst->deadline);
        inst->exception = x_exception;
        inst->exception_seq = seq;
        ehc_effect *e = push_effect(effects, EHC_EFFECT_EXCEPTION_APPLIED);
        fill_deadline_effect(e, dl, inst, x_instance);
        e->on = c.effective_on;
        e->exception = dl->exceptions[x_exception].id;
        e->exception_basis = dl->exceptions[x_exception].basis;
        if (dl->exception_report) put_report(next, effects, dl->exception_report, "1", c.effective_on);
    }
    set_reports(&c, next, effects);
    if (c.ev->stops_letters && !next->letters_stopped) {
        next->letters_stopped = true;
        push_effect(effects, EHC_EFFECT_LETTERS_STOPPED)->on = c.effective_on;
    }
    if (c.to_stage != state->stage) {
        ehc_effect *e = push_effect(effects, EHC_EFFECT_STAGE_CHANGED);
        e->from_stage = ehc_workflow_stage(c.wf, state->stage)->id;
        e->to_stage = ehc_workflow_stage(c.wf, c.to_stage)->id;
        e->on = c.effective_on;
        next->stage = c.to_stage;
    }
    free(vals);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Rebuilding by replay (corrections, definitions_updated) and reporting the differences */

/* The record that stands for log[i] in the law of the case: the last correction in its chain, or
 * NULL when log[i] is itself a correction (applied at the place of the event it replaces) or a
 * native kind. */
static const ehc_case_event *standing_record(const ehc_case_event *log, size_t count, size_t i)
{
    const ehc_case_event *r = &log[i];
    if (r->supersedes_seq != 0 || r->event == EHC_WF_NONE) return NULL;
    while (r->superseded_by_seq != 0) {
        const ehc_case_event *next = NULL;
        for (size_t j = 0; j < count && !next; j++) {
            if (log[j].seq == r->superseded_by_seq) next = &log[j];
        }
        if (!next) return NULL;
        r = next;
    }
    return r;
}

/* Replays `log` (whose event indexes are for env->workflow) into *out. The log is kept whole in the
 * result, superseded events and native kinds included; effective dates are re-derived. */
static int rebuild(const ehc_machine_env *env, ehc_case_event *log, size_t count, ehc_case_state *out,
                   ehc_machine_error *err)
{
    ehc_case_state cur;
    ehc_case_state_init(env->workflow, &cur);
    for (size_t i = 0; i < count; i++) {
        ehc_case_event *r = (ehc_case_event *)standing_record(log, count, i);
        if (!r) continue;
        const ehc_wf_event *ev = ehc_workflow_event(env->workflow, r->event);
        ehc_field_value *fields = ehc_calloc(r->field_count ? r->field_count : 1, sizeof *fields);
        for (size_t f = 0; f < r->field_count; f++) {
            fields[f].field = r->fields[f].field;
            fields[f].value = r->fields[f].value;
        }
        const ehc_event_input in = {.type = r->type,
                                    .actor_role = r->role,
                                    .effective_on = r->effective_on,
                                    .derive_effective_on =
                                        ev->effective_field != EHC_WF_NONE || ev->deemed_receipt,
                                    .fields = fields,
                                    .field_count = r->field_count};
        ehc_case_state next;
        ehc_effects fx;
        const int rc = step(env, &cur, &in, r->seq, true, &next, &fx, err);
        free(fields);
        ehc_effects_free(&fx);
        if (rc) {
            char message[sizeof err->message];
            snprintf(message, sizeof message, "%s", err->message);
            snprintf(err->message, sizeof err->message, "replaying event %u %.63s: %.400s", (unsigned)r->seq,
                     r->type, message);
            ehc_case_state_free(&cur);
            return rc;
        }
        r->effective_on = next.events[next.event_count - 1].effective_on;
        ehc_case_state_free(&cur);
        cur = next;
    }
    free_records(cur.events, cur.event_count);
    cur.events = copy_records(log, count);
    cur.event_count = count;
    *out = cur;
    return 0;
}

/* The n-th instance (0-based) of deadline id `id` with `key` in a state, or NONE. */
static size_t nth_instance(const ehc_workflow *wf, const ehc_case_state *s, const char *id, const char *key,
                           size_t n)
{
    for (size_t i = 0; i < s->deadline_count; i++) {
        const ehc_deadline_instance *d = &s->deadlines[i];
        if (strcmp(ehc_workflow_deadline(wf, d->deadline)->id, id) != 0 || strcmp(d->key, key) != 0) continue;
        if (n-- == 0) return i;
    }
    return EHC_WF_NONE;
}

static size_t ordinal_of(const ehc_workflow *wf, const ehc_case_state *s, size_t index)
{
    const ehc_deadline_instance *me = &s->deadlines[index];
    size_t n = 0;
    for (size_t i = 0; i < index; i++) {
        const ehc_deadline_instance *d = &s->deadlines[i];
        n += d->deadline == me->deadline && strcmp(d->key, me->key) == 0;
    }
    (void)wf;
    return n;
}

static ehc_effect_kind settled_kind(ehc_deadline_status status)
{
    return status == EHC_DEADLINE_MET        ? EHC_EFFECT_DEADLINE_MET
           : status == EHC_DEADLINE_MET_LATE ? EHC_EFFECT_DEADLINE_MET_LATE
                                             : EHC_EFFECT_DEADLINE_CANCELLED;
}

static void settled_effects(ehc_effects *fx, const ehc_wf_deadline *dl, const ehc_deadline_instance *inst,
                            size_t i)
{
    ehc_effect *e = push_effect(fx, settled_kind(inst->status));
    fill_deadline_effect(e, dl, inst, i);
    e->on = inst->settled_on;
    if (inst->status == EHC_DEADLINE_MET_LATE)
        e->days_late = ehc_date_days_between(inst->due_on, inst->settled_on);
    fill_deadline_effect(push_effect(fx, EHC_EFFECT_ALERTS_RESOLVE), dl, inst, i);
}

/* What changed between two versions of a case: stage, each clock (matched by deadline id, key and
 * order), exceptions, SEN2 items. */
static void diff_states(const ehc_workflow *old_wf, const ehc_case_state *old, const ehc_workflow *new_wf,
                        const ehc_case_state *now, ehc_date on, ehc_effects *fx)
{
    for (size_t i = 0; i < now->deadline_count; i++) {
        const ehc_deadline_instance *d = &now->deadlines[i];
        const ehc_wf_deadline *dl = ehc_workflow_deadline(new_wf, d->deadline);
        const size_t j = nth_instance(old_wf, old, dl->id, d->key, ordinal_of(new_wf, now, i));
        const ehc_deadline_instance *o = j == EHC_WF_NONE ? NULL : &old->deadlines[j];
        if (!o || (o->status != EHC_DEADLINE_OPEN && d->status == EHC_DEADLINE_OPEN)) {
            ehc_effect *e = push_effect(fx, EHC_EFFECT_DEADLINE_SET);
            fill_deadline_effect(e, dl, d, i);
            e->on = d->due_on;
            if (d->status != EHC_DEADLINE_OPEN) settled_effects(fx, dl, d, i);
        } else if (o->due_on.days != d->due_on.days) {
            ehc_effect *e = push_effect(fx, EHC_EFFECT_DEADLINE_RECOMPUTED);
            fill_deadline_effect(e, dl, d, i);
            e->on = d->due_on;
            e->previous_due_on = o->due_on;
        }
        if (o && o->status != d->status && d->status != EHC_DEADLINE_OPEN) settled_effects(fx, dl, d, i);
        const bool had = o && o->exception != EHC_WF_NONE;
        if (d->exception != EHC_WF_NONE &&
            (!had || strcmp(ehc_workflow_deadline(old_wf, o->deadline)->exceptions[o->exception].id,
                            dl->exceptions[d->exception].id) != 0)) {
            ehc_effect *e = push_effect(fx, EHC_EFFECT_EXCEPTION_APPLIED);
            fill_deadline_effect(e, dl, d, i);
            e->on = on;
            e->exception = dl->exceptions[d->exception].id;
            e->exception_basis = dl->exceptions[d->exception].basis;
        }
    }
    for (size_t j = 0; j < old->deadline_count; j++) {
        const ehc_deadline_instance *o = &old->deadlines[j];
        const ehc_wf_deadline *odl = ehc_workflow_deadline(old_wf, o->deadline);
        if (o->status != EHC_DEADLINE_OPEN) continue;
        size_t dummy;
        const bool exists_now =
            ehc_workflow_find_deadline(new_wf, odl->id, &dummy) == 0 &&
            nth_instance(new_wf, now, odl->id, o->key, ordinal_of(old_wf, old, j)) != EHC_WF_NONE;
        if (exists_now) continue;
        /* A clock that no longer runs: its alerts stop. */
        ehc_effect *e = push_effect(fx, EHC_EFFECT_DEADLINE_CANCELLED);
        fill_deadline_effect(e, odl, o, EHC_WF_NONE);
        e->on = on;
        fill_deadline_effect(push_effect(fx, EHC_EFFECT_ALERTS_RESOLVE), odl, o, EHC_WF_NONE);
    }
    for (size_t i = 0; i < now->report_count; i++) {
        const char *was = report_value(old, now->reports[i].item);
        if (!was || strcmp(was, now->reports[i].value) != 0) {
            ehc_effect *e = push_effect(fx, EHC_EFFECT_REPORT_SET);
            e->report_item = now->reports[i].item;
            memcpy(e->report_value, now->reports[i].value, sizeof e->report_value);
            e->on = on;
        }
    }
    for (size_t i = 0; i < old->report_count; i++) {
        if (report_value(now, old->reports[i].item)) continue;
        /* Cleared by the rebuild: reported with an empty value. */
        ehc_effect *e = push_effect(fx, EHC_EFFECT_REPORT_SET);
        e->report_item = old->reports[i].item;
        e->on = on;
    }
    if (now->letters_stopped && !old->letters_stopped) push_effect(fx, EHC_EFFECT_LETTERS_STOPPED)->on = on;
    const char *from = ehc_workflow_stage(old_wf, old->stage)->id;
    const char *to = ehc_workflow_stage(new_wf, now->stage)->id;
    if (strcmp(from, to) != 0) {
        ehc_effect *e = push_effect(fx, EHC_EFFECT_STAGE_CHANGED);
        e->from_stage = from;
        e->to_stage = to;
        e->on = on;
    }
}

static int check_pins(const ehc_machine_env *env, const ehc_case_state *state, ehc_machine_error *err)
{
    if (!state->opened) return 0;
    const char *wf_hash = ehc_workflow_content_hash(env->workflow);
    const char *cal_hash = env_calendar_hash(env, env->workflow);
    if (strcmp(state->workflow_hash, wf_hash) == 0 && strcmp(state->calendar_hash, cal_hash) == 0) return 0;
    return refuse(
        err, EHC_MACHINE_E_DEFINITIONS_MISMATCH, "", "",
        "this case runs under workflow %.12s... and calendar %.12s...; the loaded ones are %.12s... "
        "and %.12s...: a manager records '%s' to move it to them",
        state->workflow_hash, state->calendar_hash, wf_hash, cal_hash, EHC_MACHINE_DEFINITIONS_UPDATED);
}

/* A correction: the new event replaces event `supersedes_seq`, the log is replayed with it in that
 * place, and the differences are the effects. */
static int apply_correction(const ehc_machine_env *env, const ehc_case_state *state,
                            const ehc_event_input *in, ehc_case_state *next, ehc_effects *fx,
                            ehc_machine_error *err)
{
    const ehc_workflow *wf = env->workflow;
    static const unsigned approvers = EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER | EHC_ROLE_ADMIN;
    char safe[80];
    quote_text(safe, sizeof safe, in->actor_role);
    if (!role_may(in->actor_role, approvers)) {
        return refuse(
            err, EHC_MACHINE_E_ROLE_FORBIDDEN, "", "",
            "role '%s' may not approve a correction (roles allowed: manager, service_manager, admin)", safe);
    }
    if (!in->correction_reason || !*in->correction_reason) {
        return refuse(err, EHC_MACHINE_E_CORRECTION_INVALID, "correction_reason", "",
                      "a correction must give its reason");
    }
    size_t target = EHC_WF_NONE, event;
    for (size_t i = 0; i < state->event_count; i++) {
        if (state->events[i].seq == in->supersedes_seq) target = i;
    }
    if (target == EHC_WF_NONE || state->events[target].event == EHC_WF_NONE ||
        state->events[target].superseded_by_seq != 0) {
        return refuse(err, EHC_MACHINE_E_CORRECTION_INVALID, "supersedes_seq", "",
                      "event %u cannot be corrected: %s", (unsigned)in->supersedes_seq,
                      target == EHC_WF_NONE                        ? "there is no such event"
                      : state->events[target].event == EHC_WF_NONE ? "it is not an event of the process"
                                                                   : "it has already been superseded");
    }
    quote_text(safe, sizeof safe, in->type);
    if (!in->type || ehc_workflow_find_event(wf, in->type, &event) != 0) {
        return refuse(err, EHC_MACHINE_E_UNKNOWN_EVENT, "", "", "workflow '%s' has no event '%s'",
                      ehc_workflow_id(wf), safe);
    }
    const ehc_wf_event *ev = ehc_workflow_event(wf, event);
    const uint32_t seq = (uint32_t)state->event_count + 1;
    ehc_case_event *log = ehc_calloc(state->event_count + 1, sizeof *log);
    for (size_t i = 0; i < state->event_count; i++)
        copy_record(&state->events[i], &log[i]);
    log[target].superseded_by_seq = seq;
    ehc_case_event *rec = &log[state->event_count];
    rec->seq = seq;
    rec->event = event;
    snprintf(rec->type, sizeof rec->type, "%s", ev->id);
    snprintf(rec->role, sizeof rec->role, "%s", in->actor_role);
    rec->effective_on = in->effective_on;
    rec->fields = ehc_calloc(in->field_count ? in->field_count : 1, sizeof *rec->fields);
    for (size_t i = 0; i < in->field_count; i++) {
        rec->fields[i].field = ehc_strdup(in->fields[i].field ? in->fields[i].field : "");
        rec->fields[i].value = ehc_strdup(in->fields[i].value ? in->fields[i].value : "");
    }
    rec->field_count = in->field_count;
    rec->supersedes_seq = in->supersedes_seq;
    rec->correction_reason = ehc_strdup(in->correction_reason);
    if (ev->key_field != EHC_WF_NONE) {
        const char *k = record_value(rec, ev->fields[ev->key_field].id);
        snprintf(rec->key, sizeof rec->key, "%s", k ? k : "");
    }
    const ehc_date given = in->effective_on;
    const bool derived = ev->effective_field != EHC_WF_NONE || ev->deemed_receipt;
    int rc = rebuild(env, log, state->event_count + 1, next, err);
    free_records(log, state->event_count + 1);
    if (rc == 0 && derived && !in->derive_effective_on &&
        next->events[state->event_count].effective_on.days != given.days) {
        ehc_case_state_free(next);
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, "effective_on", "",
                      "effective_on disagrees with the date the corrected event's fields give");
    }
    if (rc) {
        const ehc_machine_error copy = *err;
        refuse(err, EHC_MACHINE_E_CORRECTION_INVALID, copy.field, copy.rule,
               "the correction cannot stand (%s): %.420s", ehc_machine_error_name(copy.code), copy.message);
        memset(next, 0, sizeof *next);
        return rc;
    }
    ehc_effect *e = push_effect(fx, EHC_EFFECT_EVENT_SUPERSEDED);
    e->seq = in->supersedes_seq;
    e->on = in->effective_on;
    diff_states(wf, state, wf, next, in->effective_on, fx);
    return 0;
}

/* Appends a native kind's record (definitions_updated, case_allocated) to the log of `next`. */
static void append_native_record(ehc_case_state *next, const char *type, const ehc_event_input *in)
{
    next->events = ehc_realloc(next->events, (next->event_count + 1) * sizeof *next->events);
    ehc_case_event *rec = &next->events[next->event_count];
    memset(rec, 0, sizeof *rec);
    rec->seq = (uint32_t)next->event_count + 1;
    rec->event = EHC_WF_NONE;
    snprintf(rec->type, sizeof rec->type, "%s", type);
    snprintf(rec->role, sizeof rec->role, "%s", in->actor_role);
    rec->effective_on = in->effective_on;
    rec->fields = ehc_calloc(in->field_count ? in->field_count : 1, sizeof *rec->fields);
    for (size_t i = 0; i < in->field_count; i++) {
        rec->fields[i].field = ehc_strdup(in->fields[i].field);
        rec->fields[i].value = ehc_strdup(in->fields[i].value ? in->fields[i].value : "");
    }
    rec->field_count = in->field_count;
    next->event_count++;
}

static int apply_definitions_updated(const ehc_machine_env *env, const ehc_case_state *state,
                                     const ehc_event_input *in, ehc_case_state *next, ehc_effects *fx,
                                     ehc_machine_error *err)
{
    static const unsigned roles = EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER | EHC_ROLE_ADMIN;
    char safe[80];
    quote_text(safe, sizeof safe, in->actor_role);
    if (!role_may(in->actor_role, roles)) {
        return refuse(err, EHC_MACHINE_E_ROLE_FORBIDDEN, "", "",
                      "role '%s' may not record '%s' (roles allowed: manager, service_manager, admin)", safe,
                      EHC_MACHINE_DEFINITIONS_UPDATED);
    }
    if (!state->opened) {
        return refuse(err, EHC_MACHINE_E_NOT_OPENED, "", "", "the case is not open: nothing to recompute");
    }
    if (env->replay) {
        ehc_case_state_copy(state, next);
        append_native_record(next, EHC_MACHINE_DEFINITIONS_UPDATED, in);
        return 0;
    }
    const ehc_workflow *prev = env->previous_workflow ? env->previous_workflow : env->workflow;
    if (strcmp(ehc_workflow_content_hash(prev), state->workflow_hash) != 0) {
        return refuse(err, EHC_MACHINE_E_DEFINITIONS_MISMATCH, "", "",
                      "the previous workflow given is not the version this case runs under (%.12s...)",
                      state->workflow_hash);
    }
    if (ehc_workflow_stage(prev, state->stage)->final) {
        return refuse(err, EHC_MACHINE_E_NOT_ALLOWED, "", "",
                      "the case is closed (stage '%s'): it keeps the definitions it closed under",
                      ehc_workflow_stage(prev, state->stage)->id);
    }
    const char *wf_hash = ehc_workflow_content_hash(env->workflow);
    const char *cal_hash = env_calendar_hash(env, env->workflow);
    const char *given_wf = NULL, *given_cal = NULL;
    for (size_t i = 0; i < in->field_count; i++) {
        const char *f = in->fields[i].field ? in->fields[i].field : "";
        if (strcmp(f, "workflow_hash") == 0 && !given_wf) {
            given_wf = in->fields[i].value;
        } else if (strcmp(f, "calendar_hash") == 0 && !given_cal) {
            given_cal = in->fields[i].value;
        } else if (strcmp(f, "note") != 0) {
            quote_text(safe, sizeof safe, f);
            return refuse(err, EHC_MACHINE_E_FIELD_UNKNOWN, safe, "", "event '%s' has no field '%s'",
                          EHC_MACHINE_DEFINITIONS_UPDATED, safe);
        }
    }
    if (!given_wf || !given_cal) {
        return refuse(err, EHC_MACHINE_E_FIELD_MISSING, given_wf ? "calendar_hash" : "workflow_hash", "",
                      "'%s' names the new workflow_hash and calendar_hash", EHC_MACHINE_DEFINITIONS_UPDATED);
    }
    if (strcmp(given_wf, wf_hash) != 0 || strcmp(given_cal, cal_hash) != 0) {
        return refuse(
            err, EHC_MACHINE_E_DEFINITIONS_MISMATCH,
            strcmp(given_wf, wf_hash) ? "workflow_hash" : "calendar_hash", "",
            "the hashes named are not those of the loaded workflow (%.12s...) and calendar (%.12s...)",
            wf_hash, cal_hash);
    }
    if (strcmp(wf_hash, state->workflow_hash) == 0 && strcmp(cal_hash, state->calendar_hash) == 0) {
        return refuse(err, EHC_MACHINE_E_NOT_ALLOWED, "", "",
                      "the case already runs under these definitions");
    }
    if (!ehc_date_is_valid(in->effective_on) || in->effective_on.days > env->today.days ||
        in->effective_on.days < state->origin_on.days) {
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, "effective_on", "",
                      "'%s' must take effect between the case's start and today",
                      EHC_MACHINE_DEFINITIONS_UPDATED);
    }
    /* The log under the new workflow's event numbering. */
    ehc_case_event *log = copy_records(state->events, state->event_count);
    int rc = 0;
    for (size_t i = 0; i < state->event_count && rc == 0; i++) {
        if (log[i].event == EHC_WF_NONE) continue;
        if (ehc_workflow_find_event(env->workflow, log[i].type, &log[i].event) != 0) {
            rc =
                refuse(err, EHC_MACHINE_E_DEFINITIONS_MISMATCH, "", "",
                       "event %u '%s' does not exist in the new workflow", (unsigned)log[i].seq, log[i].type);
        }
    }
    if (rc == 0) rc = rebuild(env, log, state->event_count, next, err);
    free_records(log, state->event_count);
    if (rc) {
        memset(next, 0, sizeof *next);
        return rc;
    }
    append_native_record(next, EHC_MACHINE_DEFINITIONS_UPDATED, in);
    snprintf(next->workflow_hash, sizeof next->workflow_hash, "%s", wf_hash);
    snprintf(next->calendar_hash, sizeof next->calendar_hash, "%s", cal_hash);
    ehc_effect *e = push_effect(fx, EHC_EFFECT_DEFINITIONS_PINNED);
    e->on = in->effective_on;
    e->workflow_hash = wf_hash;
    e->calendar_hash = cal_hash;
    diff_states(prev, state, env->workflow, next, in->effective_on, fx);
    return 0;
}

/* A positive decimal id of at most 15 digits (a database row id given as a field value). */
static bool is_row_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 15 || s[0] == '0') return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* case_allocated: the case moves to a team and an officer (or back to the team's unallocated queue).
 * Not a step of the law: stage and clocks stay as they are; the event exists so that every change to
 * a case, who holds it included, is in its log. */
static int apply_allocated(const ehc_machine_env *env, const ehc_case_state *state, const ehc_event_input *in,
                           ehc_case_state *next, ehc_machine_error *err)
{
    static const unsigned roles = EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER;
    char safe[80];
    quote_text(safe, sizeof safe, in->actor_role);
    if (!role_may(in->actor_role, roles)) {
        return refuse(err, EHC_MACHINE_E_ROLE_FORBIDDEN, "", "",
                      "role '%s' may not record '%s' (roles allowed: manager, service_manager)", safe,
                      EHC_MACHINE_CASE_ALLOCATED);
    }
    if (!state->opened) {
        return refuse(err, EHC_MACHINE_E_NOT_OPENED, "", "", "the case is not open: nothing to allocate");
    }
    if (ehc_workflow_stage(env->workflow, state->stage)->final) {
        return refuse(err, EHC_MACHINE_E_NOT_ALLOWED, "", "",
                      "the case is closed (stage '%s'): it stays with %s",
                      ehc_workflow_stage(env->workflow, state->stage)->id, "whoever held it");
    }
    const char *team = NULL, *officer = NULL;
    for (size_t i = 0; i < in->field_count; i++) {
        const char *f = in->fields[i].field ? in->fields[i].field : "";
        const char *v = in->fields[i].value ? in->fields[i].value : "";
        if (strcmp(f, "team_id") == 0 && !team) {
            team = v;
        } else if (strcmp(f, "officer_id") == 0 && !officer) {
            officer = v;
        } else if (strcmp(f, "reason") == 0) {
            if (strlen(v) > 500)
                return refuse(err, EHC_MACHINE_E_FIELD_INVALID, "reason", "",
                              "reason: at most 500 characters");
        } else {
            quote_text(safe, sizeof safe, f);
            return refuse(err, EHC_MACHINE_E_FIELD_UNKNOWN, safe, "", "event '%s' has no field '%s'",
                          EHC_MACHINE_CASE_ALLOCATED, safe);
        }
    }
    if (!team) {
        return refuse(err, EHC_MACHINE_E_FIELD_MISSING, "team_id", "", "'%s' names the team (team_id)",
                      EHC_MACHINE_CASE_ALLOCATED);
    }
    if (!is_row_id(team) || (officer && *officer && !is_row_id(officer))) {
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, is_row_id(team) ? "officer_id" : "team_id", "",
                      "'%s' must be a positive whole number", is_row_id(team) ? "officer_id" : "team_id");
    }
    if (!ehc_date_is_valid(in->effective_on) || in->effective_on.days > env->today.days ||
        in->effective_on.days < state->origin_on.days) {
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, "effective_on", "",
                      "'%s' must take effect between the case's start and today", EHC_MACHINE_CASE_ALLOCATED);
    }
    ehc_case_state_copy(state, next);
    append_native_record(next, EHC_MACHINE_CASE_ALLOCATED, in);
    return 0;
}

/* letter_sent: a letter's sending to one recipient, in the case's log (EHC_MACHINE_LETTER_SENT). */
static int apply_letter_sent(const ehc_machine_env *env, const ehc_case_state *state,
                             const ehc_event_input *in, ehc_case_state *next, ehc_machine_error *err)
{
    static const unsigned roles = EHC_ROLE_OFFICER | EHC_ROLE_MANAGER | EHC_ROLE_SERVICE_MANAGER;
    static const char *const names[] = {"letter_id", "notice", "recipient", "method", "sent_at", "served_on"};
    char safe[80];
    quote_text(safe, sizeof safe, in->actor_role);
    if (!role_may(in->actor_role, roles)) {
        return refuse(err, EHC_MACHINE_E_ROLE_FORBIDDEN, "", "",
                      "role '%s' may not record '%s' (roles allowed: officer, manager, service_manager)",
                      safe, EHC_MACHINE_LETTER_SENT);
    }
    if (!state->opened) {
        return refuse(err, EHC_MACHINE_E_NOT_OPENED, "", "", "the case is not open: no letter to record");
    }
    if (ehc_workflow_stage(env->workflow, state->stage)->final || state->letters_stopped) {
        return refuse(err, EHC_MACHINE_E_NOT_ALLOWED, "", "", "%s",
                      state->letters_stopped ? "this case's letters have stopped for good"
                                             : "the case is closed: no more letters are recorded on it");
    }
    const char *v[6] = {0};
    for (size_t i = 0; i < in->field_count; i++) {
        const char *f = in->fields[i].field ? in->fields[i].field : "";
        size_t k = 0;
        while (k < 6 && strcmp(names[k], f) != 0)
            k++;
        if (k == 6 || v[k]) {
            quote_text(safe, sizeof safe, f);
            return refuse(err, EHC_MACHINE_E_FIELD_UNKNOWN, safe, "",
                          "event '%s' has no field '%s' (or it is given twice)", EHC_MACHINE_LETTER_SENT,
                          safe);
        }
        v[k] = in->fields[i].value ? in->fields[i].value : "";
    }
    for (size_t k = 0; k < 6; k++) {
        if (!v[k] || !*v[k])
            return refuse(err, EHC_MACHINE_E_FIELD_MISSING, names[k], "", "'%s' needs '%s'",
                          EHC_MACHINE_LETTER_SENT, names[k]);
    }
    ehc_receipt_channel channel;
    ehc_date sent_on, served_on, deemed;
    int minute = 0;
    if (!is_row_id(v[0])) {
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, "letter_id", "",
                      "'letter_id' must be a positive whole number");
    }
    if (strlen(v[1]) > 63 || strlen(v[2]) > 63) {
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, strlen(v[1]) > 63 ? "notice" : "recipient", "",
                      "'notice' and 'recipient' are ids of at most 63 characters");
    }
    if (ehc_receipt_channel_parse(v[3], &channel) != 0) {
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, "method", "",
                      "'method' must be hand, email, first_class_post or signed_for");
    }
    if (ehc_date_parse_local_datetime(v[4], &sent_on, &minute) != 0) {
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, "sent_at", "", "'sent_at' must be YYYY-MM-DDTHH:MM");
    }
    if (ehc_date_parse_iso(v[5], &served_on) != 0) {
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, "served_on", "", "'served_on' must be YYYY-MM-DD");
    }
    if (!ehc_date_is_valid(in->effective_on) || in->effective_on.days != sent_on.days ||
        in->effective_on.days > env->today.days || in->effective_on.days < state->origin_on.days) {
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, "effective_on", "",
                      "'%s' takes effect on the day the letter was sent, between the case's start and today",
                      EHC_MACHINE_LETTER_SENT);
    }
    const ehc_calendar *cal = NULL;
    int rc = find_calendar(env, env->workflow, &cal);
    if (rc == 0) rc = ehc_calendar_deemed_receipt(cal, channel, sent_on, minute, &deemed);
    if (rc) {
        return refuse(err, EHC_MACHINE_E_DATE_UNCOMPUTABLE, "served_on", "",
                      "the deemed date of receipt cannot be computed: %s", ehc_strerror(rc));
    }
    if (deemed.days != served_on.days) {
        char want[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(deemed, want);
        return refuse(err, EHC_MACHINE_E_FIELD_INVALID, "served_on", "",
                      "a letter sent at %s by %s is deemed received on %s", v[4], v[3], want);
    }
    ehc_case_state_copy(state, next);
    append_native_record(next, EHC_MACHINE_LETTER_SENT, in);
    return 0;
}

int ehc_machine_apply(const ehc_machine_env *env, const ehc_case_state *state, const ehc_event_input *event,
                      ehc_case_state *next, ehc_effects *effects, ehc_machine_error *err)
{
    assert(env && env->workflow && state && event && next && effects && err);
    memset(next, 0, sizeof *next);
    memset(effects, 0, sizeof *effects);
    memset(err, 0, sizeof *err);
    int rc;
    if (event->type && strcmp(event->type, EHC_MACHINE_DEFINITIONS_UPDATED) == 0) {
        rc = apply_definitions_updated(env, state, event, next, effects, err);
    } else if (event->type && strcmp(event->type, EHC_MACHINE_CASE_ALLOCATED) == 0 &&
               event->supersedes_seq == 0) {
        rc = apply_allocated(env, state, event, next, err);
    } else if (event->type && strcmp(event->type, EHC_MACHINE_LETTER_SENT) == 0 &&
               event->supersedes_seq == 0) {
        rc = apply_letter_sent(env, state, event, next, err);
    } else if ((rc = check_pins(env, state, err)) != 0) {
        return rc;
    } else if (event->supersedes_seq != 0) {
        rc = apply_correction(env, state, event, next, effects, err);
    } else {
        return step(env, state, event, (uint32_t)state->event_count + 1, false, next, effects, err);
    }
    if (rc) {
        ehc_case_state_free(next);
        ehc_effects_free(effects);
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Canonical JSON of a state, and back */

static void add_date(cJSON *obj, const char *key, ehc_date d)
{
    char iso[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(d, iso);
    cJSON_AddStringToObject(obj, key, iso);
}

char *ehc_case_state_to_json(const ehc_workflow *wf, const ehc_case_state *state)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "workflow", ehc_workflow_id(wf));
    cJSON_AddStringToObject(root, "workflow_hash", ehc_workflow_content_hash(wf));
    cJSON_AddStringToObject(root, "calendar_hash", state->calendar_hash);
    cJSON_AddStringToObject(root, "stage", ehc_workflow_stage(wf, state->stage)->id);
    if (state->opened) {
        add_date(root, "origin_on", state->origin_on);
    } else {
        cJSON_AddNullToObject(root, "origin_on");
    }
    cJSON_AddBoolToObject(root, "letters_stopped", state->letters_stopped);
    cJSON *events = cJSON_AddArrayToObject(root, "events");
    for (size_t i = 0; i < state->event_count; i++) {
        const ehc_case_event *r = &state->events[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "seq", r->seq);
        cJSON_AddStringToObject(o, "event", r->type);
        cJSON_AddStringToObject(o, "role", r->role);
        add_date(o, "effective_on", r->effective_on);
        if (r->key[0]) cJSON_AddStringToObject(o, "key", r->key);
        cJSON *fields = cJSON_AddObjectToObject(o, "fields");
        for (size_t f = 0; f < r->field_count; f++)
            cJSON_AddStringToObject(fields, r->fields[f].field, r->fields[f].value);
        if (r->supersedes_seq) cJSON_AddNumberToObject(o, "supersedes_seq", r->supersedes_seq);
        if (r->superseded_by_seq) cJSON_AddNumberToObject(o, "superseded_by_seq", r->superseded_by_seq);
        if (r->correction_reason) cJSON_AddStringToObject(o, "correction_reason", r->correction_reason);
        cJSON_AddItemToArray(events, o);
    }
    cJSON *deadlines = cJSON_AddArrayToObject(root, "deadlines");
    for (size_t i = 0; i < state->deadline_count; i++) {
        const ehc_deadline_instance *d = &state->deadlines[i];
        const ehc_wf_deadline *dl = ehc_workflow_deadline(wf, d->deadline);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "deadline", dl->id);
        if (d->key[0]) cJSON_AddStringToObject(o, "key", d->key);
        cJSON_AddNumberToObject(o, "started_by_seq", d->started_by_seq);
        add_date(o, "started_on", d->started_on);
        add_date(o, dl->earliest ? "earliest_on" : "due_on", d->due_on);
        cJSON_AddStringToObject(o, "status", ehc_deadline_status_name(d->status));
        if (d->status != EHC_DEADLINE_OPEN) {
            add_date(o, "settled_on", d->settled_on);
            cJSON_AddNumberToObject(o, "settled_by_seq", d->settled_by_seq);
        }
        if (d->exception != EHC_WF_NONE) {
            cJSON_AddStringToObject(o, "exception", dl->exceptions[d->exception].id);
            cJSON_AddNumberToObject(o, "exception_seq", d->exception_seq);
        }
        cJSON_AddItemToArray(deadlines, o);
    }
    cJSON *reports = cJSON_AddObjectToObject(root, "reports");
    for (size_t i = 0; i < state->report_count; i++) {
        cJSON_AddStringToObject(reports, state->reports[i].item, state->reports[i].value);
    }
    char *printed = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!printed) {
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory printing a case state\"}\n");
        abort();
    }
    /* Hand back memory from our allocator so the caller frees it with free(). */
    char *out = ehc_strdup(printed);
    cJSON_free(printed);
    return out;
}

typedef struct json_reader {
    char *why;
    bool bad;
} json_reader;

static void json_fail(json_reader *jr, const char *fmt, const char *what)
{
    if (!jr->bad && jr->why) snprintf(jr->why, 256, fmt, what);
    jr->bad = true;
}

static const char *json_text(json_reader *jr, const cJSON *obj, const char *key, bool required)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsString(item)) return item->valuestring;
    if (item || required) json_fail(jr, "'%s' must be a string", key);
    return NULL;
}

static ehc_date json_date(json_reader *jr, const cJSON *obj, const char *key)
{
    ehc_date d = {0};
    const char *text = json_text(jr, obj, key, true);
    if (text && ehc_date_parse_iso(text, &d) != 0) json_fail(jr, "'%s' must be a date", key);
    return d;
}

static uint32_t json_seq(json_reader *jr, const cJSON *obj, const char *key, bool required)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item && !required) return 0;
    if (!cJSON_IsNumber(item) || item->valuedouble < 1 || item->valuedouble > UINT32_MAX ||
        item->valuedouble != (double)(uint32_t)item->valuedouble) {
        json_fail(jr, "'%s' must be an event number", key);
        return 0;
    }
    return (uint32_t)item->valuedouble;
}

static void copy_text(json_reader *jr, char *dst, size_t size, const char *src, const char *what)
{
    if (!src) return;
    if (strlen(src) >= size) json_fail(jr, "'%s' is too long", what);
    snprintf(dst, size, "%s", src);
}

static void read_event_record(json_reader *jr, const ehc_workflow *wf, const cJSON *o, ehc_case_event *r)
{
    r->seq = json_seq(jr, o, "seq", true);
    const char *type = json_text(jr, o, "event", true);
    copy_text(jr, r->type, sizeof r->type, type, "event");
    r->event = EHC_WF_NONE;
    if (type && strcmp(type, EHC_MACHINE_DEFINITIONS_UPDATED) != 0 &&
        strcmp(type, EHC_MACHINE_CASE_ALLOCATED) != 0 && strcmp(type, EHC_MACHINE_LETTER_SENT) != 0 &&
        ehc_workflow_find_event(wf, type, &r->event) != 0) {
        json_fail(jr, "unknown event '%.64s'", type);
    }
    copy_text(jr, r->role, sizeof r->role, json_text(jr, o, "role", true), "role");
    r->effective_on = json_date(jr, o, "effective_on");
    copy_text(jr, r->key, sizeof r->key, json_text(jr, o, "key", false), "key");
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(o, "fields");
    if (!cJSON_IsObject(fields)) {
        json_fail(jr, "%s", "'fields' must be an object");
    } else {
        r->fields = ehc_calloc((size_t)cJSON_GetArraySize(fields) + 1, sizeof *r->fields);
        for (const cJSON *f = fields->child; f; f = f->next) {
            if (!cJSON_IsString(f)) {
                json_fail(jr, "field '%.64s' must be a string", f->string);
                continue;
            }
            r->fields[r->field_count].field = ehc_strdup(f->string);
            r->fields[r->field_count].value = ehc_strdup(f->valuestring);
            r->field_count++;
        }
    }
    r->supersedes_seq = json_seq(jr, o, "supersedes_seq", false);
    r->superseded_by_seq = json_seq(jr, o, "superseded_by_seq", false);
    const char *reason = json_text(jr, o, "correction_reason", false);
    if (reason) r->correction_reason = ehc_strdup(reason);
}

static void read_instance(json_reader *jr, const ehc_workflow *wf, const cJSON *o, ehc_deadline_instance *d)
{
    const char *id = json_text(jr, o, "deadline", true);
    if (!id || ehc_workflow_find_deadline(wf, id, &d->deadline) != 0) {
        json_fail(jr, "unknown deadline '%.64s'", id ? id : "");
        return;
    }
    const ehc_wf_deadline *dl = ehc_workflow_deadline(wf, d->deadline);
    copy_text(jr, d->key, sizeof d->key, json_text(jr, o, "key", false), "key");
    d->started_by_seq = json_seq(jr, o, "started_by_seq", true);
    d->started_on = json_date(jr, o, "started_on");
    d->due_on = json_date(jr, o, dl->earliest ? "earliest_on" : "due_on");
    const char *status = json_text(jr, o, "status", true);
    d->status = EHC_DEADLINE_OPEN;
    bool known = false;
    for (int s = EHC_DEADLINE_OPEN; status && s <= EHC_DEADLINE_CANCELLED; s++) {
        if (strcmp(status, ehc_deadline_status_name((ehc_deadline_status)s)) == 0) {
            d->status = (ehc_deadline_status)s;
            known = true;
        }
    }
    if (!known) json_fail(jr, "unknown status '%.64s'", status ? status : "");
    if (d->status != EHC_DEADLINE_OPEN) {
        d->settled_on = json_date(jr, o, "settled_on");
        d->settled_by_seq = json_seq(jr, o, "settled_by_seq", true);
    }
    d->exception = EHC_WF_NONE;
    const char *x = json_text(jr, o, "exception", false);
    for (size_t i = 0; x && i < dl->exception_count; i++) {
        if (strcmp(dl->exceptions[i].id, x) == 0) d->exception = i;
    }
    if (x && d->exception == EHC_WF_NONE) json_fail(jr, "unknown exception '%.64s'", x);
    if (x) d->exception_seq = json_seq(jr, o, "exception_seq", true);
}

int ehc_case_state_from_json(const ehc_workflow *wf, const char *json, ehc_case_state *state, char why[256])
{
    json_reader jr = {.why = why};
    if (why) why[0] = '\0';
    ehc_case_state_init(wf, state);
    cJSON *root = cJSON_Parse(json ? json : "");
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        json_fail(&jr, "%s", "not a JSON object");
        return EHC_EINVAL;
    }
    const char *hash = json_text(&jr, root, "workflow_hash", true);
    if (hash && strcmp(hash, ehc_workflow_content_hash(wf)) != 0) {
        json_fail(&jr, "the state was written under workflow version %.16s..., not this one", hash);
        cJSON_Delete(root);
        return EHC_ECONFLICT;
    }
    snprintf(state->workflow_hash, sizeof state->workflow_hash, "%s", ehc_workflow_content_hash(wf));
    copy_text(&jr, state->calendar_hash, sizeof state->calendar_hash,
              json_text(&jr, root, "calendar_hash", true), "calendar_hash");
    const char *stage = json_text(&jr, root, "stage", true);
    if (stage && ehc_workflow_find_stage(wf, stage, &state->stage) != 0)
        json_fail(&jr, "unknown stage '%.64s'", stage);
    const cJSON *origin = cJSON_GetObjectItemCaseSensitive(root, "origin_on");
    state->opened = !cJSON_IsNull(origin);
    if (state->opened) state->origin_on = json_date(&jr, root, "origin_on");
    if (!state->opened) state->workflow_hash[0] = '\0';
    const cJSON *stopped = cJSON_GetObjectItemCaseSensitive(root, "letters_stopped");
    if (!cJSON_IsBool(stopped)) json_fail(&jr, "%s", "'letters_stopped' must be true or false");
    state->letters_stopped = cJSON_IsTrue(stopped);
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(root, "events");
    const cJSON *deadlines = cJSON_GetObjectItemCaseSensitive(root, "deadlines");
    const cJSON *reports = cJSON_GetObjectItemCaseSensitive(root, "reports");
    if (!cJSON_IsArray(events) || !cJSON_IsArray(deadlines) || !cJSON_IsObject(reports)) {
        json_fail(&jr, "%s", "'events' and 'deadlines' must be arrays and 'reports' an object");
    } else {
        state->events = ehc_calloc((size_t)cJSON_GetArraySize(events) + 1, sizeof *state->events);
        for (const cJSON *o = events->child; o && !jr.bad; o = o->next) {
            read_event_record(&jr, wf, o, &state->events[state->event_count++]);
            if (state->events[state->event_count - 1].seq != state->event_count)
                json_fail(&jr, "%s", "events must be numbered 1, 2, 3 ... in order");
        }
        state->deadlines = ehc_calloc((size_t)cJSON_GetArraySize(deadlines) + 1, sizeof *state->deadlines);
        for (const cJSON *o = deadlines->child; o && !jr.bad; o = o->next)
            read_instance(&jr, wf, o, &state->deadlines[state->deadline_count++]);
        state->reports = ehc_calloc((size_t)cJSON_GetArraySize(reports) + 1, sizeof *state->reports);
        for (const cJSON *o = reports->child; o && !jr.bad; o = o->next) {
            ehc_report_value *r = &state->reports[state->report_count++];
            r->item = ehc_sen2_item(o->string);
            if (!r->item || !cJSON_IsString(o)) {
                json_fail(&jr, "unknown SEN2 item '%.64s'", o->string);
                break;
            }
            copy_text(&jr, r->value, sizeof r->value, o->valuestring, o->string);
        }
    }
    cJSON_Delete(root);
    if (jr.bad) {
        ehc_case_state_free(state);
        return EHC_EINVAL;
    }
    return 0;
}
