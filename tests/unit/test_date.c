/* Unit tests of engine/date.c: the statutory counting rules (calendar weeks, months, "period of N
 * months starting with", "before"), strict ISO dates, and Europe/London fire instants. Expected
 * dates are literals read from the law and a calendar, never computed by the code under test; the
 * London rule is also cross-checked day by day against the system tz database (test only). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ehc/date.h"

/* --- helpers ----------------------------------------------------------------------------------- */

static ehc_date ymd(int y, int m, int d)
{
    ehc_date out = {0};
    if (ehc_date_from_ymd(y, m, d, &out) != 0) {
        print_error("test bug: %04d-%02d-%02d is not a valid date\n", y, m, d);
        fail();
    }
    return out;
}

#define assert_date_equal(actual, y, m, d)                                                                   \
    do {                                                                                                     \
        char got_[EHC_DATE_ISO_SIZE], want_[32];                                                             \
        ehc_date_format_iso((actual), got_);                                                                 \
        snprintf(want_, sizeof want_, "%04d-%02d-%02d", (y), (m), (d));                                      \
        assert_string_equal(got_, want_);                                                                    \
    } while (0)

/* Microseconds of a UTC wall time, computed by the C library, not by the code under test. */
static int64_t utc_us(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm) * EHC_US_PER_SECOND;
}

/* --- statutory clocks from a request ------------------------------------------------------------- */

/* Reg 5(1): decision within 6 weeks of receiving the request (received Monday 5 January 2026). */
static void test_decision_due_6_weeks_after_request(void **state)
{
    (void)state;
    ehc_date due;
    assert_int_equal(ehc_date_add_weeks(ymd(2026, 1, 5), 6, &due), 0);
    assert_date_equal(due, 2026, 2, 16);
    assert_int_equal(ehc_date_weekday(due), 1);
}

/* Reg 10(1): notice that no plan will be made within 16 weeks. */
static void test_no_plan_notice_due_16_weeks_after_request(void **state)
{
    (void)state;
    ehc_date due;
    assert_int_equal(ehc_date_add_weeks(ymd(2026, 1, 5), 16, &due), 0);
    assert_date_equal(due, 2026, 4, 27);
}

/* Reg 13(2): final plan within 20 weeks; 25 May 2026 is the spring bank holiday and the date stands
 * (test_calendar.c checks that the calendar says it is not a working day). */
static void test_final_plan_due_20_weeks_after_request(void **state)
{
    (void)state;
    ehc_date due;
    assert_int_equal(ehc_date_add_weeks(ymd(2026, 1, 5), 20, &due), 0);
    assert_date_equal(due, 2026, 5, 25);
    assert_int_equal(ehc_date_add_days(ymd(2026, 1, 5), 140, &due), 0);
    assert_date_equal(due, 2026, 5, 25);
}

static void test_weeks_keep_the_weekday_and_may_go_back(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_add_weeks(ymd(2026, 12, 17), 2, &d), 0);
    assert_date_equal(d, 2026, 12, 31);
    assert_int_equal(ehc_date_add_weeks(ymd(2026, 12, 24), 1, &d), 0);
    assert_date_equal(d, 2026, 12, 31);
    assert_int_equal(ehc_date_add_weeks(ymd(2026, 2, 16), -6, &d), 0);
    assert_date_equal(d, 2026, 1, 5);
    assert_int_equal(ehc_date_add_weeks(ymd(2028, 2, 22), 1, &d), 0);
    assert_date_equal(d, 2028, 2, 29);
}

/* --- construction and validation ----------------------------------------------------------------- */

static void test_impossible_dates_are_refused(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_from_ymd(2026, 2, 29, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2027, 2, 29, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2100, 2, 29, &d), EHC_EINVAL); /* 2100 is not a leap year */
    assert_int_equal(ehc_date_from_ymd(1900, 2, 29, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2026, 2, 30, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2026, 4, 31, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2026, 6, 31, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2026, 9, 31, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2026, 11, 31, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2026, 13, 1, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2026, 0, 1, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2026, 1, 0, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2026, 1, 32, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_from_ymd(2026, -1, 1, &d), EHC_EINVAL);
}

static void test_leap_years_follow_the_gregorian_rule(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_from_ymd(2028, 2, 29, &d), 0);
    assert_int_equal(ehc_date_from_ymd(2000, 2, 29, &d), 0);
    assert_int_equal(ehc_date_from_ymd(2024, 2, 29, &d), 0);
    assert_true(ehc_date_is_leap_year(2028));
    assert_true(ehc_date_is_leap_year(2000));
    assert_false(ehc_date_is_leap_year(2100));
    assert_false(ehc_date_is_leap_year(1900));
    assert_false(ehc_date_is_leap_year(2026));
    assert_int_equal(ehc_date_days_in_month(2028, 2), 29);
    assert_int_equal(ehc_date_days_in_month(2100, 2), 28);
    assert_int_equal(ehc_date_days_in_month(2026, 4), 30);
    assert_int_equal(ehc_date_days_in_month(2026, 12), 31);
    assert_int_equal(ehc_date_days_in_month(2026, 13), 0);
}

static void test_years_outside_1900_to_2199_are_out_of_range(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_from_ymd(1899, 12, 31, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_from_ymd(2200, 1, 1, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_from_ymd(1900, 1, 1, &d), 0);
    assert_int_equal(d.days, -25567);
    assert_int_equal(ehc_date_from_ymd(2199, 12, 31, &d), 0);
    assert_true(ehc_date_is_valid(d));
    d.days++;
    assert_false(ehc_date_is_valid(d));
}

static void test_epoch_is_day_zero(void **state)
{
    (void)state;
    assert_int_equal(ymd(1970, 1, 1).days, 0);
    assert_int_equal(ymd(1970, 1, 2).days, 1);
    assert_int_equal(ymd(1969, 12, 31).days, -1);
    assert_int_equal(ymd(2026, 1, 5).days, 20458);
}

/* Every day of the supported range against the C library's own UTC calendar. */
static void test_every_supported_day_matches_the_c_library_calendar(void **state)
{
    (void)state;
    int32_t expected_days = -25567;
    for (int y = 1900; y <= 2199; y++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= 31; d++) {
                struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
                const time_t t = timegm(&tm);
                struct tm back;
                gmtime_r(&t, &back);
                const int exists = back.tm_mday == d && back.tm_mon == m - 1;
                ehc_date date;
                const int rc = ehc_date_from_ymd(y, m, d, &date);
                if (!exists) {
                    assert_int_equal(rc, EHC_EINVAL);
                    continue;
                }
                assert_int_equal(rc, 0);
                assert_int_equal(date.days, expected_days);
                assert_int_equal((int64_t)date.days, (int64_t)(t / 86400));
                assert_int_equal(ehc_date_weekday(date), back.tm_wday == 0 ? 7 : back.tm_wday);
                int yy, mm, dd;
                ehc_date_to_ymd(date, &yy, &mm, &dd);
                assert_int_equal(yy, y);
                assert_int_equal(mm, m);
                assert_int_equal(dd, d);
                expected_days++;
            }
        }
    }
    assert_int_equal(expected_days, 84006);
}

static void test_weekday_is_iso_monday_one_to_sunday_seven(void **state)
{
    (void)state;
    assert_int_equal(ehc_date_weekday(ymd(1970, 1, 1)), 4);
    assert_int_equal(ehc_date_weekday(ymd(1900, 1, 1)), 1);
    assert_int_equal(ehc_date_weekday(ymd(2026, 1, 5)), 1);
    assert_int_equal(ehc_date_weekday(ymd(2026, 12, 25)), 5);
    assert_int_equal(ehc_date_weekday(ymd(2026, 12, 26)), 6);
    assert_int_equal(ehc_date_weekday(ymd(2026, 12, 27)), 7);
    assert_int_equal(ehc_date_weekday(ymd(2199, 12, 31)), 2);
}

static void test_compare_and_days_between(void **state)
{
    (void)state;
    assert_int_equal(ehc_date_compare(ymd(2026, 1, 5), ymd(2026, 1, 6)), -1);
    assert_int_equal(ehc_date_compare(ymd(2026, 1, 6), ymd(2026, 1, 5)), 1);
    assert_int_equal(ehc_date_compare(ymd(2026, 1, 5), ymd(2026, 1, 5)), 0);
    assert_int_equal(ehc_date_days_between(ymd(2026, 1, 5), ymd(2026, 5, 25)), 140);
    assert_int_equal(ehc_date_days_between(ymd(2026, 5, 25), ymd(2026, 1, 5)), -140);
    assert_int_equal(ehc_date_days_between(ymd(2028, 1, 1), ymd(2029, 1, 1)), 366);
}

/* --- ISO 8601 ------------------------------------------------------------------------------------ */

static void test_iso_parse_accepts_only_yyyy_mm_dd(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_parse_iso("2026-01-05", &d), 0);
    assert_date_equal(d, 2026, 1, 5);
    assert_int_equal(ehc_date_parse_iso("2028-02-29", &d), 0);
    assert_date_equal(d, 2028, 2, 29);

    static const char *const refused[] = {
        "2026-1-5",         "2026-01-5",   "2026-1-05",   "2026-01-05 ", " 2026-01-05",
        "2026-01-05T00:00", "2026-01-05Z", "2026/01/05",  "20260105",    "",
        "26-01-05",         "+2026-01-05", "2026-01-0a",  "2026-0x-05",  "2026 01 05",
        "2026--01-05",      "02026-01-05", "2026-01-055", "05-01-2026",  "2026-01-05\n",
        "-026-01-05",       "2026-02-30",  "2026-02-29",  "2100-02-29",  "2026-13-01",
        "2026-00-10",       "2026-04-31",  "2026-01-00",  "abcd-ef-gh",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const int rc = ehc_date_parse_iso(refused[i], &d);
        if (rc != EHC_EINVAL) print_error("accepted or misjudged: \"%s\" (rc %d)\n", refused[i], rc);
        assert_int_equal(rc, EHC_EINVAL);
    }
    assert_int_equal(ehc_date_parse_iso(NULL, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_parse_iso("1899-12-31", &d), EHC_ERANGE);
    assert_int_equal(ehc_date_parse_iso("2200-01-01", &d), EHC_ERANGE);
    assert_int_equal(ehc_date_parse_iso("0000-01-01", &d), EHC_ERANGE);
}

static void test_iso_parse_n_reads_exactly_len_bytes(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_parse_iso_n("2026-01-05/rest", 10, &d), 0);
    assert_date_equal(d, 2026, 1, 5);
    assert_int_equal(ehc_date_parse_iso_n("2026-01-05", 9, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_parse_iso_n("2026-01-05x", 11, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_parse_iso_n("2026-01-0\0", 10, &d), EHC_EINVAL);
}

static void test_iso_format_round_trips(void **state)
{
    (void)state;
    char out[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(ymd(2026, 1, 5), out);
    assert_string_equal(out, "2026-01-05");
    ehc_date_format_iso(ymd(1900, 1, 1), out);
    assert_string_equal(out, "1900-01-01");
    ehc_date_format_iso(ymd(2199, 12, 31), out);
    assert_string_equal(out, "2199-12-31");
    ehc_date_format_iso((ehc_date){INT32_MAX}, out);
    assert_string_equal(out, "0000-00-00");
    ehc_date back;
    assert_int_equal(ehc_date_parse_iso("2028-02-29", &back), 0);
    ehc_date_format_iso(back, out);
    assert_string_equal(out, "2028-02-29");
}

/* --- day and month arithmetic --------------------------------------------------------------------- */

static void test_days_cross_month_year_and_leap_day(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_add_days(ymd(2026, 12, 31), 1, &d), 0);
    assert_date_equal(d, 2027, 1, 1);
    assert_int_equal(ehc_date_add_days(ymd(2028, 2, 28), 1, &d), 0);
    assert_date_equal(d, 2028, 2, 29);
    assert_int_equal(ehc_date_add_days(ymd(2100, 2, 28), 1, &d), 0);
    assert_date_equal(d, 2100, 3, 1);
    assert_int_equal(ehc_date_add_days(ymd(2026, 3, 1), -1, &d), 0);
    assert_date_equal(d, 2026, 2, 28);
    assert_int_equal(ehc_date_add_days(ymd(2026, 1, 1), 365, &d), 0);
    assert_date_equal(d, 2027, 1, 1);
    assert_int_equal(ehc_date_add_days(ymd(2028, 1, 1), 365, &d), 0);
    assert_date_equal(d, 2028, 12, 31);
}

static void test_arithmetic_past_the_supported_years_is_out_of_range(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_add_days(ymd(2199, 12, 31), 1, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_add_days(ymd(1900, 1, 1), -1, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_add_days(ymd(2026, 1, 1), INT32_MAX, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_add_days(ymd(2026, 1, 1), INT32_MIN, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_add_weeks(ymd(2026, 1, 1), INT32_MAX, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_add_months(ymd(2199, 12, 1), 1, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_add_months(ymd(1900, 1, 31), -1, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_add_months(ymd(2026, 1, 1), INT32_MAX, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_add_years(ymd(2026, 1, 1), INT32_MIN, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_add_days((ehc_date){INT32_MAX}, 0, &d), EHC_ERANGE);
    assert_int_equal(ehc_date_add_months(ymd(2199, 11, 30), 1, &d), 0);
    assert_date_equal(d, 2199, 12, 30);
}

static void test_months_clamp_to_the_end_of_a_shorter_month(void **state)
{
    (void)state;
    ehc_date d;
    /* "2 months after 31 December 2025" */
    assert_int_equal(ehc_date_add_months(ymd(2025, 12, 31), 2, &d), 0);
    assert_date_equal(d, 2026, 2, 28);
    assert_int_equal(ehc_date_add_months(ymd(2027, 12, 31), 2, &d), 0);
    assert_date_equal(d, 2028, 2, 29);
    assert_int_equal(ehc_date_add_months(ymd(2099, 12, 31), 2, &d), 0);
    assert_date_equal(d, 2100, 2, 28);
    assert_int_equal(ehc_date_add_months(ymd(2026, 1, 31), 1, &d), 0);
    assert_date_equal(d, 2026, 2, 28);
    assert_int_equal(ehc_date_add_months(ymd(2026, 3, 31), 1, &d), 0);
    assert_date_equal(d, 2026, 4, 30);
    assert_int_equal(ehc_date_add_months(ymd(2026, 11, 15), 3, &d), 0);
    assert_date_equal(d, 2027, 2, 15);
    assert_int_equal(ehc_date_add_months(ymd(2026, 3, 31), -1, &d), 0);
    assert_date_equal(d, 2026, 2, 28);
    assert_int_equal(ehc_date_add_months(ymd(2026, 1, 15), -1, &d), 0);
    assert_date_equal(d, 2025, 12, 15);
    assert_int_equal(ehc_date_add_months(ymd(2026, 5, 20), 0, &d), 0);
    assert_date_equal(d, 2026, 5, 20);
    assert_int_equal(ehc_date_add_months(ymd(2026, 5, 20), 24, &d), 0);
    assert_date_equal(d, 2028, 5, 20);
}

static void test_years_from_29_february_land_on_28_february(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_add_years(ymd(2028, 2, 29), 1, &d), 0);
    assert_date_equal(d, 2029, 2, 28);
    assert_int_equal(ehc_date_add_years(ymd(2028, 2, 29), 4, &d), 0);
    assert_date_equal(d, 2032, 2, 29);
    assert_int_equal(ehc_date_add_years(ymd(2096, 2, 29), 4, &d), 0);
    assert_date_equal(d, 2100, 2, 28);
    assert_int_equal(ehc_date_add_years(ymd(2028, 2, 29), -1, &d), 0);
    assert_date_equal(d, 2027, 2, 28);
    assert_int_equal(ehc_date_add_years(ymd(2026, 12, 31), 1, &d), 0);
    assert_date_equal(d, 2027, 12, 31);
}

/* CFA 2014 s44(1): review "within ... the period of 12 months starting with the date on which the
 * plan was made"; the corresponding-date rule (Dodds v Walker) with month-end exception. */
static void test_review_period_of_12_months_starting_with_plan_date(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 5, 20), 12, &d), 0);
    assert_date_equal(d, 2027, 5, 19);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2028, 2, 29), 12, &d), 0);
    assert_date_equal(d, 2029, 2, 28);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 1, 1), 12, &d), 0);
    assert_date_equal(d, 2026, 12, 31);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 3, 1), 12, &d), 0);
    assert_date_equal(d, 2027, 2, 28);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2027, 3, 1), 12, &d), 0);
    assert_date_equal(d, 2028, 2, 29);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2027, 2, 28), 12, &d), 0);
    assert_date_equal(d, 2028, 2, 27);
}

static void test_period_of_months_without_corresponding_date_ends_on_month_end(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 1, 31), 1, &d), 0);
    assert_date_equal(d, 2026, 2, 28);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 1, 30), 1, &d), 0);
    assert_date_equal(d, 2026, 2, 28);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 1, 29), 1, &d), 0);
    assert_date_equal(d, 2026, 2, 28);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 1, 28), 1, &d), 0);
    assert_date_equal(d, 2026, 2, 27);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2028, 1, 30), 1, &d), 0);
    assert_date_equal(d, 2028, 2, 29);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2028, 1, 29), 1, &d), 0);
    assert_date_equal(d, 2028, 2, 28);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 3, 31), 1, &d), 0);
    assert_date_equal(d, 2026, 4, 30);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 4, 30), 1, &d), 0);
    assert_date_equal(d, 2026, 5, 29);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 8, 31), 6, &d), 0);
    assert_date_equal(d, 2027, 2, 28);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 12, 31), 2, &d), 0);
    assert_date_equal(d, 2027, 2, 28);
}

static void test_period_of_months_needs_at_least_one_month(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 5, 20), 0, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2026, 5, 20), -12, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_period_months_last_day(ymd(2199, 6, 1), 12, &d), EHC_ERANGE);
}

/* Reg 18: "before 15 February" and "before 31 March" of the transfer year. */
static void test_before_a_date_ends_the_day_before(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_before_last_day(ymd(2027, 2, 15), &d), 0);
    assert_date_equal(d, 2027, 2, 14);
    assert_int_equal(ehc_date_before_last_day(ymd(2027, 3, 31), &d), 0);
    assert_date_equal(d, 2027, 3, 30);
    assert_int_equal(ehc_date_before_last_day(ymd(2028, 3, 1), &d), 0);
    assert_date_equal(d, 2028, 2, 29);
    assert_int_equal(ehc_date_before_last_day(ymd(2027, 1, 1), &d), 0);
    assert_date_equal(d, 2026, 12, 31);
    assert_int_equal(ehc_date_before_last_day(ymd(1900, 1, 1), &d), EHC_ERANGE);
}

static void test_fixed_date_of_the_year(void **state)
{
    (void)state;
    ehc_date d;
    assert_int_equal(ehc_date_of_year(2027, 2, 15, &d), 0);
    assert_date_equal(d, 2027, 2, 15);
    assert_int_equal(ehc_date_of_year(2027, 2, 29, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_of_year(2200, 2, 15, &d), EHC_ERANGE);

    assert_int_equal(ehc_date_next_of_year(ymd(2026, 2, 15), 2, 15, &d), 0);
    assert_date_equal(d, 2026, 2, 15);
    assert_int_equal(ehc_date_next_of_year(ymd(2026, 2, 16), 2, 15, &d), 0);
    assert_date_equal(d, 2027, 2, 15);
    assert_int_equal(ehc_date_next_of_year(ymd(2026, 9, 1), 3, 31, &d), 0);
    assert_date_equal(d, 2027, 3, 31);
    assert_int_equal(ehc_date_next_of_year(ymd(2025, 3, 1), 2, 29, &d), 0);
    assert_date_equal(d, 2028, 2, 29);
    assert_int_equal(ehc_date_next_of_year(ymd(2096, 3, 1), 2, 29, &d), 0);
    assert_date_equal(d, 2104, 2, 29);
    assert_int_equal(ehc_date_next_of_year(ymd(2026, 1, 1), 2, 30, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_next_of_year(ymd(2026, 1, 1), 13, 1, &d), EHC_EINVAL);
    assert_int_equal(ehc_date_next_of_year(ymd(2199, 3, 1), 2, 15, &d), EHC_ERANGE);
}

/* --- Europe/London --------------------------------------------------------------------------------- */

static void assert_fire_at(ehc_date on, int hour, int minute, int64_t expected_us)
{
    ehc_instant at;
    assert_int_equal(ehc_date_fire_instant(on, hour, minute, &at), 0);
    assert_int_equal(at.us, expected_us);
}

/* 2026: BST starts at 01:00 UTC on Sunday 29 March and ends at 01:00 UTC on Sunday 25 October. */
static void test_default_0700_alert_across_the_2026_spring_change(void **state)
{
    (void)state;
    assert_fire_at(ymd(2026, 3, 28), 7, 0, utc_us(2026, 3, 28, 7, 0));
    assert_fire_at(ymd(2026, 3, 29), 7, 0, utc_us(2026, 3, 29, 6, 0));
    assert_fire_at(ymd(2026, 3, 30), 7, 0, utc_us(2026, 3, 30, 6, 0));
}

static void test_default_0700_alert_across_the_2026_autumn_change(void **state)
{
    (void)state;
    assert_fire_at(ymd(2026, 10, 24), 7, 0, utc_us(2026, 10, 24, 6, 0));
    assert_fire_at(ymd(2026, 10, 25), 7, 0, utc_us(2026, 10, 25, 7, 0));
    assert_fire_at(ymd(2026, 10, 26), 7, 0, utc_us(2026, 10, 26, 7, 0));
}

/* 01:00-01:59 on 29 March 2026 never shows on a London clock: read with the GMT offset in force
 * before the gap, so it fires just after the change (01:30 -> 01:30Z = 02:30 BST). */
static void test_spring_gap_time_fires_as_if_the_clock_had_moved(void **state)
{
    (void)state;
    const ehc_date on = ymd(2026, 3, 29);
    assert_fire_at(on, 0, 59, utc_us(2026, 3, 29, 0, 59));
    assert_fire_at(on, 1, 0, utc_us(2026, 3, 29, 1, 0));
    assert_fire_at(on, 1, 30, utc_us(2026, 3, 29, 1, 30));
    assert_fire_at(on, 1, 59, utc_us(2026, 3, 29, 1, 59));
    assert_fire_at(on, 2, 0, utc_us(2026, 3, 29, 1, 0));
    assert_fire_at(on, 2, 30, utc_us(2026, 3, 29, 1, 30));
    assert_fire_at(on, 23, 59, utc_us(2026, 3, 29, 22, 59));
}

/* 01:00-01:59 on 25 October 2026 happens twice: the first (BST) occurrence is taken. */
static void test_autumn_repeated_time_takes_the_first_occurrence(void **state)
{
    (void)state;
    const ehc_date on = ymd(2026, 10, 25);
    assert_fire_at(on, 0, 0, utc_us(2026, 10, 24, 23, 0));
    assert_fire_at(on, 0, 59, utc_us(2026, 10, 24, 23, 59));
    assert_fire_at(on, 1, 0, utc_us(2026, 10, 25, 0, 0));
    assert_fire_at(on, 1, 30, utc_us(2026, 10, 25, 0, 30));
    assert_fire_at(on, 1, 59, utc_us(2026, 10, 25, 0, 59));
    assert_fire_at(on, 2, 0, utc_us(2026, 10, 25, 2, 0));
    assert_fire_at(on, 23, 59, utc_us(2026, 10, 25, 23, 59));
}

static void test_fire_instant_refuses_bad_times_and_years_before_1996(void **state)
{
    (void)state;
    ehc_instant at;
    assert_int_equal(ehc_date_fire_instant(ymd(2026, 1, 5), 24, 0, &at), EHC_EINVAL);
    assert_int_equal(ehc_date_fire_instant(ymd(2026, 1, 5), -1, 0, &at), EHC_EINVAL);
    assert_int_equal(ehc_date_fire_instant(ymd(2026, 1, 5), 7, 60, &at), EHC_EINVAL);
    assert_int_equal(ehc_date_fire_instant(ymd(2026, 1, 5), 7, -1, &at), EHC_EINVAL);
    assert_int_equal(ehc_date_fire_instant(ymd(1995, 12, 31), 7, 0, &at), EHC_ERANGE);
    assert_int_equal(ehc_date_fire_instant((ehc_date){INT32_MAX}, 7, 0, &at), EHC_ERANGE);
    assert_int_equal(ehc_date_fire_instant(ymd(1996, 1, 1), 0, 0, &at), 0);
    assert_int_equal(at.us, utc_us(1996, 1, 1, 0, 0));
    assert_int_equal(ehc_date_fire_instant(ymd(2199, 12, 31), 23, 59, &at), 0);
    assert_int_equal(at.us, utc_us(2199, 12, 31, 23, 59));
}

static void assert_london_date_of(int64_t us, int y, int m, int d, int32_t offset)
{
    ehc_date on;
    assert_int_equal(ehc_date_of_instant((ehc_instant){us}, &on), 0);
    assert_date_equal(on, y, m, d);
    int32_t got;
    assert_int_equal(ehc_date_london_utc_offset((ehc_instant){us}, &got), 0);
    assert_int_equal(got, offset);
}

static void test_london_date_of_an_instant(void **state)
{
    (void)state;
    assert_london_date_of(utc_us(2026, 3, 28, 23, 30), 2026, 3, 28, 0);
    assert_london_date_of(utc_us(2026, 3, 29, 0, 59), 2026, 3, 29, 0);
    assert_london_date_of(utc_us(2026, 3, 29, 1, 0), 2026, 3, 29, 3600);
    assert_london_date_of(utc_us(2026, 3, 29, 1, 0) - 1, 2026, 3, 29, 0);
    assert_london_date_of(utc_us(2026, 6, 30, 23, 30), 2026, 7, 1, 3600);
    assert_london_date_of(utc_us(2026, 6, 30, 22, 59), 2026, 6, 30, 3600);
    assert_london_date_of(utc_us(2026, 10, 24, 23, 30), 2026, 10, 25, 3600);
    assert_london_date_of(utc_us(2026, 10, 25, 0, 59), 2026, 10, 25, 3600);
    assert_london_date_of(utc_us(2026, 10, 25, 1, 0) - 1, 2026, 10, 25, 3600);
    assert_london_date_of(utc_us(2026, 10, 25, 1, 0), 2026, 10, 25, 0);
    assert_london_date_of(utc_us(2026, 10, 25, 23, 59), 2026, 10, 25, 0);
    assert_london_date_of(utc_us(2026, 12, 31, 23, 59), 2026, 12, 31, 0);
    assert_london_date_of(utc_us(1996, 1, 1, 0, 0), 1996, 1, 1, 0);
    assert_london_date_of(utc_us(2199, 12, 31, 23, 59), 2199, 12, 31, 0);

    ehc_date on;
    int32_t offset;
    assert_int_equal(ehc_date_of_instant((ehc_instant){utc_us(1996, 1, 1, 0, 0) - 1}, &on), EHC_ERANGE);
    assert_int_equal(ehc_date_of_instant((ehc_instant){utc_us(2200, 1, 1, 0, 0)}, &on), EHC_ERANGE);
    assert_int_equal(ehc_date_of_instant((ehc_instant){INT64_MIN}, &on), EHC_ERANGE);
    assert_int_equal(ehc_date_of_instant((ehc_instant){INT64_MAX}, &on), EHC_ERANGE);
    assert_int_equal(ehc_date_london_utc_offset((ehc_instant){-1}, &offset), EHC_ERANGE);
}

/* --- independent cross-check against the system tz database (test only) ------------------------------ */

static void require_london_tzdata(void)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/Europe/London", dir && *dir ? dir : "/usr/share/zoneinfo");
    if (access(path, R_OK) != 0) {
        print_error("the tz database is missing (%s: %s): install the Debian package tzdata; this "
                    "cross-check must not be skipped\n",
                    path, strerror(errno));
        fail();
    }
    if (setenv("TZ", "Europe/London", 1) != 0) fail();
    tzset();
    /* glibc falls back to UTC silently on a broken zone file: prove it is really loaded. */
    const time_t midsummer = (time_t)(utc_us(2026, 7, 1, 12, 0) / EHC_US_PER_SECOND);
    struct tm tm;
    localtime_r(&midsummer, &tm);
    if (tm.tm_gmtoff != 3600) {
        print_error("TZ=Europe/London did not load from %s (offset %ld in July): fix tzdata\n", path,
                    (long)tm.tm_gmtoff);
        fail();
    }
}

static int same_wall_time(const struct tm *tm, int y, int m, int d, int hour, int minute)
{
    return tm->tm_year == y - 1900 && tm->tm_mon == m - 1 && tm->tm_mday == d && tm->tm_hour == hour &&
           tm->tm_min == minute;
}

typedef struct tz_tally {
    int gaps;
    int repeats;
} tz_tally;

/* One day and local time: our instant against what the tz database says about it. */
static void cross_check_local_time(ehc_date on, int hour, int minute, tz_tally *tally)
{
    int y, m, d;
    ehc_date_to_ymd(on, &y, &m, &d);
    ehc_instant at;
    assert_int_equal(ehc_date_fire_instant(on, hour, minute, &at), 0);
    assert_int_equal(at.us % EHC_US_PER_SECOND, 0);
    const time_t t = (time_t)(at.us / EHC_US_PER_SECOND);
    int32_t offset;
    assert_int_equal(ehc_date_london_utc_offset(at, &offset), 0);

    struct tm here, hour_before, hour_after;
    localtime_r(&t, &here);
    const time_t before = t - 3600, after = t + 3600;
    localtime_r(&before, &hour_before);
    localtime_r(&after, &hour_after);
    assert_int_equal((long)offset, (long)here.tm_gmtoff);

    if (same_wall_time(&here, y, m, d, hour, minute)) {
        /* The time exists; ours must be its first occurrence (a repeat is exactly an hour later). */
        assert_false(same_wall_time(&hour_before, y, m, d, hour, minute));
        struct tm ask = {
            .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = hour, .tm_min = minute};
        if (same_wall_time(&hour_after, y, m, d, hour, minute)) {
            tally->repeats++;
            ask.tm_isdst = 1;
            assert_int_equal(here.tm_isdst, 1);
        } else {
            ask.tm_isdst = -1;
        }
        assert_int_equal((int64_t)mktime(&ask), (int64_t)t);
        return;
    }
    /* The time does not exist: it must be the spring gap, and ours lands an hour later on the clock,
     * just after the change, with the wall clock an hour earlier still on GMT. */
    tally->gaps++;
    assert_true(same_wall_time(&here, y, m, d, hour + 1, minute));
    assert_int_equal(here.tm_gmtoff, 3600);
    assert_true(same_wall_time(&hour_before, y, m, d, hour - 1, minute));
    assert_int_equal(hour_before.tm_gmtoff, 0);
}

/* The date and offset of instants around both ends of each day and both change hours (01:00-02:00
 * UTC) against localtime_r. */
static void cross_check_date_of_instant(ehc_date on)
{
    static const int64_t seconds_into_day[] = {
        0,
        30 * 60,
        3600 - 1,
        3600,
        3600 + 30 * 60,
        2 * 3600 - 1,
        2 * 3600,
        23 * 3600 - 1,
        23 * 3600,
        23 * 3600 + 30 * 60,
    };
    for (size_t i = 0; i < sizeof seconds_into_day / sizeof seconds_into_day[0]; i++) {
        const int64_t s = (int64_t)on.days * 86400 + seconds_into_day[i];
        const time_t t = (time_t)s;
        struct tm tm;
        localtime_r(&t, &tm);
        ehc_date got;
        assert_int_equal(ehc_date_of_instant((ehc_instant){s * EHC_US_PER_SECOND}, &got), 0);
        int32_t offset;
        assert_int_equal(ehc_date_london_utc_offset((ehc_instant){s * EHC_US_PER_SECOND}, &offset), 0);
        assert_int_equal((long)offset, (long)tm.tm_gmtoff);
        int y, m, d;
        ehc_date_to_ymd(got, &y, &m, &d);
        assert_int_equal(y, tm.tm_year + 1900);
        assert_int_equal(m, tm.tm_mon + 1);
        assert_int_equal(d, tm.tm_mday);
    }
}

static void test_london_rule_matches_tz_database_1996_to_2037(void **state)
{
    (void)state;
    require_london_tzdata();
    tz_tally at_0700 = {0, 0}, at_0130 = {0, 0};
    for (ehc_date on = ymd(1996, 1, 1); on.days <= ymd(2037, 12, 31).days; on.days++) {
        cross_check_local_time(on, 7, 0, &at_0700);
        cross_check_local_time(on, 1, 30, &at_0130);
        cross_check_date_of_instant(on);
    }
    /* One spring gap and one autumn repeat a year, 42 years, and never at 07:00. */
    assert_int_equal(at_0700.gaps, 0);
    assert_int_equal(at_0700.repeats, 0);
    assert_int_equal(at_0130.gaps, 42);
    assert_int_equal(at_0130.repeats, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_due_6_weeks_after_request),
        cmocka_unit_test(test_no_plan_notice_due_16_weeks_after_request),
        cmocka_unit_test(test_final_plan_due_20_weeks_after_request),
        cmocka_unit_test(test_weeks_keep_the_weekday_and_may_go_back),
        cmocka_unit_test(test_impossible_dates_are_refused),
        cmocka_unit_test(test_leap_years_follow_the_gregorian_rule),
        cmocka_unit_test(test_years_outside_1900_to_2199_are_out_of_range),
        cmocka_unit_test(test_epoch_is_day_zero),
        cmocka_unit_test(test_every_supported_day_matches_the_c_library_calendar),
        cmocka_unit_test(test_weekday_is_iso_monday_one_to_sunday_seven),
        cmocka_unit_test(test_compare_and_days_between),
        cmocka_unit_test(test_iso_parse_accepts_only_yyyy_mm_dd),
        cmocka_unit_test(test_iso_parse_n_reads_exactly_len_bytes),
        cmocka_unit_test(test_iso_format_round_trips),
        cmocka_unit_test(test_days_cross_month_year_and_leap_day),
        cmocka_unit_test(test_arithmetic_past_the_supported_years_is_out_of_range),
        cmocka_unit_test(test_months_clamp_to_the_end_of_a_shorter_month),
        cmocka_unit_test(test_years_from_29_february_land_on_28_february),
        cmocka_unit_test(test_review_period_of_12_months_starting_with_plan_date),
        cmocka_unit_test(test_period_of_months_without_corresponding_date_ends_on_month_end),
        cmocka_unit_test(test_period_of_months_needs_at_least_one_month),
        cmocka_unit_test(test_before_a_date_ends_the_day_before),
        cmocka_unit_test(test_fixed_date_of_the_year),
        cmocka_unit_test(test_default_0700_alert_across_the_2026_spring_change),
        cmocka_unit_test(test_default_0700_alert_across_the_2026_autumn_change),
        cmocka_unit_test(test_spring_gap_time_fires_as_if_the_clock_had_moved),
        cmocka_unit_test(test_autumn_repeated_time_takes_the_first_occurrence),
        cmocka_unit_test(test_fire_instant_refuses_bad_times_and_years_before_1996),
        cmocka_unit_test(test_london_date_of_an_instant),
        cmocka_unit_test(test_london_rule_matches_tz_database_1996_to_2037),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
