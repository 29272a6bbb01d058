/* Passwords and secrets: Argon2id hashing (libargon2, RFC 9106, OWASP's minimum parameters) and
 * random tokens from the kernel's CSPRNG. Plain secrets are never stored or logged. */
#ifndef EHC_CREDENTIAL_H
#define EHC_CREDENTIAL_H

#include "ehc/common.h"

#define EHC_PASSWORD_HASH_MAX 128

/* Hashes password with a fresh random salt into out (PHC string "$argon2id$v=19$m=...,t=...,p=...$..."). */
EHC_MUST_USE int ehc_password_hash(const char *password, char *out, size_t outlen);

/* 0 when password matches hash, EHC_EINVAL otherwise (including a malformed hash). */
EHC_MUST_USE int ehc_password_verify(const char *hash, const char *password);

/* nbytes random bytes as URL-safe text without padding (base64url), written to out (size >= 4*nbytes/3+2). */
EHC_MUST_USE int ehc_random_token(size_t nbytes, char *out, size_t outlen);

#endif
