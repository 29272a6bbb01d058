/* What a case may hold: a file's type from its first bytes (not what the client says), and a client's
 * file name made safe to store and to send back. */
#include <stddef.h>
#include <string.h>

#include "ehc/api.h"
#include "testlib.h"

static void test_each_type_is_known_by_its_bytes_and_nothing_else_passes(void **state)
{
    (void)state;
    assert_string_equal(ehc_document_sniff("%PDF-1.4\n...", 12), "application/pdf");
    assert_string_equal(ehc_document_sniff("\x89PNG\r\n\x1a\n....", 12), "image/png");
    assert_string_equal(ehc_document_sniff("\xff\xd8\xff\xe0....", 8), "image/jpeg");
    char odt[120] = "PK\x03\x04";
    memcpy(odt + 30, "mimetype", 8);
    memcpy(odt + 38, "application/vnd.oasis.opendocument.text", 39);
    memcpy(odt + 77, "PK", 2);
    assert_string_equal(ehc_document_sniff(odt, sizeof odt), "application/vnd.oasis.opendocument.text");
    /* an ODF spreadsheet is not a text document */
    memcpy(odt + 38, "application/vnd.oasis.opendocument.sheet", 40);
    assert_null(ehc_document_sniff(odt, sizeof odt));
    char docx[200] = "PK\x03\x04";
    memcpy(docx + 30, "[Content_Types].xml", 19);
    memcpy(docx + 120, "word/document.xml", 17);
    assert_string_equal(ehc_document_sniff(docx, sizeof docx),
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    /* a zip that is not a Word document */
    memcpy(docx + 120, "xl/workbook.xml\0\0", 17);
    assert_null(ehc_document_sniff(docx, sizeof docx));
    assert_string_equal(ehc_document_sniff("Dear parent,\r\n\tcaf\xc3\xa9\n", 21), "text/plain");
    assert_null(ehc_document_sniff("text with a NUL\0", 16));
    assert_null(ehc_document_sniff("bad \xc3\x28 utf-8", 12));
    assert_null(ehc_document_sniff("overlong \xc0\xaf", 11));
    assert_null(ehc_document_sniff("escape \x1b[31m", 12));
    assert_null(ehc_document_sniff("\x7f"
                                   "ELF\x02\x01",
                                   6));
}

static void test_a_file_name_keeps_its_last_segment_and_loses_what_could_harm(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(ehc_document_file_name("C:\\Users\\x\\report.pdf", out, sizeof out), 0);
    assert_string_equal(out, "report.pdf");
    assert_int_equal(ehc_document_file_name("../../etc/passwd", out, sizeof out), 0);
    assert_string_equal(out, "passwd");
    assert_int_equal(ehc_document_file_name("a\"b;c\r\nd.txt", out, sizeof out), 0);
    assert_string_equal(out, "a_b_c__d.txt");
    assert_int_equal(ehc_document_file_name("  .hidden. ", out, sizeof out), 0);
    assert_string_equal(out, "hidden");
    assert_int_equal(ehc_document_file_name("Cynllun caf\xc3\xa9.odt", out, sizeof out), 0);
    assert_string_equal(out, "Cynllun caf\xc3\xa9.odt");
    assert_int_equal(ehc_document_file_name("..", out, sizeof out), EHC_EINVAL);
    assert_int_equal(ehc_document_file_name("dir/", out, sizeof out), EHC_EINVAL);
    char long_name[230];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(ehc_document_file_name(long_name, out, sizeof out), EHC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_type_is_known_by_its_bytes_and_nothing_else_passes),
        cmocka_unit_test(test_a_file_name_keeps_its_last_segment_and_loses_what_could_harm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
