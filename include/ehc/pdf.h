/* A letter as a PDF: A4, the title in bold, then the paragraphs wrapped and paged, page numbers at
 * the foot. Text layout (line breaking, Unicode, kerning) by Pango, the PDF written by cairo
 * (libpango1.0, libcairo2 from Debian). No I/O and no shared state: safe to call from a libuv
 * worker thread (each call has its own font map). */
#ifndef EHC_PDF_H
#define EHC_PDF_H

#include <stddef.h>

#include "ehc/common.h"

/* Renders into a malloc'd buffer (*pdf, *len). EHC_EINVAL when cairo reports an error. */
EHC_MUST_USE int ehc_pdf_render(const char *title, const char *const *paragraphs, size_t count, char **pdf,
                                size_t *len);

#endif
