#!/usr/bin/env bash
# Durable event writes per second through the store (machine check + one transaction per group of
# commands, synchronous_commit on), against pgbench -N (simple update: 3 UPDATE/INSERT statements per
# transaction, one commit each) on the same cluster in the same run, at the same concurrency.
# Run: ./ehc bench store   (BENCH_SECONDS, BENCH_CONNECTIONS to change the defaults)
set -euo pipefail
: "${EHC_TEST_DATABASE_URL:?run through ./ehc bench store}" "${PGBIN:?}"
root=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
bin="$root/build/release/bench/ehc_bench_store"
[ -x "$bin" ] || { echo "missing $bin (./ehc bench builds it)" >&2; exit 1; }
psql() { "$PGBIN/psql" -X -q "$EHC_TEST_DATABASE_URL" "$@"; }
psql -c "DROP DATABASE IF EXISTS ehc_bench_store" -c "CREATE DATABASE ehc_bench_store" \
     -c "DROP DATABASE IF EXISTS ehc_bench_pgbench" -c "CREATE DATABASE ehc_bench_pgbench"
echo "synchronous_commit: $(psql -tA -c 'SHOW synchronous_commit')   fsync: $(psql -tA -c 'SHOW fsync')"

echo "ehcd store: $CONNS commands in flight for ${DURATION}s (pool of 4 connections)"
store_out=$("$bin" "$EHC_TEST_DATABASE_URL dbname=ehc_bench_store" "$root/tests/fixtures/store" "$CONNS" "$DURATION")
echo "  $store_out"
store_rate=$(awk '{print $2}' <<<"$store_out")
commits=$(awk '{print $4}' <<<"$store_out")
commands=$(awk '{print $6}' <<<"$store_out")

echo "baseline: pgbench -i -s 10; pgbench -N -c $CONNS -j 2 -T $DURATION"
"$PGBIN/pgbench" -q -i -s 10 "$EHC_TEST_DATABASE_URL dbname=ehc_bench_pgbench" >/dev/null 2>&1
pg_out=$("$PGBIN/pgbench" -n -N -c "$CONNS" -j 2 -T "$DURATION" "$EHC_TEST_DATABASE_URL dbname=ehc_bench_pgbench" 2>&1)
pg_tps=$(awk '/^tps = / {print $3; exit}' <<<"$pg_out")

printf '\n| writer | durable writes per second |\n|---|---|\n'
printf '| ehcd store: machine-checked event + projection + deadlines, group commit (%s commands in %s commits) | %s |\n' \
  "$commands" "$commits" "$store_rate"
printf '| pgbench -N, %s clients (one commit per transaction) | %.0f |\n' "$CONNS" "$pg_tps"
awk -v a="$store_rate" -v b="$pg_tps" 'BEGIN { printf "\nratio store / pgbench -N: %.2f\n", a / b }'
