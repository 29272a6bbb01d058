/* A strict RFC 4180 reader: bytes in, records of fields out, or the first fault with where it is.
 * Pure (no I/O, no globals), so it can be fuzzed over any byte buffer.
 *
 * Accepted: fields separated by ',', records ended by CRLF or LF (the last may be unended), fields
 * quoted with '"' holding commas, line breaks and doubled quotes, a leading UTF-8 byte order mark.
 * Refused, naming the record and field: a quote inside an unquoted field, anything but a comma or
 * a line end after a closing quote, an unterminated quoted field, a NUL byte, a lone CR, bytes
 * that are not UTF-8, a field over EHC_CSV_MAX_FIELD bytes and more than EHC_CSV_MAX_FIELDS
 * fields in a record. A blank line (nothing between two line ends) is refused too, except at the
 * very end. Records may differ in field count here; the caller checks them against its header. */
#ifndef EHC_CSV_H
#define EHC_CSV_H

#include <stddef.h>

#include "ehc/common.h"

#define EHC_CSV_MAX_FIELD 65536
#define EHC_CSV_MAX_FIELDS 256

typedef struct ehc_csv_record {
    char **fields; /* NUL-terminated copies */
    size_t count;
    size_t line; /* the physical line the record starts on, 1-based */
} ehc_csv_record;

typedef struct ehc_csv_table {
    ehc_csv_record *records; /* the header, when the file has one, is records[0] */
    size_t count;
} ehc_csv_table;

typedef struct ehc_csv_error {
    size_t record; /* 1-based record number (the header is record 1) */
    size_t field;  /* 1-based field number within it */
    size_t line;   /* the physical line the fault is on */
    char reason[160];
} ehc_csv_error;

/* Parses len bytes (NULs included: they are refused). On success returns 0 and fills *out (free it
 * with ehc_csv_table_free); on a fault returns EHC_EINVAL, fills *err and leaves *out empty. */
EHC_MUST_USE int ehc_csv_parse(const char *bytes, size_t len, ehc_csv_table *out, ehc_csv_error *err);
void ehc_csv_table_free(ehc_csv_table *table);

/* Appends one field to a growing text, quoted only when it must be (a comma, quote, CR or LF). */
void ehc_csv_append_field(char **buf, size_t *len, size_t *cap, const char *value);

#endif
