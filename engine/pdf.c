/* Letters to PDF with Pango (layout) on a cairo PDF surface (include/ehc/pdf.h). */
#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/pdf.h"

#define PAGE_W 595.276 /* A4 in points */
#define PAGE_H 841.890
#define MARGIN 64.0
#define FOOT 36.0
#define PARA_GAP 8.0

typedef struct sink {
    char *buf;
    size_t len, cap;
} sink;

static cairo_status_t write_sink(void *closure, const unsigned char *data, unsigned int length)
{
    sink *s = closure;
    if (s->len + length > s->cap) {
        while (s->len + length > s->cap)
            s->cap = s->cap ? s->cap * 2 : 16384;
        s->buf = ehc_realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, data, length);
    s->len += length;
    return CAIRO_STATUS_SUCCESS;
}

typedef struct pager {
    cairo_t *cr;
    PangoFontMap *fonts;
    PangoContext *ctx;
    PangoFontDescription *body_font;
    double y;
    int page;
} pager;

static void page_foot(pager *p)
{
    PangoLayout *l = pango_layout_new(p->ctx);
    pango_layout_set_font_description(l, p->body_font);
    char text[32];
    snprintf(text, sizeof text, "Page %d", p->page);
    pango_layout_set_text(l, text, -1);
    pango_layout_set_width(l, (int)((PAGE_W - 2 * MARGIN) * PANGO_SCALE));
    pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
    cairo_move_to(p->cr, MARGIN, PAGE_H - FOOT);
    pango_cairo_show_layout(p->cr, l);
    g_object_unref(l);
}

static void next_page(pager *p)
{
    page_foot(p);
    cairo_show_page(p->cr);
    p->page++;
    p->y = MARGIN;
}

/* Lays out one block of text and draws it line by line, starting a new page where it must. */
static void flow(pager *p, const char *text, const PangoFontDescription *font)
{
    PangoLayout *l = pango_layout_new(p->ctx);
    pango_layout_set_font_description(l, font);
    pango_layout_set_width(l, (int)((PAGE_W - 2 * MARGIN) * PANGO_SCALE));
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_text(l, text, -1);
    PangoLayoutIter *it = pango_layout_get_iter(l);
    do {
        PangoRectangle logical;
        pango_layout_iter_get_line_extents(it, NULL, &logical);
        double h = (double)logical.height / PANGO_SCALE;
        if (p->y + h > PAGE_H - MARGIN - FOOT) next_page(p);
        double baseline = (double)(pango_layout_iter_get_baseline(it) - logical.y) / PANGO_SCALE;
        cairo_move_to(p->cr, MARGIN + (double)logical.x / PANGO_SCALE, p->y + baseline);
        pango_cairo_show_layout_line(p->cr, pango_layout_iter_get_line_readonly(it));
        p->y += h;
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
    g_object_unref(l);
    p->y += PARA_GAP;
}

/* One font map for every letter, made on first use: building one reads the system's font list
 * (about 150 ms), which a letter should not pay each time. Pango's font maps are not for sharing
 * between threads, so renders take turns; a letter is rare next to everything else the loop does. */
static pthread_mutex_t fonts_lock = PTHREAD_MUTEX_INITIALIZER;
static PangoFontMap *fonts;

void ehc_pdf_shutdown(void)
{
    pthread_mutex_lock(&fonts_lock);
    if (fonts) g_object_unref(fonts);
    fonts = NULL;
    pthread_mutex_unlock(&fonts_lock);
}

int ehc_pdf_render(const char *title, const char *const *paragraphs, size_t count, char **pdf, size_t *len)
{
    pthread_mutex_lock(&fonts_lock);
    if (!fonts) fonts = pango_cairo_font_map_new();
    sink s = {0};
    cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(write_sink, &s, PAGE_W, PAGE_H);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "ehcd");
    pager p = {.cr = cairo_create(surface), .page = 1, .y = MARGIN};
    p.fonts = fonts;
    p.ctx = pango_font_map_create_context(p.fonts);
    pango_cairo_update_context(p.cr, p.ctx);
    p.body_font = pango_font_description_from_string("DejaVu Sans 10.5");
    PangoFontDescription *title_font = pango_font_description_from_string("DejaVu Sans Bold 14");
    cairo_set_source_rgb(p.cr, 0, 0, 0);
    flow(&p, title, title_font);
    p.y += PARA_GAP;
    for (size_t i = 0; i < count; i++)
        flow(&p, paragraphs[i], p.body_font);
    page_foot(&p);
    cairo_show_page(p.cr);
    pango_font_description_free(title_font);
    pango_font_description_free(p.body_font);
    g_object_unref(p.ctx);
    cairo_destroy(p.cr);
    cairo_surface_finish(surface);
    cairo_status_t st = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    pthread_mutex_unlock(&fonts_lock);
    if (st != CAIRO_STATUS_SUCCESS) {
        free(s.buf);
        return EHC_EINVAL;
    }
    *pdf = s.buf;
    *len = s.len;
    return 0;
}

#if defined(__SANITIZE_ADDRESS__)
/* fontconfig allocates its configuration once per process and never frees it (288 bytes, the same
 * after one render or a thousand: measured under LeakSanitizer). Only that is excused; any other
 * leak, ours or Pango's or cairo's, still fails the build's sanitizer run. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}
#endif
