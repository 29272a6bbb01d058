/* Alert levels, instants and recipients of a deadline instance. Owns the rules of when a management
 * alert fires (the working-day dates themselves come from ehc_machine_alert_dates and calendar.c),
 * what its level is called, who hears of it, and how catch-up after downtime picks one level.
 * Pure: the scheduler (engine/scheduler.c) stores the result and fires it. */
#include "ehc/alerts.h"

#include <assert.h>
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

void ehc_alert_options_default(ehc_alert_options *opts)
{
    opts->hour = 7;
    opts->minute = 0;
    opts->escalate_after_days = 10;
}

int ehc_alert_options_check(const ehc_alert_options *opts)
{
    if (opts->hour < 0 || opts->hour > 23 || opts->minute < 0 || opts->minute > 59) return EHC_EINVAL;
    if (opts->escalate_after_days < 0 || opts->escalate_after_days > 3650) return EHC_EINVAL;
    return 0;
}

bool ehc_alerts_manager_at_due(const ehc_workflow *wf, const ehc_wf_deadline *deadline)
{
    return deadline->kind == EHC_DEADLINE_STATUTORY && !deadline->per_key && !deadline->earliest &&
           deadline->origin_event == ehc_workflow_opening_event(wf) &&
           deadline->length.unit == EHC_LENGTH_WEEKS && deadline->length.count == 20;
}

const char *ehc_alert_recipient_name(unsigned recipient)
{
    switch (recipient) {
    case EHC_ALERT_TO_OFFICER: return "officer";
    case EHC_ALERT_TO_MANAGER: return "manager";
    case EHC_ALERT_TO_SERVICE_MANAGER: return "service_manager";
    default: return NULL;
    }
}

static int add(ehc_alert_schedule *s, const char *level, ehc_date on, unsigned recipients,
               const ehc_alert_options *opts)
{
    /* one alert per day: the later (higher) level wins and both audiences hear of it */
    if (s->count > 0 && s->items[s->count - 1].on.days == on.days) {
        ehc_alert *last = &s->items[s->count - 1];
        snprintf(last->level, sizeof last->level, "%s", level);
        last->recipients |= recipients;
        return 0;
    }
    assert(s->count < EHC_ALERTS_MAX);
    assert(s->count == 0 || s->items[s->count - 1].on.days < on.days);
    ehc_alert *a = &s->items[s->count];
    memset(a, 0, sizeof *a);
    snprintf(a->level, sizeof a->level, "%s", level);
    a->on = on;
    a->recipients = recipients;
    int rc = ehc_date_fire_instant(on, opts->hour, opts->minute, &a->fire_at);
    if (rc) return rc;
    s->count++;
    return 0;
}

int ehc_alerts_schedule(const ehc_machine_env *env, const ehc_deadline_instance *instance,
                        const ehc_alert_options *opts, ehc_alert_schedule *out)
{
    memset(out, 0, sizeof *out);
    int rc = ehc_alert_options_check(opts);
    if (rc) return rc;
    if (instance->status != EHC_DEADLINE_OPEN) return 0;
    const ehc_wf_deadline *dl = ehc_workflow_deadline(env->workflow, instance->deadline);
    const bool can_be_overdue = !dl->earliest;
    const unsigned at_due =
        EHC_ALERT_TO_OFFICER | (ehc_alerts_manager_at_due(env->workflow, dl) ? EHC_ALERT_TO_MANAGER : 0);

    ehc_alert_date dates[EHC_ALERTS_MAX];
    size_t n = 0;
    if ((rc = ehc_machine_alert_dates(env, instance, dates, EHC_ARRAY_SIZE(dates), &n))) return rc;
    for (size_t i = 0; i < n; i++) {
        const ehc_alert_date *d = &dates[i];
        if (d->overdue) {
            if (!can_be_overdue) continue;
            rc = add(out, "overdue", d->on, EHC_ALERT_TO_OFFICER | EHC_ALERT_TO_MANAGER, opts);
        } else if (d->on_due) {
            rc = add(out, "due", d->on, at_due, opts);
        } else {
            if (d->before_working_days < 1 || d->before_working_days > 99) return EHC_EINVAL;
            char level[EHC_ALERT_LEVEL_SIZE];
            snprintf(level, sizeof level, "upcoming_%d", (int)d->before_working_days);
            rc = add(out, level, d->on, EHC_ALERT_TO_OFFICER, opts);
        }
        if (rc) return rc;
    }

    if (can_be_overdue && dl->alerts.overdue && dl->kind != EHC_DEADLINE_LOCAL &&
        opts->escalate_after_days > 0) {
        const ehc_calendar *cal;
        ehc_date after, on;
        if ((rc = ehc_calendar_set_find(env->calendars, ehc_workflow_calendar_id(env->workflow), &cal)) ||
            (rc = ehc_date_add_days(instance->due_on, opts->escalate_after_days + 1, &after))) {
            return rc;
        }
        rc = ehc_calendar_working_day_on_or_after(cal, after, &on);
        if (rc == EHC_ERANGE) {
            /* past the end of the bank-holiday calendar: the warnings, due and overdue alerts stand;
             * the escalation is planned once the calendar is extended (definitions_updated) */
            out->escalation_beyond_calendar = true;
            return 0;
        }
        if (rc) return rc;
        rc = add(out, "escalated", on,
                 EHC_ALERT_TO_OFFICER | EHC_ALERT_TO_MANAGER | EHC_ALERT_TO_SERVICE_MANAGER, opts);
        if (rc) return rc;
    }
    return 0;
}

int ehc_alerts_find(const ehc_alert_schedule *s, const char *level, size_t *index)
{
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->items[i].level, level) == 0) {
            *index = i;
            return 0;
        }
    }
    return EHC_ENOENT;
}

int ehc_alerts_next(const ehc_alert_schedule *s, ehc_instant after, ehc_instant *next_fire_at,
                    const char **level)
{
    for (size_t i = 0; i < s->count; i++) {
        if (s->items[i].fire_at.us > after.us) {
            *next_fire_at = s->items[i].fire_at;
            *level = s->items[i].level;
            return 0;
        }
    }
    return EHC_ENOENT;
}

int ehc_alerts_due_now(const ehc_alert_schedule *s, ehc_instant now, const char *fired_level,
                       const char **highest_level, size_t *skipped)
{
    size_t first = 0;
    if (fired_level) {
        size_t fired;
        /* a level this schedule does not have (the due date moved): nothing above it is known */
        if (ehc_alerts_find(s, fired_level, &fired) == 0) first = fired + 1;
    }
    size_t due = first;
    while (due < s->count && s->items[due].fire_at.us <= now.us)
        due++;
    if (due == first) return EHC_ENOENT;
    *highest_level = s->items[due - 1].level;
    if (skipped) *skipped = due - 1 - first;
    return 0;
}

char *ehc_alerts_schedule_json(const ehc_alert_schedule *s)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < s->count; i++) {
        const ehc_alert *a = &s->items[i];
        cJSON *o = cJSON_CreateObject();
        char iso[EHC_DATE_ISO_SIZE], at[24];
        ehc_date_format_iso(a->on, iso);
        cJSON_AddStringToObject(o, "level", a->level);
        cJSON_AddStringToObject(o, "on", iso);
        /* a JSON number: microseconds fit a double exactly until the year 2255 */
        snprintf(at, sizeof at, "%lld", (long long)a->fire_at.us);
        cJSON_AddRawToObject(o, "at_us", at);
        cJSON *to = cJSON_AddArrayToObject(o, "to");
        for (unsigned bit = 1; bit <= EHC_ALERT_TO_SERVICE_MANAGER; bit <<= 1)
            if (a->recipients & bit)
                cJSON_AddItemToArray(to, cJSON_CreateString(ehc_alert_recipient_name(bit)));
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    char *out = ehc_strdup(text);
    cJSON_free(text);
    return out;
}
