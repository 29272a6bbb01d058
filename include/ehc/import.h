/* Bringing a council's open cases in from CSV (docs/import.md): the files are read and every row
 * checked (types, dates, codes, NHS number, UPN, references, impossible sequences), then each case's
 * history is replayed through the machine, so every statutory date is computed by the engine and
 * never copied. Preparing is pure (bytes in, a plan or a list of problems out); writing is one
 * transaction, so a refused import writes nothing. */
#ifndef EHC_IMPORT_H
#define EHC_IMPORT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>

#include "ehc/common.h"
#include "ehc/date.h"
#include "ehc/definitions.h"

/* The record types, one CSV file each, in the order they are read. */
#define EHC_IMPORT_FILE_COUNT 8
/* "children.csv", "requests.csv", "decisions.csv", "advice.csv", "exceptions.csv", "plans.csv",
 * "reviews.csv", "placements.csv". */
const char *ehc_import_file_name(size_t i);

typedef struct ehc_import_input {
    const char *bytes; /* NULL: the file is absent (no records of that type) */
    size_t len;
} ehc_import_input;

/* One problem: the file, the record number (the header is row 1), the column's name ("" when the
 * problem is with the row or file as a whole) and what is wrong. */
typedef struct ehc_import_problem {
    const char *file;
    size_t row;
    char column[40];
    char message[400];
} ehc_import_problem;

typedef struct ehc_import ehc_import;

/* Reads and checks the files and replays every case as of `today`. Always returns a plan (free it
 * with ehc_import_free); ehc_import_problem_count says whether it may be written. The inputs must
 * outlive the plan. */
ehc_import *ehc_import_prepare(const ehc_definitions *defs,
                               const ehc_import_input inputs[EHC_IMPORT_FILE_COUNT], ehc_date today);
void ehc_import_free(ehc_import *imp);

size_t ehc_import_problem_count(const ehc_import *imp);
const ehc_import_problem *ehc_import_problem_at(const ehc_import *imp, size_t i);
size_t ehc_import_case_count(const ehc_import *imp);
size_t ehc_import_child_count(const ehc_import *imp);

typedef struct ehc_import_write_options {
    const char *authority_code; /* DfE code of the authority the cases belong to */
    const char *source_system;  /* the old system's name, kept on every migrated case */
    ehc_instant recorded_at;    /* the instant the events are recorded (its London date is `today`) */
    bool dry_run;               /* check against the database and report, write nothing */
    int batch_cases;            /* cases per round trip (default 500) */
} ehc_import_write_options;

typedef struct ehc_import_summary {
    long created, unchanged, differing, children_created;
    long overdue_cases, overdue_deadlines;
} ehc_import_summary;

/* Writes the prepared plan (which must have no problems) for the authority, in one transaction,
 * then ANALYZEs the tables it wrote. A case already imported (same source reference) with the
 * same data is left as it is ("unchanged"); one imported from different data is a problem and
 * nothing is written. Prints what it did (or, dry run, would do) to `out`, with every case whose
 * open statutory dates are already past. Returns 0, EHC_EINVAL (problems: listed on `out`),
 * EHC_ENOENT (no such authority) or EHC_EIO (the database failed: nothing was written). */
EHC_MUST_USE int ehc_import_write(PGconn *conn, ehc_import *imp, const ehc_import_write_options *opts,
                                  FILE *out, ehc_import_summary *summary);

/* Writes the record of the case's child as import files into `dir` (created if missing): the
 * child, and the rows every case of the child came from, so that importing them into another
 * authority replays the same history; with the cases' documents (dir/documents/, listed in
 * dir/documents.csv), and a line in the access log. The case is named by its id within the
 * authority. Returns 0, EHC_ENOENT (no such case), EHC_EINVAL (an event the files cannot carry) or
 * EHC_EIO, with `why` saying what. */
EHC_MUST_USE int ehc_import_export_case(PGconn *conn, const char *authority_code, long long case_id,
                                        const char *dir, char why[256]);

#endif
