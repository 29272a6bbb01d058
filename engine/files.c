/* Whole-file reads and content hashes for the data files ehcd loads (workflows, calendars) and the
 * secrets it stores only hashed. One implementation of each, shared by every loader. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/common.h"

void ehc_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32) {
        /* Only a broken libcrypto gets here; refusing to hash would let two versions look alike. */
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"SHA-256 unavailable from libcrypto\"}\n");
        abort();
    }
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < md_len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[64] = '\0';
}

int ehc_read_file(const char *path, size_t max_bytes, char **bytes, size_t *len, ehc_load_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ehc_load_error_set(err, path, "", "cannot open: %s", strerror(errno));
        return EHC_EIO;
    }
    size_t cap = 8192, n = 0;
    char *buf = ehc_malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = ehc_realloc(buf, cap + 1);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > max_bytes) {
            fclose(f);
            free(buf);
            ehc_load_error_set(err, path, "", "file is larger than %zu bytes", max_bytes);
            return EHC_EINVAL;
        }
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        ehc_load_error_set(err, path, "", "read failed");
        return EHC_EIO;
    }
    buf[n] = '\0';
    *bytes = buf;
    *len = n;
    return 0;
}
