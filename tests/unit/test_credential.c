/* Passwords are stored only as Argon2id hashes that verify the right password and no other;
 * random tokens are URL-safe and differ every time. */
#include <string.h>

#include "ehc/credential.h"
#include "testlib.h"

static void test_password_hash_is_argon2id_and_verifies(void **state)
{
    char hash[EHC_PASSWORD_HASH_MAX];
    assert_int_equal(ehc_password_hash("correct horse battery staple", hash, sizeof hash), 0);
    assert_memory_equal(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31);
    assert_int_equal(ehc_password_verify(hash, "correct horse battery staple"), 0);
    assert_int_equal(ehc_password_verify(hash, "correct horse battery stapl"), EHC_EINVAL);
    assert_int_equal(ehc_password_verify(hash, ""), EHC_EINVAL);
}

static void test_same_password_gets_a_different_salt(void **state)
{
    char a[EHC_PASSWORD_HASH_MAX], b[EHC_PASSWORD_HASH_MAX];
    assert_int_equal(ehc_password_hash("pw", a, sizeof a), 0);
    assert_int_equal(ehc_password_hash("pw", b, sizeof b), 0);
    assert_string_not_equal(a, b);
}

static void test_malformed_hash_never_verifies(void **state)
{
    assert_int_equal(ehc_password_verify("$argon2id$garbage", "pw"), EHC_EINVAL);
    assert_int_equal(ehc_password_verify("", "pw"), EHC_EINVAL);
}

static void test_random_token_is_url_safe_and_unique(void **state)
{
    char a[64], b[64];
    assert_int_equal(ehc_random_token(18, a, sizeof a), 0);
    assert_int_equal(ehc_random_token(18, b, sizeof b), 0);
    assert_int_equal(strlen(a), 24); /* 18 bytes = 144 bits = 24 base64 characters */
    assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 24);
    assert_string_not_equal(a, b);
    assert_int_equal(ehc_random_token(18, a, 10), EHC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash_is_argon2id_and_verifies),
        cmocka_unit_test(test_same_password_gets_a_different_salt),
        cmocka_unit_test(test_malformed_hash_never_verifies),
        cmocka_unit_test(test_random_token_is_url_safe_and_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
