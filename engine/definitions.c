/* Loads the calendars folder first (workflows name their calendar), then each workflow file of
 * the folder in name order, so that errors are reported in a stable order. Workflow ids must be
 * unique: a case is opened under a workflow id and pinned to that file's hash.
 *
 * Older versions: the text of every workflow and bank-holiday calendar loaded is kept (the database
 * keeps every version ever loaded, engine/definition_versions.c), and older versions read back are
 * paired into "pins": a workflow version loaded against a calendar set in which one calendar version
 * stands, so that a case pinned to any (workflow, calendar) pair ever loaded can still be replayed. */
#include "ehc/definitions.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text of one version of a workflow or calendar. */
typedef struct version_text {
    bool workflow; /* else a bank-holiday calendar */
    char *name;    /* the file it was loaded from, or the id it was stored under */
    char sha256[65];
    char *bytes;
    size_t len;
    ehc_calendar *calendar; /* an older calendar version, parsed (owned) */
} version_text;

/* An older (workflow, calendar) pair a case may be pinned to. */
typedef struct pin {
    ehc_workflow *wf;
    ehc_calendar_set *calendars; /* borrows the calendars: the current set's and an older one */
    char calendar_sha256[65];
} pin;

struct ehc_definitions {
    ehc_calendar_set *calendars;
    ehc_workflow **workflows;
    size_t count;
    version_text *versions; /* the current files first, then older versions read back */
    size_t version_count, current_versions;
    pin *pins;
    size_t pin_count;
};

static version_text *add_version(ehc_definitions *defs, bool workflow, const char *name, const char *bytes,
                                 size_t len)
{
    defs->versions = ehc_realloc(defs->versions, (defs->version_count + 1) * sizeof *defs->versions);
    version_text *v = &defs->versions[defs->version_count++];
    memset(v, 0, sizeof *v);
    v->workflow = workflow;
    v->name = ehc_strdup(name);
    v->bytes = ehc_malloc(len + 1);
    memcpy(v->bytes, bytes, len);
    v->bytes[len] = '\0';
    v->len = len;
    ehc_sha256_hex(bytes, len, v->sha256);
    return v;
}

/* Keeps the text of each bank-holiday calendar loaded, read again and checked against the hash of
 * what was loaded (a file changed in between refuses the start). */
static int keep_calendar_texts(ehc_definitions *defs, ehc_load_error *err)
{
    for (size_t i = 0; i < ehc_calendar_set_count(defs->calendars); i++) {
        const ehc_calendar *cal = ehc_calendar_set_at(defs->calendars, i);
        char *bytes;
        size_t len;
        int rc = ehc_read_file(ehc_calendar_file(cal), 4u << 20, &bytes, &len, err);
        if (rc) return rc;
        version_text *v = add_version(defs, false, ehc_calendar_id(cal), bytes, len);
        free(bytes);
        if (strcmp(v->sha256, ehc_calendar_content_hash(cal)) != 0) {
            ehc_load_error_set(err, ehc_calendar_file(cal), "", "the file changed while it was being loaded");
            return EHC_ECONFLICT;
        }
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json file names directly in dir, sorted. */
static int list_json(const char *dir, char ***names, size_t *count, ehc_load_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        ehc_load_error_set(err, dir, "", "cannot open the workflows folder");
        return EHC_EIO;
    }
    *names = NULL;
    *count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 || e->d_name[0] == '.') continue;
        *names = ehc_realloc(*names, (*count + 1) * sizeof **names);
        (*names)[(*count)++] = ehc_strdup(e->d_name);
    }
    closedir(d);
    if (*count > 1) qsort(*names, *count, sizeof **names, cmp_names);
    return 0;
}

int ehc_definitions_load(const char *dir, ehc_definitions **out, ehc_load_error *err)
{
    ehc_definitions *defs = ehc_calloc(1, sizeof *defs);
    char *caldir = ehc_asprintf("%s/calendars", dir);
    int rc = ehc_calendar_set_load_dir(caldir, &defs->calendars, err);
    free(caldir);
    char **names = NULL;
    size_t count = 0;
    if (rc == 0) rc = list_json(dir, &names, &count, err);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char *path = ehc_asprintf("%s/%s", dir, names[i]);
        ehc_workflow *wf;
        char *bytes = NULL;
        size_t len = 0;
        rc = ehc_read_file(path, 16u << 20, &bytes, &len, err);
        if (rc == 0) rc = ehc_workflow_load_bytes(path, bytes, len, defs->calendars, &wf, err);
        if (rc == 0) add_version(defs, true, ehc_workflow_id(wf), bytes, len);
        free(bytes);
        if (rc == 0) {
            const ehc_workflow *same;
            if (ehc_definitions_find(defs, ehc_workflow_id(wf), &same) == 0) {
                ehc_load_error_set(err, path, "$.id", "workflow id '%s' is also used by %s",
                                   ehc_workflow_id(wf), ehc_workflow_file(same));
                ehc_workflow_free(wf);
                rc = EHC_ECONFLICT;
            } else {
                defs->workflows = ehc_realloc(defs->workflows, (defs->count + 1) * sizeof *defs->workflows);
                defs->workflows[defs->count++] = wf;
            }
        }
        free(path);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    if (rc == 0) rc = keep_calendar_texts(defs, err);
    defs->current_versions = defs->version_count;
    if (rc) {
        ehc_definitions_free(defs);
        return rc;
    }
    *out = defs;
    return 0;
}

void ehc_definitions_free(ehc_definitions *defs)
{
    if (!defs) return;
    for (size_t i = 0; i < defs->count; i++)
        ehc_workflow_free(defs->workflows[i]);
    free(defs->workflows);
    for (size_t i = 0; i < defs->pin_count; i++) {
        ehc_workflow_free(defs->pins[i].wf);
        ehc_calendar_set_free(defs->pins[i].calendars);
    }
    free(defs->pins);
    for (size_t i = 0; i < defs->version_count; i++) {
        free(defs->versions[i].name);
        free(defs->versions[i].bytes);
        if (defs->versions[i].calendar) ehc_calendar_free(defs->versions[i].calendar);
    }
    free(defs->versions);
    if (defs->calendars) ehc_calendar_set_free(defs->calendars);
    free(defs);
}

const ehc_calendar_set *ehc_definitions_calendars(const ehc_definitions *defs)
{
    return defs->calendars;
}

size_t ehc_definitions_workflow_count(const ehc_definitions *defs)
{
    return defs->count;
}

const ehc_workflow *ehc_definitions_workflow_at(const ehc_definitions *defs, size_t i)
{
    return i < defs->count ? defs->workflows[i] : NULL;
}

int ehc_definitions_find(const ehc_definitions *defs, const char *id, const ehc_workflow **out)
{
    for (size_t i = 0; i < defs->count; i++) {
        if (strcmp(ehc_workflow_id(defs->workflows[i]), id) == 0) {
            *out = defs->workflows[i];
            return 0;
        }
    }
    return EHC_ENOENT;
}

int ehc_definitions_find_hash(const ehc_definitions *defs, const char *sha256, const ehc_workflow **out)
{
    for (size_t i = 0; i < defs->count; i++) {
        if (strcmp(ehc_workflow_content_hash(defs->workflows[i]), sha256) == 0) {
            *out = defs->workflows[i];
            return 0;
        }
    }
    for (size_t i = 0; i < defs->pin_count; i++) {
        if (strcmp(ehc_workflow_content_hash(defs->pins[i].wf), sha256) == 0) {
            *out = defs->pins[i].wf;
            return 0;
        }
    }
    return EHC_ENOENT;
}

int ehc_definitions_pinned(const ehc_definitions *defs, const char *workflow_sha256,
                           const char *calendar_sha256, const ehc_workflow **wf,
                           const ehc_calendar_set **calendars)
{
    for (size_t i = 0; i < defs->count; i++) {
        if (strcmp(ehc_workflow_content_hash(defs->workflows[i]), workflow_sha256) == 0 &&
            strcmp(ehc_definitions_calendar_hash(defs, defs->workflows[i]), calendar_sha256) == 0) {
            *wf = defs->workflows[i];
            *calendars = defs->calendars;
            return 0;
        }
    }
    for (size_t i = 0; i < defs->pin_count; i++) {
        if (strcmp(ehc_workflow_content_hash(defs->pins[i].wf), workflow_sha256) == 0 &&
            strcmp(defs->pins[i].calendar_sha256, calendar_sha256) == 0) {
            *wf = defs->pins[i].wf;
            *calendars = defs->pins[i].calendars;
            return 0;
        }
    }
    return EHC_ENOENT;
}

size_t ehc_definitions_version_count(const ehc_definitions *defs)
{
    return defs->current_versions;
}

int ehc_definitions_version_at(const ehc_definitions *defs, size_t i, ehc_definition_version *out)
{
    if (i >= defs->current_versions) return EHC_ENOENT;
    const version_text *v = &defs->versions[i];
    *out = (ehc_definition_version){.kind = v->workflow ? "workflow" : "calendar",
                                    .id = v->name,
                                    .sha256 = v->sha256,
                                    .bytes = v->bytes,
                                    .len = v->len};
    return 0;
}

static bool have_version(const ehc_definitions *defs, bool workflow, const char *sha256)
{
    for (size_t i = 0; i < defs->version_count; i++)
        if (defs->versions[i].workflow == workflow && strcmp(defs->versions[i].sha256, sha256) == 0)
            return true;
    return false;
}

int ehc_definitions_add_older(ehc_definitions *defs, const char *kind, const char *id, const char *bytes,
                              size_t len, ehc_load_error *err)
{
    bool workflow = strcmp(kind, "workflow") == 0;
    if (!workflow && strcmp(kind, "calendar") != 0) {
        ehc_load_error_set(err, id, "", "unknown kind of definition '%s'", kind);
        return EHC_EINVAL;
    }
    char sha[65];
    ehc_sha256_hex(bytes, len, sha);
    if (have_version(defs, workflow, sha)) return 0;
    ehc_calendar *cal = NULL;
    if (!workflow) {
        char *label = ehc_asprintf("stored calendar %s %.12s", id, sha);
        int rc = ehc_calendar_load_bytes(label, bytes, len, &cal, err);
        free(label);
        if (rc) return rc;
    }
    add_version(defs, workflow, id, bytes, len)->calendar = cal;
    return 0;
}

/* Loads workflow text `w` against the current calendars with calendar version `c` standing for its
 * id, and keeps the pair when that is the calendar the workflow names and it is not the current pair. */
static void try_pin(ehc_definitions *defs, const version_text *w, const version_text *c)
{
    const ehc_calendar *cal = c->calendar;
    if (!cal && ehc_calendar_set_find(defs->calendars, c->name, &cal) != 0) return;
    const ehc_workflow *known;
    const ehc_calendar_set *known_set;
    if (ehc_definitions_pinned(defs, w->sha256, c->sha256, &known, &known_set) == 0) return;
    ehc_calendar_set *set = ehc_calendar_set_with(defs->calendars, cal);
    char *label = ehc_asprintf("stored workflow %s %.12s", w->name, w->sha256);
    ehc_workflow *wf;
    ehc_load_error err;
    if (ehc_workflow_load_bytes(label, w->bytes, w->len, set, &wf, &err) != 0) {
        /* an older text this ehcd no longer accepts, or a calendar it does not name: no pin */
        ehc_calendar_set_free(set);
    } else if (strcmp(ehc_workflow_calendar_id(wf), ehc_calendar_id(cal)) != 0) {
        ehc_workflow_free(wf);
        ehc_calendar_set_free(set);
    } else {
        defs->pins = ehc_realloc(defs->pins, (defs->pin_count + 1) * sizeof *defs->pins);
        pin *p = &defs->pins[defs->pin_count++];
        p->wf = wf;
        p->calendars = set;
        snprintf(p->calendar_sha256, sizeof p->calendar_sha256, "%s", c->sha256);
    }
    free(label);
}

size_t ehc_definitions_pin_older(ehc_definitions *defs)
{
    for (size_t i = 0; i < defs->version_count; i++) {
        if (!defs->versions[i].workflow) continue;
        for (size_t j = 0; j < defs->version_count; j++) {
            if (defs->versions[j].workflow) continue;
            if (i < defs->current_versions && j < defs->current_versions) continue;
            try_pin(defs, &defs->versions[i], &defs->versions[j]);
        }
    }
    return defs->pin_count;
}

const char *ehc_definitions_calendar_hash(const ehc_definitions *defs, const ehc_workflow *wf)
{
    const ehc_calendar *cal;
    /* a loaded workflow's calendar was found at load, so this cannot fail */
    if (ehc_calendar_set_find(defs->calendars, ehc_workflow_calendar_id(wf), &cal) != 0) return "";
    return ehc_calendar_content_hash(cal);
}
