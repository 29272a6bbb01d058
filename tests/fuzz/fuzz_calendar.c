/* The calendar loaders (engine/calendar.c): the input is a calendar file's bytes, given to both the
 * bank-holiday loader and the setting-closure loader. A calendar either loader accepts is then
 * asked the working-day and closure-window questions the machine asks, over the dates it covers.
 * Checked: a refusal names a reason; every listed holiday is a holiday and not a working day;
 * "n working days after" lands on a working day after the start. */
#include <string.h>

#include "ehc/calendar.h"
#include "fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void ask_bank(const ehc_calendar *cal)
{
    size_t count;
    const ehc_holiday *h = ehc_calendar_holidays(cal, &count);
    for (size_t i = 0; i < count; i++) {
        bool holiday = false, working = true;
        FUZZ_CHECK(ehc_calendar_is_holiday(cal, h[i].on, &holiday) == 0 && holiday,
                   "a listed holiday is not one");
        FUZZ_CHECK(ehc_calendar_is_working_day(cal, h[i].on, &working) == 0 && !working,
                   "a listed holiday is a working day");
    }
    ehc_date from = ehc_calendar_covers_from(cal), to = ehc_calendar_covers_to(cal);
    int32_t span = ehc_date_days_between(from, to);
    for (int32_t step = 0; step <= span && step < 400; step += 7) {
        ehc_date d, out;
        if (ehc_date_add_days(from, step, &d)) break;
        bool working;
        if (ehc_calendar_add_working_days(cal, d, 15, &out) == 0) {
            FUZZ_CHECK(ehc_date_compare(out, d) > 0, "15 working days after is not later");
            FUZZ_CHECK(ehc_calendar_is_working_day(cal, out, &working) == 0 && working,
                       "15 working days after is not a working day");
        }
        (void)ehc_calendar_working_days_before(cal, d, 5, &out);
        (void)ehc_calendar_previous_working_day(cal, d, &out);
        (void)ehc_calendar_next_working_day(cal, d, &out);
        (void)ehc_calendar_working_day_on_or_before(cal, d, &out);
        (void)ehc_calendar_working_day_on_or_after(cal, d, &out);
        (void)ehc_calendar_tribunal_rollover(cal, d, &out);
        (void)ehc_calendar_deemed_receipt(cal, EHC_RECEIPT_FIRST_CLASS_POST, d, 17 * 60, &out);
    }
}

static void ask_setting(const ehc_setting_calendar *s)
{
    size_t count;
    const ehc_closure *c = ehc_setting_calendar_closures(s, &count);
    for (size_t i = 0; i < count; i++) {
        FUZZ_CHECK(ehc_date_compare(c[i].from, c[i].to) <= 0, "a closure ends before it starts");
        for (int32_t off = -8; off <= 8; off += 4) {
            ehc_date d;
            bool in;
            ehc_closure merged;
            if (ehc_date_add_days(c[i].from, off, &d) == 0)
                (void)ehc_setting_calendar_in_closure_window(s, d, &in, &merged);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ehc_load_error err;
    ehc_calendar *cal = NULL;
    memset(&err, 0, sizeof err);
    if (ehc_calendar_load_bytes("fuzz.json", (const char *)data, size, &cal, &err) == 0) {
        ask_bank(cal);
        ehc_calendar_free(cal);
    } else {
        FUZZ_CHECK(*err.reason, "a refusal without a reason");
    }
    ehc_setting_calendar *setting = NULL;
    memset(&err, 0, sizeof err);
    if (ehc_setting_calendar_load_bytes("fuzz.json", (const char *)data, size, &setting, &err) == 0) {
        ask_setting(setting);
        ehc_setting_calendar_free(setting);
    } else {
        FUZZ_CHECK(*err.reason, "a refusal without a reason");
    }
    return 0;
}
