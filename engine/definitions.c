/* Loads the calendars folder first (workflows name their calendar), then each workflow file of
 * the folder in name order, so that errors are reported in a stable order. Workflow ids must be
 * unique: a case is opened under a workflow id and pinned to that file's hash. */
#include "ehc/definitions.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

struct ehc_definitions {
    ehc_calendar_set *calendars;
    ehc_workflow **workflows;
    size_t count;
};

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
        rc = ehc_workflow_load_file(path, defs->calendars, &wf, err);
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
    return EHC_ENOENT;
}

const char *ehc_definitions_calendar_hash(const ehc_definitions *defs, const ehc_workflow *wf)
{
    const ehc_calendar *cal;
    /* a loaded workflow's calendar was found at load, so this cannot fail */
    if (ehc_calendar_set_find(defs->calendars, ehc_workflow_calendar_id(wf), &cal) != 0) return "";
    return ehc_calendar_content_hash(cal);
}
