/* Event decoding (engine/store.c, engine/machine.c): a case's event log as the store keeps it, a
 * JSON array of {"type", "role", "effective_on", "recorded_on", "fields"}, replayed through the
 * machine under one of the repository's workflows. This is the path every recorded event takes
 * after the API's checks (the same field decoding, then ehc_machine_apply) and the one `ehcd
 * verify` and the store's cache rebuild take. The first input byte picks the workflow; the rest is
 * the log. Checked: a refusal says why; an accepted log's state survives the canonical JSON round
 * trip unchanged. */
#include <string.h>

#include "ehc/definitions.h"
#include "ehc/machine.h"
#include "ehc/store.h"
#include "fuzz_support.h"

static ehc_definitions *defs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ehc_load_error err;
    const char *root = getenv("EHC_SOURCE_DIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/workflows", root && *root ? root : EHC_SOURCE_DIR);
    if (ehc_definitions_load(dir, &defs, &err) != 0 || ehc_definitions_workflow_count(defs) == 0) {
        fprintf(stderr, "fuzz_event: cannot load %s: %s %s %s\n", dir, err.file, err.path, err.reason);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const ehc_workflow *wf =
        ehc_definitions_workflow_at(defs, data[0] % ehc_definitions_workflow_count(defs));
    char *log = ehc_strndup((const char *)data + 1, size - 1);
    ehc_case_state state;
    ehc_machine_error err;
    int rc = ehc_store_replay(wf, ehc_definitions_calendars(defs), log, &state, &err);
    free(log);
    if (rc != 0) {
        FUZZ_CHECK(*err.message, "a refusal without a message (rc %d)", rc);
        return 0;
    }
    char *json = ehc_case_state_to_json(wf, &state);
    ehc_case_state back;
    char why[256];
    FUZZ_CHECK(ehc_case_state_from_json(wf, json, &back, why) == 0, "the state does not read back: %s", why);
    char *again = ehc_case_state_to_json(wf, &back);
    FUZZ_CHECK(strcmp(json, again) == 0, "the state changes in the JSON round trip");
    free(again);
    free(json);
    ehc_case_state_free(&back);
    ehc_case_state_free(&state);
    return 0;
}
