/* `ehcd import`: CSV files (docs/import.md) -> checked rows -> each case's events, replayed through
 * the machine as of today -> one transaction of COPYs and INSERT ... SELECTs. Nothing here
 * computes a statutory date: the machine does, exactly as it does for an event recorded live. */
#include "ehc/import.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ehc/csv.h"
#include "ehc/identifiers.h"
#include "ehc/machine.h"
#include "ehc/store.h"

enum { F_CHILDREN, F_REQUESTS, F_DECISIONS, F_ADVICE, F_EXCEPTIONS, F_PLANS, F_REVIEWS, F_PLACEMENTS };

static const char *const file_names[EHC_IMPORT_FILE_COUNT] = {
    "children.csv",   "requests.csv", "decisions.csv", "advice.csv",
    "exceptions.csv", "plans.csv",    "reviews.csv",   "placements.csv"};

const char *ehc_import_file_name(size_t i)
{
    return i < EHC_IMPORT_FILE_COUNT ? file_names[i] : NULL;
}

#define WF_ASSESS "ehc-needs-assessment"
#define WF_REVIEW "annual-review"

/* ---- columns ------------------------------------------------------------------------------------- */

typedef enum col_kind {
    C_TEXT,     /* free text, at most 200 bytes */
    C_REF,      /* a reference in the old system: 1-64 of A-Z a-z 0-9 _ - . : / */
    C_KEY,      /* a workflow id value: 1-63 of a-z 0-9 _ - */
    C_DATE,     /* YYYY-MM-DD, a real date, not after today (the date something happened) */
    C_FDATE,    /* YYYY-MM-DD, a real date, which may be after today (a meeting or move planned) */
    C_DATETIME, /* YYYY-MM-DDTHH:MM */
    C_BOOL,     /* true/false (also yes/no, y/n, 1/0) */
    C_INT,      /* min..max */
    C_ENUM,     /* one of values */
    C_WFENUM,   /* one of the values of a workflow event's enum field */
    C_NHS,
    C_UPN,
    C_POSTCODE,
    C_URN,
    C_UKPRN,
} col_kind;

typedef struct col_spec {
    const char *name;
    col_kind kind;
    bool required;
    const char *const *values;      /* C_ENUM: NULL-terminated */
    const char *wf, *event, *field; /* C_WFENUM */
    int min, max;                   /* C_INT */
} col_spec;

static const char *const sex_codes[] = {"F", "M", "U", NULL};
static const char *const sen_types[] = {"SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI",
                                        "VI",   "MSI", "PD",  "ASD",  "DS",   "OTH",  NULL};
static const char *const closed_reasons[] = {"withdrawn", "moved_away", "died", NULL};
static const char *const decision_kinds[] = {"assess", "issue", NULL};
static const char *const yes_no[] = {"yes", "no", NULL};
static const char *const advice_outcomes[] = {"returned", "nil_return", "existing_sufficient", NULL};
static const char *const sen_settings[] = {"OLA", "OPA", "EHE", "EYP", "OTH", "NEET", "NIEC", "NIEO", NULL};

/* SEN2 CeaseReason codes 1-9 (statute notes s7) and the annual-review workflow's cease_reason values;
 * 5 (transferred to another LA) and 8 (deceased) are other events, not plan_ceased. */
static const char *const cease_reason_values[10] = {
    NULL,           "max_age", "needs_met", "higher_education", "employment", NULL, "no_engagement",
    "left_england", NULL,      "other"};

#define COL(n, k, r)                                                                                         \
    {                                                                                                        \
        .name = n, .kind = k, .required = r                                                                  \
    }
#define ENUMCOL(n, v, r)                                                                                     \
    {                                                                                                        \
        .name = n, .kind = C_ENUM, .required = r, .values = v                                                \
    }
#define WFCOL(n, w, e, f, r)                                                                                 \
    {                                                                                                        \
        .name = n, .kind = C_WFENUM, .required = r, .wf = w, .event = e, .field = f                          \
    }

static const col_spec children_cols[] = {
    COL("child_ref", C_REF, true),
    COL("forename", C_TEXT, true),
    COL("surname", C_TEXT, true),
    COL("date_of_birth", C_DATE, true),
    ENUMCOL("sex", sex_codes, false),
    COL("nhs_number", C_NHS, false),
    COL("upn", C_UPN, false),
    COL("postcode", C_POSTCODE, false),
    ENUMCOL("primary_need", sen_types, false),
    ENUMCOL("secondary_need", sen_types, false),
};
enum { CH_REF, CH_FORENAME, CH_SURNAME, CH_DOB, CH_SEX, CH_NHS, CH_UPN, CH_POSTCODE, CH_NEED1, CH_NEED2 };

static const col_spec requests_cols[] = {
    COL("case_ref", C_REF, true),
    COL("child_ref", C_REF, true),
    COL("received_at", C_DATETIME, true),
    WFCOL("channel", WF_ASSESS, "request_received", "channel", true),
    WFCOL("requested_by", WF_ASSESS, "request_received", "requested_by", true),
    ENUMCOL("closed_reason", closed_reasons, false),
    COL("closed_on", C_DATE, false),
};
enum { RQ_CASE, RQ_CHILD, RQ_AT, RQ_CHANNEL, RQ_BY, RQ_CLOSED_REASON, RQ_CLOSED_ON };

static const col_spec decisions_cols[] = {
    COL("case_ref", C_REF, true),           ENUMCOL("decision", decision_kinds, true),
    ENUMCOL("outcome", yes_no, true),       COL("notified_on", C_DATE, true),
    COL("refusal_final_on", C_DATE, false),
};
enum { DE_CASE, DE_DECISION, DE_OUTCOME, DE_ON, DE_FINAL_ON };

static const col_spec advice_cols[] = {
    COL("case_ref", C_REF, true),
    COL("request_key", C_KEY, true),
    WFCOL("adviser", WF_ASSESS, "advice_requested", "adviser", true),
    COL("requested_on", C_DATE, true),
    COL("received_by_adviser_on", C_DATE, false),
    ENUMCOL("outcome", advice_outcomes, false),
    COL("returned_on", C_DATE, false),
    WFCOL("nil_reason", WF_ASSESS, "advice_nil_return", "reason", false),
};
enum { AD_CASE, AD_KEY, AD_ADVISER, AD_REQUESTED, AD_RECEIVED, AD_OUTCOME, AD_RETURNED, AD_NIL };

static const col_spec exceptions_cols[] = {
    COL("case_ref", C_REF, true),     COL("deadline", C_KEY, true),        COL("exception", C_KEY, true),
    COL("request_key", C_KEY, false), COL("applies_from", C_DATE, true),   COL("applies_to", C_FDATE, false),
    COL("evidence", C_TEXT, true),    COL("family_told_on", C_DATE, true), COL("recorded_on", C_DATE, true),
};
enum { EX_CASE, EX_DEADLINE, EX_EXCEPTION, EX_KEY, EX_FROM, EX_TO, EX_EVIDENCE, EX_TOLD, EX_ON };

static const col_spec plans_cols[] = {
    COL("plan_ref", C_REF, true),
    COL("child_ref", C_REF, true),
    COL("case_ref", C_REF, false),
    COL("draft_served_on", C_DATE, false),
    COL("issued_on", C_DATE, true),
    COL("handed_to_review_on", C_DATE, false),
    WFCOL("made_after", WF_REVIEW, "plan_made", "made_after", false),
    COL("under_five", C_BOOL, true),
    WFCOL("phase_transfer", WF_REVIEW, "phase_transfer_identified", "transfer", false),
    COL("transfer_identified_on", C_DATE, false),
    COL("transfer_on", C_FDATE, false),
    COL("cease_consultation_on", C_DATE, false),
    COL("cease_decision_on", C_DATE, false),
    WFCOL("cease_ground", WF_REVIEW, "cease_decision_notified", "ground", false),
    COL("ceased_on", C_DATE, false),
    {.name = "cease_reason", .kind = C_INT, .min = 1, .max = 9},
};
enum {
    PL_PLAN,
    PL_CHILD,
    PL_CASE,
    PL_DRAFT,
    PL_ISSUED,
    PL_HANDED,
    PL_MADE_AFTER,
    PL_UNDER_FIVE,
    PL_TRANSFER,
    PL_TRANSFER_ID_ON,
    PL_TRANSFER_ON,
    PL_CONSULT_ON,
    PL_CEASE_DEC_ON,
    PL_GROUND,
    PL_CEASED_ON,
    PL_CEASE_REASON
};

static const col_spec reviews_cols[] = {
    COL("plan_ref", C_REF, true),
    COL("arranged_on", C_DATE, true),
    COL("meeting_on", C_FDATE, true),
    COL("invitations_sent_on", C_DATE, false),
    COL("advice_circulated_on", C_DATE, false),
    COL("held_on", C_DATE, false),
    COL("report_sent_on", C_DATE, false),
    WFCOL("decision", WF_REVIEW, "review_decision_notified", "decision", false),
    COL("decision_on", C_DATE, false),
    COL("under_five", C_BOOL, false),
    COL("amendment_proposed_on", C_DATE, false),
    COL("amended_plan_issued_on", C_DATE, false),
    COL("names_next_setting", C_BOOL, false),
};
enum {
    RV_PLAN,
    RV_ARRANGED,
    RV_MEETING,
    RV_INVITES,
    RV_ADVICE,
    RV_HELD,
    RV_REPORT,
    RV_DECISION,
    RV_DECISION_ON,
    RV_UNDER_FIVE,
    RV_PROPOSED,
    RV_AMENDED,
    RV_NEXT_SETTING
};

static const col_spec placements_cols[] = {
    COL("plan_ref", C_REF, true),
    {.name = "rank", .kind = C_INT, .required = true, .min = 1, .max = 9},
    COL("urn", C_URN, false),
    COL("ukprn", C_UKPRN, false),
    ENUMCOL("sen_setting", sen_settings, false),
    COL("start_on", C_DATE, true),
    COL("end_on", C_FDATE, false),
    COL("sen_unit", C_BOOL, false),
    COL("resourced_provision", C_BOOL, false),
};
enum { PC_PLAN, PC_RANK, PC_URN, PC_UKPRN, PC_SETTING, PC_START, PC_END, PC_UNIT, PC_RP };

static const struct {
    const col_spec *cols;
    size_t count;
} file_specs[EHC_IMPORT_FILE_COUNT] = {
    {children_cols, EHC_ARRAY_SIZE(children_cols)},     {requests_cols, EHC_ARRAY_SIZE(requests_cols)},
    {decisions_cols, EHC_ARRAY_SIZE(decisions_cols)},   {advice_cols, EHC_ARRAY_SIZE(advice_cols)},
    {exceptions_cols, EHC_ARRAY_SIZE(exceptions_cols)}, {plans_cols, EHC_ARRAY_SIZE(plans_cols)},
    {reviews_cols, EHC_ARRAY_SIZE(reviews_cols)},       {placements_cols, EHC_ARRAY_SIZE(placements_cols)},
};

/* ---- a string -> index map ------------------------------------------------------------------------ */

typedef struct str_map {
    const char **keys;
    size_t *values;
    size_t cap, count;
} str_map;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void map_free(str_map *m)
{
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

static bool map_get(const str_map *m, const char *key, size_t *value)
{
    if (!m->cap) return false;
    for (size_t i = str_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return false;
        if (strcmp(m->keys[i], key) == 0) {
            if (value) *value = m->values[i];
            return true;
        }
    }
}

/* false when the key is already there (the map is unchanged) */
static bool map_put(str_map *m, const char *key, size_t value)
{
    if ((m->count + 1) * 2 > m->cap) {
        str_map bigger = {.cap = m->cap ? m->cap * 2 : 64};
        bigger.keys = ehc_calloc(bigger.cap, sizeof *bigger.keys);
        bigger.values = ehc_calloc(bigger.cap, sizeof *bigger.values);
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) map_put(&bigger, m->keys[i], m->values[i]);
        map_free(m);
        *m = bigger;
    }
    size_t i = str_hash(key) & (m->cap - 1);
    for (; m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], key) == 0) return false;
    m->keys[i] = key;
    m->values[i] = value;
    m->count++;
    return true;
}

/* ---- the plan ------------------------------------------------------------------------------------- */

typedef struct imp_file {
    ehc_csv_table table;
    bool present;
    int col[20];  /* spec index -> field position, or -1 */
    bool *row_ok; /* per record; record 0 is the header */
} imp_file;

#define IMP_MAX_FIELDS 8

typedef struct imp_event {
    size_t ev; /* index into the workflow's events */
    ehc_date on;
    bool derive; /* the machine derives the date (deemed receipt) */
    ehc_field_value fields[IMP_MAX_FIELDS];
    size_t field_count;
    int file;
    size_t row;
    const char *column;
    size_t order;
} imp_event;

typedef struct imp_case {
    int wf; /* 0 assessment, 1 annual review */
    const char *ref;
    const char *child_ref;
    int file;
    size_t row;
    imp_event *events;
    size_t event_count, event_cap;
    ehc_case_state state;
    bool replayed;
    uint32_t *report_seq; /* parallel to state.reports: the event that last set each item */
    ehc_date *report_on;
    char sha[65];
    long long existing_id;
    int existing; /* 0 new, 1 unchanged, 2 differs */
} imp_case;

struct ehc_import {
    const ehc_definitions *defs;
    const ehc_workflow *wf[2];
    ehc_date today;
    imp_file files[EHC_IMPORT_FILE_COUNT];
    ehc_import_problem *problems;
    size_t problem_count, problem_cap;
    str_map children;    /* child_ref -> record of children.csv */
    str_map assessments; /* case_ref -> case */
    str_map plans;       /* plan_ref -> case */
    str_map plan_cases;  /* plan_ref -> the assessment case that made it */
    imp_case *cases;
    size_t case_count, case_cap;
    size_t event_order;
};

static void problem(ehc_import *imp, int file, size_t row, const char *column, const char *fmt, ...)
    EHC_PRINTF(5, 6);

static void problem(ehc_import *imp, int file, size_t row, const char *column, const char *fmt, ...)
{
    if (imp->problem_count == imp->problem_cap) {
        imp->problem_cap = imp->problem_cap ? imp->problem_cap * 2 : 32;
        imp->problems = ehc_realloc(imp->problems, imp->problem_cap * sizeof *imp->problems);
    }
    ehc_import_problem *p = &imp->problems[imp->problem_count++];
    memset(p, 0, sizeof *p);
    p->file = file >= 0 ? file_names[file] : "";
    p->row = row;
    snprintf(p->column, sizeof p->column, "%s", column ? column : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
    /* a column name or value cut to size may end inside a character (found by fuzz_import) */
    ehc_utf8_scrub(p->column);
    ehc_utf8_scrub(p->message);
}

size_t ehc_import_problem_count(const ehc_import *imp)
{
    return imp->problem_count;
}

const ehc_import_problem *ehc_import_problem_at(const ehc_import *imp, size_t i)
{
    return i < imp->problem_count ? &imp->problems[i] : NULL;
}

size_t ehc_import_case_count(const ehc_import *imp)
{
    return imp->case_count;
}

size_t ehc_import_child_count(const ehc_import *imp)
{
    return imp->children.count;
}

/* The value of column `c` (a spec index) of record `r`, "" when the file lacks the column. */
static const char *val(const ehc_import *imp, int f, size_t r, int c)
{
    const imp_file *file = &imp->files[f];
    int pos = file->col[c];
    if (pos < 0) return "";
    return file->table.records[r].fields[pos];
}

static bool has(const ehc_import *imp, int f, size_t r, int c)
{
    return *val(imp, f, r, c) != '\0';
}

static ehc_date date_of(const ehc_import *imp, int f, size_t r, int c)
{
    ehc_date d = {0};
    const char *s = val(imp, f, r, c);
    if (ehc_date_parse_iso_n(s, s[0] ? 10 : 0, &d)) d.days = 0;
    return d;
}

static const char *bool_of(const ehc_import *imp, int f, size_t r, int c)
{
    const char *s = val(imp, f, r, c);
    return (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "y") == 0 || strcmp(s, "1") == 0 ||
            strcmp(s, "Y") == 0 || strcmp(s, "TRUE") == 0)
               ? "true"
               : "false";
}

static const ehc_wf_field *wf_field(const ehc_import *imp, const char *wf_id, const char *event,
                                    const char *field)
{
    const ehc_workflow *wf = imp->wf[strcmp(wf_id, WF_ASSESS) == 0 ? 0 : 1];
    size_t e, f;
    if (!wf || ehc_workflow_find_event(wf, event, &e)) return NULL;
    const ehc_wf_event *ev = ehc_workflow_event(wf, e);
    if (ehc_wf_event_find_field(ev, field, &f)) return NULL;
    return &ev->fields[f];
}

static bool ref_ok(const char *s, size_t max, bool lower_key)
{
    size_t n = strlen(s);
    if (n < 1 || n > max) return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (lower_key ? !(islower(c) || isdigit(c) || c == '_' || c == '-')
                      : !(isalnum(c) || strchr("_-.:/", c)))
            return false;
    }
    return true;
}

static bool postcode_ok(const char *s)
{
    /* ^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$ (the database's rule) */
    size_t i = 0, n = strlen(s);
    if (!isupper((unsigned char)s[i])) return false;
    i++;
    if (isupper((unsigned char)s[i])) i++;
    if (!isdigit((unsigned char)s[i])) return false;
    i++;
    if (n - i < 3 || n - i > 5) return false;
    if (n - i == 5 || (n - i == 4 && s[i] != ' ')) {
        if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i])) return false;
        i++;
    }
    if (s[i] == ' ') i++;
    return n - i == 3 && isdigit((unsigned char)s[i]) && isupper((unsigned char)s[i + 1]) &&
           isupper((unsigned char)s[i + 2]);
}

static bool digits(const char *s, size_t n)
{
    if (strlen(s) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

/* Checks one value; false (and a problem) when it is wrong. */
static bool check_value(ehc_import *imp, int f, size_t r, const col_spec *c, const char *v)
{
    ehc_date d;
    switch (c->kind) {
    case C_TEXT:
        if (strlen(v) > 200) {
            problem(imp, f, r + 1, c->name, "longer than 200 characters");
            return false;
        }
        return true;
    case C_REF:
        if (!ref_ok(v, 64, false)) {
            problem(imp, f, r + 1, c->name, "'%.64s' is not a reference (1-64 letters, digits, _ - . : /)",
                    v);
            return false;
        }
        return true;
    case C_KEY:
        if (!ref_ok(v, 63, true)) {
            problem(imp, f, r + 1, c->name, "'%.64s' is not an identifier (1-63 of a-z, 0-9, _ and -)", v);
            return false;
        }
        return true;
    case C_DATE:
    case C_FDATE: {
        int rc = strlen(v) == 10 ? ehc_date_parse_iso(v, &d) : EHC_EINVAL;
        if (rc == 0 && c->kind == C_DATE && d.days > imp->today.days) {
            problem(imp, f, r + 1, c->name, "%s is in the future (today is taken as the import date)", v);
            return false;
        }
        if (rc == 0 && (d.days < 0 || d.days > 100000)) rc = EHC_ERANGE;
        if (rc) {
            problem(imp, f, r + 1, c->name, "'%.40s' is not a real date written YYYY-MM-DD", v);
            return false;
        }
        return true;
    }
    case C_DATETIME: {
        int minute;
        if (strlen(v) != 16 || ehc_date_parse_local_datetime(v, &d, &minute)) {
            problem(imp, f, r + 1, c->name, "'%.40s' is not a real date and time written YYYY-MM-DDTHH:MM",
                    v);
            return false;
        }
        return true;
    }
    case C_BOOL: {
        static const char *const ok[] = {"true", "false", "yes", "no",   "y",     "n", "1",
                                         "0",    "Y",     "N",   "TRUE", "FALSE", NULL};
        for (size_t i = 0; ok[i]; i++)
            if (strcmp(v, ok[i]) == 0) return true;
    }
        problem(imp, f, r + 1, c->name, "'%.40s' is not true or false", v);
        return false;
    case C_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || *end || end == v || n < c->min || n > c->max) {
            problem(imp, f, r + 1, c->name, "'%.40s' is not a whole number from %d to %d", v, c->min, c->max);
            return false;
        }
        return true;
    }
    case C_ENUM:
        for (size_t i = 0; c->values[i]; i++)
            if (strcmp(v, c->values[i]) == 0) return true;
        {
            char list[300] = "";
            for (size_t i = 0; c->values[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                         c->values[i]);
            problem(imp, f, r + 1, c->name, "'%.40s' is not one of the codes %s", v, list);
        }
        return false;
    case C_WFENUM: {
        const ehc_wf_field *fd = wf_field(imp, c->wf, c->event, c->field);
        if (!fd) {
            problem(imp, f, r + 1, c->name, "the workflow %s has no field %s.%s", c->wf, c->event, c->field);
            return false;
        }
        for (size_t i = 0; i < fd->value_count; i++)
            if (strcmp(v, fd->values[i]) == 0) return true;
        char list[400] = "";
        for (size_t i = 0; i < fd->value_count; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", fd->values[i]);
        problem(imp, f, r + 1, c->name, "'%.40s' is not one of %s", v, list);
        return false;
    }
    case C_NHS:
        if (!ehc_nhs_number_valid(v)) {
            problem(imp, f, r + 1, c->name,
                    "not an NHS number: 10 digits whose last is the modulus 11 check digit");
            return false;
        }
        return true;
    case C_UPN:
        if (!ehc_upn_valid(v)) {
            problem(imp, f, r + 1, c->name, "not a UPN: 13 characters whose first is the check letter");
            return false;
        }
        return true;
    case C_POSTCODE:
        if (!postcode_ok(v)) {
            problem(imp, f, r + 1, c->name, "'%.20s' is not a postcode in capitals (e.g. OL1 1UT)", v);
            return false;
        }
        return true;
    case C_URN:
        if (!digits(v, 6)) {
            problem(imp, f, r + 1, c->name, "'%.20s' is not a URN (6 digits)", v);
            return false;
        }
        return true;
    case C_UKPRN:
        if (!digits(v, 8) || v[0] != '1') {
            problem(imp, f, r + 1, c->name, "'%.20s' is not a UKPRN (8 digits starting 1)", v);
            return false;
        }
        return true;
    }
    return false;
}

/* Parses one file, maps its header and checks every value. */
static void read_file(ehc_import *imp, int f, const ehc_import_input *in)
{
    imp_file *file = &imp->files[f];
    const col_spec *cols = file_specs[f].cols;
    size_t ncols = file_specs[f].count;
    for (size_t c = 0; c < 20; c++)
        file->col[c] = -1;
    if (!in->bytes) return;
    ehc_csv_error err;
    if (ehc_csv_parse(in->bytes, in->len, &file->table, &err)) {
        char col[40] = "";
        snprintf(col, sizeof col, "field %zu", err.field);
        problem(imp, f, err.record, col, "line %zu: %s", err.line, err.reason);
        return;
    }
    file->present = true;
    if (file->table.count == 0) {
        problem(imp, f, 1, "", "the file is empty: it needs at least its header row");
        file->present = false;
        return;
    }
    file->row_ok = ehc_calloc(file->table.count, sizeof *file->row_ok);
    const ehc_csv_record *hdr = &file->table.records[0];
    bool header_ok = true;
    for (size_t i = 0; i < hdr->count; i++) {
        size_t c = 0;
        while (c < ncols && strcmp(cols[c].name, hdr->fields[i]) != 0)
            c++;
        if (c == ncols) {
            problem(imp, f, 1, hdr->fields[i], "unknown column (docs/import.md lists this file's columns)");
            header_ok = false;
        } else if (file->col[c] >= 0) {
            problem(imp, f, 1, hdr->fields[i], "the column appears twice");
            header_ok = false;
        } else {
            file->col[c] = (int)i;
        }
    }
    for (size_t c = 0; c < ncols; c++)
        if (cols[c].required && file->col[c] < 0) {
            problem(imp, f, 1, cols[c].name, "required column missing from the header");
            header_ok = false;
        }
    if (!header_ok) {
        file->present = false;
        return;
    }
    for (size_t r = 1; r < file->table.count; r++) {
        const ehc_csv_record *rec = &file->table.records[r];
        if (rec->count != hdr->count) {
            problem(imp, f, r + 1, "", "the row has %zu fields; the header has %zu", rec->count, hdr->count);
            continue;
        }
        bool ok = true;
        for (size_t c = 0; c < ncols; c++) {
            if (file->col[c] < 0) continue;
            const char *v = rec->fields[file->col[c]];
            if (!*v) {
                if (cols[c].required) {
                    problem(imp, f, r + 1, cols[c].name, "required: it is empty");
                    ok = false;
                }
                continue;
            }
            if (!check_value(imp, f, r, &cols[c], v)) ok = false;
        }
        file->row_ok[r] = ok;
    }
}

/* ---- cases and their events ---------------------------------------------------------------------- */

static size_t add_case(ehc_import *imp, int wf, const char *ref, const char *child_ref, int file, size_t row)
{
    if (imp->case_count == imp->case_cap) {
        imp->case_cap = imp->case_cap ? imp->case_cap * 2 : 256;
        imp->cases = ehc_realloc(imp->cases, imp->case_cap * sizeof *imp->cases);
    }
    imp_case *c = &imp->cases[imp->case_count];
    memset(c, 0, sizeof *c);
    c->wf = wf;
    c->ref = ref;
    c->child_ref = child_ref;
    c->file = file;
    c->row = row;
    return imp->case_count++;
}

/* A new event on case `ci`; NULL when the workflow lacks it (a problem is then listed). */
static imp_event *add_event(ehc_import *imp, size_t ci, const char *type, ehc_date on, int file, size_t row,
                            const char *column)
{
    imp_case *c = &imp->cases[ci];
    size_t ev;
    if (ehc_workflow_find_event(imp->wf[c->wf], type, &ev)) {
        problem(imp, file, row, column, "the workflow %s has no event %s", ehc_workflow_id(imp->wf[c->wf]),
                type);
        return NULL;
    }
    if (c->event_count == c->event_cap) {
        c->event_cap = c->event_cap ? c->event_cap * 2 : 8;
        c->events = ehc_realloc(c->events, c->event_cap * sizeof *c->events);
    }
    imp_event *e = &c->events[c->event_count++];
    memset(e, 0, sizeof *e);
    e->ev = ev;
    e->on = on;
    e->file = file;
    e->row = row;
    e->column = column;
    e->order = imp->event_order++;
    return e;
}

static void add_field(imp_event *e, const char *field, const char *value)
{
    if (!e || e->field_count == IMP_MAX_FIELDS) return;
    e->fields[e->field_count++] = (ehc_field_value){.field = field, .value = value};
}

/* The row's case in `map`, or a problem naming the unknown reference. */
static bool find_case(ehc_import *imp, const str_map *map, int f, size_t r, int c, const char *what,
                      size_t *ci)
{
    const char *ref = val(imp, f, r, c);
    if (map_get(map, ref, ci)) return true;
    problem(imp, f, r + 1, file_specs[f].cols[c].name, "no %s with the reference '%s'", what, ref);
    return false;
}

static const char *col_name(int f, int c)
{
    return file_specs[f].cols[c].name;
}

/* An event dated by column c of the row (when that column has a value). */
static imp_event *event_at(ehc_import *imp, size_t ci, const char *type, int f, size_t r, int c)
{
    if (!has(imp, f, r, c)) return NULL;
    return add_event(imp, ci, type, date_of(imp, f, r, c), f, r + 1, col_name(f, c));
}

static bool both_or_neither(ehc_import *imp, int f, size_t r, int a, int b)
{
    if (has(imp, f, r, a) == has(imp, f, r, b)) return true;
    problem(imp, f, r + 1, col_name(f, has(imp, f, r, a) ? b : a), "give %s and %s together, or neither",
            col_name(f, a), col_name(f, b));
    return false;
}

static bool not_before(ehc_import *imp, int f, size_t r, int later, int earlier, const char *what)
{
    if (!has(imp, f, r, later) || !has(imp, f, r, earlier)) return true;
    if (date_of(imp, f, r, later).days >= date_of(imp, f, r, earlier).days) return true;
    problem(imp, f, r + 1, col_name(f, later), "%s %s is before %s %s: %s", col_name(f, later),
            val(imp, f, r, later), col_name(f, earlier), val(imp, f, r, earlier), what);
    return false;
}

/* the day of requests.csv record r's received_at */
static ehc_date request_date_row(const ehc_import *imp, size_t r)
{
    ehc_date d = {0};
    if (ehc_date_parse_iso_n(val(imp, F_REQUESTS, r, RQ_AT), 10, &d)) d.days = 0;
    return d;
}

/* the day the request of assessment case ci was received (its opening row) */
static ehc_date request_date(const ehc_import *imp, size_t ci)
{
    return request_date_row(imp, imp->cases[ci].row - 1);
}

static void build_children(ehc_import *imp)
{
    imp_file *file = &imp->files[F_CHILDREN];
    if (!file->present) return;
    for (size_t r = 1; r < file->table.count; r++) {
        if (!file->row_ok[r]) continue;
        if (!map_put(&imp->children, val(imp, F_CHILDREN, r, CH_REF), r)) {
            problem(imp, F_CHILDREN, r + 1, "child_ref", "the child '%s' appears twice",
                    val(imp, F_CHILDREN, r, CH_REF));
            continue;
        }
        if (has(imp, F_CHILDREN, r, CH_NEED2) && !has(imp, F_CHILDREN, r, CH_NEED1))
            problem(imp, F_CHILDREN, r + 1, "secondary_need", "a secondary need without a primary need");
        ehc_date dob = date_of(imp, F_CHILDREN, r, CH_DOB), min;
        if (ehc_date_from_ymd(1990, 1, 1, &min) == 0 && dob.days < min.days)
            problem(imp, F_CHILDREN, r + 1, "date_of_birth",
                    "before 1990-01-01: not a child or young person "
                    "who can hold a plan");
    }
}

static bool child_known(ehc_import *imp, int f, size_t r, int c)
{
    if (map_get(&imp->children, val(imp, f, r, c), NULL)) return true;
    problem(imp, f, r + 1, "child_ref", "no child with the reference '%s' in children.csv",
            val(imp, f, r, c));
    return false;
}

static void build_requests(ehc_import *imp)
{
    const int F = F_REQUESTS;
    imp_file *file = &imp->files[F];
    if (!file->present) return;
    for (size_t r = 1; r < file->table.count; r++) {
        if (!file->row_ok[r]) continue;
        bool ok = child_known(imp, F, r, RQ_CHILD);
        ok = both_or_neither(imp, F, r, RQ_CLOSED_REASON, RQ_CLOSED_ON) && ok;
        if (has(imp, F, r, RQ_CLOSED_ON) &&
            date_of(imp, F, r, RQ_CLOSED_ON).days < request_date_row(imp, r).days) {
            problem(imp, F, r + 1, "closed_on", "closed on %s, before the request was received (%s)",
                    val(imp, F, r, RQ_CLOSED_ON), val(imp, F, r, RQ_AT));
            ok = false;
        }
        if (!ok) continue;
        size_t ci = add_case(imp, 0, val(imp, F, r, RQ_CASE), val(imp, F, r, RQ_CHILD), F, r + 1);
        if (!map_put(&imp->assessments, val(imp, F, r, RQ_CASE), ci)) {
            problem(imp, F, r + 1, "case_ref", "the case '%s' appears twice", val(imp, F, r, RQ_CASE));
            imp->case_count--;
            continue;
        }
        imp_event *e =
            add_event(imp, ci, "request_received", request_date_row(imp, r), F, r + 1, "received_at");
        if (e) e->derive = true;
        add_field(e, "requested_by", val(imp, F, r, RQ_BY));
        add_field(e, "channel", val(imp, F, r, RQ_CHANNEL));
        add_field(e, "received_at", val(imp, F, r, RQ_AT));
        const char *why = val(imp, F, r, RQ_CLOSED_REASON);
        if (*why)
            event_at(imp, ci,
                     strcmp(why, "withdrawn") == 0    ? "withdrawn"
                     : strcmp(why, "moved_away") == 0 ? "moved_to_another_la"
                                                      : "child_died",
                     F, r, RQ_CLOSED_ON);
    }
}

static void build_decisions(ehc_import *imp)
{
    const int F = F_DECISIONS;
    imp_file *file = &imp->files[F];
    if (!file->present) return;
    for (size_t r = 1; r < file->table.count; r++) {
        size_t ci;
        if (!file->row_ok[r] ||
            !find_case(imp, &imp->assessments, F, r, DE_CASE, "case in requests.csv", &ci))
            continue;
        ehc_date on = date_of(imp, F, r, DE_ON), received = request_date(imp, ci);
        if (on.days < received.days) {
            problem(
                imp, F, r + 1, "notified_on",
                "the decision was notified on %s, before the request was received on %.10s (requests.csv row "
                "%zu)",
                val(imp, F, r, DE_ON), val(imp, F_REQUESTS, imp->cases[ci].row - 1, RQ_AT),
                imp->cases[ci].row);
            continue;
        }
        bool yes = strcmp(val(imp, F, r, DE_OUTCOME), "yes") == 0;
        if (yes && has(imp, F, r, DE_FINAL_ON)) {
            problem(imp, F, r + 1, "refusal_final_on", "only a refusal (outcome no) can become final");
            continue;
        }
        if (!not_before(imp, F, r, DE_FINAL_ON, DE_ON, "a refusal is final only after it was notified"))
            continue;
        bool assess = strcmp(val(imp, F, r, DE_DECISION), "assess") == 0;
        imp_event *e = event_at(imp, ci, assess ? "decision_to_assess" : "decision_to_issue", F, r, DE_ON);
        add_field(e, "decision", yes ? "yes" : "no");
        event_at(imp, ci, "refusal_stands", F, r, DE_FINAL_ON);
    }
}

static void build_advice(ehc_import *imp)
{
    const int F = F_ADVICE;
    imp_file *file = &imp->files[F];
    if (!file->present) return;
    for (size_t r = 1; r < file->table.count; r++) {
        size_t ci;
        if (!file->row_ok[r] ||
            !find_case(imp, &imp->assessments, F, r, AD_CASE, "case in requests.csv", &ci))
            continue;
        const char *outcome = val(imp, F, r, AD_OUTCOME), *key = val(imp, F, r, AD_KEY);
        if (strcmp(outcome, "existing_sufficient") == 0) {
            imp_event *e = event_at(imp, ci, "existing_advice_agreed", F, r, AD_REQUESTED);
            add_field(e, "request_key", key);
            add_field(e, "adviser", val(imp, F, r, AD_ADVISER));
            continue;
        }
        bool ok = true;
        if (!has(imp, F, r, AD_RECEIVED)) {
            problem(imp, F, r + 1, "received_by_adviser_on",
                    "required for a request (the 6 weeks of Reg 8 run from the adviser's receipt)");
            ok = false;
        }
        if (*outcome && !has(imp, F, r, AD_RETURNED)) {
            problem(imp, F, r + 1, "returned_on", "required when the outcome is %s", outcome);
            ok = false;
        }
        if (!*outcome && has(imp, F, r, AD_RETURNED)) {
            problem(imp, F, r + 1, "outcome", "a return date without an outcome");
            ok = false;
        }
        if ((strcmp(outcome, "nil_return") == 0) != has(imp, F, r, AD_NIL)) {
            problem(imp, F, r + 1, "nil_reason", "give a nil_reason with a nil_return, and only then");
            ok = false;
        }
        ok = not_before(imp, F, r, AD_RECEIVED, AD_REQUESTED,
                        "the adviser cannot receive it before it was sent") &&
             ok;
        ok = not_before(imp, F, r, AD_RETURNED, AD_REQUESTED,
                        "advice cannot come back before it was asked for") &&
             ok;
        if (!ok) continue;
        imp_event *e = event_at(imp, ci, "advice_requested", F, r, AD_REQUESTED);
        add_field(e, "request_key", key);
        add_field(e, "adviser", val(imp, F, r, AD_ADVISER));
        add_field(e, "received_on", val(imp, F, r, AD_RECEIVED));
        if (strcmp(outcome, "returned") == 0) {
            add_field(event_at(imp, ci, "advice_received", F, r, AD_RETURNED), "request_key", key);
        } else if (strcmp(outcome, "nil_return") == 0) {
            e = event_at(imp, ci, "advice_nil_return", F, r, AD_RETURNED);
            add_field(e, "request_key", key);
            add_field(e, "reason", val(imp, F, r, AD_NIL));
        }
    }
}

static void build_exceptions(ehc_import *imp)
{
    const int F = F_EXCEPTIONS;
    imp_file *file = &imp->files[F];
    if (!file->present) return;
    for (size_t r = 1; r < file->table.count; r++) {
        size_t ci, d;
        if (!file->row_ok[r] ||
            !find_case(imp, &imp->assessments, F, r, EX_CASE, "case in requests.csv", &ci))
            continue;
        if (ehc_workflow_find_deadline(imp->wf[0], val(imp, F, r, EX_DEADLINE), &d)) {
            problem(imp, F, r + 1, "deadline", "the assessment has no deadline '%s'",
                    val(imp, F, r, EX_DEADLINE));
            continue;
        }
        if (!not_before(imp, F, r, EX_TO, EX_FROM, "an exception ends after it begins")) continue;
        imp_event *e = event_at(imp, ci, "exception_recorded", F, r, EX_ON);
        add_field(e, "deadline", val(imp, F, r, EX_DEADLINE));
        add_field(e, "exception", val(imp, F, r, EX_EXCEPTION));
        if (has(imp, F, r, EX_KEY)) add_field(e, "request_key", val(imp, F, r, EX_KEY));
        add_field(e, "applies_from", val(imp, F, r, EX_FROM));
        if (has(imp, F, r, EX_TO)) add_field(e, "applies_to", val(imp, F, r, EX_TO));
        add_field(e, "evidence", val(imp, F, r, EX_EVIDENCE));
        add_field(e, "family_told_on", val(imp, F, r, EX_TOLD));
    }
}

static void build_plans(ehc_import *imp)
{
    const int F = F_PLANS;
    imp_file *file = &imp->files[F];
    if (!file->present) return;
    for (size_t r = 1; r < file->table.count; r++) {
        if (!file->row_ok[r]) continue;
        bool ok = child_known(imp, F, r, PL_CHILD);
        size_t ai = 0;
        bool from_case = has(imp, F, r, PL_CASE);
        if (from_case) {
            ok = find_case(imp, &imp->assessments, F, r, PL_CASE, "case in requests.csv", &ai) && ok;
            if (!has(imp, F, r, PL_DRAFT)) {
                problem(imp, F, r + 1, "draft_served_on",
                        "required for a plan made by a case in requests.csv");
                ok = false;
            }
            if (ok && strcmp(imp->cases[ai].child_ref, val(imp, F, r, PL_CHILD)) != 0) {
                problem(imp, F, r + 1, "child_ref", "the case '%s' is of the child '%s', not '%s'",
                        val(imp, F, r, PL_CASE), imp->cases[ai].child_ref, val(imp, F, r, PL_CHILD));
                ok = false;
            }
        } else if (has(imp, F, r, PL_DRAFT) || has(imp, F, r, PL_HANDED)) {
            problem(imp, F, r + 1, has(imp, F, r, PL_DRAFT) ? "draft_served_on" : "handed_to_review_on",
                    "only for a plan made by a case in requests.csv (give case_ref)");
            ok = false;
        }
        ok = not_before(imp, F, r, PL_ISSUED, PL_DRAFT, "a final plan follows its draft") && ok;
        ok = not_before(imp, F, r, PL_HANDED, PL_ISSUED, "a plan goes to review after it is issued") && ok;
        bool transfer = has(imp, F, r, PL_TRANSFER) || has(imp, F, r, PL_TRANSFER_ID_ON) ||
                        has(imp, F, r, PL_TRANSFER_ON);
        if (transfer && !(has(imp, F, r, PL_TRANSFER) && has(imp, F, r, PL_TRANSFER_ID_ON) &&
                          has(imp, F, r, PL_TRANSFER_ON))) {
            problem(imp, F, r + 1, "phase_transfer",
                    "give phase_transfer, transfer_identified_on and transfer_on together, or none");
            ok = false;
        }
        ok = both_or_neither(imp, F, r, PL_CEASE_DEC_ON, PL_GROUND) && ok;
        ok = both_or_neither(imp, F, r, PL_CEASED_ON, PL_CEASE_REASON) && ok;
        ok =
            not_before(imp, F, r, PL_CEASE_DEC_ON, PL_CONSULT_ON, "consultation comes before the decision") &&
            ok;
        ok = not_before(imp, F, r, PL_CEASED_ON, PL_CEASE_DEC_ON,
                        "a plan ceases after the decision to cease") &&
             ok;
        long reason = has(imp, F, r, PL_CEASE_REASON) ? strtol(val(imp, F, r, PL_CEASE_REASON), NULL, 10) : 0;
        if (reason == 5) {
            problem(
                imp, F, r + 1, "cease_reason",
                "SEN2 code 5 (transferred to another authority) is recorded with the move, which this import "
                "does not read yet: leave the plan open and record the move in ehcd");
            ok = false;
        }
        bool review_case = !from_case || has(imp, F, r, PL_HANDED);
        if (!review_case && (transfer || has(imp, F, r, PL_CONSULT_ON) || has(imp, F, r, PL_CEASED_ON))) {
            problem(
                imp, F, r + 1, "handed_to_review_on",
                "a phase transfer or ceasing belongs to the plan's review case, which opens only once the "
                "plan is handed to review");
            ok = false;
        }
        if (!ok) continue;
        if (from_case) {
            imp_event *e = event_at(imp, ai, "draft_served", F, r, PL_DRAFT);
            add_field(e, "served_on", val(imp, F, r, PL_DRAFT));
            event_at(imp, ai, "placement_decided", F, r, PL_ISSUED);
            event_at(imp, ai, "final_plan_issued", F, r, PL_ISSUED);
            /* SEN2 4a: the plan's record, starting on the day it was issued */
            event_at(imp, ai, "plan_details_recorded", F, r, PL_ISSUED);
            event_at(imp, ai, "handed_to_review", F, r, PL_HANDED);
            map_put(&imp->plan_cases, val(imp, F, r, PL_PLAN), ai);
        }
        if (!review_case) {
            if (!map_put(&imp->plans, val(imp, F, r, PL_PLAN), SIZE_MAX))
                problem(imp, F, r + 1, "plan_ref", "the plan '%s' appears twice", val(imp, F, r, PL_PLAN));
            continue;
        }
        size_t ci = add_case(imp, 1, val(imp, F, r, PL_PLAN), val(imp, F, r, PL_CHILD), F, r + 1);
        if (!map_put(&imp->plans, val(imp, F, r, PL_PLAN), ci)) {
            problem(imp, F, r + 1, "plan_ref", "the plan '%s' appears twice", val(imp, F, r, PL_PLAN));
            imp->case_count--;
            continue;
        }
        imp_event *e = event_at(imp, ci, "plan_made", F, r, PL_ISSUED);
        add_field(e, "under_five", bool_of(imp, F, r, PL_UNDER_FIVE));
        const char *after = val(imp, F, r, PL_MADE_AFTER);
        add_field(e, "made_after", *after ? after : from_case ? "assessment" : "other");
        if (transfer) {
            e = event_at(imp, ci, "phase_transfer_identified", F, r, PL_TRANSFER_ID_ON);
            add_field(e, "transfer", val(imp, F, r, PL_TRANSFER));
            add_field(e, "transfer_on", val(imp, F, r, PL_TRANSFER_ON));
        }
        event_at(imp, ci, "cease_consultation_started", F, r, PL_CONSULT_ON);
        e = event_at(imp, ci, "cease_decision_notified", F, r, PL_CEASE_DEC_ON);
        add_field(e, "ground", val(imp, F, r, PL_GROUND));
        if (reason == 8) {
            event_at(imp, ci, "child_died", F, r, PL_CEASED_ON);
        } else if (reason) {
            e = event_at(imp, ci, "plan_ceased", F, r, PL_CEASED_ON);
            add_field(e, "cease_reason", cease_reason_values[reason]);
        }
    }
}

/* the review case of the row's plan, or a problem */
static bool find_plan(ehc_import *imp, int f, size_t r, size_t *ci)
{
    if (!find_case(imp, &imp->plans, f, r, 0, "plan in plans.csv", ci)) return false;
    if (*ci != SIZE_MAX) return true;
    problem(
        imp, f, r + 1, "plan_ref",
        "the plan '%s' is not yet handed to review (handed_to_review_on is empty in plans.csv), so it has no "
        "review case",
        val(imp, f, r, 0));
    return false;
}

static void build_reviews(ehc_import *imp)
{
    const int F = F_REVIEWS;
    imp_file *file = &imp->files[F];
    if (!file->present) return;
    for (size_t r = 1; r < file->table.count; r++) {
        size_t ci;
        if (!file->row_ok[r] || !find_plan(imp, F, r, &ci)) continue;
        bool ok = both_or_neither(imp, F, r, RV_DECISION, RV_DECISION_ON);
        ok = not_before(imp, F, r, RV_MEETING, RV_ARRANGED, "a meeting is arranged before it is held") && ok;
        ok = not_before(imp, F, r, RV_HELD, RV_ARRANGED, "a meeting is arranged before it is held") && ok;
        ok = not_before(imp, F, r, RV_DECISION_ON, RV_HELD, "the decision follows the meeting") && ok;
        ok = not_before(imp, F, r, RV_AMENDED, RV_PROPOSED, "an amended plan follows the proposal") && ok;
        if (has(imp, F, r, RV_DECISION_ON) && !has(imp, F, r, RV_HELD)) {
            problem(imp, F, r + 1, "held_on", "a review decision needs the meeting it follows");
            ok = false;
        }
        if (has(imp, F, r, RV_AMENDED) && !has(imp, F, r, RV_PROPOSED)) {
            problem(imp, F, r + 1, "amendment_proposed_on", "an amended plan needs the proposal it follows");
            ok = false;
        }
        if (!ok) continue;
        imp_event *e = event_at(imp, ci, "review_meeting_arranged", F, r, RV_ARRANGED);
        add_field(e, "meeting_on", val(imp, F, r, RV_MEETING));
        event_at(imp, ci, "invitations_sent", F, r, RV_INVITES);
        event_at(imp, ci, "advice_circulated", F, r, RV_ADVICE);
        event_at(imp, ci, "review_meeting_held", F, r, RV_HELD);
        event_at(imp, ci, "review_report_sent", F, r, RV_REPORT);
        e = event_at(imp, ci, "review_decision_notified", F, r, RV_DECISION_ON);
        add_field(e, "decision", val(imp, F, r, RV_DECISION));
        add_field(e, "under_five", bool_of(imp, F, r, RV_UNDER_FIVE));
        event_at(imp, ci, "amendment_proposed", F, r, RV_PROPOSED);
        e = event_at(imp, ci, "amended_plan_issued", F, r, RV_AMENDED);
        add_field(e, "names_next_setting", bool_of(imp, F, r, RV_NEXT_SETTING));
    }
}

static void build_placements(ehc_import *imp)
{
    const int F = F_PLACEMENTS;
    imp_file *file = &imp->files[F];
    if (!file->present) return;
    for (size_t r = 1; r < file->table.count; r++) {
        size_t ci, pr;
        if (!file->row_ok[r]) continue;
        const char *plan = val(imp, F, r, PC_PLAN);
        if (!map_get(&imp->plans, plan, NULL)) {
            problem(imp, F, r + 1, "plan_ref", "no plan in plans.csv with the reference '%s'", plan);
            continue;
        }
        if (!map_get(&imp->plan_cases, plan, &ci)) {
            problem(imp, F, r + 1, "plan_ref",
                    "a placement is recorded on the case that made the plan, and the plan '%s' names none "
                    "(case_ref in plans.csv): record it in ehcd once the plan's case is there",
                    plan);
            continue;
        }
        int n = has(imp, F, r, PC_URN) + has(imp, F, r, PC_UKPRN) + has(imp, F, r, PC_SETTING);
        if (n != 1) {
            problem(imp, F, r + 1, "urn", "give exactly one of urn, ukprn and sen_setting (SEN2 module 4b)");
            continue;
        }
        if (!not_before(imp, F, r, PC_END, PC_START, "a placement ends after it starts")) continue;
        /* recorded once the plan is issued: on its start, or on the issue day for an earlier start */
        ehc_date on = date_of(imp, F, r, PC_START);
        const char *column = "start_on";
        if (map_get(&imp->plans, plan, &pr)) {
            for (size_t k = 1; k < imp->files[F_PLANS].table.count; k++)
                if (imp->files[F_PLANS].row_ok[k] && strcmp(val(imp, F_PLANS, k, PL_PLAN), plan) == 0 &&
                    date_of(imp, F_PLANS, k, PL_ISSUED).days > on.days)
                    on = date_of(imp, F_PLANS, k, PL_ISSUED);
        }
        imp_event *e = add_event(imp, ci, "placement_recorded", on, F, r + 1, column);
        static const char *const keys[] = {"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"};
        long rank = strtol(val(imp, F, r, PC_RANK), NULL, 10);
        add_field(e, "placement_key", keys[rank - 1]);
        add_field(e, "rank", val(imp, F, r, PC_RANK));
        if (has(imp, F, r, PC_URN)) add_field(e, "urn", val(imp, F, r, PC_URN));
        if (has(imp, F, r, PC_UKPRN)) add_field(e, "ukprn", val(imp, F, r, PC_UKPRN));
        if (has(imp, F, r, PC_SETTING)) {
            static const char *const lower[] = {"ola", "opa", "ehe", "eyp", "oth", "neet", "niec", "nieo"};
            for (size_t k = 0; k < EHC_ARRAY_SIZE(lower); k++)
                if (strcmp(sen_settings[k], val(imp, F, r, PC_SETTING)) == 0)
                    add_field(e, "sen_setting", lower[k]);
        }
        add_field(e, "sen_unit", bool_of(imp, F, r, PC_UNIT));
        add_field(e, "resourced_provision", bool_of(imp, F, r, PC_RP));
        add_field(e, "start_on", val(imp, F, r, PC_START));
        if (has(imp, F, r, PC_END)) add_field(e, "end_on", val(imp, F, r, PC_END));
    }
}

/* ---- replay ------------------------------------------------------------------------------------- */

static const ehc_workflow *sort_wf;

static int event_cmp(const void *pa, const void *pb)
{
    const imp_event *a = pa, *b = pb;
    size_t open = ehc_workflow_opening_event(sort_wf);
    if ((a->ev == open) != (b->ev == open)) return a->ev == open ? -1 : 1;
    if (a->on.days != b->on.days) return a->on.days < b->on.days ? -1 : 1;
    if (a->ev != b->ev) return a->ev < b->ev ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static const char *role_for(const ehc_wf_event *ev)
{
    static const ehc_role prefer[] = {EHC_ROLE_OFFICER, EHC_ROLE_MANAGER,     EHC_ROLE_SERVICE_MANAGER,
                                      EHC_ROLE_DCO,     EHC_ROLE_SOCIAL_CARE, EHC_ROLE_ADMIN};
    for (size_t i = 0; i < EHC_ARRAY_SIZE(prefer); i++)
        if (ev->roles & prefer[i]) return ehc_role_name(prefer[i]);
    return "officer";
}

static void replay_case(ehc_import *imp, imp_case *c)
{
    const ehc_workflow *wf = imp->wf[c->wf];
    sort_wf = wf;
    qsort(c->events, c->event_count, sizeof *c->events, event_cmp);
    ehc_case_state_init(wf, &c->state);
    ehc_machine_env env = {
        .workflow = wf, .calendars = ehc_definitions_calendars(imp->defs), .today = imp->today};
    for (size_t i = 0; i < c->event_count; i++) {
        imp_event *e = &c->events[i];
        const ehc_wf_event *ev = ehc_workflow_event(wf, e->ev);
        if (strcmp(ev->id, "withdrawn") == 0 && e->field_count == 0) {
            /* the SEN2 W code depends on when: before or after the decision to assess */
            const char *stage = ehc_workflow_stage(wf, c->state.stage)->id;
            bool before = strcmp(stage, "request") == 0 || strcmp(stage, "deciding") == 0;
            add_field(e, "stage_reached", before ? "before_decision_to_assess" : "during_assessment");
        }
        ehc_event_input in = {.type = ev->id,
                              .actor_role = role_for(ev),
                              .effective_on = e->on,
                              .derive_effective_on = e->derive,
                              .fields = e->fields,
                              .field_count = e->field_count};
        ehc_case_state next;
        ehc_effects effects;
        ehc_machine_error err;
        memset(&err, 0, sizeof err);
        if (ehc_machine_apply(&env, &c->state, &in, &next, &effects, &err)) {
            problem(imp, e->file, e->row, e->column, "%s (case %s: %s)", err.message, c->ref, ev->id);
            return;
        }
        ehc_effects_free(&effects);
        /* which event last set each SEN2 item (the store records it per item) */
        uint32_t *seq = ehc_calloc(next.report_count + 1, sizeof *seq);
        ehc_date *on = ehc_calloc(next.report_count + 1, sizeof *on);
        for (size_t k = 0; k < next.report_count; k++) {
            seq[k] = (uint32_t)next.event_count;
            on[k] = next.events[next.event_count - 1].effective_on;
            for (size_t j = 0; j < c->state.report_count; j++)
                if (strcmp(c->state.reports[j].item, next.reports[k].item) == 0 &&
                    strcmp(c->state.reports[j].value, next.reports[k].value) == 0) {
                    seq[k] = c->report_seq[j];
                    on[k] = c->report_on[j];
                }
        }
        free(c->report_seq);
        free(c->report_on);
        c->report_seq = seq;
        c->report_on = on;
        ehc_case_state_free(&c->state);
        c->state = next;
    }
    c->replayed = true;
}

ehc_import *ehc_import_prepare(const ehc_definitions *defs,
                               const ehc_import_input inputs[EHC_IMPORT_FILE_COUNT], ehc_date today)
{
    ehc_import *imp = ehc_calloc(1, sizeof *imp);
    imp->defs = defs;
    imp->today = today;
    if (ehc_definitions_find(defs, WF_ASSESS, &imp->wf[0]) ||
        ehc_definitions_find(defs, WF_REVIEW, &imp->wf[1])) {
        problem(imp, -1, 0, "", "the workflows %s and %s must be loaded to import", WF_ASSESS, WF_REVIEW);
        return imp;
    }
    bool any = false;
    for (int f = 0; f < EHC_IMPORT_FILE_COUNT; f++) {
        read_file(imp, f, &inputs[f]);
        any = any || inputs[f].bytes;
    }
    if (!any) {
        problem(imp, -1, 0, "", "no import file found (children.csv, requests.csv, ...)");
        return imp;
    }
    build_children(imp);
    build_requests(imp);
    build_decisions(imp);
    build_advice(imp);
    build_exceptions(imp);
    build_plans(imp);
    build_reviews(imp);
    build_placements(imp);
    for (size_t i = 0; i < imp->case_count; i++)
        replay_case(imp, &imp->cases[i]);
    return imp;
}

void ehc_import_free(ehc_import *imp)
{
    if (!imp) return;
    for (size_t i = 0; i < imp->case_count; i++) {
        imp_case *c = &imp->cases[i];
        ehc_case_state_free(&c->state);
        free(c->events);
        free(c->report_seq);
        free(c->report_on);
    }
    free(imp->cases);
    for (int f = 0; f < EHC_IMPORT_FILE_COUNT; f++) {
        ehc_csv_table_free(&imp->files[f].table);
        free(imp->files[f].row_ok);
    }
    map_free(&imp->children);
    map_free(&imp->assessments);
    map_free(&imp->plans);
    map_free(&imp->plan_cases);
    free(imp->problems);
    free(imp);
}

/* ---- writing ----------------------------------------------------------------------------------- */

static void add_opt(cJSON *obj, const char *name, const char *value)
{
    if (value && *value) cJSON_AddStringToObject(obj, name, value);
}

static cJSON *child_json(const ehc_import *imp, const char *child_ref)
{
    size_t r;
    cJSON *o = cJSON_CreateObject();
    if (!map_get(&imp->children, child_ref, &r)) return o;
    const int F = F_CHILDREN;
    cJSON_AddStringToObject(o, "source_ref", child_ref);
    add_opt(o, "forename", val(imp, F, r, CH_FORENAME));
    add_opt(o, "surname", val(imp, F, r, CH_SURNAME));
    add_opt(o, "date_of_birth", val(imp, F, r, CH_DOB));
    add_opt(o, "sex", val(imp, F, r, CH_SEX));
    add_opt(o, "nhs_number", val(imp, F, r, CH_NHS));
    add_opt(o, "upn", val(imp, F, r, CH_UPN));
    add_opt(o, "postcode", val(imp, F, r, CH_POSTCODE));
    cJSON *needs = cJSON_AddArrayToObject(o, "needs");
    if (has(imp, F, r, CH_NEED1)) cJSON_AddItemToArray(needs, cJSON_CreateString(val(imp, F, r, CH_NEED1)));
    if (has(imp, F, r, CH_NEED2)) cJSON_AddItemToArray(needs, cJSON_CreateString(val(imp, F, r, CH_NEED2)));
    return o;
}

/* An event's fields as JSON of the workflow's types (bools and ints as JSON values), as the API
 * stores them. */
static cJSON *fields_json(const ehc_wf_event *ev, const ehc_case_event *rec)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < rec->field_count; i++) {
        const char *name = rec->fields[i].field, *v = rec->fields[i].value;
        size_t f;
        ehc_field_type type = ehc_wf_event_find_field(ev, name, &f) ? EHC_FIELD_TEXT : ev->fields[f].type;
        if (type == EHC_FIELD_BOOL)
            cJSON_AddBoolToObject(o, name, strcmp(v, "true") == 0);
        else if (type == EHC_FIELD_INT)
            cJSON_AddNumberToObject(o, name, (double)strtoll(v, NULL, 10));
        else
            cJSON_AddStringToObject(o, name, v);
    }
    return o;
}

/* The case as the bulk write reads it; also fills c->sha (of what came from the files). */
static cJSON *case_json(const ehc_import *imp, imp_case *c)
{
    const ehc_workflow *wf = imp->wf[c->wf];
    const ehc_case_state *s = &c->state;
    cJSON *src = cJSON_CreateObject();
    cJSON_AddStringToObject(src, "workflow_id", ehc_workflow_id(wf));
    cJSON_AddStringToObject(src, "source_ref", c->ref);
    cJSON_AddItemToObject(src, "child", child_json(imp, c->child_ref));
    cJSON *events = cJSON_AddArrayToObject(src, "events");
    for (size_t i = 0; i < s->event_count; i++) {
        const ehc_case_event *rec = &s->events[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "seq", rec->seq);
        cJSON_AddStringToObject(e, "type", rec->type);
        cJSON_AddStringToObject(e, "actor_role", rec->role);
        char iso[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(rec->effective_on, iso);
        cJSON_AddStringToObject(e, "effective_on", iso);
        cJSON_AddItemToObject(e, "fields", fields_json(ehc_workflow_event(wf, rec->event), rec));
        cJSON_AddItemToArray(events, e);
    }
    char *text = cJSON_PrintUnformatted(src);
    ehc_sha256_hex(text, strlen(text), c->sha);
    free(text);

    /* provenance of each event: the file and row it came from */
    size_t i = 0;
    for (cJSON *e = events->child; e; e = e->next, i++) {
        cJSON *from = cJSON_AddObjectToObject(e, "source");
        cJSON_AddStringToObject(from, "file", file_names[c->events[i].file]);
        cJSON_AddNumberToObject(from, "row", (double)c->events[i].row);
    }
    char ref_hash[65], ref[20];
    char *key = ehc_asprintf("%s:%s", ehc_workflow_id(wf), c->ref);
    ehc_sha256_hex(key, strlen(key), ref_hash);
    free(key);
    snprintf(ref, sizeof ref, "M-%.12s", ref_hash);
    for (char *p = ref; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    cJSON_AddStringToObject(src, "reference", ref);
    cJSON_AddStringToObject(src, "source_sha256", c->sha);
    cJSON_AddStringToObject(src, "workflow_sha256", ehc_workflow_content_hash(wf));
    cJSON_AddStringToObject(src, "calendar_sha256", ehc_definitions_calendar_hash(imp->defs, wf));
    char iso[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(s->origin_on, iso);
    cJSON_AddStringToObject(src, "opened_on", iso);
    cJSON_AddNumberToObject(src, "version", (double)s->event_count);
    cJSON *proj = ehc_store_projection_json(wf, s);
    cJSON *reports = cJSON_CreateArray();
    for (size_t k = 0; k < s->report_count; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "item", s->reports[k].item);
        cJSON_AddStringToObject(o, "value", s->reports[k].value);
        ehc_date_format_iso(c->report_on[k], iso);
        cJSON_AddStringToObject(o, "set_on", iso);
        cJSON_AddNumberToObject(o, "set_by_seq", c->report_seq[k]);
        cJSON_AddItemToArray(reports, o);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(proj, "reports", reports);
    /* a clock that ran again (each year's review clocks) is one row, as the store keeps it: its
     * latest run */
    cJSON *deadlines = cJSON_GetObjectItemCaseSensitive(proj, "deadlines");
    for (cJSON *d = deadlines ? deadlines->child : NULL; d;) {
        cJSON *nx = d->next;
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "deadline_key"));
        const char *ik = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "instance_key"));
        for (cJSON *later = nx; later; later = later->next)
            if (strcmp(k, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(later, "deadline_key"))) ==
                    0 &&
                strcmp(ik, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(later, "instance_key"))) ==
                    0) {
                cJSON_Delete(cJSON_DetachItemViaPointer(deadlines, d));
                break;
            }
        d = nx;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(proj, "resolve_alerts");
    for (cJSON *it = proj->child; it;) {
        cJSON *nx = it->next;
        cJSON_AddItemToObject(src, it->string, cJSON_DetachItemViaPointer(proj, it));
        it = nx;
    }
    cJSON_Delete(proj);
    return src;
}

static void print_problems(const ehc_import *imp, FILE *out)
{
    for (size_t i = 0; i < imp->problem_count; i++) {
        const ehc_import_problem *p = &imp->problems[i];
        fprintf(out, "%s,%zu,%s: %s\n", *p->file ? p->file : "-", p->row, *p->column ? p->column : "-",
                p->message);
    }
}

static PGresult *q(PGconn *conn, const char *sql, int n, const char *const *params)
{
    return PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
}

static bool exec_ok(PGconn *conn, const char *sql, FILE *out)
{
    PGresult *r = PQexec(conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) fprintf(out, "database: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

/* ---- the bulk write: COPY into staging tables, then INSERT ... SELECT into the real ones ---------- */

/* Staging tables (temporary, no row security: COPY FROM refuses a table under row security) have
 * the real tables' columns; INSERT ... SELECT then moves each batch across, so every CHECK, foreign
 * key and row-security policy of the real tables still judges every row. */
static const struct {
    const char *table, *columns;
} staged[] = {
    {"children",
     "id, authority_id, source_ref, forename, surname, date_of_birth, sex, nhs_number, upn, postcode"},
    {"child_needs", "authority_id, child_id, rank, sen_type"},
    {"cases",
     "id, authority_id, reference, child_id, workflow_id, workflow_sha256, calendar_sha256, stage, status, "
     "opened_on, closed_on, version, migrated, source_system, source_ref, source_sha256, created_at, "
     "updated_at"},
    {"case_events",
     "authority_id, case_id, seq, type, actor_role, recorded_at, effective_on, payload, workflow_sha256"},
    {"deadlines",
     "id, authority_id, case_id, deadline_key, instance_key, kind, basis, direction, origin_on, due_on, "
     "status, settled_on, settled_by_seq, exception_applies, set_by_seq"},
    {"case_report_codes", "authority_id, case_id, item, value, set_on, set_by_seq"},
    {"advice_requests", "authority_id, case_id, request_key, adviser_type, organisation_id, sent_on, "
                        "received_by_adviser_on, due_on, returned_on, outcome, nil_reason, forwarded_to_id, "
                        "requested_seq"},
    {"deadline_exceptions",
     "authority_id, case_id, deadline_id, reason, basis, from_on, to_on, evidence_note, "
     "family_told_on, recorded_by_seq"},
    {"placements", "authority_id, case_id, placement_key, rank, urn, ukprn, sen_setting, sen_unit, "
                   "resourced_provision, start_on, end_on, recorded_seq"},
    {"plans",
     "authority_id, case_id, start_on, residential, work_based, personal_budget, organised_arrangements, "
     "direct_payments, cease_on, cease_reason, recorded_seq"},
};
enum {
    T_CHILDREN,
    T_NEEDS,
    T_CASES,
    T_EVENTS,
    T_DEADLINES,
    T_REPORTS,
    T_ADVICE,
    T_EXCEPTIONS,
    T_PLACEMENTS,
    T_PLANS,
    T_COUNT
};

typedef struct copy_buf {
    char *buf;
    size_t len, cap;
} copy_buf;

typedef struct copy_ctx {
    PGconn *conn;
    FILE *out;
    const char *authority, *source, *recorded;
    str_map child_ids; /* child_ref -> children.id, known or reserved */
    char **child_refs; /* keys owned by child_ids */
    size_t child_ref_count;
    copy_buf t[T_COUNT];
} copy_ctx;

/* One value in COPY's text format; NULL is \N. */
static void cp_val(copy_buf *b, const char *v, bool first)
{
    if (!first) ehc_text_append(&b->buf, &b->len, &b->cap, "\t", 1);
    if (!v) {
        ehc_text_append(&b->buf, &b->len, &b->cap, "\\N", 2);
        return;
    }
    for (const char *p = v; *p;) {
        size_t plain = strcspn(p, "\\\t\n\r");
        ehc_text_append(&b->buf, &b->len, &b->cap, p, plain);
        p += plain;
        if (!*p) break;
        const char *esc = *p == '\\' ? "\\\\" : *p == '\t' ? "\\t" : *p == '\n' ? "\\n" : "\\r";
        ehc_text_append(&b->buf, &b->len, &b->cap, esc, 2);
        p++;
    }
}

static void cp_end(copy_buf *b)
{
    ehc_text_append(&b->buf, &b->len, &b->cap, "\n", 1);
}

/* A JSON member as a COPY value: strings as they are, numbers as integers, bools t/f, else \N. */
static void cp_json(copy_buf *b, const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    char num[32];
    if (cJSON_IsString(v)) {
        cp_val(b, v->valuestring, false);
    } else if (cJSON_IsNumber(v)) {
        snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
        cp_val(b, num, false);
    } else if (cJSON_IsBool(v)) {
        cp_val(b, cJSON_IsTrue(v) ? "t" : "f", false);
    } else {
        cp_val(b, NULL, false);
    }
}

static bool run(copy_ctx *cc, const char *sql)
{
    return exec_ok(cc->conn, sql, cc->out);
}

static bool staging_create(copy_ctx *cc)
{
    for (int t = 0; t < T_COUNT; t++) {
        char *sql =
            ehc_asprintf("CREATE TEMP TABLE import_%s ON COMMIT DROP AS SELECT %s FROM %s WITH NO DATA",
                         staged[t].table, staged[t].columns, staged[t].table);
        bool ok = run(cc, sql);
        free(sql);
        if (!ok) return false;
    }
    return true;
}

static bool load_child_ids(copy_ctx *cc)
{
    const char *params[1] = {cc->authority};
    PGresult *r =
        q(cc->conn,
          "SELECT source_ref, id FROM children WHERE authority_id = $1::bigint AND source_ref IS NOT NULL", 1,
          params);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) fprintf(cc->out, "database: %s", PQresultErrorMessage(r));
    for (int i = 0; ok && i < PQntuples(r); i++) {
        char *ref = ehc_strdup(PQgetvalue(r, i, 0));
        cc->child_refs = ehc_realloc(cc->child_refs, (cc->child_ref_count + 1) * sizeof *cc->child_refs);
        cc->child_refs[cc->child_ref_count++] = ref;
        map_put(&cc->child_ids, ref, (size_t)strtoll(PQgetvalue(r, i, 1), NULL, 10));
    }
    PQclear(r);
    return ok;
}

/* n fresh ids of the table's identity column */
static int64_t *reserve_ids(copy_ctx *cc, const char *table, size_t n)
{
    int64_t *ids = ehc_calloc(n + 1, sizeof *ids);
    if (n == 0) return ids;
    char count[24];
    snprintf(count, sizeof count, "%zu", n);
    const char *params[2] = {table, count};
    PGresult *r =
        q(cc->conn, "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2::int)", 2,
          params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || (size_t)PQntuples(r) != n) {
        fprintf(cc->out, "database: %s", PQresultErrorMessage(r));
        PQclear(r);
        free(ids);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
    PQclear(r);
    return ids;
}

static bool copy_in(copy_ctx *cc, int t)
{
    copy_buf *b = &cc->t[t];
    if (b->len == 0) return true;
    char *sql = ehc_asprintf("COPY import_%s (%s) FROM STDIN", staged[t].table, staged[t].columns);
    PGresult *r = PQexec(cc->conn, sql);
    free(sql);
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (ok) ok = PQputCopyData(cc->conn, b->buf, (int)b->len) == 1;
    if (PQputCopyEnd(cc->conn, ok ? NULL : "failed") != 1) ok = false;
    r = PQgetResult(cc->conn);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(cc->out, "database: %s", PQresultErrorMessage(r));
        ok = false;
    }
    PQclear(r);
    while ((r = PQgetResult(cc->conn)))
        PQclear(r);
    b->len = 0;
    if (!ok) return false;
    sql = ehc_asprintf(
        "INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM import_%s; TRUNCATE import_%s",
        staged[t].table, staged[t].columns, staged[t].columns, staged[t].table, staged[t].table);
    ok = run(cc, sql);
    free(sql);
    return ok;
}

/* Cases [from, to) of the plan (those not yet imported) as one batch of COPYs. */
static bool write_batch(copy_ctx *cc, ehc_import *imp, cJSON **bodies, size_t from, size_t to,
                        ehc_import_summary *sum)
{
    size_t new_children = 0, new_cases = 0, deadline_rows = 0;
    for (size_t i = from; i < to; i++) {
        if (imp->cases[i].existing) continue;
        new_cases++;
        deadline_rows += (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(bodies[i], "deadlines"));
        const char *ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(bodies[i], "child"), "source_ref"));
        if (!map_get(&cc->child_ids, ref, NULL)) {
            map_put(&cc->child_ids, ref, 0);
            new_children++;
        }
    }
    int64_t *child_ids = reserve_ids(cc, "children", new_children);
    int64_t *case_ids = reserve_ids(cc, "cases", new_cases);
    int64_t *deadline_ids = reserve_ids(cc, "deadlines", deadline_rows);
    bool ok = child_ids && case_ids && deadline_ids;
    size_t nc = 0, nk = 0, nd = 0;
    char num[3][24];
    for (size_t i = from; ok && i < to; i++) {
        if (imp->cases[i].existing) continue;
        const cJSON *c = bodies[i];
        const cJSON *child = cJSON_GetObjectItemCaseSensitive(c, "child");
        const char *child_ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(child, "source_ref"));
        size_t child_id = 0;
        map_get(&cc->child_ids, child_ref, &child_id);
        snprintf(num[0], sizeof num[0], "%lld", (long long)case_ids[nk++]);
        if (child_id == 0) {
            /* the child's first case in this import: the child comes with it */
            child_id = (size_t)child_ids[nc++];
            char *key = ehc_strdup(child_ref);
            cc->child_refs = ehc_realloc(cc->child_refs, (cc->child_ref_count + 1) * sizeof *cc->child_refs);
            cc->child_refs[cc->child_ref_count++] = key;
            /* replace the placeholder: the map keeps the first key pointer, so update in place */
            for (size_t s = 0; s < cc->child_ids.cap; s++)
                if (cc->child_ids.keys[s] && strcmp(cc->child_ids.keys[s], child_ref) == 0) {
                    cc->child_ids.keys[s] = key;
                    cc->child_ids.values[s] = child_id;
                    break;
                }
            snprintf(num[1], sizeof num[1], "%zu", child_id);
            copy_buf *b = &cc->t[T_CHILDREN];
            cp_val(b, num[1], true);
            cp_val(b, cc->authority, false);
            cp_json(b, child, "source_ref");
            cp_json(b, child, "forename");
            cp_json(b, child, "surname");
            cp_json(b, child, "date_of_birth");
            cp_json(b, child, "sex");
            cp_json(b, child, "nhs_number");
            cp_json(b, child, "upn");
            cp_json(b, child, "postcode");
            cp_end(b);
            int rank = 1;
            for (const cJSON *n = cJSON_GetObjectItemCaseSensitive(child, "needs")->child; n;
                 n = n->next, rank++) {
                b = &cc->t[T_NEEDS];
                cp_val(b, cc->authority, true);
                cp_val(b, num[1], false);
                snprintf(num[2], sizeof num[2], "%d", rank);
                cp_val(b, num[2], false);
                cp_val(b, n->valuestring, false);
                cp_end(b);
            }
            sum->children_created++;
        }
        snprintf(num[1], sizeof num[1], "%zu", child_id);
        const cJSON *proj = cJSON_GetObjectItemCaseSensitive(c, "projection");
        copy_buf *b = &cc->t[T_CASES];
        cp_val(b, num[0], true);
        cp_val(b, cc->authority, false);
        cp_json(b, c, "reference");
        cp_val(b, num[1], false);
        cp_json(b, c, "workflow_id");
        cp_json(b, c, "workflow_sha256");
        cp_json(b, c, "calendar_sha256");
        cp_json(b, proj, "stage");
        cp_json(b, proj, "status");
        cp_json(b, c, "opened_on");
        cp_json(b, proj, "closed_on");
        cp_json(b, c, "version");
        cp_val(b, "t", false);
        cp_val(b, cc->source, false);
        cp_json(b, c, "source_ref");
        cp_json(b, c, "source_sha256");
        cp_val(b, cc->recorded, false);
        cp_val(b, cc->recorded, false);
        cp_end(b);

        for (cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "events")->child; e; e = e->next) {
            b = &cc->t[T_EVENTS];
            cp_val(b, cc->authority, true);
            cp_val(b, num[0], false);
            cp_json(b, e, "seq");
            cp_json(b, e, "type");
            cp_json(b, e, "actor_role");
            cp_val(b, cc->recorded, false);
            cp_json(b, e, "effective_on");
            cJSON *payload = cJSON_CreateObject();
            cJSON_AddItemReferenceToObject(payload, "fields", cJSON_GetObjectItemCaseSensitive(e, "fields"));
            cJSON *from_json = cJSON_AddObjectToObject(payload, "migrated_from");
            cJSON_AddStringToObject(from_json, "system", cc->source);
            const cJSON *src = cJSON_GetObjectItemCaseSensitive(e, "source");
            cJSON_AddItemReferenceToObject(from_json, "file", cJSON_GetObjectItemCaseSensitive(src, "file"));
            cJSON_AddItemReferenceToObject(from_json, "row", cJSON_GetObjectItemCaseSensitive(src, "row"));
            char *text = cJSON_PrintUnformatted(payload);
            cJSON_Delete(payload);
            cp_val(b, text, false);
            free(text);
            cp_json(b, c, "workflow_sha256");
            cp_end(b);
        }
        size_t first_deadline = nd;
        for (cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "deadlines")->child; d; d = d->next) {
            b = &cc->t[T_DEADLINES];
            snprintf(num[2], sizeof num[2], "%lld", (long long)deadline_ids[nd++]);
            cp_val(b, num[2], true);
            cp_val(b, cc->authority, false);
            cp_val(b, num[0], false);
            static const char *const cols[] = {
                "deadline_key",      "instance_key", "kind",   "basis",      "direction",
                "origin_on",         "due_on",       "status", "settled_on", "settled_by_seq",
                "exception_applies", "set_by_seq"};
            for (size_t k = 0; k < EHC_ARRAY_SIZE(cols); k++)
                cp_json(b, d, cols[k]);
            cp_end(b);
        }
        for (cJSON *x = cJSON_GetObjectItemCaseSensitive(c, "reports")->child; x; x = x->next) {
            b = &cc->t[T_REPORTS];
            cp_val(b, cc->authority, true);
            cp_val(b, num[0], false);
            cp_json(b, x, "item");
            cp_json(b, x, "value");
            cp_json(b, x, "set_on");
            cp_json(b, x, "set_by_seq");
            cp_end(b);
        }
        for (cJSON *x = cJSON_GetObjectItemCaseSensitive(c, "advice")->child; x; x = x->next) {
            b = &cc->t[T_ADVICE];
            cp_val(b, cc->authority, true);
            cp_val(b, num[0], false);
            static const char *const cols[] = {"request_key", "adviser",         "organisation_id", "sent_on",
                                               "received_on", "due_on",          "returned_on",     "outcome",
                                               "nil_reason",  "forwarded_to_id", "requested_seq"};
            for (size_t k = 0; k < EHC_ARRAY_SIZE(cols); k++)
                cp_json(b, x, cols[k]);
            cp_end(b);
        }
        for (cJSON *x = cJSON_GetObjectItemCaseSensitive(c, "exceptions")->child; x; x = x->next) {
            /* the clock's row: the deadline of this case with the same key */
            const char *dk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "deadline_key"));
            const char *ik = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "instance_key"));
            size_t k = first_deadline;
            for (cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "deadlines")->child; d; d = d->next, k++)
                if (strcmp(dk, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "deadline_key"))) ==
                        0 &&
                    strcmp(ik, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "instance_key"))) ==
                        0)
                    break;
            if (k >= nd) continue; /* never: an exception is on a clock the case has */
            snprintf(num[2], sizeof num[2], "%lld", (long long)deadline_ids[k]);
            b = &cc->t[T_EXCEPTIONS];
            cp_val(b, cc->authority, true);
            cp_val(b, num[0], false);
            cp_val(b, num[2], false);
            static const char *const cols[] = {"reason",        "basis",          "from_on",        "to_on",
                                               "evidence_note", "family_told_on", "recorded_by_seq"};
            for (size_t m = 0; m < EHC_ARRAY_SIZE(cols); m++)
                cp_json(b, x, cols[m]);
            cp_end(b);
        }
        /* SEN2 4b and 4a, as the store projects them from the case's events */
        for (cJSON *x = cJSON_GetObjectItemCaseSensitive(c, "sen2_placements")->child; x; x = x->next) {
            b = &cc->t[T_PLACEMENTS];
            cp_val(b, cc->authority, true);
            cp_val(b, num[0], false);
            static const char *const cols[] = {
                "placement_key",       "rank",     "urn",    "ukprn",       "sen_setting", "sen_unit",
                "resourced_provision", "start_on", "end_on", "recorded_seq"};
            for (size_t m = 0; m < EHC_ARRAY_SIZE(cols); m++)
                cp_json(b, x, cols[m]);
            cp_end(b);
        }
        const cJSON *plan = cJSON_GetObjectItemCaseSensitive(c, "sen2_plan");
        if (cJSON_IsObject(plan)) {
            b = &cc->t[T_PLANS];
            cp_val(b, cc->authority, true);
            cp_val(b, num[0], false);
            static const char *const cols[] = {
                "start_on",        "residential", "work_based",   "personal_budget", "organised_arrangements",
                "direct_payments", "cease_on",    "cease_reason", "recorded_seq"};
            for (size_t m = 0; m < EHC_ARRAY_SIZE(cols); m++)
                cp_json(b, plan, cols[m]);
            cp_end(b);
        }
    }
    for (int t = 0; ok && t < T_COUNT; t++)
        ok = copy_in(cc, t);
    for (int t = 0; t < T_COUNT; t++) {
        free(cc->t[t].buf);
        memset(&cc->t[t], 0, sizeof cc->t[t]);
    }
    free(child_ids);
    free(case_ids);
    free(deadline_ids);
    return ok;
}

int ehc_import_write(PGconn *conn, ehc_import *imp, const ehc_import_write_options *opts, FILE *out,
                     ehc_import_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    if (imp->problem_count) {
        print_problems(imp, out);
        fprintf(out, "%zu problem(s): nothing was written\n", imp->problem_count);
        return EHC_EINVAL;
    }
    const char *params[4] = {opts->authority_code};
    PGresult *r = q(conn, "SELECT id FROM local_authorities WHERE dfe_code = $1", 1, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(out, "no local authority with the DfE code '%s'\n", opts->authority_code);
        PQclear(r);
        return EHC_ENOENT;
    }
    char authority[24];
    snprintf(authority, sizeof authority, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!exec_ok(conn, "BEGIN", out)) return EHC_EIO;
    params[0] = authority;
    r = q(conn, "SELECT set_config('ehc.authority_ids', $1, true)", 1, params);
    PQclear(r);

    /* what an earlier run already brought in */
    str_map seen = {0};
    r = q(conn,
          "SELECT workflow_id || ':' || source_ref, source_sha256 FROM cases "
          "WHERE authority_id = $1::bigint AND source_ref IS NOT NULL",
          1, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(out, "database: %s", PQresultErrorMessage(r));
        PQclear(r);
        exec_ok(conn, "ROLLBACK", out);
        return EHC_EIO;
    }
    for (int i = 0; i < PQntuples(r); i++)
        map_put(&seen, PQgetvalue(r, i, 0), (size_t)i);
    cJSON **bodies = ehc_calloc(imp->case_count + 1, sizeof *bodies);
    for (size_t i = 0; i < imp->case_count; i++) {
        imp_case *c = &imp->cases[i];
        bodies[i] = case_json(imp, c);
        char *key = ehc_asprintf("%s:%s", ehc_workflow_id(imp->wf[c->wf]), c->ref);
        size_t row;
        if (map_get(&seen, key, &row)) {
            c->existing = strcmp(PQgetvalue(r, (int)row, 1), c->sha) == 0 ? 1 : 2;
            if (c->existing == 2)
                problem(
                    imp, c->file, c->row, c->wf ? "plan_ref" : "case_ref",
                    "'%s' was imported before from different data; an imported case is changed by recording "
                    "events in ehcd, not by importing again",
                    c->ref);
        }
        free(key);
        if (c->existing == 0) sum->created++;
        if (c->existing == 1) sum->unchanged++;
        if (c->existing == 2) sum->differing++;
    }
    map_free(&seen);
    PQclear(r);

    int rc = 0;
    if (imp->problem_count) {
        print_problems(imp, out);
        fprintf(out, "%zu problem(s): nothing was written\n", imp->problem_count);
        rc = EHC_EINVAL;
        goto done;
    }

    /* the backlog each new case brings with it */
    for (size_t i = 0; i < imp->case_count; i++) {
        imp_case *c = &imp->cases[i];
        if (c->existing) continue;
        const ehc_workflow *wf = imp->wf[c->wf];
        bool any = false;
        for (size_t d = 0; d < c->state.deadline_count; d++) {
            const ehc_deadline_instance *n = &c->state.deadlines[d];
            if (n->status != EHC_DEADLINE_OPEN || !ehc_machine_is_overdue(wf, n, imp->today)) continue;
            const ehc_wf_deadline *dl = ehc_workflow_deadline(wf, n->deadline);
            char due[EHC_DATE_ISO_SIZE];
            ehc_date_format_iso(n->due_on, due);
            if (!any)
                fprintf(out, "overdue on arrival: %s %s (stage %s)\n", ehc_workflow_id(wf), c->ref,
                        ehc_workflow_stage(wf, c->state.stage)->id);
            fprintf(out, "    %s%s%s due %s, %d day(s) ago (%s: %s)\n", dl->id, *n->key ? "/" : "", n->key,
                    due, ehc_date_days_between(n->due_on, imp->today), ehc_deadline_kind_name(dl->kind),
                    dl->basis ? dl->basis : "local target");
            any = true;
            sum->overdue_deadlines++;
        }
        if (any) sum->overdue_cases++;
    }

    if (opts->dry_run) {
        for (size_t i = 0; i < imp->case_count; i++) {
            imp_case *c = &imp->cases[i];
            if (c->existing) continue;
            char opened[EHC_DATE_ISO_SIZE];
            ehc_date_format_iso(c->state.origin_on, opened);
            fprintf(out, "would create: %s %s child %s, opened %s, %zu event(s), stage %s, %zu date(s)\n",
                    ehc_workflow_id(imp->wf[c->wf]), c->ref, c->child_ref, opened, c->state.event_count,
                    ehc_workflow_stage(imp->wf[c->wf], c->state.stage)->id, c->state.deadline_count);
        }
        goto done;
    }

    int batch = opts->batch_cases > 0 ? opts->batch_cases : 5000;
    char recorded[40];
    {
        time_t secs = (time_t)(opts->recorded_at.us / EHC_US_PER_SECOND);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(recorded, sizeof recorded, "%Y-%m-%d %H:%M:%S+00", &tm);
    }
    copy_ctx cc = {.conn = conn,
                   .out = out,
                   .authority = authority,
                   .source = opts->source_system,
                   .recorded = recorded};
    if (!staging_create(&cc) || !load_child_ids(&cc)) rc = EHC_EIO;
    for (size_t i = 0; i < imp->case_count && rc == 0;) {
        size_t from = i;
        int n = 0;
        for (; i < imp->case_count && n < batch; i++)
            if (!imp->cases[i].existing) n++;
        if (n && !write_batch(&cc, imp, bodies, from, i, sum)) rc = EHC_EIO;
    }
    map_free(&cc.child_ids);
    for (size_t k = 0; k < cc.child_ref_count; k++)
        free(cc.child_refs[k]);
    free(cc.child_refs);
done:
    for (size_t i = 0; i < imp->case_count; i++)
        cJSON_Delete(bodies[i]);
    free(bodies);
    if (rc || opts->dry_run) {
        exec_ok(conn, "ROLLBACK", out);
    } else if (!exec_ok(conn, "COMMIT", out)) {
        rc = EHC_EIO;
    } else if (sum->created) {
        /* fresh statistics, or the planner judges the scheduler's and the reports' queries by empty
         * tables */
        exec_ok(conn,
                "ANALYZE children, child_needs, cases, case_events, deadlines, advice_requests, "
                "deadline_exceptions, case_report_codes, placements, plans",
                out);
    }
    if (rc == 0)
        fprintf(out,
                "%s %ld case(s), %ld already imported and unchanged; %ld overdue on arrival (%ld date(s))\n",
                opts->dry_run ? "would create" : "created", sum->created, sum->unchanged, sum->overdue_cases,
                sum->overdue_deadlines);
    if (rc == EHC_EIO) fprintf(out, "nothing was written\n");
    return rc;
}

/* ---- export ------------------------------------------------------------------------------------- */

/* One export file being built: its header, then rows of as many fields. */
typedef struct out_file {
    const col_spec *cols;
    size_t ncols;
    char ***rows; /* each row: ncols strings (owned) */
    size_t count;
} out_file;

static char **out_row(out_file *f)
{
    f->rows = ehc_realloc(f->rows, (f->count + 1) * sizeof *f->rows);
    char **row = ehc_calloc(f->ncols, sizeof *row);
    f->rows[f->count++] = row;
    return row;
}

static void out_set(char **row, int col, const char *value)
{
    free(row[col]);
    row[col] = ehc_strdup(value ? value : "");
}

static const char *jstr(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v) ? "true" : "false";
    return cJSON_IsString(v) ? v->valuestring : "";
}

static bool write_out(const char *dir, int f, const out_file *o, char why[256])
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (size_t c = 0; c < o->ncols; c++) {
        if (c) ehc_text_append(&buf, &len, &cap, ",", 1);
        ehc_csv_append_field(&buf, &len, &cap, o->cols[c].name);
    }
    ehc_text_append(&buf, &len, &cap, "\n", 1);
    for (size_t r = 0; r < o->count; r++) {
        for (size_t c = 0; c < o->ncols; c++) {
            if (c) ehc_text_append(&buf, &len, &cap, ",", 1);
            ehc_csv_append_field(&buf, &len, &cap, o->rows[r][c] ? o->rows[r][c] : "");
        }
        ehc_text_append(&buf, &len, &cap, "\n", 1);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file_names[f]);
    FILE *fp = fopen(path, "w");
    bool ok = fp && fwrite(buf, 1, len, fp) == len;
    if (fp && fclose(fp)) ok = false;
    if (!ok) snprintf(why, 256, "cannot write %.200s", path);
    free(buf);
    return ok;
}

/* The rows of one case's events; false (and why) for an event the files cannot carry. */
static bool export_case(const cJSON *kase, const char *child_ref, const char *plan_of_case, out_file *o,
                        char why[256])
{
    const char *wf = jstr(kase, "workflow_id"), *ref = jstr(kase, "ref");
    bool review = strcmp(wf, WF_REVIEW) == 0;
    if (!review && strcmp(wf, WF_ASSESS) != 0) {
        snprintf(why, 256, "case %s runs the workflow %s, which the import files do not carry", ref, wf);
        return false;
    }
    char **req = NULL, **plan = NULL, **rev = NULL, **last_no = NULL;
    for (const cJSON *e = cJSON_GetObjectItemCaseSensitive(kase, "events")->child; e; e = e->next) {
        const char *type = jstr(e, "type"), *on = jstr(e, "effective_on");
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(e, "fields");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "corrected"))) {
            snprintf(why, 256, "case %s has a corrected event, which the import files cannot carry", ref);
            return false;
        }
        if (!review && strcmp(type, "request_received") == 0) {
            req = out_row(&o[F_REQUESTS]);
            out_set(req, RQ_CASE, ref);
            out_set(req, RQ_CHILD, child_ref);
            out_set(req, RQ_AT, jstr(fl, "received_at"));
            out_set(req, RQ_CHANNEL, jstr(fl, "channel"));
            out_set(req, RQ_BY, jstr(fl, "requested_by"));
        } else if (!review && req &&
                   (strcmp(type, "withdrawn") == 0 || strcmp(type, "moved_to_another_la") == 0 ||
                    strcmp(type, "child_died") == 0)) {
            out_set(req, RQ_CLOSED_REASON,
                    type[0] == 'w'   ? "withdrawn"
                    : type[0] == 'm' ? "moved_away"
                                     : "died");
            out_set(req, RQ_CLOSED_ON, on);
        } else if (!review &&
                   (strcmp(type, "decision_to_assess") == 0 || strcmp(type, "decision_to_issue") == 0)) {
            char **d = out_row(&o[F_DECISIONS]);
            out_set(d, DE_CASE, ref);
            out_set(d, DE_DECISION, strcmp(type, "decision_to_assess") == 0 ? "assess" : "issue");
            out_set(d, DE_OUTCOME, jstr(fl, "decision"));
            out_set(d, DE_ON, on);
            last_no = strcmp(jstr(fl, "decision"), "no") == 0 ? d : NULL;
        } else if (!review && strcmp(type, "refusal_stands") == 0 && last_no) {
            out_set(last_no, DE_FINAL_ON, on);
        } else if (!review &&
                   (strcmp(type, "advice_requested") == 0 || strcmp(type, "existing_advice_agreed") == 0)) {
            char **a = out_row(&o[F_ADVICE]);
            out_set(a, AD_CASE, ref);
            out_set(a, AD_KEY, jstr(fl, "request_key"));
            out_set(a, AD_ADVISER, jstr(fl, "adviser"));
            out_set(a, AD_REQUESTED, on);
            if (type[0] == 'e')
                out_set(a, AD_OUTCOME, "existing_sufficient");
            else
                out_set(a, AD_RECEIVED, jstr(fl, "received_on"));
        } else if (!review &&
                   (strcmp(type, "advice_received") == 0 || strcmp(type, "advice_nil_return") == 0)) {
            char **a = NULL;
            for (size_t r = 0; r < o[F_ADVICE].count; r++)
                if (strcmp(o[F_ADVICE].rows[r][AD_CASE], ref) == 0 &&
                    strcmp(o[F_ADVICE].rows[r][AD_KEY], jstr(fl, "request_key")) == 0)
                    a = o[F_ADVICE].rows[r];
            if (!a) goto unsupported;
            out_set(a, AD_OUTCOME, strcmp(type, "advice_received") == 0 ? "returned" : "nil_return");
            out_set(a, AD_RETURNED, on);
            if (strcmp(type, "advice_nil_return") == 0) out_set(a, AD_NIL, jstr(fl, "reason"));
        } else if (!review && strcmp(type, "exception_recorded") == 0) {
            char **x = out_row(&o[F_EXCEPTIONS]);
            out_set(x, EX_CASE, ref);
            out_set(x, EX_DEADLINE, jstr(fl, "deadline"));
            out_set(x, EX_EXCEPTION, jstr(fl, "exception"));
            out_set(x, EX_KEY, jstr(fl, "request_key"));
            out_set(x, EX_FROM, jstr(fl, "applies_from"));
            out_set(x, EX_TO, jstr(fl, "applies_to"));
            out_set(x, EX_EVIDENCE, jstr(fl, "evidence"));
            out_set(x, EX_TOLD, jstr(fl, "family_told_on"));
            out_set(x, EX_ON, on);
        } else if (!review && strcmp(type, "draft_served") == 0) {
            plan = out_row(&o[F_PLANS]);
            out_set(plan, PL_PLAN, plan_of_case);
            out_set(plan, PL_CHILD, child_ref);
            out_set(plan, PL_CASE, ref);
            out_set(plan, PL_DRAFT, jstr(fl, "served_on"));
            out_set(plan, PL_UNDER_FIVE, "false");
        } else if (!review &&
                   (strcmp(type, "placement_decided") == 0 || strcmp(type, "plan_details_recorded") == 0) &&
                   plan && !cJSON_GetArraySize(fl)) {
            /* recorded again on the issue date by the import */
        } else if (!review && strcmp(type, "placement_recorded") == 0 && plan) {
            char **p = out_row(&o[F_PLACEMENTS]);
            out_set(p, PC_PLAN, plan[PL_PLAN]);
            static const char *const names[] = {
                "rank", "urn", "ukprn", "start_on", "end_on", "sen_unit", "resourced_provision"};
            static const int cols[] = {PC_RANK, PC_URN, PC_UKPRN, PC_START, PC_END, PC_UNIT, PC_RP};
            for (size_t k = 0; k < EHC_ARRAY_SIZE(names); k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(fl, names[k]);
                char num[24];
                if (cJSON_IsNumber(v)) {
                    snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
                    out_set(p, cols[k], num);
                } else {
                    out_set(p, cols[k], jstr(fl, names[k]));
                }
            }
            char setting[8] = "";
            snprintf(setting, sizeof setting, "%s", jstr(fl, "sen_setting"));
            for (char *q = setting; *q; q++)
                *q = (char)toupper((unsigned char)*q);
            out_set(p, PC_SETTING, setting);
            if (!*p[PC_START]) out_set(p, PC_START, on);
        } else if (!review && strcmp(type, "final_plan_issued") == 0 && plan) {
            out_set(plan, PL_ISSUED, on);
        } else if (!review && strcmp(type, "handed_to_review") == 0 && plan) {
            out_set(plan, PL_HANDED, on);
        } else if (review && strcmp(type, "plan_made") == 0) {
            /* the plan's row: the assessment case's, when it made this plan */
            plan = NULL;
            for (size_t r = 0; r < o[F_PLANS].count; r++)
                if (strcmp(o[F_PLANS].rows[r][PL_PLAN], ref) == 0) plan = o[F_PLANS].rows[r];
            if (!plan) {
                plan = out_row(&o[F_PLANS]);
                out_set(plan, PL_PLAN, ref);
                out_set(plan, PL_CHILD, child_ref);
            }
            out_set(plan, PL_ISSUED, on);
            out_set(plan, PL_UNDER_FIVE, jstr(fl, "under_five"));
            out_set(plan, PL_MADE_AFTER, jstr(fl, "made_after"));
        } else if (review && plan && strcmp(type, "review_meeting_arranged") == 0) {
            rev = out_row(&o[F_REVIEWS]);
            out_set(rev, RV_PLAN, ref);
            out_set(rev, RV_ARRANGED, on);
            out_set(rev, RV_MEETING, jstr(fl, "meeting_on"));
        } else if (review && rev &&
                   (strcmp(type, "invitations_sent") == 0 || strcmp(type, "advice_circulated") == 0 ||
                    strcmp(type, "review_meeting_held") == 0 || strcmp(type, "review_report_sent") == 0 ||
                    strcmp(type, "review_decision_notified") == 0 ||
                    strcmp(type, "amendment_proposed") == 0 || strcmp(type, "amended_plan_issued") == 0)) {
            static const struct {
                const char *type;
                int col;
            } cols[] = {{"invitations_sent", RV_INVITES},
                        {"advice_circulated", RV_ADVICE},
                        {"review_meeting_held", RV_HELD},
                        {"review_report_sent", RV_REPORT},
                        {"review_decision_notified", RV_DECISION_ON},
                        {"amendment_proposed", RV_PROPOSED},
                        {"amended_plan_issued", RV_AMENDED}};
            for (size_t k = 0; k < EHC_ARRAY_SIZE(cols); k++)
                if (strcmp(type, cols[k].type) == 0) {
                    if (rev[cols[k].col] && *rev[cols[k].col]) goto unsupported; /* twice in one review */
                    out_set(rev, cols[k].col, on);
                }
            if (strcmp(type, "review_decision_notified") == 0) {
                out_set(rev, RV_DECISION, jstr(fl, "decision"));
                out_set(rev, RV_UNDER_FIVE, jstr(fl, "under_five"));
            }
            if (strcmp(type, "amended_plan_issued") == 0)
                out_set(rev, RV_NEXT_SETTING, jstr(fl, "names_next_setting"));
        } else if (review && plan && strcmp(type, "phase_transfer_identified") == 0 && !plan[PL_TRANSFER]) {
            out_set(plan, PL_TRANSFER, jstr(fl, "transfer"));
            out_set(plan, PL_TRANSFER_ID_ON, on);
            out_set(plan, PL_TRANSFER_ON, jstr(fl, "transfer_on"));
        } else if (review && plan && strcmp(type, "cease_consultation_started") == 0) {
            out_set(plan, PL_CONSULT_ON, on);
        } else if (review && plan && strcmp(type, "cease_decision_notified") == 0) {
            out_set(plan, PL_CEASE_DEC_ON, on);
            out_set(plan, PL_GROUND, jstr(fl, "ground"));
        } else if (review && plan && (strcmp(type, "plan_ceased") == 0 || strcmp(type, "child_died") == 0)) {
            const char *code = "8";
            char num[12];
            for (int k = 1; k <= 9 && type[0] == 'p'; k++)
                if (cease_reason_values[k] && strcmp(cease_reason_values[k], jstr(fl, "cease_reason")) == 0) {
                    snprintf(num, sizeof num, "%d", k);
                    code = num;
                }
            out_set(plan, PL_CEASED_ON, on);
            out_set(plan, PL_CEASE_REASON, code);
        } else {
            goto unsupported;
        }
        continue;
    unsupported:
        snprintf(why, 256,
                 "case %s: the event %s (%s) cannot be written in the import files; record it again after "
                 "importing",
                 ref, type, on);
        return false;
    }
    return true;
}

/* The documents of every case of the child (case_documents), each written whole into dir/documents/
 * as "<id>-<file name>", its SHA-256 checked against the one stored, and listed with its case, kind
 * and hash in dir/documents.csv. They travel with the export; the import does not read them. */
static int export_documents(PGconn *conn, const char *const *params, const char *dir, char why[256])
{
    PGresult *r =
        q(conn,
          "SELECT d.id, coalesce(c.source_ref, c.reference), d.kind, coalesce(d.request_key, ''), "
          "d.file_name, d.media_type, d.size_bytes, d.sha256, "
          "to_char(d.uploaded_at AT TIME ZONE 'Europe/London', 'YYYY-MM-DD'), x.content "
          "FROM local_authorities a JOIN cases k ON k.authority_id = a.id AND k.id = $2::bigint "
          "JOIN cases c ON c.child_id = k.child_id AND c.authority_id = a.id "
          "JOIN case_documents d ON d.case_id = c.id JOIN case_document_contents x ON x.document_id = d.id "
          "WHERE a.dfe_code = $1 ORDER BY d.id",
          2, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(why, 256, "database: %.200s", PQresultErrorMessage(r));
        PQclear(r);
        return EHC_EIO;
    }
    char *list = NULL;
    size_t len = 0, cap = 0;
    static const char *const header[] = {"case_ref",   "document",   "kind",   "request_key", "file_name",
                                         "media_type", "size_bytes", "sha256", "uploaded_on"};
    for (size_t k = 0; k < EHC_ARRAY_SIZE(header); k++) {
        if (k) ehc_text_append(&list, &len, &cap, ",", 1);
        ehc_csv_append_field(&list, &len, &cap, header[k]);
    }
    ehc_text_append(&list, &len, &cap, "\n", 1);
    int rc = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/documents", dir);
    if (PQntuples(r) > 0 && mkdir(path, 0755) != 0 && errno != EEXIST) {
        snprintf(why, 256, "cannot create %.200s", path);
        rc = EHC_EIO;
    }
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        size_t n = 0;
        unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 9), &n);
        char sha[65] = "";
        if (bytes) ehc_sha256_hex(bytes, n, sha);
        if (!bytes || strcmp(sha, PQgetvalue(r, i, 7)) != 0) {
            snprintf(why, 256, "document %s does not match its stored SHA-256: not exported",
                     PQgetvalue(r, i, 0));
            PQfreemem(bytes);
            rc = EHC_EIO;
            break;
        }
        char name[300];
        snprintf(name, sizeof name, "%s-%s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 4));
        snprintf(path, sizeof path, "%s/documents/%s", dir, name);
        FILE *f = fopen(path, "wb");
        bool ok = f && fwrite(bytes, 1, n, f) == n;
        if (f && fclose(f)) ok = false;
        PQfreemem(bytes);
        if (!ok) {
            snprintf(why, 256, "cannot write %.200s", path);
            rc = EHC_EIO;
            break;
        }
        const char *values[] = {PQgetvalue(r, i, 1), name,
                                PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                                PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
                                PQgetvalue(r, i, 6), PQgetvalue(r, i, 7),
                                PQgetvalue(r, i, 8)};
        for (size_t k = 0; k < EHC_ARRAY_SIZE(values); k++) {
            if (k) ehc_text_append(&list, &len, &cap, ",", 1);
            ehc_csv_append_field(&list, &len, &cap, values[k]);
        }
        ehc_text_append(&list, &len, &cap, "\n", 1);
    }
    PQclear(r);
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/documents.csv", dir);
        FILE *f = fopen(path, "w");
        bool ok = f && fwrite(list, 1, len, f) == len;
        if (f && fclose(f)) ok = false;
        if (!ok) {
            snprintf(why, 256, "cannot write %.200s", path);
            rc = EHC_EIO;
        }
    }
    free(list);
    return rc;
}

int ehc_import_export_case(PGconn *conn, const char *authority_code, long long case_id, const char *dir,
                           char why[256])
{
    char id[24];
    snprintf(id, sizeof id, "%lld", case_id);
    const char *params[2] = {authority_code, id};
    /* bound to the authority (row security), and the export logged in the same transaction */
    PGresult *r = PQexec(conn, "BEGIN");
    PQclear(r);
    r = q(conn,
          "SELECT set_config('ehc.authority_ids', id::text, true) FROM local_authorities WHERE dfe_code = $1",
          1, params);
    PQclear(r);
    /* the child and every case of the child, each with its events in order and its placements */
    r = q(conn,
          "WITH a AS (SELECT id FROM local_authorities WHERE dfe_code = $1), "
          "k AS (SELECT c.child_id, c.authority_id FROM cases c, a WHERE c.id = $2::bigint AND "
          "c.authority_id = a.id) "
          "SELECT jsonb_build_object("
          "  'child', (SELECT jsonb_build_object('ref', coalesce(ch.source_ref, 'C' || ch.id), 'forename', "
          "ch.forename, "
          "      'surname', ch.surname, 'date_of_birth', ch.date_of_birth, 'sex', ch.sex, 'nhs_number', "
          "ch.nhs_number, "
          "      'upn', ch.upn, 'postcode', ch.postcode, 'needs', (SELECT coalesce(jsonb_agg(n.sen_type "
          "ORDER BY n.rank), "
          "      '[]') FROM child_needs n WHERE n.child_id = ch.id)) FROM children ch, k WHERE ch.id = "
          "k.child_id), "
          "  'cases', (SELECT coalesce(jsonb_agg(jsonb_build_object('workflow_id', c.workflow_id, "
          "      'ref', coalesce(c.source_ref, c.reference), 'events', (SELECT "
          "jsonb_agg(jsonb_build_object('type', e.type, "
          "      'effective_on', e.effective_on, 'fields', e.payload -> 'fields', 'corrected', "
          "      e.supersedes_seq IS NOT NULL) ORDER BY e.seq) FROM case_events e WHERE e.case_id = c.id)) "
          "      ORDER BY c.workflow_id DESC, c.opened_on, c.id), '[]') "
          "      FROM cases c, k WHERE c.child_id = k.child_id AND c.authority_id = k.authority_id)) "
          "FROM k",
          2, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        bool failed = PQresultStatus(r) != PGRES_TUPLES_OK;
        if (failed)
            snprintf(why, 256, "database: %.200s", PQresultErrorMessage(r));
        else
            snprintf(why, 256, "no case %lld in the authority %.10s", case_id, authority_code);
        PQclear(r);
        r = PQexec(conn, "ROLLBACK");
        PQclear(r);
        return failed ? EHC_EIO : EHC_ENOENT;
    }
    cJSON *all = cJSON_Parse(PQgetvalue(r, 0, 0));
    PQclear(r);
    out_file o[EHC_IMPORT_FILE_COUNT];
    for (int f = 0; f < EHC_IMPORT_FILE_COUNT; f++)
        o[f] = (out_file){.cols = file_specs[f].cols, .ncols = file_specs[f].count};
    const cJSON *child = cJSON_GetObjectItemCaseSensitive(all, "child");
    const char *child_ref = jstr(child, "ref");
    char **row = out_row(&o[F_CHILDREN]);
    static const char *const child_cols[] = {"ref", "forename",   "surname", "date_of_birth",
                                             "sex", "nhs_number", "upn",     "postcode"};
    for (size_t k = 0; k < EHC_ARRAY_SIZE(child_cols); k++)
        out_set(row, (int)k, jstr(child, child_cols[k]));
    int rank = 0;
    for (const cJSON *n = cJSON_GetObjectItemCaseSensitive(child, "needs")->child; n && rank < 2; n = n->next)
        out_set(row, rank++ ? CH_NEED2 : CH_NEED1, n->valuestring);

    /* an assessment case's plan is the review case opened on the day its final plan was issued */
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(all, "cases");
    int rc = 0;
    for (const cJSON *c = cases->child; c && rc == 0; c = c->next) {
        char plan_ref[80];
        snprintf(plan_ref, sizeof plan_ref, "P-%.70s", jstr(c, "ref"));
        const char *issued = NULL;
        for (const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "events")->child; e; e = e->next)
            if (strcmp(jstr(e, "type"), "final_plan_issued") == 0) issued = jstr(e, "effective_on");
        for (const cJSON *p = cases->child; issued && p; p = p->next) {
            const cJSON *first = cJSON_GetObjectItemCaseSensitive(p, "events")->child;
            if (strcmp(jstr(p, "workflow_id"), WF_REVIEW) == 0 && first &&
                strcmp(jstr(first, "effective_on"), issued) == 0)
                snprintf(plan_ref, sizeof plan_ref, "%.70s", jstr(p, "ref"));
        }
        if (!export_case(c, child_ref, plan_ref, o, why)) rc = EHC_EINVAL;
    }
    if (rc == 0 && mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(why, 256, "cannot create %.200s", dir);
        rc = EHC_EIO;
    }
    for (int f = 0; rc == 0 && f < EHC_IMPORT_FILE_COUNT; f++)
        if (!write_out(dir, f, &o[f], why)) rc = EHC_EIO;
    if (rc == 0) rc = export_documents(conn, params, dir, why);
    if (rc == 0) {
        r = q(conn,
              "INSERT INTO access_log (authority_id, case_id, action, resource) SELECT id, $2::bigint, "
              "'export', "
              "'ehcd export' FROM local_authorities WHERE dfe_code = $1",
              2, params);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(why, 256, "database: %.200s", PQresultErrorMessage(r));
            rc = EHC_EIO;
        }
        PQclear(r);
    }
    r = PQexec(conn, rc == 0 ? "COMMIT" : "ROLLBACK");
    if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(why, 256, "database: %.200s", PQresultErrorMessage(r));
        rc = EHC_EIO;
    }
    PQclear(r);
    for (int f = 0; f < EHC_IMPORT_FILE_COUNT; f++) {
        for (size_t i = 0; i < o[f].count; i++) {
            for (size_t c = 0; c < o[f].ncols; c++)
                free(o[f].rows[i][c]);
            free(o[f].rows[i]);
        }
        free(o[f].rows);
    }
    cJSON_Delete(all);
    return rc;
}
