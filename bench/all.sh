#!/usr/bin/env bash
# Every benchmark in one run on one throwaway cluster, one after the other, and docs/performance.md
# written from what they print: each figure beside its baseline measured in the same run, with the
# machine, the PostgreSQL version, the date and the load average around each benchmark.
# Run: ./ehc bench all                (about 10 minutes on 2 cores)
#      BENCH_QUICK=1 ./ehc bench all  (smaller sizes, about 4 minutes; the document says so)
# BENCH_OUT to write elsewhere than docs/performance.md. Each benchmark's own output is kept in
# build/bench-all/ (NAME.out, NAME.err, NAME.meta); BENCH_REPORT_ONLY=1 writes the document again
# from them without running anything.
set -uo pipefail
: "${EHC_TEST_DATABASE_URL:?run through ./ehc bench all}" "${EHC_BENCH_EHCD:?}" "${PGBIN:?}"
root=$(cd "$(dirname "$0")/.." && pwd)
doc=${BENCH_OUT:-$root/docs/performance.md}
quick=${BENCH_QUICK:-0}
work=$root/build/bench-all
if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
  read -r started t0 total quick <"$work/run.meta" || { echo "no earlier run in $work" >&2; exit 1; }
fi

# the sizes of each benchmark, full or quick (every size is stated in the document)
if [ "$quick" = 1 ]; then
  mode="quick (BENCH_QUICK=1): smaller sizes and shorter runs than the full run"
  S_SECONDS=5 API_CASES=128 REPORT_CASES=5000 REPORT_RUNS=3 PENDING=100000 FIRE=2000
  SPREAD_JOBS=2000 SPREAD_MS=2000 STORM_JOBS=1000 LEAD_MS=5000
else
  mode="full"
  S_SECONDS=10 API_CASES=512 REPORT_CASES=25000 REPORT_RUNS=5 PENDING=1000000 FIRE=5000
  SPREAD_JOBS=20000 SPREAD_MS=10000 STORM_JOBS=10000 LEAD_MS=15000
fi
API_SECONDS=$((S_SECONDS + 2))

psql() { PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -tA "$EHC_TEST_DATABASE_URL" "$@"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# name | title | environment | what it measures (sizes)
benches=(
  "readyz|Database round trips through the HTTP server and pool|BENCH_SECONDS=$S_SECONDS|GET /readyz with wrk, 64 connections, ${S_SECONDS} s; baseline pgbench sending the same SELECT over 64 direct connections"
  "store|Durable event writes through the store|BENCH_SECONDS=$S_SECONDS|64 simulated officers for ${S_SECONDS} s (bench/store_writes.c); baseline pgbench -N at the same concurrency"
  "api|The whole HTTP API|BENCH_SECONDS=$API_SECONDS BENCH_CASES=$API_CASES|case reads and event writes with wrk, 64 connections, ${API_SECONDS} s each over ${API_CASES} cases; baseline pgbench -N, 64 clients"
  "reports|Reports generated in SQL|BENCH_CASES=$REPORT_CASES BENCH_RUNS=$REPORT_RUNS|${REPORT_CASES} requests of one year, median of ${REPORT_RUNS}; baseline a plain SELECT of the deadline rows the reports read"
  "scheduler|The deadline scheduler at scale|BENCH_PENDING=$PENDING BENCH_FIRE=$FIRE|${PENDING} pending deadlines: start to ready, memory, fire lag of ${FIRE} due over 5 s; baseline COPY TO and a plain SELECT of the same rows"
  "peer|Peer benchmark: ehcd's scheduler against pg-boss|BENCH_SPREAD_JOBS=$SPREAD_JOBS BENCH_SPREAD_MS=$SPREAD_MS BENCH_STORM_JOBS=$STORM_JOBS BENCH_LEAD_MS=$LEAD_MS|${SPREAD_JOBS} jobs due over ${SPREAD_MS} ms and a storm of ${STORM_JOBS} due at one instant, on both systems; the baseline is pg-boss"
)

# Markdown from a benchmark's output: tables kept whole, every other line a paragraph of its own,
# the peer benchmark's machine-readable dump left out.
to_markdown() {
  awk 'BEGIN { blank = 1 }
       /^machine-readable:/ {exit}
       /^\|/ { if (!blank && !intable) print ""; intable = 1; blank = 0; print; next }
       /^[[:space:]]*$/ { next }
       { if (!blank) print ""; intable = 0; sub(/^[[:space:]]+/, ""); gsub(/\|/, "\\|"); print; print ""; blank = 1 }'
}

# The headline ratios of one benchmark's output, for the summary.
headline() { # headline NAME FILE
  case $1 in
    readyz | store | scheduler) sed -n 's/^ratio //p' "$2" | tr '\n' ' ' ;;
    api) awk -F'|' '/GET \/api/ {r = $5} /POST \/api/ {w = $5} END {gsub(/ /, "", r); gsub(/ /, "", w); printf "reads / pgbench -N: %s, writes / pgbench -N: %s", r, w}' "$2" ;;
    reports) awk -F'|' '$4 ~ /[0-9]/ && $2 !~ /baseline/ {gsub(/ /, "", $4); v = $4 + 0; if (min == "" || v < min) min = v; if (v > max) max = v}
                        END {printf "report / baseline: %s to %s", min, max}' "$2" ;;
    peer) awk -F'|' '/^### spread/ {s = "spread"} /^### storm/ {s = "storm"}
                     /lag due -> firing durably recorded, p50/ {gsub(/ /, "", $5); p50[s] = $5}
                     /lag due -> firing durably recorded, p99/ {gsub(/ /, "", $5); p99[s] = $5}
                     /CPU s per 1,000 fired: both/ {gsub(/ /, "", $5); cpu[s] = $5}
                     /schedule rate/ {gsub(/ /, "", $5); rate[s] = $5}
                     END {for (i = 1; i <= 2; i++) { k = i == 1 ? "spread" : "storm"
                            printf "%s%s: schedule rate %s, lag p50 %s, p99 %s, CPU per 1,000 fired %s", i == 2 ? "; " : "", k, rate[k], p50[k], p99[k], cpu[k] }
                          printf " (ehcd / pg-boss)"}' "$2" ;;
  esac
}

failed=()
if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
  for b in "${benches[@]}"; do
    name=${b%%|*}
    [ "$(cut -d' ' -f1 "$work/$name.meta")" = 0 ] || failed+=("$name")
  done
else
  rm -rf "$work"
  mkdir -p "$work"
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "not a git checkout")
  git -C "$root" status --porcelain -- . ':!docs/performance.md' 2>/dev/null | grep -qv '^??' &&
    commit="$commit (with uncommitted changes)"
  echo "$commit" >"$work/commit"
  # the build (./ehc bench builds first) leaves its load in the 1-minute average: wait up to a
  # minute for it to settle below half the cores, so the load before the first benchmark says
  # whether other work shares the machine
  for _ in $(seq 1 12); do
    awk -v n="$(nproc)" '{exit !($1 > n / 2)}' /proc/loadavg || break
    sleep 5
  done
  started=$(date -u '+%Y-%m-%d %H:%M UTC')
  t0=$(date +%s)
  for b in "${benches[@]}"; do
    IFS='|' read -r name title envs what <<<"$b"
    echo "==> bench $name ($envs)" >&2
    before=$(load)
    s=$(date +%s)
    rc=0
    # each benchmark's own defaults are replaced by this run's sizes; nothing else is inherited
    env -u BENCH_SECONDS -u BENCH_CASES -u BENCH_RUNS -u BENCH_PENDING -u BENCH_FIRE -u BENCH_QUICK \
      $envs bash "$root/bench/$name.sh" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
    echo "$rc $before|$(load)|$(($(date +%s) - s))" >"$work/$name.meta"
    if [ $rc -ne 0 ]; then
      failed+=("$name")
      echo "bench $name FAILED (exit $rc):" >&2
      tail -20 "$work/$name.err" >&2
    fi
  done
  total=$(($(date +%s) - t0))
  echo "${started// /_} $t0 $total $quick" >"$work/run.meta"
fi
started=${started//_/ }

pg_version=$(psql -c 'SHOW server_version')
commit=$(cat "$work/commit")
{
  echo "# Performance"
  echo
  echo "Generated by \`./ehc bench all\`$([ "$quick" = 1 ] && echo " (BENCH_QUICK=1)") on $started; do not edit by hand: run"
  echo "the command again. Every figure is set beside a baseline measured in the same run on the same"
  echo "throwaway PostgreSQL cluster, and the ratio is the comparable part: absolute figures follow the"
  echo "machine. The benchmarks run one after the other, never at the same time. What each one does is"
  echo "described in [bench/README.md](../bench/README.md)."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $started |"
  echo "| mode | $mode |"
  echo "| commit | $commit |"
  echo "| CPU | $(nproc) × $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) |"
  echo "| memory | $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) |"
  echo "| system | $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), Linux $(uname -r) |"
  echo "| PostgreSQL | $pg_version (fsync on, synchronous_commit on, default settings otherwise) |"
  echo "| Node.js (peer benchmark) | $(node --version 2>/dev/null || echo none) |"
  echo "| total time | $((total / 60)) min $((total % 60)) s |"
  echo
  echo "Load average (1, 5, 15 min) before and after each benchmark is given with it. The machine has"
  echo "$(nproc) cores. A benchmark's own clients and server processes count in the load after it (wrk or"
  echo "pgbench at 64 connections put the 1-minute average near 10 by themselves), so what tells whether"
  echo "other work shared the machine is the load before the first one."
  first=${benches[0]%%|*}
  idle=$(awk -F'|' '{split($1, b, " "); print b[2] + 0; exit}' "$work/$first.meta")
  if awk -v p="$idle" -v n="$(nproc)" 'BEGIN {exit !(p > n / 2)}'; then
    echo
    echo "**The machine was busy when this run started**: the 1-minute load average was $idle on"
    echo "$(nproc) cores before the first benchmark. Work queued for the CPU stretches every latency here, and hits"
    echo "the benchmark with more round trips in sequence harder than its baseline; run \`./ehc bench all\` on a"
    echo "quiet machine for figures to compare with another machine's."
  else
    echo
    echo "The machine was quiet when this run started (1-minute load average $idle before the first benchmark)."
  fi
  echo
  echo "## Summary"
  echo
  echo "| benchmark | what | ratios | time | load before → after |"
  echo "|---|---|---|---|---|"
  for b in "${benches[@]}"; do
    IFS='|' read -r name title envs what <<<"$b"
    IFS='|' read -r rc_before after secs <"$work/$name.meta"
    rc=${rc_before%% *}
    echo "| [$name](#$name)$([ "$rc" = 0 ] || echo " **FAILED**") | $what | $(headline "$name" "$work/$name.out") | $secs s | ${rc_before#* } → $after |"
  done
  for b in "${benches[@]}"; do
    IFS='|' read -r name title envs what <<<"$b"
    IFS='|' read -r rc_before after secs <"$work/$name.meta"
    rc=${rc_before%% *}
    echo
    echo "## $name"
    echo
    echo "$title. \`./ehc bench $name\` with \`$envs\`. $secs s; load average ${rc_before#* } before, $after after."
    echo
    if [ "$rc" != 0 ]; then
      echo
      echo "**FAILED** (exit $rc): the last lines it wrote to stderr:"
      echo
      echo '```'
      tail -20 "$work/$name.err"
      echo '```'
    fi
    to_markdown <"$work/$name.out"
    if [ "$name" = peer ]; then
      echo "How the two fire: ehcd's scheduler holds every instant in memory and, when one comes due, runs"
      echo "one firing transaction at a time (batches of up to 256 rows, \`ehc_scheduler_fire\`, which"
      echo "claims them and then writes all their alerts, all their outbox rows and all their next instants"
      echo "in one statement, set-based, under row-level security; sql/0044); pg-boss's 4 workers poll every"
      echo "100 ms, each claiming up to 1,000 due jobs in one"
      echo "statement and complete them in another. The lag is from the due instant to the firing's commit"
      echo "on both sides; the CPU is the driver process's and the whole cluster's while the jobs fire."
      echo "Details in [bench/README.md](../bench/README.md#peer)."
    fi
  done
} >"$doc.tmp"
mv "$doc.tmp" "$doc"
echo "wrote ${doc#"$root"/} ($((total / 60)) min $((total % 60)) s)" >&2
[ ${#failed[@]} -eq 0 ] || { echo "FAILED: ${failed[*]}" >&2; exit 1; }
