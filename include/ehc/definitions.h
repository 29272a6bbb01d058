/* The statutory definitions ehcd runs on: every calendar under <dir>/calendars and every workflow
 * file directly in <dir> (NAME.json), loaded and validated together at start. Any invalid file refuses the
 * whole set, so ehcd never serves on a half-valid law. Owned by the loop context; immutable once loaded. */
#ifndef EHC_DEFINITIONS_H
#define EHC_DEFINITIONS_H

#include "ehc/calendar.h"
#include "ehc/common.h"
#include "ehc/workflow.h"

typedef struct ehc_definitions ehc_definitions;

/* EHC_EINVAL / EHC_EIO with err naming the file, the JSON path and the reason; EHC_ECONFLICT
 * (with err) when two workflow files share an id. */
EHC_MUST_USE int ehc_definitions_load(const char *dir, ehc_definitions **out, ehc_load_error *err);
void ehc_definitions_free(ehc_definitions *defs);

const ehc_calendar_set *ehc_definitions_calendars(const ehc_definitions *defs);
size_t ehc_definitions_workflow_count(const ehc_definitions *defs);
const ehc_workflow *ehc_definitions_workflow_at(const ehc_definitions *defs, size_t i);
/* By workflow id; EHC_ENOENT when there is none. */
EHC_MUST_USE int ehc_definitions_find(const ehc_definitions *defs, const char *id, const ehc_workflow **out);

/* By content hash (the version a case pinned); EHC_ENOENT when that version is not loaded. */
EHC_MUST_USE int ehc_definitions_find_hash(const ehc_definitions *defs, const char *sha256,
                                           const ehc_workflow **out);
/* The content hash of the bank-holiday calendar a workflow uses. */
const char *ehc_definitions_calendar_hash(const ehc_definitions *defs, const ehc_workflow *wf);

#endif
