/* The SEN2 return as one XML document, written from the rows ehc_sen2_xml_rows gives
 * (sql/0045_sen2_xml_rows.sql): the Header, then each Person with its Requests, each Request with its
 * Assessment, NamedPlan (PlanDetail rows) and ActivePlans (PlacementDetail and SENneed rows).
 *
 * The rows come in document order; each item column is named as its element, so the element names
 * are read from the result: an item added to the function needs no change here unless it opens a new
 * nesting. Empty (NULL) items are left out. Every value is escaped as XML 1.0 character data: & < >
 * as entities, and the characters XML 1.0 cannot hold (C0 controls other than tab, line feed and
 * carriage return; U+FFFE, U+FFFF) left out. */
#include "ehc/api.h"

#include <stdlib.h>
#include <string.h>

/* The columns of each part, first and last (inclusive), found by name when the writer starts. */
typedef struct {
    int kind, fragment;
    int person0, person1;
    int request0, request1;
    int has_assessment, assessment0, assessment1;
    int has_plan, plan0, plan1;
    int has_active, active0, active1;
    int placement0, placement1, leaving;
    int need0, need1;
} layout;

typedef struct {
    char *buf;
    size_t len, cap;
} out;

static void put(out *o, const char *s, size_t n)
{
    ehc_text_append(&o->buf, &o->len, &o->cap, s, n);
}

#define PUT(o, lit) put((o), (lit), sizeof(lit) - 1)

void ehc_sen2_xml_escape(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    size_t run = 0; /* bytes of s[i - run, i) to copy as they are */
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        const char *ent = NULL;
        size_t skip = 0;
        if (c == '&')
            ent = "&amp;";
        else if (c == '<')
            ent = "&lt;";
        else if (c == '>')
            ent = "&gt;";
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            skip = 1;
        else if (c == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBF &&
                 ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF))
            skip = 3; /* U+FFFE, U+FFFF */
        if (!ent && !skip) {
            run++;
            i++;
            continue;
        }
        if (run) ehc_text_append(buf, len, cap, s + i - run, run);
        run = 0;
        if (ent) {
            ehc_text_append(buf, len, cap, ent, strlen(ent));
            i++;
        } else {
            i += skip;
        }
    }
    if (run) ehc_text_append(buf, len, cap, s + n - run, run);
}

static int column(const PGresult *res, const char *name)
{
    return PQfnumber(res, name);
}

/* The column numbers by name; false when the result is not the function's (a column missing or out
 * of order): the writer then refuses rather than write a document with items in the wrong place. */
static bool find_layout(const PGresult *res, layout *l)
{
    /* PQfnumber folds unquoted names to lower case: the mixed-case element names are quoted */
    l->kind = column(res, "kind");
    l->fragment = column(res, "fragment");
    l->person0 = column(res, "\"PersonID\"");
    l->person1 = column(res, "\"UniqueLearnerNumber\"");
    l->request0 = column(res, "\"RequestID\"");
    l->request1 = column(res, "\"RequestTribunal\"");
    l->has_assessment = column(res, "has_assessment");
    l->assessment0 = l->has_assessment + 1;
    l->assessment1 = column(res, "\"Week20\"");
    l->has_plan = column(res, "has_plan");
    l->plan0 = l->has_plan + 1;
    l->plan1 = column(res, "\"CeaseReason\"");
    l->has_active = column(res, "has_active");
    l->active0 = l->has_active + 1;
    l->active1 = column(res, "\"PhaseTransferFinalDate\"");
    l->placement0 = column(res, "\"URN\"");
    l->leaving = column(res, "\"LeavingDate\"");
    l->placement1 = l->leaving;
    l->need0 = column(res, "\"SENtype\"");
    l->need1 = column(res, "\"SENtypeRank\"");
    int order[] = {l->kind,           l->fragment,    l->person0,  l->person1, l->request0,   l->request1,
                   l->has_assessment, l->assessment1, l->has_plan, l->plan1,   l->has_active, l->active1,
                   l->placement0,     l->leaving,     l->need0,    l->need1};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (order[i] < 0 || (i > 0 && order[i] < order[i - 1])) return false;
    return l->need1 == PQnfields(res) - 1;
}

/* <Name>value</Name> for each non-empty column of [first, last] */
static void items(out *o, const PGresult *res, int row, int first, int last)
{
    for (int c = first; c <= last; c++) {
        if (PQgetisnull(res, row, c)) continue;
        const char *name = PQfname(res, c);
        size_t nl = strlen(name);
        put(o, "<", 1);
        put(o, name, nl);
        put(o, ">", 1);
        ehc_sen2_xml_escape(&o->buf, &o->len, &o->cap, PQgetvalue(res, row, c),
                            (size_t)PQgetlength(res, row, c));
        put(o, "</", 2);
        put(o, name, nl);
        put(o, ">", 1);
    }
}

static bool flag(const PGresult *res, int row, int c)
{
    return !PQgetisnull(res, row, c) && PQgetvalue(res, row, c)[0] == 't';
}

static char kind_of(const PGresult *res, int row, const layout *l)
{
    return PQgetvalue(res, row, l->kind)[0];
}

/* One Request: the R row at *row and the L, D and N rows after it; *row is left on the next row. */
static void request(out *o, const PGresult *res, int *row, const layout *l, int n)
{
    int r = *row;
    PUT(o, "<Request>");
    items(o, res, r, l->request0, l->request1);
    int i = r + 1;
    if (flag(res, r, l->has_assessment)) {
        PUT(o, "<Assessment>");
        items(o, res, r, l->assessment0, l->assessment1);
        if (flag(res, r, l->has_plan)) {
            PUT(o, "<NamedPlan>");
            items(o, res, r, l->plan0, l->plan1);
            for (; i < n && kind_of(res, i, l) == 'L'; i++) {
                PUT(o, "<PlanDetail>");
                items(o, res, i, l->placement0, l->placement1);
                PUT(o, "</PlanDetail>");
            }
            PUT(o, "</NamedPlan>");
        }
        PUT(o, "</Assessment>");
    }
    for (; i < n && kind_of(res, i, l) == 'L'; i++) /* a plan without an Assessment cannot hold them */
        ;
    if (flag(res, r, l->has_active)) {
        PUT(o, "<ActivePlans>");
        items(o, res, r, l->active0, l->active1);
        for (; i < n && kind_of(res, i, l) == 'D'; i++) {
            PUT(o, "<PlacementDetail>");
            /* a current placement has no LeavingDate */
            items(o, res, i, l->placement0, l->leaving - 1);
            PUT(o, "</PlacementDetail>");
        }
        for (; i < n && kind_of(res, i, l) == 'N'; i++) {
            PUT(o, "<SENneed>");
            items(o, res, i, l->need0, l->need1);
            PUT(o, "</SENneed>");
        }
        PUT(o, "</ActivePlans>");
    }
    for (; i < n && strchr("LDN", kind_of(res, i, l)); i++)
        ;
    PUT(o, "</Request>");
    *row = i;
}

/* Whether the rows are in the order the document needs: the Header, then each Person followed by its
 * Requests, each Request by its PlanDetail, PlacementDetail and SENneed rows in that order. */
static bool in_order(const PGresult *res, const layout *l, int n)
{
    if (n < 1 || kind_of(res, 0, l) != 'H') return false;
    static const char *follows[] = {"P", "HPRLDN", "R", "PR", "L", "RL", "D", "RLD", "N", "RLDN"};
    for (int i = 1; i < n; i++) {
        char k = kind_of(res, i, l), before = kind_of(res, i - 1, l);
        bool ok = false;
        for (size_t f = 0; f < sizeof follows / sizeof follows[0]; f += 2)
            if (k == follows[f][0]) ok = strchr(follows[f + 1], before) != NULL;
        if (!ok) return false;
    }
    return true;
}

bool ehc_sen2_xml_rows_ok(const PGresult *res)
{
    layout l;
    return find_layout(res, &l) && in_order(res, &l, PQntuples(res));
}

int ehc_sen2_xml_write(const PGresult *res, void (*flush)(void *data, const char *bytes, size_t len),
                       void *data)
{
    layout l;
    int n = PQntuples(res);
    if (!find_layout(res, &l) || !in_order(res, &l, n)) return EHC_EINVAL;
    out o = {0};
    put(&o, PQgetvalue(res, 0, l.fragment), (size_t)PQgetlength(res, 0, l.fragment));
    for (int i = 1; i < n;) {
        PUT(&o, "<Person>");
        items(&o, res, i, l.person0, l.person1);
        PUT(&o, "<Requests>");
        for (i++; i < n && kind_of(res, i, &l) == 'R';)
            request(&o, res, &i, &l, n);
        PUT(&o, "</Requests></Person>");
        if (o.len >= 64 * 1024) {
            flush(data, o.buf, o.len);
            o.len = 0;
        }
    }
    PUT(&o, "</Persons></Message>\n");
    flush(data, o.buf, o.len);
    free(o.buf);
    return 0;
}
