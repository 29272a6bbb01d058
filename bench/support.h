/* What the scheduler benchmarks (bench/scheduler.c, bench/peer.c) share: their admin connection,
 * stopping with a message, one-value statements, the real clock, and the cases their deadlines
 * belong to. */
#ifndef EHC_BENCH_SUPPORT_H
#define EHC_BENCH_SUPPORT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "ehc/definitions.h"

/* Connects as the benchmark's administrator (conninfo) and applies the migrations; program names the
 * benchmark in its messages. */
PGconn *bench_connect(const char *program, const char *conninfo);
/* Prints "program: what: detail" and exits 1. */
_Noreturn void bench_die(const char *what, const char *detail);
/* Runs sql on the admin connection: the first column of its first row as a number (0 when none). */
long bench_scalar(const char *sql);
/* Now, on the real clock, in microseconds since the epoch. */
int64_t bench_real_us(void);
/* n cases of the store-test workflow (defs) in one authority with a team and an officer, made the
 * first time and found afterwards; their ids into cases; returns the authority's id. */
long bench_cases(const ehc_definitions *defs, long *cases, int n);

#endif
