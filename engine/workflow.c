/* Workflow definitions: reads a workflow JSON file (docs/workflows.md) once, at this boundary, into
 * the immutable typed structs of include/ehc/workflow.h, refusing anything doubtful with the file,
 * the JSON path and the reason: unknown keys, bad types, duplicate ids, dangling references to
 * stages or events, unreachable or dead-end stages, clocks without a legal basis, bad lengths,
 * unknown roles and an unknown calendar. The parsed cJSON tree is kept: definition strings point
 * into it. Every other allocation is tracked by the workflow and released with it. */
#include "ehc/workflow.h"

#include <assert.h>
#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT_CHARS 2000
#define MAX_LENGTH_COUNT 3660
#define DEFAULT_TEXT_MAX_LENGTH 2000

struct ehc_workflow {
    char *file;
    cJSON *root;
    char content_hash[EHC_WORKFLOW_HASH_SIZE];
    const char *id;
    const char *title;
    const char *calendar;
    size_t opening_event;
    size_t initial_stage;
    ehc_wf_stage *stages;
    size_t stage_count;
    ehc_wf_event *events;
    size_t event_count;
    ehc_wf_deadline *deadlines;
    size_t deadline_count;
    void **allocs; /* every array above and below, freed with the workflow */
    size_t alloc_count, alloc_cap;
};

/* ------------------------------------------------------------------------------------------------
 * Roles, names */

static const char *const role_names[EHC_ROLE_COUNT] = {"officer", "manager",     "service_manager",
                                                       "dco",     "social_care", "admin"};

int ehc_role_parse(const char *name, ehc_role *out)
{
    for (int i = 0; i < EHC_ROLE_COUNT; i++) {
        if (name && strcmp(name, role_names[i]) == 0) {
            *out = (ehc_role)(1u << i);
            return 0;
        }
    }
    return EHC_ENOENT;
}

const char *ehc_role_name(ehc_role role)
{
    for (int i = 0; i < EHC_ROLE_COUNT; i++) {
        if ((unsigned)role == (1u << i)) return role_names[i];
    }
    return "";
}

static const char *const field_type_names[] = {"date", "enum", "text", "bool", "int", "id", "datetime"};

const char *ehc_field_type_name(ehc_field_type type)
{
    return (size_t)type < EHC_ARRAY_SIZE(field_type_names) ? field_type_names[type] : "";
}

static const char *const deadline_kind_names[] = {"statutory", "guidance", "local"};

const char *ehc_deadline_kind_name(ehc_deadline_kind kind)
{
    return (size_t)kind < EHC_ARRAY_SIZE(deadline_kind_names) ? deadline_kind_names[kind] : "";
}

/* SEN2 items an event may set, with the codes each accepts (NULL: the effective date). */
typedef struct sen2_item {
    const char *item;
    const char *const codes[10];
} sen2_item;

static const sen2_item sen2_items[] = {
    {"RequestOutcome", {"Y", "N", "A", "W", "H", NULL}},
    {"RequestOutcomeDate", {NULL}},
    {"AssessmentOutcome", {"Y", "N", "A", "W", "H", "S", NULL}},
    {"AssessmentOutcomeDate", {NULL}},
    {"Week20", {"0", "1", NULL}},
    {"StartDate", {NULL}},
    {"CeaseDate", {NULL}},
    {"CeaseReason", {"1", "2", "3", "4", "5", "6", "7", "8", "9"}},
    {"RequestMediation", {"0", "1", NULL}},
    {"RequestTribunal", {"0", "1", NULL}},
    {"AssessmentMediation", {"0", "1", NULL}},
    {"AssessmentTribunal", {"0", "1", NULL}},
};

const char *ehc_sen2_item(const char *name)
{
    for (size_t i = 0; name && i < EHC_ARRAY_SIZE(sen2_items); i++) {
        if (strcmp(sen2_items[i].item, name) == 0) return sen2_items[i].item;
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------------
 * Loader helpers: every refusal names the file, the JSON path and the reason. */

typedef struct loader {
    const char *file;
    ehc_load_error *err;
    ehc_workflow *wf;
} loader;

static int refuse(const loader *ld, const char *path, const char *fmt, ...) EHC_PRINTF(3, 4);

static int refuse(const loader *ld, const char *path, const char *fmt, ...)
{
    char reason[sizeof ld->err->reason];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    ehc_load_error_set(ld->err, ld->file, path, "%s", reason);
    return EHC_EINVAL;
}

/* Outside text made safe to quote in an error: printable ASCII only, at most 64 characters. */
static void quote_text(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    for (; src && src[n] && n + 1 < size && n < 64; n++) {
        const unsigned char c = (unsigned char)src[n];
        dst[n] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
}

typedef struct path_buf {
    char s[256];
} path_buf;

static path_buf path_key(const char *path, const char *key)
{
    path_buf p;
    char safe[80];
    quote_text(safe, sizeof safe, key);
    if (snprintf(p.s, sizeof p.s, "%s.%s", path, safe) >= (int)sizeof p.s) p.s[sizeof p.s - 1] = '\0';
    return p;
}

static path_buf path_index(const char *path, size_t i)
{
    path_buf p;
    if (snprintf(p.s, sizeof p.s, "%s[%zu]", path, i) >= (int)sizeof p.s) p.s[sizeof p.s - 1] = '\0';
    return p;
}

/* The workflow takes ownership of p: it is freed with the workflow. */
static void wf_track(ehc_workflow *wf, void *p)
{
    if (wf->alloc_count == wf->alloc_cap) {
        wf->alloc_cap = wf->alloc_cap ? 2 * wf->alloc_cap : 64;
        wf->allocs = ehc_realloc(wf->allocs, wf->alloc_cap * sizeof *wf->allocs);
    }
    wf->allocs[wf->alloc_count++] = p;
}

static void *wf_alloc(ehc_workflow *wf, size_t count, size_t size)
{
    void *p = ehc_calloc(count ? count : 1, size);
    wf_track(wf, p);
    return p;
}

/* obj must be an object holding only keys from `allowed` (NULL-terminated), each once, and every
 * key of `required` (NULL-terminated, may be NULL). */
static int check_keys(const loader *ld, const cJSON *obj, const char *path, const char *const *allowed,
                      const char *const *required)
{
    if (!cJSON_IsObject(obj)) return refuse(ld, path, "must be a JSON object");
    for (const cJSON *child = obj->child; child; child = child->next) {
        const path_buf at = path_key(path, child->string);
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], child->string) != 0)
            i++;
        if (!allowed[i])
            return refuse(ld, at.s, "unknown key '%s' (allowed here: see docs/workflows.md)",
                          path_key("", child->string).s + 1);
        for (const cJSON *other = child->next; other; other = other->next) {
            if (strcmp(other->string, child->string) == 0)
                return refuse(ld, at.s, "key appears more than once");
        }
    }
    for (size_t i = 0; required && required[i]; i++) {
        if (!cJSON_GetObjectItemCaseSensitive(obj, required[i])) {
            return refuse(ld, path_key(path, required[i]).s, "required key is missing");
        }
    }
    return 0;
}

/* A non-empty string of at most MAX_TEXT_CHARS bytes; *out is NULL when an optional key is absent. */
static int get_text(const loader *ld, const cJSON *obj, const char *path, const char *key, bool required,
                    const char **out)
{
    const path_buf at = path_key(path, key);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!item) return required ? refuse(ld, at.s, "required key is missing") : 0;
    if (!cJSON_IsString(item)) return refuse(ld, at.s, "must be a string");
    const size_t len = strlen(item->valuestring);
    if (len == 0) return refuse(ld, at.s, "must not be empty");
    if (len > MAX_TEXT_CHARS) return refuse(ld, at.s, "longer than %d characters", MAX_TEXT_CHARS);
    *out = item->valuestring;
    return 0;
}

static bool id_is_valid(const char *s)
{
    const size_t len = strlen(s);
    if (len == 0 || len > EHC_WORKFLOW_MAX_ID_CHARS) return false;
    for (size_t i = 0; i < len; i++) {
        const char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    }
    return true;
}

static int check_id_text(const loader *ld, const char *path, const char *s)
{
    if (id_is_valid(s)) return 0;
    return refuse(ld, path, "an id must be 1-%d characters of a-z, 0-9, '_' or '-'",
                  EHC_WORKFLOW_MAX_ID_CHARS);
}

static int get_id(const loader *ld, const cJSON *obj, const char *path, const char *key, const char **out)
{
    int rc = get_text(ld, obj, path, key, true, out);
    if (rc) return rc;
    return check_id_text(ld, path_key(path, key).s, *out);
}

static int get_bool(const loader *ld, const cJSON *obj, const char *path, const char *key, bool *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item) return 0;
    if (!cJSON_IsBool(item)) return refuse(ld, path_key(path, key).s, "must be true or false");
    *out = cJSON_IsTrue(item);
    return 0;
}

/* A JSON number that is a whole number within [min, max]. */
static int read_int(const loader *ld, const cJSON *item, const char *path, int64_t min, int64_t max,
                    int64_t *out)
{
    if (!cJSON_IsNumber(item)) return refuse(ld, path, "must be a whole number");
    const double v = item->valuedouble;
    if (v != v || v < (double)min || v > (double)max || v != (double)(int64_t)v) {
        return refuse(ld, path, "must be a whole number from %lld to %lld", (long long)min, (long long)max);
    }
    *out = (int64_t)v;
    return 0;
}

static int get_array(const loader *ld, const cJSON *obj, const char *path, const char *key, bool nonempty,
                     const cJSON **out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = item;
    if (!item) return 0;
    if (!cJSON_IsArray(item)) return refuse(ld, path_key(path, key).s, "must be a JSON array");
    if (nonempty && !item->child) return refuse(ld, path_key(path, key).s, "must not be empty");
    return 0;
}

static size_t find_stage(const ehc_workflow *wf, const char *id)
{
    for (size_t i = 0; i < wf->stage_count; i++) {
        if (strcmp(wf->stages[i].id, id) == 0) return i;
    }
    return EHC_WF_NONE;
}

static size_t find_event(const ehc_workflow *wf, const char *id)
{
    for (size_t i = 0; i < wf->event_count; i++) {
        if (wf->events[i].id && strcmp(wf->events[i].id, id) == 0) return i;
    }
    return EHC_WF_NONE;
}

static size_t find_field(const ehc_wf_event *ev, const char *id)
{
    for (size_t i = 0; i < ev->field_count; i++) {
        if (strcmp(ev->fields[i].id, id) == 0) return i;
    }
    return EHC_WF_NONE;
}

/* A stage id at `path` (a JSON string) to its index. */
static int stage_ref(const loader *ld, const cJSON *item, const char *path, size_t *out)
{
    if (!cJSON_IsString(item)) return refuse(ld, path, "must be a stage id (a string)");
    char safe[80];
    quote_text(safe, sizeof safe, item->valuestring);
    *out = find_stage(ld->wf, item->valuestring);
    if (*out == EHC_WF_NONE) return refuse(ld, path, "unknown stage '%s'", safe);
    return 0;
}

static int event_ref(const loader *ld, const cJSON *item, const char *path, size_t *out)
{
    if (!cJSON_IsString(item)) return refuse(ld, path, "must be an event id (a string)");
    char safe[80];
    quote_text(safe, sizeof safe, item->valuestring);
    *out = find_event(ld->wf, item->valuestring);
    if (*out == EHC_WF_NONE) return refuse(ld, path, "unknown event '%s'", safe);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Stages */

static int load_stages(const loader *ld, const cJSON *root)
{
    static const char *const allowed[] = {"id", "title", "initial", "final", "note", NULL};
    static const char *const required[] = {"id", "title", NULL};
    ehc_workflow *wf = ld->wf;
    const cJSON *arr = NULL;
    int rc = get_array(ld, root, "$", "stages", true, &arr);
    if (rc) return rc;
    wf->stages = wf_alloc(wf, (size_t)cJSON_GetArraySize(arr), sizeof *wf->stages);
    size_t initial_count = 0, final_count = 0;
    wf->initial_stage = EHC_WF_NONE;
    for (const cJSON *s = arr->child; s; s = s->next) {
        const path_buf at = path_index("$.stages", wf->stage_count);
        ehc_wf_stage *st = &wf->stages[wf->stage_count];
        if ((rc = check_keys(ld, s, at.s, allowed, required))) return rc;
        if ((rc = get_id(ld, s, at.s, "id", &st->id))) return rc;
        if ((rc = get_text(ld, s, at.s, "title", true, &st->title))) return rc;
        if ((rc = get_bool(ld, s, at.s, "initial", &st->initial))) return rc;
        if ((rc = get_bool(ld, s, at.s, "final", &st->final))) return rc;
        if (find_stage(wf, st->id) != EHC_WF_NONE) {
            return refuse(ld, path_key(at.s, "id").s, "duplicate stage id '%s'", st->id);
        }
        if (st->initial && st->final) return refuse(ld, at.s, "a stage cannot be both initial and final");
        if (st->initial) {
            initial_count++;
            wf->initial_stage = wf->stage_count;
        }
        if (st->final) final_count++;
        wf->stage_count++;
    }
    if (initial_count != 1) {
        return refuse(ld, "$.stages", "exactly one stage must be \"initial\": true (found %zu)",
                      initial_count);
    }
    if (final_count == 0) return refuse(ld, "$.stages", "at least one stage must be \"final\": true");
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Events: fields, guards, transitions, dependencies, reports */

static int load_field(const loader *ld, const cJSON *obj, const char *path, ehc_wf_field *f)
{
    static const char *const allowed[] = {"id",         "title", "type", "required", "values",
                                          "max_length", "min",   "max",  "note",     NULL};
    static const char *const required[] = {"id", "type", NULL};
    int rc = check_keys(ld, obj, path, allowed, required);
    if (rc) return rc;
    const char *type = NULL;
    if ((rc = get_id(ld, obj, path, "id", &f->id))) return rc;
    if ((rc = get_text(ld, obj, path, "title", false, &f->title))) return rc;
    if ((rc = get_text(ld, obj, path, "type", true, &type))) return rc;
    if ((rc = get_bool(ld, obj, path, "required", &f->required))) return rc;
    size_t t = 0;
    while (t < EHC_ARRAY_SIZE(field_type_names) && strcmp(field_type_names[t], type) != 0)
        t++;
    if (t == EHC_ARRAY_SIZE(field_type_names)) {
        char safe[80];
        quote_text(safe, sizeof safe, type);
        return refuse(ld, path_key(path, "type").s,
                      "unknown field type '%s' (one of date, enum, text, bool, int, id, datetime)", safe);
    }
    f->type = (ehc_field_type)t;
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(obj, "values");
    const cJSON *max_length = cJSON_GetObjectItemCaseSensitive(obj, "max_length");
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(obj, "min");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(obj, "max");
    if (values && f->type != EHC_FIELD_ENUM)
        return refuse(ld, path_key(path, "values").s, "only an enum field has values");
    if (max_length && f->type != EHC_FIELD_TEXT) {
        return refuse(ld, path_key(path, "max_length").s, "only a text field has max_length");
    }
    if ((min || max) && f->type != EHC_FIELD_INT) {
        return refuse(ld, path_key(path, min ? "min" : "max").s, "only an int field has min and max");
    }
    if (f->type == EHC_FIELD_ENUM) {
        const cJSON *arr = NULL;
        if (!values) return refuse(ld, path_key(path, "values").s, "an enum field must list its values");
        if ((rc = get_array(ld, obj, path, "values", true, &arr))) return rc;
        const char **list = wf_alloc(ld->wf, (size_t)cJSON_GetArraySize(arr), sizeof *list);
        for (const cJSON *v = arr->child; v; v = v->next) {
            const path_buf at = path_index(path_key(path, "values").s, f->value_count);
            if (!cJSON_IsString(v) || !id_is_valid(v->valuestring)) {
                return refuse(ld, at.s, "an enum value must be a string of a-z, 0-9, '_' or '-'");
            }
            for (size_t i = 0; i < f->value_count; i++) {
                if (strcmp(list[i], v->valuestring) == 0)
                    return refuse(ld, at.s, "duplicate value '%s'", list[i]);
            }
            list[f->value_count++] = v->valuestring;
        }
        f->values = list;
    }
    f->max_length = DEFAULT_TEXT_MAX_LENGTH;
    if (max_length) {
        int64_t n = 0;
        if ((rc = read_int(ld, max_length, path_key(path, "max_length").s, 1, 100000, &n))) return rc;
        f->max_length = (size_t)n;
    }
    f->min = INT32_MIN;
    f->max = INT32_MAX;
    if (min && (rc = read_int(ld, min, path_key(path, "min").s, INT32_MIN, INT32_MAX, &f->min))) return rc;
    if (max && (rc = read_int(ld, max, path_key(path, "max").s, INT32_MIN, INT32_MAX, &f->max))) return rc;
    if (f->min > f->max) return refuse(ld, path_key(path, "max").s, "max is below min");
    return 0;
}

/* A guard value as the machine will compare it: the canonical text of a valid value of field f. */
static int guard_value(const loader *ld, const cJSON *v, const char *path, const ehc_wf_field *f,
                       const char **out)
{
    switch (f->type) {
    case EHC_FIELD_BOOL:
        if (!cJSON_IsBool(v)) return refuse(ld, path, "field '%s' is a bool: write true or false", f->id);
        *out = cJSON_IsTrue(v) ? "true" : "false";
        return 0;
    case EHC_FIELD_INT: {
        int64_t n = 0;
        int rc = read_int(ld, v, path, f->min, f->max, &n);
        if (rc) return rc;
        char *text = ehc_asprintf("%lld", (long long)n);
        wf_track(ld->wf, text);
        *out = text;
        return 0;
    }
    default: break;
    }
    if (!cJSON_IsString(v))
        return refuse(ld, path, "field '%s' is %s: write a string", f->id, ehc_field_type_name(f->type));
    char safe[80];
    quote_text(safe, sizeof safe, v->valuestring);
    if (f->type == EHC_FIELD_ENUM) {
        for (size_t i = 0; i < f->value_count; i++) {
            if (strcmp(f->values[i], v->valuestring) == 0) {
                *out = f->values[i];
                return 0;
            }
        }
        return refuse(ld, path, "'%s' is not one of the values of field '%s'", safe, f->id);
    }
    if (f->type == EHC_FIELD_DATE) {
        ehc_date d;
        if (ehc_date_parse_iso(v->valuestring, &d) != 0)
            return refuse(ld, path, "'%s' is not a date (YYYY-MM-DD)", safe);
    }
    if (f->type == EHC_FIELD_DATETIME) {
        ehc_date d;
        int minute = 0;
        if (ehc_date_parse_local_datetime(v->valuestring, &d, &minute) != 0)
            return refuse(ld, path, "'%s' is not a time (YYYY-MM-DDTHH:MM)", safe);
    }
    if (strlen(v->valuestring) == 0) return refuse(ld, path, "must not be empty");
    *out = v->valuestring;
    return 0;
}

static int load_when(const loader *ld, const cJSON *obj, const char *path, const ehc_wf_event *ev,
                     ehc_wf_when *out)
{
    const cJSON *when = cJSON_GetObjectItemCaseSensitive(obj, "when");
    memset(out, 0, sizeof *out);
    if (!when) return 0;
    const path_buf wpath = path_key(path, "when");
    if (!cJSON_IsObject(when) || !when->child) {
        return refuse(ld, wpath.s, "must be a JSON object of field: value (at least one)");
    }
    ehc_wf_condition *conds = wf_alloc(ld->wf, (size_t)cJSON_GetArraySize(when), sizeof *conds);
    for (const cJSON *c = when->child; c; c = c->next) {
        const path_buf at = path_key(wpath.s, c->string);
        for (const cJSON *other = c->next; other; other = other->next) {
            if (strcmp(other->string, c->string) == 0) return refuse(ld, at.s, "key appears more than once");
        }
        const size_t fi = find_field(ev, c->string);
        if (fi == EHC_WF_NONE) {
            return refuse(ld, at.s, "event '%s' has no field '%s'", ev->id, path_key("", c->string).s + 1);
        }
        conds[out->count].field = fi;
        int rc = guard_value(ld, c, at.s, &ev->fields[fi], &conds[out->count].value);
        if (rc) return rc;
        out->count++;
    }
    out->conditions = conds;
    return 0;
}

/* "from" / "stay": "*" (every non-final stage) or a non-empty array of stage ids. */
static int load_stage_list(const loader *ld, const cJSON *item, const char *path, bool *any,
                           const size_t **list, size_t *count)
{
    *any = false;
    *count = 0;
    if (cJSON_IsString(item) && strcmp(item->valuestring, "*") == 0) {
        *any = true;
        return 0;
    }
    if (!cJSON_IsArray(item) || !item->child) {
        return refuse(ld, path, "must be \"*\" (any non-final stage) or a non-empty array of stage ids");
    }
    size_t *out = wf_alloc(ld->wf, (size_t)cJSON_GetArraySize(item), sizeof *out);
    for (const cJSON *s = item->child; s; s = s->next) {
        const path_buf at = path_index(path, *count);
        size_t idx;
        int rc = stage_ref(ld, s, at.s, &idx);
        if (rc) return rc;
        for (size_t i = 0; i < *count; i++) {
            if (out[i] == idx) return refuse(ld, at.s, "stage '%s' listed twice", ld->wf->stages[idx].id);
        }
        out[(*count)++] = idx;
    }
    *list = out;
    return 0;
}

static int load_transitions(const loader *ld, const cJSON *obj, const char *path, ehc_wf_event *ev)
{
    static const char *const allowed[] = {"from", "to", "when", NULL};
    const cJSON *arr = NULL;
    int rc = get_array(ld, obj, path, "transitions", false, &arr);
    if (rc || !arr) return rc;
    const path_buf tpath = path_key(path, "transitions");
    ehc_wf_transition *ts = wf_alloc(ld->wf, (size_t)cJSON_GetArraySize(arr), sizeof *ts);
    for (const cJSON *t = arr->child; t; t = t->next) {
        const path_buf at = path_index(tpath.s, ev->transition_count);
        ehc_wf_transition *tr = &ts[ev->transition_count];
        if ((rc = check_keys(ld, t, at.s, allowed, (const char *const[]){"from", "to", NULL}))) return rc;
        const path_buf from_path = path_key(at.s, "from");
        if ((rc = load_stage_list(ld, cJSON_GetObjectItemCaseSensitive(t, "from"), from_path.s,
                                  &tr->from_any_open, &tr->from, &tr->from_count))) {
            return rc;
        }
        for (size_t i = 0; i < tr->from_count; i++) {
            if (ld->wf->stages[tr->from[i]].final) {
                return refuse(ld, path_index(from_path.s, i).s,
                              "stage '%s' is final: no transition may leave it",
                              ld->wf->stages[tr->from[i]].id);
            }
        }
        if ((rc = stage_ref(ld, cJSON_GetObjectItemCaseSensitive(t, "to"), path_key(at.s, "to").s, &tr->to)))
            return rc;
        if ((rc = load_when(ld, t, at.s, ev, &tr->when))) return rc;
        ev->transition_count++;
    }
    ev->transitions = ts;
    return 0;
}

static int load_depends_on(const loader *ld, const cJSON *obj, const char *path, size_t self,
                           ehc_wf_event *ev)
{
    const cJSON *dep = cJSON_GetObjectItemCaseSensitive(obj, "depends_on");
    ev->depends_on = EHC_WF_NONE;
    if (!dep) return 0;
    const path_buf at = path_key(path, "depends_on");
    const cJSON *event = dep;
    const char *match = NULL;
    int rc;
    if (cJSON_IsObject(dep)) {
        static const char *const allowed[] = {"event", "match", NULL};
        if ((rc = check_keys(ld, dep, at.s, allowed, (const char *const[]){"event", NULL}))) return rc;
        if ((rc = get_text(ld, dep, at.s, "match", false, &match))) return rc;
        event = cJSON_GetObjectItemCaseSensitive(dep, "event");
    }
    const path_buf epath = cJSON_IsObject(dep) ? path_key(at.s, "event") : at;
    if ((rc = event_ref(ld, event, epath.s, &ev->depends_on))) return rc;
    if (ev->depends_on == self) return refuse(ld, epath.s, "an event cannot depend on itself");
    if (!match) return 0;
    const ehc_wf_event *other = &ld->wf->events[ev->depends_on];
    const path_buf mpath = path_key(at.s, "match");
    if (ev->key_field == EHC_WF_NONE || strcmp(ev->fields[ev->key_field].id, match) != 0) {
        return refuse(ld, mpath.s, "'match' must name this event's \"key\" field");
    }
    /* The other event may not be parsed yet: compare its raw JSON. */
    const cJSON *other_json =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ld->wf->root, "events"), (int)ev->depends_on);
    const cJSON *other_key = cJSON_GetObjectItemCaseSensitive(other_json, "key");
    if (!cJSON_IsString(other_key) || strcmp(other_key->valuestring, match) != 0) {
        return refuse(ld, mpath.s, "event '%s' must have \"key\": \"%s\" to be matched on it", other->id,
                      match);
    }
    ev->depends_on_same_key = true;
    return 0;
}

static int load_report_set(const loader *ld, const cJSON *set, const char *path, const ehc_wf_when *when,
                           ehc_wf_report *reports, size_t *count)
{
    if (!cJSON_IsObject(set) || !set->child)
        return refuse(ld, path, "must be a JSON object of SEN2 item: code");
    for (const cJSON *c = set->child; c; c = c->next) {
        const path_buf at = path_key(path, c->string);
        size_t i = 0;
        while (i < EHC_ARRAY_SIZE(sen2_items) && strcmp(sen2_items[i].item, c->string) != 0)
            i++;
        if (i == EHC_ARRAY_SIZE(sen2_items)) return refuse(ld, at.s, "unknown SEN2 item");
        if (!cJSON_IsString(c)) return refuse(ld, at.s, "must be a string");
        ehc_wf_report *r = &reports[(*count)++];
        r->item = sen2_items[i].item;
        r->value = c->valuestring;
        r->when = *when;
        if (!sen2_items[i].codes[0]) {
            if (strcmp(c->valuestring, "effective_date") != 0) {
                return refuse(ld, at.s, "a SEN2 date item takes the value \"effective_date\"");
            }
            r->value_is_effective_date = true;
            continue;
        }
        size_t k = 0;
        while (k < EHC_ARRAY_SIZE(sen2_items[i].codes) && sen2_items[i].codes[k] &&
               strcmp(sen2_items[i].codes[k], c->valuestring) != 0) {
            k++;
        }
        if (k == EHC_ARRAY_SIZE(sen2_items[i].codes) || !sen2_items[i].codes[k]) {
            char safe[80];
            quote_text(safe, sizeof safe, c->valuestring);
            return refuse(ld, at.s, "'%s' is not a code of SEN2 item %s", safe, r->item);
        }
    }
    return 0;
}

/* "report": {"Item": "code"} always, or [{"set": {...}, "when": {...}}] conditionally. */
static int load_reports(const loader *ld, const cJSON *obj, const char *path, ehc_wf_event *ev)
{
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(obj, "report");
    if (!rep) return 0;
    const path_buf at = path_key(path, "report");
    size_t cap = 0;
    if (cJSON_IsObject(rep)) {
        cap = (size_t)cJSON_GetArraySize(rep);
    } else if (cJSON_IsArray(rep)) {
        for (const cJSON *r = rep->child; r; r = r->next)
            cap += (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(r, "set"));
    } else {
        return refuse(ld, at.s, "must be an object of SEN2 item: code, or an array of {\"set\", \"when\"}");
    }
    ehc_wf_report *reports = wf_alloc(ld->wf, cap, sizeof *reports);
    ev->reports = reports;
    const ehc_wf_when always = {0};
    if (cJSON_IsObject(rep)) return load_report_set(ld, rep, at.s, &always, reports, &ev->report_count);
    size_t i = 0;
    for (const cJSON *r = rep->child; r; r = r->next, i++) {
        static const char *const allowed[] = {"set", "when", NULL};
        const path_buf rpath = path_index(at.s, i);
        ehc_wf_when when;
        int rc = check_keys(ld, r, rpath.s, allowed, (const char *const[]){"set", NULL});
        if (rc || (rc = load_when(ld, r, rpath.s, ev, &when))) return rc;
        rc = load_report_set(ld, cJSON_GetObjectItemCaseSensitive(r, "set"), path_key(rpath.s, "set").s,
                             &when, reports, &ev->report_count);
        if (rc) return rc;
    }
    return 0;
}

static int load_roles(const loader *ld, const cJSON *obj, const char *path, unsigned *roles)
{
    const cJSON *arr = NULL;
    int rc = get_array(ld, obj, path, "roles", true, &arr);
    if (rc) return rc;
    const path_buf rpath = path_key(path, "roles");
    size_t i = 0;
    for (const cJSON *r = arr->child; r; r = r->next, i++) {
        const path_buf at = path_index(rpath.s, i);
        ehc_role role;
        if (!cJSON_IsString(r)) return refuse(ld, at.s, "must be a role name (a string)");
        if (ehc_role_parse(r->valuestring, &role) != 0) {
            char safe[80];
            quote_text(safe, sizeof safe, r->valuestring);
            return refuse(
                ld, at.s,
                "unknown role '%s' (one of officer, manager, service_manager, dco, social_care, admin)",
                safe);
        }
        if (*roles & (unsigned)role) return refuse(ld, at.s, "role '%s' listed twice", r->valuestring);
        *roles |= (unsigned)role;
    }
    return 0;
}

/* A named field of the event that must be required and of one type. */
static int special_field(const loader *ld, const char *path, const ehc_wf_event *ev, const char *name,
                         ehc_field_type type, size_t *out)
{
    *out = find_field(ev, name);
    if (*out == EHC_WF_NONE) return refuse(ld, path, "event '%s' has no field '%s'", ev->id, name);
    const ehc_wf_field *f = &ev->fields[*out];
    if (f->type != type || !f->required) {
        return refuse(ld, path, "field '%s' must be a required %s field", name, ehc_field_type_name(type));
    }
    return 0;
}

/* "deemed_receipt": {"channel": "<enum field of channel names>", "at": "<datetime field>"}. */
static int load_deemed_receipt(const loader *ld, const cJSON *obj, const char *path, ehc_wf_event *ev)
{
    static const char *const allowed[] = {"channel", "at", NULL};
    const cJSON *dr = cJSON_GetObjectItemCaseSensitive(obj, "deemed_receipt");
    ev->receipt_channel_field = ev->receipt_at_field = EHC_WF_NONE;
    if (!dr) return 0;
    const path_buf at = path_key(path, "deemed_receipt");
    const char *channel = NULL, *when = NULL;
    int rc = check_keys(ld, dr, at.s, allowed, allowed);
    if (rc || (rc = get_text(ld, dr, at.s, "channel", true, &channel)) ||
        (rc = get_text(ld, dr, at.s, "at", true, &when)) ||
        (rc = special_field(ld, path_key(at.s, "channel").s, ev, channel, EHC_FIELD_ENUM,
                            &ev->receipt_channel_field)) ||
        (rc = special_field(ld, path_key(at.s, "at").s, ev, when, EHC_FIELD_DATETIME,
                            &ev->receipt_at_field))) {
        return rc;
    }
    const ehc_wf_field *f = &ev->fields[ev->receipt_channel_field];
    for (size_t i = 0; i < f->value_count; i++) {
        ehc_receipt_channel ch;
        if (ehc_receipt_channel_parse(f->values[i], &ch) != 0) {
            return refuse(ld, path_key(at.s, "channel").s,
                          "value '%s' of field '%s' is not a channel (hand, email, first_class_post, "
                          "signed_for)",
                          f->values[i], f->id);
        }
    }
    if (ev->effective_field != EHC_WF_NONE)
        return refuse(ld, at.s, "an event has either \"effective_date\" or \"deemed_receipt\", not both");
    ev->deemed_receipt = true;
    return 0;
}

static const char *const advice_names[] = {NULL,       "requested",  "forwarded",
                                           "returned", "nil_return", "existing_sufficient"};

const char *ehc_wf_advice_name(ehc_wf_advice advice)
{
    return (size_t)advice < EHC_ARRAY_SIZE(advice_names) ? advice_names[advice] : NULL;
}

/* A field the advice action needs: present, of this type, and required when `required`. */
static int advice_field(const loader *ld, const char *path, const ehc_wf_event *ev, const char *name,
                        ehc_field_type type, bool required)
{
    const size_t i = find_field(ev, name);
    if (i == EHC_WF_NONE) return refuse(ld, path, "event '%s' has no field '%s'", ev->id, name);
    if (ev->fields[i].type != type || (required && !ev->fields[i].required)) {
        return refuse(ld, path, "field '%s' must be a%s %s field", name, required ? " required" : "n",
                      ehc_field_type_name(type));
    }
    return 0;
}

/* "advice": what the event does to the advice request named by its key. */
static int load_advice(const loader *ld, const cJSON *obj, const char *path, ehc_wf_event *ev)
{
    const char *name = NULL;
    int rc = get_text(ld, obj, path, "advice", false, &name);
    if (rc || !name) return rc;
    const path_buf at = path_key(path, "advice");
    for (size_t i = 1; i < EHC_ARRAY_SIZE(advice_names) && !ev->advice; i++)
        if (strcmp(name, advice_names[i]) == 0) ev->advice = (ehc_wf_advice)i;
    if (!ev->advice) {
        return refuse(ld, at.s,
                      "unknown advice action '%s' (requested, forwarded, returned, nil_return, "
                      "existing_sufficient)",
                      name);
    }
    if (ev->key_field == EHC_WF_NONE)
        return refuse(ld, at.s, "an advice event needs a \"key\": the request's");
    switch (ev->advice) {
    case EHC_WF_ADVICE_REQUESTED:
        if ((rc = advice_field(ld, at.s, ev, "adviser", EHC_FIELD_ENUM, true))) return rc;
        if (find_field(ev, "organisation_id") != EHC_WF_NONE)
            return advice_field(ld, at.s, ev, "organisation_id", EHC_FIELD_INT, false);
        return 0;
    case EHC_WF_ADVICE_EXISTING_SUFFICIENT:
        return advice_field(ld, at.s, ev, "adviser", EHC_FIELD_ENUM, true);
    case EHC_WF_ADVICE_FORWARDED: return advice_field(ld, at.s, ev, "organisation_id", EHC_FIELD_INT, true);
    case EHC_WF_ADVICE_NIL_RETURN: return advice_field(ld, at.s, ev, "reason", EHC_FIELD_ENUM, true);
    default: return 0;
    }
}

static const char *const sen2_record_names[] = {NULL, "plan", "placement", "need"};

const char *ehc_wf_sen2_record_name(ehc_wf_sen2_record record)
{
    return (size_t)record < EHC_ARRAY_SIZE(sen2_record_names) ? sen2_record_names[record] : NULL;
}

/* A field a SEN2 record reads: when present (or when `required`), of this type, and required when
 * `required`; an enum's values all among `codes` (SEN2 codes in lower case), an int's range within [lo, hi],
 * so that whatever the machine accepts the store can keep. */
typedef struct sen2_rule {
    const char *name;
    ehc_field_type type;
    bool required;
    const char *const *codes;
    int64_t lo, hi;
} sen2_rule;

static int sen2_field(const loader *ld, const char *path, const ehc_wf_event *ev, const sen2_rule *r)
{
    const size_t i = find_field(ev, r->name);
    if (i == EHC_WF_NONE && !r->required) return 0;
    if (i == EHC_WF_NONE) return refuse(ld, path, "event '%s' has no field '%s'", ev->id, r->name);
    const ehc_wf_field *f = &ev->fields[i];
    if (f->type != r->type || (r->required && !f->required)) {
        return refuse(ld, path, "field '%s' must be a%s %s field", r->name, r->required ? " required" : "n",
                      ehc_field_type_name(r->type));
    }
    for (size_t v = 0; r->codes && v < f->value_count; v++) {
        bool known = false;
        for (const char *const *c = r->codes; *c && !known; c++)
            known = strcmp(*c, f->values[v]) == 0;
        if (!known)
            return refuse(ld, path, "value '%s' of field '%s' is not a SEN2 code", f->values[v], r->name);
    }
    if (r->type == EHC_FIELD_INT && (f->min < r->lo || f->max > r->hi)) {
        return refuse(ld, path, "field '%s' needs \"min\" and \"max\" within %lld to %lld", r->name,
                      (long long)r->lo, (long long)r->hi);
    }
    return 0;
}

/* "sen2_record": what the event records for the SEN2 return, and the fields that kind reads. */
static int load_sen2_record(const loader *ld, const cJSON *obj, const char *path, ehc_wf_event *ev)
{
    /* the SEN2 codes, as a workflow's enum values are written (lower case) */
    static const char *const settings[] = {"ola", "opa", "ehe", "eyp", "oth", "neet", "niec", "nieo", NULL};
    static const char *const needs[] = {"spld", "mld", "sld", "pmld", "semh", "slcn", "hi",
                                        "vi",   "msi", "pd",  "asd",  "ds",   "oth",  NULL};
    static const sen2_rule plan[] = {
        {"residential", EHC_FIELD_BOOL, false, NULL, 0, 0},
        {"work_based", EHC_FIELD_BOOL, false, NULL, 0, 0},
        {"personal_budget", EHC_FIELD_BOOL, false, NULL, 0, 0},
        {"organised_arrangements", EHC_FIELD_BOOL, false, NULL, 0, 0},
        {"direct_payments", EHC_FIELD_BOOL, false, NULL, 0, 0},
        {"start_on", EHC_FIELD_DATE, false, NULL, 0, 0},
        {"cease_on", EHC_FIELD_DATE, false, NULL, 0, 0},
        {"cease_reason", EHC_FIELD_INT, false, NULL, 1, 9},
        {NULL, 0, false, NULL, 0, 0},
    };
    static const sen2_rule placement[] = {
        {"rank", EHC_FIELD_INT, true, NULL, 1, 99},
        {"urn", EHC_FIELD_INT, false, NULL, 100000, 999999},
        {"ukprn", EHC_FIELD_INT, false, NULL, 10000000, 19999999},
        {"sen_setting", EHC_FIELD_ENUM, false, settings, 0, 0},
        {"sen_unit", EHC_FIELD_BOOL, false, NULL, 0, 0},
        {"resourced_provision", EHC_FIELD_BOOL, false, NULL, 0, 0},
        {"start_on", EHC_FIELD_DATE, false, NULL, 0, 0},
        {"end_on", EHC_FIELD_DATE, false, NULL, 0, 0},
        {NULL, 0, false, NULL, 0, 0},
    };
    static const sen2_rule need[] = {
        {"primary_need", EHC_FIELD_ENUM, true, needs, 0, 0},
        {"secondary_need", EHC_FIELD_ENUM, false, needs, 0, 0},
        {NULL, 0, false, NULL, 0, 0},
    };
    static const sen2_rule *const rules[] = {NULL, plan, placement, need};
    const char *name = NULL;
    int rc = get_text(ld, obj, path, "sen2_record", false, &name);
    if (rc || !name) return rc;
    const path_buf at = path_key(path, "sen2_record");
    for (size_t i = 1; i < EHC_ARRAY_SIZE(sen2_record_names) && !ev->sen2_record; i++)
        if (strcmp(name, sen2_record_names[i]) == 0) ev->sen2_record = (ehc_wf_sen2_record)i;
    if (!ev->sen2_record) return refuse(ld, at.s, "unknown SEN2 record '%s' (plan, placement, need)", name);
    if (ev->sen2_record == EHC_WF_SEN2_PLACEMENT && ev->key_field == EHC_WF_NONE)
        return refuse(ld, at.s, "a placement event needs a \"key\": the placement's");
    for (const sen2_rule *r = rules[ev->sen2_record]; r->name; r++)
        if ((rc = sen2_field(ld, at.s, ev, r))) return rc;
    return 0;
}

static int load_event(const loader *ld, const cJSON *obj, size_t index)
{
    static const char *const allowed[] = {"id",
                                          "title",
                                          "roles",
                                          "fields",
                                          "effective_date",
                                          "key",
                                          "transitions",
                                          "stay",
                                          "depends_on",
                                          "report",
                                          "records_exception",
                                          "note",
                                          "cancels_all_clocks",
                                          "stops_letters",
                                          "deemed_receipt",
                                          "advice",
                                          "sen2_record",
                                          NULL};
    static const char *const required[] = {"id", "title", "roles", NULL};
    ehc_workflow *wf = ld->wf;
    ehc_wf_event *ev = &wf->events[index];
    const path_buf at = path_index("$.events", index);
    int rc = check_keys(ld, obj, at.s, allowed, required);
    if (rc) return rc;
    if ((rc = get_text(ld, obj, at.s, "title", true, &ev->title))) return rc;
    if ((rc = load_roles(ld, obj, at.s, &ev->roles))) return rc;
    const cJSON *fields = NULL;
    if ((rc = get_array(ld, obj, at.s, "fields", false, &fields))) return rc;
    if (fields) {
        const path_buf fpath = path_key(at.s, "fields");
        ehc_wf_field *fs = wf_alloc(wf, (size_t)cJSON_GetArraySize(fields), sizeof *fs);
        ev->fields = fs;
        for (const cJSON *f = fields->child; f; f = f->next) {
            const path_buf fat = path_index(fpath.s, ev->field_count);
            if ((rc = load_field(ld, f, fat.s, &fs[ev->field_count]))) return rc;
            if (strcmp(fs[ev->field_count].id, "effective_on") == 0) {
                return refuse(ld, path_key(fat.s, "id").s,
                              "'effective_on' is every event's own date: not a field");
            }
            if (find_field(ev, fs[ev->field_count].id) != EHC_WF_NONE) {
                return refuse(ld, path_key(fat.s, "id").s, "duplicate field id '%s'", fs[ev->field_count].id);
            }
            ev->field_count++;
        }
    }
    const char *name = NULL;
    ev->effective_field = EHC_WF_NONE;
    if ((rc = get_text(ld, obj, at.s, "effective_date", false, &name))) return rc;
    if (name && strcmp(name, "effective_on") != 0 &&
        (rc = special_field(ld, path_key(at.s, "effective_date").s, ev, name, EHC_FIELD_DATE,
                            &ev->effective_field))) {
        return rc;
    }
    ev->key_field = EHC_WF_NONE;
    if ((rc = get_text(ld, obj, at.s, "key", false, &name))) return rc;
    if (name && (rc = special_field(ld, path_key(at.s, "key").s, ev, name, EHC_FIELD_ID, &ev->key_field)))
        return rc;
    if ((rc = get_bool(ld, obj, at.s, "records_exception", &ev->records_exception)) ||
        (rc = get_bool(ld, obj, at.s, "cancels_all_clocks", &ev->cancels_all_clocks)) ||
        (rc = get_bool(ld, obj, at.s, "stops_letters", &ev->stops_letters)) ||
        (rc = load_deemed_receipt(ld, obj, at.s, ev))) {
        return rc;
    }
    if (ev->records_exception) {
        size_t ignored;
        if ((rc = special_field(ld, path_key(at.s, "records_exception").s, ev, "deadline", EHC_FIELD_ID,
                                &ignored)) ||
            (rc = special_field(ld, path_key(at.s, "records_exception").s, ev, "exception", EHC_FIELD_ID,
                                &ignored))) {
            return rc;
        }
    }
    if ((rc = load_transitions(ld, obj, at.s, ev))) return rc;
    const cJSON *stay = cJSON_GetObjectItemCaseSensitive(obj, "stay");
    if (stay && (rc = load_stage_list(ld, stay, path_key(at.s, "stay").s, &ev->stay_any_open, &ev->stay,
                                      &ev->stay_count))) {
        return rc;
    }
    if (ev->transition_count == 0 && !stay) {
        return refuse(ld, at.s,
                      "event '%s' has neither \"transitions\" nor \"stay\": it could never be recorded",
                      ev->id);
    }
    if ((rc = load_depends_on(ld, obj, at.s, index, ev))) return rc;
    if ((rc = load_advice(ld, obj, at.s, ev))) return rc;
    if ((rc = load_sen2_record(ld, obj, at.s, ev))) return rc;
    return load_reports(ld, obj, at.s, ev);
}

static int load_events(const loader *ld, const cJSON *root)
{
    ehc_workflow *wf = ld->wf;
    const cJSON *arr = NULL;
    int rc = get_array(ld, root, "$", "events", true, &arr);
    if (rc) return rc;
    const size_t n = (size_t)cJSON_GetArraySize(arr);
    wf->events = wf_alloc(wf, n, sizeof *wf->events);
    /* Ids first, so that depends_on may name an event listed later. */
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        const path_buf at = path_index("$.events", i);
        if (!cJSON_IsObject(e)) return refuse(ld, at.s, "must be a JSON object");
        const char *id = NULL;
        if ((rc = get_id(ld, e, at.s, "id", &id))) return rc;
        if (find_event(wf, id) != EHC_WF_NONE)
            return refuse(ld, path_key(at.s, "id").s, "duplicate event id '%s'", id);
        wf->events[i].id = id;
        wf->event_count++;
    }
    i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        if ((rc = load_event(ld, e, i))) return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Deadlines */

static int load_event_refs(const loader *ld, const cJSON *obj, const char *path, const char *key,
                           bool nonempty, const ehc_wf_event_ref **out, size_t *count)
{
    const cJSON *arr = NULL;
    int rc = get_array(ld, obj, path, key, nonempty, &arr);
    *count = 0;
    if (rc || !arr) return rc;
    const path_buf rpath = path_key(path, key);
    ehc_wf_event_ref *refs = wf_alloc(ld->wf, (size_t)cJSON_GetArraySize(arr), sizeof *refs);
    for (const cJSON *r = arr->child; r; r = r->next) {
        const path_buf at = path_index(rpath.s, *count);
        ehc_wf_event_ref *ref = &refs[*count];
        if (cJSON_IsObject(r)) {
            static const char *const allowed[] = {"event", "when", NULL};
            if ((rc = check_keys(ld, r, at.s, allowed, (const char *const[]){"event", NULL}))) return rc;
            if ((rc = event_ref(ld, cJSON_GetObjectItemCaseSensitive(r, "event"), path_key(at.s, "event").s,
                                &ref->event))) {
                return rc;
            }
            if ((rc = load_when(ld, r, at.s, &ld->wf->events[ref->event], &ref->when))) return rc;
        } else if ((rc = event_ref(ld, r, at.s, &ref->event))) {
            return rc;
        }
        (*count)++;
    }
    *out = refs;
    return 0;
}

static int load_length(const loader *ld, const cJSON *obj, const char *path, ehc_wf_length *len)
{
    static const char *const units[] = {"days",         "weeks",         "months",
                                        "working_days", "period_months", "before_fixed"};
    static const char *const allowed[] = {"days",         "weeks",         "months",
                                          "working_days", "period_months", "before_fixed",
                                          "year_offset",  "before",        NULL};
    const path_buf at = path_key(path, "length");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(obj, "length");
    int rc = check_keys(ld, l, at.s, allowed, NULL);
    if (rc) return rc;
    size_t found = EHC_ARRAY_SIZE(units);
    for (size_t u = 0; u < EHC_ARRAY_SIZE(units); u++) {
        if (!cJSON_GetObjectItemCaseSensitive(l, units[u])) continue;
        if (found != EHC_ARRAY_SIZE(units)) {
            return refuse(ld, at.s, "give exactly one unit: both '%s' and '%s' are set", units[found],
                          units[u]);
        }
        found = u;
    }
    if (found == EHC_ARRAY_SIZE(units)) {
        return refuse(ld, at.s,
                      "give exactly one unit of days, weeks, months, working_days, period_months, "
                      "before_fixed");
    }
    len->unit = (ehc_length_unit)found;
    if ((rc = get_bool(ld, l, at.s, "before", &len->before))) return rc;
    if (len->before && (len->unit == EHC_LENGTH_PERIOD_MONTHS || len->unit == EHC_LENGTH_BEFORE_FIXED)) {
        return refuse(ld, path_key(at.s, "before").s,
                      "\"before\" counts days, weeks, months or working_days back; not %s", units[found]);
    }
    const cJSON *offset = cJSON_GetObjectItemCaseSensitive(l, "year_offset");
    if (len->unit != EHC_LENGTH_BEFORE_FIXED) {
        if (offset)
            return refuse(ld, path_key(at.s, "year_offset").s, "only before_fixed takes a year_offset");
        int64_t n = 0;
        rc = read_int(ld, cJSON_GetObjectItemCaseSensitive(l, units[found]), path_key(at.s, units[found]).s,
                      1, MAX_LENGTH_COUNT, &n);
        len->count = (int32_t)n;
        return rc;
    }
    const cJSON *fixed = cJSON_GetObjectItemCaseSensitive(l, "before_fixed");
    const path_buf fpath = path_key(at.s, "before_fixed");
    int month = 0, day = 0;
    char tail = 0;
    if (!cJSON_IsString(fixed) || strlen(fixed->valuestring) != 5 ||
        sscanf(fixed->valuestring, "%2d-%2d%c", &month, &day, &tail) != 2 || month < 1 || month > 12 ||
        day < 1 || day > ehc_date_days_in_month(2027, month)) {
        return refuse(ld, fpath.s, "must be a day of the year as \"MM-DD\" (e.g. \"02-15\"; not 02-29)");
    }
    len->month = month;
    len->day = day;
    int64_t k = 0;
    if (offset && (rc = read_int(ld, offset, path_key(at.s, "year_offset").s, -1, 5, &k))) return rc;
    len->year_offset = (int32_t)k;
    return 0;
}

/* "setting_closure": {"advice_event": "<event with a key and a `setting` id field>", "when": {...}}. */
static int load_setting_closure(const loader *ld, const cJSON *obj, const char *path, ehc_wf_exception *e)
{
    static const char *const allowed[] = {"advice_event", "when", NULL};
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(obj, "setting_closure");
    if (!sc) return 0;
    const path_buf at = path_key(path, "setting_closure");
    int rc = check_keys(ld, sc, at.s, allowed, (const char *const[]){"advice_event", NULL});
    const path_buf epath = path_key(at.s, "advice_event");
    if (rc || (rc = event_ref(ld, cJSON_GetObjectItemCaseSensitive(sc, "advice_event"), epath.s,
                              &e->closure_advice_event))) {
        return rc;
    }
    const ehc_wf_event *adv = &ld->wf->events[e->closure_advice_event];
    if (adv->key_field == EHC_WF_NONE)
        return refuse(ld, epath.s, "event '%s' must have a \"key\" (one advice request each)", adv->id);
    e->closure_setting_field = find_field(adv, "setting");
    if (e->closure_setting_field == EHC_WF_NONE ||
        adv->fields[e->closure_setting_field].type != EHC_FIELD_ID) {
        return refuse(ld, epath.s, "event '%s' must have an id field 'setting' (the setting's calendar id)",
                      adv->id);
    }
    if ((rc = load_when(ld, sc, at.s, adv, &e->closure_when))) return rc;
    e->setting_closure = true;
    return 0;
}

static int load_exceptions(const loader *ld, const cJSON *obj, const char *path, ehc_wf_deadline *dl)
{
    static const char *const allowed[] = {"id", "title", "basis", "setting_closure", "note", NULL};
    static const char *const required[] = {"id", "title", "basis", NULL};
    const cJSON *arr = NULL;
    int rc = get_array(ld, obj, path, "exceptions", false, &arr);
    if (rc || !arr) return rc;
    const path_buf epath = path_key(path, "exceptions");
    ehc_wf_exception *xs = wf_alloc(ld->wf, (size_t)cJSON_GetArraySize(arr), sizeof *xs);
    for (const cJSON *x = arr->child; x; x = x->next) {
        const path_buf at = path_index(epath.s, dl->exception_count);
        ehc_wf_exception *e = &xs[dl->exception_count];
        if ((rc = check_keys(ld, x, at.s, allowed, required)) || (rc = get_id(ld, x, at.s, "id", &e->id)) ||
            (rc = get_text(ld, x, at.s, "title", true, &e->title)) ||
            (rc = get_text(ld, x, at.s, "basis", true, &e->basis))) {
            return rc;
        }
        for (size_t i = 0; i < dl->exception_count; i++) {
            if (strcmp(xs[i].id, e->id) == 0)
                return refuse(ld, path_key(at.s, "id").s, "duplicate exception id '%s'", e->id);
        }
        if ((rc = load_setting_closure(ld, x, at.s, e))) return rc;
        dl->exception_count++;
    }
    dl->exceptions = xs;
    return 0;
}

static int load_alerts(const loader *ld, const cJSON *obj, const char *path, ehc_wf_alerts *alerts)
{
    static const char *const allowed[] = {"before_working_days", "on_due", "overdue", NULL};
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, "alerts");
    if (!a) return 0;
    const path_buf at = path_key(path, "alerts");
    int rc = check_keys(ld, a, at.s, allowed, NULL);
    if (rc || (rc = get_bool(ld, a, at.s, "on_due", &alerts->on_due)) ||
        (rc = get_bool(ld, a, at.s, "overdue", &alerts->overdue))) {
        return rc;
    }
    const cJSON *arr = NULL;
    if ((rc = get_array(ld, a, at.s, "before_working_days", false, &arr)) || !arr) return rc;
    const path_buf bpath = path_key(at.s, "before_working_days");
    for (const cJSON *n = arr->child; n; n = n->next) {
        const path_buf npath = path_index(bpath.s, alerts->before_working_days_count);
        if (alerts->before_working_days_count == EHC_WORKFLOW_MAX_ALERT_OFFSETS) {
            return refuse(ld, npath.s, "at most %d alert offsets", EHC_WORKFLOW_MAX_ALERT_OFFSETS);
        }
        int64_t v = 0;
        if ((rc = read_int(ld, n, npath.s, 1, 260, &v))) return rc;
        const size_t c = alerts->before_working_days_count;
        if (c > 0 && alerts->before_working_days[c - 1] <= v) {
            return refuse(ld, npath.s, "offsets must be listed from the largest down, each once");
        }
        alerts->before_working_days[alerts->before_working_days_count++] = (int32_t)v;
    }
    return 0;
}

/* "later_of": [{"length": {...}, "field": "<date field of the origin event>" (optional)}]. A term
 * with a field and no length is that date itself (Reg 15(2): the day of the move). */
static int load_later_of(const loader *ld, const cJSON *obj, const char *path, ehc_wf_deadline *dl)
{
    static const char *const allowed[] = {"length", "field", "note", NULL};
    const cJSON *arr = NULL;
    int rc = get_array(ld, obj, path, "later_of", true, &arr);
    if (rc || !arr) return rc;
    const path_buf lpath = path_key(path, "later_of");
    ehc_wf_later_term *terms = wf_alloc(ld->wf, (size_t)cJSON_GetArraySize(arr), sizeof *terms);
    const ehc_wf_event *oe = &ld->wf->events[dl->origin_event];
    for (const cJSON *t = arr->child; t; t = t->next) {
        const path_buf at = path_index(lpath.s, dl->later_of_count);
        ehc_wf_later_term *term = &terms[dl->later_of_count];
        const char *field = NULL;
        if ((rc = check_keys(ld, t, at.s, allowed, NULL)) ||
            (rc = get_text(ld, t, at.s, "field", false, &field))) {
            return rc;
        }
        term->on_the_date = !cJSON_GetObjectItemCaseSensitive(t, "length");
        if (term->on_the_date && !field) {
            return refuse(ld, at.s, "a \"later_of\" term needs a \"length\", a \"field\", or both");
        }
        if (!term->on_the_date && (rc = load_length(ld, t, at.s, &term->length))) return rc;
        term->field = EHC_WF_NONE;
        if (field) {
            term->field = find_field(oe, field);
            if (term->field == EHC_WF_NONE || oe->fields[term->field].type != EHC_FIELD_DATE) {
                return refuse(ld, path_key(at.s, "field").s, "event '%s' has no date field '%s'", oe->id,
                              path_key("", field).s + 1);
            }
        }
        dl->later_of_count++;
    }
    dl->later_of = terms;
    if (dl->earliest) return refuse(ld, lpath.s, "an earliest date cannot have \"later_of\"");
    return 0;
}

/* "extended_by": [{"event": "...", "when": {...} (optional), "length": {...}}]. */
static int load_extended_by(const loader *ld, const cJSON *obj, const char *path, ehc_wf_deadline *dl)
{
    static const char *const allowed[] = {"event", "when", "length", "note", NULL};
    const cJSON *arr = NULL;
    int rc = get_array(ld, obj, path, "extended_by", true, &arr);
    if (rc || !arr) return rc;
    const path_buf xpath = path_key(path, "extended_by");
    ehc_wf_extension *xs = wf_alloc(ld->wf, (size_t)cJSON_GetArraySize(arr), sizeof *xs);
    for (const cJSON *t = arr->child; t; t = t->next) {
        const path_buf at = path_index(xpath.s, dl->extended_by_count);
        ehc_wf_extension *x = &xs[dl->extended_by_count];
        if ((rc = check_keys(ld, t, at.s, allowed, (const char *const[]){"event", "length", NULL})) ||
            (rc = event_ref(ld, cJSON_GetObjectItemCaseSensitive(t, "event"), path_key(at.s, "event").s,
                            &x->event)) ||
            (rc = load_when(ld, t, at.s, &ld->wf->events[x->event], &x->when)) ||
            (rc = load_length(ld, t, at.s, &x->length))) {
            return rc;
        }
        dl->extended_by_count++;
    }
    dl->extended_by = xs;
    if (dl->earliest && !dl->strictly_after)
        return refuse(ld, xpath.s, "an earliest date cannot be \"extended_by\" (an \"after\" one can)");
    return 0;
}

static int load_rollover(const loader *ld, const cJSON *obj, const char *path, ehc_wf_deadline *dl)
{
    const char *rollover = NULL;
    int rc = get_text(ld, obj, path, "rollover", false, &rollover);
    if (rc || !rollover) return rc;
    if (strcmp(rollover, "tribunal") != 0)
        return refuse(ld, path_key(path, "rollover").s, "the only rollover is \"tribunal\"");
    dl->tribunal_rollover = true;
    return 0;
}

/* "exception_report": a SEN2 item with codes 0 and 1 (Week20) derived from this clock's exceptions. */
static int load_exception_report(const loader *ld, const cJSON *obj, const char *path, ehc_wf_deadline *dl)
{
    const char *item = NULL;
    int rc = get_text(ld, obj, path, "exception_report", false, &item);
    if (rc || !item) return rc;
    for (size_t i = 0; i < EHC_ARRAY_SIZE(sen2_items); i++) {
        if (strcmp(sen2_items[i].item, item) == 0 && strcmp(item, "Week20") == 0) {
            dl->exception_report = sen2_items[i].item;
            break;
        }
    }
    if (!dl->exception_report) {
        return refuse(ld, path_key(path, "exception_report").s,
                      "only \"Week20\" is derived from a clock's exceptions (SEN2, Reg 13(3))");
    }
    if (dl->exception_count == 0) {
        return refuse(ld, path_key(path, "exception_report").s,
                      "a clock that reports its exceptions must list the exceptions the law allows");
    }
    return 0;
}

static int load_deadline(const loader *ld, const cJSON *obj, size_t index)
{
    static const char *const allowed[] = {"id",
                                          "title",
                                          "kind",
                                          "basis",
                                          "origin",
                                          "length",
                                          "direction",
                                          "met_by",
                                          "cancelled_by",
                                          "exceptions",
                                          "alerts",
                                          "note",
                                          "later_of",
                                          "extended_by",
                                          "rollover",
                                          "exception_report",
                                          NULL};
    static const char *const required[] = {"id", "title", "kind", "origin", "length", "met_by", NULL};
    ehc_workflow *wf = ld->wf;
    ehc_wf_deadline *dl = &wf->deadlines[index];
    const path_buf at = path_index("$.deadlines", index);
    const char *kind = NULL, *direction = NULL;
    int rc = check_keys(ld, obj, at.s, allowed, required);
    if (rc || (rc = get_id(ld, obj, at.s, "id", &dl->id)) ||
        (rc = get_text(ld, obj, at.s, "title", true, &dl->title)) ||
        (rc = get_text(ld, obj, at.s, "kind", true, &kind)) ||
        (rc = get_text(ld, obj, at.s, "basis", false, &dl->basis)) ||
        (rc = get_text(ld, obj, at.s, "direction", false, &direction))) {
        return rc;
    }
    for (size_t i = 0; i < index; i++) {
        if (strcmp(wf->deadlines[i].id, dl->id) == 0) {
            return refuse(ld, path_key(at.s, "id").s, "duplicate deadline id '%s'", dl->id);
        }
    }
    size_t k = 0;
    while (k < EHC_ARRAY_SIZE(deadline_kind_names) && strcmp(deadline_kind_names[k], kind) != 0)
        k++;
    if (k == EHC_ARRAY_SIZE(deadline_kind_names)) {
        return refuse(ld, path_key(at.s, "kind").s, "kind must be statutory, guidance or local");
    }
    dl->kind = (ehc_deadline_kind)k;
    if (dl->kind == EHC_DEADLINE_STATUTORY && !dl->basis) {
        return refuse(
            ld, path_key(at.s, "basis").s,
            "a statutory deadline must name its regulation (e.g. \"SEND Regulations 2014, reg 13(2)\")");
    }
    if (dl->kind == EHC_DEADLINE_GUIDANCE && (!dl->basis || !strstr(dl->basis, "Code of Practice"))) {
        return refuse(ld, path_key(at.s, "basis").s,
                      "a guidance deadline must name its Code of Practice paragraph "
                      "(e.g. \"SEND Code of Practice 2015, para 9.83\")");
    }
    if (direction && strcmp(direction, "latest") != 0 && strcmp(direction, "earliest") != 0 &&
        strcmp(direction, "after") != 0) {
        return refuse(ld, path_key(at.s, "direction").s,
                      "direction must be \"latest\", \"earliest\" or \"after\"");
    }
    dl->strictly_after = direction && strcmp(direction, "after") == 0;
    dl->earliest = dl->strictly_after || (direction && strcmp(direction, "earliest") == 0);
    /* origin: "event" or {"event": "...", "per": "<key field>"} */
    const cJSON *origin = cJSON_GetObjectItemCaseSensitive(obj, "origin");
    path_buf opath = path_key(at.s, "origin");
    const char *per = NULL, *from_field = NULL;
    const cJSON *origin_obj = cJSON_IsObject(origin) ? origin : NULL;
    const path_buf obase = opath;
    dl->origin_field = EHC_WF_NONE;
    if (origin_obj) {
        static const char *const oallowed[] = {"event", "per", "when", "field", NULL};
        if ((rc = check_keys(ld, origin, opath.s, oallowed, (const char *const[]){"event", NULL})) ||
            (rc = get_text(ld, origin, opath.s, "per", false, &per)) ||
            (rc = get_text(ld, origin, opath.s, "field", false, &from_field))) {
            return rc;
        }
        origin = cJSON_GetObjectItemCaseSensitive(origin, "event");
        opath = path_key(opath.s, "event");
    }
    if ((rc = event_ref(ld, origin, opath.s, &dl->origin_event))) return rc;
    if (origin_obj) {
        const ehc_wf_event *oe = &wf->events[dl->origin_event];
        if ((rc = load_when(ld, origin_obj, obase.s, oe, &dl->origin_when))) return rc;
        if (from_field) {
            dl->origin_field = find_field(oe, from_field);
            if (dl->origin_field == EHC_WF_NONE || oe->fields[dl->origin_field].type != EHC_FIELD_DATE) {
                return refuse(ld, path_key(obase.s, "field").s, "event '%s' has no date field '%s'", oe->id,
                              path_key("", from_field).s + 1);
            }
        }
    }
    if (per) {
        const ehc_wf_event *oe = &wf->events[dl->origin_event];
        if (oe->key_field == EHC_WF_NONE || strcmp(oe->fields[oe->key_field].id, per) != 0) {
            return refuse(ld, path_key(path_key(at.s, "origin").s, "per").s,
                          "'per' must name the \"key\" field of event '%s'", oe->id);
        }
        dl->per_key = true;
    }
    if ((rc = load_length(ld, obj, at.s, &dl->length)) ||
        (rc = load_event_refs(ld, obj, at.s, "met_by", true, &dl->met_by, &dl->met_by_count)) ||
        (rc = load_event_refs(ld, obj, at.s, "cancelled_by", false, &dl->cancelled_by,
                              &dl->cancelled_by_count)) ||
        (rc = load_exceptions(ld, obj, at.s, dl))) {
        return rc;
    }
    if (dl->earliest && dl->length.unit == EHC_LENGTH_BEFORE_FIXED) {
        return refuse(ld, path_key(at.s, "length").s, "an earliest date cannot be \"before_fixed\"");
    }
    if ((rc = load_later_of(ld, obj, at.s, dl)) || (rc = load_extended_by(ld, obj, at.s, dl)) ||
        (rc = load_rollover(ld, obj, at.s, dl)) || (rc = load_exception_report(ld, obj, at.s, dl))) {
        return rc;
    }
    return load_alerts(ld, obj, at.s, &dl->alerts);
}

static int load_deadlines(const loader *ld, const cJSON *root)
{
    ehc_workflow *wf = ld->wf;
    const cJSON *arr = NULL;
    int rc = get_array(ld, root, "$", "deadlines", false, &arr);
    if (rc || !arr) return rc;
    wf->deadlines = wf_alloc(wf, (size_t)cJSON_GetArraySize(arr), sizeof *wf->deadlines);
    for (const cJSON *d = arr->child; d; d = d->next) {
        if ((rc = load_deadline(ld, d, wf->deadline_count))) return rc;
        wf->deadline_count++;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Whole-graph checks */

bool ehc_wf_event_allowed_in(const ehc_workflow *wf, const ehc_wf_event *ev, size_t stage)
{
    const bool final = wf->stages[stage].final;
    if (ev->stay_any_open && !final) return true;
    for (size_t i = 0; i < ev->stay_count; i++) {
        if (ev->stay[i] == stage) return true;
    }
    for (size_t t = 0; t < ev->transition_count; t++) {
        const ehc_wf_transition *tr = &ev->transitions[t];
        if (tr->from_any_open && !final) return true;
        for (size_t i = 0; i < tr->from_count; i++) {
            if (tr->from[i] == stage) return true;
        }
    }
    return false;
}

/* Whether some transition leads from `from` to `to` (to != from). */
static bool has_edge(const ehc_workflow *wf, size_t from, size_t to)
{
    if (wf->stages[from].final || from == to) return false;
    for (size_t e = 0; e < wf->event_count; e++) {
        const ehc_wf_event *ev = &wf->events[e];
        for (size_t t = 0; t < ev->transition_count; t++) {
            const ehc_wf_transition *tr = &ev->transitions[t];
            if (tr->to != to) continue;
            if (tr->from_any_open) return true;
            for (size_t i = 0; i < tr->from_count; i++) {
                if (tr->from[i] == from) return true;
            }
        }
    }
    return false;
}

static int check_graph(const loader *ld)
{
    const ehc_workflow *wf = ld->wf;
    const size_t n = wf->stage_count;
    for (size_t s = 0; s < n; s++) {
        if (wf->stages[s].final) continue;
        bool way_out = false;
        for (size_t t = 0; t < n && !way_out; t++)
            way_out = has_edge(wf, s, t);
        if (!way_out) {
            return refuse(ld, path_index("$.stages", s).s,
                          "stage '%s' is not final but no transition leaves it", wf->stages[s].id);
        }
    }
    bool *seen = ehc_calloc(n, sizeof *seen);
    size_t *queue = ehc_calloc(n, sizeof *queue);
    size_t head = 0, tail = 0;
    seen[wf->initial_stage] = true;
    queue[tail++] = wf->initial_stage;
    while (head < tail) {
        const size_t s = queue[head++];
        for (size_t t = 0; t < n; t++) {
            if (!seen[t] && has_edge(wf, s, t)) {
                seen[t] = true;
                queue[tail++] = t;
            }
        }
    }
    int rc = 0;
    for (size_t s = 0; s < n && rc == 0; s++) {
        if (!seen[s]) {
            rc = refuse(ld, path_index("$.stages", s).s,
                        "stage '%s' cannot be reached from the initial stage '%s'", wf->stages[s].id,
                        wf->stages[wf->initial_stage].id);
        }
    }
    free(seen);
    free(queue);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Entry points */

static int parse_json(const loader *ld, const char *bytes, size_t len, cJSON **out)
{
    if (memchr(bytes, '\0', len)) return refuse(ld, "$", "not valid JSON: contains a NUL byte");
    char *text = ehc_strndup(bytes, len);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (!root) {
        const size_t at = end ? (size_t)(end - text) : 0;
        size_t line = 1, column = 1;
        for (size_t i = 0; i < at && i < len; i++) {
            column = text[i] == '\n' ? 1 : column + 1;
            line += text[i] == '\n';
        }
        free(text);
        return refuse(ld, "$", "not valid JSON (line %zu, column %zu)", line, column);
    }
    free(text);
    *out = root;
    return 0;
}

static int load_all(const loader *ld, const ehc_calendar_set *calendars)
{
    static const char *const allowed[] = {"id",     "title",     "calendar", "opened_by", "stages",
                                          "events", "deadlines", "note",     NULL};
    static const char *const required[] = {"id", "title", "calendar", "opened_by", "stages", "events", NULL};
    ehc_workflow *wf = ld->wf;
    const cJSON *root = wf->root;
    int rc = check_keys(ld, root, "$", allowed, required);
    if (rc || (rc = get_id(ld, root, "$", "id", &wf->id)) ||
        (rc = get_text(ld, root, "$", "title", true, &wf->title)) ||
        (rc = get_text(ld, root, "$", "calendar", true, &wf->calendar))) {
        return rc;
    }
    const ehc_calendar *cal = NULL;
    if (!calendars || ehc_calendar_set_find(calendars, wf->calendar, &cal) != 0) {
        char safe[80];
        quote_text(safe, sizeof safe, wf->calendar);
        return refuse(ld, "$.calendar", "unknown calendar '%s' (not in the loaded calendar set)", safe);
    }
    if ((rc = load_stages(ld, root)) || (rc = load_events(ld, root))) return rc;
    if ((rc = event_ref(ld, cJSON_GetObjectItemCaseSensitive(root, "opened_by"), "$.opened_by",
                        &wf->opening_event))) {
        return rc;
    }
    if (!ehc_wf_event_allowed_in(wf, &wf->events[wf->opening_event], wf->initial_stage)) {
        return refuse(ld, "$.opened_by", "the opening event '%s' must be allowed in the initial stage '%s'",
                      wf->events[wf->opening_event].id, wf->stages[wf->initial_stage].id);
    }
    if ((rc = load_deadlines(ld, root))) return rc;
    return check_graph(ld);
}

int ehc_workflow_load_bytes(const char *file, const char *bytes, size_t len,
                            const ehc_calendar_set *calendars, ehc_workflow **out, ehc_load_error *err)
{
    ehc_load_error scratch;
    ehc_workflow *wf = ehc_calloc(1, sizeof *wf);
    const loader ld = {.file = file ? file : "", .err = err ? err : &scratch, .wf = wf};
    *out = NULL;
    wf->file = ehc_strdup(ld.file);
    ehc_sha256_hex(bytes, len, wf->content_hash);
    if (len > EHC_WORKFLOW_MAX_FILE_BYTES) {
        ehc_workflow_free(wf);
        return refuse(&ld, "$", "file is larger than %d bytes", EHC_WORKFLOW_MAX_FILE_BYTES);
    }
    int rc = parse_json(&ld, bytes, len, &wf->root);
    if (rc == 0) rc = load_all(&ld, calendars);
    if (rc != 0) {
        ehc_workflow_free(wf);
        return rc;
    }
    *out = wf;
    return 0;
}

int ehc_workflow_load_file(const char *file, const ehc_calendar_set *calendars, ehc_workflow **out,
                           ehc_load_error *err)
{
    *out = NULL;
    char *buf;
    size_t n;
    int read_rc = ehc_read_file(file, EHC_WORKFLOW_MAX_FILE_BYTES, &buf, &n, err);
    if (read_rc) return read_rc;
    const int rc = ehc_workflow_load_bytes(file, buf, n, calendars, out, err);
    free(buf);
    return rc;
}

void ehc_workflow_free(ehc_workflow *wf)
{
    if (!wf) return;
    for (size_t i = 0; i < wf->alloc_count; i++)
        free(wf->allocs[i]);
    free(wf->allocs);
    cJSON_Delete(wf->root);
    free(wf->file);
    free(wf);
}

const char *ehc_workflow_id(const ehc_workflow *wf)
{
    return wf->id;
}
const char *ehc_workflow_title(const ehc_workflow *wf)
{
    return wf->title;
}
const char *ehc_workflow_file(const ehc_workflow *wf)
{
    return wf->file;
}
const char *ehc_workflow_calendar_id(const ehc_workflow *wf)
{
    return wf->calendar;
}
const char *ehc_workflow_content_hash(const ehc_workflow *wf)
{
    return wf->content_hash;
}
size_t ehc_workflow_opening_event(const ehc_workflow *wf)
{
    return wf->opening_event;
}
size_t ehc_workflow_stage_count(const ehc_workflow *wf)
{
    return wf->stage_count;
}
size_t ehc_workflow_initial_stage(const ehc_workflow *wf)
{
    return wf->initial_stage;
}
size_t ehc_workflow_event_count(const ehc_workflow *wf)
{
    return wf->event_count;
}
size_t ehc_workflow_deadline_count(const ehc_workflow *wf)
{
    return wf->deadline_count;
}

const ehc_wf_stage *ehc_workflow_stage(const ehc_workflow *wf, size_t index)
{
    assert(index < wf->stage_count);
    return &wf->stages[index];
}

const ehc_wf_event *ehc_workflow_event(const ehc_workflow *wf, size_t index)
{
    assert(index < wf->event_count);
    return &wf->events[index];
}

const ehc_wf_deadline *ehc_workflow_deadline(const ehc_workflow *wf, size_t index)
{
    assert(index < wf->deadline_count);
    return &wf->deadlines[index];
}

int ehc_workflow_find_stage(const ehc_workflow *wf, const char *id, size_t *index)
{
    *index = find_stage(wf, id);
    return *index == EHC_WF_NONE ? EHC_ENOENT : 0;
}

int ehc_workflow_find_event(const ehc_workflow *wf, const char *id, size_t *index)
{
    *index = find_event(wf, id);
    return *index == EHC_WF_NONE ? EHC_ENOENT : 0;
}

int ehc_workflow_find_deadline(const ehc_workflow *wf, const char *id, size_t *index)
{
    for (size_t i = 0; i < wf->deadline_count; i++) {
        if (strcmp(wf->deadlines[i].id, id) == 0) {
            *index = i;
            return 0;
        }
    }
    *index = EHC_WF_NONE;
    return EHC_ENOENT;
}

int ehc_wf_event_find_field(const ehc_wf_event *ev, const char *id, size_t *index)
{
    *index = find_field(ev, id);
    return *index == EHC_WF_NONE ? EHC_ENOENT : 0;
}
