/* The SEN2 XML writer (api/sen2_xml.c) on rows built by hand in the shape of ehc_sen2_xml_rows
 * (sql/0045): the nesting of Person, Request, Assessment, NamedPlan, PlanDetail, ActivePlans,
 * PlacementDetail and SENneed; empty items left out; every value escaped so that a real XML parser
 * reads back exactly the text stored; rows out of order refused before anything is written.
 * e2e/test_sen2 checks the items of a whole generated return through the API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "ehc/api.h"

/* the columns of ehc_sen2_xml_rows, in its order */
static const char *const COLUMNS[] = {"kind",
                                      "child_id",
                                      "case_id",
                                      "ord",
                                      "fragment",
                                      "PersonID",
                                      "Surname",
                                      "Forename",
                                      "PersonBirthDate",
                                      "Sex",
                                      "Ethnicity",
                                      "PostCode",
                                      "UPN",
                                      "UniqueLearnerNumber",
                                      "RequestID",
                                      "ReceivedDate",
                                      "RYA",
                                      "RequestOutcomeDate",
                                      "RequestOutcome",
                                      "RequestMediation",
                                      "RequestTribunal",
                                      "has_assessment",
                                      "AssessmentOutcome",
                                      "AssessmentOutcomeDate",
                                      "AssessmentMediation",
                                      "AssessmentTribunal",
                                      "OtherMediation",
                                      "OtherTribunal",
                                      "Week20",
                                      "has_plan",
                                      "StartDate",
                                      "PlanRes",
                                      "PlanWBP",
                                      "PB",
                                      "OA",
                                      "DP",
                                      "CeaseDate",
                                      "CeaseReason",
                                      "has_active",
                                      "TransferLA",
                                      "ReviewMeeting",
                                      "ReviewOutcome",
                                      "ReviewDecisionDate",
                                      "DraftAmendedPlanDate",
                                      "PhaseTransferDueDate",
                                      "PhaseTransferFinalDate",
                                      "URN",
                                      "UKPRN",
                                      "SENsetting",
                                      "PlacementRank",
                                      "SENUnitIndicator",
                                      "ResourcedProvisionIndicator",
                                      "EntryDate",
                                      "LeavingDate",
                                      "SENtype",
                                      "SENtypeRank"};
#define NCOL ((int)(sizeof COLUMNS / sizeof COLUMNS[0]))

static const char HEADER[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Message><Header><CollectionDetails>"
    "<Collection>SEN2</Collection><Year>2026</Year></CollectionDetails></Header><Persons>";

static int col(const char *name)
{
    for (int i = 0; i < NCOL; i++)
        if (!strcmp(COLUMNS[i], name)) return i;
    fail_msg("no column %s", name);
    return -1;
}

static PGresult *result(int ncol)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[NCOL];
    memset(attrs, 0, sizeof attrs);
    for (int i = 0; i < ncol; i++)
        attrs[i].name = (char *)COLUMNS[i];
    assert_true(PQsetResultAttrs(res, ncol, attrs));
    return res;
}

/* one row: its kind, then name/value pairs up to NULL; every other column NULL */
static void row(PGresult *res, const char *kind, ...)
{
    int r = PQntuples(res);
    for (int c = 0; c < PQnfields(res); c++)
        assert_true(PQsetvalue(res, r, c, NULL, -1));
    assert_true(PQsetvalue(res, r, 0, (char *)kind, (int)strlen(kind)));
    va_list ap;
    va_start(ap, kind);
    for (const char *name; (name = va_arg(ap, const char *));) {
        const char *value = va_arg(ap, const char *);
        assert_true(PQsetvalue(res, r, col(name), (char *)value, (int)strlen(value)));
    }
    va_end(ap);
}

typedef struct {
    char *buf;
    size_t len, cap;
    int flushes;
} sink;

static void flush(void *data, const char *bytes, size_t len)
{
    sink *s = data;
    ehc_text_append(&s->buf, &s->len, &s->cap, bytes, len);
    s->flushes++;
}

static char *xpath(xmlDoc *doc, const char *expr)
{
    xmlXPathContext *ctx = xmlXPathNewContext(doc);
    xmlXPathObject *o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    char *out = NULL;
    if (o && o->type == XPATH_STRING) out = ehc_strdup((const char *)o->stringval);
    if (o && o->type == XPATH_NUMBER) out = ehc_asprintf("%g", o->floatval);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    return out;
}

static void assert_xpath(xmlDoc *doc, const char *expr, const char *want)
{
    char *got = xpath(doc, expr);
    assert_non_null(got);
    if (strcmp(got, want)) fail_msg("%s: got \"%s\", want \"%s\"", expr, got, want);
    free(got);
}

static void test_nesting_and_escaping(void **state)
{
    (void)state;
    PGresult *res = result(NCOL);
    row(res, "H", "fragment", HEADER, NULL);
    /* a person with two requests: the first refused, the second with a plan, two placements in the
     * year, one current, and two needs */
    row(res, "P", "PersonID", "7", "Surname", "O'Brien & <Sons>", "Forename", "Zo\xc3\xab\x01\x1f\tAnn",
        "PersonBirthDate", "2014-02-28", "Sex", "F", NULL);
    row(res, "R", "RequestID", "R-1", "ReceivedDate", "2025-01-06", "RequestOutcome", "N", "has_assessment",
        "f", "has_plan", "f", "has_active", "f", NULL);
    row(res, "R", "RequestID", "R-2", "ReceivedDate", "2025-03-03", "RequestOutcome", "Y", "has_assessment",
        "t", "AssessmentOutcome", "Y", "Week20", "1", "has_plan", "t", "StartDate", "2025-07-14", "PB", "0",
        "CeaseReason", "a>b\xef\xbf\xbe", "has_active", "t", "ReviewOutcome", "continue", NULL);
    row(res, "L", "URN", "100001", "PlacementRank", "1", "EntryDate", "2025-07-14", "LeavingDate",
        "2025-12-19", NULL);
    row(res, "L", "SENsetting", "EHE", "PlacementRank", "2", "EntryDate", "2026-01-05", NULL);
    row(res, "D", "SENsetting", "EHE", "PlacementRank", "2", "EntryDate", "2026-01-05", NULL);
    row(res, "N", "SENtype", "ASD", "SENtypeRank", "1", NULL);
    row(res, "N", "SENtype", "SLCN", "SENtypeRank", "2", NULL);
    /* a second person, with a request still open */
    row(res, "P", "PersonID", "9", "Surname", "Smith", NULL);
    row(res, "R", "RequestID", "R-3", "ReceivedDate", "2025-11-03", "has_assessment", "f", "has_plan", "f",
        "has_active", "f", NULL);
    assert_true(ehc_sen2_xml_rows_ok(res));

    sink s = {0};
    assert_int_equal(ehc_sen2_xml_write(res, flush, &s), 0);
    PQclear(res);
    assert_non_null(strstr(s.buf, "</Persons></Message>\n"));
    xmlDoc *doc = xmlReadMemory(s.buf, (int)s.len, "sen2.xml", NULL, XML_PARSE_NONET);
    assert_non_null(doc); /* well-formed */

    assert_xpath(doc, "count(/Message/Persons/Person)", "2");
    assert_xpath(doc, "string(/Message/Persons/Person[1]/Surname)", "O'Brien & <Sons>");
    /* the control characters XML 1.0 cannot hold are left out; a tab is kept */
    assert_xpath(doc, "string(/Message/Persons/Person[1]/Forename)", "Zo\xc3\xab\tAnn");
    assert_xpath(doc, "count(/Message/Persons/Person[1]/Ethnicity)", "0"); /* NULL: no element */
    assert_xpath(doc, "count(/Message/Persons/Person[1]/Requests/Request)", "2");
    assert_xpath(doc, "count(/Message/Persons/Person[1]/Requests/Request[1]/Assessment)", "0");
    assert_xpath(doc, "count(/Message/Persons/Person[1]/Requests/Request[1]/ActivePlans)", "0");
    const char *plan = "/Message/Persons/Person[1]/Requests/Request[2]/Assessment/NamedPlan";
    char q[256];
    snprintf(q, sizeof q, "string(%s/StartDate)", plan);
    assert_xpath(doc, q, "2025-07-14");
    snprintf(q, sizeof q, "string(%s/CeaseReason)", plan);
    assert_xpath(doc, q, "a>b"); /* U+FFFE left out */
    snprintf(q, sizeof q, "count(%s/PlanDetail)", plan);
    assert_xpath(doc, q, "2");
    snprintf(q, sizeof q, "string(%s/PlanDetail[1]/LeavingDate)", plan);
    assert_xpath(doc, q, "2025-12-19");
    snprintf(q, sizeof q, "string(%s/PlanDetail[2]/SENsetting)", plan);
    assert_xpath(doc, q, "EHE");
    const char *active = "/Message/Persons/Person[1]/Requests/Request[2]/ActivePlans";
    snprintf(q, sizeof q, "string(%s/ReviewOutcome)", active);
    assert_xpath(doc, q, "continue");
    snprintf(q, sizeof q, "count(%s/PlacementDetail)", active);
    assert_xpath(doc, q, "1");
    snprintf(q, sizeof q, "string(%s/SENneed[2]/SENtype)", active);
    assert_xpath(doc, q, "SLCN");
    /* the elements in the order the return's schema gives */
    assert_non_null(strstr(s.buf, "<Request><RequestID>R-2</RequestID><ReceivedDate>2025-03-03</ReceivedDate>"
                                  "<RequestOutcome>Y</RequestOutcome><Assessment><AssessmentOutcome>Y"));
    assert_non_null(strstr(s.buf, "</PlanDetail></NamedPlan></Assessment><ActivePlans><ReviewOutcome>"));
    assert_non_null(strstr(s.buf, "</SENneed></ActivePlans></Request></Requests></Person><Person>"));
    assert_xpath(doc, "string(/Message/Persons/Person[2]/Requests/Request/RequestID)", "R-3");
    xmlFreeDoc(doc);
    free(s.buf);
}

/* Rows out of the document's order, or a result of another shape, are refused and nothing is
 * written. */
static void test_refuses_rows_out_of_order(void **state)
{
    (void)state;
    sink s = {0};
    PGresult *res = result(NCOL);
    row(res, "H", "fragment", HEADER, NULL);
    row(res, "R", "RequestID", "R-1", NULL); /* a request before any person */
    assert_false(ehc_sen2_xml_rows_ok(res));
    assert_int_equal(ehc_sen2_xml_write(res, flush, &s), EHC_EINVAL);
    PQclear(res);

    res = result(NCOL);
    row(res, "P", "PersonID", "1", NULL); /* no Header first */
    assert_int_equal(ehc_sen2_xml_write(res, flush, &s), EHC_EINVAL);
    PQclear(res);

    res = result(NCOL);
    row(res, "H", "fragment", HEADER, NULL);
    row(res, "P", "PersonID", "1", NULL);
    row(res, "R", "RequestID", "R-1", NULL);
    row(res, "N", "SENtype", "ASD", NULL);
    row(res, "D", "PlacementRank", "1", NULL); /* a placement after the needs */
    assert_int_equal(ehc_sen2_xml_write(res, flush, &s), EHC_EINVAL);
    PQclear(res);

    res = result(NCOL - 1); /* a column missing */
    row(res, "H", "fragment", HEADER, NULL);
    assert_int_equal(ehc_sen2_xml_write(res, flush, &s), EHC_EINVAL);
    PQclear(res);
    assert_int_equal(s.flushes, 0);
    free(s.buf);
}

/* A large return is handed on in pieces, not built whole first. */
static void test_written_in_pieces(void **state)
{
    (void)state;
    PGresult *res = result(NCOL);
    row(res, "H", "fragment", HEADER, NULL);
    for (int i = 0; i < 2000; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i + 1);
        row(res, "P", "PersonID", id, "Surname", "Child", "Forename", "Bench", NULL);
        row(res, "R", "RequestID", id, "ReceivedDate", "2025-01-06", "has_assessment", "f", "has_plan", "f",
            "has_active", "f", NULL);
    }
    sink s = {0};
    assert_int_equal(ehc_sen2_xml_write(res, flush, &s), 0);
    PQclear(res);
    assert_true(s.flushes > 2);
    xmlDoc *doc = xmlReadMemory(s.buf, (int)s.len, "sen2.xml", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    assert_xpath(doc, "count(/Message/Persons/Person/Requests/Request)", "2000");
    xmlFreeDoc(doc);
    free(s.buf);
}

static void test_escape(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    const char in[] = "a&b<c>d\"e'f\r\n\x7f\x0b\xef\xbf\xbf\xef\xbf\xbdg";
    ehc_sen2_xml_escape(&buf, &len, &cap, in, sizeof in - 1);
    /* quotes need no escaping in character data; DEL and U+FFFD are allowed in XML 1.0 */
    assert_string_equal(buf, "a&amp;b&lt;c&gt;d\"e'f\r\n\x7f\xef\xbf\xbdg");
    assert_int_equal(len, strlen(buf));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nesting_and_escaping),
        cmocka_unit_test(test_refuses_rows_out_of_order),
        cmocka_unit_test(test_written_in_pieces),
        cmocka_unit_test(test_escape),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
