/* A letter as a PDF: A4, the title in bold, then the paragraphs wrapped and paged, page numbers at
 * the foot. Text layout (line breaking, Unicode, kerning) by Pango, the PDF written by cairo
 * (libpango1.0, libcairo2 from Debian). No I/O: safe to call from a libuv worker thread; calls share
 * one font map and take turns. */
#ifndef EHC_PDF_H
#define EHC_PDF_H

#include <stddef.h>

#include "ehc/common.h"

/* Renders into a malloc'd buffer (*pdf, *len). EHC_EINVAL when cairo reports an error. */
EHC_MUST_USE int ehc_pdf_render(const char *title, const char *const *paragraphs, size_t count, char **pdf,
                                size_t *len);
/* Frees the shared font map (after the last render; a later render makes a new one). */
void ehc_pdf_shutdown(void);

#endif
