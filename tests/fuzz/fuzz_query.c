/* Query strings (api/query.c): the input is the text after '?' (cut at the first NUL, as h2o hands
 * it over), read pair by pair as every list handler does, with their buffer sizes (32/128) and
 * with tiny ones (4/4) to reach the size limits. Checked: each call moves forward (no endless
 * loop), and every pair read is NUL-terminated UTF-8 that fits its buffer. */
#include <string.h>

#include "ehc/api.h"
#include "fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void read_all(const char *text, size_t name_size, size_t value_size)
{
    char name[32], value[128];
    const char *q = text;
    size_t len = strlen(text), calls = 0;
    int more;
    while ((more = ehc_api_query_next(&q, name, name_size, value, value_size)) != 0) {
        FUZZ_CHECK(++calls <= len + 1, "no progress after %zu calls", calls);
        FUZZ_CHECK(q >= text && q <= text + len, "the cursor left the text");
        if (more == 1) {
            size_t n = strnlen(name, name_size), v = strnlen(value, value_size);
            FUZZ_CHECK(n < name_size && v < value_size, "a pair overflowed its buffer");
            FUZZ_CHECK(fuzz_utf8_valid(name, n) && fuzz_utf8_valid(value, v), "a pair is not UTF-8");
        } else {
            FUZZ_CHECK(more == EHC_EINVAL, "unexpected result %d", more);
        }
    }
    FUZZ_CHECK(*q == '\0', "stopped before the end");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = ehc_strndup((const char *)data, size);
    read_all(text, 32, 128);
    read_all(text, 4, 4);
    free(text);
    return 0;
}
