/* Management alerts of one deadline instance, pure (no I/O, no clock read): from the workflow's
 * `alerts` schedule for the deadline (dates from ehc_machine_alert_dates: n working days before,
 * due moved back to a working day, overdue on the next working day after the due date), an
 * escalation level, the alert hour in Europe/London and the recipients of each level.
 *
 * Levels, in the order they fire: upcoming_<n> (n working days before the due date; n descending),
 * due, overdue, escalated (overdue for more than opts.escalate_after_days days: the first working
 * day on or after due + days + 1). Two levels that land on one day are one alert carrying the
 * higher level and both sets of recipients.
 *
 * Recipients: the case officer always; the team manager from overdue on, and at due for the
 * 20-week final-plan limit (ehc_alerts_manager_at_due); the service manager at escalated. */
#ifndef EHC_ALERTS_H
#define EHC_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ehc/common.h"
#include "ehc/date.h"
#include "ehc/machine.h"
#include "ehc/workflow.h"

/* "upcoming_99", "escalated" and the NUL fit. */
#define EHC_ALERT_LEVEL_SIZE 16
/* Every before_working_days offset, due, overdue, escalated. */
#define EHC_ALERTS_MAX (EHC_WORKFLOW_MAX_ALERT_OFFSETS + 3)

enum {
    EHC_ALERT_TO_OFFICER = 1u << 0,
    EHC_ALERT_TO_MANAGER = 1u << 1,         /* the managers of the case's team */
    EHC_ALERT_TO_SERVICE_MANAGER = 1u << 2, /* the authority's service managers */
};

typedef struct ehc_alert_options {
    int hour, minute;            /* local time in Europe/London the alerts fire at (default 07:00) */
    int32_t escalate_after_days; /* escalated when overdue for more than this many days; 0: never */
} ehc_alert_options;

typedef struct ehc_alert {
    char level[EHC_ALERT_LEVEL_SIZE];
    ehc_date on;         /* the working day it fires on */
    ehc_instant fire_at; /* opts.hour:opts.minute on `on`, Europe/London */
    unsigned recipients; /* EHC_ALERT_TO_* */
} ehc_alert;

/* In firing order (strictly increasing fire_at). */
typedef struct ehc_alert_schedule {
    ehc_alert items[EHC_ALERTS_MAX];
    size_t count;
    bool escalation_beyond_calendar; /* the escalation day is past the calendar's end: not planned */
} ehc_alert_schedule;

/* 07:00, escalation after 10 days overdue. */
void ehc_alert_options_default(ehc_alert_options *opts);
/* EHC_EINVAL for an hour outside 0-23, a minute outside 0-59 or negative days. */
EHC_MUST_USE int ehc_alert_options_check(const ehc_alert_options *opts);

/* Whether the team manager hears of this deadline already at `due`: the 20-week limit for the final
 * plan (SEND Regs 2014 reg 13(2)), recognised by its shape since the workflow format has no flag for
 * it yet: a statutory clock of 20 calendar weeks that starts with the case's opening event. */
bool ehc_alerts_manager_at_due(const ehc_workflow *wf, const ehc_wf_deadline *deadline);

/* The schedule of an instance under env->workflow and env->calendars (env->today is not read).
 * Empty for an instance that is not open. An "earliest" clock never goes overdue, so it has no
 * overdue or escalated level; a local target (never a breach) is not escalated.
 * EHC_ERANGE when a warning, due or overdue date falls outside the bank-holiday calendar or the
 * supported years (an escalation past its end is left off, with escalation_beyond_calendar set);
 * EHC_EINVAL for bad options. */
EHC_MUST_USE int ehc_alerts_schedule(const ehc_machine_env *env, const ehc_deadline_instance *instance,
                                     const ehc_alert_options *opts, ehc_alert_schedule *out);

/* The index of a level in the schedule; EHC_ENOENT when it has none of that name. */
EHC_MUST_USE int ehc_alerts_find(const ehc_alert_schedule *s, const char *level, size_t *index);

/* The first alert firing strictly after `after`: its instant and level (pointing into *s).
 * EHC_ENOENT when there is none. */
EHC_MUST_USE int ehc_alerts_next(const ehc_alert_schedule *s, ehc_instant after, ehc_instant *next_fire_at,
                                 const char **level);

/* Catch-up: of the levels due by `now` (fire_at <= now) and above the highest one already fired
 * (`fired_level`, NULL when none has), the highest; lower ones are skipped for good. *skipped (may
 * be NULL) receives how many due levels it stands for besides itself. EHC_ENOENT when nothing is due
 * that has not fired. */
EHC_MUST_USE int ehc_alerts_due_now(const ehc_alert_schedule *s, ehc_instant now, const char *fired_level,
                                    const char **highest_level, size_t *skipped);

/* "officer", "manager", "service_manager" for one EHC_ALERT_TO_* bit; NULL otherwise. */
const char *ehc_alert_recipient_name(unsigned recipient);

/* The schedule as the scheduler stores it in deadlines.alert_schedule (sql/0008):
 * [{"level": "upcoming_10", "on": "2026-02-02", "at_us": 1770015600000000, "to": ["officer"]}, ...].
 * The caller frees the string. */
char *ehc_alerts_schedule_json(const ehc_alert_schedule *s);

#endif
