/* NHS numbers and UPNs are refused unless their check character is right. Literal examples worked
 * by hand; the database's own check functions are tested against the same examples in
 * tests/integration/test_schema.c. */
#include "ehc/identifiers.h"
#include "testlib.h"

static void test_nhs_number_needs_its_modulus_11_check_digit(void **state)
{
    assert_true(ehc_nhs_number_valid(
        "9434765919")); /* 9x10+4x9+3x8+4x7+7x6+6x5+5x4+9x3+1x2 = 299; 299 mod 11 = 2; 11-2 = 9 */
    assert_false(ehc_nhs_number_valid("9434765918"));
    assert_true(ehc_nhs_number_valid("1000000060")); /* sum 22, remainder 0: check digit 0 */
    for (char d = '0'; d <= '9'; d++) {              /* sum 12, remainder 1: check 10, never valid */
        char n[11] = "100000001?";
        n[9] = d;
        assert_false(ehc_nhs_number_valid(n));
    }
    assert_false(ehc_nhs_number_valid("943476591"));
    assert_false(ehc_nhs_number_valid("94347659190"));
    assert_false(ehc_nhs_number_valid("943 476 5919"));
    assert_false(ehc_nhs_number_valid("94347659a9"));
    assert_false(ehc_nhs_number_valid(""));
    assert_false(ehc_nhs_number_valid(NULL));
}

static void test_upn_needs_its_check_letter(void **state)
{
    /* E353200126001: 3x2+5x3+3x4+2x5+0x6+0x7+1x8+2x9+6x10+0x11+0x12+1x13 = 142; 142 mod 23 = 4 -> E */
    assert_true(ehc_upn_valid("E353200126001"));
    assert_false(ehc_upn_valid("F353200126001"));
    /* a temporary UPN ends in a letter: A counts 0, so the sum is 129; 129 mod 23 = 14 -> Q */
    assert_true(ehc_upn_valid("Q35320012600A"));
    assert_false(ehc_upn_valid("Q35320012600B"));
    assert_false(ehc_upn_valid("I353200126001")); /* I, O and S are never used */
    assert_false(ehc_upn_valid("E35320012600"));
    assert_false(ehc_upn_valid("E3532001260011"));
    assert_false(ehc_upn_valid("E3532A0126001"));
    assert_false(ehc_upn_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nhs_number_needs_its_modulus_11_check_digit),
        cmocka_unit_test(test_upn_needs_its_check_letter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
