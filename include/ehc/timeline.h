/* `ehcd timeline`: a case's events replayed through the machine, and every date that results
 * printed with its kind, legal basis and status (met, met late, open, overdue, cancelled, not before,
 * exception applies). Read-only; the caller owns the FILE. */
#ifndef EHC_TIMELINE_H
#define EHC_TIMELINE_H

#include <stdio.h>

#include "ehc/calendar.h"
#include "ehc/common.h"
#include "ehc/date.h"
#include "ehc/machine.h"
#include "ehc/workflow.h"

/* events_json is a JSON array of events in the order recorded:
 *   [{"type": "request_received", "role": "officer", "effective_on": "2026-01-05",
 *     "fields": {"source": "parent"}}, ...]
 * ("fields" optional; values strings, booleans or whole numbers). "derive_effective_on": true takes the
 * date from the event's fields (effective_on may then be left out); "supersedes_seq" (the number of an
 * earlier event) and "correction_reason" record a correction. Corrections are printed against the
 * event they replace; "after" dates (a window's last day) and stopped letters are shown. Each is applied with
 * ehc_machine_apply as of `today`. Returns 0 after printing; EHC_EINVAL when the JSON is malformed or an
 * event is refused (err, if not NULL, then says which event and why; nothing is printed), or the machine's
 * status for a refusal. */
EHC_MUST_USE int ehc_timeline_render(const ehc_workflow *wf, const ehc_calendar_set *calendars,
                                     const char *events_json, ehc_date today, FILE *out,
                                     ehc_machine_error *err);

#endif
