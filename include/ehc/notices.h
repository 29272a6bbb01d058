/* Statutory notices as data: one JSON template per letter in notices/ (docs/letters.md), editable by
 * an authority. A template lists the items the law requires in the letter; filling it from a case's
 * values gives the letter's paragraphs, or the items that are missing (a value the case lacks, or an
 * item an edited template no longer carries), in which case the letter cannot be made.
 *
 * The items each shipped notice must carry are also known here (the statutory floor): an edited
 * template that drops one from its "requires" list still has it checked. */
#ifndef EHC_NOTICES_H
#define EHC_NOTICES_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "ehc/common.h"
#include "ehc/definitions.h"

typedef struct ehc_notice ehc_notice;
typedef struct ehc_notices ehc_notices;

/* Loads every *.json in dir. A file with an unknown key, a missing member, a placeholder that is not
 * well formed or an include of an unknown part is refused (err names the file, path and reason). */
EHC_MUST_USE int ehc_notices_load(const char *dir, ehc_notices **out, ehc_load_error *err);
void ehc_notices_free(ehc_notices *set);
/* Against the loaded workflows: a notice's "serves" and "notifies" events exist in one of its
 * workflows that is loaded (a notice none of whose workflows is loaded is simply not used).
 * EHC_EINVAL (err says which) otherwise. */
EHC_MUST_USE int ehc_notices_check(const ehc_notices *set, const ehc_definitions *defs, ehc_load_error *err);

size_t ehc_notices_count(const ehc_notices *set);
const ehc_notice *ehc_notices_at(const ehc_notices *set, size_t i);
/* A notice that can be sent (not a part such as the mediation information), or NULL. */
const ehc_notice *ehc_notices_find(const ehc_notices *set, const char *id);

const char *ehc_notice_id(const ehc_notice *n);
const char *ehc_notice_title(const ehc_notice *n);
const char *ehc_notice_basis(const ehc_notice *n);
/* SHA-256 of the template's bytes and of every part it includes: the template version of a letter. */
const char *ehc_notice_sha256(const ehc_notice *n);
bool ehc_notice_is_part(const ehc_notice *n);
bool ehc_notice_for_workflow(const ehc_notice *n, const char *workflow_id);
bool ehc_notice_for_recipient(const ehc_notice *n, const char *recipient_role);
/* The workflow event that sending this letter to the family is ("draft_served"), or NULL. */
const char *ehc_notice_serves(const ehc_notice *n);
/* The workflow event whose written notice to the family this letter is ("decision_to_assess"): the
 * letter must be sent on that event's date. NULL when none. */
const char *ehc_notice_notifies(const ehc_notice *n);
/* Whether the letter concerns one advice request (request_key required). */
bool ehc_notice_per_advice_request(const ehc_notice *n);

/* The notice as JSON for readers (no personal data): id, title, basis, template_sha256, workflows,
 * recipients, per_advice_request, serves, and requires ([{item, basis}], its parts' included). */
cJSON *ehc_notice_describe(const ehc_notices *set, const ehc_notice *n);

/* A filled letter: its title and paragraphs; or, when `missing_count` > 0, the items that stop it. */
typedef struct ehc_letter_text {
    char *title;
    char **paragraphs;
    size_t paragraph_count;
    char **missing; /* item ids, each once, in the order the law lists them */
    size_t missing_count;
    cJSON *items; /* every required item and the text it was filled with */
} ehc_letter_text;

/* Fills n from `values` (an object of item id -> string). Items come from the template's own
 * statements ("text") first, then from values; an empty value counts as missing. Returns 0 (check
 * out->missing_count) or EHC_EINVAL when values is not an object. */
EHC_MUST_USE int ehc_notice_fill(const ehc_notices *set, const ehc_notice *n, const cJSON *values,
                                 ehc_letter_text *out);
void ehc_letter_text_free(ehc_letter_text *t);

#endif
