/* Alert levels, dates, instants and recipients with literal dates, on the store fixture workflow
 * (tests/fixtures/store) and its England and Wales bank holidays: a request received Monday
 * 5 January 2026 (6-week decision due Monday 16 February, 20-week final plan due Monday 25 May, the
 * spring bank holiday), a due date on a Saturday, a schedule across the clock change, catch-up of
 * the highest level only, and the stored JSON form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/alerts.h"
#include "ehc/definitions.h"
#include "testlib.h"

static ehc_definitions *defs;
static const ehc_workflow *wf;
static ehc_machine_env env;
static ehc_alert_options opts;

static int setup(void **state)
{
    const char *src = getenv("EHC_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/store", src && *src ? src : EHC_SOURCE_DIR);
    ehc_load_error err;
    if (ehc_definitions_load(dir, &defs, &err) != 0) {
        fprintf(stderr, "%s %s %s\n", err.file, err.path, err.reason);
        return -1;
    }
    if (ehc_definitions_find(defs, "store-test", &wf) != 0) return -1;
    env = (ehc_machine_env){.workflow = wf, .calendars = ehc_definitions_calendars(defs)};
    ehc_alert_options_default(&opts);
    return 0;
}

static int teardown(void **state)
{
    ehc_definitions_free(defs);
    return 0;
}

static ehc_date day(const char *iso)
{
    ehc_date d;
    assert_int_equal(ehc_date_parse_iso(iso, &d), 0);
    return d;
}

static ehc_deadline_instance instance(const char *deadline, const char *due)
{
    ehc_deadline_instance in;
    memset(&in, 0, sizeof in);
    assert_int_equal(ehc_workflow_find_deadline(wf, deadline, &in.deadline), 0);
    in.due_on = day(due);
    in.started_on = day("2026-01-05");
    in.status = EHC_DEADLINE_OPEN;
    in.exception = EHC_WF_NONE;
    return in;
}

/* "2026-02-02T07:00:00Z" as an instant. */
static int64_t utc(const char *iso_date, int hour)
{
    return (int64_t)day(iso_date).days * 86400 * EHC_US_PER_SECOND + (int64_t)hour * 3600 * EHC_US_PER_SECOND;
}

static void expect(const ehc_alert *a, const char *level, const char *on, int utc_hour, unsigned to)
{
    char iso[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(a->on, iso);
    assert_string_equal(a->level, level);
    assert_string_equal(iso, on);
    assert_int_equal(a->fire_at.us, utc(on, utc_hour));
    assert_int_equal(a->recipients, to);
}

enum {
    OFFICER = EHC_ALERT_TO_OFFICER,
    MANAGER = EHC_ALERT_TO_MANAGER,
    SERVICE = EHC_ALERT_TO_SERVICE_MANAGER,
};

static void test_six_week_decision_of_a_request_received_5_january_2026(void **state)
{
    ehc_deadline_instance in = instance("decision_due", "2026-02-16");
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), 0);
    assert_int_equal(s.count, 5);
    /* 07:00 in London is 07:00Z in winter */
    expect(&s.items[0], "upcoming_10", "2026-02-02", 7, OFFICER);
    expect(&s.items[1], "upcoming_5", "2026-02-09", 7, OFFICER);
    expect(&s.items[2], "due", "2026-02-16", 7, OFFICER);
    expect(&s.items[3], "overdue", "2026-02-17", 7, OFFICER | MANAGER);
    /* overdue for more than 10 days: from 16 + 11 = Friday 27 February */
    expect(&s.items[4], "escalated", "2026-02-27", 7, OFFICER | MANAGER | SERVICE);
}

static void test_due_on_the_spring_bank_holiday_fires_the_working_day_before_in_summer_time(void **state)
{
    /* the 20-week final plan of the same request: Monday 25 May 2026, a bank holiday */
    ehc_deadline_instance in = instance("final_plan_due", "2026-05-25");
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), 0);
    assert_int_equal(s.count, 4);
    /* 07:00 BST is 06:00Z; the 20-week limit tells the manager already at due */
    expect(&s.items[0], "upcoming_10", "2026-05-11", 6, OFFICER);
    expect(&s.items[1], "due", "2026-05-22", 6, OFFICER | MANAGER);
    expect(&s.items[2], "overdue", "2026-05-26", 6, OFFICER | MANAGER);
    /* 25 May + 11 = Friday 5 June */
    expect(&s.items[3], "escalated", "2026-06-05", 6, OFFICER | MANAGER | SERVICE);
}

static void test_escalation_past_the_calendars_end_leaves_the_other_alerts_planned(void **state)
{
    /* due Tuesday 21 December 2027: escalation would be on or after 1 January 2028, past the end of
     * the bank holidays known (31 December 2027); the warnings, due and overdue days are not */
    ehc_deadline_instance in = instance("decision_due", "2027-12-21");
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), 0);
    assert_true(s.escalation_beyond_calendar);
    assert_int_equal(s.count, 4);
    expect(&s.items[0], "upcoming_10", "2027-12-07", 7, OFFICER);
    expect(&s.items[1], "upcoming_5", "2027-12-14", 7, OFFICER);
    expect(&s.items[2], "due", "2027-12-21", 7, OFFICER);
    expect(&s.items[3], "overdue", "2027-12-22", 7, OFFICER | MANAGER);
    /* a date the calendar cannot place at all is still refused, never guessed */
    in = instance("decision_due", "2028-03-01");
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), EHC_ERANGE);
}

static void test_a_june_deadline_fires_at_six_utc(void **state)
{
    ehc_deadline_instance in = instance("decision_due", "2026-06-15");
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), 0);
    expect(&s.items[2], "due", "2026-06-15", 6, OFFICER);
    assert_int_equal(s.items[2].fire_at.us, INT64_C(1781503200) * EHC_US_PER_SECOND); /* 2026-06-15T06:00Z */
}

static void test_due_on_a_saturday_fires_friday_and_overdue_monday(void **state)
{
    ehc_deadline_instance in = instance("decision_due", "2026-03-14");
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), 0);
    assert_int_equal(s.count, 5);
    expect(&s.items[0], "upcoming_10", "2026-03-02", 7, OFFICER);
    expect(&s.items[1], "upcoming_5", "2026-03-09", 7, OFFICER);
    expect(&s.items[2], "due", "2026-03-13", 7, OFFICER);
    expect(&s.items[3], "overdue", "2026-03-16", 7, OFFICER | MANAGER);
}

static void test_schedule_across_the_clock_change_and_easter(void **state)
{
    /* due Thursday 2 April 2026: the warnings fall in GMT, due in BST; Good Friday 3 April and
     * Easter Monday 6 April push overdue to Tuesday 7 April */
    ehc_deadline_instance in = instance("decision_due", "2026-04-02");
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), 0);
    expect(&s.items[0], "upcoming_10", "2026-03-19", 7, OFFICER);
    expect(&s.items[1], "upcoming_5", "2026-03-26", 7, OFFICER);
    expect(&s.items[2], "due", "2026-04-02", 6, OFFICER);
    expect(&s.items[3], "overdue", "2026-04-07", 6, OFFICER | MANAGER);
}

static void test_only_the_twenty_week_final_plan_tells_the_manager_at_due(void **state)
{
    size_t i;
    assert_int_equal(ehc_workflow_find_deadline(wf, "final_plan_due", &i), 0);
    assert_true(ehc_alerts_manager_at_due(wf, ehc_workflow_deadline(wf, i)));
    assert_int_equal(ehc_workflow_find_deadline(wf, "decision_due", &i), 0);
    assert_false(ehc_alerts_manager_at_due(wf, ehc_workflow_deadline(wf, i)));
    assert_int_equal(ehc_workflow_find_deadline(wf, "no_plan_notice_due", &i), 0);
    assert_false(ehc_alerts_manager_at_due(wf, ehc_workflow_deadline(wf, i)));
}

static void test_a_settled_deadline_has_no_alerts(void **state)
{
    ehc_deadline_instance in = instance("decision_due", "2026-02-16");
    in.status = EHC_DEADLINE_MET;
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), 0);
    assert_int_equal(s.count, 0);
    in.status = EHC_DEADLINE_CANCELLED;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), 0);
    assert_int_equal(s.count, 0);
}

static void test_no_escalation_when_turned_off_and_local_hour_is_configurable(void **state)
{
    ehc_alert_options o = opts;
    o.escalate_after_days = 0;
    o.hour = 9;
    o.minute = 30;
    ehc_deadline_instance in = instance("decision_due", "2026-02-16");
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &o, &s), 0);
    assert_int_equal(s.count, 4);
    assert_string_equal(s.items[3].level, "overdue");
    assert_int_equal(s.items[0].fire_at.us, utc("2026-02-02", 9) + 30 * 60 * EHC_US_PER_SECOND);
    o.hour = 24;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &o, &s), EHC_EINVAL);
    o.hour = 7;
    o.escalate_after_days = -1;
    assert_int_equal(ehc_alert_options_check(&o), EHC_EINVAL);
}

static void test_escalation_landing_on_the_overdue_day_is_one_escalated_alert(void **state)
{
    /* due Friday 13 March; overdue Monday 16 March; 1 day: 13 + 2 = Sunday 15 -> Monday 16 */
    ehc_alert_options o = opts;
    o.escalate_after_days = 1;
    ehc_deadline_instance in = instance("decision_due", "2026-03-13");
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &o, &s), 0);
    assert_int_equal(s.count, 4);
    expect(&s.items[3], "escalated", "2026-03-16", 7, OFFICER | MANAGER | SERVICE);
}

static void test_next_alert_after_an_instant(void **state)
{
    ehc_deadline_instance in = instance("decision_due", "2026-02-16");
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), 0);
    ehc_instant next;
    const char *level;
    assert_int_equal(ehc_alerts_next(&s, (ehc_instant){utc("2026-01-05", 12)}, &next, &level), 0);
    assert_string_equal(level, "upcoming_10");
    assert_int_equal(next.us, utc("2026-02-02", 7));
    /* exactly at an instant: that one has fired, the next is a week later */
    assert_int_equal(ehc_alerts_next(&s, (ehc_instant){utc("2026-02-02", 7)}, &next, &level), 0);
    assert_string_equal(level, "upcoming_5");
    assert_int_equal(next.us, utc("2026-02-09", 7));
    assert_int_equal(ehc_alerts_next(&s, (ehc_instant){utc("2026-02-27", 7)}, &next, &level), EHC_ENOENT);
}

static void test_catch_up_raises_only_the_highest_level_due(void **state)
{
    ehc_deadline_instance in = instance("decision_due", "2026-02-16");
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &opts, &s), 0);
    const char *level;
    size_t skipped;
    /* down from before 2 February until noon on 17 February: overdue only, three skipped */
    assert_int_equal(ehc_alerts_due_now(&s, (ehc_instant){utc("2026-02-17", 12)}, NULL, &level, &skipped), 0);
    assert_string_equal(level, "overdue");
    assert_int_equal(skipped, 3);
    /* upcoming_10 fired; back on 10 February: upcoming_5, nothing skipped */
    assert_int_equal(
        ehc_alerts_due_now(&s, (ehc_instant){utc("2026-02-10", 8)}, "upcoming_10", &level, &skipped), 0);
    assert_string_equal(level, "upcoming_5");
    assert_int_equal(skipped, 0);
    /* upcoming_5 fired; on 12 February nothing more is due */
    assert_int_equal(
        ehc_alerts_due_now(&s, (ehc_instant){utc("2026-02-12", 8)}, "upcoming_5", &level, &skipped),
        EHC_ENOENT);
    /* one microsecond before 07:00 on the due day: not yet */
    assert_int_equal(
        ehc_alerts_due_now(&s, (ehc_instant){utc("2026-02-16", 7) - 1}, "upcoming_5", &level, NULL),
        EHC_ENOENT);
    assert_int_equal(ehc_alerts_due_now(&s, (ehc_instant){utc("2026-02-16", 7)}, "upcoming_5", &level, NULL),
                     0);
    assert_string_equal(level, "due");
    /* after the last level fired, nothing is ever due again */
    assert_int_equal(ehc_alerts_due_now(&s, (ehc_instant){utc("2026-12-01", 7)}, "escalated", &level, NULL),
                     EHC_ENOENT);
}

static void test_schedule_as_stored_json(void **state)
{
    ehc_deadline_instance in = instance("final_plan_due", "2026-05-25");
    ehc_alert_options o = opts;
    o.escalate_after_days = 0;
    ehc_alert_schedule s;
    assert_int_equal(ehc_alerts_schedule(&env, &in, &o, &s), 0);
    char *json = ehc_alerts_schedule_json(&s);
    assert_string_equal(
        json,
        "[{\"level\":\"upcoming_10\",\"on\":\"2026-05-11\",\"at_us\":1778479200000000,\"to\":[\"officer\"]},"
        "{\"level\":\"due\",\"on\":\"2026-05-22\",\"at_us\":1779429600000000,\"to\":[\"officer\",\"manager\"]"
        "},"
        "{\"level\":\"overdue\",\"on\":\"2026-05-26\",\"at_us\":1779775200000000,\"to\":[\"officer\","
        "\"manager\"]}]");
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_six_week_decision_of_a_request_received_5_january_2026),
        cmocka_unit_test(test_due_on_the_spring_bank_holiday_fires_the_working_day_before_in_summer_time),
        cmocka_unit_test(test_escalation_past_the_calendars_end_leaves_the_other_alerts_planned),
        cmocka_unit_test(test_a_june_deadline_fires_at_six_utc),
        cmocka_unit_test(test_due_on_a_saturday_fires_friday_and_overdue_monday),
        cmocka_unit_test(test_schedule_across_the_clock_change_and_easter),
        cmocka_unit_test(test_only_the_twenty_week_final_plan_tells_the_manager_at_due),
        cmocka_unit_test(test_a_settled_deadline_has_no_alerts),
        cmocka_unit_test(test_no_escalation_when_turned_off_and_local_hour_is_configurable),
        cmocka_unit_test(test_escalation_landing_on_the_overdue_day_is_one_escalated_alert),
        cmocka_unit_test(test_next_alert_after_an_instant),
        cmocka_unit_test(test_catch_up_raises_only_the_highest_level_due),
        cmocka_unit_test(test_schedule_as_stored_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
