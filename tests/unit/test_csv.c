/* The RFC 4180 reader: what a council's export looks like (quotes, commas and line breaks inside
 * fields, CRLF, a byte order mark, no final line end) is read exactly, and every malformed input is
 * refused with the record, field and line of the fault. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#include "ehc/csv.h"

static ehc_csv_table parse_ok(const char *text)
{
    ehc_csv_table t;
    ehc_csv_error err;
    int rc = ehc_csv_parse(text, strlen(text), &t, &err);
    if (rc)
        fail_msg("refused: record %zu field %zu line %zu: %s", err.record, err.field, err.line, err.reason);
    return t;
}

static void test_plain_quoted_and_line_ends(void **state)
{
    (void)state;
    ehc_csv_table t = parse_ok("\xEF\xBB\xBF"
                               "a,b,c\r\n"
                               "1,\"two, with comma\",\"say \"\"hi\"\"\"\r\n"
                               "\"multi\nline\",,last\n"
                               "x,y,z");
    assert_int_equal(t.count, 4);
    assert_string_equal(t.records[0].fields[0], "a"); /* the byte order mark is not part of the field */
    assert_string_equal(t.records[1].fields[1], "two, with comma");
    assert_string_equal(t.records[1].fields[2], "say \"hi\"");
    assert_string_equal(t.records[2].fields[0], "multi\nline");
    assert_string_equal(t.records[2].fields[1], "");
    assert_int_equal(t.records[2].count, 3);
    assert_int_equal(t.records[2].line, 3);
    assert_int_equal(t.records[3].line, 5); /* the quoted line break counted */
    assert_string_equal(t.records[3].fields[2], "z");
    ehc_csv_table_free(&t);
}

static void test_trailing_empty_field_and_blank_last_line(void **state)
{
    (void)state;
    ehc_csv_table t = parse_ok("a,b,\n\n");
    assert_int_equal(t.count, 1);
    assert_int_equal(t.records[0].count, 3);
    assert_string_equal(t.records[0].fields[2], "");
    ehc_csv_table_free(&t);
}

static void expect_fault(const char *text, size_t len, size_t record, size_t field, size_t line,
                         const char *reason)
{
    ehc_csv_table t;
    ehc_csv_error err;
    assert_int_equal(ehc_csv_parse(text, len, &t, &err), EHC_EINVAL);
    assert_int_equal(t.count, 0);
    assert_null(t.records);
    assert_int_equal(err.record, record);
    assert_int_equal(err.field, field);
    assert_int_equal(err.line, line);
    if (!strstr(err.reason, reason)) fail_msg("reason '%s' does not say '%s'", err.reason, reason);
}

static void test_faults_are_placed(void **state)
{
    (void)state;
    expect_fault("a,b\n1,x\"y\n", sizeof "a,b\n1,x\"y\n" - 1, 2, 2, 2, "quote inside an unquoted field");
    expect_fault("a,b\n1,\"xy\"z\n", sizeof "a,b\n1,\"xy\"z\n" - 1, 2, 2, 2, "after a closing quote");
    expect_fault("a,b\n1,\"never\nclosed\n", sizeof "a,b\n1,\"never\nclosed\n" - 1, 2, 2, 2, "never closed");
    expect_fault("a,b\n1,2\r3\n", sizeof "a,b\n1,2\r3\n" - 1, 2, 2, 2, "carriage return");
    expect_fault("a,b\n\n1,2\n", sizeof "a,b\n\n1,2\n" - 1, 2, 1, 2, "blank line");
    expect_fault("a,b\n1,\xff\xfe\n", sizeof "a,b\n1,\xff\xfe\n" - 1, 2, 2, 2, "not UTF-8");
    expect_fault("a,b\n1,\xc0\xaf\n", sizeof "a,b\n1,\xc0\xaf\n" - 1, 2, 2, 2,
                 "not UTF-8"); /* an overlong encoding of '/' */
    expect_fault("a,b\n1,x\0y\n", sizeof "a,b\n1,x\0y\n" - 1, 2, 2, 2, "NUL");
}

static void test_limits(void **state)
{
    (void)state;
    size_t n = EHC_CSV_MAX_FIELD + 10;
    char *big = ehc_malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    expect_fault(big, n, 1, 1, 1, "longer than");
    free(big);
    char many[2 * (EHC_CSV_MAX_FIELDS + 2)];
    size_t k = 0;
    for (int i = 0; i < EHC_CSV_MAX_FIELDS + 1; i++) {
        many[k++] = 'a';
        many[k++] = ',';
    }
    many[k++] = 'a';
    expect_fault(many, k, 1, EHC_CSV_MAX_FIELDS + 1, 1, "more than 256 fields");
}

static void test_writer_round_trips(void **state)
{
    (void)state;
    const char *values[] = {"plain", "with, comma", "with \"quote\"", "two\nlines", ""};
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (size_t i = 0; i < 5; i++) {
        if (i) ehc_text_append(&buf, &len, &cap, ",", 1);
        ehc_csv_append_field(&buf, &len, &cap, values[i]);
    }
    ehc_csv_table t = parse_ok(buf);
    assert_int_equal(t.count, 1);
    assert_int_equal(t.records[0].count, 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(t.records[0].fields[i], values[i]);
    ehc_csv_table_free(&t);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_quoted_and_line_ends),
        cmocka_unit_test(test_trailing_empty_field_and_blank_last_line),
        cmocka_unit_test(test_faults_are_placed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_writer_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
