/* The case state machine: (workflow, case state, one new event, today, calendars, local-target
 * overrides) -> (new state, effects) or a precise error. Pure: no I/O, no clock read, no globals;
 * the same inputs always give the same outputs, so replaying a case's events rebuilds its state
 * exactly (ehcd verify). Deadline dates are computed only through date.h and calendar.h.
 * The caller owns every ehc_case_state and ehc_effects and frees them with the _free functions;
 * effects point into the workflow (ids, bases), so they must not outlive it. */
#ifndef EHC_MACHINE_H
#define EHC_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ehc/calendar.h"
#include "ehc/common.h"
#include "ehc/date.h"
#include "ehc/workflow.h"

/* Key values (an adviser-request key) are at most this many bytes, plus the NUL. */
#define EHC_MACHINE_KEY_SIZE 65

/* --- the case state ------------------------------------------------------------------------------- */

/* Event kinds the machine knows natively, in every workflow (docs/workflows.md). */
#define EHC_MACHINE_DEFINITIONS_UPDATED "definitions_updated"
/* Who holds the case: fields team_id and officer_id (absent or "": the team's unallocated queue), and
 * an optional reason. Recorded by a manager or service manager; changes no stage and no clock. */
#define EHC_MACHINE_CASE_ALLOCATED "case_allocated"
/* A letter sent to one recipient (api/letters.c): fields letter_id, notice, recipient (a role such as
 * parent or icb), method (hand, email, first_class_post, signed_for), sent_at (YYYY-MM-DDTHH:MM) and
 * served_on, the day the letter is deemed received (checked against the workflow's calendar). Its
 * effective date is the day it was sent. Recorded by an officer, manager or service manager on an
 * open case whose letters have not stopped; it changes no stage and no clock. */
#define EHC_MACHINE_LETTER_SENT "letter_sent"

/* A field value held by the state (owned copies). */
typedef struct ehc_case_field {
    char *field;
    char *value;
} ehc_case_field;

/* One recorded event with its payload, so that the state can be rebuilt by replay when a correction
 * supersedes an event or new definitions are adopted. Nothing recorded is ever edited: a correction
 * is a new event naming the one it supersedes. */
typedef struct ehc_case_event {
    uint32_t seq; /* 1, 2, 3 ... */
    size_t event; /* index into the workflow's events; EHC_WF_NONE for a native kind */
    char type[EHC_WORKFLOW_MAX_ID_CHARS + 1]; /* event id (stable across workflow versions) */
    char role[24];                            /* who recorded it */
    ehc_date effective_on;
    char key[EHC_MACHINE_KEY_SIZE]; /* value of the event's key field, or "" */
    ehc_case_field *fields;
    size_t field_count;
    uint32_t supersedes_seq;    /* a correction: the event it replaces, else 0 */
    uint32_t superseded_by_seq; /* set when a later correction replaces this one, else 0 */
    char *correction_reason;    /* a correction's reason, else NULL */
} ehc_case_event;

typedef enum ehc_deadline_status {
    EHC_DEADLINE_OPEN,
    EHC_DEADLINE_MET, /* on time; for an earliest date: the restricted act came on/after it */
    EHC_DEADLINE_MET_LATE,
    EHC_DEADLINE_CANCELLED,
} ehc_deadline_status;

/* "open", "met", "met_late", "cancelled". */
const char *ehc_deadline_status_name(ehc_deadline_status status);

/* One running (or settled) clock: a deadline of the workflow, started by one event. */
typedef struct ehc_deadline_instance {
    size_t deadline;                /* index into the workflow's deadlines */
    char key[EHC_MACHINE_KEY_SIZE]; /* per-key clocks: the key; otherwise "" */
    uint32_t started_by_seq;
    ehc_date started_on;
    ehc_date due_on; /* latest date; for an earliest clock, the earliest allowed date */
    ehc_deadline_status status;
    ehc_date settled_on; /* when met or cancelled */
    uint32_t settled_by_seq;
    size_t exception;       /* index into the deadline's exceptions, or EHC_WF_NONE */
    uint32_t exception_seq; /* the event that recorded the exception, or 0 */
} ehc_deadline_instance;

/* A SEN2 item's current value. `item` points into the workflow. */
typedef struct ehc_report_value {
    const char *item;
    char value[EHC_DATE_ISO_SIZE];
} ehc_report_value;

typedef struct ehc_case_state {
    size_t stage;       /* index into the workflow's stages */
    bool opened;        /* the opening event has been recorded */
    ehc_date origin_on; /* its effective date: Day 0 */
    /* The versions the case runs under, pinned when it opens; changed only by definitions_updated. */
    char workflow_hash[EHC_WORKFLOW_HASH_SIZE];
    char calendar_hash[EHC_CALENDAR_HASH_SIZE];
    bool letters_stopped; /* an event with "stops_letters" (a death): no alert or letter, ever */
    ehc_case_event *events;
    size_t event_count;
    ehc_deadline_instance *deadlines; /* in the order they were started */
    size_t deadline_count;
    ehc_report_value *reports; /* in the order first set */
    size_t report_count;
} ehc_case_state;

/* A new case: the initial stage, nothing recorded. */
void ehc_case_state_init(const ehc_workflow *wf, ehc_case_state *state);
void ehc_case_state_free(ehc_case_state *state);
/* A deep copy; dst must not hold a state (it is overwritten). */
void ehc_case_state_copy(const ehc_case_state *src, ehc_case_state *dst);
/* The state as canonical JSON (stable key order, ids not indexes, ISO dates): two states are the
 * same exactly when these strings are equal. The caller frees the string. */
char *ehc_case_state_to_json(const ehc_workflow *wf, const ehc_case_state *state);
/* The inverse: reads what ehc_case_state_to_json wrote, for the same workflow version (its hash must
 * match: EHC_ECONFLICT otherwise). EHC_EINVAL for anything malformed or naming unknown ids; `why`
 * (may be NULL) then says what. On success *state is a fresh state the caller frees. */
EHC_MUST_USE int ehc_case_state_from_json(const ehc_workflow *wf, const char *json, ehc_case_state *state,
                                          char why[256]);

/* --- input --------------------------------------------------------------------------------------- */

/* A field value as text: dates "YYYY-MM-DD", bools "true"/"false", ints in decimal. */
typedef struct ehc_field_value {
    const char *field;
    const char *value;
} ehc_field_value;

typedef struct ehc_event_input {
    const char *type;       /* event id, or EHC_MACHINE_DEFINITIONS_UPDATED */
    const char *actor_role; /* role name */
    /* The date it took effect. For an event whose date comes from a field ("effective_date",
     * "deemed_receipt") it must agree with that date, or be left to it with derive_effective_on. */
    ehc_date effective_on;
    bool derive_effective_on;
    const ehc_field_value *fields;
    size_t field_count;
    /* A correction (manager, service_manager or admin): this event replaces event number
     * supersedes_seq, which stays in the log, marked superseded; correction_reason is required. */
    uint32_t supersedes_seq;
    const char *correction_reason;
} ehc_event_input;

/* An authority's own length for one of its local targets. */
typedef struct ehc_local_override {
    const char *deadline; /* id of a `local` deadline */
    ehc_wf_length length;
} ehc_local_override;

typedef struct ehc_machine_env {
    const ehc_workflow *workflow;
    /* For definitions_updated only: the workflow version the case was pinned to (may be the same as
     * `workflow` when only the calendar changed). */
    const ehc_workflow *previous_workflow;
    const ehc_calendar_set *calendars;
    const ehc_local_override *overrides;
    size_t override_count;
    ehc_date today;
    /* Replaying a stored log under the versions the case is pinned to now: a definitions_updated
     * record in it is history (every event is replayed under these versions, as the move itself
     * rebuilt them) and is kept as it is. */
    bool replay;
} ehc_machine_env;

/* --- output -------------------------------------------------------------------------------------- */

typedef enum ehc_effect_kind {
    EHC_EFFECT_STAGE_CHANGED,
    EHC_EFFECT_DEADLINE_SET,
    EHC_EFFECT_DEADLINE_MET,
    EHC_EFFECT_DEADLINE_MET_LATE,
    EHC_EFFECT_DEADLINE_CANCELLED,
    EHC_EFFECT_ALERTS_RESOLVE, /* stop and clear every pending alert of this instance */
    EHC_EFFECT_EXCEPTION_APPLIED,
    EHC_EFFECT_REPORT_SET,
    EHC_EFFECT_DEADLINE_RECOMPUTED, /* due date changed: reschedule this instance's alerts */
    EHC_EFFECT_LETTERS_STOPPED,     /* stop every pending alert and letter of the case, for good */
    EHC_EFFECT_EVENT_SUPERSEDED,    /* `seq` was replaced by a correction */
    EHC_EFFECT_DEFINITIONS_PINNED,  /* the case now runs under `workflow_hash` / `calendar_hash` */
} ehc_effect_kind;

/* "stage_changed", "deadline_set", ... */
const char *ehc_effect_kind_name(ehc_effect_kind kind);

typedef struct ehc_effect {
    ehc_effect_kind kind;
    /* stage_changed */
    const char *from_stage;
    const char *to_stage;
    /* deadline effects */
    size_t instance;      /* index into the new state's deadlines */
    const char *deadline; /* id */
    char key[EHC_MACHINE_KEY_SIZE];
    ehc_deadline_kind deadline_kind;
    const char *basis; /* NULL for a local target without one */
    bool earliest;
    ehc_date on; /* set: due/earliest date; met/cancelled: the event's date */
    ehc_date due_on;
    ehc_date previous_due_on; /* deadline_recomputed: the due date before */
    int32_t days_late;        /* met_late: days after due_on */
    const char *exception;    /* exception_applied: id */
    const char *exception_basis;
    /* report_set ("" when a rebuild cleared the item) */
    const char *report_item;
    char report_value[EHC_DATE_ISO_SIZE];
    /* event_superseded */
    uint32_t seq;
    /* definitions_pinned */
    const char *workflow_hash;
    const char *calendar_hash;
} ehc_effect;

typedef struct ehc_effects {
    ehc_effect *items;
    size_t count;
} ehc_effects;

void ehc_effects_free(ehc_effects *effects);

/* Stable error codes; the HTTP API maps them with ehc_machine_error_http_status. */
typedef enum ehc_machine_error_code {
    EHC_MACHINE_OK = 0,
    EHC_MACHINE_E_UNKNOWN_EVENT,          /* no such event in this workflow */
    EHC_MACHINE_E_ROLE_FORBIDDEN,         /* the actor's role may not record it */
    EHC_MACHINE_E_NOT_OPENED,             /* the first event must be the opening event */
    EHC_MACHINE_E_ALREADY_OPENED,         /* the opening event again */
    EHC_MACHINE_E_NOT_ALLOWED,            /* not allowed in the current stage (message lists those allowed) */
    EHC_MACHINE_E_FIELD_UNKNOWN,          /* a field the event does not have */
    EHC_MACHINE_E_FIELD_MISSING,          /* a required field is absent */
    EHC_MACHINE_E_FIELD_INVALID,          /* a field value of the wrong type or out of range */
    EHC_MACHINE_E_DATE_IN_FUTURE,         /* effective date after today */
    EHC_MACHINE_E_DATE_BEFORE_ORIGIN,     /* effective date before the case's origin (the request) */
    EHC_MACHINE_E_DATE_BEFORE_DEPENDENCY, /* effective date before the event it depends on */
    EHC_MACHINE_E_DEPENDENCY_MISSING,     /* the event it depends on was never recorded */
    EHC_MACHINE_E_TOO_EARLY,              /* before an "earliest" date (e.g. Reg 13(1)) */
    EHC_MACHINE_E_DUPLICATE_KEY,          /* a clock with this key is already running */
    EHC_MACHINE_E_EXCEPTION_INVALID,      /* unknown deadline instance or exception not allowed on it */
    EHC_MACHINE_E_DATE_UNCOMPUTABLE,      /* a date falls outside the calendars or supported years */
    EHC_MACHINE_E_OVERRIDE_INVALID,       /* an override names no local deadline or has a bad length */
    EHC_MACHINE_E_DEFINITIONS_MISMATCH,   /* the case is pinned to other definitions (or hashes disagree) */
    EHC_MACHINE_E_CORRECTION_INVALID,     /* no such event to supersede, no reason, or the replay fails */
} ehc_machine_error_code;

typedef struct ehc_machine_error {
    ehc_machine_error_code code;
    char field[EHC_WORKFLOW_MAX_ID_CHARS + 1]; /* the field at fault, or "" */
    char rule[256];                            /* the rule or regulation broken, or "" */
    char message[512];                         /* a sentence for the officer, citing the rule */
} ehc_machine_error;

/* "unknown_event", "role_forbidden", ... : stable names for API bodies and logs. */
const char *ehc_machine_error_name(ehc_machine_error_code code);
/* 403 for role_forbidden, 409 for duplicate_key, 500 for date_uncomputable and override_invalid
 * (configuration), otherwise 422. */
int ehc_machine_error_http_status(ehc_machine_error_code code);

/* Checks an authority's local-target overrides against a workflow once, when configuration is
 * loaded (not on every event): each must name a `local` deadline and give a sound length. */
EHC_MUST_USE int ehc_machine_check_overrides(const ehc_workflow *wf, const ehc_local_override *overrides,
                                             size_t count, ehc_machine_error *err);

/* --- the machine ----------------------------------------------------------------------------------- */

/* Applies one event. On success returns 0, fills *next (a fresh state the caller frees) and *effects
 * (in order: settlements, new clocks, exceptions, reports, stage change). A correction
 * (supersedes_seq) or definitions_updated rebuilds the state by replaying the log and reports the
 * differences (deadline_recomputed, deadline_set, cancellations, report_set, stage_changed). On refusal
 * returns EHC_EFORBIDDEN (role), EHC_ECONFLICT (duplicate key), EHC_ESTATE (not allowed now, too early),
 * EHC_ERANGE (a date outside the calendars) or EHC_EINVAL (everything else), fills *err, and leaves
 * *next and *effects empty. `state` is never changed. */
EHC_MUST_USE int ehc_machine_apply(const ehc_machine_env *env, const ehc_case_state *state,
                                   const ehc_event_input *event, ehc_case_state *next, ehc_effects *effects,
                                   ehc_machine_error *err);

/* The events that may be recorded in the current state (before guards and roles): indexes into the
 * workflow's events, in workflow order. Returns how many were written (at most cap). */
size_t ehc_machine_allowed_events(const ehc_workflow *wf, const ehc_case_state *state, size_t *out,
                                  size_t cap);

/* Whether an open instance is overdue on `today` (after its due date; never for an earliest clock). */
bool ehc_machine_is_overdue(const ehc_workflow *wf, const ehc_deadline_instance *instance, ehc_date today);

/* The alert dates of an instance, from its workflow `alerts`: each "before_working_days" offset
 * (the n-th working day before the due date), the due date itself ("on_due", moved back to a working
 * day) and the first working day after it ("overdue"). Written in date order; returns how many. */
typedef struct ehc_alert_date {
    ehc_date on;
    int32_t before_working_days; /* 0 for on_due and overdue */
    bool on_due;
    bool overdue;
} ehc_alert_date;

EHC_MUST_USE int ehc_machine_alert_dates(const ehc_machine_env *env, const ehc_deadline_instance *instance,
                                         ehc_alert_date *out, size_t cap, size_t *count);

#endif
