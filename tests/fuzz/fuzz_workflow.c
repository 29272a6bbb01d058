/* The workflow loader (engine/workflow.c): the input is a workflow file's bytes, validated against
 * the repository's calendars as ehcd does at start. An accepted workflow is walked the way the
 * machine and the API use it, and a new case's state is written to canonical JSON and read back.
 * Checked: a refusal names a reason and a JSON path; an accepted workflow has an initial stage and
 * an opening event, finds its own ids, and its initial state survives the JSON round trip. */
#include <string.h>

#include "ehc/calendar.h"
#include "ehc/machine.h"
#include "ehc/workflow.h"
#include "fuzz_support.h"

static ehc_calendar_set *calendars;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ehc_load_error err;
    const char *root = getenv("EHC_SOURCE_DIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/workflows/calendars", root && *root ? root : EHC_SOURCE_DIR);
    if (ehc_calendar_set_load_dir(dir, &calendars, &err) != 0) {
        fprintf(stderr, "fuzz_workflow: cannot load %s: %s %s\n", dir, err.path, err.reason);
        exit(1);
    }
    return 0;
}

static void walk(const ehc_workflow *wf)
{
    size_t idx;
    FUZZ_CHECK(ehc_workflow_initial_stage(wf) < ehc_workflow_stage_count(wf), "no initial stage");
    FUZZ_CHECK(ehc_workflow_opening_event(wf) < ehc_workflow_event_count(wf), "no opening event");
    FUZZ_CHECK(strlen(ehc_workflow_content_hash(wf)) == 64, "no content hash");
    for (size_t i = 0; i < ehc_workflow_stage_count(wf); i++)
        FUZZ_CHECK(ehc_workflow_find_stage(wf, ehc_workflow_stage(wf, i)->id, &idx) == 0 && idx == i,
                   "stage %zu is not found by its id", i);
    for (size_t i = 0; i < ehc_workflow_event_count(wf); i++) {
        const ehc_wf_event *ev = ehc_workflow_event(wf, i);
        FUZZ_CHECK(ehc_workflow_find_event(wf, ev->id, &idx) == 0 && idx == i, "event %zu is not found", i);
        for (size_t s = 0; s < ehc_workflow_stage_count(wf); s++)
            (void)ehc_wf_event_allowed_in(wf, ev, s);
    }
    for (size_t i = 0; i < ehc_workflow_deadline_count(wf); i++)
        FUZZ_CHECK(ehc_workflow_find_deadline(wf, ehc_workflow_deadline(wf, i)->id, &idx) == 0 && idx == i,
                   "deadline %zu is not found", i);
    ehc_case_state state, back;
    ehc_case_state_init(wf, &state);
    char *json = ehc_case_state_to_json(wf, &state);
    char why[256];
    FUZZ_CHECK(ehc_case_state_from_json(wf, json, &back, why) == 0,
               "a new case's state does not read back: %s", why);
    char *again = ehc_case_state_to_json(wf, &back);
    FUZZ_CHECK(strcmp(json, again) == 0, "a new case's state changes in the round trip");
    free(again);
    free(json);
    ehc_case_state_free(&back);
    ehc_case_state_free(&state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ehc_workflow *wf = NULL;
    ehc_load_error err;
    memset(&err, 0, sizeof err);
    if (ehc_workflow_load_bytes("fuzz.json", (const char *)data, size, calendars, &wf, &err) != 0) {
        FUZZ_CHECK(*err.reason, "a refusal without a reason");
        return 0;
    }
    walk(wf);
    ehc_workflow_free(wf);
    return 0;
}
