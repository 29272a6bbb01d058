#!/usr/bin/env bash
# The deadline scheduler with 1,000,000 pending deadlines (BENCH_PENDING): start-to-ready time against
# a plain COPY ... TO STDOUT and a plain SELECT of the same (id, next_fire_at) rows in the same run,
# memory per pending deadline, and the lag from fire instant to committed alert (alert + outbox rows
# in one transaction) for BENCH_FIRE deadlines due over 5 seconds on the real clock.
# Run: ./ehc bench scheduler
set -euo pipefail
: "${EHC_TEST_DATABASE_URL:?run through ./ehc bench scheduler}" "${PGBIN:?}"
root=$(cd "$(dirname "$0")/.." && pwd)
PENDING=${BENCH_PENDING:-1000000}
FIRE=${BENCH_FIRE:-5000}
bin="$root/build/release/bench/ehc_bench_scheduler"
[ -x "$bin" ] || { echo "missing $bin (./ehc bench builds it)" >&2; exit 1; }
psql() { "$PGBIN/psql" -X -q "$EHC_TEST_DATABASE_URL" "$@"; }
psql -c "DROP DATABASE IF EXISTS ehc_bench_scheduler" -c "CREATE DATABASE ehc_bench_scheduler"
echo "synchronous_commit: $(psql -tA -c 'SHOW synchronous_commit')   fsync: $(psql -tA -c 'SHOW fsync')"
echo "inserting $PENDING pending deadlines with COPY, then starting the scheduler on the real clock"
out=$("$bin" "$EHC_TEST_DATABASE_URL dbname=ehc_bench_scheduler" "$root/tests/fixtures/store" "$PENDING" "$FIRE")
val() { awk -v k="$1" '$1 == k {print $2; exit}' <<<"$out"; }
printf '\n| measure | value |\n|---|---|\n'
printf '| pending deadlines in the heap | %s |\n' "$(val pending)"
printf '| start to ready (plan sweep + paged load + heap) | %s s |\n' "$(val ready_seconds)"
printf '| baseline: COPY (SELECT id, next_fire_at ...) TO STDOUT | %s s |\n' "$(val baseline_copy_to_seconds)"
printf '| baseline: plain SELECT of the same rows | %s s |\n' "$(val baseline_select_seconds)"
printf '| heap bytes per pending deadline | %s |\n' "$(val heap_bytes_per_deadline)"
printf '| process RSS growth per pending deadline | %s bytes |\n' "$(val rss_bytes_per_deadline)"
printf '| alerts fired (due over 5 s) | %s |\n' "$(val fired)"
printf '| lag fire instant -> committed alert, p50 | %s ms |\n' "$(val lag_p50_ms)"
printf '| lag, p99 | %s ms |\n' "$(val lag_p99_ms)"
awk -v a="$(val ready_seconds)" -v b="$(val baseline_copy_to_seconds)" -v c="$(val baseline_select_seconds)" \
  'BEGIN { printf "\nratio ready / COPY TO: %.2f   ready / SELECT: %.2f\n", a / b, a / c }'
