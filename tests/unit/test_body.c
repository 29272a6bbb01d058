/* Unit tests of api/body.c through ehc_api_body_parse, the checks every JSON request body passes
 * before a handler reads it: the status, code and member each refusal names. The long-name cases
 * are the regression for what fuzz_body found (tests/fuzz/regressions/body/): a member name cut to
 * size inside a UTF-8 character made the error reply's "field" text that is not UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ehc/api.h"

#define E_ACUTE "\xc3\xa9" /* é: two bytes */

static cJSON *parse(const char *type, const char *body, ehc_api_body_error *err)
{
    return ehc_api_body_parse(type, body, strlen(body), err);
}

static void repeat(char *out, const char *unit, int times)
{
    out[0] = '\0';
    for (int i = 0; i < times; i++)
        strcat(out, unit);
}

static void test_accepts_one_object(void **state)
{
    ehc_api_body_error err;
    cJSON *obj =
        parse("application/json; charset=utf-8", " {\"type\": \"panel_listed\", \"fields\": {}}\r\n", &err);
    assert_non_null(obj);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(obj, "type")->valuestring, "panel_listed");
    cJSON_Delete(obj);
}

static void test_refusals_name_status_code_and_member(void **state)
{
    ehc_api_body_error err;
    assert_null(parse(NULL, "{}", &err));
    assert_int_equal(err.status, 415);
    assert_string_equal(err.code, "unsupported_media_type");

    assert_null(parse("text/plain", "{}", &err));
    assert_int_equal(err.status, 415);

    assert_null(parse("application/json", "{\"a\":1} {\"b\":2}", &err));
    assert_int_equal(err.status, 400);
    assert_string_equal(err.code, "malformed_json");

    assert_null(parse("application/json", "[1]", &err));
    assert_int_equal(err.status, 422);
    assert_string_equal(err.code, "invalid_body");

    assert_null(parse("application/json", "{\"fields\":{\"note\":\"a\\u0000b\"}}", &err));
    assert_int_equal(err.status, 422);
    assert_string_equal(err.code, "invalid_text");
    assert_string_equal(err.field, "fields.note");

    assert_null(parse("application/json", "{\"child\":{\"surname\":\"\xc3\x28\"}}", &err));
    assert_int_equal(err.status, 400);
    assert_string_equal(err.code, "invalid_utf8");
    assert_string_equal(err.field, "child.surname");

    assert_null(parse("application/json", "{\"fields\":{\"x\":1,\"y\":2,\"x\":3}}", &err));
    assert_int_equal(err.status, 422);
    assert_string_equal(err.code, "duplicate_member");
    assert_string_equal(err.field, "fields.x");
    assert_string_equal(err.message, "'fields.x' is given more than once");
}

/* A repeated member whose 121-byte name is cut to 100 bytes: byte 100 is the second byte of an é,
 * so the name is cut before that é (99 bytes), never inside it. */
/* fuzz_body: a bad \u escape in a member name must not hide the invalid byte after it, nor carry it
 * into the refusal's "field" */
static void test_a_bad_escape_does_not_hide_an_invalid_byte(void **state)
{
    (void)state;
    ehc_api_body_error err;
    assert_null(parse("application/json", "{\"a\\u0u0\xa2\":\"\xe2\"}", &err));
    assert_int_equal(err.status, 400);
    assert_string_equal(err.code, "invalid_utf8");
    for (const char *p = err.field; *p; p++)
        assert_true((unsigned char)*p < 0x80);
}

static void test_long_repeated_name_is_cut_between_characters(void **state)
{
    char name[256], want[256], body[600];
    repeat(name + 1, E_ACUTE, 60);
    name[0] = 'a';
    snprintf(body, sizeof body, "{\"%s\":1,\"%s\":2}", name, name);
    want[0] = 'a';
    repeat(want + 1, E_ACUTE, 49);
    ehc_api_body_error err;
    assert_null(parse("application/json", body, &err));
    assert_string_equal(err.code, "duplicate_member");
    assert_int_equal(strlen(err.field), 99);
    assert_string_equal(err.field, want);
    char msg[300];
    snprintf(msg, sizeof msg, "'%s' is given more than once", want);
    assert_string_equal(err.message, msg);
}

/* A path that outgrows its 160 bytes: "k...k" (79 bytes) "." then a name of é's; 79 bytes of room
 * are left, and the 80th byte would split an é, so 39 é's (78 bytes) are kept. */
static void test_long_path_is_cut_between_characters(void **state)
{
    char outer[100], inner[256], want[300], body[800];
    memset(outer, 'k', 79);
    outer[79] = '\0';
    repeat(inner, E_ACUTE, 60);
    snprintf(body, sizeof body, "{\"%s\":{\"%s\":\"\xc3\x28\"}}", outer, inner);
    char kept[100];
    repeat(kept, E_ACUTE, 39);
    snprintf(want, sizeof want, "%s.%s", outer, kept);
    ehc_api_body_error err;
    assert_null(parse("application/json", body, &err));
    assert_string_equal(err.code, "invalid_utf8");
    assert_string_equal(err.field, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_one_object),
        cmocka_unit_test(test_refusals_name_status_code_and_member),
        cmocka_unit_test(test_a_bad_escape_does_not_hide_an_invalid_byte),
        cmocka_unit_test(test_long_repeated_name_is_cut_between_characters),
        cmocka_unit_test(test_long_path_is_cut_between_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
