/* The workflow-format additions for the statutory processes (docs/workflows.md, "Additions"): each
 * refused at load with its JSON path when misused; and the new date rules of date.c/calendar.c
 * (tribunal roll-overs, deemed receipt, later-of, local times) with literal dates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/calendar.h"
#include "ehc/date.h"
#include "ehc/workflow.h"
#include "law_fixture.h"

static int setup(void **state)
{
    ehc_calendar_set *set = NULL;
    char *dir = ehc_asprintf("%s/workflows/calendars", law_source_dir());
    ehc_load_error err;
    if (ehc_calendar_set_load_dir(dir, &set, &err) != 0) fail_msg("%s", err.reason);
    free(dir);
    *state = set;
    return 0;
}

static int teardown(void **state)
{
    ehc_calendar_set_free(*state);
    return 0;
}

/* A small workflow with `event_extra` spliced into its second event and `deadline_extra` into its
 * deadline. */
static int load(void **state, const char *event_extra, const char *deadline_extra, ehc_load_error *err)
{
    char *json = ehc_asprintf(
        "{\"id\": \"t\", \"title\": \"t\", \"calendar\": \"england-and-wales\", \"opened_by\": \"open\","
        " \"stages\": [{\"id\": \"a\", \"title\": \"a\", \"initial\": true}, {\"id\": \"z\", \"title\": "
        "\"z\", "
        "\"final\": true}],"
        " \"events\": [{\"id\": \"open\", \"title\": \"o\", \"roles\": [\"officer\"], \"stay\": [\"a\"],"
        "   \"fields\": [{\"id\": \"k\", \"type\": \"id\"}, {\"id\": \"setting\", \"type\": \"id\"},"
        "   {\"id\": \"on\", \"type\": \"date\"}]},"
        "  {\"id\": \"ask\", \"title\": \"a\", \"roles\": [\"officer\"], \"stay\": [\"a\"], \"key\": \"k\","
        "   \"fields\": [{\"id\": \"k\", \"type\": \"id\", \"required\": true}, {\"id\": \"setting\", "
        "\"type\": "
        "\"id\"},"
        "   {\"id\": \"ch\", \"type\": \"enum\", \"values\": [\"hand\", \"fax\"], \"required\": true},"
        "   {\"id\": \"at\", \"type\": \"datetime\", \"required\": true}]%s},"
        "  {\"id\": \"end\", \"title\": \"e\", \"roles\": [\"officer\"], \"transitions\": [{\"from\": \"*\", "
        "\"to\": \"z\"}]}],"
        " \"deadlines\": [{\"id\": \"d\", \"title\": \"d\", \"kind\": \"local\", %s\"length\": {\"days\": 5},"
        " \"met_by\": [\"end\"]%s}]}",
        event_extra, strstr(deadline_extra, "\"origin\"") ? "" : "\"origin\": \"open\", ", deadline_extra);
    ehc_workflow *wf = NULL;
    const int rc = ehc_workflow_load_bytes("t.json", json, strlen(json), *state, &wf, err);
    ehc_workflow_free(wf);
    free(json);
    return rc;
}

static void expect_refusal(void **state, const char *ev, const char *dl, const char *path, const char *reason)
{
    ehc_load_error err;
    memset(&err, 0, sizeof err);
    if (load(state, ev, dl, &err) != EHC_EINVAL || strcmp(err.path, path) != 0 || !strstr(err.reason, reason))
        fail_msg("got path '%s' reason '%s'; want '%s' / '%s'", err.path, err.reason, path, reason);
}

static void test_the_base_workflow_and_each_addition_used_rightly_loads(void **state)
{
    ehc_load_error err;
    if (load(state, "",
             ", \"origin\": {\"event\": \"open\", \"field\": \"on\"}, \"later_of\": [{\"length\": "
             "{\"months\": 1}}], \"rollover\": \"tribunal\", \"extended_by\": [{\"event\": \"end\", "
             "\"length\": {\"weeks\": 1, \"before\": true}}]",
             &err) != 0)
        fail_msg("%s %s", err.path, err.reason);
}

static void test_deemed_receipt_channel_values_must_be_channels(void **state)
{
    expect_refusal(state, ", \"deemed_receipt\": {\"channel\": \"ch\", \"at\": \"at\"}", "",
                   "$.events[1].deemed_receipt.channel", "value 'fax' of field 'ch' is not a channel");
    expect_refusal(state, ", \"deemed_receipt\": {\"channel\": \"at\", \"at\": \"at\"}", "",
                   "$.events[1].deemed_receipt.channel", "must be a required enum field");
    expect_refusal(state, ", \"deemed_receipt\": {\"channel\": \"ch\"}", "", "$.events[1].deemed_receipt.at",
                   "required key is missing");
}

static void test_cancels_all_clocks_and_stops_letters_must_be_bools(void **state)
{
    expect_refusal(state, ", \"cancels_all_clocks\": 1", "", "$.events[1].cancels_all_clocks",
                   "must be true or false");
    expect_refusal(state, ", \"stops_letters\": \"yes\"", "", "$.events[1].stops_letters",
                   "must be true or false");
}

static void test_origin_field_must_be_a_date_field_and_when_a_real_guard(void **state)
{
    expect_refusal(state, "", ", \"origin\": {\"event\": \"open\", \"field\": \"k\"}",
                   "$.deadlines[0].origin.field", "has no date field 'k'");
    expect_refusal(state, "", ", \"origin\": {\"event\": \"open\", \"when\": {\"nope\": \"x\"}}",
                   "$.deadlines[0].origin.when.nope", "has no field 'nope'");
}

static void test_before_is_refused_on_period_months(void **state)
{
    expect_refusal(state, "", ", \"later_of\": [{\"length\": {\"period_months\": 12, \"before\": true}}]",
                   "$.deadlines[0].later_of[0].length.before",
                   "counts days, weeks, months or working_days back");
}

static void test_later_of_extended_by_and_rollover_are_checked(void **state)
{
    expect_refusal(state, "", ", \"later_of\": []", "$.deadlines[0].later_of", "must not be empty");
    expect_refusal(state, "", ", \"later_of\": [{\"length\": {\"days\": 1}, \"field\": \"k\"}]",
                   "$.deadlines[0].later_of[0].field", "has no date field 'k'");
    expect_refusal(state, "", ", \"extended_by\": [{\"event\": \"nope\", \"length\": {\"days\": 1}}]",
                   "$.deadlines[0].extended_by[0].event", "unknown event 'nope'");
    expect_refusal(state, "", ", \"rollover\": \"august\"", "$.deadlines[0].rollover",
                   "the only rollover is \"tribunal\"");
}

static void test_exception_report_only_week20_and_only_with_exceptions(void **state)
{
    expect_refusal(state, "", ", \"exception_report\": \"RequestOutcome\"", "$.deadlines[0].exception_report",
                   "only \"Week20\"");
    expect_refusal(state, "", ", \"exception_report\": \"Week20\"", "$.deadlines[0].exception_report",
                   "must list the exceptions");
}

static void test_setting_closure_needs_an_advice_event_with_a_key_and_a_setting_field(void **state)
{
    expect_refusal(
        state, "",
        ", \"exceptions\": [{\"id\": \"x\", \"title\": \"x\", \"basis\": \"b\", \"setting_closure\": "
        "{\"advice_event\": \"open\"}}]",
        "$.deadlines[0].exceptions[0].setting_closure.advice_event", "must have a \"key\"");
    expect_refusal(
        state, "",
        ", \"exceptions\": [{\"id\": \"x\", \"title\": \"x\", \"basis\": \"b\", \"setting_closure\": "
        "{\"advice_event\": \"ask\", \"when\": {\"ch\": \"post\"}}}]",
        "$.deadlines[0].exceptions[0].setting_closure.when.ch", "is not one of the values");
}

static void test_datetime_guard_value_must_be_a_time(void **state)
{
    expect_refusal(state,
                   ", \"report\": [{\"set\": {\"Week20\": \"1\"}, \"when\": {\"at\": \"2026-01-05\"}}]", "",
                   "$.events[1].report[0].when.at", "is not a time");
}

/* --- the new date rules ----------------------------------------------------------------------------- */

static void test_tribunal_rollover_august_and_christmas(void **state)
{
    const ehc_calendar *cal = NULL;
    assert_int_equal(ehc_calendar_set_find(*state, "england-and-wales", &cal), 0);
    ehc_date out;
    assert_int_equal(ehc_calendar_tribunal_rollover(cal, law_day("2026-07-31"), &out), 0);
    law_assert_date(out, "2026-07-31");
    assert_int_equal(ehc_calendar_tribunal_rollover(cal, law_day("2026-08-01"), &out), 0);
    law_assert_date(out, "2026-09-01");
    assert_int_equal(ehc_calendar_tribunal_rollover(cal, law_day("2026-08-31"), &out), 0);
    law_assert_date(out, "2026-09-01");
    /* 1 September 2024 was a Sunday: Monday 2 September. */
    assert_int_equal(ehc_calendar_tribunal_rollover(cal, law_day("2024-08-15"), &out), 0);
    law_assert_date(out, "2024-09-02");
    assert_int_equal(ehc_calendar_tribunal_rollover(cal, law_day("2026-12-24"), &out), 0);
    law_assert_date(out, "2026-12-24");
    assert_int_equal(ehc_calendar_tribunal_rollover(cal, law_day("2026-12-25"), &out), 0);
    law_assert_date(out, "2027-01-04");
    assert_int_equal(ehc_calendar_tribunal_rollover(cal, law_day("2026-01-01"), &out), 0);
    law_assert_date(out, "2026-01-02");
    assert_int_equal(ehc_calendar_tribunal_rollover(cal, law_day("2026-01-02"), &out), 0);
    law_assert_date(out, "2026-01-02");
}

static void test_deemed_receipt_by_channel(void **state)
{
    const ehc_calendar *cal = NULL;
    assert_int_equal(ehc_calendar_set_find(*state, "england-and-wales", &cal), 0);
    ehc_date out;
    assert_int_equal(
        ehc_calendar_deemed_receipt(cal, EHC_RECEIPT_HAND, law_day("2026-01-05"), 16 * 60 + 59, &out), 0);
    law_assert_date(out, "2026-01-05");
    assert_int_equal(
        ehc_calendar_deemed_receipt(cal, EHC_RECEIPT_EMAIL, law_day("2026-01-05"), 17 * 60, &out), 0);
    law_assert_date(out, "2026-01-06");
    /* Thursday 2 April 2026 after 5pm: Good Friday and Easter Monday skipped, Tuesday 7 April. */
    assert_int_equal(
        ehc_calendar_deemed_receipt(cal, EHC_RECEIPT_EMAIL, law_day("2026-04-02"), 18 * 60, &out), 0);
    law_assert_date(out, "2026-04-07");
    assert_int_equal(
        ehc_calendar_deemed_receipt(cal, EHC_RECEIPT_FIRST_CLASS_POST, law_day("2026-01-05"), 0, &out), 0);
    law_assert_date(out, "2026-01-06");
    assert_int_equal(
        ehc_calendar_deemed_receipt(cal, EHC_RECEIPT_SIGNED_FOR, law_day("2026-01-04"), 600, &out), 0);
    law_assert_date(out, "2026-01-04");
    assert_int_equal(ehc_calendar_deemed_receipt(cal, EHC_RECEIPT_HAND, law_day("2026-01-05"), 1440, &out),
                     EHC_EINVAL);
    ehc_receipt_channel ch;
    assert_int_equal(ehc_receipt_channel_parse("first_class_post", &ch), 0);
    assert_int_equal(ch, EHC_RECEIPT_FIRST_CLASS_POST);
    assert_int_equal(ehc_receipt_channel_parse("fax", &ch), EHC_ENOENT);
}

static void test_later_of_and_local_datetime(void **state)
{
    (void)state;
    law_assert_date(ehc_date_later(law_day("2027-05-19"), law_day("2026-12-01")), "2027-05-19");
    law_assert_date(ehc_date_later(law_day("2026-12-01"), law_day("2027-05-19")), "2027-05-19");
    ehc_date d;
    int minute = 0;
    assert_int_equal(ehc_date_parse_local_datetime("2026-01-05T17:00", &d, &minute), 0);
    law_assert_date(d, "2026-01-05");
    assert_int_equal(minute, 1020);
    assert_int_equal(ehc_date_parse_local_datetime("2026-01-05T24:00", &d, &minute), EHC_EINVAL);
    assert_int_equal(ehc_date_parse_local_datetime("2026-01-05 17:00", &d, &minute), EHC_EINVAL);
    assert_int_equal(ehc_date_parse_local_datetime("2026-02-29T10:00", &d, &minute), EHC_EINVAL);
    assert_int_equal(ehc_date_parse_local_datetime("2026-01-05T17:00Z", &d, &minute), EHC_EINVAL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_the_base_workflow_and_each_addition_used_rightly_loads),
        T(test_deemed_receipt_channel_values_must_be_channels),
        T(test_cancels_all_clocks_and_stops_letters_must_be_bools),
        T(test_origin_field_must_be_a_date_field_and_when_a_real_guard),
        T(test_before_is_refused_on_period_months),
        T(test_later_of_extended_by_and_rollover_are_checked),
        T(test_exception_report_only_week20_and_only_with_exceptions),
        T(test_setting_closure_needs_an_advice_event_with_a_key_and_a_setting_field),
        T(test_datetime_guard_value_must_be_a_time),
        T(test_tribunal_rollover_august_and_christmas),
        T(test_deemed_receipt_by_channel),
        T(test_later_of_and_local_datetime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
