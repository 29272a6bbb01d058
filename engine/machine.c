/* The pure case state machine: checks one new event against the workflow (role, stage, fields,
 * dates, dependencies, earliest-allowed dates) and, when it is lawful, returns the next case state
 * and the effects (clocks set, met, met late or cancelled; alerts to resolve; exceptions; SEN2
 * items; the stage change). No I/O, no clock, no globals: `today` and the calendars come in, so a
 * replay of the same events gives the same state. Every date is computed through date.h/calendar.h. */
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
                                        "exception_applied", "report_set"};
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
    case EHC_MACHINE_E_DUPLICATE_KEY: return 409;
    case EHC_MACHINE_E_DATE_UNCOMPUTABLE:
    case EHC_MACHINE_E_OVERRIDE_INVALID: return 500;
    default: return 422;
    }
}

static int status_of(ehc_machine_error_code code)
{
    switch (code) {
    case EHC_MACHINE_E_ROLE_FORBIDDEN: return EHC_EFORBIDDEN;
    case EHC_MACHINE_E_DUPLICATE_KEY: return EHC_ECONFLICT;
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

void ehc_case_state_free(ehc_case_state *state)
{
    if (!state) return;
    free(state->events);
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

void ehc_case_state_copy(const ehc_case_state *src, ehc_case_state *dst)
{
    *dst = *src;
    dst->events = copy_array(src->events, src->event_count, sizeof *src->events, 0);
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

static int compute_date(const ehc_machine_env *env, const ehc_wf_length *len, ehc_date origin, ehc_date *out)
{
    switch (len->unit) {
    case EHC_LENGTH_DAYS: return ehc_date_add_days(origin, len->count, out);
    case EHC_LENGTH_WEEKS: return ehc_date_add_weeks(origin, len->count, out);
    case EHC_LENGTH_MONTHS: return ehc_date_add_months(origin, len->count, out);
    case EHC_LENGTH_PERIOD_MONTHS: return ehc_date_period_months_last_day(origin, len->count, out);
    case EHC_LENGTH_WORKING_DAYS: {
        const ehc_calendar *cal = NULL;
        int rc = ehc_calendar_set_find(env->calendars, ehc_workflow_calendar_id(env->workflow), &cal);
        if (rc) return EHC_ERANGE;
        return ehc_calendar_add_working_days(cal, origin, len->count, out);
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

static const ehc_wf_length *length_for(const ehc_machine_env *env, const ehc_wf_deadline *dl)
{
    if (dl->kind != EHC_DEADLINE_LOCAL) return &dl->length;
    for (size_t i = 0; i < env->override_count; i++) {
        if (strcmp(env->overrides[i].deadline, dl->id) == 0) return &env->overrides[i].length;
    }
    return &dl->length;
}

static int check_overrides(const ehc_machine_env *env, ehc_machine_error *err)
{
    for (size_t i = 0; i < env->override_count; i++) {
        const ehc_local_override *o = &env->overrides[i];
        size_t d;
        char safe[80];
        quote_text(safe, sizeof safe, o->deadline);
        if (!o->deadline || ehc_workflow_find_deadline(env->workflow, o->deadline, &d) != 0) {
            return refuse(err, EHC_MACHINE_E_OVERRIDE_INVALID, "", "", "override names no deadline '%s'",
                          safe);
        }
        if (ehc_workflow_deadline(env->workflow, d)->kind != EHC_DEADLINE_LOCAL) {
            return refuse(err, EHC_MACHINE_E_OVERRIDE_INVALID, "",
                          ehc_workflow_deadline(env->workflow, d)->basis,
                          "deadline '%s' is %s: only a local target may be overridden", safe,
                          ehc_deadline_kind_name(ehc_workflow_deadline(env->workflow, d)->kind));
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
    ehc_machine_error *err;
} apply_ctx;

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
    ehc_role role;
    quote_text(safe, sizeof safe, in->actor_role);
    if (ehc_role_parse(in->actor_role, &role) != 0 || !(c->ev->roles & (unsigned)role)) {
        char roles[256] = "";
        for (int i = 0; i < EHC_ROLE_COUNT; i++) {
            if (!(c->ev->roles & (1u << i))) continue;
            const size_t used = strlen(roles);
            snprintf(roles + used, sizeof roles - used, "%s%s", used ? ", " : "",
                     ehc_role_name((ehc_role)(1u << i)));
        }
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

static int check_dates(apply_ctx *c, const ehc_event_input *in)
{
    char on[EHC_DATE_ISO_SIZE], limit[EHC_DATE_ISO_SIZE];
    const char *field = "effective_on";
    c->effective_on = in->effective_on;
    if (c->ev->effective_field != EHC_WF_NONE) {
        field = c->ev->fields[c->ev->effective_field].id;
        if (ehc_date_parse_iso(c->vals[c->ev->effective_field], &c->effective_on) != 0) return EHC_EINVAL;
    }
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
        if (r->event == c->ev->depends_on && (!c->ev->depends_on_same_key || strcmp(r->key, c->key) == 0))
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
            return 0;
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
            ehc_date_compare(c->effective_on, inst->due_on) >= 0) {
            continue;
        }
        char on[EHC_DATE_ISO_SIZE], earliest[EHC_DATE_ISO_SIZE], started[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(c->effective_on, on);
        ehc_date_format_iso(inst->due_on, earliest);
        ehc_date_format_iso(inst->started_on, started);
        return refuse(c->err, EHC_MACHINE_E_TOO_EARLY, "effective_on", dl->basis ? dl->basis : dl->id,
                      "'%s' may not take effect before %s (it is %s): %s, %s, running from %s (%s)",
                      c->ev->id, earliest, on, dl->basis ? dl->basis : "local target", dl->title, started,
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
        } else if (ref_matches(dl->cancelled_by, dl->cancelled_by_count, c->event, c->vals)) {
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

static int start_clocks(apply_ctx *c, ehc_case_state *next, ehc_effects *fx, uint32_t seq)
{
    for (size_t d = 0; d < ehc_workflow_deadline_count(c->wf); d++) {
        const ehc_wf_deadline *dl = ehc_workflow_deadline(c->wf, d);
        if (dl->origin_event != c->event) continue;
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
        ehc_date due;
        int rc = compute_date(c->env, length_for(c->env, dl), c->effective_on, &due);
        if (rc) {
            char on[EHC_DATE_ISO_SIZE];
            ehc_date_format_iso(c->effective_on, on);
            return refuse(c->err, EHC_MACHINE_E_DATE_UNCOMPUTABLE, "", dl->basis,
                          "the date of '%s' from %s cannot be computed: %s (calendar '%s' must cover it)",
                          dl->id, on, ehc_strerror(rc), ehc_workflow_calendar_id(c->wf));
        }
        next->deadlines = ehc_realloc(next->deadlines, (next->deadline_count + 1) * sizeof *next->deadlines);
        ehc_deadline_instance *inst = &next->deadlines[next->deadline_count];
        memset(inst, 0, sizeof *inst);
        inst->deadline = d;
        snprintf(inst->key, sizeof inst->key, "%s", key);
        inst->started_by_seq = seq;
        inst->started_on = c->effective_on;
        inst->due_on = due;
        inst->status = EHC_DEADLINE_OPEN;
        inst->exception = EHC_WF_NONE;
        ehc_effect *e = push_effect(fx, EHC_EFFECT_DEADLINE_SET);
        fill_deadline_effect(e, dl, inst, next->deadline_count);
        e->on = due;
        next->deadline_count++;
    }
    return 0;
}

static void set_reports(apply_ctx *c, ehc_case_state *next, ehc_effects *fx)
{
    for (size_t r = 0; r < c->ev->report_count; r++) {
        const ehc_wf_report *rep = &c->ev->reports[r];
        if (!when_holds(&rep->when, c->vals)) continue;
        char value[EHC_DATE_ISO_SIZE];
        if (rep->value_is_effective_date) {
            ehc_date_format_iso(c->effective_on, value);
        } else {
            snprintf(value, sizeof value, "%s", rep->value);
        }
        size_t i = 0;
        while (i < next->report_count && strcmp(next->reports[i].item, rep->item) != 0)
            i++;
        if (i == next->report_count) {
            next->reports = ehc_realloc(next->reports, (next->report_count + 1) * sizeof *next->reports);
            next->reports[next->report_count++].item = rep->item;
        }
        memcpy(next->reports[i].value, value, sizeof value);
        ehc_effect *e = push_effect(fx, EHC_EFFECT_REPORT_SET);
        e->report_item = rep->item;
        memcpy(e->report_value, value, sizeof value);
        e->on = c->effective_on;
    }
}

int ehc_machine_apply(const ehc_machine_env *env, const ehc_case_state *state, const ehc_event_input *event,
                      ehc_case_state *next, ehc_effects *effects, ehc_machine_error *err)
{
    assert(env && env->workflow && state && event && next && effects && err);
    memset(next, 0, sizeof *next);
    memset(effects, 0, sizeof *effects);
    memset(err, 0, sizeof *err);
    apply_ctx c = {.env = env, .wf = env->workflow, .state = state, .key = "", .err = err};
    int rc = check_overrides(env, err);
    if (rc || (rc = check_event_and_role(&c, event))) return rc;

    const char **vals = ehc_calloc(c.ev->field_count, sizeof *vals);
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
    const uint32_t seq = (uint32_t)state->event_count + 1;
    next->events = ehc_realloc(next->events, (next->event_count + 1) * sizeof *next->events);
    ehc_case_event *rec = &next->events[next->event_count++];
    memset(rec, 0, sizeof *rec);
    rec->seq = seq;
    rec->event = c.event;
    rec->effective_on = c.effective_on;
    snprintf(rec->key, sizeof rec->key, "%s", c.key);
    if (!state->opened) {
        next->opened = true;
        next->origin_on = c.effective_on;
    }
    settle_clocks(&c, next, effects, seq);
    rc = start_clocks(&c, next, effects, seq);
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
        ehc_effect *e = push_effect(effects, EHC_EFFECT_EXCEPTION_APPLIED);
        fill_deadline_effect(e, dl, inst, x_instance);
        e->on = c.effective_on;
        e->exception = dl->exceptions[x_exception].id;
        e->exception_basis = dl->exceptions[x_exception].basis;
    }
    set_reports(&c, next, effects);
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
 * Canonical JSON of a state */

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
    cJSON_AddStringToObject(root, "stage", ehc_workflow_stage(wf, state->stage)->id);
    if (state->opened) {
        add_date(root, "origin_on", state->origin_on);
    } else {
        cJSON_AddNullToObject(root, "origin_on");
    }
    cJSON *events = cJSON_AddArrayToObject(root, "events");
    for (size_t i = 0; i < state->event_count; i++) {
        const ehc_case_event *r = &state->events[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "seq", r->seq);
        cJSON_AddStringToObject(o, "event", ehc_workflow_event(wf, r->event)->id);
        add_date(o, "effective_on", r->effective_on);
        if (r->key[0]) cJSON_AddStringToObject(o, "key", r->key);
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
        if (d->exception != EHC_WF_NONE)
            cJSON_AddStringToObject(o, "exception", dl->exceptions[d->exception].id);
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
