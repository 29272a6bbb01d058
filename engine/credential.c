/* Argon2id password hashing and random secrets. Parameters follow OWASP's password storage
 * guidance for Argon2id (19 MiB, 2 iterations, 1 lane); the PHC string records them, so they can
 * be raised later without invalidating stored hashes. */
#include "ehc/credential.h"

#include <argon2.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define EHC_ARGON2_T_COST 2
#define EHC_ARGON2_M_COST_KIB 19456
#define EHC_ARGON2_PARALLELISM 1
#define EHC_ARGON2_SALT_BYTES 16
#define EHC_ARGON2_HASH_BYTES 32

static int fill_random(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return EHC_EIO;
        }
        got += (size_t)r;
    }
    return 0;
}

int ehc_password_hash(const char *password, char *out, size_t outlen)
{
    unsigned char salt[EHC_ARGON2_SALT_BYTES];
    if (fill_random(salt, sizeof salt)) return EHC_EIO;
    int rc = argon2id_hash_encoded(EHC_ARGON2_T_COST, EHC_ARGON2_M_COST_KIB, EHC_ARGON2_PARALLELISM, password,
                                   strlen(password), salt, sizeof salt, EHC_ARGON2_HASH_BYTES, out, outlen);
    return rc == ARGON2_OK ? 0 : EHC_EINVAL;
}

int ehc_password_verify(const char *hash, const char *password)
{
    return argon2id_verify(hash, password, strlen(password)) == ARGON2_OK ? 0 : EHC_EINVAL;
}

int ehc_random_token(size_t nbytes, char *out, size_t outlen)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[256];
    if (nbytes == 0 || nbytes > sizeof raw) return EHC_EINVAL;
    size_t need = (nbytes * 8 + 5) / 6 + 1;
    if (outlen < need) return EHC_EINVAL;
    if (fill_random(raw, nbytes)) return EHC_EIO;
    size_t n = 0;
    unsigned int acc = 0;
    int bits = 0;
    for (size_t i = 0; i < nbytes; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0) out[n++] = alphabet[(acc << (6 - bits)) & 63];
    out[n] = '\0';
    return 0;
}
