/* Statutory notices as data (include/ehc/notices.h). A template is JSON:
 *   {"id", "title", "basis", "workflows": [...], "recipients": [...], "requires": [{"item", "basis"}],
 *    "text": {"statement_id": "text with {{item}}"}, "body": ["paragraph with {{item}}", ...],
 *    optional "include": ["mediation"], "serves": "<workflow event>", "notifies": "<event>",
 *    "per_advice_request": true, "part": true (a block included by others, never sent alone), "note"}.
 * Placeholders are {{name}}, name of a-z, 0-9, '_' and ':' (due:<deadline>, event:<event>). */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/definitions.h"
#include "ehc/notices.h"

#define MAX_NOTICE_BYTES (256 * 1024)
#define MAX_NAME 64

struct ehc_notice {
    char id[MAX_NAME];
    char *title, *basis, *serves, *notifies;
    bool part, per_advice;
    char sha256[65];
    char **workflows, **recipients, **include, **requires, **require_basis, **body;
    size_t workflow_count, recipient_count, include_count, require_count, body_count;
    cJSON *text; /* statement id -> text */
    char *bytes; /* the file, until the version hash is made */
    size_t len;
};

struct ehc_notices {
    ehc_notice **items;
    size_t count;
};

/* The statutory floor: the items each shipped notice must carry whatever its template says. The
 * regulation for each is cited in the notice's own "requires" list (the notices folder). */
static const struct {
    const char *notice;
    const char *items[10];
} floor_items[] = {
    {"notification_considering", {"authority_name", "child_name", "recipient_name", "considering_statement"}},
    {"decision_to_assess", {"authority_name", "child_name", "decision_statement", "due:final_plan_due"}},
    {"decision_not_to_assess",
     {"authority_name", "child_name", "decision_statement", "reasons", "right_to_appeal",
      "disagreement_resolution", "ias_contact"}},
    {"no_plan",
     {"authority_name", "child_name", "decision_statement", "reasons", "right_to_appeal",
      "disagreement_resolution", "ias_contact"}},
    {"draft_plan",
     {"authority_name", "child_name", "representations_period", "right_to_request_setting",
      "right_to_meeting", "la_contact"}},
    {"final_plan", {"authority_name", "child_name", "right_to_appeal", "ias_contact"}},
    {"review_decision",
     {"authority_name", "child_name", "event:review_meeting_held", "review_decision", "right_to_appeal"}},
    {"amendment_notice",
     {"authority_name", "child_name", "proposed_amendments", "evidence_enclosed", "representations_period",
      "right_to_request_setting", "right_to_meeting", "due:amended_plan_due", "la_contact"}},
    {"cease", {"authority_name", "child_name", "decision_statement", "reasons", "right_to_appeal"}},
    {"mediation",
     {"right_to_mediation", "mediation_adviser_contact", "mediation_time_limit", "certificate_needed",
      "appeal_time_limit", "la_contact"}},
    {"advice_request", {"authority_name", "child_name", "recipient_name", "adviser", "due:advice_due"}},
};

/* ---- loading -------------------------------------------------------------------------------------- */

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static void notice_free(ehc_notice *n)
{
    if (!n) return;
    free(n->title);
    free(n->basis);
    free(n->serves);
    free(n->notifies);
    free_list(n->workflows, n->workflow_count);
    free_list(n->recipients, n->recipient_count);
    free_list(n->include, n->include_count);
    free_list(n->requires, n->require_count);
    free_list(n->require_basis, n->require_count);
    free_list(n->body, n->body_count);
    cJSON_Delete(n->text);
    free(n->bytes);
    free(n);
}

void ehc_notices_free(ehc_notices *set)
{
    if (!set) return;
    for (size_t i = 0; i < set->count; i++)
        notice_free(set->items[i]);
    free(set->items);
    free(set);
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-';
}

static bool id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MAX_NAME) return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i]) || s[i] == ':') return false;
    return true;
}

/* Every "{{" opens a well-formed placeholder. */
static bool placeholders_ok(const char *s)
{
    for (const char *p = strstr(s, "{{"); p; p = strstr(p, "{{")) {
        p += 2;
        size_t n = 0;
        while (name_char(p[n]))
            n++;
        if (n == 0 || n >= MAX_NAME || strncmp(p + n, "}}", 2) != 0) return false;
        p += n + 2;
    }
    return true;
}

static int load_strings(const cJSON *root, const char *key, bool required, bool ids, char ***out,
                        size_t *count, const char *file, ehc_load_error *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = NULL;
    *count = 0;
    if (!a) {
        if (!required) return 0;
        ehc_load_error_set(err, file, "$", "\"%s\" is required", key);
        return EHC_EINVAL;
    }
    if (!cJSON_IsArray(a) || (required && cJSON_GetArraySize(a) == 0)) {
        ehc_load_error_set(err, file, key, "\"%s\" must be a non-empty list of strings", key);
        return EHC_EINVAL;
    }
    *out = ehc_calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof **out);
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsString(it) || !*it->valuestring || strlen(it->valuestring) > 4000 ||
            (ids && !id_ok(it->valuestring)) || !placeholders_ok(it->valuestring)) {
            ehc_load_error_set(err, file, key, "\"%s\"[%zu] must be %s", key, *count,
                               ids ? "an id (a-z, 0-9, _ and -)" : "text with well-formed {{placeholders}}");
            return EHC_EINVAL;
        }
        (*out)[(*count)++] = ehc_strdup(it->valuestring);
    }
    return 0;
}

static int load_one(const char *file, char *bytes, size_t len, ehc_notice **out, ehc_load_error *err)
{
    static const char *const known[] = {"id",   "title",   "basis",  "workflows",          "recipients",
                                        "text", "body",    "part",   "per_advice_request", "requires",
                                        "note", "include", "serves", "notifies",           NULL};
    cJSON *root = cJSON_ParseWithLength(bytes, len);
    ehc_notice *n = ehc_calloc(1, sizeof *n);
    n->bytes = bytes;
    n->len = len;
    int rc = EHC_EINVAL;
    if (!cJSON_IsObject(root)) {
        ehc_load_error_set(err, file, "$", "not a JSON object");
        goto out;
    }
    for (const cJSON *it = root->child; it; it = it->next) {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, it->string) == 0;
        if (!ok) {
            ehc_load_error_set(err, file, it->string, "unknown key \"%s\"", it->string);
            goto out;
        }
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(root, "title");
    const cJSON *basis = cJSON_GetObjectItemCaseSensitive(root, "basis");
    const cJSON *part = cJSON_GetObjectItemCaseSensitive(root, "part");
    const cJSON *per = cJSON_GetObjectItemCaseSensitive(root, "per_advice_request");
    const cJSON *serves = cJSON_GetObjectItemCaseSensitive(root, "serves");
    const cJSON *notifies = cJSON_GetObjectItemCaseSensitive(root, "notifies");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
    const cJSON *requires = cJSON_GetObjectItemCaseSensitive(root, "requires");
    if (!cJSON_IsString(id) || !id_ok(id->valuestring)) {
        ehc_load_error_set(err, file, "id", "\"id\" is required: a-z, 0-9, _ and - (max 63)");
        goto out;
    }
    snprintf(n->id, sizeof n->id, "%s", id->valuestring);
    if (!cJSON_IsString(title) || !*title->valuestring || !cJSON_IsString(basis) || !*basis->valuestring) {
        ehc_load_error_set(err, file, "$",
                           "\"title\" and \"basis\" (the regulations it follows) are required");
        goto out;
    }
    n->title = ehc_strdup(title->valuestring);
    n->basis = ehc_strdup(basis->valuestring);
    if ((part && !cJSON_IsBool(part)) || (per && !cJSON_IsBool(per)) ||
        (serves && (!cJSON_IsString(serves) || !id_ok(serves->valuestring)))) {
        ehc_load_error_set(err, file, "$",
                           "\"part\" and \"per_advice_request\" are true or false; \"serves\" an event id");
        goto out;
    }
    n->part = cJSON_IsTrue(part);
    n->per_advice = cJSON_IsTrue(per);
    n->serves = serves ? ehc_strdup(serves->valuestring) : NULL;
    if (notifies && (!cJSON_IsString(notifies) || !id_ok(notifies->valuestring))) {
        ehc_load_error_set(err, file, "notifies", "\"notifies\" is the id of the event whose notice this is");
        goto out;
    }
    n->notifies = notifies ? ehc_strdup(notifies->valuestring) : NULL;
    if (load_strings(root, "workflows", !n->part, true, &n->workflows, &n->workflow_count, file, err) ||
        load_strings(root, "recipients", !n->part, true, &n->recipients, &n->recipient_count, file, err) ||
        load_strings(root, "include", false, true, &n->include, &n->include_count, file, err) ||
        load_strings(root, "body", true, false, &n->body, &n->body_count, file, err))
        goto out;
    if (!cJSON_IsArray(requires) || cJSON_GetArraySize(requires) == 0) {
        ehc_load_error_set(err, file, "requires",
                           "\"requires\" must list the items the law requires: [{\"item\", \"basis\"}]");
        goto out;
    }
    n->requires = ehc_calloc((size_t)cJSON_GetArraySize(requires), sizeof *n->requires);
    n->require_basis = ehc_calloc((size_t)cJSON_GetArraySize(requires), sizeof *n->require_basis);
    const cJSON *r;
    cJSON_ArrayForEach(r, requires)
    {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(r, "item");
        const cJSON *rb = cJSON_GetObjectItemCaseSensitive(r, "basis");
        if (!cJSON_IsString(item) || !*item->valuestring || strlen(item->valuestring) >= MAX_NAME ||
            !cJSON_IsString(rb) || !*rb->valuestring) {
            ehc_load_error_set(err, file, "requires", "requires[%zu] needs an \"item\" and its \"basis\"",
                               n->require_count);
            goto out;
        }
        for (const char *c = item->valuestring; *c; c++)
            if (!name_char(*c)) {
                ehc_load_error_set(err, file, "requires", "requires[%zu]: '%s' is not an item name",
                                   n->require_count, item->valuestring);
                goto out;
            }
        n->require_basis[n->require_count] = ehc_strdup(rb->valuestring);
        n->requires[n->require_count++] = ehc_strdup(item->valuestring);
    }
    n->text = cJSON_CreateObject();
    if (text) {
        if (!cJSON_IsObject(text)) {
            ehc_load_error_set(err, file, "text", "\"text\" must be an object of statements");
            goto out;
        }
        for (const cJSON *s = text->child; s; s = s->next) {
            if (!cJSON_IsString(s) || !id_ok(s->string) || !placeholders_ok(s->valuestring)) {
                ehc_load_error_set(err, file, "text",
                                   "statement '%s' must be text with well-formed placeholders", s->string);
                goto out;
            }
            cJSON_AddStringToObject(n->text, s->string, s->valuestring);
        }
    }
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc) {
        n->bytes = NULL; /* the caller frees them */
        notice_free(n);
    } else {
        *out = n;
    }
    return rc;
}

static const ehc_notice *find_any(const ehc_notices *set, const char *id)
{
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->items[i]->id, id) == 0) return set->items[i];
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ehc_notices_load(const char *dir, ehc_notices **out, ehc_load_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        ehc_load_error_set(err, dir, "", "cannot open the notices folder");
        return EHC_EIO;
    }
    char **names = NULL;
    size_t count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
        names = ehc_realloc(names, (count + 1) * sizeof *names);
        names[count++] = ehc_strdup(e->d_name);
    }
    closedir(d);
    if (count) qsort(names, count, sizeof *names, by_name);
    ehc_notices *set = ehc_calloc(1, sizeof *set);
    set->items = ehc_calloc(count ? count : 1, sizeof *set->items);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *bytes;
        size_t len;
        ehc_notice *n;
        if ((rc = ehc_read_file(path, MAX_NOTICE_BYTES, &bytes, &len, err)) != 0) break;
        if ((rc = load_one(path, bytes, len, &n, err)) != 0) {
            free(bytes);
            break;
        }
        if (find_any(set, n->id)) {
            ehc_load_error_set(err, path, "id", "notice '%s' is defined twice", n->id);
            notice_free(n);
            rc = EHC_EINVAL;
            break;
        }
        set->items[set->count++] = n;
    }
    free_list(names, count);
    for (size_t i = 0; i < set->count && rc == 0; i++) {
        ehc_notice *n = set->items[i];
        size_t cap = n->len + 1, len = n->len;
        char *all = ehc_malloc(cap);
        memcpy(all, n->bytes, n->len);
        for (size_t j = 0; j < n->include_count && rc == 0; j++) {
            const ehc_notice *p = find_any(set, n->include[j]);
            if (!p || !p->part) {
                ehc_load_error_set(err, n->id, "include",
                                   "'%s' is not a part (a template with \"part\": true)", n->include[j]);
                rc = EHC_EINVAL;
                break;
            }
            all = ehc_realloc(all, len + p->len + 1);
            memcpy(all + len, p->bytes, p->len);
            len += p->len;
        }
        ehc_sha256_hex(all, len, n->sha256);
        free(all);
    }
    if (rc) {
        ehc_notices_free(set);
        return rc;
    }
    *out = set;
    return 0;
}

size_t ehc_notices_count(const ehc_notices *set)
{
    return set->count;
}

const ehc_notice *ehc_notices_at(const ehc_notices *set, size_t i)
{
    return i < set->count ? set->items[i] : NULL;
}

const ehc_notice *ehc_notices_find(const ehc_notices *set, const char *id)
{
    const ehc_notice *n = find_any(set, id);
    return n && !n->part ? n : NULL;
}

const char *ehc_notice_id(const ehc_notice *n)
{
    return n->id;
}
const char *ehc_notice_title(const ehc_notice *n)
{
    return n->title;
}
const char *ehc_notice_basis(const ehc_notice *n)
{
    return n->basis;
}
const char *ehc_notice_sha256(const ehc_notice *n)
{
    return n->sha256;
}
bool ehc_notice_is_part(const ehc_notice *n)
{
    return n->part;
}
const char *ehc_notice_serves(const ehc_notice *n)
{
    return n->serves;
}
const char *ehc_notice_notifies(const ehc_notice *n)
{
    return n->notifies;
}
bool ehc_notice_per_advice_request(const ehc_notice *n)
{
    return n->per_advice;
}

static bool in_list(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return true;
    return false;
}

bool ehc_notice_for_workflow(const ehc_notice *n, const char *workflow_id)
{
    return in_list(n->workflows, n->workflow_count, workflow_id);
}

bool ehc_notice_for_recipient(const ehc_notice *n, const char *recipient_role)
{
    return in_list(n->recipients, n->recipient_count, recipient_role);
}

static cJSON *string_array(char *const *list, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(list[i]));
    return a;
}

cJSON *ehc_notice_describe(const ehc_notices *set, const ehc_notice *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", n->id);
    cJSON_AddStringToObject(o, "title", n->title);
    cJSON_AddStringToObject(o, "basis", n->basis);
    cJSON_AddStringToObject(o, "template_sha256", n->sha256);
    cJSON_AddItemToObject(o, "workflows", string_array(n->workflows, n->workflow_count));
    cJSON_AddItemToObject(o, "recipients", string_array(n->recipients, n->recipient_count));
    cJSON_AddBoolToObject(o, "per_advice_request", n->per_advice);
    if (n->serves) cJSON_AddStringToObject(o, "serves", n->serves);
    if (n->notifies) cJSON_AddStringToObject(o, "notifies", n->notifies);
    cJSON *req = cJSON_AddArrayToObject(o, "requires");
    const ehc_notice *parts[8] = {n};
    size_t count = 1;
    for (size_t i = 0; i < n->include_count && count < 8; i++)
        if ((parts[count] = find_any(set, n->include[i]))) count++;
    for (size_t p = 0; p < count; p++) {
        for (size_t i = 0; i < parts[p]->require_count; i++) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "item", parts[p]->requires[i]);
            cJSON_AddStringToObject(r, "basis", parts[p]->require_basis[i]);
            cJSON_AddItemToArray(req, r);
        }
    }
    return o;
}

/* ---- filling -------------------------------------------------------------------------------------- */

typedef struct names {
    char **v;
    size_t n;
} names;

static void names_add(names *l, const char *s, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i]) == len && strncmp(l->v[i], s, len) == 0) return;
    l->v = ehc_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = ehc_strndup(s, len);
}

static bool names_has(const names *l, const char *s)
{
    return in_list(l->v, l->n, s);
}

typedef struct filler {
    const ehc_notice *parts[8];
    size_t part_count;
    const cJSON *values;
    names referenced, missing;
} filler;

static const char *statement(const filler *f, const char *name)
{
    for (size_t i = 0; i < f->part_count; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(f->parts[i]->text, name);
        if (cJSON_IsString(s)) return s->valuestring;
    }
    return NULL;
}

/* A value given for the letter, trimmed; NULL when absent or blank. */
static const char *value(const filler *f, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->values, name);
    if (!cJSON_IsString(v)) return NULL;
    for (const char *c = v->valuestring; *c; c++)
        if (!isspace((unsigned char)*c)) return v->valuestring;
    return NULL;
}

/* Substitutes the placeholders of `src` into a new string; `depth` stops a statement that names
 * itself. Unresolved placeholders are recorded as missing and left out. */
static char *substitute(filler *f, const char *src, int depth)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    const char *p = src;
    for (const char *open; (open = strstr(p, "{{"));) {
        ehc_text_append(&buf, &len, &cap, p, (size_t)(open - p));
        const char *name = open + 2;
        const char *close = strstr(name, "}}");
        char key[MAX_NAME];
        snprintf(key, sizeof key, "%.*s", (int)(close - name), name);
        names_add(&f->referenced, key, strlen(key));
        const char *st = depth < 3 ? statement(f, key) : NULL;
        const char *v = st ? NULL : value(f, key);
        if (st) {
            char *inner = substitute(f, st, depth + 1);
            bool blank = true;
            for (const char *c = inner; *c && blank; c++)
                blank = isspace((unsigned char)*c);
            if (blank) names_add(&f->missing, key, strlen(key));
            ehc_text_append(&buf, &len, &cap, inner, strlen(inner));
            free(inner);
        } else if (v) {
            ehc_text_append(&buf, &len, &cap, v, strlen(v));
        } else {
            names_add(&f->missing, key, strlen(key));
        }
        p = close + 2;
    }
    ehc_text_append(&buf, &len, &cap, p, strlen(p));
    return buf;
}

int ehc_notice_fill(const ehc_notices *set, const ehc_notice *n, const cJSON *values, ehc_letter_text *out)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(values)) return EHC_EINVAL;
    filler f = {.values = values};
    f.parts[f.part_count++] = n;
    for (size_t i = 0; i < n->include_count && f.part_count < 8; i++) {
        const ehc_notice *p = find_any(set, n->include[i]);
        if (p) f.parts[f.part_count++] = p;
    }
    /* the items the law requires: the floor of each part, then each template's own list */
    names required = {0};
    for (size_t i = 0; i < f.part_count; i++) {
        for (size_t k = 0; k < sizeof floor_items / sizeof floor_items[0]; k++) {
            if (strcmp(floor_items[k].notice, f.parts[i]->id) != 0) continue;
            for (size_t j = 0; j < 10 && floor_items[k].items[j]; j++)
                names_add(&required, floor_items[k].items[j], strlen(floor_items[k].items[j]));
        }
        for (size_t j = 0; j < f.parts[i]->require_count; j++)
            names_add(&required, f.parts[i]->requires[j], strlen(f.parts[i]->requires[j]));
    }
    out->title = ehc_strdup(n->title);
    for (size_t i = 0; i < f.part_count; i++) {
        const ehc_notice *p = f.parts[i];
        out->paragraphs =
            ehc_realloc(out->paragraphs, (out->paragraph_count + p->body_count) * sizeof(char *));
        for (size_t j = 0; j < p->body_count; j++)
            out->paragraphs[out->paragraph_count++] = substitute(&f, p->body[j], 0);
    }
    /* missing: required items in the law's order (absent from the letter, or without a value), then
     * any other placeholder left without a value */
    names missing = {0};
    for (size_t i = 0; i < required.n; i++)
        if (!names_has(&f.referenced, required.v[i]) || names_has(&f.missing, required.v[i]))
            names_add(&missing, required.v[i], strlen(required.v[i]));
    for (size_t i = 0; i < f.missing.n; i++)
        names_add(&missing, f.missing.v[i], strlen(f.missing.v[i]));
    out->missing = missing.v;
    out->missing_count = missing.n;
    out->items = cJSON_CreateObject();
    for (size_t i = 0; i < required.n; i++) {
        if (names_has(&missing, required.v[i])) continue;
        const char *st = statement(&f, required.v[i]);
        if (st) {
            char *filled = substitute(&f, st, 1);
            cJSON_AddStringToObject(out->items, required.v[i], filled);
            free(filled);
        } else {
            cJSON_AddStringToObject(out->items, required.v[i], value(&f, required.v[i]));
        }
    }
    free_list(required.v, required.n);
    free_list(f.referenced.v, f.referenced.n);
    free_list(f.missing.v, f.missing.n);
    return 0;
}

void ehc_letter_text_free(ehc_letter_text *t)
{
    if (!t) return;
    free(t->title);
    free_list(t->paragraphs, t->paragraph_count);
    free_list(t->missing, t->missing_count);
    cJSON_Delete(t->items);
    memset(t, 0, sizeof *t);
}

int ehc_notices_check(const ehc_notices *set, const ehc_definitions *defs, ehc_load_error *err)
{
    for (size_t i = 0; i < set->count; i++) {
        const ehc_notice *n = set->items[i];
        const char *events[2] = {n->serves, n->notifies};
        bool found[2] = {!n->serves, !n->notifies}, loaded = false;
        for (size_t w = 0; w < n->workflow_count; w++) {
            const ehc_workflow *wf;
            if (ehc_definitions_find(defs, n->workflows[w], &wf) != 0) continue; /* not used here */
            loaded = true;
            size_t ev;
            for (int k = 0; k < 2; k++)
                found[k] |= events[k] && ehc_workflow_find_event(wf, events[k], &ev) == 0;
        }
        for (int k = 0; k < 2 && loaded; k++) {
            if (!found[k]) {
                ehc_load_error_set(err, n->id, k ? "notifies" : "serves",
                                   "no workflow of this notice has event '%s'", events[k]);
                return EHC_EINVAL;
            }
        }
    }
    return 0;
}
