/* Shared basics of every module: status codes, the allocation wrapper, small macros.
 * Functions return 0 on success or a negative EHC_E* code; results go through out-parameters.
 * Allocation never returns NULL: on out-of-memory the process stops with a clear message. */
#ifndef EHC_COMMON_H
#define EHC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EHC_MUST_USE __attribute__((warn_unused_result))
#define EHC_PRINTF(f, a) __attribute__((format(printf, f, a)))

enum {
    EHC_OK = 0,
    EHC_EINVAL = -1,       /* input is malformed or breaks a rule */
    EHC_ENOENT = -2,       /* no such thing */
    EHC_ERANGE = -3,       /* value outside what is covered (e.g. a date outside a calendar) */
    EHC_EIO = -4,          /* reading or writing a file failed */
    EHC_EUNAVAILABLE = -5, /* a dependency (the database) cannot be reached now */
    EHC_ETIMEDOUT = -6,    /* an operation ran past its time limit */
    EHC_ECONFLICT = -7,    /* stale version or duplicate */
    EHC_EFORBIDDEN = -8,   /* the caller's role may not do this */
    EHC_ESTATE = -9,       /* not allowed in the current state */
    EHC_ECLOSED = -10,     /* the object is shutting down */
};

const char *ehc_strerror(int status);

void *ehc_malloc(size_t size);
void *ehc_calloc(size_t count, size_t size);
void *ehc_realloc(void *ptr, size_t size);
char *ehc_strdup(const char *s);
char *ehc_strndup(const char *s, size_t n); /* exactly n bytes of s, which must hold that many, then a NUL */
char *ehc_asprintf(const char *fmt, ...) EHC_PRINTF(1, 2);
/* A growing NUL-terminated text (*buf of *cap bytes, *len used; all zero to start): n bytes of
 * text, or printf-formatted, appended. Used for replies built a line at a time (metrics, CSV). */
void ehc_text_append(char **buf, size_t *len, size_t *cap, const char *text, size_t n);

/* The length of the UTF-8 character at s (at most len bytes: 1 for ASCII, NUL included), or 0 when
 * it is not one: an overlong form, a surrogate, a code point above U+10FFFF, or cut short. */
size_t ehc_utf8_char(const char *s, size_t len);
/* Whether s[0..len) is UTF-8 throughout (PostgreSQL requires it of every text). */
bool ehc_utf8_valid(const char *s, size_t len);
/* Replaces in place each byte of s that is not part of a valid UTF-8 character (overlong forms,
 * surrogates and code points above U+10FFFF included) by '?': for texts cut to a size ("%.40s"),
 * which may split a character, before they reach a JSON reply, a terminal or PostgreSQL. */
void ehc_utf8_scrub(char *s);
void ehc_text_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) EHC_PRINTF(4, 5);

/* Where and why a data file (workflow, calendar, config) was refused: the file, the JSON path
 * (or line) inside it, and the reason, as the operator must read it. */
typedef struct ehc_load_error {
    char file[256];
    char path[256];
    char reason[512];
} ehc_load_error;

void ehc_load_error_set(ehc_load_error *err, const char *file, const char *path, const char *fmt, ...)
    EHC_PRINTF(4, 5);

/* SHA-256 of data as 64 lowercase hex digits plus NUL: the content hash that versions migrations,
 * workflows and calendars, and the stored form of session ids and API tokens. */
void ehc_sha256_hex(const void *data, size_t len, char out[65]);

/* Reads a whole file (at most max_bytes) into a malloc'd buffer with a NUL after the last byte.
 * EHC_EIO when it cannot be opened or read, EHC_EINVAL when it is larger; err says which. */
EHC_MUST_USE int ehc_read_file(const char *path, size_t max_bytes, char **bytes, size_t *len,
                               ehc_load_error *err);

#define ehc_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define EHC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
