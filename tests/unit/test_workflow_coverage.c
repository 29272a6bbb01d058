/* Every shipped workflow (each .json file directly in workflows/) loads, and every event and
 * deadline id in it is named, in quotes, by some test under tests/unit or tests/integration: a
 * statutory rule nobody tests fails the build. The count of files found and of files loaded must
 * agree, so the test cannot pass by quietly skipping a file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/calendar.h"
#include "ehc/workflow.h"
#include "testlib.h"

static const char *source_dir(void)
{
    const char *dir = getenv("EHC_SOURCE_DIR");
    return dir && *dir ? dir : EHC_SOURCE_DIR;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.c (or *.json) files directly in dir, as full paths, sorted. */
static size_t list_files(const char *dir, const char *suffix, char ***out)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    *out = NULL;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const size_t len = strlen(e->d_name), slen = strlen(suffix);
        if (len <= slen || strcmp(e->d_name + len - slen, suffix) != 0) continue;
        *out = ehc_realloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = ehc_asprintf("%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n) qsort(*out, n, sizeof **out, compare_names);
    return n;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static char *read_text(const char *file)
{
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    char *buf = ehc_malloc(cap);
    for (size_t got; (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) buf = ehc_realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* All test sources concatenated: the text the ids are looked for in. */
static char *test_corpus(void)
{
    const char *suites[] = {"unit", "integration"};
    char *all = ehc_strdup("");
    for (size_t s = 0; s < EHC_ARRAY_SIZE(suites); s++) {
        char *dir = ehc_asprintf("%s/tests/%s", source_dir(), suites[s]);
        char **files;
        const size_t n = list_files(dir, ".c", &files);
        for (size_t i = 0; i < n; i++) {
            char *text = read_text(files[i]);
            char *joined = ehc_asprintf("%s\n%s", all, text);
            free(all);
            free(text);
            all = joined;
        }
        free_list(files, n);
        free(dir);
    }
    return all;
}

static bool named_in(const char *corpus, const char *id)
{
    char *quoted = ehc_asprintf("\"%s\"", id);
    const bool found = strstr(corpus, quoted) != NULL;
    free(quoted);
    return found;
}

/* Lists (in *missing, caller frees) every event and deadline id of wf no test names; returns how many. */
static size_t untested_ids(const ehc_workflow *wf, const char *corpus, char **missing)
{
    size_t count = 0;
    *missing = ehc_strdup("");
    for (size_t i = 0; i < ehc_workflow_event_count(wf) + ehc_workflow_deadline_count(wf); i++) {
        const bool is_event = i < ehc_workflow_event_count(wf);
        const char *id = is_event ? ehc_workflow_event(wf, i)->id
                                  : ehc_workflow_deadline(wf, i - ehc_workflow_event_count(wf))->id;
        if (named_in(corpus, id)) continue;
        char *more = ehc_asprintf("%s %s '%s';", *missing, is_event ? "event" : "deadline", id);
        free(*missing);
        *missing = more;
        count++;
    }
    return count;
}

static ehc_calendar_set *calendars(void)
{
    char *dir = ehc_asprintf("%s/workflows/calendars", source_dir());
    ehc_calendar_set *set = NULL;
    ehc_load_error err;
    if (ehc_calendar_set_load_dir(dir, &set, &err) != 0) fail_msg("%s %s %s", err.file, err.path, err.reason);
    free(dir);
    return set;
}

static void test_every_shipped_workflow_loads_and_each_event_and_deadline_is_tested(void **state)
{
    ehc_calendar_set *cals = calendars();
    char *corpus = test_corpus();
    char *dir = ehc_asprintf("%s/workflows", source_dir());
    char **files;
    const size_t file_count = list_files(dir, ".json", &files);
    size_t loaded = 0, untested = 0;
    for (size_t i = 0; i < file_count; i++) {
        ehc_workflow *wf = NULL;
        ehc_load_error err;
        if (ehc_workflow_load_file(files[i], cals, &wf, &err) != 0) {
            fail_msg("shipped workflow refused: %s at %s: %s", err.file, err.path, err.reason);
        }
        loaded++;
        char *missing;
        const size_t n = untested_ids(wf, corpus, &missing);
        if (n) print_error("%s: no test names%s\n", files[i], missing);
        untested += n;
        free(missing);
        ehc_workflow_free(wf);
    }
    print_message("%zu shipped workflow file(s) found, %zu loaded\n", file_count, loaded);
    assert_int_equal(loaded, file_count);
    assert_int_equal(untested, 0);
    free_list(files, file_count);
    free(dir);
    free(corpus);
    ehc_calendar_set_free(cals);
}

/* The check itself: the fixture's ids are all named by test_machine.c, and an id no test names is
 * reported (built at run time so that this file does not name it). */
static void test_coverage_check_finds_named_ids_and_reports_unnamed_ones(void **state)
{
    ehc_calendar_set *cals = calendars();
    char *corpus = test_corpus();
    char *file = ehc_asprintf("%s/tests/fixtures/workflows/assessment-start.json", source_dir());
    ehc_workflow *wf = NULL;
    assert_int_equal(ehc_workflow_load_file(file, cals, &wf, NULL), 0);
    char *missing;
    assert_int_equal(untested_ids(wf, corpus, &missing), 0);
    free(missing);
    char *unnamed = ehc_asprintf("%s_%s", "never_named", "by_any_test");
    assert_false(named_in(corpus, unnamed));
    assert_true(named_in(corpus, "final_plan_due"));
    free(unnamed);
    ehc_workflow_free(wf);
    free(file);
    free(corpus);
    ehc_calendar_set_free(cals);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_shipped_workflow_loads_and_each_event_and_deadline_is_tested),
        cmocka_unit_test(test_coverage_check_finds_named_ids_and_reports_unnamed_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
