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

/* The workflow and calendar set a case pinned to these versions runs under: the current ones, or an
 * older pair kept by ehc_definitions_pin_older. EHC_ENOENT when this ehcd has neither. */
EHC_MUST_USE int ehc_definitions_pinned(const ehc_definitions *defs, const char *workflow_sha256,
                                        const char *calendar_sha256, const ehc_workflow **wf,
                                        const ehc_calendar_set **calendars);

/* The text of each workflow and bank-holiday calendar file loaded (what the database keeps, so that a
 * later ehcd can still replay cases pinned to it). */
typedef struct ehc_definition_version {
    const char *kind; /* "workflow" or "calendar" */
    const char *id;
    const char *sha256;
    const char *bytes;
    size_t len;
} ehc_definition_version;
size_t ehc_definitions_version_count(const ehc_definitions *defs);
EHC_MUST_USE int ehc_definitions_version_at(const ehc_definitions *defs, size_t i,
                                            ehc_definition_version *out);

/* Adds an older version read back from the database (a repeat of a known one is ignored); a calendar is
 * parsed now, EHC_EINVAL with err when it is refused. Then ehc_definitions_pin_older pairs every workflow
 * version with every calendar version of the id it names (a workflow text this ehcd refuses is skipped)
 * and returns how many older pairs it holds. Call both before the definitions are shared. */
EHC_MUST_USE int ehc_definitions_add_older(ehc_definitions *defs, const char *kind, const char *id,
                                           const char *bytes, size_t len, ehc_load_error *err);
size_t ehc_definitions_pin_older(ehc_definitions *defs);

/* Keeps the current versions in the database and pins every older one it holds (blocking libpq, at
 * start, before the loop runs): engine/definition_versions.c. EHC_EIO with err on a database error. */
struct pg_conn;
EHC_MUST_USE int ehc_definitions_sync(ehc_definitions *defs, struct pg_conn *conn, ehc_load_error *err);

#endif
