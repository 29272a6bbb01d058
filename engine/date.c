/* Civil-date arithmetic and the Europe/London bridge between civil dates and instants.
 * Owns the counting rules every statutory due date is computed with (calendar weeks, months with
 * month-end clamping, "period of N months starting with", "before"); docs/dates.md cites the law
 * for each. Day numbering is proleptic Gregorian (H. Hinnant's days_from_civil), with day 0 =
 * 1970-01-01. London time comes from the UK summer-time rule, not the system tz database, so a
 * host's tzdata can never move a statutory alert. */
#include "ehc/date.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define SECONDS_PER_DAY INT64_C(86400)
#define BST_OFFSET_SECONDS 3600

/* Bounds of the supported range, as day numbers: 1900-01-01 and 2199-12-31. */
#define MIN_DAYS (-25567)
#define MAX_DAYS 84005
/* 1996-01-01, the first day the London conversions accept. */
#define LONDON_MIN_DAYS 9496

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static void civil_from_days(int32_t z, int *year, int *month, int *day)
{
    z += 719468;
    const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int32_t doe = z - era * 146097;
    const int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int32_t mp = (5 * doy + 2) / 153;
    const int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    const int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    const int y = (int)(yoe + era * 400) + (m <= 2);
    if (year) *year = y;
    if (month) *month = m;
    if (day) *day = d;
}

bool ehc_date_is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int ehc_date_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) return 0;
    if (month == 2 && ehc_date_is_leap_year(year)) return 29;
    return days[month - 1];
}

bool ehc_date_is_valid(ehc_date d)
{
    return d.days >= MIN_DAYS && d.days <= MAX_DAYS;
}

static int date_from_days64(int64_t days, ehc_date *out)
{
    if (days < MIN_DAYS || days > MAX_DAYS) return EHC_ERANGE;
    out->days = (int32_t)days;
    return 0;
}

int ehc_date_from_ymd(int year, int month, int day, ehc_date *out)
{
    if (month < 1 || month > 12 || day < 1 || day > ehc_date_days_in_month(year, month)) return EHC_EINVAL;
    if (year < EHC_DATE_MIN_YEAR || year > EHC_DATE_MAX_YEAR) return EHC_ERANGE;
    out->days = days_from_civil(year, month, day);
    return 0;
}

int ehc_date_of_year(int year, int month, int day, ehc_date *out)
{
    return ehc_date_from_ymd(year, month, day, out);
}

int ehc_date_next_of_year(ehc_date from, int month, int day, ehc_date *out)
{
    if (!ehc_date_is_valid(from)) return EHC_ERANGE;
    /* 2000 is a leap year, so this rejects only days that exist in no year (30 February). */
    if (month < 1 || month > 12 || day < 1 || day > ehc_date_days_in_month(2000, month)) return EHC_EINVAL;
    int year;
    ehc_date_to_ymd(from, &year, NULL, NULL);
    /* Leap years are at most 8 years apart (1896 -> 1904, 2096 -> 2104). */
    for (int y = year; y <= year + 8 && y <= EHC_DATE_MAX_YEAR; y++) {
        ehc_date candidate;
        if (ehc_date_from_ymd(y, month, day, &candidate) != 0) continue;
        if (candidate.days >= from.days) {
            *out = candidate;
            return 0;
        }
    }
    return EHC_ERANGE;
}

void ehc_date_to_ymd(ehc_date d, int *year, int *month, int *day)
{
    assert(ehc_date_is_valid(d));
    if (!ehc_date_is_valid(d)) {
        /* Only reachable with NDEBUG: report a date that no caller can mistake for a real one. */
        if (year) *year = 0;
        if (month) *month = 0;
        if (day) *day = 0;
        return;
    }
    civil_from_days(d.days, year, month, day);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int ehc_date_parse_iso_n(const char *text, size_t len, ehc_date *out)
{
    if (!text || len != EHC_DATE_ISO_SIZE - 1) return EHC_EINVAL;
    static const char shape[] = "dddd-dd-dd";
    for (size_t i = 0; i < len; i++) {
        if (shape[i] == 'd' ? !is_digit(text[i]) : text[i] != shape[i]) return EHC_EINVAL;
    }
    const int year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
    const int month = (text[5] - '0') * 10 + (text[6] - '0');
    const int day = (text[8] - '0') * 10 + (text[9] - '0');
    return ehc_date_from_ymd(year, month, day, out);
}

int ehc_date_parse_iso(const char *text, ehc_date *out)
{
    if (!text) return EHC_EINVAL;
    /* strnlen so that a long string is refused without reading past what could be a date. */
    return ehc_date_parse_iso_n(text, strnlen(text, EHC_DATE_ISO_SIZE), out);
}

void ehc_date_format_iso(ehc_date d, char out[EHC_DATE_ISO_SIZE])
{
    int y = 0, m = 0, dd = 0;
    if (ehc_date_is_valid(d)) civil_from_days(d.days, &y, &m, &dd);
    const int v[8] = {y / 1000, y / 100 % 10, y / 10 % 10, y % 10, m / 10, m % 10, dd / 10, dd % 10};
    static const int at[8] = {0, 1, 2, 3, 5, 6, 8, 9};
    memcpy(out, "0000-00-00", EHC_DATE_ISO_SIZE);
    for (int i = 0; i < 8; i++)
        out[at[i]] = (char)('0' + v[i]);
}

int ehc_date_weekday(ehc_date d)
{
    /* 1970-01-01 was a Thursday (ISO 4). */
    int32_t r = d.days % 7;
    if (r < 0) r += 7;
    return (int)((r + 3) % 7) + 1;
}

int ehc_date_compare(ehc_date a, ehc_date b)
{
    return (a.days > b.days) - (a.days < b.days);
}

int32_t ehc_date_days_between(ehc_date from, ehc_date to)
{
    return to.days - from.days;
}

int ehc_date_add_days(ehc_date d, int32_t days, ehc_date *out)
{
    if (!ehc_date_is_valid(d)) return EHC_ERANGE;
    return date_from_days64((int64_t)d.days + days, out);
}

int ehc_date_add_weeks(ehc_date d, int32_t weeks, ehc_date *out)
{
    if (!ehc_date_is_valid(d)) return EHC_ERANGE;
    return date_from_days64((int64_t)d.days + (int64_t)weeks * 7, out);
}

/* The month `months` after d's month, as (year, month); EHC_ERANGE outside the supported years. */
static int shift_month(ehc_date d, int64_t months, int *year, int *month, int *day)
{
    if (!ehc_date_is_valid(d)) return EHC_ERANGE;
    int y, m;
    civil_from_days(d.days, &y, &m, day);
    const int64_t index = (int64_t)y * 12 + (m - 1) + months;
    if (index < (int64_t)EHC_DATE_MIN_YEAR * 12 || index > (int64_t)EHC_DATE_MAX_YEAR * 12 + 11)
        return EHC_ERANGE;
    *year = (int)(index / 12);
    *month = (int)(index % 12) + 1;
    return 0;
}

static int add_months64(ehc_date d, int64_t months, ehc_date *out)
{
    int y, m, day;
    const int rc = shift_month(d, months, &y, &m, &day);
    if (rc) return rc;
    const int last = ehc_date_days_in_month(y, m);
    return ehc_date_from_ymd(y, m, day < last ? day : last, out);
}

int ehc_date_add_months(ehc_date d, int32_t months, ehc_date *out)
{
    return add_months64(d, months, out);
}

int ehc_date_add_years(ehc_date d, int32_t years, ehc_date *out)
{
    return add_months64(d, (int64_t)years * 12, out);
}

int ehc_date_period_months_last_day(ehc_date start, int32_t months, ehc_date *out)
{
    if (months < 1) return EHC_EINVAL;
    int y, m, day;
    const int rc = shift_month(start, months, &y, &m, &day);
    if (rc) return rc;
    /* No corresponding date in the final month (31st, 29 February): the period ends on its last day. */
    if (day > ehc_date_days_in_month(y, m)) return ehc_date_from_ymd(y, m, ehc_date_days_in_month(y, m), out);
    ehc_date corresponding;
    const int rc2 = ehc_date_from_ymd(y, m, day, &corresponding);
    if (rc2) return rc2;
    return ehc_date_add_days(corresponding, -1, out);
}

int ehc_date_before_last_day(ehc_date x, ehc_date *out)
{
    return ehc_date_add_days(x, -1, out);
}

/* --- Europe/London --------------------------------------------------------------------------- */

/* The last Sunday of a 31-day month (March or October) of year, as a day number. */
static int32_t last_sunday_of(int year, int month)
{
    const ehc_date last = {days_from_civil(year, month, 31)};
    return last.days - (ehc_date_weekday(last) % 7);
}

/* Summer Time Act 1972 as amended by the Summer Time Order 2002 (EU Directive 2000/84/EC): BST from
 * 01:00 UTC on the last Sunday of March until 01:00 UTC on the last Sunday of October. */
static bool is_bst_at(int64_t utc_seconds)
{
    int year;
    civil_from_days((int32_t)floor_div(utc_seconds, SECONDS_PER_DAY), &year, NULL, NULL);
    const int64_t starts = (int64_t)last_sunday_of(year, 3) * SECONDS_PER_DAY + 3600;
    const int64_t ends = (int64_t)last_sunday_of(year, 10) * SECONDS_PER_DAY + 3600;
    return utc_seconds >= starts && utc_seconds < ends;
}

int ehc_date_fire_instant(ehc_date on, int hour, int minute, ehc_instant *out)
{
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return EHC_EINVAL;
    if (on.days < LONDON_MIN_DAYS || on.days > MAX_DAYS) return EHC_ERANGE;
    const int64_t wall = (int64_t)on.days * SECONDS_PER_DAY + hour * 3600 + minute * 60;
    /* Try BST first: this picks the first occurrence of a repeated autumn time. If the wall time read
     * as BST is not in summer time, it is GMT, which also places a spring-gap time just after the
     * change (the offset in force before the gap). */
    int64_t utc = wall - BST_OFFSET_SECONDS;
    if (!is_bst_at(utc)) utc = wall;
    out->us = utc * EHC_US_PER_SECOND;
    return 0;
}

int ehc_date_london_utc_offset(ehc_instant at, int32_t *offset_seconds)
{
    const int64_t seconds = floor_div(at.us, EHC_US_PER_SECOND);
    /* 1 January is always GMT, so the day bounds need no offset. */
    if (seconds < (int64_t)LONDON_MIN_DAYS * SECONDS_PER_DAY ||
        seconds >= ((int64_t)MAX_DAYS + 1) * SECONDS_PER_DAY)
        return EHC_ERANGE;
    *offset_seconds = is_bst_at(seconds) ? BST_OFFSET_SECONDS : 0;
    return 0;
}

int ehc_date_of_instant(ehc_instant at, ehc_date *out)
{
    int32_t offset;
    const int rc = ehc_date_london_utc_offset(at, &offset);
    if (rc) return rc;
    const int64_t local = floor_div(at.us, EHC_US_PER_SECOND) + offset;
    return date_from_days64(floor_div(local, SECONDS_PER_DAY), out);
}

ehc_date ehc_date_later(ehc_date a, ehc_date b)
{
    return a.days >= b.days ? a : b;
}

int ehc_date_parse_local_datetime(const char *text, ehc_date *on, int *minute_of_day)
{
    /* "YYYY-MM-DDTHH:MM": 16 characters. */
    if (!text || strlen(text) != 16 || text[10] != 'T' || text[13] != ':') return EHC_EINVAL;
    if (!is_digit(text[11]) || !is_digit(text[12]) || !is_digit(text[14]) || !is_digit(text[15]))
        return EHC_EINVAL;
    const int hour = (text[11] - '0') * 10 + (text[12] - '0');
    const int minute = (text[14] - '0') * 10 + (text[15] - '0');
    if (hour > 23 || minute > 59) return EHC_EINVAL;
    ehc_date d;
    const int rc = ehc_date_parse_iso_n(text, 10, &d);
    if (rc) return rc;
    *on = d;
    *minute_of_day = hour * 60 + minute;
    return 0;
}

int ehc_instant_parse_utc(const char *s, ehc_instant *out)
{
    ehc_date d;
    int hh, mm, ss, n = 0;
    if (strlen(s) != 20 || s[10] != 'T' || s[19] != 'Z' || ehc_date_parse_iso_n(s, 10, &d) ||
        sscanf(s + 11, "%2d:%2d:%2d%n", &hh, &mm, &ss, &n) != 3 || n != 8 || hh > 23 || mm > 59 || ss > 59 ||
        hh < 0 || mm < 0 || ss < 0)
        return EHC_EINVAL;
    out->us = ((int64_t)d.days * 86400 + hh * 3600 + mm * 60 + ss) * EHC_US_PER_SECOND;
    return 0;
}
