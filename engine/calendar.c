/* Bank-holiday and setting-closure calendars: loading and validating their JSON files (once, at
 * this boundary, into immutable structs with the file's SHA-256), the working-day queries used by
 * working-day clocks (Reg 15) and alert placement, the Reg 5(4)(a)/10(4)(a) closure-window test,
 * and the set of every calendar in a folder keyed by id. Any question about a day the calendar does
 * not cover is EHC_ERANGE: a statutory date is never computed from a guess. */
#include "ehc/calendar.h"

#include <assert.h>
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_ID_CHARS 64
#define MAX_TEXT_CHARS 500

struct ehc_calendar {
    char *file;
    char *id;
    char *name;
    char *source;
    char content_hash[EHC_CALENDAR_HASH_SIZE];
    ehc_date covers_from;
    ehc_date covers_to;
    ehc_holiday *holidays; /* sorted by date, no repeats; names owned */
    size_t holiday_count;
};

struct ehc_setting_calendar {
    char *file;
    char *id;
    char *name;
    char content_hash[EHC_CALENDAR_HASH_SIZE];
    ehc_date covers_from;
    ehc_date covers_to;
    ehc_closure *closures; /* sorted by `from`, not overlapping; names owned */
    size_t closure_count;
};

struct ehc_calendar_set {
    ehc_calendar **calendars; /* sorted by id */
    size_t calendar_count;
    ehc_setting_calendar **settings; /* sorted by id */
    size_t setting_count;
    bool borrowed; /* ehc_calendar_set_with: the calendars belong to another set */
};

/* ------------------------------------------------------------------------------------------------
 * Loading helpers: every refusal names the file, the JSON path and the reason. */

typedef struct loader {
    const char *file;
    ehc_load_error *err;
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

/* A copy of outside text safe to quote in an error: printable ASCII only, at most 64 characters. */
static void quote_text(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    for (; src[n] && n + 1 < size && n < 64; n++) {
        const unsigned char c = (unsigned char)src[n];
        dst[n] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
}

/* Parses bytes as one JSON value with nothing after it. */
static int parse_json(const loader *ld, const char *bytes, size_t len, cJSON **out)
{
    assert(bytes || len == 0);
    if (!bytes) bytes = "";
    const char *nul = memchr(bytes, '\0', len);
    if (nul) return refuse(ld, "$", "not valid JSON: NUL byte at offset %zu", (size_t)(nul - bytes));
    char *text = ehc_strndup(bytes, len);
    const char *end = NULL;
    /* The length includes the NUL so that cJSON's trailing-garbage check can see the end. */
    cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (!root) {
        const size_t at = end ? (size_t)(end - text) : 0;
        size_t line = 1, column = 1;
        for (size_t i = 0; i < at && i < len; i++) {
            if (text[i] == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        free(text);
        return refuse(ld, "$", "not valid JSON (line %zu, column %zu)", line, column);
    }
    free(text);
    *out = root;
    return 0;
}

/* path + "." + key, cut short (never overrun) in the unlikely case it does not fit. */
static void join_path(char *dst, size_t size, const char *path, const char *key)
{
    if (snprintf(dst, size, "%s.%s", path, key) >= (int)size) dst[size - 1] = '\0';
}

typedef struct field_spec {
    const char *key;
    bool required;
} field_spec;

/* obj must be an object holding only the listed fields, each once, and every required one. */
static int check_fields(const loader *ld, const cJSON *obj, const char *path, const field_spec *fields,
                        size_t count)
{
    char at[sizeof ld->err->path];
    if (!cJSON_IsObject(obj)) return refuse(ld, path, "must be a JSON object");
    bool seen[8] = {false};
    assert(count <= EHC_ARRAY_SIZE(seen));
    for (const cJSON *child = obj->child; child; child = child->next) {
        const char *name = child->string ? child->string : "";
        char key[80];
        quote_text(key, sizeof key, name);
        join_path(at, sizeof at, path, key);
        size_t i = 0;
        while (i < count && strcmp(fields[i].key, name) != 0)
            i++;
        if (i == count) return refuse(ld, at, "unknown field");
        if (seen[i]) return refuse(ld, at, "field appears more than once");
        seen[i] = true;
    }
    for (size_t i = 0; i < count; i++) {
        if (!fields[i].required || seen[i]) continue;
        join_path(at, sizeof at, path, fields[i].key);
        return refuse(ld, at, "required field is missing");
    }
    return 0;
}

/* A non-empty string field of at most MAX_TEXT_CHARS bytes; *out is NULL when an optional field is
 * absent (check_fields has already refused a missing required one). */
static int get_text(const loader *ld, const cJSON *obj, const char *path, const char *key, const char **out)
{
    char at[sizeof ld->err->path];
    join_path(at, sizeof at, path, key);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!item) return 0;
    if (!cJSON_IsString(item)) return refuse(ld, at, "must be a string");
    const size_t len = strlen(item->valuestring);
    if (len == 0) return refuse(ld, at, "must not be empty");
    if (len > MAX_TEXT_CHARS) return refuse(ld, at, "longer than %d characters", MAX_TEXT_CHARS);
    *out = item->valuestring;
    return 0;
}

static int get_id(const loader *ld, const cJSON *obj, const char **out)
{
    const int rc = get_text(ld, obj, "$", "id", out);
    if (rc) return rc;
    const char *id = *out;
    if (!id) return refuse(ld, "$.id", "required field is missing");
    const size_t len = strlen(id);
    bool ok = len <= MAX_ID_CHARS;
    for (size_t i = 0; ok && i < len; i++) {
        const char c = id[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
             c == '_' || c == '.';
    }
    if (!ok) return refuse(ld, "$.id", "must be 1-%d characters from A-Z a-z 0-9 - _ .", MAX_ID_CHARS);
    return 0;
}

static int get_date(const loader *ld, const cJSON *obj, const char *path, const char *key, ehc_date *out)
{
    char at[sizeof ld->err->path];
    join_path(at, sizeof at, path, key);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(item)) return refuse(ld, at, "must be a string holding a date YYYY-MM-DD");
    char shown[80];
    quote_text(shown, sizeof shown, item->valuestring);
    const int rc = ehc_date_parse_iso(item->valuestring, out);
    if (rc == EHC_ERANGE)
        return refuse(ld, at, "date outside the supported years %d-%d: %s", EHC_DATE_MIN_YEAR,
                      EHC_DATE_MAX_YEAR, shown);
    if (rc) return refuse(ld, at, "not a date: %s", shown);
    return 0;
}

static int get_covers(const loader *ld, const cJSON *root, ehc_date *from, ehc_date *to)
{
    static const field_spec fields[] = {{"from", true}, {"to", true}};
    const cJSON *covers = cJSON_GetObjectItemCaseSensitive(root, "covers");
    int rc = check_fields(ld, covers, "$.covers", fields, EHC_ARRAY_SIZE(fields));
    if (!rc) rc = get_date(ld, covers, "$.covers", "from", from);
    if (!rc) rc = get_date(ld, covers, "$.covers", "to", to);
    if (rc) return rc;
    if (to->days < from->days) return refuse(ld, "$.covers.to", "ends before $.covers.from");
    return 0;
}

static const cJSON *get_array(const loader *ld, const cJSON *root, const char *key, int *rc)
{
    char at[sizeof ld->err->path];
    snprintf(at, sizeof at, "$.%s", key);
    const cJSON *array = cJSON_GetObjectItemCaseSensitive(root, key);
    *rc = cJSON_IsArray(array) ? 0 : refuse(ld, at, "must be an array");
    return array;
}

static bool date_in(ehc_date d, ehc_date from, ehc_date to)
{
    return d.days >= from.days && d.days <= to.days;
}

/* ------------------------------------------------------------------------------------------------
 * Bank-holiday calendars */

void ehc_calendar_free(ehc_calendar *cal)
{
    if (!cal) return;
    for (size_t i = 0; i < cal->holiday_count; i++)
        free((char *)cal->holidays[i].name);
    free(cal->holidays);
    free(cal->file);
    free(cal->id);
    free(cal->name);
    free(cal->source);
    free(cal);
}

typedef struct indexed_holiday {
    ehc_date on;
    const char *name; /* borrowed from the cJSON tree while loading */
    size_t index;     /* position in the file, for error paths */
} indexed_holiday;

static int compare_indexed_holidays(const void *a, const void *b)
{
    const indexed_holiday *x = a, *y = b;
    if (x->on.days != y->on.days) return x->on.days < y->on.days ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int load_holidays(const loader *ld, const cJSON *array, ehc_calendar *cal)
{
    static const field_spec fields[] = {{"date", true}, {"name", true}, {"note", false}};
    const size_t count = (size_t)cJSON_GetArraySize(array);
    indexed_holiday *list = ehc_calloc(count, sizeof *list);
    char path[48];
    int rc = 0;
    size_t i = 0;
    for (const cJSON *item = array->child; item && !rc; item = item->next, i++) {
        snprintf(path, sizeof path, "$.holidays[%zu]", i);
        const char *note;
        rc = check_fields(ld, item, path, fields, EHC_ARRAY_SIZE(fields));
        if (!rc) rc = get_date(ld, item, path, "date", &list[i].on);
        if (!rc) rc = get_text(ld, item, path, "name", &list[i].name);
        if (!rc) rc = get_text(ld, item, path, "note", &note);
        if (rc) break;
        list[i].index = i;
        if (!date_in(list[i].on, cal->covers_from, cal->covers_to)) {
            char on[EHC_DATE_ISO_SIZE], from[EHC_DATE_ISO_SIZE], to[EHC_DATE_ISO_SIZE];
            ehc_date_format_iso(list[i].on, on);
            ehc_date_format_iso(cal->covers_from, from);
            ehc_date_format_iso(cal->covers_to, to);
            snprintf(path, sizeof path, "$.holidays[%zu].date", i);
            rc = refuse(ld, path, "%s is outside $.covers (%s to %s)", on, from, to);
        }
    }
    if (!rc) qsort(list, count, sizeof *list, compare_indexed_holidays);
    for (size_t k = 1; !rc && k < count; k++) {
        if (list[k].on.days != list[k - 1].on.days) continue;
        char on[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(list[k].on, on);
        snprintf(path, sizeof path, "$.holidays[%zu].date", list[k].index);
        rc = refuse(ld, path, "%s is listed twice: also at $.holidays[%zu]", on, list[k - 1].index);
    }
    if (!rc) {
        cal->holidays = ehc_calloc(count, sizeof *cal->holidays);
        for (size_t k = 0; k < count; k++) {
            cal->holidays[k].on = list[k].on;
            cal->holidays[k].name = ehc_strdup(list[k].name);
        }
        cal->holiday_count = count;
    }
    free(list);
    return rc;
}

static int load_calendar_root(const loader *ld, const cJSON *root, ehc_calendar *cal)
{
    static const field_spec fields[] = {{"id", true},     {"name", true},     {"source", true},
                                        {"covers", true}, {"holidays", true}, {"note", false}};
    const char *id, *name, *source, *note;
    int rc = check_fields(ld, root, "$", fields, EHC_ARRAY_SIZE(fields));
    if (!rc) rc = get_id(ld, root, &id);
    if (!rc) rc = get_text(ld, root, "$", "name", &name);
    if (!rc) rc = get_text(ld, root, "$", "source", &source);
    if (!rc) rc = get_text(ld, root, "$", "note", &note);
    if (!rc) rc = get_covers(ld, root, &cal->covers_from, &cal->covers_to);
    const cJSON *holidays = rc ? NULL : get_array(ld, root, "holidays", &rc);
    if (!rc) rc = load_holidays(ld, holidays, cal);
    if (rc) return rc;
    cal->id = ehc_strdup(id);
    cal->name = ehc_strdup(name);
    cal->source = ehc_strdup(source);
    return 0;
}

int ehc_calendar_load_bytes(const char *file, const char *bytes, size_t len, ehc_calendar **out,
                            ehc_load_error *err)
{
    const loader ld = {file ? file : "", err};
    cJSON *root = NULL;
    int rc = parse_json(&ld, bytes, len, &root);
    if (rc) return rc;
    ehc_calendar *cal = ehc_calloc(1, sizeof *cal);
    rc = load_calendar_root(&ld, root, cal);
    cJSON_Delete(root);
    if (rc) {
        ehc_calendar_free(cal);
        return rc;
    }
    cal->file = ehc_strdup(ld.file);
    ehc_sha256_hex(bytes ? bytes : "", len, cal->content_hash);
    *out = cal;
    return 0;
}

int ehc_calendar_load_file(const char *file, ehc_calendar **out, ehc_load_error *err)
{
    char *bytes;
    size_t len;
    int rc = ehc_read_file(file, EHC_CALENDAR_MAX_FILE_BYTES, &bytes, &len, err);
    if (rc) return rc;
    rc = ehc_calendar_load_bytes(file, bytes, len, out, err);
    free(bytes);
    return rc;
}

const char *ehc_calendar_id(const ehc_calendar *cal)
{
    return cal->id;
}

const char *ehc_calendar_name(const ehc_calendar *cal)
{
    return cal->name;
}

const char *ehc_calendar_source(const ehc_calendar *cal)
{
    return cal->source;
}

const char *ehc_calendar_file(const ehc_calendar *cal)
{
    return cal->file;
}

const char *ehc_calendar_content_hash(const ehc_calendar *cal)
{
    return cal->content_hash;
}

ehc_date ehc_calendar_covers_from(const ehc_calendar *cal)
{
    return cal->covers_from;
}

ehc_date ehc_calendar_covers_to(const ehc_calendar *cal)
{
    return cal->covers_to;
}

const ehc_holiday *ehc_calendar_holidays(const ehc_calendar *cal, size_t *count)
{
    *count = cal->holiday_count;
    return cal->holidays;
}

static bool holiday_listed(const ehc_calendar *cal, ehc_date d)
{
    size_t lo = 0, hi = cal->holiday_count;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int32_t days = cal->holidays[mid].on.days;
        if (days == d.days) return true;
        if (days < d.days)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

int ehc_calendar_is_holiday(const ehc_calendar *cal, ehc_date d, bool *out)
{
    if (!date_in(d, cal->covers_from, cal->covers_to)) return EHC_ERANGE;
    *out = holiday_listed(cal, d);
    return 0;
}

int ehc_calendar_is_working_day(const ehc_calendar *cal, ehc_date d, bool *out)
{
    if (!date_in(d, cal->covers_from, cal->covers_to)) return EHC_ERANGE;
    *out = ehc_date_weekday(d) <= 5 && !holiday_listed(cal, d);
    return 0;
}

/* Walks from d in direction step (+1 or -1) until n working days have been passed, d not counted.
 * Terminates because every step is checked against the finite `covers`. */
static int walk_working_days(const ehc_calendar *cal, ehc_date d, int32_t n, int step, ehc_date *out)
{
    if (n < 0) return EHC_EINVAL;
    if (!date_in(d, cal->covers_from, cal->covers_to)) return EHC_ERANGE;
    ehc_date at = d;
    while (n > 0) {
        at.days += step;
        bool working;
        const int rc = ehc_calendar_is_working_day(cal, at, &working);
        if (rc) return rc;
        if (working) n--;
    }
    *out = at;
    return 0;
}

int ehc_calendar_add_working_days(const ehc_calendar *cal, ehc_date d, int32_t n, ehc_date *out)
{
    return walk_working_days(cal, d, n, +1, out);
}

int ehc_calendar_working_days_before(const ehc_calendar *cal, ehc_date d, int32_t n, ehc_date *out)
{
    return walk_working_days(cal, d, n, -1, out);
}

int ehc_calendar_previous_working_day(const ehc_calendar *cal, ehc_date d, ehc_date *out)
{
    return walk_working_days(cal, d, 1, -1, out);
}

int ehc_calendar_next_working_day(const ehc_calendar *cal, ehc_date d, ehc_date *out)
{
    return walk_working_days(cal, d, 1, +1, out);
}

static int working_day_or_walk(const ehc_calendar *cal, ehc_date d, int step, ehc_date *out)
{
    bool working;
    const int rc = ehc_calendar_is_working_day(cal, d, &working);
    if (rc) return rc;
    if (!working) return walk_working_days(cal, d, 1, step, out);
    *out = d;
    return 0;
}

int ehc_calendar_working_day_on_or_before(const ehc_calendar *cal, ehc_date d, ehc_date *out)
{
    return working_day_or_walk(cal, d, -1, out);
}

int ehc_calendar_working_day_on_or_after(const ehc_calendar *cal, ehc_date d, ehc_date *out)
{
    return working_day_or_walk(cal, d, +1, out);
}

/* ------------------------------------------------------------------------------------------------
 * Setting closure calendars */

void ehc_setting_calendar_free(ehc_setting_calendar *setting)
{
    if (!setting) return;
    for (size_t i = 0; i < setting->closure_count; i++)
        free((char *)setting->closures[i].name);
    free(setting->closures);
    free(setting->file);
    free(setting->id);
    free(setting->name);
    free(setting);
}

typedef struct indexed_closure {
    ehc_closure closure; /* name borrowed from the cJSON tree while loading */
    size_t index;
} indexed_closure;

static int compare_indexed_closures(const void *a, const void *b)
{
    const indexed_closure *x = a, *y = b;
    if (x->closure.from.days != y->closure.from.days)
        return x->closure.from.days < y->closure.from.days ? -1 : 1;
    if (x->closure.to.days != y->closure.to.days) return x->closure.to.days < y->closure.to.days ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int parse_closure(const loader *ld, const cJSON *item, size_t i, bool has_covers,
                         const ehc_setting_calendar *setting, indexed_closure *out)
{
    static const field_spec fields[] = {{"from", true}, {"to", true}, {"name", true}, {"note", false}};
    char path[48], at[sizeof ld->err->path];
    snprintf(path, sizeof path, "$.closures[%zu]", i);
    const char *note;
    int rc = check_fields(ld, item, path, fields, EHC_ARRAY_SIZE(fields));
    if (!rc) rc = get_date(ld, item, path, "from", &out->closure.from);
    if (!rc) rc = get_date(ld, item, path, "to", &out->closure.to);
    if (!rc) rc = get_text(ld, item, path, "name", &out->closure.name);
    if (!rc) rc = get_text(ld, item, path, "note", &note);
    if (rc) return rc;
    out->index = i;
    char from[EHC_DATE_ISO_SIZE], to[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(out->closure.from, from);
    ehc_date_format_iso(out->closure.to, to);
    if (out->closure.to.days < out->closure.from.days) {
        join_path(at, sizeof at, path, "to");
        return refuse(ld, at, "ends (%s) before it starts (%s)", to, from);
    }
    if (!has_covers) return 0;
    char covers_from[EHC_DATE_ISO_SIZE], covers_to[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(setting->covers_from, covers_from);
    ehc_date_format_iso(setting->covers_to, covers_to);
    const bool from_inside = date_in(out->closure.from, setting->covers_from, setting->covers_to);
    if (!from_inside || !date_in(out->closure.to, setting->covers_from, setting->covers_to)) {
        join_path(at, sizeof at, path, from_inside ? "to" : "from");
        return refuse(ld, at, "%s is outside $.covers (%s to %s)", from_inside ? to : from, covers_from,
                      covers_to);
    }
    return 0;
}

static int load_closures(const loader *ld, const cJSON *array, bool has_covers, ehc_setting_calendar *setting)
{
    const size_t count = (size_t)cJSON_GetArraySize(array);
    indexed_closure *list = ehc_calloc(count, sizeof *list);
    int rc = 0;
    size_t i = 0;
    for (const cJSON *item = array->child; item && !rc; item = item->next, i++)
        rc = parse_closure(ld, item, i, has_covers, setting, &list[i]);
    if (!rc) qsort(list, count, sizeof *list, compare_indexed_closures);
    for (size_t k = 1; !rc && k < count; k++) {
        const ehc_closure *prev = &list[k - 1].closure, *cur = &list[k].closure;
        if (cur->from.days > prev->to.days) continue;
        char path[sizeof ld->err->path], from[EHC_DATE_ISO_SIZE], to[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(prev->from, from);
        ehc_date_format_iso(prev->to, to);
        snprintf(path, sizeof path, "$.closures[%zu]", list[k].index);
        const bool same = cur->from.days == prev->from.days && cur->to.days == prev->to.days;
        rc = refuse(ld, path, "%s $.closures[%zu] (%s to %s)", same ? "repeats" : "overlaps",
                    list[k - 1].index, from, to);
    }
    if (!rc && !has_covers && count == 0) rc = refuse(ld, "$.covers", "required when there are no closures");
    if (!rc) {
        setting->closures = ehc_calloc(count, sizeof *setting->closures);
        for (size_t k = 0; k < count; k++) {
            setting->closures[k] = list[k].closure;
            setting->closures[k].name = ehc_strdup(list[k].closure.name);
        }
        setting->closure_count = count;
        if (!has_covers) {
            /* Sorted and not overlapping, so the last closure also ends last. */
            setting->covers_from = setting->closures[0].from;
            setting->covers_to = setting->closures[count - 1].to;
        }
    }
    free(list);
    return rc;
}

static int load_setting_root(const loader *ld, const cJSON *root, ehc_setting_calendar *setting)
{
    static const field_spec fields[] = {
        {"id", true}, {"name", true}, {"closures", true}, {"covers", false}, {"note", false}};
    const char *id, *name, *note;
    int rc = check_fields(ld, root, "$", fields, EHC_ARRAY_SIZE(fields));
    if (!rc) rc = get_id(ld, root, &id);
    if (!rc) rc = get_text(ld, root, "$", "name", &name);
    if (!rc) rc = get_text(ld, root, "$", "note", &note);
    const bool has_covers = cJSON_GetObjectItemCaseSensitive(root, "covers") != NULL;
    if (!rc && has_covers) rc = get_covers(ld, root, &setting->covers_from, &setting->covers_to);
    const cJSON *closures = rc ? NULL : get_array(ld, root, "closures", &rc);
    if (!rc) rc = load_closures(ld, closures, has_covers, setting);
    if (rc) return rc;
    setting->id = ehc_strdup(id);
    setting->name = ehc_strdup(name);
    return 0;
}

int ehc_setting_calendar_load_bytes(const char *file, const char *bytes, size_t len,
                                    ehc_setting_calendar **out, ehc_load_error *err)
{
    const loader ld = {file ? file : "", err};
    cJSON *root = NULL;
    int rc = parse_json(&ld, bytes, len, &root);
    if (rc) return rc;
    ehc_setting_calendar *setting = ehc_calloc(1, sizeof *setting);
    rc = load_setting_root(&ld, root, setting);
    cJSON_Delete(root);
    if (rc) {
        ehc_setting_calendar_free(setting);
        return rc;
    }
    setting->file = ehc_strdup(ld.file);
    ehc_sha256_hex(bytes ? bytes : "", len, setting->content_hash);
    *out = setting;
    return 0;
}

int ehc_setting_calendar_load_file(const char *file, ehc_setting_calendar **out, ehc_load_error *err)
{
    char *bytes;
    size_t len;
    int rc = ehc_read_file(file, EHC_CALENDAR_MAX_FILE_BYTES, &bytes, &len, err);
    if (rc) return rc;
    rc = ehc_setting_calendar_load_bytes(file, bytes, len, out, err);
    free(bytes);
    return rc;
}

const char *ehc_setting_calendar_id(const ehc_setting_calendar *setting)
{
    return setting->id;
}

const char *ehc_setting_calendar_name(const ehc_setting_calendar *setting)
{
    return setting->name;
}

const char *ehc_setting_calendar_file(const ehc_setting_calendar *setting)
{
    return setting->file;
}

const char *ehc_setting_calendar_content_hash(const ehc_setting_calendar *setting)
{
    return setting->content_hash;
}

ehc_date ehc_setting_calendar_covers_from(const ehc_setting_calendar *setting)
{
    return setting->covers_from;
}

ehc_date ehc_setting_calendar_covers_to(const ehc_setting_calendar *setting)
{
    return setting->covers_to;
}

const ehc_closure *ehc_setting_calendar_closures(const ehc_setting_calendar *setting, size_t *count)
{
    *count = setting->closure_count;
    return setting->closures;
}

int ehc_setting_calendar_in_closure_window(const ehc_setting_calendar *setting, ehc_date requested_on,
                                           bool *in_window, ehc_closure *closure)
{
    const ehc_date covers_from = setting->covers_from, covers_to = setting->covers_to;
    if (!date_in(requested_on, covers_from, covers_to)) return EHC_ERANGE;
    const int64_t d = requested_on.days;
    /* A qualifying closure starting the day after `covers` would open its window 6 days earlier. */
    bool unknowable = d + EHC_CLOSURE_WINDOW_LEAD_DAYS > covers_to.days;
    const ehc_closure *list = setting->closures;
    for (size_t i = 0, j; i < setting->closure_count; i = j + 1) {
        /* Abutting closures are one continuous closure: list[i..j]. */
        for (j = i; j + 1 < setting->closure_count && list[j + 1].from.days == list[j].to.days + 1; j++) {
        }
        const int64_t from = list[i].from.days, to = list[j].to.days;
        const int64_t reopens = to + 1;
        const int64_t window_start = from - EHC_CLOSURE_WINDOW_LEAD_DAYS;
        const int64_t window_end = reopens - EHC_CLOSURE_WINDOW_LEAD_DAYS;
        const bool long_enough = to - from + 1 >= EHC_CLOSURE_MIN_DAYS;
        if (long_enough && d >= window_start && d <= window_end) {
            *in_window = true;
            if (closure) *closure = (ehc_closure){list[i].from, list[j].to, list[i].name};
            return 0;
        }
        /* A closure reaching an end of `covers` may go on beyond it: longer, or re-opening later. */
        if (to == covers_to.days && d >= window_start) unknowable = true;
        if (from == covers_from.days && !long_enough && d <= window_end) unknowable = true;
    }
    if (unknowable) return EHC_ERANGE;
    *in_window = false;
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * A folder of calendars */

void ehc_calendar_set_free(ehc_calendar_set *set)
{
    if (!set) return;
    for (size_t i = 0; !set->borrowed && i < set->calendar_count; i++)
        ehc_calendar_free(set->calendars[i]);
    for (size_t i = 0; !set->borrowed && i < set->setting_count; i++)
        ehc_setting_calendar_free(set->settings[i]);
    free(set->calendars);
    free(set->settings);
    free(set);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The paths of the regular files named *.json directly in dir, sorted. A missing dir is an empty
 * list when may_be_missing. */
static int list_json_files(const char *dir, bool may_be_missing, char ***out, size_t *count,
                           ehc_load_error *err)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (may_be_missing && errno == ENOENT) return 0;
        ehc_load_error_set(err, dir, "", "cannot open folder: %s", strerror(errno));
        return EHC_EIO;
    }
    size_t cap = 0;
    char **names = NULL;
    for (const struct dirent *entry; (entry = readdir(d));) {
        const size_t len = strlen(entry->d_name);
        if (entry->d_name[0] == '.' || len < 6 || strcmp(entry->d_name + len - 5, ".json") != 0) continue;
        char *path = ehc_asprintf("%s/%s", dir, entry->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            names = ehc_realloc(names, cap * sizeof *names);
        }
        names[(*count)++] = path;
    }
    closedir(d);
    if (*count) qsort(names, *count, sizeof *names, compare_names);
    *out = names;
    return 0;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static int compare_calendar_ids(const void *a, const void *b)
{
    return strcmp((*(ehc_calendar *const *)a)->id, (*(ehc_calendar *const *)b)->id);
}

static int compare_setting_ids(const void *a, const void *b)
{
    return strcmp((*(ehc_setting_calendar *const *)a)->id, (*(ehc_setting_calendar *const *)b)->id);
}

/* The file that already uses id, or NULL. */
static const char *id_owner(const ehc_calendar_set *set, const char *id)
{
    for (size_t i = 0; i < set->calendar_count; i++)
        if (strcmp(set->calendars[i]->id, id) == 0) return set->calendars[i]->file;
    for (size_t i = 0; i < set->setting_count; i++)
        if (strcmp(set->settings[i]->id, id) == 0) return set->settings[i]->file;
    return NULL;
}

static int refuse_repeated_id(const char *file, const char *id, const char *owner, ehc_load_error *err)
{
    ehc_load_error_set(err, file, "$.id", "id \"%s\" is already used by %s", id, owner);
    return EHC_ECONFLICT;
}

static int load_bank_holiday_files(ehc_calendar_set *set, const char *dir, ehc_load_error *err)
{
    char **files;
    size_t count;
    int rc = list_json_files(dir, false, &files, &count, err);
    if (rc) return rc;
    set->calendars = ehc_calloc(count, sizeof *set->calendars);
    for (size_t i = 0; i < count && !rc; i++) {
        ehc_calendar *cal;
        rc = ehc_calendar_load_file(files[i], &cal, err);
        if (rc) break;
        const char *owner = id_owner(set, cal->id);
        if (owner) {
            rc = refuse_repeated_id(files[i], cal->id, owner, err);
            ehc_calendar_free(cal);
            break;
        }
        set->calendars[set->calendar_count++] = cal;
    }
    free_names(files, count);
    return rc;
}

static int load_setting_files(ehc_calendar_set *set, const char *dir, ehc_load_error *err)
{
    char *settings_dir = ehc_asprintf("%s/settings", dir);
    char **files;
    size_t count;
    int rc = list_json_files(settings_dir, true, &files, &count, err);
    free(settings_dir);
    if (rc) return rc;
    set->settings = ehc_calloc(count, sizeof *set->settings);
    for (size_t i = 0; i < count && !rc; i++) {
        ehc_setting_calendar *setting;
        rc = ehc_setting_calendar_load_file(files[i], &setting, err);
        if (rc) break;
        const char *owner = id_owner(set, setting->id);
        if (owner) {
            rc = refuse_repeated_id(files[i], setting->id, owner, err);
            ehc_setting_calendar_free(setting);
            break;
        }
        set->settings[set->setting_count++] = setting;
    }
    free_names(files, count);
    return rc;
}

int ehc_calendar_set_load_dir(const char *dir, ehc_calendar_set **out, ehc_load_error *err)
{
    ehc_calendar_set *set = ehc_calloc(1, sizeof *set);
    int rc = load_bank_holiday_files(set, dir, err);
    if (!rc) rc = load_setting_files(set, dir, err);
    if (rc) {
        ehc_calendar_set_free(set);
        return rc;
    }
    if (set->calendar_count)
        qsort(set->calendars, set->calendar_count, sizeof *set->calendars, compare_calendar_ids);
    if (set->setting_count)
        qsort(set->settings, set->setting_count, sizeof *set->settings, compare_setting_ids);
    *out = set;
    return 0;
}

ehc_calendar_set *ehc_calendar_set_with(const ehc_calendar_set *base, const ehc_calendar *cal)
{
    ehc_calendar_set *set = ehc_calloc(1, sizeof *set);
    set->borrowed = true;
    set->calendars = ehc_calloc(base->calendar_count + 1, sizeof *set->calendars);
    bool replaced = false;
    for (size_t i = 0; i < base->calendar_count; i++) {
        bool same = strcmp(base->calendars[i]->id, cal->id) == 0;
        replaced |= same;
        set->calendars[set->calendar_count++] = same ? (ehc_calendar *)cal : base->calendars[i];
    }
    if (!replaced) {
        set->calendars[set->calendar_count++] = (ehc_calendar *)cal;
        qsort(set->calendars, set->calendar_count, sizeof *set->calendars, compare_calendar_ids);
    }
    if (base->setting_count) {
        set->settings = ehc_calloc(base->setting_count, sizeof *set->settings);
        memcpy(set->settings, base->settings, base->setting_count * sizeof *set->settings);
        set->setting_count = base->setting_count;
    }
    return set;
}

int ehc_calendar_set_find(const ehc_calendar_set *set, const char *id, const ehc_calendar **out)
{
    for (size_t i = 0; i < set->calendar_count; i++) {
        if (strcmp(set->calendars[i]->id, id) != 0) continue;
        *out = set->calendars[i];
        return 0;
    }
    return EHC_ENOENT;
}

int ehc_calendar_set_find_setting(const ehc_calendar_set *set, const char *id,
                                  const ehc_setting_calendar **out)
{
    for (size_t i = 0; i < set->setting_count; i++) {
        if (strcmp(set->settings[i]->id, id) != 0) continue;
        *out = set->settings[i];
        return 0;
    }
    return EHC_ENOENT;
}

size_t ehc_calendar_set_count(const ehc_calendar_set *set)
{
    return set->calendar_count;
}

size_t ehc_calendar_set_setting_count(const ehc_calendar_set *set)
{
    return set->setting_count;
}

const ehc_calendar *ehc_calendar_set_at(const ehc_calendar_set *set, size_t i)
{
    return i < set->calendar_count ? set->calendars[i] : NULL;
}

const ehc_setting_calendar *ehc_calendar_set_setting_at(const ehc_calendar_set *set, size_t i)
{
    return i < set->setting_count ? set->settings[i] : NULL;
}

/* ------------------------------------------------------------------------------------------------
 * Tribunal roll-overs and deemed receipt (new rules; the functions above are unchanged). */

int ehc_calendar_tribunal_rollover(const ehc_calendar *cal, ehc_date d, ehc_date *out)
{
    int year = 0, month = 0, day = 0;
    if (!ehc_date_is_valid(d)) return EHC_ERANGE;
    ehc_date_to_ymd(d, &year, &month, &day);
    ehc_date from;
    int rc;
    if (month == 8) {
        rc = ehc_date_of_year(year, 9, 1, &from);
    } else if (month == 12 && day >= 25) {
        rc = ehc_date_of_year(year + 1, 1, 2, &from);
    } else if (month == 1 && day == 1) {
        rc = ehc_date_of_year(year, 1, 2, &from);
    } else {
        *out = d;
        return 0;
    }
    return rc ? rc : ehc_calendar_working_day_on_or_after(cal, from, out);
}

int ehc_receipt_channel_parse(const char *name, ehc_receipt_channel *out)
{
    static const char *const names[] = {"hand", "email", "first_class_post", "signed_for"};
    for (size_t i = 0; i < EHC_ARRAY_SIZE(names); i++) {
        if (name && strcmp(name, names[i]) == 0) {
            *out = (ehc_receipt_channel)i;
            return 0;
        }
    }
    return EHC_ENOENT;
}

int ehc_calendar_deemed_receipt(const ehc_calendar *cal, ehc_receipt_channel channel, ehc_date on,
                                int minute_of_day, ehc_date *out)
{
    if (minute_of_day < 0 || minute_of_day >= 24 * 60) return EHC_EINVAL;
    switch (channel) {
    case EHC_RECEIPT_SIGNED_FOR:
        if (!ehc_date_is_valid(on)) return EHC_ERANGE;
        *out = on;
        return 0;
    case EHC_RECEIPT_FIRST_CLASS_POST: return ehc_calendar_next_working_day(cal, on, out);
    case EHC_RECEIPT_HAND:
    case EHC_RECEIPT_EMAIL: {
        bool working = false;
        int rc = ehc_calendar_is_working_day(cal, on, &working);
        if (rc) return rc;
        if (working && minute_of_day < 17 * 60) {
            *out = on;
            return 0;
        }
        return ehc_calendar_next_working_day(cal, on, out);
    }
    }
    return EHC_EINVAL;
}
