/* Unit tests of engine/calendar.c: the England and Wales bank-holiday data (cross-checked against
 * the standard rules computed here, independently of the engine), working-day queries, load
 * refusals with their JSON paths and reasons, the Reg 5(4)(a) closure window at its boundary days,
 * and loading a folder of calendars. Expected dates are literals read from a calendar. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <cJSON.h>
#include <openssl/evp.h>

#include "ehc/calendar.h"
#include "ehc/date.h"

/* --- helpers ------------------------------------------------------------------------------------ */

static const char *source_dir(void)
{
    const char *dir = getenv("EHC_SOURCE_DIR");
    if (dir && *dir) return dir;
#ifdef EHC_SOURCE_DIR
    return EHC_SOURCE_DIR;
#else
    print_error("EHC_SOURCE_DIR is not set: run through CTest or set it to the repository root\n");
    fail();
    return NULL;
#endif
}

static char *data_path(const char *relative)
{
    char *path = malloc(strlen(source_dir()) + strlen(relative) + 2);
    assert_non_null(path);
    sprintf(path, "%s/%s", source_dir(), relative);
    return path;
}

#define BANK_HOLIDAYS_FILE "workflows/calendars/england-and-wales-bank-holidays.json"
#define EXAMPLE_SETTING_FILE "workflows/calendars/settings/example-academy-trust.json"

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

static ehc_calendar *load_bank_holidays(void)
{
    char *file = data_path(BANK_HOLIDAYS_FILE);
    ehc_load_error err = {0};
    ehc_calendar *cal = NULL;
    const int rc = ehc_calendar_load_file(file, &cal, &err);
    if (rc) print_error("%s: %s: %s\n", err.file, err.path, err.reason);
    assert_int_equal(rc, 0);
    free(file);
    return cal;
}

static int setup_bank_holidays(void **state)
{
    *state = load_bank_holidays();
    return 0;
}

static int teardown_bank_holidays(void **state)
{
    ehc_calendar_free(*state);
    return 0;
}

static bool working(const ehc_calendar *cal, ehc_date d)
{
    bool out = false;
    assert_int_equal(ehc_calendar_is_working_day(cal, d, &out), 0);
    return out;
}

/* --- the England and Wales data ------------------------------------------------------------------- */

static void test_bank_holiday_file_identifies_itself(void **state)
{
    const ehc_calendar *cal = *state;
    assert_string_equal(ehc_calendar_id(cal), "england-and-wales");
    assert_string_equal(ehc_calendar_source(cal), "GOV.UK bank holidays (England and Wales)");
    assert_date_equal(ehc_calendar_covers_from(cal), 2018, 1, 1);
    assert_date_equal(ehc_calendar_covers_to(cal), 2027, 12, 31);
    size_t count;
    const ehc_holiday *list = ehc_calendar_holidays(cal, &count);
    assert_int_equal(count, 83);
    for (size_t i = 1; i < count; i++)
        assert_true(list[i - 1].on.days < list[i].on.days);
}

static void sha256_hex_of(const void *bytes, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    assert_int_equal(EVP_Digest(bytes, len, md, &md_len, EVP_sha256(), NULL), 1);
    for (unsigned int i = 0; i < md_len; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static char *read_bytes(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    char *buf = malloc(EHC_CALENDAR_MAX_FILE_BYTES);
    assert_non_null(buf);
    *len = fread(buf, 1, EHC_CALENDAR_MAX_FILE_BYTES, f);
    fclose(f);
    return buf;
}

static void test_calendar_carries_sha256_of_its_exact_bytes(void **state)
{
    const ehc_calendar *cal = *state;
    char *file = data_path(BANK_HOLIDAYS_FILE);
    size_t len;
    char *bytes = read_bytes(file, &len);
    char expected[65];
    sha256_hex_of(bytes, len, expected);
    assert_string_equal(ehc_calendar_content_hash(cal), expected);
    free(bytes);
    free(file);

    /* A known vector (sha256sum of this exact text), and one more byte of whitespace changes it. */
    static const char text[] = "{\"id\":\"t\",\"name\":\"T\",\"source\":\"S\",\"covers\":{\"from\":\"2026-01-"
                               "01\",\"to\":\"2026-12-31\"},"
                               "\"holidays\":[]}";
    ehc_calendar *small = NULL, *spaced = NULL;
    assert_int_equal(ehc_calendar_load_bytes("t.json", text, strlen(text), &small, NULL), 0);
    assert_string_equal(ehc_calendar_content_hash(small),
                        "b9912f0ab2c0a3d125dafa4a4f4e5c9aa9aded6cce8b080d246b928853a19d53");
    char with_space[sizeof text + 1];
    snprintf(with_space, sizeof with_space, "%s ", text);
    assert_int_equal(ehc_calendar_load_bytes("t.json", with_space, strlen(with_space), &spaced, NULL), 0);
    assert_string_not_equal(ehc_calendar_content_hash(small), ehc_calendar_content_hash(spaced));
    ehc_calendar_free(small);
    ehc_calendar_free(spaced);
}

/* Independent calendar arithmetic for the cross-check: days from civil via a different formula from
 * the engine's (Julian Day Number, Fliegel & Van Flandern), weekday from it. */
static long jdn(int y, int m, int d)
{
    const long a = (14 - m) / 12, yy = y + 4800 - a, mm = m + 12 * a - 3;
    return d + (153 * mm + 2) / 5 + 365 * yy + yy / 4 - yy / 100 + yy / 400 - 32045;
}

/* 1 = Monday ... 7 = Sunday */
static int weekday_of(int y, int m, int d)
{
    return (int)(jdn(y, m, d) % 7) + 1;
}

typedef struct ymd_t {
    int y, m, d;
} ymd_t;

static ymd_t from_jdn(long j)
{
    /* Richards' algorithm, inverse of jdn(). */
    const long f = j + 1401 + (((4 * j + 274277) / 146097) * 3) / 4 - 38;
    const long e = 4 * f + 3, g = (e % 1461) / 4, h = 5 * g + 2;
    ymd_t r;
    r.d = (int)((h % 153) / 5 + 1);
    r.m = (int)(((h / 153 + 2) % 12) + 1);
    r.y = (int)(e / 1461 - 4716 + (14 - r.m) / 12);
    return r;
}

/* Easter Sunday, Anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
static ymd_t easter_sunday(int y)
{
    const int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25,
              g = (b - f + 1) / 3;
    const int h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
    const int m = (a + 11 * h + 22 * l) / 451;
    return (ymd_t){y, (h + l - 7 * m + 114) / 31, ((h + l - 7 * m + 114) % 31) + 1};
}

typedef struct date_list {
    char dates[128][EHC_DATE_ISO_SIZE];
    size_t count;
} date_list;

static void list_add_jdn(date_list *list, long j)
{
    assert_true(list->count < 128);
    const ymd_t r = from_jdn(j);
    char text[32];
    snprintf(text, sizeof text, "%04d-%02d-%02d", r.y, r.m, r.d);
    assert_int_equal(strlen(text), EHC_DATE_ISO_SIZE - 1);
    memcpy(list->dates[list->count++], text, EHC_DATE_ISO_SIZE);
}

static bool list_has(const date_list *list, const char *date)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->dates[i], date) == 0) return true;
    return false;
}

static void list_remove(date_list *list, const char *date)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->dates[i], date) != 0) continue;
        memmove(list->dates[i], list->dates[list->count - 1], EHC_DATE_ISO_SIZE);
        list->count--;
        return;
    }
    print_error("test bug: %s is not in the computed list\n", date);
    fail();
}

static int compare_iso(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The standard England and Wales rules (Banking and Financial Dealings Act 1971 Sch 1 and the annual
 * proclamations), then the one-off changes announced for 2020, 2022 and 2023. */
static void standard_england_and_wales_holidays(int from_year, int to_year, date_list *out)
{
    out->count = 0;
    for (int y = from_year; y <= to_year; y++) {
        long j = jdn(y, 1, 1);
        while (j % 7 >= 5)
            j++; /* New Year's Day, or the Monday after it at a weekend */
        list_add_jdn(out, j);
        const ymd_t easter = easter_sunday(y);
        list_add_jdn(out, jdn(easter.y, easter.m, easter.d) - 2);
        list_add_jdn(out, jdn(easter.y, easter.m, easter.d) + 1);
        long first_may_monday = jdn(y, 5, 1);
        while ((first_may_monday % 7) != 0)
            first_may_monday++; /* jdn % 7 == 0 is a Monday */
        list_add_jdn(out, first_may_monday);
        long last_may_monday = jdn(y, 5, 31);
        while ((last_may_monday % 7) != 0)
            last_may_monday--;
        list_add_jdn(out, last_may_monday);
        long last_august_monday = jdn(y, 8, 31);
        while ((last_august_monday % 7) != 0)
            last_august_monday--;
        list_add_jdn(out, last_august_monday);
        /* Christmas Day and Boxing Day; one falling at a weekend moves to the next weekday not
         * already taken. */
        long taken = 0;
        for (int day = 25; day <= 26; day++) {
            long k = jdn(y, 12, day);
            while (k % 7 >= 5 || k == taken)
                k++;
            list_add_jdn(out, k);
            taken = k;
        }
    }
    list_remove(out, "2020-05-04");
    list_add_jdn(out, jdn(2020, 5, 8)); /* VE Day 75 */
    list_remove(out, "2022-05-30");
    list_add_jdn(out, jdn(2022, 6, 2));  /* spring bank holiday moved */
    list_add_jdn(out, jdn(2022, 6, 3));  /* Platinum Jubilee */
    list_add_jdn(out, jdn(2022, 9, 19)); /* State Funeral of Queen Elizabeth II */
    list_add_jdn(out, jdn(2023, 5, 8));  /* Coronation of King Charles III */
    qsort(out->dates, out->count, EHC_DATE_ISO_SIZE, compare_iso);
}

static void test_computed_rules_agree_with_known_dates(void **state)
{
    (void)state;
    /* Guard the cross-check itself with dates read off a calendar. */
    assert_int_equal(weekday_of(2026, 1, 5), 1);
    assert_int_equal(weekday_of(2026, 12, 27), 7);
    const ymd_t e2026 = easter_sunday(2026), e2027 = easter_sunday(2027), e2024 = easter_sunday(2024);
    assert_true(e2026.m == 4 && e2026.d == 5);
    assert_true(e2027.m == 3 && e2027.d == 28);
    assert_true(e2024.m == 3 && e2024.d == 31);
    date_list list;
    standard_england_and_wales_holidays(2018, 2027, &list);
    assert_true(list_has(&list, "2021-12-27") && list_has(&list, "2021-12-28"));
    assert_true(list_has(&list, "2022-12-26") && list_has(&list, "2022-12-27"));
    assert_true(list_has(&list, "2027-12-27") && list_has(&list, "2027-12-28"));
    assert_true(list_has(&list, "2022-01-03") && list_has(&list, "2023-01-02"));
    assert_true(list_has(&list, "2020-12-28") && list_has(&list, "2026-12-28"));
    assert_false(list_has(&list, "2022-05-30"));
}

static void test_bank_holiday_file_equals_the_rules_2018_to_2027(void **state)
{
    const ehc_calendar *cal = *state;
    date_list expected;
    standard_england_and_wales_holidays(2018, 2027, &expected);

    size_t count;
    const ehc_holiday *list = ehc_calendar_holidays(cal, &count);
    assert_int_equal(count, expected.count);
    for (size_t i = 0; i < count; i++) {
        char got[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(list[i].on, got);
        assert_string_equal(got, expected.dates[i]);
        assert_true(strlen(list[i].name) > 0);
    }

    /* And the raw file, read with cJSON alone, says the same. */
    char *file = data_path(BANK_HOLIDAYS_FILE);
    size_t len;
    char *bytes = read_bytes(file, &len);
    cJSON *root = cJSON_ParseWithLength(bytes, len);
    assert_non_null(root);
    const cJSON *holidays = cJSON_GetObjectItemCaseSensitive(root, "holidays");
    date_list raw = {.count = 0};
    for (const cJSON *h = holidays ? holidays->child : NULL; h; h = h->next) {
        const cJSON *date = cJSON_GetObjectItemCaseSensitive(h, "date");
        assert_true(cJSON_IsString(date) && strlen(date->valuestring) == EHC_DATE_ISO_SIZE - 1);
        assert_true(raw.count < 128);
        memcpy(raw.dates[raw.count++], date->valuestring, EHC_DATE_ISO_SIZE);
    }
    qsort(raw.dates, raw.count, EHC_DATE_ISO_SIZE, compare_iso);
    assert_int_equal(raw.count, expected.count);
    for (size_t i = 0; i < raw.count; i++)
        assert_string_equal(raw.dates[i], expected.dates[i]);
    cJSON_Delete(root);
    free(bytes);
    free(file);
}

/* --- working days ------------------------------------------------------------------------------- */

/* Request received Monday 5 January 2026: the 20-week date (Reg 13(2)) is the spring bank holiday,
 * and a calendar-week statutory date stands even so. */
static void test_final_plan_due_20_weeks_after_request_stands_on_a_bank_holiday(void **state)
{
    const ehc_calendar *cal = *state;
    ehc_date due;
    assert_int_equal(ehc_date_add_weeks(ymd(2026, 1, 5), 20, &due), 0);
    assert_date_equal(due, 2026, 5, 25);
    assert_false(working(cal, due));
    bool holiday = false;
    assert_int_equal(ehc_calendar_is_holiday(cal, due, &holiday), 0);
    assert_true(holiday);
    /* An alert for it fires on the working day before. */
    ehc_date alert_on;
    assert_int_equal(ehc_calendar_working_day_on_or_before(cal, due, &alert_on), 0);
    assert_date_equal(alert_on, 2026, 5, 22);
}

static void test_working_days_across_christmas_2026(void **state)
{
    const ehc_calendar *cal = *state;
    assert_true(working(cal, ymd(2026, 12, 24)));
    assert_false(working(cal, ymd(2026, 12, 25))); /* Christmas Day, Friday */
    assert_false(working(cal, ymd(2026, 12, 26))); /* Saturday */
    assert_false(working(cal, ymd(2026, 12, 27))); /* Sunday */
    assert_false(working(cal, ymd(2026, 12, 28))); /* Boxing Day substitute, Monday */
    assert_true(working(cal, ymd(2026, 12, 29)));
    assert_false(working(cal, ymd(2027, 1, 1)));

    ehc_date d;
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2026, 12, 24), 1, &d), 0);
    assert_date_equal(d, 2026, 12, 29);
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2026, 12, 21), 5, &d), 0);
    assert_date_equal(d, 2026, 12, 30);
    /* Reg 15: 15 working days after Monday 14 December 2026. */
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2026, 12, 14), 15, &d), 0);
    assert_date_equal(d, 2027, 1, 7);
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2026, 12, 25), 0, &d), 0);
    assert_date_equal(d, 2026, 12, 25);

    assert_int_equal(ehc_calendar_previous_working_day(cal, ymd(2026, 12, 28), &d), 0);
    assert_date_equal(d, 2026, 12, 24);
    assert_int_equal(ehc_calendar_previous_working_day(cal, ymd(2026, 12, 29), &d), 0);
    assert_date_equal(d, 2026, 12, 24);
    assert_int_equal(ehc_calendar_next_working_day(cal, ymd(2026, 12, 24), &d), 0);
    assert_date_equal(d, 2026, 12, 29);
    assert_int_equal(ehc_calendar_next_working_day(cal, ymd(2026, 12, 31), &d), 0);
    assert_date_equal(d, 2027, 1, 4);
    assert_int_equal(ehc_calendar_working_day_on_or_before(cal, ymd(2026, 12, 26), &d), 0);
    assert_date_equal(d, 2026, 12, 24);
    assert_int_equal(ehc_calendar_working_day_on_or_after(cal, ymd(2026, 12, 26), &d), 0);
    assert_date_equal(d, 2026, 12, 29);
    assert_int_equal(ehc_calendar_working_day_on_or_before(cal, ymd(2026, 12, 24), &d), 0);
    assert_date_equal(d, 2026, 12, 24);
    assert_int_equal(ehc_calendar_working_day_on_or_after(cal, ymd(2026, 12, 29), &d), 0);
    assert_date_equal(d, 2026, 12, 29);
}

static void test_working_days_across_easter_2026(void **state)
{
    const ehc_calendar *cal = *state;
    assert_true(working(cal, ymd(2026, 4, 2)));
    assert_false(working(cal, ymd(2026, 4, 3))); /* Good Friday */
    assert_false(working(cal, ymd(2026, 4, 6))); /* Easter Monday */
    assert_true(working(cal, ymd(2026, 4, 7)));

    ehc_date d;
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2026, 4, 2), 1, &d), 0);
    assert_date_equal(d, 2026, 4, 7);
    assert_int_equal(ehc_calendar_working_days_before(cal, ymd(2026, 4, 7), 1, &d), 0);
    assert_date_equal(d, 2026, 4, 2);
    /* "10 and 5 working days before" Friday 17 April 2026. */
    assert_int_equal(ehc_calendar_working_days_before(cal, ymd(2026, 4, 17), 10, &d), 0);
    assert_date_equal(d, 2026, 4, 1);
    assert_int_equal(ehc_calendar_working_days_before(cal, ymd(2026, 4, 17), 5, &d), 0);
    assert_date_equal(d, 2026, 4, 10);
}

static void test_working_days_in_the_2022_jubilee_week_and_other_one_offs(void **state)
{
    const ehc_calendar *cal = *state;
    assert_true(working(cal, ymd(2022, 5, 30))); /* the usual spring bank holiday, moved */
    assert_true(working(cal, ymd(2022, 6, 1)));
    assert_false(working(cal, ymd(2022, 6, 2)));
    assert_false(working(cal, ymd(2022, 6, 3)));
    assert_true(working(cal, ymd(2022, 6, 6)));
    ehc_date d;
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2022, 6, 1), 1, &d), 0);
    assert_date_equal(d, 2022, 6, 6);
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2022, 5, 27), 5, &d), 0);
    assert_date_equal(d, 2022, 6, 7);
    assert_false(working(cal, ymd(2022, 9, 19))); /* State Funeral */
    assert_true(working(cal, ymd(2020, 5, 4)));   /* early May moved to VE Day */
    assert_false(working(cal, ymd(2020, 5, 8)));
    assert_false(working(cal, ymd(2023, 5, 8))); /* Coronation */
    assert_false(working(cal, ymd(2023, 5, 1)));
}

static void test_working_day_questions_outside_coverage_are_out_of_range(void **state)
{
    const ehc_calendar *cal = *state;
    bool out;
    ehc_date d;
    assert_int_equal(ehc_calendar_is_working_day(cal, ymd(2017, 12, 31), &out), EHC_ERANGE);
    assert_int_equal(ehc_calendar_is_working_day(cal, ymd(2028, 1, 3), &out), EHC_ERANGE);
    assert_int_equal(ehc_calendar_is_holiday(cal, ymd(2028, 1, 3), &out), EHC_ERANGE);
    assert_int_equal(ehc_calendar_is_working_day(cal, (ehc_date){INT32_MAX}, &out), EHC_ERANGE);
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2027, 12, 29), 2, &d), 0);
    assert_date_equal(d, 2027, 12, 31);
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2027, 12, 30), 2, &d), EHC_ERANGE);
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2028, 1, 4), 0, &d), EHC_ERANGE);
    assert_int_equal(ehc_calendar_working_days_before(cal, ymd(2018, 1, 2), 1, &d), EHC_ERANGE);
    assert_int_equal(ehc_calendar_next_working_day(cal, ymd(2027, 12, 31), &d), EHC_ERANGE);
    assert_int_equal(ehc_calendar_previous_working_day(cal, ymd(2018, 1, 1), &d), EHC_ERANGE);
    assert_int_equal(ehc_calendar_working_day_on_or_after(cal, ymd(2017, 12, 31), &d), EHC_ERANGE);
    assert_int_equal(ehc_calendar_add_working_days(cal, ymd(2026, 1, 5), -1, &d), EHC_EINVAL);
    assert_int_equal(ehc_calendar_working_days_before(cal, ymd(2026, 1, 5), -1, &d), EHC_EINVAL);
}

/* --- load refusals ------------------------------------------------------------------------------- */

static void assert_refused(const char *json, int expected_rc, const char *path, const char *reason)
{
    ehc_load_error err = {0};
    ehc_calendar *cal = NULL;
    const int rc = ehc_calendar_load_bytes("bad.json", json, strlen(json), &cal, &err);
    if (rc != expected_rc || strcmp(err.path, path) != 0 || strcmp(err.reason, reason) != 0)
        print_error("rc %d, path \"%s\", reason \"%s\"\n", rc, err.path, err.reason);
    assert_int_equal(rc, expected_rc);
    assert_null(cal);
    assert_string_equal(err.file, "bad.json");
    assert_string_equal(err.path, path);
    assert_string_equal(err.reason, reason);
}

#define HEAD                                                                                                 \
    "\"id\":\"t\",\"name\":\"T\",\"source\":\"S\",\"covers\":{\"from\":\"2026-01-01\",\"to\":\"2027-12-"     \
    "31\"}"

static void test_refuses_bad_json_with_its_position(void **state)
{
    (void)state;
    assert_refused("{\"id\": \"t\",\n  \"name\": }", EHC_EINVAL, "$", "not valid JSON (line 2, column 11)");
    assert_refused("{" HEAD ",\"holidays\":[]} trailing", EHC_EINVAL, "$",
                   "not valid JSON (line 1, column 99)");
    assert_refused("", EHC_EINVAL, "$", "not valid JSON (line 1, column 1)");
    assert_refused("[]", EHC_EINVAL, "$", "must be a JSON object");
    ehc_load_error err = {0};
    ehc_calendar *cal = NULL;
    static const char with_nul[] = "{\"id\"\0:1}";
    assert_int_equal(ehc_calendar_load_bytes("bad.json", with_nul, sizeof with_nul - 1, &cal, &err),
                     EHC_EINVAL);
    assert_string_equal(err.reason, "not valid JSON: NUL byte at offset 5");
}

static void test_refuses_missing_field_naming_it(void **state)
{
    (void)state;
    assert_refused("{\"id\":\"t\",\"name\":\"T\",\"covers\":{\"from\":\"2026-01-01\",\"to\":\"2027-12-31\"},"
                   "\"holidays\":[]}",
                   EHC_EINVAL, "$.source", "required field is missing");
    assert_refused("{" HEAD "}", EHC_EINVAL, "$.holidays", "required field is missing");
    assert_refused(
        "{\"id\":\"t\",\"name\":\"T\",\"source\":\"S\",\"covers\":{\"from\":\"2026-01-01\"},\"holidays\":[]}",
        EHC_EINVAL, "$.covers.to", "required field is missing");
    assert_refused("{" HEAD ",\"holidays\":[{\"date\":\"2026-12-25\"}]}", EHC_EINVAL, "$.holidays[0].name",
                   "required field is missing");
}

static void test_refuses_ill_typed_and_unknown_fields(void **state)
{
    (void)state;
    assert_refused("{" HEAD ",\"holidays\":{}}", EHC_EINVAL, "$.holidays", "must be an array");
    assert_refused("{\"id\":\"t\",\"name\":5,\"source\":\"S\",\"covers\":{\"from\":\"2026-01-01\",\"to\":"
                   "\"2027-12-31\"},"
                   "\"holidays\":[]}",
                   EHC_EINVAL, "$.name", "must be a string");
    assert_refused("{\"id\":\"t\",\"name\":\"\",\"source\":\"S\",\"covers\":{\"from\":\"2026-01-01\",\"to\":"
                   "\"2027-12-31\"},"
                   "\"holidays\":[]}",
                   EHC_EINVAL, "$.name", "must not be empty");
    assert_refused(
        "{\"id\":\"a b\",\"name\":\"T\",\"source\":\"S\",\"covers\":{\"from\":\"2026-01-01\",\"to\":"
        "\"2027-12-31\"},\"holidays\":[]}",
        EHC_EINVAL, "$.id", "must be 1-64 characters from A-Z a-z 0-9 - _ .");
    assert_refused(
        "{\"id\":\"t\",\"name\":\"T\",\"source\":\"S\",\"covers\":{\"from\":20260101,\"to\":\"2027-12-31\"},"
        "\"holidays\":[]}",
        EHC_EINVAL, "$.covers.from", "must be a string holding a date YYYY-MM-DD");
    assert_refused("{\"id\":\"t\",\"name\":\"T\",\"source\":\"S\",\"covers\":{\"from\":\"2027-01-01\",\"to\":"
                   "\"2026-12-31\"},"
                   "\"holidays\":[]}",
                   EHC_EINVAL, "$.covers.to", "ends before $.covers.from");
    assert_refused("{" HEAD ",\"holiday\":[]}", EHC_EINVAL, "$.holiday", "unknown field");
    assert_refused("{" HEAD ",\"holidays\":[],\"name\":\"again\"}", EHC_EINVAL, "$.name",
                   "field appears more than once");
    assert_refused("{" HEAD ",\"holidays\":[\"2026-12-25\"]}", EHC_EINVAL, "$.holidays[0]",
                   "must be a JSON object");
}

static void test_refuses_a_bad_date_with_its_json_path(void **state)
{
    (void)state;
    assert_refused(
        "{" HEAD ",\"holidays\":[{\"date\":\"2026-01-01\",\"name\":\"a\"},{\"date\":\"2026-04-03\",\"name\":"
        "\"b\"},{\"date\":\"2026-04-06\",\"name\":\"c\"},{\"date\":\"2026-02-30\",\"name\":\"d\"}]}",
        EHC_EINVAL, "$.holidays[3].date", "not a date: 2026-02-30");
    assert_refused("{" HEAD ",\"holidays\":[{\"date\":\"2026-1-5\",\"name\":\"a\"}]}", EHC_EINVAL,
                   "$.holidays[0].date", "not a date: 2026-1-5");
    assert_refused("{\"id\":\"t\",\"name\":\"T\",\"source\":\"S\",\"covers\":{\"from\":\"1800-01-01\",\"to\":"
                   "\"2027-12-31\"},"
                   "\"holidays\":[]}",
                   EHC_EINVAL, "$.covers.from", "date outside the supported years 1900-2199: 1800-01-01");
}

static void test_refuses_a_holiday_outside_covers(void **state)
{
    (void)state;
    assert_refused(
        "{" HEAD ",\"holidays\":[{\"date\":\"2026-12-25\",\"name\":\"a\"},{\"date\":\"2028-01-03\",\"name\":"
        "\"b\"}]}",
        EHC_EINVAL, "$.holidays[1].date", "2028-01-03 is outside $.covers (2026-01-01 to 2027-12-31)");
    assert_refused("{" HEAD ",\"holidays\":[{\"date\":\"2025-12-25\",\"name\":\"a\"}]}", EHC_EINVAL,
                   "$.holidays[0].date", "2025-12-25 is outside $.covers (2026-01-01 to 2027-12-31)");
}

static void test_refuses_a_duplicate_holiday(void **state)
{
    (void)state;
    assert_refused(
        "{" HEAD ",\"holidays\":[{\"date\":\"2026-12-25\",\"name\":\"a\"},{\"date\":\"2026-04-03\",\"name\":"
        "\"b\"},{\"date\":\"2026-12-25\",\"name\":\"c\"}]}",
        EHC_EINVAL, "$.holidays[2].date", "2026-12-25 is listed twice: also at $.holidays[0]");
}

static void test_unsorted_holidays_are_accepted_and_sorted(void **state)
{
    (void)state;
    static const char json[] = "{" HEAD ",\"holidays\":[{\"date\":\"2026-12-25\",\"name\":\"Christmas Day\"},"
                               "{\"date\":\"2026-01-01\",\"name\":\"New Year's Day\",\"note\":\"n\"},"
                               "{\"date\":\"2026-04-03\",\"name\":\"Good Friday\"}]}";
    ehc_calendar *cal = NULL;
    assert_int_equal(ehc_calendar_load_bytes("ok.json", json, strlen(json), &cal, NULL), 0);
    size_t count;
    const ehc_holiday *list = ehc_calendar_holidays(cal, &count);
    assert_int_equal(count, 3);
    assert_date_equal(list[0].on, 2026, 1, 1);
    assert_string_equal(list[0].name, "New Year's Day");
    assert_date_equal(list[1].on, 2026, 4, 3);
    assert_date_equal(list[2].on, 2026, 12, 25);
    assert_string_equal(list[2].name, "Christmas Day");
    assert_string_equal(ehc_calendar_file(cal), "ok.json");
    assert_string_equal(ehc_calendar_name(cal), "T");
    ehc_calendar_free(cal);
}

static void test_unreadable_file_is_an_io_error_naming_the_file(void **state)
{
    (void)state;
    ehc_load_error err = {0};
    ehc_calendar *cal = NULL;
    assert_int_equal(ehc_calendar_load_file("/nonexistent/cal.json", &cal, &err), EHC_EIO);
    assert_null(cal);
    assert_string_equal(err.file, "/nonexistent/cal.json");
    assert_non_null(strstr(err.reason, "cannot open"));
}

/* --- setting closures and the Reg 5(4)(a) window ---------------------------------------------------- */

static ehc_setting_calendar *load_example_setting(void)
{
    char *file = data_path(EXAMPLE_SETTING_FILE);
    ehc_load_error err = {0};
    ehc_setting_calendar *setting = NULL;
    const int rc = ehc_setting_calendar_load_file(file, &setting, &err);
    if (rc) print_error("%s: %s: %s\n", err.file, err.path, err.reason);
    assert_int_equal(rc, 0);
    free(file);
    return setting;
}

static bool in_window(const ehc_setting_calendar *setting, ehc_date requested_on, ehc_closure *closure)
{
    bool out = false;
    const int rc = ehc_setting_calendar_in_closure_window(setting, requested_on, &out, closure);
    if (rc) {
        char on[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(requested_on, on);
        print_error("window query for %s returned %d\n", on, rc);
    }
    assert_int_equal(rc, 0);
    return out;
}

static void test_example_setting_calendar_lists_its_closures(void **state)
{
    (void)state;
    ehc_setting_calendar *setting = load_example_setting();
    assert_string_equal(ehc_setting_calendar_id(setting), "example-academy-trust");
    assert_non_null(strstr(ehc_setting_calendar_name(setting), "EXAMPLE"));
    assert_int_equal(strlen(ehc_setting_calendar_content_hash(setting)), 64);
    size_t count;
    const ehc_closure *list = ehc_setting_calendar_closures(setting, &count);
    assert_int_equal(count, 14);
    assert_date_equal(list[0].from, 2025, 10, 25);
    assert_string_equal(list[6].name, "Summer holiday 2026");
    assert_date_equal(list[6].from, 2026, 7, 23);
    assert_date_equal(list[6].to, 2026, 9, 2);
    assert_date_equal(list[13].to, 2027, 9, 1);
    ehc_setting_calendar_free(setting);
}

/* Summer 2026: closed Thursday 23 July to Wednesday 2 September, re-opens Thursday 3 September.
 * Window: one week before 23 July (16 July) to one week before 3 September (27 August), inclusive. */
static void test_advice_requested_in_window_before_summer_closure_is_an_exception(void **state)
{
    (void)state;
    ehc_setting_calendar *setting = load_example_setting();
    ehc_closure closure;
    assert_false(in_window(setting, ymd(2026, 7, 15), NULL));
    assert_true(in_window(setting, ymd(2026, 7, 16), &closure));
    assert_string_equal(closure.name, "Summer holiday 2026");
    assert_date_equal(closure.from, 2026, 7, 23);
    assert_date_equal(closure.to, 2026, 9, 2);
    assert_true(in_window(setting, ymd(2026, 7, 22), NULL));
    assert_true(in_window(setting, ymd(2026, 7, 23), NULL));
    assert_true(in_window(setting, ymd(2026, 8, 26), NULL));
    assert_true(in_window(setting, ymd(2026, 8, 27), NULL));
    assert_false(in_window(setting, ymd(2026, 8, 28), NULL));
    assert_false(in_window(setting, ymd(2026, 9, 3), NULL));
    /* Summer 2027: closed 22 July to 1 September, re-opens 2 September: window 15 July to 26 August. */
    assert_false(in_window(setting, ymd(2027, 7, 14), NULL));
    assert_true(in_window(setting, ymd(2027, 7, 15), NULL));
    assert_true(in_window(setting, ymd(2027, 8, 26), NULL));
    ehc_setting_calendar_free(setting);
}

static void test_closures_shorter_than_4_weeks_never_open_a_window(void **state)
{
    (void)state;
    ehc_setting_calendar *setting = load_example_setting();
    assert_false(in_window(setting, ymd(2025, 9, 1), NULL));
    assert_false(in_window(setting, ymd(2025, 12, 13), NULL)); /* a week before Christmas closure */
    assert_false(in_window(setting, ymd(2025, 12, 24), NULL)); /* during it */
    assert_false(in_window(setting, ymd(2026, 3, 30), NULL));  /* during Easter (16 days) */
    assert_false(in_window(setting, ymd(2026, 7, 1), NULL));
    ehc_setting_calendar_free(setting);
}

static void test_closure_window_needs_known_days(void **state)
{
    (void)state;
    ehc_setting_calendar *setting = load_example_setting();
    bool out;
    /* covers 2025-09-01 to 2027-09-02 */
    assert_int_equal(ehc_setting_calendar_in_closure_window(setting, ymd(2025, 8, 31), &out, NULL),
                     EHC_ERANGE);
    assert_int_equal(ehc_setting_calendar_in_closure_window(setting, ymd(2027, 9, 3), &out, NULL),
                     EHC_ERANGE);
    /* 27 August 2027 is past the summer window, but a closure starting 3 September 2027 is unknown. */
    assert_int_equal(ehc_setting_calendar_in_closure_window(setting, ymd(2027, 8, 27), &out, NULL),
                     EHC_ERANGE);
    ehc_setting_calendar_free(setting);
}

static ehc_setting_calendar *setting_from(const char *json)
{
    ehc_load_error err = {0};
    ehc_setting_calendar *setting = NULL;
    const int rc = ehc_setting_calendar_load_bytes("s.json", json, strlen(json), &setting, &err);
    if (rc) print_error("%s: %s\n", err.path, err.reason);
    assert_int_equal(rc, 0);
    return setting;
}

#define SETTING_HEAD                                                                                         \
    "\"id\":\"100000\",\"name\":\"S\",\"covers\":{\"from\":\"2026-01-01\",\"to\":\"2026-12-31\"}"

static void test_closure_of_exactly_4_weeks_counts_and_27_days_does_not(void **state)
{
    (void)state;
    /* 1-28 August 2026 is 28 days (re-opens 29 August): window 25 July to 22 August. */
    ehc_setting_calendar *four_weeks = setting_from(
        "{" SETTING_HEAD ",\"closures\":[{\"from\":\"2026-08-01\",\"to\":\"2026-08-28\",\"name\":\"x\"}]}");
    assert_false(in_window(four_weeks, ymd(2026, 7, 24), NULL));
    assert_true(in_window(four_weeks, ymd(2026, 7, 25), NULL));
    assert_true(in_window(four_weeks, ymd(2026, 8, 22), NULL));
    assert_false(in_window(four_weeks, ymd(2026, 8, 23), NULL));
    ehc_setting_calendar_free(four_weeks);

    ehc_setting_calendar *short_one = setting_from(
        "{" SETTING_HEAD ",\"closures\":[{\"from\":\"2026-08-01\",\"to\":\"2026-08-27\",\"name\":\"x\"}]}");
    assert_false(in_window(short_one, ymd(2026, 7, 25), NULL));
    assert_false(in_window(short_one, ymd(2026, 8, 10), NULL));
    ehc_setting_calendar_free(short_one);
}

static void test_abutting_closures_are_one_continuous_closure(void **state)
{
    (void)state;
    ehc_setting_calendar *abutting = setting_from(
        "{" SETTING_HEAD ",\"closures\":[{\"from\":\"2026-08-16\",\"to\":\"2026-09-02\",\"name\":\"INSET\"},"
        "{\"from\":\"2026-07-23\",\"to\":\"2026-08-15\",\"name\":\"Summer\"}]}");
    ehc_closure closure;
    assert_true(in_window(abutting, ymd(2026, 7, 16), &closure));
    assert_string_equal(closure.name, "Summer");
    assert_date_equal(closure.from, 2026, 7, 23);
    assert_date_equal(closure.to, 2026, 9, 2);
    assert_true(in_window(abutting, ymd(2026, 8, 27), NULL));
    assert_false(in_window(abutting, ymd(2026, 8, 28), NULL));
    ehc_setting_calendar_free(abutting);

    /* One open day between them breaks the continuity: neither part is 4 weeks. */
    ehc_setting_calendar *gap = setting_from(
        "{" SETTING_HEAD ",\"closures\":[{\"from\":\"2026-07-23\",\"to\":\"2026-08-14\",\"name\":\"a\"},"
        "{\"from\":\"2026-08-16\",\"to\":\"2026-09-02\",\"name\":\"b\"}]}");
    assert_false(in_window(gap, ymd(2026, 7, 20), NULL));
    assert_false(in_window(gap, ymd(2026, 8, 10), NULL));
    ehc_setting_calendar_free(gap);
}

static void test_setting_without_covers_covers_its_closures_only(void **state)
{
    (void)state;
    ehc_setting_calendar *setting =
        setting_from("{\"id\":\"100000\",\"name\":\"S\",\"closures\":[{\"from\":\"2026-07-23\",\"to\":\"2026-"
                     "09-02\",\"name\":"
                     "\"Summer\"},{\"from\":\"2026-02-14\",\"to\":\"2026-02-22\",\"name\":\"Half term\"}]}");
    assert_date_equal(ehc_setting_calendar_covers_from(setting), 2026, 2, 14);
    assert_date_equal(ehc_setting_calendar_covers_to(setting), 2026, 9, 2);
    bool out;
    assert_int_equal(ehc_setting_calendar_in_closure_window(setting, ymd(2026, 2, 13), &out, NULL),
                     EHC_ERANGE);
    /* The first closure touches the start of coverage: it might have begun earlier and be longer. */
    assert_int_equal(ehc_setting_calendar_in_closure_window(setting, ymd(2026, 2, 14), &out, NULL),
                     EHC_ERANGE);
    assert_false(in_window(setting, ymd(2026, 2, 17), NULL));
    assert_false(in_window(setting, ymd(2026, 5, 1), NULL));
    assert_true(in_window(setting, ymd(2026, 7, 16), NULL));
    assert_true(in_window(setting, ymd(2026, 8, 27), NULL));
    /* The last closure touches the end of coverage: its re-opening day is not known. */
    assert_int_equal(ehc_setting_calendar_in_closure_window(setting, ymd(2026, 8, 28), &out, NULL),
                     EHC_ERANGE);
    ehc_setting_calendar_free(setting);
}

static void assert_setting_refused(const char *json, const char *path, const char *reason)
{
    ehc_load_error err = {0};
    ehc_setting_calendar *setting = NULL;
    const int rc = ehc_setting_calendar_load_bytes("s.json", json, strlen(json), &setting, &err);
    if (rc != EHC_EINVAL || strcmp(err.path, path) != 0 || strcmp(err.reason, reason) != 0)
        print_error("rc %d, path \"%s\", reason \"%s\"\n", rc, err.path, err.reason);
    assert_int_equal(rc, EHC_EINVAL);
    assert_null(setting);
    assert_string_equal(err.file, "s.json");
    assert_string_equal(err.path, path);
    assert_string_equal(err.reason, reason);
}

static void test_setting_calendar_refusals_name_path_and_reason(void **state)
{
    (void)state;
    assert_setting_refused("{\"id\":\"100000\",\"name\":\"S\"}", "$.closures", "required field is missing");
    assert_setting_refused("{" SETTING_HEAD
                           ",\"closures\":[{\"from\":\"2026-08-01\",\"to\":\"2026-07-01\",\"name\":\"x\"}]}",
                           "$.closures[0].to", "ends (2026-07-01) before it starts (2026-08-01)");
    assert_setting_refused("{" SETTING_HEAD
                           ",\"closures\":[{\"from\":\"2026-08-01\",\"to\":\"2026-08-31\",\"name\":\"x\"},"
                           "{\"from\":\"2026-08-20\",\"to\":\"2026-09-02\",\"name\":\"y\"}]}",
                           "$.closures[1]", "overlaps $.closures[0] (2026-08-01 to 2026-08-31)");
    assert_setting_refused("{" SETTING_HEAD
                           ",\"closures\":[{\"from\":\"2026-08-01\",\"to\":\"2026-08-31\",\"name\":\"x\"},"
                           "{\"from\":\"2026-08-01\",\"to\":\"2026-08-31\",\"name\":\"x\"}]}",
                           "$.closures[1]", "repeats $.closures[0] (2026-08-01 to 2026-08-31)");
    assert_setting_refused("{" SETTING_HEAD
                           ",\"closures\":[{\"from\":\"2026-12-20\",\"to\":\"2027-01-03\",\"name\":\"x\"}]}",
                           "$.closures[0].to", "2027-01-03 is outside $.covers (2026-01-01 to 2026-12-31)");
    assert_setting_refused("{" SETTING_HEAD
                           ",\"closures\":[{\"from\":\"2026-02-30\",\"to\":\"2026-03-01\",\"name\":\"x\"}]}",
                           "$.closures[0].from", "not a date: 2026-02-30");
    assert_setting_refused("{" SETTING_HEAD
                           ",\"closures\":[{\"from\":\"2026-08-01\",\"to\":\"2026-08-31\"}]}",
                           "$.closures[0].name", "required field is missing");
    assert_setting_refused("{\"id\":\"100000\",\"name\":\"S\",\"closures\":[]}", "$.covers",
                           "required when there are no closures");
    assert_setting_refused("{" SETTING_HEAD ",\"closures\":[],\"terms\":[]}", "$.terms", "unknown field");
}

/* --- a folder of calendars ----------------------------------------------------------------------- */

static void test_calendar_folder_loads_into_a_set_keyed_by_id(void **state)
{
    (void)state;
    char *dir = data_path("workflows/calendars");
    ehc_load_error err = {0};
    ehc_calendar_set *set = NULL;
    const int rc = ehc_calendar_set_load_dir(dir, &set, &err);
    if (rc) print_error("%s: %s: %s\n", err.file, err.path, err.reason);
    assert_int_equal(rc, 0);
    const ehc_calendar *cal = NULL;
    assert_int_equal(ehc_calendar_set_find(set, "england-and-wales", &cal), 0);
    assert_string_equal(ehc_calendar_source(cal), "GOV.UK bank holidays (England and Wales)");
    const ehc_setting_calendar *setting = NULL;
    assert_int_equal(ehc_calendar_set_find_setting(set, "example-academy-trust", &setting), 0);
    assert_string_equal(ehc_setting_calendar_id(setting), "example-academy-trust");
    assert_int_equal(ehc_calendar_set_find(set, "example-academy-trust", &cal), EHC_ENOENT);
    assert_int_equal(ehc_calendar_set_find(set, "scotland-and-nowhere", &cal), EHC_ENOENT);
    assert_true(ehc_calendar_set_count(set) >= 1);
    assert_true(ehc_calendar_set_setting_count(set) >= 1);
    for (size_t i = 1; i < ehc_calendar_set_count(set); i++)
        assert_true(strcmp(ehc_calendar_id(ehc_calendar_set_at(set, i - 1)),
                           ehc_calendar_id(ehc_calendar_set_at(set, i))) < 0);
    assert_null(ehc_calendar_set_at(set, ehc_calendar_set_count(set)));
    assert_non_null(ehc_calendar_set_setting_at(set, 0));
    ehc_calendar_set_free(set);
    free(dir);
}

typedef struct temp_tree {
    char root[64];
    char files[8][128];
    size_t file_count;
    bool has_settings;
} temp_tree;

static void temp_tree_make(temp_tree *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->root, sizeof t->root, "/tmp/ehc_calendar_test_XXXXXX");
    assert_non_null(mkdtemp(t->root));
}

static void temp_tree_write(temp_tree *t, const char *relative, const char *content)
{
    if (strncmp(relative, "settings/", 9) == 0 && !t->has_settings) {
        char dir[128];
        snprintf(dir, sizeof dir, "%s/settings", t->root);
        assert_int_equal(mkdir(dir, 0700), 0);
        t->has_settings = true;
    }
    assert_true(t->file_count < 8);
    char path[sizeof t->files[0]];
    snprintf(path, sizeof path, "%s/%s", t->root, relative);
    memcpy(t->files[t->file_count++], path, sizeof path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void temp_tree_remove(temp_tree *t)
{
    for (size_t i = 0; i < t->file_count; i++)
        unlink(t->files[i]);
    if (t->has_settings) {
        char dir[128];
        snprintf(dir, sizeof dir, "%s/settings", t->root);
        rmdir(dir);
    }
    rmdir(t->root);
}

#define SMALL_CALENDAR(id)                                                                                   \
    "{\"id\":\"" id                                                                                          \
    "\",\"name\":\"T\",\"source\":\"S\",\"covers\":{\"from\":\"2026-01-01\",\"to\":\"2026-12-31\"},"         \
    "\"holidays\":[]}"

static void test_calendar_set_refuses_a_repeated_id(void **state)
{
    (void)state;
    temp_tree t;
    temp_tree_make(&t);
    temp_tree_write(&t, "a.json", SMALL_CALENDAR("same"));
    temp_tree_write(&t, "settings/b.json",
                    "{\"id\":\"same\",\"name\":\"S\",\"closures\":[{\"from\":\"2026-08-01\","
                    "\"to\":\"2026-08-31\",\"name\":\"x\"}]}");
    ehc_load_error err = {0};
    ehc_calendar_set *set = NULL;
    assert_int_equal(ehc_calendar_set_load_dir(t.root, &set, &err), EHC_ECONFLICT);
    assert_null(set);
    assert_string_equal(err.file, t.files[1]);
    assert_string_equal(err.path, "$.id");
    char reason[512];
    snprintf(reason, sizeof reason, "id \"same\" is already used by %s", t.files[0]);
    assert_string_equal(err.reason, reason);
    temp_tree_remove(&t);
}

static void test_calendar_set_refuses_when_any_file_is_refused(void **state)
{
    (void)state;
    temp_tree t;
    temp_tree_make(&t);
    temp_tree_write(&t, "a.json", SMALL_CALENDAR("a"));
    temp_tree_write(&t, "b.json", "{\"id\":\"b\"");
    temp_tree_write(&t, "notes.txt", "not a calendar");
    ehc_load_error err = {0};
    ehc_calendar_set *set = NULL;
    assert_int_equal(ehc_calendar_set_load_dir(t.root, &set, &err), EHC_EINVAL);
    assert_null(set);
    assert_string_equal(err.file, t.files[1]);
    assert_string_equal(err.path, "$");
    temp_tree_remove(&t);
}

static void test_calendar_set_without_settings_folder_loads(void **state)
{
    (void)state;
    temp_tree t;
    temp_tree_make(&t);
    temp_tree_write(&t, "b.json", SMALL_CALENDAR("b"));
    temp_tree_write(&t, "a.json", SMALL_CALENDAR("a"));
    ehc_calendar_set *set = NULL;
    assert_int_equal(ehc_calendar_set_load_dir(t.root, &set, NULL), 0);
    assert_int_equal(ehc_calendar_set_count(set), 2);
    assert_int_equal(ehc_calendar_set_setting_count(set), 0);
    assert_string_equal(ehc_calendar_id(ehc_calendar_set_at(set, 0)), "a");
    ehc_calendar_set_free(set);
    temp_tree_remove(&t);

    ehc_load_error err = {0};
    assert_int_equal(ehc_calendar_set_load_dir("/nonexistent/calendars", &set, &err), EHC_EIO);
    assert_string_equal(err.file, "/nonexistent/calendars");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bank_holiday_file_identifies_itself, setup_bank_holidays,
                                        teardown_bank_holidays),
        cmocka_unit_test_setup_teardown(test_calendar_carries_sha256_of_its_exact_bytes, setup_bank_holidays,
                                        teardown_bank_holidays),
        cmocka_unit_test(test_computed_rules_agree_with_known_dates),
        cmocka_unit_test_setup_teardown(test_bank_holiday_file_equals_the_rules_2018_to_2027,
                                        setup_bank_holidays, teardown_bank_holidays),
        cmocka_unit_test_setup_teardown(test_final_plan_due_20_weeks_after_request_stands_on_a_bank_holiday,
                                        setup_bank_holidays, teardown_bank_holidays),
        cmocka_unit_test_setup_teardown(test_working_days_across_christmas_2026, setup_bank_holidays,
                                        teardown_bank_holidays),
        cmocka_unit_test_setup_teardown(test_working_days_across_easter_2026, setup_bank_holidays,
                                        teardown_bank_holidays),
        cmocka_unit_test_setup_teardown(test_working_days_in_the_2022_jubilee_week_and_other_one_offs,
                                        setup_bank_holidays, teardown_bank_holidays),
        cmocka_unit_test_setup_teardown(test_working_day_questions_outside_coverage_are_out_of_range,
                                        setup_bank_holidays, teardown_bank_holidays),
        cmocka_unit_test(test_refuses_bad_json_with_its_position),
        cmocka_unit_test(test_refuses_missing_field_naming_it),
        cmocka_unit_test(test_refuses_ill_typed_and_unknown_fields),
        cmocka_unit_test(test_refuses_a_bad_date_with_its_json_path),
        cmocka_unit_test(test_refuses_a_holiday_outside_covers),
        cmocka_unit_test(test_refuses_a_duplicate_holiday),
        cmocka_unit_test(test_unsorted_holidays_are_accepted_and_sorted),
        cmocka_unit_test(test_unreadable_file_is_an_io_error_naming_the_file),
        cmocka_unit_test(test_example_setting_calendar_lists_its_closures),
        cmocka_unit_test(test_advice_requested_in_window_before_summer_closure_is_an_exception),
        cmocka_unit_test(test_closures_shorter_than_4_weeks_never_open_a_window),
        cmocka_unit_test(test_closure_window_needs_known_days),
        cmocka_unit_test(test_closure_of_exactly_4_weeks_counts_and_27_days_does_not),
        cmocka_unit_test(test_abutting_closures_are_one_continuous_closure),
        cmocka_unit_test(test_setting_without_covers_covers_its_closures_only),
        cmocka_unit_test(test_setting_calendar_refusals_name_path_and_reason),
        cmocka_unit_test(test_calendar_folder_loads_into_a_set_keyed_by_id),
        cmocka_unit_test(test_calendar_set_refuses_a_repeated_id),
        cmocka_unit_test(test_calendar_set_refuses_when_any_file_is_refused),
        cmocka_unit_test(test_calendar_set_without_settings_folder_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
