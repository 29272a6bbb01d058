#!/usr/bin/env bash
# Database round trips through ehcd's HTTP server and asynchronous pool, against the same query
# sent by pgbench straight to PostgreSQL, in one run on the same cluster.
#   ehcd:     wrk, 64 connections, GET /readyz (one pooled, parameterised query per request)
#   baseline: pgbench, 64 clients, the same SELECT, extended protocol
# Prints requests (transactions) per second for both and the ratio. Run: ./ehc bench readyz
set -euo pipefail
: "${EHC_TEST_DATABASE_URL:?run through ./ehc bench readyz}" "${EHC_BENCH_EHCD:?}" "${PGBIN:?}"
DURATION=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
db=ehc_bench_readyz
"$PGBIN/psql" -X -q "$EHC_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
url="$EHC_TEST_DATABASE_URL dbname=$db"
port=$(for p in $(seq 18100 18999); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; break; }; done)

DATABASE_URL=$url EHCD_LISTEN=127.0.0.1:$port EHCD_LOG_LEVEL=warn "$EHC_BENCH_EHCD" serve 2>/tmp/ehc-bench-readyz.log &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

echo "ehcd: wrk -t2 -c$CONNS -d${DURATION}s GET /readyz"
wrk_out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$port/readyz")
ehcd_rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$wrk_out")
ehcd_p99=$(awk '$1 == "99%" {print $2}' <<<"$wrk_out")
non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$wrk_out")
[ -z "$non2xx" ] || { echo "FAIL: $non2xx non-2xx answers from /readyz" >&2; exit 1; }

script=$(mktemp /tmp/ehc-bench-XXXX.sql)
echo "SELECT coalesce(max(version), 0)::int FROM ehc_schema_migrations;" >"$script"
chmod 644 "$script"
echo "baseline: pgbench -n -M extended -c$CONNS -j2 -T$DURATION (the same SELECT)"
pg_out=$("$PGBIN/pgbench" -n -M extended -c"$CONNS" -j2 -T"$DURATION" -f "$script" "$url" 2>&1)
rm -f "$script"
pg_tps=$(awk '/^tps = / {print $3; exit}' <<<"$pg_out")
pg_lat=$(awk '/^latency average/ {print $4" "$5}' <<<"$pg_out")

printf '\n| path | per second | latency |\n|---|---|---|\n'
printf '| ehcd GET /readyz (HTTP + pool of 4) | %s | p99 %s |\n' "$ehcd_rps" "$ehcd_p99"
printf '| pgbench, same SELECT, %s direct connections | %s | avg %s |\n' "$CONNS" "$pg_tps" "$pg_lat"
awk -v a="$ehcd_rps" -v b="$pg_tps" 'BEGIN { printf "\nratio ehcd / pgbench: %.2f\n", a / b }'
