/* The import reader (engine/csv.c, engine/import.c): the input is a council's import files, the
 * eight of docs/import.md in their order, separated by a line "=====" (a part left empty is a file
 * not given). Each file goes through the RFC 4180 reader and then ehc_import_prepare checks every
 * row and replays every case through the machine, as `ehcd import --dry-run` does before it touches
 * the database. Checked: the reader either refuses with the record, field and line of the fault, or
 * gives UTF-8 fields that are read back the same after writing them out again (the export's writer,
 * ehc_csv_append_field); every problem the import lists names one of the files (or none: the import as a
 * whole) and a reason, in UTF-8 (it is printed to the officer). */
#include <string.h>

#include "ehc/csv.h"
#include "ehc/definitions.h"
#include "ehc/import.h"
#include "fuzz_support.h"

static ehc_definitions *defs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ehc_load_error err;
    const char *root = getenv("EHC_SOURCE_DIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/workflows", root && *root ? root : EHC_SOURCE_DIR);
    if (ehc_definitions_load(dir, &defs, &err) != 0) {
        fprintf(stderr, "fuzz_import: cannot load %s: %s %s %s\n", dir, err.file, err.path, err.reason);
        exit(1);
    }
    return 0;
}

/* The reader's promise on one file. */
static void read_file(const char *bytes, size_t len)
{
    ehc_csv_table t;
    ehc_csv_error err;
    if (ehc_csv_parse(bytes, len, &t, &err) != 0) {
        FUZZ_CHECK(err.record >= 1 && err.field >= 1 && err.line >= 1, "a fault without its place");
        FUZZ_CHECK(*err.reason && fuzz_utf8_valid(err.reason, strlen(err.reason)),
                   "a fault without a reason");
        return;
    }
    char *out = NULL;
    size_t out_len = 0, cap = 0;
    /* the reader drops one leading byte-order mark: written first, a field that itself begins with
     * U+FEFF keeps it */
    ehc_text_append(&out, &out_len, &cap, "\xef\xbb\xbf", 3);
    for (size_t r = 0; r < t.count; r++) {
        FUZZ_CHECK(t.records[r].count >= 1 && t.records[r].count <= EHC_CSV_MAX_FIELDS,
                   "record %zu: %zu fields", r + 1, t.records[r].count);
        FUZZ_CHECK(r == 0 || t.records[r].line > t.records[r - 1].line, "record lines out of order");
        for (size_t f = 0; f < t.records[r].count; f++) {
            const char *v = t.records[r].fields[f];
            FUZZ_CHECK(fuzz_utf8_valid(v, strlen(v)), "record %zu field %zu is not UTF-8", r + 1, f + 1);
            if (f) ehc_text_append(&out, &out_len, &cap, ",", 1);
            if (t.records[r].count == 1 && !*v)
                ehc_text_append(&out, &out_len, &cap, "\"\"", 2); /* a lone empty field, not a blank line */
            else
                ehc_csv_append_field(&out, &out_len, &cap, v);
        }
        ehc_text_append(&out, &out_len, &cap, "\n", 1);
    }
    ehc_csv_table back;
    FUZZ_CHECK(ehc_csv_parse(out, out_len, &back, &err) == 0, "the fields written out do not read back: %s",
               err.reason);
    FUZZ_CHECK(back.count == t.count, "%zu records read back as %zu", t.count, back.count);
    for (size_t r = 0; r < t.count; r++) {
        FUZZ_CHECK(back.records[r].count == t.records[r].count, "record %zu changed its field count", r + 1);
        for (size_t f = 0; f < t.records[r].count; f++)
            FUZZ_CHECK(strcmp(back.records[r].fields[f], t.records[r].fields[f]) == 0,
                       "record %zu field %zu changed", r + 1, f + 1);
    }
    ehc_csv_table_free(&back);
    ehc_csv_table_free(&t);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sep[] = "=====\n";
    ehc_import_input inputs[EHC_IMPORT_FILE_COUNT];
    memset(inputs, 0, sizeof inputs);
    const char *p = (const char *)data, *end = p + size;
    for (size_t i = 0; i < EHC_IMPORT_FILE_COUNT && p <= end; i++) {
        const char *next = p;
        while (next < end && !(next + sizeof sep - 1 <= end && memcmp(next, sep, sizeof sep - 1) == 0 &&
                               (next == (const char *)data || next[-1] == '\n')))
            next++;
        if (next > p) inputs[i] = (ehc_import_input){.bytes = p, .len = (size_t)(next - p)};
        if (next >= end) break;
        p = next + sizeof sep - 1;
    }
    for (size_t i = 0; i < EHC_IMPORT_FILE_COUNT; i++)
        if (inputs[i].bytes) read_file(inputs[i].bytes, inputs[i].len);
    ehc_date today;
    FUZZ_CHECK(ehc_date_parse_iso("2026-11-23", &today) == 0, "today");
    ehc_import *imp = ehc_import_prepare(defs, inputs, today);
    for (size_t i = 0; i < ehc_import_problem_count(imp); i++) {
        const ehc_import_problem *pr = ehc_import_problem_at(imp, i);
        bool known = pr->file && !*pr->file; /* "": the import as a whole (e.g. no children at all) */
        for (size_t f = 0; f < EHC_IMPORT_FILE_COUNT && !known; f++)
            known = pr->file && strcmp(pr->file, ehc_import_file_name(f)) == 0;
        FUZZ_CHECK(known, "a problem in no file: %s", pr->file ? pr->file : "(null)");
        FUZZ_CHECK(*pr->message && fuzz_utf8_valid(pr->message, strlen(pr->message)) &&
                       fuzz_utf8_valid(pr->column, strlen(pr->column)),
                   "a problem without a readable reason");
    }
    ehc_import_free(imp);
    return 0;
}
