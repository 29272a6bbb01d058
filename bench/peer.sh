#!/usr/bin/env bash
# The peer benchmark: ehcd's deadline scheduler (bench/peer.c over engine/scheduler.c) against pg-boss
# (bench/peer/pgboss.js, pg-boss 9.0.3 pinned in bench/peer/package-lock.json) on the same throwaway
# PostgreSQL cluster, each in its own database, one after the other, never at the same time.
# Two shapes, the same due instants for both: BENCH_SPREAD_JOBS (20000) due evenly over
# BENCH_SPREAD_MS (10000), and a storm of BENCH_STORM_JOBS (10000) due at one instant; the first due
# instant is BENCH_LEAD_MS (15000) after scheduling starts. Scheduling is BENCH_BATCH (1000) jobs a
# committed INSERT on both sides. BENCH_QUICK=1: 2,000 over 2 s and a storm of 1,000.
# Prints the figures of each system and the ratios ehcd / pg-boss.
# Run: ./ehc bench peer
set -euo pipefail
: "${EHC_TEST_DATABASE_URL:?run through ./ehc bench peer}" "${PGBIN:?}"
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  : "${BENCH_SPREAD_JOBS:=2000}" "${BENCH_SPREAD_MS:=2000}" "${BENCH_STORM_JOBS:=1000}" "${BENCH_LEAD_MS:=5000}"
fi
SPREAD_JOBS=${BENCH_SPREAD_JOBS:-20000}
SPREAD_MS=${BENCH_SPREAD_MS:-10000}
STORM_JOBS=${BENCH_STORM_JOBS:-10000}
LEAD_MS=${BENCH_LEAD_MS:-15000}
BATCH=${BENCH_BATCH:-1000}
bin="$root/build/release/bench/ehc_bench_peer"
[ -x "$bin" ] || { echo "missing $bin (./ehc bench builds it)" >&2; exit 1; }
command -v node >/dev/null || { echo "the peer benchmark needs Node.js (Debian: apt-get install nodejs npm)" >&2; exit 1; }

# pg-boss exactly as the lock pins it (npm ci, skipped when node_modules already matches the lock)
peer="$root/bench/peer"
lock=$(sha256sum "$peer/package-lock.json" | cut -c1-64)
if [ "$(cat "$peer/node_modules/.ehc-installed" 2>/dev/null || true)" != "$lock" ]; then
  echo "installing pg-boss (npm ci in bench/peer)" >&2
  (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error) >&2
  echo "$lock" >"$peer/node_modules/.ehc-installed"
fi

psql() { PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$EHC_TEST_DATABASE_URL" "$@"; }
conn() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$EHC_TEST_DATABASE_URL"; }
psql -c "DROP DATABASE IF EXISTS ehc_bench_peer" -c "CREATE DATABASE ehc_bench_peer" \
  -c "DROP DATABASE IF EXISTS pgboss_bench_peer" -c "CREATE DATABASE pgboss_bench_peer"
datadir=$(psql -tA -c 'SHOW data_directory')
postmaster=$(head -1 "$datadir/postmaster.pid")
echo "PostgreSQL $(psql -tA -c 'SHOW server_version')   synchronous_commit: $(psql -tA -c 'SHOW synchronous_commit')   fsync: $(psql -tA -c 'SHOW fsync')"
echo "pg-boss $(node -p "require('$peer/node_modules/pg-boss/package.json').version") on Node.js $(node --version)"
echo "spread: $SPREAD_JOBS due over $SPREAD_MS ms   storm: $STORM_JOBS due at one instant   lead: $LEAD_MS ms   insert batch: $BATCH"

out=$(mktemp -d /tmp/ehc-bench-peer.XXXXXX)
trap 'rm -rf "$out"' EXIT
run() { # run SYSTEM SHAPE N SPREAD_MS
  local system=$1 shape=$2 n=$3 ms=$4
  psql -c CHECKPOINT
  echo "  $system, $shape: scheduling $n jobs, then waiting for every firing" >&2
  if [ "$system" = ehcd ]; then
    "$bin" "$EHC_TEST_DATABASE_URL dbname=ehc_bench_peer" "$root/tests/fixtures/store" "$postmaster" \
      "$shape" "$n" "$ms" "$LEAD_MS" "$BATCH" >"$out/$system.$shape"
  else
    PGHOST=$(conn host) PGPORT=$(conn port) PGUSER=$(conn user) PGDATABASE=pgboss_bench_peer \
      node "$peer/pgboss.js" "$shape" "$n" "$ms" "$LEAD_MS" "$BATCH" "$postmaster" >"$out/$system.$shape"
  fi
}
run ehcd spread "$SPREAD_JOBS" "$SPREAD_MS"
run pg-boss spread "$SPREAD_JOBS" "$SPREAD_MS"
run pg-boss storm "$STORM_JOBS" 0
run ehcd storm "$STORM_JOBS" 0

val() { awk -v k="$3" '$1 == k {print $2; exit}' "$out/$1.$2"; }
for shape in spread storm; do
  for s in ehcd pg-boss; do
    [ "$(val $s $shape fired)" -ge "$(val $s $shape jobs)" ] ||
      { echo "$s $shape: only $(val $s $shape fired) of $(val $s $shape jobs) fired" >&2; exit 1; }
    [ "$(val $s $shape schedule_late)" = 0 ] ||
      echo "warning: $s $shape: scheduling ended after the first due instant (raise BENCH_LEAD_MS)" >&2
  done
done
[ "$(val ehcd spread alerts_committed)" = "$SPREAD_JOBS" ] && [ "$(val ehcd storm alerts_committed)" = "$STORM_JOBS" ] ||
  { echo "ehcd: the alerts in the database do not match the firings" >&2; exit 1; }

# cpu per 1,000 fired: this process, the cluster, both
per1k() { awk -v a="$(val "$1" "$2" "$3")" -v n="$(val "$1" "$2" fired)" 'BEGIN { printf "%.3f", a * 1000 / n }'; }
sum1k() { awk -v a="$(val "$1" "$2" fire_cpu_self_s)" -v b="$(val "$1" "$2" fire_cpu_pg_s)" -v n="$(val "$1" "$2" fired)" 'BEGIN { printf "%.3f", (a + b) * 1000 / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
for shape in spread storm; do
  e=ehcd p=pg-boss
  printf '\n### %s: %s jobs%s\n\n' "$shape" "$(val $e $shape jobs)" \
    "$([ $shape = spread ] && echo " due over $SPREAD_MS ms" || echo " due at one instant")"
  printf '| measure | ehcd | pg-boss | ehcd / pg-boss |\n|---|---|---|---|\n'
  row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
  row "schedule rate, jobs/s (higher is better)" "$(val $e $shape schedule_rate)" "$(val $p $shape schedule_rate)"
  row "lag due -> firing durably recorded, p50 ms" "$(val $e $shape lag_p50_ms)" "$(val $p $shape lag_p50_ms)"
  row "lag due -> firing durably recorded, p99 ms" "$(val $e $shape lag_p99_ms)" "$(val $p $shape lag_p99_ms)"
  row "lag, max ms" "$(val $e $shape lag_max_ms)" "$(val $p $shape lag_max_ms)"
  row "CPU s per 1,000 fired: the process" "$(per1k $e $shape fire_cpu_self_s)" "$(per1k $p $shape fire_cpu_self_s)"
  row "CPU s per 1,000 fired: PostgreSQL" "$(per1k $e $shape fire_cpu_pg_s)" "$(per1k $p $shape fire_cpu_pg_s)"
  row "CPU s per 1,000 fired: both" "$(sum1k $e $shape)" "$(sum1k $p $shape)"
  printf '\npg-boss handler invoked (before its completion is committed): p50 %s ms, p99 %s ms. ' \
    "$(val $p $shape handler_lag_p50_ms)" "$(val $p $shape handler_lag_p99_ms)"
  printf 'Scheduling CPU (process + PostgreSQL) per 1,000 jobs: ehcd %s + %s s, pg-boss %s + %s s. ' \
    "$(per1k $e $shape schedule_cpu_self_s)" "$(per1k $e $shape schedule_cpu_pg_s)" \
    "$(per1k $p $shape schedule_cpu_self_s)" "$(per1k $p $shape schedule_cpu_pg_s)"
  printf 'ehcd fired in %s transactions.\n' "$(val $e $shape fire_transactions)"
done
printf '\nmachine-readable:\n'
for f in "$out"/*; do sed "s/^/$(basename "$f") /" "$f"; done | sed 's/^/  /'
