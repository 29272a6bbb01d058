/* Calendars loaded from JSON files under workflows/calendars/:
 *   - a bank-holiday calendar (`ehc_calendar`) answers working-day questions ("15 working days",
 *     Reg 15) over the dates it covers, and refuses (EHC_ERANGE) any question outside them;
 *   - a setting closure calendar (`ehc_setting_calendar`) lists when one school, college or
 *     early-years provider is closed, and answers the Reg 5(4)(a)/(b) and 10(4)(a)/(b) exception test;
 *   - a calendar set holds every calendar of a folder, keyed by id.
 * Each calendar carries the SHA-256 of its file's exact bytes so a case can pin the version it used.
 * Loading validates everything and refuses with the file, the JSON path and the reason. A loaded
 * calendar is immutable; its owner frees it (a set owns the calendars in it). */
#ifndef EHC_CALENDAR_H
#define EHC_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ehc/common.h"
#include "ehc/date.h"

/* SHA-256 as 64 lowercase hex digits plus the NUL. */
#define EHC_CALENDAR_HASH_SIZE 65
/* Files larger than this are refused: a calendar is a few kilobytes. */
#define EHC_CALENDAR_MAX_FILE_BYTES (1024 * 1024)

/* --- bank holidays and working days ------------------------------------------------------------ */

typedef struct ehc_calendar ehc_calendar;

typedef struct ehc_holiday {
    ehc_date on;
    const char *name;
} ehc_holiday;

/* Loads and validates a bank-holiday calendar:
 *   {"id": "...", "name": "...", "source": "...", "covers": {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"},
 *    "holidays": [{"date": "YYYY-MM-DD", "name": "..."}], "note": "... (optional)"}
 * Unknown or repeated fields, a holiday outside `covers` and a repeated date are refused. Holidays
 * may be listed in any order. EHC_EIO when the file cannot be read, EHC_EINVAL when it is refused;
 * err (may be NULL) then says where and why. */
EHC_MUST_USE int ehc_calendar_load_file(const char *file, ehc_calendar **out, ehc_load_error *err);

/* The same from bytes in memory; `file` only labels errors. The hash is of these bytes. */
EHC_MUST_USE int ehc_calendar_load_bytes(const char *file, const char *bytes, size_t len, ehc_calendar **out,
                                         ehc_load_error *err);

void ehc_calendar_free(ehc_calendar *cal);

const char *ehc_calendar_id(const ehc_calendar *cal);
const char *ehc_calendar_name(const ehc_calendar *cal);
const char *ehc_calendar_source(const ehc_calendar *cal);
const char *ehc_calendar_file(const ehc_calendar *cal);
/* SHA-256 (lowercase hex) of the exact bytes loaded. */
const char *ehc_calendar_content_hash(const ehc_calendar *cal);
/* First and last day covered, inclusive. */
ehc_date ehc_calendar_covers_from(const ehc_calendar *cal);
ehc_date ehc_calendar_covers_to(const ehc_calendar *cal);
/* The holidays in date order; *count receives how many. */
const ehc_holiday *ehc_calendar_holidays(const ehc_calendar *cal, size_t *count);

/* Every query below is EHC_ERANGE when it needs to know about a day outside `covers`. */

/* Whether d is a bank holiday in this calendar. */
EHC_MUST_USE int ehc_calendar_is_holiday(const ehc_calendar *cal, ehc_date d, bool *out);

/* A working day is Monday to Friday and not a bank holiday. */
EHC_MUST_USE int ehc_calendar_is_working_day(const ehc_calendar *cal, ehc_date d, bool *out);

/* The n-th working day after d, d itself not counted ("within 15 working days of", Reg 15).
 * n = 0 gives d. EHC_EINVAL for negative n. */
EHC_MUST_USE int ehc_calendar_add_working_days(const ehc_calendar *cal, ehc_date d, int32_t n, ehc_date *out);

/* The n-th working day before d, d itself not counted ("10 working days before" a due date).
 * n = 0 gives d. EHC_EINVAL for negative n. */
EHC_MUST_USE int ehc_calendar_working_days_before(const ehc_calendar *cal, ehc_date d, int32_t n,
                                                  ehc_date *out);

/* The working day strictly before / strictly after d. */
EHC_MUST_USE int ehc_calendar_previous_working_day(const ehc_calendar *cal, ehc_date d, ehc_date *out);
EHC_MUST_USE int ehc_calendar_next_working_day(const ehc_calendar *cal, ehc_date d, ehc_date *out);

/* d if it is a working day, else the nearest working day before it (where an alert due on a weekend
 * or holiday fires) / after it (where an overdue alert fires). */
EHC_MUST_USE int ehc_calendar_working_day_on_or_before(const ehc_calendar *cal, ehc_date d, ehc_date *out);
EHC_MUST_USE int ehc_calendar_working_day_on_or_after(const ehc_calendar *cal, ehc_date d, ehc_date *out);

/* The First-tier Tribunal (SEND) roll-overs of an appeal deadline (docs/dates.md) [S: IPSEA]: a day
 * in August moves to the first working day of September; a day from 25 December to 1 January moves
 * to the first working day in January after 1 January; any other day is unchanged. */
EHC_MUST_USE int ehc_calendar_tribunal_rollover(const ehc_calendar *cal, ehc_date d, ehc_date *out);

/* How a document reached the authority, for the date it is deemed received (statute notes, "Date
 * of receipt" [S: IPSEA model letter 9]). */
typedef enum ehc_receipt_channel {
    EHC_RECEIPT_HAND,             /* that day; the next working day if after 5pm or not a working day */
    EHC_RECEIPT_EMAIL,            /* the same rule as by hand */
    EHC_RECEIPT_FIRST_CLASS_POST, /* the next working day after posting */
    EHC_RECEIPT_SIGNED_FOR,       /* the day it was signed for */
} ehc_receipt_channel;

/* "hand", "email", "first_class_post", "signed_for"; EHC_ENOENT otherwise. */
EHC_MUST_USE int ehc_receipt_channel_parse(const char *name, ehc_receipt_channel *out);

/* The day a document is deemed received. `on` and `minute_of_day` (0-1439, wall-clock time in
 * England) are when it was delivered or sent; for first-class post, when it was posted. 17:00 and
 * later is "after 5pm" [U: 17:00 exactly is taken as after]. EHC_EINVAL for a bad minute. */
EHC_MUST_USE int ehc_calendar_deemed_receipt(const ehc_calendar *cal, ehc_receipt_channel channel,
                                             ehc_date on, int minute_of_day, ehc_date *out);

/* --- setting closures -------------------------------------------------------------------------- */

typedef struct ehc_setting_calendar ehc_setting_calendar;

/* A closure: the setting is closed from `from` to `to`, both inclusive, and re-opens on to + 1. */
typedef struct ehc_closure {
    ehc_date from;
    ehc_date to;
    const char *name;
} ehc_closure;

/* Regulation 5(4)(a)/(b) and 10(4)(a)/(b): a closure counts when the setting is closed for a
 * continuous period of at least 4 weeks. */
#define EHC_CLOSURE_MIN_DAYS 28
/* The window starts one week before the closure and ends one week before the re-opening day. */
#define EHC_CLOSURE_WINDOW_LEAD_DAYS 7

/* Loads and validates a setting closure calendar:
 *   {"id": "<e.g. URN>", "name": "...", "closures": [{"from": "...", "to": "...", "name": "..."}],
 *    "covers": {"from": "...", "to": "..."} (optional), "note": "... (optional)"}
 * Each `to` is the last closed day, so the day after it is the day the setting re-opens: a summer
 * closure should run to the day before the first day back, weekends included. Closures may be
 * listed in any order; overlapping or repeated closures and `to` before `from` are refused.
 * Without `covers`, the calendar covers the first closure's `from` to the last closure's `to`. */
EHC_MUST_USE int ehc_setting_calendar_load_file(const char *file, ehc_setting_calendar **out,
                                                ehc_load_error *err);
EHC_MUST_USE int ehc_setting_calendar_load_bytes(const char *file, const char *bytes, size_t len,
                                                 ehc_setting_calendar **out, ehc_load_error *err);
void ehc_setting_calendar_free(ehc_setting_calendar *setting);

const char *ehc_setting_calendar_id(const ehc_setting_calendar *setting);
const char *ehc_setting_calendar_name(const ehc_setting_calendar *setting);
const char *ehc_setting_calendar_file(const ehc_setting_calendar *setting);
const char *ehc_setting_calendar_content_hash(const ehc_setting_calendar *setting);
ehc_date ehc_setting_calendar_covers_from(const ehc_setting_calendar *setting);
ehc_date ehc_setting_calendar_covers_to(const ehc_setting_calendar *setting);
/* The closures in date order, as listed (not merged); *count receives how many. */
const ehc_closure *ehc_setting_calendar_closures(const ehc_setting_calendar *setting, size_t *count);

/* Whether advice requested from this setting on `requested_on` falls in the window of Reg 5(4)(a)
 * (and 5(4)(b), 10(4)(a)/(b) and, through 13(3), the 20-week limit): from one week before the first
 * day of a closure of at least 4 continuous weeks to one week before the day it re-opens, both
 * ends inclusive, i.e. [from - 7, to + 1 - 7]. Closures that abut (one's `to` + 1 is the next one's
 * `from`) are one continuous closure. When *in_window is set and `closure` is not NULL, it receives
 * the (merged) closure; its name is the first part's.
 * EHC_ERANGE, never a guess, when requested_on is outside `covers` or when the answer depends on
 * days outside `covers`: a closure could start after `covers` ends (requested_on + 7 days is past
 * it), or a closure touching an end of `covers` might continue beyond it. */
EHC_MUST_USE int ehc_setting_calendar_in_closure_window(const ehc_setting_calendar *setting,
                                                        ehc_date requested_on, bool *in_window,
                                                        ehc_closure *closure);

/* --- a folder of calendars --------------------------------------------------------------------- */

typedef struct ehc_calendar_set ehc_calendar_set;

/* Loads every file named *.json directly in dir as a bank-holiday calendar, and every one in
 * dir/settings (if that folder exists) as a setting closure calendar, in file-name order. Ids are unique
 * across both kinds: a repeat is EHC_ECONFLICT. Any refused file refuses the whole set. */
EHC_MUST_USE int ehc_calendar_set_load_dir(const char *dir, ehc_calendar_set **out, ehc_load_error *err);
void ehc_calendar_set_free(ehc_calendar_set *set);

/* A set like `base` in which `cal` stands for the bank-holiday calendar of the same id (added when
 * base has none): an older version a case pinned. It borrows every calendar (base's and `cal`), so
 * base and cal must outlive it; freeing it frees only its own lists. */
ehc_calendar_set *ehc_calendar_set_with(const ehc_calendar_set *base, const ehc_calendar *cal);

/* EHC_ENOENT when no calendar of that kind has the id. */
EHC_MUST_USE int ehc_calendar_set_find(const ehc_calendar_set *set, const char *id, const ehc_calendar **out);
EHC_MUST_USE int ehc_calendar_set_find_setting(const ehc_calendar_set *set, const char *id,
                                               const ehc_setting_calendar **out);
size_t ehc_calendar_set_count(const ehc_calendar_set *set);
size_t ehc_calendar_set_setting_count(const ehc_calendar_set *set);
/* The i-th calendar / setting calendar in id order; NULL when i is not below the count. */
const ehc_calendar *ehc_calendar_set_at(const ehc_calendar_set *set, size_t i);
const ehc_setting_calendar *ehc_calendar_set_setting_at(const ehc_calendar_set *set, size_t i);

#endif
