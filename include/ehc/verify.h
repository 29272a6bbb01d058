/* `ehcd verify`: replay every case's event log through the machine and report each stored
 * projection, deadline or SEN2 code that differs from the replay. */
#ifndef EHC_VERIFY_H
#define EHC_VERIFY_H

#include <libpq-fe.h>
#include <stdio.h>

#include "ehc/common.h"
#include "ehc/definitions.h"

/* Prints one line per difference to out. EHC_EIO when the database cannot be read. */
EHC_MUST_USE int ehc_verify_run(PGconn *conn, const ehc_definitions *defs, FILE *out, long *cases_checked,
                                long *differences);

#endif
