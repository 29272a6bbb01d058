#!/usr/bin/env bash
# `ehcd import` of a generated authority (ehc-sample: BENCH_CHILDREN children, 25,000 by default,
# five years of histories), timed end to end (read, check, replay every case through the machine,
# write in one transaction, ANALYZE), against COPY of exactly the rows it wrote into tables of the
# same columns and indexes, in the same run on the same cluster.
# Run: ./ehc bench import   (BENCH_CHILDREN, BENCH_SEED to change)
set -euo pipefail
: "${EHC_TEST_DATABASE_URL:?run through ./ehc bench import}" "${PGBIN:?}" "${EHC_BENCH_EHCD:?}"
root=$(cd "$(dirname "$0")/.." && pwd)
CHILDREN=${BENCH_CHILDREN:-25000}
SEED=${BENCH_SEED:-1}
TODAY=2026-11-20
sample_bin="$(dirname "$EHC_BENCH_EHCD")/ehc-sample"
[ -x "$sample_bin" ] || { echo "missing $sample_bin (./ehc bench builds it)" >&2; exit 1; }
work=$(mktemp -d /tmp/ehc-bench-import.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$EHC_TEST_DATABASE_URL dbname=ehc_bench_import" "$@"; }
"$PGBIN/psql" -X -q "$EHC_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS ehc_bench_import" \
  -c "CREATE DATABASE ehc_bench_import"
export DATABASE_URL="$EHC_TEST_DATABASE_URL dbname=ehc_bench_import" EHCD_WORKFLOWS_DIR="$root/workflows" \
  EHCD_LOG_LEVEL=warn
"$EHC_BENCH_EHCD" migrate
psql -c "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham')"

now() { date +%s.%N; }
t0=$(now)
"$sample_bin" --children "$CHILDREN" --seed "$SEED" --today "$TODAY" --out "$work/sample"
t1=$(now)
echo "sample: $CHILDREN children, $(cat "$work"/sample/*.csv | wc -l) lines in 8 files, $(du -sh "$work/sample" | cut -f1)"

"$EHC_BENCH_EHCD" import "$work/sample" --authority 353 --source bench --today "$TODAY" >"$work/import.out"
t2=$(now)
tail -1 "$work/import.out"
cases=$(psql -tA -c "SELECT count(*) FROM cases")
rows=$(psql -tA -c "SELECT (SELECT count(*) FROM children) + (SELECT count(*) FROM child_needs) +
  (SELECT count(*) FROM cases) + (SELECT count(*) FROM case_events) + (SELECT count(*) FROM deadlines) +
  (SELECT count(*) FROM case_report_codes) + (SELECT count(*) FROM advice_requests) +
  (SELECT count(*) FROM deadline_exceptions) + (SELECT count(*) FROM placements)")

# the baseline: COPY of the same rows into tables with the same columns, CHECKs and indexes (no
# foreign keys, no row security)
tables="children child_needs cases case_events deadlines case_report_codes advice_requests deadline_exceptions placements"
psql -c "CREATE SCHEMA copied"
for t in $tables; do
  psql -c "CREATE TABLE copied.$t (LIKE public.$t INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)"
  psql -c "\\copy public.$t TO '$work/$t.copy'"
done
t3=$(now)
for t in $tables; do
  psql -c "\\copy copied.$t FROM '$work/$t.copy'"
done
t4=$(now)

"$EHC_BENCH_EHCD" verify >"$work/verify.out" || { tail -5 "$work/verify.out"; echo "verify found differences" >&2; exit 1; }
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v t4="$t4" \
    -v cases="$cases" -v rows="$rows" -v children="$CHILDREN" 'BEGIN {
  gen = t1 - t0; imp = t2 - t1; cp = t4 - t3
  printf "\n| step | seconds |\n|---|---|\n"
  printf "| ehc-sample, %d children | %.1f |\n", children, gen
  printf "| ehcd import: %d cases, %d rows written (check, replay, write, ANALYZE) | %.1f |\n", cases, rows, imp
  printf "| baseline: COPY of the same %d rows | %.1f |\n", rows, cp
  printf "\nratio import / COPY: %.1f   import %s one minute\n", imp / cp, imp < 60 ? "under" : "OVER"
}'
echo "verify: $(tail -1 "$work/verify.out")   load average: $(cut -d' ' -f1-3 /proc/loadavg)"
