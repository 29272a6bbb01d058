/* Request bodies (api/body.c): the strict checks every JSON write goes through before a handler
 * reads a member. The input is the raw body, sent as application/json.
 * Checked beyond "no crash, no leak, no undefined behaviour":
 *   - a refusal has a 4xx status, a code, and a message and member name that are UTF-8 (they go
 *     into the JSON error reply);
 *   - an accepted body is an object, and the object printed back is accepted again, unchanged
 *     (what a handler read is what the database keeps). */
#include <string.h>

#include "ehc/api.h"
#include "fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ehc_api_body_error err;
    cJSON *obj = ehc_api_body_parse("application/json", (const char *)data, size, &err);
    if (!obj) {
        FUZZ_CHECK(err.status == 400 || err.status == 422, "status %d", err.status);
        FUZZ_CHECK(err.code && *err.code && *err.message, "an empty refusal");
        FUZZ_CHECK(fuzz_utf8_valid(err.message, strlen(err.message)), "message is not UTF-8");
        FUZZ_CHECK(fuzz_utf8_valid(err.field, strlen(err.field)), "field is not UTF-8");
        return 0;
    }
    FUZZ_CHECK(cJSON_IsObject(obj), "accepted a body that is not an object");
    char *printed = cJSON_PrintUnformatted(obj);
    FUZZ_CHECK(printed, "cannot print an accepted body");
    cJSON *again = ehc_api_body_parse("application/json; charset=utf-8", printed, strlen(printed), &err);
    FUZZ_CHECK(again, "the accepted body printed back is refused: %d %s", err.status, err.message);
    char *printed_again = cJSON_PrintUnformatted(again);
    FUZZ_CHECK(strcmp(printed, printed_again) == 0, "printing is not stable");
    free(printed_again);
    cJSON_Delete(again);
    free(printed);
    cJSON_Delete(obj);
    return 0;
}
