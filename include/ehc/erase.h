/* `ehcd erase CASE`: removes the personal data of the child a case is about (and of their family
 * contacts) once every case about that child is closed and past its retention date
 * (ehc_retention_until, sql/0007) and an approval is recorded. Runs as the ehc_eraser role. The
 * event log, dates and outcomes stay, so statistics and `ehcd verify` are unaffected. */
#ifndef EHC_ERASE_H
#define EHC_ERASE_H

#include <libpq-fe.h>
#include <stdio.h>

#include "ehc/common.h"
#include "ehc/date.h"

/* 0 when erased (or already erased: nothing to do); EHC_ESTATE when it may not be erased yet
 * (open case, retention date not reached, no approval), with the reason printed to out;
 * EHC_ENOENT when there is no such case; EHC_EIO when the database fails. */
EHC_MUST_USE int ehc_erase_case_child(PGconn *conn, long long case_id, ehc_date today, FILE *out);

#endif
