/* Civil dates and instants, and the counting rules of the statute (docs/dates.md gives each rule's
 * legal source). A civil date (`ehc_date`, a day in England with no time of day) and an instant
 * (`ehc_instant`, a point on the UTC time line) are distinct struct types so that one can never be
 * passed for the other. The only bridge between them is Europe/London local time, implemented here
 * from the UK summer-time rule, without the system time zone database. */
#ifndef EHC_DATE_H
#define EHC_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ehc/common.h"

/* A civil date: days since 1970-01-01 (which is day 0). Valid values lie in the supported years. */
typedef struct ehc_date {
    int32_t days;
} ehc_date;

/* An instant: microseconds since 1970-01-01T00:00:00Z (leap seconds are not counted, as in POSIX). */
typedef struct ehc_instant {
    int64_t us;
} ehc_instant;

#define EHC_DATE_MIN_YEAR 1900
#define EHC_DATE_MAX_YEAR 2199
/* Europe/London conversions follow the current UK rule, in force since 1996. */
#define EHC_DATE_LONDON_MIN_YEAR 1996
/* "YYYY-MM-DD" plus the terminating NUL. */
#define EHC_DATE_ISO_SIZE 11
#define EHC_US_PER_SECOND INT64_C(1000000)

/* --- construction, parsing, formatting ---------------------------------------------------- */

/* EHC_EINVAL when the day does not exist (2026-02-29, 2026-04-31, month 13);
 * EHC_ERANGE when the year is outside EHC_DATE_MIN_YEAR..EHC_DATE_MAX_YEAR. */
EHC_MUST_USE int ehc_date_from_ymd(int year, int month, int day, ehc_date *out);

/* The date of (year, month, day): a fixed date of the year such as 15 February of a transfer year.
 * Same checks as ehc_date_from_ymd; named for what the caller means. */
EHC_MUST_USE int ehc_date_of_year(int year, int month, int day, ehc_date *out);

/* The first date on or after `from` that is `month`/`day` (the next or containing occurrence of,
 * say, 15 February). 29 February finds the next leap year's. */
EHC_MUST_USE int ehc_date_next_of_year(ehc_date from, int month, int day, ehc_date *out);

/* Splits a valid date into year, month (1-12) and day (1-31). Any pointer may be NULL. */
void ehc_date_to_ymd(ehc_date d, int *year, int *month, int *day);

/* True when d lies within the supported years. */
bool ehc_date_is_valid(ehc_date d);

/* Strict ISO 8601 calendar date: exactly "YYYY-MM-DD", nothing before or after, two-digit month
 * and day. EHC_EINVAL for anything else or a day that does not exist; EHC_ERANGE for a well-formed
 * date outside the supported years. The _n form reads exactly len bytes (no NUL needed). */
EHC_MUST_USE int ehc_date_parse_iso(const char *text, ehc_date *out);
EHC_MUST_USE int ehc_date_parse_iso_n(const char *text, size_t len, ehc_date *out);

/* Writes "YYYY-MM-DD" and a NUL. An invalid date is written as "0000-00-00". */
void ehc_date_format_iso(ehc_date d, char out[EHC_DATE_ISO_SIZE]);

/* --- properties ------------------------------------------------------------------------------ */

/* ISO weekday: 1 = Monday ... 7 = Sunday. */
int ehc_date_weekday(ehc_date d);
/* -1, 0 or 1 as a is before, the same as, or after b. */
int ehc_date_compare(ehc_date a, ehc_date b);
/* to - from, in days (negative when to is earlier). */
int32_t ehc_date_days_between(ehc_date from, ehc_date to);
bool ehc_date_is_leap_year(int year);
/* Days in the month (28-31); 0 when month is not 1-12. */
int ehc_date_days_in_month(int year, int month);

/* --- arithmetic: every result outside the supported years is EHC_ERANGE ------------------------ */

EHC_MUST_USE int ehc_date_add_days(ehc_date d, int32_t days, ehc_date *out);

/* Calendar weeks: d + 7 * weeks days, so the same weekday. "Within 6 weeks of receiving" a request
 * received on day D ends on D + 42 days. */
EHC_MUST_USE int ehc_date_add_weeks(ehc_date d, int32_t weeks, ehc_date *out);

/* Same day number `months` later (or earlier), clamped to the end of a shorter month:
 * 31 December 2025 + 2 months = 28 February 2026. */
EHC_MUST_USE int ehc_date_add_months(ehc_date d, int32_t months, ehc_date *out);

/* Same clamping: 29 February 2028 + 1 year = 28 February 2029. */
EHC_MUST_USE int ehc_date_add_years(ehc_date d, int32_t years, ehc_date *out);

/* The last day of "the period of `months` months starting with" start (CFA 2014 s44(1)): the day
 * before the corresponding date `months` later, or, where that month has no corresponding date,
 * the last day of that month. 20 May 2026, 12 -> 19 May 2027; 29 February 2028, 12 -> 28 February
 * 2029; 31 January 2026, 1 -> 28 February 2026. months must be >= 1 (EHC_EINVAL otherwise). */
EHC_MUST_USE int ehc_date_period_months_last_day(ehc_date start, int32_t months, ehc_date *out);

/* The last day that is "before" x: x - 1 (Reg 18: before 15 February 2027 -> 14 February 2027). */
EHC_MUST_USE int ehc_date_before_last_day(ehc_date x, ehc_date *out);

/* The later of two dates ("the later of 12 months and 3 months after the transfer", Reg 15; the
 * tribunal appeal deadline after a mediation certificate). */
ehc_date ehc_date_later(ehc_date a, ehc_date b);

/* A wall-clock time in England, "YYYY-MM-DDTHH:MM" exactly (no seconds, no offset): the date and the
 * minute of that day (0-1439). Used for the time a request was received (deemed receipt: after
 * 5pm counts as the next working day). EHC_EINVAL for anything else; EHC_ERANGE as for dates. */
/* "YYYY-MM-DDTHH:MM:SSZ" (UTC, to the second) to an instant; EHC_EINVAL for anything else. */
EHC_MUST_USE int ehc_instant_parse_utc(const char *text, ehc_instant *out);
EHC_MUST_USE int ehc_date_parse_local_datetime(const char *text, ehc_date *on, int *minute_of_day);

/* --- Europe/London ------------------------------------------------------------------------- */

/* The instant at which the local wall-clock time hour:minute on date `on` occurs in Europe/London.
 * A time in the spring-forward gap (01:00-01:59 on the last Sunday of March) is read with the GMT
 * offset in force just before the gap, so it lands after the change: 01:30 -> 01:30Z (02:30 BST).
 * A time repeated in the autumn (01:00-01:59 on the last Sunday of October) is its first, BST,
 * occurrence: 01:30 -> 00:30Z. EHC_EINVAL for hour outside 0-23 or minute outside 0-59;
 * EHC_ERANGE for a date before EHC_DATE_LONDON_MIN_YEAR or an invalid date. */
EHC_MUST_USE int ehc_date_fire_instant(ehc_date on, int hour, int minute, ehc_instant *out);

/* The civil date in Europe/London at instant `at`. EHC_ERANGE outside 1996-01-01..2199-12-31. */
EHC_MUST_USE int ehc_date_of_instant(ehc_instant at, ehc_date *out);

/* The Europe/London offset from UTC at `at`, in seconds: 0 (GMT) or 3600 (BST). Same range as
 * ehc_date_of_instant. */
EHC_MUST_USE int ehc_date_london_utc_offset(ehc_instant at, int32_t *offset_seconds);

#endif
