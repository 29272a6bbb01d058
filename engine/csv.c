/* The RFC 4180 reader of include/ehc/csv.h: one pass over the bytes, a field buffer that grows, and
 * a fault reported with its record, field and line. */
#include "ehc/csv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    ehc_csv_table *out;
    ehc_csv_error *err;
    size_t rec_cap;
    ehc_csv_record cur; /* the record being read */
    size_t field_cap;
    char *buf; /* the field being read */
    size_t len, cap;
    size_t line; /* the current physical line */
} parser;

static int fault(parser *p, const char *reason)
{
    p->err->record = p->out->count + 1;
    p->err->field = p->cur.count + 1;
    p->err->line = p->line;
    snprintf(p->err->reason, sizeof p->err->reason, "%s", reason);
    return EHC_EINVAL;
}

static int put_byte(parser *p, char c)
{
    if (p->len >= EHC_CSV_MAX_FIELD) return fault(p, "field longer than 65536 bytes");
    if (p->len + 1 >= p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->buf = ehc_realloc(p->buf, p->cap);
    }
    p->buf[p->len++] = c;
    return 0;
}

static int end_field(parser *p)
{
    if (!ehc_utf8_valid(p->buf, p->len)) return fault(p, "not UTF-8 text");
    if (p->cur.count >= EHC_CSV_MAX_FIELDS) return fault(p, "more than 256 fields in a record");
    if (p->cur.count == p->field_cap) {
        p->field_cap = p->field_cap ? p->field_cap * 2 : 16;
        p->cur.fields = ehc_realloc(p->cur.fields, p->field_cap * sizeof *p->cur.fields);
    }
    p->cur.fields[p->cur.count++] = p->len ? ehc_strndup(p->buf, p->len) : ehc_strdup("");
    p->len = 0;
    return 0;
}

static void end_record(parser *p)
{
    if (p->out->count == p->rec_cap) {
        p->rec_cap = p->rec_cap ? p->rec_cap * 2 : 64;
        p->out->records = ehc_realloc(p->out->records, p->rec_cap * sizeof *p->out->records);
    }
    p->out->records[p->out->count++] = p->cur;
    memset(&p->cur, 0, sizeof p->cur);
    p->field_cap = 0;
}

static void free_record(ehc_csv_record *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->fields[i]);
    free(r->fields);
    memset(r, 0, sizeof *r);
}

void ehc_csv_table_free(ehc_csv_table *table)
{
    for (size_t i = 0; i < table->count; i++)
        free_record(&table->records[i]);
    free(table->records);
    memset(table, 0, sizeof *table);
}

int ehc_csv_parse(const char *bytes, size_t len, ehc_csv_table *out, ehc_csv_error *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    parser p = {.out = out, .err = err, .line = 1};
    size_t i = 0;
    if (len >= 3 && memcmp(bytes, "\xEF\xBB\xBF", 3) == 0) i = 3;
    int rc = 0;
    while (i < len && rc == 0) {
        /* the start of a record */
        p.cur.line = p.line;
        if (bytes[i] == '\n' || (bytes[i] == '\r' && i + 1 < len && bytes[i + 1] == '\n')) {
            size_t eol = bytes[i] == '\n' ? 1 : 2;
            if (i + eol == len) break; /* a blank last line */
            rc = fault(&p, "blank line");
            break;
        }
        for (;;) { /* one field per turn */
            bool quoted = i < len && bytes[i] == '"';
            if (quoted) {
                size_t open_line = p.line;
                i++;
                for (;;) {
                    if (i >= len) {
                        p.line = open_line;
                        rc = fault(&p, "quoted field never closed");
                        break;
                    }
                    char c = bytes[i];
                    if (c == '"') {
                        if (i + 1 < len && bytes[i + 1] == '"') {
                            rc = put_byte(&p, '"');
                            i += 2;
                            if (rc) break;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (c == '\0') {
                        rc = fault(&p, "NUL byte");
                        break;
                    }
                    if (c == '\n') p.line++;
                    rc = put_byte(&p, c);
                    i++;
                    if (rc) break;
                }
                if (rc) break;
                if (i < len && bytes[i] != ',' && bytes[i] != '\n' && bytes[i] != '\r') {
                    rc = fault(&p, "text after a closing quote (write a quote inside a field as \"\")");
                    break;
                }
            } else {
                while (i < len && bytes[i] != ',' && bytes[i] != '\n' && bytes[i] != '\r') {
                    if (bytes[i] == '"') {
                        rc = fault(&p, "a quote inside an unquoted field (quote the whole field)");
                        break;
                    }
                    if (bytes[i] == '\0') {
                        rc = fault(&p, "NUL byte");
                        break;
                    }
                    rc = put_byte(&p, bytes[i]);
                    i++;
                    if (rc) break;
                }
                if (rc) break;
            }
            if (i < len && bytes[i] == '\r' && !(i + 1 < len && bytes[i + 1] == '\n')) {
                rc = fault(&p, "a carriage return not followed by a line feed");
                break;
            }
            rc = end_field(&p);
            if (rc) break;
            if (i < len && bytes[i] == ',') {
                i++;
                continue;
            }
            /* end of record: CRLF, LF or the end of the bytes */
            if (i < len) {
                i += bytes[i] == '\r' ? 2 : 1;
                p.line++;
            }
            end_record(&p);
            break;
        }
    }
    free(p.buf);
    if (rc) {
        free_record(&p.cur);
        ehc_csv_table_free(out);
    }
    return rc;
}

void ehc_csv_append_field(char **buf, size_t *len, size_t *cap, const char *value)
{
    if (!value[strcspn(value, ",\"\r\n")]) {
        ehc_text_append(buf, len, cap, value, strlen(value));
        return;
    }
    ehc_text_append(buf, len, cap, "\"", 1);
    for (const char *s = value; *s; s++)
        ehc_text_append(buf, len, cap, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    ehc_text_append(buf, len, cap, "\"", 1);
}
