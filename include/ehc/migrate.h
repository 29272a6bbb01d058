/* Schema migrations: the numbered files of sql/ are compiled into ehcd (cmake/embed_migrations.cmake)
 * and applied in order, each once, each in its own transaction, recorded in schema_migrations with
 * its SHA-256 so an edited, already-applied migration is detected instead of silently skipped.
 * Runs synchronously: it is called by `ehcd migrate` and at start, before the loop serves anything. */
#ifndef EHC_MIGRATE_H
#define EHC_MIGRATE_H

#include <libpq-fe.h>

#include "ehc/common.h"

typedef struct ehc_migration {
    int version;
    const char *name;
    const char *sql;
} ehc_migration;

extern const ehc_migration ehc_migrations[];
extern const int ehc_migrations_count;

/* The highest migration version this binary carries. */
int ehc_migrate_latest_version(void);

/* Applies every pending migration. *applied is the number applied now. On failure, errbuf says
 * which migration and why; EHC_ECONFLICT when an applied migration's checksum differs or the
 * database is ahead of this binary. */
EHC_MUST_USE int ehc_migrate_apply(PGconn *conn, int *applied, char *errbuf, size_t errlen);

/* The SQL that returns the database's current migration version as one int column: used by
 * /readyz, so its meaning stays in this module. */
extern const char ehc_migrate_version_sql[];

#endif
