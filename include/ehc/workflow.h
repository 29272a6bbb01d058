/* Workflow definitions: a statutory process (stages, events, deadlines) read from a JSON file under
 * workflows/ (format: docs/workflows.md), validated completely at load, then immutable. The engine
 * knows no stage or event by name: everything the machine needs is in the typed structs below.
 * A loaded workflow carries the SHA-256 of its file's exact bytes, so a case pins the version it
 * started under. The caller owns the ehc_workflow and frees it with ehc_workflow_free; every pointer
 * reached through it stays valid until then. */
#ifndef EHC_WORKFLOW_H
#define EHC_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ehc/calendar.h"
#include "ehc/common.h"
#include "ehc/date.h"

/* SHA-256 as 64 lowercase hex digits plus the NUL. */
#define EHC_WORKFLOW_HASH_SIZE 65
/* Files larger than this are refused: a workflow is tens of kilobytes. */
#define EHC_WORKFLOW_MAX_FILE_BYTES (1024 * 1024)
/* Alert offsets per list ("before_working_days": [10, 5]). */
#define EHC_WORKFLOW_MAX_ALERT_OFFSETS 8
/* Ids (stages, events, fields, deadlines, exceptions) are [a-z0-9_-], 1..this many characters. */
#define EHC_WORKFLOW_MAX_ID_CHARS 63

/* --- roles --------------------------------------------------------------------------------------- */

/* The roles that may record events; a workflow's `roles` lists are sets of these (a bit mask). */
typedef enum ehc_role {
    EHC_ROLE_OFFICER = 1u << 0,
    EHC_ROLE_MANAGER = 1u << 1,
    EHC_ROLE_SERVICE_MANAGER = 1u << 2,
    EHC_ROLE_DCO = 1u << 3,
    EHC_ROLE_SOCIAL_CARE = 1u << 4,
    EHC_ROLE_ADMIN = 1u << 5,
} ehc_role;

#define EHC_ROLE_COUNT 6

/* "officer", "manager", "service_manager", "dco", "social_care", "admin". EHC_ENOENT otherwise. */
EHC_MUST_USE int ehc_role_parse(const char *name, ehc_role *out);
/* The name of one role bit; "" for anything else. */
const char *ehc_role_name(ehc_role role);

/* --- the definition --------------------------------------------------------------------------- */

typedef enum ehc_field_type {
    EHC_FIELD_DATE,
    EHC_FIELD_ENUM,
    EHC_FIELD_TEXT,
    EHC_FIELD_BOOL,
    EHC_FIELD_INT,
    EHC_FIELD_ID,
    EHC_FIELD_DATETIME, /* "YYYY-MM-DDTHH:MM", wall-clock time in England (deemed receipt) */
} ehc_field_type;

/* "date", "enum", "text", "bool", "int", "id", "datetime". */
const char *ehc_field_type_name(ehc_field_type type);

typedef struct ehc_wf_field {
    const char *id;
    const char *title;
    ehc_field_type type;
    bool required;
    const char *const *values; /* enum only */
    size_t value_count;
    size_t max_length; /* text only: bytes */
    int64_t min, max;  /* int only: inclusive */
} ehc_wf_field;

/* One condition of a guard: the event's field `field` (an index into its fields) has `value`,
 * written as the machine reads field values (bool as "true"/"false", int in decimal). */
typedef struct ehc_wf_condition {
    size_t field;
    const char *value;
} ehc_wf_condition;

/* A guard (`when`): every condition holds. An empty guard always holds. */
typedef struct ehc_wf_when {
    const ehc_wf_condition *conditions;
    size_t count;
} ehc_wf_when;

typedef struct ehc_wf_transition {
    bool from_any_open; /* "from": "*": every non-final stage */
    const size_t *from; /* stage indexes */
    size_t from_count;
    size_t to;
    ehc_wf_when when;
} ehc_wf_transition;

/* A SEN2 reporting item set by an event. `value` is a code, or the event's effective date in ISO
 * form when the workflow says "effective_date". */
typedef struct ehc_wf_report {
    const char *item;
    const char *value;
    bool value_is_effective_date;
    ehc_wf_when when;
} ehc_wf_report;

#define EHC_WF_NONE SIZE_MAX

/* What an event does to the case's advice requests (Reg 6(1)), the "advice" attribute. The store keeps
 * one advice_requests row per key from the events that carry it. */
typedef enum ehc_wf_advice {
    EHC_WF_ADVICE_NONE,
    EHC_WF_ADVICE_REQUESTED,           /* fields: adviser (enum), optional organisation_id (int) */
    EHC_WF_ADVICE_FORWARDED,           /* fields: organisation_id (int): the service it went on to */
    EHC_WF_ADVICE_RETURNED,            /* the advice came back on the event's date */
    EHC_WF_ADVICE_NIL_RETURN,          /* fields: reason (enum), optional detail (text) */
    EHC_WF_ADVICE_EXISTING_SUFFICIENT, /* Reg 6(4); fields: adviser (enum) */
} ehc_wf_advice;

/* "requested", "forwarded", ...; NULL for NONE. */
const char *ehc_wf_advice_name(ehc_wf_advice advice);

/* What an event records for the SEN2 return (statute.md §7), the "sen2_record" attribute. The store
 * keeps the case's plan, placements and the child's needs as the standing events of this kind say. */
typedef enum ehc_wf_sen2_record {
    EHC_WF_SEN2_NONE,
    /* 4a: optional bools residential, work_based, personal_budget, organised_arrangements,
     * direct_payments; optional dates start_on, cease_on; optional int cease_reason (1-9) */
    EHC_WF_SEN2_PLAN,
    /* 4b, one per key: required int rank; optional ints urn, ukprn; optional enum sen_setting (SEN2
     * codes); optional bools sen_unit, resourced_provision; optional dates start_on, end_on */
    EHC_WF_SEN2_PLACEMENT,
    /* SEN need: required enum primary_need, optional enum secondary_need (SEN2 SENtype codes) */
    EHC_WF_SEN2_NEED,
} ehc_wf_sen2_record;

/* "plan", "placement", "need"; NULL for NONE. */
const char *ehc_wf_sen2_record_name(ehc_wf_sen2_record record);

typedef struct ehc_wf_event {
    const char *id;
    const char *title;
    unsigned roles; /* ehc_role bits */
    const ehc_wf_field *fields;
    size_t field_count;
    size_t effective_field; /* a required date field whose value is the effective date, or NONE */
    size_t key_field;       /* the required id field that keys per-instance clocks, or NONE */
    const ehc_wf_transition *transitions;
    size_t transition_count;
    bool stay_any_open; /* allowed in every non-final stage without changing stage */
    const size_t *stay; /* stages where it is allowed without changing stage */
    size_t stay_count;
    size_t depends_on;        /* event index, or NONE */
    bool depends_on_same_key; /* the earlier event must have the same key value */
    const ehc_wf_report *reports;
    size_t report_count;
    bool records_exception;  /* applies one of a deadline's exceptions (fields deadline, exception) */
    bool cancels_all_clocks; /* settles every open clock as cancelled (withdrawal, death) */
    bool stops_letters;      /* stops every pending alert and letter of the case for good (death) */
    /* "deemed_receipt": the effective date is the day a document is deemed received, from an enum
     * field naming the channel (hand, email, first_class_post, signed_for) and a datetime field. */
    bool deemed_receipt;
    size_t receipt_channel_field;
    size_t receipt_at_field;
    ehc_wf_advice advice;           /* needs a key; see ehc_wf_advice for the fields each action needs */
    ehc_wf_sen2_record sen2_record; /* see ehc_wf_sen2_record for the fields each kind needs */
} ehc_wf_event;

typedef enum ehc_deadline_kind {
    EHC_DEADLINE_STATUTORY,
    EHC_DEADLINE_GUIDANCE,
    EHC_DEADLINE_LOCAL,
} ehc_deadline_kind;

/* "statutory", "guidance", "local". */
const char *ehc_deadline_kind_name(ehc_deadline_kind kind);

typedef enum ehc_length_unit {
    EHC_LENGTH_DAYS,
    EHC_LENGTH_WEEKS,
    EHC_LENGTH_MONTHS,
    EHC_LENGTH_WORKING_DAYS,
    EHC_LENGTH_PERIOD_MONTHS, /* last day of the period of N months starting with the origin */
    EHC_LENGTH_BEFORE_FIXED,  /* the day before MM-DD of the origin's year + year_offset */
} ehc_length_unit;

typedef struct ehc_wf_length {
    ehc_length_unit unit;
    int32_t count;       /* all but BEFORE_FIXED: >= 1 */
    int month, day;      /* BEFORE_FIXED */
    int32_t year_offset; /* BEFORE_FIXED */
    bool before;         /* DAYS, WEEKS, MONTHS, WORKING_DAYS: counted back from the origin */
} ehc_wf_length;

typedef struct ehc_wf_event_ref {
    size_t event;
    ehc_wf_when when;
} ehc_wf_event_ref;

typedef struct ehc_wf_exception {
    const char *id;
    const char *title;
    const char *basis;
    /* "setting_closure": the exception (Reg 5(4)(a)/(b), 10(4)(a)/(b)) holds only when the advice
     * request named by the recording event's key was made, from the setting named in that request's
     * `setting` field, inside that setting's closure window. */
    bool setting_closure;
    size_t closure_advice_event;  /* the advice-request event (it has a key and a `setting` id field) */
    size_t closure_setting_field; /* that event's `setting` field */
    ehc_wf_when closure_when;     /* guard on the advice request (e.g. {"adviser": "school"}) */
} ehc_wf_exception;

/* One more candidate date for a "later_of" clock: `length` from the origin event's date field
 * `field` (or from the origin date when field is NONE); with on_the_date, the field's date itself. */
typedef struct ehc_wf_later_term {
    size_t field;
    ehc_wf_length length;
    bool on_the_date; /* no "length": the date in `field` (never NONE then) */
} ehc_wf_later_term;

/* "extended_by": when `event` happens while the clock runs, the due date becomes the later of the
 * current one and `length` from that event's date (tribunal appeal after a mediation certificate). */
typedef struct ehc_wf_extension {
    size_t event;
    ehc_wf_when when;
    ehc_wf_length length;
} ehc_wf_extension;

typedef struct ehc_wf_alerts {
    int32_t before_working_days[EHC_WORKFLOW_MAX_ALERT_OFFSETS]; /* descending */
    size_t before_working_days_count;
    bool on_due;
    bool overdue;
} ehc_wf_alerts;

typedef struct ehc_wf_deadline {
    const char *id;
    const char *title;
    ehc_deadline_kind kind;
    const char *basis; /* NULL only for a local deadline without one */
    size_t origin_event;
    bool per_key;            /* one instance per value of the origin event's key field */
    ehc_wf_when origin_when; /* the clock starts only when this guard holds on the origin event */
    size_t origin_field;     /* a date field of the origin event that the clock runs from, or NONE */
    const ehc_wf_later_term *later_of; /* the due date is the latest of length and these */
    size_t later_of_count;
    const ehc_wf_extension *extended_by;
    size_t extended_by_count;
    bool tribunal_rollover;       /* "rollover": "tribunal": August -> 1st working day of September, etc. */
    const char *exception_report; /* SEN2 item set "0" when the clock starts, "1" on an exception */
    ehc_wf_length length;
    bool earliest; /* "direction": "earliest": met_by events may not act before it */
    /* "direction": "after" (earliest is then true as well): met_by events may act only after the due
     * date, a window's last day computed as a latest date (roll-overs and extensions included). */
    bool strictly_after;
    const ehc_wf_event_ref *met_by;
    size_t met_by_count;
    const ehc_wf_event_ref *cancelled_by;
    size_t cancelled_by_count;
    const ehc_wf_exception *exceptions;
    size_t exception_count;
    ehc_wf_alerts alerts;
} ehc_wf_deadline;

typedef struct ehc_wf_stage {
    const char *id;
    const char *title;
    bool initial;
    bool final;
} ehc_wf_stage;

typedef struct ehc_workflow ehc_workflow;

/* --- loading ------------------------------------------------------------------------------------ */

/* Loads and validates a workflow file. `calendars` is the set the workflow's `calendar` must name.
 * EHC_EIO when the file cannot be read; EHC_EINVAL when it is refused, and err (may be NULL) then
 * holds the file, the JSON path ("$.events[3].transitions[0].to") and the reason. */
EHC_MUST_USE int ehc_workflow_load_file(const char *file, const ehc_calendar_set *calendars,
                                        ehc_workflow **out, ehc_load_error *err);
/* The same from bytes in memory; `file` only labels errors. The hash is of these bytes. */
EHC_MUST_USE int ehc_workflow_load_bytes(const char *file, const char *bytes, size_t len,
                                         const ehc_calendar_set *calendars, ehc_workflow **out,
                                         ehc_load_error *err);
void ehc_workflow_free(ehc_workflow *wf);

/* --- queries ------------------------------------------------------------------------------------ */

const char *ehc_workflow_id(const ehc_workflow *wf);
const char *ehc_workflow_title(const ehc_workflow *wf);
const char *ehc_workflow_file(const ehc_workflow *wf);
/* The id of the bank-holiday calendar its working-day clocks and alerts use. */
const char *ehc_workflow_calendar_id(const ehc_workflow *wf);
/* SHA-256 (lowercase hex) of the exact bytes loaded. */
const char *ehc_workflow_content_hash(const ehc_workflow *wf);
/* The event that opens a case: the first event of every case, recorded once; its effective date is
 * the case's origin (Day 0). */
size_t ehc_workflow_opening_event(const ehc_workflow *wf);

size_t ehc_workflow_stage_count(const ehc_workflow *wf);
const ehc_wf_stage *ehc_workflow_stage(const ehc_workflow *wf, size_t index);
size_t ehc_workflow_initial_stage(const ehc_workflow *wf);
size_t ehc_workflow_event_count(const ehc_workflow *wf);
const ehc_wf_event *ehc_workflow_event(const ehc_workflow *wf, size_t index);
size_t ehc_workflow_deadline_count(const ehc_workflow *wf);
const ehc_wf_deadline *ehc_workflow_deadline(const ehc_workflow *wf, size_t index);

/* Index by id; EHC_ENOENT when there is none. */
EHC_MUST_USE int ehc_workflow_find_stage(const ehc_workflow *wf, const char *id, size_t *index);
EHC_MUST_USE int ehc_workflow_find_event(const ehc_workflow *wf, const char *id, size_t *index);
EHC_MUST_USE int ehc_workflow_find_deadline(const ehc_workflow *wf, const char *id, size_t *index);
/* A field of an event by id; EHC_ENOENT when there is none. */
EHC_MUST_USE int ehc_wf_event_find_field(const ehc_wf_event *ev, const char *id, size_t *index);

/* The SEN2 item of that name as the engine spells it (a pointer that lives for the whole program),
 * or NULL when the engine knows no such item. */
const char *ehc_sen2_item(const char *name);

/* Whether the event may be recorded in the stage at all (some transition from it, or `stay`),
 * before looking at guards. */
bool ehc_wf_event_allowed_in(const ehc_workflow *wf, const ehc_wf_event *ev, size_t stage);

#endif
